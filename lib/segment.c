/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * segment — mapping blocks, safely.
 *
 * Guarantee: a block is mapped only after its seals say it cannot shrink
 * and fstat() says it has the size announced for it, so that no access
 * inside the mapping can SIGBUS (the wl_shm lesson).
 */

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "lmm.h"
#include "missing.h"
#include "segment.h"
#include "util.h"

struct lmm_segment {
        int fd;
        int fd_writable; /* opened read-write: 1, 0, or -1 when not known */
        uint64_t size;
        char *name;
        void *addr;
        bool writable;
};

int segment_new(int fd, uint64_t size, const char *name, int writable, lmm_segment **ret) {
        _cleanup_close_ int owned = fd;
        lmm_segment *s;

        if (fd < 0)
                return -EBADF;
        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        if (name && !(s->name = strdup(name))) {
                free(s);
                return -ENOMEM;
        }
        s->fd = TAKE_FD(owned);
        s->fd_writable = writable;
        s->size = size;
        *ret = s;
        return 0;
}

_public_ int lmm_segment_from_fd(int fd, const char *name, lmm_segment **ret) {
        _cleanup_close_ int owned = fd;
        uint64_t size;
        int r;

        if (fd < 0 || !ret)
                return -EBADF;
        r = fd_is_memfd(fd);
        if (r < 0)
                return r;
        if (r == 0)
                return -EINVAL;
        r = fd_get_seals(fd);
        if (r < 0)
                return r;
        if (!(r & F_SEAL_SHRINK))
                return -EPERM;
        r = fd_get_size(fd, &size);
        if (r < 0)
                return r;
        return segment_new(TAKE_FD(owned), size, name, -1, ret);
}

_public_ lmm_segment *lmm_segment_unref(lmm_segment *s) {
        if (!s)
                return NULL;
        (void) lmm_segment_unmap(s);
        safe_close(s->fd);
        free(s->name);
        free(s);
        return NULL;
}

_public_ int lmm_segment_map(lmm_segment *s, uint32_t flags, void **ret_addr) {
        bool writable;
        uint64_t size;
        void *p;
        int seals, r;

        if (!s || (flags & ~(uint32_t) LMM_MAP_RDONLY))
                return -EINVAL;
        if (s->addr) {
                if ((flags & LMM_MAP_RDONLY) && s->writable)
                        return -EBUSY; /* mapped writable already; unmap first */
                if (ret_addr)
                        *ret_addr = s->addr;
                return s->writable ? 0 : 1;
        }

        seals = fd_get_seals(s->fd);
        if (seals < 0)
                return seals;
        if (!(seals & F_SEAL_SHRINK))
                return -EPERM;
        r = fd_get_size(s->fd, &size);
        if (r < 0)
                return r;
        if (size != s->size || size > SIZE_MAX)
                return -EIO;
        /* An fd from the manager is what the call asked for (a syscall
         * less); one that is read-only after all fails to map (-EACCES),
         * it is never mapped writable. Any other fd is asked. */
        r = s->fd_writable >= 0 ? s->fd_writable : fd_is_writable(s->fd);
        if (r < 0)
                return r;
        writable =
                r && !(seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)) && !(flags & LMM_MAP_RDONLY);

        p = mmap(NULL, (size_t) size, PROT_READ | (writable ? PROT_WRITE : 0), MAP_SHARED, s->fd,
                 0);
        if (p == MAP_FAILED)
                return negative_errno();
        s->addr = p;
        s->writable = writable;
        if (ret_addr)
                *ret_addr = p;
        return writable ? 0 : 1;
}

_public_ int lmm_segment_unmap(lmm_segment *s) {
        if (!s)
                return -EINVAL;
        if (!s->addr)
                return 0;
        if (munmap(s->addr, (size_t) s->size) < 0)
                return negative_errno();
        s->addr = NULL;
        s->writable = false;
        return 0;
}

_public_ int lmm_segment_get_fd(const lmm_segment *s) {
        return s ? s->fd : -EINVAL;
}

_public_ uint64_t lmm_segment_get_size(const lmm_segment *s) {
        return s ? s->size : 0;
}

_public_ const char *lmm_segment_get_name(const lmm_segment *s) {
        return s ? s->name : NULL;
}

_public_ void *lmm_segment_get_data(const lmm_segment *s) {
        return s ? s->addr : NULL;
}

_public_ bool lmm_segment_is_writable(const lmm_segment *s) {
        return s && s->writable;
}

_public_ const char *lmm_seals_to_string(uint32_t seals, char *buf, size_t size) {
        static const struct {
                uint32_t bit;
                const char *name;
        } table[] = {
                { F_SEAL_SHRINK, "shrink" }, { F_SEAL_GROW, "grow" },
                { F_SEAL_WRITE, "write" },   { F_SEAL_FUTURE_WRITE, "future_write" },
                { F_SEAL_EXEC, "exec" },     { F_SEAL_SEAL, "seal" },
        };
        size_t len = 0;

        if (!buf || size == 0)
                return "";
        buf[0] = 0;
        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                if (!(seals & table[i].bit))
                        continue;
                int n = snprintf(buf + len, size - len, "%s%s", len ? "," : "", table[i].name);
                if (n < 0 || (size_t) n >= size - len)
                        break;
                len += (size_t) n;
        }
        return buf;
}

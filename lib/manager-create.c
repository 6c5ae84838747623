/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * manager-create — the requests that add a block: CREATE (a new memfd) and
 * ADOPT (a memfd a peer made), with the vetting an adopted fd goes through.
 *
 * Guarantees: a block enters the registry size-sealed, charged to its
 * creator's uid, with a read-write fd for the creator; an
 * adopted fd is asked whether it is a memfd before anything opens it again
 * (a reopen of a FUSE file could hang the loop, of a tty give the manager a
 * controlling terminal); one memory is one block, never two.
 */

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>

#include "manager-requests.h"
#include "manager-state.h"
#include "missing.h"
#include "util.h"

/* check_room() - whether @p's uid, and the manager, have room for a block of @size bytes. */
static request_error check_room(lmm_manager *m, peer *p, request *req, uint64_t size) {
        user *u = user_registry_get(&m->users, p->creds.uid);
        uint64_t cap = m->max_blocks_total;

        if (!u)
                return REQUEST_E_NO_MEMORY;
        req->size = size;
        req->quota = user_check(&m->users, u, 1, size, 0);
        if (req->quota != QUOTA_NONE)
                return REQUEST_E_QUOTA;
        /* An eighth of the fd table is kept for the manager's uid and root:
         * other users together can never lock them out. */
        if (!policy_is_privileged(&m->policy, &p->creds))
                cap -= cap / 8;
        if (m->reg.n_blocks >= cap)
                return REQUEST_E_MANAGER_FULL;
        return REQUEST_OK;
}

/*
 * block_insert() - register @fd (borrowed; the registry's on success) as a
 * block of @size bytes, and make the reply, which carries that fd to the
 * creator. @seals: the memfd's seals when nobody else holds it, so that
 * they are known; -1 when a peer does, and they must be asked for.
 */
static request_error block_insert(lmm_manager *m, peer *p, request *req, int fd, uint64_t size,
                                  uint32_t flags, int64_t seals) {
        registry_block *b;
        struct stat st;
        user *u;
        int r;

        if (fstat(fd, &st) < 0)
                return request_fail(req, negative_errno(), NULL);
        u = user_registry_get(&m->users, p->creds.uid);
        b = registry_block_new(&m->reg, req->name);
        if (!u || !b) {
                free(b);
                return REQUEST_E_NO_MEMORY;
        }
        b->size = size;
        b->flags = flags;
        b->uid = p->creds.uid;
        b->pid = p->creds.pid;
        b->dev = (uint64_t) st.st_dev;
        b->ino = (uint64_t) st.st_ino;
        b->scope = (flags & LMM_BLOCK_SCOPE_CONNECTION) ? p->id : 0;
        b->fd = fd;
        /* Checked before, but an adopted memfd may have grown until its size
         * was sealed: this is the charge that counts. */
        req->size = size;
        req->quota = user_charge_apply(&m->users, &b->charge, u, 1, size, 0);
        if (req->quota != QUOTA_NONE) {
                free(b);
                return REQUEST_E_QUOTA;
        }
        r = registry_add(&m->reg, b);
        if (r < 0) {
                user_charge_release(&b->charge);
                free(b);
                return r == -EEXIST ? REQUEST_E_NAME_IN_USE : REQUEST_E_NO_MEMORY;
        }
        /* Recorded and stored before the reply: a block the creator hears of survives a crash. */
        r = manager_state_block_added(m, b);
        if (r < 0) {
                (void) registry_remove(&m->reg, b); /* @fd is the caller's again */
                return r == -E2BIG ? REQUEST_E_RESTART_FULL
                                   : request_fail(req, r, "cannot keep it for a restart");
        }
        if (seals >= 0)
                block_to_wire_seals(b, (uint32_t) seals, &req->reply.block);
        else
                block_to_wire(b, &req->reply.block);
        /* The creator, who owns the block, shares the manager's open file
         * description: the registry's fd itself goes out (the kernel takes a
         * reference of its own for the message), not a reopen through /proc,
         * which costs a path walk per create, nor a dup and its close. Every
         * other holder gets a description of its own (OPEN). Nothing the
         * creator can do to a shared description (an offset, O_APPEND, a
         * lock) touches what the manager does with it. */
        req->reply_fd_kept = fd;
        return REQUEST_OK;
}

/* block_flags() - the LMM_BLOCK_* flags that a request's LMM_CREATE_* flags ask for. */
static uint32_t block_flags(uint32_t create_flags) {
        uint32_t f = 0;

        if (create_flags & LMM_CREATE_HUGETLB)
                f |= LMM_BLOCK_HUGETLB;
        if (create_flags & LMM_CREATE_SCOPE_CONNECTION)
                f |= LMM_BLOCK_SCOPE_CONNECTION;
        /* Writing implies reading. */
        if (create_flags & (LMM_CREATE_OTHERS_READ | LMM_CREATE_OTHERS_WRITE))
                f |= LMM_BLOCK_OTHERS_READ;
        if (create_flags & LMM_CREATE_OTHERS_WRITE)
                f |= LMM_BLOCK_OTHERS_WRITE;
        return f;
}

#define OTHERS_FLAGS (LMM_CREATE_OTHERS_READ | LMM_CREATE_OTHERS_WRITE)

/*
 * adopted_flags() - what an adopted memfd (borrowed) already is: made on huge
 * pages, or sealed against new writable mappings (F_SEAL_FUTURE_WRITE, what
 * FREEZE adds, or the stronger F_SEAL_WRITE).
 */
static uint32_t adopted_flags(int fd) {
        int seals = fd_get_seals(fd);

        return (fd_is_hugetlb(fd) > 0 ? LMM_BLOCK_HUGETLB : 0) |
               (seals >= 0 && (seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)) ? LMM_BLOCK_FROZEN
                                                                             : 0);
}

/* take_name() - the request's name, or a new one for an unnamed block; refused when in use. */
static request_error take_name(lmm_manager *m, peer *p, request *req) {
        if (!req->q.name[0]) {
                /* Free by construction: registry_make_name() looked it up. */
                registry_make_name(&m->reg, p->creds.uid, req->name_buf);
                req->name = req->name_buf;
                return REQUEST_OK;
        }
        req->name = req->q.name;
        return registry_find(&m->reg, p->creds.uid, req->name) ? REQUEST_E_NAME_IN_USE : REQUEST_OK;
}

request_error request_create(lmm_manager *m, peer *p, request *req) {
        _cleanup_close_ int fd = -EBADF;
        const wire_msg *q = &req->q;
        bool huge = q->flags & LMM_CREATE_HUGETLB;
        char memfd_name[LMM_NAME_MAX + 8], sz[32];
        uint64_t size = q->size;
        request_error e;
        uint32_t seals;
        int r;

        if (q->flags &
            ~(uint32_t) (LMM_CREATE_HUGETLB | LMM_CREATE_SCOPE_CONNECTION | OTHERS_FLAGS))
                return REQUEST_E_FLAGS;
        e = take_name(m, p, req);
        req->size = size;
        if (size == 0)
                return REQUEST_E_SIZE_ZERO;
        if (size > INT64_MAX)
                return REQUEST_E_SIZE_TOO_LARGE;
        if (e != REQUEST_OK)
                return e;

        if (huge) {
                uint64_t hps = hugepage_size(), avail = 0;

                if (hps == 0)
                        return REQUEST_E_NO_HUGE_PAGES;
                size = (size + hps - 1) / hps * hps;
                req->size = size;
                if (hugepages_free_bytes(&avail) < 0 || avail < size) {
                        req->huge_free = avail / hps;
                        req->huge_page_size = hps;
                        return REQUEST_E_HUGE_PAGES_SHORT;
                }
        }

        e = check_room(m, p, req, size);
        if (e != REQUEST_OK)
                return e;

        /* "lmm:" and the name, as memfd-inspect shows it; without snprintf(). */
        memcpy(memfd_name, "lmm:", 4);
        strcpy(memfd_name + 4, req->name);
        r = memfd_new_sealed_seals(memfd_name, size, huge, &fd, &seals);
        if (r < 0)
                return request_fail(req, r, NULL);

        e = block_insert(m, p, req, fd, size, block_flags(q->flags), seals);
        if (e == REQUEST_OK) {
                TAKE_FD(fd);
                if (m->log) /* the size in words only for a log that is there */
                        manager_log(m, LOG_DEBUG, "pid %d created block \"%s\" (%s)",
                                    (int) p->creds.pid, req->name,
                                    format_bytes(size, sz, sizeof(sz)));
        }
        return e;
}

request_error request_adopt(lmm_manager *m, peer *p, request *req) {
        _cleanup_close_ int fd = -EBADF;
        const wire_msg *q = &req->q;
        const registry_block *same;
        struct stat st;
        request_error e;
        uint64_t size;
        char sz[32];
        int r, seals;

        /* Only what the peer could write may be adopted: reopening through
         * /proc would otherwise turn a read-only fd into a writable one.
         * O_RDWR exactly: a write-only fd must not come back readable. */
        r = fcntl(req->fds[0], F_GETFL);
        if (r < 0 || (r & O_ACCMODE) != O_RDWR) {
                req->detail = r < 0 ? "it is not valid" : "it is read-only or write-only";
                return REQUEST_E_NOT_RDWR;
        }
        /* Is it a memfd, asked of the fd itself, before anything opens it
         * again. F_GET_SEALS fails for anything but shmem and hugetlbfs
         * without calling into a file system; readlink() of /proc/self/fd
         * opens nothing. */
        r = fd_get_seals(req->fds[0]);
        if (r >= 0)
                r = fd_is_memfd(req->fds[0]);
        if (r <= 0)
                return REQUEST_E_NOT_MEMFD;
        /* Keep an open file description of our own: the peer's shares its file offset. */
        r = fd_reopen(req->fds[0], O_RDWR | O_NONBLOCK, &fd);
        manager_dispose_fd(TAKE_FD(req->fds[0]), m);
        if (r < 0) {
                req->error = r == -EACCES ? EPERM : -r;
                req->detail = strerror(-r);
                return REQUEST_E_NOT_RDWR;
        }

        if (q->flags & ~(uint32_t) (LMM_CREATE_SCOPE_CONNECTION | OTHERS_FLAGS))
                return REQUEST_E_FLAGS;
        e = take_name(m, p, req);
        if (e != REQUEST_OK)
                return e;

        r = fd_is_memfd(fd);
        if (r <= 0)
                return REQUEST_E_NOT_MEMFD;
        seals = fd_get_seals(fd);
        if (seals < 0)
                return REQUEST_E_NOT_SEALABLE;
        r = fd_get_size(fd, &size);
        if (r < 0)
                return request_fail(req, r, NULL);
        if (size == 0)
                return REQUEST_E_EMPTY;
        /* One memory, one block: an alias would let its adopter freeze or
         * release someone else's block under another name. */
        if (fstat(fd, &st) < 0)
                return request_fail(req, negative_errno(), NULL);
        same = registry_find_inode(&m->reg, (uint64_t) st.st_dev, (uint64_t) st.st_ino);
        if (same) {
                strcpy(req->other, registry_block_name(same));
                return REQUEST_E_ALIAS;
        }
        e = check_room(m, p, req, size);
        if (e != REQUEST_OK)
                return e;
        if (seals & F_SEAL_SEAL)
                return REQUEST_E_SEAL_SEALED;
        if ((seals & (F_SEAL_SHRINK | F_SEAL_GROW)) != (F_SEAL_SHRINK | F_SEAL_GROW)) {
                r = fd_add_seals(fd, F_SEAL_SHRINK | F_SEAL_GROW);
                if (r < 0) {
                        req->error = -r;
                        return REQUEST_E_CANNOT_SEAL;
                }
        }
        /* Last of the checks that can refuse, so that a refused adopt leaves
         * the mode alone. The peer made this memfd, with its own mode (0777 from
         * memfd_create()): as it is, another uid given a read-only fd could
         * reopen it read-write through /proc. Only its owner may be able to,
         * before any other uid can get an fd. */
        if (st.st_mode & 0077) {
                req->mode = (unsigned) (st.st_mode & 07777);
                if (fchmod(fd, st.st_mode & 0700) < 0)
                        return REQUEST_E_MODE;
        }
        /* Size sealed now: ask again, the peer may have resized it meanwhile. */
        r = fd_get_size(fd, &size);
        if (r < 0)
                return request_fail(req, r, NULL);

        e = block_insert(m, p, req, fd, size,
                         LMM_BLOCK_ADOPTED | adopted_flags(fd) | block_flags(q->flags), -1);
        if (e == REQUEST_OK) {
                TAKE_FD(fd);
                manager_log(m, LOG_DEBUG, "pid %d handed over block \"%s\" (%s)",
                            (int) p->creds.pid, req->name, format_bytes(size, sz, sizeof(sz)));
        }
        return e;
}

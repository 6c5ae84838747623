/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * manager-state — a manager's restart state, kept current, and the restore
 * from it. See manager-state.h for the order of operations and the
 * guarantees, state.h for the records.
 *
 * The state is a memfd of the manager's own, "lmmd-state", sealed against
 * shrinking, and mapped shared: a record is written by copying it into the
 * mapping, which is the file's own memory, so that a change costs no
 * syscall and is in the file the moment it is copied, whatever kills the
 * process next. The state grows by doubling when every slot is taken (the
 * file first, then the mapping, then the header that announces the
 * slots). Each recorded block has a slot (registry_block.state_slot); free
 * slots are a stack in memory, so that a create takes one and a release
 * gives it back in O(1). A change is one record, never straddling a page;
 * a copy cut short by SIGKILL is caught by its checksum. The header is
 * written only when the registry's counters pass the values it holds, and
 * then COUNTER_RESERVE beyond them, so that a restart never gives an id or
 * a made-up name again.
 */

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <syslog.h>

#include "manager-state.h"
#include "missing.h"
#include "state.h"
#include "util.h"

/* How far the header's counters run ahead of the registry's: the header is
 * written once per this many creates, and a restart skips at most this many
 * ids and made-up names. */
#define COUNTER_RESERVE 256
#define INITIAL_SLOTS 64
/* Drops logged one by one at a restore; past this, only counted. */
#define DROPS_LOGGED_MAX 32
/* A restart hands the blocks back named in LISTEN_FDNAMES, one environment
 * string, which execve() takes up to 32 pages long (MAX_ARG_STRLEN: 128 KiB
 * with 4 KiB pages). With a store, their names must fit, with room for the
 * sockets' and the state's: past that, the service manager could not start
 * lmmd with its store at all (E2BIG), and every block would be lost.
 * Without one, a re-execution past it fails, says why, and lmmd serves on:
 * nothing is lost, so nothing is refused. */
#define NAMES_MAX (32 * 4096 - sizeof("LISTEN_FDNAMES=") - 1024)

typedef struct manager_state {
        int fd;
        uint8_t *map; /* the state's first map_size bytes, shared */
        size_t map_size;
        uint64_t n_slots;
        uint32_t *free_slots; /* a stack of free slot indices, the lowest on top after a growth */
        size_t n_free, free_cap;
        uint64_t saved_next_id, saved_next_name, generation; /* what the header says */
        size_t names_len, names_max; /* of the recorded blocks' names, each with its ':' */
        manager_store_ops ops;
        bool has_store;
        void *userdata;
        uint8_t rec[STATE_RECORD_SIZE];
} manager_state;

/* What a restore found in the store under a block's name. */
typedef struct stored_block {
        uint64_t id;
        int fd;
} stored_block;

/* A used slot of the state being restored. */
typedef struct found_slot {
        uint64_t id;
        uint32_t idx;
} found_slot;

int manager_state_enable(lmm_manager *m, const manager_store_ops *ops, void *userdata) {
        manager_state *st;

        if (m->state)
                return -EALREADY;
        st = calloc(1, sizeof(*st));
        if (!st)
                return -ENOMEM;
        st->fd = -EBADF;
        st->names_max = SIZE_MAX;
        if (ops) {
                st->ops = *ops;
                st->has_store = true;
                st->names_max = NAMES_MAX;
        }
        st->userdata = userdata;
        m->state = st;
        return 0;
}

void manager_state_free(lmm_manager *m) {
        manager_state *st = m->state;

        if (!st)
                return;
        if (st->map)
                (void) munmap(st->map, st->map_size);
        safe_close(st->fd);
        free(st->free_slots);
        free(st);
        m->state = NULL;
}

/* ---------------------------------------------------------------- names */

/* block_fd_name() - "b<id>". Return: its length. */
static size_t block_fd_name(uint64_t id, char buf[static 32]) {
        return (size_t) snprintf(buf, 32, "b%" PRIu64, id);
}

/* parse_block_fd_name() - the id in "b<id>": decimal, no leading zero, not 0. */
static bool parse_block_fd_name(const char *name, uint64_t *ret) {
        uint64_t id = 0;
        const char *p = name + 1;

        if (name[0] != 'b' || *p < '1' || *p > '9')
                return false;
        for (; *p; p++) {
                if (*p < '0' || *p > '9' || id > (UINT64_MAX - 9) / 10)
                        return false;
                id = id * 10 + (uint64_t) (*p - '0');
        }
        *ret = id;
        return true;
}

void manager_state_limit_names(lmm_manager *m, size_t bytes) {
        m->state->names_max = bytes;
}

bool manager_state_owns_name(const char *name) {
        uint64_t id;

        return strcmp(name, "state") == 0 || parse_block_fd_name(name, &id);
}

/*
 * parse_bound_name() - whether @name is "lmmd-bound" or "lmmd-bound-dir",
 * either followed by "-DEV-INO" (hexadecimal) naming its socket file.
 */
static bool parse_bound_name(const char *name, bool *ret_dir, uint64_t file[static 2],
                             bool *ret_file) {
        const char *p;
        char *end;

        if (strncmp(name, "lmmd-bound", 10) != 0)
                return false;
        p = name + 10;
        *ret_dir = strncmp(p, "-dir", 4) == 0 && (p[4] == 0 || p[4] == '-');
        if (*ret_dir)
                p += 4;
        *ret_file = *p != 0;
        if (!*ret_file)
                return true;
        for (size_t i = 0; i < 2; i++) {
                if (*p != '-' || !isxdigit((unsigned char) p[1]))
                        return false;
                errno = 0;
                file[i] = strtoull(p + 1, &end, 16);
                if (errno != 0)
                        return false;
                p = end;
        }
        return *p == 0;
}

int manager_take_listener(lmm_manager *m, int fd, const char *name) {
        uint64_t file[2];
        bool dir, has_file;

        if (parse_bound_name(name, &dir, file, &has_file))
                return listener_adopt(m, fd, dir, has_file ? file : NULL);
        return lmm_manager_add_listener(m, fd);
}

/* ---------------------------------------------------------------- records */

/* write_record() - @rec at @offset: copied into the file's own memory, no syscall. */
static int write_record(manager_state *st, uint64_t offset, const uint8_t *rec) {
        if (offset + STATE_RECORD_SIZE > st->map_size)
                return -EIO;
        memcpy(st->map + offset, rec, STATE_RECORD_SIZE);
        return 0;
}

/*
 * map_state() - map @size bytes of the state, which has @file_size: the
 * file grows first if it must (never shrinks: it is sealed), then the
 * mapping, moved if need be.
 */
static int map_state(manager_state *st, uint64_t size, uint64_t file_size) {
        void *p;

        if (size > SIZE_MAX)
                return -EFBIG;
        if (file_size < size && ftruncate(st->fd, (off_t) size) < 0)
                return negative_errno();
        if (st->map)
                p = mremap(st->map, st->map_size, (size_t) size, MREMAP_MAYMOVE);
        else
                p = mmap(NULL, (size_t) size, PROT_READ | PROT_WRITE, MAP_SHARED, st->fd, 0);
        if (p == MAP_FAILED)
                return negative_errno();
        st->map = p;
        st->map_size = (size_t) size;
        return 0;
}

static int header_write(manager_state *st) {
        state_header_encode(&(state_header){ .n_slots = st->n_slots,
                                             .next_id = st->saved_next_id,
                                             .next_name = st->saved_next_name,
                                             .generation = st->generation },
                            st->rec);
        return write_record(st, 0, st->rec);
}

/* counters_sync() - the header's counters ahead of the registry's, before a record that needs it. */
static int counters_sync(lmm_manager *m) {
        manager_state *st = m->state;
        uint64_t id = st->saved_next_id, name = st->saved_next_name;
        int r;

        if (m->reg.next_id <= id && m->reg.next_name <= name)
                return 0;
        st->saved_next_id = MAX(id, m->reg.next_id + COUNTER_RESERVE);
        st->saved_next_name = MAX(name, m->reg.next_name + COUNTER_RESERVE);
        r = header_write(st);
        if (r < 0) {
                st->saved_next_id = id;
                st->saved_next_name = name;
        }
        return r;
}

/* free_reserve() - room in the free stack for @n_slots: every slot may be free at once. */
static int free_reserve(manager_state *st, uint64_t n_slots) {
        uint32_t *p;

        if (n_slots <= st->free_cap)
                return 0;
        if (n_slots > SIZE_MAX / sizeof(*p))
                return -ENOMEM;
        p = reallocarray(st->free_slots, (size_t) n_slots, sizeof(*p));
        if (!p)
                return -ENOMEM;
        st->free_slots = p;
        st->free_cap = (size_t) n_slots;
        return 0;
}

/* free_push() - slot @idx is free; room for it was reserved (every slot's is). */
static void free_push(manager_state *st, uint32_t idx) {
        assert(st->n_free < st->free_cap);
        st->free_slots[st->n_free++] = idx;
}

/* grow() - twice the slots (the file first, then the header that announces them). */
static int grow(manager_state *st) {
        uint64_t n = st->n_slots ? MIN(st->n_slots * 2, STATE_SLOTS_MAX) : INITIAL_SLOTS;
        uint64_t old = st->n_slots;
        struct stat sb;
        int r;

        if (n <= old)
                return -ENOSPC;
        r = free_reserve(st, n);
        if (r < 0)
                return r;
        if (fstat(st->fd, &sb) < 0)
                return negative_errno();
        r = map_state(st, state_size(n), (uint64_t) sb.st_size);
        if (r < 0)
                return r;
        st->n_slots = n;
        r = header_write(st);
        if (r < 0) { /* the file is larger than announced: harmless */
                st->n_slots = old;
                return r;
        }
        for (uint64_t i = n; i > old; i--)
                free_push(st, (uint32_t) (i - 1));
        return 0;
}

static void block_to_slot(const registry_block *b, state_slot *ret) {
        *ret = (state_slot){
                .id = b->id,
                .size = b->size,
                .dev = b->dev,
                .ino = b->ino,
                .flags = b->flags,
                .uid = (uint32_t) b->uid,
                .pid = (int32_t) b->pid,
        };
        strcpy(ret->name, registry_block_name(b));
}

static int slot_write(manager_state *st, const registry_block *b) {
        state_slot s;

        block_to_slot(b, &s);
        if (!state_slot_is_valid(&s))
                return -EINVAL;
        state_slot_encode(&s, st->rec);
        return write_record(st, state_slot_offset(b->state_slot - 1), st->rec);
}

/* slot_clear() - free @idx, on disk and in memory. */
static int slot_clear(manager_state *st, uint32_t idx) {
        state_slot_encode(NULL, st->rec);
        free_push(st, idx);
        return write_record(st, state_slot_offset(idx), st->rec);
}

int manager_state_block_added(lmm_manager *m, registry_block *b) {
        manager_state *st = m->state;
        char name[32];
        uint32_t idx;
        size_t len;
        int r;

        if (!st || (b->flags & LMM_BLOCK_SCOPE_CONNECTION))
                return 0;
        len = block_fd_name(b->id, name) + 1;
        if (st->names_len + len > st->names_max)
                return -E2BIG;
        if (st->n_free == 0) {
                r = grow(st);
                if (r < 0)
                        return r;
        }
        r = counters_sync(m);
        if (r < 0)
                return r;
        idx = st->free_slots[st->n_free - 1];
        b->state_slot = idx + 1;
        r = slot_write(st, b);
        if (r < 0) {
                b->state_slot = 0;
                return r;
        }
        st->n_free--;
        if (st->has_store) {
                r = st->ops.store(b->fd, name, st->userdata);
                if (r < 0) {
                        (void) slot_clear(st, idx);
                        b->state_slot = 0;
                        return r;
                }
        }
        st->names_len += len;
        return 0;
}

int manager_state_block_changed(lmm_manager *m, registry_block *b) {
        if (!m->state || !b->state_slot)
                return 0;
        return slot_write(m->state, b);
}

void manager_state_block_removed(lmm_manager *m, registry_block *b) {
        manager_state *st = m->state;
        char name[32];
        int r;

        if (!st || !b->state_slot)
                return;
        st->names_len -= block_fd_name(b->id, name) + 1;
        if (st->has_store) {
                r = st->ops.remove(name, st->userdata);
                if (r < 0)
                        manager_log(m, LOG_WARNING,
                                    "cannot remove block \"%s\" (%s) from the fd store: %s",
                                    registry_block_name(b), name, strerror(-r));
        }
        r = slot_clear(st, b->state_slot - 1);
        if (r < 0)
                manager_log(m, LOG_WARNING, "cannot clear the record of block \"%s\": %s",
                            registry_block_name(b), strerror(-r));
        b->state_slot = 0;
}

void manager_state_shutdown(lmm_manager *m) {
        manager_state *st = m->state;
        int r;

        if (!st || !st->has_store)
                return;
        r = st->ops.remove("state", st->userdata);
        if (r < 0)
                manager_log(m, LOG_WARNING, "cannot remove the state from the fd store: %s",
                            strerror(-r));
}

/* ---------------------------------------------------------------- restore */

/* state_new() - a fresh, empty state, stored; the registry's counters are its own. */
static int state_new(lmm_manager *m) {
        manager_state *st = m->state;
        _cleanup_close_ int fd = -EBADF;
        int r;

        fd = memfd_create("lmmd-state", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_NOEXEC_SEAL);
        if (fd < 0 && errno == EINVAL) /* kernel < 6.3 has no MFD_NOEXEC_SEAL */
                fd = memfd_create("lmmd-state", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (fd < 0)
                return negative_errno();
        /* It only grows: nobody holding it can cut a record off under us. */
        if (fchmod(fd, 0600) < 0 || fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) < 0)
                return negative_errno();
        st->fd = TAKE_FD(fd);
        st->n_slots = 0;
        st->n_free = 0;
        st->generation = 0;
        st->saved_next_id = m->reg.next_id + COUNTER_RESERVE;
        st->saved_next_name = m->reg.next_name + COUNTER_RESERVE;
        r = grow(st);
        if (r < 0) {
                if (st->map)
                        (void) munmap(st->map, st->map_size);
                st->map = NULL;
                st->map_size = 0;
                st->fd = safe_close(st->fd);
                return r;
        }
        if (!st->has_store)
                return 0;
        r = st->ops.store(st->fd, "state", st->userdata);
        if (r < 0) {
                /* Serving matters more than surviving a crash: say so, and go on without the store. */
                manager_log(m, LOG_WARNING,
                            "cannot hand the state to the service manager's fd store (%s): "
                            "blocks will not survive a restart of lmmd",
                            strerror(-r));
                st->has_store = false;
                st->names_max = SIZE_MAX;
        }
        return 0;
}

typedef struct restore_ctx {
        lmm_manager *m;
        unsigned n_dropped;
} restore_ctx;

static void dropped(restore_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void dropped(restore_ctx *c, const char *fmt, ...) {
        char line[512];
        va_list ap;

        if (c->n_dropped++ >= DROPS_LOGGED_MAX)
                return;
        va_start(ap, fmt);
        vsnprintf(line, sizeof(line), fmt, ap);
        va_end(ap);
        manager_log(c->m, LOG_WARNING, "restart: %s", line);
}

/* store_remove() - drop @name from the store too: nothing of ours is kept under it. */
static void store_remove(lmm_manager *m, const char *name) {
        manager_state *st = m->state;
        int r;

        if (!st->has_store)
                return;
        r = st->ops.remove(name, st->userdata);
        if (r < 0)
                manager_log(m, LOG_WARNING, "cannot remove \"%s\" from the fd store: %s", name,
                            strerror(-r));
}

static void drop_stored_fd(restore_ctx *c, uint64_t id, int fd, const char *why) {
        char name[32];

        block_fd_name(id, name);
        dropped(c, "stored block %s %s: closed and removed from the store", name, why);
        safe_close(fd);
        store_remove(c->m, name);
}

/*
 * read_state() - the bytes of the handed-over state @fd (borrowed), which
 * must be a memfd that cannot shrink, or the reason it is refused.
 */
static int read_state(int fd, uint8_t **ret, size_t *ret_len, char *why, size_t why_size) {
        _cleanup_free_ uint8_t *buf = NULL;
        struct stat sb;
        size_t len = 0, want;
        int seals;

        if (fd_is_memfd(fd) <= 0) {
                snprintf(why, why_size, "it is not a memfd");
                return -EBADMSG;
        }
        seals = fd_get_seals(fd);
        if (seals < 0 || !(seals & F_SEAL_SHRINK)) {
                snprintf(why, why_size, "it is not sealed against shrinking");
                return -EBADMSG;
        }
        /* It is written on from here: through a shared mapping, read-write. */
        if (seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)) {
                snprintf(why, why_size, "it is sealed against writing");
                return -EBADMSG;
        }
        if ((fcntl(fd, F_GETFL) & O_ACCMODE) != O_RDWR) {
                snprintf(why, why_size, "it is not open read-write");
                return -EBADMSG;
        }
        if (fstat(fd, &sb) < 0)
                return negative_errno();
        /* What no valid header can announce is never read. */
        want = (size_t) MIN((uint64_t) sb.st_size, state_size(STATE_SLOTS_MAX));
        buf = malloc(MAX(want, (size_t) 1));
        if (!buf)
                return -ENOMEM;
        while (len < want) {
                ssize_t n = pread(fd, buf + len, want - len, (off_t) len);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return negative_errno();
                if (n == 0)
                        break;
                len += (size_t) n;
        }
        *ret = TAKE_PTR(buf);
        *ret_len = len;
        return 0;
}

static int cmp_found(const void *a, const void *b) {
        const found_slot *x = a, *y = b;

        /* Two records of one id (only damage makes them): the first slot's wins. */
        if (x->id != y->id)
                return x->id < y->id ? -1 : 1;
        return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int cmp_stored(const void *a, const void *b) {
        const stored_block *x = a, *y = b;

        return x->id < y->id ? -1 : x->id > y->id;
}

/*
 * restore_block() - @s, recorded in slot @idx, back in the registry with
 * @fd (borrowed; the registry's on success), if @fd is the memory recorded.
 * Return: 0; -EBADMSG with the reason in @why; -ENOMEM.
 */
static int restore_block(lmm_manager *m, uint32_t idx, const state_slot *s, int fd, char *why,
                         size_t why_size) {
        const registry_block *same;
        registry_block *b;
        struct stat sb;
        int seals, fl, r;
        user *u;

        if (fstat(fd, &sb) < 0) {
                snprintf(why, why_size, "cannot be looked at (%s)", strerror(errno));
                return -EBADMSG;
        }
        if ((uint64_t) sb.st_dev != s->dev || (uint64_t) sb.st_ino != s->ino) {
                snprintf(why, why_size,
                         "is other memory (inode %" PRIu64 ":%" PRIu64 ", recorded %" PRIu64
                         ":%" PRIu64 ")",
                         (uint64_t) sb.st_dev, (uint64_t) sb.st_ino, s->dev, s->ino);
                return -EBADMSG;
        }
        /* The recorded inode was a memfd of ours; no more syscalls to ask
         * again: a restore makes 4 per block, each dear on a VM. */
        if (!S_ISREG(sb.st_mode)) {
                snprintf(why, why_size, "is not a memfd");
                return -EBADMSG;
        }
        if ((uint64_t) sb.st_size != s->size) {
                snprintf(why, why_size, "is %" PRIu64 " bytes, recorded %" PRIu64,
                         (uint64_t) sb.st_size, s->size);
                return -EBADMSG;
        }
        seals = fd_get_seals(fd);
        if (seals < 0 || (seals & (F_SEAL_SHRINK | F_SEAL_GROW)) != (F_SEAL_SHRINK | F_SEAL_GROW)) {
                snprintf(why, why_size, "is not sealed against resizing");
                return -EBADMSG;
        }
        fl = fcntl(fd, F_GETFL);
        if (fl < 0 || (fl & O_ACCMODE) != O_RDWR) {
                snprintf(why, why_size, "is not open read-write");
                return -EBADMSG;
        }
        if ((fd_is_hugetlb(fd) > 0) != !!(s->flags & LMM_BLOCK_HUGETLB)) {
                snprintf(why, why_size, "is %son huge pages, recorded otherwise",
                         s->flags & LMM_BLOCK_HUGETLB ? "not " : "");
                return -EBADMSG;
        }
        same = registry_find_inode(&m->reg, s->dev, s->ino);
        if (same) {
                snprintf(why, why_size, "is the memory of block \"%s\" already",
                         registry_block_name(same));
                return -EBADMSG;
        }

        u = user_registry_get(&m->users, (uid_t) s->uid);
        b = registry_block_new(&m->reg, s->name);
        if (!u || !b) {
                free(b);
                return -ENOMEM;
        }
        b->id = s->id;
        b->size = s->size;
        /* The kernel is the truth: frozen only if sealed so. */
        b->flags = s->flags &
                   (seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE) ? ~UINT32_C(0)
                                                                 : ~(uint32_t) LMM_BLOCK_FROZEN);
        b->uid = (uid_t) s->uid;
        b->pid = (pid_t) s->pid;
        b->dev = s->dev;
        b->ino = s->ino;
        b->fd = fd;
        /* The memory is held already: it counts against its owner whatever the limits are now. */
        user_charge_take(&b->charge, u, 1, s->size);
        r = registry_insert(&m->reg, b);
        if (r < 0) {
                user_charge_release(&b->charge);
                free(b);
                if (r == -EEXIST) {
                        snprintf(why, why_size,
                                 "has a name uid %" PRIu32 " has given another block", s->uid);
                        return -EBADMSG;
                }
                return r;
        }
        b->state_slot = idx + 1;
        return 0;
}

/*
 * restore_from() - rebuild the registry from a valid state (@buf, header
 * @h) and the block fds (consumed) in @blocks; the state memfd is already
 * ours. Every slot that does not come back is cleared and free.
 */
static int restore_from(restore_ctx *c, const uint8_t *buf, size_t len, const state_header *h,
                        stored_block *blocks, size_t n_blocks) {
        lmm_manager *m = c->m;
        manager_state *st = m->state;
        _cleanup_free_ found_slot *found = NULL;
        _cleanup_free_ bool *taken = NULL;
        char why[STATE_WHY_MAX + 64];
        size_t n_found = 0, j = 0, n_restored = 0;
        uint64_t bytes = 0, last_id = 0;
        int r;

        st->n_slots = h->n_slots;
        st->generation = h->generation + 1;
        r = map_state(st, state_size(h->n_slots), len);
        if (r >= 0)
                r = free_reserve(st, h->n_slots);
        if (r < 0)
                goto fail;
        found = calloc(MAX(h->n_slots, (uint64_t) 1), sizeof(*found));
        taken = calloc(MAX(h->n_slots, (uint64_t) 1), sizeof(*taken));
        if (!found || !taken) {
                r = -ENOMEM;
                goto fail;
        }

        /* Every slot alone: a bad one is dropped, the others stand. */
        for (uint64_t i = 0; i < h->n_slots; i++) {
                state_slot s;

                r = state_slot_decode(buf + state_slot_offset(i), &s, why, sizeof(why));
                if (r > 0)
                        found[n_found++] = (found_slot){ .id = s.id, .idx = (uint32_t) i };
                else if (r < 0)
                        dropped(c, "slot %" PRIu64 " of the state: %s", i, why);
        }
        qsort(found, n_found, sizeof(*found), cmp_found);
        qsort(blocks, n_blocks, sizeof(*blocks), cmp_stored);

        for (size_t i = 0; i < n_found; i++) {
                state_slot s;
                bool done = false;

                (void) state_slot_decode(buf + state_slot_offset(found[i].idx), &s, why,
                                         sizeof(why));
                /* Stored fds no record names. */
                for (; j < n_blocks && blocks[j].id < s.id; j++)
                        drop_stored_fd(c, blocks[j].id, blocks[j].fd, "has no record in the state");
                if (i > 0 && found[i - 1].id == s.id) {
                        dropped(c, "block %" PRIu64 " \"%s\": a second record of that id", s.id,
                                s.name);
                        continue;
                }
                /* The fds stored under its name: the first that is its memory wins. */
                for (; j < n_blocks && blocks[j].id == s.id; j++) {
                        if (done) {
                                dropped(c,
                                        "block %" PRIu64 " \"%s\": another fd under its name: "
                                        "closed",
                                        s.id, s.name);
                                safe_close(blocks[j].fd);
                                continue;
                        }
                        r = restore_block(m, found[i].idx, &s, blocks[j].fd, why, sizeof(why));
                        if (r == -ENOMEM)
                                goto fail;
                        if (r < 0) {
                                dropped(c, "block %" PRIu64 " \"%s\" of uid %" PRIu32 ": its fd %s",
                                        s.id, s.name, s.uid, why);
                                safe_close(blocks[j].fd);
                                continue;
                        }
                        done = true;
                        taken[found[i].idx] = true;
                        st->names_len += block_fd_name(s.id, why) + 1;
                        n_restored++;
                        bytes += s.size;
                        last_id = s.id;
                }
                if (done)
                        continue;
                /* Nothing of it survived: no fd of its memory is kept for it any more. */
                block_fd_name(s.id, why);
                store_remove(m, why);
                dropped(c, "block %" PRIu64 " \"%s\" of uid %" PRIu32 ": no valid fd in the store",
                        s.id, s.name, s.uid);
        }
        for (; j < n_blocks; j++)
                drop_stored_fd(c, blocks[j].id, blocks[j].fd, "has no record in the state");

        /* Every slot that did not come back is cleared and free, the lowest on top. */
        st->n_free = 0;
        for (uint64_t i = h->n_slots; i > 0; i--) {
                const uint8_t *rec = buf + state_slot_offset(i - 1);
                bool zero = true;

                if (taken[i - 1])
                        continue;
                for (size_t k = 0; k < STATE_RECORD_SIZE && zero; k++)
                        zero = rec[k] == 0;
                if (zero)
                        free_push(st, (uint32_t) (i - 1));
                else {
                        r = slot_clear(st, (uint32_t) (i - 1));
                        if (r < 0)
                                goto fail;
                }
        }

        m->reg.next_id = MAX(MAX(m->reg.next_id, h->next_id), last_id + 1);
        m->reg.next_name = MAX(m->reg.next_name, h->next_name);
        st->saved_next_id = m->reg.next_id;
        st->saved_next_name = m->reg.next_name;
        r = header_write(st);
        if (r < 0)
                goto fail;
        if (c->n_dropped > DROPS_LOGGED_MAX)
                manager_log(m, LOG_WARNING, "restart: %u more dropped",
                            c->n_dropped - DROPS_LOGGED_MAX);
        manager_log(m, LOG_INFO,
                    "restart: restored %zu blocks (%" PRIu64 " bytes) from generation %" PRIu64
                    " of the state; dropped %u",
                    n_restored, bytes, h->generation, c->n_dropped);
        return 0;

fail:
        for (; j < n_blocks; j++)
                safe_close(blocks[j].fd);
        return r;
}

int manager_state_restore(lmm_manager *m, const int *fds, char *const *names, size_t n) {
        manager_state *st = m->state;
        _cleanup_free_ stored_block *blocks = NULL;
        _cleanup_free_ uint8_t *buf = NULL;
        restore_ctx c = { .m = m };
        char why[STATE_WHY_MAX + 64] = "";
        int state_fd = -EBADF, r;
        size_t n_blocks = 0, len = 0;
        state_header h;

        assert(st && st->fd < 0);
        blocks = calloc(MAX(n, (size_t) 1), sizeof(*blocks));
        if (!blocks) {
                close_many(fds, n);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                uint64_t id;

                if (strcmp(names[i], "state") == 0 && state_fd < 0)
                        state_fd = fds[i];
                else if (strcmp(names[i], "state") == 0) {
                        /* Removing it by name would remove the first one too. */
                        dropped(&c, "a second state handed over: closed");
                        safe_close(fds[i]);
                } else if (parse_block_fd_name(names[i], &id))
                        blocks[n_blocks++] = (stored_block){ .id = id, .fd = fds[i] };
                else {
                        dropped(&c,
                                "an fd named \"%s\" that lmmd does not know: closed and "
                                "removed from the store",
                                names[i]);
                        safe_close(fds[i]);
                        store_remove(m, names[i]);
                }
        }

        if (state_fd >= 0) {
                r = read_state(state_fd, &buf, &len, why, sizeof(why));
                if (r == -EBADMSG ||
                    (r >= 0 && state_header_decode(buf, len, &h, why, sizeof(why)) < 0)) {
                        manager_log(m, LOG_ERR,
                                    "restart: the state handed over is refused: %s; starting "
                                    "empty, %zu stored blocks dropped",
                                    why, n_blocks);
                        r = -EBADMSG;
                } else if (r < 0) {
                        /* Not the state's fault: leave the store as it is for the next start. */
                        for (size_t i = 0; i < n_blocks; i++)
                                safe_close(blocks[i].fd);
                        safe_close(state_fd);
                        return r;
                } else {
                        st->fd = state_fd;
                        return restore_from(&c, buf, len, &h, blocks, n_blocks);
                }
                safe_close(state_fd);
                store_remove(m, "state");
        } else if (n_blocks > 0)
                manager_log(m, LOG_ERR,
                            "restart: %zu blocks handed over without a state: nothing says "
                            "whose they are; dropped",
                            n_blocks);

        for (size_t i = 0; i < n_blocks; i++) {
                char name[32];

                block_fd_name(blocks[i].id, name);
                safe_close(blocks[i].fd);
                store_remove(m, name);
        }
        return state_new(m);
}

/* ---------------------------------------------------------------- re-execution */

bool manager_reexec_requested(const lmm_manager *m) {
        return m->reexec_requested;
}

void manager_reexec_cancel(lmm_manager *m) {
        m->reexec_requested = false;
}

int manager_handover_prepare(lmm_manager *m, manager_handover *ret) {
        manager_state *st = m->state;
        size_t n = 1, size = sizeof("state");
        char *p;

        if (!st || st->fd < 0)
                return -EOPNOTSUPP;
        /* The replies that wait, the REEXEC's among them, go out if they can. */
        for (peer *q = m->peers; q; q = q->next)
                (void) connection_flush(&q->conn);

        for (listener *l = m->listeners; l; l = l->next) {
                n++;
                size += sizeof("lmmd-bound-dir") + 2 * 17;
        }
        for (registry_block *b = registry_first(&m->reg); b; b = registry_next(b))
                if (b->state_slot) {
                        n++;
                        size += 32;
                }
        *ret = (manager_handover){ .fds = calloc(n, sizeof(int)), .names = malloc(size) };
        if (!ret->fds || !ret->names) {
                manager_handover_done(ret);
                return -ENOMEM;
        }
        p = ret->names;
        for (listener *l = m->listeners; l; l = l->next) {
                uint64_t file[2];

                ret->fds[ret->n_fds++] = l->fd;
                p = stpcpy(p, !l->bound ? "lmmd-listen" : l->dir ? "lmmd-bound-dir" : "lmmd-bound");
                /* Which file it is, for the next program to remove that one only. */
                if (l->bound && listener_file_id(l, file))
                        p += sprintf(p, "-%" PRIx64 "-%" PRIx64, file[0], file[1]);
                *p++ = ':';
        }
        ret->fds[ret->n_fds++] = st->fd;
        p = stpcpy(p, "state");
        for (registry_block *b = registry_first(&m->reg); b; b = registry_next(b))
                if (b->state_slot) {
                        ret->fds[ret->n_fds++] = b->fd;
                        p += sprintf(p, ":b%" PRIu64, b->id);
                }
        return 0;
}

void manager_handover_done(manager_handover *h) {
        free(h->fds);
        free(h->names);
        *h = (manager_handover){};
}

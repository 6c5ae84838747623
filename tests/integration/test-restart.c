/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-restart — nothing is lost when lmmd restarts (docs/lmmd.md,
 * "Restarts"). lmmd runs under a stand-in for systemd's socket activation,
 * fd store and Restart=on-failure (helpers/fdstore.c), and is killed with
 * SIGKILL again and again: at random moments while clients create,
 * freeze and release, and right after it handed a block to the store or
 * took one out, so before or after its reply. After each restart every
 * block a client was told of is there with its name, id, memory, data,
 * seals and owner, none twice, and the store holds exactly what lmmd
 * holds. Then what a restart must refuse (a truncated, corrupt or missing
 * state, a torn slot, strays in the store), the shutdown that empties the
 * store, re-execution (lmmctl reexec, SIGHUP, an upgraded binary) with a
 * client connecting all the while, and clients that reconnect.
 */

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fdstore.h"
#include "harness.h"
#include "lmm.h"
#include "missing.h"
#include "splitmix64.h"
#include "state.h"
#include "util.h"

#define OTHER 12345
#define THIRD 12346

static void need_root(void) {
        if (geteuid() != 0)
                cr_skip_test("needs root to act as other uids");
}

/* ---------------------------------------------------------------- helpers */

static int log_new(void) {
        int fd = memfd_create("lmmd-log", MFD_CLOEXEC);

        cr_assert_geq(fd, 0);
        return fd;
}

/* log_text() - what lmmd wrote to @fd so far (free() it). */
static char *log_text(int fd) {
        struct stat st;
        char *s;

        cr_assert_eq(fstat(fd, &st), 0);
        s = calloc(1, (size_t) st.st_size + 1);
        cr_assert_not_null(s);
        cr_assert_eq(pread(fd, s, (size_t) st.st_size, 0), st.st_size);
        return s;
}

static fdstore *store_start(const char *const *args, int log_fd) {
        fdstore *s = NULL;
        int r = fdstore_start(&(fdstore_opts){ .args = args, .log_fd = log_fd }, &s);

        cr_assert_eq(r, 0, "cannot start lmmd under the fd store: %s", strerror(-r));
        return s;
}

static lmm_client *connect_to(fdstore *s) {
        lmm_client *c = NULL;
        int r = lmm_client_connect(fdstore_socket(s), &c);

        cr_assert_eq(r, 0, "connect: %s", strerror(-r));
        cr_assert_eq(lmm_client_set_timeout(c, 20 * 1000000u), 0);
        return c;
}

/* restart() - SIGKILL lmmd and wait until the next one is ready. */
static void restart(fdstore *s) {
        unsigned n = fdstore_starts(s);

        cr_assert_eq(fdstore_kill(s), 0);
        cr_assert_eq(fdstore_wait_ready(s, n + 1, 10000), 0, "lmmd did not come back");
}

static lmm_segment *create(lmm_client *c, const char *name, uint64_t size, uint32_t flags) {
        lmm_segment *seg = NULL;
        int r = lmm_segment_create(
                c, &(lmm_segment_opts){ .name = name, .size = size, .flags = flags }, &seg);

        cr_assert_eq(r, 0, "create %s: %s (%s)", name ?: "(unnamed)", strerror(-r),
                     lmm_client_last_error(c) ?: "");
        return seg;
}

static void put_text(lmm_segment *seg, const char *text) {
        char *p;

        cr_assert_eq(lmm_segment_map(seg, 0, (void **) &p), 0);
        strcpy(p, text);
}

/* expect_text() - open @name read-only and find @text at its start. */
static void expect_text(lmm_client *c, const char *name, const char *text) {
        lmm_segment *seg = NULL;
        const char *p;
        int r = lmm_segment_open(c, name, LMM_OPEN_RDONLY, &seg);

        cr_assert_eq(r, 0, "open %s: %s", name, strerror(-r));
        cr_assert_geq(lmm_segment_map(seg, LMM_MAP_RDONLY, (void **) &p), 0);
        cr_assert_str_eq(p, text, "block %s holds other data", name);
        lmm_segment_unref(seg);
}

static const lmm_block_info *find_info(const lmm_block_info *b, size_t n, const char *name) {
        for (size_t i = 0; i < n; i++)
                if (strcmp(b[i].name, name) == 0)
                        return &b[i];
        return NULL;
}

static void list(lmm_client *c, lmm_block_info **ret, size_t *ret_n) {
        int r = lmm_block_list(c, ret, ret_n);

        cr_assert_eq(r, 0, "list: %s", strerror(-r));
}

/*
 * expect_store_is_lmmd() - the store holds the state once and each block
 * lmmd lists once, as the same memory, and nothing else.
 */
static void expect_store_is_lmmd(fdstore *s, lmm_client *c) {
        _cleanup_free_ lmm_block_info *b = NULL;
        _cleanup_free_ fdstore_entry *e = NULL;
        size_t n, n_e, states = 0;

        fdstore_sync(s);
        list(c, &b, &n);
        n_e = fdstore_list(s, &e);
        for (size_t i = 0; i < n_e; i++) {
                bool found = false;

                if (strcmp(e[i].name, "state") == 0) {
                        states++;
                        continue;
                }
                for (size_t k = 0; k < n && !found; k++) {
                        char want[32];

                        snprintf(want, sizeof(want), "b%" PRIu64, b[k].id);
                        if (strcmp(want, e[i].name) != 0)
                                continue;
                        cr_assert_eq(e[i].ino, b[k].inode, "%s in the store is other memory",
                                     e[i].name);
                        cr_assert_eq(e[i].dev, b[k].device);
                        found = true;
                }
                cr_assert(found, "the store holds %s, which lmmd does not list", e[i].name);
        }
        cr_assert_eq(states, 1, "the store holds %zu states", states);
        cr_assert_eq(n_e, n + 1, "the store holds %zu fds for %zu blocks", n_e, n);
}

static int as_uid(uid_t uid, int (*fn)(void *), void *arg) {
        pid_t pid = fork();

        cr_assert_geq(pid, 0);
        if (pid == 0) {
                if (setgroups(0, NULL) < 0 || setgid(uid) < 0 || setuid(uid) < 0)
                        _exit(200);
                _exit(fn(arg));
        }
        return harness_wait_exit(pid, 20000);
}

/* ---------------------------------------------------------------- SIGKILL, many times */

#define WORKERS 4
#define NAMES 24
#define ROUNDS 100

typedef enum entry_state {
        ABSENT,
        PRESENT,
        MAYBE_CREATED,  /* the create's connection ended before its reply */
        MAYBE_RELEASED, /* the release's did */
} entry_state;

typedef struct entry {
        entry_state state;
        bool frozen;       /* a freeze was answered */
        bool maybe_frozen; /* one was not */
        uint64_t id, dev, ino, size;
        uint64_t pattern;
} entry;

typedef struct worker {
        pthread_t thread;
        unsigned index;
        const char *sock;
        uint64_t rng;
        entry e[NAMES];
        unsigned ops;
        char failure[256]; /* a result no restart explains */
} worker;

static atomic_bool paused, quit;
static atomic_uint n_paused;

static void entry_name(unsigned w, unsigned k, char buf[static 32]) {
        snprintf(buf, 32, "w%u-%u", w, k);
}

static void fail_worker(worker *w, const char *what, const char *name, int r, lmm_client *c) {
        if (!w->failure[0])
                snprintf(w->failure, sizeof(w->failure), "%s %s: %s (%s)", what, name, strerror(-r),
                         lmm_client_last_error(c) ?: "");
}

/* The pattern of a block: its name's numbers and a serial, at both ends. */
static void write_pattern(lmm_segment *seg, uint64_t pattern, uint64_t size) {
        uint8_t *p;

        if (lmm_segment_map(seg, 0, (void **) &p) < 0)
                return;
        memcpy(p, &pattern, sizeof(pattern));
        memcpy(p + size - sizeof(pattern), &pattern, sizeof(pattern));
}

static void worker_step(worker *w, lmm_client *c) {
        unsigned k = (unsigned) (splitmix64(&w->rng) % NAMES), dice;
        entry *e = &w->e[k];
        char name[32];
        int r;

        entry_name(w->index, k, name);
        dice = (unsigned) (splitmix64(&w->rng) % 10);
        if (e->state == ABSENT) {
                uint64_t size = 4096 * (1 + splitmix64(&w->rng) % 4);
                lmm_segment *seg = NULL;
                struct stat st;

                r = lmm_segment_create(c, &(lmm_segment_opts){ .name = name, .size = size }, &seg);
                if (r == -ECONNRESET) {
                        e->state = MAYBE_CREATED;
                        return;
                }
                if (r < 0) {
                        fail_worker(w, "create", name, r, c);
                        return;
                }
                /* Written through the creator's own mapping: only the memory carries it. */
                e->pattern = ((uint64_t) w->index << 48) | ((uint64_t) k << 32) | ++w->ops;
                write_pattern(seg, e->pattern, size);
                fstat(lmm_segment_get_fd(seg), &st);
                *e = (entry){ .state = PRESENT,
                              .dev = (uint64_t) st.st_dev,
                              .ino = (uint64_t) st.st_ino,
                              .size = size,
                              .pattern = e->pattern };
                lmm_segment_unref(seg);
        } else if (e->state == PRESENT && dice < 4 && !e->frozen) {
                r = lmm_block_freeze(c, name);
                if (r == 0)
                        e->frozen = true;
                else if (r == -ECONNRESET)
                        e->maybe_frozen = true;
                else
                        fail_worker(w, "freeze", name, r, c);
        } else if (e->state == PRESENT && dice < 8) {
                r = lmm_block_release(c, name);
                if (r == 0)
                        *e = (entry){ .state = ABSENT };
                else if (r == -ECONNRESET)
                        e->state = MAYBE_RELEASED;
                else
                        fail_worker(w, "release", name, r, c);
        } else if (e->state == PRESENT) {
                lmm_block_info info;

                r = lmm_block_stat(c, name, &info);
                if (r == 0 && info.inode != e->ino)
                        fail_worker(w, "stat (other memory)", name, -EIO, c);
                else if (r < 0 && r != -ECONNRESET)
                        fail_worker(w, "stat", name, r, c);
        }
        w->ops++;
}

static void *worker_main(void *arg) {
        worker *w = arg;
        lmm_client *c = NULL;
        bool counted = false;

        if (lmm_client_connect(w->sock, &c) < 0) {
                snprintf(w->failure, sizeof(w->failure), "cannot connect");
                return NULL;
        }
        lmm_client_set_timeout(c, 20 * 1000000u);
        while (!atomic_load(&quit)) {
                if (atomic_load(&paused)) {
                        if (!counted)
                                atomic_fetch_add(&n_paused, 1);
                        counted = true;
                        usleep(500);
                        continue;
                }
                if (counted)
                        atomic_fetch_sub(&n_paused, 1);
                counted = false;
                worker_step(w, c);
        }
        lmm_client_unref(c);
        return NULL;
}

typedef struct chaos_stats {
        unsigned maybe_created_there, maybe_created_gone;
        unsigned maybe_released_there, maybe_released_gone;
        unsigned maybe_frozen, present_checked;
} chaos_stats;

/* verify() - with the workers paused: lmmd holds what they were told, and the store what lmmd holds. */
static void verify(fdstore *s, lmm_client *c, worker *workers, chaos_stats *st) {
        _cleanup_free_ lmm_block_info *b = NULL;
        size_t n;

        fdstore_sync(s);
        list(c, &b, &n);
        for (size_t i = 0; i < n; i++)
                for (size_t k = i + 1; k < n; k++) {
                        cr_assert_str_neq(b[i].name, b[k].name, "block %s twice", b[i].name);
                        cr_assert(b[i].inode != b[k].inode || b[i].device != b[k].device,
                                  "%s and %s are one memory", b[i].name, b[k].name);
                }
        for (size_t i = 0; i < n; i++) {
                unsigned wi, ki;

                cr_assert_eq(sscanf(b[i].name, "w%u-%u", &wi, &ki), 2, "a block nobody made: %s",
                             b[i].name);
                cr_assert(wi < WORKERS && ki < NAMES);
        }

        for (unsigned wi = 0; wi < WORKERS; wi++)
                for (unsigned k = 0; k < NAMES; k++) {
                        entry *e = &workers[wi].e[k];
                        const lmm_block_info *info;
                        char name[32];

                        entry_name(wi, k, name);
                        info = find_info(b, n, name);
                        switch (e->state) {
                        case ABSENT:
                                cr_assert_null(info, "%s was released, and is back", name);
                                break;
                        case MAYBE_CREATED:
                                /* Either is right; made now or not, it goes. */
                                if (info) {
                                        st->maybe_created_there++;
                                        cr_assert_eq(lmm_block_release(c, name), 0);
                                } else
                                        st->maybe_created_gone++;
                                *e = (entry){ .state = ABSENT };
                                break;
                        case MAYBE_RELEASED:
                                if (!info) {
                                        st->maybe_released_gone++;
                                        *e = (entry){ .state = ABSENT };
                                        break;
                                }
                                st->maybe_released_there++;
                                e->state = PRESENT;
                                /* It stayed, so it must be whole. */
                                __attribute__((fallthrough));
                        case PRESENT: {
                                lmm_segment *seg = NULL;
                                const uint8_t *p;
                                uint64_t head, tail;

                                cr_assert_not_null(info, "%s was acknowledged, and is gone", name);
                                cr_assert_eq(info->inode, e->ino, "%s is other memory", name);
                                cr_assert_eq(info->device, e->dev);
                                cr_assert_eq(info->size, e->size);
                                cr_assert_eq(info->owner_uid, 0);
                                cr_assert_eq(info->flags & LMM_BLOCK_SCOPE_CONNECTION, 0);
                                if (e->id)
                                        cr_assert_eq(info->id, e->id, "%s changed its id", name);
                                e->id = info->id;
                                if (e->maybe_frozen) {
                                        st->maybe_frozen++;
                                        cr_assert_eq(lmm_block_freeze(c, name), 0);
                                        e->frozen = true;
                                        e->maybe_frozen = false;
                                } else if (e->frozen) {
                                        cr_assert(info->seals & F_SEAL_FUTURE_WRITE,
                                                  "%s lost its freeze", name);
                                        cr_assert(info->flags & LMM_BLOCK_FROZEN);
                                } else
                                        cr_assert_eq(info->flags & LMM_BLOCK_FROZEN, 0,
                                                     "%s frozen, never asked", name);
                                cr_assert((info->seals & (F_SEAL_SHRINK | F_SEAL_GROW)) ==
                                          (F_SEAL_SHRINK | F_SEAL_GROW));
                                cr_assert_eq(lmm_segment_open(c, name, LMM_OPEN_RDONLY, &seg), 0);
                                cr_assert_geq(lmm_segment_map(seg, LMM_MAP_RDONLY, (void **) &p),
                                              0);
                                memcpy(&head, p, sizeof(head));
                                memcpy(&tail, p + e->size - sizeof(tail), sizeof(tail));
                                cr_assert_eq(head, e->pattern, "%s lost its data", name);
                                cr_assert_eq(tail, e->pattern, "%s lost its data", name);
                                lmm_segment_unref(seg);
                                st->present_checked++;
                                break;
                        }
                        }
                }
        expect_store_is_lmmd(s, c);
}

static void pause_workers(void) {
        atomic_store(&paused, true);
        while (atomic_load(&n_paused) < WORKERS)
                usleep(200);
}

/* count() - how many times @what occurs in @text. */
static unsigned count(const char *text, const char *what) {
        unsigned n = 0;

        for (const char *p = text; (p = strstr(p, what)); p++)
                n++;
        return n;
}

Test(restart, sigkill_at_any_point_loses_no_acknowledged_block, .timeout = 240) {
        int log_fd = log_new();
        fdstore *s = store_start(NULL, log_fd);
        _cleanup_free_ char *log = NULL;
        lmm_client *c = connect_to(s);
        static worker workers[WORKERS];
        unsigned kills[3] = {}, triggered[3] = {};
        uint64_t rng = 0x5eed;
        chaos_stats st = {};
        uint64_t t0 = now_usec();

        atomic_store(&paused, true);
        atomic_store(&quit, false);
        atomic_store(&n_paused, 0);
        for (unsigned i = 0; i < WORKERS; i++) {
                workers[i] = (worker){ .index = i, .sock = fdstore_socket(s), .rng = 1000 + i };
                cr_assert_eq(pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]), 0);
        }
        pause_workers();

        for (unsigned round = 0; round < ROUNDS; round++) {
                unsigned mode = round % 3, n = fdstore_starts(s);

                atomic_store(&paused, false);
                if (mode == 0) {
                        /* Anywhere: between a create and its reply, in a freeze, in a release. */
                        usleep((useconds_t) (2000 + splitmix64(&rng) % 20000));
                        cr_assert_eq(fdstore_kill(s), 0);
                } else
                        /* Right after a block went into the store, or came out of it. */
                        fdstore_kill_on(s, mode == 1 ? "FDSTORE=1" : "FDSTOREREMOVE=1",
                                        (unsigned) (1 + splitmix64(&rng) % 6));
                if (fdstore_wait_ready(s, n + 1, 3000) < 0) {
                        /* No such notification came: kill it anyway. */
                        (void) fdstore_killed_on(s);
                        cr_assert_eq(fdstore_kill(s), 0);
                        cr_assert_eq(fdstore_wait_ready(s, n + 1, 10000), 0);
                } else if (mode > 0)
                        triggered[mode] += fdstore_killed_on(s);
                kills[mode]++;
                /* The clients find the new lmmd on their own. */
                usleep(5000);
                pause_workers();
                for (unsigned i = 0; i < WORKERS; i++)
                        cr_assert_eq(workers[i].failure[0], 0, "worker %u: %s", i,
                                     workers[i].failure);
                verify(s, c, workers, &st);
        }
        atomic_store(&quit, true);
        for (unsigned i = 0; i < WORKERS; i++)
                pthread_join(workers[i].thread, NULL);
        log = log_text(log_fd);
        cr_log_info("%u rounds in %.1f s: %u kills at random, %u right after a store (%u "
                    "triggered), %u right after a removal (%u triggered); unanswered creates "
                    "done %u, not done %u; unanswered releases done %u, not done %u; unanswered "
                    "freezes %u; %u acknowledged blocks checked whole; %u records without their "
                    "fd repaired",
                    ROUNDS, (double) (now_usec() - t0) / 1e6, kills[0], kills[1], triggered[1],
                    kills[2], triggered[2], st.maybe_created_there, st.maybe_created_gone,
                    st.maybe_released_gone, st.maybe_released_there, st.maybe_frozen,
                    st.present_checked, count(log, "no valid fd in the store"));
        /* Nothing else may be dropped: every other record and fd matched. */
        cr_assert_eq(count(log, "lmmd: restart: ") - count(log, "no valid fd in the store"), ROUNDS,
                     "%s", log);
        lmm_client_unref(c);
        fdstore_free(s);
        close(log_fd);
}

/* ---------------------------------------------------------------- what survives */

static int other_uid_makes_blocks(void *arg) {
        const char *sock = arg;
        lmm_client *c = NULL;
        lmm_segment *a = NULL, *b = NULL;
        char *p;

        if (lmm_client_connect(sock, &c) < 0 ||
            lmm_segment_create(c, &(lmm_segment_opts){ .name = "mine", .size = 4096 }, &a) < 0 ||
            lmm_segment_create(c,
                               &(lmm_segment_opts){ .name = "shared",
                                                    .size = 8192,
                                                    .flags = LMM_CREATE_OTHERS_WRITE },
                               &b) < 0 ||
            lmm_segment_map(a, 0, (void **) &p) < 0)
                return 1;
        strcpy(p, "uid 12345's own");
        if (lmm_segment_map(b, 0, (void **) &p) < 0)
                return 2;
        strcpy(p, "uid 12345 shares");
        lmm_segment_unref(a);
        lmm_segment_unref(b);
        lmm_client_unref(c);
        return 0;
}

static int third_uid_finds_what_it_may(void *arg) {
        const char *sock = arg;
        lmm_client *c = NULL;
        lmm_segment *seg = NULL;
        const char *p;

        if (lmm_client_connect(sock, &c) < 0)
                return 1;
        /* Not shared with it, before as after the restart: as if it did not exist. */
        if (lmm_segment_open(c, "12345/mine", LMM_OPEN_RDONLY, &seg) != -ENOENT)
                return 2;
        if (lmm_segment_open(c, "ro", 0, &seg) != -EACCES)
                return 3;
        if (lmm_segment_open(c, "12345/shared", 0, &seg) < 0 ||
            lmm_segment_map(seg, 0, (void **) &p) != 0 || strcmp(p, "uid 12345 shares") != 0)
                return 4;
        lmm_segment_unref(seg);
        lmm_client_unref(c);
        return 0;
}

Test(restart, names_ids_memory_seals_owners_and_access_survive, .timeout = 60) {
        static const char *const args[] = { "--allow-uid", "12345", "--allow-uid", "12346", NULL };
        _cleanup_free_ lmm_block_info *before = NULL, *after = NULL;
        lmm_segment *seg, *scoped, *unnamed, *adopted;
        size_t n_before, n_after;
        lmm_block_info info;
        fdstore *s;
        lmm_client *c;
        int memfd;

        need_root();
        s = store_start(args, -1);
        c = connect_to(s);
        seg = create(c, "plain", 4096, 0);
        put_text(seg, "plain data");
        lmm_segment_unref(seg);
        seg = create(c, "frozen", 4096, 0);
        put_text(seg, "frozen data");
        cr_assert_eq(lmm_block_freeze(c, "frozen"), 0);
        lmm_segment_unref(seg);
        seg = create(c, "ro", 4096, LMM_CREATE_OTHERS_READ);
        put_text(seg, "read-only for others");
        lmm_segment_unref(seg);
        unnamed = create(c, NULL, 4096, 0);
        memfd = memfd_create("mine", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        cr_assert_geq(memfd, 0);
        cr_assert_eq(ftruncate(memfd, 12288), 0);
        cr_assert_eq(pwrite(memfd, "adopted data", 13, 0), 13);
        cr_assert_eq(lmm_segment_adopt(c, memfd, "adopted", 0, &adopted), 0);
        close(memfd);
        lmm_segment_unref(adopted);
        /* Gone with its connection: it must not come back. */
        scoped = create(c, "scoped", 4096, LMM_CREATE_SCOPE_CONNECTION);
        cr_assert_eq(as_uid(OTHER, other_uid_makes_blocks, (void *) fdstore_socket(s)), 0);
        list(c, &before, &n_before);
        cr_assert_eq(n_before, 8);

        restart(s);
        list(c, &after, &n_after);
        cr_assert_eq(n_after, n_before - 1, "%zu blocks before, %zu after", n_before, n_after);
        cr_assert_null(find_info(after, n_after, "scoped"), "a connection-scoped block came back");
        for (size_t i = 0; i < n_before; i++) {
                const lmm_block_info *a = find_info(after, n_after, before[i].name),
                                     *b = &before[i];

                if (strcmp(b->name, "scoped") == 0)
                        continue;
                cr_assert_not_null(a, "%s is gone", b->name);
                cr_assert_eq(a->id, b->id, "%s: id %" PRIu64 ", was %" PRIu64, b->name, a->id,
                             b->id);
                cr_assert_eq(a->size, b->size);
                cr_assert_eq(a->seals, b->seals, "%s: seals 0x%x, were 0x%x", b->name, a->seals,
                             b->seals);
                cr_assert_eq(a->flags, b->flags, "%s: flags 0x%x, were 0x%x", b->name, a->flags,
                             b->flags);
                cr_assert_eq(a->owner_uid, b->owner_uid);
                cr_assert_eq(a->owner_pid, b->owner_pid);
                cr_assert_eq(a->device, b->device);
                cr_assert_eq(a->inode, b->inode, "%s is other memory", b->name);
        }
        expect_text(c, "plain", "plain data");
        expect_text(c, "frozen", "frozen data");
        expect_text(c, "adopted", "adopted data");
        expect_text(c, "12345/mine", "uid 12345's own");
        cr_assert(find_info(after, n_after, "frozen")->flags & LMM_BLOCK_FROZEN);
        cr_assert(find_info(after, n_after, "adopted")->flags & LMM_BLOCK_ADOPTED);
        cr_assert_eq(find_info(after, n_after, "mine")->owner_uid, OTHER);
        cr_assert_eq(as_uid(THIRD, third_uid_finds_what_it_may, (void *) fdstore_socket(s)), 0);

        /* No id and no made-up name is given twice. */
        cr_assert_eq(lmm_block_release(c, lmm_segment_get_name(unnamed)), 0);
        seg = create(c, "newer", 4096, 0);
        cr_assert_eq(lmm_block_stat(c, "newer", &info), 0);
        for (size_t i = 0; i < n_before; i++)
                cr_assert_gt(info.id, before[i].id, "id %" PRIu64 " given again", info.id);
        lmm_segment_unref(seg);
        seg = create(c, NULL, 4096, 0);
        cr_assert_str_neq(lmm_segment_get_name(seg), lmm_segment_get_name(unnamed));
        cr_assert_gt(strcmp(lmm_segment_get_name(seg), lmm_segment_get_name(unnamed)), 0);
        lmm_segment_unref(seg);
        expect_store_is_lmmd(s, c);

        lmm_segment_unref(unnamed);
        lmm_segment_unref(scoped);
        lmm_client_unref(c);
        fdstore_free(s);
}

Test(restart, a_shutdown_empties_the_store) {
        fdstore *s = store_start(NULL, -1);
        lmm_client *c = connect_to(s);
        _cleanup_free_ fdstore_entry *e = NULL;

        for (int i = 0; i < 5; i++) {
                char name[16];

                snprintf(name, sizeof(name), "b%d", i);
                lmm_segment_unref(create(c, name, 4096, 0));
        }
        expect_store_is_lmmd(s, c);
        cr_assert_eq(lmm_client_shutdown_manager(c), 0);
        cr_assert_eq(fdstore_wait_dead(s, 10000), 0, "lmmd exits 0");
        fdstore_sync(s);
        cr_assert_eq(fdstore_list(s, &e), 0, "the store still holds %s", e[0].name);
        free(TAKE_PTR(e));

        /* The next start begins empty. */
        cr_assert_eq(fdstore_restart(s, 10000), 0);
        lmm_block_info *b = NULL;
        size_t n = 1;
        cr_assert_eq(lmm_block_list(c, &b, &n), 0);
        cr_assert_eq(n, 0);
        free(b);
        cr_assert_eq(fdstore_stop(s, 10000), 0, "SIGTERM is a clean shutdown");
        fdstore_sync(s);
        cr_assert_eq(fdstore_list(s, &e), 0, "SIGTERM left %s in the store", e[0].name);
        lmm_client_unref(c);
        fdstore_free(s);
}

/* ---------------------------------------------------------------- what a restart refuses */

/* state_copy() - a new memfd sealed like the state, holding @len bytes of @fd's from 0. */
static int state_copy(int fd, size_t len) {
        uint8_t *buf = calloc(1, len ? len : 1);
        int copy = memfd_create("lmmd-state", MFD_CLOEXEC | MFD_ALLOW_SEALING);

        cr_assert_not_null(buf);
        cr_assert_geq(copy, 0);
        cr_assert_eq(pread(fd, buf, len, 0), (ssize_t) len);
        cr_assert_eq(pwrite(copy, buf, len, 0), (ssize_t) len);
        cr_assert_eq(fcntl(copy, F_ADD_SEALS, F_SEAL_SHRINK), 0);
        free(buf);
        return copy;
}

/* killed_held() - lmmd with @n blocks "k0".."k{n-1}", killed and not yet started again. */
static fdstore *killed_held(int log_fd, unsigned n, lmm_client **ret) {
        fdstore *s = store_start(NULL, log_fd);
        lmm_client *c = connect_to(s);

        for (unsigned i = 0; i < n; i++) {
                char name[16], text[16];
                lmm_segment *seg;

                snprintf(name, sizeof(name), "k%u", i);
                snprintf(text, sizeof(text), "data %u", i);
                seg = create(c, name, 4096, 0);
                put_text(seg, text);
                lmm_segment_unref(seg);
        }
        fdstore_sync(s);
        fdstore_hold(s, true);
        cr_assert_eq(fdstore_kill(s), 0);
        cr_assert_geq(fdstore_wait_dead(s, 10000), 0);
        fdstore_hold(s, false);
        *ret = c;
        return s;
}

static size_t n_blocks(lmm_client *c) {
        _cleanup_free_ lmm_block_info *b = NULL;
        size_t n;

        list(c, &b, &n);
        return n;
}

Test(restart, a_truncated_state_starts_lmmd_empty_with_a_clear_line) {
        int log_fd = log_new();
        lmm_client *c;
        fdstore *s = killed_held(log_fd, 3, &c);
        int st = fdstore_take(s, "state");
        _cleanup_free_ char *log = NULL;

        cr_assert_geq(st, 0);
        fdstore_put(s, "state", state_copy(st, 100));
        close(st);
        cr_assert_eq(fdstore_restart(s, 10000), 0);
        cr_assert_eq(n_blocks(c), 0);
        log = log_text(log_fd);
        cr_assert_not_null(strstr(log, "lmmd: restart: the state handed over is refused: "
                                       "truncated: 100 bytes, less than a header (256); "
                                       "starting empty, 3 stored blocks dropped"),
                           "%s", log);
        /* The blocks left the store too, and the next state replaced the refused one. */
        expect_store_is_lmmd(s, c);
        lmm_segment_unref(create(c, "k0", 4096, 0));
        expect_store_is_lmmd(s, c);
        lmm_client_unref(c);
        fdstore_free(s);
        close(log_fd);
}

Test(restart, a_state_with_a_bad_header_is_refused_whole) {
        static const struct {
                size_t offset;
                uint8_t value;
                const char *why;
        } damage[] = {
                { 0, 'L', "not an lmmd state (no \"lmmstate\" magic)" },
                { 8, 2, "format version 2, this lmmd reads 1" },
                { 30, 0x40, "the header's checksum does not match its bytes" },
        };

        for (size_t i = 0; i < ELEMENTSOF(damage); i++) {
                int log_fd = log_new();
                lmm_client *c;
                fdstore *s = killed_held(log_fd, 2, &c);
                int st = fdstore_take(s, "state");
                _cleanup_free_ char *log = NULL;

                cr_assert_eq(pwrite(st, &damage[i].value, 1, (off_t) damage[i].offset), 1);
                fdstore_put(s, "state", st);
                cr_assert_eq(fdstore_restart(s, 10000), 0);
                cr_assert_eq(n_blocks(c), 0);
                log = log_text(log_fd);
                cr_assert_not_null(strstr(log, damage[i].why), "%s", log);
                cr_assert_not_null(strstr(log, "starting empty, 2 stored blocks dropped"));
                expect_store_is_lmmd(s, c);
                lmm_client_unref(c);
                fdstore_free(s);
                close(log_fd);
        }
}

/* slot_of() - the slot index that holds block @name in the state @fd. */
static uint64_t slot_of(int fd, const char *name) {
        uint8_t rec[STATE_RECORD_SIZE];
        struct stat sb;

        cr_assert_eq(fstat(fd, &sb), 0);
        for (uint64_t i = 0;; i++) {
                state_slot s;

                cr_assert_lt(state_slot_offset(i), (uint64_t) sb.st_size, "%s has no slot", name);
                cr_assert_eq(pread(fd, rec, sizeof(rec), (off_t) state_slot_offset(i)),
                             (ssize_t) sizeof(rec));
                if (state_slot_decode(rec, &s, NULL, 0) == 1 && strcmp(s.name, name) == 0)
                        return i;
        }
}

Test(restart, a_torn_slot_drops_its_block_alone) {
        int log_fd = log_new();
        lmm_client *c;
        fdstore *s = killed_held(log_fd, 3, &c);
        int st = fdstore_take(s, "state");
        _cleanup_free_ char *log = NULL;
        uint64_t slot = slot_of(st, "k1");
        uint8_t junk[40];

        /* What a write cut short leaves: the first bytes new, the rest old. */
        memset(junk, 0x5a, sizeof(junk));
        cr_assert_eq(pwrite(st, junk, sizeof(junk), (off_t) state_slot_offset(slot)),
                     (ssize_t) sizeof(junk));
        fdstore_put(s, "state", st);
        cr_assert_eq(fdstore_restart(s, 10000), 0);
        cr_assert_eq(n_blocks(c), 2);
        expect_text(c, "k0", "data 0");
        expect_text(c, "k2", "data 2");
        cr_assert_eq(lmm_block_stat(c, "k1", &(lmm_block_info){}), -ENOENT);
        log = log_text(log_fd);
        cr_assert_not_null(
                strstr(log, "its checksum does not match its bytes (a write cut short?)"), "%s",
                log);
        cr_assert_not_null(strstr(log, "stored block b2 has no record in the state: closed and "
                                       "removed from the store"),
                           "%s", log);
        cr_assert_not_null(strstr(log, "restored 2 blocks"), "%s", log);
        expect_store_is_lmmd(s, c);
        lmm_client_unref(c);
        fdstore_free(s);
        close(log_fd);
}

Test(restart, strays_and_other_memory_in_the_store_are_dropped) {
        int log_fd = log_new();
        lmm_client *c;
        fdstore *s = killed_held(log_fd, 4, &c);
        _cleanup_free_ char *log = NULL;
        int b1, b2, other, devnull;

        /* b1 and b2 swapped: each name on the other's memory. */
        b1 = fdstore_take(s, "b1");
        b2 = fdstore_take(s, "b2");
        cr_assert(b1 >= 0 && b2 >= 0);
        fdstore_put(s, "b1", b2);
        fdstore_put(s, "b2", b1);
        /* b3 replaced by memory of the same size that is not the block. */
        other = memfd_create("impostor", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        cr_assert_eq(ftruncate(other, 4096), 0);
        cr_assert_eq(fcntl(other, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW), 0);
        close(fdstore_take(s, "b3"));
        fdstore_put(s, "b3", other);
        /* A block nobody recorded, and something lmmd never stores. */
        other = memfd_create("stray", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        cr_assert_eq(ftruncate(other, 4096), 0);
        fdstore_put(s, "b999", other);
        devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
        fdstore_put(s, "x-unknown", devnull);

        cr_assert_eq(fdstore_restart(s, 10000), 0);
        cr_assert_eq(n_blocks(c), 1, "only k3 (b4) is itself");
        expect_text(c, "k3", "data 3");
        log = log_text(log_fd);
        cr_assert_not_null(strstr(log, "block 1 \"k0\" of uid 0: its fd is other memory"), "%s",
                           log);
        cr_assert_not_null(strstr(log, "block 2 \"k1\" of uid 0: its fd is other memory"), "%s",
                           log);
        cr_assert_not_null(strstr(log, "block 3 \"k2\" of uid 0: its fd is other memory"), "%s",
                           log);
        cr_assert_not_null(strstr(log, "stored block b999 has no record in the state"), "%s", log);
        cr_assert_not_null(strstr(log, "an fd named \"x-unknown\" that lmmd does not know"), "%s",
                           log);
        expect_store_is_lmmd(s, c);
        lmm_client_unref(c);
        fdstore_free(s);
        close(log_fd);
}

Test(restart, blocks_without_a_state_are_dropped) {
        int log_fd = log_new();
        lmm_client *c;
        fdstore *s = killed_held(log_fd, 2, &c);
        _cleanup_free_ char *log = NULL;

        close(fdstore_take(s, "state"));
        cr_assert_eq(fdstore_restart(s, 10000), 0);
        cr_assert_eq(n_blocks(c), 0);
        log = log_text(log_fd);
        cr_assert_not_null(strstr(log, "2 blocks handed over without a state: nothing says whose "
                                       "they are; dropped"),
                           "%s", log);
        expect_store_is_lmmd(s, c);
        lmm_client_unref(c);
        fdstore_free(s);
        close(log_fd);
}

/* ---------------------------------------------------------------- clients reconnect */

typedef struct in_flight {
        lmm_client *c;
        int (*call)(lmm_client *c);
        int result;
} in_flight;

static int stat_a(lmm_client *c) {
        return lmm_block_stat(c, "a", &(lmm_block_info){});
}

static int create_b(lmm_client *c) {
        lmm_segment *seg = NULL;
        int r = lmm_segment_create(c, &(lmm_segment_opts){ .name = "b", .size = 4096 }, &seg);

        lmm_segment_unref(seg);
        return r;
}

static int release_a(lmm_client *c) {
        return lmm_block_release(c, "a");
}

static void *run_in_flight(void *arg) {
        in_flight *f = arg;

        f->result = f->call(f->c);
        return NULL;
}

/* killed_mid_call() - @call's request waits in a stopped lmmd, which is then killed. Return: its result. */
static int killed_mid_call(fdstore *s, lmm_client *c, int (*call)(lmm_client *c)) {
        in_flight f = { .c = c, .call = call };
        unsigned n = fdstore_starts(s);
        pthread_t t;

        cr_assert_eq(kill(fdstore_pid(s), SIGSTOP), 0);
        cr_assert_eq(pthread_create(&t, NULL, run_in_flight, &f), 0);
        usleep(100000); /* the request is in lmmd's socket, unread */
        cr_assert_eq(fdstore_kill(s), 0);
        cr_assert_eq(fdstore_wait_ready(s, n + 1, 10000), 0);
        pthread_join(t, NULL);
        return f.result;
}

Test(restart, clients_reconnect_and_send_again_only_what_is_safe) {
        fdstore *s = store_start(NULL, -1);
        lmm_client *c = connect_to(s);
        lmm_block_info info;
        int fd;

        lmm_segment_unref(create(c, "a", 4096, 0));
        fd = lmm_client_get_fd(c);

        /* Idle when lmmd died: the next call connects again, under the same fd. */
        restart(s);
        cr_assert_eq(lmm_block_stat(c, "a", &info), 0);
        cr_assert_eq(lmm_client_get_fd(c), fd);

        /* In flight when it died: a stat goes out again; a create, a release do not. */
        cr_assert_eq(killed_mid_call(s, c, stat_a), 0);
        cr_assert_eq(killed_mid_call(s, c, create_b), -ECONNRESET);
        cr_assert_eq(lmm_block_stat(c, "b", &info), -ENOENT, "lmmd never read the create");
        cr_assert_eq(killed_mid_call(s, c, release_a), -ECONNRESET);
        cr_assert_eq(lmm_block_stat(c, "a", &info), 0, "lmmd never read the release");

        /* Nothing listens: the error of a manager that has gone. */
        fdstore_hold(s, true);
        cr_assert_eq(fdstore_stop(s, 10000), 0);
        lmm_client_unref(c);
        fdstore_free(s);
}

static void on_stat(lmm_client *c, int error, const lmm_block_info *info, void *userdata) {
        *(int *) userdata = error;
}

Test(restart, asynchronous_calls_fail_and_the_next_one_connects_again) {
        fdstore *s = store_start(NULL, -1);
        lmm_client *c = connect_to(s);
        int fd, result = 1, r;

        lmm_segment_unref(create(c, "a", 4096, 0));
        fd = lmm_client_get_fd(c);
        cr_assert_eq(kill(fdstore_pid(s), SIGSTOP), 0);
        cr_assert_eq(lmm_block_stat_async(c, "a", on_stat, &result), 0);
        restart(s);
        do
                r = lmm_client_process(c);
        while (r >= 0 && result == 1 && lmm_client_wait(c, 5000000) >= 0);
        cr_assert_eq(result, -ECONNRESET, "the handler saw %d", result);
        result = 1;
        cr_assert_eq(lmm_block_stat_async(c, "a", on_stat, &result), 0);
        cr_assert_eq(lmm_client_get_fd(c), fd, "a poll() set stays right");
        while (result == 1 && lmm_client_wait(c, 5000000) > 0)
                (void) lmm_client_process(c);
        cr_assert_eq(result, 0);
        lmm_client_unref(c);
        fdstore_free(s);
}

/* ---------------------------------------------------------------- re-execution */

typedef struct knocker {
        pthread_t thread;
        const char *sock;
        atomic_bool stop;
        atomic_uint answered;
        unsigned connects, refused, calls, failed;
        int first_error;
} knocker;

/* A client that connects again and again, and asks each time. */
static void *knock(void *arg) {
        knocker *k = arg;

        while (!atomic_load(&k->stop)) {
                lmm_client *c = NULL;
                int r = lmm_client_connect(k->sock, &c);

                k->connects++;
                if (r < 0) {
                        k->refused++;
                        k->first_error = k->first_error ?: r;
                        continue;
                }
                r = lmm_block_stat(c, "kept", &(lmm_block_info){});
                k->calls++;
                if (r < 0) {
                        k->failed++;
                        k->first_error = k->first_error ?: r;
                } else
                        atomic_fetch_add(&k->answered, 1);
                lmm_client_unref(c);
        }
        return NULL;
}

static void reexec_and_wait(harness_lmmd *h, bool by_signal, const char *log_line, int log_fd,
                            unsigned nth) {
        const char *argv[] = { harness_getenv("LMMCTL"), "--socket", h->sock, "reexec", NULL };
        char out[256], err[512];

        if (by_signal)
                cr_assert_eq(kill(h->pid, SIGHUP), 0);
        else
                cr_assert_eq(harness_run(argv, NULL, out, sizeof(out), err, sizeof(err)), 0, "%s",
                             err);
        /* Done once the new program says what it restored. */
        for (int i = 0; i < 1000; i++) {
                _cleanup_free_ char *log = log_text(log_fd);
                unsigned seen = 0;

                for (const char *p = log; (p = strstr(p, log_line)); p++)
                        seen++;
                if (seen >= nth)
                        return;
                usleep(5000);
        }
        cr_assert_fail("lmmd did not say \"%s\" %u times", log_line, nth);
}

Test(restart, reexec_keeps_every_block_and_never_refuses_a_connection, .timeout = 60) {
        static const char *const args[] = { "--verbose", NULL };
        int log_fd = log_new();
        harness_lmmd h;
        knocker k = {};
        lmm_client *c = NULL;
        lmm_segment *seg, *scoped;
        _cleanup_free_ lmm_block_info *before = NULL, *after = NULL;
        size_t n_before, n_after;
        int fds_before;

        cr_assert_eq(harness_lmmd_start_logged(&h, args, log_fd), 0);
        cr_assert_eq(lmm_client_connect(h.sock, &c), 0);
        seg = create(c, "kept", 4096, 0);
        put_text(seg, "kept data");
        lmm_segment_unref(seg);
        seg = create(c, "frozen", 8192, LMM_CREATE_OTHERS_READ);
        put_text(seg, "frozen data");
        cr_assert_eq(lmm_block_freeze(c, "frozen"), 0);
        lmm_segment_unref(seg);
        scoped = create(c, "scoped", 4096, LMM_CREATE_SCOPE_CONNECTION);
        list(c, &before, &n_before);
        fds_before = harness_settled_fds(h.pid);

        k.sock = h.sock;
        cr_assert_eq(pthread_create(&k.thread, NULL, knock, &k), 0);
        for (unsigned i = 1; i <= 10; i++) {
                unsigned answered;

                reexec_and_wait(&h, i % 2 == 0, "restart: restored 2 blocks", log_fd, i);
                /* The next one only once the new program has answered the client (its
                 * calls come one after the other): a call is sent again once, so two
                 * re-executions within one call would fail it. */
                answered = atomic_load(&k.answered);
                for (int w = 0; w < 2000 && atomic_load(&k.answered) == answered; w++)
                        usleep(5000);
        }
        atomic_store(&k.stop, true);
        pthread_join(k.thread, NULL);
        cr_log_info("during 10 re-executions: %u connects, %u refused, %u calls, %u failed",
                    k.connects, k.refused, k.calls, k.failed);
        cr_assert_eq(k.refused, 0, "a connect failed: %s", strerror(-k.first_error));
        cr_assert_eq(k.failed, 0, "a call failed: %s", strerror(-k.first_error));
        cr_assert_gt(k.connects, 10);

        /* The same process, the same blocks; the scoped one went with its connection. */
        cr_assert_eq(kill(h.pid, 0), 0);
        list(c, &after, &n_after);
        cr_assert_eq(n_after, n_before - 1);
        for (size_t i = 0; i < n_after; i++) {
                const lmm_block_info *b = find_info(before, n_before, after[i].name);

                cr_assert_not_null(b);
                cr_assert_eq(after[i].id, b->id);
                cr_assert_eq(after[i].inode, b->inode);
                cr_assert_eq(after[i].seals, b->seals);
                cr_assert_eq(after[i].flags, b->flags);
        }
        expect_text(c, "kept", "kept data");
        expect_text(c, "frozen", "frozen data");
        /* Nothing leaked across ten executions: one fd less, the scoped block's (c is
         * connected again, as before). */
        cr_assert_eq(harness_settled_fds(h.pid), fds_before - 1, "lmmd holds %d fds, held %d",
                     harness_settled_fds(h.pid), fds_before);

        lmm_segment_unref(scoped);
        lmm_client_unref(c);
        cr_assert_eq(harness_lmmd_stop(&h), 0);
        cr_assert_eq(access(h.sock, F_OK), -1, "the socket file went at shutdown");
        close(log_fd);
}

static void copy_file(const char *from, const char *to) {
        const char *argv[] = { "/bin/cp", from, to, NULL };

        cr_assert_eq(harness_run(argv, NULL, NULL, 0, NULL, 0), 0);
}

Test(restart, reexec_runs_the_binary_now_at_its_path, .timeout = 60) {
        char dir[] = "/tmp/lmm-upgrade-XXXXXX", bin[64], next[64], exe[64];
        int log_fd = log_new();
        lmm_client *c = NULL;
        struct stat st, ran;
        harness_lmmd h;
        _cleanup_free_ char *log = NULL;

        cr_assert_not_null(mkdtemp(dir));
        snprintf(bin, sizeof(bin), "%s/lmmd", dir);
        snprintf(next, sizeof(next), "%s/lmmd.next", dir);
        copy_file(harness_getenv("LMMD"), bin);
        cr_assert_eq(setenv("LMMD", bin, 1), 0);
        cr_assert_eq(
                harness_lmmd_start_logged(&h, (const char *const[]){ "--verbose", NULL }, log_fd),
                0);
        cr_assert_eq(lmm_client_connect(h.sock, &c), 0);
        lmm_segment_unref(create(c, "kept", 4096, 0));

        /* An upgrade: a new file at the same path. */
        copy_file(bin, next);
        cr_assert_eq(rename(next, bin), 0);
        cr_assert_eq(stat(bin, &st), 0);
        snprintf(exe, sizeof(exe), "/proc/%d/exe", (int) h.pid);
        cr_assert_eq(stat(exe, &ran), 0);
        cr_assert_neq(ran.st_ino, st.st_ino);
        reexec_and_wait(&h, false, "restart: restored 1 blocks", log_fd, 1);
        cr_assert_eq(stat(exe, &ran), 0);
        cr_assert_eq(ran.st_ino, st.st_ino, "the old binary still runs");
        cr_assert_eq(lmm_block_stat(c, "kept", &(lmm_block_info){}), 0);

        /* Removed, not replaced: the running binary goes on. */
        cr_assert_eq(unlink(bin), 0);
        reexec_and_wait(&h, true, "restart: restored 1 blocks", log_fd, 2);
        log = log_text(log_fd);
        cr_assert_not_null(strstr(log, "is gone; re-executing the running binary"), "%s", log);
        cr_assert_eq(lmm_block_stat(c, "kept", &(lmm_block_info){}), 0);

        lmm_client_unref(c);
        cr_assert_eq(harness_lmmd_stop(&h), 0);
        rmdir(dir);
        close(log_fd);
}

static int ask_reexec(void *arg) {
        lmm_client *c = NULL;
        int r;

        if (lmm_client_connect(arg, &c) < 0)
                return 1;
        r = lmm_client_reexec_manager(c);
        if (r != -EPERM ||
            strcmp(lmm_client_last_error(c) ?: "", "only uid 0 may re-execute this manager") != 0)
                return 2;
        lmm_client_unref(c);
        return 0;
}

Test(restart, reexec_is_for_the_manager_uid_and_lmmd_only) {
        static const char *const args[] = { "--allow-uid", "12345", NULL };
        lmm_server *smm = NULL;
        harness_lmmd h;

        need_root();
        cr_assert_eq(harness_lmmd_start(&h, args), 0);
        cr_assert_eq(chmod(h.dir, 0755), 0);
        cr_assert_eq(as_uid(OTHER, ask_reexec, h.sock), 0);
        cr_assert_eq(harness_lmmd_stop(&h), 0);

        /* A manager embedded in a program keeps no restart state. */
        cr_assert_eq(lmm_server_start(NULL, &smm), 0);
        cr_assert_eq(lmm_client_reexec_manager(lmm_server_get_client(smm)), -EOPNOTSUPP);
        cr_assert_str_eq(lmm_client_last_error(lmm_server_get_client(smm)),
                         "this manager cannot re-execute itself: it keeps no restart state "
                         "(only lmmd does)");
        lmm_server_unref(smm);
}

/* cloexec_memfds() - how many of @pid's memfds past stdio are close-on-exec, and how many it has. */
static int cloexec_memfds(pid_t pid, int *ret_total) {
        char path[64], link[256], line[256];
        int n = 0, total = 0;

        for (int fd = 3; fd < 4096; fd++) {
                FILE *f;
                ssize_t k;

                snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int) pid, fd);
                k = readlink(path, link, sizeof(link) - 1);
                if (k < 0)
                        continue;
                link[k] = 0;
                if (strncmp(link, "/memfd:", 7) != 0)
                        continue;
                total++;
                snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", (int) pid, fd);
                f = fopen(path, "re");
                cr_assert_not_null(f);
                while (fgets(line, sizeof(line), f)) {
                        unsigned long flags;

                        if (sscanf(line, "flags: %lo", &flags) == 1 && (flags & O_CLOEXEC))
                                n++;
                }
                fclose(f);
        }
        *ret_total = total;
        return n;
}

Test(restart, a_reexec_that_fails_serves_on, .timeout = 60) {
        char dir[] = "/tmp/lmm-upgrade-XXXXXX", bin[64];
        int log_fd = log_new(), total, n_cloexec, fd;
        lmm_client *c = NULL;
        harness_lmmd h;
        _cleanup_free_ char *log = NULL;
        const char *argv[4] = { harness_getenv("LMMCTL"), "--socket", NULL, "reexec" };
        const char *full[5];
        char out[256], err[512];

        _cleanup_free_ char *built = strdup(harness_getenv("LMMD"));

        cr_assert_not_null(mkdtemp(dir));
        snprintf(bin, sizeof(bin), "%s/lmmd", dir);
        copy_file(built, bin);
        cr_assert_eq(setenv("LMMD", bin, 1), 0);
        cr_assert_eq(
                harness_lmmd_start_logged(&h, (const char *const[]){ "--verbose", NULL }, log_fd),
                0);
        cr_assert_eq(lmm_client_connect(h.sock, &c), 0);
        lmm_segment_unref(create(c, "kept", 4096, 0));
        fd = lmm_client_get_fd(c);

        /* What is at the path now cannot be executed. */
        cr_assert_eq(unlink(bin), 0);
        copy_file("/etc/hostname", bin);
        cr_assert_eq(chmod(bin, 0644), 0);
        argv[2] = h.sock;
        memcpy(full, argv, sizeof(argv));
        full[4] = NULL;
        cr_assert_eq(harness_run(full, NULL, out, sizeof(out), err, sizeof(err)), 0, "%s", err);
        for (int i = 0; i < 1000; i++) {
                free(log);
                log = log_text(log_fd);
                if (strstr(log, "serving on"))
                        break;
                usleep(5000);
        }
        cr_assert_not_null(strstr(log, ": Permission denied; serving on"), "%s", log);

        /* The same connection goes on, and every fd is close-on-exec again. */
        cr_assert_eq(lmm_block_stat(c, "kept", &(lmm_block_info){}), 0);
        cr_assert_eq(lmm_client_get_fd(c), fd);
        n_cloexec = cloexec_memfds(h.pid, &total);
        cr_assert_eq(total, 2, "the block and the state: %d", total);
        cr_assert_eq(n_cloexec, total, "%d of %d memfds close-on-exec", n_cloexec, total);

        /* A binary there again: the next one works, with the same blocks. */
        cr_assert_eq(unlink(bin), 0);
        copy_file(built, bin);
        reexec_and_wait(&h, true, "restart: restored 1 blocks", log_fd, 1);
        cr_assert_eq(lmm_block_stat(c, "kept", &(lmm_block_info){}), 0);
        lmm_client_unref(c);
        cr_assert_eq(harness_lmmd_stop(&h), 0);
        unlink(bin);
        rmdir(dir);
        close(log_fd);
}

/* A re-executed lmmd removes at shutdown the socket file it bound, and no
 * other: should its directory have gone and a link to another manager's
 * directory been put in its place meanwhile, that manager's socket stays. */
Test(restart, after_a_reexec_shutdown_removes_only_the_socket_file_it_bound, .timeout = 60) {
        static const char *const args[] = { "--verbose", NULL };
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        char moved[300], other[] = "/tmp/lmm-other-XXXXXX", other_sock[64], moved_sock[320];
        int log_fd = log_new(), other_fd;
        lmm_client *c = NULL;
        harness_lmmd h;

        cr_assert_eq(harness_lmmd_start_logged(&h, args, log_fd), 0);
        cr_assert_eq(lmm_client_connect(h.sock, &c), 0);
        lmm_segment_unref(create(c, "kept", 4096, 0));
        lmm_client_unref(c);

        /* Another manager's socket, in a directory of its own. */
        cr_assert_not_null(mkdtemp(other));
        snprintf(other_sock, sizeof(other_sock), "%s/lmmd.sock", other);
        memcpy(sa.sun_path, other_sock, strlen(other_sock) + 1);
        other_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        cr_assert_eq(bind(other_fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        cr_assert_eq(listen(other_fd, 4), 0);

        /* lmmd's directory goes away, and a link to the other takes its name. */
        snprintf(moved, sizeof(moved), "%s.moved", h.dir);
        cr_assert_eq(rename(h.dir, moved), 0);
        cr_assert_eq(symlink(other, h.dir), 0);
        reexec_and_wait(&h, true, "restart: restored 1 blocks", log_fd, 1);

        cr_assert_eq(kill(h.pid, SIGTERM), 0);
        cr_assert_eq(harness_wait_exit(h.pid, 10000), 0);
        cr_assert_eq(access(other_sock, F_OK), 0, "the other manager's socket is still there");

        close(other_fd);
        unlink(other_sock);
        rmdir(other);
        unlink(h.dir);
        snprintf(moved_sock, sizeof(moved_sock), "%s/lmmd.sock", moved);
        unlink(moved_sock);
        rmdir(moved);
        close(log_fd);
}

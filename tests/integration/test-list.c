/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Integration tests of the shareable list against the built lmmd: a list
 * created in one process and opened by name in another, read-only opens,
 * writers and readers hammering one item from several processes (no torn
 * reads allowed), and blocks that do not hold a list.
 */

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"
#include "harness.h"
#include "lmm.h"

static uint64_t now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

/* Wait until item @i is an int equal to @want. */
static bool wait_int(lmm_list *l, size_t i, int64_t want, int timeout_ms) {
        uint64_t end = now_ms() + (uint64_t) timeout_ms;
        lmm_item v;

        do {
                if (lmm_list_get(l, i, &v, NULL, 0) == 0 && v.type == LMM_ITEM_INT && v.i == want)
                        return true;
                usleep(1000);
        } while (now_ms() < end);
        return false;
}

TestSuite(list, .init = fixture_lmmd_start, .fini = fixture_lmmd_stop, .timeout = 60);

Test(list, child_opens_by_name_and_both_see_writes) {
        const lmm_item items[] = {
                lmm_item_int(0),
                lmm_item_int(0),
                lmm_item_with_capacity(lmm_item_str("héllo ✓"), 32),
                lmm_item_bytes("a\0\0", 3),
        };
        lmm_client *c;
        lmm_list *l;
        char buf[64];
        lmm_item v;
        pid_t pid;

        c = fixture_client();
        cr_assert_eq(lmm_list_create(c, "shared", items, 4, 0, &l), 0);
        cr_assert_str_eq(lmm_list_get_name(l), "shared");
        cr_assert_eq(lmm_list_len(l), 4);
        cr_assert(lmm_list_is_writable(l));

        pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
                lmm_client *cc;
                lmm_list *cl;
                lmm_item w = lmm_item_int(17), s = lmm_item_strn("child\0\0", 7);

                if (lmm_client_connect(fixture_lmmd.sock, &cc) < 0 ||
                    lmm_list_open(cc, "shared", 0, &cl) < 0)
                        _exit(10);
                if (lmm_list_len(cl) != 4 || lmm_list_get(cl, 2, &v, buf, sizeof(buf)) < 0 ||
                    v.buf.len != strlen("héllo ✓") || memcmp(buf, "héllo ✓", v.buf.len) != 0)
                        _exit(11);
                if (lmm_list_get(cl, 3, &v, buf, sizeof(buf)) < 0 || v.buf.len != 3)
                        _exit(12);
                if (lmm_list_set(cl, 2, &s) < 0 || lmm_list_set(cl, 0, &w) < 0)
                        _exit(13);
                if (!wait_int(cl, 1, 42, 10000))
                        _exit(14);
                lmm_list_unref(cl);
                lmm_client_unref(cc);
                _exit(0);
        }

        cr_assert(wait_int(l, 0, 17, 10000), "the child's write is visible");
        cr_assert_eq(lmm_list_get(l, 2, &v, buf, sizeof(buf)), 0);
        cr_assert_eq(v.type, LMM_ITEM_STR);
        cr_assert_eq(v.buf.len, 7, "trailing NULs kept across processes");
        cr_assert_eq(memcmp(buf, "child\0\0", 7), 0);
        v = lmm_item_int(42);
        cr_assert_eq(lmm_list_set(l, 1, &v), 0);
        cr_assert_eq(harness_wait_exit(pid, 10000), 0, "child saw the parent's write");

        v = lmm_item_int(17);
        size_t idx;
        cr_assert_eq(lmm_list_index(l, &v, &idx), 0);
        cr_assert_eq(idx, 0);
        cr_assert_eq(lmm_list_count(l, &v), 1);

        lmm_list_unref(l);
        lmm_client_unref(c);
}

Test(list, read_only_and_frozen_lists_refuse_set) {
        const lmm_item items[] = { lmm_item_int(1), lmm_item_str("ro") };
        lmm_client *c;
        lmm_list *l, *ro, *frozen;
        lmm_item v = lmm_item_int(2);

        c = fixture_client();
        cr_assert_eq(lmm_list_create(c, "ro", items, 2, 0, &l), 0);

        cr_assert_eq(lmm_list_open(c, "ro", LMM_OPEN_RDONLY, &ro), 0);
        cr_assert_not(lmm_list_is_writable(ro));
        cr_assert_eq(lmm_list_set(ro, 0, &v), -EROFS);
        cr_assert_eq(lmm_list_set(l, 0, &v), 0);
        cr_assert(wait_int(ro, 0, 2, 1000), "a read-only list sees writes");

        /* Frozen (F_SEAL_FUTURE_WRITE): a new open maps read-only. */
        cr_assert_eq(lmm_block_freeze(c, "ro"), 0);
        cr_assert_eq(lmm_list_open(c, "ro", 0, &frozen), 0);
        cr_assert_not(lmm_list_is_writable(frozen));
        cr_assert_eq(lmm_list_set(frozen, 0, &v), -EROFS);
        /* The creator's writable mapping keeps working (kernel semantics of the seal). */
        v = lmm_item_int(3);
        cr_assert_eq(lmm_list_set(l, 0, &v), 0);
        cr_assert(wait_int(frozen, 0, 3, 1000));

        lmm_list_unref(frozen);
        lmm_list_unref(ro);
        lmm_list_unref(l);
        lmm_client_unref(c);
}

Test(list, worker_gets_list_from_fd) {
        const lmm_item items[] = { lmm_item_double(0.25) };
        lmm_client *c;
        lmm_list *l, *w;
        lmm_segment *s;
        lmm_item v;

        c = fixture_client();
        cr_assert_eq(lmm_list_create(c, NULL, items, 1, LMM_CREATE_SCOPE_CONNECTION, &l), 0);
        cr_assert_not_null(lmm_list_get_name(l), "the manager names it");
        int fd = fcntl(lmm_segment_get_fd(lmm_list_get_segment(l)), F_DUPFD_CLOEXEC, 3);
        cr_assert_geq(fd, 0);
        cr_assert_eq(lmm_segment_from_fd(fd, "passed", &s), 0);
        cr_assert_eq(lmm_list_from_segment(s, &w), 0);
        cr_assert_eq(lmm_list_get(w, 0, &v, NULL, 0), 0);
        cr_assert_eq(v.d, 0.25);
        lmm_list_unref(w);
        lmm_list_unref(l);
        lmm_client_unref(c);
}

Test(list, block_without_a_list_is_refused) {
        lmm_client *c;
        lmm_segment *s;
        lmm_list *l = NULL;
        uint8_t *p;

        c = fixture_client();
        cr_assert_eq(lmm_list_open(c, "nothing", 0, &l), -ENOENT);

        /* Zeroes: created, never laid out. */
        cr_assert_eq(lmm_segment_create(c, &(lmm_segment_opts){ .size = 4096, .name = "zero" }, &s),
                     0);
        lmm_segment_unref(s);
        cr_assert_eq(lmm_list_open(c, "zero", 0, &l), -EBADMSG);

        /* Garbage. */
        cr_assert_eq(lmm_segment_create(c, &(lmm_segment_opts){ .size = 4096, .name = "junk" }, &s),
                     0);
        cr_assert_eq(lmm_segment_map(s, 0, (void **) &p), 0);
        for (int i = 0; i < 4096; i++)
                p[i] = (uint8_t) (i * 131 + 7);
        lmm_segment_unref(s);
        cr_assert_eq(lmm_list_open(c, "junk", 0, &l), -EBADMSG);

        /* A valid list whose header another process then made hostile. */
        const lmm_item items[] = { lmm_item_int(1), lmm_item_str("x") };
        lmm_list *good;
        cr_assert_eq(lmm_list_create(c, "hostile", items, 2, 0, &good), 0);
        p = lmm_segment_get_data(lmm_list_get_segment(good));
        uint64_t big = UINT64_MAX / 3;
        memcpy(p + 16, &big, 8); /* count */
        cr_assert_eq(lmm_list_open(c, "hostile", 0, &l), -EBADMSG);
        /* The list opened before keeps its own copy of the header. */
        lmm_item v;
        cr_assert_eq(lmm_list_get(good, 0, &v, NULL, 0), 0);
        cr_assert_eq(lmm_list_get(good, 2, &v, NULL, 0), -ERANGE);
        cr_assert_null(l);
        lmm_list_unref(good);
        lmm_client_unref(c);
}

/* ---- hammering: writers in child processes, the reader here ---- */

#define SLOT 4096
static char val_a[3000], val_b[SLOT];
static const char val_d[] = "✓✓✓✓✓✓✓✓✓✓✓✓✓✓✓✓✓✓✓✓✓✓✓✓✓✓✓✓✓✓"; /* 90 bytes */
#define VAL_C INT64_C(0x0123456789abcdef)

static void values_init(void) {
        memset(val_a, 'a', sizeof(val_a));
        memset(val_b, 0xbb, sizeof(val_b));
        memset(val_b + SLOT - 16, 0, 16); /* trailing NULs */
}

static pid_t start_writer(const char *name, const lmm_item *x, const lmm_item *y, int run_ms,
                          int pipe_w) {
        pid_t pid = fork();

        cr_assert_geq(pid, 0);
        if (pid == 0) {
                lmm_client *c;
                lmm_list *l;
                uint64_t n = 0, end;

                if (lmm_client_connect(fixture_lmmd.sock, &c) < 0 ||
                    lmm_list_open(c, name, 0, &l) < 0)
                        _exit(10);
                end = now_ms() + (uint64_t) run_ms;
                while (now_ms() < end)
                        for (int k = 0; k < 256; k++, n++) {
                                if (lmm_list_set(l, 0, n % 2 ? y : x) < 0)
                                        _exit(11);
                                /* Give each value a stable moment, so the reader
                                 * sees both and not only the one whose set()
                                 * spends longer before taking the lock. */
                                for (volatile int s = 0; s < 200; s++)
                                        ;
                        }
                if (write(pipe_w, &n, sizeof(n)) != sizeof(n))
                        _exit(12);
                _exit(0);
        }
        return pid;
}

static int classify(const lmm_item *v) {
        if (v->type == LMM_ITEM_STR && v->buf.len == sizeof(val_a) &&
            memcmp(v->buf.data, val_a, sizeof(val_a)) == 0)
                return 0;
        if (v->type == LMM_ITEM_BYTES && v->buf.len == SLOT &&
            memcmp(v->buf.data, val_b, SLOT) == 0)
                return 1;
        if (v->type == LMM_ITEM_INT && v->i == VAL_C)
                return 2;
        if (v->type == LMM_ITEM_STR && v->buf.len == strlen(val_d) &&
            memcmp(v->buf.data, val_d, v->buf.len) == 0)
                return 3;
        return -1;
}

static void hammer(int n_writers, int run_ms) {
        lmm_item a, b, cc, d, items[1];
        lmm_client *c;
        lmm_list *l;
        static char buf[SLOT + 1];
        uint64_t reads = 0, torn = 0, seen[4] = {}, writes = 0, changes = 0, end;
        int prev = -2;
        pid_t pids[2];
        int p[2];

        values_init();
        a = lmm_item_strn(val_a, sizeof(val_a));
        b = lmm_item_bytes(val_b, SLOT);
        cc = lmm_item_int(VAL_C);
        d = lmm_item_str(val_d);
        items[0] = lmm_item_with_capacity(a, SLOT);
        c = fixture_client();
        cr_assert_eq(lmm_list_create(c, "hammer", items, 1, 0, &l), 0);
        cr_assert_eq(pipe2(p, O_CLOEXEC), 0);

        pids[0] = start_writer("hammer", &a, &b, run_ms, p[1]);
        if (n_writers > 1)
                pids[1] = start_writer("hammer", &cc, &d, run_ms, p[1]);
        close(p[1]);

        end = now_ms() + (uint64_t) run_ms;
        while (now_ms() < end) {
                lmm_item v;
                int r = lmm_list_get(l, 0, &v, buf, sizeof(buf));

                /* A torn item can also surface as a failed get (a STR type over
                 * bytes that are not UTF-8): count it as torn as well. */
                cr_assert(r == 0 || r == -EBADMSG, "get: %s", strerror(-r));
                int k = r < 0 ? -1 : classify(&v);
                if (k < 0)
                        torn++;
                else
                        seen[k]++;
                changes += k != prev && prev != -2;
                prev = k;
                reads++;
        }
        for (int i = 0; i < n_writers; i++) {
                uint64_t n;
                cr_assert_eq(harness_wait_exit(pids[i], 10000), 0);
                cr_assert_eq(read(p[0], &n, sizeof(n)), (ssize_t) sizeof(n));
                writes += n;
        }
        close(p[0]);

        fprintf(stderr,
                "list hammer (%d writer%s, %d ms): %llu writes, %llu reads (A %llu, B %llu, C "
                "%llu, D %llu), %llu changes seen, %llu torn\n",
                n_writers, n_writers > 1 ? "s" : "", run_ms, (unsigned long long) writes,
                (unsigned long long) reads, (unsigned long long) seen[0],
                (unsigned long long) seen[1], (unsigned long long) seen[2],
                (unsigned long long) seen[3], (unsigned long long) changes,
                (unsigned long long) torn);
        cr_assert_eq(torn, 0, "%llu torn reads", (unsigned long long) torn);
        /* The reader must have run while the value changed under it, or the
         * test proved nothing. */
        cr_assert_gt(changes, 0, "the reader never saw the item change");

        lmm_list_unref(l);
        lmm_client_unref(c);
}

Test(list, one_writer_one_reader_no_torn_reads) {
        hammer(1, 1500);
}

Test(list, two_writers_one_reader_no_torn_reads) {
        hammer(2, 1500);
}

static double elapsed_ns(const struct timespec *a, const struct timespec *z) {
        return (double) (z->tv_sec - a->tv_sec) * 1e9 + (double) (z->tv_nsec - a->tv_nsec);
}

/* gh-83072 through the public API on a real block: reported, not asserted. */
Test(list, large_list_timings) {
        const size_t n = 100000, reps = 200000;
        lmm_item *items = calloc(n, sizeof(*items));
        struct timespec a, z;
        double t_create, t_open, t_first, t_last, t_set, t_set_str;
        lmm_client *c;
        lmm_list *l, *o;
        char buf[32];
        lmm_item v;

        for (size_t i = 0; i < n; i++)
                items[i] = i % 2 ? lmm_item_int((int64_t) i) : lmm_item_str("mixed");
        c = fixture_client();
        clock_gettime(CLOCK_MONOTONIC, &a);
        cr_assert_eq(lmm_list_create(c, "big", items, n, 0, &l), 0);
        clock_gettime(CLOCK_MONOTONIC, &z);
        t_create = elapsed_ns(&a, &z);
        clock_gettime(CLOCK_MONOTONIC, &a);
        cr_assert_eq(lmm_list_open(c, "big", 0, &o), 0);
        clock_gettime(CLOCK_MONOTONIC, &z);
        t_open = elapsed_ns(&a, &z);

        for (size_t k = 0; k < reps; k++) /* warm up */
                (void) lmm_list_get(o, 0, &v, buf, sizeof(buf));
        clock_gettime(CLOCK_MONOTONIC, &a);
        for (size_t k = 0; k < reps; k++)
                cr_assert_eq(lmm_list_get(o, 0, &v, buf, sizeof(buf)), 0);
        clock_gettime(CLOCK_MONOTONIC, &z);
        t_first = elapsed_ns(&a, &z) / (double) reps;
        clock_gettime(CLOCK_MONOTONIC, &a);
        for (size_t k = 0; k < reps; k++)
                cr_assert_eq(lmm_list_get(o, n - 1, &v, buf, sizeof(buf)), 0);
        clock_gettime(CLOCK_MONOTONIC, &z);
        t_last = elapsed_ns(&a, &z) / (double) reps;
        v = lmm_item_int(7);
        clock_gettime(CLOCK_MONOTONIC, &a);
        for (size_t k = 0; k < reps; k++)
                cr_assert_eq(lmm_list_set(o, n - 1, &v), 0);
        clock_gettime(CLOCK_MONOTONIC, &z);
        t_set = elapsed_ns(&a, &z) / (double) reps;
        v = lmm_item_str("héllo"); /* 6 bytes, UTF-8 checked */
        clock_gettime(CLOCK_MONOTONIC, &a);
        for (size_t k = 0; k < reps; k++)
                cr_assert_eq(lmm_list_set(o, n - 2, &v), 0);
        clock_gettime(CLOCK_MONOTONIC, &z);
        t_set_str = elapsed_ns(&a, &z) / (double) reps;

        fprintf(stderr,
                "list via lmmd, %zu items: create %.2f ms, open (validates all) %.2f ms; get(0) "
                "str %.1f ns, "
                "get(n-1) int %.1f ns, set int %.1f ns, set str %.1f ns\n",
                n, t_create / 1e6, t_open / 1e6, t_first, t_last, t_set, t_set_str);
        cr_assert_eq(lmm_list_get(l, n - 2, &v, buf, sizeof(buf)), 0);
        cr_assert_str_eq(buf, "héllo");
        lmm_list_unref(o);
        lmm_list_unref(l);
        lmm_client_unref(c);
        free(items);
}

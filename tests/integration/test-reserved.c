/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-reserved — the ABI promise of lmm.h's structs (docs/abi.md), kept at
 * every entry point: an options struct whose reserved space is not zero, as
 * a program built against a newer lmm.h leaves it when it uses a field this
 * library does not know, is refused with -EINVAL before anything happens
 * (no request reaches the manager, no process is forked, no initializer
 * runs); and the library zeroes the reserved space of every struct it fills
 * in, so that a later version's field reads as "not set" here.
 */

#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lmm.h"

/* A program built against a newer lmm.h that took a slot of each reserved
 * array for a field of its own (docs/abi.md: the size stays the same). */
typedef struct newer_segment_opts {
        uint64_t size;
        const char *name;
        uint32_t flags;
        uint64_t lifetime_usec; /* was reserved_[0] */
        uint64_t reserved_[7];
        void *reserved_ptr_[8];
} newer_segment_opts;
_Static_assert(sizeof(newer_segment_opts) == sizeof(lmm_segment_opts), "same size");

typedef struct newer_manager_opts {
        const uid_t *allow_uids;
        size_t n_allow_uids;
        const gid_t *allow_gids;
        size_t n_allow_gids;
        uint64_t max_bytes_per_uid;
        uint32_t max_blocks_per_uid;
        uint32_t max_conns_per_uid;
        uint64_t reserved_[8];
        lmm_log_func log; /* was reserved_ptr_[0] */
        void *reserved_ptr_[7];
} newer_manager_opts;
_Static_assert(sizeof(newer_manager_opts) == sizeof(lmm_manager_opts), "same size");

static lmm_server *smm;
static lmm_client *c;

static void setup(void) {
        cr_assert_eq(lmm_server_start(NULL, &smm), 0);
        c = lmm_server_get_client(smm);
}

static void teardown(void) {
        smm = lmm_server_unref(smm);
}

TestSuite(reserved, .timeout = 60);

static size_t n_blocks(void) {
        lmm_block_info *b = NULL;
        size_t n = 0;

        cr_assert_eq(lmm_block_list(c, &b, &n), 0);
        free(b);
        return n;
}

#define ELEMENTS(a) (sizeof(a) / sizeof((a)[0]))

/* Run @body with each slot of @o's reserved space in turn set to @x. */
#define FOR_EACH_RESERVED_SLOT(o, x, body)                                    \
        do {                                                                  \
                for (size_t _i = 0; _i < ELEMENTS((o).reserved_); _i++) {     \
                        (o).reserved_[_i] = (x);                              \
                        body;                                                 \
                        (o).reserved_[_i] = 0;                                \
                }                                                             \
                for (size_t _i = 0; _i < ELEMENTS((o).reserved_ptr_); _i++) { \
                        (o).reserved_ptr_[_i] = (void *) (uintptr_t) (x);     \
                        body;                                                 \
                        (o).reserved_ptr_[_i] = NULL;                         \
                }                                                             \
        } while (0)

Test(reserved, segment_create_refuses_a_field_it_does_not_know, .init = setup, .fini = teardown) {
        newer_segment_opts newer = { .size = 4096, .name = "newer", .lifetime_usec = 1000000 };
        lmm_segment_opts o = { .size = 4096, .name = "slot" };
        lmm_segment *s = NULL;

        cr_assert_eq(lmm_segment_create(c, (const lmm_segment_opts *) &newer, &s), -EINVAL);
        cr_assert_null(s);
        /* The library refused it itself: the manager was never asked. */
        cr_assert_null(lmm_client_last_error(c));

        FOR_EACH_RESERVED_SLOT(o, 1, {
                cr_assert_eq(lmm_segment_create(c, &o, &s), -EINVAL, "slot %zu", _i);
                cr_assert_null(s);
        });
        cr_assert_eq(n_blocks(), 0);

        /* Zero reserved space, as every designated initialiser leaves it, works. */
        cr_assert_eq(lmm_segment_create(c, &o, &s), 0);
        cr_assert_eq(n_blocks(), 1);
        lmm_segment_unref(s);
}

static void never_called(lmm_client *cl, int error, lmm_segment *s, void *userdata) {
        cr_assert_fail("the handler of a refused call ran (error %d)", error);
}

Test(reserved, segment_create_async_refuses_it_and_never_calls_back, .init = setup,
     .fini = teardown) {
        lmm_segment_opts o = { .size = 4096, .name = "async" };

        FOR_EACH_RESERVED_SLOT(o, UINT64_MAX, {
                cr_assert_eq(lmm_segment_create_async(c, &o, never_called, NULL), -EINVAL);
                cr_assert_eq(lmm_client_get_n_pending(c), 0);
        });
        cr_assert_eq(lmm_client_process(c), 0);
        cr_assert_eq(n_blocks(), 0);
}

Test(reserved, list_create_passes_zero_reserved_space) {
        lmm_list *l = NULL;
        lmm_item items[] = { lmm_item_int(7) };

        /* lmm_list_create() builds its lmm_segment_opts itself: it must not
         * trip over the check. */
        setup();
        cr_assert_eq(lmm_list_create(c, "list", items, 1, 0, &l), 0);
        lmm_list_unref(l);
        teardown();
}

Test(reserved, manager_new_refuses_a_field_it_does_not_know) {
        newer_manager_opts newer = { .log = NULL };
        lmm_manager_opts o = { .max_blocks_per_uid = 3 };
        lmm_manager *m = NULL;

        /* A log callback a newer header added, here as a pointer slot. */
        newer.log = (lmm_log_func) (uintptr_t) 1;
        cr_assert_eq(lmm_manager_new((const lmm_manager_opts *) &newer, &m), -EINVAL);
        cr_assert_null(m);

        FOR_EACH_RESERVED_SLOT(o, 1, {
                cr_assert_eq(lmm_manager_new(&o, &m), -EINVAL, "slot %zu", _i);
                cr_assert_null(m);
        });
        cr_assert_eq(lmm_manager_new(&o, &m), 0);
        lmm_manager_free(m);
}

static int init_ran(void *initargs) {
        /* Runs in the forked manager: leave a trace the test can see. */
        FILE *f = fopen(initargs, "we");

        if (f)
                fclose(f);
        return 0;
}

/* No manager was forked: this process has no child at all. */
static void assert_no_child(void) {
        cr_assert_eq(waitpid(-1, NULL, WNOHANG), -1);
        cr_assert_eq(errno, ECHILD);
}

Test(reserved, server_start_refuses_it_before_forking) {
        char trace[] = "/tmp/lmm-reserved-XXXXXX";
        lmm_server_opts o = { .initializer = init_ran, .initargs = trace };
        lmm_manager_opts mo = {};
        lmm_server *s = NULL;
        int fd;

        fd = mkstemp(trace);
        cr_assert_geq(fd, 0);
        close(fd);
        cr_assert_eq(unlink(trace), 0);

        FOR_EACH_RESERVED_SLOT(o, 1, {
                cr_assert_eq(lmm_server_start(&o, &s), -EINVAL, "slot %zu", _i);
                cr_assert_null(s);
                assert_no_child();
        });

        /* The manager's options it passes on are checked here too, before
         * the initializer could run in a child. */
        o.manager = &mo;
        FOR_EACH_RESERVED_SLOT(mo, 1, {
                cr_assert_eq(lmm_server_start(&o, &s), -EINVAL, "manager slot %zu", _i);
                cr_assert_null(s);
                assert_no_child();
        });
        cr_assert_eq(access(trace, F_OK), -1, "the initializer ran");

        cr_assert_eq(lmm_server_start(&o, &s), 0);
        cr_assert_eq(access(trace, F_OK), 0, "the initializer did not run");
        unlink(trace);
        lmm_server_unref(s);
}

static void assert_zero(const void *p, size_t n, const char *what) {
        const unsigned char *b = p;

        for (size_t i = 0; i < n; i++)
                cr_assert_eq(b[i], 0, "%s: byte %zu of the reserved space is 0x%02x", what, i,
                             b[i]);
}

static void stat_done(lmm_client *cl, int error, const lmm_block_info *info, void *userdata) {
        cr_assert_eq(error, 0);
        assert_zero(info->reserved_, sizeof(info->reserved_), "lmm_block_stat_async()");
        *(bool *) userdata = true;
}

Test(reserved, outputs_come_with_their_reserved_space_zeroed, .init = setup, .fini = teardown) {
        lmm_segment *a = NULL, *b = NULL;
        lmm_block_info info, *list = NULL;
        bool done = false;
        size_t n = 0;

        cr_assert_eq(lmm_segment_create(c, &(lmm_segment_opts){ .size = 4096, .name = "a" }, &a),
                     0);
        cr_assert_eq(lmm_segment_create(c, &(lmm_segment_opts){ .size = 8192, .name = "b" }, &b),
                     0);

        memset(&info, 0xa5, sizeof(info));
        cr_assert_eq(lmm_block_stat(c, "a", &info), 0);
        assert_zero(info.reserved_, sizeof(info.reserved_), "lmm_block_stat()");

        cr_assert_eq(lmm_block_list(c, &list, &n), 0);
        cr_assert_eq(n, 2);
        for (size_t i = 0; i < n; i++)
                assert_zero(list[i].reserved_, sizeof(list[i].reserved_), "lmm_block_list()");
        free(list);

        cr_assert_eq(lmm_block_stat_async(c, "b", stat_done, &done), 0);
        while (!done) {
                cr_assert_geq(lmm_client_wait(c, UINT64_MAX), 0);
                cr_assert_geq(lmm_client_process(c), 0);
        }

        lmm_segment_unref(a);
        lmm_segment_unref(b);
}

Test(reserved, manager_stats_come_with_their_reserved_space_zeroed) {
        lmm_manager *m = NULL;
        lmm_manager_stats st;

        cr_assert_eq(lmm_manager_new(NULL, &m), 0);
        memset(&st, 0xa5, sizeof(st));
        lmm_manager_get_stats(m, &st);
        cr_assert_eq(st.n_blocks, 0);
        assert_zero(st.reserved_, sizeof(st.reserved_), "lmm_manager_get_stats()");
        lmm_manager_free(m);
}

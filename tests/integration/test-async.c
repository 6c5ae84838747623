/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-async — the asynchronous client against a real lmmd, driven the way
 * a service's own loop drives it (poll the fd for its events, process):
 * many creates in flight complete in order; failures reach their handlers
 * with the manager's words; a blocking call made meanwhile, even inside a
 * handler, runs the handlers that come before it; calls started together
 * wait for the caller's loop and leave together; a handler may unref the client; calls in flight when
 * the client goes never run their handlers; a manager that dies fails them.
 */

#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "lmm.h"

TestSuite(async, .init = fixture_lmmd_start, .fini = fixture_lmmd_stop, .timeout = 60);

typedef struct tally {
        unsigned done, failed, next;
        bool out_of_order;
        int last_error;
        char last_text[256];
} tally;

static tally t;

static void on_segment(lmm_client *c, int error, lmm_segment *s, void *userdata) {
        unsigned i = (unsigned) (uintptr_t) userdata;
        char *p;

        if (i != t.next++)
                t.out_of_order = true;
        t.done++;
        if (error < 0) {
                t.failed++;
                t.last_error = error;
                snprintf(t.last_text, sizeof(t.last_text), "%s", lmm_client_last_error(c) ?: "");
                cr_assert_null(s);
                return;
        }
        /* A segment like any other: map it, write it (unless a call that
         * came later froze it already: the manager ran ahead of us). */
        if (lmm_segment_map(s, 0, (void **) &p) == 0)
                p[0] = (char) i;
        else
                cr_assert_not_null(lmm_segment_get_data(s));
        lmm_segment_unref(s);
}

/* drive() - what a service's loop does, until nothing is pending. */
static void drive(lmm_client *c) {
        while (lmm_client_get_n_pending(c) > 0) {
                struct pollfd p = { .fd = lmm_client_get_fd(c),
                                    .events = (short) lmm_client_get_events(c) };

                cr_assert_geq(poll(&p, 1, 10000), 1, "the manager never answered");
                cr_assert_geq(lmm_client_process(c), 0);
        }
}

Test(async, many_creates_in_flight_complete_in_order) {
        enum { N = 2000 };
        lmm_client *c = fixture_client();
        lmm_block_info *all = NULL;
        size_t n = 0;

        t = (tally){};
        for (unsigned i = 0; i < N; i++) {
                char name[32];

                snprintf(name, sizeof(name), "p%u", i);
                cr_assert_eq(lmm_segment_create_async(
                                     c, &(lmm_segment_opts){ .size = 4096, .name = name },
                                     on_segment, (void *) (uintptr_t) i),
                             0);
        }
        cr_assert_gt(lmm_client_get_n_pending(c), 0);
        drive(c);
        cr_assert_eq(t.done, N);
        cr_assert_eq(t.failed, 0, "%s", t.last_text);
        cr_assert_not(t.out_of_order);
        cr_assert_eq(lmm_block_list(c, &all, &n), 0);
        cr_assert_eq(n, N);
        free(all);
        lmm_client_unref(c);
}

static void on_stat(lmm_client *c, int error, const lmm_block_info *info, void *userdata) {
        lmm_block_info *out = userdata;

        cr_assert_eq(error, 0);
        *out = *info;
}

static void on_done(lmm_client *c, int error, void *userdata) {
        *(int *) userdata = error;
}

Test(async, failures_reach_their_handlers_with_the_managers_words) {
        lmm_client *c = fixture_client();
        lmm_block_info info = {};
        int frozen = 1, released = 1, gone = 1;

        t = (tally){};
        cr_assert_eq(lmm_segment_create_async(c, &(lmm_segment_opts){ .size = 4096, .name = "dup" },
                                              on_segment, (void *) 0),
                     0);
        cr_assert_eq(lmm_segment_create_async(c, &(lmm_segment_opts){ .size = 4096, .name = "dup" },
                                              on_segment, (void *) 1),
                     0);
        cr_assert_eq(lmm_block_freeze_async(c, "dup", on_done, &frozen), 0);
        cr_assert_eq(lmm_block_stat_async(c, "dup", on_stat, &info), 0);
        cr_assert_eq(lmm_block_release_async(c, "dup", on_done, &released), 0);
        cr_assert_eq(lmm_block_release_async(c, "dup", on_done, &gone), 0);
        /* The library's own refusals never start a call. */
        cr_assert_eq(lmm_segment_open_async(c, "a/b", 0, on_segment, NULL), -EINVAL);
        cr_assert_null(lmm_client_last_error(c));
        drive(c);

        cr_assert_eq(t.done, 2);
        cr_assert_eq(t.failed, 1);
        cr_assert_eq(t.last_error, -EEXIST);
        cr_assert_str_eq(t.last_text, "cannot create block \"dup\": the name is in use");
        cr_assert_eq(frozen, 0);
        cr_assert_str_eq(info.name, "dup");
        cr_assert(info.flags & LMM_BLOCK_FROZEN, "calls run in the order they were started");
        cr_assert_eq(released, 0);
        cr_assert_eq(gone, -ENOENT);
        lmm_client_unref(c);
}

Test(async, a_blocking_call_runs_the_handlers_before_it) {
        lmm_client *c = fixture_client();
        lmm_block_info info;

        t = (tally){};
        for (unsigned i = 0; i < 50; i++)
                cr_assert_eq(lmm_segment_create_async(c, &(lmm_segment_opts){ .size = 4096 },
                                                      on_segment, (void *) (uintptr_t) i),
                             0);
        /* The block made by the 50th create exists once this returns. */
        cr_assert_eq(lmm_block_stat(c, "lmm_0000000000000032", &info), 0);
        cr_assert_eq(t.done, 50);
        cr_assert_not(t.out_of_order);
        cr_assert_eq(lmm_client_get_n_pending(c), 0);
        lmm_client_unref(c);
}

/* The handler of call 3 makes a blocking call whose reply comes after
 * those of calls 4 to 39: replies the client read ahead, in one batch, are
 * handled in order inside it, and the rest after it. */
static lmm_block_info nested_info;
static int nested_result = 1;

static void stat_inside(lmm_client *c, int error, lmm_segment *s, void *userdata) {
        on_segment(c, error, s, userdata);
        if ((uintptr_t) userdata == 3) {
                nested_result = lmm_block_stat(c, "lmm_0000000000000028", &nested_info);
                cr_assert_eq(t.done, 40, "every handler before the blocking call's reply ran");
        }
}

Test(async, a_blocking_call_inside_a_handler_keeps_the_order) {
        lmm_client *c = fixture_client();

        t = (tally){};
        for (unsigned i = 0; i < 40; i++)
                cr_assert_eq(lmm_segment_create_async(c, &(lmm_segment_opts){ .size = 4096 },
                                                      stat_inside, (void *) (uintptr_t) i),
                             0);
        drive(c);
        cr_assert_eq(nested_result, 0, "the block of the 40th create: %s",
                     strerror(-nested_result));
        cr_assert_str_eq(nested_info.name, "lmm_0000000000000028");
        cr_assert_eq(t.done, 40);
        cr_assert_not(t.out_of_order);
        cr_assert_eq(lmm_client_get_n_pending(c), 0);
        lmm_client_unref(c);
}

/* Calls started while others are in flight wait for the caller's loop and
 * leave together: POLLOUT is asked for until lmm_client_process() sent them. */
Test(async, calls_started_together_leave_together) {
        lmm_client *c = fixture_client();

        t = (tally){};
        cr_assert_eq(lmm_segment_create_async(c, &(lmm_segment_opts){ .size = 4096 }, on_segment,
                                              (void *) 0),
                     0);
        cr_assert_eq(lmm_client_get_events(c), POLLIN, "the first goes out at once");
        for (unsigned i = 1; i < 10; i++)
                cr_assert_eq(lmm_segment_create_async(c, &(lmm_segment_opts){ .size = 4096 },
                                                      on_segment, (void *) (uintptr_t) i),
                             0);
        cr_assert_eq(lmm_client_get_events(c), POLLIN | POLLOUT, "the others wait to be sent");
        cr_assert_eq(lmm_client_wait(c, 0), 1, "and the fd says so at once");
        cr_assert_geq(lmm_client_process(c), 0);
        cr_assert_eq(lmm_client_get_events(c), POLLIN, "sent");
        drive(c);
        cr_assert_eq(t.done, 10);
        cr_assert_not(t.out_of_order);
        lmm_client_unref(c);
}

static void unref_in_handler(lmm_client *c, int error, lmm_segment *s, void *userdata) {
        lmm_segment_unref(s);
        lmm_client_unref(c); /* the caller's last reference */
        (*(unsigned *) userdata)++;
}

Test(async, a_handler_may_unref_the_client) {
        lmm_client *c = fixture_client();
        unsigned ran = 0;

        cr_assert_eq(lmm_segment_create_async(c, &(lmm_segment_opts){ .size = 4096 },
                                              unref_in_handler, &ran),
                     0);
        while (ran == 0) {
                cr_assert_eq(lmm_client_wait(c, 10000000), 1);
                cr_assert_geq(lmm_client_process(c), 0);
        }
        /* c is gone now; ASan would see a use after free in process(). */
}

static void never(lmm_client *c, int error, lmm_segment *s, void *userdata) {
        cr_assert_fail("a handler ran after its client was unref'd");
}

Test(async, handlers_of_calls_in_flight_never_run_after_unref) {
        lmm_client *c = fixture_client();
        int fds = harness_count_fds(0);

        for (unsigned i = 0; i < 100; i++)
                cr_assert_eq(lmm_segment_create_async(c, &(lmm_segment_opts){ .size = 4096 }, never,
                                                      NULL),
                             0);
        lmm_client_unref(c);
        cr_assert_leq(harness_count_fds(0), fds - 1, "the client's fds are closed");
}

Test(async, a_manager_that_dies_fails_the_calls_in_flight) {
        lmm_client *c = fixture_client();
        int r;

        t = (tally){};
        cr_assert_eq(lmm_block_stat(c, "nothing", &(lmm_block_info){}), -ENOENT);
        kill(fixture_lmmd.pid, SIGSTOP);
        for (unsigned i = 0; i < 10; i++)
                cr_assert_eq(lmm_segment_create_async(c, &(lmm_segment_opts){ .size = 4096 },
                                                      on_segment, (void *) (uintptr_t) i),
                             0);
        harness_lmmd_kill(&fixture_lmmd);
        do
                r = lmm_client_process(c);
        while (r >= 0 && lmm_client_get_n_pending(c) > 0 && lmm_client_wait(c, 5000000) >= 0);
        cr_assert_eq(r, -ECONNRESET);
        cr_assert_eq(t.done, 10, "every handler ran");
        cr_assert_eq(t.failed, 10);
        cr_assert_not(t.out_of_order);
        lmm_client_unref(c);
}

static void unref_on_failure(lmm_client *c, int error, const lmm_block_info *info, void *userdata) {
        *(int *) userdata = error;
        lmm_client_unref(c); /* the caller's last reference, from inside another call's start */
}

static void record_error(lmm_client *c, int error, const lmm_block_info *info, void *userdata) {
        *(int *) userdata = error;
}

/* The manager is gone; starting a call finds out, completes the calls in
 * flight, and one of their handlers drops the client: the start must not
 * touch it afterwards (ASan would see a use after free). */
Test(async, a_handler_may_drop_the_client_while_another_call_starts) {
        lmm_client *c = fixture_client();
        int first = 1, second = 1, r;

        cr_assert_eq(lmm_block_stat_async(c, "nothing", unref_on_failure, &first), 0);
        harness_lmmd_kill(&fixture_lmmd);
        usleep(100000);
        r = lmm_block_stat_async(c, "nothing", record_error, &second);
        if (r == 0) /* the send went through before the kernel saw the close */
                while (first == 1 && lmm_client_wait(c, 5000000) > 0 && lmm_client_process(c) >= 0)
                        ;
        cr_assert_neq(first, 1, "the first call's handler ran");
        cr_assert_lt(first, 0);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-closer — fds closed off the calling thread by a pool that a close
 * waiting for ever cannot stop: the caller never waits, later closes go on
 * past a wedged one, one user's wedged closes leave the pool to the others,
 * every charge comes back, through closer_process() or closer_free(), and
 * no thread starts before there is something to close.
 * The close that waits is a real one: a TCP socket over 127.0.0.1 that
 * lingers with a full send queue (harness.h); closing the sink ends it.
 */

#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "closer.h"
#include "harness.h"
#include "user.h"
#include "util.h"

static user_registry reg;

/* hold() - keep @u's record alive while a test looks at it: a record that
 * holds nothing is freed (user.c). */
static user *hold(uid_t uid, user_charge *keep) {
        user *u = user_registry_get(&reg, uid);

        cr_assert_not_null(u);
        cr_assert_eq(user_charge_apply(&reg, keep, u, 0, 0, 1), QUOTA_NONE);
        return u;
}

static closer *cl;
static int sink = -EBADF;

static void setup(void) {
        user_registry_init(&reg, &(user_limits){ .max_conns = 10, .max_closing = 1000 });
        cr_assert_eq(closer_new(&cl), 0);
        sink = harness_tcp_sink();
        cr_assert_geq(sink, 0, "no TCP sink on 127.0.0.1: %s", strerror(-sink));
}

static void teardown(void) {
        sink = safe_close(sink); /* ends every linger */
        cl = closer_free(cl);
        user_registry_done(&reg); /* asserts that every charge came back */
}

TestSuite(closer, .init = setup, .fini = teardown, .timeout = 30);

static int lingering(int linger_sec) {
        int fd = harness_lingering_socket(sink, linger_sec);

        cr_assert_geq(fd, 0, "no lingering socket: %s", strerror(-fd));
        return fd;
}

static int count_threads(void) {
        DIR *d = opendir("/proc/self/task");
        int n = 0;

        cr_assert_not_null(d);
        while (readdir(d))
                n++;
        closedir(d);
        return n - 2; /* . and .. */
}

/* dispose() - hand @fd to the closer, one pending close charged to @u (NULL: to nobody). */
static void dispose(int fd, user *u) {
        user_charge c = {};

        if (u)
                user_charge_closing(&c, u, 1);
        closer_dispose(cl, fd, &c);
        cr_assert_null(c.user, "the closer took the charge");
}

/* settle() - wait until no more than @left fds wait or are being closed, then account. */
static void settle(unsigned left) {
        for (int i = 0; i < 2000 && closer_pending(cl) > left; i++)
                usleep(1000);
        cr_assert_eq(closer_pending(cl), left, "%u fds still wait to be closed, want %u",
                     closer_pending(cl), left);
        (void) closer_process(cl);
}

Test(closer, closes_off_this_thread_and_gives_charges_back) {
        user_charge keep = {};
        user *u = hold(1000, &keep);
        int before = harness_count_fds(0);
        uint64_t t = now_usec();
        struct pollfd p = { .fd = closer_get_fd(cl), .events = POLLIN };

        dispose(lingering(5), u);
        cr_assert_lt(now_usec() - t, 100000, "closer_dispose() waited on the linger");
        for (int i = 0; i < 10; i++)
                dispose(open("/dev/null", O_RDONLY | O_CLOEXEC), u);
        settle(1);
        cr_assert_eq(harness_count_fds(0), before, "every fd but the lingering one is gone");
        cr_assert_eq(u->n_closing, 1, "one close still charged: the one that waits");

        sink = safe_close(sink);
        cr_assert_eq(poll(&p, 1, 2000), 1, "the closer says when closes are done");
        settle(0);
        cr_assert_eq(u->n_closing, 0);
        user_charge_release(&keep);
}

/* Wedged workers hold no fd; the supervisor starts others, and the fds behind go on. */
Test(closer, closes_go_on_behind_wedged_ones) {
        int before = harness_count_fds(0);

        for (int i = 0; i < 3; i++)
                dispose(lingering(5), NULL);
        for (int i = 0; i < 200; i++)
                dispose(open("/dev/null", O_RDONLY | O_CLOEXEC), NULL);
        settle(3);
        cr_assert_eq(harness_count_fds(0), before, "wedged closes hold no fd of ours");
}

/* A user's closes use a few workers at most: the rest of theirs wait, counted
 * against them, and other users' closes go on. */
Test(closer, one_user_cannot_wedge_the_pool) {
        user_charge keep_a = {}, keep_b = {};
        user *a = hold(1000, &keep_a), *b = hold(2000, &keep_b);
        int threads = count_threads();
        enum { MANY = 12 };

        for (int i = 0; i < MANY; i++)
                dispose(lingering(5), a);
        for (int i = 0; i < 20; i++)
                dispose(open("/dev/null", O_RDONLY | O_CLOEXEC), b);
        settle(MANY);
        cr_assert_eq(a->n_closing, MANY);
        cr_assert_eq(b->n_closing, 0, "another user's closes are done");
        /* The supervisor, 4 workers wedged by a (closer.c), and at most one more for b. */
        cr_assert_leq(count_threads(), threads + 6, "%d threads, were %d", count_threads(),
                      threads);

        sink = safe_close(sink);
        settle(0);
        cr_assert_eq(a->n_closing, 0);
        user_charge_release(&keep_a);
        user_charge_release(&keep_b);
}

/* A closer that is never given an fd starts no thread; the first fd starts
 * its supervisor, and that a worker, which closes it. */
Test(closer, no_thread_starts_before_the_first_fd) {
        int threads = count_threads(), before = harness_count_fds(0);
        closer *idle = NULL;

        cr_assert_eq(closer_new(&idle), 0);
        cr_assert_eq(count_threads(), threads, "a new closer runs no thread");
        idle = closer_free(idle);
        cr_assert_eq(count_threads(), threads, "nor does freeing one that never ran");

        dispose(open("/dev/null", O_RDONLY | O_CLOEXEC), NULL);
        settle(0);
        cr_assert_eq(harness_count_fds(0), before, "closed, on a thread of its own");
        cr_assert_geq(count_threads(), threads + 2, "the supervisor and a worker");
}

/* Freed with closes wedged, the closer gives every charge back at once; its
 * threads finish the closes later, and the last one frees it. */
Test(closer, free_gives_every_charge_back) {
        user_charge keep = {};
        user *u = hold(1000, &keep);

        for (int i = 0; i < 6; i++)
                dispose(lingering(5), u);
        dispose(open("/dev/null", O_RDONLY | O_CLOEXEC), u);
        cr_assert_gt(u->n_closing, 0);
        cl = closer_free(cl);
        cr_assert_eq(u->n_closing, 0);
        user_charge_release(&keep);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-client-api — what lmm.h promises of every lmm_client call, in real
 * processes: lmm_client_last_error() holds the manager's message for the
 * last call only, and is NULL when the library refused the call itself; a
 * client belongs to the process that made it, and in a forked child every
 * call fails with -ECHILD without touching the parent's stream.
 */

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "lmm.h"

static lmm_server *smm;
static lmm_client *c;

static void setup(void) {
        cr_assert_eq(lmm_server_start(NULL, &smm), 0);
        cr_assert_eq(lmm_client_connect(lmm_server_get_address(smm), &c), 0);
}

static void teardown(void) {
        c = lmm_client_unref(c);
        smm = lmm_server_unref(smm);
}

TestSuite(client_api, .init = setup, .fini = teardown, .timeout = 60);

/* Make the manager refuse something, so that there is a message to forget. */
static void manager_error(void) {
        lmm_segment *s = NULL;

        cr_assert_eq(lmm_segment_open(c, "no-such-block", 0, &s), -ENOENT);
        cr_assert_not_null(lmm_client_last_error(c));
}

Test(client_api, last_error_is_null_when_the_library_refuses_a_call) {
        lmm_segment *s = NULL;
        lmm_list *l = NULL;
        lmm_block_info info;
        lmm_item bad = { .type = (lmm_item_type) 99 };
        char name[LMM_NAME_MAX + 2];

        manager_error();
        cr_assert_eq(lmm_segment_create(c, &(lmm_segment_opts){ .size = UINT64_MAX }, &s), -EINVAL);
        cr_assert_null(lmm_client_last_error(c), "size 2^64-1: %s", lmm_client_last_error(c));

        manager_error();
        cr_assert_eq(lmm_segment_create(c, &(lmm_segment_opts){ .size = 0 }, &s), -EINVAL);
        cr_assert_null(lmm_client_last_error(c));

        manager_error();
        memset(name, 'x', sizeof(name) - 1);
        name[sizeof(name) - 1] = 0;
        cr_assert_eq(lmm_segment_open(c, name, 0, &s), -EINVAL);
        cr_assert_null(lmm_client_last_error(c));

        manager_error();
        cr_assert_eq(lmm_block_stat(c, "a/b", &info), -EINVAL);
        cr_assert_null(lmm_client_last_error(c));

        manager_error();
        cr_assert_eq(lmm_block_stat(c, "x", NULL), -EINVAL);
        cr_assert_null(lmm_client_last_error(c));

        manager_error();
        cr_assert_eq(lmm_block_release(c, NULL), -EINVAL);
        cr_assert_null(lmm_client_last_error(c));

        manager_error();
        cr_assert_eq(lmm_segment_adopt(c, -1, NULL, 0, &s), -EBADF);
        cr_assert_null(lmm_client_last_error(c));

        manager_error();
        cr_assert_eq(lmm_block_list(c, NULL, NULL), -EINVAL);
        cr_assert_null(lmm_client_last_error(c));

        manager_error();
        cr_assert_eq(lmm_list_create(c, NULL, &bad, 1, 0, &l), -EINVAL);
        cr_assert_null(lmm_client_last_error(c));

        manager_error();
        cr_assert_eq(lmm_list_open(c, "x", 0x80, &l), -EINVAL);
        cr_assert_null(lmm_client_last_error(c));

        /* And a call that succeeds has no message either. */
        manager_error();
        cr_assert_eq(lmm_segment_create(c, &(lmm_segment_opts){ .size = 4096 }, &s), 0);
        cr_assert_null(lmm_client_last_error(c));
        lmm_segment_unref(s);
}

Test(client_api, a_client_in_a_forked_child_fails_with_echild) {
        lmm_segment *s = NULL, *mine = NULL;
        lmm_block_info info;
        pid_t child;
        int fd, code;

        cr_assert_eq(lmm_segment_create(c, &(lmm_segment_opts){ .size = 4096, .name = "p" }, &s),
                     0);
        fd = memfd_create("lmm-test-adopt", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        cr_assert_geq(fd, 0);
        cr_assert_eq(ftruncate(fd, 4096), 0);
        manager_error();

        child = fork();
        cr_assert_geq(child, 0);
        if (child == 0) {
                lmm_block_info *all = NULL;
                lmm_segment *x = NULL;
                lmm_list *l = NULL;
                lmm_item one = lmm_item_int(1);
                size_t n = 0;
                int failed = 0;

#define EXPECT_ECHILD(call, k)                        \
        do {                                          \
                if ((call) != -ECHILD && failed == 0) \
                        failed = (k);                 \
        } while (0)
                EXPECT_ECHILD(lmm_segment_create(c, &(lmm_segment_opts){ .size = 1 }, &x), 1);
                if (lmm_client_last_error(c))
                        failed = failed ?: 20; /* no manager message in a refused call */
                EXPECT_ECHILD(lmm_segment_open(c, "p", 0, &x), 2);
                EXPECT_ECHILD(lmm_segment_adopt(c, fd, NULL, 0, &x), 3);
                EXPECT_ECHILD(lmm_block_release(c, "p"), 4);
                EXPECT_ECHILD(lmm_block_freeze(c, "p"), 5);
                EXPECT_ECHILD(lmm_block_stat(c, "p", &info), 6);
                EXPECT_ECHILD(lmm_block_list(c, &all, &n), 7);
                EXPECT_ECHILD(lmm_client_shutdown_manager(c), 8);
                EXPECT_ECHILD(lmm_list_create(c, NULL, &one, 1, 0, &l), 9);
                EXPECT_ECHILD(lmm_list_open(c, "p", 0, &l), 10);
#undef EXPECT_ECHILD
                /* Freeing the child's copy closes only the child's fd. */
                lmm_client_unref(c);
                _exit(failed);
        }
        code = harness_wait_exit(child, 10000);
        cr_assert_eq(code, 0, "the child's call number %d did not fail with -ECHILD", code);

        /* The parent's stream is intact: requests and replies still pair up. */
        cr_assert_eq(lmm_block_stat(c, "p", &info), 0);
        cr_assert_eq(info.flags & LMM_BLOCK_FROZEN, 0, "the child froze nothing");
        cr_assert_eq(lmm_segment_adopt(c, fd, "adopted", 0, &mine), 0);
        cr_assert_eq(lmm_block_stat(c, "adopted", &info), 0);
        cr_assert_eq(lmm_block_release(c, "p"), 0);
        lmm_segment_unref(mine);
        lmm_segment_unref(s);
        close(fd);
}

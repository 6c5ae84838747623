/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lmmctl from the outside: every command, its output, its errors and exit codes.
 */

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "harness.h"

static char out[1 << 16], err[4096];

TestSuite(lmmctl, .init = fixture_lmmd_start, .fini = fixture_lmmd_stop, .timeout = 60);

/* Run lmmctl --socket SOCK ARGS... with @input on stdin. */
static int ctl(const char *input, const char *a1, const char *a2, const char *a3, const char *a4) {
        const char *argv[] = {
                harness_getenv("LMMCTL"), "--socket", fixture_lmmd.sock, a1, a2, a3, a4, NULL
        };
        return harness_run(argv, input, out, sizeof(out), err, sizeof(err));
}

Test(lmmctl, create_write_cat_stat_list_release) {
        cr_assert_eq(ctl(NULL, "create", "frames", "64K", NULL), 0, "%s", err);
        cr_assert_eq(ctl("hello, block", "write", "frames", NULL, NULL), 0, "%s", err);
        cr_assert_eq(ctl(NULL, "cat", "frames", NULL, NULL), 0, "%s", err);
        cr_assert_eq(memcmp(out, "hello, block", 12), 0);

        cr_assert_eq(ctl(NULL, "--json", "stat", "frames", NULL), 0);
        cr_assert(strstr(out, "\"name\": \"frames\""), "%s", out);
        cr_assert(strstr(out, "\"size\": 65536"), "%s", out);
        cr_assert(strstr(out, "\"seals\": \"shrink,grow"), "%s", out);

        cr_assert_eq(ctl(NULL, "create", "second", "1M", NULL), 0);
        cr_assert_eq(ctl(NULL, "list", NULL, NULL, NULL), 0);
        cr_assert(strstr(out, "frames") && strstr(out, "64 KiB"), "%s", out);
        cr_assert(strstr(out, "second") && strstr(out, "1 MiB"), "%s", out);

        cr_assert_eq(ctl(NULL, "freeze", "frames", NULL, NULL), 0);
        cr_assert_eq(ctl("more", "write", "frames", NULL, NULL), 1);
        cr_assert(strstr(err, "frozen"), "%s", err);

        cr_assert_eq(ctl(NULL, "release", "frames", NULL, NULL), 0);
        cr_assert_eq(ctl(NULL, "--json", "list", NULL, NULL), 0);
        cr_assert_null(strstr(out, "frames"));
        cr_assert_eq(ctl(NULL, "shutdown", NULL, NULL, NULL), 0);
        cr_assert_eq(fixture_lmmd_wait_exit(5000), 0);
}

Test(lmmctl, errors_are_one_line_and_exit_non_zero) {
        char big[5000];

        cr_assert_eq(ctl(NULL, "create", "x", "12Q", NULL), 1);
        cr_assert(strstr(err, "invalid size '12Q'"), "%s", err);
        cr_assert_eq(ctl(NULL, "create", "x", "0", NULL), 1);
        cr_assert_eq(ctl(NULL, "stat", "nope", NULL, NULL), 1);
        cr_assert_str_eq(err, "lmmctl: no block named \"nope\"\n");
        cr_assert_eq(ctl(NULL, "create", "dup", "4K", NULL), 0);
        cr_assert_eq(ctl(NULL, "create", "dup", "4K", NULL), 1);
        cr_assert_str_eq(err, "lmmctl: cannot create block \"dup\": the name is in use\n");
        cr_assert_eq(ctl(NULL, "create", "huge", "1T", NULL), 1);
        cr_assert(strstr(err, "exceeds per-user limit"), "%s", err);
        memset(big, 'x', sizeof(big) - 1);
        big[sizeof(big) - 1] = 0;
        cr_assert_eq(ctl(big, "write", "dup", NULL, NULL), 1);
        cr_assert(strstr(err, "input is larger than the block"), "%s", err);
        cr_assert_eq(ctl(NULL, "frobnicate", NULL, NULL, NULL), 2);
        cr_assert(strstr(err, "unknown command 'frobnicate'"), "%s", err);
        cr_assert_eq(ctl(NULL, "stat", NULL, NULL, NULL), 2);

        const char *argv[] = { harness_getenv("LMMCTL"), "--socket", "/nonexistent/lmmd.sock",
                               "list", NULL };
        cr_assert_eq(harness_run(argv, NULL, out, sizeof(out), err, sizeof(err)), 1);
        cr_assert(strstr(err, "cannot connect to the manager at /nonexistent/lmmd.sock") &&
                          strstr(err, "is lmmd running?"),
                  "%s", err);
        cr_assert_null(strchr(err, '\n') == err + strlen(err) - 1 ? NULL : "x", "one line: %s",
                       err);
}

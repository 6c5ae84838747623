/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fixture — see fixture.h.
 */

#include <criterion/criterion.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"

harness_lmmd fixture_lmmd;

/* ------------------------------------------------------------ a real lmmd */

void fixture_lmmd_start_with(const char *const *args) {
        cr_assert_eq(harness_lmmd_start(&fixture_lmmd, args), 0, "cannot start lmmd");
}

void fixture_lmmd_start(void) {
        fixture_lmmd_start_with(NULL);
}

void fixture_lmmd_stop(void) {
        if (fixture_lmmd.pid > 0)
                harness_lmmd_stop(&fixture_lmmd);
}

int fixture_lmmd_wait_exit(int timeout_ms) {
        int r = harness_wait_exit(fixture_lmmd.pid, timeout_ms);

        /* Still running: fixture_lmmd_stop() ends it. */
        if (r != -2) {
                fixture_lmmd.pid = 0;
                rmdir(fixture_lmmd.dir);
        }
        return r;
}

lmm_client *fixture_client(void) {
        lmm_client *c = NULL;

        cr_assert_eq(lmm_client_connect(fixture_lmmd.sock, &c), 0);
        return c;
}

lmm_segment *fixture_create(lmm_client *c, const char *name, uint64_t size) {
        lmm_segment *s = NULL;
        int r = lmm_segment_create(c, &(lmm_segment_opts){ .size = size, .name = name }, &s);

        cr_assert_eq(r, 0, "create %s: %s (%s)", name, strerror(-r),
                     lmm_client_last_error(c) ?: "");
        return s;
}

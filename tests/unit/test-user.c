/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-user — per-uid accounting through charges: limits refuse exactly at
 * the edge, a refused charge changes nothing, a release gives everything
 * back and is idempotent.
 */

#include <criterion/criterion.h>
#include <signal.h>

#include "user.h"

static user_registry reg;

static void setup(void) {
        user_registry_init(&reg, &(user_limits){ .max_bytes = 1000,
                                                 .max_blocks = 2,
                                                 .max_conns = 1,
                                                 .max_closing = 2 });
}

static void teardown(void) {
        user_registry_done(&reg); /* asserts that every charge came back */
}

TestSuite(user, .init = setup, .fini = teardown);

Test(user, one_record_per_uid) {
        user *a = user_registry_get(&reg, 5), *b = user_registry_get(&reg, 6);

        cr_assert_not_null(a);
        cr_assert_neq(a, b);
        cr_assert_eq(user_registry_get(&reg, 5), a);
}

Test(user, limits_refuse_at_the_edge_and_change_nothing) {
        user *u = user_registry_get(&reg, 5);
        user_charge c1 = {}, c2 = {}, c3 = {}, big = {}, conn = {}, conn2 = {};

        cr_assert_eq(user_charge_apply(&reg, &c1, u, 1, 600, 0), QUOTA_NONE);
        cr_assert_eq(user_charge_apply(&reg, &big, u, 1, 401, 0), QUOTA_BYTES);
        cr_assert_null(big.user);
        cr_assert_eq(u->n_bytes, 600);
        cr_assert_eq(user_charge_apply(&reg, &c2, u, 1, 400, 0), QUOTA_NONE);
        cr_assert_eq(user_charge_apply(&reg, &c3, u, 1, 0, 0), QUOTA_BLOCKS);
        cr_assert_eq(user_check(&reg, u, 0, 1, 0), QUOTA_BYTES);
        cr_assert_eq(user_charge_apply(&reg, &conn, u, 0, 0, 1), QUOTA_NONE);
        cr_assert_eq(user_charge_apply(&reg, &conn2, u, 0, 0, 1), QUOTA_CONNECTIONS);
        cr_assert_str_eq(quota_to_string(QUOTA_CONNECTIONS), "connections");

        user_charge_release(&c1);
        user_charge_release(&c1); /* idempotent */
        cr_assert_eq(u->n_blocks, 1);
        cr_assert_eq(u->n_bytes, 400);
        user_charge_release(&c2);
        cr_assert_eq(reg.n, 1);
        user_charge_release(&conn);
        cr_assert_eq(reg.n, 0, "a record that holds nothing is freed");
}

Test(user, overflowing_sizes_are_refused) {
        user *u = user_registry_get(&reg, 5);
        user_charge c = {};

        cr_assert_eq(user_check(&reg, u, 1, UINT64_MAX, 0), QUOTA_BYTES);
        cr_assert_eq(user_charge_apply(&reg, &c, u, UINT64_MAX, 0, 0), QUOTA_BLOCKS);
}

/* Fds waiting to be closed are the manager's already: charged past the
 * limit, which then says "no more" until they are closed. */
Test(user, pending_closes_are_charged_past_the_limit) {
        user *u = user_registry_get(&reg, 5);
        user_charge c[3] = {}, keep = {};

        /* A record that holds nothing is freed: a connection keeps it while we look. */
        cr_assert_eq(user_charge_apply(&reg, &keep, u, 0, 0, 1), QUOTA_NONE);
        cr_assert_eq(user_check_closing(&reg, u), QUOTA_NONE);
        for (int i = 0; i < 3; i++)
                user_charge_closing(&c[i], u, 1);
        cr_assert_eq(u->n_closing, 3);
        cr_assert_eq(user_check_closing(&reg, u), QUOTA_CLOSES);
        cr_assert_str_eq(quota_to_string(QUOTA_CLOSES), "pending closes");
        user_charge_release(&c[0]);
        cr_assert_eq(user_check_closing(&reg, u), QUOTA_CLOSES);
        user_charge_release(&c[1]);
        cr_assert_eq(user_check_closing(&reg, u), QUOTA_NONE);
        user_charge_release(&c[2]);
        user_charge_release(&c[2]);
        cr_assert_eq(u->n_closing, 0);
        user_charge_release(&keep);
}

Test(user, records_of_uids_that_come_and_go_do_not_pile_up) {
        /* A uid refused at connect takes a record and never a charge; one
         * that connected and left released its charges. Neither stays. */
        for (uid_t uid = 1; uid <= 100000; uid++) {
                user *u = user_registry_get(&reg, uid);
                user_charge c = {};

                cr_assert_not_null(u);
                if (uid % 2 == 0) {
                        cr_assert_eq(user_charge_apply(&reg, &c, u, 0, 0, 1), QUOTA_NONE);
                        user_charge_release(&c);
                }
        }
        cr_assert_leq(reg.n, 1024, "%zu records kept for uids long gone", reg.n);
}

Test(user, a_charge_left_behind_is_caught, .signal = SIGABRT) {
#ifdef NDEBUG
        cr_skip_test("assert() is compiled out of this build (NDEBUG)");
#endif
        user *u = user_registry_get(&reg, 5);
        user_charge c = {};

        cr_assert_eq(user_charge_apply(&reg, &c, u, 1, 1, 0), QUOTA_NONE);
        user_registry_done(&reg);
}

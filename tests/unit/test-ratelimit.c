/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-ratelimit — log rate limiting on a fake clock: a burst, then one line
 * per interval that says how many were held back; keys do not share a
 * bucket; many uids cannot add up to a flood; the table stays bounded, and
 * what a forgotten key suppressed is still reported, once.
 */

#include <criterion/criterion.h>

#include "ratelimit.h"

#define SEC UINT64_C(1000000)

static ratelimit rl;

static void setup(void) {
        ratelimit_init(&rl, &(ratelimit_opts){ .burst = 3,
                                               .interval_usec = SEC,
                                               .total_burst = 20,
                                               .total_interval_usec = SEC / 10 });
}

TestSuite(ratelimit, .init = setup);

/* check() - whether a line goes out; *@suppressed, *@lost as reported (0 when dropped). */
static bool check(uint32_t uid, uint32_t reason, uint64_t now, uint64_t *suppressed,
                  uint64_t *lost) {
        uint64_t s = 0, l = 0;
        bool ok = ratelimit_check(&rl, uid, reason, now, &s, &l);

        if (suppressed)
                *suppressed = ok ? s : 0;
        if (lost)
                *lost = ok ? l : 0;
        return ok;
}

Test(ratelimit, a_burst_then_one_line_per_interval_that_counts_the_rest) {
        uint64_t s, now = 5 * SEC;

        for (int i = 0; i < 3; i++) {
                cr_assert(check(7, 0, now, &s, NULL), "line %d of the burst", i);
                cr_assert_eq(s, 0);
        }
        for (int i = 0; i < 1000; i++)
                cr_assert_not(check(7, 0, now + (uint64_t) i, NULL, NULL));
        cr_assert_not(check(7, 0, now + SEC / 2, NULL, NULL), "half an interval earns nothing");
        cr_assert(check(7, 0, now + SEC, &s, NULL), "one interval earns one line");
        cr_assert_eq(s, 1001, "and it says how many were held back");
        cr_assert_not(check(7, 0, now + SEC, NULL, NULL));
        cr_assert(check(7, 0, now + 2 * SEC, &s, NULL));
        cr_assert_eq(s, 1, "each suppressed line is reported once");
}

Test(ratelimit, a_quiet_key_earns_its_burst_back_and_no_more) {
        uint64_t now = 0;

        for (int i = 0; i < 3; i++)
                cr_assert(check(7, 0, now, NULL, NULL));
        now += 3600 * SEC;
        for (int i = 0; i < 3; i++)
                cr_assert(check(7, 0, now, NULL, NULL), "line %d after an hour", i);
        cr_assert_not(check(7, 0, now, NULL, NULL), "an hour of silence is still one burst");
}

Test(ratelimit, uids_and_reasons_do_not_share_a_bucket) {
        for (int i = 0; i < 3; i++)
                cr_assert(check(7, 0, 0, NULL, NULL));
        cr_assert_not(check(7, 0, 0, NULL, NULL));
        cr_assert(check(8, 0, 0, NULL, NULL), "another uid");
        cr_assert(check(7, 1, 0, NULL, NULL), "another reason");
        cr_assert(check(RATELIMIT_NO_UID, 0, 0, NULL, NULL), "a line about no uid");
}

Test(ratelimit, many_uids_cannot_add_up_to_a_flood) {
        unsigned out = 0;
        uint64_t s, lost;

        /* 10000 uids, once each, at the same instant: the total burst. */
        for (uint32_t uid = 0; uid < 10000; uid++)
                out += check(100000 + uid, 0, SEC, NULL, NULL);
        cr_assert_eq(out, 20);
        /* A tenth of a second later, one more line, and the count of the rest:
         * held back on keys the table has since forgotten. */
        cr_assert(check(1, 0, SEC + SEC / 10, &s, &lost));
        cr_assert_eq(s, 0);
        cr_assert_gt(lost, 0);
        cr_assert_leq(lost, 10000 - 20);
}

Test(ratelimit, the_table_is_bounded_and_forgets_the_least_recent_key) {
        uint64_t s, lost, now = 0;

        /* Key 0 suppresses lines, then goes quiet. */
        for (int i = 0; i < 5; i++)
                check(0, 0, now, NULL, NULL);
        /* RATELIMIT_KEYS other keys come, slowly enough for the total bucket. */
        for (uint32_t uid = 1; uid <= RATELIMIT_KEYS; uid++) {
                now += SEC;
                cr_assert(check(uid, 0, now, &s, &lost), "uid %u", uid);
                cr_assert_eq(lost, uid == RATELIMIT_KEYS ? 2 : 0,
                             "key 0's 2 suppressed lines are reported once it is forgotten");
        }
        /* Key 0 is new again: a full burst, no count of its own. */
        now += SEC;
        cr_assert(check(0, 0, now, &s, &lost));
        cr_assert_eq(s, 0);
        cr_assert_eq(lost, 0, "reported already");
}

Test(ratelimit, a_clock_that_goes_back_earns_nothing) {
        for (int i = 0; i < 3; i++)
                cr_assert(check(7, 0, 10 * SEC, NULL, NULL));
        cr_assert_not(check(7, 0, 5 * SEC, NULL, NULL));
        cr_assert_not(check(7, 0, 10 * SEC, NULL, NULL));
        cr_assert(check(7, 0, 11 * SEC, NULL, NULL));
}

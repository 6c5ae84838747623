/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-fair-sched — the per-uid round robin: every ready group gets the same
 * turns per round however many entities it has, its entities take them in
 * turn, and idle or freed entities cost nothing.
 */

#include <criterion/criterion.h>

#include "fair-sched.h"

/* A made-up connection: how many requests it has waiting, and its turns. */
typedef struct conn {
        fair_entity e;
        unsigned waiting, served, turns;
        int group;
} conn;

typedef struct world {
        fair_sched s;
        fair_group groups[2];
        unsigned per_group[2];
        conn *order[64]; /* who was served, request by request */
        unsigned n_order;
        unsigned turns, largest_turn;
        conn *stop_at;
        conn *free_other; /* freed (removed) during the first turn */
} world;

static fair_result serve(fair_entity *e, unsigned budget, unsigned *ret_units, void *userdata) {
        world *w = userdata;
        conn *c = (conn *) e;

        cr_assert_geq(budget, 1);
        w->turns++;
        c->turns++;
        if (c == w->stop_at) {
                w->stop_at = NULL;
                return FAIR_STOP;
        }
        if (w->free_other) {
                fair_remove(&w->s, &w->free_other->e);
                w->free_other = NULL;
        }
        /* Nothing waiting: what an -EAGAIN looks like. */
        while (*ret_units < budget && c->waiting > 0) {
                c->waiting--;
                c->served++;
                w->per_group[c->group]++;
                if (w->n_order < 64)
                        w->order[w->n_order++] = c;
                (*ret_units)++;
        }
        if (*ret_units > w->largest_turn)
                w->largest_turn = *ret_units;
        return c->waiting > 0 ? FAIR_READY : FAIR_IDLE;
}

static void wake(world *w, conn *c) {
        fair_wake(&w->s, &w->groups[c->group], &c->e);
}

Test(fair_sched, a_uid_with_one_connection_gets_the_whole_quantum) {
        world w = {};
        conn c = { .waiting = 100 };

        wake(&w, &c);
        cr_assert_eq(fair_round(&w.s, 16, 1, serve, &w), 16);
        cr_assert_eq(c.served, 16);
        cr_assert(!fair_is_idle(&w.s), "it has more");
}

Test(fair_sched, many_connections_get_no_more_turns_than_one) {
        static conn a[200];
        world w = {};
        conn b = { .waiting = 1000, .group = 1 };

        for (unsigned i = 0; i < 200; i++) {
                a[i] = (conn){ .waiting = 1000 };
                wake(&w, &a[i]);
        }
        wake(&w, &b);
        for (unsigned round = 0; round < 10; round++)
                cr_assert_eq(fair_round(&w.s, 16, 1, serve, &w), 32, "16 turns per uid per round");
        cr_assert_eq(w.per_group[0], 160);
        cr_assert_eq(w.per_group[1], 160);
        /* uid 0's turns went to its connections in turn: 160 different ones. */
        for (unsigned i = 0; i < 200; i++)
                cr_assert_eq(a[i].served, i < 160 ? 1 : 0, "connection %u", i);
}

Test(fair_sched, connections_of_a_uid_take_turns_in_order) {
        world w = {};
        conn c[3] = { { .waiting = 2 }, { .waiting = 2 }, { .waiting = 2 } };

        for (unsigned i = 0; i < 3; i++)
                wake(&w, &c[i]);
        cr_assert_eq(fair_round(&w.s, 16, 1, serve, &w), 6);
        for (unsigned i = 0; i < 6; i++)
                cr_assert_eq(w.order[i], &c[i % 3], "turn %u", i);
        cr_assert(fair_is_idle(&w.s), "all done: nothing queued");
}

Test(fair_sched, idle_connections_leave_the_queue_and_wake_again) {
        world w = {};
        conn c = { .waiting = 0 };

        wake(&w, &c);
        wake(&w, &c); /* a second wake-up of a queued one changes nothing */
        cr_assert_eq(fair_round(&w.s, 16, 1, serve, &w), 0, "one turn finds it idle");
        cr_assert_eq(w.turns, 1);
        cr_assert(fair_is_idle(&w.s));
        cr_assert_eq(fair_round(&w.s, 16, 1, serve, &w), 0, "an idle scheduler costs nothing");
        c.waiting = 1;
        wake(&w, &c);
        cr_assert_eq(fair_round(&w.s, 16, 1, serve, &w), 1);
        cr_assert_eq(c.served, 1);
}

Test(fair_sched, a_connection_freed_during_a_round_is_never_served) {
        world w = {};
        conn c[2] = { { .waiting = 5 }, { .waiting = 5 } };

        wake(&w, &c[0]);
        wake(&w, &c[1]);
        w.free_other = &c[1];
        fair_round(&w.s, 16, 1, serve, &w);
        cr_assert_eq(c[1].served, 0);
        cr_assert_eq(c[0].served, 5);
        fair_remove(&w.s, &c[1].e); /* removing twice is harmless */
        cr_assert(fair_is_idle(&w.s));
}

Test(fair_sched, stop_ends_the_round_and_keeps_the_connection_queued) {
        world w = {};
        conn c[2] = { { .waiting = 5 }, { .waiting = 5, .group = 1 } };

        wake(&w, &c[0]);
        wake(&w, &c[1]);
        w.stop_at = &c[0];
        cr_assert_eq(fair_round(&w.s, 16, 1, serve, &w), 0, "a stop serves nothing");
        cr_assert_eq(w.turns, 1);
        cr_assert_eq(c[1].served, 0, "the round ended at the stop");
        cr_assert_eq(fair_round(&w.s, 16, 1, serve, &w), 10, "both still queued");
}

Test(fair_sched, a_round_ends_even_when_every_group_stays_ready) {
        world w = {};
        conn c[2] = { { .waiting = 1000 }, { .waiting = 1000, .group = 1 } };

        wake(&w, &c[0]);
        wake(&w, &c[1]);
        cr_assert_eq(fair_round(&w.s, 4, 1, serve, &w), 8);
        cr_assert_eq(c[0].served, 4);
        cr_assert_eq(c[1].served, 4);
}

/* ---- turns of more than one request (REQUESTS_PER_TURN) ---- */

Test(fair_sched, a_turn_serves_at_most_a_batch) {
        world w = {};
        conn c = { .waiting = 100 };

        wake(&w, &c);
        cr_assert_eq(fair_round(&w.s, 16, 4, serve, &w), 16, "the whole quantum");
        cr_assert_eq(c.turns, 4, "in turns of 4");
        cr_assert_eq(w.largest_turn, 4);
}

Test(fair_sched, the_last_turn_of_a_round_gets_what_is_left_of_the_quantum) {
        world w = {};
        conn c = { .waiting = 100 };

        wake(&w, &c);
        cr_assert_eq(fair_round(&w.s, 16, 5, serve, &w), 16);
        cr_assert_eq(c.turns, 4, "5, 5, 5 and 1");
}

Test(fair_sched, batches_give_a_uid_with_many_connections_no_more_than_its_quantum) {
        static conn a[200];
        world w = {};
        conn b = { .waiting = 1000, .group = 1 };

        for (unsigned i = 0; i < 200; i++) {
                a[i] = (conn){ .waiting = 1000 };
                wake(&w, &a[i]);
        }
        wake(&w, &b);
        for (unsigned round = 0; round < 10; round++)
                cr_assert_eq(fair_round(&w.s, 16, 16, serve, &w), 32, "16 requests per uid");
        cr_assert_eq(w.per_group[0], 160);
        cr_assert_eq(w.per_group[1], 160);
        /* uid 0's rounds went to its connections in turn, a batch each. */
        for (unsigned i = 0; i < 200; i++)
                cr_assert_eq(a[i].served, i < 10 ? 16 : 0, "connection %u", i);
}

Test(fair_sched, a_batch_is_shared_with_nobody_but_the_quantum_is) {
        world w = {};
        conn c[3] = { { .waiting = 3 }, { .waiting = 100 }, { .waiting = 100 } };

        for (unsigned i = 0; i < 3; i++)
                wake(&w, &c[i]);
        /* The first has 3 of its batch of 8 to do, the second all 8, the
         * third what is left of the quantum: 5. */
        cr_assert_eq(fair_round(&w.s, 16, 8, serve, &w), 16);
        cr_assert_eq(c[0].served, 3);
        cr_assert_eq(c[1].served, 8);
        cr_assert_eq(c[2].served, 5);
        cr_assert_eq(fair_round(&w.s, 16, 8, serve, &w), 16, "then in turn, 8 and 8");
        cr_assert_eq(c[1].served, 16);
        cr_assert_eq(c[2].served, 13);
}

Test(fair_sched, turns_that_find_nothing_still_end_the_round) {
        static conn a[40];
        world w = {};

        for (unsigned i = 0; i < 40; i++) {
                a[i] = (conn){ .waiting = 0 };
                wake(&w, &a[i]);
        }
        cr_assert_eq(fair_round(&w.s, 16, 16, serve, &w), 0);
        cr_assert_eq(w.turns, 16, "each empty turn counts as one request");
        cr_assert(!fair_is_idle(&w.s), "the rest wait for the next round");
}

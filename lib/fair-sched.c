/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fair-sched — per-group round robin of ready entities. See fair-sched.h.
 */

#include <assert.h>
#include <stddef.h>

#include "fair-sched.h"
#include "util.h"

static void list_append(fair_list *l, fair_link *n) {
        n->prev = l->tail;
        n->next = NULL;
        if (l->tail)
                l->tail->next = n;
        else
                l->head = n;
        l->tail = n;
}

static void list_unlink(fair_list *l, fair_link *n) {
        if (n->prev)
                n->prev->next = n->next;
        else
                l->head = n->next;
        if (n->next)
                n->next->prev = n->prev;
        else
                l->tail = n->prev;
        n->prev = n->next = NULL;
}

static fair_group *ring_first(const fair_sched *s) {
        return s->ring.head ? container_of(s->ring.head, fair_group, link) : NULL;
}

static fair_entity *ready_first(const fair_group *g) {
        return g->ready.head ? container_of(g->ready.head, fair_entity, link) : NULL;
}

static void group_push(fair_sched *s, fair_group *g) {
        if (g->queued)
                return;
        list_append(&s->ring, &g->link);
        g->queued = true;
        s->n_groups++;
}

static void group_pop(fair_sched *s, fair_group *g) {
        if (!g->queued)
                return;
        list_unlink(&s->ring, &g->link);
        g->queued = false;
        s->n_groups--;
}

static void entity_push(fair_group *g, fair_entity *e) {
        assert(!e->group);
        list_append(&g->ready, &e->link);
        e->group = g;
}

static void entity_pop(fair_entity *e) {
        list_unlink(&e->group->ready, &e->link);
        e->group = NULL;
}

void fair_wake(fair_sched *s, fair_group *g, fair_entity *e) {
        if (e->group)
                return;
        entity_push(g, e);
        group_push(s, g);
}

void fair_remove(fair_sched *s, fair_entity *e) {
        fair_group *g = e->group;

        if (!g)
                return;
        entity_pop(e);
        if (!g->ready.head)
                group_pop(s, g);
}

unsigned fair_round(fair_sched *s, unsigned quantum, unsigned batch, fair_serve_fn serve,
                    void *userdata) {
        /* The groups queued now, each once: those that stay ready go to the
         * back, behind the last of them. A group that leaves the ring during
         * the round (its last entity freed by another's turn) only lets a
         * later one have a second turn; the round still ends. */
        unsigned n = s->n_groups, served = 0;
        bool stop = false;

        assert(quantum > 0 && batch > 0);
        while (n-- > 0 && !stop && s->ring.head) {
                fair_group *g = ring_first(s);
                unsigned left = quantum;

                group_pop(s, g);
                while (left > 0 && g->ready.head) {
                        fair_entity *e = ready_first(g);
                        unsigned budget = MIN(left, batch), units = 0;
                        fair_result r;

                        /* Unqueued during its turn: if @serve frees it, its
                         * fair_remove() finds nothing to undo. */
                        entity_pop(e);
                        r = serve(e, budget, &units, userdata);
                        assert(units <= budget);
                        served += units;
                        left -= MAX(units, 1u);
                        if (r == FAIR_IDLE)
                                continue;
                        if (!e->group)
                                entity_push(g, e);
                        if (r == FAIR_STOP) {
                                stop = true;
                                break;
                        }
                }
                if (g->ready.head)
                        group_push(s, g);
        }
        return served;
}

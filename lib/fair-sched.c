/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fair-sched — per-group round robin of ready entities. See fair-sched.h.
 */

#include <assert.h>
#include <stddef.h>

#include "fair-sched.h"

static void group_push(fair_sched *s, fair_group *g) {
        if (g->queued)
                return;
        g->prev = s->tail;
        g->next = NULL;
        if (s->tail)
                s->tail->next = g;
        else
                s->head = g;
        s->tail = g;
        g->queued = true;
        s->n_groups++;
}

static void group_pop(fair_sched *s, fair_group *g) {
        if (!g->queued)
                return;
        if (g->prev)
                g->prev->next = g->next;
        else
                s->head = g->next;
        if (g->next)
                g->next->prev = g->prev;
        else
                s->tail = g->prev;
        g->prev = g->next = NULL;
        g->queued = false;
        s->n_groups--;
}

static void entity_push(fair_group *g, fair_entity *e) {
        assert(!e->group);
        e->prev = g->tail;
        e->next = NULL;
        if (g->tail)
                g->tail->next = e;
        else
                g->head = e;
        g->tail = e;
        e->group = g;
}

static void entity_pop(fair_entity *e) {
        fair_group *g = e->group;

        if (e->prev)
                e->prev->next = e->next;
        else
                g->head = e->next;
        if (e->next)
                e->next->prev = e->prev;
        else
                g->tail = e->prev;
        e->prev = e->next = NULL;
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
        if (!g->head)
                group_pop(s, g);
}

unsigned fair_round(fair_sched *s, unsigned quantum, fair_serve_fn serve, void *userdata) {
        /* The groups queued now, each once: those that stay ready go to the
         * back, behind the last of them. A group that leaves the ring during
         * the round (its last entity freed by another's turn) only lets a
         * later one have a second turn; the round still ends. */
        unsigned n = s->n_groups, served = 0;
        bool stop = false;

        while (n-- > 0 && !stop && s->head) {
                fair_group *g = s->head;

                group_pop(s, g);
                for (unsigned i = 0; i < quantum && g->head; i++) {
                        fair_entity *e = g->head;
                        fair_result r;

                        /* Unqueued during its turn: if @serve frees it, its
                         * fair_remove() finds nothing to undo. */
                        entity_pop(e);
                        r = serve(e, userdata);
                        served++;
                        if (r == FAIR_IDLE)
                                continue;
                        if (!e->group)
                                entity_push(g, e);
                        if (r == FAIR_STOP) {
                                stop = true;
                                break;
                        }
                }
                if (g->head)
                        group_push(s, g);
        }
        return served;
}

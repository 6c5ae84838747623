/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * fair-sched — whose request the manager reads next: round robin over groups
 * (uids), and inside each group over its entities (connections). Pure: no
 * syscalls, no allocation; the records are embedded in their owners (the
 * group in the uid's user record, the entity in the peer).
 *
 * Only groups with a ready entity are in the ring, only ready entities in
 * their group's queue, so every operation is O(1) and a round costs O(turns
 * served), never O(connections). In a round each group that is ready when
 * it starts gets @quantum units of work (requests), handed to its entities
 * in turns of at most @batch units, one entity after another: a uid with
 * 200 busy connections gets as much per round as a uid with one, and a uid
 * with one connection keeps the whole quantum for it. A turn counts at
 * least one unit, so a round ends even when every turn finds nothing.
 */

#include <stdbool.h>

/* One queue for both levels: a link in the record, the list in its owner. */
typedef struct fair_link {
        struct fair_link *prev, *next;
} fair_link;

typedef struct fair_list {
        fair_link *head, *tail; /* next turn first */
} fair_list;

typedef struct fair_group fair_group;

typedef struct fair_entity {
        fair_link link;
        fair_group *group; /* the group whose queue it is in; NULL: not queued */
} fair_entity;

struct fair_group {
        fair_list ready; /* its ready entities */
        fair_link link;
        bool queued; /* in the scheduler's ring */
};

typedef struct fair_sched {
        fair_list ring; /* groups with a ready entity */
        unsigned n_groups;
} fair_sched;

/* What a turn left behind: the entity may have more (FAIR_READY), has none
 * for now or is gone (FAIR_IDLE), or the round must end here (FAIR_STOP:
 * the entity stays queued). */
typedef enum fair_result {
        FAIR_IDLE,
        FAIR_READY,
        FAIR_STOP,
} fair_result;

/*
 * One turn of @e: serve up to @budget units of its work (at least 1), and
 * say in *@ret_units how many it served. @e may be freed when this returns
 * FAIR_IDLE.
 */
typedef fair_result (*fair_serve_fn)(fair_entity *e, unsigned budget, unsigned *ret_units,
                                     void *userdata);

/* fair_wake() - @e, of group @g, has work: queue it (no-op when it is queued). */
void fair_wake(fair_sched *s, fair_group *g, fair_entity *e);

/* fair_remove() - @e has no work, or is about to be freed: unqueue it (no-op when it is not). */
void fair_remove(fair_sched *s, fair_entity *e);

/* fair_is_idle() - whether no entity is queued. */
static inline bool fair_is_idle(const fair_sched *s) {
        return !s->ring.head;
}

/*
 * fair_round() - one round: each group queued when it starts gets up to
 * @quantum units, in turns (calls of @serve) of at most @batch units, its
 * entities in turn, one turn each. An entity that stays ready goes to the
 * back of its group's queue, a group that stays ready to the back of the
 * ring. Return: the units served.
 */
unsigned fair_round(fair_sched *s, unsigned quantum, unsigned batch, fair_serve_fn serve,
                    void *userdata);

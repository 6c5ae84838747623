/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * ratelimit — how many log lines of one kind a peer can make the manager
 * write: a token bucket per key (a uid and a reason), and one over all keys,
 * so that many uids (a user namespace maps 65536) cannot add up to a flood.
 * Pure: the caller passes the clock, and the unit tests a fake one.
 *
 * Guarantees: memory is fixed (RATELIMIT_KEYS keys, inline); when the table
 * is full the least recently seen key is forgotten, and the lines it had
 * suppressed are not: they are carried over and reported with the next line
 * that goes out. Every suppressed line is counted and reported exactly once.
 */

#include <stdbool.h>
#include <stdint.h>

#define RATELIMIT_KEYS 64
/* The uid of lines that are not about one peer. */
#define RATELIMIT_NO_UID UINT32_MAX

typedef struct ratelimit_bucket {
        uint64_t credit_usec; /* a line costs interval_usec of it; one usec earned per usec */
        uint64_t last_usec;   /* when credit was last brought up to date */
} ratelimit_bucket;

typedef struct ratelimit_entry {
        uint32_t uid, reason;
        bool used;
        uint64_t seen_usec;  /* last line, logged or not: who is evicted first */
        uint64_t suppressed; /* since the last line of this key that went out */
        ratelimit_bucket bucket;
} ratelimit_entry;

typedef struct ratelimit_opts {
        unsigned burst;         /* lines a key may log at once */
        uint64_t interval_usec; /* and then one per interval */
        unsigned total_burst;   /* the same, over all keys */
        uint64_t total_interval_usec;
} ratelimit_opts;

typedef struct ratelimit {
        ratelimit_opts opts;
        ratelimit_bucket total;
        uint64_t lost; /* suppressed lines of keys forgotten since, not yet reported */
        ratelimit_entry entries[RATELIMIT_KEYS];
} ratelimit;

void ratelimit_init(ratelimit *rl, const ratelimit_opts *opts);

/*
 * ratelimit_check() - whether a line of (@uid, @reason) may go out at
 * @now_usec. When it may, *@ret_suppressed is how many lines of that key
 * were held back since its last one, and *@ret_lost how many of keys the
 * table has forgotten; both are then reported, and counted afresh.
 * Return: true to log the line, false to drop it (it is counted).
 */
bool ratelimit_check(ratelimit *rl, uint32_t uid, uint32_t reason, uint64_t now_usec,
                     uint64_t *ret_suppressed, uint64_t *ret_lost);

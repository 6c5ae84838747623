/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ratelimit — token buckets per (uid, reason) and over all. See ratelimit.h.
 */

#include <assert.h>

#include "ratelimit.h"
#include "util.h"

void ratelimit_init(ratelimit *rl, const ratelimit_opts *opts) {
        assert(opts->burst > 0 && opts->interval_usec > 0);
        assert(opts->total_burst > 0 && opts->total_interval_usec > 0);
        *rl = (ratelimit){ .opts = *opts };
        rl->total.credit_usec = (uint64_t) opts->total_burst * opts->total_interval_usec;
}

/* bucket_refill() - earn what the time since the last refill is worth, up
 * to @burst lines. A clock that went back earns nothing. */
static void bucket_refill(ratelimit_bucket *b, unsigned burst, uint64_t interval, uint64_t now) {
        uint64_t cap = (uint64_t) burst * interval;

        if (now <= b->last_usec)
                return;
        b->credit_usec = MIN(b->credit_usec + MIN(now - b->last_usec, cap), cap);
        b->last_usec = now;
}

/* entry_get() - the entry of (@uid, @reason): found, or made in a free slot,
 * or in that of the key seen least recently, whose count goes to rl->lost.
 * A linear scan of RATELIMIT_KEYS entries: it only runs for a line that
 * would be logged, which costs a write() anyway. */
static ratelimit_entry *entry_get(ratelimit *rl, uint32_t uid, uint32_t reason, uint64_t now) {
        ratelimit_entry *victim = &rl->entries[0];

        for (unsigned i = 0; i < RATELIMIT_KEYS; i++) {
                ratelimit_entry *e = &rl->entries[i];

                if (e->used && e->uid == uid && e->reason == reason)
                        return e;
                if (!e->used)
                        victim = e;
                else if (victim->used && e->seen_usec < victim->seen_usec)
                        victim = e;
        }
        if (victim->used)
                rl->lost += victim->suppressed;
        *victim = (ratelimit_entry){
                .uid = uid,
                .reason = reason,
                .used = true,
                .bucket = { .credit_usec = (uint64_t) rl->opts.burst * rl->opts.interval_usec,
                            .last_usec = now },
        };
        return victim;
}

bool ratelimit_check(ratelimit *rl, uint32_t uid, uint32_t reason, uint64_t now_usec,
                     uint64_t *ret_suppressed, uint64_t *ret_lost) {
        const ratelimit_opts *o = &rl->opts;
        ratelimit_entry *e = entry_get(rl, uid, reason, now_usec);

        e->seen_usec = now_usec;
        bucket_refill(&e->bucket, o->burst, o->interval_usec, now_usec);
        bucket_refill(&rl->total, o->total_burst, o->total_interval_usec, now_usec);
        /* Both must have a line's worth; neither pays for a line not logged. */
        if (e->bucket.credit_usec < o->interval_usec ||
            rl->total.credit_usec < o->total_interval_usec) {
                e->suppressed++;
                return false;
        }
        e->bucket.credit_usec -= o->interval_usec;
        rl->total.credit_usec -= o->total_interval_usec;
        *ret_suppressed = e->suppressed;
        *ret_lost = rl->lost;
        e->suppressed = 0;
        rl->lost = 0;
        return true;
}

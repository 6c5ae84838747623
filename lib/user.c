/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * user — per-uid accounting through charges. See user.h.
 */

#include <assert.h>
#include <stdlib.h>

#include "user.h"
#include "util.h"

static const char *const quota_table[_QUOTA_MAX] = {
        [QUOTA_NONE] = "none",
        [QUOTA_BLOCKS] = "blocks",
        [QUOTA_BYTES] = "bytes",
        [QUOTA_CONNECTIONS] = "connections",
        [QUOTA_CLOSES] = "pending closes",
};

const char *quota_to_string(quota q) {
        return (unsigned) q < _QUOTA_MAX ? quota_table[q] : "unknown";
}

void user_registry_init(user_registry *r, const user_limits *limits) {
        *r = (user_registry){ .limits = *limits };
}

static bool user_unused(const user *u) {
        return u->n_blocks == 0 && u->n_bytes == 0 && u->n_conns == 0 && u->n_closing == 0 &&
               !u->sched.queued;
}

void user_registry_done(user_registry *r) {
        for (size_t i = 0; r->buckets && i <= r->mask; i++)
                while (r->buckets[i]) {
                        user *u = r->buckets[i];

                        assert(user_unused(u));
                        r->buckets[i] = u->next;
                        free(u);
                }
        free(r->buckets);
        r->buckets = NULL;
        r->mask = r->n = 0;
}

/* uids are small numbers, often consecutive: spread them (Fibonacci hashing). */
static size_t bucket_of(const user_registry *r, uid_t uid) {
        return (size_t) (((uint64_t) uid * UINT64_C(0x9e3779b97f4a7c15)) >> 32) & r->mask;
}

static int grow(user_registry *r) {
        size_t n = r->buckets ? (r->mask + 1) * 2 : 64;
        user **nb = calloc(n, sizeof(*nb));
        user_registry old = *r;

        if (!nb)
                return -ENOMEM;
        r->buckets = nb;
        r->mask = n - 1;
        for (size_t i = 0; old.buckets && i <= old.mask; i++)
                for (user *u = old.buckets[i], *next; u; u = next) {
                        size_t j = bucket_of(r, u->uid);

                        next = u->next;
                        u->next = nb[j];
                        nb[j] = u;
                }
        free(old.buckets);
        return 0;
}

/* free_user() - take @u out of its bucket and free it. */
static void free_user(user_registry *r, user *u) {
        user **p = &r->buckets[bucket_of(r, u->uid)];

        while (*p != u)
                p = &(*p)->next;
        *p = u->next;
        r->n--;
        free(u);
}

user *user_registry_get(user_registry *r, uid_t uid) {
        user *u, **p;

        if ((!r->buckets || r->n >= r->mask + 1) && grow(r) < 0)
                return NULL;
        for (p = &r->buckets[bucket_of(r, uid)]; (u = *p);) {
                if (u->uid == uid)
                        return u;
                if (user_unused(u)) { /* a record nobody charged: gone */
                        *p = u->next;
                        r->n--;
                        free(u);
                        continue;
                }
                p = &u->next;
        }
        u = calloc(1, sizeof(*u));
        if (!u)
                return NULL;
        u->uid = uid;
        u->registry = r;
        u->next = r->buckets[bucket_of(r, uid)];
        r->buckets[bucket_of(r, uid)] = u;
        r->n++;
        return u;
}

quota user_check(const user_registry *r, const user *u, uint64_t n_blocks, uint64_t n_bytes,
                 uint64_t n_conns) {
        const user_limits *l = &r->limits;

        if (n_blocks > 0 && (n_blocks > l->max_blocks || u->n_blocks > l->max_blocks - n_blocks))
                return QUOTA_BLOCKS;
        if (n_bytes > l->max_bytes || u->n_bytes > l->max_bytes - n_bytes)
                return QUOTA_BYTES;
        if (n_conns > 0 && (n_conns > l->max_conns || u->n_conns > l->max_conns - n_conns))
                return QUOTA_CONNECTIONS;
        return QUOTA_NONE;
}

quota user_charge_apply(const user_registry *r, user_charge *c, user *u, uint64_t n_blocks,
                        uint64_t n_bytes, uint64_t n_conns) {
        quota q;

        assert(!c->user);
        q = user_check(r, u, n_blocks, n_bytes, n_conns);
        if (q != QUOTA_NONE)
                return q;
        u->n_blocks += n_blocks;
        u->n_bytes += n_bytes;
        u->n_conns += n_conns;
        *c = (user_charge){
                .user = u,
                .n_blocks = n_blocks,
                .n_bytes = n_bytes,
                .n_conns = n_conns,
        };
        return QUOTA_NONE;
}

void user_charge_take(user_charge *c, user *u, uint64_t n_blocks, uint64_t n_bytes) {
        assert(!c->user);
        u->n_blocks += n_blocks;
        u->n_bytes += n_bytes;
        *c = (user_charge){ .user = u, .n_blocks = n_blocks, .n_bytes = n_bytes };
}

void user_charge_closing(user_charge *c, user *u, uint64_t n) {
        assert(!c->user);
        u->n_closing += n;
        *c = (user_charge){ .user = u, .n_closing = n };
}

quota user_check_closing(const user_registry *r, const user *u) {
        return u->n_closing >= r->limits.max_closing ? QUOTA_CLOSES : QUOTA_NONE;
}

uint64_t user_closing_room(const user_registry *r, const user *u) {
        return u->n_closing >= r->limits.max_closing ? 0 : r->limits.max_closing - u->n_closing;
}

void user_charge_release(user_charge *c) {
        user *u = c->user;

        if (!u)
                return;
        assert(u->n_blocks >= c->n_blocks && u->n_bytes >= c->n_bytes && u->n_conns >= c->n_conns &&
               u->n_closing >= c->n_closing);
        u->n_blocks -= c->n_blocks;
        u->n_bytes -= c->n_bytes;
        u->n_conns -= c->n_conns;
        u->n_closing -= c->n_closing;
        if (user_unused(u))
                free_user(u->registry, u);
        *c = (user_charge){};
}

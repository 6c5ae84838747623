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

void user_registry_done(user_registry *r) {
        while (r->users) {
                user *u = r->users;

                assert(u->n_blocks == 0 && u->n_bytes == 0 && u->n_conns == 0 && u->n_closing == 0);
                assert(!u->sched.queued);
                r->users = u->next;
                free(u);
        }
}

user *user_registry_get(user_registry *r, uid_t uid) {
        user *u;

        for (u = r->users; u; u = u->next)
                if (u->uid == uid)
                        return u;
        u = calloc(1, sizeof(*u));
        if (!u)
                return NULL;
        u->uid = uid;
        u->next = r->users;
        r->users = u;
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

void user_charge_closing(user_charge *c, user *u, uint64_t n) {
        assert(!c->user);
        u->n_closing += n;
        *c = (user_charge){ .user = u, .n_closing = n };
}

quota user_check_closing(const user_registry *r, const user *u) {
        return u->n_closing >= r->limits.max_closing ? QUOTA_CLOSES : QUOTA_NONE;
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
        *c = (user_charge){};
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * user — what each uid holds in the manager, and the charges that account
 * for it (dbus-broker's UserCharge). Pure bookkeeping, no syscalls.
 *
 * Whatever takes a share of a uid's limits (a block: one block and its
 * bytes; a connection: one connection; an fd the uid sent that waits to be
 * closed: one pending close) does it through a user_charge, which its holder
 * releases on every path; user_charge_release() is idempotent.
 * A user record is freed only with every charge returned: user_registry_done()
 * asserts it, so a leaked charge is caught by the first test that frees a
 * manager.
 */

#include <stdint.h>
#include <sys/types.h>

#include "fair-sched.h"

/* Why a charge was refused. */
typedef enum quota {
        QUOTA_NONE = 0,
        QUOTA_BLOCKS,      /* the uid's blocks */
        QUOTA_BYTES,       /* the uid's bytes */
        QUOTA_CONNECTIONS, /* the uid's connections */
        QUOTA_CLOSES,      /* the uid's fds waiting to be closed */
        _QUOTA_MAX,
} quota;

/* quota_to_string() - "blocks", "bytes", "connections", "pending closes"; never NULL. */
const char *quota_to_string(quota q);

typedef struct user_limits {
        uint64_t max_bytes;
        uint32_t max_blocks;
        uint32_t max_conns;
        uint32_t max_closing; /* fds waiting to be closed, see user_charge_closing() */
} user_limits;

typedef struct user {
        uid_t uid;
        uint64_t n_blocks;
        uint64_t n_bytes;
        uint64_t n_conns;
        uint64_t n_closing; /* fds it sent that wait to be closed */
        fair_group sched;   /* its connections with requests waiting, for the manager's loop */
        struct user_registry *registry;
        struct user *next; /* hash chain */
} user;

/*
 * The records, by uid in a hash table. A record that holds nothing is freed:
 * when its last charge is released, or, if it never held one, the next time
 * its bucket is walked; so a stream of uids that are refused, or come and
 * go, leaves nothing behind.
 */
typedef struct user_registry {
        user **buckets;
        size_t mask; /* n_buckets - 1, a power of two; 0 with no table yet */
        size_t n;
        user_limits limits;
} user_registry;

/* A share of one user's limits; zero-initialised ({}) means "nothing held". */
typedef struct user_charge {
        user *user;
        uint64_t n_blocks;
        uint64_t n_bytes;
        uint64_t n_conns;
        uint64_t n_closing; /* fds it sent that wait to be closed */
} user_charge;

void user_registry_init(user_registry *r, const user_limits *limits);

/* user_registry_done() - free every user record; every charge must have been released. */
void user_registry_done(user_registry *r);

/*
 * user_registry_get() - the record of @uid, created on first use. Valid while
 * it holds a charge, or until the next user_registry_get() of another uid.
 * Return: NULL when out of memory.
 */
user *user_registry_get(user_registry *r, uid_t uid);

/*
 * user_check() - whether @u could take @n_blocks blocks of @n_bytes bytes in
 * all and @n_conns connections more. Return: QUOTA_NONE, or the first limit
 * that would be exceeded.
 */
quota user_check(const user_registry *r, const user *u, uint64_t n_blocks, uint64_t n_bytes,
                 uint64_t n_conns);

/*
 * user_charge_apply() - charge @u, recording it in @c, which must hold
 * nothing yet. Return: QUOTA_NONE and @c holds the charge, or the limit that
 * refused it and nothing changed.
 */
quota user_charge_apply(const user_registry *r, user_charge *c, user *u, uint64_t n_blocks,
                        uint64_t n_bytes, uint64_t n_conns);

/*
 * user_charge_take() - charge @u with @n_blocks blocks of @n_bytes bytes,
 * recording it in @c, which must hold nothing yet. Never refused: for
 * blocks the manager holds already (a restart brings them back), which
 * count against the uid whatever its limits are now.
 */
void user_charge_take(user_charge *c, user *u, uint64_t n_blocks, uint64_t n_bytes);

/*
 * user_charge_closing() - charge @u with @n fds it sent that wait to be
 * closed, recording it in @c, which must hold nothing yet. Never refused: the
 * fds are the manager's already and must be closed whatever the count. The
 * limit is enforced before more can come (user_check_closing()).
 */
void user_charge_closing(user_charge *c, user *u, uint64_t n);

/* user_check_closing() - Return: QUOTA_CLOSES when @u has as many fds waiting to be closed as
 * its limit allows, else QUOTA_NONE. */
quota user_check_closing(const user_registry *r, const user *u);

/* user_closing_room() - how many more fds may wait to be closed for @u before its limit. */
uint64_t user_closing_room(const user_registry *r, const user *u);

/* user_charge_release() - give back what @c holds; @c then holds nothing. */
void user_charge_release(user_charge *c);

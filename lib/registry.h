/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * registry — the manager's book of blocks and users. Pure bookkeeping: it
 * never makes a syscall. It stores each block's fd but never opens or closes
 * one; registry_remove() hands the fd back to the caller.
 *
 * Guarantees: names are unique; ids are unique and never reused; a block is
 * charged to its owner's uid from registry_add() to registry_remove(), and
 * registry_add() refuses (-EDQUOT) what would exceed the uid's limits.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "lmm.h"

typedef struct registry_user {
        uid_t uid;
        uint32_t n_blocks;
        uint32_t n_conns;
        uint64_t n_bytes;
        struct registry_user *next;
} registry_user;

typedef struct registry_block {
        uint64_t id;
        uint64_t size;
        uint32_t flags; /* LMM_BLOCK_* */
        uid_t uid;
        pid_t pid;
        int fd;
        void *scope; /* the connection a connection-scoped block belongs to */
        char name[LMM_NAME_MAX + 1];
        struct registry_block *prev, *next;
} registry_block;

typedef struct registry {
        registry_block *head, *tail; /* in id order */
        registry_user *users;
        uint64_t next_id;
        uint64_t next_name;
        uint64_t n_blocks, n_bytes;
        uint64_t max_bytes_per_uid;
        uint32_t max_blocks_per_uid;
        uint32_t max_conns_per_uid;
} registry;

void registry_init(registry *r, uint64_t max_bytes, uint32_t max_blocks, uint32_t max_conns);

/* registry_done() - free everything; the caller has taken every fd already. */
void registry_done(registry *r);

registry_block *registry_find(const registry *r, const char *name);

/* registry_user_get() - the user record of @uid, created on first use (NULL: out of memory). */
registry_user *registry_user_get(registry *r, uid_t uid);

/* registry_make_name() - a name no block has: "lmm_" and 16 hex digits. A
 * client may have taken the obvious one already; the next is tried then. */
void registry_make_name(registry *r, char name[static LMM_NAME_MAX + 1]);

/*
 * registry_check() - whether @uid may add a block of @size bytes.
 * Return: 0, or -EDQUOT with *ret_which naming the limit ("blocks", "bytes").
 */
int registry_check(registry *r, uid_t uid, uint64_t size, const char **ret_which);

/*
 * registry_add() - add a block; @b is filled by the caller except id, which
 * is assigned here, and is owned by the registry from now on.
 * Return: 0, -EEXIST, -EDQUOT, -ENOMEM.
 */
int registry_add(registry *r, registry_block *b);

/* registry_remove() - unlink and free @b. Return: its fd, for the caller to close. */
int registry_remove(registry *r, registry_block *b);

/* registry_after() - the first block whose id is greater than @id, or NULL. */
registry_block *registry_after(const registry *r, uint64_t id);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * registry — the manager's book of blocks, indexed by name, id, inode and
 * connection scope. Plain data: the fields above the line in registry_block,
 * and next_id and next_name in registry, are the state a manager would write
 * to a file to be restarted; nothing in them points into the running process
 * (a connection-scoped block names its connection by id). Pure bookkeeping:
 * it never makes a syscall; it stores each block's fd but never opens or
 * closes one, and registry_remove() hands it back.
 *
 * Cost: lookups by name, inode and scope are O(1) expected, through hash
 * tables keyed with SipHash and a secret key (a peer chooses names, so it
 * must not be able to aim them at one bucket); ids are kept in order in a
 * skip list, so that LIST's cursor finds its place in O(log n) even when the
 * block it names is gone. Tables double when full: O(1) amortized.
 *
 * Guarantees: names are unique within each owner's namespace (a uid's
 * names are its own: no other uid can take one from it); ids are unique, increasing and never
 * reused; a block's user charge is released when it leaves the registry.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "lmm.h"
#include "siphash.h"
#include "user.h"

#define REGISTRY_LEVELS 16 /* skip list: 4^16 blocks before it slows */

typedef struct registry_block {
        uint64_t id;
        uint64_t size;
        uint32_t flags; /* LMM_BLOCK_* */
        uid_t uid;
        pid_t pid;
        uint64_t dev; /* the memfd's st_dev and st_ino: one memory, one block */
        uint64_t ino;
        uint64_t scope; /* id of the connection a connection-scoped block dies with; 0: none */
        /* ---- the running process's, not state ---- */
        int fd;
        /* Its record in the restart state, plus one; 0: none (manager-state.c). */
        uint32_t state_slot;
        user_charge charge; /* one block and its bytes, against uid */
        struct registry_block *by_name, *by_inode, *by_scope; /* hash chains */
        /* The blocks of one scope: only the first is in the scope table. */
        struct registry_block *scope_prev, *scope_next;
        uint8_t level;
        struct registry_block *fwd[]; /* skip list by id, @level of them; then the name */
} registry_block;

typedef struct registry_table {
        registry_block **buckets;
        size_t mask; /* n_buckets - 1; n_buckets is a power of two */
        size_t n;
} registry_table;

typedef struct registry {
        uint64_t next_id;
        uint64_t next_name; /* counter behind the names of unnamed blocks */
        /* ---- indexes ---- */
        uint64_t n_blocks, n_bytes;
        uint8_t key[SIPHASH_KEY_SIZE];
        uint64_t rng;
        registry_table names, inodes, scopes;
        registry_block *head[REGISTRY_LEVELS]; /* first block at each level */
        registry_block *last[REGISTRY_LEVELS]; /* last block at each level */
        uint8_t level;
} registry;

/* registry_init() - an empty registry whose hash tables are keyed with @key (secret, random). */
void registry_init(registry *r, const uint8_t key[static SIPHASH_KEY_SIZE]);

/* registry_done() - free every block and index; the caller has taken every fd already. */
void registry_done(registry *r);

/* registry_block_name() - the block's name, stored with it. */
static inline const char *registry_block_name(const registry_block *b) {
        return (const char *) &b->fwd[b->level];
}

/*
 * registry_block_new() - a block named @name, not yet in the registry, with
 * every field zero and fd -EBADF. Free it with free() if it never enters.
 * Return: NULL when out of memory.
 */
registry_block *registry_block_new(registry *r, const char *name);

/* registry_find() - the block @uid owns under @name, or NULL. */
registry_block *registry_find(const registry *r, uid_t uid, const char *name);

/* registry_find_inode() - the block whose memfd is @dev:@ino, or NULL. */
registry_block *registry_find_inode(const registry *r, uint64_t dev, uint64_t ino);

/* registry_find_scope() - a block scoped to connection @scope (not 0), or NULL. O(1). */
registry_block *registry_find_scope(const registry *r, uint64_t scope);

/* registry_make_name() - a name none of @uid's blocks has: "lmm_" and 16 hex
 * digits from next_name, one counter for all. A client may have taken the
 * obvious one already; the next is tried then. */
void registry_make_name(registry *r, uid_t uid, char name[static LMM_NAME_MAX + 1]);

/*
 * registry_add() - add @b (from registry_block_new(), filled by the caller
 * except id, which is assigned here); the registry owns it from now on, with
 * its charge. Return: 0; -EEXIST for a name its owner uses already, -ENOMEM
 * (nothing changed).
 */
int registry_add(registry *r, registry_block *b);

/*
 * registry_insert() - registry_add() for a block whose id is given, as a
 * restart brings it back: @b->id must be greater than every id in the
 * registry (insert in ascending order); next_id moves past it.
 * Return: 0; -EINVAL for an id out of order, -EEXIST, -ENOMEM (nothing changed).
 */
int registry_insert(registry *r, registry_block *b);

/* registry_remove() - unlink @b, release its charge, free it. Return: its fd, for the caller to close. */
int registry_remove(registry *r, registry_block *b);

/* registry_first() - the block with the lowest id, or NULL. */
static inline registry_block *registry_first(const registry *r) {
        return r->head[0];
}

/* registry_next() - the block after @b in id order, or NULL. */
static inline registry_block *registry_next(const registry_block *b) {
        return b->fwd[0];
}

/* registry_after() - the first block whose id is greater than @id, or NULL. O(log n). */
registry_block *registry_after(const registry *r, uint64_t id);

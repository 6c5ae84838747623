/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * registry — the manager's book of blocks. Plain data: every field above the
 * line in registry_block, and the two counters in registry, are the state a
 * manager would write to a file to be restarted; nothing in them points into
 * the running process (a connection-scoped block names its connection by
 * id). Pure bookkeeping: it never makes a syscall; it stores each block's fd
 * but never opens or closes one, and registry_remove() hands it back.
 *
 * Guarantees: names are unique; ids are unique and never reused; a block's
 * user charge is released when it leaves the registry.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "lmm.h"
#include "user.h"

typedef struct registry_block {
        uint64_t id;
        uint64_t size;
        uint32_t flags; /* LMM_BLOCK_* */
        uid_t uid;
        pid_t pid;
        uint64_t dev; /* the memfd's st_dev and st_ino: one memory, one block */
        uint64_t ino;
        uint64_t scope; /* id of the connection a connection-scoped block dies with; 0: none */
        char name[LMM_NAME_MAX + 1];
        /* ---- the running process's, not state ---- */
        int fd;
        user_charge charge; /* one block and its bytes, against uid */
        struct registry_block *prev, *next;
} registry_block;

typedef struct registry {
        registry_block *head, *tail; /* in id order */
        uint64_t next_id;
        uint64_t next_name; /* counter behind the names of unnamed blocks */
        uint64_t n_blocks, n_bytes;
} registry;

void registry_init(registry *r);

/* registry_done() - free every block; the caller has taken every fd already. */
void registry_done(registry *r);

registry_block *registry_find(const registry *r, const char *name);

/* registry_find_inode() - the block whose memfd is @dev:@ino, or NULL. */
registry_block *registry_find_inode(const registry *r, uint64_t dev, uint64_t ino);

/* registry_make_name() - a name no block has: "lmm_" and 16 hex digits from
 * next_name. A client may have taken the obvious one already; the next is
 * tried then. */
void registry_make_name(registry *r, char name[static LMM_NAME_MAX + 1]);

/*
 * registry_add() - add @b, filled by the caller except id, which is assigned
 * here; the registry owns it from now on, with its charge.
 * Return: 0, -EEXIST for a name in use (nothing changed).
 */
int registry_add(registry *r, registry_block *b);

/* registry_remove() - unlink @b, release its charge, free it. Return: its fd, for the caller to close. */
int registry_remove(registry *r, registry_block *b);

/* registry_after() - the first block whose id is greater than @id, or NULL. */
registry_block *registry_after(const registry *r, uint64_t id);

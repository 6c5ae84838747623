/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * registry — blocks by name and id, and per-uid accounting. See registry.h.
 *
 * Lookups are linear; with the default limit of 4096 blocks per uid a name
 * lookup is a few microseconds. A hash table is the step to take when a
 * profile says so.
 */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry.h"
#include "util.h"

void registry_init(registry *r, uint64_t max_bytes, uint32_t max_blocks, uint32_t max_conns) {
        *r = (registry){
                .next_id = 1,
                .next_name = 1,
                .max_bytes_per_uid = max_bytes,
                .max_blocks_per_uid = max_blocks,
                .max_conns_per_uid = max_conns,
        };
}

void registry_done(registry *r) {
        while (r->head) {
                registry_block *b = r->head;
                r->head = b->next;
                free(b);
        }
        while (r->users) {
                registry_user *u = r->users;
                r->users = u->next;
                free(u);
        }
        r->tail = NULL;
}

registry_block *registry_find(const registry *r, const char *name) {
        for (registry_block *b = r->head; b; b = b->next)
                if (strcmp(b->name, name) == 0)
                        return b;
        return NULL;
}

void registry_make_name(registry *r, char name[static LMM_NAME_MAX + 1]) {
        do
                snprintf(name, LMM_NAME_MAX + 1, "lmm_%016" PRIx64, r->next_name++);
        while (registry_find(r, name));
}

registry_user *registry_user_get(registry *r, uid_t uid) {
        registry_user *u;

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

int registry_check(registry *r, uid_t uid, uint64_t size, const char **ret_which) {
        registry_user *u = registry_user_get(r, uid);

        if (!u)
                return -ENOMEM;
        if (u->n_blocks >= r->max_blocks_per_uid) {
                *ret_which = "blocks";
                return -EDQUOT;
        }
        if (size > r->max_bytes_per_uid || u->n_bytes > r->max_bytes_per_uid - size) {
                *ret_which = "bytes";
                return -EDQUOT;
        }
        return 0;
}

int registry_add(registry *r, registry_block *b) {
        const char *which;
        registry_user *u;
        int ret;

        if (registry_find(r, b->name))
                return -EEXIST;
        ret = registry_check(r, b->uid, b->size, &which);
        if (ret < 0)
                return ret;
        u = registry_user_get(r, b->uid);

        b->id = r->next_id++;
        b->next = NULL;
        b->prev = r->tail;
        if (r->tail)
                r->tail->next = b;
        else
                r->head = b;
        r->tail = b;

        u->n_blocks++;
        u->n_bytes += b->size;
        r->n_blocks++;
        r->n_bytes += b->size;
        return 0;
}

int registry_remove(registry *r, registry_block *b) {
        registry_user *u = registry_user_get(r, b->uid);
        int fd = b->fd;

        /* The user record exists since registry_add(); registry_user_get() cannot allocate here. */
        u->n_blocks--;
        u->n_bytes -= b->size;
        r->n_blocks--;
        r->n_bytes -= b->size;

        if (b->prev)
                b->prev->next = b->next;
        else
                r->head = b->next;
        if (b->next)
                b->next->prev = b->prev;
        else
                r->tail = b->prev;
        free(b);
        return fd;
}

registry_block *registry_after(const registry *r, uint64_t id) {
        for (registry_block *b = r->head; b; b = b->next)
                if (b->id > id)
                        return b;
        return NULL;
}

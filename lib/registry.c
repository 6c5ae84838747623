/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * registry — blocks by name, id and inode. See registry.h.
 *
 * Lookups are linear; with the default limit of 4096 blocks per uid a name
 * lookup is a few microseconds. Indexes are the step to take when a profile
 * says so.
 */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry.h"
#include "util.h"

void registry_init(registry *r) {
        *r = (registry){
                .next_id = 1,
                .next_name = 1,
        };
}

void registry_done(registry *r) {
        while (r->head)
                (void) registry_remove(r, r->head);
}

registry_block *registry_find(const registry *r, const char *name) {
        for (registry_block *b = r->head; b; b = b->next)
                if (strcmp(b->name, name) == 0)
                        return b;
        return NULL;
}

registry_block *registry_find_inode(const registry *r, uint64_t dev, uint64_t ino) {
        for (registry_block *b = r->head; b; b = b->next)
                if (b->ino == ino && b->dev == dev)
                        return b;
        return NULL;
}

void registry_make_name(registry *r, char name[static LMM_NAME_MAX + 1]) {
        do
                snprintf(name, LMM_NAME_MAX + 1, "lmm_%016" PRIx64, r->next_name++);
        while (registry_find(r, name));
}

int registry_add(registry *r, registry_block *b) {
        if (registry_find(r, b->name))
                return -EEXIST;

        b->id = r->next_id++;
        b->next = NULL;
        b->prev = r->tail;
        if (r->tail)
                r->tail->next = b;
        else
                r->head = b;
        r->tail = b;
        r->n_blocks++;
        r->n_bytes += b->size;
        return 0;
}

int registry_remove(registry *r, registry_block *b) {
        int fd = b->fd;

        user_charge_release(&b->charge);
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

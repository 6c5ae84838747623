/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * registry — blocks by name, id, inode and scope. See registry.h.
 */

#include <assert.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry.h"
#include "util.h"

/* ---------------------------------------------------------------- tables */

/* Each table chains blocks through its own link field. */
typedef struct table_kind {
        size_t link; /* offsetof(registry_block, by_...) */
} table_kind;

static const table_kind by_name = { offsetof(registry_block, by_name) };
static const table_kind by_inode = { offsetof(registry_block, by_inode) };
static const table_kind by_scope = { offsetof(registry_block, by_scope) };

static inline registry_block **link_of(const table_kind *k, registry_block *b) {
        return (registry_block **) ((uint8_t *) b + k->link);
}

static uint64_t hash_name(const registry *r, uid_t uid, const char *name) {
        uint8_t buf[sizeof(uint32_t) + LMM_NAME_MAX];
        uint32_t u = (uint32_t) uid;
        size_t n = strnlen(name, LMM_NAME_MAX);

        memcpy(buf, &u, sizeof(u));
        memcpy(buf + sizeof(u), name, n);
        return siphash24(buf, sizeof(u) + n, r->key);
}

static uint64_t hash_u64s(const registry *r, uint64_t a, uint64_t b) {
        uint64_t v[2] = { a, b };
        return siphash24(v, sizeof(v), r->key);
}

static uint64_t hash_of(const registry *r, const table_kind *k, const registry_block *b) {
        if (k == &by_name)
                return hash_name(r, b->uid, registry_block_name(b));
        if (k == &by_inode)
                return hash_u64s(r, b->dev, b->ino);
        return hash_u64s(r, b->scope, 0);
}

static int table_grow(const registry *r, registry_table *t, const table_kind *k) {
        size_t n = t->buckets ? (t->mask + 1) * 2 : 64;
        registry_block **nb = calloc(n, sizeof(*nb));

        if (!nb)
                return -ENOMEM;
        for (size_t i = 0; t->buckets && i <= t->mask; i++)
                for (registry_block *b = t->buckets[i], *next; b; b = next) {
                        size_t j = hash_of(r, k, b) & (n - 1);

                        next = *link_of(k, b);
                        *link_of(k, b) = nb[j];
                        nb[j] = b;
                }
        free(t->buckets);
        t->buckets = nb;
        t->mask = n - 1;
        return 0;
}

/* table_reserve() - room for one more entry, so that table_insert() cannot fail. */
static int table_reserve(const registry *r, registry_table *t, const table_kind *k) {
        if (t->buckets && t->n < t->mask + 1)
                return 0;
        return table_grow(r, t, k);
}

static void table_insert(const registry *r, registry_table *t, const table_kind *k,
                         registry_block *b) {
        size_t i = hash_of(r, k, b) & t->mask;

        *link_of(k, b) = t->buckets[i];
        t->buckets[i] = b;
        t->n++;
}

static void table_remove(const registry *r, registry_table *t, const table_kind *k,
                         registry_block *b) {
        registry_block **p = &t->buckets[hash_of(r, k, b) & t->mask];

        while (*p != b) {
                assert(*p);
                p = link_of(k, *p);
        }
        *p = *link_of(k, b);
        *link_of(k, b) = NULL;
        t->n--;
}

/* ---------------------------------------------------------------- registry */

void registry_init(registry *r, const uint8_t key[static SIPHASH_KEY_SIZE]) {
        *r = (registry){
                .next_id = 1,
                .next_name = 1,
                .level = 1,
        };
        memcpy(r->key, key, SIPHASH_KEY_SIZE);
        /* The skip list's coin: seeded from the key, never zero. */
        r->rng = siphash24("skip", 4, key) | 1;
}

void registry_done(registry *r) {
        while (r->head[0])
                (void) registry_remove(r, r->head[0]);
        free(r->names.buckets);
        free(r->inodes.buckets);
        free(r->scopes.buckets);
        r->names = r->inodes = r->scopes = (registry_table){};
}

/* A level with probability 1/4 for each step up (xorshift64*). */
static uint8_t random_level(registry *r) {
        uint64_t x = r->rng;
        uint8_t level = 1;

        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        r->rng = x;
        x *= UINT64_C(0x2545f4914f6cdd1d);
        while (level < REGISTRY_LEVELS && (x & 3) == 0) {
                level++;
                x >>= 2;
        }
        return level;
}

registry_block *registry_block_new(registry *r, const char *name) {
        uint8_t level = random_level(r);
        size_t len = strlen(name);
        registry_block *b;

        b = calloc(1, sizeof(*b) + level * sizeof(b->fwd[0]) + len + 1);
        if (!b)
                return NULL;
        b->fd = -EBADF;
        b->level = level;
        memcpy((char *) registry_block_name(b), name, len + 1);
        return b;
}

registry_block *registry_find(const registry *r, uid_t uid, const char *name) {
        if (!r->names.buckets)
                return NULL;
        for (registry_block *b = r->names.buckets[hash_name(r, uid, name) & r->names.mask]; b;
             b = b->by_name)
                if (b->uid == uid && strcmp(registry_block_name(b), name) == 0)
                        return b;
        return NULL;
}

registry_block *registry_find_inode(const registry *r, uint64_t dev, uint64_t ino) {
        if (!r->inodes.buckets)
                return NULL;
        for (registry_block *b = r->inodes.buckets[hash_u64s(r, dev, ino) & r->inodes.mask]; b;
             b = b->by_inode)
                if (b->ino == ino && b->dev == dev)
                        return b;
        return NULL;
}

registry_block *registry_find_scope(const registry *r, uint64_t scope) {
        if (!r->scopes.buckets || scope == 0)
                return NULL;
        for (registry_block *b = r->scopes.buckets[hash_u64s(r, scope, 0) & r->scopes.mask]; b;
             b = b->by_scope)
                if (b->scope == scope)
                        return b;
        return NULL;
}

void registry_make_name(registry *r, uid_t uid, char name[static LMM_NAME_MAX + 1]) {
        static const char hex[] = "0123456789abcdef";

        /* "lmm_%016" PRIx64 by hand: snprintf() was most of the cost of naming. */
        memcpy(name, "lmm_", 4);
        name[20] = 0;
        do {
                uint64_t v = r->next_name++;

                for (int i = 19; i >= 4; i--, v >>= 4)
                        name[i] = hex[v & 15];
        } while (registry_find(r, uid, name));
}

/* The scope table holds the first block of each scope; the rest hang off it. */
static void scope_link(registry *r, registry_block *b) {
        registry_block *first = registry_find_scope(r, b->scope);

        if (!first) {
                b->scope_prev = b->scope_next = NULL;
                table_insert(r, &r->scopes, &by_scope, b);
                return;
        }
        b->scope_prev = first;
        b->scope_next = first->scope_next;
        if (first->scope_next)
                first->scope_next->scope_prev = b;
        first->scope_next = b;
}

static void scope_unlink(registry *r, registry_block *b) {
        if (b->scope_prev) {
                b->scope_prev->scope_next = b->scope_next;
                if (b->scope_next)
                        b->scope_next->scope_prev = b->scope_prev;
                return;
        }
        table_remove(r, &r->scopes, &by_scope, b);
        if (b->scope_next) {
                b->scope_next->scope_prev = NULL;
                table_insert(r, &r->scopes, &by_scope, b->scope_next);
        }
}

/* index_block() - put @b, whose id is greater than any in @r, in every index. */
static int index_block(registry *r, registry_block *b) {
        if (registry_find(r, b->uid, registry_block_name(b)))
                return -EEXIST;
        /* Room in every table first, so that nothing fails half-way. */
        if (table_reserve(r, &r->names, &by_name) < 0 ||
            table_reserve(r, &r->inodes, &by_inode) < 0 ||
            (b->scope && table_reserve(r, &r->scopes, &by_scope) < 0))
                return -ENOMEM;

        /* Ids only grow: the new block goes last at each of its levels. */
        for (uint8_t i = 0; i < b->level; i++) {
                b->fwd[i] = NULL;
                if (r->last[i])
                        r->last[i]->fwd[i] = b;
                else
                        r->head[i] = b;
                r->last[i] = b;
        }
        if (b->level > r->level)
                r->level = b->level;
        table_insert(r, &r->names, &by_name, b);
        table_insert(r, &r->inodes, &by_inode, b);
        if (b->scope)
                scope_link(r, b);
        r->n_blocks++;
        r->n_bytes += b->size;
        return 0;
}

int registry_add(registry *r, registry_block *b) {
        int ret;

        b->id = r->next_id;
        ret = index_block(r, b);
        if (ret == 0)
                r->next_id++;
        return ret;
}

int registry_insert(registry *r, registry_block *b) {
        int ret;

        if (b->id == 0 || b->id == UINT64_MAX || (r->last[0] && b->id <= r->last[0]->id))
                return -EINVAL;
        ret = index_block(r, b);
        if (ret == 0 && r->next_id <= b->id)
                r->next_id = b->id + 1;
        return ret;
}

int registry_remove(registry *r, registry_block *b) {
        registry_block *pred[REGISTRY_LEVELS] = {};
        registry_block *x = NULL; /* NULL: the heads */
        int fd = b->fd;

        /* The last block before @b at each level. */
        for (int i = r->level - 1; i >= 0; i--) {
                for (;;) {
                        registry_block *n = x ? x->fwd[i] : r->head[i];

                        if (!n || n->id >= b->id)
                                break;
                        x = n;
                }
                pred[i] = x;
        }
        for (uint8_t i = 0; i < b->level; i++) {
                if (pred[i])
                        pred[i]->fwd[i] = b->fwd[i];
                else
                        r->head[i] = b->fwd[i];
                if (r->last[i] == b)
                        r->last[i] = pred[i];
        }

        table_remove(r, &r->names, &by_name, b);
        table_remove(r, &r->inodes, &by_inode, b);
        if (b->scope)
                scope_unlink(r, b);
        user_charge_release(&b->charge);
        r->n_blocks--;
        r->n_bytes -= b->size;
        free(b);
        return fd;
}

registry_block *registry_after(const registry *r, uint64_t id) {
        registry_block *x = NULL;

        for (int i = r->level - 1; i >= 0; i--)
                for (;;) {
                        registry_block *n = x ? x->fwd[i] : r->head[i];

                        if (!n || n->id > id)
                                break;
                        x = n;
                }
        return x ? x->fwd[0] : r->head[0];
}

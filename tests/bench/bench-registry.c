/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench-registry — the pure registry at a thousand and at a million blocks:
 * the cost of each lookup and change, and the heap each block takes with its
 * indexes. Prints numbers; fails only on a functional error, never on a time.
 */

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "registry.h"

typedef struct result {
        double add, find, inode, after, remove, bytes;
} result;

static int run(size_t n, result *ret) {
        static const uint8_t key[SIPHASH_KEY_SIZE] = "bench-registry!";
        registry_block **blocks = calloc(n, sizeof(*blocks));
        size_t heap0, probes = n < 100000 ? n : 100000;
        registry reg;
        char name[32];
        uint64_t t, sink = 0;

        if (!blocks)
                return -1;
        heap0 = mallinfo2().uordblks;
        registry_init(&reg, key);

        t = now_ns();
        for (size_t i = 0; i < n; i++) {
                snprintf(name, sizeof(name), "block-%zu", i);
                blocks[i] = registry_block_new(&reg, name);
                if (!blocks[i])
                        return -1;
                blocks[i]->size = 4096;
                blocks[i]->dev = 1;
                blocks[i]->ino = 1000 + i;
                blocks[i]->scope = i % 3 ? 0 : 1 + i % 97;
                if (registry_add(&reg, blocks[i]) < 0)
                        return -1;
        }
        ret->add = (double) (now_ns() - t) / (double) n;
        ret->bytes = (double) (mallinfo2().uordblks - heap0) / (double) n;

        t = now_ns();
        for (size_t k = 0; k < probes; k++) {
                size_t i = (k * 2654435761u) % n;
                snprintf(name, sizeof(name), "block-%zu", i);
                if (registry_find(&reg, 0, name) != blocks[i])
                        return -1;
        }
        ret->find = (double) (now_ns() - t) / (double) probes;

        t = now_ns();
        for (size_t k = 0; k < probes; k++) {
                size_t i = (k * 2654435761u) % n;
                if (registry_find_inode(&reg, 1, 1000 + i) != blocks[i])
                        return -1;
        }
        ret->inode = (double) (now_ns() - t) / (double) probes;

        /* LIST's cursor after its block is gone: remove every other block first. */
        for (size_t i = 0; i < n; i += 2) {
                (void) registry_remove(&reg, blocks[i]);
                blocks[i] = NULL;
        }
        t = now_ns();
        for (size_t k = 0; k < probes; k++) {
                size_t i = ((k * 2654435761u) % n) & ~(size_t) 1;
                registry_block *b = registry_after(&reg, (uint64_t) i + 1); /* block i had id i+1 */
                if (i + 1 < n && b != blocks[i + 1])
                        return -1;
                sink += b ? b->id : 0;
        }
        ret->after = (double) (now_ns() - t) / (double) probes;

        t = now_ns();
        for (size_t i = 1; i < n; i += 2)
                (void) registry_remove(&reg, blocks[i]);
        ret->remove = (double) (now_ns() - t) / (double) (n / 2);
        registry_done(&reg);
        free(blocks);
        return sink == 0 && n > 2 ? -1 : 0;
}

int main(void) {
        static const size_t sizes[] = { 1000, 1000000 };
        result r[2];

        for (int i = 0; i < 2; i++)
                if (run(sizes[i], &r[i]) < 0) {
                        fprintf(stderr, "bench-registry: the registry lost a block at %zu\n",
                                sizes[i]);
                        return 1;
                }
        printf("registry, ns per operation      %10s %10s %8s\n", "1,000", "1,000,000", "ratio");
#define ROW(label, f) \
        printf("  %-30s %10.0f %10.0f %8.2f\n", label, r[0].f, r[1].f, r[1].f / r[0].f)
        ROW("add", add);
        ROW("find by name", find);
        ROW("find by inode", inode);
        ROW("after a removed cursor", after);
        ROW("remove", remove);
        printf("  %-30s %10.0f %10.0f\n", "heap bytes per block", r[0].bytes, r[1].bytes);
        return 0;
}

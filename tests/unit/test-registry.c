/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-registry — the book of blocks and its indexes: names unique, ids
 * increasing and never reused, lookups by name, inode and scope, LIST's
 * cursor finding its place when the block it names is gone; and a random
 * run of adds and removes checked against a plain array.
 */

#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <errno.h>
#include <stdio.h>

#include "registry.h"

static const uint8_t key[SIPHASH_KEY_SIZE] = "0123456789abcdef";
static registry reg;

static void setup(void) {
        registry_init(&reg, key);
}

static void teardown(void) {
        registry_done(&reg);
}

TestSuite(registry, .init = setup, .fini = teardown);

static registry_block *add(const char *name, uint64_t ino, uint64_t scope) {
        registry_block *b = registry_block_new(&reg, name);

        cr_assert_not_null(b);
        b->size = 4096;
        b->dev = 1;
        b->ino = ino;
        b->scope = scope;
        b->fd = (int) ino;
        cr_assert_eq(registry_add(&reg, b), 0, "add %s", name);
        return b;
}

Test(registry, siphash_matches_the_papers_vector) {
        uint8_t k[16], in[15];

        for (int i = 0; i < 16; i++)
                k[i] = (uint8_t) i;
        for (int i = 0; i < 15; i++)
                in[i] = (uint8_t) i;
        cr_assert_eq(siphash24(in, sizeof(in), k), UINT64_C(0xa129ca6149be45e5));
}

Test(registry, names_unique_ids_increasing) {
        registry_block *a = add("a", 10, 0), *b = add("b", 11, 0), *dup;

        cr_assert_lt(a->id, b->id);
        cr_assert_eq(registry_find(&reg, 0, "a"), a);
        cr_assert_str_eq(registry_block_name(b), "b");
        dup = registry_block_new(&reg, "a");
        cr_assert_eq(registry_add(&reg, dup), -EEXIST);
        free(dup);
        cr_assert_eq(registry_remove(&reg, a), 10);
        cr_assert_null(registry_find(&reg, 0, "a"));
        a = add("a", 12, 0);
        cr_assert_gt(a->id, b->id, "ids are never reused");
        cr_assert_eq(reg.n_blocks, 2);
        cr_assert_eq(reg.n_bytes, 8192);
}

Test(registry, each_owner_has_a_namespace) {
        registry_block *a = registry_block_new(&reg, "config"),
                       *b = registry_block_new(&reg, "config");

        a->uid = 1000;
        b->uid = 2000;
        b->ino = 1;
        cr_assert_eq(registry_add(&reg, a), 0);
        cr_assert_eq(registry_add(&reg, b), 0, "another uid's name is no obstacle");
        cr_assert_eq(registry_find(&reg, 1000, "config"), a);
        cr_assert_eq(registry_find(&reg, 2000, "config"), b);
        cr_assert_null(registry_find(&reg, 3000, "config"));
}

Test(registry, generated_names_skip_taken_ones) {
        char name[LMM_NAME_MAX + 1];

        add("lmm_0000000000000001", 1, 0);
        registry_make_name(&reg, 0, name);
        cr_assert_str_eq(name, "lmm_0000000000000002");
}

Test(registry, generated_names_are_lmm_and_16_hex_digits) {
        char name[LMM_NAME_MAX + 1], want[32];

        for (uint64_t n = 1; n < 40; n++) {
                registry_make_name(&reg, 0, name);
                cr_assert_str_eq(name, (snprintf(want, sizeof(want), "lmm_%016" PRIx64, n), want));
        }
        reg.next_name = UINT64_C(0xfedcba9876543210);
        registry_make_name(&reg, 0, name);
        cr_assert_str_eq(name, "lmm_fedcba9876543210");
}

Test(registry, inode_and_scope_indexes) {
        add("x", 100, 7);
        add("y", 101, 7);
        add("z", 102, 8);
        cr_assert_str_eq(registry_block_name(registry_find_inode(&reg, 1, 101)), "y");
        cr_assert_null(registry_find_inode(&reg, 2, 101), "the device is part of the key");
        cr_assert_null(registry_find_scope(&reg, 0));
        for (int n = 0; n < 2; n++) {
                registry_block *b = registry_find_scope(&reg, 7);
                cr_assert_not_null(b);
                registry_remove(&reg, b);
        }
        cr_assert_null(registry_find_scope(&reg, 7));
        cr_assert_str_eq(registry_block_name(registry_find_scope(&reg, 8)), "z");
}

Test(registry, cursor_survives_the_removal_of_its_block) {
        registry_block *b[5];
        uint64_t id2;

        for (int i = 0; i < 5; i++) {
                char name[8];
                snprintf(name, sizeof(name), "b%d", i);
                b[i] = add(name, (uint64_t) i + 1, 0);
        }
        id2 = b[2]->id;
        cr_assert_eq(registry_after(&reg, 0), b[0]);
        cr_assert_eq(registry_after(&reg, id2), b[3]);
        registry_remove(&reg, b[2]);
        registry_remove(&reg, b[3]);
        cr_assert_eq(registry_after(&reg, id2), b[4]);
        cr_assert_null(registry_after(&reg, b[4]->id));
        registry_remove(&reg, b[4]);
        cr_assert_null(registry_after(&reg, 0)->fwd[0]->fwd[0]);
        cr_assert_eq(registry_after(&reg, id2), NULL);
        /* The tail moved back: a new block still goes last. */
        b[2] = add("new", 99, 0);
        cr_assert_eq(registry_next(b[1]), b[2]);
}

/* A random run against a plain array: every index agrees with it at every step. */
Test(registry, random_run_matches_a_model, .timeout = 60) {
        enum { N = 2000, STEPS = 40000 };
        static registry_block *model[N];
        uint64_t x = 88172645463325252u;
        unsigned live = 0;

        for (int step = 0; step < STEPS; step++) {
                unsigned i;

                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                i = (unsigned) (x % N);
                if (!model[i]) {
                        char name[16];
                        snprintf(name, sizeof(name), "n%u", i);
                        model[i] = add(name, 1000 + i, (x >> 20) % 4);
                        live++;
                } else {
                        cr_assert_eq(registry_remove(&reg, model[i]), (int) (1000 + i));
                        model[i] = NULL;
                        live--;
                }
                if (step % 997 == 0) {
                        uint64_t last = 0;
                        unsigned n = 0;

                        for (registry_block *b = registry_first(&reg); b; b = registry_next(b)) {
                                cr_assert_gt(b->id, last);
                                cr_assert_eq(registry_after(&reg, last), b);
                                last = b->id;
                                n++;
                        }
                        cr_assert_eq(n, live);
                        for (unsigned k = 0; k < N; k++) {
                                char name[16];
                                snprintf(name, sizeof(name), "n%u", k);
                                cr_assert_eq(registry_find(&reg, 0, name), model[k]);
                                cr_assert_eq(registry_find_inode(&reg, 1, 1000 + k), model[k]);
                        }
                }
        }
        cr_assert_eq(reg.n_blocks, live);
}

Test(registry, insert_keeps_the_ids_a_restart_brings_back) {
        uint64_t ids[] = { 3, 8, 1000 };
        registry_block *b;

        for (size_t i = 0; i < 3; i++) {
                char name[8];

                snprintf(name, sizeof(name), "r%zu", i);
                b = registry_block_new(&reg, name);
                b->id = ids[i];
                b->ino = 100 + i;
                b->fd = (int) (100 + i);
                cr_assert_eq(registry_insert(&reg, b), 0);
        }
        cr_assert_eq(reg.next_id, 1001, "the next id is past the last one inserted");
        cr_assert_eq(registry_after(&reg, 3)->id, 8);

        /* Out of order, or 0, is refused, and nothing changes. */
        b = registry_block_new(&reg, "late");
        b->id = 500;
        cr_assert_eq(registry_insert(&reg, b), -EINVAL);
        b->id = 0;
        cr_assert_eq(registry_insert(&reg, b), -EINVAL);
        b->id = 2000;
        b->ino = 1;
        cr_assert_eq(registry_insert(&reg, b), 0);
        cr_assert_eq(reg.n_blocks, 4);

        /* A block added afterwards gets an id past every one of them. */
        cr_assert_gt(add("new", 7, 0)->id, 2000);
}

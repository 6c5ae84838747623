/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * gen-corpus-state — writes the seed corpus of the state fuzzer: restart
 * states that a restore accepts, each with its header and slots at their
 * edges (no slot; free slots only; names of 1 and LMM_NAME_MAX bytes, bytes
 * >= 0x80; every flag lmmd records; sizes, ids, uids, pids, inodes at 1 and
 * at their largest; a table longer than its header says; counters and
 * generation at their largest). The output is committed in
 * tests/fuzz/corpus-state/; run this again after a change to the layout:
 *
 *   ninja -C build tests/fuzz/gen-corpus-state
 *   rm -f tests/fuzz/corpus-state/\* && build/tests/fuzz/gen-corpus-state tests/fuzz/corpus-state
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "splitmix64.h"
#include "state.h"

static size_t n_seeds;

static int write_seed(const char *dir, const char *name, const uint8_t *buf, size_t len) {
        char path[4096];
        FILE *f;

        snprintf(path, sizeof(path), "%s/%02zu-%s", dir, n_seeds++, name);
        f = fopen(path, "we");
        if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
                fprintf(stderr, "gen-corpus-state: %s: %s\n", path, strerror(errno));
                return -1;
        }
        return 0;
}

/* A valid block record, its fields chosen by @variant. */
static void sample_slot(state_slot *s, uint64_t *rng, unsigned variant) {
        static const uint32_t flags[] = {
                0,
                LMM_BLOCK_FROZEN,
                LMM_BLOCK_HUGETLB,
                LMM_BLOCK_ADOPTED | LMM_BLOCK_FROZEN,
                LMM_BLOCK_OTHERS_READ,
                LMM_BLOCK_OTHERS_READ | LMM_BLOCK_OTHERS_WRITE,
                STATE_SLOT_FLAGS,
        };
        static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789 ._-:~\xc3\xa9";
        size_t n = variant % 3 == 0 ? 1 : variant % 3 == 1 ? LMM_NAME_MAX : 1 + variant % 40;

        *s = (state_slot){
                .id = variant == 1 ? UINT64_MAX - 1 : 1 + variant * 7,
                .size = variant == 2 ? (uint64_t) INT64_MAX : 4096 * (1 + variant % 5),
                .dev = variant == 3 ? UINT64_MAX : 1 + splitmix64(rng) % 1000,
                .ino = variant == 4 ? UINT64_MAX : splitmix64(rng),
                .flags = flags[variant % (sizeof(flags) / sizeof(flags[0]))],
                .uid = variant == 5 ? UINT32_MAX - 1
                                    : (uint32_t) (variant % 2 ? 0 : 1000 + variant),
                .pid = variant == 6 ? INT32_MAX : (int32_t) (variant * 13),
        };
        for (size_t i = 0; i < n; i++)
                s->name[i] = alphabet[splitmix64(rng) % (sizeof(alphabet) - 1)];
        s->name[n] = 0;
}

/* state() - a state of @n_slots, with a block in every slot @used says, and @extra bytes more. */
static int state(const char *dir, const char *name, uint64_t n_slots, const state_header *h,
                 bool (*used)(uint64_t i), size_t extra) {
        size_t len = (size_t) state_size(n_slots) + extra;
        uint8_t *buf = calloc(1, len);
        uint64_t rng = n_slots * 31 + extra;
        state_header hh = *h;
        int r;

        if (!buf)
                return -1;
        hh.n_slots = n_slots;
        state_header_encode(&hh, buf);
        for (uint64_t i = 0; i < n_slots; i++) {
                state_slot s;

                if (!used || !used(i))
                        continue;
                sample_slot(&s, &rng, (unsigned) i);
                state_slot_encode(&s, buf + state_slot_offset(i));
        }
        r = write_seed(dir, name, buf, len);
        free(buf);
        return r;
}

static bool all(uint64_t i) {
        return true;
}
static bool every_third(uint64_t i) {
        return i % 3 == 0;
}
static bool first(uint64_t i) {
        return i == 0;
}
static bool last_of_64(uint64_t i) {
        return i == 63;
}

int main(int argc, char **argv) {
        const state_header h = { .next_id = 1, .next_name = 1 };
        const state_header big = { .next_id = UINT64_MAX,
                                   .next_name = UINT64_MAX,
                                   .generation = UINT64_MAX };
        const state_header later = { .next_id = 4096, .next_name = 300, .generation = 7 };

        if (argc != 2) {
                fprintf(stderr, "usage: %s DIR\n", argv[0]);
                return 2;
        }
        if (state(argv[1], "empty", 0, &h, NULL, 0) < 0 ||
            state(argv[1], "free-64", 64, &h, NULL, 0) < 0 ||
            state(argv[1], "one", 1, &later, first, 0) < 0 ||
            state(argv[1], "full-16", 16, &later, all, 0) < 0 ||
            state(argv[1], "sparse-64", 64, &later, every_third, 0) < 0 ||
            state(argv[1], "last-of-64", 64, &h, last_of_64, 0) < 0 ||
            state(argv[1], "grown-before-header", 8, &later, every_third, 8 * STATE_RECORD_SIZE) <
                    0 ||
            state(argv[1], "tail-bytes", 4, &later, all, 100) < 0 ||
            state(argv[1], "counters-at-max", 3, &big, all, 0) < 0 ||
            state(argv[1], "full-40", 40, &later, all, 0) < 0)
                return 1;
        printf("gen-corpus-state: %zu seeds in %s\n", n_seeds, argv[1]);
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * fuzz-target — what each fuzz target defines: the libFuzzer entry point,
 * and for fuzz-main.c, the runner that replays a corpus without libFuzzer,
 * what it needs to know about the target's input format; and how a target
 * reports a failure (fuzz_check()).
 */

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* The libFuzzer entry point; fuzz-main.c calls it too. Return: always 0. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct fuzz_target {
        /* Names the target in fuzz-main's messages. */
        const char *name;
        /* Mutations grow an input up to this size (plus a little), no further. */
        size_t max_size;
        /* check_seed() - whether @data is an input the target accepts (a message
         * that decodes, a list that opens), as every committed seed must be:
         * fuzz-main --seeds-must-be-valid. Return: 0, or a negative errno. */
        int (*check_seed)(const uint8_t *data, size_t size);
        /* fixup() - optional: make a mutated input consistent where the format
         * states something twice (a length in a header), in place, so that
         * mutations get past the first check. Applied to half the mutations. */
        void (*fixup)(uint8_t *data, size_t size);
} fuzz_target;

/* Each target defines it, for fuzz-main.c and fuzz_check(). */
extern const fuzz_target fuzz_target_info;

/* fuzz_check() - unless @cond holds, say what failed and abort, which libFuzzer reports as a crash. */
#define fuzz_check(cond, ...)                                           \
        do {                                                            \
                if (!(cond)) {                                          \
                        fprintf(stderr, "%s: ", fuzz_target_info.name); \
                        fprintf(stderr, __VA_ARGS__);                   \
                        fputc('\n', stderr);                            \
                        abort();                                        \
                }                                                       \
        } while (0)

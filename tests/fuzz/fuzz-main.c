/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz-main — runs a libFuzzer target without libFuzzer, as a regular test:
 * every file of a seed corpus, then deterministic mutations of each seed
 * (bit flips, interesting bytes, truncations, extensions, each left alone
 * or made consistent by the target's fixup()), from a fixed seed and
 * bounded in time. Every input is handed over in an allocation of exactly
 * its size, so that ASan sees any read past it. Linked with one target,
 * which describes its input format in fuzz_target_info (fuzz-target.h).
 *
 * Usage: fuzz-TARGET-replay [--seeds-must-be-valid] [--seconds N] DIR|FILE...
 */

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "fuzz-target.h"
#include "splitmix64.h"

typedef struct input {
        uint8_t *data;
        size_t size;
        char *path; /* NULL for a mutation */
} input;

static input *inputs;
static size_t n_inputs;
static uint64_t n_runs;

static double now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static void run(const uint8_t *data, size_t size) {
        uint8_t *copy = malloc(size ? size : 1);

        if (!copy)
                abort();
        memcpy(copy, data, size);
        LLVMFuzzerTestOneInput(copy, size);
        free(copy);
        n_runs++;
}

static int load_file(const char *path) {
        struct stat st;
        FILE *f;
        input in;

        f = fopen(path, "re");
        if (!f || fstat(fileno(f), &st) < 0) {
                fprintf(stderr, "fuzz-main: %s: %s\n", path, strerror(errno));
                if (f)
                        fclose(f);
                return -1;
        }
        in.size = (size_t) st.st_size;
        in.data = malloc(in.size ? in.size : 1);
        in.path = strdup(path);
        if (!in.data || !in.path || fread(in.data, 1, in.size, f) != in.size) {
                fprintf(stderr, "fuzz-main: cannot read %s\n", path);
                fclose(f);
                return -1;
        }
        fclose(f);
        inputs = realloc(inputs, (n_inputs + 1) * sizeof(*inputs));
        if (!inputs)
                abort();
        inputs[n_inputs++] = in;
        return 0;
}

static int load(const char *path) {
        struct stat st;
        struct dirent **ents;
        int n, r = 0;

        if (stat(path, &st) < 0) {
                fprintf(stderr, "fuzz-main: %s: %s\n", path, strerror(errno));
                return -1;
        }
        if (!S_ISDIR(st.st_mode))
                return load_file(path);
        /* sorted, so that the mutations are the same on every run */
        n = scandir(path, &ents, NULL, alphasort);
        if (n < 0)
                return -1;
        for (int i = 0; i < n; i++) {
                char p[4096];

                if (ents[i]->d_name[0] != '.') {
                        snprintf(p, sizeof(p), "%s/%s", path, ents[i]->d_name);
                        if (stat(p, &st) == 0 && S_ISREG(st.st_mode) && load_file(p) < 0)
                                r = -1;
                }
                free(ents[i]);
        }
        free(ents);
        return r;
}

/* One mutation of @in into @out (room for max(max_size, @in->size) + 16). Return: its size. */
static size_t mutate(const input *in, uint8_t *out, uint64_t *s) {
        static const uint8_t interesting[] = { 0x00, 0x01, 0x02, 0x1f, 0x20, 0x2f,
                                               0x7f, 0x80, 0xc8, 0xc9, 0xfe, 0xff };
        size_t n = in->size;
        uint64_t x = splitmix64(s);

        if (out != in->data)
                memcpy(out, in->data, n);
        switch (x % 6) {
        case 0: /* flip one bit */
        case 1:
                if (n)
                        out[(x >> 8) % n] ^= (uint8_t) (1u << ((x >> 4) % 8));
                break;
        case 2: /* an interesting byte somewhere */
                if (n)
                        out[(x >> 8) % n] = interesting[(x >> 4) % sizeof(interesting)];
                break;
        case 3: /* truncate */
                n = n ? (size_t) ((x >> 8) % n) : 0;
                break;
        case 4: { /* extend with random bytes */
                size_t k = 1 + (x >> 8) % 16;
                for (size_t i = 0; i < k && n < fuzz_target_info.max_size + 16; i++)
                        out[n++] = (uint8_t) splitmix64(s);
                break;
        }
        default: /* a random 16-bit field, little-endian, where a length or count may sit */
                if (n >= 2) {
                        size_t at = (x >> 8) % (n - 1);
                        uint64_t v = splitmix64(s);
                        out[at] = (uint8_t) v;
                        out[at + 1] = (uint8_t) (v >> 8);
                }
        }
        /* half the time, keep the input consistent so that the checks past the first are reached */
        if (((x >> 40) & 1) && fuzz_target_info.fixup)
                fuzz_target_info.fixup(out, n);
        return n;
}

int main(int argc, char **argv) {
        const char *name = fuzz_target_info.name;
        uint8_t *out;
        bool must_be_valid = false;
        double seconds = 3, start, deadline;
        uint64_t s = 0x6c6d6d2d77697265; /* fixed ("lmm-wire"), so every run is the same */
        size_t n_seed_runs, rounds = 0, out_size = fuzz_target_info.max_size;

        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--seeds-must-be-valid") == 0)
                        must_be_valid = true;
                else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
                        seconds = atof(argv[++i]);
                else if (load(argv[i]) < 0)
                        return 1;
        }
        if (n_inputs == 0) {
                fprintf(stderr, "%s: no inputs\n", name);
                return 1;
        }
        for (size_t i = 0; i < n_inputs; i++)
                out_size = inputs[i].size > out_size ? inputs[i].size : out_size;
        out = malloc(out_size + 16);
        if (!out)
                abort();

        start = now();
        for (size_t i = 0; i < n_inputs; i++) {
                if (must_be_valid) {
                        int r = fuzz_target_info.check_seed(inputs[i].data, inputs[i].size);
                        if (r < 0) {
                                fprintf(stderr, "%s: seed %s is not valid: %s\n", name,
                                        inputs[i].path, strerror(-r));
                                return 1;
                        }
                }
                run(inputs[i].data, inputs[i].size);
        }
        n_seed_runs = n_runs;

        /* exhaustive single-bit flips and every truncation of the small seeds */
        for (size_t i = 0; i < n_inputs; i++) {
                if (inputs[i].size > 512)
                        continue;
                for (size_t bit = 0; bit < inputs[i].size * 8; bit++) {
                        memcpy(out, inputs[i].data, inputs[i].size);
                        out[bit / 8] ^= (uint8_t) (1u << (bit % 8));
                        run(out, inputs[i].size);
                }
                for (size_t k = 0; k < inputs[i].size; k++)
                        run(inputs[i].data, k);
        }

        /* random mutations, round-robin over the seeds, until the deadline */
        deadline = start + seconds;
        while (now() < deadline) {
                for (size_t i = 0; i < n_inputs; i++) {
                        input cur = inputs[i];
                        size_t n = 0;

                        /* stack a few mutations: one flip is rarely enough past a length check */
                        for (unsigned k = 0; k < 1 + (rounds % 4); k++) {
                                n = mutate(&cur, out, &s);
                                cur = (input){ .data = out, .size = n };
                        }
                        run(out, n);
                }
                rounds++;
        }

        printf("%s: %zu inputs, %zu seed runs, %" PRIu64 " runs in %.1f s, no failure\n", name,
               n_inputs, n_seed_runs, n_runs, now() - start);
        free(out);
        return 0;
}

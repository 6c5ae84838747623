/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * bench — what the benchmark programs share: the clock, samples and their
 * median and p99, CPU pinning, what the machine is, memory read off /proc
 * and the memory cgroup, the Python side of a comparison, and one results
 * table printed for people (a table) or for machines (JSON).
 *
 * A benchmark fails only on a functional error (bench_die()), never on a
 * time: the machines it runs on are shared, and their figures swing.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#ifndef ELEMENTSOF
#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))
#endif

uint64_t now_ns(void);

/* bench_die() - report a functional error and exit 1. */
_Noreturn void bench_die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- samples ---- */

typedef struct samples {
        uint64_t *v; /* nanoseconds, or whatever unit the caller keeps */
        size_t n, cap;
} samples;

void samples_add(samples *s, uint64_t x);
void samples_clear(samples *s);
void samples_free(samples *s);

typedef struct stats {
        double median, p99; /* in the samples' unit */
        size_t n;
} stats;

/* samples_stats() - median and 99th percentile (nearest rank); sorts @s. */
stats samples_stats(samples *s);

/* ---- pinning ---- */

/* Where a measurement runs: the scheduler's choice, or every process of it on one CPU. */
typedef enum placement {
        UNPINNED,
        PINNED,
        _PLACEMENT_MAX,
} placement;

/* place() - pin the calling process to CPU 0, or let it run anywhere; children inherit it. */
void place(placement p);

/* ---- the machine ---- */

typedef struct machine {
        long n_cpus;
        char cpu[128];
        char kernel[128];
        char load_start[64], load_end[64]; /* /proc/loadavg's first three fields */
        uint64_t nofile_hard;
        char python[64]; /* "3.11.7", or "" when Python's side was skipped */
        char python_note[160];
} machine;

void machine_read(machine *m);
void loadavg_read(char *buf, size_t size);

/* ---- memory ---- */

/* proc_cpu_ns() - the CPU time @pid's main thread has had (schedstat), or -1. */
int64_t proc_cpu_ns(pid_t pid);

/* proc_private_bytes() - Private_Clean + Private_Dirty of @pid (smaps_rollup), or -1. */
int64_t proc_private_bytes(pid_t pid);

/*
 * kernel_bytes() - kernel memory charged so far, and where it was read:
 * this process's memory cgroup (v1 memory.kmem.usage_in_bytes, v2
 * memory.stat "kernel"), which counts only what this cgroup's processes
 * allocate; else /proc/meminfo's Slab, which counts the whole machine.
 */
int64_t kernel_bytes(const char **ret_source);

/* ---- Python's side ---- */

typedef struct py_result {
        char key[64];
        double median, p99; /* as the script printed them */
        size_t n;
} py_result;

typedef struct python {
        const char *script; /* NULL: skipped */
        char version[64];
        char note[160]; /* why it was skipped */
        py_result *results;
        size_t n_results;
} python;

/*
 * python_init() - find python3 with multiprocessing.shared_memory, to run
 * @script with; when there is none, say so in @py->note.
 */
void python_init(python *py, const char *script);

/* python_run() - run the script with @args (NULL-terminated); its results join @py's. */
int python_run(python *py, const char *const *args);

/* python_get() - the latest result named @key, or NULL. */
const py_result *python_get(const python *py, const char *key);

void python_done(python *py);

/* ---- the results table ---- */

typedef struct row {
        const char *section;
        char key[64];     /* for machines: section.key, stable across runs */
        char label[96];   /* for people */
        const char *unit; /* "us", "ns", "blocks/s", "bytes", "x" */
        struct {
                bool valid;
                double median, p99;
                size_t n;
        } at[_PLACEMENT_MAX];
        char note[192];
} row;

typedef struct table {
        row *rows;
        size_t n_rows;
        struct {
                char what[128];
                double value;
                char target[48];
                bool met;
                char note[192];
        } targets[32];
        size_t n_targets;
        char notes[16][256];
        size_t n_notes;
} table;

/* table_row() - the row @section.@key, made with @label and @unit when new. */
row *table_row(table *t, const char *section, const char *key, const char *label, const char *unit);
/* table_put() - the figures of @section.@key for @p. */
void table_put(table *t, const char *section, const char *key, placement p, double median,
               double p99, size_t n);
/* table_get() - a median, or 0 when it was not measured. */
double table_get(const table *t, const char *section, const char *key, placement p);
void table_target(table *t, const char *what, double value, const char *target, bool met,
                  const char *note);
void table_note(table *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Section titles for people, in print order. */
typedef struct table_section {
        const char *id, *title;
} table_section;

void table_print(const table *t, const table_section *sections, size_t n_sections, const machine *m,
                 FILE *f);
void table_print_json(const table *t, const machine *m, bool quick, FILE *f);

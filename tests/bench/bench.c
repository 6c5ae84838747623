/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench — the clock, statistics, pinning, machine and memory readings, the
 * Python runner and the results table of the benchmark programs. See bench.h.
 */

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

uint64_t now_ns(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

void bench_die(const char *fmt, ...) {
        va_list ap;

        fflush(stdout);
        fputs("bench: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        exit(1);
}

/* ---------------------------------------------------------------- samples */

void samples_add(samples *s, uint64_t x) {
        if (s->n == s->cap) {
                size_t cap = s->cap ? s->cap * 2 : 1024;
                uint64_t *v = realloc(s->v, cap * sizeof(*v));

                if (!v)
                        bench_die("out of memory");
                s->v = v;
                s->cap = cap;
        }
        s->v[s->n++] = x;
}

void samples_clear(samples *s) {
        s->n = 0;
}

void samples_free(samples *s) {
        free(s->v);
        *s = (samples){};
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;

        return x < y ? -1 : x > y;
}

stats samples_stats(samples *s) {
        size_t rank;

        if (s->n == 0)
                return (stats){};
        qsort(s->v, s->n, sizeof(*s->v), cmp_u64);
        /* Nearest rank: the smallest sample with at least 99% at or below it. */
        rank = (s->n * 99 + 99) / 100;
        return (stats){
                .median = s->n % 2 ? (double) s->v[s->n / 2]
                                   : ((double) s->v[s->n / 2 - 1] + (double) s->v[s->n / 2]) / 2,
                .p99 = (double) s->v[rank - 1],
                .n = s->n,
        };
}

/* ---------------------------------------------------------------- pinning */

void place(placement p) {
        cpu_set_t set;
        long n = sysconf(_SC_NPROCESSORS_ONLN);

        CPU_ZERO(&set);
        if (p == PINNED)
                CPU_SET(0, &set);
        else
                for (long i = 0; i < n && i < CPU_SETSIZE; i++)
                        CPU_SET(i, &set);
        if (sched_setaffinity(0, sizeof(set), &set) < 0)
                bench_die("cannot set the CPU affinity: %s", strerror(errno));
}

/* ---------------------------------------------------------------- the machine */

void loadavg_read(char *buf, size_t size) {
        FILE *f = fopen("/proc/loadavg", "re");
        double a = 0, b = 0, c = 0;

        if (!f || fscanf(f, "%lf %lf %lf", &a, &b, &c) != 3)
                snprintf(buf, size, "unknown");
        else
                snprintf(buf, size, "%.2f %.2f %.2f", a, b, c);
        if (f)
                fclose(f);
}

void machine_read(machine *m) {
        struct utsname u;
        struct rlimit rl;
        char line[256];
        FILE *f;

        *m = (machine){ .n_cpus = sysconf(_SC_NPROCESSORS_ONLN) };
        snprintf(m->cpu, sizeof(m->cpu), "unknown");
        f = fopen("/proc/cpuinfo", "re");
        while (f && fgets(line, sizeof(line), f))
                if (strncmp(line, "model name", 10) == 0 && strchr(line, ':')) {
                        snprintf(m->cpu, sizeof(m->cpu), "%s", strchr(line, ':') + 2);
                        m->cpu[strcspn(m->cpu, "\n")] = 0;
                        break;
                }
        if (f)
                fclose(f);
        if (uname(&u) == 0)
                snprintf(m->kernel, sizeof(m->kernel), "%.60s %.60s", u.sysname, u.release);
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
                m->nofile_hard = rl.rlim_max == RLIM_INFINITY ? UINT64_MAX : rl.rlim_max;
        loadavg_read(m->load_start, sizeof(m->load_start));
}

/* ---------------------------------------------------------------- memory */

int64_t proc_cpu_ns(pid_t pid) {
        char path[64];
        long long ns = -1;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/schedstat", (int) pid);
        f = fopen(path, "re");
        if (!f)
                return -1;
        if (fscanf(f, "%lld", &ns) != 1)
                ns = -1;
        fclose(f);
        return ns;
}

int64_t proc_private_bytes(pid_t pid) {
        char path[64], line[256];
        int64_t sum = 0;
        bool found = false;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int) pid);
        f = fopen(path, "re");
        if (!f)
                return -1;
        while (fgets(line, sizeof(line), f)) {
                long long kb;

                if (sscanf(line, "Private_Clean: %lld kB", &kb) == 1 ||
                    sscanf(line, "Private_Dirty: %lld kB", &kb) == 1) {
                        sum += kb * 1024;
                        found = true;
                }
        }
        fclose(f);
        return found ? sum : -1;
}

/* A "KEY VALUE" line of @path (or its first number, for a NULL @key), times @scale; -1 when absent. */
static int64_t file_key(const char *path, const char *key, int64_t scale) {
        char line[256];
        size_t klen = key ? strlen(key) : 0;
        int64_t v = -1;
        FILE *f = fopen(path, "re");

        while (f && fgets(line, sizeof(line), f)) {
                if (key &&
                    (strncmp(line, key, klen) != 0 || (line[klen] != ' ' && line[klen] != ':')))
                        continue;
                v = strtoll(line + klen + (key ? 1 : 0), NULL, 10) * scale;
                break;
        }
        if (f)
                fclose(f);
        return v;
}

int64_t kernel_bytes(const char **ret_source) {
        char line[512], path[640];
        int64_t v = -1;
        FILE *f = fopen("/proc/self/cgroup", "re");

        while (f && v < 0 && fgets(line, sizeof(line), f)) {
                char *p;

                line[strcspn(line, "\n")] = 0;
                if ((p = strstr(line, ":memory:"))) { /* cgroup v1 */
                        snprintf(path, sizeof(path),
                                 "/sys/fs/cgroup/memory%s/memory.kmem.usage_in_bytes", p + 8);
                        v = file_key(path, NULL, 1);
                        if (v >= 0)
                                *ret_source = "memory cgroup (kmem.usage_in_bytes)";
                } else if (strncmp(line, "0::", 3) == 0) { /* cgroup v2 */
                        snprintf(path, sizeof(path), "/sys/fs/cgroup%s/memory.stat", line + 3);
                        v = file_key(path, "kernel", 1);
                        if (v >= 0)
                                *ret_source = "memory cgroup (memory.stat kernel)";
                }
        }
        if (f)
                fclose(f);
        if (v < 0) {
                v = file_key("/proc/meminfo", "Slab", 1024);
                *ret_source = "/proc/meminfo Slab (whole machine)";
        }
        return v;
}

/* ---------------------------------------------------------------- Python */

/* run() - run @argv with stdout into @out (NUL-terminated, cut at @size). Return: exit status. */
static int run(const char *const *argv, char *out, size_t size) {
        size_t len = 0;
        int pipefd[2], status;
        pid_t pid;

        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return -1;
        fflush(stdout);
        pid = fork();
        if (pid < 0)
                return -1;
        if (pid == 0) {
                dup2(pipefd[1], STDOUT_FILENO);
                execvp(argv[0], (char *const *) argv);
                _exit(127);
        }
        close(pipefd[1]);
        for (;;) {
                ssize_t n = read(pipefd[0], out + len, size - 1 - len);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                len += (size_t) n;
                if (len == size - 1) { /* drain the rest */
                        char sink[4096];

                        while (read(pipefd[0], sink, sizeof(sink)) > 0)
                                ;
                        break;
                }
        }
        out[len] = 0;
        close(pipefd[0]);
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void python_init(python *py, const char *script) {
        static const char *const probe[] = {
                "python3", "-c",
                "import sys, multiprocessing.shared_memory, multiprocessing.managers; "
                "print('%d.%d.%d' % sys.version_info[:3])",
                NULL
        };
        char out[128];
        int r;

        *py = (python){};
        if (!script) {
                snprintf(py->note, sizeof(py->note), "no Python script given");
                return;
        }
        r = run(probe, out, sizeof(out));
        if (r == 127) {
                snprintf(py->note, sizeof(py->note), "python3 not found: Python's side skipped");
                return;
        }
        if (r != 0) {
                snprintf(py->note, sizeof(py->note),
                         "python3 has no multiprocessing.shared_memory (3.8+): Python's side "
                         "skipped");
                return;
        }
        out[strcspn(out, "\n")] = 0;
        snprintf(py->version, sizeof(py->version), "%.63s", out);
        py->script = script;
}

int python_run(python *py, const char *const *args) {
        static char out[1 << 20];
        const char *argv[32] = { "python3", py->script };
        size_t n = 2;
        int r;

        if (!py->script)
                return 0;
        for (size_t i = 0; args[i] && n < ELEMENTSOF(argv) - 1; i++)
                argv[n++] = args[i];
        argv[n] = NULL;
        r = run(argv, out, sizeof(out));
        if (r != 0)
                bench_die("the Python side failed (%s %s: exit status %d)", py->script, args[0], r);
        for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
                py_result x = {};
                py_result *p;

                if (sscanf(line, "%63s %lf %lf %zu", x.key, &x.median, &x.p99, &x.n) != 4)
                        bench_die("the Python side printed \"%s\"", line);
                p = reallocarray(py->results, py->n_results + 1, sizeof(*p));
                if (!p)
                        bench_die("out of memory");
                py->results = p;
                py->results[py->n_results++] = x;
        }
        return 0;
}

const py_result *python_get(const python *py, const char *key) {
        for (size_t i = py->n_results; i > 0; i--)
                if (strcmp(py->results[i - 1].key, key) == 0)
                        return &py->results[i - 1];
        return NULL;
}

void python_done(python *py) {
        free(py->results);
        *py = (python){};
}

/* ---------------------------------------------------------------- the table */

static row *table_find(const table *t, const char *section, const char *key) {
        for (size_t i = 0; i < t->n_rows; i++)
                if (strcmp(t->rows[i].section, section) == 0 && strcmp(t->rows[i].key, key) == 0)
                        return &t->rows[i];
        return NULL;
}

row *table_row(table *t, const char *section, const char *key, const char *label,
               const char *unit) {
        row *r = table_find(t, section, key);

        if (r)
                return r;
        r = reallocarray(t->rows, t->n_rows + 1, sizeof(*r));
        if (!r)
                bench_die("out of memory");
        t->rows = r;
        r = &t->rows[t->n_rows++];
        *r = (row){ .section = section, .unit = unit };
        snprintf(r->key, sizeof(r->key), "%s", key);
        snprintf(r->label, sizeof(r->label), "%s", label);
        return r;
}

void table_put(table *t, const char *section, const char *key, placement p, double median,
               double p99, size_t n) {
        row *r = table_find(t, section, key);

        if (!r)
                bench_die("no row %s.%s", section, key);
        r->at[p].valid = true;
        r->at[p].median = median;
        r->at[p].p99 = p99;
        r->at[p].n = n;
}

double table_get(const table *t, const char *section, const char *key, placement p) {
        const row *r = table_find(t, section, key);

        return r && r->at[p].valid ? r->at[p].median : 0;
}

void table_target(table *t, const char *what, double value, const char *target, bool met,
                  const char *note) {
        if (t->n_targets == ELEMENTSOF(t->targets))
                bench_die("too many targets");
        snprintf(t->targets[t->n_targets].what, sizeof(t->targets[0].what), "%s", what);
        snprintf(t->targets[t->n_targets].target, sizeof(t->targets[0].target), "%s", target);
        snprintf(t->targets[t->n_targets].note, sizeof(t->targets[0].note), "%s", note ?: "");
        t->targets[t->n_targets].value = value;
        t->targets[t->n_targets].met = met;
        t->n_targets++;
}

void table_note(table *t, const char *fmt, ...) {
        va_list ap;

        if (t->n_notes == ELEMENTSOF(t->notes))
                return;
        va_start(ap, fmt);
        vsnprintf(t->notes[t->n_notes++], sizeof(t->notes[0]), fmt, ap);
        va_end(ap);
}

/* A figure in about four significant digits, without an exponent. */
static void figure(char *buf, size_t size, double v) {
        if (v >= 10000)
                snprintf(buf, size, "%.0f", v);
        else if (v >= 100)
                snprintf(buf, size, "%.1f", v);
        else if (v >= 1)
                snprintf(buf, size, "%.2f", v);
        else
                snprintf(buf, size, "%.3f", v);
}

static void cell(char *buf, size_t size, const row *r, placement p) {
        char a[24], b[24];

        if (!r->at[p].valid) {
                snprintf(buf, size, "-");
                return;
        }
        figure(a, sizeof(a), r->at[p].median);
        if (r->at[p].p99 > 0) {
                figure(b, sizeof(b), r->at[p].p99);
                snprintf(buf, size, "%s / %s", a, b);
        } else
                snprintf(buf, size, "%s", a);
}

void table_print(const table *t, const table_section *sections, size_t n_sections, const machine *m,
                 FILE *f) {
        fprintf(f, "machine: %ld CPUs, %s, %s; load average %s at start, %s at end\n", m->n_cpus,
                m->cpu, m->kernel, m->load_start, m->load_end);
        fprintf(f, "python: %s\n", m->python[0] ? m->python : m->python_note);
        for (size_t s = 0; s < n_sections; s++) {
                bool any = false;

                for (size_t i = 0; i < t->n_rows; i++) {
                        const row *r = &t->rows[i];
                        char u[64], p[64];

                        if (strcmp(r->section, sections[s].id) != 0 ||
                            (!r->at[UNPINNED].valid && !r->at[PINNED].valid))
                                continue;
                        if (!any)
                                fprintf(f, "\n%s\n  %-58s %-22s %-22s\n", sections[s].title, "",
                                        "unpinned", "one CPU");
                        any = true;
                        cell(u, sizeof(u), r, UNPINNED);
                        cell(p, sizeof(p), r, PINNED);
                        fprintf(f, "  %-58s %-22s %-22s %s\n", r->label, u, p, r->note);
                }
        }
        if (t->n_targets) {
                fprintf(f, "\ntargets (medians)\n");
                for (size_t i = 0; i < t->n_targets; i++) {
                        char v[32];

                        figure(v, sizeof(v), t->targets[i].value);
                        fprintf(f, "  %-58s %-10s %-14s %-7s %s\n", t->targets[i].what, v,
                                t->targets[i].target, t->targets[i].met ? "met" : "missed",
                                t->targets[i].note);
                }
        }
        if (t->n_notes) {
                fprintf(f, "\nnotes\n");
                for (size_t i = 0; i < t->n_notes; i++)
                        fprintf(f, "  - %s\n", t->notes[i]);
        }
}

static void json_string(FILE *f, const char *s) {
        fputc('"', f);
        for (; *s; s++) {
                unsigned char c = (unsigned char) *s;

                if (c == '"' || c == '\\')
                        fprintf(f, "\\%c", c);
                else if (c < 0x20)
                        fprintf(f, "\\u%04x", c);
                else
                        fputc(c, f);
        }
        fputc('"', f);
}

static void json_number(FILE *f, double v) {
        if (isfinite(v))
                fprintf(f, "%.6g", v);
        else
                fputs("null", f);
}

void table_print_json(const table *t, const machine *m, bool quick, FILE *f) {
        static const char *const placements[] = { "unpinned", "pinned" };

        fprintf(f, "{\n  \"quick\": %s,\n  \"machine\": {\"cpus\": %ld, \"cpu\": ",
                quick ? "true" : "false", m->n_cpus);
        json_string(f, m->cpu);
        fputs(", \"kernel\": ", f);
        json_string(f, m->kernel);
        fputs(", \"load_start\": ", f);
        json_string(f, m->load_start);
        fputs(", \"load_end\": ", f);
        json_string(f, m->load_end);
        fprintf(f, ", \"nofile_hard\": %llu, \"python\": ", (unsigned long long) m->nofile_hard);
        json_string(f, m->python[0] ? m->python : "");
        fputs(", \"python_note\": ", f);
        json_string(f, m->python_note);
        fputs("},\n  \"results\": [", f);
        for (size_t i = 0, first = 1; i < t->n_rows; i++) {
                const row *r = &t->rows[i];

                for (int p = 0; p < _PLACEMENT_MAX; p++) {
                        if (!r->at[p].valid)
                                continue;
                        fprintf(f, "%s\n    {\"key\": \"%s.%s\", \"placement\": \"%s\", ",
                                first ? "" : ",", r->section, r->key, placements[p]);
                        first = 0;
                        fputs("\"what\": ", f);
                        json_string(f, r->label);
                        fprintf(f, ", \"unit\": \"%s\", \"median\": ", r->unit);
                        json_number(f, r->at[p].median);
                        fputs(", \"p99\": ", f);
                        json_number(f, r->at[p].p99);
                        fprintf(f, ", \"n\": %zu}", r->at[p].n);
                }
        }
        fputs("\n  ],\n  \"targets\": [", f);
        for (size_t i = 0; i < t->n_targets; i++) {
                fprintf(f, "%s\n    {\"what\": ", i ? "," : "");
                json_string(f, t->targets[i].what);
                fputs(", \"value\": ", f);
                json_number(f, t->targets[i].value);
                fputs(", \"target\": ", f);
                json_string(f, t->targets[i].target);
                fprintf(f, ", \"met\": %s, \"note\": ", t->targets[i].met ? "true" : "false");
                json_string(f, t->targets[i].note);
                fputc('}', f);
        }
        fputs("\n  ],\n  \"notes\": [", f);
        for (size_t i = 0; i < t->n_notes; i++) {
                fprintf(f, "%s\n    ", i ? "," : "");
                json_string(f, t->notes[i]);
        }
        fputs("\n  ]\n}\n", f);
}

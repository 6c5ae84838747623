/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * memfd-inspect against processes whose memfds we know: the mkfds fixture
 * (every field of the JSON output), util-linux lsfd (same holders), a running
 * lmmd (block names, scope, owner, orphans), and the option errors.
 */

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"
#include "harness.h"
#include "lmm.h"
#include "minijson.h"

/* Whole-system runs on a busy machine print megabytes of JSON. */
#define OUT_MAX (16 << 20)
#define ELEMENTS(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------ the fixture */

typedef struct fx_fd {
        int pid;
        char name[128];
        int fd;
        bool rw;
} fx_fd;

typedef struct fx_memfd {
        char name[128];
        long long size;
        char seals[64];
} fx_memfd;

typedef struct fx_map {
        char name[128];
        unsigned long long start, end;
        char prot[8], sharing[16];
        long long rss;
} fx_map;

typedef struct fixture {
        pid_t pid, child;
        int in_fd; /* its stdin: closing it ends the fixture */
        char prefix[64];
        bool huge;
        fx_fd fds[16];
        size_t n_fds;
        fx_memfd memfds[16];
        size_t n_memfds;
        fx_map maps[16];
        size_t n_maps;
        size_t n_odd; /* memfds with odd names ("odd") */
} fixture;

/* stallfs (tests/helpers/stallfs.c): a FUSE daemon that stops answering, and a process that
 * holds its files under names that read like memfds. */
typedef struct stallfs {
        pid_t pid;     /* the holder */
        pid_t stalled; /* the process stuck in exec, with "exec" */
        int in_fd;     /* its stdin: closing it ends it all */
} stallfs;

/* What a test started, so that teardown stops it also after a failed assertion
 * (children inherit criterion's pipes and would keep the run waiting). */
static fixture *running_fixture;
static stallfs *running_stallfs;

/* Start @argv with pipes for the standard streams asked for: *ret_in (its stdin, ours to write
 * and close), *ret_out and *ret_err (its stdout and stderr, ours to read); NULL: inherited.
 * Return: its pid. */
static pid_t spawn(const char *const *argv, int *ret_in, int *ret_out, int *ret_err) {
        int *ours[3] = { ret_in, ret_out, ret_err }, p[3][2];
        pid_t pid;

        for (int i = 0; i < 3; i++)
                if (ours[i])
                        cr_assert_eq(pipe2(p[i], O_CLOEXEC), 0);
        pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
                for (int i = 0; i < 3; i++)
                        if (ours[i])
                                dup2(p[i][i == 0 ? 0 : 1], i);
                execv(argv[0], (char *const *) argv);
                _exit(127);
        }
        for (int i = 0; i < 3; i++)
                if (ours[i]) {
                        close(p[i][i == 0 ? 0 : 1]);
                        *ours[i] = p[i][i == 0 ? 1 : 0];
                }
        return pid;
}

/* Start a fixture program (mkfds, stallfs): *ret_pid, its stdin in *ret_in (closing it ends
 * the program); return its stdout, which tells what it made (fixture_line()). */
static FILE *fixture_spawn(const char *const *argv, pid_t *ret_pid, int *ret_in) {
        int out;
        FILE *o;

        *ret_pid = spawn(argv, ret_in, &out, NULL);
        o = fdopen(out, "re");
        cr_assert(o);
        return o;
}

/* The next line a fixture program tells, without its newline; false at "ready" or the end. */
static bool fixture_line(FILE *o, char *line, size_t size) {
        if (!fgets(line, (int) size, o))
                return false;
        line[strcspn(line, "\n")] = 0;
        return strcmp(line, "ready") != 0;
}

/* Start mkfds; @extra: NULL, or "odd" for its memfds with names that are not plain text. */
static void mkfds_start_mode(fixture *f, const char *extra) {
        const char *argv[] = { harness_getenv("MKFDS"), f->prefix, extra, NULL };
        char line[512];
        FILE *o;

        memset(f, 0, sizeof(*f));
        snprintf(f->prefix, sizeof(f->prefix), "mkfds%d", (int) getpid());
        o = fixture_spawn(argv, &f->pid, &f->in_fd);
        running_fixture = f;
        while (fixture_line(o, line, sizeof(line))) {
                int pid;

                if (sscanf(line, "pid %d", &pid) == 1)
                        cr_assert_eq(pid, f->pid);
                else if (sscanf(line, "child %d", &pid) == 1)
                        f->child = pid;
                else if (strncmp(line, "fd ", 3) == 0) {
                        fx_fd *d = &f->fds[f->n_fds++];
                        char mode[8];
                        cr_assert_eq(
                                sscanf(line, "fd %d %127s %d %7s", &d->pid, d->name, &d->fd, mode),
                                4);
                        d->rw = strcmp(mode, "rw") == 0;
                } else if (strncmp(line, "memfd ", 6) == 0) {
                        fx_memfd *m = &f->memfds[f->n_memfds++];
                        cr_assert_eq(
                                sscanf(line, "memfd %127s %lld %63s", m->name, &m->size, m->seals),
                                3);
                } else if (strncmp(line, "map ", 4) == 0) {
                        fx_map *m = &f->maps[f->n_maps++];
                        cr_assert_eq(sscanf(line, "map %127s %llx %llx %7s %15s %lld", m->name,
                                            &m->start, &m->end, m->prot, m->sharing, &m->rss),
                                     6);
                } else if (strncmp(line, "huge ", 5) == 0)
                        f->huge = true;
                else if (strncmp(line, "odd ", 4) == 0)
                        f->n_odd++;
        }
        fclose(o);
        cr_assert(f->child > 0, "mkfds did not get ready");
}

static void mkfds_start(fixture *f) {
        mkfds_start_mode(f, NULL);
}

static void mkfds_stop(fixture *f) {
        if (f->pid <= 0)
                return;
        close(f->in_fd);
        running_fixture = NULL;
        cr_assert_eq(harness_wait_exit(f->pid, 5000), 0);
        f->pid = 0;
}

static const fx_memfd *mkfds_memfd(const fixture *f, const char *name) {
        for (size_t i = 0; i < f->n_memfds; i++)
                if (strcmp(f->memfds[i].name, name) == 0)
                        return &f->memfds[i];
        cr_assert_fail("no memfd %s in the fixture", name);
        return NULL;
}

/* Strip the fixture's prefix: "mkfds123-rw" → "rw". */
static const char *suffix(const fixture *f, const char *name) {
        size_t n = strlen(f->prefix);
        return name && strncmp(name, f->prefix, n) == 0 && name[n] == '-' ? name + n + 1 : NULL;
}

/* -------------------------------------------------------- running the tool */

static char *out_buf, *err_buf;

static void setup(void) {
        out_buf = malloc(OUT_MAX);
        err_buf = malloc(OUT_MAX);
        cr_assert(out_buf && err_buf);
}

static void teardown(void) {
        if (running_fixture && running_fixture->pid > 0) {
                kill(running_fixture->pid, SIGTERM);
                waitpid(running_fixture->pid, NULL, 0);
        }
        fixture_lmmd_stop();
        if (running_stallfs) {
                /* It kills its FUSE daemon and reaps everything it started. */
                kill(running_stallfs->pid, SIGTERM);
                waitpid(running_stallfs->pid, NULL, 0);
        }
        free(out_buf);
        free(err_buf);
}

static int count_lines(const char *s) {
        int n = 0;
        for (; *s; s++)
                n += *s == '\n';
        return n;
}

/* Run memfd-inspect with @args (NULL-terminated); return its exit status. */
static int inspect(const char *const *args) {
        const char *argv[32] = { harness_getenv("MEMFD_INSPECT") };
        size_t n = 1;

        for (; *args && n < 31; args++)
                argv[n++] = *args;
        argv[n] = NULL;
        return harness_run(argv, NULL, out_buf, OUT_MAX, err_buf, OUT_MAX);
}

/* Run with --json and parse; the array under @table. */
static mj *inspect_json(const char *const *args, const char *table, const mj **ret_rows) {
        int r = inspect(args);
        mj *doc;

        cr_assert_eq(r, 0, "memfd-inspect failed (%d): %s", r, err_buf);
        doc = mj_parse(out_buf);
        cr_assert(doc, "memfd-inspect printed no valid JSON:\n%.4000s", out_buf);
        *ret_rows = mj_get(doc, table);
        cr_assert(*ret_rows && (*ret_rows)->type == MJ_ARRAY, "no \"%s\" array in:\n%.4000s", table,
                  out_buf);
        return doc;
}

/* Run with --json @view --no-manager on the fixture's two processes; the array under @table. */
static mj *inspect_mkfds(const fixture *f, const char *view, const char *table,
                         const mj **ret_rows) {
        char pids[64];

        snprintf(pids, sizeof(pids), "%d,%d", (int) f->pid, (int) f->child);
        return inspect_json((const char *[]){ "--json", view, "--no-manager", "--pid", pids, NULL },
                            table, ret_rows);
}

static uint64_t inode_of(pid_t pid, int fd) {
        char path[64];
        struct stat st;

        snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int) pid, fd);
        cr_assert_eq(stat(path, &st), 0);
        return st.st_ino;
}

/* Fields every row of a memfd carries in the default (list) view. */
static void check_memfd_fields(const fixture *f, const mj *row) {
        const char *name = mj_str(row, "name");
        const fx_memfd *m;
        const mj *huge = mj_get(row, "hugetlb");

        cr_assert(suffix(f, name), "unexpected memfd %s", name);
        m = mkfds_memfd(f, name);
        cr_assert_eq(mj_int(row, "size"), m->size, "%s: size", name);
        cr_assert_str_eq(mj_str(row, "seals"), m->seals, "%s: seals", name);
        cr_assert(huge && huge->type == MJ_BOOL);
        cr_assert_eq(huge->b, strcmp(suffix(f, name), "huge") == 0, "%s: hugetlb", name);
        cr_assert_str_eq(mj_str(row, "dev") ? "ok" : "missing", "ok");
        cr_assert_gt(mj_int(row, "inode"), 0);
        /* Not a manager's block (a boolean column is false, not null, when empty). */
        cr_assert(mj_is_null(row, "block") && mj_is_null(row, "scope") &&
                  mj_is_null(row, "owner-uid") && mj_is_null(row, "owner-pid"));
        cr_assert(mj_get(row, "orphan") && !mj_get(row, "orphan")->b);
}

TestSuite(memfd_inspect, .init = setup, .fini = teardown, .timeout = 60);

Test(memfd_inspect, list_every_field) {
        fixture f;
        char pids[64];
        const mj *rows;
        mj *doc;
        size_t seen_fds = 0, seen_maps = 0;

        mkfds_start(&f);
        snprintf(pids, sizeof(pids), "%d", (int) f.pid);
        {
                char child[32];
                snprintf(child, sizeof(child), "%d", (int) f.child);
                doc = inspect_json((const char *[]){ "--json", "--no-manager", "--pid", pids,
                                                     "--pid", child, NULL },
                                   "memfds", &rows);
        }
        cr_assert_eq(rows->n, f.n_fds + f.n_maps,
                     "rows: %zu, expected %zu fds and %zu maps:\n%.4000s", rows->n, f.n_fds,
                     f.n_maps, out_buf);

        for (size_t i = 0; i < rows->n; i++) {
                const mj *row = rows->items[i];
                const char *type = mj_str(row, "type");
                const char *name = mj_str(row, "name");
                const char *sfx;
                long long pid = mj_int(row, "pid");

                check_memfd_fields(&f, row);
                sfx = suffix(&f, name);
                cr_assert_str_eq(mj_str(row, "command"), "mkfds");
                cr_assert_eq(mj_int(row, "uid"), (long long) getuid());

                /* Counts of the memfd, the same on each of its rows. */
                {
                        long long fds = 0, maps = 0;
                        for (size_t k = 0; k < f.n_fds; k++)
                                fds += strcmp(f.fds[k].name, name) == 0;
                        for (size_t k = 0; k < f.n_maps; k++)
                                maps += strcmp(f.maps[k].name, name) == 0;
                        cr_assert_eq(mj_int(row, "fds"), fds, "%s: fds", name);
                        cr_assert_eq(mj_int(row, "mappings"), maps, "%s: mappings", name);
                }

                if (strcmp(type, "fd") == 0) {
                        const fx_fd *d = NULL;
                        for (size_t k = 0; k < f.n_fds; k++)
                                if (f.fds[k].pid == pid && f.fds[k].fd == mj_int(row, "fd"))
                                        d = &f.fds[k];
                        cr_assert(d, "unexpected fd row: pid %lld fd %lld", pid, mj_int(row, "fd"));
                        cr_assert_str_eq(name, d->name);
                        cr_assert_str_eq(mj_str(row, "mode"), d->rw ? "read-write" : "read-only");
                        cr_assert_eq((uint64_t) mj_int(row, "inode"), inode_of(d->pid, d->fd));
                        cr_assert(mj_is_null(row, "range") && mj_is_null(row, "prot") &&
                                  mj_is_null(row, "sharing") && mj_is_null(row, "rss") &&
                                  mj_is_null(row, "pss") && mj_is_null(row, "start"));
                        seen_fds++;
                } else {
                        const fx_map *m = NULL;
                        char range[64];

                        cr_assert_str_eq(type, "map");
                        cr_assert_eq(pid, f.pid, "only the parent maps");
                        for (size_t k = 0; k < f.n_maps; k++)
                                if ((long long) f.maps[k].start == mj_int(row, "start"))
                                        m = &f.maps[k];
                        cr_assert(m, "unexpected mapping at %lld", mj_int(row, "start"));
                        cr_assert_str_eq(name, m->name);
                        cr_assert_eq((unsigned long long) mj_int(row, "end"), m->end);
                        snprintf(range, sizeof(range), "%llx-%llx", m->start, m->end);
                        cr_assert_str_eq(mj_str(row, "range"), range);
                        cr_assert_str_eq(mj_str(row, "prot"), m->prot, "%s: prot", sfx);
                        cr_assert_str_eq(mj_str(row, "sharing"), m->sharing, "%s: sharing", sfx);
                        cr_assert_eq(mj_int(row, "offset"), 0);
                        cr_assert_eq(mj_int(row, "rss"), m->rss, "%s: rss %lld, expected %lld", sfx,
                                     mj_int(row, "rss"), m->rss);
                        /* Nobody else maps these pages: proportional = resident. */
                        cr_assert_eq(mj_int(row, "pss"), m->rss, "%s: pss", sfx);
                        cr_assert(mj_is_null(row, "fd") && mj_is_null(row, "mode"));
                        seen_maps++;
                }
        }
        cr_assert_eq(seen_fds, f.n_fds);
        cr_assert_eq(seen_maps, f.n_maps);
        mj_free(doc);
        mkfds_stop(&f);
}

Test(memfd_inspect, summary_totals) {
        fixture f;
        const mj *rows;
        mj *doc;

        mkfds_start(&f);
        doc = inspect_mkfds(&f, "--summary", "memfds", &rows);
        cr_assert_eq(rows->n, f.n_memfds, "%.4000s", out_buf);
        for (size_t i = 0; i < rows->n; i++) {
                const mj *row = rows->items[i];
                const char *name = mj_str(row, "name");
                const char *sfx = suffix(&f, name);
                long long fds = 0, maps = 0, rss = 0;
                char want_pids[64];

                check_memfd_fields(&f, row);
                for (size_t k = 0; k < f.n_fds; k++)
                        fds += strcmp(f.fds[k].name, name) == 0;
                for (size_t k = 0; k < f.n_maps; k++)
                        if (strcmp(f.maps[k].name, name) == 0) {
                                maps++;
                                rss += f.maps[k].rss;
                        }
                cr_assert_eq(mj_int(row, "fds"), fds, "%s", sfx);
                cr_assert_eq(mj_int(row, "mappings"), maps, "%s", sfx);
                cr_assert_eq(mj_int(row, "rss"), rss, "%s", sfx);
                cr_assert_eq(mj_int(row, "pss"), rss, "%s", sfx);
                if (strcmp(sfx, "shared") == 0)
                        snprintf(want_pids, sizeof(want_pids), "%d,%d", (int) f.pid, (int) f.child);
                else
                        snprintf(want_pids, sizeof(want_pids), "%d", (int) f.pid);
                cr_assert_str_eq(mj_str(row, "pids"), want_pids, "%s", sfx);
                cr_assert(mj_is_null(row, "pid") || !mj_get(row, "pid"), "no pid on a memfd line");
        }
        mj_free(doc);
        mkfds_stop(&f);
}

Test(memfd_inspect, tree_children) {
        fixture f;
        const mj *rows;
        mj *doc;

        mkfds_start(&f);
        doc = inspect_mkfds(&f, "--tree", "memfds", &rows);
        cr_assert_eq(rows->n, f.n_memfds, "%.4000s", out_buf);
        for (size_t i = 0; i < rows->n; i++) {
                const mj *row = rows->items[i];
                const char *name = mj_str(row, "name");
                const mj *children = mj_get(row, "children");
                size_t want = 0;

                cr_assert_str_eq(mj_str(row, "type"), "memfd");
                check_memfd_fields(&f, row);
                for (size_t k = 0; k < f.n_fds; k++)
                        want += strcmp(f.fds[k].name, name) == 0;
                for (size_t k = 0; k < f.n_maps; k++)
                        want += strcmp(f.maps[k].name, name) == 0;
                cr_assert(children && children->type == MJ_ARRAY && children->n == want,
                          "%s: %zu children expected", name, want);
                for (size_t k = 0; k < children->n; k++) {
                        const mj *c = children->items[k];
                        const char *t = mj_str(c, "type");
                        cr_assert(t && (strcmp(t, "fd") == 0 || strcmp(t, "map") == 0));
                        cr_assert(mj_is_null(c, "name"), "a child line names no memfd");
                        cr_assert_gt(mj_int(c, "pid"), 0);
                        cr_assert_str_eq(mj_str(c, "command"), "mkfds");
                }
        }
        mj_free(doc);
        mkfds_stop(&f);
}

Test(memfd_inspect, processes_totals) {
        fixture f;
        const mj *rows;
        mj *doc;
        long long fds = 0, rss = 0;

        mkfds_start(&f);
        doc = inspect_mkfds(&f, "--processes", "processes", &rows);
        cr_assert_eq(rows->n, 2, "%.4000s", out_buf);
        for (size_t k = 0; k < f.n_fds; k++)
                fds += f.fds[k].pid == f.pid;
        for (size_t k = 0; k < f.n_maps; k++)
                rss += f.maps[k].rss;
        for (size_t i = 0; i < rows->n; i++) {
                const mj *row = rows->items[i];
                cr_assert_str_eq(mj_str(row, "command"), "mkfds");
                if (mj_int(row, "pid") == f.pid) {
                        cr_assert_eq(mj_int(row, "memfds"), (long long) f.n_memfds);
                        cr_assert_eq(mj_int(row, "fds"), fds);
                        cr_assert_eq(mj_int(row, "mappings"), (long long) f.n_maps);
                        cr_assert_eq(mj_int(row, "rss"), rss);
                        cr_assert_eq(mj_int(row, "pss"), rss);
                } else {
                        cr_assert_eq(mj_int(row, "pid"), f.child);
                        cr_assert_eq(mj_int(row, "memfds"), 1);
                        cr_assert_eq(mj_int(row, "fds"), 1);
                        cr_assert_eq(mj_int(row, "mappings"), 0);
                        cr_assert_eq(mj_int(row, "rss"), 0);
                }
        }
        mj_free(doc);
        mkfds_stop(&f);
}

Test(memfd_inspect, columns_and_name_filter) {
        fixture f;
        char pids[32], pattern[96];
        const mj *rows;
        mj *doc;

        mkfds_start(&f);
        snprintf(pids, sizeof(pids), "%d", (int) f.pid);
        snprintf(pattern, sizeof(pattern), "%s-r?", f.prefix);

        /* Case-insensitive names, only those columns, in that order. */
        doc = inspect_json((const char *[]){ "--json", "--no-manager", "-o", "Name,SIZE,seals",
                                             "--summary", "--pid", pids, "--name", pattern, NULL },
                           "memfds", &rows);
        cr_assert_eq(rows->n, 2, "%.4000s", out_buf);
        for (size_t i = 0; i < rows->n; i++) {
                const mj *row = rows->items[i];
                const char *sfx = suffix(&f, mj_str(row, "name"));
                cr_assert_eq(row->n, 3);
                cr_assert_str_eq(row->keys[0], "name");
                cr_assert_str_eq(row->keys[1], "size");
                cr_assert_str_eq(row->keys[2], "seals");
                cr_assert(sfx && (strcmp(sfx, "rw") == 0 || strcmp(sfx, "ro") == 0));
                cr_assert_eq(mj_get(row, "size")->type, MJ_NUMBER);
        }
        mj_free(doc);

        /* The table: a header and one line per memfd. */
        cr_assert_eq(inspect((const char *[]){ "--no-manager", "--summary", "-o", "NAME,SEALS",
                                               "--pid", pids, "--name", pattern, NULL }),
                     0);
        cr_assert_eq(count_lines(out_buf), 3, "%.4000s", out_buf);
        cr_assert(strstr(out_buf, "NAME") && strstr(out_buf, "shrink,grow,write"), "%.4000s",
                  out_buf);
        mkfds_stop(&f);
}

/* The holders memfd-inspect reports are the ones util-linux lsfd reports. */
Test(memfd_inspect, agrees_with_lsfd) {
        const char *lsfd_argv[16];
        char pids[64], *lsfd_out;
        const mj *rows, *lrows;
        fixture f;
        mj *doc, *ldoc;
        size_t n_lsfd = 0;

        if (access("/usr/bin/lsfd", X_OK) != 0)
                cr_skip_test("util-linux lsfd is not installed");
        mkfds_start(&f);
        snprintf(pids, sizeof(pids), "%d,%d", (int) f.pid, (int) f.child);
        doc = inspect_json((const char *[]){ "--json", "--no-manager", "--pid", pids, NULL },
                           "memfds", &rows);

        lsfd_out = malloc(OUT_MAX);
        cr_assert(lsfd_out);
        n_lsfd = 0;
        lsfd_argv[n_lsfd++] = "/usr/bin/lsfd";
        lsfd_argv[n_lsfd++] = "-J";
        lsfd_argv[n_lsfd++] = "-p";
        lsfd_argv[n_lsfd++] = pids;
        lsfd_argv[n_lsfd++] = "-o";
        lsfd_argv[n_lsfd++] = "PID,ASSOC,NAME,MODE,INODE";
        lsfd_argv[n_lsfd] = NULL;
        cr_assert_eq(harness_run(lsfd_argv, NULL, lsfd_out, OUT_MAX, NULL, 0), 0);
        ldoc = mj_parse(lsfd_out);
        cr_assert(ldoc, "lsfd printed no valid JSON:\n%.4000s", lsfd_out);
        lrows = mj_get(ldoc, "lsfd");
        cr_assert(lrows && lrows->type == MJ_ARRAY);

        n_lsfd = 0;
        for (size_t i = 0; i < lrows->n; i++) {
                const mj *l = lrows->items[i];
                const char *name = mj_str(l, "name"), *assoc = mj_str(l, "assoc"),
                           *mode = mj_str(l, "mode");
                char want[160];
                bool found = false;

                snprintf(want, sizeof(want), "/memfd:%s-", f.prefix);
                /* lsfd lists mappings too ("mem", "shm"...); holders have a numeric ASSOC. */
                if (!name || strncmp(name, want, strlen(want)) != 0 || !assoc || assoc[0] < '0' ||
                    assoc[0] > '9')
                        continue;
                n_lsfd++;
                for (size_t k = 0; k < rows->n; k++) {
                        const mj *r = rows->items[k];
                        char full[160];

                        if (strcmp(mj_str(r, "type"), "fd") != 0 ||
                            mj_int(r, "pid") != mj_int(l, "pid") || mj_int(r, "fd") != atoll(assoc))
                                continue;
                        snprintf(full, sizeof(full), "/memfd:%s (deleted)", mj_str(r, "name"));
                        cr_assert_str_eq(name, full);
                        cr_assert_eq(mj_int(r, "inode"), mj_int(l, "inode"));
                        cr_assert_str_eq(mj_str(r, "mode"), mode[0] == 'r' && mode[1] == 'w'
                                                                    ? "read-write"
                                                            : mode[1] == 'w' ? "write-only"
                                                                             : "read-only");
                        found = true;
                }
                cr_assert(found, "lsfd reports pid %lld fd %s (%s), memfd-inspect does not",
                          mj_int(l, "pid"), assoc, name);
        }
        {
                size_t n_ours = 0;
                for (size_t k = 0; k < rows->n; k++)
                        n_ours += strcmp(mj_str(rows->items[k], "type"), "fd") == 0;
                cr_assert_eq(n_lsfd, n_ours, "lsfd: %zu holders, memfd-inspect: %zu", n_lsfd,
                             n_ours);
                cr_assert_eq(n_ours, f.n_fds);
        }
        mj_free(ldoc);
        mj_free(doc);
        free(lsfd_out);
        mkfds_stop(&f);
}

/* ------------------------------------------------------- names that are not text */

/* @json must be valid JSON in strictly valid UTF-8, by python3's decoder and json module. */
static void expect_strict_json(const char *json) {
        static const char *const python[] = {
                "/usr/bin/python3", "-c",
                "import json, sys; json.loads(sys.stdin.buffer.read().decode('utf-8', 'strict'))",
                NULL
        };
        char err[4096];
        int r;

        cr_assert_eq(access(python[0], X_OK), 0, "python3 is not installed (tools/deps.sh)");
        r = harness_run(python, json, NULL, 0, err, sizeof(err));
        cr_assert_eq(r, 0, "not strict UTF-8 JSON (%d): %s\n%.4000s", r, err, json);
}

/* Memfd names and a command with bytes that are not UTF-8 and with control characters: every
 * JSON view stays valid UTF-8, each name escaped by the documented rule, which is the table's. */
Test(memfd_inspect, json_is_utf8_whatever_the_names) {
        static const struct {
                const char *escaped; /* after "PREFIX-"; mkfds.c has the raw names */
                bool in_table;       /* the same in the table in any locale (ASCII) */
        } names[] = {
                { "bad\\xff", true },           { "c1\\xc2\\x9b", true },
                { "ctl\\x01\\x0a\\x7f", true }, { "bsx\\x5cx41", true },
                { "utf8-caf\xc3\xa9", false }, /* well-formed UTF-8 stays */
        };
        static const char *const views[] = { NULL, "--summary", "--tree", "--processes" };
        char pid[32];
        const mj *rows;
        fixture f;
        mj *doc;

        mkfds_start_mode(&f, "odd");
        cr_assert_eq(f.n_odd, ELEMENTS(names));
        snprintf(pid, sizeof(pid), "%d", (int) f.pid);
        for (size_t v = 0; v < ELEMENTS(views); v++) {
                cr_assert_eq(inspect((const char *[]){ "--json", "--no-manager", "--pid", pid,
                                                       views[v], NULL }),
                             0, "%s", err_buf);
                expect_strict_json(out_buf);
        }

        doc = inspect_json((const char *[]){ "--json", "--no-manager", "--pid", pid, NULL },
                           "memfds", &rows);
        for (size_t k = 0; k < ELEMENTS(names); k++) {
                char want[160];
                bool found = false;

                snprintf(want, sizeof(want), "%s-%s", f.prefix, names[k].escaped);
                for (size_t i = 0; i < rows->n && !found; i++) {
                        found = strcmp(mj_str(rows->items[i], "name"), want) == 0;
                        if (found)
                                cr_assert_str_eq(mj_str(rows->items[i], "command"),
                                                 "mkfds\\xff\\xc2\\x9b");
                }
                cr_assert(found, "no memfd named %s:\n%.4000s", want, out_buf);
        }
        mj_free(doc);

        /* The table: the same text. */
        cr_assert_eq(inspect((const char *[]){ "--no-manager", "--summary", "-o", "NAME", "--pid",
                                               pid, NULL }),
                     0);
        for (size_t k = 0; k < ELEMENTS(names); k++) {
                char want[160];

                if (!names[k].in_table)
                        continue;
                snprintf(want, sizeof(want), "\n%s-%s", f.prefix, names[k].escaped);
                cr_assert(strstr(out_buf, want), "%s not in the table:\n%s", want + 1, out_buf);
        }
        mkfds_stop(&f);
}

/* ------------------------------------------------------------ the manager */

static const mj *find_block(const mj *rows, const char *block) {
        for (size_t i = 0; i < rows->n; i++) {
                const char *b = mj_str(rows->items[i], "block");
                if (b && strcmp(b, block) == 0)
                        return rows->items[i];
        }
        return NULL;
}

Test(memfd_inspect, manager_blocks) {
        lmm_client *c = NULL;
        lmm_segment *kept = NULL, *conn = NULL, *gone = NULL;
        lmm_block_info info;
        const mj *rows, *row;
        mj *doc;
        char name_kept[64], name_conn[64], name_orphan[64], memfd_name[80], pattern[64];
        void *addr;

        snprintf(name_kept, sizeof(name_kept), "insp-kept-%d", (int) getpid());
        snprintf(name_conn, sizeof(name_conn), "insp-conn-%d", (int) getpid());
        snprintf(name_orphan, sizeof(name_orphan), "insp-orphan-%d", (int) getpid());

        fixture_lmmd_start();
        c = fixture_client();
        cr_assert_eq(lmm_segment_create(c, &(lmm_segment_opts){ .size = 65536, .name = name_kept },
                                        &kept),
                     0);
        cr_assert_geq(lmm_segment_map(kept, 0, &addr), 0);
        memset(addr, 1, 4096);
        cr_assert_eq(lmm_segment_create(c,
                                        &(lmm_segment_opts){ .size = 8192,
                                                             .name = name_conn,
                                                             .flags = LMM_CREATE_SCOPE_CONNECTION },
                                        &conn),
                     0);
        /* Created, then let go: only the manager holds it now. */
        cr_assert_eq(lmm_segment_create(c, &(lmm_segment_opts){ .size = 4096, .name = name_orphan },
                                        &gone),
                     0);
        {
                /* Written once, so that it holds a page nobody maps any more. */
                char *q = NULL;
                cr_assert_eq(lmm_segment_map(gone, 0, (void **) &q), 0);
                q[0] = 1;
        }
        gone = lmm_segment_unref(gone);

        /* The scan is whole-system (the orphan verdict needs it); the lines are only ours. */
        snprintf(pattern, sizeof(pattern), "*insp-*-%d", (int) getpid());
        doc = inspect_json((const char *[]){ "--json", "--summary", "--socket", fixture_lmmd.sock,
                                             "--name", pattern, NULL },
                           "memfds", &rows);
        cr_assert_eq(rows->n, 3, "%.4000s", out_buf);

        row = find_block(rows, name_kept);
        cr_assert(row, "block %s not shown:\n%.4000s", name_kept, out_buf);
        cr_assert_eq(lmm_block_stat(c, name_kept, &info), 0);
        cr_assert_eq(mj_int(row, "inode"), (long long) info.inode);
        snprintf(memfd_name, sizeof(memfd_name), "lmm:%s", name_kept);
        cr_assert_str_eq(mj_str(row, "name"), memfd_name);
        cr_assert_eq(mj_int(row, "size"), 65536);
        {
                char seals[128];
                /* shrink,grow, and exec where the kernel has MFD_NOEXEC_SEAL. */
                cr_assert_str_eq(mj_str(row, "seals"),
                                 lmm_seals_to_string(info.seals, seals, sizeof(seals)));
                cr_assert(strncmp(seals, "shrink,grow", 11) == 0, "%s", seals);
        }
        cr_assert_str_eq(mj_str(row, "scope"), "manager");
        cr_assert_eq(mj_int(row, "owner-uid"), (long long) getuid());
        cr_assert_eq(mj_int(row, "owner-pid"), (long long) getpid());
        cr_assert_eq(mj_get(row, "orphan")->type, MJ_BOOL);
        cr_assert(!mj_get(row, "orphan")->b, "a block we hold and map is no orphan");
        cr_assert_eq(mj_int(row, "fds"), 2, "the manager and us");
        cr_assert_eq(mj_int(row, "mappings"), 1);
        cr_assert_eq(mj_int(row, "rss"), 4096);
        {
                char want[64];
                snprintf(want, sizeof(want), "%d,%d",
                         (int) (fixture_lmmd.pid < getpid() ? fixture_lmmd.pid : getpid()),
                         (int) (fixture_lmmd.pid < getpid() ? getpid() : fixture_lmmd.pid));
                cr_assert_str_eq(mj_str(row, "pids"), want);
        }

        row = find_block(rows, name_conn);
        cr_assert(row, "block %s not shown", name_conn);
        cr_assert_str_eq(mj_str(row, "scope"), "connection");
        cr_assert(!mj_get(row, "orphan")->b);
        cr_assert_eq(mj_int(row, "mappings"), 0);

        row = find_block(rows, name_orphan);
        cr_assert(row, "block %s not shown", name_orphan);
        cr_assert_eq(mj_int(row, "size"), 4096);
        cr_assert(mj_get(row, "orphan")->b, "only the manager holds %s", name_orphan);
        cr_assert_eq(mj_int(row, "rss"), 0, "nobody maps it");
        cr_assert_eq(mj_int(row, "alloc"), 4096,
                     "yet it holds a page: what a leak hunt needs to see");
        cr_assert_eq(mj_int(row, "fds"), 1);
        {
                char want[32];
                snprintf(want, sizeof(want), "%d", (int) fixture_lmmd.pid);
                cr_assert_str_eq(mj_str(row, "pids"), want);
        }
        mj_free(doc);

        /* --pid narrows the lines, not the verdict: the orphan is still one. */
        {
                char pid[32];
                snprintf(pid, sizeof(pid), "%d", (int) fixture_lmmd.pid);
                doc = inspect_json((const char *[]){ "--json", "--socket", fixture_lmmd.sock,
                                                     "--pid", pid, NULL },
                                   "memfds", &rows);
                row = find_block(rows, name_orphan);
                cr_assert(row);
                cr_assert(mj_get(row, "orphan")->b);
                cr_assert_str_eq(mj_str(row, "type"), "fd");
                cr_assert_eq(mj_int(row, "pid"), fixture_lmmd.pid);
                cr_assert_str_eq(mj_str(row, "command"), "lmmd");
                for (size_t i = 0; i < rows->n; i++)
                        cr_assert_eq(mj_int(rows->items[i], "pid"), fixture_lmmd.pid);
                mj_free(doc);
        }

        /* --no-manager: the memfds, without the manager's words. */
        doc = inspect_json(
                (const char *[]){ "--json", "--summary", "--no-manager", "--name", pattern, NULL },
                "memfds", &rows);
        cr_assert_eq(rows->n, 3, "the memfds are there: %.4000s", out_buf);
        cr_assert_null(find_block(rows, name_kept));
        mj_free(doc);

        lmm_segment_unref(kept);
        lmm_segment_unref(conn);
        lmm_client_unref(c);
        fixture_lmmd_stop();
}

/* Two JSON values alike: same type, same value. */
static bool mj_same(const mj *a, const mj *b) {
        if (a->type != b->type)
                return false;
        switch (a->type) {
        case MJ_STRING:
                return strcmp(a->str, b->str) == 0;
        case MJ_NUMBER:
                return a->i == b->i;
        case MJ_BOOL:
                return a->b == b->b;
        case MJ_NULL:
                return true;
        default:
                return false;
        }
}

/* lmmctl list and memfd-inspect name the same facts alike, in tables and in JSON, and agree
 * on their values for the same blocks: the manager's record (lmmctl) and /proc (memfd-inspect)
 * read side by side. */
Test(memfd_inspect, same_fields_as_lmmctl) {
        static const char *const shared[] = { "block",     "size",      "seals", "hugetlb", "scope",
                                              "owner-uid", "owner-pid", "dev",   "inode" };
        const char *ctl = harness_getenv("LMMCTL");
        lmm_client *c = NULL;
        lmm_segment *conn = NULL;
        char name[5][64], pattern[64];
        const mj *blocks, *rows;
        mj *ctl_doc, *doc;
        size_t matched = 0;

        fixture_lmmd_start();
        snprintf(name[0], sizeof(name[0]), "same-plain-%d", (int) getpid());
        snprintf(name[1], sizeof(name[1]), "same-shared-%d", (int) getpid());
        snprintf(name[2], sizeof(name[2]), "same-frozen-%d", (int) getpid());
        snprintf(name[3], sizeof(name[3]), "same-conn-%d", (int) getpid());
        snprintf(name[4], sizeof(name[4]), "same-bad\xff-%d", (int) getpid());
        {
                const char *argv[][9] = {
                        { ctl, "--socket", fixture_lmmd.sock, "create", name[0], "64K" },
                        { ctl, "--socket", fixture_lmmd.sock, "create", name[1], "8K", "--share",
                          "rw" },
                        { ctl, "--socket", fixture_lmmd.sock, "create", name[2], "4K" },
                        { ctl, "--socket", fixture_lmmd.sock, "freeze", name[2] },
                        { ctl, "--socket", fixture_lmmd.sock, "create", name[4], "4K" },
                };
                for (size_t i = 0; i < ELEMENTS(argv); i++)
                        cr_assert_eq(harness_run(argv[i], NULL, out_buf, OUT_MAX, err_buf, OUT_MAX),
                                     0, "%s", err_buf);
        }
        /* A connection's block lives while this connection does. */
        c = fixture_client();
        cr_assert_eq(lmm_segment_create(c,
                                        &(lmm_segment_opts){ .size = 4096,
                                                             .name = name[3],
                                                             .flags = LMM_CREATE_SCOPE_CONNECTION },
                                        &conn),
                     0);

        {
                const char *argv[] = { ctl, "list", "--json", "--socket", fixture_lmmd.sock, NULL };
                cr_assert_eq(harness_run(argv, NULL, out_buf, OUT_MAX, err_buf, OUT_MAX), 0, "%s",
                             err_buf);
        }
        ctl_doc = mj_parse(out_buf);
        cr_assert(ctl_doc, "%s", out_buf);
        blocks = mj_get(ctl_doc, "blocks");
        cr_assert(blocks && blocks->n == ELEMENTS(name), "%s", out_buf);

        snprintf(pattern, sizeof(pattern), "same-*-%d", (int) getpid());
        doc = inspect_json((const char *[]){ "--json", "--summary", "--socket", fixture_lmmd.sock,
                                             "--name", pattern, NULL },
                           "memfds", &rows);
        cr_assert_eq(rows->n, ELEMENTS(name), "%.4000s", out_buf);
        for (size_t i = 0; i < blocks->n; i++) {
                const mj *b = blocks->items[i];
                const mj *row = find_block(rows, mj_str(b, "block"));
                size_t n_shared = 0;

                cr_assert(row, "%s not in memfd-inspect's view", mj_str(b, "block"));
                /* Every field both print is the same fact, with the same value. */
                for (size_t k = 0; k < b->n; k++) {
                        const mj *v = mj_get(row, b->keys[k]);
                        if (!v)
                                continue;
                        cr_assert(mj_same(b->items[k], v), "%s: \"%s\" differs", mj_str(b, "block"),
                                  b->keys[k]);
                        n_shared++;
                }
                for (size_t k = 0; k < ELEMENTS(shared); k++)
                        cr_assert(mj_get(b, shared[k]) && mj_get(row, shared[k]),
                                  "\"%s\" is not in both", shared[k]);
                cr_assert_eq(n_shared, ELEMENTS(shared), "shared fields: %zu", n_shared);
                matched++;
        }
        cr_assert_eq(matched, ELEMENTS(name));
        /* Some of the values, that the comparison means something. */
        cr_assert_str_eq(mj_str(find_block(rows, name[3]), "scope"), "connection");
        cr_assert(strstr(mj_str(find_block(rows, name[2]), "seals"), "future_write"));
        {
                char want[80];
                snprintf(want, sizeof(want), "same-bad\\xff-%d", (int) getpid());
                cr_assert(find_block(rows, want), "the escaped name, the same in both");
        }
        mj_free(doc);
        mj_free(ctl_doc);

        /* The same column names in tables. */
        {
                static const char cols[] = "BLOCK,SIZE,SEALS,HUGETLB,SCOPE,OWNER-UID,OWNER-PID,"
                                           "DEV,INODE";
                const char *argv[] = {
                        ctl, "list", "--socket", fixture_lmmd.sock, "-o", cols, NULL
                };
                char *first_line;

                cr_assert_eq(harness_run(argv, NULL, out_buf, OUT_MAX, err_buf, OUT_MAX), 0, "%s",
                             err_buf);
                first_line = strndup(out_buf, strcspn(out_buf, "\n"));
                cr_assert_eq(inspect((const char *[]){ "--summary", "--socket", fixture_lmmd.sock,
                                                       "--name", pattern, "-o", cols, NULL }),
                             0, "%s", err_buf);
                cr_assert_eq(strncmp(out_buf, first_line, strlen(first_line)), 0,
                             "headers differ:\n%s\n%.*s", first_line, (int) strcspn(out_buf, "\n"),
                             out_buf);
                free(first_line);
        }

        lmm_segment_unref(conn);
        lmm_client_unref(c);
        fixture_lmmd_stop();
}

/* --version, -n/--noheadings and -r/--raw (as lmmctl and lsfd spell them), and --name. */
Test(memfd_inspect, version_noheadings_raw) {
        char want[64], pid[32], line[256];
        const char *p;
        fixture f;
        size_t n = 0;

        snprintf(want, sizeof(want), "memfd-inspect %s\n", harness_getenv("LMM_PROJECT_VERSION"));
        cr_assert_eq(inspect((const char *[]){ "--version", NULL }), 0);
        cr_assert_str_eq(out_buf, want);
        cr_assert_eq(inspect((const char *[]){ "--summary", "-V", NULL }), 0);
        cr_assert_str_eq(out_buf, want);

        mkfds_start(&f);
        snprintf(pid, sizeof(pid), "%d", (int) f.pid);
        cr_assert_eq(inspect((const char *[]){ "--summary", "--no-manager", "--pid", pid, "-n",
                                               "-r", "-b", "-o", "name,size,seals", NULL }),
                     0, "%s", err_buf);
        /* One line per memfd, "NAME SIZE SEALS", as the fixture made them. */
        for (p = out_buf; *p; p += strcspn(p, "\n") + 1) {
                bool found = false;

                snprintf(line, sizeof(line), "%.*s", (int) strcspn(p, "\n"), p);
                for (size_t i = 0; i < f.n_memfds && !found; i++) {
                        char expect[256];
                        snprintf(expect, sizeof(expect), "%s %lld %s", f.memfds[i].name,
                                 f.memfds[i].size, f.memfds[i].seals);
                        found = strcmp(line, expect) == 0;
                }
                cr_assert(found, "unexpected line '%s' in:\n%s", line, out_buf);
                n++;
        }
        cr_assert_eq(n, f.n_memfds, "%s", out_buf);

        /* Headings, once: the same table with them. */
        cr_assert_eq(inspect((const char *[]){ "--summary", "--no-manager", "--pid", pid, "--raw",
                                               "-o", "NAME,SIZE", NULL }),
                     0, "%s", err_buf);
        cr_assert(strncmp(out_buf, "NAME SIZE\n", 10) == 0, "%s", out_buf);
        cr_assert_eq(count_lines(out_buf), (int) f.n_memfds + 1, "%s", out_buf);

        /* Raw and a tree: no tree lines, each memfd's lines after it. */
        cr_assert_eq(inspect((const char *[]){ "--tree", "--no-manager", "--pid", pid, "-rn", "-o",
                                               "TYPE,NAME", NULL }),
                     0, "%s", err_buf);
        cr_assert(strncmp(out_buf, "memfd ", 6) == 0, "%s", out_buf);
        for (p = out_buf; *p; p += strcspn(p, "\n") + 1)
                cr_assert(strncmp(p, "memfd ", 6) == 0 || strncmp(p, "fd ", 3) == 0 ||
                                  strncmp(p, "map ", 4) == 0,
                          "a line with more than its type and name: %s", out_buf);

        /* --name narrows, with its long name only (-n is --noheadings). */
        {
                char pattern[80];
                snprintf(pattern, sizeof(pattern), "%s-rw", f.prefix);
                cr_assert_eq(
                        inspect((const char *[]){ "--summary", "--no-manager", "--pid", pid,
                                                  "--name", pattern, "-rn", "-o", "name", NULL }),
                        0, "%s", err_buf);
                snprintf(line, sizeof(line), "%s\n", pattern);
                cr_assert_str_eq(out_buf, line);
        }
        mkfds_stop(&f);
}

/* COMPREPLY, one per line, for the command line @words (the last one being completed), from
 * completions/memfd-inspect sourced in bash, with the built memfd-inspect first in PATH. */
static int complete(const char *const *words) {
        static const char script[] =
                "source /usr/share/bash-completion/bash_completion || exit 3\n"
                "source \"$LMM_COMPLETIONS/memfd-inspect\" || exit 4\n"
                "compopt() { :; }  # only a real completion may call it\n"
                "COMP_WORDS=(\"$@\"); COMP_CWORD=$(($# - 1))\n"
                "COMP_LINE=\"$*\"; COMP_POINT=${#COMP_LINE}\n"
                "f=$(complete -p \"$1\") || exit 5\n"
                "f=${f#*-F }; f=${f%% *}\n"
                "\"$f\" \"$1\" \"${COMP_WORDS[COMP_CWORD]}\" \"${COMP_WORDS[COMP_CWORD-1]}\"\n"
                "printf '%s\\n' \"${COMPREPLY[@]}\"\n";
        const char *argv[32] = { "/bin/bash", "-c", script, "bash", "memfd-inspect" };
        const char *bin = harness_getenv("MEMFD_INSPECT");
        char path[4096];
        size_t n = 5;

        snprintf(path, sizeof(path), "%.*s:%s", (int) (strrchr(bin, '/') - bin), bin,
                 getenv("PATH") ?: "/usr/bin:/bin");
        setenv("PATH", path, 1);
        for (; *words; words++)
                argv[n++] = *words;
        argv[n] = NULL;
        return harness_run(argv, NULL, out_buf, OUT_MAX, err_buf, OUT_MAX);
}

Test(memfd_inspect, bash_completion) {
        cr_assert_eq(access("/usr/share/bash-completion/bash_completion", R_OK), 0,
                     "bash-completion is not installed (tools/deps.sh)");
        cr_assert_eq(complete((const char *[]){ "--su", NULL }), 0, "%s", err_buf);
        cr_assert_str_eq(out_buf, "--summary\n");
        cr_assert_eq(complete((const char *[]){ "--no", NULL }), 0, "%s", err_buf);
        cr_assert_str_eq(out_buf, "--noheadings\n--no-manager\n");
        /* Columns, from --list-columns: any case in, upper case out; after a comma or a '+'. */
        cr_assert_eq(complete((const char *[]){ "-o", "or", NULL }), 0, "%s", err_buf);
        cr_assert_str_eq(out_buf, "ORPHAN\n");
        cr_assert_eq(complete((const char *[]){ "--summary", "-o", "NAME,bl", NULL }), 0, "%s",
                     err_buf);
        cr_assert_str_eq(out_buf, "NAME,BLOCK\n");
        cr_assert_eq(complete((const char *[]){ "--output", "+owner", NULL }), 0, "%s", err_buf);
        cr_assert_str_eq(out_buf, "+OWNER-UID\n+OWNER-PID\n");
        /* Pids from /proc: ours is one. */
        {
                char self[32], *p;
                snprintf(self, sizeof(self), "%d", (int) getpid());
                cr_assert_eq(complete((const char *[]){ "--pid", self, NULL }), 0, "%s", err_buf);
                for (p = out_buf; *p; p += strcspn(p, "\n") + 1)
                        cr_assert(strncmp(p, self, strlen(self)) == 0, "%s", out_buf);
                snprintf(self, sizeof(self), "%d\n", (int) getpid());
                cr_assert(strstr(out_buf, self) == out_buf || strstr(out_buf, self)[-1] == '\n',
                          "%s", out_buf);
        }
}

Test(memfd_inspect, unreachable_manager_is_one_line) {
        const mj *rows;
        char self[32];
        mj *doc;

        snprintf(self, sizeof(self), "%d", (int) getpid());
        doc = inspect_json((const char *[]){ "--json", "--summary", "--socket",
                                             "/nonexistent/lmmd.sock", "--pid", self, NULL },
                           "memfds", &rows);

        /* One line about the manager; at most one more about unreadable processes (some
         * sandboxes hide a process even from root). */
        cr_assert(strncmp(err_buf,
                          "memfd-inspect: cannot ask the manager at /nonexistent/lmmd.sock: ",
                          65) == 0,
                  "%s", err_buf);
        cr_assert(count_lines(err_buf) == 1 ||
                          (count_lines(err_buf) == 2 && strstr(err_buf, "could not be read")),
                  "%s", err_buf);
        mj_free(doc);
}

/* ------------------------------------------------------- a hostile system */

static void stallfs_stop(stallfs *sf) {
        if (sf->pid <= 0)
                return;
        close(sf->in_fd);
        running_stallfs = NULL;
        /* It kills its daemon first, which aborts the connection: nothing waits after that. */
        cr_assert_geq(harness_wait_exit(sf->pid, 10000), 0);
        sf->pid = 0;
}

/* Start stallfs with @attacks (NULL-terminated); skip the test where FUSE cannot be mounted. */
static void stallfs_start(stallfs *sf, const char *const *attacks) {
        const char *argv[8] = { harness_getenv("STALLFS") };
        char line[512] = "", skip[512] = "";
        size_t n = 1;
        FILE *o;

        if (geteuid() != 0)
                cr_skip_test("needs root, to mount a FUSE file system");
        if (access("/dev/fuse", R_OK | W_OK) != 0)
                cr_skip_test("no usable /dev/fuse: %s", strerror(errno));
        memset(sf, 0, sizeof(*sf));
        for (; *attacks && n < ELEMENTS(argv) - 1; attacks++)
                argv[n++] = *attacks;
        o = fixture_spawn(argv, &sf->pid, &sf->in_fd);
        running_stallfs = sf;
        while (fixture_line(o, line, sizeof(line))) {
                int pid;

                if (sscanf(line, "stalled %d", &pid) == 1)
                        sf->stalled = pid;
                else if (strncmp(line, "skip ", 5) == 0)
                        snprintf(skip, sizeof(skip), "%s", line + 5);
        }
        fclose(o);
        if (skip[0]) {
                stallfs_stop(sf);
                cr_skip_test("cannot mount FUSE here (%s)", skip);
        }
        cr_assert(strcmp(line, "ready") == 0, "stallfs did not get ready");
}

static long long now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Run memfd-inspect like inspect(), but kill it when it has not finished after @timeout_ms.
 * Return: its exit status, -1 for a signal, -2 when it had to be killed; *ret_ms how long. */
static int inspect_within(const char *const *args, int timeout_ms, long long *ret_ms) {
        const char *argv[32] = { harness_getenv("MEMFD_INSPECT") };
        int out, err, status;
        struct pollfd p[2];
        size_t n = 1, len[2] = {};
        char *buf[2] = { out_buf, err_buf };
        long long start = now_ms();
        bool hung = false;
        pid_t pid;

        for (; *args && n < 31; args++)
                argv[n++] = *args;
        pid = spawn(argv, NULL, &out, &err);
        p[0] = (struct pollfd){ .fd = out, .events = POLLIN };
        p[1] = (struct pollfd){ .fd = err, .events = POLLIN };
        while (p[0].fd >= 0 || p[1].fd >= 0) {
                long long left = start + timeout_ms - now_ms();

                if (left <= 0) {
                        hung = true;
                        break;
                }
                if (poll(p, 2, (int) left) < 0)
                        cr_assert_eq(errno, EINTR);
                for (int i = 0; i < 2; i++) {
                        ssize_t k;

                        if (p[i].fd < 0 || !p[i].revents)
                                continue;
                        k = read(p[i].fd, buf[i] + len[i], OUT_MAX - 1 - len[i]);
                        if (k <= 0) {
                                close(p[i].fd);
                                p[i].fd = -1;
                        } else
                                len[i] += (size_t) k;
                }
        }
        for (int i = 0; i < 2; i++) {
                buf[i][len[i]] = 0;
                if (p[i].fd >= 0)
                        close(p[i].fd);
        }
        if (hung) {
                kill(pid, SIGKILL);
                /* A FUSE request the daemon already read is waited out even by SIGKILL: end the
                 * attack (stallfs aborts its connection) before reaping. */
                if (running_stallfs)
                        stallfs_stop(running_stallfs);
        }
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        *ret_ms = now_ms() - start;
        if (hung)
                return -2;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Whether @pid has a link in fd/ that reads @target. */
static bool holds_link(pid_t pid, const char *target) {
        for (int fd = 0; fd < 64; fd++) {
                char path[64], link[256];
                ssize_t k;

                snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int) pid, fd);
                k = readlink(path, link, sizeof(link) - 1);
                if (k > 0 && (link[k] = 0, strcmp(link, target) == 0))
                        return true;
        }
        return false;
}

/* Whether @pid's maps names @path. */
static bool maps_path(pid_t pid, const char *path) {
        char file[64], line[512];
        bool found = false;
        FILE *f;

        snprintf(file, sizeof(file), "/proc/%d/maps", (int) pid);
        f = fopen(file, "re");
        cr_assert(f);
        while (!found && fgets(line, sizeof(line), f))
                found = strstr(line, path) != NULL;
        fclose(f);
        return found;
}

static bool has_attack(const char *const *attacks, const char *a) {
        for (; *attacks; attacks++)
                if (strcmp(*attacks, a) == 0)
                        return true;
        return false;
}

/*
 * memfd-inspect, as root, among processes that lay out @attacks: it must be done within @max_ms,
 * list every memfd of the mkfds fixture and nothing of stallfs's. @whole_system: scan every
 * process (other stalled processes on the machine, such as another test's, each cost a stall
 * timeout too), else only the fixture's and stallfs's.
 */
static void expect_unharmed(const char *const *attacks, bool whole_system, long long max_ms) {
        char pids[128];
        long long ms;
        const mj *rows;
        size_t n_fixture = 0;
        stallfs sf;
        fixture f;
        mj *doc;
        int r;

        stallfs_start(&sf, attacks);
        /* The attacks are real: the names read like memfds'. */
        if (has_attack(attacks, "fd"))
                cr_assert(holds_link(sf.pid, "/memfd:evil"));
        if (has_attack(attacks, "map"))
                cr_assert(maps_path(sf.pid, "/memfd:mapped"));
        mkfds_start(&f);
        snprintf(pids, sizeof(pids), "%d,%d,%d", (int) f.pid, (int) f.child, (int) sf.pid);
        if (sf.stalled > 0)
                snprintf(pids + strlen(pids), sizeof(pids) - strlen(pids), ",%d", (int) sf.stalled);

        r = inspect_within(
                whole_system ? (const char *[]){ "--json", "--no-manager", NULL }
                             : (const char *[]){ "--json", "--no-manager", "--pid", pids, NULL },
                30000, &ms);
        cr_assert_neq(r, -2, "memfd-inspect hung: killed after %lld ms", ms);
        cr_assert_eq(r, 0, "memfd-inspect failed (%d): %s", r, err_buf);
        cr_assert_lt(ms, max_ms, "memfd-inspect took %lld ms", ms);

        doc = mj_parse(out_buf);
        cr_assert(doc, "memfd-inspect printed no valid JSON:\n%.4000s", out_buf);
        rows = mj_get(doc, "memfds");
        cr_assert(rows && rows->type == MJ_ARRAY);
        for (size_t i = 0; i < rows->n; i++) {
                const mj *row = rows->items[i];
                const char *name = mj_str(row, "name");
                long long pid = mj_int(row, "pid");

                cr_assert(pid != sf.pid && strcmp(name, "evil") != 0 && strcmp(name, "mapped") != 0,
                          "stallfs's file is listed: pid %lld, %s", pid, name);
                if (pid != f.pid && pid != f.child)
                        continue;
                check_memfd_fields(&f, row);
                n_fixture++;
        }
        cr_assert_eq(n_fixture, f.n_fds + f.n_maps, "%.4000s", out_buf);
        mj_free(doc);

        if (sf.stalled > 0) {
                /* Among the pids that timed out: on a whole-system scan, others' stalled
                 * processes (other test runs on the machine) may be named too. */
                const char *list = strstr(err_buf, "timed out: pid ");
                bool named = false;

                cr_assert(list, "%s", err_buf);
                for (const char *p = list + 15; *p >= '0' && *p <= '9';) {
                        named = named || atoi(p) == (int) sf.stalled;
                        p += strspn(p, "0123456789");
                        p += *p == ',';
                }
                cr_assert(named, "pid %d not named: %s", (int) sf.stalled, err_buf);
        }
        mkfds_stop(&f);
        stallfs_stop(&sf);
}

/* stat() on the fd's link would wait for ever on the daemon's GETATTR. */
Test(memfd_inspect, fuse_file_named_like_a_memfd) {
        expect_unharmed((const char *[]){ "fd", NULL }, false, 3000);
}

/* The same through maps and map_files/. */
Test(memfd_inspect, fuse_mapping_named_like_a_memfd) {
        expect_unharmed((const char *[]){ "map", NULL }, false, 3000);
}

/* A process stuck in exec holds its exec_update_lock, which its fd links and maps wait on: one
 * stall timeout (1 s) for it, then on with the rest. */
Test(memfd_inspect, process_stuck_in_exec) {
        expect_unharmed((const char *[]){ "exec", NULL }, false, 5000);
}

/* All at once, and every process on the system scanned, as an administrator would. */
Test(memfd_inspect, hostile_system) {
        expect_unharmed((const char *[]){ "fd", "map", "exec", NULL }, true, 10000);
}

/* -------------------------------------------------------------- options */

static void expect_usage_error(const char *const *args, const char *what) {
        int r = inspect(args);

        cr_assert_eq(r, 2, "%s: exit %d", what, r);
        cr_assert_eq(count_lines(err_buf), 1, "%s: stderr:\n%s", what, err_buf);
        cr_assert(strncmp(err_buf, "memfd-inspect: ", 15) == 0, "%s: %s", what, err_buf);
        cr_assert_eq(out_buf[0], 0, "%s: printed %s", what, out_buf);
}

Test(memfd_inspect, option_errors) {
        expect_usage_error((const char *[]){ "-o", "NAME,BOGUS", NULL }, "unknown column");
        cr_assert(strstr(err_buf, "BOGUS"), "%s", err_buf);
        expect_usage_error((const char *[]){ "--bogus", NULL }, "unknown long option");
        cr_assert(strstr(err_buf, "--bogus"), "%s", err_buf);
        expect_usage_error((const char *[]){ "-Z", NULL }, "unknown short option");
        expect_usage_error((const char *[]){ "--pid", "abc", NULL }, "bad pid");
        expect_usage_error((const char *[]){ "--pid", NULL }, "missing argument");
        expect_usage_error((const char *[]){ "--watch", "0", NULL }, "zero interval");
        expect_usage_error((const char *[]){ "--tree", "--summary", NULL }, "two views");
        expect_usage_error((const char *[]){ "extra", NULL }, "stray argument");
        cr_assert(strstr(err_buf, "unexpected argument 'extra'"), "%s", err_buf);
        /* -n is --noheadings now, as in lmmctl and lsfd: a pattern after it is stray. */
        expect_usage_error((const char *[]){ "-n", "lmm:*", NULL }, "-n PATTERN");
        cr_assert(strstr(err_buf, "unexpected argument 'lmm:*'"), "%s", err_buf);
        expect_usage_error((const char *[]){ "--json", "--raw", NULL }, "two formats");
        expect_usage_error((const char *[]){ "--summ=1", NULL }, "an argument to a flag");
        cr_assert(strstr(err_buf, "option '--summary' takes no argument"), "%s", err_buf);

        cr_assert_eq(inspect((const char *[]){ "--help", NULL }), 0);
        cr_assert(strstr(out_buf, "--json"));
        cr_assert_eq(inspect((const char *[]){ "--list-columns", NULL }), 0);
        cr_assert(strstr(out_buf, "ORPHAN"));
}

/* A user who may not read other processes gets their own and one line about the rest. */
Test(memfd_inspect, unreadable_processes_one_line) {
        const char *bin = harness_getenv("MEMFD_INSPECT");
        int out[2], err[2], status;
        pid_t pid;
        size_t n;

        if (geteuid() != 0)
                cr_skip_test("needs root to switch to an unprivileged user");
        cr_assert_eq(pipe2(out, O_CLOEXEC), 0);
        cr_assert_eq(pipe2(err, O_CLOEXEC), 0);
        pid = fork();
        if (pid == 0) {
                dup2(out[1], 1);
                dup2(err[1], 2);
                if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
                        _exit(126);
                execl(bin, bin, "--no-manager", "--summary", (char *) NULL);
                _exit(127);
        }
        close(out[1]);
        close(err[1]);
        while (read(out[0], out_buf, OUT_MAX) > 0)
                ;
        n = 0;
        for (ssize_t k; (k = read(err[0], err_buf + n, OUT_MAX - 1 - n)) > 0;)
                n += (size_t) k;
        err_buf[n] = 0;
        close(out[0]);
        close(err[0]);
        waitpid(pid, &status, 0);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
                cr_skip_test("user nobody cannot execute %s", bin);
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d: %s", status, err_buf);
        cr_assert_eq(count_lines(err_buf), 1, "%s", err_buf);
        cr_assert(strstr(err_buf, "could not be read (permission denied); run as root to see them"),
                  "%s", err_buf);
}

Test(memfd_inspect, watch_redraws_until_sigint) {
        const char *bin = harness_getenv("MEMFD_INSPECT");
        fixture f;
        char pid_s[32];
        int out[2], status;
        pid_t pid;
        size_t n = 0;
        const char *p;
        int frames = 0;

        mkfds_start(&f);
        snprintf(pid_s, sizeof(pid_s), "%d", (int) f.pid);
        cr_assert_eq(pipe2(out, O_CLOEXEC), 0);
        pid = fork();
        if (pid == 0) {
                dup2(out[1], 1);
                execl(bin, bin, "--no-manager", "--summary", "--pid", pid_s, "--watch", "0.1",
                      (char *) NULL);
                _exit(127);
        }
        close(out[1]);
        nanosleep(&(struct timespec){ .tv_nsec = 450 * 1000 * 1000 }, NULL);
        kill(pid, SIGINT);
        for (ssize_t k; (k = read(out[0], out_buf + n, OUT_MAX - 1 - n)) > 0;)
                n += (size_t) k;
        out_buf[n] = 0;
        close(out[0]);
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d", status);
        for (p = out_buf; (p = strstr(p, "INODE")); p++)
                frames++;
        cr_assert_geq(frames, 2, "%d frames:\n%.4000s", frames, out_buf);
        mkfds_stop(&f);
}

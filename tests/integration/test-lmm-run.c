/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lmm-run from the shell's side, against a real lmmd: a worker writes a
 * block it got read-write and the manager's other clients see it; a block
 * it got read-only (the default) holds against every route the worker
 * helper knows; a forbidden call fails with the sandbox's errno, or kills
 * with --kill; the exit status is the program's, 128+N for a signal, 127
 * for a program not found; every error is one line naming what is wrong;
 * SIGTERM to lmm-run reaches the worker, and kill -9 of lmm-run takes the
 * worker with it.
 */

#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"
#include "harness.h"

#define ELEMENTS(a) (sizeof(a) / sizeof((a)[0]))

static char out[1 << 16], err[4096];

TestSuite(lmm_run, .init = fixture_lmmd_start, .fini = fixture_lmmd_stop, .timeout = 60);

/* lmm-run --socket SOCK ARGS... */
static int run_argv(const char *const *args) {
        const char *argv[40] = { harness_getenv("LMM_RUN"), "--socket", fixture_lmmd.sock };
        size_t n = 3;

        for (; *args; args++) {
                cr_assert_lt(n, ELEMENTS(argv) - 1);
                argv[n++] = *args;
        }
        argv[n] = NULL;
        return harness_run(argv, NULL, out, sizeof(out), err, sizeof(err));
}
#define RUN(...) run_argv((const char *[]){ __VA_ARGS__, NULL })

static int count_lines(const char *s) {
        int n = 0;
        for (; *s; s++)
                n += *s == '\n';
        return n;
}

static void make_block(const char *name, const char *text) {
        lmm_client *c = fixture_client();
        lmm_segment *s = fixture_create(c, name, 4096);

        cr_assert_geq(lmm_segment_map(s, 0, NULL), 0);
        strcpy(lmm_segment_get_data(s), text);
        lmm_segment_unref(s);
        lmm_client_unref(c);
}

static void block_text(const char *name, char *buf, size_t size) {
        lmm_client *c = fixture_client();
        lmm_segment *s = NULL;

        cr_assert_eq(lmm_segment_open(c, name, LMM_OPEN_RDONLY, &s), 0);
        cr_assert_geq(lmm_segment_map(s, 0, NULL), 0);
        snprintf(buf, size, "%s", (const char *) lmm_segment_get_data(s));
        lmm_segment_unref(s);
        lmm_client_unref(c);
}

Test(lmm_run, version_help_and_usage_errors) {
        const char *argv[] = { harness_getenv("LMM_RUN"), "--version", NULL };
        char expect[64];

        cr_assert_eq(harness_run(argv, NULL, out, sizeof(out), err, sizeof(err)), 0);
        snprintf(expect, sizeof(expect), "lmm-run %s\n", harness_getenv("LMM_PROJECT_VERSION"));
        cr_assert_str_eq(out, expect);
        cr_assert_eq(RUN("--help"), 0);
        cr_assert(strstr(out, "--block NAME[:ro|:rw]"), "%s", out);

        cr_assert_eq(RUN("-b", "x"), 2, "%s", err);
        cr_assert(strstr(err, "no program given"), "%s", err);
        cr_assert_eq(RUN("--bogus", "true"), 2);
        cr_assert_eq(count_lines(err), 1, "%s", err);
        cr_assert(strstr(err, "--bogus"), "%s", err);
        cr_assert_eq(RUN("--unconfined", "-p", "launch", "true"), 2);
        cr_assert(strstr(err, "contradict"), "%s", err);
        cr_assert_eq(RUN("-b", ":rw", "true"), 2);
        cr_assert(strstr(err, "no block name"), "%s", err);
}

Test(lmm_run, options_after_the_program_are_the_programs) {
        /* "--version" after PROGRAM is sh's argument, not lmm-run's. */
        cr_assert_eq(RUN("sh", "-c", "echo \"$0 $1\"", "--version", "-b"), 0, "%s", err);
        cr_assert_str_eq(out, "--version -b\n");
}

Test(lmm_run, errors_name_what_is_wrong) {
        make_block("unfrozen", "x");

        cr_assert_eq(RUN("-b", "no-such-block", "true"), 1);
        cr_assert_eq(count_lines(err), 1, "%s", err);
        cr_assert(strstr(err, "no-such-block"), "%s", err);

        cr_assert_eq(RUN("-p", "bogus", "true"), 2);
        cr_assert(strstr(err, "unknown profile 'bogus'"), "%s", err);
        cr_assert_eq(RUN("-p", "compute", "true"), 2);
        cr_assert(strstr(err, "lmm_sandbox_enter()"), "%s", err);

        cr_assert_eq(RUN("no-such-program-anywhere"), 127);
        cr_assert(strstr(err, "no-such-program-anywhere: command not found"), "%s", err);
        cr_assert_eq(RUN("/etc/passwd"), 126, "%s", err);

        /* Unconfined, a read-only block that is not frozen would be
         * writable in disguise: refused, by name. */
        cr_assert_eq(RUN("--unconfined", "-b", "unfrozen:ro", "true"), 1);
        cr_assert_eq(count_lines(err), 1, "%s", err);
        cr_assert(strstr(err, "'unfrozen'") && strstr(err, "not frozen"), "%s", err);
}

Test(lmm_run, a_read_write_block_is_shared_with_the_caller) {
        char text[64];

        make_block("rw", "before");
        cr_assert_eq(RUN("-b", "rw:rw", harness_getenv("LMM_WORKER"), "names", "write", "rw",
                         "written by the worker"),
                     0, "%s%s", out, err);
        cr_assert(strstr(out, "fd 3 rw"), "%s", out);
        block_text("rw", text, sizeof(text));
        cr_assert_str_eq(text, "written by the worker");
}

Test(lmm_run, read_only_is_the_default_and_holds) {
        char text[64];

        make_block("ro", "original");
        if (!harness_userns_available()) {
                /* In a chroot no namespace can hide /proc: refused, not handed out. */
                cr_assert_eq(RUN("-b", "ro", harness_getenv("LMM_WORKER"), "attack", "ro"), 1);
                cr_assert(strstr(err, "'ro'") && strstr(err, "without user namespaces"), "%s", err);
                cr_skip_test("user namespaces are not available here: the refusal was checked, "
                             "not the attack");
        }
        cr_assert_eq(RUN("-b", "ro", harness_getenv("LMM_WORKER"), "read", "ro", "attack", "ro"), 0,
                     "%s%s", out, err);
        cr_assert(strstr(out, "read ro: ro original"), "%s", out);
        cr_assert(strstr(out, ": blocked"), "no route tried:\n%s", out);
        cr_assert_null(strstr(out, "WROTE"), "a route wrote the read-only block:\n%s", out);
        block_text("ro", text, sizeof(text));
        cr_assert_str_eq(text, "original");

        /* Frozen, it may go to an unconfined worker read-only too. */
        lmm_client *c = fixture_client();
        cr_assert_eq(lmm_block_freeze(c, "ro"), 0);
        lmm_client_unref(c);
        cr_assert_eq(RUN("--unconfined", "-b", "ro", harness_getenv("LMM_WORKER"), "attack", "ro"),
                     0, "%s%s", out, err);
        cr_assert_null(strstr(out, "WROTE"), "%s", out);
}

Test(lmm_run, a_forbidden_call_is_refused_or_kills) {
        const char *try = harness_getenv("TRY_SYSCALL");

        cr_assert_eq(RUN(try, "socket-inet", "getpid"), 0, "%s", err);
        cr_assert(strstr(out, "socket-inet errno=ENOSTR"), "%s", out);
        cr_assert(strstr(out, "getpid ok"), "%s", out);

        cr_assert_eq(RUN("--unconfined", try, "socket-inet"), 0, "%s", err);
        cr_assert(strstr(out, "socket-inet ok"), "%s", out);

        /* --kill: SIGSYS, reported as a shell would. */
        cr_assert_eq(RUN("--kill", try, "socket-inet"), 128 + SIGSYS, "%s", out);
}

Test(lmm_run, exit_status_is_the_programs) {
        cr_assert_eq(RUN("sh", "-c", "exit 7"), 7);
        cr_assert_eq(RUN("sh", "-c", "kill -KILL $$"), 128 + SIGKILL);
        cr_assert_eq(RUN("true"), 0);
}

/* lmm-run ARGS... in the background, its stdout on a pipe; returns its pid. */
static pid_t start_bg(const char *const *args, int *ret_out) {
        int p[2];
        pid_t pid;

        cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
        pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
                const char *argv[40] = { harness_getenv("LMM_RUN"), "--socket", fixture_lmmd.sock };
                size_t n = 3;

                for (; *args; args++)
                        argv[n++] = *args;
                dup2(p[1], STDOUT_FILENO);
                execv(argv[0], (char **) argv);
                _exit(127);
        }
        close(p[1]);
        *ret_out = p[0];
        return pid;
}

/* The worker helper's "ids" line: its pid. */
static pid_t read_worker_pid(int fd) {
        char buf[256];
        size_t n = 0;
        const char *p;

        while (n < sizeof(buf) - 1) {
                ssize_t k = read(fd, buf + n, sizeof(buf) - 1 - n);
                cr_assert_gt(k, 0, "the worker said nothing");
                n += (size_t) k;
                buf[n] = 0;
                if (strchr(buf, '\n'))
                        break;
        }
        p = strstr(buf, "pid=");
        cr_assert_not_null(p, "%s", buf);
        return (pid_t) atoi(p + 4);
}

Test(lmm_run, sigterm_reaches_the_worker) {
        int fd, status;
        pid_t pid = start_bg(
                (const char *[]){ harness_getenv("LMM_WORKER"), "ids", "sleep", "30000", NULL },
                &fd);

        (void) read_worker_pid(fd);
        cr_assert_eq(kill(pid, SIGTERM), 0);
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        cr_assert(WIFEXITED(status), "lmm-run itself died by a signal");
        cr_assert_eq(WEXITSTATUS(status), 128 + SIGTERM);
        close(fd);
}

Test(lmm_run, the_worker_dies_with_lmm_run) {
        int fd, status;
        pid_t pid, worker;

        /* The orphaned worker is ours to reap: PID 1 here reaps nobody. */
        cr_assert_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
        pid = start_bg(
                (const char *[]){ harness_getenv("LMM_WORKER"), "ids", "sleep", "30000", NULL },
                &fd);
        worker = read_worker_pid(fd);
        /* The worker's own pid namespace is the caller's: the pid is real. */
        cr_assert_eq(kill(pid, SIGKILL), 0);
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        cr_assert_neq(harness_wait_exit(worker, 2000), -2, "the worker outlived lmm-run");
        close(fd);
}

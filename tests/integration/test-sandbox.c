/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-sandbox — the profiles from the outside, in real processes: the
 * try-syscall helper enters a profile and tries each call, or a forked
 * child loads the launch filter the parent built and execs a real program
 * (sh, python3, coreutils), as the launcher does. For each forbidden call
 * the same call is also tried unconfined, to show that the answer is the
 * filter's and not the kernel's.
 *
 * What is shown:
 *   - under compute, every forbidden call fails with LMM_SANDBOX_ERRNO and
 *     what computing on mapped blocks needs works; under launch, exec and
 *     libraries work and what reaches beyond the worker fails;
 *   - with LMM_SANDBOX_KILL the first denied call kills with SIGSYS, while
 *     clone3 still fails with ENOSYS (threads are made through clone());
 *   - a foreign ABI dies in every profile (x32 here; i386 where the machine
 *     can run int 0x80 at all);
 *   - a confined holder of a real lmm block cannot seal it F_SEAL_SEAL, so
 *     the manager can still freeze it and seal it at shutdown, while an
 *     unconfined one can (the hole docs/security.md describes);
 *   - every thread is confined, threads started before the call included;
 *   - READ_IMPLIES_EXEC cannot turn compute's readable mappings executable;
 *   - a worker launched under launch can enter compute itself.
 */

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"
#include "lmm.h"
#include "missing.h"
#include "sandbox.h"
#include "util.h"

#define DENIED_LINE_MAX 64

typedef struct run {
        int status;
        char out[16384];
} run;

static char denied[DENIED_LINE_MAX]; /* "errno=ENOSTR" */

static void setup(void) {
        snprintf(denied, sizeof(denied), "errno=%s", strerrorname_np(LMM_SANDBOX_ERRNO));
}

TestSuite(sandbox, .init = setup, .timeout = 120);

/*
 * Run @argv (argv[0] a path) with stdout captured; in the child, @pass_fd
 * (borrowed; < 0: none) becomes fd 3, and @prog (may be NULL) is loaded
 * between fork and exec, as the launcher does.
 */
static void run_argv(run *r, const char *const *argv, int pass_fd, const struct sock_fprog *prog) {
        int p[2];
        size_t len = 0;
        ssize_t n;
        pid_t pid;

        cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
        pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
                if (dup2(p[1], STDOUT_FILENO) < 0)
                        _exit(126);
                if (pass_fd >= 0 && dup2(pass_fd, 3) < 0)
                        _exit(126);
                if (prog && sandbox_apply(prog, false) < 0)
                        _exit(125);
                execv(argv[0], (char *const *) argv);
                _exit(127);
        }
        close(p[1]);
        while ((n = read(p[0], r->out + len, sizeof(r->out) - 1 - len)) > 0)
                len += (size_t) n;
        r->out[len] = 0;
        close(p[0]);
        cr_assert_eq(waitpid(pid, &r->status, 0), pid);
}

/* try-syscall with @opts (NULL-terminated, may be NULL) and then @calls. */
static void try_calls(run *r, const char *const *opts, const char *const *calls, size_t n_calls,
                      int pass_fd, const struct sock_fprog *prog) {
        const char *argv[128];
        size_t k = 0;

        argv[k++] = harness_getenv("TRY_SYSCALL");
        for (size_t i = 0; opts && opts[i]; i++)
                argv[k++] = opts[i];
        cr_assert_lt(k + n_calls, ELEMENTSOF(argv));
        for (size_t i = 0; i < n_calls; i++)
                argv[k++] = calls[i];
        argv[k] = NULL;
        run_argv(r, argv, pass_fd, prog);
}

/*
 * The answer try-syscall printed for @call ("ok", "errno=EPERM"), or NULL
 * when it printed none; a call given as CALL=ARG answers as CALL.
 */
static const char *answer(const run *r, const char *call, char *buf, size_t size) {
        size_t len = strcspn(call, "=");

        for (const char *l = r->out; *l; l = strchrnul(l, '\n') + (strchr(l, '\n') ? 1 : 0)) {
                const char *end = strchrnul(l, '\n');

                if ((size_t) (end - l) > len && strncmp(l, call, len) == 0 && l[len] == ' ') {
                        snprintf(buf, size, "%.*s", (int) (end - l - len - 1), l + len + 1);
                        return buf;
                }
                if (!*end)
                        break;
        }
        return NULL;
}

static void expect_answer(const run *r, const char *call, const char *want, const char *how) {
        char buf[128];
        const char *got = answer(r, call, buf, sizeof(buf));

        cr_expect(got && strcmp(got, want) == 0, "%s: %s answered %s, not %s (output:\n%s)", how,
                  call, got ?: "nothing", want, r->out);
}

static void expect_exited_0(const run *r, const char *how) {
        cr_assert(WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0,
                  "%s: try-syscall ended with status 0x%x (output:\n%s)", how, r->status, r->out);
}

static void expect_sigsys(const run *r, const char *how) {
        cr_assert(WIFSIGNALED(r->status) && WTERMSIG(r->status) == SIGSYS,
                  "%s: status 0x%x, not a death by SIGSYS (output:\n%s)", how, r->status, r->out);
}

/* ---- compute ---- */

/* What compute refuses; clone3 is apart (ENOSYS). execve last: unconfined, it runs the rest. */
static const char *const compute_forbidden[] = {
        "stat",
        "mmap-exec",
        "mprotect-exec",
        "setrlimit",
        "kill-parent",
        "prlimit-parent",
        "fcntl-add-seals",
        "fcntl-add-seals-hi",
        "open",
        "openat",
        "openat2",
        "socket-inet",
        "socket-unix",
        "socketpair-unix",
        "socketpair-inet",
        "fork",
        "clone-newns",
        "clone-newuser",
        "setns",
        "ptrace",
        "memfd_create",
        "process_vm_readv",
        "pidfd_open",
        "pidfd_getfd",
        "kcmp",
        "io_uring_setup",
        "bpf",
        "perf_event_open",
        "userfaultfd",
        "ioctl-userfaultfd-new",
        "keyctl",
        "fsopen",
        "name_to_handle_at",
        "mount",
        "umount",
        "personality",
        "personality-query",
        "tiocsti",
        "tiocsti-hi",
        "unshare-ns",
        "unshare-user",
        "execve",
};

static const char *const compute_needed[] = {
        "getpid",
        "gettid",
        "sched_yield",
        "sched_getaffinity",
        "getrandom",
        "clock_gettime",
        "nanosleep",
        "pipe",
        "eventfd",
        "epoll",
        "poll",
        "fstat",
        "dup",
        "fcntl-getfl",
        "fcntl-dupfd-cloexec",
        "fcntl-get-seals",
        "mmap-rw",
        "mremap",
        "madvise",
        "thread",
        "raise",
        "getrlimit",
};

Test(sandbox, compute_refuses_every_forbidden_call_with_the_sandbox_errno) {
        static const char *const enter[] = { "--enter", "compute", NULL };
        run *confined = calloc(1, sizeof(run)), *free_ = calloc(1, sizeof(run));
        char buf[128];

        try_calls(confined, enter, compute_forbidden, ELEMENTSOF(compute_forbidden), -1, NULL);
        expect_exited_0(confined, "compute");
        for (size_t i = 0; i < ELEMENTSOF(compute_forbidden); i++)
                expect_answer(confined, compute_forbidden[i], denied, "compute");

        /* Unconfined, no call answers the sandbox's errno: that one is the filter's. */
        try_calls(free_, NULL, compute_forbidden, ELEMENTSOF(compute_forbidden), -1, NULL);
        expect_exited_0(free_, "unconfined");
        for (size_t i = 0; i < ELEMENTSOF(compute_forbidden); i++) {
                const char *got = answer(free_, compute_forbidden[i], buf, sizeof(buf));

                cr_expect(got && strcmp(got, denied) != 0, "unconfined, %s answered %s",
                          compute_forbidden[i], got ?: "nothing");
        }
        /* Why not EOPNOTSUPP: the kernel answers it itself for an AF_INET pair. */
        expect_answer(free_, "socketpair-inet", "errno=EOPNOTSUPP", "unconfined");
        if (geteuid() == 0) {
                /* As root these are real attacks that work without the filter. */
                expect_answer(free_, "ptrace", "ok", "unconfined");
                expect_answer(free_, "pidfd_getfd", "ok", "unconfined");
                expect_answer(free_, "io_uring_setup", "ok", "unconfined");
                expect_answer(free_, "unshare-user", "ok", "unconfined");
                expect_answer(free_, "execve", "ok", "unconfined");
        }
        free(confined);
        free(free_);
}

Test(sandbox, compute_lets_a_program_compute) {
        static const char *const enter[] = { "--enter", "compute", NULL };
        static const char *const tty[] = { "isatty", "clone3" };
        run *r = calloc(1, sizeof(run));

        try_calls(r, enter, compute_needed, ELEMENTSOF(compute_needed), -1, NULL);
        expect_exited_0(r, "compute");
        for (size_t i = 0; i < ELEMENTSOF(compute_needed); i++)
                expect_answer(r, compute_needed[i], "ok", "compute");

        /* isatty() reaches the kernel, which says a pipe is no terminal; clone3 gets ENOSYS. */
        try_calls(r, enter, tty, ELEMENTSOF(tty), -1, NULL);
        expect_answer(r, "isatty", "errno=ENOTTY", "compute");
        expect_answer(r, "clone3", "errno=ENOSYS", "compute");
        free(r);
}

Test(sandbox, kill_flag_kills_with_sigsys_but_threads_still_work) {
        static const char *const compute[] = { "--enter", "compute", "--kill", NULL };
        static const char *const launch[] = { "--enter", "launch", "--kill", NULL };
        static const char *const c_calls[] = { "getpid", "thread", "clone3", "socket-inet",
                                               "getpid" };
        static const char *const l_calls[] = { "getpid", "thread", "fork", "ptrace", "getpid" };
        run *r = calloc(1, sizeof(run));

        try_calls(r, compute, c_calls, ELEMENTSOF(c_calls), -1, NULL);
        expect_sigsys(r, "compute --kill");
        cr_expect_str_eq(r->out, "getpid ok\nthread ok\nclone3 errno=ENOSYS\n");

        try_calls(r, launch, l_calls, ELEMENTSOF(l_calls), -1, NULL);
        expect_sigsys(r, "launch --kill");
        cr_expect_str_eq(r->out, "getpid ok\nthread ok\nfork ok\n");
        free(r);
}

/* ---- launch ---- */

static const char *const launch_forbidden[] = {
        "socket-inet",
        "socket-unix",
        "socketpair-inet",
        "socketpair-dgram",
        "fchmod",
        "fsetxattr",
        "ptrace",
        "process_vm_readv",
        "pidfd_getfd",
        "kcmp",
        "fcntl-add-seals",
        "fcntl-add-seals-hi",
        "io_uring_setup",
        "mount",
        "umount",
        "fsopen",
        "name_to_handle_at",
        "unshare-user",
        "unshare-ns",
        "setns",
        "clone-newns",
        "clone-newuser",
        "bpf",
        "perf_event_open",
        "userfaultfd",
        "keyctl",
        "personality",
        "tiocsti",
        "tiocsti-hi",
        "prlimit-parent",
};

static const char *const launch_needed[] = {
        "open",         "openat",          "openat2", "stat",   "mmap-exec",  "mprotect-exec",
        "memfd_create", "socketpair-unix", "fork",    "thread", "pidfd_open", "personality-query",
        "kill-parent",  "setrlimit",       "getpid",  "execve", "gettid",
};

Test(sandbox, launch_refuses_what_reaches_beyond_the_worker) {
        static const char *const enter[] = { "--enter", "launch", NULL };
        run *r = calloc(1, sizeof(run));

        try_calls(r, enter, launch_forbidden, ELEMENTSOF(launch_forbidden), -1, NULL);
        expect_exited_0(r, "launch");
        for (size_t i = 0; i < ELEMENTSOF(launch_forbidden); i++)
                expect_answer(r, launch_forbidden[i], denied, "launch");
        free(r);
}

Test(sandbox, launch_lets_a_program_exec_and_load_libraries) {
        static const char *const enter[] = { "--enter", "launch", NULL };
        static const char *const clone3[] = { "clone3", "thread" };
        run *r = calloc(1, sizeof(run));

        try_calls(r, enter, launch_needed, ELEMENTSOF(launch_needed), -1, NULL);
        expect_exited_0(r, "launch");
        /* execve ran this program again under the same filter, which went on with gettid. */
        for (size_t i = 0; i < ELEMENTSOF(launch_needed); i++)
                expect_answer(r, launch_needed[i], "ok", "launch");

        try_calls(r, enter, clone3, ELEMENTSOF(clone3), -1, NULL);
        expect_answer(r, "clone3", "errno=ENOSYS", "launch");
        expect_answer(r, "thread", "ok", "launch");
        free(r);
}

/* As the launcher does it: built in the parent, loaded between fork and exec. */
Test(sandbox, launch_applied_between_fork_and_exec_runs_real_programs) {
        static const char *const sh[] = { "/bin/sh", "-c",
                                          "echo \"sh $((6 * 7))\"; ls / >/dev/null && echo ls",
                                          NULL };
        static const char *const py[] = {
                "/usr/bin/python3", "-c",
                "import hashlib, json, ssl; "
                "print(json.dumps([hashlib.sha256(b'lmm').hexdigest()[:8], "
                "bool(ssl.OPENSSL_VERSION)]))",
                NULL
        };
        struct sock_fprog prog = {};
        run *r = calloc(1, sizeof(run));
        char fd_arg[64], mount_arg[64], tmp[] = "/tmp/lmm-sandbox-XXXXXX";
        int victim;

        cr_assert_eq(sandbox_build(SANDBOX_PROFILE_LAUNCH, 0, &prog), 0);

        run_argv(r, sh, -1, &prog);
        expect_exited_0(r, "sh under launch");
        cr_expect_str_eq(r->out, "sh 42\nls\n");

        if (access(py[0], X_OK) == 0) {
                run_argv(r, py, -1, &prog);
                expect_exited_0(r, "python3 under launch");
                cr_expect_str_eq(r->out, "[\"d5747fa8\", true]\n");
        } else
                cr_log_info("%s is not installed: python3 not tried", py[0]);

        /*
         * The parent (this process) holds a read-write memfd; the worker
         * (try-syscall, whose parent is this process) must not copy it out.
         */
        victim = memfd_create("lmm-sandbox-victim", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        cr_assert_geq(victim, 0);
        cr_assert_not_null(mkdtemp(tmp));
        snprintf(fd_arg, sizeof(fd_arg), "pidfd_getfd=%d", victim);
        snprintf(mount_arg, sizeof(mount_arg), "mount=%s", tmp);
        {
                const char *const calls[] = {
                        "io_uring_setup", fd_arg,        mount_arg, "umount",
                        "unshare-user",   "socket-unix", "open",    "getpid"
                };

                try_calls(r, NULL, calls, ELEMENTSOF(calls), -1, &prog);
                expect_exited_0(r, "try-syscall under launch");
                for (size_t i = 0; i < 6; i++)
                        expect_answer(r, calls[i], denied, "launch from the parent");
                expect_answer(r, "open", "ok", "launch from the parent");
                expect_answer(r, "getpid", "ok", "launch from the parent");

                /* Unconfined, the same worker could take the parent's fd (same uid, no Yama). */
                if (geteuid() == 0) {
                        const char *const steal[] = { fd_arg };

                        try_calls(r, NULL, steal, 1, -1, NULL);
                        expect_answer(r, fd_arg, "ok", "unconfined");
                }
        }
        cr_assert_eq(rmdir(tmp), 0, "%s: %s (was something mounted on it?)", tmp, strerror(errno));
        close(victim);
        sandbox_program_done(&prog);
        free(r);
}

/* ---- foreign ABIs ---- */

Test(sandbox, a_foreign_abi_dies_in_every_profile) {
        static const char *const profiles[][4] = {
                { "--enter", "compute", NULL },
                { "--enter", "launch", NULL },
                { "--enter", "compute", "--kill", NULL },
                { "--enter", "launch", "--kill", NULL },
        };
        static const char *const i386[] = { "i386-socket" }, *const x32[] = { "x32-socket" };
        run *r = calloc(1, sizeof(run));
        char buf[128];
        bool i386_works;

#if !defined(__x86_64__)
        cr_skip_test("i386 and x32 are x86-64's foreign ABIs");
#endif
        /* Unconfined first: what this machine does with each. */
        try_calls(r, NULL, x32, 1, -1, NULL);
        expect_exited_0(r, "an unconfined x32 call");
        cr_log_info("unconfined, x32 socket(): %s", answer(r, "x32-socket", buf, sizeof(buf)));

        try_calls(r, NULL, i386, 1, -1, NULL);
        i386_works = WIFEXITED(r->status) && answer(r, "i386-socket", buf, sizeof(buf)) &&
                     strcmp(buf, "ok") == 0;
        if (!i386_works)
                cr_log_info("this machine cannot make an i386 system call even unconfined "
                            "(int 0x80: status 0x%x, %s): a confined one is only checked to "
                            "fail; the filter's answer to i386 is checked on the filter itself "
                            "(sandbox_build::a_foreign_abi_is_killed_in_every_profile)",
                            r->status,
                            WIFSIGNALED(r->status) ? strsignal(WTERMSIG(r->status)) : r->out);

        for (size_t i = 0; i < ELEMENTSOF(profiles); i++) {
                char how[64];

                snprintf(how, sizeof(how), "%s%s", profiles[i][1], profiles[i][2] ? " --kill" : "");
                try_calls(r, profiles[i], x32, 1, -1, NULL);
                expect_sigsys(r, how);
                cr_expect_str_eq(r->out, "", "%s: an x32 call printed something", how);

                try_calls(r, profiles[i], i386, 1, -1, NULL);
                if (i386_works)
                        expect_sigsys(r, how);
                else
                        /* Dead by SIGSEGV; under AddressSanitizer, exit 1 after its report. */
                        cr_expect(!(WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0) &&
                                          r->out[0] == 0,
                                  "%s: an i386 call went on (status 0x%x, output %s)", how,
                                  r->status, r->out);
        }
        free(r);
}

/* ---- a real block's seals ---- */

Test(sandbox, a_confined_holder_cannot_seal_a_block_shut) {
        static const char *const compute[] = { "--enter", "compute", NULL };
        static const char *const launch[] = { "--enter", "launch", NULL };
        static const char *const c_calls[] = { "fcntl-add-seals=3", "fcntl-add-seals-hi=3",
                                               "fcntl-get-seals=3", "mmap-rw=3", "mmap-exec=3" };
        static const char *const l_calls[] = { "fcntl-add-seals=3", "fcntl-add-seals-hi=3",
                                               "fcntl-get-seals=3", "mmap-rw=3" };
        static const char *const attack[] = { "fcntl-add-seals=3" };
        _lmm_cleanup_(lmm_server_unrefp) lmm_server *smm = NULL;
        lmm_segment *block, *victim;
        lmm_client *c;
        run *r = calloc(1, sizeof(run));
        int seals;

        cr_assert_eq(lmm_server_start(NULL, &smm), 0);
        c = lmm_server_get_client(smm);
        block = fixture_create(c, "worker-block", 4096);
        victim = fixture_create(c, "victim", 4096);

        /* Without a filter, a read-write holder seals a block shut (docs/security.md). */
        try_calls(r, NULL, attack, 1, lmm_segment_get_fd(victim), NULL);
        expect_answer(r, "fcntl-add-seals", "ok", "unconfined");
        cr_expect_eq(lmm_block_freeze(c, "victim"), -EPERM,
                     "a block sealed F_SEAL_SEAL by a holder could still be frozen?");
        cr_assert_eq(lmm_block_release(c, "victim"), 0);

        try_calls(r, compute, c_calls, ELEMENTSOF(c_calls), lmm_segment_get_fd(block), NULL);
        expect_exited_0(r, "compute");
        expect_answer(r, "fcntl-add-seals", denied, "compute");
        expect_answer(r, "fcntl-add-seals-hi", denied, "compute");
        expect_answer(r, "fcntl-get-seals", "ok", "compute");
        expect_answer(r, "mmap-rw", "ok", "compute");
        expect_answer(r, "mmap-exec", denied, "compute");

        try_calls(r, launch, l_calls, ELEMENTSOF(l_calls), lmm_segment_get_fd(block), NULL);
        expect_exited_0(r, "launch");
        expect_answer(r, "fcntl-add-seals", denied, "launch");
        expect_answer(r, "fcntl-add-seals-hi", denied, "launch");
        expect_answer(r, "fcntl-get-seals", "ok", "launch");
        expect_answer(r, "mmap-rw", "ok", "launch");

        seals = fcntl(lmm_segment_get_fd(block), F_GET_SEALS);
        cr_assert_geq(seals, 0);
        cr_expect_eq(seals & F_SEAL_SEAL, 0, "a confined holder sealed the block: 0x%x", seals);
        cr_expect_eq(lmm_block_freeze(c, "worker-block"), 0);
        cr_expect_eq(lmm_server_shutdown(smm), 0, "every block sealed at shutdown");
        seals = fcntl(lmm_segment_get_fd(block), F_GET_SEALS);
        cr_expect(seals >= 0 && (seals & F_SEAL_SEAL) && (seals & F_SEAL_FUTURE_WRITE),
                  "seals after shutdown: 0x%x", seals);

        lmm_segment_unref(block);
        lmm_segment_unref(victim);
        free(r);
}

/* ---- lmm_sandbox_enter() in-process ---- */

static int wait_child(pid_t pid) {
        int status;

        cr_assert_eq(waitpid(pid, &status, 0), pid);
        return status;
}

typedef struct racer {
        int go[2];     /* the main thread writes when the filter is loaded */
        int answer[2]; /* the thread writes socket()'s errno */
} racer;

static void *racer_main(void *arg) {
        racer *t = arg;
        char c;
        int e = 0, fd;

        if (read(t->go[0], &c, 1) != 1)
                e = EIO;
        else {
                fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                e = fd < 0 ? errno : 0;
                if (fd >= 0)
                        close(fd);
        }
        if (write(t->answer[1], &e, sizeof(e)) != sizeof(e))
                return NULL;
        return NULL;
}

/* TSYNC: a thread that was running before lmm_sandbox_enter() is confined too. */
Test(sandbox, enter_confines_threads_that_were_already_running) {
        pid_t pid = fork();
        int status;

        cr_assert_geq(pid, 0);
        if (pid == 0) {
                racer t;
                pthread_t th;
                int e = -1;

                if (pipe2(t.go, O_CLOEXEC) < 0 || pipe2(t.answer, O_CLOEXEC) < 0 ||
                    pthread_create(&th, NULL, racer_main, &t) != 0)
                        _exit(10);
                if (lmm_sandbox_enter("compute", 0) < 0)
                        _exit(11);
                if (write(t.go[1], "x", 1) != 1 || read(t.answer[0], &e, sizeof(e)) != sizeof(e))
                        _exit(12);
                if (e != LMM_SANDBOX_ERRNO)
                        _exit(13);
                if (pthread_join(th, NULL) != 0)
                        _exit(14);
                _exit(0); /* no LeakSanitizer at exit: it needs ptrace(), which compute denies */
        }
        status = wait_child(pid);
        cr_expect_eq(status, 0, "status 0x%x: exit 13 means the old thread made a socket", status);
}

/* abort() signals the process itself, which compute lets it do. */
Test(sandbox, abort_still_aborts_under_compute) {
        pid_t pid = fork();
        int status;

        cr_assert_geq(pid, 0);
        if (pid == 0) {
                (void) setrlimit(RLIMIT_CORE, &(struct rlimit){ 0, 0 });
                if (lmm_sandbox_enter("compute", 0) < 0)
                        _exit(10);
                abort();
        }
        status = wait_child(pid);
        cr_expect(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
                  "abort() under compute: status 0x%x", status);
}

/* The ret instruction of x86; elsewhere the test is skipped. */
static const unsigned char ret_insn[] = { 0xc3 };

static void on_segv(int sig) {
        _exit(20);
}

/* In a child: code written to a readable page, then called: exit 0 when it ran, 20 when it faulted. */
static int run_readable_code(bool enter) {
        pid_t pid = fork();

        cr_assert_geq(pid, 0);
        if (pid == 0) {
                struct sigaction sa = { .sa_handler = on_segv };
                unsigned char *p;

                /* Our handler, not a core dump (nor AddressSanitizer's report). */
                if (sigaction(SIGSEGV, &sa, NULL) < 0)
                        _exit(9);
                if (personality(PER_LINUX | READ_IMPLIES_EXEC) < 0)
                        _exit(10);
                if (enter && lmm_sandbox_enter("compute", 0) < 0)
                        _exit(11);
                p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                if (p == MAP_FAILED)
                        _exit(12);
                memcpy(p, ret_insn, sizeof(ret_insn));
                if (mprotect(p, 4096, PROT_READ) < 0)
                        _exit(13);
                ((void (*)(void)) p)();
                _exit(0);
        }
        return wait_child(pid);
}

Test(sandbox, read_implies_exec_cannot_make_compute_s_memory_executable) {
        int status;

#if !defined(__x86_64__) && !defined(__i386__)
        cr_skip_test("the code written is x86's");
#endif
        status = run_readable_code(false);
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "without the sandbox, READ_IMPLIES_EXEC should make a readable page "
                  "executable (status 0x%x)",
                  status);
        status = run_readable_code(true);
        cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 20,
                  "under compute, a readable page did not fault as code (status 0x%x: exit 0 "
                  "means it ran)",
                  status);
}

/* The worker's life: launched under launch, it maps its blocks and enters compute. */
Test(sandbox, a_launched_worker_can_enter_compute) {
        pid_t pid = fork();

        cr_assert_geq(pid, 0);
        if (pid == 0) {
                void *p;
                int fd, r;

                if (lmm_sandbox_enter("launch", 0) < 0)
                        _exit(10);
                fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        _exit(11);
                close(fd);
                if (lmm_sandbox_enter("compute", 0) < 0)
                        _exit(12);
                fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
                if (fd >= 0 || errno != LMM_SANDBOX_ERRNO)
                        _exit(13);
                p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                if (p != MAP_FAILED || errno != LMM_SANDBOX_ERRNO)
                        _exit(14);
                /* Once in compute, building another filter needs a memfd it may not make. */
                r = lmm_sandbox_enter("compute", 0);
                if (r != -LMM_SANDBOX_ERRNO)
                        _exit(15);
                _exit(0);
        }
        cr_expect_eq(wait_child(pid), 0);
}

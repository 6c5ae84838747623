/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-launch — workers launched with blocks, seen from the inside: the
 * built worker helper ($LMM_WORKER) runs in each launch and prints what it
 * finds (its fds, LISTEN_*, what each route to writing a block did), over a
 * pipe given as its stdout. The blocks come from a real lmmd.
 *
 * What is shown:
 *   - a read-write block is shared both ways; LISTEN_* are right, for
 *     libsystemd too; the worker holds 0-2 and its blocks, nothing else;
 *   - a read-only block cannot be written by any route a process of its
 *     owner's uid has (the list is the worker helper's "attack"), confined,
 *     as root, as uid 12345, and as a uid 12345 that is not dumpable; the
 *     same routes do write it from a naive launch (fork, exec), so the
 *     attack is real, and a Landlock ruleset would not have stopped them;
 *     a frozen block holds unconfined too; an unfrozen one is refused
 *     unconfined, where user namespaces are unavailable, and when it cannot
 *     be reopened read-only; a mask that cannot be made fails the launch;
 *   - the worker dies with its launcher, also after kill -9 of it;
 *   - exit codes and 128+signal; failures name the step;
 *   - 200 launches in a row from a process whose other threads hammer
 *     malloc() and stdio.
 *
 * The routes the mask closes do not depend on the seccomp profile: the
 * worker has no capability in its namespace, so it cannot unmount the mask
 * even where the profile would let it call umount2().
 */

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <malloc.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"
#include "harness.h"
#include "lmm.h"
#include "spawn.h"
#include "util.h"

TestSuite(launch, .init = fixture_lmmd_start, .fini = fixture_lmmd_stop, .timeout = 120);

static const char *worker_path(void) {
        return harness_getenv("LMM_WORKER");
}

static uint64_t now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

/* A block of the fixture's lmmd holding @text, mapped read-write here. */
static lmm_segment *block_with(lmm_client *c, const char *name, const char *text) {
        lmm_segment *s = fixture_create(c, name, 4096);
        char *p;

        cr_assert_eq(lmm_segment_map(s, 0, (void **) &p), 0);
        strcpy(p, text);
        return s;
}

static void read_all(int fd, char *out, size_t size) {
        size_t len = 0;
        ssize_t n;

        while (len + 1 < size && (n = read(fd, out + len, size - len - 1)) != 0) {
                if (n < 0 && errno == EINTR)
                        continue;
                cr_assert_geq(n, 0, "read the worker's output: %s", strerror(errno));
                len += (size_t) n;
        }
        out[len] = 0;
}

/*
 * Launch the worker helper with @cmds (NULL-terminated) through @l, its
 * stdout a pipe read into @out. Return: its status as lmm_worker_wait()
 * gives it.
 */
static int run_worker(lmm_launch *l, const char *const *cmds, char *out, size_t size) {
        char *argv[32] = { (char *) worker_path() };
        lmm_worker *w = NULL;
        int p[2], r, status = -1;
        size_t n = 1;

        for (; cmds[n - 1]; n++) {
                cr_assert_lt(n, ELEMENTSOF(argv) - 1);
                argv[n] = (char *) cmds[n - 1];
        }
        argv[n] = NULL;
        cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
        cr_assert_eq(lmm_launch_set_stdio(l, -1, p[1], -1), 0);
        close(p[1]);
        r = lmm_launch_spawn(l, worker_path(), argv, NULL, &w);
        /* The launch's copy of the pipe goes, or the read never ends. */
        cr_assert_eq(lmm_launch_set_stdio(l, -1, -1, -1), 0);
        cr_assert_eq(r, 0, "spawn: %s: %s", strerror(-r), lmm_launch_last_error(l) ?: "");
        read_all(p[0], out, size);
        close(p[0]);
        cr_assert_eq(lmm_worker_wait(w, &status), 0);
        lmm_worker_free(w);
        cr_log_info("worker said:\n%s", out);
        return status;
}

static lmm_launch *launch_new(bool unconfined) {
        lmm_launch *l = NULL;

        cr_assert_eq(lmm_launch_new(&l), 0);
        cr_assert_eq(lmm_launch_set_unconfined(l, unconfined), 0);
        return l;
}

static bool has_line(const char *out, const char *line) {
        size_t n = strlen(line);

        for (const char *p = out; (p = strstr(p, line)); p++)
                if ((p == out || p[-1] == '\n') && (p[n] == '\n' || p[n] == 0))
                        return true;
        return false;
}

#define assert_line(out, line) cr_assert(has_line(out, line), "no line \"%s\" in:\n%s", line, out)

/* ---------------------------------------------------------------- read-write */

static void rw_block_shared_both_ways(bool unconfined) {
        lmm_client *c = fixture_client();
        lmm_segment *s = block_with(c, "frames", "from-launcher");
        lmm_launch *l = launch_new(unconfined);
        static const char *const cmds[] = {
                "read", "frames", "write", "frames", "from-worker", NULL
        };
        char out[4096];

        cr_assert_eq(lmm_launch_add_block(l, s, 0), 0);
        cr_assert_eq(run_worker(l, cmds, out, sizeof(out)), 0);
        assert_line(out, "read frames: rw from-launcher");
        assert_line(out, "write frames: done");
        cr_assert_str_eq(lmm_segment_get_data(s), "from-worker");
        lmm_launch_free(l);
        lmm_segment_unref(s);
        lmm_client_unref(c);
}

Test(launch, rw_block_is_shared_both_ways_confined) {
        rw_block_shared_both_ways(false);
}

Test(launch, rw_block_is_shared_both_ways_unconfined) {
        rw_block_shared_both_ways(true);
}

Test(launch, listen_variables_are_right_and_the_launchers_are_gone) {
        if (!harness_userns_available())
                cr_skip_test("user namespaces are not available here (a chroot?): a confined "
                             "launch cannot hide /proc; test without_user_namespaces_... shows "
                             "the refusal instead");
        lmm_client *c = fixture_client();
        lmm_segment *a = block_with(c, "alpha", "a"), *b = block_with(c, "beta", "b");
        lmm_launch *l = launch_new(false);
        static const char *const cmds[] = { "names",
                                            "env",
                                            "LISTEN_FDS",
                                            "env",
                                            "LISTEN_FDNAMES",
                                            "env",
                                            "LISTEN_PID",
                                            "env",
                                            "NOTIFY_SOCKET",
                                            "env",
                                            "LISTEN_PIDFDID",
                                            "env",
                                            "KEPT",
                                            "ids",
                                            NULL };
        /* What a launcher that was itself socket-activated has in its environment. */
        char *envp[] = { "LISTEN_FDS=5",
                         "LISTEN_PID=1",
                         "LISTEN_FDNAMES=x:y:z:v:w",
                         "NOTIFY_SOCKET=/run/x",
                         "LISTEN_PIDFDID=7",
                         "KEPT=yes",
                         NULL };
        char *argv[32] = { (char *) worker_path() }, out[4096], line[128];
        lmm_worker *w = NULL;
        int p[2], status;

        cr_assert_eq(lmm_launch_add_block(l, a, 0), 0);
        cr_assert_eq(lmm_launch_add_block(l, b, LMM_LAUNCH_READ_ONLY), 0);
        for (size_t i = 0; cmds[i]; i++)
                argv[i + 1] = (char *) cmds[i];
        cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
        cr_assert_eq(lmm_launch_set_stdio(l, -1, p[1], -1), 0);
        close(p[1]);
        cr_assert_eq(lmm_launch_spawn(l, worker_path(), argv, envp, &w), 0, "%s",
                     lmm_launch_last_error(l) ?: "");
        lmm_launch_free(l);
        read_all(p[0], out, sizeof(out));
        close(p[0]);
        cr_assert_eq(lmm_worker_wait(w, &status), 0);
        cr_assert_eq(status, 0, "%s", out);
        cr_log_info("%s", out);

        assert_line(out, "names: 2"); /* sd_listen_fds_with_names(), libsystemd's reading */
        assert_line(out, "fd 3 alpha");
        assert_line(out, "fd 4 beta");
        assert_line(out, "env LISTEN_FDS 2");
        assert_line(out, "env LISTEN_FDNAMES alpha:beta");
        snprintf(line, sizeof(line), "env LISTEN_PID %d", (int) lmm_worker_get_pid(w));
        assert_line(out, line);
        assert_line(out, "env NOTIFY_SOCKET unset");
        assert_line(out, "env LISTEN_PIDFDID unset");
        assert_line(out, "env KEPT yes");
        snprintf(line, sizeof(line), "ids uid=%u gid=%u pid=%d ppid=%d", getuid(), getgid(),
                 (int) lmm_worker_get_pid(w), (int) getpid());
        assert_line(out, line);
        lmm_worker_free(w);
        lmm_segment_unref(a);
        lmm_segment_unref(b);
        lmm_client_unref(c);
}

static void only_stdio_and_blocks(bool unconfined) {
        lmm_client *c = fixture_client();
        lmm_segment *a = block_with(c, "one", "1"), *b = block_with(c, "two", "2");
        lmm_launch *l = launch_new(unconfined);
        static const char *const cmds[] = { "fds", NULL };
        int stray[2], plain;
        char out[4096];

        /* Fds a careless launcher leaves inheritable, and one more of each kind. */
        cr_assert_eq(pipe(stray), 0);
        plain = open("/dev/null", O_RDONLY);
        cr_assert_geq(plain, 0);
        cr_assert_eq(lmm_launch_add_block(l, a, 0), 0);
        cr_assert_eq(lmm_launch_add_block(l, b, 0), 0);
        cr_assert_eq(run_worker(l, cmds, out, sizeof(out)), 0);
        assert_line(out, "fds: 0 1 2 3 4");
        close(stray[0]);
        close(stray[1]);
        close(plain);
        lmm_launch_free(l);
        lmm_segment_unref(a);
        lmm_segment_unref(b);
        lmm_client_unref(c);
}

Test(launch, worker_holds_stdio_and_its_blocks_only_confined) {
        only_stdio_and_blocks(false);
}

Test(launch, worker_holds_stdio_and_its_blocks_only_unconfined) {
        only_stdio_and_blocks(true);
}

Test(launch, confined_worker_sees_no_proc) {
        if (!harness_userns_available())
                cr_skip_test("user namespaces are not available here (a chroot?): a confined "
                             "launch cannot hide /proc; test without_user_namespaces_... shows "
                             "the refusal instead");
        lmm_launch *l = launch_new(false);
        static const char *const cmds[] = { "proc", NULL };
        char out[1024];

        cr_assert_eq(run_worker(l, cmds, out, sizeof(out)), 0);
        cr_assert(has_line(out, "proc: ENOENT") || has_line(out, "proc: EACCES"), "%s", out);
        lmm_launch_free(l);

        l = launch_new(true);
        cr_assert_eq(run_worker(l, cmds, out, sizeof(out)), 0);
        assert_line(out, "proc: visible");
        lmm_launch_free(l);
}

/* ---------------------------------------------------------------- read-only */

/* Every route of the worker helper's attack, by the name it prints. */
static const char *const fd_routes[] = {
        "mmap-shared-writable", "mprotect-writable",
        "madvise-remove",       "write",
        "punch-hole",           "ftruncate",
        "reopen-proc-self-fd",  "reopen-proc-thread-self-fd",
        "reopen-dev-fd",        "reopen-map-files",
        "open-by-handle",
};
/* Routes that open an unfrozen block to other users, who would reopen it
 * read-write: the launch profile's to stop (a frozen block needs no such). */
static const char *const open_routes[] = {
        "fchmod-open-to-all",
        "acl-open-to-another-uid",
        "datagram-socketpair",
};
static const char *const launcher_routes[] = {
        "reopen-launcher-fd",
        "launcher-proc-mem",
        "launcher-process-vm-writev",
};
static const char *const namespace_routes[] = {
        "umount-mask",
        "nested-namespace-umount",
        "nested-namespace-fresh-proc",
};

static void assert_route_blocked(const char *out, const char *route) {
        char prefix[96];
        const char *p;

        snprintf(prefix, sizeof(prefix), "%s: ", route);
        for (p = out; (p = strstr(p, prefix)); p++)
                if (p == out || p[-1] == '\n')
                        break;
        cr_assert_not_null(p, "route %s not tried:\n%s", route, out);
        cr_assert(strncmp(p + strlen(prefix), "blocked ", 8) == 0, "route %s: %.40s", route,
                  p + strlen(prefix));
}

/* The attack on block "ro", with the launcher's routes through this process. */
static void attack_cmds(const char **cmds, lmm_segment *rw, char *pid, char *fd, char *addr) {
        size_t n = 0;

        snprintf(pid, 16, "%d", (int) getpid());
        snprintf(fd, 16, "%d", lmm_segment_get_fd(rw));
        snprintf(addr, 32, "%lx", (unsigned long) lmm_segment_get_data(rw));
        cmds[n++] = "ids";
        cmds[n++] = "read";
        cmds[n++] = "ro";
        cmds[n++] = "attack";
        cmds[n++] = "ro";
        cmds[n++] = pid;
        cmds[n++] = fd;
        cmds[n++] = addr;
        cmds[n++] = "read";
        cmds[n++] = "ro";
        cmds[n] = NULL;
}

static void read_only_holds_confined(bool already_rdonly) {
        lmm_client *c = fixture_client();
        lmm_segment *rw = block_with(c, "ro", "pristine"), *s = rw, *opened = NULL;
        lmm_launch *l = launch_new(false);
        const char *cmds[12];
        char out[8192], pid[16], fd[16], addr[32];

        if (already_rdonly) { /* an O_RDONLY fd from the manager, passed as it is */
                cr_assert_eq(lmm_segment_open(c, "ro", LMM_OPEN_RDONLY, &opened), 0);
                s = opened;
        }
        cr_assert_eq(lmm_launch_add_block(l, s, LMM_LAUNCH_READ_ONLY), 0);
        attack_cmds(cmds, rw, pid, fd, addr);
        cr_assert_eq(run_worker(l, cmds, out, sizeof(out)), 0);

        cr_assert_null(strstr(out, "WROTE"), "a route wrote the read-only block:\n%s", out);
        for (size_t i = 0; i < ELEMENTSOF(fd_routes); i++)
                assert_route_blocked(out, fd_routes[i]);
        for (size_t i = 0; i < ELEMENTSOF(open_routes); i++)
                assert_route_blocked(out, open_routes[i]);
        for (size_t i = 0; i < ELEMENTSOF(launcher_routes); i++)
                assert_route_blocked(out, launcher_routes[i]);
        for (size_t i = 0; i < ELEMENTSOF(namespace_routes); i++)
                assert_route_blocked(out, namespace_routes[i]);
        assert_line(out, "read ro: ro pristine");
        cr_assert_str_eq(lmm_segment_get_data(rw), "pristine");
        lmm_launch_free(l);
        lmm_segment_unref(opened);
        lmm_segment_unref(rw);
        lmm_client_unref(c);
}

Test(launch, read_only_block_cannot_be_written_by_any_route) {
        if (!harness_userns_available())
                cr_skip_test("user namespaces are not available here (a chroot?): a confined "
                             "launch cannot hide /proc; test without_user_namespaces_... shows "
                             "the refusal instead");
        read_only_holds_confined(false);
}

Test(launch, read_only_fd_from_the_manager_cannot_be_written_by_any_route) {
        if (!harness_userns_available())
                cr_skip_test("user namespaces are not available here (a chroot?): a confined "
                             "launch cannot hide /proc; test without_user_namespaces_... shows "
                             "the refusal instead");
        read_only_holds_confined(true);
}

/*
 * The same as a user other than root, with a block of its own (the memfd is
 * that uid's, so a reopen through /proc would be allowed): what a deployment
 * that does not run as root gets. The launcher is a child that drops to
 * uid 12345 (and so is not dumpable, unless it asks to be again); the
 * worker's report comes back through a pipe.
 */
static void read_only_holds_unprivileged(bool dumpable, char *out, size_t size) {
        int p[2], status;
        pid_t child;

        if (geteuid() != 0)
                cr_skip_test("needs root to become uid 12345");
        cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
        child = fork();
        cr_assert_geq(child, 0);
        if (child == 0) {
                char *argv[16] = { (char *) worker_path() }, pid[16], fd[16], addr[32];
                const char *cmds[12];
                lmm_segment *s = NULL;
                lmm_launch *l = NULL;
                lmm_worker *w = NULL;
                int mfd = -1, st = -1;
                char *m;

                if (setgroups(0, NULL) < 0 || setresgid(12345, 12345, 12345) < 0 ||
                    setresuid(12345, 12345, 12345) < 0)
                        _exit(10);
                if (dumpable && prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
                        _exit(10);
                if (memfd_new_sealed("ro", 4096, false, &mfd) < 0 ||
                    lmm_segment_from_fd(mfd, "ro", &s) < 0 ||
                    lmm_segment_map(s, 0, (void **) &m) != 0)
                        _exit(11);
                strcpy(m, "pristine");
                if (lmm_launch_new(&l) < 0 ||
                    lmm_launch_add_block(l, s, LMM_LAUNCH_READ_ONLY) < 0 ||
                    lmm_launch_set_stdio(l, -1, p[1], -1) < 0)
                        _exit(12);
                attack_cmds(cmds, s, pid, fd, addr);
                for (size_t i = 0; cmds[i]; i++)
                        argv[i + 1] = (char *) cmds[i];
                if (lmm_launch_spawn(l, worker_path(), argv, NULL, &w) < 0) {
                        dprintf(p[1], "%s\n", lmm_launch_last_error(l));
                        _exit(13);
                }
                lmm_launch_free(l);
                if (lmm_worker_wait(w, &st) < 0 || st != 0)
                        _exit(14);
                _exit(strcmp(m, "pristine") == 0 ? 0 : 15);
        }
        close(p[1]);
        read_all(p[0], out, size);
        close(p[0]);
        cr_assert_eq(waitpid(child, &status, 0), child);
        cr_log_info("uid 12345's worker:\n%s", out);
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "launcher: %d\n%s",
                  WEXITSTATUS(status), out);
        cr_assert_null(strstr(out, "WROTE"), "a route wrote the read-only block:\n%s", out);
        for (size_t i = 0; i < ELEMENTSOF(fd_routes); i++)
                assert_route_blocked(out, fd_routes[i]);
        for (size_t i = 0; i < ELEMENTSOF(open_routes); i++)
                assert_route_blocked(out, open_routes[i]);
        for (size_t i = 0; i < ELEMENTSOF(launcher_routes); i++)
                assert_route_blocked(out, launcher_routes[i]);
        for (size_t i = 0; i < ELEMENTSOF(namespace_routes); i++)
                assert_route_blocked(out, namespace_routes[i]);
        assert_line(out, "read ro: ro pristine");
}

Test(launch, read_only_holds_for_an_unprivileged_launcher) {
        if (!harness_userns_available())
                cr_skip_test("user namespaces are not available here (a chroot?): a confined "
                             "launch cannot hide /proc; test without_user_namespaces_... shows "
                             "the refusal instead");
        char out[8192];

        read_only_holds_unprivileged(true, out, sizeof(out));
        cr_assert_not_null(strstr(out, "ids uid=12345 gid=12345 "), "mapped as itself:\n%s", out);
}

/* Not dumpable, it cannot write its worker's uid map: the worker sees
 * itself as nobody, and is the launcher's uid to the kernel all the same. */
Test(launch, read_only_holds_for_a_launcher_that_is_not_dumpable) {
        if (!harness_userns_available())
                cr_skip_test("user namespaces are not available here (a chroot?): a confined "
                             "launch cannot hide /proc; test without_user_namespaces_... shows "
                             "the refusal instead");
        char out[8192];

        read_only_holds_unprivileged(false, out, sizeof(out));
        cr_assert_not_null(strstr(out, "ids uid=65534 gid=65534 "), "unmapped:\n%s", out);
}

/*
 * The control: the same worker and attack, launched the naive way (fork,
 * the O_RDONLY fd at 3, LISTEN_* by hand, exec), writes the block through
 * /proc: the attack the mask stops is real.
 */
Test(launch, read_only_fd_alone_is_writable_through_proc) {
        lmm_client *c = fixture_client();
        lmm_segment *rw = block_with(c, "ro", "pristine"), *ro = NULL;
        const char *cmds[12];
        char *argv[16] = { (char *) worker_path() }, out[8192], pid[16], fd[16], addr[32];
        int p[2], status;
        pid_t child;

        cr_assert_eq(lmm_segment_open(c, "ro", LMM_OPEN_RDONLY, &ro), 0);
        cr_assert_eq(fcntl(lmm_segment_get_fd(ro), F_GETFL) & O_ACCMODE, O_RDONLY);
        attack_cmds(cmds, rw, pid, fd, addr);
        for (size_t i = 0; cmds[i]; i++)
                argv[i + 1] = (char *) cmds[i];
        cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
        child = fork();
        cr_assert_geq(child, 0);
        if (child == 0) {
                char listen_pid[32];
                char *envp[] = { "LISTEN_FDS=1", "LISTEN_FDNAMES=ro", listen_pid, NULL };

                snprintf(listen_pid, sizeof(listen_pid), "LISTEN_PID=%d", (int) getpid());
                if (dup2(lmm_segment_get_fd(ro), 3) < 0 || dup2(p[1], 1) < 0)
                        _exit(120);
                execve(worker_path(), argv, envp);
                _exit(121);
        }
        close(p[1]);
        read_all(p[0], out, sizeof(out));
        close(p[0]);
        cr_assert_eq(waitpid(child, &status, 0), child);
        cr_log_info("naive launch:\n%s", out);
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s", out);

        /* The fd itself refuses... */
        assert_route_blocked(out, "mmap-shared-writable");
        assert_route_blocked(out, "mprotect-writable");
        assert_route_blocked(out, "write");
        /* ... but /proc hands out a read-write one, and the launcher's memory is open. */
        assert_line(out, "reopen-proc-self-fd: WROTE");
        assert_line(out, "reopen-proc-thread-self-fd: WROTE");
        assert_line(out, "reopen-dev-fd: WROTE");
        assert_line(out, "reopen-launcher-fd: WROTE");
        assert_line(out, "launcher-proc-mem: WROTE");
        assert_line(out, "launcher-process-vm-writev: WROTE");
        /* And the block can be opened to every other user. */
        assert_line(out, "fchmod-open-to-all: OPENED");
        assert_line(out, "acl-open-to-another-uid: OPENED");
        assert_line(out, "datagram-socketpair: OPENED");
        cr_assert_eq(((char *) lmm_segment_get_data(rw))[0], 'X');
        lmm_segment_unref(ro);
        lmm_segment_unref(rw);
        lmm_client_unref(c);
}

/*
 * Why the mask is namespaces, not Landlock: a ruleset that handles every
 * file access right and grants none (so /etc/passwd and /proc/self/status
 * are refused) still lets a process reopen its O_RDONLY memfd read-write
 * through /proc/self/fd, and map it writable. What this kernel does; the
 * test fails, and docs/workers.md must change, the day it stops.
 * Exit: 0 when it is so, else the number of the step that differed.
 */
static int landlock_reopen(void) {
        struct {
                uint64_t handled_access_fs;
        } attr;
        char path[64];
        int abi, rs, fd, ro, rw;

        abi = (int) syscall(SYS_landlock_create_ruleset, NULL, 0, 1 /* VERSION */);
        if (abi < 1)
                return 100;
        /* Every right this ABI knows: 13 in v1, REFER in v2, TRUNCATE in v3, IOCTL_DEV in v5. */
        attr.handled_access_fs = (UINT64_C(1) << (abi >= 5 ? 16 : abi >= 3 ? 15 : abi + 12)) - 1;
        fd = memfd_create("landlock", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (fd < 0 || ftruncate(fd, 4096) < 0 ||
            fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) < 0)
                return 101;
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        ro = open(path, O_RDONLY | O_CLOEXEC);
        if (ro < 0)
                return 102;
        close(fd);
        rs = (int) syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0);
        if (rs < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
            syscall(SYS_landlock_restrict_self, rs, 0) < 0)
                return 103;
        if (open("/etc/passwd", O_RDONLY | O_CLOEXEC) >= 0 || errno != EACCES)
                return 1; /* the ruleset does not hold */
        if (open("/proc/self/status", O_RDONLY | O_CLOEXEC) >= 0 || errno != EACCES)
                return 2;
        snprintf(path, sizeof(path), "/proc/self/fd/%d", ro);
        rw = open(path, O_RDWR | O_CLOEXEC);
        if (rw < 0)
                return 3; /* Landlock stops the reopen */
        if (mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, rw, 0) == MAP_FAILED)
                return 4;
        return 0;
}

Test(launch, landlock_does_not_stop_the_reopen_through_proc) {
        int status;
        pid_t child = fork();

        cr_assert_geq(child, 0);
        if (child == 0)
                _exit(landlock_reopen());
        cr_assert_eq(waitpid(child, &status, 0), child);
        cr_assert(WIFEXITED(status));
        if (WEXITSTATUS(status) == 100)
                cr_skip_test("no Landlock in this kernel");
        cr_assert_eq(WEXITSTATUS(status), 0, "step %d differed", WEXITSTATUS(status));
}

/* A frozen block holds without any confinement: every route through its fd fails. */
Test(launch, frozen_read_only_block_holds_unconfined) {
        lmm_client *c = fixture_client();
        lmm_segment *s = block_with(c, "ro", "pristine");
        lmm_launch *l = launch_new(true);
        static const char *const cmds[] = { "attack", "ro", "read", "ro", NULL };
        char out[8192];

        cr_assert_eq(lmm_segment_unmap(s), 0);
        cr_assert_eq(lmm_block_freeze(c, "ro"), 0);
        cr_assert_eq(lmm_launch_add_block(l, s, LMM_LAUNCH_READ_ONLY), 0);
        cr_assert_eq(run_worker(l, cmds, out, sizeof(out)), 0);
        cr_assert_null(strstr(out, "WROTE"), "a route wrote the frozen block:\n%s", out);
        for (size_t i = 0; i < ELEMENTSOF(fd_routes); i++)
                assert_route_blocked(out, fd_routes[i]);
        assert_line(out, "read ro: ro pristine");
        lmm_launch_free(l);
        lmm_segment_unref(s);
        lmm_client_unref(c);
}

/* An O_RDONLY fd is held to read-only without the flag: unconfined, it would
 * be writable in disguise. */
Test(launch, read_only_fd_is_passed_read_only_flag_or_not) {
        lmm_client *c = fixture_client();
        lmm_segment *rw = block_with(c, "lut", "x"), *ro = NULL;
        lmm_launch *l = launch_new(true);
        lmm_worker *w = NULL;

        cr_assert_eq(lmm_segment_open(c, "lut", LMM_OPEN_RDONLY, &ro), 0);
        cr_assert_eq(lmm_launch_add_block(l, ro, 0), 0);
        cr_assert_eq(lmm_launch_spawn(l, worker_path(), NULL, NULL, &w), -EPERM);
        cr_assert_not_null(strstr(lmm_launch_last_error(l), "block 'lut' is read-only"));
        lmm_launch_free(l);
        lmm_segment_unref(ro);
        lmm_segment_unref(rw);
        lmm_client_unref(c);
}

Test(launch, unconfined_unfrozen_read_only_block_is_refused) {
        lmm_client *c = fixture_client();
        lmm_segment *s = block_with(c, "frames", "x");
        lmm_launch *l = launch_new(true);
        lmm_worker *w = NULL;
        int r;

        cr_assert_eq(lmm_launch_add_block(l, s, LMM_LAUNCH_READ_ONLY), 0);
        r = lmm_launch_spawn(l, worker_path(), NULL, NULL, &w);
        cr_assert_eq(r, -EPERM);
        cr_assert_null(w);
        cr_assert_str_eq(lmm_launch_last_error(l),
                         "block 'frames' is read-only but not frozen, and an unconfined worker "
                         "could reopen it read-write through /proc; freeze it, pass it "
                         "read-write, or confine the worker");
        lmm_launch_free(l);
        lmm_segment_unref(s);
        lmm_client_unref(c);
}

/* Make system call @nr fail with EPERM in this process and its children:
 * unshare() as on a kernel without (unprivileged) user namespaces, mount()
 * as where a policy denies a new namespace its capabilities. */
static void forbid(long nr) {
        struct sock_filter f[] = {
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t) nr, 0, 1),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        };
        struct sock_fprog prog = { .len = ELEMENTSOF(f), .filter = f };

#if !defined(__x86_64__)
        cr_skip_test("the filter that plays a kernel without user namespaces is x86-64's");
#endif
        cr_assert_eq(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
        cr_assert_eq(syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog), 0);
}

/* Once the namespace exists, a step that fails ends the launch: never a
 * worker that runs half-masked. */
Test(launch, a_mask_that_cannot_be_made_fails_the_launch) {
        if (!harness_userns_available())
                cr_skip_test("user namespaces are not available here (a chroot?): a confined "
                             "launch cannot hide /proc; test without_user_namespaces_... shows "
                             "the refusal instead");
        lmm_launch *l = launch_new(false);
        lmm_worker *w = NULL;
        char msg[512];

        forbid(__NR_mount);
        cr_assert_eq(lmm_launch_spawn(l, worker_path(), NULL, NULL, &w), -EPERM);
        cr_assert_null(w);
        snprintf(msg, sizeof(msg),
                 "cannot launch %s: make / a private mount: Operation not permitted",
                 worker_path());
        cr_assert_str_eq(lmm_launch_last_error(l), msg);
        lmm_launch_free(l);
}

Test(launch, without_user_namespaces_unfrozen_read_only_is_refused) {
        lmm_client *c = fixture_client();
        lmm_segment *ro = block_with(c, "frames", "x"), *rw = block_with(c, "scratch", "y");
        lmm_launch *l = launch_new(false);
        static const char *const cmds[] = { "proc", "read", "scratch", NULL };
        lmm_worker *w = NULL;
        char out[1024];
        int r;

        forbid(__NR_unshare);
        cr_assert_eq(lmm_launch_add_block(l, ro, LMM_LAUNCH_READ_ONLY), 0);
        r = lmm_launch_spawn(l, worker_path(), NULL, NULL, &w);
        cr_assert_eq(r, -EPERM);
        cr_assert_str_eq(lmm_launch_last_error(l),
                         "block 'frames' is read-only but not frozen, and without user "
                         "namespaces (unshare: Operation not permitted) /proc cannot be hidden "
                         "from the worker, which could reopen it read-write there; freeze it, "
                         "pass it read-write, or enable user namespaces");
        lmm_launch_free(l);

        /* Read-write blocks only: confined by the profile alone, /proc in sight. */
        l = launch_new(false);
        cr_assert_eq(lmm_launch_add_block(l, rw, 0), 0);
        cr_assert_eq(run_worker(l, cmds, out, sizeof(out)), 0);
        assert_line(out, "proc: visible");
        assert_line(out, "read scratch: rw y");
        lmm_launch_free(l);
        lmm_segment_unref(ro);
        lmm_segment_unref(rw);
        lmm_client_unref(c);
}

/* Hide /proc from this process as a launch hides it from a worker. Return: 0 or -errno. */
static int hide_proc(void) {
        char map[64];
        uid_t uid = geteuid();
        gid_t gid = getegid();
        int fd;

        if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
                return -errno;
        fd = open("/proc/self/setgroups", O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write(fd, "deny", 4) != 4 || close(fd) < 0)
                return -EIO;
        snprintf(map, sizeof(map), "%u %u 1", uid, uid);
        fd = open("/proc/self/uid_map", O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write(fd, map, strlen(map)) < 0 || close(fd) < 0)
                return -EIO;
        snprintf(map, sizeof(map), "%u %u 1", gid, gid);
        fd = open("/proc/self/gid_map", O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write(fd, map, strlen(map)) < 0 || close(fd) < 0)
                return -EIO;
        if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0 ||
            mount("tmpfs", "/proc", "tmpfs", MS_RDONLY, "mode=0") < 0)
                return -errno;
        return 0;
}

/* A read-write fd that cannot be reopened read-only is refused, by name:
 * never passed as it is. */
Test(launch, a_block_that_cannot_be_reopened_read_only_is_refused) {
        char msg[256] = "";
        int p[2], status;
        pid_t child;

        cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
        child = fork();
        cr_assert_geq(child, 0);
        if (child == 0) {
                lmm_segment *s = NULL;
                lmm_launch *l = NULL;
                int fd = -1, r;

                if (memfd_new_sealed("frames", 4096, false, &fd) < 0 ||
                    lmm_segment_from_fd(fd, "frames", &s) < 0 || lmm_launch_new(&l) < 0)
                        _exit(100);
                if (hide_proc() < 0)
                        _exit(101);
                r = lmm_launch_add_block(l, s, LMM_LAUNCH_READ_ONLY);
                dprintf(p[1], "%s", lmm_launch_last_error(l) ?: "");
                _exit(-r);
        }
        close(p[1]);
        cr_assert_geq(read(p[0], msg, sizeof(msg) - 1), 0);
        close(p[0]);
        cr_assert_eq(waitpid(child, &status, 0), child);
        cr_assert(WIFEXITED(status));
        if (WEXITSTATUS(status) == 101)
                cr_skip_test("no user namespaces to hide /proc with");
        cr_assert(WEXITSTATUS(status) == EACCES || WEXITSTATUS(status) == ENOENT, "exit %d: %s",
                  WEXITSTATUS(status), msg);
        cr_assert(strncmp(msg, "block 'frames': cannot reopen it read-only through /proc/self/fd: ",
                          66) == 0,
                  "%s", msg);
}

/* ---------------------------------------------------------------- life and death */

/* Wait for @pid, a child of ours, for at most @ms. Return: its wait status, or -1. */
static int wait_child_ms(pid_t pid, int ms, uint64_t *ret_elapsed) {
        uint64_t start = now_ms();
        int status;

        for (;;) {
                pid_t r = waitpid(pid, &status, WNOHANG);

                if (r == pid) {
                        *ret_elapsed = now_ms() - start;
                        return status;
                }
                if (r < 0 || now_ms() - start > (uint64_t) ms)
                        return -1;
                usleep(2000);
        }
}

static void dies_with_launcher(bool unconfined) {
        lmm_client *c = fixture_client();
        lmm_segment *s = block_with(c, "frames", "x");
        uint64_t elapsed;
        pid_t launcher, worker;
        int p[2], status;

        /* Orphans come to us, not to PID 1 (which reaps nothing here). */
        cr_assert_eq(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
        cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
        launcher = fork();
        cr_assert_geq(launcher, 0);
        if (launcher == 0) {
                char *argv[] = { (char *) worker_path(), "sleep", "60000", NULL };
                lmm_launch *l = NULL;
                lmm_worker *w = NULL;
                pid_t pid;

                if (lmm_launch_new(&l) < 0 || lmm_launch_set_unconfined(l, unconfined) < 0 ||
                    lmm_launch_add_block(l, s, 0) < 0 ||
                    lmm_launch_spawn(l, worker_path(), argv, NULL, &w) < 0)
                        _exit(1);
                pid = lmm_worker_get_pid(w);
                if (write(p[1], &pid, sizeof(pid)) != sizeof(pid))
                        _exit(2);
                for (;;)
                        pause();
        }
        close(p[1]);
        cr_assert_eq(read(p[0], &worker, sizeof(worker)), (ssize_t) sizeof(worker));
        close(p[0]);
        cr_assert_eq(kill(worker, 0), 0, "the worker runs");

        cr_assert_eq(kill(launcher, SIGKILL), 0);
        cr_assert_eq(waitpid(launcher, &status, 0), launcher);
        status = wait_child_ms(worker, 1000, &elapsed);
        cr_assert_neq(status, -1, "the worker outlived its launcher by a second");
        cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        cr_log_info("worker gone %llu ms after kill -9 of its launcher",
                    (unsigned long long) elapsed);
        lmm_segment_unref(s);
        lmm_client_unref(c);
}

Test(launch, worker_dies_with_its_launcher_confined) {
        dies_with_launcher(false);
}

Test(launch, worker_dies_with_its_launcher_unconfined) {
        dies_with_launcher(true);
}

static lmm_worker *spawn_cmds(lmm_launch *l, const char *a, const char *b) {
        char *argv[] = { (char *) worker_path(), (char *) a, (char *) b, NULL };
        lmm_worker *w = NULL;
        int r = lmm_launch_spawn(l, worker_path(), argv, NULL, &w);

        cr_assert_eq(r, 0, "%s", lmm_launch_last_error(l) ?: strerror(-r));
        return w;
}

Test(launch, wait_reports_exit_codes_and_signals_as_shells_do) {
        lmm_launch *l = launch_new(false);
        lmm_worker *w;
        int status;

        w = spawn_cmds(l, "exit", "7");
        cr_assert_eq(lmm_worker_wait(w, &status), 0);
        cr_assert_eq(status, 7);
        cr_assert_eq(lmm_worker_wait(w, &status), 0, "a second wait gives the same");
        cr_assert_eq(status, 7);
        cr_assert_eq(lmm_worker_kill(w, SIGTERM), -ESRCH);
        lmm_worker_free(w);

        w = spawn_cmds(l, "signal", "15");
        cr_assert_eq(lmm_worker_wait(w, &status), 0);
        cr_assert_eq(status, 128 + SIGTERM);
        lmm_worker_free(w);

        w = spawn_cmds(l, "sleep", "60000");
        cr_assert_geq(lmm_worker_get_pidfd(w), 0);
        cr_assert_eq(lmm_worker_kill(w, SIGKILL), 0);
        cr_assert_eq(lmm_worker_wait(w, &status), 0);
        cr_assert_eq(status, 128 + SIGKILL);
        lmm_worker_free(w);
        lmm_launch_free(l);
}

/* ---------------------------------------------------------------- failures */

Test(launch, failures_name_the_step_the_program_and_the_cause) {
        lmm_launch *l = launch_new(false);
        lmm_worker *w = NULL;

        cr_assert_eq(lmm_launch_spawn(l, "/nonexistent/worker", NULL, NULL, &w), -ENOENT);
        cr_assert_str_eq(lmm_launch_last_error(l),
                         "cannot launch /nonexistent/worker: execve: No such file or directory");
        cr_assert_eq(lmm_launch_spawn(l, "/", NULL, NULL, &w), -EACCES);
        cr_assert_str_eq(lmm_launch_last_error(l), "cannot launch /: execve: Permission denied");
        cr_assert_null(w);
        lmm_launch_free(l);
}

Test(launch, profiles_by_name) {
        lmm_launch *l = launch_new(false);

        cr_assert_eq(lmm_launch_set_profile(l, "launch"), 0);
        cr_assert_null(lmm_launch_last_error(l));
        cr_assert_eq(lmm_launch_set_profile(l, NULL), 0);
        cr_assert_eq(lmm_launch_set_profile(l, "compute"), -EINVAL);
        cr_assert_str_eq(lmm_launch_last_error(l),
                         "profile 'compute' forbids execve(), so no program can be launched in "
                         "it; a program enters it itself with lmm_sandbox_enter()");
        cr_assert_eq(lmm_launch_set_profile(l, "strict"), -EINVAL);
        cr_assert_str_eq(lmm_launch_last_error(l), "unknown profile 'strict'");
        cr_assert_eq(lmm_launch_set_kill_on_violation(l, true), 0);
        cr_assert_null(lmm_launch_last_error(l), "a call that succeeds forgets the message");
        lmm_launch_free(l);
}

Test(launch, blocks_a_worker_could_not_find_are_refused) {
        lmm_client *c = fixture_client();
        lmm_segment *colon = block_with(c, "a:b", "x"), *s = block_with(c, "frames", "x");
        lmm_segment *unnamed = NULL;
        lmm_launch *l = launch_new(false);
        int fd;

        cr_assert_eq(lmm_launch_add_block(l, colon, 0), -EINVAL);
        cr_assert_str_eq(lmm_launch_last_error(l),
                         "block 'a:b': its name has a ':', which separates the names in "
                         "LISTEN_FDNAMES");
        cr_assert_eq(lmm_launch_add_block(l, s, 0), 0);
        cr_assert_eq(lmm_launch_add_block(l, s, LMM_LAUNCH_READ_ONLY), -EEXIST);
        cr_assert_str_eq(lmm_launch_last_error(l), "block 'frames' is in the launch already");
        fd = fcntl(lmm_segment_get_fd(s), F_DUPFD_CLOEXEC, 3);
        cr_assert_eq(lmm_segment_from_fd(fd, NULL, &unnamed), 0);
        cr_assert_eq(lmm_launch_add_block(l, unnamed, 0), -EINVAL);
        cr_assert_str_eq(lmm_launch_last_error(l), "a block without a name cannot be passed: a "
                                                   "worker finds its blocks by name");
        cr_assert_eq(lmm_launch_add_block(l, s, 0x80), -EINVAL);
        lmm_launch_free(l);
        lmm_segment_unref(unnamed);
        lmm_segment_unref(colon);
        lmm_segment_unref(s);
        lmm_client_unref(c);
}

/* In this process: what lmm_segment_from_listen_fds() makes of a bad environment. */
Test(launch, from_listen_fds_refuses_what_is_not_its_own) {
        lmm_segment *s = NULL;
        char pid[32];

        unsetenv("LISTEN_PID");
        cr_assert_eq(lmm_segment_from_listen_fds("x", &s), -ENXIO);
        setenv("LISTEN_PID", "1", 1);
        setenv("LISTEN_FDS", "1", 1);
        setenv("LISTEN_FDNAMES", "x", 1);
        cr_assert_eq(lmm_segment_from_listen_fds("x", &s), -ENXIO, "another process's fds");
        snprintf(pid, sizeof(pid), "%d", (int) getpid());
        setenv("LISTEN_PID", pid, 1);
        cr_assert_eq(lmm_segment_from_listen_fds("y", &s), -ENOENT);
        setenv("LISTEN_FDNAMES", "x:y", 1);
        cr_assert_eq(lmm_segment_from_listen_fds("x", &s), -EINVAL, "two names for one fd");
        setenv("LISTEN_FDS", "2", 1);
        setenv("LISTEN_FDNAMES", "x", 1);
        cr_assert_eq(lmm_segment_from_listen_fds("x", &s), -EINVAL, "one name for two fds");
        setenv("LISTEN_FDS", "two", 1);
        cr_assert_eq(lmm_segment_from_listen_fds("x", &s), -EINVAL);
        setenv("LISTEN_FDS", "0", 1);
        cr_assert_eq(lmm_segment_from_listen_fds("x", &s), -ENOENT);
        cr_assert_null(s);
}

Test(launch, worker_finds_no_block_that_was_not_passed) {
        lmm_client *c = fixture_client();
        lmm_segment *s = block_with(c, "frames", "x");
        lmm_launch *l = launch_new(false);
        static const char *const cmds[] = { "find", "nosuch", "find", "frames", NULL };
        char out[1024];

        cr_assert_eq(lmm_launch_add_block(l, s, 0), 0);
        cr_assert_eq(run_worker(l, cmds, out, sizeof(out)), 0);
        assert_line(out, "find nosuch: ENOENT");
        assert_line(out, "find frames: ok");
        lmm_launch_free(l);
        lmm_segment_unref(s);
        lmm_client_unref(c);
}

/* ---------------------------------------------------------------- threads */

static volatile bool hammer_stop;

/* Take malloc's lock and stdio's (stderr's, and the list of streams') all the time. */
static void *hammer(void *arg) {
        unsigned seed = (unsigned) (uintptr_t) arg;

        while (!__atomic_load_n(&hammer_stop, __ATOMIC_RELAXED)) {
                size_t n = 16 + (size_t) (rand_r(&seed) % 65536);
                char *p = malloc(n);

                if (p) {
                        memset(p, 1, n < 64 ? n : 64);
                        free(p);
                }
                fputs("", stderr);
                fflush(NULL);
        }
        return NULL;
}

Test(launch, launching_while_other_threads_malloc_works_200_times, .timeout = 240) {
        if (!harness_userns_available())
                cr_skip_test("user namespaces are not available here (a chroot?): a confined "
                             "launch cannot hide /proc; test without_user_namespaces_... shows "
                             "the refusal instead");
        lmm_client *c = fixture_client();
        lmm_segment *s = block_with(c, "frames", "x");
        lmm_launch *l = launch_new(false);
        pthread_t t[2];
        uint64_t start;

        cr_assert_eq(lmm_launch_add_block(l, s, LMM_LAUNCH_READ_ONLY), 0);
        /* One arena for every thread: the lock a child that called malloc()
         * would find taken, and wait on for ever. */
        mallopt(M_ARENA_MAX, 1);
        for (size_t i = 0; i < ELEMENTSOF(t); i++)
                cr_assert_eq(pthread_create(&t[i], NULL, hammer, (void *) (i + 1)), 0);
        start = now_ms();
        for (int i = 0; i < 200; i++) {
                lmm_worker *w = spawn_cmds(l, "exit", "3");
                int status = -1;

                cr_assert_eq(lmm_worker_wait(w, &status), 0);
                cr_assert_eq(status, 3, "launch %d: status %d", i, status);
                lmm_worker_free(w);
        }
        cr_log_info("200 confined launches with 2 threads hammering malloc and stdio: %llu ms",
                    (unsigned long long) (now_ms() - start));
        __atomic_store_n(&hammer_stop, true, __ATOMIC_RELAXED);
        for (size_t i = 0; i < ELEMENTSOF(t); i++)
                pthread_join(t[i], NULL);
        lmm_launch_free(l);
        lmm_segment_unref(s);
        lmm_client_unref(c);
}

/* ---------------------------------------------------------------- the fork fallback */

/* Where clone3() is missing (ENOSYS: old kernels, container profiles),
 * spawn() forks and opens a pidfd; the child is the same. */
Test(launch, fork_fallback_launches_the_same) {
        char *argv[] = { (char *) worker_path(), "fds", "exit", "5", NULL };
        char *env[] = { NULL };
        int p[2], fds[1], pidfd = -1;
        spawn_error e;
        siginfo_t si = {};
        pid_t pid;
        char out[256];

        cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
        fds[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
        spawn_params sp = {
                .path = worker_path(),
                .argv = argv,
                .envp = env,
                .fds = fds,
                .n_fds = 1,
                .stdio = { -1, p[1], -1 },
                .force_fork = true,
        };
        cr_assert_eq(spawn(&sp, &pid, &pidfd, &e), 0, "%s: %s", spawn_step_to_string(e.step),
                     strerror(e.error));
        close(p[1]);
        read_all(p[0], out, sizeof(out));
        close(p[0]);
        cr_assert_geq(pidfd, 0);
        cr_assert_eq(waitid(P_PIDFD, (id_t) pidfd, &si, WEXITED), 0);
        cr_assert_eq(si.si_pid, pid);
        cr_assert_eq(si.si_status, 5);
        assert_line(out, "fds: 0 1 2 3");
        close(pidfd);

        sp.path = "/nonexistent";
        cr_assert_eq(spawn(&sp, &pid, &pidfd, &e), -ENOENT);
        cr_assert_eq(e.step, SPAWN_STEP_EXEC);
        close(fds[0]);
}

/*
 * A confined worker's mounts are private: what the launcher's side mounts
 * after the launch, even under a shared mount, never reaches the worker (a
 * procfs mounted then would not be covered, and the worker could reopen a
 * read-only block read-write through it).
 */
Test(launch, a_mount_made_after_the_launch_does_not_reach_the_worker) {
        char base[] = "/tmp/lmm-prop-XXXXXX", sub[64], marker[96], line[128], out[1024];
        const char *argv[] = { worker_path(), "wait-stdin", "stat", marker, NULL };
        lmm_launch *l = launch_new(false);
        lmm_worker *w = NULL;
        int in[2], o[2], status = -1, fd;

        if (!harness_userns_available())
                cr_skip_test("user namespaces are not available here (a chroot?): no confined "
                             "launch");
        /* Our own mount namespace, with a shared tmpfs in it, as / is shared
         * under systemd. */
        cr_assert_eq(unshare(CLONE_NEWNS), 0);
        cr_assert_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
        cr_assert_not_null(mkdtemp(base));
        cr_assert_eq(mount("tmpfs", base, "tmpfs", 0, "mode=0755"), 0);
        cr_assert_eq(mount(NULL, base, NULL, MS_SHARED, NULL), 0);
        snprintf(sub, sizeof(sub), "%s/sub", base);
        snprintf(marker, sizeof(marker), "%s/marker", sub);
        cr_assert_eq(mkdir(sub, 0755), 0);

        cr_assert_eq(pipe2(in, O_CLOEXEC), 0);
        cr_assert_eq(pipe2(o, O_CLOEXEC), 0);
        cr_assert_eq(lmm_launch_set_stdio(l, in[0], o[1], -1), 0);
        cr_assert_eq(lmm_launch_spawn(l, worker_path(), (char **) argv, NULL, &w), 0, "%s",
                     lmm_launch_last_error(l) ?: "");
        cr_assert_eq(lmm_launch_set_stdio(l, -1, -1, -1), 0);
        close(in[0]);
        close(o[1]);

        /* Launched: now a mount on our side, under the shared one. */
        cr_assert_eq(mount("tmpfs", sub, "tmpfs", 0, "mode=0755"), 0);
        fd = open(marker, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        cr_assert_geq(fd, 0);
        close(fd);
        close(in[1]); /* the worker goes on: stat */
        read_all(o[0], out, sizeof(out));
        close(o[0]);
        cr_assert_eq(lmm_worker_wait(w, &status), 0);
        lmm_worker_free(w);
        lmm_launch_free(l);

        snprintf(line, sizeof(line), "%s: ENOENT", marker);
        cr_assert(has_line(out, line), "the worker saw the mount made after its launch:\n%s", out);
        cr_assert_eq(access(marker, F_OK), 0, "where it is there for the launcher");
        cr_assert_eq(umount2(sub, MNT_DETACH), 0);
        cr_assert_eq(umount2(base, MNT_DETACH), 0);
        rmdir(base);
}

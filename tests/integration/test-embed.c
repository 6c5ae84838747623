/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-embed — the promises lmm.h makes for lmm_server_*(), kept in real
 * processes: the started manager outlives a ^C to its process group; the
 * owner client stays valid after shutdown and fails with -ESHUTDOWN; the
 * shutdown of a stopped or hung manager escalates to SIGTERM and SIGKILL and
 * reaps it; a forked child cannot shut down or talk over its parent's
 * manager; and the manager's private directory goes with it, however its
 * owner ends.
 */

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "lmm.h"

TestSuite(embed, .timeout = 60);

static uint64_t now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

/* The private directory the socket lives in. */
static void dir_of(const char *address, char *buf, size_t size) {
        char copy[300];

        snprintf(copy, sizeof(copy), "%s", address);
        snprintf(buf, size, "%s", dirname(copy));
}

/* Whether @pid is our child and has not exited (kill(pid, 0) succeeds for a zombie). */
static bool running(pid_t pid) {
        return waitpid(pid, NULL, WNOHANG) == 0;
}

/* Whether @pid has been reaped: it is no child of ours any more. */
static bool reaped(pid_t pid) {
        return waitpid(pid, NULL, WNOHANG) < 0 && errno == ECHILD;
}

static lmm_segment *create(lmm_client *c, const char *name) {
        lmm_segment *s = NULL;
        int r = lmm_segment_create(c, &(lmm_segment_opts){ .size = 4096, .name = name }, &s);

        cr_assert_eq(r, 0, "create \"%s\": %s", name ? name : "(unnamed)", strerror(-r));
        return s;
}

static volatile sig_atomic_t sigints;

static void count_sigint(int sig) {
        sigints++;
}

Test(embed, sigint_to_the_manager_or_its_process_group_is_ignored) {
        pid_t owner;
        int code;

        owner = fork();
        cr_assert_geq(owner, 0);
        if (owner == 0) {
                lmm_server *smm = NULL;
                lmm_segment *s = NULL;
                pid_t mpid;

                /* A process group of our own, as a shell gives a job: the
                 * ^C below reaches this program and its manager, nobody else. */
                if (setpgid(0, 0) < 0)
                        _exit(10);
                /* The program handles ^C itself; the manager must not. */
                if (sigaction(SIGINT, &(struct sigaction){ .sa_handler = count_sigint }, NULL) < 0)
                        _exit(11);
                if (lmm_server_start(NULL, &smm) < 0)
                        _exit(12);
                mpid = lmm_server_get_pid(smm);
                if (getpgid(mpid) != getpgrp())
                        _exit(13);
                if (kill(mpid, SIGINT) < 0 || kill(0, SIGINT) < 0) /* its pid, then the group */
                        _exit(14);
                /* A manager that took the signal would shut down before it
                 * reads a request sent after it; give it time to, all the same. */
                usleep(100 * 1000);
                if (lmm_segment_create(lmm_server_get_client(smm),
                                       &(lmm_segment_opts){ .size = 4096 }, &s) < 0)
                        _exit(15);
                if (!running(mpid))
                        _exit(16);
                if (sigints != 1)
                        _exit(17);
                if (lmm_server_shutdown(smm) != 0)
                        _exit(18);
                lmm_segment_unref(s);
                lmm_server_unref(smm);
                _exit(0);
        }
        code = harness_wait_exit(owner, 20000);
        cr_assert_eq(code, 0, "the owner's check that exits %d failed", code);
}

Test(embed, the_owner_client_stays_valid_after_shutdown) {
        lmm_server *smm = NULL, *again = NULL;
        lmm_segment *s, *o = NULL;
        lmm_block_info *all = NULL;
        lmm_client *c;
        size_t n = 0;

        cr_assert_eq(lmm_server_start(NULL, &smm), 0);
        c = lmm_server_get_client(smm);
        s = create(c, "kept");
        cr_assert_eq(lmm_segment_open(c, "missing", 0, &o), -ENOENT);
        cr_assert_not_null(lmm_client_last_error(c));

        cr_assert_eq(lmm_server_shutdown(smm), 0);
        cr_assert_eq(lmm_server_get_client(smm), c, "the same client, until lmm_server_unref()");
        cr_assert_eq(lmm_segment_open(c, "kept", 0, &o), -ESHUTDOWN);
        cr_assert_null(lmm_client_last_error(c), "the library refused it, not the manager");
        cr_assert_eq(lmm_segment_create(c, &(lmm_segment_opts){ .size = 4096 }, &o), -ESHUTDOWN);
        cr_assert_eq(lmm_block_list(c, &all, &n), -ESHUTDOWN);
        cr_assert_eq(lmm_block_release(c, "kept"), -ESHUTDOWN);
        cr_assert_eq(lmm_client_shutdown_manager(c), -ESHUTDOWN);
        cr_assert_eq(lmm_client_set_timeout(c, 1000), 0);
        cr_assert_null(o);
        cr_assert_eq(lmm_server_shutdown(smm), 0, "idempotent");

        /* Nothing was corrupted: the next manager starts and serves. */
        cr_assert_eq(lmm_server_start(NULL, &again), 0);
        lmm_segment_unref(create(lmm_server_get_client(again), "next"));
        cr_assert_eq(lmm_server_shutdown(again), 0);
        lmm_server_unref(again);

        lmm_segment_unref(s);
        lmm_server_unref(smm);
}

/* A manager whose owner client gives up after 200 ms, holding one block, *ret_s. */
static lmm_server *start_impatient(pid_t *ret_pid, char dir[static 300], lmm_segment **ret_s) {
        lmm_server *smm = NULL;

        cr_assert_eq(lmm_server_start(NULL, &smm), 0);
        *ret_pid = lmm_server_get_pid(smm);
        dir_of(lmm_server_get_address(smm), dir, 300);
        cr_assert_eq(lmm_client_set_timeout(lmm_server_get_client(smm), 200 * 1000), 0);
        *ret_s = create(lmm_server_get_client(smm), "held");
        return smm;
}

/* Shut down a manager that cannot answer: it times out, in bounded time, reaped and cleaned up. */
static void shutdown_times_out(lmm_server *smm, pid_t mpid, const char *dir) {
        uint64_t t0 = now_ms();
        int r = lmm_server_shutdown(smm);

        cr_assert_eq(r, -ETIMEDOUT, "shutdown: %s", strerror(-r));
        cr_assert_lt(now_ms() - t0, 5000, "bounded by the client's timeout");
        cr_assert(reaped(mpid), "the manager was reaped");
        cr_assert_eq(access(dir, F_OK), -1, "its directory is gone");
        cr_assert_eq(lmm_server_shutdown(smm), -ETIMEDOUT, "idempotent");
}

Test(embed, shutdown_of_a_stopped_manager_escalates_and_reaps, .timeout = 20) {
        lmm_segment *s;
        char dir[300];
        pid_t mpid;
        lmm_server *smm = start_impatient(&mpid, dir, &s);

        cr_assert_eq(kill(mpid, SIGSTOP), 0);
        shutdown_times_out(smm, mpid, dir);
        /* SIGTERM came with SIGCONT, so the manager could still shut down as documented. */
        cr_assert_eq(fcntl(lmm_segment_get_fd(s), F_GET_SEALS) & F_SEAL_SEAL, F_SEAL_SEAL);
        lmm_segment_unref(s);
        lmm_server_unref(smm);
}

Test(embed, shutdown_of_a_manager_that_cannot_go_on_kills_it, .timeout = 20) {
        lmm_segment *s;
        char dir[300];
        pid_t mpid;
        lmm_server *smm = start_impatient(&mpid, dir, &s);
        int st;

        /* Stopped by a tracer (a debugger): SIGCONT does not resume it, only SIGKILL ends it. */
        if (ptrace(PTRACE_SEIZE, mpid, NULL, NULL) < 0) {
                lmm_segment_unref(s);
                lmm_server_unref(smm);
                cr_skip_test("cannot trace the manager here: %s", strerror(errno));
        }
        cr_assert_eq(ptrace(PTRACE_INTERRUPT, mpid, NULL, NULL), 0);
        cr_assert_eq(waitpid(mpid, &st, __WALL), mpid);
        cr_assert(WIFSTOPPED(st));

        shutdown_times_out(smm, mpid, dir);
        cr_assert_eq(fcntl(lmm_segment_get_fd(s), F_GET_SEALS) & F_SEAL_SEAL, 0,
                     "killed, so it never sealed");
        lmm_segment_unref(s);
        lmm_server_unref(smm);
}

Test(embed, shutdown_after_the_manager_was_killed_cleans_up) {
        lmm_server *smm = NULL;
        lmm_segment *s = NULL;
        char dir[300];
        pid_t mpid;

        cr_assert_eq(lmm_server_start(NULL, &smm), 0);
        mpid = lmm_server_get_pid(smm);
        dir_of(lmm_server_get_address(smm), dir, sizeof(dir));
        cr_assert_eq(kill(mpid, SIGKILL), 0);
        cr_assert_eq(lmm_segment_create(lmm_server_get_client(smm),
                                        &(lmm_segment_opts){ .size = 4096 }, &s),
                     -ECONNRESET);
        cr_assert_eq(lmm_server_shutdown(smm), -EIO, "the manager did not shut down cleanly");
        cr_assert(reaped(mpid));
        cr_assert_eq(access(lmm_server_get_address(smm), F_OK), -1, "no socket left behind");
        cr_assert_eq(access(dir, F_OK), -1, "nor the directory");
        lmm_server_unref(smm);
}

Test(embed, a_forked_child_leaves_the_parents_manager_alone) {
        lmm_server *smm = NULL;
        lmm_client *c, *other = NULL;
        lmm_segment *s, *t;
        lmm_block_info info;
        pid_t mpid, child;

        cr_assert_eq(lmm_server_start(NULL, &smm), 0);
        mpid = lmm_server_get_pid(smm);
        c = lmm_server_get_client(smm);
        cr_assert_eq(lmm_client_connect(lmm_server_get_address(smm), &other), 0);
        s = create(c, "before");

        child = fork();
        cr_assert_geq(child, 0);
        if (child == 0) {
                lmm_block_info *all = NULL;
                lmm_segment *x = NULL;
                lmm_client *mine = NULL;
                size_t n = 0;

                /* The parent's connections are not ours to use: every call
                 * fails before it touches the stream. */
                if (lmm_segment_create(c, &(lmm_segment_opts){ .size = 4096 }, &x) != -ECHILD)
                        _exit(1);
                if (lmm_block_stat(c, "before", &info) != -ECHILD)
                        _exit(2);
                if (lmm_block_list(other, &all, &n) != -ECHILD)
                        _exit(3);
                if (lmm_client_shutdown_manager(other) != -ECHILD)
                        _exit(4);
                if (lmm_server_shutdown(smm) != -ECHILD)
                        _exit(5);
                /* A connection of its own works. */
                if (lmm_client_connect(lmm_server_get_address(smm), &mine) < 0 ||
                    lmm_segment_open(mine, "before", 0, &x) < 0)
                        _exit(6);
                lmm_segment_unref(x);
                lmm_client_unref(mine);
                /* The scope cleanup of a forked child: frees its copies only. */
                lmm_client_unref(other);
                lmm_segment_unref(s);
                lmm_server_unref(smm);
                _exit(0);
        }
        cr_assert_eq(harness_wait_exit(child, 10000), 0, "the child's checks failed");

        cr_assert(running(mpid), "the parent's manager still runs");
        cr_assert_eq(access(lmm_server_get_address(smm), F_OK), 0, "and its socket is there");
        cr_assert_eq(lmm_block_stat(c, "before", &info), 0);
        t = create(c, "after");
        cr_assert_eq(lmm_block_stat(other, "after", &info), 0);
        cr_assert_eq(lmm_server_shutdown(smm), 0);
        lmm_segment_unref(t);
        lmm_segment_unref(s);
        lmm_client_unref(other);
        lmm_server_unref(smm);
}

/*
 * fork_owner() - fork a process that starts a manager and tells us its pid
 * and address, then either waits to be killed or (@ask_shutdown) asks its
 * manager to shut down and exits at once, with no lmm_server_shutdown().
 * We become the reaper of orphans, so that the manager is ours to wait for.
 */
static pid_t fork_owner(bool ask_shutdown, pid_t *ret_mpid, char address[static 300],
                        char dir[static 300]) {
        int info[2];
        pid_t owner;

        cr_assert_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
        cr_assert_eq(pipe2(info, O_CLOEXEC), 0);
        owner = fork();
        cr_assert_geq(owner, 0);
        if (owner == 0) {
                lmm_server *smm = NULL;
                pid_t p;

                if (lmm_server_start(NULL, &smm) < 0)
                        _exit(1);
                p = lmm_server_get_pid(smm);
                snprintf(address, 300, "%s", lmm_server_get_address(smm));
                if (write(info[1], &p, sizeof(p)) != (ssize_t) sizeof(p) ||
                    write(info[1], address, 300) != 300)
                        _exit(2);
                if (ask_shutdown)
                        _exit(lmm_client_shutdown_manager(lmm_server_get_client(smm)) < 0 ? 3 : 0);
                pause();
                _exit(0);
        }
        close(info[1]);
        cr_assert_eq(read(info[0], ret_mpid, sizeof(*ret_mpid)), (ssize_t) sizeof(*ret_mpid));
        cr_assert_eq(read(info[0], address, 300), 300);
        close(info[0]);
        dir_of(address, dir, 300);
        return owner;
}

Test(embed, the_manager_removes_its_directory_when_the_owner_is_killed) {
        char address[300], dir[300];
        pid_t mpid = 0, owner = fork_owner(false, &mpid, address, dir);

        cr_assert_eq(access(address, F_OK), 0);
        cr_assert_eq(kill(owner, SIGKILL), 0);
        cr_assert_eq(waitpid(owner, NULL, 0), owner);
        cr_assert_eq(harness_wait_exit(mpid, 5000), 0, "the manager shut down cleanly");
        cr_assert_eq(access(address, F_OK), -1, "its socket is gone");
        cr_assert_eq(access(dir, F_OK), -1, "and so is its private directory %s", dir);
}

/* The owner asks for the shutdown and dies before lmm_server_shutdown()
 * could remove anything: the manager removes its socket and directory. */
Test(embed, the_manager_removes_its_directory_when_the_owner_dies_after_asking_for_shutdown) {
        char address[300], dir[300];
        pid_t mpid = 0, owner = fork_owner(true, &mpid, address, dir);

        cr_assert_eq(harness_wait_exit(owner, 5000), 0, "the owner asked, then exited");
        cr_assert_eq(harness_wait_exit(mpid, 5000), 0, "the manager shut down cleanly");
        cr_assert_eq(access(address, F_OK), -1, "its socket is gone");
        cr_assert_eq(access(dir, F_OK), -1, "and so is its private directory %s", dir);
}

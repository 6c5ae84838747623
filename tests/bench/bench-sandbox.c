/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench-sandbox — what the sandbox costs: building each profile's filter
 * (libseccomp, in the parent, before fork), and a system call under each
 * filter against the same call unconfined, measured side by side in
 * alternating rounds. getpid() is a call the kernel's seccomp cache answers
 * without running the filter (allowed whatever its arguments); fcntl() is
 * one both filters must run, for its cmd. Prints numbers; fails only on a
 * functional error, never on a time.
 */

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "lmm.h"
#include "sandbox.h"

#define BATCH 1000 /* calls per sample, so that reading the clock costs nothing */

enum { NONE, COMPUTE, LAUNCH, _CONFIG_MAX };
static const char *const config_names[_CONFIG_MAX] = { "unconfined", "compute", "launch" };

typedef struct result {
        double getpid_ns, fcntl_ns;
} result;

static double per_call(long nr, long a0, long a1, size_t n_samples) {
        samples s = {};
        double median;

        for (size_t i = 0; i < n_samples; i++) {
                uint64_t t = now_ns();

                for (int k = 0; k < BATCH; k++)
                        (void) syscall(nr, a0, a1);
                samples_add(&s, now_ns() - t);
        }
        median = samples_stats(&s).median / BATCH;
        samples_free(&s);
        return median;
}

/* In a child: confine it with @config, time both calls, send the result through @fd. */
static void measure_in_child(int config, int fd, size_t n_samples) {
        result r;

        if (config == COMPUTE && lmm_sandbox_enter("compute", 0) < 0)
                _exit(10);
        if (config == LAUNCH && lmm_sandbox_enter("launch", 0) < 0)
                _exit(11);
        if (syscall(SYS_fcntl, fd, F_GETFD) < 0)
                _exit(12);
        r.getpid_ns = per_call(SYS_getpid, 0, 0, n_samples);
        r.fcntl_ns = per_call(SYS_fcntl, fd, F_GETFD, n_samples);
        if (write(fd, &r, sizeof(r)) != sizeof(r))
                _exit(13);
        _exit(0); /* a confined process cannot run LeakSanitizer's exit check */
}

static result measure(int config, size_t n_samples) {
        result r;
        int p[2], status;
        pid_t pid;

        if (pipe2(p, O_CLOEXEC) < 0)
                bench_die("pipe2 failed");
        pid = fork();
        if (pid < 0)
                bench_die("fork failed");
        if (pid == 0) {
                close(p[0]);
                measure_in_child(config, p[1], n_samples);
        }
        close(p[1]);
        if (read(p[0], &r, sizeof(r)) != sizeof(r))
                bench_die("the %s child sent no result", config_names[config]);
        close(p[0]);
        if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
                bench_die("the %s child failed (status 0x%x)", config_names[config], status);
        return r;
}

int main(int argc, char **argv) {
        bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
        size_t n_builds = quick ? 20 : 300, n_samples = quick ? 20 : 200, rounds = quick ? 1 : 5;
        samples rs[_CONFIG_MAX][2] = {};

        printf("sandbox_build(), %zu builds each:\n", n_builds);
        for (sandbox_profile p = 0; p < _SANDBOX_PROFILE_MAX; p++) {
                samples s = {};
                unsigned len = 0;
                stats st;

                for (size_t i = 0; i < n_builds; i++) {
                        struct sock_fprog prog = {};
                        uint64_t t = now_ns();
                        int r = sandbox_build(p, 0, &prog);

                        samples_add(&s, now_ns() - t);
                        if (r < 0)
                                bench_die("building %s: %s", sandbox_profile_to_string(p),
                                          strerror(-r));
                        len = prog.len;
                        sandbox_program_done(&prog);
                }
                st = samples_stats(&s);
                printf("  %-8s %4u instructions  median %6.1f us  p99 %6.1f us\n",
                       sandbox_profile_to_string(p), len, st.median / 1000, st.p99 / 1000);
                samples_free(&s);
        }

        /* Rounds alternate the three, so that a neighbour's load falls on all of them. */
        for (size_t round = 0; round < rounds; round++)
                for (int c = 0; c < _CONFIG_MAX; c++) {
                        result r = measure(c, n_samples);

                        samples_add(&rs[c][0], (uint64_t) (r.getpid_ns * 1000));
                        samples_add(&rs[c][1], (uint64_t) (r.fcntl_ns * 1000));
                }
        printf("one system call, median over %zu rounds of %zu x %d calls (ns):\n", rounds,
               n_samples, BATCH);
        printf("  %-12s %10s %16s\n", "", "getpid()", "fcntl(F_GETFD)");
        for (int c = 0; c < _CONFIG_MAX; c++) {
                printf("  %-12s %10.1f %16.1f\n", config_names[c],
                       samples_stats(&rs[c][0]).median / 1000,
                       samples_stats(&rs[c][1]).median / 1000);
                samples_free(&rs[c][0]);
                samples_free(&rs[c][1]);
        }
        return 0;
}

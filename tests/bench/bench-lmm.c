/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench-lmm — what a block costs, measured side by side in one run.
 * Reports medians; never fails on a time (machines here are shared and noisy),
 * only on a functional error. Compare the ratios, not the absolute numbers.
 */

#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lmm.h"

#define N 2000

static uint64_t now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

static int cmp(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return x < y ? -1 : x > y;
}

static double median_us(uint64_t *t, size_t n) {
        qsort(t, n, sizeof(*t), cmp);
        return t[n / 2] / 1000.0;
}

#define DIE(...)                                        \
        do {                                            \
                fprintf(stderr, "bench: " __VA_ARGS__); \
                fputc('\n', stderr);                    \
                exit(1);                                \
        } while (0)

static double bench_lmm_create(lmm_client *c) {
        static uint64_t t[N];
        for (int i = 0; i < N; i++) {
                lmm_segment *s = NULL;
                char *p;
                uint64_t t0 = now_ns();
                if (lmm_segment_create(c, &(lmm_segment_opts){ .size = 4096, .name = "bench" },
                                       &s) < 0 ||
                    lmm_segment_map(s, 0, (void **) &p) != 0)
                        DIE("create failed");
                p[0] = 1;
                if (lmm_block_release(c, "bench") < 0)
                        DIE("release failed");
                lmm_segment_unref(s);
                t[i] = now_ns() - t0;
        }
        return median_us(t, N);
}

static double bench_lmm_open(lmm_client *c) {
        static uint64_t t[N];
        lmm_segment *keep = NULL;
        if (lmm_segment_create(c, &(lmm_segment_opts){ .size = 4096, .name = "open-me" }, &keep) <
            0)
                DIE("create failed");
        for (int i = 0; i < N; i++) {
                lmm_segment *s = NULL;
                char *p;
                uint64_t t0 = now_ns();
                if (lmm_segment_open(c, "open-me", 0, &s) < 0 ||
                    lmm_segment_map(s, 0, (void **) &p) != 0)
                        DIE("open failed");
                p[0] = 1;
                lmm_segment_unref(s);
                t[i] = now_ns() - t0;
        }
        lmm_block_release(c, "open-me");
        lmm_segment_unref(keep);
        return median_us(t, N);
}

static double bench_shm_open(void) {
        static uint64_t t[N];
        char name[64];
        snprintf(name, sizeof(name), "/lmm-bench-%d", (int) getpid());
        for (int i = 0; i < N; i++) {
                uint64_t t0 = now_ns();
                int fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
                char *p;
                if (fd < 0 || ftruncate(fd, 4096) < 0)
                        DIE("shm_open failed");
                p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
                if (p == MAP_FAILED)
                        DIE("mmap failed");
                p[0] = 1;
                shm_unlink(name);
                munmap(p, 4096);
                close(fd);
                t[i] = now_ns() - t0;
        }
        return median_us(t, N);
}

static double bench_memfd(void) {
        static uint64_t t[N];
        for (int i = 0; i < N; i++) {
                uint64_t t0 = now_ns();
                int fd = memfd_create("bench", MFD_CLOEXEC | MFD_ALLOW_SEALING);
                char *p;
                if (fd < 0 || ftruncate(fd, 4096) < 0 ||
                    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) < 0)
                        DIE("memfd failed");
                p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
                if (p == MAP_FAILED)
                        DIE("mmap failed");
                p[0] = 1;
                munmap(p, 4096);
                close(fd);
                t[i] = now_ns() - t0;
        }
        return median_us(t, N);
}

static double bench_shutdown(int n_blocks) {
        lmm_server *smm = NULL;
        uint64_t t0;
        if (lmm_server_start(NULL, &smm) < 0)
                DIE("cannot start a manager");
        for (int i = 0; i < n_blocks; i++) {
                lmm_segment *s = NULL;
                if (lmm_segment_create(lmm_server_get_client(smm),
                                       &(lmm_segment_opts){ .size = 4096 }, &s) < 0)
                        DIE("create failed");
                lmm_segment_unref(s);
        }
        t0 = now_ns();
        if (lmm_server_shutdown(smm) < 0)
                DIE("shutdown failed");
        lmm_server_unref(smm);
        return (now_ns() - t0) / 1000.0 / n_blocks;
}

/* ---- many in flight: throughput, blocks per second ---- */

#define K 4000
#define WINDOW 64

/* The bare syscalls in one process: make a sealed memfd and send it, in a loop. */
static double bench_bare_throughput(void) {
        int sv[2];
        uint64_t t0;

        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
                DIE("socketpair");
        t0 = now_ns();
        for (int i = 0; i < K; i++) {
                union {
                        struct cmsghdr h;
                        char b[CMSG_SPACE(sizeof(int))];
                } ctl = {};
                char byte = 0;
                struct iovec iov = { &byte, 1 };
                struct msghdr mh = { .msg_iov = &iov,
                                     .msg_iovlen = 1,
                                     .msg_control = ctl.b,
                                     .msg_controllen = sizeof(ctl.b) };
                int fd = memfd_create("bare", MFD_CLOEXEC | MFD_ALLOW_SEALING);

                if (fd < 0 || ftruncate(fd, 4096) < 0 ||
                    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) < 0)
                        DIE("memfd");
                CMSG_FIRSTHDR(&mh)->cmsg_level = SOL_SOCKET;
                CMSG_FIRSTHDR(&mh)->cmsg_type = SCM_RIGHTS;
                CMSG_FIRSTHDR(&mh)->cmsg_len = CMSG_LEN(sizeof(int));
                memcpy(CMSG_DATA(CMSG_FIRSTHDR(&mh)), &fd, sizeof(int));
                if (sendmsg(sv[0], &mh, MSG_NOSIGNAL) != 1)
                        DIE("sendmsg");
                close(fd);
                if (recvmsg(sv[1], &mh, MSG_CMSG_CLOEXEC) != 1)
                        DIE("recvmsg");
                memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&mh)), sizeof(int));
                close(fd);
        }
        close(sv[0]);
        close(sv[1]);
        return K / ((now_ns() - t0) / 1e9);
}

static unsigned pipelined_done;

static void on_created(lmm_client *c, int error, lmm_segment *s, void *userdata) {
        if (error < 0)
                DIE("pipelined create: %s", strerror(-error));
        lmm_segment_unref(s);
        pipelined_done++;
}

/* Unnamed creates through the asynchronous client, WINDOW of them in flight. */
static double bench_pipelined_throughput(void) {
        lmm_manager_opts mo = { .max_blocks_per_uid = 1u << 20 };
        lmm_server *smm = NULL;
        lmm_client *c;
        unsigned started = 0;
        uint64_t t0;

        if (lmm_server_start(&(lmm_server_opts){ .manager = &mo }, &smm) < 0)
                DIE("cannot start a manager");
        c = lmm_server_get_client(smm);
        pipelined_done = 0;
        t0 = now_ns();
        while (pipelined_done < K) {
                while (started < K && started - pipelined_done < WINDOW) {
                        if (lmm_segment_create_async(c, &(lmm_segment_opts){ .size = 4096 },
                                                     on_created, NULL) < 0)
                                DIE("cannot start a create");
                        started++;
                }
                if (lmm_client_wait(c, UINT64_MAX) < 0 || lmm_client_process(c) < 0)
                        DIE("the connection broke");
        }
        t0 = now_ns() - t0;
        lmm_server_unref(smm);
        return K / (t0 / 1e9);
}

static void run(const char *how) {
        lmm_server *smm = NULL;
        double create, open, shm, memfd;

        if (lmm_server_start(NULL, &smm) < 0)
                DIE("cannot start a manager");
        create = bench_lmm_create(lmm_server_get_client(smm));
        open = bench_lmm_open(lmm_server_get_client(smm));
        shm = bench_shm_open();
        memfd = bench_memfd();
        lmm_server_unref(smm);

        printf("[%s] median of %d, 4 KiB block, µs:\n", how, N);
        printf("  lmm create+map+touch+release (round trips to the manager)  %8.1f\n", create);
        printf("  lmm open by name+map+touch                                  %8.1f\n", open);
        printf("  POSIX shm_open+ftruncate+mmap+touch+unlink, one process     %8.1f\n", shm);
        printf("  memfd_create+seal+mmap+touch, one process (the floor)       %8.1f\n", memfd);
        printf("  ratio lmm create / shm_open                                 %8.2f\n",
               create / shm);
}

int main(void) {
        struct rlimit rl;
        cpu_set_t one;

        setvbuf(stdout, NULL, _IOLBF, 0);
        /* Room for the blocks the throughput run leaves in its manager. */
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
                rl.rlim_cur = rl.rlim_max;
                (void) setrlimit(RLIMIT_NOFILE, &rl);
        }
        run("unpinned");
        CPU_ZERO(&one);
        CPU_SET(0, &one);
        if (sched_setaffinity(0, sizeof(one), &one) == 0)
                run("client and manager on one CPU");
        printf("shutdown, per block, 1000 blocks: %.2f µs\n", bench_shutdown(1000));
        {
                double bare = bench_bare_throughput(), lmm = bench_pipelined_throughput();

                printf("many in flight, %d creates of 4 KiB, blocks/s (both CPUs):\n", K);
                printf("  memfd_create+ftruncate+seal+sendmsg, one process (bare)     %8.0f\n",
                       bare);
                printf("  lmm unnamed creates, %d in flight (asynchronous client)     %8.0f\n",
                       WINDOW, lmm);
                printf("  ratio lmm / bare                                            %8.2f\n",
                       lmm / bare);
        }
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench-lmm — what a block costs, side by side in one run: lmm against the
 * bare floor (a forked peer that only makes a sealed memfd and sends it),
 * POSIX shm_open in one process, and Python's SharedMemoryManager and
 * ShareableList (through bench-python.py). Median and p99 after a warm-up,
 * unpinned and with every process on one CPU; shutdown at 100 blocks and at
 * the most the fd limit allows; pipelined creates against the bare syscalls;
 * create latency as blocks accumulate; the manager's memory per block and
 * per idle connection. tests/bench/run builds it in release mode and runs it.
 *
 * Variants of one comparison run interleaved, a batch of each in turn, so
 * that every one of them sees the same machine: the machines here are shared,
 * and their figures swing by 2-3x from minute to minute. It fails only on a
 * functional error, never on a time.
 */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "lmm.h"

#define BLOCK 4096
#define WINDOW 64 /* pipelined creates in flight */
#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)
#define MIN(a, b) ((a) < (b) ? (a) : (b))

typedef struct config {
        bool quick, json;
        const char *python_script, *data_path;
        const char *only; /* a section id, or NULL for all */
        size_t n_ops, warmup, batch;
        size_t py_ops, py_warmup;
        size_t pipe_ops, pipe_rounds;
        size_t shutdown_small, shutdown_rounds;
        size_t max_blocks;
        size_t levels[8], n_levels;
        size_t scale_ops;
        size_t list_batches, list_batch;
        size_t n_conns;
} config;

static table T;
static python PY;

static bool wanted(const config *cfg, const char *section) {
        return !cfg->only || strcmp(cfg->only, section) == 0;
}

static void progress(const char *what) {
        fprintf(stderr, "bench: %s\n", what);
}

/* ---------------------------------------------------------------- fds over a socket */

static void send_fd(int sock, int fd) {
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int))];
        } ctl = {};
        char byte = 0;
        struct iovec iov = { &byte, 1 };
        struct msghdr mh = { .msg_iov = &iov,
                             .msg_iovlen = 1,
                             .msg_control = ctl.buf,
                             .msg_controllen = sizeof(ctl.buf) };
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof(int));
        if (sendmsg(sock, &mh, MSG_NOSIGNAL) != 1)
                bench_die("sendmsg: %s", strerror(errno));
}

static int recv_fd(int sock) {
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int))];
        } ctl;
        char byte;
        struct iovec iov = { &byte, 1 };
        struct msghdr mh = { .msg_iov = &iov,
                             .msg_iovlen = 1,
                             .msg_control = ctl.buf,
                             .msg_controllen = sizeof(ctl.buf) };
        struct cmsghdr *c;
        int fd;

        if (recvmsg(sock, &mh, MSG_CMSG_CLOEXEC) != 1 || !(c = CMSG_FIRSTHDR(&mh)) ||
            c->cmsg_type != SCM_RIGHTS)
                bench_die("recvmsg: no fd");
        memcpy(&fd, CMSG_DATA(c), sizeof(int));
        return fd;
}

/* The floor's memfd: exactly what the manager must do for a block, and no more. */
static int sealed_memfd(void) {
        int fd = memfd_create("bench", MFD_CLOEXEC | MFD_ALLOW_SEALING);

        if (fd < 0 || ftruncate(fd, BLOCK) < 0 ||
            fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) < 0)
                bench_die("memfd: %s", strerror(errno));
        return fd;
}

static char *map_touch(int fd) {
        char *p = mmap(NULL, BLOCK, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

        if (p == MAP_FAILED)
                bench_die("mmap: %s", strerror(errno));
        p[0] = 1;
        return p;
}

/* ---------------------------------------------------------------- lmm helpers */

static lmm_server *server_start(size_t max_blocks) {
        lmm_manager_opts mo = { .max_blocks_per_uid = (uint32_t) max_blocks + 64,
                                .max_conns_per_uid = 1u << 16 };
        lmm_server *smm = NULL;
        int r;

        r = lmm_server_start(&(lmm_server_opts){ .manager = &mo }, &smm);
        if (r < 0)
                bench_die("cannot start a manager: %s", strerror(-r));
        return smm;
}

static void server_stop(lmm_server *smm) {
        int r = lmm_server_shutdown(smm);

        if (r < 0)
                bench_die("the manager's shutdown failed: %s", strerror(-r));
        lmm_server_unref(smm);
}

static void on_created(lmm_client *c, int error, lmm_segment *s, void *userdata) {
        size_t *done = userdata;

        if (error < 0)
                bench_die("pipelined create: %s (%s)", strerror(-error),
                          lmm_client_last_error(c) ?: "");
        lmm_segment_unref(s);
        (*done)++;
}

/*
 * create_many() - @n creates, WINDOW in flight, through the asynchronous
 * client; named @prefix and a counter when @prefix is not NULL.
 */
static void create_many(lmm_client *c, size_t n, const char *prefix) {
        static size_t serial;
        size_t started = 0, done = 0;

        while (done < n) {
                while (started < n && started - done < WINDOW) {
                        char name[32];
                        int r;

                        if (prefix)
                                snprintf(name, sizeof(name), "%s%zu", prefix, serial++);
                        r = lmm_segment_create_async(
                                c,
                                &(lmm_segment_opts){ .size = BLOCK, .name = prefix ? name : NULL },
                                on_created, &done);
                        if (r < 0)
                                bench_die("cannot start a create: %s", strerror(-r));
                        started++;
                }
                if (lmm_client_wait(c, UINT64_MAX) < 0 || lmm_client_process(c) < 0)
                        bench_die("the connection to the manager broke");
        }
}

/* ---------------------------------------------------------------- interleaved latency */

typedef struct variant {
        const char *key;
        /* One operation; returns the nanoseconds of its timed part. */
        uint64_t (*op)(void *ctx);
        samples s;
} variant;

/* run_interleaved() - @n timed operations of each variant, after @warmup, @batch at a time. */
static void run_interleaved(variant *v, size_t n_v, void *ctx, size_t warmup, size_t n,
                            size_t batch) {
        for (size_t i = 0; i < n_v; i++) {
                samples_clear(&v[i].s);
                for (size_t k = 0; k < warmup; k++)
                        (void) v[i].op(ctx);
        }
        for (size_t done = 0; done < n; done += batch)
                for (size_t i = 0; i < n_v; i++)
                        for (size_t k = 0; k < batch && done + k < n; k++)
                                samples_add(&v[i].s, v[i].op(ctx));
}

typedef struct latency_ctx {
        lmm_client *c;
        int floor_sock;
        char shm_name[64];
} latency_ctx;

static uint64_t op_floor(void *ctx) {
        latency_ctx *x = ctx;
        uint64_t t0 = now_ns(), t;
        char *p;
        int fd;

        if (send(x->floor_sock, "c", 1, MSG_NOSIGNAL) != 1)
                bench_die("the floor's peer is gone");
        /* Wait as lmm's client does, in poll(): a blocking recvmsg() is
         * woken differently, and measured up to 1.6x slower unpinned here. */
        if (poll(&(struct pollfd){ .fd = x->floor_sock, .events = POLLIN }, 1, -1) != 1)
                bench_die("poll: %s", strerror(errno));
        fd = recv_fd(x->floor_sock);
        p = map_touch(fd);
        t = now_ns() - t0;
        munmap(p, BLOCK);
        close(fd);
        return t;
}

static uint64_t lmm_create_op(lmm_client *c, const char *name) {
        lmm_segment *s = NULL;
        char released[LMM_NAME_MAX + 1];
        uint64_t t0 = now_ns(), t;
        char *p;
        int r;

        r = lmm_segment_create(c, &(lmm_segment_opts){ .size = BLOCK, .name = name }, &s);
        if (r < 0)
                bench_die("create: %s (%s)", strerror(-r), lmm_client_last_error(c) ?: "");
        r = lmm_segment_map(s, 0, (void **) &p);
        if (r != 0)
                bench_die("map: %s", r < 0 ? strerror(-r) : "read-only");
        p[0] = 1;
        t = now_ns() - t0;
        snprintf(released, sizeof(released), "%s", lmm_segment_get_name(s));
        lmm_segment_unref(s);
        r = lmm_block_release(c, released);
        if (r < 0)
                bench_die("release: %s", strerror(-r));
        return t;
}

static uint64_t op_named(void *ctx) {
        return lmm_create_op(((latency_ctx *) ctx)->c, "bench-named");
}

static uint64_t op_unnamed(void *ctx) {
        return lmm_create_op(((latency_ctx *) ctx)->c, NULL);
}

static uint64_t op_open(void *ctx) {
        latency_ctx *x = ctx;
        lmm_segment *s = NULL;
        uint64_t t0 = now_ns(), t;
        char *p;
        int r;

        r = lmm_segment_open(x->c, "bench-open", 0, &s);
        if (r < 0)
                bench_die("open: %s", strerror(-r));
        r = lmm_segment_map(s, 0, (void **) &p);
        if (r != 0)
                bench_die("map: %s", r < 0 ? strerror(-r) : "read-only");
        p[0] = 1;
        t = now_ns() - t0;
        lmm_segment_unref(s);
        return t;
}

static uint64_t op_shm_open(void *ctx) {
        latency_ctx *x = ctx;
        uint64_t t0 = now_ns(), t;
        char *p;
        int fd;

        fd = shm_open(x->shm_name, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
        if (fd < 0 || ftruncate(fd, BLOCK) < 0)
                bench_die("shm_open: %s", strerror(errno));
        p = map_touch(fd);
        t = now_ns() - t0;
        shm_unlink(x->shm_name);
        munmap(p, BLOCK);
        close(fd);
        return t;
}

/* A hundred syscalls that do nothing: what the machine charges for entering the kernel. */
static uint64_t op_syscall(void *ctx) {
        uint64_t t0 = now_ns();

        for (int i = 0; i < 100; i++)
                (void) syscall(SYS_getppid);
        return (now_ns() - t0) / 100;
}

static uint64_t op_memfd(void *ctx) {
        uint64_t t0 = now_ns(), t;
        int fd = sealed_memfd();
        char *p = map_touch(fd);

        t = now_ns() - t0;
        munmap(p, BLOCK);
        close(fd);
        return t;
}

/* The floor's peer: a sealed memfd for every byte it reads, until EOF. */
static pid_t floor_start(int *ret_sock) {
        int sv[2];
        pid_t pid;

        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
                bench_die("socketpair: %s", strerror(errno));
        fflush(stdout);
        pid = fork();
        if (pid < 0)
                bench_die("fork: %s", strerror(errno));
        if (pid == 0) {
                char byte;

                close(sv[0]);
                while (recv(sv[1], &byte, 1, 0) == 1) {
                        int fd = sealed_memfd();

                        send_fd(sv[1], fd);
                        close(fd);
                }
                _exit(0);
        }
        close(sv[1]);
        *ret_sock = sv[0];
        return pid;
}

static const char *const placement_name[] = { "unpinned", "one CPU" };

static void put_stats(const char *section, const char *key, placement p, samples *s, double scale) {
        stats st = samples_stats(s);

        table_put(&T, section, key, p, st.median / scale, st.p99 / scale, st.n);
}

static void put_python(const char *section, const char *key, placement p, const char *py_key,
                       double scale) {
        const py_result *r = python_get(&PY, py_key);

        if (r)
                table_put(&T, section, key, p, r->median / scale, r->p99 / scale, r->n);
}

static void bench_create(const config *cfg, placement p) {
        variant v[] = {
                { "floor", op_floor },     { "named", op_named },       { "unnamed", op_unnamed },
                { "open", op_open },       { "shm_open", op_shm_open }, { "memfd", op_memfd },
                { "syscall", op_syscall },
        };
        latency_ctx x = {};
        lmm_segment *keep = NULL;
        lmm_server *smm;
        char n[16], w[16];
        pid_t floor_pid;
        int status, r;

        fprintf(stderr, "bench: create latency, %s\n", placement_name[p]);
        place(p);
        smm = server_start(1000);
        x.c = lmm_server_get_client(smm);
        floor_pid = floor_start(&x.floor_sock);
        snprintf(x.shm_name, sizeof(x.shm_name), "/lmm-bench-%d", (int) getpid());
        r = lmm_segment_create(x.c, &(lmm_segment_opts){ .size = BLOCK, .name = "bench-open" },
                               &keep);
        if (r < 0)
                bench_die("create: %s", strerror(-r));

        run_interleaved(v, ELEMENTSOF(v), &x, cfg->warmup, cfg->n_ops, cfg->batch);
        for (size_t i = 0; i < ELEMENTSOF(v); i++) {
                put_stats("create", v[i].key, p, &v[i].s, 1000.0);
                samples_free(&v[i].s);
        }

        lmm_segment_unref(keep);
        close(x.floor_sock);
        while (waitpid(floor_pid, &status, 0) < 0 && errno == EINTR)
                ;
        server_stop(smm);

        snprintf(n, sizeof(n), "%zu", cfg->py_ops);
        snprintf(w, sizeof(w), "%zu", cfg->py_warmup);
        python_run(&PY, (const char *const[]){ "create", n, w, NULL });
        put_python("create", "python", p, "create", 1000.0);
        put_python("create", "python_lmm", p, "create_lmm", 1000.0);
        place(UNPINNED);
}

/* ---------------------------------------------------------------- shutdown */

/* lmm_shutdown_ns() - the time lmm_server_shutdown() takes with @n blocks in the manager. */
static double lmm_shutdown_ns(size_t n) {
        lmm_server *smm = server_start(n);
        uint64_t t0;

        create_many(lmm_server_get_client(smm), n, NULL);
        t0 = now_ns();
        server_stop(smm);
        return (double) (now_ns() - t0);
}

/*
 * kernel_shutdown_ns() - what the kernel takes, per block, to do what a
 * manager's shutdown must: seal @n memfds for good and close them (the last
 * reference, which frees each), in one process, without any manager.
 */
static uint64_t kernel_shutdown_ns(size_t n) {
        int *fds = calloc(n, sizeof(int));
        uint64_t t0;

        if (!fds)
                bench_die("out of memory");
        for (size_t i = 0; i < n; i++)
                fds[i] = sealed_memfd();
        t0 = now_ns();
        for (size_t i = 0; i < n; i++) {
                if (fcntl(fds[i], F_ADD_SEALS,
                          F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE | F_SEAL_SEAL) < 0)
                        bench_die("F_ADD_SEALS: %s", strerror(errno));
                close(fds[i]);
        }
        t0 = now_ns() - t0;
        free(fds);
        return t0 / n;
}

/*
 * exit_reap_ns() - what the kernel takes to end a process that only exits:
 * from the word to go until the parent has reaped it, waiting on a pidfd as
 * lmm_server_shutdown() waits for its manager. Forked from this process, as
 * a manager is.
 */
static uint64_t exit_reap_ns(void) {
        int go[2], pidfd;
        uint64_t t0;
        pid_t pid;

        if (pipe2(go, O_CLOEXEC) < 0)
                bench_die("pipe2: %s", strerror(errno));
        fflush(stdout);
        pid = fork();
        if (pid < 0)
                bench_die("fork: %s", strerror(errno));
        if (pid == 0) {
                char c;

                close(go[1]);
                _exit(read(go[0], &c, 1) == 1 ? 0 : 1);
        }
        close(go[0]);
        pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
        if (pidfd < 0)
                bench_die("pidfd_open: %s", strerror(errno));
        usleep(2000); /* settled, as a manager is when it is told to go */
        t0 = now_ns();
        if (write(go[1], "x", 1) != 1)
                bench_die("write: %s", strerror(errno));
        if (poll(&(struct pollfd){ .fd = pidfd, .events = POLLIN }, 1, -1) != 1)
                bench_die("poll: %s", strerror(errno));
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
        t0 = now_ns() - t0;
        close(pidfd);
        close(go[1]);
        return t0;
}

/*
 * socket_dir_ns() - what the file system takes to remove a manager's socket
 * as lmm_server_start()'s does at shutdown: unlink it, close the listening
 * socket, remove the private directory it was in, where that function makes
 * it ($XDG_RUNTIME_DIR, else /tmp).
 */
static uint64_t socket_dir_ns(void) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        const char *base = getenv("XDG_RUNTIME_DIR");
        char dir[96];
        uint64_t t0;
        int fd;

        if (!base || base[0] != '/' || access(base, W_OK) < 0)
                base = "/tmp";
        snprintf(dir, sizeof(dir), "%s/lmm-bench-XXXXXX", base);
        if (!mkdtemp(dir))
                bench_die("mkdtemp: %s", strerror(errno));
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/lmmd.sock", dir);
        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || listen(fd, 16) < 0)
                bench_die("socket in %s: %s", dir, strerror(errno));
        usleep(2000);
        t0 = now_ns();
        unlink(sa.sun_path);
        close(fd);
        if (rmdir(dir) < 0)
                bench_die("rmdir %s: %s", dir, strerror(errno));
        return now_ns() - t0;
}

static void bench_shutdown_small(const config *cfg) {
        samples s = {}, ex = {}, fs = {};
        double n_small = (double) cfg->shutdown_small;
        char n[16], k[16], key[32];

        progress("shutdown with 100 blocks");
        for (size_t i = 0; i < cfg->shutdown_rounds; i++)
                samples_add(&s, kernel_shutdown_ns(cfg->max_blocks));
        put_stats("shutdown", "kernel", UNPINNED, &s, 1000.0);
        samples_clear(&s);
        /* Interleaved: what the exit and the file system take of a shutdown,
         * shared by its blocks as the shutdown's own time is. */
        for (size_t i = 0; i < cfg->shutdown_rounds; i++) {
                samples_add(&s, (uint64_t) (lmm_shutdown_ns(cfg->shutdown_small) / n_small));
                samples_add(&ex, (uint64_t) ((double) exit_reap_ns() / n_small));
                samples_add(&fs, (uint64_t) ((double) socket_dir_ns() / n_small));
        }
        put_stats("shutdown", "lmm_small", UNPINNED, &s, 1000.0);
        put_stats("shutdown", "exit_small", UNPINNED, &ex, 1000.0);
        put_stats("shutdown", "fs_small", UNPINNED, &fs, 1000.0);
        samples_free(&s);
        samples_free(&ex);
        samples_free(&fs);

        snprintf(n, sizeof(n), "%zu", cfg->shutdown_small);
        snprintf(k, sizeof(k), "%zu", cfg->shutdown_rounds);
        python_run(&PY, (const char *const[]){ "shutdown", n, k, NULL });
        snprintf(key, sizeof(key), "shutdown.%zu", cfg->shutdown_small);
        put_python("shutdown", "python_small", UNPINNED, key, 1000.0);
}

/* ---------------------------------------------------------------- pipelined creates */

/* The bare syscalls in one process: make a sealed memfd, send it, receive it, close both. */
static double bare_rate(size_t k) {
        uint64_t t0;
        int sv[2];

        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
                bench_die("socketpair: %s", strerror(errno));
        t0 = now_ns();
        for (size_t i = 0; i < k; i++) {
                int fd = sealed_memfd();

                send_fd(sv[0], fd);
                close(fd);
                close(recv_fd(sv[1]));
        }
        t0 = now_ns() - t0;
        close(sv[0]);
        close(sv[1]);
        return (double) k / ((double) t0 / 1e9);
}

/*
 * manager_floor_rate() - what a manager must do for each block, whoever
 * asks and however: make the memfd mode 0600, size and seal it, learn its
 * inode, and keep it; in one process, with no request and no reply. No
 * manager's throughput can pass this.
 */
static double manager_floor_rate(size_t k) {
        int *fds = calloc(k, sizeof(int));
        uint64_t t0;

        if (!fds)
                bench_die("out of memory");
        t0 = now_ns();
        for (size_t i = 0; i < k; i++) {
                struct stat st;

                fds[i] = memfd_create("bench", MFD_CLOEXEC | MFD_ALLOW_SEALING);
                if (fds[i] < 0 || fchmod(fds[i], 0600) < 0 || ftruncate(fds[i], BLOCK) < 0 ||
                    fcntl(fds[i], F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) < 0 ||
                    fstat(fds[i], &st) < 0)
                        bench_die("memfd: %s", strerror(errno));
        }
        t0 = now_ns() - t0;
        for (size_t i = 0; i < k; i++)
                close(fds[i]);
        free(fds);
        return (double) k / ((double) t0 / 1e9);
}

/* Unnamed creates through the asynchronous client, WINDOW in flight. */
/* ...and the CPU time the manager and this process spent per create, in ns. */
static double pipelined_rate(size_t k, uint64_t *ret_manager_ns, uint64_t *ret_client_ns) {
        lmm_server *smm = server_start(k);
        pid_t pid = lmm_server_get_pid(smm);
        int64_t m0 = proc_cpu_ns(pid), c0 = proc_cpu_ns(getpid());
        uint64_t t0 = now_ns();

        create_many(lmm_server_get_client(smm), k, NULL);
        t0 = now_ns() - t0;
        *ret_manager_ns = (uint64_t) (proc_cpu_ns(pid) - m0) / k;
        *ret_client_ns = (uint64_t) (proc_cpu_ns(getpid()) - c0) / k;
        server_stop(smm);
        return (double) k / ((double) t0 / 1e9);
}

static void bench_pipeline(const config *cfg, placement p) {
        samples bare = {}, lmm = {}, bare_us = {}, manager = {}, client = {}, floor = {};

        fprintf(stderr, "bench: pipelined creates, %s\n", placement_name[p]);
        place(p);
        (void) bare_rate(cfg->pipe_ops / 10); /* warm-up */
        for (size_t i = 0; i < cfg->pipe_rounds; i++) {
                double rate = bare_rate(cfg->pipe_ops);
                uint64_t m, c;

                samples_add(&bare, (uint64_t) rate);
                samples_add(&bare_us, (uint64_t) (1e9 / rate));
                samples_add(&floor, (uint64_t) manager_floor_rate(cfg->pipe_ops));
                samples_add(&lmm, (uint64_t) pipelined_rate(cfg->pipe_ops, &m, &c));
                samples_add(&manager, m);
                samples_add(&client, c);
        }
        put_stats("pipeline", "bare", p, &bare, 1);
        put_stats("pipeline", "manager_floor", p, &floor, 1);
        put_stats("pipeline", "lmm", p, &lmm, 1);
        put_stats("pipeline", "bare_cpu", p, &bare_us, 1000.0);
        put_stats("pipeline", "manager_cpu", p, &manager, 1000.0);
        put_stats("pipeline", "client_cpu", p, &client, 1000.0);
        samples_free(&bare);
        samples_free(&floor);
        samples_free(&lmm);
        samples_free(&bare_us);
        samples_free(&manager);
        samples_free(&client);
        place(UNPINNED);
}

/* ---------------------------------------------------------------- the shareable list */

typedef struct list_ctx {
        lmm_list *l;
        size_t batch;
        const char *s64;
        int64_t sink;
} list_ctx;

static void list_check(int r) {
        if (r < 0)
                bench_die("list: %s", strerror(-r));
}

static uint64_t op_int_get(void *ctx) {
        list_ctx *x = ctx;
        uint64_t t0 = now_ns();
        lmm_item it;

        for (size_t i = 0; i < x->batch; i++) {
                list_check(lmm_list_get(x->l, 0, &it, NULL, 0));
                x->sink += it.i;
        }
        return (now_ns() - t0) * 1000 / x->batch; /* picoseconds: ns with three decimals */
}

static uint64_t op_int_set(void *ctx) {
        list_ctx *x = ctx;
        uint64_t t0 = now_ns();

        for (size_t i = 0; i < x->batch; i++) {
                lmm_item v = lmm_item_int((int64_t) i);

                list_check(lmm_list_set(x->l, 0, &v));
        }
        return (now_ns() - t0) * 1000 / x->batch;
}

static uint64_t op_str_get(void *ctx) {
        list_ctx *x = ctx;
        uint64_t t0 = now_ns();
        char buf[80];
        lmm_item it;

        for (size_t i = 0; i < x->batch; i++) {
                list_check(lmm_list_get(x->l, 1, &it, buf, sizeof(buf)));
                x->sink += (int64_t) it.buf.len;
        }
        return (now_ns() - t0) * 1000 / x->batch;
}

static uint64_t op_str_set(void *ctx) {
        list_ctx *x = ctx;
        uint64_t t0 = now_ns();
        lmm_item v = lmm_item_strn(x->s64, 64);

        for (size_t i = 0; i < x->batch; i++)
                list_check(lmm_list_set(x->l, 1, &v));
        return (now_ns() - t0) * 1000 / x->batch;
}

static void bench_list(const config *cfg) {
        static const char s64[] =
                "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        variant v[] = {
                { "int_get", op_int_get },
                { "int_set", op_int_set },
                { "str64_get", op_str_get },
                { "str64_set", op_str_set },
        };
        lmm_item items[] = { lmm_item_int(0), lmm_item_strn(s64, 64) };
        list_ctx x = { .batch = cfg->list_batch, .s64 = s64 };
        lmm_server *smm = server_start(16);
        char b[24], n[24];
        int r;

        progress("shareable list");
        r = lmm_list_create(lmm_server_get_client(smm), NULL, items, ELEMENTSOF(items), 0, &x.l);
        if (r < 0)
                bench_die("cannot create a list: %s", strerror(-r));
        run_interleaved(v, ELEMENTSOF(v), &x, 2, cfg->list_batches, 1);
        if (x.sink < 0)
                bench_die("the list lost its values");
        for (size_t i = 0; i < ELEMENTSOF(v); i++) {
                char key[32];

                snprintf(key, sizeof(key), "lmm_%s", v[i].key);
                put_stats("list", key, UNPINNED, &v[i].s, 1000.0);
                samples_free(&v[i].s);
        }
        lmm_list_unref(x.l);
        server_stop(smm);

        snprintf(b, sizeof(b), "%zu", cfg->list_batches);
        snprintf(n, sizeof(n), "%zu", cfg->list_batch / 10); /* Python is slower: fewer per batch */
        python_run(&PY, (const char *const[]){ "list", b, n, NULL });
        for (size_t i = 0; i < ELEMENTSOF(v); i++) {
                char key[32], py_key[32];

                snprintf(key, sizeof(key), "python_%s", v[i].key);
                snprintf(py_key, sizeof(py_key), "list.%s", v[i].key);
                put_python("list", key, UNPINNED, py_key, 1);
                snprintf(key, sizeof(key), "python_lmm_%s", v[i].key);
                snprintf(py_key, sizeof(py_key), "list.lmm_%s", v[i].key);
                put_python("list", key, UNPINNED, py_key, 1);
        }
}

/* ---------------------------------------------------------------- scale */

static void scale_rows(const config *cfg) {
        for (size_t i = 0; i < cfg->n_levels; i++) {
                static const char *const who[] = { "lmm_unnamed", "lmm_named", "python" };
                static const char *const label[] = { "lmm unnamed create + map + touch",
                                                     "lmm named create + map + touch",
                                                     "Python smm.SharedMemory + touch" };

                for (size_t k = 0; k < ELEMENTSOF(who); k++) {
                        char key[48], l[96];

                        snprintf(key, sizeof(key), "%s.%zu", who[k], cfg->levels[i]);
                        snprintf(l, sizeof(l), "%s, %zu live blocks", label[k], cfg->levels[i]);
                        table_row(&T, "scale", key, l, "us");
                }
        }
}

static void bench_scale(const config *cfg) {
        variant v[] = { { "lmm_unnamed", op_unnamed }, { "lmm_named", op_named } };
        latency_ctx x = {};
        lmm_server *smm;
        size_t live = 0;
        char levels[128] = "", m[16], label[96];
        uint64_t t0;

        scale_rows(cfg);
        smm = server_start(cfg->max_blocks + 16);
        x.c = lmm_server_get_client(smm);
        for (size_t i = 0; i < cfg->n_levels; i++) {
                fprintf(stderr, "bench: create latency with %zu live blocks\n", cfg->levels[i]);
                create_many(x.c, cfg->levels[i] - live, "f");
                live = cfg->levels[i];
                run_interleaved(v, ELEMENTSOF(v), &x, 20, cfg->scale_ops, 10);
                for (size_t k = 0; k < ELEMENTSOF(v); k++) {
                        char key[48];

                        snprintf(key, sizeof(key), "%s.%zu", v[k].key, live);
                        put_stats("scale", key, UNPINNED, &v[k].s, 1000.0);
                        samples_free(&v[k].s);
                }
                snprintf(levels + strlen(levels), sizeof(levels) - strlen(levels), "%s%zu",
                         i ? "," : "", live);
        }
        t0 = now_ns();
        server_stop(smm);
        snprintf(label, sizeof(label), "lmm shutdown, per block, %zu blocks", live);
        table_row(&T, "shutdown", "lmm_max", label, "us");
        table_put(&T, "shutdown", "lmm_max", UNPINNED, (double) (now_ns() - t0) / 1000.0 / live, 0,
                  live);

        progress("Python: create latency as blocks accumulate (this takes a while)");
        snprintf(m, sizeof(m), "%zu", cfg->scale_ops);
        python_run(&PY, (const char *const[]){ "scale", levels, m, NULL });
        for (size_t i = 0; i < cfg->n_levels; i++) {
                char key[48], py_key[48];

                snprintf(key, sizeof(key), "python.%zu", cfg->levels[i]);
                snprintf(py_key, sizeof(py_key), "scale.%zu", cfg->levels[i]);
                put_python("scale", key, UNPINNED, py_key, 1000.0);
        }
        if (python_get(&PY, "shutdown.max")) {
                snprintf(label, sizeof(label), "Python shutdown, per block, %zu blocks",
                         python_get(&PY, "shutdown.max")->n);
                table_row(&T, "shutdown", "python_max", label, "us");
                table_put(&T, "shutdown", "python_max", UNPINNED,
                          python_get(&PY, "shutdown.max")->median / 1000.0, 0,
                          python_get(&PY, "shutdown.max")->n);
        }
}

static void scale_write(const config *cfg, FILE *f) {
        static const char *const who[] = { "lmm_unnamed", "lmm_named", "python" };

        fprintf(f, "# create latency (µs) against live blocks; NaN: not measured\n");
        fprintf(f, "# live\tlmm_unnamed_median\tlmm_unnamed_p99\tlmm_named_median\t"
                   "lmm_named_p99\tpython_median\tpython_p99\n");
        for (size_t i = 0; i < cfg->n_levels; i++) {
                fprintf(f, "%zu", cfg->levels[i]);
                for (size_t k = 0; k < ELEMENTSOF(who); k++) {
                        char key[48];
                        const row *r;

                        snprintf(key, sizeof(key), "%s.%zu", who[k], cfg->levels[i]);
                        r = table_row(&T, "scale", key, "", "us");
                        if (r->at[UNPINNED].valid)
                                fprintf(f, "\t%.2f\t%.2f", r->at[UNPINNED].median,
                                        r->at[UNPINNED].p99);
                        else
                                fprintf(f, "\tNaN\tNaN");
                }
                fputc('\n', f);
        }
}

static void scale_print(const config *cfg, FILE *f) {
        static const char *const who[] = { "lmm_unnamed", "lmm_named", "python" };

        fprintf(f, "\ncreate + map + touch against live blocks, µs, median / p99 (unpinned)\n");
        fprintf(f, "  %-10s %-22s %-22s %-22s\n", "live", "lmm unnamed", "lmm named", "Python");
        for (size_t i = 0; i < cfg->n_levels; i++) {
                fprintf(f, "  %-10zu", cfg->levels[i]);
                for (size_t k = 0; k < ELEMENTSOF(who); k++) {
                        char key[48], c[48];
                        const row *r;

                        snprintf(key, sizeof(key), "%s.%zu", who[k], cfg->levels[i]);
                        r = table_row(&T, "scale", key, "", "us");
                        if (r->at[UNPINNED].valid)
                                snprintf(c, sizeof(c), "%.1f / %.1f", r->at[UNPINNED].median,
                                         r->at[UNPINNED].p99);
                        else
                                snprintf(c, sizeof(c), "-");
                        fprintf(f, " %-22s", c);
                }
                fputc('\n', f);
        }
}

/* ---------------------------------------------------------------- memory */

static void settle(void) {
        /* Let the manager finish what it was woken for before it is measured. */
        usleep(50 * 1000);
}

static void bench_memory(const config *cfg) {
        const char *source = "";
        lmm_server *smm;
        lmm_client **conns;
        int64_t u0, u1, k0, k1;
        pid_t pid;
        size_t n = cfg->max_blocks, nc = cfg->n_conns;
        char note[192];

        progress("memory per block");
        smm = server_start(n);
        pid = lmm_server_get_pid(smm);
        create_many(lmm_server_get_client(smm), 64, "w"); /* the tables' first sizes */
        settle();
        u0 = proc_private_bytes(pid);
        k0 = kernel_bytes(&source);
        create_many(lmm_server_get_client(smm), n, "b");
        settle();
        u1 = proc_private_bytes(pid);
        k1 = kernel_bytes(&source);
        if (u0 < 0 || u1 < 0)
                bench_die("cannot read /proc/%d/smaps_rollup", (int) pid);
        table_put(&T, "memory", "block_user", UNPINNED, (double) (u1 - u0) / (double) n, 0, n);
        table_put(&T, "memory", "block_kernel", UNPINNED, (double) (k1 - k0) / (double) n, 0, n);
        server_stop(smm);

        progress("memory per idle connection");
        conns = calloc(nc, sizeof(*conns));
        if (!conns)
                bench_die("out of memory");
        smm = server_start(16);
        pid = lmm_server_get_pid(smm);
        settle();
        u0 = proc_private_bytes(pid);
        k0 = kernel_bytes(&source);
        for (size_t i = 0; i < nc; i++) {
                lmm_block_info *list = NULL;
                size_t len;
                int r;

                r = lmm_client_connect(lmm_server_get_address(smm), &conns[i]);
                /* One call: the manager has accepted it and serves it; then it idles. */
                if (r >= 0)
                        r = lmm_block_list(conns[i], &list, &len);
                if (r < 0)
                        bench_die("connection %zu: %s", i, strerror(-r));
                free(list);
        }
        settle();
        u1 = proc_private_bytes(pid);
        k1 = kernel_bytes(&source);
        table_put(&T, "memory", "conn_user", UNPINNED, (double) (u1 - u0) / (double) nc, 0, nc);
        table_put(&T, "memory", "conn_kernel", UNPINNED, (double) (k1 - k0) / (double) nc, 0, nc);
        table_put(&T, "memory", "conn_total", UNPINNED, (double) (u1 - u0 + k1 - k0) / (double) nc,
                  0, nc);
        for (size_t i = 0; i < nc; i++)
                lmm_client_unref(conns[i]);
        free(conns);
        server_stop(smm);
        snprintf(note, sizeof(note), "kernel memory from %s", source);
        table_note(&T, "%s", note);
}

/* ---------------------------------------------------------------- the table's rows */

/* The rows whose labels do not depend on the configuration, in print order within each section. */
static const struct {
        const char *section, *key, *label, *unit;
} fixed_rows[] = {
        { "create", "floor", "bare floor: forked peer sends a sealed memfd; map+touch", "us" },
        { "create", "named", "lmm named create + map + touch", "us" },
        { "create", "unnamed", "lmm unnamed create + map + touch", "us" },
        { "create", "open", "lmm open by name + map + touch", "us" },
        { "create", "python", "Python smm.SharedMemory(size=4096) + touch", "us" },
        { "create", "python_lmm", "lmm.SharedMemoryManager().SharedMemory(4096) + touch", "us" },
        { "create", "shm_open", "POSIX shm_open+ftruncate+mmap+touch, one process", "us" },
        { "create", "memfd", "memfd_create+seal+mmap+touch, one process", "us" },
        { "create", "syscall", "one syscall that does nothing (getppid)", "us" },
        { "ratio", "named", "lmm named create / floor", "x" },
        { "ratio", "unnamed", "lmm unnamed create / floor", "x" },
        { "ratio", "open", "lmm open / floor", "x" },
        { "ratio", "python", "Python create / lmm unnamed create", "x" },
        /* What no manager process can beat: the most any design could gain on Python. */
        { "ratio", "python_floor", "Python create / floor (the ceiling for the above)", "x" },
        { "ratio", "python_lmm", "Python create / lmm create, both from Python", "x" },
        { "pipeline", "bare", "bare syscalls, one process: memfd+seal+sendmsg+recvmsg",
          "blocks/s" },
        { "pipeline", "manager_floor", "a manager's own syscalls per block, kept, no messages",
          "blocks/s" },
        { "pipeline", "lmm",
          "lmm unnamed creates, " STRINGIFY(WINDOW) " in flight (asynchronous client)",
          "blocks/s" },
        { "pipeline", "ratio", "lmm / bare", "x" },
        { "pipeline", "ratio_floor", "lmm / a manager's own syscalls", "x" },
        { "pipeline", "bare_cpu", "  bare: µs per create, all of it in one process", "us" },
        { "pipeline", "manager_cpu", "  lmm: the manager's CPU µs per create", "us" },
        { "pipeline", "client_cpu", "  lmm: the client's CPU µs per create", "us" },
        { "list", "lmm_int_get", "lmm_list_get, int", "ns" },
        { "list", "lmm_int_set", "lmm_list_set, int", "ns" },
        { "list", "lmm_str64_get", "lmm_list_get, 64-byte str", "ns" },
        { "list", "lmm_str64_set", "lmm_list_set, 64-byte str", "ns" },
        { "list", "python_int_get", "Python ShareableList sl[i], int", "ns" },
        { "list", "python_int_set", "Python ShareableList sl[i] = v, int", "ns" },
        { "list", "python_str64_get", "Python ShareableList sl[i], 64-char str", "ns" },
        { "list", "python_str64_set", "Python ShareableList sl[i] = v, 64-char str", "ns" },
        { "list", "python_lmm_int_get", "lmm.ShareableList sl[i], int (ctypes)", "ns" },
        { "list", "python_lmm_int_set", "lmm.ShareableList sl[i] = v, int (ctypes)", "ns" },
        { "list", "python_lmm_str64_get", "lmm.ShareableList sl[i], 64-char str (ctypes)", "ns" },
        { "list", "python_lmm_str64_set", "lmm.ShareableList sl[i] = v, 64-char str (ctypes)",
          "ns" },
        { "memory", "block_kernel", "kernel, per live block (the memfd itself)", "bytes" },
        { "memory", "conn_user", "manager, per idle connection (user space)", "bytes" },
        { "memory", "conn_kernel", "kernel, per idle connection (both sockets, pidfd, epoll)",
          "bytes" },
        { "memory", "conn_total", "per idle connection, all told", "bytes" },
};

static void rows(const config *cfg) {
        char l[96];

        /* Rows print in the order they were made: those with a count in their label first. */
        snprintf(l, sizeof(l), "lmm shutdown, per block, %zu blocks", cfg->shutdown_small);
        table_row(&T, "shutdown", "lmm_small", l, "us");
        snprintf(l, sizeof(l), "Python shutdown, per block, %zu blocks", cfg->shutdown_small);
        table_row(&T, "shutdown", "python_small", l, "us");
        snprintf(l, sizeof(l), "  of which: a process exits, is reaped (kernel), / %zu",
                 cfg->shutdown_small);
        table_row(&T, "shutdown", "exit_small", l, "us");
        snprintf(l, sizeof(l), "  of which: socket and its directory removed (fs), / %zu",
                 cfg->shutdown_small);
        table_row(&T, "shutdown", "fs_small", l, "us");
        snprintf(l, sizeof(l), "kernel: seal + last close of a memfd, one process, %zu",
                 cfg->max_blocks);
        table_row(&T, "shutdown", "kernel", l, "us");
        snprintf(l, sizeof(l), "manager, per live block (user space), %zu blocks", cfg->max_blocks);
        table_row(&T, "memory", "block_user", l, "bytes");
        for (size_t i = 0; i < ELEMENTSOF(fixed_rows); i++)
                table_row(&T, fixed_rows[i].section, fixed_rows[i].key, fixed_rows[i].label,
                          fixed_rows[i].unit);
}

static void ratio(const char *key, const char *num, const char *den, placement p) {
        double a = table_get(&T, "create", num, p), b = table_get(&T, "create", den, p);

        if (a > 0 && b > 0)
                table_put(&T, "ratio", key, p, a / b, 0, 0);
}

static void target_max(const char *what, const char *section, const char *key, placement p,
                       double limit, const char *target) {
        double v = table_get(&T, section, key, p);
        char w[128];

        if (v <= 0)
                return;
        snprintf(w, sizeof(w), "%s (%s)", what, placement_name[p]);
        table_target(&T, w, v, target, v <= limit, NULL);
}

static void target_min(const char *what, double v, double limit, const char *target) {
        if (v > 0)
                table_target(&T, what, v, target, v >= limit, NULL);
}

/*
 * shutdown_marginal() - what each block beyond the first 100 adds to a
 * shutdown, from its totals at 100 blocks and at the most: the fixed cost
 * (the process's exit, the reaping) drops out.
 */
static void shutdown_marginal(const config *cfg, const char *who) {
        char small[32], max[32], key[32], label[96];
        const row *r;
        double a, b;
        size_t n;

        snprintf(small, sizeof(small), "%s_small", who);
        snprintf(max, sizeof(max), "%s_max", who);
        a = table_get(&T, "shutdown", small, UNPINNED) * (double) cfg->shutdown_small;
        b = table_get(&T, "shutdown", max, UNPINNED);
        r = table_row(&T, "shutdown", max, "", "us");
        n = r->at[UNPINNED].n;
        if (a <= 0 || b <= 0 || n <= cfg->shutdown_small)
                return;
        snprintf(key, sizeof(key), "%s_marginal", who);
        snprintf(label, sizeof(label), "%s shutdown, each block past %zu (marginal)",
                 strcmp(who, "lmm") == 0 ? "lmm" : "Python", cfg->shutdown_small);
        table_row(&T, "shutdown", key, label, "us");
        table_put(&T, "shutdown", key, UNPINNED,
                  (b * (double) n - a) / (double) (n - cfg->shutdown_small), 0, n);
}

static void targets(const config *cfg) {
        double a, b;

        for (int p = 0; p < _PLACEMENT_MAX; p++) {
                ratio("named", "named", "floor", p);
                ratio("unnamed", "unnamed", "floor", p);
                ratio("open", "open", "floor", p);
                ratio("python", "python", "unnamed", p);
                ratio("python_floor", "python", "floor", p);
                ratio("python_lmm", "python", "python_lmm", p);
                a = table_get(&T, "pipeline", "lmm", p);
                b = table_get(&T, "pipeline", "bare", p);
                if (a > 0 && b > 0)
                        table_put(&T, "pipeline", "ratio", p, a / b, 0, 0);
                b = table_get(&T, "pipeline", "manager_floor", p);
                if (a > 0 && b > 0)
                        table_put(&T, "pipeline", "ratio_floor", p, a / b, 0, 0);
        }
        for (int p = 0; p < _PLACEMENT_MAX; p++) {
                char w[128];

                target_max("named create / floor", "ratio", "named", p, 1.3, "<= 1.3");
                target_max("unnamed create / floor", "ratio", "unnamed", p, 1.3, "<= 1.3");
                target_max("open / floor", "ratio", "open", p, 1.2, "<= 1.2");
                snprintf(w, sizeof(w), "Python create / lmm unnamed create (%s)",
                         placement_name[p]);
                target_min(w, table_get(&T, "ratio", "python", p), 15, ">= 15");
                snprintf(w, sizeof(w), "pipelined lmm / bare syscalls (%s)", placement_name[p]);
                target_min(w, table_get(&T, "pipeline", "ratio", p), 0.8, ">= 0.8");
        }
        a = table_get(&T, "shutdown", "lmm_small", UNPINNED);
        b = table_get(&T, "shutdown", "python_small", UNPINNED);
        if (a > 0 && b > 0)
                target_min("shutdown per block, Python / lmm, small", b / a, 10, ">= 10");
        a = table_get(&T, "shutdown", "lmm_max", UNPINNED);
        b = table_get(&T, "shutdown", "python_max", UNPINNED);
        if (a > 0 && b > 0)
                target_min("shutdown per block, Python / lmm, most blocks", b / a, 10, ">= 10");
        shutdown_marginal(cfg, "lmm");
        shutdown_marginal(cfg, "python");
        if (cfg->n_levels >= 2) {
                char lo[48], hi[48], w[128];

                snprintf(lo, sizeof(lo), "lmm_unnamed.%zu", cfg->levels[0]);
                snprintf(hi, sizeof(hi), "lmm_unnamed.%zu", cfg->levels[cfg->n_levels - 1]);
                a = table_get(&T, "scale", lo, UNPINNED);
                b = table_get(&T, "scale", hi, UNPINNED);
                snprintf(w, sizeof(w), "create at %zu live blocks / at %zu",
                         cfg->levels[cfg->n_levels - 1], cfg->levels[0]);
                if (a > 0 && b > 0)
                        table_target(&T, w, b / a, "<= 1.2", b / a <= 1.2, NULL);
        }
        target_max("manager bytes per live block", "memory", "block_user", UNPINNED, 256, "<= 256");
        target_max("bytes per idle connection", "memory", "conn_total", UNPINNED, 16384,
                   "<= 16384");
        target_max("list int get, ns", "list", "lmm_int_get", UNPINNED, 50, "< 50");
        target_max("list int set, ns", "list", "lmm_int_set", UNPINNED, 50, "< 50");
        target_max("list 64-byte str get, ns", "list", "lmm_str64_get", UNPINNED, 150, "< 150");
        target_max("list 64-byte str set, ns", "list", "lmm_str64_set", UNPINNED, 150, "< 150");
}

/* ---------------------------------------------------------------- main */

static void configure(config *cfg, uint64_t nofile_hard) {
        /* The manager holds one fd per block and caps blocks at half its
         * RLIMIT_NOFILE: the most blocks is a little under that. */
        size_t most = (size_t) (nofile_hard / 2 / 10 * 9);
        static const size_t full_levels[] = { 100, 300, 1000, 3000, 6000 };

        if (most > 100000)
                most = 100000;
                /* Each size for --quick and for the full run, side by side. */
#define SIZE(field, q, f) cfg->field = cfg->quick ? (q) : (f)
        SIZE(n_ops, 300, 4000);
        SIZE(warmup, 30, 200);
        SIZE(batch, 30, 50);
        SIZE(py_ops, 150, 2000);
        SIZE(py_warmup, 20, 50);
        SIZE(pipe_ops, 1000, 4000);
        SIZE(pipe_rounds, 3, 7);
        SIZE(shutdown_small, 100, 100);
        SIZE(shutdown_rounds, 3, 7);
        SIZE(max_blocks, MIN(most, 1000), most);
        SIZE(scale_ops, 100, 500);
        SIZE(list_batches, 50, 1000);
        SIZE(list_batch, 1000, 1000);
        SIZE(n_conns, 64, 256);
#undef SIZE
        cfg->n_levels = 0;
        for (size_t i = 0; i < ELEMENTSOF(full_levels) && full_levels[i] < cfg->max_blocks; i++)
                if (!cfg->quick || i == 0)
                        cfg->levels[cfg->n_levels++] = full_levels[i];
        cfg->levels[cfg->n_levels++] = cfg->max_blocks;
}

static void usage(FILE *f) {
        fputs("usage: bench-lmm [--quick] [--json] [--python SCRIPT] [--data FILE] "
              "[--only SECTION]\n"
              "  --quick          fewer operations and blocks: well under a minute\n"
              "  --json           one JSON document instead of the table\n"
              "  --python SCRIPT  bench-python.py, for Python's side (else skipped)\n"
              "  --data FILE      write create latency against live blocks there (for a plot)\n"
              "  --only SECTION   create, shutdown, pipeline, list, scale or memory\n",
              f);
}

int main(int argc, char **argv) {
        static const struct option options[] = { { "quick", no_argument, NULL, 'q' },
                                                 { "json", no_argument, NULL, 'j' },
                                                 { "python", required_argument, NULL, 'p' },
                                                 { "data", required_argument, NULL, 'd' },
                                                 { "only", required_argument, NULL, 'o' },
                                                 { "help", no_argument, NULL, 'h' },
                                                 {} };
        static const table_section sections[] = {
                { "create", "create + map + touch, 4 KiB, µs, median / p99" },
                { "ratio", "ratios of medians" },
                { "shutdown", "shutdown, µs per block, median / worst of rounds" },
                { "pipeline", "many in flight, 4 KiB creates, blocks/s, median / best of rounds" },
                { "list", "shareable list, ns per operation, median / p99 of batches" },
                { "memory", "memory, bytes" },
        };
        config cfg = {};
        machine m;
        struct rlimit rl;
        int c;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 'q':
                        cfg.quick = true;
                        break;
                case 'j':
                        cfg.json = true;
                        break;
                case 'p':
                        cfg.python_script = optarg;
                        break;
                case 'd':
                        cfg.data_path = optarg;
                        break;
                case 'o':
                        cfg.only = optarg;
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return 2;
                }

        setvbuf(stdout, NULL, _IOLBF, 0);
        /* Room for a manager with the most blocks: it inherits this limit. */
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                (void) setrlimit(RLIMIT_NOFILE, &rl);
        }
        machine_read(&m);
        configure(&cfg, m.nofile_hard);
        python_init(&PY, cfg.python_script);
        snprintf(m.python, sizeof(m.python), "%s", PY.version);
        snprintf(m.python_note, sizeof(m.python_note), "%s", PY.note);
        if (PY.note[0])
                table_note(&T, "%s", PY.note);
        rows(&cfg);
        scale_rows(&cfg);

        for (int p = 0; p < _PLACEMENT_MAX; p++)
                if (wanted(&cfg, "create"))
                        bench_create(&cfg, p);
        if (wanted(&cfg, "shutdown"))
                bench_shutdown_small(&cfg);
        for (int p = 0; p < _PLACEMENT_MAX; p++)
                if (wanted(&cfg, "pipeline"))
                        bench_pipeline(&cfg, p);
        if (wanted(&cfg, "list"))
                bench_list(&cfg);
        if (wanted(&cfg, "scale") || wanted(&cfg, "shutdown"))
                bench_scale(&cfg);
        if (wanted(&cfg, "memory"))
                bench_memory(&cfg);
        targets(&cfg);
        loadavg_read(m.load_end, sizeof(m.load_end));

        if (cfg.data_path) {
                FILE *f = fopen(cfg.data_path, "we");

                if (!f)
                        bench_die("cannot write %s: %s", cfg.data_path, strerror(errno));
                scale_write(&cfg, f);
                fclose(f);
        }
        if (cfg.json)
                table_print_json(&T, &m, cfg.quick, stdout);
        else {
                table_print(&T, sections, ELEMENTSOF(sections), &m, stdout);
                if (wanted(&cfg, "scale"))
                        scale_print(&cfg, stdout);
        }
        python_done(&PY);
        return 0;
}

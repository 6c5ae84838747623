/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * proc-reader: calls that answer, and calls that stall — a read from a pipe
 * nobody writes, an open of a FIFO nobody opens for writing — which must give
 * up on time, leave the reader usable, and leave no fd or thread behind once
 * the stalled call comes back.
 */

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "proc-reader.h"

static long long now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static int count_fds(void) {
        int n = 0;

        for (int fd = 0; fd < 1024; fd++)
                n += fcntl(fd, F_GETFD) >= 0;
        return n;
}

static int count_threads(void) {
        char buf[4096], *p;
        FILE *f = fopen("/proc/self/status", "re");
        size_t n;

        cr_assert(f);
        n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = 0;
        p = strstr(buf, "\nThreads:");
        cr_assert(p);
        return atoi(p + strlen("\nThreads:"));
}

/* Wait up to 2 s for the number of threads and fds to come back to @threads and @fds: an
 * abandoned worker that returns cleans up on its own time. */
static void expect_settled(int threads, int fds) {
        for (int i = 0; i < 400 && (count_threads() != threads || count_fds() != fds); i++)
                nanosleep(&(struct timespec){ .tv_nsec = 5 * 1000 * 1000 }, NULL);
        cr_assert_eq(count_threads(), threads, "a worker is left");
        cr_assert_eq(count_fds(), fds, "an fd is left");
}

Test(proc_reader, answers) {
        proc_reader *r = NULL;
        char buf[4096], *links = NULL, want[64];
        size_t size = 0;
        int self, fd, null_fd, before = count_fds();
        ssize_t n;
        bool found = false;

        cr_assert_eq(proc_reader_new(1000, &r), 0);
        self = open("/proc/self", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        cr_assert(self >= 0 && null_fd >= 0);

        fd = proc_reader_open(r, self, "status", O_RDONLY);
        cr_assert_geq(fd, 0, "%s", strerror(-fd));
        cr_assert_eq(fcntl(fd, F_GETFD), FD_CLOEXEC);
        n = proc_reader_read(r, fd, buf, sizeof(buf) - 1);
        cr_assert_gt(n, 0);
        buf[n] = 0;
        cr_assert(strncmp(buf, "Name:", 5) == 0, "%s", buf);
        close(fd);

        cr_assert_eq(proc_reader_open(r, self, "no-such-file", O_RDONLY), -ENOENT);

        cr_assert_eq(proc_reader_read_file(r, self, "maps", &links, &size), 0);
        cr_assert_gt(size, 0);
        cr_assert_eq(strlen(links), size, "NUL-terminated");
        cr_assert(strstr(links, "[stack]"), "%s", links);
        free(links);
        links = NULL;
        cr_assert_eq(proc_reader_read_file(r, self, "no-such-file", &links, &size), -ENOENT);
        cr_assert_null(links);

        cr_assert_eq(proc_reader_readlinks(r, self, "fd", &links, &size), 0);
        snprintf(want, sizeof(want), "%d", null_fd);
        for (const char *p = links; p < links + size;) {
                const char *name = p, *target = p + strlen(p) + 1;

                p = target + strlen(target) + 1;
                found |= strcmp(name, want) == 0 && strcmp(target, "/dev/null") == 0;
        }
        cr_assert(found, "fd %d -> /dev/null not among the links", null_fd);
        free(links);

        r = proc_reader_free(r);
        cr_assert_null(r);
        close(null_fd);
        close(self);
        cr_assert_eq(count_fds(), before);
}

Test(proc_reader, gives_up_on_a_stalled_read) {
        int p[2], self, fd, threads = count_threads(), before;
        proc_reader *r = NULL;
        long long t0, ms;
        char buf[64];

        cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
        before = count_fds();
        cr_assert_eq(proc_reader_new(100, &r), 0);

        t0 = now_ms();
        cr_assert_eq(proc_reader_read(r, p[0], buf, sizeof(buf)), -ETIMEDOUT);
        ms = now_ms() - t0;
        cr_assert(ms >= 100 && ms < 2000, "gave up after %lld ms", ms);

        /* A new worker takes the next call. */
        self = open("/proc/self", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        fd = proc_reader_open(r, self, "status", O_RDONLY);
        cr_assert_geq(fd, 0);
        close(fd);
        close(self);
        r = proc_reader_free(r);
        cr_assert_eq(count_threads(), threads + 1, "the stalled worker is still there");

        /* It comes back: it drops its copy of the pipe and goes. */
        cr_assert_eq(write(p[1], "x", 1), 1);
        expect_settled(threads, before);
        close(p[0]);
        close(p[1]);
}

Test(proc_reader, gives_up_on_a_stalled_open) {
        char dir[] = "/tmp/proc-reader-XXXXXX", fifo[64];
        int dirfd, w, threads = count_threads(), before;
        proc_reader *r = NULL;

        cr_assert(mkdtemp(dir));
        snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
        cr_assert_eq(mkfifo(fifo, 0600), 0);
        dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        cr_assert_geq(dirfd, 0);
        before = count_fds();
        cr_assert_eq(proc_reader_new(100, &r), 0);

        /* Opening a FIFO for reading waits for a writer. */
        cr_assert_eq(proc_reader_open(r, dirfd, "fifo", O_RDONLY), -ETIMEDOUT);
        r = proc_reader_free(r);

        /* A writer comes: the worker's open returns, and it closes what nobody wants now. */
        w = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        cr_assert_geq(w, 0);
        expect_settled(threads, before + 1);
        close(w);
        close(dirfd);
        unlink(fifo);
        rmdir(dir);
}

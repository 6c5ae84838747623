/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-block-pass — a block sent to a process that is already running,
 * over stream, seqpacket and datagram sockets: it arrives with its name,
 * size and mode, and the receiver maps the sender's memory. A peer that
 * sends anything else (a pipe, a tmpfs file, an unsealed memfd, a size that
 * is not the block's, a writable fd said to be read-only, two fds, no fd,
 * a bad header) is refused with the errno lmm.h documents, and every fd it
 * sent is closed.
 */

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "block-pass.h"
#include "harness.h"
#include "lmm.h"
#include "missing.h"
#include "util.h"

TestSuite(block_pass, .timeout = 60);

/* A block as the manager makes them, without a manager: sealed, named, mapped here. */
static lmm_segment *block_new(const char *name, const char *text) {
        lmm_segment *s = NULL;
        char *p;
        int fd = -1;

        cr_assert_eq(memfd_new_sealed(name, 4096, false, &fd), 0);
        cr_assert_eq(lmm_segment_from_fd(fd, name, &s), 0);
        cr_assert_eq(lmm_segment_map(s, 0, (void **) &p), 0);
        strcpy(p, text);
        return s;
}

static void pair(int type, int sv[2]) {
        cr_assert_eq(socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv), 0);
}

static const int types[] = { SOCK_STREAM, SOCK_SEQPACKET, SOCK_DGRAM };

static const char *type_name(int type) {
        return type == SOCK_STREAM ? "stream" : type == SOCK_SEQPACKET ? "seqpacket" : "dgram";
}

Test(block_pass, a_block_arrives_with_its_name_and_memory) {
        for (size_t t = 0; t < ELEMENTSOF(types); t++) {
                lmm_segment *s = block_new("frames", "hello"), *r = NULL;
                int sv[2], fl;
                char *p;

                pair(types[t], sv);
                cr_assert_eq(lmm_block_send(sv[0], s, 0), 0, "%s", type_name(types[t]));
                cr_assert_eq(lmm_block_recv(sv[1], 0, &r), 0, "%s", type_name(types[t]));
                cr_assert_str_eq(lmm_segment_get_name(r), "frames");
                cr_assert_eq(lmm_segment_get_size(r), 4096);
                fl = fcntl(lmm_segment_get_fd(r), F_GETFD);
                cr_assert(fl & FD_CLOEXEC, "received close-on-exec");
                cr_assert_eq(lmm_segment_map(r, 0, (void **) &p), 0, "read-write");
                cr_assert_str_eq(p, "hello");
                strcpy(p, "world");
                cr_assert_str_eq(lmm_segment_get_data(s), "world", "the same memory");
                lmm_segment_unref(r);
                lmm_segment_unref(s);
                close(sv[0]);
                close(sv[1]);
        }
}

Test(block_pass, read_only_arrives_read_only) {
        for (size_t t = 0; t < ELEMENTSOF(types); t++) {
                lmm_segment *s = block_new("config", "v1"), *r = NULL;
                int sv[2];
                char *p;

                pair(types[t], sv);
                cr_assert_eq(lmm_block_send(sv[0], s, LMM_SEND_READ_ONLY), 0);
                cr_assert_eq(lmm_block_recv(sv[1], 0, &r), 0, "%s", type_name(types[t]));
                cr_assert_eq(fcntl(lmm_segment_get_fd(r), F_GETFL) & O_ACCMODE, O_RDONLY);
                cr_assert_eq(lmm_segment_map(r, 0, (void **) &p), 1, "mapped read-only");
                cr_assert_str_eq(p, "v1");
                cr_assert_eq(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED,
                                  lmm_segment_get_fd(r), 0),
                             MAP_FAILED);
                cr_assert_eq(fcntl(lmm_segment_get_fd(s), F_GETFL) & O_ACCMODE, O_RDWR,
                             "the sender's own fd is left as it was");
                lmm_segment_unref(r);

                /* A read-only fd is announced read-only, asked or not. */
                cr_assert_eq(lmm_block_send(sv[0], s, LMM_SEND_READ_ONLY), 0);
                cr_assert_eq(lmm_block_recv(sv[1], 0, &r), 0);
                cr_assert_eq(lmm_block_send(sv[1], r, 0), 0);
                lmm_segment_unref(r);
                cr_assert_eq(lmm_block_recv(sv[0], 0, &r), 0);
                cr_assert_eq(fcntl(lmm_segment_get_fd(r), F_GETFL) & O_ACCMODE, O_RDONLY);
                lmm_segment_unref(r);
                lmm_segment_unref(s);
                close(sv[0]);
                close(sv[1]);
        }
}

/* A running process receives it: a child that waits on the socket, checks
 * what came and writes into it; exit 0 when everything was as sent. */
Test(block_pass, a_running_peer_receives_name_and_mode) {
        for (size_t t = 0; t < 2; t++) { /* stream, seqpacket */
                lmm_segment *rw = block_new("frames", "from-parent"), *ro = block_new("lut", "t");
                int sv[2], status;
                pid_t child;

                pair(types[t], sv);
                child = fork();
                cr_assert_geq(child, 0);
                if (child == 0) {
                        lmm_segment *a = NULL, *b = NULL;
                        char *p;

                        close(sv[0]);
                        if (lmm_block_recv(sv[1], 0, &a) < 0 || lmm_block_recv(sv[1], 0, &b) < 0)
                                _exit(1);
                        if (strcmp(lmm_segment_get_name(a), "frames") != 0 ||
                            strcmp(lmm_segment_get_name(b), "lut") != 0)
                                _exit(2);
                        if (lmm_segment_map(b, 0, (void **) &p) != 1 || strcmp(p, "t") != 0)
                                _exit(3);
                        if (lmm_segment_map(a, 0, (void **) &p) != 0 ||
                            strcmp(p, "from-parent") != 0)
                                _exit(4);
                        strcpy(p, "from-child");
                        _exit(0);
                }
                close(sv[1]);
                usleep(20000); /* the child is waiting in recvmsg() by now, most likely */
                cr_assert_eq(lmm_block_send(sv[0], rw, 0), 0);
                cr_assert_eq(lmm_block_send(sv[0], ro, LMM_SEND_READ_ONLY), 0);
                cr_assert_eq(waitpid(child, &status, 0), child);
                cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: child said %d",
                          type_name(types[t]), WEXITSTATUS(status));
                cr_assert_str_eq(lmm_segment_get_data(rw), "from-child");
                close(sv[0]);
                lmm_segment_unref(rw);
                lmm_segment_unref(ro);
        }
}

/* Send @len bytes of @buf with @n fds, the way a foreign peer would. */
static void send_raw(int sock, const void *buf, size_t len, const int *fds, size_t n) {
        union {
                struct cmsghdr h;
                uint8_t buf[CMSG_SPACE(sizeof(int) * 8)];
        } control = {};
        struct iovec iov = { .iov_base = (void *) buf, .iov_len = len };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

        if (n > 0) {
                struct cmsghdr *c;

                mh.msg_control = control.buf;
                mh.msg_controllen = CMSG_SPACE(sizeof(int) * n);
                c = CMSG_FIRSTHDR(&mh);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int) * n);
                memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
        }
        cr_assert_eq(sendmsg(sock, &mh, MSG_NOSIGNAL), (ssize_t) len, "sendmsg: %s",
                     strerror(errno));
}

/* The header and name of a block called @name of @size bytes. */
static size_t header(uint8_t *buf, const char *name, uint64_t size, uint32_t flags) {
        block_msg m = { .flags = flags, .size = size, .name_len = strlen(name) };

        memcpy(m.name, name, m.name_len);
        return (size_t) block_msg_encode(&m, buf);
}

/* Over a stream, in pieces: the fd with the first three bytes, the rest byte by byte. */
Test(block_pass, stream_reads_a_message_that_comes_in_pieces) {
        lmm_segment *s = block_new("pieces", "p"), *r = NULL;
        uint8_t buf[BLOCK_MSG_MAX];
        size_t len = header(buf, "pieces", 4096, 0);
        int sv[2], fd = lmm_segment_get_fd(s);
        pid_t child;

        pair(SOCK_STREAM, sv);
        child = fork();
        cr_assert_geq(child, 0);
        if (child == 0) {
                send_raw(sv[0], buf, 3, &fd, 1);
                for (size_t i = 3; i < len; i++) {
                        usleep(1000);
                        if (send(sv[0], buf + i, 1, MSG_NOSIGNAL) != 1)
                                _exit(1);
                }
                /* Then a second message, right behind: it must not be eaten. */
                send_raw(sv[0], buf, len, &fd, 1);
                _exit(0);
        }
        cr_assert_eq(lmm_block_recv(sv[1], 0, &r), 0);
        cr_assert_str_eq(lmm_segment_get_name(r), "pieces");
        lmm_segment_unref(r);
        cr_assert_eq(lmm_block_recv(sv[1], 0, &r), 0);
        cr_assert_str_eq(lmm_segment_get_name(r), "pieces");
        lmm_segment_unref(r);
        cr_assert_eq(harness_wait_exit(child, 5000), 0);
        /* A non-blocking stream waits for the rest of a message it has begun. */
        cr_assert_eq(fcntl(sv[1], F_SETFL, O_NONBLOCK), 0);
        cr_assert_eq(lmm_block_recv(sv[1], 0, &r), -EAGAIN, "nothing there yet");
        close(sv[0]);
        cr_assert_eq(lmm_block_recv(sv[1], 0, &r), -ECONNRESET);
        close(sv[1]);
        lmm_segment_unref(s);
}

static int count_fds(void) {
        return harness_count_fds(0);
}

/* Send what a peer sent, receive it, and check that nothing it sent stayed open here. */
static void assert_refused(int type, const uint8_t *buf, size_t len, const int *fds, size_t n,
                           int expected, const char *what) {
        lmm_segment *r = NULL;
        int sv[2], before, got;

        pair(type, sv);
        before = count_fds();
        send_raw(sv[0], buf, len, fds, n);
        got = lmm_block_recv(sv[1], 0, &r);
        cr_assert_eq(got, expected, "%s over %s: got %s", what, type_name(type), strerror(-got));
        cr_assert_null(r);
        cr_assert_eq(count_fds(), before, "%s over %s: an fd stayed open", what, type_name(type));
        close(sv[0]);
        close(sv[1]);
}

Test(block_pass, what_is_not_a_sealed_memfd_of_the_announced_size_is_refused) {
        char shm[] = "/dev/shm/lmm-pass-XXXXXX";
        uint8_t buf[BLOCK_MSG_MAX];
        int p[2], tmpfs, unsealed, ok, ro;

        cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
        tmpfs = mkostemp(shm, O_CLOEXEC);
        cr_assert_geq(tmpfs, 0);
        cr_assert_eq(ftruncate(tmpfs, 4096), 0);
        unlink(shm);
        unsealed = memfd_create("unsealed", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        cr_assert_geq(unsealed, 0);
        cr_assert_eq(ftruncate(unsealed, 4096), 0);
        cr_assert_eq(memfd_new_sealed("ok", 4096, false, &ok), 0);
        cr_assert_eq(fd_reopen(ok, O_RDONLY, &ro), 0);

        for (size_t t = 0; t < ELEMENTSOF(types); t++) {
                int type = types[t], two[2] = { ok, ro };
                size_t len = header(buf, "x", 4096, 0);

                assert_refused(type, buf, len, &p[0], 1, -EMEDIUMTYPE, "a pipe");
                assert_refused(type, buf, len, &tmpfs, 1, -EMEDIUMTYPE, "a tmpfs file");
                assert_refused(type, buf, len, &unsealed, 1, -EPERM, "an unsealed memfd");
                assert_refused(type, buf, header(buf, "x", 8192, 0), &ok, 1, -EIO,
                               "a size that is not the block's");
                assert_refused(type, buf, header(buf, "x", 4096, BLOCK_MSG_READ_ONLY), &ok, 1,
                               -EROFS, "a read-write fd said to be read-only");
                assert_refused(type, buf, header(buf, "x", 4096, 0), two, 2, -ETOOMANYREFS,
                               "two fds");
                assert_refused(type, buf, header(buf, "x", 4096, 0), NULL, 0, -ENODATA, "no fd");
                len = header(buf, "x", 4096, 0);
                buf[0] = 'X';
                assert_refused(type, buf, len, &ok, 1, -EBADMSG, "a bad magic");
                buf[0] = 'L';
                buf[4] = 2;
                assert_refused(type, buf, len, &ok, 1, -EPROTONOSUPPORT, "version 2");
                buf[4] = 1;
                buf[24] = '/';
                assert_refused(type, buf, len, &ok, 1, -EBADMSG, "a bad name");
        }
        /* The sender's fds are the only copies left: nothing was kept. */
        close(p[0]);
        close(p[1]);
        close(tmpfs);
        close(unsealed);
        close(ok);
        close(ro);
}

/* A datagram longer than any message is refused, not read in part. */
Test(block_pass, an_overlong_record_is_refused) {
        uint8_t buf[BLOCK_MSG_MAX + 64] = {};
        int ok;

        cr_assert_eq(memfd_new_sealed("ok", 4096, false, &ok), 0);
        header(buf, "x", 4096, 0);
        assert_refused(SOCK_SEQPACKET, buf, sizeof(buf), &ok, 1, -EBADMSG, "a long record");
        assert_refused(SOCK_DGRAM, buf, sizeof(buf), &ok, 1, -EBADMSG, "a long datagram");
        close(ok);
}

/* Fds lost on the way (a full fd table here: MSG_CTRUNC) are an error, not a block. */
Test(block_pass, fds_lost_on_the_way_are_an_error) {
        lmm_segment *s = block_new("lost", "x"), *r = NULL;
        struct rlimit saved, tight;
        int sv[2], lowest;

        pair(SOCK_SEQPACKET, sv);
        cr_assert_eq(lmm_block_send(sv[0], s, 0), 0);
        cr_assert_eq(getrlimit(RLIMIT_NOFILE, &saved), 0);
        /* The lowest free fd is the limit: no room for the fd that comes. */
        lowest = fcntl(sv[0], F_DUPFD_CLOEXEC, 0);
        cr_assert_geq(lowest, 0);
        close(lowest);
        tight = (struct rlimit){ .rlim_cur = (rlim_t) lowest, .rlim_max = saved.rlim_max };
        cr_assert_eq(setrlimit(RLIMIT_NOFILE, &tight), 0);
        cr_assert_eq(lmm_block_recv(sv[1], 0, &r), -ENOBUFS);
        cr_assert_eq(setrlimit(RLIMIT_NOFILE, &saved), 0);
        cr_assert_null(r);
        close(sv[0]);
        close(sv[1]);
        lmm_segment_unref(s);
}

/* A receiver that asked for the sender's pidfd with every message gets the
 * block, and no pidfd left open. */
Test(block_pass, a_pidfd_that_comes_along_is_closed) {
        lmm_segment *s = block_new("pidfd", "x"), *r = NULL;
        int sv[2], on = 1, before;

        pair(SOCK_SEQPACKET, sv);
        if (setsockopt(sv[1], SOL_SOCKET, SO_PASSPIDFD, &on, sizeof(on)) < 0)
                cr_skip_test("SO_PASSPIDFD: %s (Linux 6.5)", strerror(errno));
        before = count_fds();
        cr_assert_eq(lmm_block_send(sv[0], s, 0), 0);
        cr_assert_eq(lmm_block_recv(sv[1], 0, &r), 0);
        cr_assert_eq(count_fds(), before + 1, "only the block's fd came to stay");
        lmm_segment_unref(r);
        close(sv[0]);
        close(sv[1]);
        lmm_segment_unref(s);
}

Test(block_pass, bad_arguments) {
        lmm_segment *s = block_new("args", "x"), *r = NULL;
        int sv[2];

        pair(SOCK_SEQPACKET, sv);
        cr_assert_eq(lmm_block_send(-1, s, 0), -EBADF);
        cr_assert_eq(lmm_block_send(sv[0], NULL, 0), -EINVAL);
        cr_assert_eq(lmm_block_send(sv[0], s, 0x10), -EINVAL);
        cr_assert_eq(lmm_block_recv(-1, 0, &r), -EBADF);
        cr_assert_eq(lmm_block_recv(sv[1], 1, &r), -EINVAL);
        cr_assert_eq(lmm_block_recv(sv[1], 0, NULL), -EINVAL);
        close(sv[1]);
        cr_assert_eq(lmm_block_send(sv[0], s, 0), -EPIPE, "nobody receives");
        close(sv[0]);
        lmm_segment_unref(s);
}

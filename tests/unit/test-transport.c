/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-transport — one message and its fds over a SOCK_SEQPACKET socketpair:
 * fds arrive close-on-exec; too many fds, foreign control data, truncated
 * messages are refused with every fd that arrived closed (counted in
 * /proc/self/fd); end of stream is 0; a dead peer is -EPIPE, not SIGPIPE.
 */

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "transport.h"
#include "util.h"
#include "wire.h"

static void pair(int sv[2]) {
        cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0, "%m");
}

/* Send @len bytes with @n fds, past transport_send()'s cap. */
static void send_raw(int sock, const void *buf, size_t len, const int *fds, size_t n) {
        cr_assert_eq(transport_send_raw(sock, buf, len, fds, n, false), 0);
}

/* The next message on @sock is refused as bad control data (-EBADMSG), and every fd that came
 * with it is closed again: no more fds are open than before. */
static void expect_refused(int sock, size_t max_fds, const char *what) {
        int fds[8], before = harness_count_fds(0);
        uint8_t out[64];
        size_t n_fds;

        cr_assert_leq(max_fds, ELEMENTSOF(fds));
        cr_assert_eq(transport_recv(sock, out, sizeof(out), fds, max_fds, &n_fds, false), -EBADMSG,
                     "%s", what);
        cr_assert_eq(harness_count_fds(0), before, "%s: an fd leaked", what);
}

/* Whether @fd (ours) and @other refer to the same open file. */
static bool same_file(int fd, int other) {
        struct stat a, b;
        return fstat(fd, &a) == 0 && fstat(other, &b) == 0 && a.st_dev == b.st_dev &&
               a.st_ino == b.st_ino;
}

Test(transport, message_without_fds) {
        int sv[2], fds[WIRE_FDS_MAX];
        uint8_t out[64];
        size_t n_fds = 99;

        pair(sv);
        cr_assert_eq(transport_send(sv[0], "hello", 5, NULL, 0, false), 0);
        cr_assert_eq(transport_recv(sv[1], out, sizeof(out), fds, WIRE_FDS_MAX, &n_fds, false), 5);
        cr_assert_eq(n_fds, 0);
        cr_assert_arr_eq(out, "hello", 5);
        /* records keep their boundaries */
        cr_assert_eq(transport_send(sv[0], "ab", 2, NULL, 0, false), 0);
        cr_assert_eq(transport_send(sv[0], "cde", 3, NULL, 0, false), 0);
        cr_assert_eq(transport_recv(sv[1], out, sizeof(out), fds, WIRE_FDS_MAX, &n_fds, false), 2);
        cr_assert_eq(transport_recv(sv[1], out, sizeof(out), fds, WIRE_FDS_MAX, &n_fds, false), 3);
        /* nothing pending */
        cr_assert_eq(transport_recv(sv[1], out, sizeof(out), fds, WIRE_FDS_MAX, &n_fds, true),
                     -EAGAIN);
        close(sv[0]);
        close(sv[1]);
}

Test(transport, one_fd_arrives_cloexec) {
        int sv[2], fds[WIRE_FDS_MAX] = { -1 }, memfd, before;
        uint8_t out[64];
        size_t n_fds = 0;

        pair(sv);
        cr_assert_eq(memfd_new_sealed("transport-test", 4096, false, &memfd), 0);
        /* the sender's copy is not close-on-exec: the flag must come from the receiver */
        cr_assert_eq(fcntl(memfd, F_SETFD, 0), 0);
        before = harness_count_fds(0);

        cr_assert_eq(transport_send(sv[0], "fd", 2, &memfd, 1, false), 0);
        cr_assert_eq(transport_recv(sv[1], out, sizeof(out), fds, WIRE_FDS_MAX, &n_fds, false), 2);
        cr_assert_eq(n_fds, 1);
        cr_assert_geq(fds[0], 0);
        cr_assert_neq(fds[0], memfd);
        cr_assert(same_file(fds[0], memfd));
        cr_assert(fcntl(fds[0], F_GETFD) & FD_CLOEXEC, "a received fd must be close-on-exec");
        cr_assert_eq(harness_count_fds(0), before + 1);
        /* the sender's fd was borrowed, not consumed */
        cr_assert_geq(fcntl(memfd, F_GETFD), 0);

        close(fds[0]);
        close(memfd);
        close(sv[0]);
        close(sv[1]);
}

Test(transport, send_refuses_too_many_fds) {
        int sv[2], two[2];

        pair(sv);
        two[0] = sv[0];
        two[1] = sv[1];
        cr_assert_eq(transport_send(sv[0], "x", 1, two, WIRE_FDS_MAX + 1, false), -EINVAL);
        close(sv[0]);
        close(sv[1]);
}

/* A peer that sends 2, 3 or 8 fds where at most one is allowed: -EBADMSG and
 * every fd that arrived is closed again. */
Test(transport, too_many_fds_refused_none_leaked) {
        for (size_t k = 2; k <= 8; k++) {
                int sv[2], send[8], fds[WIRE_FDS_MAX] = { -1 }, before;
                uint8_t out[64];
                size_t n_fds = 77;

                pair(sv);
                for (size_t i = 0; i < k; i++)
                        cr_assert_eq(memfd_new_sealed("too-many", 4096, false, &send[i]), 0);
                send_raw(sv[0], "many", 4, send, k);
                close_many(send, k);

                before = harness_count_fds(0);
                cr_assert_eq(
                        transport_recv(sv[1], out, sizeof(out), fds, WIRE_FDS_MAX, &n_fds, false),
                        -EBADMSG, "%zu fds", k);
                cr_assert_eq(harness_count_fds(0), before, "%zu fds: a received fd leaked", k);
                cr_assert_eq(n_fds, 77, "ret_n_fds written on failure");
                close(sv[0]);
                close(sv[1]);
        }
}

/* A caller that asks for more fds than any message may carry still gets
 * at most WIRE_FDS_MAX. */
Test(transport, max_fds_is_capped) {
        int sv[2], send[2];

        pair(sv);
        cr_assert_eq(memfd_new_sealed("cap-a", 4096, false, &send[0]), 0);
        cr_assert_eq(memfd_new_sealed("cap-b", 4096, false, &send[1]), 0);
        send_raw(sv[0], "two", 3, send, 2);
        close_many(send, 2);
        expect_refused(sv[1], 8, "two fds, room for eight");
        close(sv[0]);
        close(sv[1]);
}

/* max_fds 0: a message that must carry no fd but carries one. */
Test(transport, fd_where_none_allowed) {
        int sv[2], memfd;

        pair(sv);
        cr_assert_eq(memfd_new_sealed("none-allowed", 4096, false, &memfd), 0);
        cr_assert_eq(transport_send(sv[0], "x", 1, &memfd, 1, false), 0);
        close(memfd);
        expect_refused(sv[1], 0, "an fd where none is allowed");
        close(sv[0]);
        close(sv[1]);
}

/* With SO_PASSCRED on, every message also carries SCM_CREDENTIALS, which
 * the receive helper never asked for: refused, the fd that came with it
 * closed, the socket still usable for the caller to drop. */
Test(transport, foreign_control_message) {
        int sv[2], one = 1, memfd;

        pair(sv);
        cr_assert_eq(setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)), 0);
        cr_assert_eq(memfd_new_sealed("creds", 4096, false, &memfd), 0);

        cr_assert_eq(transport_send(sv[0], "c", 1, NULL, 0, false), 0);
        expect_refused(sv[1], WIRE_FDS_MAX, "credentials");

        cr_assert_eq(transport_send(sv[0], "c", 1, &memfd, 1, false), 0);
        expect_refused(sv[1], WIRE_FDS_MAX, "credentials and an fd");

        close(memfd);
        close(sv[0]);
        close(sv[1]);
}

Test(transport, message_larger_than_buffer) {
        int sv[2], memfd, fds[WIRE_FDS_MAX], before;
        uint8_t big[256] = { 1 }, out[64];
        size_t n_fds;

        pair(sv);
        cr_assert_eq(memfd_new_sealed("big", 4096, false, &memfd), 0);
        before = harness_count_fds(0);
        cr_assert_eq(transport_send(sv[0], big, sizeof(big), &memfd, 1, false), 0);
        cr_assert_eq(transport_recv(sv[1], out, sizeof(out), fds, WIRE_FDS_MAX, &n_fds, false),
                     -EMSGSIZE);
        cr_assert_eq(harness_count_fds(0), before, "the fd of a truncated message leaked");

        /* without fds too; and the rest of the record is gone, not read as the next one */
        cr_assert_eq(transport_send(sv[0], big, sizeof(big), NULL, 0, false), 0);
        cr_assert_eq(transport_send(sv[0], "next", 4, NULL, 0, false), 0);
        cr_assert_eq(transport_recv(sv[1], out, sizeof(out), fds, WIRE_FDS_MAX, &n_fds, false),
                     -EMSGSIZE);
        cr_assert_eq(transport_recv(sv[1], out, sizeof(out), fds, WIRE_FDS_MAX, &n_fds, false), 4);
        cr_assert_arr_eq(out, "next", 4);

        /* exactly the buffer's size is not truncated */
        cr_assert_eq(transport_send(sv[0], big, sizeof(out), NULL, 0, false), 0);
        cr_assert_eq(transport_recv(sv[1], out, sizeof(out), fds, WIRE_FDS_MAX, &n_fds, false),
                     (ssize_t) sizeof(out));

        close(memfd);
        close(sv[0]);
        close(sv[1]);
}

Test(transport, largest_message) {
        static uint8_t msg[WIRE_MESSAGE_MAX], out[WIRE_MESSAGE_MAX];
        int sv[2], fds[WIRE_FDS_MAX];
        size_t n_fds;

        pair(sv);
        for (size_t i = 0; i < sizeof(msg); i++)
                msg[i] = (uint8_t) i;
        cr_assert_eq(transport_send(sv[0], msg, sizeof(msg), NULL, 0, false), 0);
        cr_assert_eq(transport_recv(sv[1], out, sizeof(out), fds, WIRE_FDS_MAX, &n_fds, false),
                     (ssize_t) sizeof(out));
        cr_assert_arr_eq(out, msg, sizeof(msg));
        close(sv[0]);
        close(sv[1]);
}

Test(transport, peer_closed_is_end_of_stream) {
        int sv[2], fds[WIRE_FDS_MAX];
        uint8_t out[64];
        size_t n_fds = 5;

        pair(sv);
        cr_assert_eq(transport_send(sv[0], "last", 4, NULL, 0, false), 0);
        close(sv[0]);
        /* what was sent before the close is still delivered */
        cr_assert_eq(transport_recv(sv[1], out, sizeof(out), fds, WIRE_FDS_MAX, &n_fds, false), 4);
        cr_assert_eq(transport_recv(sv[1], out, sizeof(out), fds, WIRE_FDS_MAX, &n_fds, false), 0);
        cr_assert_eq(n_fds, 0);
        cr_assert_eq(transport_recv(sv[1], out, sizeof(out), fds, WIRE_FDS_MAX, &n_fds, true), 0);
        close(sv[1]);
}

/* An empty record that carries an fd is a protocol error, not end of stream. */
Test(transport, empty_record_with_fd) {
        int sv[2], memfd;

        pair(sv);
        cr_assert_eq(memfd_new_sealed("empty", 4096, false, &memfd), 0);
        send_raw(sv[0], "", 0, &memfd, 1);
        expect_refused(sv[1], WIRE_FDS_MAX, "an empty record with an fd");
        close(memfd);
        close(sv[0]);
        close(sv[1]);
}

/* SIGPIPE keeps its default action (terminate): the test dies if
 * transport_send() lets the kernel raise it. */
Test(transport, send_to_closed_peer_is_epipe) {
        int sv[2], memfd;

        cr_assert_eq(signal(SIGPIPE, SIG_DFL), SIG_DFL);
        pair(sv);
        close(sv[1]);
        cr_assert_eq(transport_send(sv[0], "x", 1, NULL, 0, false), -EPIPE);
        cr_assert_eq(transport_send(sv[0], "x", 1, NULL, 0, true), -EPIPE);
        cr_assert_eq(memfd_new_sealed("epipe", 4096, false, &memfd), 0);
        cr_assert_eq(transport_send(sv[0], "x", 1, &memfd, 1, false), -EPIPE);
        close(memfd);
        close(sv[0]);
}

Test(transport, nonblocking_send_to_full_peer_is_eagain) {
        static uint8_t msg[WIRE_MESSAGE_MAX];
        int sv[2], r = 0;

        pair(sv);
        for (int i = 0; i < 100000 && r == 0; i++)
                r = transport_send(sv[0], msg, sizeof(msg), NULL, 0, true);
        cr_assert_eq(r, -EAGAIN);
        close(sv[0]);
        close(sv[1]);
}

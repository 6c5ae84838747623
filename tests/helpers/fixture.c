/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fixture — see fixture.h.
 */

#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fixture.h"
#include "manager-internal.h"
#include "transport.h"
#include "util.h"

harness_lmmd fixture_lmmd;

/* ------------------------------------------------------------ a real lmmd */

void fixture_lmmd_start_with(const char *const *args) {
        cr_assert_eq(harness_lmmd_start(&fixture_lmmd, args), 0, "cannot start lmmd");
}

void fixture_lmmd_start(void) {
        fixture_lmmd_start_with(NULL);
}

void fixture_lmmd_stop(void) {
        if (fixture_lmmd.pid > 0)
                harness_lmmd_stop(&fixture_lmmd);
}

int fixture_lmmd_wait_exit(int timeout_ms) {
        int r = harness_wait_exit(fixture_lmmd.pid, timeout_ms);

        /* Still running: fixture_lmmd_stop() ends it. */
        if (r != -2) {
                fixture_lmmd.pid = 0;
                rmdir(fixture_lmmd.dir);
        }
        return r;
}

lmm_client *fixture_client(void) {
        lmm_client *c = NULL;

        cr_assert_eq(lmm_client_connect(fixture_lmmd.sock, &c), 0);
        return c;
}

lmm_segment *fixture_create(lmm_client *c, const char *name, uint64_t size) {
        lmm_segment *s = NULL;
        int r = lmm_segment_create(c, &(lmm_segment_opts){ .size = size, .name = name }, &s);

        cr_assert_eq(r, 0, "create %s: %s (%s)", name, strerror(-r),
                     lmm_client_last_error(c) ?: "");
        return s;
}

/* ------------------------------------------------------- the raw protocol */

int fixture_raw_connect(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

        cr_assert_geq(fd, 0, "socket: %s", strerror(errno));
        cr_assert_lt(strlen(path), sizeof(sa.sun_path), "%s: too long for a socket address", path);
        strcpy(sa.sun_path, path);
        cr_assert_eq(connect(fd, (struct sockaddr *) &sa, sizeof(sa)), 0, "connect %s: %s", path,
                     strerror(errno));
        return fd;
}

void fixture_raw_send(int sock, const wire_msg *m, int fd) {
        static uint8_t buf[WIRE_MESSAGE_MAX];
        size_t len;

        cr_assert_eq(wire_encode(m, buf, sizeof(buf), &len), 0, "cannot encode %s",
                     wire_type_name(m->type));
        cr_assert_eq(transport_send(sock, buf, len, fd >= 0 ? &fd : NULL, fd >= 0, false), 0);
}

int fixture_raw_recv(int sock, wire_msg *ret, int *ret_fd) {
        static uint8_t buf[WIRE_MESSAGE_MAX];
        int fds[WIRE_FDS_MAX];
        size_t n_fds = 0;
        ssize_t n;

        if (ret_fd)
                *ret_fd = -EBADF;
        n = transport_recv(sock, buf, sizeof(buf), fds, ELEMENTSOF(fds), &n_fds, false);
        if (n <= 0)
                return n == 0 ? -ECONNRESET : (int) n;
        if (ret_fd && n_fds > 0)
                *ret_fd = fds[0];
        else
                close_many(fds, n_fds);
        return wire_decode(buf, (size_t) n, ret);
}

/* ---------------------------------------------------- a manager in-process */

lmm_manager *fixture_manager_new(const lmm_manager_opts *o) {
        lmm_manager *m = NULL;
        int r = lmm_manager_new(o, &m);

        cr_assert_eq(r, 0, "cannot make a manager: %s", strerror(-r));
        return m;
}

int fixture_manager_connect(lmm_manager *m, const peer_creds *creds) {
        int sv[2], r;

        /* Non-blocking at both ends: the manager's end as the manager wants
         * it, the test's so that a missing reply fails instead of hanging. */
        cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv), 0);
        if (creds)
                r = peer_add(m, sv[0], creds, false);
        else
                r = lmm_manager_add_connection(m, sv[0], false);
        cr_assert_eq(r, 0, "the manager cannot serve the connection: %s", strerror(-r));
        /* A refused peer's socket is closed on the closer: wait for it. */
        for (int i = 0; i < 2000 && closer_pending(m->closer) > 0; i++)
                usleep(1000);
        return sv[1];
}

void fixture_manager_pump(lmm_manager *m) {
        /* The manager's epoll fd is readable while it has work, and its
         * closer busy while what the manager let go (a peer's socket among
         * it) is not closed yet: done is when both are idle, so that a test
         * sees a dropped connection closed. A peer that does not read its
         * replies is not read either, so this ends. */
        for (int i = 0; i < 10000; i++) {
                struct pollfd p = { .fd = lmm_manager_get_fd(m), .events = POLLIN };
                bool closing = closer_pending(m->closer) > 0;

                if (poll(&p, 1, closing ? 1 : 0) <= 0) {
                        if (!closing)
                                return;
                        continue;
                }
                cr_assert_geq(lmm_manager_dispatch(m, 0), 0);
        }
        cr_assert_fail("the manager is never done");
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-protocol — the protocol as docs/protocol.md states it, against an
 * embedded manager core over a socketpair, with raw messages: pipelined
 * requests answered in order with their serials, the errno each request
 * returns, LIST paging, and what ends a connection (malformed message,
 * wrong fds, foreign version) with the manager itself unharmed.
 */

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"
#include "harness.h"
#include "lmm.h"
#include "transport.h"
#include "util.h"
#include "wire.h"
#include "wire-eq.h"

static lmm_manager *mgr;
static int peer = -1;
/* fds the manager holds for one connection: the socket, and a pidfd where
 * the kernel has SO_PEERPIDFD */
static int conn_fds;

static void setup(void) {
        int before;

        mgr = fixture_manager_new(NULL);
        before = harness_count_fds(0);
        peer = fixture_manager_connect(mgr, NULL);
        conn_fds = harness_count_fds(0) - before - 1;
}

static void teardown(void) {
        safe_close(peer);
        mgr = lmm_manager_free(mgr);
}

static void send_raw(const raw_msg *r, int fd) {
        cr_assert_eq(transport_send(peer, r->b, r->n, fd >= 0 ? &fd : NULL, fd >= 0, false), 0);
}

/* The next reply; *ret_fd gets its fd or -EBADF. Return: wire_decode()'s result, -EAGAIN: none. */
static int recv_msg(wire_msg *ret, int *ret_fd) {
        fixture_manager_pump(mgr);
        return fixture_raw_recv(peer, ret, ret_fd);
}

static void expect_error(uint32_t serial, int error) {
        wire_msg r;
        int fd;

        cr_assert_eq(recv_msg(&r, &fd), 0);
        cr_assert_eq(fd, -EBADF);
        cr_assert_eq(r.type, WIRE_ERROR, "type 0x%04x, not ERROR %d", r.type, error);
        cr_assert_eq(r.serial, serial);
        cr_assert_eq(r.error, error, "error %d (%s), want %d", r.error, r.text, error);
}

static void expect_closed(void) {
        wire_msg r;
        int fd;

        cr_assert_eq(recv_msg(&r, &fd), -ECONNRESET, "the manager kept the connection");
}

static wire_msg named(uint16_t type, uint32_t serial, const char *name) {
        wire_msg m = { .type = type, .serial = serial };
        strcpy(m.name, name);
        return m;
}

static wire_msg create(uint32_t serial, const char *name, uint64_t size, uint32_t flags) {
        wire_msg m = named(WIRE_CREATE, serial, name);
        m.size = size;
        m.flags = flags;
        return m;
}

TestSuite(protocol, .init = setup, .fini = teardown);

Test(protocol, pipelined_requests_answered_in_order) {
        wire_msg q, r;
        int fd;

        q = create(10, "a", 4096, 0);
        fixture_raw_send(peer, &q, -1);
        q = named(WIRE_STAT, 11, "a");
        fixture_raw_send(peer, &q, -1);
        q = named(WIRE_OPEN, 12, "missing");
        fixture_raw_send(peer, &q, -1);
        q = (wire_msg){ .type = WIRE_LIST, .serial = 13 };
        fixture_raw_send(peer, &q, -1);
        q = named(WIRE_RELEASE, 14, "a");
        fixture_raw_send(peer, &q, -1);

        cr_assert_eq(recv_msg(&r, &fd), 0);
        cr_assert_eq(r.type, WIRE_REPLY | WIRE_CREATE);
        cr_assert_eq(r.serial, 10);
        cr_assert_geq(fd, 0, "CREATE's reply carries the block's fd");
        cr_assert_eq(fd_is_memfd(fd), 1);
        cr_assert_eq(fd_get_seals(fd) & (F_SEAL_SHRINK | F_SEAL_GROW), F_SEAL_SHRINK | F_SEAL_GROW);
        cr_assert_eq(r.block.size, 4096);
        cr_assert_str_eq(r.block.name, "a");
        cr_assert_eq(r.block.uid, getuid());
        close(fd);

        cr_assert_eq(recv_msg(&r, &fd), 0);
        cr_assert_eq(r.type, WIRE_REPLY | WIRE_STAT);
        cr_assert_eq(r.serial, 11);
        cr_assert_eq(fd, -EBADF);
        cr_assert_str_eq(r.block.name, "a");

        expect_error(12, ENOENT);

        cr_assert_eq(recv_msg(&r, &fd), 0);
        cr_assert_eq(r.type, WIRE_REPLY | WIRE_LIST);
        cr_assert_eq(r.serial, 13);
        cr_assert_eq(r.n_blocks, 1);
        cr_assert_eq(r.next_cursor, 0);
        wire_msg_done(&r);

        cr_assert_eq(recv_msg(&r, &fd), 0);
        cr_assert_eq(r.type, WIRE_REPLY | WIRE_RELEASE);
        cr_assert_eq(r.serial, 14);
}

/* A turn's replies go out together, and a CREATE's carries the registry's
 * own fd: a RELEASE of that block later in the same turn closes it, and the
 * next CREATE gets its number again. Each reply still carries its own
 * block's memory. */
Test(protocol, replies_sent_together_carry_the_memory_they_name) {
        static const struct {
                const char *name;
                uint64_t size;
        } made[] = { { "a", 4096 }, { "b", 8192 }, { "c", 12288 } };
        uint32_t serial = 1;
        struct stat st;
        wire_msg q, r;
        int fd;

        for (size_t i = 0; i < ELEMENTSOF(made); i++) {
                q = create(serial++, made[i].name, made[i].size, 0);
                fixture_raw_send(peer, &q, -1);
                q = named(WIRE_RELEASE, serial++, made[i].name);
                fixture_raw_send(peer, &q, -1);
        }
        cr_assert_eq(lmm_manager_dispatch(mgr, 0), 0, "one pass: all six in one turn");

        for (size_t i = 0; i < ELEMENTSOF(made); i++) {
                cr_assert_eq(fixture_raw_recv(peer, &r, &fd), 0, "reply to CREATE %s",
                             made[i].name);
                cr_assert_eq(r.type, WIRE_REPLY | WIRE_CREATE);
                cr_assert_geq(fd, 0);
                cr_assert_eq(fstat(fd, &st), 0);
                cr_assert_eq((uint64_t) st.st_size, made[i].size, "block %s came with %ld bytes",
                             made[i].name, (long) st.st_size);
                cr_assert_eq((uint64_t) st.st_ino, r.block.ino, "block %s's own memory",
                             made[i].name);
                close(fd);
                cr_assert_eq(fixture_raw_recv(peer, &r, &fd), 0);
                cr_assert_eq(r.type, WIRE_REPLY | WIRE_RELEASE);
                cr_assert_eq(fd, -EBADF);
        }
        cr_assert_eq(fixture_raw_recv(peer, &r, &fd), -EAGAIN, "nothing more");
}

Test(protocol, request_errors_keep_the_connection) {
        wire_msg q, r;
        int fd, p[2];

        q = create(1, "a", 0, 0);
        fixture_raw_send(peer, &q, -1);
        expect_error(1, EINVAL); /* size 0 */
        q = create(2, "a", (uint64_t) INT64_MAX + 1, 0);
        fixture_raw_send(peer, &q, -1);
        expect_error(2, EFBIG);
        q = create(3, "a", 4096, 0x80);
        fixture_raw_send(peer, &q, -1);
        expect_error(3, EINVAL); /* unknown flags */
        q = create(4, "a", 4096, 0);
        fixture_raw_send(peer, &q, -1);
        cr_assert_eq(recv_msg(&r, &fd), 0);
        cr_assert_eq(r.type, WIRE_REPLY | WIRE_CREATE);
        close(fd);
        fixture_raw_send(peer, &q, -1);
        expect_error(4, EEXIST);

        q = named(WIRE_OPEN, 5, "a");
        q.flags = 0x80;
        fixture_raw_send(peer, &q, -1);
        expect_error(5, EINVAL);
        for (uint16_t t = WIRE_RELEASE; t <= WIRE_STAT; t++) {
                q = named(t, 6, "nope");
                fixture_raw_send(peer, &q, -1);
                expect_error(6, ENOENT);
        }

        /* ADOPT of something that is not a memfd */
        cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
        q = (wire_msg){ .type = WIRE_ADOPT, .serial = 7 };
        fixture_raw_send(peer, &q, p[1]);
        close(p[0]);
        close(p[1]);
        fixture_manager_pump(mgr);
        cr_assert_eq(recv_msg(&r, &fd), 0);
        cr_assert_eq(r.type, WIRE_ERROR);
        cr_assert_eq(r.serial, 7);
        cr_assert(r.error == EINVAL || r.error == EPERM || r.error == ENXIO, "%d %s", r.error,
                  r.text);

        /* still served */
        q = named(WIRE_STAT, 8, "a");
        fixture_raw_send(peer, &q, -1);
        cr_assert_eq(recv_msg(&r, &fd), 0);
        cr_assert_eq(r.type, WIRE_REPLY | WIRE_STAT);
}

Test(protocol, list_pages_with_a_cursor) {
        const size_t n = WIRE_LIST_MAX + 5;
        uint64_t cursor = 0, seen = 0, last_id = 0;
        wire_msg q, r;
        int fd;

        for (size_t i = 0; i < n; i++) {
                char name[32];

                snprintf(name, sizeof(name), "b%zu", i);
                q = create((uint32_t) i, name, 1, 0);
                fixture_raw_send(peer, &q, -1);
                cr_assert_eq(recv_msg(&r, &fd), 0);
                cr_assert_eq(r.type, WIRE_REPLY | WIRE_CREATE, "%s: %s", name, r.text);
                close(fd);
        }
        for (unsigned page = 0;; page++) {
                q = (wire_msg){ .type = WIRE_LIST, .serial = 1000 + page, .cursor = cursor };
                fixture_raw_send(peer, &q, -1);
                cr_assert_eq(recv_msg(&r, &fd), 0);
                cr_assert_eq(r.type, WIRE_REPLY | WIRE_LIST);
                cr_assert_eq(r.n_blocks, page == 0 ? WIRE_LIST_MAX : 5);
                for (size_t i = 0; i < r.n_blocks; i++) {
                        cr_assert_gt(r.blocks[i].id, last_id, "ids ascend");
                        last_id = r.blocks[i].id;
                }
                seen += r.n_blocks;
                cursor = r.next_cursor;
                if (cursor)
                        cr_assert_eq(cursor, r.blocks[r.n_blocks - 1].id,
                                     "next cursor: the page's last id");
                wire_msg_done(&r);
                if (!cursor)
                        break;
        }
        cr_assert_eq(seen, n);
}

/* Each of these ends the connection; the manager goes on, leaks nothing. */
/* LISTs pipelined without reading the replies: the first of a turn gets a
 * full page, the others of that turn together no more than 16 KiB
 * (BACKLOG_MAX), a block at least each, so that a turn cannot queue a page
 * per request. Each page still goes on from where the last one ended. */
Test(protocol, pipelined_lists_share_one_turns_room) {
        enum { LISTS = 16 };
        const size_t n = WIRE_LIST_MAX + 5;
        size_t bytes = 0, total = 0;
        uint64_t last_id = 0;
        wire_msg q, r;
        int fd;

        for (size_t i = 0; i < n; i++) {
                char name[32];

                snprintf(name, sizeof(name), "b%zu", i);
                q = create((uint32_t) i, name, 1, 0);
                fixture_raw_send(peer, &q, -1);
                cr_assert_eq(recv_msg(&r, &fd), 0);
                close(fd);
        }
        for (uint32_t k = 0; k < LISTS; k++) {
                q = (wire_msg){ .type = WIRE_LIST, .serial = 1000 + k };
                fixture_raw_send(peer, &q, -1);
        }
        cr_assert_eq(lmm_manager_dispatch(mgr, 0), 0, "one pass, one turn");
        for (uint32_t k = 0; k < LISTS; k++) {
                cr_assert_eq(fixture_raw_recv(peer, &r, &fd), 0, "reply %u", k);
                cr_assert_eq(r.serial, 1000 + k);
                cr_assert_eq(r.type, WIRE_REPLY | WIRE_LIST);
                if (k == 0)
                        cr_assert_eq(r.n_blocks, WIRE_LIST_MAX, "the first: a full page");
                else {
                        cr_assert_geq(r.n_blocks, 1, "a block at least");
                        bytes += r.n_blocks * WIRE_BLOCK_MAX;
                }
                cr_assert_gt(r.blocks[0].id, 0);
                if (k == 1)
                        last_id = r.blocks[r.n_blocks - 1].id;
                total += r.n_blocks;
                wire_msg_done(&r);
        }
        cr_assert_leq(bytes, 16 * 1024 + (LISTS - 1) * WIRE_BLOCK_MAX,
                      "the turn's other pages: %zu bytes of blocks", bytes);
        cr_assert_lt(total, LISTS * (size_t) WIRE_LIST_MAX / 4, "%zu blocks in all", total);

        /* A page cut short still names where to go on. */
        q = (wire_msg){ .type = WIRE_LIST, .serial = 2000, .cursor = last_id };
        fixture_raw_send(peer, &q, -1);
        cr_assert_eq(recv_msg(&r, &fd), 0);
        cr_assert_eq(r.type, WIRE_REPLY | WIRE_LIST);
        cr_assert_gt(r.blocks[0].id, last_id);
        wire_msg_done(&r);
}

Test(protocol, malformed_messages_close_the_connection) {
        for (int k = 0; k < 8; k++) {
                raw_msg r;
                int before, memfd = -1;

                raw_header(&r, WIRE_VERSION, WIRE_STAT, 1);
                switch (k) {
                case 0: {
                        static char long_name[LMM_NAME_MAX + 1];
                        memset(long_name, 'a', sizeof(long_name));
                        raw_str(&r, long_name, sizeof(long_name));
                        break; /* a name longer than any: framing, unlike a bad byte in one */
                }
                case 1:
                        raw_str(&r, "ab", 2);
                        r.n--;
                        break; /* truncated */
                case 2:
                        raw_str(&r, "ab", 2);
                        raw_u16(&r, 0);
                        break; /* trailing bytes */
                case 3:
                        r.b[2] = 0x42;
                        break; /* unknown type */
                case 4:
                        r.b[2] = WIRE_STAT;
                        r.b[3] = 0x80;
                        raw_block(&r, "a", 1);
                        break; /* a reply */
                case 5:
                        r.n = 5;
                        break; /* short header */
                case 6:
                        raw_str(&r, "ab", 2);
                        break; /* fine, but with an fd */
                case 7:
                        r.b[2] = WIRE_ADOPT;
                        raw_u32(&r, 0);
                        raw_str(&r, "", 0);
                        break; /* ADOPT without fd */
                }
                if (k != 1 && k != 5)
                        raw_fix(&r);
                before = harness_count_fds(0);
                if (k == 6)
                        cr_assert_eq(memfd_new_sealed("unexpected", 4096, false, &memfd), 0);
                send_raw(&r, memfd);
                safe_close(memfd);
                expect_closed();
                /* the manager's fds for the connection are gone, and the fd it was sent
                 * (closed by the manager's closer thread, so give it a moment) */
                for (int w = 0; w < 200 && harness_count_fds(0) != before - conn_fds; w++)
                        usleep(5000);
                cr_assert_eq(harness_count_fds(0), before - conn_fds,
                             "case %d: fds left behind: %d, was %d", k, harness_count_fds(0),
                             before);

                /* the manager serves a new connection */
                safe_close(peer);
                peer = fixture_manager_connect(mgr, NULL);
                {
                        wire_msg q = { .type = WIRE_LIST, .serial = 99 }, rep;
                        int fd;

                        fixture_raw_send(peer, &q, -1);
                        cr_assert_eq(recv_msg(&rep, &fd), 0);
                        cr_assert_eq(rep.type, WIRE_REPLY | WIRE_LIST);
                        wire_msg_done(&rep);
                }
        }
}

/* A peer of another version learns ours from an ERROR in our version, with serial 0. */
/* Requests are read up to 16 at a time, into room for the largest request
 * of this version: one longer than that is still told apart, a foreign
 * version (answered with ours) from a malformed message of this one. */
Test(protocol, a_long_request_is_answered_by_its_version) {
        static char pad[2000];
        wire_msg r;
        raw_msg raw;
        int fd;

        raw_header(&raw, WIRE_VERSION + 1, WIRE_STAT, 77);
        raw_str(&raw, pad, sizeof(pad) - 2);
        raw_fix(&raw);
        send_raw(&raw, -1);
        cr_assert_eq(recv_msg(&r, &fd), 0);
        cr_assert_eq(r.type, WIRE_ERROR);
        cr_assert_eq(r.serial, 0);
        cr_assert_eq(r.error, EPROTONOSUPPORT);
        expect_closed();

        safe_close(peer);
        peer = fixture_manager_connect(mgr, NULL);
        raw_header(&raw, WIRE_VERSION, WIRE_STAT, 78);
        raw_str(&raw, pad, sizeof(pad) - 2);
        raw_fix(&raw);
        send_raw(&raw, -1);
        expect_closed();
}

Test(protocol, version_mismatch) {
        wire_msg r;
        raw_msg raw;
        int fd;

        raw_header(&raw, WIRE_VERSION + 1, WIRE_STAT, 77);
        raw_str(&raw, "a", 1);
        raw_fix(&raw);
        send_raw(&raw, -1);
        cr_assert_eq(recv_msg(&r, &fd), 0);
        cr_assert_eq(r.type, WIRE_ERROR);
        cr_assert_eq(r.serial, 0);
        cr_assert_eq(r.error, EPROTONOSUPPORT);
        expect_closed();
}

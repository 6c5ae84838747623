/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-access — who may use the manager, end to end: a manager core in this
 * process, peers with made-up credentials (no root, no setresuid), and the
 * replies the manager really sends. test-policy checks the rules as a pure
 * function; this checks that the manager applies them: a uid not allowed is
 * refused before it holds anything, an allowed uid may use every block but
 * freeze, release or shut down only what is its own, a supplementary gid
 * admits, and the per-uid connection cap refuses one uid, not the others.
 */

#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "lmm.h"
#include "util.h"
#include "wire.h"

/* Made up: none of them need to exist. */
#define GUEST 12345    /* allowed by uid */
#define GUEST2 12346   /* allowed by uid */
#define STRANGER 23456 /* allowed by nothing */
#define STAFF 4242     /* an allowed group */
#define OTHER_GID 4343 /* a group allowed nothing */

static const uid_t guests[] = { GUEST, GUEST2 };
static lmm_manager *mgr;

static void teardown(void) {
        mgr = lmm_manager_free(mgr);
}

TestSuite(access, .fini = teardown, .timeout = 60);

/* connect_as() - a connection whose peer is @uid, primary group @gid, in @groups. */
static int connect_as(uid_t uid, gid_t gid, const gid_t *groups, size_t n_groups) {
        return fixture_manager_connect(mgr, &(peer_creds){ .pid = getpid(),
                                                           .uid = uid,
                                                           .gid = gid,
                                                           .groups = groups,
                                                           .n_groups = n_groups });
}

/* ask() - send @type (on block @name, NULL for none) on @sock and return the manager's reply;
 * the fd it carried is checked against the reply's type and closed. */
static wire_msg ask(int sock, uint16_t type, const char *name) {
        static uint32_t serial;
        wire_msg q = { .type = type, .serial = ++serial, .size = 4096 }, r;
        int fd;

        snprintf(q.name, sizeof(q.name), "%s", name ?: "");
        fixture_raw_send(sock, &q, -EBADF);
        fixture_manager_pump(mgr);
        cr_assert_eq(fixture_raw_recv(sock, &r, &fd), 0, "no reply to %s", wire_type_name(type));
        cr_assert_eq(r.serial, q.serial);
        if (r.type == (WIRE_REPLY | WIRE_CREATE) || r.type == (WIRE_REPLY | WIRE_OPEN))
                cr_assert_geq(fd, 0, "a block's fd comes with its %s reply", wire_type_name(type));
        else
                cr_assert_eq(fd, -EBADF);
        safe_close(fd);
        return r;
}

static void expect_ok(int sock, uint16_t type, const char *name) {
        wire_msg r = ask(sock, type, name);

        cr_assert_eq(r.type, WIRE_REPLY | type, "%s %s: error %d: %s", wire_type_name(type),
                     name ?: "", r.error, r.text);
        wire_msg_done(&r);
}

static void expect_error(int sock, uint16_t type, const char *name, int error, const char *text) {
        wire_msg r = ask(sock, type, name);

        cr_assert_eq(r.type, WIRE_ERROR, "%s %s succeeded", wire_type_name(type), name ?: "");
        cr_assert_eq(r.error, error, "error %d (%s), want %d", r.error, r.text, error);
        cr_assert_str_eq(r.text, text);
}

/* A refused peer is told why, unasked (serial 0), and closed at once. */
static void expect_refused(int sock, int error, const char *text) {
        wire_msg r;

        cr_assert_eq(fixture_raw_recv(sock, &r, NULL), 0, "no word of the refusal");
        cr_assert_eq(r.type, WIRE_ERROR);
        cr_assert_eq(r.serial, 0);
        cr_assert_eq(r.error, error, "error %d (%s), want %d", r.error, r.text, error);
        cr_assert_str_eq(r.text, text);
        cr_assert_eq(fixture_raw_recv(sock, &r, NULL), -ECONNRESET, "the connection stays open");
        close(sock);
}

/* How many connections the manager serves. */
static uint64_t n_connections(void) {
        lmm_manager_stats st;

        lmm_manager_get_stats(mgr, &st);
        return st.n_connections;
}

Test(access, a_uid_not_allowed_is_refused_and_closed) {
        char text[WIRE_ERROR_TEXT_MAX + 1];

        mgr = fixture_manager_new(&(lmm_manager_opts){ .allow_uids = guests, .n_allow_uids = 2 });
        snprintf(text, sizeof(text), "uid %u is not allowed to use this manager (run by uid %u)",
                 (unsigned) STRANGER, (unsigned) geteuid());
        expect_refused(connect_as(STRANGER, STRANGER, NULL, 0), EACCES, text);
        cr_assert_eq(n_connections(), 0, "a refused peer holds nothing in the manager");
}

Test(access, another_uid_may_use_blocks_but_not_freeze_release_or_shut_down) {
        char text[WIRE_ERROR_TEXT_MAX + 1];
        unsigned me = (unsigned) geteuid();
        int own, guest;
        wire_msg r;

        mgr = fixture_manager_new(&(lmm_manager_opts){ .allow_uids = guests, .n_allow_uids = 2 });
        own = fixture_manager_connect(mgr, NULL); /* the kernel's word: the manager's uid */
        guest = connect_as(GUEST, GUEST, NULL, 0);
        expect_ok(own, WIRE_CREATE, "mine");

        r = ask(guest, WIRE_CREATE, "theirs");
        cr_assert_eq(r.type, WIRE_REPLY | WIRE_CREATE, "%s", r.text);
        cr_assert_eq(r.block.uid, GUEST, "a block belongs to its creator's uid");
        expect_ok(guest, WIRE_OPEN, "mine");
        r = ask(guest, WIRE_STAT, "mine");
        cr_assert_eq(r.type, WIRE_REPLY | WIRE_STAT, "%s", r.text);
        cr_assert_eq(r.block.uid, me);
        expect_ok(guest, WIRE_LIST, NULL);

        snprintf(text, sizeof(text), "cannot freeze block \"mine\": it belongs to uid %u", me);
        expect_error(guest, WIRE_FREEZE, "mine", EPERM, text);
        snprintf(text, sizeof(text), "cannot release block \"mine\": it belongs to uid %u", me);
        expect_error(guest, WIRE_RELEASE, "mine", EPERM, text);
        snprintf(text, sizeof(text), "only uid %u may shut this manager down", me);
        expect_error(guest, WIRE_SHUTDOWN, NULL, EPERM, text);

        /* Refused, and nothing changed: the block is neither frozen nor gone, the manager up. */
        r = ask(guest, WIRE_STAT, "mine");
        cr_assert_eq(r.type, WIRE_REPLY | WIRE_STAT, "%s", r.text);
        cr_assert_not(r.block.flags & LMM_BLOCK_FROZEN);
        cr_assert_not(lmm_manager_is_shut_down(mgr));
        close(guest);
        close(own);
}

Test(access, the_owner_uid_may_freeze_and_release) {
        int a, b;
        wire_msg r;

        mgr = fixture_manager_new(&(lmm_manager_opts){ .allow_uids = guests, .n_allow_uids = 2 });
        a = connect_as(GUEST, GUEST, NULL, 0);
        b = connect_as(GUEST, GUEST, NULL, 0);
        expect_ok(a, WIRE_CREATE, "theirs");

        /* Ownership is the uid's, not the connection's. */
        expect_ok(b, WIRE_FREEZE, "theirs");
        r = ask(b, WIRE_STAT, "theirs");
        cr_assert_eq(r.type, WIRE_REPLY | WIRE_STAT, "%s", r.text);
        cr_assert(r.block.flags & LMM_BLOCK_FROZEN);
        expect_ok(b, WIRE_RELEASE, "theirs");
        expect_error(a, WIRE_STAT, "theirs", ENOENT, "no block named \"theirs\"");
        close(a);
        close(b);
}

Test(access, a_supplementary_gid_admits) {
        static const gid_t staff[] = { STAFF };
        const gid_t in_staff[] = { OTHER_GID, STAFF }, not_in_staff[] = { OTHER_GID };
        char text[WIRE_ERROR_TEXT_MAX + 1];
        int member;

        mgr = fixture_manager_new(&(lmm_manager_opts){ .allow_gids = staff, .n_allow_gids = 1 });
        member = connect_as(STRANGER, OTHER_GID, in_staff, ELEMENTSOF(in_staff));
        expect_ok(member, WIRE_CREATE, "staff-only");

        /* The same uid, without the group: refused. */
        snprintf(text, sizeof(text), "uid %u is not allowed to use this manager (run by uid %u)",
                 (unsigned) STRANGER, (unsigned) geteuid());
        expect_refused(connect_as(STRANGER, OTHER_GID, not_in_staff, ELEMENTSOF(not_in_staff)),
                       EACCES, text);
        expect_ok(member, WIRE_STAT, "staff-only");
        close(member);
}

Test(access, the_per_uid_connection_cap_refuses_that_uid_only) {
        int g[2], other;

        mgr = fixture_manager_new(&(lmm_manager_opts){
                .allow_uids = guests, .n_allow_uids = 2, .max_conns_per_uid = 2 });
        g[0] = connect_as(GUEST, GUEST, NULL, 0);
        g[1] = connect_as(GUEST, GUEST, NULL, 0);
        expect_refused(connect_as(GUEST, GUEST, NULL, 0), EUSERS,
                       "uid 12345 already has 2 connections, the per-user limit");
        cr_assert_eq(n_connections(), 2);

        other = connect_as(GUEST2, GUEST2, NULL, 0);
        expect_ok(other, WIRE_LIST, NULL);
        expect_ok(g[0], WIRE_LIST, NULL);
        expect_ok(g[1], WIRE_LIST, NULL);

        /* A closed connection gives its place back. */
        close(g[0]);
        fixture_manager_pump(mgr);
        g[0] = connect_as(GUEST, GUEST, NULL, 0);
        expect_ok(g[0], WIRE_LIST, NULL);
        close(g[0]);
        close(g[1]);
        close(other);
}

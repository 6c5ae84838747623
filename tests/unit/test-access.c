/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-access — who may use the manager, end to end: a manager core in this
 * process, peers with made-up credentials (no root, no setresuid), and the
 * replies the manager really sends. test-policy checks the rules as a pure
 * function; this checks that the manager applies them: a uid not allowed is
 * refused before it holds anything; another user's block is invisible unless
 * its owner shares it, read-only or read-write, and never freezable or
 * releasable by anyone but its owner; names are per owner, so nobody can
 * squat one; a bad name is answered, not punished; a supplementary gid
 * admits; and the per-uid connection cap refuses one uid, not the others.
 */

#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "lmm.h"
#include "transport.h"
#include "util.h"
#include "wire-eq.h"
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
static wire_msg ask_flags(int sock, uint16_t type, const char *name, uint32_t flags) {
        static uint32_t serial;
        wire_msg q = { .type = type, .serial = ++serial, .size = 4096, .flags = flags }, r;
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

static wire_msg ask(int sock, uint16_t type, const char *name) {
        return ask_flags(sock, type, name, 0);
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

/* list_names() - the names a LIST shows @sock, comma-separated, in @buf. */
static const char *list_names(int sock, char *buf, size_t size) {
        wire_msg r = ask(sock, WIRE_LIST, NULL);

        cr_assert_eq(r.type, WIRE_REPLY | WIRE_LIST, "%s", r.text);
        buf[0] = 0;
        for (size_t i = 0; i < r.n_blocks; i++)
                snprintf(buf + strlen(buf), size - strlen(buf), "%s%s", i ? "," : "",
                         r.blocks[i].name);
        wire_msg_done(&r);
        return buf;
}

Test(access, another_users_block_is_invisible_unless_shared) {
        char text[WIRE_ERROR_TEXT_MAX + 1], qualified[64], names[256];
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

        /* By a bare name (the manager uid's namespace is looked in too) or
         * by UID/NAME: as if it did not exist. */
        snprintf(qualified, sizeof(qualified), "%u/mine", me);
        expect_error(guest, WIRE_OPEN, "mine", ENOENT, "no block named \"mine\"");
        expect_error(guest, WIRE_STAT, "mine", ENOENT, "no block named \"mine\"");
        snprintf(text, sizeof(text), "no block named \"%s\"", qualified);
        expect_error(guest, WIRE_STAT, qualified, ENOENT, text);
        expect_error(guest, WIRE_FREEZE, qualified, ENOENT, text);
        expect_error(guest, WIRE_RELEASE, qualified, ENOENT, text);
        cr_assert_str_eq(list_names(guest, names, sizeof(names)), "theirs",
                         "LIST shows a user only what it may open");
        /* The privileged see everything. */
        cr_assert_str_eq(list_names(own, names, sizeof(names)), "mine,theirs");

        snprintf(text, sizeof(text), "only uid %u may shut this manager down", me);
        expect_error(guest, WIRE_SHUTDOWN, NULL, EPERM, text);
        cr_assert_not(lmm_manager_is_shut_down(mgr));
        close(guest);
        close(own);
}

Test(access, a_block_shared_read_only) {
        char text[WIRE_ERROR_TEXT_MAX + 1], names[256];
        unsigned me = (unsigned) geteuid();
        int own, guest;
        wire_msg r;

        mgr = fixture_manager_new(&(lmm_manager_opts){ .allow_uids = guests, .n_allow_uids = 2 });
        own = fixture_manager_connect(mgr, NULL);
        guest = connect_as(GUEST, GUEST, NULL, 0);
        r = ask_flags(own, WIRE_CREATE, "pub", LMM_CREATE_OTHERS_READ);
        cr_assert_eq(r.type, WIRE_REPLY | WIRE_CREATE, "%s", r.text);
        cr_assert(r.block.flags & LMM_BLOCK_OTHERS_READ);
        cr_assert_not(r.block.flags & LMM_BLOCK_OTHERS_WRITE);

        r = ask_flags(guest, WIRE_OPEN, "pub", LMM_OPEN_RDONLY);
        cr_assert_eq(r.type, WIRE_REPLY | WIRE_OPEN, "%s", r.text);
        cr_assert_eq(r.block.uid, me);
        r = ask(guest, WIRE_OPEN, "pub");
        snprintf(text, sizeof(text),
                 "cannot open block \"pub\" read-write: uid %u shares it read-only", me);
        cr_assert_eq(r.type, WIRE_ERROR);
        cr_assert_eq(r.error, EACCES);
        cr_assert_str_eq(r.text, text);
        cr_assert_str_eq(list_names(guest, names, sizeof(names)), "pub");

        snprintf(text, sizeof(text), "cannot freeze block \"pub\": it belongs to uid %u", me);
        expect_error(guest, WIRE_FREEZE, "pub", EPERM, text);
        snprintf(text, sizeof(text), "cannot release block \"pub\": it belongs to uid %u", me);
        expect_error(guest, WIRE_RELEASE, "pub", EPERM, text);
        r = ask(guest, WIRE_STAT, "pub");
        cr_assert_eq(r.type, WIRE_REPLY | WIRE_STAT, "%s", r.text);
        cr_assert_not(r.block.flags & LMM_BLOCK_FROZEN, "refused, and nothing changed");
        close(guest);
        close(own);
}

Test(access, a_block_shared_read_write_by_uid_slash_name) {
        char qualified[64];
        int g1, g2;
        wire_msg r;

        mgr = fixture_manager_new(&(lmm_manager_opts){ .allow_uids = guests, .n_allow_uids = 2 });
        g1 = connect_as(GUEST, GUEST, NULL, 0);
        g2 = connect_as(GUEST2, GUEST2, NULL, 0);
        r = ask_flags(g1, WIRE_CREATE, "rw", LMM_CREATE_OTHERS_WRITE);
        cr_assert_eq(r.type, WIRE_REPLY | WIRE_CREATE, "%s", r.text);
        cr_assert_eq(r.block.flags & (LMM_BLOCK_OTHERS_READ | LMM_BLOCK_OTHERS_WRITE),
                     LMM_BLOCK_OTHERS_READ | LMM_BLOCK_OTHERS_WRITE, "write implies read");

        /* Another user's block is never found by a bare name... */
        expect_error(g2, WIRE_OPEN, "rw", ENOENT, "no block named \"rw\"");
        /* ...but by UID/NAME when shared. */
        snprintf(qualified, sizeof(qualified), "%u/rw", (unsigned) GUEST);
        r = ask(g2, WIRE_OPEN, qualified);
        cr_assert_eq(r.type, WIRE_REPLY | WIRE_OPEN, "%s", r.text);
        cr_assert_str_eq(r.block.name, "rw");
        cr_assert_eq(r.block.uid, GUEST);
        close(g1);
        close(g2);
}

Test(access, names_are_per_owner_so_nobody_squats_one) {
        int own, guest;
        wire_msg r;

        mgr = fixture_manager_new(&(lmm_manager_opts){ .allow_uids = guests, .n_allow_uids = 2 });
        own = fixture_manager_connect(mgr, NULL);
        guest = connect_as(GUEST, GUEST, NULL, 0);
        /* The attacker is first, and shares its block for good measure. */
        r = ask_flags(guest, WIRE_CREATE, "owner-config", LMM_CREATE_OTHERS_WRITE);
        cr_assert_eq(r.type, WIRE_REPLY | WIRE_CREATE, "%s", r.text);
        /* The owner's open does not land on it... */
        expect_error(own, WIRE_OPEN, "owner-config", ENOENT, "no block named \"owner-config\"");
        /* ...and its create is no obstacle. */
        expect_ok(own, WIRE_CREATE, "owner-config");
        r = ask(own, WIRE_OPEN, "owner-config");
        cr_assert_eq(r.type, WIRE_REPLY | WIRE_OPEN, "%s", r.text);
        cr_assert_eq(r.block.uid, geteuid(), "the owner's own block");
        r = ask(guest, WIRE_STAT, "owner-config");
        cr_assert_eq(r.block.uid, GUEST, "and the attacker's is its own");
        close(guest);
        close(own);
}

Test(access, a_bad_name_is_answered_and_the_connection_stays) {
        const char *const bad[] = { "a/b", "/x", "0123/x", "12/", "x\ty" };
        const char *why = "invalid block name: a name is 1 to 200 bytes with no '/' and no control "
                          "characters; another user's block is UID/NAME";
        int own;

        mgr = fixture_manager_new(NULL);
        own = fixture_manager_connect(mgr, NULL);
        for (size_t i = 0; i <= ELEMENTSOF(bad); i++) {
                /* The library refuses to send such names: build the bytes. */
                static raw_msg raw;
                wire_msg r;

                if (i < ELEMENTSOF(bad)) {
                        raw_header(&raw, WIRE_VERSION, WIRE_STAT, 7);
                        raw_str(&raw, bad[i], strlen(bad[i]));
                } else {
                        raw_header(&raw, WIRE_VERSION, WIRE_CREATE, 7);
                        raw_u64(&raw, 4096);
                        raw_u32(&raw, 0);
                        raw_str(&raw, "1/x", 3); /* UID/NAME finds a block, never names one */
                }
                raw_fix(&raw);
                cr_assert_eq(transport_send(own, raw.b, raw.n, NULL, 0, false), 0);
                fixture_manager_pump(mgr);
                cr_assert_eq(fixture_raw_recv(own, &r, NULL), 0, "no answer to bad name %zu", i);
                cr_assert_eq(r.type, WIRE_ERROR);
                cr_assert_eq(r.serial, 7);
                cr_assert_eq(r.error, EINVAL);
                cr_assert_str_eq(r.text, why);
        }
        expect_ok(own, WIRE_CREATE, "fine");
        expect_ok(own, WIRE_STAT, "fine");
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

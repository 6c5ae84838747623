/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-manager-state — the restart state kept by a manager core in this
 * process, with a store that only takes notes: what each request records
 * and stores, in which order, and a restore from states made by hand that
 * no crash of lmmd makes: two records of one id, two of one memory, two of
 * one name, fds that are read-only, of another size, not size-sealed;
 * counters that must not go back; charges; and a store that refuses.
 */

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"
#include "manager-state.h"
#include "missing.h"
#include "state.h"
#include "util.h"

static lmm_manager *mgr;
static char notes[8192];
static int store_error;
static char log_lines[16384];

static int note_store(int fd, const char *name, void *userdata) {
        if (store_error)
                return store_error;
        cr_assert_geq(fcntl(fd, F_GETFD), 0, "a stored fd is open");
        snprintf(notes + strlen(notes), sizeof(notes) - strlen(notes), "+%s ", name);
        return 0;
}

static int note_remove(const char *name, void *userdata) {
        snprintf(notes + strlen(notes), sizeof(notes) - strlen(notes), "-%s ", name);
        return 0;
}

static const manager_store_ops ops = { .store = note_store, .remove = note_remove };

static void keep_log(int level, const char *line, void *userdata) {
        snprintf(log_lines + strlen(log_lines), sizeof(log_lines) - strlen(log_lines), "%s\n",
                 line);
}

static void setup(void) {
        notes[0] = log_lines[0] = 0;
        store_error = 0;
        mgr = fixture_manager_new(NULL);
        lmm_manager_set_log(mgr, keep_log, NULL);
        cr_assert_eq(manager_state_enable(mgr, &ops, NULL), 0);
}

static void teardown(void) {
        mgr = lmm_manager_free(mgr);
}

TestSuite(manager_state, .init = setup, .fini = teardown, .timeout = 60);

static wire_msg ask(int sock, uint16_t type, const char *name, uint32_t flags) {
        static uint32_t serial;
        wire_msg q = { .type = type, .serial = ++serial, .size = 4096, .flags = flags }, r;
        int fd;

        snprintf(q.name, sizeof(q.name), "%s", name);
        fixture_raw_send(sock, &q, -EBADF);
        fixture_manager_pump(mgr);
        cr_assert_eq(fixture_raw_recv(sock, &r, &fd), 0);
        safe_close(fd);
        return r;
}

Test(manager_state, a_fresh_state_is_stored_first_then_each_block_before_its_reply) {
        int sock;
        wire_msg r;

        cr_assert_eq(manager_state_restore(mgr, NULL, NULL, 0), 0);
        cr_assert_str_eq(notes, "+state ");
        sock = fixture_manager_connect(mgr, NULL);
        r = ask(sock, WIRE_CREATE, "a", 0);
        cr_assert_eq(r.type, WIRE_REPLY | WIRE_CREATE);
        cr_assert_eq(r.block.id, 1);
        r = ask(sock, WIRE_CREATE, "scoped", LMM_CREATE_SCOPE_CONNECTION);
        cr_assert_eq(r.type, WIRE_REPLY | WIRE_CREATE);
        cr_assert_str_eq(notes, "+state +b1 ", "a connection-scoped block is never stored");
        cr_assert_eq(ask(sock, WIRE_FREEZE, "a", 0).type, WIRE_REPLY | WIRE_FREEZE);
        cr_assert_eq(ask(sock, WIRE_RELEASE, "a", 0).type, WIRE_REPLY | WIRE_RELEASE);
        cr_assert_eq(ask(sock, WIRE_RELEASE, "scoped", 0).type, WIRE_REPLY | WIRE_RELEASE);
        cr_assert_str_eq(notes, "+state +b1 -b1 ");
        cr_assert_eq(lmm_manager_shutdown(mgr), 0);
        cr_assert_str_eq(notes, "+state +b1 -b1 -state ", "the shutdown empties the store");
        close(sock);
}

Test(manager_state, a_store_that_refuses_fails_the_create_and_records_nothing) {
        int sock;
        wire_msg r;

        cr_assert_eq(manager_state_restore(mgr, NULL, NULL, 0), 0);
        sock = fixture_manager_connect(mgr, NULL);
        store_error = -ECONNREFUSED;
        r = ask(sock, WIRE_CREATE, "a", 0);
        cr_assert_eq(r.type, WIRE_ERROR);
        cr_assert_eq(r.error, ECONNREFUSED);
        cr_assert_str_eq(r.text, "cannot create block \"a\": cannot keep it for a restart: "
                                 "Connection refused");
        cr_assert_eq(mgr->reg.n_blocks, 0);
        store_error = 0;
        r = ask(sock, WIRE_CREATE, "a", 0);
        cr_assert_eq(r.type, WIRE_REPLY | WIRE_CREATE, "%s", r.text);
        cr_assert_str_eq(notes, "+state +b2 ", "ids are not given twice, even by a failure");
        close(sock);
}

/* ---------------------------------------------------------------- restores made by hand */

typedef struct hand_state {
        int fd;
        state_header h;
} hand_state;

static hand_state state_new(uint64_t n_slots, uint64_t next_id, uint64_t next_name) {
        hand_state s = { .h = { .n_slots = n_slots, .next_id = next_id, .next_name = next_name } };
        uint8_t rec[STATE_RECORD_SIZE];

        s.fd = memfd_create("lmmd-state", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        cr_assert_geq(s.fd, 0);
        cr_assert_eq(ftruncate(s.fd, (off_t) state_size(n_slots)), 0);
        cr_assert_eq(fcntl(s.fd, F_ADD_SEALS, F_SEAL_SHRINK), 0);
        state_header_encode(&s.h, rec);
        cr_assert_eq(pwrite(s.fd, rec, sizeof(rec), 0), (ssize_t) sizeof(rec));
        return s;
}

/* block_fd() - a block's memfd, as lmmd makes it; its slot record in @slot. */
static int block_fd(uint64_t id, const char *name, uint64_t size, uid_t uid, state_slot *slot) {
        struct stat st;
        int fd;

        cr_assert_eq(memfd_new_sealed("lmm:x", size, false, &fd), 0);
        cr_assert_eq(fstat(fd, &st), 0);
        *slot = (state_slot){ .id = id,
                              .size = size,
                              .dev = (uint64_t) st.st_dev,
                              .ino = (uint64_t) st.st_ino,
                              .uid = (uint32_t) uid,
                              .pid = 1 };
        strcpy(slot->name, name);
        return fd;
}

static void put_slot(hand_state *s, uint64_t i, const state_slot *slot) {
        uint8_t rec[STATE_RECORD_SIZE];

        state_slot_encode(slot, rec);
        cr_assert_eq(pwrite(s->fd, rec, sizeof(rec), (off_t) state_slot_offset(i)),
                     (ssize_t) sizeof(rec));
}

static void restore(int *fds, const char *const *names, size_t n) {
        cr_assert_eq(manager_state_restore(mgr, fds, (char *const *) names, n), 0);
}

Test(manager_state, duplicates_of_an_id_a_memory_or_a_name_are_dropped_alone) {
        hand_state s = state_new(8, 10, 1);
        state_slot a, b, c, d;
        int fds[5];

        fds[1] = block_fd(3, "a", 4096, 0, &a);
        put_slot(&s, 0, &a);
        put_slot(&s, 5, &a);                    /* a second record of id 3 */
        fds[2] = block_fd(4, "a", 4096, 0, &b); /* the name of id 3, for the same uid */
        put_slot(&s, 1, &b);
        fds[3] = block_fd(5, "c", 4096, 0, &c);
        put_slot(&s, 2, &c);
        d = c; /* the memory of id 5 again, as id 6 */
        d.id = 6;
        strcpy(d.name, "d");
        put_slot(&s, 3, &d);
        fds[4] = fcntl(fds[3], F_DUPFD_CLOEXEC, 3);
        fds[0] = s.fd;

        restore(fds, (const char *const[]){ "state", "b3", "b4", "b5", "b6" }, 5);
        cr_assert_eq(mgr->reg.n_blocks, 2, "%s", log_lines);
        cr_assert_not_null(registry_find(&mgr->reg, 0, "a"));
        cr_assert_eq(registry_find(&mgr->reg, 0, "a")->id, 3);
        cr_assert_not_null(registry_find(&mgr->reg, 0, "c"));
        cr_assert_not_null(strstr(log_lines, "block 3 \"a\": a second record of that id"), "%s",
                           log_lines);
        cr_assert_not_null(strstr(log_lines,
                                  "block 4 \"a\" of uid 0: its fd has a name uid 0 has given "
                                  "another block"),
                           "%s", log_lines);
        cr_assert_not_null(strstr(log_lines,
                                  "block 6 \"d\" of uid 0: its fd is the memory of block \"c\" "
                                  "already"),
                           "%s", log_lines);
        /* Out of the store too: nothing of ours is kept under their names. */
        cr_assert_not_null(strstr(notes, "-b4 "), "%s", notes);
        cr_assert_not_null(strstr(notes, "-b6 "), "%s", notes);
        cr_assert_null(strstr(notes, "-b3 "), "%s", notes);
        cr_assert_null(strstr(notes, "+state"), "the state handed over is kept");
        cr_assert_eq(mgr->reg.next_id, 10, "the header's next id stands");
}

Test(manager_state, fds_that_are_not_the_recorded_block_are_dropped) {
        hand_state s = state_new(4, 1, 1);
        state_slot a, b, c, d;
        int fds[5], plain;

        fds[1] = block_fd(1, "ro", 4096, 0, &a);
        put_slot(&s, 0, &a);
        cr_assert_eq(fd_reopen(fds[1], O_RDONLY, &plain), 0);
        close(fds[1]);
        fds[1] = plain;
        fds[2] = block_fd(2, "small", 4096, 0, &b);
        b.size = 8192;
        put_slot(&s, 1, &b);
        plain = memfd_create("unsealed", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        cr_assert_eq(ftruncate(plain, 4096), 0);
        fds[3] = plain;
        c = a;
        c.id = 3;
        strcpy(c.name, "unsealed");
        {
                struct stat st;

                cr_assert_eq(fstat(plain, &st), 0);
                c.ino = (uint64_t) st.st_ino;
        }
        put_slot(&s, 2, &c);
        fds[4] = block_fd(4, "huge", 4096, 0, &d);
        d.flags = LMM_BLOCK_HUGETLB;
        put_slot(&s, 3, &d);
        fds[0] = s.fd;

        restore(fds, (const char *const[]){ "state", "b1", "b2", "b3", "b4" }, 5);
        cr_assert_eq(mgr->reg.n_blocks, 0, "%s", log_lines);
        cr_assert_not_null(strstr(log_lines, "\"ro\" of uid 0: its fd is not open read-write"));
        cr_assert_not_null(strstr(log_lines, "\"small\" of uid 0: its fd is 4096 bytes, "
                                             "recorded 8192"));
        cr_assert_not_null(strstr(log_lines, "\"unsealed\" of uid 0: its fd is not sealed "
                                             "against resizing"));
        cr_assert_not_null(strstr(log_lines,
                                  "\"huge\" of uid 0: its fd is not on huge pages, recorded "
                                  "otherwise"),
                           "%s", log_lines);
        cr_assert_not_null(strstr(log_lines, "restored 0 blocks"));
}

Test(manager_state, counters_charges_and_slots_carry_on) {
        hand_state s = state_new(4, 5, 300);
        state_slot a, b;
        int fds[3], sock;
        wire_msg r;
        uint8_t rec[STATE_RECORD_SIZE];
        state_slot got;

        fds[1] = block_fd(2, "a", 4096, 1000, &a);
        put_slot(&s, 3, &a);
        fds[2] = block_fd(9, "b", 8192, 1000, &b); /* past the header's next id: a torn header */
        put_slot(&s, 1, &b);
        fds[0] = s.fd;

        restore(fds, (const char *const[]){ "state", "b2", "b9" }, 3);
        cr_assert_eq(mgr->reg.n_blocks, 2);
        cr_assert_eq(mgr->reg.next_id, 10, "never an id again");
        cr_assert_eq(mgr->reg.next_name, 300);
        {
                user *u = user_registry_get(&mgr->users, 1000);

                cr_assert_eq(u->n_blocks, 2, "restored blocks count against their owner");
                cr_assert_eq(u->n_bytes, 4096 + 8192);
        }

        /* The next block takes the lowest free slot; the header moved past the counters. */
        sock = fixture_manager_connect(mgr, NULL);
        r = ask(sock, WIRE_CREATE, "", 0);
        cr_assert_eq(r.type, WIRE_REPLY | WIRE_CREATE);
        cr_assert_eq(r.block.id, 10);
        cr_assert_str_eq(r.block.name, "lmm_000000000000012c");
        cr_assert_eq(pread(s.fd, rec, sizeof(rec), (off_t) state_slot_offset(0)),
                     (ssize_t) sizeof(rec));
        cr_assert_eq(state_slot_decode(rec, &got, NULL, 0), 1);
        cr_assert_eq(got.id, 10);
        cr_assert_eq(pread(s.fd, rec, sizeof(rec), 0), (ssize_t) sizeof(rec));
        {
                state_header h;

                cr_assert_eq(state_header_decode(rec, state_size(4), &h, NULL, 0), 0);
                cr_assert_gt(h.next_id, 10);
                cr_assert_gt(h.next_name, 300);
                cr_assert_eq(h.generation, 1);
        }
        close(sock);
}

Test(manager_state, the_state_grows_and_keeps_every_record) {
        int sock;

        cr_assert_eq(manager_state_restore(mgr, NULL, NULL, 0), 0);
        sock = fixture_manager_connect(mgr, NULL);
        for (int i = 0; i < 200; i++) {
                char name[16];

                snprintf(name, sizeof(name), "g%d", i);
                cr_assert_eq(ask(sock, WIRE_CREATE, name, 0).type, WIRE_REPLY | WIRE_CREATE);
        }
        /* Every slot free at once, then taken again: the free list holds them all. */
        for (int i = 0; i < 200; i++) {
                char name[16];

                snprintf(name, sizeof(name), "g%d", i);
                cr_assert_eq(ask(sock, WIRE_RELEASE, name, 0).type, WIRE_REPLY | WIRE_RELEASE);
        }
        for (int i = 0; i < 200; i++) {
                char name[16];

                snprintf(name, sizeof(name), "g%d", i);
                cr_assert_eq(ask(sock, WIRE_CREATE, name, 0).type, WIRE_REPLY | WIRE_CREATE);
        }
        cr_assert_eq(ask(sock, WIRE_RELEASE, "g7", 0).type, WIRE_REPLY | WIRE_RELEASE);
        close(sock);
        fixture_manager_pump(mgr);
        {
                manager_handover h;
                size_t n_blocks = 0, n_used = 0;
                struct stat st;
                int fd;

                cr_assert_eq(manager_handover_prepare(mgr, &h), 0);
                for (const char *p = h.names; (p = strstr(p, ":b")); p++)
                        n_blocks++;
                cr_assert_eq(n_blocks, 199);
                cr_assert_eq(h.n_fds, 200, "the state and 199 blocks, no listener");
                fd = h.fds[0];
                cr_assert_eq(fstat(fd, &st), 0);
                cr_assert_geq((uint64_t) st.st_size, state_size(199), "the state grew");
                for (uint64_t i = 0; state_slot_offset(i) < (uint64_t) st.st_size; i++) {
                        uint8_t rec[STATE_RECORD_SIZE];
                        state_slot slot;

                        cr_assert_eq(pread(fd, rec, sizeof(rec), (off_t) state_slot_offset(i)),
                                     (ssize_t) sizeof(rec));
                        if (state_slot_decode(rec, &slot, NULL, 0) != 1)
                                continue;
                        n_used++;
                        cr_assert_not_null(registry_find(&mgr->reg, slot.uid, slot.name));
                        cr_assert_eq(registry_find(&mgr->reg, slot.uid, slot.name)->id, slot.id);
                }
                cr_assert_eq(n_used, 199);
                manager_handover_done(&h);
        }
}

Test(manager_state, no_more_blocks_than_a_restart_can_hand_back) {
        int sock;
        wire_msg r;

        cr_assert_eq(manager_state_restore(mgr, NULL, NULL, 0), 0);
        /* "b1:b2:b3:" and no more. */
        manager_state_limit_names(mgr, 9);
        sock = fixture_manager_connect(mgr, NULL);
        for (int i = 0; i < 3; i++) {
                char name[8];

                snprintf(name, sizeof(name), "n%d", i);
                cr_assert_eq(ask(sock, WIRE_CREATE, name, 0).type, WIRE_REPLY | WIRE_CREATE);
        }
        r = ask(sock, WIRE_CREATE, "n3", 0);
        cr_assert_eq(r.type, WIRE_ERROR);
        cr_assert_eq(r.error, EMFILE);
        cr_assert_str_eq(r.text, "cannot create block \"n3\": the manager holds 3 blocks, as many "
                                 "as a restart can hand back (their names fill LISTEN_FDNAMES)");
        /* A connection-scoped block is never handed back: it does not count. */
        cr_assert_eq(ask(sock, WIRE_CREATE, "scoped", LMM_CREATE_SCOPE_CONNECTION).type,
                     WIRE_REPLY | WIRE_CREATE);
        /* A release gives its room back: "b6:" takes what "b1:" left. */
        cr_assert_eq(ask(sock, WIRE_RELEASE, "n0", 0).type, WIRE_REPLY | WIRE_RELEASE);
        r = ask(sock, WIRE_CREATE, "n3", 0);
        cr_assert_eq(r.type, WIRE_REPLY | WIRE_CREATE, "%s", r.text);
        cr_assert_eq(r.block.id, 6);
        cr_assert_eq(ask(sock, WIRE_CREATE, "n4", 0).type, WIRE_ERROR);
        close(sock);
}

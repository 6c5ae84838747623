/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-state — the restart state's records: header and slots round-trip,
 * the layout docs/lmmd.md gives, every refusal of a header with its
 * reason, a slot torn or damaged anywhere refused alone, and a slot whose
 * checksum is right but whose fields are not.
 */

#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "siphash.h"
#include "state.h"
#include "util.h"

static const uint8_t check_key[SIPHASH_KEY_SIZE] = "lmm state record";

/* recheck() - the record's checksum made right again after an edit. */
static void recheck(uint8_t *rec) {
        uint64_t c = htole64(siphash24(rec, STATE_RECORD_SIZE - 8, check_key));

        memcpy(rec + STATE_RECORD_SIZE - 8, &c, sizeof(c));
}

static state_slot sample_slot(void) {
        state_slot s = {
                .id = 42,
                .size = 8192,
                .dev = 5,
                .ino = 123456,
                .flags = LMM_BLOCK_FROZEN | LMM_BLOCK_OTHERS_READ,
                .uid = 1000,
                .pid = 4242,
        };

        strcpy(s.name, "frames");
        return s;
}

static uint64_t u64_at(const uint8_t *p) {
        uint64_t v;

        memcpy(&v, p, sizeof(v));
        return le64toh(v);
}

Test(state, header_round_trips_at_the_documented_offsets) {
        uint8_t buf[STATE_RECORD_SIZE * 3];
        state_header h = { .n_slots = 2, .next_id = 7, .next_name = 9, .generation = 3 }, d;
        char why[STATE_WHY_MAX];

        memset(buf, 0, sizeof(buf));
        state_header_encode(&h, buf);
        cr_assert_eq(memcmp(buf, "lmmstate", 8), 0);
        cr_assert_eq(buf[8], STATE_VERSION);
        cr_assert_eq(buf[12], 0x00);
        cr_assert_eq(buf[13], 0x01); /* 256, little-endian */
        cr_assert_eq(u64_at(buf + 16), 2);
        cr_assert_eq(u64_at(buf + 24), 7);
        cr_assert_eq(u64_at(buf + 32), 9);
        cr_assert_eq(u64_at(buf + 40), 3);
        cr_assert_eq(state_header_decode(buf, sizeof(buf), &d, why, sizeof(why)), 0, "%s", why);
        cr_assert_eq(memcmp(&h, &d, sizeof(h)), 0);
        /* Bytes past the announced slots are not looked at: a table grows first. */
        cr_assert_eq(state_header_decode(buf, sizeof(buf), &d, NULL, 0), 0);
}

Test(state, slot_round_trips_and_a_free_slot_is_all_zero) {
        uint8_t rec[STATE_RECORD_SIZE], zero[STATE_RECORD_SIZE] = {};
        state_slot s = sample_slot(), d;

        state_slot_encode(&s, rec);
        cr_assert_eq(u64_at(rec), 42);
        cr_assert_eq(rec[44], 6);
        cr_assert_eq(memcmp(rec + 45, "frames", 6), 0);
        cr_assert_eq(state_slot_decode(rec, &d, NULL, 0), 1);
        cr_assert_eq(memcmp(&s, &d, sizeof(s)), 0);

        state_slot_encode(NULL, rec);
        cr_assert_eq(memcmp(rec, zero, sizeof(rec)), 0);
        cr_assert_eq(state_slot_decode(rec, &d, NULL, 0), 0);

        /* The longest name, every byte a name may have. */
        memset(s.name, 0, sizeof(s.name));
        for (int i = 0; i < LMM_NAME_MAX; i++) {
                char ch = (char) (0x20 + i % 0x5f);

                s.name[i] = ch == '/' ? 'x' : ch;
        }
        s.name[LMM_NAME_MAX - 1] = (char) 0xff;
        state_slot_encode(&s, rec);
        cr_assert_eq(state_slot_decode(rec, &d, NULL, 0), 1);
        cr_assert_str_eq(d.name, s.name);
}

static void expect_header_refused(const uint8_t *buf, size_t len, const char *why_prefix) {
        char why[STATE_WHY_MAX] = "";
        state_header h;

        cr_assert_eq(state_header_decode(buf, len, &h, why, sizeof(why)), -EBADMSG);
        cr_assert_eq(strncmp(why, why_prefix, strlen(why_prefix)), 0, "why: \"%s\", not \"%s\"",
                     why, why_prefix);
}

Test(state, a_bad_header_is_refused_with_its_reason) {
        uint8_t buf[STATE_RECORD_SIZE * 2];
        state_header h = { .n_slots = 1, .next_id = 1, .next_name = 1 };

        state_header_encode(&h, buf);
        state_slot_encode(NULL, buf + STATE_RECORD_SIZE);
        expect_header_refused(buf, 255, "truncated: 255 bytes, less than a header (256)");
        expect_header_refused(buf, 256, "truncated: 1 slots announced, 256 bytes hold 0");
        expect_header_refused(buf, 300, "truncated: 1 slots announced, 300 bytes hold 0");

        buf[0] = 'L';
        expect_header_refused(buf, sizeof(buf), "not an lmmd state");
        buf[0] = 'l';
        buf[8] = 2;
        recheck(buf);
        expect_header_refused(buf, sizeof(buf), "format version 2, this lmmd reads 1");
        buf[8] = 1;
        buf[13] = 2;
        recheck(buf);
        expect_header_refused(buf, sizeof(buf), "records of 512 bytes, this lmmd's are 256");
        buf[13] = 1;
        recheck(buf);
        buf[17] = 1; /* n_slots, without the checksum that goes with it */
        expect_header_refused(buf, sizeof(buf), "the header's checksum does not match");
        buf[17] = 0;
        buf[100] = 1;
        recheck(buf);
        expect_header_refused(buf, sizeof(buf), "reserved header bytes are not zero");

        h.next_id = 0;
        state_header_encode(&h, buf);
        expect_header_refused(buf, sizeof(buf), "a counter is 0");
        h = (state_header){ .n_slots = STATE_SLOTS_MAX + 1, .next_id = 1, .next_name = 1 };
        state_header_encode(&h, buf);
        expect_header_refused(buf, sizeof(buf), "1048577 slots, more than the 1048576 allowed");
}

Test(state, a_slot_damaged_anywhere_is_refused) {
        uint8_t rec[STATE_RECORD_SIZE], bad[STATE_RECORD_SIZE];
        state_slot s = sample_slot(), d;
        char why[STATE_WHY_MAX];

        state_slot_encode(&s, rec);
        for (size_t i = 0; i < STATE_RECORD_SIZE; i++)
                for (unsigned bit = 0; bit < 8; bit++) {
                        memcpy(bad, rec, sizeof(bad));
                        bad[i] ^= (uint8_t) (1u << bit);
                        cr_assert_eq(state_slot_decode(bad, &d, why, sizeof(why)), -EBADMSG,
                                     "byte %zu bit %u", i, bit);
                }
        /* Torn: the first part of a new record over an old one, at any length. */
        for (size_t k = 1; k < STATE_RECORD_SIZE; k++) {
                state_slot t = sample_slot();

                t.id = 43;
                strcpy(t.name, "other");
                state_slot_encode(&t, bad);
                memcpy(bad + k, rec + k, STATE_RECORD_SIZE - k);
                cr_assert_eq(state_slot_decode(bad, &d, why, sizeof(why)), -EBADMSG, "torn at %zu",
                             k);
                cr_assert_str_eq(why, "its checksum does not match its bytes (a write cut short?)");
        }
}

/* A slot with a right checksum and one wrong field, and what the decoder says. */
static void expect_slot_refused(void (*edit)(uint8_t *rec), const char *why_part) {
        uint8_t rec[STATE_RECORD_SIZE];
        state_slot s = sample_slot(), d;
        char why[STATE_WHY_MAX] = "";

        state_slot_encode(&s, rec);
        edit(rec);
        recheck(rec);
        cr_assert_eq(state_slot_decode(rec, &d, why, sizeof(why)), -EBADMSG, "%s", why_part);
        cr_assert_not_null(strstr(why, why_part), "why: \"%s\", not \"%s\"", why, why_part);
}

static void id_zero(uint8_t *r) {
        memset(r, 0, 8);
}
static void name_empty(uint8_t *r) {
        r[44] = 0;
        memset(r + 45, 0, 6);
}
static void name_too_long(uint8_t *r) {
        r[44] = LMM_NAME_MAX + 1;
}
static void name_slash(uint8_t *r) {
        r[47] = '/';
}
static void name_nul(uint8_t *r) {
        r[47] = 0;
}
static void name_control(uint8_t *r) {
        r[45] = '\n';
}
static void padding(uint8_t *r) {
        r[200] = 1;
}
static void flags_scope(uint8_t *r) {
        r[32] |= LMM_BLOCK_SCOPE_CONNECTION;
}
static void flags_unknown(uint8_t *r) {
        r[35] = 0x80;
}
static void flags_write_without_read(uint8_t *r) {
        r[32] = LMM_BLOCK_OTHERS_WRITE;
}
static void size_zero(uint8_t *r) {
        memset(r + 8, 0, 8);
}
static void size_huge(uint8_t *r) {
        r[15] = 0x80;
}
static void uid_minus_one(uint8_t *r) {
        memset(r + 36, 0xff, 4);
}
static void pid_negative(uint8_t *r) {
        r[43] = 0x80;
}

Test(state, a_slot_whose_fields_are_wrong_is_refused) {
        expect_slot_refused(id_zero, "id 0");
        expect_slot_refused(name_empty, "a name of 0 bytes");
        expect_slot_refused(name_too_long, "a name of 201 bytes");
        expect_slot_refused(name_slash, "its name is not valid");
        expect_slot_refused(name_nul, "its name is not valid");
        expect_slot_refused(name_control, "its name is not valid");
        expect_slot_refused(padding, "reserved bytes are not zero");
        expect_slot_refused(flags_scope, "a field out of range");
        expect_slot_refused(flags_unknown, "a field out of range");
        expect_slot_refused(flags_write_without_read, "a field out of range");
        expect_slot_refused(size_zero, "a field out of range");
        expect_slot_refused(size_huge, "a field out of range");
        expect_slot_refused(uid_minus_one, "a field out of range");
        expect_slot_refused(pid_negative, "a field out of range");
}

Test(state, the_encoder_takes_only_what_decodes) {
        state_slot s = sample_slot();

        cr_assert(state_slot_is_valid(&s));
        s.flags |= LMM_BLOCK_SCOPE_CONNECTION;
        cr_assert_not(state_slot_is_valid(&s), "a connection-scoped block is never recorded");
        s = sample_slot();
        s.name[0] = 0;
        cr_assert_not(state_slot_is_valid(&s));
}

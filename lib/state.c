/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * state — encode and decode the restart state's records. See state.h, and
 * docs/lmmd.md for the layout.
 *
 * Header record:                         Slot record:
 *   0  u64 magic "lmmstate"                0  u64 id (0: a free slot, all zero)
 *   8  u32 version (1)                     8  u64 size
 *  12  u32 record size (256)              16  u64 dev
 *  16  u64 n_slots                        24  u64 ino
 *  24  u64 next_id                        32  u32 flags
 *  32  u64 next_name                      36  u32 uid
 *  40  u64 generation                     40  i32 pid
 *  48  zero                               44  u8  name length (1..200)
 * 248  u64 check                          45  name, then zero
 *                                        248  u64 check
 *
 * check is SipHash-2-4 of the record's first 248 bytes under a fixed key:
 * not a secret, a detector of records that were not written whole.
 */

#include <endian.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "siphash.h"
#include "state.h"
#include "util.h"

#define CHECK_OFFSET (STATE_RECORD_SIZE - 8)
#define NAME_OFFSET 45

static const uint8_t magic[8] = { 'l', 'm', 'm', 's', 't', 'a', 't', 'e' };
static const uint8_t check_key[SIPHASH_KEY_SIZE] = "lmm state record";

static void put_u32(uint8_t *p, uint32_t v) {
        v = htole32(v);
        memcpy(p, &v, sizeof(v));
}

static void put_u64(uint8_t *p, uint64_t v) {
        v = htole64(v);
        memcpy(p, &v, sizeof(v));
}

static uint32_t get_u32(const uint8_t *p) {
        uint32_t v;

        memcpy(&v, p, sizeof(v));
        return le32toh(v);
}

static uint64_t get_u64(const uint8_t *p) {
        uint64_t v;

        memcpy(&v, p, sizeof(v));
        return le64toh(v);
}

static uint64_t check_of(const uint8_t *rec) {
        return siphash24(rec, CHECK_OFFSET, check_key);
}

static bool all_zero(const uint8_t *p, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (p[i])
                        return false;
        return true;
}

/* A reason for a refusal, into @why (may be NULL). Return: -EBADMSG. */
static int refuse(char *why, size_t why_size, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static int refuse(char *why, size_t why_size, const char *fmt, ...) {
        va_list ap;

        if (why && why_size > 0) {
                va_start(ap, fmt);
                vsnprintf(why, why_size, fmt, ap);
                va_end(ap);
        }
        return -EBADMSG;
}

void state_header_encode(const state_header *h, uint8_t out[static STATE_RECORD_SIZE]) {
        memset(out, 0, STATE_RECORD_SIZE);
        memcpy(out, magic, sizeof(magic));
        put_u32(out + 8, STATE_VERSION);
        put_u32(out + 12, STATE_RECORD_SIZE);
        put_u64(out + 16, h->n_slots);
        put_u64(out + 24, h->next_id);
        put_u64(out + 32, h->next_name);
        put_u64(out + 40, h->generation);
        put_u64(out + CHECK_OFFSET, check_of(out));
}

int state_header_decode(const uint8_t *buf, size_t len, state_header *ret, char *why,
                        size_t why_size) {
        state_header h;
        uint32_t version, record;

        if (len < STATE_RECORD_SIZE)
                return refuse(why, why_size, "truncated: %zu bytes, less than a header (%d)", len,
                              STATE_RECORD_SIZE);
        if (memcmp(buf, magic, sizeof(magic)) != 0)
                return refuse(why, why_size, "not an lmmd state (no \"lmmstate\" magic)");
        version = get_u32(buf + 8);
        if (version != STATE_VERSION)
                return refuse(why, why_size, "format version %" PRIu32 ", this lmmd reads %d",
                              version, STATE_VERSION);
        record = get_u32(buf + 12);
        if (record != STATE_RECORD_SIZE)
                return refuse(why, why_size, "records of %" PRIu32 " bytes, this lmmd's are %d",
                              record, STATE_RECORD_SIZE);
        if (get_u64(buf + CHECK_OFFSET) != check_of(buf))
                return refuse(why, why_size, "the header's checksum does not match its bytes");
        if (!all_zero(buf + 48, CHECK_OFFSET - 48))
                return refuse(why, why_size, "reserved header bytes are not zero");
        h = (state_header){
                .n_slots = get_u64(buf + 16),
                .next_id = get_u64(buf + 24),
                .next_name = get_u64(buf + 32),
                .generation = get_u64(buf + 40),
        };
        if (h.next_id == 0 || h.next_name == 0)
                return refuse(why, why_size,
                              "a counter is 0 (next id %" PRIu64 ", next name %" PRIu64 ")",
                              h.next_id, h.next_name);
        if (h.n_slots > STATE_SLOTS_MAX)
                return refuse(why, why_size, "%" PRIu64 " slots, more than the %" PRIu64 " allowed",
                              h.n_slots, STATE_SLOTS_MAX);
        if (len < state_size(h.n_slots))
                return refuse(why, why_size,
                              "truncated: %" PRIu64 " slots announced, %zu bytes hold %zu",
                              h.n_slots, len, len / STATE_RECORD_SIZE - 1);
        *ret = h;
        return 0;
}

bool state_slot_is_valid(const state_slot *s) {
        size_t n = strnlen(s->name, LMM_NAME_MAX + 1);

        return s->id != 0 && s->size != 0 && s->size <= INT64_MAX &&
               (s->flags & ~(uint32_t) STATE_SLOT_FLAGS) == 0 &&
               (!(s->flags & LMM_BLOCK_OTHERS_WRITE) || (s->flags & LMM_BLOCK_OTHERS_READ)) &&
               s->uid != UINT32_MAX && s->pid >= 0 && name_is_valid(s->name, n);
}

void state_slot_encode(const state_slot *s, uint8_t out[static STATE_RECORD_SIZE]) {
        size_t n;

        memset(out, 0, STATE_RECORD_SIZE);
        if (!s)
                return;
        n = strnlen(s->name, LMM_NAME_MAX);
        put_u64(out, s->id);
        put_u64(out + 8, s->size);
        put_u64(out + 16, s->dev);
        put_u64(out + 24, s->ino);
        put_u32(out + 32, s->flags);
        put_u32(out + 36, s->uid);
        put_u32(out + 40, (uint32_t) s->pid);
        out[44] = (uint8_t) n;
        memcpy(out + NAME_OFFSET, s->name, n);
        put_u64(out + CHECK_OFFSET, check_of(out));
}

int state_slot_decode(const uint8_t in[static STATE_RECORD_SIZE], state_slot *ret, char *why,
                      size_t why_size) {
        state_slot s = {};
        size_t n;

        if (all_zero(in, STATE_RECORD_SIZE))
                return 0;
        if (get_u64(in + CHECK_OFFSET) != check_of(in))
                return refuse(why, why_size,
                              "its checksum does not match its bytes (a write cut short?)");
        s.id = get_u64(in);
        s.size = get_u64(in + 8);
        s.dev = get_u64(in + 16);
        s.ino = get_u64(in + 24);
        s.flags = get_u32(in + 32);
        s.uid = get_u32(in + 36);
        s.pid = (int32_t) get_u32(in + 40);
        n = in[44];
        if (s.id == 0)
                return refuse(why, why_size, "id 0");
        if (n == 0 || n > LMM_NAME_MAX)
                return refuse(why, why_size, "block %" PRIu64 ": a name of %zu bytes", s.id, n);
        if (!name_is_valid((const char *) in + NAME_OFFSET, n))
                return refuse(why, why_size, "block %" PRIu64 ": its name is not valid", s.id);
        memcpy(s.name, in + NAME_OFFSET, n);
        s.name[n] = 0;
        if (!all_zero(in + NAME_OFFSET + n, CHECK_OFFSET - NAME_OFFSET - n))
                return refuse(why, why_size, "block %" PRIu64 ": reserved bytes are not zero",
                              s.id);
        if (!state_slot_is_valid(&s))
                return refuse(why, why_size,
                              "block %" PRIu64 ": a field out of range (size %" PRIu64
                              ", flags 0x%" PRIx32 ", uid %" PRIu32 ", pid %" PRId32
                              ", or its name)",
                              s.id, s.size, s.flags, s.uid, s.pid);
        *ret = s;
        return 1;
}

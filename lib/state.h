/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * state — the manager's restart state as bytes, and back: a header and a
 * table of fixed-size slots, one per block that outlives its connection.
 * Pure: no I/O, no fds, no globals; a fuzzer drives the decoder with bytes
 * alone (tests/fuzz/fuzz-state.c).
 *
 * Layout (little-endian; docs/lmmd.md): the header is record 0, slot i is
 * record i + 1, every record STATE_RECORD_SIZE bytes and ending in a
 * SipHash-2-4 of the rest under a fixed key, so that a record torn by a
 * crash in the middle of its write, or damaged by anyone, is told apart
 * from one that was written whole. A record never crosses a page, and one
 * change is one record written: the header only when a counter passes the
 * value it holds (manager-state.c).
 *
 * Guarantees: the decoders read only inside the bytes they are given and
 * accept only what the encoders write (canonical: every reserved byte zero,
 * a name of 1 to LMM_NAME_MAX valid bytes, no flag the manager does not
 * set); a bad slot is refused alone and says why, so that one never
 * poisons the others; a bad header refuses the whole state.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lmm.h"

#define STATE_VERSION 1
#define STATE_RECORD_SIZE 256
/* Slots a state may announce: more than any manager's fd table holds blocks
 * (half of RLIMIT_NOFILE, whose ceiling is fs.nr_open, 2^20 by default). */
#define STATE_SLOTS_MAX (UINT64_C(1) << 20)
/* Room for a reason in the decoders' messages. */
#define STATE_WHY_MAX 128

/* The flags a slot may carry: a connection-scoped block is never recorded. */
#define STATE_SLOT_FLAGS                                                                    \
        (LMM_BLOCK_HUGETLB | LMM_BLOCK_FROZEN | LMM_BLOCK_ADOPTED | LMM_BLOCK_OTHERS_READ | \
         LMM_BLOCK_OTHERS_WRITE)

typedef struct state_header {
        uint64_t n_slots;    /* records after the header */
        uint64_t next_id;    /* no block of this state has an id from here on (>= 1) */
        uint64_t next_name;  /* the counter behind made-up names, from here on (>= 1) */
        uint64_t generation; /* how many times a manager restored this state */
} state_header;

typedef struct state_slot {
        uint64_t id; /* >= 1 */
        uint64_t size;
        uint64_t dev; /* the memfd's st_dev and st_ino: which memory the block is */
        uint64_t ino;
        uint32_t flags; /* LMM_BLOCK_*, within STATE_SLOT_FLAGS */
        uint32_t uid;
        int32_t pid;
        char name[LMM_NAME_MAX + 1];
} state_slot;

/* state_slot_offset() - where slot @i starts. */
static inline uint64_t state_slot_offset(uint64_t i) {
        return STATE_RECORD_SIZE * (i + 1);
}

/* state_size() - the bytes a state of @n_slots slots takes. */
static inline uint64_t state_size(uint64_t n_slots) {
        return state_slot_offset(n_slots);
}

/* state_header_encode() - @h as the header record. */
void state_header_encode(const state_header *h, uint8_t out[static STATE_RECORD_SIZE]);

/*
 * state_header_decode() - the header of a whole state of @len bytes at @buf.
 * Bytes past the last slot it announces are not looked at (a table grows
 * before its header says so).
 * Return: 0 and *ret; -EBADMSG with the reason in @why (a NUL-terminated
 * line of at most @why_size bytes): truncated, not a state, another format
 * version, a checksum that does not match, counters or sizes out of range.
 */
int state_header_decode(const uint8_t *buf, size_t len, state_header *ret, char *why,
                        size_t why_size);

/* state_slot_encode() - @s as a slot record; NULL: a free slot (all zero). @s must be valid. */
void state_slot_encode(const state_slot *s, uint8_t out[static STATE_RECORD_SIZE]);

/*
 * state_slot_decode() - one slot record.
 * Return: 1 and *ret for a block; 0 for a free slot (*ret untouched);
 * -EBADMSG with the reason in @why for a record that is neither.
 */
int state_slot_decode(const uint8_t in[static STATE_RECORD_SIZE], state_slot *ret, char *why,
                      size_t why_size);

/* state_slot_is_valid() - whether state_slot_encode() may encode @s. */
bool state_slot_is_valid(const state_slot *s);

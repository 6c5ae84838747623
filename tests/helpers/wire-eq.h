/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * wire-eq — what the wire tests and the wire fuzzer share: whether two
 * decoded messages are the same message, and a little writer that builds
 * raw (possibly malformed) messages byte by byte, little-endian, as
 * docs/protocol.md lays them out.
 *
 * Messages compared here must come from wire_decode() or from a
 * zero-initialised wire_msg: fields a type does not use are compared too,
 * and those are zero in both.
 */

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "wire.h"

static inline bool wire_block_eq(const wire_block *a, const wire_block *b) {
        return a->id == b->id && a->size == b->size && a->seals == b->seals &&
               a->flags == b->flags && a->uid == b->uid && a->pid == b->pid && a->dev == b->dev &&
               a->ino == b->ino && strcmp(a->name, b->name) == 0;
}

static inline bool wire_msg_eq(const wire_msg *a, const wire_msg *b) {
        if (a->type != b->type || a->serial != b->serial || a->size != b->size ||
            a->flags != b->flags || a->cursor != b->cursor || strcmp(a->name, b->name) != 0 ||
            !wire_block_eq(&a->block, &b->block) || a->n_blocks != b->n_blocks ||
            a->next_cursor != b->next_cursor || a->error != b->error ||
            strcmp(a->text, b->text) != 0)
                return false;
        for (size_t i = 0; i < a->n_blocks; i++)
                if (!wire_block_eq(&a->blocks[i], &b->blocks[i]))
                        return false;
        return true;
}

/* A raw message under construction; room for more than WIRE_MESSAGE_MAX so
 * that oversized messages can be built too. */
typedef struct raw_msg {
        uint8_t b[WIRE_MESSAGE_MAX + 64];
        size_t n;
} raw_msg;

static inline void raw_bytes(raw_msg *r, const void *p, size_t n) {
        if (r->n + n > sizeof(r->b))
                __builtin_trap();
        memcpy(r->b + r->n, p, n);
        r->n += n;
}
static inline void raw_u16(raw_msg *r, uint16_t v) {
        uint8_t x[2] = { (uint8_t) v, (uint8_t) (v >> 8) };
        raw_bytes(r, x, sizeof(x));
}
static inline void raw_u32(raw_msg *r, uint32_t v) {
        raw_u16(r, (uint16_t) v);
        raw_u16(r, (uint16_t) (v >> 16));
}
static inline void raw_u64(raw_msg *r, uint64_t v) {
        raw_u32(r, (uint32_t) v);
        raw_u32(r, (uint32_t) (v >> 32));
}
/* A string as the wire has it: u16 length, bytes, no NUL. */
static inline void raw_str(raw_msg *r, const void *s, size_t n) {
        raw_u16(r, (uint16_t) n);
        raw_bytes(r, s, n);
}
/* Header with a body length of 0, to be fixed by raw_fix(). */
static inline void raw_header(raw_msg *r, uint16_t version, uint16_t type, uint32_t serial) {
        r->n = 0;
        raw_u16(r, version);
        raw_u16(r, type);
        raw_u32(r, serial);
        raw_u32(r, 0);
}
/* Set the header's body length to what follows the header. */
static inline void raw_fix(raw_msg *r) {
        uint32_t body = (uint32_t) (r->n - WIRE_HEADER_SIZE);
        for (unsigned i = 0; i < 4; i++)
                r->b[8 + i] = (uint8_t) (body >> (8 * i));
}
/* A block record with a name of @n bytes. */
static inline void raw_block(raw_msg *r, const char *name, size_t n) {
        raw_u64(r, 1);    /* id */
        raw_u64(r, 4096); /* size */
        raw_u32(r, 3);    /* seals */
        raw_u32(r, 0);    /* flags */
        raw_u32(r, 1000); /* uid */
        raw_u32(r, 42);   /* pid */
        raw_u64(r, 33);   /* dev */
        raw_u64(r, 77);   /* ino */
        raw_str(r, name, n);
}

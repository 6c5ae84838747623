/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * wire — the lmm protocol's messages as bytes, and back. Pure: no I/O, no
 * fds, no globals; a fuzzer or a unit test drives it with bytes alone.
 *
 * Guarantees: wire_decode() reads only inside the buffer it is given,
 * rejects any message that is not exactly well-formed (wrong version,
 * unknown type, length mismatch, bad name, trailing bytes) with -EBADMSG or
 * -EPROTONOSUPPORT, and never allocates more than the message size justifies.
 * docs/protocol.md is the specification; this file implements it.
 */

#include <stddef.h>
#include <stdint.h>

#include "lmm.h"

#define WIRE_VERSION 2
#define WIRE_HEADER_SIZE 12
/* Largest message in either direction, header included. */
#define WIRE_MESSAGE_MAX (64 * 1024)
/* Longest error text in an error reply. */
#define WIRE_ERROR_TEXT_MAX 255
/* A block record on the wire, at its largest. */
#define WIRE_BLOCK_MAX (8 + 8 + 4 + 4 + 4 + 4 + 8 + 8 + 2 + LMM_NAME_MAX)
/* Most fds that any message carries. */
#define WIRE_FDS_MAX 1
/* Largest message but a LIST reply: a reply with a block record (an error,
 * and every request, are smaller). What a client can read replies into
 * when no LIST is among the calls it waits for. */
#define WIRE_SMALL_MESSAGE_MAX (WIRE_HEADER_SIZE + WIRE_BLOCK_MAX)

typedef enum wire_type {
        WIRE_CREATE = 1,
        WIRE_OPEN = 2,
        WIRE_RELEASE = 3,
        WIRE_FREEZE = 4,
        WIRE_STAT = 5,
        WIRE_LIST = 6,
        WIRE_SHUTDOWN = 7,
        WIRE_ADOPT = 8,
        WIRE_REEXEC = 9,
        _WIRE_REQUEST_MAX,

        WIRE_REPLY = 0x8000, /* | request type: success */
        WIRE_ERROR = 0xffff,
} wire_type;

typedef struct wire_block {
        uint64_t id;
        uint64_t size;
        uint32_t seals;
        uint32_t flags;
        uint32_t uid;
        int32_t pid;
        uint64_t dev; /* st_dev and st_ino of the memfd: which memory it is */
        uint64_t ino;
        char name[LMM_NAME_MAX + 1];
} wire_block;

typedef struct wire_msg {
        uint16_t type;
        uint32_t serial;

        /* Requests: CREATE (size, flags, name), OPEN and ADOPT (flags, name),
         * RELEASE, FREEZE, STAT (name), LIST (cursor). name may be empty for
         * CREATE and ADOPT only; OPEN, RELEASE, FREEZE and STAT may name
         * another user's block as UID/NAME. */
        uint64_t size;
        uint32_t flags;
        uint64_t cursor;
        char name[LMM_NAME_MAX + 1];
        /* Decoded requests only: the name field was well framed but held a
         * name no block may have; name is then empty. A name is data: the
         * manager answers EINVAL rather than end the connection. */
        bool name_invalid;

        /* Replies to CREATE, OPEN, ADOPT and STAT: one block. */
        wire_block block;

        /* Reply to LIST: blocks after the request's cursor, and the cursor to
         * ask for next (0: that was all). Encoding borrows @blocks; decoding
         * allocates it, released by wire_msg_done(). */
        wire_block *blocks;
        size_t n_blocks;
        uint64_t next_cursor;

        /* ERROR: a positive errno and a one-line explanation. */
        int32_t error;
        char text[WIRE_ERROR_TEXT_MAX + 1];
} wire_msg;

/* How many blocks fit in one LIST reply. */
#define WIRE_LIST_MAX ((WIRE_MESSAGE_MAX - WIRE_HEADER_SIZE - 8 - 2) / WIRE_BLOCK_MAX)

/* wire_encode() - write @m into @buf. Return: 0 and *ret_len, -ENOBUFS, -EINVAL for a bad message. */
int wire_encode(const wire_msg *m, uint8_t *buf, size_t size, size_t *ret_len);

/* wire_decode() - parse @len bytes. On success *ret must be released with wire_msg_done(). */
int wire_decode(const uint8_t *buf, size_t len, wire_msg *ret);

void wire_msg_done(wire_msg *m);

/* wire_fds_expected() - how many fds a message of @type carries. */
unsigned wire_fds_expected(uint16_t type);

/* wire_type_name() - "CREATE", "REPLY", "ERROR", ...; never NULL. */
const char *wire_type_name(uint16_t type);

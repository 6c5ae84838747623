/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * block-pass — the message that carries one block to a running process
 * (lmm_block_send(), lmm_block_recv()): its encoding, pure, so that a unit
 * test or a fuzzer can drive it with bytes alone. docs/workers.md has the
 * format for peers that do not use liblmm.
 *
 *   offset  size  field
 *        0     4  magic "LMMB" (0x4c 0x4d 0x4d 0x42)
 *        4     2  version, 1
 *        6     2  name length N, 0..LMM_NAME_MAX
 *        8     4  flags: bit 0 read-only; the others 0
 *       12     4  reserved, 0
 *       16     8  size of the block in bytes
 *       24     N  name, no NUL
 * every integer little-endian; exactly one fd rides with it (SCM_RIGHTS).
 */

#include <stddef.h>
#include <stdint.h>

#include "lmm.h"

#define BLOCK_MSG_MAGIC UINT32_C(0x424d4d4c) /* "LMMB" read as little-endian */
#define BLOCK_MSG_VERSION 1
#define BLOCK_MSG_HEADER_SIZE 24
#define BLOCK_MSG_MAX (BLOCK_MSG_HEADER_SIZE + LMM_NAME_MAX)

enum {
        BLOCK_MSG_READ_ONLY = 1u << 0,
};

typedef struct block_msg {
        uint32_t flags; /* BLOCK_MSG_* */
        uint64_t size;
        size_t name_len;             /* 0: no name */
        char name[LMM_NAME_MAX + 1]; /* NUL-terminated */
} block_msg;

/* block_msg_encode() - @m into @buf (BLOCK_MSG_MAX bytes). Return: the length, or -EINVAL. */
int block_msg_encode(const block_msg *m, uint8_t *buf);

/*
 * block_msg_decode_header() - the header's fields, checked, into @ret (name
 * not yet). @len must be BLOCK_MSG_HEADER_SIZE or more.
 * Return: 0; -EBADMSG (magic, name length, unknown flag, reserved bits);
 * -EPROTONOSUPPORT (another version).
 */
int block_msg_decode_header(const uint8_t *buf, size_t len, block_msg *ret);

/*
 * block_msg_decode() - a whole message of @len bytes: its header, then a
 * name of exactly the length announced, valid as lmm.h's names are
 * (NAME or UID/NAME). Return: 0, or as block_msg_decode_header(); -EBADMSG
 * for a length or name that does not fit.
 */
int block_msg_decode(const uint8_t *buf, size_t len, block_msg *ret);

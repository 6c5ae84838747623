/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * list-layout — the layout of a shareable list inside a block, pure: every
 * function works on a (base, size) memory region and does no I/O, so that
 * unit tests and fuzzers can drive it with a malloc'd buffer. The public
 * lmm_list_*() API (list.c) sits on top of it with segments.
 *
 * Guarantees: nothing in the region is trusted. Every offset and length is
 * checked against the region's size at open, and every descriptor field is
 * read once, into a local, and checked again on every access, because
 * another process can scribble on the block at any time. A corrupt region
 * yields -EBADMSG, never an access outside it; an item whose writer died
 * mid-write yields -EBUSY after lock_timeout_nsec, never a hang. Each item is
 * read and written whole (a per-item seqlock), across processes.
 *
 * Byte layout, seqlock protocol and limits: docs/shareable-list.md.
 */

#include <stdint.h>

#include "lmm.h"

#define LIST_MAGIC UINT64_C(0x005453494c4d4d4c) /* "LMMLIST\0" as little-endian bytes */
#define LIST_VERSION 1u
#define LIST_HEADER_SIZE 64u
#define LIST_DESC_SIZE 40u
/* Default: how long an access waits for an item a writer holds. */
#define LIST_LOCK_TIMEOUT_NSEC UINT64_C(1000000000)

/* Header, at offset 0 (all fields little-endian). */
enum {
        LIST_HDR_MAGIC = 0,        /* u64 LIST_MAGIC, written last at init */
        LIST_HDR_VERSION = 8,      /* u32 LIST_VERSION */
        LIST_HDR_HEADER_SIZE = 12, /* u32 LIST_HEADER_SIZE */
        LIST_HDR_COUNT = 16,       /* u64 number of items */
        LIST_HDR_DESC_SIZE = 24,   /* u32 LIST_DESC_SIZE */
        LIST_HDR_FLAGS = 28,       /* u32 0 */
        LIST_HDR_DESC_OFFSET = 32, /* u64 offset of descriptor 0 */
        LIST_HDR_DATA_OFFSET = 40, /* u64 offset of the slot area */
        LIST_HDR_DATA_SIZE = 48,   /* u64 size of the slot area */
        LIST_HDR_TOTAL_SIZE = 56,  /* u64 data_offset + data_size, <= block size */
};

/* Descriptor i, at desc_offset + i * LIST_DESC_SIZE. */
enum {
        LIST_DESC_SEQ = 0,          /* u64 sequence: even stable, odd being written */
        LIST_DESC_TYPE = 8,         /* u32 lmm_item_type */
        LIST_DESC_RESERVED = 12,    /* u32 0 */
        LIST_DESC_VALUE = 16,       /* u64 int64, double bits, bool, or STR/BYTES length */
        LIST_DESC_SLOT_OFFSET = 24, /* u64 slot offset within the slot area */
        LIST_DESC_SLOT_SIZE = 32,   /* u64 slot size */
};

/* A list found valid by list_layout_open(): private copies of the header. */
typedef struct list_layout {
        uint8_t *base;
        uint64_t size;
        uint64_t count;
        uint64_t desc_offset;
        uint64_t data_offset;
        uint64_t data_size;
        uint64_t lock_timeout_nsec; /* tests lower it */
} list_layout;

/* list_layout_size() - bytes a list of @items needs. Return: 0, -EINVAL, -EILSEQ. */
int list_layout_size(const lmm_item *items, size_t n, uint64_t *ret_size);

/*
 * list_layout_init() - lay out @items in @base (@size bytes, 8-aligned, zeroed
 * or not), publishing the magic last. Return: 0, -EINVAL, -EILSEQ, -ENOSPC
 * when @size is too small.
 */
int list_layout_init(void *base, uint64_t size, const lmm_item *items, size_t n);

/*
 * list_layout_open() - validate the header and every descriptor against
 * @size, and copy the header into @ret. O(n). Return: 0, -EBADMSG.
 */
int list_layout_open(void *base, uint64_t size, list_layout *ret);

/* As lmm_list_get(), lmm_list_set(), lmm_list_count(), lmm_list_index(). */
int list_layout_get(const list_layout *l, uint64_t i, lmm_item *ret, void *buf, size_t bufsize);
int list_layout_set(const list_layout *l, uint64_t i, const lmm_item *v);
int list_layout_count(const list_layout *l, const lmm_item *v);
int list_layout_index(const list_layout *l, const lmm_item *v, uint64_t *ret);

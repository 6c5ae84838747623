/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz-list — arbitrary bytes as a shareable list region. list_layout_open()
 * must accept them or refuse them with -EBADMSG. A list that opens is
 * exercised whole: get of every index with no buffer, a small one and one
 * larger than any slot; count and index of a few values; then, on a private
 * copy (the input is never written), set of every index, get again, which
 * must give back exactly what was set, and open again, which must succeed.
 * The region is an allocation of exactly the input's size, so ASan sees
 * any access outside it. Any other outcome aborts, which libFuzzer reports
 * as a crash.
 * Linked with libFuzzer (-Dfuzz=true) or with fuzz-main.c (always).
 */

#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-target.h"
#include "list-layout.h"
#include "util.h"

#define SMALL_BUF 8

static bool type_has_buf(lmm_item_type t) {
        return t == LMM_ITEM_STR || t == LMM_ITEM_BYTES;
}

/* Same item: @exact compares doubles by their bits (a set read back), else with == (count). */
static bool item_eq(const lmm_item *a, const lmm_item *b, bool exact) {
        if (a->type != b->type)
                return false;
        switch (a->type) {
        case LMM_ITEM_INT:
                return a->i == b->i;
        case LMM_ITEM_DOUBLE:
                return exact ? memcmp(&a->d, &b->d, sizeof(a->d)) == 0 : a->d == b->d;
        case LMM_ITEM_BOOL:
                return a->b == b->b;
        case LMM_ITEM_STR:
        case LMM_ITEM_BYTES:
                return a->buf.len == b->buf.len &&
                       (a->buf.len == 0 || memcmp(a->buf.data, b->buf.data, a->buf.len) == 0);
        default:
                return true;
        }
}

/* get of item @i with @big (larger than any slot), @small (SMALL_BUF bytes) and no buffer,
 * which must agree. Return: the result with @big, whose item is in @ret. */
static int check_get(const list_layout *l, uint64_t i, uint8_t *big, size_t big_size,
                     uint8_t *small, lmm_item *ret) {
        lmm_item v = {}, s = {}, z = {};
        int r, rs, rz;

        r = list_layout_get(l, i, &v, big, big_size);
        fuzz_check(r == 0 || r == -EBADMSG || r == -EBUSY, "get(%" PRIu64 ") returned %d", i, r);
        if (r == 0) {
                fuzz_check((unsigned) v.type <= LMM_ITEM_BYTES, "get(%" PRIu64 "): type %d", i,
                           v.type);
                fuzz_check(v.capacity <= l->data_size, "get(%" PRIu64 "): slot of %zu bytes", i,
                           v.capacity);
                if (type_has_buf(v.type)) {
                        fuzz_check(v.buf.len <= v.capacity && v.buf.data == big &&
                                           big[v.buf.len] == 0,
                                   "get(%" PRIu64 "): %zu bytes in a slot of %zu", i, v.buf.len,
                                   v.capacity);
                        fuzz_check(v.type != LMM_ITEM_STR || utf8_is_valid(big, v.buf.len),
                                   "get(%" PRIu64 "): a string that is not UTF-8", i);
                }
        }

        rs = list_layout_get(l, i, &s, small, SMALL_BUF);
        rz = list_layout_get(l, i, &z, NULL, 0);
        if (r == -EBUSY)
                fuzz_check(rs == -EBUSY && rz == -EBUSY, "get(%" PRIu64 ") busy only sometimes", i);
        if (r == -EBADMSG) /* a string that is not UTF-8, or not copied to find out */
                fuzz_check((rs == -EBADMSG || rs == -ENOBUFS) && (rz == -EBADMSG || rz == -ENOBUFS),
                           "get(%" PRIu64 ") refused only sometimes: %d, %d", i, rs, rz);
        if (r == 0 && type_has_buf(v.type)) {
                fuzz_check(rs == (v.buf.len > SMALL_BUF ? -ENOBUFS : 0) &&
                                   rz == (v.buf.len > 0 ? -ENOBUFS : 0),
                           "get(%" PRIu64 ") of %zu bytes: %d with %d bytes, %d with none", i,
                           v.buf.len, rs, SMALL_BUF, rz);
                fuzz_check(s.buf.len == v.buf.len && z.buf.len == v.buf.len,
                           "get(%" PRIu64 "): sizes disagree", i);
                fuzz_check(rs < 0 || memcmp(small, big, v.buf.len) == 0,
                           "get(%" PRIu64 "): contents disagree", i);
        } else if (r == 0)
                fuzz_check(rs == 0 && rz == 0 && item_eq(&v, &s, true) && item_eq(&v, &z, true),
                           "get(%" PRIu64 ") of a scalar: %d, %d", i, rs, rz);
        *ret = v;
        return r;
}

/* count and index of @v, which must agree; @at: an index known to hold @v, or UINT64_MAX. */
static void check_count_index(const list_layout *l, const lmm_item *v, uint64_t at) {
        uint64_t idx = UINT64_MAX;
        int n, r;

        n = list_layout_count(l, v);
        r = list_layout_index(l, v, &idx);
        fuzz_check(n == -EBUSY || (n >= 0 && (uint64_t) n <= l->count), "count() returned %d", n);
        fuzz_check(r == 0 || r == -ENOENT || r == -EBUSY, "index() returned %d", r);
        if (n == -EBUSY)
                return;
        fuzz_check((n == 0) == (r == -ENOENT), "count() %d but index() %d", n, r);
        fuzz_check(at == UINT64_MAX || n >= 1, "count() of a value item %" PRIu64 " holds: %d", at,
                   n);
        if (r == 0)
                fuzz_check(idx < l->count && idx <= at,
                           "index() %" PRIu64 ", holder %" PRIu64 ", count %" PRIu64, idx, at,
                           l->count);
}

/* The value set at item @i: every type in turn, payloads as long as the slot, from @src. */
static lmm_item value_for(uint64_t i, uint64_t cap, uint8_t *src) {
        switch (i % 6) {
        case 0:
                return lmm_item_int((int64_t) (i * UINT64_C(0x9e3779b97f4a7c15)));
        case 1:
                return lmm_item_double(i % 12 == 1 ? -0.0 : (double) i + 0.5);
        case 2:
                return lmm_item_bool(i % 12 == 2);
        case 3:
                return lmm_item_none();
        case 4:
                memset(src, 'a' + (int) (i % 26), cap);
                return lmm_item_strn((const char *) src, cap);
        default:
                for (uint64_t k = 0; k < cap; k++)
                        src[k] = (uint8_t) (i + k * 131);
                return lmm_item_bytes(src, cap);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        uint8_t *region, *big, *small, *src;
        uint64_t *caps;
        list_layout l, again;
        lmm_item v;
        int r;

        /* malloc() is 16-aligned, as the layout wants, and exactly @size long. */
        region = malloc(size ? size : 1);
        fuzz_check(region, "out of memory");
        memcpy(region, data, size);
        r = list_layout_open(region, size, &l);
        if (r < 0) {
                fuzz_check(r == -EBADMSG, "open returned %d", r);
                free(region);
                return 0;
        }
        fuzz_check(l.count <= LMM_LIST_LEN_MAX && l.desc_offset >= LIST_HEADER_SIZE &&
                           l.desc_offset + l.count * LIST_DESC_SIZE <= l.data_offset &&
                           l.data_offset + l.data_size <= size,
                   "open accepted a list that does not fit %zu bytes", size);
        /* A writer that died mid-write is part of the garbage: do not wait a second for it. */
        l.lock_timeout_nsec = 0;

        /* Larger than any slot: a slot lies inside the region. */
        big = malloc(size + 1);
        small = malloc(SMALL_BUF);
        src = malloc(size + 1);
        caps = calloc(l.count ? l.count : 1, sizeof(*caps));
        fuzz_check(big && small && src && caps, "out of memory");

        for (uint64_t i = 0; i < l.count; i++) {
                r = check_get(&l, i, big, size + 1, small, &v);
                caps[i] = r == 0 ? v.capacity : UINT64_MAX;
                /* the value just read is in the list: count and index find it */
                if (r == 0 && (i == 0 || i + 1 == l.count) &&
                    !(v.type == LMM_ITEM_DOUBLE && isnan(v.d)))
                        check_count_index(&l, &v, i);
        }
        fuzz_check(list_layout_get(&l, l.count, &v, big, size + 1) == -ERANGE, "get past the end");
        fuzz_check(list_layout_get(&l, UINT64_MAX, &v, NULL, 0) == -ERANGE, "get at 2^64-1");

        const lmm_item probes[] = {
                lmm_item_none(),      lmm_item_int(0),       lmm_item_int(-1),
                lmm_item_bool(false), lmm_item_bool(true),   lmm_item_double(0.0),
                lmm_item_str(""),     lmm_item_bytes("", 0), lmm_item_str("hello"),
                lmm_item_double(NAN),
        };
        for (size_t k = 0; k < ELEMENTSOF(probes); k++)
                check_count_index(&l, &probes[k], UINT64_MAX);
        fuzz_check(list_layout_count(&l, &probes[ELEMENTSOF(probes) - 1]) <= 0,
                   "NaN equals something");

        /* set writes only into the region copy, never into @data. */
        for (uint64_t i = 0; i < l.count; i++) {
                uint64_t cap = caps[i] == UINT64_MAX ? 0 : caps[i];

                if (caps[i] != UINT64_MAX && i % 6 >= 4) {
                        /* one byte more than the slot holds */
                        v = value_for(i, cap + 1, src);
                        r = list_layout_set(&l, i, &v);
                        fuzz_check(r == -ENOSPC,
                                   "set(%" PRIu64 ") of %" PRIu64 " bytes in a slot of %" PRIu64
                                   ": %d",
                                   i, cap + 1, cap, r);
                }
                v = value_for(i, cap, src);
                r = list_layout_set(&l, i, &v);
                fuzz_check(r == 0 || r == -EBUSY, "set(%" PRIu64 ") returned %d", i, r);
                fuzz_check(r == 0 || caps[i] == UINT64_MAX, "set(%" PRIu64 ") busy, get was not",
                           i);
                caps[i] = r == 0 ? cap : UINT64_MAX;
        }
        v = lmm_item_none();
        fuzz_check(list_layout_set(&l, l.count, &v) == -ERANGE, "set past the end");

        /* every set sticks, and no set reached another item */
        for (uint64_t i = 0; i < l.count; i++) {
                lmm_item got, want;

                if (caps[i] == UINT64_MAX)
                        continue;
                r = check_get(&l, i, big, size + 1, small, &got);
                want = value_for(i, caps[i], src);
                fuzz_check(r == 0 && item_eq(&got, &want, true),
                           "set(%" PRIu64 ") did not stick: %d", i, r);
        }

        r = list_layout_open(region, size, &again);
        fuzz_check(r == 0 && again.count == l.count, "the list does not open after sets: %d", r);

        free(caps);
        free(src);
        free(small);
        free(big);
        free(region);
        return 0;
}

static int check_seed(const uint8_t *data, size_t size) {
        uint8_t *region = malloc(size ? size : 1);
        list_layout l;
        int r;

        if (!region)
                return -ENOMEM;
        memcpy(region, data, size);
        r = list_layout_open(region, size, &l);
        free(region);
        return r;
}

/* The constant header fields made valid, and total_size made to agree, so
 * that mutations reach the descriptors. */
static void fix_header(uint8_t *d, size_t n) {
        uint64_t data_offset, data_size, le;
        uint64_t magic = htole64(LIST_MAGIC);
        uint32_t version = htole32(LIST_VERSION), hs = htole32(LIST_HEADER_SIZE),
                 ds = htole32(LIST_DESC_SIZE), flags = 0;

        if (n < LIST_HEADER_SIZE)
                return;
        memcpy(d + LIST_HDR_MAGIC, &magic, 8);
        memcpy(d + LIST_HDR_VERSION, &version, 4);
        memcpy(d + LIST_HDR_HEADER_SIZE, &hs, 4);
        memcpy(d + LIST_HDR_DESC_SIZE, &ds, 4);
        memcpy(d + LIST_HDR_FLAGS, &flags, 4);
        memcpy(&data_offset, d + LIST_HDR_DATA_OFFSET, 8);
        memcpy(&data_size, d + LIST_HDR_DATA_SIZE, 8);
        data_offset = le64toh(data_offset);
        data_size = le64toh(data_size);
        /* a truncated region: the slot area ends with it */
        if (data_offset <= n && data_size > n - data_offset) {
                data_size = n - data_offset;
                le = htole64(data_size);
                memcpy(d + LIST_HDR_DATA_SIZE, &le, 8);
        }
        le = htole64(data_offset + data_size);
        memcpy(d + LIST_HDR_TOTAL_SIZE, &le, 8);
}

const fuzz_target fuzz_target_info = {
        .name = "fuzz-list",
        .max_size = 1u << 20,
        .check_seed = check_seed,
        .fixup = fix_header,
};

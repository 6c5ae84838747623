/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of the list layout (lib/list-layout.c), on malloc'd memory: values,
 * slots, count/index, O(1) access, and hostile blocks that must be refused
 * without a crash (run them under ASan: meson setup -Db_sanitize=address).
 */

#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "list-layout.h"
#include "list-sample.h"
#include "util.h"

/* A layout of @items in a fresh 64-byte aligned buffer of exactly the size needed (+@extra). */
static uint8_t *make(const lmm_item *items, size_t n, uint64_t extra, uint64_t *ret_size,
                     list_layout *ret) {
        uint64_t size;
        uint8_t *b;

        cr_assert_eq(list_layout_size(items, n, &size), 0);
        size += extra;
        b = aligned_alloc(64, (size + 63) & ~(uint64_t) 63);
        cr_assert_not_null(b);
        memset(b, 0xa5, size); /* init must not rely on zeroed memory */
        cr_assert_eq(list_layout_init(b, size, items, n), 0);
        if (ret)
                cr_assert_eq(list_layout_open(b, size, ret), 0);
        *ret_size = size;
        return b;
}

static void assert_item_eq(const lmm_item *a, const lmm_item *b) {
        cr_assert_eq(a->type, b->type);
        switch (a->type) {
        case LMM_ITEM_INT:
                cr_assert_eq(a->i, b->i);
                break;
        case LMM_ITEM_DOUBLE:
                cr_assert_eq(memcmp(&a->d, &b->d, 8), 0);
                break;
        case LMM_ITEM_BOOL:
                cr_assert_eq(a->b, b->b);
                break;
        case LMM_ITEM_STR:
        case LMM_ITEM_BYTES:
                cr_assert_eq(a->buf.len, b->buf.len, "len %zu != %zu", a->buf.len, b->buf.len);
                cr_assert(a->buf.len == 0 || memcmp(a->buf.data, b->buf.data, a->buf.len) == 0);
                break;
        default:
                break;
        }
}

Test(list, round_trip_every_type) {
        static const char nuls[] = "ab\0\0"; /* 4 bytes: two trailing NULs (gh-96779) */
        static const uint8_t raw[] = { 0, 1, 2, 0xff, 0, 0 };
        const lmm_item items[] = {
                lmm_item_none(),
                lmm_item_int(INT64_MIN),
                lmm_item_int(INT64_MAX),
                lmm_item_double(-0.0),
                lmm_item_double(3.141592653589793),
                lmm_item_double(INFINITY),
                lmm_item_bool(true),
                lmm_item_bool(false),
                lmm_item_str(""),
                lmm_item_str("hello"),
                lmm_item_strn(nuls, 4),
                lmm_item_bytes(raw, sizeof(raw)),
                lmm_item_bytes(NULL, 0),
                lmm_item_str("héllo wörld ✓"),
                lmm_item_str("🙂👍🏽 家族"),
        };
        list_layout l;
        uint64_t size;
        uint8_t *b = make(items, ELEMENTSOF(items), 0, &size, &l);
        char buf[64];

        cr_assert_eq(l.count, ELEMENTSOF(items));
        for (size_t i = 0; i < ELEMENTSOF(items); i++) {
                lmm_item v;

                memset(buf, 'x', sizeof(buf));
                cr_assert_eq(list_layout_get(&l, i, &v, buf, sizeof(buf)), 0, "item %zu", i);
                assert_item_eq(&v, &items[i]);
                if (v.type == LMM_ITEM_STR || v.type == LMM_ITEM_BYTES) {
                        cr_assert_eq(v.buf.data, (void *) buf);
                        cr_assert_eq(buf[v.buf.len], 0, "NUL-terminated for convenience");
                        cr_assert_geq(v.capacity, v.buf.len);
                }
        }

        /* And through set, each into a slot that held something else. */
        lmm_item blanks[ELEMENTSOF(items)];
        list_layout l2;
        uint64_t size2;
        for (size_t i = 0; i < ELEMENTSOF(items); i++)
                blanks[i] =
                        lmm_item_with_capacity(i % 2 ? lmm_item_int(-1) : lmm_item_str("zzz"), 48);
        uint8_t *b2 = make(blanks, ELEMENTSOF(items), 0, &size2, &l2);
        for (size_t i = 0; i < ELEMENTSOF(items); i++) {
                lmm_item v;

                cr_assert_eq(list_layout_set(&l2, i, &items[i]), 0, "item %zu", i);
                cr_assert_eq(list_layout_get(&l2, i, &v, buf, sizeof(buf)), 0, "item %zu", i);
                assert_item_eq(&v, &items[i]);
                cr_assert_eq(v.capacity, 48);
        }
        free(b2);
        free(b);
}

Test(list, trailing_nuls_and_exact_lengths) {
        static const char s[] = "x\0\0\0\0\0\0\0\0"; /* 9 bytes: 'x' and eight NULs */
        const lmm_item items[] = { lmm_item_strn(s, 9), lmm_item_bytes("\0", 1) };
        list_layout l;
        uint64_t size;
        uint8_t *b = make(items, 2, 0, &size, &l);
        char buf[32];
        lmm_item v;

        cr_assert_eq(list_layout_get(&l, 0, &v, buf, sizeof(buf)), 0);
        cr_assert_eq(v.buf.len, 9);
        cr_assert_eq(v.capacity, 16);
        cr_assert_eq(memcmp(buf, s, 9), 0);
        cr_assert_eq(list_layout_get(&l, 1, &v, buf, sizeof(buf)), 0);
        cr_assert_eq(v.type, LMM_ITEM_BYTES);
        cr_assert_eq(v.buf.len, 1);
        cr_assert_eq(buf[0], 0);

        /* A shorter value with NULs replaces a longer one: the length is the new one. */
        lmm_item w = lmm_item_bytes("\0\0\0", 3);
        cr_assert_eq(list_layout_set(&l, 0, &w), 0);
        cr_assert_eq(list_layout_get(&l, 0, &v, buf, sizeof(buf)), 0);
        cr_assert_eq(v.type, LMM_ITEM_BYTES);
        cr_assert_eq(v.buf.len, 3);
        free(b);
}

Test(list, buffer_too_small_reports_size) {
        const lmm_item items[] = { lmm_item_str("0123456789"), lmm_item_int(7) };
        list_layout l;
        uint64_t size;
        uint8_t *b = make(items, 2, 0, &size, &l);
        char buf[10];
        lmm_item v;

        cr_assert_eq(list_layout_get(&l, 0, &v, buf, 9), -ENOBUFS);
        cr_assert_eq(v.type, LMM_ITEM_STR);
        cr_assert_eq(v.buf.len, 10);
        cr_assert_null(v.buf.data);
        /* Exactly the length: no room for the convenience NUL, still fine. */
        cr_assert_eq(list_layout_get(&l, 0, &v, buf, 10), 0);
        cr_assert_eq(memcmp(buf, "0123456789", 10), 0);
        /* Scalars need no buffer. */
        cr_assert_eq(list_layout_get(&l, 1, &v, NULL, 0), 0);
        cr_assert_eq(v.i, 7);
        cr_assert_eq(list_layout_get(&l, 2, &v, NULL, 0), -ERANGE);
        free(b);
}

Test(list, multibyte_utf8_is_never_truncated) {
        /* gh-88336: Python sized str slots in characters. 13 characters, 17 bytes. */
        const char *s = "héllo wörld ✓";
        const char *emoji = "👩‍👩‍👧‍👦"; /* one grapheme, 25 bytes */
        const lmm_item items[] = { lmm_item_str(s), lmm_item_str("x") };
        list_layout l;
        uint64_t size;
        uint8_t *b = make(items, 2, 0, &size, &l);
        char buf[64];
        lmm_item v;

        cr_assert_eq(strlen(s), 17);
        cr_assert_eq(list_layout_get(&l, 0, &v, buf, sizeof(buf)), 0);
        cr_assert_eq(v.buf.len, 17);
        cr_assert_str_eq(buf, s);
        cr_assert_eq(v.capacity, 24);

        lmm_item e = lmm_item_str(emoji);
        cr_assert_eq(e.buf.len, 25);
        cr_assert_eq(list_layout_set(&l, 0, &e), -ENOSPC, "25 bytes do not fit 24");
        lmm_item e2 = lmm_item_str("🙂🙂🙂🙂🙂🙂"); /* 24 bytes: fits exactly */
        cr_assert_eq(list_layout_set(&l, 0, &e2), 0);
        cr_assert_eq(list_layout_get(&l, 0, &v, buf, sizeof(buf)), 0);
        cr_assert_str_eq(buf, "🙂🙂🙂🙂🙂🙂");
        free(b);
}

Test(list, invalid_utf8_is_rejected) {
        static const char *bad[] = {
                "\xc3",             /* truncated */
                "\xc0\xaf",         /* overlong '/' */
                "\xe0\x80\xaf",     /* overlong */
                "\xed\xa0\x80",     /* surrogate U+D800 */
                "\xf4\x90\x80\x80", /* past U+10FFFF */
                "\xff",
                "a\x80", /* lone continuation */
        };
        const lmm_item items[] = { lmm_item_with_capacity(lmm_item_str(""), 16) };
        list_layout l;
        uint64_t size, sz;
        uint8_t *b = make(items, 1, 0, &size, &l);

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                lmm_item v = lmm_item_str(bad[i]);

                cr_assert_not(utf8_is_valid(bad[i], strlen(bad[i])), "case %zu", i);
                cr_assert_eq(list_layout_set(&l, 0, &v), -EILSEQ, "case %zu", i);
                cr_assert_eq(list_layout_size(&v, 1, &sz), -EILSEQ);
                /* The same bytes are fine as bytes. */
                v.type = LMM_ITEM_BYTES;
                cr_assert_eq(list_layout_set(&l, 0, &v), 0);
        }
        cr_assert(utf8_is_valid("\xf4\x8f\xbf\xbf", 4)); /* U+10FFFF */
        cr_assert(utf8_is_valid("\0", 1));
        free(b);
}

Test(list, type_changes_when_it_fits) {
        const lmm_item items[] = {
                lmm_item_int(1),                              /* slot 8 */
                lmm_item_str("0123456789"),                   /* slot 16 */
                lmm_item_with_capacity(lmm_item_none(), 100), /* slot 104 */
        };
        list_layout l;
        uint64_t size;
        uint8_t *b = make(items, 3, 0, &size, &l);
        char buf[128], big[105];
        lmm_item v;

        memset(big, 'z', sizeof(big));
        /* int -> str of 8 bytes (its slot is 8, as in Python) -> double */
        lmm_item s8 = lmm_item_str("12345678"), s9 = lmm_item_str("123456789");
        cr_assert_eq(list_layout_set(&l, 0, &s8), 0);
        cr_assert_eq(list_layout_set(&l, 0, &s9), -ENOSPC);
        cr_assert_eq(list_layout_get(&l, 0, &v, buf, sizeof(buf)), 0);
        cr_assert_eq(v.type, LMM_ITEM_STR);
        cr_assert_eq(v.buf.len, 8);
        lmm_item d = lmm_item_double(2.5);
        cr_assert_eq(list_layout_set(&l, 0, &d), 0);
        cr_assert_eq(list_layout_get(&l, 0, &v, NULL, 0), 0);
        cr_assert_eq(v.type, LMM_ITEM_DOUBLE);
        cr_assert_eq(v.d, 2.5);

        /* str -> bool -> none -> bytes of 16 */
        lmm_item t = lmm_item_bool(true), n = lmm_item_none(), b16 = lmm_item_bytes(big, 16),
                 b17 = lmm_item_bytes(big, 17);
        cr_assert_eq(list_layout_set(&l, 1, &t), 0);
        cr_assert_eq(list_layout_get(&l, 1, &v, NULL, 0), 0);
        cr_assert(v.type == LMM_ITEM_BOOL && v.b);
        cr_assert_eq(list_layout_set(&l, 1, &n), 0);
        cr_assert_eq(list_layout_set(&l, 1, &b17), -ENOSPC);
        cr_assert_eq(list_layout_set(&l, 1, &b16), 0);
        cr_assert_eq(list_layout_get(&l, 1, &v, buf, sizeof(buf)), 0);
        assert_item_eq(&v, &b16);

        /* reserved capacity */
        lmm_item b104 = lmm_item_bytes(big, 104), b105 = lmm_item_bytes(big, 105);
        cr_assert_eq(list_layout_set(&l, 2, &b104), 0);
        cr_assert_eq(list_layout_set(&l, 2, &b105), -ENOSPC);

        /* failures leave the item alone */
        cr_assert_eq(list_layout_get(&l, 1, &v, buf, sizeof(buf)), 0);
        assert_item_eq(&v, &b16);
        cr_assert_eq(list_layout_set(&l, 3, &n), -ERANGE);
        lmm_item bad = { .type = (lmm_item_type) 9 };
        cr_assert_eq(list_layout_set(&l, 0, &bad), -EINVAL);
        free(b);
}

Test(list, create_arguments) {
        uint64_t size;
        lmm_item v = lmm_item_with_capacity(lmm_item_str("abcdef"), 3);
        cr_assert_eq(list_layout_size(&v, 1, &size), -EINVAL, "capacity smaller than value");
        v = lmm_item_with_capacity(lmm_item_int(1), LMM_LIST_ITEM_MAX + 1);
        cr_assert_eq(list_layout_size(&v, 1, &size), -EINVAL);
        v = lmm_item_bytes(NULL, 5);
        cr_assert_eq(list_layout_size(&v, 1, &size), -EINVAL);
        cr_assert_eq(list_layout_size(NULL, 3, &size), -EINVAL);
        cr_assert_eq(list_layout_size(NULL, 0, &size), 0);
        cr_assert_eq(size, LIST_HEADER_SIZE);
        v = lmm_item_with_capacity(lmm_item_str("x"), 13);
        cr_assert_eq(list_layout_size(&v, 1, &size), 0);
        cr_assert_eq(size, LIST_HEADER_SIZE + LIST_DESC_SIZE + 16, "rounded up to 8");

        /* init refuses a region too small, or misaligned */
        uint8_t *b = aligned_alloc(64, 256);
        v = lmm_item_int(1);
        cr_assert_eq(list_layout_init(b, LIST_HEADER_SIZE + LIST_DESC_SIZE + 7, &v, 1), -ENOSPC);
        cr_assert_eq(list_layout_init(b + 4, 200, &v, 1), -EINVAL);
        /* an empty list is a list */
        list_layout l;
        cr_assert_eq(list_layout_init(b, 64, NULL, 0), 0);
        cr_assert_eq(list_layout_open(b, 64, &l), 0);
        cr_assert_eq(l.count, 0);
        free(b);
}

Test(list, count_and_index) {
        const lmm_item items[] = {
                lmm_item_int(1),         lmm_item_strn("a\0", 2), lmm_item_bytes("a\0", 2),
                lmm_item_int(1),         lmm_item_double(1),      lmm_item_bool(true),
                lmm_item_none(),         lmm_item_str("a"),       lmm_item_double(NAN),
                lmm_item_strn("a\0", 2),
        };
        list_layout l;
        uint64_t size, i;
        uint8_t *b = make(items, ELEMENTSOF(items), 0, &size, &l);
        lmm_item q;

        q = lmm_item_int(1);
        cr_assert_eq(list_layout_count(&l, &q), 2, "no cross-type numeric equality");
        cr_assert_eq(list_layout_index(&l, &q, &i), 0);
        cr_assert_eq(i, 0);
        q = lmm_item_strn("a\0", 2);
        cr_assert_eq(list_layout_count(&l, &q), 2, "NULs are part of a string");
        cr_assert_eq(list_layout_index(&l, &q, &i), 0);
        cr_assert_eq(i, 1);
        q = lmm_item_str("a");
        cr_assert_eq(list_layout_count(&l, &q), 1);
        cr_assert_eq(list_layout_index(&l, &q, &i), 0);
        cr_assert_eq(i, 7);
        q = lmm_item_bytes("a\0", 2);
        cr_assert_eq(list_layout_count(&l, &q), 1);
        q = lmm_item_none();
        cr_assert_eq(list_layout_index(&l, &q, &i), 0);
        cr_assert_eq(i, 6);
        q = lmm_item_double(NAN);
        cr_assert_eq(list_layout_count(&l, &q), 0, "NaN equals nothing");
        q = lmm_item_double(1.0);
        cr_assert_eq(list_layout_count(&l, &q), 1);
        q = lmm_item_bool(false);
        cr_assert_eq(list_layout_index(&l, &q, &i), -ENOENT);
        q = lmm_item_str("\xff");
        cr_assert_eq(list_layout_count(&l, &q), -EILSEQ);
        free(b);
}

static double ns_per_get(const list_layout *l, uint64_t i, int n) {
        struct timespec a, z;
        lmm_item v;
        char buf[16];

        clock_gettime(CLOCK_MONOTONIC, &a);
        for (int k = 0; k < n; k++)
                cr_assert_eq(list_layout_get(l, i, &v, buf, sizeof(buf)), 0);
        clock_gettime(CLOCK_MONOTONIC, &z);
        return ((z.tv_sec - a.tv_sec) * 1e9 + (z.tv_nsec - a.tv_nsec)) / n;
}

/* gh-83072: access by index is O(1). Timings are reported, not asserted. */
Test(list, access_is_constant_time) {
        const size_t n = 100000;
        lmm_item *items = calloc(n, sizeof(*items));
        list_layout l;
        uint64_t size;
        struct timespec a, z;

        for (size_t i = 0; i < n; i++)
                items[i] = i % 2 ? lmm_item_int((int64_t) i) : lmm_item_str("mixed");
        clock_gettime(CLOCK_MONOTONIC, &a);
        uint8_t *b = make(items, n, 0, &size, &l);
        clock_gettime(CLOCK_MONOTONIC, &z);

        (void) ns_per_get(&l, 0, 100000); /* warm up */
        double first = ns_per_get(&l, 0, 200000), last = ns_per_get(&l, n - 1, 200000),
               mid = ns_per_get(&l, n / 2 + 1, 200000);
        lmm_item v = lmm_item_int(42);
        clock_gettime(CLOCK_MONOTONIC, &a);
        for (int k = 0; k < 200000; k++)
                cr_assert_eq(list_layout_set(&l, n - 1, &v), 0);
        struct timespec z2;
        clock_gettime(CLOCK_MONOTONIC, &z2);
        double set_ns = ((z2.tv_sec - a.tv_sec) * 1e9 + (z2.tv_nsec - a.tv_nsec)) / 200000;

        fprintf(stderr,
                "list: %zu items, %llu bytes; get(0) %.1f ns (str), get(n/2) %.1f ns (int), "
                "get(n-1) %.1f ns (int); "
                "set(int) %.1f ns\n",
                n, (unsigned long long) size, first, mid, last, set_ns);
        free(items);
        free(b);
}

/* ---- hostile blocks ---- */

static void put64(uint8_t *b, uint64_t off, uint64_t v) {
        memcpy(b + off, &v, 8);
}
static void put32(uint8_t *b, uint64_t off, uint32_t v) {
        memcpy(b + off, &v, 4);
}
static uint64_t get64(const uint8_t *b, uint64_t off) {
        uint64_t v;
        memcpy(&v, b + off, 8);
        return v;
}
#define D(i, f) (LIST_HEADER_SIZE + (i) *LIST_DESC_SIZE + (f))

/* Exercise every operation; none may crash or read out of bounds. */
static void poke_all(list_layout *l) {
        char buf[64];
        lmm_item v, s = lmm_item_str("xy"), n = lmm_item_int(3);
        uint64_t idx;

        l->lock_timeout_nsec = 1000000; /* odd counters are part of the garbage */
        for (uint64_t i = 0; i < l->count && i < 64; i++) {
                (void) list_layout_get(l, i, &v, buf, sizeof(buf));
                (void) list_layout_get(l, i, &v, buf, 1);
                (void) list_layout_count(l, &s);
                (void) list_layout_index(l, &n, &idx);
                (void) list_layout_set(l, i, i % 2 ? &s : &n);
        }
}

typedef void (*corrupt_fn)(uint8_t *b, uint64_t *size);

static void c_magic(uint8_t *b, uint64_t *size) {
        b[0] ^= 1;
}
static void c_version(uint8_t *b, uint64_t *size) {
        put32(b, LIST_HDR_VERSION, 2);
}
static void c_header_size(uint8_t *b, uint64_t *size) {
        put32(b, LIST_HDR_HEADER_SIZE, 8);
}
static void c_desc_size(uint8_t *b, uint64_t *size) {
        put32(b, LIST_HDR_DESC_SIZE, 8);
}
static void c_flags(uint8_t *b, uint64_t *size) {
        put32(b, LIST_HDR_FLAGS, 1);
}
static void c_count_huge(uint8_t *b, uint64_t *size) {
        put64(b, LIST_HDR_COUNT, UINT64_MAX / 5);
}
static void c_count_overflow(uint8_t *b, uint64_t *size) {
        /* count * 40 wraps to a small number in 64 bits */
        put64(b, LIST_HDR_COUNT, (UINT64_MAX / LIST_DESC_SIZE) + 2);
}
static void c_count_past_end(uint8_t *b, uint64_t *size) {
        put64(b, LIST_HDR_COUNT, 1000);
}
static void c_desc_offset_end(uint8_t *b, uint64_t *size) {
        put64(b, LIST_HDR_DESC_OFFSET, *size + 8);
}
static void c_desc_offset_wrap(uint8_t *b, uint64_t *size) {
        put64(b, LIST_HDR_DESC_OFFSET, UINT64_MAX - 7);
}
static void c_desc_offset_in_hdr(uint8_t *b, uint64_t *size) {
        put64(b, LIST_HDR_DESC_OFFSET, 0);
}
static void c_desc_misaligned(uint8_t *b, uint64_t *size) {
        put64(b, LIST_HDR_DESC_OFFSET, 68);
}
static void c_data_offset_end(uint8_t *b, uint64_t *size) {
        put64(b, LIST_HDR_DATA_OFFSET, *size + 8);
}
static void c_data_overlaps_desc(uint8_t *b, uint64_t *size) {
        put64(b, LIST_HDR_DATA_OFFSET, 64);
}
static void c_data_size_wrap(uint8_t *b, uint64_t *size) {
        put64(b, LIST_HDR_DATA_SIZE, UINT64_MAX);
}
static void c_total_size(uint8_t *b, uint64_t *size) {
        put64(b, LIST_HDR_TOTAL_SIZE, get64(b, LIST_HDR_TOTAL_SIZE) + 8);
}
static void c_truncated(uint8_t *b, uint64_t *size) {
        *size -= 8;
}
static void c_truncated_hdr(uint8_t *b, uint64_t *size) {
        *size = 40;
}
static void c_empty(uint8_t *b, uint64_t *size) {
        *size = 0;
}
static void c_slot_past_end(uint8_t *b, uint64_t *size) {
        put64(b, D(2, LIST_DESC_SLOT_OFFSET), 1u << 20);
}
static void c_slot_wrap(uint8_t *b, uint64_t *size) {
        put64(b, D(2, LIST_DESC_SLOT_OFFSET), 8);
        put64(b, D(2, LIST_DESC_SLOT_SIZE), UINT64_MAX - 7);
}
static void c_slot_size_huge(uint8_t *b, uint64_t *size) {
        put64(b, D(3, LIST_DESC_SLOT_SIZE), 1u << 30);
}
static void c_slot_overlap(uint8_t *b, uint64_t *size) {
        put64(b, D(1, LIST_DESC_SLOT_OFFSET), get64(b, D(0, LIST_DESC_SLOT_OFFSET)));
}
static void c_slot_misaligned(uint8_t *b, uint64_t *size) {
        put64(b, D(1, LIST_DESC_SLOT_OFFSET), get64(b, D(1, LIST_DESC_SLOT_OFFSET)) + 1);
}
static void c_len_beyond_slot(uint8_t *b, uint64_t *size) {
        put64(b, D(1, LIST_DESC_VALUE), get64(b, D(1, LIST_DESC_SLOT_SIZE)) + 1);
}
static void c_len_huge(uint8_t *b, uint64_t *size) {
        put64(b, D(1, LIST_DESC_VALUE), UINT64_MAX);
}
static void c_type(uint8_t *b, uint64_t *size) {
        put32(b, D(0, LIST_DESC_TYPE), 6);
}
static void c_type_high(uint8_t *b, uint64_t *size) {
        put32(b, D(0, LIST_DESC_TYPE), 0x80000001u);
}
static void c_bool(uint8_t *b, uint64_t *size) {
        put32(b, D(0, LIST_DESC_TYPE), LMM_ITEM_BOOL);
        put64(b, D(0, LIST_DESC_VALUE), 2);
}
static void c_reserved(uint8_t *b, uint64_t *size) {
        put32(b, D(0, LIST_DESC_RESERVED), 1);
}
static void c_garbage(uint8_t *b, uint64_t *size) {
        for (uint64_t k = 0; k < *size; k++)
                b[k] = (uint8_t) (k * 131 + 7);
}
static void c_zero(uint8_t *b, uint64_t *size) {
        memset(b, 0, *size);
}

static const struct {
        const char *name;
        corrupt_fn fn;
} corruptions[] = {
        { "bad magic", c_magic },
        { "unknown version", c_version },
        { "header size", c_header_size },
        { "descriptor size", c_desc_size },
        { "unknown flags", c_flags },
        { "count huge", c_count_huge },
        { "count * 40 overflows", c_count_overflow },
        { "count past the end", c_count_past_end },
        { "descriptors past the end", c_desc_offset_end },
        { "descriptor offset wraps", c_desc_offset_wrap },
        { "descriptors inside the header", c_desc_offset_in_hdr },
        { "descriptors misaligned", c_desc_misaligned },
        { "data past the end", c_data_offset_end },
        { "data overlaps descriptors", c_data_overlaps_desc },
        { "data size wraps", c_data_size_wrap },
        { "total size inconsistent", c_total_size },
        { "truncated block", c_truncated },
        { "truncated header", c_truncated_hdr },
        { "empty block", c_empty },
        { "slot past the end", c_slot_past_end },
        { "slot offset + size wraps", c_slot_wrap },
        { "slot larger than the item cap", c_slot_size_huge },
        { "overlapping slots", c_slot_overlap },
        { "misaligned slot", c_slot_misaligned },
        { "length beyond slot", c_len_beyond_slot },
        { "length 2^64-1", c_len_huge },
        { "unknown type", c_type },
        { "type with high bit", c_type_high },
        { "bool that is not 0 or 1", c_bool },
        { "reserved bits set", c_reserved },
        { "garbage", c_garbage },
        { "all zero (created, never laid out)", c_zero },
};

static uint8_t *make_sample(uint64_t *size) {
        lmm_item items[LIST_SAMPLE_N];

        list_sample(items);
        return make(items, LIST_SAMPLE_N, 0, size, NULL);
}

Test(list, hostile_headers_are_rejected) {
        for (size_t k = 0; k < ELEMENTSOF(corruptions); k++) {
                uint64_t size;
                uint8_t *b = make_sample(&size);
                list_layout l;
                int r;

                corruptions[k].fn(b, &size);
                r = list_layout_open(b, size, &l);
                cr_expect_eq(r, -EBADMSG, "%s: open returned %d", corruptions[k].name, r);
                free(b);
        }
}

/* Another process scribbles on the block after open: every access re-checks. */
Test(list, corruption_after_open_is_caught_on_access) {
        static const corrupt_fn after[] = { c_slot_past_end,  c_slot_wrap,
                                            c_slot_size_huge, c_len_beyond_slot,
                                            c_len_huge,       c_type,
                                            c_bool,           c_count_huge,
                                            c_data_size_wrap, c_desc_offset_wrap,
                                            c_garbage };
        for (size_t k = 0; k < ELEMENTSOF(after); k++) {
                uint64_t size;
                uint8_t *b = make_sample(&size);
                list_layout l;

                cr_assert_eq(list_layout_open(b, size, &l), 0);
                after[k](b, &size);
                poke_all(&l);
                free(b);
        }

        /* The specific errors. */
        uint64_t size;
        uint8_t *b = make_sample(&size);
        list_layout l;
        lmm_item v;
        char buf[64];
        cr_assert_eq(list_layout_open(b, size, &l), 0);
        c_len_beyond_slot(b, &size);
        cr_assert_eq(list_layout_get(&l, 1, &v, buf, sizeof(buf)), -EBADMSG);
        c_slot_past_end(b, &size);
        cr_assert_eq(list_layout_get(&l, 2, &v, buf, sizeof(buf)), -EBADMSG);
        lmm_item s = lmm_item_str("x");
        cr_assert_eq(list_layout_set(&l, 2, &s), -EBADMSG);
        c_type(b, &size);
        cr_assert_eq(list_layout_get(&l, 0, &v, buf, sizeof(buf)), -EBADMSG);
        cr_assert_eq(list_layout_count(&l, &s), -EBADMSG);
        /* invalid UTF-8 written behind our back into a STR slot */
        uint8_t *slot1 = b + get64(b, LIST_HDR_DATA_OFFSET) + get64(b, D(1, LIST_DESC_SLOT_OFFSET));
        slot1[0] = 0xff;
        cr_assert_eq(list_layout_get(&l, 1, &v, buf, sizeof(buf)), -EBADMSG);
        /* a counter left odd (writer died mid-write): -EBUSY after the timeout, no hang */
        l.lock_timeout_nsec = 20000000;
        put64(b, D(3, LIST_DESC_SEQ), 7);
        cr_assert_eq(list_layout_get(&l, 3, &v, buf, sizeof(buf)), -EBUSY);
        cr_assert_eq(list_layout_set(&l, 3, &s), -EBUSY);
        /* ... and open does not wait for it */
        list_layout l2;
        cr_assert_eq(list_layout_open(b, size, &l2), -EBADMSG, "item 0 has a bad type");
        free(b);
}

Test(list, random_corruption_never_crashes) {
        unsigned seed = 0x5eed1157u;
        int accepted = 0, rejected = 0;

        for (int iter = 0; iter < 3000; iter++) {
                uint64_t size;
                uint8_t *b = make_sample(&size);
                list_layout l;
                int nflips = 1 + rand_r(&seed) % 8;

                for (int f = 0; f < nflips; f++) {
                        uint64_t pos = (uint64_t) rand_r(&seed) % size;
                        switch (rand_r(&seed) % 4) {
                        case 0: /* a bit */
                                b[pos] ^= (uint8_t) (1u << (rand_r(&seed) % 8));
                                break;
                        case 1: /* a byte */
                                b[pos] = (uint8_t) rand_r(&seed);
                                break;
                        case 2: { /* an interesting 64-bit value at an aligned place in the metadata
                                   */
                                static const uint64_t vals[] = { 0,
                                                                 1,
                                                                 7,
                                                                 8,
                                                                 63,
                                                                 64,
                                                                 4096,
                                                                 UINT32_MAX,
                                                                 INT64_MAX,
                                                                 UINT64_MAX,
                                                                 UINT64_MAX - 7 };
                                uint64_t p = ((uint64_t) rand_r(&seed) % (size / 8)) * 8;
                                put64(b, p, vals[rand_r(&seed) % ELEMENTSOF(vals)]);
                                break;
                        }
                        default: /* shorten the region */
                                size -= (uint64_t) rand_r(&seed) % (size / 4 + 1);
                                break;
                        }
                }
                if (list_layout_open(b, size, &l) == 0) {
                        accepted++;
                        poke_all(&l);
                } else
                        rejected++;
                /* and scribble after open too */
                if (iter % 2 == 0) {
                        uint64_t s2;
                        uint8_t *c = make_sample(&s2);
                        list_layout l2;
                        cr_assert_eq(list_layout_open(c, s2, &l2), 0);
                        for (int f = 0; f < nflips; f++)
                                put64(c, ((uint64_t) rand_r(&seed) % (s2 / 8)) * 8,
                                      (uint64_t) rand_r(&seed) << (rand_r(&seed) % 40));
                        poke_all(&l2);
                        free(c);
                }
                free(b);
        }
        fprintf(stderr, "list: random corruption: %d accepted (harmless), %d rejected\n", accepted,
                rejected);
}

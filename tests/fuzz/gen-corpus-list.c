/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * gen-corpus-list — writes the seed corpus of the list fuzzer: regions that
 * list_layout_open() accepts, one file each. Lists of every item type with
 * the edge values of each, the unit tests' sample (list-sample.h), an empty
 * list, long lists, regions larger than the list (made from the sample),
 * and layouts list_layout_init() never makes but open accepts
 * (gaps before the descriptors, the slot area and a slot; an empty slot; an
 * item a writer left half-written; a string that is not UTF-8, found only on
 * read). Each is checked to open before it is written. The output is
 * committed in tests/fuzz/corpus-list/; run this again after a layout change:
 *
 *   ninja -C build tests/fuzz/gen-corpus-list
 *   rm -f tests/fuzz/corpus-list/\* && build/tests/fuzz/gen-corpus-list tests/fuzz/corpus-list
 */

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "list-layout.h"
#include "list-sample.h"
#include "util.h"

/* Room for the largest seed, its trailing bytes and its gaps. */
#define REGION_MAX (128u * 1024u)

static uint64_t region[REGION_MAX / 8]; /* 8-aligned, as the layout wants */
static uint8_t *const b = (uint8_t *) region;
static const char *dir;
static unsigned n_seeds;

static uint64_t get64(uint64_t off) {
        uint64_t v;
        memcpy(&v, b + off, 8);
        return v;
}
static void put64(uint64_t off, uint64_t v) {
        memcpy(b + off, &v, 8);
}
static uint64_t desc(uint64_t i, unsigned field) {
        return get64(LIST_HDR_DESC_OFFSET) + i * LIST_DESC_SIZE + field;
}

/* Lay out @items at the start of the region. Return: the size it takes. */
static uint64_t lay_out(const lmm_item *items, size_t n) {
        uint64_t size;

        if (list_layout_size(items, n, &size) < 0 || size > REGION_MAX ||
            list_layout_init(b, size, items, n) < 0) {
                fprintf(stderr, "gen-corpus-list: cannot lay out %zu items\n", n);
                exit(1);
        }
        return size;
}

/* Insert @gap zero bytes at @at, in a region of *@size bytes. */
static void insert(uint64_t *size, uint64_t at, uint64_t gap) {
        if (*size + gap > REGION_MAX)
                abort();
        memmove(b + at + gap, b + at, *size - at);
        memset(b + at, 0, gap);
        *size += gap;
}

/* A gap between the header and the descriptors. */
static void gap_before_descs(uint64_t *size, uint64_t gap) {
        insert(size, LIST_HEADER_SIZE, gap);
        put64(LIST_HDR_DESC_OFFSET, get64(LIST_HDR_DESC_OFFSET) + gap);
        put64(LIST_HDR_DATA_OFFSET, get64(LIST_HDR_DATA_OFFSET) + gap);
        put64(LIST_HDR_TOTAL_SIZE, get64(LIST_HDR_TOTAL_SIZE) + gap);
}

/* A gap between the descriptors and the slot area. */
static void gap_before_data(uint64_t *size, uint64_t gap) {
        insert(size, get64(LIST_HDR_DATA_OFFSET), gap);
        put64(LIST_HDR_DATA_OFFSET, get64(LIST_HDR_DATA_OFFSET) + gap);
        put64(LIST_HDR_TOTAL_SIZE, get64(LIST_HDR_TOTAL_SIZE) + gap);
}

/* A gap inside the slot area, before item @k's slot. */
static void gap_before_slot(uint64_t *size, uint64_t k, uint64_t gap) {
        uint64_t count = get64(LIST_HDR_COUNT);

        insert(size, get64(LIST_HDR_DATA_OFFSET) + get64(desc(k, LIST_DESC_SLOT_OFFSET)), gap);
        for (uint64_t i = k; i < count; i++)
                put64(desc(i, LIST_DESC_SLOT_OFFSET), get64(desc(i, LIST_DESC_SLOT_OFFSET)) + gap);
        put64(LIST_HDR_DATA_SIZE, get64(LIST_HDR_DATA_SIZE) + gap);
        put64(LIST_HDR_TOTAL_SIZE, get64(LIST_HDR_TOTAL_SIZE) + gap);
}

/* Bytes past the list: a region (a block) may be larger than the list in it. */
static void trailing(uint64_t *size, uint64_t n, uint8_t fill) {
        if (*size + n > REGION_MAX)
                abort();
        memset(b + *size, fill, n);
        *size += n;
}

static void write_seed(const char *name, uint64_t size) {
        char path[4096];
        list_layout l;
        FILE *f;
        int r;

        r = list_layout_open(b, size, &l);
        if (r < 0) {
                fprintf(stderr, "gen-corpus-list: seed %s does not open: %s\n", name, strerror(-r));
                exit(1);
        }
        snprintf(path, sizeof(path), "%s/%02u-%s", dir, n_seeds, name);
        f = fopen(path, "we");
        if (!f || fwrite(b, 1, size, f) != size || fclose(f) != 0) {
                fprintf(stderr, "gen-corpus-list: %s: %s\n", path, strerror(errno));
                exit(1);
        }
        n_seeds++;
}

static void seed(const char *name, const lmm_item *items, size_t n) {
        write_seed(name, lay_out(items, n));
}

int main(int argc, char **argv) {
        lmm_item sample[LIST_SAMPLE_N];
        static lmm_item many[2048];
        uint64_t size;

        if (argc != 2) {
                fprintf(stderr, "usage: %s DIR\n", argv[0]);
                return 2;
        }
        dir = argv[1];
        list_sample(sample);

        /* every type, with its edges */
        seed("empty", NULL, 0);
        seed("none", (const lmm_item[]){ lmm_item_none(), lmm_item_none() }, 2);
        seed("int",
             (const lmm_item[]){ lmm_item_int(0), lmm_item_int(1), lmm_item_int(-1),
                                 lmm_item_int(INT64_MIN), lmm_item_int(INT64_MAX) },
             5);
        seed("double",
             (const lmm_item[]){ lmm_item_double(0.0), lmm_item_double(-0.0), lmm_item_double(1.5),
                                 lmm_item_double(INFINITY), lmm_item_double(-INFINITY),
                                 lmm_item_double(NAN), lmm_item_double(DBL_TRUE_MIN),
                                 lmm_item_double(DBL_MAX) },
             8);
        seed("bool", (const lmm_item[]){ lmm_item_bool(false), lmm_item_bool(true) }, 2);
        /* "" is also the regression seed of utf8_is_valid(NULL, 0): fuzz-list
         * reads it without a buffer */
        seed("str",
             (const lmm_item[]){ lmm_item_str(""), lmm_item_str("a"), lmm_item_str("12345678"),
                                 lmm_item_str("123456789"), lmm_item_str("h\xc3\xa9llo"),
                                 lmm_item_str("\xf0\x9f\x91\x8b w\xc3\xb6rld"),
                                 lmm_item_str("\xf4\x8f\xbf\xbf"), lmm_item_strn("a\0b\0", 4) },
             8);
        seed("bytes",
             (const lmm_item[]){ lmm_item_bytes("", 0), lmm_item_bytes("\0", 1),
                                 lmm_item_bytes("\xff\xfe\x80\x00\x01", 5),
                                 lmm_item_bytes("0123456789abcdef", 16) },
             4);
        seed("sample", sample, LIST_SAMPLE_N);
        seed("capacity",
             (const lmm_item[]){ lmm_item_with_capacity(lmm_item_str("x"), 1),
                                 lmm_item_with_capacity(lmm_item_str("wide"), 4096),
                                 lmm_item_with_capacity(lmm_item_bytes("ab", 2), 9),
                                 lmm_item_with_capacity(lmm_item_int(7), 24) },
             4);
        seed("one", (const lmm_item[]){ lmm_item_int(42) }, 1);

        /* long lists */
        for (size_t i = 0; i < ELEMENTSOF(many); i++)
                many[i] = lmm_item_none();
        seed("count-2048-none", many, ELEMENTSOF(many));
        for (size_t i = 0; i < 512; i++)
                many[i] = i % 6 < LIST_SAMPLE_N ? sample[i % 6] : lmm_item_bool(i % 12 == 5);
        seed("count-512-mixed", many, 512);

        /* regions larger than the list, by a little and by a page */
        static const struct {
                uint64_t n;
                uint8_t fill;
        } tails[] = { { 1, 0 }, { 7, 0xa5 }, { 8, 0 }, { 4096, 0xff } };
        for (size_t k = 0; k < ELEMENTSOF(tails); k++) {
                char name[32];

                size = lay_out(sample, LIST_SAMPLE_N);
                trailing(&size, tails[k].n, tails[k].fill);
                snprintf(name, sizeof(name), "trailing-%u", (unsigned) tails[k].n);
                write_seed(name, size);
        }

        /* layouts that init never makes and open accepts */
        size = lay_out(sample, LIST_SAMPLE_N);
        gap_before_descs(&size, 64);
        write_seed("gap-before-descriptors", size);

        size = lay_out(sample, LIST_SAMPLE_N);
        gap_before_data(&size, 40);
        write_seed("gap-before-slots", size);

        size = lay_out(sample, LIST_SAMPLE_N);
        gap_before_slot(&size, 0, 8);
        gap_before_slot(&size, 3, 16);
        write_seed("gap-between-slots", size);

        size = lay_out((const lmm_item[]){ lmm_item_none(), lmm_item_str("") }, 2);
        put64(desc(0, LIST_DESC_SLOT_SIZE), 0);
        put64(desc(1, LIST_DESC_SLOT_OFFSET), 0);
        write_seed("empty-slot", size);

        size = lay_out(sample, LIST_SAMPLE_N);
        put64(desc(1, LIST_DESC_SEQ), 1); /* a writer died holding item 1 */
        put64(desc(2, LIST_DESC_SEQ), UINT64_MAX - 1);
        write_seed("half-written", size);

        size = lay_out(sample, LIST_SAMPLE_N);
        b[get64(LIST_HDR_DATA_OFFSET) + get64(desc(1, LIST_DESC_SLOT_OFFSET)) + 1] = 0xff;
        write_seed("str-not-utf8", size);

        printf("gen-corpus-list: %u seeds in %s\n", n_seeds, dir);
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lmm-py-peer — the C side of the python suite's cross-language tests: a
 * program that uses liblmm's public API only, as any C program would, to
 * read, write and create what a Python process shares.
 *
 *   lmm-py-peer SOCKET read NAME            print every item of list NAME, one a line
 *   lmm-py-peer SOCKET write NAME           create list NAME with the sample items
 *   lmm-py-peer SOCKET set NAME I KIND [HEX] set item I (KIND: none int double bool
 *                                           str bytes; HEX: the value, see below)
 *   lmm-py-peer SOCKET block NAME SIZE      create block NAME, filled with pattern()
 *   lmm-py-peer SOCKET hammer NAME I MS     for MS ms, set item I to two long values in turn
 *   lmm-py-peer abi                         sizes and offsets of the public structures
 *
 * An item prints as "KIND VALUE SLOT": int in decimal, double as its IEEE 754
 * bits in hex, bool 0 or 1, none "-", str and bytes their bytes in hex ("-"
 * when empty); SLOT is the item's slot size. HEX on the command line is the
 * same notation. Blocks and lists it creates stay in the manager after it
 * exits. Exit status 0, or 1 with the reason on stderr.
 */

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lmm.h"

static int fail(lmm_client *c, const char *what, int r) {
        const char *why = c ? lmm_client_last_error(c) : NULL;

        fprintf(stderr, "lmm-py-peer: %s: %s\n", what, why ? why : strerror(-r));
        return 1;
}

static unsigned char pattern(uint64_t i) {
        return (unsigned char) (i * 7 + 3);
}

static void print_hex(const void *p, size_t n) {
        if (n == 0)
                fputc('-', stdout);
        for (size_t i = 0; i < n; i++)
                printf("%02x", ((const unsigned char *) p)[i]);
}

/* @hex ("-" for none) into a malloc'd buffer; NULL on bad input. */
static unsigned char *from_hex(const char *hex, size_t *ret_len) {
        size_t n = strcmp(hex, "-") == 0 ? 0 : strlen(hex);
        unsigned char *b;

        if (n % 2)
                return NULL;
        b = malloc(n / 2 + 1);
        if (!b)
                return NULL;
        for (size_t i = 0; i < n / 2; i++) {
                unsigned v;

                if (sscanf(hex + 2 * i, "%2x", &v) != 1) {
                        free(b);
                        return NULL;
                }
                b[i] = (unsigned char) v;
        }
        *ret_len = n / 2;
        return b;
}

static double double_from_bits(uint64_t u) {
        double d;

        memcpy(&d, &u, sizeof(d));
        return d;
}

static int cmd_read(lmm_client *c, const char *name) {
        static char buf[LMM_LIST_ITEM_MAX];
        lmm_list *l;
        int r;

        r = lmm_list_open(c, name, LMM_OPEN_RDONLY, &l);
        if (r < 0)
                return fail(c, "cannot open the list", r);
        for (size_t i = 0; i < lmm_list_len(l); i++) {
                lmm_item it;
                uint64_t u;

                r = lmm_list_get(l, i, &it, buf, sizeof(buf));
                if (r < 0) {
                        lmm_list_unref(l);
                        return fail(NULL, "cannot read an item", r);
                }
                switch (it.type) {
                case LMM_ITEM_NONE:
                        printf("none -");
                        break;
                case LMM_ITEM_INT:
                        printf("int %" PRId64, it.i);
                        break;
                case LMM_ITEM_DOUBLE:
                        memcpy(&u, &it.d, sizeof(u));
                        printf("double %016" PRIx64, u);
                        break;
                case LMM_ITEM_BOOL:
                        printf("bool %d", it.b ? 1 : 0);
                        break;
                case LMM_ITEM_STR:
                case LMM_ITEM_BYTES:
                        printf("%s ", it.type == LMM_ITEM_STR ? "str" : "bytes");
                        print_hex(it.buf.data, it.buf.len);
                        break;
                }
                printf(" %zu\n", it.capacity);
        }
        lmm_list_unref(l);
        return 0;
}

static int cmd_write(lmm_client *c, const char *name) {
        /* One of each kind, and the values that break naive layouts. */
        static const char nuls[] = "a\0b\0\0";
        static const char multibyte[] = "h\xc3\xa9llo \xf0\x9f\x91\x8b";
        static const unsigned char raw[] = { 0, 1, 0, 0xff, 0 };
        lmm_item items[] = {
                lmm_item_int(INT64_MIN),
                lmm_item_int(INT64_MAX),
                lmm_item_double(-0.0),
                lmm_item_double(double_from_bits(UINT64_C(0x7ff8000000000001))), /* a NaN */
                lmm_item_double(1.5),
                lmm_item_bool(true),
                lmm_item_bool(false),
                lmm_item_none(),
                lmm_item_strn(nuls, sizeof(nuls) - 1),
                lmm_item_str(multibyte),
                lmm_item_bytes(raw, sizeof(raw)),
                lmm_item_str(""),
                lmm_item_with_capacity(lmm_item_str("roomy"), 64),
        };
        lmm_list *l;
        int r;

        r = lmm_list_create(c, name, items, sizeof(items) / sizeof(items[0]), 0, &l);
        if (r < 0)
                return fail(c, "cannot create the list", r);
        lmm_list_unref(l);
        return 0;
}

static int parse_item(const char *kind, const char *hex, lmm_item *ret, unsigned char **ret_buf) {
        unsigned char *b = NULL;
        size_t n = 0;

        if (strcmp(kind, "none") == 0) {
                *ret = lmm_item_none();
                return 0;
        }
        if (!hex)
                return -EINVAL;
        if (strcmp(kind, "int") == 0) {
                *ret = lmm_item_int(strtoll(hex, NULL, 10));
                return 0;
        }
        if (strcmp(kind, "double") == 0) {
                *ret = lmm_item_double(double_from_bits(strtoull(hex, NULL, 16)));
                return 0;
        }
        if (strcmp(kind, "bool") == 0) {
                *ret = lmm_item_bool(strcmp(hex, "1") == 0);
                return 0;
        }
        b = from_hex(hex, &n);
        if (!b)
                return -EINVAL;
        if (strcmp(kind, "str") == 0)
                *ret = lmm_item_strn((const char *) b, n);
        else if (strcmp(kind, "bytes") == 0)
                *ret = lmm_item_bytes(b, n);
        else {
                free(b);
                return -EINVAL;
        }
        *ret_buf = b;
        return 0;
}

static int cmd_set(lmm_client *c, const char *name, const char *index, const char *kind,
                   const char *hex) {
        unsigned char *b = NULL;
        lmm_list *l;
        lmm_item v;
        int r;

        r = parse_item(kind, hex, &v, &b);
        if (r < 0)
                return fail(NULL, "bad item", r);
        r = lmm_list_open(c, name, 0, &l);
        if (r < 0) {
                free(b);
                return fail(c, "cannot open the list", r);
        }
        r = lmm_list_set(l, strtoul(index, NULL, 10), &v);
        lmm_list_unref(l);
        free(b);
        return r < 0 ? fail(NULL, "cannot set the item", r) : 0;
}

static int cmd_block(lmm_client *c, const char *name, const char *size) {
        lmm_segment *s;
        unsigned char *p;
        int r;

        r = lmm_segment_create(
                c, &(lmm_segment_opts){ .size = strtoull(size, NULL, 10), .name = name }, &s);
        if (r < 0)
                return fail(c, "cannot create the block", r);
        r = lmm_segment_map(s, 0, (void **) &p);
        if (r != 0) {
                lmm_segment_unref(s);
                return fail(NULL, "cannot map the block writable", r < 0 ? r : -EROFS);
        }
        for (uint64_t i = 0; i < lmm_segment_get_size(s); i++)
                p[i] = pattern(i);
        lmm_segment_unref(s);
        return 0;
}

static uint64_t now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

/* Set item I to 3000 'A's (str) and 4096 'B's (bytes) in turn: a reader that
 * ever sees anything else saw a torn item. Prints how many sets it made. */
static int cmd_hammer(lmm_client *c, const char *name, const char *index, const char *ms) {
        static char a[3000], b[4096];
        lmm_item v[2];
        uint64_t end, n = 0;
        size_t i = strtoul(index, NULL, 10);
        lmm_list *l;
        int r;

        memset(a, 'A', sizeof(a));
        memset(b, 'B', sizeof(b));
        v[0] = lmm_item_strn(a, sizeof(a));
        v[1] = lmm_item_bytes(b, sizeof(b));
        r = lmm_list_open(c, name, 0, &l);
        if (r < 0)
                return fail(c, "cannot open the list", r);
        end = now_ms() + strtoull(ms, NULL, 10);
        while (now_ms() < end) {
                r = lmm_list_set(l, i, &v[n % 2]);
                if (r < 0) {
                        lmm_list_unref(l);
                        return fail(NULL, "cannot set the item", r);
                }
                n++;
        }
        lmm_list_unref(l);
        printf("%" PRIu64 "\n", n);
        return 0;
}

static int cmd_abi(void) {
#define SIZE(t) printf(#t " %zu\n", sizeof(t))
#define OFF(t, f) printf(#t "." #f " %zu\n", offsetof(t, f))
        SIZE(lmm_item);
        OFF(lmm_item, type);
        OFF(lmm_item, i);
        OFF(lmm_item, d);
        OFF(lmm_item, b);
        OFF(lmm_item, buf.data);
        OFF(lmm_item, buf.len);
        OFF(lmm_item, capacity);
        SIZE(lmm_segment_opts);
        OFF(lmm_segment_opts, size);
        OFF(lmm_segment_opts, name);
        OFF(lmm_segment_opts, flags);
        OFF(lmm_segment_opts, reserved_);
        OFF(lmm_segment_opts, reserved_ptr_);
        SIZE(lmm_manager_opts);
        OFF(lmm_manager_opts, allow_uids);
        OFF(lmm_manager_opts, n_allow_uids);
        OFF(lmm_manager_opts, allow_gids);
        OFF(lmm_manager_opts, n_allow_gids);
        OFF(lmm_manager_opts, max_bytes_per_uid);
        OFF(lmm_manager_opts, max_blocks_per_uid);
        OFF(lmm_manager_opts, max_conns_per_uid);
        OFF(lmm_manager_opts, reserved_);
        OFF(lmm_manager_opts, reserved_ptr_);
        SIZE(lmm_server_opts);
        OFF(lmm_server_opts, manager);
        OFF(lmm_server_opts, socket_path);
        OFF(lmm_server_opts, initializer);
        OFF(lmm_server_opts, initargs);
        OFF(lmm_server_opts, reserved_);
        OFF(lmm_server_opts, reserved_ptr_);
        printf("LMM_NAME_MAX %d\n", LMM_NAME_MAX);
        printf("LMM_LIST_ITEM_MAX %u\n", LMM_LIST_ITEM_MAX);
        printf("LMM_LIST_LEN_MAX %u\n", LMM_LIST_LEN_MAX);
        printf("LMM_CREATE_SCOPE_CONNECTION %u\n", (unsigned) LMM_CREATE_SCOPE_CONNECTION);
        printf("LMM_OPEN_RDONLY %u\n", (unsigned) LMM_OPEN_RDONLY);
        printf("LMM_MAP_RDONLY %u\n", (unsigned) LMM_MAP_RDONLY);
        return 0;
#undef SIZE
#undef OFF
}

int main(int argc, char **argv) {
        lmm_client *c = NULL;
        const char *cmd;
        int r;

        if (argc == 2 && strcmp(argv[1], "abi") == 0)
                return cmd_abi();
        if (argc < 4) {
                fputs("usage: lmm-py-peer SOCKET read|write|set|block|hammer NAME ...\n", stderr);
                return 2;
        }
        cmd = argv[2];
        r = lmm_client_connect(argv[1], &c);
        if (r < 0)
                return fail(NULL, "cannot connect", r);
        if (strcmp(cmd, "read") == 0)
                r = cmd_read(c, argv[3]);
        else if (strcmp(cmd, "write") == 0)
                r = cmd_write(c, argv[3]);
        else if (strcmp(cmd, "set") == 0 && argc >= 6)
                r = cmd_set(c, argv[3], argv[4], argv[5], argc > 6 ? argv[6] : NULL);
        else if (strcmp(cmd, "block") == 0 && argc == 5)
                r = cmd_block(c, argv[3], argv[4]);
        else if (strcmp(cmd, "hammer") == 0 && argc == 6)
                r = cmd_hammer(c, argv[3], argv[4], argv[5]);
        else {
                fputs("lmm-py-peer: bad command\n", stderr);
                r = 2;
        }
        lmm_client_unref(c);
        return r;
}

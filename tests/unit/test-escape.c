/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * escape: the rule of escape.h, byte by byte, and that what it writes is
 * always valid UTF-8 without control characters, and decodes back.
 */

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"

static void expect(const char *in, const char *want) {
        char buf[256];

        cr_assert_str_eq(escape_text(in, buf, sizeof(buf)), want);
}

Test(escape, rule) {
        expect("plain name", "plain name");
        expect("", "");
        /* Well-formed UTF-8 stays. */
        expect("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xa7",
               "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xa7");
        /* Bytes that are not UTF-8. */
        expect("bad\xff", "bad\\xff");
        expect("\x80", "\\x80");
        expect("cut\xe2\x82", "cut\\xe2\\x82");
        expect("overlong\xc0\xaf", "overlong\\xc0\\xaf");
        expect("overlong\xe0\x80\xaf", "overlong\\xe0\\x80\\xaf");
        expect("surrogate\xed\xa0\x80", "surrogate\\xed\\xa0\\x80");
        expect("too-big\xf4\x90\x80\x80", "too-big\\xf4\\x90\\x80\\x80");
        /* A bad byte does not swallow the good character after it. */
        expect("\xe2\xc3\xa9", "\\xe2\xc3\xa9");
        /* Control characters: C0, DEL, C1 (U+009B, CSI), each byte escaped. */
        expect("ctl\x01\n\t\x7f", "ctl\\x01\\x0a\\x09\\x7f");
        expect("c1\xc2\x9bz", "c1\\xc2\\x9bz");
        expect("\xc2\x80\xc2\x9f\xc2\xa0", "\\xc2\\x80\\xc2\\x9f\xc2\xa0");
        /* A backslash before x is escaped, others stay: every "\x" starts an escape. */
        expect("\\x41", "\\x5cx41");
        expect("a\\b\\", "a\\b\\");
        expect("quote\"", "quote\"");
}

Test(escape, cuts_whole) {
        char buf[8];

        /* Never half an escape or half a character. */
        cr_assert_str_eq(escape_text("ab\xff\xff", buf, sizeof(buf)), "ab\\xff");
        cr_assert_str_eq(escape_text("abcdef\xc3\xa9", buf, sizeof(buf)), "abcdef");
        cr_assert_str_eq(escape_text("abcdefghij", buf, sizeof(buf)), "abcdefg");
        cr_assert_eq(escape_text("x", buf, 0), buf);
}

/* Decode the rule: \xHH is the byte HH, anything else itself. */
static size_t unescape(const char *s, char *out) {
        size_t n = 0;

        while (*s) {
                unsigned v;

                if (s[0] == '\\' && s[1] == 'x' && sscanf(s + 2, "%2x", &v) == 1) {
                        out[n++] = (char) v;
                        s += 4;
                } else
                        out[n++] = *s++;
        }
        out[n] = 0;
        return n;
}

/* Valid UTF-8 (strict), no control character. */
static bool clean(const char *s) {
        const unsigned char *p = (const unsigned char *) s;

        while (*p) {
                unsigned char c = *p;
                size_t n = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : 4;
                unsigned cp = n == 1 ? c : c & (0xff >> (n + 1));

                if (c >= 0x80 && (c < 0xc2 || c > 0xf4))
                        return false;
                for (size_t i = 1; i < n; i++) {
                        if ((p[i] & 0xc0) != 0x80)
                                return false;
                        cp = cp << 6 | (p[i] & 0x3f);
                }
                if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || (cp >= 0xd800 && cp < 0xe000) ||
                    cp > 0x10ffff || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000))
                        return false;
                p += n;
        }
        return true;
}

/* Random bytes, biased towards the interesting ones, round-trip and come out clean. */
Test(escape, lossless_and_clean) {
        static const unsigned char pool[] = { 'a',  '\\', 'x',  '1',  0x01, 0x7f, 0x80, 0x9b, 0xa9,
                                              0xbf, 0xc2, 0xc3, 0xe2, 0xed, 0xf0, 0xf4, 0xff };
        unsigned seed = 1;

        for (int round = 0; round < 20000; round++) {
                char in[16], out[16 * 4 + 1], back[sizeof(out)];
                size_t len = (size_t) (rand_r(&seed) % (sizeof(in) - 1));

                for (size_t i = 0; i < len; i++)
                        in[i] = (char) pool[(size_t) rand_r(&seed) % sizeof(pool)];
                in[len] = 0;
                escape_text(in, out, sizeof(out));
                cr_assert(clean(out), "round %d: not clean", round);
                cr_assert_eq(unescape(out, back), len, "round %d", round);
                cr_assert(memcmp(back, in, len) == 0, "round %d: does not decode back", round);
        }
}

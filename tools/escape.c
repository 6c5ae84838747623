/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * escape — see escape.h.
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "escape.h"

/* The length of the well-formed UTF-8 character at @s (1 to 4), or 0 when the byte at @s does
 * not start one (RFC 3629, table 3-7 of the Unicode standard). */
static size_t utf8_char_len(const unsigned char *s) {
        unsigned char c = s[0], lo = 0x80, hi = 0xbf;
        size_t n;

        if (c < 0x80)
                return 1;
        if (c >= 0xc2 && c <= 0xdf)
                n = 2;
        else if (c >= 0xe0 && c <= 0xef) {
                n = 3;
                if (c == 0xe0)
                        lo = 0xa0; /* no overlong forms */
                else if (c == 0xed)
                        hi = 0x9f; /* no surrogates */
        } else if (c >= 0xf0 && c <= 0xf4) {
                n = 4;
                if (c == 0xf0)
                        lo = 0x90; /* no overlong forms */
                else if (c == 0xf4)
                        hi = 0x8f; /* nothing past U+10FFFF */
        } else
                return 0;
        if (s[1] < lo || s[1] > hi)
                return 0;
        for (size_t i = 2; i < n; i++)
                if (s[i] < 0x80 || s[i] > 0xbf)
                        return 0;
        return n;
}

/* Control characters: C0, DEL, and C1 (U+0080..U+009F, encoded c2 80..c2 9f). */
static bool is_control(const unsigned char *s, size_t n) {
        return (n == 1 && (s[0] < 0x20 || s[0] == 0x7f)) || (n == 2 && s[0] == 0xc2 && s[1] < 0xa0);
}

char *escape_text(const char *s, char *buf, size_t size) {
        const unsigned char *p = (const unsigned char *) s;
        size_t len = 0;

        if (size == 0)
                return buf;
        while (*p) {
                size_t n = utf8_char_len(p);
                bool escape = n == 0 || is_control(p, n) || (p[0] == '\\' && p[1] == 'x');

                if (escape) {
                        /* Each byte alone: an invalid sequence's next byte may start a valid one. */
                        n = n == 0 ? 1 : n;
                        if (len + 4 * n >= size)
                                break;
                        for (size_t i = 0; i < n; i++)
                                len += (size_t) snprintf(buf + len, size - len, "\\x%02x", p[i]);
                } else {
                        if (len + n >= size)
                                break;
                        memcpy(buf + len, p, n);
                        len += n;
                }
                p += n;
        }
        buf[len] = 0;
        return buf;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-utf8-cut — utf8_trim_cut(), which makes the manager's 255-byte cut of
 * an error text end on a UTF-8 character boundary: an incomplete sequence at
 * the end goes, anything complete or not UTF-8 at all stays.
 */

#include <criterion/criterion.h>
#include <string.h>

#include "util.h"

static void expect(const char *in, const char *out) {
        char buf[64];

        strcpy(buf, in);
        cr_assert_eq(utf8_trim_cut(buf), strlen(out), "\"%s\"", in);
        cr_assert_str_eq(buf, out);
}

Test(utf8_cut, drops_only_an_incomplete_last_character) {
        expect("", "");
        expect("abc", "abc");
        expect("a\xc3\xa9", "a\xc3\xa9");         /* é, whole */
        expect("a\xc3", "a");                     /* é, lead byte only */
        expect("a\xe2\x82\xac", "a\xe2\x82\xac"); /* €, whole */
        expect("a\xe2\x82", "a");                 /* €, two of three */
        expect("a\xe2", "a");
        expect("a\xf0\x9f\x98\x80", "a\xf0\x9f\x98\x80"); /* 😀, whole */
        expect("a\xf0\x9f\x98", "a");                     /* three of four */
        expect("a\xf0\x9f", "a");
        expect("a\xf0", "a");
}

Test(utf8_cut, leaves_bytes_that_are_not_utf8) {
        expect("a\x80", "a\x80"); /* a stray continuation byte */
        expect("\x80\x80\x80\x80", "\x80\x80\x80\x80");
        expect("a\xe2\x82\xac\x82", "a\xe2\x82\xac\x82");
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * escape — text that other processes chose (memfd names, commands, block
 * names), made safe to print where only valid UTF-8 without control
 * characters will do: memfd-inspect's JSON.
 *
 * The rule, which is the table view's too (libsmartcols, util-linux's
 * mbs_safe_encode(), in a UTF-8 locale):
 *  - each byte that is not part of a well-formed UTF-8 character (RFC 3629: no
 *    overlong forms, no surrogates, nothing past U+10FFFF), and each byte of a
 *    control character (C0 U+0000..U+001F, DEL U+007F, C1 U+0080..U+009F), is
 *    written as the four characters \xHH, in lower-case hex;
 *  - a backslash followed by 'x' is written \x5c, so that every "\x" of the
 *    result starts an escape;
 *  - everything else is copied as it is.
 * The result is valid UTF-8, has no control character, and is lossless: every
 * \xHH stands for the byte HH, every other character for itself.
 * ("bad\xff" comes out as bad\xff, U+009B as \xc2\x9b, a literal "\x41" as
 * \x5cx41.)
 */

#include <stddef.h>

/* escape_text() - @s escaped into @buf (@size bytes, NUL-terminated), cut before the first
 * character or escape that does not fit. Return: @buf. */
char *escape_text(const char *s, char *buf, size_t size);

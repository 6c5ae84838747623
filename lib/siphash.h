/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * siphash — SipHash-2-4 (Aumasson and Bernstein), a keyed hash for tables
 * whose keys a peer chooses: without the key, nobody can aim many names at
 * one bucket and turn every lookup into a scan.
 */

#include <stddef.h>
#include <stdint.h>

#define SIPHASH_KEY_SIZE 16

uint64_t siphash24(const void *data, size_t len, const uint8_t key[static SIPHASH_KEY_SIZE]);

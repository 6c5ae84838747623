/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* The libFuzzer entry point; fuzz-main.c calls it too. Return: always 0. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

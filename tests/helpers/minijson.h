/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * minijson — just enough JSON for the tests to read what the tools print
 * (libsmartcols output): objects, arrays, strings, numbers, true/false/null.
 * Not for untrusted input.
 */

#include <stdbool.h>
#include <stddef.h>

typedef enum mj_type { MJ_NULL, MJ_BOOL, MJ_NUMBER, MJ_STRING, MJ_ARRAY, MJ_OBJECT } mj_type;

typedef struct mj {
        mj_type type;
        bool b;
        double num;
        long long i;       /* the number, read as an integer */
        char *str;         /* MJ_STRING */
        size_t n;          /* items in an array or object */
        char **keys;       /* MJ_OBJECT */
        struct mj **items; /* MJ_ARRAY, MJ_OBJECT */
} mj;

/* mj_parse() - NULL when @s is not one JSON value (with white space around). */
mj *mj_parse(const char *s);
void mj_free(mj *v);

/* mj_get() - member @key of object @o, or NULL (also when @o is not an object). */
const mj *mj_get(const mj *o, const char *key);

/* Typed getters for tests: a missing member or a wrong type gives the fallback. */
const char *mj_str(const mj *o, const char *key); /* NULL */
long long mj_int(const mj *o, const char *key);   /* -1 */
bool mj_is_null(const mj *o, const char *key);    /* true when missing too */

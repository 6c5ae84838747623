/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * minijson — see minijson.h. A recursive-descent reader.
 */

#include <stdlib.h>
#include <string.h>

#include "minijson.h"

static void skip_ws(const char **p) {
        while (**p == ' ' || **p == '\n' || **p == '\t' || **p == '\r')
                (*p)++;
}

static mj *parse_value(const char **p, int depth);

static char *parse_string(const char **p) {
        const char *s = *p;
        char *out, *o;

        if (*s != '"')
                return NULL;
        s++;
        /* Room for the string as written (decoding only shortens it): up to its closing quote,
         * not the rest of the document, or a document of n strings costs n times its size. */
        for (const char *t = s;; t++) {
                if (*t == '\\' && t[1])
                        t++;
                else if (!*t || *t == '"') {
                        out = o = malloc((size_t) (t - s) + 1);
                        break;
                }
        }
        if (!out)
                return NULL;
        while (*s && *s != '"') {
                if (*s == '\\') {
                        s++;
                        switch (*s) {
                        case 'n':
                                *o++ = '\n';
                                break;
                        case 't':
                                *o++ = '\t';
                                break;
                        case 'r':
                                *o++ = '\r';
                                break;
                        case 'b':
                                *o++ = '\b';
                                break;
                        case 'f':
                                *o++ = '\f';
                                break;
                        case 'u':
                                /* Tests only need ASCII; anything else reads as '?'. */
                                for (int i = 0; i < 4; i++)
                                        if (!s[1 + i]) {
                                                free(out);
                                                return NULL;
                                        }
                                {
                                        char hex[5] = { s[1], s[2], s[3], s[4], 0 };
                                        long c = strtol(hex, NULL, 16);
                                        *o++ = c > 0 && c < 128 ? (char) c : '?';
                                }
                                s += 4;
                                break;
                        case 0:
                                free(out);
                                return NULL;
                        default:
                                *o++ = *s;
                                break;
                        }
                        s++;
                } else
                        *o++ = *s++;
        }
        if (*s != '"') {
                free(out);
                return NULL;
        }
        *o = 0;
        *p = s + 1;
        return out;
}

static int push(mj *v, char *key, mj *item) {
        char **k = realloc(v->keys, (v->n + 1) * sizeof(*k));
        mj **it;

        if (!k)
                return -1;
        v->keys = k;
        it = realloc(v->items, (v->n + 1) * sizeof(*it));
        if (!it)
                return -1;
        v->items = it;
        v->keys[v->n] = key;
        v->items[v->n] = item;
        v->n++;
        return 0;
}

static mj *parse_value(const char **p, int depth) {
        mj *v;

        if (depth > 64)
                return NULL;
        skip_ws(p);
        v = calloc(1, sizeof(*v));
        if (!v)
                return NULL;
        if (**p == '{' || **p == '[') {
                bool obj = **p == '{';
                char close = obj ? '}' : ']';

                v->type = obj ? MJ_OBJECT : MJ_ARRAY;
                (*p)++;
                skip_ws(p);
                if (**p == close) {
                        (*p)++;
                        return v;
                }
                for (;;) {
                        char *key = NULL;
                        mj *item;

                        skip_ws(p);
                        if (obj) {
                                key = parse_string(p);
                                if (!key)
                                        goto fail;
                                skip_ws(p);
                                if (**p != ':') {
                                        free(key);
                                        goto fail;
                                }
                                (*p)++;
                        }
                        item = parse_value(p, depth + 1);
                        if (!item || push(v, key, item) < 0) {
                                free(key);
                                mj_free(item);
                                goto fail;
                        }
                        skip_ws(p);
                        if (**p == ',') {
                                (*p)++;
                                continue;
                        }
                        if (**p == close) {
                                (*p)++;
                                return v;
                        }
                        goto fail;
                }
        }
        if (**p == '"') {
                v->type = MJ_STRING;
                v->str = parse_string(p);
                if (!v->str)
                        goto fail;
                return v;
        }
        if (strncmp(*p, "true", 4) == 0 || strncmp(*p, "false", 5) == 0) {
                v->type = MJ_BOOL;
                v->b = **p == 't';
                *p += v->b ? 4 : 5;
                return v;
        }
        if (strncmp(*p, "null", 4) == 0) {
                v->type = MJ_NULL;
                *p += 4;
                return v;
        }
        if (**p == '-' || (**p >= '0' && **p <= '9')) {
                char *end;
                v->type = MJ_NUMBER;
                v->num = strtod(*p, &end);
                v->i = strtoll(*p, NULL, 10);
                *p = end;
                return v;
        }
fail:
        mj_free(v);
        return NULL;
}

mj *mj_parse(const char *s) {
        mj *v = parse_value(&s, 0);

        if (!v)
                return NULL;
        skip_ws(&s);
        if (*s) {
                mj_free(v);
                return NULL;
        }
        return v;
}

void mj_free(mj *v) {
        if (!v)
                return;
        for (size_t i = 0; i < v->n; i++) {
                if (v->keys)
                        free(v->keys[i]);
                mj_free(v->items[i]);
        }
        free(v->keys);
        free(v->items);
        free(v->str);
        free(v);
}

const mj *mj_get(const mj *o, const char *key) {
        if (!o || o->type != MJ_OBJECT)
                return NULL;
        for (size_t i = 0; i < o->n; i++)
                if (strcmp(o->keys[i], key) == 0)
                        return o->items[i];
        return NULL;
}

const char *mj_str(const mj *o, const char *key) {
        const mj *v = mj_get(o, key);
        return v && v->type == MJ_STRING ? v->str : NULL;
}

long long mj_int(const mj *o, const char *key) {
        const mj *v = mj_get(o, key);
        return v && v->type == MJ_NUMBER ? v->i : -1;
}

bool mj_is_null(const mj *o, const char *key) {
        const mj *v = mj_get(o, key);
        return !v || v->type == MJ_NULL;
}

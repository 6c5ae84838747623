/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cli — see cli.h.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"

#ifndef PROJECT_VERSION
#error "PROJECT_VERSION comes from meson (tools/meson.build)"
#endif

int cli_usage_error(const cli_program *p, const char *fmt, ...) {
        va_list ap;

        fprintf(stderr, "%s: ", p->name);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, "; try '%s --help'\n", p->name);
        return -EINVAL;
}

void cli_version(const cli_program *p) {
        printf("%s %s\n", p->name, PROJECT_VERSION);
}

void cli_args_done(cli_args *a) {
        free(a->args);
        *a = (cli_args){};
}

/* Whether @word is one of the space-separated words of @list. */
static bool word_in(const char *list, const char *word) {
        size_t n = strlen(word);

        for (const char *w = list; w && *w;) {
                size_t len = strcspn(w, " ");

                if (len == n && strncmp(w, word, n) == 0)
                        return true;
                w += len;
                w += strspn(w, " ");
        }
        return false;
}

/* One line for getopt's '?' (an unknown or ambiguous option, or an argument to one that takes
 * none) or ':' (a missing argument), naming the option as the user wrote it. */
static int option_error(const cli_program *p, const struct option *o, int opt, const char *word) {
        size_t len;
        int exact = -1, first = -1, second = -1, matches = 0;

        if (strncmp(word, "--", 2) != 0) {
                /* A short option, maybe in a cluster ("-Jx"): getopt says which letter. */
                if (opt == ':')
                        return cli_usage_error(p, "option '-%c' needs an argument", optopt);
                return cli_usage_error(p, "unknown option '-%c'", optopt);
        }
        /* A long one, maybe abbreviated, maybe "--NAME=VALUE": what getopt_long took it for. */
        word += 2;
        len = strcspn(word, "=");
        for (int i = 0; o[i].name; i++) {
                if (strncmp(o[i].name, word, len) != 0)
                        continue;
                if (strlen(o[i].name) == len)
                        exact = i;
                else if (first < 0)
                        first = i;
                else if (second < 0)
                        second = i;
                matches++;
        }
        if (exact < 0 && second >= 0)
                return cli_usage_error(p, "ambiguous option '--%.*s' (--%s, --%s%s)", (int) len,
                                       word, o[first].name, o[second].name,
                                       matches > 2 ? ", ..." : "");
        if (exact < 0)
                exact = first;
        if (exact < 0)
                return cli_usage_error(p, "unknown option '--%.*s'", (int) len, word);
        if (opt == ':')
                return cli_usage_error(p, "option '--%s' needs an argument", o[exact].name);
        return cli_usage_error(p, "option '--%s' takes no argument", o[exact].name);
}

int cli_parse(const cli_program *p, int argc, char *argv[], void *userdata, cli_args *ret) {
        struct option options[CLI_OPTIONS_MAX + 3];
        char optstring[3 * CLI_OPTIONS_MAX + 8];
        cli_args a = {};
        size_t n = 0;
        int r = -EINVAL;

        /* "-": every argument in its place, whatever POSIXLY_CORRECT says (getopt neither stops
         * at the first argument nor permutes argv); ':': our own messages. */
        snprintf(optstring, sizeof(optstring), "-:hV%s", p->short_options ? p->short_options : "");
        for (; p->long_options && p->long_options[n].name; n++) {
                if (n >= CLI_OPTIONS_MAX)
                        abort(); /* the table is too long: a bug */
                options[n] = p->long_options[n];
        }
        options[n++] = (struct option){ "help", no_argument, NULL, 'h' };
        options[n++] = (struct option){ "version", no_argument, NULL, 'V' };
        options[n] = (struct option){};

        a.args = calloc((size_t) argc + 1, sizeof(char *));
        if (!a.args) {
                fprintf(stderr, "%s: out of memory\n", p->name);
                return -ENOMEM;
        }
        /* Start afresh, also when called twice in one process. */
        optind = 0;
        opterr = 0;
        for (;;) {
                int opt, index = -1, k;

                opt = getopt_long(argc, argv, optstring, options, &index);
                if (opt < 0)
                        break;
                if (opt == 1) {
                        a.args[a.n_args++] = optarg;
                        if (p->stop_at_first_argument)
                                break;
                        continue;
                }
                if (opt == '?' || opt == ':') {
                        option_error(p, options, opt, argv[optind - 1]);
                        goto fail;
                }
                if (opt == 'h' || opt == 'V') {
                        if (opt == 'h')
                                p->help(stdout);
                        else
                                cli_version(p);
                        r = 0;
                        goto fail;
                }
                /* A short letter: its long option. */
                k = index;
                for (int i = 0; k < 0 && options[i].name; i++)
                        if (options[i].val == opt)
                                k = i;
                if (k < 0)
                        abort(); /* a short option without a long name: the table is wrong */
                if (a.n_given >= CLI_GIVEN_MAX) {
                        cli_usage_error(p, "too many options");
                        goto fail;
                }
                a.given[a.n_given].index = k;
                if (index >= 0)
                        snprintf(a.given[a.n_given].spelling, sizeof(a.given[0].spelling), "--%s",
                                 options[k].name);
                else
                        snprintf(a.given[a.n_given].spelling, sizeof(a.given[0].spelling), "-%c",
                                 opt);
                r = p->option(opt, optarg, a.given[a.n_given].spelling, userdata);
                if (r != 0) {
                        r = r > 0 ? 0 : r;
                        goto fail;
                }
                r = -EINVAL;
                a.n_given++;
        }
        /* What follows "--". */
        for (; optind < argc; optind++)
                a.args[a.n_args++] = argv[optind];
        a.args[a.n_args] = NULL;
        *ret = a;
        return 1;
fail:
        cli_args_done(&a);
        return r;
}

int cli_dispatch(const cli_program *p, const cli_args *a, const cli_verb *verbs, size_t n_verbs,
                 void *userdata) {
        const cli_verb *v = NULL;
        size_t n;

        if (a->n_args == 0) {
                fprintf(stderr, "%s: no command given\n\n", p->name);
                p->help(stderr);
                return CLI_EXIT_USAGE;
        }
        for (size_t i = 0; i < n_verbs && !v; i++)
                if (strcmp(a->args[0], verbs[i].name) == 0)
                        v = &verbs[i];
        if (!v) {
                cli_usage_error(p, "unknown command '%s'", a->args[0]);
                return CLI_EXIT_USAGE;
        }
        for (size_t i = 0; i < a->n_given; i++) {
                const char *name = p->long_options[a->given[i].index].name;

                if (!word_in(p->global_options, name) && !word_in(v->options, name)) {
                        cli_usage_error(p, "option '%s' does not apply to %s", a->given[i].spelling,
                                        v->name);
                        return CLI_EXIT_USAGE;
                }
        }
        n = a->n_args - 1;
        if (n < v->min_args) {
                cli_usage_error(p, "%s takes %s", v->name, v->usage);
                return CLI_EXIT_USAGE;
        }
        if (n > v->max_args) {
                cli_usage_error(p, "unexpected argument '%s' (%s takes %s)",
                                a->args[v->max_args + 1], v->name, v->usage ?: "no arguments");
                return CLI_EXIT_USAGE;
        }
        return v->run((int) a->n_args, a->args, userdata);
}

int cli_columns_parse(const cli_program *p, const char *spec, const char *const *names,
                      size_t n_names, int *out, size_t max, size_t *n_out) {
        const char *s = spec;

        if (*s == '+')
                s++;
        if (!*s) {
                fprintf(stderr, "%s: no columns given to --output\n", p->name);
                return -EINVAL;
        }
        while (*s) {
                size_t len = strcspn(s, ",");
                int c = -1;

                for (size_t i = 0; i < n_names && c < 0; i++)
                        if (strlen(names[i]) == len && strncasecmp(names[i], s, len) == 0)
                                c = (int) i;
                if (c < 0) {
                        fprintf(stderr, "%s: unknown column '%.*s'; see '%s --list-columns'\n",
                                p->name, (int) len, s, p->name);
                        return -EINVAL;
                }
                if (*n_out >= max) {
                        fprintf(stderr, "%s: too many columns\n", p->name);
                        return -EINVAL;
                }
                out[(*n_out)++] = c;
                s += len;
                if (*s == ',')
                        s++;
        }
        return 0;
}

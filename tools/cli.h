/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * cli — the command-line conventions every lmm program shares, so that they
 * read alike to someone used to systemctl, lsfd and ip:
 *
 *  - options anywhere: before, between and after the verb and its arguments
 *    ("lmmctl list --json" is "lmmctl --json list"), also with
 *    $POSIXLY_CORRECT set; "--" ends the options, so that an argument may
 *    start with '-' ("lmmctl stat -- -odd");
 *  - -h/--help prints the help on standard output and -V/--version
 *    "PROGRAM VERSION" (the project's version, from meson), both exiting 0,
 *    wherever they stand;
 *  - a usage error is one line on standard error that names what was wrong,
 *    "lmmctl: unknown option '--bogus'; try 'lmmctl --help'", and exit
 *    status 2 (CLI_EXIT_USAGE); nothing is done first;
 *  - verbs come from a table that says how many arguments each takes and
 *    which of the program's options apply to it; an option given to a verb
 *    it does not apply to is a usage error, not silently ignored; no verb
 *    prints the help on standard error (exit 2);
 *  - -o/--output COLUMNS is read as lsfd reads it: comma-separated, any
 *    case, "+COLUMNS" adds to the default columns.
 *
 * Every option has a long name (a short letter is optional): that is how a
 * message names it and how a verb lists what applies to it.
 */

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define CLI_EXIT_USAGE 2

/* At most this many options in a program's table, and given on one command line. */
#define CLI_OPTIONS_MAX 48
#define CLI_GIVEN_MAX 64

typedef struct cli_program {
        const char *name; /* "lmmctl": the first word of every message */
        /* getopt's short options ("s:Jo:"); 'h' and 'V' are added. */
        const char *short_options;
        /* getopt_long's table, {}-terminated, with flag NULL and val the short letter or a
         * number >= 0x100; "help" and "version" are added. */
        const struct option *long_options;
        /* Long names of the options that apply whatever the verb, space-separated ("socket");
         * "help" and "version" always do. NULL: all of them (a program without verbs). */
        const char *global_options;
        /*
         * One option: @opt is getopt's value, @arg its argument (NULL when it takes none),
         * @spelling how a message names it ("--json" or "-J", as given). Return: 0 to go on; 1
         * when it did the program's whole work (--list-columns printed): exit 0; < 0 after one
         * line on stderr: a usage error.
         */
        int (*option)(int opt, const char *arg, const char *spelling, void *userdata);
        void (*help)(FILE *f);
        /* Options end at the first argument that is not one: what follows is a program's
         * command line to run, its options its own (lmm-run PROGRAM ARGS..., as env(1)). */
        bool stop_at_first_argument;
} cli_program;

/* What a command line said, once cli_parse() has gone through it. */
typedef struct cli_args {
        char **args; /* the arguments that are not options, in order, NULL-terminated */
        size_t n_args;
        struct {
                int index;         /* into the program's long_options */
                char spelling[32]; /* "--json", "-J": as given, for messages */
        } given[CLI_GIVEN_MAX];
        size_t n_given;
} cli_args;

/*
 * cli_parse() - go through @argv once, in order: each option to @p->option(),
 * the other arguments into @ret (free them with cli_args_done()).
 * Return: 1 to go on; 0 when the program's work is done (--help, --version or
 * an option that did it); -EINVAL or -ENOMEM after one line on stderr.
 * cli_exit_status() turns the last two into an exit status.
 */
int cli_parse(const cli_program *p, int argc, char *argv[], void *userdata, cli_args *ret);

/* cli_exit_status() - for cli_parse()'s 0 or error: 0, CLI_EXIT_USAGE for -EINVAL, else 1. */
static inline int cli_exit_status(int r) {
        return r == 0 ? 0 : r == -EINVAL ? CLI_EXIT_USAGE : 1;
}

void cli_args_done(cli_args *a);

/* cli_usage_error() - "PROGRAM: MESSAGE; try 'PROGRAM --help'" on stderr. Return: -EINVAL. */
int cli_usage_error(const cli_program *p, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

/* cli_version() - "PROGRAM VERSION\n" on standard output. */
void cli_version(const cli_program *p);

typedef struct cli_verb {
        const char *name;
        unsigned min_args, max_args; /* not counting the verb */
        const char *usage;           /* its arguments, for messages: "[NAME] SIZE"; NULL: none */
        /* Long names of the program's options that apply to it, besides the global ones,
         * space-separated; NULL: none. */
        const char *options;
        /* @argv[0] is the verb. Return: the exit status (0, or 1 after one line on stderr). */
        int (*run)(int argc, char *argv[], void *userdata);
} cli_verb;

/*
 * cli_dispatch() - run the verb @a->args[0] names, with its arguments, once
 * it is known to exist, to be given as many arguments as it takes, and to be
 * given only options that apply to it. Return: the verb's exit status; or
 * CLI_EXIT_USAGE after one line on stderr (the help on stderr when there is
 * no verb at all).
 */
int cli_dispatch(const cli_program *p, const cli_args *a, const cli_verb *verbs, size_t n_verbs,
                 void *userdata);

/*
 * cli_columns_parse() - an -o/--output argument: column names of @names (@n_names of them),
 * comma-separated, in any case; a leading '+' is skipped (the caller adds the default columns
 * first). Appends their indexes to @out (room for @max), counting in *@n_out.
 * Return: 0; -EINVAL after one line on stderr naming the unknown column.
 */
int cli_columns_parse(const cli_program *p, const char *spec, const char *const *names,
                      size_t n_names, int *out, size_t max, size_t *n_out);

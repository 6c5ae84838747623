/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lmmctl — talk to a manager from the shell: create, list, stat, write, cat,
 * freeze, release, shutdown, reexec.
 */

#include <getopt.h>
#include <inttypes.h>
#include <libsmartcols.h>
#include <stdio.h>
#include <string.h>

#include "lmm.h"
#include "util.h"

static const char *arg_socket;
static bool arg_json;
static bool arg_huge;
static uint32_t arg_share; /* LMM_CREATE_OTHERS_* */

static int help(void) {
        printf("Usage: lmmctl [OPTIONS] COMMAND [ARGS]\n"
               "\n"
               "Commands:\n"
               "  create NAME SIZE   create a block (SIZE takes K, M, G, T suffixes)\n"
               "  list               list the manager's blocks\n"
               "  stat NAME          show one block (another user's: UID/NAME)\n"
               "  write NAME         copy standard input into the block\n"
               "  cat NAME           copy the block to standard output\n"
               "  freeze NAME        seal the block against new writable mappings\n"
               "  release NAME       drop the manager's reference and the name\n"
               "  shutdown           seal every block and stop the manager\n"
               "  reexec             make lmmd execute itself again (an upgrade), keeping\n"
               "                     every block\n"
               "\n"
               "Options:\n"
               "  -s, --socket PATH  the manager's socket (default: $LMM_SOCKET,\n"
               "                     $XDG_RUNTIME_DIR/lmm/lmmd.sock, /run/lmm/lmmd.sock for root)\n"
               "  -J, --json         list and stat as JSON\n"
               "      --huge         create on huge pages\n"
               "      --share ro|rw  create: let the manager's other users open the block\n"
               "                     read-only or read-write (default: nobody but its owner)\n"
               "  -h, --help         show this help\n");
        return 0;
}

/* One line saying what failed, on what, and why; the manager's words when it gave some. */
static int fail(lmm_client *c, int r, const char *what) {
        const char *why = c ? lmm_client_last_error(c) : NULL;

        if (why)
                fprintf(stderr, "lmmctl: %s\n", why);
        else if (r == -ECONNRESET)
                fprintf(stderr, "lmmctl: %s: the manager went away\n", what);
        else
                fprintf(stderr, "lmmctl: %s: %s\n", what, strerror(-r));
        return 1;
}

static int connect_manager(lmm_client **ret) {
        char path[108];
        int r;

        if (!arg_socket) {
                r = lmm_default_socket_path(path, sizeof(path));
                if (r < 0) {
                        fprintf(stderr, "lmmctl: no manager socket: XDG_RUNTIME_DIR is not set; "
                                        "use --socket PATH\n");
                        return r;
                }
        } else
                snprintf(path, sizeof(path), "%s", arg_socket);
        r = lmm_client_connect(path, ret);
        if (r < 0)
                fprintf(stderr, "lmmctl: cannot connect to the manager at %s: %s%s\n", path,
                        strerror(-r),
                        r == -ENOENT || r == -ECONNREFUSED ? " (is lmmd running?)" : "");
        return r;
}

static void flags_to_string(uint32_t flags, char *buf, size_t size) {
        snprintf(buf, size, "%s%s%s%s%s",
                 flags & LMM_BLOCK_SCOPE_CONNECTION ? "connection" : "manager",
                 flags & LMM_BLOCK_HUGETLB ? ",hugetlb" : "",
                 flags & LMM_BLOCK_FROZEN ? ",frozen" : "",
                 flags & LMM_BLOCK_ADOPTED ? ",adopted" : "",
                 flags & LMM_BLOCK_OTHERS_WRITE  ? ",others-rw"
                 : flags & LMM_BLOCK_OTHERS_READ ? ",others-ro"
                                                 : "");
}

static int print_blocks(const lmm_block_info *b, size_t n, bool single) {
        struct libscols_table *t = scols_new_table();
        char buf[128];
        int r = 0;

        if (!t)
                return -ENOMEM;
        scols_table_enable_json(t, arg_json);
        scols_table_set_name(t, "blocks");
        scols_table_new_column(t, "NAME", 0.3, 0);
        scols_table_new_column(t, "SIZE", 0.1, SCOLS_FL_RIGHT);
        scols_table_new_column(t, "SEALS", 0.2, 0);
        scols_table_new_column(t, "SCOPE", 0.1, 0);
        scols_table_new_column(t, "UID", 0.05, SCOLS_FL_RIGHT);
        scols_table_new_column(t, "PID", 0.05, SCOLS_FL_RIGHT);
        scols_table_new_column(t, "ID", 0.05, SCOLS_FL_RIGHT);
        if (arg_json) {
                /* Numbers as numbers, so that scripts need no parsing. */
                for (int i = 1; i < 7; i++)
                        if (i != 2 && i != 3)
                                scols_column_set_json_type(scols_table_get_column(t, i),
                                                           SCOLS_JSON_NUMBER);
        }
        for (size_t i = 0; i < n; i++) {
                struct libscols_line *l = scols_table_new_line(t, NULL);
                if (!l) {
                        r = -ENOMEM;
                        break;
                }
                scols_line_set_data(l, 0, b[i].name);
                if (arg_json)
                        snprintf(buf, sizeof(buf), "%" PRIu64, b[i].size);
                else
                        format_bytes(b[i].size, buf, sizeof(buf));
                scols_line_set_data(l, 1, buf);
                scols_line_set_data(l, 2, lmm_seals_to_string(b[i].seals, buf, sizeof(buf)));
                flags_to_string(b[i].flags, buf, sizeof(buf));
                scols_line_set_data(l, 3, buf);
                snprintf(buf, sizeof(buf), "%" PRIu32, b[i].owner_uid);
                scols_line_set_data(l, 4, buf);
                snprintf(buf, sizeof(buf), "%" PRId32, b[i].owner_pid);
                scols_line_set_data(l, 5, buf);
                snprintf(buf, sizeof(buf), "%" PRIu64, b[i].id);
                scols_line_set_data(l, 6, buf);
        }
        (void) single;
        if (r == 0)
                scols_print_table(t);
        scols_unref_table(t);
        return r;
}

static int verb_create(lmm_client *c, char **args) {
        lmm_segment_opts o = { .name = args[0],
                               .flags = (arg_huge ? LMM_CREATE_HUGETLB : 0) | arg_share };
        lmm_segment *s = NULL;
        char what[300];
        int r;

        r = parse_size(args[1], &o.size);
        if (r < 0 || o.size == 0) {
                fprintf(stderr,
                        "lmmctl: invalid size '%s': give a positive number of bytes, optionally "
                        "with K, M, G or T\n",
                        args[1]);
                return 1;
        }
        snprintf(what, sizeof(what), "cannot create block \"%s\"", args[0]);
        if (!name_is_valid(args[0], strlen(args[0]))) {
                fprintf(stderr,
                        "lmmctl: invalid name \"%s\": 1 to %d bytes, no '/' and no control "
                        "characters\n",
                        args[0], LMM_NAME_MAX);
                return 1;
        }
        r = lmm_segment_create(c, &o, &s);
        if (r < 0)
                return fail(c, r, what);
        lmm_segment_unref(s);
        return 0;
}

static int verb_list(lmm_client *c, char **args) {
        _cleanup_free_ lmm_block_info *b = NULL;
        size_t n;
        int r;

        r = lmm_block_list(c, &b, &n);
        if (r < 0)
                return fail(c, r, "cannot list blocks");
        return print_blocks(b, n, false) < 0;
}

static int verb_stat(lmm_client *c, char **args) {
        lmm_block_info b;
        char what[300];
        int r;

        snprintf(what, sizeof(what), "cannot stat block \"%s\"", args[0]);
        r = lmm_block_stat(c, args[0], &b);
        if (r < 0)
                return fail(c, r, what);
        return print_blocks(&b, 1, true) < 0;
}

static int open_mapped(lmm_client *c, const char *name, bool rdonly, lmm_segment **ret,
                       void **ret_p) {
        lmm_segment *s = NULL;
        char what[300];
        int r;

        snprintf(what, sizeof(what), "cannot open block \"%s\"", name);
        r = lmm_segment_open(c, name, rdonly ? LMM_OPEN_RDONLY : 0, &s);
        if (r < 0)
                return fail(c, r, what);
        r = lmm_segment_map(s, rdonly ? LMM_MAP_RDONLY : 0, ret_p);
        if (r < 0 || (!rdonly && r == 1)) {
                if (r == 1)
                        fprintf(stderr, "lmmctl: cannot write block \"%s\": it is frozen\n", name);
                else
                        fprintf(stderr, "lmmctl: cannot map block \"%s\": %s\n", name,
                                strerror(-r));
                lmm_segment_unref(s);
                return 1;
        }
        *ret = s;
        return 0;
}

static int verb_write(lmm_client *c, char **args) {
        lmm_segment *s = NULL;
        uint64_t size, off = 0;
        uint8_t *p;
        int r;

        r = open_mapped(c, args[0], false, &s, (void **) &p);
        if (r)
                return r;
        size = lmm_segment_get_size(s);
        for (;;) {
                ssize_t n;
                char extra;

                if (off == size) {
                        /* Full: anything more on stdin does not fit. */
                        n = read(STDIN_FILENO, &extra, 1);
                        if (n > 0) {
                                char sz[32];
                                fprintf(stderr,
                                        "lmmctl: cannot write block \"%s\": input is larger than "
                                        "the block (%s)\n",
                                        args[0], format_bytes(size, sz, sizeof(sz)));
                                r = 1;
                        }
                        break;
                }
                n = read(STDIN_FILENO, p + off, (size_t) MIN(size - off, (uint64_t) 1 << 20));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        fprintf(stderr, "lmmctl: cannot read standard input: %m\n");
                        r = 1;
                        break;
                }
                if (n == 0)
                        break;
                off += (uint64_t) n;
        }
        lmm_segment_unref(s);
        return r;
}

static int verb_cat(lmm_client *c, char **args) {
        lmm_segment *s = NULL;
        uint64_t size, off = 0;
        const uint8_t *p;
        int r;

        r = open_mapped(c, args[0], true, &s, (void **) &p);
        if (r)
                return r;
        size = lmm_segment_get_size(s);
        while (off < size) {
                ssize_t n =
                        write(STDOUT_FILENO, p + off, (size_t) MIN(size - off, (uint64_t) 1 << 20));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        fprintf(stderr, "lmmctl: cannot write standard output: %m\n");
                        r = 1;
                        break;
                }
                off += (uint64_t) n;
        }
        lmm_segment_unref(s);
        return r;
}

static int verb_named(lmm_client *c, char **args, int (*f)(lmm_client *, const char *),
                      const char *verb) {
        char what[300];
        int r;

        snprintf(what, sizeof(what), "cannot %s block \"%s\"", verb, args[0]);
        r = f(c, args[0]);
        return r < 0 ? fail(c, r, what) : 0;
}

static int verb_freeze(lmm_client *c, char **args) {
        return verb_named(c, args, lmm_block_freeze, "freeze");
}

static int verb_release(lmm_client *c, char **args) {
        return verb_named(c, args, lmm_block_release, "release");
}

static int verb_shutdown(lmm_client *c, char **args) {
        int r = lmm_client_shutdown_manager(c);
        return r < 0 ? fail(c, r, "cannot shut the manager down") : 0;
}

static int verb_reexec(lmm_client *c, char **args) {
        int r = lmm_client_reexec_manager(c);
        return r < 0 ? fail(c, r, "cannot re-execute the manager") : 0;
}

int main(int argc, char *argv[]) {
        enum { ARG_HUGE = 0x100, ARG_SHARE };
        static const struct option options[] = { { "socket", required_argument, NULL, 's' },
                                                 { "json", no_argument, NULL, 'J' },
                                                 { "huge", no_argument, NULL, ARG_HUGE },
                                                 { "share", required_argument, NULL, ARG_SHARE },
                                                 { "help", no_argument, NULL, 'h' },
                                                 {} };
        static const struct {
                const char *name;
                int n_args;
                int (*run)(lmm_client *c, char **args);
        } verbs[] = {
                { "create", 2, verb_create },   { "list", 0, verb_list },
                { "stat", 1, verb_stat },       { "write", 1, verb_write },
                { "cat", 1, verb_cat },         { "freeze", 1, verb_freeze },
                { "release", 1, verb_release }, { "shutdown", 0, verb_shutdown },
                { "reexec", 0, verb_reexec },
        };
        lmm_client *c = NULL;
        int opt, r;

        while ((opt = getopt_long(argc, argv, "+s:Jh", options, NULL)) >= 0) {
                switch (opt) {
                case 's':
                        arg_socket = optarg;
                        break;
                case 'J':
                        arg_json = true;
                        break;
                case ARG_HUGE:
                        arg_huge = true;
                        break;
                case ARG_SHARE:
                        if (strcmp(optarg, "ro") == 0)
                                arg_share = LMM_CREATE_OTHERS_READ;
                        else if (strcmp(optarg, "rw") == 0)
                                arg_share = LMM_CREATE_OTHERS_WRITE;
                        else {
                                fprintf(stderr, "lmmctl: --share takes ro or rw, not '%s'\n",
                                        optarg);
                                return 2;
                        }
                        break;
                case 'h':
                        return help();
                default:
                        fprintf(stderr, "lmmctl: try 'lmmctl --help'\n");
                        return 2;
                }
        }
        if (optind >= argc) {
                fprintf(stderr, "lmmctl: no command given; try 'lmmctl --help'\n");
                return 2;
        }
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++) {
                if (strcmp(argv[optind], verbs[i].name) != 0)
                        continue;
                if (argc - optind - 1 != verbs[i].n_args) {
                        fprintf(stderr, "lmmctl: %s takes %d argument%s; try 'lmmctl --help'\n",
                                verbs[i].name, verbs[i].n_args, verbs[i].n_args == 1 ? "" : "s");
                        return 2;
                }
                if (connect_manager(&c) < 0)
                        return 1;
                r = verbs[i].run(c, argv + optind + 1);
                lmm_client_unref(c);
                return r;
        }
        fprintf(stderr, "lmmctl: unknown command '%s'; try 'lmmctl --help'\n", argv[optind]);
        return 2;
}

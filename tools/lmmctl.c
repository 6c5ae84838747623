/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lmmctl — talk to a manager from the shell: create, list, stat, write, cat,
 * freeze, release, shutdown, reexec.
 *
 * The command line follows cli.h (options anywhere, --version, one-line usage
 * errors). list and stat name their columns and JSON fields as memfd-inspect
 * does for the same facts (BLOCK, SIZE, SEALS, HUGETLB, SCOPE, OWNER-UID,
 * OWNER-PID, DEV, INODE), with names escaped by escape.h in JSON. write checks
 * that the input fits before it writes a byte; cat does not pour binary onto a
 * terminal unless asked.
 */

#include <inttypes.h>
#include <libsmartcols.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "cli.h"
#include "escape.h"
#include "lmm.h"
#include "util.h"

#define PROG "lmmctl"

enum {
        COL_BLOCK,
        COL_SIZE,
        COL_SEALS,
        COL_SCOPE,
        COL_SHARE,
        COL_HUGETLB,
        COL_FROZEN,
        COL_ADOPTED,
        COL_OWNER_UID,
        COL_OWNER_PID,
        COL_ID,
        COL_DEV,
        COL_INODE,
        _COL_MAX,
};

typedef enum json_type { JSON_STRING, JSON_NUMBER, JSON_BOOLEAN } json_type;

typedef struct column_info {
        const char *name;
        double whint;
        int flags;
        json_type json;
        const char *help;
} column_info;

/* The names memfd-inspect gives the same facts; the rest are the manager's alone. */
// clang-format off
static const column_info columns[_COL_MAX] = {
        [COL_BLOCK] = { "BLOCK", 0.3, 0, JSON_STRING, "the block's name in the manager" },
        [COL_SIZE] = { "SIZE", 6, SCOLS_FL_RIGHT, JSON_NUMBER, "size (in bytes with --bytes and in JSON)" },
        [COL_SEALS] = { "SEALS", 0.2, 0, JSON_STRING, "seals (\"none\" when unsealed)" },
        [COL_SCOPE] = { "SCOPE", 10, 0, JSON_STRING, "manager (lives until released) or connection (released with its creator's connection)" },
        [COL_SHARE] = { "SHARE", 5, 0, JSON_STRING, "what the manager's other users may do: none, ro (open read-only), rw" },
        [COL_HUGETLB] = { "HUGETLB", 3, 0, JSON_BOOLEAN, "backed by huge pages" },
        [COL_FROZEN] = { "FROZEN", 3, 0, JSON_BOOLEAN, "sealed against new writable mappings (future_write or write)" },
        [COL_ADOPTED] = { "ADOPTED", 3, 0, JSON_BOOLEAN, "made by a client and handed to the manager, not created by it" },
        [COL_OWNER_UID] = { "OWNER-UID", 5, SCOLS_FL_RIGHT, JSON_NUMBER, "uid that created the block" },
        [COL_OWNER_PID] = { "OWNER-PID", 5, SCOLS_FL_RIGHT, JSON_NUMBER, "pid that created the block" },
        [COL_ID] = { "ID", 3, SCOLS_FL_RIGHT, JSON_NUMBER, "the manager's id for the block, never reused" },
        [COL_DEV] = { "DEV", 5, 0, JSON_STRING, "device of the memfd (major:minor)" },
        [COL_INODE] = { "INODE", 5, SCOLS_FL_RIGHT, JSON_NUMBER, "inode number of the memfd" },
};
// clang-format on

static const int default_columns[] = { COL_BLOCK,     COL_SIZE,      COL_SEALS,
                                       COL_SCOPE,     COL_SHARE,     COL_HUGETLB,
                                       COL_OWNER_UID, COL_OWNER_PID, COL_ID };

static const char *arg_socket;
static bool arg_json;
static bool arg_noheadings;
static bool arg_raw;
static bool arg_bytes;
static bool arg_binary;
static const char *arg_output;
static bool arg_huge;
static uint32_t arg_share; /* LMM_CREATE_OTHERS_* */

static void help(FILE *f) {
        fprintf(f,
                "Usage: " PROG " [OPTIONS] COMMAND [ARGS] [OPTIONS]\n"
                "\n"
                "Commands:\n"
                "  create [NAME] SIZE  create a block (SIZE takes K, M, G, T suffixes); without\n"
                "                      NAME the manager makes one up, which is printed\n"
                "  list                list the blocks you may open\n"
                "  stat NAME           show one block (another user's: UID/NAME)\n"
                "  write NAME          copy standard input into the block\n"
                "  cat NAME            copy the block to standard output\n"
                "  freeze NAME         seal the block against new writable mappings\n"
                "  release NAME        drop the manager's reference and the name\n"
                "  shutdown            seal every block and stop the manager\n"
                "  reexec              make lmmd execute itself again (an upgrade), keeping\n"
                "                      every block\n"
                "  help                show this help\n"
                "\n"
                "Options (before or after the command; '--' ends them):\n"
                "  -s, --socket PATH    the manager's socket (default: $LMM_SOCKET,\n"
                "                       $XDG_RUNTIME_DIR/lmm/lmmd.sock, /run/lmm/lmmd.sock for "
                "root)\n"
                "  -J, --json           list, stat: JSON (stat: one object)\n"
                "  -n, --noheadings     list, stat: no header line\n"
                "  -r, --raw            list, stat: raw output, no alignment\n"
                "  -o, --output COLUMNS list, stat: columns, comma-separated; +COLUMNS adds to\n"
                "                       the default\n"
                "  -b, --bytes          list, stat: sizes in bytes instead of KiB, MiB...\n"
                "  -H, --list-columns   list the columns\n"
                "      --huge           create: on huge pages\n"
                "      --share ro|rw    create: let the manager's other users open the block\n"
                "                       read-only or read-write (default: nobody but its owner)\n"
                "      --binary         cat: write a block that looks binary to a terminal too\n"
                "  -h, --help           show this help\n"
                "  -V, --version        show the version\n");
}

static int list_columns(void) {
        for (size_t i = 0; i < _COL_MAX; i++)
                printf("%10s  %s\n", columns[i].name, columns[i].help);
        return 0;
}

static const cli_program program;

static int parse_output(const char *spec, int *out, size_t max, size_t *n_out) {
        static const char *names[_COL_MAX];

        for (size_t i = 0; i < _COL_MAX; i++)
                names[i] = columns[i].name;
        return cli_columns_parse(&program, spec, names, _COL_MAX, out, max, n_out);
}

static int parse_option(int opt, const char *arg, const char *spelling, void *userdata) {
        switch (opt) {
        case 's':
                arg_socket = arg;
                break;
        case 'J':
                arg_json = true;
                break;
        case 'n':
                arg_noheadings = true;
                break;
        case 'r':
                arg_raw = true;
                break;
        case 'b':
                arg_bytes = true;
                break;
        case 'o': {
                int cols[_COL_MAX * 4];
                size_t n = 0;

                /* Checked now, for a usage error before any work. */
                if (parse_output(arg, cols, ELEMENTSOF(cols), &n) < 0)
                        return -EINVAL;
                arg_output = arg;
                break;
        }
        case 'H':
                list_columns();
                return 1;
        case 0x100:
                arg_huge = true;
                break;
        case 0x101:
                if (strcmp(arg, "ro") == 0)
                        arg_share = LMM_CREATE_OTHERS_READ;
                else if (strcmp(arg, "rw") == 0)
                        arg_share = LMM_CREATE_OTHERS_WRITE;
                else
                        return cli_usage_error(&program, "%s takes ro or rw, not '%s'", spelling,
                                               arg);
                break;
        case 0x102:
                arg_binary = true;
                break;
        default:
                abort();
        }
        return 0;
}

static const struct option long_options[] = {
        { "socket", required_argument, NULL, 's' },
        { "json", no_argument, NULL, 'J' },
        { "noheadings", no_argument, NULL, 'n' },
        { "raw", no_argument, NULL, 'r' },
        { "output", required_argument, NULL, 'o' },
        { "bytes", no_argument, NULL, 'b' },
        { "list-columns", no_argument, NULL, 'H' },
        { "huge", no_argument, NULL, 0x100 },
        { "share", required_argument, NULL, 0x101 },
        { "binary", no_argument, NULL, 0x102 },
        {},
};

static const cli_program program = {
        .name = PROG,
        .short_options = "s:Jnro:bH",
        .long_options = long_options,
        .global_options = "socket list-columns",
        .option = parse_option,
        .help = help,
};

/* ------------------------------------------------------------ the manager */

static void client_unrefp(lmm_client **c) {
        lmm_client_unref(*c);
}
#define _cleanup_client_ _cleanup_(client_unrefp)

/* One line saying what failed, on what, and why; the manager's words when it gave some. */
static int fail(lmm_client *c, int r, const char *what) {
        const char *why = c ? lmm_client_last_error(c) : NULL;

        if (why)
                fprintf(stderr, PROG ": %s\n", why);
        else if (r == -ECONNRESET)
                fprintf(stderr, PROG ": %s: the manager went away\n", what);
        else
                fprintf(stderr, PROG ": %s: %s\n", what, strerror(-r));
        return 1;
}

static int connect_manager(lmm_client **ret) {
        char path[108];
        int r;

        if (!arg_socket) {
                r = lmm_default_socket_path(path, sizeof(path));
                if (r < 0) {
                        fprintf(stderr, PROG ": no manager socket: XDG_RUNTIME_DIR is not set; "
                                             "use --socket PATH\n");
                        return r;
                }
        } else if (strlen(arg_socket) >= sizeof(path)) {
                fprintf(stderr,
                        PROG ": --socket %s: path too long for a Unix socket (at most %zu bytes)\n",
                        arg_socket, sizeof(path) - 1);
                return -ENAMETOOLONG;
        } else
                snprintf(path, sizeof(path), "%s", arg_socket);
        r = lmm_client_connect(path, ret);
        if (r < 0)
                fprintf(stderr, PROG ": cannot connect to the manager at %s: %s%s\n", path,
                        strerror(-r),
                        r == -ENOENT || r == -ECONNREFUSED ? " (is lmmd running?)" : "");
        return r;
}

/* ---------------------------------------------------------------- output */

/* The text of one cell: for a table, or for JSON (numbers and booleans as JSON writes them,
 * the name escaped by escape.h). */
static const char *cell(const lmm_block_info *b, int col, char *buf, size_t size) {
        switch (col) {
        case COL_BLOCK:
                return arg_json ? escape_text(b->name, buf, size) : b->name;
        case COL_SIZE:
                if (arg_json || arg_bytes)
                        snprintf(buf, size, "%" PRIu64, b->size);
                else
                        format_bytes(b->size, buf, size);
                return buf;
        case COL_SEALS:
                return b->seals == 0 ? "none" : lmm_seals_to_string(b->seals, buf, size);
        case COL_SCOPE:
                return b->flags & LMM_BLOCK_SCOPE_CONNECTION ? "connection" : "manager";
        case COL_SHARE:
                return b->flags & LMM_BLOCK_OTHERS_WRITE  ? "rw"
                       : b->flags & LMM_BLOCK_OTHERS_READ ? "ro"
                                                          : "none";
        case COL_HUGETLB:
        case COL_FROZEN:
        case COL_ADOPTED: {
                uint32_t bit = col == COL_HUGETLB  ? LMM_BLOCK_HUGETLB
                               : col == COL_FROZEN ? LMM_BLOCK_FROZEN
                                                   : LMM_BLOCK_ADOPTED;
                bool v = b->flags & bit;
                return arg_json ? (v ? "true" : "false") : (v ? "yes" : "no");
        }
        case COL_OWNER_UID:
                snprintf(buf, size, "%" PRIu32, b->owner_uid);
                return buf;
        case COL_OWNER_PID:
                snprintf(buf, size, "%" PRId32, b->owner_pid);
                return buf;
        case COL_ID:
                snprintf(buf, size, "%" PRIu64, b->id);
                return buf;
        case COL_DEV:
                snprintf(buf, size, "%u:%u", major((dev_t) b->device), minor((dev_t) b->device));
                return buf;
        case COL_INODE:
                snprintf(buf, size, "%" PRIu64, b->inode);
                return buf;
        default:
                abort();
        }
}

static int out_cols[_COL_MAX * 4];
static size_t n_out_cols;

/* -o, or the defaults (every column in JSON, so that scripts see one schema), then
 * "-o +COLUMNS". */
static void choose_columns(void) {
        n_out_cols = 0;
        if (!arg_output || arg_output[0] == '+') {
                if (arg_json)
                        for (int i = 0; i < _COL_MAX; i++)
                                out_cols[n_out_cols++] = i;
                else
                        for (size_t i = 0; i < ELEMENTSOF(default_columns); i++)
                                out_cols[n_out_cols++] = default_columns[i];
        }
        if (arg_output)
                /* Already checked in parse_option(). */
                (void) parse_output(arg_output, out_cols, ELEMENTSOF(out_cols), &n_out_cols);
}

/* A string for JSON: what escape_text() made, with '"' and '\' escaped once more. */
static void json_string(const char *s) {
        putchar('"');
        for (; *s; s++) {
                unsigned char c = (unsigned char) *s;

                if (c == '"' || c == '\\')
                        printf("\\%c", c);
                else if (c < 0x20)
                        printf("\\u%04x", c); /* escape_text() leaves none; never mind */
                else
                        putchar(c);
        }
        putchar('"');
}

/* One block as a JSON object, its members indented by @indent + 3 spaces as libsmartcols does. */
static void json_block(const lmm_block_info *b, const char *indent) {
        printf("%s{\n", indent);
        for (size_t i = 0; i < n_out_cols; i++) {
                const column_info *ci = &columns[out_cols[i]];
                char buf[4 * LMM_NAME_MAX + 64];
                const char *v = cell(b, out_cols[i], buf, sizeof(buf));

                printf("%s   \"", indent);
                for (const char *k = ci->name; *k; k++)
                        putchar(*k >= 'A' && *k <= 'Z' ? *k - 'A' + 'a' : *k);
                printf("\": ");
                if (ci->json == JSON_STRING)
                        json_string(v);
                else
                        fputs(v, stdout);
                printf("%s\n", i + 1 < n_out_cols ? "," : "");
        }
        printf("%s}", indent);
}

static int print_table(const lmm_block_info *b, size_t n) {
        struct libscols_table *t = scols_new_table();
        int r = -ENOMEM;

        if (!t)
                return r;
        scols_table_enable_noheadings(t, arg_noheadings);
        scols_table_enable_raw(t, arg_raw);
        for (size_t i = 0; i < n_out_cols; i++) {
                const column_info *ci = &columns[out_cols[i]];
                if (!scols_table_new_column(t, ci->name, ci->whint, ci->flags))
                        goto finish;
        }
        for (size_t k = 0; k < n; k++) {
                struct libscols_line *l = scols_table_new_line(t, NULL);

                if (!l)
                        goto finish;
                for (size_t i = 0; i < n_out_cols; i++) {
                        char buf[128];
                        if (scols_line_set_data(l, i, cell(&b[k], out_cols[i], buf, sizeof(buf))) <
                            0)
                                goto finish;
                }
        }
        r = scols_print_table(t) < 0 ? -EIO : 0;
finish:
        scols_unref_table(t);
        return r;
}

/* @b as a table, or as JSON: {"blocks": [...]} for list, one object for stat (@single). */
static int print_blocks(const lmm_block_info *b, size_t n, bool single) {
        int r = 0;

        choose_columns();
        if (!arg_json)
                r = print_table(b, n);
        else if (single) {
                json_block(b, "");
                putchar('\n');
        } else {
                printf("{\n   \"blocks\": [");
                for (size_t i = 0; i < n; i++) {
                        printf("%s\n", i ? "," : "");
                        json_block(&b[i], "      ");
                }
                printf("%s]\n}\n", n ? "\n   " : "");
        }
        if (r == 0 && (fflush(stdout) == EOF || ferror(stdout)))
                r = -EIO;
        if (r < 0)
                fprintf(stderr, PROG ": cannot print: %s\n", strerror(-r));
        return r < 0;
}

/* ------------------------------------------------------------------ verbs */

static int verb_help(int argc, char *argv[], void *userdata) {
        help(stdout);
        return 0;
}

static int verb_create(int argc, char *argv[], void *userdata) {
        _cleanup_client_ lmm_client *c = NULL;
        const char *name = argc == 3 ? argv[1] : NULL, *size = argv[argc - 1];
        lmm_segment_opts o = { .name = name,
                               .flags = (arg_huge ? LMM_CREATE_HUGETLB : 0) | arg_share };
        lmm_segment *s = NULL;
        char what[300];
        int r;

        r = parse_size(size, &o.size);
        if (r < 0 || o.size == 0) {
                fprintf(stderr,
                        PROG ": invalid size '%s': give a positive number of bytes, optionally "
                             "with K, M, G or T (create takes [NAME] SIZE)\n",
                        size);
                return 1;
        }
        if (name && !name_is_valid(name, strlen(name))) {
                fprintf(stderr,
                        PROG ": invalid name \"%s\": 1 to %d bytes, no '/' and no control "
                             "characters\n",
                        name, LMM_NAME_MAX);
                return 1;
        }
        if (connect_manager(&c) < 0)
                return 1;
        if (name)
                snprintf(what, sizeof(what), "cannot create block \"%s\"", name);
        else
                snprintf(what, sizeof(what), "cannot create a block");
        r = lmm_segment_create(c, &o, &s);
        if (r < 0)
                return fail(c, r, what);
        /* A name the manager made up: the caller needs it to find the block again. */
        if (!name)
                printf("%s\n", lmm_segment_get_name(s));
        lmm_segment_unref(s);
        return fflush(stdout) == EOF ? 1 : 0;
}

static int verb_list(int argc, char *argv[], void *userdata) {
        _cleanup_client_ lmm_client *c = NULL;
        _cleanup_free_ lmm_block_info *b = NULL;
        size_t n;
        int r;

        if (connect_manager(&c) < 0)
                return 1;
        r = lmm_block_list(c, &b, &n);
        if (r < 0)
                return fail(c, r, "cannot list blocks");
        return print_blocks(b, n, false);
}

static int verb_stat(int argc, char *argv[], void *userdata) {
        _cleanup_client_ lmm_client *c = NULL;
        lmm_block_info b;
        char what[300];
        int r;

        if (connect_manager(&c) < 0)
                return 1;
        snprintf(what, sizeof(what), "cannot stat block \"%s\"", argv[1]);
        r = lmm_block_stat(c, argv[1], &b);
        if (r < 0)
                return fail(c, r, what);
        return print_blocks(&b, 1, true);
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
                        fprintf(stderr, PROG ": cannot write block \"%s\": it is frozen\n", name);
                else
                        fprintf(stderr, PROG ": cannot map block \"%s\": %s\n", name, strerror(-r));
                lmm_segment_unref(s);
                return 1;
        }
        *ret = s;
        return 0;
}

/* read() until @n bytes or the end. Return: the bytes read, or -errno. */
static ssize_t read_full(int fd, void *p, size_t n) {
        size_t got = 0;

        while (got < n) {
                ssize_t k = read(fd, (uint8_t *) p + got, n - got);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return negative_errno();
                if (k == 0)
                        break;
                got += (size_t) k;
        }
        return (ssize_t) got;
}

/* Past this, the input is not read to its end just to say by how much it is too large
 * ("yes | lmmctl write x" never ends). */
#define EXCESS_COUNTED_MAX ((uint64_t) 64 << 20)

static const char *bytes_word(uint64_t n) {
        return n == 1 ? "byte" : "bytes";
}

static int too_large(const char *name, uint64_t input, bool at_least, uint64_t size) {
        char more[32];

        if (at_least)
                fprintf(stderr,
                        PROG ": cannot write block \"%s\": the input is more than %s larger than "
                             "the block (%" PRIu64 " bytes); nothing was written\n",
                        name, format_bytes(EXCESS_COUNTED_MAX, more, sizeof(more)), size);
        else
                fprintf(stderr,
                        PROG ": cannot write block \"%s\": the input (%" PRIu64 " %s) is %" PRIu64
                             " %s larger than the block (%" PRIu64 " bytes); nothing was written\n",
                        name, input, bytes_word(input), input - size, bytes_word(input - size),
                        size);
        return 1;
}

/*
 * Standard input into the block at offset 0, only once it is known to fit: a regular file
 * by its size, before any read; anything else (a pipe, a terminal) read into memory of the
 * block's size first, and copied only when the end came before the block's end.
 */
static int verb_write(int argc, char *argv[], void *userdata) {
        _cleanup_client_ lmm_client *c = NULL;
        const char *name = argv[1];
        lmm_segment *s = NULL;
        uint8_t *p, *stage = MAP_FAILED;
        uint64_t size;
        struct stat st;
        ssize_t n;
        int r = 1;

        if (connect_manager(&c) < 0)
                return 1;
        if (open_mapped(c, name, false, &s, (void **) &p))
                return 1;
        size = lmm_segment_get_size(s);
        if (fstat(STDIN_FILENO, &st) == 0 && S_ISREG(st.st_mode)) {
                off_t pos = lseek(STDIN_FILENO, 0, SEEK_CUR);
                uint64_t left = (uint64_t) st.st_size - (uint64_t) MIN(MAX(pos, 0), st.st_size);

                if (left > size) {
                        too_large(name, left, false, size);
                        goto finish;
                }
                /* It fits; a file that grows meanwhile is cut at the block's end, and said so. */
                n = read_full(STDIN_FILENO, p, (size_t) size);
        } else {
                /* Pages are taken as the input fills them, not for the whole block. */
                stage = mmap(NULL, (size_t) size, PROT_READ | PROT_WRITE,
                             MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
                if (stage == MAP_FAILED) {
                        fprintf(stderr,
                                PROG ": cannot write block \"%s\": no memory for the input: %m\n",
                                name);
                        goto finish;
                }
                n = read_full(STDIN_FILENO, stage, (size_t) size);
        }
        if (n < 0) {
                fprintf(stderr, PROG ": cannot read standard input: %s\n", strerror((int) -n));
                goto finish;
        }
        if ((uint64_t) n == size) {
                /* Full: anything more on stdin does not fit. Count it, up to a point. */
                uint64_t excess = 0;
                char scratch[65536];
                ssize_t k;

                while (excess <= EXCESS_COUNTED_MAX &&
                       (k = read_full(STDIN_FILENO, scratch, sizeof(scratch))) > 0)
                        excess += (uint64_t) k;
                if (excess > 0) {
                        if (stage == MAP_FAILED)
                                fprintf(stderr,
                                        PROG ": cannot write block \"%s\": standard input grew "
                                             "while it was read; the block holds its first "
                                             "%" PRIu64 " bytes\n",
                                        name, size);
                        else
                                too_large(name, size + excess, excess > EXCESS_COUNTED_MAX, size);
                        goto finish;
                }
        }
        if (stage != MAP_FAILED)
                memcpy(p, stage, (size_t) n);
        r = 0;
finish:
        if (stage != MAP_FAILED)
                munmap(stage, (size_t) size);
        lmm_segment_unref(s);
        return r;
}

/* For a terminal, "binary" is a NUL byte, or bytes that are not UTF-8, in the first 4 KiB
 * (a character the 4 KiB cut in two is not held against it). Return: the offset of the first
 * such byte, or -1; *ret_nul: whether it is a NUL. */
static int64_t binary_at(const uint8_t *p, uint64_t size, bool *ret_nul) {
        size_t n = (size_t) MIN(size, (uint64_t) 4096);
        const uint8_t *z = memchr(p, 0, n);
        size_t i = 0;

        *ret_nul = z != NULL;
        if (z)
                n = (size_t) (z - p); /* a bad byte before it counts first */
        while (i < n) {
                uint8_t c = p[i];
                size_t len = c < 0x80                 ? 1
                             : c >= 0xc2 && c <= 0xdf ? 2
                             : c >= 0xe0 && c <= 0xef ? 3
                             : c >= 0xf0 && c <= 0xf4 ? 4
                                                      : 0;

                if (len > 1 && i + len > n && n < size && !z)
                        break; /* cut by the window */
                if (len == 0 || i + len > n || !utf8_is_valid(p + i, len)) {
                        *ret_nul = false;
                        return (int64_t) i;
                }
                i += len;
        }
        return z ? (int64_t) (z - p) : -1;
}

static int verb_cat(int argc, char *argv[], void *userdata) {
        _cleanup_client_ lmm_client *c = NULL;
        const char *name = argv[1];
        lmm_segment *s = NULL;
        uint64_t size, off = 0;
        const uint8_t *p;
        int r = 0;

        if (connect_manager(&c) < 0)
                return 1;
        if (open_mapped(c, name, true, &s, (void **) &p))
                return 1;
        size = lmm_segment_get_size(s);
        if (!arg_binary && isatty(STDOUT_FILENO)) {
                bool nul;
                int64_t at = binary_at(p, size, &nul);

                if (at >= 0) {
                        fprintf(stderr,
                                PROG ": block \"%s\" looks binary (%s at offset %" PRId64
                                     "): not writing it to a terminal; use --binary, or "
                                     "redirect the output\n",
                                name, nul ? "a NUL byte" : "a byte that is not UTF-8", at);
                        lmm_segment_unref(s);
                        return 1;
                }
        }
        while (off < size) {
                ssize_t n =
                        write(STDOUT_FILENO, p + off, (size_t) MIN(size - off, (uint64_t) 1 << 20));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        fprintf(stderr, PROG ": cannot write standard output: %m\n");
                        r = 1;
                        break;
                }
                off += (uint64_t) n;
        }
        lmm_segment_unref(s);
        return r;
}

static int verb_named(char *argv[], int (*f)(lmm_client *, const char *), const char *verb) {
        _cleanup_client_ lmm_client *c = NULL;
        char what[300];
        int r;

        if (connect_manager(&c) < 0)
                return 1;
        snprintf(what, sizeof(what), "cannot %s block \"%s\"", verb, argv[1]);
        r = f(c, argv[1]);
        return r < 0 ? fail(c, r, what) : 0;
}

static int verb_freeze(int argc, char *argv[], void *userdata) {
        return verb_named(argv, lmm_block_freeze, "freeze");
}

static int verb_release(int argc, char *argv[], void *userdata) {
        return verb_named(argv, lmm_block_release, "release");
}

static int verb_shutdown(int argc, char *argv[], void *userdata) {
        _cleanup_client_ lmm_client *c = NULL;
        int r;

        if (connect_manager(&c) < 0)
                return 1;
        r = lmm_client_shutdown_manager(c);
        return r < 0 ? fail(c, r, "cannot shut the manager down") : 0;
}

static int verb_reexec(int argc, char *argv[], void *userdata) {
        _cleanup_client_ lmm_client *c = NULL;
        int r;

        if (connect_manager(&c) < 0)
                return 1;
        r = lmm_client_reexec_manager(c);
        return r < 0 ? fail(c, r, "cannot re-execute the manager") : 0;
}

#define OUTPUT_OPTIONS "json noheadings raw output bytes"

static const cli_verb verbs[] = {
        { "create", 1, 2, "[NAME] SIZE", "huge share", verb_create },
        { "list", 0, 0, NULL, OUTPUT_OPTIONS, verb_list },
        { "stat", 1, 1, "NAME", OUTPUT_OPTIONS, verb_stat },
        { "write", 1, 1, "NAME", NULL, verb_write },
        { "cat", 1, 1, "NAME", "binary", verb_cat },
        { "freeze", 1, 1, "NAME", NULL, verb_freeze },
        { "release", 1, 1, "NAME", NULL, verb_release },
        { "shutdown", 0, 0, NULL, NULL, verb_shutdown },
        { "reexec", 0, 0, NULL, NULL, verb_reexec },
        { "help", 0, 0, NULL, NULL, verb_help },
};

int main(int argc, char *argv[]) {
        cli_args a;
        int r;

        /* Tables show names in the locale's characters, escaping what it cannot print. */
        setlocale(LC_ALL, "");
        r = cli_parse(&program, argc, argv, NULL, &a);
        if (r <= 0)
                return cli_exit_status(r);
        if (arg_json && arg_raw) {
                cli_usage_error(&program, "--json and --raw exclude each other");
                r = CLI_EXIT_USAGE;
        } else
                r = cli_dispatch(&program, &a, verbs, ELEMENTSOF(verbs), NULL);
        cli_args_done(&a);
        return r;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lmmctl from the outside: every command, its output, its errors and exit
 * codes, and the command-line conventions (tools/cli.h): options before and
 * after the verb, --version, usage errors, -n/-r/-o/-J, a name the manager
 * makes up, write that checks before it writes, cat and a terminal, and the
 * bash completion.
 */

#include <criterion/criterion.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "fixture.h"
#include "harness.h"
#include "minijson.h"

#define ELEMENTS(a) (sizeof(a) / sizeof((a)[0]))

static char out[1 << 16], err[4096];

TestSuite(lmmctl, .init = fixture_lmmd_start, .fini = fixture_lmmd_stop, .timeout = 60);

/* Run lmmctl ARGS... (NULL-terminated, no --socket) with @input on stdin. */
static int ctl_argv(const char *input, const char *const *args) {
        const char *argv[32] = { harness_getenv("LMMCTL") };
        size_t n = 1;

        for (; *args; args++) {
                cr_assert_lt(n, ELEMENTS(argv) - 1);
                argv[n++] = *args;
        }
        argv[n] = NULL;
        return harness_run(argv, input, out, sizeof(out), err, sizeof(err));
}

/* Run lmmctl --socket SOCK ARGS... with @input on stdin. */
static int ctl_in(const char *input, const char *const *args) {
        const char *argv[32] = { "--socket", fixture_lmmd.sock };
        size_t n = 2;

        for (; *args; args++) {
                cr_assert_lt(n, ELEMENTS(argv) - 1);
                argv[n++] = *args;
        }
        argv[n] = NULL;
        return ctl_argv(input, argv);
}

#define CTL(...) ctl_in(NULL, (const char *[]){ __VA_ARGS__, NULL })
#define CTL_IN(input, ...) ctl_in(input, (const char *[]){ __VA_ARGS__, NULL })
/* Without --socket: the test says where, if anywhere. */
#define CTL_RAW(...) ctl_argv(NULL, (const char *[]){ __VA_ARGS__, NULL })

static int count_lines(const char *s) {
        int n = 0;
        for (; *s; s++)
                n += *s == '\n';
        return n;
}

/* A usage error: exit 2, one line on stderr that says @needle, nothing on stdout. */
#define expect_usage_error(needle, ...)                                                \
        do {                                                                           \
                int r_ = CTL(__VA_ARGS__);                                             \
                cr_assert_eq(r_, 2, "exit %d for a usage error; stderr: %s", r_, err); \
                cr_assert_eq(count_lines(err), 1, "one line: %s", err);                \
                cr_assert(strncmp(err, "lmmctl: ", 8) == 0, "%s", err);                \
                cr_assert(strstr(err, needle), "'%s' not in: %s", needle, err);        \
                cr_assert_eq(out[0], 0, "printed: %s", out);                           \
        } while (0)

Test(lmmctl, create_write_cat_stat_list_release) {
        mj *doc;

        cr_assert_eq(CTL("create", "frames", "64K"), 0, "%s", err);
        cr_assert_eq(out[0], 0, "a name given is not printed back: %s", out);
        cr_assert_eq(CTL_IN("hello, block", "write", "frames"), 0, "%s", err);
        cr_assert_eq(CTL("cat", "frames"), 0, "%s", err);
        cr_assert_eq(memcmp(out, "hello, block", 12), 0);

        cr_assert_eq(CTL("--json", "stat", "frames"), 0);
        doc = mj_parse(out);
        cr_assert(doc, "%s", out);
        cr_assert_str_eq(mj_str(doc, "block"), "frames");
        cr_assert_eq(mj_int(doc, "size"), 65536);
        cr_assert(strncmp(mj_str(doc, "seals"), "shrink,grow", 11) == 0, "%s", out);
        mj_free(doc);

        cr_assert_eq(CTL("create", "second", "1M"), 0);
        cr_assert_eq(CTL("list"), 0);
        cr_assert(strstr(out, "frames") && strstr(out, "64 KiB"), "%s", out);
        cr_assert(strstr(out, "second") && strstr(out, "1 MiB"), "%s", out);

        cr_assert_eq(CTL("freeze", "frames"), 0);
        cr_assert_eq(CTL_IN("more", "write", "frames"), 1);
        cr_assert(strstr(err, "frozen"), "%s", err);
        cr_assert_eq(CTL("stat", "frames", "-o", "frozen", "-n"), 0);
        cr_assert_str_eq(out, "yes\n");

        cr_assert_eq(CTL("release", "frames"), 0);
        cr_assert_eq(CTL("--json", "list"), 0);
        cr_assert_null(strstr(out, "frames"));
        cr_assert_eq(CTL("shutdown"), 0);
        cr_assert_eq(fixture_lmmd_wait_exit(5000), 0);
}

Test(lmmctl, errors_are_one_line_and_exit_non_zero) {
        char big[5000];

        cr_assert_eq(CTL("create", "x", "12Q"), 1);
        cr_assert(strstr(err, "invalid size '12Q'"), "%s", err);
        cr_assert_eq(CTL("create", "x", "0"), 1);
        cr_assert_eq(CTL("stat", "nope"), 1);
        cr_assert_str_eq(err, "lmmctl: no block named \"nope\"\n");
        cr_assert_eq(CTL("create", "dup", "4K"), 0);
        cr_assert_eq(CTL("create", "dup", "4K"), 1);
        cr_assert_str_eq(err, "lmmctl: cannot create block \"dup\": the name is in use\n");
        cr_assert_eq(CTL("create", "huge", "1T"), 1);
        cr_assert(strstr(err, "exceeds per-user limit"), "%s", err);
        memset(big, 'x', sizeof(big) - 1);
        big[sizeof(big) - 1] = 0;
        cr_assert_eq(CTL_IN(big, "write", "dup"), 1);
        cr_assert(strstr(err, "larger than the block"), "%s", err);
        cr_assert_eq(CTL("frobnicate"), 2);
        cr_assert(strstr(err, "unknown command 'frobnicate'"), "%s", err);
        cr_assert_eq(CTL("stat"), 2);

        cr_assert_eq(CTL_RAW("--socket", "/nonexistent/lmmd.sock", "list"), 1);
        cr_assert(strstr(err, "cannot connect to the manager at /nonexistent/lmmd.sock") &&
                          strstr(err, "is lmmd running?"),
                  "%s", err);
        cr_assert_eq(count_lines(err), 1, "one line: %s", err);
}

/* ------------------------------------------------------ the command line */

/* Options before the verb, after it, after its argument, in their short and long forms, and
 * with $POSIXLY_CORRECT set: the same output. */
Test(lmmctl, options_before_and_after_the_verb) {
        static const char *const forms[][6] = {
                { "--json", "stat", "frames" }, { "stat", "--json", "frames" },
                { "stat", "frames", "--json" }, { "stat", "frames", "-J" },
                { "-J", "stat", "frames" },
        };
        static char first[sizeof(out)];

        cr_assert_eq(CTL("create", "frames", "8K"), 0, "%s", err);
        for (int posix = 0; posix < 2; posix++) {
                if (posix)
                        setenv("POSIXLY_CORRECT", "1", 1);
                for (size_t i = 0; i < ELEMENTS(forms); i++) {
                        const char *argv[] = { "--socket",  fixture_lmmd.sock, forms[i][0],
                                               forms[i][1], forms[i][2],       NULL };

                        cr_assert_eq(ctl_argv(NULL, argv), 0, "form %zu: %s", i, err);
                        if (i == 0 && !posix)
                                memcpy(first, out, sizeof(out));
                        cr_assert_str_eq(out, first, "form %zu (POSIXLY_CORRECT %d)", i, posix);
                }
                /* --socket itself after the verb, and between the verb and its argument. */
                cr_assert_eq(CTL_RAW("list", "--json", "--socket", fixture_lmmd.sock), 0, "%s",
                             err);
                cr_assert(strstr(out, "\"block\": \"frames\""), "%s", out);
                cr_assert_eq(CTL_RAW("stat", "-s", fixture_lmmd.sock, "frames", "-J"), 0, "%s",
                             err);
                cr_assert_str_eq(out, first);
                cr_assert_eq(CTL_RAW("list", "--socket=/nonexistent/x.sock"), 1);
                cr_assert(strstr(err, "at /nonexistent/x.sock"), "%s", err);
        }
        unsetenv("POSIXLY_CORRECT");
}

/* "--" ends the options: a name may start with '-'. Without it, it is an option. */
Test(lmmctl, double_dash_for_names_that_start_with_a_dash) {
        cr_assert_eq(CTL("create", "--", "-odd", "4K"), 0, "%s", err);
        cr_assert_eq(CTL("stat", "-n", "-o", "block", "--", "-odd"), 0, "%s", err);
        cr_assert_str_eq(out, "-odd\n");
        cr_assert_eq(CTL("-n", "-o", "block", "list"), 0, "%s", err);
        cr_assert_str_eq(out, "-odd\n");
        expect_usage_error("unknown option '-w'", "stat", "-weird");
        cr_assert_eq(CTL("release", "--", "-odd"), 0, "%s", err);
}

Test(lmmctl, version_help_and_no_verb) {
        const char *version = harness_getenv("LMM_PROJECT_VERSION");
        char want[64];

        snprintf(want, sizeof(want), "lmmctl %s\n", version);
        cr_assert_eq(CTL_RAW("--version"), 0);
        cr_assert_str_eq(out, want);
        cr_assert_eq(CTL_RAW("-V"), 0);
        cr_assert_str_eq(out, want);
        /* Wherever it stands, before any work (no manager is asked). */
        cr_assert_eq(CTL_RAW("--socket", "/nonexistent", "list", "-V"), 0);
        cr_assert_str_eq(out, want);
        cr_assert_eq(err[0], 0, "%s", err);

        cr_assert_eq(CTL_RAW("help"), 0);
        cr_assert(strncmp(out, "Usage: lmmctl", 13) == 0, "%s", out);
        cr_assert_eq(err[0], 0);
        cr_assert_eq(CTL_RAW("--help"), 0);
        cr_assert(strncmp(out, "Usage: lmmctl", 13) == 0, "%s", out);
        cr_assert_eq(CTL_RAW("stat", "x", "-h"), 0);
        cr_assert(strstr(out, "--noheadings"), "%s", out);

        /* No verb: the help on stderr, as a usage error. */
        cr_assert_eq(CTL_RAW("--socket", "/nonexistent"), 2);
        cr_assert_eq(out[0], 0, "%s", out);
        cr_assert(strncmp(err, "lmmctl: no command given\n", 25) == 0, "%s", err);
        cr_assert(strstr(err, "Usage: lmmctl"), "%s", err);
        cr_assert_eq(CTL_RAW(NULL), 2);
}

/* Each usage error names what was wrong, in one line, and nothing is done. */
Test(lmmctl, usage_errors_name_the_option) {
        expect_usage_error("unknown option '--bogus'", "list", "--bogus");
        expect_usage_error("unknown option '-Z'", "list", "-JZ");
        expect_usage_error("ambiguous option '--s' (--socket, --share", "list", "--s", "x");
        expect_usage_error("option '--json' takes no argument", "list", "--json=yes");
        expect_usage_error("option '--output' needs an argument", "list", "--output");
        expect_usage_error("option '-o' needs an argument", "list", "-o");
        expect_usage_error("unknown column 'BOGUS'", "list", "-o", "block,BOGUS");
        expect_usage_error("--share takes ro or rw, not 'all'", "create", "x", "4K", "--share",
                           "all");
        expect_usage_error("option '-J' does not apply to create", "create", "x", "4K", "-J");
        expect_usage_error("option '--json' does not apply to create", "--json", "create", "x",
                           "4K");
        expect_usage_error("option '-n' does not apply to cat", "cat", "x", "-n");
        expect_usage_error("option '--huge' does not apply to list", "list", "--huge");
        expect_usage_error("option '--binary' does not apply to write", "write", "x", "--binary");
        expect_usage_error("--json and --raw exclude each other", "list", "-J", "-r");
        expect_usage_error("stat takes NAME", "stat");
        expect_usage_error("unexpected argument 'extra' (stat takes NAME)", "stat", "x", "extra");
        expect_usage_error("unexpected argument 'c' (create takes [NAME] SIZE)", "create", "a",
                           "4K", "c");
        expect_usage_error("unexpected argument 'x' (list takes no arguments)", "list", "x");
        expect_usage_error("unknown command 'lsit'", "lsit");

        /* Nothing was created by the create lines above. */
        cr_assert_eq(CTL("list", "-n"), 0);
        cr_assert_eq(out[0], 0, "%s", out);
}

/* -n, -r, -o, -b: exactly what libsmartcols prints, columns in the order asked. */
Test(lmmctl, noheadings_raw_output_exact) {
        cr_assert_eq(CTL("create", "alpha", "4K"), 0, "%s", err);
        cr_assert_eq(CTL("create", "--share", "rw", "b c", "8K"), 0, "%s", err);

        cr_assert_eq(CTL("list", "-n", "-o", "block"), 0, "%s", err);
        cr_assert_str_eq(out, "alpha\nb c\n");
        cr_assert_eq(CTL("list", "--noheadings", "--raw", "--output", "BLOCK,size,Share"), 0);
        cr_assert_str_eq(out, "alpha 4\\x20KiB none\nb\\x20c 8\\x20KiB rw\n");
        cr_assert_eq(CTL("list", "-r", "-b", "-o", "block,size,scope"), 0);
        cr_assert_str_eq(out, "BLOCK SIZE SCOPE\nalpha 4096 manager\nb\\x20c 8192 manager\n");
        cr_assert_eq(CTL("list", "-o", "block,share,hugetlb"), 0);
        cr_assert_str_eq(out, "BLOCK SHARE HUGETLB\n"
                              "alpha none  no\n"
                              "b c   rw    no\n");
        cr_assert_eq(CTL("stat", "alpha", "-rn", "-o", "size,block", "-b"), 0);
        cr_assert_str_eq(out, "4096 alpha\n");
        /* +COLUMNS: the defaults and these. */
        cr_assert_eq(CTL("list", "-o", "+inode"), 0);
        cr_assert(strncmp(out, "BLOCK ", 6) == 0 && strstr(out, " ID ") &&
                          strncmp(strchr(out, '\n') - 6, " INODE\n", 7) == 0,
                  "%s", out);
        /* JSON: the columns asked for, or all of them. */
        cr_assert_eq(CTL("list", "-J", "-o", "size,block"), 0);
        cr_assert_str_eq(out, "{\n"
                              "   \"blocks\": [\n"
                              "      {\n"
                              "         \"size\": 4096,\n"
                              "         \"block\": \"alpha\"\n"
                              "      },\n"
                              "      {\n"
                              "         \"size\": 8192,\n"
                              "         \"block\": \"b c\"\n"
                              "      }\n"
                              "   ]\n"
                              "}\n");
        cr_assert_eq(CTL("-H"), 0);
        cr_assert(strstr(out, "OWNER-UID") && strstr(out, "FROZEN"), "%s", out);
}

/* Every column in JSON, with its type; stat is the one object that list shows for it. */
Test(lmmctl, json_fields_and_stat_is_one_object) {
        static const char *const keys[] = { "block",     "size",      "seals",  "scope",
                                            "share",     "hugetlb",   "frozen", "adopted",
                                            "owner-uid", "owner-pid", "id",     "dev",
                                            "inode" };
        const mj *blocks, *b;
        mj *list, *stat;

        cr_assert_eq(CTL("create", "--share", "ro", "pub", "4K"), 0, "%s", err);
        cr_assert_eq(CTL("freeze", "pub"), 0, "%s", err);
        cr_assert_eq(CTL("list", "--json"), 0, "%s", err);
        list = mj_parse(out);
        cr_assert(list, "%s", out);
        blocks = mj_get(list, "blocks");
        cr_assert(blocks && blocks->type == MJ_ARRAY && blocks->n == 1, "%s", out);
        b = blocks->items[0];
        cr_assert_eq(b->n, ELEMENTS(keys), "%s", out);
        for (size_t i = 0; i < ELEMENTS(keys); i++)
                cr_assert_str_eq(b->keys[i], keys[i]);
        cr_assert_str_eq(mj_str(b, "block"), "pub");
        cr_assert_eq(mj_int(b, "size"), 4096);
        cr_assert(strstr(mj_str(b, "seals"), "future_write"), "%s", out);
        cr_assert_str_eq(mj_str(b, "scope"), "manager");
        cr_assert_str_eq(mj_str(b, "share"), "ro");
        cr_assert(mj_get(b, "hugetlb")->type == MJ_BOOL && !mj_get(b, "hugetlb")->b);
        cr_assert(mj_get(b, "frozen")->type == MJ_BOOL && mj_get(b, "frozen")->b);
        cr_assert(mj_get(b, "adopted")->type == MJ_BOOL && !mj_get(b, "adopted")->b);
        cr_assert_eq(mj_int(b, "owner-uid"), (long long) getuid());
        cr_assert_eq(mj_get(b, "owner-pid")->type, MJ_NUMBER);
        cr_assert_gt(mj_int(b, "id"), 0);
        cr_assert(strchr(mj_str(b, "dev"), ':'), "%s", out);
        cr_assert_gt(mj_int(b, "inode"), 0);

        cr_assert_eq(CTL("stat", "pub", "--json"), 0, "%s", err);
        stat = mj_parse(out);
        cr_assert(stat && stat->type == MJ_OBJECT, "stat is one object: %s", out);
        cr_assert_null(mj_get(stat, "blocks"));
        cr_assert_eq(stat->n, b->n);
        for (size_t i = 0; i < b->n; i++) {
                const mj *x = b->items[i], *y = mj_get(stat, b->keys[i]);
                cr_assert(y && x->type == y->type, "%s", b->keys[i]);
                if (x->type == MJ_STRING)
                        cr_assert_str_eq(x->str, y->str);
                else
                        cr_assert(x->i == y->i && x->b == y->b, "%s", b->keys[i]);
        }
        mj_free(stat);
        mj_free(list);

        /* No blocks: an empty array. */
        cr_assert_eq(CTL("release", "pub"), 0);
        cr_assert_eq(CTL("list", "-J"), 0);
        list = mj_parse(out);
        cr_assert(list && mj_get(list, "blocks")->type == MJ_ARRAY &&
                          mj_get(list, "blocks")->n == 0,
                  "%s", out);
        mj_free(list);
}

/* @json must be valid JSON in strictly valid UTF-8, by python3's decoder and json module. */
static void expect_strict_json(const char *json) {
        static const char *const python[] = {
                "/usr/bin/python3", "-c",
                "import json, sys; json.loads(sys.stdin.buffer.read().decode('utf-8', 'strict'))",
                NULL
        };
        char perr[4096];
        int r;

        cr_assert_eq(access(python[0], X_OK), 0, "python3 is not installed (tools/deps.sh)");
        r = harness_run(python, json, NULL, 0, perr, sizeof(perr));
        cr_assert_eq(r, 0, "not strict UTF-8 JSON (%d): %s\n%.4000s", r, perr, json);
}

/* Names the manager accepts but that are not text: escaped in JSON by memfd-inspect's rule
 * (tools/escape.h), so that the output is valid UTF-8 and every name is recovered. */
Test(lmmctl, json_escapes_names_that_are_not_text) {
        static const struct {
                const char *raw, *escaped;
        } names[] = {
                { "bad\xff", "bad\\xff" },        { "c1\xc2\x9b", "c1\\xc2\\x9b" },
                { "bs\\x41", "bs\\x5cx41" },      { "quote\"back\\slash", "quote\"back\\slash" },
                { "caf\xc3\xa9", "caf\xc3\xa9" },
        };
        const mj *blocks;
        mj *doc;

        for (size_t i = 0; i < ELEMENTS(names); i++)
                cr_assert_eq(CTL("create", names[i].raw, "4K"), 0, "%s: %s", names[i].escaped, err);
        cr_assert_eq(CTL("list", "-J"), 0, "%s", err);
        expect_strict_json(out);
        doc = mj_parse(out);
        cr_assert(doc, "%s", out);
        blocks = mj_get(doc, "blocks");
        cr_assert_eq(blocks->n, ELEMENTS(names), "%s", out);
        for (size_t i = 0; i < ELEMENTS(names); i++)
                cr_assert_str_eq(mj_str(blocks->items[i], "block"), names[i].escaped);
        mj_free(doc);

        cr_assert_eq(CTL("stat", "bad\xff", "-J"), 0, "%s", err);
        expect_strict_json(out);
        doc = mj_parse(out);
        cr_assert_str_eq(mj_str(doc, "block"), "bad\\xff");
        mj_free(doc);
}

/* ------------------------------------------------------------- the verbs */

Test(lmmctl, create_without_a_name_prints_the_one_made_up) {
        char name[256];

        cr_assert_eq(CTL("create", "16K"), 0, "%s", err);
        cr_assert_eq(count_lines(out), 1, "%s", out);
        cr_assert(strncmp(out, "lmm_", 4) == 0, "%s", out);
        snprintf(name, sizeof(name), "%.*s", (int) strcspn(out, "\n"), out);
        cr_assert_eq(CTL("stat", name, "-rn", "-b", "-o", "block,size"), 0, "%s", err);
        cr_assert_eq(strncmp(out, name, strlen(name)), 0, "%s", out);
        cr_assert_str_eq(out + strlen(name), " 16384\n");

        /* Another one: another name. */
        cr_assert_eq(CTL("create", "16K"), 0, "%s", err);
        cr_assert(strncmp(out, name, strlen(name)) != 0, "%s again", name);
        /* A name alone is not a size. */
        cr_assert_eq(CTL("create", "frames"), 1);
        cr_assert(strstr(err, "invalid size 'frames'") && strstr(err, "[NAME] SIZE"), "%s", err);
}

/* Run lmmctl --socket SOCK @args with stdin from @in_fd and stdout to @out_fd (both
 * borrowed), stderr into err. Return: its exit status. */
static int ctl_fds(int in_fd, int out_fd, const char *const *args) {
        const char *argv[16] = { harness_getenv("LMMCTL"), "--socket", fixture_lmmd.sock };
        int ep[2], status;
        size_t n = 3, len = 0;
        ssize_t k;
        pid_t pid;

        for (; *args; args++)
                argv[n++] = *args;
        argv[n] = NULL;
        cr_assert_eq(pipe2(ep, O_CLOEXEC), 0);
        pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
                dup2(in_fd, 0);
                dup2(out_fd, 1);
                dup2(ep[1], 2);
                execv(argv[0], (char *const *) argv);
                _exit(127);
        }
        close(ep[1]);
        while ((k = read(ep[0], err + len, sizeof(err) - 1 - len)) > 0)
                len += (size_t) k;
        err[len] = 0;
        close(ep[0]);
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The block @name's bytes into out, by cat into a pipe (no terminal: no check). */
static void cat_block(const char *name) {
        cr_assert_eq(CTL("cat", name), 0, "%s", err);
}

/* More input than the block holds: refused before a byte is written, saying by how much,
 * from a pipe and from a file. An exact fit is fine. */
Test(lmmctl, write_that_would_overflow_writes_nothing) {
        char big[4097 + 903], path[] = "/tmp/lmmctl-input-XXXXXX";
        int fd, null_fd;

        cr_assert_eq(CTL("create", "small", "4K"), 0, "%s", err);
        cr_assert_eq(CTL_IN("hello", "write", "small"), 0, "%s", err);

        memset(big, 'x', sizeof(big) - 1);
        big[sizeof(big) - 1] = 0;
        cr_assert_eq(CTL_IN(big, "write", "small"), 1);
        cr_assert_str_eq(err, "lmmctl: cannot write block \"small\": the input (4999 bytes) is "
                              "903 bytes larger than the block (4096 bytes); nothing was "
                              "written\n");
        cat_block("small");
        cr_assert_eq(memcmp(out, "hello\0\0\0", 8), 0, "the block was touched: %.16s", out);

        /* From a regular file: refused by its size, before reading. */
        fd = mkstemp(path);
        cr_assert_geq(fd, 0);
        unlink(path);
        cr_assert_eq(write(fd, big, 4097), 4097);
        cr_assert_eq(lseek(fd, 0, SEEK_SET), 0);
        null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
        cr_assert_eq(ctl_fds(fd, null_fd, (const char *[]){ "write", "small", NULL }), 1);
        cr_assert(strstr(err, "the input (4097 bytes) is 1 byte larger than the block (4096 "
                              "bytes); nothing was written"),
                  "%s", err);
        cr_assert_eq(lseek(fd, 0, SEEK_CUR), 0, "the file was read");
        cat_block("small");
        cr_assert_eq(memcmp(out, "hello\0", 6), 0, "the block was touched: %.16s", out);

        /* From the file's offset, it fits (exactly). */
        cr_assert_eq(lseek(fd, 1, SEEK_SET), 1);
        cr_assert_eq(ctl_fds(fd, null_fd, (const char *[]){ "write", "small", NULL }), 0, "%s",
                     err);
        cat_block("small");
        cr_assert_eq(memcmp(out, big, 4096), 0);

        /* An exact fit from a pipe. */
        big[4096] = 0;
        big[0] = 'y';
        cr_assert_eq(CTL_IN(big, "write", "small"), 0, "%s", err);
        cat_block("small");
        cr_assert_eq(out[0], 'y');
        close(fd);
        close(null_fd);
}

/* Input that never ends is not read for ever to say by how much it is too large. */
Test(lmmctl, write_gives_up_counting_endless_input) {
        int fd = open("/dev/zero", O_RDONLY | O_CLOEXEC), null_fd;

        cr_assert_eq(CTL("create", "small", "4K"), 0, "%s", err);
        null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
        cr_assert_eq(ctl_fds(fd, null_fd, (const char *[]){ "write", "small", NULL }), 1);
        cr_assert(strstr(err, "the input is more than 64 MiB larger than the block (4096 bytes); "
                              "nothing was written"),
                  "%s", err);
        close(fd);
        close(null_fd);
}

/* Run lmmctl cat ARGS with its stdout on a terminal (a pty in raw mode, so that bytes pass as
 * they are). Return: its exit status; what reached the terminal in out (*ret_len bytes). */
static int cat_to_terminal(const char *const *args, size_t *ret_len) {
        struct termios tio;
        int master, slave, r, flags;
        size_t len = 0;
        ssize_t k;

        cr_assert_eq(openpty(&master, &slave, NULL, NULL, NULL), 0);
        cr_assert_eq(tcgetattr(slave, &tio), 0);
        cfmakeraw(&tio);
        cr_assert_eq(tcsetattr(slave, TCSANOW, &tio), 0);
        fcntl(master, F_SETFD, FD_CLOEXEC);
        fcntl(slave, F_SETFD, FD_CLOEXEC);
        r = ctl_fds(STDIN_FILENO, slave, args);
        /* The output is small: all of it waits in the pty, or is on its way there (the
         * kernel moves it on a work queue): read until nothing comes for a while. */
        flags = fcntl(master, F_GETFL);
        fcntl(master, F_SETFL, flags | O_NONBLOCK);
        for (;;) {
                struct pollfd pfd = { .fd = master, .events = POLLIN };

                if (poll(&pfd, 1, 300) <= 0)
                        break;
                k = read(master, out + len, sizeof(out) - 1 - len);
                if (k <= 0)
                        break;
                len += (size_t) k;
        }
        out[len] = 0;
        close(master);
        close(slave);
        *ret_len = len;
        return r;
}

Test(lmmctl, cat_refuses_binary_to_a_terminal) {
        size_t len;

        /* Text fills this block exactly: no NUL. */
        cr_assert_eq(CTL("create", "text", "11"), 0, "%s", err);
        cr_assert_eq(CTL_IN("caf\xc3\xa9 text\n", "write", "text"), 0, "%s", err);
        cr_assert_eq(cat_to_terminal((const char *[]){ "cat", "text", NULL }, &len), 0, "%s", err);
        cr_assert_eq(len, 11);
        cr_assert_eq(memcmp(out, "caf\xc3\xa9 text\n", 11), 0);

        /* A fresh block is all NULs. */
        cr_assert_eq(CTL("create", "zeros", "64"), 0, "%s", err);
        cr_assert_eq(cat_to_terminal((const char *[]){ "cat", "zeros", NULL }, &len), 1);
        cr_assert_eq(len, 0, "wrote %zu bytes to the terminal", len);
        cr_assert_str_eq(err, "lmmctl: block \"zeros\" looks binary (a NUL byte at offset 0): "
                              "not writing it to a terminal; use --binary, or redirect the "
                              "output\n");
        cr_assert_eq(cat_to_terminal((const char *[]){ "cat", "--binary", "zeros", NULL }, &len), 0,
                     "%s", err);
        cr_assert_eq(len, 64);

        /* Bytes that are not UTF-8. */
        cr_assert_eq(CTL("create", "latin1", "6"), 0, "%s", err);
        cr_assert_eq(CTL_IN("caf\xe9!!", "write", "latin1"), 0, "%s", err);
        cr_assert_eq(cat_to_terminal((const char *[]){ "cat", "latin1", NULL }, &len), 1);
        cr_assert(strstr(err, "(a byte that is not UTF-8 at offset 3)"), "%s", err);
        cr_assert_eq(cat_to_terminal((const char *[]){ "cat", "latin1", "--binary", NULL }, &len),
                     0);
        cr_assert_eq(len, 6);
        cr_assert_eq(memcmp(out, "caf\xe9!!", 6), 0);

        /* Not a terminal: no check, the bytes as they are. */
        cr_assert_eq(CTL("cat", "zeros"), 0, "%s", err);
}

/* Only the first 4 KiB count, and a character they cut in two is not held against it. */
Test(lmmctl, cat_binary_is_judged_on_the_first_4k) {
        static char text[4096 + 64 + 1];
        size_t len;

        /* "é" (c3 a9) across the 4 KiB line, then text, then (past 4 KiB) a NUL. */
        memset(text, 'a', sizeof(text) - 1);
        text[4095] = '\xc3';
        text[4096] = '\xa9';
        text[sizeof(text) - 1] = 0;
        cr_assert_eq(CTL("create", "long", "4161"), 0, "%s", err);
        cr_assert_eq(CTL_IN(text, "write", "long"), 0, "%s", err);
        /* The last byte of the block stays NUL, past the first 4 KiB. */
        cr_assert_eq(cat_to_terminal((const char *[]){ "cat", "long", NULL }, &len), 0, "%s", err);
        cr_assert_eq(len, 4161);
}

/* ------------------------------------------------------- bash completion */

/* COMPREPLY, one per line, for the command line @words (the last one being completed), from
 * completions/@prog sourced in bash, with the built lmmctl first in PATH. */
static int complete(const char *prog, const char *const *words) {
        static const char script[] =
                "source /usr/share/bash-completion/bash_completion || exit 3\n"
                "source \"$LMM_COMPLETIONS/$1\" || exit 4\n"
                "shift\n"
                "compopt() { :; }  # only a real completion may call it\n"
                "COMP_WORDS=(\"$@\"); COMP_CWORD=$(($# - 1))\n"
                "COMP_LINE=\"$*\"; COMP_POINT=${#COMP_LINE}\n"
                "f=$(complete -p \"$1\") || exit 5\n"
                "f=${f#*-F }; f=${f%% *}\n"
                "\"$f\" \"$1\" \"${COMP_WORDS[COMP_CWORD]}\" \"${COMP_WORDS[COMP_CWORD-1]}\"\n"
                "printf '%s\\n' \"${COMPREPLY[@]}\"\n";
        const char *argv[32] = { "/bin/bash", "-c", script, "bash", prog };
        const char *ctl = harness_getenv("LMMCTL");
        char path[4096];
        size_t n = 5;

        snprintf(path, sizeof(path), "%.*s:%s", (int) (strrchr(ctl, '/') - ctl), ctl,
                 getenv("PATH") ?: "/usr/bin:/bin");
        setenv("PATH", path, 1);
        for (; *words; words++)
                argv[n++] = *words;
        argv[n] = NULL;
        return harness_run(argv, NULL, out, sizeof(out), err, sizeof(err));
}

#define COMPLETE(...) complete("lmmctl", (const char *[]){ "lmmctl", __VA_ARGS__, NULL })

Test(lmmctl, bash_completion) {
        cr_assert_eq(access("/usr/share/bash-completion/bash_completion", R_OK), 0,
                     "bash-completion is not installed (tools/deps.sh)");

        cr_assert_eq(COMPLETE("st"), 0, "%s", err);
        cr_assert_str_eq(out, "stat\n");
        cr_assert_eq(COMPLETE("s"), 0, "%s", err);
        cr_assert_str_eq(out, "stat\nshutdown\n");
        cr_assert_eq(COMPLETE("--socket", fixture_lmmd.sock, "l"), 0, "%s", err);
        cr_assert_str_eq(out, "list\n");

        /* Options: those of the verb at hand. */
        cr_assert_eq(COMPLETE("list", "--j"), 0, "%s", err);
        cr_assert_str_eq(out, "--json\n");
        cr_assert_eq(COMPLETE("create", "--s"), 0, "%s", err);
        cr_assert_str_eq(out, "--socket\n--share\n");
        cr_assert_eq(COMPLETE("cat", "--b"), 0, "%s", err);
        cr_assert_str_eq(out, "--binary\n");
        cr_assert_eq(COMPLETE("create", "--share", ""), 0, "%s", err);
        cr_assert_str_eq(out, "ro\nrw\n");

        /* Columns, from lmmctl --list-columns, after a comma too. */
        cr_assert_eq(COMPLETE("list", "-o", "own"), 0, "%s", err);
        cr_assert_str_eq(out, "OWNER-UID\nOWNER-PID\n");
        cr_assert_eq(COMPLETE("list", "-o", "block,sh"), 0, "%s", err);
        cr_assert_str_eq(out, "block,SHARE\n");

        /* Block names, from the manager that --socket names. */
        cr_assert_eq(CTL("create", "frames", "4K"), 0, "%s", err);
        cr_assert_eq(CTL("create", "fresh", "4K"), 0, "%s", err);
        cr_assert_eq(CTL("create", "other", "4K"), 0, "%s", err);
        cr_assert_eq(CTL("create", "with space", "4K"), 0, "%s", err);
        cr_assert_eq(COMPLETE("--socket", fixture_lmmd.sock, "stat", "f"), 0, "%s", err);
        cr_assert_str_eq(out, "frames\nfresh\n");
        cr_assert_eq(COMPLETE("cat", "--socket", fixture_lmmd.sock, "w"), 0, "%s", err);
        cr_assert_str_eq(out, "with\\ space\n");
        cr_assert_eq(COMPLETE("-s", fixture_lmmd.sock, "release", ""), 0, "%s", err);
        cr_assert_str_eq(out, "frames\nfresh\nother\nwith\\ space\n");
        /* One name only. */
        cr_assert_eq(COMPLETE("-s", fixture_lmmd.sock, "stat", "frames", ""), 0, "%s", err);
        cr_assert_str_eq(out, "\n");
        /* $LMM_SOCKET, as lmmctl itself reads it. */
        setenv("LMM_SOCKET", fixture_lmmd.sock, 1);
        cr_assert_eq(COMPLETE("freeze", "o"), 0, "%s", err);
        cr_assert_str_eq(out, "other\n");
        unsetenv("LMM_SOCKET");
}

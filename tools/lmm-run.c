/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lmm-run — launch a program with blocks from the manager already open as
 * fds 3 and up (LISTEN_FDS, LISTEN_FDNAMES), confined with the launch
 * profile unless asked otherwise, and exit with its status.
 *
 * Options come before the program: what follows it is its own, as with
 * env(1) and systemd-run(1). The rest follows cli.h.
 *
 * While the worker runs, lmm-run waits: ^C and ^\ reach the worker through
 * the terminal's process group, so lmm-run ignores them and reports how the
 * worker took them; SIGTERM and SIGHUP, which are sent to lmm-run alone, it
 * passes on. If lmm-run dies anyway, the worker dies with it
 * (PR_SET_PDEATHSIG, set by the launch).
 */

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cli.h"
#include "lmm.h"
#include "util.h"

#define PROG "lmm-run"

/* As shells say it: the program could not be found, or not be run. */
#define EXIT_NOT_FOUND 127
#define EXIT_CANNOT_RUN 126
/* lmm-run's own failures before the worker ran (no manager, no block). */
#define EXIT_FAILURE_OURS 1

static inline bool streq(const char *a, const char *b) {
        return strcmp(a, b) == 0;
}

typedef struct block_arg {
        char *name;
        bool read_only;
} block_arg;

static const char *arg_socket;
static const char *arg_profile;
static bool arg_unconfined;
static bool arg_kill;
static block_arg *arg_blocks;
static size_t arg_n_blocks;

static int worker_pidfd = -EBADF;

static void help(FILE *f) {
        fprintf(f,
                "Usage: " PROG " [OPTIONS] [--] PROGRAM [ARGS...]\n"
                "\n"
                "Launch PROGRAM with blocks from the manager open as fds 3 and up\n"
                "(LISTEN_FDS, LISTEN_FDNAMES), confined, and exit with its status.\n"
                "\n"
                "Options (before PROGRAM; what follows it is PROGRAM's):\n"
                "  -b, --block NAME[:ro|:rw]  pass the block NAME (another user's: UID/NAME),\n"
                "                             read-only (the default) or read-write; repeat\n"
                "                             for more, in the order of their fds\n"
                "  -p, --profile NAME         the seccomp profile: launch (the default)\n"
                "      --unconfined           no namespaces, no seccomp filter\n"
                "      --kill                 a forbidden call kills PROGRAM (SIGSYS) instead\n"
                "                             of failing with ENOSTR\n"
                "  -s, --socket PATH          the manager's socket (default: $LMM_SOCKET,\n"
                "                             $XDG_RUNTIME_DIR/lmm/lmmd.sock, /run/lmm/lmmd.sock\n"
                "                             for root)\n"
                "  -h, --help                 show this help\n"
                "  -V, --version              show the version\n"
                "\n"
                "The exit status is PROGRAM's, 128+N when signal N ended it; 127 when it\n"
                "was not found, 126 when it could not be run, 1 when lmm-run failed first.\n");
}

static const cli_program program;

/* "NAME", "NAME:ro", "NAME:rw": a trailing ":ro" or ":rw" is always the mode. */
static int parse_block(const char *s, const char *spelling) {
        size_t n = strlen(s);
        block_arg b = { .read_only = true };
        block_arg *a;

        if (n >= 3 && (streq(s + n - 3, ":ro") || streq(s + n - 3, ":rw"))) {
                b.read_only = s[n - 1] == 'o';
                n -= 3;
        }
        if (n == 0)
                return cli_usage_error(&program, "%s '%s': no block name", spelling, s);
        a = reallocarray(arg_blocks, arg_n_blocks + 1, sizeof(*a));
        if (!a)
                return -ENOMEM;
        arg_blocks = a;
        b.name = strndup(s, n);
        if (!b.name)
                return -ENOMEM;
        arg_blocks[arg_n_blocks++] = b;
        return 0;
}

enum { ARG_UNCONFINED = 0x100, ARG_KILL };

static int parse_option(int opt, const char *arg, const char *spelling, void *userdata) {
        switch (opt) {
        case 'b':
                return parse_block(arg, spelling);
        case 'p':
                arg_profile = arg;
                return 0;
        case ARG_UNCONFINED:
                arg_unconfined = true;
                return 0;
        case ARG_KILL:
                arg_kill = true;
                return 0;
        case 's':
                arg_socket = arg;
                return 0;
        }
        return -EINVAL;
}

static const struct option long_options[] = {
        { "block", required_argument, NULL, 'b' },
        { "profile", required_argument, NULL, 'p' },
        { "unconfined", no_argument, NULL, ARG_UNCONFINED },
        { "kill", no_argument, NULL, ARG_KILL },
        { "socket", required_argument, NULL, 's' },
        {},
};

static const cli_program program = {
        .name = PROG,
        .short_options = "b:p:s:",
        .long_options = long_options,
        .option = parse_option,
        .help = help,
        .stop_at_first_argument = true,
};

/*
 * PROGRAM as execvp() would find it, looked up here because the launch
 * allocates nothing between its fork and exec: a name with a '/' as it is,
 * else the first executable regular file of that name in $PATH.
 * Return: 0 with *ret malloc()ed; -ENOENT; -EACCES when one was found but
 * none could be run.
 */
static int find_program(const char *name, char **ret) {
        const char *path = getenv("PATH");
        bool denied = false;

        if (strchr(name, '/')) {
                *ret = strdup(name);
                return *ret ? 0 : -ENOMEM;
        }
        if (!path || !*path)
                path = "/usr/local/bin:/usr/bin:/bin";
        for (const char *p = path;;) {
                size_t n = strcspn(p, ":");
                _cleanup_free_ char *full = NULL;
                struct stat st;

                if (asprintf(&full, "%.*s/%s", (int) n, n ? p : ".", name) < 0)
                        return -ENOMEM;
                if (stat(full, &st) == 0 && S_ISREG(st.st_mode)) {
                        if (access(full, X_OK) == 0) {
                                *ret = TAKE_PTR(full);
                                return 0;
                        }
                        denied = true;
                }
                if (!p[n])
                        break;
                p += n + 1;
        }
        return denied ? -EACCES : -ENOENT;
}

static void forward(int sig) {
        if (worker_pidfd >= 0)
                (void) syscall(SYS_pidfd_send_signal, worker_pidfd, sig, NULL, 0);
}

static int connect_manager(lmm_client **ret) {
        char path[108];
        int r;

        if (arg_socket)
                snprintf(path, sizeof(path), "%s", arg_socket);
        else if (lmm_default_socket_path(path, sizeof(path)) < 0) {
                fprintf(stderr, PROG ": no manager socket: XDG_RUNTIME_DIR is not set; "
                                     "use --socket PATH\n");
                return -ENXIO;
        }
        r = lmm_client_connect(path, ret);
        if (r < 0)
                fprintf(stderr, PROG ": cannot connect to the manager at %s: %s%s\n", path,
                        strerror(-r),
                        r == -ENOENT || r == -ECONNREFUSED ? " (is lmmd running?)" : "");
        return r;
}

static int run(char **args) {
        _cleanup_(lmm_launch_freep) lmm_launch *l = NULL;
        _cleanup_(lmm_worker_freep) lmm_worker *w = NULL;
        _cleanup_free_ char *path = NULL;
        const char *why;
        int r, status;

        r = lmm_launch_new(&l);
        if (r < 0)
                goto oom;
        if (arg_unconfined)
                r = lmm_launch_set_unconfined(l, true);
        else
                r = lmm_launch_set_profile(l, arg_profile);
        if (r == -EINVAL) {
                fprintf(stderr, PROG ": unknown profile '%s'%s\n", arg_profile,
                        arg_profile && streq(arg_profile, "compute")
                                ? ": it forbids execve(); a program enters it itself, with "
                                  "lmm_sandbox_enter(), once set up"
                                : "; the one a launch applies is 'launch'");
                return CLI_EXIT_USAGE;
        }
        if (r >= 0 && arg_kill)
                r = lmm_launch_set_kill_on_violation(l, true);
        if (r < 0)
                goto oom;

        if (arg_n_blocks > 0) {
                _cleanup_(lmm_client_unrefp) lmm_client *c = NULL;

                if (connect_manager(&c) < 0)
                        return EXIT_FAILURE_OURS;
                for (size_t i = 0; i < arg_n_blocks; i++) {
                        const block_arg *b = &arg_blocks[i];
                        _cleanup_(lmm_segment_unrefp) lmm_segment *s = NULL;

                        r = lmm_segment_open(c, b->name, b->read_only ? LMM_OPEN_RDONLY : 0, &s);
                        if (r < 0) {
                                why = lmm_client_last_error(c);
                                if (why)
                                        fprintf(stderr, PROG ": %s\n", why);
                                else
                                        fprintf(stderr, PROG ": cannot open block '%s': %s\n",
                                                b->name, strerror(-r));
                                return EXIT_FAILURE_OURS;
                        }
                        r = lmm_launch_add_block(l, s, b->read_only ? LMM_LAUNCH_READ_ONLY : 0);
                        if (r < 0) {
                                why = lmm_launch_last_error(l);
                                fprintf(stderr, PROG ": cannot pass block '%s': %s\n", b->name,
                                        why ? why : strerror(-r));
                                return EXIT_FAILURE_OURS;
                        }
                }
        }

        r = find_program(args[0], &path);
        if (r < 0) {
                fprintf(stderr, PROG ": %s: %s\n", args[0],
                        r == -ENOENT ? "command not found" : strerror(-r));
                return r == -ENOENT   ? EXIT_NOT_FOUND
                       : r == -EACCES ? EXIT_CANNOT_RUN
                                      : EXIT_FAILURE_OURS;
        }

        /* Before the launch, so that no signal finds the worker started but not yet
         * known; the launch puts every disposition back to the default in the worker. */
        signal(SIGINT, SIG_IGN);
        signal(SIGQUIT, SIG_IGN);
        signal(SIGTERM, forward);
        signal(SIGHUP, forward);

        r = lmm_launch_spawn(l, path, args, NULL, &w);
        if (r < 0) {
                why = lmm_launch_last_error(l);
                fprintf(stderr, PROG ": %s\n", why ? why : strerror(-r));
                return r == -ENOENT                    ? EXIT_NOT_FOUND
                       : r == -EACCES || r == -ENOEXEC ? EXIT_CANNOT_RUN
                                                       : EXIT_FAILURE_OURS;
        }
        worker_pidfd = lmm_worker_get_pidfd(w);

        do
                r = lmm_worker_wait(w, &status);
        while (r == -EINTR);
        worker_pidfd = -EBADF;
        if (r < 0) {
                fprintf(stderr, PROG ": cannot wait for %s: %s\n", path, strerror(-r));
                return EXIT_FAILURE_OURS;
        }
        return status;
oom:
        fprintf(stderr, PROG ": %s\n", strerror(-r));
        return EXIT_FAILURE_OURS;
}

int main(int argc, char *argv[]) {
        cli_args a = {};
        int r;

        r = cli_parse(&program, argc, argv, NULL, &a);
        if (r <= 0)
                return cli_exit_status(r);
        if (a.n_args == 0) {
                cli_usage_error(&program, "no program given");
                r = CLI_EXIT_USAGE;
        } else if (arg_unconfined && arg_profile) {
                cli_usage_error(&program, "--unconfined and --profile %s contradict each other",
                                arg_profile);
                r = CLI_EXIT_USAGE;
        } else
                r = run(a.args);

        cli_args_done(&a);
        for (size_t i = 0; i < arg_n_blocks; i++)
                free(arg_blocks[i].name);
        free(arg_blocks);
        return r;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lmmd — the manager daemon: options, socket activation, signals and logging
 * around the manager core in liblmm (lib/manager*.c).
 */

#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "activation.h"
#include "lmm.h"
#include "lmmd-restart.h"
#include "log.h"
#include "manager-state.h"
#include "socket-path.h"
#include "util.h"

#define SUN_PATH_MAX (sizeof(((struct sockaddr_un *) 0)->sun_path) - 1)

static int arg_log_level = LOG_INFO;

static void help(void) {
        printf("Usage: lmmd [OPTIONS]\n"
               "\n"
               "The lmm manager: hands out sealed memfd blocks over a Unix socket.\n"
               "\n"
               "  -s, --socket PATH        listen on PATH (default: "
               "$XDG_RUNTIME_DIR/lmm/lmmd.sock,\n"
               "                           /run/lmm/lmmd.sock for root); relative to the current\n"
               "                           directory; ignored under socket activation\n"
               "      --allow-uid UID      also serve this user (name or number; repeatable)\n"
               "      --allow-gid GID      also serve members of this group (repeatable)\n"
               "      --max-bytes SIZE     bytes per user (default 8G; suffixes K, M, G, T)\n"
               "      --max-blocks N       blocks per user (default 4096)\n"
               "      --max-connections N  connections per user (default 256)\n"
               "  -v, --verbose            log every request\n"
               "  -q, --quiet              log warnings and errors only\n"
               "  -h, --help               show this help\n"
               "  -V, --version            show the version\n"
               "\n"
               "SIGTERM or SIGINT shut the manager down: every block is sealed against new\n"
               "writable mappings, the manager's references are dropped, the socket removed.\n"
               "Mappings that clients hold keep working. SIGHUP re-executes lmmd, keeping\n"
               "every block (lmmd(8), RESTARTS).\n");
}

static int parse_uint32(const char *s, uint32_t *ret) {
        char *end;
        unsigned long v;

        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno || end == s || *end || v > UINT32_MAX || s[0] == '-')
                return -EINVAL;
        *ret = (uint32_t) v;
        return 0;
}

static int parse_uid(const char *s, uid_t *ret) {
        struct passwd *pw;
        uint32_t v;

        if (parse_uint32(s, &v) == 0 && v != (uint32_t) -1) {
                *ret = v;
                return 0;
        }
        pw = getpwnam(s);
        if (!pw)
                return -ESRCH;
        *ret = pw->pw_uid;
        return 0;
}

static int parse_gid(const char *s, gid_t *ret) {
        struct group *gr;
        uint32_t v;

        if (parse_uint32(s, &v) == 0 && v != (uint32_t) -1) {
                *ret = v;
                return 0;
        }
        gr = getgrnam(s);
        if (!gr)
                return -ESRCH;
        *ret = gr->gr_gid;
        return 0;
}

/* socket_path_absolute() - @path (from @what, for the log), made absolute
 * against the current directory when it is relative: the manager core takes
 * absolute paths only, and a Unix socket's path must fit in sun_path. Logs
 * why not. */
static int socket_path_absolute(const char *what, const char *path, char *ret, size_t size) {
        const char *sep = "";
        char cwd[PATH_MAX] = "";
        int n;

        if (path[0] != '/') {
                if (!getcwd(cwd, sizeof(cwd))) {
                        int r = -errno;

                        log_error("%s %s: cannot make it absolute: the current directory: %s", what,
                                  path, strerror(-r));
                        return r;
                }
                sep = strcmp(cwd, "/") == 0 ? "" : "/";
        }
        n = snprintf(ret, size, "%s%s%s", cwd, sep, path);
        if (n < 0 || (size_t) n >= size || (size_t) n > SUN_PATH_MAX) {
                if (path[0] == '/')
                        log_error("%s %s: the path is %d bytes, a Unix socket's at most %zu", what,
                                  path, n, SUN_PATH_MAX);
                else
                        log_error("%s %s: made absolute (%s%s%s) the path is %d bytes, a Unix "
                                  "socket's at most %zu",
                                  what, path, cwd, sep, path, n, SUN_PATH_MAX);
                return -ENAMETOOLONG;
        }
        return 0;
}

int main(int argc, char *argv[]) {
        enum {
                ARG_ALLOW_UID = 0x100,
                ARG_ALLOW_GID,
                ARG_MAX_BYTES,
                ARG_MAX_BLOCKS,
                ARG_MAX_CONNS,
        };
        static const struct option options[] = {
                { "socket", required_argument, NULL, 's' },
                { "allow-uid", required_argument, NULL, ARG_ALLOW_UID },
                { "allow-gid", required_argument, NULL, ARG_ALLOW_GID },
                { "max-bytes", required_argument, NULL, ARG_MAX_BYTES },
                { "max-blocks", required_argument, NULL, ARG_MAX_BLOCKS },
                { "max-connections", required_argument, NULL, ARG_MAX_CONNS },
                { "verbose", no_argument, NULL, 'v' },
                { "quiet", no_argument, NULL, 'q' },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                {}
        };
        uid_t uids[64];
        gid_t gids[64];
        lmm_manager_opts o = { .allow_uids = uids, .allow_gids = gids };
        const char *arg_socket = NULL;
        char socket_path[PATH_MAX], default_path[PATH_MAX];
        lmm_manager *m = NULL;
        int c, r, n_activated;

        log_setup();
        /* Before anything opens an fd: a re-execution's are put in place. */
        r = restart_init(argv);
        if (r < 0) {
                log_error("cannot take over the fds of a re-execution: %s", strerror(-r));
                return 1;
        }

        while ((c = getopt_long(argc, argv, "s:vqhV", options, NULL)) >= 0) {
                switch (c) {
                case 's':
                        arg_socket = optarg;
                        break;
                case ARG_ALLOW_UID:
                        if (o.n_allow_uids >= ELEMENTSOF(uids)) {
                                log_error("at most %zu --allow-uid options", ELEMENTSOF(uids));
                                return 2;
                        }
                        if (parse_uid(optarg, &uids[o.n_allow_uids]) < 0) {
                                log_error("--allow-uid %s: no such user", optarg);
                                return 2;
                        }
                        o.n_allow_uids++;
                        break;
                case ARG_ALLOW_GID:
                        if (o.n_allow_gids >= ELEMENTSOF(gids)) {
                                log_error("at most %zu --allow-gid options", ELEMENTSOF(gids));
                                return 2;
                        }
                        if (parse_gid(optarg, &gids[o.n_allow_gids]) < 0) {
                                log_error("--allow-gid %s: no such group", optarg);
                                return 2;
                        }
                        o.n_allow_gids++;
                        break;
                case ARG_MAX_BYTES:
                        if (parse_size(optarg, &o.max_bytes_per_uid) < 0 ||
                            o.max_bytes_per_uid == 0) {
                                log_error("--max-bytes %s: not a size (try 512M or 4G)", optarg);
                                return 2;
                        }
                        break;
                case ARG_MAX_BLOCKS:
                        if (parse_uint32(optarg, &o.max_blocks_per_uid) < 0 ||
                            o.max_blocks_per_uid == 0) {
                                log_error("--max-blocks %s: not a positive number", optarg);
                                return 2;
                        }
                        break;
                case ARG_MAX_CONNS:
                        if (parse_uint32(optarg, &o.max_conns_per_uid) < 0 ||
                            o.max_conns_per_uid == 0) {
                                log_error("--max-connections %s: not a positive number", optarg);
                                return 2;
                        }
                        break;
                case 'v':
                        arg_log_level = LOG_DEBUG;
                        break;
                case 'q':
                        arg_log_level = LOG_WARNING;
                        break;
                case 'h':
                        help();
                        return 0;
                case 'V':
                        printf("lmmd %s\n", lmm_version());
                        return 0;
                default:
                        log_error("try 'lmmd --help'");
                        return 2;
                }
        }
        if (optind < argc) {
                log_error("unexpected argument '%s'; try 'lmmd --help'", argv[optind]);
                return 2;
        }
        log_set_max_level(arg_log_level);

        signal(SIGPIPE, SIG_IGN);

        /* Every block and connection is an fd, and fds in flight to clients
         * count against this limit too: take all the kernel allows. */
        {
                struct rlimit rl;
                if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
                        rl.rlim_cur = rl.rlim_max;
                        (void) setrlimit(RLIMIT_NOFILE, &rl);
                }
        }

        r = lmm_manager_new(&o, &m);
        if (r < 0) {
                log_error("cannot set up the manager: %s", strerror(-r));
                return 1;
        }
        lmm_manager_set_log(m, log_manager_line, NULL);
        /* The sockets handed over are served; the blocks a restart handed back
         * are in the registry before anything is served (lmmd-restart.c). */
        n_activated = restart_take_fds(m);
        if (n_activated < 0)
                goto fail;
        /* Signals arrive through the event loop, never asynchronously. */
        r = lmm_manager_handle_signals(m);
        if (r < 0) {
                log_error("cannot watch SIGTERM, SIGINT and SIGHUP: %s", strerror(-r));
                goto fail;
        }
        if (n_activated == 0) {
                const char *path = arg_socket;

                if (!path) {
                        r = lmm_default_socket_path(default_path, sizeof(default_path));
                        if (r < 0) {
                                log_error("no socket path: %s",
                                          r == -ENXIO ? "XDG_RUNTIME_DIR is not set; use --socket "
                                                        "PATH"
                                                      : strerror(-r));
                                goto fail;
                        }
                        path = default_path;
                }
                r = socket_path_absolute(arg_socket ? "--socket" : "$LMM_SOCKET", path, socket_path,
                                         sizeof(socket_path));
                if (r < 0)
                        goto fail;
                r = lmm_manager_listen(m, socket_path);
                if (r < 0) {
                        char why[PATH_MAX + 128] = "";

                        /* Refused for a directory or a socket that someone
                         * else could replace: ask the same check which, and
                         * why, without making anything. */
                        if (r == -EPERM)
                                (void) socket_path_check(socket_path, geteuid(), false, 0, NULL,
                                                         why, sizeof(why));
                        log_error("cannot listen on %s: %s", socket_path,
                                  why[0]             ? why
                                  : r == -EADDRINUSE ? "another manager is serving it"
                                  : r == -ENOTSOCK   ? "the path exists and is not a socket"
                                                     : strerror(-r));
                        goto fail;
                }
                log_info("serving %s", socket_path);
        }

        (void) activation_notify("READY=1\nSTATUS=serving");
        /* A re-execution that fails returns, and the manager serves on. */
        while ((r = lmm_manager_run(m)) >= 0 && manager_reexec_requested(m))
                restart_reexec(m);
        (void) activation_notify("STOPPING=1");
        if (r < 0)
                log_error("the event loop failed: %s", strerror(-r));
        m = lmm_manager_free(m);
        return r < 0 ? 1 : 0;

fail:
        lmm_manager_free(m);
        return 1;
}

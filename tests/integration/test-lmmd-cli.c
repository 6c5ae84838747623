/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lmmd as a service manager and a shell start it: --version, a relative
 * --socket, socket activation (a SOCK_SEQPACKET socket served and READY=1
 * said; any other refused, saying why), and log lines with syslog
 * priorities when stderr is the journal, plain ones otherwise.
 */

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"
#include "lmm.h"

/* start() - lmmd with @args, its stderr into @log_fd (< 0: ours), in
 * directory @cwd (NULL: ours), with @listen_fd (< 0: none) passed as
 * socket activation passes it: as fd 3, with $LISTEN_FDS and $LISTEN_PID. */
static pid_t start(const char *const *args, int log_fd, const char *cwd, int listen_fd) {
        const char *argv[32] = { harness_getenv("LMMD") };
        size_t n = 1;
        pid_t pid;

        for (; args && *args && n < 31; args++)
                argv[n++] = *args;
        pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
                char s[32];

                if (log_fd >= 0 && dup2(log_fd, STDERR_FILENO) < 0)
                        _exit(126);
                if (cwd && chdir(cwd) < 0)
                        _exit(126);
                if (listen_fd >= 0) {
                        if (dup2(listen_fd, 3) < 0)
                                _exit(126);
                        snprintf(s, sizeof(s), "%d", (int) getpid());
                        setenv("LISTEN_PID", s, 1);
                        setenv("LISTEN_FDS", "1", 1);
                }
                close_range(listen_fd >= 0 ? 4 : 3, ~0U, 0);
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                execv(argv[0], (char *const *) argv);
                _exit(127);
        }
        return pid;
}

/* read_all() - what the pipe @fd holds once its writers are gone. */
static void read_all(int fd, char *buf, size_t size) {
        size_t n = 0;
        ssize_t k;

        while (n < size - 1 && (k = read(fd, buf + n, size - 1 - n)) > 0)
                n += (size_t) k;
        buf[n] = 0;
}

/* unix_address() - the address of the socket at @path, which must fit. */
static struct sockaddr_un unix_address(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        size_t n = strlen(path);

        cr_assert_lt(n, sizeof(sa.sun_path), "%s: too long for a socket", path);
        memcpy(sa.sun_path, path, n);
        return sa;
}

/* wait_for_socket() - until @path accepts a connection, or lmmd @pid exits. */
static void wait_for_socket(const char *path, pid_t pid) {
        for (int i = 0; i < 500; i++) {
                struct sockaddr_un sa = unix_address(path);
                int fd, r;

                fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
                r = connect(fd, (struct sockaddr *) &sa, sizeof(sa));
                close(fd);
                if (r == 0)
                        return;
                cr_assert_neq(waitpid(pid, NULL, WNOHANG), pid, "lmmd exited");
                usleep(10 * 1000);
        }
        cr_assert_fail("%s: nobody listens", path);
}

/* listening() - a socket of @type bound at @dir/@name (into @ret_path),
 * listening if @listen_too. */
static int listening(int type, const char *dir, const char *name, bool listen_too, char *ret_path) {
        struct sockaddr_un sa;
        int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);

        cr_assert_geq(fd, 0);
        snprintf(ret_path, PATH_MAX, "%s/%s", dir, name);
        sa = unix_address(ret_path);
        cr_assert_eq(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), 0, "%m");
        if (listen_too)
                cr_assert_eq(listen(fd, 16), 0, "%m");
        return fd;
}

static void create_one(const char *path, const char *name) {
        lmm_client *c = NULL;
        lmm_segment *s = NULL;

        cr_assert_eq(lmm_client_connect(path, &c), 0);
        cr_assert_eq(lmm_segment_create(c, &(lmm_segment_opts){ .size = 4096, .name = name }, &s),
                     0, "%s", lmm_client_last_error(c));
        lmm_segment_unref(s);
        lmm_client_unref(c);
}

TestSuite(lmmd_cli, .timeout = 60);

Test(lmmd_cli, version_is_the_librarys_and_the_headers) {
        char out[128], err[128], want[64];

        snprintf(want, sizeof(want), "lmmd %d.%d.%d\n", LMM_VERSION_MAJOR, LMM_VERSION_MINOR,
                 LMM_VERSION_MICRO);
        for (int i = 0; i < 2; i++) {
                const char *argv[] = { harness_getenv("LMMD"), i ? "-V" : "--version", NULL };
                cr_assert_eq(harness_run(argv, NULL, out, sizeof(out), err, sizeof(err)), 0);
                cr_assert_str_eq(out, want);
                cr_assert_str_empty(err);
        }
        snprintf(want, sizeof(want), "%d.%d.%d", LMM_VERSION_MAJOR, LMM_VERSION_MINOR,
                 LMM_VERSION_MICRO);
        cr_assert_str_eq(lmm_version(), want);
}

Test(lmmd_cli, a_relative_socket_path_is_made_absolute) {
        char dir[] = "/tmp/lmm-cli-XXXXXX", path[PATH_MAX], log[4096], want[PATH_MAX + 32];
        const char *args[] = { "--socket", "sub/lmmd.sock", NULL };
        int p[2];
        pid_t pid;

        cr_assert_not_null(mkdtemp(dir));
        cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
        pid = start(args, p[1], dir, -1);
        close(p[1]);
        snprintf(path, sizeof(path), "%s/sub/lmmd.sock", dir);
        wait_for_socket(path, pid);
        create_one(path, "relative");
        kill(pid, SIGTERM);
        cr_assert_eq(harness_wait_exit(pid, 5000), 0);
        read_all(p[0], log, sizeof(log));
        close(p[0]);
        snprintf(want, sizeof(want), "lmmd: serving %s\n", path);
        cr_assert(strstr(log, want), "%s", log);
        /* Removed at shutdown, where it was made, whatever the cwd is then. */
        cr_assert_eq(access(path, F_OK), -1);
        snprintf(path, sizeof(path), "%s/sub", dir);
        rmdir(path);
        rmdir(dir);
}

Test(lmmd_cli, a_relative_socket_path_too_long_once_absolute_says_so) {
        char dir[] = "/tmp/lmm-cli-XXXXXX", name[128], log[4096];
        const char *args[] = { "--socket", name, NULL };
        int p[2];
        pid_t pid;

        /* Short enough alone (100 bytes), too long after the directory. */
        memset(name, 'x', 100);
        name[100] = 0;
        cr_assert_not_null(mkdtemp(dir));
        cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
        pid = start(args, p[1], dir, -1);
        close(p[1]);
        cr_assert_eq(harness_wait_exit(pid, 5000), 1);
        read_all(p[0], log, sizeof(log));
        close(p[0]);
        cr_assert(strstr(log, "made absolute"), "%s", log);
        cr_assert(strstr(log, "a Unix socket's at most 107"), "%s", log);
        rmdir(dir);
}

/* wait_for_line() - messages on the datagram socket @fd until one holds
 * @line. The fds the fd store's messages carry are closed by the kernel:
 * recv() takes none. */
static void wait_for_line(int fd, const char *line) {
        char msg[4096];

        for (;;) {
                struct pollfd pfd = { .fd = fd, .events = POLLIN };
                ssize_t n;

                cr_assert_eq(poll(&pfd, 1, 10000), 1, "no %s within 10 s", line);
                n = recv(fd, msg, sizeof(msg) - 1, 0);
                cr_assert_gt(n, 0);
                msg[n] = 0;
                for (char *l = strtok(msg, "\n"); l; l = strtok(NULL, "\n"))
                        if (strcmp(l, line) == 0)
                                return;
        }
}

Test(lmmd_cli, socket_activation_serves_and_says_ready) {
        char dir[] = "/tmp/lmm-cli-XXXXXX", path[PATH_MAX], notify[PATH_MAX], log[4096],
             want[PATH_MAX + 64];
        struct sockaddr_un sa;
        int lfd, nfd, p[2];
        pid_t pid;

        cr_assert_not_null(mkdtemp(dir));
        lfd = listening(SOCK_SEQPACKET, dir, "lmmd.sock", true, path);
        snprintf(notify, sizeof(notify), "%s/notify", dir);
        sa = unix_address(notify);
        nfd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        cr_assert_eq(bind(nfd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        setenv("NOTIFY_SOCKET", notify, 1);
        cr_assert_eq(pipe2(p, O_CLOEXEC), 0);

        pid = start(NULL, p[1], NULL, lfd);
        unsetenv("NOTIFY_SOCKET");
        close(p[1]);
        close(lfd);
        wait_for_line(nfd, "READY=1");
        create_one(path, "activated");

        kill(pid, SIGTERM);
        wait_for_line(nfd, "STOPPING=1");
        cr_assert_eq(harness_wait_exit(pid, 5000), 0);
        read_all(p[0], log, sizeof(log));
        close(p[0]);
        snprintf(want, sizeof(want), "lmmd: serving %s (socket activation)\n", path);
        cr_assert(strstr(log, want), "%s", log);
        /* The socket is the service manager's: lmmd leaves it. */
        cr_assert_eq(access(path, F_OK), 0);
        close(nfd);
        unlink(path);
        unlink(notify);
        rmdir(dir);
}

/* refused() - lmmd started with @fd as its activated socket exits 1 saying @why. */
static void refused(int fd, const char *why) {
        char log[4096];
        int p[2];
        pid_t pid;

        cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
        pid = start(NULL, p[1], NULL, fd);
        close(p[1]);
        cr_assert_eq(harness_wait_exit(pid, 5000), 1);
        read_all(p[0], log, sizeof(log));
        close(p[0]);
        cr_assert(strstr(log, why), "wanted \"%s\" in: %s", why, log);
}

Test(lmmd_cli, socket_activation_of_a_stream_socket_says_what_lmmd_needs) {
        char dir[] = "/tmp/lmm-cli-XXXXXX", path[PATH_MAX];
        int fd;

        cr_assert_not_null(mkdtemp(dir));
        fd = listening(SOCK_STREAM, dir, "stream.sock", true, path);
        refused(fd, "lmmd: socket-activation fd 3 is a SOCK_STREAM socket: lmmd needs a "
                    "SOCK_SEQPACKET socket (ListenSequentialPacket= in the .socket unit");
        close(fd);
        unlink(path);
        fd = listening(SOCK_DGRAM, dir, "dgram.sock", false, path);
        refused(fd, "is a SOCK_DGRAM socket: lmmd needs a SOCK_SEQPACKET socket");
        close(fd);
        unlink(path);
        fd = listening(SOCK_SEQPACKET, dir, "idle.sock", false, path);
        refused(fd, "socket-activation fd 3 is not listening");
        close(fd);
        unlink(path);
        rmdir(dir);
}

/* journal_stream() - $JOURNAL_STREAM naming the file @fd is, as systemd sets it. */
static void journal_stream(int fd) {
        struct stat st;
        char s[64];

        cr_assert_eq(fstat(fd, &st), 0);
        snprintf(s, sizeof(s), "%llu:%llu", (unsigned long long) st.st_dev,
                 (unsigned long long) st.st_ino);
        setenv("JOURNAL_STREAM", s, 1);
}

/* refused_client() - a client of uid @uid connects to @path; it is refused. */
static void refused_client(const char *path, uid_t uid) {
        pid_t pid = fork();

        cr_assert_geq(pid, 0);
        if (pid == 0) {
                lmm_client *c = NULL;
                lmm_block_info info;

                if (setresuid(uid, uid, uid) < 0 || lmm_client_connect(path, &c) < 0)
                        _exit(1);
                _exit(lmm_block_stat(c, "x", &info) == -EACCES ? 0 : 2);
        }
        cr_assert_eq(harness_wait_exit(pid, 10000), 0);
}

/* each_line_has_a_priority() - every line of @log starts "<N>", without "lmmd: ". */
static void each_line_has_a_priority(const char *log) {
        for (const char *l = log; *l; l = strchr(l, '\n') + 1) {
                cr_assert(l[0] == '<' && l[1] >= '0' && l[1] <= '7' && l[2] == '>' &&
                                  strncmp(l + 3, "lmmd: ", 6) != 0,
                          "a line without a priority: %.*s", (int) strcspn(l, "\n"), l);
                if (!strchr(l, '\n'))
                        break;
        }
}

Test(lmmd_cli, log_lines_carry_priorities_when_stderr_is_the_journal) {
        /* Another uid allowed: the socket is open to all, and lmmd refuses
         * the uids it does not serve itself. */
        const char *args[] = { "--verbose", "--allow-uid", "12345", NULL };
        harness_lmmd h;
        lmm_client *c = NULL;
        lmm_segment *s = NULL;
        char log[16384];
        int p[2];

        cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
        journal_stream(p[1]);
        cr_assert_eq(harness_lmmd_start_logged(&h, args, p[1]), 0);
        close(p[1]);
        cr_assert_eq(chmod(h.dir, 0755), 0);
        cr_assert_eq(lmm_client_connect(h.sock, &c), 0);
        /* Debug: a request. */
        cr_assert_eq(
                lmm_segment_create(c, &(lmm_segment_opts){ .size = 4096, .name = "sealed" }, &s),
                0);
        /* Notice: a client the manager does not serve. */
        refused_client(h.sock, 12346);
        /* Warning: a block a holder sealed against sealing, at shutdown. */
        cr_assert_eq(fcntl(lmm_segment_get_fd(s), F_ADD_SEALS, F_SEAL_SEAL), 0);
        cr_assert_eq(harness_lmmd_stop(&h), 1);
        lmm_segment_unref(s);
        lmm_client_unref(c);
        read_all(p[0], log, sizeof(log));
        close(p[0]);

        cr_assert(strstr(log, "<6>serving /tmp/lmm-test-"), "%s", log);
        cr_assert(strstr(log, "<7>pid "), "%s", log);
        cr_assert(strstr(log, "<5>refusing pid "), "%s", log);
        cr_assert(strstr(log, "<4>cannot seal block \"sealed\" at shutdown"), "%s", log);
        cr_assert(strstr(log, "<6>shut down"), "%s", log);
        each_line_has_a_priority(log);

        /* And an error: one that stops lmmd before it starts. */
        cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
        journal_stream(p[1]);
        const char *bad[] = { "--max-blocks", "0", NULL };
        pid_t pid = start(bad, p[1], NULL, -1);
        close(p[1]);
        cr_assert_eq(harness_wait_exit(pid, 5000), 2);
        read_all(p[0], log, sizeof(log));
        close(p[0]);
        cr_assert_str_eq(log, "<3>--max-blocks 0: not a positive number\n");
        unsetenv("JOURNAL_STREAM");
}

Test(lmmd_cli, log_lines_are_plain_when_stderr_is_not_the_journal) {
        const char *args[] = { "--verbose", NULL };
        int p[2], null_fd;
        harness_lmmd h;
        char log[16384];

        /* Inherited from a service whose stderr was the journal, but this
         * stderr is another file: plain lines. */
        null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
        journal_stream(null_fd);
        close(null_fd);
        cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
        cr_assert_eq(harness_lmmd_start_logged(&h, args, p[1]), 0);
        close(p[1]);
        create_one(h.sock, "plain");
        cr_assert_eq(harness_lmmd_stop(&h), 0);
        read_all(p[0], log, sizeof(log));
        close(p[0]);
        unsetenv("JOURNAL_STREAM");

        cr_assert(strstr(log, "lmmd: serving /tmp/lmm-test-"), "%s", log);
        cr_assert(strstr(log, "lmmd: pid "), "%s", log);
        cr_assert(strstr(log, "lmmd: shut down"), "%s", log);
        cr_assert_null(strstr(log, "<"), "%s", log);
}

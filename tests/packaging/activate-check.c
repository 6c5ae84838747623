/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * activate-check — start a manager command the way its units do, and check
 * that it serves: under systemd-socket-activate --seqpacket, with
 * $NOTIFY_SOCKET pointing at a datagram socket of ours. The first client
 * starts it (as systemd does); it must say READY=1, from its own pid,
 * serve a block, and on SIGTERM say STOPPING=1 and exit 0. What it hands
 * to the fd store on the way (FDSTORE=1 with an fd) is counted and closed.
 *
 *   activate-check [OPTIONS] -- COMMAND [ARGUMENT...]
 *     --socket-group NAME  give the socket to group NAME, mode 0660, as
 *                          SocketGroup= and SocketMode= in a .socket unit
 *     --member UID         then check that UID, in the socket's group,
 *                          creates a block and adopts a memfd of its own
 *     --stranger UID       and that UID, in no such group, is refused
 *
 * Prints what it saw, one line each. Exit status: 0 when all went as
 * said, 1 when not (with why), 77 when systemd-socket-activate is missing.
 */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <poll.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lmm.h"

#define TIMEOUT_MS 10000

static char dir[] = "/tmp/lmm-activate-XXXXXX";
static char sock_path[64], notify_path[64];

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...) {
        va_list ap;

        fprintf(stderr, "activate-check: ");
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        return -1;
}

static long now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* notify_recv() - one message on @fd, waited for until @deadline (ms),
 * NUL-terminated into @buf; the pid the kernel says sent it; and the fds
 * that came with it (the fd store's), which are counted into *@n_fds and
 * closed. */
static int notify_recv(int fd, char *buf, size_t size, long deadline, pid_t *ret_pid,
                       unsigned *n_fds) {
        union {
                struct cmsghdr cmsg;
                char buf[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(16 * sizeof(int))];
        } control = {};
        struct iovec iov = { .iov_base = buf, .iov_len = size - 1 };
        struct msghdr mh = {
                .msg_iov = &iov,
                .msg_iovlen = 1,
                .msg_control = &control,
                .msg_controllen = sizeof(control),
        };
        struct pollfd p = { .fd = fd, .events = POLLIN };
        long left = deadline - now_ms();
        ssize_t n;

        if (left <= 0 || poll(&p, 1, (int) left) <= 0)
                return fail("no message on $NOTIFY_SOCKET within %d ms", TIMEOUT_MS);
        n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
        if (n < 0)
                return fail("recvmsg on $NOTIFY_SOCKET: %m");
        buf[n] = 0;
        *ret_pid = 0;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
                        struct ucred uc;
                        memcpy(&uc, CMSG_DATA(c), sizeof(uc));
                        *ret_pid = uc.pid;
                } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
                        size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                        for (size_t i = 0; i < k; i++) {
                                int got;
                                memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
                                close(got);
                                (*n_fds)++;
                        }
                }
        }
        return 0;
}

/* has_line() - whether @msg (newline-separated assignments) holds the line @line. */
static int has_line(const char *msg, const char *line) {
        size_t n = strlen(line);

        for (const char *p = msg; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
                if (strncmp(p, line, n) == 0 && (p[n] == '\n' || p[n] == 0))
                        return 1;
        return 0;
}

/* notify_wait() - messages on @fd until one holds the line @want, from
 * *@ret_pid; the fd store's on the way are counted into *@n_fds. */
static int notify_wait(int fd, const char *want, pid_t *ret_pid, unsigned *n_fds) {
        long deadline = now_ms() + TIMEOUT_MS;
        char msg[4096];

        do {
                if (notify_recv(fd, msg, sizeof(msg), deadline, ret_pid, n_fds) < 0)
                        return fail("waiting for %s", want);
        } while (!has_line(msg, want));
        return 0;
}

/* check_block() - a client at the socket creates a block; it must be a
 * memfd sealed against shrinking and growing. Return: 0 or -errno. */
static int check_block(lmm_client *c, const char *name) {
        lmm_segment *s = NULL;
        int r, seals;

        r = lmm_segment_create(c, &(lmm_segment_opts){ .size = 4096, .name = name }, &s);
        if (r < 0)
                return fail("create \"%s\": %s (%s)", name, strerror(-r),
                            lmm_client_last_error(c) ?: "no message");
        seals = fcntl(lmm_segment_get_fd(s), F_GET_SEALS);
        lmm_segment_unref(s);
        if (seals < 0 || (seals & (F_SEAL_SHRINK | F_SEAL_GROW)) != (F_SEAL_SHRINK | F_SEAL_GROW))
                return fail("block \"%s\" is not size-sealed (seals %#x)", name, seals);
        printf("created block \"%s\": a memfd sealed shrink,grow\n", name);
        return 0;
}

/* as_user() - in a child as @uid with groups @gids, connect and do what a
 * member (@member) or a stranger may. Return: the child's exit status. */
static int as_user(uid_t uid, const gid_t *gids, size_t n_gids, int member) {
        pid_t pid;
        int status;

        fflush(stdout);
        pid = fork();
        if (pid < 0)
                return fail("fork: %m");
        if (pid == 0) {
                lmm_client *c = NULL;
                lmm_segment *s = NULL;
                int r, fd;

                if (setgroups(n_gids, gids) < 0 || setresgid(uid, uid, uid) < 0 ||
                    setresuid(uid, uid, uid) < 0) {
                        fail("becoming uid %u: %m", (unsigned) uid);
                        _exit(1);
                }
                r = lmm_client_connect(sock_path, &c);
                if (!member) {
                        lmm_block_info info;
                        if (r == 0)
                                r = lmm_block_stat(c, "nothing", &info);
                        if (r != -EACCES) {
                                fail("uid %u, in no allowed group: %s, not EACCES", (unsigned) uid,
                                     strerror(-r));
                                _exit(1);
                        }
                        printf("uid %u, in no allowed group: refused (%s)\n", (unsigned) uid,
                               c && lmm_client_last_error(c) ? lmm_client_last_error(c)
                                                             : strerror(-r));
                        fflush(stdout);
                        _exit(0);
                }
                if (r < 0) {
                        fail("uid %u cannot connect: %s", (unsigned) uid, strerror(-r));
                        _exit(1);
                }
                if (check_block(c, "member") < 0)
                        _exit(1);
                /* A memfd of its own, mode 0666 or 0777 from memfd_create():
                 * the manager must take its group and other bits off. */
                fd = memfd_create("member-adopted", MFD_CLOEXEC | MFD_ALLOW_SEALING);
                if (fd < 0 || ftruncate(fd, 4096) < 0) {
                        fail("memfd_create: %m");
                        _exit(1);
                }
                r = lmm_segment_adopt(c, fd, "member-adopted", 0, &s);
                if (r < 0) {
                        fail("uid %u cannot adopt a memfd: %s (%s)", (unsigned) uid, strerror(-r),
                             lmm_client_last_error(c) ?: "no message");
                        _exit(1);
                }
                printf("uid %u, in the socket's group: created a block and adopted a memfd\n",
                       (unsigned) uid);
                fflush(stdout);
                lmm_segment_unref(s);
                lmm_client_unref(c);
                close(fd);
                _exit(0);
        }
        if (waitpid(pid, &status, 0) < 0)
                return fail("waitpid: %m");
        return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

static int run(char **cmd, const char *group, uid_t member, uid_t stranger) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        unsigned n_stored = 0;
        char env[300];
        lmm_client *c = NULL;
        gid_t gid = 0;
        pid_t pid, from;
        long deadline;
        int nfd, status, r;

        if (group) {
                struct group *gr = getgrnam(group);
                if (!gr)
                        return fail("group %s: no such group", group);
                gid = gr->gr_gid;
        }

        snprintf(sock_path, sizeof(sock_path), "%s/lmmd.sock", dir);
        snprintf(notify_path, sizeof(notify_path), "%s/notify", dir);
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", notify_path);
        nfd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (nfd < 0 || bind(nfd, (struct sockaddr *) &sa, sizeof(sa)) < 0 ||
            setsockopt(nfd, SOL_SOCKET, SO_PASSCRED, &(int){ 1 }, sizeof(int)) < 0)
                return fail("notify socket %s: %m", notify_path);
        /* The manager may run as another user: it must reach both sockets. */
        if (chmod(dir, 0755) < 0 || chmod(notify_path, 0777) < 0)
                return fail("chmod %s: %m", dir);

        snprintf(env, sizeof(env), "NOTIFY_SOCKET=%s", notify_path);
        fflush(stdout);
        pid = fork();
        if (pid < 0)
                return fail("fork: %m");
        if (pid == 0) {
                const char *argv[64] = {
                        "systemd-socket-activate", "--seqpacket", "-l", sock_path, "-E", env, "--"
                };
                size_t n = 7;

                for (char **a = cmd; *a && n < 63; a++)
                        argv[n++] = *a;
                execvp(argv[0], (char **) argv);
                fprintf(stderr, "activate-check: cannot run systemd-socket-activate: %m\n");
                _exit(errno == ENOENT ? 77 : 1);
        }

        /* The socket, made by systemd-socket-activate before it waits. */
        for (deadline = now_ms() + TIMEOUT_MS; access(sock_path, F_OK) < 0;) {
                if (waitpid(pid, &status, WNOHANG) == pid) {
                        if (WIFEXITED(status) && WEXITSTATUS(status) == 77)
                                return 77;
                        return fail("systemd-socket-activate exited early (status %#x)",
                                    (unsigned) status);
                }
                if (now_ms() > deadline)
                        goto kill;
                usleep(10 * 1000);
        }
        if (group && (chown(sock_path, 0, gid) < 0 || chmod(sock_path, 0660) < 0)) {
                fail("giving %s to group %s: %m", sock_path, group);
                goto kill;
        }

        /* The first client starts the manager. The socket file is there
         * from bind(), a moment before listen(). */
        while ((r = lmm_client_connect(sock_path, &c)) == -ECONNREFUSED && now_ms() < deadline)
                usleep(10 * 1000);
        if (r < 0) {
                fail("connect to %s: %s", sock_path, strerror(-r));
                goto kill;
        }
        if (notify_wait(nfd, "READY=1", &from, &n_stored) < 0)
                goto kill;
        if (from != pid) {
                fail("READY=1 came from pid %d, not from the main process %d", (int) from,
                     (int) pid);
                goto kill;
        }
        printf("READY=1 from the main process, pid %d\n", (int) pid);
        if (check_block(c, "activated") < 0)
                goto kill;
        c = lmm_client_unref(c);

        if (member > 0 && as_user(member, &gid, 1, 1) != 0)
                goto kill;
        if (stranger > 0 && as_user(stranger, NULL, 0, 0) != 0)
                goto kill;

        if (kill(pid, SIGTERM) < 0)
                return fail("kill: %m");
        if (notify_wait(nfd, "STOPPING=1", &from, &n_stored) < 0)
                goto kill;
        if (waitpid(pid, &status, 0) < 0)
                return fail("waitpid: %m");
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return fail("the manager did not exit 0 after SIGTERM (status %#x)",
                            (unsigned) status);
        printf("STOPPING=1, then exit 0 after SIGTERM; %u fds handed to the fd store meanwhile\n",
               n_stored);
        close(nfd);
        return 0;

kill:
        lmm_client_unref(c);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        close(nfd);
        return -1;
}

int main(int argc, char *argv[]) {
        static const struct option options[] = { { "socket-group", required_argument, NULL, 'g' },
                                                 { "member", required_argument, NULL, 'm' },
                                                 { "stranger", required_argument, NULL, 's' },
                                                 {} };
        const char *group = NULL;
        uid_t member = 0, stranger = 0;
        int c, r;

        while ((c = getopt_long(argc, argv, "+", options, NULL)) >= 0) {
                switch (c) {
                case 'g':
                        group = optarg;
                        break;
                case 'm':
                        member = (uid_t) strtoul(optarg, NULL, 10);
                        break;
                case 's':
                        stranger = (uid_t) strtoul(optarg, NULL, 10);
                        break;
                default:
                        return 2;
                }
        }
        if (optind >= argc || (member && !group)) {
                fprintf(stderr, "usage: activate-check [--socket-group NAME [--member UID] "
                                "[--stranger UID]] -- COMMAND [ARGUMENT...]\n");
                return 2;
        }
        if (!mkdtemp(dir)) {
                perror("activate-check: mkdtemp");
                return 1;
        }
        r = run(argv + optind, group, member, stranger);
        unlink(sock_path);
        unlink(notify_path);
        rmdir(dir);
        return r == 77 ? 77 : r < 0 ? 1 : 0;
}

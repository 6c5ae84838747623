/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * harness — see harness.h.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

const char *harness_getenv(const char *name) {
        const char *v = getenv(name);

        if (!v || !*v) {
                fprintf(stderr, "harness: $%s is not set; run the tests through 'meson test'\n",
                        name);
                abort();
        }
        return v;
}

static void sleep_ms(int ms) {
        nanosleep(&(struct timespec){ .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L },
                  NULL);
}

int harness_lmmd_start(harness_lmmd *h, const char *const *args) {
        return harness_lmmd_start_logged(h, args, -1);
}

int harness_lmmd_start_logged(harness_lmmd *h, const char *const *args, int log_fd) {
        const char *lmmd = harness_getenv("LMMD");
        const char *argv[64];
        size_t n = 0;

        memset(h, 0, sizeof(*h));
        snprintf(h->dir, sizeof(h->dir), "/tmp/lmm-test-XXXXXX");
        if (!mkdtemp(h->dir))
                return -errno;
        snprintf(h->sock, sizeof(h->sock), "%s/lmmd.sock", h->dir);

        argv[n++] = lmmd;
        argv[n++] = "--quiet";
        argv[n++] = "--socket";
        argv[n++] = h->sock;
        for (; args && *args && n < 62; args++)
                argv[n++] = *args;
        argv[n] = NULL;

        h->pid = fork();
        if (h->pid < 0)
                return -errno;
        if (h->pid == 0) {
                /* lmmd holds none of the test runner's fds (a failed test must
                 * not keep meson waiting on a pipe), and dies with the test. */
                if (log_fd >= 0 && dup2(log_fd, STDERR_FILENO) < 0)
                        _exit(126);
                close_range(3, ~0U, 0);
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                execv(lmmd, (char *const *) argv);
                _exit(127);
        }

        /* Ready when the socket accepts a connection. */
        for (int i = 0; i < 500; i++) {
                struct sockaddr_un sa = { .sun_family = AF_UNIX };
                int fd, r;

                strcpy(sa.sun_path, h->sock);
                fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
                r = connect(fd, (struct sockaddr *) &sa, sizeof(sa));
                close(fd);
                if (r == 0)
                        return 0;
                if (waitpid(h->pid, NULL, WNOHANG) == h->pid) {
                        h->pid = 0;
                        return -ECHILD;
                }
                sleep_ms(10);
        }
        return -ETIMEDOUT;
}

bool harness_userns_available(void) {
        static int known = -1;
        int status;
        pid_t pid;

        if (known >= 0)
                return known;
        pid = fork();
        if (pid < 0)
                return false;
        if (pid == 0)
                _exit(unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0 ? 1 : 0);
        if (waitpid(pid, &status, 0) != pid)
                return false;
        known = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        return known;
}

int harness_wait_exit(pid_t pid, int timeout_ms) {
        for (int waited = 0; waited <= timeout_ms; waited += 5) {
                int status;
                pid_t r = waitpid(pid, &status, WNOHANG);

                if (r == pid)
                        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
                if (r < 0)
                        return -1;
                sleep_ms(5);
        }
        return -2;
}

int harness_lmmd_stop(harness_lmmd *h) {
        int r;

        if (h->pid <= 0)
                return -1;
        kill(h->pid, SIGTERM);
        r = harness_wait_exit(h->pid, 5000);
        if (r == -2) {
                kill(h->pid, SIGKILL);
                waitpid(h->pid, NULL, 0);
        }
        h->pid = 0;
        rmdir(h->dir);
        return r;
}

void harness_lmmd_kill(harness_lmmd *h) {
        if (h->pid <= 0)
                return;
        kill(h->pid, SIGKILL);
        waitpid(h->pid, NULL, 0);
        h->pid = 0;
        unlink(h->sock);
        rmdir(h->dir);
}

int harness_count_fds(pid_t pid) {
        char path[64];
        struct dirent *de;
        DIR *d;
        int n = 0;

        snprintf(path, sizeof(path), "/proc/%d/fd", pid ? (int) pid : (int) getpid());
        d = opendir(path);
        if (!d)
                return -errno;
        while ((de = readdir(d)))
                if (de->d_name[0] != '.')
                        n++;
        closedir(d);
        return pid ? n : n - 1; /* our own count includes the directory fd */
}

int harness_settled_fds(pid_t pid) {
        int last = harness_count_fds(pid), same = 0;

        for (int i = 0; i < 300 && same < 3; i++) {
                int n;

                sleep_ms(10);
                n = harness_count_fds(pid);
                same = n == last ? same + 1 : 0;
                last = n;
        }
        return last;
}

int harness_count_memfds(pid_t pid, const char *name) {
        char path[64], link[PATH_MAX + 1], want[PATH_MAX];
        struct dirent *de;
        DIR *d;
        int n = 0;

        snprintf(path, sizeof(path), "/proc/%d/fd", pid ? (int) pid : (int) getpid());
        if (name)
                snprintf(want, sizeof(want), "/memfd:%s (deleted)", name);
        d = opendir(path);
        if (!d)
                return -errno;
        while ((de = readdir(d))) {
                char p[PATH_MAX];
                ssize_t k;

                if (de->d_name[0] == '.')
                        continue;
                snprintf(p, sizeof(p), "%s/%s", path, de->d_name);
                k = readlink(p, link, sizeof(link) - 1);
                if (k < 0)
                        continue;
                link[k] = 0;
                if (name ? strcmp(link, want) == 0 : strncmp(link, "/memfd:", 7) == 0)
                        n++;
        }
        closedir(d);
        return n;
}

bool harness_memfd_anywhere(const char *name) {
        struct dirent *de;
        DIR *d = opendir("/proc");
        bool found = false;

        if (!d)
                return false;
        while (!found && (de = readdir(d))) {
                char maps[300], line[PATH_MAX + 256], want[PATH_MAX];
                FILE *f;

                if (de->d_name[0] < '1' || de->d_name[0] > '9')
                        continue;
                if (harness_count_memfds(atoi(de->d_name), name) > 0) {
                        found = true;
                        break;
                }
                /* A mapping keeps the memory alive as well as an fd does. */
                snprintf(maps, sizeof(maps), "/proc/%s/maps", de->d_name);
                snprintf(want, sizeof(want), "/memfd:%s (deleted)", name);
                f = fopen(maps, "re");
                if (!f)
                        continue;
                while (fgets(line, sizeof(line), f))
                        if (strstr(line, want)) {
                                found = true;
                                break;
                        }
                fclose(f);
        }
        closedir(d);
        return found;
}

uint64_t harness_shmem_kib(void) {
        char line[256];
        uint64_t v = 0;
        FILE *f = fopen("/proc/meminfo", "re");

        if (!f)
                return 0;
        while (fgets(line, sizeof(line), f))
                if (sscanf(line, "Shmem: %lu kB", &v) == 1)
                        break;
        fclose(f);
        return v;
}

static void drain(int fd, char *buf, size_t size, size_t *len) {
        for (;;) {
                char tmp[4096];
                ssize_t n = read(fd, tmp, sizeof(tmp));
                if (n <= 0)
                        return;
                if (buf && *len + 1 < size) {
                        size_t k = (size_t) n < size - 1 - *len ? (size_t) n : size - 1 - *len;
                        memcpy(buf + *len, tmp, k);
                        *len += k;
                        buf[*len] = 0;
                }
        }
}

int harness_run(const char *const *argv, const char *input, char *out, size_t size, char *err,
                size_t esize) {
        int in_pipe[2], out_pipe[2], err_pipe[2], status;
        size_t olen = 0, elen = 0;
        pid_t pid;

        if (out && size)
                out[0] = 0;
        if (err && esize)
                err[0] = 0;
        if (pipe2(in_pipe, O_CLOEXEC) < 0 || pipe2(out_pipe, O_CLOEXEC) < 0 ||
            pipe2(err_pipe, O_CLOEXEC) < 0)
                return -2;
        pid = fork();
        if (pid == 0) {
                dup2(in_pipe[0], 0);
                dup2(out_pipe[1], 1);
                dup2(err_pipe[1], 2);
                execv(argv[0], (char *const *) argv);
                _exit(127);
        }
        close(in_pipe[0]);
        close(out_pipe[1]);
        close(err_pipe[1]);
        if (input) {
                size_t n = strlen(input);
                /* Inputs are small; a pipe holds 64 KiB. */
                /* The child may not read it all; its exit status tells. */
                (void) !write(in_pipe[1], input, n);
        }
        close(in_pipe[1]);
        drain(out_pipe[0], out, size, &olen);
        drain(err_pipe[0], err, esize, &elen);
        close(out_pipe[0]);
        close(err_pipe[0]);
        waitpid(pid, &status, 0);
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int harness_tcp_sink(void) {
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), small = 4096;

        if (fd < 0)
                return -errno;
        if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)) < 0 ||
            bind(fd, (struct sockaddr *) &a, sizeof(a)) < 0 || listen(fd, 256) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

int harness_lingering_socket(int sink, int linger_sec) {
        static const char junk[4096];
        struct sockaddr_in a;
        socklen_t len = sizeof(a);
        struct linger lg = { .l_onoff = 1, .l_linger = linger_sec };
        int fd, small = 4096, queued = 0, r;

        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (getsockname(sink, (struct sockaddr *) &a, &len) < 0 ||
            setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)) < 0 ||
            connect(fd, (struct sockaddr *) &a, sizeof(a)) < 0 ||
            setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) < 0)
                goto fail;
        /* Fill the peer's window, then our send buffer, until nothing moves. */
        for (int idle = 0; idle < 2;) {
                if (send(fd, junk, sizeof(junk), MSG_DONTWAIT | MSG_NOSIGNAL) > 0) {
                        idle = 0;
                        continue;
                }
                if (errno != EAGAIN)
                        goto fail;
                idle++;
                sleep_ms(2);
        }
        if (ioctl(fd, SIOCOUTQ, &queued) < 0)
                goto fail;
        if (queued == 0) { /* nothing to wait for: the close would not linger */
                errno = EIO;
                goto fail;
        }
        return fd;
fail:
        r = -errno;
        close(fd);
        return r;
}

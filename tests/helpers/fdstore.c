/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fdstore — a stand-in for systemd's socket activation, notify socket and
 * fd store, with Restart=on-failure. See fdstore.h.
 *
 * One thread does everything that a service manager does on its own: it
 * takes in notifications, reaps lmmd (after the notifications it sent, as
 * systemd orders its event sources) and starts it again. The test's calls
 * take the same lock, so that the store never changes under them.
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/kcmp.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fdstore.h"
#include "harness.h"

#define STORE_MAX 65536
#define ARGS_MAX 64

extern char **environ;

typedef struct stored {
        char name[256];
        int fd;
} stored;

struct fdstore {
        pthread_t thread;
        pthread_mutex_t lock;
        pthread_cond_t cond;
        int listen_fd, notify_fd, wake_fd;
        char dir[64], sock[128], notify_path[128];
        const char *argv[ARGS_MAX];
        int log_fd;

        pid_t pid; /* the lmmd that runs, 0: none */
        int pidfd;
        bool child_ready;
        unsigned starts_ready;
        int last_status;
        bool hold, stopping, quit;

        stored *store;
        size_t n_store;

        char kill_line[64];
        unsigned kill_left;
        bool killed_on;

        uint64_t sync_req, sync_done;
};

/* ---------------------------------------------------------------- the store */

static bool same_file(int a, int b) {
        return syscall(SYS_kcmp, getpid(), getpid(), KCMP_FILE, a, b) == 0;
}

/* store_add() - keep @fd (consumed) under @name, once per open file (systemd's rule). */
static void store_add(fdstore *s, const char *name, int fd) {
        for (size_t i = 0; i < s->n_store; i++)
                if (same_file(s->store[i].fd, fd)) {
                        close(fd);
                        return;
                }
        if (s->n_store == STORE_MAX) {
                close(fd);
                return;
        }
        s->store = realloc(s->store, (s->n_store + 1) * sizeof(*s->store));
        if (!s->store)
                abort();
        snprintf(s->store[s->n_store].name, sizeof(s->store[0].name), "%s", name);
        s->store[s->n_store++].fd = fd;
}

static void store_remove(fdstore *s, const char *name) {
        size_t k = 0;

        for (size_t i = 0; i < s->n_store; i++) {
                if (strcmp(s->store[i].name, name) == 0)
                        close(s->store[i].fd);
                else
                        s->store[k++] = s->store[i];
        }
        s->n_store = k;
}

static bool name_ok(const char *name) {
        size_t n = strlen(name);

        if (n == 0 || n > 255)
                return false;
        for (size_t i = 0; i < n; i++)
                if ((unsigned char) name[i] < 0x20 || name[i] == 0x7f || name[i] == ':')
                        return false;
        return true;
}

/* ---------------------------------------------------------------- lmmd */

/* start_child() - fork and exec lmmd with the socket, then the store, from fd 3 on. */
static int start_child(fdstore *s) {
        size_t n = 1 + s->n_store, names_len = sizeof("LISTEN_FDNAMES=lmmd.socket");
        char **env, *names, listen_fds[32], listen_pid[32] = "LISTEN_PID=", notify[160];
        int *src, *high, maxfd = 2, k = 0;
        pid_t pid;

        for (size_t i = 0; i < s->n_store; i++)
                names_len += strlen(s->store[i].name) + 1;
        names = malloc(names_len);
        src = calloc(n, sizeof(int));
        high = calloc(n, sizeof(int));
        env = calloc(8 + 1024, sizeof(char *));
        if (!names || !src || !high || !env)
                abort();
        strcpy(names, "LISTEN_FDNAMES=lmmd.socket");
        src[0] = s->listen_fd;
        for (size_t i = 0; i < s->n_store; i++) {
                strcat(strcat(names, ":"), s->store[i].name);
                src[i + 1] = s->store[i].fd;
        }
        for (size_t i = 0; i < n; i++)
                maxfd = src[i] > maxfd ? src[i] : maxfd;
        snprintf(listen_fds, sizeof(listen_fds), "LISTEN_FDS=%zu", n);
        snprintf(notify, sizeof(notify), "NOTIFY_SOCKET=%s", s->notify_path);
        for (char **e = environ; *e && k < 1024; e++)
                if (strncmp(*e, "LISTEN_", 7) != 0 && strncmp(*e, "NOTIFY_SOCKET=", 14) != 0)
                        env[k++] = *e;
        env[k++] = notify;
        env[k++] = listen_fds;
        env[k++] = names;
        env[k++] = listen_pid;
        env[k] = NULL;

        pid = fork();
        if (pid < 0) {
                int r = -errno;
                free(names), free(src), free(high), free(env);
                return r;
        }
        if (pid == 0) {
                /* Only async-signal-safe calls from here on. */
                int base = (maxfd > (int) (2 + n) ? maxfd : (int) (2 + n)) + 1;
                char digits[16];
                int nd = 0;

                if (s->log_fd >= 0 && dup2(s->log_fd, STDERR_FILENO) < 0)
                        _exit(126);
                for (size_t i = 0; i < n; i++) {
                        high[i] = fcntl(src[i], F_DUPFD, base);
                        if (high[i] < 0)
                                _exit(125);
                }
                for (size_t i = 0; i < n; i++)
                        if (dup2(high[i], (int) (3 + i)) < 0)
                                _exit(125);
                close_range((unsigned) (3 + n), ~0U, 0);
                for (pid_t p = getpid(); p > 0; p /= 10)
                        digits[nd++] = (char) ('0' + p % 10);
                for (int i = 0; i < nd; i++)
                        listen_pid[11 + i] = digits[nd - 1 - i];
                listen_pid[11 + nd] = 0;
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                execve(s->argv[0], (char *const *) s->argv, env);
                _exit(127);
        }
        free(names), free(src), free(high), free(env);
        s->pid = pid;
        s->pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
        s->child_ready = false;
        if (s->pidfd < 0)
                abort();
        return 0;
}

static void kill_child(fdstore *s, int sig) {
        if (s->pid > 0)
                (void) syscall(SYS_pidfd_send_signal, s->pidfd, sig, NULL, 0);
}

/* ---------------------------------------------------------------- notifications */

static void handle_message(fdstore *s, char *buf, const int *fds, size_t n_fds) {
        bool ready = false, store = false, remove = false;
        const char *name = NULL;
        char *save = NULL;

        for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                if (strcmp(line, "READY=1") == 0)
                        ready = true;
                else if (strcmp(line, "FDSTORE=1") == 0)
                        store = true;
                else if (strcmp(line, "FDSTOREREMOVE=1") == 0)
                        remove = true;
                else if (strncmp(line, "FDNAME=", 7) == 0)
                        name = line + 7;
                if (s->kill_line[0] && strcmp(line, s->kill_line) == 0 && --s->kill_left == 0) {
                        s->kill_line[0] = 0;
                        s->killed_on = true;
                        kill_child(s, SIGKILL);
                }
        }
        if (ready && !s->child_ready) {
                s->child_ready = true;
                s->starts_ready++;
        }
        if (store && (!name || name_ok(name)))
                for (size_t i = 0; i < n_fds; i++)
                        store_add(s, name ?: "stored", fds[i]);
        else
                for (size_t i = 0; i < n_fds; i++)
                        close(fds[i]);
        if (remove && name)
                store_remove(s, name);
}

static void drain_notify(fdstore *s) {
        for (;;) {
                char buf[4097];
                union {
                        struct cmsghdr h;
                        uint8_t b[CMSG_SPACE(sizeof(int) * 253)];
                } cm;
                struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) - 1 };
                struct msghdr mh = { .msg_iov = &iov,
                                     .msg_iovlen = 1,
                                     .msg_control = &cm,
                                     .msg_controllen = sizeof(cm) };
                int fds[253];
                size_t n_fds = 0;
                ssize_t n = recvmsg(s->notify_fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

                if (n < 0)
                        return;
                for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
                        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
                                size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                                memcpy(fds + n_fds, CMSG_DATA(c), k * sizeof(int));
                                n_fds += k;
                        }
                buf[n] = 0;
                handle_message(s, buf, fds, n_fds);
        }
}

/* reap() - lmmd died: its notifications first, then its status, then maybe a new one. */
static void reap(fdstore *s) {
        int status = 0;

        drain_notify(s);
        (void) waitpid(s->pid, &status, 0);
        close(s->pidfd);
        s->pidfd = -1;
        s->pid = 0;
        s->last_status = status;
        if (s->hold || s->stopping || s->quit || (WIFEXITED(status) && WEXITSTATUS(status) == 0))
                return;
        (void) start_child(s);
}

static void *thread_main(void *arg) {
        fdstore *s = arg;

        pthread_mutex_lock(&s->lock);
        while (!s->quit) {
                struct pollfd p[3] = {
                        { .fd = s->notify_fd, .events = POLLIN },
                        { .fd = s->wake_fd, .events = POLLIN },
                        { .fd = s->pidfd, .events = POLLIN },
                };
                uint64_t req, v;

                pthread_mutex_unlock(&s->lock);
                (void) poll(p, s->pidfd >= 0 ? 3 : 2, -1);
                pthread_mutex_lock(&s->lock);
                if (p[1].revents)
                        (void) eventfd_read(s->wake_fd, &v);
                req = s->sync_req;
                drain_notify(s);
                if (s->pidfd >= 0 && p[2].fd == s->pidfd && p[2].revents)
                        reap(s);
                s->sync_done = req;
                pthread_cond_broadcast(&s->cond);
        }
        if (s->pid > 0) {
                kill_child(s, SIGKILL);
                reap(s);
        }
        pthread_cond_broadcast(&s->cond);
        pthread_mutex_unlock(&s->lock);
        return NULL;
}

static void wake(fdstore *s) {
        (void) eventfd_write(s->wake_fd, 1);
}

/* wait_until() - with the lock held, wait for @pred or @timeout_ms. Return: 0, -ETIMEDOUT. */
#define wait_until(s, pred, timeout_ms)                                            \
        ({                                                                         \
                struct timespec _t;                                                \
                int _r = 0;                                                        \
                clock_gettime(CLOCK_REALTIME, &_t);                                \
                _t.tv_sec += (timeout_ms) / 1000;                                  \
                _t.tv_nsec += ((timeout_ms) % 1000) * 1000000L;                    \
                if (_t.tv_nsec >= 1000000000L) {                                   \
                        _t.tv_sec++;                                               \
                        _t.tv_nsec -= 1000000000L;                                 \
                }                                                                  \
                while (!(pred) && _r == 0)                                         \
                        _r = -pthread_cond_timedwait(&(s)->cond, &(s)->lock, &_t); \
                (pred) ? 0 : -ETIMEDOUT;                                           \
        })

/* ---------------------------------------------------------------- the test's calls */

static int bind_unix(int type, const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd;

        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                int r = -errno;
                if (fd >= 0)
                        close(fd);
                return r;
        }
        return fd;
}

int fdstore_start(const fdstore_opts *o, fdstore **ret) {
        fdstore *s = calloc(1, sizeof(*s));
        size_t k = 0;
        int r;

        if (!s)
                return -ENOMEM;
        s->listen_fd = s->notify_fd = s->wake_fd = s->pidfd = -1;
        s->log_fd = o && o->log_fd >= 0 ? o->log_fd : -1;
        s->argv[k++] = harness_getenv("LMMD");
        for (const char *const *a = o ? o->args : NULL; a && *a && k < ARGS_MAX - 1; a++)
                s->argv[k++] = *a;
        s->argv[k] = NULL;
        pthread_mutex_init(&s->lock, NULL);
        pthread_cond_init(&s->cond, NULL);
        snprintf(s->dir, sizeof(s->dir), "/tmp/lmm-fdstore-XXXXXX");
        if (!mkdtemp(s->dir)) {
                free(s);
                return -errno;
        }
        snprintf(s->sock, sizeof(s->sock), "%s/lmmd.sock", s->dir);
        snprintf(s->notify_path, sizeof(s->notify_path), "%s/notify", s->dir);
        s->listen_fd = bind_unix(SOCK_SEQPACKET, s->sock);
        s->notify_fd = bind_unix(SOCK_DGRAM | SOCK_NONBLOCK, s->notify_path);
        s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        /* As a system lmmd.socket has it: other uids may reach it (lmmd decides who is served). */
        if (s->listen_fd < 0 || s->notify_fd < 0 || s->wake_fd < 0 || chmod(s->dir, 0755) < 0 ||
            chmod(s->sock, 0666) < 0 || listen(s->listen_fd, SOMAXCONN) < 0) {
                r = s->listen_fd < 0 ? s->listen_fd : s->notify_fd < 0 ? s->notify_fd : -EIO;
                goto fail;
        }
        pthread_mutex_lock(&s->lock);
        r = start_child(s);
        pthread_mutex_unlock(&s->lock);
        if (r < 0)
                goto fail;
        r = -pthread_create(&s->thread, NULL, thread_main, s);
        if (r < 0) {
                kill(s->pid, SIGKILL);
                waitpid(s->pid, NULL, 0);
                goto fail;
        }
        r = fdstore_wait_ready(s, 1, 10000);
        if (r < 0) {
                fdstore_free(s);
                return r;
        }
        *ret = s;
        return 0;
fail:
        if (s->listen_fd >= 0)
                close(s->listen_fd);
        if (s->notify_fd >= 0)
                close(s->notify_fd);
        if (s->wake_fd >= 0)
                close(s->wake_fd);
        unlink(s->sock);
        unlink(s->notify_path);
        rmdir(s->dir);
        free(s);
        return r;
}

void fdstore_free(fdstore *s) {
        if (!s)
                return;
        pthread_mutex_lock(&s->lock);
        s->quit = true;
        pthread_mutex_unlock(&s->lock);
        wake(s);
        pthread_join(s->thread, NULL);
        for (size_t i = 0; i < s->n_store; i++)
                close(s->store[i].fd);
        free(s->store);
        close(s->listen_fd);
        close(s->notify_fd);
        close(s->wake_fd);
        unlink(s->sock);
        unlink(s->notify_path);
        rmdir(s->dir);
        pthread_cond_destroy(&s->cond);
        pthread_mutex_destroy(&s->lock);
        free(s);
}

const char *fdstore_socket(const fdstore *s) {
        return s->sock;
}

pid_t fdstore_pid(fdstore *s) {
        pid_t pid;

        pthread_mutex_lock(&s->lock);
        pid = s->pid;
        pthread_mutex_unlock(&s->lock);
        return pid;
}

unsigned fdstore_starts(fdstore *s) {
        unsigned n;

        pthread_mutex_lock(&s->lock);
        n = s->starts_ready;
        pthread_mutex_unlock(&s->lock);
        return n;
}

int fdstore_wait_ready(fdstore *s, unsigned starts, int timeout_ms) {
        int r;

        pthread_mutex_lock(&s->lock);
        r = wait_until(s, s->starts_ready >= starts, timeout_ms);
        pthread_mutex_unlock(&s->lock);
        return r;
}

int fdstore_kill(fdstore *s) {
        int r = 0;

        pthread_mutex_lock(&s->lock);
        if (s->pid > 0)
                kill_child(s, SIGKILL);
        else
                r = -ESRCH;
        pthread_mutex_unlock(&s->lock);
        return r;
}

void fdstore_kill_on(fdstore *s, const char *line, unsigned nth) {
        pthread_mutex_lock(&s->lock);
        snprintf(s->kill_line, sizeof(s->kill_line), "%s", line);
        s->kill_left = nth;
        s->killed_on = false;
        pthread_mutex_unlock(&s->lock);
}

bool fdstore_killed_on(fdstore *s) {
        bool k;

        pthread_mutex_lock(&s->lock);
        k = s->killed_on;
        s->kill_line[0] = 0; /* disarmed, if it had not fired */
        pthread_mutex_unlock(&s->lock);
        return k;
}

void fdstore_hold(fdstore *s, bool hold) {
        pthread_mutex_lock(&s->lock);
        s->hold = hold;
        pthread_mutex_unlock(&s->lock);
}

int fdstore_wait_dead(fdstore *s, int timeout_ms) {
        int r;

        pthread_mutex_lock(&s->lock);
        r = wait_until(s, s->pid == 0, timeout_ms);
        if (r == 0)
                r = s->last_status;
        pthread_mutex_unlock(&s->lock);
        return r;
}

int fdstore_restart(fdstore *s, int timeout_ms) {
        unsigned want;
        int r = 0;

        pthread_mutex_lock(&s->lock);
        want = s->starts_ready + 1;
        if (s->pid == 0)
                r = start_child(s);
        pthread_mutex_unlock(&s->lock);
        wake(s); /* its pidfd is one more fd to watch */
        return r < 0 ? r : fdstore_wait_ready(s, want, timeout_ms);
}

void fdstore_sync(fdstore *s) {
        uint64_t req;

        pthread_mutex_lock(&s->lock);
        req = ++s->sync_req;
        wake(s);
        (void) wait_until(s, s->sync_done >= req, 10000);
        pthread_mutex_unlock(&s->lock);
}

size_t fdstore_list(fdstore *s, fdstore_entry **ret) {
        fdstore_entry *e;
        size_t n;

        pthread_mutex_lock(&s->lock);
        n = s->n_store;
        e = calloc(n ? n : 1, sizeof(*e));
        if (!e)
                abort();
        for (size_t i = 0; i < n; i++) {
                struct stat st = {};

                (void) fstat(s->store[i].fd, &st);
                snprintf(e[i].name, sizeof(e[i].name), "%s", s->store[i].name);
                e[i].dev = (uint64_t) st.st_dev;
                e[i].ino = (uint64_t) st.st_ino;
        }
        pthread_mutex_unlock(&s->lock);
        *ret = e;
        return n;
}

int fdstore_take(fdstore *s, const char *name) {
        int fd = -ENOENT;

        pthread_mutex_lock(&s->lock);
        for (size_t i = 0; i < s->n_store; i++)
                if (strcmp(s->store[i].name, name) == 0) {
                        fd = s->store[i].fd;
                        memmove(&s->store[i], &s->store[i + 1],
                                (s->n_store - i - 1) * sizeof(*s->store));
                        s->n_store--;
                        break;
                }
        pthread_mutex_unlock(&s->lock);
        return fd;
}

void fdstore_put(fdstore *s, const char *name, int fd) {
        pthread_mutex_lock(&s->lock);
        store_add(s, name, fd);
        pthread_mutex_unlock(&s->lock);
}

int fdstore_stop(fdstore *s, int timeout_ms) {
        int r;

        pthread_mutex_lock(&s->lock);
        s->stopping = true;
        if (s->pid > 0)
                kill_child(s, SIGTERM);
        r = wait_until(s, s->pid == 0, timeout_ms);
        if (r == 0)
                r = WIFEXITED(s->last_status) ? WEXITSTATUS(s->last_status) : -1;
        pthread_mutex_unlock(&s->lock);
        return r;
}

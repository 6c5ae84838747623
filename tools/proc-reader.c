/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * proc-reader — see proc-reader.h. One worker thread per reader, handed one
 * call at a time under a mutex; the caller waits on a condition variable with
 * a CLOCK_MONOTONIC deadline. The state both share lives in a refcounted
 * struct, so that a worker the caller gave up on can still finish (or stay
 * stuck) without touching anything the caller owns.
 */

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "proc-reader.h"
#include "util.h"

#define CHUNK 65536
#define WORKER_STACK (256 * 1024)

typedef enum op { OP_NONE, OP_OPEN, OP_READ, OP_READ_FILE, OP_READLINKS, OP_QUIT } op;

/* What a caller and its worker share; freed by whichever lets go last. */
typedef struct worker {
        pthread_t thread;
        pthread_mutex_t lock;
        pthread_cond_t cond; /* a call posted, or its answer ready */
        unsigned refs;
        op op;          /* the call posted; OP_NONE once the worker took it */
        bool done;      /* result answers the last call */
        bool abandoned; /* the caller gave up waiting */
        int fd;         /* the directory, or the file to read: a copy the worker closes */
        int flags;
        size_t size;
        ssize_t result;
        atomic_ulong progress; /* bumped by a call that does many steps */
        char *out;             /* OP_READ_FILE, OP_READLINKS: handed over with the answer */
        size_t out_size;
        char path[PATH_MAX];
        char buf[CHUNK];
} worker;

struct proc_reader {
        unsigned stall_ms;
        worker *w; /* NULL before the first call and after one was abandoned */
};

/* Workers abandoned while stuck, over the whole process. */
static atomic_uint n_stuck;

static void worker_unref(worker *w) {
        bool last;

        pthread_mutex_lock(&w->lock);
        last = --w->refs == 0;
        pthread_mutex_unlock(&w->lock);
        if (!last)
                return;
        pthread_cond_destroy(&w->cond);
        pthread_mutex_destroy(&w->lock);
        free(w->out);
        free(w);
}

/* Room for @need more bytes in w->out, which has *allocated. */
static int out_reserve(worker *w, size_t *allocated, size_t need) {
        size_t a;
        char *p;

        if (w->out_size + need <= *allocated)
                return 0;
        a = MAX(*allocated * 2, w->out_size + need);
        p = realloc(w->out, a);
        if (!p)
                return -ENOMEM;
        w->out = p;
        *allocated = a;
        return 0;
}

/* Append @name and @target, each NUL-terminated, to w->out. */
static int out_append(worker *w, size_t *allocated, const char *name, const char *target) {
        size_t n = strlen(name) + 1, t = strlen(target) + 1;
        int r = out_reserve(w, allocated, n + t);

        if (r < 0)
                return r;
        memcpy(w->out + w->out_size, name, n);
        memcpy(w->out + w->out_size + n, target, t);
        w->out_size += n + t;
        return 0;
}

/* OP_READ_FILE: the whole file, NUL-terminated, into w->out. */
static int do_read_file(worker *w) {
        size_t allocated = 0;
        int fd, r = 0;

        fd = openat(w->fd, w->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return negative_errno();
        for (;;) {
                ssize_t n;

                r = out_reserve(w, &allocated, CHUNK + 1);
                if (r < 0)
                        break;
                n = read(fd, w->out + w->out_size, CHUNK);
                atomic_fetch_add(&w->progress, 1);
                if (n <= 0) {
                        r = n < 0 ? negative_errno() : 0;
                        break;
                }
                w->out_size += (size_t) n;
        }
        safe_close(fd);
        if (r >= 0)
                w->out[w->out_size] = 0;
        return r;
}

/* OP_READLINKS, into w->out. Each readlink() may wait on the other process's locks. */
static int do_readlinks(worker *w) {
        size_t allocated = 0;
        struct dirent *de;
        DIR *d;
        int dfd, r = 0;

        dfd = openat(w->fd, w->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return negative_errno();
        d = fdopendir(dfd);
        if (!d) {
                safe_close(dfd);
                return negative_errno();
        }
        while (r >= 0 && (de = readdir(d))) {
                char target[PATH_MAX + 1];
                ssize_t k;

                if (de->d_name[0] == '.')
                        continue;
                k = readlinkat(dfd, de->d_name, target, sizeof(target) - 1);
                atomic_fetch_add(&w->progress, 1);
                if (k < 0) {
                        if (errno == EACCES || errno == EPERM)
                                r = negative_errno();
                        continue; /* gone meanwhile */
                }
                target[k] = 0;
                r = out_append(w, &allocated, de->d_name, target);
        }
        closedir(d);
        return r;
}

static void *worker_main(void *arg) {
        worker *w = arg;

        pthread_mutex_lock(&w->lock);
        for (;;) {
                ssize_t r;
                op o;

                while (w->op == OP_NONE)
                        pthread_cond_wait(&w->cond, &w->lock);
                o = w->op;
                if (o == OP_QUIT)
                        break;
                /* The caller touches none of the call's fields until done is set. */
                pthread_mutex_unlock(&w->lock);
                if (o == OP_OPEN)
                        r = openat(w->fd, w->path, w->flags | O_CLOEXEC);
                else if (o == OP_READ)
                        r = read(w->fd, w->buf, w->size);
                else if (o == OP_READ_FILE)
                        r = do_read_file(w);
                else
                        r = do_readlinks(w);
                if (r < 0 && (o == OP_OPEN || o == OP_READ))
                        r = negative_errno();
                w->fd = safe_close(w->fd);
                pthread_mutex_lock(&w->lock);
                w->op = OP_NONE;
                if (w->abandoned) {
                        /* Came back after all: nobody wants the answer. */
                        if (o == OP_OPEN && r >= 0)
                                safe_close((int) r);
                        free(TAKE_PTR(w->out));
                        atomic_fetch_sub(&n_stuck, 1);
                        break;
                }
                w->result = r;
                w->done = true;
                pthread_cond_broadcast(&w->cond);
        }
        pthread_mutex_unlock(&w->lock);
        worker_unref(w);
        return NULL;
}

static int worker_new(worker **ret) {
        _cleanup_free_ worker *w = calloc(1, sizeof(*w));
        pthread_condattr_t ca;
        pthread_attr_t ta;
        sigset_t all, saved;
        int r;

        if (!w)
                return -ENOMEM;
        w->refs = 2; /* the caller's and the worker's */
        w->fd = -EBADF;
        pthread_mutex_init(&w->lock, NULL);
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&w->cond, &ca);
        pthread_condattr_destroy(&ca);

        /* No signal for the worker: it must never be the thread a handler or a signalfd's
         * caller expects to run on, and its syscalls never see EINTR. */
        pthread_attr_init(&ta);
        pthread_attr_setstacksize(&ta, WORKER_STACK);
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &saved);
        r = pthread_create(&w->thread, &ta, worker_main, w);
        pthread_sigmask(SIG_SETMASK, &saved, NULL);
        pthread_attr_destroy(&ta);
        if (r != 0) {
                pthread_cond_destroy(&w->cond);
                pthread_mutex_destroy(&w->lock);
                return -r;
        }
        *ret = TAKE_PTR(w);
        return 0;
}

unsigned proc_reader_stuck(void) {
        return atomic_load(&n_stuck);
}

int proc_reader_new(unsigned stall_ms, proc_reader **ret) {
        proc_reader *r = calloc(1, sizeof(*r));

        if (!r)
                return -ENOMEM;
        r->stall_ms = stall_ms;
        *ret = r;
        return 0;
}

proc_reader *proc_reader_free(proc_reader *r) {
        if (!r)
                return NULL;
        if (r->w) {
                pthread_mutex_lock(&r->w->lock);
                r->w->op = OP_QUIT;
                pthread_cond_broadcast(&r->w->cond);
                pthread_mutex_unlock(&r->w->lock);
                pthread_join(r->w->thread, NULL);
                worker_unref(r->w);
        }
        free(r);
        return NULL;
}

static void deadline_after(struct timespec *t, unsigned ms) {
        clock_gettime(CLOCK_MONOTONIC, t);
        t->tv_sec += ms / 1000;
        t->tv_nsec += (long) (ms % 1000) * 1000000;
        if (t->tv_nsec >= 1000000000) {
                t->tv_sec++;
                t->tv_nsec -= 1000000000;
        }
}

/* Hand one call to the worker and wait while it makes progress, each step at most stall_ms.
 * @fd is borrowed: the worker gets a copy. On success, OP_READ's bytes are copied to @buf,
 * and OP_READ_FILE's or OP_READLINKS's buffer handed over in *ret_out. */
static ssize_t call(proc_reader *r, op o, int fd, const char *path, int flags, void *buf,
                    size_t size, char **ret_out, size_t *ret_out_size) {
        struct timespec deadline;
        unsigned long progress;
        pthread_t thread;
        ssize_t result;
        worker *w;
        int copy, e = 0;

        if (path && strlen(path) >= PATH_MAX)
                return -ENAMETOOLONG;
        if (!r->w) {
                /* Too many left stuck already: stop feeding the system threads. */
                if (atomic_load(&n_stuck) >= PROC_READER_MAX_STUCK)
                        return -ETIMEDOUT;
                e = worker_new(&r->w);
                if (e < 0)
                        return e;
        }
        w = r->w;
        copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (copy < 0)
                return negative_errno();

        pthread_mutex_lock(&w->lock);
        w->op = o;
        w->fd = copy;
        w->flags = flags;
        w->size = MIN(size, sizeof(w->buf));
        w->out_size = 0; /* w->out is NULL: every answer's is taken or freed */
        if (path)
                memcpy(w->path, path, strlen(path) + 1);
        w->done = false;
        pthread_cond_broadcast(&w->cond);
        progress = atomic_load(&w->progress);
        deadline_after(&deadline, r->stall_ms);
        for (e = 0; !w->done;) {
                e = pthread_cond_timedwait(&w->cond, &w->lock, &deadline);
                if (e != ETIMEDOUT || w->done)
                        continue;
                if (atomic_load(&w->progress) == progress)
                        break;
                /* Slow but moving (a process with very many fds): wait for the next step. */
                progress = atomic_load(&w->progress);
                deadline_after(&deadline, r->stall_ms);
        }
        if (!w->done) {
                /* Stuck in the kernel, on the other process's behalf: leave it there. */
                w->abandoned = true;
                atomic_fetch_add(&n_stuck, 1);
                thread = w->thread;
                pthread_mutex_unlock(&w->lock);
                pthread_detach(thread);
                worker_unref(w);
                r->w = NULL;
                return -ETIMEDOUT;
        }
        result = w->result;
        if (o == OP_READ && result > 0)
                memcpy(buf, w->buf, (size_t) result);
        if (o == OP_READ_FILE || o == OP_READLINKS) {
                if (result >= 0) {
                        *ret_out = TAKE_PTR(w->out);
                        *ret_out_size = w->out_size;
                }
                free(TAKE_PTR(w->out));
        }
        pthread_mutex_unlock(&w->lock);
        return result;
}

int proc_reader_open(proc_reader *r, int dirfd, const char *path, int flags) {
        if (!r || !path)
                return -EINVAL;
        return (int) call(r, OP_OPEN, dirfd, path, flags, NULL, 0, NULL, NULL);
}

ssize_t proc_reader_read(proc_reader *r, int fd, void *buf, size_t size) {
        if (!r || !buf)
                return -EINVAL;
        return call(r, OP_READ, fd, NULL, 0, buf, size, NULL, NULL);
}

int proc_reader_read_file(proc_reader *r, int dirfd, const char *path, char **ret,
                          size_t *ret_size) {
        if (!r || !path || !ret || !ret_size)
                return -EINVAL;
        return (int) call(r, OP_READ_FILE, dirfd, path, 0, NULL, 0, ret, ret_size);
}

int proc_reader_readlinks(proc_reader *r, int dirfd, const char *path, char **ret,
                          size_t *ret_size) {
        if (!r || !path || !ret || !ret_size)
                return -EINVAL;
        return (int) call(r, OP_READLINKS, dirfd, path, 0, NULL, 0, ret, ret_size);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * closer — fds closed off the serving thread, by a pool that cannot be
 * wedged for good. See closer.h.
 *
 * One lock guards the queue, the fds being closed, the closed ones whose
 * charges wait, and the counts. The caller's thread takes it only to append
 * or to collect, never while anything waits on a peer: workers drop it
 * around close().
 */

#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <time.h>

#include "closer.h"
#include "util.h"

/* Workers at most. Each wedged one costs a thread (a small stack and a task),
 * never an fd; past this, fds wait in the queue, counted against their uids. */
#define CLOSER_WORKERS_MAX 32
/* Workers that one user's fds may occupy at a time, so that one uid (even a
 * refused one) wedges a few workers, not the pool. */
#define CLOSER_WORKERS_PER_USER 4
/* No fd taken for this long while fds wait: every worker is stuck in a
 * close(), start another. */
#define CLOSER_STUCK_NSEC (10 * 1000 * 1000)
/* A worker idle for this long ends, unless it is the last. */
#define CLOSER_IDLE_NSEC (2 * UINT64_C(1000000000))
/* A worker calls close() and little else. */
#define CLOSER_STACK_SIZE (256 * 1024)

typedef struct closer_item {
        struct closer_item *next;
        int fd;
        const user *owner;  /* whose workers close it; compared, never dereferenced here */
        user_charge charge; /* released on the caller's thread only */
} closer_item;

struct closer {
        pthread_mutex_t lock;
        pthread_cond_t work;  /* workers: an fd to take, or the end */
        pthread_cond_t watch; /* the supervisor: fds wait */
        closer_item *queue, **queue_tail;
        closer_item *running; /* taken by a worker, in close() */
        closer_item *done;    /* closed; charges for closer_process() */
        unsigned n_workers, n_idle;
        uint64_t n_taken; /* fds ever taken: the supervisor's measure of progress */
        unsigned refs;    /* closer_free()'s, the supervisor's, one per worker */
        bool supervised;  /* the supervisor runs: started by the first fd, not before */
        bool stopping;
        int event_fd;
};

static void closer_destroy(closer *c) {
        safe_close(c->event_fd);
        pthread_cond_destroy(&c->work);
        pthread_cond_destroy(&c->watch);
        pthread_mutex_destroy(&c->lock);
        free(c);
}

/* unref() - drop a reference, with the lock held; the lock is released. */
static void unref(closer *c) {
        bool last = --c->refs == 0;

        pthread_mutex_unlock(&c->lock);
        if (last)
                closer_destroy(c);
}

static unsigned running_for(const closer *c, const user *owner) {
        unsigned n = 0;

        for (const closer_item *i = c->running; i; i = i->next)
                n += i->owner == owner;
        return n;
}

/* takeable() - the link to the first queued fd that a worker may take now:
 * one whose user does not occupy its share of workers already. */
static closer_item **takeable(closer *c) {
        for (closer_item **p = &c->queue; *p; p = &(*p)->next)
                if (!(*p)->owner || running_for(c, (*p)->owner) < CLOSER_WORKERS_PER_USER)
                        return p;
        return NULL;
}

static closer_item *take(closer *c) {
        closer_item **p = takeable(c), *i;

        if (!p)
                return NULL;
        i = *p;
        *p = i->next;
        if (c->queue_tail == &i->next)
                c->queue_tail = p;
        i->next = c->running;
        c->running = i;
        c->n_taken++;
        return i;
}

static void unlink_running(closer *c, closer_item *i) {
        closer_item **p = &c->running;

        while (*p != i)
                p = &(*p)->next;
        *p = i->next;
}

/* deadline() - @nsec from now on CLOCK_MONOTONIC, for pthread_cond_timedwait(). */
static struct timespec deadline(uint64_t nsec) {
        uint64_t t = now_nsec() + nsec;

        return (struct timespec){ .tv_sec = (time_t) (t / 1000000000u),
                                  .tv_nsec = (long) (t % 1000000000u) };
}

static void *worker_main(void *arg) {
        closer *c = arg;

        pthread_mutex_lock(&c->lock);
        for (;;) {
                closer_item *i = take(c);
                struct timespec t;
                int r;

                if (i) {
                        /* Leaving fds behind with no worker idle: have the
                         * supervisor watch, in case this close never ends. */
                        if (c->queue && c->n_idle == 0)
                                pthread_cond_signal(&c->watch);
                        pthread_mutex_unlock(&c->lock);
                        /* What may wait here is the file's own release,
                         * after its fd table slot was freed. */
                        safe_close(i->fd);
                        pthread_mutex_lock(&c->lock);
                        unlink_running(c, i);
                        if (c->stopping) /* closer_free() released its charge */
                                free(i);
                        else {
                                if (!c->done)
                                        (void) eventfd_write(c->event_fd, 1);
                                i->next = c->done;
                                c->done = i;
                        }
                        continue;
                }
                if (c->stopping && !c->queue)
                        break;
                c->n_idle++;
                t = deadline(CLOSER_IDLE_NSEC);
                r = pthread_cond_timedwait(&c->work, &c->lock, &t);
                c->n_idle--;
                if (r == ETIMEDOUT && c->n_workers > 1 && !takeable(c))
                        break;
        }
        c->n_workers--;
        unref(c);
        return NULL;
}

/* start_thread() - a detached thread with a small stack and every signal
 * blocked: SIGTERM must reach the loop's signalfd, never a closer's thread. */
static int start_thread(void *(*main)(void *), void *arg) {
        sigset_t all, old;
        pthread_attr_t attr;
        pthread_t t;
        int r;

        r = pthread_attr_init(&attr);
        if (r != 0)
                return -r;
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&attr, CLOSER_STACK_SIZE);
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        r = pthread_create(&t, &attr, main, arg);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        pthread_attr_destroy(&attr);
        return -r;
}

/*
 * supervisor_main() - start a worker when fds wait that a worker could take,
 * none is idle, and either there is no worker yet or none has taken an fd
 * for CLOSER_STUCK_NSEC: every one of them is then in a close() that has
 * waited that long. It never closes anything itself, so nothing a peer sent
 * can wedge it.
 */
static void *supervisor_main(void *arg) {
        closer *c = arg;
        uint64_t seen = 0, since = now_nsec();

        pthread_mutex_lock(&c->lock);
        for (;;) {
                bool waiting = takeable(c);
                struct timespec t;

                if (!c->queue && c->stopping)
                        break;
                if (c->n_taken != seen) {
                        seen = c->n_taken;
                        since = now_nsec();
                }
                if (waiting && c->n_idle == 0 && c->n_workers < CLOSER_WORKERS_MAX &&
                    (c->n_workers == 0 || now_nsec() - since >= CLOSER_STUCK_NSEC)) {
                        c->n_workers++;
                        c->refs++;
                        pthread_mutex_unlock(&c->lock);
                        if (start_thread(worker_main, c) < 0) { /* try again at the next look */
                                pthread_mutex_lock(&c->lock);
                                c->n_workers--;
                                c->refs--;
                        } else
                                pthread_mutex_lock(&c->lock);
                        since = now_nsec(); /* the new worker's turn to show progress */
                }
                if (!waiting) {
                        (void) pthread_cond_wait(&c->watch, &c->lock);
                        continue;
                }
                t = deadline(CLOSER_STUCK_NSEC);
                (void) pthread_cond_timedwait(&c->watch, &c->lock, &t);
        }
        unref(c);
        return NULL;
}

int closer_new(closer **ret) {
        pthread_condattr_t ca;
        closer *c;
        int r;

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->queue_tail = &c->queue;
        c->refs = 1; /* closer_free()'s; the supervisor takes its own when it starts */
        c->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (c->event_fd < 0) {
                r = negative_errno();
                free(c);
                return r;
        }
        pthread_mutex_init(&c->lock, NULL);
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&c->work, &ca);
        pthread_cond_init(&c->watch, &ca);
        pthread_condattr_destroy(&ca);
        *ret = c;
        return 0;
}

/*
 * supervise() - start the supervisor if it does not run yet, with the lock
 * held (it is dropped and taken again around the start). A closer that is
 * never given an fd never starts a thread: most managers' connections end
 * with nothing for it (see peer_free()), and a process with no thread but
 * its own exits sooner. When no thread can be started, the fds wait, and
 * the next closer_dispose() or closer_free() tries again.
 */
static void supervise(closer *c) {
        if (c->supervised)
                return;
        c->supervised = true;
        c->refs++;
        pthread_mutex_unlock(&c->lock);
        if (start_thread(supervisor_main, c) >= 0) {
                pthread_mutex_lock(&c->lock);
                return;
        }
        pthread_mutex_lock(&c->lock);
        c->supervised = false;
        c->refs--; /* closer_free()'s is still held */
}

int closer_get_fd(const closer *c) {
        return c->event_fd;
}

void closer_dispose(closer *c, int fd, user_charge *charge) {
        closer_item *i;

        if (fd < 0) {
                if (charge)
                        user_charge_release(charge);
                return;
        }
        i = malloc(sizeof(*i));
        if (!i) {
                /* Kept open rather than closed here, where its release could
                 * stall the caller: a leak, and only when memory is out. */
                if (charge)
                        user_charge_release(charge);
                return;
        }
        *i = (closer_item){ .fd = fd };
        if (charge) {
                i->owner = charge->user;
                i->charge = *charge;
                *charge = (user_charge){};
        }

        pthread_mutex_lock(&c->lock);
        *c->queue_tail = i;
        c->queue_tail = &i->next;
        /* An idle worker takes it; with none, the supervisor watches. */
        if (c->n_idle > 0)
                pthread_cond_signal(&c->work);
        else
                pthread_cond_signal(&c->watch);
        supervise(c);
        pthread_mutex_unlock(&c->lock);
}

static unsigned list_length(const closer_item *i) {
        unsigned n = 0;

        for (; i; i = i->next)
                n++;
        return n;
}

unsigned closer_pending(closer *c) {
        unsigned n;

        pthread_mutex_lock(&c->lock);
        n = list_length(c->queue) + list_length(c->running);
        pthread_mutex_unlock(&c->lock);
        return n;
}

unsigned closer_process(closer *c) {
        closer_item *done;
        eventfd_t v;
        unsigned n = 0;

        /* Read before collecting: a close that finishes in between finds
         * the list empty and makes the eventfd readable again. */
        (void) eventfd_read(c->event_fd, &v);
        pthread_mutex_lock(&c->lock);
        done = c->done;
        c->done = NULL;
        pthread_mutex_unlock(&c->lock);

        while (done) {
                closer_item *i = done;

                done = i->next;
                user_charge_release(&i->charge);
                free(i);
                n++;
        }
        return n;
}

closer *closer_free(closer *c) {
        if (!c)
                return NULL;
        pthread_mutex_lock(&c->lock);
        c->stopping = true;
        /* Every charge goes back now: the users it points at are about to go.
         * The fds are still closed, by the workers, and counted no more. */
        for (closer_item *i = c->queue; i; i = i->next) {
                user_charge_release(&i->charge);
                i->owner = NULL;
        }
        for (closer_item *i = c->running; i; i = i->next) {
                user_charge_release(&i->charge);
                i->owner = NULL;
        }
        while (c->done) {
                closer_item *i = c->done;

                c->done = i->next;
                user_charge_release(&i->charge);
                free(i);
        }
        pthread_cond_broadcast(&c->work);
        pthread_cond_signal(&c->watch);
        /* Fds that wait for a supervisor that could not start: one more try,
         * or they stay open for good rather than close here. */
        if (c->queue)
                supervise(c);
        unref(c);
        return NULL;
}

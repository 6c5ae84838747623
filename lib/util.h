/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * util — the bottom layer: cleanup helpers, fd ownership, and the few syscall
 * wrappers that every other module uses, plus the small pure helpers they
 * share (sizes, names, UTF-8, the monotonic clock). Every function here
 * converts libc's errno convention into a negative errno return, once, so
 * that nothing above touches errno. Every fd created here is close-on-exec
 * from birth.
 */

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

#define _public_ __attribute__((visibility("default")))
#define _unused_ __attribute__((unused))
#define _likely_(x) __builtin_expect(!!(x), 1)
#define _unlikely_(x) __builtin_expect(!!(x), 0)
#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
/* The record of type @type whose member @member is at @ptr. */
#define container_of(ptr, type, member)                      \
        ({                                                   \
                char *_member = (char *) (ptr);              \
                (type *) (_member - offsetof(type, member)); \
        })

/* Close an fd if it is valid; never retried (close() on EINTR has closed it). Return: -EBADF. */
static inline int safe_close(int fd) {
        if (fd >= 0) {
                int saved = errno;
                (void) close(fd);
                errno = saved;
        }
        return -EBADF;
}

static inline void closep(int *fd) {
        safe_close(*fd);
}
static inline void freep(void *p) {
        free(*(void **) p);
}
static inline void fclosep(FILE **f) {
        if (*f)
                fclose(*f);
}
static inline void closedirp(DIR **d) {
        if (*d)
                closedir(*d);
}

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_fclose_ _cleanup_(fclosep)
#define _cleanup_closedir_ _cleanup_(closedirp)

#define TAKE_GENERIC(var, null)                   \
        ({                                        \
                __typeof__(var) *_pvar_ = &(var); \
                __typeof__(var) _val_ = *_pvar_;  \
                *_pvar_ = (null);                 \
                _val_;                            \
        })
#define TAKE_FD(fd) TAKE_GENERIC(fd, -EBADF)
#define TAKE_PTR(p) TAKE_GENERIC(p, NULL)

/* memeqzero() - whether the @n bytes at @p are all zero. */
static inline bool memeqzero(const void *p, size_t n) {
        const unsigned char *b = p;

        for (size_t i = 0; i < n; i++)
                if (b[i])
                        return false;
        return true;
}

/*
 * OPTS_RESERVED_IS_ZERO() - whether an options struct of lmm.h (@o, not NULL)
 * leaves its reserved space zero, as docs/abi.md asks of callers: a field
 * that a newer lmm.h put there must fail on this library, not be ignored.
 */
#define OPTS_RESERVED_IS_ZERO(o)                              \
        (memeqzero((o)->reserved_, sizeof((o)->reserved_)) && \
         memeqzero((o)->reserved_ptr_, sizeof((o)->reserved_ptr_)))

/* Close every fd in @fds (borrowed array, fds consumed). */
void close_many(const int *fds, size_t n);

/* Negative errno from errno, never 0 (a libc call that failed without errno is a bug). */
static inline int negative_errno(void) {
        return errno > 0 ? -errno : -EIO;
}

/*
 * memfd_new_sealed() - an anonymous, sealable, non-executable memfd of exactly
 * @size bytes, sealed F_SEAL_SHRINK|F_SEAL_GROW. With @hugetlb the size must
 * already be a multiple of the huge page size.
 */
int memfd_new_sealed(const char *name, uint64_t size, bool hugetlb, int *ret_fd);

/*
 * memfd_new_sealed_seals() - memfd_new_sealed(), and the seals the new
 * memfd has, as F_GET_SEALS would report them (shrink, grow, and exec where
 * the kernel took MFD_NOEXEC_SEAL), known without asking: nobody else holds
 * it yet, so nobody else can have added one.
 */
int memfd_new_sealed_seals(const char *name, uint64_t size, bool hugetlb, int *ret_fd,
                           uint32_t *ret_seals);

/* fd_get_seals() - F_GET_SEALS of @fd (borrowed). Return: seals, or -EINVAL for a non-memfd. */
int fd_get_seals(int fd);

/* fd_add_seals() - F_ADD_SEALS on @fd (borrowed). */
int fd_add_seals(int fd, unsigned seals);

/* fd_is_memfd() - whether @fd (borrowed) is a memfd: a shmem or hugetlbfs file named "memfd:"
 * (where /proc is hidden: a file on the internal mount memfds live on). */
int fd_is_memfd(int fd);

/* fd_is_hugetlb() - whether @fd (borrowed) is a file on hugetlbfs (a memfd made with MFD_HUGETLB). */
int fd_is_hugetlb(int fd);

/* fd_get_size() - st_size of @fd (borrowed). */
int fd_get_size(int fd, uint64_t *ret);

/* fd_reopen() - a new open file description of @fd (borrowed) with @flags, through /proc/self/fd. */
int fd_reopen(int fd, int flags, int *ret_fd);

/* fd_is_writable() - whether @fd (borrowed) was opened for writing. Return: 0, 1 or -errno. */
int fd_is_writable(int fd);

/* hugepage_size() - the default huge page size in bytes; 0 when unknown. */
uint64_t hugepage_size(void);

/* hugepages_free_bytes() - bytes of free default-size huge pages. */
int hugepages_free_bytes(uint64_t *ret);

/* format_bytes() - "64 MiB", "1.5 GiB", "17 B". Return: @buf. */
const char *format_bytes(uint64_t n, char *buf, size_t size);

/* parse_size() - "4096", "4K", "64M", "1G", "2T" (binary units). */
int parse_size(const char *s, uint64_t *ret);

/*
 * utf8_trim_cut() - drop the UTF-8 sequence that a cut at a byte count left
 * incomplete at the end of @s (NUL-terminated), so that a cut text ends on a
 * character boundary. Bytes that are not UTF-8 are left as they are.
 * Return: the new length.
 */
size_t utf8_trim_cut(char *s);

/* name_is_valid() - 1..LMM_NAME_MAX bytes, no control characters, no '/'. */
bool name_is_valid(const char *name, size_t len);

/*
 * name_split() - a name as requests that find a block give it: "NAME", or
 * "UID/NAME" for another user's block (UID in decimal, no leading zero).
 * Return: 0 for a bare name; 1 for UID/NAME, with *ret_uid and, in
 * *ret_offset, where NAME starts; -EINVAL when it is neither.
 */
int name_split(const char *name, size_t len, uint32_t *ret_uid, size_t *ret_offset);

/* utf8_is_valid() - strict UTF-8: no overlongs, surrogates or code points past U+10FFFF. */
bool utf8_is_valid(const void *p, size_t len);

/* now_nsec(), now_usec() - CLOCK_MONOTONIC in nanoseconds, in microseconds. */
uint64_t now_nsec(void);
uint64_t now_usec(void);

/*
 * getpid_cached() - getpid(), without a syscall after the first call (a
 * syscall costs about 1 µs on a VM, and every client call asks whether it
 * runs in the process that made the client). A fork()ed child forgets the
 * cached pid through pthread_atfork(), as systemd's getpid_cached() does; a
 * child made by a raw clone() syscall, which runs no atfork handlers, would not.
 */
pid_t getpid_cached(void);

/* random_bytes() - fill @p with bytes from the kernel's random pool, never blocking (hash keys, not secrets). */
void random_bytes(void *p, size_t n);

/* close_all_fds_except() - close every fd >= 3 but those in @keep (for a forked child). */
int close_all_fds_except(const int *keep, size_t n_keep);

/* pidfd_new() - a pidfd for @pid (close-on-exec, as every pidfd). Return: the fd, -ENOSYS before Linux 5.3. */
int pidfd_new(pid_t pid);

/* pidfd_signal() - send @sig to the process behind @pidfd (borrowed). */
int pidfd_signal(int pidfd, int sig);

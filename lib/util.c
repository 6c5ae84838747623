/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * util — fd helpers, syscall wrappers and small pure helpers. See util.h for
 * the guarantees.
 */

#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <time.h>
#include <linux/magic.h>

#include "lmm.h"
#include "missing.h"
#include "util.h"

void close_many(const int *fds, size_t n) {
        for (size_t i = 0; i < n; i++)
                safe_close(fds[i]);
}

int memfd_new_sealed(const char *name, uint64_t size, bool hugetlb, int *ret_fd) {
        uint32_t seals;

        return memfd_new_sealed_seals(name, size, hugetlb, ret_fd, &seals);
}

int memfd_new_sealed_seals(const char *name, uint64_t size, bool hugetlb, int *ret_fd,
                           uint32_t *ret_seals) {
        _cleanup_close_ int fd = -EBADF;
        unsigned flags = MFD_CLOEXEC | MFD_ALLOW_SEALING | (hugetlb ? MFD_HUGETLB : 0);
        uint32_t seals = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_EXEC;

        if (size > INT64_MAX)
                return -EFBIG;

        /* flags carry MFD_CLOEXEC: close-on-exec from birth, both tries. */
        fd = memfd_create(name, flags | MFD_NOEXEC_SEAL);
        if (fd < 0 && errno == EINVAL) { /* kernel < 6.3 has no MFD_NOEXEC_SEAL */
                fd = memfd_create(name, flags);
                seals &= ~(uint32_t) F_SEAL_EXEC;
        }
        if (fd < 0)
                return negative_errno();
        /* Owner only: another uid holding a read-only fd cannot reopen it
         * read-write through /proc/self/fd. Others get their fds from the
         * manager, which opens as the owner. */
        if (fchmod(fd, 0600) < 0)
                return negative_errno();
        if (ftruncate(fd, (off_t) size) < 0)
                return negative_errno();
        if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) < 0)
                return negative_errno();

        *ret_fd = TAKE_FD(fd);
        *ret_seals = seals;
        return 0;
}

int fd_get_seals(int fd) {
        int r = fcntl(fd, F_GET_SEALS);
        return r < 0 ? negative_errno() : r;
}

int fd_add_seals(int fd, unsigned seals) {
        return fcntl(fd, F_ADD_SEALS, seals) < 0 ? negative_errno() : 0;
}

/*
 * Where /proc is hidden (a worker launched with a read-only block has an
 * empty tmpfs over it), the link cannot be read. Every memfd lives on one
 * of the kernel's internal mounts, one of tmpfs and one per huge page
 * size, never mounted anywhere: a file with the st_dev of a memfd made
 * here (of the default huge page size for hugetlbfs) is one. A memfd of
 * another huge page size is then not recognised. The st_dev found is kept,
 * so that a worker that asked once before it entered a sandbox forbidding
 * memfd_create() can still ask after.
 */
static int fd_is_memfd_without_proc(int fd, bool hugetlb) {
        static uint64_t known_dev[2]; /* 0: not known yet (no file system has st_dev 0) */
        struct stat st;
        uint64_t dev;

        if (fstat(fd, &st) < 0)
                return negative_errno();
        dev = __atomic_load_n(&known_dev[hugetlb], __ATOMIC_RELAXED);
        if (dev == 0) {
                _cleanup_close_ int probe = -EBADF;
                struct stat pst;

                probe = memfd_create("lmm-probe", MFD_CLOEXEC | (hugetlb ? MFD_HUGETLB : 0));
                if (probe < 0)
                        return hugetlb ? 0 : negative_errno();
                if (fstat(probe, &pst) < 0)
                        return negative_errno();
                dev = (uint64_t) pst.st_dev;
                __atomic_store_n(&known_dev[hugetlb], dev, __ATOMIC_RELAXED);
        }
        return (uint64_t) st.st_dev == dev && fcntl(fd, F_GET_SEALS) >= 0;
}

int fd_is_memfd(int fd) {
        struct statfs sfs;
        char path[64], target[PATH_MAX];
        ssize_t n;

        if (fstatfs(fd, &sfs) < 0)
                return negative_errno();
        if (sfs.f_type != TMPFS_MAGIC && sfs.f_type != (typeof(sfs.f_type)) HUGETLBFS_MAGIC)
                return 0;

        /* A memfd is an unlinked file whose link reads "/memfd:NAME (deleted)".
         * A tmpfs file that was merely deleted has a real path instead. */
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        n = readlink(path, target, sizeof(target) - 1);
        if (n < 0 && (errno == ENOENT || errno == EACCES || errno == ENOTDIR))
                return fd_is_memfd_without_proc(fd, sfs.f_type != TMPFS_MAGIC);
        if (n < 0)
                return negative_errno();
        target[n] = 0;
        if (strncmp(target, "/memfd:", 7) != 0)
                return 0;

        /* Only memfds answer F_GET_SEALS on tmpfs; a file opened elsewhere fails with EINVAL. */
        return fcntl(fd, F_GET_SEALS) >= 0;
}

int fd_is_hugetlb(int fd) {
        struct statfs sfs;

        if (fstatfs(fd, &sfs) < 0)
                return negative_errno();
        return sfs.f_type == (typeof(sfs.f_type)) HUGETLBFS_MAGIC;
}

int fd_get_size(int fd, uint64_t *ret) {
        struct stat st;

        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        *ret = (uint64_t) st.st_size;
        return 0;
}

int fd_reopen(int fd, int flags, int *ret_fd) {
        char path[64];
        int r;

        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        r = open(path, flags | O_CLOEXEC | O_NOCTTY);
        if (r < 0)
                return negative_errno();
        *ret_fd = r;
        return 0;
}

int fd_is_writable(int fd) {
        int fl = fcntl(fd, F_GETFL);

        if (fl < 0)
                return negative_errno();
        return (fl & O_ACCMODE) == O_RDWR || (fl & O_ACCMODE) == O_WRONLY;
}

static int meminfo_get(const char *key, uint64_t *ret) {
        _cleanup_free_ char *line = NULL;
        size_t len = 0, klen = strlen(key);
        FILE *f;
        int r = -ENOENT;

        f = fopen("/proc/meminfo", "re");
        if (!f)
                return negative_errno();
        while (getline(&line, &len, f) > 0) {
                if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
                        *ret = strtoull(line + klen + 1, NULL, 10);
                        r = 0;
                        break;
                }
        }
        fclose(f);
        return r;
}

uint64_t hugepage_size(void) {
        uint64_t kb;

        if (meminfo_get("Hugepagesize", &kb) < 0)
                return 0;
        return kb * 1024;
}

int hugepages_free_bytes(uint64_t *ret) {
        uint64_t n;
        int r;

        r = meminfo_get("HugePages_Free", &n);
        if (r < 0)
                return r;
        *ret = n * hugepage_size();
        return 0;
}

const char *format_bytes(uint64_t n, char *buf, size_t size) {
        static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
        unsigned u = 0;
        uint64_t whole = n, rem = 0;

        while (whole >= 1024 && u + 1 < ELEMENTSOF(units)) {
                rem = whole % 1024;
                whole /= 1024;
                u++;
        }
        if (u == 0 || rem == 0)
                snprintf(buf, size, "%" PRIu64 " %s", whole, units[u]);
        else
                snprintf(buf, size, "%" PRIu64 ".%" PRIu64 " %s", whole, rem * 10 / 1024, units[u]);
        return buf;
}

int parse_size(const char *s, uint64_t *ret) {
        unsigned long long v;
        unsigned shift = 0;
        char *end;

        if (!s || *s < '0' || *s > '9')
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno != 0)
                return -ERANGE;
        switch (*end) {
        case 0:
                break;
        case 'k':
        case 'K':
                shift = 10;
                end++;
                break;
        case 'm':
        case 'M':
                shift = 20;
                end++;
                break;
        case 'g':
        case 'G':
                shift = 30;
                end++;
                break;
        case 't':
        case 'T':
                shift = 40;
                end++;
                break;
        default:
                return -EINVAL;
        }
        /* Accept "4K", "4KB", "4KiB". */
        if (shift && (strcmp(end, "iB") == 0 || strcmp(end, "B") == 0 || strcmp(end, "b") == 0))
                end += strlen(end);
        if (*end)
                return -EINVAL;
        if (shift && v > (UINT64_MAX >> shift))
                return -ERANGE;
        *ret = (uint64_t) v << shift;
        return 0;
}

size_t utf8_trim_cut(char *s) {
        size_t n = strlen(s), lead = n, cont = 0, want;
        unsigned char c;

        /* Back over continuation bytes (10xxxxxx) to the sequence's lead byte. */
        while (lead > 0 && cont < 3 && ((unsigned char) s[lead - 1] & 0xc0) == 0x80) {
                lead--;
                cont++;
        }
        if (lead == 0)
                return n;
        c = (unsigned char) s[lead - 1];
        if (c < 0xc0) /* ASCII, or a stray continuation byte: nothing was cut */
                return n;
        want = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : 1;
        if (cont >= want)
                return n;
        s[lead - 1] = 0;
        return lead - 1;
}

bool name_is_valid(const char *name, size_t len) {
        if (len == 0 || len > LMM_NAME_MAX)
                return false;
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char) name[i];
                if (c < 0x20 || c == 0x7f || c == '/')
                        return false;
        }
        return true;
}

int name_split(const char *name, size_t len, uint32_t *ret_uid, size_t *ret_offset) {
        uint64_t uid = 0;
        size_t i = 0;

        if (len == 0 || len > LMM_NAME_MAX)
                return -EINVAL;
        if (name_is_valid(name, len))
                return 0;
        for (; i < len && name[i] >= '0' && name[i] <= '9'; i++) {
                uid = uid * 10 + (uint64_t) (name[i] - '0');
                if (uid >= UINT32_MAX) /* (uid_t) -1 is nobody's */
                        return -EINVAL;
        }
        if (i == 0 || i >= len || name[i] != '/' || (name[0] == '0' && i > 1) ||
            !name_is_valid(name + i + 1, len - i - 1))
                return -EINVAL;
        *ret_uid = (uint32_t) uid;
        *ret_offset = i + 1;
        return 1;
}

bool utf8_is_valid(const void *p, size_t len) {
        const uint8_t *s, *end;

        /* An empty string may come as NULL (a get without a buffer), and
         * NULL + 0 is undefined. */
        if (len == 0)
                return true;
        s = p;
        end = s + len;
        while (s < end) {
                uint8_t c = *s;
                size_t n;
                uint32_t cp, min;

                if (c < 0x80) {
                        s++;
                        continue;
                }
                if (c >= 0xc2 && c <= 0xdf)
                        n = 1, cp = c & 0x1f, min = 0x80;
                else if (c >= 0xe0 && c <= 0xef)
                        n = 2, cp = c & 0x0f, min = 0x800;
                else if (c >= 0xf0 && c <= 0xf4)
                        n = 3, cp = c & 0x07, min = 0x10000;
                else
                        return false;
                if ((size_t) (end - s) <= n)
                        return false;
                for (size_t k = 1; k <= n; k++) {
                        if ((s[k] & 0xc0) != 0x80)
                                return false;
                        cp = (cp << 6) | (s[k] & 0x3f);
                }
                if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                        return false;
                s += n + 1;
        }
        return true;
}

uint64_t now_nsec(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * UINT64_C(1000000000) + (uint64_t) ts.tv_nsec;
}

static pid_t cached_pid; /* 0: not known */
static bool forget_on_fork;

static void pid_forget(void) {
        __atomic_store_n(&cached_pid, 0, __ATOMIC_RELAXED);
}

static void pid_forget_on_fork(void) {
        forget_on_fork = pthread_atfork(NULL, NULL, pid_forget) == 0;
}

pid_t getpid_cached(void) {
        static pthread_once_t once = PTHREAD_ONCE_INIT;
        pid_t pid = __atomic_load_n(&cached_pid, __ATOMIC_RELAXED);

        if (_likely_(pid != 0))
                return pid;
        pid = getpid();
        /* The handler first: a fork between the two must find it in place. */
        (void) pthread_once(&once, pid_forget_on_fork);
        if (forget_on_fork)
                __atomic_store_n(&cached_pid, pid, __ATOMIC_RELAXED);
        return pid;
}

uint64_t now_usec(void) {
        return now_nsec() / 1000;
}

int close_all_fds_except(const int *keep, size_t n_keep) {
        int sorted[16];
        unsigned from = 3;

        if (n_keep > ELEMENTSOF(sorted))
                return -E2BIG;
        memcpy(sorted, keep, n_keep * sizeof(int));
        /* A tiny insertion sort: n_keep is two or three. */
        for (size_t i = 1; i < n_keep; i++)
                for (size_t j = i; j > 0 && sorted[j - 1] > sorted[j]; j--) {
                        int t = sorted[j];
                        sorted[j] = sorted[j - 1];
                        sorted[j - 1] = t;
                }
        for (size_t i = 0; i < n_keep; i++) {
                if (sorted[i] < (int) from) /* stdio, or a duplicate */
                        continue;
                if ((unsigned) sorted[i] > from &&
                    close_range(from, (unsigned) sorted[i] - 1, 0) < 0)
                        return negative_errno();
                from = (unsigned) sorted[i] + 1;
        }
        if (close_range(from, ~0U, 0) < 0)
                return negative_errno();
        return 0;
}

void random_bytes(void *p, size_t n) {
        uint8_t *b = p;

        while (n > 0) {
                /* GRND_INSECURE (5.6): never waits for the pool at early boot. */
                ssize_t k = getrandom(b, n, GRND_INSECURE);

                if (k < 0 && errno == EINVAL)
                        k = getrandom(b, n, GRND_NONBLOCK);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0) {
                        /* No pool to be had: the clock and our address, still unknown to a peer. */
                        uint64_t x =
                                now_usec() ^ (uint64_t) (uintptr_t) p ^ ((uint64_t) getpid() << 32);
                        for (; n > 0; n--, b++, x = x * 6364136223846793005u + 1442695040888963407u)
                                *b = (uint8_t) (x >> 56);
                        return;
                }
                b += k;
                n -= (size_t) k;
        }
}

int pidfd_new(pid_t pid) {
#ifdef SYS_pidfd_open
        int fd = (int) syscall(SYS_pidfd_open, pid, 0);

        return fd < 0 ? negative_errno() : fd;
#else
        return -ENOSYS;
#endif
}

int pidfd_signal(int pidfd, int sig) {
#ifdef SYS_pidfd_send_signal
        return syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0 ? negative_errno() : 0;
#else
        return -ENOSYS;
#endif
}

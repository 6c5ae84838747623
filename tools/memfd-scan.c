/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * memfd-scan — see memfd-scan.h. Reads, per process: fd/ (the links, and for
 * the ones named like a memfd, the file pinned with O_PATH), maps (cheap; tells
 * whether any memfd is mapped) and, only when one is, smaps (Rss/Pss, which
 * makes the kernel walk page tables). The first time an inode is seen, it is
 * reopened read-only to read its seals; that fd is closed at once.
 *
 * Run as root on a system where other users are hostile, nothing here may wait
 * on them. The two rules that make it so:
 *  - A file is a memfd only if it lives on one of the kernel's own mounts that
 *    back memfds (shmem's, and hugetlbfs's per huge page size), learnt from
 *    memfds this scan makes itself. Its mount id comes from fdinfo of an O_PATH
 *    pin, which no file system is asked about; a file elsewhere (a FUSE file
 *    named "memfd:x") is never stat()ed, statfs()ed or opened, since each would
 *    wait on its daemon.
 *  - Whatever in /proc waits on locks of the process it describes (reading and
 *    following the links in fd/ and map_files/, opening and reading maps and
 *    smaps) goes through a proc_reader, which gives up on a call that stalls
 *    (proc-reader.h); the process is then reported as timed out.
 * Each step says why it cannot block, or how it is bounded.
 */

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "memfd-scan.h"
#include "missing.h"
#include "proc-reader.h"
#include "util.h"

#define MEMFD_PREFIX "/memfd:"
#define DELETED_SUFFIX " (deleted)"

/* Errors that mean "the process is gone": expected during a scan. */
static bool error_is_gone(int e) {
        return e == ENOENT || e == ESRCH;
}
static bool error_is_denied(int e) {
        return e == EACCES || e == EPERM;
}

int memfd_parse_link(const char *link, char *buf, size_t size) {
        size_t len, plen = strlen(MEMFD_PREFIX), slen = strlen(DELETED_SUFFIX);

        if (!link || strncmp(link, MEMFD_PREFIX, plen) != 0)
                return 0;
        link += plen;
        len = strlen(link);
        if (len >= slen && strcmp(link + len - slen, DELETED_SUFFIX) == 0)
                len -= slen;
        if (buf && size > 0) {
                len = MIN(len, size - 1);
                memcpy(buf, link, len);
                buf[len] = 0;
        }
        return 1;
}

int memfd_parse_maps_line(const char *line, memfd_mapper *ret_m, uint64_t *ret_dev,
                          uint64_t *ret_ino, char *name, size_t size) {
        unsigned long long start, end, offset, ino;
        unsigned maj, min;
        char perms[5];
        int pos = 0;
        const char *path;

        /* start-end perms offset major:minor inode [path] */
        if (sscanf(line, "%llx-%llx %4s %llx %x:%x %llu %n", &start, &end, perms, &offset, &maj,
                   &min, &ino, &pos) < 7 ||
            pos == 0 || strlen(perms) != 4)
                return -EINVAL;
        path = line + pos;
        {
                char buf[PATH_MAX];
                size_t len = strcspn(path, "\n");

                len = MIN(len, sizeof(buf) - 1);
                memcpy(buf, path, len);
                buf[len] = 0;
                if (!memfd_parse_link(buf, name, size))
                        return 0;
        }
        *ret_m = (memfd_mapper){
                .start = start,
                .end = end,
                .offset = offset,
                .read = perms[0] == 'r',
                .write = perms[1] == 'w',
                .exec = perms[2] == 'x',
                .shared = perms[3] == 's',
        };
        *ret_dev = makedev(maj, min);
        *ret_ino = ino;
        return 1;
}

/* ------------------------------------------------------------------ model */

static int add_unreadable(memfd_scan *s, pid_t pid, int error) {
        memfd_unreadable *p;

        for (size_t i = 0; i < s->n_unreadable; i++)
                if (s->unreadable[i].pid == pid)
                        return 0;
        p = reallocarray(s->unreadable, s->n_unreadable + 1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        s->unreadable = p;
        s->unreadable[s->n_unreadable++] = (memfd_unreadable){ .pid = pid, .error = error };
        return 0;
}

static memfd_entry *find_entry(const memfd_scan *s, uint64_t dev, uint64_t ino) {
        /* Linear: a system has tens to hundreds of memfds. */
        for (size_t i = 0; i < s->n_entries; i++)
                if (s->entries[i].dev == dev && s->entries[i].ino == ino)
                        return &s->entries[i];
        return NULL;
}

const memfd_entry *memfd_scan_find_entry(const memfd_scan *s, uint64_t dev, uint64_t ino) {
        return s ? find_entry(s, dev, ino) : NULL;
}

const memfd_process *memfd_scan_find_process(const memfd_scan *s, pid_t pid) {
        if (!s)
                return NULL;
        for (size_t i = 0; i < s->n_processes; i++)
                if (s->processes[i].pid == pid)
                        return &s->processes[i];
        return NULL;
}

/* An open-addressing index of entries by dev/ino, for the scan itself: a busy system has
 * thousands of memfds (one per process for some runtimes). Slots hold entry index + 1. */
typedef struct entry_index {
        size_t *slots;
        size_t n_slots; /* a power of two, at least twice the entries */
} entry_index;

static size_t entry_hash(uint64_t dev, uint64_t ino) {
        uint64_t h = (ino ^ (dev << 32) ^ dev) * UINT64_C(0x9e3779b97f4a7c15);
        return (size_t) (h ^ (h >> 29));
}

static size_t *index_slot(const memfd_scan *s, const entry_index *x, uint64_t dev, uint64_t ino) {
        for (size_t i = entry_hash(dev, ino) & (x->n_slots - 1);; i = (i + 1) & (x->n_slots - 1)) {
                size_t k = x->slots[i];
                if (k == 0 || (s->entries[k - 1].dev == dev && s->entries[k - 1].ino == ino))
                        return &x->slots[i];
        }
}

static int index_grow(const memfd_scan *s, entry_index *x) {
        entry_index n = { .n_slots = x->n_slots ? x->n_slots * 2 : 64 };

        n.slots = calloc(n.n_slots, sizeof(*n.slots));
        if (!n.slots)
                return -ENOMEM;
        for (size_t k = 0; k < s->n_entries; k++)
                *index_slot(s, &n, s->entries[k].dev, s->entries[k].ino) = k + 1;
        free(x->slots);
        *x = n;
        return 0;
}

/* The entry for @dev/@ino, created (named @name, seals unknown) when new. *ret_new says which. */
static int get_entry(memfd_scan *s, entry_index *x, uint64_t dev, uint64_t ino, const char *name,
                     memfd_entry **ret, bool *ret_new) {
        memfd_entry *e, *p;
        size_t *slot;
        char *n;
        int r;

        if ((s->n_entries + 1) * 2 > x->n_slots) {
                r = index_grow(s, x);
                if (r < 0)
                        return r;
        }
        slot = index_slot(s, x, dev, ino);
        if (*slot) {
                *ret = &s->entries[*slot - 1];
                *ret_new = false;
                return 0;
        }
        n = strdup(name);
        if (!n)
                return -ENOMEM;
        p = reallocarray(s->entries, s->n_entries + 1, sizeof(*p));
        if (!p) {
                free(n);
                return -ENOMEM;
        }
        s->entries = p;
        e = &s->entries[s->n_entries++];
        *e = (memfd_entry){ .dev = dev, .ino = ino, .name = n, .seals = -ENODATA };
        *slot = s->n_entries;
        *ret = e;
        *ret_new = true;
        return 0;
}

static int add_holder(memfd_entry *e, const memfd_holder *h) {
        memfd_holder *p = reallocarray(e->holders, e->n_holders + 1, sizeof(*p));

        if (!p)
                return -ENOMEM;
        e->holders = p;
        e->holders[e->n_holders++] = *h;
        return 0;
}

static int add_mapper(memfd_entry *e, const memfd_mapper *m) {
        memfd_mapper *p = reallocarray(e->mappers, e->n_mappers + 1, sizeof(*p));

        if (!p)
                return -ENOMEM;
        e->mappers = p;
        e->mappers[e->n_mappers++] = *m;
        return 0;
}

/* ---------------------------------------------------------------- mounts */

/* A kernel-internal mount that memfds live on: shmem's, or hugetlbfs's for one huge page size.
 * No memfd lives anywhere else, nothing but the kernel puts files there, and these mounts live
 * as long as the kernel, so their ids are never reused. */
typedef struct memfd_mount {
        int mnt_id;
        uint64_t dev;
        bool hugetlb;
} memfd_mount;

typedef struct memfd_mounts {
        memfd_mount m[16];
        size_t n;
} memfd_mounts;

/* Read a small file relative to @dirfd (borrowed) into @buf. Return: length or -errno. */
static ssize_t read_small(int dirfd, const char *path, char *buf, size_t size) {
        _cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        ssize_t n;

        if (fd < 0)
                return negative_errno();
        n = read(fd, buf, size - 1);
        if (n < 0)
                return negative_errno();
        buf[n] = 0;
        return n;
}

/* The mount id of @fd (borrowed; ours), from our own fdinfo. The kernel prints it from the
 * struct file; for an O_PATH fd there is no show_fdinfo to run: no file system is asked. */
static int fd_mnt_id(int fd, int *ret) {
        char path[64], buf[1024], *p;
        ssize_t n;

        snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
        n = read_small(AT_FDCWD, path, buf, sizeof(buf));
        if (n < 0)
                return (int) n;
        p = strstr(buf, "\nmnt_id:");
        if (!p)
                return -ENODATA;
        *ret = (int) strtol(p + strlen("\nmnt_id:"), NULL, 10);
        return 0;
}

static const memfd_mount *mounts_find_id(const memfd_mounts *mm, int mnt_id) {
        for (size_t i = 0; i < mm->n; i++)
                if (mm->m[i].mnt_id == mnt_id)
                        return &mm->m[i];
        return NULL;
}

static const memfd_mount *mounts_find_dev(const memfd_mounts *mm, uint64_t dev) {
        for (size_t i = 0; i < mm->n; i++)
                if (mm->m[i].dev == dev)
                        return &mm->m[i];
        return NULL;
}

/* Make a memfd with @flags and remember the mount it lands on. */
static int mounts_learn_one(memfd_mounts *mm, unsigned flags) {
        _cleanup_close_ int fd = memfd_create("memfd-scan-probe", MFD_CLOEXEC | flags);
        struct stat st;
        int mnt_id = -1, r;

        if (fd < 0)
                return negative_errno();
        r = fd_mnt_id(fd, &mnt_id);
        if (r < 0)
                return r;
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (mounts_find_id(mm, mnt_id) || mm->n >= ELEMENTSOF(mm->m))
                return 0;
        mm->m[mm->n++] = (memfd_mount){ .mnt_id = mnt_id,
                                        .dev = (uint64_t) st.st_dev,
                                        .hugetlb = flags & MFD_HUGETLB };
        return 0;
}

/* shmem's mount, which there must be; then hugetlbfs's for the default huge page size and for
 * each size the kernel offers, where it has them. */
static int mounts_learn(memfd_mounts *mm) {
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;
        int r;

        r = mounts_learn_one(mm, 0);
        if (r < 0)
                return r;
        (void) mounts_learn_one(mm, MFD_HUGETLB);
        d = opendir("/sys/kernel/mm/hugepages");
        while (d && (de = readdir(d))) {
                unsigned long long kib;
                unsigned shift;

                if (sscanf(de->d_name, "hugepages-%llukB", &kib) != 1 || kib == 0 ||
                    (kib & (kib - 1)) != 0)
                        continue;
                shift = (unsigned) __builtin_ctzll(kib * 1024); /* log2 of the page size */
                (void) mounts_learn_one(mm, MFD_HUGETLB | shift << MFD_HUGE_SHIFT);
        }
        return 0;
}

/*
 * Whether @pin (borrowed), an O_PATH fd, is a memfd's file: a regular file on one of @mm's
 * mounts. Return: 1 with its stat in @ret_st and its mount in @ret_mount, 0 for any other
 * file, -errno.
 *
 * The mount id alone decides, and a file anywhere else is never stat()ed: on FUSE, stat() waits
 * for the daemon's answer to GETATTR and statfs() for STATFS (root's calls too), for ever when it
 * never answers. Once the file is known to be shmem or hugetlbfs, fstat() is answered from the
 * inode in memory.
 */
static int pin_check(const memfd_mounts *mm, int pin, struct stat *ret_st,
                     const memfd_mount **ret_mount) {
        const memfd_mount *mnt;
        int mnt_id, r;

        r = fd_mnt_id(pin, &mnt_id);
        if (r < 0)
                return r;
        mnt = mounts_find_id(mm, mnt_id);
        if (!mnt)
                return 0;
        if (fstat(pin, ret_st) < 0)
                return negative_errno();
        if (!S_ISREG(ret_st->st_mode) || (uint64_t) ret_st->st_dev != mnt->dev)
                return 0;
        *ret_mount = mnt;
        return 1;
}

/* Size, seals and page kind of @e, from @pin (borrowed), which pin_check() accepted with @st
 * on @mnt. */
static void entry_fill(memfd_entry *e, int pin, const struct stat *st, const memfd_mount *mnt) {
        _cleanup_close_ int fd = -EBADF;
        int r;

        e->size = (uint64_t) st->st_size;
        e->allocated = (uint64_t) st->st_blocks * 512;
        e->have_size = true;
        e->hugetlb = mnt->hugetlb;
        /* F_GET_SEALS refuses an O_PATH fd: reopen the very inode, read-only. Opening a shmem or
         * hugetlbfs file waits on no one: neither has an ->open that sleeps, O_NONBLOCK makes a
         * conflicting lease answer EWOULDBLOCK rather than wait out lease-break-time, and only a
         * listener as privileged as we are (fanotify permission events) could hold an open up.
         * A regular file never becomes a controlling tty. F_GET_SEALS takes no lock. */
        r = fd_reopen(pin, O_RDONLY | O_NONBLOCK, &fd);
        e->seals = r < 0 ? r : fd_get_seals(fd);
}

/* ----------------------------------------------------------------- /proc */

/* What one scan carries from process to process. */
typedef struct scan_ctx {
        memfd_scan *s;
        entry_index x;
        memfd_mounts mounts;
        proc_reader *pr;
        const uint64_t *sock_inos;
        size_t n_sock_inos;
} scan_ctx;

/* The access mode of a /proc/PID/fd/N link's mode: the kernel gives the link r when the file
 * was opened for reading, w for writing, neither for O_PATH. */
static int link_accmode(mode_t mode) {
        bool r = mode & S_IRUSR, w = mode & S_IWUSR;

        return r && w ? O_RDWR : r ? O_RDONLY : w ? O_WRONLY : -1;
}

/* Scan /proc/PID/fd. Reading and following its links takes the process's exec_update_lock:
 * both through the proc reader. Return: 0, -errno (denied or gone), -ETIMEDOUT, -ENOMEM. */
static int scan_fds(scan_ctx *c, pid_t pid, int piddirfd) {
        _cleanup_close_ int fddirfd = -EBADF;
        _cleanup_free_ char *links = NULL;
        size_t size = 0;
        int r;

        /* The kernel writes each link from the file's path or pseudo name (d_path, d_dname)
         * without asking its file system. */
        r = proc_reader_readlinks(c->pr, piddirfd, "fd", &links, &size);
        if (r < 0)
                return r;
        /* A lookup in /proc: nothing to wait for. */
        fddirfd = openat(piddirfd, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fddirfd < 0)
                return negative_errno();
        for (const char *p = links; p < links + size;) {
                const char *fd = p, *link = fd + strlen(fd) + 1;
                _cleanup_close_ int pin = -EBADF;
                const memfd_mount *mnt = NULL;
                char name[PATH_MAX];
                unsigned long long sock;
                struct stat st, lst;
                memfd_entry *e;
                bool new;

                p = link + strlen(link) + 1;
                if (c->n_sock_inos > 0 && sscanf(link, "socket:[%llu]", &sock) == 1) {
                        for (size_t i = 0; i < c->n_sock_inos; i++)
                                if (c->sock_inos[i] == sock && c->s->socket_owner == 0)
                                        c->s->socket_owner = pid;
                        continue;
                }
                if (!memfd_parse_link(link, name, sizeof(name)))
                        continue;
                /* Following the magic link with O_PATH opens nothing: no permission check, no
                 * ->open, no revalidation of the target, so no file system is asked. The pin is
                 * what gets checked and read, whatever the fd points to by then. */
                pin = proc_reader_open(c->pr, fddirfd, fd, O_PATH);
                if (pin == -ETIMEDOUT || (pin < 0 && error_is_denied(-pin)))
                        return pin;
                if (pin < 0)
                        continue; /* closed meanwhile */
                r = pin_check(&c->mounts, pin, &st, &mnt);
                if (r <= 0)
                        continue; /* not a memfd, whatever its name says */
                /* The access mode from the link's own mode, which procfs answers without a lock.
                 * Not from fdinfo/N, which runs the file's show_fdinfo: epoll's takes a mutex
                 * that epoll_ctl() holds while it polls a file — for ever when that is a FUSE
                 * file whose daemon does not answer POLL — uninterruptibly, and fd N may have
                 * become such an epoll fd since the pin. */
                if (fstatat(fddirfd, fd, &lst, AT_SYMLINK_NOFOLLOW) < 0)
                        continue; /* closed meanwhile */
                r = get_entry(c->s, &c->x, st.st_dev, st.st_ino, name, &e, &new);
                if (r < 0)
                        return r;
                if (new || e->seals < 0)
                        entry_fill(e, pin, &st, mnt);
                r = add_holder(e, &(memfd_holder){ .pid = pid,
                                                   .fd = atoi(fd),
                                                   .accmode = link_accmode(lst.st_mode) });
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The lines of a /proc file, each read() of it through the proc reader. */
typedef struct line_reader {
        proc_reader *pr;
        int fd;
        size_t start, end; /* unread bytes in buf */
        bool eof;
        char buf[65536];
} line_reader;

/* Open @path of a process (@piddirfd borrowed) through the proc reader. */
static int line_open(line_reader *lr, proc_reader *pr, int piddirfd, const char *path) {
        int fd = proc_reader_open(pr, piddirfd, path, O_RDONLY | O_NOCTTY);

        if (fd < 0)
                return fd;
        lr->pr = pr;
        lr->fd = fd;
        lr->start = lr->end = 0;
        lr->eof = false;
        return 0;
}

/* The next line, without its newline; one longer than the buffer comes in pieces. Return: 1 with
 * *ret_line (valid until the next call), 0 at the end, -ETIMEDOUT or -errno. */
static int line_next(line_reader *lr, char **ret_line) {
        for (;;) {
                char *nl = memchr(lr->buf + lr->start, '\n', lr->end - lr->start);
                ssize_t n;

                if (nl || lr->eof || lr->end - lr->start == sizeof(lr->buf) - 1) {
                        if (!nl && lr->start == lr->end)
                                return 0;
                        *ret_line = lr->buf + lr->start;
                        if (nl) {
                                *nl = 0;
                                lr->start = (size_t) (nl - lr->buf) + 1;
                        } else {
                                lr->buf[lr->end] = 0;
                                lr->start = lr->end;
                        }
                        return 1;
                }
                memmove(lr->buf, lr->buf + lr->start, lr->end - lr->start);
                lr->end -= lr->start;
                lr->start = 0;
                n = proc_reader_read(lr->pr, lr->fd, lr->buf + lr->end,
                                     sizeof(lr->buf) - 1 - lr->end);
                if (n < 0)
                        return (int) n;
                lr->eof = n == 0;
                lr->end += (size_t) n;
        }
}

/* Whether maps names a memfd. Opening maps takes the process's exec_update_lock, reading it
 * the mmap lock: through the proc reader, in one call. Return: 1, 0, -ETIMEDOUT or -errno. */
static int maps_has_memfd(scan_ctx *c, int piddirfd) {
        _cleanup_free_ char *maps = NULL;
        size_t size;
        int r;

        r = proc_reader_read_file(c->pr, piddirfd, "maps", &maps, &size);
        if (r < 0)
                return r;
        return strstr(maps, MEMFD_PREFIX) != NULL;
}

/* Size and seals of @e, known so far only from its mapping @m: pin it through map_files/, whose
 * lookup takes the process's exec_update_lock and mmap lock, so through the proc reader. The
 * range may have been remapped since, to any file: the pin is checked like an fd's.
 * Return: 0, or -ETIMEDOUT. */
static int entry_fill_from_mapping(scan_ctx *c, memfd_entry *e, int piddirfd,
                                   const memfd_mapper *m) {
        _cleanup_close_ int pin = -EBADF;
        const memfd_mount *mnt = NULL;
        struct stat st;
        char path[80];
        int r;

        snprintf(path, sizeof(path), "map_files/%" PRIx64 "-%" PRIx64, m->start, m->end);
        pin = proc_reader_open(c->pr, piddirfd, path, O_PATH);
        if (pin < 0) {
                e->seals = pin;
                return pin == -ETIMEDOUT ? pin : 0;
        }
        r = pin_check(&c->mounts, pin, &st, &mnt);
        if (r <= 0 || (uint64_t) st.st_dev != e->dev || (uint64_t) st.st_ino != e->ino) {
                e->seals = r < 0 ? r : -ESTALE; /* not the memfd it was a moment ago */
                return 0;
        }
        entry_fill(e, pin, &st, mnt);
        return 0;
}

static uint64_t smaps_kib(const char *line, const char *key) {
        size_t n = strlen(key);

        if (strncmp(line, key, n) != 0 || line[n] != ':')
                return UINT64_MAX;
        return strtoull(line + n + 1, NULL, 10) * 1024;
}

/* Scan /proc/PID/smaps for memfd mappings; smaps waits on the same locks as maps, through the
 * proc reader. Return: 0, -errno (denied or gone), -ETIMEDOUT, -ENOMEM. */
static int scan_maps(scan_ctx *c, pid_t pid, int piddirfd) {
        _cleanup_free_ line_reader *lr = malloc(sizeof(*lr));
        memfd_entry *cur = NULL;
        char *line = NULL;
        int r;

        if (!lr)
                return -ENOMEM;
        r = maps_has_memfd(c, piddirfd);
        if (r <= 0)
                return r;
        r = line_open(lr, c->pr, piddirfd, "smaps");
        if (r < 0)
                return r;
        while ((r = line_next(lr, &line)) > 0) {
                char name[PATH_MAX];
                memfd_mapper m;
                uint64_t dev, ino, v;
                bool new;

                if ((line[0] >= '0' && line[0] <= '9') || (line[0] >= 'a' && line[0] <= 'f')) {
                        /* A mapping's header line. */
                        r = memfd_parse_maps_line(line, &m, &dev, &ino, name, sizeof(name));
                        cur = NULL;
                        /* Named like a memfd but on no memfd mount (a FUSE file "memfd:x"): not
                         * a memfd, and never looked at. */
                        if (r <= 0 || !mounts_find_dev(&c->mounts, dev))
                                continue;
                        m.pid = pid;
                        r = get_entry(c->s, &c->x, dev, ino, name, &cur, &new);
                        if (r < 0)
                                break;
                        /* Memory only mapped, no fd: seals and size through map_files/. */
                        if (new && (r = entry_fill_from_mapping(c, cur, piddirfd, &m)) < 0)
                                break;
                        r = add_mapper(cur, &m);
                        if (r < 0)
                                break;
                        continue;
                }
                if (!cur)
                        continue;
                /* hugetlb pages are not in Rss; smaps counts them apart. */
                if ((v = smaps_kib(line, "Rss")) != UINT64_MAX ||
                    (v = smaps_kib(line, "Shared_Hugetlb")) != UINT64_MAX ||
                    (v = smaps_kib(line, "Private_Hugetlb")) != UINT64_MAX)
                        cur->mappers[cur->n_mappers - 1].rss += v;
                else if ((v = smaps_kib(line, "Pss")) != UINT64_MAX)
                        cur->mappers[cur->n_mappers - 1].pss += v;
        }
        safe_close(lr->fd);
        return r;
}

/* comm and status are printed from the task alone (status reads the mm's counters, not its
 * mmap lock): nothing to wait for. */
static void read_comm_uid(int piddirfd, char *comm, size_t size, uint32_t *ret_uid) {
        char buf[4096], *p;

        if (read_small(piddirfd, "comm", buf, sizeof(buf)) > 0) {
                buf[strcspn(buf, "\n")] = 0;
                /* comm is at most 15 bytes; cut anything longer, knowingly. */
                buf[MIN(size - 1, sizeof(buf) - 1)] = 0;
                memcpy(comm, buf, strlen(buf) + 1);
        }
        if (read_small(piddirfd, "status", buf, sizeof(buf)) > 0 && (p = strstr(buf, "\nUid:")))
                *ret_uid = (uint32_t) strtoul(p + 5, NULL, 10);
}

static int scan_process(scan_ctx *c, pid_t pid, memfd_process *ret_proc) {
        _cleanup_close_ int piddirfd = -EBADF;
        char path[64];
        int r, rm;

        /* A lookup in /proc: nothing to wait for. */
        snprintf(path, sizeof(path), "/proc/%d", (int) pid);
        piddirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (piddirfd < 0)
                return error_is_gone(errno) ? 0 : negative_errno();
        c->s->n_scanned++;

        *ret_proc = (memfd_process){ .pid = pid };
        read_comm_uid(piddirfd, ret_proc->comm, sizeof(ret_proc->comm), &ret_proc->uid);

        r = scan_fds(c, pid, piddirfd);
        if (r == -ENOMEM)
                return r;
        /* One stall per process is enough: its maps would wait on the same lock. */
        rm = r == -ETIMEDOUT ? r : scan_maps(c, pid, piddirfd);
        if (rm == -ENOMEM)
                return rm;
        if (r < 0 && (error_is_denied(-r) || r == -ETIMEDOUT))
                return add_unreadable(c->s, pid, -r);
        if (rm < 0 && (error_is_denied(-rm) || rm == -ETIMEDOUT))
                return add_unreadable(c->s, pid, -rm);
        return 0;
}

/* Inodes of the listening sockets bound to @path, from /proc/net/unix. */
static int socket_inodes(const char *path, uint64_t **ret, size_t *ret_n) {
        _cleanup_fclose_ FILE *f = fopen("/proc/net/unix", "re");
        _cleanup_free_ uint64_t *inos = NULL;
        char line[PATH_MAX + 128];
        size_t n = 0;

        if (!f)
                return negative_errno();
        while (fgets(line, sizeof(line), f)) {
                unsigned long long ino;
                unsigned flags;
                int pos = 0;
                uint64_t *p;

                /* Num RefCount Protocol Flags Type St Inode Path */
                if (sscanf(line, "%*s %*x %*x %x %*x %*x %llu %n", &flags, &ino, &pos) < 2 ||
                    pos == 0)
                        continue;
                line[strcspn(line, "\n")] = 0;
                if (!(flags & 0x10000) /* __SO_ACCEPTCON: listening */ ||
                    strcmp(line + pos, path) != 0)
                        continue;
                p = reallocarray(inos, n + 1, sizeof(*p));
                if (!p)
                        return -ENOMEM;
                inos = p;
                inos[n++] = ino;
        }
        *ret = TAKE_PTR(inos);
        *ret_n = n;
        return 0;
}

static int compare_process(const void *key, const void *elem) {
        pid_t x = *(const pid_t *) key, y = ((const memfd_process *) elem)->pid;
        return (x > y) - (x < y);
}

/* Per-process totals and per-memfd sums, once every process is in. @procs is sorted by pid. */
static int build_processes(memfd_scan *s, memfd_process *procs, size_t n_procs) {
        _cleanup_free_ size_t *last = calloc(MAX(n_procs, (size_t) 1), sizeof(*last));

        if (!last)
                return -ENOMEM;
        for (size_t k = 0; k < s->n_entries; k++) {
                memfd_entry *e = &s->entries[k];

                for (size_t j = 0; j < e->n_holders + e->n_mappers; j++) {
                        bool map = j >= e->n_holders;
                        const memfd_mapper *m = map ? &e->mappers[j - e->n_holders] : NULL;
                        pid_t pid = map ? m->pid : e->holders[j].pid;
                        memfd_process *p =
                                bsearch(&pid, procs, n_procs, sizeof(*procs), compare_process);
                        size_t i;

                        if (map) {
                                e->rss += m->rss;
                                e->pss += m->pss;
                        }
                        if (!p)
                                continue;
                        i = (size_t) (p - procs);
                        if (map) {
                                p->n_mappings++;
                                p->rss += m->rss;
                                p->pss += m->pss;
                        } else
                                p->n_fds++;
                        /* Count each memfd once per process. */
                        if (last[i] != k + 1) {
                                last[i] = k + 1;
                                p->n_memfds++;
                        }
                }
        }
        for (size_t i = 0; i < n_procs; i++)
                if (procs[i].n_memfds > 0)
                        s->processes[s->n_processes++] = procs[i];
        return 0;
}

static int compare_pid(const void *a, const void *b) {
        pid_t x = *(const pid_t *) a, y = *(const pid_t *) b;
        return (x > y) - (x < y);
}

/* Every pid in /proc, sorted. */
static int list_pids(pid_t **ret, size_t *ret_n) {
        _cleanup_closedir_ DIR *d = opendir("/proc");
        _cleanup_free_ pid_t *pids = NULL;
        struct dirent *de;
        size_t n = 0;

        if (!d)
                return negative_errno();
        while ((de = readdir(d))) {
                char *end;
                long v;
                pid_t *p;

                if (de->d_name[0] < '1' || de->d_name[0] > '9')
                        continue;
                v = strtol(de->d_name, &end, 10);
                if (*end || v <= 0 || v > INT_MAX)
                        continue;
                p = reallocarray(pids, n + 1, sizeof(*p));
                if (!p)
                        return -ENOMEM;
                pids = p;
                pids[n++] = (pid_t) v;
        }
        if (n > 0)
                qsort(pids, n, sizeof(*pids), compare_pid);
        *ret = TAKE_PTR(pids);
        *ret_n = n;
        return 0;
}

int memfd_scan_run(const memfd_scan_opts *o, memfd_scan **ret) {
        static const memfd_scan_opts defaults = {};
        _cleanup_free_ uint64_t *sock_inos = NULL;
        _cleanup_free_ memfd_process *procs = NULL;
        _cleanup_free_ pid_t *all = NULL;
        _cleanup_free_ pid_t *sorted = NULL;
        scan_ctx c = {};
        size_t n_sock_inos = 0, n_pids, n_procs = 0;
        const pid_t *pids;
        pid_t self = getpid();
        int r;

        if (!ret)
                return -EINVAL;
        if (!o)
                o = &defaults;
        if (o->socket_path) {
                r = socket_inodes(o->socket_path, &sock_inos, &n_sock_inos);
                if (r == -ENOMEM)
                        return r;
        }
        if (o->pids) {
                /* Sorted and without duplicates: processes are looked up by pid. */
                sorted = calloc(MAX(o->n_pids, (size_t) 1), sizeof(*sorted));
                if (!sorted)
                        return -ENOMEM;
                memcpy(sorted, o->pids, o->n_pids * sizeof(*sorted));
                qsort(sorted, o->n_pids, sizeof(*sorted), compare_pid);
                n_pids = 0;
                for (size_t i = 0; i < o->n_pids; i++)
                        if (n_pids == 0 || sorted[n_pids - 1] != sorted[i])
                                sorted[n_pids++] = sorted[i];
                pids = sorted;
        } else {
                r = list_pids(&all, &n_pids);
                if (r < 0)
                        return r;
                pids = all;
        }

        /* Which mounts hold memfds, before any file of another process is looked at. */
        r = mounts_learn(&c.mounts);
        if (r < 0)
                return r;
        procs = calloc(MAX(n_pids, (size_t) 1), sizeof(*procs));
        if (!procs)
                return -ENOMEM;
        r = proc_reader_new(o->stall_timeout_ms ?: MEMFD_SCAN_STALL_TIMEOUT_MS, &c.pr);
        if (r < 0)
                return r;
        c.s = calloc(1, sizeof(*c.s));
        c.sock_inos = sock_inos;
        c.n_sock_inos = n_sock_inos;
        r = c.s ? 0 : -ENOMEM;
        for (size_t i = 0; r >= 0 && i < n_pids; i++) {
                if (o->skip_self && pids[i] == self)
                        continue;
                procs[n_procs] = (memfd_process){};
                r = scan_process(&c, pids[i], &procs[n_procs]);
                if (r < 0 && r != -ENOMEM)
                        r = 0; /* unexpected error on one process: skip it */
                else if (r >= 0 && procs[n_procs].pid != 0)
                        n_procs++;
        }
        free(c.x.slots);
        c.pr = proc_reader_free(c.pr);
        if (r >= 0) {
                c.s->processes = calloc(MAX(n_procs, (size_t) 1), sizeof(*c.s->processes));
                r = c.s->processes ? build_processes(c.s, procs, n_procs) : -ENOMEM;
        }
        if (r < 0) {
                memfd_scan_free(c.s);
                return r;
        }
        *ret = c.s;
        return 0;
}

memfd_scan *memfd_scan_free(memfd_scan *s) {
        if (!s)
                return NULL;
        for (size_t i = 0; i < s->n_entries; i++) {
                free(s->entries[i].name);
                free(s->entries[i].holders);
                free(s->entries[i].mappers);
        }
        free(s->entries);
        free(s->processes);
        free(s->unreadable);
        free(s);
        return NULL;
}

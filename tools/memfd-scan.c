/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * memfd-scan — see memfd-scan.h. Reads, per process: fd/ (readlink + stat of
 * each link, fdinfo for the access mode), maps (cheap; tells whether any memfd
 * is mapped) and, only when one is, smaps (Rss/Pss, which makes the kernel
 * walk page tables). The first time an inode is seen, one fd to it is opened
 * through /proc/PID/fd/N (or map_files/ for memory that is only mapped) to
 * read its seals and file system type; that fd is closed at once.
 */

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <linux/magic.h>

#include "memfd-scan.h"
#include "missing.h"
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

/* Seals, size and file system type, from an fd to the inode (borrowed). */
static void entry_fill_from_fd(memfd_entry *e, int fd) {
        struct statfs sfs;
        struct stat st;
        int r;

        r = fd_get_seals(fd);
        e->seals = r;
        if (fstat(fd, &st) == 0) {
                e->size = (uint64_t) st.st_size;
                e->allocated = (uint64_t) st.st_blocks * 512;
                e->have_size = true;
        }
        if (fstatfs(fd, &sfs) == 0)
                e->hugetlb = (uint64_t) sfs.f_type == (uint64_t) HUGETLBFS_MAGIC;
}

/*
 * Open @path relative to @dirfd (borrowed) read-only and fill @e's seals.
 *
 * The fd or mapping behind @path can be swapped between the scan's checks and
 * this open, by any process for its own fds: a FIFO opened read-only would
 * block here forever, a tty would be opened. So the path is first pinned with
 * O_PATH (which opens nothing), checked to be the very inode @e describes, a
 * regular file, and only then reopened, never blocking and never as a
 * controlling terminal.
 */
static void entry_fill_from_path(memfd_entry *e, int dirfd, const char *path) {
        _cleanup_close_ int pin = -EBADF, fd = -EBADF;
        char self[64];
        struct stat st;

        /* No O_NOFOLLOW: these are magic links, following them is the point. */
        pin = openat(dirfd, path, O_PATH | O_CLOEXEC);
        if (pin < 0) {
                e->seals = negative_errno();
                return;
        }
        if (fstat(pin, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t) st.st_dev != e->dev ||
            (uint64_t) st.st_ino != e->ino) {
                e->seals = -ESTALE; /* not the memfd it was a moment ago */
                return;
        }
        snprintf(self, sizeof(self), "/proc/self/fd/%d", pin);
        fd = open(self, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0) {
                e->seals = negative_errno();
                return;
        }
        entry_fill_from_fd(e, fd);
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

/* ----------------------------------------------------------------- /proc */

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

static int fdinfo_flags(int piddirfd, const char *fdname, unsigned *ret) {
        char path[sizeof("fdinfo/") + 256], buf[1024], *p;
        ssize_t n;

        snprintf(path, sizeof(path), "fdinfo/%s", fdname);
        n = read_small(piddirfd, path, buf, sizeof(buf));
        if (n < 0)
                return (int) n;
        p = strstr(buf, "flags:");
        if (!p)
                return -EBADMSG;
        *ret = (unsigned) strtoul(p + strlen("flags:"), NULL, 8);
        return 0;
}

/* Scan /proc/PID/fd. Return: 0, -errno of the fd directory (denied or gone), -ENOMEM. */
static int scan_fds(memfd_scan *s, entry_index *x, pid_t pid, int piddirfd,
                    const uint64_t *sock_inos, size_t n_sock_inos) {
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;
        int fddirfd;

        fddirfd = openat(piddirfd, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fddirfd < 0)
                return negative_errno();
        d = fdopendir(fddirfd);
        if (!d) {
                safe_close(fddirfd);
                return negative_errno();
        }
        errno = 0;
        while ((de = readdir(d))) {
                char link[PATH_MAX + 1], name[PATH_MAX];
                unsigned long long sock;
                memfd_entry *e;
                struct stat st;
                unsigned flags = 0;
                ssize_t k;
                bool new;
                int r;

                if (de->d_name[0] == '.')
                        continue;
                k = readlinkat(fddirfd, de->d_name, link, sizeof(link) - 1);
                if (k < 0) {
                        if (error_is_denied(errno))
                                return negative_errno();
                        continue; /* closed meanwhile */
                }
                link[k] = 0;
                if (n_sock_inos > 0 && sscanf(link, "socket:[%llu]", &sock) == 1) {
                        for (size_t i = 0; i < n_sock_inos; i++)
                                if (sock_inos[i] == sock && s->socket_owner == 0)
                                        s->socket_owner = pid;
                        continue;
                }
                if (!memfd_parse_link(link, name, sizeof(name)))
                        continue;
                if (fstatat(fddirfd, de->d_name, &st, 0) < 0) {
                        if (error_is_denied(errno))
                                return negative_errno();
                        continue;
                }
                /* A regular file named "/memfd:..." is not a memfd: memfds are not on any mount. */
                if (!S_ISREG(st.st_mode))
                        continue;
                if (fdinfo_flags(piddirfd, de->d_name, &flags) < 0)
                        continue; /* closed between readlink and here */
                r = get_entry(s, x, st.st_dev, st.st_ino, name, &e, &new);
                if (r < 0)
                        return r;
                if (new || e->seals < 0) {
                        e->size = (uint64_t) st.st_size;
                        e->allocated = (uint64_t) st.st_blocks * 512;
                        e->have_size = true;
                        entry_fill_from_path(e, fddirfd, de->d_name);
                }
                r = add_holder(e, &(memfd_holder){ .pid = pid,
                                                   .fd = atoi(de->d_name),
                                                   .accmode = (int) (flags & O_ACCMODE),
                                                   .flags = flags });
                if (r < 0)
                        return r;
        }
        return 0;
}

static bool maps_has_memfd(int piddirfd, int *ret_error) {
        _cleanup_fclose_ FILE *f = NULL;
        char line[PATH_MAX + 128];
        int fd;

        *ret_error = 0;
        fd = openat(piddirfd, "maps", O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                *ret_error = errno;
                return false;
        }
        f = fdopen(fd, "re");
        if (!f) {
                *ret_error = errno;
                safe_close(fd);
                return false;
        }
        errno = 0;
        while (fgets(line, sizeof(line), f))
                if (strstr(line, MEMFD_PREFIX))
                        return true;
        if (ferror(f))
                *ret_error = errno ? errno : EIO;
        return false;
}

static uint64_t smaps_kib(const char *line, const char *key) {
        size_t n = strlen(key);

        if (strncmp(line, key, n) != 0 || line[n] != ':')
                return UINT64_MAX;
        return strtoull(line + n + 1, NULL, 10) * 1024;
}

/* Scan /proc/PID/smaps for memfd mappings. Return: 0, -errno (denied or gone), -ENOMEM. */
static int scan_maps(memfd_scan *s, entry_index *x, pid_t pid, int piddirfd) {
        _cleanup_fclose_ FILE *f = NULL;
        char line[PATH_MAX + 128];
        memfd_entry *cur = NULL;
        int fd, error;

        if (!maps_has_memfd(piddirfd, &error))
                return error ? -error : 0;

        fd = openat(piddirfd, "smaps", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        f = fdopen(fd, "re");
        if (!f) {
                safe_close(fd);
                return negative_errno();
        }
        while (fgets(line, sizeof(line), f)) {
                char name[PATH_MAX];
                memfd_mapper m;
                uint64_t dev, ino, v;
                bool new;
                int r;

                if ((line[0] >= '0' && line[0] <= '9') || (line[0] >= 'a' && line[0] <= 'f')) {
                        /* A mapping's header line. */
                        r = memfd_parse_maps_line(line, &m, &dev, &ino, name, sizeof(name));
                        cur = NULL;
                        if (r <= 0)
                                continue;
                        m.pid = pid;
                        r = get_entry(s, x, dev, ino, name, &cur, &new);
                        if (r < 0)
                                return r;
                        if (new) {
                                char path[80];

                                /* Memory only mapped, no fd: open it through map_files/. */
                                snprintf(path, sizeof(path), "map_files/%" PRIx64 "-%" PRIx64,
                                         m.start, m.end);
                                entry_fill_from_path(cur, piddirfd, path);
                        }
                        r = add_mapper(cur, &m);
                        if (r < 0)
                                return r;
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
        return 0;
}

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

static int scan_process(memfd_scan *s, entry_index *x, pid_t pid, const uint64_t *sock_inos,
                        size_t n_sock_inos, memfd_process *ret_proc) {
        _cleanup_close_ int piddirfd = -EBADF;
        char path[64];
        int r, rm;

        snprintf(path, sizeof(path), "/proc/%d", (int) pid);
        piddirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (piddirfd < 0)
                return error_is_gone(errno) ? 0 : negative_errno();
        s->n_scanned++;

        *ret_proc = (memfd_process){ .pid = pid };
        read_comm_uid(piddirfd, ret_proc->comm, sizeof(ret_proc->comm), &ret_proc->uid);

        r = scan_fds(s, x, pid, piddirfd, sock_inos, n_sock_inos);
        if (r == -ENOMEM)
                return r;
        rm = scan_maps(s, x, pid, piddirfd);
        if (rm == -ENOMEM)
                return rm;
        if (r < 0 && error_is_denied(-r))
                return add_unreadable(s, pid, -r);
        if (rm < 0 && error_is_denied(-rm))
                return add_unreadable(s, pid, -rm);
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
        entry_index x = {};
        size_t n_sock_inos = 0, n_pids, n_procs = 0;
        const pid_t *pids;
        memfd_scan *s;
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

        s = calloc(1, sizeof(*s));
        procs = calloc(MAX(n_pids, (size_t) 1), sizeof(*procs));
        if (!s || !procs) {
                free(s);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n_pids; i++) {
                if (o->skip_self && pids[i] == self)
                        continue;
                procs[n_procs] = (memfd_process){};
                r = scan_process(s, &x, pids[i], sock_inos, n_sock_inos, &procs[n_procs]);
                if (r < 0) {
                        if (r == -ENOMEM) {
                                free(x.slots);
                                memfd_scan_free(s);
                                return r;
                        }
                        continue; /* unexpected error on one process: skip it */
                }
                if (procs[n_procs].pid != 0)
                        n_procs++;
        }
        free(x.slots);
        s->processes = calloc(MAX(n_procs, (size_t) 1), sizeof(*s->processes));
        if (!s->processes || build_processes(s, procs, n_procs) < 0) {
                memfd_scan_free(s);
                return -ENOMEM;
        }
        *ret = s;
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

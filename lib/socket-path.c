/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * socket-path — a socket path nobody else can take over. See socket-path.h.
 */

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "socket-path.h"
#include "util.h"

/* Symbolic links followed on one path, as the kernel's own limit. */
#define LINKS_MAX 40

/* trusted() - whether @st (the directory, or with @is_dir false the socket
 * file, at @at) is one that only root and @uid can change. */
static int trusted(const struct stat *st, bool is_dir, const char *at, uid_t uid, char *why,
                   size_t why_size) {
        if (st->st_uid != 0 && st->st_uid != uid) {
                snprintf(why, why_size, "%s %s is owned by uid %u, not by root or uid %u",
                         is_dir ? "directory" : "socket", at, (unsigned) st->st_uid,
                         (unsigned) uid);
                return -EPERM;
        }
        /* Sticky: others may add entries, but not rename or remove ours; the
         * entry we go through next is checked to be ours or root's. */
        if (is_dir && (st->st_mode & (S_IWGRP | S_IWOTH)) && !(st->st_mode & S_ISVTX)) {
                snprintf(why, why_size, "directory %s is writable by %s (mode %04o, not sticky)",
                         at, st->st_mode & S_IWOTH ? "others" : "its group",
                         (unsigned) (st->st_mode & 07777));
                return -EPERM;
        }
        return 0;
}

/* walked_push(), walked_pop() - keep @walked the path of the directory we are in. */
static void walked_push(char *walked, size_t size, const char *name) {
        size_t n = strlen(walked);

        snprintf(walked + n, size - n, "%s%s", n > 1 ? "/" : "", name);
}

static void walked_pop(char *walked) {
        char *slash = strrchr(walked, '/');

        if (slash)
                slash[slash == walked ? 1 : 0] = 0;
}

/* open_dir() - the directory @name in @dir, made when missing and @create
 * (@mode when @last), unopened (-ENOENT) when missing and not. */
static int open_dir(int dir, const char *name, bool create, bool last, unsigned mode,
                    bool *ret_made) {
        int fd = openat(dir, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

        *ret_made = false;
        if (fd >= 0 || errno != ENOENT || !create)
                return fd >= 0 ? fd : negative_errno();
        if (mkdirat(dir, name, last ? mode : 0755) == 0) {
                *ret_made = true;
                /* mkdir() honours the umask; the mode asked for is the one wanted. */
                if (last && fchmodat(dir, name, mode, 0) < 0)
                        return negative_errno();
        } else if (errno != EEXIST) {
                return negative_errno();
        }
        fd = openat(dir, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        return fd >= 0 ? fd : negative_errno();
}

int socket_path_check(const char *path, uid_t uid, bool create, unsigned mode, bool *ret_created,
                      char *why, size_t why_size) {
        _cleanup_free_ char *todo = NULL;
        _cleanup_close_ int dir = -EBADF;
        char walked[PATH_MAX] = "/";
        const char *name;
        unsigned links = 0;
        bool created = false;
        struct stat st;
        char *p;
        int r;

        if (!path || path[0] != '/' || !why || why_size == 0)
                return -EINVAL;
        why[0] = 0;
        name = strrchr(path, '/') + 1;
        if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
                return -EINVAL;
        /* The directories to walk, each followed by a '/'. */
        todo = strndup(path, (size_t) (name - path));
        if (!todo)
                return -ENOMEM;

        dir = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dir < 0 || fstat(dir, &st) < 0)
                return negative_errno();
        r = trusted(&st, true, "/", uid, why, why_size);
        if (r < 0)
                return r;

        for (p = todo;;) {
                char *c, *end, target[PATH_MAX];
                bool made;
                ssize_t k;
                int fd;

                p += strspn(p, "/");
                if (!*p)
                        break;
                c = p;
                end = strchr(c, '/');
                *end = 0;
                p = end + 1;
                if (strcmp(c, ".") == 0)
                        continue;

                fd = open_dir(dir, c, create, p[strspn(p, "/")] == 0, mode, &made);
                if (fd == -ENOENT && !create)
                        return 0; /* the rest would be ours: made by the manager */
                if (fd == -ENOTDIR) {
                        /* A symbolic link, lying in a directory checked above.
                         * In a sticky directory its owner may still replace
                         * it: it must be ours or root's, like any entry we
                         * go through. Then walk what it points to. */
                        _cleanup_free_ char *next = NULL;
                        struct stat lst;
                        char at[PATH_MAX + 2];

                        if (fstatat(dir, c, &lst, AT_SYMLINK_NOFOLLOW) < 0)
                                return negative_errno();
                        snprintf(at, sizeof(at), "%s%s%s", walked,
                                 walked[strlen(walked) - 1] == '/' ? "" : "/", c);
                        if (lst.st_uid != 0 && lst.st_uid != uid) {
                                snprintf(why, why_size,
                                         "symbolic link %s is owned by uid %u, not by root or uid "
                                         "%u",
                                         at, (unsigned) lst.st_uid, (unsigned) uid);
                                return -EPERM;
                        }
                        k = readlinkat(dir, c, target, sizeof(target) - 1);
                        if (k < 0)
                                return errno == EINVAL ? -ENOTDIR : negative_errno();
                        if (++links > LINKS_MAX)
                                return -ELOOP;
                        target[k] = 0;
                        if (asprintf(&next, "%s/%s", target, p) < 0)
                                return -ENOMEM;
                        if (target[0] == '/') {
                                safe_close(dir);
                                dir = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
                                if (dir < 0)
                                        return negative_errno();
                                strcpy(walked, "/");
                        }
                        free(todo);
                        p = todo = TAKE_PTR(next);
                        continue;
                }
                if (fd < 0)
                        return fd;
                safe_close(dir);
                dir = fd;
                created = made;
                if (strcmp(c, "..") == 0)
                        walked_pop(walked);
                else
                        walked_push(walked, sizeof(walked), c);
                if (fstat(dir, &st) < 0)
                        return negative_errno();
                r = trusted(&st, true, walked, uid, why, why_size);
                if (r < 0)
                        return r;
        }

        /* A socket file already there (stale, or live) must be ours or root's:
         * never replace, nor take the place of, someone else's. */
        if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
                walked_push(walked, sizeof(walked), name);
                r = trusted(&st, false, walked, uid, why, why_size);
                if (r < 0)
                        return r;
        } else if (errno != ENOENT) {
                return negative_errno();
        }
        if (ret_created)
                *ret_created = created;
        return 0;
}

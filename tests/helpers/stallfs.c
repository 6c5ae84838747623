/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * stallfs — a fixture for memfd-inspect's tests: a FUSE file system whose
 * daemon answers just enough for files to be opened, then never answers again,
 * and a process that holds its files under names that read like memfds.
 *
 * Usage: stallfs ATTACK...   (needs root and /dev/fuse)
 *
 * It mounts a raw FUSE server (no libfuse: /dev/fuse and mount(2)) on a fresh
 * directory in /tmp, in a mount namespace of its own, so that nothing is ever
 * mounted where the rest of the system can see it, and lays out each ATTACK:
 *   fd    holds memfd:evil open: /proc/PID/fd/N reads "/memfd:evil" once the
 *         mount is detached, and GETATTR (stat) on it is never answered
 *   map   maps memfd:mapped shared, fd closed: maps reads "/memfd:mapped"
 *   exec  a child execs /bin/true with the file "stall" open O_CLOEXEC; exec
 *         closes it and waits for a FLUSH that is never answered, while it
 *         holds its own exec_update_lock: reading its fd links, opening its
 *         maps, block for as long
 * then detaches the mount (umount2 MNT_DETACH) and removes the directory:
 * from "ready" on, nothing of it is left on any file system.
 *
 * The server answers INIT, LOOKUP, OPEN, RELEASE, and FLUSH but the stall
 * file's; it never answers GETATTR, STATFS, READ or anything else.
 *
 * Output, one fact per line, then "ready":
 *   pid PID         the holder (this process)
 *   server PID      the daemon (a child)
 *   stalled PID     the process stuck in exec (with "exec")
 * or "skip REASON" and exit 77 when this kernel or sandbox cannot mount FUSE, or
 * (with "exec") when exec does not wait for FLUSH here.
 *
 * It ends when stdin closes or SIGTERM/SIGINT arrives: it kills the daemon first
 * (closing the last /dev/fuse fd aborts the connection, which fails every request
 * still waiting), so the stalled exec goes on and every file closes without a
 * wait; it reaps every child. The daemon dies with it (PR_SET_PDEATHSIG).
 */

#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "wait-end.h"

#define EXIT_SKIP 77

enum { NODE_ROOT = FUSE_ROOT_ID, NODE_EVIL, NODE_MAPPED, NODE_STALL };

static const char *const node_names[] = {
        [NODE_EVIL] = "memfd:evil",
        [NODE_MAPPED] = "memfd:mapped",
        [NODE_STALL] = "stall",
};

/* What finish() undoes, on every way out. */
static struct {
        pid_t server, stalled;
        dev_t dev; /* the mount's, once known */
        char *dir; /* the mount point, while it exists */
        bool mounted;
        bool bound; /* the directory is a private bind mount of itself (a chroot) */
} state;

/* Abort the connection through fusectl too, where it is mounted (it is not always). */
static void abort_connection(dev_t dev) {
        char path[96];
        int fd;

        snprintf(path, sizeof(path), "/sys/fs/fuse/connections/%u/abort", minor(dev));
        fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd >= 0) {
                (void) !write(fd, "1", 1);
                close(fd);
        }
}

/* Kill the daemon first: closing the last /dev/fuse fd aborts the connection, which fails every
 * request still waiting, so the stalled exec goes on and no file's close waits. Then reap, and
 * leave no mount point behind. */
static void finish(void) {
        if (state.dev)
                abort_connection(state.dev);
        if (state.server > 0) {
                kill(state.server, SIGKILL);
                waitpid(state.server, NULL, 0);
        }
        if (state.stalled > 0)
                waitpid(state.stalled, NULL, 0);
        if (state.mounted)
                umount2(state.dir, MNT_DETACH);
        if (state.bound)
                umount2(state.dir, MNT_DETACH);
        if (state.dir)
                rmdir(state.dir);
}

static void die(const char *what) {
        fprintf(stderr, "stallfs: %s: %s\n", what, strerror(errno));
        finish();
        exit(1);
}

static void skip(const char *what) {
        printf("skip %s: %s\n", what, strerror(errno));
        finish();
        exit(EXIT_SKIP);
}

static void reply(int dev, uint64_t unique, int error, const void *arg, size_t size) {
        struct {
                struct fuse_out_header h;
                char arg[256];
        } out = {
                .h = { .len = (uint32_t) (sizeof(out.h) + size), .error = -error, .unique = unique }
        };

        if (size > 0)
                memcpy(out.arg, arg, size);
        /* ENOENT: the request was interrupted meanwhile; nothing to do. */
        (void) !write(dev, &out, out.h.len);
}

static struct fuse_attr attr_of(uint64_t node) {
        return (struct fuse_attr){
                .ino = node,
                .size = node == NODE_ROOT ? 0 : 4096,
                .mode = node == NODE_ROOT ? S_IFDIR | 0755 : S_IFREG | 0644,
                .nlink = node == NODE_ROOT ? 2 : 1,
                .blksize = 4096,
        };
}

/* The daemon: answers what it must for the holder to open and map its files, then nothing.
 * Attributes are never cached (valid 0 s), so every stat of a file must ask, and gets no
 * answer. Writes a byte to @notify when the stall file's FLUSH arrives. */
static void serve(int dev, int notify) {
        static char buf[FUSE_MIN_READ_BUFFER + 65536];

        for (;;) {
                const struct fuse_in_header *in = (const void *) buf;
                const void *arg = buf + sizeof(*in);
                ssize_t n = read(dev, buf, sizeof(buf));

                if (n < 0 && (errno == EINTR || errno == ENOENT))
                        continue;
                if (n < (ssize_t) sizeof(*in))
                        _exit(0); /* ENODEV: unmounted or aborted */
                switch (in->opcode) {
                case FUSE_INIT: {
                        const struct fuse_init_in *i = arg;
                        struct fuse_init_out o = {
                                .major = FUSE_KERNEL_VERSION,
                                .minor = i->minor < FUSE_KERNEL_MINOR_VERSION
                                                 ? i->minor
                                                 : FUSE_KERNEL_MINOR_VERSION,
                                .max_write = 4096,
                                .max_pages = 1,
                        };
                        reply(dev, in->unique, 0, &o, sizeof(o));
                        break;
                }
                case FUSE_LOOKUP: {
                        struct fuse_entry_out o = {};

                        for (uint64_t k = NODE_EVIL; k <= NODE_STALL; k++)
                                if (in->nodeid == NODE_ROOT && strcmp(arg, node_names[k]) == 0)
                                        o = (struct fuse_entry_out){ .nodeid = k,
                                                                     .attr = attr_of(k) };
                        if (o.nodeid)
                                reply(dev, in->unique, 0, &o, sizeof(o));
                        else
                                reply(dev, in->unique, ENOENT, NULL, 0);
                        break;
                }
                case FUSE_GETATTR:
                        /* The root's, for the path walk; a file's never. */
                        if (in->nodeid == NODE_ROOT) {
                                struct fuse_attr_out o = { .attr = attr_of(NODE_ROOT) };
                                reply(dev, in->unique, 0, &o, sizeof(o));
                        }
                        break;
                case FUSE_OPEN: {
                        struct fuse_open_out o = { .fh = in->nodeid };
                        reply(dev, in->unique, 0, &o, sizeof(o));
                        break;
                }
                case FUSE_FLUSH:
                        if (in->nodeid == NODE_STALL) {
                                (void) !write(notify, "f", 1);
                                break;
                        }
                        reply(dev, in->unique, 0, NULL, 0);
                        break;
                case FUSE_RELEASE:
                        reply(dev, in->unique, 0, NULL, 0);
                        break;
                default:
                        /* FORGET, BATCH_FORGET and INTERRUPT take no answer; the rest gets none. */
                        break;
                }
        }
}

static bool wait_readable(int fd, int timeout_ms) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int r;

        while ((r = poll(&p, 1, timeout_ms)) < 0 && errno == EINTR)
                ;
        return r > 0;
}

int main(int argc, char *argv[]) {
        bool want_fd = false, want_map = false, want_exec = false;
        int dev, sfd, notify[2];
        struct stat st;
        char opts[128], path[4096], dir[] = "/tmp/stallfs-XXXXXX";

        if (argc < 2) {
                fprintf(stderr, "usage: stallfs fd|map|exec...\n");
                return 2;
        }
        for (int i = 1; i < argc; i++) {
                want_fd |= strcmp(argv[i], "fd") == 0;
                want_map |= strcmp(argv[i], "map") == 0;
                want_exec |= strcmp(argv[i], "exec") == 0;
        }
        setvbuf(stdout, NULL, _IOLBF, 0);
        sfd = end_signals();
        if (sfd < 0)
                die("signalfd");
        /* A test that dies takes this down (stdin closes too), and with it the daemon. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);

        dev = open("/dev/fuse", O_RDWR | O_CLOEXEC);
        if (dev < 0)
                skip("cannot open /dev/fuse");
        /* Our own mount namespace: the mount is never visible outside this process tree, and
         * goes away with it whatever happens. */
        if (unshare(CLONE_NEWNS) < 0)
                skip("cannot make a mount namespace");
        /* In a chroot "/" is no mount point and cannot be made private
         * (EINVAL): then the directory becomes one of its own, private, and
         * the FUSE mount goes on top of it. */
        state.bound = mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0;
        if (state.bound && errno != EINVAL)
                die("make / private");
        if (!mkdtemp(dir))
                die("mkdtemp");
        state.dir = dir;
        if (state.bound && (mount(dir, dir, NULL, MS_BIND, NULL) < 0 ||
                            mount(NULL, dir, NULL, MS_PRIVATE, NULL) < 0))
                die("make the mount point private");
        snprintf(opts, sizeof(opts), "fd=%d,rootmode=40000,user_id=0,group_id=0,allow_other", dev);
        if (mount("stallfs", dir, "fuse.stallfs", MS_NOSUID | MS_NODEV, opts) < 0)
                skip("cannot mount FUSE");
        state.mounted = true;
        if (pipe2(notify, O_CLOEXEC) < 0)
                die("pipe");

        state.server = fork();
        if (state.server < 0)
                die("fork");
        if (state.server == 0) {
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                close(notify[0]);
                serve(dev, notify[1]);
                _exit(0);
        }
        /* The daemon's copy must be the last: its death then aborts the connection. */
        close(dev);
        close(notify[1]);
        printf("pid %d\nserver %d\n", (int) getpid(), (int) state.server);
        /* The mount's device, for fusectl (this GETATTR of the root is answered). */
        if (stat(dir, &st) < 0)
                die("stat the mount");
        state.dev = st.st_dev;

        if (want_exec) {
                pid_t stalled = fork();

                if (stalled < 0)
                        die("fork");
                if (stalled == 0) {
                        snprintf(path, sizeof(path), "%s/%s", dir, node_names[NODE_STALL]);
                        if (open(path, O_RDONLY | O_CLOEXEC) < 0)
                                _exit(1);
                        execl("/bin/true", "true", (char *) NULL);
                        _exit(127);
                }
                state.stalled = stalled;
                if (!wait_readable(notify[0], 10000)) {
                        errno = ETIMEDOUT;
                        skip("exec does not wait for FLUSH on this kernel");
                }
                printf("stalled %d\n", (int) stalled);
        }
        /* Held until exit: the fd, and the mapping of a file whose fd is closed. */
        if (want_fd) {
                snprintf(path, sizeof(path), "%s/%s", dir, node_names[NODE_EVIL]);
                if (open(path, O_RDONLY | O_CLOEXEC) < 0)
                        die("open memfd:evil");
        }
        if (want_map) {
                int fd;

                snprintf(path, sizeof(path), "%s/%s", dir, node_names[NODE_MAPPED]);
                fd = open(path, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        die("open memfd:mapped");
                if (mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0) == MAP_FAILED)
                        die("mmap memfd:mapped");
                close(fd);
        }
        /* Detached, its files' paths read from the mount's own root: "/memfd:evil". */
        if (umount2(dir, MNT_DETACH) < 0)
                die("umount2");
        state.mounted = false;
        if (state.bound && umount2(dir, MNT_DETACH) < 0)
                die("umount2 of the private mount point");
        state.bound = false;
        if (rmdir(dir) < 0)
                die("rmdir");
        state.dir = NULL;
        printf("ready\n");

        wait_for_end(sfd);
        finish();
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lmm-demo — the tour: start a private manager, create blocks, share one
 * between two processes that each read what the other wrote, hand it to a
 * confined worker (this program again, as "lmm-demo worker") that reads it
 * and is refused a socket, list them, shut down, and show the data still
 * readable (and sealed) afterwards.
 */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lmm.h"

#define CHECK(expr)                                                                         \
        do {                                                                                \
                int _r = (expr);                                                            \
                if (_r < 0) {                                                               \
                        fprintf(stderr, "lmm-demo: %s failed: %s\n", #expr, strerror(-_r)); \
                        exit(1);                                                            \
                }                                                                           \
        } while (0)

/* The worker: its block is fd 3, found by name; it may read it, and the
 * launch profile refuses it a network socket. */
static int worker(void) {
        lmm_segment *s = NULL;
        const char *q = NULL;
        int sock;

        CHECK(lmm_segment_from_listen_fds("board", &s));
        CHECK(lmm_segment_map(s, 0, (void **) &q));
        printf("   worker %d read: \"%s\" (%s)\n", (int) getpid(), q,
               lmm_segment_is_writable(s) ? "read-write" : "read-only");
        sock = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int e = errno;
        printf("   worker's socket(AF_INET): %s\n", sock < 0 && errno == LMM_SANDBOX_ERRNO
                                                            ? "refused by the sandbox (ENOSTR)"
                                                    : sock < 0 ? strerror(errno)
                                                               : "allowed (unexpected!)");
        lmm_segment_unref(s);
        /* _exit(): a confined process cannot run what a sanitizer's exit
         * handlers would (LeakSanitizer needs ptrace and /proc). */
        fflush(stdout);
        _exit(sock < 0 && e == LMM_SANDBOX_ERRNO ? 0 : 1);
}

int main(int argc, char *argv[]) {
        _lmm_cleanup_(lmm_server_unrefp) lmm_server *smm = NULL;
        lmm_segment *board = NULL, *scratch = NULL;
        lmm_block_info *blocks = NULL;
        int to_child[2], to_parent[2], status;
        size_t n = 0;
        char *p, x, seals[64];
        pid_t pid;

        setvbuf(stdout, NULL, _IOLBF, 0);
        if (argc > 1 && strcmp(argv[1], "worker") == 0)
                return worker();

        /* 1. A private manager: no system daemon, no configuration. */
        CHECK(lmm_server_start(NULL, &smm));
        printf("1. started a manager, pid %d, at %s\n", (int) lmm_server_get_pid(smm),
               lmm_server_get_address(smm));

        /* 2. Two blocks: a named one to share, and an anonymous one. */
        lmm_client *c = lmm_server_get_client(smm);
        CHECK(lmm_segment_create(c, &(lmm_segment_opts){ .size = 4096, .name = "board" }, &board));
        CHECK(lmm_segment_create(c, &(lmm_segment_opts){ .size = 1 << 20 }, &scratch));
        CHECK(lmm_segment_map(board, 0, (void **) &p));
        printf("2. created \"board\" (4 KiB) and \"%s\" (1 MiB)\n", lmm_segment_get_name(scratch));

        /* 3. Another process opens "board" by name; each reads what the other wrote. */
        if (pipe2(to_child, O_CLOEXEC) < 0 || pipe2(to_parent, O_CLOEXEC) < 0)
                return 1;
        strcpy(p, "hello from the parent");
        pid = fork();
        if (pid == 0) {
                lmm_client *cc = NULL;
                lmm_segment *s = NULL;
                char *q = NULL;

                CHECK(lmm_client_connect(lmm_server_get_address(smm), &cc));
                CHECK(lmm_segment_open(cc, "board", 0, &s));
                CHECK(lmm_segment_map(s, 0, (void **) &q));
                printf("3. child %d read:  \"%s\"\n", (int) getpid(), q);
                snprintf(q + 2048, 2048, "hello from child %d", (int) getpid());
                (void) !write(to_parent[1], "x", 1);
                (void) !read(to_child[0], &x, 1);
                lmm_segment_unref(s);
                lmm_client_unref(cc);
                _exit(0);
        }
        (void) !read(to_parent[0], &x, 1);
        printf("   parent read:    \"%s\"\n", p + 2048);
        (void) !write(to_child[1], "x", 1);
        waitpid(pid, &status, 0);

        /* 3b. A worker we do not trust: "board" is frozen first (publish, then
         * share: no new writable mapping for anyone, ours keeps working), then
         * passed to it as fd 3, read-only, and the worker is confined with
         * seccomp's launch profile. */
        CHECK(lmm_block_freeze(c, "board"));
        lmm_launch *l = NULL;
        lmm_worker *wk = NULL;
        char self[4096];
        ssize_t k = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (k < 0)
                return 1;
        self[k] = 0; /* the worker cannot see /proc: name the program by its path */
        CHECK(lmm_launch_new(&l));
        CHECK(lmm_launch_add_block(l, board, LMM_LAUNCH_READ_ONLY));
        int r = lmm_launch_spawn(l, self, (char *[]){ argv[0], "worker", NULL }, NULL, &wk);
        if (r < 0)
                printf("3b. no confined worker here: %s\n", lmm_launch_last_error(l));
        else {
                printf("3b. froze \"board\"; launched a confined worker, pid %d, with it "
                       "read-only\n",
                       (int) lmm_worker_get_pid(wk));
                CHECK(lmm_worker_wait(wk, &status));
                if (status != 0)
                        return 1;
                lmm_worker_free(wk);
        }
        lmm_launch_free(l);

        /* 4. What the manager holds. */
        CHECK(lmm_block_list(c, &blocks, &n));
        printf("4. the manager holds %zu blocks:\n", n);
        for (size_t i = 0; i < n; i++)
                printf("   %-24s %8" PRIu64 " bytes  seals %s\n", blocks[i].name, blocks[i].size,
                       lmm_seals_to_string(blocks[i].seals, seals, sizeof(seals)));
        free(blocks);

        /* 5. Shut down: every block sealed, the manager's references dropped. */
        CHECK(lmm_server_shutdown(smm));
        printf("5. shut the manager down\n");

        /* 6. The mapping we hold lives on, readable and writable; no new writable mapping. */
        printf("6. after shutdown the block still reads \"%s\" / \"%s\"\n", p, p + 2048);
        strcpy(p, "written after shutdown");
        printf("   and our mapping still writes: \"%s\"\n", p);
        int fd = lmm_segment_get_fd(board);
        printf("   seals now: %s\n",
               lmm_seals_to_string((uint32_t) fcntl(fd, F_GET_SEALS), seals, sizeof(seals)));
        void *w = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        printf("   a new writable mapping: %s\n",
               w == MAP_FAILED ? strerror(errno) : "allowed (unexpected!)");

        lmm_segment_unref(board);
        lmm_segment_unref(scratch);
        printf("done: the kernel frees each block when its last holder closes it.\n");
        return w == MAP_FAILED ? 0 : 1;
}

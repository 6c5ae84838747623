/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Block scopes and adoption, against the built lmmd, in real processes.
 */

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"
#include "harness.h"
#include "lmm.h"

TestSuite(scope, .init = fixture_lmmd_start, .fini = fixture_lmmd_stop, .timeout = 60);
TestSuite(adopt, .init = fixture_lmmd_start, .fini = fixture_lmmd_stop, .timeout = 60);

static bool exists(lmm_client *c, const char *name) {
        lmm_block_info info;
        int r = lmm_block_stat(c, name, &info);
        cr_assert(r == 0 || r == -ENOENT, "stat: %s", strerror(-r));
        return r == 0;
}

/* Wait until the manager has noticed a closed connection: poll with stat. */
static bool gone_soon(lmm_client *c, const char *name) {
        for (int i = 0; i < 200; i++) {
                if (!exists(c, name))
                        return true;
                usleep(5000);
        }
        return false;
}

Test(scope, connection_scoped_block_goes_with_its_connection) {
        lmm_client *owner = fixture_client(), *other = fixture_client();
        lmm_segment *s = NULL;
        lmm_block_info info;
        char *p;

        cr_assert_eq(lmm_segment_create(owner,
                                        &(lmm_segment_opts){ .size = 4096,
                                                             .name = "temp",
                                                             .flags = LMM_CREATE_SCOPE_CONNECTION },
                                        &s),
                     0);
        cr_assert_eq(lmm_block_stat(other, "temp", &info), 0);
        cr_assert(info.flags & LMM_BLOCK_SCOPE_CONNECTION);
        cr_assert_eq(lmm_segment_map(s, 0, (void **) &p), 0);
        strcpy(p, "mine");

        lmm_client_unref(owner);
        cr_assert(gone_soon(other, "temp"), "released when its connection closed");
        cr_assert_str_eq(p, "mine", "the holder keeps its memory");
        lmm_segment_unref(s);
        lmm_client_unref(other);
}

Test(scope, kill_9_of_the_creator_releases_connection_scoped_blocks_only) {
        lmm_client *c = fixture_client();
        int ready[2];
        char x;
        pid_t pid;

        cr_assert_eq(pipe2(ready, O_CLOEXEC), 0);
        pid = fork();
        if (pid == 0) {
                lmm_client *cc = NULL;
                lmm_segment *a = NULL, *b = NULL;

                if (lmm_client_connect(fixture_lmmd.sock, &cc) < 0 ||
                    lmm_segment_create(cc,
                                       &(lmm_segment_opts){ .size = 4096,
                                                            .name = "scoped",
                                                            .flags = LMM_CREATE_SCOPE_CONNECTION },
                                       &a) < 0 ||
                    lmm_segment_create(cc, &(lmm_segment_opts){ .size = 4096, .name = "kept" },
                                       &b) < 0)
                        _exit(1);
                (void) !write(ready[1], "x", 1);
                pause();
                _exit(0);
        }
        cr_assert_eq(read(ready[0], &x, 1), 1);
        cr_assert(exists(c, "scoped"));
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);

        cr_assert(gone_soon(c, "scoped"));
        cr_assert(exists(c, "kept"),
                  "a manager-scoped block outlives its creator (Python's behaviour)");
        cr_assert_not(harness_memfd_anywhere("lmm:scoped"), "nothing is left of it anywhere");
        lmm_client_unref(c);
}

Test(scope, released_scoped_block_is_not_released_twice) {
        lmm_client *owner = fixture_client(), *other = fixture_client();
        lmm_segment *s = NULL, *t = NULL;

        cr_assert_eq(lmm_segment_create(owner,
                                        &(lmm_segment_opts){ .size = 4096,
                                                             .name = "x",
                                                             .flags = LMM_CREATE_SCOPE_CONNECTION },
                                        &s),
                     0);
        cr_assert_eq(lmm_block_release(other, "x"), 0);
        /* The name is reused by someone else, for a block of the default scope. */
        cr_assert_eq(
                lmm_segment_create(other, &(lmm_segment_opts){ .size = 4096, .name = "x" }, &t), 0);
        lmm_client_unref(owner);
        usleep(50000);
        cr_assert(exists(other, "x"), "the new block of that name is not touched");
        lmm_segment_unref(s);
        lmm_segment_unref(t);
        lmm_client_unref(other);
}

Test(adopt, a_memfd_of_ones_own_becomes_a_block) {
        lmm_client *c = fixture_client(), *other = fixture_client();
        lmm_segment *s = NULL, *o = NULL;
        int fd = memfd_create("mine", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        char *p;

        cr_assert_geq(fd, 0);
        cr_assert_eq(ftruncate(fd, 8192), 0);
        cr_assert_eq(pwrite(fd, "made by me", 10, 100), 10);
        cr_assert_eq(lmm_segment_adopt(c, fd, "adopted", 0, &s), 0, "%s",
                     lmm_client_last_error(c) ?: "");

        /* The size is sealed now, for every holder, including the one who made it. */
        cr_assert_eq(fcntl(fd, F_GET_SEALS) & (F_SEAL_SHRINK | F_SEAL_GROW),
                     F_SEAL_SHRINK | F_SEAL_GROW);
        cr_assert_eq(ftruncate(fd, 0), -1);
        close(fd);

        cr_assert_eq(lmm_segment_open(other, "adopted", 0, &o), 0);
        cr_assert_eq(lmm_segment_get_size(o), 8192);
        cr_assert_eq(lmm_segment_map(o, 0, (void **) &p), 0);
        cr_assert_eq(memcmp(p + 100, "made by me", 10), 0);

        lmm_block_info info;
        cr_assert_eq(lmm_block_stat(other, "adopted", &info), 0);
        cr_assert(info.flags & LMM_BLOCK_ADOPTED);
        lmm_segment_unref(s);
        lmm_segment_unref(o);
        lmm_client_unref(c);
        lmm_client_unref(other);
}

Test(adopt, anything_but_a_sealable_memfd_is_refused) {
        lmm_client *c = fixture_client();
        lmm_segment *s = NULL;
        char path[] = "/tmp/lmm-adopt-XXXXXX";
        int file = mkostemp(path, O_CLOEXEC), pipes[2], nosealing, empty, ro;

        cr_assert_geq(file, 0);
        unlink(path);
        cr_assert_eq(ftruncate(file, 4096), 0);
        cr_assert_eq(lmm_segment_adopt(c, file, "file", 0, &s), -EINVAL);
        cr_assert(strstr(lmm_client_last_error(c), "not a memfd"), "%s", lmm_client_last_error(c));

        cr_assert_eq(pipe2(pipes, O_CLOEXEC), 0);
        cr_assert_lt(lmm_segment_adopt(c, pipes[0], "pipe", 0, &s), 0);

        nosealing = memfd_create("nosealing", MFD_CLOEXEC);
        cr_assert_eq(ftruncate(nosealing, 4096), 0);
        cr_assert_eq(lmm_segment_adopt(c, nosealing, "nosealing", 0, &s), -EPERM);
        cr_assert(strstr(lmm_client_last_error(c), "sealed against new seals"), "%s",
                  lmm_client_last_error(c));

        {
                int sealed = memfd_create("sealed", MFD_CLOEXEC | MFD_ALLOW_SEALING);
                cr_assert_eq(ftruncate(sealed, 4096), 0);
                cr_assert_eq(fcntl(sealed, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL),
                             0);
                cr_assert_eq(lmm_segment_adopt(c, sealed, "sealed", 0, &s), -EPERM);
                cr_assert(strstr(lmm_client_last_error(c), "F_SEAL_SEAL"), "%s",
                          lmm_client_last_error(c));
                close(sealed);
        }

        empty = memfd_create("empty", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        cr_assert_eq(lmm_segment_adopt(c, empty, "empty", 0, &s), -EINVAL);

        ro = open("/proc/self/fd/0", O_RDONLY | O_CLOEXEC); /* any read-only fd */
        if (ro >= 0) {
                int m = memfd_create("ro", MFD_CLOEXEC | MFD_ALLOW_SEALING), rofd;
                char p2[64];
                cr_assert_eq(ftruncate(m, 4096), 0);
                snprintf(p2, sizeof(p2), "/proc/self/fd/%d", m);
                rofd = open(p2, O_RDONLY | O_CLOEXEC);
                cr_assert_eq(lmm_segment_adopt(c, rofd, "ro", 0, &s), -EPERM);
                close(rofd);
                close(m);
                close(ro);
        }
        cr_assert_eq(lmm_segment_adopt(c, -1, "bad", 0, &s), -EBADF);
        cr_assert_null(s);

        lmm_block_info *b = NULL;
        size_t n = 99;
        cr_assert_eq(lmm_block_list(c, &b, &n), 0);
        cr_assert_eq(n, 0, "nothing was adopted");
        free(b);
        close(file);
        close(pipes[0]);
        close(pipes[1]);
        close(nosealing);
        close(empty);
        lmm_client_unref(c);
}

Test(adopt, no_aliases_and_no_write_only_fds) {
        lmm_client *c = fixture_client();
        lmm_segment *s = NULL, *o = NULL, *x = NULL;
        char path[64];
        int m, wronly;

        cr_assert_eq(
                lmm_segment_create(c, &(lmm_segment_opts){ .size = 4096, .name = "victim" }, &s),
                0);
        cr_assert_eq(lmm_segment_open(c, "victim", 0, &o), 0);
        /* The same memory under a second name would let its adopter freeze or release it. */
        cr_assert_eq(lmm_segment_adopt(c, lmm_segment_get_fd(o), "alias", 0, &x), -EEXIST);
        cr_assert(strstr(lmm_client_last_error(c), "it is block \"victim\" already"), "%s",
                  lmm_client_last_error(c));

        /* A write-only fd must not come back readable. */
        m = memfd_create("wo", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        cr_assert_eq(ftruncate(m, 4096), 0);
        snprintf(path, sizeof(path), "/proc/self/fd/%d", m);
        wronly = open(path, O_WRONLY | O_CLOEXEC);
        cr_assert_geq(wronly, 0);
        cr_assert_eq(lmm_segment_adopt(c, wronly, "wo", 0, &x), -EPERM);
        cr_assert_null(x);
        close(wronly);
        close(m);
        lmm_segment_unref(s);
        lmm_segment_unref(o);
        lmm_client_unref(c);
}

Test(adopt, connection_scope_applies_to_adopted_blocks) {
        lmm_client *c = fixture_client(), *other = fixture_client();
        lmm_segment *s = NULL;
        int fd = memfd_create("scoped-adopt", MFD_CLOEXEC | MFD_ALLOW_SEALING);

        cr_assert_eq(ftruncate(fd, 4096), 0);
        cr_assert_eq(lmm_segment_adopt(c, fd, "sa", LMM_CREATE_SCOPE_CONNECTION, &s), 0);
        close(fd);
        cr_assert(exists(other, "sa"));
        lmm_client_unref(c);
        cr_assert(gone_soon(other, "sa"));
        lmm_segment_unref(s);
        lmm_client_unref(other);
}

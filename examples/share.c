/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lmm-share — the life of a block in one program: start a private manager,
 * create a named block and write to it, let another process open it by
 * name and read it, freeze it, release it and shut the manager down. The
 * memory outlives all of that for whoever still maps it.
 *
 * Shown in lmm(3).
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lmm.h>

static int fail(const char *what, int r) {
        fprintf(stderr, "lmm-share: %s: %s\n", what, strerror(-r));
        return 1;
}

/* In another process: open the block by name, read-only, and print it. */
static int reader(const char *address) {
        lmm_client *c = NULL;
        lmm_segment *s = NULL;
        const char *p;
        int r;

        /* A forked child may not use its parent's client: it connects. */
        r = lmm_client_connect(address, &c);
        if (r >= 0)
                r = lmm_segment_open(c, "greeting", LMM_OPEN_RDONLY, &s);
        if (r >= 0)
                r = lmm_segment_map(s, 0, (void **) &p);
        if (r >= 0) {
                printf("another process reads: %s\n", p);
                fflush(stdout); /* _exit() will not */
        }
        lmm_segment_unref(s);
        lmm_client_unref(c);
        return r < 0 ? fail("reading \"greeting\"", r) : 0;
}

int main(void) {
        _lmm_cleanup_(lmm_server_unrefp) lmm_server *smm = NULL;
        _lmm_cleanup_(lmm_segment_unrefp) lmm_segment *s = NULL;
        lmm_client *c;
        int r, status;
        char *p;
        pid_t pid;

        /* A manager of our own; lmm_client_connect(NULL, ...) would reach lmmd. */
        r = lmm_server_start(NULL, &smm);
        if (r < 0)
                return fail("starting a manager", r);
        c = lmm_server_get_client(smm);

        r = lmm_segment_create(c, &(lmm_segment_opts){ .size = 4096, .name = "greeting" }, &s);
        if (r < 0)
                return fail("creating \"greeting\"", r);
        r = lmm_segment_map(s, 0, (void **) &p);
        if (r < 0)
                return fail("mapping \"greeting\"", r);
        strcpy(p, "hello from the creator");

        pid = fork();
        if (pid < 0)
                return fail("fork", -errno);
        if (pid == 0)
                _exit(reader(lmm_server_get_address(smm)));
        if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return 1;

        /* Publish it: nobody can map it writable any more; our mapping still is. */
        r = lmm_block_freeze(c, "greeting");
        if (r < 0)
                return fail("freezing \"greeting\"", r);
        /* Drop the name: the memory lives on while someone holds it, as we do. */
        r = lmm_block_release(c, "greeting");
        if (r < 0)
                return fail("releasing \"greeting\"", r);
        r = lmm_server_shutdown(smm);
        if (r < 0)
                return fail("shutting the manager down", r);
        printf("after the manager is gone, the block still reads: %s\n", p);
        return 0;
}

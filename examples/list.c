/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lmm-list — a typed list in shared memory (Python's ShareableList): one
 * process lays it out, another opens it by name and changes two items, and
 * the first reads them back, each item whole.
 *
 * Shown in lmm-shareable-list(3).
 */

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lmm.h>

static int fail(const char *what, int r) {
        fprintf(stderr, "lmm-list: %s: %s\n", what, strerror(-r));
        return 1;
}

/* In another process: count a frame and say who did. */
static int worker(const char *address) {
        lmm_client *c = NULL;
        lmm_list *l = NULL;
        lmm_item frames, next, who = lmm_item_str("worker");
        int r;

        r = lmm_client_connect(address, &c);
        if (r >= 0)
                r = lmm_list_open(c, "status", 0, &l);
        if (r >= 0)
                r = lmm_list_get(l, 1, &frames, NULL, 0); /* an int: no buffer needed */
        if (r >= 0) {
                next = lmm_item_int(frames.i + 1);
                r = lmm_list_set(l, 1, &next);
        }
        if (r >= 0)
                r = lmm_list_set(l, 0, &who);
        lmm_list_unref(l);
        lmm_client_unref(c);
        return r < 0 ? fail("updating \"status\"", r) : 0;
}

int main(void) {
        _lmm_cleanup_(lmm_server_unrefp) lmm_server *smm = NULL;
        lmm_list *l = NULL;
        char who[32];
        lmm_item items[] = {
                lmm_item_with_capacity(lmm_item_str("nobody"), sizeof(who) - 1),
                lmm_item_int(41),
                lmm_item_double(0.5),
        };
        lmm_item name, frames;
        int r, status;
        pid_t pid;

        r = lmm_server_start(NULL, &smm);
        if (r < 0)
                return fail("starting a manager", r);
        r = lmm_list_create(lmm_server_get_client(smm), "status", items, 3, 0, &l);
        if (r < 0)
                return fail("creating \"status\"", r);

        pid = fork();
        if (pid == 0)
                _exit(worker(lmm_server_get_address(smm)));
        if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
            WEXITSTATUS(status) != 0)
                return 1;

        /* A string comes back in our buffer, NUL-terminated when there is room. */
        r = lmm_list_get(l, 0, &name, who, sizeof(who));
        if (r >= 0)
                r = lmm_list_get(l, 1, &frames, NULL, 0);
        if (r < 0)
                return fail("reading \"status\"", r);
        printf("%" PRId64 " frames, the last by %s (%zu bytes)\n", frames.i, who, name.buf.len);
        lmm_list_unref(l);
        return frames.i == 42 && strcmp(who, "worker") == 0 ? 0 : 1;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * consumer — a program of someone else's that uses liblmm as a packager
 * installs it, or as a meson subproject: it sees lmm.h (with
 * lmm-version.h) and links -llmm, nothing else of the tree. Its own
 * functions are named like liblmm's internal ones, which the library must
 * not export, shared or static, or the link fails or picks the wrong one.
 *
 * It checks lmm_version() against the header's macros, starts a private
 * manager, and reads in a child what it wrote in a block. Exit status 0
 * when all went well; else a line on stderr says what did not.
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lmm.h>

/* Names that liblmm uses inside (lib/util.h, lib/connection.h, lib/wire.h). */
int parse_size(void);
int connection_init(void);
int wire_encode(void);
int parse_size(void) {
        return 1;
}
int connection_init(void) {
        return 2;
}
int wire_encode(void) {
        return 3;
}

static int fail(const char *what, int r) {
        fprintf(stderr, "consumer: %s: %s\n", what, strerror(r < 0 ? -r : r));
        return 1;
}

int main(void) {
        lmm_server *srv = NULL;
        lmm_segment *s = NULL;
        char header[32], *p = NULL;
        int r, status;
        pid_t pid;

        snprintf(header, sizeof(header), "%d.%d.%d", LMM_VERSION_MAJOR, LMM_VERSION_MINOR,
                 LMM_VERSION_MICRO);
        if (strcmp(lmm_version(), header) != 0) {
                fprintf(stderr, "consumer: lmm_version() is %s, the header says %s\n",
                        lmm_version(), header);
                return 1;
        }
        if (parse_size() + connection_init() + wire_encode() != 6) {
                fprintf(stderr, "consumer: a function of its own resolved to liblmm's\n");
                return 1;
        }

        r = lmm_server_start(NULL, &srv);
        if (r < 0)
                return fail("lmm_server_start()", r);
        r = lmm_segment_create(lmm_server_get_client(srv),
                               &(lmm_segment_opts){ .size = 4096, .name = "consumer" }, &s);
        if (r < 0)
                return fail("lmm_segment_create()", r);
        r = lmm_segment_map(s, 0, (void **) &p);
        if (r < 0)
                return fail("lmm_segment_map()", r);
        strcpy(p, "written by the consumer");

        pid = fork();
        if (pid < 0)
                return fail("fork()", errno);
        if (pid == 0) {
                lmm_client *c = NULL;
                lmm_segment *t = NULL;
                char *q = NULL;

                if (lmm_client_connect(lmm_server_get_address(srv), &c) < 0 ||
                    lmm_segment_open(c, "consumer", LMM_OPEN_RDONLY, &t) < 0 ||
                    lmm_segment_map(t, 0, (void **) &q) < 0)
                        _exit(2);
                _exit(strcmp(q, "written by the consumer") == 0 ? 0 : 3);
        }
        if (waitpid(pid, &status, 0) < 0)
                return fail("waitpid()", errno);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                fprintf(stderr, "consumer: the child did not read the block (status %#x)\n",
                        (unsigned) status);
                return 1;
        }

        lmm_segment_unref(s);
        r = lmm_server_shutdown(srv);
        if (r < 0)
                return fail("lmm_server_shutdown()", r);
        lmm_server_unref(srv);
        printf("consumer: liblmm %s, a block shared with a child, a clean shutdown\n",
               lmm_version());
        return 0;
}

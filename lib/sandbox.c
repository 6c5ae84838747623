/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sandbox — STUB until the profiles land (issue 7, the other half): every
 * profile is a filter that allows every call, so that the launcher can be
 * built and tested against sandbox.h. Drop this file when merging the real
 * lib/sandbox.c; nothing here is meant to survive.
 */

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/seccomp.h>

#include "sandbox.h"

static const char *const profile_names[_SANDBOX_PROFILE_MAX] = {
        [SANDBOX_PROFILE_COMPUTE] = "compute",
        [SANDBOX_PROFILE_LAUNCH] = "launch",
};

const char *sandbox_profile_to_string(sandbox_profile p) {
        if (p < 0 || p >= _SANDBOX_PROFILE_MAX)
                return NULL;
        return profile_names[p];
}

sandbox_profile sandbox_profile_from_string(const char *s) {
        if (!s)
                return _SANDBOX_PROFILE_INVALID;
        for (int p = 0; p < _SANDBOX_PROFILE_MAX; p++)
                if (strcmp(s, profile_names[p]) == 0)
                        return (sandbox_profile) p;
        return _SANDBOX_PROFILE_INVALID;
}

int sandbox_build(sandbox_profile p, uint32_t flags, struct sock_fprog *ret) {
        struct sock_filter *f;

        if (p < 0 || p >= _SANDBOX_PROFILE_MAX || (flags & ~(uint32_t) SANDBOX_KILL))
                return -EINVAL;
        f = calloc(1, sizeof(*f));
        if (!f)
                return -ENOMEM;
        f[0] = (struct sock_filter) BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
        *ret = (struct sock_fprog){ .len = 1, .filter = f };
        return 0;
}

void sandbox_program_done(struct sock_fprog *p) {
        if (!p)
                return;
        free(p->filter);
        *p = (struct sock_fprog){};
}

int sandbox_apply(const struct sock_fprog *prog, bool tsync) {
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return -errno;
        if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, tsync ? SECCOMP_FILTER_FLAG_TSYNC : 0,
                    prog) < 0)
                return -errno;
        return 0;
}

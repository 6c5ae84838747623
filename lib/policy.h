/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * policy — who may do what, as a pure function of the peer's credentials
 * (taken once, at connect), the operation, and the block it acts on. No
 * syscalls, no manager state: unit tests drive every rule with made-up
 * credentials, without root.
 *
 * The rules (docs/security.md):
 *   - connect: the manager's uid and root always; other uids when listed
 *     (--allow-uid) or when their primary or a supplementary gid is listed
 *     (--allow-gid);
 *   - create, adopt, list: every connected peer;
 *   - stat, open read-only (and seeing a block in LIST): the owner, and
 *     every other peer when the owner shares the block (OTHERS_READ);
 *   - open read-write: the owner, and every other peer when the owner shares
 *     the block read-write (OTHERS_WRITE);
 *   - freeze, release: the block's owner only;
 *   - shutdown, re-execute: nobody but the privileged.
 * The manager's uid and root are "privileged": they may do everything to
 * every block, and the caps over all users never lock them out.
 * A block a peer may not see is refused as if it did not exist.
 */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "registry.h"

typedef struct peer_creds {
        pid_t pid;
        uid_t uid;
        gid_t gid;
        const gid_t *groups; /* supplementary groups (SO_PEERGROUPS); may be NULL */
        size_t n_groups;
} peer_creds;

typedef struct policy {
        uid_t manager_uid;
        const uid_t *allow_uids;
        size_t n_allow_uids;
        const gid_t *allow_gids;
        size_t n_allow_gids;
} policy;

typedef enum policy_op {
        POLICY_CONNECT,
        POLICY_CREATE,
        POLICY_ADOPT,
        POLICY_OPEN_READ,
        POLICY_OPEN_WRITE,
        POLICY_STAT,
        POLICY_LIST,
        POLICY_FREEZE,
        POLICY_RELEASE,
        POLICY_SHUTDOWN,
        POLICY_REEXEC,
        _POLICY_OP_MAX,
} policy_op;

typedef enum policy_verdict {
        POLICY_ALLOW = 0,
        POLICY_DENY_UID,         /* connect: neither the uid nor a gid is allowed */
        POLICY_DENY_HIDDEN,      /* another uid's block, not shared with others */
        POLICY_DENY_READ_ONLY,   /* another uid's block, shared read-only */
        POLICY_DENY_NOT_OWNER,   /* another uid's block: only its owner may */
        POLICY_DENY_NOT_MANAGER, /* only the manager's uid and root may */
        _POLICY_VERDICT_MAX,
} policy_verdict;

/* policy_check() - may @c do @op (on @b, NULL where the op has no block)? */
policy_verdict policy_check(const policy *p, const peer_creds *c, policy_op op,
                            const registry_block *b);

/* policy_is_privileged() - the manager's uid or root: never locked out by caps over all users. */
bool policy_is_privileged(const policy *p, const peer_creds *c);

/* policy_wants_groups() - whether policy_check() may need @c's supplementary groups. */
bool policy_wants_groups(const policy *p);

/* policy_others_allowed() - whether any uid but the manager's and root may connect. */
bool policy_others_allowed(const policy *p);

/* "connect", "freeze", ...; never NULL. */
const char *policy_op_to_string(policy_op op);
/* "allow", "uid not allowed", "not shared", ...; never NULL. */
const char *policy_verdict_to_string(policy_verdict v);

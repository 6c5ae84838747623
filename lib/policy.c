/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * policy — the access rules, pure. See policy.h.
 */

#include "policy.h"
#include "util.h"

static const char *const op_table[_POLICY_OP_MAX] = {
        [POLICY_CONNECT] = "connect",
        [POLICY_CREATE] = "create",
        [POLICY_ADOPT] = "adopt",
        [POLICY_OPEN_READ] = "open read-only",
        [POLICY_OPEN_WRITE] = "open read-write",
        [POLICY_STAT] = "stat",
        [POLICY_LIST] = "list",
        [POLICY_FREEZE] = "freeze",
        [POLICY_RELEASE] = "release",
        [POLICY_SHUTDOWN] = "shutdown",
        [POLICY_REEXEC] = "re-execute",
};

static const char *const verdict_table[_POLICY_VERDICT_MAX] = {
        [POLICY_ALLOW] = "allow",
        [POLICY_DENY_UID] = "uid not allowed",
        [POLICY_DENY_HIDDEN] = "not shared",
        [POLICY_DENY_READ_ONLY] = "shared read-only",
        [POLICY_DENY_NOT_OWNER] = "not the owner",
        [POLICY_DENY_NOT_MANAGER] = "not the manager's uid",
};

const char *policy_op_to_string(policy_op op) {
        return (unsigned) op < _POLICY_OP_MAX ? op_table[op] : "unknown";
}

const char *policy_verdict_to_string(policy_verdict v) {
        return (unsigned) v < _POLICY_VERDICT_MAX ? verdict_table[v] : "unknown";
}

bool policy_is_privileged(const policy *p, const peer_creds *c) {
        /* Root can read our memory anyway; refusing it would protect nothing. */
        return c->uid == p->manager_uid || c->uid == 0;
}

bool policy_wants_groups(const policy *p) {
        return p->n_allow_gids > 0;
}

bool policy_others_allowed(const policy *p) {
        return p->n_allow_uids > 0 || p->n_allow_gids > 0;
}

static bool gid_listed(const policy *p, gid_t gid) {
        for (size_t i = 0; i < p->n_allow_gids; i++)
                if (p->allow_gids[i] == gid)
                        return true;
        return false;
}

static bool may_connect(const policy *p, const peer_creds *c) {
        if (policy_is_privileged(p, c))
                return true;
        for (size_t i = 0; i < p->n_allow_uids; i++)
                if (p->allow_uids[i] == c->uid)
                        return true;
        if (gid_listed(p, c->gid))
                return true;
        for (size_t k = 0; k < c->n_groups; k++)
                if (gid_listed(p, c->groups[k]))
                        return true;
        return false;
}

/* The owner, or a peer that may do what the owner may. */
static bool is_owner(const policy *p, const peer_creds *c, const registry_block *b) {
        return c->uid == b->uid || policy_is_privileged(p, c);
}

policy_verdict policy_check(const policy *p, const peer_creds *c, policy_op op,
                            const registry_block *b) {
        switch (op) {
        case POLICY_CONNECT:
                return may_connect(p, c) ? POLICY_ALLOW : POLICY_DENY_UID;
        case POLICY_CREATE:
        case POLICY_ADOPT:
        case POLICY_LIST:
                return POLICY_ALLOW;
        case POLICY_SHUTDOWN:
        case POLICY_REEXEC:
                return policy_is_privileged(p, c) ? POLICY_ALLOW : POLICY_DENY_NOT_MANAGER;
        case POLICY_STAT:
        case POLICY_OPEN_READ:
        case POLICY_OPEN_WRITE:
        case POLICY_FREEZE:
        case POLICY_RELEASE:
                break;
        default:
                return POLICY_DENY_NOT_MANAGER; /* an op nobody wrote a rule for is refused */
        }

        if (!b) /* an op on a block, without one */
                return POLICY_DENY_HIDDEN;
        if (is_owner(p, c, b))
                return POLICY_ALLOW;
        /* Another uid's block: as if it did not exist, unless shared. */
        if (!(b->flags & (LMM_BLOCK_OTHERS_READ | LMM_BLOCK_OTHERS_WRITE)))
                return POLICY_DENY_HIDDEN;
        if (op == POLICY_FREEZE || op == POLICY_RELEASE)
                return POLICY_DENY_NOT_OWNER;
        if (op == POLICY_OPEN_WRITE && !(b->flags & LMM_BLOCK_OTHERS_WRITE))
                return POLICY_DENY_READ_ONLY;
        return POLICY_ALLOW;
}

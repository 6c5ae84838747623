/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-policy — every access rule, as a pure function of made-up
 * credentials: no root, no sockets, no other uids needed.
 */

#include <criterion/criterion.h>

#include "policy.h"

#define MANAGER_UID 1000
#define OTHER_UID 2000
#define LISTED_UID 3000
#define LISTED_GID 500

static const uid_t uids[] = { LISTED_UID };
static const gid_t gids[] = { LISTED_GID };

static const policy closed = { .manager_uid = MANAGER_UID };
static const policy open_policy = {
        .manager_uid = MANAGER_UID,
        .allow_uids = uids,
        .n_allow_uids = 1,
        .allow_gids = gids,
        .n_allow_gids = 1,
};

static peer_creds as(uid_t uid, gid_t gid) {
        return (peer_creds){ .pid = 42, .uid = uid, .gid = gid };
}

Test(policy, connect_manager_uid_and_root_always) {
        peer_creds me = as(MANAGER_UID, 1), root = as(0, 0);

        cr_assert_eq(policy_check(&closed, &me, POLICY_CONNECT, NULL), POLICY_ALLOW);
        cr_assert_eq(policy_check(&closed, &root, POLICY_CONNECT, NULL), POLICY_ALLOW);
        cr_assert(policy_is_privileged(&closed, &me));
        cr_assert(policy_is_privileged(&closed, &root));
}

Test(policy, connect_other_uid_only_when_listed) {
        peer_creds other = as(OTHER_UID, 1), listed = as(LISTED_UID, 1);

        cr_assert_eq(policy_check(&closed, &other, POLICY_CONNECT, NULL), POLICY_DENY_UID);
        cr_assert_eq(policy_check(&closed, &listed, POLICY_CONNECT, NULL), POLICY_DENY_UID);
        cr_assert_eq(policy_check(&open_policy, &listed, POLICY_CONNECT, NULL), POLICY_ALLOW);
        cr_assert_eq(policy_check(&open_policy, &other, POLICY_CONNECT, NULL), POLICY_DENY_UID);
        cr_assert_not(policy_is_privileged(&open_policy, &listed));
}

Test(policy, connect_by_primary_or_supplementary_gid) {
        static const gid_t groups[] = { 7, 8, LISTED_GID };
        peer_creds primary = as(OTHER_UID, LISTED_GID), supplementary = as(OTHER_UID, 1);

        cr_assert_eq(policy_check(&open_policy, &primary, POLICY_CONNECT, NULL), POLICY_ALLOW);
        cr_assert_eq(policy_check(&open_policy, &supplementary, POLICY_CONNECT, NULL),
                     POLICY_DENY_UID);
        supplementary.groups = groups;
        supplementary.n_groups = 3;
        cr_assert_eq(policy_check(&open_policy, &supplementary, POLICY_CONNECT, NULL),
                     POLICY_ALLOW);
        /* The groups only matter when gids are listed. */
        cr_assert(policy_wants_groups(&open_policy));
        cr_assert_not(policy_wants_groups(&closed));
        cr_assert_eq(policy_check(&closed, &supplementary, POLICY_CONNECT, NULL), POLICY_DENY_UID);
}

Test(policy, everyone_connected_may_create_adopt_list) {
        peer_creds listed = as(LISTED_UID, 1);
        const policy_op ops[] = { POLICY_CREATE, POLICY_ADOPT, POLICY_LIST };

        for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
                cr_assert_eq(policy_check(&open_policy, &listed, ops[i], NULL), POLICY_ALLOW, "%s",
                             policy_op_to_string(ops[i]));
}

Test(policy, the_owner_and_the_privileged_may_do_anything_to_a_block) {
        registry_block mine = { .uid = LISTED_UID };
        peer_creds listed = as(LISTED_UID, 1), me = as(MANAGER_UID, 1), root = as(0, 0);
        const policy_op ops[] = { POLICY_STAT, POLICY_OPEN_READ, POLICY_OPEN_WRITE, POLICY_FREEZE,
                                  POLICY_RELEASE };

        for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
                cr_assert_eq(policy_check(&open_policy, &listed, ops[i], &mine), POLICY_ALLOW);
                cr_assert_eq(policy_check(&open_policy, &me, ops[i], &mine), POLICY_ALLOW);
                cr_assert_eq(policy_check(&open_policy, &root, ops[i], &mine), POLICY_ALLOW);
                /* No block: nothing to allow. */
                cr_assert_eq(policy_check(&open_policy, &listed, ops[i], NULL), POLICY_DENY_HIDDEN);
        }
}

Test(policy, another_users_block_is_hidden_unless_shared) {
        registry_block theirs = { .uid = OTHER_UID };
        peer_creds listed = as(LISTED_UID, 1);
        const policy_op ops[] = { POLICY_STAT, POLICY_OPEN_READ, POLICY_OPEN_WRITE, POLICY_FREEZE,
                                  POLICY_RELEASE };

        for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
                cr_assert_eq(policy_check(&open_policy, &listed, ops[i], &theirs),
                             POLICY_DENY_HIDDEN, "%s", policy_op_to_string(ops[i]));
}

Test(policy, shared_read_only_and_read_write) {
        registry_block ro = { .uid = OTHER_UID, .flags = LMM_BLOCK_OTHERS_READ };
        registry_block rw = { .uid = OTHER_UID,
                              .flags = LMM_BLOCK_OTHERS_READ | LMM_BLOCK_OTHERS_WRITE };
        peer_creds listed = as(LISTED_UID, 1);

        cr_assert_eq(policy_check(&open_policy, &listed, POLICY_STAT, &ro), POLICY_ALLOW);
        cr_assert_eq(policy_check(&open_policy, &listed, POLICY_OPEN_READ, &ro), POLICY_ALLOW);
        cr_assert_eq(policy_check(&open_policy, &listed, POLICY_OPEN_WRITE, &ro),
                     POLICY_DENY_READ_ONLY);
        cr_assert_eq(policy_check(&open_policy, &listed, POLICY_OPEN_WRITE, &rw), POLICY_ALLOW);
        /* Sharing never hands over freeze or release. */
        cr_assert_eq(policy_check(&open_policy, &listed, POLICY_FREEZE, &rw),
                     POLICY_DENY_NOT_OWNER);
        cr_assert_eq(policy_check(&open_policy, &listed, POLICY_RELEASE, &rw),
                     POLICY_DENY_NOT_OWNER);
}

Test(policy, shutdown_manager_uid_and_root_only) {
        peer_creds listed = as(LISTED_UID, LISTED_GID), me = as(MANAGER_UID, 1), root = as(0, 0);

        cr_assert_eq(policy_check(&open_policy, &listed, POLICY_SHUTDOWN, NULL),
                     POLICY_DENY_NOT_MANAGER);
        cr_assert_eq(policy_check(&open_policy, &me, POLICY_SHUTDOWN, NULL), POLICY_ALLOW);
        cr_assert_eq(policy_check(&open_policy, &root, POLICY_SHUTDOWN, NULL), POLICY_ALLOW);
}

Test(policy, unknown_op_is_refused_and_names_are_total) {
        peer_creds me = as(MANAGER_UID, 1);

        cr_assert_neq(policy_check(&closed, &me, _POLICY_OP_MAX, NULL), POLICY_ALLOW);
        for (int i = 0; i <= _POLICY_OP_MAX; i++)
                cr_assert_not_null(policy_op_to_string((policy_op) i));
        for (int i = 0; i <= _POLICY_VERDICT_MAX; i++)
                cr_assert_not_null(policy_verdict_to_string((policy_verdict) i));
        cr_assert_str_eq(policy_verdict_to_string(POLICY_DENY_NOT_OWNER), "not the owner");
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "lmm.h"

/* client_new_from_fd() - a client on an already connected SOCK_SEQPACKET socket @fd (consumed). */
int client_new_from_fd(int fd, lmm_client **ret);

/*
 * client_enter() - what every public call on @c does first: forget the
 * manager's last message, and refuse a client that another process made
 * (-ECHILD, a forked child) or that client_disconnect() closed (-ESHUTDOWN).
 */
int client_enter(lmm_client *c);

/* client_disconnect() - close the connection; @c stays valid and every call fails with -ESHUTDOWN. */
void client_disconnect(lmm_client *c);

/* client_get_timeout() - the call timeout in microseconds, 0 for none. */
uint64_t client_get_timeout(const lmm_client *c);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "lmm.h"

/* client_new_from_fd() - a client on an already connected SOCK_SEQPACKET socket @fd (consumed). */
int client_new_from_fd(int fd, lmm_client **ret);

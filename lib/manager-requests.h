/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * manager-requests — a request on its way through a handler, and the typed
 * outcomes handlers return. Handlers never format an error: they return an
 * outcome and fill in what its text needs, and request_dispatch() turns it
 * into the ERROR reply, in one place (dbus-broker's controller_dispatch).
 */

#include "manager-internal.h"

typedef enum request_error {
        REQUEST_OK = 0,
        REQUEST_E_PROTOCOL,         /* not answerable: the connection ends */
        REQUEST_E_NO_MEMORY,        /* ENOMEM */
        REQUEST_E_FLAGS,            /* EINVAL: unknown bits in q.flags */
        REQUEST_E_SIZE_ZERO,        /* EINVAL */
        REQUEST_E_SIZE_TOO_LARGE,   /* EFBIG */
        REQUEST_E_NAME_IN_USE,      /* EEXIST */
        REQUEST_E_NO_SUCH_BLOCK,    /* ENOENT */
        REQUEST_E_NO_HUGE_PAGES,    /* EOPNOTSUPP */
        REQUEST_E_HUGE_PAGES_SHORT, /* ENOMEM: .huge_free pages of .huge_page_size free */
        REQUEST_E_QUOTA,            /* EDQUOT: .quota */
        REQUEST_E_MANAGER_FULL,     /* EMFILE: the cap over all users */
        REQUEST_E_DENIED,           /* EPERM: .verdict, .owner */
        REQUEST_E_SYSTEM,           /* .error: a step (.what, may be NULL) failed */
        REQUEST_E_NOT_RDWR,         /* EPERM or .error: adopt of an fd not open O_RDWR (.detail) */
        REQUEST_E_NOT_MEMFD,        /* EINVAL */
        REQUEST_E_NOT_SEALABLE,     /* EINVAL */
        REQUEST_E_EMPTY,            /* EINVAL */
        REQUEST_E_ALIAS,            /* EEXIST: the memory is block .other already */
        REQUEST_E_SEAL_SEALED,      /* EPERM: F_SEAL_SEAL is set */
        REQUEST_E_CANNOT_SEAL,      /* EPERM: F_ADD_SEALS failed with .error */
        REQUEST_E_BAD_NAME,         /* EINVAL: the name field held no valid name */
        REQUEST_E_MODE,             /* EPERM: an adopted memfd's .mode lets others in */
        REQUEST_E_NO_REEXEC,        /* EOPNOTSUPP: this manager keeps no restart state */
        REQUEST_E_RESTART_FULL,     /* EMFILE: as many blocks as a restart can hand back */
        _REQUEST_ERROR_MAX,
} request_error;

typedef struct request {
        wire_msg q;
        int *fds; /* the fds the request carried: a handler that keeps one sets it to -EBADF */
        size_t n_fds;

        /* on success */
        wire_msg reply;
        int reply_fd;      /* sent with the reply, consumed */
        int reply_fd_kept; /* or this one, borrowed: the registry keeps it */

        /* on failure: what the error text needs */
        const char *name; /* the block's name once known: q.name, or name_buf */
        char name_buf[LMM_NAME_MAX + 1];
        uint64_t size;
        quota quota;
        policy_verdict verdict;
        uid_t owner;
        int error; /* positive errno */
        const char *what;
        const char *detail;
        char other[LMM_NAME_MAX + 1];
        uint64_t huge_free, huge_page_size;
        unsigned mode;
} request;

typedef request_error (*request_handler)(lmm_manager *m, peer *p, request *req);

/* manager-create.c */
request_error request_create(lmm_manager *m, peer *p, request *req);
request_error request_adopt(lmm_manager *m, peer *p, request *req);

/* manager-requests.c */
/* block_to_wire() - the record of @b that replies carry (asks the kernel for its seals). */
void block_to_wire(const registry_block *b, wire_block *w);
/* block_to_wire_seals() - the same, with @b's seals known already (a block nobody holds yet). */
void block_to_wire_seals(const registry_block *b, uint32_t seals, wire_block *w);

/* request_fail() - record a failed syscall step; Return: REQUEST_E_SYSTEM, or REQUEST_E_NO_MEMORY for -ENOMEM. */
request_error request_fail(request *req, int negative_errno, const char *what);

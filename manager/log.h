/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * log — lmmd's log lines, on stderr, one write() each. On a terminal or in
 * a file a line reads "lmmd: MESSAGE"; when stderr is the journal (its
 * device and inode are those $JOURNAL_STREAM names, sd-daemon(3)) it reads
 * "<N>MESSAGE", N the line's syslog priority, so that journalctl -p
 * filters on it, and the journal adds lmmd's name itself.
 *
 * Priorities: LOG_ERR for what stops lmmd or fails a request by its own
 * fault, LOG_WARNING for what it survives but someone should look at,
 * LOG_NOTICE for what a client did wrong, LOG_INFO for start and shutdown,
 * LOG_DEBUG for every request.
 */

#include <syslog.h>

/* log_setup() - look, once, at where stderr goes. */
void log_setup(void);

/* log_set_max_level() - leave out lines less important than @level (LOG_*). */
void log_set_max_level(int level);

/* log_full() - one line at priority @level, no newline in @fmt. */
void log_full(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_full(LOG_ERR, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, __VA_ARGS__)
#define log_notice(...) log_full(LOG_NOTICE, __VA_ARGS__)
#define log_info(...) log_full(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_full(LOG_DEBUG, __VA_ARGS__)

/* log_manager_line() - an lmm_log_func: the manager core's lines, through log_full(). */
void log_manager_line(int level, const char *line, void *userdata);

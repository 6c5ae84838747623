/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * log — lmmd's log lines, plain or with syslog priorities for the journal.
 * See log.h.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

static int max_level = LOG_INFO;
static bool to_journal = false;

/* stderr_is_journal() - whether $JOURNAL_STREAM ("DEVICE:INODE", decimal)
 * names the file stderr is: systemd sets it for a service whose stderr it
 * connects to the journal, and a child whose stderr went elsewhere inherits
 * the variable but not the file. */
static bool stderr_is_journal(void) {
        const char *e = getenv("JOURNAL_STREAM");
        uint64_t dev, ino;
        struct stat st;
        int n = 0;

        if (!e || sscanf(e, "%" SCNu64 ":%" SCNu64 "%n", &dev, &ino, &n) != 2 || e[n] != 0)
                return false;
        if (fstat(STDERR_FILENO, &st) < 0)
                return false;
        return (uint64_t) st.st_dev == dev && (uint64_t) st.st_ino == ino;
}

void log_setup(void) {
        to_journal = stderr_is_journal();
}

void log_set_max_level(int level) {
        max_level = level;
}

void log_full(int level, const char *fmt, ...) {
        char line[1024];
        size_t n, room;
        va_list ap;
        int m;

        if (level > max_level)
                return;
        m = to_journal ? snprintf(line, sizeof(line), "<%d>", LOG_PRI(level))
                       : snprintf(line, sizeof(line), "lmmd: ");
        n = (size_t) m;
        /* The message and its NUL, leaving a byte for the newline. */
        room = sizeof(line) - n - 1;
        va_start(ap, fmt);
        m = vsnprintf(line + n, room, fmt, ap);
        va_end(ap);
        if (m < 0)
                return;
        /* A line too long is cut, never split: one line, one entry. */
        n += (size_t) m < room ? (size_t) m : room - 1;
        line[n++] = '\n';
        /* One write(): lines of lmmd's threads never interleave. */
        while (write(STDERR_FILENO, line, n) < 0 && errno == EINTR)
                ;
}

void log_manager_line(int level, const char *line, void *userdata) {
        log_full(level, "%s", line);
}

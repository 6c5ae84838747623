/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * memfd-inspect — every memfd on the system in one view: grouped by inode,
 * with its seals, the processes that hold an fd to it and those that map it,
 * and, where a manager answers, the manager's name, scope and owner for it.
 *
 * The front end only: options (by cli.h's conventions, as lmmctl's), asking
 * the manager, and output through libsmartcols (tables, trees, JSON), with the
 * column names lmmctl uses for the same facts. Reading /proc is memfd-scan's
 * job.
 */

#include <fcntl.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <libsmartcols.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/sysmacros.h>

#include "cli.h"
#include "escape.h"
#include "lmm.h"
#include "memfd-scan.h"
#include "proc-reader.h"
#include "util.h"

#define PROG "memfd-inspect"

/* What a line of output stands for. */
typedef enum row_kind {
        ROW_MEMFD,   /* a memfd (--summary, --tree parents) */
        ROW_HOLDER,  /* an fd to it */
        ROW_MAPPER,  /* a mapping of it */
        ROW_PROCESS, /* a process (--processes) */
} row_kind;

typedef enum view {
        VIEW_LIST, /* one line per fd and per mapping (default) */
        VIEW_TREE,
        VIEW_SUMMARY,
        VIEW_PROCESSES,
        _VIEW_MAX,
} view;

#define V_LIST (1u << VIEW_LIST)
#define V_TREE (1u << VIEW_TREE)
#define V_SUMMARY (1u << VIEW_SUMMARY)
#define V_PROCS (1u << VIEW_PROCESSES)
#define V_MEMFD (V_LIST | V_TREE | V_SUMMARY)
#define V_ALL (V_MEMFD | V_PROCS)

enum {
        COL_INODE,
        COL_DEV,
        COL_NAME,
        COL_SIZE,
        COL_ALLOC,
        COL_SEALS,
        COL_HUGETLB,
        COL_FDS,
        COL_MAPPINGS,
        COL_MEMFDS,
        COL_RSS,
        COL_PSS,
        COL_PIDS,
        COL_PID,
        COL_COMMAND,
        COL_UID,
        COL_TYPE,
        COL_FD,
        COL_MODE,
        COL_RANGE,
        COL_START,
        COL_END,
        COL_OFFSET,
        COL_PROT,
        COL_SHARING,
        COL_BLOCK,
        COL_SCOPE,
        COL_OWNER_UID,
        COL_OWNER_PID,
        COL_ORPHAN,
        _COL_MAX,
};

typedef struct column_info {
        const char *name;
        double whint;
        int flags;
        int json_type;
        unsigned views; /* where it means something (JSON shows these by default) */
        const char *help;
} column_info;

/* One column a line reads better than wrapped. */
// clang-format off
static const column_info columns[_COL_MAX] = {
        [COL_INODE] = { "INODE", 5, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER, V_MEMFD, "inode number of the memfd" },
        [COL_DEV] = { "DEV", 5, 0, SCOLS_JSON_STRING, V_MEMFD, "device of the memfd (major:minor)" },
        [COL_NAME] = { "NAME", 0.2, 0, SCOLS_JSON_STRING, V_MEMFD, "memfd name, as given to memfd_create()" },
        [COL_SIZE] = { "SIZE", 6, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER, V_MEMFD, "size in bytes" },
        [COL_ALLOC] = { "ALLOC", 6, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER, V_MEMFD, "memory the memfd holds (st_blocks), counted once, mapped or not: what the kernel frees with its last reference" },
        [COL_SEALS] = { "SEALS", 0.1, 0, SCOLS_JSON_STRING, V_MEMFD, "seals (\"none\" when unsealed)" },
        [COL_HUGETLB] = { "HUGETLB", 3, 0, SCOLS_JSON_BOOLEAN, V_MEMFD, "backed by huge pages" },
        [COL_FDS] = { "FDS", 3, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER, V_MEMFD | V_PROCS, "number of fds (of the memfd; of the process)" },
        [COL_MAPPINGS] = { "MAPPINGS", 3, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER, V_MEMFD | V_PROCS, "number of mappings (of the memfd; of the process)" },
        [COL_MEMFDS] = { "MEMFDS", 3, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER, V_PROCS, "distinct memfds the process holds or maps" },
        [COL_RSS] = { "RSS", 6, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER, V_ALL, "resident memory of a mapping; summed for a memfd or a process" },
        [COL_PSS] = { "PSS", 6, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER, V_ALL, "proportional memory of a mapping; summed for a memfd or a process" },
        [COL_PIDS] = { "PIDS", 0.1, 0, SCOLS_JSON_STRING, V_SUMMARY, "processes that hold or map the memfd" },
        [COL_PID] = { "PID", 5, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER, V_LIST | V_TREE | V_PROCS, "process id" },
        [COL_COMMAND] = { "COMMAND", 0.1, SCOLS_FL_TRUNC, SCOLS_JSON_STRING, V_LIST | V_TREE | V_PROCS, "process command name (comm)" },
        [COL_UID] = { "UID", 5, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER, V_LIST | V_TREE | V_PROCS, "real user id of the process" },
        [COL_TYPE] = { "TYPE", 4, 0, SCOLS_JSON_STRING, V_LIST | V_TREE, "what the line is: memfd, fd or map" },
        [COL_FD] = { "FD", 3, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER, V_LIST | V_TREE, "fd number" },
        [COL_MODE] = { "MODE", 10, 0, SCOLS_JSON_STRING, V_LIST | V_TREE, "access mode of the fd: read-only, write-only, read-write" },
        [COL_RANGE] = { "RANGE", 0.15, 0, SCOLS_JSON_STRING, V_LIST | V_TREE, "address range of the mapping (hex, as in maps)" },
        [COL_START] = { "START", 14, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER, V_LIST | V_TREE, "start address of the mapping" },
        [COL_END] = { "END", 14, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER, V_LIST | V_TREE, "end address of the mapping (exclusive)" },
        [COL_OFFSET] = { "OFFSET", 6, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER, V_LIST | V_TREE, "offset in the memfd where the mapping starts" },
        [COL_PROT] = { "PROT", 4, 0, SCOLS_JSON_STRING, V_LIST | V_TREE, "protection of the mapping (rwx)" },
        [COL_SHARING] = { "SHARING", 7, 0, SCOLS_JSON_STRING, V_LIST | V_TREE, "shared or private mapping" },
        [COL_BLOCK] = { "BLOCK", 0.15, 0, SCOLS_JSON_STRING, V_MEMFD, "the manager's name for the block" },
        [COL_SCOPE] = { "SCOPE", 10, 0, SCOLS_JSON_STRING, V_MEMFD, "the block's scope in the manager: manager or connection" },
        [COL_OWNER_UID] = { "OWNER-UID", 5, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER, V_MEMFD, "uid that created the block" },
        [COL_OWNER_PID] = { "OWNER-PID", 5, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER, V_MEMFD, "pid that created the block" },
        [COL_ORPHAN] = { "ORPHAN", 3, 0, SCOLS_JSON_BOOLEAN, V_MEMFD, "only the manager holds the block and nobody maps it" },
};
// clang-format on

static const char *arg_socket;
static bool arg_no_manager;
static bool arg_json;
static bool arg_noheadings;
static bool arg_raw;
static bool arg_bytes;
static view arg_view = VIEW_LIST;
static const char *arg_output;
static const char *arg_name;
static pid_t *arg_pids;
static size_t arg_n_pids;
static double arg_watch;

static int out_cols[_COL_MAX * 4];
static size_t n_out_cols;

/* The columns for this round: -o, or the defaults of the view (which show the manager's
 * columns only when a manager answered), then "-o +COLUMNS". */
static void choose_columns(bool manager);

/* What the manager told us, matched to the scan. */
typedef struct block_match {
        const lmm_block_info *info;
        bool orphan;
} block_match;

typedef struct picture {
        memfd_scan *scan;
        lmm_block_info *blocks;
        size_t n_blocks;
        block_match *match; /* one per scan entry */
        pid_t manager_pid;
        bool have_manager;
} picture;

static void picture_done(picture *p) {
        p->scan = memfd_scan_free(p->scan);
        free(p->blocks);
        free(p->match);
        *p = (picture){};
}

static void help(FILE *f) {
        fprintf(f,
                "Usage: " PROG " [OPTIONS]\n"
                "\n"
                "Show every memfd this user can see, grouped by the memory itself: its seals,\n"
                "the processes that hold an fd to it, those that map it, and the manager's\n"
                "name for it when an lmm manager answers.\n"
                "\n"
                "Views:\n"
                "  (default)              one line per fd and per mapping\n"
                "  -T, --tree             each memfd with its fds and mappings as children\n"
                "  -s, --summary          one line per memfd, with totals\n"
                "  -P, --processes        one line per process, with totals\n"
                "\n"
                "Options:\n"
                "  -J, --json             JSON output (sizes in bytes, numbers as numbers)\n"
                "  -n, --noheadings       no header line\n"
                "  -r, --raw              raw output, no alignment\n"
                "  -o, --output COLUMNS   columns to show, comma-separated; +COLUMNS adds to the "
                "default\n"
                "  -b, --bytes            sizes in bytes instead of KiB, MiB...\n"
                "  -p, --pid PID          only these processes (repeatable, or comma-separated)\n"
                "      --name PATTERN     only memfds whose name (or block name) matches the glob\n"
                "  -w, --watch SECONDS    redraw every SECONDS until interrupted\n"
                "      --socket PATH      the manager's socket (default: $LMM_SOCKET,\n"
                "                         $XDG_RUNTIME_DIR/lmm/lmmd.sock, /run/lmm/lmmd.sock for "
                "root)\n"
                "      --no-manager       do not ask a manager\n"
                "  -H, --list-columns     list the columns\n"
                "  -h, --help             show this help\n"
                "  -V, --version          show the version\n");
}

static int list_columns(void) {
        for (size_t i = 0; i < _COL_MAX; i++)
                printf("%10s  %s\n", columns[i].name, columns[i].help);
        return 0;
}

static void add_default_columns(bool manager) {
        static const int list[] = { COL_PID,   COL_COMMAND, COL_TYPE,    COL_FD,  COL_MODE,
                                    COL_RANGE, COL_PROT,    COL_SHARING, COL_RSS, COL_NAME,
                                    COL_SIZE,  COL_SEALS,   -1 };
        static const int tree[] = { COL_NAME,    COL_SIZE, COL_SEALS, COL_PID,   COL_COMMAND,
                                    COL_TYPE,    COL_FD,   COL_MODE,  COL_RANGE, COL_PROT,
                                    COL_SHARING, COL_RSS,  COL_PSS,   -1 };
        static const int summary[] = { COL_INODE, COL_NAME,     COL_SIZE, COL_ALLOC, COL_SEALS,
                                       COL_FDS,   COL_MAPPINGS, COL_RSS,  COL_PSS,   COL_PIDS,
                                       -1 };
        static const int procs[] = { COL_PID,      COL_COMMAND, COL_UID, COL_MEMFDS, COL_FDS,
                                     COL_MAPPINGS, COL_RSS,     COL_PSS, -1 };
        const int *l;

        if (arg_json) {
                /* Scripts get every column that means something in the view. */
                for (int i = 0; i < _COL_MAX; i++)
                        if (columns[i].views & (1u << arg_view))
                                out_cols[n_out_cols++] = i;
                return;
        }
        l = arg_view == VIEW_TREE        ? tree
            : arg_view == VIEW_SUMMARY   ? summary
            : arg_view == VIEW_PROCESSES ? procs
                                         : list;
        for (; *l >= 0; l++)
                out_cols[n_out_cols++] = *l;
        if (manager && arg_view != VIEW_PROCESSES) {
                out_cols[n_out_cols++] = COL_BLOCK;
                if (arg_view == VIEW_SUMMARY) {
                        out_cols[n_out_cols++] = COL_SCOPE;
                        out_cols[n_out_cols++] = COL_OWNER_UID;
                        out_cols[n_out_cols++] = COL_OWNER_PID;
                }
                out_cols[n_out_cols++] = COL_ORPHAN;
        }
}

static const cli_program program;

/* Parse -o into out_cols. Return: 0, or -EINVAL after one line on stderr. */
static int parse_columns(const char *spec) {
        static const char *names[_COL_MAX];

        for (size_t i = 0; i < _COL_MAX; i++)
                names[i] = columns[i].name;
        return cli_columns_parse(&program, spec, names, _COL_MAX, out_cols, ELEMENTSOF(out_cols),
                                 &n_out_cols);
}

static void choose_columns(bool manager) {
        n_out_cols = 0;
        if (!arg_output || arg_output[0] == '+')
                add_default_columns(manager);
        if (arg_output)
                /* Already checked in parse_option(). */
                (void) parse_columns(arg_output);
}

/* ------------------------------------------------------------ the manager */

static const char *block_scope(const lmm_block_info *b) {
        return b->flags & LMM_BLOCK_SCOPE_CONNECTION ? "connection" : "manager";
}

/* Ask the manager for its blocks. Missing manager at the default path: silently none. */
static int ask_manager(const char *path, lmm_block_info **ret, size_t *ret_n) {
        lmm_client *c = NULL;
        int r;

        r = lmm_client_connect(path, &c);
        if (r < 0) {
                if (arg_socket)
                        fprintf(stderr,
                                PROG ": cannot ask the manager at %s: %s; showing /proc only\n",
                                path, strerror(-r));
                return r;
        }
        /* A stuck manager must not hang a debugging tool. */
        lmm_client_set_timeout(c, 2 * 1000 * 1000);
        r = lmm_block_list(c, ret, ret_n);
        if (r < 0)
                fprintf(stderr,
                        PROG ": cannot list the manager's blocks at %s: %s; showing /proc only\n",
                        path, lmm_client_last_error(c) ?: strerror(-r));
        lmm_client_unref(c);
        return r;
}

static bool entry_held_by(const memfd_entry *e, pid_t pid) {
        for (size_t i = 0; i < e->n_holders; i++)
                if (e->holders[i].pid == pid)
                        return true;
        return false;
}

/* When /proc/net/unix did not name the manager (another namespace), guess: the one process
 * that holds every block the manager listed. */
static pid_t guess_manager_pid(const picture *p) {
        const memfd_scan *s = p->scan;

        for (size_t i = 0; i < s->n_processes; i++) {
                pid_t pid = s->processes[i].pid;
                bool all = p->n_blocks > 0;

                for (size_t b = 0; all && b < p->n_blocks; b++) {
                        bool found = false;
                        for (size_t k = 0; !found && k < s->n_entries; k++)
                                found = s->entries[k].ino == p->blocks[b].inode &&
                                        s->entries[k].dev == p->blocks[b].device &&
                                        entry_held_by(&s->entries[k], pid);
                        all = found;
                }
                if (all)
                        return pid;
        }
        return 0;
}

static void match_blocks(picture *p) {
        const memfd_scan *s = p->scan;

        p->manager_pid = s->socket_owner ?: guess_manager_pid(p);
        for (size_t b = 0; b < p->n_blocks; b++) {
                const lmm_block_info *bi = &p->blocks[b];
                /* The manager says which memory each block is: device and inode. */
                const memfd_entry *e = memfd_scan_find_entry(s, bi->device, bi->inode);

                if (!e)
                        continue;
                bool orphan = p->manager_pid > 0 && e->n_mappers == 0 && e->n_holders > 0;
                for (size_t i = 0; orphan && i < e->n_holders; i++)
                        orphan = e->holders[i].pid == p->manager_pid;
                p->match[e - s->entries] = (block_match){ .info = bi, .orphan = orphan };
        }
}

/* ------------------------------------------------------------- filtering */

static bool pid_wanted(pid_t pid) {
        if (!arg_pids)
                return true;
        for (size_t i = 0; i < arg_n_pids; i++)
                if (arg_pids[i] == pid)
                        return true;
        return false;
}

static bool entry_wanted(const picture *p, size_t k) {
        const memfd_entry *e = &p->scan->entries[k];

        if (arg_name && fnmatch(arg_name, e->name, 0) != 0 &&
            !(p->match[k].info && fnmatch(arg_name, p->match[k].info->name, 0) == 0))
                return false;
        if (!arg_pids)
                return true;
        for (size_t i = 0; i < e->n_holders; i++)
                if (pid_wanted(e->holders[i].pid))
                        return true;
        for (size_t i = 0; i < e->n_mappers; i++)
                if (pid_wanted(e->mappers[i].pid))
                        return true;
        return false;
}

/* Drop fds and mappings of processes not asked for (after the manager match, which needs the
 * whole picture), and recount. */
static void filter_pids(picture *p) {
        memfd_scan *s = p->scan;
        size_t n = 0;

        if (!arg_pids)
                return;
        for (size_t k = 0; k < s->n_entries; k++) {
                memfd_entry *e = &s->entries[k];
                size_t h = 0, m = 0;

                for (size_t i = 0; i < e->n_holders; i++)
                        if (pid_wanted(e->holders[i].pid))
                                e->holders[h++] = e->holders[i];
                e->n_holders = h;
                e->rss = e->pss = 0;
                for (size_t i = 0; i < e->n_mappers; i++)
                        if (pid_wanted(e->mappers[i].pid)) {
                                e->mappers[m++] = e->mappers[i];
                                e->rss += e->mappers[i].rss;
                                e->pss += e->mappers[i].pss;
                        }
                e->n_mappers = m;
        }
        for (size_t i = 0; i < s->n_processes; i++)
                if (pid_wanted(s->processes[i].pid))
                        s->processes[n++] = s->processes[i];
        s->n_processes = n;
}

static int gather(picture *p) {
        char path[108];
        memfd_scan_opts o = { .skip_self = true };
        bool manager = false;
        int r;

        *p = (picture){};
        if (!arg_no_manager) {
                if (arg_socket && strlen(arg_socket) >= sizeof(path)) {
                        fprintf(stderr,
                                PROG ": --socket %s: path too long for a Unix socket (at most %zu "
                                     "bytes)\n",
                                arg_socket, sizeof(path) - 1);
                        return -ENAMETOOLONG;
                }
                if (arg_socket)
                        snprintf(path, sizeof(path), "%s", arg_socket);
                if (arg_socket || lmm_default_socket_path(path, sizeof(path)) >= 0) {
                        manager = ask_manager(path, &p->blocks, &p->n_blocks) >= 0;
                        o.socket_path = path;
                }
        }
        p->have_manager = manager;
        /* Knowing that only the manager holds a block takes the whole system. */
        if (!manager || p->n_blocks == 0) {
                o.pids = arg_pids;
                o.n_pids = arg_n_pids;
        }
        r = memfd_scan_run(&o, &p->scan);
        if (r < 0) {
                fprintf(stderr, PROG ": cannot scan /proc: %s\n", strerror(-r));
                return r;
        }
        p->match = calloc(MAX(p->scan->n_entries, (size_t) 1), sizeof(*p->match));
        if (!p->match)
                return -ENOMEM;
        if (manager)
                match_blocks(p);
        filter_pids(p);
        return 0;
}

/* ---------------------------------------------------------------- output */

typedef struct row {
        row_kind kind;
        const memfd_entry *e;
        const block_match *bm;
        const memfd_holder *h;
        const memfd_mapper *m;
        const memfd_process *proc;
        const memfd_scan *scan;
} row;

static const char *fmt_size(uint64_t v, char *buf, size_t size) {
        if (arg_json || arg_bytes)
                snprintf(buf, size, "%" PRIu64, v);
        else
                format_bytes(v, buf, size);
        return buf;
}

static const char *fmt_u64(uint64_t v, char *buf, size_t size) {
        snprintf(buf, size, "%" PRIu64, v);
        return buf;
}

static const char *fmt_bool(bool v) {
        return arg_json ? (v ? "1" : "0") : (v ? "yes" : "no");
}

static const char *access_mode(int accmode) {
        switch (accmode) {
        case O_RDONLY:
                return "read-only";
        case O_WRONLY:
                return "write-only";
        case O_RDWR:
                return "read-write";
        case -1:
                return "none"; /* O_PATH */
        default:
                return "?";
        }
}

/* Text another process chose (a memfd name, a command, a block name). JSON must be valid UTF-8:
 * escape it there by the table view's rule (escape.h); the table view escapes on its own. */
static const char *foreign(const char *s, char *buf, size_t size) {
        return s && arg_json ? escape_text(s, buf, size) : s;
}

static const char *comm_of(const memfd_scan *s, pid_t pid) {
        const memfd_process *p = memfd_scan_find_process(s, pid);
        return p ? p->comm : NULL;
}

/* Comma-separated pids that hold or map @e, each once. */
static const char *pids_of(const memfd_entry *e, char *buf, size_t size) {
        size_t len = 0;

        buf[0] = 0;
        for (size_t i = 0; i < e->n_holders + e->n_mappers; i++) {
                pid_t pid = i < e->n_holders ? e->holders[i].pid : e->mappers[i - e->n_holders].pid;
                bool seen = false;
                int n;

                for (size_t j = 0; j < i && !seen; j++)
                        seen = (j < e->n_holders ? e->holders[j].pid
                                                 : e->mappers[j - e->n_holders].pid) == pid;
                if (seen)
                        continue;
                n = snprintf(buf + len, size - len, "%s%d", len ? "," : "", (int) pid);
                if (n < 0 || (size_t) n >= size - len)
                        break;
                len += (size_t) n;
        }
        return buf;
}

/* The text of one cell; NULL for "nothing here" (empty in tables, null in JSON). */
static const char *cell(const row *r, int col, char *buf, size_t size) {
        const memfd_entry *e = r->e;
        const lmm_block_info *b = r->bm ? r->bm->info : NULL;
        bool memfd_cols = r->kind != ROW_PROCESS && (r->kind == ROW_MEMFD || arg_view == VIEW_LIST);
        pid_t pid = r->h ? r->h->pid : r->m ? r->m->pid : r->proc ? r->proc->pid : 0;

        switch (col) {
        case COL_INODE:
                return memfd_cols ? fmt_u64(e->ino, buf, size) : NULL;
        case COL_DEV:
                if (!memfd_cols)
                        return NULL;
                snprintf(buf, size, "%u:%u", major(e->dev), minor(e->dev));
                return buf;
        case COL_NAME:
                return memfd_cols ? foreign(e->name, buf, size) : NULL;
        case COL_SIZE:
                return memfd_cols && e->have_size ? fmt_size(e->size, buf, size) : NULL;
        case COL_ALLOC:
                return memfd_cols && e->have_size ? fmt_size(e->allocated, buf, size) : NULL;
        case COL_SEALS:
                if (!memfd_cols || e->seals < 0)
                        return NULL;
                return e->seals == 0 ? "none" : lmm_seals_to_string((uint32_t) e->seals, buf, size);
        case COL_HUGETLB:
                return memfd_cols ? fmt_bool(e->hugetlb) : NULL;
        case COL_FDS:
                if (r->kind == ROW_PROCESS)
                        return fmt_u64(r->proc->n_fds, buf, size);
                return memfd_cols ? fmt_u64(e->n_holders, buf, size) : NULL;
        case COL_MAPPINGS:
                if (r->kind == ROW_PROCESS)
                        return fmt_u64(r->proc->n_mappings, buf, size);
                return memfd_cols ? fmt_u64(e->n_mappers, buf, size) : NULL;
        case COL_MEMFDS:
                return r->kind == ROW_PROCESS ? fmt_u64(r->proc->n_memfds, buf, size) : NULL;
        case COL_RSS:
        case COL_PSS: {
                bool rss = col == COL_RSS;
                if (r->kind == ROW_PROCESS)
                        return fmt_size(rss ? r->proc->rss : r->proc->pss, buf, size);
                if (r->kind == ROW_MAPPER)
                        return fmt_size(rss ? r->m->rss : r->m->pss, buf, size);
                if (r->kind == ROW_MEMFD)
                        return fmt_size(rss ? e->rss : e->pss, buf, size);
                return NULL;
        }
        case COL_PIDS:
                return r->kind == ROW_MEMFD ? pids_of(e, buf, size) : NULL;
        case COL_PID:
                if (!pid)
                        return NULL;
                snprintf(buf, size, "%d", (int) pid);
                return buf;
        case COL_COMMAND:
                return foreign(r->proc ? r->proc->comm
                               : pid   ? comm_of(r->scan, pid)
                                       : NULL,
                               buf, size);
        case COL_UID: {
                const memfd_process *p = r->proc
                                                 ?: pid ? memfd_scan_find_process(r->scan, pid)
                                                        : NULL;
                return p ? fmt_u64(p->uid, buf, size) : NULL;
        }
        case COL_TYPE:
                return r->kind == ROW_MEMFD    ? "memfd"
                       : r->kind == ROW_HOLDER ? "fd"
                       : r->kind == ROW_MAPPER ? "map"
                                               : NULL;
        case COL_FD:
                if (!r->h)
                        return NULL;
                snprintf(buf, size, "%d", r->h->fd);
                return buf;
        case COL_MODE:
                return r->h ? access_mode(r->h->accmode) : NULL;
        case COL_RANGE:
                if (!r->m)
                        return NULL;
                snprintf(buf, size, "%" PRIx64 "-%" PRIx64, r->m->start, r->m->end);
                return buf;
        case COL_START:
        case COL_END: {
                uint64_t v;
                if (!r->m)
                        return NULL;
                v = col == COL_START ? r->m->start : r->m->end;
                if (arg_json)
                        snprintf(buf, size, "%" PRIu64, v);
                else
                        snprintf(buf, size, "0x%" PRIx64, v);
                return buf;
        }
        case COL_OFFSET:
                return r->m ? fmt_u64(r->m->offset, buf, size) : NULL;
        case COL_PROT:
                if (!r->m)
                        return NULL;
                snprintf(buf, size, "%c%c%c", r->m->read ? 'r' : '-', r->m->write ? 'w' : '-',
                         r->m->exec ? 'x' : '-');
                return buf;
        case COL_SHARING:
                return r->m ? (r->m->shared ? "shared" : "private") : NULL;
        case COL_BLOCK:
                return memfd_cols && b ? foreign(b->name, buf, size) : NULL;
        case COL_SCOPE:
                return memfd_cols && b ? block_scope(b) : NULL;
        case COL_OWNER_UID:
                return memfd_cols && b ? fmt_u64(b->owner_uid, buf, size) : NULL;
        case COL_OWNER_PID:
                if (!memfd_cols || !b)
                        return NULL;
                snprintf(buf, size, "%" PRId32, b->owner_pid);
                return buf;
        case COL_ORPHAN:
                return memfd_cols && b ? fmt_bool(r->bm->orphan) : NULL;
        default:
                return NULL;
        }
}

static int add_line(struct libscols_table *t, struct libscols_line *parent, const row *r,
                    struct libscols_line **ret) {
        struct libscols_line *l = scols_table_new_line(t, parent);
        char buf[4096];

        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < n_out_cols; i++) {
                const char *v = cell(r, out_cols[i], buf, sizeof(buf));
                if (v && scols_line_set_data(l, i, v) < 0)
                        return -ENOMEM;
        }
        if (ret)
                *ret = l;
        return 0;
}

static int fill_table(struct libscols_table *t, const picture *p) {
        const memfd_scan *s = p->scan;
        int r;

        if (arg_view == VIEW_PROCESSES) {
                for (size_t i = 0; i < s->n_processes; i++) {
                        row rw = { .kind = ROW_PROCESS, .proc = &s->processes[i], .scan = s };
                        r = add_line(t, NULL, &rw, NULL);
                        if (r < 0)
                                return r;
                }
                return 0;
        }
        for (size_t k = 0; k < s->n_entries; k++) {
                const memfd_entry *e = &s->entries[k];
                struct libscols_line *parent = NULL;
                row base = { .e = e, .bm = &p->match[k], .scan = s };

                if (!entry_wanted(p, k))
                        continue;
                if (arg_view == VIEW_SUMMARY || arg_view == VIEW_TREE) {
                        row rw = base;
                        rw.kind = ROW_MEMFD;
                        r = add_line(t, NULL, &rw, &parent);
                        if (r < 0)
                                return r;
                        if (arg_view == VIEW_SUMMARY)
                                continue;
                }
                for (size_t i = 0; i < e->n_holders; i++) {
                        row rw = base;
                        rw.kind = ROW_HOLDER;
                        rw.h = &e->holders[i];
                        r = add_line(t, parent, &rw, NULL);
                        if (r < 0)
                                return r;
                }
                for (size_t i = 0; i < e->n_mappers; i++) {
                        row rw = base;
                        rw.kind = ROW_MAPPER;
                        rw.m = &e->mappers[i];
                        r = add_line(t, parent, &rw, NULL);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static int print_picture(const picture *p) {
        struct libscols_table *t = scols_new_table();
        int r = -ENOMEM;

        if (!t)
                goto finish;
        scols_table_enable_json(t, arg_json);
        scols_table_enable_noheadings(t, arg_noheadings);
        scols_table_enable_raw(t, arg_raw);
        scols_table_set_name(t, arg_view == VIEW_PROCESSES ? "processes" : "memfds");
        for (size_t i = 0; i < n_out_cols; i++) {
                const column_info *ci = &columns[out_cols[i]];
                int flags = ci->flags;
                struct libscols_column *c;

                /* The tree hangs off the first column; raw output has no tree lines (as
                 * lsblk's), children follow their memfd. */
                if (arg_view == VIEW_TREE && i == 0 && !arg_raw)
                        flags |= SCOLS_FL_TREE;
                c = scols_table_new_column(t, ci->name, ci->whint, flags);
                if (!c)
                        goto finish;
                if (arg_json)
                        scols_column_set_json_type(c, ci->json_type);
        }
        r = fill_table(t, p);
        if (r < 0)
                goto finish;
        r = scols_print_table(t) < 0 ? -EIO : 0;
        fflush(stdout);
finish:
        scols_unref_table(t);
        return r;
}

/* One line for every process that could not be read, with the reasons, and the pids of those
 * that timed out (their memory map stayed locked: worth a look). --watch says it again only when
 * the number changes. */
static void report_unreadable(const memfd_scan *s) {
        static const struct {
                int error;
                const char *why;
        } reasons[] = {
                { EACCES, "permission denied" },
                { EPERM, "operation not permitted" },
                { ETIMEDOUT, "timed out" },
        };
        static size_t last_reported = SIZE_MAX;
        size_t n = s->n_unreadable, n_kinds = 0, len = 0, n_denied = 0, n_stalled = 0;
        char why[128] = "", stalled[128] = "";

        if (n == 0 || n == last_reported)
                return;
        last_reported = n;
        for (size_t k = 0; k < ELEMENTSOF(reasons); k++)
                for (size_t i = 0; i < n; i++)
                        if (s->unreadable[i].error == reasons[k].error) {
                                n_kinds++;
                                break;
                        }
        for (size_t k = 0; k < ELEMENTSOF(reasons); k++) {
                size_t c = 0;

                for (size_t i = 0; i < n; i++)
                        c += s->unreadable[i].error == reasons[k].error;
                if (c == 0 || len >= sizeof(why))
                        continue;
                if (n_kinds == 1)
                        len += (size_t) snprintf(why, sizeof(why), "%s", reasons[k].why);
                else
                        len += (size_t) snprintf(why + len, sizeof(why) - len, "%s%zu %s",
                                                 len ? ", " : "", c, reasons[k].why);
        }
        for (size_t i = 0, l = 0; i < n; i++) {
                if (s->unreadable[i].error != ETIMEDOUT) {
                        n_denied++;
                        continue;
                }
                if (n_stalled++ < 8 && l < sizeof(stalled))
                        l += (size_t) snprintf(stalled + l, sizeof(stalled) - l, "%s%d",
                                               l ? "," : "; timed out: pid ",
                                               (int) s->unreadable[i].pid);
        }
        fprintf(stderr, PROG ": %zu process%s could not be read (%s)%s%s%s\n", n,
                n == 1 ? "" : "es", why,
                n_denied > 0 && geteuid() != 0 ? "; run as root to see them" : "", stalled,
                n_stalled > 8 ? ",..." : "");
}

static int run_once(bool clear) {
        picture p;
        int r;

        r = gather(&p);
        if (r < 0) {
                if (r == -ENOMEM)
                        fprintf(stderr, PROG ": out of memory\n");
                picture_done(&p);
                return r;
        }
        choose_columns(p.have_manager);
        if (clear)
                fputs("\033[H\033[2J", stdout);
        r = print_picture(&p);
        if (r < 0)
                fprintf(stderr, PROG ": cannot print: %s\n", strerror(-r));
        else
                report_unreadable(p.scan);
        picture_done(&p);
        return r;
}

/* Redraw every arg_watch seconds until SIGINT or SIGTERM. */
static int watch(void) {
        _cleanup_close_ int sfd = -EBADF;
        sigset_t mask;
        bool tty = isatty(STDOUT_FILENO) && !arg_json;

        sigemptyset(&mask);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return negative_errno();
        sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        if (sfd < 0) {
                fprintf(stderr, PROG ": cannot watch for signals: %m\n");
                return negative_errno();
        }
        for (;;) {
                struct pollfd pfd = { .fd = sfd, .events = POLLIN };
                int r;

                r = run_once(tty);
                if (r < 0)
                        return r;
                r = poll(&pfd, 1, (int) (arg_watch * 1000));
                if (r < 0 && errno != EINTR)
                        return negative_errno();
                if (r > 0)
                        return 0;
        }
}

static int parse_pids(const char *s) {
        const char *p = s;

        while (*p) {
                char *end;
                long v;
                pid_t *n;

                errno = 0;
                v = strtol(p, &end, 10);
                if (errno || end == p || v <= 0 || v > INT32_MAX || (*end && *end != ',')) {
                        fprintf(stderr, PROG ": invalid pid '%s'\n", s);
                        return -EINVAL;
                }
                n = reallocarray(arg_pids, arg_n_pids + 1, sizeof(*n));
                if (!n) {
                        fprintf(stderr, PROG ": out of memory\n");
                        return -ENOMEM;
                }
                arg_pids = n;
                arg_pids[arg_n_pids++] = (pid_t) v;
                p = *end ? end + 1 : end;
        }
        return 0;
}

enum { ARG_SOCKET = 0x100, ARG_NO_MANAGER, ARG_NAME };

static int n_views;

static int parse_option(int opt, const char *arg, const char *spelling, void *userdata) {
        switch (opt) {
        case 'J':
                arg_json = true;
                break;
        case 'n':
                arg_noheadings = true;
                break;
        case 'r':
                arg_raw = true;
                break;
        case 'o': {
                /* Checked now, for a usage error before any work. */
                int r = parse_columns(arg);
                n_out_cols = 0;
                if (r < 0)
                        return r;
                arg_output = arg;
                break;
        }
        case 'b':
                arg_bytes = true;
                break;
        case 'p':
                return parse_pids(arg);
        case ARG_NAME:
                arg_name = arg;
                break;
        case 'T':
        case 's':
        case 'P':
                arg_view = opt == 'T' ? VIEW_TREE : opt == 's' ? VIEW_SUMMARY : VIEW_PROCESSES;
                n_views++;
                break;
        case 'w': {
                char *end;
                errno = 0;
                arg_watch = strtod(arg, &end);
                /* At least 0.1 s: each redraw reads all of /proc. */
                if (errno || end == arg || *end || !(arg_watch >= 0.1) || arg_watch > 86400) {
                        fprintf(stderr,
                                PROG ": invalid interval '%s': give seconds, from 0.1 to 86400\n",
                                arg);
                        return -EINVAL;
                }
                break;
        }
        case ARG_SOCKET:
                arg_socket = arg;
                break;
        case ARG_NO_MANAGER:
                arg_no_manager = true;
                break;
        case 'H':
                list_columns();
                return 1;
        default:
                abort();
        }
        return 0;
}

static const struct option long_options[] = {
        { "json", no_argument, NULL, 'J' },
        { "noheadings", no_argument, NULL, 'n' },
        { "raw", no_argument, NULL, 'r' },
        { "output", required_argument, NULL, 'o' },
        { "bytes", no_argument, NULL, 'b' },
        { "pid", required_argument, NULL, 'p' },
        { "name", required_argument, NULL, ARG_NAME },
        { "tree", no_argument, NULL, 'T' },
        { "summary", no_argument, NULL, 's' },
        { "processes", no_argument, NULL, 'P' },
        { "watch", required_argument, NULL, 'w' },
        { "socket", required_argument, NULL, ARG_SOCKET },
        { "no-manager", no_argument, NULL, ARG_NO_MANAGER },
        { "list-columns", no_argument, NULL, 'H' },
        {},
};

static const cli_program program = {
        .name = PROG,
        .short_options = "Jnro:bp:TsPw:H",
        .long_options = long_options,
        .option = parse_option,
        .help = help,
};

/* Return: 1 to go on, 0 when done, -errno after one line on stderr (cli_exit_status()). */
static int parse_argv(int argc, char *argv[]) {
        cli_args a;
        int r;

        r = cli_parse(&program, argc, argv, NULL, &a);
        if (r <= 0)
                return r;
        if (a.n_args > 0)
                r = cli_usage_error(&program, "unexpected argument '%s'", a.args[0]);
        else if (n_views > 1)
                r = cli_usage_error(&program,
                                    "--tree, --summary and --processes exclude each other");
        else if (arg_json && arg_raw)
                r = cli_usage_error(&program, "--json and --raw exclude each other");
        cli_args_done(&a);
        return r;
}

int main(int argc, char *argv[]) {
        int r;

        r = parse_argv(argc, argv);
        if (r <= 0) {
                free(arg_pids);
                return cli_exit_status(r);
        }
        setlocale(LC_ALL, "");
        scols_init_debug(0);
        r = arg_watch > 0 ? watch() : run_once(false);
        free(arg_pids);
        /* A /proc read we gave up on still waits in the kernel, killable but not stoppable: leave
         * without the atexit handlers, one of which may be a leak checker that stops every
         * thread first (and would wait as long as the process that stalled us). */
        if (proc_reader_stuck() > 0) {
                fflush(NULL);
                _exit(r < 0 ? 1 : 0);
        }
        return r < 0 ? 1 : 0;
}

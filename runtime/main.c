/* main.c — the `actr` program: a thin command line over the public API.
 *
 *   actr run [-c FILE]          run a node configured by FILE (default ./runtime.yaml)
 *   actr check [-c FILE]        validate FILE and load its plugins without starting anything
 *   actr plugin info FILE.so    print a plugin's descriptor
 *   actr ctl [-c FILE | -s SOCKET] COMMAND ...   talk to a running node
 *   actr version | help
 *
 * This file holds the entry point, `run`, `check`, `version`/`help` and the
 * log sink; the client commands (`ctl`, `plugin info`) are in
 * runtime/program/ctl.c, and program.h declares what the files share.
 *
 * `run` and `check` share one preparation path (config, plugins, actor types,
 * names), so whatever `check` accepts `run` starts, and every refusal happens
 * before any actor exists: a node is never half started. Errors found before
 * the node runs are one plain line "FILE:LINE:COL: key: what" on stderr; once
 * the node runs, every record is one structured log line (text or JSON lines).
 *
 * `run` opens the state store (the `store:` section) right after the
 * runtime and before any plugin is loaded, so actors can read their state back
 * in init; a store that cannot be opened stops `run` with one line and exit 1.
 * `check` does not open it (it reports configuration errors only).
 *
 * Signals: `run` blocks SIGINT and SIGTERM before any thread exists (so every
 * thread inherits the mask) and takes them on one thread with sigwait. The
 * first asks the runtime to stop (actr_stop); a second exits at once. This
 * keeps signal delivery off the runtime's threads and needs no process global.
 *
 * The configured actors run as children of one root supervisor. A small
 * watcher actor logs the "node NAME up: ..." line once the supervisor has
 * started (and registered) every child, and monitors the supervisor: if it
 * gives up (restart intensity reached, e.g. an actor whose init always fails)
 * while nobody asked the node to stop, the watcher stops the node and `run`
 * exits 1 instead of idling with nothing running.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "actr.h"
#include "actr/cluster.h"
#include "actr/plugin.h" /* ACTR_PLUGIN_ABI_MAJOR/MINOR */
#include "program.h"

#define LOG_LINE_MAX 2048
#define NAME_MAX_LEN 255     /* longest registered name (actr_register) */
#define MAX_ACTORS 1000000   /* bound on all configured actors (after counts) */
#define ROOT_INTENSITY 10    /* the root supervisor: at most 10 restarts ... */
#define ROOT_PERIOD_MS 10000 /* ... within 10 s */

/* ---- logging -------------------------------------------------------------- */

typedef struct logger {
    actr_log_level_t level;
    actr_log_format_t format;
} logger_t;

/* UTC with milliseconds: 2025-01-02T03:04:05.678Z */
static void format_time(char *buf, size_t cap)
{
    struct timespec ts;
    struct tm tm;
    size_t n;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = strftime(buf, cap, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, cap - n, ".%03ldZ", ts.tv_nsec / 1000000L);
}

static void write_all(const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(STDERR_FILENO, s, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return; /* nowhere left to report it */
        s += w;
        n -= (size_t)w;
    }
}

/* Append `s` quoted logfmt-style: quotes, backslashes and controls escaped.
 * Stops (and marks the cut with "...") when fewer than 8 bytes remain. */
static size_t append_escaped(char *out, size_t n, size_t cap, const char *s)
{
    for (; *s != '\0'; s++) {
        unsigned char ch = (unsigned char)*s;
        if (n + 8 >= cap) {
            memcpy(out + n, "...", 3);
            return n + 3;
        }
        if (ch == '"' || ch == '\\') {
            out[n++] = '\\';
            out[n++] = (char)ch;
        } else if (ch == '\n') {
            out[n++] = '\\';
            out[n++] = 'n';
        } else if (ch == '\r') {
            out[n++] = '\\';
            out[n++] = 'r';
        } else if (ch == '\t') {
            out[n++] = '\\';
            out[n++] = 't';
        } else if (ch < 0x20 || ch == 0x7f) {
            n += (size_t)snprintf(out + n, cap - n, "\\x%02x", ch);
        } else {
            out[n++] = (char)ch;
        }
    }
    return n;
}

/* A JSON string for `s`; bytes that are not valid UTF-8 become '?'. */
static json_t *json_text(const char *s)
{
    json_t *j = json_string(s);
    char *copy;
    if (j != NULL)
        return j;
    copy = strdup(s);
    if (copy == NULL)
        return NULL;
    for (char *p = copy; *p; p++)
        if ((unsigned char)*p >= 0x80)
            *p = '?';
    j = json_string(copy);
    free(copy);
    return j;
}

static int log_json(const char *when, actr_log_level_t level, const char *actor, const char *line)
{
    json_t *o = json_object();
    char *text;
    size_t len;
    if (o == NULL)
        return -1;
    json_object_set_new(o, "time", json_string(when));
    json_object_set_new(o, "level", json_string(actr_log_level_name(level)));
    json_object_set_new(o, "actor", actor ? json_string(actor) : json_null());
    json_object_set_new(o, "msg", json_text(line));
    text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (text == NULL)
        return -1;
    len = strlen(text);
    text[len] = '\n'; /* json_dumps's NUL becomes the newline: one write per line */
    write_all(text, len + 1);
    free(text);
    return 0;
}

/* The runtime's log sink, also used for the program's own records. Called from
 * any thread: each record is built privately and written with one write(2), so
 * concurrent lines never interleave.
 *   text: 2025-01-02T03:04:05.678Z level=info actor=3.1 msg="..."   (actor=- for none)
 *   json: {"time":"...","level":"info","actor":"3.1","msg":"..."}   ("actor":null) */
static void log_sink(void *ud, actr_log_level_t level, actr_ref_t actor, const char *line)
{
    const logger_t *lg = ud;
    char when[40], who[32], out[LOG_LINE_MAX];
    size_t n;

    if (line == NULL)
        line = "";
    format_time(when, sizeof(when));
    snprintf(who, sizeof(who), "%" PRIu32 ".%" PRIu32, actor.slot, actor.gen);
    if (lg != NULL && lg->format == ACTR_LOG_JSON &&
        log_json(when, level, actr_ref_is_none(actor) ? NULL : who, line) == 0)
        return;
    n = (size_t)snprintf(out, sizeof(out), "%s level=%s actor=%s msg=\"", when,
                         actr_log_level_name(level), actr_ref_is_none(actor) ? "-" : who);
    n = append_escaped(out, n, sizeof(out) - 2, line);
    out[n++] = '"';
    out[n++] = '\n';
    write_all(out, n);
}

static void plog(const logger_t *lg, actr_log_level_t level, const char *fmt, ...)
    ACTR_PRINTF(3, 4);
static void plog(const logger_t *lg, actr_log_level_t level, const char *fmt, ...)
{
    char line[LOG_LINE_MAX];
    va_list ap;
    if (level < lg->level)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    log_sink((void *)lg, level, ACTR_REF_NONE, line);
}

/* ---- small helpers -------------------------------------------------------- */

/* mkdir -p, mode 0755 for what it creates. Returns 0 or -errno. */
static int mkdir_p(const char *path)
{
    char buf[PATH_MAX];
    struct stat st;
    size_t len = strlen(path);
    if (len == 0)
        return -ENOENT;
    if (len >= sizeof(buf))
        return -ENAMETOOLONG;
    memcpy(buf, path, len + 1);
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(buf, 0755) != 0 && errno != EEXIST)
                return -errno;
            *p = c;
            if (c == '\0')
                break;
        }
    }
    if (stat(path, &st) != 0)
        return -errno;
    return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

/* Levenshtein distance, capped: enough for a "did you mean". */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), prev[65], cur[65];
    if (la > 64 || lb > 64)
        return SIZE_MAX;
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, (lb + 1) * sizeof(size_t));
    }
    return prev[lb];
}

/* ---- shared with the rest of the program (declared in program.h) -------- */

/* Reason text for an ACTR_E* code that may mirror an errno. */
const char *actr_prog_reason(int rc)
{
    if (rc < 0 && rc > -4000)
        return strerror(-rc);
    return actr_strerror(rc);
}

/* The control socket path of a config: control.socket or <data_dir>/control.sock. */
void actr_prog_socket_path(const actr_config_t *cfg, char *buf, size_t cap)
{
    if (cfg->control.socket != NULL && cfg->control.socket[0] != '\0')
        snprintf(buf, cap, "%s", cfg->control.socket);
    else
        snprintf(buf, cap, "%s/control.sock", cfg->node.data_dir ? cfg->node.data_dir : ".");
}

/* Parse -c FILE / --config FILE / --config=FILE. Returns 1 if argv[*i] was one
 * (advancing *i), 0 if not, -1 for -c without a value. */
int actr_prog_config_opt(int argc, char **argv, int *i, const char **file)
{
    const char *a = argv[*i];
    if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) {
        if (*i + 1 >= argc)
            return -1;
        *file = argv[++*i];
        return 1;
    }
    if (strncmp(a, "--config=", 9) == 0) {
        *file = a + 9;
        return 1;
    }
    return 0;
}

/* ---- usage ------------------------------------------------------------------ */

static void usage(void)
{
    fprintf(stderr,
            "usage: actr <command> [options]\n"
            "\n"
            "commands:\n"
            "  run [-c FILE]             run a node configured by FILE (default ./runtime.yaml)\n"
            "                            until SIGINT or SIGTERM\n"
            "  check [-c FILE]           validate FILE and load its plugins without starting\n"
            "                            anything\n"
            "  plugin info FILE.so       print a plugin's descriptor\n"
            "  ctl [-c FILE | -s SOCKET] COMMAND\n"
            "                            talk to a running node over its control socket:\n"
            "      actors                    list the actors (REF NAME TYPE MAILBOX HANDLED)\n"
            "      plugins                   list the plugins (NAME VERSION ACTORS TYPES PATH)\n"
            "      cluster                   list the cluster's peers (NAME ADDR STATE RTT\n"
            "                                BYTES_IN BYTES_OUT FRAMES_IN FRAMES_OUT QUEUE)\n"
            "      call NAME JSON [--type N] [--timeout MS]\n"
            "                                send JSON to the actor NAME as a request and\n"
            "                                print its reply as JSON\n"
            "      raw JSON                  send one raw request line, print the reply line\n"
            "      store backup FILE         write a consistent copy of the node's state store\n"
            "                                to FILE (start a node on it to restore)\n"
            "      store stats               print the state store's counters\n"
            "      plugin swap NAME FILE     swap plugin NAME to the version in FILE while it\n"
            "                                serves (its actors' states are migrated)\n"
            "      plugin rollback NAME      swap back to the version before the last swap\n"
            "      plugin history [NAME]     loads, swaps, rollbacks and unloads, with outcomes\n"
            "      plugin unload NAME [--force]\n"
            "                                unload a plugin (--force: stop its actors first)\n"
            "  version                   print the version\n"
            "  help                      print this help\n");
}

/* ---- preparing a node (shared by run and check) -------------------------- */

/* One actor to start, after count expansion. */
typedef struct planned {
    char *name; /* NAME, or NAME-k when count > 1 */
    const actr_actor_conf_t *conf;
    size_t plugin, actor; /* its plugins[i].actors[j] */
    const actr_behavior_t *beh;
} planned_t;

typedef struct node {
    const char *file;
    actr_config_t cfg;
    logger_t log;
    actr_t *rt;
    planned_t *plan;
    size_t nplan;
    char socket[PATH_MAX];
    char up_line[PATH_MAX + 512]; /* "node NAME up: ...", logged by the watcher */
    /* run only: the signal thread and the root supervisor's watcher */
    pthread_mutex_t sig_mu; /* held by the signal thread around actr_stop */
    int sig_live;           /* under sig_mu: rt may be stopped by a signal */
    atomic_int stopping;    /* a stop was asked for (signal or watcher) */
    atomic_int failed;      /* the root supervisor gave up */
    sigset_t sigs;
} node_t;

typedef struct type_list {
    char **names;
    size_t n, cap;
} type_list_t;

static void collect_types(void *ud, const actr_plugin_info_t *info)
{
    type_list_t *tl = ud;
    for (uint32_t i = 0; i < info->ntypes; i++) {
        if (tl->n == tl->cap) {
            size_t cap = tl->cap ? tl->cap * 2 : 16;
            char **p = realloc(tl->names, cap * sizeof(*p));
            if (p == NULL)
                return;
            tl->names = p;
            tl->cap = cap;
        }
        tl->names[tl->n] = strdup(info->types[i]);
        if (tl->names[tl->n] != NULL)
            tl->n++;
    }
}

static void unknown_type(const node_t *nd, size_t pi, size_t ai, const actr_actor_conf_t *ac)
{
    type_list_t tl = {0};
    char known[256] = "";
    const char *best = NULL;
    size_t best_d = SIZE_MAX, used = 0;

    (void)actr_plugin_list(nd->rt, collect_types, &tl);
    for (size_t i = 0; i < tl.n; i++) {
        size_t d = edit_distance(ac->type, tl.names[i]);
        int w = snprintf(known + used, sizeof(known) - used, "%s%s", i ? ", " : "", tl.names[i]);
        if (w > 0 && (size_t)w < sizeof(known) - used)
            used += (size_t)w;
        if (d < best_d) {
            best_d = d;
            best = tl.names[i];
        }
    }
    if (best != NULL && best_d <= 2 && best_d < strlen(ac->type))
        fprintf(stderr,
                "%s:%d:%d: key 'plugins[%zu].actors[%zu].type': unknown actor type '%s'; did you "
                "mean '%s'?\n",
                nd->file, ac->line, ac->col, pi, ai, ac->type, best);
    else
        fprintf(stderr,
                "%s:%d:%d: key 'plugins[%zu].actors[%zu].type': unknown actor type '%s' (the "
                "loaded plugins define: %s)\n",
                nd->file, ac->line, ac->col, pi, ai, ac->type, tl.n ? known : "no types");
    for (size_t i = 0; i < tl.n; i++)
        free(tl.names[i]);
    free(tl.names);
}

static int cmp_planned_name(const void *a, const void *b)
{
    const planned_t *x = *(const planned_t *const *)a, *y = *(const planned_t *const *)b;
    int c = strcmp(x->name, y->name);
    if (c != 0)
        return c;
    return x < y ? -1 : x > y;
}

static void plan_free(node_t *nd)
{
    for (size_t i = 0; i < nd->nplan; i++)
        free(nd->plan[i].name);
    free(nd->plan);
    nd->plan = NULL;
    nd->nplan = 0;
}

/* Expand counts into names and check them: each fits a registered name and no
 * two are equal. Prints the one-line error and returns -1 on a problem. */
static int plan_actors(node_t *nd)
{
    const actr_config_t *c = &nd->cfg;
    size_t total = 0, k = 0;
    planned_t **sorted;

    for (size_t i = 0; i < c->nplugins; i++) {
        for (size_t j = 0; j < c->plugins[i].nactors; j++) {
            const actr_actor_conf_t *ac = &c->plugins[i].actors[j];
            total += ac->count ? ac->count : 1;
            if (total > MAX_ACTORS) {
                fprintf(stderr,
                        "%s:%d:%d: key 'plugins[%zu].actors[%zu].count': the configured actors "
                        "add up to more than %d\n",
                        nd->file, ac->line, ac->col, i, j, MAX_ACTORS);
                return -1;
            }
        }
    }
    nd->plan = calloc(total ? total : 1, sizeof(*nd->plan));
    if (nd->plan == NULL) {
        fprintf(stderr, "%s: out of memory\n", nd->file);
        return -1;
    }
    for (size_t i = 0; i < c->nplugins; i++) {
        for (size_t j = 0; j < c->plugins[i].nactors; j++) {
            const actr_actor_conf_t *ac = &c->plugins[i].actors[j];
            uint32_t count = ac->count ? ac->count : 1;
            for (uint32_t n = 1; n <= count; n++) {
                planned_t *p = &nd->plan[k];
                size_t len = strlen(ac->name) + (count > 1 ? 12 : 0) + 1;
                p->name = malloc(len);
                if (p->name == NULL) {
                    fprintf(stderr, "%s: out of memory\n", nd->file);
                    return -1;
                }
                if (count > 1)
                    snprintf(p->name, len, "%s-%" PRIu32, ac->name, n);
                else
                    snprintf(p->name, len, "%s", ac->name);
                p->conf = ac;
                p->plugin = i;
                p->actor = j;
                nd->nplan = ++k;
                if (strlen(p->name) == 0 || strlen(p->name) > NAME_MAX_LEN) {
                    fprintf(stderr,
                            "%s:%d:%d: key 'plugins[%zu].actors[%zu].name': the actor name '%s' "
                            "must be 1..%d bytes\n",
                            nd->file, ac->line, ac->col, i, j, p->name, NAME_MAX_LEN);
                    return -1;
                }
            }
        }
    }
    /* Duplicates: sort by name (ties in plan order), report the later entry. */
    sorted = malloc((total ? total : 1) * sizeof(*sorted));
    if (sorted == NULL) {
        fprintf(stderr, "%s: out of memory\n", nd->file);
        return -1;
    }
    for (size_t i = 0; i < total; i++)
        sorted[i] = &nd->plan[i];
    qsort(sorted, total, sizeof(*sorted), cmp_planned_name);
    for (size_t i = 0; i + 1 < total; i++) {
        const planned_t *a = sorted[i], *b = sorted[i + 1];
        if (strcmp(a->name, b->name) != 0)
            continue;
        if (a->conf == b->conf) /* impossible: a count never repeats a suffix */
            continue;
        fprintf(stderr,
                "%s:%d:%d: key 'plugins[%zu].actors[%zu].name': the actor name '%s' is already "
                "used by plugins[%zu].actors[%zu] (line %d); names must be unique on the node\n",
                nd->file, b->conf->line, b->conf->col, b->plugin, b->actor, b->name, a->plugin,
                a->actor, a->conf->line);
        free(sorted);
        return -1;
    }
    free(sorted);
    return 0;
}

/* Load every plugin into nd->rt (not started), then check every actor's type
 * and name. Prints one line and returns -1 on the first problem. */
static int prepare(node_t *nd)
{
    const actr_config_t *c = &nd->cfg;

    for (size_t i = 0; i < c->nplugins; i++) {
        actr_error_t err;
        int rc;
        memset(&err, 0, sizeof(err));
        rc = actr_plugin_load(nd->rt, c->plugins[i].path, &err);
        if (rc != 0) {
            fprintf(stderr, "%s:%d:%d: key 'plugins[%zu].path': %s\n", nd->file, c->plugins[i].line,
                    c->plugins[i].col, i, err.msg[0] ? err.msg : actr_prog_reason(rc));
            return -1;
        }
    }
    if (plan_actors(nd) != 0)
        return -1;
    for (size_t k = 0; k < nd->nplan; k++) {
        planned_t *p = &nd->plan[k];
        if (k > 0 && nd->plan[k - 1].conf == p->conf) {
            p->beh = nd->plan[k - 1].beh;
            continue;
        }
        if (actr_type_behavior(nd->rt, p->conf->type, &p->beh) != 0 || p->beh == NULL) {
            unknown_type(nd, p->plugin, p->actor, p->conf);
            return -1;
        }
    }
    if (c->control.enabled) {
        actr_prog_socket_path(c, nd->socket, sizeof(nd->socket));
        if (strlen(nd->socket) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
            fprintf(stderr,
                    "%s: key 'control.socket': the path '%s' is %zu bytes; a Unix socket path "
                    "has at most %zu (set control.socket to a shorter path)\n",
                    nd->file, nd->socket, strlen(nd->socket),
                    sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
            return -1;
        }
    }
    return 0;
}

static unsigned effective_workers(const actr_config_t *c)
{
    long ncpu;
    if (c->scheduler.workers > 0)
        return c->scheduler.workers;
    ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    return ncpu > 0 ? (unsigned)ncpu : 1;
}

/* ---- the root supervisor's watcher --------------------------------------- */

/* The watcher also says when the node is up: it asks the supervisor for its
 * children, and the supervisor answers only after its init, which has spawned
 * (and registered) every child. So once the "up" line is out, every
 * configured name resolves and `actr ctl call` reaches it. */
typedef struct watch_state {
    node_t *nd;
    uint64_t req; /* the which-children request */
} watch_state_t;

static int watch_init(actr_ctx_t *ctx, void *state, const void *args, size_t len)
{
    watch_state_t *w = state;
    uint64_t ptr = 0, mon;
    actr_ref_t sup;
    actr_msg_t *m;
    int rc = actr_unpack(args, len, "[U r]", &ptr, &sup);
    if (rc != 0)
        return rc;
    w->nd = (node_t *)(uintptr_t)ptr;
    rc = actr_monitor(ctx, sup, &mon);
    if (rc == 0)
        rc = actr_msg_new(ctx, ACTR_SUP_WHICH_CHILDREN, NULL, 0, &m);
    if (rc == 0) /* no timeout: if the supervisor dies first, REQFAIL and DOWN come */
        rc = actr_request(ctx, sup, m, 0, &w->req);
    return rc;
}

static int watch_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    watch_state_t *w = state;
    const char *reason = "?";
    size_t rlen = 1;
    uint64_t mon;

    if (actr_msg_is_reply(msg) && actr_msg_request_id(msg) == w->req) {
        plog(&w->nd->log, ACTR_LOG_INFO, "%s", w->nd->up_line);
        return 0;
    }
    if (actr_msg_type(msg) != ACTR_MSG_DOWN)
        return 0;
    (void)actr_msg_down(msg, &mon, &reason, &rlen);
    if (!atomic_exchange(&w->nd->stopping, 1)) {
        atomic_store(&w->nd->failed, 1);
        actr_log(ctx, ACTR_LOG_ERROR,
                 "the root supervisor exited (%.*s): its actors cannot be kept running "
                 "(see the errors above); stopping the node",
                 (int)rlen, reason);
        actr_stop(actr_ctx_runtime(ctx));
    }
    return actr_exit(ctx, ACTR_REASON_NORMAL);
}

static const actr_behavior_t watch_behavior = {
    .size = sizeof(actr_behavior_t),
    .name = "actr.watch",
    .state_size = sizeof(watch_state_t),
    .init = watch_init,
    .receive = watch_receive,
};

/* Spawn the root supervisor with every planned actor as a child, and its
 * watcher. Actors wait in the run queues until the runtime starts. */
static int start_actors(node_t *nd)
{
    actr_child_spec_t *kids = calloc(nd->nplan ? nd->nplan : 1, sizeof(*kids));
    actr_sup_spec_t spec;
    actr_ctx_t *client = NULL;
    actr_ref_t sup, watch;
    unsigned char args[64];
    size_t args_len;
    int rc;

    if (kids == NULL) {
        plog(&nd->log, ACTR_LOG_ERROR, "out of memory");
        return -1;
    }
    for (size_t k = 0; k < nd->nplan; k++) {
        kids[k].id = nd->plan[k].name;
        kids[k].name = nd->plan[k].name;
        kids[k].beh = nd->plan[k].beh;
        kids[k].args = nd->plan[k].conf->args;
        kids[k].args_len = nd->plan[k].conf->args_len;
        kids[k].restart = nd->plan[k].conf->restart;
    }
    memset(&spec, 0, sizeof(spec));
    spec.strategy = ACTR_ONE_FOR_ONE;
    spec.intensity = ROOT_INTENSITY;
    spec.period_ms = ROOT_PERIOD_MS;
    spec.children = kids;
    spec.nchildren = nd->nplan;

    rc = actr_client_open(nd->rt, &client);
    if (rc == 0) {
        rc = actr_supervisor_spawn(client, &spec, NULL, &sup);
        if (rc != 0)
            plog(&nd->log, ACTR_LOG_ERROR, "cannot start the root supervisor: %s",
                 actr_strerror(rc));
    } else {
        plog(&nd->log, ACTR_LOG_ERROR, "cannot open a client context: %s", actr_strerror(rc));
    }
    if (rc == 0) {
        rc = actr_pack(args, sizeof(args), &args_len, "[U r]", (uint64_t)(uintptr_t)nd, sup);
        if (rc == 0)
            rc = actr_spawn(client, &watch_behavior, args, args_len, NULL, &watch);
        if (rc != 0)
            plog(&nd->log, ACTR_LOG_ERROR, "cannot start the supervisor's watcher: %s",
                 actr_strerror(rc));
    }
    actr_client_close(client);
    free(kids);
    return rc == 0 ? 0 : -1;
}

/* ---- signals -------------------------------------------------------------- */

/* The signal thread: the first signal stops the runtime (while sig_live says
 * it is open), a second one exits at once, even while the node closes. It can
 * be cancelled only while it waits in sigwait, never holding sig_mu. */
static void *signal_main(void *arg)
{
    node_t *nd = arg;
    int seen = 0;
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
    for (;;) {
        int sig = 0, rc;
        pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
        rc = sigwait(&nd->sigs, &sig);
        pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
        if (rc != 0)
            continue;
        if (seen++ == 0) {
            plog(&nd->log, ACTR_LOG_INFO, "%s: stopping the node (a second signal exits at once)",
                 sig == SIGINT ? "SIGINT" : "SIGTERM");
            atomic_store(&nd->stopping, 1);
            pthread_mutex_lock(&nd->sig_mu);
            if (nd->sig_live)
                actr_stop(nd->rt);
            pthread_mutex_unlock(&nd->sig_mu);
        } else {
            static const char msg[] = "actr: second signal, exiting now\n";
            write_all(msg, sizeof(msg) - 1);
            _exit(1);
        }
    }
    return NULL;
}

/* ---- run and check ---------------------------------------------------------- */

/* Load the config named by argv (-c FILE). Returns 0, 1 (error printed) or 2 (usage). */
static int load_config(const char *cmd, int argc, char **argv, node_t *nd)
{
    actr_error_t err;
    nd->file = ACTR_PROG_DEFAULT_CONFIG;
    for (int i = 0; i < argc; i++) {
        int r = actr_prog_config_opt(argc, argv, &i, &nd->file);
        if (r == 0) {
            fprintf(stderr, "actr %s: unexpected argument '%s'\n", cmd, argv[i]);
            usage();
            return 2;
        }
        if (r < 0) {
            fprintf(stderr, "actr %s: -c needs a file\n", cmd);
            usage();
            return 2;
        }
    }
    memset(&err, 0, sizeof(err));
    if (actr_config_load(nd->file, &nd->cfg, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg[0] ? err.msg : nd->file);
        return 1;
    }
    nd->log.level = (actr_log_level_t)nd->cfg.log.level;
    nd->log.format = nd->cfg.log.format;
    return 0;
}

static int open_runtime(node_t *nd, const char *data_dir, actr_log_level_t level)
{
    actr_options_t opts;
    int rc;
    actr_options_init(&opts);
    opts.workers = nd->cfg.scheduler.workers;
    opts.batch = nd->cfg.scheduler.batch;
    opts.mailbox_limit = nd->cfg.limits.mailbox;
    opts.log_level = level;
    opts.log_fn = log_sink;
    opts.log_ud = &nd->log;
    opts.data_dir = data_dir;
    rc = actr_open(&nd->rt, &opts);
    if (rc != 0) {
        fprintf(stderr, "%s: cannot open the runtime: %s\n", nd->file, actr_strerror(rc));
        nd->rt = NULL;
        return -1;
    }
    return 0;
}

/* Open the state store as runtime.yaml's `store:` section says (run only:
 * `check` reports configuration errors and touches no file). A file that
 * cannot be opened is one line naming it, and the node does not start. */
static int open_store(node_t *nd)
{
    const actr_config_t *c = &nd->cfg;
    actr_store_options_t so;
    actr_error_t err;
    int rc;

    if (!c->store.enabled) {
        plog(&nd->log, ACTR_LOG_INFO,
             "state store off (store.enabled is false): actors keep their state in memory only");
        return 0;
    }
    actr_store_options_init(&so);
    so.path = c->store.path; /* the config fills in <data_dir>/actr.db */
    so.sync = c->store.synchronous ? ACTR_STORE_FULL : ACTR_STORE_NORMAL;
    so.max_value = c->store.max_value;
    memset(&err, 0, sizeof(err));
    rc = actr_store_open(nd->rt, &so, &err);
    if (rc != 0) {
        char *nl = strchr(err.msg, '\n'); /* one line, whatever the reason says */
        if (nl != NULL)
            *nl = '\0';
        if (err.msg[0] != '\0' && c->store.path != NULL && strstr(err.msg, c->store.path))
            fprintf(stderr, "%s: key 'store.path': cannot open the state store: %s\n", nd->file,
                    err.msg);
        else
            fprintf(stderr, "%s: key 'store.path': cannot open the state store '%s': %s\n",
                    nd->file, c->store.path ? c->store.path : "?",
                    err.msg[0] ? err.msg : actr_prog_reason(rc));
        return -1;
    }
    plog(&nd->log, ACTR_LOG_INFO, "state store %s (synchronous=%s, max_value=%" PRIu32 " bytes)",
         c->store.path ? c->store.path : "?", c->store.synchronous ? "full" : "normal",
         c->store.max_value);
    return 0;
}

/* The name of the plugin loaded from `path` (plugins[i].path), for watching. */
typedef struct by_path {
    const char *path;
    char name[128];
} by_path_t;

static void match_path(void *ud, const actr_plugin_info_t *info)
{
    by_path_t *b = ud;
    if (b->name[0] == '\0' && info->path != NULL && strcmp(info->path, b->path) == 0)
        snprintf(b->name, sizeof(b->name), "%s", info->name);
}

/* Watch every plugin whose entry says `watch: true` (after its actors are
 * started): a change of its file swaps it (actr_plugin_watch). A watch that
 * cannot start is one line naming the entry, and the node does not start. */
static int start_watches(node_t *nd)
{
    const actr_config_t *c = &nd->cfg;
    for (size_t i = 0; i < c->nplugins; i++) {
        const actr_plugin_conf_t *pc = &c->plugins[i];
        by_path_t b = {pc->path, ""};
        actr_error_t err;
        int rc;
        if (!pc->watch)
            continue;
        (void)actr_plugin_list(nd->rt, match_path, &b);
        memset(&err, 0, sizeof(err));
        rc = b.name[0] ? actr_plugin_watch(nd->rt, b.name, pc->path, pc->watch_debounce_ms, &err)
                       : ACTR_ENOENT;
        if (rc != 0) {
            fprintf(stderr, "%s:%d:%d: key 'plugins[%zu].watch': cannot watch %s: %s\n", nd->file,
                    pc->line, pc->col, i, pc->path,
                    err.msg[0] ? err.msg : actr_prog_reason(rc));
            return -1;
        }
    }
    return 0;
}

/* Join the cluster as runtime.yaml's `cluster:` section says (run only). A
 * listen address that cannot be bound is one line naming the key, and the
 * node does not start. Peers are connected in the background. */
static int start_cluster(node_t *nd)
{
    const actr_config_t *c = &nd->cfg;
    actr_cluster_options_t co;
    actr_error_t err;
    int rc;

    if (!c->cluster.enabled)
        return 0;
    actr_cluster_options_init(&co);
    co.node_name = c->node.name;
    co.listen = c->cluster.listen;
    co.peers = (const char *const *)c->cluster.peers;
    co.npeers = c->cluster.npeers;
    co.secret = c->cluster.secret;
    co.secret_len = strlen(c->cluster.secret);
    co.heartbeat_ms = c->cluster.heartbeat_ms;
    co.dead_after_ms = c->cluster.dead_after_ms;
    co.max_frame = c->cluster.max_frame;
    co.max_queue = c->cluster.max_queue;
    memset(&err, 0, sizeof(err));
    rc = actr_cluster_start(nd->rt, &co, &err);
    if (rc != 0) {
        fprintf(stderr, "%s: key '%s': cannot join the cluster: %s\n", nd->file,
                strstr(err.msg, "peers[") ? "cluster.peers"
                : strstr(err.msg, "node name") ? "node.name"
                                               : "cluster.listen",
                err.msg[0] ? err.msg : actr_prog_reason(rc));
        return -1;
    }
    return 0;
}

static int cmd_check(int argc, char **argv)
{
    node_t nd;
    int rc;

    memset(&nd, 0, sizeof(nd));
    rc = load_config("check", argc, argv, &nd);
    if (rc != 0) {
        actr_config_free(&nd.cfg);
        return rc;
    }
    /* Never started; plugin copies go to a private temporary directory, so a
     * check touches neither the node's data directory nor a running node. */
    nd.log.level = nd.log.level > ACTR_LOG_WARN ? nd.log.level : ACTR_LOG_WARN;
    rc = open_runtime(&nd, NULL, nd.log.level) != 0 || prepare(&nd) != 0;
    if (rc == 0)
        printf("%s: ok (%zu plugins, %zu actors)\n", nd.file, nd.cfg.nplugins, nd.nplan);
    actr_close(nd.rt);
    plan_free(&nd);
    actr_config_free(&nd.cfg);
    return rc ? 1 : 0;
}

static int cmd_run(int argc, char **argv)
{
    node_t nd;
    actr_control_t *ctl = NULL;
    pthread_t sig_thread;
    int rc, code = 1, sig_started = 0;

    memset(&nd, 0, sizeof(nd));
    /* Before any thread exists, so that every thread inherits the mask and only
     * signal_main ever takes these signals. */
    sigemptyset(&nd.sigs);
    sigaddset(&nd.sigs, SIGINT);
    sigaddset(&nd.sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &nd.sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    pthread_mutex_init(&nd.sig_mu, NULL);

    rc = load_config("run", argc, argv, &nd);
    if (rc != 0) {
        actr_config_free(&nd.cfg);
        return rc;
    }
    rc = mkdir_p(nd.cfg.node.data_dir);
    if (rc != 0) {
        fprintf(stderr, "%s: key 'node.data_dir': cannot create the data directory '%s': %s\n",
                nd.file, nd.cfg.node.data_dir, strerror(-rc));
        goto out;
    }
    if (open_runtime(&nd, nd.cfg.node.data_dir, nd.log.level) != 0 || open_store(&nd) != 0)
        goto out;
    if (pthread_create(&sig_thread, NULL, signal_main, &nd) != 0) {
        fprintf(stderr, "actr run: cannot start the signal thread\n");
        goto out;
    }
    sig_started = 1;
    pthread_mutex_lock(&nd.sig_mu);
    nd.sig_live = 1;
    pthread_mutex_unlock(&nd.sig_mu);

    if (prepare(&nd) != 0)
        goto out;
    snprintf(nd.up_line, sizeof(nd.up_line),
             "node %s up: %u workers, %zu plugins, %zu actors, control %s%s", nd.cfg.node.name,
             effective_workers(&nd.cfg), nd.cfg.nplugins, nd.nplan,
             nd.cfg.control.enabled ? "at " : "off", nd.cfg.control.enabled ? nd.socket : "");
    if (start_actors(&nd) != 0 || start_watches(&nd) != 0 || start_cluster(&nd) != 0)
        goto out;
    if (nd.cfg.control.enabled) {
        actr_error_t err;
        memset(&err, 0, sizeof(err));
        rc = actr_control_start(nd.rt, nd.socket, &ctl, &err);
        if (rc != 0) {
            if (err.msg[0] != '\0')
                fprintf(stderr, "%s: key 'control.socket': %s\n", nd.file, err.msg);
            else
                fprintf(stderr, "%s: key 'control.socket': cannot serve on '%s': %s\n", nd.file,
                        nd.socket, actr_prog_reason(rc));
            goto out;
        }
    }

    rc = actr_run(nd.rt);
    if (rc != 0 && !(rc == ACTR_ESTOPPED && atomic_load(&nd.stopping))) {
        plog(&nd.log, ACTR_LOG_ERROR, "the runtime failed: %s", actr_strerror(rc));
        goto out;
    }
    if (atomic_load(&nd.failed)) {
        plog(&nd.log, ACTR_LOG_ERROR, "node %s stopped after a failure", nd.cfg.node.name);
        goto out;
    }
    plog(&nd.log, ACTR_LOG_INFO, "node %s stopped", nd.cfg.node.name);
    code = 0;
out:
    pthread_mutex_lock(&nd.sig_mu);
    nd.sig_live = 0;
    pthread_mutex_unlock(&nd.sig_mu);
    actr_control_stop(ctl);
    actr_close(nd.rt);
    if (sig_started) { /* signals stay blocked: a later one is dropped at exit */
        pthread_cancel(sig_thread);
        pthread_join(sig_thread, NULL);
    }
    pthread_mutex_destroy(&nd.sig_mu);
    plan_free(&nd);
    actr_config_free(&nd.cfg);
    return code;
}

int main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : "help";
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("actr %s (plugin ABI %d.%d)\n", actr_version_string(), ACTR_PLUGIN_ABI_MAJOR,
               ACTR_PLUGIN_ABI_MINOR);
        return 0;
    }
    if (strcmp(cmd, "run") == 0)
        return cmd_run(argc - 2, argv + 2);
    if (strcmp(cmd, "check") == 0)
        return cmd_check(argc - 2, argv + 2);
    if (strcmp(cmd, "plugin") == 0)
        return actr_prog_plugin_info(argc - 2, argv + 2);
    if (strcmp(cmd, "ctl") == 0)
        return actr_prog_ctl(argc - 2, argv + 2);
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0) {
        usage();
        return argc > 1 ? 0 : 2;
    }
    fprintf(stderr, "actr: unknown command '%s'\n", cmd);
    usage();
    return 2;
}

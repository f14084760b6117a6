/* ctl.c — the `actr` program's client commands: `actr ctl` and `actr plugin info`.
 *
 *   actr ctl [-c FILE | -s SOCKET] actors | plugins | call NAME JSON | raw JSON
 *            | store backup FILE | store stats
 *            | plugin swap NAME FILE | plugin rollback NAME | plugin history [NAME]
 *            | plugin unload NAME [--force]
 *   actr plugin info FILE.so
 *
 * `ctl` talks to a running node over its control socket (one JSON request
 * line, one JSON reply line, through actr_control_request): it sends the
 * request, checks the reply, and prints it — as a table for `actors` and
 * `plugins`, as JSON for `call`, verbatim for `raw`. Exit status: 0 on
 * success, 1 when the node cannot be reached or refuses, 2 for a usage error.
 * `plugin info` prints a plugin's descriptor without loading it into a node.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "actr.h"
#include "actr/plugin.h" /* ACTR_PLUGIN_ABI_MAJOR/MINOR */
#include "program.h"

#define CTL_TIMEOUT_MS 5000 /* default wait for a control reply */

/* ---- plugin info ------------------------------------------------------------ */

static void print_info(void *ud, const actr_plugin_info_t *info)
{
    (void)ud;
    printf("name:      %s\n", info->name);
    printf("version:   %s\n", info->version);
    printf("abi:       %" PRIu32 ".%" PRIu32 " (this host: %d.%d)\n", info->abi_major,
           info->abi_minor, ACTR_PLUGIN_ABI_MAJOR, ACTR_PLUGIN_ABI_MINOR);
    printf("signature: %s\n", info->signature);
    printf("types:    ");
    for (uint32_t i = 0; i < info->ntypes; i++)
        printf("%s%s", i ? ", " : " ", info->types[i]);
    printf("\nfile:      %s\n", info->path ? info->path : "");
}

int actr_prog_plugin_info(int argc, char **argv)
{
    actr_error_t err;
    int rc;
    if (argc != 2 || strcmp(argv[0], "info") != 0) {
        fprintf(stderr, "usage: actr plugin info FILE.so\n");
        return 2;
    }
    memset(&err, 0, sizeof(err));
    rc = actr_plugin_inspect(argv[1], print_info, NULL, &err);
    if (rc != 0) {
        fprintf(stderr, "%s\n", err.msg[0] ? err.msg : actr_prog_reason(rc));
        return 1;
    }
    return 0;
}

/* ---- ctl: the control socket's client ------------------------------------- */

typedef struct ctl {
    char socket[PATH_MAX];
    const char *cmd; /* for messages */
} ctl_t;

/* Send `req` and parse the reply. Returns the reply object, or NULL after
 * printing why (exit status 1). *line gets the raw reply line when non-NULL. */
static json_t *ctl_request(const ctl_t *c, const char *req, int timeout_ms, char **line)
{
    actr_error_t err;
    json_error_t jerr;
    char *reply = NULL;
    json_t *j;
    int rc;

    memset(&err, 0, sizeof(err));
    rc = actr_control_request(c->socket, req, timeout_ms, &reply, &err);
    if (rc == ACTR_ETIMEDOUT) {
        fprintf(stderr, "actr ctl: no reply from the node at %s within %d ms\n", c->socket,
                timeout_ms);
        return NULL;
    }
    if (rc == ACTR_EPROTO) {
        fprintf(stderr, "actr ctl: bad reply from the node at %s: %s\n", c->socket,
                err.msg[0] ? err.msg : actr_strerror(rc));
        return NULL;
    }
    if (rc != 0) {
        fprintf(stderr, "actr ctl: cannot reach node at %s: %s (is `actr run` running?)\n",
                c->socket,
                rc > -4000 ? actr_prog_reason(rc) : (err.msg[0] ? err.msg : actr_prog_reason(rc)));
        return NULL;
    }
    j = json_loads(reply, JSON_DECODE_ANY, &jerr);
    if (j == NULL) /* e.g. an integer beyond int64 in a call's reply: read the envelope anyway */
        j = json_loads(reply, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, &jerr);
    if (j == NULL || !json_is_object(j)) {
        fprintf(stderr, "actr ctl: the node at %s sent a reply that is not a JSON object: %s\n",
                c->socket, j == NULL ? jerr.text : "wrong type");
        json_decref(j);
        actr_free(reply);
        return NULL;
    }
    if (line != NULL)
        *line = reply;
    else
        actr_free(reply);
    return j;
}

/* 0 if the reply says ok, else prints its error line and returns 1. */
static int ctl_check_ok(const ctl_t *c, json_t *r)
{
    const char *ename, *msg;
    if (json_is_true(json_object_get(r, "ok")))
        return 0;
    ename = json_string_value(json_object_get(r, "error"));
    msg = json_string_value(json_object_get(r, "message"));
    fprintf(stderr, "actr ctl %s: %s: %s\n", c->cmd, ename ? ename : "EUNKNOWN",
            msg ? msg : "the node refused the request");
    return 1;
}

static const char *jstr(json_t *o, const char *key, const char *dflt)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : dflt;
}

/* Print rows of `ncol` strings as a table with a header (numeric columns, as
 * flagged in `right`, are right-aligned). */
static void print_table(const char *const *head, const int *right, size_t ncol, char **cells,
                        size_t nrows)
{
    size_t w[16] = {0}; /* ncol <= 16 */
    for (size_t c = 0; c < ncol; c++) {
        w[c] = strlen(head[c]);
        for (size_t r = 0; r < nrows; r++)
            if (strlen(cells[r * ncol + c]) > w[c])
                w[c] = strlen(cells[r * ncol + c]);
    }
    for (size_t r = 0; r <= nrows; r++) {
        for (size_t c = 0; c < ncol; c++) {
            const char *s = r == 0 ? head[c] : cells[(r - 1) * ncol + c];
            int last = c + 1 == ncol;
            if (right[c])
                printf("%*s%s", (int)w[c], s, last ? "" : "  ");
            else if (last)
                printf("%s", s);
            else
                printf("%-*s  ", (int)w[c], s);
        }
        printf("\n");
    }
}

static char *xstrdup(const char *s)
{
    char *p = strdup(s ? s : "");
    if (p == NULL) {
        fprintf(stderr, "actr ctl: out of memory\n");
        exit(1);
    }
    return p;
}

static char *xfmt_int(json_t *v)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    return xstrdup(buf);
}

static int ctl_list(const ctl_t *c, int actors)
{
    static const char *const ahead[] = {"REF", "NAME", "TYPE", "MAILBOX", "HANDLED"};
    static const int aright[] = {0, 0, 0, 1, 1};
    static const char *const phead[] = {"NAME", "VERSION", "ACTORS", "TYPES", "PATH"};
    static const int pright[] = {0, 0, 1, 0, 0};
    json_t *r = ctl_request(c, actors ? "{\"cmd\":\"actors\"}" : "{\"cmd\":\"plugins\"}",
                            CTL_TIMEOUT_MS, NULL);
    json_t *list;
    char **cells;
    size_t n;

    if (r == NULL)
        return 1;
    if (ctl_check_ok(c, r) != 0) {
        json_decref(r);
        return 1;
    }
    list = json_object_get(r, actors ? "actors" : "plugins");
    n = json_array_size(list);
    cells = calloc(n * 5 + 1, sizeof(*cells));
    if (cells == NULL) {
        json_decref(r);
        fprintf(stderr, "actr ctl: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(list, i);
        char **row = cells + i * 5;
        if (actors) {
            row[0] = xstrdup(jstr(e, "ref", "?"));
            row[1] = xstrdup(jstr(e, "name", "-"));
            row[2] = xstrdup(jstr(e, "type", "?"));
            row[3] = xfmt_int(json_object_get(e, "mailbox"));
            row[4] = xfmt_int(json_object_get(e, "handled"));
        } else {
            json_t *types = json_object_get(e, "types");
            size_t cap = 1, used = 0;
            row[0] = xstrdup(jstr(e, "name", "?"));
            row[1] = xstrdup(jstr(e, "version", "?"));
            row[2] = xfmt_int(json_object_get(e, "actors"));
            for (size_t t = 0; t < json_array_size(types); t++)
                cap += json_string_length(json_array_get(types, t)) + 1;
            row[3] = calloc(cap, 1);
            if (row[3] == NULL)
                row[3] = xstrdup("?");
            else
                for (size_t t = 0; t < json_array_size(types); t++) {
                    const char *s = json_string_value(json_array_get(types, t));
                    used += (size_t)snprintf(row[3] + used, cap - used, "%s%s", t ? "," : "",
                                             s ? s : "?");
                }
            row[4] = xstrdup(jstr(e, "path", "?"));
        }
    }
    print_table(actors ? ahead : phead, actors ? aright : pright, 5, cells, n);
    for (size_t i = 0; i < n * 5; i++)
        free(cells[i]);
    free(cells);
    json_decref(r);
    return 0;
}

/* The node's call reply is this head, the reply's JSON text, and "}". */
static const char call_head[] = "{\"ok\":true,\"reply\":";

static int ctl_call(const ctl_t *c, const char *name, const char *arg, uint64_t type,
                    uint64_t timeout_ms)
{
    actr_error_t err;
    void *mp = NULL;
    size_t mplen = 0;
    char *argtext = NULL, *qname = NULL, *text = NULL, *line = NULL;
    json_t *n, *r;
    int rc = 1;

    if (timeout_ms < 1 || timeout_ms > 3600000) {
        fprintf(stderr, "actr ctl call: --timeout must be 1..3600000 ms\n");
        return 1;
    }
    /* JSON -> msgpack -> JSON: the same exact conversion the node applies
     * (integers beyond int64, "$bin:"), and a one-line value to splice in */
    memset(&err, 0, sizeof(err));
    if (actr_json_to_msgpack(arg, &mp, &mplen, &err) != 0) {
        fprintf(stderr, "actr ctl call: the argument is not valid JSON: %s\n", err.msg);
        return 1;
    }
    if (actr_msgpack_to_json(mp, mplen, &argtext) != 0)
        goto oom;
    n = json_string(name);
    qname = n ? json_dumps(n, JSON_ENCODE_ANY) : NULL;
    json_decref(n);
    if (qname == NULL) {
        fprintf(stderr, "actr ctl call: NAME must be valid UTF-8\n");
        goto out;
    }
    size_t cap = strlen(qname) + strlen(argtext) + 128;
    if ((text = malloc(cap)) == NULL)
        goto oom;
    snprintf(text, cap,
             "{\"cmd\":\"call\",\"name\":%s,\"type\":%llu,\"timeout_ms\":%llu,\"arg\":%s}", qname,
             (unsigned long long)type, (unsigned long long)timeout_ms, argtext);
    /* The node waits up to timeout_ms for the actor; allow for the trip. */
    r = ctl_request(c, text, (int)timeout_ms + 2000, &line);
    if (r == NULL)
        goto out;
    if (ctl_check_ok(c, r) != 0) {
        json_decref(r);
        goto out;
    }
    size_t hl = sizeof(call_head) - 1, ll = strlen(line);
    if (ll > hl + 1 && strncmp(line, call_head, hl) == 0 && line[ll - 1] == '}') {
        printf("%.*s\n", (int)(ll - hl - 1), line + hl); /* exactly as the node wrote it */
    } else {
        json_t *reply = json_object_get(r, "reply");
        char *t = json_dumps(reply ? reply : json_null(), JSON_ENCODE_ANY);
        if (t == NULL) {
            json_decref(r);
            goto oom;
        }
        printf("%s\n", t);
        free(t);
    }
    json_decref(r);
    rc = 0;
    goto out;
oom:
    fprintf(stderr, "actr ctl call: out of memory\n");
out:
    actr_free(mp);
    actr_free(argtext);
    free(qname);
    free(text);
    actr_free(line);
    return rc;
}

static int ctl_raw(const ctl_t *c, const char *req)
{
    char *line = NULL;
    json_t *r;
    int ok;
    if (strchr(req, '\n') != NULL) {
        fprintf(stderr, "actr ctl raw: the request must be one line\n");
        return 2;
    }
    r = ctl_request(c, req, CTL_TIMEOUT_MS, &line);
    if (r == NULL)
        return 1;
    ok = json_is_true(json_object_get(r, "ok"));
    printf("%s\n", line);
    actr_free(line);
    json_decref(r);
    return ok ? 0 : 1;
}

/* ---- ctl store: backup FILE | stats ------------------------------------------ */

static int is_store_cmd(size_t npos, const char *const *pos)
{
    return strcmp(pos[0], "store") == 0 &&
           ((npos == 3 && strcmp(pos[1], "backup") == 0) ||
            (npos == 2 && strcmp(pos[1], "stats") == 0));
}

/* `store backup FILE`: the node writes the copy, so a relative FILE is made
 * absolute here, against this process's directory (the node's may differ). */
static int ctl_store_backup(const ctl_t *c, const char *file)
{
    char abs[PATH_MAX], *text;
    json_t *r, *req, *jb;
    int rc = 1;

    if (file[0] == '\0') {
        fprintf(stderr, "actr ctl store backup: FILE must not be empty\n");
        return 2;
    }
    if (file[0] == '/') {
        if (strlen(file) >= sizeof(abs)) {
            fprintf(stderr, "actr ctl store backup: FILE is longer than %d bytes\n", PATH_MAX - 1);
            return 1;
        }
        strcpy(abs, file);
    } else {
        char cwd[PATH_MAX];
        if (getcwd(cwd, sizeof(cwd)) == NULL) {
            fprintf(stderr, "actr ctl store backup: cannot resolve '%s': getcwd: %s\n", file,
                    strerror(errno));
            return 1;
        }
        if ((size_t)snprintf(abs, sizeof(abs), "%s/%s", strcmp(cwd, "/") == 0 ? "" : cwd, file) >=
            sizeof(abs)) {
            fprintf(stderr, "actr ctl store backup: the path of '%s' is longer than %d bytes\n",
                    file, PATH_MAX - 1);
            return 1;
        }
    }
    req = json_pack("{s:s s:s s:s}", "cmd", "store", "op", "backup", "file", abs);
    text = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    if (text == NULL) {
        fprintf(stderr, "actr ctl store backup: FILE must be valid UTF-8\n");
        return 1;
    }
    /* a large database takes a while to copy: no short deadline */
    r = ctl_request(c, text, -1, NULL);
    free(text);
    if (r == NULL)
        return 1;
    if (ctl_check_ok(c, r) == 0) {
        jb = json_object_get(r, "bytes");
        if (json_is_integer(jb))
            printf("backup written to %s (%" JSON_INTEGER_FORMAT " bytes)\n", abs,
                   json_integer_value(jb));
        else
            printf("backup written to %s\n", abs);
        rc = 0;
    }
    json_decref(r);
    return rc;
}

static int ctl_store(const ctl_t *c, const char *const *pos)
{
    static const char *const keys[] = {"writes", "reads", "commits", "errors", "queued"};
    json_t *r, *st;

    if (strcmp(pos[1], "backup") == 0)
        return ctl_store_backup(c, pos[2]);
    r = ctl_request(c, "{\"cmd\":\"store\",\"op\":\"stats\"}", CTL_TIMEOUT_MS, NULL);
    if (r == NULL)
        return 1;
    if (ctl_check_ok(c, r) != 0) {
        json_decref(r);
        return 1;
    }
    st = json_object_get(r, "stats");
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        printf("%-8s %" JSON_INTEGER_FORMAT "\n", keys[i],
               json_integer_value(json_object_get(st, keys[i])));
    json_decref(r);
    return 0;
}

/* ---- ctl cluster: the peers, one row each ---------------------------------------- */

static char *xfmt_u(json_t *o, const char *key)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(json_object_get(o, key)));
    return xstrdup(buf);
}

static int ctl_cluster(const ctl_t *c)
{
    static const char *const head[] = {"NAME",      "ADDR",       "STATE",
                                       "RTT",       "BYTES_IN",   "BYTES_OUT",
                                       "FRAMES_IN", "FRAMES_OUT", "QUEUE"};
    static const int right[] = {0, 0, 0, 1, 1, 1, 1, 1, 1};
    enum { NCOL = sizeof(head) / sizeof(head[0]) };
    json_t *r = ctl_request(c, "{\"cmd\":\"cluster\"}", CTL_TIMEOUT_MS, NULL);
    if (r == NULL)
        return 1;
    if (ctl_check_ok(c, r) != 0) {
        json_decref(r);
        return 1;
    }
    json_t *list = json_object_get(r, "peers");
    size_t n = json_array_size(list);
    char **cells = calloc(n * NCOL + 1, sizeof(*cells));
    if (cells == NULL) {
        json_decref(r);
        fprintf(stderr, "actr ctl: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(list, i);
        char **row = cells + i * NCOL, buf[64];
        const char *name = jstr(e, "name", "");
        row[0] = xstrdup(name[0] ? name : "-");
        row[1] = xstrdup(jstr(e, "addr", "?"));
        row[2] = xstrdup(jstr(e, "state", "?"));
        double rtt = json_number_value(json_object_get(e, "rtt_ms"));
        if (rtt > 0)
            snprintf(buf, sizeof(buf), "%.2fms", rtt);
        else
            snprintf(buf, sizeof(buf), "-");
        row[3] = xstrdup(buf);
        row[4] = xfmt_u(e, "bytes_in");
        row[5] = xfmt_u(e, "bytes_out");
        row[6] = xfmt_u(e, "frames_in");
        row[7] = xfmt_u(e, "frames_out");
        /* frames/bytes waiting to be written */
        snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT,
                 json_integer_value(json_object_get(e, "queue_frames")),
                 json_integer_value(json_object_get(e, "queue_bytes")));
        row[8] = xstrdup(buf);
    }
    printf("node %s: %zu peer%s\n", jstr(r, "node", "?"), n, n == 1 ? "" : "s");
    print_table(head, right, NCOL, cells, n);
    for (size_t i = 0; i < n * NCOL; i++)
        free(cells[i]);
    free(cells);
    json_decref(r);
    return 0;
}

/* ---- ctl plugin: swap NAME FILE | rollback NAME | history [NAME] | unload NAME [--force] */

#define PLUGIN_OP_TIMEOUT_MS 60000 /* a swap waits for actors and loads a file: be patient */

static int is_plugin_cmd(size_t npos, const char *const *pos)
{
    if (npos < 2 || strcmp(pos[0], "plugin") != 0)
        return 0;
    return (strcmp(pos[1], "swap") == 0 && npos == 4) ||
           (strcmp(pos[1], "rollback") == 0 && npos == 3) ||
           (strcmp(pos[1], "history") == 0 && (npos == 2 || npos == 3)) ||
           (strcmp(pos[1], "unload") == 0 && npos == 3);
}

/* `file` as an absolute path: the node resolves nothing against its own
 * directory, which may differ from ours. Returns 0 or 1 (error printed). */
static int absolute(const char *file, char *out, size_t cap)
{
    char cwd[PATH_MAX];
    if (file[0] == '\0') {
        fprintf(stderr, "actr ctl plugin swap: FILE must not be empty\n");
        return 1;
    }
    if (realpath(file, out) != NULL) /* out has PATH_MAX bytes */
        return 0;
    /* not there (the node will say so): made absolute as written */
    if (file[0] == '/') {
        if (strlen(file) >= cap)
            goto too_long;
        strcpy(out, file);
        return 0;
    }
    if (getcwd(cwd, sizeof(cwd)) == NULL) {
        fprintf(stderr, "actr ctl plugin swap: cannot resolve '%s': getcwd: %s\n", file,
                strerror(errno));
        return 1;
    }
    if ((size_t)snprintf(out, cap, "%s/%s", strcmp(cwd, "/") == 0 ? "" : cwd, file) < cap)
        return 0;
too_long:
    fprintf(stderr, "actr ctl plugin swap: the path of '%s' is longer than %zu bytes\n", file,
            cap - 1);
    return 1;
}

/* Send a request built with json_pack's format; the reply, or NULL (printed). */
static json_t *plugin_request(const ctl_t *c, int timeout_ms, json_t *req)
{
    char *text = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_t *r;
    json_decref(req);
    if (text == NULL) {
        fprintf(stderr, "actr ctl %s: NAME and FILE must be valid UTF-8\n", c->cmd);
        return NULL;
    }
    r = ctl_request(c, text, timeout_ms, NULL);
    free(text);
    if (r != NULL && ctl_check_ok(c, r) != 0) {
        json_decref(r);
        return NULL;
    }
    return r;
}

static double ms_of(json_t *us) { return (double)json_integer_value(us) / 1000.0; }

/* "2024-05-01T12:00:00.123Z" */
static void iso_time(int64_t ms, char *buf, size_t cap)
{
    time_t sec = (time_t)(ms / 1000);
    struct tm tm;
    char day[32];
    if (ms < 0 || gmtime_r(&sec, &tm) == NULL ||
        strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
        snprintf(buf, cap, "?");
        return;
    }
    snprintf(buf, cap, "%s.%03dZ", day, (int)(ms % 1000));
}

/* A copy of s fit for one table cell: control bytes become spaces. */
static char *cell(const char *s)
{
    char *p = xstrdup(s && *s ? s : "-");
    for (char *q = p; *q; q++)
        if ((unsigned char)*q < 0x20 || *q == 0x7f)
            *q = ' ';
    return p;
}

static int ctl_plugin_history(const ctl_t *c, const char *name)
{
    static const char *const head[] = {"TIME",    "PLUGIN", "ACTION", "VERSIONS",
                                       "OUTCOME", "ACTORS", "PAUSE",  "REASON"};
    static const int right[] = {0, 0, 0, 0, 0, 1, 1, 0};
    json_t *r = plugin_request(
        c, CTL_TIMEOUT_MS,
        name ? json_pack("{s:s s:s s:s}", "cmd", "plugin", "op", "history", "name", name)
             : json_pack("{s:s s:s}", "cmd", "plugin", "op", "history"));
    if (r == NULL)
        return 1;
    json_t *list = json_object_get(r, "events");
    size_t n = json_array_size(list);
    char **cells = calloc(n * 8 + 1, sizeof(*cells));
    if (cells == NULL) {
        json_decref(r);
        fprintf(stderr, "actr ctl: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(list, i);
        char **row = cells + i * 8, buf[160];
        const char *from = jstr(e, "from", ""), *to = jstr(e, "to", "");
        int64_t code = json_integer_value(json_object_get(e, "code"));
        iso_time(json_integer_value(json_object_get(e, "time_ms")), buf, sizeof(buf));
        row[0] = xstrdup(buf);
        row[1] = cell(jstr(e, "plugin", "?"));
        row[2] = cell(jstr(e, "action", "?"));
        if (!*from && !*to)
            snprintf(buf, sizeof(buf), "-");
        else
            snprintf(buf, sizeof(buf), "%s -> %s", *from ? from : "-", *to ? to : "?");
        row[3] = cell(buf);
        row[4] = cell(code == 0 ? "ok" : jstr(e, "error", "EUNKNOWN"));
        row[5] = xfmt_int(json_object_get(e, "actors"));
        snprintf(buf, sizeof(buf), "%.3f ms", ms_of(json_object_get(e, "pause_us")));
        row[6] = xstrdup(buf);
        row[7] = cell(jstr(e, "reason", ""));
    }
    print_table(head, right, 8, cells, n);
    for (size_t i = 0; i < n * 8; i++)
        free(cells[i]);
    free(cells);
    json_decref(r);
    return 0;
}

static int ctl_plugin(const ctl_t *base, const char *const *pos, size_t npos, int force)
{
    char cmd[32], path[PATH_MAX];
    ctl_t c = *base;
    json_t *r;
    snprintf(cmd, sizeof(cmd), "plugin %s", pos[1]);
    c.cmd = cmd;

    if (strcmp(pos[1], "history") == 0)
        return ctl_plugin_history(&c, npos == 3 ? pos[2] : NULL);
    if (strcmp(pos[1], "unload") == 0) {
        r = plugin_request(&c, PLUGIN_OP_TIMEOUT_MS,
                           json_pack("{s:s s:s s:s s:b}", "cmd", "plugin", "op", "unload", "name",
                                     pos[2], "force", force));
        if (r == NULL)
            return 1;
        printf("plugin %s unloaded\n", pos[2]);
        json_decref(r);
        return 0;
    }
    if (strcmp(pos[1], "swap") == 0) {
        if (absolute(pos[3], path, sizeof(path)) != 0)
            return 1;
        r = plugin_request(&c, PLUGIN_OP_TIMEOUT_MS,
                           json_pack("{s:s s:s s:s s:s}", "cmd", "plugin", "op", "swap", "name",
                                     pos[2], "path", path));
    } else {
        r = plugin_request(&c, PLUGIN_OP_TIMEOUT_MS,
                           json_pack("{s:s s:s s:s}", "cmd", "plugin", "op", "rollback", "name",
                                     pos[2]));
    }
    if (r == NULL)
        return 1;
    json_int_t actors = json_integer_value(json_object_get(r, "actors"));
    printf("%s %s -> %s%s: %" JSON_INTEGER_FORMAT " actor%s migrated, paused %.3f ms\n", pos[2],
           jstr(r, "from", "?"), jstr(r, "to", "?"),
           strcmp(pos[1], "rollback") == 0 ? " (rollback)" : "", actors, actors == 1 ? "" : "s",
           ms_of(json_object_get(r, "pause_us")));
    json_decref(r);
    return 0;
}

/* Parse a decimal in [min, max]. Returns 0 or -1. */
static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end;
    unsigned long long v;
    if (s == NULL || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int actr_prog_ctl(int argc, char **argv)
{
    const char *file = NULL, *sock = NULL, *pos[4];
    uint64_t type = 1, timeout_ms = CTL_TIMEOUT_MS;
    size_t npos = 0;
    int force = 0; /* plugin unload --force */
    int opts_done = 0;
    ctl_t c;

    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        int r = opts_done ? 0 : actr_prog_config_opt(argc, argv, &i, &file);
        if (r < 0)
            goto bad;
        if (r > 0)
            continue;
        if (!opts_done && strcmp(a, "--") == 0) {
            opts_done = 1;
        } else if (!opts_done && (strcmp(a, "-s") == 0 || strcmp(a, "--socket") == 0)) {
            if (++i >= argc)
                goto bad;
            sock = argv[i];
        } else if (!opts_done && strcmp(a, "--type") == 0) {
            if (++i >= argc || parse_u64(argv[i], 0, UINT32_MAX, &type) != 0) {
                fprintf(stderr, "actr ctl: --type needs an integer in 0..%u\n", UINT32_MAX);
                return 2;
            }
        } else if (!opts_done && strcmp(a, "--force") == 0) {
            force = 1;
        } else if (!opts_done && strcmp(a, "--timeout") == 0) {
            if (++i >= argc || parse_u64(argv[i], 1, 3600000, &timeout_ms) != 0) {
                fprintf(stderr, "actr ctl: --timeout needs milliseconds in 1..3600000\n");
                return 2;
            }
        } else if (npos < 4) {
            pos[npos++] = a;
        } else {
            goto bad;
        }
    }
    if (npos == 0 || (file != NULL && sock != NULL))
        goto bad;
    if (!(((strcmp(pos[0], "actors") == 0 || strcmp(pos[0], "plugins") == 0 ||
           strcmp(pos[0], "cluster") == 0) &&
          npos == 1) ||
          (strcmp(pos[0], "call") == 0 && npos == 3) || (strcmp(pos[0], "raw") == 0 && npos == 2) ||
          is_store_cmd(npos, pos) || is_plugin_cmd(npos, pos)))
        goto bad;
    if (force && !(strcmp(pos[0], "plugin") == 0 && strcmp(pos[1], "unload") == 0))
        goto bad;

    memset(&c, 0, sizeof(c));
    c.cmd = pos[0];
    if (sock != NULL) {
        snprintf(c.socket, sizeof(c.socket), "%s", sock);
    } else {
        actr_config_t cfg;
        actr_error_t err;
        memset(&cfg, 0, sizeof(cfg));
        memset(&err, 0, sizeof(err));
        if (file == NULL)
            file = ACTR_PROG_DEFAULT_CONFIG;
        if (actr_config_load(file, &cfg, &err) != 0) {
            fprintf(stderr, "%s\n", err.msg[0] ? err.msg : file);
            return 1;
        }
        if (!cfg.control.enabled) {
            fprintf(stderr,
                    "actr ctl: %s: control.enabled is false: the node serves no control "
                    "socket\n",
                    file);
            actr_config_free(&cfg);
            return 1;
        }
        actr_prog_socket_path(&cfg, c.socket, sizeof(c.socket));
        actr_config_free(&cfg);
    }

    if (strcmp(pos[0], "call") == 0)
        return ctl_call(&c, pos[1], pos[2], type, timeout_ms);
    if (strcmp(pos[0], "raw") == 0)
        return ctl_raw(&c, pos[1]);
    if (strcmp(pos[0], "store") == 0)
        return ctl_store(&c, pos);
    if (strcmp(pos[0], "plugin") == 0)
        return ctl_plugin(&c, pos, npos, force);
    if (strcmp(pos[0], "cluster") == 0)
        return ctl_cluster(&c);
    return ctl_list(&c, strcmp(pos[0], "actors") == 0);
bad:
    fprintf(stderr, "usage: actr ctl [-c FILE | -s SOCKET] actors | plugins | cluster | "
                    "call NAME JSON [--type N] [--timeout MS] | raw JSON | "
                    "store backup FILE | store stats | plugin swap NAME FILE | "
                    "plugin rollback NAME | plugin history [NAME] | "
                    "plugin unload NAME [--force]\n");
    return 2;
}

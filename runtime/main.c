/* main.c — the `actr` program: a thin command line over the public API.
 *
 *   actr version             print the library version
 *   actr run [-c FILE]       run a node configured by FILE (default ./runtime.yaml)
 *   actr help                usage
 *
 * `run` reads the YAML config with libyaml's event API, opens a runtime with
 * the options it names, spawns the example services it lists (each registered
 * under its name), and runs the runtime in the foreground until SIGINT or
 * SIGTERM, whose handler only calls actr_stop (async-signal-safe); a second
 * signal exits at once. Every log record is one structured line on stderr.
 *
 * The config reader here is deliberately small and strict: unknown keys, wrong
 * types and out-of-range values are errors reported as FILE:LINE:COL from the
 * YAML marks, so a typo never silently runs with a default. It knows the keys
 * of the current config only (a declarative table below); the full config
 * module replaces it later.
 *
 * The program holds two process globals, both for the signal handler: the
 * runtime to stop and the count of signals seen. The library itself has none.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <yaml.h>

#include "actr.h"

#define CONF_MAX_BYTES (4u * 1024u * 1024u) /* a config file larger than this is refused */
#define CONF_NAME_MAX 255                   /* longest node or service name (bytes) */
#define CONF_MAX_SERVICES 1024
#define CONF_MAX_WORKERS 4096
#define LOG_LINE_MAX 2048

/* ---- configuration ---------------------------------------------------- */

typedef enum svc_type { SVC_ECHO = 0, SVC_COUNTER = 1 } svc_type_t;

typedef struct svc_conf {
    char name[CONF_NAME_MAX + 1];
    int type; /* svc_type_t */
    size_t line, col; /* where the entry starts, for error messages */
} svc_conf_t;

typedef struct conf {
    char node_name[CONF_NAME_MAX + 1];
    unsigned workers;   /* 0 = one per core */
    unsigned batch;     /* 0 = the runtime's default */
    unsigned mailbox;   /* 0 = the runtime's default */
    int log_level;      /* actr_log_level_t */
    svc_conf_t *svcs;
    size_t nsvcs;
} conf_t;

typedef enum field_kind {
    F_SECTION,  /* a mapping of sub-fields */
    F_STRING,   /* a non-empty string of at most CONF_NAME_MAX bytes, into char[] */
    F_UINT,     /* a plain decimal integer in [min, max], into unsigned */
    F_ENUM,     /* one of the names in `names`, its index into int */
    F_SERVICES  /* the list of services */
} field_kind_t;

/* One key of a mapping: its type, where its value goes (offset from the
 * mapping's base struct), and its limits. */
typedef struct field {
    const char *key;
    field_kind_t kind;
    size_t off;
    unsigned long long min, max;
    const char *const *names;     /* F_ENUM: NULL-terminated */
    const struct field *sub;      /* F_SECTION: NULL-key-terminated */
    int required;
} field_t;

static const char *const level_names[] = {"debug", "info", "warn", "error", NULL};
static const char *const svc_type_names[] = {"echo", "counter", NULL};

static const field_t node_fields[] = {
    {.key = "name", .kind = F_STRING, .off = offsetof(conf_t, node_name)},
    {0}};
static const field_t scheduler_fields[] = {
    {.key = "workers", .kind = F_UINT, .off = offsetof(conf_t, workers), .min = 0,
     .max = CONF_MAX_WORKERS},
    {.key = "batch", .kind = F_UINT, .off = offsetof(conf_t, batch), .min = 1, .max = 100000},
    {0}};
static const field_t limits_fields[] = {
    {.key = "mailbox", .kind = F_UINT, .off = offsetof(conf_t, mailbox), .min = 1,
     .max = UINT32_MAX},
    {0}};
static const field_t log_fields[] = {
    {.key = "level", .kind = F_ENUM, .off = offsetof(conf_t, log_level), .names = level_names},
    {0}};
static const field_t root_fields[] = {
    {.key = "node", .kind = F_SECTION, .sub = node_fields},
    {.key = "scheduler", .kind = F_SECTION, .sub = scheduler_fields},
    {.key = "limits", .kind = F_SECTION, .sub = limits_fields},
    {.key = "log", .kind = F_SECTION, .sub = log_fields},
    {.key = "services", .kind = F_SERVICES},
    {0}};
static const field_t service_fields[] = {
    {.key = "name", .kind = F_STRING, .off = offsetof(svc_conf_t, name), .required = 1},
    {.key = "type", .kind = F_ENUM, .off = offsetof(svc_conf_t, type), .names = svc_type_names,
     .required = 1},
    {0}};

typedef struct parser {
    yaml_parser_t yp;
    yaml_event_t ev; /* the current event, valid when have_ev */
    int have_ev;
    const char *file;
    char *err; /* caller's buffer for the one error message */
    size_t errlen;
} parser_t;

static void conf_init(conf_t *c)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->node_name, sizeof(c->node_name), "%s", "actr");
    c->log_level = ACTR_LOG_INFO;
}

static void conf_free(conf_t *c)
{
    free(c->svcs);
    c->svcs = NULL;
    c->nsvcs = 0;
}

static int fail_at(parser_t *p, yaml_mark_t m, const char *fmt, ...) ACTR_PRINTF(3, 4);
static int fail_at(parser_t *p, yaml_mark_t m, const char *fmt, ...)
{
    va_list ap;
    int n = snprintf(p->err, p->errlen, "%s:%zu:%zu: ", p->file, m.line + 1, m.column + 1);
    if (n >= 0 && (size_t)n < p->errlen) {
        va_start(ap, fmt);
        vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* Advance to the next event; a syntax error is reported with its position. */
static int next(parser_t *p)
{
    if (p->have_ev)
        yaml_event_delete(&p->ev);
    p->have_ev = 0;
    if (!yaml_parser_parse(&p->yp, &p->ev)) {
        const char *problem = p->yp.problem ? p->yp.problem : "malformed input";
        if (p->yp.context != NULL)
            return fail_at(p, p->yp.problem_mark, "YAML syntax error: %s %s", problem,
                           p->yp.context);
        return fail_at(p, p->yp.problem_mark, "YAML syntax error: %s", problem);
    }
    p->have_ev = 1;
    if (p->ev.type == YAML_ALIAS_EVENT)
        return fail_at(p, p->ev.start_mark, "YAML aliases are not supported in this file");
    return 0;
}

static const char *scalar(const parser_t *p) { return (const char *)p->ev.data.scalar.value; }

/* A plain empty, "~" or "null" scalar: a key given with no value. */
static int is_null(const parser_t *p)
{
    const char *s = scalar(p);
    return p->ev.type == YAML_SCALAR_EVENT && p->ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
           (s[0] == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
            strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0);
}

static const char *event_noun(const parser_t *p)
{
    switch (p->ev.type) {
    case YAML_MAPPING_START_EVENT:
        return "a mapping";
    case YAML_SEQUENCE_START_EVENT:
        return "a list";
    case YAML_SCALAR_EVENT:
        return is_null(p) ? "nothing" : "a scalar";
    default:
        return "something else";
    }
}

static void list_keys(const field_t *fields, char *out, size_t cap)
{
    size_t used = 0;
    out[0] = '\0';
    for (; fields->key != NULL; fields++) {
        int n = snprintf(out + used, cap - used, "%s%s", used ? ", " : "", fields->key);
        if (n < 0 || (size_t)n >= cap - used)
            return;
        used += (size_t)n;
    }
}

static void list_names(const char *const *names, char *out, size_t cap)
{
    size_t used = 0;
    out[0] = '\0';
    for (; *names != NULL; names++) {
        int n = snprintf(out + used, cap - used, "%s%s", used ? ", " : "", *names);
        if (n < 0 || (size_t)n >= cap - used)
            return;
        used += (size_t)n;
    }
}

static int parse_map(parser_t *p, const field_t *fields, void *base, const char *prefix);

/* Parse the value of `f` (the current event) into base. */
static int parse_value(parser_t *p, const field_t *f, void *base, const char *path)
{
    char *dst = (char *)base + f->off;
    char expect[256];

    switch (f->kind) {
    case F_SECTION:
        if (is_null(p))
            return 0;
        if (p->ev.type != YAML_MAPPING_START_EVENT)
            return fail_at(p, p->ev.start_mark, "key '%s': expected a mapping, got %s", path,
                           event_noun(p));
        return parse_map(p, f->sub, base, path);

    case F_STRING: {
        size_t len;
        if (p->ev.type != YAML_SCALAR_EVENT || is_null(p))
            return fail_at(p, p->ev.start_mark, "key '%s': expected a string, got %s", path,
                           event_noun(p));
        len = p->ev.data.scalar.length;
        if (len == 0 || len > CONF_NAME_MAX || memchr(scalar(p), '\0', len) != NULL)
            return fail_at(p, p->ev.start_mark,
                           "key '%s': expected a string of 1..%d bytes, got %zu bytes", path,
                           CONF_NAME_MAX, len);
        memcpy(dst, scalar(p), len);
        dst[len] = '\0';
        return 0;
    }

    case F_UINT: {
        const char *s = scalar(p), *q;
        unsigned long long v = 0;
        int overflow = 0;
        if (p->ev.type != YAML_SCALAR_EVENT || is_null(p) ||
            p->ev.data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
            return fail_at(p, p->ev.start_mark,
                           "key '%s': expected an integer in %llu..%llu, got %s", path, f->min,
                           f->max, p->ev.type == YAML_SCALAR_EVENT && !is_null(p)
                                       ? "a quoted string"
                                       : event_noun(p));
        q = s[0] == '+' ? s + 1 : s;
        if (*q == '\0' || strspn(q, "0123456789") != strlen(q)) {
            if (s[0] == '-' && s[1] != '\0' && strspn(s + 1, "0123456789") == strlen(s + 1))
                return fail_at(p, p->ev.start_mark,
                               "key '%s': value %s out of range (%llu..%llu)", path, s, f->min,
                               f->max);
            return fail_at(p, p->ev.start_mark,
                           "key '%s': expected an integer in %llu..%llu, got '%s'", path, f->min,
                           f->max, s);
        }
        for (; *q; q++) {
            unsigned d = (unsigned)(*q - '0');
            if (v > (ULLONG_MAX - d) / 10u)
                overflow = 1;
            else
                v = v * 10u + d;
        }
        if (overflow || v < f->min || v > f->max)
            return fail_at(p, p->ev.start_mark, "key '%s': value %s out of range (%llu..%llu)",
                           path, s, f->min, f->max);
        *(unsigned *)(void *)dst = (unsigned)v;
        return 0;
    }

    case F_ENUM: {
        size_t i;
        list_names(f->names, expect, sizeof(expect));
        if (p->ev.type != YAML_SCALAR_EVENT || is_null(p))
            return fail_at(p, p->ev.start_mark, "key '%s': expected one of: %s; got %s", path,
                           expect, event_noun(p));
        for (i = 0; f->names[i] != NULL; i++) {
            if (strcmp(scalar(p), f->names[i]) == 0) {
                *(int *)(void *)dst = (int)i;
                return 0;
            }
        }
        return fail_at(p, p->ev.start_mark, "key '%s': expected one of: %s; got '%s'", path,
                       expect, scalar(p));
    }

    case F_SERVICES: {
        conf_t *c = base;
        if (is_null(p))
            return 0;
        if (p->ev.type != YAML_SEQUENCE_START_EVENT)
            return fail_at(p, p->ev.start_mark,
                           "key '%s': expected a list of {name, type}, got %s", path,
                           event_noun(p));
        for (;;) {
            char item_path[160];
            svc_conf_t *s;
            size_t i;
            if (next(p) != 0)
                return -1;
            if (p->ev.type == YAML_SEQUENCE_END_EVENT)
                return 0;
            snprintf(item_path, sizeof(item_path), "%s[%zu]", path, c->nsvcs);
            if (p->ev.type != YAML_MAPPING_START_EVENT)
                return fail_at(p, p->ev.start_mark,
                               "key '%s': expected a mapping {name, type}, got %s", item_path,
                               event_noun(p));
            if (c->nsvcs == CONF_MAX_SERVICES)
                return fail_at(p, p->ev.start_mark, "key '%s': more than %d services",
                               path, CONF_MAX_SERVICES);
            s = realloc(c->svcs, (c->nsvcs + 1) * sizeof(*s));
            if (s == NULL)
                return fail_at(p, p->ev.start_mark, "out of memory");
            c->svcs = s;
            s = &c->svcs[c->nsvcs++];
            memset(s, 0, sizeof(*s));
            s->line = p->ev.start_mark.line + 1;
            s->col = p->ev.start_mark.column + 1;
            if (parse_map(p, service_fields, s, item_path) != 0)
                return -1;
            for (i = 0; i + 1 < c->nsvcs; i++) {
                if (strcmp(c->svcs[i].name, s->name) == 0) {
                    yaml_mark_t m = {0, s->line - 1, s->col - 1};
                    return fail_at(p, m,
                                   "key '%s.name': service name '%s' is already used by "
                                   "%s[%zu]",
                                   item_path, s->name, path, i);
                }
            }
        }
    }
    }
    return fail_at(p, p->ev.start_mark, "key '%s': internal error: unknown field kind", path);
}

/* The current event is a MAPPING_START; parse up to its MAPPING_END. */
static int parse_map(parser_t *p, const field_t *fields, void *base, const char *prefix)
{
    yaml_mark_t start = p->ev.start_mark;
    uint32_t seen = 0;
    size_t i;

    for (;;) {
        char path[128], expect[256];
        const field_t *f;
        size_t idx;

        if (next(p) != 0)
            return -1;
        if (p->ev.type == YAML_MAPPING_END_EVENT)
            break;
        if (p->ev.type != YAML_SCALAR_EVENT)
            return fail_at(p, p->ev.start_mark, "in '%s': keys must be plain strings, got %s",
                           prefix[0] ? prefix : "(top level)", event_noun(p));
        snprintf(path, sizeof(path), "%s%s%s", prefix, prefix[0] ? "." : "", scalar(p));
        for (f = fields; f->key != NULL && strcmp(f->key, scalar(p)) != 0; f++)
            ;
        if (f->key == NULL) {
            list_keys(fields, expect, sizeof(expect));
            return fail_at(p, p->ev.start_mark, "key '%s': unknown key (expected one of: %s)",
                           path, expect);
        }
        idx = (size_t)(f - fields);
        if (seen & (1u << idx))
            return fail_at(p, p->ev.start_mark, "key '%s': duplicate key", path);
        seen |= 1u << idx;
        if (next(p) != 0 || parse_value(p, f, base, path) != 0)
            return -1;
    }
    for (i = 0; fields[i].key != NULL; i++) {
        if (fields[i].required && !(seen & (1u << i)))
            return fail_at(p, start, "key '%s': missing required key '%s'", prefix,
                           fields[i].key);
    }
    return 0;
}

/* Parse a whole config document held in buf. `file` names it in errors. */
static int conf_parse(const char *file, const char *buf, size_t len, conf_t *c, char *err,
                      size_t errlen)
{
    parser_t p;
    int rc = -1;

    memset(&p, 0, sizeof(p));
    p.file = file;
    p.err = err;
    p.errlen = errlen;
    if (!yaml_parser_initialize(&p.yp)) {
        snprintf(err, errlen, "%s: cannot initialise the YAML parser", file);
        return -1;
    }
    yaml_parser_set_input_string(&p.yp, (const unsigned char *)buf, len);

    if (next(&p) != 0) /* STREAM_START */
        goto out;
    if (next(&p) != 0)
        goto out;
    if (p.ev.type == YAML_STREAM_END_EVENT) { /* empty file: all defaults */
        rc = 0;
        goto out;
    }
    if (next(&p) != 0) /* past DOCUMENT_START: the root node */
        goto out;
    if (p.ev.type == YAML_MAPPING_START_EVENT) {
        if (parse_map(&p, root_fields, c, "") != 0)
            goto out;
    } else if (!is_null(&p)) {
        fail_at(&p, p.ev.start_mark, "the top level must be a mapping, got %s", event_noun(&p));
        goto out;
    }
    if (next(&p) != 0) /* DOCUMENT_END */
        goto out;
    if (next(&p) != 0)
        goto out;
    if (p.ev.type != YAML_STREAM_END_EVENT) {
        fail_at(&p, p.ev.start_mark, "only one YAML document is allowed");
        goto out;
    }
    rc = 0;
out:
    if (p.have_ev)
        yaml_event_delete(&p.ev);
    yaml_parser_delete(&p.yp);
    return rc;
}

/* Read and parse a config file. On error, err holds one line naming the file. */
static int conf_load(const char *file, conf_t *c, char *err, size_t errlen)
{
    FILE *f = fopen(file, "rb");
    char *buf;
    size_t len;
    int rc;

    if (f == NULL) {
        snprintf(err, errlen, "%s: cannot open: %s", file, strerror(errno));
        return -1;
    }
    buf = malloc(CONF_MAX_BYTES + 1);
    if (buf == NULL) {
        fclose(f);
        snprintf(err, errlen, "%s: out of memory", file);
        return -1;
    }
    len = fread(buf, 1, CONF_MAX_BYTES + 1, f);
    if (ferror(f)) {
        snprintf(err, errlen, "%s: read error: %s", file, strerror(errno));
        rc = -1;
    } else if (len > CONF_MAX_BYTES) {
        snprintf(err, errlen, "%s: larger than %u bytes", file, CONF_MAX_BYTES);
        rc = -1;
    } else {
        rc = conf_parse(file, buf, len, c, err, errlen);
    }
    fclose(f);
    free(buf);
    return rc;
}

/* ---- logging ------------------------------------------------------------ */

static const char *level_name(actr_log_level_t level)
{
    switch (level) {
    case ACTR_LOG_DEBUG:
        return "debug";
    case ACTR_LOG_INFO:
        return "info";
    case ACTR_LOG_WARN:
        return "warn";
    case ACTR_LOG_ERROR:
        return "error";
    default:
        return "off";
    }
}

/* The runtime's log sink, also used for the program's own lines:
 *   time=2025-01-02T03:04:05.678Z level=info actor=3.1 msg="..."
 * Called from any thread: the line is built on the stack and written with one
 * write(2), so concurrent lines never interleave. */
static void log_sink(void *ud, actr_log_level_t level, actr_ref_t actor, const char *line)
{
    char out[LOG_LINE_MAX];
    struct timespec ts;
    struct tm tm;
    size_t n;
    const char *s;

    (void)ud;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = strftime(out, sizeof(out), "time=%Y-%m-%dT%H:%M:%S", &tm);
    n += (size_t)snprintf(out + n, sizeof(out) - n, ".%03ldZ level=%s", ts.tv_nsec / 1000000L,
                          level_name(level));
    if (!actr_ref_is_none(actor))
        n += (size_t)snprintf(out + n, sizeof(out) - n, " actor=%" PRIu32 ".%" PRIu32,
                              actor.slot, actor.gen);
    n += (size_t)snprintf(out + n, sizeof(out) - n, " msg=\"");
    /* Quote the message (logfmt): escape quotes, backslashes and controls. */
    for (s = line ? line : ""; *s && n + 8 < sizeof(out); s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') {
            out[n++] = '\\';
            out[n++] = (char)ch;
        } else if (ch == '\n') {
            out[n++] = '\\';
            out[n++] = 'n';
        } else if (ch < 0x20 || ch == 0x7f) {
            n += (size_t)snprintf(out + n, sizeof(out) - n, "\\x%02x", ch);
        } else {
            out[n++] = (char)ch;
        }
    }
    if (*s) { /* truncated: say so */
        memcpy(out + n - 3, "...", 3);
    }
    out[n++] = '"';
    out[n++] = '\n';
    if (write(STDERR_FILENO, out, n) < 0) {
        /* Nowhere left to report it. */
    }
}

static actr_log_level_t prog_level = ACTR_LOG_INFO;

static void plog(actr_log_level_t level, const char *fmt, ...) ACTR_PRINTF(2, 3);
static void plog(actr_log_level_t level, const char *fmt, ...)
{
    char line[LOG_LINE_MAX];
    va_list ap;
    if (level < prog_level)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    log_sink(NULL, level, ACTR_REF_NONE, line);
}

/* ---- example services --------------------------------------------------- */

/* echo: answers every request with a copy of it (same type, same payload).
 * Plain sends and system messages are ignored. */
static int echo_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    actr_msg_t *reply;
    int rc;

    (void)state;
    if (!actr_msg_is_request(msg))
        return 0;
    rc = actr_msg_dup(ctx, msg, &reply);
    if (rc != 0) {
        actr_log(ctx, ACTR_LOG_WARN, "echo: cannot copy a request: %s", actr_strerror(rc));
        return 0;
    }
    rc = actr_reply(ctx, msg, reply);
    if (rc != 0 && rc != ACTR_ENOACTOR)
        actr_log(ctx, ACTR_LOG_WARN, "echo: reply failed: %s", actr_strerror(rc));
    return 0;
}

typedef struct counter_state {
    int64_t total;
} counter_state_t;

/* counter: a request whose payload is one msgpack integer adds it to the
 * total; an empty request only reads it. The reply is the new total, or
 * {"error": "..."} for a payload that is not an integer or would overflow. */
static int counter_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    counter_state_t *st = state;
    actr_msg_t *reply = NULL;
    const char *problem = NULL;
    int64_t n = 0, sum;
    size_t len = 0;
    int rc;

    if (!actr_msg_is_request(msg))
        return 0;
    (void)actr_msg_data(msg, &len);
    if (len > 0 && actr_msg_unpack(msg, "I", &n) != 0)
        problem = "counter: the payload must be one msgpack integer";
    else if (__builtin_add_overflow(st->total, n, &sum))
        problem = "counter: the total would overflow";
    else
        st->total = sum;

    if (problem != NULL)
        rc = actr_msg_pack(ctx, actr_msg_type(msg), &reply, "{s:s}", "error", problem);
    else
        rc = actr_msg_pack(ctx, actr_msg_type(msg), &reply, "I", st->total);
    if (rc != 0) {
        actr_log(ctx, ACTR_LOG_WARN, "counter: cannot build a reply: %s", actr_strerror(rc));
        return 0;
    }
    rc = actr_reply(ctx, msg, reply);
    if (rc != 0 && rc != ACTR_ENOACTOR)
        actr_log(ctx, ACTR_LOG_WARN, "counter: reply failed: %s", actr_strerror(rc));
    return 0;
}

static const actr_behavior_t echo_behavior = {
    .size = sizeof(actr_behavior_t),
    .name = "echo",
    .receive = echo_receive,
};

static const actr_behavior_t counter_behavior = {
    .size = sizeof(actr_behavior_t),
    .name = "counter",
    .state_size = sizeof(counter_state_t),
    .receive = counter_receive,
};

static const actr_behavior_t *const svc_behaviors[] = {&echo_behavior, &counter_behavior};

/* ---- commands ------------------------------------------------------------ */

static actr_t *volatile signal_rt;           /* the runtime the handler stops */
static volatile sig_atomic_t signals_seen;   /* SIGINT/SIGTERM received so far */

static void on_stop_signal(int sig)
{
    static const char msg[] = "actr: second signal, exiting now\n";
    (void)sig;
    if (signals_seen++ == 0) {
        if (signal_rt != NULL)
            actr_stop(signal_rt); /* async-signal-safe by contract */
        return;
    }
    if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
        /* exiting anyway */
    }
    _exit(1);
}

static void usage(void)
{
    fprintf(stderr,
            "usage: actr <command> [options]\n"
            "\n"
            "commands:\n"
            "  run [-c FILE]   run a node: open a runtime configured by FILE\n"
            "                  (default ./runtime.yaml), start the services it lists, and\n"
            "                  run until SIGINT or SIGTERM\n"
            "  version         print the version\n"
            "  help            print this help\n");
}

static int cmd_run(int argc, char **argv)
{
    const char *file = "runtime.yaml";
    char err[1024], list[1024];
    actr_options_t opts;
    actr_ctx_t *client = NULL;
    actr_t *rt = NULL;
    struct sigaction sa;
    size_t used = 0, i;
    unsigned workers;
    conf_t c;
    int i_arg, rc;

    for (i_arg = 0; i_arg < argc; i_arg++) {
        const char *a = argv[i_arg];
        if ((strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) && i_arg + 1 < argc) {
            file = argv[++i_arg];
        } else if (strncmp(a, "--config=", 9) == 0) {
            file = a + 9;
        } else {
            fprintf(stderr, "actr run: unexpected argument '%s'\n", a);
            usage();
            return 2;
        }
    }

    conf_init(&c);
    if (conf_load(file, &c, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        conf_free(&c);
        return 1;
    }
    prog_level = (actr_log_level_t)c.log_level;

    actr_options_init(&opts);
    opts.workers = c.workers;
    opts.batch = c.batch;
    opts.mailbox_limit = c.mailbox;
    opts.log_level = (actr_log_level_t)c.log_level;
    opts.log_fn = log_sink;
    opts.log_ud = NULL;
    rc = actr_open(&rt, &opts);
    if (rc != 0) {
        plog(ACTR_LOG_ERROR, "cannot open the runtime: %s", actr_strerror(rc));
        conf_free(&c);
        return 1;
    }

    /* Spawn the services from this thread through a client context; they wait
     * in the run queues until actr_run starts the workers. */
    rc = actr_client_open(rt, &client);
    if (rc != 0) {
        plog(ACTR_LOG_ERROR, "cannot open a client context: %s", actr_strerror(rc));
        goto fail;
    }
    list[0] = '\0';
    for (i = 0; i < c.nsvcs; i++) {
        actr_spawn_opts_t so;
        actr_ref_t ref;
        int n;
        memset(&so, 0, sizeof(so));
        so.name = c.svcs[i].name;
        rc = actr_spawn(client, svc_behaviors[c.svcs[i].type], NULL, 0, &so, &ref);
        if (rc != 0) {
            plog(ACTR_LOG_ERROR, "%s:%zu:%zu: cannot start service '%s': %s", file,
                 c.svcs[i].line, c.svcs[i].col, c.svcs[i].name, actr_strerror(rc));
            goto fail;
        }
        plog(ACTR_LOG_DEBUG, "service %s (%s) started as actor %" PRIu32 ".%" PRIu32,
             c.svcs[i].name, svc_type_names[c.svcs[i].type], ref.slot, ref.gen);
        n = snprintf(list + used, sizeof(list) - used, "%s%s (%s)", used ? ", " : "",
                     c.svcs[i].name, svc_type_names[c.svcs[i].type]);
        if (n > 0 && (size_t)n < sizeof(list) - used)
            used += (size_t)n;
    }
    actr_client_close(client);
    client = NULL;

    workers = c.workers;
    if (workers == 0) {
        long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        workers = ncpu > 0 ? (unsigned)ncpu : 1;
    }

    signal_rt = rt;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    plog(ACTR_LOG_INFO, "node %s up: %u workers, services: %s", c.node_name, workers,
         used ? list : "none");
    rc = actr_run(rt);
    if (rc != 0 && !(rc == ACTR_ESTOPPED && signals_seen > 0)) {
        plog(ACTR_LOG_ERROR, "the runtime failed: %s", actr_strerror(rc));
        goto fail;
    }
    plog(ACTR_LOG_INFO, "node %s stopped", c.node_name);
    signal_rt = NULL;
    actr_close(rt);
    conf_free(&c);
    return 0;

fail:
    signal_rt = NULL;
    actr_client_close(client);
    actr_close(rt);
    conf_free(&c);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage();
        return 2;
    }
    if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
        printf("actr %s\n", actr_version_string());
        return 0;
    }
    if (strcmp(argv[1], "run") == 0)
        return cmd_run(argc - 2, argv + 2);
    if (strcmp(argv[1], "help") != 0 && strcmp(argv[1], "-h") != 0 &&
        strcmp(argv[1], "--help") != 0)
        fprintf(stderr, "actr: unknown command '%s'\n", argv[1]);
    usage();
    return 2;
}

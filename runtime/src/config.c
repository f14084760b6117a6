/* config.c — runtime.yaml into actr_config_t: the declarative field tables of
 * every section, the one generic walker that applies them to libyaml events
 * (config_yaml.c), the checks that span entries (actor names unique across
 * all plugins after the NAME-1..NAME-N expansion, run at the end), and the public API
 * (actr_config_parse_buf, actr_config_load, actr_config_free). The check of
 * actor names across entries is in config_names.c.
 *
 * A table lists the keys of one mapping: {key, kind, offset of the target in
 * the struct being filled, limits, default, enum names, sub-table}. Adding a
 * key is one line in a table; defaults, parsing, error messages ("expected
 * one of", "did you mean", types, ranges, duplicates, missing required keys)
 * and freeing all follow from it.
 *
 * Invariants:
 *  - The parser is pure: no I/O besides the getenv callback. It stops at the
 *    first error, so nothing is ever skipped or recovered.
 *  - Everything the config owns is reachable from the tables (strings,
 *    args, lists), so one walker frees it, also a half-filled config.
 *  - On error *out is zeroed and owns nothing.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "actr.h"
#include "config_int.h"
#include "util.h"

/* ---- tables ------------------------------------------------------------- */

typedef enum conf_kind {
    K_SECTION, /* a mapping whose keys fill the same struct (sub-table, same base) */
    K_LIST,    /* a list of mappings: an array of sub-table structs + its count */
    K_STRING,  /* char *: a string of min..max bytes */
    K_UINT,    /* an unsigned integer of `size` bytes in min..max */
    K_BOOL,    /* int: true/false (also yes/no, on/off) */
    K_ENUM,    /* an integer of `size` bytes: the index of the name in `names` */
    K_ARGS,    /* void * + size_t at off2: any YAML value as msgpack */
    K_STRLIST  /* char ** + size_t count at off2: a list of strings of min..max bytes,
                  at most `size` of them */
} conf_kind_t;

#define F_REQUIRED 1u /* the key must be given */
#define F_CONFDIR 2u  /* K_STRING: a path, relative ones resolved against the config's folder */
#define F_ADDR 4u     /* K_STRING, K_STRLIST: HOST:PORT (IPv4, [IPv6] or localhost), port 1..65535 */
#define F_ADDR0 8u    /* with F_ADDR: port 0 allowed too */
#define F_ADDRNAME 16u /* with F_ADDR: HOST may also be a host name */

typedef struct conf_table conf_table_t;

typedef struct conf_field {
    const char *key;
    conf_kind_t kind;
    unsigned flags;
    size_t off;               /* the target, from the base of the table's struct */
    size_t size;              /* K_UINT, K_ENUM: bytes of the integer at off */
    uint64_t min, max;        /* K_UINT: range; K_STRING: length in bytes */
    uint64_t def;             /* K_UINT, K_BOOL, K_ENUM: the default */
    const char *defstr;       /* K_STRING: the default (NULL: none) */
    const char *const *names; /* K_ENUM: NULL-terminated; a name's index is its value */
    const conf_table_t *sub;  /* K_SECTION, K_LIST */
    size_t off2;              /* K_LIST: the size_t count; K_ARGS: the size_t length */
} conf_field_t;

struct conf_table {
    const conf_field_t *fields;
    size_t nfields;           /* at most 32 */
    size_t elem_size;         /* as a K_LIST element: its struct's size ... */
    size_t max_elems;         /* ... the most entries in one list ... */
    size_t line_off, col_off; /* ... where its position goes ... */
    /* ... and a check run once the entry is read (may be NULL). */
    int (*check)(actr__conf_parser_t *p, char *elem, const yaml_mark_t *m);
};

#define MEMBER_SIZE(st, m) sizeof(((st *)0)->m)
#define NFIELDS(a) (sizeof(a) / sizeof((a)[0]))

#define T_STR(k, st, m, lo, hi, d, fl)                                                             \
    {                                                                                              \
        .key = k, .kind = K_STRING, .flags = fl, .off = offsetof(st, m), .min = lo, .max = hi,     \
        .defstr = d                                                                                \
    }
#define T_UINT(k, st, m, lo, hi, d)                                                                \
    {                                                                                              \
        .key = k, .kind = K_UINT, .off = offsetof(st, m), .size = MEMBER_SIZE(st, m), .min = lo,   \
        .max = hi, .def = d                                                                        \
    }
#define T_BOOL(k, st, m, d)                                                                        \
    {                                                                                              \
        .key = k, .kind = K_BOOL, .off = offsetof(st, m), .size = MEMBER_SIZE(st, m), .def = d     \
    }
#define T_ENUM(k, st, m, nm, d)                                                                    \
    {                                                                                              \
        .key = k, .kind = K_ENUM, .off = offsetof(st, m), .size = MEMBER_SIZE(st, m), .names = nm, \
        .def = d                                                                                   \
    }
#define T_ARGS(k, st, m, lenm)                                                                     \
    {                                                                                              \
        .key = k, .kind = K_ARGS, .off = offsetof(st, m), .off2 = offsetof(st, lenm)               \
    }
#define T_STRLIST(k, st, m, countm, lo, hi, maxn, fl)                                              \
    {                                                                                              \
        .key = k, .kind = K_STRLIST, .flags = fl, .off = offsetof(st, m),                          \
        .off2 = offsetof(st, countm), .size = maxn, .min = lo, .max = hi                           \
    }
#define T_SECTION(k, t)                                                                            \
    {                                                                                              \
        .key = k, .kind = K_SECTION, .sub = &(t)                                                   \
    }
#define T_LIST(k, st, m, countm, t)                                                                \
    {                                                                                              \
        .key = k, .kind = K_LIST, .off = offsetof(st, m), .off2 = offsetof(st, countm),            \
        .sub = &(t)                                                                                \
    }

#define NAME_MAX_BYTES 255 /* registered names (the registry's limit) */
#define PATH_MAX_BYTES 4095
#define SOCKET_MAX_BYTES 107 /* sun_path holds 108 bytes with the NUL */

static const char *const level_names[] = {"debug", "info", "warn", "error", NULL};
static const char *const format_names[] = {"text", "json", NULL};
static const char *const restart_names[] = {"permanent", "transient", "temporary", NULL};

/* The enum values are the names' indexes. */
_Static_assert(ACTR_LOG_DEBUG == 0 && ACTR_LOG_INFO == 1 && ACTR_LOG_WARN == 2 &&
                   ACTR_LOG_ERROR == 3,
               "level_names follows actr_log_level_t");
_Static_assert(ACTR_LOG_TEXT == 0 && ACTR_LOG_JSON == 1, "format_names follows actr_log_format_t");
_Static_assert(ACTR_PERMANENT == 0 && ACTR_TRANSIENT == 1 && ACTR_TEMPORARY == 2,
               "restart_names follows actr_restart_t");

static int check_actor(actr__conf_parser_t *p, char *elem, const yaml_mark_t *m);

static const conf_field_t actor_fields[] = {
    T_STR("name", actr_actor_conf_t, name, 1, NAME_MAX_BYTES, NULL, F_REQUIRED),
    T_STR("type", actr_actor_conf_t, type, 1, NAME_MAX_BYTES, NULL, F_REQUIRED),
    T_ARGS("args", actr_actor_conf_t, args, args_len),
    T_UINT("count", actr_actor_conf_t, count, 1, ACTR__CONF_COUNT_MAX, 1),
    T_ENUM("restart", actr_actor_conf_t, restart, restart_names, ACTR_PERMANENT),
};
static const conf_table_t actor_table = {actor_fields,
                                         NFIELDS(actor_fields),
                                         sizeof(actr_actor_conf_t),
                                         4096,
                                         offsetof(actr_actor_conf_t, line),
                                         offsetof(actr_actor_conf_t, col),
                                         check_actor};

static const conf_field_t plugin_fields[] = {
    T_STR("path", actr_plugin_conf_t, path, 1, PATH_MAX_BYTES, NULL, F_REQUIRED | F_CONFDIR),
    T_LIST("actors", actr_plugin_conf_t, actors, nactors, actor_table),
    T_BOOL("watch", actr_plugin_conf_t, watch, 0),
    T_UINT("watch_debounce_ms", actr_plugin_conf_t, watch_debounce_ms, 10, 60000, 500),
};
static const conf_table_t plugin_table = {plugin_fields,
                                          NFIELDS(plugin_fields),
                                          sizeof(actr_plugin_conf_t),
                                          1024,
                                          offsetof(actr_plugin_conf_t, line),
                                          offsetof(actr_plugin_conf_t, col),
                                          NULL};

static const conf_field_t node_fields[] = {
    T_STR("name", actr_config_t, node.name, 1, NAME_MAX_BYTES, "actr", 0),
    T_STR("data_dir", actr_config_t, node.data_dir, 1, PATH_MAX_BYTES, "./actr-data", 0),
};
static const conf_field_t scheduler_fields[] = {
    T_UINT("workers", actr_config_t, scheduler.workers, 0, 1024, 0),
    T_UINT("batch", actr_config_t, scheduler.batch, 1, 100000, 64),
};
static const conf_field_t limits_fields[] = {
    T_UINT("mailbox", actr_config_t, limits.mailbox, 1, 1u << 31, 16384),
};
static const conf_field_t log_fields[] = {
    T_ENUM("level", actr_config_t, log.level, level_names, ACTR_LOG_INFO),
    T_ENUM("format", actr_config_t, log.format, format_names, ACTR_LOG_TEXT),
};
static const conf_field_t control_fields[] = {
    T_BOOL("enabled", actr_config_t, control.enabled, 1),
    /* Default (set after parsing): <data_dir>/control.sock. */
    T_STR("socket", actr_config_t, control.socket, 1, SOCKET_MAX_BYTES, NULL, 0),
};
static const char *const sync_names[] = {"normal", "full", NULL};
static const conf_field_t store_fields[] = {
    T_BOOL("enabled", actr_config_t, store.enabled, 1),
    /* Default (set after parsing): <data_dir>/actr.db. */
    T_STR("path", actr_config_t, store.path, 1, PATH_MAX_BYTES, NULL, 0),
    T_ENUM("synchronous", actr_config_t, store.synchronous, sync_names, 0),
    T_UINT("max_value", actr_config_t, store.max_value, 1, 64u << 20, 1u << 20),
};
static const conf_field_t cluster_fields[] = {
    T_BOOL("enabled", actr_config_t, cluster.enabled, 0),
    T_STR("listen", actr_config_t, cluster.listen, 3, 80, "0.0.0.0:7400", F_ADDR | F_ADDR0),
    T_STRLIST("peers", actr_config_t, cluster.peers, cluster.npeers, 3, 79, 1024,
              F_ADDR | F_ADDRNAME),
    /* never shown in messages; may be empty (e.g. ${ACTR_CLUSTER_SECRET:-}) while the
     * cluster is off: its length is checked when enabled (check_cluster) */
    T_STR("secret", actr_config_t, cluster.secret, 0, 4096, NULL, 0),
    T_UINT("heartbeat_ms", actr_config_t, cluster.heartbeat_ms, 10, 60000, 1000),
    T_UINT("dead_after_ms", actr_config_t, cluster.dead_after_ms, 50, 600000, 5000),
    T_UINT("max_frame", actr_config_t, cluster.max_frame, 1024, 1u << 30, 8u << 20),
    T_UINT("max_queue", actr_config_t, cluster.max_queue, 64u << 10, 16ull << 30, 64u << 20),
};

#define SECTION_TABLE(f)                                                                           \
    {                                                                                              \
        f, NFIELDS(f), 0, 0, 0, 0, NULL                                                            \
    }
static const conf_table_t node_table = SECTION_TABLE(node_fields);
static const conf_table_t scheduler_table = SECTION_TABLE(scheduler_fields);
static const conf_table_t limits_table = SECTION_TABLE(limits_fields);
static const conf_table_t log_table = SECTION_TABLE(log_fields);
static const conf_table_t control_table = SECTION_TABLE(control_fields);
static const conf_table_t store_table = SECTION_TABLE(store_fields);
static const conf_table_t cluster_table = SECTION_TABLE(cluster_fields);

static const conf_field_t root_fields[] = {
    T_SECTION("node", node_table),
    T_SECTION("scheduler", scheduler_table),
    T_SECTION("limits", limits_table),
    T_SECTION("log", log_table),
    T_SECTION("control", control_table),
    T_SECTION("store", store_table),
    T_SECTION("cluster", cluster_table),
    T_LIST("plugins", actr_config_t, plugins, nplugins, plugin_table),
};
static const conf_table_t root_table = SECTION_TABLE(root_fields);

/* ---- typed stores ------------------------------------------------------- */

static void store_uint(char *at, size_t size, uint64_t v)
{
    uint8_t u8 = (uint8_t)v;
    uint16_t u16 = (uint16_t)v;
    uint32_t u32 = (uint32_t)v;
    switch (size) {
    case 1:
        memcpy(at, &u8, 1);
        break;
    case 2:
        memcpy(at, &u16, 2);
        break;
    case 4:
        memcpy(at, &u32, 4);
        break;
    default:
        memcpy(at, &v, 8);
        break;
    }
}

static void *load_ptr(const char *at)
{
    void *v;
    memcpy(&v, at, sizeof(v));
    return v;
}

static void store_ptr(char *at, void *v) { memcpy(at, &v, sizeof(v)); }

static size_t load_size(const char *at)
{
    size_t v;
    memcpy(&v, at, sizeof(v));
    return v;
}

static void store_size(char *at, size_t v) { memcpy(at, &v, sizeof(v)); }

static char *dup_mem(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d != NULL) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

/* ---- defaults and freeing, driven by the tables ------------------------- */

static void free_fields(const conf_table_t *t, char *base)
{
    for (size_t i = 0; i < t->nfields; i++) {
        const conf_field_t *f = &t->fields[i];
        switch (f->kind) {
        case K_STRING:
        case K_ARGS:
            free(load_ptr(base + f->off));
            store_ptr(base + f->off, NULL);
            break;
        case K_SECTION:
            free_fields(f->sub, base);
            break;
        case K_STRLIST: {
            char **arr = load_ptr(base + f->off);
            size_t n = load_size(base + f->off2);
            for (size_t k = 0; k < n; k++)
                free(arr[k]);
            free(arr);
            store_ptr(base + f->off, NULL);
            store_size(base + f->off2, 0);
            break;
        }
        case K_LIST: {
            char *arr = load_ptr(base + f->off);
            size_t n = load_size(base + f->off2);
            for (size_t k = 0; k < n; k++)
                free_fields(f->sub, arr + k * f->sub->elem_size);
            free(arr);
            store_ptr(base + f->off, NULL);
            store_size(base + f->off2, 0);
            break;
        }
        default:
            break;
        }
    }
}

static int set_defaults(actr__conf_parser_t *p, const conf_table_t *t, char *base)
{
    for (size_t i = 0; i < t->nfields; i++) {
        const conf_field_t *f = &t->fields[i];
        int rc;
        switch (f->kind) {
        case K_SECTION:
            if ((rc = set_defaults(p, f->sub, base)) != 0)
                return rc;
            break;
        case K_STRING:
            if (f->defstr != NULL) {
                char *d = dup_mem(f->defstr, strlen(f->defstr));
                if (d == NULL)
                    return actr__conf_nomem(p);
                store_ptr(base + f->off, d);
            }
            break;
        case K_UINT:
        case K_ENUM:
            store_uint(base + f->off, f->size, f->def);
            break;
        case K_BOOL: {
            int v = f->def != 0;
            memcpy(base + f->off, &v, sizeof(v));
            break;
        }
        default:
            break;
        }
    }
    return 0;
}

/* ---- scalar values ------------------------------------------------------ */

/* "one of: a, b, c" / "workers, batch" into dst. */
static void join_names(char *dst, size_t cap, const char *const *names, const conf_field_t *fields,
                       size_t nfields)
{
    size_t o = 0;
    dst[0] = '\0';
    for (size_t i = 0; names ? names[i] != NULL : i < nfields; i++) {
        const char *s = names ? names[i] : fields[i].key;
        int w = snprintf(dst + o, cap - o, "%s%s", i ? ", " : "", s);
        if (w < 0 || (size_t)w >= cap - o)
            break;
        o += (size_t)w;
    }
}

/* The closest candidate to key within a small edit distance, or NULL. */
static const char *near_miss(const char *key, size_t n, const char *const *names,
                             const conf_field_t *fields, size_t nfields)
{
    const char *best = NULL;
    size_t bestd = (size_t)-1;
    for (size_t i = 0; names ? names[i] != NULL : i < nfields; i++) {
        const char *c = names ? names[i] : fields[i].key;
        size_t cn = strlen(c), d = actr__conf_distance(key, n, c, cn), longer = cn > n ? cn : n;
        if (d <= 2 && d * 2 < longer && d < bestd) {
            best = c;
            bestd = d;
        }
    }
    return best;
}

/* 1 if s[0..n) is HOST:PORT: an IPv4 address, [IPv6] or localhost (or,
 * with allow_name, a host name), and a port 1..65535 (0..65535 with allow0). */
static int addr_ok(const char *s, size_t n, int allow0, int allow_name)
{
    char host[64];
    size_t hl, i;
    if (n > 0 && s[0] == '[') {
        const char *e = memchr(s, ']', n);
        if (e == NULL || (size_t)(e - s) + 1 >= n || e[1] != ':')
            return 0;
        hl = (size_t)(e - s) - 1;
        if (hl == 0 || hl >= sizeof(host))
            return 0;
        memcpy(host, s + 1, hl);
        host[hl] = '\0';
        i = (size_t)(e - s) + 2;
        unsigned char a6[16];
        if (inet_pton(AF_INET6, host, a6) != 1)
            return 0;
    } else {
        const char *c = NULL;
        for (size_t k = 0; k < n; k++)
            if (s[k] == ':')
                c = s + k;
        if (c == NULL || (hl = (size_t)(c - s)) == 0 || hl >= sizeof(host))
            return 0;
        memcpy(host, s, hl);
        host[hl] = '\0';
        i = hl + 1;
        unsigned char a4[4];
        if (strcmp(host, "localhost") != 0 && inet_pton(AF_INET, host, a4) != 1 &&
            !(allow_name && actr__host_name_ok(host, hl)))
            return 0;
    }
    if (i >= n || n - i > 5)
        return 0;
    unsigned long port = 0;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        port = port * 10 + (unsigned long)(s[i] - '0');
    }
    return port <= 65535 && (port > 0 || allow0);
}

static void expectation(const conf_field_t *f, char *dst, size_t cap)
{
    char names[200];
    if (f->flags & F_ADDR) {
        snprintf(dst, cap, "HOST:PORT (HOST an IPv4 address, [IPv6] or %s; PORT %s..65535)",
                 (f->flags & F_ADDRNAME) ? "a host name" : "localhost",
                 (f->flags & F_ADDR0) ? "0" : "1");
        return;
    }
    switch (f->kind) {
    case K_UINT:
        snprintf(dst, cap, "an integer %llu..%llu", (unsigned long long)f->min,
                 (unsigned long long)f->max);
        break;
    case K_BOOL:
        snprintf(dst, cap, "true or false");
        break;
    case K_ENUM:
        join_names(names, sizeof(names), f->names, NULL, 0);
        snprintf(dst, cap, "one of: %s", names);
        break;
    default:
        snprintf(dst, cap, "a string of %llu..%llu bytes", (unsigned long long)f->min,
                 (unsigned long long)f->max);
        break;
    }
}

static int ieq(const char *s, size_t n, const char *lit)
{
    if (strlen(lit) != n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != lit[i])
            return 0;
    }
    return 1;
}

/* Join a relative path to the folder of the config file. */
static char *resolve_path(const char *source, const char *s, size_t n)
{
    const char *slash = source ? strrchr(source, '/') : NULL;
    size_t dl;
    char *d;
    if (s[0] == '/' || slash == NULL)
        return dup_mem(s, n);
    dl = (size_t)(slash - source) + 1; /* keep the '/' ("/x.yaml" gives "/") */
    if ((d = malloc(dl + n + 1)) == NULL)
        return NULL;
    memcpy(d, source, dl);
    memcpy(d + dl, s, n);
    d[dl + n] = '\0';
    return d;
}

static int read_scalar(actr__conf_parser_t *p, const conf_field_t *f, char *base, yaml_event_t *ev)
{
    char want[256], got[80];
    const char *s;
    size_t n;
    int rc;

    expectation(f, want, sizeof(want));
    if (ev->type != YAML_SCALAR_EVENT || actr__conf_is_null(ev)) {
        actr__conf_describe(ev, got, sizeof(got));
        if (f->kind == K_STRING)
            return actr__conf_fail(p, &ev->start_mark, "expected a string, got %s", got);
        return actr__conf_fail(p, &ev->start_mark, "expected %s, got %s", want, got);
    }
    if ((rc = actr__conf_scalar(p, ev, &s, &n)) != 0)
        return rc;
    actr__conf_printable(got, sizeof(got), s, n);

    switch (f->kind) {
    case K_STRING: {
        char *v;
        if (n < f->min || n > f->max) {
            if (f->flags & F_ADDR)
                return actr__conf_fail(p, &ev->start_mark, "expected %s, got '%s'", want, got);
            return actr__conf_fail(p, &ev->start_mark, "expected a string of %llu..%llu bytes, got %zu bytes",
                                   (unsigned long long)f->min, (unsigned long long)f->max, n);
        }
        if (memchr(s, '\0', n) != NULL)
            return actr__conf_fail(p, &ev->start_mark, "a NUL byte is not allowed here");
        if ((f->flags & F_ADDR) &&
            !addr_ok(s, n, (f->flags & F_ADDR0) != 0, (f->flags & F_ADDRNAME) != 0))
            return actr__conf_fail(p, &ev->start_mark, "expected %s, got '%s'", want, got);
        v = (f->flags & F_CONFDIR) ? resolve_path(p->source, s, n) : dup_mem(s, n);
        if (v == NULL)
            return actr__conf_nomem(p);
        free(load_ptr(base + f->off));
        store_ptr(base + f->off, v);
        break;
    }
    case K_UINT: {
        uint64_t v = 0;
        size_t i = 0;
        int neg = n > 1 && s[0] == '-', over = 0;
        if (neg || (n > 1 && s[0] == '+'))
            i = 1;
        if (i == n)
            return actr__conf_fail(p, &ev->start_mark, "expected %s, got '%s'", want, got);
        for (; i < n; i++) {
            if (s[i] < '0' || s[i] > '9')
                return actr__conf_fail(p, &ev->start_mark, "expected %s, got '%s'", want, got);
            if (v > (UINT64_MAX - 9) / 10)
                over = 1;
            else
                v = v * 10 + (uint64_t)(s[i] - '0');
        }
        if (over || (neg && v != 0) || v < f->min || v > f->max)
            return actr__conf_fail(p, &ev->start_mark, "out of range: expected %s, got %s", want,
                                   got);
        store_uint(base + f->off, f->size, v);
        break;
    }
    case K_BOOL: {
        int v;
        if (ieq(s, n, "true") || ieq(s, n, "yes") || ieq(s, n, "on"))
            v = 1;
        else if (ieq(s, n, "false") || ieq(s, n, "no") || ieq(s, n, "off"))
            v = 0;
        else
            return actr__conf_fail(p, &ev->start_mark, "expected %s, got '%s'", want, got);
        memcpy(base + f->off, &v, sizeof(v));
        break;
    }
    case K_ENUM: {
        const char *hint;
        for (size_t i = 0; f->names[i] != NULL; i++) {
            if (strlen(f->names[i]) == n && memcmp(f->names[i], s, n) == 0) {
                store_uint(base + f->off, f->size, i);
                actr__conf_consume(p);
                return 0;
            }
        }
        hint = near_miss(s, n, f->names, NULL, 0);
        if (hint != NULL)
            return actr__conf_fail(p, &ev->start_mark, "expected %s, got '%s' (did you mean '%s'?)",
                                   want, got, hint);
        return actr__conf_fail(p, &ev->start_mark, "expected %s, got '%s'", want, got);
    }
    default:
        return actr__conf_fail(p, &ev->start_mark, "internal error: bad field kind");
    }
    actr__conf_consume(p);
    return 0;
}

/* ---- the walker ---------------------------------------------------------- */

static int walk_map(actr__conf_parser_t *p, const conf_table_t *t, char *base);

static int read_list(actr__conf_parser_t *p, const conf_field_t *f, char *base, yaml_event_t *ev)
{
    const conf_table_t *sub = f->sub;
    char keys[200], got[80];
    size_t cap = 0;
    int rc;

    join_names(keys, sizeof(keys), NULL, sub->fields, sub->nfields);
    if (ev->type == YAML_SCALAR_EVENT && actr__conf_is_null(ev)) {
        actr__conf_consume(p);
        return 0;
    }
    if (ev->type != YAML_SEQUENCE_START_EVENT) {
        actr__conf_describe(ev, got, sizeof(got));
        return actr__conf_fail(p, &ev->start_mark,
                               "expected a list of entries (mappings with keys: %s), got %s", keys,
                               got);
    }
    actr__conf_consume(p);
    for (;;) {
        char *arr, *elem;
        size_t n = load_size(base + f->off2);
        if ((rc = actr__conf_peek(p, &ev)) != 0)
            return rc;
        if (ev->type == YAML_SEQUENCE_END_EVENT)
            break;
        if (n >= sub->max_elems)
            return actr__conf_fail(p, &ev->start_mark, "more than %zu entries", sub->max_elems);
        arr = load_ptr(base + f->off);
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 4;
            if (ncap > sub->max_elems)
                ncap = sub->max_elems;
            char *na = realloc(arr, ncap * sub->elem_size);
            if (na == NULL)
                return actr__conf_nomem(p);
            arr = na;
            cap = ncap;
            store_ptr(base + f->off, arr);
        }
        /* Counted before it is filled, so an error frees what it holds. */
        elem = arr + n * sub->elem_size;
        memset(elem, 0, sub->elem_size);
        store_size(base + f->off2, n + 1);
        if ((rc = set_defaults(p, sub, elem)) != 0)
            return rc;
        int line = (int)ev->start_mark.line + 1, col = (int)ev->start_mark.column + 1;
        memcpy(elem + sub->line_off, &line, sizeof(line));
        memcpy(elem + sub->col_off, &col, sizeof(col));

        size_t old = actr__conf_path_index(p, n);
        if (ev->type != YAML_MAPPING_START_EVENT) {
            actr__conf_describe(ev, got, sizeof(got));
            return actr__conf_fail(p, &ev->start_mark, "expected a mapping with keys: %s, got %s",
                                   keys, got);
        }
        yaml_mark_t m = ev->start_mark;
        if ((rc = walk_map(p, sub, elem)) != 0)
            return rc;
        if (sub->check != NULL && (rc = sub->check(p, elem, &m)) != 0)
            return rc;
        actr__conf_path_restore(p, old);
    }
    actr__conf_consume(p);
    return 0;
}

/* A list of strings (K_STRLIST); each element is read as a K_STRING field. */
static int read_strlist(actr__conf_parser_t *p, const conf_field_t *f, char *base, yaml_event_t *ev)
{
    char got[80], want[256];
    int rc;
    if (ev->type == YAML_SCALAR_EVENT && actr__conf_is_null(ev)) {
        actr__conf_consume(p);
        return 0;
    }
    expectation(f, want, sizeof(want));
    if (ev->type != YAML_SEQUENCE_START_EVENT) {
        actr__conf_describe(ev, got, sizeof(got));
        return actr__conf_fail(p, &ev->start_mark, "expected a list of %s, got %s", want, got);
    }
    actr__conf_consume(p);
    /* each element goes through read_scalar as a one-string field at slot 0 */
    conf_field_t one = *f;
    one.kind = K_STRING;
    one.off = 0;
    one.defstr = NULL;
    for (;;) {
        if ((rc = actr__conf_peek(p, &ev)) != 0)
            return rc;
        if (ev->type == YAML_SEQUENCE_END_EVENT)
            break;
        size_t n = load_size(base + f->off2);
        if (n >= f->size)
            return actr__conf_fail(p, &ev->start_mark, "more than %zu entries", f->size);
        char **arr = realloc(load_ptr(base + f->off), (n + 1) * sizeof(char *));
        if (arr == NULL)
            return actr__conf_nomem(p);
        arr[n] = NULL;
        store_ptr(base + f->off, arr);
        /* counted before it is filled, so an error frees what it holds */
        store_size(base + f->off2, n + 1);
        size_t old = actr__conf_path_index(p, n);
        if ((rc = read_scalar(p, &one, (char *)&arr[n], ev)) != 0)
            return rc;
        actr__conf_path_restore(p, old);
    }
    actr__conf_consume(p);
    return 0;
}

static int read_value(actr__conf_parser_t *p, const conf_field_t *f, char *base)
{
    yaml_event_t *ev;
    char got[80], keys[200];
    int rc = actr__conf_peek(p, &ev);
    if (rc != 0)
        return rc;
    switch (f->kind) {
    case K_SECTION:
        if (ev->type == YAML_MAPPING_START_EVENT)
            return walk_map(p, f->sub, base);
        if (ev->type == YAML_SCALAR_EVENT && actr__conf_is_null(ev)) {
            actr__conf_consume(p);
            return 0;
        }
        actr__conf_describe(ev, got, sizeof(got));
        join_names(keys, sizeof(keys), NULL, f->sub->fields, f->sub->nfields);
        return actr__conf_fail(p, &ev->start_mark, "expected a mapping with keys: %s, got %s", keys,
                               got);
    case K_LIST:
        return read_list(p, f, base, ev);
    case K_STRLIST:
        return read_strlist(p, f, base, ev);
    case K_ARGS: {
        void *data;
        size_t len;
        if (ev->type == YAML_SCALAR_EVENT && actr__conf_is_null(ev)) {
            actr__conf_consume(p); /* `args: ~` is no args: NULL/0 (nested nulls are nil) */
            return 0;
        }
        if ((rc = actr__conf_args(p, &data, &len)) != 0)
            return rc;
        free(load_ptr(base + f->off));
        store_ptr(base + f->off, data);
        store_size(base + f->off2, len);
        return 0;
    }
    default:
        return read_scalar(p, f, base, ev);
    }
}

/* Read a mapping (the current event starts it) by table t into base. */
static int walk_map(actr__conf_parser_t *p, const conf_table_t *t, char *base)
{
    yaml_mark_t start = p->ev.start_mark, seen_at[32];
    uint32_t seen = 0;
    yaml_event_t *ev;
    int rc;

    actr__conf_consume(p);
    for (;;) {
        const conf_field_t *f = NULL;
        const char *key;
        size_t keylen, i, old;
        char keys[200];

        if ((rc = actr__conf_peek(p, &ev)) != 0)
            return rc;
        if (ev->type == YAML_MAPPING_END_EVENT)
            break;
        if (ev->type != YAML_SCALAR_EVENT) {
            join_names(keys, sizeof(keys), NULL, t->fields, t->nfields);
            return actr__conf_fail(p, &ev->start_mark, "expected a key (one of: %s), got %s", keys,
                                   ev->type == YAML_MAPPING_START_EVENT ? "a mapping" : "a list");
        }
        key = (const char *)ev->data.scalar.value;
        keylen = ev->data.scalar.length;
        for (i = 0; i < t->nfields; i++) {
            if (strlen(t->fields[i].key) == keylen && memcmp(t->fields[i].key, key, keylen) == 0) {
                f = &t->fields[i];
                break;
            }
        }
        old = actr__conf_path_key(p, key, keylen);
        if (f == NULL) {
            const char *hint = near_miss(key, keylen, NULL, t->fields, t->nfields);
            join_names(keys, sizeof(keys), NULL, t->fields, t->nfields);
            if (hint != NULL)
                return actr__conf_fail(p, &ev->start_mark,
                                       "unknown key (did you mean '%s'? expected one of: %s)", hint,
                                       keys);
            return actr__conf_fail(p, &ev->start_mark, "unknown key (expected one of: %s)", keys);
        }
        if (seen & (1u << i))
            return actr__conf_fail(p, &ev->start_mark,
                                   "duplicate key (first given at line %zu, column %zu)",
                                   seen_at[i].line + 1, seen_at[i].column + 1);
        seen |= 1u << i;
        seen_at[i] = ev->start_mark;
        actr__conf_consume(p);
        if ((rc = read_value(p, f, base)) != 0)
            return rc;
        actr__conf_path_restore(p, old);
    }
    for (size_t i = 0; i < t->nfields; i++) {
        if ((t->fields[i].flags & F_REQUIRED) && !(seen & (1u << i)))
            return actr__conf_fail(p, &start, "missing required key '%s'", t->fields[i].key);
    }
    actr__conf_consume(p);
    return 0;
}

/* ---- checks across entries ---------------------------------------------- */

static unsigned digits(uint32_t v)
{
    unsigned d = 1;
    while (v >= 10) {
        v /= 10;
        d++;
    }
    return d;
}

static int check_actor(actr__conf_parser_t *p, char *elem, const yaml_mark_t *m)
{
    const actr_actor_conf_t *a = (const actr_actor_conf_t *)elem;
    size_t n = strlen(a->name);
    if (a->count > 1 && n + 1 + digits(a->count) > NAME_MAX_BYTES) {
        size_t old = actr__conf_path_key(p, "name", 4);
        int rc = actr__conf_fail(p, m,
                                 "with count %u the names NAME-1..NAME-%u are longer than %d bytes",
                                 (unsigned)a->count, (unsigned)a->count, NAME_MAX_BYTES);
        actr__conf_path_restore(p, old);
        return rc;
    }
    return 0;
}

/* ---- public API ------------------------------------------------------------ */

static const char *env_getenv(void *ud, const char *name)
{
    (void)ud;
    return getenv(name);
}

static int parse_stream(actr__conf_parser_t *p, actr_config_t *c)
{
    yaml_event_t *ev;
    char got[80], keys[200];
    int rc;

    if ((rc = actr__conf_peek(p, &ev)) != 0)
        return rc;
    actr__conf_consume(p); /* STREAM-START */
    if ((rc = actr__conf_peek(p, &ev)) != 0)
        return rc;
    if (ev->type == YAML_STREAM_END_EVENT)
        return 0;          /* nothing but comments: all defaults */
    actr__conf_consume(p); /* DOCUMENT-START */
    if ((rc = actr__conf_peek(p, &ev)) != 0)
        return rc;
    if (ev->type == YAML_MAPPING_START_EVENT) {
        if ((rc = walk_map(p, &root_table, (char *)c)) != 0)
            return rc;
    } else if (ev->type == YAML_SCALAR_EVENT && actr__conf_is_null(ev)) {
        actr__conf_consume(p);
    } else {
        actr__conf_describe(ev, got, sizeof(got));
        join_names(keys, sizeof(keys), NULL, root_fields, NFIELDS(root_fields));
        return actr__conf_fail(p, &ev->start_mark,
                               "expected a mapping of sections (%s) at the top, got %s", keys, got);
    }
    if ((rc = actr__conf_peek(p, &ev)) != 0)
        return rc;
    actr__conf_consume(p); /* DOCUMENT-END */
    if ((rc = actr__conf_peek(p, &ev)) != 0)
        return rc;
    if (ev->type != YAML_STREAM_END_EVENT)
        return actr__conf_fail(p, &ev->start_mark,
                               "a second YAML document; the file must hold exactly one");
    actr__conf_consume(p);
    return 0;
}

/* <data_dir><leaf> (leaf starts with '/'), malloc'ed; NULL on OOM. */
static char *in_data_dir(const actr_config_t *c, const char *leaf)
{
    size_t n = strlen(c->node.data_dir), l = strlen(leaf) + 1;
    while (n > 1 && c->node.data_dir[n - 1] == '/')
        n--;
    char *s = malloc(n + l);
    if (s != NULL) {
        memcpy(s, c->node.data_dir, n);
        memcpy(s + n, leaf, l);
    }
    return s;
}

/* An enabled cluster needs a secret, and node.name must be a cluster node name. */
static int check_cluster(actr__conf_parser_t *p, const actr_config_t *c)
{
    /* no position: the keys may be absent; the message names them */
    if (c->cluster.secret == NULL || c->cluster.secret[0] == '\0')
        return actr__conf_fail(p, NULL,
                               "key 'cluster.secret': required when cluster.enabled is true (the "
                               "shared cluster secret, at least 16 bytes; usually "
                               "${ACTR_CLUSTER_SECRET})");
    size_t sl = strlen(c->cluster.secret);
    if (sl < 16)
        return actr__conf_fail(p, NULL,
                               "key 'cluster.secret': expected at least 16 bytes, got %zu "
                               "(a longer random secret, shared by every node)",
                               sl);
    const char *nm = c->node.name;
    size_t n = strlen(nm), i = 0;
    while (i < n && ((nm[i] >= 'a' && nm[i] <= 'z') || (nm[i] >= 'A' && nm[i] <= 'Z') ||
                     (nm[i] >= '0' && nm[i] <= '9') || nm[i] == '_' || nm[i] == '.' ||
                     nm[i] == '-'))
        i++;
    if (n > 64 || i < n) {
        char shown[80];
        actr__conf_printable(shown, sizeof(shown), nm, n);
        return actr__conf_fail(p, NULL,
                               "key 'node.name': with cluster.enabled the node name must be "
                               "1..64 of [A-Za-z0-9_.-], got '%s'",
                               shown);
    }
    return 0;
}

/* Defaults that depend on other keys. */
static int finish(actr__conf_parser_t *p, actr_config_t *c)
{
    int rc;
    if (c->control.socket == NULL && (c->control.socket = in_data_dir(c, "/control.sock")) == NULL)
        return actr__conf_nomem(p);
    if (c->store.path == NULL && (c->store.path = in_data_dir(c, "/actr.db")) == NULL)
        return actr__conf_nomem(p);
    if (c->cluster.enabled && (rc = check_cluster(p, c)) != 0)
        return rc;
    return actr__conf_check_names(p, c);
}

int actr_config_parse_buf(const char *buf, size_t len, const char *file, actr_getenv_fn getenv_fn,
                          void *ud, actr_config_t *out, actr_error_t *err)
{
    actr_error_t local;
    actr__conf_parser_t p;
    actr_config_t c;
    int rc;

    if (err == NULL)
        err = &local;
    memset(err, 0, sizeof(*err));
    if (out != NULL)
        memset(out, 0, sizeof(*out));
    if (out == NULL || (buf == NULL && len > 0)) {
        err->code = ACTR_EINVAL;
        snprintf(err->msg, sizeof(err->msg), "actr_config_parse_buf: %s is NULL",
                 out == NULL ? "out" : "buf");
        return ACTR_EINVAL;
    }
    memset(&c, 0, sizeof(c));
    rc = actr__conf_open(&p, buf ? buf : "", len, file ? file : "<config>",
                         getenv_fn ? getenv_fn : env_getenv, ud, err);
    p.source = file;
    if (rc == 0 && len > ACTR__CONF_MAX_INPUT)
        rc = actr__conf_fail(&p, NULL, "the configuration is larger than %u bytes",
                             ACTR__CONF_MAX_INPUT);
    if (rc == 0 && file != NULL && (c.file = dup_mem(file, strlen(file))) == NULL)
        rc = actr__conf_nomem(&p);
    if (rc == 0)
        rc = set_defaults(&p, &root_table, (char *)&c);
    if (rc == 0)
        rc = parse_stream(&p, &c);
    if (rc == 0)
        rc = finish(&p, &c);
    actr__conf_close(&p);
    if (rc != 0) {
        actr_config_free(&c);
        return rc;
    }
    *out = c;
    return 0;
}

int actr_config_load(const char *path, actr_config_t *out, actr_error_t *err)
{
    actr_error_t local;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int fd, rc;

    if (err == NULL)
        err = &local;
    memset(err, 0, sizeof(*err));
    if (out != NULL)
        memset(out, 0, sizeof(*out));
    if (path == NULL || out == NULL) {
        err->code = ACTR_EINVAL;
        snprintf(err->msg, sizeof(err->msg), "actr_config_load: %s is NULL",
                 path == NULL ? "path" : "out");
        return ACTR_EINVAL;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = -errno;
        err->code = rc;
        snprintf(err->msg, sizeof(err->msg), "%.300s: cannot open the configuration: %s", path,
                 strerror(-rc));
        return rc;
    }
    for (;;) {
        ssize_t r;
        if (len == cap) {
            size_t ncap = cap ? cap * 2 : 16384;
            char *nb;
            if (ncap > ACTR__CONF_MAX_INPUT + 1)
                ncap = ACTR__CONF_MAX_INPUT + 1;
            if (len == ncap) {
                close(fd);
                free(buf);
                err->code = ACTR_E2BIG;
                snprintf(err->msg, sizeof(err->msg),
                         "%.300s: the configuration is larger than %u bytes", path,
                         ACTR__CONF_MAX_INPUT);
                return ACTR_E2BIG;
            }
            if ((nb = realloc(buf, ncap)) == NULL) {
                close(fd);
                free(buf);
                err->code = ACTR_ENOMEM;
                snprintf(err->msg, sizeof(err->msg), "%.300s: out of memory reading the file",
                         path);
                return ACTR_ENOMEM;
            }
            buf = nb;
            cap = ncap;
        }
        r = read(fd, buf + len, cap - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = -errno;
            close(fd);
            free(buf);
            err->code = rc;
            snprintf(err->msg, sizeof(err->msg), "%.300s: cannot read the configuration: %s", path,
                     strerror(-rc));
            return rc;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    close(fd);
    rc = actr_config_parse_buf(buf, len, path, NULL, NULL, out, err);
    free(buf);
    return rc;
}

void actr_config_free(actr_config_t *cfg)
{
    if (cfg == NULL)
        return;
    free_fields(&root_table, (char *)cfg);
    free(cfg->file);
    memset(cfg, 0, sizeof(*cfg));
}

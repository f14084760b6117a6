/* plugins/kv/kv.c — a stateful service plugin: actor type "kv", a key-value
 * store kept in memory and, when the node has a state store open
 * (actr/store.h), made durable through it.
 *
 * Requests carry a msgpack map and are answered with a msgpack map (the reply
 * keeps the request's message type):
 *   {"op":"put","key":STR,"value":ANY}  -> {"ok":true}
 *   {"op":"get","key":STR}              -> {"ok":true,"value":ANY}
 *                                          or {"ok":false,"error":"not_found"}
 *   {"op":"delete","key":STR}           -> {"ok":true,"deleted":BOOL}
 *   {"op":"keys"}                       -> {"ok":true,"keys":[STR...]}
 * Anything else -> {"ok":false,"error":"bad_request","message":"..."}: a bad
 * request never crashes the actor. Messages that are not requests are ignored.
 *
 * Durability. Each actor owns the store namespace "kv:NS", where NS comes
 * from the init args (a string, or a map with "ns": a string) and defaults to
 * the actor's registered name (so kv-1 .. kv-N of a `count` each get their
 * own; "kv" for an unnamed actor). Two live kv actors must not share a
 * namespace. In init the actor scans
 * its namespace and awaits the answer (actr_ctx_await), so it has read its
 * data back before it handles any request. A put or delete is sent to the
 * store and answered only once the store acknowledged it (the write has
 * committed): the request is kept (actr_ctx_msg_ref) in a FIFO of pending
 * writes, keyed by the store's request id. The in-memory map changes only at
 * the acknowledgement, so get and keys, served from memory, see exactly the
 * acknowledged writes. A write the store refuses is answered with
 * {"ok":false,"error":"store_error","message":"... <the store's reason>"}
 * (a value over the store's max_value: "error":"too_large") and changes
 * nothing; the actor keeps serving. A put's entry is allocated before the
 * write is sent, so applying an acknowledged write cannot fail.
 *
 * Without a store (actr_store_* answers ACTR_ESTORE, e.g. `store.enabled:
 * false` or an embedding runtime that opened none) kv says so once in the log
 * at init and works in memory only: writes are applied and answered at once.
 *
 * Values are kept as the raw msgpack bytes of the request (format `*`), so any
 * value round-trips unchanged, in memory and in the store. The map is a
 * chained hash table allocated with actr_ctx_alloc and freed in terminate. The
 * plugin uses only actr/plugin.h and libc (ABI 1.1: await and store_*).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <actr/plugin.h>

#define KV_MAX_KEY 4096 /* bytes; longer keys are a bad request (= ACTR_STORE_MAX_KEY) */
#define KV_NS_PREFIX "kv:"
#define KV_MAX_NS 255   /* bytes of the store namespace "kv:NS" (= ACTR_STORE_MAX_NS) */
#define KV_LOG_WARN 2   /* the ACTR_LOG_WARN level of actr.h */
#define KV_LOG_ERROR 3  /* ACTR_LOG_ERROR */

typedef struct kv_entry {
    struct kv_entry *next;
    uint64_t hash;
    size_t klen, vlen;
    char *key;    /* klen bytes (not NUL-terminated) */
    uint8_t *val; /* vlen bytes of msgpack */
} kv_entry_t;

typedef struct kv_map {
    kv_entry_t **buckets;
    size_t cap; /* power of two */
    size_t len;
} kv_map_t;

enum { KV_PUT = 1, KV_DELETE = 2 };

/* A write sent to the store and not acknowledged yet. */
typedef struct kv_pending {
    struct kv_pending *next;
    uint64_t id;              /* the store request's id */
    const actr_msg_t *req;    /* the caller's request (a reference we hold) */
    int op;                   /* KV_PUT or KV_DELETE */
    kv_entry_t *entry;        /* put: the prepared entry, installed at the ack */
} kv_pending_t;

typedef struct kv_state {
    kv_map_t *map;
    int durable;              /* a store is open: writes go through it */
    uint64_t scan_id;         /* the init scan, until its answer is in */
    kv_pending_t *head, *tail; /* pending writes, oldest first */
    char ns[KV_MAX_NS + 1];   /* "kv:NS" */
} kv_state_t;

/* ---- the map --------------------------------------------------------------------- */

static uint64_t hash_bytes(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h ^= (uint8_t)p[i];
        h *= 1099511628211ull;
    }
    return h;
}

static kv_entry_t **map_slot(kv_map_t *m, const char *key, size_t klen, uint64_t h)
{
    kv_entry_t **pp = &m->buckets[h & (m->cap - 1)];
    while (*pp != NULL &&
           !((*pp)->hash == h && (*pp)->klen == klen && memcmp((*pp)->key, key, klen) == 0))
        pp = &(*pp)->next;
    return pp;
}

static int map_grow(actr_ctx_t *ctx, kv_map_t *m)
{
    size_t cap = m->cap * 2;
    kv_entry_t **b = actr_ctx_alloc(ctx, cap * sizeof(*b));
    if (b == NULL)
        return ACTR_ENOMEM;
    for (size_t i = 0; i < m->cap; i++) {
        kv_entry_t *e = m->buckets[i];
        while (e != NULL) {
            kv_entry_t *nx = e->next;
            e->next = b[e->hash & (cap - 1)];
            b[e->hash & (cap - 1)] = e;
            e = nx;
        }
    }
    actr_ctx_free(ctx, m->buckets);
    m->buckets = b;
    m->cap = cap;
    return 0;
}

static void entry_free(actr_ctx_t *ctx, kv_entry_t *e)
{
    actr_ctx_free(ctx, e->key);
    actr_ctx_free(ctx, e->val);
    actr_ctx_free(ctx, e);
}

/* A new entry holding copies of key and value, not in the map yet. */
static kv_entry_t *entry_new(actr_ctx_t *ctx, const char *key, size_t klen, const void *val,
                             size_t vlen)
{
    kv_entry_t *e = actr_ctx_alloc(ctx, sizeof(*e));
    char *k = actr_ctx_alloc(ctx, klen ? klen : 1);
    uint8_t *v = actr_ctx_alloc(ctx, vlen ? vlen : 1);
    if (e == NULL || k == NULL || v == NULL) {
        actr_ctx_free(ctx, e);
        actr_ctx_free(ctx, k);
        actr_ctx_free(ctx, v);
        return NULL;
    }
    memcpy(k, key, klen);
    memcpy(v, val, vlen);
    e->hash = hash_bytes(key, klen);
    e->key = k;
    e->klen = klen;
    e->val = v;
    e->vlen = vlen;
    return e;
}

/* Put a prepared entry into the map (taking it over); never fails. */
static void map_install(actr_ctx_t *ctx, kv_map_t *m, kv_entry_t *e)
{
    kv_entry_t **pp = map_slot(m, e->key, e->klen, e->hash);
    if (*pp != NULL) {
        /* replace the value, keep the existing entry */
        actr_ctx_free(ctx, (*pp)->val);
        (*pp)->val = e->val;
        (*pp)->vlen = e->vlen;
        e->val = NULL;
        entry_free(ctx, e);
        return;
    }
    e->next = NULL;
    *pp = e;
    m->len++;
    /* growing can fail harmlessly: the table just stays denser */
    if (m->len > m->cap)
        (void)map_grow(ctx, m);
}

static int map_put(actr_ctx_t *ctx, kv_map_t *m, const char *key, size_t klen, const void *val,
                   size_t vlen)
{
    kv_entry_t *e = entry_new(ctx, key, klen, val, vlen);
    if (e == NULL)
        return ACTR_ENOMEM;
    map_install(ctx, m, e);
    return 0;
}

static kv_entry_t *map_get(kv_map_t *m, const char *key, size_t klen)
{
    return *map_slot(m, key, klen, hash_bytes(key, klen));
}

static int map_del(actr_ctx_t *ctx, kv_map_t *m, const char *key, size_t klen)
{
    kv_entry_t **pp = map_slot(m, key, klen, hash_bytes(key, klen));
    kv_entry_t *e = *pp;
    if (e == NULL)
        return 0;
    *pp = e->next;
    entry_free(ctx, e);
    m->len--;
    return 1;
}

/* ---- msgpack output for "keys" (the one reply of variable shape) --------------------- */

static size_t put_be(uint8_t *p, uint64_t v, int bytes)
{
    for (int i = bytes - 1; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
    return (size_t)bytes;
}

/* An array of all keys as msgpack strings, in an actr_ctx_alloc'ed buffer. */
static uint8_t *keys_array(actr_ctx_t *ctx, kv_map_t *m, size_t *len)
{
    size_t need = 5;
    for (size_t i = 0; i < m->cap; i++)
        for (kv_entry_t *e = m->buckets[i]; e != NULL; e = e->next)
            need += 5 + e->klen;
    uint8_t *buf = actr_ctx_alloc(ctx, need);
    if (buf == NULL)
        return NULL;
    size_t n = 0;
    if (m->len < 16) {
        buf[n++] = (uint8_t)(0x90 | m->len);
    } else if (m->len <= 0xffff) {
        buf[n++] = 0xdc;
        n += put_be(buf + n, m->len, 2);
    } else {
        buf[n++] = 0xdd;
        n += put_be(buf + n, m->len, 4);
    }
    for (size_t i = 0; i < m->cap; i++)
        for (kv_entry_t *e = m->buckets[i]; e != NULL; e = e->next) {
            if (e->klen < 32) {
                buf[n++] = (uint8_t)(0xa0 | e->klen);
            } else if (e->klen <= 0xff) {
                buf[n++] = 0xd9;
                buf[n++] = (uint8_t)e->klen;
            } else {
                buf[n++] = 0xda; /* keys are at most KV_MAX_KEY bytes */
                n += put_be(buf + n, e->klen, 2);
            }
            memcpy(buf + n, e->key, e->klen);
            n += e->klen;
        }
    *len = n;
    return buf;
}

/* ---- replies ------------------------------------------------------------------------- */

static void reply(actr_ctx_t *ctx, const actr_msg_t *req, actr_msg_t *rep, int rc)
{
    /* a reply that cannot be built ends in the requester's timeout; one
     * whose requester is gone is not the store's failure */
    if (rc == 0)
        (void)actr_ctx_reply(ctx, req, rep);
}

static void reply_error(actr_ctx_t *ctx, const actr_msg_t *req, const char *error,
                        const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void reply_error(actr_ctx_t *ctx, const actr_msg_t *req, const char *error,
                        const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    actr_msg_t *rep;
    int rc = actr_ctx_msg_pack(ctx, actr_ctx_msg_type(ctx, req), &rep, "{s:b s:s s:s}", "ok", 0,
                               "error", error, "message", text);
    reply(ctx, req, rep, rc);
}

#define bad_request(ctx, req, ...) reply_error(ctx, req, "bad_request", __VA_ARGS__)

static const char *why(int rc, const char *what)
{
    switch (rc) {
    case ACTR_ENOENT:
        return "missing";
    case ACTR_ETYPE:
        return what;
    default:
        return "malformed";
    }
}

/* Read the string value of `key` in the request's map. */
static int get_str(actr_ctx_t *ctx, const actr_msg_t *req, const char *key, const char **s,
                   size_t *n)
{
    return actr_ctx_msg_unpack(ctx, req, "{s:s}", key, s, n);
}

/* Answer a write the store refused (synchronously or in its reply). */
static void store_failed(actr_ctx_t *ctx, const actr_msg_t *req, const char *op, const char *key,
                         size_t klen, int rc, const char *reason)
{
    if (reason == NULL || reason[0] == '\0')
        reason = actr_ctx_strerror(ctx, rc);
    int shown = klen > 64 ? 64 : (int)klen;
    if (rc == ACTR_E2BIG)
        reply_error(ctx, req, "too_large", "%s \"%.*s%s\": refused by the state store: %s", op,
                    shown, key, klen > 64 ? "..." : "", reason);
    else
        reply_error(ctx, req, "store_error", "%s \"%.*s%s\": the state store failed: %s", op,
                    shown, key, klen > 64 ? "..." : "", reason);
}

/* ---- durable writes ------------------------------------------------------------------ */

static void pending_push(kv_state_t *st, kv_pending_t *p)
{
    p->next = NULL;
    if (st->tail != NULL)
        st->tail->next = p;
    else
        st->head = p;
    st->tail = p;
}

/* Unlink the pending write of store request `id` (usually the oldest: the
 * store answers one requester in order). NULL if none. */
static kv_pending_t *pending_take(kv_state_t *st, uint64_t id)
{
    kv_pending_t *prev = NULL;
    for (kv_pending_t *p = st->head; p != NULL; prev = p, p = p->next) {
        if (p->id != id)
            continue;
        if (prev != NULL)
            prev->next = p->next;
        else
            st->head = p->next;
        if (st->tail == p)
            st->tail = prev;
        return p;
    }
    return NULL;
}

static void pending_free(actr_ctx_t *ctx, kv_pending_t *p)
{
    if (p->entry != NULL)
        entry_free(ctx, p->entry);
    actr_ctx_msg_free(ctx, p->req);
    actr_ctx_free(ctx, p);
}

/* Send a put (entry != NULL) or a delete to the store; the caller's request
 * is answered when the store's reply comes (on_write_reply). */
static void write_through(actr_ctx_t *ctx, kv_state_t *st, const actr_msg_t *req, int op,
                          const char *key, size_t klen, const void *val, size_t vlen)
{
    const char *opname = op == KV_PUT ? "put" : "delete";
    kv_pending_t *p = actr_ctx_alloc(ctx, sizeof(*p));
    if (p != NULL && op == KV_PUT && (p->entry = entry_new(ctx, key, klen, val, vlen)) == NULL) {
        actr_ctx_free(ctx, p);
        p = NULL;
    }
    if (p == NULL) {
        reply_error(ctx, req, "no_memory", "%s: out of memory", opname);
        return;
    }
    int rc = op == KV_PUT ? actr_ctx_store_put(ctx, st->ns, key, klen, val, vlen, &p->id)
                          : actr_ctx_store_delete(ctx, st->ns, key, klen, &p->id);
    if (rc != 0) {
        store_failed(ctx, req, opname, key, klen, rc, NULL);
        p->req = NULL;
        pending_free(ctx, p);
        return;
    }
    actr_ctx_msg_ref(ctx, req);
    p->req = req;
    p->op = op;
    pending_push(st, p);
}

/* The store answered the write `p`: apply it to memory and answer the caller. */
static void on_write_reply(actr_ctx_t *ctx, kv_state_t *st, kv_pending_t *p,
                           const actr_msg_t *msg)
{
    const char *reason = NULL, *key = "";
    size_t klen = 0;
    int rc = actr_ctx_store_result(ctx, msg, &reason);
    uint32_t type = actr_ctx_msg_type(ctx, p->req);
    actr_msg_t *rep = NULL;
    (void)get_str(ctx, p->req, "key", &key, &klen); /* checked when it was sent */
    if (rc != 0) {
        store_failed(ctx, p->req, p->op == KV_PUT ? "put" : "delete", key, klen, rc, reason);
    } else if (p->op == KV_PUT) {
        map_install(ctx, st->map, p->entry);
        p->entry = NULL;
        rc = actr_ctx_msg_pack(ctx, type, &rep, "{s:b}", "ok", 1);
        reply(ctx, p->req, rep, rc);
    } else {
        int deleted = map_del(ctx, st->map, key, klen);
        rc = actr_ctx_msg_pack(ctx, type, &rep, "{s:b s:b}", "ok", 1, "deleted", deleted);
        reply(ctx, p->req, rep, rc);
    }
    pending_free(ctx, p);
}

/* The answer to the init scan: fill the map. A store that cannot give the
 * state back makes the actor fail (its supervisor decides what next) rather
 * than serve without its data. */
static int on_scan_reply(actr_ctx_t *ctx, kv_state_t *st, const actr_msg_t *msg)
{
    const char *reason = NULL;
    char line[512];
    int rc = actr_ctx_store_result(ctx, msg, &reason);
    size_t pos = 0, n = 0;
    st->scan_id = 0;
    while (rc == 0) {
        const void *k, *v;
        size_t kl, vl;
        int more = actr_ctx_store_scan_next(ctx, msg, &pos, &k, &kl, &v, &vl);
        if (more <= 0) {
            rc = more;
            break;
        }
        rc = map_put(ctx, st->map, k, kl, v, vl);
        n++;
    }
    if (rc != 0) {
        snprintf(line, sizeof(line), "kv: cannot read namespace \"%s\" back from the state store: %s",
                 st->ns, reason && reason[0] ? reason : actr_ctx_strerror(ctx, rc));
        actr_ctx_log(ctx, KV_LOG_ERROR, line);
        return rc;
    }
    snprintf(line, sizeof(line), "kv: %zu key%s read back from namespace \"%s\"", n,
             n == 1 ? "" : "s", st->ns);
    actr_ctx_log(ctx, 1, line);
    return 0;
}

/* ---- requests ------------------------------------------------------------------------ */

static int kv_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    kv_state_t *st = state;
    if (actr_ctx_msg_is_reply(ctx, msg) || actr_ctx_msg_type(ctx, msg) == ACTR_MSG_REQFAIL) {
        uint64_t id = actr_ctx_msg_request_id(ctx, msg);
        if (id != 0 && id == st->scan_id)
            return on_scan_reply(ctx, st, msg);
        kv_pending_t *p = id != 0 ? pending_take(st, id) : NULL;
        if (p != NULL)
            on_write_reply(ctx, st, p, msg);
        return 0;
    }
    if (!actr_ctx_msg_is_request(ctx, msg))
        return 0;
    uint32_t type = actr_ctx_msg_type(ctx, msg);
    size_t plen = 0;
    (void)actr_ctx_msg_data(ctx, msg, &plen);
    if (plen == 0) {
        bad_request(ctx, msg, "empty payload: expected a map with \"op\"");
        return 0;
    }
    const char *op;
    size_t oplen;
    int rc = get_str(ctx, msg, "op", &op, &oplen);
    if (rc == ACTR_ETYPE) {
        /* either the payload is not a map or "op" is not a string */
        if (actr_ctx_msg_unpack(ctx, msg, "{?s:_}", "op") != 0)
            bad_request(ctx, msg, "payload must be a map with \"op\"");
        else
            bad_request(ctx, msg, "\"op\" must be a string");
        return 0;
    }
    if (rc == ACTR_EMSGPACK) {
        bad_request(ctx, msg, "payload is not valid msgpack");
        return 0;
    }
    if (rc != 0) {
        bad_request(ctx, msg, "\"op\" is %s", why(rc, "not a string"));
        return 0;
    }
#define OP_IS(lit) (oplen == sizeof(lit) - 1 && memcmp(op, lit, oplen) == 0)
    if (OP_IS("keys")) {
        size_t n = 0;
        uint8_t *arr = keys_array(ctx, st->map, &n);
        actr_msg_t *rep = NULL;
        rc = arr ? actr_ctx_msg_pack(ctx, type, &rep, "{s:b s:*}", "ok", 1, "keys", arr, n)
                 : ACTR_ENOMEM;
        actr_ctx_free(ctx, arr);
        reply(ctx, msg, rep, rc);
        return 0;
    }
    if (!OP_IS("put") && !OP_IS("get") && !OP_IS("delete")) {
        bad_request(ctx, msg, "unknown op \"%.*s\" (expected put, get, delete or keys)",
                    (int)(oplen > 32 ? 32 : oplen), op);
        return 0;
    }
    const char *key;
    size_t klen;
    rc = get_str(ctx, msg, "key", &key, &klen);
    if (rc != 0) {
        bad_request(ctx, msg, "%.*s: \"key\" is %s", (int)oplen, op, why(rc, "not a string"));
        return 0;
    }
    if (klen > KV_MAX_KEY) {
        bad_request(ctx, msg, "%.*s: \"key\" is %zu bytes (at most %d)", (int)oplen, op, klen,
                    KV_MAX_KEY);
        return 0;
    }
    if (st->durable && klen == 0 && !OP_IS("get")) {
        /* the store refuses empty keys: say so as a bad request */
        bad_request(ctx, msg, "%.*s: \"key\" must not be empty", (int)oplen, op);
        return 0;
    }
    actr_msg_t *rep = NULL;
    if (OP_IS("put")) {
        const void *val;
        size_t vlen;
        rc = actr_ctx_msg_unpack(ctx, msg, "{s:*}", "value", &val, &vlen);
        if (rc != 0) {
            bad_request(ctx, msg, "put: \"value\" is %s", why(rc, "malformed"));
            return 0;
        }
        if (st->durable) {
            write_through(ctx, st, msg, KV_PUT, key, klen, val, vlen);
            return 0;
        }
        rc = map_put(ctx, st->map, key, klen, val, vlen);
        if (rc == 0)
            rc = actr_ctx_msg_pack(ctx, type, &rep, "{s:b}", "ok", 1);
        else
            rc = actr_ctx_msg_pack(ctx, type, &rep, "{s:b s:s}", "ok", 0, "error", "no_memory");
    } else if (OP_IS("get")) {
        kv_entry_t *e = map_get(st->map, key, klen);
        if (e != NULL)
            rc = actr_ctx_msg_pack(ctx, type, &rep, "{s:b s:*}", "ok", 1, "value", e->val, e->vlen);
        else
            rc = actr_ctx_msg_pack(ctx, type, &rep, "{s:b s:s}", "ok", 0, "error", "not_found");
    } else {
        if (st->durable) {
            write_through(ctx, st, msg, KV_DELETE, key, klen, NULL, 0);
            return 0;
        }
        int deleted = map_del(ctx, st->map, key, klen);
        rc = actr_ctx_msg_pack(ctx, type, &rep, "{s:b s:b}", "ok", 1, "deleted", deleted);
    }
#undef OP_IS
    reply(ctx, msg, rep, rc);
    return 0;
}

/* ---- lifecycle ----------------------------------------------------------------------- */

/* The namespace from the init args: none, a string, or a map with "ns". */
static int parse_ns(actr_ctx_t *ctx, kv_state_t *st, const void *args, size_t args_len)
{
    /* default: the actor's registered name (kv-1, kv-2 ... each get their
     * own), or "kv" for an unnamed actor */
    char self[256];
    const char *ns = "kv";
    size_t nlen = 2;
    if (actr_ctx_name_of(ctx, actr_ctx_self(ctx), self, sizeof(self)) == 0) {
        ns = self;
        nlen = strlen(self);
    }
    const char *dflt = ns;
    size_t dlen = nlen;
    char line[256];
    if (args_len > 0 && actr_ctx_unpack(ctx, args, args_len, "s", &ns, &nlen) != 0) {
        ns = dflt;
        nlen = dlen;
        int rc = actr_ctx_unpack(ctx, args, args_len, "{?s:s}", "ns", &ns, &nlen);
        if (rc != 0 && actr_ctx_unpack(ctx, args, args_len, "n") != 0) {
            actr_ctx_log(ctx, KV_LOG_ERROR,
                         "kv: bad init args: expected nothing, a string (the namespace) or a "
                         "map with \"ns\": a string");
            return ACTR_EINVAL;
        }
    }
    if (nlen == 0 || nlen > KV_MAX_NS - (sizeof(KV_NS_PREFIX) - 1) || memchr(ns, '\0', nlen)) {
        snprintf(line, sizeof(line),
                 "kv: bad init args: \"ns\" must be 1..%zu bytes without NUL (got %zu bytes)",
                 KV_MAX_NS - (sizeof(KV_NS_PREFIX) - 1), nlen);
        actr_ctx_log(ctx, KV_LOG_ERROR, line);
        return ACTR_EINVAL;
    }
    memcpy(st->ns, KV_NS_PREFIX, sizeof(KV_NS_PREFIX) - 1);
    memcpy(st->ns + sizeof(KV_NS_PREFIX) - 1, ns, nlen);
    st->ns[sizeof(KV_NS_PREFIX) - 1 + nlen] = '\0';
    return 0;
}

static int kv_init(actr_ctx_t *ctx, void *state, const void *args, size_t args_len)
{
    kv_state_t *st = state;
    int rc = parse_ns(ctx, st, args, args_len);
    if (rc != 0)
        return rc;
    st->map = actr_ctx_alloc(ctx, sizeof(*st->map));
    if (st->map == NULL)
        return ACTR_ENOMEM;
    st->map->cap = 16;
    st->map->buckets = actr_ctx_alloc(ctx, st->map->cap * sizeof(*st->map->buckets));
    if (st->map->buckets == NULL) {
        actr_ctx_free(ctx, st->map);
        st->map = NULL;
        return ACTR_ENOMEM;
    }
    /* read the namespace back before serving anything */
    rc = actr_ctx_store_scan(ctx, st->ns, NULL, 0, 0, &st->scan_id);
    if (rc == ACTR_ESTORE) {
        char line[400];
        snprintf(line, sizeof(line),
                 "kv: no state store is open: namespace \"%s\" is kept in memory only and is "
                 "lost when the actor stops",
                 st->ns);
        actr_ctx_log(ctx, KV_LOG_WARN, line);
        st->scan_id = 0;
        return 0;
    }
    if (rc == 0)
        rc = actr_ctx_await(ctx, st->scan_id);
    if (rc != 0) {
        char line[400];
        snprintf(line, sizeof(line), "kv: cannot read namespace \"%s\" from the state store: %s",
                 st->ns, actr_ctx_strerror(ctx, rc));
        actr_ctx_log(ctx, KV_LOG_ERROR, line);
        actr_ctx_free(ctx, st->map->buckets);
        actr_ctx_free(ctx, st->map);
        st->map = NULL;
        return rc;
    }
    st->durable = 1;
    return 0;
}

static void kv_terminate(actr_ctx_t *ctx, void *state, const char *reason)
{
    (void)reason;
    kv_state_t *st = state;
    /* writes still in flight: the store may or may not commit them */
    while (st->head != NULL) {
        kv_pending_t *p = st->head;
        st->head = p->next;
        reply_error(ctx, p->req, "stopped",
                    "kv stopped before the state store acknowledged this write: it may or may "
                    "not have been stored");
        pending_free(ctx, p);
    }
    st->tail = NULL;
    if (st->map == NULL)
        return;
    for (size_t i = 0; i < st->map->cap; i++) {
        kv_entry_t *e = st->map->buckets[i];
        while (e != NULL) {
            kv_entry_t *nx = e->next;
            entry_free(ctx, e);
            e = nx;
        }
    }
    actr_ctx_free(ctx, st->map->buckets);
    actr_ctx_free(ctx, st->map);
    st->map = NULL;
}

static const actr_actor_type_t kv_types[] = {
    {
        .size = sizeof(actr_actor_type_t),
        .name = "kv",
        .state_size = sizeof(kv_state_t),
        .init = kv_init,
        .receive = kv_receive,
        .terminate = kv_terminate,
    },
};

static const actr_plugin_t kv_plugin = {
    .abi_major = ACTR_PLUGIN_ABI_MAJOR,
    .abi_minor = ACTR_PLUGIN_ABI_MINOR,
    .size = sizeof(actr_plugin_t),
    .signature = ACTR_PLUGIN_SIGNATURE,
    .name = "kv",
    .version = "1.1.0",
    .types = kv_types,
    .ntypes = sizeof(kv_types) / sizeof(kv_types[0]),
};

ACTR_PLUGIN_DEFINE(kv_plugin)

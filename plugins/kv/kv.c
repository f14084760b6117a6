/* plugins/kv/kv.c — a stateful service plugin: actor type "kv", an in-memory
 * key-value store, one store per actor.
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
 * Values are kept as the raw msgpack bytes of the request (format `*`), so any
 * value round-trips unchanged. The map is a chained hash table allocated with
 * actr_ctx_alloc and freed in terminate. The plugin uses only actr/plugin.h and
 * libc.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <actr/plugin.h>

#define KV_MAX_KEY 4096 /* bytes; longer keys are a bad request */

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

typedef struct kv_state {
    kv_map_t *map;
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

static int map_put(actr_ctx_t *ctx, kv_map_t *m, const char *key, size_t klen, const void *val,
                   size_t vlen)
{
    uint64_t h = hash_bytes(key, klen);
    uint8_t *v = actr_ctx_alloc(ctx, vlen);
    if (v == NULL)
        return ACTR_ENOMEM;
    memcpy(v, val, vlen);
    kv_entry_t **pp = map_slot(m, key, klen, h);
    if (*pp != NULL) {
        actr_ctx_free(ctx, (*pp)->val);
        (*pp)->val = v;
        (*pp)->vlen = vlen;
        return 0;
    }
    kv_entry_t *e = actr_ctx_alloc(ctx, sizeof(*e));
    char *k = actr_ctx_alloc(ctx, klen);
    if (e == NULL || k == NULL) {
        actr_ctx_free(ctx, e);
        actr_ctx_free(ctx, k);
        actr_ctx_free(ctx, v);
        return ACTR_ENOMEM;
    }
    memcpy(k, key, klen);
    e->hash = h;
    e->key = k;
    e->klen = klen;
    e->val = v;
    e->vlen = vlen;
    *pp = e;
    m->len++;
    /* growing can fail harmlessly: the table just stays denser */
    if (m->len > m->cap)
        (void)map_grow(ctx, m);
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

/* ---- requests ------------------------------------------------------------------------ */

static void reply(actr_ctx_t *ctx, const actr_msg_t *req, actr_msg_t *rep, int rc)
{
    /* a reply that cannot be built ends in the requester's timeout; one
     * whose requester is gone is not the store's failure */
    if (rc == 0)
        (void)actr_ctx_reply(ctx, req, rep);
}

static void bad_request(actr_ctx_t *ctx, const actr_msg_t *req, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void bad_request(actr_ctx_t *ctx, const actr_msg_t *req, const char *fmt, ...)
{
    char text[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    actr_msg_t *rep;
    int rc = actr_ctx_msg_pack(ctx, actr_ctx_msg_type(ctx, req), &rep, "{s:b s:s s:s}", "ok", 0,
                               "error", "bad_request", "message", text);
    reply(ctx, req, rep, rc);
}

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

static int kv_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    kv_state_t *st = state;
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
    actr_msg_t *rep = NULL;
    if (OP_IS("put")) {
        const void *val;
        size_t vlen;
        rc = actr_ctx_msg_unpack(ctx, msg, "{s:*}", "value", &val, &vlen);
        if (rc != 0) {
            bad_request(ctx, msg, "put: \"value\" is %s", why(rc, "malformed"));
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
        int deleted = map_del(ctx, st->map, key, klen);
        rc = actr_ctx_msg_pack(ctx, type, &rep, "{s:b s:b}", "ok", 1, "deleted", deleted);
    }
#undef OP_IS
    reply(ctx, msg, rep, rc);
    return 0;
}

/* ---- lifecycle ----------------------------------------------------------------------- */

static int kv_init(actr_ctx_t *ctx, void *state, const void *args, size_t args_len)
{
    (void)args;
    (void)args_len;
    kv_state_t *st = state;
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
    return 0;
}

static void kv_terminate(actr_ctx_t *ctx, void *state, const char *reason)
{
    (void)reason;
    kv_state_t *st = state;
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
    .version = "1.0.0",
    .types = kv_types,
    .ntypes = sizeof(kv_types) / sizeof(kv_types[0]),
};

ACTR_PLUGIN_DEFINE(kv_plugin)

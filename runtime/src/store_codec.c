/* store_codec.c — the state store's message formats: packing and checking a
 * request (the API side packs, the store thread reads), building a reply
 * (the store thread) and the public reply decoders actr_store_result,
 * actr_store_value and actr_store_scan_next.
 *
 * Every reader here is pure and bounded: it does no I/O, allocates nothing,
 * checks each length against the bytes that remain before it uses it, and
 * returns an error for anything it does not expect, so any bytes at all are
 * safe to hand it (the unit tests feed it every truncation and byte flip of
 * real replies).
 *
 * Request payloads (msgpack; the message type is the operation):
 *   PUT  [ns:str, key:bin, value:bin]     GET, DEL  [ns:str, key:bin]
 *   SCAN [ns:str, prefix:bin, limit:uint32]
 * Reply payload: [code:int, why:str, body] where why is "" on success and
 * otherwise carries its terminating NUL inside the string (so a decoder can
 * hand out a C string pointing into the reply), and body is nil, a bin (a
 * found value) or an array of 2n bins (scan: key, value, ...).
 */
#include <limits.h>
#include <string.h>

#include "internal.h"
#include "actr/store.h"
#include "store_int.h"

/* ---- msgpack: the few shapes used here, bounded both ways ---------------------------- */

static uint8_t *w_be(uint8_t *p, uint64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--)
        *p++ = (uint8_t)(v >> (8 * i));
    return p;
}

static size_t sz_str(size_t n) { return n + (n < 32 ? 1 : n < 256 ? 2 : n < 65536 ? 3 : 5); }
static size_t sz_bin(size_t n) { return n + (n < 256 ? 2 : n < 65536 ? 3 : 5); }

static uint8_t *w_str(uint8_t *p, const void *s, size_t n)
{
    if (n < 32)
        *p++ = (uint8_t)(0xa0 | n);
    else if (n < 256)
        p = w_be((*p = 0xd9, p + 1), n, 1);
    else if (n < 65536)
        p = w_be((*p = 0xda, p + 1), n, 2);
    else
        p = w_be((*p = 0xdb, p + 1), n, 4);
    if (n)
        memcpy(p, s, n);
    return p + n;
}

static uint8_t *w_binhdr(uint8_t *p, size_t n)
{
    if (n < 256)
        return w_be((*p = 0xc4, p + 1), n, 1);
    if (n < 65536)
        return w_be((*p = 0xc5, p + 1), n, 2);
    return w_be((*p = 0xc6, p + 1), n, 4);
}

static uint8_t *w_bin(uint8_t *p, const void *s, size_t n)
{
    p = w_binhdr(p, n);
    if (n)
        memcpy(p, s, n);
    return p + n;
}

/* a small signed integer (a result code) or an unsigned one (a limit) */
static uint8_t *w_int(uint8_t *p, int64_t v)
{
    if (v >= 0 && v < 128)
        *p++ = (uint8_t)v;
    else if (v >= -32 && v < 0)
        *p++ = (uint8_t)(0xe0 | (v + 32));
    else if (v >= 0)
        p = w_be((*p = 0xce, p + 1), (uint64_t)v & 0xffffffffu, 4);
    else
        p = w_be((*p = 0xd2, p + 1), (uint64_t)(uint32_t)(int32_t)v, 4);
    return p;
}

typedef struct rd {
    const uint8_t *p, *end;
} rd_t;

static int r_be(rd_t *r, int n, uint64_t *v)
{
    if (r->end - r->p < n)
        return -1;
    uint64_t x = 0;
    for (int i = 0; i < n; i++)
        x = x << 8 | *r->p++;
    *v = x;
    return 0;
}

static int r_arr(rd_t *r, uint64_t *n)
{
    if (r->p >= r->end)
        return -1;
    uint8_t b = *r->p++;
    if ((b & 0xf0) == 0x90) {
        *n = b & 0x0f;
        return 0;
    }
    if (b == 0xdc)
        return r_be(r, 2, n);
    if (b == 0xdd)
        return r_be(r, 4, n);
    return -1;
}

/* a str (bin 0), a bin (bin 1); *s points into the buffer */
static int r_bytes(rd_t *r, int bin, const uint8_t **s, uint64_t *n)
{
    if (r->p >= r->end)
        return -1;
    uint8_t b = *r->p++;
    int w;
    if (!bin && (b & 0xe0) == 0xa0) {
        *n = b & 0x1f;
        w = 0;
    } else if (b == (bin ? 0xc4 : 0xd9)) {
        w = 1;
    } else if (b == (bin ? 0xc5 : 0xda)) {
        w = 2;
    } else if (b == (bin ? 0xc6 : 0xdb)) {
        w = 4;
    } else {
        return -1;
    }
    if (w && r_be(r, w, n) != 0)
        return -1;
    if ((uint64_t)(r->end - r->p) < *n)
        return -1;
    *s = r->p;
    r->p += *n;
    return 0;
}

static int r_int(rd_t *r, int64_t *v)
{
    if (r->p >= r->end)
        return -1;
    uint8_t b = *r->p++;
    uint64_t x;
    if (b < 0x80) {
        *v = b;
        return 0;
    }
    if (b >= 0xe0) {
        *v = (int8_t)b;
        return 0;
    }
    switch (b) {
    case 0xcc: case 0xcd: case 0xce:
        if (r_be(r, 1 << (b - 0xcc), &x) != 0)
            return -1;
        *v = (int64_t)x;
        return 0;
    case 0xd0: case 0xd1: case 0xd2:
        if (r_be(r, 1 << (b - 0xd0), &x) != 0)
            return -1;
        *v = b == 0xd0 ? (int8_t)x : b == 0xd1 ? (int16_t)x : (int32_t)x;
        return 0;
    default:
        return -1;
    }
}

/* ---- requests ------------------------------------------------------------------------ */

static int has_value(uint32_t op) { return op == ACTR__ST_PUT; }
static unsigned nfields(uint32_t op) { return op == ACTR__ST_PUT || op == ACTR__ST_SCAN ? 3 : 2; }

size_t actr__sreq_size(const actr__sreq_t *q)
{
    size_t len = 1 + sz_str(q->nslen) + sz_bin(q->klen);
    if (has_value(q->op))
        len += sz_bin(q->vlen);
    else if (q->op == ACTR__ST_SCAN)
        len += 5;
    return len;
}

void actr__sreq_write(uint8_t *p, const actr__sreq_t *q)
{
    *p++ = (uint8_t)(0x90 | nfields(q->op));
    p = w_str(p, q->ns, q->nslen);
    p = w_bin(p, q->key, q->klen);
    if (has_value(q->op))
        (void)w_bin(p, q->val, q->vlen);
    else if (q->op == ACTR__ST_SCAN)
        (void)w_be((*p = 0xce, p + 1), q->limit, 4);
}

int actr__sreq_read(uint32_t op, const uint8_t *d, size_t len, actr__sreq_t *q)
{
    memset(q, 0, sizeof(*q));
    q->op = op;
    if (op != ACTR__ST_PUT && op != ACTR__ST_GET && op != ACTR__ST_DEL && op != ACTR__ST_SCAN)
        return ACTR_EINVAL;
    rd_t r = {d, d + len};
    uint64_t n, nsl, kl, vl = 0;
    const uint8_t *ns, *key, *val = NULL;
    if (d == NULL || r_arr(&r, &n) != 0 || n != nfields(op) || r_bytes(&r, 0, &ns, &nsl) != 0 ||
        r_bytes(&r, 1, &key, &kl) != 0)
        return ACTR_EMSGPACK;
    if (has_value(op) && r_bytes(&r, 1, &val, &vl) != 0)
        return ACTR_EMSGPACK;
    int64_t lim = 0;
    if (op == ACTR__ST_SCAN && (r_int(&r, &lim) != 0 || lim < 0 || lim > UINT32_MAX))
        return ACTR_EMSGPACK;
    if (r.p != r.end)
        return ACTR_EMSGPACK;
    /* the API checked these; a request packed by hand is checked again */
    if (nsl == 0 || nsl > ACTR_STORE_MAX_NS || kl > ACTR_STORE_MAX_KEY ||
        (op != ACTR__ST_SCAN && kl == 0) || memchr(ns, '\0', nsl) != NULL ||
        vl > ACTR_STORE_LIMIT_MAX_VALUE)
        return ACTR_EINVAL;
    q->ns = (const char *)ns;
    q->nslen = (uint32_t)nsl;
    q->key = key;
    q->klen = (uint32_t)kl;
    q->val = val;
    q->vlen = (uint32_t)vl;
    q->limit = (uint32_t)lim;
    return 0;
}

/* ---- replies (built by the store thread) ------------------------------------------ */

size_t actr__srep_size(size_t whylen, int found, size_t vlen)
{
    return 1 + 5 + sz_str(whylen + 1) + (found ? sz_bin(vlen) : 1);
}

size_t actr__srep_write(uint8_t *b, int code, const char *why, int found, const void *val,
                        size_t vlen)
{
    size_t wl = code != 0 && why != NULL ? strlen(why) + 1 : 0;
    uint8_t *p = b;
    *p++ = 0x93;
    p = w_int(p, code);
    p = w_str(p, why, wl);
    if (found)
        p = w_bin(p, val, vlen);
    else
        *p++ = 0xc0;
    return (size_t)(p - b);
}

void actr__srep_scan_hdr(uint8_t *b, uint32_t nitems)
{
    b[0] = 0x93;
    b[1] = 0x00; /* code 0 */
    b[2] = 0xa0; /* why "" */
    b[3] = 0xdd; /* array32 */
    w_be(b + 4, nitems, 4);
}

size_t actr__sbin_size(size_t n) { return sz_bin(n); }

uint8_t *actr__sbin_write(uint8_t *p, const void *s, size_t n) { return w_bin(p, s, n); }

/* ---- the public API: replies (pure, bounded: any bytes are safe) ------------------- */

/* Decode the reply's head; on success r is left at the body. */
static int reply_head(const actr_msg_t *reply, rd_t *r, const char **why)
{
    if (why != NULL)
        *why = "";
    if (reply == NULL)
        return ACTR_EINVAL;
    if (actr_msg_type(reply) == ACTR_MSG_REQFAIL) {
        int code = actr_msg_error(reply);
        if (code == 0)
            code = ACTR_EMSGPACK;
        if (why != NULL)
            *why = actr_strerror(code);
        return code;
    }
    if (actr_msg_type(reply) != ACTR__ST_REPLY)
        return ACTR_EMSGPACK;
    size_t len;
    const uint8_t *d = actr_msg_data(reply, &len);
    if (d == NULL)
        return ACTR_EMSGPACK;
    r->p = d;
    r->end = d + len;
    uint64_t n;
    int64_t code;
    const uint8_t *s;
    uint64_t slen;
    if (r_arr(r, &n) != 0 || n != 3 || r_int(r, &code) != 0 || r_bytes(r, 0, &s, &slen) != 0)
        return ACTR_EMSGPACK;
    if (code > 0 || code < INT_MIN)
        return ACTR_EMSGPACK;
    if (code != 0 && why != NULL)
        *why = slen > 0 && s[slen - 1] == '\0' ? (const char *)s : actr_strerror((int)code);
    if (code == 0 && slen != 0)
        return ACTR_EMSGPACK;
    return (int)code;
}

int actr_store_result(const actr_msg_t *reply, const char **why)
{
    rd_t r;
    return reply_head(reply, &r, why);
}

int actr_store_value(const actr_msg_t *reply, const void **val, size_t *vlen)
{
    rd_t r;
    if (val != NULL)
        *val = NULL;
    if (vlen != NULL)
        *vlen = 0;
    int rc = reply_head(reply, &r, NULL);
    if (rc != 0)
        return rc;
    if (r.p < r.end && *r.p == 0xc0 && r.p + 1 == r.end)
        return 0; /* absent */
    const uint8_t *s;
    uint64_t n;
    if (r_bytes(&r, 1, &s, &n) != 0 || r.p != r.end)
        return ACTR_EMSGPACK;
    if (val != NULL)
        *val = s;
    if (vlen != NULL)
        *vlen = (size_t)n;
    return 1;
}

int actr_store_scan_next(const actr_msg_t *reply, size_t *pos, const void **key, size_t *klen,
                         const void **val, size_t *vlen)
{
    if (pos == NULL)
        return ACTR_EINVAL;
    rd_t r;
    int rc = reply_head(reply, &r, NULL);
    if (rc != 0)
        return rc;
    size_t len;
    const uint8_t *d = actr_msg_data(reply, &len);
    if (*pos == 0) {
        uint64_t n;
        if (r_arr(&r, &n) != 0 || n % 2 != 0)
            return ACTR_EMSGPACK;
    } else {
        /* *pos is an offset this function returned: past the body's header */
        if (*pos > len || d + *pos < r.p)
            return ACTR_EINVAL;
        r.p = d + *pos;
    }
    if (r.p == r.end) {
        *pos = len;
        return 0;
    }
    const uint8_t *k, *v;
    uint64_t kn, vn;
    if (r_bytes(&r, 1, &k, &kn) != 0 || r_bytes(&r, 1, &v, &vn) != 0)
        return ACTR_EMSGPACK;
    if (key != NULL)
        *key = k;
    if (klen != NULL)
        *klen = (size_t)kn;
    if (val != NULL)
        *val = v;
    if (vlen != NULL)
        *vlen = (size_t)vn;
    *pos = (size_t)(r.p - d);
    return 1;
}


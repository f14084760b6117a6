/* wire.c — the cluster's wire format (see wire.h): the frame decoder, the
 * encoders of message headers and control frames, and the handshake's
 * crypto (nonces, HMAC-SHA256 proofs, constant-time comparison).
 *
 * Layout of a body (msgpack, after the 4-byte length and the kind byte):
 *   MSG    [type, flags, sys, aux32, to, from, corr] payload...
 *   NAMED  [type, flags, sys, aux32, to, from, corr, name] payload...
 *   PUB    [type, flags, sys, aux32, to, from, corr, topic] payload...
 *   HELLO  [proto_min, proto_max, name, node_id, nonce(bin 32)]
 *   AUTH   [proto, mac(bin 32)]
 *   PING   [seq, t_us]            PONG  [seq, t_us]
 *   LOOKUP [seq, name]            FOUND [seq, found(bool), ref]
 *   BYE    [reason]
 * where a ref is [node (u64), slot (u32), gen (u32)] and names are msgpack
 * strings of at most ACTR__WIRE_NAME_MAX bytes with no NUL byte (receivers
 * turn them into C strings). Integers may use any msgpack encoding of a
 * non-negative value that fits the field; the encoders write fixed-width
 * ones in message headers (no branches on values; the decoder recognises
 * that exact form and reads it at fixed offsets) and the shortest ones in
 * control frames. A control frame ends with its header: trailing bytes are a
 * protocol error. Message payloads are carried as is: never decoded here.
 *
 * Invariants of the decoder: the length prefix is checked against max_frame
 * before anything else is looked at; no byte at or past buf + len is read,
 * nor any byte past the frame's end; nothing is allocated; every path is
 * total on arbitrary bytes (tests/fuzz/fuzz-wire.c). The decoder and the
 * encoders keep no state: all of this is safe on any thread.
 */
#include "wire.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "actr/errno.h"

/* ---- big-endian stores and loads -------------------------------------------- */

static inline void be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline void be64(uint8_t *p, uint64_t v)
{
    be32(p, (uint32_t)(v >> 32));
    be32(p + 4, (uint32_t)v);
}

static inline uint64_t ld_be(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned k = 0; k < n; k++)
        v = (v << 8) | p[k];
    return v;
}

static inline uint32_t ld32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t ld64(const uint8_t *p) { return (uint64_t)ld32(p) << 32 | ld32(p + 4); }

static const char *kind_name(uint8_t kind)
{
    static const char *const names[] = {"?",    "HELLO", "AUTH",   "MSG",   "NAMED", "PUB",
                                        "PING", "PONG",  "LOOKUP", "FOUND", "BYE"};
    return kind <= ACTR__FR_KIND_MAX ? names[kind] : "?";
}

/* ---- errors ----------------------------------------------------------------- */

/* Write a one-line reason into why (cap bytes; why may be NULL) and return rc. */
__attribute__((format(printf, 4, 5))) static int fail(char *why, size_t cap, int rc,
                                                      const char *fmt, ...)
{
    if (why != NULL && cap > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, cap, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* ---- the msgpack reader ------------------------------------------------------
 * A cursor over one frame's body. Each read checks the bytes it needs
 * against the end before touching them and says what went wrong. */

typedef struct rd {
    const uint8_t *p, *end;
    char *why; /* for the error line */
    size_t cap;
    uint8_t kind;
} rd_t;

/* What a read found, for the error line. */
enum { R_OK = 0, R_SHORT, R_TYPE, R_RANGE, R_NEG, R_LONG, R_NUL };

static int rd_fail(rd_t *r, int what, const char *field, uint64_t n)
{
    const char *k = kind_name(r->kind);
    switch (what) {
    case R_SHORT:
        return fail(r->why, r->cap, ACTR_EPROTO, "%s frame: header ends inside field '%s'", k,
                    field);
    case R_TYPE:
        return fail(r->why, r->cap, ACTR_EPROTO, "%s frame: field '%s' has the wrong type", k,
                    field);
    case R_RANGE:
        return fail(r->why, r->cap, ACTR_EPROTO,
                    "%s frame: field '%s' is out of range (%llu)", k, field,
                    (unsigned long long)n);
    case R_NEG:
        return fail(r->why, r->cap, ACTR_EPROTO, "%s frame: field '%s' is negative", k, field);
    case R_LONG:
        return fail(r->why, r->cap, ACTR_EPROTO,
                    "%s frame: field '%s' of %llu bytes exceeds the maximum %d", k, field,
                    (unsigned long long)n, ACTR__WIRE_NAME_MAX);
    default:
        return fail(r->why, r->cap, ACTR_EPROTO, "%s frame: field '%s' contains a NUL byte", k,
                    field);
    }
}

/* An unsigned integer of at most `max`: any msgpack integer encoding of a
 * non-negative value. */
static inline int rd_uint(rd_t *r, uint64_t max, uint64_t *v, const char *field)
{
    const uint8_t *p = r->p;
    unsigned n;
    uint8_t t;

    if (p >= r->end)
        return rd_fail(r, R_SHORT, field, 0);
    t = *p++;
    if (t < 0x80) {
        *v = t;
        r->p = p;
        return 0;
    }
    if (t >= 0xcc && t <= 0xcf) {
        n = 1u << (t - 0xcc);
    } else if (t >= 0xd0 && t <= 0xd3) {
        n = 1u << (t - 0xd0);
        if ((size_t)(r->end - p) >= n && (p[0] & 0x80))
            return rd_fail(r, R_NEG, field, 0);
    } else {
        return rd_fail(r, t >= 0xe0 ? R_NEG : R_TYPE, field, 0); /* negative fixint */
    }
    if ((size_t)(r->end - p) < n)
        return rd_fail(r, R_SHORT, field, 0);
    *v = ld_be(p, n);
    if (*v > max)
        return rd_fail(r, R_RANGE, field, *v);
    r->p = p + n;
    return 0;
}

/* An array header with exactly `want` elements. */
static int rd_array(rd_t *r, uint32_t want, const char *field)
{
    const uint8_t *p = r->p;
    uint64_t n;
    uint8_t t;

    if (p >= r->end)
        return rd_fail(r, R_SHORT, field, 0);
    t = *p++;
    if (t >= 0x90 && t <= 0x9f) {
        n = t & 0x0fu;
    } else if (t == 0xdc || t == 0xdd) {
        unsigned b = t == 0xdc ? 2 : 4;
        if ((size_t)(r->end - p) < b)
            return rd_fail(r, R_SHORT, field, 0);
        n = ld_be(p, b);
        p += b;
    } else {
        return rd_fail(r, R_TYPE, field, 0);
    }
    if (n != want)
        return fail(r->why, r->cap, ACTR_EPROTO, "%s frame: '%s' has %llu elements, expected %u",
                    kind_name(r->kind), field, (unsigned long long)n, want);
    r->p = p;
    return 0;
}

/* A string (str8/16/32 or fixstr) or, with bin set, a binary of the given
 * forms; returns its body in *s, *n (checked to lie in the frame). */
static int rd_bytes(rd_t *r, bool bin, const uint8_t **s, uint64_t *n, const char *field)
{
    const uint8_t *p = r->p;
    unsigned b;
    uint8_t t;

    if (p >= r->end)
        return rd_fail(r, R_SHORT, field, 0);
    t = *p++;
    if (!bin && t >= 0xa0 && t <= 0xbf) {
        *n = t & 0x1fu;
        b = 0;
    } else if (!bin && t >= 0xd9 && t <= 0xdb) {
        b = 1u << (t - 0xd9);
    } else if (bin && t >= 0xc4 && t <= 0xc6) {
        b = 1u << (t - 0xc4);
    } else {
        return rd_fail(r, R_TYPE, field, 0);
    }
    if (b) {
        if ((size_t)(r->end - p) < b)
            return rd_fail(r, R_SHORT, field, 0);
        *n = ld_be(p, b);
        p += b;
    }
    if ((uint64_t)(r->end - p) < *n)
        return rd_fail(r, R_SHORT, field, 0);
    *s = p;
    r->p = p + *n;
    return 0;
}

/* A name: a string of at most ACTR__WIRE_NAME_MAX bytes without NUL. */
static int rd_name(rd_t *r, actr__frame_t *f, const char *field)
{
    const uint8_t *s;
    uint64_t n;
    int rc = rd_bytes(r, false, &s, &n, field);
    if (rc)
        return rc;
    if (n > ACTR__WIRE_NAME_MAX)
        return rd_fail(r, R_LONG, field, n);
    if (memchr(s, 0, (size_t)n) != NULL)
        return rd_fail(r, R_NUL, field, 0);
    f->name = (const char *)s;
    f->name_len = (size_t)n;
    return 0;
}

/* A binary of exactly ACTR__WIRE_NONCE (== ACTR__WIRE_MAC) bytes into out. */
static int rd_bin32(rd_t *r, uint8_t out[32], const char *field)
{
    const uint8_t *s;
    uint64_t n;
    int rc = rd_bytes(r, true, &s, &n, field);
    if (rc)
        return rc;
    if (n != 32)
        return fail(r->why, r->cap, ACTR_EPROTO, "%s frame: '%s' has %llu bytes, expected 32",
                    kind_name(r->kind), field, (unsigned long long)n);
    memcpy(out, s, 32);
    return 0;
}

static int rd_bool(rd_t *r, int *v, const char *field)
{
    if (r->p >= r->end)
        return rd_fail(r, R_SHORT, field, 0);
    if (*r->p != 0xc2 && *r->p != 0xc3)
        return rd_fail(r, R_TYPE, field, 0);
    *v = *r->p == 0xc3;
    r->p++;
    return 0;
}

/* A ref: [node, slot, gen]. names: the ref's name, then its three fields'. */
static int rd_ref(rd_t *r, actr_ref_t *ref, const char *const names[4])
{
    uint64_t node, slot, gen;
    int rc;
    if ((rc = rd_array(r, 3, names[0])) || (rc = rd_uint(r, UINT64_MAX, &node, names[1])) ||
        (rc = rd_uint(r, UINT32_MAX, &slot, names[2])) ||
        (rc = rd_uint(r, UINT32_MAX, &gen, names[3])))
        return rc;
    ref->node = node;
    ref->slot = (uint32_t)slot;
    ref->gen = (uint32_t)gen;
    return 0;
}

static const char *const TO[4] = {"to", "to.node", "to.slot", "to.gen"};
static const char *const FROM[4] = {"from", "from.node", "from.slot", "from.gen"};
static const char *const REF[4] = {"ref", "ref.node", "ref.slot", "ref.gen"};

/* The envelope's seven fields (after the header's array header). */
static int rd_env(rd_t *r, actr__wire_env_t *env)
{
    uint64_t type, flags, sys, aux, corr;
    int rc;
    if ((rc = rd_uint(r, UINT32_MAX, &type, "type")) ||
        (rc = rd_uint(r, UINT16_MAX, &flags, "flags")) ||
        (rc = rd_uint(r, UINT8_MAX, &sys, "sys")) ||
        (rc = rd_uint(r, UINT32_MAX, &aux, "aux32")) || (rc = rd_ref(r, &env->to, TO)) ||
        (rc = rd_ref(r, &env->from, FROM)) || (rc = rd_uint(r, UINT64_MAX, &corr, "corr")))
        return rc;
    env->type = (uint32_t)type;
    env->flags = (uint16_t)flags;
    env->sys = (uint8_t)sys;
    env->aux32 = (uint32_t)aux;
    env->corr = corr;
    return 0;
}

/* A control frame's body must end with its header. */
static int rd_end(rd_t *r)
{
    if (r->p != r->end)
        return fail(r->why, r->cap, ACTR_EPROTO, "%s frame: %zu bytes after the header",
                    kind_name(r->kind), (size_t)(r->end - r->p));
    return 0;
}

/* The envelope as actr__wire_msg_header writes it (fixed-width integers at
 * fixed offsets), read without the general reader: the common case, so it
 * is worth a check of 14 marker bytes. Returns 1 if the header at r->p has
 * that form (and then has read it), else 0 (the general reader decides). */
#define FIXED_ENV 65 /* bytes of a fixed-width envelope, array header included */
static inline int env_fixed(rd_t *r, actr__wire_env_t *env)
{
    const uint8_t *p = r->p;
    if ((size_t)(r->end - p) < FIXED_ENV || p[1] != 0xce || p[6] != 0xcd || p[9] != 0xcc ||
        p[11] != 0xce || p[16] != 0x93 || p[17] != 0xcf || p[26] != 0xce || p[31] != 0xce ||
        p[36] != 0x93 || p[37] != 0xcf || p[46] != 0xce || p[51] != 0xce || p[56] != 0xcf)
        return 0;
    env->type = ld32(p + 2);
    env->flags = (uint16_t)(p[7] << 8 | p[8]);
    env->sys = p[10];
    env->aux32 = ld32(p + 12);
    env->to.node = ld64(p + 18);
    env->to.slot = ld32(p + 27);
    env->to.gen = ld32(p + 32);
    env->from.node = ld64(p + 38);
    env->from.slot = ld32(p + 47);
    env->from.gen = ld32(p + 52);
    env->corr = ld64(p + 57);
    r->p = p + FIXED_ENV;
    return 1;
}

static int decode_body(rd_t *r, actr__frame_t *f)
{
    uint64_t a, b;
    int rc;

    switch (f->kind) {
    case ACTR__FR_MSG:
    case ACTR__FR_NAMED:
    case ACTR__FR_PUB:
        /* The fixed form first; the array header (0x97: 7 fields, 0x98: 8)
         * is checked here and the rest by env_fixed. */
        if (!(r->p < r->end && *r->p == (f->kind == ACTR__FR_MSG ? 0x97 : 0x98) &&
              env_fixed(r, &f->env)) &&
            ((rc = rd_array(r, f->kind == ACTR__FR_MSG ? 7 : 8, "header")) ||
             (rc = rd_env(r, &f->env))))
            return rc;
        if (f->kind != ACTR__FR_MSG &&
            (rc = rd_name(r, f, f->kind == ACTR__FR_PUB ? "topic" : "name")))
            return rc;
        f->payload = r->p;
        f->payload_len = (size_t)(r->end - r->p);
        return 0;
    case ACTR__FR_HELLO:
        if ((rc = rd_array(r, 5, "header")) || (rc = rd_uint(r, UINT32_MAX, &a, "proto_min")) ||
            (rc = rd_uint(r, UINT32_MAX, &b, "proto_max")) || (rc = rd_name(r, f, "name")) ||
            (rc = rd_uint(r, UINT64_MAX, &f->node_id, "node_id")) ||
            (rc = rd_bin32(r, f->nonce, "nonce")))
            return rc;
        f->proto_min = (uint32_t)a;
        f->proto_max = (uint32_t)b;
        return rd_end(r);
    case ACTR__FR_AUTH:
        if ((rc = rd_array(r, 2, "header")) || (rc = rd_uint(r, UINT32_MAX, &a, "proto")) ||
            (rc = rd_bin32(r, f->mac, "mac")))
            return rc;
        f->proto = (uint32_t)a;
        return rd_end(r);
    case ACTR__FR_PING:
    case ACTR__FR_PONG:
        if ((rc = rd_array(r, 2, "header")) || (rc = rd_uint(r, UINT64_MAX, &f->seq, "seq")) ||
            (rc = rd_uint(r, UINT64_MAX, &f->t_us, "t_us")))
            return rc;
        return rd_end(r);
    case ACTR__FR_LOOKUP:
        if ((rc = rd_array(r, 2, "header")) || (rc = rd_uint(r, UINT64_MAX, &f->seq, "seq")) ||
            (rc = rd_name(r, f, "name")))
            return rc;
        return rd_end(r);
    case ACTR__FR_FOUND:
        if ((rc = rd_array(r, 3, "header")) || (rc = rd_uint(r, UINT64_MAX, &f->seq, "seq")) ||
            (rc = rd_bool(r, &f->found, "found")) || (rc = rd_ref(r, &f->ref, REF)))
            return rc;
        return rd_end(r);
    case ACTR__FR_BYE:
        if ((rc = rd_array(r, 1, "header")) || (rc = rd_name(r, f, "reason")))
            return rc;
        return rd_end(r);
    default:
        return fail(r->why, r->cap, ACTR_EPROTO, "unknown frame kind %u", (unsigned)f->kind);
    }
}

/* Zero every field of f and set its kind: the fields a kind does not use
 * stay zero. Field by field, which is several times cheaper than a memset
 * of the whole struct (a string instruction) on this hot path. */
static inline void clear(actr__frame_t *f, uint8_t kind)
{
    f->kind = kind;
    f->name = NULL;
    f->name_len = 0;
    f->payload = NULL;
    f->payload_len = 0;
    f->proto_min = f->proto_max = f->proto = 0;
    f->node_id = f->seq = f->t_us = 0;
    f->found = 0;
    f->ref = (actr_ref_t){0, 0, 0};
    memset(f->nonce, 0, sizeof(f->nonce));
    memset(f->mac, 0, sizeof(f->mac));
    if (kind < ACTR__FR_MSG || kind > ACTR__FR_PUB)
        memset(&f->env, 0, sizeof(f->env));
}

int actr__wire_decode(const uint8_t *buf, size_t len, uint32_t max_frame, actr__frame_t *f,
                      size_t *used, char *why, size_t cap)
{
    uint32_t flen;
    rd_t r;

    *used = 0;
    if (len < 4) {
        if (why != NULL && cap > 0)
            why[0] = '\0';
        return ACTR_EAGAIN;
    }
    flen = (uint32_t)ld_be(buf, 4);
    if (flen == 0)
        return fail(why, cap, ACTR_E2BIG, "frame of 0 bytes (a frame holds at least its kind)");
    if (flen > max_frame)
        return fail(why, cap, ACTR_E2BIG, "frame of %lu bytes exceeds the maximum %lu",
                    (unsigned long)flen, (unsigned long)max_frame);
    *used = (size_t)flen + 4;
    if (len - 4 < flen) {
        if (why != NULL && cap > 0)
            why[0] = '\0';
        return ACTR_EAGAIN;
    }
    clear(f, buf[4]);
    r.p = buf + 5;
    r.end = buf + 4 + flen;
    r.why = why;
    r.cap = cap;
    r.kind = f->kind;
    return decode_body(&r, f);
}

/* ---- message headers (the hot path) -------------------------------------------- */

/* A ref as [node u64, slot u32, gen u32]: 20 bytes. */
static inline uint8_t *put_ref(uint8_t *p, actr_ref_t ref)
{
    p[0] = 0x93;
    p[1] = 0xcf;
    be64(p + 2, ref.node);
    p[10] = 0xce;
    be32(p + 11, ref.slot);
    p[15] = 0xce;
    be32(p + 16, ref.gen);
    return p + 20;
}

size_t actr__wire_msg_header(uint8_t *buf, uint8_t kind, const actr__wire_env_t *env,
                             const char *name, size_t name_len, size_t payload_len)
{
    uint8_t *p = buf + 5;
    size_t hlen;
    uint64_t total;

    if (kind != ACTR__FR_MSG && kind != ACTR__FR_NAMED && kind != ACTR__FR_PUB)
        return 0;
    if (kind != ACTR__FR_MSG && (name_len > ACTR__WIRE_NAME_MAX || (name == NULL && name_len)))
        return 0;
    buf[4] = kind;
    *p++ = kind == ACTR__FR_MSG ? 0x97 : 0x98;
    p[0] = 0xce;
    be32(p + 1, env->type);
    p[5] = 0xcd;
    be16(p + 6, env->flags);
    p[8] = 0xcc;
    p[9] = env->sys;
    p[10] = 0xce;
    be32(p + 11, env->aux32);
    p = put_ref(p + 15, env->to);
    p = put_ref(p, env->from);
    p[0] = 0xcf;
    be64(p + 1, env->corr);
    p += 9;
    if (kind != ACTR__FR_MSG) {
        p[0] = 0xd9; /* str 8: the name is at most 255 bytes */
        p[1] = (uint8_t)name_len;
        if (name_len)
            memcpy(p + 2, name, name_len);
        p += 2 + name_len;
    }
    hlen = (size_t)(p - buf);
    total = (uint64_t)hlen - 4 + payload_len;
    if (total > UINT32_MAX)
        return 0;
    be32(buf, (uint32_t)total);
    return hlen;
}

/* ---- control frames ----------------------------------------------------------------- */

typedef struct wr {
    uint8_t *p, *end;
    bool over;
} wr_t;

static void put(wr_t *w, const void *src, size_t n)
{
    if (w->over || (size_t)(w->end - w->p) < n) {
        w->over = true;
        return;
    }
    memcpy(w->p, src, n);
    w->p += n;
}

static void put_byte(wr_t *w, uint8_t b) { put(w, &b, 1); }

/* The shortest encoding of v. */
static void put_uint(wr_t *w, uint64_t v)
{
    uint8_t b[9];
    if (v < 0x80) {
        b[0] = (uint8_t)v;
        put(w, b, 1);
    } else if (v <= UINT8_MAX) {
        b[0] = 0xcc;
        b[1] = (uint8_t)v;
        put(w, b, 2);
    } else if (v <= UINT16_MAX) {
        b[0] = 0xcd;
        be16(b + 1, (uint16_t)v);
        put(w, b, 3);
    } else if (v <= UINT32_MAX) {
        b[0] = 0xce;
        be32(b + 1, (uint32_t)v);
        put(w, b, 5);
    } else {
        b[0] = 0xcf;
        be64(b + 1, v);
        put(w, b, 9);
    }
}

static void put_name(wr_t *w, const char *s, size_t n)
{
    if (n > ACTR__WIRE_NAME_MAX || (s == NULL && n)) {
        w->over = true;
        return;
    }
    if (n < 32) {
        put_byte(w, (uint8_t)(0xa0 | n));
    } else {
        put_byte(w, 0xd9);
        put_byte(w, (uint8_t)n);
    }
    if (n)
        put(w, s, n);
}

static void put_bin32(wr_t *w, const uint8_t b[32])
{
    put_byte(w, 0xc4);
    put_byte(w, 32);
    put(w, b, 32);
}

static void put_ctl_ref(wr_t *w, actr_ref_t ref)
{
    put_byte(w, 0x93);
    put_uint(w, ref.node);
    put_uint(w, ref.slot);
    put_uint(w, ref.gen);
}

size_t actr__wire_ctl(uint8_t *buf, size_t cap, const actr__frame_t *f)
{
    wr_t w = {buf, buf + cap, false};

    if (cap < 5)
        return 0;
    w.p += 4;
    put_byte(&w, f->kind);
    switch (f->kind) {
    case ACTR__FR_HELLO:
        put_byte(&w, 0x95);
        put_uint(&w, f->proto_min);
        put_uint(&w, f->proto_max);
        put_name(&w, f->name, f->name_len);
        put_uint(&w, f->node_id);
        put_bin32(&w, f->nonce);
        break;
    case ACTR__FR_AUTH:
        put_byte(&w, 0x92);
        put_uint(&w, f->proto);
        put_bin32(&w, f->mac);
        break;
    case ACTR__FR_PING:
    case ACTR__FR_PONG:
        put_byte(&w, 0x92);
        put_uint(&w, f->seq);
        put_uint(&w, f->t_us);
        break;
    case ACTR__FR_LOOKUP:
        put_byte(&w, 0x92);
        put_uint(&w, f->seq);
        put_name(&w, f->name, f->name_len);
        break;
    case ACTR__FR_FOUND:
        put_byte(&w, 0x93);
        put_uint(&w, f->seq);
        put_byte(&w, f->found ? 0xc3 : 0xc2);
        put_ctl_ref(&w, f->ref);
        break;
    case ACTR__FR_BYE:
        put_byte(&w, 0x91);
        put_name(&w, f->name, f->name_len);
        break;
    default:
        return 0;
    }
    if (w.over)
        return 0;
    be32(buf, (uint32_t)(w.p - buf - 4));
    return (size_t)(w.p - buf);
}

/* ---- the handshake's crypto ---------------------------------------------------------- */

int actr__wire_nonce(uint8_t nonce[ACTR__WIRE_NONCE])
{
    return RAND_bytes(nonce, ACTR__WIRE_NONCE) == 1 ? 0 : ACTR_EPROTO;
}

int actr__wire_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
                           uint8_t mac[ACTR__WIRE_MAC])
{
    unsigned int out_len = 0;
    static const uint8_t empty[1];

    if (key_len > INT32_MAX)
        return ACTR_EINVAL;
    /* HMAC() takes NULL as "use a static buffer": never pass NULL. */
    if (HMAC(EVP_sha256(), key_len ? key : empty, (int)key_len, len ? data : empty, len, mac,
             &out_len) == NULL ||
        out_len != ACTR__WIRE_MAC)
        return ACTR_EPROTO;
    return 0;
}

/* The label that separates these proofs from any other use of the secret. */
#define AUTH_LABEL "actr-auth/1"

/* Append one side's part: name (4-byte length, bytes), id, nonce. */
static uint8_t *put_side(uint8_t *p, const char *name, size_t name_len, uint64_t id,
                         const uint8_t nonce[ACTR__WIRE_NONCE])
{
    be32(p, (uint32_t)name_len);
    memcpy(p + 4, name, name_len);
    p += 4 + name_len;
    be64(p, id);
    memcpy(p + 8, nonce, ACTR__WIRE_NONCE);
    return p + 8 + ACTR__WIRE_NONCE;
}

int actr__wire_auth_mac(const void *secret, size_t secret_len, const char *a_name, uint64_t a_id,
                        const uint8_t a_nonce[ACTR__WIRE_NONCE], const char *b_name,
                        uint64_t b_id, const uint8_t b_nonce[ACTR__WIRE_NONCE],
                        uint8_t mac[ACTR__WIRE_MAC])
{
    /* label, then each side: every variable part is length-prefixed, so no
     * two different inputs give the same message. */
    uint8_t msg[4 + sizeof(AUTH_LABEL) - 1 + 2 * (4 + ACTR__WIRE_NAME_MAX + 8 + ACTR__WIRE_NONCE)];
    size_t alen, blen;
    uint8_t *p = msg;

    if (secret == NULL || a_name == NULL || b_name == NULL || a_nonce == NULL ||
        b_nonce == NULL || mac == NULL)
        return ACTR_EINVAL;
    alen = strnlen(a_name, ACTR__WIRE_NAME_MAX + 1);
    blen = strnlen(b_name, ACTR__WIRE_NAME_MAX + 1);
    if (alen > ACTR__WIRE_NAME_MAX || blen > ACTR__WIRE_NAME_MAX)
        return ACTR_EINVAL;
    be32(p, (uint32_t)(sizeof(AUTH_LABEL) - 1));
    memcpy(p + 4, AUTH_LABEL, sizeof(AUTH_LABEL) - 1);
    p += 4 + sizeof(AUTH_LABEL) - 1;
    p = put_side(p, a_name, alen, a_id, a_nonce);
    p = put_side(p, b_name, blen, b_id, b_nonce);
    return actr__wire_hmac_sha256(secret, secret_len, msg, (size_t)(p - msg), mac);
}

int actr__wire_mac_equal(const uint8_t a[ACTR__WIRE_MAC], const uint8_t b[ACTR__WIRE_MAC])
{
    return CRYPTO_memcmp(a, b, ACTR__WIRE_MAC) == 0;
}

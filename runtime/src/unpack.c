/* unpack.c — the reading side of the msgpack payloads: a bounded msgpack
 * reader (actr_msgpack_check, actr__msgpack_value_len), format-driven
 * unpacking (actr_msg_unpack, actr_unpack, actr_vunpack) with a fast path for
 * flat integer formats, and the readers of the runtime's system payloads
 * (actr_msg_error, actr_msg_down, actr_msg_exit). The writing side is in
 * pack.c; what both share (the nesting bound, the flat format parser) is in
 * pack.h.
 *
 * Reading uses a small reader of our own instead of msgpack-c's unpacker,
 * which would allocate a zone per call: a cursor over the bytes that checks
 * every length against the bytes left before using it, never allocates, and
 * bounds nesting at ACTR__MSGPACK_MAX_DEPTH. Skipping a value is iterative
 * (a counter per open container, at most that depth of them); descending a
 * format string recurses once per bracket level, bounded the same way. Every
 * path through it is total on arbitrary bytes, which tests/fuzz/fuzz-msg.c
 * checks.
 *
 * Choices actr/msg.h leaves open, made here:
 *  - Tabs and newlines are ignored in formats like spaces, ':' and ','.
 *  - A NULL output pointer given to an unpack letter is ACTR_EINVAL.
 *  - Unpacking a map: a key stored twice resolves to the first one; keys
 *    that are not strings are skipped; the whole map is validated first.
 *  - The DOWN/EXIT/REQFAIL readers accept extra trailing array elements, so
 *    those payloads can grow without breaking older readers.
 *
 * Ownership: string, binary and raw outputs of the unpack functions borrow
 * the payload and are valid as long as it is. Nothing here keeps state
 * between calls; all functions are safe on any thread.
 */
#include "pack.h"

#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "actr/errno.h"
#include "actr/msg.h"

#define MAX_DEPTH ACTR__MSGPACK_MAX_DEPTH

/* Kinds of msgpack values, as the reader reports them. Integers are
 * normalised: any non-negative one is K_UINT, any negative one K_NEG. */
enum { K_NIL, K_BOOL, K_UINT, K_NEG, K_FLOAT, K_STR, K_BIN, K_EXT, K_ARR, K_MAP };

typedef struct item {
    int kind;
    int8_t ext;          /* K_EXT: the extension type */
    uint32_t n;          /* K_STR/K_BIN/K_EXT: body bytes; K_ARR: elements; K_MAP: pairs */
    const uint8_t *body; /* K_STR/K_BIN/K_EXT */
    union {
        uint64_t u; /* K_UINT */
        int64_t i;  /* K_NEG */
        double f;   /* K_FLOAT (float32 widened) */
        bool b;     /* K_BOOL */
    } v;
} item_t;

/* A read position: [p, end) are the bytes not yet read. */
typedef struct cur {
    const uint8_t *p;
    const uint8_t *end;
} cur_t;

static inline uint64_t be_read(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned k = 0; k < n; k++)
        v = (v << 8) | p[k];
    return v;
}

/* Read the next value's header; for strings, binaries and extensions also
 * their body (checked to lie within the bytes left). For containers, only
 * the header is consumed, and their count is checked against the bytes left
 * (each element takes at least one byte), so absurd counts fail early.
 * Returns 0 or ACTR_EMSGPACK; never reads at or past c->end. */
static int read_item(cur_t *c, item_t *it)
{
    const uint8_t *p = c->p;
    size_t left = (size_t)(c->end - p);
    unsigned lb; /* bytes of the length/value field that follows the type byte */
    uint64_t n;
    uint8_t t;

    if (left == 0)
        return ACTR_EMSGPACK;
    t = *p++;
    left--;
    /* The fixed forms first: they are most of the traffic. */
    if (t < 0x80) {
        it->kind = K_UINT;
        it->v.u = t;
        c->p = p;
        return 0;
    }
    if (t >= 0xe0) {
        it->kind = K_NEG;
        it->v.i = (int8_t)t;
        c->p = p;
        return 0;
    }
    if (t < 0x90) {
        it->kind = K_MAP;
        n = t & 0x0fu;
        goto container;
    }
    if (t < 0xa0) {
        it->kind = K_ARR;
        n = t & 0x0fu;
        goto container;
    }
    if (t < 0xc0) {
        it->kind = K_STR;
        n = t & 0x1fu;
        goto body;
    }
    switch (t) {
    case 0xc0:
        it->kind = K_NIL;
        c->p = p;
        return 0;
    case 0xc2:
    case 0xc3:
        it->kind = K_BOOL;
        it->v.b = t == 0xc3;
        c->p = p;
        return 0;
    case 0xc4:
    case 0xc5:
    case 0xc6: /* bin 8/16/32 */
        it->kind = K_BIN;
        lb = 1u << (t - 0xc4);
        break;
    case 0xd9:
    case 0xda:
    case 0xdb: /* str 8/16/32 */
        it->kind = K_STR;
        lb = 1u << (t - 0xd9);
        break;
    case 0xc7:
    case 0xc8:
    case 0xc9: /* ext 8/16/32: length, then type */
        it->kind = K_EXT;
        lb = 1u << (t - 0xc7);
        if (left < lb + 1u)
            return ACTR_EMSGPACK;
        n = be_read(p, lb);
        it->ext = (int8_t)p[lb];
        p += lb + 1;
        left -= lb + 1;
        goto body;
    case 0xd4:
    case 0xd5:
    case 0xd6:
    case 0xd7:
    case 0xd8: /* fixext 1/2/4/8/16 */
        it->kind = K_EXT;
        if (left < 1)
            return ACTR_EMSGPACK;
        n = 1u << (t - 0xd4);
        it->ext = (int8_t)*p++;
        left--;
        goto body;
    case 0xca: /* float 32 */
    case 0xcb: /* float 64 */
        lb = t == 0xca ? 4 : 8;
        if (left < lb)
            return ACTR_EMSGPACK;
        n = be_read(p, lb);
        it->kind = K_FLOAT;
        if (lb == 4) {
            uint32_t w = (uint32_t)n;
            float fl;
            memcpy(&fl, &w, sizeof(fl));
            it->v.f = fl;
        } else {
            memcpy(&it->v.f, &n, sizeof(it->v.f));
        }
        c->p = p + lb;
        return 0;
    case 0xcc:
    case 0xcd:
    case 0xce:
    case 0xcf: /* uint 8/16/32/64 */
        lb = 1u << (t - 0xcc);
        if (left < lb)
            return ACTR_EMSGPACK;
        it->kind = K_UINT;
        it->v.u = be_read(p, lb);
        c->p = p + lb;
        return 0;
    case 0xd0:
    case 0xd1:
    case 0xd2:
    case 0xd3: { /* int 8/16/32/64 */
        unsigned bits;
        int64_t v;
        lb = 1u << (t - 0xd0);
        if (left < lb)
            return ACTR_EMSGPACK;
        n = be_read(p, lb);
        bits = lb * 8;
        /* Sign-extend without implementation-defined conversions. */
        if (bits < 64 && (n >> (bits - 1)) & 1u)
            v = -(int64_t)((1ull << bits) - n);
        else if (bits == 64 && (n >> 63))
            v = n == (1ull << 63) ? INT64_MIN : -(int64_t)(~n + 1);
        else
            v = (int64_t)n;
        if (v >= 0) {
            it->kind = K_UINT;
            it->v.u = (uint64_t)v;
        } else {
            it->kind = K_NEG;
            it->v.i = v;
        }
        c->p = p + lb;
        return 0;
    }
    case 0xdc:
    case 0xdd: /* array 16/32 */
        it->kind = K_ARR;
        lb = t == 0xdc ? 2 : 4;
        if (left < lb)
            return ACTR_EMSGPACK;
        n = be_read(p, lb);
        p += lb;
        left -= lb;
        goto container;
    case 0xde:
    case 0xdf: /* map 16/32 */
        it->kind = K_MAP;
        lb = t == 0xde ? 2 : 4;
        if (left < lb)
            return ACTR_EMSGPACK;
        n = be_read(p, lb);
        p += lb;
        left -= lb;
        goto container;
    default: /* 0xc1: never used */
        return ACTR_EMSGPACK;
    }
    /* bin and str with a length field */
    if (left < lb)
        return ACTR_EMSGPACK;
    n = be_read(p, lb);
    p += lb;
    left -= lb;
body:
    if (n > left)
        return ACTR_EMSGPACK;
    it->n = (uint32_t)n;
    it->body = p;
    c->p = p + n;
    return 0;
container:
    if ((it->kind == K_MAP ? 2 * n : n) > left)
        return ACTR_EMSGPACK;
    it->n = (uint32_t)n;
    c->p = p;
    return 0;
}

/* Skip one complete value, validating it. `depth` is the number of containers
 * around it; a container at depth MAX_DEPTH + 1 is malformed. Iterative: one
 * counter of values still to skip per open container. */
static int skip_value(cur_t *c, unsigned depth)
{
    uint64_t left[MAX_DEPTH];
    unsigned sp = 0;
    item_t it;
    int rc;

    for (;;) {
        rc = read_item(c, &it);
        if (rc)
            return rc;
        if (it.kind == K_ARR || it.kind == K_MAP) {
            uint64_t n = it.kind == K_MAP ? 2 * (uint64_t)it.n : it.n;
            if (depth + sp + 1 > MAX_DEPTH)
                return ACTR_EMSGPACK;
            if (n > 0) {
                left[sp++] = n;
                continue;
            }
        }
        /* A value is complete: close every container it completes. */
        for (;;) {
            if (sp == 0)
                return 0;
            if (--left[sp - 1] > 0)
                break;
            sp--;
        }
    }
}

int actr__msgpack_value_len(const void *data, size_t len, size_t *used)
{
    cur_t c;
    int rc;

    if (used == NULL || (data == NULL && len > 0))
        return ACTR_EINVAL;
    *used = 0;
    if (len == 0)
        return ACTR_EMSGPACK;
    c.p = data;
    c.end = c.p + len;
    rc = skip_value(&c, 0);
    if (rc == 0)
        *used = (size_t)(c.p - (const uint8_t *)data);
    return rc;
}

int actr_msgpack_check(const void *data, size_t len)
{
    cur_t c;

    if (data == NULL || len == 0)
        return ACTR_EMSGPACK;
    c.p = data;
    c.end = c.p + len;
    do {
        if (skip_value(&c, 0) != 0)
            return ACTR_EMSGPACK;
    } while (c.p < c.end);
    return 0;
}

/* ---- format-driven unpacking ------------------------------------------ */

typedef struct ufmt {
    const char *f; /* next format character */
    va_list *ap;
} ufmt_t;

/* The next significant format character (not consumed). */
static inline char fpeek(ufmt_t *F)
{
    for (;;) {
        char ch = *F->f;
        /* Every separator sorts at or below ':'; letters and brackets above. */
        if ((unsigned char)ch > ':' ||
            (ch != ' ' && ch != ':' && ch != ',' && ch != '\t' && ch != '\n' && ch != '\r'))
            return ch;
        F->f++;
    }
}

static int unpack_value(ufmt_t *F, cur_t *c, unsigned depth, bool dry);

/* Read an item that must be an integer (K_UINT or K_NEG), else ACTR_ETYPE. */
static int read_int(cur_t *c, item_t *it)
{
    int rc = read_item(c, it);
    if (rc)
        return rc;
    return it->kind == K_UINT || it->kind == K_NEG ? 0 : ACTR_ETYPE;
}

/* "[ ... ]": the '[' is consumed. */
static int unpack_array(ufmt_t *F, cur_t *c, unsigned depth, bool dry)
{
    uint32_t n = 0, k = 0;
    item_t it;
    int rc;

    if (!dry) {
        rc = read_item(c, &it);
        if (rc)
            return rc;
        if (it.kind != K_ARR)
            return ACTR_ETYPE;
        if (depth + 1 > MAX_DEPTH)
            return ACTR_EMSGPACK;
        n = it.n;
    } else if (depth + 1 > MAX_DEPTH) {
        return ACTR_EINVAL;
    }
    for (;;) {
        char ch = fpeek(F);
        if (ch == ']') {
            F->f++;
            return dry || k == n ? 0 : ACTR_ETYPE;
        }
        if (ch == '.') {
            if (F->f[1] != '.' || F->f[2] != '.')
                return ACTR_EINVAL;
            F->f += 3;
            if (fpeek(F) != ']')
                return ACTR_EINVAL;
            F->f++;
            for (; !dry && k < n; k++) {
                rc = skip_value(c, depth + 1);
                if (rc)
                    return rc;
            }
            return 0;
        }
        if (ch == '\0' || ch == '}')
            return ACTR_EINVAL;
        if (!dry && k == n)
            return ACTR_ETYPE; /* more format items than elements */
        rc = unpack_value(F, c, depth + 1, dry);
        if (rc)
            return rc;
        k++;
    }
}

/* Find the value of `key` among the n pairs of a map starting at `start`
 * (already validated up to `end`). Keys that are not strings never match; a
 * key stored twice: the first one wins. Returns 1 and *val, 0 when absent, or
 * a negative error. A linear scan: the maps of messages are small, and a
 * lookup that started after the previous match would make duplicate keys
 * resolve differently depending on the format. */
static int map_find(const uint8_t *start, const uint8_t *end, uint32_t n, const char *key,
                    unsigned depth, const uint8_t **val)
{
    size_t klen = strlen(key);
    cur_t c = {start, end};
    item_t it;
    int rc;

    for (uint32_t idx = 0; idx < n; idx++) {
        const uint8_t *kp = c.p;
        bool match;
        rc = read_item(&c, &it);
        if (rc)
            return rc;
        match = it.kind == K_STR && it.n == klen && memcmp(it.body, key, klen) == 0;
        if (it.kind == K_ARR || it.kind == K_MAP) {
            c.p = kp; /* a container key: skip it whole */
            rc = skip_value(&c, depth);
            if (rc)
                return rc;
        }
        if (match) {
            *val = c.p;
            return 1;
        }
        rc = skip_value(&c, depth);
        if (rc)
            return rc;
    }
    return 0;
}

/* "{ ... }": the '{' is consumed. */
static int unpack_map(ufmt_t *F, cur_t *c, unsigned depth, bool dry)
{
    const uint8_t *start = NULL, *end = NULL;
    uint32_t n = 0;
    item_t it;
    int rc;

    if (!dry) {
        rc = read_item(c, &it);
        if (rc)
            return rc;
        if (it.kind != K_MAP)
            return ACTR_ETYPE;
        if (depth + 1 > MAX_DEPTH)
            return ACTR_EMSGPACK;
        n = it.n;
        /* Validate the whole map and find its end before looking anything up. */
        start = c->p;
        for (uint64_t k = 0; k < 2 * (uint64_t)n; k++) {
            rc = skip_value(c, depth + 1);
            if (rc)
                return rc;
        }
        end = c->p;
    } else if (depth + 1 > MAX_DEPTH) {
        return ACTR_EINVAL;
    }
    for (;;) {
        const char *key;
        const uint8_t *val = NULL;
        bool opt = false;
        char ch = fpeek(F);

        if (ch == '}') {
            F->f++;
            return 0;
        }
        if (ch == '?') {
            opt = true;
            F->f++;
            ch = fpeek(F);
        }
        if (ch != 's')
            return ACTR_EINVAL;
        F->f++;
        key = va_arg(*F->ap, const char *);
        if (key == NULL)
            return ACTR_EINVAL;
        if (dry) {
            rc = unpack_value(F, NULL, depth + 1, true);
            if (rc)
                return rc;
            continue;
        }
        rc = map_find(start, end, n, key, depth + 1, &val);
        if (rc < 0)
            return rc;
        if (rc == 0) {
            if (!opt)
                return ACTR_ENOENT;
            /* Consume the value's arguments, leaving its outputs alone. */
            rc = unpack_value(F, NULL, depth + 1, true);
        } else {
            cur_t sub = {val, end};
            rc = unpack_value(F, &sub, depth + 1, false);
        }
        if (rc)
            return rc;
    }
}

/* Convert an integer item to the range [lo, hi] of a signed target. */
static int int_in(const item_t *it, int64_t lo, int64_t hi, int64_t *out)
{
    if (it->kind == K_UINT) {
        if (it->v.u > (uint64_t)hi)
            return ACTR_ERANGE;
        *out = (int64_t)it->v.u;
    } else {
        if (it->v.i < lo)
            return ACTR_ERANGE;
        *out = it->v.i;
    }
    return 0;
}

/* Read one value described by the next format item. With `dry`, read no
 * payload (c may be NULL) and only consume the item's arguments: the value of
 * an optional map key that is absent. `depth` is the number of containers
 * around the value. */
static int unpack_value(ufmt_t *F, cur_t *c, unsigned depth, bool dry)
{
    char ch = fpeek(F);
    item_t it;
    int rc;

    F->f++;
    switch (ch) {
    case 'n':
        if (dry)
            return 0;
        rc = read_item(c, &it);
        if (rc)
            return rc;
        return it.kind == K_NIL ? 0 : ACTR_ETYPE;
    case 'b': {
        bool *o = va_arg(*F->ap, bool *);
        if (dry)
            return 0;
        if (o == NULL)
            return ACTR_EINVAL;
        rc = read_item(c, &it);
        if (rc)
            return rc;
        if (it.kind != K_BOOL)
            return ACTR_ETYPE;
        *o = it.v.b;
        return 0;
    }
    case 'i': {
        int *o = va_arg(*F->ap, int *);
        int64_t v;
        if (dry)
            return 0;
        if (o == NULL)
            return ACTR_EINVAL;
        /* The hot path: a positive fixint. */
        if (c->p < c->end && *c->p < 0x80) {
            *o = *c->p++;
            return 0;
        }
        rc = read_int(c, &it);
        if (rc == 0)
            rc = int_in(&it, INT_MIN, INT_MAX, &v);
        if (rc)
            return rc;
        *o = (int)v;
        return 0;
    }
    case 'I': {
        int64_t *o = va_arg(*F->ap, int64_t *);
        if (dry)
            return 0;
        if (o == NULL)
            return ACTR_EINVAL;
        rc = read_int(c, &it);
        if (rc == 0)
            rc = int_in(&it, INT64_MIN, INT64_MAX, o);
        return rc;
    }
    case 'U': {
        uint64_t *o = va_arg(*F->ap, uint64_t *);
        if (dry)
            return 0;
        if (o == NULL)
            return ACTR_EINVAL;
        rc = read_int(c, &it);
        if (rc)
            return rc;
        if (it.kind == K_NEG)
            return ACTR_ERANGE;
        *o = it.v.u;
        return 0;
    }
    case 'f': {
        double *o = va_arg(*F->ap, double *);
        if (dry)
            return 0;
        if (o == NULL)
            return ACTR_EINVAL;
        rc = read_item(c, &it);
        if (rc)
            return rc;
        if (it.kind == K_FLOAT)
            *o = it.v.f;
        else if (it.kind == K_UINT)
            *o = (double)it.v.u;
        else if (it.kind == K_NEG)
            *o = (double)it.v.i;
        else
            return ACTR_ETYPE;
        return 0;
    }
    case 's': {
        const char **o = va_arg(*F->ap, const char **);
        size_t *on = va_arg(*F->ap, size_t *);
        if (dry)
            return 0;
        if (o == NULL || on == NULL)
            return ACTR_EINVAL;
        rc = read_item(c, &it);
        if (rc)
            return rc;
        if (it.kind != K_STR)
            return ACTR_ETYPE;
        *o = (const char *)it.body;
        *on = it.n;
        return 0;
    }
    case 'x': {
        const void **o = va_arg(*F->ap, const void **);
        size_t *on = va_arg(*F->ap, size_t *);
        if (dry)
            return 0;
        if (o == NULL || on == NULL)
            return ACTR_EINVAL;
        rc = read_item(c, &it);
        if (rc)
            return rc;
        if (it.kind != K_BIN)
            return ACTR_ETYPE;
        *o = it.body;
        *on = it.n;
        return 0;
    }
    case 'r': {
        actr_ref_t *o = va_arg(*F->ap, actr_ref_t *);
        if (dry)
            return 0;
        if (o == NULL)
            return ACTR_EINVAL;
        rc = read_item(c, &it);
        if (rc)
            return rc;
        if (it.kind != K_EXT || it.ext != 1 || it.n != 16)
            return ACTR_ETYPE;
        o->node = be_read(it.body, 8);
        o->slot = (uint32_t)be_read(it.body + 8, 4);
        o->gen = (uint32_t)be_read(it.body + 12, 4);
        return 0;
    }
    case '*': {
        const void **o = va_arg(*F->ap, const void **);
        size_t *on = va_arg(*F->ap, size_t *);
        const uint8_t *start;
        if (dry)
            return 0;
        if (o == NULL || on == NULL)
            return ACTR_EINVAL;
        start = c->p;
        rc = skip_value(c, depth);
        if (rc)
            return rc;
        *o = start;
        *on = (size_t)(c->p - start);
        return 0;
    }
    case '_':
        return dry ? 0 : skip_value(c, depth);
    case '[':
        return unpack_array(F, c, depth, dry);
    case '{':
        return unpack_map(F, c, depth, dry);
    default: /* unknown letter, a stray ']' '}' '?' '.', or the end of the format */
        return ACTR_EINVAL;
    }
}

/* ---- flat integer fast path ------------------------------------------ */

/* Flat integer formats ("i", "I", "U", or "[" up to 15 of them "]"; see
 * actr__flat_fmt in pack.h) are the commonest small payloads; they get a
 * direct decoder here, as they get a direct encoder in pack.c. */

/* Decode one msgpack integer at p (< end). Returns the bytes used, or 0 if it
 * is not an integer or is truncated. *neg says whether *v is a signed value. */
static size_t dec_int(const uint8_t *p, const uint8_t *end, uint64_t *v, int *neg)
{
    uint8_t b = p[0];
    *neg = 0;
    if (b < 0x80) {
        *v = b;
        return 1;
    }
    if (b >= 0xe0) {
        *v = (uint64_t)(int64_t)(int8_t)b;
        *neg = 1;
        return 1;
    }
    unsigned n;
    switch (b) {
    case 0xcc: case 0xd0: n = 1; break;
    case 0xcd: case 0xd1: n = 2; break;
    case 0xce: case 0xd2: n = 4; break;
    case 0xcf: case 0xd3: n = 8; break;
    default: return 0;
    }
    if ((size_t)(end - p) < 1 + n)
        return 0;
    uint64_t u = 0;
    for (unsigned i = 0; i < n; i++)
        u = (u << 8) | p[1 + i];
    if (b >= 0xd0) { /* signed: sign-extend */
        unsigned sh = 64 - 8 * n;
        u = sh ? (uint64_t)(((int64_t)(u << sh)) >> sh) : u;
        *neg = (int64_t)u < 0;
    }
    *v = u;
    return 1 + n;
}

/* Returns 1 and sets *rc when the fast path handled the unpack, 0 to fall back
 * to the general reader (which also produces the precise error). */
static int unpack_flat(const uint8_t *p, size_t len, const char *fmt, va_list *ap, int *rc)
{
    char letters[ACTR__FLAT_MAX];
    int array;
    unsigned n = actr__flat_fmt(fmt, letters, &array);
    if (n == 0 || len == 0)
        return 0;
    const uint8_t *end = p + len;
    if (array && *p++ != (uint8_t)(0x90 | n))
        return 0;
    uint64_t v[ACTR__FLAT_MAX];
    for (unsigned i = 0; i < n; i++) {
        int neg;
        size_t used = p < end ? dec_int(p, end, &v[i], &neg) : 0;
        if (used == 0)
            return 0;
        p += used;
        int64_t sv = (int64_t)v[i];
        if (letters[i] == 'i' ? (neg ? sv < INT32_MIN : v[i] > INT32_MAX)
                              : letters[i] == 'I' ? (!neg && v[i] > INT64_MAX) : neg)
            return 0;
    }
    if (p != end)
        return 0;
    for (unsigned i = 0; i < n; i++) {
        void *dst = va_arg(*ap, void *);
        if (dst == NULL)
            return 0;
        if (letters[i] == 'i')
            *(int *)dst = (int)(int64_t)v[i];
        else if (letters[i] == 'I')
            *(int64_t *)dst = (int64_t)v[i];
        else
            *(uint64_t *)dst = v[i];
    }
    *rc = 0;
    return 1;
}

static int unpack_ap(const void *data, size_t len, const char *fmt, va_list *ap)
{
    static const uint8_t empty[1];
    ufmt_t F;
    cur_t c;
    int rc;

    if (fmt == NULL || (data == NULL && len > 0))
        return ACTR_EINVAL;
    va_list fast;
    va_copy(fast, *ap);
    int handled = unpack_flat(data, len, fmt, &fast, &rc);
    va_end(fast);
    if (handled)
        return rc;
    c.p = data != NULL ? data : empty;
    c.end = c.p + len;
    F.f = fmt;
    F.ap = ap;
    while (fpeek(&F) != '\0') {
        rc = unpack_value(&F, &c, 0, false);
        if (rc)
            return rc;
    }
    return c.p == c.end ? 0 : ACTR_EMSGPACK; /* trailing bytes */
}

int actr_msg_unpack(const actr_msg_t *msg, const char *fmt, ...)
{
    const void *data;
    size_t len;
    va_list ap;
    int rc;

    if (msg == NULL)
        return ACTR_EINVAL;
    data = actr_msg_data(msg, &len);
    if (fmt != NULL && fmt[0] == 'i' && fmt[1] == '\0' && len == 1 &&
        ((const uint8_t *)data)[0] < 0x80) {
        /* fastest path: one positive fixint into an int (a counter, a token) */
        va_start(ap, fmt);
        int *out = va_arg(ap, int *);
        va_end(ap);
        if (out == NULL)
            return ACTR_EINVAL;
        *out = ((const uint8_t *)data)[0];
        return 0;
    }
    va_start(ap, fmt);
    rc = unpack_ap(data, len, fmt, &ap);
    va_end(ap);
    return rc;
}

int actr_unpack(const void *data, size_t len, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = unpack_ap(data, len, fmt, &ap);
    va_end(ap);
    return rc;
}

int actr_vunpack(const void *data, size_t len, const char *fmt, va_list ap)
{
    va_list cp;
    int rc;

    va_copy(cp, ap); /* see actr_msg_vpack in pack.c */
    rc = unpack_ap(data, len, fmt, &cp);
    va_end(cp);
    return rc;
}

/* ---- system payloads ---------------------------------------------------- */

/* The readers accept extra trailing elements ("...") so these payloads can
 * grow in later versions without breaking older readers. */

static int msg_unpack_internal(const actr_msg_t *msg, const char *fmt, ...)
{
    const void *data;
    size_t len;
    va_list ap;
    int rc;

    data = actr_msg_data(msg, &len);
    va_start(ap, fmt);
    rc = unpack_ap(data, len, fmt, &ap);
    va_end(ap);
    return rc;
}

int actr_msg_error(const actr_msg_t *msg)
{
    int code = 0;

    if (msg == NULL || actr_msg_type(msg) != ACTR_MSG_REQFAIL)
        return 0;
    if (msg_unpack_internal(msg, "[i...]", &code) != 0)
        return ACTR_EMSGPACK;
    return code;
}

int actr_msg_down(const actr_msg_t *msg, uint64_t *monitor_id, const char **reason,
                  size_t *reason_len)
{
    uint64_t id;
    const char *r;
    size_t rn;

    if (msg == NULL || actr_msg_type(msg) != ACTR_MSG_DOWN)
        return ACTR_EINVAL;
    if (msg_unpack_internal(msg, "[U s ...]", &id, &r, &rn) != 0)
        return ACTR_EINVAL;
    if (monitor_id != NULL)
        *monitor_id = id;
    if (reason != NULL)
        *reason = r;
    if (reason_len != NULL)
        *reason_len = rn;
    return 0;
}

int actr_msg_exit(const actr_msg_t *msg, const char **reason, size_t *reason_len)
{
    const char *r;
    size_t rn;

    if (msg == NULL || actr_msg_type(msg) != ACTR_MSG_EXIT)
        return ACTR_EINVAL;
    if (msg_unpack_internal(msg, "[s ...]", &r, &rn) != 0)
        return ACTR_EINVAL;
    if (reason != NULL)
        *reason = r;
    if (reason_len != NULL)
        *reason_len = rn;
    return 0;
}

/* pack.c — the writing side of the msgpack payloads: format-string builders
 * (actr_msg_pack, actr_msg_vpack, actr_pack) and the builders of the
 * runtime's own system payloads (DOWN, EXIT, REQFAIL; declared in pack.h).
 * The reading side — the bounded reader, actr_unpack & co. and the system
 * payload readers — is in unpack.c; the flat integer format parser both
 * fast paths share is in pack.h.
 *
 * Writing goes through msgpack-c's packer with our own write callback into a
 * "builder": a buffer that starts in a 256-byte array on the caller's stack,
 * so a small message costs no allocation besides the message itself, and
 * grows on the heap (doubling, bounded by ACTR_MSG_MAX_PAYLOAD) only for big
 * payloads. The finished bytes are copied once into the message.
 *
 * Arrays and maps must carry their element count in front, but the format is
 * read in one pass. So an opening bracket reserves one byte (the fixarray /
 * fixmap header, which covers up to 15 entries) and the closing bracket writes
 * the header there; only a container of 16 or more entries shifts its contents
 * by the 2 or 4 extra header bytes. The output is always the shortest encoding.
 *
 * Choices actr/msg.h leaves open, made here:
 *  - Tabs and newlines are ignored in formats like spaces, ':' and ','.
 *  - Format brackets nest at most ACTR__MSGPACK_MAX_DEPTH deep (ACTR_EINVAL),
 *    so everything packed can be read back.
 *  - actr_pack with a string or binary longer than ACTR_MSG_MAX_PAYLOAD stops
 *    at once with ACTR_E2BIG, and *len is then only a lower bound.
 *
 * Nothing here keeps state between calls; all functions are safe on any
 * thread.
 */
#include "pack.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack/pack.h>

#include "actr/errno.h"
#include "actr/msg.h"

#define MAX_DEPTH ACTR__MSGPACK_MAX_DEPTH

#define BUILD_STACK 256

enum {
    B_GROW,  /* storage grows on the heap up to ACTR_MSG_MAX_PAYLOAD */
    B_COUNT, /* storage is fixed (the caller's); past it, only count bytes */
};

typedef struct builder {
    uint8_t *buf; /* storage: stack[], a heap block (B_GROW) or the caller's buffer */
    size_t len;   /* bytes produced; in B_COUNT mode may exceed cap (then nothing more is stored) */
    size_t cap;   /* bytes of storage at buf */
    int err;      /* first hard error (ACTR_E2BIG, ACTR_ENOMEM); once set, writes fail */
    int mode;     /* B_GROW or B_COUNT */
    uint8_t stack[BUILD_STACK];
} builder_t;

static void b_init_grow(builder_t *b)
{
    b->buf = b->stack;
    b->len = 0;
    b->cap = sizeof(b->stack);
    b->err = 0;
    b->mode = B_GROW;
}

static void b_init_fixed(builder_t *b, void *buf, size_t cap)
{
    b->buf = buf;
    b->len = 0;
    b->cap = cap;
    b->err = 0;
    b->mode = B_COUNT;
}

static void b_free(builder_t *b)
{
    if (b->mode == B_GROW && b->buf != b->stack)
        free(b->buf);
}

/* Make room for `need` bytes in total (B_GROW). The size is checked against
 * the payload limit before anything is allocated. */
static int b_grow(builder_t *b, size_t need)
{
    size_t ncap;
    uint8_t *nb;

    if (need > ACTR_MSG_MAX_PAYLOAD)
        return b->err = ACTR_E2BIG;
    ncap = b->cap * 2;
    if (ncap < need)
        ncap = need;
    if (ncap > ACTR_MSG_MAX_PAYLOAD)
        ncap = ACTR_MSG_MAX_PAYLOAD;
    if (b->buf == b->stack) {
        nb = malloc(ncap);
        if (nb != NULL)
            memcpy(nb, b->buf, b->len);
    } else {
        nb = realloc(b->buf, ncap);
    }
    if (nb == NULL)
        return b->err = ACTR_ENOMEM;
    b->buf = nb;
    b->cap = ncap;
    return 0;
}

/* Whether `n` more bytes fit in the storage (false once a B_COUNT builder
 * has overflowed, since then len > cap). */
static inline bool b_fits(const builder_t *b, size_t n)
{
    return b->len <= b->cap && n <= b->cap - b->len;
}

/* Slow path of b_write: grow, or (B_COUNT) just count. */
static int b_spill(builder_t *b, const void *src, size_t n)
{
    if (b->err)
        return -1;
    if (b->mode == B_COUNT) {
        b->len += n;
        return 0;
    }
    if (b_grow(b, b->len + n))
        return -1;
    memcpy(b->buf + b->len, src, n);
    b->len += n;
    return 0;
}

/* The msgpack_packer write callback. Returns 0, or -1 with b->err set. */
static int b_write(void *data, const char *src, size_t n)
{
    builder_t *b = data;

    if (b_fits(b, n) && n > 0) {
        uint8_t *d = b->buf + b->len;
        b->len += n;
        if (n <= 9) {
            /* msgpack-c writes headers and scalars in pieces of at most 9
             * bytes: a short loop beats a call into memcpy. */
            for (size_t k = 0; k < n; k++)
                d[k] = (uint8_t)src[k];
        } else {
            memcpy(d, src, n);
        }
        return 0;
    }
    return n == 0 ? 0 : b_spill(b, src, n);
}

/* Copy a finished builder into a new message. */
static int b_emit(actr_ctx_t *ctx, uint32_t type, const builder_t *b, actr_msg_t **out)
{
    actr_msg_t *m;
    int rc = actr_msg_alloc(ctx, type, b->len, &m);

    if (rc != 0)
        return rc;
    if (b->len > 0)
        memcpy(actr_msg_buffer(m), b->buf, b->len);
    *out = m;
    return 0;
}

/* An open bracket of the format: where its reserved header byte is and how
 * many values it holds so far (keys and values both count, for maps). */
typedef struct frame {
    size_t start;
    uint32_t count;
    bool map;
} frame_t;

/* Write the header of a closed container over its reserved byte, widening the
 * reservation when the count needs a 3- or 5-byte header. */
static int close_frame(builder_t *b, const frame_t *fr)
{
    uint8_t hdr[5];
    size_t h, extra;
    uint32_t n = fr->count;

    if (fr->map) {
        if (n & 1u)
            return ACTR_EINVAL; /* a key without a value */
        n /= 2;
    }
    if (n < 16) {
        hdr[0] = (uint8_t)((fr->map ? 0x80u : 0x90u) | n);
        h = 1;
    } else if (n < 65536) {
        hdr[0] = fr->map ? 0xde : 0xdc;
        hdr[1] = (uint8_t)(n >> 8);
        hdr[2] = (uint8_t)n;
        h = 3;
    } else {
        hdr[0] = fr->map ? 0xdf : 0xdd;
        hdr[1] = (uint8_t)(n >> 24);
        hdr[2] = (uint8_t)(n >> 16);
        hdr[3] = (uint8_t)(n >> 8);
        hdr[4] = (uint8_t)n;
        h = 5;
    }
    extra = h - 1;
    if (extra > 0) {
        if (!b_fits(b, extra)) {
            if (b->mode == B_COUNT) {
                b->len += extra; /* overflowed: keep counting only */
                return 0;
            }
            if (b_grow(b, b->len + extra))
                return b->err;
        }
        memmove(b->buf + fr->start + h, b->buf + fr->start + 1, b->len - fr->start - 1);
        b->len += extra;
    }
    if (b->len <= b->cap)
        memcpy(b->buf + fr->start, hdr, h);
    return 0;
}

/* Pack a string or binary body of n bytes (header via msgpack-c). */
static int pack_body(msgpack_packer *pk, builder_t *b, const void *p, size_t n, bool bin)
{
    if (n > ACTR_MSG_MAX_PAYLOAD) {
        /* Also keeps n within the 32-bit length field. */
        b->len += n;
        b->err = ACTR_E2BIG;
        return -1;
    }
    if (bin) {
        if (msgpack_pack_bin(pk, n))
            return -1;
    } else if (msgpack_pack_str(pk, n)) {
        return -1;
    }
    return b_write(b, p, n);
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static int pack_ref(msgpack_packer *pk, actr_ref_t r)
{
    uint8_t body[16];

    put_be32(body, (uint32_t)(r.node >> 32));
    put_be32(body + 4, (uint32_t)r.node);
    put_be32(body + 8, r.slot);
    put_be32(body + 12, r.gen);
    if (msgpack_pack_ext(pk, 16, 1))
        return -1;
    return msgpack_pack_ext_body(pk, body, 16);
}

/* Run a pack format over `ap` into `b`. Returns 0 or an ACTR_E* code; the
 * builder keeps what was written so far either way. */
static int pack_fmt(builder_t *b, const char *fmt, va_list *ap)
{
    msgpack_packer pk;
    frame_t fr[MAX_DEPTH];
    unsigned sp = 0;
    int rc;

    msgpack_packer_init(&pk, b, b_write);
    for (const char *f = fmt;; f++) {
        switch (*f) {
        case '\0':
            return sp ? ACTR_EINVAL : b->err;
        case ' ':
        case ':':
        case ',':
        case '\t':
        case '\n':
        case '\r':
            continue;
        case 'n':
            rc = msgpack_pack_nil(&pk);
            break;
        case 'b':
            rc = va_arg(*ap, int) ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk);
            break;
        case 'i':
            rc = msgpack_pack_int(&pk, va_arg(*ap, int));
            break;
        case 'I':
            rc = msgpack_pack_int64(&pk, va_arg(*ap, int64_t));
            break;
        case 'U':
            rc = msgpack_pack_uint64(&pk, va_arg(*ap, uint64_t));
            break;
        case 'f':
            rc = msgpack_pack_double(&pk, va_arg(*ap, double));
            break;
        case 's': {
            const char *s = va_arg(*ap, const char *);
            if (s == NULL)
                return ACTR_EINVAL;
            rc = pack_body(&pk, b, s, strlen(s), false);
            break;
        }
        case 'S':
        case 'x': {
            const void *p = va_arg(*ap, const void *);
            size_t n = va_arg(*ap, size_t);
            if (p == NULL && n > 0)
                return ACTR_EINVAL;
            rc = pack_body(&pk, b, p, n, *f == 'x');
            break;
        }
        case 'r':
            rc = pack_ref(&pk, va_arg(*ap, actr_ref_t));
            break;
        case '*': {
            const void *p = va_arg(*ap, const void *);
            size_t n = va_arg(*ap, size_t), used;
            if (p == NULL && n > 0)
                return ACTR_EINVAL;
            if (actr__msgpack_value_len(p, n, &used) != 0 || used != n)
                return ACTR_EMSGPACK;
            rc = b_write(b, p, n);
            break;
        }
        case '[':
        case '{':
            if (sp == MAX_DEPTH)
                return ACTR_EINVAL;
            fr[sp].start = b->len;
            fr[sp].count = 0;
            fr[sp].map = *f == '{';
            sp++;
            /* Reserve the header byte; close_frame fills it in. */
            if (b_write(b, "", 1))
                return b->err;
            continue;
        case ']':
        case '}':
            if (sp == 0 || fr[sp - 1].map != (*f == '}'))
                return ACTR_EINVAL;
            sp--;
            rc = close_frame(b, &fr[sp]);
            if (rc)
                return rc;
            break;
        default:
            return ACTR_EINVAL;
        }
        if (rc)
            return b->err ? b->err : ACTR_ENOMEM;
        if (sp)
            fr[sp - 1].count++;
    }
}

static size_t enc_uint(uint8_t *p, uint64_t u)
{
    if (u < 128) {
        p[0] = (uint8_t)u;
        return 1;
    }
    unsigned n = u <= 0xff ? 1 : u <= 0xffff ? 2 : u <= 0xffffffffu ? 4 : 8;
    p[0] = n == 1 ? 0xcc : n == 2 ? 0xcd : n == 4 ? 0xce : 0xcf;
    for (unsigned i = 0; i < n; i++)
        p[1 + i] = (uint8_t)(u >> (8 * (n - 1 - i)));
    return 1 + n;
}

/* The shortest msgpack encoding of an integer; returns its length (<= 9). */
static size_t enc_int(uint8_t *p, int64_t v)
{
    if (v >= 0)
        return enc_uint(p, (uint64_t)v);
    if (v >= -32) {
        p[0] = (uint8_t)(int8_t)v;
        return 1;
    }
    unsigned n = v >= INT8_MIN ? 1 : v >= INT16_MIN ? 2 : v >= INT32_MIN ? 4 : 8;
    p[0] = n == 1 ? 0xd0 : n == 2 ? 0xd1 : n == 4 ? 0xd2 : 0xd3;
    uint64_t u = (uint64_t)v;
    for (unsigned i = 0; i < n; i++)
        p[1 + i] = (uint8_t)(u >> (8 * (n - 1 - i)));
    return 1 + n;
}

static int msg_pack_ap(actr_ctx_t *ctx, uint32_t type, actr_msg_t **out, const char *fmt,
                       va_list *ap)
{
    builder_t b;
    int rc;

    if (out == NULL)
        return ACTR_EINVAL;
    *out = NULL;
    if (fmt == NULL)
        return ACTR_EINVAL;
    char letters[ACTR__FLAT_MAX];
    int array;
    unsigned nl = actr__flat_fmt(fmt, letters, &array);
    if (nl > 0) {
        /* fast path: integers, alone or in a flat array */
        uint8_t tmp[1 + ACTR__FLAT_MAX * 9];
        size_t n = 0;
        if (array)
            tmp[n++] = (uint8_t)(0x90 | nl);
        for (unsigned i = 0; i < nl; i++) {
            if (letters[i] == 'i')
                n += enc_int(tmp + n, va_arg(*ap, int));
            else if (letters[i] == 'I')
                n += enc_int(tmp + n, va_arg(*ap, int64_t));
            else
                n += enc_uint(tmp + n, va_arg(*ap, uint64_t));
        }
        if ((rc = actr_msg_alloc(ctx, type, n, out)) == 0)
            memcpy(actr_msg_buffer(*out), tmp, n);
        return rc;
    }
    b_init_grow(&b);
    rc = pack_fmt(&b, fmt, ap);
    if (rc == 0)
        rc = b_emit(ctx, type, &b, out);
    b_free(&b);
    return rc;
}

int actr_msg_pack(actr_ctx_t *ctx, uint32_t type, actr_msg_t **out, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = msg_pack_ap(ctx, type, out, fmt, &ap);
    va_end(ap);
    return rc;
}

int actr_msg_vpack(actr_ctx_t *ctx, uint32_t type, actr_msg_t **out, const char *fmt, va_list ap)
{
    va_list cp;
    int rc;

    /* A va_list parameter may be an array type that decays to a pointer;
     * copy it into a real object so its address can be passed down. */
    va_copy(cp, ap);
    rc = msg_pack_ap(ctx, type, out, fmt, &cp);
    va_end(cp);
    return rc;
}

int actr_pack(void *buf, size_t cap, size_t *len, const char *fmt, ...)
{
    builder_t b;
    va_list ap;
    int rc;

    if (len == NULL)
        return ACTR_EINVAL;
    *len = 0;
    if (fmt == NULL || (buf == NULL && cap > 0))
        return ACTR_EINVAL;
    /* Written straight into the caller's buffer; past its end the builder only
     * counts, so E2BIG can report the size needed. */
    b_init_fixed(&b, buf, cap);
    va_start(ap, fmt);
    rc = pack_fmt(&b, fmt, &ap);
    va_end(ap);
    if (rc != 0 && rc != ACTR_E2BIG)
        return rc;
    *len = b.len;
    if (rc == 0 && b.len > cap)
        rc = ACTR_E2BIG;
    return rc;
}

/* ---- system payloads (pack.h) ---------------------------------------- */

static int pack_reason(msgpack_packer *pk, builder_t *b, const char *reason)
{
    return pack_body(pk, b, reason, strlen(reason), false);
}

int actr__pack_down(actr_ctx_t *ctx, uint64_t monitor_id, const char *reason, actr_msg_t **out)
{
    msgpack_packer pk;
    builder_t b;
    int rc;

    if (out == NULL || reason == NULL)
        return ACTR_EINVAL;
    b_init_grow(&b);
    msgpack_packer_init(&pk, &b, b_write);
    if (msgpack_pack_array(&pk, 2) || msgpack_pack_uint64(&pk, monitor_id) ||
        pack_reason(&pk, &b, reason))
        rc = b.err;
    else
        rc = b_emit(ctx, ACTR_MSG_DOWN, &b, out);
    b_free(&b);
    return rc;
}

int actr__pack_exit(actr_ctx_t *ctx, const char *reason, actr_msg_t **out)
{
    msgpack_packer pk;
    builder_t b;
    int rc;

    if (out == NULL || reason == NULL)
        return ACTR_EINVAL;
    b_init_grow(&b);
    msgpack_packer_init(&pk, &b, b_write);
    if (msgpack_pack_array(&pk, 1) || pack_reason(&pk, &b, reason))
        rc = b.err;
    else
        rc = b_emit(ctx, ACTR_MSG_EXIT, &b, out);
    b_free(&b);
    return rc;
}

int actr__pack_reqfail(actr_ctx_t *ctx, int code, actr_msg_t **out)
{
    msgpack_packer pk;
    builder_t b;

    if (out == NULL)
        return ACTR_EINVAL;
    b_init_grow(&b);
    msgpack_packer_init(&pk, &b, b_write);
    /* At most 6 bytes: always fits the stack storage. */
    if (msgpack_pack_array(&pk, 1) || msgpack_pack_int(&pk, code))
        return b.err;
    return b_emit(ctx, ACTR_MSG_REQFAIL, &b, out);
}

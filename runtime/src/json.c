/* json.c — conversion between JSON text and msgpack bytes (actr/control.h):
 * actr_msgpack_to_json and actr_json_to_msgpack, used by the control socket
 * to carry call arguments and replies.
 *
 * The mapping: objects <-> maps, arrays <-> arrays, strings <-> strings,
 * integers <-> integers (the full int64 and uint64 ranges), reals <-> float64
 * (a msgpack float32 is written with the fewest digits that read back to the
 * same float32), true/false/null <-> booleans and nil. Msgpack has values JSON
 * lacks; they become strings: binary "$bin:" + base64, ext "$ext:<type>:" +
 * base64, and both are turned back into binary and ext on the way in. A map
 * key that is not a string is written as a string holding its JSON text
 * (key 1 -> "1", key [1,2] -> "[1,2]"). NaN and the infinities become null.
 * A msgpack string that is not valid UTF-8 gets U+FFFD for each bad byte, so
 * the output is always valid JSON in valid UTF-8.
 *
 * msgpack -> JSON uses its own bounded reader and writer rather than jansson:
 * every length is checked against the bytes left before it is used, nesting
 * stops at ACTR__MSGPACK_MAX_DEPTH (ACTR_EMSGPACK), and the output is bounded
 * by MAX_OUT (ACTR_E2BIG): rendering a non-string key as text escapes it once
 * per level, which would otherwise let a small input double its size at every
 * level (a key's text is further bounded by MAX_KEY). Writing the numbers ourselves also keeps
 * uint64 values above INT64_MAX exact, which jansson's json_int_t cannot hold.
 *
 * JSON -> msgpack parses with jansson (JSON_DECODE_ANY, JSON_REJECT_DUPLICATES,
 * JSON_ALLOW_NUL), whose errors carry line:column, then packs the tree with
 * msgpack-c's packer. jansson refuses integers above INT64_MAX ("too big
 * integer"); so a pre-scan of the text finds such tokens (up to UINT64_MAX)
 * and, before parsing, overwrites each with a string of exactly the same
 * length, "\u0000" followed by the token's index. Lengths stay equal, so every
 * line:column jansson reports is still right, and a string that starts with
 * NUL can only be such a placeholder because the rewrite is done only when the
 * text contains no "\u0000" escape of its own (then the big integer stays an
 * error). The same pre-scan records where nesting first passes the depth
 * limit, so that error names its position too.
 *
 * Nothing here keeps state between calls; both functions are safe on any
 * thread. Memory returned is malloc'ed: free it with actr_free.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <msgpack.h>

#include "actr/control.h"
#include "actr/errno.h"
#include "pack.h"
#include "util.h"

#define MAX_DEPTH ACTR__MSGPACK_MAX_DEPTH
/* Largest JSON text produced from msgpack, and largest JSON text accepted. */
#define MAX_OUT (128u * 1024u * 1024u)
#define MAX_IN (128u * 1024u * 1024u)
/* Largest JSON text of a map key that is not a string. */
#define MAX_KEY (64u * 1024u)

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* ======================================================================
 * msgpack -> JSON
 * ====================================================================== */

/* An output buffer. `budget` is shared by a buffer and the temporary buffers
 * made for non-string keys inside it: it counts every byte written anywhere,
 * which bounds both memory and time. */
typedef struct jbuf {
    char *p;
    size_t len, cap;
    size_t *budget;
} jbuf_t;

static int jb_reserve(jbuf_t *b, size_t n)
{
    if (n > *b->budget)
        return ACTR_E2BIG;
    if (b->cap - b->len <= n) { /* keep room for a NUL terminator */
        size_t nc = b->cap ? b->cap : 256;
        while (nc - b->len <= n)
            nc *= 2;
        char *np = realloc(b->p, nc);
        if (np == NULL)
            return ACTR_ENOMEM;
        b->p = np;
        b->cap = nc;
    }
    return 0;
}

static int jb_put(jbuf_t *b, const void *s, size_t n)
{
    int rc = jb_reserve(b, n);
    if (rc != 0)
        return rc;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    *b->budget -= n;
    return 0;
}

static int jb_puts(jbuf_t *b, const char *s) { return jb_put(b, s, strlen(s)); }

static int jb_putc(jbuf_t *b, char c) { return jb_put(b, &c, 1); }

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0 if invalid
 * (overlong forms, surrogates and code points above U+10FFFF are invalid). */
static size_t utf8_seq(const uint8_t *s, size_t n)
{
    uint8_t c = s[0];
    if (c < 0x80)
        return 1;
    if (c < 0xC2)
        return 0;
    if (c < 0xE0)
        return n >= 2 && (s[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c < 0xF0) {
        if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
            return 0;
        if (c == 0xE0 && s[1] < 0xA0)
            return 0; /* overlong */
        if (c == 0xED && s[1] >= 0xA0)
            return 0; /* surrogate */
        return 3;
    }
    if (c < 0xF5) {
        if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80)
            return 0;
        if (c == 0xF0 && s[1] < 0x90)
            return 0; /* overlong */
        if (c == 0xF4 && s[1] >= 0x90)
            return 0; /* above U+10FFFF */
        return 4;
    }
    return 0;
}

/* Append `n` bytes as a JSON string literal (quotes included), escaping what
 * JSON requires and replacing invalid UTF-8 with U+FFFD. */
static int jb_string(jbuf_t *b, const void *data, size_t n)
{
    const uint8_t *s = data;
    size_t i = 0, run = 0;
    int rc = jb_putc(b, '"');
    while (rc == 0 && i < n) {
        uint8_t c = s[i];
        size_t k = utf8_seq(s + i, n - i);
        if (k > 0 && c >= 0x20 && c != '"' && c != '\\') {
            i += k;
            run += k;
            continue;
        }
        /* flush the plain run before the byte that needs care */
        rc = jb_put(b, s + i - run, run);
        run = 0;
        if (rc != 0)
            break;
        if (k == 0) {
            rc = jb_puts(b, "\xEF\xBF\xBD");
        } else {
            char esc[8];
            switch (c) {
            case '"':
                rc = jb_puts(b, "\\\"");
                break;
            case '\\':
                rc = jb_puts(b, "\\\\");
                break;
            case '\n':
                rc = jb_puts(b, "\\n");
                break;
            case '\r':
                rc = jb_puts(b, "\\r");
                break;
            case '\t':
                rc = jb_puts(b, "\\t");
                break;
            case '\b':
                rc = jb_puts(b, "\\b");
                break;
            case '\f':
                rc = jb_puts(b, "\\f");
                break;
            default:
                snprintf(esc, sizeof(esc), "\\u%04x", (unsigned)c);
                rc = jb_puts(b, esc);
            }
        }
        i++;
    }
    if (rc == 0)
        rc = jb_put(b, s + i - run, run);
    return rc == 0 ? jb_putc(b, '"') : rc;
}

/* Append base64 of n bytes (standard alphabet, padded). */
static int jb_base64(jbuf_t *b, const uint8_t *s, size_t n)
{
    int rc = jb_reserve(b, (n + 2) / 3 * 4);
    for (size_t i = 0; rc == 0 && i < n; i += 3) {
        uint32_t v = (uint32_t)s[i] << 16;
        size_t left = n - i;
        char q[4];
        if (left > 1)
            v |= (uint32_t)s[i + 1] << 8;
        if (left > 2)
            v |= s[i + 2];
        q[0] = b64chars[(v >> 18) & 63];
        q[1] = b64chars[(v >> 12) & 63];
        q[2] = left > 1 ? b64chars[(v >> 6) & 63] : '=';
        q[3] = left > 2 ? b64chars[v & 63] : '=';
        rc = jb_put(b, q, 4);
    }
    return rc;
}

/* Format a double with the fewest digits that read back to the same value
 * (as a float when `single`), always looking like a real ("1.0", not "1"). */
static void fmt_real(char *out, size_t cap, double d, bool single)
{
    int prec = single ? 6 : 15, max = single ? 9 : 17;
    for (; prec <= max; prec++) {
        snprintf(out, cap, "%.*g", prec, d);
        if (single ? strtof(out, NULL) == (float)d : strtod(out, NULL) == d)
            break;
    }
    if (strpbrk(out, ".eE") == NULL) {
        size_t l = strlen(out);
        if (l + 3 <= cap)
            memcpy(out + l, ".0", 3);
    }
}

/* A bounded cursor over the msgpack input. */
typedef struct rd {
    const uint8_t *p, *end;
} rd_t;

static int rd_take(rd_t *r, size_t n, const uint8_t **out)
{
    if ((size_t)(r->end - r->p) < n)
        return ACTR_EMSGPACK;
    *out = r->p;
    r->p += n;
    return 0;
}

static uint64_t be(const uint8_t *s, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | s[i];
    return v;
}

/* Read a big-endian unsigned of n bytes (1, 2, 4 or 8). */
static int rd_uint(rd_t *r, size_t n, uint64_t *v)
{
    const uint8_t *s;
    int rc = rd_take(r, n, &s);
    if (rc == 0)
        *v = be(s, n);
    return rc;
}

static int emit(rd_t *r, jbuf_t *b, int depth);

/* A map key: strings as they are, anything else as a string of its JSON
 * text (binary and ext without the quotes their rendering carries). */
static int emit_key(rd_t *r, jbuf_t *b, int depth)
{
    uint8_t c;
    if (r->p >= r->end)
        return ACTR_EMSGPACK;
    c = *r->p;
    if ((c >= 0xa0 && c <= 0xbf) || (c >= 0xd9 && c <= 0xdb))
        return emit(r, b, depth);
    /* a key's text is bounded on its own (MAX_KEY), and counts against the
     * whole output's budget too */
    size_t kb = *b->budget < MAX_KEY ? *b->budget : MAX_KEY, kb0 = kb;
    jbuf_t tmp = {NULL, 0, 0, &kb};
    int rc = emit(r, &tmp, depth);
    *b->budget -= kb0 - kb;
    if (rc == 0) {
        if (tmp.len >= 2 && tmp.p[0] == '"')
            rc = jb_put(b, tmp.p, tmp.len); /* already a string ($bin:, $ext:) */
        else
            rc = jb_string(b, tmp.p, tmp.len);
    }
    free(tmp.p);
    return rc;
}

static int emit_ext(rd_t *r, jbuf_t *b, size_t n)
{
    const uint8_t *s;
    char head[24];
    int rc = rd_take(r, 1, &s);
    if (rc != 0)
        return rc;
    snprintf(head, sizeof(head), "\"$ext:%d:", (int)(int8_t)s[0]);
    if ((rc = rd_take(r, n, &s)) != 0 || (rc = jb_puts(b, head)) != 0 ||
        (rc = jb_base64(b, s, n)) != 0)
        return rc;
    return jb_putc(b, '"');
}

/* Write the JSON of the next value; `depth` containers enclose it. */
static int emit(rd_t *r, jbuf_t *b, int depth)
{
    const uint8_t *s;
    uint64_t n = 0;
    char num[40];
    int rc = rd_take(r, 1, &s);
    if (rc != 0)
        return rc;
    uint8_t c = s[0];

    if (c <= 0x7f || c >= 0xe0) {
        snprintf(num, sizeof(num), "%d", (int)(int8_t)c);
        return jb_puts(b, num);
    }
    if (c >= 0xa0 && c <= 0xbf) {
        n = c & 0x1f;
        goto str;
    }
    if (c >= 0x90 && c <= 0x9f) {
        n = c & 0x0f;
        goto array;
    }
    if (c >= 0x80 && c <= 0x8f) {
        n = c & 0x0f;
        goto map;
    }
    switch (c) {
    case 0xc0:
        return jb_puts(b, "null");
    case 0xc2:
        return jb_puts(b, "false");
    case 0xc3:
        return jb_puts(b, "true");
    case 0xc4:
    case 0xc5:
    case 0xc6:
        if ((rc = rd_uint(r, (size_t)1 << (c - 0xc4), &n)) != 0)
            return rc;
        if ((rc = rd_take(r, (size_t)n, &s)) != 0 || (rc = jb_puts(b, "\"$bin:")) != 0 ||
            (rc = jb_base64(b, s, (size_t)n)) != 0)
            return rc;
        return jb_putc(b, '"');
    case 0xc7:
    case 0xc8:
    case 0xc9:
        if ((rc = rd_uint(r, (size_t)1 << (c - 0xc7), &n)) != 0)
            return rc;
        return emit_ext(r, b, (size_t)n);
    case 0xca: {
        uint32_t bits;
        float f;
        if ((rc = rd_uint(r, 4, &n)) != 0)
            return rc;
        bits = (uint32_t)n;
        memcpy(&f, &bits, sizeof(f));
        if (!isfinite(f))
            return jb_puts(b, "null");
        fmt_real(num, sizeof(num), f, true);
        return jb_puts(b, num);
    }
    case 0xcb: {
        double d;
        if ((rc = rd_uint(r, 8, &n)) != 0)
            return rc;
        memcpy(&d, &n, sizeof(d));
        if (!isfinite(d))
            return jb_puts(b, "null");
        fmt_real(num, sizeof(num), d, false);
        return jb_puts(b, num);
    }
    case 0xcc:
    case 0xcd:
    case 0xce:
    case 0xcf:
        if ((rc = rd_uint(r, (size_t)1 << (c - 0xcc), &n)) != 0)
            return rc;
        snprintf(num, sizeof(num), "%" PRIu64, n);
        return jb_puts(b, num);
    case 0xd0:
    case 0xd1:
    case 0xd2:
    case 0xd3: {
        size_t w = (size_t)1 << (c - 0xd0);
        int64_t v;
        if ((rc = rd_uint(r, w, &n)) != 0)
            return rc;
        if (w < 8 && (n >> (w * 8 - 1)) & 1)
            n |= ~(uint64_t)0 << (w * 8); /* sign-extend */
        memcpy(&v, &n, sizeof(v));
        snprintf(num, sizeof(num), "%" PRId64, v);
        return jb_puts(b, num);
    }
    case 0xd4:
    case 0xd5:
    case 0xd6:
    case 0xd7:
    case 0xd8:
        return emit_ext(r, b, (size_t)1 << (c - 0xd4));
    case 0xd9:
    case 0xda:
    case 0xdb:
        if ((rc = rd_uint(r, (size_t)1 << (c - 0xd9), &n)) != 0)
            return rc;
        goto str;
    case 0xdc:
    case 0xdd:
        if ((rc = rd_uint(r, (size_t)2 << (c - 0xdc), &n)) != 0)
            return rc;
        goto array;
    case 0xde:
    case 0xdf:
        if ((rc = rd_uint(r, (size_t)2 << (c - 0xde), &n)) != 0)
            return rc;
        goto map;
    default: /* 0xc1: never used */
        return ACTR_EMSGPACK;
    }

str:
    if ((rc = rd_take(r, (size_t)n, &s)) != 0)
        return rc;
    return jb_string(b, s, (size_t)n);

array:
    /* every element takes at least one byte: reject impossible counts early */
    if (depth >= MAX_DEPTH || n > (uint64_t)(r->end - r->p))
        return ACTR_EMSGPACK;
    if ((rc = jb_putc(b, '[')) != 0)
        return rc;
    for (uint64_t i = 0; i < n; i++) {
        if ((i > 0 && (rc = jb_putc(b, ',')) != 0) || (rc = emit(r, b, depth + 1)) != 0)
            return rc;
    }
    return jb_putc(b, ']');

map:
    if (depth >= MAX_DEPTH || n > (uint64_t)(r->end - r->p) / 2)
        return ACTR_EMSGPACK;
    if ((rc = jb_putc(b, '{')) != 0)
        return rc;
    for (uint64_t i = 0; i < n; i++) {
        if ((i > 0 && (rc = jb_putc(b, ',')) != 0) || (rc = emit_key(r, b, depth + 1)) != 0 ||
            (rc = jb_putc(b, ':')) != 0 || (rc = emit(r, b, depth + 1)) != 0)
            return rc;
    }
    return jb_putc(b, '}');
}

int actr_msgpack_to_json(const void *data, size_t len, char **json)
{
    if (json == NULL)
        return ACTR_EINVAL;
    *json = NULL;
    if (data == NULL && len > 0)
        return ACTR_EINVAL;
    size_t budget = MAX_OUT;
    jbuf_t b = {NULL, 0, 0, &budget};
    rd_t r = {data, (const uint8_t *)data + len};
    int rc = len == 0 ? ACTR_EMSGPACK : emit(&r, &b, 0);
    if (rc == 0 && r.p != r.end)
        rc = ACTR_EMSGPACK; /* trailing bytes: not exactly one value */
    if (rc == 0)
        rc = jb_reserve(&b, 0);
    if (rc != 0) {
        free(b.p);
        return rc;
    }
    b.p[b.len] = '\0';
    *json = b.p;
    return 0;
}

/* ======================================================================
 * JSON -> msgpack
 * ====================================================================== */

/* One integer token above INT64_MAX found by the pre-scan. */
typedef struct bigint {
    size_t off, len;
    uint64_t value;
} bigint_t;

typedef struct scan {
    bigint_t *big;
    size_t nbig, capbig;
    bool has_nul;    /* the text has a "\u0000" escape of its own */
    size_t deep_off; /* offset of the first bracket past MAX_DEPTH, or SIZE_MAX */
} scan_t;

static bool num_char(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.' ||
           c == '+' || c == '-' || c == '_';
}

/* Walk the text as jansson's lexer would (strings, brackets, number tokens),
 * recording big unsigned integer tokens, "\u0000" escapes and the first
 * bracket nested too deep. On text jansson accepts, this sees exactly its
 * tokens; on other text the result does not matter, jansson fails anyway. */
static int prescan(const char *s, size_t n, scan_t *sc)
{
    size_t i = 0;
    long depth = 0;
    sc->deep_off = SIZE_MAX;
    while (i < n) {
        char c = s[i];
        if (c == '"') {
            for (i++; i < n && s[i] != '"'; i++) {
                if (s[i] == '\\' && i + 1 < n) {
                    if (s[i + 1] == 'u' && i + 5 < n && memcmp(s + i + 2, "0000", 4) == 0)
                        sc->has_nul = true;
                    i++;
                }
            }
            i++;
        } else if (c == '[' || c == '{') {
            if (++depth > MAX_DEPTH && sc->deep_off == SIZE_MAX)
                sc->deep_off = i;
            i++;
        } else if (c == ']' || c == '}') {
            depth--;
            i++;
        } else if (c >= '0' && c <= '9') {
            size_t j = i;
            uint64_t v = 0;
            bool over = false;
            while (j < n && s[j] >= '0' && s[j] <= '9') {
                unsigned d = (unsigned)(s[j] - '0');
                if (v > (UINT64_MAX - d) / 10)
                    over = true;
                else
                    v = v * 10 + d;
                j++;
            }
            bool alone = (i == 0 || strchr(" \t\r\n[,:", s[i - 1]) != NULL) &&
                         (j == n || !num_char(s[j])) && s[i] != '0';
            if (alone && !over && v > (uint64_t)INT64_MAX) {
                if (sc->nbig == sc->capbig) {
                    size_t nc = sc->capbig ? sc->capbig * 2 : 8;
                    bigint_t *nb = realloc(sc->big, nc * sizeof(*nb));
                    if (nb == NULL)
                        return ACTR_ENOMEM;
                    sc->big = nb;
                    sc->capbig = nc;
                }
                sc->big[sc->nbig++] = (bigint_t){i, j - i, v};
            }
            /* skip the rest of the token (fraction, exponent, junk) */
            while (j < n && num_char(s[j]))
                j++;
            i = j;
        } else {
            i++;
        }
    }
    return 0;
}

/* line:column (1-based; columns count characters as jansson does) of offset. */
static void position(const char *s, size_t off, int *line, int *col)
{
    int l = 1, c = 0;
    for (size_t i = 0; i <= off && s[i] != '\0'; i++) {
        if (s[i] == '\n') {
            l++;
            c = 0;
        } else if (((uint8_t)s[i] & 0xC0) != 0x80) {
            c++;
        }
    }
    *line = l;
    *col = c;
}


static int b64val(char c)
{
    const char *p = c != '\0' ? strchr(b64chars, c) : NULL;
    return p ? (int)(p - b64chars) : -1;
}

/* Decode base64 (padding optional; nothing else allowed) into a new block. */
static int base64_decode(const char *s, size_t n, uint8_t **out, size_t *outlen)
{
    if (n % 4 == 0 && n > 0 && s[n - 1] == '=') {
        n--;
        if (s[n - 1] == '=')
            n--;
    }
    if (n % 4 == 1)
        return ACTR_EINVAL;
    uint8_t *o = malloc(n / 4 * 3 + 3);
    size_t k = 0;
    if (o == NULL)
        return ACTR_ENOMEM;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64val(s[i]);
        if (v < 0) {
            free(o);
            return ACTR_EINVAL;
        }
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            o[k++] = (uint8_t)(acc >> bits);
        }
    }
    *out = o;
    *outlen = k;
    return 0;
}

typedef struct packctx {
    msgpack_packer pk;
    msgpack_sbuffer sb;
    const char *text;
    const scan_t *sc;
    actr_error_t *err;
} packctx_t;

/* A string value: placeholders become their integer, "$bin:" and "$ext:"
 * strings binary and ext, anything else stays a string. */
static int pack_string(packctx_t *pc, const char *s, size_t n)
{
    msgpack_packer *pk = &pc->pk;
    if (pc->sc->nbig > 0 && n > 0 && s[0] == '\0') {
        size_t idx = (size_t)strtoull(s + 1, NULL, 10);
        if (idx < pc->sc->nbig)
            return msgpack_pack_uint64(pk, pc->sc->big[idx].value) == 0 ? 0 : ACTR_ENOMEM;
    }
    if (n >= 5 && (memcmp(s, "$bin:", 5) == 0 || memcmp(s, "$ext:", 5) == 0)) {
        const char *p = s + 5, *end = s + n;
        long type = 0;
        bool ext = s[1] == 'e';
        if (ext) {
            char *colon = memchr(p, ':', (size_t)(end - p)), tbuf[8];
            size_t tl = colon ? (size_t)(colon - p) : 0;
            char *tend = NULL;
            if (tl > 0 && tl < sizeof(tbuf) && (p[0] == '-' || (p[0] >= '0' && p[0] <= '9'))) {
                memcpy(tbuf, p, tl);
                tbuf[tl] = '\0';
                type = strtol(tbuf, &tend, 10);
            }
            if (tend == NULL || *tend != '\0' || type < -128 || type > 127)
                return actr__fail_at(pc->err, ACTR_EINVAL, 0, 0,
                            "string \"%.40s\" starts with \"$ext:\" but has no type "
                            "-128..127 and ':' after it",
                            s);
            p = colon + 1;
        }
        uint8_t *bytes = NULL;
        size_t blen = 0;
        int rc = base64_decode(p, (size_t)(end - p), &bytes, &blen);
        if (rc == ACTR_EINVAL)
            return actr__fail_at(pc->err, ACTR_EINVAL, 0, 0,
                        "string \"%.40s%s\" starts with \"%.5s\" but the rest is not base64", s,
                        n > 40 ? "..." : "", s);
        if (rc != 0)
            return rc;
        if (ext)
            rc = msgpack_pack_ext(pk, blen, (int8_t)type) || msgpack_pack_ext_body(pk, bytes, blen);
        else
            rc = msgpack_pack_bin(pk, blen) || msgpack_pack_bin_body(pk, bytes, blen);
        free(bytes);
        return rc == 0 ? 0 : ACTR_ENOMEM;
    }
    return msgpack_pack_str(pk, n) == 0 && msgpack_pack_str_body(pk, s, n) == 0 ? 0 : ACTR_ENOMEM;
}

static int pack_json(packctx_t *pc, json_t *v, int depth)
{
    msgpack_packer *pk = &pc->pk;
    int rc = 0;
    if (pc->sb.size > ACTR_MSG_MAX_PAYLOAD)
        return actr__fail_at(pc->err, ACTR_EINVAL, 0, 0, "JSON value converts to more than %u bytes",
                    ACTR_MSG_MAX_PAYLOAD);
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *key;
        size_t kl;
        json_t *val;
        if (depth >= MAX_DEPTH)
            return actr__fail_at(pc->err, ACTR_EINVAL, 0, 0, "JSON nests deeper than %d levels", MAX_DEPTH);
        if (msgpack_pack_map(pk, json_object_size(v)) != 0)
            return ACTR_ENOMEM;
        /* keys may hold NUL (JSON_ALLOW_NUL): take their real length */
        json_object_keylen_foreach(v, key, kl, val)
        {
            if (pc->sc->nbig > 0 && kl > 0 && key[0] == '\0') {
                size_t idx = (size_t)strtoull(key + 1, NULL, 10);
                if (idx < pc->sc->nbig) {
                    int line, col;
                    position(pc->text, pc->sc->big[idx].off, &line, &col);
                    return actr__fail_at(pc->err, ACTR_EINVAL, line, col,
                                "JSON error at %d:%d: string or '}' expected", line, col);
                }
            }
            if (msgpack_pack_str(pk, kl) != 0 || msgpack_pack_str_body(pk, key, kl) != 0)
                return ACTR_ENOMEM;
            if ((rc = pack_json(pc, val, depth + 1)) != 0)
                return rc;
        }
        return 0;
    }
    case JSON_ARRAY: {
        if (depth >= MAX_DEPTH)
            return actr__fail_at(pc->err, ACTR_EINVAL, 0, 0, "JSON nests deeper than %d levels", MAX_DEPTH);
        size_t n = json_array_size(v);
        if (msgpack_pack_array(pk, n) != 0)
            return ACTR_ENOMEM;
        for (size_t i = 0; i < n; i++)
            if ((rc = pack_json(pc, json_array_get(v, i), depth + 1)) != 0)
                return rc;
        return 0;
    }
    case JSON_STRING:
        return pack_string(pc, json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        rc = msgpack_pack_int64(pk, (int64_t)json_integer_value(v));
        break;
    case JSON_REAL:
        rc = msgpack_pack_double(pk, json_real_value(v));
        break;
    case JSON_TRUE:
        rc = msgpack_pack_true(pk);
        break;
    case JSON_FALSE:
        rc = msgpack_pack_false(pk);
        break;
    case JSON_NULL:
        rc = msgpack_pack_nil(pk);
        break;
    }
    return rc == 0 ? 0 : ACTR_ENOMEM;
}

int actr_json_to_msgpack(const char *json, void **data, size_t *len, actr_error_t *err)
{
    if (err != NULL)
        memset(err, 0, sizeof(*err));
    if (data == NULL || len == NULL || json == NULL) {
        if (data != NULL)
            *data = NULL;
        if (len != NULL)
            *len = 0;
        return actr__fail_at(err, ACTR_EINVAL, 0, 0, "no JSON text or no output given");
    }
    *data = NULL;
    *len = 0;
    size_t n = strlen(json);
    if (n > MAX_IN)
        return actr__fail_at(err, ACTR_EINVAL, 0, 0, "JSON text of %zu bytes is over the limit of %u", n,
                    MAX_IN);

    scan_t sc = {0};
    int rc = prescan(json, n, &sc);
    char *copy = NULL;
    const char *text = json;
    if (rc == 0 && sc.nbig > 0 && !sc.has_nul) {
        copy = malloc(n + 1);
        if (copy == NULL) {
            rc = ACTR_ENOMEM;
        } else {
            memcpy(copy, json, n + 1);
            for (size_t k = 0; k < sc.nbig; k++) {
                /* token lengths are 19 or 20: "\u0000" + index + quotes fit */
                char ph[24];
                size_t digits = sc.big[k].len - 8;
                snprintf(ph, sizeof(ph), "\"\\u0000%0*zu\"", (int)digits, k);
                memcpy(copy + sc.big[k].off, ph, sc.big[k].len);
            }
            text = copy;
        }
    } else if (sc.has_nul) {
        sc.nbig = 0; /* no placeholders: strings starting with NUL are the user's */
    }
    if (rc != 0) {
        free(sc.big);
        return actr__fail_at(err, rc, 0, 0, "out of memory converting JSON");
    }

    json_error_t je;
    const size_t flags = JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL;
    json_t *root = json_loadb(text, n, flags, &je);
    free(copy);
    if (root == NULL && text != json) {
        /* An error on a placeholder (e.g. one used as an object key) must not
         * show the placeholder: report what the original text gives there. */
        for (size_t k = 0; k < sc.nbig; k++) {
            if ((size_t)je.position > sc.big[k].off &&
                (size_t)je.position <= sc.big[k].off + sc.big[k].len + 1) {
                json_t *again = json_loadb(json, n, flags, &je);
                json_decref(again); /* NULL: the big integer cannot parse */
                break;
            }
        }
    }
    if (root == NULL) {
        free(sc.big);
        if (json_error_code(&je) == json_error_out_of_memory)
            return actr__fail_at(err, ACTR_ENOMEM, 0, 0, "out of memory parsing JSON");
        return actr__fail_at(err, ACTR_EINVAL, je.line, je.column, "JSON error at %d:%d: %s", je.line,
                    je.column, je.text);
    }
    if (sc.deep_off != SIZE_MAX) {
        int line, col;
        position(json, sc.deep_off, &line, &col);
        json_decref(root);
        free(sc.big);
        return actr__fail_at(err, ACTR_EINVAL, line, col,
                    "JSON error at %d:%d: nested deeper than %d levels", line, col, MAX_DEPTH);
    }

    packctx_t pc;
    msgpack_sbuffer_init(&pc.sb);
    msgpack_packer_init(&pc.pk, &pc.sb, msgpack_sbuffer_write);
    pc.text = json;
    pc.sc = &sc;
    pc.err = err;
    rc = pack_json(&pc, root, 0);
    if (rc == 0 && pc.sb.size > ACTR_MSG_MAX_PAYLOAD)
        rc = actr__fail_at(err, ACTR_EINVAL, 0, 0, "JSON value converts to more than %u bytes",
                  ACTR_MSG_MAX_PAYLOAD);
    json_decref(root);
    free(sc.big);
    if (rc != 0) {
        msgpack_sbuffer_destroy(&pc.sb);
        if (rc == ACTR_ENOMEM)
            return actr__fail_at(err, rc, 0, 0, "out of memory converting JSON");
        return rc;
    }
    *data = pc.sb.data;
    *len = pc.sb.size;
    return 0;
}

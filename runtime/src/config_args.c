/* config_args.c — an `args` value of runtime.yaml as msgpack: the YAML
 * value (scalar, list or mapping, read from the event stream of
 * config_yaml.c) becomes the init args of an actor.
 *
 *  - Mappings become maps, lists arrays. Plain scalars are typed by YAML's
 *    core schema: null/~/empty -> nil, true/false -> bool, integers (decimal,
 *    0x hex, 0o octal, signed) -> int, floats (with '.', exponent, .inf,
 *    .nan) -> float64, anything else -> string. Quoted scalars and ones
 *    tagged !!str are strings. ${VAR} substitution comes first (values only,
 *    not keys). (A null `args` as a whole means no args: config.c stores
 *    NULL/0 for it without coming here.)
 *  - Recursive, one level per container, at most ACTR__CONF_MAX_DEPTH deep.
 *    It writes into one growing buffer bounded by ACTR__CONF_MAX_ARGS: a
 *    container's elements are written first and its header (whose size
 *    depends on the element count) is inserted in front afterwards, so the
 *    output is the shortest msgpack encoding.
 *  - A map's keys are compared after packing (sorted by their msgpack bytes),
 *    so `1: a` and `0x1: b` are one key twice, and `1` and `"1"` are two keys.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_int.h"

#define YAML_STR_TAG "tag:yaml.org,2002:str"

static char fold(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c; }

typedef struct abuf {
    unsigned char *d;
    size_t len, cap;
} abuf_t;

static int ab_reserve(actr__conf_parser_t *p, abuf_t *b, size_t n, const yaml_mark_t *m)
{
    if (n > ACTR__CONF_MAX_ARGS - b->len)
        return actr__conf_fail(p, m, "args are larger than %u bytes as msgpack",
                               ACTR__CONF_MAX_ARGS);
    if (b->len + n <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + n)
        cap *= 2;
    unsigned char *nd = realloc(b->d, cap);
    if (nd == NULL)
        return actr__conf_nomem(p);
    b->d = nd;
    b->cap = cap;
    return 0;
}

/* Big-endian store of the low `n` bytes of v. */
static void put_be(unsigned char *d, uint64_t v, int n)
{
    for (int k = n - 1; k >= 0; k--) {
        d[k] = (unsigned char)(v & 0xff);
        v >>= 8;
    }
}

/* Encode a header byte plus an n-byte big-endian value into h; returns its size. */
static size_t hdr(unsigned char *h, unsigned char tag, uint64_t v, int n)
{
    h[0] = tag;
    put_be(h + 1, v, n);
    return (size_t)n + 1;
}

static int ab_put(actr__conf_parser_t *p, abuf_t *b, const void *src, size_t n,
                  const yaml_mark_t *m)
{
    int rc = ab_reserve(p, b, n, m);
    if (rc != 0)
        return rc;
    memcpy(b->d + b->len, src, n);
    b->len += n;
    return 0;
}

static int pack_uint(actr__conf_parser_t *p, abuf_t *b, uint64_t v, const yaml_mark_t *m)
{
    unsigned char h[9];
    size_t n;
    if (v < 128) {
        h[0] = (unsigned char)v;
        n = 1;
    } else if (v <= 0xff) {
        n = hdr(h, 0xcc, v, 1);
    } else if (v <= 0xffff) {
        n = hdr(h, 0xcd, v, 2);
    } else if (v <= 0xffffffffu) {
        n = hdr(h, 0xce, v, 4);
    } else {
        n = hdr(h, 0xcf, v, 8);
    }
    return ab_put(p, b, h, n, m);
}

static int pack_int(actr__conf_parser_t *p, abuf_t *b, int64_t v, const yaml_mark_t *m)
{
    unsigned char h[9];
    size_t n;
    if (v >= 0)
        return pack_uint(p, b, (uint64_t)v, m);
    if (v >= -32) {
        h[0] = (unsigned char)(0xe0 | (unsigned char)(v + 32));
        n = 1;
    } else if (v >= INT8_MIN) {
        n = hdr(h, 0xd0, (uint64_t)v, 1);
    } else if (v >= INT16_MIN) {
        n = hdr(h, 0xd1, (uint64_t)v, 2);
    } else if (v >= INT32_MIN) {
        n = hdr(h, 0xd2, (uint64_t)v, 4);
    } else {
        n = hdr(h, 0xd3, (uint64_t)v, 8);
    }
    return ab_put(p, b, h, n, m);
}

static int pack_double(actr__conf_parser_t *p, abuf_t *b, double d, const yaml_mark_t *m)
{
    unsigned char h[9];
    uint64_t bits;
    memcpy(&bits, &d, sizeof(bits));
    return ab_put(p, b, h, hdr(h, 0xcb, bits, 8), m);
}

static int pack_str(actr__conf_parser_t *p, abuf_t *b, const char *s, size_t n,
                    const yaml_mark_t *m)
{
    unsigned char h[5];
    size_t hn;
    int rc;
    if (n < 32) {
        h[0] = (unsigned char)(0xa0 | n);
        hn = 1;
    } else if (n <= 0xff) {
        hn = hdr(h, 0xd9, n, 1);
    } else if (n <= 0xffff) {
        hn = hdr(h, 0xda, n, 2);
    } else {
        hn = hdr(h, 0xdb, n, 4);
    }
    if ((rc = ab_put(p, b, h, hn, m)) != 0)
        return rc;
    return ab_put(p, b, s, n, m);
}

/* Insert the header of a container of `count` entries whose contents start
 * at `start` (0x90 array / 0x80 map families). */
static int insert_header(actr__conf_parser_t *p, abuf_t *b, size_t start, size_t count, int map,
                         const yaml_mark_t *m)
{
    unsigned char h[5];
    size_t hn;
    int rc;
    if (count < 16) {
        h[0] = (unsigned char)((map ? 0x80 : 0x90) | count);
        hn = 1;
    } else if (count <= 0xffff) {
        hn = hdr(h, map ? 0xde : 0xdc, count, 2);
    } else {
        hn = hdr(h, map ? 0xdf : 0xdd, count, 4);
    }
    if ((rc = ab_reserve(p, b, hn, m)) != 0)
        return rc;
    memmove(b->d + start + hn, b->d + start, b->len - start);
    memcpy(b->d + start, h, hn);
    b->len += hn;
    return 0;
}

static int all_digits(const char *s, size_t n, int base)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int ok = base == 16  ? ((c >= '0' && c <= '9') || (fold(c) >= 'a' && fold(c) <= 'f'))
                 : base == 8 ? (c >= '0' && c <= '7')
                             : (c >= '0' && c <= '9');
        if (!ok)
            return 0;
    }
    return 1;
}

/* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? with a '.' or an exponent. */
static int is_float(const char *s, size_t n)
{
    size_t i = 0, ip = 0, fp = 0;
    int dot = 0;
    if (i < n && (s[i] == '-' || s[i] == '+'))
        i++;
    while (i < n && s[i] >= '0' && s[i] <= '9')
        i++, ip++;
    if (i < n && s[i] == '.') {
        dot = 1;
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++, fp++;
    }
    if (ip + fp == 0)
        return 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        size_t ed = 0;
        i++;
        if (i < n && (s[i] == '-' || s[i] == '+'))
            i++;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++, ed++;
        if (ed == 0)
            return 0;
        dot = 1;
    }
    return i == n && dot;
}

static int eq(const char *s, size_t n, const char *lit)
{
    return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

/* Pack a plain scalar by YAML's core schema: null, bool, int, float, else string. */
static int pack_plain(actr__conf_parser_t *p, abuf_t *b, const char *s, size_t n,
                      const yaml_mark_t *m)
{
    unsigned char c;
    const char *body = s;
    size_t bn = n;
    int neg = 0, base = 10;
    char tmp[80];

    if (n == 0 || eq(s, n, "~") || eq(s, n, "null") || eq(s, n, "Null") || eq(s, n, "NULL")) {
        c = 0xc0;
        return ab_put(p, b, &c, 1, m);
    }
    if (eq(s, n, "true") || eq(s, n, "True") || eq(s, n, "TRUE")) {
        c = 0xc3;
        return ab_put(p, b, &c, 1, m);
    }
    if (eq(s, n, "false") || eq(s, n, "False") || eq(s, n, "FALSE")) {
        c = 0xc2;
        return ab_put(p, b, &c, 1, m);
    }
    if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o')) {
        base = s[1] == 'x' ? 16 : 8;
        body = s + 2;
        bn = n - 2;
    } else if (n > 1 && (s[0] == '-' || s[0] == '+')) {
        neg = s[0] == '-';
        body = s + 1;
        bn = n - 1;
    }
    if (all_digits(body, bn, base)) {
        uint64_t v = 0;
        int over = 0;
        for (size_t i = 0; i < bn; i++) {
            char d = fold(body[i]);
            unsigned dv = d <= '9' ? (unsigned)(d - '0') : (unsigned)(d - 'a' + 10);
            if (v > (UINT64_MAX - dv) / (unsigned)base)
                over = 1;
            v = v * (unsigned)base + dv;
        }
        if (over || (neg && v > (uint64_t)INT64_MAX + 1)) {
            actr__conf_printable(tmp, sizeof(tmp), s, n);
            return actr__conf_fail(
                p, m, "integer %s does not fit in 64 bits (quote it for a string)", tmp);
        }
        if (!neg)
            return pack_uint(p, b, v, m);
        return pack_int(p, b, v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v, m);
    }
    if (is_float(s, n) && n < sizeof(tmp)) {
        memcpy(tmp, s, n);
        tmp[n] = '\0';
        return pack_double(p, b, strtod(tmp, NULL), m);
    }
    if (eq(s, n, ".inf") || eq(s, n, ".Inf") || eq(s, n, ".INF") || eq(s, n, "+.inf") ||
        eq(s, n, "+.Inf") || eq(s, n, "+.INF"))
        return pack_double(p, b, INFINITY, m);
    if (eq(s, n, "-.inf") || eq(s, n, "-.Inf") || eq(s, n, "-.INF"))
        return pack_double(p, b, -INFINITY, m);
    if (eq(s, n, ".nan") || eq(s, n, ".NaN") || eq(s, n, ".NAN"))
        return pack_double(p, b, NAN, m);
    return pack_str(p, b, s, n, m);
}

typedef struct keyrec {
    size_t off, len;
    const unsigned char *bytes; /* set once the map is complete (the buffer moves until then) */
    yaml_mark_t mark;
    size_t order;
} keyrec_t;

static int keycmp(const void *x, const void *y)
{
    const keyrec_t *a = x, *b = y;
    if (a->len != b->len)
        return a->len < b->len ? -1 : 1;
    int c = memcmp(a->bytes, b->bytes, a->len);
    if (c != 0)
        return c;
    return a->order < b->order ? -1 : a->order > b->order;
}

/* A packed scalar key as text, for the key path of a duplicate: strings as
 * they are (cut to cap - 1 bytes), numbers in decimal, so `0x1` shows as
 * the 1 it equals. */
static void show_key(char *dst, size_t cap, const unsigned char *d, size_t n)
{
    uint64_t u = 0;
    size_t hl = 0;
    unsigned char t = d[0];
    if (t <= 0x7f) {
        snprintf(dst, cap, "%u", (unsigned)t);
    } else if (t >= 0xe0) {
        snprintf(dst, cap, "%d", (int)(signed char)t);
    } else if ((t & 0xe0) == 0xa0 || t == 0xd9 || t == 0xda || t == 0xdb) {
        hl = (t & 0xe0) == 0xa0 ? 1 : t == 0xd9 ? 2 : t == 0xda ? 3 : 5;
        size_t sl = n - hl < cap - 1 ? n - hl : cap - 1; /* escaped by the path */
        memcpy(dst, d + hl, sl);
        dst[sl] = '\0';
    } else if (t >= 0xcc && t <= 0xcf) {
        for (size_t i = 1; i < n; i++)
            u = (u << 8) | d[i];
        snprintf(dst, cap, "%llu", (unsigned long long)u);
    } else if (t >= 0xd0 && t <= 0xd3) {
        for (size_t i = 1; i < n; i++)
            u = (u << 8) | d[i];
        /* sign-extend from the stored width */
        unsigned bits = (unsigned)(n - 1) * 8;
        int64_t v = bits < 64 && (u >> (bits - 1)) ? (int64_t)(u - (1ull << bits)) : (int64_t)u;
        snprintf(dst, cap, "%lld", (long long)v);
    } else if (t == 0xc0) {
        snprintf(dst, cap, "null");
    } else if (t == 0xc2 || t == 0xc3) {
        snprintf(dst, cap, "%s", t == 0xc3 ? "true" : "false");
    } else if (t == 0xcb && n == 9) {
        double v;
        for (size_t i = 1; i < n; i++)
            u = (u << 8) | d[i];
        memcpy(&v, &u, sizeof(v));
        snprintf(dst, cap, "%g", v);
    } else {
        snprintf(dst, cap, "?");
    }
}

static int args_node(actr__conf_parser_t *p, abuf_t *b, int depth);

static int args_scalar(actr__conf_parser_t *p, abuf_t *b, yaml_event_t *ev, int subst)
{
    const char *s = (const char *)ev->data.scalar.value;
    size_t n = ev->data.scalar.length;
    const yaml_char_t *tag = ev->data.scalar.tag;
    int rc;

    if (subst && (rc = actr__conf_scalar(p, ev, &s, &n)) != 0)
        return rc;
    if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
        (tag != NULL && strcmp((const char *)tag, YAML_STR_TAG) == 0))
        rc = pack_str(p, b, s, n, &ev->start_mark);
    else
        rc = pack_plain(p, b, s, n, &ev->start_mark);
    if (rc == 0)
        actr__conf_consume(p);
    return rc;
}

static int args_seq(actr__conf_parser_t *p, abuf_t *b, int depth)
{
    yaml_mark_t start_mark = p->ev.start_mark;
    size_t start = b->len, count = 0;
    yaml_event_t *ev;
    int rc;

    actr__conf_consume(p);
    for (;;) {
        if ((rc = actr__conf_peek(p, &ev)) != 0)
            return rc;
        if (ev->type == YAML_SEQUENCE_END_EVENT)
            break;
        size_t old = actr__conf_path_index(p, count);
        rc = args_node(p, b, depth + 1);
        actr__conf_path_restore(p, old);
        if (rc != 0)
            return rc;
        count++;
    }
    actr__conf_consume(p);
    return insert_header(p, b, start, count, 0, &start_mark);
}

static int args_map(actr__conf_parser_t *p, abuf_t *b, int depth)
{
    yaml_mark_t start_mark = p->ev.start_mark;
    size_t start = b->len, count = 0, cap = 0;
    keyrec_t *keys = NULL;
    yaml_event_t *ev;
    int rc;

    actr__conf_consume(p);
    for (;;) {
        if ((rc = actr__conf_peek(p, &ev)) != 0)
            goto out;
        if (ev->type == YAML_MAPPING_END_EVENT)
            break;
        if (ev->type != YAML_SCALAR_EVENT) {
            rc = actr__conf_fail(p, &ev->start_mark, "a key inside args must be a scalar, not %s",
                                 ev->type == YAML_MAPPING_START_EVENT ? "a mapping" : "a list");
            goto out;
        }
        if (count == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            keyrec_t *nk = realloc(keys, ncap * sizeof(*keys));
            if (nk == NULL) {
                rc = actr__conf_nomem(p);
                goto out;
            }
            keys = nk;
            cap = ncap;
        }
        /* The key is named in the path of errors inside its value. */
        size_t old =
            actr__conf_path_key(p, (const char *)ev->data.scalar.value, ev->data.scalar.length);
        keys[count].off = b->len;
        keys[count].mark = ev->start_mark;
        keys[count].order = count;
        rc = args_scalar(p, b, ev, 0);
        keys[count].len = b->len - keys[count].off;
        if (rc == 0)
            rc = args_node(p, b, depth + 1);
        actr__conf_path_restore(p, old);
        if (rc != 0)
            goto out;
        count++;
    }
    if (count > 1) {
        for (size_t i = 0; i < count; i++)
            keys[i].bytes = b->d + keys[i].off;
        qsort(keys, count, sizeof(*keys), keycmp);
        /* Report the duplicate that comes first in the file. */
        size_t worst = (size_t)-1;
        for (size_t i = 1; i < count; i++) {
            if (keys[i].len == keys[i - 1].len &&
                memcmp(keys[i].bytes, keys[i - 1].bytes, keys[i].len) == 0 &&
                (worst == (size_t)-1 || keys[i].order < keys[worst].order))
                worst = i;
        }
        if (worst != (size_t)-1) {
            size_t first = worst - 1;
            while (first > 0 && keys[first - 1].len == keys[first].len &&
                   memcmp(keys[first - 1].bytes, keys[first].bytes, keys[first].len) == 0)
                first--;
            char shown[72];
            show_key(shown, sizeof(shown), keys[worst].bytes, keys[worst].len);
            size_t old = actr__conf_path_key(p, shown, strlen(shown));
            rc = actr__conf_fail(p, &keys[worst].mark,
                                 "duplicate key in args (first given at line %zu, column %zu)",
                                 keys[first].mark.line + 1, keys[first].mark.column + 1);
            actr__conf_path_restore(p, old);
            goto out;
        }
    }
    actr__conf_consume(p);
    rc = insert_header(p, b, start, count, 1, &start_mark);
out:
    free(keys);
    return rc;
}

static int args_node(actr__conf_parser_t *p, abuf_t *b, int depth)
{
    yaml_event_t *ev;
    int rc = actr__conf_peek(p, &ev);
    if (rc != 0)
        return rc;
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        return args_scalar(p, b, ev, 1);
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
        if (depth >= ACTR__CONF_MAX_DEPTH)
            return actr__conf_fail(p, &ev->start_mark, "args nest deeper than %d levels",
                                   ACTR__CONF_MAX_DEPTH);
        return ev->type == YAML_SEQUENCE_START_EVENT ? args_seq(p, b, depth)
                                                     : args_map(p, b, depth);
    default:
        return actr__conf_fail(p, &ev->start_mark, "expected a YAML value");
    }
}

int actr__conf_args(actr__conf_parser_t *p, void **out, size_t *len)
{
    abuf_t b = {NULL, 0, 0};
    int rc = args_node(p, &b, 0);
    if (rc != 0) {
        free(b.d);
        return rc;
    }
    *out = b.d;
    *len = b.len;
    return 0;
}

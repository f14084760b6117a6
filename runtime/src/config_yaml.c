/* config_yaml.c — the YAML side of the runtime.yaml parser: the libyaml event
 * stream (one current event, peeked and consumed), error messages with
 * FILE:LINE:COL and the dotted key path, ${VAR} / ${VAR:-default}
 * substitution, and the edit distance behind "did you mean". The `args`
 * value's conversion to msgpack is in config_args.c.
 *
 * Invariants:
 *  - Positions are 1-based; libyaml's marks are 0-based and get +1 here.
 *    Marks count characters (not bytes), and so do the columns computed here.
 *  - Every size the input controls is bounded (config_int.h): a scalar after
 *    substitution (ACTR__CONF_MAX_VALUE), a variable name, the key path
 *    (cut with "..."), each message (one line, control characters escaped).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_int.h"

/* ---- events ------------------------------------------------------------- */

int actr__conf_open(actr__conf_parser_t *p, const char *buf, size_t len, const char *file,
                    actr_getenv_fn getenv_fn, void *ud, actr_error_t *err)
{
    memset(p, 0, sizeof(*p));
    p->buf = buf;
    p->len = len;
    p->file = file;
    p->getenv_fn = getenv_fn;
    p->ud = ud;
    p->err = err;
    if (!yaml_parser_initialize(&p->yp))
        return actr__conf_nomem(p);
    p->yp_ready = 1;
    yaml_parser_set_input_string(&p->yp, (const unsigned char *)buf, len);
    yaml_parser_set_encoding(&p->yp, YAML_UTF8_ENCODING);
    return 0;
}

void actr__conf_close(actr__conf_parser_t *p)
{
    if (p->have)
        yaml_event_delete(&p->ev);
    p->have = 0;
    if (p->yp_ready)
        yaml_parser_delete(&p->yp);
    p->yp_ready = 0;
    free(p->val);
    p->val = NULL;
    p->valcap = 0;
}

/* 0-based line and column of byte `off` of the input (for reader errors,
 * which carry an offset rather than a mark). */
static yaml_mark_t mark_of_offset(const actr__conf_parser_t *p, size_t off)
{
    yaml_mark_t m = {0, 0, 0};
    size_t i = 0;
    if (off > p->len)
        off = p->len;
    if (off >= 3 && memcmp(p->buf, "\xEF\xBB\xBF", 3) == 0)
        i = 3; /* a byte order mark is not a column */
    for (; i < off; i++) {
        if (p->buf[i] == '\n') {
            m.line++;
            m.column = 0;
        } else if (((unsigned char)p->buf[i] & 0xC0) != 0x80) {
            m.column++; /* count characters, as libyaml's marks do */
        }
    }
    m.index = off;
    return m;
}

/* Byte offset of the character with libyaml's mark index `idx` (marks count
 * characters, after a byte order mark). */
static size_t byte_of_index(const actr__conf_parser_t *p, size_t idx)
{
    size_t i = 0, chars = 0;
    if (p->len >= 3 && memcmp(p->buf, "\xEF\xBB\xBF", 3) == 0)
        i = 3;
    for (; i < p->len; i++) {
        if (((unsigned char)p->buf[i] & 0xC0) == 0x80)
            continue;
        if (chars++ == idx)
            return i;
    }
    return p->len;
}

static int syntax_error(actr__conf_parser_t *p)
{
    const yaml_parser_t *yp = &p->yp;
    yaml_mark_t m = yp->problem_mark;
    const char *problem = yp->problem ? yp->problem : "malformed input";
    const char *hint = "";
    char ctx[128] = "";
    size_t saved = p->pathlen;
    int rc;

    if (yp->error == YAML_MEMORY_ERROR)
        return actr__conf_nomem(p);
    if (yp->error == YAML_READER_ERROR)
        m = mark_of_offset(p, yp->problem_offset);
    size_t at = yp->error == YAML_READER_ERROR ? yp->problem_offset : byte_of_index(p, m.index);
    if (at < p->len && p->buf[at] == '\t')
        hint = " (a tab; YAML indents with spaces only)";
    if (yp->context != NULL)
        snprintf(ctx, sizeof(ctx), " %s at line %zu, column %zu", yp->context,
                 yp->context_mark.line + 1, yp->context_mark.column + 1);
    /* A syntax error is about the text, not a key: no key path. */
    p->pathlen = 0;
    p->path[0] = '\0';
    rc = actr__conf_fail(p, &m, "YAML syntax error: %s%s%s", problem, hint, ctx);
    p->pathlen = saved;
    return rc;
}

int actr__conf_peek(actr__conf_parser_t *p, yaml_event_t **ev)
{
    if (!p->have) {
        if (!yaml_parser_parse(&p->yp, &p->ev))
            return syntax_error(p);
        p->have = 1;
    }
    if (p->ev.type == YAML_ALIAS_EVENT)
        return actr__conf_fail(p, &p->ev.start_mark,
                               "YAML aliases (*name) are not supported; repeat the value");
    *ev = &p->ev;
    return 0;
}

void actr__conf_consume(actr__conf_parser_t *p)
{
    if (p->have)
        yaml_event_delete(&p->ev);
    p->have = 0;
}

/* ---- messages --------------------------------------------------------- */

void actr__conf_printable(char *dst, size_t cap, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;

    if (cap == 0)
        return;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char tmp[5];
        size_t tn;
        if (c == '\n' || c == '\t' || c == '\r' || c == '\'' || c == '\\') {
            tmp[0] = '\\';
            tmp[1] = c == '\n' ? 'n' : c == '\t' ? 't' : c == '\r' ? 'r' : (char)c;
            tn = 2;
        } else if (c < 0x20 || c == 0x7f) {
            tmp[0] = '\\';
            tmp[1] = 'x';
            tmp[2] = hex[c >> 4];
            tmp[3] = hex[c & 15];
            tn = 4;
        } else {
            tmp[0] = (char)c;
            tn = 1;
        }
        if (o + tn + 4 > cap) { /* keep room for "..." and the NUL */
            if (o + 4 <= cap) {
                memcpy(dst + o, "...", 3);
                o += 3;
            }
            break;
        }
        memcpy(dst + o, tmp, tn);
        o += tn;
    }
    dst[o] = '\0';
}

int actr__conf_fail(actr__conf_parser_t *p, const yaml_mark_t *m, const char *fmt, ...)
{
    actr_error_t *e = p->err;
    char file[160];
    va_list ap;
    int n;

    actr__conf_printable(file, sizeof(file), p->file, strlen(p->file));
    e->code = ACTR_ECONFIG;
    e->line = m ? (int)m->line + 1 : 0;
    e->col = m ? (int)m->column + 1 : 0;
    if (m != NULL && p->pathlen > 0)
        n = snprintf(e->msg, sizeof(e->msg), "%s:%d:%d: key '%s': ", file, e->line, e->col,
                     p->path);
    else if (m != NULL)
        n = snprintf(e->msg, sizeof(e->msg), "%s:%d:%d: ", file, e->line, e->col);
    else
        n = snprintf(e->msg, sizeof(e->msg), "%s: ", file);
    if (n > 0 && (size_t)n < sizeof(e->msg)) {
        va_start(ap, fmt);
        vsnprintf(e->msg + n, sizeof(e->msg) - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return ACTR_ECONFIG;
}

int actr__conf_nomem(actr__conf_parser_t *p)
{
    actr_error_t *e = p->err;
    e->code = ACTR_ENOMEM;
    e->line = e->col = 0;
    snprintf(e->msg, sizeof(e->msg), "%.200s: out of memory while reading the configuration",
             p->file);
    return ACTR_ENOMEM;
}

/* ---- key path ----------------------------------------------------------- */

static void path_append(actr__conf_parser_t *p, const char *s)
{
    size_t n = strlen(s);
    if (p->pathlen + n >= sizeof(p->path)) {
        /* Full: end it with "..." once and drop the rest. */
        size_t at = sizeof(p->path) - 4;
        if (p->pathlen < at)
            at = p->pathlen;
        memcpy(p->path + at, "...", 4);
        p->pathlen = at + 3;
        return;
    }
    memcpy(p->path + p->pathlen, s, n + 1);
    p->pathlen += n;
}

size_t actr__conf_path_key(actr__conf_parser_t *p, const char *key, size_t keylen)
{
    size_t old = p->pathlen;
    char shown[72];
    actr__conf_printable(shown, sizeof(shown), key, keylen);
    if (old > 0)
        path_append(p, ".");
    path_append(p, shown);
    return old;
}

size_t actr__conf_path_index(actr__conf_parser_t *p, size_t i)
{
    size_t old = p->pathlen;
    char idx[32];
    snprintf(idx, sizeof(idx), "[%zu]", i);
    path_append(p, idx);
    return old;
}

void actr__conf_path_restore(actr__conf_parser_t *p, size_t len)
{
    p->pathlen = len;
    p->path[len] = '\0';
}

/* ---- scalars ---------------------------------------------------------- */

int actr__conf_is_null(const yaml_event_t *ev)
{
    const char *s = (const char *)ev->data.scalar.value;
    size_t n = ev->data.scalar.length;
    if (ev->type != YAML_SCALAR_EVENT || ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return 0;
    return n == 0 || (n == 1 && s[0] == '~') ||
           (n == 4 &&
            (memcmp(s, "null", 4) == 0 || memcmp(s, "Null", 4) == 0 || memcmp(s, "NULL", 4) == 0));
}

void actr__conf_describe(const yaml_event_t *ev, char *dst, size_t cap)
{
    char shown[64];
    switch (ev->type) {
    case YAML_MAPPING_START_EVENT:
        snprintf(dst, cap, "a mapping");
        break;
    case YAML_SEQUENCE_START_EVENT:
        snprintf(dst, cap, "a list");
        break;
    case YAML_SCALAR_EVENT:
        if (actr__conf_is_null(ev)) {
            snprintf(dst, cap, "nothing");
        } else {
            actr__conf_printable(shown, sizeof(shown), (const char *)ev->data.scalar.value,
                                 ev->data.scalar.length);
            snprintf(dst, cap, "'%s'", shown);
        }
        break;
    default:
        snprintf(dst, cap, "something else");
        break;
    }
}

static int ensure_val(actr__conf_parser_t *p, size_t need)
{
    if (need <= p->valcap)
        return 0;
    size_t cap = p->valcap ? p->valcap : 256;
    while (cap < need)
        cap *= 2;
    char *nv = realloc(p->val, cap);
    if (nv == NULL)
        return actr__conf_nomem(p);
    p->val = nv;
    p->valcap = cap;
    return 0;
}

static int is_name_start(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}
static int is_name_char(char c) { return is_name_start(c) || (c >= '0' && c <= '9'); }

/* Where the reference at byte `at` of the scalar's value sits in the file:
 * exact for a plain scalar on one line, else the scalar's start. */
static yaml_mark_t ref_mark(const yaml_event_t *ev, size_t at)
{
    yaml_mark_t m = ev->start_mark;
    const unsigned char *v = ev->data.scalar.value;
    if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
        ev->start_mark.line == ev->end_mark.line)
        for (size_t i = 0; i < at; i++)
            m.column += (v[i] & 0xC0) != 0x80; /* marks count characters */
    return m;
}

int actr__conf_scalar(actr__conf_parser_t *p, const yaml_event_t *ev, const char **s, size_t *n)
{
    const char *v = (const char *)ev->data.scalar.value;
    size_t len = ev->data.scalar.length, o = 0, i = 0;
    int rc;

    if (memchr(v, '$', len) == NULL) {
        *s = v;
        *n = len;
        return 0;
    }
    while (i < len) {
        const char *piece;
        size_t plen;
        if (v[i] == '$' && i + 1 < len && v[i + 1] == '{') {
            char name[ACTR__CONF_MAX_VARNAME + 1];
            size_t start = i, j = i + 2, nlen;
            const char *def = NULL, *envv;
            size_t deflen = 0;
            yaml_mark_t m = ref_mark(ev, start);

            while (j < len && is_name_char(v[j]))
                j++;
            nlen = j - (i + 2);
            if (nlen == 0 || !is_name_start(v[i + 2]) || nlen > ACTR__CONF_MAX_VARNAME)
                return actr__conf_fail(p, &m,
                                       "bad variable reference: expected ${NAME} or "
                                       "${NAME:-default} with NAME made of A-Z, a-z, 0-9, _");
            memcpy(name, v + i + 2, nlen);
            name[nlen] = '\0';
            if (j < len && v[j] == ':' && j + 1 < len && v[j + 1] == '-') {
                const char *close = memchr(v + j + 2, '}', len - (j + 2));
                if (close == NULL)
                    return actr__conf_fail(p, &m, "unterminated ${%s:-...}: missing '}'", name);
                def = v + j + 2;
                deflen = (size_t)(close - def);
                i = (size_t)(close - v) + 1;
            } else if (j < len && v[j] == '}') {
                i = j + 1;
            } else if (j >= len) {
                return actr__conf_fail(p, &m, "unterminated ${%s: missing '}'", name);
            } else {
                return actr__conf_fail(p, &m,
                                       "bad variable reference: expected ${%s} or "
                                       "${%s:-default}",
                                       name, name);
            }
            envv = p->getenv_fn(p->ud, name);
            if (def != NULL && (envv == NULL || envv[0] == '\0')) {
                piece = def;
                plen = deflen;
            } else if (envv == NULL) {
                return actr__conf_fail(p, &m,
                                       "environment variable '%s' is not set (write "
                                       "${%s:-default} to give a default)",
                                       name, name);
            } else {
                piece = envv;
                plen = strnlen(envv, ACTR__CONF_MAX_VALUE + 1);
            }
        } else {
            /* Copy up to the next '$' (a lone '$' is kept as it is). */
            const char *next = memchr(v + i + 1, '$', len - i - 1);
            size_t end = next ? (size_t)(next - v) : len;
            piece = v + i;
            plen = end - i;
            i = end;
        }
        if (plen > ACTR__CONF_MAX_VALUE - o)
            return actr__conf_fail(p, &ev->start_mark,
                                   "value is longer than %u bytes after ${} substitution",
                                   ACTR__CONF_MAX_VALUE);
        if ((rc = ensure_val(p, o + plen + 1)) != 0)
            return rc;
        memcpy(p->val + o, piece, plen);
        o += plen;
    }
    if ((rc = ensure_val(p, o + 1)) != 0)
        return rc;
    p->val[o] = '\0';
    *s = p->val;
    *n = o;
    return 0;
}

/* ---- did you mean ------------------------------------------------------- */

static char fold(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c; }

size_t actr__conf_distance(const char *a, size_t alen, const char *b, size_t blen)
{
    /* Three rows of the optimal-string-alignment table. */
    size_t r0[66], r1[66], r2[66], *pp = r0, *prev = r1, *cur = r2;

    if (alen > 64 || blen > 64)
        return (size_t)-1;
    for (size_t j = 0; j <= blen; j++)
        prev[j] = j;
    for (size_t i = 1; i <= alen; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= blen; j++) {
            size_t cost = fold(a[i - 1]) == fold(b[j - 1]) ? 0 : 1;
            size_t d = prev[j] + 1;
            if (cur[j - 1] + 1 < d)
                d = cur[j - 1] + 1;
            if (prev[j - 1] + cost < d)
                d = prev[j - 1] + cost;
            if (i > 1 && j > 1 && fold(a[i - 1]) == fold(b[j - 2]) &&
                fold(a[i - 2]) == fold(b[j - 1]) && pp[j - 2] + 1 < d)
                d = pp[j - 2] + 1;
            cur[j] = d;
        }
        size_t *t = pp;
        pp = prev;
        prev = cur;
        cur = t;
    }
    return prev[blen];
}

/* history.c — the plugin history (actr/loader.h): one line per load, swap,
 * rollback and unload in <data_dir>/plugin-history, kept across restarts of
 * the node.
 *
 * Format: text, one event per line, eleven tab-separated fields and a
 * checksum:
 *
 *   1 TIME_MS PLUGIN ACTION FROM TO PATH CODE ACTORS PAUSE_US REASON  SUM
 *
 * "1" is the format's version; SUM is the FNV-1a hash (8 hex digits) of
 * everything before the tab that precedes it. Text fields are escaped
 * (backslash, and every control byte as \t, \n, \r or \xHH), so a reason that
 * holds tabs or newlines cannot break a line.
 *
 * Durability rules. An append is one write(2) of a whole line on a file
 * opened with O_APPEND, under rt->history_mu, so two threads of one runtime
 * never interleave and a reader of the same process never sees half a line.
 * A crash in the middle of a write leaves a torn last line without its
 * newline: the next append first ends that line (one extra "\n" in the same
 * write), and readers skip any line that has no newline, the wrong number of
 * fields or a wrong checksum. So a torn or foreign line costs only itself.
 * Appending never fails the caller (a swap that worked stays done): errors
 * are logged.
 *
 * Reading takes history_mu only while it copies the file into memory (at
 * most MAX_READ bytes: the newest ones), then parses and calls the callback
 * without any lock held.
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define HISTORY_FILE "plugin-history"
#define FORMAT_VERSION "1"
#define NFIELDS 12                   /* including the version and the checksum */
#define MAX_READ ((size_t)64 << 20)  /* the newest 64 MiB of the file are read */
#define MAX_FIELD ((size_t)16 << 10) /* a text field longer than this is cut */

/* ---- encoding ------------------------------------------------------------- */

typedef struct sbuf {
    char *p;
    size_t len, cap;
    int oom;
} sbuf_t;

static void sb_reserve(sbuf_t *b, size_t more)
{
    if (b->oom || b->len + more + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + more + 1)
        cap *= 2;
    char *np = realloc(b->p, cap);
    if (np == NULL) {
        b->oom = 1;
        return;
    }
    b->p = np;
    b->cap = cap;
}

static void sb_put(sbuf_t *b, const char *s, size_t n)
{
    sb_reserve(b, n);
    if (b->oom)
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_fmt(sbuf_t *b, const char *fmt, ...) ACTR_PRINTF(2, 3);

static void sb_fmt(sbuf_t *b, const char *fmt, ...)
{
    char tmp[64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n > 0)
        sb_put(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* Append s escaped (at most MAX_FIELD source bytes), then a tab. */
static void sb_field(sbuf_t *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = s ? strlen(s) : 0;
    if (n > MAX_FIELD)
        n = MAX_FIELD;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char e[4] = {'\\', 0, 0, 0};
        size_t el = 2;
        if (c == '\\')
            e[1] = '\\';
        else if (c == '\t')
            e[1] = 't';
        else if (c == '\n')
            e[1] = 'n';
        else if (c == '\r')
            e[1] = 'r';
        else if (c < 0x20 || c == 0x7f) {
            e[1] = 'x';
            e[2] = hex[c >> 4];
            e[3] = hex[c & 15];
            el = 4;
        } else {
            e[0] = (char)c;
            el = 1;
        }
        sb_put(b, e, el);
    }
    sb_put(b, "\t", 1);
}

static uint32_t fnv1a(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

/* ---- appending ------------------------------------------------------------ */

/* Text for a code that may be any -errno (actr_strerror knows only the table). */
static const char *why(int rc) { return rc > -4000 && rc < 0 ? strerror(-rc) : actr_strerror(rc); }

static int history_path(actr_t *rt, char *buf, size_t cap)
{
    const char *dir = actr_data_dir(rt);
    if (dir == NULL)
        return ACTR_EINVAL;
    int n = snprintf(buf, cap, "%s/%s", dir, HISTORY_FILE);
    return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

static int64_t now_unix_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* 1 when the file's last byte is not a newline (a torn line to end first). */
static int torn_tail(int fd)
{
    struct stat st;
    char c;
    if (fstat(fd, &st) != 0 || st.st_size == 0)
        return 0;
    return pread(fd, &c, 1, st.st_size - 1) == 1 && c != '\n';
}

void actr__history_add(actr_t *rt, const actr_plugin_event_t *ev)
{
    char path[4096];
    sbuf_t b = {0};
    int rc;

    if (rt == NULL || ev == NULL)
        return;
    if ((rc = history_path(rt, path, sizeof(path))) != 0) {
        actr__log(rt, ACTR_LOG_WARN, ACTR_REF_NONE,
                  "plugin history: cannot record %s of %s: no usable data directory (%s)",
                  ev->action ? ev->action : "?", ev->plugin ? ev->plugin : "?", why(rc));
        return;
    }
    /* leave room for the newline that may end a torn line */
    sb_put(&b, "\n", 1);
    sb_fmt(&b, FORMAT_VERSION "\t%" PRId64 "\t", ev->time_ms > 0 ? ev->time_ms : now_unix_ms());
    sb_field(&b, ev->plugin);
    sb_field(&b, ev->action);
    sb_field(&b, ev->from_version);
    sb_field(&b, ev->to_version);
    sb_field(&b, ev->path);
    sb_fmt(&b, "%d\t%" PRIu64 "\t%" PRIu64 "\t", ev->code, ev->actors, ev->pause_us);
    sb_field(&b, ev->reason);
    if (!b.oom)
        sb_fmt(&b, "%08" PRIx32 "\n", fnv1a(b.p + 1, b.len - 1 - 1)); /* without "\n", final tab */
    if (b.oom) {
        free(b.p);
        actr__log(rt, ACTR_LOG_WARN, ACTR_REF_NONE,
                  "plugin history: cannot record %s of %s: out of memory",
                  ev->action ? ev->action : "?", ev->plugin ? ev->plugin : "?");
        return;
    }

    pthread_mutex_lock(&rt->history_mu);
    int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = -errno;
    } else {
        size_t skip = torn_tail(fd) ? 0 : 1;
        ssize_t w;
        do {
            w = write(fd, b.p + skip, b.len - skip);
        } while (w < 0 && errno == EINTR);
        if (w < 0)
            rc = -errno;
        else if ((size_t)w != b.len - skip)
            rc = -ENOSPC; /* a short write to a regular file: the disk is full */
        if (close(fd) != 0 && rc == 0)
            rc = -errno;
    }
    pthread_mutex_unlock(&rt->history_mu);
    if (rc != 0)
        actr__log(rt, ACTR_LOG_WARN, ACTR_REF_NONE, "plugin history: cannot record %s of %s in %s: %s",
                  ev->action ? ev->action : "?", ev->plugin ? ev->plugin : "?", path, why(rc));
    free(b.p);
}

/* ---- reading -------------------------------------------------------------- */

/* Decode an escaped field in place (NUL-terminated). Returns 0, or -1 when the
 * escapes are malformed. */
static int unescape(char *s)
{
    char *o = s;
    for (char *p = s; *p; p++) {
        if (*p != '\\') {
            *o++ = *p;
            continue;
        }
        p++;
        switch (*p) {
        case '\\': *o++ = '\\'; break;
        case 't': *o++ = '\t'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 'x': {
            int v = 0;
            for (int k = 1; k <= 2; k++) {
                char c = p[k];
                int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
                if (d < 0)
                    return -1;
                v = v * 16 + d;
            }
            if (v == 0)
                return -1; /* never written: a NUL would cut the string */
            *o++ = (char)v;
            p += 2;
            break;
        }
        default: return -1; /* includes a lone backslash at the end */
        }
    }
    *o = '\0';
    return 0;
}

static int parse_i64(const char *s, int64_t *out)
{
    char *end;
    if (*s == '\0')
        return -1;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return -1;
    *out = v;
    return 0;
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return -1;
    *out = v;
    return 0;
}

/* Parse one line (NUL-terminated, no newline; modified in place) into ev.
 * Returns 0, or -1 for a malformed line. */
static int parse_line(char *line, size_t len, actr_plugin_event_t *ev)
{
    char *f[NFIELDS];
    size_t nf = 0;
    char *p = line;

    /* the checksum covers everything before the last tab */
    char *last = strrchr(line, '\t');
    if (last == NULL || strlen(last + 1) != 8)
        return -1;
    char want[9];
    snprintf(want, sizeof(want), "%08" PRIx32, fnv1a(line, (size_t)(last - line)));
    if (memcmp(want, last + 1, 8) != 0)
        return -1;
    (void)len;

    for (;;) {
        if (nf == NFIELDS)
            return -1;
        f[nf++] = p;
        char *t = strchr(p, '\t');
        if (t == NULL)
            break;
        *t = '\0';
        p = t + 1;
    }
    if (nf != NFIELDS || strcmp(f[0], FORMAT_VERSION) != 0)
        return -1;
    int64_t code;
    memset(ev, 0, sizeof(*ev));
    if (parse_i64(f[1], &ev->time_ms) != 0 || parse_i64(f[7], &code) != 0 || code < INT32_MIN ||
        code > INT32_MAX || parse_u64(f[8], &ev->actors) != 0 ||
        parse_u64(f[9], &ev->pause_us) != 0)
        return -1;
    ev->code = (int)code;
    for (int k = 2; k <= 6; k++)
        if (unescape(f[k]) != 0)
            return -1;
    if (unescape(f[10]) != 0)
        return -1;
    ev->plugin = f[2];
    ev->action = f[3];
    ev->from_version = f[4];
    ev->to_version = f[5];
    ev->path = f[6];
    ev->reason = f[10];
    return ev->plugin[0] && ev->action[0] ? 0 : -1;
}

/* Read the file (its newest MAX_READ bytes) into *out. 0, or -errno; a missing
 * file is 0 with *out NULL. */
static int slurp(actr_t *rt, const char *path, char **out, size_t *len, int *cut)
{
    *out = NULL;
    *len = 0;
    *cut = 0;
    pthread_mutex_lock(&rt->history_mu);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    int rc = 0;
    if (fd < 0) {
        rc = errno == ENOENT ? 0 : -errno;
        pthread_mutex_unlock(&rt->history_mu);
        return rc;
    }
    struct stat st;
    char *buf = NULL;
    size_t n = 0;
    if (fstat(fd, &st) != 0) {
        rc = -errno;
    } else {
        size_t size = (size_t)st.st_size;
        off_t from = 0;
        if (size > MAX_READ) {
            from = (off_t)(size - MAX_READ);
            size = MAX_READ;
            *cut = 1;
        }
        buf = malloc(size + 1);
        if (buf == NULL)
            rc = ACTR_ENOMEM;
        while (rc == 0 && n < size) {
            ssize_t r = pread(fd, buf + n, size - n, from + (off_t)n);
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0)
                rc = -errno;
            if (r <= 0)
                break; /* r == 0: the file shrank meanwhile; parse what we have */
            n += (size_t)r;
        }
    }
    close(fd);
    pthread_mutex_unlock(&rt->history_mu);
    if (rc != 0) {
        free(buf);
        return rc;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

int actr_plugin_history(actr_t *rt, const char *name, actr_plugin_event_fn fn, void *ud)
{
    char path[4096];
    char *buf;
    size_t len;
    int cut, rc;

    if (rt == NULL || fn == NULL)
        return ACTR_EINVAL;
    if ((rc = history_path(rt, path, sizeof(path))) != 0)
        return rc;
    if ((rc = slurp(rt, path, &buf, &len, &cut)) != 0 || buf == NULL)
        return rc;

    char *p = buf, *end = buf + len;
    if (cut) { /* reading began mid-file: the first piece is not a whole line */
        char *nl = memchr(p, '\n', len);
        p = nl ? nl + 1 : end;
    }
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL)
            break; /* torn last line: skipped */
        *nl = '\0';
        actr_plugin_event_t ev;
        if ((size_t)(nl - p) == strlen(p) && parse_line(p, (size_t)(nl - p), &ev) == 0 &&
            (name == NULL || strcmp(ev.plugin, name) == 0))
            fn(ud, &ev);
        p = nl + 1;
    }
    free(buf);
    return 0;
}

/* util.c — error strings, version, the id and string maps, the clock, and
 * the runtime's log sink. Nothing here takes a lock; callers serialise.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

/* ---- errors and version ---------------------------------------------------- */

const char *actr_strerror(int err)
{
    switch (err) {
#define XX(name, val, msg)                                                                        \
    case val:                                                                                     \
        return msg;
        ACTR_ERRNO_MAP(XX)
#undef XX
    case 0:
        return "success";
    default:
        return "unknown error";
    }
}

const char *actr_err_name(int err)
{
    switch (err) {
#define XX(name, val, msg)                                                                        \
    case val:                                                                                     \
        return #name;
        ACTR_ERRNO_MAP(XX)
#undef XX
    case 0:
        return "OK";
    default:
        return "EUNKNOWN";
    }
}

unsigned actr_version(void) { return ACTR_VERSION_HEX; }
void actr_free(void *p) { free(p); }
const char *actr_version_string(void) { return ACTR_VERSION_STRING; }

/* ---- error details --------------------------------------------------------- */

static int fail_v(actr_error_t *err, int code, int line, int col, const char *fmt, va_list ap)
{
    if (err != NULL) {
        memset(err, 0, sizeof(*err));
        err->code = code;
        err->line = line;
        err->col = col;
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    }
    return code;
}

int actr__fail_at(actr_error_t *err, int code, int line, int col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fail_v(err, code, line, col, fmt, ap);
    va_end(ap);
    return code;
}

int actr__fail(actr_error_t *err, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fail_v(err, code, 0, 0, fmt, ap);
    va_end(ap);
    return code;
}

/* ---- files ------------------------------------------------------------------ */

void actr__rmtree(const char *path)
{
    /* open + fdopendir rather than opendir: the descriptor is then one that
     * ThreadSanitizer sees created, so its reuse by another thread (another
     * runtime's socket) after closedir is not reported as a race */
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (d == NULL && fd >= 0)
        close(fd);
    if (d != NULL) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char sub[4096];
            snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
            struct stat st;
            if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
                actr__rmtree(sub);
            else
                unlink(sub);
        }
        closedir(d);
    }
    rmdir(path);
}

/* ---- clock ------------------------------------------------------------------- */

uint64_t actr__now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t actr__now_ms(void) { return actr__now_ns() / 1000000u; }

void actr__deadline_us(int clock, uint64_t us, struct timespec *ts)
{
    clock_gettime((clockid_t)clock, ts);
    ts->tv_sec += (time_t)(us / 1000000u);
    ts->tv_nsec += (long)(us % 1000000u) * 1000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

char *actr__strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d != NULL)
        memcpy(d, s, n);
    return d;
}

/* ---- id map ------------------------------------------------------------------ */

#define ID_EMPTY 0u
#define ID_TOMB UINT64_MAX

static size_t id_hash(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return (size_t)k;
}

static int idmap_grow(actr__idmap_t *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 8;
    if (m->len * 4 < m->cap) /* mostly tombstones: rehash at the same size */
        ncap = m->cap;
    uint64_t *nk = calloc(ncap, sizeof(*nk));
    void **nv = calloc(ncap, sizeof(*nv));
    if (nk == NULL || nv == NULL) {
        free(nk);
        free(nv);
        return ACTR_ENOMEM;
    }
    for (size_t i = 0; i < m->cap; i++) {
        uint64_t k = m->keys[i];
        if (k == ID_EMPTY || k == ID_TOMB)
            continue;
        size_t j = id_hash(k) & (ncap - 1);
        while (nk[j] != ID_EMPTY)
            j = (j + 1) & (ncap - 1);
        nk[j] = k;
        nv[j] = m->vals[i];
    }
    free(m->keys);
    free(m->vals);
    m->keys = nk;
    m->vals = nv;
    m->cap = ncap;
    m->used = m->len;
    return 0;
}

int actr__idmap_put(actr__idmap_t *m, uint64_t key, void *val)
{
    if ((m->used + 1) * 4 > m->cap * 3) {
        int rc = idmap_grow(m);
        if (rc != 0)
            return rc;
    }
    size_t mask = m->cap - 1, i = id_hash(key) & mask, tomb = SIZE_MAX;
    for (;;) {
        uint64_t k = m->keys[i];
        if (k == key) {
            m->vals[i] = val;
            return 0;
        }
        if (k == ID_TOMB && tomb == SIZE_MAX)
            tomb = i;
        if (k == ID_EMPTY)
            break;
        i = (i + 1) & mask;
    }
    if (tomb != SIZE_MAX)
        i = tomb;
    else
        m->used++;
    m->keys[i] = key;
    m->vals[i] = val;
    m->len++;
    return 0;
}

static size_t idmap_find(const actr__idmap_t *m, uint64_t key)
{
    if (m->cap == 0)
        return SIZE_MAX;
    size_t mask = m->cap - 1, i = id_hash(key) & mask;
    for (;;) {
        uint64_t k = m->keys[i];
        if (k == key)
            return i;
        if (k == ID_EMPTY)
            return SIZE_MAX;
        i = (i + 1) & mask;
    }
}

int actr__idmap_get(const actr__idmap_t *m, uint64_t key, void **val)
{
    size_t i = idmap_find(m, key);
    if (i == SIZE_MAX)
        return 0;
    if (val != NULL)
        *val = m->vals[i];
    return 1;
}

int actr__idmap_del(actr__idmap_t *m, uint64_t key, void **val)
{
    size_t i = idmap_find(m, key);
    if (i == SIZE_MAX)
        return 0;
    if (val != NULL)
        *val = m->vals[i];
    m->keys[i] = ID_TOMB;
    m->vals[i] = NULL;
    m->len--;
    return 1;
}

void actr__idmap_each(const actr__idmap_t *m, void (*fn)(uint64_t, void *, void *), void *ud)
{
    (void)actr__idmap_each_from(m, 0, SIZE_MAX, fn, ud);
}

size_t actr__idmap_each_from(const actr__idmap_t *m, size_t from, size_t slots,
                             void (*fn)(uint64_t, void *, void *), void *ud)
{
    if (from >= m->cap)
        return m->cap;
    size_t end = slots < m->cap - from ? from + slots : m->cap;
    for (size_t i = from; i < end; i++)
        if (m->keys[i] != ID_EMPTY && m->keys[i] != ID_TOMB)
            fn(m->keys[i], m->vals[i], ud);
    return end;
}

void actr__idmap_free(actr__idmap_t *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof(*m));
}

/* ---- string map ------------------------------------------------------------- */

static char str_tomb_;
#define STR_TOMB (&str_tomb_)

static size_t str_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return (size_t)h;
}

static int strmap_grow(actr__strmap_t *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 16;
    if (m->len * 4 < m->cap)
        ncap = m->cap;
    char **nk = calloc(ncap, sizeof(*nk));
    void **nv = calloc(ncap, sizeof(*nv));
    if (nk == NULL || nv == NULL) {
        free(nk);
        free(nv);
        return ACTR_ENOMEM;
    }
    for (size_t i = 0; i < m->cap; i++) {
        char *k = m->keys[i];
        if (k == NULL || k == STR_TOMB)
            continue;
        size_t j = str_hash(k) & (ncap - 1);
        while (nk[j] != NULL)
            j = (j + 1) & (ncap - 1);
        nk[j] = k;
        nv[j] = m->vals[i];
    }
    free(m->keys);
    free(m->vals);
    m->keys = nk;
    m->vals = nv;
    m->cap = ncap;
    m->used = m->len;
    return 0;
}

static size_t strmap_index(const actr__strmap_t *m, const char *key)
{
    if (m->cap == 0)
        return SIZE_MAX;
    size_t mask = m->cap - 1, i = str_hash(key) & mask;
    for (;;) {
        char *k = m->keys[i];
        if (k == NULL)
            return SIZE_MAX;
        if (k != STR_TOMB && strcmp(k, key) == 0)
            return i;
        i = (i + 1) & mask;
    }
}

int actr__strmap_add(actr__strmap_t *m, const char *key, void *val)
{
    if (strmap_index(m, key) != SIZE_MAX)
        return ACTR_EEXIST;
    if ((m->used + 1) * 4 > m->cap * 3) {
        int rc = strmap_grow(m);
        if (rc != 0)
            return rc;
    }
    char *copy = actr__strdup(key);
    if (copy == NULL)
        return ACTR_ENOMEM;
    size_t mask = m->cap - 1, i = str_hash(key) & mask;
    while (m->keys[i] != NULL && m->keys[i] != STR_TOMB)
        i = (i + 1) & mask;
    if (m->keys[i] == NULL)
        m->used++;
    m->keys[i] = copy;
    m->vals[i] = val;
    m->len++;
    return 0;
}

void **actr__strmap_find(const actr__strmap_t *m, const char *key)
{
    size_t i = strmap_index(m, key);
    return i == SIZE_MAX ? NULL : &m->vals[i];
}

int actr__strmap_del(actr__strmap_t *m, const char *key, void **val)
{
    size_t i = strmap_index(m, key);
    if (i == SIZE_MAX)
        return 0;
    if (val != NULL)
        *val = m->vals[i];
    free(m->keys[i]);
    m->keys[i] = STR_TOMB;
    m->vals[i] = NULL;
    m->len--;
    return 1;
}

void actr__strmap_each(const actr__strmap_t *m, void (*fn)(const char *, void *, void *),
                       void *ud)
{
    for (size_t i = 0; i < m->cap; i++)
        if (m->keys[i] != NULL && m->keys[i] != STR_TOMB)
            fn(m->keys[i], m->vals[i], ud);
}

void actr__strmap_free(actr__strmap_t *m)
{
    for (size_t i = 0; i < m->cap; i++)
        if (m->keys[i] != NULL && m->keys[i] != STR_TOMB)
            free(m->keys[i]);
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof(*m));
}

/* ---- logging ---------------------------------------------------------------- */

const char *actr_log_level_name(actr_log_level_t l)
{
    switch (l) {
    case ACTR_LOG_DEBUG:
        return "debug";
    case ACTR_LOG_INFO:
        return "info";
    case ACTR_LOG_WARN:
        return "warn";
    case ACTR_LOG_ERROR:
        return "error";
    default:
        return "off";
    }
}

static void log_v(actr_t *rt, actr_log_level_t lvl, actr_ref_t who, const char *fmt, va_list ap)
{
    if (rt == NULL || lvl < rt->opts.log_level || lvl >= ACTR_LOG_OFF)
        return;
    char line[1024];
    vsnprintf(line, sizeof(line), fmt, ap);
    if (rt->opts.log_fn != NULL) {
        rt->opts.log_fn(rt->opts.log_ud, lvl, who, line);
        return;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char actor[64] = "-";
    if (!actr_ref_is_none(who))
        snprintf(actor, sizeof(actor), "<%u.%u>", who.slot, who.gen);
    fprintf(stderr, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s %s %s\n", tm.tm_year + 1900,
            tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000L,
            actr_log_level_name(lvl), actor, line);
}

void actr__log(actr_t *rt, actr_log_level_t lvl, actr_ref_t who, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_v(rt, lvl, who, fmt, ap);
    va_end(ap);
}

void actr_log(actr_ctx_t *ctx, actr_log_level_t level, const char *fmt, ...)
{
    if (ctx == NULL)
        return;
    va_list ap;
    va_start(ap, fmt);
    log_v(ctx->rt, level, ctx->self, fmt, ap);
    va_end(ap);
}

int actr__host_name_ok(const char *s, size_t n)
{
    size_t label = 0;
    if (n == 0 || n > 253)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (ch == '.') {
            if (label == 0 || s[i - 1] == '-')
                return 0;
            label = 0;
            continue;
        }
        int alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
        if ((!alnum && !(ch == '-' && label > 0)) || ++label > 63)
            return 0;
    }
    return s[n - 1] != '-';
}

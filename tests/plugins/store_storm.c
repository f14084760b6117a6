/* tests/plugins/store_storm.c — test plugin "store_storm": a write storm
 * through the state store, and the check that every acknowledged write is
 * there after a crash.
 *
 * Type "store_storm" (run with count: N): each actor writes the keys
 * k0000000000, k0000000001, ... into its own namespace "storm:SLOT.GEN",
 * keeping `window` puts in flight (so the store's group commits batch them),
 * as fast as the acknowledgements come. On each successful acknowledgement it
 * appends the line "NS KEY\n" to the file `file` with one write(2) on an
 * O_APPEND descriptor: the record of what the node acknowledged lives outside
 * the node and survives its kill -9. A failed write is logged once and ends
 * the actor's storm (an acknowledgement is never recorded for it).
 *   args: {file: PATH, window: 1..256 (default 16), value_bytes: 8..4096 (default 100)}
 *
 * Type "store_check": reads the file of acknowledgements and gets each key
 * back (`window` gets in flight); the value must be the one written (a
 * msgpack string "v<seq>" padded with 'x' to value_bytes). When done it logs
 * one line:
 *   "store_check: done: N acknowledged writes, M missing, W wrong, B bad lines"
 *   args: {acks: PATH, window: 1..256 (default 32), value_bytes: as written}
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <actr/plugin.h>

#define MAX_WINDOW 256
#define KEY_LEN 11 /* "k" + 10 digits */

/* The value of write `seq`: msgpack str8/str16 "v<seq>" padded with 'x'. */
static size_t make_value(uint8_t *buf, uint32_t seq, uint32_t bytes)
{
    size_t n = 0;
    if (bytes <= 0xff) {
        buf[n++] = 0xd9;
        buf[n++] = (uint8_t)bytes;
    } else {
        buf[n++] = 0xda;
        buf[n++] = (uint8_t)(bytes >> 8);
        buf[n++] = (uint8_t)bytes;
    }
    char head[16];
    int hl = snprintf(head, sizeof(head), "v%u", seq);
    memset(buf + n, 'x', bytes);
    memcpy(buf + n, head, (size_t)hl < bytes ? (size_t)hl : bytes);
    return n + bytes;
}

static void logf_(actr_ctx_t *ctx, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void logf_(actr_ctx_t *ctx, int level, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    actr_ctx_log(ctx, level, line);
}

/* Read the common args: a path under `pkey`, window, value_bytes. */
static int read_args(actr_ctx_t *ctx, const void *args, size_t len, const char *pkey,
                     char *path, size_t cap, uint32_t *window, uint32_t *vbytes)
{
    const char *p = NULL;
    size_t pl = 0;
    int64_t w = *window, vb = *vbytes;
    int rc = actr_ctx_unpack(ctx, args, len, "{s:s ?s:I ?s:I}", pkey, &p, &pl, "window", &w,
                             "value_bytes", &vb);
    if (rc != 0 || pl == 0 || pl >= cap || w < 1 || w > MAX_WINDOW || vb < 8 || vb > 4096) {
        logf_(ctx, 3, "store_storm: bad args: need {%s: PATH, window: 1..%d, value_bytes: 8..4096}",
              pkey, MAX_WINDOW);
        return ACTR_EINVAL;
    }
    memcpy(path, p, pl);
    path[pl] = '\0';
    *window = (uint32_t)w;
    *vbytes = (uint32_t)vb;
    return 0;
}

/* ---- store_storm: the writers --------------------------------------------------------- */

typedef struct storm {
    int fd;
    uint32_t window, vbytes;
    uint32_t next;   /* the next sequence number to write */
    int failed;      /* a write failed: no more writes */
    char ns[64];
    struct {
        uint64_t id;
        uint32_t seq;
    } flight[MAX_WINDOW];
    uint32_t nflight;
} storm_t;

static int storm_put(actr_ctx_t *ctx, storm_t *s)
{
    char key[KEY_LEN + 1];
    uint8_t val[4100];
    uint32_t seq = s->next;
    snprintf(key, sizeof(key), "k%010u", seq);
    size_t vl = make_value(val, seq, s->vbytes);
    uint64_t id;
    int rc = actr_ctx_store_put(ctx, s->ns, key, KEY_LEN, val, vl, &id);
    if (rc != 0) {
        logf_(ctx, 3, "store_storm %s: put %s refused: %s", s->ns, key, actr_ctx_strerror(ctx, rc));
        s->failed = 1;
        return rc;
    }
    s->flight[s->nflight].id = id;
    s->flight[s->nflight].seq = seq;
    s->nflight++;
    s->next++;
    return 0;
}

static int storm_init(actr_ctx_t *ctx, void *state, const void *args, size_t len)
{
    storm_t *s = state;
    char path[1024];
    s->window = 16;
    s->vbytes = 100;
    s->fd = -1;
    int rc = read_args(ctx, args, len, "file", path, sizeof(path), &s->window, &s->vbytes);
    if (rc != 0)
        return rc;
    s->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (s->fd < 0) {
        int e = errno;
        logf_(ctx, 3, "store_storm: cannot open %s: %s", path, strerror(e));
        return -e;
    }
    actr_ref_t self = actr_ctx_self(ctx);
    snprintf(s->ns, sizeof(s->ns), "storm:%u.%u", self.slot, self.gen);
    while (s->nflight < s->window && storm_put(ctx, s) == 0) {
    }
    return s->failed ? ACTR_ESTORE : 0;
}

static int storm_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    storm_t *s = state;
    if (!actr_ctx_msg_is_reply(ctx, msg) && actr_ctx_msg_type(ctx, msg) != ACTR_MSG_REQFAIL)
        return 0;
    uint64_t id = actr_ctx_msg_request_id(ctx, msg);
    uint32_t i = 0;
    while (i < s->nflight && s->flight[i].id != id)
        i++;
    if (i == s->nflight)
        return 0;
    uint32_t seq = s->flight[i].seq;
    s->flight[i] = s->flight[--s->nflight];
    const char *why = NULL;
    int rc = actr_ctx_store_result(ctx, msg, &why);
    if (rc != 0) {
        if (!s->failed)
            logf_(ctx, 3, "store_storm %s: put k%010u failed: %s", s->ns, seq,
                  why && why[0] ? why : actr_ctx_strerror(ctx, rc));
        s->failed = 1;
        return 0;
    }
    char line[96];
    int n = snprintf(line, sizeof(line), "%s k%010u\n", s->ns, seq);
    if (write(s->fd, line, (size_t)n) != n) {
        int e = errno ? errno : EIO;
        logf_(ctx, 3, "store_storm %s: cannot record an acknowledgement: %s", s->ns,
              strerror(e));
        return -e;
    }
    if (!s->failed)
        (void)storm_put(ctx, s);
    return 0;
}

static void storm_terminate(actr_ctx_t *ctx, void *state, const char *reason)
{
    (void)ctx;
    (void)reason;
    storm_t *s = state;
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
}

/* ---- store_check: the verifier -------------------------------------------------------- */

typedef struct check {
    char *text;       /* the acknowledgement file, NUL-terminated (malloc) */
    size_t pos, len;  /* the next line to check */
    uint32_t window, vbytes;
    uint64_t checked, missing, wrong, bad;
    struct {
        uint64_t id;
        uint32_t seq;
    } flight[MAX_WINDOW];
    uint32_t nflight;
    int done;
} check_t;

/* Issue gets until the window is full or the lines run out; log when done. */
static void check_pump(actr_ctx_t *ctx, check_t *c)
{
    while (c->nflight < c->window && c->pos < c->len) {
        char *line = c->text + c->pos, *nl = memchr(line, '\n', c->len - c->pos);
        if (nl == NULL) { /* a last line cut short is not a complete acknowledgement */
            c->pos = c->len;
            break;
        }
        *nl = '\0';
        c->pos = (size_t)(nl - c->text) + 1;
        char *sp = strchr(line, ' ');
        unsigned seq;
        char tail;
        if (sp == NULL || sp == line || strlen(sp + 1) != KEY_LEN ||
            sscanf(sp + 1, "k%10u%c", &seq, &tail) != 1) {
            c->bad++;
            continue;
        }
        *sp = '\0';
        uint64_t id;
        int rc = actr_ctx_store_get(ctx, line, sp + 1, KEY_LEN, &id);
        if (rc != 0) {
            logf_(ctx, 3, "store_check: get %s %s refused: %s", line, sp + 1,
                  actr_ctx_strerror(ctx, rc));
            c->wrong++;
            continue;
        }
        c->flight[c->nflight].id = id;
        c->flight[c->nflight].seq = seq;
        c->nflight++;
    }
    if (c->nflight == 0 && c->pos >= c->len && !c->done) {
        c->done = 1;
        logf_(ctx, 2,
              "store_check: done: %llu acknowledged writes, %llu missing, %llu wrong, %llu bad "
              "lines",
              (unsigned long long)c->checked, (unsigned long long)c->missing,
              (unsigned long long)c->wrong, (unsigned long long)c->bad);
    }
}

static int check_init(actr_ctx_t *ctx, void *state, const void *args, size_t len)
{
    check_t *c = state;
    char path[1024];
    c->window = 32;
    c->vbytes = 100;
    int rc = read_args(ctx, args, len, "acks", path, sizeof(path), &c->window, &c->vbytes);
    if (rc != 0)
        return rc;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        int e = errno;
        logf_(ctx, 3, "store_check: cannot open %s: %s", path, strerror(e));
        return -e;
    }
    size_t cap = 1 << 16;
    c->text = malloc(cap);
    while (c->text != NULL) {
        size_t got = fread(c->text + c->len, 1, cap - c->len - 1, f);
        c->len += got;
        if (got == 0)
            break;
        if (cap - c->len < 2) {
            char *t = realloc(c->text, cap * 2);
            if (t == NULL) {
                free(c->text);
                c->text = NULL;
                break;
            }
            c->text = t;
            cap *= 2;
        }
    }
    fclose(f);
    if (c->text == NULL)
        return ACTR_ENOMEM;
    c->text[c->len] = '\0';
    check_pump(ctx, c);
    return 0;
}

static int check_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    check_t *c = state;
    if (!actr_ctx_msg_is_reply(ctx, msg) && actr_ctx_msg_type(ctx, msg) != ACTR_MSG_REQFAIL)
        return 0;
    uint64_t id = actr_ctx_msg_request_id(ctx, msg);
    uint32_t i = 0;
    while (i < c->nflight && c->flight[i].id != id)
        i++;
    if (i == c->nflight)
        return 0;
    uint32_t seq = c->flight[i].seq;
    c->flight[i] = c->flight[--c->nflight];
    const void *val;
    size_t vl;
    uint8_t want[4100];
    size_t wl = make_value(want, seq, c->vbytes);
    int rc = actr_ctx_store_value(ctx, msg, &val, &vl);
    c->checked++;
    if (rc == 0) {
        c->missing++;
        if (c->missing <= 5)
            logf_(ctx, 3, "store_check: acknowledged write k%010u is missing", seq);
    } else if (rc < 0 || vl != wl || memcmp(val, want, wl) != 0) {
        c->wrong++;
        if (c->wrong <= 5)
            logf_(ctx, 3, "store_check: k%010u: %s", seq,
                  rc < 0 ? actr_ctx_strerror(ctx, rc) : "wrong value");
    }
    check_pump(ctx, c);
    return 0;
}

static void check_terminate(actr_ctx_t *ctx, void *state, const char *reason)
{
    (void)ctx;
    (void)reason;
    check_t *c = state;
    free(c->text);
    c->text = NULL;
}

static const actr_actor_type_t types[] = {
    {
        .size = sizeof(actr_actor_type_t),
        .name = "store_storm",
        .state_size = sizeof(storm_t),
        .init = storm_init,
        .receive = storm_receive,
        .terminate = storm_terminate,
    },
    {
        .size = sizeof(actr_actor_type_t),
        .name = "store_check",
        .state_size = sizeof(check_t),
        .init = check_init,
        .receive = check_receive,
        .terminate = check_terminate,
    },
};

static const actr_plugin_t plugin = {
    .abi_major = ACTR_PLUGIN_ABI_MAJOR,
    .abi_minor = ACTR_PLUGIN_ABI_MINOR,
    .size = sizeof(actr_plugin_t),
    .signature = ACTR_PLUGIN_SIGNATURE,
    .name = "store_storm",
    .version = "1.0.0",
    .types = types,
    .ntypes = sizeof(types) / sizeof(types[0]),
};

ACTR_PLUGIN_DEFINE(plugin)

/* tests/unit/swap_helpers.h — what the hot swap suites (test-swap.c,
 * test-swaplive.c) share: a runtime with a client, loading and swapping the
 * test plugin "swapper" (tests/plugins/swap_v*.c, protocol in
 * tests/plugins/swapper.h), talking to its actors (pipelined requests that
 * retry on a full mailbox), and what the node looks like (plugin listing,
 * live actors, private copies on disk and in /proc/self/maps).
 *
 * Header-only (static inline), included by one test file per suite; each
 * test runs in its own process, so the file-level state is per test.
 */
#ifndef ACTR_TEST_SWAP_HELPERS_H
#define ACTR_TEST_SWAP_HELPERS_H

#include <dirent.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "actr.h"
#include "files.h" /* test_copy_file and the other whole-file helpers */
#include "task.h"
#include "util.h"

#define TP(x) ACTR_BINARY_DIR "/tests/plugins/" x ".so"
#define V1 TP("swap_v1")
#define V2 TP("swap_v2")
#define V3 TP("swap_v3")
#define TYPE "swapper.counter"
#define SWAPPER_MSG_STARTED 7u /* as in tests/plugins/swapper.h: "busy" has started */
#define WAIT_MS 30000
#define WINDOW 128 /* requests in flight from the test thread */

/* user message types of the test's own actors */
enum { MSG_GO = 100, MSG_SEQ, MSG_DONE, MSG_LINKED, MSG_LINKEXIT };

static actr_t *rt;
static actr_ctx_t *cl;
static char tmpdir[256];

static inline void open_rt(const char *data_dir)
{
    actr_options_t o;
    actr_options_init(&o);
    o.log_level = ACTR_LOG_OFF;
    o.workers = 2;
    o.data_dir = data_dir;
    ASSERT_OK(actr_open(&rt, &o));
    ASSERT_OK(actr_start(rt));
    ASSERT_OK(actr_client_open(rt, &cl));
}

static inline void close_rt(void)
{
    actr_client_close(cl);
    cl = NULL;
    ASSERT_OK(actr_stop(rt));
    ASSERT_OK(actr_wait(rt));
    actr_close(rt);
    rt = NULL;
}

static inline void setup(void)
{
    tmpdir[0] = '\0';
    open_rt(NULL);
}

static inline void teardown(void)
{
    close_rt();
    if (tmpdir[0] != '\0')
        actr__rmtree(tmpdir);
}

static inline const char *make_tmpdir(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/actr-swap-test.XXXXXX");
    ASSERT_NOT_NULL(mkdtemp(tmpdir));
    return tmpdir;
}

static inline void load(const char *path)
{
    actr_error_t err;
    memset(&err, 0, sizeof(err));
    int rc = actr_plugin_load(rt, path, &err);
    if (rc != 0)
        TEST_FAIL_("load %s: %s: %s", path, actr_err_name(rc), err.msg);
}

static inline void swap_ok(const char *path, const char *from, const char *to, uint64_t actors)
{
    actr_error_t err;
    actr_swap_info_t info;
    memset(&err, 0, sizeof(err));
    memset(&info, 0, sizeof(info));
    int rc = actr_plugin_swap(rt, "swapper", path, &info, &err);
    if (rc != 0)
        TEST_FAIL_("swap to %s: %s: %s", path, actr_err_name(rc), err.msg);
    ASSERT_STR_EQ(info.from_version, from);
    ASSERT_STR_EQ(info.to_version, to);
    if (actors != UINT64_MAX)
        ASSERT_EQ(info.actors, actors);
}

static inline void rollback_ok(const char *from, const char *to, uint64_t actors)
{
    actr_error_t err;
    actr_swap_info_t info;
    memset(&err, 0, sizeof(err));
    memset(&info, 0, sizeof(info));
    int rc = actr_plugin_rollback(rt, "swapper", &info, &err);
    if (rc != 0)
        TEST_FAIL_("rollback: %s: %s", actr_err_name(rc), err.msg);
    ASSERT_STR_EQ(info.from_version, from);
    ASSERT_STR_EQ(info.to_version, to);
    if (actors != UINT64_MAX)
        ASSERT_EQ(info.actors, actors);
}

/* ---- talking to swapper actors ------------------------------------------------------ */

typedef struct sw {
    char version[16], note[32];
    int64_t sum;
    uint64_t calls, generation, received, errors, ticks, tick_by, pubs, pub_by, init_by,
        migrated_from;
} sw_t;

static inline void parse_get(const actr_msg_t *rep, sw_t *s)
{
    const char *v, *n;
    size_t vl, nl;
    memset(s, 0, sizeof(*s));
    ASSERT_EQ(actr_msg_type(rep), 1);
    ASSERT_OK(actr_msg_unpack(rep, "{s:s s:I s:U s:s s:U s:U s:U s:U s:U s:U s:U s:U s:U}",
                              "version", &v, &vl, "sum", &s->sum, "calls", &s->calls, "note", &n,
                              &nl, "generation", &s->generation, "received", &s->received,
                              "errors", &s->errors, "ticks", &s->ticks, "tick_by", &s->tick_by,
                              "pubs", &s->pubs, "pub_by", &s->pub_by, "init_by", &s->init_by,
                              "migrated_from", &s->migrated_from));
    ASSERT(vl < sizeof(s->version) && nl < sizeof(s->note));
    memcpy(s->version, v, vl);
    memcpy(s->note, n, nl);
}

static inline actr_msg_t *op_msg(const char *op, int64_t n)
{
    actr_msg_t *m;
    if (strcmp(op, "add") == 0 || strcmp(op, "busy") == 0)
        ASSERT_OK(actr_msg_pack(cl, 1, &m, "{s:s s:I}", "op", op, "n", n));
    else
        ASSERT_OK(actr_msg_pack(cl, 1, &m, "{s:s}", "op", op));
    return m;
}

/* Send one request, retrying while the target's mailbox is full. */
static inline void request_retry(actr_ref_t to, const char *op, int64_t n, uint64_t *id)
{
    uint64_t dl = test_now_ms() + WAIT_MS;
    for (;;) {
        int rc = actr_request(cl, to, op_msg(op, n), WAIT_MS, id);
        if (rc != ACTR_EMAILBOX) {
            ASSERT_OK(rc);
            return;
        }
        if (test_now_ms() > dl)
            TEST_FAIL_("mailbox of an actor stayed full for %d ms", WAIT_MS);
        test_nap_ms(1);
    }
}

static inline actr_msg_t *recv_reply(void)
{
    actr_msg_t *m = NULL;
    ASSERT_OK(actr_client_recv(cl, WAIT_MS, &m));
    if (actr_msg_type(m) == ACTR_MSG_REQFAIL)
        TEST_FAIL_("request failed: %s", actr_err_name(actr_msg_error(m)));
    ASSERT(actr_msg_is_reply(m));
    return m;
}

/* The request `op` (with `n[i]` for add) to every refs[i], WINDOW at a time;
 * get answers go to out[i], add answers must be {"ok":true}. */
static inline void request_many(const actr_ref_t *refs, size_t n, const char *op,
                                const int64_t *amount, sw_t *out)
{
    uint64_t ids[WINDOW];
    for (size_t base = 0; base < n; base += WINDOW) {
        size_t k = n - base < WINDOW ? n - base : WINDOW;
        for (size_t i = 0; i < k; i++)
            request_retry(refs[base + i], op, amount ? amount[base + i] : 0, &ids[i]);
        for (size_t got = 0; got < k; got++) {
            actr_msg_t *m = recv_reply();
            uint64_t id = actr_msg_request_id(m);
            size_t i = 0;
            while (i < k && ids[i] != id)
                i++;
            ASSERT(i < k);
            ids[i] = 0;
            if (out != NULL) {
                parse_get(m, &out[base + i]);
            } else {
                bool ok = false;
                ASSERT_OK(actr_msg_unpack(m, "{s:b}", "ok", &ok));
                ASSERT(ok);
            }
            actr_msg_free(m);
        }
    }
}

static inline sw_t get1(actr_ref_t ref)
{
    sw_t s;
    request_many(&ref, 1, "get", NULL, &s);
    return s;
}

static inline void send_plain(actr_ref_t to, const char *op)
{
    actr_msg_t *m;
    ASSERT_OK(actr_msg_pack(cl, 1, &m, "{s:s}", "op", op));
    ASSERT_OK(actr_send(cl, to, m));
}

static inline actr_ref_t spawn_sw(int64_t sum, const char *name, uint32_t mailbox_limit)
{
    uint8_t args[16];
    size_t len;
    actr_spawn_opts_t o;
    actr_ref_t r;
    memset(&o, 0, sizeof(o));
    o.name = name;
    o.mailbox_limit = mailbox_limit;
    ASSERT_OK(actr_pack(args, sizeof(args), &len, "I", sum));
    ASSERT_OK(actr_spawn_type(cl, TYPE, args, len, &o, &r));
    return r;
}

/* Wait until every actor of refs has run its init (answered a get): a
 * plugin counts an actor as live, and a swap migrates it, from then on. */
static inline void sync_all(const actr_ref_t *refs, size_t n)
{
    sw_t *st = malloc(n * sizeof(*st));
    ASSERT_NOT_NULL(st);
    request_many(refs, n, "get", NULL, st);
    free(st);
}

/* ---- what the node looks like ------------------------------------------------------- */

typedef struct seen {
    char name[64], version[64], path[512], types[256];
    uint64_t actors;
} seen_t;

typedef struct seen_list {
    int n;
    seen_t v[8];
} seen_list_t;

static inline void collect(void *ud, const actr_plugin_info_t *info)
{
    seen_list_t *l = ud;
    ASSERT(l->n < 8);
    seen_t *s = &l->v[l->n++];
    memset(s, 0, sizeof(*s));
    snprintf(s->name, sizeof(s->name), "%s", info->name);
    snprintf(s->version, sizeof(s->version), "%s", info->version);
    snprintf(s->path, sizeof(s->path), "%s", info->path);
    for (uint32_t i = 0; i < info->ntypes; i++) {
        if (i > 0)
            strcat(s->types, ",");
        strcat(s->types, info->types[i]);
    }
    s->actors = info->actors;
}

static inline seen_list_t list_now(void)
{
    seen_list_t l;
    memset(&l, 0, sizeof(l));
    ASSERT_OK(actr_plugin_list(rt, collect, &l));
    return l;
}

static inline const seen_t *find_plugin(const seen_list_t *l, const char *name)
{
    for (int i = 0; i < l->n; i++)
        if (strcmp(l->v[i].name, name) == 0)
            return &l->v[i];
    return NULL;
}

static inline void assert_lists_equal(const seen_list_t *a, const seen_list_t *b)
{
    ASSERT_EQ(a->n, b->n);
    for (int i = 0; i < a->n; i++) {
        ASSERT_STR_EQ(a->v[i].name, b->v[i].name);
        ASSERT_STR_EQ(a->v[i].version, b->v[i].version);
        ASSERT_STR_EQ(a->v[i].path, b->v[i].path);
        ASSERT_STR_EQ(a->v[i].types, b->v[i].types);
        ASSERT_EQ(a->v[i].actors, b->v[i].actors);
    }
}

typedef struct refset {
    size_t n, cap;
    actr_ref_t *v;
} refset_t;

static inline void collect_actor(void *ud, const actr_actor_info_t *info)
{
    refset_t *s = ud;
    if (info->type == NULL || strcmp(info->type, TYPE) != 0)
        return;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 256;
        s->v = realloc(s->v, s->cap * sizeof(*s->v));
        ASSERT_NOT_NULL(s->v);
    }
    s->v[s->n++] = info->ref;
}

static inline int ref_cmp(const void *a, const void *b)
{
    const actr_ref_t *x = a, *y = b;
    if (x->slot != y->slot)
        return x->slot < y->slot ? -1 : 1;
    return x->gen < y->gen ? -1 : x->gen > y->gen;
}

/* The live actors of swapper.counter are exactly refs[0..n). */
static inline void assert_live_refs(const actr_ref_t *refs, size_t n)
{
    refset_t s = {0, 0, NULL};
    ASSERT_OK(actr_actors_list(rt, collect_actor, &s));
    ASSERT_EQ(s.n, n);
    actr_ref_t *want = malloc(n * sizeof(*want));
    ASSERT_NOT_NULL(want);
    memcpy(want, refs, n * sizeof(*want));
    qsort(want, n, sizeof(*want), ref_cmp);
    qsort(s.v, s.n, sizeof(*s.v), ref_cmp);
    for (size_t i = 0; i < n; i++)
        ASSERT(actr_ref_eq(want[i], s.v[i]));
    free(want);
    free(s.v);
}

/* ---- files -------------------------------------------------------------------------------- */

static inline void copies_dir(char *out, size_t cap)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s/plugins", actr_data_dir(rt));
    if (realpath(dir, out) == NULL)
        snprintf(out, cap, "%s", dir);
}

/* Files in the runtime's private plugin copies folder. */
static inline int ncopies(void)
{
    char dir[PATH_MAX];
    copies_dir(dir, sizeof(dir));
    DIR *d = opendir(dir);
    if (d == NULL)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

/* Lines of /proc/self/maps that map a file of the private copies folder. */
static inline int mapped_copies(void)
{
    char dir[PATH_MAX], line[PATH_MAX + 256];
    copies_dir(dir, sizeof(dir));
    size_t dl = strlen(dir);
    FILE *f = fopen("/proc/self/maps", "r");
    ASSERT_NOT_NULL(f);
    int n = 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        const char *p = strchr(line, '/');
        if (p != NULL && strncmp(p, dir, dl) == 0 && p[dl] == '/')
            n++;
    }
    fclose(f);
    return n;
}

#endif

/* tests/unit/test-store.c — the state store's API and semantics (suite
 * `store`; the store's file on disk is suite `store_files`, shared helpers
 * in store_helpers.h).
 *
 * Covers, through the public API: put/get/delete/scan with prefixes and
 * limits, binary keys and values, ordering of a get after a put from one
 * actor; the reply decoders on real replies and on every truncation and byte
 * flip of them; argument checks at the call (ACTR_E2BIG, ACTR_EINVAL,
 * ACTR_ESTORE with no store, bad options, ACTR_EEXIST, ACTR_ECONTEXT from a
 * handler); durability across a restart on the same data directory, and
 * writes from terminate at shutdown; an actor that reads its namespace back
 * in init with actr_await before it serves anything; many concurrent writers
 * with every ack checked; the store used without actr_start, two runtimes
 * with a store each, close with writes queued; stats; full sync with one
 * write per transaction.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "actr.h"
#include "store_helpers.h"
#include "task.h"
#include "util.h"

enum {
    T_GO = 300, /* start the work */
    T_DONE,     /* [ok:int, failed:int] */
    T_QUERY,    /* request: [key:bin] -> [found:int, value:bin|nil] */
    T_ANSWER,
    T_CODE,  /* [code:int] */
    T_ORDER, /* orderer: run the put/get/delete sequence */
};

/* The next message of `type` (others fail the test). */
static actr_msg_t *wait_type(actr_ctx_t *cl, uint32_t type)
{
    actr_msg_t *m = NULL;
    ASSERT_OK(actr_client_recv(cl, WAIT_MS, &m));
    if (actr_msg_type(m) != type)
        TEST_FAIL_("expected message type %" PRIu32 ", got %" PRIu32, type, actr_msg_type(m));
    return m;
}

static int del_s(actr_ctx_t *cl, const char *ns, const char *k)
{
    uint64_t id;
    int rc = actr_store_delete(cl, ns, k, strlen(k), &id);
    if (rc != 0)
        return rc;
    actr_msg_t *m = wait_for(cl, id);
    rc = actr_store_result(m, NULL);
    actr_msg_free(m);
    return rc;
}

/* The keys of a scan reply joined by ',' (printable keys only). */
static void scan_keys(const actr_msg_t *m, char *out, size_t cap)
{
    size_t pos = 0, o = 0;
    const void *k, *v;
    size_t kl, vl;
    int rc;
    out[0] = '\0';
    while ((rc = actr_store_scan_next(m, &pos, &k, &kl, &v, &vl)) == 1) {
        ASSERT(o + kl + 2 < cap);
        if (o > 0)
            out[o++] = ',';
        memcpy(out + o, k, kl);
        o += kl;
        out[o] = '\0';
    }
    ASSERT_EQ(rc, 0);
}

/* ---- basic operations -------------------------------------------------------------- */

TEST_IMPL(store, put_get_delete)
{
    actr_t *rt;
    actr_ctx_t *cl;
    make_tmpdir();
    rt_open(&rt, &cl, tmpdir, 1);
    ASSERT_EQ(actr_store_is_open(rt), 0);
    store_open(rt, NULL, 0);
    ASSERT_EQ(actr_store_is_open(rt), 1);
    char path[512], buf[256];
    path_in(path, sizeof(path), "actr.db");
    ASSERT_EQ(access(path, F_OK), 0); /* <data_dir>/actr.db by default */

    ASSERT_EQ(get_s(cl, "ns", "a", buf, sizeof(buf)), 0);
    ASSERT_OK(put_s(cl, "ns", "a", "one"));
    ASSERT_EQ(get_s(cl, "ns", "a", buf, sizeof(buf)), 1);
    ASSERT_STR_EQ(buf, "one");
    ASSERT_OK(put_s(cl, "ns", "a", "two")); /* replaces */
    ASSERT_EQ(get_s(cl, "ns", "a", buf, sizeof(buf)), 1);
    ASSERT_STR_EQ(buf, "two");
    ASSERT_EQ(get_s(cl, "other", "a", buf, sizeof(buf)), 0); /* namespaces are apart */
    ASSERT_OK(del_s(cl, "ns", "a"));
    ASSERT_EQ(get_s(cl, "ns", "a", buf, sizeof(buf)), 0);
    ASSERT_OK(del_s(cl, "ns", "missing")); /* deleting a missing key succeeds */

    /* binary keys and values, NULs included; an empty value */
    const unsigned char bk[] = {0, 1, 0xff, 0, 7};
    const unsigned char bv[] = {0xc1, 0, 0, 0x80, 0xff, 0};
    size_t vl = 0;
    ASSERT_OK(put(cl, "bin", bk, sizeof(bk), bv, sizeof(bv)));
    ASSERT_EQ(get(cl, "bin", bk, sizeof(bk), buf, sizeof(buf), &vl), 1);
    ASSERT_EQ(vl, sizeof(bv));
    ASSERT_EQ(memcmp(buf, bv, sizeof(bv)), 0);
    ASSERT_EQ(get(cl, "bin", bk, 4, buf, sizeof(buf), &vl), 0); /* a prefix is another key */
    ASSERT_OK(put(cl, "bin", "e", 1, NULL, 0));
    ASSERT_EQ(get(cl, "bin", "e", 1, buf, sizeof(buf), &vl), 1);
    ASSERT_EQ(vl, 0);

    /* largest key and namespace */
    char bigkey[ACTR_STORE_MAX_KEY], ns[ACTR_STORE_MAX_NS + 1];
    memset(bigkey, 'k', sizeof(bigkey));
    memset(ns, 'n', ACTR_STORE_MAX_NS);
    ns[ACTR_STORE_MAX_NS] = '\0';
    ASSERT_OK(put(cl, ns, bigkey, sizeof(bigkey), "v", 1));
    ASSERT_EQ(get(cl, ns, bigkey, sizeof(bigkey), buf, sizeof(buf), &vl), 1);
    ASSERT_MEM_STR(buf, vl, "v");

    actr_store_stats_t s;
    ASSERT_OK(actr_store_stats(rt, &s));
    ASSERT_EQ(s.writes, 7);
    ASSERT_GE(s.reads, 9);
    ASSERT_GE(s.commits, 1);
    ASSERT_EQ(s.errors, 0);
    rt_close(rt, cl);
    actr__rmtree(tmpdir);
}

TEST_IMPL(store, scan_prefix_limit)
{
    actr_t *rt;
    actr_ctx_t *cl;
    make_tmpdir();
    rt_open(&rt, &cl, tmpdir, 1);
    store_open(rt, NULL, 0);
    const char *keys[] = {"b", "a", "ab", "abc", "abd", "ac", "b\x01", "c"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        ASSERT_OK(put_s(cl, "s", keys[i], keys[i]));
    ASSERT_OK(put_s(cl, "s2", "ab", "other namespace"));
    ASSERT_OK(put_s(cl, "t", "\xff\xff", "1"));
    ASSERT_OK(put_s(cl, "t", "\xff\xff\x01", "2"));
    ASSERT_OK(put_s(cl, "t", "\xff\xfe", "3"));
    ASSERT_OK(put_s(cl, "t", "\xff", "4"));
    char out[256];

    actr_msg_t *m = scan(cl, "s", NULL, 0, 0); /* all, in key order */
    scan_keys(m, out, sizeof(out));
    ASSERT_STR_EQ(out, "a,ab,abc,abd,ac,b,b\x01,c");
    /* values come with their keys */
    size_t pos = 0, kl, vl;
    const void *k, *v;
    while (actr_store_scan_next(m, &pos, &k, &kl, &v, &vl) == 1)
        ASSERT(kl == vl && memcmp(k, v, kl) == 0);
    actr_msg_free(m);

    m = scan(cl, "s", "ab", 2, 0);
    scan_keys(m, out, sizeof(out));
    ASSERT_STR_EQ(out, "ab,abc,abd");
    actr_msg_free(m);
    m = scan(cl, "s", "ab", 2, 2);
    scan_keys(m, out, sizeof(out));
    ASSERT_STR_EQ(out, "ab,abc");
    actr_msg_free(m);
    m = scan(cl, "s", "b", 1, 0);
    scan_keys(m, out, sizeof(out));
    ASSERT_STR_EQ(out, "b,b\x01");
    actr_msg_free(m);
    m = scan(cl, "s", "zz", 2, 0);
    ASSERT_EQ(scan_count(m), 0);
    actr_msg_free(m);
    m = scan(cl, "nothing", NULL, 0, 0);
    ASSERT_EQ(scan_count(m), 0);
    actr_msg_free(m);
    /* prefixes ending in 0xff have no simple successor */
    m = scan(cl, "t", "\xff\xff", 2, 0);
    scan_keys(m, out, sizeof(out));
    ASSERT_STR_EQ(out, "\xff\xff,\xff\xff\x01");
    actr_msg_free(m);
    m = scan(cl, "t", "\xff", 1, 0);
    ASSERT_EQ(scan_count(m), 4);
    actr_msg_free(m);
    m = scan(cl, "t", NULL, 0, 1);
    scan_keys(m, out, sizeof(out));
    ASSERT_STR_EQ(out, "\xff");
    actr_msg_free(m);
    rt_close(rt, cl);
    actr__rmtree(tmpdir);
}

/* ---- argument checks, decoders --------------------------------------------------- */

struct opener_report {
    _Atomic int done, open_rc, backup_rc;
};
static struct opener_report opener;

static int opener_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    (void)state, (void)msg;
    actr_error_t err;
    atomic_store(&opener.open_rc, actr_store_open(actr_ctx_runtime(ctx), NULL, &err));
    atomic_store(&opener.backup_rc, actr_store_backup(actr_ctx_runtime(ctx), "/tmp/x", &err));
    atomic_store(&opener.done, 1);
    return 0;
}
static const actr_behavior_t opener_beh = {sizeof(actr_behavior_t), "opener", 0, NULL,
                                           opener_receive,          NULL};

TEST_IMPL(store, bad_arguments)
{
    actr_t *rt;
    actr_ctx_t *cl;
    make_tmpdir();
    rt_open(&rt, &cl, tmpdir, 1);
    uint64_t id = 0;
    char val[200];
    memset(val, 'v', sizeof(val));
    /* no store open */
    ASSERT_ERR(actr_store_put(cl, "ns", "k", 1, "v", 1, &id), ACTR_ESTORE);
    ASSERT_ERR(actr_store_get(cl, "ns", "k", 1, &id), ACTR_ESTORE);
    ASSERT_ERR(actr_store_delete(cl, "ns", "k", 1, &id), ACTR_ESTORE);
    ASSERT_ERR(actr_store_scan(cl, "ns", NULL, 0, 0, &id), ACTR_ESTORE);
    actr_store_stats_t s;
    ASSERT_ERR(actr_store_stats(rt, &s), ACTR_ESTORE);
    actr_error_t err;
    ASSERT_ERR(actr_store_backup(rt, "/tmp/none", &err), ACTR_ESTORE);
    ASSERT_CONTAINS(err.msg, "no store");

    /* bad options */
    actr_store_options_t so;
    actr_store_options_init(&so);
    so.sync = 7;
    ASSERT_ERR(actr_store_open(rt, &so, &err), ACTR_EINVAL);
    ASSERT_CONTAINS(err.msg, "sync");
    actr_store_options_init(&so);
    so.max_value = ACTR_STORE_LIMIT_MAX_VALUE + 1;
    ASSERT_ERR(actr_store_open(rt, &so, &err), ACTR_EINVAL);
    actr_store_options_init(&so);
    so.size = 3;
    ASSERT_ERR(actr_store_open(rt, &so, &err), ACTR_EINVAL);
    ASSERT_EQ(actr_store_is_open(rt), 0);

    store_open(rt, NULL, 100);
    ASSERT_ERR(actr_store_open(rt, NULL, &err), ACTR_EEXIST);
    /* from a handler */
    actr_ref_t a;
    ASSERT_OK(actr_spawn(cl, &opener_beh, NULL, 0, NULL, &a));
    actr_msg_t *go;
    ASSERT_OK(actr_msg_new(cl, T_GO, NULL, 0, &go));
    ASSERT_OK(actr_send(cl, a, go));
    ASSERT_EVENTUALLY(atomic_load(&opener.done), WAIT_MS);
    ASSERT_EQ(atomic_load(&opener.open_rc), ACTR_ECONTEXT);
    ASSERT_EQ(atomic_load(&opener.backup_rc), ACTR_ECONTEXT);

    /* sizes, refused at the call: nothing is sent */
    ASSERT_ERR(actr_store_put(cl, "ns", "k", 1, val, 101, &id), ACTR_E2BIG);
    ASSERT_OK(put(cl, "ns", "k", 1, val, 100));
    ASSERT_ERR(actr_store_put(cl, "ns", "", 0, "v", 1, &id), ACTR_EINVAL);
    ASSERT_ERR(actr_store_put(cl, "ns", NULL, 1, "v", 1, &id), ACTR_EINVAL);
    ASSERT_ERR(actr_store_put(cl, "ns", "k", 1, NULL, 1, &id), ACTR_EINVAL);
    ASSERT_ERR(actr_store_put(cl, "", "k", 1, "v", 1, &id), ACTR_EINVAL);
    ASSERT_ERR(actr_store_put(cl, NULL, "k", 1, "v", 1, &id), ACTR_EINVAL);
    char ns[ACTR_STORE_MAX_NS + 2];
    memset(ns, 'n', sizeof(ns) - 1);
    ns[sizeof(ns) - 1] = '\0';
    ASSERT_ERR(actr_store_put(cl, ns, "k", 1, "v", 1, &id), ACTR_EINVAL);
    char key[ACTR_STORE_MAX_KEY + 1];
    memset(key, 'k', sizeof(key));
    ASSERT_ERR(actr_store_put(cl, "ns", key, sizeof(key), "v", 1, &id), ACTR_EINVAL);
    ASSERT_ERR(actr_store_get(cl, "ns", "", 0, &id), ACTR_EINVAL);
    ASSERT_ERR(actr_store_delete(cl, "ns", "", 0, &id), ACTR_EINVAL);
    ASSERT_ERR(actr_store_scan(cl, "ns", key, sizeof(key), 0, &id), ACTR_EINVAL);
    ASSERT_ERR(actr_store_scan(cl, "", NULL, 0, 0, &id), ACTR_EINVAL);
    ASSERT_ERR(actr_store_put(NULL, "ns", "k", 1, "v", 1, &id), ACTR_EINVAL);
    /* nothing of the refused calls reached the store */
    ASSERT_OK(actr_store_stats(rt, &s));
    ASSERT_EQ(s.writes, 1);
    ASSERT_EQ(s.errors, 0);
    rt_close(rt, cl);
    actr__rmtree(tmpdir);
}

static int term_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    (void)ctx, (void)state, (void)msg;
    return 0;
}
static void term_terminate(actr_ctx_t *ctx, void *state, const char *reason)
{
    (void)state;
    uint64_t id;
    /* the runtime is stopping: the write must still be committed */
    (void)actr_store_put(ctx, "term", "bye", 3, reason, strlen(reason), &id);
}
static const actr_behavior_t term_beh = {sizeof(actr_behavior_t), "term", 0, NULL, term_receive,
                                         term_terminate};

/* Call every decoder on a message: they must never crash or read outside. */
static void decode_all(const actr_msg_t *m)
{
    const char *why = NULL;
    const void *v, *k;
    size_t vl, kl, pos = 0;
    int rc = actr_store_result(m, &why);
    ASSERT_NOT_NULL(why);
    if (rc != 0)
        (void)strlen(why);
    (void)actr_store_value(m, &v, &vl);
    for (int i = 0; i < 100000; i++) {
        rc = actr_store_scan_next(m, &pos, &k, &kl, &v, &vl);
        if (rc != 1)
            break;
    }
    ASSERT(rc != 1);
}

TEST_IMPL(store, reply_decoders)
{
    actr_t *rt;
    actr_ctx_t *cl;
    make_tmpdir();
    rt_open(&rt, &cl, tmpdir, 1);
    store_open(rt, NULL, 0);
    ASSERT_OK(put_s(cl, "d", "k1", "v1"));
    ASSERT_OK(put_s(cl, "d", "k2", "v2"));

    /* not a store reply */
    actr_msg_t *other;
    ASSERT_OK(actr_msg_pack(cl, 5, &other, "[is]", 0, ""));
    const char *why;
    ASSERT_ERR(actr_store_result(other, &why), ACTR_EMSGPACK);
    ASSERT_ERR(actr_store_value(other, NULL, NULL), ACTR_EMSGPACK);
    size_t pos = 0;
    ASSERT_ERR(actr_store_scan_next(other, &pos, NULL, NULL, NULL, NULL), ACTR_EMSGPACK);
    actr_msg_free(other);

    /* real replies of each kind */
    actr_msg_t *replies[4];
    uint64_t id;
    ASSERT_OK(actr_store_get(cl, "d", "k1", 2, &id));
    replies[0] = wait_for(cl, id);
    ASSERT_OK(actr_store_get(cl, "d", "zz", 2, &id));
    replies[1] = wait_for(cl, id);
    ASSERT_OK(actr_store_scan(cl, "d", NULL, 0, 0, &id));
    replies[2] = wait_for(cl, id);
    ASSERT_OK(actr_store_put(cl, "d", "k3", 2, "v3", 2, &id));
    replies[3] = wait_for(cl, id);
    const void *v;
    size_t vl;
    ASSERT_EQ(actr_store_value(replies[0], &v, &vl), 1);
    ASSERT_MEM_STR(v, vl, "v1");
    ASSERT_EQ(actr_store_value(replies[1], &v, &vl), 0);
    ASSERT_NULL(v);
    ASSERT_EQ(scan_count(replies[2]), 2);
    ASSERT_ERR(actr_store_value(replies[2], &v, &vl), ACTR_EMSGPACK); /* a scan is no get */
    ASSERT_OK(actr_store_result(replies[3], &why));
    ASSERT_STR_EQ(why, "");
    /* a position that did not come from scan_next */
    pos = 1;
    ASSERT_ERR(actr_store_scan_next(replies[2], &pos, NULL, NULL, NULL, NULL), ACTR_EINVAL);
    pos = 100000;
    ASSERT_ERR(actr_store_scan_next(replies[2], &pos, NULL, NULL, NULL, NULL), ACTR_EINVAL);

    /* every truncation and every single-byte change of each reply */
    for (int r = 0; r < 4; r++) {
        size_t len;
        const unsigned char *d = actr_msg_data(replies[r], &len);
        unsigned char *copy = malloc(len + 1);
        for (size_t cut = 0; cut <= len; cut++) {
            actr_msg_t *m;
            ASSERT_OK(actr_msg_new(cl, actr_msg_type(replies[r]), d, cut, &m));
            decode_all(m);
            actr_msg_free(m);
        }
        static const unsigned char vals[] = {0x00, 0x01, 0x7f, 0x80, 0x90, 0x93, 0xa0, 0xbf,
                                             0xc0, 0xc4, 0xc5, 0xc6, 0xd2, 0xd9, 0xdd, 0xff};
        for (size_t i = 0; i < len; i++) {
            for (size_t j = 0; j < sizeof(vals); j++) {
                memcpy(copy, d, len);
                copy[i] = vals[j];
                actr_msg_t *m;
                ASSERT_OK(actr_msg_new(cl, actr_msg_type(replies[r]), copy, len, &m));
                decode_all(m);
                actr_msg_free(m);
            }
        }
        free(copy);
        actr_msg_free(replies[r]);
    }
    /* a REQFAIL gives its own code (here: a request that timed out) */
    actr_ref_t mute;
    ASSERT_OK(actr_spawn(cl, &term_beh, NULL, 0, NULL, &mute));
    actr_msg_t *q;
    ASSERT_OK(actr_msg_new(cl, T_QUERY, NULL, 0, &q));
    ASSERT_OK(actr_request(cl, mute, q, 20, &id));
    actr_msg_t *fail = wait_for(cl, id);
    ASSERT_EQ(actr_msg_type(fail), ACTR_MSG_REQFAIL);
    ASSERT_ERR(actr_store_result(fail, &why), ACTR_ETIMEDOUT);
    ASSERT_STR_EQ(why, actr_strerror(ACTR_ETIMEDOUT));
    ASSERT_ERR(actr_store_value(fail, NULL, NULL), ACTR_ETIMEDOUT);
    pos = 0;
    ASSERT_ERR(actr_store_scan_next(fail, &pos, NULL, NULL, NULL, NULL), ACTR_ETIMEDOUT);
    actr_msg_free(fail);
    rt_close(rt, cl);
    actr__rmtree(tmpdir);
}

/* ---- durability, restart, await in init --------------------------------------------- */

TEST_IMPL(store, restart_keeps_everything)
{
    actr_t *rt;
    actr_ctx_t *cl;
    make_tmpdir();
    rt_open(&rt, &cl, tmpdir, 1);
    store_open(rt, NULL, 0);
    char k[32], v[64], buf[128];
    for (int i = 0; i < 500; i++) {
        snprintf(k, sizeof(k), "key%04d", i);
        snprintf(v, sizeof(v), "value of %d", i);
        ASSERT_OK(put_s(cl, "r", k, v));
    }
    ASSERT_OK(del_s(cl, "r", "key0007"));
    actr_ref_t a;
    ASSERT_OK(actr_spawn(cl, &term_beh, NULL, 0, NULL, &a));
    rt_close(rt, cl); /* stops the actor: its terminate writes */

    rt_open(&rt, &cl, tmpdir, 1);
    store_open(rt, NULL, 0);
    actr_msg_t *m = scan(cl, "r", NULL, 0, 0);
    ASSERT_EQ(scan_count(m), 499);
    actr_msg_free(m);
    for (int i = 0; i < 500; i++) {
        snprintf(k, sizeof(k), "key%04d", i);
        snprintf(v, sizeof(v), "value of %d", i);
        int rc = get_s(cl, "r", k, buf, sizeof(buf));
        ASSERT_EQ(rc, i == 7 ? 0 : 1);
        if (rc == 1)
            ASSERT_STR_EQ(buf, v);
    }
    ASSERT_EQ(get_s(cl, "term", "bye", buf, sizeof(buf)), 1);
    ASSERT_STR_EQ(buf, "shutdown");
    rt_close(rt, cl);
    actr__rmtree(tmpdir);
}

/* An actor that reads its namespace back in init (actr_await), then answers
 * T_QUERY requests from what it loaded. */
typedef struct loader {
    uint64_t scan_id;
    int loaded, early; /* early: a query reached the handler before the scan */
    size_t n;
    char keys[64][16], vals[64][32];
} loader_t;

static int loader_init(actr_ctx_t *ctx, void *state, const void *args, size_t len)
{
    (void)args, (void)len;
    loader_t *l = state;
    int rc = actr_store_scan(ctx, "loader", NULL, 0, 0, &l->scan_id);
    if (rc != 0)
        return rc;
    return actr_await(ctx, l->scan_id);
}

static int loader_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    loader_t *l = state;
    if (actr_msg_is_reply(msg) && actr_msg_request_id(msg) == l->scan_id) {
        size_t pos = 0, kl, vl;
        const void *k, *v;
        int rc;
        while ((rc = actr_store_scan_next(msg, &pos, &k, &kl, &v, &vl)) == 1 && l->n < 64) {
            snprintf(l->keys[l->n], sizeof(l->keys[0]), "%.*s", (int)kl, (const char *)k);
            snprintf(l->vals[l->n], sizeof(l->vals[0]), "%.*s", (int)vl, (const char *)v);
            l->n++;
        }
        l->loaded = rc == 0 ? 1 : rc;
        return 0;
    }
    if (actr_msg_type(msg) == T_QUERY && actr_msg_is_request(msg)) {
        if (!l->loaded)
            l->early = 1;
        const void *k;
        size_t kl;
        if (actr_msg_unpack(msg, "[x]", &k, &kl) != 0)
            return ACTR_EINVAL;
        const char *found = NULL;
        for (size_t i = 0; i < l->n; i++)
            if (strlen(l->keys[i]) == kl && memcmp(l->keys[i], k, kl) == 0)
                found = l->vals[i];
        actr_msg_t *r;
        int rc = found ? actr_msg_pack(ctx, T_ANSWER, &r, "[iis]", l->loaded, l->early, found)
                       : actr_msg_pack(ctx, T_ANSWER, &r, "[iin]", l->loaded, l->early);
        if (rc != 0)
            return rc;
        return actr_reply(ctx, msg, r);
    }
    return 0;
}
static const actr_behavior_t loader_beh = {
    sizeof(actr_behavior_t), "loader", sizeof(loader_t), loader_init, loader_receive, NULL};

TEST_IMPL(store, await_in_init)
{
    actr_t *rt;
    actr_ctx_t *cl;
    make_tmpdir();
    rt_open(&rt, &cl, tmpdir, 1);
    store_open(rt, NULL, 0);
    char k[16], v[32];
    for (int i = 0; i < 40; i++) {
        snprintf(k, sizeof(k), "k%02d", i);
        snprintf(v, sizeof(v), "v%d", i * 3);
        ASSERT_OK(put_s(cl, "loader", k, v));
    }
    for (int round = 0; round < 2; round++) {
        actr_ref_t a;
        ASSERT_OK(actr_spawn(cl, &loader_beh, NULL, 0, NULL, &a));
        /* queued right behind the init: must still be answered from loaded state */
        for (int i = 0; i < 40; i += 13) {
            snprintf(k, sizeof(k), "k%02d", i);
            actr_msg_t *q, *r;
            ASSERT_OK(actr_msg_pack(cl, T_QUERY, &q, "[x]", k, strlen(k)));
            ASSERT_OK(actr_client_call(cl, a, q, WAIT_MS, &r));
            int loaded = 0, early = 1;
            const char *s;
            size_t sl;
            ASSERT_OK(actr_msg_unpack(r, "[iis]", &loaded, &early, &s, &sl));
            ASSERT_EQ(loaded, 1);
            ASSERT_EQ(early, 0);
            snprintf(v, sizeof(v), "v%d", i * 3);
            ASSERT_MEM_STR(s, sl, v);
            actr_msg_free(r);
        }
        ASSERT_OK(actr_actor_stop(cl, a, NULL));
        /* a respawned actor reads the same state back, after a restart too */
        if (round == 0) {
            rt_close(rt, cl);
            rt_open(&rt, &cl, tmpdir, 1);
            store_open(rt, NULL, 0);
        }
    }
    rt_close(rt, cl);
    actr__rmtree(tmpdir);
}

/* An actor that puts then gets, deletes then gets, without waiting between:
 * the answers come in order and see the writes before them. */
typedef struct orderer {
    uint64_t ids[4];
    int got;
    actr_ref_t client;
    char result[64];
} orderer_t;

static int orderer_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    orderer_t *o = state;
    if (actr_msg_type(msg) == T_ORDER) {
        o->client = actr_msg_from(msg);
        int rc = actr_store_put(ctx, "ord", "k", 1, "fresh", 5, &o->ids[0]);
        if (rc == 0)
            rc = actr_store_get(ctx, "ord", "k", 1, &o->ids[1]);
        if (rc == 0)
            rc = actr_store_delete(ctx, "ord", "k", 1, &o->ids[2]);
        if (rc == 0)
            rc = actr_store_get(ctx, "ord", "k", 1, &o->ids[3]);
        return rc;
    }
    if (!actr_msg_is_reply(msg))
        return 0;
    if (o->got >= 4 || actr_msg_request_id(msg) != o->ids[o->got])
        return ACTR_EPROTO; /* out of order */
    const void *v;
    size_t vl;
    int rc =
        o->got == 1 || o->got == 3 ? actr_store_value(msg, &v, &vl) : actr_store_result(msg, NULL);
    size_t n = strlen(o->result);
    if (rc == 1)
        snprintf(o->result + n, sizeof(o->result) - n, "%s%.*s", n ? "," : "", (int)vl,
                 (const char *)v);
    else
        snprintf(o->result + n, sizeof(o->result) - n, "%s%d", n ? "," : "", rc);
    if (++o->got == 4) {
        actr_msg_t *d;
        rc = actr_msg_pack(ctx, T_DONE, &d, "s", o->result);
        if (rc == 0)
            rc = actr_send(ctx, o->client, d);
    }
    return rc < 0 ? rc : 0;
}
static const actr_behavior_t orderer_beh = {
    sizeof(actr_behavior_t), "orderer", sizeof(orderer_t), NULL, orderer_receive, NULL};

TEST_IMPL(store, order_per_requester)
{
    actr_t *rt;
    actr_ctx_t *cl;
    make_tmpdir();
    rt_open(&rt, &cl, tmpdir, 1);
    store_open(rt, NULL, 0);
    ASSERT_OK(put_s(cl, "ord", "k", "old"));
    actr_ref_t a;
    ASSERT_OK(actr_spawn(cl, &orderer_beh, NULL, 0, NULL, &a));
    actr_msg_t *go;
    ASSERT_OK(actr_msg_new(cl, T_ORDER, NULL, 0, &go));
    ASSERT_OK(actr_send(cl, a, go));
    actr_msg_t *d = wait_type(cl, T_DONE);
    const char *s;
    size_t sl;
    ASSERT_OK(actr_msg_unpack(d, "s", &s, &sl));
    ASSERT_MEM_STR(s, sl, "0,fresh,0,0");
    actr_msg_free(d);
    rt_close(rt, cl);
    actr__rmtree(tmpdir);
}

/* ---- many writers ---------------------------------------------------------------- */

#define WRITERS 8
#define PER_WRITER 2000
#define WINDOW 32

typedef struct writer {
    actr_ref_t client;
    int index, sent, ok, failed, refused;
    char ns[16];
} writer_t;

static int writer_send(actr_ctx_t *ctx, writer_t *w)
{
    char k[16], v[100];
    snprintf(k, sizeof(k), "%06d", w->sent);
    memset(v, 'a' + w->index, sizeof(v));
    memcpy(v, k, 6);
    uint64_t id;
    int rc = actr_store_put(ctx, w->ns, k, 6, v, sizeof(v), &id);
    if (rc == ACTR_EMAILBOX) {
        w->refused = 1; /* retried on ACTR_MSG_UNBLOCKED */
        return 0;
    }
    if (rc == 0)
        w->sent++;
    return rc;
}

static int writer_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    writer_t *w = state;
    uint32_t t = actr_msg_type(msg);
    if (t == T_GO) {
        if (actr_msg_unpack(msg, "i", &w->index) != 0)
            return ACTR_EINVAL;
        w->client = actr_msg_from(msg);
        snprintf(w->ns, sizeof(w->ns), "w%d", w->index);
        for (int i = 0; i < WINDOW && w->sent < PER_WRITER && !w->refused; i++) {
            int rc = writer_send(ctx, w);
            if (rc != 0)
                return rc;
        }
        return 0;
    }
    if (t == ACTR_MSG_UNBLOCKED) {
        w->refused = 0;
        while (w->sent - w->ok - w->failed < WINDOW && w->sent < PER_WRITER && !w->refused) {
            int rc = writer_send(ctx, w);
            if (rc != 0)
                return rc;
        }
        return 0;
    }
    if (!actr_msg_is_reply(msg) && t != ACTR_MSG_REQFAIL)
        return 0;
    if (actr_store_result(msg, NULL) == 0)
        w->ok++;
    else
        w->failed++;
    if (w->sent < PER_WRITER && !w->refused) {
        int rc = writer_send(ctx, w);
        if (rc != 0)
            return rc;
    }
    if (w->ok + w->failed == PER_WRITER) {
        actr_msg_t *d;
        int rc = actr_msg_pack(ctx, T_DONE, &d, "[ii]", w->ok, w->failed);
        if (rc == 0)
            rc = actr_send(ctx, w->client, d);
        return rc;
    }
    return 0;
}
static const actr_behavior_t writer_beh = {
    sizeof(actr_behavior_t), "writer", sizeof(writer_t), NULL, writer_receive, NULL};

TEST_IMPL(store, many_writers)
{
    actr_t *rt;
    actr_ctx_t *cl;
    make_tmpdir();
    rt_open(&rt, &cl, tmpdir, 1);
    store_open(rt, NULL, 0);
    for (int i = 0; i < WRITERS; i++) {
        actr_ref_t a;
        ASSERT_OK(actr_spawn(cl, &writer_beh, NULL, 0, NULL, &a));
        actr_msg_t *go;
        ASSERT_OK(actr_msg_pack(cl, T_GO, &go, "i", i));
        ASSERT_OK(actr_send(cl, a, go));
    }
    for (int i = 0; i < WRITERS; i++) {
        actr_msg_t *d = wait_type(cl, T_DONE);
        int ok, failed;
        ASSERT_OK(actr_msg_unpack(d, "[ii]", &ok, &failed));
        ASSERT_EQ(ok, PER_WRITER);
        ASSERT_EQ(failed, 0);
        actr_msg_free(d);
    }
    actr_store_stats_t s;
    ASSERT_OK(actr_store_stats(rt, &s));
    ASSERT_EQ(s.writes, WRITERS * PER_WRITER);
    ASSERT_EQ(s.errors, 0);
    ASSERT_LE(s.commits, s.writes);
    for (int i = 0; i < WRITERS; i++) {
        char ns[16];
        snprintf(ns, sizeof(ns), "w%d", i);
        actr_msg_t *m = scan(cl, ns, NULL, 0, 0);
        size_t pos = 0, kl, vl, n = 0;
        const void *k, *v;
        while (actr_store_scan_next(m, &pos, &k, &kl, &v, &vl) == 1) {
            char want[8];
            snprintf(want, sizeof(want), "%06zu", n);
            ASSERT_MEM_STR(k, kl, want);
            ASSERT_EQ(vl, 100);
            ASSERT(memcmp(v, want, 6) == 0 && ((const char *)v)[99] == 'a' + i);
            n++;
        }
        ASSERT_EQ(n, PER_WRITER);
        actr_msg_free(m);
    }
    rt_close(rt, cl);
    actr__rmtree(tmpdir);
}

/* ---- lifecycle ---------------------------------------------------------------------- */

TEST_IMPL(store, without_start_and_close_paths)
{
    actr_t *rt;
    actr_ctx_t *cl;
    make_tmpdir();
    /* never started: a client still gets its answers, close ends everything */
    rt_open(&rt, &cl, tmpdir, 0);
    store_open(rt, NULL, 0);
    char buf[64];
    ASSERT_OK(put_s(cl, "n", "k", "v"));
    ASSERT_EQ(get_s(cl, "n", "k", buf, sizeof(buf)), 1);
    uint64_t id;
    ASSERT_OK(actr_store_put(cl, "n", "queued", 6, "q", 1, &id)); /* never read back */
    rt_close(rt, cl);
    /* opened and closed at once, started or not, and a runtime with no store */
    for (int start = 0; start < 2; start++) {
        rt_open(&rt, &cl, tmpdir, start);
        store_open(rt, NULL, 0);
        rt_close(rt, cl);
        rt_open(&rt, &cl, tmpdir, start);
        rt_close(rt, cl);
    }
    /* the write left queued at the first close was committed */
    rt_open(&rt, &cl, tmpdir, 1);
    store_open(rt, NULL, 0);
    ASSERT_EQ(get_s(cl, "n", "queued", buf, sizeof(buf)), 1);
    ASSERT_STR_EQ(buf, "q");
    /* two runtimes in one process, each with its own store */
    char other[512];
    path_in(other, sizeof(other), "second");
    actr_t *rt2;
    actr_ctx_t *cl2;
    rt_open(&rt2, &cl2, other, 1);
    store_open(rt2, NULL, 0);
    ASSERT_OK(put_s(cl2, "n", "k", "second"));
    ASSERT_EQ(get_s(cl, "n", "k", buf, sizeof(buf)), 1);
    ASSERT_STR_EQ(buf, "v");
    rt_close(rt2, cl2);
    /* a stopped runtime's client is refused */
    ASSERT_OK(actr_stop(rt));
    ASSERT_OK(actr_wait(rt));
    ASSERT_ERR(actr_store_put(cl, "n", "k", 1, "v", 1, &id), ACTR_ESTOPPED);
    rt_close(rt, cl);
    actr__rmtree(tmpdir);
}

TEST_IMPL(store, full_sync)
{
    actr_t *rt;
    actr_ctx_t *cl;
    make_tmpdir();
    rt_open(&rt, &cl, tmpdir, 1);
    actr_store_options_t so;
    actr_store_options_init(&so);
    so.sync = ACTR_STORE_FULL;
    so.max_batch = 1;
    actr_error_t err;
    ASSERT_OK(actr_store_open(rt, &so, &err));
    for (int i = 0; i < 20; i++) {
        char k[8];
        snprintf(k, sizeof(k), "%d", i);
        ASSERT_OK(put_s(cl, "f", k, "v"));
    }
    actr_store_stats_t s;
    ASSERT_OK(actr_store_stats(rt, &s));
    ASSERT_EQ(s.writes, 20);
    ASSERT_EQ(s.commits, 20); /* max_batch 1: one write per transaction */
    rt_close(rt, cl);
    actr__rmtree(tmpdir);
}

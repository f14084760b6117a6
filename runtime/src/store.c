/* store.c — the state store's public API (actr/store.h) and the store thread
 * with its group commit.
 *
 * How a write travels: actr_store_put validates its arguments on the caller's
 * thread (so one bad request can never fail a batch), packs them into a
 * request message and sends it with actr_request to the store thread's client
 * context. The runtime therefore keeps the requester's side exactly as for
 * any request: the pending-request record, the reply matched by id, a
 * REQFAIL if the store is gone, actr_await in init. The store thread takes
 * the first queued request (blocking), then whatever else is queued up to
 * max_batch, runs them in order inside one transaction, commits, and only
 * then replies to each, in order. Reads in the batch are answered in the same
 * order, so a get after a put from the same requester sees it.
 *
 * When a batch fails (a full disk, an I/O error), it is rolled back and run
 * again one request per transaction: each write that fails gets its own
 * ACTR_ESTORE reply naming the SQLite error, the others (reads, deletes that
 * still fit) succeed, and the store keeps serving.
 *
 * Control (a backup, the stop at actr_close) reaches the thread as a message
 * of type CTL with no sender, which only ends a batch; what to do is read
 * from the store under `mu` (a CTL forged by an actor finds nothing to do).
 * A backup copies pages in chunks and serves queued requests between chunks,
 * so writes keep being acknowledged while it runs.
 *
 * The message formats are in store_codec.c, the SQLite side in store_db.c.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"
#include "actr/store.h"
#include "store_int.h"

#define T_PUT ACTR__ST_PUT
#define T_GET ACTR__ST_GET
#define T_DEL ACTR__ST_DEL
#define T_SCAN ACTR__ST_SCAN
#define T_REPLY ACTR__ST_REPLY
#define T_CTL ACTR__ST_CTL

#define MAX_BATCH_LIMIT (1u << 20)
#define WHY_MAX 600

typedef struct ctl {
    const char *file;
    actr_error_t err;
    int rc;
    int taken, done; /* under the store's mu */
} ctl_t;

/* one request of a batch */
typedef struct entry {
    actr_msg_t *req;
    actr_msg_t *reply; /* reads: built inside the transaction */
    actr__sreq_t q;    /* unpacked, pointing into req */
} entry_t;

struct actr__store {
    actr_t *rt;
    actr__sdb_t db;
    actr_ctx_t *cl;      /* the store thread's client context */
    actr__actor_t *slot; /* its slot (for the queue length) */
    actr_ref_t ref;
    uint32_t max_value, max_batch;
    pthread_t thread;
    _Atomic int quit;
    _Atomic uint64_t writes, reads, commits, errors;
    pthread_mutex_t mu; /* ctl, and a ctl's `done` */
    pthread_cond_t cv;
    pthread_mutex_t backup_mu; /* one backup at a time */
    ctl_t *ctl;
    /* store thread only */
    actr_msg_t **msgs; /* max_batch */
    entry_t *ent;      /* max_batch */
    uint8_t *buf; /* scan replies are built here */
    size_t bufcap;
    int quitting;
};

static struct actr__store *store_get(const actr_t *rt)
{
    /* acquire: pairs with the release that published a fully built store */
    return rt != NULL ? __atomic_load_n(&rt->store, __ATOMIC_ACQUIRE) : NULL;
}

/* ---- the public API: requests -------------------------------------------------------- */

static int check_ns(const char *ns, size_t *nslen)
{
    if (ns == NULL)
        return ACTR_EINVAL;
    size_t n = strnlen(ns, ACTR_STORE_MAX_NS + 1);
    if (n == 0 || n > ACTR_STORE_MAX_NS)
        return ACTR_EINVAL;
    *nslen = n;
    return 0;
}

/* Validate, pack and send one request. `val` is used by PUT, `limit` by SCAN. */
static int request(actr_ctx_t *ctx, uint32_t op, const char *ns, const void *key, size_t klen,
                   const void *val, size_t vlen, uint32_t limit, uint64_t *req_id)
{
    if (ctx == NULL || ctx->rt == NULL)
        return ACTR_EINVAL;
    struct actr__store *st = store_get(ctx->rt);
    if (st == NULL)
        return ACTR_ESTORE;
    size_t nslen;
    if (check_ns(ns, &nslen) != 0)
        return ACTR_EINVAL;
    if (klen > ACTR_STORE_MAX_KEY || (klen > 0 && key == NULL) || (op != T_SCAN && klen == 0))
        return ACTR_EINVAL;
    if (op == T_PUT) {
        if (vlen > 0 && val == NULL)
            return ACTR_EINVAL;
        if (vlen > st->max_value)
            return ACTR_E2BIG;
    }
    actr__sreq_t q = {op, ns, (uint32_t)nslen, key, val, (uint32_t)klen, (uint32_t)vlen, limit};
    actr_msg_t *m;
    int rc = actr_msg_alloc(ctx, op, actr__sreq_size(&q), &m);
    if (rc != 0)
        return rc;
    actr__sreq_write(actr_msg_buffer(m), &q);
    return actr_request(ctx, st->ref, m, 0, req_id);
}

int actr_store_put(actr_ctx_t *ctx, const char *ns, const void *key, size_t klen, const void *val,
                   size_t vlen, uint64_t *req_id)
{
    return request(ctx, T_PUT, ns, key, klen, val, vlen, 0, req_id);
}

int actr_store_get(actr_ctx_t *ctx, const char *ns, const void *key, size_t klen, uint64_t *req_id)
{
    return request(ctx, T_GET, ns, key, klen, NULL, 0, 0, req_id);
}

int actr_store_delete(actr_ctx_t *ctx, const char *ns, const void *key, size_t klen,
                      uint64_t *req_id)
{
    return request(ctx, T_DEL, ns, key, klen, NULL, 0, 0, req_id);
}

int actr_store_scan(actr_ctx_t *ctx, const char *ns, const void *prefix, size_t plen,
                    uint32_t limit, uint64_t *req_id)
{
    return request(ctx, T_SCAN, ns, prefix, plen, NULL, 0, limit, req_id);
}

/* ---- the store thread ------------------------------------------------------------ */

static actr_msg_t *make_reply(struct actr__store *st, int code, const char *why,
                              const void *val, size_t vlen, int found)
{
    size_t wl = code != 0 && why != NULL ? strlen(why) : 0;
    actr_msg_t *m = actr__msg_make(st->cl, T_REPLY, actr__srep_size(wl, found, vlen));
    if (m != NULL)
        m->len = (uint32_t)actr__srep_write(ACTR__MSG_DATA(m), code, why, found, val, vlen);
    return m;
}

static void answer(struct actr__store *st, actr_msg_t *req, actr_msg_t *reply)
{
    if (reply != NULL)
        (void)actr_reply(st->cl, req, reply); /* the requester may be gone */
    actr__msg_unref(st->cl, req);
}

static void answer_code(struct actr__store *st, actr_msg_t *req, int code, const char *why)
{
    if (code != 0)
        atomic_fetch_add_explicit(&st->errors, 1, memory_order_relaxed);
    answer(st, req, make_reply(st, code, why, NULL, 0, 0));
}

static int is_write(uint32_t op) { return op == T_PUT || op == T_DEL; }

static int grow(struct actr__store *st, size_t need)
{
    if (need <= st->bufcap)
        return 0;
    size_t nc = st->bufcap ? st->bufcap : 4096;
    while (nc < need)
        nc *= 2;
    void *p = realloc(st->buf, nc);
    if (p == NULL)
        return ACTR_ENOMEM;
    st->buf = p;
    st->bufcap = nc;
    return 0;
}

/* Run a read and build its reply (NULL only when out of memory). */
static actr_msg_t *run_read(struct actr__store *st, entry_t *e)
{
    char why[WHY_MAX];
    actr__sdb_t *d = &st->db;
    if (e->q.op == T_GET) {
        const void *v;
        size_t vl;
        int rc = actr__sdb_get(d, e->q.ns, e->q.nslen, e->q.key, e->q.klen, &v, &vl);
        if (rc == SQLITE_ROW) {
            actr_msg_t *m = make_reply(st, 0, NULL, v, vl, 1);
            actr__sdb_reset(d, d->get);
            return m;
        }
        actr__sdb_reset(d, d->get);
        if (rc == SQLITE_DONE)
            return make_reply(st, 0, NULL, NULL, 0, 0);
        actr__sdb_why(d, rc, why, sizeof(why));
        atomic_fetch_add_explicit(&st->errors, 1, memory_order_relaxed);
        return make_reply(st, ACTR_ESTORE, why, NULL, 0, 0);
    }
    /* scan: [0, "", [k, v, ...]] built in st->buf, then copied once */
    size_t cap = st->rt->opts.max_payload ? st->rt->opts.max_payload : ACTR_MSG_MAX_PAYLOAD;
    size_t len = ACTR__SREP_SCAN_HDR, rows = 0;
    int rc = grow(st, 4096), err = 0;
    if (rc == 0)
        rc = actr__sdb_scan(d, e->q.ns, e->q.nslen, e->q.key, e->q.klen, e->q.limit);
    if (rc == 0) {
        const void *k, *v;
        size_t kl, vl;
        while ((rc = actr__sdb_scan_step(d, &k, &kl, &v, &vl)) == SQLITE_ROW) {
            size_t need = len + actr__sbin_size(kl) + actr__sbin_size(vl);
            if (need > cap) {
                err = ACTR_E2BIG;
                break;
            }
            if (grow(st, need) != 0) {
                err = ACTR_ENOMEM;
                break;
            }
            uint8_t *p = actr__sbin_write(st->buf + len, k, kl);
            p = actr__sbin_write(p, v, vl);
            len = (size_t)(p - st->buf);
            rows++;
        }
        if (err == 0 && rc != SQLITE_DONE) {
            actr__sdb_why(d, rc, why, sizeof(why));
            err = ACTR_ESTORE;
        }
        actr__sdb_reset(d, d->scan_cur);
    } else {
        err = rc;
        snprintf(why, sizeof(why), "%s", actr_strerror(rc));
    }
    if (err != 0) {
        if (err == ACTR_E2BIG)
            snprintf(why, sizeof(why),
                     "scan of \"%.*s\": result over %zu bytes (use a prefix or a limit)",
                     (int)e->q.nslen, e->q.ns, cap);
        else if (err == ACTR_ENOMEM)
            snprintf(why, sizeof(why), "scan: out of memory");
        atomic_fetch_add_explicit(&st->errors, 1, memory_order_relaxed);
        return make_reply(st, err, why, NULL, 0, 0);
    }
    actr__srep_scan_hdr(st->buf, (uint32_t)(2 * rows));
    actr_msg_t *m = actr__msg_make(st->cl, T_REPLY, len);
    if (m != NULL)
        memcpy(ACTR__MSG_DATA(m), st->buf, len);
    return m;
}

static int run_write(struct actr__store *st, entry_t *e)
{
    if (e->q.op == T_PUT)
        return actr__sdb_put(&st->db, e->q.ns, e->q.nslen, e->q.key, e->q.klen, e->q.val, e->q.vlen);
    return actr__sdb_del(&st->db, e->q.ns, e->q.nslen, e->q.key, e->q.klen);
}

/* Every request alone, in its own (autocommit) transaction, answered at once:
 * the path after a batch failed, so that each failure is reported where it
 * happens and the rest still succeeds. */
static void serve_one_by_one(struct actr__store *st, entry_t *ent, size_t n)
{
    char why[WHY_MAX];
    for (size_t i = 0; i < n; i++) {
        entry_t *e = &ent[i];
        if (is_write(e->q.op)) {
            int rc = run_write(st, e);
            if (rc == SQLITE_DONE) {
                atomic_fetch_add_explicit(&st->writes, 1, memory_order_relaxed);
                atomic_fetch_add_explicit(&st->commits, 1, memory_order_relaxed);
                answer_code(st, e->req, 0, NULL);
            } else {
                actr__sdb_why(&st->db, rc, why, sizeof(why));
                actr__sdb_rollback(&st->db);
                answer_code(st, e->req, ACTR_ESTORE, why);
            }
        } else {
            atomic_fetch_add_explicit(&st->reads, 1, memory_order_relaxed);
            answer(st, e->req, run_read(st, e));
        }
    }
}

/* Serve n requests: one transaction, one commit, then the replies in order. */
static void serve(struct actr__store *st, actr_msg_t **msgs, size_t n)
{
    entry_t *ent = st->ent;
    size_t m = 0, nw = 0;
    for (size_t i = 0; i < n; i++) {
        actr_msg_t *req = msgs[i];
        if (!actr_msg_is_request(req)) {
            actr__msg_unref(st->cl, req); /* not for us: a stray send */
            continue;
        }
        ent[m].req = req;
        ent[m].reply = NULL;
        int rc = actr__sreq_read(req->type, ACTR__MSG_DATA(req), req->len, &ent[m].q);
        if (rc != 0) {
            answer_code(st, req, rc,
                        rc == ACTR_EINVAL ? "not a valid store request" : "malformed store request");
            continue;
        }
        nw += is_write(ent[m].q.op);
        m++;
    }
    if (m == 0)
        return;
    int failed = 0;
    if (nw > 0 && actr__sdb_begin(&st->db) != SQLITE_OK)
        failed = 1;
    for (size_t i = 0; i < m && !failed; i++) {
        if (is_write(ent[i].q.op)) {
            failed = run_write(st, &ent[i]) != SQLITE_DONE;
        } else {
            ent[i].reply = run_read(st, &ent[i]);
            /* a read error can end the transaction: the writes after it
             * would commit one by one and the earlier ones be lost */
            if (nw > 0 && !actr__sdb_in_txn(&st->db))
                failed = 1;
        }
    }
    if (!failed && nw > 0 && actr__sdb_commit(&st->db) != SQLITE_OK)
        failed = 1;
    if (failed) {
        actr__sdb_rollback(&st->db);
        for (size_t i = 0; i < m; i++) {
            actr__msg_unref(st->cl, ent[i].reply);
            ent[i].reply = NULL;
        }
        serve_one_by_one(st, ent, m);
        return;
    }
    if (nw > 0) {
        atomic_fetch_add_explicit(&st->commits, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&st->writes, nw, memory_order_relaxed);
    }
    if (m > nw)
        atomic_fetch_add_explicit(&st->reads, m - nw, memory_order_relaxed);
    for (size_t i = 0; i < m; i++) {
        if (is_write(ent[i].q.op))
            answer_code(st, ent[i].req, 0, NULL);
        else
            answer(st, ent[i].req, ent[i].reply);
    }
}

static int is_ctl(const actr_msg_t *m)
{
    return m->type == T_CTL && !(m->flags & ACTR__F_REQUEST) && actr_ref_is_none(m->from);
}

/* Serve `first` and what else is queued, up to a batch, without waiting. A
 * CTL ends the round: returns 1 if one was seen (it is consumed). */
static int round_of(struct actr__store *st, actr_msg_t *first)
{
    size_t n = 0;
    int ctl = 0;
    actr_msg_t *m = first;
    for (;;) {
        if (m == NULL && (n >= st->max_batch || actr_client_recv(st->cl, 0, &m) != 0))
            break;
        if (is_ctl(m)) {
            actr__msg_unref(st->cl, m);
            ctl = 1;
            break;
        }
        st->msgs[n++] = m;
        m = NULL;
    }
    if (n > 0)
        serve(st, st->msgs, n);
    return ctl;
}

/* Between two chunks of a backup: acknowledge what queued meanwhile. A CTL
 * seen here can only be the stop (one backup runs at a time), which the main
 * loop reads from the quit flag afterwards. */
static void between_chunks(void *ud)
{
    struct actr__store *st = ud;
    (void)round_of(st, NULL);
}

/* A control request: run the backup asked for, if one is waiting. */
static void run_ctl(struct actr__store *st)
{
    pthread_mutex_lock(&st->mu);
    ctl_t *c = st->ctl;
    int go = c != NULL && !c->taken;
    if (go)
        c->taken = 1;
    pthread_mutex_unlock(&st->mu);
    if (!go)
        return;
    actr_error_t err;
    memset(&err, 0, sizeof(err));
    int rc = actr__sdb_backup(&st->db, c->file, between_chunks, st, &err);
    pthread_mutex_lock(&st->mu);
    c->rc = rc;
    c->err = err;
    c->done = 1;
    pthread_cond_broadcast(&st->cv);
    pthread_mutex_unlock(&st->mu);
}

static void *store_main(void *arg)
{
    struct actr__store *st = arg;
    for (;;) {
        actr_msg_t *m = NULL;
        /* once stopping, drain what is queued and end */
        if (actr_client_recv(st->cl, st->quitting ? 0 : -1, &m) != 0) {
            if (st->quitting)
                break;
            continue;
        }
        if (round_of(st, m))
            run_ctl(st);
        /* acquire: pairs with the release in stop_thread */
        if (!st->quitting && atomic_load_explicit(&st->quit, memory_order_acquire))
            st->quitting = 1;
    }
    actr_client_close(st->cl);
    st->cl = NULL;
    actr__sdb_close(&st->db);
    return NULL;
}

/* Wake the store thread with a CTL (from any thread, no context needed). */
static int poke(struct actr__store *st)
{
    actr_msg_t *m = actr__msg_make(NULL, T_CTL, 0);
    if (m == NULL)
        return ACTR_ENOMEM;
    m->from = ACTR_REF_NONE;
    return actr__deliver(st->rt, NULL, st->ref, m, 0);
}

/* ---- open, close ------------------------------------------------------------------ */

static int on_worker_thread(actr_t *rt)
{
    pthread_t self = pthread_self();
    for (unsigned i = 0; atomic_load_explicit(&rt->started, memory_order_acquire) &&
                         rt->workers != NULL && i < rt->nworkers;
         i++)
        if (pthread_equal(self, rt->workers[i].thread))
            return 1;
    return 0;
}

static void store_free(struct actr__store *st)
{
    if (st == NULL)
        return;
    actr__sdb_close(&st->db);
    pthread_mutex_destroy(&st->mu);
    pthread_cond_destroy(&st->cv);
    pthread_mutex_destroy(&st->backup_mu);
    free(st->msgs);
    free(st->ent);
    free(st->buf);
    free(st);
}

/* Stop the thread: everything queued before is served and committed. */
static void stop_thread(struct actr__store *st)
{
    /* release: the thread that sees the flag sees everything before it */
    atomic_store_explicit(&st->quit, 1, memory_order_release);
    (void)poke(st); /* fails only if the thread already ended its drain */
    pthread_join(st->thread, NULL);
}

/* Create every missing directory of `dir` (like mkdir -p). */
static int mkdir_p(const char *dir, actr_error_t *err)
{
    char buf[PATH_MAX];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof(buf))
        return actr__fail(err, ACTR_ESTORE, "%s: bad data directory", dir);
    memcpy(buf, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        char c = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0700) != 0 && errno != EEXIST)
            return actr__fail(err, ACTR_ESTORE, "%s: cannot create the data directory: %s",
                              buf, strerror(errno));
        buf[i] = c;
    }
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return actr__fail(err, ACTR_ESTORE, "%s: the data directory is not a directory", dir);
    return 0;
}

void actr_store_options_init(actr_store_options_t *opts)
{
    if (opts != NULL) {
        memset(opts, 0, sizeof(*opts));
        opts->size = sizeof(*opts);
        opts->sync = ACTR_STORE_NORMAL;
    }
}

int actr_store_open(actr_t *rt, const actr_store_options_t *opts, actr_error_t *err)
{
    if (err != NULL)
        memset(err, 0, sizeof(*err));
    if (rt == NULL)
        return actr__fail(err, ACTR_EINVAL, "store: no runtime");
    if (on_worker_thread(rt))
        return actr__fail(err, ACTR_ECONTEXT, "store: cannot be opened from a handler");
    actr_store_options_t o;
    actr_store_options_init(&o);
    if (opts != NULL) {
        if (opts->size != sizeof(*opts))
            return actr__fail(err, ACTR_EINVAL,
                              "store: options not initialised with actr_store_options_init");
        o = *opts;
    }
    if (o.sync != ACTR_STORE_NORMAL && o.sync != ACTR_STORE_FULL)
        return actr__fail(err, ACTR_EINVAL, "store: sync must be normal (0) or full (1), not %d",
                          (int)o.sync);
    if (o.max_value > ACTR_STORE_LIMIT_MAX_VALUE)
        return actr__fail(err, ACTR_EINVAL, "store: max_value %u is over the limit (%u)",
                          o.max_value, ACTR_STORE_LIMIT_MAX_VALUE);
    if (o.max_batch > MAX_BATCH_LIMIT)
        return actr__fail(err, ACTR_EINVAL, "store: max_batch %u is over the limit (%u)",
                          o.max_batch, MAX_BATCH_LIMIT);
    if (store_get(rt) != NULL)
        return actr__fail(err, ACTR_EEXIST, "store: already open (%s)", store_get(rt)->db.path);
    if (atomic_load_explicit(&rt->stopping, memory_order_acquire))
        return actr__fail(err, ACTR_ESTORE, "store: the runtime is stopping");

    char path[PATH_MAX];
    if (o.path != NULL && o.path[0] != '\0') {
        if (strlen(o.path) >= sizeof(path))
            return actr__fail(err, ACTR_EINVAL, "store: path too long");
        snprintf(path, sizeof(path), "%s", o.path);
    } else {
        const char *dir = actr_data_dir(rt);
        if (dir == NULL)
            return actr__fail(err, ACTR_ESTORE, "store: the runtime has no data directory");
        int rc = mkdir_p(dir, err);
        if (rc != 0)
            return rc;
        if ((size_t)snprintf(path, sizeof(path), "%s/actr.db", dir) >= sizeof(path))
            return actr__fail(err, ACTR_EINVAL, "store: %s: path too long", dir);
    }

    struct actr__store *st = calloc(1, sizeof(*st));
    if (st == NULL)
        return actr__fail(err, ACTR_ENOMEM, "store: out of memory");
    st->rt = rt;
    st->max_value = o.max_value ? o.max_value : ACTR_STORE_DEFAULT_MAX_VALUE;
    st->max_batch = o.max_batch ? o.max_batch : ACTR_STORE_DEFAULT_MAX_BATCH;
    pthread_mutex_init(&st->mu, NULL);
    pthread_cond_init(&st->cv, NULL);
    pthread_mutex_init(&st->backup_mu, NULL);
    st->msgs = calloc(st->max_batch, sizeof(*st->msgs));
    st->ent = calloc(st->max_batch, sizeof(*st->ent));
    if (st->msgs == NULL || st->ent == NULL) {
        store_free(st);
        return actr__fail(err, ACTR_ENOMEM, "store: out of memory");
    }
    int rc = actr__sdb_open(&st->db, path, o.sync == ACTR_STORE_FULL, err);
    if (rc != 0) {
        store_free(st);
        return rc;
    }
    rc = actr_client_open(rt, &st->cl);
    if (rc != 0) {
        actr__fail(err, rc == ACTR_ESTOPPED ? ACTR_ESTORE : rc, "%s: %s", path,
                   rc == ACTR_ESTOPPED ? "the runtime is stopping" : actr_strerror(rc));
        store_free(st);
        return err != NULL ? err->code : ACTR_ESTORE;
    }
    st->slot = st->cl->cur;
    st->ref = actr_self(st->cl);
    rc = pthread_create(&st->thread, NULL, store_main, st);
    if (rc != 0) {
        actr_client_close(st->cl);
        store_free(st);
        return actr__fail(err, ACTR_ESTORE, "%s: cannot start the store thread: %s", path,
                          strerror(rc));
    }
    struct actr__store *expect = NULL;
    /* release: publishes the store fully built to every later store_get */
    if (!__atomic_compare_exchange_n(&rt->store, &expect, st, 0, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE)) {
        stop_thread(st);
        store_free(st);
        return actr__fail(err, ACTR_EEXIST, "store: already open");
    }
    return 0;
}

int actr_store_is_open(const actr_t *rt) { return store_get(rt) != NULL; }

void actr__store_close(actr_t *rt)
{
    struct actr__store *st = store_get(rt);
    if (st == NULL)
        return;
    stop_thread(st);
    __atomic_store_n(&rt->store, NULL, __ATOMIC_RELEASE);
    store_free(st);
}

/* ---- backup, stats ------------------------------------------------------------------ */

int actr_store_backup(actr_t *rt, const char *file, actr_error_t *err)
{
    if (err != NULL)
        memset(err, 0, sizeof(*err));
    if (rt == NULL || file == NULL || file[0] == '\0')
        return actr__fail(err, ACTR_EINVAL, "store backup: no runtime or no file");
    if (on_worker_thread(rt))
        return actr__fail(err, ACTR_ECONTEXT, "store backup: not from a handler");
    struct actr__store *st = store_get(rt);
    if (st == NULL)
        return actr__fail(err, ACTR_ESTORE, "store backup: no store open");
    if (pthread_equal(pthread_self(), st->thread))
        return actr__fail(err, ACTR_ECONTEXT, "store backup: not from the store thread");
    /* copying the store onto itself would destroy it */
    char a[PATH_MAX], b[PATH_MAX];
    if (realpath(file, a) != NULL && realpath(st->db.path, b) != NULL && strcmp(a, b) == 0)
        return actr__fail(err, ACTR_ESTORE, "store backup: %s is the store itself", file);
    ctl_t c;
    memset(&c, 0, sizeof(c));
    c.file = file;
    pthread_mutex_lock(&st->backup_mu);
    pthread_mutex_lock(&st->mu);
    st->ctl = &c;
    pthread_mutex_unlock(&st->mu);
    int rc = poke(st);
    pthread_mutex_lock(&st->mu);
    while (rc == 0 && !c.done)
        pthread_cond_wait(&st->cv, &st->mu);
    st->ctl = NULL;
    pthread_mutex_unlock(&st->mu);
    pthread_mutex_unlock(&st->backup_mu);
    if (rc != 0)
        return actr__fail(err, ACTR_ESTORE, "store backup: the store is closing");
    if (c.rc != 0 && err != NULL)
        *err = c.err;
    return c.rc;
}

int actr_store_stats(actr_t *rt, actr_store_stats_t *out)
{
    if (out == NULL)
        return ACTR_EINVAL;
    memset(out, 0, sizeof(*out));
    struct actr__store *st = store_get(rt);
    if (st == NULL)
        return ACTR_ESTORE;
    out->writes = atomic_load_explicit(&st->writes, memory_order_relaxed);
    out->reads = atomic_load_explicit(&st->reads, memory_order_relaxed);
    out->commits = atomic_load_explicit(&st->commits, memory_order_relaxed);
    out->errors = atomic_load_explicit(&st->errors, memory_order_relaxed);
    out->queued = atomic_load_explicit(&st->slot->count, memory_order_relaxed);
    return 0;
}

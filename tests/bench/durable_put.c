/* tests/bench/durable_put.c — the `durable_put` workload of WORKLOADS.md:
 * actors write 100-byte values through the state store; a write counts when
 * its durable acknowledgement (the reply after the commit) arrives.
 *
 *   bench_durable_put [--quick] [--actors=N] [--window=W] [--full=0|1] [writes]
 *
 * Default 1,000,000 writes by 16 actors, each writing its share into its own
 * namespace ("bench:<i>", 8-byte big-endian sequence keys) and keeping W =
 * 1,024 puts outstanding (16 x 1,024 = two of the store's default max_batch,
 * ACTR_STORE_DEFAULT_MAX_BATCH = 8,192): while one group commit runs, the
 * next is already queued, so the store thread never waits for
 * acknowledgements to travel back and new puts to arrive (with one batch's
 * worth outstanding it would, every batch). The
 * store runs with its defaults (WAL, synchronous=NORMAL unless --full=1) in
 * the runtime's private temporary data directory. The clock runs in the
 * driver actor from just before it starts the writers to the last writer's
 * report.
 *
 * Checks: every acknowledgement is a success (any error reply fails the run
 * at once); each writer counts exactly its share; the store's counters agree
 * (writes = total, no errors); afterwards every namespace is scanned back and
 * must hold exactly its writer's keys in order with the right values.
 *
 *   bench=durable_put puts_per_s=... elapsed_s=... writes=N actors=A window=W
 *       batch_avg=... sync=normal workers=K impl=actr
 * (batch_avg: writes per commit, from actr_store_stats.)
 */
#include "bench.h"

enum {
    MSG_WGO = BENCH_MSG_FIRST_OWN, /* driver -> writer: [index, count, window] */
    MSG_WDONE                      /* writer -> driver: [ok] */
};

#define VAL_SIZE 100

typedef struct writer {
    actr_ref_t driver;
    int index;
    uint64_t count, window, sent, acked;
    int refused; /* the store's mailbox was full: wait for ACTR_MSG_UNBLOCKED */
    char ns[24];
} writer_t;

static void key_of(uint64_t seq, unsigned char key[8])
{
    for (int b = 0; b < 8; b++)
        key[b] = (unsigned char)(seq >> (56 - 8 * b));
}

static void value_of(int index, uint64_t seq, unsigned char val[VAL_SIZE])
{
    memset(val, 'a' + index % 26, VAL_SIZE);
    memcpy(val, &seq, sizeof(seq));
}

/* Put the next value; 0 when sent or refused for a full mailbox (retried). */
static void writer_send(actr_ctx_t *ctx, writer_t *w)
{
    unsigned char key[8], val[VAL_SIZE];
    key_of(w->sent, key);
    value_of(w->index, w->sent, val);
    uint64_t id;
    int rc = actr_store_put(ctx, w->ns, key, sizeof(key), val, sizeof(val), &id);
    if (rc == ACTR_EMAILBOX) {
        w->refused = 1;
        return;
    }
    bench_check(rc, "actr_store_put");
    w->sent++;
}

static void writer_fill(actr_ctx_t *ctx, writer_t *w)
{
    while (!w->refused && w->sent < w->count && w->sent - w->acked < w->window)
        writer_send(ctx, w);
}

static int writer_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    writer_t *w = state;
    uint32_t t = actr_msg_type(msg);
    if (t == MSG_WGO) {
        int64_t idx;
        uint64_t count, window;
        bench_check(actr_msg_unpack(msg, "[IUU]", &idx, &count, &window), "unpack go");
        w->driver = actr_msg_from(msg);
        w->index = (int)idx;
        w->count = count;
        w->window = window;
        snprintf(w->ns, sizeof(w->ns), "bench:%d", w->index);
        writer_fill(ctx, w);
        return 0;
    }
    if (t == ACTR_MSG_UNBLOCKED) {
        w->refused = 0;
        writer_fill(ctx, w);
        return 0;
    }
    if (t != ACTR_MSG_REQFAIL && !actr_msg_is_reply(msg))
        bench_fail("writer %d: unexpected message type %" PRIu32, w->index, t);
    const char *why = NULL;
    int rc = actr_store_result(msg, &why);
    if (rc != 0)
        bench_fail("writer %d: put acknowledged with %s: %s", w->index, actr_err_name(rc), why);
    w->acked++;
    if (w->acked > w->sent)
        bench_fail("writer %d: more acknowledgements than puts", w->index);
    writer_fill(ctx, w);
    if (w->acked == w->count)
        bench_sendf(ctx, w->driver, MSG_WDONE, "U", w->acked);
    return 0;
}

static const actr_behavior_t writer_beh = {sizeof(actr_behavior_t), "durable_writer",
                                           sizeof(writer_t), NULL, writer_receive, NULL};

typedef struct driver {
    actr_ref_t client;
    uint64_t actors, done, acked, total, t0;
} driver_t;

static int driver_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    driver_t *d = state;
    uint32_t t = actr_msg_type(msg);
    if (t == BENCH_MSG_GO) {
        uint64_t writes, actors, window;
        bench_check(actr_msg_unpack(msg, "[UUU]", &writes, &actors, &window), "unpack GO");
        d->client = actr_msg_from(msg);
        d->actors = actors;
        d->total = writes;
        actr_ref_t *refs = calloc(actors, sizeof(*refs));
        if (refs == NULL)
            bench_fail("out of memory");
        for (uint64_t i = 0; i < actors; i++)
            bench_check(actr_spawn(ctx, &writer_beh, NULL, 0, NULL, &refs[i]), "actr_spawn");
        d->t0 = bench_now_ns();
        for (uint64_t i = 0; i < actors; i++) {
            uint64_t share = writes / actors + (i < writes % actors ? 1 : 0);
            bench_sendf(ctx, refs[i], MSG_WGO, "[IUU]", (int64_t)i, share, window);
        }
        free(refs);
        return 0;
    }
    if (t == MSG_WDONE) {
        uint64_t acked;
        bench_check(actr_msg_unpack(msg, "U", &acked), "unpack done");
        d->acked += acked;
        if (++d->done == d->actors) {
            uint64_t t1 = bench_now_ns();
            bench_sendf(ctx, d->client, BENCH_MSG_RESULT, "[UU]", t1 - d->t0, d->acked);
        }
        return 0;
    }
    bench_fail("driver: unexpected message type %" PRIu32, t);
}

static const actr_behavior_t driver_beh = {sizeof(actr_behavior_t), "durable_driver",
                                           sizeof(driver_t), NULL, driver_receive, NULL};

/* The reply to request `id` for the client, or the run fails. */
static actr_msg_t *client_answer(actr_ctx_t *c, uint64_t id)
{
    actr_msg_t *m = NULL;
    int rc = actr_client_recv(c, BENCH_TIMEOUT_MS, &m);
    bench_check(rc, "actr_client_recv");
    if (actr_msg_request_id(m) != id)
        bench_fail("client: unexpected message type %" PRIu32, actr_msg_type(m));
    return m;
}

/* Scan writer i's namespace back: exactly its keys, in order, right values. */
static void verify(actr_ctx_t *c, int i, uint64_t share)
{
    char ns[24];
    snprintf(ns, sizeof(ns), "bench:%d", i);
    uint64_t id;
    bench_check(actr_store_scan(c, ns, NULL, 0, 0, &id), "actr_store_scan");
    actr_msg_t *m = client_answer(c, id);
    const char *why = "";
    int rc = actr_store_result(m, &why);
    if (rc != 0)
        bench_fail("scan of %s: %s: %s", ns, actr_err_name(rc), why);
    size_t pos = 0, kl, vl;
    const void *k, *v;
    uint64_t n = 0;
    while ((rc = actr_store_scan_next(m, &pos, &k, &kl, &v, &vl)) == 1) {
        unsigned char key[8], val[VAL_SIZE];
        key_of(n, key);
        value_of(i, n, val);
        if (kl != sizeof(key) || memcmp(k, key, kl) != 0 || vl != sizeof(val) ||
            memcmp(v, val, vl) != 0)
            bench_fail("%s: entry %" PRIu64 " is not the value written", ns, n);
        n++;
    }
    if (rc != 0)
        bench_fail("scan of %s: %s", ns, actr_err_name(rc));
    if (n != share)
        bench_fail("%s holds %" PRIu64 " entries, %" PRIu64 " were acknowledged", ns, n, share);
    actr_msg_free(m);
}

int main(int argc, char **argv)
{
    bench_set_name("durable_put");
    bench_arg_t args[] = {
        {"writes", 1, 1000000, 20000, 1, 1000000000, "writes in total", 0, 0},
        {"actors", 0, 16, 4, 1, 100000, "writer actors", 0, 0},
        {"window", 0, 1024, 64, 1, 100000, "puts each writer keeps outstanding", 0, 0},
        {"full", 0, 0, 0, 0, 1, "1: synchronous=FULL (fsync per commit)", 0, 0},
    };
    int quick = bench_parse_args(argc, argv, args, sizeof(args) / sizeof(args[0]));
    uint64_t writes = args[0].value, actors = args[1].value, window = args[2].value;
    int full = (int)args[3].value;
    if (actors > writes)
        actors = writes;

    bench_rt_t b;
    bench_rt_open(&b); /* the data directory is private and temporary */
    actr_store_options_t so;
    actr_store_options_init(&so);
    so.sync = full ? ACTR_STORE_FULL : ACTR_STORE_NORMAL;
    actr_error_t err;
    int rc = actr_store_open(b.rt, &so, &err);
    if (rc != 0)
        bench_fail("actr_store_open: %s", err.msg);

    actr_ref_t driver;
    bench_check(actr_spawn(b.client, &driver_beh, NULL, 0, NULL, &driver), "actr_spawn");
    bench_sendf(b.client, driver, BENCH_MSG_GO, "[UUU]", writes, actors, window);
    actr_msg_t *res = bench_wait_result(&b, quick ? BENCH_QUICK_TIMEOUT_MS : BENCH_TIMEOUT_MS);
    uint64_t ns, acked;
    bench_check(actr_msg_unpack(res, "[UU]", &ns, &acked), "unpack result");
    actr_msg_free(res);
    if (acked != writes)
        bench_fail("%" PRIu64 " writes acknowledged, %" PRIu64 " made", acked, writes);

    actr_store_stats_t st;
    bench_check(actr_store_stats(b.rt, &st), "actr_store_stats");
    if (st.writes != writes || st.errors != 0 || st.commits == 0)
        bench_fail("store counters: %" PRIu64 " writes, %" PRIu64 " errors, %" PRIu64
                   " commits; expected %" PRIu64 " writes",
                   st.writes, st.errors, st.commits, writes);
    for (uint64_t i = 0; i < actors; i++)
        verify(b.client, (int)i, writes / actors + (i < writes % actors ? 1 : 0));
    unsigned long long workers = bench_rt_workers(&b);
    bench_rt_close(&b);

    double secs = (double)ns / 1e9;
    printf("bench=durable_put puts_per_s=%.0f elapsed_s=%.3f writes=%" PRIu64 " actors=%" PRIu64
           " window=%" PRIu64 " batch_avg=%.1f sync=%s workers=%llu impl=actr\n",
           bench_rate((double)writes, secs), secs, writes, actors, window,
           (double)st.writes / (double)st.commits, full ? "full" : "normal", workers);
    return 0;
}

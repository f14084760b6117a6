/* tests/bench/remote_stream.c — the `remote_stream` benchmark: an actor on node
 * "a" sends M small messages to an actor on node "b" (two processes on
 * 127.0.0.1), which replies once when it has counted them all.
 *
 *   bench_remote_stream [--quick] [--chunk=C] [messages]   (default 2,000,000)
 *   -> bench=remote_stream msgs_per_s=... elapsed_s=... messages=M ...
 *
 * The program forks node "b" (bench_node.h), which spawns the sink registered
 * as "sink". This process is node "a": its client spawns the sender (the
 * driver) and sends it GO. The sender finds the sink with actr_lookup
 * (retrying every 10 ms until the cluster is up, at most 30 s), starts the
 * clock, sends the sink SETUP [M], then the integers 0 .. M-1, each its own
 * message (actr_msg_pack "i"), at most C per activation: after C sends it
 * sends itself CONT to go on later, so it never holds a worker for the whole
 * run and each activation's frames leave in one write.
 *
 * Backpressure: a remote send fails with ACTR_EAGAIN when the link's outbound
 * queue is full (the message was consumed, nothing was queued). The sender
 * then stops, arms a 1 ms timer to itself and retries the SAME integer with a
 * new message when it fires: nothing is lost, and no worker spins. The line
 * reports how many sends were refused (`send_retries`).
 *
 * The sink checks that the integers arrive as 0, 1, 2, ... (a lost,
 * duplicated or reordered message fails the run) and, when it has M, sends
 * DONE [M] to the sender, which stops the clock, checks the count and
 * reports. Any unexpected value, error code, or a node that dies fails the
 * run (exit 1) and node "b" is killed.
 */
#include "bench.h"
#include "bench_node.h"

enum { MSG_SETUP = BENCH_MSG_FIRST_OWN, MSG_DATA, MSG_DONE, MSG_RETRY };

#define SINK_NAME "sink"
#define LOOKUP_RETRY_MS 10
#define SEND_RETRY_MS 1

typedef struct sink {
    int total;  /* M, from SETUP; -1 before it */
    int expect; /* the next integer = messages counted */
} sink_t;

typedef struct sender {
    actr_ref_t client, sink;
    int total;   /* M */
    int next;    /* the next integer to send */
    int chunk;   /* sends per activation */
    uint64_t retries; /* sends refused with ACTR_EAGAIN (each retried) */
    uint64_t lookup_req;
    uint64_t up_deadline;
    uint64_t t0;
} sender_t;

/* ---- node b ---------------------------------------------------------------------- */

static int sink_init(actr_ctx_t *ctx, void *state, const void *args, size_t len)
{
    sink_t *st = state;
    (void)ctx, (void)args, (void)len;
    st->total = -1;
    return 0;
}

static int sink_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    sink_t *st = state;
    int k;

    switch (actr_msg_type(msg)) {
    case MSG_SETUP:
        if (st->total >= 0)
            bench_fail("sink: a second SETUP");
        bench_check(actr_msg_unpack(msg, "i", &st->total), "sink: unpack setup");
        if (st->total <= 0)
            bench_fail("sink: SETUP for %d messages", st->total);
        return 0;
    case MSG_DATA:
        if (st->total < 0)
            bench_fail("sink: data before SETUP (FIFO broken?)");
        bench_check(actr_msg_unpack(msg, "i", &k), "sink: unpack data");
        if (k != st->expect)
            bench_fail("sink got %d, expected %d", k, st->expect);
        if (++st->expect == st->total)
            bench_sendf(ctx, actr_msg_from(msg), MSG_DONE, "i", st->expect);
        else if (st->expect > st->total)
            bench_fail("sink got %d messages, more than the %d announced", st->expect,
                       st->total);
        return 0;
    default:
        bench_fail("sink got message type %" PRIu32, actr_msg_type(msg));
    }
}

static const actr_behavior_t sink_beh = {
    .size = sizeof(actr_behavior_t),
    .name = "bench.remote_sink",
    .state_size = sizeof(sink_t),
    .init = sink_init,
    .receive = sink_receive,
};

static void serve(bench_rt_t *b, void *ud)
{
    actr_spawn_opts_t o = {.name = SINK_NAME};
    actr_ref_t sink;
    (void)ud;
    bench_check(actr_spawn(b->client, &sink_beh, NULL, 0, &o, &sink), "node b: spawn sink");
}

/* ---- node a ---------------------------------------------------------------------- */

static void self_after(actr_ctx_t *ctx, uint32_t type, uint32_t ms)
{
    actr_msg_t *m = NULL;
    bench_check(actr_msg_new(ctx, type, NULL, 0, &m), "sender: msg_new");
    bench_check(actr_timer_send_after(ctx, actr_self(ctx), ms, m, NULL), "sender: timer");
}

/* Send up to one chunk; then continue through CONT, or through a timer when
 * the link pushed back. */
static void pump(actr_ctx_t *ctx, sender_t *st)
{
    int sent = 0;
    while (st->next < st->total && sent < st->chunk) {
        actr_msg_t *m = NULL;
        int rc;
        bench_check(actr_msg_pack(ctx, MSG_DATA, &m, "i", st->next), "sender: pack");
        rc = actr_send(ctx, st->sink, m);
        if (rc == ACTR_EAGAIN) {
            st->retries++;
            self_after(ctx, MSG_RETRY, SEND_RETRY_MS);
            return;
        }
        if (rc != 0)
            bench_fail("sender: actr_send of %d: %s (%d)", st->next, actr_err_name(rc), rc);
        st->next++;
        sent++;
    }
    if (st->next < st->total)
        bench_send_empty(ctx, actr_self(ctx), BENCH_MSG_CONT);
}

static int sender_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    sender_t *st = state;
    uint32_t type = actr_msg_type(msg);

    if (actr_msg_is_reply(msg) && actr_msg_request_id(msg) == st->lookup_req) {
        st->lookup_req = 0;
        bench_check(actr_msg_unpack(msg, "r", &st->sink), "sender: unpack lookup reply");
        if (st->sink.node == actr_node_id(actr_ctx_runtime(ctx)))
            bench_fail("sender: lookup found a local sink, expected one on node b");
        st->t0 = bench_now_ns();
        bench_sendf(ctx, st->sink, MSG_SETUP, "i", st->total);
        pump(ctx, st);
        return 0;
    }

    switch (type) {
    case BENCH_MSG_GO:
        st->client = actr_msg_from(msg);
        bench_check(actr_msg_unpack(msg, "[ii]", &st->total, &st->chunk), "sender: unpack go");
        st->up_deadline = bench_now_ns() + (uint64_t)BENCH_NODE_UP_MS * 1000000u;
        bench_check(actr_lookup(ctx, SINK_NAME, 1000, &st->lookup_req), "sender: actr_lookup");
        return 0;
    case ACTR_MSG_REQFAIL: {
        int code = actr_msg_error(msg);
        if (actr_msg_request_id(msg) != st->lookup_req || st->lookup_req == 0)
            bench_fail("sender: request %" PRIu64 " failed: %s", actr_msg_request_id(msg),
                       actr_err_name(code));
        if (code != ACTR_ENOACTOR && code != ACTR_ETIMEDOUT && code != ACTR_ENOTCONN)
            bench_fail("sender: lookup failed: %s (%d)", actr_err_name(code), code);
        if (bench_now_ns() > st->up_deadline)
            bench_fail("sender: no node answered the lookup of \"%s\" within %d s (last: %s)",
                       SINK_NAME, BENCH_NODE_UP_MS / 1000, actr_err_name(code));
        st->lookup_req = 0;
        self_after(ctx, BENCH_MSG_CONT, LOOKUP_RETRY_MS);
        return 0;
    }
    case BENCH_MSG_CONT:
        if (actr_ref_is_none(st->sink)) /* the lookup's retry timer */
            bench_check(actr_lookup(ctx, SINK_NAME, 1000, &st->lookup_req),
                        "sender: actr_lookup");
        else
            pump(ctx, st);
        return 0;
    case MSG_RETRY:
        pump(ctx, st);
        return 0;
    case MSG_DONE: {
        int counted;
        double elapsed = bench_secs(st->t0, bench_now_ns());
        if (!actr_ref_eq(actr_msg_from(msg), st->sink))
            bench_fail("sender got DONE from an unknown actor");
        bench_check(actr_msg_unpack(msg, "i", &counted), "sender: unpack done");
        if (counted != st->total || st->next != st->total)
            bench_fail("sink counted %d, sender sent %d, expected %d", counted, st->next,
                       st->total);
        bench_sendf(ctx, st->client, BENCH_MSG_RESULT, "[fiU]", elapsed, counted, st->retries);
        bench_check(actr_exit(ctx, ACTR_REASON_NORMAL), "actr_exit");
        return 0;
    }
    default:
        bench_fail("sender got message type %" PRIu32, type);
    }
}

static const actr_behavior_t sender_beh = {
    .size = sizeof(actr_behavior_t),
    .name = "bench.remote_sender",
    .state_size = sizeof(sender_t),
    .receive = sender_receive,
};

int main(int argc, char **argv)
{
    bench_arg_t args[] = {
        {.name = "chunk",
         .positional = 0,
         .value = 4096,
         .quick = 4096,
         .min = 1,
         .max = 1000000,
         .help = "sends per activation of the sender"},
        {.name = "messages",
         .positional = 1,
         .value = 2000000,
         .quick = 50000,
         .min = 1,
         .max = INT_MAX - 1,
         .help = "messages to send"},
    };
    bench_node_t n;
    actr_ref_t sender;
    actr_msg_t *res;
    double elapsed;
    int total, chunk, done = 0, quick;
    uint64_t retries = 0;
    unsigned long long workers;

    bench_set_name("remote_stream");
    quick = bench_parse_args(argc, argv, args, sizeof args / sizeof args[0]);
    chunk = (int)args[0].value;
    total = (int)args[1].value;

    bench_node_start(&n, serve, NULL);
    bench_check(actr_spawn(n.b.client, &sender_beh, NULL, 0, NULL, &sender), "spawn sender");
    bench_sendf(n.b.client, sender, BENCH_MSG_GO, "[ii]", total, chunk);
    res = bench_node_wait_result(&n, (quick ? BENCH_QUICK_TIMEOUT_MS : BENCH_TIMEOUT_MS) +
                                         BENCH_NODE_UP_MS);
    bench_check(actr_msg_unpack(res, "[fiU]", &elapsed, &done, &retries),
                "client: unpack result");
    actr_msg_free(res);
    workers = bench_rt_workers(&n.b);
    bench_node_finish(&n);

    if (done != total)
        bench_fail("%d messages counted, expected %d", done, total);
    printf("bench=remote_stream msgs_per_s=%.0f elapsed_s=%.6f messages=%d chunk=%d "
           "send_retries=%" PRIu64 " workers=%llu impl=actr\n",
           bench_rate(total, elapsed), elapsed, total, chunk, retries, workers);
    return 0;
}

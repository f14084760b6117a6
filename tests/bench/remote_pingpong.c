/* tests/bench/remote_pingpong.c — the `remote_pingpong` benchmark: two actors
 * on two nodes (two processes on 127.0.0.1) exchange a small integer message
 * N times each way.
 *
 *   bench_remote_pingpong [--quick] [round_trips]          (default 100,000)
 *   -> bench=remote_pingpong rtt_per_s=... elapsed_s=... round_trips=N ...
 *
 * The program forks node "b" (bench_node.h), which spawns the ponger
 * registered as "ponger". This process is node "a": its client spawns the
 * pinger (the driver) and sends it GO. The pinger finds the ponger with
 * actr_lookup (retrying every 10 ms until the cluster is up, at most 30 s),
 * starts the clock and sends ping 0. The ponger checks that pings arrive as
 * 0, 1, 2, ... and answers each to its sender with the same integer; the
 * pinger checks each pong and sends the next. After pong N-1 the clock stops,
 * the pinger asks the ponger (a request) how many pings it answered, checks
 * that it is N, and reports to the client. Any unexpected value, error code,
 * or a node that dies fails the run (exit 1) and node "b" is killed.
 */
#include "bench.h"
#include "bench_node.h"

enum { MSG_PING = BENCH_MSG_FIRST_OWN, MSG_PONG, MSG_COUNT };

#define PONGER_NAME "ponger"
#define LOOKUP_RETRY_MS 10

typedef struct ponger {
    int expect; /* the next ping value = pings answered */
} ponger_t;

typedef struct pinger {
    actr_ref_t client, ponger;
    int rounds;         /* round trips to make */
    int next;           /* the value of the ping in flight */
    uint64_t lookup_req, count_req;
    uint64_t up_deadline; /* bench_now_ns() by which the ponger must be found */
    uint64_t t0;
    double elapsed;
} pinger_t;

/* ---- node b ---------------------------------------------------------------------- */

static int ponger_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    ponger_t *st = state;
    int k;

    switch (actr_msg_type(msg)) {
    case MSG_PING:
        bench_check(actr_msg_unpack(msg, "i", &k), "ponger: unpack ping");
        if (k != st->expect)
            bench_fail("ponger got ping %d, expected %d", k, st->expect);
        st->expect++;
        bench_sendf(ctx, actr_msg_from(msg), MSG_PONG, "i", k);
        return 0;
    case MSG_COUNT: {
        actr_msg_t *r = NULL;
        if (!actr_msg_is_request(msg))
            bench_fail("ponger: count query is not a request");
        bench_check(actr_msg_pack(ctx, MSG_COUNT, &r, "i", st->expect), "ponger: pack count");
        bench_check(actr_reply(ctx, msg, r), "ponger: reply count");
        return 0;
    }
    default:
        bench_fail("ponger got message type %" PRIu32, actr_msg_type(msg));
    }
}

static const actr_behavior_t ponger_beh = {
    .size = sizeof(actr_behavior_t),
    .name = "bench.remote_ponger",
    .state_size = sizeof(ponger_t),
    .receive = ponger_receive,
};

static void serve(bench_rt_t *b, void *ud)
{
    actr_spawn_opts_t o = {.name = PONGER_NAME};
    actr_ref_t ponger;
    (void)ud;
    bench_check(actr_spawn(b->client, &ponger_beh, NULL, 0, &o, &ponger), "node b: spawn ponger");
}

/* ---- node a ---------------------------------------------------------------------- */

static void lookup(actr_ctx_t *ctx, pinger_t *st)
{
    bench_check(actr_lookup(ctx, PONGER_NAME, 1000, &st->lookup_req), "pinger: actr_lookup");
}

static int pinger_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    pinger_t *st = state;
    uint32_t type = actr_msg_type(msg);
    int k;

    if (actr_msg_is_reply(msg) && actr_msg_request_id(msg) == st->lookup_req) {
        st->lookup_req = 0;
        bench_check(actr_msg_unpack(msg, "r", &st->ponger), "pinger: unpack lookup reply");
        if (st->ponger.node == actr_node_id(actr_ctx_runtime(ctx)))
            bench_fail("pinger: lookup found a local ponger, expected one on node b");
        st->next = 0;
        st->t0 = bench_now_ns();
        bench_sendf(ctx, st->ponger, MSG_PING, "i", 0);
        return 0;
    }
    if (actr_msg_is_reply(msg) && actr_msg_request_id(msg) == st->count_req) {
        int answered;
        bench_check(actr_msg_unpack(msg, "i", &answered), "pinger: unpack count");
        if (answered != st->rounds)
            bench_fail("ponger answered %d pings, expected %d", answered, st->rounds);
        bench_sendf(ctx, st->client, BENCH_MSG_RESULT, "[fi]", st->elapsed, st->next);
        bench_check(actr_exit(ctx, ACTR_REASON_NORMAL), "actr_exit");
        return 0;
    }

    switch (type) {
    case BENCH_MSG_GO:
        st->client = actr_msg_from(msg);
        bench_check(actr_msg_unpack(msg, "i", &st->rounds), "pinger: unpack go");
        st->up_deadline = bench_now_ns() + (uint64_t)BENCH_NODE_UP_MS * 1000000u;
        lookup(ctx, st);
        return 0;
    case ACTR_MSG_REQFAIL: {
        int code = actr_msg_error(msg);
        actr_msg_t *retry = NULL;
        if (actr_msg_request_id(msg) != st->lookup_req || st->lookup_req == 0)
            bench_fail("pinger: request %" PRIu64 " failed: %s", actr_msg_request_id(msg),
                       actr_err_name(code));
        /* Not found (yet): the cluster may still be coming up. */
        if (code != ACTR_ENOACTOR && code != ACTR_ETIMEDOUT && code != ACTR_ENOTCONN)
            bench_fail("pinger: lookup failed: %s (%d)", actr_err_name(code), code);
        if (bench_now_ns() > st->up_deadline)
            bench_fail("pinger: no node answered the lookup of \"%s\" within %d s (last: %s)",
                       PONGER_NAME, BENCH_NODE_UP_MS / 1000, actr_err_name(code));
        st->lookup_req = 0;
        bench_check(actr_msg_new(ctx, BENCH_MSG_CONT, NULL, 0, &retry), "pinger: msg_new");
        bench_check(actr_timer_send_after(ctx, actr_self(ctx), LOOKUP_RETRY_MS, retry, NULL),
                    "pinger: timer");
        return 0;
    }
    case BENCH_MSG_CONT:
        lookup(ctx, st);
        return 0;
    case MSG_PONG:
        bench_check(actr_msg_unpack(msg, "i", &k), "pinger: unpack pong");
        if (k != st->next)
            bench_fail("pinger got pong %d, expected %d", k, st->next);
        if (!actr_ref_eq(actr_msg_from(msg), st->ponger))
            bench_fail("pinger got a pong from an unknown actor");
        if (++st->next < st->rounds) {
            bench_sendf(ctx, st->ponger, MSG_PING, "i", st->next);
            return 0;
        }
        /* All round trips done: stop the clock, then check the ponger's count. */
        st->elapsed = bench_secs(st->t0, bench_now_ns());
        {
            actr_msg_t *q = NULL;
            bench_check(actr_msg_new(ctx, MSG_COUNT, NULL, 0, &q), "pinger: msg_new");
            bench_check(actr_request(ctx, st->ponger, q, 10000, &st->count_req),
                        "pinger: count request");
        }
        return 0;
    default:
        bench_fail("pinger got message type %" PRIu32, type);
    }
}

static const actr_behavior_t pinger_beh = {
    .size = sizeof(actr_behavior_t),
    .name = "bench.remote_pinger",
    .state_size = sizeof(pinger_t),
    .receive = pinger_receive,
};

int main(int argc, char **argv)
{
    bench_arg_t args[] = {
        {.name = "round_trips",
         .positional = 1,
         .value = 100000,
         .quick = 2000,
         .min = 1,
         .max = INT_MAX,
         .help = "round trips (2 messages each)"},
    };
    bench_node_t n;
    actr_ref_t pinger;
    actr_msg_t *res;
    double elapsed;
    int rounds, done = 0, quick;
    unsigned long long workers;

    bench_set_name("remote_pingpong");
    quick = bench_parse_args(argc, argv, args, sizeof args / sizeof args[0]);
    rounds = (int)args[0].value;

    bench_node_start(&n, serve, NULL);
    bench_check(actr_spawn(n.b.client, &pinger_beh, NULL, 0, NULL, &pinger), "spawn pinger");
    bench_sendf(n.b.client, pinger, BENCH_MSG_GO, "i", rounds);
    res = bench_node_wait_result(&n, (quick ? BENCH_QUICK_TIMEOUT_MS : BENCH_TIMEOUT_MS) +
                                         BENCH_NODE_UP_MS);
    bench_check(actr_msg_unpack(res, "[fi]", &elapsed, &done), "client: unpack result");
    actr_msg_free(res);
    workers = bench_rt_workers(&n.b);
    bench_node_finish(&n);

    if (done != rounds)
        bench_fail("%d round trips completed, expected %d", done, rounds);
    printf("bench=remote_pingpong rtt_per_s=%.0f elapsed_s=%.6f round_trips=%d workers=%llu "
           "impl=actr\n",
           bench_rate(rounds, elapsed), elapsed, rounds, workers);
    return 0;
}

/* tests/bench/pingpong.c — the `pingpong` benchmark: two actors exchange a
 * small integer message N times each way (N round trips, 2N messages).
 *
 *   bench_pingpong [--quick] [round_trips]          (default 1,000,000)
 *   -> bench=pingpong msgs_per_s=... elapsed_s=... round_trips=N messages=2N ...
 *
 * The client spawns the pinger (the driver) and sends it GO. The pinger spawns
 * the ponger, starts the clock, and sends ping 0. The ponger checks that the
 * pings arrive as 0, 1, 2, ... and answers each with the same integer; the
 * pinger checks that each pong carries the integer it sent, then sends the
 * next. After pong N-1 the clock stops and the pinger reports to the client.
 * Every message is packed with actr_msg_pack("i") and goes through the
 * target's mailbox; any unexpected value or error code fails the run.
 */
#include "bench.h"

enum { MSG_PING = BENCH_MSG_FIRST_OWN, MSG_PONG };

typedef struct ponger {
    int expect; /* the next ping value */
} ponger_t;

typedef struct pinger {
    actr_ref_t client, ponger;
    int rounds; /* round trips to make */
    int next;   /* the value of the ping in flight */
    uint64_t t0;
} pinger_t;

static int ponger_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    ponger_t *st = state;
    int k;
    bench_expect_type(msg, MSG_PING, "ponger");
    bench_check(actr_msg_unpack(msg, "i", &k), "ponger: unpack ping");
    if (k != st->expect)
        bench_fail("ponger got ping %d, expected %d", k, st->expect);
    st->expect++;
    bench_sendf(ctx, actr_msg_from(msg), MSG_PONG, "i", k);
    return 0;
}

static const actr_behavior_t ponger_beh = {
    .size = sizeof(actr_behavior_t),
    .name = "bench.ponger",
    .state_size = sizeof(ponger_t),
    .receive = ponger_receive,
};

static int pinger_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    pinger_t *st = state;
    double elapsed;
    int k;

    switch (actr_msg_type(msg)) {
    case BENCH_MSG_GO:
        st->client = actr_msg_from(msg);
        bench_check(actr_msg_unpack(msg, "i", &st->rounds), "pinger: unpack go");
        bench_check(actr_spawn(ctx, &ponger_beh, NULL, 0, NULL, &st->ponger), "spawn ponger");
        st->next = 0;
        st->t0 = bench_now_ns();
        bench_sendf(ctx, st->ponger, MSG_PING, "i", 0);
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
        /* All round trips done: stop the clock and the ponger, then report.
         * The result goes last: once the client has it, it stops the runtime,
         * and any call after that could fail with ACTR_ENOACTOR/ESTOPPED. */
        elapsed = bench_secs(st->t0, bench_now_ns());
        bench_check(actr_actor_stop(ctx, st->ponger, ACTR_REASON_NORMAL), "stop ponger");
        bench_sendf(ctx, st->client, BENCH_MSG_RESULT, "[fi]", elapsed, st->next);
        bench_check(actr_exit(ctx, ACTR_REASON_NORMAL), "actr_exit");
        return 0;
    default:
        bench_fail("pinger got message type %" PRIu32, actr_msg_type(msg));
    }
}

static const actr_behavior_t pinger_beh = {
    .size = sizeof(actr_behavior_t),
    .name = "bench.pinger",
    .state_size = sizeof(pinger_t),
    .receive = pinger_receive,
};

int main(int argc, char **argv)
{
    bench_arg_t args[] = {
        {.name = "round_trips",
         .positional = 1,
         .value = 1000000,
         .quick = 10000,
         .min = 1,
         .max = INT_MAX,
         .help = "round trips (2 messages each)"},
    };
    bench_rt_t b;
    actr_ref_t pinger;
    actr_msg_t *res;
    double elapsed;
    int rounds, done = 0, quick;
    unsigned long long workers;

    bench_set_name("pingpong");
    quick = bench_parse_args(argc, argv, args, sizeof args / sizeof args[0]);
    rounds = (int)args[0].value;

    bench_rt_open(&b);
    bench_check(actr_spawn(b.client, &pinger_beh, NULL, 0, NULL, &pinger), "spawn pinger");
    bench_sendf(b.client, pinger, BENCH_MSG_GO, "i", rounds);
    res = bench_wait_result(&b, quick ? BENCH_QUICK_TIMEOUT_MS : BENCH_TIMEOUT_MS);
    bench_check(actr_msg_unpack(res, "[fi]", &elapsed, &done), "client: unpack result");
    actr_msg_free(res);
    workers = bench_rt_workers(&b);
    bench_rt_close(&b);

    if (done != rounds)
        bench_fail("%d round trips completed, expected %d", done, rounds);
    printf("bench=pingpong msgs_per_s=%.0f elapsed_s=%.6f round_trips=%d messages=%lld "
           "workers=%llu impl=actr\n",
           bench_rate(2.0 * rounds, elapsed), elapsed, rounds, 2LL * rounds, workers);
    return 0;
}

/* tests/bench/ring.c — the `ring` benchmark: 1,000 actors in a ring pass one
 * token M times (M hops).
 *
 *   bench_ring [--quick] [hops [actors]]        (default 10,000,000 hops, 1,000 actors)
 *   -> bench=ring hops_per_s=... elapsed_s=... hops=M actors=K ...
 *
 * The client spawns the driver and sends it GO. The driver spawns the K ring
 * members and sends each a SETUP message naming its successor (the ref of
 * member i+1 mod K), its index, K and M; each member answers READY. When all K
 * are ready (setup is excluded from the timing) the driver starts the clock
 * and injects the token into member 0 carrying M, the number of hops still to
 * make. A member that receives r > 0 sends r-1 to its successor (one hop); the
 * member that receives 0 tells the driver, which stops the clock.
 *
 * Checks: a member that gets the token checks that it is the member the token
 * should be at ((M - r) mod K == its index), so a lost, duplicated or
 * misrouted token is caught in flight. Afterwards the driver asks every member
 * how many token receipts it counted; the sum must be M + 1 (the injection
 * plus M hops), which also catches a duplicate that never reached the end.
 */
#include "bench.h"

enum { MSG_SETUP = BENCH_MSG_FIRST_OWN, MSG_READY, MSG_TOKEN, MSG_DONE, MSG_REPORT, MSG_COUNT };

typedef struct member {
    actr_ref_t next, driver;
    int index, n, hops;
    int set;       /* SETUP seen */
    int64_t count; /* token receipts */
} member_t;

typedef struct driver {
    actr_ref_t client;
    actr_ref_t *members;
    int n, hops;
    int ready, reports;
    int64_t receipts;
    uint64_t t0;
    double elapsed;
} driver_t;

static int member_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    member_t *st = state;
    int r;

    switch (actr_msg_type(msg)) {
    case MSG_SETUP:
        if (st->set)
            bench_fail("ring member %d set up twice", st->index);
        bench_check(actr_msg_unpack(msg, "[riii]", &st->next, &st->index, &st->n, &st->hops),
                    "member: unpack setup");
        st->driver = actr_msg_from(msg);
        st->set = 1;
        bench_sendf(ctx, st->driver, MSG_READY, "i", st->index);
        return 0;
    case MSG_TOKEN:
        bench_check(actr_msg_unpack(msg, "i", &r), "member: unpack token");
        if (!st->set)
            bench_fail("ring member got the token before its setup");
        if (r < 0 || r > st->hops || (st->hops - r) % st->n != st->index)
            bench_fail("token with %d hops left reached member %d (of %d, %d hops)", r, st->index,
                       st->n, st->hops);
        st->count++;
        if (r == 0)
            bench_sendf(ctx, st->driver, MSG_DONE, "i", st->index);
        else
            bench_sendf(ctx, st->next, MSG_TOKEN, "i", r - 1);
        return 0;
    case MSG_REPORT:
        bench_sendf(ctx, st->driver, MSG_COUNT, "[iI]", st->index, st->count);
        bench_check(actr_exit(ctx, ACTR_REASON_NORMAL), "actr_exit");
        return 0;
    default:
        bench_fail("ring member got message type %" PRIu32, actr_msg_type(msg));
    }
}

static const actr_behavior_t member_beh = {
    .size = sizeof(actr_behavior_t),
    .name = "bench.ring_member",
    .state_size = sizeof(member_t),
    .receive = member_receive,
};

static int driver_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    driver_t *st = state;
    int i, idx;
    int64_t count;

    switch (actr_msg_type(msg)) {
    case BENCH_MSG_GO:
        st->client = actr_msg_from(msg);
        bench_check(actr_msg_unpack(msg, "[ii]", &st->hops, &st->n), "driver: unpack go");
        st->members = calloc((size_t)st->n, sizeof *st->members);
        if (st->members == NULL)
            bench_fail("out of memory");
        for (i = 0; i < st->n; i++)
            bench_check(actr_spawn(ctx, &member_beh, NULL, 0, NULL, &st->members[i]),
                        "spawn ring member");
        for (i = 0; i < st->n; i++)
            bench_sendf(ctx, st->members[i], MSG_SETUP, "[riii]", st->members[(i + 1) % st->n], i,
                        st->n, st->hops);
        return 0;
    case MSG_READY:
        if (++st->ready < st->n)
            return 0;
        st->t0 = bench_now_ns();
        bench_sendf(ctx, st->members[0], MSG_TOKEN, "i", st->hops);
        return 0;
    case MSG_DONE:
        st->elapsed = bench_secs(st->t0, bench_now_ns());
        bench_check(actr_msg_unpack(msg, "i", &idx), "driver: unpack done");
        if (st->ready != st->n || idx != st->hops % st->n)
            bench_fail("token ended at member %d, expected %d", idx, st->hops % st->n);
        for (i = 0; i < st->n; i++)
            bench_send_empty(ctx, st->members[i], MSG_REPORT);
        return 0;
    case MSG_COUNT:
        bench_check(actr_msg_unpack(msg, "[iI]", &idx, &count), "driver: unpack count");
        st->receipts += count;
        if (++st->reports < st->n)
            return 0;
        if (st->receipts != (int64_t)st->hops + 1)
            bench_fail("members counted %" PRId64 " token receipts, expected %" PRId64,
                       st->receipts, (int64_t)st->hops + 1);
        bench_sendf(ctx, st->client, BENCH_MSG_RESULT, "[fiI]", st->elapsed, st->n,
                    st->receipts - 1);
        bench_check(actr_exit(ctx, ACTR_REASON_NORMAL), "actr_exit");
        return 0;
    default:
        bench_fail("ring driver got message type %" PRIu32, actr_msg_type(msg));
    }
}

static void driver_terminate(actr_ctx_t *ctx, void *state, const char *reason)
{
    driver_t *st = state;
    (void)ctx;
    (void)reason;
    free(st->members);
    st->members = NULL;
}

static const actr_behavior_t driver_beh = {
    .size = sizeof(actr_behavior_t),
    .name = "bench.ring_driver",
    .state_size = sizeof(driver_t),
    .receive = driver_receive,
    .terminate = driver_terminate,
};

int main(int argc, char **argv)
{
    bench_arg_t args[] = {
        {.name = "hops",
         .positional = 1,
         .value = 10000000,
         .quick = 20000,
         .min = 1,
         .max = INT_MAX - 1,
         .help = "token hops"},
        {.name = "actors",
         .positional = 1,
         .value = 1000,
         .quick = 100,
         .min = 2,
         .max = 100000,
         .help = "actors in the ring"},
    };
    bench_rt_t b;
    actr_ref_t driver;
    actr_msg_t *res;
    double elapsed;
    int hops, n, got_n = 0, quick;
    int64_t got_hops = 0;
    unsigned long long workers;

    bench_set_name("ring");
    quick = bench_parse_args(argc, argv, args, sizeof args / sizeof args[0]);
    hops = (int)args[0].value;
    n = (int)args[1].value;

    bench_rt_open(&b);
    bench_check(actr_spawn(b.client, &driver_beh, NULL, 0, NULL, &driver), "spawn driver");
    bench_sendf(b.client, driver, BENCH_MSG_GO, "[ii]", hops, n);
    res = bench_wait_result(&b, quick ? BENCH_QUICK_TIMEOUT_MS : BENCH_TIMEOUT_MS);
    bench_check(actr_msg_unpack(res, "[fiI]", &elapsed, &got_n, &got_hops),
                "client: unpack result");
    actr_msg_free(res);
    workers = bench_rt_workers(&b);
    bench_rt_close(&b);

    if (got_n != n || got_hops != hops)
        bench_fail("driver reported %d actors and %" PRId64 " hops, expected %d and %d", got_n,
                   got_hops, n, hops);
    printf("bench=ring hops_per_s=%.0f elapsed_s=%.6f hops=%d actors=%d workers=%llu "
           "impl=actr\n",
           bench_rate((double)hops, elapsed), elapsed, hops, n, workers);
    return 0;
}

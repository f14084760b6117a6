/* tests/bench/spawn.c — the `spawn` benchmark: a parent actor spawns N actors
 * that each wait for one message, sends each one message, and waits for every
 * reply; each child replies to the parent and exits.
 *
 *   bench_spawn [--quick] [--chunk=C] [actors]            (default 1,000,000)
 *   -> bench=spawn spawns_per_s=... elapsed_s=... bytes_per_actor=... peak_rss_mb=...
 *
 * The client spawns the parent and sends it GO. The parent reads the resident
 * set (VmRSS) and resets the kernel's peak (VmHWM) just before the first
 * spawn, starts the clock, then spawns the N children in chunks of C per
 * activation (sending itself CONT between chunks, so it never holds a worker
 * for the whole run). It keeps every child's ref in an array of N refs: that
 * array is part of what an application holding its actors pays, so it counts
 * in the memory figure. Once all N exist it samples VmRSS again (every child
 * alive, none messaged yet), then sends child i the message i, again in chunks.
 * A child answers with the same integer and exits with reason "normal". The
 * parent marks each answer in a bitmap, failing on an out-of-range or repeated
 * index, and when all N have answered stops the clock and reads VmHWM.
 *
 * Figures: spawns_per_s = N / elapsed for the whole workload (spawn, message,
 * reply, exit). bytes_per_actor = (peak resident set - resident set before the
 * first spawn) / N. The peak is VmHWM after the workload; it is only the
 * workload's own peak because VmHWM was reset before the first spawn. If the
 * kernel refused that reset and the process-lifetime peak did not grow past its
 * value before the first spawn, the figure is an upper bound (peak_exact=0).
 * rss_bytes_per_actor is the growth at the moment every child is alive (the
 * figure the Erlang version reports under the same name).
 *
 * A child whose reply is refused because the parent's mailbox is full
 * (ACTR_EMAILBOX) retries it later through a message to itself; no reply is
 * ever dropped.
 */
#include "bench.h"

enum { MSG_PING = BENCH_MSG_FIRST_OWN, MSG_PONG, MSG_RETRY };

typedef struct parent {
    actr_ref_t client;
    actr_ref_t *refs; /* every child's ref, in spawn order */
    uint8_t *seen;    /* bitmap: child i has answered */
    int n, chunk;
    int spawned, sent, replies;
    int hwm_reset; /* 1 if VmHWM was reset before the first spawn */
    int64_t rss_before_kb, hwm_before_kb, rss_spawned_kb;
    uint64_t t0;
} parent_t;

/* Send the answer for child `idx` to the parent, then exit; if the parent's
 * mailbox is full, retry through a message to self (the message carries what
 * is needed, so the child needs no state). */
static void child_answer(actr_ctx_t *ctx, actr_ref_t parent, int idx)
{
    actr_msg_t *m = NULL;
    int rc;
    bench_check(actr_msg_pack(ctx, MSG_PONG, &m, "i", idx), "child: pack answer");
    rc = actr_send(ctx, parent, m);
    if (rc == 0) {
        bench_check(actr_exit(ctx, ACTR_REASON_NORMAL), "actr_exit");
        return;
    }
    if (rc != ACTR_EMAILBOX)
        bench_fail("child: answer to parent: %s (%d)", actr_err_name(rc), rc);
    bench_sendf(ctx, actr_self(ctx), MSG_RETRY, "[ri]", parent, idx);
}

static int child_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    actr_ref_t parent;
    int idx;
    (void)state;
    switch (actr_msg_type(msg)) {
    case MSG_PING:
        bench_check(actr_msg_unpack(msg, "i", &idx), "child: unpack");
        child_answer(ctx, actr_msg_from(msg), idx);
        return 0;
    case MSG_RETRY:
        bench_check(actr_msg_unpack(msg, "[ri]", &parent, &idx), "child: unpack retry");
        child_answer(ctx, parent, idx);
        return 0;
    case ACTR_MSG_UNBLOCKED: /* the parent has room: the pending MSG_RETRY will use it */
        return 0;
    default:
        bench_fail("child got message type %" PRIu32, actr_msg_type(msg));
    }
}

static const actr_behavior_t child_beh = {
    .size = sizeof(actr_behavior_t),
    .name = "bench.spawn_child",
    .state_size = 0,
    .receive = child_receive,
};

/* One chunk of work: spawn up to `chunk` children, or once all exist, send up
 * to `chunk` of them their message. */
static void parent_step(actr_ctx_t *ctx, parent_t *st)
{
    int i, end;
    if (st->spawned < st->n) {
        end = st->spawned + (st->n - st->spawned < st->chunk ? st->n - st->spawned : st->chunk);
        for (i = st->spawned; i < end; i++)
            bench_check(actr_spawn(ctx, &child_beh, NULL, 0, NULL, &st->refs[i]), "spawn child");
        st->spawned = end;
        if (st->spawned == st->n)
            st->rss_spawned_kb = bench_status_kb("VmRSS");
    } else {
        end = st->sent + (st->n - st->sent < st->chunk ? st->n - st->sent : st->chunk);
        for (i = st->sent; i < end; i++)
            bench_sendf(ctx, st->refs[i], MSG_PING, "i", i);
        st->sent = end;
    }
    if (st->sent < st->n)
        bench_send_empty(ctx, actr_self(ctx), BENCH_MSG_CONT);
}

static int parent_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    parent_t *st = state;
    int idx;
    int64_t hwm_after_kb;
    double elapsed;

    switch (actr_msg_type(msg)) {
    case BENCH_MSG_GO:
        st->client = actr_msg_from(msg);
        bench_check(actr_msg_unpack(msg, "[ii]", &st->n, &st->chunk), "parent: unpack go");
        st->rss_before_kb = bench_status_kb("VmRSS");
        st->hwm_before_kb = bench_status_kb("VmHWM");
        if (st->rss_before_kb < 0 || st->hwm_before_kb < 0)
            bench_fail("cannot read VmRSS/VmHWM from /proc/self/status");
        st->hwm_reset = bench_reset_peak_rss() == 0;
        if (st->hwm_reset)
            st->rss_before_kb = bench_status_kb("VmRSS");
        st->t0 = bench_now_ns();
        /* The refs array is allocated inside the measured window on purpose. */
        st->refs = malloc((size_t)st->n * sizeof *st->refs);
        st->seen = calloc((size_t)st->n / 8 + 1, 1);
        if (st->refs == NULL || st->seen == NULL)
            bench_fail("out of memory");
        parent_step(ctx, st);
        return 0;
    case BENCH_MSG_CONT:
        parent_step(ctx, st);
        return 0;
    case MSG_PONG:
        bench_check(actr_msg_unpack(msg, "i", &idx), "parent: unpack answer");
        if (idx < 0 || idx >= st->sent)
            bench_fail("answer %d from a child not yet messaged (%d sent)", idx, st->sent);
        if (st->seen[idx / 8] & (1u << (idx % 8)))
            bench_fail("child %d answered twice", idx);
        if (!actr_ref_eq(actr_msg_from(msg), st->refs[idx]))
            bench_fail("answer %d came from another actor than child %d", idx, idx);
        st->seen[idx / 8] |= (uint8_t)(1u << (idx % 8));
        if (++st->replies < st->n)
            return 0;
        elapsed = bench_secs(st->t0, bench_now_ns());
        hwm_after_kb = bench_status_kb("VmHWM");
        bench_sendf(ctx, st->client, BENCH_MSG_RESULT, "[fiIIIIi]", elapsed, st->replies,
                    st->rss_before_kb, st->hwm_before_kb, st->rss_spawned_kb, hwm_after_kb,
                    st->hwm_reset);
        bench_check(actr_exit(ctx, ACTR_REASON_NORMAL), "actr_exit");
        return 0;
    default:
        bench_fail("parent got message type %" PRIu32, actr_msg_type(msg));
    }
}

static void parent_terminate(actr_ctx_t *ctx, void *state, const char *reason)
{
    parent_t *st = state;
    (void)ctx;
    (void)reason;
    free(st->refs);
    free(st->seen);
    st->refs = NULL;
    st->seen = NULL;
}

static const actr_behavior_t parent_beh = {
    .size = sizeof(actr_behavior_t),
    .name = "bench.spawn_parent",
    .state_size = sizeof(parent_t),
    .receive = parent_receive,
    .terminate = parent_terminate,
};

int main(int argc, char **argv)
{
    bench_arg_t args[] = {
        {.name = "actors",
         .positional = 1,
         .value = 1000000,
         .quick = 10000,
         .min = 1,
         .max = INT_MAX - 1,
         .help = "actors to spawn"},
        {.name = "chunk",
         .value = 1000,
         .quick = 1000,
         .min = 1,
         .max = INT_MAX,
         .help = "spawns or sends per parent activation"},
    };
    bench_rt_t b;
    actr_ref_t parent;
    actr_msg_t *res;
    double elapsed, bpa, rss_bpa;
    int n, chunk, replies = 0, hwm_reset = 0, peak_exact, quick;
    int64_t rss_before, hwm_before, rss_spawned, hwm_after, peak;
    unsigned long long workers;

    bench_set_name("spawn");
    quick = bench_parse_args(argc, argv, args, sizeof args / sizeof args[0]);
    n = (int)args[0].value;
    chunk = (int)args[1].value;

    bench_rt_open(&b);
    /* The parent collects one reply per child, as an aggregator would: its
     * mailbox is sized for all of them (Erlang's are unbounded). */
    actr_spawn_opts_t popts = {.mailbox_limit = (uint32_t)n + 64};
    bench_check(actr_spawn(b.client, &parent_beh, NULL, 0, &popts, &parent), "spawn parent");
    bench_sendf(b.client, parent, BENCH_MSG_GO, "[ii]", n, chunk);
    res = bench_wait_result(&b, quick ? BENCH_QUICK_TIMEOUT_MS : BENCH_TIMEOUT_MS);
    bench_check(actr_msg_unpack(res, "[fiIIIIi]", &elapsed, &replies, &rss_before, &hwm_before,
                                &rss_spawned, &hwm_after, &hwm_reset),
                "client: unpack result");
    actr_msg_free(res);
    workers = bench_rt_workers(&b);
    bench_rt_close(&b);

    if (replies != n)
        bench_fail("%d answers counted, expected %d", replies, n);
    if (rss_spawned < 0 || hwm_after < 0)
        bench_fail("cannot read VmRSS/VmHWM from /proc/self/status");
    /* Without a reset, VmHWM is the process-lifetime peak: if it did not grow
     * past its value before the first spawn, the workload's own peak is not
     * known and the growth below is an upper bound. */
    peak = hwm_after;
    peak_exact = hwm_reset || hwm_after > hwm_before;
    bpa = peak > rss_before ? (double)(peak - rss_before) * 1024.0 / n : 0;
    rss_bpa = rss_spawned > rss_before ? (double)(rss_spawned - rss_before) * 1024.0 / n : 0;
    printf("bench=spawn spawns_per_s=%.0f elapsed_s=%.6f bytes_per_actor=%.0f peak_rss_mb=%.1f "
           "rss_bytes_per_actor=%.0f rss_before_mb=%.1f actors=%d peak_exact=%d workers=%llu "
           "impl=actr\n",
           bench_rate((double)n, elapsed), elapsed, bpa, (double)peak / 1024.0, rss_bpa,
           (double)rss_before / 1024.0, n, peak_exact, workers);
    return 0;
}

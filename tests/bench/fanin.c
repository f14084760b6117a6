/* tests/bench/fanin.c — the `fanin` benchmark: 1,000 sender actors each send
 * 10,000 messages to one sink (10,000,000 messages).
 *
 *   bench_fanin [--quick] [--chunk=C] [--sink-limit=L] [messages [senders]]
 *   -> bench=fanin msgs_per_s=... elapsed_s=... messages=M senders=S mailbox_full=R ...
 *
 * The client spawns the driver and sends it GO. The driver spawns the sink
 * (init args: the driver's ref, S, M/S) and the S senders (init args: the
 * sink's ref, the sender's index, M/S, C), starts the clock, and sends each
 * sender GO. A sender sends the sink messages [index, seq] for seq = 0, 1, ...
 * M/S-1, at most C per activation, then sends itself CONT to continue later,
 * so that no sender holds a worker for long.
 *
 * Mailboxes are bounded (the runtime's default limit, or L for the sink), so
 * a send may return ACTR_EMAILBOX. The send consumed the message, which was
 * not delivered: the sender ends the activation and retries the same seq with
 * a new message on its next CONT: at once after a first refusal, and 1 ms
 * later (a timer) when the retry was refused too, so that a full sink gets
 * the workers to drain instead of a crowd of spinning senders. Nothing is ever
 * dropped; the refusals are counted and printed as mailbox_full.
 *
 * The sink keeps the next expected seq of every sender and fails the run on any
 * message out of that order (a lost, duplicated or reordered message of one
 * sender-receiver pair). When it has all M it tells the driver, which stops the
 * clock. Each sender reports when it has sent its last message; the result
 * goes to the client once the sink and every sender have reported.
 */
#include "bench.h"

enum { MSG_DATA = BENCH_MSG_FIRST_OWN, MSG_SINK_DONE, MSG_SENDER_DONE };

/* A sender refused twice in a row waits this long before retrying. */

typedef struct sink {
    actr_ref_t driver;
    int n, per;  /* senders, messages per sender */
    int *expect; /* next seq expected from each sender */
    int64_t got, total;
} sink_t;

typedef struct sender {
    actr_ref_t sink, driver;
    int index, per, chunk;
    int next;        /* the next seq to send (retried after ACTR_EMAILBOX) */
    int64_t refused; /* sends refused with ACTR_EMAILBOX */
} sender_t;

typedef struct driver {
    actr_ref_t client, sink;
    int n, per, chunk;
    int finished; /* senders that reported their last send */
    int sink_done;
    int64_t refused;
    uint64_t t0;
    double elapsed;
} driver_t;

/* ---- sink ------------------------------------------------------------------ */

static int sink_init(actr_ctx_t *ctx, void *state, const void *args, size_t len)
{
    sink_t *st = state;
    (void)ctx;
    bench_check(actr_unpack(args, len, "[rii]", &st->driver, &st->n, &st->per),
                "sink: unpack args");
    st->expect = calloc((size_t)st->n, sizeof *st->expect);
    if (st->expect == NULL)
        bench_fail("out of memory");
    st->total = (int64_t)st->n * st->per;
    return 0;
}

static int sink_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    sink_t *st = state;
    int idx, seq;
    bench_expect_type(msg, MSG_DATA, "sink");
    bench_check(actr_msg_unpack(msg, "[ii]", &idx, &seq), "sink: unpack");
    if (idx < 0 || idx >= st->n)
        bench_fail("sink got a message from unknown sender %d", idx);
    if (seq != st->expect[idx])
        bench_fail("sink got seq %d from sender %d, expected %d", seq, idx, st->expect[idx]);
    st->expect[idx]++;
    if (++st->got == st->total) {
        bench_sendf(ctx, st->driver, MSG_SINK_DONE, "I", st->got);
        bench_check(actr_exit(ctx, ACTR_REASON_NORMAL), "actr_exit");
    }
    return 0;
}

static void sink_terminate(actr_ctx_t *ctx, void *state, const char *reason)
{
    sink_t *st = state;
    (void)ctx;
    (void)reason;
    free(st->expect);
    st->expect = NULL;
}

static const actr_behavior_t sink_beh = {
    .size = sizeof(actr_behavior_t),
    .name = "bench.fanin_sink",
    .state_size = sizeof(sink_t),
    .init = sink_init,
    .receive = sink_receive,
    .terminate = sink_terminate,
};

/* ---- sender ---------------------------------------------------------------- */

static int sender_init(actr_ctx_t *ctx, void *state, const void *args, size_t len)
{
    sender_t *st = state;
    (void)ctx;
    bench_check(actr_unpack(args, len, "[riii]", &st->sink, &st->index, &st->per, &st->chunk),
                "sender: unpack args");
    return 0;
}

/* Send up to `chunk` messages; stop early at a full sink mailbox. Then either
 * continue later (CONT to self) or report the last send and exit. */
static void sender_pump(actr_ctx_t *ctx, sender_t *st)
{
    int i, refused = 0;
    for (i = 0; i < st->chunk && st->next < st->per; i++) {
        actr_msg_t *m = NULL;
        int rc;
        bench_check(actr_msg_pack(ctx, MSG_DATA, &m, "[ii]", st->index, st->next), "sender: pack");
        rc = actr_send(ctx, st->sink, m); /* consumes m on every path */
        if (rc == ACTR_EMAILBOX) {
            st->refused++; /* retry this same seq on the next activation */
            refused = 1;
            break;
        }
        if (rc != 0)
            bench_fail("sender %d: send seq %d: %s (%d)", st->index, st->next, actr_err_name(rc),
                       rc);
        st->next++;
    }
    if (st->next < st->per) {
        /* Refused: the sink tells us (ACTR_MSG_UNBLOCKED) when it has room
         * again, so wait for that instead of polling. Otherwise yield after
         * a chunk so other actors on this worker get their turn. */
        if (!refused)
            bench_send_empty(ctx, actr_self(ctx), BENCH_MSG_CONT);
        return;
    }
    bench_sendf(ctx, st->driver, MSG_SENDER_DONE, "[iI]", st->index, st->refused);
    bench_check(actr_exit(ctx, ACTR_REASON_NORMAL), "actr_exit");
}

static int sender_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    sender_t *st = state;
    switch (actr_msg_type(msg)) {
    case BENCH_MSG_GO:
        if (!actr_ref_is_none(st->driver))
            bench_fail("sender %d started twice", st->index);
        st->driver = actr_msg_from(msg);
        sender_pump(ctx, st);
        return 0;
    case BENCH_MSG_CONT:
    case ACTR_MSG_UNBLOCKED:
        sender_pump(ctx, st);
        return 0;
    default:
        bench_fail("sender got message type %" PRIu32, actr_msg_type(msg));
    }
}

static const actr_behavior_t sender_beh = {
    .size = sizeof(actr_behavior_t),
    .name = "bench.fanin_sender",
    .state_size = sizeof(sender_t),
    .init = sender_init,
    .receive = sender_receive,
};

/* ---- driver ---------------------------------------------------------------- */

static void driver_maybe_finish(actr_ctx_t *ctx, driver_t *st)
{
    if (!st->sink_done || st->finished < st->n)
        return;
    bench_sendf(ctx, st->client, BENCH_MSG_RESULT, "[fIiI]", st->elapsed, (int64_t)st->n * st->per,
                st->n, st->refused);
    bench_check(actr_exit(ctx, ACTR_REASON_NORMAL), "actr_exit");
}

static int driver_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    driver_t *st = state;
    actr_spawn_opts_t so;
    actr_ref_t *senders;
    unsigned char args[64];
    size_t len;
    int64_t sink_limit, n64;
    int i, idx;

    switch (actr_msg_type(msg)) {
    case BENCH_MSG_GO:
        st->client = actr_msg_from(msg);
        bench_check(actr_msg_unpack(msg, "[iiiI]", &st->n, &st->per, &st->chunk, &sink_limit),
                    "driver: unpack go");
        memset(&so, 0, sizeof so);
        so.mailbox_limit = (uint32_t)sink_limit; /* 0 = the runtime's default */
        bench_check(actr_pack(args, sizeof args, &len, "[rii]", actr_self(ctx), st->n, st->per),
                    "pack sink args");
        bench_check(actr_spawn(ctx, &sink_beh, args, len, &so, &st->sink), "spawn sink");
        senders = malloc((size_t)st->n * sizeof *senders);
        if (senders == NULL)
            bench_fail("out of memory");
        for (i = 0; i < st->n; i++) {
            bench_check(
                actr_pack(args, sizeof args, &len, "[riii]", st->sink, i, st->per, st->chunk),
                "pack sender args");
            bench_check(actr_spawn(ctx, &sender_beh, args, len, NULL, &senders[i]), "spawn sender");
        }
        st->t0 = bench_now_ns();
        for (i = 0; i < st->n; i++)
            bench_send_empty(ctx, senders[i], BENCH_MSG_GO);
        free(senders);
        return 0;
    case MSG_SINK_DONE:
        st->elapsed = bench_secs(st->t0, bench_now_ns());
        bench_check(actr_msg_unpack(msg, "I", &n64), "driver: unpack sink done");
        if (st->sink_done || n64 != (int64_t)st->n * st->per)
            bench_fail("sink reported %" PRId64 " messages, expected %" PRId64, n64,
                       (int64_t)st->n * st->per);
        st->sink_done = 1;
        driver_maybe_finish(ctx, st);
        return 0;
    case MSG_SENDER_DONE:
        bench_check(actr_msg_unpack(msg, "[iI]", &idx, &n64), "driver: unpack sender done");
        st->refused += n64;
        if (++st->finished > st->n)
            bench_fail("more senders finished than were started");
        driver_maybe_finish(ctx, st);
        return 0;
    default:
        bench_fail("fanin driver got message type %" PRIu32, actr_msg_type(msg));
    }
}

static const actr_behavior_t driver_beh = {
    .size = sizeof(actr_behavior_t),
    .name = "bench.fanin_driver",
    .state_size = sizeof(driver_t),
    .receive = driver_receive,
};

int main(int argc, char **argv)
{
    bench_arg_t args[] = {
        {.name = "messages",
         .positional = 1,
         .value = 10000000,
         .quick = 20000,
         .min = 1,
         .max = INT64_MAX,
         .help = "messages in all (a multiple of senders)"},
        {.name = "senders",
         .positional = 1,
         .value = 1000,
         .quick = 100,
         .min = 1,
         .max = 100000,
         .help = "sender actors"},
        {.name = "chunk",
         .value = 100,
         .quick = 100,
         .min = 1,
         .max = INT_MAX,
         .help = "sends per sender activation"},
        {.name = "sink-limit",
         .value = 0,
         .quick = 64,
         .min = 0,
         .max = UINT32_MAX,
         .help = "the sink's mailbox limit (0 = the runtime's default)"},
    };
    bench_rt_t b;
    actr_ref_t driver;
    actr_msg_t *res;
    double elapsed;
    int64_t total, got_total = 0, refused = 0;
    int n, per, chunk, got_n = 0, quick;
    unsigned long long workers;

    bench_set_name("fanin");
    quick = bench_parse_args(argc, argv, args, sizeof args / sizeof args[0]);
    total = (int64_t)args[0].value;
    n = (int)args[1].value;
    chunk = (int)args[2].value;
    if (total % n != 0 || total / n > INT_MAX)
        bench_fail("messages (%" PRId64 ") must be a multiple of senders (%d), at most %d each",
                   total, n, INT_MAX);
    per = (int)(total / n);

    bench_rt_open(&b);
    bench_check(actr_spawn(b.client, &driver_beh, NULL, 0, NULL, &driver), "spawn driver");
    bench_sendf(b.client, driver, BENCH_MSG_GO, "[iiiI]", n, per, chunk, (int64_t)args[3].value);
    res = bench_wait_result(&b, quick ? BENCH_QUICK_TIMEOUT_MS : BENCH_TIMEOUT_MS);
    bench_check(actr_msg_unpack(res, "[fIiI]", &elapsed, &got_total, &got_n, &refused),
                "client: unpack result");
    actr_msg_free(res);
    workers = bench_rt_workers(&b);
    bench_rt_close(&b);

    if (got_total != total || got_n != n)
        bench_fail("driver reported %" PRId64 " messages from %d senders, expected %" PRId64
                   " from %d",
                   got_total, got_n, total, n);
    printf("bench=fanin msgs_per_s=%.0f elapsed_s=%.6f messages=%" PRId64 " senders=%d "
           "mailbox_full=%" PRId64 " workers=%llu impl=actr\n",
           bench_rate((double)total, elapsed), elapsed, total, n, refused, workers);
    return 0;
}

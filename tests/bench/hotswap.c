/* tests/bench/hotswap.c — the `hotswap` benchmark: N actors of one plugin type
 * under a steady message load; the plugin is swapped once to a version that
 * migrates every actor's state.
 *
 *   bench_hotswap [--quick] [--warmup-ms=T] [--margin-ms=M] [--inflight=W]
 *                 [--drivers=D] [actors]
 *   (default 10,000 actors; --quick 1,000)
 *   -> bench=hotswap pause_ms_p99=... elapsed_s=... lost=0 actors=N
 *      baseline_gap_ms_p99=... across_swap_ms_p99=... swap_pause_ms=...
 *      pause_ms_max=... swap_call_ms=... window_ms=... messages=...
 *      workers=... impl=actr
 *
 * The workers are actors of type "hotswap.worker" of the plugin "hotswap"
 * (tests/bench/plugins/hotswap_v1.c, then hotswap_v2.c; the shared block they
 * write their figures into is described in tests/bench/plugins/hotswap.h).
 * D driver actors each own a share of the workers and keep W messages in
 * flight to each of them: every ack a worker sends back is answered with the
 * next message, so every actor stays busy for the whole run.
 *
 * Timeline: warm-up until every worker has handled messages, then T ms more
 * of load; the swap window: from actr_plugin_swap to version 2.0.0 until
 * every worker has handled a message with the new code (widened by M ms on
 * each side); T/4 ms later, a baseline window as long as the swap window,
 * with no swap; T/4 ms later the drivers stop sending and report once every
 * message they sent has been acked.
 *
 * A stretch without a message counts for a window when it overlaps it, so a
 * stretch that began before the swap call and ended after it counts whole.
 *
 * Figures:
 *   pause_ms_p99         99th percentile over actors of the longest stretch
 *                        the actor took no message during the swap window
 *                        (the new version's first message measures the
 *                        stretch from the time kept in the migrated state)
 *   baseline_gap_ms_p99  the same statistic over the baseline window: what
 *                        the load alone gives over as long a time, so a
 *                        reader can tell the swap's own share
 *   across_swap_ms_p99   99th percentile over actors of the one stretch that
 *                        spans the pause (last message on the old version to
 *                        first on the new)
 *   swap_pause_ms        how long the swap held the actors at a message
 *                        boundary (actr_swap_info_t.pause_us / 1000)
 *   pause_ms_max         the longest such stretch of any actor
 *   swap_call_ms         how long actr_plugin_swap took (load, prepare, pause)
 *   window_ms            the length of each window
 *   lost                 messages sent minus messages handled: must be 0
 * The run fails (exit 1) on any loss, a failed ack, an actor that never ran
 * the new code, or a swap error.
 */
#include "bench.h"

#include "plugins/hotswap.h"

#ifndef ACTR_BENCH_PLUGIN_DIR
#error "ACTR_BENCH_PLUGIN_DIR (the directory of hotswap_v1.so and hotswap_v2.so) must be defined"
#endif

enum { MSG_STOP = BENCH_MSG_FIRST_OWN + 8 };

/* The workers' refs, written by main before the drivers start (their spawn
 * orders the writes before the drivers read them). */
static actr_ref_t *g_workers;

typedef struct driver {
    actr_ref_t client;
    uint32_t first, count, inflight;
    uint64_t sent, acked;
    int stopping, reported;
} driver_t;

static void work(actr_ctx_t *ctx, driver_t *d, actr_ref_t to)
{
    actr_msg_t *m = NULL;
    bench_check(actr_msg_pack(ctx, HOTSWAP_MSG_WORK, &m, "U", d->sent), "driver: pack work");
    int rc = actr_send(ctx, to, m);
    if (rc != 0)
        bench_fail("driver: send to a worker: %s (%d)", actr_err_name(rc), rc);
    d->sent++;
}

static void maybe_report(actr_ctx_t *ctx, driver_t *d)
{
    if (d->stopping && !d->reported && d->acked == d->sent) {
        d->reported = 1;
        bench_sendf(ctx, d->client, BENCH_MSG_RESULT, "[UU]", d->sent, d->acked);
    }
}

static int driver_init(actr_ctx_t *ctx, void *state, const void *args, size_t len)
{
    (void)ctx;
    driver_t *d = state;
    uint64_t first, count, inflight;
    bench_check(actr_unpack(args, len, "[rUUU]", &d->client, &first, &count, &inflight),
                "driver: init args");
    d->first = (uint32_t)first;
    d->count = (uint32_t)count;
    d->inflight = (uint32_t)inflight;
    return 0;
}

static int driver_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    driver_t *d = state;
    switch (actr_msg_type(msg)) {
    case BENCH_MSG_GO:
        for (uint32_t k = 0; k < d->inflight; k++)
            for (uint32_t i = 0; i < d->count; i++)
                work(ctx, d, g_workers[d->first + i]);
        return 0;
    case HOTSWAP_MSG_ACK:
        d->acked++;
        if (!d->stopping)
            work(ctx, d, actr_msg_from(msg));
        maybe_report(ctx, d);
        return 0;
    case MSG_STOP:
        d->stopping = 1;
        maybe_report(ctx, d);
        return 0;
    default:
        bench_fail("driver got message type %" PRIu32, actr_msg_type(msg));
    }
}

static const actr_behavior_t driver_beh = {
    .size = sizeof(actr_behavior_t),
    .name = "bench.hotswap-driver",
    .state_size = sizeof(driver_t),
    .init = driver_init,
    .receive = driver_receive,
};

static void nap_ns(uint64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static void nap_ms(unsigned ms) { nap_ns((uint64_t)ms * 1000000u); }

/* Open window w now (its slots are still zero). */
static void open_window(hotswap_window_t *w)
{
    __atomic_store_n(&w->to, UINT64_MAX, __ATOMIC_RELAXED);
    __atomic_store_n(&w->from, hotswap_now_ns(), __ATOMIC_RELEASE);
}

/* Close window w now; returns its length in ns. */
static uint64_t close_window(hotswap_window_t *w)
{
    uint64_t to = hotswap_now_ns();
    __atomic_store_n(&w->to, to, __ATOMIC_RELAXED);
    return to - __atomic_load_n(&w->from, __ATOMIC_RELAXED);
}

/* Wait until every worker has handled a message with the new version, looking
 * every millisecond (the window closes at most that late; looking more often
 * takes the CPU from the workers being measured); fails after timeout_ms. */
static void wait_moved(hotswap_shared_t *sh, int timeout_ms)
{
    uint64_t deadline = bench_now_ns() + (uint64_t)timeout_ms * 1000000u;
    while (__atomic_load_n(&sh->moved, __ATOMIC_RELAXED) < sh->n) {
        if (bench_now_ns() > deadline)
            bench_fail("%" PRIu64 " of %" PRIu32 " workers ran the new version within %d ms",
                       __atomic_load_n(&sh->moved, __ATOMIC_RELAXED), sh->n, timeout_ms);
        nap_ns(1000000);
    }
}

/* Poll until every worker satisfies pred, or fail after timeout_ms. */
static void wait_all(hotswap_shared_t *sh, int (*pred)(hotswap_shared_t *, uint32_t),
                     int timeout_ms, const char *what)
{
    uint64_t deadline = bench_now_ns() + (uint64_t)timeout_ms * 1000000u;
    uint32_t i = 0;
    while (i < sh->n) {
        if (pred(sh, i)) {
            i++;
            continue;
        }
        if (bench_now_ns() > deadline)
            bench_fail("worker %" PRIu32 " never %s within %d ms", i, what, timeout_ms);
        nap_ms(1);
    }
}

static int has_handled(hotswap_shared_t *sh, uint32_t i)
{
    return __atomic_load_n(&sh->handled[i], __ATOMIC_RELAXED) >= 2;
}

static int runs_v2(hotswap_shared_t *sh, uint32_t i)
{
    return __atomic_load_n(&sh->version[i], __ATOMIC_RELAXED) == 2;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* 99th percentile (nearest rank) of v[0..n), in ms; sorts v. */
static double p99_ms(uint64_t *v, uint32_t n)
{
    qsort(v, n, sizeof(*v), cmp_u64);
    uint32_t rank = (uint32_t)(((uint64_t)n * 99 + 99) / 100); /* ceil(0.99 n) */
    if (rank == 0)
        rank = 1;
    return (double)v[rank - 1] / 1e6;
}

int main(int argc, char **argv)
{
    bench_set_name("hotswap");
    bench_arg_t args[] = {
        {"actors", 1, 10000, 1000, 1, 1000000, "worker actors", 0, 0},
        {"warmup-ms", 0, 400, 100, 4, 600000, "load before the swap", 0, 0},
        {"margin-ms", 0, 0, 0, 0, 600000, "widen both windows by this much on each side", 0, 0},
        {"inflight", 0, 2, 2, 1, 64, "messages in flight per worker", 0, 0},
        {"drivers", 0, 4, 2, 1, 256, "driver actors", 0, 0},
    };
    int quick = bench_parse_args(argc, argv, args, sizeof(args) / sizeof(args[0]));
    uint32_t n = (uint32_t)args[0].value, warmup = (uint32_t)args[1].value;
    uint32_t margin = (uint32_t)args[2].value, inflight = (uint32_t)args[3].value;
    uint32_t ndrivers = (uint32_t)args[4].value;
    int timeout = quick ? BENCH_QUICK_TIMEOUT_MS : BENCH_TIMEOUT_MS;
    if (ndrivers > n)
        ndrivers = n;

    hotswap_shared_t sh;
    memset(&sh, 0, sizeof(sh));
    sh.n = n;
    sh.gap_ns[0] = calloc(n, sizeof(uint64_t));
    sh.gap_ns[1] = calloc(n, sizeof(uint64_t));
    sh.handled = calloc(n, sizeof(uint64_t));
    sh.across_ns = calloc(n, sizeof(uint64_t));
    sh.version = calloc(n, 1);
    g_workers = calloc(n, sizeof(actr_ref_t));
    if (!sh.gap_ns[0] || !sh.gap_ns[1] || !sh.handled || !sh.version || !sh.across_ns ||
        !g_workers)
        bench_fail("out of memory for %" PRIu32 " actors", n);

    bench_rt_t b;
    bench_rt_open(&b);
    actr_error_t err;
    memset(&err, 0, sizeof(err));
    int rc = actr_plugin_load(b.rt, ACTR_BENCH_PLUGIN_DIR "/hotswap_v1.so", &err);
    if (rc != 0)
        bench_fail("load hotswap_v1.so: %s: %s", actr_err_name(rc), err.msg);

    for (uint32_t i = 0; i < n; i++) {
        uint8_t a[32];
        size_t len;
        bench_check(actr_pack(a, sizeof(a), &len, "[Ui]", (uint64_t)(uintptr_t)&sh, (int)i),
                    "pack worker args");
        bench_check(actr_spawn_type(b.client, HOTSWAP_TYPE, a, len, NULL, &g_workers[i]),
                    "spawn worker");
    }
    actr_ref_t *drivers = calloc(ndrivers, sizeof(actr_ref_t));
    if (drivers == NULL)
        bench_fail("out of memory");
    for (uint32_t d = 0; d < ndrivers; d++) {
        uint32_t first = (uint32_t)((uint64_t)n * d / ndrivers);
        uint32_t end = (uint32_t)((uint64_t)n * (d + 1) / ndrivers);
        uint8_t a[64];
        size_t len;
        actr_spawn_opts_t o;
        memset(&o, 0, sizeof(o));
        /* every ack in flight may queue at once: room for all of them */
        o.mailbox_limit = (end - first) * inflight + 1024;
        bench_check(actr_pack(a, sizeof(a), &len, "[rUUU]", actr_self(b.client), (uint64_t)first,
                              (uint64_t)(end - first), (uint64_t)inflight),
                    "pack driver args");
        bench_check(actr_spawn(b.client, &driver_beh, a, len, &o, &drivers[d]), "spawn driver");
    }

    uint64_t t0 = bench_now_ns();
    for (uint32_t d = 0; d < ndrivers; d++)
        bench_send_empty(b.client, drivers[d], BENCH_MSG_GO);
    wait_all(&sh, has_handled, timeout, "handled two messages");
    nap_ms(warmup);

    /* the swap window: from the swap call until every worker has handled a
     * message with the new code (each widened by the margin) */
    open_window(&sh.win[1]);
    nap_ms(margin);
    actr_swap_info_t info;
    memset(&info, 0, sizeof(info));
    memset(&err, 0, sizeof(err));
    uint64_t s0 = bench_now_ns();
    rc = actr_plugin_swap(b.rt, "hotswap", ACTR_BENCH_PLUGIN_DIR "/hotswap_v2.so", &info, &err);
    double swap_call_ms = (double)(bench_now_ns() - s0) / 1e6;
    if (rc != 0)
        bench_fail("swap to hotswap_v2.so: %s: %s", actr_err_name(rc), err.msg);
    if (info.actors != n)
        bench_fail("the swap migrated %" PRIu64 " actors, expected %" PRIu32, info.actors, n);
    wait_moved(&sh, timeout);
    nap_ms(margin);
    uint64_t len = close_window(&sh.win[1]);

    /* the baseline window: as long, under the same load, no swap */
    nap_ms(warmup / 4);
    open_window(&sh.win[0]);
    nap_ns(len);
    close_window(&sh.win[0]);
    /* every stretch that overlaps a window ends at the worker's next message */
    nap_ms(warmup / 4);
    wait_all(&sh, runs_v2, timeout, "ran the new version");

    /* drain: every message sent must come back as an ack */
    for (uint32_t d = 0; d < ndrivers; d++)
        bench_send_empty(b.client, drivers[d], MSG_STOP);
    uint64_t sent = 0, acked = 0;
    for (uint32_t d = 0; d < ndrivers; d++) {
        actr_msg_t *m = bench_wait_result(&b, timeout);
        uint64_t s, a;
        bench_check(actr_msg_unpack(m, "[UU]", &s, &a), "unpack driver result");
        actr_msg_free(m);
        sent += s;
        acked += a;
    }
    double elapsed = bench_secs(t0, bench_now_ns());

    uint64_t handled = 0;
    for (uint32_t i = 0; i < n; i++) {
        handled += __atomic_load_n(&sh.handled[i], __ATOMIC_RELAXED);
        if (!runs_v2(&sh, i))
            bench_fail("worker %" PRIu32 " never ran the new version", i);
    }
    uint64_t errors = __atomic_load_n(&sh.errors, __ATOMIC_RELAXED);
    long long lost = (long long)(sent - handled);
    if (errors != 0)
        bench_fail("%" PRIu64 " acks failed", errors);
    if (acked != sent)
        bench_fail("%" PRIu64 " sent, %" PRIu64 " acked", sent, acked);
    if (lost != 0)
        bench_fail("lost=%lld (%" PRIu64 " sent, %" PRIu64 " handled)", lost, sent, handled);

    double pause_p99 = p99_ms(sh.gap_ns[1], n), base_p99 = p99_ms(sh.gap_ns[0], n);
    double across_p99 = p99_ms(sh.across_ns, n);
    double pause_max = (double)sh.gap_ns[1][n - 1] / 1e6; /* sorted by p99_ms */
    unsigned long long workers = bench_rt_workers(&b);
    bench_rt_close(&b);
    printf("bench=hotswap pause_ms_p99=%.3f elapsed_s=%.3f lost=%lld actors=%" PRIu32
           " baseline_gap_ms_p99=%.3f across_swap_ms_p99=%.3f swap_pause_ms=%.3f"
           " pause_ms_max=%.3f swap_call_ms=%.3f window_ms=%.3f messages=%" PRIu64
           " workers=%llu impl=actr\n",
           pause_p99, elapsed, lost, n, base_p99, across_p99, (double)info.pause_us / 1000.0,
           pause_max, swap_call_ms, (double)len / 1e6, sent, workers);
    free(sh.gap_ns[0]);
    free(sh.gap_ns[1]);
    free(sh.handled);
    free(sh.across_ns);
    free(sh.version);
    free(g_workers);
    free(drivers);
    return 0;
}

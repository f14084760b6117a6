/* tests/unit/test-timer.c — actor timers (suite `timer`).
 *
 * Covers one-shot delivery (to the caller itself, to another actor, armed from
 * a client and from a handler), interval timers and their cancellation,
 * ordering of timers with increasing delays, a burst of 10,000 timers that
 * must each fire exactly once, the error codes of actr_timer_*, and cleanup:
 * timers whose target dies and timers still pending when the runtime stops
 * must neither crash nor leak (checked by the ASan build).
 *
 * The test thread drives everything through a client context and waits for
 * messages with deadlines. Elapsed times are never asserted: "nothing more
 * arrives" is checked against a fence, a later timer or message that cannot
 * arrive before the thing we wait for would have.
 */
#include <stdatomic.h>
#include <stdlib.h>

#include "actr.h"
#include "task.h"

/* User message types used here. */
enum {
    T_TICK = 100, /* a timer's payload: [value:int] */
    T_ARM,        /* to tactor: [to:ref, delay:int, value:int] -> arms a one-shot timer */
    T_RC,         /* tactor -> client: [rc:int, id:uint] result of T_ARM */
    T_FWD,        /* tactor -> client: [type:uint, from:ref, payload:bin] a forwarded message */
    T_DONE,       /* ticker's fence to itself */
    T_REPORT,     /* ticker -> client: [count:int, late:int, cancel_rc:int] */
    T_FENCE,      /* a marker timer or message */
    T_ARM_MANY,   /* to tactor: [n:int, delay:int] -> arms n one-shot timers to itself */
    T_GIVE_ID     /* tactor -> client: [id:uint] the id of a timer the actor created */
};

#define WAIT_MS 10000

static actr_t *rt;
static actr_ctx_t *cl;

/* Messages the client received while waiting for something else. */
#define STASH_MAX 4096
static actr_msg_t *stash[STASH_MAX];
static size_t nstash;

static void setup(void)
{
    actr_options_t o;
    actr_options_init(&o);
    o.log_level = ACTR_LOG_WARN;
    ASSERT_OK(actr_open(&rt, &o));
    ASSERT_OK(actr_start(rt));
    ASSERT_OK(actr_client_open(rt, &cl));
    nstash = 0;
}

static void teardown(void)
{
    for (size_t i = 0; i < nstash; i++)
        actr_msg_free(stash[i]);
    nstash = 0;
    actr_client_close(cl);
    cl = NULL;
    ASSERT_OK(actr_stop(rt));
    ASSERT_OK(actr_wait(rt));
    actr_close(rt);
    rt = NULL;
}

/* Wait up to timeout_ms for the next message of `type` sent to the client;
 * messages of other types are kept for later calls. NULL on timeout. */
static actr_msg_t *recv_type(uint32_t type, int timeout_ms)
{
    for (size_t i = 0; i < nstash; i++) {
        if (actr_msg_type(stash[i]) == type) {
            actr_msg_t *m = stash[i];
            memmove(&stash[i], &stash[i + 1], (nstash - i - 1) * sizeof stash[0]);
            nstash--;
            return m;
        }
    }
    uint64_t deadline = test_now_ms() + (uint64_t)timeout_ms;
    for (;;) {
        uint64_t now = test_now_ms();
        int left = now >= deadline ? 0 : (int)(deadline - now);
        actr_msg_t *m = NULL;
        int rc = actr_client_recv(cl, left, &m);
        if (rc == ACTR_ETIMEDOUT)
            return NULL;
        ASSERT_OK(rc);
        ASSERT_NOT_NULL(m);
        if (actr_msg_type(m) == type)
            return m;
        ASSERT(nstash < STASH_MAX);
        stash[nstash++] = m;
    }
}

/* Send a message built from `fmt` (see actr_msg_pack) from ctx to `to`. */
static int tell(actr_ctx_t *ctx, actr_ref_t to, uint32_t type, const char *fmt, ...)
{
    va_list ap;
    actr_msg_t *m = NULL;
    va_start(ap, fmt);
    int rc = actr_msg_vpack(ctx, type, &m, fmt, ap);
    va_end(ap);
    if (rc != 0)
        return rc;
    return actr_send(ctx, to, m);
}

static actr_msg_t *tick(actr_ctx_t *ctx, int value)
{
    actr_msg_t *m = NULL;
    ASSERT_OK(actr_msg_pack(ctx, T_TICK, &m, "[i]", value));
    return m;
}

static int tick_value(const actr_msg_t *m)
{
    int v = -1;
    ASSERT_OK(actr_msg_unpack(m, "[i]", &v));
    return v;
}

/* ---- tactor: forwards everything to its owner, arms timers on request ---- */

typedef struct tactor {
    actr_ref_t owner;
} tactor_t;

static int tactor_init(actr_ctx_t *ctx, void *state, const void *args, size_t len)
{
    (void)ctx;
    tactor_t *t = state;
    return actr_unpack(args, len, "r", &t->owner);
}

static int tactor_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    tactor_t *t = state;
    uint32_t type = actr_msg_type(msg);
    if (type == T_ARM) {
        actr_ref_t to;
        int delay, value;
        uint64_t id = 0;
        ASSERT_OK(actr_msg_unpack(msg, "[rii]", &to, &delay, &value));
        int rc = actr_timer_send_after(ctx, to, (uint32_t)delay, tick(ctx, value), &id);
        (void)tell(ctx, t->owner, T_RC, "[iU]", rc, id);
        return 0;
    }
    if (type == T_ARM_MANY) {
        int n, delay;
        uint64_t id = 0;
        ASSERT_OK(actr_msg_unpack(msg, "[ii]", &n, &delay));
        for (int i = 0; i < n; i++)
            ASSERT_OK(actr_timer_send_after(ctx, actr_self(ctx), (uint32_t)delay, tick(ctx, i),
                                            &id));
        (void)tell(ctx, t->owner, T_GIVE_ID, "[U]", id);
        return 0;
    }
    size_t len = 0;
    const void *data = actr_msg_data(msg, &len);
    /* The owner may be gone (a client closed early): forwarding is best effort. */
    (void)tell(ctx, t->owner, T_FWD, "[Urx]", (uint64_t)type, actr_msg_from(msg),
               data ? data : "", len);
    return 0;
}

static const actr_behavior_t tactor_beh = {
    .size = sizeof(actr_behavior_t),
    .name = "test.tactor",
    .state_size = sizeof(tactor_t),
    .init = tactor_init,
    .receive = tactor_receive,
};

static actr_ref_t spawn_tactor(void)
{
    unsigned char args[64];
    size_t len = 0;
    actr_ref_t ref;
    ASSERT_OK(actr_pack(args, sizeof args, &len, "r", actr_self(cl)));
    ASSERT_OK(actr_spawn(cl, &tactor_beh, args, len, NULL, &ref));
    return ref;
}

/* Receive one T_FWD and check it is a T_TICK from a timer with `value`. */
static void expect_fwd_tick(int value)
{
    actr_msg_t *m = recv_type(T_FWD, WAIT_MS);
    ASSERT_NOT_NULL(m);
    uint64_t type;
    actr_ref_t from;
    const void *data;
    size_t len;
    ASSERT_OK(actr_msg_unpack(m, "[Urx]", &type, &from, &data, &len));
    ASSERT_EQ(type, T_TICK);
    (void)from; /* checked once, in timer/message_has_no_sender */
    int v = -1;
    ASSERT_OK(actr_unpack(data, len, "[i]", &v));
    ASSERT_EQ(v, value);
    actr_msg_free(m);
}

/* ---- one-shot timers ---------------------------------------------------- */

TEST_IMPL(timer, send_after_client_self)
{
    setup();
    actr_msg_t *m = NULL;
    ASSERT_OK(actr_msg_pack(cl, T_TICK, &m, "[is]", 42, "hello"));
    uint64_t id = 0;
    ASSERT_OK(actr_timer_send_after(cl, actr_self(cl), 5, m, &id));

    actr_msg_t *got = recv_type(T_TICK, WAIT_MS);
    ASSERT_NOT_NULL(got);
    int v = 0;
    const char *s = NULL;
    size_t slen = 0;
    ASSERT_OK(actr_msg_unpack(got, "[is]", &v, &s, &slen));
    ASSERT_EQ(v, 42);
    ASSERT_MEM_STR(s, slen, "hello");
    actr_msg_free(got);

    /* Exactly once: a later timer fences any duplicate. */
    ASSERT_OK(actr_timer_send_after(cl, actr_self(cl), 20, tick(cl, 0), NULL));
    actr_msg_t *fence = recv_type(T_TICK, WAIT_MS);
    ASSERT_NOT_NULL(fence);
    ASSERT_EQ(tick_value(fence), 0);
    actr_msg_free(fence);

    /* Cancelling a timer that already fired is not an error. */
    ASSERT_OK(actr_timer_cancel(cl, id));
    teardown();
}

/* msg.h: the sender of a timer's message is ACTR_REF_NONE, whoever armed it. */
TEST_IMPL(timer, message_has_no_sender)
{
    setup();
    actr_ref_t a = spawn_tactor();
    ASSERT_OK(actr_timer_send_after(cl, actr_self(cl), 1, tick(cl, 1), NULL));
    actr_msg_t *m = recv_type(T_TICK, WAIT_MS);
    ASSERT_NOT_NULL(m);
    ASSERT(actr_ref_is_none(actr_msg_from(m)));
    actr_msg_free(m);

    ASSERT_OK(actr_timer_send_after(cl, a, 1, tick(cl, 2), NULL)); /* client -> actor */
    ASSERT_OK(tell(cl, a, T_ARM, "[rii]", a, 1, 3));               /* actor -> itself */
    for (int i = 0; i < 2; i++) {
        m = recv_type(T_FWD, WAIT_MS);
        ASSERT_NOT_NULL(m);
        uint64_t type;
        actr_ref_t from;
        const void *data;
        size_t len;
        ASSERT_OK(actr_msg_unpack(m, "[Urx]", &type, &from, &data, &len));
        ASSERT_EQ(type, T_TICK);
        ASSERT(actr_ref_is_none(from));
        actr_msg_free(m);
    }
    teardown();
}

TEST_IMPL(timer, send_after_client_to_actor)
{
    setup();
    actr_ref_t a = spawn_tactor();
    uint64_t id = 0;
    ASSERT_OK(actr_timer_send_after(cl, a, 1, tick(cl, 7), &id));
    expect_fwd_tick(7);
    ASSERT_OK(actr_timer_send_after(cl, a, 0, tick(cl, 8), NULL));
    expect_fwd_tick(8);
    ASSERT_NULL(recv_type(T_FWD, 30));
    teardown();
}

TEST_IMPL(timer, send_after_actor_to_self)
{
    setup();
    actr_ref_t a = spawn_tactor();
    ASSERT_OK(tell(cl, a, T_ARM, "[rii]", a, 2, 99));
    actr_msg_t *rc = recv_type(T_RC, WAIT_MS);
    ASSERT_NOT_NULL(rc);
    int code = -1;
    uint64_t id = 0;
    ASSERT_OK(actr_msg_unpack(rc, "[iU]", &code, &id));
    ASSERT_OK(code);
    actr_msg_free(rc);
    expect_fwd_tick(99);
    ASSERT_NULL(recv_type(T_FWD, 30));
    teardown();
}

TEST_IMPL(timer, send_after_actor_to_other)
{
    setup();
    actr_ref_t a = spawn_tactor();
    actr_ref_t b = spawn_tactor();
    /* a arms a timer aimed at b; b forwards what it gets. */
    ASSERT_OK(tell(cl, a, T_ARM, "[rii]", b, 1, 5));
    actr_msg_t *rc = recv_type(T_RC, WAIT_MS);
    ASSERT_NOT_NULL(rc);
    int code = -1;
    uint64_t id = 0;
    ASSERT_OK(actr_msg_unpack(rc, "[iU]", &code, &id));
    ASSERT_OK(code);
    actr_msg_free(rc);
    /* a arms one aimed at the client directly, too. */
    ASSERT_OK(tell(cl, a, T_ARM, "[rii]", actr_self(cl), 1, 6));
    rc = recv_type(T_RC, WAIT_MS);
    ASSERT_NOT_NULL(rc);
    ASSERT_OK(actr_msg_unpack(rc, "[iU]", &code, &id));
    ASSERT_OK(code);
    actr_msg_free(rc);

    expect_fwd_tick(5);
    actr_msg_t *direct = recv_type(T_TICK, WAIT_MS);
    ASSERT_NOT_NULL(direct);
    ASSERT_EQ(tick_value(direct), 6);
    actr_msg_free(direct);
    teardown();
}

/* ---- interval timers ---------------------------------------------------- */

/* ticker: arms an interval timer to itself in init; after `stop_after` ticks
 * it lingers a little (so more ticks queue up behind the current one), cancels
 * the timer from inside the handler, and counts any tick that still arrives. */
typedef struct ticker {
    actr_ref_t owner;
    int stop_after;
    uint64_t id;
    int count;
    int late;
    int cancelled;
    int cancel_rc;
} ticker_t;

static int ticker_init(actr_ctx_t *ctx, void *state, const void *args, size_t len)
{
    ticker_t *t = state;
    int rc = actr_unpack(args, len, "[ri]", &t->owner, &t->stop_after);
    if (rc != 0)
        return rc;
    return actr_timer_interval(ctx, actr_self(ctx), 1, tick(ctx, 1), &t->id);
}

static int ticker_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    ticker_t *t = state;
    switch (actr_msg_type(msg)) {
    case T_TICK:
        if (t->cancelled) {
            t->late++;
            return 0;
        }
        if (++t->count == t->stop_after) {
            /* Let a few more ticks fire and queue behind this one. */
            uint64_t until = test_now_ms() + 5;
            while (test_now_ms() < until)
                ;
            t->cancel_rc = actr_timer_cancel(ctx, t->id);
            t->cancelled = 1;
            /* The fence: ticks of a live timer would arrive many times before it. */
            actr_msg_t *done = NULL;
            ASSERT_OK(actr_msg_new(ctx, T_DONE, NULL, 0, &done));
            ASSERT_OK(actr_timer_send_after(ctx, actr_self(ctx), 30, done, NULL));
        }
        return 0;
    case T_DONE:
        return tell(ctx, t->owner, T_REPORT, "[iii]", t->count, t->late, t->cancel_rc);
    default:
        return ACTR_EINVAL;
    }
}

static const actr_behavior_t ticker_beh = {
    .size = sizeof(actr_behavior_t),
    .name = "test.ticker",
    .state_size = sizeof(ticker_t),
    .init = ticker_init,
    .receive = ticker_receive,
};

TEST_IMPL(timer, interval_self_cancel_in_handler)
{
    setup();
    for (int round = 0; round < 3; round++) {
        unsigned char args[64];
        size_t len = 0;
        actr_ref_t a;
        ASSERT_OK(actr_pack(args, sizeof args, &len, "[ri]", actr_self(cl), 5));
        ASSERT_OK(actr_spawn(cl, &ticker_beh, args, len, NULL, &a));
        actr_msg_t *rep = recv_type(T_REPORT, WAIT_MS);
        ASSERT_NOT_NULL(rep);
        int count = -1, late = -1, cancel_rc = -1;
        ASSERT_OK(actr_msg_unpack(rep, "[iii]", &count, &late, &cancel_rc));
        actr_msg_free(rep);
        ASSERT_EQ(count, 5);
        ASSERT_OK(cancel_rc);
        ASSERT_EQ(late, 0); /* nothing of the timer is delivered after cancel returns */
    }
    teardown();
}

TEST_IMPL(timer, interval_client_to_actor_until_cancel)
{
    setup();
    actr_ref_t a = spawn_tactor();
    uint64_t id = 0;
    ASSERT_OK(actr_timer_interval(cl, a, 1, tick(cl, 3), &id));
    for (int i = 0; i < 5; i++)
        expect_fwd_tick(3);
    ASSERT_OK(actr_timer_cancel(cl, id));
    /* The timer targets another actor, so ticks already queued may still be
     * delivered; but they must stop: within a bounded number of quiet
     * windows no more arrive. */
    int quiet = 0;
    for (int windows = 0; windows < 100 && !quiet; windows++) {
        actr_msg_t *m = recv_type(T_FWD, 50);
        if (m == NULL)
            quiet = 1;
        actr_msg_free(m);
    }
    ASSERT(quiet);
    /* a second cancel is harmless and says the timer is no longer known */
    ASSERT_ERR(actr_timer_cancel(cl, id), ACTR_ENOENT);
    teardown();
}

TEST_IMPL(timer, interval_client_self_cancel)
{
    setup();
    uint64_t id = 0;
    ASSERT_OK(actr_timer_interval(cl, actr_self(cl), 1, tick(cl, 4), &id));
    for (int i = 0; i < 5; i++) {
        actr_msg_t *m = recv_type(T_TICK, WAIT_MS);
        ASSERT_NOT_NULL(m);
        ASSERT_EQ(tick_value(m), 4);
        actr_msg_free(m);
    }
    ASSERT_OK(actr_timer_cancel(cl, id));
    /* The client is the timer's caller and target: nothing more is delivered. */
    ASSERT_OK(actr_timer_send_after(cl, actr_self(cl), 30, tick(cl, -1), NULL));
    actr_msg_t *m = recv_type(T_TICK, WAIT_MS);
    ASSERT_NOT_NULL(m);
    ASSERT_EQ(tick_value(m), -1); /* the fence comes first: no tick 4 after cancel */
    actr_msg_free(m);
    teardown();
}

/* ---- volume and ordering -------------------------------------------------- */

#define MANY 10000
static atomic_uint many_seen[MANY];
static atomic_uint many_total;
static atomic_int many_fence;

static int counter_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    (void)ctx;
    (void)state;
    if (actr_msg_type(msg) == T_FENCE) {
        /* relaxed would do: the test thread only polls the flag */
        atomic_store(&many_fence, 1);
        return 0;
    }
    int v = tick_value(msg);
    ASSERT(v >= 0 && v < MANY);
    atomic_fetch_add(&many_seen[v], 1);
    atomic_fetch_add(&many_total, 1);
    return 0;
}

static const actr_behavior_t counter_beh = {
    .size = sizeof(actr_behavior_t),
    .name = "test.counter",
    .receive = counter_receive,
};

/* xorshift32: a seeded generator, so a failing run can be replayed. */
static uint32_t next_rand(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

TEST_IMPL(timer, many_random_delays_fire_once)
{
    setup();
    uint32_t seed = (uint32_t)test_now_ms() | 1u;
    fprintf(stderr, "# seed %u\n", (unsigned)seed);
    actr_ref_t c;
    ASSERT_OK(actr_spawn(cl, &counter_beh, NULL, 0, NULL, &c));
    uint64_t *ids = malloc(MANY * sizeof *ids);
    ASSERT_NOT_NULL(ids);
    for (int i = 0; i < MANY; i++)
        ASSERT_OK(actr_timer_send_after(cl, c, next_rand(&seed) % 100u, tick(cl, i),
                                        &ids[i]));
    /* Every timer gets its own id. */
    qsort(ids, MANY, sizeof *ids, cmp_u64);
    for (int i = 1; i < MANY; i++)
        ASSERT(ids[i] != ids[i - 1]);
    free(ids);

    ASSERT_EVENTUALLY(atomic_load(&many_total) == MANY, 30000);
    /* A timer due after all of them: once it has fired, no duplicate is pending. */
    actr_msg_t *f = NULL;
    ASSERT_OK(actr_msg_new(cl, T_FENCE, NULL, 0, &f));
    ASSERT_OK(actr_timer_send_after(cl, c, 150, f, NULL));
    ASSERT_EVENTUALLY(atomic_load(&many_fence), WAIT_MS);
    ASSERT_EQ(atomic_load(&many_total), MANY);
    for (int i = 0; i < MANY; i++)
        ASSERT_EQ(atomic_load(&many_seen[i]), 1);
    teardown();
}

TEST_IMPL(timer, increasing_delays_fire_in_order)
{
    setup();
    /* Armed out of order; they must arrive in delay order. */
    static const int delays[] = {60, 0, 100, 20, 80, 40};
    const int n = (int)(sizeof delays / sizeof delays[0]);
    for (int i = 0; i < n; i++)
        ASSERT_OK(actr_timer_send_after(cl, actr_self(cl), (uint32_t)delays[i],
                                        tick(cl, delays[i]), NULL));
    for (int i = 0; i < n; i++) {
        actr_msg_t *m = recv_type(T_TICK, WAIT_MS);
        ASSERT_NOT_NULL(m);
        ASSERT_EQ(tick_value(m), i * 20);
        actr_msg_free(m);
    }
    /* The same through an actor's mailbox. */
    actr_ref_t a = spawn_tactor();
    for (int i = 0; i < n; i++)
        ASSERT_OK(actr_timer_send_after(cl, a, (uint32_t)delays[i], tick(cl, delays[i]), NULL));
    for (int i = 0; i < n; i++)
        expect_fwd_tick(i * 20);
    teardown();
}

/* ---- errors ----------------------------------------------------------------- */

TEST_IMPL(timer, cancel_unknown_id)
{
    setup();
    ASSERT_ERR(actr_timer_cancel(cl, 0x7fffffffffffULL), ACTR_ENOENT);
    ASSERT_ERR(actr_timer_cancel(cl, UINT64_MAX), ACTR_ENOENT);
    /* A real id, cancelled before it fires: 0, and the message never comes. */
    uint64_t id = 0;
    ASSERT_OK(actr_timer_send_after(cl, actr_self(cl), 50, tick(cl, 1), &id));
    ASSERT_OK(actr_timer_cancel(cl, id));
    ASSERT_OK(actr_timer_send_after(cl, actr_self(cl), 100, tick(cl, 2), NULL));
    actr_msg_t *m = recv_type(T_TICK, WAIT_MS);
    ASSERT_NOT_NULL(m);
    ASSERT_EQ(tick_value(m), 2);
    actr_msg_free(m);
    teardown();
}

TEST_IMPL(timer, cancel_foreign_id)
{
    setup();
    /* The actor creates a long timer and hands its id to the client; the
     * client never created that id, so cancelling it is ACTR_ENOENT. */
    actr_ref_t a = spawn_tactor();
    ASSERT_OK(tell(cl, a, T_ARM_MANY, "[ii]", 1, 60000));
    actr_msg_t *m = recv_type(T_GIVE_ID, WAIT_MS);
    ASSERT_NOT_NULL(m);
    uint64_t id = 0;
    ASSERT_OK(actr_msg_unpack(m, "[U]", &id));
    actr_msg_free(m);
    ASSERT_ERR(actr_timer_cancel(cl, id), ACTR_ENOENT);
    teardown();
}

TEST_IMPL(timer, bad_arguments)
{
    setup();
    uint64_t id = 0;
    ASSERT_ERR(actr_timer_interval(cl, actr_self(cl), 0, tick(cl, 1), &id), ACTR_EINVAL);
    ASSERT_ERR(actr_timer_send_after(cl, actr_self(cl), 1, NULL, &id), ACTR_EINVAL);
    ASSERT_ERR(actr_timer_interval(cl, actr_self(cl), 1, NULL, &id), ACTR_EINVAL);
    /* Nothing of the refused interval is ever delivered. */
    ASSERT_OK(actr_timer_send_after(cl, actr_self(cl), 20, tick(cl, 2), NULL));
    actr_msg_t *m = recv_type(T_TICK, WAIT_MS);
    ASSERT_NOT_NULL(m);
    ASSERT_EQ(tick_value(m), 2);
    actr_msg_free(m);
    teardown();
}

TEST_IMPL(timer, after_stop_is_refused)
{
    setup();
    ASSERT_OK(actr_stop(rt));
    ASSERT_OK(actr_wait(rt));
    ASSERT_ERR(actr_timer_send_after(cl, actr_self(cl), 1, tick(cl, 1), NULL), ACTR_ESTOPPED);
    ASSERT_ERR(actr_timer_interval(cl, actr_self(cl), 1, tick(cl, 1), NULL), ACTR_ESTOPPED);
    teardown();
}

/* ---- cleanup ------------------------------------------------------------------ */

TEST_IMPL(timer, interval_to_dead_actor_stops)
{
    setup();
    actr_ref_t a = spawn_tactor();
    uint64_t id = 0, mon = 0;
    ASSERT_OK(actr_timer_interval(cl, a, 1, tick(cl, 9), &id));
    for (int i = 0; i < 3; i++)
        expect_fwd_tick(9);
    ASSERT_OK(actr_monitor(cl, a, &mon));
    ASSERT_OK(actr_actor_stop(cl, a, "bye"));
    actr_msg_t *down = recv_type(ACTR_MSG_DOWN, WAIT_MS);
    ASSERT_NOT_NULL(down);
    actr_msg_free(down);
    /* Let the interval fire at the dead target many times. */
    ASSERT_OK(actr_timer_send_after(cl, actr_self(cl), 30, tick(cl, 0), NULL));
    actr_msg_t *m = recv_type(T_TICK, WAIT_MS);
    ASSERT_NOT_NULL(m);
    actr_msg_free(m);
    /* The timer ended with its target: cancel may report it as fired (0) or
     * as gone (ENOENT); it must not crash. */
    int rc = actr_timer_cancel(cl, id);
    ASSERT(rc == 0 || rc == ACTR_ENOENT);
    /* Drain forwarded ticks that were in flight before the stop. */
    while ((m = recv_type(T_FWD, 0)) != NULL)
        actr_msg_free(m);
    teardown(); /* ASan: nothing of the timer leaks */
}

/* selfdoomed: an interval to itself and a long one-shot to itself, then it
 * exits after a few ticks; its death must cancel both. */
typedef struct doomed {
    int ticks;
} doomed_t;

static int doomed_init(actr_ctx_t *ctx, void *state, const void *args, size_t len)
{
    (void)state;
    (void)args;
    (void)len;
    ASSERT_OK(actr_timer_interval(ctx, actr_self(ctx), 1, tick(ctx, 1), NULL));
    ASSERT_OK(actr_timer_send_after(ctx, actr_self(ctx), 60000, tick(ctx, 2), NULL));
    return 0;
}

static int doomed_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    doomed_t *d = state;
    ASSERT_EQ(tick_value(msg), 1);
    if (++d->ticks == 3)
        return actr_exit(ctx, ACTR_REASON_NORMAL);
    return 0;
}

static const actr_behavior_t doomed_beh = {
    .size = sizeof(actr_behavior_t),
    .name = "test.doomed",
    .state_size = sizeof(doomed_t),
    .init = doomed_init,
    .receive = doomed_receive,
};

TEST_IMPL(timer, self_timers_cancelled_by_death)
{
    setup();
    for (int i = 0; i < 20; i++) {
        actr_spawn_opts_t opts = {0};
        uint64_t mon = 0;
        actr_ref_t a;
        opts.monitor_id = &mon;
        ASSERT_OK(actr_spawn(cl, &doomed_beh, NULL, 0, &opts, &a));
        actr_msg_t *down = recv_type(ACTR_MSG_DOWN, WAIT_MS);
        ASSERT_NOT_NULL(down);
        const char *reason;
        size_t rlen;
        uint64_t got = 0;
        ASSERT_OK(actr_msg_down(down, &got, &reason, &rlen));
        ASSERT_EQ(got, mon);
        ASSERT_MEM_STR(reason, rlen, "normal");
        actr_msg_free(down);
    }
    /* Give the dead actors' intervals a chance to fire into the void. */
    ASSERT_OK(actr_timer_send_after(cl, actr_self(cl), 30, tick(cl, 0), NULL));
    actr_msg_t *m = recv_type(T_TICK, WAIT_MS);
    ASSERT_NOT_NULL(m);
    actr_msg_free(m);
    teardown();
}

TEST_IMPL(timer, pending_timers_freed_at_close)
{
    setup();
    actr_ref_t a = spawn_tactor();
    for (int i = 0; i < 100; i++) {
        ASSERT_OK(actr_timer_send_after(cl, actr_self(cl), 60000, tick(cl, i), NULL));
        ASSERT_OK(actr_timer_send_after(cl, a, 60000, tick(cl, i), NULL));
        ASSERT_OK(actr_timer_interval(cl, a, 60000, tick(cl, i), NULL));
    }
    /* And some armed from inside a handler. */
    ASSERT_OK(tell(cl, a, T_ARM_MANY, "[ii]", 100, 60000));
    actr_msg_t *m = recv_type(T_GIVE_ID, WAIT_MS);
    ASSERT_NOT_NULL(m);
    actr_msg_free(m);
    teardown(); /* ASan: every pending timer and its message is freed */
}

TEST_IMPL(timer, pending_timers_freed_at_close_without_stop)
{
    setup();
    actr_ref_t a = spawn_tactor();
    for (int i = 0; i < 100; i++) {
        ASSERT_OK(actr_timer_send_after(cl, a, 60000, tick(cl, i), NULL));
        ASSERT_OK(actr_timer_interval(cl, a, 60000, tick(cl, i), NULL));
    }
    /* A busy interval, still firing when the runtime goes away. */
    ASSERT_OK(actr_timer_interval(cl, a, 1, tick(cl, 5), NULL));
    expect_fwd_tick(5);
    actr_client_close(cl);
    cl = NULL;
    for (size_t i = 0; i < nstash; i++)
        actr_msg_free(stash[i]);
    nstash = 0;
    actr_close(rt); /* stops, waits and frees in one call */
    rt = NULL;
}

/* Regression: many actors re-arming 0/1 ms self-timers from their handlers
 * race the I/O thread's re-arming; a lost wake-up used to strand timers. */
typedef struct {
    actr_ref_t owner;
    int left;
} chain_t;

static int chain_fire(actr_ctx_t *ctx, chain_t *c)
{
    actr_msg_t *m = NULL;
    int rc;
    if (c->left-- == 0) {
        if ((rc = actr_msg_new(ctx, 77, NULL, 0, &m)) != 0)
            return rc;
        return actr_send(ctx, c->owner, m);
    }
    if ((rc = actr_msg_new(ctx, 76, NULL, 0, &m)) != 0)
        return rc;
    return actr_timer_send_after(ctx, actr_self(ctx), (uint32_t)(c->left & 1), m, NULL);
}

static int chain_init(actr_ctx_t *ctx, void *state, const void *args, size_t len)
{
    chain_t *c = state;
    int rc = actr_unpack(args, len, "r", &c->owner);
    c->left = 30;
    return rc ? rc : chain_fire(ctx, c);
}

static int chain_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    (void)msg;
    return chain_fire(ctx, state);
}

static const actr_behavior_t chain_beh = {.size = sizeof(actr_behavior_t),
                                          .name = "test.chain",
                                          .state_size = sizeof(chain_t),
                                          .init = chain_init,
                                          .receive = chain_receive};

TEST_IMPL(timer, chained_short_timers_never_stall)
{
    actr_t *r;
    actr_ctx_t *c;
    ASSERT_OK(actr_open(&r, NULL));
    ASSERT_OK(actr_start(r));
    ASSERT_OK(actr_client_open(r, &c));
    enum { N = 300 };
    uint8_t args[32];
    size_t len;
    ASSERT_OK(actr_pack(args, sizeof(args), &len, "r", actr_self(c)));
    for (int i = 0; i < N; i++) {
        actr_ref_t a;
        ASSERT_OK(actr_spawn(c, &chain_beh, args, len, NULL, &a));
    }
    for (int i = 0; i < N; i++) {
        actr_msg_t *m = NULL;
        ASSERT_OK(actr_client_recv(c, 20000, &m));
        ASSERT_EQ(actr_msg_type(m), 77);
        actr_msg_free(m);
    }
    actr_client_close(c);
    actr_close(r);
}

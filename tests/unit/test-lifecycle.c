/* tests/unit/test-lifecycle.c — the runtime's lifecycle (suite `lifecycle`).
 *
 * Covers: open/close without ever starting (with actors and queued messages
 * that must be freed, their init never run); actr_start/actr_stop/actr_wait and
 * their error codes (EBUSY, ESTOPPED, idempotent stop); actr_run in the
 * foreground on a thread of the test, stopped from another thread and from
 * inside a handler; terminate running for every actor on stop with reason
 * "shutdown"; spawns and client opens after stop (ESTOPPED); two runtimes side
 * by side doing work at once, with distinct node ids and refusing each other's
 * refs (ENONODE); actors spawned before actr_start running once started; an idle
 * runtime parking all its workers; options validation.
 *
 * Counters shared with handlers are atomics reset at the start of each test
 * (the runner may run several tests in one process with --no-fork).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#include "actr.h"
#include "task.h"

enum {
    T_PING = 300, /* a request answered with [handled:int] */
    T_DATA,       /* counted */
    T_STOP_RT,    /* call actr_stop on the runtime from the handler */
    T_BALL,       /* ping-pong: [n:int] */
    T_DONE,       /* [n:int] */
    T_SERVE       /* [partner:ref] */
};

#define WAIT_MS 10000

static atomic_int inits, terms, bad_reasons, handled, term_spawn_rc;

static void reset_counters(void)
{
    atomic_store(&inits, 0);
    atomic_store(&terms, 0);
    atomic_store(&bad_reasons, 0);
    atomic_store(&handled, 0);
    atomic_store(&term_spawn_rc, 1);
}

static actr_t *open_rt(unsigned workers)
{
    actr_options_t o;
    actr_options_init(&o);
    o.workers = workers;
    o.log_level = ACTR_LOG_WARN;
    actr_t *r = NULL;
    ASSERT_OK(actr_open(&r, &o));
    ASSERT_NOT_NULL(r);
    return r;
}

static actr_msg_t *mk(actr_ctx_t *c, uint32_t type)
{
    actr_msg_t *m = NULL;
    ASSERT_OK(actr_msg_new(c, type, NULL, 0, &m));
    return m;
}

/* ---- a counting actor ------------------------------------------------------------ *
 * init counts; receive counts T_DATA, answers T_PING requests with the count
 * of messages it handled, stops the runtime on T_STOP_RT; terminate counts and
 * checks the reason is "shutdown", and tries a spawn (refused while stopping). */

typedef struct counting {
    int handled;
} counting_t;

static int counting_init(actr_ctx_t *ctx, void *state, const void *args, size_t len)
{
    (void)ctx;
    (void)state;
    (void)args;
    (void)len;
    atomic_fetch_add(&inits, 1);
    return 0;
}

static const actr_behavior_t counting_beh;

static int counting_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    counting_t *c = state;
    atomic_fetch_add(&handled, 1);
    switch (actr_msg_type(msg)) {
    case T_PING: {
        actr_msg_t *reply = NULL;
        int rc = actr_msg_pack(ctx, T_PING, &reply, "[i]", c->handled);
        if (rc != 0)
            return rc;
        return actr_reply(ctx, msg, reply);
    }
    case T_STOP_RT:
        return actr_stop(actr_ctx_runtime(ctx));
    default:
        c->handled++;
        return 0;
    }
}

static void counting_terminate(actr_ctx_t *ctx, void *state, const char *reason)
{
    (void)state;
    if (reason == NULL || strcmp(reason, ACTR_REASON_SHUTDOWN) != 0)
        atomic_fetch_add(&bad_reasons, 1);
    actr_ref_t child;
    int rc = actr_spawn(ctx, &counting_beh, NULL, 0, NULL, &child);
    atomic_store(&term_spawn_rc, rc);
    atomic_fetch_add(&terms, 1);
}

static const actr_behavior_t counting_beh = {
    .size = sizeof(actr_behavior_t),
    .name = "test.counting",
    .state_size = sizeof(counting_t),
    .init = counting_init,
    .receive = counting_receive,
    .terminate = counting_terminate,
};

/* Ask `who` how many T_DATA it handled. */
static int ping(actr_ctx_t *c, actr_ref_t who)
{
    actr_msg_t *reply = NULL;
    ASSERT_OK(actr_client_call(c, who, mk(c, T_PING), WAIT_MS, &reply));
    int n = -1;
    ASSERT_OK(actr_msg_unpack(reply, "[i]", &n));
    actr_msg_free(reply);
    return n;
}

/* ---- open/close ------------------------------------------------------------------ */

TEST_IMPL(lifecycle, open_close_unstarted)
{
    reset_counters();
    actr_close(NULL);

    actr_t *r = NULL;
    ASSERT_OK(actr_open(&r, NULL));
    ASSERT_NOT_NULL(r);
    ASSERT_NE(actr_node_id(r), 0);
    actr_close(r);

    /* Actors spawned and messages queued, never run: close frees them all. */
    r = open_rt(2);
    actr_ctx_t *c = NULL;
    ASSERT_OK(actr_client_open(r, &c));
    actr_ref_t refs[10];
    for (int i = 0; i < 10; i++) {
        unsigned char args[16];
        size_t len = 0;
        ASSERT_OK(actr_pack(args, sizeof args, &len, "[i]", i));
        ASSERT_OK(actr_spawn(c, &counting_beh, args, len, NULL, &refs[i]));
        for (int k = 0; k < 5; k++)
            ASSERT_OK(actr_send(c, refs[i], mk(c, T_DATA)));
    }
    actr_stats_t st;
    actr_stats(r, &st);
    ASSERT_EQ(st.msgs_handled, 0);
    ASSERT_GE(st.actors_spawned, 10);
    actr_client_close(c);
    actr_close(r);
    ASSERT_EQ(atomic_load(&inits), 0);
    ASSERT_EQ(atomic_load(&terms), 0); /* terminate runs only after a successful init */
}

TEST_IMPL(lifecycle, start_stop_wait)
{
    reset_counters();
    actr_t *r = open_rt(2);
    ASSERT_OK(actr_start(r));
    ASSERT_ERR(actr_start(r), ACTR_EBUSY);
    ASSERT_ERR(actr_run(r), ACTR_EBUSY);
    actr_ctx_t *c = NULL;
    ASSERT_OK(actr_client_open(r, &c));
    actr_ref_t a;
    ASSERT_OK(actr_spawn(c, &counting_beh, NULL, 0, NULL, &a));
    ASSERT_OK(actr_send(c, a, mk(c, T_DATA)));
    ASSERT_EQ(ping(c, a), 1);
    actr_client_close(c);
    ASSERT_OK(actr_stop(r));
    ASSERT_OK(actr_stop(r)); /* idempotent */
    ASSERT_OK(actr_wait(r));
    ASSERT_OK(actr_wait(r));
    ASSERT_OK(actr_stop(r));
    /* Already started and now stopped: either code says "not again". */
    int rc = actr_start(r);
    if (rc != ACTR_EBUSY)
        ASSERT_ERR(rc, ACTR_ESTOPPED);
    ASSERT_EQ(atomic_load(&terms), 1);
    actr_close(r);

    /* Stop before start: nothing runs, start is refused, close is clean. */
    r = open_rt(1);
    ASSERT_OK(actr_stop(r));
    ASSERT_ERR(actr_start(r), ACTR_ESTOPPED);
    actr_close(r);

    /* close on a running runtime stops it. */
    r = open_rt(2);
    ASSERT_OK(actr_start(r));
    ASSERT_OK(actr_client_open(r, &c));
    ASSERT_OK(actr_spawn(c, &counting_beh, NULL, 0, NULL, &a));
    ASSERT_EQ(ping(c, a), 0);
    actr_client_close(c);
    actr_close(r);
    ASSERT_EQ(atomic_load(&terms), 2);
}

/* ---- actr_run in the foreground ---------------------------------------------------- */

typedef struct runner_arg {
    actr_t *rt;
    int rc;
    atomic_int done;
} runner_arg_t;

static void *run_thread(void *p)
{
    runner_arg_t *ra = p;
    ra->rc = actr_run(ra->rt);
    atomic_store(&ra->done, 1);
    return NULL;
}

TEST_IMPL(lifecycle, run_stopped_from_thread)
{
    reset_counters();
    runner_arg_t ra = {.rt = open_rt(2), .rc = 1};
    atomic_init(&ra.done, 0);
    actr_ctx_t *c = NULL;
    ASSERT_OK(actr_client_open(ra.rt, &c));
    actr_ref_t a;
    ASSERT_OK(actr_spawn(c, &counting_beh, NULL, 0, NULL, &a));
    pthread_t th;
    ASSERT_EQ(pthread_create(&th, NULL, run_thread, &ra), 0);
    /* Once an actor answers, the runtime runs. */
    ASSERT_OK(actr_send(c, a, mk(c, T_DATA)));
    ASSERT_EQ(ping(c, a), 1);
    ASSERT_EQ(atomic_load(&ra.done), 0);
    ASSERT_ERR(actr_start(ra.rt), ACTR_EBUSY);
    ASSERT_OK(actr_stop(ra.rt));
    ASSERT_EVENTUALLY(atomic_load(&ra.done) == 1, WAIT_MS);
    ASSERT_EQ(pthread_join(th, NULL), 0);
    ASSERT_OK(ra.rc);
    ASSERT_EQ(atomic_load(&terms), 1);
    ASSERT_EQ(atomic_load(&bad_reasons), 0);
    actr_client_close(c);
    actr_close(ra.rt);
}

TEST_IMPL(lifecycle, run_stopped_from_handler)
{
    reset_counters();
    runner_arg_t ra = {.rt = open_rt(2), .rc = 1};
    atomic_init(&ra.done, 0);
    actr_ctx_t *c = NULL;
    ASSERT_OK(actr_client_open(ra.rt, &c));
    actr_ref_t a, b;
    ASSERT_OK(actr_spawn(c, &counting_beh, NULL, 0, NULL, &a));
    ASSERT_OK(actr_spawn(c, &counting_beh, NULL, 0, NULL, &b));
    pthread_t th;
    ASSERT_EQ(pthread_create(&th, NULL, run_thread, &ra), 0);
    ASSERT_EQ(ping(c, a), 0);
    ASSERT_OK(actr_send(c, a, mk(c, T_STOP_RT)));
    ASSERT_EVENTUALLY(atomic_load(&ra.done) == 1, WAIT_MS);
    ASSERT_EQ(pthread_join(th, NULL), 0);
    ASSERT_OK(ra.rc);
    ASSERT_EQ(atomic_load(&terms), 2);
    ASSERT_EQ(atomic_load(&bad_reasons), 0);
    actr_client_close(c);
    actr_close(ra.rt);

    /* The same in the background: actr_wait returns after a handler's stop. */
    reset_counters();
    actr_t *r = open_rt(2);
    ASSERT_OK(actr_start(r));
    ASSERT_OK(actr_client_open(r, &c));
    ASSERT_OK(actr_spawn(c, &counting_beh, NULL, 0, NULL, &a));
    ASSERT_OK(actr_send(c, a, mk(c, T_STOP_RT)));
    ASSERT_OK(actr_wait(r));
    ASSERT_EQ(atomic_load(&terms), 1);
    actr_client_close(c);
    actr_close(r);
}

/* ---- terminate on stop ------------------------------------------------------------ */

#define MANY 1000

TEST_IMPL(lifecycle, terminate_all_on_stop)
{
    reset_counters();
    actr_t *r = open_rt(2);
    ASSERT_OK(actr_start(r));
    actr_ctx_t *c = NULL;
    ASSERT_OK(actr_client_open(r, &c));
    for (int i = 0; i < MANY; i++) {
        actr_ref_t a;
        ASSERT_OK(actr_spawn(c, &counting_beh, NULL, 0, NULL, &a));
        if (i % 3 == 0) /* some have messages queued or being handled at stop */
            ASSERT_OK(actr_send(c, a, mk(c, T_DATA)));
    }
    ASSERT_EVENTUALLY(atomic_load(&inits) == MANY, WAIT_MS);
    actr_stats_t st;
    actr_stats(r, &st);
    ASSERT_GE(st.actors_live, MANY);
    ASSERT_GE(st.actors_spawned, MANY);
    actr_client_close(c);
    ASSERT_OK(actr_stop(r));
    ASSERT_OK(actr_wait(r));
    ASSERT_EQ(atomic_load(&terms), MANY);
    ASSERT_EQ(atomic_load(&bad_reasons), 0);
    /* A spawn from terminate during shutdown is refused. */
    ASSERT_ERR(atomic_load(&term_spawn_rc), ACTR_ESTOPPED);
    actr_stats(r, &st);
    ASSERT_EQ(st.actors_live, 0);
    actr_close(r);
}

TEST_IMPL(lifecycle, spawn_after_stop)
{
    reset_counters();
    actr_t *r = open_rt(2);
    ASSERT_OK(actr_start(r));
    actr_ctx_t *c = NULL;
    ASSERT_OK(actr_client_open(r, &c));
    actr_ref_t a, b;
    ASSERT_OK(actr_spawn(c, &counting_beh, NULL, 0, NULL, &a));
    ASSERT_EQ(ping(c, a), 0);
    ASSERT_OK(actr_stop(r));
    ASSERT_ERR(actr_spawn(c, &counting_beh, NULL, 0, NULL, &b), ACTR_ESTOPPED);
    actr_ctx_t *c2 = NULL;
    ASSERT_ERR(actr_client_open(r, &c2), ACTR_ESTOPPED);
    ASSERT_OK(actr_wait(r));
    ASSERT_ERR(actr_spawn(c, &counting_beh, NULL, 0, NULL, &b), ACTR_ESTOPPED);
    ASSERT_ERR(actr_client_open(r, &c2), ACTR_ESTOPPED);
    /* The actor is gone after the stop: sends fail without crashing. */
    int rc = actr_send(c, a, mk(c, T_DATA));
    ASSERT(rc == ACTR_ENOACTOR || rc == ACTR_ESTOPPED);
    actr_client_close(c);
    actr_close(r);
    ASSERT_EQ(atomic_load(&terms), 1);
}

/* ---- two runtimes in one process ----------------------------------------------------- */

#define BALLS 20000

/* player: on T_SERVE [partner] sends T_BALL [0] to partner; on T_BALL [n]
 * sends T_BALL [n+1] back to the sender, or T_DONE [n] to the owner (its init
 * args) once n reaches BALLS. */
typedef struct player {
    actr_ref_t owner;
} player_t;

static int player_init(actr_ctx_t *ctx, void *state, const void *args, size_t len)
{
    (void)ctx;
    player_t *p = state;
    return actr_unpack(args, len, "r", &p->owner);
}

static int player_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    player_t *p = state;
    actr_msg_t *m = NULL;
    int rc;
    if (actr_msg_type(msg) == T_SERVE) {
        actr_ref_t partner;
        if ((rc = actr_msg_unpack(msg, "[r]", &partner)) != 0)
            return rc;
        if ((rc = actr_msg_pack(ctx, T_BALL, &m, "[i]", 0)) != 0)
            return rc;
        return actr_send(ctx, partner, m);
    }
    int n = 0;
    if ((rc = actr_msg_unpack(msg, "[i]", &n)) != 0)
        return rc;
    if (n >= BALLS) {
        if ((rc = actr_msg_pack(ctx, T_DONE, &m, "[i]", n)) != 0)
            return rc;
        return actr_send(ctx, p->owner, m);
    }
    if ((rc = actr_msg_pack(ctx, T_BALL, &m, "[i]", n + 1)) != 0)
        return rc;
    return actr_send(ctx, actr_msg_from(msg), m);
}

static const actr_behavior_t player_beh = {
    .size = sizeof(actr_behavior_t),
    .name = "test.player",
    .state_size = sizeof(player_t),
    .init = player_init,
    .receive = player_receive,
};

typedef struct side {
    actr_t *rt;
    actr_ctx_t *c;
    actr_ref_t p1, p2;
} side_t;

static void side_open(side_t *s)
{
    s->rt = open_rt(2);
    ASSERT_OK(actr_start(s->rt));
    ASSERT_OK(actr_client_open(s->rt, &s->c));
    unsigned char args[64];
    size_t len = 0;
    ASSERT_OK(actr_pack(args, sizeof args, &len, "r", actr_self(s->c)));
    ASSERT_OK(actr_spawn(s->c, &player_beh, args, len, NULL, &s->p1));
    ASSERT_OK(actr_spawn(s->c, &player_beh, args, len, NULL, &s->p2));
}

static void side_serve(side_t *s)
{
    actr_msg_t *m = NULL;
    ASSERT_OK(actr_msg_pack(s->c, T_SERVE, &m, "[r]", s->p2));
    ASSERT_OK(actr_send(s->c, s->p1, m));
}

static void side_finish(side_t *s)
{
    actr_msg_t *m = NULL;
    ASSERT_OK(actr_client_recv(s->c, WAIT_MS, &m));
    ASSERT_EQ(actr_msg_type(m), T_DONE);
    int n = 0;
    ASSERT_OK(actr_msg_unpack(m, "[i]", &n));
    ASSERT_EQ(n, BALLS);
    actr_msg_free(m);
    actr_stats_t st;
    /* the counters are approximate while running: they catch up */
    ASSERT_EVENTUALLY((actr_stats(s->rt, &st), st.msgs_handled >= BALLS + 2), WAIT_MS);
    ASSERT_GE(st.actors_spawned, 2);
}

TEST_IMPL(lifecycle, two_runtimes)
{
    reset_counters();
    side_t a, b;
    side_open(&a);
    side_open(&b);
    ASSERT_NE(actr_node_id(a.rt), 0);
    ASSERT_NE(actr_node_id(b.rt), 0);
    ASSERT_NE(actr_node_id(a.rt), actr_node_id(b.rt));
    ASSERT_EQ(a.p1.node, actr_node_id(a.rt));
    ASSERT_EQ(b.p1.node, actr_node_id(b.rt));
    ASSERT_EQ(actr_self(a.c).node, actr_node_id(a.rt));
    ASSERT(actr_ctx_runtime(a.c) == a.rt && actr_ctx_runtime(b.c) == b.rt);

    /* Both rally at once; meanwhile each refuses the other's refs. */
    side_serve(&a);
    side_serve(&b);
    actr_msg_t *m = NULL;
    uint64_t id = 0;
    ASSERT_ERR(actr_send(a.c, b.p1, mk(a.c, T_DATA)), ACTR_ENONODE);
    ASSERT_ERR(actr_send(b.c, a.p1, mk(b.c, T_DATA)), ACTR_ENONODE);
    ASSERT_ERR(actr_send(a.c, actr_self(b.c), mk(a.c, T_DATA)), ACTR_ENONODE);
    ASSERT_ERR(actr_request(a.c, b.p1, mk(a.c, T_DATA), 100, &id), ACTR_ENONODE);
    ASSERT_ERR(actr_client_call(a.c, b.p1, mk(a.c, T_DATA), 100, &m), ACTR_ENONODE);
    ASSERT_ERR(actr_monitor(a.c, b.p1, &id), ACTR_ENONODE);
    ASSERT_ERR(actr_actor_stop(a.c, b.p1, NULL), ACTR_ENONODE);
    ASSERT_ERR(actr_actor_kill(a.c, b.p1), ACTR_ENONODE);
    ASSERT_EQ(actr_is_alive(a.c, b.p1), 0);
    ASSERT_EQ(actr_is_alive(b.c, b.p1), 1);
    side_finish(&a);
    side_finish(&b);

    /* Nothing crossed over: each client got exactly its own T_DONE. */
    ASSERT_ERR(actr_client_recv(a.c, 0, &m), ACTR_ETIMEDOUT);
    ASSERT_ERR(actr_client_recv(b.c, 0, &m), ACTR_ETIMEDOUT);
    actr_client_close(a.c);
    actr_client_close(b.c);
    /* Stopping one leaves the other running. */
    ASSERT_OK(actr_stop(a.rt));
    ASSERT_OK(actr_wait(a.rt));
    ASSERT_OK(actr_client_open(b.rt, &b.c));
    actr_ref_t k;
    ASSERT_OK(actr_spawn(b.c, &counting_beh, NULL, 0, NULL, &k));
    ASSERT_EQ(ping(b.c, k), 0);
    ASSERT_EQ(actr_is_alive(b.c, b.p1), 1);
    actr_client_close(b.c);
    actr_close(a.rt);
    actr_close(b.rt);
}

/* ---- spawned before start ---------------------------------------------------------- */

TEST_IMPL(lifecycle, spawned_before_start)
{
    reset_counters();
    actr_t *r = open_rt(2);
    actr_ctx_t *c = NULL;
    ASSERT_OK(actr_client_open(r, &c));
    actr_ref_t a[3];
    for (int i = 0; i < 3; i++) {
        ASSERT_OK(actr_spawn(c, &counting_beh, NULL, 0, NULL, &a[i]));
        ASSERT_EQ(actr_is_alive(c, a[i]), 1);
        for (int k = 0; k <= i; k++)
            ASSERT_OK(actr_send(c, a[i], mk(c, T_DATA)));
    }
    /* No thread runs before start. */
    ASSERT_EQ(atomic_load(&inits), 0);
    ASSERT_EQ(atomic_load(&handled), 0);
    ASSERT_OK(actr_start(r));
    for (int i = 0; i < 3; i++)
        ASSERT_EQ(ping(c, a[i]), i + 1);
    ASSERT_EQ(atomic_load(&inits), 3);
    actr_client_close(c);
    actr_close(r);
    ASSERT_EQ(atomic_load(&terms), 3);
}

/* ---- idle workers park ------------------------------------------------------------- */

TEST_IMPL(lifecycle, idle_parks_workers)
{
    reset_counters();
    actr_t *r = open_rt(2);
    ASSERT_OK(actr_start(r));
    actr_stats_t st;
    actr_stats(r, &st);
    ASSERT_EQ(st.workers, 2);
    ASSERT_EVENTUALLY((actr_stats(r, &st), st.workers_parked == st.workers), 2000);

    /* Work wakes a worker; when it is done they all park again. */
    actr_ctx_t *c = NULL;
    ASSERT_OK(actr_client_open(r, &c));
    actr_ref_t a;
    ASSERT_OK(actr_spawn(c, &counting_beh, NULL, 0, NULL, &a));
    ASSERT_EQ(ping(c, a), 0);
    actr_stats(r, &st);
    ASSERT_GE(st.worker_wakes, 1);
    ASSERT_GE(st.worker_parks, 2);
    ASSERT_EVENTUALLY((actr_stats(r, &st), st.workers_parked == st.workers), 2000);
    actr_client_close(c);

    /* The default worker count is the number of cores (at least one). */
    actr_t *d = NULL;
    ASSERT_OK(actr_open(&d, NULL));
    ASSERT_OK(actr_start(d));
    actr_stats(d, &st);
    ASSERT_GE(st.workers, 1);
    ASSERT_EVENTUALLY((actr_stats(d, &st), st.workers_parked == st.workers), 2000);
    actr_close(d);
    actr_close(r);
}

/* ---- options ------------------------------------------------------------------------- */

TEST_IMPL(lifecycle, options_validation)
{
    actr_options_t o;
    memset(&o, 0xAB, sizeof o);
    actr_options_init(&o);
    ASSERT_EQ(o.size, sizeof(actr_options_t));
    ASSERT_EQ(o.log_level, ACTR_LOG_INFO);
    ASSERT_NULL(o.log_fn);

    actr_t *r = NULL;
    actr_options_t bad = o;
    bad.size = 0;
    ASSERT_ERR(actr_open(&r, &bad), ACTR_EINVAL);
    bad = o;
    bad.size = sizeof(actr_options_t) - 4; /* shorter than any version of the struct */
    ASSERT_ERR(actr_open(&r, &bad), ACTR_EINVAL);
    bad = o;
    bad.log_level = (actr_log_level_t)42;
    ASSERT_ERR(actr_open(&r, &bad), ACTR_EINVAL);
    bad = o;
    bad.max_payload = ACTR_MSG_MAX_PAYLOAD + 1u;
    ASSERT_ERR(actr_open(&r, &bad), ACTR_EINVAL);

    /* Small but legal values work. */
    reset_counters();
    actr_options_t ok = o;
    ok.workers = 1;
    ok.batch = 1;
    ok.mailbox_limit = 1;
    ok.max_payload = 16;
    ok.spin_us = 1;
    ok.log_level = ACTR_LOG_OFF;
    ASSERT_OK(actr_open(&r, &ok));
    ASSERT_OK(actr_start(r));
    actr_ctx_t *c = NULL;
    ASSERT_OK(actr_client_open(r, &c));
    actr_ref_t a;
    ASSERT_OK(actr_spawn(c, &counting_beh, NULL, 0, NULL, &a));
    ASSERT_EQ(ping(c, a), 0);
    actr_stats_t st;
    actr_stats(r, &st);
    ASSERT_EQ(st.workers, 1);
    actr_client_close(c);
    actr_close(r);
}

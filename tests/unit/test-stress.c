/* tests/unit/test-stress.c — the runtime under load (suite `stress`).
 *
 * Covers: many producers (actors and client threads at once) sending
 * sequence-numbered messages to one and to several consumers, which check
 * that nothing is lost, nothing is duplicated and each producer's order is
 * kept; the same with tiny mailbox bounds, so that sends fail with
 * ACTR_EMAILBOX and producers retry the same sequence number later (an actor
 * by sending itself a "continue" message, never by blocking); spawn/exit churn
 * through 100,000 short-lived actors, where reused slots must refuse refs to
 * earlier generations (ACTR_ENOACTOR); and monitors set concurrently on actors
 * that are dying, each of which must fire exactly one DOWN.
 *
 * Sizes keep each test within a few seconds on 2 cores. Sanitized builds
 * scale them down (TSan about 10x, ASan about 4x slower), and the environment
 * variable ACTR_STRESS_SCALE (a factor, e.g. 0.1 or 4) scales them further.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#include "actr.h"
#include "task.h"

enum {
    T_SEQ = 500, /* [producer:int, seq:uint] */
    T_CONT,      /* producer -> itself: send the next chunk */
    T_DONE,      /* consumer -> owner: [consumer:int, got:uint, errors:uint] */
    T_DIE,       /* churn child: exit "normal" */
    T_PROBE,     /* churn driver: a message to a stale ref (must fail) */
    T_GO,        /* start */
    T_REPORT     /* results */
};

#define WAIT_MS 60000

/* ---- sizes ---------------------------------------------------------------------- */

#if defined(__SANITIZE_THREAD__)
#define SAN_SCALE 0.1
#elif defined(__SANITIZE_ADDRESS__)
#define SAN_SCALE 0.25
#else
#define SAN_SCALE 1.0
#endif

/* n scaled by the build and ACTR_STRESS_SCALE, rounded down to a multiple of
 * `mult` and at least `mult`. */
static uint32_t scaled(uint32_t n, uint32_t mult)
{
    double f = SAN_SCALE;
    const char *env = getenv("ACTR_STRESS_SCALE");
    if (env != NULL && *env != '\0') {
        double e = strtod(env, NULL);
        if (e > 0)
            f *= e;
    }
    double v = (double)n * f;
    if (v > 4e9)
        v = 4e9;
    uint32_t r = (uint32_t)v / mult * mult;
    return r < mult ? mult : r;
}

/* ---- producers and consumers ------------------------------------------------------- */

#define MAX_PRODUCERS 16
#define MAX_CONSUMERS 8
#define CHUNK 64

/* Shared by one test's actors and threads; set up before any of them runs and
 * read-only afterwards, except for the atomics. */
typedef struct flow {
    actr_t *rt;
    actr_ref_t owner;
    actr_ref_t consumers[MAX_CONSUMERS];
    int nconsumers;
    int nproducers; /* actors and client threads together */
    uint32_t per_producer;
    atomic_uint_fast64_t emailbox; /* sends refused for a full mailbox */
    atomic_uint_fast64_t send_errors;
} flow_t;

/* Seq s of a producer goes to consumer s % nconsumers: each consumer expects
 * from each producer exactly c, c+K, c+2K, ... in that order. */

typedef struct consumer {
    flow_t *f;
    int idx;
    uint64_t expect[MAX_PRODUCERS];
    uint64_t got, errors, total;
} consumer_t;

static int consumer_init(actr_ctx_t *ctx, void *state, const void *args, size_t len)
{
    (void)ctx;
    consumer_t *c = state;
    uint64_t fp = 0;
    int rc = actr_unpack(args, len, "[Ui]", &fp, &c->idx);
    if (rc != 0)
        return rc;
    c->f = (flow_t *)(uintptr_t)fp;
    for (int p = 0; p < MAX_PRODUCERS; p++)
        c->expect[p] = (uint64_t)c->idx;
    c->total = (uint64_t)c->f->nproducers * (c->f->per_producer / (uint32_t)c->f->nconsumers);
    return 0;
}

static int consumer_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    consumer_t *c = state;
    if (actr_msg_is_request(msg)) { /* the test's final check */
        actr_msg_t *m = NULL;
        int rc = actr_msg_pack(ctx, T_REPORT, &m, "[UU]", c->got, c->errors);
        if (rc != 0)
            return rc;
        return actr_reply(ctx, msg, m);
    }
    if (actr_msg_type(msg) != T_SEQ)
        return 0;
    int p = -1;
    uint64_t seq = 0;
    if (actr_msg_unpack(msg, "[iU]", &p, &seq) != 0 || p < 0 || p >= c->f->nproducers) {
        c->errors++;
    } else {
        if (seq != c->expect[p])
            c->errors++;
        c->expect[p] = seq + (uint64_t)c->f->nconsumers;
    }
    if (++c->got == c->total) {
        actr_msg_t *m = NULL;
        int rc = actr_msg_pack(ctx, T_DONE, &m, "[iUU]", c->idx, c->got, c->errors);
        if (rc != 0)
            return rc;
        return actr_send(ctx, c->f->owner, m);
    }
    return 0;
}

static const actr_behavior_t consumer_beh = {
    .size = sizeof(actr_behavior_t),
    .name = "test.consumer",
    .state_size = sizeof(consumer_t),
    .init = consumer_init,
    .receive = consumer_receive,
};

typedef struct producer {
    flow_t *f;
    int idx;
    uint32_t seq;
} producer_t;

static int producer_init(actr_ctx_t *ctx, void *state, const void *args, size_t len)
{
    (void)ctx;
    producer_t *p = state;
    uint64_t fp = 0;
    int rc = actr_unpack(args, len, "[Ui]", &fp, &p->idx);
    p->f = (flow_t *)(uintptr_t)fp;
    return rc;
}

/* Send up to CHUNK messages; on a full mailbox stop and retry the same seq
 * on the next activation. Either way, continue with a message to self. */
static int producer_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    producer_t *p = state;
    flow_t *f = p->f;
    (void)msg;
    for (int k = 0; k < CHUNK && p->seq < f->per_producer; k++) {
        actr_msg_t *m = NULL;
        int rc = actr_msg_pack(ctx, T_SEQ, &m, "[iU]", p->idx, (uint64_t)p->seq);
        if (rc != 0)
            return rc;
        rc = actr_send(ctx, f->consumers[p->seq % (uint32_t)f->nconsumers], m);
        if (rc == ACTR_EMAILBOX) {
            atomic_fetch_add(&f->emailbox, 1);
            break;
        }
        if (rc != 0) {
            atomic_fetch_add(&f->send_errors, 1);
            return rc;
        }
        p->seq++;
    }
    if (p->seq == f->per_producer)
        return 0;
    actr_msg_t *cont = NULL;
    int rc = actr_msg_new(ctx, T_CONT, NULL, 0, &cont);
    if (rc != 0)
        return rc;
    return actr_send(ctx, actr_self(ctx), cont);
}

static const actr_behavior_t producer_beh = {
    .size = sizeof(actr_behavior_t),
    .name = "test.producer",
    .state_size = sizeof(producer_t),
    .init = producer_init,
    .receive = producer_receive,
};

typedef struct client_producer {
    flow_t *f;
    int idx;
    pthread_t th;
} client_producer_t;

/* A producer on its own thread with its own client context; on a full
 * mailbox it yields and retries the same seq. */
static void *client_producer_main(void *arg)
{
    client_producer_t *cp = arg;
    flow_t *f = cp->f;
    actr_ctx_t *c = NULL;
    if (actr_client_open(f->rt, &c) != 0) {
        atomic_fetch_add(&f->send_errors, 1);
        return NULL;
    }
    for (uint32_t seq = 0; seq < f->per_producer;) {
        actr_msg_t *m = NULL;
        int rc = actr_msg_pack(c, T_SEQ, &m, "[iU]", cp->idx, (uint64_t)seq);
        if (rc == 0)
            rc = actr_send(c, f->consumers[seq % (uint32_t)f->nconsumers], m);
        if (rc == ACTR_EMAILBOX) {
            atomic_fetch_add(&f->emailbox, 1);
            sched_yield();
            continue;
        }
        if (rc != 0) {
            atomic_fetch_add(&f->send_errors, 1);
            break;
        }
        seq++;
    }
    actr_client_close(c);
    return NULL;
}

/* Run `actors` producer actors and `threads` client producers, each sending
 * `per` messages spread over `nconsumers` consumers with mailbox_limit
 * `limit` (0 = default). Returns how many sends hit a full mailbox. */
static uint64_t run_flow(int actors, int threads, int nconsumers, uint32_t per, uint32_t limit)
{
    flow_t *f = calloc(1, sizeof *f);
    ASSERT_NOT_NULL(f);
    ASSERT(actors + threads <= MAX_PRODUCERS && nconsumers <= MAX_CONSUMERS);
    actr_options_t o;
    actr_options_init(&o);
    o.log_level = ACTR_LOG_WARN;
    ASSERT_OK(actr_open(&f->rt, &o));
    ASSERT_OK(actr_start(f->rt));
    actr_ctx_t *c = NULL;
    ASSERT_OK(actr_client_open(f->rt, &c));
    f->owner = actr_self(c);
    f->nconsumers = nconsumers;
    f->nproducers = actors + threads;
    f->per_producer = per;
    atomic_init(&f->emailbox, 0);
    atomic_init(&f->send_errors, 0);

    unsigned char args[64];
    size_t len = 0;
    actr_spawn_opts_t so = {.mailbox_limit = limit};
    for (int i = 0; i < nconsumers; i++) {
        ASSERT_OK(actr_pack(args, sizeof args, &len, "[Ui]", (uint64_t)(uintptr_t)f, i));
        ASSERT_OK(actr_spawn(c, &consumer_beh, args, len, &so, &f->consumers[i]));
    }
    actr_ref_t prods[MAX_PRODUCERS];
    for (int i = 0; i < actors; i++) {
        ASSERT_OK(actr_pack(args, sizeof args, &len, "[Ui]", (uint64_t)(uintptr_t)f, i));
        ASSERT_OK(actr_spawn(c, &producer_beh, args, len, NULL, &prods[i]));
    }
    client_producer_t cps[MAX_PRODUCERS];
    for (int i = 0; i < threads; i++) {
        cps[i].f = f;
        cps[i].idx = actors + i;
        ASSERT_EQ(pthread_create(&cps[i].th, NULL, client_producer_main, &cps[i]), 0);
    }
    for (int i = 0; i < actors; i++) {
        actr_msg_t *m = NULL;
        ASSERT_OK(actr_msg_new(c, T_GO, NULL, 0, &m));
        ASSERT_OK(actr_send(c, prods[i], m));
    }

    bool done[MAX_CONSUMERS] = {false};
    const uint64_t want = (uint64_t)f->nproducers * (per / (uint32_t)nconsumers);
    for (int n = 0; n < nconsumers; n++) {
        actr_msg_t *m = NULL;
        int rc = actr_client_recv(c, WAIT_MS, &m);
        if (rc != 0)
            TEST_FAIL_("consumer reports: %d of %d after %d ms (%s); emailbox=%" PRIu64, n,
                       nconsumers, WAIT_MS, actr_err_name(rc),
                       (uint64_t)atomic_load(&f->emailbox));
        ASSERT_EQ(actr_msg_type(m), T_DONE);
        int idx = -1;
        uint64_t got = 0, errors = 0;
        ASSERT_OK(actr_msg_unpack(m, "[iUU]", &idx, &got, &errors));
        actr_msg_free(m);
        ASSERT(idx >= 0 && idx < nconsumers && !done[idx]);
        done[idx] = true;
        ASSERT_EQ(got, want);
        ASSERT_EQ(errors, 0);
    }
    for (int i = 0; i < threads; i++)
        ASSERT_EQ(pthread_join(cps[i].th, NULL), 0);
    ASSERT_EQ(atomic_load(&f->send_errors), 0);
    /* Still exactly the expected counts, nothing more arrived since. */
    for (int i = 0; i < nconsumers; i++) {
        actr_msg_t *q = NULL, *reply = NULL;
        int rc;
        /* the consumer's last batch may still count against its small bound
         * (messages in hand count until their batch ends): retry on EMAILBOX */
        do {
            ASSERT_OK(actr_msg_new(c, T_REPORT, NULL, 0, &q));
            rc = actr_client_call(c, f->consumers[i], q, WAIT_MS, &reply);
            if (rc == ACTR_EMAILBOX)
                sched_yield();
        } while (rc == ACTR_EMAILBOX);
        ASSERT_OK(rc);
        uint64_t got = 0, errors = 0;
        ASSERT_OK(actr_msg_unpack(reply, "[UU]", &got, &errors));
        actr_msg_free(reply);
        ASSERT_EQ(got, want);
        ASSERT_EQ(errors, 0);
    }
    actr_stats_t st; /* approximate while running: it catches up */
    ASSERT_EVENTUALLY((actr_stats(f->rt, &st), st.msgs_handled >= (uint64_t)f->nproducers * per),
                      WAIT_MS);
    actr_client_close(c);
    ASSERT_OK(actr_stop(f->rt));
    ASSERT_OK(actr_wait(f->rt));
    actr_close(f->rt);
    uint64_t full = atomic_load(&f->emailbox);
    free(f);
    return full;
}

TEST_IMPL(stress, producers_one_consumer)
{
    uint64_t t0 = test_now_ms();
    run_flow(8, 2, 1, scaled(50000, 1), 0);
    fprintf(stderr, "# producers_one_consumer: %" PRIu64 " ms\n", test_now_ms() - t0);
}

TEST_IMPL(stress, producers_many_consumers)
{
    uint64_t t0 = test_now_ms();
    run_flow(8, 2, 4, scaled(40000, 4), 0);
    fprintf(stderr, "# producers_many_consumers: %" PRIu64 " ms\n", test_now_ms() - t0);
}

TEST_IMPL(stress, producers_full_mailboxes)
{
    uint64_t t0 = test_now_ms();
    uint64_t full = run_flow(8, 2, 3, scaled(30000, 3), 16);
    fprintf(stderr, "# producers_full_mailboxes: %" PRIu64 " ms, %" PRIu64 " EMAILBOX\n",
            test_now_ms() - t0, full);
    ASSERT_GE(full, 1);
}

/* ---- spawn/exit churn ------------------------------------------------------------ */

#define WINDOW 64
#define KEEP_STALE 512

static atomic_int churn_terms;

static int child_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    (void)state;
    if (actr_msg_type(msg) == T_DIE)
        return actr_exit(ctx, ACTR_REASON_NORMAL);
    return 0;
}

static void child_terminate(actr_ctx_t *ctx, void *state, const char *reason)
{
    (void)ctx;
    (void)state;
    if (strcmp(reason, ACTR_REASON_NORMAL) == 0)
        atomic_fetch_add(&churn_terms, 1);
}

static const actr_behavior_t child_beh = {
    .size = sizeof(actr_behavior_t),
    .name = "test.child",
    .receive = child_receive,
    .terminate = child_terminate,
};

/* driver: keeps WINDOW children alive; each is monitored, told to die, and
 * replaced when its DOWN arrives, until `total` have died. Whenever a new
 * child lands in the slot of the first one (a reused slot), it checks that the
 * first child's ref is refused. At the end it probes the last KEEP_STALE dead
 * refs and reports [downs, errors, reuse_checks, max_slot] to its owner. */
typedef struct driver {
    actr_ref_t owner;
    uint32_t total, spawned, downs, errors, reuse_checks, max_slot;
    actr_ref_t first;
    actr_ref_t stale[KEEP_STALE];
    uint32_t nstale;
} driver_t;

static int driver_init(actr_ctx_t *ctx, void *state, const void *args, size_t len)
{
    (void)ctx;
    driver_t *d = state;
    return actr_unpack(args, len, "r", &d->owner);
}

static int driver_spawn_one(actr_ctx_t *ctx, driver_t *d)
{
    uint64_t mid = 0;
    actr_spawn_opts_t so = {.monitor_id = &mid};
    actr_ref_t ref;
    int rc = actr_spawn(ctx, &child_beh, NULL, 0, &so, &ref);
    if (rc != 0)
        return rc;
    if (d->spawned == 0)
        d->first = ref;
    /* a new child in the slot of a recently dead one: the old ref must fail */
    uint32_t kept = d->nstale < KEEP_STALE ? d->nstale : KEEP_STALE;
    for (uint32_t k = 0; k < kept; k++) {
        actr_ref_t old = d->stale[k];
        if (old.slot != ref.slot)
            continue;
        if (ref.gen == old.gen)
            d->errors++; /* a reused slot must change generation */
        actr_msg_t *probe = NULL;
        if ((rc = actr_msg_new(ctx, T_PROBE, NULL, 0, &probe)) != 0)
            return rc;
        if (actr_send(ctx, old, probe) != ACTR_ENOACTOR)
            d->errors++;
        if (actr_is_alive(ctx, old))
            d->errors++;
        if (!actr_is_alive(ctx, ref))
            d->errors++;
        d->reuse_checks++;
        break;
    }
    if (ref.slot > d->max_slot)
        d->max_slot = ref.slot;
    d->spawned++;
    actr_msg_t *die = NULL;
    if ((rc = actr_msg_new(ctx, T_DIE, NULL, 0, &die)) != 0)
        return rc;
    if (actr_send(ctx, ref, die) != 0)
        d->errors++; /* the child died by itself: its DOWN still comes */
    return 0;
}

static int driver_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    driver_t *d = state;
    int rc;
    if (actr_msg_type(msg) == T_GO) {
        uint64_t total = 0;
        if ((rc = actr_msg_unpack(msg, "[U]", &total)) != 0)
            return rc;
        d->total = (uint32_t)total;
        for (int i = 0; i < WINDOW && d->spawned < d->total; i++)
            if ((rc = driver_spawn_one(ctx, d)) != 0)
                return rc;
        return 0;
    }
    if (actr_msg_type(msg) != ACTR_MSG_DOWN)
        return 0;
    const char *r = NULL;
    size_t rlen = 0;
    if (actr_msg_down(msg, NULL, &r, &rlen) != 0 || rlen != strlen(ACTR_REASON_NORMAL) ||
        memcmp(r, ACTR_REASON_NORMAL, rlen) != 0)
        d->errors++;
    d->stale[d->nstale++ % KEEP_STALE] = actr_msg_from(msg);
    d->downs++;
    if (d->spawned < d->total)
        return driver_spawn_one(ctx, d);
    if (d->downs < d->total)
        return 0;
    uint32_t n = d->nstale < KEEP_STALE ? d->nstale : KEEP_STALE;
    for (uint32_t i = 0; i < n; i++) {
        actr_msg_t *probe = NULL;
        if ((rc = actr_msg_new(ctx, T_PROBE, NULL, 0, &probe)) != 0)
            return rc;
        if (actr_send(ctx, d->stale[i], probe) != ACTR_ENOACTOR)
            d->errors++;
    }
    actr_msg_t *rep = NULL;
    if ((rc = actr_msg_pack(ctx, T_REPORT, &rep, "[UUUU]", (uint64_t)d->downs,
                            (uint64_t)d->errors, (uint64_t)d->reuse_checks,
                            (uint64_t)d->max_slot)) != 0)
        return rc;
    return actr_send(ctx, d->owner, rep);
}

static const actr_behavior_t driver_beh = {
    .size = sizeof(actr_behavior_t),
    .name = "test.driver",
    .state_size = sizeof(driver_t),
    .init = driver_init,
    .receive = driver_receive,
};

TEST_IMPL(stress, spawn_exit_churn)
{
    uint64_t t0 = test_now_ms();
    atomic_store(&churn_terms, 0);
    const uint32_t total = scaled(100000, WINDOW);
    actr_t *r = NULL;
    actr_options_t o;
    actr_options_init(&o);
    o.log_level = ACTR_LOG_WARN;
    ASSERT_OK(actr_open(&r, &o));
    ASSERT_OK(actr_start(r));
    actr_ctx_t *c = NULL;
    ASSERT_OK(actr_client_open(r, &c));
    unsigned char args[64];
    size_t len = 0;
    ASSERT_OK(actr_pack(args, sizeof args, &len, "r", actr_self(c)));
    actr_ref_t drv;
    uint64_t drv_mon = 0;
    actr_spawn_opts_t so = {.monitor_id = &drv_mon};
    ASSERT_OK(actr_spawn(c, &driver_beh, args, len, &so, &drv));
    actr_msg_t *m = NULL;
    ASSERT_OK(actr_msg_pack(c, T_GO, &m, "[U]", (uint64_t)total));
    ASSERT_OK(actr_send(c, drv, m));

    ASSERT_OK(actr_client_recv(c, WAIT_MS, &m));
    if (actr_msg_type(m) == ACTR_MSG_DOWN) {
        const char *reason = NULL;
        size_t rlen = 0;
        ASSERT_OK(actr_msg_down(m, NULL, &reason, &rlen));
        TEST_FAIL_("the churn driver died: %.*s", (int)rlen, reason);
    }
    ASSERT_EQ(actr_msg_type(m), T_REPORT);
    uint64_t downs = 0, errors = 0, reuse = 0, max_slot = 0;
    ASSERT_OK(actr_msg_unpack(m, "[UUUU]", &downs, &errors, &reuse, &max_slot));
    actr_msg_free(m);
    ASSERT_EQ(downs, total);
    ASSERT_EQ(errors, 0);
    ASSERT_EVENTUALLY(atomic_load(&churn_terms) == (int)total, WAIT_MS);
    /* Slots are reused: far fewer than one per actor, and the first one again. */
    ASSERT_GE(reuse, 1);
    ASSERT_LE(max_slot, total / 4);
    actr_stats_t st;
    actr_stats(r, &st);
    ASSERT_GE(st.actors_spawned, total + 1);
    ASSERT_EVENTUALLY((actr_stats(r, &st), st.actors_live <= 1), WAIT_MS);
    actr_client_close(c);
    actr_close(r);
    fprintf(stderr, "# spawn_exit_churn: %u actors, %" PRIu64 " reuse checks, max slot %" PRIu64
            ", %" PRIu64 " ms\n", total, reuse, max_slot, test_now_ms() - t0);
}

/* ---- concurrent monitors on dying actors --------------------------------------------- */

#define TARGETS 100
#define WATCHERS 6

typedef struct arena {
    actr_ref_t targets[TARGETS]; /* written by the test thread before each round's T_GO */
    actr_ref_t owner;
} arena_t;

/* target: exits "normal" on T_DIE. */
static int target_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    (void)state;
    if (actr_msg_type(msg) == T_DIE)
        return actr_exit(ctx, ACTR_REASON_NORMAL);
    return 0;
}

static const actr_behavior_t target_beh = {
    .size = sizeof(actr_behavior_t),
    .name = "test.target",
    .receive = target_receive,
};

/* watcher: on T_GO [round] monitors every target of the round; counts one
 * DOWN per target (checking the monitor id and the reason) and reports
 * [round, errors] once all arrived. A DOWN for an unknown actor or a second
 * DOWN for a target is an error (it would show in a later round's report). */
typedef struct watcher {
    arena_t *a;
    int round, downs, errors;
    uint64_t ids[TARGETS];
    uint8_t seen[TARGETS];
} watcher_t;

static int watcher_init(actr_ctx_t *ctx, void *state, const void *args, size_t len)
{
    (void)ctx;
    watcher_t *w = state;
    uint64_t ap = 0;
    int rc = actr_unpack(args, len, "U", &ap);
    w->a = (arena_t *)(uintptr_t)ap;
    return rc;
}

static int watcher_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    watcher_t *w = state;
    int rc;
    if (actr_msg_type(msg) == T_GO) {
        if ((rc = actr_msg_unpack(msg, "[i]", &w->round)) != 0)
            return rc;
        w->downs = 0;
        memset(w->seen, 0, sizeof w->seen);
        for (int i = 0; i < TARGETS; i++)
            if (actr_monitor(ctx, w->a->targets[i], &w->ids[i]) != 0)
                w->errors++;
        return 0;
    }
    if (actr_msg_type(msg) != ACTR_MSG_DOWN)
        return 0;
    actr_ref_t from = actr_msg_from(msg);
    int i = 0;
    while (i < TARGETS && !actr_ref_eq(w->a->targets[i], from))
        i++;
    uint64_t mid = 0;
    const char *r = NULL;
    size_t rlen = 0;
    if (i == TARGETS || w->seen[i] || actr_msg_down(msg, &mid, &r, &rlen) != 0 ||
        mid != w->ids[i]) {
        w->errors++;
        return 0;
    }
    if (!((rlen == 6 && memcmp(r, "normal", 6) == 0) || (rlen == 6 && memcmp(r, "killed", 6) == 0) ||
          (rlen == 6 && memcmp(r, "noproc", 6) == 0)))
        w->errors++;
    w->seen[i] = 1;
    if (++w->downs == TARGETS) {
        actr_msg_t *rep = NULL;
        if ((rc = actr_msg_pack(ctx, T_REPORT, &rep, "[ii]", w->round, w->errors)) != 0)
            return rc;
        return actr_send(ctx, w->a->owner, rep);
    }
    return 0;
}

static const actr_behavior_t watcher_beh = {
    .size = sizeof(actr_behavior_t),
    .name = "test.watcher",
    .state_size = sizeof(watcher_t),
    .init = watcher_init,
    .receive = watcher_receive,
};

typedef struct killer {
    actr_t *rt;
    arena_t *a;
    int parity;
    atomic_int errors;
    pthread_t th;
} killer_t;

/* Kill or stop the targets of one parity from a client of this thread. */
static void *killer_main(void *arg)
{
    killer_t *k = arg;
    actr_ctx_t *c = NULL;
    if (actr_client_open(k->rt, &c) != 0) {
        atomic_fetch_add(&k->errors, 1);
        return NULL;
    }
    for (int i = k->parity; i < TARGETS; i += 2) {
        int rc;
        if (i % 4 < 2) {
            rc = actr_actor_kill(c, k->a->targets[i]);
        } else {
            actr_msg_t *m = NULL;
            rc = actr_msg_new(c, T_DIE, NULL, 0, &m);
            if (rc == 0)
                rc = actr_send(c, k->a->targets[i], m);
        }
        if (rc != 0) {
            fprintf(stderr, "killer: target %d: %s\n", i, actr_err_name(rc));
            atomic_fetch_add(&k->errors, 1);
        }
    }
    actr_client_close(c);
    return NULL;
}

TEST_IMPL(stress, monitors_on_dying_actors)
{
    uint64_t t0 = test_now_ms();
    const int rounds = (int)scaled(200, 1);
    arena_t *a = calloc(1, sizeof *a);
    ASSERT_NOT_NULL(a);
    actr_t *r = NULL;
    actr_options_t o;
    actr_options_init(&o);
    o.log_level = ACTR_LOG_ERROR; /* "killed" is abnormal and would be logged */
    ASSERT_OK(actr_open(&r, &o));
    ASSERT_OK(actr_start(r));
    actr_ctx_t *c = NULL;
    ASSERT_OK(actr_client_open(r, &c));
    a->owner = actr_self(c);
    unsigned char args[32];
    size_t len = 0;
    ASSERT_OK(actr_pack(args, sizeof args, &len, "U", (uint64_t)(uintptr_t)a));
    actr_ref_t w[WATCHERS];
    for (int i = 0; i < WATCHERS; i++)
        ASSERT_OK(actr_spawn(c, &watcher_beh, args, len, NULL, &w[i]));

    uint64_t cids[TARGETS];
    for (int round = 0; round < rounds; round++) {
        /* The client monitors each target as it spawns it... */
        for (int i = 0; i < TARGETS; i++) {
            ASSERT_OK(actr_spawn(c, &target_beh, NULL, 0, NULL, &a->targets[i]));
            ASSERT_OK(actr_monitor(c, a->targets[i], &cids[i]));
        }
        /* ...then the watchers monitor them while two threads kill them. */
        killer_t k[2];
        for (int i = 0; i < 2; i++) {
            k[i].rt = r;
            k[i].a = a;
            k[i].parity = i;
            atomic_init(&k[i].errors, 0);
        }
        for (int i = 0; i < WATCHERS; i++) {
            actr_msg_t *m = NULL;
            ASSERT_OK(actr_msg_pack(c, T_GO, &m, "[i]", round));
            ASSERT_OK(actr_send(c, w[i], m));
            if (i == WATCHERS / 2)
                for (int t = 0; t < 2; t++)
                    ASSERT_EQ(pthread_create(&k[t].th, NULL, killer_main, &k[t]), 0);
        }
        int reports = 0, downs = 0;
        uint8_t seen[TARGETS] = {0};
        while (reports < WATCHERS || downs < TARGETS) {
            actr_msg_t *m = NULL;
            int rc = actr_client_recv(c, WAIT_MS, &m);
            if (rc != 0)
                TEST_FAIL_("round %d: %d reports, %d downs (%s)", round, reports, downs,
                           actr_err_name(rc));
            if (actr_msg_type(m) == T_REPORT) {
                int rr = -1, errors = -1;
                ASSERT_OK(actr_msg_unpack(m, "[ii]", &rr, &errors));
                ASSERT_EQ(rr, round);
                ASSERT_EQ(errors, 0);
                reports++;
            } else {
                ASSERT_EQ(actr_msg_type(m), ACTR_MSG_DOWN);
                actr_ref_t from = actr_msg_from(m);
                int i = 0;
                while (i < TARGETS && !actr_ref_eq(a->targets[i], from))
                    i++;
                ASSERT(i < TARGETS);
                ASSERT_EQ(seen[i], 0);
                seen[i] = 1;
                uint64_t mid = 0;
                const char *reason = NULL;
                size_t rlen = 0;
                ASSERT_OK(actr_msg_down(m, &mid, &reason, &rlen));
                ASSERT_EQ(mid, cids[i]);
                /* The client's monitor was set before the kill. */
                if (i % 4 < 2)
                    ASSERT_MEM_STR(reason, rlen, ACTR_REASON_KILLED);
                else
                    ASSERT_MEM_STR(reason, rlen, ACTR_REASON_NORMAL);
                downs++;
            }
            actr_msg_free(m);
        }
        for (int i = 0; i < 2; i++) {
            ASSERT_EQ(pthread_join(k[i].th, NULL), 0);
            ASSERT_EQ(atomic_load(&k[i].errors), 0);
        }
    }
    /* No stray DOWN for the client after the last round. */
    actr_msg_t *m = NULL;
    ASSERT_ERR(actr_client_recv(c, 0, &m), ACTR_ETIMEDOUT);
    actr_client_close(c);
    actr_close(r);
    free(a);
    fprintf(stderr, "# monitors_on_dying_actors: %d rounds, %" PRIu64 " ms\n", rounds,
            test_now_ms() - t0);
}

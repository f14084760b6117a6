/* test-sched.c — the scheduler seen from actors: an actor never runs on two
 * threads at once, batches keep a flooding actor from starving others, work
 * spreads across workers by stealing, parked workers wake for work injected
 * from outside, and a seeded mix of many actors loses nothing. */
#include <pthread.h>
#include <stdatomic.h>

#include "task.h"

enum { T_WORK = 1, T_FLOOD = 2, T_DONE = 3, T_PING = 4 };

typedef struct {
    _Atomic int running; /* handlers of this actor running right now */
    _Atomic int overlap;
    _Atomic long handled;
    actr_ref_t owner;
    long expect;
} guard_t;

static guard_t *guard_of(const void *args, size_t len)
{
    uint64_t p = 0;
    if (actr_unpack(args, len, "U", &p) != 0)
        return NULL;
    return (guard_t *)(uintptr_t)p;
}

static int guarded_init(actr_ctx_t *ctx, void *state, const void *args, size_t len)
{
    (void)ctx;
    *(guard_t **)state = guard_of(args, len);
    return *(guard_t **)state ? 0 : ACTR_EINVAL;
}

static int guarded_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    guard_t *g = *(guard_t **)state;
    (void)msg;
    if (atomic_fetch_add(&g->running, 1) != 0)
        atomic_fetch_add(&g->overlap, 1);
    /* a little work so that overlapping runs would be caught */
    volatile unsigned x = 0;
    for (unsigned i = 0; i < 200; i++)
        x += i;
    (void)x;
    atomic_fetch_sub(&g->running, 1);
    if (atomic_fetch_add(&g->handled, 1) + 1 == g->expect) {
        actr_msg_t *m;
        if (actr_msg_new(ctx, T_DONE, NULL, 0, &m) == 0)
            return actr_send(ctx, g->owner, m);
    }
    return 0;
}

static const actr_behavior_t guarded_beh = {
    .size = sizeof(actr_behavior_t),
    .name = "test.guarded",
    .state_size = sizeof(guard_t *),
    .init = guarded_init,
    .receive = guarded_receive,
};

static actr_t *open_rt(unsigned workers, unsigned batch, uint32_t limit, actr_ctx_t **c)
{
    actr_options_t o;
    actr_options_init(&o);
    o.workers = workers;
    o.batch = batch;
    o.mailbox_limit = limit;
    actr_t *rt;
    ASSERT_OK(actr_open(&rt, &o));
    ASSERT_OK(actr_start(rt));
    ASSERT_OK(actr_client_open(rt, c));
    return rt;
}

typedef struct {
    actr_t *rt;
    actr_ref_t to;
    int n;
} blaster_t;

static void *blast(void *arg)
{
    blaster_t *b = arg;
    actr_ctx_t *c;
    if (actr_client_open(b->rt, &c) != 0)
        return NULL;
    for (int i = 0; i < b->n;) {
        actr_msg_t *m;
        if (actr_msg_new(c, T_WORK, NULL, 0, &m) != 0)
            break;
        int rc = actr_send(c, b->to, m);
        if (rc == ACTR_EMAILBOX)
            continue;
        if (rc != 0)
            break;
        i++;
    }
    actr_client_close(c);
    return NULL;
}

TEST_IMPL(sched, never_two_threads_at_once)
{
    actr_ctx_t *c;
    /* more workers than cores: preemption mid-handler is likely */
    actr_t *rt = open_rt(4, 3, 0, &c);
    guard_t g = {.owner = actr_self(c), .expect = 4 * 20000};
    uint8_t args[16];
    size_t len;
    ASSERT_OK(actr_pack(args, sizeof(args), &len, "U", (uint64_t)(uintptr_t)&g));
    actr_ref_t a;
    ASSERT_OK(actr_spawn(c, &guarded_beh, args, len, NULL, &a));
    pthread_t th[4];
    blaster_t b = {rt, a, 20000};
    for (int i = 0; i < 4; i++)
        ASSERT_EQ(pthread_create(&th[i], NULL, blast, &b), 0);
    for (int i = 0; i < 4; i++)
        ASSERT_EQ(pthread_join(th[i], NULL), 0);
    actr_msg_t *m;
    ASSERT_OK(actr_client_recv(c, 30000, &m));
    ASSERT_EQ(actr_msg_type(m), T_DONE);
    actr_msg_free(m);
    ASSERT_EQ(atomic_load(&g.overlap), 0);
    ASSERT_EQ(atomic_load(&g.handled), g.expect);
    actr_client_close(c);
    actr_close(rt);
}

/* A flooder keeps sending itself messages forever; a pinger must still be
 * served on a single worker, because batches end and the flooder requeues
 * behind it. */
static int flood_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    (void)state;
    (void)msg;
    actr_msg_t *m;
    for (int i = 0; i < 2; i++) {
        if (actr_msg_new(ctx, T_FLOOD, NULL, 0, &m) != 0)
            return 0;
        (void)actr_send(ctx, actr_self(ctx), m);
    }
    return 0;
}

static const actr_behavior_t flood_beh = {
    .size = sizeof(actr_behavior_t), .name = "test.flood", .receive = flood_receive};

static int echo_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    (void)state;
    actr_msg_t *r;
    if (actr_msg_is_request(msg) && actr_msg_new(ctx, T_PING, NULL, 0, &r) == 0)
        return actr_reply(ctx, msg, r);
    return 0;
}

static const actr_behavior_t echo_beh = {
    .size = sizeof(actr_behavior_t), .name = "test.echo", .receive = echo_receive};

TEST_IMPL(sched, batch_fairness_single_worker)
{
    actr_ctx_t *c;
    actr_t *rt = open_rt(1, 16, 1000, &c);
    actr_ref_t f, e;
    ASSERT_OK(actr_spawn(c, &flood_beh, NULL, 0, NULL, &f));
    ASSERT_OK(actr_spawn(c, &echo_beh, NULL, 0, NULL, &e));
    actr_msg_t *m;
    ASSERT_OK(actr_msg_new(c, T_FLOOD, NULL, 0, &m));
    ASSERT_OK(actr_send(c, f, m));
    for (int i = 0; i < 50; i++) {
        actr_msg_t *r = NULL;
        ASSERT_OK(actr_msg_new(c, T_PING, NULL, 0, &m));
        ASSERT_OK(actr_client_call(c, e, m, 10000, &r));
        actr_msg_free(r);
    }
    ASSERT_OK(actr_actor_kill(c, f));
    actr_client_close(c);
    actr_close(rt);
}

/* One actor spawns many busy children on its worker's run queue: the other
 * worker must steal some of them. */
typedef struct {
    guard_t *g;
    int n, per;
} fanout_t;

static int fanout_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    (void)state;
    fanout_t *f = NULL;
    uint64_t p = 0;
    int rc = actr_msg_unpack(msg, "U", &p);
    if (rc != 0)
        return rc;
    f = (fanout_t *)(uintptr_t)p;
    for (int i = 0; i < f->n; i++) {
        uint8_t args[16];
        size_t len;
        actr_ref_t a;
        if ((rc = actr_pack(args, sizeof(args), &len, "U", (uint64_t)(uintptr_t)&f->g[i])) != 0 ||
            (rc = actr_spawn(ctx, &guarded_beh, args, len, NULL, &a)) != 0)
            return rc;
        for (int k = 0; k < f->per; k++) {
            actr_msg_t *m;
            if ((rc = actr_msg_new(ctx, T_WORK, NULL, 0, &m)) != 0 ||
                (rc = actr_send(ctx, a, m)) != 0)
                return rc;
        }
    }
    return 0;
}

static const actr_behavior_t fanout_beh = {
    .size = sizeof(actr_behavior_t), .name = "test.fanout", .receive = fanout_receive};

TEST_IMPL(sched, work_spreads_by_stealing)
{
    actr_ctx_t *c;
    actr_t *rt = open_rt(2, 0, 0, &c);
    enum { NA = 64, PER = 2000 };
    guard_t g[NA];
    for (int i = 0; i < NA; i++)
        g[i] = (guard_t){.owner = actr_self(c), .expect = PER};
    fanout_t f = {g, NA, PER};
    actr_ref_t fo;
    ASSERT_OK(actr_spawn(c, &fanout_beh, NULL, 0, NULL, &fo));
    actr_msg_t *m;
    ASSERT_OK(actr_msg_pack(c, T_WORK, &m, "U", (uint64_t)(uintptr_t)&f));
    ASSERT_OK(actr_send(c, fo, m));
    for (int i = 0; i < NA; i++) {
        ASSERT_OK(actr_client_recv(c, 30000, &m));
        ASSERT_EQ(actr_msg_type(m), T_DONE);
        actr_msg_free(m);
    }
    actr_stats_t st;
    actr_stats(rt, &st);
    ASSERT_GE(st.steals, 1);
    for (int i = 0; i < NA; i++)
        ASSERT_EQ(atomic_load(&g[i].overlap), 0);
    actr_client_close(c);
    actr_close(rt);
}

/* Idle workers park; a send from a non-worker thread wakes one, repeatedly. */
TEST_IMPL(sched, parked_workers_wake_for_external_work)
{
    actr_ctx_t *c;
    actr_t *rt = open_rt(2, 0, 0, &c);
    actr_ref_t e;
    ASSERT_OK(actr_spawn(c, &echo_beh, NULL, 0, NULL, &e));
    actr_stats_t st;
    for (int round = 0; round < 5; round++) {
        ASSERT_EVENTUALLY((actr_stats(rt, &st), st.workers_parked == st.workers), 5000);
        actr_msg_t *m, *r = NULL;
        ASSERT_OK(actr_msg_new(c, T_PING, NULL, 0, &m));
        ASSERT_OK(actr_client_call(c, e, m, 10000, &r));
        actr_msg_free(r);
    }
    actr_stats(rt, &st);
    ASSERT_GE(st.worker_wakes, 5);
    actr_client_close(c);
    actr_close(rt);
}

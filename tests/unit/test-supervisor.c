/* tests/unit/test-supervisor.c — supervisors (actors/supervisor.c): restart
 * strategies, restart types, intensity, named children, init failures, nesting,
 * which_children and a runtime stop with a supervision tree running.
 *
 * The test thread drives a real runtime through a client context. Children run
 * the `worker` behaviour below: it reports STARTED (with its ref) and TERMINATED
 * (with its reason) to the client, and crashes or exits on command. The client
 * records every event it receives in a log, and tests wait on that log with a
 * deadline (blocking actr_client_recv), never with a fixed sleep.
 */
#include <sched.h>
#include <stdatomic.h>

#include "task.h"

/* child -> client */
#define T_STARTED 1    /* [tag:s, self:r, aux:r] aux = whereis(prev name) or the inner sup */
#define T_TERMINATED 2 /* [tag:s, reason:s] */
#define T_INITFAIL 3   /* [tag:s] */
/* client -> child */
#define T_CRASH 10    /* receive returns an error */
#define T_NORMAL 11   /* exit "normal" */
#define T_EXITWITH 12 /* [reason:s]: exit with that reason */
#define T_SPIN 13     /* busy until g_release is set (a handler that overruns its grace) */

/* worker init flags */
#define W_FAIL_INIT 1   /* init always fails */
#define W_FAIL_BUDGET 2 /* init fails while g_fail_budget > 0 */

#define CRASH_CODE ACTR_ECANCELED
#ifdef ACTR_SANITIZED
#define WAIT_MS 20000
#else
#define WAIT_MS 5000
#endif

static atomic_int g_started;    /* successful worker/proxy inits */
static atomic_int g_terminated; /* worker/proxy terminates */
static atomic_int g_fail_budget;
static atomic_int g_spinning, g_release;
static atomic_int g_log_intensity, g_log_kill;

/* ---- test behaviours ------------------------------------------------------ */

typedef struct worker {
    actr_ref_t client;
    char tag[32];
} worker_t;

static int worker_setup(actr_ctx_t *ctx, worker_t *w, const void *args, size_t len, int *flags,
                        actr_ref_t *aux)
{
    const char *tag, *prev;
    size_t tl, pl;
    char name[64];
    int rc;

    rc = actr_unpack(args, len, "[r s s i]", &w->client, &tag, &tl, &prev, &pl, flags);
    if (rc != 0)
        return rc;
    if (tl >= sizeof w->tag || pl >= sizeof name)
        return ACTR_EINVAL;
    memcpy(w->tag, tag, tl);
    w->tag[tl] = '\0';
    *aux = ACTR_REF_NONE;
    if (pl > 0) {
        memcpy(name, prev, pl);
        name[pl] = '\0';
        if (actr_whereis(ctx, name, aux) != 0)
            *aux = ACTR_REF_NONE;
    }
    return 0;
}

static void notify_started(actr_ctx_t *ctx, const worker_t *w, actr_ref_t aux)
{
    actr_msg_t *m;

    if (actr_msg_pack(ctx, T_STARTED, &m, "[s r r]", w->tag, actr_self(ctx), aux) == 0)
        (void)actr_send(ctx, w->client, m);
}

static int worker_init(actr_ctx_t *ctx, void *state, const void *args, size_t len)
{
    worker_t *w = state;
    actr_ref_t aux;
    actr_msg_t *m;
    int flags, rc;

    rc = worker_setup(ctx, w, args, len, &flags, &aux);
    if (rc != 0)
        return rc;
    if ((flags & W_FAIL_INIT) ||
        ((flags & W_FAIL_BUDGET) && atomic_fetch_sub(&g_fail_budget, 1) > 0)) {
        if (actr_msg_pack(ctx, T_INITFAIL, &m, "[s]", w->tag) == 0)
            (void)actr_send(ctx, w->client, m);
        return CRASH_CODE;
    }
    atomic_fetch_add(&g_started, 1);
    notify_started(ctx, w, aux);
    return 0;
}

static int worker_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    const char *r;
    size_t rl;
    char reason[64];
    uint64_t until;

    (void)state;
    switch (actr_msg_type(msg)) {
    case T_CRASH:
        return CRASH_CODE;
    case T_NORMAL:
        return actr_exit(ctx, ACTR_REASON_NORMAL);
    case T_EXITWITH:
        if (actr_msg_unpack(msg, "s", &r, &rl) != 0 || rl >= sizeof reason)
            return ACTR_EINVAL;
        memcpy(reason, r, rl);
        reason[rl] = '\0';
        return actr_exit(ctx, reason);
    case T_SPIN:
        atomic_store(&g_spinning, 1);
        until = actr_now_ms(ctx) + 10000; /* safety bound only */
        while (!atomic_load(&g_release) && actr_now_ms(ctx) < until)
            sched_yield();
        return 0;
    default:
        return 0;
    }
}

static void worker_terminate(actr_ctx_t *ctx, void *state, const char *reason)
{
    worker_t *w = state;
    actr_msg_t *m;

    atomic_fetch_add(&g_terminated, 1);
    if (actr_msg_pack(ctx, T_TERMINATED, &m, "[s s]", w->tag, reason) == 0)
        (void)actr_send(ctx, w->client, m); /* the client may be gone: ignore */
}

static const actr_behavior_t worker_beh = {
    .size = sizeof(actr_behavior_t),
    .name = "test.worker",
    .state_size = sizeof(worker_t),
    .init = worker_init,
    .receive = worker_receive,
    .terminate = worker_terminate,
};

/* A child that runs a supervisor of its own (nesting through the public API):
 * its init spawns a supervisor for g_inner_spec linked to itself, so the inner
 * supervisor's death takes the proxy down and the proxy's death (e.g. stopped
 * by the outer supervisor) takes the inner tree down. */
static actr_sup_spec_t g_inner_spec;

static int proxy_init(actr_ctx_t *ctx, void *state, const void *args, size_t len)
{
    worker_t *w = state;
    actr_spawn_opts_t o;
    actr_ref_t unused, inner;
    int flags, rc;

    rc = worker_setup(ctx, w, args, len, &flags, &unused);
    if (rc != 0)
        return rc;
    memset(&o, 0, sizeof o);
    o.link = 1;
    rc = actr_supervisor_spawn(ctx, &g_inner_spec, &o, &inner);
    if (rc != 0)
        return rc;
    atomic_fetch_add(&g_started, 1);
    notify_started(ctx, w, inner);
    return 0;
}

static const actr_behavior_t proxy_beh = {
    .size = sizeof(actr_behavior_t),
    .name = "test.sup_proxy",
    .state_size = sizeof(worker_t),
    .init = proxy_init,
    .receive = worker_receive,
    .terminate = worker_terminate,
};

/* An actor that links itself to a given actor (not as its child) and crashes
 * on command. args: [client:r, target:r] */
static int linker_init(actr_ctx_t *ctx, void *state, const void *args, size_t len)
{
    worker_t *w = state;
    actr_ref_t target;
    int rc;

    rc = actr_unpack(args, len, "[r r]", &w->client, &target);
    if (rc != 0)
        return rc;
    strcpy(w->tag, "linker");
    rc = actr_link(ctx, target);
    if (rc != 0)
        return rc;
    atomic_fetch_add(&g_started, 1);
    notify_started(ctx, w, target);
    return 0;
}

static const actr_behavior_t linker_beh = {
    .size = sizeof(actr_behavior_t),
    .name = "test.linker",
    .state_size = sizeof(worker_t),
    .init = linker_init,
    .receive = worker_receive,
    .terminate = worker_terminate,
};

static const actr_behavior_t no_receive_beh = {
    .size = sizeof(actr_behavior_t),
    .name = "test.no_receive",
};

/* ---- the client side: runtime, event log ------------------------------------ */

static void test_log(void *ud, actr_log_level_t level, actr_ref_t actor, const char *line)
{
    (void)ud;
    (void)actor;
    if (strstr(line, "reached max restart intensity") != NULL)
        atomic_store(&g_log_intensity, 1);
    if (strstr(line, "killing") != NULL)
        atomic_store(&g_log_kill, 1);
    if (getenv("ACTR_TEST_LOG") != NULL)
        fprintf(stderr, "[log %d] %s\n", (int)level, line);
}

static actr_t *open_rt(actr_ctx_t **client)
{
    actr_options_t o;
    actr_t *rt;

    actr_options_init(&o);
    o.workers = 2; /* the kill test keeps one worker busy */
    o.log_fn = test_log;
    ASSERT_OK(actr_open(&rt, &o));
    ASSERT_OK(actr_start(rt));
    ASSERT_OK(actr_client_open(rt, client));
    return rt;
}

static void close_rt(actr_t *rt, actr_ctx_t *client)
{
    actr_client_close(client);
    ASSERT_OK(actr_stop(rt));
    ASSERT_OK(actr_wait(rt));
    actr_close(rt);
}

typedef struct ev {
    uint32_t type;
    char tag[32];
    actr_ref_t ref; /* STARTED: the child; DOWN: the dead actor */
    actr_ref_t aux; /* STARTED: see T_STARTED */
    char reason[128];
} ev_t;

static ev_t g_ev[1024];
static size_t g_nev;

static void copy_str(char *dst, size_t cap, const char *s, size_t len)
{
    if (len >= cap)
        len = cap - 1;
    memcpy(dst, s, len);
    dst[len] = '\0';
}

/* Receive one message (waiting up to ms) into the event log. 0 on timeout. */
static int pump(actr_ctx_t *c, int ms)
{
    actr_msg_t *m;
    ev_t *e;
    const char *s, *r;
    size_t sl, rl;
    int rc;

    rc = actr_client_recv(c, ms, &m);
    if (rc == ACTR_ETIMEDOUT)
        return 0;
    ASSERT_OK(rc);
    ASSERT(g_nev < sizeof g_ev / sizeof g_ev[0]);
    e = &g_ev[g_nev++];
    memset(e, 0, sizeof *e);
    e->type = actr_msg_type(m);
    switch (e->type) {
    case T_STARTED:
        ASSERT_OK(actr_msg_unpack(m, "[s r r]", &s, &sl, &e->ref, &e->aux));
        copy_str(e->tag, sizeof e->tag, s, sl);
        break;
    case T_TERMINATED:
        ASSERT_OK(actr_msg_unpack(m, "[s s]", &s, &sl, &r, &rl));
        copy_str(e->tag, sizeof e->tag, s, sl);
        copy_str(e->reason, sizeof e->reason, r, rl);
        break;
    case T_INITFAIL:
        ASSERT_OK(actr_msg_unpack(m, "[s]", &s, &sl));
        copy_str(e->tag, sizeof e->tag, s, sl);
        break;
    case ACTR_MSG_DOWN:
        ASSERT_OK(actr_msg_down(m, NULL, &r, &rl));
        e->ref = actr_msg_from(m);
        copy_str(e->reason, sizeof e->reason, r, rl);
        break;
    default:
        break;
    }
    actr_msg_free(m);
    return 1;
}

static int ev_match(const ev_t *e, uint32_t type, const char *tag)
{
    return e->type == type && (tag == NULL || strcmp(e->tag, tag) == 0);
}

static size_t count_ev(uint32_t type, const char *tag)
{
    size_t i, n = 0;

    for (i = 0; i < g_nev; i++)
        n += (size_t)ev_match(&g_ev[i], type, tag);
    return n;
}

/* Index of the nth (1-based) event of `type` (and `tag` unless NULL), pumping
 * messages until it is there or WAIT_MS pass. */
static size_t wait_ev(actr_ctx_t *c, uint32_t type, const char *tag, size_t nth)
{
    uint64_t deadline = test_now_ms() + WAIT_MS;
    size_t i, seen;

    for (;;) {
        for (i = 0, seen = 0; i < g_nev; i++)
            if (ev_match(&g_ev[i], type, tag) && ++seen == nth)
                return i;
        if (test_now_ms() > deadline)
            TEST_FAIL_("no event #%zu of type %u tag %s within %d ms", nth, (unsigned)type,
                       tag ? tag : "(any)", WAIT_MS);
        (void)pump(c, 50);
    }
}

/* The ref of the nth STARTED event of `tag`. */
static actr_ref_t started_ref(actr_ctx_t *c, const char *tag, size_t nth)
{
    return g_ev[wait_ev(c, T_STARTED, tag, nth)].ref;
}

static void send_cmd(actr_ctx_t *c, actr_ref_t to, uint32_t type)
{
    actr_msg_t *m;

    ASSERT_OK(actr_msg_new(c, type, NULL, 0, &m));
    ASSERT_OK(actr_send(c, to, m));
}

/* Child specs with their init args (kept for the lifetime of the test). */
typedef struct kid {
    actr_child_spec_t spec;
    unsigned char args[256];
} kid_t;

static void mk_kid(kid_t *k, actr_ctx_t *c, const char *id, actr_restart_t restart,
                   const char *name, const char *prev, int flags)
{
    size_t len;

    memset(k, 0, sizeof *k);
    ASSERT_OK(actr_pack(k->args, sizeof k->args, &len, "[r s s i]", actr_self(c), id,
                        prev ? prev : "", flags));
    k->spec.id = id;
    k->spec.beh = &worker_beh;
    k->spec.args = k->args;
    k->spec.args_len = len;
    k->spec.restart = restart;
    k->spec.name = name;
}

/* Spawn a supervisor of kids[0..n) (specs: storage for the spec array). With
 * `mon`, the client monitors it from the spawn on (atomically). */
static actr_ref_t spawn_sup_mon(actr_ctx_t *c, actr_sup_strategy_t strategy, uint32_t intensity,
                                kid_t *kids, size_t n, actr_child_spec_t *specs, uint64_t *mon)
{
    actr_sup_spec_t spec;
    actr_spawn_opts_t o;
    actr_ref_t sup;
    size_t i;

    for (i = 0; i < n; i++)
        specs[i] = kids[i].spec;
    memset(&spec, 0, sizeof spec);
    spec.strategy = strategy;
    spec.intensity = intensity;
    spec.children = specs;
    spec.nchildren = n;
    memset(&o, 0, sizeof o);
    o.monitor_id = mon;
    ASSERT_OK(actr_supervisor_spawn(c, &spec, &o, &sup));
    return sup;
}

static actr_ref_t spawn_sup(actr_ctx_t *c, actr_sup_strategy_t strategy, uint32_t intensity,
                            kid_t *kids, size_t n, actr_child_spec_t *specs)
{
    return spawn_sup_mon(c, strategy, intensity, kids, n, specs, NULL);
}

typedef struct child_info {
    char id[32];
    actr_ref_t ref; /* none when not running */
    uint64_t restarts;
} child_info_t;

/* Ask `sup` for which_children; it must list exactly n children. */
static void which(actr_ctx_t *c, actr_ref_t sup, size_t n, child_info_t *out)
{
    actr_msg_t *m, *reply;
    const void *data, *el;
    size_t len, elen, i, k;
    char fmt[128];
    const char *id;
    size_t idl;
    int rc;

    ASSERT(n + 3 <= sizeof fmt);
    ASSERT_OK(actr_msg_new(c, ACTR_SUP_WHICH_CHILDREN, NULL, 0, &m));
    ASSERT_OK(actr_client_call(c, sup, m, WAIT_MS, &reply));
    ASSERT_EQ(actr_msg_type(reply), ACTR_SUP_WHICH_CHILDREN);
    data = actr_msg_data(reply, &len);
    for (k = 0; k < n; k++) {
        /* "[_*__]" picks element k of an array of exactly n. */
        fmt[0] = '[';
        for (i = 0; i < n; i++)
            fmt[1 + i] = i == k ? '*' : '_';
        fmt[1 + n] = ']';
        fmt[2 + n] = '\0';
        ASSERT_OK(actr_unpack(data, len, fmt, &el, &elen));
        rc = actr_unpack(el, elen, "[s r U]", &id, &idl, &out[k].ref, &out[k].restarts);
        if (rc == ACTR_ETYPE) {
            out[k].ref = ACTR_REF_NONE;
            rc = actr_unpack(el, elen, "[s n U]", &id, &idl, &out[k].restarts);
        }
        ASSERT_OK(rc);
        copy_str(out[k].id, sizeof out[k].id, id, idl);
    }
    if (n == 0)
        ASSERT_OK(actr_unpack(data, len, "[]"));
    actr_msg_free(reply);
}

static int ref_running_in(actr_ctx_t *c, actr_ref_t sup, size_t n, size_t k, actr_ref_t old)
{
    child_info_t ci[16];

    which(c, sup, n, ci);
    return !actr_ref_eq(ci[k].ref, old);
}

/* ---- tests ------------------------------------------------------------------ */

TEST_IMPL(supervisor, bad_spec)
{
    actr_ctx_t *c;
    actr_t *rt = open_rt(&c);
    kid_t k[2];
    actr_child_spec_t specs[2];
    actr_sup_spec_t spec;
    actr_spawn_opts_t o;
    actr_ref_t sup, sup2;

    mk_kid(&k[0], c, "a", ACTR_PERMANENT, NULL, NULL, 0);
    mk_kid(&k[1], c, "b", ACTR_PERMANENT, NULL, NULL, 0);
    memset(&spec, 0, sizeof spec);
    spec.children = specs;
    spec.nchildren = 2;

#define RESET() (specs[0] = k[0].spec, specs[1] = k[1].spec, spec.strategy = ACTR_ONE_FOR_ONE)
    RESET();
    ASSERT_ERR(actr_supervisor_spawn(c, NULL, NULL, &sup), ACTR_EINVAL);
    ASSERT_ERR(actr_supervisor_spawn(c, &spec, NULL, NULL), ACTR_EINVAL);
    specs[1].beh = NULL;
    ASSERT_ERR(actr_supervisor_spawn(c, &spec, NULL, &sup), ACTR_EINVAL);
    RESET();
    specs[1].beh = &no_receive_beh;
    ASSERT_ERR(actr_supervisor_spawn(c, &spec, NULL, &sup), ACTR_EINVAL);
    RESET();
    specs[0].id = NULL;
    ASSERT_ERR(actr_supervisor_spawn(c, &spec, NULL, &sup), ACTR_EINVAL);
    RESET();
    specs[1].id = "a";
    ASSERT_ERR(actr_supervisor_spawn(c, &spec, NULL, &sup), ACTR_EINVAL);
    RESET();
    spec.strategy = (actr_sup_strategy_t)7;
    ASSERT_ERR(actr_supervisor_spawn(c, &spec, NULL, &sup), ACTR_EINVAL);
    RESET();
    specs[0].restart = (actr_restart_t)3;
    ASSERT_ERR(actr_supervisor_spawn(c, &spec, NULL, &sup), ACTR_EINVAL);
    RESET();
    specs[0].args = NULL; /* args_len > 0 without args */
    ASSERT_ERR(actr_supervisor_spawn(c, &spec, NULL, &sup), ACTR_EINVAL);
    RESET();
    specs[0].name = specs[1].name = "same";
    ASSERT_ERR(actr_supervisor_spawn(c, &spec, NULL, &sup), ACTR_EINVAL);
    RESET();
    spec.children = NULL;
    ASSERT_ERR(actr_supervisor_spawn(c, &spec, NULL, &sup), ACTR_EINVAL);
    spec.children = specs;
#undef RESET
    ASSERT_EQ(g_nev, 0);
    ASSERT_EQ(atomic_load(&g_started), 0);

    /* A valid spec under a taken supervisor name: the actr_spawn error. */
    specs[0] = k[0].spec;
    specs[1] = k[1].spec;
    memset(&o, 0, sizeof o);
    o.name = "the-sup";
    ASSERT_OK(actr_supervisor_spawn(c, &spec, &o, &sup));
    ASSERT_ERR(actr_supervisor_spawn(c, &spec, &o, &sup2), ACTR_EEXIST);
    (void)started_ref(c, "a", 1);
    (void)started_ref(c, "b", 1);
    ASSERT_OK(actr_whereis(c, "the-sup", &sup2));
    ASSERT(actr_ref_eq(sup, sup2));

    /* An empty supervisor is fine and lists no children. */
    spec.nchildren = 0;
    spec.children = NULL;
    ASSERT_OK(actr_supervisor_spawn(c, &spec, NULL, &sup2));
    which(c, sup2, 0, NULL);
    close_rt(rt, c);
}

TEST_IMPL(supervisor, one_for_one)
{
    actr_ctx_t *c;
    actr_t *rt = open_rt(&c);
    kid_t k[3];
    actr_child_spec_t specs[3];
    child_info_t ci[3];
    actr_ref_t sup, a, b, b2, cc;
    size_t t;

    mk_kid(&k[0], c, "a", ACTR_PERMANENT, NULL, NULL, 0);
    mk_kid(&k[1], c, "b", ACTR_PERMANENT, NULL, NULL, 0);
    mk_kid(&k[2], c, "c", ACTR_PERMANENT, NULL, NULL, 0);
    sup = spawn_sup(c, ACTR_ONE_FOR_ONE, 3, k, 3, specs);
    a = started_ref(c, "a", 1);
    b = started_ref(c, "b", 1);
    cc = started_ref(c, "c", 1);

    which(c, sup, 3, ci);
    ASSERT_STR_EQ(ci[0].id, "a");
    ASSERT_STR_EQ(ci[1].id, "b");
    ASSERT_STR_EQ(ci[2].id, "c");
    ASSERT(actr_ref_eq(ci[0].ref, a) && actr_ref_eq(ci[1].ref, b) && actr_ref_eq(ci[2].ref, cc));
    ASSERT_EQ(ci[0].restarts + ci[1].restarts + ci[2].restarts, 0);

    send_cmd(c, b, T_CRASH);
    t = wait_ev(c, T_TERMINATED, "b", 1);
    ASSERT_STR_EQ(g_ev[t].reason, actr_err_name(CRASH_CODE));
    b2 = started_ref(c, "b", 2);
    ASSERT(!actr_ref_eq(b, b2));
    ASSERT(!actr_is_alive(c, b));

    which(c, sup, 3, ci);
    ASSERT(actr_ref_eq(ci[0].ref, a));
    ASSERT(actr_ref_eq(ci[1].ref, b2));
    ASSERT(actr_ref_eq(ci[2].ref, cc));
    ASSERT_EQ(ci[0].restarts, 0);
    ASSERT_EQ(ci[1].restarts, 1);
    ASSERT_EQ(ci[2].restarts, 0);
    ASSERT_EQ(count_ev(T_STARTED, NULL), 4);
    ASSERT_EQ(count_ev(T_TERMINATED, NULL), 1);

    /* A permanent child that exits normally is restarted too. */
    send_cmd(c, a, T_NORMAL);
    ASSERT(!actr_ref_eq(started_ref(c, "a", 2), a));
    ASSERT_EQ(count_ev(T_STARTED, "c"), 1);
    close_rt(rt, c);
}

TEST_IMPL(supervisor, one_for_all)
{
    actr_ctx_t *c;
    actr_t *rt = open_rt(&c);
    kid_t k[3];
    actr_child_spec_t specs[3];
    child_info_t ci[3];
    actr_ref_t sup, a, b, cc, a2, b2, c2;
    size_t tb, ta, tc, i;
    uint64_t mon;

    /* Named so each child's init can see that its elder sibling was started
     * before it (aux = whereis(previous name)). */
    mk_kid(&k[0], c, "a", ACTR_PERMANENT, "ofa-a", NULL, 0);
    mk_kid(&k[1], c, "b", ACTR_PERMANENT, "ofa-b", "ofa-a", 0);
    mk_kid(&k[2], c, "c", ACTR_TRANSIENT, "ofa-c", "ofa-b", 0);
    /* intensity 1: the siblings stopped by the supervisor must not count. */
    sup = spawn_sup_mon(c, ACTR_ONE_FOR_ALL, 1, k, 3, specs, &mon);
    a = started_ref(c, "a", 1);
    b = started_ref(c, "b", 1);
    cc = started_ref(c, "c", 1);

    send_cmd(c, b, T_CRASH);
    a2 = started_ref(c, "a", 2);
    b2 = started_ref(c, "b", 2);
    c2 = started_ref(c, "c", 2);
    ASSERT(!actr_ref_eq(a, a2) && !actr_ref_eq(b, b2) && !actr_ref_eq(cc, c2));
    /* restart order: a before b before c */
    ASSERT(actr_ref_eq(g_ev[wait_ev(c, T_STARTED, "b", 2)].aux, a2));
    ASSERT(actr_ref_eq(g_ev[wait_ev(c, T_STARTED, "c", 2)].aux, b2));

    /* b crashed; then c and a were stopped, in reverse order; all before any restart */
    tb = wait_ev(c, T_TERMINATED, "b", 1);
    tc = wait_ev(c, T_TERMINATED, "c", 1);
    ta = wait_ev(c, T_TERMINATED, "a", 1);
    ASSERT_STR_EQ(g_ev[tb].reason, actr_err_name(CRASH_CODE));
    ASSERT_STR_EQ(g_ev[tc].reason, "shutdown");
    ASSERT_STR_EQ(g_ev[ta].reason, "shutdown");
    ASSERT(tb < tc && tc < ta);
    for (i = 0; i < g_nev; i++)
        if (g_ev[i].type == T_STARTED && !actr_ref_eq(g_ev[i].ref, a) &&
            !actr_ref_eq(g_ev[i].ref, b) && !actr_ref_eq(g_ev[i].ref, cc))
            ASSERT(i > ta);

    which(c, sup, 3, ci);
    ASSERT(actr_ref_eq(ci[0].ref, a2) && actr_ref_eq(ci[1].ref, b2) && actr_ref_eq(ci[2].ref, c2));
    ASSERT_EQ(ci[0].restarts, 1);
    ASSERT_EQ(ci[1].restarts, 1);
    ASSERT_EQ(ci[2].restarts, 1);
    ASSERT_OK(actr_whereis(c, "ofa-b", &b));
    ASSERT(actr_ref_eq(b, b2));

    /* A transient child that exits normally triggers nothing. */
    send_cmd(c, c2, T_NORMAL);
    ASSERT_EVENTUALLY(ref_running_in(c, sup, 3, 2, c2), WAIT_MS);
    which(c, sup, 3, ci);
    ASSERT(actr_ref_is_none(ci[2].ref));
    ASSERT(actr_ref_eq(ci[0].ref, a2) && actr_ref_eq(ci[1].ref, b2));
    ASSERT_EQ(count_ev(ACTR_MSG_DOWN, NULL), 0);
    close_rt(rt, c);
}

TEST_IMPL(supervisor, rest_for_one)
{
    actr_ctx_t *c;
    actr_t *rt = open_rt(&c);
    kid_t k[4];
    actr_child_spec_t specs[4];
    child_info_t ci[4];
    actr_ref_t sup, a, b, cc, d, b2, c2, d2;
    size_t tb, tc, td;

    mk_kid(&k[0], c, "a", ACTR_PERMANENT, "rfo-a", NULL, 0);
    mk_kid(&k[1], c, "b", ACTR_PERMANENT, "rfo-b", "rfo-a", 0);
    mk_kid(&k[2], c, "c", ACTR_PERMANENT, "rfo-c", "rfo-b", 0);
    mk_kid(&k[3], c, "d", ACTR_PERMANENT, "rfo-d", "rfo-c", 0);
    sup = spawn_sup(c, ACTR_REST_FOR_ONE, 2, k, 4, specs);
    a = started_ref(c, "a", 1);
    b = started_ref(c, "b", 1);
    cc = started_ref(c, "c", 1);
    d = started_ref(c, "d", 1);

    send_cmd(c, b, T_CRASH);
    b2 = started_ref(c, "b", 2);
    c2 = started_ref(c, "c", 2);
    d2 = started_ref(c, "d", 2);
    ASSERT(!actr_ref_eq(b, b2) && !actr_ref_eq(cc, c2) && !actr_ref_eq(d, d2));
    ASSERT(actr_ref_eq(g_ev[wait_ev(c, T_STARTED, "b", 2)].aux, a)); /* a kept */
    ASSERT(actr_ref_eq(g_ev[wait_ev(c, T_STARTED, "c", 2)].aux, b2));
    ASSERT(actr_ref_eq(g_ev[wait_ev(c, T_STARTED, "d", 2)].aux, c2));
    tb = wait_ev(c, T_TERMINATED, "b", 1);
    td = wait_ev(c, T_TERMINATED, "d", 1);
    tc = wait_ev(c, T_TERMINATED, "c", 1);
    ASSERT(tb < td && td < tc);
    ASSERT_STR_EQ(g_ev[td].reason, "shutdown");

    which(c, sup, 4, ci);
    ASSERT(actr_ref_eq(ci[0].ref, a));
    ASSERT(actr_ref_eq(ci[1].ref, b2) && actr_ref_eq(ci[2].ref, c2) && actr_ref_eq(ci[3].ref, d2));
    ASSERT_EQ(ci[0].restarts, 0);
    ASSERT_EQ(ci[3].restarts, 1);
    ASSERT_EQ(count_ev(T_STARTED, "a"), 1);
    ASSERT_EQ(count_ev(T_TERMINATED, "a"), 0);

    /* The last child's crash restarts only itself. */
    send_cmd(c, d2, T_CRASH);
    (void)started_ref(c, "d", 3);
    ASSERT_EQ(count_ev(T_STARTED, "c"), 2);
    close_rt(rt, c);
}

TEST_IMPL(supervisor, transient_and_temporary)
{
    actr_ctx_t *c;
    actr_t *rt = open_rt(&c);
    kid_t k[4];
    actr_child_spec_t specs[4];
    child_info_t ci[4];
    actr_msg_t *m;
    actr_ref_t sup, t, t2, s, tmp, keep;

    mk_kid(&k[0], c, "t", ACTR_TRANSIENT, NULL, NULL, 0);
    mk_kid(&k[1], c, "s", ACTR_TRANSIENT, NULL, NULL, 0);
    mk_kid(&k[2], c, "tmp", ACTR_TEMPORARY, NULL, NULL, 0);
    mk_kid(&k[3], c, "keep", ACTR_PERMANENT, NULL, NULL, 0);
    sup = spawn_sup(c, ACTR_ONE_FOR_ALL, 5, k, 4, specs);
    t = started_ref(c, "t", 1);
    s = started_ref(c, "s", 1);
    tmp = started_ref(c, "tmp", 1);
    keep = started_ref(c, "keep", 1);

    /* transient + crash: restarted (one_for_all: the temporary sibling is
     * stopped and not restarted) */
    send_cmd(c, t, T_CRASH);
    t2 = started_ref(c, "t", 2);
    s = started_ref(c, "s", 2);
    keep = started_ref(c, "keep", 2);
    ASSERT_STR_EQ(g_ev[wait_ev(c, T_TERMINATED, "tmp", 1)].reason, "shutdown");
    which(c, sup, 4, ci);
    ASSERT(actr_ref_eq(ci[0].ref, t2));
    ASSERT(actr_ref_is_none(ci[2].ref));
    ASSERT_EQ(count_ev(T_STARTED, "tmp"), 1);

    /* transient + "normal": not restarted, nothing else happens */
    send_cmd(c, t2, T_NORMAL);
    ASSERT_EVENTUALLY(ref_running_in(c, sup, 4, 0, t2), WAIT_MS);
    which(c, sup, 4, ci);
    ASSERT(actr_ref_is_none(ci[0].ref));
    ASSERT(actr_ref_eq(ci[1].ref, s) && actr_ref_eq(ci[3].ref, keep));

    /* transient + "shutdown": not restarted */
    ASSERT_OK(actr_msg_pack(c, T_EXITWITH, &m, "s", "shutdown"));
    ASSERT_OK(actr_send(c, s, m));
    ASSERT_EVENTUALLY(ref_running_in(c, sup, 4, 1, s), WAIT_MS);
    which(c, sup, 4, ci);
    ASSERT(actr_ref_is_none(ci[1].ref));
    ASSERT(actr_ref_eq(ci[3].ref, keep));
    ASSERT_EQ(count_ev(T_STARTED, "t"), 2);
    ASSERT_EQ(count_ev(T_STARTED, "s"), 2);

    ASSERT_EQ(count_ev(T_STARTED, "tmp"), 1);
    close_rt(rt, c);

    /* temporary + crash: never restarted, siblings untouched */
    rt = open_rt(&c);
    g_nev = 0;
    mk_kid(&k[0], c, "tmp", ACTR_TEMPORARY, NULL, NULL, 0);
    mk_kid(&k[1], c, "keep", ACTR_PERMANENT, NULL, NULL, 0);
    sup = spawn_sup(c, ACTR_ONE_FOR_ALL, 5, k, 2, specs);
    tmp = started_ref(c, "tmp", 1);
    keep = started_ref(c, "keep", 1);
    send_cmd(c, tmp, T_CRASH);
    ASSERT_EVENTUALLY(ref_running_in(c, sup, 2, 0, tmp), WAIT_MS);
    which(c, sup, 2, ci);
    ASSERT(actr_ref_is_none(ci[0].ref));
    ASSERT(actr_ref_eq(ci[1].ref, keep));
    ASSERT_EQ(ci[0].restarts, 0);
    ASSERT_EQ(count_ev(T_TERMINATED, "keep"), 0);
    close_rt(rt, c);
}

TEST_IMPL(supervisor, intensity)
{
    actr_ctx_t *c;
    actr_t *rt = open_rt(&c);
    kid_t k[3];
    actr_child_spec_t specs[3];
    actr_ref_t sup, x;
    uint64_t mon;
    size_t down, ta, tc, tx;
    int i;

    mk_kid(&k[0], c, "a", ACTR_PERMANENT, NULL, NULL, 0);
    mk_kid(&k[1], c, "x", ACTR_PERMANENT, NULL, NULL, 0);
    mk_kid(&k[2], c, "c", ACTR_PERMANENT, NULL, NULL, 0);
    sup = spawn_sup_mon(c, ACTR_ONE_FOR_ONE, 2, k, 3, specs, &mon); /* period 0 = 5000 ms */
    for (i = 1; i <= 3; i++) {
        x = started_ref(c, "x", (size_t)i);
        send_cmd(c, x, T_CRASH);
    }
    /* the third crash would be the third restart within the period */
    down = wait_ev(c, ACTR_MSG_DOWN, NULL, 1);
    ASSERT(actr_ref_eq(g_ev[down].ref, sup));
    ASSERT_STR_EQ(g_ev[down].reason, "shutdown");
    ASSERT_EQ(atomic_load(&g_log_intensity), 1);
    ASSERT_EQ(count_ev(T_STARTED, "x"), 3);
    /* the remaining children were stopped, youngest first, before the exit */
    tx = wait_ev(c, T_TERMINATED, "x", 3);
    tc = wait_ev(c, T_TERMINATED, "c", 1);
    ta = wait_ev(c, T_TERMINATED, "a", 1);
    ASSERT(tx < tc && tc < ta && ta < down);
    ASSERT_STR_EQ(g_ev[tc].reason, "shutdown");
    ASSERT(!actr_is_alive(c, sup));
    ASSERT_EQ(atomic_load(&g_terminated), atomic_load(&g_started));
    close_rt(rt, c);
}

TEST_IMPL(supervisor, intensity_zero)
{
    actr_ctx_t *c;
    actr_t *rt = open_rt(&c);
    kid_t k[1];
    actr_child_spec_t specs[1];
    actr_ref_t sup;
    uint64_t mon;
    size_t t;

    mk_kid(&k[0], c, "x", ACTR_PERMANENT, NULL, NULL, 0);
    sup = spawn_sup_mon(c, ACTR_ONE_FOR_ONE, 0, k, 1, specs, &mon);
    send_cmd(c, started_ref(c, "x", 1), T_CRASH);
    t = wait_ev(c, ACTR_MSG_DOWN, NULL, 1);
    ASSERT(actr_ref_eq(g_ev[t].ref, sup));
    ASSERT_STR_EQ(g_ev[t].reason, "shutdown");
    ASSERT_EQ(count_ev(T_STARTED, "x"), 1);
    close_rt(rt, c);
}

TEST_IMPL(supervisor, named_child_reregistered)
{
    actr_ctx_t *c;
    actr_t *rt = open_rt(&c);
    kid_t k[2];
    actr_child_spec_t specs[2];
    actr_ref_t sup, n1, n2, found;
    int i;

    mk_kid(&k[0], c, "named", ACTR_PERMANENT, "svc.named", NULL, 0);
    mk_kid(&k[1], c, "other", ACTR_PERMANENT, "svc.other", NULL, 0);
    sup = spawn_sup(c, ACTR_ONE_FOR_ONE, 10, k, 2, specs);
    (void)sup;
    n1 = started_ref(c, "named", 1);
    ASSERT_OK(actr_whereis(c, "svc.named", &found));
    ASSERT(actr_ref_eq(found, n1));
    for (i = 2; i <= 4; i++) {
        /* through the name, so each crash goes to the current incarnation */
        actr_msg_t *m;
        ASSERT_OK(actr_msg_new(c, T_CRASH, NULL, 0, &m));
        ASSERT_OK(actr_send_name(c, "svc.named", m));
        n2 = started_ref(c, "named", (size_t)i);
        ASSERT(!actr_ref_eq(n1, n2));
        ASSERT_OK(actr_whereis(c, "svc.named", &found));
        ASSERT(actr_ref_eq(found, n2));
        n1 = n2;
    }
    close_rt(rt, c);
}

TEST_IMPL(supervisor, child_init_fails)
{
    actr_ctx_t *c;
    actr_t *rt = open_rt(&c);
    kid_t k[2];
    actr_child_spec_t specs[2];
    child_info_t ci[2];
    actr_ref_t sup, other;
    uint64_t mon;

    /* fails twice, then starts: two crashes, two restarts */
    atomic_store(&g_fail_budget, 2);
    mk_kid(&k[0], c, "other", ACTR_PERMANENT, NULL, NULL, 0);
    mk_kid(&k[1], c, "flaky", ACTR_PERMANENT, NULL, NULL, W_FAIL_BUDGET);
    sup = spawn_sup(c, ACTR_ONE_FOR_ONE, 3, k, 2, specs);
    other = started_ref(c, "other", 1);
    (void)started_ref(c, "flaky", 1);
    ASSERT_EQ(count_ev(T_INITFAIL, "flaky"), 2);
    which(c, sup, 2, ci);
    ASSERT(actr_ref_eq(ci[0].ref, other));
    ASSERT_EQ(ci[1].restarts, 2);
    close_rt(rt, c);

    /* always fails: the supervisor gives up */
    rt = open_rt(&c);
    g_nev = 0;
    mk_kid(&k[0], c, "other", ACTR_PERMANENT, NULL, NULL, 0);
    mk_kid(&k[1], c, "broken", ACTR_PERMANENT, NULL, NULL, W_FAIL_INIT);
    sup = spawn_sup_mon(c, ACTR_ONE_FOR_ONE, 3, k, 2, specs, &mon);
    ASSERT_STR_EQ(g_ev[wait_ev(c, ACTR_MSG_DOWN, NULL, 1)].reason, "shutdown");
    ASSERT_EQ(count_ev(T_INITFAIL, "broken"), 4); /* first start + 3 restarts */
    ASSERT_STR_EQ(g_ev[wait_ev(c, T_TERMINATED, "other", 1)].reason, "shutdown");
    close_rt(rt, c);
}

TEST_IMPL(supervisor, child_spawn_fails_in_init)
{
    actr_ctx_t *c;
    actr_t *rt = open_rt(&c);
    kid_t k[3];
    actr_child_spec_t specs[3];
    actr_sup_spec_t spec;
    actr_spawn_opts_t o;
    actr_ref_t holder, sup;
    uint64_t mon;
    size_t down;

    /* Someone else holds the third child's name: the supervisor's init fails
     * and the children it had started are stopped. */
    mk_kid(&k[0], c, "holder", ACTR_PERMANENT, NULL, NULL, 0);
    memset(&o, 0, sizeof o);
    o.name = "taken";
    ASSERT_OK(actr_spawn(c, &worker_beh, k[0].spec.args, k[0].spec.args_len, &o, &holder));
    (void)started_ref(c, "holder", 1);

    mk_kid(&k[0], c, "a", ACTR_PERMANENT, NULL, NULL, 0);
    mk_kid(&k[1], c, "b", ACTR_PERMANENT, NULL, NULL, 0);
    mk_kid(&k[2], c, "c", ACTR_PERMANENT, "taken", NULL, 0);
    specs[0] = k[0].spec;
    specs[1] = k[1].spec;
    specs[2] = k[2].spec;
    memset(&spec, 0, sizeof spec);
    spec.strategy = ACTR_ONE_FOR_ONE;
    spec.intensity = 5;
    spec.children = specs;
    spec.nchildren = 3;
    memset(&o, 0, sizeof o);
    o.monitor_id = &mon;
    ASSERT_OK(actr_supervisor_spawn(c, &spec, &o, &sup));
    down = wait_ev(c, ACTR_MSG_DOWN, NULL, 1);
    ASSERT(actr_ref_eq(g_ev[down].ref, sup));
    ASSERT_STR_EQ(g_ev[down].reason, actr_err_name(ACTR_EEXIST));
    (void)wait_ev(c, T_TERMINATED, "a", 1);
    (void)wait_ev(c, T_TERMINATED, "b", 1);
    ASSERT_EQ(count_ev(T_STARTED, "c"), 0);
    ASSERT(actr_is_alive(c, holder));
    close_rt(rt, c);
}

TEST_IMPL(supervisor, shutdown_timeout_kills)
{
    actr_ctx_t *c;
    actr_t *rt = open_rt(&c);
    kid_t k[2];
    actr_child_spec_t specs[2];
    actr_ref_t slow, b;
    size_t t;

    mk_kid(&k[0], c, "slow", ACTR_PERMANENT, NULL, NULL, 0);
    k[0].spec.shutdown_ms = 30;
    mk_kid(&k[1], c, "b", ACTR_PERMANENT, NULL, NULL, 0);
    (void)spawn_sup(c, ACTR_ONE_FOR_ALL, 5, k, 2, specs);
    slow = started_ref(c, "slow", 1);
    b = started_ref(c, "b", 1);
    /* slow is busy in a handler, with another message queued behind it */
    send_cmd(c, slow, T_SPIN);
    send_cmd(c, slow, T_SPIN);
    ASSERT_EVENTUALLY(atomic_load(&g_spinning), WAIT_MS);
    send_cmd(c, b, T_CRASH);
    /* the supervisor asks slow to stop, waits 30 ms, then kills it */
    ASSERT_EVENTUALLY(atomic_load(&g_log_kill), WAIT_MS);
    atomic_store(&g_release, 1);
    t = wait_ev(c, T_TERMINATED, "slow", 1);
    ASSERT_STR_EQ(g_ev[t].reason, "killed");
    ASSERT(!actr_ref_eq(started_ref(c, "slow", 2), slow));
    ASSERT(!actr_ref_eq(started_ref(c, "b", 2), b));
    close_rt(rt, c);
}

TEST_IMPL(supervisor, linked_non_child_exit)
{
    actr_ctx_t *c;
    actr_t *rt = open_rt(&c);
    kid_t k[2];
    actr_child_spec_t specs[2];
    unsigned char args[64];
    size_t len, down, tl, ta, tb;
    actr_ref_t sup, linker;
    uint64_t mon;

    mk_kid(&k[0], c, "a", ACTR_PERMANENT, NULL, NULL, 0);
    mk_kid(&k[1], c, "b", ACTR_PERMANENT, NULL, NULL, 0);
    sup = spawn_sup_mon(c, ACTR_ONE_FOR_ONE, 5, k, 2, specs, &mon);
    (void)started_ref(c, "a", 1);
    (void)started_ref(c, "b", 1);
    ASSERT_OK(actr_pack(args, sizeof args, &len, "[r r]", actr_self(c), sup));
    ASSERT_OK(actr_spawn(c, &linker_beh, args, len, NULL, &linker));
    (void)started_ref(c, "linker", 1);

    /* a normal exit of a linked non-child is ignored */
    send_cmd(c, linker, T_NORMAL);
    (void)wait_ev(c, T_TERMINATED, "linker", 1);
    ASSERT_OK(actr_spawn(c, &linker_beh, args, len, NULL, &linker));
    (void)started_ref(c, "linker", 2);
    ASSERT(actr_is_alive(c, sup));

    /* a crash takes the tree down with the same reason */
    send_cmd(c, linker, T_CRASH);
    down = wait_ev(c, ACTR_MSG_DOWN, NULL, 1);
    ASSERT_STR_EQ(g_ev[down].reason, actr_err_name(CRASH_CODE));
    tl = wait_ev(c, T_TERMINATED, "linker", 2);
    tb = wait_ev(c, T_TERMINATED, "b", 1);
    ta = wait_ev(c, T_TERMINATED, "a", 1);
    ASSERT(tl < tb && tb < ta && ta < down);
    ASSERT_EQ(count_ev(T_STARTED, "a"), 1);
    close_rt(rt, c);
}

static void setup_nested(actr_ctx_t *c, kid_t *outer, kid_t *inner, actr_child_spec_t *ispecs,
                         uint32_t inner_intensity)
{
    mk_kid(&inner[0], c, "g1", ACTR_PERMANENT, NULL, NULL, 0);
    mk_kid(&inner[1], c, "g2", ACTR_PERMANENT, NULL, NULL, 0);
    ispecs[0] = inner[0].spec;
    ispecs[1] = inner[1].spec;
    memset(&g_inner_spec, 0, sizeof g_inner_spec);
    g_inner_spec.strategy = ACTR_ONE_FOR_ONE;
    g_inner_spec.intensity = inner_intensity;
    g_inner_spec.children = ispecs;
    g_inner_spec.nchildren = 2;
    mk_kid(&outer[0], c, "x", ACTR_PERMANENT, NULL, NULL, 0);
    mk_kid(&outer[1], c, "inner", ACTR_PERMANENT, NULL, NULL, 0);
    outer[1].spec.beh = &proxy_beh;
    mk_kid(&outer[2], c, "y", ACTR_PERMANENT, NULL, NULL, 0);
}

TEST_IMPL(supervisor, nested)
{
    actr_ctx_t *c;
    actr_t *rt = open_rt(&c);
    kid_t outer[3], inner[2];
    actr_child_spec_t ospecs[3], ispecs[2];
    child_info_t ci[3];
    actr_ref_t sup, x, y, proxy, isup, g1, g2, isup2;
    size_t t;

    setup_nested(c, outer, inner, ispecs, 1);
    sup = spawn_sup(c, ACTR_ONE_FOR_ONE, 3, outer, 3, ospecs);
    x = started_ref(c, "x", 1);
    y = started_ref(c, "y", 1);
    t = wait_ev(c, T_STARTED, "inner", 1);
    proxy = g_ev[t].ref;
    isup = g_ev[t].aux;
    g1 = started_ref(c, "g1", 1);
    g2 = started_ref(c, "g2", 1);

    /* a grandchild crash is handled by the inner supervisor alone */
    send_cmd(c, g1, T_CRASH);
    ASSERT(!actr_ref_eq(started_ref(c, "g1", 2), g1));
    which(c, isup, 2, ci);
    ASSERT(actr_ref_eq(ci[1].ref, g2));
    ASSERT_EQ(ci[0].restarts, 1);
    which(c, sup, 3, ci);
    ASSERT(actr_ref_eq(ci[1].ref, proxy));
    ASSERT_EQ(ci[1].restarts, 0);

    /* the inner supervisor gives up (intensity 1): the outer one restarts that
     * subtree, with fresh grandchildren, and leaves x and y alone */
    send_cmd(c, g2, T_CRASH);
    t = wait_ev(c, T_STARTED, "inner", 2);
    isup2 = g_ev[t].aux;
    ASSERT(!actr_ref_eq(g_ev[t].ref, proxy));
    ASSERT(!actr_ref_eq(isup2, isup));
    (void)started_ref(c, "g1", 3);
    (void)started_ref(c, "g2", 2);
    ASSERT(!actr_is_alive(c, isup));
    which(c, sup, 3, ci);
    ASSERT(actr_ref_eq(ci[0].ref, x) && actr_ref_eq(ci[2].ref, y));
    ASSERT_EQ(ci[1].restarts, 1);
    which(c, isup2, 2, ci);
    ASSERT_EQ(ci[0].restarts + ci[1].restarts, 0);
    close_rt(rt, c);
}

TEST_IMPL(supervisor, runtime_stop_with_tree)
{
    actr_ctx_t *c;
    actr_t *rt = open_rt(&c);
    kid_t outer[3], inner[2];
    actr_child_spec_t ospecs[3], ispecs[2];
    actr_spawn_opts_t o;
    actr_sup_spec_t spec;

    setup_nested(c, outer, inner, ispecs, 3);
    outer[0].spec.name = "tree.x";
    ospecs[0] = outer[0].spec;
    ospecs[1] = outer[1].spec;
    ospecs[2] = outer[2].spec;
    memset(&spec, 0, sizeof spec);
    spec.strategy = ACTR_REST_FOR_ONE;
    spec.intensity = 3;
    spec.children = ospecs;
    spec.nchildren = 3;
    memset(&o, 0, sizeof o);
    o.name = "tree";
    {
        actr_ref_t sup;
        ASSERT_OK(actr_supervisor_spawn(c, &spec, &o, &sup));
    }
    (void)started_ref(c, "x", 1);
    (void)started_ref(c, "inner", 1);
    (void)started_ref(c, "y", 1);
    (void)started_ref(c, "g1", 1);
    (void)started_ref(c, "g2", 1);
    ASSERT_EQ(atomic_load(&g_started), 5);

    /* every started child's terminate runs; nothing is left (ASan checks) */
    actr_client_close(c);
    ASSERT_OK(actr_stop(rt));
    ASSERT_OK(actr_wait(rt));
    ASSERT_EQ(atomic_load(&g_terminated), atomic_load(&g_started));
    actr_close(rt);
}

TEST_IMPL(supervisor, many_children)
{
    enum { N = 40 };
    actr_ctx_t *c;
    actr_t *rt = open_rt(&c);
    static kid_t k[N];
    static actr_child_spec_t specs[N];
    static char ids[N][8];
    child_info_t ci[N];
    actr_ref_t sup, r;
    size_t i;

    for (i = 0; i < N; i++) {
        snprintf(ids[i], sizeof ids[i], "k%zu", i);
        mk_kid(&k[i], c, ids[i], ACTR_PERMANENT, NULL, NULL, 0);
    }
    sup = spawn_sup(c, ACTR_ONE_FOR_ONE, 1, k, N, specs);
    for (i = 0; i < N; i++)
        (void)started_ref(c, ids[i], 1);
    r = started_ref(c, "k17", 1);
    send_cmd(c, r, T_CRASH);
    (void)started_ref(c, "k17", 2);
    which(c, sup, N, ci);
    for (i = 0; i < N; i++) {
        ASSERT_STR_EQ(ci[i].id, ids[i]);
        ASSERT(!actr_ref_is_none(ci[i].ref));
        ASSERT_EQ(ci[i].restarts, i == 17 ? 1 : 0);
    }
    close_rt(rt, c);
}

TEST_IMPL(supervisor, never_runs)
{
    actr_options_t o;
    actr_t *rt;
    actr_ctx_t *c;
    kid_t k[2];
    actr_child_spec_t specs[2];

    /* Spawned but never run (the runtime never starts): the spec travels in the
     * init args only, so nothing is left behind (ASan checks). */
    actr_options_init(&o);
    o.log_fn = test_log;
    ASSERT_OK(actr_open(&rt, &o));
    ASSERT_OK(actr_client_open(rt, &c));
    mk_kid(&k[0], c, "a", ACTR_PERMANENT, "nr.a", NULL, 0);
    mk_kid(&k[1], c, "b", ACTR_TRANSIENT, NULL, NULL, 0);
    (void)spawn_sup(c, ACTR_ONE_FOR_ALL, 3, k, 2, specs);
    actr_client_close(c);
    actr_close(rt);
    ASSERT_EQ(atomic_load(&g_started), 0);
}

/* ---- a supervisor as a child spec (actr_supervisor_behavior/_args) -------- */

static int crashy_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    (void)ctx;
    (void)state;
    return actr_msg_type(msg) == T_CRASH ? CRASH_CODE : 0;
}

static const actr_behavior_t crashy_beh = {
    .size = sizeof(actr_behavior_t), .name = "test.crashy", .receive = crashy_receive};

static actr_ref_t whereis_now(actr_ctx_t *c, const char *name)
{
    actr_ref_t r = ACTR_REF_NONE;
    ASSERT_EVENTUALLY(actr_whereis(c, name, &r) == 0, WAIT_MS);
    return r;
}

static actr_ref_t whereis_changed(actr_ctx_t *c, const char *name, actr_ref_t old)
{
    actr_ref_t r = ACTR_REF_NONE;
    ASSERT_EVENTUALLY(actr_whereis(c, name, &r) == 0 && !actr_ref_eq(r, old), WAIT_MS);
    return r;
}

TEST_IMPL(supervisor, nested_child_spec)
{
    actr_ctx_t *c;
    actr_t *rt = open_rt(&c);
    actr_child_spec_t gkids[1] = {
        {.id = "gc", .beh = &crashy_beh, .restart = ACTR_PERMANENT, .name = "nest.gc"}};
    actr_sup_spec_t inner = {.strategy = ACTR_ONE_FOR_ONE, .intensity = 5, .period_ms = 60000,
                             .children = gkids, .nchildren = 1};
    void *iargs = NULL;
    size_t ilen = 0;
    ASSERT_ERR(actr_supervisor_args(NULL, &iargs, &ilen), ACTR_EINVAL);
    ASSERT_OK(actr_supervisor_args(&inner, &iargs, &ilen));
    actr_child_spec_t kids[2] = {
        {.id = "inner", .beh = actr_supervisor_behavior(), .args = iargs, .args_len = ilen,
         .restart = ACTR_PERMANENT, .name = "nest.inner"},
        {.id = "sib", .beh = &crashy_beh, .restart = ACTR_PERMANENT, .name = "nest.sib"}};
    actr_sup_spec_t outer = {.strategy = ACTR_ONE_FOR_ONE, .intensity = 5, .period_ms = 60000,
                             .children = kids, .nchildren = 2};
    actr_ref_t top;
    ASSERT_OK(actr_supervisor_spawn(c, &outer, NULL, &top));
    actr_free(iargs); /* the spec was copied */

    actr_ref_t isup = whereis_now(c, "nest.inner");
    actr_ref_t gc = whereis_now(c, "nest.gc");
    actr_ref_t sib = whereis_now(c, "nest.sib");

    /* a grandchild crash is handled by the inner supervisor */
    actr_msg_t *m;
    ASSERT_OK(actr_msg_new(c, T_CRASH, NULL, 0, &m));
    ASSERT_OK(actr_send(c, gc, m));
    gc = whereis_changed(c, "nest.gc", gc);
    ASSERT(actr_is_alive(c, isup));

    /* killing the inner supervisor: the outer one restarts it, and with it a
     * fresh grandchild; the sibling is untouched */
    ASSERT_OK(actr_actor_kill(c, isup));
    actr_ref_t isup2 = whereis_changed(c, "nest.inner", isup);
    ASSERT(!actr_ref_eq(isup2, isup));
    (void)whereis_changed(c, "nest.gc", gc);
    ASSERT(actr_ref_eq(whereis_now(c, "nest.sib"), sib));
    close_rt(rt, c);
}

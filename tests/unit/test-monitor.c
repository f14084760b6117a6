/* tests/unit/test-monitor.c — monitors, links and exit propagation (suite `monitor`).
 *
 * Covers the DOWN message (its monitor id, the dead actor as sender and the
 * reason for each way to die: actr_exit, a handler's negative return, a
 * failed init, actr_actor_stop, actr_actor_kill, a never-alive ref), demonitor,
 * several monitors on one actor, links (crash propagation, "normal" exits that
 * do not propagate, trapped exits as ACTR_MSG_EXIT, unlink, chains), the
 * atomic link and monitor of spawn options, and kill overtaking a full mailbox.
 *
 * A "probe" actor obeys commands from the client context on the test thread
 * and reports back by message; the test waits for reports with deadlines.
 */
#include <stdatomic.h>

#include "actr.h"
#include "task.h"

/* Commands to a probe, and its reports to the client. */
enum {
    M_EXIT = 200,  /* [reason:str]: actr_exit(reason) */
    M_FAIL,        /* [code:int]: the handler returns code */
    M_PING,        /* -> M_PONG [self:ref] */
    M_LINK,        /* [who:ref] -> M_RC [rc:int, self:ref] */
    M_UNLINK,      /* [who:ref] -> M_RC */
    M_TRAP,        /* [on:int] -> M_RC */
    M_MONITOR,     /* [who:ref] -> M_MON [rc:int, id:uint] */
    M_SPAWN_LINK,  /* -> M_CHILD [rc:int, child:ref]: spawn a probe linked to self */
    M_COUNT,       /* counted in `counted`, nothing else */
    M_BLOCK,       /* spin until `released` is set (holds the actor mid-message) */
    M_PONG,
    M_RC,
    M_MON,
    M_CHILD,
    M_GOT_EXIT,    /* probe got ACTR_MSG_EXIT: [reason:str, from:ref, self:ref] */
    M_GOT_DOWN,    /* probe got ACTR_MSG_DOWN: [id:uint, reason:str, from:ref, self:ref] */
    M_TERM         /* probe's terminate ran: [reason:str, self:ref] */
};

#define WAIT_MS 10000

static actr_t *rt;
static actr_ctx_t *cl;

#define STASH_MAX 4096
static actr_msg_t *stash[STASH_MAX];
static size_t nstash;

static atomic_int counted;  /* M_COUNT messages handled */
static atomic_int blocked;  /* a probe is spinning in M_BLOCK */
static atomic_int released; /* let it go */

static void open_rt(unsigned batch)
{
    actr_options_t o;
    actr_options_init(&o);
    o.log_level = ACTR_LOG_ERROR;
    o.batch = batch;
    ASSERT_OK(actr_open(&rt, &o));
    nstash = 0;
}

static void setup(void)
{
    open_rt(0);
    ASSERT_OK(actr_start(rt));
    ASSERT_OK(actr_client_open(rt, &cl));
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

typedef int (*match_fn)(const actr_msg_t *m, const void *arg);

/* Wait up to timeout_ms for a client message accepted by `match`; others are
 * stashed for later calls. NULL on timeout. */
static actr_msg_t *recv_match(match_fn match, const void *arg, int timeout_ms)
{
    for (size_t i = 0; i < nstash; i++) {
        if (match(stash[i], arg)) {
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
        if (match(m, arg))
            return m;
        ASSERT(nstash < STASH_MAX);
        stash[nstash++] = m;
    }
}

static int match_type(const actr_msg_t *m, const void *arg)
{
    return actr_msg_type(m) == *(const uint32_t *)arg;
}

static actr_msg_t *recv_type(uint32_t type, int timeout_ms)
{
    return recv_match(match_type, &type, timeout_ms);
}

static int match_down(const actr_msg_t *m, const void *arg)
{
    uint64_t id = 0;
    return actr_msg_type(m) == ACTR_MSG_DOWN && actr_msg_down(m, &id, NULL, NULL) == 0 &&
           id == *(const uint64_t *)arg;
}

/* Wait for the DOWN of monitor `id` and check its sender and reason. */
static void expect_down(uint64_t id, actr_ref_t who, const char *reason)
{
    actr_msg_t *m = recv_match(match_down, &id, WAIT_MS);
    if (m == NULL)
        TEST_FAIL_("no DOWN for monitor %" PRIu64 " (expected reason \"%s\")", id, reason);
    uint64_t got = 0;
    const char *r = NULL;
    size_t rlen = 0;
    ASSERT_OK(actr_msg_down(m, &got, &r, &rlen));
    ASSERT_EQ(got, id);
    ASSERT(actr_ref_eq(actr_msg_from(m), who));
    ASSERT_MEM_STR(r, rlen, reason);
    actr_msg_free(m);
}

/* 1 if a DOWN for monitor `id` is waiting or arrives within timeout_ms. */
static int down_arrives(uint64_t id, int timeout_ms)
{
    actr_msg_t *m = recv_match(match_down, &id, timeout_ms);
    actr_msg_free(m);
    return m != NULL;
}

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

static int tell0(actr_ctx_t *ctx, actr_ref_t to, uint32_t type)
{
    actr_msg_t *m = NULL;
    int rc = actr_msg_new(ctx, type, NULL, 0, &m);
    return rc ? rc : actr_send(ctx, to, m);
}

/* ---- the probe ------------------------------------------------------------ */

typedef struct probe {
    actr_ref_t owner;
} probe_t;

static const actr_behavior_t probe_beh;

static int probe_init(actr_ctx_t *ctx, void *state, const void *args, size_t len)
{
    (void)ctx;
    probe_t *p = state;
    return actr_unpack(args, len, "r", &p->owner);
}

static int probe_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    probe_t *p = state;
    actr_ref_t self = actr_self(ctx), who;
    const char *s;
    size_t slen;
    int v, rc;
    uint64_t id = 0;
    char reason[512];

    switch (actr_msg_type(msg)) {
    case M_EXIT:
        ASSERT_OK(actr_msg_unpack(msg, "[s]", &s, &slen));
        ASSERT(slen < sizeof reason);
        memcpy(reason, s, slen);
        reason[slen] = '\0';
        ASSERT_OK(actr_exit(ctx, reason));
        return 0;
    case M_FAIL:
        ASSERT_OK(actr_msg_unpack(msg, "[i]", &v));
        return v;
    case M_PING:
        return tell(ctx, p->owner, M_PONG, "[r]", self);
    case M_LINK:
    case M_UNLINK:
        ASSERT_OK(actr_msg_unpack(msg, "[r]", &who));
        rc = actr_msg_type(msg) == M_LINK ? actr_link(ctx, who) : actr_unlink(ctx, who);
        return tell(ctx, p->owner, M_RC, "[ir]", rc, self);
    case M_TRAP:
        ASSERT_OK(actr_msg_unpack(msg, "[i]", &v));
        return tell(ctx, p->owner, M_RC, "[ir]", actr_trap_exit(ctx, v), self);
    case M_MONITOR:
        ASSERT_OK(actr_msg_unpack(msg, "[r]", &who));
        rc = actr_monitor(ctx, who, &id);
        return tell(ctx, p->owner, M_MON, "[iU]", rc, id);
    case M_SPAWN_LINK: {
        unsigned char args[64];
        size_t alen = 0;
        actr_spawn_opts_t opts = {0};
        actr_ref_t child = ACTR_REF_NONE;
        opts.link = 1;
        ASSERT_OK(actr_pack(args, sizeof args, &alen, "r", p->owner));
        rc = actr_spawn(ctx, &probe_beh, args, alen, &opts, &child);
        return tell(ctx, p->owner, M_CHILD, "[ir]", rc, child);
    }
    case M_COUNT:
        atomic_fetch_add(&counted, 1);
        return 0;
    case M_BLOCK:
        atomic_store(&blocked, 1);
        while (!atomic_load(&released))
            test_nap_ms(1);
        return 0;
    case ACTR_MSG_EXIT:
        ASSERT_OK(actr_msg_exit(msg, &s, &slen));
        return tell(ctx, p->owner, M_GOT_EXIT, "[Srr]", s, slen, actr_msg_from(msg), self);
    case ACTR_MSG_DOWN:
        ASSERT_OK(actr_msg_down(msg, &id, &s, &slen));
        return tell(ctx, p->owner, M_GOT_DOWN, "[USrr]", id, s, slen, actr_msg_from(msg), self);
    default:
        return ACTR_EINVAL;
    }
}

static void probe_terminate(actr_ctx_t *ctx, void *state, const char *reason)
{
    probe_t *p = state;
    (void)tell(ctx, p->owner, M_TERM, "[sr]", reason, actr_self(ctx));
}

static const actr_behavior_t probe_beh = {
    .size = sizeof(actr_behavior_t),
    .name = "test.probe",
    .state_size = sizeof(probe_t),
    .init = probe_init,
    .receive = probe_receive,
    .terminate = probe_terminate,
};

static actr_ref_t spawn_probe_opts(actr_spawn_opts_t *opts)
{
    unsigned char args[64];
    size_t len = 0;
    actr_ref_t ref;
    ASSERT_OK(actr_pack(args, sizeof args, &len, "r", actr_self(cl)));
    ASSERT_OK(actr_spawn(cl, &probe_beh, args, len, opts, &ref));
    ASSERT(!actr_ref_is_none(ref));
    return ref;
}

static actr_ref_t spawn_probe(void) { return spawn_probe_opts(NULL); }

static uint64_t monitor(actr_ref_t who)
{
    uint64_t id = 0;
    ASSERT_OK(actr_monitor(cl, who, &id));
    return id;
}

/* Have probe `p` link to (or unlink from) `who`; return the call's result. */
static int probe_rc(actr_ref_t p, uint32_t cmd, actr_ref_t who)
{
    ASSERT_OK(tell(cl, p, cmd, "[r]", who));
    actr_msg_t *m = recv_type(M_RC, WAIT_MS);
    ASSERT_NOT_NULL(m);
    int rc = -1;
    actr_ref_t self;
    ASSERT_OK(actr_msg_unpack(m, "[ir]", &rc, &self));
    ASSERT(actr_ref_eq(self, p));
    actr_msg_free(m);
    return rc;
}

static void set_trap(actr_ref_t p, int on)
{
    ASSERT_OK(tell(cl, p, M_TRAP, "[i]", on));
    actr_msg_t *m = recv_type(M_RC, WAIT_MS);
    ASSERT_NOT_NULL(m);
    int rc = -1;
    actr_ref_t self;
    ASSERT_OK(actr_msg_unpack(m, "[ir]", &rc, &self));
    ASSERT_OK(rc);
    actr_msg_free(m);
}

static int match_pong_from(const actr_msg_t *m, const void *arg)
{
    actr_ref_t self;
    return actr_msg_type(m) == M_PONG && actr_msg_unpack(m, "[r]", &self) == 0 &&
           actr_ref_eq(self, *(const actr_ref_t *)arg);
}

/* The probe still answers. */
static void expect_alive(actr_ref_t p)
{
    ASSERT_OK(tell0(cl, p, M_PING));
    actr_msg_t *m = recv_match(match_pong_from, &p, WAIT_MS);
    ASSERT_NOT_NULL(m);
    actr_msg_free(m);
    ASSERT(actr_is_alive(cl, p));
}

/* ---- DOWN reasons ------------------------------------------------------------ */

TEST_IMPL(monitor, down_normal_exit)
{
    setup();
    actr_ref_t a = spawn_probe();
    uint64_t id = monitor(a);
    ASSERT_OK(tell(cl, a, M_EXIT, "[s]", "normal"));
    expect_down(id, a, "normal");
    ASSERT(!actr_is_alive(cl, a));
    actr_msg_t *t = recv_type(M_TERM, WAIT_MS); /* terminate saw the reason */
    ASSERT_NOT_NULL(t);
    const char *r;
    size_t rlen;
    actr_ref_t self;
    ASSERT_OK(actr_msg_unpack(t, "[sr]", &r, &rlen, &self));
    ASSERT_MEM_STR(r, rlen, "normal");
    ASSERT(actr_ref_eq(self, a));
    actr_msg_free(t);
    /* Refs to it are stale now. */
    ASSERT_ERR(tell0(cl, a, M_PING), ACTR_ENOACTOR);
    ASSERT_ERR(actr_actor_stop(cl, a, NULL), ACTR_ENOACTOR);
    ASSERT_ERR(actr_actor_kill(cl, a), ACTR_ENOACTOR);
    teardown();
}

TEST_IMPL(monitor, down_error_code_reason)
{
    setup();
    static const int codes[] = {ACTR_EINVAL, ACTR_ENOMEM, ACTR_ETIMEDOUT, ACTR_EMSGPACK};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        actr_ref_t a = spawn_probe();
        uint64_t id = monitor(a);
        ASSERT_OK(tell(cl, a, M_FAIL, "[i]", codes[i]));
        expect_down(id, a, actr_err_name(codes[i]));
    }
    teardown();
}

static int failing_init(actr_ctx_t *ctx, void *state, const void *args, size_t len)
{
    (void)ctx;
    (void)state;
    (void)args;
    (void)len;
    return ACTR_EBUSY;
}

static int never_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    (void)ctx;
    (void)state;
    (void)msg;
    TEST_FAIL_("receive ran after a failed init");
    return 0;
}

static const actr_behavior_t failing_beh = {
    .size = sizeof(actr_behavior_t),
    .name = "test.failing_init",
    .init = failing_init,
    .receive = never_receive,
};

TEST_IMPL(monitor, down_failed_init_reason)
{
    setup();
    actr_spawn_opts_t opts = {0};
    uint64_t id = 0;
    actr_ref_t a;
    opts.monitor_id = &id;
    ASSERT_OK(actr_spawn(cl, &failing_beh, NULL, 0, &opts, &a));
    /* A message queued behind init must never reach receive (the send itself
     * may succeed or find the actor already gone). */
    (void)tell0(cl, a, M_PING);
    expect_down(id, a, "EBUSY");
    teardown();
}

TEST_IMPL(monitor, down_custom_stop_reason)
{
    setup();
    actr_ref_t a = spawn_probe();
    uint64_t id = monitor(a);
    ASSERT_OK(actr_actor_stop(cl, a, "bye"));
    expect_down(id, a, "bye");
    actr_msg_t *t = recv_type(M_TERM, WAIT_MS);
    ASSERT_NOT_NULL(t);
    const char *r;
    size_t rlen;
    actr_ref_t self;
    ASSERT_OK(actr_msg_unpack(t, "[sr]", &r, &rlen, &self));
    ASSERT_MEM_STR(r, rlen, "bye");
    actr_msg_free(t);

    /* NULL reason means "shutdown". */
    actr_ref_t b = spawn_probe();
    id = monitor(b);
    ASSERT_OK(actr_actor_stop(cl, b, NULL));
    expect_down(id, b, ACTR_REASON_SHUTDOWN);
    teardown();
}

TEST_IMPL(monitor, stop_runs_after_queued_messages)
{
    setup();
    actr_ref_t a = spawn_probe();
    uint64_t id = monitor(a);
    atomic_store(&counted, 0);
    for (int i = 0; i < 500; i++)
        ASSERT_OK(tell0(cl, a, M_COUNT));
    ASSERT_OK(actr_actor_stop(cl, a, "later"));
    expect_down(id, a, "later");
    ASSERT_EQ(atomic_load(&counted), 500); /* the stop waited for them */
    teardown();
}

TEST_IMPL(monitor, long_reason_truncated)
{
    setup();
    char reason[300];
    memset(reason, 'r', sizeof reason - 1);
    reason[sizeof reason - 1] = '\0';
    actr_ref_t a = spawn_probe();
    uint64_t id = monitor(a);
    ASSERT_OK(actr_actor_stop(cl, a, reason));
    reason[ACTR_REASON_MAX] = '\0';
    expect_down(id, a, reason);
    teardown();
}

TEST_IMPL(monitor, monitor_dead_ref_is_noproc)
{
    setup();
    actr_ref_t a = spawn_probe();
    uint64_t id = monitor(a);
    ASSERT_OK(tell(cl, a, M_EXIT, "[s]", "normal"));
    expect_down(id, a, "normal");

    uint64_t id2 = monitor(a);
    ASSERT_NE(id2, id);
    expect_down(id2, a, ACTR_REASON_NOPROC);

    /* A ref of this runtime that never named an actor. */
    actr_ref_t ghost = {actr_node_id(rt), a.slot + 100000u, 77};
    uint64_t id3 = monitor(ghost);
    expect_down(id3, ghost, ACTR_REASON_NOPROC);

    /* An actor can monitor a dead ref too. */
    actr_ref_t w = spawn_probe();
    ASSERT_OK(tell(cl, w, M_MONITOR, "[r]", a));
    actr_msg_t *m = recv_type(M_MON, WAIT_MS);
    ASSERT_NOT_NULL(m);
    int rc = -1;
    uint64_t wid = 0;
    ASSERT_OK(actr_msg_unpack(m, "[iU]", &rc, &wid));
    ASSERT_OK(rc);
    actr_msg_free(m);
    m = recv_type(M_GOT_DOWN, WAIT_MS);
    ASSERT_NOT_NULL(m);
    uint64_t gid = 0;
    const char *r;
    size_t rlen;
    actr_ref_t from, self;
    ASSERT_OK(actr_msg_unpack(m, "[Usrr]", &gid, &r, &rlen, &from, &self));
    ASSERT_EQ(gid, wid);
    ASSERT_MEM_STR(r, rlen, "noproc");
    ASSERT(actr_ref_eq(from, a));
    actr_msg_free(m);
    teardown();
}

TEST_IMPL(monitor, demonitor_no_down)
{
    setup();
    actr_ref_t a = spawn_probe();
    uint64_t gone = monitor(a);
    uint64_t kept = monitor(a);
    ASSERT_OK(actr_demonitor(cl, gone));
    ASSERT_ERR(actr_demonitor(cl, gone), ACTR_ENOENT);
    ASSERT_ERR(actr_demonitor(cl, 0xdead0000beefULL), ACTR_ENOENT);
    ASSERT_OK(actr_actor_stop(cl, a, "bye"));
    expect_down(kept, a, "bye");
    /* Both DOWNs would have been sent together; a later round trip through
     * another actor fences any straggler. */
    actr_ref_t b = spawn_probe();
    expect_alive(b);
    ASSERT(!down_arrives(gone, 20));
    /* Demonitor after the DOWN arrived: the monitor no longer exists. */
    ASSERT_ERR(actr_demonitor(cl, kept), ACTR_ENOENT);
    teardown();
}

TEST_IMPL(monitor, two_monitors_two_downs)
{
    setup();
    actr_ref_t a = spawn_probe();
    uint64_t m1 = monitor(a), m2 = monitor(a);
    ASSERT_NE(m1, m2);
    ASSERT_OK(tell(cl, a, M_FAIL, "[i]", ACTR_ERANGE));
    expect_down(m2, a, "ERANGE");
    expect_down(m1, a, "ERANGE");
    teardown();
}

TEST_IMPL(monitor, actor_monitors_actor)
{
    setup();
    actr_ref_t w = spawn_probe(), a = spawn_probe();
    ASSERT_OK(tell(cl, w, M_MONITOR, "[r]", a));
    actr_msg_t *m = recv_type(M_MON, WAIT_MS);
    ASSERT_NOT_NULL(m);
    int rc = -1;
    uint64_t wid = 0;
    ASSERT_OK(actr_msg_unpack(m, "[iU]", &rc, &wid));
    ASSERT_OK(rc);
    actr_msg_free(m);
    ASSERT_OK(actr_actor_stop(cl, a, "bye"));
    m = recv_type(M_GOT_DOWN, WAIT_MS);
    ASSERT_NOT_NULL(m);
    uint64_t gid = 0;
    const char *r;
    size_t rlen;
    actr_ref_t from, self;
    ASSERT_OK(actr_msg_unpack(m, "[Usrr]", &gid, &r, &rlen, &from, &self));
    ASSERT_EQ(gid, wid);
    ASSERT_MEM_STR(r, rlen, "bye");
    ASSERT(actr_ref_eq(from, a));
    ASSERT(actr_ref_eq(self, w));
    actr_msg_free(m);
    expect_alive(w); /* a monitor never kills the watcher */
    teardown();
}

/* ---- links ---------------------------------------------------------------------- */

TEST_IMPL(monitor, link_crash_kills_partner)
{
    setup();
    /* The linked actor crashes: the linker dies with the same reason. */
    actr_ref_t a = spawn_probe(), b = spawn_probe();
    uint64_t ma = monitor(a), mb = monitor(b);
    ASSERT_OK(probe_rc(a, M_LINK, b));
    ASSERT_OK(tell(cl, b, M_FAIL, "[i]", ACTR_EINVAL));
    expect_down(mb, b, "EINVAL");
    expect_down(ma, a, "EINVAL");

    /* The other direction, with a custom exit reason. */
    a = spawn_probe();
    b = spawn_probe();
    ma = monitor(a);
    mb = monitor(b);
    ASSERT_OK(probe_rc(a, M_LINK, b));
    ASSERT_OK(tell(cl, a, M_EXIT, "[s]", "boom"));
    expect_down(ma, a, "boom");
    expect_down(mb, b, "boom");

    /* actr_actor_stop with a non-normal reason propagates as well. */
    a = spawn_probe();
    b = spawn_probe();
    ma = monitor(a);
    mb = monitor(b);
    ASSERT_OK(probe_rc(b, M_LINK, a));
    ASSERT_OK(actr_actor_stop(cl, a, "bye"));
    expect_down(ma, a, "bye");
    expect_down(mb, b, "bye");
    teardown();
}

TEST_IMPL(monitor, link_normal_exit_spares_partner)
{
    setup();
    actr_ref_t a = spawn_probe(), b = spawn_probe();
    uint64_t ma = monitor(a), mb = monitor(b);
    ASSERT_OK(probe_rc(a, M_LINK, b));
    ASSERT_OK(tell(cl, b, M_EXIT, "[s]", "normal"));
    expect_down(mb, b, "normal");
    expect_alive(a);
    ASSERT(!down_arrives(ma, 20));
    teardown();
}

static void expect_got_exit(actr_ref_t at, actr_ref_t from, const char *reason)
{
    actr_msg_t *m = recv_type(M_GOT_EXIT, WAIT_MS);
    ASSERT_NOT_NULL(m);
    const char *r;
    size_t rlen;
    actr_ref_t f, self;
    ASSERT_OK(actr_msg_unpack(m, "[srr]", &r, &rlen, &f, &self));
    ASSERT_MEM_STR(r, rlen, reason);
    ASSERT(actr_ref_eq(f, from));
    ASSERT(actr_ref_eq(self, at));
    actr_msg_free(m);
}

TEST_IMPL(monitor, trap_exit_receives_exit_message)
{
    setup();
    actr_ref_t a = spawn_probe(), b = spawn_probe();
    uint64_t ma = monitor(a), mb = monitor(b);
    set_trap(a, 1);
    ASSERT_OK(probe_rc(a, M_LINK, b));
    ASSERT_OK(tell(cl, b, M_FAIL, "[i]", ACTR_EINVAL));
    expect_down(mb, b, "EINVAL");
    expect_got_exit(a, b, "EINVAL");
    expect_alive(a);

    /* Trapping off again: the next linked crash kills it. */
    actr_ref_t c = spawn_probe();
    uint64_t mc = monitor(c);
    set_trap(a, 0);
    ASSERT_OK(probe_rc(a, M_LINK, c));
    ASSERT_OK(actr_actor_stop(cl, c, "bye"));
    expect_down(mc, c, "bye");
    expect_down(ma, a, "bye");

    /* spawn opts trap_exit. */
    actr_spawn_opts_t opts = {0};
    opts.trap_exit = 1;
    actr_ref_t t = spawn_probe_opts(&opts), d = spawn_probe();
    uint64_t md = monitor(d);
    ASSERT_OK(probe_rc(t, M_LINK, d));
    ASSERT_OK(tell(cl, d, M_EXIT, "[s]", "crash"));
    expect_down(md, d, "crash");
    expect_got_exit(t, d, "crash");
    expect_alive(t);
    teardown();
}

TEST_IMPL(monitor, link_to_dead_is_noproc)
{
    setup();
    actr_ref_t dead = spawn_probe();
    uint64_t md = monitor(dead);
    ASSERT_OK(tell(cl, dead, M_EXIT, "[s]", "normal"));
    expect_down(md, dead, "normal");

    /* A trapping actor gets an exit message with "noproc". */
    actr_ref_t t = spawn_probe();
    set_trap(t, 1);
    ASSERT_OK(probe_rc(t, M_LINK, dead));
    expect_got_exit(t, dead, ACTR_REASON_NOPROC);
    expect_alive(t);

    /* A non-trapping one dies with it. */
    actr_ref_t n = spawn_probe();
    uint64_t mn = monitor(n);
    int rc = probe_rc(n, M_LINK, dead);
    ASSERT_OK(rc);
    expect_down(mn, n, ACTR_REASON_NOPROC);
    teardown();
}

TEST_IMPL(monitor, unlink_stops_propagation)
{
    setup();
    actr_ref_t a = spawn_probe(), b = spawn_probe();
    uint64_t ma = monitor(a), mb = monitor(b);
    ASSERT_OK(probe_rc(a, M_LINK, b));
    ASSERT_OK(probe_rc(a, M_UNLINK, b));
    ASSERT_ERR(probe_rc(a, M_UNLINK, b), ACTR_ENOENT);
    ASSERT_ERR(probe_rc(b, M_UNLINK, a), ACTR_ENOENT); /* removed in both directions */
    ASSERT_OK(tell(cl, b, M_FAIL, "[i]", ACTR_EINVAL));
    expect_down(mb, b, "EINVAL");
    expect_alive(a);
    ASSERT(!down_arrives(ma, 20));

    /* Unlinking from the other side works too. */
    actr_ref_t c = spawn_probe();
    uint64_t mc = monitor(c);
    ASSERT_OK(probe_rc(a, M_LINK, c));
    ASSERT_OK(probe_rc(c, M_UNLINK, a));
    ASSERT_OK(tell(cl, a, M_FAIL, "[i]", ACTR_EINVAL));
    expect_down(ma, a, "EINVAL");
    expect_alive(c);
    ASSERT(!down_arrives(mc, 20));
    teardown();
}

TEST_IMPL(monitor, client_cannot_link)
{
    setup();
    actr_ref_t a = spawn_probe();
    ASSERT_ERR(actr_link(cl, a), ACTR_ECONTEXT);
    ASSERT_ERR(actr_trap_exit(cl, 1), ACTR_ECONTEXT);
    ASSERT_ERR(actr_exit(cl, "normal"), ACTR_ECONTEXT);
    expect_alive(a);
    teardown();
}

TEST_IMPL(monitor, foreign_runtime_ref)
{
    setup();
    actr_t *rt2 = NULL;
    actr_ctx_t *cl2 = NULL;
    ASSERT_OK(actr_open(&rt2, NULL));
    ASSERT_OK(actr_start(rt2));
    ASSERT_OK(actr_client_open(rt2, &cl2));
    ASSERT_NE(actr_node_id(rt2), actr_node_id(rt));
    unsigned char args[64];
    size_t len = 0;
    actr_ref_t other;
    ASSERT_OK(actr_pack(args, sizeof args, &len, "r", actr_self(cl2)));
    ASSERT_OK(actr_spawn(cl2, &probe_beh, args, len, NULL, &other));
    uint64_t id = 0;
    ASSERT_ERR(actr_monitor(cl, other, &id), ACTR_ENONODE);
    ASSERT_ERR(actr_actor_stop(cl, other, "bye"), ACTR_ENONODE);
    ASSERT_ERR(actr_actor_kill(cl, other), ACTR_ENONODE);
    actr_client_close(cl2);
    actr_close(rt2);
    teardown();
}

TEST_IMPL(monitor, spawn_opts_link)
{
    setup();
    /* The child crashes: its parent, linked at spawn, dies too. */
    actr_ref_t p = spawn_probe();
    uint64_t mp = monitor(p);
    ASSERT_OK(tell0(cl, p, M_SPAWN_LINK));
    actr_msg_t *m = recv_type(M_CHILD, WAIT_MS);
    ASSERT_NOT_NULL(m);
    int rc = -1;
    actr_ref_t c;
    ASSERT_OK(actr_msg_unpack(m, "[ir]", &rc, &c));
    ASSERT_OK(rc);
    actr_msg_free(m);
    uint64_t mc = monitor(c);
    ASSERT_OK(tell(cl, c, M_FAIL, "[i]", ACTR_ERANGE));
    expect_down(mc, c, "ERANGE");
    expect_down(mp, p, "ERANGE");

    /* The parent crashes: the child dies. */
    p = spawn_probe();
    mp = monitor(p);
    ASSERT_OK(tell0(cl, p, M_SPAWN_LINK));
    m = recv_type(M_CHILD, WAIT_MS);
    ASSERT_NOT_NULL(m);
    ASSERT_OK(actr_msg_unpack(m, "[ir]", &rc, &c));
    ASSERT_OK(rc);
    actr_msg_free(m);
    mc = monitor(c);
    ASSERT_OK(tell(cl, p, M_EXIT, "[s]", "parent-died"));
    expect_down(mp, p, "parent-died");
    expect_down(mc, c, "parent-died");
    teardown();
}

TEST_IMPL(monitor, spawn_opts_monitor_id)
{
    setup();
    actr_spawn_opts_t opts = {0};
    uint64_t id = 0;
    opts.monitor_id = &id;
    actr_ref_t a = spawn_probe_opts(&opts);
    uint64_t other = monitor(a);
    ASSERT_NE(id, other);
    ASSERT_OK(tell(cl, a, M_EXIT, "[s]", "done"));
    expect_down(id, a, "done");
    expect_down(other, a, "done");
    teardown();
}

TEST_IMPL(monitor, link_chain_all_die)
{
    setup();
    actr_ref_t a = spawn_probe(), b = spawn_probe(), c = spawn_probe();
    uint64_t ma = monitor(a), mb = monitor(b), mc = monitor(c);
    ASSERT_OK(probe_rc(a, M_LINK, b));
    ASSERT_OK(probe_rc(b, M_LINK, c));
    ASSERT_OK(tell(cl, c, M_FAIL, "[i]", ACTR_EINVAL));
    expect_down(mc, c, "EINVAL");
    expect_down(mb, b, "EINVAL");
    expect_down(ma, a, "EINVAL");

    /* A longer chain, crashed in the middle. */
    enum { N = 20 };
    actr_ref_t r[N];
    uint64_t mon[N];
    for (int i = 0; i < N; i++) {
        r[i] = spawn_probe();
        mon[i] = monitor(r[i]);
    }
    for (int i = 0; i + 1 < N; i++)
        ASSERT_OK(probe_rc(r[i], M_LINK, r[i + 1]));
    ASSERT_OK(tell(cl, r[N / 2], M_EXIT, "[s]", "chain"));
    for (int i = 0; i < N; i++)
        expect_down(mon[i], r[i], "chain");
    teardown();
}

/* ---- kill ------------------------------------------------------------------------ */

TEST_IMPL(monitor, kill_ahead_of_queued_messages)
{
    enum { QUEUED = 1000, BATCH = 16 };
    open_rt(BATCH);
    /* Fill the mailbox before any worker runs, then kill, then start. */
    ASSERT_OK(actr_client_open(rt, &cl));
    atomic_store(&counted, 0);
    actr_spawn_opts_t opts = {0};
    uint64_t id = 0;
    opts.monitor_id = &id;
    actr_ref_t a = spawn_probe_opts(&opts);
    for (int i = 0; i < QUEUED; i++)
        ASSERT_OK(tell0(cl, a, M_COUNT));
    ASSERT_OK(actr_actor_kill(cl, a));
    ASSERT_OK(actr_start(rt));
    expect_down(id, a, ACTR_REASON_KILLED);
    ASSERT(atomic_load(&counted) < QUEUED);
    ASSERT_LE(atomic_load(&counted), BATCH);
    teardown();
}

TEST_IMPL(monitor, kill_overtakes_busy_actor_queue)
{
    enum { QUEUED = 1000, BATCH = 16 };
    open_rt(BATCH);
    ASSERT_OK(actr_start(rt));
    ASSERT_OK(actr_client_open(rt, &cl));
    atomic_store(&counted, 0);
    atomic_store(&blocked, 0);
    atomic_store(&released, 0);
    actr_ref_t a = spawn_probe();
    uint64_t id = monitor(a);
    /* Hold the actor inside a handler while its mailbox fills up. */
    ASSERT_OK(tell0(cl, a, M_BLOCK));
    ASSERT_EVENTUALLY(atomic_load(&blocked), WAIT_MS);
    for (int i = 0; i < QUEUED; i++)
        ASSERT_OK(tell0(cl, a, M_COUNT));
    ASSERT_OK(actr_actor_kill(cl, a));
    atomic_store(&released, 1);
    expect_down(id, a, ACTR_REASON_KILLED);
    ASSERT(atomic_load(&counted) < QUEUED);
    ASSERT_LE(atomic_load(&counted), BATCH);
    /* terminate still runs on a kill. */
    actr_msg_t *t = recv_type(M_TERM, WAIT_MS);
    ASSERT_NOT_NULL(t);
    const char *r;
    size_t rlen;
    actr_ref_t self;
    ASSERT_OK(actr_msg_unpack(t, "[sr]", &r, &rlen, &self));
    ASSERT_MEM_STR(r, rlen, "killed");
    actr_msg_free(t);
    teardown();
}

TEST_IMPL(monitor, kill_propagates_through_links)
{
    setup();
    actr_ref_t a = spawn_probe(), b = spawn_probe();
    uint64_t ma = monitor(a), mb = monitor(b);
    ASSERT_OK(probe_rc(a, M_LINK, b));
    /* The kill may overtake a's link request still queued at b: b was alive
     * when a linked, so a must learn "killed" (not "noproc") either way. */
    ASSERT_OK(actr_actor_kill(cl, b));
    expect_down(mb, b, "killed");
    expect_down(ma, a, "killed");

    /* The same once b has surely taken the link in (a round trip after it). */
    a = spawn_probe();
    b = spawn_probe();
    ma = monitor(a);
    mb = monitor(b);
    ASSERT_OK(probe_rc(a, M_LINK, b));
    expect_alive(b);
    ASSERT_OK(actr_actor_kill(cl, b));
    expect_down(mb, b, "killed");
    expect_down(ma, a, "killed");
    teardown();
}

/* The monitor and the kill come from the same caller, in that order: the
 * actor was alive when monitored, so its DOWN must carry "killed", even if
 * the kill overtook the monitor request in its mailbox. */
TEST_IMPL(monitor, monitor_then_kill_reports_killed)
{
    setup();
    for (int i = 0; i < 200; i++) {
        actr_ref_t a = spawn_probe();
        expect_alive(a);
        uint64_t id = monitor(a);
        ASSERT_OK(actr_actor_kill(cl, a));
        expect_down(id, a, ACTR_REASON_KILLED);
    }
    teardown();
}

/* tests/unit/test-topic.c — local publish/subscribe (suite `topic`).
 *
 * Covers subscribe/publish/unsubscribe, the delivered count of a fan-out,
 * removal of dead subscribers, idempotent subscription, ACTR_ENOENT for an
 * unknown unsubscription, a full subscriber mailbox (ACTR_EMAILBOX and a
 * count that excludes it), publishing to nobody, topic isolation, and
 * publishing from inside a handler.
 *
 * "sub" actors obey commands from the client context on the test thread and
 * report each published message they receive. "Nothing more arrived" is
 * checked with a fence: a direct message sent after the publish by the same
 * sender, so per-pair FIFO order puts it behind every copy.
 */
#include <stdatomic.h>

#include "actr.h"
#include "task.h"

enum {
    P_SUB = 400,  /* [topic:str] -> P_RC [rc:int, self:ref] */
    P_UNSUB,      /* [topic:str] -> P_RC */
    P_FENCE,      /* -> P_FENCED [self:ref, got:int] */
    P_BLOCK,      /* spin until `released` (holds the actor mid-message) */
    P_NOP,        /* ignored (mailbox filler) */
    P_EXIT,       /* actr_exit("normal") */
    P_PUBLISH,    /* [topic:str, seq:int] -> P_PUBRC [rc:int, delivered:uint] */
    P_NEWS,       /* the published message: [seq:int] */
    P_RC,
    P_FENCED,
    P_GOT,        /* [self:ref, seq:int] */
    P_PUBRC
};

#define WAIT_MS 10000

static actr_t *rt;
static actr_ctx_t *cl;

#define STASH_MAX 8192
static actr_msg_t *stash[STASH_MAX];
static size_t nstash;

static atomic_int total_got; /* P_NEWS handled by all subs */
static atomic_int blocked;
static atomic_int released;

static void setup(void)
{
    actr_options_t o;
    actr_options_init(&o);
    o.log_level = ACTR_LOG_WARN;
    ASSERT_OK(actr_open(&rt, &o));
    ASSERT_OK(actr_start(rt));
    ASSERT_OK(actr_client_open(rt, &cl));
    nstash = 0;
    atomic_store(&total_got, 0);
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

/* Next client message accepted by `match` within timeout_ms (others are
 * stashed); NULL on timeout. */
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

/* Matches a report of `type` whose payload is [who:ref, int]. */
typedef struct from_match {
    uint32_t type;
    actr_ref_t who;
} from_match_t;

static int match_fenced(const actr_msg_t *m, const void *arg)
{
    const from_match_t *f = arg;
    actr_ref_t self;
    int got;
    return actr_msg_type(m) == f->type && actr_msg_unpack(m, "[ri]", &self, &got) == 0 &&
           actr_ref_eq(self, f->who);
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

/* ---- the subscriber ----------------------------------------------------------- */

typedef struct sub {
    actr_ref_t owner;
    int got;
} sub_t;

static int sub_init(actr_ctx_t *ctx, void *state, const void *args, size_t len)
{
    (void)ctx;
    sub_t *s = state;
    return actr_unpack(args, len, "r", &s->owner);
}

static void copy_str(char *dst, size_t cap, const char *s, size_t len)
{
    ASSERT(len < cap);
    memcpy(dst, s, len);
    dst[len] = '\0';
}

static int sub_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    sub_t *s = state;
    actr_ref_t self = actr_self(ctx);
    char topic[300];
    const char *str;
    size_t slen, delivered = 0;
    int rc, seq;

    switch (actr_msg_type(msg)) {
    case P_SUB:
    case P_UNSUB:
        ASSERT_OK(actr_msg_unpack(msg, "[s]", &str, &slen));
        copy_str(topic, sizeof topic, str, slen);
        rc = actr_msg_type(msg) == P_SUB ? actr_subscribe(ctx, topic)
                                         : actr_unsubscribe(ctx, topic);
        return tell(ctx, s->owner, P_RC, "[ir]", rc, self);
    case P_FENCE:
        return tell(ctx, s->owner, P_FENCED, "[ri]", self, s->got);
    case P_BLOCK:
        atomic_store(&blocked, 1);
        while (!atomic_load(&released))
            test_nap_ms(1);
        return 0;
    case P_NOP:
        return 0;
    case P_EXIT:
        return actr_exit(ctx, ACTR_REASON_NORMAL);
    case P_PUBLISH: {
        actr_msg_t *m = NULL;
        ASSERT_OK(actr_msg_unpack(msg, "[si]", &str, &slen, &seq));
        copy_str(topic, sizeof topic, str, slen);
        ASSERT_OK(actr_msg_pack(ctx, P_NEWS, &m, "[i]", seq));
        rc = actr_publish(ctx, topic, m, &delivered);
        return tell(ctx, s->owner, P_PUBRC, "[iU]", rc, (uint64_t)delivered);
    }
    case P_NEWS:
        ASSERT_OK(actr_msg_unpack(msg, "[i]", &seq));
        s->got++;
        atomic_fetch_add(&total_got, 1);
        return tell(ctx, s->owner, P_GOT, "[ri]", self, seq);
    default:
        return ACTR_EINVAL;
    }
}

static const actr_behavior_t sub_beh = {
    .size = sizeof(actr_behavior_t),
    .name = "test.sub",
    .state_size = sizeof(sub_t),
    .init = sub_init,
    .receive = sub_receive,
};

static actr_ref_t spawn_sub_opts(const actr_spawn_opts_t *opts)
{
    unsigned char args[64];
    size_t len = 0;
    actr_ref_t ref;
    ASSERT_OK(actr_pack(args, sizeof args, &len, "r", actr_self(cl)));
    ASSERT_OK(actr_spawn(cl, &sub_beh, args, len, opts, &ref));
    return ref;
}

/* Have `who` run P_SUB/P_UNSUB on `topic`; return its result. */
static int sub_cmd(actr_ref_t who, uint32_t cmd, const char *topic)
{
    ASSERT_OK(tell(cl, who, cmd, "[s]", topic));
    actr_msg_t *m = recv_type(P_RC, WAIT_MS);
    ASSERT_NOT_NULL(m);
    int rc = -1;
    actr_ref_t self;
    ASSERT_OK(actr_msg_unpack(m, "[ir]", &rc, &self));
    ASSERT(actr_ref_eq(self, who));
    actr_msg_free(m);
    return rc;
}

static actr_ref_t spawn_sub(const char *topic)
{
    actr_ref_t r = spawn_sub_opts(NULL);
    ASSERT_OK(sub_cmd(r, P_SUB, topic));
    return r;
}

/* How many P_NEWS `who` has handled, after everything the client sent it
 * before this call. */
static int fence(actr_ref_t who)
{
    from_match_t f = {P_FENCED, who};
    /* A subscriber whose mailbox was just full may need a moment to drain. */
    uint64_t deadline = test_now_ms() + WAIT_MS;
    int rc;
    while ((rc = tell0(cl, who, P_FENCE)) == ACTR_EMAILBOX && test_now_ms() < deadline)
        test_nap_ms(1);
    ASSERT_OK(rc);
    actr_msg_t *m = recv_match(match_fenced, &f, WAIT_MS);
    ASSERT_NOT_NULL(m);
    actr_ref_t self;
    int got = -1;
    ASSERT_OK(actr_msg_unpack(m, "[ri]", &self, &got));
    actr_msg_free(m);
    return got;
}

static int publish(const char *topic, int seq, size_t *delivered)
{
    actr_msg_t *m = NULL;
    ASSERT_OK(actr_msg_pack(cl, P_NEWS, &m, "[i]", seq));
    return actr_publish(cl, topic, m, delivered);
}

/* Receive one P_GOT and check its sequence number; return who got it. */
static actr_ref_t expect_got(int seq)
{
    actr_msg_t *m = recv_type(P_GOT, WAIT_MS);
    ASSERT_NOT_NULL(m);
    actr_ref_t who;
    int s = -1;
    ASSERT_OK(actr_msg_unpack(m, "[ri]", &who, &s));
    ASSERT_EQ(s, seq);
    actr_msg_free(m);
    return who;
}

/* ---- tests --------------------------------------------------------------------- */

TEST_IMPL(topic, subscribe_publish_unsubscribe)
{
    setup();
    enum { N = 3 };
    actr_ref_t s[N];
    for (int i = 0; i < N; i++)
        s[i] = spawn_sub("news");
    size_t delivered = 99;
    ASSERT_OK(publish("news", 1, &delivered));
    ASSERT_EQ(delivered, N);
    int seen[N] = {0};
    for (int i = 0; i < N; i++) {
        actr_ref_t who = expect_got(1);
        for (int j = 0; j < N; j++)
            if (actr_ref_eq(who, s[j]))
                seen[j]++;
    }
    for (int j = 0; j < N; j++)
        ASSERT_EQ(seen[j], 1);

    ASSERT_OK(sub_cmd(s[0], P_UNSUB, "news"));
    ASSERT_OK(publish("news", 2, &delivered));
    ASSERT_EQ(delivered, N - 1);
    ASSERT_EQ(fence(s[0]), 1);
    ASSERT_EQ(fence(s[1]), 2);
    ASSERT_EQ(fence(s[2]), 2);

    /* Subscribing again after an unsubscribe works. */
    ASSERT_OK(sub_cmd(s[0], P_SUB, "news"));
    ASSERT_OK(publish("news", 3, NULL));
    ASSERT_EQ(fence(s[0]), 2);
    teardown();
}

TEST_IMPL(topic, fanout_delivered_count)
{
    setup();
    enum { N = 100 };
    actr_ref_t s[N];
    for (int i = 0; i < N; i++)
        s[i] = spawn_sub("fan");
    for (int round = 1; round <= 3; round++) {
        size_t delivered = 0;
        ASSERT_OK(publish("fan", round, &delivered));
        ASSERT_EQ(delivered, N);
        ASSERT_EVENTUALLY(atomic_load(&total_got) == round * N, WAIT_MS);
    }
    for (int i = 0; i < N; i++)
        ASSERT_EQ(fence(s[i]), 3);
    ASSERT_EQ(atomic_load(&total_got), 3 * N);
    teardown();
}

TEST_IMPL(topic, dead_subscriber_removed)
{
    setup();
    enum { N = 5 };
    actr_ref_t s[N];
    for (int i = 0; i < N; i++)
        s[i] = spawn_sub("obit");
    /* One exits by itself, one is stopped. */
    uint64_t m0 = 0, m1 = 0;
    ASSERT_OK(actr_monitor(cl, s[0], &m0));
    ASSERT_OK(actr_monitor(cl, s[1], &m1));
    ASSERT_OK(tell0(cl, s[0], P_EXIT));
    ASSERT_OK(actr_actor_stop(cl, s[1], "bye"));
    for (int i = 0; i < 2; i++) {
        actr_msg_t *d = recv_type(ACTR_MSG_DOWN, WAIT_MS);
        ASSERT_NOT_NULL(d);
        actr_msg_free(d);
    }
    size_t delivered = 0;
    ASSERT_OK(publish("obit", 1, &delivered));
    ASSERT_EQ(delivered, N - 2);
    for (int i = 2; i < N; i++)
        ASSERT_EQ(fence(s[i]), 1);

    /* All gone: nobody left to deliver to. */
    for (int i = 2; i < N; i++)
        ASSERT_OK(tell0(cl, s[i], P_EXIT));
    for (int i = 2; i < N; i++) {
        uint64_t id = 0;
        ASSERT_OK(actr_monitor(cl, s[i], &id));
    }
    for (int i = 2; i < N; i++) {
        actr_msg_t *d = recv_type(ACTR_MSG_DOWN, WAIT_MS);
        ASSERT_NOT_NULL(d);
        actr_msg_free(d);
    }
    ASSERT_OK(publish("obit", 2, &delivered));
    ASSERT_EQ(delivered, 0);
    teardown();
}

TEST_IMPL(topic, subscribe_twice_is_idempotent)
{
    setup();
    actr_ref_t s = spawn_sub("twice");
    ASSERT_OK(sub_cmd(s, P_SUB, "twice"));
    size_t delivered = 0;
    ASSERT_OK(publish("twice", 1, &delivered));
    ASSERT_EQ(delivered, 1);
    ASSERT_EQ(fence(s), 1);
    /* One subscription: one unsubscribe ends it, a second finds nothing. */
    ASSERT_OK(sub_cmd(s, P_UNSUB, "twice"));
    ASSERT_ERR(sub_cmd(s, P_UNSUB, "twice"), ACTR_ENOENT);
    ASSERT_OK(publish("twice", 2, &delivered));
    ASSERT_EQ(delivered, 0);
    ASSERT_EQ(fence(s), 1);
    teardown();
}

TEST_IMPL(topic, unsubscribe_unknown)
{
    setup();
    actr_ref_t a = spawn_sub_opts(NULL);
    ASSERT_ERR(sub_cmd(a, P_UNSUB, "never"), ACTR_ENOENT);
    /* A topic others subscribe to, but not this actor. */
    actr_ref_t b = spawn_sub("theirs");
    ASSERT_ERR(sub_cmd(a, P_UNSUB, "theirs"), ACTR_ENOENT);
    size_t delivered = 0;
    ASSERT_OK(publish("theirs", 1, &delivered));
    ASSERT_EQ(delivered, 1);
    ASSERT_EQ(fence(b), 1);
    teardown();
}

TEST_IMPL(topic, full_mailbox_subscriber)
{
    setup();
    enum { N = 3, LIMIT = 4 };
    actr_ref_t s[N];
    for (int i = 0; i < N; i++)
        s[i] = spawn_sub("busy");
    actr_spawn_opts_t opts = {0};
    opts.mailbox_limit = LIMIT;
    actr_ref_t full = spawn_sub_opts(&opts);
    ASSERT_OK(sub_cmd(full, P_SUB, "busy"));

    /* Hold it inside a handler and fill its mailbox. */
    atomic_store(&blocked, 0);
    atomic_store(&released, 0);
    ASSERT_OK(tell0(cl, full, P_BLOCK));
    ASSERT_EVENTUALLY(atomic_load(&blocked), WAIT_MS);
    int rc = 0, sent = 0;
    while (sent < 1000 && (rc = tell0(cl, full, P_NOP)) == 0)
        sent++;
    ASSERT_ERR(rc, ACTR_EMAILBOX);
    ASSERT_LE(sent, LIMIT);

    size_t delivered = 99;
    ASSERT_ERR(publish("busy", 1, &delivered), ACTR_EMAILBOX);
    ASSERT_EQ(delivered, N);
    atomic_store(&released, 1);
    for (int i = 0; i < N; i++)
        ASSERT_EQ(fence(s[i]), 1);
    ASSERT_EQ(fence(full), 0);

    /* Drained, it gets the next one. */
    ASSERT_OK(publish("busy", 2, &delivered));
    ASSERT_EQ(delivered, N + 1);
    ASSERT_EQ(fence(full), 1);
    teardown();
}

TEST_IMPL(topic, publish_without_subscribers)
{
    setup();
    size_t delivered = 99;
    ASSERT_OK(publish("nobody-listens", 1, &delivered));
    ASSERT_EQ(delivered, 0);
    ASSERT_OK(publish("nobody-listens", 2, NULL));
    ASSERT_NULL(recv_type(P_GOT, 0));
    teardown();
}

TEST_IMPL(topic, topics_are_separate)
{
    setup();
    actr_ref_t a = spawn_sub("alpha"), b = spawn_sub("beta");
    actr_ref_t both = spawn_sub("alpha");
    ASSERT_OK(sub_cmd(both, P_SUB, "beta"));
    size_t delivered = 0;
    ASSERT_OK(publish("alpha", 1, &delivered));
    ASSERT_EQ(delivered, 2);
    ASSERT_OK(publish("beta", 2, &delivered));
    ASSERT_EQ(delivered, 2);
    ASSERT_OK(publish("alphabet", 3, &delivered)); /* exact names, no prefixes */
    ASSERT_EQ(delivered, 0);
    ASSERT_EQ(fence(a), 1);
    ASSERT_EQ(fence(b), 1);
    ASSERT_EQ(fence(both), 2);
    teardown();
}

TEST_IMPL(topic, publish_from_handler)
{
    setup();
    actr_ref_t pub = spawn_sub("loop"); /* subscribed to its own topic */
    actr_ref_t other = spawn_sub("loop");
    ASSERT_OK(tell(cl, pub, P_PUBLISH, "[si]", "loop", 7));
    actr_msg_t *m = recv_type(P_PUBRC, WAIT_MS);
    ASSERT_NOT_NULL(m);
    int rc = -1;
    uint64_t delivered = 0;
    ASSERT_OK(actr_msg_unpack(m, "[iU]", &rc, &delivered));
    ASSERT_OK(rc);
    ASSERT_EQ(delivered, 2);
    actr_msg_free(m);
    ASSERT_EQ(fence(pub), 1);
    ASSERT_EQ(fence(other), 1);
    expect_got(7);
    expect_got(7);
    teardown();
}

TEST_IMPL(topic, empty_topic_einval)
{
    setup();
    actr_ref_t a = spawn_sub_opts(NULL);
    ASSERT_ERR(sub_cmd(a, P_SUB, ""), ACTR_EINVAL);
    teardown();
}

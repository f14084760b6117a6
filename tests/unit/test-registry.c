/* tests/unit/test-registry.c — the local name registry (suite `registry`).
 *
 * Covers register/whereis/unregister, uniqueness in both directions (a name
 * names one actor, an actor has one name), names vanishing with their actor
 * and being reusable afterwards, spawn-time names, actr_send_name, the 1..255
 * byte length rule, registries being per runtime, and a race in which many
 * actors claim one name at once and exactly one wins.
 *
 * A "named" actor registers names on command and forwards everything else to
 * the client context on the test thread, which waits with deadlines.
 */
#include <stdatomic.h>

#include "actr.h"
#include "task.h"

enum {
    R_REGISTER = 300, /* [name:str] -> R_RC [rc:int, self:ref] */
    R_RC,
    R_GOT,            /* a forwarded message: [type:uint, self:ref, payload:bin] */
    R_EXIT,           /* actr_exit("normal") */
    R_HELLO           /* some user message */
};

#define WAIT_MS 10000

static actr_t *rt;
static actr_ctx_t *cl;

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

/* Next client message of `type` within timeout_ms (others are stashed); NULL on timeout. */
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

/* ---- the named actor -------------------------------------------------------- */

typedef struct named {
    actr_ref_t owner;
} named_t;

static int named_init(actr_ctx_t *ctx, void *state, const void *args, size_t len)
{
    (void)ctx;
    named_t *n = state;
    return actr_unpack(args, len, "r", &n->owner);
}

static int named_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    named_t *n = state;
    const char *s;
    size_t slen;
    char name[300];
    switch (actr_msg_type(msg)) {
    case R_REGISTER:
        ASSERT_OK(actr_msg_unpack(msg, "[s]", &s, &slen));
        ASSERT(slen < sizeof name);
        memcpy(name, s, slen);
        name[slen] = '\0';
        return tell(ctx, n->owner, R_RC, "[ir]", actr_register(ctx, name, actr_self(ctx)),
                    actr_self(ctx));
    case R_EXIT:
        return actr_exit(ctx, ACTR_REASON_NORMAL);
    default: {
        size_t len = 0;
        const void *data = actr_msg_data(msg, &len);
        return tell(ctx, n->owner, R_GOT, "[Urx]", (uint64_t)actr_msg_type(msg),
                    actr_self(ctx), data ? data : "", len);
    }
    }
}

static const actr_behavior_t named_beh = {
    .size = sizeof(actr_behavior_t),
    .name = "test.named",
    .state_size = sizeof(named_t),
    .init = named_init,
    .receive = named_receive,
};

static int spawn_named_opts(actr_ctx_t *ctx, const actr_spawn_opts_t *opts, actr_ref_t *out)
{
    unsigned char args[64];
    size_t len = 0;
    ASSERT_OK(actr_pack(args, sizeof args, &len, "r", actr_self(ctx)));
    return actr_spawn(ctx, &named_beh, args, len, opts, out);
}

static actr_ref_t spawn_named(void)
{
    actr_ref_t ref;
    ASSERT_OK(spawn_named_opts(cl, NULL, &ref));
    return ref;
}

/* Stop `a` and wait for its DOWN. */
static void kill_and_wait(actr_ref_t a)
{
    uint64_t id = 0;
    ASSERT_OK(actr_monitor(cl, a, &id));
    ASSERT_OK(actr_actor_stop(cl, a, "bye"));
    actr_msg_t *m = recv_type(ACTR_MSG_DOWN, WAIT_MS);
    ASSERT_NOT_NULL(m);
    uint64_t got = 0;
    ASSERT_OK(actr_msg_down(m, &got, NULL, NULL));
    ASSERT_EQ(got, id);
    actr_msg_free(m);
}

static int whereis_is(const char *name, actr_ref_t expect)
{
    actr_ref_t r;
    return actr_whereis(cl, name, &r) == 0 && actr_ref_eq(r, expect);
}

/* ---- tests ---------------------------------------------------------------------- */

TEST_IMPL(registry, register_whereis_unregister)
{
    setup();
    actr_ref_t a = spawn_named(), r;
    ASSERT_ERR(actr_whereis(cl, "svc", &r), ACTR_ENOENT);
    ASSERT_OK(actr_register(cl, "svc", a));
    ASSERT_OK(actr_whereis(cl, "svc", &r));
    ASSERT(actr_ref_eq(r, a));
    ASSERT_ERR(actr_whereis(cl, "svc2", &r), ACTR_ENOENT);
    ASSERT_ERR(actr_whereis(cl, "sv", &r), ACTR_ENOENT);
    ASSERT_OK(actr_unregister(cl, "svc"));
    ASSERT_ERR(actr_whereis(cl, "svc", &r), ACTR_ENOENT);
    ASSERT_ERR(actr_unregister(cl, "svc"), ACTR_ENOENT);
    ASSERT_ERR(actr_unregister(cl, "never-registered"), ACTR_ENOENT);
    /* Unregistering does not hurt the actor. */
    ASSERT(actr_is_alive(cl, a));

    /* An actor registers itself from its handler. */
    ASSERT_OK(tell(cl, a, R_REGISTER, "[s]", "self-named"));
    actr_msg_t *m = recv_type(R_RC, WAIT_MS);
    ASSERT_NOT_NULL(m);
    int rc = -1;
    actr_ref_t self;
    ASSERT_OK(actr_msg_unpack(m, "[ir]", &rc, &self));
    ASSERT_OK(rc);
    actr_msg_free(m);
    ASSERT(whereis_is("self-named", a));
    teardown();
}

TEST_IMPL(registry, name_of)
{
    setup();
    actr_ref_t a = spawn_named();
    char buf[16];
    ASSERT_ERR(actr_name_of(cl, a, buf, sizeof(buf)), ACTR_ENOENT);
    ASSERT_OK(actr_register(cl, "svc-name", a));
    ASSERT_OK(actr_name_of(cl, a, buf, sizeof(buf)));
    ASSERT_STR_EQ(buf, "svc-name");
    ASSERT_ERR(actr_name_of(cl, a, buf, 8), ACTR_E2BIG); /* 8 bytes + NUL do not fit */
    ASSERT_ERR(actr_name_of(cl, a, NULL, 8), ACTR_EINVAL);
    ASSERT_OK(actr_unregister(cl, "svc-name"));
    ASSERT_ERR(actr_name_of(cl, a, buf, sizeof(buf)), ACTR_ENOENT);
    teardown();
}

TEST_IMPL(registry, duplicate_name_eexist)
{
    setup();
    actr_ref_t a = spawn_named(), b = spawn_named();
    ASSERT_OK(actr_register(cl, "dup", a));
    ASSERT_ERR(actr_register(cl, "dup", b), ACTR_EEXIST);
    ASSERT_ERR(actr_register(cl, "dup", a), ACTR_EEXIST);
    ASSERT(whereis_is("dup", a));
    /* Names are compared exactly. */
    ASSERT_OK(actr_register(cl, "Dup", b));
    ASSERT(whereis_is("Dup", b));
    ASSERT(whereis_is("dup", a));
    teardown();
}

TEST_IMPL(registry, one_name_per_actor)
{
    setup();
    actr_ref_t a = spawn_named();
    ASSERT_OK(actr_register(cl, "first", a));
    ASSERT_ERR(actr_register(cl, "second", a), ACTR_EEXIST);
    actr_ref_t r;
    ASSERT_ERR(actr_whereis(cl, "second", &r), ACTR_ENOENT);
    /* Once its name is gone it may take another. */
    ASSERT_OK(actr_unregister(cl, "first"));
    ASSERT_OK(actr_register(cl, "second", a));
    ASSERT(whereis_is("second", a));
    ASSERT_ERR(actr_whereis(cl, "first", &r), ACTR_ENOENT);
    /* The freed name is available to someone else. */
    actr_ref_t b = spawn_named();
    ASSERT_OK(actr_register(cl, "first", b));
    ASSERT(whereis_is("first", b));
    teardown();
}

TEST_IMPL(registry, name_removed_when_actor_dies)
{
    setup();
    actr_ref_t a = spawn_named(), r;
    ASSERT_OK(actr_register(cl, "mortal", a));
    kill_and_wait(a);
    ASSERT_EVENTUALLY(actr_whereis(cl, "mortal", &r) == ACTR_ENOENT, WAIT_MS);
    ASSERT_ERR(actr_unregister(cl, "mortal"), ACTR_ENOENT);

    /* A dead actor cannot be registered. */
    ASSERT_ERR(actr_register(cl, "mortal", a), ACTR_ENOACTOR);
    ASSERT_ERR(actr_whereis(cl, "mortal", &r), ACTR_ENOENT);

    /* The same when the actor exits by itself. */
    actr_ref_t b = spawn_named();
    uint64_t id = 0;
    ASSERT_OK(actr_monitor(cl, b, &id));
    ASSERT_OK(tell(cl, b, R_REGISTER, "[s]", "mortal2"));
    actr_msg_t *m = recv_type(R_RC, WAIT_MS);
    ASSERT_NOT_NULL(m);
    actr_msg_free(m);
    ASSERT(whereis_is("mortal2", b));
    ASSERT_OK(tell(cl, b, R_EXIT, "[]"));
    m = recv_type(ACTR_MSG_DOWN, WAIT_MS);
    ASSERT_NOT_NULL(m);
    actr_msg_free(m);
    ASSERT_EVENTUALLY(actr_whereis(cl, "mortal2", &r) == ACTR_ENOENT, WAIT_MS);
    teardown();
}

TEST_IMPL(registry, reregister_after_death)
{
    setup();
    for (int round = 0; round < 10; round++) {
        actr_ref_t a = spawn_named();
        /* The previous holder is dead (or there was none): the name frees up. */
        ASSERT_EVENTUALLY(actr_register(cl, "phoenix", a) == 0, WAIT_MS);
        ASSERT(whereis_is("phoenix", a));
        kill_and_wait(a);
    }
    actr_ref_t r;
    ASSERT_EVENTUALLY(actr_whereis(cl, "phoenix", &r) == ACTR_ENOENT, WAIT_MS);
    teardown();
}

TEST_IMPL(registry, spawn_opts_name)
{
    setup();
    actr_spawn_opts_t opts = {0};
    actr_ref_t a, b;
    opts.name = "born-named";
    ASSERT_OK(spawn_named_opts(cl, &opts, &a));
    ASSERT(whereis_is("born-named", a));
    /* The name is taken: the spawn fails and nothing is registered anew. */
    ASSERT_ERR(spawn_named_opts(cl, &opts, &b), ACTR_EEXIST);
    ASSERT(whereis_is("born-named", a));
    /* The actor already has its name. */
    ASSERT_ERR(actr_register(cl, "another", a), ACTR_EEXIST);
    /* The spawn-time name goes away with the actor, too. */
    kill_and_wait(a);
    actr_ref_t r;
    ASSERT_EVENTUALLY(actr_whereis(cl, "born-named", &r) == ACTR_ENOENT, WAIT_MS);
    ASSERT_EVENTUALLY(spawn_named_opts(cl, &opts, &b) == 0, WAIT_MS);
    ASSERT(whereis_is("born-named", b));
    teardown();
}

TEST_IMPL(registry, send_name)
{
    setup();
    actr_ref_t a = spawn_named();
    ASSERT_OK(actr_register(cl, "echo", a));
    actr_msg_t *m = NULL;
    ASSERT_OK(actr_msg_pack(cl, R_HELLO, &m, "[si]", "hi", 5));
    ASSERT_OK(actr_send_name(cl, "echo", m));
    actr_msg_t *got = recv_type(R_GOT, WAIT_MS);
    ASSERT_NOT_NULL(got);
    uint64_t type = 0;
    actr_ref_t self;
    const void *data;
    size_t len;
    ASSERT_OK(actr_msg_unpack(got, "[Urx]", &type, &self, &data, &len));
    ASSERT_EQ(type, R_HELLO);
    ASSERT(actr_ref_eq(self, a));
    const char *s;
    size_t slen;
    int v = 0;
    ASSERT_OK(actr_unpack(data, len, "[si]", &s, &slen, &v));
    ASSERT_MEM_STR(s, slen, "hi");
    ASSERT_EQ(v, 5);
    actr_msg_free(got);

    /* No such name: ENOACTOR, and the message is consumed (ASan checks). */
    ASSERT_OK(actr_msg_pack(cl, R_HELLO, &m, "[si]", "lost", 1));
    ASSERT_ERR(actr_send_name(cl, "nobody", m), ACTR_ENOACTOR);
    /* After the holder died, the name does not reach anyone. */
    kill_and_wait(a);
    actr_ref_t r;
    ASSERT_EVENTUALLY(actr_whereis(cl, "echo", &r) == ACTR_ENOENT, WAIT_MS);
    ASSERT_OK(actr_msg_pack(cl, R_HELLO, &m, "[si]", "late", 2));
    ASSERT_ERR(actr_send_name(cl, "echo", m), ACTR_ENOACTOR);
    teardown();
}

TEST_IMPL(registry, name_length_limits)
{
    setup();
    actr_ref_t a = spawn_named(), r;
    char name[300];
    ASSERT_ERR(actr_register(cl, "", a), ACTR_EINVAL);
    memset(name, 'n', sizeof name);
    name[256] = '\0';
    ASSERT_ERR(actr_register(cl, name, a), ACTR_EINVAL);
    name[299] = '\0';
    memset(name, 'n', 299);
    ASSERT_ERR(actr_register(cl, name, a), ACTR_EINVAL);
    /* 255 bytes is the longest allowed; 1 the shortest. */
    name[255] = '\0';
    ASSERT_OK(actr_register(cl, name, a));
    ASSERT(whereis_is(name, a));
    ASSERT_OK(actr_unregister(cl, name));
    ASSERT_OK(actr_register(cl, "x", a));
    ASSERT(whereis_is("x", a));
    /* No actor can hold an empty name. The header lists only ENOENT for
     * whereis; EINVAL (misuse) is accepted as well. */
    int rc = actr_whereis(cl, "", &r);
    ASSERT(rc == ACTR_ENOENT || rc == ACTR_EINVAL);
    teardown();
}

TEST_IMPL(registry, spawn_opts_bad_name)
{
    setup();
    actr_spawn_opts_t opts = {0};
    actr_ref_t a;
    char name[300];
    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    opts.name = "";
    ASSERT_ERR(spawn_named_opts(cl, &opts, &a), ACTR_EINVAL);
    opts.name = name;
    ASSERT_ERR(spawn_named_opts(cl, &opts, &a), ACTR_EINVAL);
    teardown();
}

TEST_IMPL(registry, per_runtime)
{
    setup();
    actr_t *rt2 = NULL;
    actr_ctx_t *cl2 = NULL;
    ASSERT_OK(actr_open(&rt2, NULL));
    ASSERT_OK(actr_start(rt2));
    ASSERT_OK(actr_client_open(rt2, &cl2));
    actr_ref_t a = spawn_named(), b, r;
    ASSERT_OK(spawn_named_opts(cl2, NULL, &b));
    ASSERT_OK(actr_register(cl, "shared", a));
    ASSERT_OK(actr_register(cl2, "shared", b));
    ASSERT_OK(actr_whereis(cl2, "shared", &r));
    ASSERT(actr_ref_eq(r, b));
    ASSERT(whereis_is("shared", a));
    actr_client_close(cl2);
    actr_close(rt2);
    ASSERT(whereis_is("shared", a));
    teardown();
}

/* Many actors claim the same name at once: exactly one may win. */
TEST_IMPL(registry, concurrent_claim_one_winner)
{
    enum { N = 64, ROUNDS = 10 };
    setup();
    actr_ref_t refs[N];
    for (int i = 0; i < N; i++)
        refs[i] = spawn_named();
    for (int round = 0; round < ROUNDS; round++) {
        char name[32];
        snprintf(name, sizeof name, "leader-%d", round);
        /* A fresh set of actors each round (an actor keeps its one name). */
        if (round > 0)
            for (int i = 0; i < N; i++)
                refs[i] = spawn_named();
        for (int i = 0; i < N; i++)
            ASSERT_OK(tell(cl, refs[i], R_REGISTER, "[s]", name));
        /* The client competes too, on behalf of the last actor. */
        int client_rc = actr_register(cl, name, refs[N - 1]);
        ASSERT(client_rc == 0 || client_rc == ACTR_EEXIST);
        int wins = client_rc == 0, losses = client_rc != 0;
        actr_ref_t winner = client_rc == 0 ? refs[N - 1] : ACTR_REF_NONE;
        for (int i = 0; i < N; i++) {
            actr_msg_t *m = recv_type(R_RC, WAIT_MS);
            ASSERT_NOT_NULL(m);
            int rc = -1;
            actr_ref_t self;
            ASSERT_OK(actr_msg_unpack(m, "[ir]", &rc, &self));
            actr_msg_free(m);
            if (rc == 0) {
                wins++;
                winner = self;
            } else {
                ASSERT_ERR(rc, ACTR_EEXIST);
                losses++;
            }
        }
        ASSERT_EQ(wins, 1);
        ASSERT_EQ(losses, N);
        ASSERT(whereis_is(name, winner));
    }
    teardown();
}

/* tests/unit/test-await.c — actr_await, the selective receive of one reply
 * (suite `await`).
 *
 * An "awaiter" actor asks a "server" actor, which answers only when the test
 * tells it to, and awaits the answer; meanwhile the test sends the awaiter
 * numbered messages. The awaiter reports every message its handler sees to
 * the test's client context, so the order of the reports is the order of
 * delivery: the answer must come first, then the numbered messages in the
 * order they were sent. Also: a timed-out request ends the wait, the error
 * cases, requests set aside are failed when the awaiter dies, a stop acts at
 * once, and an await issued from init.
 */
#include <stdatomic.h>
#include <string.h>

#include "actr.h"
#include "task.h"

enum {
    M_ASK = 300,  /* request to the server: held until M_ANSWER */
    M_ANSWER,     /* to the server: answer the held request with [42] */
    M_START,      /* to the awaiter: [server:ref, timeout:int] ask and await */
    M_DATA,       /* [n:int] reported as M_SEEN n */
    M_BAD,        /* to the awaiter: report actr_await on an unknown id */
    M_TWO,        /* [server:ref]: two requests; await both; report both rcs */
    M_RC,         /* report: [rc:int] or [rc1:int, rc2:int] */
    M_SEEN        /* report: [n:int]; -1 = the reply, -2 = a REQFAIL */
};

#define WAIT_MS 10000

static actr_t *rt;
static actr_ctx_t *cl;
static actr_ref_t cl_ref;

static void setup(void)
{
    actr_options_t o;
    actr_options_init(&o);
    o.log_level = ACTR_LOG_ERROR;
    ASSERT_OK(actr_open(&rt, &o));
    ASSERT_OK(actr_start(rt));
    ASSERT_OK(actr_client_open(rt, &cl));
    cl_ref = actr_self(cl);
}

static void teardown(void)
{
    actr_client_close(cl);
    ASSERT_OK(actr_stop(rt));
    ASSERT_OK(actr_wait(rt));
    actr_close(rt);
    rt = NULL;
}

static void report(actr_ctx_t *ctx, uint32_t type, int v)
{
    actr_msg_t *m;
    if (actr_msg_pack(ctx, type, &m, "[i]", v) == 0)
        (void)actr_send(ctx, cl_ref, m);
}

/* ---- the server ----------------------------------------------------------------- */

typedef struct {
    const actr_msg_t *held;
} server_t;

static int server_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    server_t *s = state;
    if (actr_msg_type(msg) == M_ASK && actr_msg_is_request(msg)) {
        actr_msg_ref(msg);
        if (s->held != NULL)
            actr_msg_free(s->held);
        s->held = msg;
    } else if (actr_msg_type(msg) == M_ANSWER && s->held != NULL) {
        actr_msg_t *r;
        if (actr_msg_pack(ctx, M_ASK, &r, "[i]", 42) == 0)
            (void)actr_reply(ctx, s->held, r);
        actr_msg_free(s->held);
        s->held = NULL;
    }
    return 0;
}

static void server_terminate(actr_ctx_t *ctx, void *state, const char *reason)
{
    (void)ctx, (void)reason;
    server_t *s = state;
    if (s->held != NULL)
        actr_msg_free(s->held);
}

static const actr_behavior_t server_beh = {
    .size = sizeof(actr_behavior_t),
    .name = "server",
    .state_size = sizeof(server_t),
    .receive = server_receive,
    .terminate = server_terminate,
};

/* ---- the awaiter ------------------------------------------------------------------ */

static int awaiter_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    (void)state;
    uint32_t type = actr_msg_type(msg);
    if (actr_msg_is_reply(msg)) {
        report(ctx, M_SEEN, -1);
        return 0;
    }
    if (type == ACTR_MSG_REQFAIL) {
        report(ctx, M_SEEN, -2);
        return 0;
    }
    switch (type) {
    case M_START: {
        actr_ref_t server;
        int timeout;
        if (actr_msg_unpack(msg, "[ri]", &server, &timeout) != 0)
            return ACTR_EINVAL;
        actr_msg_t *q;
        uint64_t id;
        int rc = actr_msg_new(ctx, M_ASK, NULL, 0, &q);
        if (rc == 0)
            rc = actr_request(ctx, server, q, (uint32_t)timeout, &id);
        if (rc == 0)
            rc = actr_await(ctx, id);
        report(ctx, M_RC, rc);
        return 0;
    }
    case M_DATA: {
        int n;
        if (actr_msg_unpack(msg, "[i]", &n) != 0)
            return ACTR_EINVAL;
        report(ctx, M_SEEN, n);
        if (actr_msg_is_request(msg)) {
            actr_msg_t *r;
            if (actr_msg_new(ctx, M_DATA, NULL, 0, &r) == 0)
                (void)actr_reply(ctx, msg, r);
        }
        return 0;
    }
    case M_BAD:
        report(ctx, M_RC, actr_await(ctx, 987654321));
        return 0;
    case M_TWO: {
        actr_ref_t server;
        if (actr_msg_unpack(msg, "[r]", &server) != 0)
            return ACTR_EINVAL;
        uint64_t id1 = 0, id2 = 0;
        actr_msg_t *q1, *q2;
        ASSERT_OK(actr_msg_new(ctx, M_ASK, NULL, 0, &q1));
        ASSERT_OK(actr_request(ctx, server, q1, 0, &id1));
        ASSERT_OK(actr_msg_new(ctx, M_ASK, NULL, 0, &q2));
        ASSERT_OK(actr_request(ctx, server, q2, 0, &id2));
        int rc1 = actr_await(ctx, id1), rc2 = actr_await(ctx, id2);
        int again = actr_await(ctx, id1); /* the same one again is fine */
        actr_msg_t *m;
        if (actr_msg_pack(ctx, M_RC, &m, "[iii]", rc1, rc2, again) == 0)
            (void)actr_send(ctx, cl_ref, m);
        return 0;
    }
    default:
        return 0;
    }
}

static const actr_behavior_t awaiter_beh = {
    .size = sizeof(actr_behavior_t),
    .name = "awaiter",
    .receive = awaiter_receive,
};

/* init asks the server given as args and awaits the answer before serving */
static int init_awaiter_init(actr_ctx_t *ctx, void *state, const void *args, size_t len)
{
    (void)state;
    actr_ref_t server;
    if (actr_unpack(args, len, "r", &server) != 0)
        return ACTR_EINVAL;
    actr_msg_t *q;
    uint64_t id;
    int rc = actr_msg_new(ctx, M_ASK, NULL, 0, &q);
    if (rc == 0)
        rc = actr_request(ctx, server, q, 0, &id);
    if (rc == 0)
        rc = actr_await(ctx, id);
    return rc;
}

static const actr_behavior_t init_awaiter_beh = {
    .size = sizeof(actr_behavior_t),
    .name = "init-awaiter",
    .init = init_awaiter_init,
    .receive = awaiter_receive,
};

/* ---- helpers ------------------------------------------------------------------------ */

/* Receive the next report of `type`, dropping nothing else silently. */
static void expect(uint32_t type, int v)
{
    actr_msg_t *m;
    ASSERT_OK(actr_client_recv(cl, WAIT_MS, &m));
    ASSERT_EQ(actr_msg_type(m), type);
    int got;
    ASSERT_OK(actr_msg_unpack(m, "[i]", &got));
    ASSERT_EQ(got, v);
    actr_msg_free(m);
}

static void send_int(actr_ref_t to, uint32_t type, int v)
{
    actr_msg_t *m;
    ASSERT_OK(actr_msg_pack(cl, type, &m, "[i]", v));
    ASSERT_OK(actr_send(cl, to, m));
}

static uint32_t depth_of_ref;
static actr_ref_t depth_ref;
static void on_actor(void *ud, const actr_actor_info_t *info)
{
    (void)ud;
    if (info->ref.slot == depth_ref.slot && info->ref.gen == depth_ref.gen)
        depth_of_ref = (uint32_t)info->mailbox;
}

/* Queued messages of `who` (its mailbox, not those set aside). */
static uint32_t mailbox_of(actr_ref_t who)
{
    depth_ref = who;
    depth_of_ref = UINT32_MAX;
    ASSERT_OK(actr_actors_list(rt, on_actor, NULL));
    return depth_of_ref;
}

/* ---- tests ------------------------------------------------------------------------------ */

TEST_IMPL(await, reply_first_then_the_rest_in_order)
{
    setup();
    actr_ref_t server, aw;
    ASSERT_OK(actr_spawn(cl, &server_beh, NULL, 0, NULL, &server));
    ASSERT_OK(actr_spawn(cl, &awaiter_beh, NULL, 0, NULL, &aw));
    actr_msg_t *m;
    ASSERT_OK(actr_msg_pack(cl, M_START, &m, "[ri]", server, 0));
    ASSERT_OK(actr_send(cl, aw, m));
    expect(M_RC, 0);
    for (int i = 1; i <= 50; i++)
        send_int(aw, M_DATA, i);
    /* all 50 have left the mailbox (set aside) before the answer is allowed */
    ASSERT_EVENTUALLY(mailbox_of(aw) == 0, WAIT_MS);
    actr_msg_t *none;
    ASSERT_ERR(actr_client_recv(cl, 0, &none), ACTR_ETIMEDOUT); /* nothing delivered yet */
    ASSERT_OK(actr_msg_new(cl, M_ANSWER, NULL, 0, &m));
    ASSERT_OK(actr_send(cl, server, m));
    expect(M_SEEN, -1);
    for (int i = 1; i <= 50; i++)
        expect(M_SEEN, i);
    /* later messages flow normally */
    send_int(aw, M_DATA, 51);
    expect(M_SEEN, 51);
    teardown();
}

TEST_IMPL(await, timeout_ends_the_wait)
{
    setup();
    actr_ref_t server, aw;
    ASSERT_OK(actr_spawn(cl, &server_beh, NULL, 0, NULL, &server));
    ASSERT_OK(actr_spawn(cl, &awaiter_beh, NULL, 0, NULL, &aw));
    actr_msg_t *m;
    ASSERT_OK(actr_msg_pack(cl, M_START, &m, "[ri]", server, 30));
    ASSERT_OK(actr_send(cl, aw, m));
    expect(M_RC, 0);
    send_int(aw, M_DATA, 7);
    send_int(aw, M_DATA, 8);
    expect(M_SEEN, -2); /* the REQFAIL (ETIMEDOUT) comes first */
    expect(M_SEEN, 7);
    expect(M_SEEN, 8);
    teardown();
}

TEST_IMPL(await, errors)
{
    setup();
    ASSERT_ERR(actr_await(cl, 1), ACTR_ECONTEXT); /* a client is not an actor's handler */
    ASSERT_ERR(actr_await(NULL, 1), ACTR_ECONTEXT);
    actr_ref_t server, aw;
    ASSERT_OK(actr_spawn(cl, &server_beh, NULL, 0, NULL, &server));
    ASSERT_OK(actr_spawn(cl, &awaiter_beh, NULL, 0, NULL, &aw));
    actr_msg_t *m;
    ASSERT_OK(actr_msg_new(cl, M_BAD, NULL, 0, &m));
    ASSERT_OK(actr_send(cl, aw, m));
    expect(M_RC, ACTR_ENOENT);
    ASSERT_OK(actr_msg_pack(cl, M_TWO, &m, "[r]", server));
    ASSERT_OK(actr_send(cl, aw, m));
    ASSERT_OK(actr_client_recv(cl, WAIT_MS, &m));
    ASSERT_EQ(actr_msg_type(m), M_RC);
    int rc1, rc2, again;
    ASSERT_OK(actr_msg_unpack(m, "[iii]", &rc1, &rc2, &again));
    actr_msg_free(m);
    ASSERT_EQ(rc1, 0);
    ASSERT_EQ(rc2, ACTR_EBUSY);
    ASSERT_EQ(again, 0);
    teardown();
}

TEST_IMPL(await, requests_set_aside_fail_when_the_awaiter_dies)
{
    setup();
    actr_ref_t server, aw;
    ASSERT_OK(actr_spawn(cl, &server_beh, NULL, 0, NULL, &server));
    ASSERT_OK(actr_spawn(cl, &awaiter_beh, NULL, 0, NULL, &aw));
    actr_msg_t *m;
    ASSERT_OK(actr_msg_pack(cl, M_START, &m, "[ri]", server, 0));
    ASSERT_OK(actr_send(cl, aw, m));
    expect(M_RC, 0);
    uint64_t id;
    ASSERT_OK(actr_msg_pack(cl, M_DATA, &m, "[i]", 5));
    ASSERT_OK(actr_request(cl, aw, m, 0, &id));
    ASSERT_EVENTUALLY(mailbox_of(aw) == 0, WAIT_MS); /* set aside */
    uint64_t mon;
    ASSERT_OK(actr_monitor(cl, aw, &mon));
    ASSERT_OK(actr_actor_stop(cl, aw, "bye")); /* a stop acts during the wait */
    int got_fail = 0, got_down = 0;
    while (!(got_fail && got_down)) {
        ASSERT_OK(actr_client_recv(cl, WAIT_MS, &m));
        if (actr_msg_type(m) == ACTR_MSG_REQFAIL) {
            ASSERT_EQ(actr_msg_request_id(m), id);
            ASSERT_EQ(actr_msg_error(m), ACTR_ENOACTOR);
            got_fail = 1;
        } else if (actr_msg_type(m) == ACTR_MSG_DOWN) {
            const char *reason;
            size_t rl;
            uint64_t mid;
            ASSERT_OK(actr_msg_down(m, &mid, &reason, &rl));
            ASSERT_EQ(mid, mon);
            ASSERT_MEM_STR(reason, rl, "bye");
            got_down = 1;
        } else {
            ASSERT(!"unexpected message"); /* the request was never handled */
        }
        actr_msg_free(m);
    }
    teardown();
}

TEST_IMPL(await, from_init)
{
    setup();
    actr_ref_t server, aw;
    ASSERT_OK(actr_spawn(cl, &server_beh, NULL, 0, NULL, &server));
    actr_msg_t *args;
    ASSERT_OK(actr_msg_pack(cl, 0, &args, "r", server));
    size_t alen;
    const void *a = actr_msg_data(args, &alen);
    ASSERT_OK(actr_spawn(cl, &init_awaiter_beh, a, alen, NULL, &aw));
    actr_msg_free(args);
    for (int i = 1; i <= 10; i++)
        send_int(aw, M_DATA, i);
    ASSERT_EVENTUALLY(mailbox_of(aw) == 0, WAIT_MS);
    actr_msg_t *none;
    ASSERT_ERR(actr_client_recv(cl, 0, &none), ACTR_ETIMEDOUT);
    actr_msg_t *m;
    ASSERT_OK(actr_msg_new(cl, M_ANSWER, NULL, 0, &m));
    ASSERT_OK(actr_send(cl, server, m));
    expect(M_SEEN, -1);
    for (int i = 1; i <= 10; i++)
        expect(M_SEEN, i);
    teardown();
}

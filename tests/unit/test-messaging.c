/* tests/unit/test-messaging.c — sending, requests and replies (suite `messaging`).
 *
 * Covers, through the public API only: a payload's round trip through an
 * actor; FIFO order per sender-receiver pair with several senders at once;
 * request/reply from an actor, from a client with actr_client_call and with
 * actr_request + actr_client_recv; request timeouts (ACTR_MSG_REQFAIL with
 * ACTR_ETIMEDOUT and the request's id) and the dropping of a reply that comes
 * after the timeout; requests to dead actors (ACTR_ENOACTOR at once, or as a
 * REQFAIL when the target dies with the request queued); actr_reply on a
 * message that is not a request (ACTR_ENOTREQ); bounded mailboxes
 * (ACTR_EMAILBOX on the 11th message, nothing lost); keeping a message past its
 * handler with actr_msg_ref; actr_exit; a handler or init returning an error
 * (the actor dies with the code's name as its reason); actr_self and
 * actr_is_alive; actr_actor_kill overtaking queued messages.
 *
 * The test thread talks to the actors through a client context and waits for
 * messages with deadlines; "nothing else arrives" is always checked against a
 * fence message that, by per-pair FIFO order, comes after what must not come.
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#include "actr.h"
#include "task.h"

/* User message types used here. */
enum {
    T_DATA = 200, /* anything; echoed or counted */
    T_ECHOED,     /* echo -> sender: a copy of what it got (type in the payload) */
    T_SEQ,        /* [seq:int] */
    T_GO,         /* start whatever the receiver does */
    T_DONE,       /* fence / "finished" */
    T_REPORT,     /* results, payload per test */
    T_REPLY_NOW,  /* holder: answer the request you kept */
    T_SIDE,       /* a message sent while a request is pending */
    T_CRASH,      /* crasher: return an error */
    T_TERM        /* terminate ran: [reason:str] */
};

#define WAIT_MS 10000

static actr_t *rt;
static actr_ctx_t *cl;

#define STASH_MAX 256
static actr_msg_t *stash[STASH_MAX];
static size_t nstash;

static void setup(void)
{
    actr_options_t o;
    actr_options_init(&o);
    o.log_level = ACTR_LOG_OFF; /* crashes below are expected */
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

/* The next message of `type` for the client (others are kept for later), or
 * NULL after timeout_ms. */
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

/* The very next message for the client, whatever its type (must arrive). */
static actr_msg_t *recv_next(void)
{
    ASSERT_EQ(nstash, 0);
    actr_msg_t *m = NULL;
    ASSERT_OK(actr_client_recv(cl, WAIT_MS, &m));
    ASSERT_NOT_NULL(m);
    return m;
}

/* Send a message built from `fmt` from ctx to `to`. */
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

static actr_msg_t *mk(uint32_t type)
{
    actr_msg_t *m = NULL;
    ASSERT_OK(actr_msg_new(cl, type, NULL, 0, &m));
    return m;
}

/* Spawn `beh` with init args "r" = the client's ref. */
static actr_ref_t spawn_owned(const actr_behavior_t *beh, const actr_spawn_opts_t *opts)
{
    unsigned char args[64];
    size_t len = 0;
    actr_ref_t ref;
    ASSERT_OK(actr_pack(args, sizeof args, &len, "r", actr_self(cl)));
    ASSERT_OK(actr_spawn(cl, beh, args, len, opts, &ref));
    return ref;
}

/* Wait for the DOWN of monitor `mid` and check its sender and reason. */
static void expect_down(uint64_t mid, actr_ref_t who, const char *reason)
{
    actr_msg_t *m = recv_type(ACTR_MSG_DOWN, WAIT_MS);
    ASSERT_NOT_NULL(m);
    uint64_t id = 0;
    const char *r = NULL;
    size_t rlen = 0;
    ASSERT_OK(actr_msg_down(m, &id, &r, &rlen));
    ASSERT_EQ(id, mid);
    ASSERT(actr_ref_eq(actr_msg_from(m), who));
    ASSERT_MEM_STR(r, rlen, reason);
    actr_msg_free(m);
}

/* ---- echo: answers requests with a copy, sends other messages back ---------- */

static int echo_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    (void)state;
    if (actr_msg_type(msg) > ACTR_MSG_USER_MAX)
        return 0;
    actr_msg_t *copy = NULL;
    int rc = actr_msg_dup(ctx, msg, &copy);
    if (rc != 0)
        return rc;
    if (actr_msg_is_request(msg))
        return actr_reply(ctx, msg, copy);
    return actr_send(ctx, actr_msg_from(msg), copy);
}

static const actr_behavior_t echo_beh = {
    .size = sizeof(actr_behavior_t),
    .name = "test.echo",
    .receive = echo_receive,
};

TEST_IMPL(messaging, send_recv_roundtrip)
{
    setup();
    actr_ref_t echo;
    ASSERT_OK(actr_spawn(cl, &echo_beh, NULL, 0, NULL, &echo));

    /* A structured payload: every kind of value. */
    unsigned char bin[1000];
    for (size_t i = 0; i < sizeof bin; i++)
        bin[i] = (unsigned char)(i * 7u);
    actr_msg_t *m = NULL;
    ASSERT_OK(actr_msg_pack(cl, T_DATA, &m, "[is{s:U}xrbnf]", -42, "hello", "k",
                            (uint64_t)UINT64_MAX, bin, sizeof bin, echo, 1, 2.5));
    size_t sent_len = 0;
    const void *d = actr_msg_data(m, &sent_len);
    unsigned char *sent = malloc(sent_len);
    ASSERT_NOT_NULL(sent);
    memcpy(sent, d, sent_len);
    ASSERT_OK(actr_send(cl, echo, m));

    actr_msg_t *r = recv_next();
    ASSERT_EQ(actr_msg_type(r), T_DATA);
    ASSERT(actr_ref_eq(actr_msg_from(r), echo));
    ASSERT_EQ(actr_msg_is_request(r), 0);
    ASSERT_EQ(actr_msg_is_reply(r), 0);
    ASSERT_EQ(actr_msg_request_id(r), 0);
    size_t got_len = 0;
    const void *got = actr_msg_data(r, &got_len);
    ASSERT_EQ(got_len, sent_len);
    ASSERT(memcmp(got, sent, sent_len) == 0);
    int i = 0;
    bool b = false;
    const char *s = NULL, *bp = NULL;
    size_t slen = 0, blen = 0;
    uint64_t u = 0;
    actr_ref_t ref;
    double f = 0;
    ASSERT_OK(actr_msg_unpack(r, "[is{s:U}xrbnf]", &i, &s, &slen, "k", &u, &bp, &blen, &ref, &b,
                              &f));
    ASSERT_EQ(i, -42);
    ASSERT_MEM_STR(s, slen, "hello");
    ASSERT(u == UINT64_MAX);
    ASSERT_EQ(blen, sizeof bin);
    ASSERT(memcmp(bp, bin, sizeof bin) == 0);
    ASSERT(actr_ref_eq(ref, echo));
    ASSERT_EQ(b, 1);
    ASSERT(f == 2.5);
    actr_msg_free(r);
    free(sent);

    /* An empty payload. */
    ASSERT_OK(actr_send(cl, echo, mk(T_DONE)));
    r = recv_next();
    ASSERT_EQ(actr_msg_type(r), T_DONE);
    actr_msg_data(r, &got_len);
    ASSERT_EQ(got_len, 0);
    actr_msg_free(r);

    /* A large raw payload (1 MiB) built in place with actr_msg_alloc. */
    const size_t big = 1u << 20;
    ASSERT_OK(actr_msg_alloc(cl, T_DATA, big, &m));
    unsigned char *buf = actr_msg_buffer(m);
    ASSERT_NOT_NULL(buf);
    for (size_t k = 0; k < big; k++)
        buf[k] = (unsigned char)(k ^ (k >> 8));
    ASSERT_OK(actr_send(cl, echo, m));
    r = recv_next();
    const unsigned char *gb = actr_msg_data(r, &got_len);
    ASSERT_EQ(got_len, big);
    for (size_t k = 0; k < big; k++)
        if (gb[k] != (unsigned char)(k ^ (k >> 8)))
            ASSERT_EQ(k, -1);
    actr_msg_free(r);
    teardown();
}

/* ---- FIFO per pair ------------------------------------------------------------ */

#define FIFO_SENDERS 4
#define FIFO_N 10000

/* seqcheck: tracks the next expected sequence number of each sender (by ref);
 * when it has counted `expected` messages it reports [total, errors] to the owner. */
typedef struct seqcheck {
    actr_ref_t owner;
    int expected;
    int total, errors;
    int nsenders;
    actr_ref_t senders[FIFO_SENDERS + 2];
    int next[FIFO_SENDERS + 2];
} seqcheck_t;

static int seqcheck_init(actr_ctx_t *ctx, void *state, const void *args, size_t len)
{
    (void)ctx;
    seqcheck_t *s = state;
    return actr_unpack(args, len, "[ri]", &s->owner, &s->expected);
}

static int seqcheck_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    seqcheck_t *s = state;
    if (actr_msg_type(msg) != T_SEQ)
        return 0;
    int seq = -1;
    int rc = actr_msg_unpack(msg, "[i]", &seq);
    if (rc != 0)
        return rc;
    actr_ref_t from = actr_msg_from(msg);
    int k = 0;
    while (k < s->nsenders && !actr_ref_eq(s->senders[k], from))
        k++;
    if (k == s->nsenders) {
        if (k == FIFO_SENDERS + 2)
            return ACTR_ERANGE;
        s->senders[s->nsenders++] = from;
    }
    if (seq != s->next[k])
        s->errors++;
    s->next[k] = seq + 1;
    if (++s->total == s->expected)
        return tell(ctx, s->owner, T_REPORT, "[ii]", s->total, s->errors);
    return 0;
}

static const actr_behavior_t seqcheck_beh = {
    .size = sizeof(actr_behavior_t),
    .name = "test.seqcheck",
    .state_size = sizeof(seqcheck_t),
    .init = seqcheck_init,
    .receive = seqcheck_receive,
};

/* seqsend: on [to, n] sends T_SEQ 0..n-1 to `to` from one handler. */
static int seqsend_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    (void)state;
    actr_ref_t to;
    int n = 0;
    int rc = actr_msg_unpack(msg, "[ri]", &to, &n);
    if (rc != 0)
        return rc;
    for (int i = 0; i < n; i++)
        if ((rc = tell(ctx, to, T_SEQ, "[i]", i)) != 0)
            return rc;
    return 0;
}

static const actr_behavior_t seqsend_beh = {
    .size = sizeof(actr_behavior_t),
    .name = "test.seqsend",
    .receive = seqsend_receive,
};

TEST_IMPL(messaging, fifo_per_pair)
{
    setup();
    unsigned char args[64];
    size_t len = 0;
    const int expected = (FIFO_SENDERS + 1) * FIFO_N;
    ASSERT_OK(actr_pack(args, sizeof args, &len, "[ri]", actr_self(cl), expected));
    actr_ref_t check;
    /* the checker takes a burst of all the senders at once: size its mailbox
     * for it (this test is about order, not about the bound) */
    actr_spawn_opts_t so = {.mailbox_limit = (uint32_t)expected};
    ASSERT_OK(actr_spawn(cl, &seqcheck_beh, args, len, &so, &check));

    actr_ref_t senders[FIFO_SENDERS];
    for (int i = 0; i < FIFO_SENDERS; i++)
        ASSERT_OK(actr_spawn(cl, &seqsend_beh, NULL, 0, NULL, &senders[i]));
    for (int i = 0; i < FIFO_SENDERS; i++)
        ASSERT_OK(tell(cl, senders[i], T_GO, "[ri]", check, FIFO_N));
    /* The client is a sender too, concurrently with the actors. */
    for (int i = 0; i < FIFO_N; i++)
        ASSERT_OK(tell(cl, check, T_SEQ, "[i]", i));

    actr_msg_t *r = recv_type(T_REPORT, WAIT_MS);
    ASSERT_NOT_NULL(r);
    int total = -1, errors = -1;
    ASSERT_OK(actr_msg_unpack(r, "[ii]", &total, &errors));
    ASSERT_EQ(total, expected);
    ASSERT_EQ(errors, 0);
    actr_msg_free(r);
    teardown();
}

/* ---- request/reply -------------------------------------------------------------- */

/* asker: on T_GO [target] sends a request T_DATA "ping" to target; checks the
 * reply and reports [ok:bool, reqid:uint] to its owner. */
typedef struct asker {
    actr_ref_t owner, target;
    uint64_t reqid;
} asker_t;

static int owner_init(actr_ctx_t *ctx, void *state, const void *args, size_t len)
{
    (void)ctx;
    actr_ref_t *owner = state; /* every state here starts with the owner's ref */
    return actr_unpack(args, len, "r", owner);
}

static int asker_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    asker_t *a = state;
    int rc;
    if (actr_msg_type(msg) == T_GO) {
        if ((rc = actr_msg_unpack(msg, "[r]", &a->target)) != 0)
            return rc;
        actr_msg_t *m = NULL;
        if ((rc = actr_msg_pack(ctx, T_DATA, &m, "s", "ping")) != 0)
            return rc;
        return actr_request(ctx, a->target, m, 0, &a->reqid);
    }
    const char *s = NULL;
    size_t slen = 0;
    int ok = actr_msg_is_reply(msg) && !actr_msg_is_request(msg) &&
             actr_msg_request_id(msg) == a->reqid && a->reqid != 0 &&
             actr_msg_type(msg) == T_DATA && actr_ref_eq(actr_msg_from(msg), a->target) &&
             actr_msg_unpack(msg, "s", &s, &slen) == 0 && slen == 4 && memcmp(s, "ping", 4) == 0;
    return tell(ctx, a->owner, T_REPORT, "[bU]", ok, a->reqid);
}

static const actr_behavior_t asker_beh = {
    .size = sizeof(actr_behavior_t),
    .name = "test.asker",
    .state_size = sizeof(asker_t),
    .init = owner_init,
    .receive = asker_receive,
};

TEST_IMPL(messaging, request_reply_actor)
{
    setup();
    actr_ref_t echo, asker;
    ASSERT_OK(actr_spawn(cl, &echo_beh, NULL, 0, NULL, &echo));
    asker = spawn_owned(&asker_beh, NULL);
    ASSERT_OK(tell(cl, asker, T_GO, "[r]", echo));
    actr_msg_t *r = recv_type(T_REPORT, WAIT_MS);
    ASSERT_NOT_NULL(r);
    bool ok = false;
    uint64_t id = 0;
    ASSERT_OK(actr_msg_unpack(r, "[bU]", &ok, &id));
    ASSERT_EQ(ok, 1);
    ASSERT_NE(id, 0);
    actr_msg_free(r);
    teardown();
}

/* chatty: on a request, first sends a T_SIDE to the requester, then replies. */
static int chatty_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    (void)state;
    if (!actr_msg_is_request(msg))
        return 0;
    int rc = tell(ctx, actr_msg_from(msg), T_SIDE, "i", 7);
    if (rc != 0)
        return rc;
    actr_msg_t *copy = NULL;
    if ((rc = actr_msg_dup(ctx, msg, &copy)) != 0)
        return rc;
    return actr_reply(ctx, msg, copy);
}

static const actr_behavior_t chatty_beh = {
    .size = sizeof(actr_behavior_t),
    .name = "test.chatty",
    .receive = chatty_receive,
};

TEST_IMPL(messaging, request_reply_client)
{
    setup();
    actr_ref_t echo, chatty;
    ASSERT_OK(actr_spawn(cl, &echo_beh, NULL, 0, NULL, &echo));
    ASSERT_OK(actr_spawn(cl, &chatty_beh, NULL, 0, NULL, &chatty));

    /* actr_client_call: the reply comes back directly. */
    for (int i = 0; i < 100; i++) {
        actr_msg_t *m = NULL, *reply = NULL;
        ASSERT_OK(actr_msg_pack(cl, T_DATA, &m, "[i]", i));
        ASSERT_OK(actr_client_call(cl, echo, m, WAIT_MS, &reply));
        ASSERT_NOT_NULL(reply);
        ASSERT_EQ(actr_msg_type(reply), T_DATA);
        ASSERT_EQ(actr_msg_is_reply(reply), 1);
        ASSERT_NE(actr_msg_request_id(reply), 0);
        ASSERT(actr_ref_eq(actr_msg_from(reply), echo));
        int v = -1;
        ASSERT_OK(actr_msg_unpack(reply, "[i]", &v));
        ASSERT_EQ(v, i);
        actr_msg_free(reply);
    }

    /* Other messages that arrive during a call stay queued for actr_client_recv. */
    actr_msg_t *reply = NULL;
    ASSERT_OK(actr_client_call(cl, chatty, mk(T_DATA), WAIT_MS, &reply));
    ASSERT_EQ(actr_msg_type(reply), T_DATA);
    ASSERT_EQ(actr_msg_is_reply(reply), 1);
    actr_msg_free(reply);
    actr_msg_t *side = recv_next();
    ASSERT_EQ(actr_msg_type(side), T_SIDE);
    ASSERT(actr_ref_eq(actr_msg_from(side), chatty));
    actr_msg_free(side);

    /* actr_request from a client: the reply arrives through actr_client_recv. */
    uint64_t id = 0;
    ASSERT_OK(actr_request(cl, echo, mk(T_SEQ), 0, &id));
    ASSERT_NE(id, 0);
    actr_msg_t *r = recv_next();
    ASSERT_EQ(actr_msg_type(r), T_SEQ);
    ASSERT_EQ(actr_msg_is_reply(r), 1);
    ASSERT_EQ(actr_msg_request_id(r), id);
    actr_msg_free(r);

    /* Request ids are distinct. */
    uint64_t id2 = 0;
    ASSERT_OK(actr_request(cl, echo, mk(T_SEQ), 0, &id2));
    ASSERT_NE(id2, id);
    r = recv_next();
    ASSERT_EQ(actr_msg_request_id(r), id2);
    actr_msg_free(r);
    teardown();
}

/* ---- timeouts and late replies --------------------------------------------------- */

/* holder: keeps the requests it gets (actr_msg_ref) without answering; on
 * T_REPLY_NOW it answers the kept one, then sends T_DONE [reply_rc] to the
 * T_REPLY_NOW's sender (after the reply, so FIFO makes T_DONE a fence). */
typedef struct holder {
    const actr_msg_t *kept;
} holder_t;

static int holder_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    holder_t *h = state;
    if (actr_msg_is_request(msg)) {
        if (h->kept != NULL)
            actr_msg_free(h->kept);
        actr_msg_ref(msg);
        h->kept = msg;
        return 0;
    }
    if (actr_msg_type(msg) == T_REPLY_NOW) {
        int rc = ACTR_ENOENT;
        if (h->kept != NULL) {
            actr_msg_t *reply = NULL;
            if ((rc = actr_msg_pack(ctx, T_DATA, &reply, "s", "late")) != 0)
                return rc;
            rc = actr_reply(ctx, h->kept, reply);
            actr_msg_free(h->kept);
            h->kept = NULL;
        }
        return tell(ctx, actr_msg_from(msg), T_DONE, "[i]", rc);
    }
    if (actr_msg_type(msg) == T_CRASH)
        return ACTR_ECANCELED;
    return 0;
}

static void holder_terminate(actr_ctx_t *ctx, void *state, const char *reason)
{
    (void)ctx;
    (void)reason;
    holder_t *h = state;
    actr_msg_free(h->kept);
    h->kept = NULL;
}

static const actr_behavior_t holder_beh = {
    .size = sizeof(actr_behavior_t),
    .name = "test.holder",
    .state_size = sizeof(holder_t),
    .receive = holder_receive,
    .terminate = holder_terminate,
};

/* waiter: on T_GO [target, timeout] requests target; on the REQFAIL tells the
 * target T_REPLY_NOW; on T_DONE reports [reqfails, replies, id_ok, err, reply_rc]. */
typedef struct waiter {
    actr_ref_t owner, target;
    uint64_t reqid;
    int reqfails, replies, id_ok, err;
} waiter_t;

static int waiter_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    waiter_t *w = state;
    int rc;
    uint32_t type = actr_msg_type(msg);
    if (type == T_GO) {
        int timeout = 0;
        if ((rc = actr_msg_unpack(msg, "[ri]", &w->target, &timeout)) != 0)
            return rc;
        actr_msg_t *m = NULL;
        if ((rc = actr_msg_new(ctx, T_DATA, NULL, 0, &m)) != 0)
            return rc;
        return actr_request(ctx, w->target, m, (uint32_t)timeout, &w->reqid);
    }
    if (type == ACTR_MSG_REQFAIL) {
        w->reqfails++;
        w->id_ok = actr_msg_request_id(msg) == w->reqid;
        w->err = actr_msg_error(msg);
        return tell(ctx, w->target, T_REPLY_NOW, "n");
    }
    if (actr_msg_is_reply(msg)) {
        w->replies++;
        return 0;
    }
    if (type == T_DONE) {
        int reply_rc = 1;
        if ((rc = actr_msg_unpack(msg, "[i]", &reply_rc)) != 0)
            return rc;
        return tell(ctx, w->owner, T_REPORT, "[iibii]", w->reqfails, w->replies, w->id_ok, w->err,
                    reply_rc);
    }
    return 0;
}

static const actr_behavior_t waiter_beh = {
    .size = sizeof(actr_behavior_t),
    .name = "test.waiter",
    .state_size = sizeof(waiter_t),
    .init = owner_init,
    .receive = waiter_receive,
};

TEST_IMPL(messaging, request_timeout_actor)
{
    setup();
    actr_ref_t holder, waiter;
    ASSERT_OK(actr_spawn(cl, &holder_beh, NULL, 0, NULL, &holder));
    waiter = spawn_owned(&waiter_beh, NULL);
    ASSERT_OK(tell(cl, waiter, T_GO, "[ri]", holder, 30));
    actr_msg_t *r = recv_type(T_REPORT, WAIT_MS);
    ASSERT_NOT_NULL(r);
    int reqfails = -1, replies = -1, err = 0, reply_rc = 1;
    bool id_ok = false;
    ASSERT_OK(actr_msg_unpack(r, "[iibii]", &reqfails, &replies, &id_ok, &err, &reply_rc));
    actr_msg_free(r);
    ASSERT_EQ(reqfails, 1);
    ASSERT_EQ(replies, 0); /* the late reply was dropped */
    ASSERT_EQ(id_ok, 1);
    ASSERT_ERR(err, ACTR_ETIMEDOUT);
    ASSERT_OK(reply_rc); /* the requester is alive: the reply is accepted, then dropped */
    teardown();
}

TEST_IMPL(messaging, request_timeout_client)
{
    setup();
    actr_ref_t holder;
    ASSERT_OK(actr_spawn(cl, &holder_beh, NULL, 0, NULL, &holder));

    /* actr_request + actr_client_recv: one REQFAIL with the id and ETIMEDOUT. */
    uint64_t id = 0;
    ASSERT_OK(actr_request(cl, holder, mk(T_DATA), 30, &id));
    actr_msg_t *m = recv_next();
    ASSERT_EQ(actr_msg_type(m), ACTR_MSG_REQFAIL);
    ASSERT_EQ(actr_msg_request_id(m), id);
    ASSERT_ERR(actr_msg_error(m), ACTR_ETIMEDOUT);
    ASSERT_EQ(actr_msg_is_reply(m), 0);
    int code = 0;
    ASSERT_OK(actr_msg_unpack(m, "[i]", &code));
    ASSERT_ERR(code, ACTR_ETIMEDOUT);
    actr_msg_free(m);
    /* The late reply is dropped: the next thing is the holder's fence. */
    ASSERT_OK(actr_send(cl, holder, mk(T_REPLY_NOW)));
    m = recv_next();
    ASSERT_EQ(actr_msg_type(m), T_DONE);
    int reply_rc = 1;
    ASSERT_OK(actr_msg_unpack(m, "[i]", &reply_rc));
    ASSERT_OK(reply_rc);
    actr_msg_free(m);

    /* actr_client_call: ETIMEDOUT, and neither the late reply nor a REQFAIL
     * shows up in the client's queue afterwards. */
    actr_msg_t *reply = NULL;
    ASSERT_ERR(actr_client_call(cl, holder, mk(T_DATA), 30, &reply), ACTR_ETIMEDOUT);
    ASSERT_OK(actr_send(cl, holder, mk(T_REPLY_NOW)));
    m = recv_next();
    ASSERT_EQ(actr_msg_type(m), T_DONE);
    actr_msg_free(m);
    ASSERT_ERR(actr_client_recv(cl, 0, &m), ACTR_ETIMEDOUT);
    teardown();
}

/* ---- requests to dead actors ------------------------------------------------------ */

TEST_IMPL(messaging, request_dead_actor)
{
    setup();
    actr_ref_t echo;
    uint64_t mid = 0;
    actr_spawn_opts_t so = {.monitor_id = &mid};
    ASSERT_OK(actr_spawn(cl, &echo_beh, NULL, 0, &so, &echo));
    ASSERT_OK(actr_actor_stop(cl, echo, "bye"));
    expect_down(mid, echo, "bye");

    uint64_t id = 0;
    ASSERT_ERR(actr_request(cl, echo, mk(T_DATA), 100, &id), ACTR_ENOACTOR);
    ASSERT_ERR(actr_request(cl, echo, mk(T_DATA), 0, &id), ACTR_ENOACTOR);
    actr_msg_t *reply = NULL;
    ASSERT_ERR(actr_client_call(cl, echo, mk(T_DATA), 1000, &reply), ACTR_ENOACTOR);
    ASSERT_ERR(actr_send(cl, echo, mk(T_DATA)), ACTR_ENOACTOR);
    /* A failed request delivers nothing later. */
    actr_msg_t *m = NULL;
    ASSERT_ERR(actr_client_recv(cl, 50, &m), ACTR_ETIMEDOUT);
    teardown();
}

/* A request still queued when its target dies is answered by a REQFAIL with
 * ENOACTOR (no timeout was set, so nothing else would ever answer it). The
 * mailbox is filled before the runtime starts — a message that makes the
 * holder crash, then the request — so the order is deterministic. */
TEST_IMPL(messaging, request_dies_in_mailbox)
{
    actr_options_t o;
    actr_options_init(&o);
    o.log_level = ACTR_LOG_OFF;
    ASSERT_OK(actr_open(&rt, &o));
    ASSERT_OK(actr_client_open(rt, &cl));
    nstash = 0;
    actr_ref_t holder;
    ASSERT_OK(actr_spawn(cl, &holder_beh, NULL, 0, NULL, &holder));
    ASSERT_OK(actr_send(cl, holder, mk(T_CRASH)));
    uint64_t id = 0;
    ASSERT_OK(actr_request(cl, holder, mk(T_DATA), 0, &id));
    ASSERT_OK(actr_start(rt));
    actr_msg_t *m = recv_next();
    ASSERT_EQ(actr_msg_type(m), ACTR_MSG_REQFAIL);
    ASSERT_EQ(actr_msg_request_id(m), id);
    ASSERT_ERR(actr_msg_error(m), ACTR_ENOACTOR);
    actr_msg_free(m);
    teardown();
}

/* ---- actr_reply on a non-request ------------------------------------------------- */

/* replier: answers every message with actr_reply and reports the result code. */
static int replier_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    actr_ref_t *owner = state;
    actr_msg_t *reply = NULL;
    int rc = actr_msg_new(ctx, T_DATA, NULL, 0, &reply);
    if (rc != 0)
        return rc;
    int rrc = actr_reply(ctx, msg, reply); /* consumes reply on every path */
    return tell(ctx, *owner, T_REPORT, "[ib]", rrc, actr_msg_is_request(msg));
}

static const actr_behavior_t replier_beh = {
    .size = sizeof(actr_behavior_t),
    .name = "test.replier",
    .state_size = sizeof(actr_ref_t),
    .init = owner_init,
    .receive = replier_receive,
};

TEST_IMPL(messaging, reply_non_request)
{
    setup();
    actr_ref_t rep = spawn_owned(&replier_beh, NULL);
    ASSERT_OK(actr_send(cl, rep, mk(T_DATA)));
    actr_msg_t *m = recv_type(T_REPORT, WAIT_MS);
    ASSERT_NOT_NULL(m);
    int rc = 0;
    bool isreq = true;
    ASSERT_OK(actr_msg_unpack(m, "[ib]", &rc, &isreq));
    ASSERT_ERR(rc, ACTR_ENOTREQ);
    ASSERT_EQ(isreq, 0);
    /* From a client too, on a message it received. */
    actr_msg_t *reply = NULL;
    ASSERT_OK(actr_msg_new(cl, T_DATA, NULL, 0, &reply));
    ASSERT_ERR(actr_reply(cl, m, reply), ACTR_ENOTREQ);
    actr_msg_free(m);
    /* And on a message never sent at all. */
    actr_msg_t *fresh = mk(T_DATA);
    ASSERT_OK(actr_msg_new(cl, T_DATA, NULL, 0, &reply));
    ASSERT_ERR(actr_reply(cl, fresh, reply), ACTR_ENOTREQ);
    actr_msg_free(fresh);

    /* A real request to the same actor: its reply succeeds. */
    ASSERT_OK(actr_client_call(cl, rep, mk(T_DATA), WAIT_MS, &reply));
    actr_msg_free(reply);
    m = recv_type(T_REPORT, WAIT_MS);
    ASSERT_NOT_NULL(m);
    ASSERT_OK(actr_msg_unpack(m, "[ib]", &rc, &isreq));
    ASSERT_OK(rc);
    ASSERT_EQ(isreq, 1);
    actr_msg_free(m);
    teardown();
}

/* ---- bounded mailboxes ---------------------------------------------------------- */

/* counter: counts T_SEQ (checking order); answers a request with [count, errors]. */
typedef struct counter {
    int count, errors;
} counter_t;

static int counter_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    counter_t *c = state;
    if (actr_msg_is_request(msg)) {
        actr_msg_t *reply = NULL;
        int rc = actr_msg_pack(ctx, T_REPORT, &reply, "[ii]", c->count, c->errors);
        if (rc != 0)
            return rc;
        return actr_reply(ctx, msg, reply);
    }
    int seq = -1;
    if (actr_msg_unpack(msg, "[i]", &seq) != 0 || seq != c->count)
        c->errors++;
    c->count++;
    return 0;
}

static const actr_behavior_t counter_beh = {
    .size = sizeof(actr_behavior_t),
    .name = "test.counter",
    .state_size = sizeof(counter_t),
    .receive = counter_receive,
};

/* The mailbox is filled before the runtime starts, so nothing drains it. */
TEST_IMPL(messaging, mailbox_limit)
{
    actr_options_t o;
    actr_options_init(&o);
    o.log_level = ACTR_LOG_OFF;
    ASSERT_OK(actr_open(&rt, &o));
    ASSERT_OK(actr_client_open(rt, &cl));
    nstash = 0;

    actr_spawn_opts_t so = {.mailbox_limit = 10};
    actr_ref_t c;
    ASSERT_OK(actr_spawn(cl, &counter_beh, NULL, 0, &so, &c));
    for (int i = 0; i < 10; i++)
        ASSERT_OK(tell(cl, c, T_SEQ, "[i]", i));
    ASSERT_ERR(tell(cl, c, T_SEQ, "[i]", 10), ACTR_EMAILBOX);
    ASSERT_ERR(tell(cl, c, T_SEQ, "[i]", 10), ACTR_EMAILBOX);
    uint64_t id = 0;
    ASSERT_ERR(actr_request(cl, c, mk(T_DATA), 0, &id), ACTR_EMAILBOX);

    ASSERT_OK(actr_start(rt));
    /* Once it drains, the mailbox accepts again; the request is a fence. */
    actr_msg_t *reply = NULL;
    int rc;
    uint64_t deadline = test_now_ms() + WAIT_MS;
    while ((rc = actr_client_call(cl, c, mk(T_DATA), WAIT_MS, &reply)) == ACTR_EMAILBOX) {
        ASSERT(test_now_ms() < deadline);
        test_nap_ms(1);
    }
    ASSERT_OK(rc);
    int count = -1, errors = -1;
    ASSERT_OK(actr_msg_unpack(reply, "[ii]", &count, &errors));
    ASSERT_EQ(count, 10);
    ASSERT_EQ(errors, 0);
    actr_msg_free(reply);
    /* Nothing arrived for the client from the failed request. */
    actr_msg_t *m = NULL;
    ASSERT_ERR(actr_client_recv(cl, 0, &m), ACTR_ETIMEDOUT);
    teardown();
}

/* ---- actr_msg_ref keeps a message --------------------------------------------------- */

/* keeper: keeps every T_DATA; on a request answers with the kept payloads
 * concatenated (as one string) and frees them. */
typedef struct keeper {
    const actr_msg_t *kept[8];
    int n;
} keeper_t;

static int keeper_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    keeper_t *k = state;
    if (actr_msg_type(msg) == T_DATA && !actr_msg_is_request(msg)) {
        if (k->n == 8)
            return ACTR_ERANGE;
        actr_msg_ref(msg);
        k->kept[k->n++] = msg;
        return 0;
    }
    if (!actr_msg_is_request(msg))
        return 0;
    char text[256];
    size_t used = 0;
    for (int i = 0; i < k->n; i++) {
        const char *s = NULL;
        size_t slen = 0;
        int rc = actr_msg_unpack(k->kept[i], "s", &s, &slen);
        if (rc != 0)
            return rc;
        if (used + slen >= sizeof text)
            return ACTR_E2BIG;
        memcpy(text + used, s, slen);
        used += slen;
        actr_msg_free(k->kept[i]);
    }
    k->n = 0;
    actr_msg_t *reply = NULL;
    int rc = actr_msg_pack(ctx, T_REPORT, &reply, "S", text, used);
    if (rc != 0)
        return rc;
    return actr_reply(ctx, msg, reply);
}

static void keeper_terminate(actr_ctx_t *ctx, void *state, const char *reason)
{
    (void)ctx;
    (void)reason;
    keeper_t *k = state;
    for (int i = 0; i < k->n; i++)
        actr_msg_free(k->kept[i]);
    k->n = 0;
}

static const actr_behavior_t keeper_beh = {
    .size = sizeof(actr_behavior_t),
    .name = "test.keeper",
    .state_size = sizeof(keeper_t),
    .receive = keeper_receive,
    .terminate = keeper_terminate,
};

TEST_IMPL(messaging, msg_ref_keeps)
{
    setup();
    actr_ref_t k;
    ASSERT_OK(actr_spawn(cl, &keeper_beh, NULL, 0, NULL, &k));
    const char *parts[] = {"one,", "two,", "three"};
    for (int i = 0; i < 3; i++)
        ASSERT_OK(tell(cl, k, T_DATA, "s", parts[i]));
    /* Other traffic in between, so freed memory would be reused. */
    actr_ref_t echo;
    ASSERT_OK(actr_spawn(cl, &echo_beh, NULL, 0, NULL, &echo));
    for (int i = 0; i < 50; i++) {
        actr_msg_t *reply = NULL;
        ASSERT_OK(actr_client_call(cl, echo, mk(T_SEQ), WAIT_MS, &reply));
        actr_msg_free(reply);
    }
    actr_msg_t *reply = NULL;
    ASSERT_OK(actr_client_call(cl, k, mk(T_GO), WAIT_MS, &reply));
    const char *s = NULL;
    size_t slen = 0;
    ASSERT_OK(actr_msg_unpack(reply, "s", &s, &slen));
    ASSERT_MEM_STR(s, slen, "one,two,three");
    actr_msg_free(reply);

    /* The client side: a received message outlives a second reference's drop. */
    ASSERT_OK(tell(cl, echo, T_DATA, "s", "kept"));
    actr_msg_t *m = recv_next();
    actr_msg_ref(m);
    actr_msg_free(m);
    ASSERT_OK(actr_msg_unpack(m, "s", &s, &slen));
    ASSERT_MEM_STR(s, slen, "kept");
    actr_msg_free(m);
    /* Kept messages still held at stop are released by terminate (ASan checks). */
    ASSERT_OK(tell(cl, k, T_DATA, "s", "held at stop"));
    teardown();
}

/* ---- actr_exit, crashes ----------------------------------------------------------- */

static atomic_int exits_rc;

/* quitter: on T_DATA [reason] exits with that reason; terminate reports it. */
static int quitter_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    (void)state;
    if (actr_msg_type(msg) == T_DATA) {
        const char *r = NULL;
        size_t rlen = 0;
        int rc = actr_msg_unpack(msg, "[s]", &r, &rlen);
        if (rc != 0)
            return rc;
        char reason[64];
        snprintf(reason, sizeof reason, "%.*s", (int)rlen, r);
        atomic_store(&exits_rc, actr_exit(ctx, reason));
        return 0;
    }
    return 0;
}

static void quitter_terminate(actr_ctx_t *ctx, void *state, const char *reason)
{
    actr_ref_t *owner = state;
    (void)tell(ctx, *owner, T_TERM, "s", reason);
}

static const actr_behavior_t quitter_beh = {
    .size = sizeof(actr_behavior_t),
    .name = "test.quitter",
    .state_size = sizeof(actr_ref_t),
    .init = owner_init,
    .receive = quitter_receive,
    .terminate = quitter_terminate,
};

static void expect_term(const char *reason)
{
    actr_msg_t *m = recv_type(T_TERM, WAIT_MS);
    ASSERT_NOT_NULL(m);
    const char *r = NULL;
    size_t rlen = 0;
    ASSERT_OK(actr_msg_unpack(m, "s", &r, &rlen));
    ASSERT_MEM_STR(r, rlen, reason);
    actr_msg_free(m);
}

TEST_IMPL(messaging, exit_from_handler)
{
    setup();
    atomic_store(&exits_rc, 1);
    uint64_t mid = 0;
    actr_spawn_opts_t so = {.monitor_id = &mid};
    actr_ref_t q = spawn_owned(&quitter_beh, &so);
    ASSERT_NE(mid, 0);
    ASSERT_EQ(actr_is_alive(cl, q), 1);
    /* Messages behind the exiting one are never handled (the second send may
     * also find the actor gone already). */
    ASSERT_OK(tell(cl, q, T_DATA, "[s]", "bye"));
    int rc = tell(cl, q, T_DATA, "[s]", "second");
    if (rc != 0)
        ASSERT_ERR(rc, ACTR_ENOACTOR);
    expect_down(mid, q, "bye");
    expect_term("bye");
    ASSERT_OK(atomic_load(&exits_rc));
    ASSERT_EQ(actr_is_alive(cl, q), 0);
    ASSERT_ERR(tell(cl, q, T_DATA, "[s]", "late"), ACTR_ENOACTOR);

    /* "normal" is a clean exit too, and monitors see it. */
    so.monitor_id = &mid;
    q = spawn_owned(&quitter_beh, &so);
    ASSERT_OK(tell(cl, q, T_DATA, "[s]", ACTR_REASON_NORMAL));
    expect_down(mid, q, ACTR_REASON_NORMAL);
    expect_term(ACTR_REASON_NORMAL);
    ASSERT_EQ(nstash, 0);
    teardown();
}

/* crasher: returns ACTR_EINVAL from receive on T_CRASH; init fails with the
 * code in its args when nonzero. */
static int crasher_init(actr_ctx_t *ctx, void *state, const void *args, size_t len)
{
    (void)state;
    (void)ctx;
    int code = 0;
    if (args != NULL && actr_unpack(args, len, "i", &code) == 0 && code != 0)
        return code;
    return 0;
}

static int crasher_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    (void)ctx;
    (void)state;
    return actr_msg_type(msg) == T_CRASH ? ACTR_EINVAL : 0;
}

static atomic_int crasher_terms;

static void crasher_terminate(actr_ctx_t *ctx, void *state, const char *reason)
{
    (void)ctx;
    (void)state;
    (void)reason;
    atomic_fetch_add(&crasher_terms, 1);
}

static const actr_behavior_t crasher_beh = {
    .size = sizeof(actr_behavior_t),
    .name = "test.crasher",
    .init = crasher_init,
    .receive = crasher_receive,
    .terminate = crasher_terminate,
};

/* trapper: spawns a linked crasher on T_GO, forwards ACTR_MSG_EXIT reasons to its owner. */
static int trapper_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    actr_ref_t *owner = state;
    int rc;
    if (actr_msg_type(msg) == T_GO) {
        actr_spawn_opts_t so = {.link = 1};
        actr_ref_t child;
        if ((rc = actr_trap_exit(ctx, 1)) != 0)
            return rc;
        if ((rc = actr_spawn(ctx, &crasher_beh, NULL, 0, &so, &child)) != 0)
            return rc;
        if ((rc = tell(ctx, *owner, T_DATA, "r", child)) != 0)
            return rc;
        return 0;
    }
    if (actr_msg_type(msg) == ACTR_MSG_EXIT) {
        const char *r = NULL;
        size_t rlen = 0;
        if ((rc = actr_msg_exit(msg, &r, &rlen)) != 0)
            return rc;
        return tell(ctx, *owner, T_REPORT, "[rS]", actr_msg_from(msg), r, rlen);
    }
    return 0;
}

static const actr_behavior_t trapper_beh = {
    .size = sizeof(actr_behavior_t),
    .name = "test.trapper",
    .state_size = sizeof(actr_ref_t),
    .init = owner_init,
    .receive = trapper_receive,
};

TEST_IMPL(messaging, handler_error_crashes)
{
    setup();
    atomic_store(&crasher_terms, 0);
    const char *einval = actr_err_name(ACTR_EINVAL);
    ASSERT_STR_EQ(einval, "EINVAL");

    /* A receive error: the actor dies with the code's name; terminate runs. */
    uint64_t mid = 0;
    actr_spawn_opts_t so = {.monitor_id = &mid};
    actr_ref_t c;
    ASSERT_OK(actr_spawn(cl, &crasher_beh, NULL, 0, &so, &c));
    ASSERT_OK(actr_send(cl, c, mk(T_DATA)));
    ASSERT_OK(actr_send(cl, c, mk(T_CRASH)));
    expect_down(mid, c, einval);
    ASSERT_EQ(actr_is_alive(cl, c), 0);
    ASSERT_EVENTUALLY(atomic_load(&crasher_terms) == 1, WAIT_MS);

    /* An init error: the actor dies with that reason, terminate does not run. */
    unsigned char args[16];
    size_t len = 0;
    ASSERT_OK(actr_pack(args, sizeof args, &len, "i", ACTR_ENOENT));
    ASSERT_OK(actr_spawn(cl, &crasher_beh, args, len, &so, &c));
    expect_down(mid, c, "ENOENT");

    /* A linked actor that traps exits gets ACTR_MSG_EXIT with the same reason. */
    actr_ref_t t = spawn_owned(&trapper_beh, NULL);
    ASSERT_OK(actr_send(cl, t, mk(T_GO)));
    actr_msg_t *m = recv_type(T_DATA, WAIT_MS);
    ASSERT_NOT_NULL(m);
    actr_ref_t child;
    ASSERT_OK(actr_msg_unpack(m, "r", &child));
    actr_msg_free(m);
    ASSERT_OK(actr_send(cl, child, mk(T_CRASH)));
    m = recv_type(T_REPORT, WAIT_MS);
    ASSERT_NOT_NULL(m);
    actr_ref_t from;
    const char *r = NULL;
    size_t rlen = 0;
    ASSERT_OK(actr_msg_unpack(m, "[rs]", &from, &r, &rlen));
    ASSERT(actr_ref_eq(from, child));
    ASSERT_MEM_STR(r, rlen, einval);
    actr_msg_free(m);
    ASSERT_EQ(actr_is_alive(cl, t), 1);
    teardown();
    /* terminate ran for the two crashes after init, not for the failed init. */
    ASSERT_EQ(atomic_load(&crasher_terms), 2);
}

/* ---- actr_self, actr_is_alive ----------------------------------------------------- */

/* whoami: answers a request with [self, runtime-matches]. */
static int whoami_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    (void)state;
    if (!actr_msg_is_request(msg))
        return 0;
    actr_msg_t *reply = NULL;
    int rc = actr_msg_pack(ctx, T_REPORT, &reply, "[rbb]", actr_self(ctx),
                           actr_ctx_runtime(ctx) == rt, actr_is_alive(ctx, actr_self(ctx)));
    if (rc != 0)
        return rc;
    return actr_reply(ctx, msg, reply);
}

static const actr_behavior_t whoami_beh = {
    .size = sizeof(actr_behavior_t),
    .name = "test.whoami",
    .receive = whoami_receive,
};

TEST_IMPL(messaging, self_and_alive)
{
    setup();
    actr_ref_t me = actr_self(cl);
    ASSERT(!actr_ref_is_none(me));
    ASSERT_EQ(me.node, actr_node_id(rt));
    ASSERT_NE(me.gen, 0);
    ASSERT(actr_ctx_runtime(cl) == rt);

    actr_ref_t w[3];
    for (int i = 0; i < 3; i++) {
        ASSERT_OK(actr_spawn(cl, &whoami_beh, NULL, 0, NULL, &w[i]));
        ASSERT_EQ(w[i].node, actr_node_id(rt));
        ASSERT_NE(w[i].gen, 0);
        ASSERT_EQ(actr_is_alive(cl, w[i]), 1);
    }
    ASSERT(!actr_ref_eq(w[0], w[1]) && !actr_ref_eq(w[1], w[2]) && !actr_ref_eq(w[0], w[2]));
    for (int i = 0; i < 3; i++) {
        actr_msg_t *reply = NULL;
        ASSERT_OK(actr_client_call(cl, w[i], mk(T_DATA), WAIT_MS, &reply));
        actr_ref_t self;
        bool same_rt = false, alive = false;
        ASSERT_OK(actr_msg_unpack(reply, "[rbb]", &self, &same_rt, &alive));
        ASSERT(actr_ref_eq(self, w[i]));
        ASSERT_EQ(same_rt, 1);
        ASSERT_EQ(alive, 1);
        actr_msg_free(reply);
    }

    /* The echo shows what the receiver sees as the client's ref. */
    actr_ref_t echo;
    ASSERT_OK(actr_spawn(cl, &echo_beh, NULL, 0, NULL, &echo));
    ASSERT_OK(tell(cl, echo, T_DATA, "r", me));
    actr_msg_t *m = recv_next();
    ASSERT(actr_ref_eq(actr_msg_from(m), echo));
    actr_msg_free(m);

    uint64_t mid = 0;
    ASSERT_OK(actr_monitor(cl, w[1], &mid));
    ASSERT_OK(actr_actor_stop(cl, w[1], NULL));
    expect_down(mid, w[1], ACTR_REASON_SHUTDOWN);
    ASSERT_EQ(actr_is_alive(cl, w[1]), 0);
    ASSERT_EQ(actr_is_alive(cl, w[0]), 1);
    ASSERT_EQ(actr_is_alive(cl, w[2]), 1);
    ASSERT_EQ(actr_is_alive(cl, ACTR_REF_NONE), 0);
    teardown();
}

/* ---- kill overtakes queued messages ------------------------------------------------ */

static atomic_int seen_before_kill;

static int tally_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    (void)ctx;
    (void)state;
    (void)msg;
    atomic_fetch_add(&seen_before_kill, 1);
    return 0;
}

static const actr_behavior_t tally_beh = {
    .size = sizeof(actr_behavior_t),
    .name = "test.tally",
    .receive = tally_receive,
};

/* actr_actor_kill acts "at the next message boundary, ahead of queued
 * messages": messages queued before the runtime starts are never handled. */
TEST_IMPL(messaging, kill_skips_queued)
{
    actr_options_t o;
    actr_options_init(&o);
    o.log_level = ACTR_LOG_OFF;
    ASSERT_OK(actr_open(&rt, &o));
    ASSERT_OK(actr_client_open(rt, &cl));
    nstash = 0;
    atomic_store(&seen_before_kill, 0);
    uint64_t mid = 0;
    actr_spawn_opts_t so = {.monitor_id = &mid};
    actr_ref_t t;
    ASSERT_OK(actr_spawn(cl, &tally_beh, NULL, 0, &so, &t));
    for (int i = 0; i < 5; i++)
        ASSERT_OK(actr_send(cl, t, mk(T_DATA)));
    ASSERT_OK(actr_actor_kill(cl, t));
    ASSERT_OK(actr_start(rt));
    expect_down(mid, t, ACTR_REASON_KILLED);
    ASSERT_EQ(atomic_load(&seen_before_kill), 0);
    teardown();
}

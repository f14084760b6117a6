/* tests/plugins/cluster_probe.c — test plugin "cluster_probe": actors that a
 * cluster test drives over `actr ctl call NAME '{...}'` on each node, and
 * that record what they receive so the test can check the cluster's
 * guarantees (FIFO per sender-receiver pair, no loss, no duplicates, DOWN and
 * exit reasons, failed requests).
 *
 * One actor type, "cluster.probe". Init args (optional map):
 *   {trap_exit: bool (default true)}  a probe that does not trap exits dies
 *                                     with the reason of a linked actor.
 *
 * Commands arrive as requests whose payload is a map with "op" (ctl's JSON);
 * each is answered with a map {"ok":true,...} or {"ok":false,"error":NAME,
 * "detail":TEXT}. A target is given as "to" (a registered name, "name" or
 * "name@node") or as "ref" (the string "NODEHEX.SLOT.GEN" that "self",
 * "resolve" and the stats print). A plugin has no cluster-wide lookup (the
 * host table has no actr_lookup), so "to" is resolved by asking the target
 * itself: a WHO message sent by name, answered by the target with its ref
 * (an IAM message); no answer within "resolve_ms" (default 3000) fails the
 * command with error "unresolved".
 *
 *   {"op":"self"}                         -> {"ok":true,"ref":R}
 *   {"op":"resolve", target}              -> {"ok":true,"ref":R}
 *   {"op":"send", target, "n":K, "stream":S [, "resolve":true] [, "pad":BYTES]}
 *        sends K messages [S, seq] (seq 0..K-1; with pad, [S, seq, BYTES zero
 *        bytes]) by name (or to the ref when
 *        "ref" is given or "resolve" is true), in batches, retrying after a
 *        short timer on ACTR_EAGAIN (the cluster's backpressure) and
 *        ACTR_EMAILBOX; answers when all are sent:
 *                                         -> {"ok":true,"sent":K,"eagain":N,"emailbox":N}
 *        or at the first other error      -> {"ok":false,"error":E,"sent":N}
 *   {"op":"call", target, "timeout":MS (default 5000), "hold":bool,
 *    "arg":ANY, "wait":bool (default true)}
 *        a request to the target probe, which answers {"echo":ARG,"by":R}
 *        (or, with "hold", keeps it unanswered until "release"). With wait,
 *        the answer comes when the request ends: {"ok":true,"reply":{...}}
 *        or {"ok":false,"error":"ENOTCONN"|"ETIMEDOUT"|...,"ms":M}; without,
 *        at once: {"ok":true,"call":I}, and the outcome shows in the stats.
 *   {"op":"monitor", target}              -> {"ok":true,"id":"ID","ref":R}
 *   {"op":"demonitor","id":"ID"}          -> {"ok":true}
 *   {"op":"link", target [, "trap":bool]} -> {"ok":true,"ref":R} (trap: set
 *                                            exit trapping first)
 *   {"op":"unlink", target}               -> {"ok":true}
 *   {"op":"stop", target, "reason":T}     -> {"ok":true} (actr_actor_stop)
 *   {"op":"kill", target}                 -> {"ok":true} (actr_actor_kill)
 *   {"op":"exit","reason":T}              -> {"ok":true}, then this actor exits
 *   {"op":"sub","topic":T} / {"op":"unsub","topic":T} -> {"ok":true}
 *   {"op":"pub","topic":T,"n":K,"stream":S}
 *        publishes K messages [T, S, seq]  -> {"ok":true,"published":K,
 *                                             "delivered":N (summed local counts)}
 *   {"op":"release"}                      -> {"ok":true,"released":N}
 *   {"op":"reset"}                        -> {"ok":true} (forgets streams, downs,
 *                                            exits and finished calls)
 *   {"op":"stats"} -> {"ok":true,"ref":R,
 *        "streams":[{"stream":S,"topic":T ("" for sends),"from":R,"count":N,
 *                    "next":N,"order_errors":N,"dups":N}],
 *        "downs":[{"id":"ID","from":R,"reason":T}],
 *        "exits":[{"from":R,"reason":T}],
 *        "calls":[{"call":I,"state":"pending"|"ok"|"failed","error":E,"ms":M}],
 *        "held":N, "unblocked":N, "sending":bool, "overflow":N}
 * A stream is one (sender ref, topic, stream id): for each, "next" is the
 * next seq expected; a seq below it counts in "dups", one above it in
 * "order_errors" (a gap: loss or reordering), and FIFO without loss or
 * duplicates means count == next == K with both error counts 0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <actr/plugin.h>

#define T_CTL 1u              /* ctl's default request type */
#define T_SEQ 0x70001u        /* [stream, seq] */
#define T_WHO 0x70002u        /* [token]: answer with T_IAM to the sender */
#define T_IAM 0x70003u        /* [token, ref] */
#define T_CALL 0x70004u       /* request [hold, arg] */
#define T_PUBM 0x70005u       /* [topic, stream, seq] */
#define T_RTMO 0x70006u       /* [token]: a resolve's deadline */
#define T_CONT 0x70007u       /* continue the send job */

#define MAX_STREAMS 64
#define MAX_EVENTS 64
#define MAX_CALLS 128
#define MAX_PEND 32
#define MAX_HELD 64
#define SEND_BATCH 512
#define RETRY_MS 2
#define REPLY_CAP (64u * 1024u)
#define RESOLVE_MS 3000

typedef struct stream {
    actr_ref_t from;
    uint64_t id, count, next, order_errors, dups;
    char topic[64];
} stream_t;

typedef struct event {
    actr_ref_t from;
    uint64_t id;
    char reason[128];
} event_t;

enum { CALL_PENDING = 1, CALL_OK, CALL_FAILED };

typedef struct call {
    uint64_t req, t0, ms;
    int state, err;
    const actr_msg_t *ctl; /* the ctl request waiting for the outcome (a reference), or NULL */
} call_t;

typedef struct pend {
    uint64_t token; /* 0: free */
    const actr_msg_t *ctl;
    uint64_t timer;
} pend_t;

typedef struct sendjob {
    const actr_msg_t *ctl; /* NULL: no job */
    int by_ref;
    actr_ref_t ref;
    char name[256];
    uint64_t n, sent, stream, eagain, emailbox;
    void *pad; /* pad_len zero bytes carried by every message, or NULL */
    size_t pad_len;
} sendjob_t;

typedef struct probe {
    stream_t streams[MAX_STREAMS];
    size_t nstreams;
    event_t downs[MAX_EVENTS], exits[MAX_EVENTS];
    size_t ndowns, nexits;
    call_t calls[MAX_CALLS];
    size_t ncalls;
    pend_t pend[MAX_PEND];
    uint64_t next_token;
    const actr_msg_t *held[MAX_HELD];
    size_t nheld;
    sendjob_t job;
    uint64_t unblocked, overflow;
} probe_t;

/* ---- small helpers -------------------------------------------------------------------- */

static const char *err_name(int rc)
{
    static const struct {
        int code;
        const char *name;
    } names[] = {
        {ACTR_E2BIG, "E2BIG"},       {ACTR_EAGAIN, "EAGAIN"},       {ACTR_ENOMEM, "ENOMEM"},
        {ACTR_EBUSY, "EBUSY"},       {ACTR_EEXIST, "EEXIST"},       {ACTR_ENOENT, "ENOENT"},
        {ACTR_EINVAL, "EINVAL"},     {ACTR_ETIMEDOUT, "ETIMEDOUT"}, {ACTR_ENOTCONN, "ENOTCONN"},
        {ACTR_EPROTO, "EPROTO"},     {ACTR_ENOACTOR, "ENOACTOR"},   {ACTR_EMAILBOX, "EMAILBOX"},
        {ACTR_EMSGPACK, "EMSGPACK"}, {ACTR_ETYPE, "ETYPE"},         {ACTR_ESTOPPED, "ESTOPPED"},
        {ACTR_ENONODE, "ENONODE"},   {ACTR_ECONTEXT, "ECONTEXT"},   {ACTR_ENOTREQ, "ENOTREQ"},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (names[i].code == rc)
            return names[i].name;
    return "EUNKNOWN";
}

static void ref_str(actr_ref_t r, char *buf /* [48] */)
{
    snprintf(buf, 48, "%016llx.%u.%u", (unsigned long long)r.node, r.slot, r.gen);
}

static int ref_parse(const char *s, actr_ref_t *out)
{
    char *end;
    unsigned long long node = strtoull(s, &end, 16);
    if (end == s || *end != '.')
        return ACTR_EINVAL;
    s = end + 1;
    unsigned long slot = strtoul(s, &end, 10);
    if (end == s || *end != '.')
        return ACTR_EINVAL;
    s = end + 1;
    unsigned long gen = strtoul(s, &end, 10);
    if (end == s || *end != '\0' || slot > UINT32_MAX || gen > UINT32_MAX)
        return ACTR_EINVAL;
    *out = (actr_ref_t){(uint64_t)node, (uint32_t)slot, (uint32_t)gen};
    return 0;
}

/* A string field of the command map into buf (NUL-terminated). Returns 0,
 * ACTR_ENOENT (absent), ACTR_E2BIG, or the unpack error (not a string). */
static int field_str(actr_ctx_t *ctx, const actr_msg_t *m, const char *key, char *buf, size_t cap)
{
    size_t len = 0;
    const void *d = actr_ctx_msg_data(ctx, m, &len);
    const char *p = NULL;
    size_t pl = 0;
    int rc = actr_ctx_unpack(ctx, d, len, "{?s:s}", key, &p, &pl);
    if (rc != 0)
        return rc;
    if (p == NULL)
        return ACTR_ENOENT;
    if (pl >= cap || memchr(p, '\0', pl) != NULL)
        return ACTR_E2BIG;
    memcpy(buf, p, pl);
    buf[pl] = '\0';
    return 0;
}

static int field_u64(actr_ctx_t *ctx, const actr_msg_t *m, const char *key, uint64_t dflt,
                     uint64_t *out)
{
    size_t len = 0;
    const void *d = actr_ctx_msg_data(ctx, m, &len);
    *out = dflt;
    return actr_ctx_unpack(ctx, d, len, "{?s:U}", key, out);
}

static int field_bool(actr_ctx_t *ctx, const actr_msg_t *m, const char *key, int dflt, int *out)
{
    size_t len = 0;
    const void *d = actr_ctx_msg_data(ctx, m, &len);
    bool b = dflt != 0;
    int rc = actr_ctx_unpack(ctx, d, len, "{?s:b}", key, &b);
    *out = b;
    return rc;
}

/* ---- a msgpack writer for the answers ---------------------------------------------------- */

typedef struct mp {
    uint8_t *b;
    size_t len, cap;
    int full;
} mp_t;

static void mp_put(mp_t *m, const void *p, size_t n)
{
    if (m->full || m->len + n > m->cap) {
        m->full = 1;
        return;
    }
    memcpy(m->b + m->len, p, n);
    m->len += n;
}

static void mp_byte(mp_t *m, uint8_t c) { mp_put(m, &c, 1); }

static void mp_be(mp_t *m, uint64_t v, int bytes)
{
    uint8_t b[8];
    for (int i = 0; i < bytes; i++)
        b[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
    mp_put(m, b, (size_t)bytes);
}

static void mp_map(mp_t *m, uint32_t n)
{
    if (n < 16) {
        mp_byte(m, (uint8_t)(0x80 | n));
    } else {
        mp_byte(m, 0xde);
        mp_be(m, n, 2);
    }
}

static void mp_arr(mp_t *m, uint32_t n)
{
    if (n < 16) {
        mp_byte(m, (uint8_t)(0x90 | n));
    } else {
        mp_byte(m, 0xdc);
        mp_be(m, n, 2);
    }
}

static void mp_strn(mp_t *m, const char *s, size_t n)
{
    if (n < 32) {
        mp_byte(m, (uint8_t)(0xa0 | n));
    } else if (n < 256) {
        mp_byte(m, 0xd9);
        mp_byte(m, (uint8_t)n);
    } else {
        mp_byte(m, 0xda);
        mp_be(m, n > 0xffff ? 0xffff : n, 2);
        n = n > 0xffff ? 0xffff : n;
    }
    mp_put(m, s, n);
}

static void mp_str(mp_t *m, const char *s) { mp_strn(m, s, strlen(s)); }

static void mp_uint(mp_t *m, uint64_t v)
{
    if (v < 128) {
        mp_byte(m, (uint8_t)v);
    } else {
        mp_byte(m, 0xcf);
        mp_be(m, v, 8);
    }
}

static void mp_bool(mp_t *m, int b) { mp_byte(m, b ? 0xc3 : 0xc2); }

static void mp_ref(mp_t *m, actr_ref_t r)
{
    char s[48];
    ref_str(r, s);
    mp_str(m, s);
}

static int mp_open(actr_ctx_t *ctx, mp_t *m, size_t cap)
{
    memset(m, 0, sizeof(*m));
    m->b = actr_ctx_alloc(ctx, cap);
    m->cap = cap;
    return m->b ? 0 : ACTR_ENOMEM;
}

/* Answer request ctl with the map in m (frees m's buffer). */
static void mp_answer(actr_ctx_t *ctx, const actr_msg_t *ctl, mp_t *m)
{
    actr_msg_t *r = NULL;
    if (!m->full && actr_ctx_msg_new(ctx, T_CTL, m->b, m->len, &r) == 0)
        (void)actr_ctx_reply(ctx, ctl, r); /* the requester may be gone: nothing to do */
    else
        actr_ctx_log(ctx, 3, "cluster.probe: an answer did not fit");
    actr_ctx_free(ctx, m->b);
}

/* {"ok":true} with `extra` more pairs written by the caller: open with this. */
static int answer_ok(actr_ctx_t *ctx, mp_t *m, uint32_t extra)
{
    int rc = mp_open(ctx, m, 1024);
    if (rc != 0)
        return rc;
    mp_map(m, 1 + extra);
    mp_str(m, "ok");
    mp_bool(m, 1);
    return 0;
}

static void reply_ok(actr_ctx_t *ctx, const actr_msg_t *ctl)
{
    mp_t m;
    if (answer_ok(ctx, &m, 0) == 0)
        mp_answer(ctx, ctl, &m);
}

static void reply_ok_ref(actr_ctx_t *ctx, const actr_msg_t *ctl, actr_ref_t r)
{
    mp_t m;
    if (answer_ok(ctx, &m, 1) != 0)
        return;
    mp_str(&m, "ref");
    mp_ref(&m, r);
    mp_answer(ctx, ctl, &m);
}

static void reply_err(actr_ctx_t *ctx, const actr_msg_t *ctl, const char *err, const char *detail)
{
    mp_t m;
    if (mp_open(ctx, &m, 1024) != 0)
        return;
    mp_map(&m, 3);
    mp_str(&m, "ok");
    mp_bool(&m, 0);
    mp_str(&m, "error");
    mp_str(&m, err);
    mp_str(&m, "detail");
    mp_str(&m, detail);
    mp_answer(ctx, ctl, &m);
}

static void reply_rc(actr_ctx_t *ctx, const actr_msg_t *ctl, int rc, const char *what)
{
    if (rc == 0) {
        reply_ok(ctx, ctl);
        return;
    }
    char detail[256];
    snprintf(detail, sizeof(detail), "%s: %s", what, actr_ctx_strerror(ctx, rc));
    reply_err(ctx, ctl, err_name(rc), detail);
}

/* ---- what arrives ------------------------------------------------------------------------- */

static void note_seq(probe_t *p, actr_ref_t from, const char *topic, size_t tlen, uint64_t id,
                     uint64_t seq)
{
    stream_t *s = NULL;
    if (tlen >= sizeof(s->topic))
        tlen = sizeof(s->topic) - 1;
    for (size_t i = 0; i < p->nstreams && s == NULL; i++)
        if (actr_ref_eq(p->streams[i].from, from) && p->streams[i].id == id &&
            strlen(p->streams[i].topic) == tlen && memcmp(p->streams[i].topic, topic, tlen) == 0)
            s = &p->streams[i];
    if (s == NULL) {
        if (p->nstreams == MAX_STREAMS) {
            p->overflow++;
            return;
        }
        s = &p->streams[p->nstreams++];
        memset(s, 0, sizeof(*s));
        s->from = from;
        s->id = id;
        memcpy(s->topic, topic, tlen);
        s->topic[tlen] = '\0';
    }
    s->count++;
    if (seq == s->next) {
        s->next++;
    } else if (seq < s->next) {
        s->dups++;
    } else {
        s->order_errors++;
        s->next = seq + 1;
    }
}

static void note_event(probe_t *p, event_t *ev, size_t *n, actr_ref_t from, uint64_t id,
                       const char *reason, size_t rlen)
{
    if (*n == MAX_EVENTS) {
        p->overflow++;
        return;
    }
    event_t *e = &ev[(*n)++];
    e->from = from;
    e->id = id;
    if (rlen >= sizeof(e->reason))
        rlen = sizeof(e->reason) - 1;
    memcpy(e->reason, reason ? reason : "", rlen);
    e->reason[rlen] = '\0';
}

static call_t *call_by_req(probe_t *p, uint64_t req)
{
    for (size_t i = 0; i < p->ncalls; i++)
        if (p->calls[i].state == CALL_PENDING && p->calls[i].req == req)
            return &p->calls[i];
    return NULL;
}

/* The call ended (reply: the answer; else err). */
static void call_done(actr_ctx_t *ctx, call_t *c, const actr_msg_t *reply, int err)
{
    c->ms = actr_ctx_now_ms(ctx) - c->t0;
    c->state = reply ? CALL_OK : CALL_FAILED;
    c->err = err;
    if (c->ctl == NULL)
        return;
    mp_t m;
    size_t plen = 0;
    const void *pl = reply ? actr_ctx_msg_data(ctx, reply, &plen) : NULL;
    if (mp_open(ctx, &m, 1024 + plen) == 0) {
        if (reply) {
            mp_map(&m, 3);
            mp_str(&m, "ok");
            mp_bool(&m, 1);
            mp_str(&m, "reply");
            if (plen)
                mp_put(&m, pl, plen);
            else
                mp_byte(&m, 0xc0);
        } else {
            mp_map(&m, 3);
            mp_str(&m, "ok");
            mp_bool(&m, 0);
            mp_str(&m, "error");
            mp_str(&m, err_name(err));
        }
        mp_str(&m, "ms");
        mp_uint(&m, c->ms);
        mp_answer(ctx, c->ctl, &m);
    }
    actr_ctx_msg_free(ctx, c->ctl);
    c->ctl = NULL;
}

/* ---- commands that need a target ---------------------------------------------------------- */

static void send_step(actr_ctx_t *ctx, probe_t *p);

static void job_end(actr_ctx_t *ctx, probe_t *p, int rc)
{
    sendjob_t *j = &p->job;
    mp_t m;
    if (rc == 0) {
        if (answer_ok(ctx, &m, 3) == 0) {
            mp_str(&m, "sent");
            mp_uint(&m, j->sent);
            mp_str(&m, "eagain");
            mp_uint(&m, j->eagain);
            mp_str(&m, "emailbox");
            mp_uint(&m, j->emailbox);
            mp_answer(ctx, j->ctl, &m);
        }
    } else if (mp_open(ctx, &m, 1024) == 0) {
        mp_map(&m, 4);
        mp_str(&m, "ok");
        mp_bool(&m, 0);
        mp_str(&m, "error");
        mp_str(&m, err_name(rc));
        mp_str(&m, "detail");
        mp_str(&m, actr_ctx_strerror(ctx, rc));
        mp_str(&m, "sent");
        mp_uint(&m, j->sent);
        mp_answer(ctx, j->ctl, &m);
    }
    actr_ctx_msg_free(ctx, j->ctl);
    if (j->pad != NULL)
        actr_ctx_free(ctx, j->pad);
    memset(j, 0, sizeof(*j));
}

static int self_after(actr_ctx_t *ctx, uint32_t type, uint32_t ms, uint64_t token, uint64_t *id)
{
    actr_msg_t *m;
    int rc = actr_ctx_msg_pack(ctx, type, &m, "[U]", token);
    if (rc != 0)
        return rc;
    if (ms == 0)
        return actr_ctx_send(ctx, actr_ctx_self(ctx), m);
    return actr_ctx_timer_send_after(ctx, actr_ctx_self(ctx), ms, m, id);
}

static void send_step(actr_ctx_t *ctx, probe_t *p)
{
    sendjob_t *j = &p->job;
    if (j->ctl == NULL)
        return;
    for (int i = 0; i < SEND_BATCH && j->sent < j->n; i++) {
        actr_msg_t *m;
        int rc = j->pad ? actr_ctx_msg_pack(ctx, T_SEQ, &m, "[UUx]", j->stream, j->sent, j->pad,
                                            j->pad_len)
                        : actr_ctx_msg_pack(ctx, T_SEQ, &m, "[UU]", j->stream, j->sent);
        if (rc == 0)
            rc = j->by_ref ? actr_ctx_send(ctx, j->ref, m) : actr_ctx_send_name(ctx, j->name, m);
        if (rc == ACTR_EAGAIN || rc == ACTR_EMAILBOX) {
            if (rc == ACTR_EAGAIN)
                j->eagain++;
            else
                j->emailbox++;
            rc = self_after(ctx, T_CONT, RETRY_MS, 0, NULL);
            if (rc != 0)
                job_end(ctx, p, rc);
            return;
        }
        if (rc != 0) {
            job_end(ctx, p, rc);
            return;
        }
        j->sent++;
    }
    if (j->sent == j->n) {
        job_end(ctx, p, 0);
        return;
    }
    int rc = self_after(ctx, T_CONT, 0, 0, NULL); /* let other messages in between batches */
    if (rc != 0)
        job_end(ctx, p, rc);
}

/* Start the send job of command ctl (n messages of stream, to `ref` or by name). */
static void job_start(actr_ctx_t *ctx, probe_t *p, const actr_msg_t *ctl, uint64_t n,
                      uint64_t stream, int by_ref, actr_ref_t ref, const char *name)
{
    sendjob_t *j = &p->job;
    uint64_t pad = 0;
    if (field_u64(ctx, ctl, "pad", 0, &pad) != 0 || pad > (1u << 20)) {
        reply_err(ctx, ctl, "EINVAL", "\"pad\" must be 0..1048576 bytes");
        return;
    }
    memset(j, 0, sizeof(*j));
    if (pad > 0 && (j->pad = actr_ctx_alloc(ctx, pad)) == NULL) {
        reply_err(ctx, ctl, "ENOMEM", "no memory for the padding");
        return;
    }
    j->pad_len = pad;
    j->by_ref = by_ref;
    j->ref = ref;
    if (name != NULL)
        snprintf(j->name, sizeof(j->name), "%s", name);
    j->n = n;
    j->stream = stream;
    actr_ctx_msg_ref(ctx, ctl);
    j->ctl = ctl;
    send_step(ctx, p);
}

/* Run the command `ctl` (op already known to need a target) on `to`. ctl is
 * borrowed; a command that answers later takes a reference. */
static void run_targeted(actr_ctx_t *ctx, probe_t *p, const actr_msg_t *ctl, const char *op,
                         actr_ref_t to)
{
    char buf[128];
    int rc;
    if (strcmp(op, "resolve") == 0) {
        reply_ok_ref(ctx, ctl, to);
    } else if (strcmp(op, "send") == 0) {
        uint64_t n = 0, stream = 0;
        if (p->job.ctl != NULL) {
            reply_err(ctx, ctl, "EBUSY", "a send is already running");
            return;
        }
        if (field_u64(ctx, ctl, "n", 0, &n) != 0 || field_u64(ctx, ctl, "stream", 0, &stream) != 0 ||
            n == 0 || n > 100000000u) {
            reply_err(ctx, ctl, "EINVAL", "send needs \"n\" (1..1e8) and \"stream\" (integer)");
            return;
        }
        job_start(ctx, p, ctl, n, stream, 1, to, NULL);
    } else if (strcmp(op, "call") == 0) {
        uint64_t timeout = 5000;
        int hold = 0, wait = 1;
        const void *arg = NULL;
        size_t arglen = 0, len = 0;
        const void *d = actr_ctx_msg_data(ctx, ctl, &len);
        if (field_u64(ctx, ctl, "timeout", 5000, &timeout) != 0 || timeout > 3600000u ||
            field_bool(ctx, ctl, "hold", 0, &hold) != 0 ||
            field_bool(ctx, ctl, "wait", 1, &wait) != 0 ||
            actr_ctx_unpack(ctx, d, len, "{?s:*}", "arg", &arg, &arglen) != 0) {
            reply_err(ctx, ctl, "EINVAL", "call takes \"timeout\" (ms), \"hold\", \"wait\", \"arg\"");
            return;
        }
        if (p->ncalls == MAX_CALLS) {
            reply_err(ctx, ctl, "EBUSY", "too many calls recorded (reset first)");
            return;
        }
        actr_msg_t *m;
        if (arg == NULL)
            rc = actr_ctx_msg_pack(ctx, T_CALL, &m, "[bn]", hold);
        else
            rc = actr_ctx_msg_pack(ctx, T_CALL, &m, "[b*]", hold, arg, arglen);
        uint64_t req = 0;
        if (rc == 0)
            rc = actr_ctx_request(ctx, to, m, (uint32_t)timeout, &req);
        if (rc != 0) {
            reply_rc(ctx, ctl, rc, "request");
            return;
        }
        call_t *c = &p->calls[p->ncalls++];
        memset(c, 0, sizeof(*c));
        c->req = req;
        c->t0 = actr_ctx_now_ms(ctx);
        c->state = CALL_PENDING;
        if (wait) {
            actr_ctx_msg_ref(ctx, ctl);
            c->ctl = ctl;
        } else {
            mp_t a;
            if (answer_ok(ctx, &a, 1) == 0) {
                mp_str(&a, "call");
                mp_uint(&a, p->ncalls - 1);
                mp_answer(ctx, ctl, &a);
            }
        }
    } else if (strcmp(op, "monitor") == 0) {
        uint64_t id = 0;
        rc = actr_ctx_monitor(ctx, to, &id);
        if (rc != 0) {
            reply_rc(ctx, ctl, rc, "monitor");
            return;
        }
        mp_t a;
        if (answer_ok(ctx, &a, 2) == 0) {
            snprintf(buf, sizeof(buf), "%llu", (unsigned long long)id);
            mp_str(&a, "id");
            mp_str(&a, buf);
            mp_str(&a, "ref");
            mp_ref(&a, to);
            mp_answer(ctx, ctl, &a);
        }
    } else if (strcmp(op, "link") == 0) {
        int trap = -1;
        size_t len = 0;
        const void *d = actr_ctx_msg_data(ctx, ctl, &len);
        bool b = false;
        if (actr_ctx_unpack(ctx, d, len, "{s:b}", "trap", &b) == 0)
            trap = b;
        if (trap >= 0 && (rc = actr_ctx_trap_exit(ctx, trap)) != 0) {
            reply_rc(ctx, ctl, rc, "trap_exit");
            return;
        }
        rc = actr_ctx_link(ctx, to);
        if (rc != 0)
            reply_rc(ctx, ctl, rc, "link");
        else
            reply_ok_ref(ctx, ctl, to);
    } else if (strcmp(op, "unlink") == 0) {
        reply_rc(ctx, ctl, actr_ctx_unlink(ctx, to), "unlink");
    } else if (strcmp(op, "stop") == 0) {
        char reason[128];
        if (field_str(ctx, ctl, "reason", reason, sizeof(reason)) != 0)
            snprintf(reason, sizeof(reason), "shutdown");
        reply_rc(ctx, ctl, actr_ctx_actor_stop(ctx, to, reason), "stop");
    } else if (strcmp(op, "kill") == 0) {
        reply_rc(ctx, ctl, actr_ctx_actor_kill(ctx, to), "kill");
    } else {
        reply_err(ctx, ctl, "EINVAL", "unknown op");
    }
}

static int needs_target(const char *op)
{
    static const char *const ops[] = {"resolve", "send", "call", "monitor", "link",
                                      "unlink",  "stop", "kill"};
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
        if (strcmp(op, ops[i]) == 0)
            return 1;
    return 0;
}

static pend_t *pend_by_token(probe_t *p, uint64_t token)
{
    for (size_t i = 0; i < MAX_PEND; i++)
        if (token != 0 && p->pend[i].token == token)
            return &p->pend[i];
    return NULL;
}

/* Resolve "to" by asking the target for its ref; the command runs on the answer. */
static void start_resolve(actr_ctx_t *ctx, probe_t *p, const actr_msg_t *ctl, const char *to)
{
    pend_t *slot = NULL;
    for (size_t i = 0; i < MAX_PEND && slot == NULL; i++)
        if (p->pend[i].token == 0)
            slot = &p->pend[i];
    if (slot == NULL) {
        reply_err(ctx, ctl, "EBUSY", "too many resolves in flight");
        return;
    }
    uint64_t ms = RESOLVE_MS;
    if (field_u64(ctx, ctl, "resolve_ms", RESOLVE_MS, &ms) != 0 || ms == 0 || ms > 600000) {
        reply_err(ctx, ctl, "EINVAL", "\"resolve_ms\" must be 1..600000");
        return;
    }
    uint64_t token = ++p->next_token;
    actr_msg_t *m;
    int rc = actr_ctx_msg_pack(ctx, T_WHO, &m, "[U]", token);
    if (rc == 0)
        rc = actr_ctx_send_name(ctx, to, m);
    if (rc != 0) {
        char what[300];
        snprintf(what, sizeof(what), "resolve '%s'", to);
        reply_rc(ctx, ctl, rc, what);
        return;
    }
    slot->token = token;
    actr_ctx_msg_ref(ctx, ctl);
    slot->ctl = ctl;
    if ((rc = self_after(ctx, T_RTMO, (uint32_t)ms, token, &slot->timer)) != 0) {
        reply_rc(ctx, ctl, rc, "timer");
        actr_ctx_msg_free(ctx, ctl);
        memset(slot, 0, sizeof(*slot));
    }
}

static void resolved(actr_ctx_t *ctx, probe_t *p, uint64_t token, const actr_ref_t *to)
{
    pend_t *s = pend_by_token(p, token);
    if (s == NULL)
        return; /* late: already answered or timed out */
    const actr_msg_t *ctl = s->ctl;
    if (to != NULL)
        (void)actr_ctx_timer_cancel(ctx, s->timer);
    memset(s, 0, sizeof(*s));
    if (to == NULL) {
        reply_err(ctx, ctl, "unresolved", "the target did not answer WHO in time");
    } else {
        char op[32];
        if (field_str(ctx, ctl, "op", op, sizeof(op)) == 0)
            run_targeted(ctx, p, ctl, op, *to);
    }
    actr_ctx_msg_free(ctx, ctl);
}

/* ---- commands ------------------------------------------------------------------------------ */

static void stats(actr_ctx_t *ctx, probe_t *p, const actr_msg_t *ctl)
{
    mp_t m;
    if (mp_open(ctx, &m, REPLY_CAP) != 0)
        return;
    mp_map(&m, 10);
    mp_str(&m, "ok");
    mp_bool(&m, 1);
    mp_str(&m, "ref");
    mp_ref(&m, actr_ctx_self(ctx));
    mp_str(&m, "streams");
    mp_arr(&m, (uint32_t)p->nstreams);
    for (size_t i = 0; i < p->nstreams; i++) {
        const stream_t *s = &p->streams[i];
        mp_map(&m, 7);
        mp_str(&m, "stream");
        mp_uint(&m, s->id);
        mp_str(&m, "topic");
        mp_str(&m, s->topic);
        mp_str(&m, "from");
        mp_ref(&m, s->from);
        mp_str(&m, "count");
        mp_uint(&m, s->count);
        mp_str(&m, "next");
        mp_uint(&m, s->next);
        mp_str(&m, "order_errors");
        mp_uint(&m, s->order_errors);
        mp_str(&m, "dups");
        mp_uint(&m, s->dups);
    }
    mp_str(&m, "downs");
    mp_arr(&m, (uint32_t)p->ndowns);
    for (size_t i = 0; i < p->ndowns; i++) {
        char id[32];
        snprintf(id, sizeof(id), "%llu", (unsigned long long)p->downs[i].id);
        mp_map(&m, 3);
        mp_str(&m, "id");
        mp_str(&m, id);
        mp_str(&m, "from");
        mp_ref(&m, p->downs[i].from);
        mp_str(&m, "reason");
        mp_str(&m, p->downs[i].reason);
    }
    mp_str(&m, "exits");
    mp_arr(&m, (uint32_t)p->nexits);
    for (size_t i = 0; i < p->nexits; i++) {
        mp_map(&m, 2);
        mp_str(&m, "from");
        mp_ref(&m, p->exits[i].from);
        mp_str(&m, "reason");
        mp_str(&m, p->exits[i].reason);
    }
    mp_str(&m, "calls");
    mp_arr(&m, (uint32_t)p->ncalls);
    for (size_t i = 0; i < p->ncalls; i++) {
        const call_t *c = &p->calls[i];
        mp_map(&m, 4);
        mp_str(&m, "call");
        mp_uint(&m, i);
        mp_str(&m, "state");
        mp_str(&m, c->state == CALL_PENDING ? "pending" : c->state == CALL_OK ? "ok" : "failed");
        mp_str(&m, "error");
        mp_str(&m, c->state == CALL_FAILED ? err_name(c->err) : "");
        mp_str(&m, "ms");
        mp_uint(&m, c->state == CALL_PENDING ? 0 : c->ms);
    }
    mp_str(&m, "held");
    mp_uint(&m, p->nheld);
    mp_str(&m, "unblocked");
    mp_uint(&m, p->unblocked);
    mp_str(&m, "sending");
    mp_bool(&m, p->job.ctl != NULL);
    mp_str(&m, "overflow");
    mp_uint(&m, p->overflow);
    mp_answer(ctx, ctl, &m);
}

static void reset(probe_t *p)
{
    size_t k = 0;
    p->nstreams = p->ndowns = p->nexits = 0;
    p->overflow = p->unblocked = 0;
    for (size_t i = 0; i < p->ncalls; i++) /* keep the pending ones (their ctl waits) */
        if (p->calls[i].state == CALL_PENDING)
            p->calls[k++] = p->calls[i];
    p->ncalls = k;
}

static void command(actr_ctx_t *ctx, probe_t *p, const actr_msg_t *ctl)
{
    char op[32], s[256];
    int rc;
    if (field_str(ctx, ctl, "op", op, sizeof(op)) != 0) {
        reply_err(ctx, ctl, "EINVAL", "a command is a map with \"op\"");
        return;
    }
    if (needs_target(op)) {
        actr_ref_t to;
        if (field_str(ctx, ctl, "ref", s, sizeof(s)) == 0) {
            if (ref_parse(s, &to) != 0) {
                reply_err(ctx, ctl, "EINVAL", "\"ref\" must be NODEHEX.SLOT.GEN");
                return;
            }
            run_targeted(ctx, p, ctl, op, to);
            return;
        }
        if (field_str(ctx, ctl, "to", s, sizeof(s)) != 0 || s[0] == '\0') {
            reply_err(ctx, ctl, "EINVAL", "this op needs \"to\" (a name) or \"ref\"");
            return;
        }
        int resolve = 0;
        if (strcmp(op, "send") == 0 && field_bool(ctx, ctl, "resolve", 0, &resolve) == 0 &&
            !resolve) {
            /* by name, every message */
            uint64_t n = 0, stream = 0;
            if (p->job.ctl != NULL) {
                reply_err(ctx, ctl, "EBUSY", "a send is already running");
                return;
            }
            if (field_u64(ctx, ctl, "n", 0, &n) != 0 ||
                field_u64(ctx, ctl, "stream", 0, &stream) != 0 || n == 0 || n > 100000000u) {
                reply_err(ctx, ctl, "EINVAL", "send needs \"n\" (1..1e8) and \"stream\"");
                return;
            }
            job_start(ctx, p, ctl, n, stream, 0, ACTR_REF_NONE, s);
            return;
        }
        start_resolve(ctx, p, ctl, s);
        return;
    }
    if (strcmp(op, "self") == 0) {
        reply_ok_ref(ctx, ctl, actr_ctx_self(ctx));
    } else if (strcmp(op, "stats") == 0) {
        stats(ctx, p, ctl);
    } else if (strcmp(op, "reset") == 0) {
        reset(p);
        reply_ok(ctx, ctl);
    } else if (strcmp(op, "demonitor") == 0) {
        if (field_str(ctx, ctl, "id", s, sizeof(s)) != 0) {
            reply_err(ctx, ctl, "EINVAL", "demonitor needs \"id\" (the string monitor gave)");
            return;
        }
        reply_rc(ctx, ctl, actr_ctx_demonitor(ctx, strtoull(s, NULL, 10)), "demonitor");
    } else if (strcmp(op, "exit") == 0) {
        if (field_str(ctx, ctl, "reason", s, sizeof(s)) != 0)
            snprintf(s, sizeof(s), "normal");
        reply_ok(ctx, ctl);
        (void)actr_ctx_exit(ctx, s);
    } else if (strcmp(op, "sub") == 0 || strcmp(op, "unsub") == 0) {
        if (field_str(ctx, ctl, "topic", s, sizeof(s)) != 0 || s[0] == '\0') {
            reply_err(ctx, ctl, "EINVAL", "needs \"topic\"");
            return;
        }
        rc = op[0] == 's' ? actr_ctx_subscribe(ctx, s) : actr_ctx_unsubscribe(ctx, s);
        reply_rc(ctx, ctl, rc, op);
    } else if (strcmp(op, "pub") == 0) {
        uint64_t n = 0, stream = 0, delivered = 0, errors = 0;
        if (field_str(ctx, ctl, "topic", s, sizeof(s)) != 0 || s[0] == '\0' ||
            field_u64(ctx, ctl, "n", 0, &n) != 0 || field_u64(ctx, ctl, "stream", 0, &stream) != 0 ||
            n == 0 || n > 1000000u) {
            reply_err(ctx, ctl, "EINVAL", "pub needs \"topic\", \"n\" (1..1e6), \"stream\"");
            return;
        }
        int first = 0;
        for (uint64_t i = 0; i < n; i++) {
            actr_msg_t *m;
            size_t d = 0;
            rc = actr_ctx_msg_pack(ctx, T_PUBM, &m, "[sUU]", s, stream, i);
            if (rc == 0)
                rc = actr_ctx_publish(ctx, s, m, &d);
            delivered += d;
            if (rc != 0) {
                errors++;
                if (first == 0)
                    first = rc;
            }
        }
        mp_t a;
        if (answer_ok(ctx, &a, 4) == 0) {
            mp_str(&a, "published");
            mp_uint(&a, n);
            mp_str(&a, "delivered");
            mp_uint(&a, delivered);
            mp_str(&a, "errors");
            mp_uint(&a, errors);
            mp_str(&a, "first_error");
            mp_str(&a, first ? err_name(first) : "");
            mp_answer(ctx, ctl, &a);
        }
    } else if (strcmp(op, "release") == 0) {
        size_t n = p->nheld;
        for (size_t i = 0; i < p->nheld; i++) {
            actr_msg_t *r;
            if (actr_ctx_msg_pack(ctx, T_CALL, &r, "{s:b}", "released", 1) == 0)
                (void)actr_ctx_reply(ctx, p->held[i], r);
            actr_ctx_msg_free(ctx, p->held[i]);
        }
        p->nheld = 0;
        mp_t a;
        if (answer_ok(ctx, &a, 1) == 0) {
            mp_str(&a, "released");
            mp_uint(&a, n);
            mp_answer(ctx, ctl, &a);
        }
    } else {
        snprintf(s, sizeof(s), "unknown op '%s'", op);
        reply_err(ctx, ctl, "EINVAL", s);
    }
}

/* A call from another probe: echo, or hold. */
static void serve_call(actr_ctx_t *ctx, probe_t *p, const actr_msg_t *msg)
{
    bool hold = false;
    const void *arg = NULL;
    size_t alen = 0, len = 0;
    const void *d = actr_ctx_msg_data(ctx, msg, &len);
    if (actr_ctx_unpack(ctx, d, len, "[b*]", &hold, &arg, &alen) != 0)
        return; /* malformed: the caller times out */
    if (hold && p->nheld < MAX_HELD) {
        actr_ctx_msg_ref(ctx, msg);
        p->held[p->nheld++] = msg;
        return;
    }
    char me[48];
    ref_str(actr_ctx_self(ctx), me);
    actr_msg_t *r;
    if (actr_ctx_msg_pack(ctx, T_CALL, &r, "{s:* s:s}", "echo", arg, alen, "by", me) == 0)
        (void)actr_ctx_reply(ctx, msg, r);
}

/* ---- the actor ------------------------------------------------------------------------------ */

static int probe_init(actr_ctx_t *ctx, void *state, const void *args, size_t len)
{
    (void)state;
    bool trap = true;
    if (len > 0 && actr_ctx_unpack(ctx, args, len, "{?s:b}", "trap_exit", &trap) != 0) {
        actr_ctx_log(ctx, 3, "cluster.probe: args must be a map {trap_exit: bool}");
        return ACTR_EINVAL;
    }
    return actr_ctx_trap_exit(ctx, trap);
}

static int probe_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    probe_t *p = state;
    uint32_t type = actr_ctx_msg_type(ctx, msg);
    actr_ref_t from = actr_ctx_msg_from(ctx, msg);
    size_t len = 0;
    const void *d = actr_ctx_msg_data(ctx, msg, &len);

    if (actr_ctx_msg_is_reply(ctx, msg)) {
        call_t *c = call_by_req(p, actr_ctx_msg_request_id(ctx, msg));
        if (c != NULL)
            call_done(ctx, c, msg, 0);
        return 0;
    }
    switch (type) {
    case ACTR_MSG_REQFAIL: {
        call_t *c = call_by_req(p, actr_ctx_msg_request_id(ctx, msg));
        if (c != NULL)
            call_done(ctx, c, NULL, actr_ctx_msg_error(ctx, msg));
        return 0;
    }
    case ACTR_MSG_DOWN: {
        uint64_t id = 0;
        const char *r = NULL;
        size_t rl = 0;
        if (actr_ctx_msg_down(ctx, msg, &id, &r, &rl) == 0)
            note_event(p, p->downs, &p->ndowns, from, id, r, rl);
        return 0;
    }
    case ACTR_MSG_EXIT: {
        const char *r = NULL;
        size_t rl = 0;
        if (actr_ctx_msg_exit(ctx, msg, &r, &rl) == 0)
            note_event(p, p->exits, &p->nexits, from, 0, r, rl);
        return 0;
    }
    case ACTR_MSG_UNBLOCKED:
        p->unblocked++;
        return 0;
    case T_SEQ: {
        uint64_t stream, seq;
        if (actr_ctx_unpack(ctx, d, len, "[UU...]", &stream, &seq) == 0)
            note_seq(p, from, "", 0, stream, seq);
        return 0;
    }
    case T_PUBM: {
        uint64_t stream, seq;
        const char *t;
        size_t tl;
        if (actr_ctx_unpack(ctx, d, len, "[sUU]", &t, &tl, &stream, &seq) == 0)
            note_seq(p, from, t, tl, stream, seq);
        return 0;
    }
    case T_WHO: {
        uint64_t token;
        actr_msg_t *m;
        if (actr_ref_is_none(from) || actr_ctx_unpack(ctx, d, len, "[U]", &token) != 0)
            return 0;
        if (actr_ctx_msg_pack(ctx, T_IAM, &m, "[Ur]", token, actr_ctx_self(ctx)) == 0)
            (void)actr_ctx_send(ctx, from, m);
        return 0;
    }
    case T_IAM: {
        uint64_t token;
        actr_ref_t r;
        if (actr_ctx_unpack(ctx, d, len, "[Ur]", &token, &r) == 0)
            resolved(ctx, p, token, &r);
        return 0;
    }
    case T_RTMO: {
        uint64_t token;
        if (actr_ctx_unpack(ctx, d, len, "[U]", &token) == 0)
            resolved(ctx, p, token, NULL);
        return 0;
    }
    case T_CONT:
        send_step(ctx, p);
        return 0;
    case T_CALL:
        if (actr_ctx_msg_is_request(ctx, msg))
            serve_call(ctx, p, msg);
        return 0;
    default:
        if (actr_ctx_msg_is_request(ctx, msg))
            command(ctx, p, msg);
        return 0;
    }
}

static void probe_terminate(actr_ctx_t *ctx, void *state, const char *reason)
{
    probe_t *p = state;
    (void)reason;
    for (size_t i = 0; i < p->nheld; i++)
        actr_ctx_msg_free(ctx, p->held[i]);
    for (size_t i = 0; i < p->ncalls; i++)
        if (p->calls[i].ctl != NULL)
            actr_ctx_msg_free(ctx, p->calls[i].ctl);
    for (size_t i = 0; i < MAX_PEND; i++)
        if (p->pend[i].token != 0)
            actr_ctx_msg_free(ctx, p->pend[i].ctl);
    if (p->job.ctl != NULL)
        actr_ctx_msg_free(ctx, p->job.ctl);
    if (p->job.pad != NULL)
        actr_ctx_free(ctx, p->job.pad);
}

static const actr_actor_type_t types[] = {{
    .size = sizeof(actr_actor_type_t),
    .name = "cluster.probe",
    .state_size = sizeof(probe_t),
    .init = probe_init,
    .receive = probe_receive,
    .terminate = probe_terminate,
}};

static const actr_plugin_t plugin = {
    .abi_major = ACTR_PLUGIN_ABI_MAJOR,
    .abi_minor = ACTR_PLUGIN_ABI_MINOR,
    .size = sizeof(actr_plugin_t),
    .signature = ACTR_PLUGIN_SIGNATURE,
    .name = "cluster_probe",
    .version = "1.0.0",
    .types = types,
    .ntypes = 1,
};

ACTR_PLUGIN_DEFINE(plugin)

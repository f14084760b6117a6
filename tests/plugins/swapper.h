/* tests/plugins/swapper.h — what the versions of the test plugin "swapper"
 * (swap_v1.c, swap_v2.c, swap_v3.c) share: the state layouts of every version
 * (each version knows the layouts it migrates from, as a real plugin would)
 * and the message protocol, which is the same in every version.
 *
 * One actor type, "swapper.counter". Init args: nothing, or one msgpack
 * integer (the initial sum). Requests carry a msgpack map and are answered
 * with a map (the reply keeps the request's type):
 *   {"op":"get"}             -> {"version":V, "sum":I, "calls":U, "note":S,
 *                                "generation":U, "received":U, "errors":U,
 *                                "ticks":U, "tick_by":U, "pubs":U, "pub_by":U,
 *                                "init_by":U, "migrated_from":U}
 *   {"op":"add","n":N}       -> {"ok":true} (sum += N, calls += 1)
 *   {"op":"hold"}            -> no answer until a later "release" message
 *   {"op":"sub","topic":T}   -> {"ok":true} once subscribed to topic T
 *   {"op":"busy","n":MS}     sends the requester the plain message
 *                            {"busy":"started"} (type SWAPPER_MSG_STARTED),
 *                            stays inside the handler MS milliseconds, then
 *                            -> {"ok":true}
 *   anything else            -> {"ok":false,"error":"bad_request"}
 * Plain (non-request) messages:
 *   [sender, seq]            order check: per sender (0..SWAPPER_SENDERS-1)
 *                            seq must be the next expected one (starting at
 *                            0); a gap, a duplicate or a reorder (or a sender
 *                            out of range) counts in "errors"; every one
 *                            counts in "received"
 *   {"op":"tick"}            ticks += 1, tick_by = this version's major
 *   {"op":"pub"}             pubs += 1, pub_by = this version's major
 *   {"op":"release"}         answer the held request with
 *                            {"version":V, "released":true}
 * "init_by" is the major of the version whose init ran for the actor,
 * "migrated_from" the major of the version its state was last migrated from
 * (0: never), "generation" how many migrations the state went through. Nothing
 * is logged.
 */
#ifndef ACTR_TEST_SWAPPER_H
#define ACTR_TEST_SWAPPER_H

#include <string.h>
#include <time.h>

#include <actr/plugin.h>

#define SWAPPER_SENDERS 16
#define SWAPPER_TYPE "swapper.counter"
#define SWAPPER_MSG_STARTED 7u /* "busy" has started (to the requester) */

/* The part every version keeps (at a different place in each layout). */
typedef struct swapper_misc {
    uint64_t next[SWAPPER_SENDERS]; /* next expected seq per sender */
    uint64_t received;
    uint64_t errors;
    uint32_t ticks, pubs;
    uint8_t tick_by, pub_by, init_by, migrated_from;
    uint32_t generation;
    const actr_msg_t *held; /* a request held until "release" (a reference) */
} swapper_misc_t;

/* 1.0.0 */
typedef struct swapper_v1_state {
    int64_t total;
    uint32_t calls;
    swapper_misc_t misc;
} swapper_v1_state_t;

/* 2.0.0: total renamed to sum, calls widened, note added, the order changed. */
typedef struct swapper_v2_state {
    swapper_misc_t misc;
    char note[16];
    uint64_t calls;
    int64_t sum;
} swapper_v2_state_t;

/* 3.0.0: another order and a flags word. */
typedef struct swapper_v3_state {
    uint64_t calls;
    uint32_t flags;
    int64_t sum;
    swapper_misc_t misc;
} swapper_v3_state_t;

/* What a request asked for, when the version must answer it itself. */
enum { SWAPPER_DONE = 0, SWAPPER_GET = 1, SWAPPER_ADD = 2 };

static inline int swapper_is(const char *s, size_t n, const char *lit)
{
    return n == strlen(lit) && memcmp(s, lit, n) == 0;
}

static inline void swapper_answer_ok(actr_ctx_t *ctx, const actr_msg_t *msg, int ok)
{
    actr_msg_t *rep;
    int rc = ok ? actr_ctx_msg_pack(ctx, actr_ctx_msg_type(ctx, msg), &rep, "{s:b}", "ok", 1)
                : actr_ctx_msg_pack(ctx, actr_ctx_msg_type(ctx, msg), &rep, "{s:b s:s}", "ok",
                                    0, "error", "bad_request");
    if (rc == 0)
        (void)actr_ctx_reply(ctx, msg, rep);
}

static inline int swapper_init_common(actr_ctx_t *ctx, swapper_misc_t *m, int major,
                                      const void *args, size_t len, int64_t *sum)
{
    m->init_by = (uint8_t)major;
    if (len > 0)
        return actr_ctx_unpack(ctx, args, len, "I", sum);
    return 0;
}

static inline void swapper_terminate_common(actr_ctx_t *ctx, swapper_misc_t *m)
{
    if (m->held != NULL) {
        actr_ctx_msg_free(ctx, m->held);
        m->held = NULL;
    }
}

/* Handle everything but get and add; returns SWAPPER_GET or SWAPPER_ADD (with
 * *n) for the version to answer, else SWAPPER_DONE. */
static inline int swapper_dispatch(actr_ctx_t *ctx, swapper_misc_t *m, int major,
                                   const char *version, const actr_msg_t *msg, int64_t *n)
{
    uint64_t sender, seq;
    const char *op = NULL, *topic = NULL;
    size_t oplen = 0, tlen = 0;
    int is_req = actr_ctx_msg_is_request(ctx, msg);

    if (!is_req && actr_ctx_msg_unpack(ctx, msg, "[UU]", &sender, &seq) == 0) {
        m->received++;
        if (sender >= SWAPPER_SENDERS) {
            m->errors++;
        } else {
            if (seq != m->next[sender])
                m->errors++;
            m->next[sender] = seq + 1;
        }
        return SWAPPER_DONE;
    }
    *n = 0;
    if (actr_ctx_msg_unpack(ctx, msg, "{s:s ?s:I ?s:s}", "op", &op, &oplen, "n", n, "topic",
                            &topic, &tlen) != 0)
        op = NULL;
    if (!is_req) {
        if (op == NULL)
            return SWAPPER_DONE;
        if (swapper_is(op, oplen, "tick")) {
            m->ticks++;
            m->tick_by = (uint8_t)major;
        } else if (swapper_is(op, oplen, "pub")) {
            m->pubs++;
            m->pub_by = (uint8_t)major;
        } else if (swapper_is(op, oplen, "release") && m->held != NULL) {
            actr_msg_t *rep;
            if (actr_ctx_msg_pack(ctx, actr_ctx_msg_type(ctx, m->held), &rep, "{s:s s:b}",
                                  "version", version, "released", 1) == 0)
                (void)actr_ctx_reply(ctx, m->held, rep);
            actr_ctx_msg_free(ctx, m->held);
            m->held = NULL;
        }
        return SWAPPER_DONE;
    }
    if (op == NULL) {
        swapper_answer_ok(ctx, msg, 0);
        return SWAPPER_DONE;
    }
    if (swapper_is(op, oplen, "get"))
        return SWAPPER_GET;
    if (swapper_is(op, oplen, "add"))
        return SWAPPER_ADD;
    if (swapper_is(op, oplen, "hold") && m->held == NULL) {
        actr_ctx_msg_ref(ctx, msg);
        m->held = msg;
        return SWAPPER_DONE;
    }
    if (swapper_is(op, oplen, "busy") && *n >= 0) {
        actr_msg_t *started;
        if (actr_ctx_msg_pack(ctx, SWAPPER_MSG_STARTED, &started, "{s:s}", "busy", "started") ==
            0)
            (void)actr_ctx_send(ctx, actr_ctx_msg_from(ctx, msg), started);
        struct timespec t0, t;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        do /* a long computation: the worker does not leave the handler */
            clock_gettime(CLOCK_MONOTONIC, &t);
        while ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 < *n);
        swapper_answer_ok(ctx, msg, 1);
        return SWAPPER_DONE;
    }
    if (swapper_is(op, oplen, "sub") && topic != NULL && tlen > 0 && tlen < 128) {
        char t[128];
        memcpy(t, topic, tlen);
        t[tlen] = '\0';
        swapper_answer_ok(ctx, msg, actr_ctx_subscribe(ctx, t) == 0);
        return SWAPPER_DONE;
    }
    swapper_answer_ok(ctx, msg, 0);
    return SWAPPER_DONE;
}

static inline void swapper_answer_get(actr_ctx_t *ctx, const actr_msg_t *msg,
                                      const swapper_misc_t *m, const char *version, int64_t sum,
                                      uint64_t calls, const char *note)
{
    actr_msg_t *rep;
    if (actr_ctx_msg_pack(ctx, actr_ctx_msg_type(ctx, msg), &rep,
                          "{s:s s:I s:U s:s s:U s:U s:U s:U s:U s:U s:U s:U s:U}", "version",
                          version, "sum", sum, "calls", calls, "note", note, "generation",
                          (uint64_t)m->generation, "received", m->received, "errors", m->errors,
                          "ticks", (uint64_t)m->ticks, "tick_by", (uint64_t)m->tick_by, "pubs",
                          (uint64_t)m->pubs, "pub_by", (uint64_t)m->pub_by, "init_by",
                          (uint64_t)m->init_by, "migrated_from",
                          (uint64_t)m->migrated_from) == 0)
        (void)actr_ctx_reply(ctx, msg, rep);
}

/* Copy the shared part in a migration. */
static inline void swapper_misc_migrate(swapper_misc_t *to, const swapper_misc_t *from,
                                        int from_major)
{
    *to = *from;
    to->migrated_from = (uint8_t)from_major;
    to->generation = from->generation + 1;
}

#endif

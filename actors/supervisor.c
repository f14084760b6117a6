/* actors/supervisor.c — the supervisor actor: starts a list of children linked
 * to itself, and restarts them by strategy and restart type when they die, as
 * Erlang/OTP supervisors do. Written only against the public API (actr.h).
 *
 * Spawning. actr_supervisor_spawn validates the spec and serialises all of it
 * into the supervisor's msgpack init args: a header with the strategy and the
 * intensity, a binary of child offsets, and a binary holding one packed value
 * per child (behaviour pointers travel as binary of sizeof(void *) bytes).
 * Nothing is heap-owned across the spawn, so a supervisor that never runs
 * leaks nothing. init decodes the args into the actor's state, traps exits
 * and spawns the children, linked and in order.
 *
 * Invariants of the state machine (all state lives in one actor, so no locks):
 *  - child->ref is the running incarnation, or none. It becomes none only when
 *    that incarnation's EXIT arrives: the link guarantees exactly one EXIT, so a
 *    registered name is free again by the time a restart is started.
 *  - Children are stopped one at a time in reverse start order: the next stop
 *    is sent only after the previous child's EXIT, so each child's terminate has
 *    finished before its elder sibling is asked to stop. A stopped child that
 *    has not exited after its shutdown_ms is killed (a timer to self).
 *  - Pending restarts are started, in start order, only once no child is being
 *    stopped or waiting to be stopped.
 *  - An EXIT from a child being stopped, or marked to be stopped, is not a crash
 *    and is not counted against the restart intensity.
 *  - Once shutting down (intensity reached, or a linked non-child died) nothing
 *    is restarted, and the supervisor exits with the saved reason as soon as
 *    every child is down.
 * Group restarts (one_for_all, rest_for_one) restart the failed child plus
 * every sibling of the group that was running (or already waiting for a
 * restart), except temporary children; siblings that were already down stay
 * down. The intensity counts restart events, not restarted children, plus
 * every restart that failed to spawn (such a restart is retried).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "actr.h"

/* Version of the init-args layout below (both ends live in this file). */
#define SUP_ARGS_VERSION 1
#define SUP_DEFAULT_MS 5000u
/* Longest registered name (see actr_register). */
#define SUP_NAME_MAX 255u

/* Private message types, in the user range next to ACTR_SUP_WHICH_CHILDREN. */
#define SUP_MSG_KILL 0xFFFE0002u  /* timer to self, payload [child ref]: grace is over */
#define SUP_MSG_RETRY 0xFFFE0003u /* to self: retry restarts whose spawn failed */

typedef struct child {
    char *id;
    char *name; /* NULL = no registered name */
    const actr_behavior_t *beh;
    void *args;
    size_t args_len;
    actr_restart_t restart;
    uint32_t mailbox_limit;
    uint32_t shutdown_ms;
    actr_ref_t ref;               /* running incarnation, or none */
    uint64_t restarts;            /* successful restarts so far */
    uint64_t kill_timer;          /* armed while `stopping` */
    unsigned char stop_wanted;    /* to be stopped by the supervisor */
    unsigned char stopping;       /* stop sent, waiting for its EXIT */
    unsigned char restart_wanted; /* to be (re)started once nothing is stopping */
    uint64_t started_at;          /* actr_now_ms of the last start */
    uint32_t backoff_ms;          /* delay before restarting a child that died young */
    uint64_t not_before;          /* no restart before this time (ms) */
} child_t;

/* A child that dies within YOUNG_MS of its start is restarted after a delay
 * that doubles each time (1 ms .. 1 s), so a crash loop cannot burn the
 * restart intensity before the cause (e.g. a name still held by a dying
 * predecessor) goes away; a child that lived longer restarts at once. */
#define YOUNG_MS 50
#define BACKOFF_MAX_MS 1000

enum { PH_RUNNING = 0, PH_SHUTDOWN, PH_EXITED };

typedef struct sup {
    actr_sup_strategy_t strategy;
    uint32_t intensity;
    uint32_t period_ms;
    child_t *kids;
    size_t n;
    uint64_t *stamps; /* times of recent restarts, oldest first */
    size_t nstamps, capstamps;
    int phase;
    int retry_queued;
    uint32_t retry_ms; /* back-off before the next retry of a failed start */
    char reason[ACTR_REASON_MAX + 1]; /* exit reason once shutting down */
} sup_t;

/* ---- a growable byte buffer fed by actr_pack ---------------------------- */

typedef struct mbuf {
    unsigned char *p;
    size_t len, cap;
} mbuf_t;

static int mb_reserve(mbuf_t *b, size_t extra)
{
    size_t need, cap;
    void *np;

    if (extra > SIZE_MAX - b->len)
        return ACTR_E2BIG;
    need = b->len + extra;
    if (need <= b->cap)
        return 0;
    cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    np = realloc(b->p, cap);
    if (np == NULL)
        return ACTR_ENOMEM;
    b->p = np;
    b->cap = cap;
    return 0;
}

/* Append the value(s) of actr_pack(fmt, ...) to buffer `b`, growing it when
 * actr_pack says the room is too small. A macro because actr_pack has no
 * va_list form. Sets `rc` to 0 or an error. */
#define MB_PACK(rc, b, ...)                                                                        \
    do {                                                                                           \
        size_t need_ = 0, room_;                                                                   \
        (rc) = mb_reserve((b), 64);                                                                \
        while ((rc) == 0) {                                                                        \
            room_ = (b)->cap - (b)->len;                                                           \
            (rc) = actr_pack((b)->p + (b)->len, room_, &need_, __VA_ARGS__);                       \
            if ((rc) == 0) {                                                                       \
                (b)->len += need_;                                                                 \
                break;                                                                             \
            }                                                                                      \
            if ((rc) != ACTR_E2BIG || need_ <= room_)                                              \
                break;                                                                             \
            (rc) = mb_reserve((b), need_);                                                         \
        }                                                                                          \
    } while (0)

/* Append a msgpack array header for `n` elements. The elements follow as
 * separately packed values; this is how an array of dynamic length is built
 * when actr_pack's format fixes the number of values. */
static int mb_array(mbuf_t *b, size_t n)
{
    unsigned char h[5];
    size_t hl;
    int rc;

    if (n < 16) {
        h[0] = (unsigned char)(0x90u | n);
        hl = 1;
    } else if (n <= 0xFFFFu) {
        h[0] = 0xdc;
        h[1] = (unsigned char)(n >> 8);
        h[2] = (unsigned char)n;
        hl = 3;
    } else if ((uint64_t)n <= 0xFFFFFFFFu) {
        h[0] = 0xdd;
        h[1] = (unsigned char)((uint64_t)n >> 24);
        h[2] = (unsigned char)(n >> 16);
        h[3] = (unsigned char)(n >> 8);
        h[4] = (unsigned char)n;
        hl = 5;
    } else {
        return ACTR_E2BIG;
    }
    if ((rc = mb_reserve(b, hl)) != 0)
        return rc;
    memcpy(b->p + b->len, h, hl);
    b->len += hl;
    return 0;
}

static void put_u32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* ---- the spec, checked and carried in the init args --------------------- */

static int valid_strategy(int s)
{
    return s == ACTR_ONE_FOR_ONE || s == ACTR_ONE_FOR_ALL || s == ACTR_REST_FOR_ONE;
}

static int valid_restart(int r)
{
    return r == ACTR_PERMANENT || r == ACTR_TRANSIENT || r == ACTR_TEMPORARY;
}

static int check_spec(const actr_sup_spec_t *spec)
{
    size_t i, j;

    if (!valid_strategy((int)spec->strategy))
        return ACTR_EINVAL;
    if (spec->nchildren > 0 && spec->children == NULL)
        return ACTR_EINVAL;
    for (i = 0; i < spec->nchildren; i++) {
        const actr_child_spec_t *c = &spec->children[i];
        if (c->id == NULL || c->beh == NULL || c->beh->receive == NULL)
            return ACTR_EINVAL;
        if (!valid_restart((int)c->restart) || (c->args == NULL && c->args_len > 0))
            return ACTR_EINVAL;
        if (c->name != NULL && (c->name[0] == '\0' || strlen(c->name) > SUP_NAME_MAX))
            return ACTR_EINVAL;
        /* Two children with one id, or one name, could never both run. */
        for (j = 0; j < i; j++) {
            const actr_child_spec_t *d = &spec->children[j];
            if (strcmp(c->id, d->id) == 0)
                return ACTR_EINVAL;
            if (c->name != NULL && d->name != NULL && strcmp(c->name, d->name) == 0)
                return ACTR_EINVAL;
        }
    }
    return 0;
}

/* Init args: [version:int, strategy:int, intensity:uint, period_ms:uint,
 *             nchildren:uint, offsets:bin, children:bin]
 * where `children` is the concatenation of one packed value per child,
 *   [id:str, beh:bin(sizeof(void *)), args:bin, restart:int, name:str ("" = none),
 *    mailbox_limit:uint, shutdown_ms:uint]
 * and `offsets` holds nchildren + 1 big-endian u32 offsets into `children`
 * (child i spans offsets[i] .. offsets[i+1]), so init decodes in linear time. */
static int pack_spec(const actr_sup_spec_t *spec, mbuf_t *out)
{
    mbuf_t kids = {0};
    unsigned char *offs;
    size_t i, n = spec->nchildren;
    int rc = 0;

    if (n > (SIZE_MAX / 4) - 1 || (uint64_t)n >= UINT32_MAX)
        return ACTR_E2BIG;
    offs = malloc((n + 1) * 4);
    if (offs == NULL)
        return ACTR_ENOMEM;
    for (i = 0; i < n && rc == 0; i++) {
        const actr_child_spec_t *c = &spec->children[i];
        const actr_behavior_t *beh = c->beh;
        unsigned char bp[sizeof beh];

        memcpy(bp, &beh, sizeof beh);
        put_u32(offs + 4 * i, (uint32_t)kids.len);
        MB_PACK(rc, &kids, "[s x x i s U U]", c->id, (const void *)bp, sizeof bp,
                (const void *)(c->args ? c->args : ""), c->args ? c->args_len : (size_t)0,
                (int)c->restart, c->name ? c->name : "", (uint64_t)c->mailbox_limit,
                (uint64_t)c->shutdown_ms);
        if (rc == 0 && (uint64_t)kids.len > UINT32_MAX)
            rc = ACTR_E2BIG;
    }
    if (rc == 0) {
        put_u32(offs + 4 * n, (uint32_t)kids.len);
        MB_PACK(rc, out, "[i i U U U x x]", SUP_ARGS_VERSION, (int)spec->strategy,
                (uint64_t)spec->intensity, (uint64_t)spec->period_ms, (uint64_t)n,
                (const void *)offs, (n + 1) * 4,
                (const void *)(kids.p ? kids.p : (unsigned char *)""), kids.len);
    }
    free(offs);
    free(kids.p);
    return rc;
}

static char *dup_str(const char *s, size_t len)
{
    char *d = malloc(len + 1);

    if (d != NULL) {
        if (len > 0)
            memcpy(d, s, len);
        d[len] = '\0';
    }
    return d;
}

static void free_child(child_t *c)
{
    free(c->id);
    free(c->name);
    free(c->args);
    c->id = c->name = NULL;
    c->args = NULL;
}

static int decode_child(child_t *c, const void *data, size_t len)
{
    const char *id, *name;
    const void *bp, *args;
    size_t id_len, bp_len, args_len, name_len;
    int restart;
    uint64_t mbox, shut;
    int rc;

    rc = actr_unpack(data, len, "[s x x i s U U]", &id, &id_len, &bp, &bp_len, &args, &args_len,
                     &restart, &name, &name_len, &mbox, &shut);
    if (rc != 0)
        return rc;
    if (bp_len != sizeof c->beh || !valid_restart(restart) || mbox > UINT32_MAX ||
        shut > UINT32_MAX || name_len > SUP_NAME_MAX)
        return ACTR_EINVAL;
    memcpy(&c->beh, bp, sizeof c->beh);
    if (c->beh == NULL)
        return ACTR_EINVAL;
    c->restart = (actr_restart_t)restart;
    c->mailbox_limit = (uint32_t)mbox;
    c->shutdown_ms = (uint32_t)shut;
    c->id = dup_str(id, id_len);
    if (c->id == NULL)
        return ACTR_ENOMEM;
    if (name_len > 0 && (c->name = dup_str(name, name_len)) == NULL)
        return ACTR_ENOMEM;
    if (args_len > 0) {
        if ((c->args = malloc(args_len)) == NULL)
            return ACTR_ENOMEM;
        memcpy(c->args, args, args_len);
        c->args_len = args_len;
    }
    return 0;
}

static void free_state(sup_t *s)
{
    size_t i;

    for (i = 0; i < s->n; i++)
        free_child(&s->kids[i]);
    free(s->kids);
    free(s->stamps);
    s->kids = NULL;
    s->stamps = NULL;
    s->n = s->nstamps = s->capstamps = 0;
}

static int decode_spec(sup_t *s, const void *args, size_t args_len)
{
    int ver, strategy, rc;
    uint64_t intensity, period, n;
    const void *offs, *kids;
    size_t offs_len, kids_len, i;

    rc = actr_unpack(args, args_len, "[i i U U U x x]", &ver, &strategy, &intensity, &period, &n,
                     &offs, &offs_len, &kids, &kids_len);
    if (rc != 0)
        return rc;
    if (ver != SUP_ARGS_VERSION || !valid_strategy(strategy) || intensity > UINT32_MAX ||
        period > UINT32_MAX || n >= UINT32_MAX || n > SIZE_MAX / sizeof(child_t) ||
        offs_len / 4 != n + 1 || offs_len % 4 != 0)
        return ACTR_EINVAL;
    s->strategy = (actr_sup_strategy_t)strategy;
    s->intensity = (uint32_t)intensity;
    s->period_ms = period ? (uint32_t)period : SUP_DEFAULT_MS;
    s->kids = calloc(n ? (size_t)n : 1, sizeof *s->kids);
    if (s->kids == NULL)
        return ACTR_ENOMEM;
    s->n = (size_t)n;
    for (i = 0; i < s->n; i++) {
        uint32_t from = get_u32((const unsigned char *)offs + 4 * i);
        uint32_t to = get_u32((const unsigned char *)offs + 4 * (i + 1));
        if (from > to || to > kids_len)
            return ACTR_EINVAL;
        rc = decode_child(&s->kids[i], (const unsigned char *)kids + from, to - from);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* ---- children ------------------------------------------------------------ */

static int running(const child_t *c) { return !actr_ref_is_none(c->ref); }

static child_t *find_child(sup_t *s, actr_ref_t ref)
{
    size_t i;

    if (actr_ref_is_none(ref))
        return NULL;
    for (i = 0; i < s->n; i++)
        if (actr_ref_eq(s->kids[i].ref, ref))
            return &s->kids[i];
    return NULL;
}

/* Spawn child `c`, linked to the supervisor and registered under its name. */
static int start_child(actr_ctx_t *ctx, child_t *c)
{
    actr_spawn_opts_t o;
    actr_ref_t ref;
    int rc;

    memset(&o, 0, sizeof o);
    o.mailbox_limit = c->mailbox_limit;
    o.link = 1;
    o.name = c->name;
    rc = actr_spawn(ctx, c->beh, c->args, c->args_len, &o, &ref);
    if (rc == 0) {
        c->ref = ref;
        c->started_at = actr_now_ms(ctx);
    }
    return rc;
}

/* Ask child `c` to stop and arm the timer that kills it after its grace. Its
 * EXIT (which the link guarantees) ends the stop, whatever happens here. */
static void stop_child(actr_ctx_t *ctx, child_t *c)
{
    uint32_t grace = c->shutdown_ms ? c->shutdown_ms : SUP_DEFAULT_MS;
    actr_msg_t *m;
    int rc;

    c->stopping = 1;
    c->kill_timer = 0;
    /* ACTR_ENOACTOR: it is already dying and its EXIT is on the way. */
    (void)actr_actor_stop(ctx, c->ref, ACTR_REASON_SHUTDOWN);
    rc = actr_msg_pack(ctx, SUP_MSG_KILL, &m, "r", c->ref);
    if (rc == 0)
        rc = actr_timer_send_after(ctx, actr_self(ctx), grace, m, &c->kill_timer);
    if (rc != 0)
        actr_log(ctx, ACTR_LOG_WARN, "supervisor: no kill timer for child %s: %s", c->id,
                 actr_strerror(rc));
}

/* Record a restart in the intensity window. Returns 1 if it is allowed, 0 if it
 * would make more than `intensity` restarts within `period_ms`. */
static int note_restart(actr_ctx_t *ctx, sup_t *s)
{
    uint64_t now = actr_now_ms(ctx);
    size_t i = 0;

    while (i < s->nstamps && now - s->stamps[i] >= s->period_ms)
        i++;
    if (i > 0) {
        memmove(s->stamps, s->stamps + i, (s->nstamps - i) * sizeof *s->stamps);
        s->nstamps -= i;
    }
    if ((uint64_t)s->nstamps + 1 > s->intensity)
        return 0;
    if (s->nstamps == s->capstamps) {
        size_t cap = s->capstamps ? s->capstamps * 2 : 4;
        uint64_t *np = realloc(s->stamps, cap * sizeof *np);
        if (np == NULL)
            return 0;
        s->stamps = np;
        s->capstamps = cap;
    }
    s->stamps[s->nstamps++] = now;
    return 1;
}

static void advance(actr_ctx_t *ctx, sup_t *s);

/* Stop every child (reverse order, one by one) and then exit with `reason`.
 * The first reason wins. */
static void begin_shutdown(actr_ctx_t *ctx, sup_t *s, const char *reason)
{
    size_t i;

    if (s->phase != PH_RUNNING)
        return;
    s->phase = PH_SHUTDOWN;
    strncpy(s->reason, reason, sizeof s->reason - 1);
    s->reason[sizeof s->reason - 1] = '\0';
    for (i = 0; i < s->n; i++) {
        s->kids[i].restart_wanted = 0;
        if (running(&s->kids[i]))
            s->kids[i].stop_wanted = 1;
    }
    advance(ctx, s);
}

static void intensity_reached(actr_ctx_t *ctx, sup_t *s)
{
    actr_log(ctx, ACTR_LOG_ERROR,
             "supervisor: reached max restart intensity (%u in %u ms): shutting down",
             (unsigned)s->intensity, (unsigned)s->period_ms);
    begin_shutdown(ctx, s, ACTR_REASON_SHUTDOWN);
}

/* Start the pending restarts in start order. A failed spawn counts against the
 * intensity and is retried by a message to self; the children after it wait. */
static void start_pending(actr_ctx_t *ctx, sup_t *s)
{
    size_t i, j;
    actr_msg_t *m;
    int rc;

    for (i = 0; i < s->n; i++) {
        child_t *c = &s->kids[i];
        if (!c->restart_wanted)
            continue;
        if (running(c)) {
            c->restart_wanted = 0;
            continue;
        }
        uint64_t now = actr_now_ms(ctx);
        if (now < c->not_before) {
            /* backing off: come back when it is due (later children wait, so
             * that start order is kept) */
            if (!s->retry_queued) {
                rc = actr_msg_new(ctx, SUP_MSG_RETRY, NULL, 0, &m);
                if (rc == 0)
                    rc = actr_timer_send_after(ctx, actr_self(ctx),
                                               (uint32_t)(c->not_before - now), m, NULL);
                if (rc != 0) {
                    begin_shutdown(ctx, s, ACTR_REASON_SHUTDOWN);
                    return;
                }
                s->retry_queued = 1;
            }
            return;
        }
        c->restart_wanted = 0;
        rc = start_child(ctx, c);
        if (rc == 0) {
            c->restarts++;
            s->retry_ms = 0;
            actr_log(ctx, ACTR_LOG_INFO, "supervisor: restarted child %s", c->id);
            continue;
        }
        if (rc == ACTR_ESTOPPED) { /* the runtime is going down: nothing to restart */
            for (j = i; j < s->n; j++)
                s->kids[j].restart_wanted = 0;
            return;
        }
        c->restart_wanted = 1;
        actr_log(ctx, ACTR_LOG_ERROR, "supervisor: restarting child %s failed: %s", c->id,
                 actr_strerror(rc));
        if (!note_restart(ctx, s)) {
            intensity_reached(ctx, s);
            return;
        }
        if (s->retry_queued)
            return;
        /* Retry after a back-off (1, 2, 4 ... 1000 ms): a start usually fails
         * because the previous incarnation, or a linked grandchild, still
         * holds a registered name and is about to go; retrying at once would
         * only burn the restart intensity. */
        s->retry_ms = s->retry_ms ? (s->retry_ms >= 500 ? 1000 : s->retry_ms * 2) : 1;
        rc = actr_msg_new(ctx, SUP_MSG_RETRY, NULL, 0, &m);
        if (rc == 0)
            rc = actr_timer_send_after(ctx, actr_self(ctx), s->retry_ms, m, NULL);
        if (rc != 0) {
            actr_log(ctx, ACTR_LOG_ERROR, "supervisor: cannot schedule a retry: %s",
                     actr_strerror(rc));
            begin_shutdown(ctx, s, ACTR_REASON_SHUTDOWN);
            return;
        }
        s->retry_queued = 1;
        return;
    }
}

/* Make progress: stop the next child waiting to be stopped (highest index
 * first, one at a time); when none is left, exit if shutting down, otherwise
 * start the pending restarts. */
static void advance(actr_ctx_t *ctx, sup_t *s)
{
    size_t i;

    if (s->phase == PH_EXITED)
        return;
    for (i = 0; i < s->n; i++)
        if (s->kids[i].stopping)
            return;
    for (i = s->n; i-- > 0;) {
        child_t *c = &s->kids[i];
        if (!c->stop_wanted)
            continue;
        if (!running(c)) {
            c->stop_wanted = 0;
            continue;
        }
        stop_child(ctx, c);
        return;
    }
    if (s->phase == PH_SHUTDOWN) {
        s->phase = PH_EXITED;
        (void)actr_exit(ctx, s->reason);
        return;
    }
    start_pending(ctx, s);
}

static int wants_restart(const child_t *c, const char *reason)
{
    switch (c->restart) {
    case ACTR_PERMANENT:
        return 1;
    case ACTR_TRANSIENT:
        return strcmp(reason, ACTR_REASON_NORMAL) != 0 && strcmp(reason, ACTR_REASON_SHUTDOWN) != 0;
    default:
        return 0;
    }
}

static void handle_exit(actr_ctx_t *ctx, sup_t *s, const actr_msg_t *msg)
{
    char reason[ACTR_REASON_MAX + 1];
    const char *r = NULL;
    size_t rl = 0, i, first;
    child_t *c;
    int abnormal;

    if (actr_msg_exit(msg, &r, &rl) != 0 || r == NULL) {
        r = "unknown";
        rl = strlen(r);
    }
    if (rl > ACTR_REASON_MAX)
        rl = ACTR_REASON_MAX;
    memcpy(reason, r, rl);
    reason[rl] = '\0';
    abnormal = strcmp(reason, ACTR_REASON_NORMAL) != 0;

    c = find_child(s, actr_msg_from(msg));
    if (c == NULL) {
        /* A linked actor that is not a child (e.g. the parent) died: a normal
         * exit is ignored, anything else takes the whole tree down with it. */
        if (abnormal) {
            actr_log(ctx, ACTR_LOG_WARN, "supervisor: linked actor exited (%s): shutting down",
                     reason);
            begin_shutdown(ctx, s, reason);
        }
        return;
    }
    c->ref = ACTR_REF_NONE;
    if (c->stopping) {
        c->stopping = 0;
        c->stop_wanted = 0;
        if (c->kill_timer != 0)
            (void)actr_timer_cancel(ctx, c->kill_timer);
        c->kill_timer = 0;
        advance(ctx, s);
        return;
    }
    if (c->stop_wanted) { /* died by itself while waiting for its stop: not a crash */
        c->stop_wanted = 0;
        actr_log(ctx, ACTR_LOG_INFO, "supervisor: child %s exited (%s) while being stopped", c->id,
                 reason);
        advance(ctx, s);
        return;
    }
    actr_log(ctx, abnormal ? ACTR_LOG_WARN : ACTR_LOG_INFO, "supervisor: child %s exited (%s)",
             c->id, reason);
    if (s->phase != PH_RUNNING || !wants_restart(c, reason)) {
        advance(ctx, s);
        return;
    }
    if (!note_restart(ctx, s)) {
        intensity_reached(ctx, s);
        return;
    }
    c->restart_wanted = 1;
    uint64_t now = actr_now_ms(ctx);
    if (now - c->started_at < YOUNG_MS) {
        c->backoff_ms = c->backoff_ms ? c->backoff_ms * 2 : 1;
        if (c->backoff_ms > BACKOFF_MAX_MS)
            c->backoff_ms = BACKOFF_MAX_MS;
        c->not_before = now + c->backoff_ms;
    } else {
        c->backoff_ms = 0;
        c->not_before = 0;
    }
    if (s->strategy != ACTR_ONE_FOR_ONE) {
        first = s->strategy == ACTR_ONE_FOR_ALL ? 0 : (size_t)(c - s->kids) + 1;
        for (i = first; i < s->n; i++) {
            child_t *o = &s->kids[i];
            if (o == c || !running(o))
                continue;
            o->stop_wanted = 1;
            o->restart_wanted = o->restart != ACTR_TEMPORARY;
        }
    }
    advance(ctx, s);
}

static void on_kill_timer(actr_ctx_t *ctx, sup_t *s, const actr_msg_t *msg)
{
    actr_ref_t ref;
    child_t *c;

    if (actr_msg_unpack(msg, "r", &ref) != 0)
        return;
    c = find_child(s, ref);
    if (c == NULL || !c->stopping)
        return;
    c->kill_timer = 0;
    actr_log(ctx, ACTR_LOG_WARN, "supervisor: child %s did not stop within %u ms: killing it",
             c->id, (unsigned)(c->shutdown_ms ? c->shutdown_ms : SUP_DEFAULT_MS));
    /* ACTR_ENOACTOR: it has just died; its EXIT ends the stop. */
    (void)actr_actor_kill(ctx, ref);
}

/* Reply [[id, ref | nil, restarts], ...] in start order. */
static void reply_children(actr_ctx_t *ctx, sup_t *s, const actr_msg_t *req)
{
    mbuf_t b = {0};
    actr_msg_t *m = NULL;
    size_t i;
    int rc;

    rc = mb_array(&b, s->n);
    for (i = 0; i < s->n && rc == 0; i++) {
        const child_t *c = &s->kids[i];
        if (running(c))
            MB_PACK(rc, &b, "[s r U]", c->id, c->ref, c->restarts);
        else
            MB_PACK(rc, &b, "[s n U]", c->id, c->restarts);
    }
    if (rc == 0)
        rc = actr_msg_new(ctx, ACTR_SUP_WHICH_CHILDREN, b.p, b.len, &m);
    if (rc == 0)
        rc = actr_reply(ctx, req, m);
    if (rc != 0 && rc != ACTR_ENOACTOR)
        actr_log(ctx, ACTR_LOG_WARN, "supervisor: which_children reply failed: %s",
                 actr_strerror(rc));
    free(b.p);
}

/* ---- the behaviour --------------------------------------------------------- */

static int sup_init(actr_ctx_t *ctx, void *state, const void *args, size_t args_len)
{
    sup_t *s = state;
    size_t i, j;
    int rc;

    rc = decode_spec(s, args, args_len);
    if (rc == 0)
        rc = actr_trap_exit(ctx, 1);
    for (i = 0; i < s->n && rc == 0; i++) {
        rc = start_child(ctx, &s->kids[i]);
        if (rc == 0)
            continue;
        actr_log(ctx, ACTR_LOG_ERROR, "supervisor: starting child %s failed: %s", s->kids[i].id,
                 actr_strerror(rc));
        for (j = i; j-- > 0;)
            (void)actr_actor_stop(ctx, s->kids[j].ref, ACTR_REASON_SHUTDOWN);
    }
    if (rc != 0)
        free_state(s);
    return rc;
}

static int sup_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    sup_t *s = state;
    actr_ref_t from = actr_msg_from(msg);

    switch (actr_msg_type(msg)) {
    case ACTR_MSG_EXIT:
        handle_exit(ctx, s, msg);
        break;
    case ACTR_SUP_WHICH_CHILDREN:
        if (actr_msg_is_request(msg))
            reply_children(ctx, s, msg);
        break;
    case SUP_MSG_KILL:
        if (actr_ref_is_none(from) || actr_ref_eq(from, actr_self(ctx)))
            on_kill_timer(ctx, s, msg);
        break;
    case SUP_MSG_RETRY:
        if (actr_ref_is_none(from) || actr_ref_eq(from, actr_self(ctx))) {
            s->retry_queued = 0;
            if (s->phase == PH_RUNNING)
                advance(ctx, s);
        }
        break;
    default:
        break;
    }
    return 0;
}

/* Best effort: when the supervisor itself is stopped (by its parent, or by the
 * runtime going down), ask every running child to stop, youngest first. The
 * links take them down anyway if they do not stop. */
static void sup_terminate(actr_ctx_t *ctx, void *state, const char *reason)
{
    sup_t *s = state;
    size_t i;

    if (strcmp(reason, ACTR_REASON_NORMAL) != 0 && strcmp(reason, ACTR_REASON_SHUTDOWN) != 0)
        actr_log(ctx, ACTR_LOG_WARN, "supervisor: exiting (%s)", reason);
    for (i = s->n; i-- > 0;)
        if (running(&s->kids[i]))
            (void)actr_actor_stop(ctx, s->kids[i].ref, ACTR_REASON_SHUTDOWN);
    free_state(s);
}

static const actr_behavior_t sup_behavior = {
    .size = sizeof(actr_behavior_t),
    .name = "actr.supervisor",
    .state_size = sizeof(sup_t),
    .init = sup_init,
    .receive = sup_receive,
    .terminate = sup_terminate,
};

int actr_supervisor_spawn(actr_ctx_t *ctx, const actr_sup_spec_t *spec,
                          const actr_spawn_opts_t *opts, actr_ref_t *out)
{
    actr_spawn_opts_t o;
    mbuf_t args = {0};
    int rc;

    if (ctx == NULL || spec == NULL || out == NULL)
        return ACTR_EINVAL;
    if ((rc = check_spec(spec)) != 0)
        return rc;
    if ((rc = pack_spec(spec, &args)) != 0) {
        free(args.p);
        return rc;
    }
    if (opts != NULL)
        o = *opts;
    else
        memset(&o, 0, sizeof o);
    o.trap_exit = 1; /* from the first message on, as init also asks */
    rc = actr_spawn(ctx, &sup_behavior, args.p, args.len, &o, out);
    free(args.p);
    return rc;
}

const actr_behavior_t *actr_supervisor_behavior(void) { return &sup_behavior; }

int actr_supervisor_args(const actr_sup_spec_t *spec, void **args, size_t *args_len)
{
    mbuf_t b = {0};
    int rc;

    if (args == NULL || args_len == NULL)
        return ACTR_EINVAL;
    *args = NULL;
    *args_len = 0;
    if (spec == NULL)
        return ACTR_EINVAL;
    if ((rc = check_spec(spec)) != 0)
        return rc;
    if ((rc = pack_spec(spec, &b)) != 0) {
        free(b.p);
        return rc;
    }
    *args = b.p;
    *args_len = b.len;
    return 0;
}

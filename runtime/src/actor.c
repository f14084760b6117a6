/* actor.c — the send path and what happens on an actor's thread: spawn,
 * batch-limited dispatch, system messages, monitors and links, backpressure,
 * and death. (The slot table is in table.c, actor-owned timers in timer.c.)
 *
 * Invariants:
 * - Slots are type-stable (chunks are freed only by actr_close), so a ref
 *   always resolves to valid memory. `gen` is bumped (release) the moment an
 *   actor dies, before anyone is notified; a send checks it (acquire) and fails
 *   with ACTR_ENOACTOR for any other generation.
 * - A sender that checked `gen` just before the bump may still push: such a
 *   message carries the old generation in to_gen, is recognised as stale by the
 *   slot's next owner, and is answered as "noproc" (monitor, link, request) or
 *   dropped. Nothing for one generation ever reaches the next.
 * - Only the holder of the schedule token (mailbox.h) touches the owner-only
 *   fields. A new actor's set-up travels as its first message (SYS_INIT), so
 *   it too happens on the token holder, never on the spawning thread.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cluster_int.h"
#include "pack.h"


/* ---- the send path ---------------------------------------------------------- */

int actr__lookup(actr_t *rt, actr_ref_t ref, actr__actor_t **out)
{
    if (ref.node != rt->node_id)
        return ref.node == 0 ? ACTR_EINVAL : ACTR_ENONODE;
    actr__actor_t *a = actr__slot(rt, ref.slot);
    /* acquire: pairs with the release bump at death */
    if (a == NULL || ref.gen == 0 || atomic_load_explicit(&a->gen, memory_order_acquire) != ref.gen)
        return ACTR_ENOACTOR;
    *out = a;
    return 0;
}

static void register_waiter(actr_ctx_t *ctx, actr__actor_t *a, actr_ref_t to, uint32_t lim);

int actr__deliver(actr_t *rt, actr_ctx_t *ctx, actr_ref_t to, actr_msg_t *m, int counted)
{
    actr__actor_t *a;
    if (to.node != rt->node_id && to.node != 0 && actr__cluster_on(rt)) {
        if (ctx != NULL)
            ctx->sent++;
        return actr__remote_send(rt, ctx, to, m); /* another node's actor */
    }
    int rc = actr__lookup(rt, to, &a);
    if (rc != 0) {
        actr__msg_unref(ctx, m);
        return rc;
    }
    /* an actor's messages to itself are never refused: refusing one could cut
     * the thread of its own work (a continuation, a retry) */
    if (counted && ctx != NULL && ctx->cur == a)
        counted = 0;
    if (counted) {
        /* relaxed: the bound is a flow-control hint, not a synchronisation point */
        uint32_t lim = atomic_load_explicit(&a->limit, memory_order_relaxed);
        if (atomic_fetch_add_explicit(&a->count, 1, memory_order_relaxed) >= lim) {
            atomic_fetch_sub_explicit(&a->count, 1, memory_order_relaxed);
            actr__msg_unref(ctx, m);
            if (ctx != NULL && ctx->worker != NULL && ctx->in_handler && ctx->cur != NULL &&
                ctx->cur != a)
                register_waiter(ctx, a, to, lim);
            return ACTR_EMAILBOX;
        }
        m->flags |= ACTR__F_COUNTED;
    }
    m->to_gen = to.gen;
    if (ctx != NULL)
        ctx->sent++;
    if (actr__mb_push(&a->mb, &m->node))
        actr__sched_ready(rt, ctx, a);
    return 0;
}

int actr__deliver_io(actr_t *rt, actr_ctx_t *ctx, actr_ref_t to, actr_msg_t *m)
{
    actr__actor_t *a;
    int rc = actr__lookup(rt, to, &a);
    if (rc != 0) {
        actr__msg_unref(ctx, m);
        return rc;
    }
    m->to_gen = to.gen;
    if (!actr__mb_push(&a->mb, &m->node))
        return 0; /* already scheduled or running */
    /* We hold its token. With every worker parked, waking one would cost
     * more than the message (tens of µs here): run the activation now. */
    if (atomic_load_explicit(&a->kind, memory_order_relaxed) == ACTR__KIND_ACTOR &&
        rt->workers != NULL &&
        atomic_load_explicit(&rt->nparked, memory_order_relaxed) == rt->nworkers &&
        !atomic_load_explicit(&rt->stopping, memory_order_acquire)) {
        actr__run_actor(ctx, a);
        atomic_store_explicit(&ctx->in_type, NULL, memory_order_release);
        return 0;
    }
    actr__sched_ready(rt, ctx, a);
    return 0;
}

/* Send a runtime message that is never refused for a full mailbox. */
static void send_sys(actr_ctx_t *ctx, actr_ref_t from, actr_ref_t to, actr_msg_t *m)
{
    m->from = from;
    (void)actr__deliver(ctx->rt, ctx, to, m, 0);
}

static void send_down(actr_ctx_t *ctx, actr_ref_t dead, actr_ref_t to, uint64_t id,
                      const char *reason)
{
    actr_msg_t *m;
    if (actr__pack_down(ctx, id, reason, &m) != 0)
        return;
    m->corr = id;
    send_sys(ctx, dead, to, m);
}

static void send_exit(actr_ctx_t *ctx, actr_ref_t dead, actr_ref_t to, const char *reason)
{
    actr_msg_t *m;
    if (actr__pack_exit(ctx, reason, &m) != 0)
        return;
    m->sys = ACTR__SYS_EXIT;
    send_sys(ctx, dead, to, m);
}

static void send_reqfail(actr_ctx_t *ctx, actr_ref_t from, actr_ref_t to, uint64_t id, int code)
{
    actr_msg_t *m;
    if (actr__pack_reqfail(ctx, code, &m) != 0)
        return;
    m->corr = id;
    send_sys(ctx, from, to, m);
}

void actr__send_down(actr_ctx_t *ctx, actr_ref_t dead, actr_ref_t to, uint64_t id,
                     const char *reason)
{
    send_down(ctx, dead, to, id, reason);
}

void actr__send_exit(actr_ctx_t *ctx, actr_ref_t dead, actr_ref_t to, const char *reason)
{
    send_exit(ctx, dead, to, reason);
}

void actr__send_reqfail(actr_ctx_t *ctx, actr_ref_t from, actr_ref_t to, uint64_t id, int code)
{
    send_reqfail(ctx, from, to, id, code);
}

int actr__check_ctx(actr_ctx_t *ctx)
{
    if (ctx == NULL || ctx->rt == NULL)
        return ACTR_EINVAL;
    if (ctx->migrating)
        return ACTR_ECONTEXT;
    if (atomic_load_explicit(&ctx->rt->stopped, memory_order_acquire))
        return ACTR_ESTOPPED;
    if (ctx->is_client && atomic_load_explicit(&ctx->rt->stopping, memory_order_acquire))
        return ACTR_ESTOPPED;
    return 0;
}

int actr_send(actr_ctx_t *ctx, actr_ref_t to, actr_msg_t *msg)
{
    if (msg == NULL)
        return ACTR_EINVAL;
    int rc = actr__check_ctx(ctx);
    if (rc != 0) {
        actr__msg_unref(ctx, msg);
        return rc;
    }
    if (msg->len > ctx->rt->opts.max_payload) {
        actr__msg_unref(ctx, msg);
        return ACTR_E2BIG;
    }
    msg->from = ctx->self;
    return actr__deliver(ctx->rt, ctx, to, msg, 1);
}

/* ---- the owner's extension record -------------------------------------------- */

actr__ext_t *actr__ext(actr__actor_t *a)
{
    if (a->ext == NULL) {
        a->ext = calloc(1, sizeof(*a->ext));
        if (a->ext == NULL)
            abort(); /* small internal allocation: OOM policy is abort */
    }
    return a->ext;
}

#define GROW(arr, n, cap)                                                                      \
    do {                                                                                       \
        if ((n) == (cap)) {                                                                    \
            uint32_t nc_ = (cap) ? (cap) * 2 : 4;                                              \
            void *p_ = realloc((arr), nc_ * sizeof(*(arr)));                                   \
            if (p_ == NULL)                                                                    \
                abort();                                                                       \
            (arr) = p_;                                                                        \
            (cap) = nc_;                                                                       \
        }                                                                                      \
    } while (0)

static void watch_add(actr__watch_t **arr, uint32_t *n, uint32_t *cap, uint64_t id,
                      actr_ref_t who)
{
    GROW(*arr, *n, *cap);
    (*arr)[(*n)++] = (actr__watch_t){id, who};
}

static int watch_del(actr__watch_t *arr, uint32_t *n, uint64_t id, actr_ref_t *who)
{
    for (uint32_t i = 0; i < *n; i++) {
        if (arr[i].id == id) {
            if (who != NULL)
                *who = arr[i].who;
            arr[i] = arr[--(*n)];
            return 1;
        }
    }
    return 0;
}

static int link_find(actr__ext_t *e, actr_ref_t who)
{
    for (uint32_t i = 0; e != NULL && i < e->nlinks; i++)
        if (actr_ref_eq(e->links[i], who))
            return (int)i;
    return -1;
}

static void link_add(actr__actor_t *a, actr_ref_t who)
{
    actr__ext_t *e = actr__ext(a);
    if (link_find(e, who) >= 0)
        return;
    GROW(e->links, e->nlinks, e->caplinks);
    e->links[e->nlinks++] = who;
}

static int link_del(actr__actor_t *a, actr_ref_t who)
{
    int i = link_find(a->ext, who);
    if (i < 0)
        return 0;
    a->ext->links[i] = a->ext->links[--a->ext->nlinks];
    return 1;
}

struct cancel_ud {
    actr_t *rt;
    int only_marked;
};

/* only_marked 0: cancel all; 1: entries with a non-NULL value (requests with
 * a timeout); TM_SELF: timers whose tag has TM_SELF */
static void cancel_each(uint64_t id, void *val, void *ud)
{
    struct cancel_ud *c = ud;
    uintptr_t v = (uintptr_t)val;
    if (c->only_marked == 0 || (c->only_marked == 1 && v != 0) ||
        (c->only_marked == TM_SELF && (v & TM_SELF)))
        actr__timer_cancel_id(c->rt, id);
}

void actr__ext_free(actr_ctx_t *ctx, actr__actor_t *a, actr_ref_t self, const char *reason)
{
    actr_t *rt = ctx->rt;
    actr__ext_t *e = a->ext;
    /* names are kept by the registry, keyed by ref: drop any this actor held */
    actr__name_drop(rt, NULL, self);
    if (e == NULL)
        return;
    a->ext = NULL;
    for (uint32_t i = 0; i < e->nwatch; i++)
        send_down(ctx, self, e->watchers[i].who, e->watchers[i].id, reason);
    for (uint32_t i = 0; i < e->nlinks; i++)
        send_exit(ctx, self, e->links[i], reason);
    for (uint32_t i = 0; i < e->nmons; i++) {
        actr_msg_t *m = actr__msg_make(ctx, 0, 0);
        if (m == NULL)
            continue;
        m->sys = ACTR__SYS_DEMONITOR;
        m->corr = e->mons[i].id;
        send_sys(ctx, self, e->mons[i].who, m);
    }
    for (uint32_t i = 0; i < e->ntopics; i++) {
        actr__topic_drop(rt, e->topics[i], self);
        free(e->topics[i]);
    }
    /* requests set aside while awaiting were queued, not received: fail them */
    for (actr_msg_t *d = e->deferred_head; d != NULL;
         d = (actr_msg_t *)atomic_load_explicit(&d->node.next, memory_order_relaxed))
        if (atomic_load_explicit(&a->kind, memory_order_relaxed) == ACTR__KIND_ACTOR &&
            (d->flags & ACTR__F_REQUEST))
            send_reqfail(ctx, self, d->from, d->corr, ACTR_ENOACTOR);
    struct cancel_ud cu = {rt, 1};
    actr__idmap_each(&e->pending, cancel_each, &cu);
    cu.only_marked = TM_SELF; /* timers to other actors outlive their creator */
    actr__idmap_each(&e->timers, cancel_each, &cu);
    e->ntopics = 0; /* freed above */
    actr__ext_destroy(ctx, e);
}

static void forget_remote(uint64_t id, void *val, void *ud)
{
    (void)val;
    actr__remote_forget_request(ud, id);
}

void actr__ext_destroy(actr_ctx_t *ctx, actr__ext_t *e)
{
    actr_msg_t *d = e->deferred_head;
    while (d != NULL) {
        actr_msg_t *n = (actr_msg_t *)atomic_load_explicit(&d->node.next, memory_order_relaxed);
        actr__msg_unref(ctx, d);
        d = n;
    }
    for (uint32_t i = 0; i < e->ntopics; i++)
        free(e->topics[i]);
    if (ctx != NULL && e->pending.len > 0) /* requests to other nodes: nobody waits now */
        actr__idmap_each(&e->pending, forget_remote, ctx->rt);
    actr__idmap_free(&e->pending);
    actr__idmap_free(&e->timers);
    free(e->watchers);
    free(e->mons);
    free(e->links);
    free(e->topics);
    free(e->blocked);
    free(e->name);
    free(e);
}

/* ---- backpressure: refused senders are told when there is room again ---------- *
 * A refused actor sender is pushed on the receiver's waiter stack (once per
 * episode: its own `blocked` list dedupes). The receiver's owner, whenever it
 * drains to half its bound, takes the whole stack and sends each waiter one
 * ACTR_MSG_UNBLOCKED. The two sides use seq_cst (push then read count; drain
 * then read the stack) so that one of them always sees the other: no waiter is
 * stranded by a receiver that drained just before it registered. */

static int blocked_find(actr__ext_t *e, actr_ref_t who)
{
    for (uint32_t i = 0; e != NULL && i < e->nblocked; i++)
        if (actr_ref_eq(e->blocked[i], who))
            return (int)i;
    return -1;
}

static void register_waiter(actr_ctx_t *ctx, actr__actor_t *a, actr_ref_t to, uint32_t lim)
{
    actr__ext_t *e = actr__ext(ctx->cur);
    if (blocked_find(e, to) >= 0)
        return; /* already waiting for this one */
    actr__waiter_t *w = malloc(sizeof(*w));
    if (w == NULL)
        return; /* the sender can still retry on its own */
    GROW(e->blocked, e->nblocked, e->capblocked);
    e->blocked[e->nblocked++] = to;
    w->who = ctx->self;
    actr__waiter_t *head = atomic_load_explicit(&a->waiters, memory_order_relaxed);
    do
        w->next = head;
    while (!atomic_compare_exchange_weak_explicit(&a->waiters, &head, w, memory_order_seq_cst,
                                                  memory_order_relaxed));
    if (atomic_load_explicit(&a->count, memory_order_seq_cst) <= lim / 2)
        actr__wake_waiters(ctx, a, to.gen, UINT_MAX); /* it drained meanwhile */
}

void actr__wake_waiters(actr_ctx_t *ctx, actr__actor_t *a, uint32_t gen, unsigned max)
{
    actr__waiter_t *w = atomic_exchange_explicit(&a->waiters, NULL, memory_order_acq_rel);
    /* the stack holds the newest first: reverse it, so the longest waiting go first */
    actr__waiter_t *fifo = NULL;
    while (w != NULL) {
        actr__waiter_t *next = w->next;
        w->next = fifo;
        fifo = w;
        w = next;
    }
    actr_ref_t from = actr__ref_of(ctx->rt, a, gen);
    while (fifo != NULL && max-- > 0) {
        actr__waiter_t *next = fifo->next;
        actr_msg_t *m = actr__msg_make(ctx, ACTR_MSG_UNBLOCKED, 0);
        if (m != NULL) {
            m->from = from;
            (void)actr__deliver(ctx->rt, ctx, fifo->who, m, 0);
        }
        free(fifo);
        fifo = next;
    }
    if (fifo == NULL)
        return;
    /* put the rest back (pushing a chain is safe against concurrent pushers) */
    actr__waiter_t *last = fifo;
    while (last->next != NULL)
        last = last->next;
    actr__waiter_t *head = atomic_load_explicit(&a->waiters, memory_order_relaxed);
    do
        last->next = head;
    while (!atomic_compare_exchange_weak_explicit(&a->waiters, &head, fifo, memory_order_seq_cst,
                                                  memory_order_relaxed));
}

void actr__drained(actr_ctx_t *ctx, actr__actor_t *a, uint32_t n)
{
    uint32_t left = atomic_fetch_sub_explicit(&a->count, n, memory_order_seq_cst) - n;
    if (atomic_load_explicit(&a->waiters, memory_order_seq_cst) == NULL)
        return;
    /* Below half the bound, wake the longest-waiting sender, one per batch
     * drained, so the queue stays near its bound without a thundering herd of
     * refusals; below a quarter (the senders woken so far do not keep up),
     * wake them all. */
    uint32_t lim = atomic_load_explicit(&a->limit, memory_order_relaxed);
    if (left <= lim / 2)
        actr__wake_waiters(ctx, a, atomic_load_explicit(&a->gen, memory_order_relaxed),
                           left <= lim / 4 ? UINT_MAX : 1);
}

/* ---- stale messages and death ------------------------------------------------ */

/* The standard reasons are kept as static strings; others are copied. */
static const char *const std_reasons[] = {ACTR_REASON_NORMAL, ACTR_REASON_SHUTDOWN,
                                          ACTR_REASON_KILLED, ACTR_REASON_NOPROC};

static int is_std_reason(const char *r)
{
    for (size_t i = 0; i < sizeof(std_reasons) / sizeof(std_reasons[0]); i++)
        if (r == std_reasons[i])
            return 1;
    return 0;
}

/* Remember why the generation now ending died: a monitor or link request that
 * reached it alive but is handled only after its death learns the real
 * reason rather than "noproc". */
static void keep_reason(actr__actor_t *a, const char *reason)
{
    if (a->dead_reason != NULL && !is_std_reason(a->dead_reason))
        free(a->dead_reason);
    a->dead_reason = NULL;
    for (size_t i = 0; i < sizeof(std_reasons) / sizeof(std_reasons[0]); i++)
        if (strcmp(reason, std_reasons[i]) == 0)
            a->dead_reason = (char *)std_reasons[i];
    if (a->dead_reason == NULL)
        a->dead_reason = actr__strdup(reason); /* NULL on OOM: "noproc" then */
}

void actr__forget_reason(actr__actor_t *a)
{
    if (a->dead_reason != NULL && !is_std_reason(a->dead_reason))
        free(a->dead_reason);
    a->dead_reason = NULL;
}

void actr__drop_stale(actr_ctx_t *ctx, actr__actor_t *a, actr_msg_t *m, const char *reason)
{
    actr_ref_t dead = actr__ref_of(ctx->rt, a, m->to_gen);
    uint32_t gen = atomic_load_explicit(&a->gen, memory_order_relaxed);
    if (reason == NULL && a->dead_reason != NULL && m->to_gen + 1 == gen)
        reason = a->dead_reason; /* the generation that died last */
    if (reason == NULL)
        reason = ACTR_REASON_NOPROC;
    if (m->sys == ACTR__SYS_MONITOR)
        send_down(ctx, dead, m->from, m->corr, reason);
    else if (m->sys == ACTR__SYS_LINK)
        send_exit(ctx, dead, m->from, reason);
    else if (m->flags & ACTR__F_REQUEST)
        send_reqfail(ctx, dead, m->from, m->corr, ACTR_ENOACTOR);
    actr__msg_unref(ctx, m);
}

static int abnormal(const char *reason)
{
    return strcmp(reason, ACTR_REASON_NORMAL) != 0 && strcmp(reason, ACTR_REASON_SHUTDOWN) != 0;
}

static void die(actr_ctx_t *ctx, actr__actor_t *a, const char *why)
{
    actr_t *rt = ctx->rt;
    char reason[ACTR_REASON_MAX + 1];
    snprintf(reason, sizeof(reason), "%s", why);
    uint32_t gen = atomic_load_explicit(&a->gen, memory_order_relaxed);
    actr_ref_t self = actr__ref_of(rt, a, gen);
    uint32_t ng = gen + 1 ? gen + 1 : 1;
    /* release: from here on every send to `self` fails, and whoever learns of
     * the death through a message below also sees the bump */
    atomic_store_explicit(&a->gen, ng, memory_order_release);
    atomic_store_explicit(&a->tname, NULL, memory_order_relaxed);
    keep_reason(a, reason);
    ctx->self = self;
    if (a->inited && a->beh->terminate != NULL) {
        ctx->in_handler = 1;
        a->beh->terminate(ctx, a->state, reason);
        ctx->in_handler = 0;
    }
    if (abnormal(reason))
        actr__log(rt, ACTR_LOG_WARN, self, "actor %s exited: %s",
                  a->beh && a->beh->name ? a->beh->name : "?", reason);
    free(a->state);
    a->state = NULL;
    actr__ext_free(ctx, a, self, reason);
    a->status = ACTR__ST_FREE;
    a->beh = NULL;
    a->inited = 0;
    a->trap = 0;
    /* answer what is still queued: monitors and links that reached the actor
     * while it was alive (a kill overtook them) learn the real reason */
    uint32_t counted = 0;
    actr__node_t *n;
    while ((n = actr__mb_pop(&a->mb)) != NULL) {
        actr_msg_t *m = (actr_msg_t *)n;
        if (m->flags & ACTR__F_COUNTED)
            counted++;
        actr__drop_stale(ctx, a, m, m->to_gen == gen ? reason : NULL);
    }
    ctx->exit_reason[0] = '\0';
    if (counted)
        atomic_fetch_sub_explicit(&a->count, counted, memory_order_relaxed);
    actr__wake_waiters(ctx, a, gen, UINT_MAX); /* they retry and learn it is gone */
    actr__release_slot(rt, a);
    actr__actor_gone(rt);
}

/* ---- dispatch ------------------------------------------------------------------- */

static void do_init(actr_ctx_t *ctx, actr__actor_t *a, actr_msg_t *m)
{
    actr_t *rt = ctx->rt;
    uint32_t gen = atomic_load_explicit(&a->gen, memory_order_relaxed);
    a->beh = m->aux;
    a->status = ACTR__ST_ALIVE;
    a->trap = (m->flags & ACTR__F_TRAP) != 0;
    a->inited = 0;
    a->state = NULL;
    atomic_store_explicit(&a->handled, 0, memory_order_relaxed);
    ctx->self = actr__ref_of(rt, a, gen);
    ctx->exit_reason[0] = '\0';
    if (m->flags & ACTR__F_LINK)
        link_add(a, m->from);
    if (m->flags & ACTR__F_MONITOR) {
        actr__ext_t *e = actr__ext(a);
        watch_add(&e->watchers, &e->nwatch, &e->capwatch, m->corr, m->from);
    }
    if (a->beh->state_size > 0) {
        a->state = calloc(1, a->beh->state_size);
        if (a->state == NULL) {
            die(ctx, a, "ENOMEM");
            return;
        }
    }
    if (a->beh->init != NULL) {
        ctx->in_handler = 1;
        int rc = a->beh->init(ctx, a->state, m->aux32 ? ACTR__MSG_DATA(m) : NULL, m->aux32);
        ctx->in_handler = 0;
        if (rc < 0) {
            die(ctx, a, actr_err_name(rc));
            return;
        }
    }
    a->inited = 1;
    /* release: a listing that sees the name sees an initialised actor */
    atomic_store_explicit(&a->tname, a->beh->name ? a->beh->name : "?", memory_order_release);
    if (ctx->exit_reason[0] != '\0')
        die(ctx, a, ctx->exit_reason);
    else if (atomic_load_explicit(&rt->stopping, memory_order_acquire))
        /* spawned before the stop but started after the shutdown sweep: it
         * still gets its init and terminate pair, like every other actor */
        die(ctx, a, ACTR_REASON_SHUTDOWN);
}

static void reason_of(const actr_msg_t *m, char *buf, size_t cap)
{
    const char *r = NULL;
    size_t n = 0;
    if (actr_msg_exit(m, &r, &n) != 0 || r == NULL) {
        r = "?";
        n = 1;
    }
    if (n >= cap)
        n = cap - 1;
    memcpy(buf, r, n);
    buf[n] = '\0';
}

/* The bookkeeping every owner (worker or client) applies to a message for its
 * current generation. Returns 1 if the message should be delivered to the
 * handler or client, 0 if it was consumed here (the caller frees it), or -1
 * if the actor must die with the reason written to `reason`. */
int actr__filter(actr_ctx_t *ctx, actr__actor_t *a, actr_msg_t *m, char *reason, size_t cap)
{
    actr__ext_t *e = a->ext;
    void *val = NULL;
    switch (m->sys) {
    case ACTR__SYS_NONE:
        break;
    case ACTR__SYS_STOP: {
        if (atomic_load_explicit(&a->kind, memory_order_relaxed) == ACTR__KIND_CLIENT)
            return 0;
        size_t n = m->len < cap - 1 ? m->len : cap - 1;
        memcpy(reason, ACTR__MSG_DATA(m), n);
        reason[n] = '\0';
        return -1;
    }
    case ACTR__SYS_MONITOR:
        e = actr__ext(a);
        watch_add(&e->watchers, &e->nwatch, &e->capwatch, m->corr, m->from);
        return 0;
    case ACTR__SYS_DEMONITOR:
        if (e != NULL)
            watch_del(e->watchers, &e->nwatch, m->corr, NULL);
        return 0;
    case ACTR__SYS_LINK:
        if (atomic_load_explicit(&a->kind, memory_order_relaxed) == ACTR__KIND_CLIENT) {
            send_exit(ctx, ctx->self, m->from, ACTR_REASON_NOPROC);
            return 0;
        }
        link_add(a, m->from);
        return 0;
    case ACTR__SYS_UNLINK:
        link_del(a, m->from);
        return 0;
    case ACTR__SYS_EXIT:
        if (!link_del(a, m->from))
            return 0; /* unlinked meanwhile */
        if (a->trap)
            return 1;
        reason_of(m, reason, cap);
        if (strcmp(reason, ACTR_REASON_NORMAL) == 0)
            return 0;
        return -1;
    default:
        return 0;
    }
    if (m->type == ACTR_MSG_UNBLOCKED) {
        int i = blocked_find(e, m->from);
        if (i < 0)
            return 0;
        e->blocked[i] = e->blocked[--e->nblocked];
        return 1;
    }
    if (m->type == ACTR_MSG_DOWN) {
        return e != NULL && watch_del(e->mons, &e->nmons, m->corr, NULL);
    }
    if (m->flags & ACTR__F_REPLY) {
        if (e == NULL || !actr__idmap_del(&e->pending, m->corr, &val))
            return 0; /* late or unexpected reply */
        if (val != NULL)
            actr__timer_cancel_id(ctx->rt, m->corr);
        return 1;
    }
    if (m->type == ACTR_MSG_REQFAIL) {
        if (e == NULL || !actr__idmap_del(&e->pending, m->corr, &val))
            return 0;
        if (val != NULL && actr_msg_error(m) != ACTR_ETIMEDOUT)
            actr__timer_cancel_id(ctx->rt, m->corr);
        return 1;
    }
    if (m->flags & ACTR__F_TIMER) {
        if (e == NULL || !actr__idmap_get(&e->timers, m->corr, &val) ||
            !((uintptr_t)val & TM_SELF))
            return 0; /* cancelled */
        if (!(m->flags & ACTR__F_INTERVAL)) /* fired: known until purged, no longer live */
            (void)actr__idmap_put(&e->timers, m->corr, (void *)((uintptr_t)val & ~(uintptr_t)TM_SELF));
        return 1;
    }
    return 1;
}

/* Run the handler on a message that passed the filter (borrowed). */
static void deliver(actr_ctx_t *ctx, actr__actor_t *a, actr_msg_t *m)
{
    ctx->in_handler = 1;
    ctx->exit_reason[0] = '\0';
    int rc = a->beh->receive(ctx, a->state, m);
    ctx->in_handler = 0;
    atomic_store_explicit(&a->handled, atomic_load_explicit(&a->handled, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    if (rc < 0)
        die(ctx, a, actr_err_name(rc));
    else if (ctx->exit_reason[0] != '\0')
        die(ctx, a, ctx->exit_reason);
}

void actr__defer(actr__ext_t *e, actr_msg_t *m)
{
    atomic_store_explicit(&m->node.next, NULL, memory_order_relaxed);
    if (e->deferred_tail != NULL)
        atomic_store_explicit(&e->deferred_tail->node.next, &m->node, memory_order_relaxed);
    else
        e->deferred_head = m;
    e->deferred_tail = m;
}

/* The behaviour whose code the next step of `a` may run: its own while it is
 * alive, the one its INIT carries when it is about to start, else NULL. */
static const actr_behavior_t *next_behavior(actr__actor_t *a)
{
    if (a->beh != NULL)
        return a->beh;
    actr__node_t *n = a->mb.tail;
    if (n == &a->mb.stub)
        n = atomic_load_explicit(&n->next, memory_order_acquire);
    if (n == NULL)
        return NULL;
    actr_msg_t *m = (actr_msg_t *)n;
    return m->sys == ACTR__SYS_INIT ? m->aux : NULL;
}

static void handle(actr_ctx_t *ctx, actr__actor_t *a, actr_msg_t *m)
{
    if (m->sys == ACTR__SYS_INIT) {
        do_init(ctx, a, m);
        actr__msg_unref(ctx, m);
        return;
    }
    uint32_t gen = atomic_load_explicit(&a->gen, memory_order_relaxed);
    if (a->status != ACTR__ST_ALIVE || m->to_gen != gen) {
        actr__drop_stale(ctx, a, m, NULL);
        return;
    }
    ctx->self = actr__ref_of(ctx->rt, a, gen);
    char reason[ACTR_REASON_MAX + 1];
    int f = actr__filter(ctx, a, m, reason, sizeof(reason));
    if (f > 0) {
        actr__ext_t *e = a->ext;
        if (e != NULL && e->await_id != 0) {
            if (m->corr == e->await_id &&
                ((m->flags & ACTR__F_REPLY) || m->type == ACTR_MSG_REQFAIL)) {
                e->await_id = 0; /* the answer: deliver it, then what was set aside */
            } else {
                actr__defer(e, m); /* keeps the reference */
                return;
            }
        }
        deliver(ctx, a, m);
    } else if (f < 0) {
        die(ctx, a, reason);
    }
    actr__msg_unref(ctx, m);
}

/* The oldest message set aside while awaiting, once the answer has come. */
static actr_msg_t *undefer(actr__actor_t *a)
{
    actr__ext_t *e = a->ext;
    if (e == NULL || e->deferred_head == NULL || e->await_id != 0)
        return NULL;
    actr_msg_t *m = e->deferred_head;
    e->deferred_head = (actr_msg_t *)atomic_load_explicit(&m->node.next, memory_order_relaxed);
    if (e->deferred_head == NULL)
        e->deferred_tail = NULL;
    return m;
}

int actr_await(actr_ctx_t *ctx, uint64_t req_id)
{
    if (ctx == NULL || ctx->is_client || ctx->cur == NULL || !ctx->in_handler || ctx->migrating)
        return ACTR_ECONTEXT;
    actr__ext_t *e = ctx->cur->ext;
    void *v;
    if (e == NULL || req_id == 0 || !actr__idmap_get(&e->pending, req_id, &v))
        return ACTR_ENOENT;
    if (e->await_id != 0 && e->await_id != req_id)
        return ACTR_EBUSY;
    e->await_id = req_id;
    return 0;
}

void actr__run_actor(actr_ctx_t *ctx, actr__actor_t *a)
{
    actr_t *rt = ctx->rt;
    unsigned batch = rt->batch, n = 0, counted = 0;
    actr__node_t *node = NULL;
    ctx->cur = a;
    /* The activation's budget is `batch` units: one per message handled and
     * one per message sent (as Erlang charges reductions for sends), so an
     * actor that sends a burst from one handler yields after it instead of
     * running up to `batch` such handlers in a row. */
    ctx->sent = 0;
    actr__ptype_head_t *parked = NULL;
    while (n + ctx->sent < batch) {
        /* a plugin's actor is held at this boundary while its plugin is swapped */
        const actr_behavior_t *b = next_behavior(a);
        if (b != NULL && b->init == actr__ptype_init && actr__gate(ctx, b)) {
            parked = (actr__ptype_head_t *)(void *)b;
            break;
        }
        /* relaxed: a kill request is checked at every message boundary; the
         * STOP message that accompanies it guarantees an activation happens */
        uint32_t kg = atomic_load_explicit(&a->kill_gen, memory_order_relaxed);
        if (kg != 0 && a->status == ACTR__ST_ALIVE &&
            kg == atomic_load_explicit(&a->gen, memory_order_relaxed))
            die(ctx, a, ACTR_REASON_KILLED);
        actr_msg_t *m = undefer(a);
        if (m != NULL) { /* set aside while awaiting: filtered already */
            ctx->self = actr__ref_of(rt, a, atomic_load_explicit(&a->gen, memory_order_relaxed));
            deliver(ctx, a, m);
            actr__msg_unref(ctx, m);
            n++;
            continue;
        }
        node = actr__mb_pop(&a->mb);
        if (node == NULL)
            break;
        m = (actr_msg_t *)node;
        if (m->flags & ACTR__F_COUNTED)
            counted++;
        handle(ctx, a, m);
        n++;
    }
    if (counted)
        actr__drained(ctx, a, counted);
    ctx->cur = NULL;
    ctx->self = ACTR_REF_NONE;
    if (ctx->worker != NULL)
        ctx->worker->handled += n;
    if (parked != NULL) {
        int held = actr__swap_park(rt, parked, a); /* before the type is unpublished */
        atomic_store_explicit(&ctx->in_type, NULL, memory_order_release);
        if (!held)
            actr__sched_requeue(rt, ctx, a);
        return;
    }
    if (atomic_load_explicit(&ctx->in_type, memory_order_relaxed) != NULL)
        atomic_store_explicit(&ctx->in_type, NULL, memory_order_release);
    if (node == NULL && (a->ext == NULL || a->ext->deferred_head == NULL ||
                         a->ext->await_id != 0) &&
        actr__mb_markempty(&a->mb))
        return;
    /* More to do. Usually it waits behind the others (fairness); but an actor
     * whose mailbox is still deep (many senders into one receiver) keeps the
     * worker through the `next` slot, whose streak is bounded, so a
     * receiver is not starved by the very senders that fill it. */
    if (node != NULL && atomic_load_explicit(&a->count, memory_order_relaxed) > 4 * batch)
        actr__sched_ready(rt, ctx, a);
    else
        actr__sched_requeue(rt, ctx, a);
}

/* ---- public: spawning and stopping -------------------------------------------- */

static int valid_name(const char *name)
{
    if (name == NULL)
        return 0;
    size_t n = strlen(name);
    return n >= 1 && n <= 255;
}

int actr_spawn(actr_ctx_t *ctx, const actr_behavior_t *beh, const void *args, size_t args_len,
               const actr_spawn_opts_t *opts, actr_ref_t *out)
{
    if (out != NULL)
        *out = ACTR_REF_NONE;
    /* a plugin type's receive is not read here: a swap may be replacing it */
    if (ctx == NULL || beh == NULL || out == NULL ||
        (beh->init != actr__ptype_init && beh->receive == NULL) ||
        beh->size < sizeof(actr_behavior_t) || (args == NULL && args_len > 0))
        return ACTR_EINVAL;
    actr_t *rt = ctx->rt;
    if (atomic_load_explicit(&rt->stopping, memory_order_acquire))
        return ACTR_ESTOPPED;
    if (args_len > rt->opts.max_payload)
        return ACTR_E2BIG;
    actr_spawn_opts_t o = {0};
    if (opts != NULL)
        o = *opts;
    if (o.name != NULL && !valid_name(o.name))
        return ACTR_EINVAL;
    if ((o.link && (ctx->is_client || ctx->cur == NULL)) || (o.monitor_id && ctx->cur == NULL))
        return ACTR_ECONTEXT;
    size_t name_len = o.name ? strlen(o.name) : 0;
    actr_msg_t *m = actr__msg_make(ctx, 0, args_len + name_len);
    if (m == NULL)
        return ACTR_ENOMEM;
    actr__actor_t *a;
    int rc = actr__alloc_slot(rt, ACTR__KIND_ACTOR, &a);
    if (rc != 0) {
        actr__msg_unref(ctx, m);
        return rc;
    }
    uint32_t gen = atomic_load_explicit(&a->gen, memory_order_relaxed);
    actr_ref_t ref = actr__ref_of(rt, a, gen);
    if (o.name != NULL) {
        rc = actr__name_claim(rt, o.name, ref);
        if (rc != 0) {
            actr__release_slot(rt, a);
            actr__msg_unref(ctx, m);
            return rc;
        }
        m->flags |= ACTR__F_NAMED;
    }
    if (args_len)
        memcpy(ACTR__MSG_DATA(m), args, args_len);
    if (name_len)
        memcpy(ACTR__MSG_DATA(m) + args_len, o.name, name_len);
    m->sys = ACTR__SYS_INIT;
    m->aux = (void *)beh;
    m->aux32 = (uint32_t)args_len;
    m->from = ctx->self;
    if (o.trap_exit)
        m->flags |= ACTR__F_TRAP;
    if (o.link) {
        link_add(ctx->cur, ref);
        m->flags |= ACTR__F_LINK;
    }
    if (o.monitor_id != NULL) {
        uint64_t id = actr__new_id(rt);
        actr__ext_t *e = actr__ext(ctx->cur);
        watch_add(&e->mons, &e->nmons, &e->capmons, id, ref);
        m->corr = id;
        m->flags |= ACTR__F_MONITOR;
        *o.monitor_id = id;
    }
    atomic_store_explicit(&a->limit, o.mailbox_limit ? o.mailbox_limit : rt->opts.mailbox_limit,
                          memory_order_relaxed);
    atomic_store_explicit(&a->kill_gen, 0, memory_order_relaxed);
    atomic_fetch_add_explicit(&rt->live, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&rt->spawned, 1, memory_order_relaxed);
    m->to_gen = gen;
    if (actr__mb_push(&a->mb, &m->node))
        actr__sched_ready(rt, ctx, a);
    *out = ref;
    return 0;
}

int actr_actor_stop(actr_ctx_t *ctx, actr_ref_t who, const char *reason)
{
    if (ctx == NULL)
        return ACTR_EINVAL;
    if (reason == NULL)
        reason = ACTR_REASON_SHUTDOWN;
    size_t n = strlen(reason);
    if (n > ACTR_REASON_MAX)
        n = ACTR_REASON_MAX;
    actr_msg_t *m = actr__msg_make(ctx, 0, n);
    if (m == NULL)
        return ACTR_ENOMEM;
    memcpy(ACTR__MSG_DATA(m), reason, n);
    m->sys = ACTR__SYS_STOP;
    m->from = ctx->self;
    return actr__deliver(ctx->rt, ctx, who, m, 0);
}

int actr_actor_kill(actr_ctx_t *ctx, actr_ref_t who)
{
    if (ctx == NULL)
        return ACTR_EINVAL;
    actr__actor_t *a;
    if (who.node != ctx->rt->node_id && who.node != 0 && actr__cluster_on(ctx->rt))
        return actr_actor_stop(ctx, who, ACTR_REASON_KILLED); /* its node kills it */
    int rc = actr__lookup(ctx->rt, who, &a);
    if (rc != 0)
        return rc;
    /* relaxed: the STOP below is the synchronising hand-off */
    atomic_store_explicit(&a->kill_gen, who.gen, memory_order_relaxed);
    rc = actr_actor_stop(ctx, who, ACTR_REASON_KILLED);
    /* ENOACTOR now means the kill already took effect at a message boundary */
    return rc == ACTR_ENOACTOR ? 0 : rc;
}

int actr_exit(actr_ctx_t *ctx, const char *reason)
{
    if (ctx == NULL)
        return ACTR_EINVAL;
    if (ctx->is_client || !ctx->in_handler)
        return ACTR_ECONTEXT;
    snprintf(ctx->exit_reason, sizeof(ctx->exit_reason), "%s",
             reason && *reason ? reason : ACTR_REASON_NORMAL);
    return 0;
}

actr_ref_t actr_self(actr_ctx_t *ctx) { return ctx ? ctx->self : ACTR_REF_NONE; }
actr_t *actr_ctx_runtime(actr_ctx_t *ctx) { return ctx ? ctx->rt : NULL; }
uint64_t actr_now_ms(actr_ctx_t *ctx)
{
    (void)ctx;
    return actr__now_ms();
}

int actr_is_alive(actr_ctx_t *ctx, actr_ref_t ref)
{
    actr__actor_t *a;
    return ctx != NULL && actr__lookup(ctx->rt, ref, &a) == 0;
}

/* ---- public: requests ---------------------------------------------------------- */

int actr_request(actr_ctx_t *ctx, actr_ref_t to, actr_msg_t *msg, uint32_t timeout_ms,
                 uint64_t *req_id)
{
    if (msg == NULL)
        return ACTR_EINVAL;
    int rc = actr__check_ctx(ctx);
    if (rc == 0 && ctx->cur == NULL)
        rc = ACTR_ECONTEXT;
    if (rc == 0 && msg->len > ctx->rt->opts.max_payload)
        rc = ACTR_E2BIG;
    if (rc != 0) {
        actr__msg_unref(ctx, msg);
        return rc;
    }
    actr_t *rt = ctx->rt;
    uint64_t id = actr__new_id(rt);
    actr__ext_t *e = actr__ext(ctx->cur);
    if (actr__idmap_put(&e->pending, id, timeout_ms ? (void *)1 : NULL) != 0) {
        actr__msg_unref(ctx, msg);
        return ACTR_ENOMEM;
    }
    msg->flags |= ACTR__F_REQUEST;
    msg->corr = id;
    msg->from = ctx->self;
    rc = actr__deliver(rt, ctx, to, msg, 1);
    if (rc != 0) {
        actr__idmap_del(&e->pending, id, NULL);
        return rc;
    }
    if (timeout_ms && actr__timer_add(rt, ctx->self, id, timeout_ms, 0, NULL, 1) != 0)
        actr__idmap_put(&e->pending, id, NULL); /* no timer after all */
    if (req_id != NULL)
        *req_id = id;
    return 0;
}

int actr__pending_add(actr_ctx_t *ctx, uint32_t timeout_ms, uint64_t *id_out)
{
    actr_t *rt = ctx->rt;
    uint64_t id = actr__new_id(rt);
    actr__ext_t *e = actr__ext(ctx->cur);
    if (actr__idmap_put(&e->pending, id, timeout_ms ? (void *)1 : NULL) != 0)
        return ACTR_ENOMEM;
    if (timeout_ms && actr__timer_add(rt, ctx->self, id, timeout_ms, 0, NULL, 1) != 0)
        actr__idmap_put(&e->pending, id, NULL); /* no timer after all */
    *id_out = id;
    return 0;
}

int actr_reply(actr_ctx_t *ctx, const actr_msg_t *request, actr_msg_t *reply)
{
    if (reply == NULL)
        return ACTR_EINVAL;
    if (ctx == NULL || request == NULL) {
        actr__msg_unref(ctx, reply);
        return ACTR_EINVAL;
    }
    if (!(request->flags & ACTR__F_REQUEST)) {
        actr__msg_unref(ctx, reply);
        return ACTR_ENOTREQ;
    }
    reply->flags |= ACTR__F_REPLY;
    reply->corr = request->corr;
    reply->from = ctx->self;
    return actr__deliver(ctx->rt, ctx, request->from, reply, 0);
}

/* ---- public: monitors and links ---------------------------------------------------- */

int actr_monitor(actr_ctx_t *ctx, actr_ref_t who, uint64_t *id_out)
{
    if (ctx == NULL || ctx->cur == NULL)
        return ctx == NULL ? ACTR_EINVAL : ACTR_ECONTEXT;
    actr_t *rt = ctx->rt;
    if (who.node != rt->node_id && (who.node == 0 || !actr__cluster_on(rt)))
        return who.node == 0 ? ACTR_EINVAL : ACTR_ENONODE;
    uint64_t id = actr__new_id(rt);
    actr__ext_t *e = actr__ext(ctx->cur);
    watch_add(&e->mons, &e->nmons, &e->capmons, id, who);
    actr_msg_t *m = actr__msg_make(ctx, 0, 0);
    if (m == NULL) {
        watch_del(e->mons, &e->nmons, id, NULL);
        return ACTR_ENOMEM;
    }
    m->sys = ACTR__SYS_MONITOR;
    m->corr = id;
    m->from = ctx->self;
    int rc = actr__deliver(rt, ctx, who, m, 0);
    if (rc == ACTR_ENOACTOR)
        send_down(ctx, who, ctx->self, id, ACTR_REASON_NOPROC);
    else if (rc == ACTR_ENONODE && who.node != rt->node_id)
        send_down(ctx, who, ctx->self, id, ACTR_REASON_NOCONNECTION); /* not connected */
    else if (rc != 0) {
        watch_del(e->mons, &e->nmons, id, NULL);
        return rc;
    }
    if (id_out != NULL)
        *id_out = id;
    return 0;
}

int actr_demonitor(actr_ctx_t *ctx, uint64_t id)
{
    if (ctx == NULL || ctx->cur == NULL)
        return ctx == NULL ? ACTR_EINVAL : ACTR_ECONTEXT;
    actr__ext_t *e = ctx->cur->ext;
    actr_ref_t who;
    if (e == NULL || !watch_del(e->mons, &e->nmons, id, &who))
        return ACTR_ENOENT;
    actr_msg_t *m = actr__msg_make(ctx, 0, 0);
    if (m != NULL) {
        m->sys = ACTR__SYS_DEMONITOR;
        m->corr = id;
        send_sys(ctx, ctx->self, who, m);
    }
    return 0;
}

int actr_link(actr_ctx_t *ctx, actr_ref_t who)
{
    if (ctx == NULL)
        return ACTR_EINVAL;
    if (ctx->is_client || ctx->cur == NULL)
        return ACTR_ECONTEXT;
    actr_t *rt = ctx->rt;
    if (who.node != rt->node_id && (who.node == 0 || !actr__cluster_on(rt)))
        return who.node == 0 ? ACTR_EINVAL : ACTR_ENONODE;
    if (actr_ref_eq(who, ctx->self))
        return 0;
    if (link_find(ctx->cur->ext, who) >= 0)
        return 0;
    link_add(ctx->cur, who);
    actr_msg_t *m = actr__msg_make(ctx, 0, 0);
    if (m == NULL) {
        link_del(ctx->cur, who);
        return ACTR_ENOMEM;
    }
    m->sys = ACTR__SYS_LINK;
    m->from = ctx->self;
    int rc = actr__deliver(rt, ctx, who, m, 0);
    if (rc == ACTR_ENOACTOR)
        send_exit(ctx, who, ctx->self, ACTR_REASON_NOPROC); /* as if it died now */
    else if (rc == ACTR_ENONODE && who.node != rt->node_id)
        send_exit(ctx, who, ctx->self, ACTR_REASON_NOCONNECTION);
    else if (rc != 0) {
        link_del(ctx->cur, who);
        return rc;
    }
    return 0;
}

int actr_unlink(actr_ctx_t *ctx, actr_ref_t who)
{
    if (ctx == NULL)
        return ACTR_EINVAL;
    if (ctx->is_client || ctx->cur == NULL)
        return ACTR_ECONTEXT;
    if (!link_del(ctx->cur, who))
        return ACTR_ENOENT;
    actr_msg_t *m = actr__msg_make(ctx, 0, 0);
    if (m != NULL) {
        m->sys = ACTR__SYS_UNLINK;
        send_sys(ctx, ctx->self, who, m);
    }
    return 0;
}

int actr_trap_exit(actr_ctx_t *ctx, int on)
{
    if (ctx == NULL)
        return ACTR_EINVAL;
    if (ctx->is_client || ctx->cur == NULL)
        return ACTR_ECONTEXT;
    ctx->cur->trap = on != 0;
    return 0;
}

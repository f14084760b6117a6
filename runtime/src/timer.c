/* timer.c — timers on the runtime's libuv loop: send-after, intervals, and
 * request timeouts.
 *
 * Any thread queues commands (add, cancel) under a mutex; only the I/O thread
 * touches the heap of pending timers, the id index and the uv_timer_t. To keep
 * wake-ups of the I/O thread off the per-message path, a command wakes it only
 * when it moves the earliest deadline forward, or when 1,024 commands have
 * piled up (which bounds their memory); otherwise the loop applies them when
 * its current timer fires.
 *
 * A timer's message is a template copied at each firing and sent without the
 * mailbox bound (a timer never loses its message to a full mailbox). A send
 * that fails because the target is gone ends the timer.
 *
 * The actor-facing calls (actr_timer_send_after/interval/cancel) are at the
 * end: they run on the caller's thread and only queue commands.
 */
#include <stdlib.h>
#include <string.h>

#include "cluster_int.h"
#include "internal.h"
#include "pack.h"

struct actr__timer {
    uint64_t id;
    uint64_t due;       /* ms, monotonic */
    uint32_t period;    /* ms; 0 = one-shot */
    uint8_t req;        /* request timeout: send REQFAIL(ETIMEDOUT) */
    uint8_t cancel;     /* a cancel command, not a timer */
    size_t hidx;        /* index in the heap */
    actr_ref_t to;
    actr_msg_t *tmpl;
};

#define WAKE_BATCH 1024

int actr__timers_init(actr_t *rt)
{
    actr__timers_t *t = &rt->timers;
    pthread_mutex_init(&t->mu, NULL);
    atomic_init(&t->armed_due, UINT64_MAX);
    int rc = uv_timer_init(&rt->loop, &t->uvt);
    if (rc == 0) {
        t->uvt.data = rt;
        rt->timers_inited = 1;
    }
    return rc;
}

/* Queue a command; *armed_out gets the deadline the I/O thread sleeps towards,
 * read under the same mutex under which the I/O thread publishes it. */
static int push_cmd(actr_t *rt, actr__timer_t *c, size_t *n_out, uint64_t *armed_out)
{
    actr__timers_t *t = &rt->timers;
    pthread_mutex_lock(&t->mu);
    if (t->ncmds == t->capcmds) {
        size_t nc = t->capcmds ? t->capcmds * 2 : 64;
        void *p = realloc(t->cmds, nc * sizeof(*t->cmds));
        if (p == NULL) {
            pthread_mutex_unlock(&t->mu);
            return ACTR_ENOMEM;
        }
        t->cmds = p;
        t->capcmds = nc;
    }
    t->cmds[t->ncmds++] = c;
    *n_out = t->ncmds;
    *armed_out = atomic_load_explicit(&t->armed_due, memory_order_relaxed);
    pthread_mutex_unlock(&t->mu);
    return 0;
}

int actr__timer_add(actr_t *rt, actr_ref_t to, uint64_t id, uint32_t delay_ms, uint32_t period_ms,
                    actr_msg_t *tmpl, int req_timeout)
{
    if (atomic_load_explicit(&rt->io_closed, memory_order_acquire)) {
        actr__msg_unref(NULL, tmpl);
        return ACTR_ESTOPPED;
    }
    actr__timer_t *tm = calloc(1, sizeof(*tm));
    if (tm == NULL) {
        actr__msg_unref(NULL, tmpl);
        return ACTR_ENOMEM;
    }
    tm->id = id;
    tm->due = actr__now_ms() + delay_ms;
    tm->period = period_ms;
    tm->req = (uint8_t)(req_timeout != 0);
    tm->to = to;
    tm->tmpl = tmpl;
    uint64_t due = tm->due; /* tm belongs to the I/O thread once queued */
    size_t n;
    uint64_t armed;
    if (push_cmd(rt, tm, &n, &armed) != 0) {
        actr__msg_unref(NULL, tmpl);
        free(tm);
        return ACTR_ENOMEM;
    }
    if (due < armed || n >= WAKE_BATCH)
        actr__notify_io(rt);
    return 0;
}

void actr__timer_cancel_id(actr_t *rt, uint64_t id)
{
    if (atomic_load_explicit(&rt->io_closed, memory_order_acquire))
        return;
    actr__timer_t *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return; /* the timer then fires; its message is filtered by the owner */
    c->id = id;
    c->cancel = 1;
    size_t n;
    uint64_t armed;
    if (push_cmd(rt, c, &n, &armed) != 0) {
        free(c);
        return;
    }
    if (n >= WAKE_BATCH)
        actr__notify_io(rt);
}

/* ---- the heap (I/O thread only) -------------------------------------------------- */

static int earlier(const actr__timer_t *a, const actr__timer_t *b)
{
    return a->due < b->due || (a->due == b->due && a->id < b->id);
}

static void heap_set(actr__timers_t *t, size_t i, actr__timer_t *tm)
{
    t->heap[i] = tm;
    tm->hidx = i;
}

static void sift_up(actr__timers_t *t, size_t i)
{
    actr__timer_t *tm = t->heap[i];
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!earlier(tm, t->heap[p]))
            break;
        heap_set(t, i, t->heap[p]);
        i = p;
    }
    heap_set(t, i, tm);
}

static void sift_down(actr__timers_t *t, size_t i)
{
    actr__timer_t *tm = t->heap[i];
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        const actr__timer_t *best = tm;
        if (l < t->nheap && earlier(t->heap[l], best)) {
            m = l;
            best = t->heap[l];
        }
        if (r < t->nheap && earlier(t->heap[r], best))
            m = r;
        if (m == i)
            break;
        heap_set(t, i, t->heap[m]);
        i = m;
    }
    heap_set(t, i, tm);
}

static int heap_push(actr__timers_t *t, actr__timer_t *tm)
{
    if (t->nheap == t->capheap) {
        size_t nc = t->capheap ? t->capheap * 2 : 64;
        void *p = realloc(t->heap, nc * sizeof(*t->heap));
        if (p == NULL)
            return ACTR_ENOMEM;
        t->heap = p;
        t->capheap = nc;
    }
    t->heap[t->nheap] = tm;
    tm->hidx = t->nheap++;
    sift_up(t, tm->hidx);
    return 0;
}

static void heap_remove(actr__timers_t *t, actr__timer_t *tm)
{
    size_t i = tm->hidx;
    actr__timer_t *last = t->heap[--t->nheap];
    if (i == t->nheap)
        return;
    heap_set(t, i, last);
    sift_down(t, i);
    sift_up(t, last->hidx);
}

static void timer_free(actr__timer_t *tm)
{
    actr__msg_unref(NULL, tm->tmpl);
    free(tm);
}

static void on_uv_timer(uv_timer_t *h) { actr__timers_process(h->data); }

void actr__timers_start(actr_t *rt) { (void)rt; }

static void fire(actr_t *rt, actr__timer_t *tm)
{
    actr_ctx_t *ctx = &rt->io_ctx;
    if (tm->req) {
        actr_msg_t *m;
        if (actr__pack_reqfail(ctx, ACTR_ETIMEDOUT, &m) == 0) {
            m->corr = tm->id;
            (void)actr__deliver(rt, ctx, tm->to, m, 0);
        }
        actr__remote_forget_request(rt, tm->id); /* if it went to another node */
        return;
    }
    actr_msg_t *m = actr__msg_make(ctx, tm->tmpl->type, tm->tmpl->len);
    if (m == NULL)
        return;
    memcpy(ACTR__MSG_DATA(m), ACTR__MSG_DATA(tm->tmpl), tm->tmpl->len);
    m->flags = tm->tmpl->flags & (ACTR__F_TIMER | ACTR__F_INTERVAL);
    m->corr = tm->tmpl->corr;
    m->from = tm->tmpl->from;
    if (actr__deliver(rt, ctx, tm->to, m, 0) != 0)
        tm->period = 0; /* the target is gone: end the timer */
}

void actr__timers_process(actr_t *rt)
{
    actr__timers_t *t = &rt->timers;
    if (atomic_load_explicit(&rt->io_closed, memory_order_acquire))
        return;
again:
    /* 1. apply queued commands */
    pthread_mutex_lock(&t->mu);
    actr__timer_t **cmds = t->cmds;
    size_t n = t->ncmds;
    t->cmds = NULL;
    t->ncmds = t->capcmds = 0;
    pthread_mutex_unlock(&t->mu);
    for (size_t i = 0; i < n; i++) {
        actr__timer_t *c = cmds[i];
        if (c->cancel) {
            void *v;
            if (actr__idmap_del(&t->byid, c->id, &v)) {
                heap_remove(t, v);
                timer_free(v);
            }
            free(c);
        } else if (actr__idmap_put(&t->byid, c->id, c) != 0 || heap_push(t, c) != 0) {
            actr__idmap_del(&t->byid, c->id, NULL);
            timer_free(c); /* out of memory: the timer is lost, as its owner would be */
        }
    }
    free(cmds);
    /* 2. fire what is due */
    uint64_t now = actr__now_ms();
    while (t->nheap > 0 && t->heap[0]->due <= now) {
        actr__timer_t *tm = t->heap[0];
        fire(rt, tm);
        if (tm->period > 0) {
            tm->due += tm->period;
            if (tm->due <= now)
                tm->due = now + tm->period;
            sift_down(t, 0);
        } else {
            heap_remove(t, tm);
            actr__idmap_del(&t->byid, tm->id, NULL);
            timer_free(tm);
        }
    }
    /* 3. publish the next deadline, unless commands arrived meanwhile: an
     * adder compares against this value under the mutex, so none is missed */
    uint64_t due = t->nheap > 0 ? t->heap[0]->due : UINT64_MAX;
    pthread_mutex_lock(&t->mu);
    if (t->ncmds > 0) {
        pthread_mutex_unlock(&t->mu);
        goto again;
    }
    atomic_store_explicit(&t->armed_due, due, memory_order_relaxed);
    pthread_mutex_unlock(&t->mu);
    if (due != UINT64_MAX)
        uv_timer_start(&t->uvt, on_uv_timer, due > now ? due - now : 0, 0);
    else
        uv_timer_stop(&t->uvt);
}

static void drop_all(actr__timers_t *t)
{
    for (size_t i = 0; i < t->nheap; i++)
        timer_free(t->heap[i]);
    t->nheap = 0;
    actr__idmap_free(&t->byid);
    pthread_mutex_lock(&t->mu);
    for (size_t i = 0; i < t->ncmds; i++)
        timer_free(t->cmds[i]);
    t->ncmds = 0;
    pthread_mutex_unlock(&t->mu);
}

void actr__timers_close(actr_t *rt)
{
    actr__timers_t *t = &rt->timers;
    drop_all(t);
    if (rt->timers_inited && !uv_is_closing((uv_handle_t *)&t->uvt))
        uv_close((uv_handle_t *)&t->uvt, NULL);
}

void actr__timers_free(actr_t *rt)
{
    actr__timers_t *t = &rt->timers;
    drop_all(t);
    free(t->heap);
    t->heap = NULL;
    free(t->cmds);
    t->cmds = NULL;
    pthread_mutex_destroy(&t->mu);
}

/* ---- public: timers owned by an actor ------------------------------------------ */

/* Every timer a context creates is recorded in its ext->timers: id -> tag,
 * where tag = (due_ms << 2) | TM_SELF | TM_INTERVAL. Self-targeted entries
 * also filter delivery (a cancelled timer's message in flight is dropped);
 * the others only let actr_timer_cancel tell "mine" from "not mine", and
 * one-shot ones are purged lazily once they are well past due. */

static void purge_fired(actr__idmap_t *m)
{
    uint64_t now = actr__now_ms();
    for (size_t i = 0; i < m->cap; i++) {
        uint64_t k = m->keys[i];
        if (k == 0 || k == UINT64_MAX)
            continue;
        uintptr_t tag = (uintptr_t)m->vals[i];
        if (!(tag & (TM_SELF | TM_INTERVAL)) && (uint64_t)(tag >> 2) + 1000 < now)
            actr__idmap_del(m, k, NULL);
    }
}

static int timer_new(actr_ctx_t *ctx, actr_ref_t to, uint32_t delay, uint32_t period,
                     actr_msg_t *msg, uint64_t *id_out)
{
    if (msg == NULL)
        return ACTR_EINVAL;
    int rc = actr__check_ctx(ctx);
    if (rc == 0 && ctx->cur == NULL)
        rc = ACTR_ECONTEXT;
    if (rc == 0 && to.node != ctx->rt->node_id)
        rc = to.node == 0 ? ACTR_EINVAL : ACTR_ENONODE;
    if (rc != 0) {
        actr__msg_unref(ctx, msg);
        return rc;
    }
    actr_t *rt = ctx->rt;
    uint64_t id = actr__new_id(rt);
    int self = actr_ref_eq(to, ctx->self);
    actr__idmap_t *tm = &actr__ext(ctx->cur)->timers;
    if (tm->len >= 64 && (tm->len & (tm->len - 1)) == 0)
        purge_fired(tm);
    uintptr_t tag = (uintptr_t)((actr__now_ms() + delay) << 2) | (self ? TM_SELF : 0) |
                    (period ? TM_INTERVAL : 0);
    if (actr__idmap_put(tm, id, (void *)tag) != 0) {
        actr__msg_unref(ctx, msg);
        return ACTR_ENOMEM;
    }
    if (self) {
        msg->flags |= ACTR__F_TIMER | (period ? ACTR__F_INTERVAL : 0);
        msg->corr = id;
    }
    msg->from = ACTR_REF_NONE; /* timer messages come from the runtime */
    rc = actr__timer_add(rt, to, id, delay, period, msg, 0);
    if (rc != 0) {
        actr__idmap_del(tm, id, NULL);
        return rc;
    }
    if (id_out != NULL)
        *id_out = id;
    return 0;
}

int actr_timer_send_after(actr_ctx_t *ctx, actr_ref_t to, uint32_t delay_ms, actr_msg_t *msg,
                          uint64_t *id)
{
    return timer_new(ctx, to, delay_ms, 0, msg, id);
}

int actr_timer_interval(actr_ctx_t *ctx, actr_ref_t to, uint32_t period_ms, actr_msg_t *msg,
                        uint64_t *id)
{
    if (period_ms == 0) {
        actr__msg_unref(ctx, msg);
        return ACTR_EINVAL;
    }
    return timer_new(ctx, to, period_ms, period_ms, msg, id);
}

int actr_timer_cancel(actr_ctx_t *ctx, uint64_t id)
{
    if (ctx == NULL)
        return ACTR_EINVAL;
    if (ctx->cur == NULL || ctx->cur->ext == NULL ||
        !actr__idmap_del(&ctx->cur->ext->timers, id, NULL))
        return ACTR_ENOENT;
    actr__timer_cancel_id(ctx->rt, id);
    return 0;
}

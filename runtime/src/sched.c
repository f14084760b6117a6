/* sched.c — worker threads, run queues, work stealing and parking.
 *
 * Each worker owns a Chase-Lev deque of runnable actors. An actor made
 * runnable by a worker goes on that worker's deque, which the worker itself
 * consumes in FIFO order (from the top, like a thief), so an actor that used
 * up its batch waits behind the others (fairness); one made runnable by any
 * other thread (clients, the I/O thread) goes on the runtime's injection
 * queue. An idle worker takes from the injection queue, then steals from the
 * others, spins for `spin_us`, and only then parks on its condition variable.
 * The actors a swap held (swap.c) come back through a third queue, `front`,
 * which every worker serves before anything else: they have waited longest.
 *
 * Waking costs tens of microseconds on this hardware, so it is rationed: a
 * push from a non-worker thread wakes one parked worker (nobody else may be
 * awake to run the actor); a worker wakes a parked peer only at the start of an
 * activation, and only when its own deque still holds work a peer could steal.
 * A worker's own pushes never need a wake-up, because that worker is awake and
 * will run them. Parking, waking and the injection queue share one mutex, so
 * an injected actor can never be missed by a worker going to sleep.
 */
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "cluster_int.h"
#include "internal.h"

int actr__sched_init(actr_t *rt)
{
    rt->workers = calloc(rt->nworkers, sizeof(*rt->workers));
    rt->inject.cap = 1024;
    rt->inject.v = malloc(rt->inject.cap * sizeof(*rt->inject.v));
    if (rt->workers == NULL || rt->inject.v == NULL)
        return ACTR_ENOMEM;
    pthread_mutex_init(&rt->park_mu, NULL);
    pthread_mutex_init(&rt->hold.mu, NULL);
    pthread_mutex_init(&rt->hold.post_mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&rt->hold.cv, &ca);
    pthread_condattr_destroy(&ca);
    for (unsigned i = 0; i < rt->nworkers; i++) {
        actr__worker_t *w = &rt->workers[i];
        w->rt = rt;
        w->index = i;
        w->rng = 0x9e3779b9u * (i + 1);
        w->seen = calloc(rt->nworkers, sizeof(*w->seen));
        if (w->seen == NULL || actr__dq_init(&w->dq, 256) != 0)
            return ACTR_ENOMEM;
        pthread_cond_init(&w->cv, NULL);
        w->ctx.api = &actr__host_api;
        w->ctx.rt = rt;
        w->ctx.worker = w;
        w->ctx.cache.depot = &rt->depot;
    }
    return 0;
}

void actr__sched_free(actr_t *rt)
{
    if (rt->workers != NULL) {
        for (unsigned i = 0; i < rt->nworkers; i++) {
            actr__worker_t *w = &rt->workers[i];
            actr__msgcache_flush(&w->ctx.cache);
            actr__dq_free(&w->dq);
            free(w->seen);
            pthread_cond_destroy(&w->cv);
        }
        free(rt->workers);
        rt->workers = NULL;
    }
    free(rt->inject.v);
    rt->inject.v = NULL;
    free(rt->front.v);
    rt->front.v = NULL;
    pthread_mutex_destroy(&rt->park_mu);
    pthread_mutex_destroy(&rt->hold.mu);
    pthread_mutex_destroy(&rt->hold.post_mu);
    pthread_cond_destroy(&rt->hold.cv);
}

/* under park_mu */
static void wake_one_locked(actr_t *rt)
{
    for (unsigned i = 0; i < rt->nworkers; i++) {
        actr__worker_t *w = &rt->workers[i];
        if (w->parked && !w->wake) {
            w->wake = 1;
            w->parked = 0;
            atomic_fetch_sub_explicit(&rt->nparked, 1, memory_order_relaxed);
            atomic_fetch_add_explicit(&rt->wakes, 1, memory_order_relaxed);
            pthread_cond_signal(&w->cv);
            return;
        }
    }
}

/* under park_mu: make room for `extra` more actors in q (internal
 * allocation: out of memory aborts) */
static void ring_reserve_locked(actr__ring_t *q, size_t extra)
{
    if (q->len + extra <= q->cap)
        return;
    size_t ncap = q->cap ? q->cap : 64;
    while (ncap < q->len + extra)
        ncap *= 2;
    actr__actor_t **n = malloc(ncap * sizeof(*n));
    if (n == NULL)
        abort();
    for (size_t i = 0; i < q->len; i++)
        n[i] = q->v[(q->head + i) % q->cap];
    free(q->v);
    q->v = n;
    q->cap = ncap;
    q->head = 0;
}

/* under park_mu, with room reserved */
static void ring_put_locked(actr__ring_t *q, actr__actor_t *a)
{
    q->v[(q->head + q->len) % q->cap] = a;
    q->len++;
    /* relaxed: a hint for lock-free emptiness checks; the mutex orders the data */
    atomic_store_explicit(&q->count, q->len, memory_order_relaxed);
}

/* under park_mu: the oldest actor of q, or NULL */
static actr__actor_t *ring_take_locked(actr__ring_t *q)
{
    if (q->len == 0)
        return NULL;
    actr__actor_t *a = q->v[q->head];
    q->head = (q->head + 1) % q->cap;
    q->len--;
    atomic_store_explicit(&q->count, q->len, memory_order_relaxed);
    return a;
}

static void inject_push(actr_t *rt, actr__actor_t *a)
{
    pthread_mutex_lock(&rt->park_mu);
    ring_reserve_locked(&rt->inject, 1);
    ring_put_locked(&rt->inject, a);
    if (atomic_load_explicit(&rt->nparked, memory_order_relaxed) > 0)
        wake_one_locked(rt);
    pthread_mutex_unlock(&rt->park_mu);
}

#define INJECT_SHARE_MAX 4096

/* Take the oldest injected actor for worker w, and with it a share of the
 * rest into w's own deque (as Go's scheduler takes from its global queue):
 * a burst of injected actors (a swap resuming thousands, a client flooding)
 * then spreads over the workers and joins the FIFO of local work at once,
 * instead of waiting behind actors that local work makes runnable again
 * and again. */
static actr__actor_t *inject_pop(actr__worker_t *w)
{
    actr_t *rt = w->rt;
    actr__ring_t *q = &rt->inject;
    if (atomic_load_explicit(&q->count, memory_order_relaxed) == 0)
        return NULL;
    pthread_mutex_lock(&rt->park_mu);
    actr__actor_t *a = ring_take_locked(q);
    if (a != NULL && q->len > 1) {
        size_t share = q->len / rt->nworkers;
        if (share > INJECT_SHARE_MAX)
            share = INJECT_SHARE_MAX;
        /* pushes are the owner's and lock-free: a few microseconds per
         * thousand under the mutex; one that cannot grow the deque leaves
         * the rest where they are */
        for (size_t k = 0; k < share; k++) {
            if (actr__dq_push(&w->dq, q->v[q->head]) != 0)
                break;
            (void)ring_take_locked(q);
        }
    }
    pthread_mutex_unlock(&rt->park_mu);
    return a;
}

/* The next actor of w's share of rt->front, taking a new share (the oldest
 * of the queue, 1/nworkers of it, at most ACTR__FRONT_SHARE) when w's is used
 * up; NULL when there is none. Shares are small, so a worker whose thread
 * stalls holds back few of them; the rest stay where any worker takes them. */
static actr__actor_t *front_pop(actr__worker_t *w)
{
    if (w->front_i < w->front_n)
        return w->front[w->front_i++];
    actr_t *rt = w->rt;
    actr__ring_t *q = &rt->front;
    if (atomic_load_explicit(&q->count, memory_order_relaxed) == 0)
        return NULL;
    pthread_mutex_lock(&rt->park_mu);
    size_t share = (q->len + rt->nworkers - 1) / rt->nworkers;
    if (share > ACTR__FRONT_SHARE)
        share = ACTR__FRONT_SHARE;
    w->front_i = w->front_n = 0;
    while (w->front_n < share)
        w->front[w->front_n++] = ring_take_locked(q);
    pthread_mutex_unlock(&rt->park_mu);
    return w->front_n > 0 ? w->front[w->front_i++] : NULL;
}

void actr__sched_resume(actr_t *rt, actr__actor_t *const *v, size_t n)
{
    size_t actors = 0;
    for (size_t i = 0; i < n; i++)
        if (atomic_load_explicit(&v[i]->kind, memory_order_relaxed) == ACTR__KIND_CLIENT)
            actr__client_wake(rt, v[i]);
        else
            actors++;
    if (actors == 0)
        return;
    /* one critical section, the workers woken last: a woken worker that
     * preempted this thread half-way would otherwise hold up the rest */
    pthread_mutex_lock(&rt->park_mu);
    ring_reserve_locked(&rt->front, actors);
    for (size_t i = 0; i < n; i++)
        if (atomic_load_explicit(&v[i]->kind, memory_order_relaxed) != ACTR__KIND_CLIENT)
            ring_put_locked(&rt->front, v[i]);
    for (unsigned w = 0; w < rt->nworkers && atomic_load_explicit(&rt->nparked,
                                                                   memory_order_relaxed) > 0;
         w++)
        wake_one_locked(rt);
    pthread_mutex_unlock(&rt->park_mu);
}

void actr__sched_ready(actr_t *rt, actr_ctx_t *ctx, actr__actor_t *a)
{
    if (atomic_load_explicit(&a->kind, memory_order_relaxed) == ACTR__KIND_CLIENT) {
        actr__client_wake(rt, a);
        return;
    }
    if (ctx != NULL && ctx->worker != NULL && ctx->rt == rt) {
        /* The actor made runnable last runs next on this worker, with no
         * atomic operation (a request and its reply, a token in a ring); the
         * one it displaces goes on the deque, where peers can steal it. */
        actr__worker_t *w = ctx->worker;
        actr__actor_t *prev = w->next;
        w->next = a;
        if (prev == NULL || actr__dq_push(&w->dq, prev) == 0)
            return;
        a = prev;
    }
    inject_push(rt, a);
}

void actr__sched_requeue(actr_t *rt, actr_ctx_t *ctx, actr__actor_t *a)
{
    if (ctx != NULL && ctx->worker != NULL && ctx->rt == rt &&
        actr__dq_push(&ctx->worker->dq, a) == 0)
        return;
    inject_push(rt, a);
}

static actr__actor_t *steal(actr__worker_t *w)
{
    actr_t *rt = w->rt;
    unsigned n = rt->nworkers;
    if (n < 2)
        return NULL;
    w->rng = w->rng * 1103515245u + 12345u;
    unsigned start = (w->rng >> 16) % n;
    for (unsigned i = 0; i < n; i++) {
        unsigned vi = (start + i) % n;
        actr__worker_t *v = &rt->workers[vi];
        if (v == w)
            continue;
        int64_t size = actr__dq_size(&v->dq);
        if (size <= 0)
            continue;
        if (size == 1) {
            /* A lone runnable actor is left to its worker, which runs it next
             * with its data hot (a ping-pong or a ring stays on one core);
             * it is taken only if that worker has not moved on since we last
             * looked, i.e. it is busy in a long handler. */
            uint64_t act = atomic_load_explicit(&v->act_pub, memory_order_relaxed);
            if (act != w->seen[vi]) {
                w->seen[vi] = act;
                continue;
            }
        }
        actr__actor_t *a = actr__dq_steal(&v->dq);
        if (a != NULL) {
            atomic_fetch_add_explicit(&rt->steals, 1, memory_order_relaxed);
            return a;
        }
    }
    return NULL;
}

static int any_work(actr_t *rt)
{
    if (rt->inject.len > 0 || rt->front.len > 0) /* caller holds park_mu */
        return 1;
    for (unsigned i = 0; i < rt->nworkers; i++)
        if (actr__dq_size(&rt->workers[i].dq) > 0)
            return 1;
    return 0;
}

/* The next actor for worker w to run, or NULL when the runtime is exiting. */
static actr__actor_t *next_actor(actr__worker_t *w)
{
    actr_t *rt = w->rt;
    for (;;) {
        actr__actor_t *a;
        /* the actors a swap held have waited longest: before anything else */
        if ((a = front_pop(w)) != NULL)
            return a;
        /* every 61st activation look at the injection queue first, so actors
         * made runnable by clients and timers are not starved by local work */
        if ((w->activations % 61) == 60 && (a = inject_pop(w)) != NULL)
            return a;
        /* own queue in FIFO order (from the top, as thieves do): an actor
         * requeued after a full batch goes behind the ones already waiting */
        if ((a = actr__dq_steal(&w->dq)) != NULL)
            return a;
        if ((a = inject_pop(w)) != NULL)
            return a;
        if ((a = steal(w)) != NULL)
            return a;
        if (atomic_load_explicit(&rt->workers_exit, memory_order_acquire))
            return NULL;
        /* spin a little: waking a parked thread costs far more than this */
        uint64_t deadline = actr__now_ns() + (uint64_t)rt->opts.spin_us * 1000u;
        do {
            actr__swap_poll(rt);
            for (int i = 0; i < 32; i++)
                actr__cpu_relax();
            if ((a = front_pop(w)) != NULL || (a = inject_pop(w)) != NULL)
                return a;
            if ((a = steal(w)) != NULL)
                return a;
        } while (actr__now_ns() < deadline &&
                 /* a swap in progress needs the CPU more than a spinning worker */
                 atomic_load_explicit(&rt->swaps, memory_order_relaxed) == 0);
        /* park */
        pthread_mutex_lock(&rt->park_mu);
        if ((a = ring_take_locked(&rt->front)) != NULL ||
            (a = ring_take_locked(&rt->inject)) != NULL) {
            pthread_mutex_unlock(&rt->park_mu);
            return a;
        }
        if (atomic_load_explicit(&rt->workers_exit, memory_order_acquire)) {
            pthread_mutex_unlock(&rt->park_mu);
            return NULL;
        }
        w->parked = 1;
        atomic_fetch_add_explicit(&rt->nparked, 1, memory_order_relaxed);
        if (any_work(rt)) {
            /* a peer's deque has work: stay up and steal it */
            w->parked = 0;
            atomic_fetch_sub_explicit(&rt->nparked, 1, memory_order_relaxed);
            pthread_mutex_unlock(&rt->park_mu);
            continue;
        }
        atomic_fetch_add_explicit(&rt->parks, 1, memory_order_relaxed);
        atomic_store_explicit(&w->handled_total, w->handled, memory_order_relaxed);
        while (!w->wake && !atomic_load_explicit(&rt->workers_exit, memory_order_acquire))
            pthread_cond_wait(&w->cv, &rt->park_mu);
        if (w->parked) { /* woken by exit, not by wake_one_locked */
            w->parked = 0;
            atomic_fetch_sub_explicit(&rt->nparked, 1, memory_order_relaxed);
        }
        w->wake = 0;
        pthread_mutex_unlock(&rt->park_mu);
    }
}

static void *worker_main(void *arg)
{
    actr__worker_t *w = arg;
    actr_t *rt = w->rt;
    actr__actor_t *a;
    for (;;) {
        /* the `next` slot first, but not forever: after a streak, let the
         * deque and the injection queue have a turn (fairness) */
        if (w->next != NULL && w->next_streak < 64) {
            a = w->next;
            w->next = NULL;
            w->next_streak++;
        } else {
            if (w->next != NULL) {
                if (actr__dq_push(&w->dq, w->next) != 0)
                    inject_push(rt, w->next);
                w->next = NULL;
            }
            w->next_streak = 0;
            if ((a = next_actor(w)) == NULL)
                break;
        }
        /* this worker is about to be busy: if its deque still holds work and a
         * peer sleeps, wake one to steal it (once per activation, not per send) */
        if (atomic_load_explicit(&rt->nparked, memory_order_relaxed) > 0 &&
            actr__dq_size(&w->dq) > 0) {
            pthread_mutex_lock(&rt->park_mu);
            wake_one_locked(rt);
            pthread_mutex_unlock(&rt->park_mu);
        }
        actr__run_actor(&w->ctx, a);
        actr__cluster_flush(&w->ctx); /* one write per peer for what it sent */
        actr__swap_poll(rt);
        w->activations++;
        atomic_store_explicit(&w->act_pub, w->activations, memory_order_relaxed);
        if ((w->activations & 63) == 0)
            atomic_store_explicit(&w->handled_total, w->handled, memory_order_relaxed);
    }
    atomic_store_explicit(&w->handled_total, w->handled, memory_order_relaxed);
    return NULL;
}

int actr__sched_start(actr_t *rt)
{
    for (unsigned i = 0; i < rt->nworkers; i++) {
        int rc = -pthread_create(&rt->workers[i].thread, NULL, worker_main, &rt->workers[i]);
        if (rc != 0) {
            /* stop the ones already running */
            atomic_store_explicit(&rt->workers_exit, 1, memory_order_release);
            pthread_mutex_lock(&rt->park_mu);
            for (unsigned j = 0; j < i; j++)
                pthread_cond_signal(&rt->workers[j].cv);
            pthread_mutex_unlock(&rt->park_mu);
            for (unsigned j = 0; j < i; j++)
                pthread_join(rt->workers[j].thread, NULL);
            return rc;
        }
    }
    return 0;
}

void actr__sched_join(actr_t *rt)
{
    atomic_store_explicit(&rt->workers_exit, 1, memory_order_release);
    pthread_mutex_lock(&rt->park_mu);
    for (unsigned i = 0; i < rt->nworkers; i++)
        pthread_cond_signal(&rt->workers[i].cv);
    pthread_mutex_unlock(&rt->park_mu);
    for (unsigned i = 0; i < rt->nworkers; i++)
        pthread_join(rt->workers[i].thread, NULL);
}

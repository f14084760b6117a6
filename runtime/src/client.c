/* client.c — client contexts: a mailbox and a ref for a thread that is not a
 * worker (an embedder's main thread, a test, a tool), with blocking receive
 * and a blocking request/reply call.
 *
 * A client slot is of kind CLIENT for its whole life (client slots are
 * recycled only among clients), so a sender that finds the mailbox idle wakes
 * the client's thread instead of putting the slot on a run queue; the client
 * thread is the mailbox's only consumer. Wake-ups go through one mutex and
 * condition variable per runtime: clients are few and wait rarely.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster_int.h"
#include "internal.h"

void actr__client_wake(actr_t *rt, actr__actor_t *a)
{
    pthread_mutex_lock(&rt->client_mu);
    a->cl_wake = 1;
    pthread_cond_broadcast(&rt->client_cv);
    pthread_mutex_unlock(&rt->client_mu);
}

int actr_client_open(actr_t *rt, actr_ctx_t **out)
{
    if (out == NULL)
        return ACTR_EINVAL;
    *out = NULL;
    if (rt == NULL)
        return ACTR_EINVAL;
    if (atomic_load_explicit(&rt->stopping, memory_order_acquire))
        return ACTR_ESTOPPED;
    actr_ctx_t *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return ACTR_ENOMEM;
    actr__actor_t *a = NULL;
    int rc = 0;
    pthread_mutex_lock(&rt->client_mu);
    if (rt->nclient_free > 0)
        a = actr__slot(rt, rt->client_free[--rt->nclient_free]);
    else
        rc = actr__alloc_slot(rt, ACTR__KIND_CLIENT, &a);
    pthread_mutex_unlock(&rt->client_mu);
    if (rc != 0) {
        free(c);
        return rc;
    }
    c->api = &actr__host_api;
    c->rt = rt;
    c->is_client = 1;
    c->cur = a;
    c->cache.depot = &rt->depot;
    a->status = ACTR__ST_ALIVE;
    c->self = actr__ref_of(rt, a, atomic_load_explicit(&a->gen, memory_order_acquire));
    *out = c;
    return 0;
}

void actr_client_close(actr_ctx_t *c)
{
    if (c == NULL || !c->is_client)
        return;
    actr_t *rt = c->rt;
    actr__actor_t *a = c->cur;
    uint32_t gen = c->self.gen;
    uint32_t ng = gen + 1 ? gen + 1 : 1;
    /* release: sends to this client fail from now on */
    atomic_store_explicit(&a->gen, ng, memory_order_release);
    actr__ext_free(c, a, c->self, ACTR_REASON_NORMAL);
    uint32_t counted = 0;
    actr__node_t *n;
    while ((n = actr__mb_pop(&a->mb)) != NULL) {
        actr_msg_t *m = (actr_msg_t *)n;
        if (m->flags & ACTR__F_COUNTED)
            counted++;
        actr__drop_stale(c, a, m, NULL);
    }
    if (counted)
        atomic_fetch_sub_explicit(&a->count, counted, memory_order_relaxed);
    actr__wake_waiters(c, a, gen, UINT_MAX);
    a->status = ACTR__ST_FREE;
    pthread_mutex_lock(&rt->client_mu);
    a->cl_wake = 0;
    if (rt->nclient_free == rt->capclient_free) {
        size_t nc = rt->capclient_free ? rt->capclient_free * 2 : 8;
        void *p = realloc(rt->client_free, nc * sizeof(*rt->client_free));
        if (p != NULL) {
            rt->client_free = p;
            rt->capclient_free = nc;
        }
    }
    if (rt->nclient_free < rt->capclient_free)
        rt->client_free[rt->nclient_free++] = a->slot;
    pthread_mutex_unlock(&rt->client_mu);
    actr__msgcache_flush(&c->cache);
    free(c);
}

/* Next message for the client itself (deferred ones excluded). */
static int recv_raw(actr_ctx_t *c, int timeout_ms, actr_msg_t **out)
{
    actr_t *rt = c->rt;
    actr__actor_t *a = c->cur;
    struct timespec dl;
    if (timeout_ms > 0)
        actr__deadline_us(CLOCK_REALTIME, (uint64_t)timeout_ms * 1000u, &dl);
    for (;;) {
        actr__node_t *n = actr__mb_pop(&a->mb);
        if (n != NULL) {
            actr_msg_t *m = (actr_msg_t *)n;
            if (m->flags & ACTR__F_COUNTED)
                actr__drained(c, a, 1);
            if (m->sys == ACTR__SYS_INIT || m->to_gen != c->self.gen) {
                actr__drop_stale(c, a, m, NULL);
                continue;
            }
            char reason[ACTR_REASON_MAX + 1];
            if (actr__filter(c, a, m, reason, sizeof(reason)) > 0) {
                *out = m;
                return 0;
            }
            actr__msg_unref(c, m);
            continue;
        }
        if (!actr__mb_markempty(&a->mb)) {
            sched_yield(); /* a sender is mid-push */
            continue;
        }
        if (timeout_ms == 0)
            return ACTR_ETIMEDOUT;
        int woke = 1;
        pthread_mutex_lock(&rt->client_mu);
        while (!a->cl_wake) {
            if (timeout_ms < 0) {
                pthread_cond_wait(&rt->client_cv, &rt->client_mu);
            } else if (pthread_cond_timedwait(&rt->client_cv, &rt->client_mu, &dl) == ETIMEDOUT) {
                woke = a->cl_wake;
                break;
            }
        }
        a->cl_wake = 0;
        pthread_mutex_unlock(&rt->client_mu);
        if (!woke)
            return ACTR_ETIMEDOUT;
    }
}

int actr_client_recv(actr_ctx_t *c, int timeout_ms, actr_msg_t **out)
{
    if (out == NULL)
        return ACTR_EINVAL;
    *out = NULL;
    if (c == NULL)
        return ACTR_EINVAL;
    if (!c->is_client)
        return ACTR_ECONTEXT;
    actr__ext_t *e = c->cur->ext;
    if (e != NULL && e->deferred_head != NULL) {
        actr_msg_t *m = e->deferred_head;
        e->deferred_head =
            (actr_msg_t *)atomic_load_explicit(&m->node.next, memory_order_relaxed);
        if (e->deferred_head == NULL)
            e->deferred_tail = NULL;
        *out = m;
        return 0;
    }
    return recv_raw(c, timeout_ms, out);
}

static void defer(actr_ctx_t *c, actr_msg_t *m)
{
    actr__defer(actr__ext(c->cur), m);
}

int actr_client_call(actr_ctx_t *c, actr_ref_t to, actr_msg_t *msg, int timeout_ms,
                     actr_msg_t **reply)
{
    if (reply != NULL)
        *reply = NULL;
    if (c == NULL || reply == NULL) {
        actr__msg_unref(c, msg);
        return ACTR_EINVAL;
    }
    if (!c->is_client) {
        actr__msg_unref(c, msg);
        return ACTR_ECONTEXT;
    }
    uint64_t id;
    int rc = actr_request(c, to, msg, timeout_ms > 0 ? (uint32_t)timeout_ms : 0, &id);
    if (rc != 0)
        return rc;
    uint64_t deadline = timeout_ms > 0 ? actr__now_ms() + (uint64_t)timeout_ms : 0;
    for (;;) {
        int wait = -1;
        if (timeout_ms > 0) {
            uint64_t now = actr__now_ms();
            /* the runtime's own timeout (REQFAIL) normally ends the wait; this
             * deadline, a little later, is the backstop */
            wait = now >= deadline + 1000 ? 0 : (int)(deadline + 1000 - now);
        } else if (timeout_ms == 0) {
            wait = 0;
        }
        actr_msg_t *m;
        rc = recv_raw(c, wait, &m);
        if (rc != 0) {
            actr__ext_t *e = c->cur->ext;
            void *v = NULL;
            if (e != NULL && actr__idmap_del(&e->pending, id, &v) && v != NULL)
                actr__timer_cancel_id(c->rt, id);
            actr__remote_forget_request(c->rt, id); /* if it went to another node */
            return rc;
        }
        if (actr_msg_request_id(m) == id &&
            (actr_msg_is_reply(m) || actr_msg_type(m) == ACTR_MSG_REQFAIL)) {
            if (actr_msg_type(m) == ACTR_MSG_REQFAIL) {
                rc = actr_msg_error(m);
                actr__msg_unref(c, m);
                return rc ? rc : ACTR_ETIMEDOUT;
            }
            *reply = m;
            return 0;
        }
        defer(c, m);
    }
}

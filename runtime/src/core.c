/* core.c — the runtime's lifecycle: open, start/run, stop, wait, close; the
 * I/O thread's libuv loop; and the graceful shutdown sequence.
 *
 * Shutdown: actr_stop sets `stopping` (spawns and client sends are refused from
 * then on) and wakes the I/O thread, which sends every actor slot a STOP with
 * reason "shutdown". Running handlers finish; each actor runs terminate when
 * it reaches the STOP; an actor whose INIT is processed after `stopping` runs
 * init and then stops at once. When the live count reaches zero the I/O thread closes its handles,
 * the loop ends, the workers drain their queues and exit, and `stopped` is set.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cluster_int.h"

void actr_options_init(actr_options_t *o)
{
    memset(o, 0, sizeof(*o));
    o->size = sizeof(*o);
    o->log_level = ACTR_LOG_INFO;
}

void actr__notify_io(actr_t *rt)
{
    if (!atomic_load_explicit(&rt->io_closed, memory_order_acquire))
        uv_async_send(&rt->async);
}

void actr__actor_gone(actr_t *rt)
{
    if (atomic_fetch_sub_explicit(&rt->live, 1, memory_order_acq_rel) == 1 &&
        atomic_load_explicit(&rt->stopping, memory_order_acquire))
        actr__notify_io(rt);
}

static void sweep(actr_t *rt, actr_ctx_t *ctx)
{
    uint32_t n = atomic_load_explicit(&rt->next_slot, memory_order_acquire);
    for (uint32_t s = 0; s < n; s++) {
        actr__actor_t *a = actr__slot(rt, s);
        if (a == NULL || atomic_load_explicit(&a->kind, memory_order_relaxed) != ACTR__KIND_ACTOR)
            continue;
        actr_ref_t r = actr__ref_of(rt, a, atomic_load_explicit(&a->gen, memory_order_acquire));
        (void)actr_actor_stop(ctx, r, ACTR_REASON_SHUTDOWN);
    }
}

static void on_async(uv_async_t *h)
{
    actr_t *rt = h->data;
    actr__timers_process(rt);
    actr__cluster_io(rt);
    if (!atomic_load_explicit(&rt->stopping, memory_order_acquire))
        return;
    if (!atomic_exchange_explicit(&rt->stop_swept, 1, memory_order_acq_rel)) {
        actr__log(rt, ACTR_LOG_DEBUG, ACTR_REF_NONE, "stopping: %llu actors",
                  (unsigned long long)atomic_load(&rt->live));
        sweep(rt, &rt->io_ctx);
    }
    if (atomic_load_explicit(&rt->live, memory_order_acquire) == 0 &&
        !atomic_exchange_explicit(&rt->io_closed, 1, memory_order_acq_rel)) {
        actr__timers_close(rt);
        actr__cluster_close(rt);
        uv_close((uv_handle_t *)h, NULL);
    }
}

int actr_open(actr_t **out, const actr_options_t *opts)
{
    if (out == NULL)
        return ACTR_EINVAL;
    *out = NULL;
    actr_options_t o;
    actr_options_init(&o);
    if (opts != NULL) {
        if (opts->size < sizeof(actr_options_t))
            return ACTR_EINVAL;
        o = *opts;
    }
    if (o.workers > 1024 || o.batch > 1000000 || o.log_level > ACTR_LOG_OFF ||
        o.max_payload > ACTR_MSG_MAX_PAYLOAD || o.spin_us > 1000000)
        return ACTR_EINVAL;
    if (o.workers == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        o.workers = n > 0 ? (unsigned)n : 1;
    }
    if (o.batch == 0)
        o.batch = 64;
    if (o.mailbox_limit == 0)
        o.mailbox_limit = 16384;
    if (o.max_payload == 0)
        o.max_payload = ACTR_MSG_MAX_PAYLOAD;
    if (o.spin_us == 0)
        o.spin_us = 50;

    actr_t *rt = calloc(1, sizeof(*rt));
    if (rt == NULL)
        return ACTR_ENOMEM;
    rt->opts = o;
    rt->nworkers = o.workers;
    rt->batch = o.batch;
    do {
        if (uv_random(NULL, NULL, &rt->node_id, sizeof(rt->node_id), 0, NULL) != 0)
            rt->node_id = actr__now_ns() ^ (uint64_t)(uintptr_t)rt;
    } while (rt->node_id == 0);
    rt->chunks = calloc(ACTR__MAX_CHUNKS, sizeof(*rt->chunks));
    if (rt->chunks == NULL) {
        free(rt);
        return ACTR_ENOMEM;
    }
    atomic_init(&rt->next_id, 2);
    pthread_mutex_init(&rt->chunk_mu, NULL);
    pthread_mutex_init(&rt->client_mu, NULL);
    pthread_cond_init(&rt->client_cv, NULL);
    pthread_mutex_init(&rt->done_mu, NULL);
    pthread_mutex_init(&rt->history_mu, NULL);
    pthread_cond_init(&rt->done_cv, NULL);
    actr__msgdepot_init(&rt->depot);
    if (o.data_dir != NULL) {
        rt->data_dir = actr__strdup(o.data_dir);
    } else {
        const char *tmp = getenv("TMPDIR");
        char tmpl[4096];
        snprintf(tmpl, sizeof(tmpl), "%s/actr-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (mkdtemp(tmpl) != NULL) {
            rt->data_dir = actr__strdup(tmpl);
            rt->data_dir_temp = 1;
        }
    }
    rt->opts.data_dir = rt->data_dir;
    rt->io_ctx.api = &actr__host_api;
    rt->io_ctx.rt = rt;
    rt->io_ctx.cache.depot = &rt->depot;
    int rc = uv_loop_init(&rt->loop);
    rt->loop_inited = rc == 0;
    if (rc == 0) {
        rc = uv_async_init(&rt->loop, &rt->async, on_async);
        rt->async.data = rt;
        rt->async_inited = rc == 0;
    }
    if (rc == 0)
        rc = actr__timers_init(rt);
    if (rc == 0)
        rc = actr__names_init(rt);
    if (rc == 0)
        rc = actr__sched_init(rt);
    if (rc != 0) {
        actr_close(rt);
        return rc == UV_ENOMEM ? ACTR_ENOMEM : rc;
    }
    *out = rt;
    return 0;
}

static void *io_main(void *arg)
{
    actr_t *rt = arg;
    actr__timers_start(rt);
    /* commands queued before start (timers, a stop) are applied now */
    actr__notify_io(rt);
    uv_run(&rt->loop, UV_RUN_DEFAULT);
    actr__sched_join(rt);
    pthread_mutex_lock(&rt->done_mu);
    atomic_store_explicit(&rt->stopped, 1, memory_order_release);
    pthread_cond_broadcast(&rt->done_cv);
    pthread_mutex_unlock(&rt->done_mu);
    return NULL;
}

static int start(actr_t *rt)
{
    if (rt == NULL)
        return ACTR_EINVAL;
    if (atomic_load_explicit(&rt->stopping, memory_order_acquire))
        return ACTR_ESTOPPED;
    /* claim the runtime first: a concurrent second start must not start a
     * second set of threads */
    if (atomic_exchange_explicit(&rt->started, 1, memory_order_acq_rel))
        return ACTR_EBUSY;
    int rc = actr__sched_start(rt);
    if (rc != 0)
        atomic_store_explicit(&rt->started, 0, memory_order_release);
    return rc;
}

int actr_start(actr_t *rt)
{
    int rc = start(rt);
    if (rc != 0)
        return rc;
    rt->io_bg = 1;
    rc = -pthread_create(&rt->io_thread, NULL, io_main, rt);
    if (rc != 0) {
        rt->io_bg = 0;
        actr__sched_join(rt);
        atomic_store_explicit(&rt->stopped, 1, memory_order_release);
    }
    return rc;
}

int actr_run(actr_t *rt)
{
    int rc = start(rt);
    if (rc != 0)
        return rc;
    (void)io_main(rt);
    return 0;
}

int actr_stop(actr_t *rt)
{
    if (rt == NULL)
        return ACTR_EINVAL;
    /* async-signal-safe: an atomic exchange and uv_async_send only */
    if (!atomic_exchange_explicit(&rt->stopping, 1, memory_order_acq_rel))
        actr__notify_io(rt);
    return 0;
}

static int on_worker_thread(actr_t *rt)
{
    pthread_t self = pthread_self();
    for (unsigned i = 0; rt->started && i < rt->nworkers; i++)
        if (pthread_equal(self, rt->workers[i].thread))
            return 1;
    return 0;
}

int actr_wait(actr_t *rt)
{
    if (rt == NULL)
        return ACTR_EINVAL;
    if (!rt->started)
        return 0;
    if (on_worker_thread(rt))
        return ACTR_ECONTEXT;
    pthread_mutex_lock(&rt->done_mu);
    while (!atomic_load_explicit(&rt->stopped, memory_order_acquire))
        pthread_cond_wait(&rt->done_cv, &rt->done_mu);
    pthread_mutex_unlock(&rt->done_mu);
    if (rt->io_bg) {
        pthread_join(rt->io_thread, NULL);
        rt->io_bg = 0;
    }
    return 0;
}


/* Free what actors never started or never finished left in their slots. */
static void free_slots(actr_t *rt)
{
    uint32_t n = atomic_load_explicit(&rt->next_slot, memory_order_relaxed);
    for (uint32_t s = 0; s < n; s++) {
        actr__actor_t *a = actr__slot(rt, s);
        if (a == NULL)
            continue;
        actr__node_t *node;
        while ((node = actr__mb_pop(&a->mb)) != NULL)
            actr__msg_unref(NULL, (actr_msg_t *)node);
        actr__waiter_t *w = atomic_exchange_explicit(&a->waiters, NULL, memory_order_relaxed);
        while (w != NULL) {
            actr__waiter_t *nx = w->next;
            free(w);
            w = nx;
        }
        if (a->ext != NULL) {
            actr__ext_destroy(NULL, a->ext);
            a->ext = NULL;
        }
        free(a->state);
        a->state = NULL;
        actr__forget_reason(a);
    }
}

void actr_close(actr_t *rt)
{
    if (rt == NULL)
        return;
    actr__watch_close(rt);
    if (rt->started) {
        actr_stop(rt);
        if (actr_wait(rt) != 0)
            return; /* from a handler: refuse rather than deadlock */
    } else if (rt->loop_inited) {
        /* never started: close the loop's handles so the loop can be freed */
        atomic_store_explicit(&rt->io_closed, 1, memory_order_release);
        if (rt->async_inited)
            uv_close((uv_handle_t *)&rt->async, NULL);
        actr__timers_close(rt);
        actr__cluster_close(rt);
        uv_run(&rt->loop, UV_RUN_DEFAULT);
    }
    actr__store_close(rt);
    actr__cluster_free(rt);
    actr__remote_free(rt);
    free_slots(rt);
    actr__plugins_free(rt);
    actr__timers_free(rt);
    actr__names_free(rt);
    actr__sched_free(rt);
    actr__msgcache_flush(&rt->io_ctx.cache);
    actr__msgdepot_free(&rt->depot);
    actr__table_free(rt);
    free(rt->chunks);
    free(rt->client_free);
    if (rt->data_dir_temp)
        actr__rmtree(rt->data_dir);
    free(rt->data_dir);
    if (rt->loop_inited)
        uv_loop_close(&rt->loop);
    pthread_mutex_destroy(&rt->chunk_mu);
    pthread_mutex_destroy(&rt->client_mu);
    pthread_cond_destroy(&rt->client_cv);
    pthread_mutex_destroy(&rt->done_mu);
    pthread_mutex_destroy(&rt->history_mu);
    pthread_cond_destroy(&rt->done_cv);
    free(rt);
}

uint64_t actr_node_id(const actr_t *rt) { return rt ? rt->node_id : 0; }

const char *actr_data_dir(const actr_t *rt) { return rt ? rt->data_dir : NULL; }

int actr_actors_list(actr_t *rt, void (*fn)(void *ud, const actr_actor_info_t *info), void *ud)
{
    if (rt == NULL || fn == NULL)
        return ACTR_EINVAL;
    uint32_t n = atomic_load_explicit(&rt->next_slot, memory_order_acquire);
    for (uint32_t s = 0; s < n; s++) {
        actr__actor_t *a = actr__slot(rt, s);
        if (a == NULL || atomic_load_explicit(&a->kind, memory_order_relaxed) != ACTR__KIND_ACTOR)
            continue;
        /* acquire: pairs with the release that published the type name */
        const char *type = atomic_load_explicit(&a->tname, memory_order_acquire);
        if (type == NULL)
            continue;
        actr_actor_info_t info;
        char name[256];
        info.ref = actr__ref_of(rt, a, atomic_load_explicit(&a->gen, memory_order_acquire));
        info.type = type;
        info.name = actr__name_of(rt, info.ref, name, sizeof(name)) ? name : NULL;
        info.mailbox = atomic_load_explicit(&a->count, memory_order_relaxed);
        info.handled = atomic_load_explicit(&a->handled, memory_order_relaxed);
        fn(ud, &info);
    }
    return 0;
}


void actr_stats(actr_t *rt, actr_stats_t *out)
{
    memset(out, 0, sizeof(*out));
    if (rt == NULL)
        return;
    out->actors_live = atomic_load_explicit(&rt->live, memory_order_relaxed);
    out->actors_spawned = atomic_load_explicit(&rt->spawned, memory_order_relaxed);
    out->workers = rt->nworkers;
    out->workers_parked = atomic_load_explicit(&rt->nparked, memory_order_relaxed);
    out->worker_parks = atomic_load_explicit(&rt->parks, memory_order_relaxed);
    out->worker_wakes = atomic_load_explicit(&rt->wakes, memory_order_relaxed);
    out->steals = atomic_load_explicit(&rt->steals, memory_order_relaxed);
    for (unsigned i = 0; rt->workers != NULL && i < rt->nworkers; i++)
        out->msgs_handled +=
            atomic_load_explicit(&rt->workers[i].handled_total, memory_order_relaxed);
}

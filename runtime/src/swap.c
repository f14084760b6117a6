/* swap.c — hot swap of a loaded plugin (actr/loader.h: actr_plugin_swap,
 * actr_plugin_rollback) and the plugin history events of the loader.
 *
 * A swap runs in two phases, the first on the caller's thread:
 *
 * 1. Load. The new file is copied, checked and opened beside the running
 *    version exactly as a load would (plugin.c), and must hold the same
 *    plugin; its load hook runs. Nothing of the running plugin has changed.
 *
 * 2. Pause, migrate, commit or abort. New states and the list of members
 *    are made first, in slices while the workers are busy (pacing, below).
 *    Then `paused` is set on every type of the plugin. A worker about to run
 *    code of such a type (the next message, an INIT, a kill) hands the
 *    actor to the plugin's hold instead, keeping its
 *    schedule token (actr__gate in internal.h, actr__swap_park here): the
 *    actor stops at a message boundary, its mailbox keeps accepting. The rest
 *    (the hold) is posted to the workers (rt->hold): the first worker to
 *    finish an activation while no thread is inside an activation of the
 *    plugin (each worker publishes the plugin type it runs, `in_type`;
 *    Dekker with `paused`) runs it, so from then on no thread runs the
 *    plugin's code; the caller runs it itself only when no worker can (all
 *    parked, not started, or none came within HOLD_HELP_US). Running it on a
 *    worker matters on a loaded machine: a third thread doing the hold would
 *    be preempted by the workers it competes with, for whole time slices.
 *    Every live actor of its types (the per-type member sets the init and
 *    terminate wrappers keep; the list made before the pause stands if no
 *    member came or went since, by the types' member epochs) has its state
 *    migrated by the new version's migrate hook into a fresh state; with
 *    many members, the workers that reach a message boundary meanwhile join
 *    in, migrate chunks of the list and wait for the hold to end, so the
 *    pause is shorter and every queue stays in its order. If all
 *    succeed the states are switched, the type records take the new
 *    functions and the versions move (commit); otherwise every new state is
 *    freed and nothing else changes (abort). Either way `paused` is cleared
 *    and the parked actors are made runnable again, each with the messages it
 *    had plus those that arrived meanwhile, in order.
 *
 * Refs, names, timers, monitors, links, pending requests and subscriptions
 * belong to the actor slot, which a swap never touches, so they survive it.
 * An actor spawned during the swap has its INIT parked like any message, so
 * it starts on whichever version is current once the swap ends.
 *
 * Versions. The version swapped out is kept mapped as the plugin's `prev`
 * (for actr_plugin_rollback); the one before it is closed (unload hook,
 * dlclose, private copy removed) right after the commit: it stopped being
 * current at the previous swap's commit, whose pause guaranteed that no
 * thread was left in its code, and type records hold no pointer into it.
 *
 * Memory ordering. Writes a swap makes to an actor's state and to the type
 * records happen before the actor's next activation: a parked actor is
 * handed back through the scheduler's injection queue (a mutex); an idle one
 * is next run by a worker whose gate reads `paused` == 0 with seq_cst after
 * the swap cleared it.
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <dlfcn.h>

#include "plugin_int.h"

#define SWAP_WAIT_MS 5000 /* how long an actor may take to reach a message boundary */
#define HOLD_HELP_US 200  /* how long the caller leaves a posted hold to the workers */
#define HOLD_POLL_US 100  /* how often the caller looks at a posted hold meanwhile */

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* ---- pacing -------------------------------------------------------------------- *
 * On a machine with no idle core, the swap's preparation (the new states, the
 * list of members) runs in a worker's place. Done in one burst it holds up
 * that worker's queue for all of it (a millisecond and more for 10,000
 * actors) just before the pause, and the actors queued there carry the delay
 * into it. So while any worker is busy, the preparing thread works in slices
 * of PACE_SLICE_US and rests PACE_REST_US after each: no queue waits for
 * more than a slice. */
#define PACE_SLICE_US 100
#define PACE_REST_US 300

typedef struct pace {
    actr_t *rt;
    uint64_t since; /* the current slice began */
} pace_t;

static void pace_start(pace_t *pc, actr_t *rt)
{
    pc->rt = rt;
    pc->since = now_us();
}

/* Call often while preparing: rests once a slice is used up. NULL: never. */
static void pace(pace_t *pc)
{
    if (pc == NULL || now_us() - pc->since < PACE_SLICE_US)
        return;
    actr_t *rt = pc->rt;
    if (rt->workers != NULL && atomic_load_explicit(&rt->started, memory_order_acquire) &&
        atomic_load_explicit(&rt->nparked, memory_order_relaxed) < rt->nworkers) {
        struct timespec ts = {0, PACE_REST_US * 1000L};
        nanosleep(&ts, NULL);
    }
    pc->since = now_us();
}

/* ---- the worker side ------------------------------------------------------------ */

int actr__swap_park(actr_t *rt, actr__ptype_head_t *th, actr__actor_t *a)
{
    (void)rt;
    actr__hold_t *h = ((ptype_t *)(void *)th)->hold;
    pthread_mutex_lock(&h->mu);
    int held = h->active;
    if (held && h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 256;
        actr__actor_t **v = realloc(h->v, cap * sizeof(*v));
        if (v == NULL) {
            held = 0; /* out of memory: the worker requeues it and it comes back */
        } else {
            h->v = v;
            h->cap = cap;
        }
    }
    if (held)
        h->v[h->n++] = a;
    pthread_mutex_unlock(&h->mu);
    return held;
}

/* ---- versions ------------------------------------------------------------------- */

/* Fill v with p's current version (its strings move with it). */
static void take_current(const plugin_t *p, actr__pver_t *v)
{
    v->dl = p->dl;
    v->desc = p->desc;
    v->tstride = p->tstride;
    v->version = p->version;
    v->path = p->path;
    v->copy = p->copy;
    v->signature = p->signature;
    v->abi_major = p->abi_major;
    v->abi_minor = p->abi_minor;
}

/* Make v the current version of p; v's strings move to p and v is freed. */
static void set_current(plugin_t *p, actr__pver_t *v)
{
    p->dl = v->dl;
    p->desc = v->desc;
    p->tstride = v->tstride;
    p->version = v->version;
    p->path = v->path;
    p->copy = v->copy;
    p->signature = v->signature;
    p->abi_major = v->abi_major;
    p->abi_minor = v->abi_minor;
    free(v);
}

void actr__pver_close(actr__pver_t *v, int run_hook)
{
    if (v == NULL)
        return;
    if (run_hook && v->desc != NULL && v->desc->unload != NULL)
        v->desc->unload(&actr__host_api);
    if (v->dl != NULL)
        dlclose(v->dl);
    if (v->copy != NULL)
        unlink(v->copy);
    free(v->version);
    free(v->path);
    free(v->copy);
    free(v->signature);
    free(v);
}

/* The actor type `name` of version v, or NULL. */
static const actr_actor_type_t *type_in(const actr__pver_t *v, const char *name)
{
    opened_t o = {v->dl, v->desc, v->tstride};
    for (uint32_t i = 0; i < v->desc->ntypes; i++)
        if (strcmp(actr__type_at(&o, i)->name, name) == 0)
            return actr__type_at(&o, i);
    return NULL;
}

/* ---- history -------------------------------------------------------------------- */

void actr__plugin_event(actr_t *rt, const char *plugin, const char *action, const char *from,
                        const char *to, const char *path, int code, const char *reason,
                        uint64_t actors, uint64_t pause_us)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    actr_plugin_event_t ev = {
        .time_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000,
        .plugin = plugin,
        .action = action,
        .from_version = from ? from : "",
        .to_version = to ? to : "",
        .path = path ? path : "",
        .code = code,
        .reason = reason ? reason : "",
        .actors = actors,
        .pause_us = pause_us,
    };
    actr__history_add(rt, &ev);
}

/* ---- the two phases ------------------------------------------------------------------ */

/* New states allocated (zeroed) before the pause, so that the pause only
 * migrates: one pool per type of the plugin. */
typedef struct pool {
    void **v;       /* v[i] goes to the type's i-th listed member (NULL once taken) */
    size_t n, cap;
    size_t first;   /* where the type's members start in the member list */
    size_t size;    /* the new version's state size */
    uint64_t epoch; /* the type's member epoch when its members were listed */
} pool_t;

typedef struct member {
    actr__actor_t *a;
    ptype_t *t;
    const actr_actor_type_t *nt; /* its type in the new version */
    pool_t *pool;
    void *state;                 /* the migrated state */
} member_t;

typedef struct members {
    member_t *v;
    size_t n, cap;
    int oom;
} members_t;

typedef struct job {
    actr_t *rt;
    struct actr__plugins *ps;
    plugin_t *p;
    actr__pver_t *to; /* the version to switch to */
    int rollback;
    const char *action; /* "swap" or "rollback" */
    actr_swap_info_t *info;
    actr_error_t *err;
    struct actr_ctx mctx; /* what migrate hooks run with (sends refused) */
    /* the hold (phase 2), prepared by the caller and run by whichever thread
     * claims it (hold_run) */
    members_t ms;
    pool_t *pools;
    uint32_t npools;
    uint64_t t0, pause_us; /* the gate closed; how long the actors were held */
    int rc;
    int listed; /* what listing the members before the pause returned */
    char why[256];
    size_t failed;           /* the lowest member whose migration failed, or (size_t)-1 */
    int fail_rc;             /* its error */
    pthread_mutex_t fail_mu; /* failed, fail_rc, why */
    size_t nchunks;          /* HOLD_CHUNK members each */
    _Atomic size_t next;     /* the next chunk to migrate */
    _Atomic int stop;        /* a migration failed: the others stop at their next member */
} job_t;

static void collect(uint64_t key, void *val, void *ud)
{
    (void)key;
    members_t *ms = ud;
    if (ms->n == ms->cap) {
        size_t cap = ms->cap ? ms->cap * 2 : 64;
        member_t *v = realloc(ms->v, cap * sizeof(*v));
        if (v == NULL) {
            ms->oom = 1;
            return;
        }
        ms->v = v;
        ms->cap = cap;
    }
    ms->v[ms->n++] = (member_t){val, NULL, NULL, NULL, NULL};
}

/* 1 if some worker is inside an activation of one of p's types. */
static int plugin_running(actr_t *rt, const plugin_t *p)
{
    if (rt->workers == NULL)
        return 0;
    /* the workers, and the I/O thread (it runs an activation when every
     * worker is parked: actr__deliver_io) */
    for (unsigned i = 0; i <= rt->nworkers; i++) {
        actr_ctx_t *c = i < rt->nworkers ? &rt->workers[i].ctx : &rt->io_ctx;
        actr__ptype_head_t *cur = atomic_load_explicit(&c->in_type, memory_order_seq_cst);
        if (cur == NULL)
            continue;
        for (uint32_t k = 0; k < p->ntypes; k++)
            if (cur == &p->types[k]->h)
                return 1;
    }
    return 0;
}

/* Clear `paused` and hand every parked actor back to the scheduler. */
static void resume(actr_t *rt, plugin_t *p)
{
    actr__hold_t *h = p->hold;
    /* closed first: a worker that still saw `paused` requeues instead of parking */
    pthread_mutex_lock(&h->mu);
    h->active = 0;
    pthread_mutex_unlock(&h->mu);
    for (uint32_t k = 0; k < p->ntypes; k++)
        atomic_store_explicit(&p->types[k]->h.paused, 0, memory_order_seq_cst);
    pthread_mutex_lock(&h->mu);
    actr__actor_t **v = h->v;
    size_t n = h->n;
    h->v = NULL;
    h->n = h->cap = 0;
    pthread_mutex_unlock(&h->mu);
    actr__sched_resume(rt, v, n);
    free(v);
}

/* Migrate the state of member i (m) into m->state, running the hook with
 * context c. Returns 0 or the error, with `why` filled for an error that is
 * not the hook's own. */
static int migrate_one(job_t *j, actr_ctx_t *c, member_t *m, size_t i, char *why, size_t cap)
{
    actr__actor_t *a = m->a;
    size_t old_size = m->t->h.beh.state_size, new_size = m->nt->state_size;
    why[0] = '\0';
    m->state = NULL;
    size_t slot = i - m->pool->first; /* each member has its own slot: no lock */
    if (new_size > 0 && slot < m->pool->n && m->pool->v[slot] != NULL) {
        m->state = m->pool->v[slot];
        m->pool->v[slot] = NULL;
    } else if (new_size > 0 && (m->state = calloc(1, new_size)) == NULL) {
        snprintf(why, cap, "out of memory for its new state (%zu bytes)", new_size);
        return ACTR_ENOMEM;
    }
    if (m->nt->migrate == NULL) {
        if (new_size != old_size) {
            snprintf(why, cap,
                     "version %s has no migrate hook and the state size changes (%zu -> %zu "
                     "bytes)",
                     j->to->version, old_size, new_size);
            return ACTR_EINVAL;
        }
        if (new_size > 0)
            memcpy(m->state, a->state, new_size);
        return 0;
    }
    c->cur = a;
    c->self = actr__ref_of(j->rt, a, atomic_load_explicit(&a->gen, memory_order_relaxed));
    c->in_handler = 1;
    int rc = m->nt->migrate(c, j->p->version, a->state, old_size, m->state);
    return rc < 0 ? rc : 0;
}

/* Under ps->mu: switch the type records to the new version, drop the types it
 * no longer has (they have no live actor), add the ones it brings. */
static int switch_types(job_t *j)
{
    plugin_t *p = j->p;
    struct actr__plugins *ps = j->ps;
    opened_t o = {j->to->dl, j->to->desc, j->to->tstride};
    uint32_t nnew = j->to->desc->ntypes;
    ptype_t **types = calloc(nnew, sizeof(*types));
    if (types == NULL)
        return ACTR_ENOMEM;
    for (uint32_t i = 0; i < nnew; i++) {
        const actr_actor_type_t *nt = actr__type_at(&o, i);
        for (uint32_t k = 0; k < p->ntypes; k++)
            if (p->types[k] != NULL && strcmp(p->types[k]->name, nt->name) == 0) {
                types[i] = p->types[k];
                p->types[k] = NULL;
                break;
            }
        if (types[i] == NULL) {
            ptype_t *t = actr__ptype_new(p, nt);
            if (t == NULL || actr__strmap_add(&ps->types, t->name, t) != 0) {
                actr__ptype_free(t);
                for (uint32_t k = 0; k < i; k++) /* undo: give the kept ones back */
                    if (types[k] != NULL && types[k]->owner == p) {
                        int kept = 0;
                        for (uint32_t q = 0; q < p->ntypes && !kept; q++)
                            if (p->types[q] == NULL) {
                                p->types[q] = types[k];
                                kept = 1;
                            }
                        if (!kept) {
                            void *v = NULL;
                            (void)actr__strmap_del(&ps->types, types[k]->name, &v);
                            actr__ptype_free(types[k]);
                        }
                    }
                free(types);
                return ACTR_ENOMEM;
            }
            types[i] = t;
        }
    }
    /* committed: nothing below fails */
    for (uint32_t i = 0; i < nnew; i++) {
        const actr_actor_type_t *nt = actr__type_at(&o, i);
        ptype_t *t = types[i];
        t->h.beh.state_size = nt->state_size;
        t->h.beh.receive = nt->receive;
        t->p_init = nt->init;
        t->p_term = nt->terminate;
    }
    for (uint32_t k = 0; k < p->ntypes; k++) {
        ptype_t *t = p->types[k];
        if (t == NULL)
            continue;
        void *v = NULL;
        (void)actr__strmap_del(&ps->types, t->name, &v);
        atomic_store_explicit(&t->closing, 1, memory_order_seq_cst);
        atomic_store_explicit(&t->h.paused, 0, memory_order_seq_cst);
        actr__ptype_bury(ps, t); /* queued spawns of a dropped type fail (ECANCELED) */
    }
    free(p->types);
    p->types = types;
    p->ntypes = nnew;
    return 0;
}

#define LIST_SLICE 1024 /* member-table slots walked at a time while pacing */

/* List the live actors of p's types into j->ms, noting each type's member
 * epoch; paced with pc (NULL: in one go, as the hold does). Returns 0, an
 * error with j->why filled, or ACTR_EBUSY when members came or went between
 * two slices (the list is no snapshot: the hold makes its own). */
static int list_members(job_t *j, pace_t *pc)
{
    plugin_t *p = j->p;
    members_t *ms = &j->ms;
    ms->n = 0;
    ms->oom = 0;
    for (uint32_t k = 0; k < p->ntypes; k++) {
        ptype_t *t = p->types[k];
        size_t from = ms->n;
        pthread_mutex_lock(&t->mmu);
        j->pools[k].epoch = t->mepoch;
        int moved = 0;
        for (size_t slot = 0;;) {
            slot = actr__idmap_each_from(&t->members, slot, pc ? LIST_SLICE : SIZE_MAX, collect,
                                         ms);
            if (slot >= t->members.cap || ms->oom)
                break;
            pthread_mutex_unlock(&t->mmu);
            pace(pc);
            pthread_mutex_lock(&t->mmu);
            if ((moved = t->mepoch != j->pools[k].epoch) != 0)
                break;
        }
        pthread_mutex_unlock(&t->mmu);
        if (moved)
            return ACTR_EBUSY;
        if (ms->oom) {
            snprintf(j->why, sizeof(j->why), "out of memory listing the actors");
            return ACTR_ENOMEM;
        }
        const actr_actor_type_t *nt = type_in(j->to, t->name);
        if (nt == NULL && ms->n > from) {
            snprintf(j->why, sizeof(j->why),
                     "version %s has no type '%s', which has %zu live actor%s", j->to->version,
                     t->name, ms->n - from, ms->n - from == 1 ? "" : "s");
            return ACTR_EINVAL;
        }
        j->pools[k].first = from;
        for (size_t i = from; i < ms->n; i++) {
            ms->v[i].t = t;
            ms->v[i].nt = nt;
            ms->v[i].pool = &j->pools[k];
        }
    }
    return 0;
}

/* In the hold (no thread runs p's code): the live actors of p's types in
 * j->ms. The list made before the pause stands if no type's members changed
 * since (the usual case: it costs a lock per type instead of a walk). */
static int gather(job_t *j)
{
    plugin_t *p = j->p;
    int same = j->listed == 0;
    for (uint32_t k = 0; same && k < p->ntypes; k++) {
        pthread_mutex_lock(&p->types[k]->mmu);
        same = p->types[k]->mepoch == j->pools[k].epoch;
        pthread_mutex_unlock(&p->types[k]->mmu);
    }
    if (same)
        return 0;
    atomic_fetch_add_explicit(&j->rt->hold.relisted, 1, memory_order_relaxed);
    return list_members(j, NULL);
}

/* Before the pause: zeroed new states for about as many actors as there are,
 * and the list of members, made now so that the pause need not walk them. */
static int prepare(job_t *j)
{
    plugin_t *p = j->p;
    size_t live_all = 0;
    pace_t pc;
    pace_start(&pc, j->rt);
    j->npools = p->ntypes; /* p->types changes at a commit */
    j->pools = calloc(j->npools ? j->npools : 1, sizeof(*j->pools));
    if (j->pools == NULL)
        return actr__fail(j->err, ACTR_ENOMEM, "%s of plugin '%s': out of memory", j->action,
                          p->name);
    for (uint32_t k = 0; k < p->ntypes; k++) {
        const actr_actor_type_t *nt = type_in(j->to, p->types[k]->name);
        pool_t *pl = &j->pools[k];
        pthread_mutex_lock(&p->types[k]->mmu);
        size_t live = p->types[k]->members.len;
        pthread_mutex_unlock(&p->types[k]->mmu);
        live_all += live;
        if (nt == NULL || nt->state_size == 0)
            continue;
        pl->size = nt->state_size;
        pl->cap = live + live / 8 + 8;
        if ((pl->v = malloc(pl->cap * sizeof(*pl->v))) == NULL)
            pl->cap = 0;
        while (pl->n < pl->cap && (pl->v[pl->n] = calloc(1, pl->size)) != NULL)
            if ((++pl->n & 15) == 0)
                pace(&pc);
    }
    j->ms.cap = live_all + live_all / 8 + 64;
    if ((j->ms.v = malloc(j->ms.cap * sizeof(*j->ms.v))) == NULL)
        j->ms.cap = 0; /* collect grows it */
    /* listed now; the hold lists again only if some type's members changed */
    j->listed = list_members(j, &pc);
    return 0;
}

#define HOLD_CHUNK 256      /* members a thread migrates at a time */
#define HOLD_SHARE_MIN 1024 /* members from which the workers help migrate */

/* One turn of a spin-wait: a pause, and after a while a yield, so that a
 * thread the waiter depends on gets the CPU if the OS took it away. */
static void spin_pause(unsigned n)
{
    if (n < 4096)
        actr__cpu_relax();
    else
        sched_yield();
}

/* A context for migrate hooks: no actor of its own, sends refused. */
static void migrate_ctx(actr_ctx_t *c, actr_t *rt)
{
    memset(c, 0, sizeof(*c));
    c->api = &actr__host_api;
    c->rt = rt;
    c->migrating = 1;
}

/* Migrate the members of the chunks claimed from j->next until none is left
 * or some migration failed, running the hooks with c; run by the hold's
 * claimant and by the workers that join it. Of several failures, the one of
 * the lowest member is reported. Returns how many chunks this thread took. */
static size_t migrate_chunks(job_t *j, actr_ctx_t *c)
{
    size_t chunks = 0;
    members_t *ms = &j->ms;
    char why[sizeof(j->why)];
    size_t k;
    while (!atomic_load_explicit(&j->stop, memory_order_relaxed) &&
           (k = atomic_fetch_add_explicit(&j->next, 1, memory_order_relaxed)) < j->nchunks) {
        size_t end = (k + 1) * HOLD_CHUNK < ms->n ? (k + 1) * HOLD_CHUNK : ms->n;
        chunks++;
        for (size_t i = k * HOLD_CHUNK; i < end; i++) {
            /* the actors and states are cold and scattered: fetch ahead */
            if (i + 16 < end)
                __builtin_prefetch(ms->v[i + 16].a);
            if (i + 8 < end) {
                const member_t *ahead = &ms->v[i + 8];
                size_t slot = i + 8 - ahead->pool->first;
                __builtin_prefetch(ahead->a->state);
                if (slot < ahead->pool->n)
                    __builtin_prefetch(ahead->pool->v[slot], 1);
            }
            int rc = migrate_one(j, c, &ms->v[i], i, why, sizeof(why));
            if (rc != 0) {
                pthread_mutex_lock(&j->fail_mu);
                if (j->failed == (size_t)-1 || i < j->failed) {
                    j->failed = i;
                    j->fail_rc = rc;
                    memcpy(j->why, why, sizeof(why));
                }
                pthread_mutex_unlock(&j->fail_mu);
                atomic_store_explicit(&j->stop, 1, memory_order_relaxed);
                break;
            }
        }
    }
    actr__msgcache_flush(&c->cache);
    return chunks;
}

/* A worker at a message boundary while another thread runs the hold: help
 * migrate, then wait for the hold to end. Waiting, rather than going back to
 * its queue (where it would only set the plugin's actors aside), leaves every
 * queue as it was: the actors resume in the order they would have run in, and
 * the swap adds the hold to each one's wait and nothing else. */
static void hold_join(actr_t *rt)
{
    /* Dekker with hold_run, which clears `joinable` and then waits for
     * `helpers` to drop to zero (all seq_cst): a helper that counted itself
     * in either sees `joinable` still set, and is waited for, or backs out */
    atomic_fetch_add(&rt->hold.helpers, 1);
    if (!atomic_load(&rt->hold.joinable)) {
        atomic_fetch_sub(&rt->hold.helpers, 1);
        return;
    }
    actr_ctx_t c;
    migrate_ctx(&c, rt);
    size_t chunks = migrate_chunks(rt->hold.job, &c);
    atomic_fetch_add_explicit(&rt->hold.helped, chunks, memory_order_relaxed);
    atomic_fetch_sub(&rt->hold.helpers, 1);
    for (unsigned n = 0;
         atomic_load_explicit(&rt->hold.state, memory_order_acquire) == ACTR__HOLD_CLAIMED; n++)
        spin_pause(n);
}

/* The hold itself, on whichever thread claimed it, once no thread runs the
 * plugin's code (or with j->rc set: the wait timed out): migrate every
 * member (with the help of the workers that come to a message boundary
 * meanwhile, when there are many), commit or discard, resume the actors. */
static void hold_run(job_t *j)
{
    actr_t *rt = j->rt;
    members_t *ms = &j->ms;
    int rc = j->rc;
    if (rc == 0)
        rc = gather(j);
    if (rc == 0) {
        j->nchunks = (ms->n + HOLD_CHUNK - 1) / HOLD_CHUNK;
        migrate_ctx(&j->mctx, rt);
        int shared = ms->n >= HOLD_SHARE_MIN && rt->nworkers > 1;
        if (shared)
            atomic_store(&rt->hold.joinable, 1);
        (void)migrate_chunks(j, &j->mctx);
        if (shared) {
            atomic_store(&rt->hold.joinable, 0);
            for (unsigned n = 0; atomic_load(&rt->hold.helpers) != 0; n++)
                spin_pause(n);
        }
        if (j->failed != (size_t)-1)
            rc = j->fail_rc;
    }
    if (rc == 0) {
        pthread_mutex_lock(&j->ps->mu);
        rc = switch_types(j);
        pthread_mutex_unlock(&j->ps->mu);
        if (rc != 0)
            snprintf(j->why, sizeof(j->why), "out of memory switching the types");
    }
    if (rc == 0) {
        /* switch; the old states are freed after the pause */
        for (size_t i = 0; i < ms->n; i++) {
            void *old = ms->v[i].a->state;
            ms->v[i].a->state = ms->v[i].state;
            ms->v[i].state = old;
        }
    }
    resume(rt, j->p);
    atomic_fetch_sub_explicit(&rt->swaps, 1, memory_order_relaxed);
    j->pause_us = now_us() - j->t0;
    j->rc = rc;
}

/* Claim the posted hold for this thread: 1 if claimed. */
static int hold_claim(actr_t *rt)
{
    int posted = ACTR__HOLD_POSTED;
    return atomic_compare_exchange_strong_explicit(&rt->hold.state, &posted, ACTR__HOLD_CLAIMED,
                                                   memory_order_acq_rel, memory_order_relaxed);
}

static void hold_done(actr_t *rt)
{
    pthread_mutex_lock(&rt->hold.mu);
    atomic_store_explicit(&rt->hold.state, ACTR__HOLD_DONE, memory_order_release);
    pthread_cond_signal(&rt->hold.cv);
    pthread_mutex_unlock(&rt->hold.mu);
}

void actr__swap_help(actr_t *rt)
{
    if (atomic_load_explicit(&rt->hold.state, memory_order_relaxed) == ACTR__HOLD_CLAIMED) {
        if (atomic_load_explicit(&rt->hold.joinable, memory_order_relaxed))
            hold_join(rt);
        return;
    }
    if (!hold_claim(rt))
        return;
    job_t *j = rt->hold.job;
    if (plugin_running(rt, j->p)) {
        /* not yet: the worker inside the plugin will look again when it
         * leaves; the poster, which may be waiting for the end, looks again */
        pthread_mutex_lock(&rt->hold.mu);
        atomic_store_explicit(&rt->hold.state, ACTR__HOLD_POSTED, memory_order_release);
        pthread_cond_signal(&rt->hold.cv);
        pthread_mutex_unlock(&rt->hold.mu);
        return;
    }
    hold_run(j);
    hold_done(rt);
}

/* 1 if no worker can take the hold: none runs, or every one is parked. */
static int workers_away(actr_t *rt)
{
    return rt->workers == NULL || !atomic_load_explicit(&rt->started, memory_order_acquire) ||
           atomic_load_explicit(&rt->nparked, memory_order_relaxed) >= rt->nworkers;
}

/* Phase 2 (the new version is loaded, j->p->swapping is set). Closes the
 * gate, posts the hold for the workers and waits until one of them (or, when
 * none can, this thread) has run it: doing the pause on a worker keeps the
 * CPUs to the runtime's own threads, so the swap is not preempted halfway by
 * the load it pauses. Returns 0 on commit or the error; fills j->err and
 * j->info. */
static int pause_and_migrate(job_t *j)
{
    actr_t *rt = j->rt;
    plugin_t *p = j->p;
    j->failed = (size_t)-1;
    int rc = prepare(j);
    if (rc != 0)
        return rc;
    pthread_mutex_init(&j->fail_mu, NULL);

    pthread_mutex_lock(&rt->hold.post_mu); /* one hold at a time */
    j->t0 = now_us();
    atomic_fetch_add_explicit(&rt->swaps, 1, memory_order_relaxed);
    pthread_mutex_lock(&p->hold->mu);
    p->hold->active = 1;
    pthread_mutex_unlock(&p->hold->mu);
    for (uint32_t k = 0; k < p->ntypes; k++)
        atomic_store_explicit(&p->types[k]->h.paused, 1, memory_order_seq_cst);
    rt->hold.job = j;
    atomic_store_explicit(&rt->hold.state, ACTR__HOLD_POSTED, memory_order_seq_cst);
    uint64_t deadline = j->t0 + (uint64_t)SWAP_WAIT_MS * 1000u;
    uint64_t self_after = j->t0 + HOLD_HELP_US;
    pthread_mutex_lock(&rt->hold.mu);
    while (atomic_load_explicit(&rt->hold.state, memory_order_acquire) != ACTR__HOLD_DONE) {
        uint64_t now = now_us();
        int late = now > deadline;
        /* p's type list is the claimant's alone (a commit replaces it):
         * claim before looking at it */
        if (late || now >= self_after || workers_away(rt)) {
            pthread_mutex_unlock(&rt->hold.mu);
            if (hold_claim(rt)) {
                if (!plugin_running(rt, p) || late) {
                    if (plugin_running(rt, p)) {
                        j->rc = ACTR_ETIMEDOUT;
                        snprintf(j->why, sizeof(j->why),
                                 "an actor did not reach a message boundary within %d ms",
                                 SWAP_WAIT_MS);
                    }
                    hold_run(j);
                    hold_done(rt);
                    pthread_mutex_lock(&rt->hold.mu);
                    continue;
                }
                /* a thread is still inside the plugin: it leaves at its
                 * next message boundary and, if a worker, claims it then */
                atomic_store_explicit(&rt->hold.state, ACTR__HOLD_POSTED, memory_order_release);
            }
            pthread_mutex_lock(&rt->hold.mu);
            if (atomic_load_explicit(&rt->hold.state, memory_order_acquire) == ACTR__HOLD_DONE)
                break;
        }
        /* a worker claims it at its next activation boundary; once one has,
         * nothing is left to look at until it signals the end (or hands the
         * hold back, which signals too): waking every HOLD_POLL_US meanwhile
         * would only take the CPU from the workers running it */
        uint64_t wait_us = HOLD_POLL_US;
        if (atomic_load_explicit(&rt->hold.state, memory_order_acquire) == ACTR__HOLD_CLAIMED)
            wait_us = deadline > now ? deadline - now + HOLD_POLL_US : HOLD_POLL_US;
        struct timespec ts;
        actr__deadline_us(CLOCK_MONOTONIC, wait_us, &ts);
        (void)pthread_cond_timedwait(&rt->hold.cv, &rt->hold.mu, &ts);
    }
    pthread_mutex_unlock(&rt->hold.mu);
    rt->hold.job = NULL;
    atomic_store_explicit(&rt->hold.state, ACTR__HOLD_IDLE, memory_order_release);
    pthread_mutex_unlock(&rt->hold.post_mu);

    rc = j->rc;
    pthread_mutex_destroy(&j->fail_mu);
    members_t *ms = &j->ms;
    /* the old states after a commit, the new ones after an abort (NULL for
     * the members never reached) */
    for (size_t i = 0; i < ms->n; i++)
        free(ms->v[i].state);
    for (uint32_t k = 0; k < j->npools; k++) { /* the states no member took */
        while (j->pools[k].n > 0)
            free(j->pools[k].v[--j->pools[k].n]);
        free(j->pools[k].v);
    }
    free(j->pools);

    if (j->info != NULL) {
        j->info->actors = ms->n;
        j->info->pause_us = j->pause_us;
    }
    if (rc != 0) {
        if (j->failed != (size_t)-1) {
            actr__actor_t *a = ms->v[j->failed].a;
            actr_ref_t ref =
                actr__ref_of(rt, a, atomic_load_explicit(&a->gen, memory_order_relaxed));
            char name[256];
            char named[300] = "";
            if (actr__name_of(rt, ref, name, sizeof(name)))
                snprintf(named, sizeof(named), " ('%s')", name);
            actr__fail(j->err, rc,
                       "%s of plugin '%s' %s -> %s refused: migrate failed for actor %u.%u%s of "
                       "type '%s': %s (%s)%s%s; all %zu actors stay on %s",
                       j->action, p->name, p->version, j->to->version, (unsigned)ref.slot,
                       (unsigned)ref.gen, named, ms->v[j->failed].t->name, actr_err_name(rc),
                       actr_strerror(rc), j->why[0] ? ": " : "", j->why, ms->n, p->version);
        } else {
            actr__fail(j->err, rc, "%s of plugin '%s' %s -> %s refused: %s; nothing changed",
                       j->action, p->name, p->version, j->to->version, j->why);
        }
    }
    free(ms->v);
    return rc;
}

/* Claim plugin `name` for a swap. Returns it (swapping set) or NULL with err. */
static plugin_t *claim(actr_t *rt, struct actr__plugins *ps, const char *name, const char *action,
                       int *rc, actr_error_t *err)
{
    if (ps == NULL) {
        *rc = actr__fail(err, ACTR_ENOENT, "%s: no plugin '%s' is loaded", action, name);
        return NULL;
    }
    (void)rt;
    pthread_mutex_lock(&ps->mu);
    plugin_t *p = ps->head;
    while (p != NULL && strcmp(p->name, name) != 0)
        p = p->next;
    if (p == NULL) {
        *rc = actr__fail(err, ACTR_ENOENT, "%s: no plugin '%s' is loaded", action, name);
        p = NULL;
    } else if (!p->ready || p->unloading || p->swapping) {
        *rc = actr__fail(err, ACTR_EBUSY, "%s: plugin '%s' is being loaded, swapped or unloaded",
                         action, name);
        p = NULL;
    } else {
        p->swapping = 1;
        *rc = 0;
    }
    pthread_mutex_unlock(&ps->mu);
    return p;
}

static void release(struct actr__plugins *ps, plugin_t *p)
{
    pthread_mutex_lock(&ps->mu);
    p->swapping = 0;
    pthread_mutex_unlock(&ps->mu);
}

/* Phase 1 of a swap: load `path` as a new version of p. */
static int load_version(job_t *j, const char *path, actr__pver_t **out)
{
    *out = NULL;
    actr_error_t *err = j->err;
    char *copy = NULL;
    int rc = actr__plugin_copy_file(j->rt, j->ps, path, &copy, err);
    if (rc != 0)
        return rc;
    opened_t o;
    rc = actr__plugin_open(path, copy, &o, err);
    if (rc == 0 && strcmp(o.desc->name, j->p->name) != 0)
        rc = actr__fail(err, ACTR_EINVAL, "%s holds plugin '%s', not '%s'", path, o.desc->name,
                        j->p->name);
    if (rc == 0) {
        pthread_mutex_lock(&j->ps->mu);
        rc = actr__plugin_check_types(path, &o, j->ps, j->p, err);
        pthread_mutex_unlock(&j->ps->mu);
    }
    actr__pver_t *v = NULL;
    if (rc == 0) {
        v = calloc(1, sizeof(*v));
        if (v != NULL) {
            v->dl = o.dl;
            v->desc = o.desc;
            v->tstride = o.tstride;
            v->version = actr__strdup(o.desc->version);
            v->path = actr__strdup(path);
            v->signature = actr__strdup(o.desc->signature);
            v->abi_major = o.desc->abi_major;
            v->abi_minor = o.desc->abi_minor;
            v->copy = copy;
        }
        if (v == NULL || !v->version || !v->path || !v->signature) {
            if (v != NULL) {
                v->dl = NULL; /* closed below */
                v->copy = NULL;
                actr__pver_close(v, 0);
            }
            v = NULL;
            rc = actr__fail(err, ACTR_ENOMEM, "%s: out of memory", path);
        }
    }
    if (rc == 0 && o.desc->load != NULL) {
        int hr = o.desc->load(&actr__host_api);
        if (hr != 0) {
            if (hr > 0)
                hr = ACTR_ECANCELED;
            rc = actr__fail(err, hr, "%s: load hook failed: %s (%s)", path, actr_err_name(hr),
                            actr_strerror(hr));
            v->copy = NULL;
            v->dl = NULL;
            actr__pver_close(v, 0);
            v = NULL;
        }
    }
    if (rc != 0) {
        if (o.dl != NULL)
            dlclose(o.dl);
        unlink(copy);
        free(copy);
        return rc;
    }
    *out = v;
    return 0;
}

static void fill_versions(actr_swap_info_t *info, const char *from, const char *to)
{
    if (info != NULL) {
        snprintf(info->from_version, sizeof(info->from_version), "%s", from);
        snprintf(info->to_version, sizeof(info->to_version), "%s", to);
    }
}

/* Phases 2 and the bookkeeping common to swap and rollback. Consumes j->to
 * (it becomes current, or prev, or is closed). */
static int run_swap(job_t *j)
{
    actr_t *rt = j->rt;
    plugin_t *p = j->p;
    char from[64], to[64];
    snprintf(from, sizeof(from), "%s", p->version);
    snprintf(to, sizeof(to), "%s", j->to->version);
    fill_versions(j->info, from, to);
    char *to_path = actr__strdup(j->to->path);
    /* allocated now, so that nothing can fail after the commit */
    actr__pver_t *old = calloc(1, sizeof(*old));
    int rc = 0;
    if (to_path == NULL || old == NULL)
        rc = actr__fail(j->err, ACTR_ENOMEM, "%s of plugin '%s': out of memory", j->action,
                        p->name);
    if (rc == 0)
        rc = pause_and_migrate(j);
    actr__pver_t *closing = NULL;
    if (rc == 0) {
        pthread_mutex_lock(&j->ps->mu);
        take_current(p, old);
        if (!j->rollback)
            closing = p->prev; /* two versions back: nothing runs or refers to it */
        set_current(p, j->to); /* for a rollback j->to was p->prev */
        p->prev = old;
        old = NULL;
        p->swapping = 0;
        pthread_mutex_unlock(&j->ps->mu);
    } else {
        if (!j->rollback)
            closing = j->to; /* the refused new version: its load hook ran */
        release(j->ps, p);
    }
    free(old);
    if (closing != NULL)
        actr__pver_close(closing, 1);
    uint64_t actors = j->info ? j->info->actors : 0, pause = j->info ? j->info->pause_us : 0;
    if (rc == 0)
        actr__log(rt, ACTR_LOG_INFO, ACTR_REF_NONE,
                  "plugin %s %s -> %s (%s): %llu actor%s migrated, paused %.3f ms", p->name, from,
                  to, j->action, (unsigned long long)actors, actors == 1 ? "" : "s",
                  (double)pause / 1000.0);
    else
        actr__log(rt, ACTR_LOG_WARN, ACTR_REF_NONE, "%s", j->err->msg);
    actr__plugin_event(rt, p->name, j->action, from, to, to_path, rc, rc ? j->err->msg : "",
                       actors, pause);
    free(to_path);
    return rc;
}

int actr_plugin_swap(actr_t *rt, const char *name, const char *path, actr_swap_info_t *info,
                     actr_error_t *err)
{
    actr_error_t local;
    if (err == NULL)
        err = &local;
    memset(err, 0, sizeof(*err));
    if (info != NULL)
        memset(info, 0, sizeof(*info));
    if (rt == NULL || name == NULL || path == NULL || path[0] == '\0')
        return actr__fail(err, ACTR_EINVAL, "plugin swap: no runtime, name or path");
    if (actr__on_runtime_thread(rt))
        return actr__fail(err, ACTR_ECONTEXT,
                          "plugin swap '%s': not from an actor's handler (it waits for actors)",
                          name);
    struct actr__plugins *ps = actr__plugins_peek(rt);
    int rc;
    plugin_t *p = claim(rt, ps, name, "swap", &rc, err);
    if (p == NULL) {
        if (rc == ACTR_EBUSY)
            actr__plugin_event(rt, name, "swap", "", "", path, rc, err->msg, 0, 0);
        return rc;
    }
    job_t j = {.rt = rt, .ps = ps, .p = p, .action = "swap", .info = info, .err = err};
    rc = load_version(&j, path, &j.to);
    if (rc != 0) {
        char msg[sizeof(err->msg)];
        snprintf(msg, sizeof(msg), "%s", err->msg);
        actr__fail(err, rc, "swap of plugin '%s' %s refused: %s; nothing changed", name,
                   p->version, msg);
        if (info != NULL)
            snprintf(info->from_version, sizeof(info->from_version), "%s", p->version);
        actr__log(rt, ACTR_LOG_WARN, ACTR_REF_NONE, "%s", err->msg);
        actr__plugin_event(rt, name, "swap", p->version, "", path, rc, err->msg, 0, 0);
        release(ps, p);
        return rc;
    }
    return run_swap(&j);
}

int actr_plugin_rollback(actr_t *rt, const char *name, actr_swap_info_t *info, actr_error_t *err)
{
    actr_error_t local;
    if (err == NULL)
        err = &local;
    memset(err, 0, sizeof(*err));
    if (info != NULL)
        memset(info, 0, sizeof(*info));
    if (rt == NULL || name == NULL)
        return actr__fail(err, ACTR_EINVAL, "plugin rollback: no runtime or name");
    if (actr__on_runtime_thread(rt))
        return actr__fail(err, ACTR_ECONTEXT,
                          "plugin rollback '%s': not from an actor's handler (it waits for "
                          "actors)",
                          name);
    struct actr__plugins *ps = actr__plugins_peek(rt);
    int rc;
    plugin_t *p = claim(rt, ps, name, "rollback", &rc, err);
    if (p == NULL)
        return rc;
    if (p->prev == NULL) {
        rc = actr__fail(err, ACTR_ENOENT,
                        "rollback: plugin '%s' %s has no previous version to return to", name,
                        p->version);
        release(ps, p);
        return rc;
    }
    /* the previous version's types must not clash with another plugin's now */
    opened_t o = {p->prev->dl, p->prev->desc, p->prev->tstride};
    pthread_mutex_lock(&ps->mu);
    rc = actr__plugin_check_types(p->prev->path, &o, ps, p, err);
    pthread_mutex_unlock(&ps->mu);
    if (rc != 0) {
        char msg[sizeof(err->msg)];
        snprintf(msg, sizeof(msg), "%s", err->msg);
        actr__fail(err, rc, "rollback of plugin '%s' refused: %s", name, msg);
        actr__plugin_event(rt, name, "rollback", p->version, p->prev->version, p->prev->path, rc,
                           err->msg, 0, 0);
        release(ps, p);
        return rc;
    }
    job_t j = {.rt = rt, .ps = ps, .p = p, .to = p->prev, .rollback = 1, .action = "rollback", .info = info, .err = err};
    return run_swap(&j);
}

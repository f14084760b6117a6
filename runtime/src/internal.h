/* internal.h — the runtime's one state object (struct actr) and the types and
 * actr__ prototypes shared between the files of runtime/src.
 *
 * Threads: N worker threads run actors; one I/O thread runs the libuv loop
 * (timers, wake-ups, shutdown); any number of client threads use client
 * contexts. Everything hangs off struct actr: there are no process globals.
 */
#ifndef ACTR_INTERNAL_H
#define ACTR_INTERNAL_H

#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>
#include <uv.h>

#include "actr.h"
#include "actr/loader.h"
#include "actr/plugin.h"
#include "deque.h"
#include "mailbox.h"
#include "util.h"

#define ACTR__CACHELINE 64

/* ---- messages -------------------------------------------------------------
 * The payload always follows the header in the same allocation. */
struct actr_msg {
    actr__node_t node;     /* mailbox link (must be first) */
    uint32_t type;         /* user type or ACTR_MSG_* */
    uint16_t flags;        /* ACTR__F_* */
    uint8_t cls;           /* allocation size class (msg.c) */
    uint8_t sys;           /* ACTR__SYS_*: runtime-internal kind, 0 for ordinary messages */
    uint32_t to_gen;       /* generation of the target when sent (stale check) */
    uint32_t len;          /* payload bytes */
    _Atomic uint32_t refs; /* references; the last actr_msg_free frees */
    uint32_t aux32;        /* per-kind extra (INIT: args length) */
    actr_ref_t from;       /* sender */
    uint64_t corr;         /* request id / monitor id / timer id */
    void *aux;             /* per-kind extra (INIT: behaviour) */
};

#define ACTR__MSG_DATA(m) ((uint8_t *)((m) + 1))

enum {
    ACTR__F_COUNTED = 1 << 0,  /* counted against the target's mailbox bound */
    ACTR__F_REQUEST = 1 << 1,  /* a request: corr = request id */
    ACTR__F_REPLY = 1 << 2,    /* a reply: corr = request id */
    ACTR__F_TIMER = 1 << 3,    /* from a self-targeted timer: corr = timer id */
    ACTR__F_INTERVAL = 1 << 4, /* with F_TIMER: the timer repeats */
    ACTR__F_LINK = 1 << 5,     /* INIT: link to `from` */
    ACTR__F_TRAP = 1 << 6,     /* INIT: trap exits */
    ACTR__F_MONITOR = 1 << 7,  /* INIT: `from` monitors the new actor, id in corr */
    ACTR__F_NAMED = 1 << 8,    /* INIT: payload has the name after the args */
};

enum {
    ACTR__SYS_NONE = 0, /* delivered to the handler (after filtering) */
    ACTR__SYS_INIT,     /* first message of an actor: aux = behaviour, payload = args */
    ACTR__SYS_STOP,     /* stop with reason = payload (raw bytes) */
    ACTR__SYS_MONITOR,  /* from monitors me, id in corr */
    ACTR__SYS_DEMONITOR,
    ACTR__SYS_LINK,     /* from links to me */
    ACTR__SYS_UNLINK,
    ACTR__SYS_EXIT,     /* exit signal from a linked actor: type ACTR_MSG_EXIT, payload [reason] */
};

/* ---- actors ---------------------------------------------------------------
 * Slots live in chunks that are never freed before actr_close, so a stale ref
 * always points at valid memory; the generation check makes it fail cleanly.
 * The mailbox belongs to the slot and outlives the actor in it: messages for
 * an earlier generation are recognised by msg->to_gen and answered as "noproc". */
enum { ACTR__KIND_ACTOR = 0, ACTR__KIND_CLIENT = 1 };
enum { ACTR__ST_FREE = 0, ACTR__ST_ALIVE = 1 };

typedef struct actr__ext actr__ext_t;

typedef struct actr__actor {
    /* line 1: touched by senders */
    actr__mailbox_t mb;        /* head: producers' end (see mailbox.h) */
    _Atomic uint32_t count;    /* counted messages queued */
    _Atomic uint32_t gen;      /* current generation; bumped at death */
    _Atomic uint32_t limit;    /* mailbox bound for counted messages */
    _Atomic uint8_t kind;      /* ACTR__KIND_*, fixed for the slot's lifetime */
    _Atomic(struct actr__waiter *) waiters; /* senders refused for a full mailbox */
    /* line 2: owner only (the thread that holds the actor's schedule token),
     * except kill_gen, written rarely by a killer and read at every boundary */
    alignas(ACTR__CACHELINE) _Atomic uint32_t kill_gen; /* gen to kill; 0 = none */
    _Atomic uint32_t next_free; /* free-list link (slot index + 1) */
    const actr_behavior_t *beh;
    void *state;
    actr__ext_t *ext; /* names, links, monitors, requests, timers, topics: lazily allocated */
    _Atomic uint64_t handled; /* messages delivered to the handler (read by stats) */
    _Atomic(const char *) tname; /* type name while alive (for listings); NULL when not */
    char *dead_reason; /* why generation gen-1 died (owner only; static or owned) */
    uint32_t slot;
    uint8_t status; /* ACTR__ST_* */
    uint8_t trap;
    uint8_t inited;
    uint8_t cl_wake; /* clients: a wake-up is pending (under rt->client_mu) */
} actr__actor_t;

/* two cache lines per actor: the per-actor memory budget depends on it */
_Static_assert(sizeof(actr__actor_t) == 2 * ACTR__CACHELINE, "actor slot must stay 128 bytes");

/* A sender refused with ACTR_EMAILBOX, to be told ACTR_MSG_UNBLOCKED. */
typedef struct actr__waiter {
    struct actr__waiter *next;
    actr_ref_t who;
} actr__waiter_t;

typedef struct actr__watch {
    uint64_t id;
    actr_ref_t who;
} actr__watch_t;

struct actr__ext {
    char *name;           /* registered name (owned) */
    actr__idmap_t pending; /* request ids awaiting an answer */
    actr__idmap_t timers;  /* live timers targeting self (ids) */
    actr__watch_t *watchers; /* monitors on me */
    uint32_t nwatch, capwatch;
    actr__watch_t *mons; /* monitors I hold: id -> target */
    uint32_t nmons, capmons;
    actr_ref_t *links;
    uint32_t nlinks, caplinks;
    char **topics;
    uint32_t ntopics, captopics;
    actr_msg_t *deferred_head, *deferred_tail; /* messages set aside: by a client's call,
                                                  or while an actor awaits a reply */
    uint64_t await_id; /* actors: the request whose answer comes first (actr_await) */
    actr_ref_t *blocked; /* receivers that refused me and will send UNBLOCKED */
    uint32_t nblocked, capblocked;
};

/* ---- contexts ---------------------------------------------------------------- */
typedef struct actr__worker actr__worker_t;

struct actr_ctx {
    const actr_host_api_t *api; /* first: plugins reach the runtime through it */
    actr_t *rt;
    actr__worker_t *worker; /* NULL for clients and the I/O thread */
    actr__actor_t *cur;     /* the actor running (workers) or the client's slot */
    actr_ref_t self;
    int is_client;
    int in_handler;
    unsigned sent; /* messages sent in the current activation (they use its budget) */
    int migrating; /* a swap's migrate hook runs with this context: sends are refused */
    /* workers: the plugin type whose code this activation may run (NULL when
     * none); a swap waits until no worker is inside its plugin (see actr__gate) */
    _Atomic(struct actr__ptype_head *) in_type;
    char exit_reason[ACTR_REASON_MAX + 1]; /* set by actr_exit */
    actr__msgcache_t cache;
};

/* A hint to the CPU inside a spin-wait loop. */
static inline void actr__cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* A FIFO ring of runnable actors shared by the workers, under rt->park_mu. */
typedef struct actr__ring {
    actr__actor_t **v;
    size_t head, len, cap;
    _Atomic size_t count; /* len, readable without the mutex as a hint */
} actr__ring_t;

#define ACTR__FRONT_SHARE 128 /* actors a worker takes from rt->front at a time */

struct actr__worker {
    actr_t *rt;
    unsigned index;
    pthread_t thread;
    actr__deque_t dq;
    pthread_cond_t cv; /* parks on rt->park_mu */
    int parked;        /* under rt->park_mu */
    int wake;          /* under rt->park_mu */
    uint32_t rng;
    uint64_t activations;
    actr__actor_t *next;       /* runs right after the current activation (owner only) */
    unsigned next_streak;      /* consecutive activations taken from `next` */
    _Atomic uint64_t act_pub;  /* activations, published for thieves (relaxed) */
    uint64_t *seen;            /* per victim: act_pub when we last saw it with one item */
    actr__actor_t *front[ACTR__FRONT_SHARE]; /* its share of rt->front (owner only) */
    unsigned front_i, front_n;                /* the next of them to run, and how many */
    _Atomic uint64_t handled_total; /* published copy of handled */
    uint64_t handled;
    struct actr_ctx ctx;
    alignas(ACTR__CACHELINE) char pad_;
};

/* ---- timers (timer.c) ----------------------------------------------------- */
typedef struct actr__timer actr__timer_t;
typedef struct actr__timers {
    pthread_mutex_t mu;
    actr__timer_t **cmds; /* pending commands (adds and cancels), under mu */
    size_t ncmds, capcmds;
    _Atomic uint64_t armed_due; /* due time the I/O thread sleeps towards */
    /* I/O thread only: */
    actr__timer_t **heap;
    size_t nheap, capheap;
    actr__idmap_t byid;
    uv_timer_t uvt;
} actr__timers_t;

/* ---- the runtime ---------------------------------------------------------------- */
#define ACTR__CHUNK_SHIFT 10
#define ACTR__CHUNK_SIZE (1u << ACTR__CHUNK_SHIFT)
#define ACTR__MAX_CHUNKS (1u << 16)

struct actr {
    actr_options_t opts;
    uint64_t node_id;
    unsigned nworkers;
    unsigned batch;

    /* actor table */
    _Atomic(actr__actor_t *) *chunks; /* ACTR__MAX_CHUNKS entries */
    pthread_mutex_t chunk_mu;
    _Atomic uint32_t next_slot;       /* bump allocator for never-used slots */
    _Atomic uint64_t free_head;       /* actor free list: (tag << 32) | (slot + 1) */
    pthread_mutex_t client_mu;        /* client slots + client wake-ups */
    pthread_cond_t client_cv;
    uint32_t *client_free;
    size_t nclient_free, capclient_free;

    /* scheduler */
    actr__worker_t *workers;
    pthread_mutex_t park_mu; /* parking, wake-ups, and the two queues below */
    actr__ring_t inject;     /* made runnable by threads that are not workers */
    actr__ring_t front;      /* resumed by a swap: served before any other work */
    _Atomic unsigned nparked;
    _Atomic unsigned swaps; /* plugin swaps holding actors now (idle workers park at once) */
    /* A swap's hold (swap.c), posted by the swapping thread and run by the
     * first worker to reach an activation boundary while no thread runs the
     * plugin's code (actr__swap_poll), or by the poster when no worker can. */
    struct {
        alignas(ACTR__CACHELINE) _Atomic int state; /* ACTR__HOLD_*; read by every
                                                     * activation, so on a line of its own */
        void *job;               /* the posted hold, valid until DONE */
        _Atomic int joinable;    /* its claimant shares the migration with workers */
        _Atomic int helpers;     /* workers inside the hold's migration */
        _Atomic uint64_t helped; /* chunks migrated by workers that joined (diagnostics) */
        _Atomic uint64_t relisted; /* holds that listed the members again (diagnostics) */
        pthread_mutex_t mu;      /* with cv (CLOCK_MONOTONIC): DONE is signalled */
        pthread_cond_t cv;
        pthread_mutex_t post_mu; /* one posted hold at a time */
    } hold;
    alignas(ACTR__CACHELINE) char hold_end_; /* nothing else on the hold's lines */
    _Atomic int workers_exit;

    /* lifecycle */
    uv_loop_t loop;
    uv_async_t async; /* wakes the I/O thread: stop, timers, all actors gone */
    pthread_t io_thread;
    _Atomic int started; /* actr_start/actr_run claimed the runtime */
    int io_bg;        /* the I/O loop runs on io_thread */
    _Atomic int stopping;
    _Atomic int stop_swept;
    _Atomic int stopped;
    pthread_mutex_t done_mu;
    pthread_cond_t done_cv;

    struct actr_ctx io_ctx; /* context of the I/O thread (timers, shutdown) */
    int loop_inited, async_inited, timers_inited;
    _Atomic int io_closed; /* the async handle is closed: no more wake-ups */

    /* ids (requests, monitors, timers) */
    _Atomic uint64_t next_id;

    /* names and topics */
    pthread_mutex_t names_mu;
    actr__strmap_t names; /* name -> actr_ref_t* */
    actr__idmap_t names_rev; /* (slot << 32 | gen) -> owned name copy */
    _Atomic uint64_t nnames;
    pthread_mutex_t topics_mu;
    actr__strmap_t topics; /* topic -> actr__sublist_t* */

    actr__timers_t timers;

    /* stats */
    _Atomic uint64_t live;
    _Atomic uint64_t spawned;
    _Atomic uint64_t parks, wakes, steals;

    actr__msgdepot_t depot;

    char *data_dir;      /* owned copy of opts.data_dir, or the temporary one */
    int data_dir_temp;   /* remove it at close */
    struct actr__plugins *plugins; /* loader state (plugin.c) */
    struct actr__watchers *watchers; /* plugin file watchers (watch.c); NULL when none */
    pthread_mutex_t history_mu;      /* appends to the plugin history (history.c) */
    struct actr__store *store;       /* the state store (store.c); NULL until opened */
    struct actr__cluster *cluster;   /* the cluster link layer (cluster.c); NULL until started */
    struct actr__remote *remote;     /* the cluster's message semantics (remote.c) */
};

/* ---- plugin types and the swap gate (plugin.c, swap.c) ----------------------
 * The behaviour of a plugin's actor type is the first member of a host-side
 * record; its init is the host wrapper actr__ptype_init, which is how a worker
 * recognises plugin code. While a swap of the plugin runs, `paused` is set on
 * each of its types: a worker about to run such an actor's code (a message,
 * its init, a kill) parks the actor instead (actr__swap_park), keeping its
 * schedule token, so its mailbox fills and nothing of it runs. */
typedef struct actr__ptype_head {
    actr_behavior_t beh; /* first: actors point at it */
    _Atomic int paused;
} actr__ptype_head_t;

int actr__ptype_init(actr_ctx_t *ctx, void *state, const void *args, size_t args_len);
/* Hand an actor over to the swap in progress of its type (worker; the actor's
 * schedule token goes with it). Returns 1, or 0 when the swap has just ended
 * (the caller requeues the actor). */
int actr__swap_park(actr_t *rt, actr__ptype_head_t *t, actr__actor_t *a);

/* 1 if the actor about to run code of behaviour b must be parked for a swap.
 * Dekker with the swap: publish the type (seq_cst store), then read `paused`
 * (seq_cst); the swap sets `paused`, then waits until no worker publishes
 * one of its types. */
static inline int actr__gate(actr_ctx_t *ctx, const actr_behavior_t *b)
{
    actr__ptype_head_t *t = (actr__ptype_head_t *)(void *)b;
    if (atomic_load_explicit(&ctx->in_type, memory_order_relaxed) != t)
        atomic_store_explicit(&ctx->in_type, t, memory_order_seq_cst);
    return atomic_load_explicit(&t->paused, memory_order_seq_cst);
}

/* 1 once the runtime has joined a cluster (actr_cluster_start publishes
 * rt->cluster with release; any thread may ask). */
static inline int actr__cluster_on(actr_t *rt)
{
    return __atomic_load_n(&rt->cluster, __ATOMIC_ACQUIRE) != NULL;
}

/* the function table every context carries (hostapi.c) */
extern const actr_host_api_t actr__host_api;

/* plugin.c */
void actr__plugins_free(actr_t *rt);

/* history.c: append one event to <data_dir>/plugin-history. Never fails the
 * caller: a write error is logged. */
void actr__history_add(actr_t *rt, const actr_plugin_event_t *ev);

/* watch.c: stop every watcher and join its thread (at actr_close, before the
 * runtime stops). */
void actr__watch_close(actr_t *rt);

/* store.c: drain the store's queue, commit, stop its thread and close the
 * database (at actr_close, after the last actor is gone). */
void actr__store_close(actr_t *rt);

/* tags of ext->timers entries (see timer.c: timers owned by an actor) */
#define TM_INTERVAL 1u
#define TM_SELF 2u

/* msg.c */
actr_msg_t *actr__msg_make(actr_ctx_t *ctx, uint32_t type, size_t len);
void actr__msg_unref(actr_ctx_t *ctx, actr_msg_t *m);

/* actor.c */
/* 0, or why ctx may not send now (ACTR_EINVAL, ACTR_ESTOPPED). */
int actr__check_ctx(actr_ctx_t *ctx);
actr__actor_t *actr__slot(actr_t *rt, uint32_t slot);
int actr__lookup(actr_t *rt, actr_ref_t ref, actr__actor_t **out);
int actr__deliver(actr_t *rt, actr_ctx_t *ctx, actr_ref_t to, actr_msg_t *m, int counted);
/* Deliver m (not counted against the bound) on the I/O thread; when every
 * worker is parked, run the target's activation right there instead of
 * waking one (ctx is the I/O thread's). Returns 0 or the lookup's error. */
int actr__deliver_io(actr_t *rt, actr_ctx_t *ctx, actr_ref_t to, actr_msg_t *m);
void actr__run_actor(actr_ctx_t *ctx, actr__actor_t *a);
int actr__alloc_slot(actr_t *rt, int kind, actr__actor_t **out);
void actr__release_slot(actr_t *rt, actr__actor_t *a);
/* Send ACTR_MSG_UNBLOCKED to up to `max` refused senders, longest waiting first. */
void actr__wake_waiters(actr_ctx_t *ctx, actr__actor_t *a, uint32_t gen, unsigned max);
void actr__drained(actr_ctx_t *ctx, actr__actor_t *a, uint32_t n);
void actr__drop_stale(actr_ctx_t *ctx, actr__actor_t *a, actr_msg_t *m, const char *reason);
/* Runtime notices, never refused for a full mailbox (also to other nodes). */
void actr__send_down(actr_ctx_t *ctx, actr_ref_t dead, actr_ref_t to, uint64_t id,
                     const char *reason);
void actr__send_exit(actr_ctx_t *ctx, actr_ref_t dead, actr_ref_t to, const char *reason);
void actr__send_reqfail(actr_ctx_t *ctx, actr_ref_t from, actr_ref_t to, uint64_t id, int code);
/* Register a request id of the calling actor or client whose answer will
 * come from elsewhere (as actr_request does), with a timeout (0 = none). */
int actr__pending_add(actr_ctx_t *ctx, uint32_t timeout_ms, uint64_t *id);
/* Free a slot's remembered death reason (at close). */
void actr__forget_reason(actr__actor_t *a);
int actr__filter(actr_ctx_t *ctx, actr__actor_t *a, actr_msg_t *m, char *reason, size_t cap);
actr__ext_t *actr__ext(actr__actor_t *a);
/* Append m (its reference kept) to the messages e sets aside. */
void actr__defer(actr__ext_t *e, actr_msg_t *m);
void actr__ext_free(actr_ctx_t *ctx, actr__actor_t *a, actr_ref_t self, const char *reason);
/* Free an extension record and what it owns, without notifying anyone. */
void actr__ext_destroy(actr_ctx_t *ctx, actr__ext_t *e);
void actr__table_free(actr_t *rt);
static inline actr_ref_t actr__ref_of(actr_t *rt, actr__actor_t *a, uint32_t gen)
{
    actr_ref_t r = {rt->node_id, a->slot, gen};
    return r;
}
uint64_t actr__new_id(actr_t *rt);

/* sched.c */
int actr__sched_init(actr_t *rt);
int actr__sched_start(actr_t *rt);
void actr__sched_join(actr_t *rt);
void actr__sched_free(actr_t *rt);
void actr__sched_ready(actr_t *rt, actr_ctx_t *ctx, actr__actor_t *a);
void actr__sched_requeue(actr_t *rt, actr_ctx_t *ctx, actr__actor_t *a);
/* Make n actors runnable at once, ahead of every actor already queued (a
 * swap resuming the actors it held: they have waited longest); any thread.
 * Their schedule tokens go with them. */
void actr__sched_resume(actr_t *rt, actr__actor_t *const *v, size_t n);

enum { ACTR__HOLD_IDLE, ACTR__HOLD_POSTED, ACTR__HOLD_CLAIMED, ACTR__HOLD_DONE };
/* Run the posted swap hold on this thread if no thread runs its plugin's
 * code now, or help migrate the one another thread runs (swap.c); call only
 * outside any activation. */
void actr__swap_help(actr_t *rt);
static inline void actr__swap_poll(actr_t *rt)
{
    int s = atomic_load_explicit(&rt->hold.state, memory_order_relaxed);
    if (s == ACTR__HOLD_POSTED || s == ACTR__HOLD_CLAIMED)
        actr__swap_help(rt);
}

/* client.c */
void actr__client_wake(actr_t *rt, actr__actor_t *a);

/* timer.c */
int actr__timers_init(actr_t *rt);
void actr__timers_start(actr_t *rt); /* on the I/O thread */
void actr__timers_process(actr_t *rt); /* on the I/O thread: apply commands, fire due */
void actr__timers_close(actr_t *rt);   /* on the I/O thread, at shutdown */
void actr__timers_free(actr_t *rt);
int actr__timer_add(actr_t *rt, actr_ref_t to, uint64_t id, uint32_t delay_ms, uint32_t period_ms,
                    actr_msg_t *tmpl, int req_timeout);
void actr__timer_cancel_id(actr_t *rt, uint64_t id);

/* registry.c */
int actr__names_init(actr_t *rt);
void actr__names_free(actr_t *rt);
void actr__name_drop(actr_t *rt, const char *name, actr_ref_t who);
int actr__name_claim(actr_t *rt, const char *name, actr_ref_t who);
void actr__topic_drop(actr_t *rt, const char *topic, actr_ref_t who);
/* Deliver msg (consumed) to this node's subscribers of topic, from `from`. */
int actr__publish_local(actr_ctx_t *ctx, const char *topic, actr_msg_t *msg, actr_ref_t from,
                        size_t *delivered);
/* The registered name of `who` into buf; returns 1 if it has one. */
int actr__name_of(actr_t *rt, actr_ref_t who, char *buf, size_t cap);

/* core.c */
void actr__notify_io(actr_t *rt);
void actr__actor_gone(actr_t *rt);

/* log.c (util.c) */
void actr__log(actr_t *rt, actr_log_level_t lvl, actr_ref_t who, const char *fmt, ...)
    ACTR_PRINTF(4, 5);

#endif

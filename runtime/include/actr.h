/* actr.h — the actr runtime: the umbrella header and the runtime lifecycle.
 *
 *   actr_options_t o; actr_options_init(&o);
 *   actr_t *rt; actr_open(&rt, &o);      // workers = cores by default
 *   actr_start(rt);                     // or actr_run(rt) to block this thread
 *   ... actr_client_open(rt, &c); actr_spawn(c, ...); actr_client_call(c, ...) ...
 *   actr_stop(rt); actr_wait(rt); actr_close(rt);
 *
 * All state hangs off the actr_t handle: several runtimes can live in one
 * process. Each runtime has a random node id that is part of every ref it
 * issues, so a ref of one runtime is refused by another (ACTR_ENONODE).
 */
#ifndef ACTR_H
#define ACTR_H

#include "actr/actor.h"
#include "actr/config.h"
#include "actr/control.h"
#include "actr/errno.h"
#include "actr/loader.h"
#include "actr/store.h"
#include "actr/cluster.h"
#include "actr/msg.h"
#include "actr/supervisor.h"
#include "actr/version.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Log levels. */
typedef enum actr_log_level {
    ACTR_LOG_DEBUG = 0,
    ACTR_LOG_INFO = 1,
    ACTR_LOG_WARN = 2,
    ACTR_LOG_ERROR = 3,
    ACTR_LOG_OFF = 4
} actr_log_level_t;

/** A log sink: gets one formatted line (no trailing newline) with its level and
 *  the actor it concerns (ACTR_REF_NONE for the runtime). Called from any
 *  thread, concurrently: it must be thread-safe. */
typedef void (*actr_log_fn)(void *ud, actr_log_level_t level, actr_ref_t actor, const char *line);

/** Runtime options. Initialise with actr_options_init(), then change fields. */
typedef struct actr_options {
    uint32_t size;          /* sizeof(actr_options_t); set by actr_options_init */
    unsigned workers;       /* worker threads; 0 = number of cores */
    unsigned batch;         /* max messages per actor activation (fairness); 0 = 64 */
    uint32_t mailbox_limit; /* default bound of user messages queued per actor; 0 = 16,384 */
    uint32_t max_payload;   /* largest payload accepted by actr_send; 0 = ACTR_MSG_MAX_PAYLOAD */
    unsigned spin_us;       /* how long an idle worker looks for work before parking; 0 = 50 */
    actr_log_level_t log_level; /* default ACTR_LOG_INFO */
    actr_log_fn log_fn;     /* NULL = one line per record on stderr */
    void *log_ud;
    const char *data_dir;   /* the node's data directory (plugin copies, control socket);
                               NULL = a private temporary directory removed at close */
} actr_options_t;

/** Fill *opts with the defaults. */
ACTR_EXTERN void actr_options_init(actr_options_t *opts);

/** Create a runtime. `opts` may be NULL for the defaults. No thread runs until
 *  actr_start or actr_run; actors spawned before that wait in run queues.
 *  Returns 0 and *out, ACTR_EINVAL (bad option), ACTR_ENOMEM. */
ACTR_EXTERN ACTR_NODISCARD int actr_open(actr_t **out, const actr_options_t *opts);

/** Start the workers and the runtime's I/O thread in the background and return.
 *  Returns 0, ACTR_EBUSY (already started), ACTR_ESTOPPED, or a thread error. */
ACTR_EXTERN ACTR_NODISCARD int actr_start(actr_t *rt);

/** Run in the foreground: start the workers and run the I/O loop on the calling
 *  thread until the runtime has stopped (after actr_stop from a handler, another
 *  thread or a signal handler). Returns 0 or the actr_start errors. */
ACTR_EXTERN int actr_run(actr_t *rt);

/** Ask the runtime to stop gracefully: refuse new spawns and external sends,
 *  let running handlers finish, stop every actor (its terminate runs with
 *  reason "shutdown"), then end the threads. Returns at once; use actr_wait.
 *  Safe from any thread, from handlers and from a signal handler. Idempotent. */
ACTR_EXTERN int actr_stop(actr_t *rt);

/** Wait until a runtime started with actr_start has fully stopped. Not from a
 *  handler (ACTR_ECONTEXT). Returns 0. */
ACTR_EXTERN int actr_wait(actr_t *rt);

/** Stop (if running), wait, and free the runtime and everything it holds. Client
 *  contexts must be closed first. NULL is a no-op. Not from a handler. */
ACTR_EXTERN void actr_close(actr_t *rt);

/** Free memory the library returned to the caller (e.g. actr_supervisor_args).
 *  NULL is a no-op. */
ACTR_EXTERN void actr_free(void *p);

/** This runtime's node id (the `node` of its refs). */
ACTR_EXTERN uint64_t actr_node_id(const actr_t *rt);

/** What actr_actors_list reports about one live actor. Strings are valid only
 *  during the callback. */
typedef struct actr_actor_info {
    actr_ref_t ref;
    const char *type;   /* the behaviour's name, or "?" */
    const char *name;   /* registered name, or NULL */
    uint32_t mailbox;   /* user messages queued or in hand */
    uint64_t handled;   /* messages delivered to its handler */
} actr_actor_info_t;

/** Call fn for every live actor of `rt` (a snapshot taken while running;
 *  actors may start or stop meanwhile). Returns 0. */
ACTR_EXTERN int actr_actors_list(actr_t *rt, void (*fn)(void *ud, const actr_actor_info_t *info),
                                 void *ud);

/** The runtime's data directory (actr_options_t.data_dir, or the temporary one). */
ACTR_EXTERN const char *actr_data_dir(const actr_t *rt);

/** Counters of a runtime, for tests and monitoring. */
typedef struct actr_stats {
    uint64_t actors_live;     /* actors alive now */
    uint64_t actors_spawned;  /* total spawned */
    uint64_t msgs_handled;    /* messages delivered to handlers */
    uint64_t workers;         /* worker threads */
    uint64_t workers_parked;  /* workers parked (sleeping) right now */
    uint64_t worker_parks;    /* times a worker parked */
    uint64_t worker_wakes;    /* times a parked worker was woken */
    uint64_t steals;          /* actors stolen from another worker's queue */
} actr_stats_t;
/** Fill *out with the current counters (approximate while running). */
ACTR_EXTERN void actr_stats(actr_t *rt, actr_stats_t *out);

/** The lower-case name of a log level ("debug", "info", "warn", "error", "off"). Static. */
ACTR_EXTERN const char *actr_log_level_name(actr_log_level_t level);

/** Log a line through the runtime's sink at `level`, attributed to the calling
 *  actor or client. A NULL ctx has no runtime to log to: the line is dropped. */
ACTR_EXTERN void actr_log(actr_ctx_t *ctx, actr_log_level_t level, const char *fmt, ...)
    ACTR_PRINTF(3, 4);

#ifdef __cplusplus
}
#endif

#endif

/* actr/supervisor.h — supervisors: actors that start children, watch them, and
 * restart them by a strategy, as Erlang/OTP supervisors do.
 *
 * A supervisor traps exits and links to each child. When a child dies:
 *   one_for_one   restart that child;
 *   one_for_all   stop all other children (in reverse start order), then
 *                 restart all (in start order);
 *   rest_for_one  stop the children started after it, then restart it and them.
 * A child is restarted if its restart type says so: permanent always, transient
 * only after an abnormal exit (not "normal"/"shutdown"), temporary never.
 * Restart intensity: if more than `intensity` restarts happen within
 * `period_ms`, the supervisor stops all children and exits itself with reason
 * "shutdown" (its own supervisor, or linked actors, then act on it).
 * A child is stopped with actr_actor_stop("shutdown"); if it has not exited
 * after its shutdown_ms, it is killed.
 * A child that dies within 50 ms of its start is restarted after a back-off
 * that doubles each time (1 ms up to 1 s); one that lived longer restarts at
 * once. Restarts still count towards the intensity.
 */
#ifndef ACTR_SUPERVISOR_H
#define ACTR_SUPERVISOR_H

#include "actr/actor.h"

typedef enum actr_sup_strategy {
    ACTR_ONE_FOR_ONE = 0,
    ACTR_ONE_FOR_ALL = 1,
    ACTR_REST_FOR_ONE = 2
} actr_sup_strategy_t;

typedef enum actr_restart {
    ACTR_PERMANENT = 0,
    ACTR_TRANSIENT = 1,
    ACTR_TEMPORARY = 2
} actr_restart_t;

/** One child of a supervisor. */
typedef struct actr_child_spec {
    const char *id;              /* unique among the supervisor's children (copied) */
    const actr_behavior_t *beh;  /* must outlive the supervisor */
    const void *args;            /* msgpack init args (copied); may be NULL */
    size_t args_len;
    actr_restart_t restart;
    const char *name;            /* register this name for the child (copied); may be NULL */
    uint32_t mailbox_limit;      /* 0 = default */
    uint32_t shutdown_ms;        /* grace before kill when stopping; 0 = 5000 */
} actr_child_spec_t;

/** A supervisor's specification (copied by actr_supervisor_spawn). */
typedef struct actr_sup_spec {
    actr_sup_strategy_t strategy;
    uint32_t intensity;          /* max restarts ... (0 = no restart is tolerated) */
    uint32_t period_ms;          /* ... within this window; 0 = 5000 */
    const actr_child_spec_t *children;
    size_t nchildren;
} actr_sup_spec_t;

/** Spawn a supervisor that starts `spec`'s children in order (a child whose
 *  init fails counts as a crash). `opts` as for actr_spawn (e.g. a name or a link
 *  to the caller). Returns 0 and *out, ACTR_EINVAL (bad spec: NULL beh, duplicate
 *  id, bad strategy), or the actr_spawn errors. */
ACTR_EXTERN ACTR_NODISCARD int actr_supervisor_spawn(actr_ctx_t *ctx, const actr_sup_spec_t *spec,
                                                      const actr_spawn_opts_t *opts,
                                                      actr_ref_t *out);

/** The supervisor behaviour itself, for a supervisor that is the child of
 *  another (nested trees): use it as a child spec's `beh` with init args from
 *  actr_supervisor_args. Never NULL; static. A supervisor started this way
 *  traps exits from its init on. */
ACTR_EXTERN const actr_behavior_t *actr_supervisor_behavior(void);

/** Encode `spec` as init args for actr_supervisor_behavior(): *args is newly
 *  allocated (release it with actr_free() once the child spec that uses it is no
 *  longer needed: the args are copied at each start). Returns 0, ACTR_EINVAL
 *  (bad spec, as actr_supervisor_spawn), ACTR_ENOMEM. */
ACTR_EXTERN ACTR_NODISCARD int actr_supervisor_args(const actr_sup_spec_t *spec, void **args,
                                                     size_t *args_len);

/** Request type understood by a supervisor: reply payload is an array of
 *  [id:str, ref, restarts:uint] for each child, in start order; ref is nil for a
 *  child not running. Send it with actr_request/actr_client_call, empty payload. */
#define ACTR_SUP_WHICH_CHILDREN 0xFFFE0001u

#endif

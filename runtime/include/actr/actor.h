/* actr/actor.h — actors: behaviours, spawning, messaging, failure handling,
 * names, timers and topics.
 *
 * Every call takes the caller's context `ctx`: inside a handler, the ctx the
 * handler was given; on any other thread, a client context from
 * actr_client_open(). A ctx belongs to one thread at a time. Handlers must
 * never block: I/O, timeouts and replies arrive as messages.
 *
 * Refs, not pointers: a ref to a stopped actor fails with ACTR_ENOACTOR; a ref of
 * another runtime or node fails with ACTR_ENONODE.
 */
#ifndef ACTR_ACTOR_H
#define ACTR_ACTOR_H

#include "actr/msg.h"

/** An actor behaviour: the callbacks of an actor type. It must outlive every
 *  actor spawned with it (usually a static const). */
typedef struct actr_behavior {
    uint32_t size;      /* sizeof(actr_behavior_t) at build time (lets the struct grow) */
    const char *name;   /* type name, for logs and listings; may be NULL */
    size_t state_size;  /* bytes of zeroed state the runtime allocates per actor (0 = none) */
    /** Optional. Runs on the actor's first activation with the spawn args (msgpack
     *  bytes, borrowed). Return 0, or a negative code to fail: the actor then
     *  dies with that reason (monitors and links see it). */
    int (*init)(actr_ctx_t *ctx, void *state, const void *args, size_t args_len);
    /** Required. Handles one message (borrowed). Return 0, or a negative code to
     *  crash the actor with that reason. */
    int (*receive)(actr_ctx_t *ctx, void *state, const actr_msg_t *msg);
    /** Optional. Runs once when the actor stops for any reason after a successful
     *  init, before its state is freed. `reason` is NUL-terminated. */
    void (*terminate)(actr_ctx_t *ctx, void *state, const char *reason);
} actr_behavior_t;

/** Options for actr_spawn. Zero-initialise, then set what you need. */
typedef struct actr_spawn_opts {
    uint32_t mailbox_limit; /* max user messages queued or in hand (a message counts
                               until the batch that handles it ends; an actor's sends
                               to itself never count); 0 = the runtime's default */
    int link;               /* nonzero: link the new actor to the caller atomically */
    int trap_exit;          /* nonzero: the new actor receives ACTR_MSG_EXIT instead of dying */
    const char *name;       /* register this name for the new actor atomically (copied) */
    uint64_t *monitor_id;   /* non-NULL: monitor the new actor atomically, id stored here */
} actr_spawn_opts_t;

/* Common exit reasons. "normal" does not kill linked actors. */
#define ACTR_REASON_NORMAL "normal"
#define ACTR_REASON_SHUTDOWN "shutdown"
#define ACTR_REASON_KILLED "killed"
#define ACTR_REASON_NOPROC "noproc"
#define ACTR_REASON_NOCONNECTION "noconnection"
/** Longest reason kept (longer ones are truncated). */
#define ACTR_REASON_MAX 127

/** Spawn an actor with behaviour `beh` and init args (msgpack bytes, copied;
 *  may be NULL/0). `opts` may be NULL. The actor's init runs asynchronously on a
 *  worker; messages sent to *out after this returns queue behind it.
 *  Returns 0 and *out, or ACTR_EINVAL (NULL beh or receive, bad sizes),
 *  ACTR_E2BIG (args too large), ACTR_EEXIST (opts->name taken), ACTR_ESTOPPED
 *  (the runtime is stopping), ACTR_ENOMEM. */
ACTR_EXTERN ACTR_NODISCARD int actr_spawn(actr_ctx_t *ctx, const actr_behavior_t *beh,
                                           const void *args, size_t args_len,
                                           const actr_spawn_opts_t *opts, actr_ref_t *out);

/** Ask actor `who` to stop with `reason` (NUL-terminated, copied; NULL = "shutdown").
 *  It stops after the messages already in its mailbox ahead of this request,
 *  runs terminate, and its monitors and links are notified. Asynchronous.
 *  Returns 0, ACTR_ENOACTOR, ACTR_ENONODE, ACTR_EINVAL. */
ACTR_EXTERN int actr_actor_stop(actr_ctx_t *ctx, actr_ref_t who, const char *reason);

/** Kill actor `who` with reason "killed" at its next message boundary, ahead of
 *  queued messages (terminate still runs). Returns 0, ACTR_ENOACTOR, ACTR_ENONODE. */
ACTR_EXTERN int actr_actor_kill(actr_ctx_t *ctx, actr_ref_t who);

/** From inside a handler: make the calling actor exit with `reason` (copied)
 *  once the handler returns. "normal" is a clean exit. Returns 0, or
 *  ACTR_ECONTEXT when not called from a handler. */
ACTR_EXTERN int actr_exit(actr_ctx_t *ctx, const char *reason);

/** The calling actor's (or client's) own ref. */
ACTR_EXTERN actr_ref_t actr_self(actr_ctx_t *ctx);
/** The runtime the ctx belongs to. */
ACTR_EXTERN actr_t *actr_ctx_runtime(actr_ctx_t *ctx);
/** 1 if `ref` names a live local actor right now, else 0 (a hint: it may die next). */
ACTR_EXTERN int actr_is_alive(actr_ctx_t *ctx, actr_ref_t ref);
/** Milliseconds of a monotonic clock (for intensity windows, latencies). */
ACTR_EXTERN uint64_t actr_now_ms(actr_ctx_t *ctx);

/* ---- messaging -------------------------------------------------------- */

/** Send `msg` to `to`. Consumes msg on every path. FIFO per sender-receiver pair.
 *  Returns 0, ACTR_EINVAL (NULL msg, or `to` is ACTR_REF_NONE), ACTR_ENOACTOR
 *  (stopped or never existed), ACTR_ESTOPPED (a client of a stopping runtime),
 *  ACTR_ENONODE, ACTR_EMAILBOX (the target's mailbox is full: the message was
 *  not delivered; an actor caller later receives one ACTR_MSG_UNBLOCKED from the
 *  target when it has room, and should retry then), ACTR_E2BIG (payload over
 *  the runtime's limit). */
ACTR_EXTERN int actr_send(actr_ctx_t *ctx, actr_ref_t to, actr_msg_t *msg);

/** actr_send to the actor registered as `name`. ACTR_ENOACTOR if none. */
ACTR_EXTERN int actr_send_name(actr_ctx_t *ctx, const char *name, actr_msg_t *msg);

/** Send `msg` as a request to `to`. Exactly one of these later arrives in the
 *  caller's mailbox, matched by the id stored in *req_id: the reply (a message
 *  with actr_msg_is_reply() and the same actr_msg_request_id()), or an
 *  ACTR_MSG_REQFAIL (ACTR_ETIMEDOUT after timeout_ms, or ACTR_ENOACTOR). A reply
 *  that arrives after the timeout is dropped. timeout_ms 0 means no timeout.
 *  Consumes msg. Returns 0, or the actr_send errors (then nothing arrives). */
ACTR_EXTERN int actr_request(actr_ctx_t *ctx, actr_ref_t to, actr_msg_t *msg,
                             uint32_t timeout_ms, uint64_t *req_id);

/** Answer `request` (a borrowed message with actr_msg_is_request()) with `reply`.
 *  A request the receiver never answers (it ignores it, or dies first) ends in
 *  the requester's timeout; one still queued when the receiver dies is failed
 *  at once with ACTR_MSG_REQFAIL (ACTR_ENOACTOR).
 *  The reply's type is kept. Consumes reply. Replies are never refused for a
 *  full mailbox. Returns 0, ACTR_ENOTREQ (not a request), ACTR_ENOACTOR (the
 *  requester is gone), ACTR_EINVAL. */
ACTR_EXTERN int actr_reply(actr_ctx_t *ctx, const actr_msg_t *request, actr_msg_t *reply);

/** From a handler or init: until the answer to the caller's request `req_id`
 *  (its reply, or its ACTR_MSG_REQFAIL) has been delivered, deliver no other
 *  message to the caller's handler. Messages that arrive meanwhile are set
 *  aside in order and delivered right after the answer (a selective receive
 *  for one request); stop and kill still act at once. Used to read state back
 *  in init before serving. Returns 0, ACTR_ECONTEXT (not an actor's handler),
 *  ACTR_ENOENT (no such pending request of the caller), ACTR_EBUSY (already
 *  awaiting another request). */
ACTR_EXTERN int actr_await(actr_ctx_t *ctx, uint64_t req_id);

/* ---- failure handling --------------------------------------------------- */

/** Monitor `who`: when it dies the caller gets one ACTR_MSG_DOWN with the reason
 *  (at once with "noproc" if it is already gone). *id identifies the monitor.
 *  Returns 0 or ACTR_EINVAL, ACTR_ENONODE. */
ACTR_EXTERN int actr_monitor(actr_ctx_t *ctx, actr_ref_t who, uint64_t *id);
/** Remove a monitor; no DOWN for it arrives afterwards. Returns 0 or ACTR_ENOENT. */
ACTR_EXTERN int actr_demonitor(actr_ctx_t *ctx, uint64_t id);
/** Link the caller and `who`: when either dies with a reason other than "normal"
 *  the other dies with the same reason, or receives ACTR_MSG_EXIT if it traps
 *  exits. Linking to a dead actor delivers an exit with "noproc".
 *  Actors only (clients cannot link). Returns 0, ACTR_ECONTEXT, ACTR_EINVAL, ACTR_ENONODE. */
ACTR_EXTERN int actr_link(actr_ctx_t *ctx, actr_ref_t who);
/** Remove a link in both directions. Returns 0 or ACTR_ENOENT. */
ACTR_EXTERN int actr_unlink(actr_ctx_t *ctx, actr_ref_t who);
/** Turn exit trapping on or off for the calling actor. Returns 0 or ACTR_ECONTEXT. */
ACTR_EXTERN int actr_trap_exit(actr_ctx_t *ctx, int on);

/* ---- names (unique per node) -------------------------------------------- */

/** Register `name` (copied, 1..255 bytes) for `who`, a live local actor. An actor
 *  has at most one name; the name is removed when the actor dies. Returns 0,
 *  ACTR_EEXIST (name taken by a live actor, or `who` already named),
 *  ACTR_ENOACTOR, ACTR_ENONODE (another runtime's ref), ACTR_EINVAL (bad name). */
ACTR_EXTERN int actr_register(actr_ctx_t *ctx, const char *name, actr_ref_t who);
/** Remove a name. Returns 0 or ACTR_ENOENT. */
ACTR_EXTERN int actr_unregister(actr_ctx_t *ctx, const char *name);
/** Look a name up. Returns 0 and *out, ACTR_ENOENT, or ACTR_EINVAL (a name
 *  that cannot exist: empty or over 255 bytes). */
ACTR_EXTERN int actr_whereis(actr_ctx_t *ctx, const char *name, actr_ref_t *out);
/** The name `who` (an actor of this node) is registered under, into buf (cap
 *  bytes, NUL-terminated). Returns 0, ACTR_ENOENT (it has no name), ACTR_E2BIG
 *  (buf too small), ACTR_EINVAL. */
ACTR_EXTERN int actr_name_of(actr_ctx_t *ctx, actr_ref_t who, char *buf, size_t cap);

/* ---- timers (driven by the runtime's libuv loop) ------------------------ */

/** Send `msg` to `to` after delay_ms. Consumes msg. *id (may be NULL) names the
 *  timer. A timer whose target is the calling actor itself is also cancelled by
 *  its death, and after actr_timer_cancel returns no message of it is delivered.
 *  Returns 0, ACTR_EINVAL, ACTR_ESTOPPED, ACTR_ENOMEM. */
ACTR_EXTERN int actr_timer_send_after(actr_ctx_t *ctx, actr_ref_t to, uint32_t delay_ms,
                                      actr_msg_t *msg, uint64_t *id);
/** Send a copy of `msg` to `to` every period_ms (>0) until cancelled or until the
 *  target is gone. Consumes msg. Same guarantees as actr_timer_send_after. */
ACTR_EXTERN int actr_timer_interval(actr_ctx_t *ctx, actr_ref_t to, uint32_t period_ms,
                                    actr_msg_t *msg, uint64_t *id);
/** Cancel a timer this ctx created. Returns 0 (also for a timer that already
 *  fired, as long as it is still known), or ACTR_ENOENT for an id this ctx did
 *  not create or already cancelled. Timers to other actors outlive their
 *  creator; timers to the creator itself end with it. */
ACTR_EXTERN int actr_timer_cancel(actr_ctx_t *ctx, uint64_t id);

/* ---- local publish/subscribe -------------------------------------------- */

/** Subscribe the calling actor to `topic` (copied). Idempotent. Subscriptions end
 *  when the actor dies. Returns 0, ACTR_EINVAL. */
ACTR_EXTERN int actr_subscribe(actr_ctx_t *ctx, const char *topic);
/** Unsubscribe the caller. Returns 0 or ACTR_ENOENT. */
ACTR_EXTERN int actr_unsubscribe(actr_ctx_t *ctx, const char *topic);
/** Deliver a copy of `msg` to every subscriber of `topic`. Consumes msg.
 *  *delivered (may be NULL) gets how many received it. Returns 0, or
 *  ACTR_EMAILBOX when some subscriber's mailbox was full (it did not get it). */
ACTR_EXTERN int actr_publish(actr_ctx_t *ctx, const char *topic, actr_msg_t *msg,
                             size_t *delivered);

/* ---- non-actor threads (embedders, tests, tools) ----------------------- */

/** Open a client context for the calling (non-actor) thread: it has a ref and a
 *  mailbox like an actor, and blocking receive/call. Returns 0 and *out,
 *  ACTR_ESTOPPED, ACTR_ENOMEM. Close it with actr_client_close on the same thread. */
ACTR_EXTERN ACTR_NODISCARD int actr_client_open(actr_t *rt, actr_ctx_t **out);
/** Close a client context; messages still queued for it are dropped. NULL is a no-op. */
ACTR_EXTERN void actr_client_close(actr_ctx_t *client);
/** Wait up to timeout_ms (-1 = forever, 0 = poll) for the next message sent to the
 *  client. The message is owned by the caller (actr_msg_free). Returns 0 and
 *  *out, ACTR_ETIMEDOUT, ACTR_ECONTEXT (ctx is not a client). */
ACTR_EXTERN ACTR_NODISCARD int actr_client_recv(actr_ctx_t *client, int timeout_ms,
                                                 actr_msg_t **out);
/** Send a request and wait up to timeout_ms for its reply, which is stored in
 *  *reply (owned by the caller). Other messages that arrive meanwhile stay
 *  queued for actr_client_recv. Consumes msg. Returns 0, ACTR_ETIMEDOUT, the
 *  actr_request errors, ACTR_ECONTEXT. */
ACTR_EXTERN ACTR_NODISCARD int actr_client_call(actr_ctx_t *client, actr_ref_t to,
                                                 actr_msg_t *msg, int timeout_ms,
                                                 actr_msg_t **reply);

#endif

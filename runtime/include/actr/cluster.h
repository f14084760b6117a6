/* actr/cluster.h — location-transparent messaging between nodes over TCP.
 *
 * A node joins a cluster with actr_cluster_start: it listens on an address,
 * connects to the peers it is given, and authenticates each connection by a
 * challenge-response over a shared secret (HMAC-SHA256; the secret never
 * crosses the wire). Between two nodes there is one TCP connection, opened by
 * either side (when both connect at once, the node whose name sorts first
 * decides: the first connection whose handshake it completes is kept, a later
 * one is closed before anything but the handshake crossed it), kept alive
 * with heartbeats and reopened with a
 * capped exponential backoff when it drops.
 *
 * Each start of a node has a fresh random incarnation: actr_node_id(rt). A
 * ref's `node` is the incarnation of the node its actor lives on, so refs of
 * a node that restarted are refused instead of reaching a different actor:
 * a send or request to one fails with ACTR_ENONODE, a monitor of one fires
 * DOWN "noconnection" at once, a link to one delivers an exit "noconnection"
 * (as for any node that is not connected).
 *
 * The calls of actr/actor.h work unchanged on refs of connected nodes: send
 * (FIFO per sender-receiver pair), request/reply with timeout, monitors,
 * links, exit signals, stop and kill. A send to a remote actor is
 * asynchronous: it fails at once only when the node is not connected
 * (ACTR_ENONODE) or its outbound queue is full (ACTR_EAGAIN: backpressure,
 * nothing queued). When a node is lost (its connection drops, heartbeats stop
 * or it restarts), every monitor on its actors fires ACTR_MSG_DOWN with reason
 * "noconnection", every link to them delivers an exit "noconnection", and
 * every request to them still pending fails at once with ACTR_MSG_REQFAIL
 * (ACTR_ENOTCONN).
 *
 * A message that reaches a node for an actor that is not there (it died, or
 * the ref is of an earlier incarnation of that node) is answered as a local
 * send to a dead actor is: DOWN "noproc" for a monitor, an exit "noproc" for
 * a link, ACTR_MSG_REQFAIL (ACTR_ENOACTOR) for a request; the connection
 * stays up (a peer holding stale refs is normal, not an attack). Frames that
 * are malformed, oversized or from an unauthenticated peer close the
 * connection; a message that claims to come from another node's actor, or
 * tries to spawn, is dropped with a warning naming the node.
 *
 * Timers (actr_timer_send_after) and actr_is_alive work on local refs only.
 *
 * Names: actr_send_name(ctx, "name@node", msg) sends to the actor registered
 * as `name` on node `node` (a connected node's name, or this node's); a
 * missing name there drops the message (a request fails with ACTR_ENOACTOR).
 * actr_lookup asks every connected node. Topics span the cluster:
 * actr_publish also delivers to the subscribers on every connected node.
 */
#ifndef ACTR_CLUSTER_H
#define ACTR_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

#include "actr/errno.h"
#include "actr/export.h"
#include "actr/msg.h"

typedef struct actr actr_t;

#define ACTR_CLUSTER_MIN_SECRET 16 /* bytes */
#define ACTR_NODE_NAME_MAX 64      /* bytes of a node name: [A-Za-z0-9_.-] */

typedef struct actr_cluster_options {
    uint32_t size;            /* sizeof(actr_cluster_options_t); set by actr_cluster_options_init */
    const char *node_name;    /* unique in the cluster, 1..64 of [A-Za-z0-9_.-] */
    const char *listen;       /* "HOST:PORT" to accept peers on; NULL = do not listen */
    const char *const *peers; /* "HOST:PORT" of the nodes to connect to; HOST an IPv4
                               * address, "[IPv6]" or a host name (looked up on the
                               * I/O thread before each round of connects) */
    size_t npeers;
    const void *secret;       /* the shared cluster secret, at least 16 bytes */
    size_t secret_len;
    uint32_t max_frame;       /* largest frame accepted or sent; 0 = 8 MiB */
    uint64_t max_queue;       /* bytes queued for one peer before sends fail; 0 = 64 MiB */
    uint32_t heartbeat_ms;    /* 0 = 1000 */
    uint32_t dead_after_ms;   /* no frame for this long: the node is lost; 0 = 5000 */
    uint32_t reconnect_min_ms; /* first retry after a failed connect; 0 = 100 */
    uint32_t reconnect_max_ms; /* the backoff's cap; 0 = 5000 */
} actr_cluster_options_t;

/** Fill *opts with the defaults. */
ACTR_EXTERN void actr_cluster_options_init(actr_cluster_options_t *opts);

/** Join the cluster (once per runtime; before or after actr_start, not from a
 *  handler). Binds the listen address at once, so a taken port is an error
 *  here; connections are made in the background. Returns 0, or ACTR_EINVAL
 *  (bad name, address, secret shorter than 16 bytes), ACTR_EEXIST (already
 *  started), a libuv bind error (e.g. -EADDRINUSE), ACTR_ECONTEXT,
 *  ACTR_ENOMEM; `err` (may be NULL) names the field or address. The cluster
 *  stops with the runtime. */
ACTR_EXTERN int actr_cluster_start(actr_t *rt, const actr_cluster_options_t *opts,
                                   actr_error_t *err);

/** The port the cluster listens on (useful with port 0), or 0. */
ACTR_EXTERN int actr_cluster_port(actr_t *rt);

/** This node's name in the cluster (NULL before actr_cluster_start). */
ACTR_EXTERN const char *actr_node_name(const actr_t *rt);

/** One peer, as actr_cluster_peers reports it. Strings are valid only during
 *  the callback. */
typedef struct actr_peer_info {
    const char *name;    /* its node name ("" until the handshake told it) */
    const char *addr;    /* HOST:PORT */
    const char *state;   /* "connecting", "handshake", "up", "backoff" */
    uint64_t node_id;    /* its incarnation (0 until up) */
    double rtt_ms;       /* last heartbeat round trip (0 until measured) */
    uint64_t bytes_in, bytes_out, frames_in, frames_out;
    uint64_t queue_bytes, queue_frames; /* waiting to be written */
    uint64_t connects;   /* times the connection came up */
} actr_peer_info_t;

/** Call fn for every known peer. Returns 0, ACTR_EINVAL, or ACTR_ENOENT (no cluster). */
ACTR_EXTERN int actr_cluster_peers(actr_t *rt, void (*fn)(void *ud, const actr_peer_info_t *),
                                   void *ud);

/** The name of the node that `ref` lives on (this node's own name for a local
 *  ref) into buf. Returns 0, ACTR_ENONODE (no connected node has that
 *  incarnation), ACTR_E2BIG (buf too small). */
ACTR_EXTERN int actr_node_of(actr_t *rt, actr_ref_t ref, char *buf, size_t cap);

/** Look `name` up on this node and every connected node. The answer arrives
 *  as a reply to *req_id whose payload is the ref (msgpack "r") of the first
 *  node that has it, or as ACTR_MSG_REQFAIL with ACTR_ENOACTOR when none has
 *  it (or ACTR_ETIMEDOUT after timeout_ms, 0 = 5000). Returns 0, ACTR_EINVAL,
 *  the actr_request errors. */
ACTR_EXTERN int actr_lookup(actr_ctx_t *ctx, const char *name, uint32_t timeout_ms,
                            uint64_t *req_id);

#endif

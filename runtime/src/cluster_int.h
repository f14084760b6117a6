/* cluster_int.h — what the cluster's link layer (cluster.c: connections,
 * handshake, heartbeats, outbound queues, reconnects, actr_cluster_* of
 * actr/cluster.h) and the cluster's message semantics (remote.c: routing
 * sends, remote monitors/links/requests, names, topics, node loss) offer each
 * other and the rest of the runtime.
 *
 * Threads. The link layer runs on the runtime's I/O thread (libuv loop): it
 * accepts, connects, reads, decodes and hands inbound frames to remote.c on
 * that thread. Sends come from any thread: actr__cluster_send encodes the
 * envelope into the peer's outbound queue (bounded) under the peer's lock;
 * a worker's queued frames are written when its activation ends
 * (actr__cluster_flush: one writev for everything it sent), other threads'
 * at once or by the I/O thread. Nodes are known by their incarnation (the
 * `node` of their refs) once their handshake is done.
 */
#ifndef ACTR_CLUSTER_INT_H
#define ACTR_CLUSTER_INT_H

#include "actr/cluster.h"
#include "internal.h"
#include "wire.h"

typedef struct actr__cluster actr__cluster_t; /* rt->cluster (cluster.c) */

/* ---- cluster.c (the link layer) ------------------------------------------------- */

/* Queue m's envelope and payload for node to.node (any thread; consumes m on
 * every path). kind is ACTR__FR_MSG (to: the target actor, which travels as
 * the envelope's `to`), or ACTR__FR_NAMED / ACTR__FR_PUB with name (name_len
 * bytes; to = {node, 0, 0}). Returns 0, ACTR_ENONODE (no connected node has
 * that incarnation), ACTR_EAGAIN (its outbound queue is full), ACTR_E2BIG
 * (over max_frame), ACTR_EINVAL, ACTR_ENOMEM. */
int actr__cluster_send(actr_t *rt, actr_ctx_t *ctx, actr_ref_t to, uint8_t kind, const char *name,
                       size_t name_len, actr_msg_t *m);

/* Queue a control frame (LOOKUP, FOUND) for node (any thread). Returns as
 * actr__cluster_send. */
int actr__cluster_send_ctl(actr_t *rt, actr_ctx_t *ctx, uint64_t node, const actr__frame_t *f);

/* Write what this worker's context queued during the activation that just
 * ended. Cheap when nothing was queued. */
void actr__cluster_flush(actr_ctx_t *ctx);

/* The incarnation of the connected node called name (0 and ACTR_ENONODE when
 * none is up). Any thread. */
int actr__cluster_node_by_name(actr_t *rt, const char *name, size_t len, uint64_t *node);

/* The name of connected node `node` into buf. Returns 0, ACTR_ENONODE, ACTR_E2BIG. */
int actr__cluster_name_of(actr_t *rt, uint64_t node, char *buf, size_t cap);

/* The incarnations of the nodes that are up now (at most cap). Returns how many. */
size_t actr__cluster_up_nodes(actr_t *rt, uint64_t *nodes, size_t cap);

/* On the I/O thread at each wake-up (core.c's async callback): start the
 * cluster's handles the first time, then finish the writes and closes that
 * sending threads asked for. Cheap when there is no cluster. */
void actr__cluster_io(actr_t *rt);

/* At actr_stop, on the I/O thread once the last actor is gone (and at
 * actr_close of a runtime never started): say BYE, close every handle, lose
 * every node (actr__remote_down). */
void actr__cluster_close(actr_t *rt);
/* At actr_close: free what is left. */
void actr__cluster_free(actr_t *rt);

/* ---- remote.c (the semantics), called by the link layer on the I/O thread ------- */

/* Node `node` (called name) completed its handshake and is up. */
void actr__remote_up(actr_t *rt, uint64_t node, const char *name);

/* Node `node` is lost (connection closed, heartbeats stopped, replaced by a
 * new incarnation, or the runtime stops): fire DOWN "noconnection" for the
 * monitors on its actors, exit "noconnection" to actors linked to them, and
 * fail the requests pending on them (ACTR_ENOTCONN). */
void actr__remote_down(actr_t *rt, uint64_t node);

/* An inbound MSG, NAMED, PUB, LOOKUP or FOUND frame from node `node`. The
 * frame's pointers are valid only during the call. */
void actr__remote_inbound(actr_t *rt, uint64_t node, const actr__frame_t *f);

/* ---- remote.c, called from the send path (actor.c, registry.c) ------------------ */

/* Send m to a ref of another node (any thread; consumes m). Records what a
 * node loss must answer (monitors, links, pending requests) and hands it to
 * the link layer. Returns as actr__cluster_send. */
int actr__remote_send(actr_t *rt, actr_ctx_t *ctx, actr_ref_t to, actr_msg_t *m);

/* actr_send_name for "name@node": when full names another node, send m
 * there (consumes m; *handled = 1) and return 0, ACTR_EINVAL, ACTR_ENONODE or
 * the link's errors; otherwise *handled = 0 and m is untouched. */
int actr__remote_send_named(actr_t *rt, actr_ctx_t *ctx, const char *full, actr_msg_t *m,
                            int *handled);

/* actr_publish: a copy of msg (borrowed) to every connected node. Returns 0
 * or the first error other than a node being gone. */
int actr__remote_publish(actr_t *rt, actr_ctx_t *ctx, const char *topic, const actr_msg_t *msg);

/* Node `node` answered lookup `id` (found 0: it has no such name, or it was
 * lost). Any thread. */
void actr__remote_found(actr_t *rt, actr_ctx_t *ctx, uint64_t node, uint64_t id, int found,
                        actr_ref_t ref);

/* The requester of request `id` stopped waiting for it (timed out, gave up,
 * died): forget its record, so that neither a late reply nor the loss of the
 * node it went to answers it again. Any thread; a no-op for a request that
 * never left this node. */
void actr__remote_forget_request(actr_t *rt, uint64_t id);

/* How many requests to other nodes await an answer (tests, diagnostics). */
size_t actr__remote_pending(actr_t *rt);

/* Free remote.c's tables (at actr_close). */
void actr__remote_free(actr_t *rt);

#endif

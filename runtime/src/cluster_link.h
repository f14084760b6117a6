/* cluster_link.h — the link layer's own types, shared by its files only:
 * cluster.c (connections, handshake, reading, heartbeats, reconnects),
 * cluster_start.c (the options, actr_cluster_start, freeing) and
 * cluster_out.c (outbound queues, direct writes from the sending thread,
 * writes by the I/O thread).
 *
 * (Queries and the peer listing are in cluster_query.c.)
 *
 * Memory: a connection record (conn_t) is never freed before actr_close. A
 * closed one goes back on a free list and is reused for a later connection,
 * so a pointer to it that a sender found in the table of up nodes stays
 * valid: the sender locks it and checks `up_id` before it queues anything
 * ("type-stable" records); when the check fails it looks the node up again.
 * This is what lets the send path look a node up without a cluster-wide lock.
 * A connection that is up is never replaced by another one while it works
 * (cluster.c: the tie-break happens before either is up), so the frames
 * queued on it are written in order or the node is lost.
 *
 * Statistics are kept per peer node (actr__peerstat_t, by name): each
 * connection counts its own bytes and frames under its mu, and adds them to
 * its node's record when it is freed; a listing adds the live connections'
 * counts to the record's.
 *
 * Locks: cl->mu (connection list, states, names, peer records, node
 * statistics, the table of up nodes) may be held while taking a connection's mu, never the reverse.
 * c->mu guards the outbound queue, the write state, the fd as seen by
 * writers, and the statistics. cl->kick_mu guards the kick list only.
 */
#ifndef ACTR_CLUSTER_LINK_H
#define ACTR_CLUSTER_LINK_H

#include "cluster_int.h"

#define ACTR__CL_MAX_UP 1024     /* nodes up at once (the lock-free table) */
#define ACTR__CL_MAX_PENDING 256 /* connections still in their handshake */
#define ACTR__CL_SEG 65536       /* bytes of an inline outbound segment */
#define ACTR__CL_COPY_MAX 2048   /* payloads up to this are copied, larger ones referenced */
#define ACTR__CL_RBUF 65536      /* initial read buffer */
#define ACTR__CL_DIRTY 8         /* peers one worker activation remembers */

/* One piece of an outbound queue: inline bytes (frames, frame headers, small
 * payloads) or a referenced message payload (m != NULL, data unused). */
typedef struct actr__seg {
    struct actr__seg *next;
    actr_msg_t *m;    /* referenced payload, or NULL */
    uint32_t len;     /* bytes in this piece */
    uint32_t cap;     /* inline capacity */
    uint32_t nframes; /* frames that end in this piece */
    uint8_t data[];
} actr__seg_t;

enum { C_FREE = 0, C_CONNECTING, C_HANDSHAKE, C_UP, C_CLOSING };

typedef struct actr__cfgpeer actr__cfgpeer_t;
typedef struct actr__cluster actr__cluster_t;

/* What this node counted for one peer node (by name), over all its
 * connections: those of closed connections, plus the connects (times the
 * node came up) and the last round trip. Under cl->mu; freed at actr_close.
 * Made only for a node whose proof verified, so their number is bounded by
 * the nodes that hold the secret. */
typedef struct actr__peerstat {
    struct actr__peerstat *next;
    char name[ACTR_NODE_NAME_MAX + 1];
    uint64_t connects;
    uint64_t bytes_out, frames_out, bytes_in, frames_in; /* of closed connections */
    double rtt_ms;
} actr__peerstat_t;

typedef struct actr__conn {
    /* ---- under mu: touched by every sending thread */
    pthread_mutex_t mu;
    actr__seg_t *qhead, *qtail; /* waiting, oldest first */
    uint32_t qoff;              /* bytes of qhead already written */
    actr__seg_t *whead;         /* handed to uv_write (inflight) */
    actr__seg_t *spare;         /* one empty inline segment kept for reuse */
    uint64_t qbytes, qframes;   /* waiting + in flight */
    uint64_t wbytes, wframes;   /* in flight */
    int inflight;               /* a uv_write runs: no direct writes */
    int fd;                     /* the socket for direct writes; -1 when none */
    int broken;                 /* a direct write failed: the I/O thread closes it */
    uint64_t bytes_out, frames_out, bytes_in, frames_in; /* this connection's */
    /* node id while this connection carries an up node; written under mu by
     * the I/O thread, read without mu by senders scanning the up table
     * (acquire/release: a sender that sees it rechecks under mu) */
    _Atomic uint64_t up_id;
    /* ---- under cl->kick_mu */
    int kicked;
    struct actr__conn *kick_next;
    /* ---- I/O thread only (read under cl->mu by listings) */
    actr__cluster_t *cl;
    struct actr__conn *all_next, *free_next;
    int state;             /* C_*, changed under cl->mu */
    int outgoing;          /* we opened it */
    int dup_loser;         /* closed by the tie-break: not a node loss */
    int authed;            /* handshake: both proofs good, waiting for the leader's first frame */
    int upslot;            /* index in cl->up while up, else -1 */
    actr__cfgpeer_t *peer; /* the configured address it was opened for */
    actr__peerstat_t *ps;  /* its node's statistics once its proof verified (cl->mu) */
    uv_tcp_t tcp;
    uv_connect_t creq;
    uv_write_t wreq;
    uv_buf_t *wbufs;
    size_t capwbufs;
    char addr[80]; /* the peer's HOST:PORT */
    char name[ACTR_NODE_NAME_MAX + 1];
    uint64_t peer_id;
    uint8_t my_nonce[ACTR__WIRE_NONCE], peer_nonce[ACTR__WIRE_NONCE];
    int got_hello;
    uint32_t proto;
    uint8_t *rbuf;
    size_t rlen, rcap;
    uint64_t t_open, last_rx, last_ping; /* ms */
    uint64_t t_hello_ns; /* when our HELLO was queued (a first round-trip estimate) */
    uint64_t ping_seq;
} actr__conn_t;

/* A configured peer address: connected, and reconnected with backoff. A
 * peer given by host name is looked up again before each round of attempts
 * (uv_getaddrinfo on the I/O thread), its addresses tried in turn. */
struct actr__cfgpeer {
    char addr[80];
    struct sockaddr_storage sa;
    actr__cluster_t *cl;
    char host[64];             /* the name to look up, "" for an address given as such */
    char port[8];
    int resolving;             /* a lookup is under way (I/O thread) */
    uv_getaddrinfo_t gai;
    struct addrinfo *ai;       /* the last lookup's answer */
    struct addrinfo *ai_next;  /* the next of its addresses to try (NULL: look up again) */
    actr__conn_t *c;                   /* its connection, or NULL */
    char name[ACTR_NODE_NAME_MAX + 1]; /* learned from its HELLO ("" until then) */
    uint32_t backoff_ms;
    uint64_t retry_at; /* ms */
};

/* What one worker's activation queued (cl->dirty[worker index]). */
typedef struct actr__dirty {
    actr__conn_t *c[ACTR__CL_DIRTY];
    unsigned n;
    char pad[64];
} actr__dirty_t;

struct actr__cluster {
    actr_t *rt;
    /* options (copied) */
    char name[ACTR_NODE_NAME_MAX + 1];
    size_t name_len;
    uint8_t *secret;
    size_t secret_len;
    uint32_t max_frame, heartbeat_ms, dead_after_ms, reconnect_min_ms, reconnect_max_ms;
    uint64_t max_queue;
    char listen_addr[80];
    int listen_fd; /* bound synchronously; handed to libuv on the I/O thread */
    int port;
    actr__cfgpeer_t *peers;
    size_t npeers;

    pthread_mutex_t mu;
    actr__conn_t *all;                           /* every record ever made (under mu) */
    actr__conn_t *free;                          /* closed records for reuse (I/O thread) */
    actr__peerstat_t *stats;                     /* per peer node (under mu) */
    size_t npending;                             /* connections in their handshake (I/O thread) */
    _Atomic(actr__conn_t *) up[ACTR__CL_MAX_UP]; /* slots of up connections */
    _Atomic unsigned up_hw;                      /* slots in use are below this */

    pthread_mutex_t kick_mu;
    actr__conn_t *kicks; /* connections the I/O thread must write or close */

    actr__dirty_t *dirty; /* per worker */
    unsigned ndirty;

    /* I/O thread only */
    int io_started, closed;
    uv_tcp_t listener;
    int listener_open;
    uv_timer_t tick;
    int tick_open;
    uint32_t tick_ms;
    uint32_t rng;
};

static inline actr__cluster_t *actr__cl(const actr_t *rt)
{
    /* acquire: pairs with the release that published the started cluster */
    return __atomic_load_n(&rt->cluster, __ATOMIC_ACQUIRE);
}

/* cluster_out.c */
/* Queue a whole control frame on c (any thread; c->mu NOT held); node != 0:
 * only while c carries that node. */
int actr__conn_send_ctl(actr__cluster_t *cl, actr__conn_t *c, actr_ctx_t *ctx,
                        const actr__frame_t *f, uint64_t node);
/* Write what c has queued now if nothing is in flight (c->mu held). Returns
 * 1 if bytes remain that the I/O thread must write, 0 if all were written,
 * or a negative error (the connection is broken). */
int actr__conn_write_now(actr__conn_t *c, actr_ctx_t *ctx);
/* Ask the I/O thread to finish c's writes, or to close it when broken. */
void actr__conn_kick(actr__cluster_t *cl, actr__conn_t *c);
/* I/O thread: serve the kick list. */
void actr__cluster_kicks(actr__cluster_t *cl);
/* I/O thread: start a uv_write of everything queued (c->mu held; nothing in flight). */
void actr__conn_uv_write(actr__conn_t *c);
/* Free every queued segment, releasing referenced messages (c->mu held). */
void actr__conn_drop_queue(actr__conn_t *c, actr_ctx_t *ctx);
/* Free the spare segment (c->mu held). */
void actr__conn_free_spare(actr__conn_t *c);

/* cluster_start.c: 1 if s (n bytes) is a valid node name. */
int actr__cl_valid_name(const char *s, size_t n);
/* cluster_start.c: "HOST:PORT" (IPv6 in brackets) of sa into buf. */
void actr__cl_addr_str(const struct sockaddr_storage *sa, char *buf, size_t cap);

/* cluster.c: the connection that carries the node called name (other than
 * `except`), or NULL (cl->mu held, or the I/O thread). */
actr__conn_t *actr__cl_up_by_name(actr__cluster_t *cl, const char *name,
                                  const actr__conn_t *except);

/* cluster.c: a connection failed (I/O thread). */
void actr__conn_lost(actr__conn_t *c, actr_log_level_t lvl, const char *fmt, ...) ACTR_PRINTF(3, 4);

#endif

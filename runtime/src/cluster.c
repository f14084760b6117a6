/* cluster.c — the cluster's link layer: the listener, one TCP connection per
 * pair of nodes, the handshake (wire.h), reading and dispatching frames,
 * heartbeats, reconnects with backoff. actr_cluster_start (the options, the
 * listening socket) is in cluster_start.c, the outbound queues and writes
 * in cluster_out.c, the queries and the peer listing in cluster_query.c
 * (actr_lookup is remote.c's); the records and locks are described in
 * cluster_link.h.
 *
 * Threads. actr_cluster_start runs on the caller's thread: it validates the
 * options and binds the listening socket at once (a taken port is its
 * error); everything else runs on the runtime's I/O thread, started from
 * actr__cluster_io at the loop's next wake-up (at actr_start when the
 * cluster was started before it).
 *
 * A connection is "handshake" until both proofs are checked; only then is
 * its node up (actr__remote_up) and may frames other than HELLO and AUTH
 * pass. Anything wrong on a connection (a decode error, a frame out of
 * place, a wrong proof, silence longer than dead_after_ms) closes it with
 * one log line naming the peer's address; a node that was up is then lost
 * (actr__remote_down).
 *
 * One connection per pair. Both sides may connect at once (each lists the
 * other, or a retry overlaps a connection under way), so which connection
 * carries the pair is decided by one side only, the "leader": the node whose
 * name sorts first. When the leader has checked the follower's proof, it
 * makes that connection the pair's if no other one carries the node on its
 * side, and its first frame after the handshake (a PING) tells the
 * follower; otherwise it closes the newcomer (BYE "duplicate connection"),
 * on which nothing but the handshake went. The follower's connection is up
 * only once that first frame came. So a connection that is up is never
 * replaced while it works, and the two sides always keep the same one: no
 * frame is queued on a connection that the other side drops. A node that
 * comes back with another incarnation replaces the old one: down(old), then
 * up(new).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster_link.h"

#define BYE_SHUTDOWN "shutdown"
#define BYE_DUP "duplicate connection"
#define BYE_REPLACED "replaced by a new incarnation"

static void on_closed(uv_handle_t *h);
static void conn_close(actr__conn_t *c, const char *bye);

/* ---- connection records ------------------------------------------------------------ */

static uint32_t rnd(actr__cluster_t *cl)
{
    uint32_t x = cl->rng;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return cl->rng = x;
}

static actr__conn_t *conn_get(actr__cluster_t *cl)
{
    actr__conn_t *c = cl->free;
    if (c != NULL) {
        cl->free = c->free_next;
    } else {
        c = calloc(1, sizeof(*c));
        if (c == NULL)
            return NULL;
        pthread_mutex_init(&c->mu, NULL);
        c->fd = -1;
        c->cl = cl;
        pthread_mutex_lock(&cl->mu);
        c->all_next = cl->all;
        cl->all = c;
        pthread_mutex_unlock(&cl->mu);
    }
    /* reset what a previous connection left (mu-guarded fields under mu) */
    pthread_mutex_lock(&c->mu);
    c->fd = -1;
    c->broken = 0;
    c->qoff = 0;
    c->bytes_out = c->frames_out = c->bytes_in = c->frames_in = 0;
    pthread_mutex_unlock(&c->mu);
    c->free_next = NULL;
    c->outgoing = c->dup_loser = c->got_hello = c->authed = 0;
    c->upslot = -1;
    c->peer = NULL;
    c->addr[0] = c->name[0] = '\0';
    c->peer_id = 0;
    c->proto = 0;
    c->rlen = 0;
    c->t_open = c->last_rx = c->last_ping = actr__now_ms();
    c->t_hello_ns = 0;
    c->ping_seq = 0;
    c->tcp.data = c;
    return c;
}

static void set_state(actr__conn_t *c, int st)
{
    pthread_mutex_lock(&c->cl->mu);
    c->state = st;
    pthread_mutex_unlock(&c->cl->mu);
}

static const char *who(const actr__conn_t *c, char *buf, size_t cap)
{
    if (c->name[0])
        snprintf(buf, cap, "%s (node %s)", c->addr, c->name);
    else
        snprintf(buf, cap, "%s", c->addr);
    return buf;
}

static void schedule_retry(actr__cluster_t *cl, actr__cfgpeer_t *p)
{
    uint32_t d = p->backoff_ms;
    p->retry_at = actr__now_ms() + d + rnd(cl) % (d / 4 + 1);
    uint64_t nd = (uint64_t)d * 2;
    p->backoff_ms = nd > cl->reconnect_max_ms ? cl->reconnect_max_ms : (uint32_t)nd;
}

/* Close c (I/O thread). bye: say BYE with this reason first (NULL: send
 * nothing more). A node carried by c is lost. */
static void conn_close(actr__conn_t *c, const char *bye)
{
    actr__cluster_t *cl = c->cl;
    actr_t *rt = cl->rt;
    if (c->state == C_CLOSING || c->state == C_FREE)
        return;
    int was_up = c->state == C_UP && c->upslot >= 0;
    int was_connecting = c->state == C_CONNECTING;
    uint64_t id = c->peer_id;
    if (bye != NULL && c->state != C_CONNECTING) {
        actr__frame_t f;
        memset(&f, 0, sizeof(f));
        f.kind = ACTR__FR_BYE;
        f.name = bye;
        f.name_len = strlen(bye);
        (void)actr__conn_send_ctl(cl, c, &rt->io_ctx, &f, 0);
    }
    pthread_mutex_lock(&cl->mu);
    if (!c->outgoing && c->state == C_HANDSHAKE)
        cl->npending--;
    c->state = C_CLOSING;
    if (c->upslot >= 0) {
        /* release: pairs with the senders' acquire scan */
        atomic_store_explicit(&cl->up[c->upslot], NULL, memory_order_release);
        c->upslot = -1;
    }
    pthread_mutex_lock(&c->mu);
    atomic_store_explicit(&c->up_id, 0, memory_order_release);
    c->fd = -1;
    c->broken = 1; /* senders that still hold c refuse */
    pthread_mutex_unlock(&c->mu);
    if (c->peer != NULL)
        c->peer->c = NULL;
    pthread_mutex_unlock(&cl->mu);
    if (c->peer != NULL) {
        schedule_retry(cl, c->peer);
        if (was_connecting && c->peer->ai_next != NULL)
            c->peer->retry_at = 0; /* the name has more addresses: the next one at once */
    }
    if (!uv_is_closing((uv_handle_t *)&c->tcp))
        uv_close((uv_handle_t *)&c->tcp, on_closed);
    if (was_up)
        actr__remote_down(rt, id);
}

void actr__conn_lost(actr__conn_t *c, actr_log_level_t lvl, const char *fmt, ...)
{
    if (c->state == C_CLOSING || c->state == C_FREE)
        return;
    char why[256], w[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    actr__log(c->cl->rt, lvl, ACTR_REF_NONE, "cluster: peer %s: %s%s", who(c, w, sizeof(w)), why,
              c->state == C_UP ? "; node lost" : "");
    conn_close(c, NULL);
}

static void on_closed(uv_handle_t *h)
{
    actr__conn_t *c = h->data;
    actr__cluster_t *cl = c->cl;
    /* its counts go to its node's record (after the write callbacks, which
     * libuv runs before this one) */
    pthread_mutex_lock(&cl->mu);
    pthread_mutex_lock(&c->mu);
    actr__conn_drop_queue(c, &cl->rt->io_ctx);
    if (c->ps != NULL) {
        c->ps->bytes_in += c->bytes_in;
        c->ps->bytes_out += c->bytes_out;
        c->ps->frames_in += c->frames_in;
        c->ps->frames_out += c->frames_out;
    }
    c->bytes_in = c->bytes_out = c->frames_in = c->frames_out = 0;
    pthread_mutex_unlock(&c->mu);
    c->ps = NULL;
    pthread_mutex_unlock(&cl->mu);
    if (c->rcap > ACTR__CL_RBUF) {
        free(c->rbuf);
        c->rbuf = NULL;
        c->rcap = 0;
    }
    c->rlen = 0;
    set_state(c, C_FREE);
    c->free_next = cl->free;
    cl->free = c;
}

/* ---- handshake --------------------------------------------------------------------- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void start_handshake(actr__conn_t *c)
{
    actr__cluster_t *cl = c->cl;
    actr_t *rt = cl->rt;
    int fd = -1;
    uv_os_fd_t ofd;
    if (uv_fileno((uv_handle_t *)&c->tcp, &ofd) == 0)
        fd = ofd;
    uv_tcp_nodelay(&c->tcp, 1);
    pthread_mutex_lock(&cl->mu);
    if (!c->outgoing)
        cl->npending++;
    c->state = C_HANDSHAKE;
    pthread_mutex_lock(&c->mu);
    c->fd = fd;
    pthread_mutex_unlock(&c->mu);
    pthread_mutex_unlock(&cl->mu);
    c->t_open = c->last_rx = actr__now_ms();
    c->t_hello_ns = actr__now_ns();
    int rc = actr__wire_nonce(c->my_nonce);
    if (rc == 0)
        rc = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    if (rc == 0) {
        actr__frame_t f;
        memset(&f, 0, sizeof(f));
        f.kind = ACTR__FR_HELLO;
        f.proto_min = ACTR__WIRE_PROTO_MIN;
        f.proto_max = ACTR__WIRE_PROTO_MAX;
        f.name = cl->name;
        f.name_len = cl->name_len;
        f.node_id = rt->node_id;
        memcpy(f.nonce, c->my_nonce, sizeof(f.nonce));
        rc = actr__conn_send_ctl(cl, c, &rt->io_ctx, &f, 0);
    }
    if (rc != 0)
        actr__conn_lost(c, ACTR_LOG_WARN, "handshake could not start: %s", actr_strerror(rc));
}

static int on_hello(actr__conn_t *c, const actr__frame_t *f)
{
    actr__cluster_t *cl = c->cl;
    actr_t *rt = cl->rt;
    if (c->got_hello) {
        actr__conn_lost(c, ACTR_LOG_WARN, "refused: a second HELLO");
        return -1;
    }
    if (!actr__cl_valid_name(f->name, f->name_len)) {
        actr__conn_lost(c, ACTR_LOG_WARN, "refused: invalid node name in HELLO");
        return -1;
    }
    char name[ACTR_NODE_NAME_MAX + 1];
    memcpy(name, f->name, f->name_len);
    name[f->name_len] = '\0';
    if (strcmp(name, cl->name) == 0) {
        actr__conn_lost(c, ACTR_LOG_WARN, "refused: it has our own node name '%s'", name);
        return -1;
    }
    uint32_t lo = f->proto_min > ACTR__WIRE_PROTO_MIN ? f->proto_min : ACTR__WIRE_PROTO_MIN;
    uint32_t hi = f->proto_max < ACTR__WIRE_PROTO_MAX ? f->proto_max : ACTR__WIRE_PROTO_MAX;
    if (lo > hi || f->proto_min > f->proto_max) {
        actr__conn_lost(c, ACTR_LOG_WARN,
                        "refused: no common protocol version (ours %u..%u, theirs %u..%u)",
                        ACTR__WIRE_PROTO_MIN, ACTR__WIRE_PROTO_MAX, f->proto_min, f->proto_max);
        return -1;
    }
    if (f->node_id == 0) {
        actr__conn_lost(c, ACTR_LOG_WARN, "refused: node id 0 in HELLO");
        return -1;
    }
    pthread_mutex_lock(&cl->mu);
    memcpy(c->name, name, f->name_len + 1);
    if (c->peer != NULL)
        memcpy(c->peer->name, name, f->name_len + 1);
    pthread_mutex_unlock(&cl->mu);
    c->peer_id = f->node_id;
    memcpy(c->peer_nonce, f->nonce, sizeof(c->peer_nonce));
    c->proto = hi;
    c->got_hello = 1;
    actr__frame_t a;
    memset(&a, 0, sizeof(a));
    a.kind = ACTR__FR_AUTH;
    a.proto = hi;
    int rc = actr__wire_auth_mac(cl->secret, cl->secret_len, cl->name, rt->node_id, c->my_nonce,
                                 c->name, c->peer_id, c->peer_nonce, a.mac);
    if (rc == 0)
        rc = actr__conn_send_ctl(cl, c, &rt->io_ctx, &a, 0);
    explicit_bzero(a.mac, sizeof(a.mac));
    if (rc != 0) {
        actr__conn_lost(c, ACTR_LOG_WARN, "handshake failed: %s", actr_strerror(rc));
        return -1;
    }
    return 0;
}

actr__conn_t *actr__cl_up_by_name(actr__cluster_t *cl, const char *name, const actr__conn_t *except)
{
    for (actr__conn_t *e = cl->all; e != NULL; e = e->all_next)
        if (e != except && e->state == C_UP && e->upslot >= 0 && strcmp(e->name, name) == 0)
            return e;
    return NULL;
}

/* The statistics record of node `name`, made on first use (cl->mu held). */
static actr__peerstat_t *peerstat(actr__cluster_t *cl, const char *name)
{
    for (actr__peerstat_t *s = cl->stats; s != NULL; s = s->next)
        if (strcmp(s->name, name) == 0)
            return s;
    actr__peerstat_t *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    snprintf(s->name, sizeof(s->name), "%s", name);
    s->next = cl->stats;
    cl->stats = s;
    return s;
}

/* c's node is up over c (both proofs good, the tie-break kept c, and no
 * other connection carries that node). Returns -1 if c was closed. */
static int publish_up(actr__conn_t *c)
{
    actr__cluster_t *cl = c->cl;
    actr_t *rt = cl->rt;
    pthread_mutex_lock(&cl->mu);
    int slot = -1;
    /* relaxed: the slots are written only by this thread, under cl->mu */
    for (int i = 0; i < ACTR__CL_MAX_UP; i++)
        if (atomic_load_explicit(&cl->up[i], memory_order_relaxed) == NULL) {
            slot = i;
            break;
        }
    if (slot < 0) {
        pthread_mutex_unlock(&cl->mu);
        actr__conn_lost(c, ACTR_LOG_WARN, "refused: %d nodes are up already", ACTR__CL_MAX_UP);
        return -1;
    }
    if (!c->outgoing)
        cl->npending--;
    c->state = C_UP;
    c->upslot = slot;
    if (c->ps != NULL)
        c->ps->connects++;
    /* the node is reached: every address configured for it retries fast
     * when it is lost (the connection kept may be another one's) */
    for (size_t i = 0; i < cl->npeers; i++)
        if (&cl->peers[i] == c->peer || strcmp(cl->peers[i].name, c->name) == 0)
            cl->peers[i].backoff_ms = cl->reconnect_min_ms;
    /* up_id before the slot, so a sender that finds c in the table sees it
     * (release: pairs with the acquire load of up_id in find_up) */
    pthread_mutex_lock(&c->mu);
    atomic_store_explicit(&c->up_id, c->peer_id, memory_order_release);
    pthread_mutex_unlock(&c->mu);
    /* release: pairs with the senders' acquire scan of the table (find_up) */
    atomic_store_explicit(&cl->up[slot], c, memory_order_release);
    /* relaxed load: up_hw is written only here, on this thread, under cl->mu;
     * release store: pairs with the acquire load of up_hw in find_up */
    if ((unsigned)slot >= atomic_load_explicit(&cl->up_hw, memory_order_relaxed))
        atomic_store_explicit(&cl->up_hw, (unsigned)slot + 1, memory_order_release);
    pthread_mutex_unlock(&cl->mu);
    c->last_rx = c->last_ping = actr__now_ms();
    actr__log(rt, ACTR_LOG_INFO, ACTR_REF_NONE,
              "cluster: peer %s: node %s up (incarnation %016llx)", c->addr, c->name,
              (unsigned long long)c->peer_id);
    actr__remote_up(rt, c->peer_id, c->name);
    return 0;
}

/* Queue a PING on c (the leader's commit, and the first round trip). */
static int send_ping(actr__conn_t *c)
{
    actr__frame_t f;
    memset(&f, 0, sizeof(f));
    f.kind = ACTR__FR_PING;
    f.seq = ++c->ping_seq;
    f.t_us = actr__now_ns() / 1000;
    c->last_ping = actr__now_ms();
    return actr__conn_send_ctl(c->cl, c, &c->cl->rt->io_ctx, &f, 0);
}

/* An older incarnation of c's node is still up over e: it restarted. */
static void replace_incarnation(actr__conn_t *c, actr__conn_t *e)
{
    actr__log(c->cl->rt, ACTR_LOG_INFO, ACTR_REF_NONE,
              "cluster: node %s restarted (incarnation %016llx replaces %016llx)", c->name,
              (unsigned long long)c->peer_id, (unsigned long long)e->peer_id);
    conn_close(e, BYE_REPLACED); /* down(old) here, up(new) after */
}

/* The leader (the side whose node name sorts first) has both proofs of c:
 * it alone decides which connection carries the pair. A node already up on
 * another connection keeps it: c, the newcomer, is closed on both sides
 * (nothing but the handshake went over it). Otherwise c goes up, and its
 * first frame after the handshake, a PING queued before any message can
 * be, tells the follower so. Returns -1 if c was closed. */
static int leader_up(actr__conn_t *c)
{
    actr__cluster_t *cl = c->cl;
    char w[160];
    actr__conn_t *e = actr__cl_up_by_name(cl, c->name, c);
    if (e != NULL && e->peer_id == c->peer_id) {
        actr__log(cl->rt, ACTR_LOG_DEBUG, ACTR_REF_NONE,
                  "cluster: peer %s: node %s is up over %s already; closing this second "
                  "connection",
                  who(c, w, sizeof(w)), c->name, e->addr);
        c->dup_loser = 1;
        conn_close(c, BYE_DUP);
        return -1;
    }
    if (e != NULL)
        replace_incarnation(c, e);
    int rc = send_ping(c);
    if (rc != 0) {
        actr__conn_lost(c, ACTR_LOG_WARN, "handshake failed: %s", actr_strerror(rc));
        return -1;
    }
    return publish_up(c);
}

/* The follower's connection c was authenticated and the leader's first frame
 * after the handshake came: the leader made c the pair's connection. If
 * another connection still carries the same incarnation here, the leader
 * has closed that one already (it makes a new connection the pair's only
 * when none is up on its side), so what was sent on it may be lost: the node
 * is lost over it, then up over c. Returns -1 if c was closed. */
static int follower_up(actr__conn_t *c)
{
    actr__cluster_t *cl = c->cl;
    actr__conn_t *e = actr__cl_up_by_name(cl, c->name, c);
    if (e != NULL && e->peer_id == c->peer_id)
        actr__conn_lost(e, ACTR_LOG_WARN, "the peer moved to its connection from %s", c->addr);
    else if (e != NULL)
        replace_incarnation(c, e);
    if (publish_up(c) < 0)
        return -1;
    (void)send_ping(c); /* a round trip measured from this side too */
    return 0;
}

static int on_auth(actr__conn_t *c, const actr__frame_t *f)
{
    actr__cluster_t *cl = c->cl;
    if (!c->got_hello) {
        actr__conn_lost(c, ACTR_LOG_WARN, "refused: AUTH before HELLO");
        return -1;
    }
    if (c->authed) {
        actr__conn_lost(c, ACTR_LOG_WARN, "refused: a second AUTH");
        return -1;
    }
    uint8_t want[ACTR__WIRE_MAC];
    int rc = actr__wire_auth_mac(cl->secret, cl->secret_len, c->name, c->peer_id, c->peer_nonce,
                                 cl->name, cl->rt->node_id, c->my_nonce, want);
    int ok = rc == 0 && f->proto == c->proto && actr__wire_mac_equal(want, f->mac);
    explicit_bzero(want, sizeof(want));
    if (!ok) {
        char w[160];
        actr__log(cl->rt, ACTR_LOG_WARN, ACTR_REF_NONE,
                  "cluster: peer %s: authentication failed (wrong cluster secret?)",
                  rc != 0 ? who(c, w, sizeof(w)) : c->addr);
        conn_close(c, NULL);
        return -1;
    }
    /* the peer holds the secret: its node gets a statistics record, and the
     * handshake's round trip (our HELLO out, its AUTH back) a first estimate */
    double rtt = (double)(actr__now_ns() - c->t_hello_ns) / 1e6;
    pthread_mutex_lock(&cl->mu);
    c->ps = peerstat(cl, c->name);
    if (c->ps != NULL)
        c->ps->rtt_ms = rtt;
    pthread_mutex_unlock(&cl->mu);
    c->authed = 1;
    if (strcmp(cl->name, c->name) < 0)
        return leader_up(c);
    return 0; /* the follower waits for the leader's first frame */
}

/* ---- reading ----------------------------------------------------------------------- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    actr__conn_t *c = h->data;
    if (c->rbuf == NULL) {
        c->rbuf = malloc(ACTR__CL_RBUF);
        c->rcap = c->rbuf ? ACTR__CL_RBUF : 0;
    }
    *buf = uv_buf_init((char *)c->rbuf + c->rlen, (unsigned)(c->rcap - c->rlen));
}

static int handle(actr__conn_t *c, const actr__frame_t *f)
{
    actr__cluster_t *cl = c->cl;
    actr_t *rt = cl->rt;
    if (c->state == C_HANDSHAKE) {
        if (f->kind == ACTR__FR_HELLO)
            return on_hello(c, f);
        if (f->kind == ACTR__FR_AUTH)
            return on_auth(c, f);
        if (!c->authed || f->kind == ACTR__FR_BYE) {
            if (f->kind != ACTR__FR_BYE) {
                actr__conn_lost(c, ACTR_LOG_WARN, "refused: frame of kind %u before the handshake",
                                f->kind);
                return -1;
            }
        } else if (follower_up(c) < 0) {
            return -1; /* the leader's first frame after the handshake */
        }
    }
    switch (f->kind) {
    case ACTR__FR_MSG:
    case ACTR__FR_NAMED:
    case ACTR__FR_PUB:
    case ACTR__FR_LOOKUP:
    case ACTR__FR_FOUND:
        actr__remote_inbound(rt, c->peer_id, f);
        return c->state == C_UP ? 0 : -1;
    case ACTR__FR_PING: {
        actr__frame_t p;
        memset(&p, 0, sizeof(p));
        p.kind = ACTR__FR_PONG;
        p.seq = f->seq;
        p.t_us = f->t_us;
        (void)actr__conn_send_ctl(cl, c, &rt->io_ctx, &p, 0);
        return 0;
    }
    case ACTR__FR_PONG: {
        uint64_t now = actr__now_ns() / 1000;
        if (f->t_us <= now && c->ps != NULL) {
            pthread_mutex_lock(&cl->mu);
            c->ps->rtt_ms = (double)(now - f->t_us) / 1000.0;
            pthread_mutex_unlock(&cl->mu);
        }
        return 0;
    }
    case ACTR__FR_BYE: {
        char w[160];
        /* a duplicate closed by the leader's tie-break is no news */
        int dup = c->state != C_UP && f->name_len == strlen(BYE_DUP) &&
                  memcmp(f->name, BYE_DUP, f->name_len) == 0;
        actr__log(rt, c->dup_loser || dup ? ACTR_LOG_DEBUG : ACTR_LOG_INFO, ACTR_REF_NONE,
                  "cluster: peer %s: closed by the peer (%.*s)", who(c, w, sizeof(w)),
                  (int)(f->name_len > 100 ? 100 : f->name_len), f->name ? f->name : "");
        conn_close(c, NULL);
        return -1;
    }
    default:
        actr__conn_lost(c, ACTR_LOG_WARN, "refused: frame of kind %u after the handshake", f->kind);
        return -1;
    }
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    actr__conn_t *c = s->data;
    actr__cluster_t *cl = c->cl;
    if (nread < 0) {
        if (nread == UV_EOF && c->rlen > 0)
            actr__conn_lost(c, ACTR_LOG_WARN,
                            "frame cut short: the connection closed after %zu byte%s of it",
                            c->rlen, c->rlen == 1 ? "" : "s");
        else if (nread == UV_EOF)
            actr__conn_lost(c, c->state == C_UP ? ACTR_LOG_WARN : ACTR_LOG_INFO,
                            "connection closed");
        else if (c->rlen > 0)
            actr__conn_lost(c, ACTR_LOG_WARN,
                            "read failed: %s (a frame cut short after %zu byte%s)",
                            uv_strerror((int)nread), c->rlen, c->rlen == 1 ? "" : "s");
        else
            actr__conn_lost(c, ACTR_LOG_WARN, "read failed: %s", uv_strerror((int)nread));
        return;
    }
    if (nread == 0)
        return;
    c->rlen += (size_t)nread;
    size_t off = 0, need = 0;
    uint64_t frames = 0;
    char why[160];
    while (off < c->rlen) {
        actr__frame_t f;
        size_t used = 0;
        why[0] = '\0';
        int rc = actr__wire_decode(c->rbuf + off, c->rlen - off, cl->max_frame, &f, &used, why,
                                   sizeof(why));
        if (rc == ACTR_EAGAIN) {
            need = used;
            break;
        }
        if (rc != 0) {
            actr__conn_lost(c, ACTR_LOG_WARN, "%s: %s",
                            rc == ACTR_E2BIG ? "frame length refused" : "bad frame",
                            why[0] ? why : actr_strerror(rc));
            return;
        }
        off += used;
        if (frames++ == 0)
            c->last_rx = actr__now_ms(); /* once per read: the clock is not free */
        if (handle(c, &f) < 0)
            break;
    }
    pthread_mutex_lock(&c->mu);
    c->bytes_in += (uint64_t)nread;
    c->frames_in += frames;
    pthread_mutex_unlock(&c->mu);
    if (c->state == C_CLOSING)
        return;
    if (off > 0) {
        memmove(c->rbuf, c->rbuf + off, c->rlen - off);
        c->rlen -= off;
    }
    if (need > c->rcap) {
        /* need is bounded by the decoder: max_frame plus the prefix */
        uint8_t *nb = realloc(c->rbuf, need);
        if (nb == NULL) {
            actr__conn_lost(c, ACTR_LOG_WARN, "no memory for a frame of %zu bytes", need);
            return;
        }
        c->rbuf = nb;
        c->rcap = need;
    } else if (c->rlen == 0 && c->rcap > 4 * ACTR__CL_RBUF) {
        free(c->rbuf); /* back to the usual size after a big frame */
        c->rbuf = NULL;
        c->rcap = 0;
    }
}

/* ---- connecting and accepting ------------------------------------------------------ */

static void on_connect(uv_connect_t *req, int status)
{
    actr__conn_t *c = req->data;
    if (c->state != C_CONNECTING)
        return; /* closed meanwhile */
    if (status != 0) {
        actr__cfgpeer_t *p = c->peer;
        int first = p != NULL && p->backoff_ms == c->cl->reconnect_min_ms;
        char to[INET6_ADDRSTRLEN + 16] = "";
        if (p != NULL && p->host[0] != '\0') { /* say which of the name's addresses */
            char a[INET6_ADDRSTRLEN + 8];
            actr__cl_addr_str(&p->sa, a, sizeof(a));
            snprintf(to, sizeof(to), " (%s)", a);
        }
        actr__log(c->cl->rt, first ? ACTR_LOG_INFO : ACTR_LOG_DEBUG, ACTR_REF_NONE,
                  "cluster: peer %s%s: connect failed: %s", c->addr, to, uv_strerror(status));
        conn_close(c, NULL);
        return;
    }
    if (c->peer != NULL)
        c->peer->ai_next = NULL; /* the next round looks the name up again */
    start_handshake(c);
}

static void connect_peer(actr__cluster_t *cl, actr__cfgpeer_t *p);

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    actr__cfgpeer_t *p = req->data;
    actr__cluster_t *cl = p->cl;
    p->resolving = 0;
    if (cl->closed) {
        uv_freeaddrinfo(res);
        return;
    }
    struct addrinfo *first = NULL;
    for (struct addrinfo *ai = status == 0 ? res : NULL; ai != NULL && first == NULL;
         ai = ai->ai_next)
        if (ai->ai_family == AF_INET || ai->ai_family == AF_INET6)
            first = ai;
    if (first == NULL) {
        int once = p->backoff_ms == cl->reconnect_min_ms;
        actr__log(cl->rt, once ? ACTR_LOG_WARN : ACTR_LOG_DEBUG, ACTR_REF_NONE,
                  "cluster: peer %s: cannot resolve '%s': %s", p->addr, p->host,
                  status != 0 ? uv_strerror(status) : "no IPv4 or IPv6 address");
        if (res != NULL)
            uv_freeaddrinfo(res);
        schedule_retry(cl, p);
        return;
    }
    if (p->ai != NULL)
        uv_freeaddrinfo(p->ai);
    p->ai = res;
    p->ai_next = first;
    connect_peer(cl, p);
}

/* For a peer given by name: its next address into p->sa, or 0 when a
 * lookup was started instead (on_resolved connects when it answers). */
static int next_address(actr__cluster_t *cl, actr__cfgpeer_t *p)
{
    while (p->ai_next != NULL) {
        struct addrinfo *ai = p->ai_next;
        p->ai_next = ai->ai_next;
        if ((ai->ai_family == AF_INET || ai->ai_family == AF_INET6) &&
            ai->ai_addrlen <= sizeof(p->sa)) {
            memset(&p->sa, 0, sizeof(p->sa));
            memcpy(&p->sa, ai->ai_addr, ai->ai_addrlen);
            return 1;
        }
    }
    struct addrinfo hints;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    p->gai.data = p;
    int rc = uv_getaddrinfo(&cl->rt->loop, &p->gai, on_resolved, p->host, p->port, &hints);
    if (rc != 0) {
        actr__log(cl->rt, ACTR_LOG_WARN, ACTR_REF_NONE, "cluster: peer %s: cannot resolve '%s': %s",
                  p->addr, p->host, uv_strerror(rc));
        schedule_retry(cl, p);
        return 0;
    }
    p->resolving = 1;
    return 0;
}

static void connect_peer(actr__cluster_t *cl, actr__cfgpeer_t *p)
{
    if (p->host[0] != '\0' && !next_address(cl, p))
        return;
    actr__conn_t *c = conn_get(cl);
    if (c == NULL) {
        schedule_retry(cl, p);
        return;
    }
    int rc = uv_tcp_init(&cl->rt->loop, &c->tcp);
    if (rc != 0) {
        c->free_next = cl->free;
        cl->free = c;
        schedule_retry(cl, p);
        return;
    }
    c->outgoing = 1;
    c->peer = p;
    snprintf(c->addr, sizeof(c->addr), "%s", p->addr);
    pthread_mutex_lock(&cl->mu);
    p->c = c; /* read by listings */
    c->state = C_CONNECTING;
    pthread_mutex_unlock(&cl->mu);
    c->creq.data = c;
    rc = uv_tcp_connect(&c->creq, &c->tcp, (const struct sockaddr *)&p->sa, on_connect);
    if (rc != 0) {
        actr__log(cl->rt, ACTR_LOG_DEBUG, ACTR_REF_NONE, "cluster: peer %s: connect failed: %s",
                  c->addr, uv_strerror(rc));
        conn_close(c, NULL);
    }
}

static void on_connection(uv_stream_t *server, int status)
{
    actr__cluster_t *cl = server->data;
    if (status != 0 || cl->closed) {
        if (status != 0)
            actr__log(cl->rt, ACTR_LOG_WARN, ACTR_REF_NONE, "cluster: accept failed: %s",
                      uv_strerror(status));
        return;
    }
    actr__conn_t *c = conn_get(cl);
    if (c == NULL || uv_tcp_init(&cl->rt->loop, &c->tcp) != 0) {
        if (c != NULL) {
            c->free_next = cl->free;
            cl->free = c;
        }
        /* take the connection off the backlog anyway, and drop it */
        uv_tcp_t *t = malloc(sizeof(*t));
        if (t != NULL && uv_tcp_init(&cl->rt->loop, t) == 0) {
            (void)uv_accept(server, (uv_stream_t *)t);
            uv_close((uv_handle_t *)t, (uv_close_cb)free);
        } else {
            free(t);
        }
        return;
    }
    int arc = uv_accept(server, (uv_stream_t *)&c->tcp);
    struct sockaddr_storage sa;
    int len = sizeof(sa);
    if (arc == 0 && uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&sa, &len) == 0)
        actr__cl_addr_str(&sa, c->addr, sizeof(c->addr));
    else
        snprintf(c->addr, sizeof(c->addr), "?");
    set_state(c, C_CONNECTING); /* listings see it from here: addr is set */
    if (arc != 0) {
        conn_close(c, NULL);
        return;
    }
    if (cl->npending >= ACTR__CL_MAX_PENDING) {
        actr__log(cl->rt, ACTR_LOG_WARN, ACTR_REF_NONE,
                  "cluster: peer %s: refused: %d connections are in their handshake", c->addr,
                  ACTR__CL_MAX_PENDING);
        conn_close(c, NULL);
        return;
    }
    start_handshake(c);
}

/* ---- timers: heartbeats, timeouts, reconnects --------------------------------------- */

static void on_tick(uv_timer_t *t)
{
    actr__cluster_t *cl = t->data;
    actr_t *rt = cl->rt;
    uint64_t now = actr__now_ms();
    for (actr__conn_t *c = cl->all; c != NULL; c = c->all_next) {
        switch (c->state) {
        case C_CONNECTING:
        case C_HANDSHAKE:
            if (now - c->t_open > cl->dead_after_ms)
                actr__conn_lost(c, ACTR_LOG_WARN, "%s timed out after %u ms",
                                c->state == C_CONNECTING ? "connect" : "handshake",
                                cl->dead_after_ms);
            break;
        case C_UP:
            if (now - c->last_rx > cl->dead_after_ms) {
                actr__conn_lost(c, ACTR_LOG_WARN, "no frame for %u ms", cl->dead_after_ms);
            } else if (now - c->last_ping >= cl->heartbeat_ms) {
                actr__frame_t f;
                memset(&f, 0, sizeof(f));
                f.kind = ACTR__FR_PING;
                f.seq = ++c->ping_seq;
                f.t_us = actr__now_ns() / 1000;
                c->last_ping = now;
                (void)actr__conn_send_ctl(cl, c, &rt->io_ctx, &f, 0);
            }
            break;
        default:
            break;
        }
    }
    for (size_t i = 0; i < cl->npeers; i++) {
        actr__cfgpeer_t *p = &cl->peers[i];
        if (p->c != NULL || p->resolving || now < p->retry_at)
            continue;
        if (p->name[0] != '\0' && actr__cl_up_by_name(cl, p->name, NULL) != NULL)
            continue; /* connected the other way */
        connect_peer(cl, p);
    }
}

/* ---- the I/O thread's entry points ------------------------------------------------- */

void actr__cluster_io(actr_t *rt)
{
    actr__cluster_t *cl = actr__cl(rt);
    if (cl == NULL || cl->closed)
        return;
    if (!cl->io_started) {
        cl->io_started = 1;
        if (uv_timer_init(&rt->loop, &cl->tick) == 0) {
            cl->tick_open = 1;
            cl->tick.data = cl;
            uv_timer_start(&cl->tick, on_tick, cl->tick_ms, cl->tick_ms);
        }
        if (cl->listen_fd >= 0) {
            int rc = uv_tcp_init(&rt->loop, &cl->listener);
            if (rc == 0) {
                cl->listener_open = 1;
                cl->listener.data = cl;
                rc = uv_tcp_open(&cl->listener, cl->listen_fd);
                if (rc == 0)
                    cl->listen_fd = -1; /* libuv owns it now */
                if (rc == 0)
                    rc = uv_listen((uv_stream_t *)&cl->listener, 128, on_connection);
            }
            if (rc != 0)
                actr__log(rt, ACTR_LOG_ERROR, ACTR_REF_NONE, "cluster: listen %s: %s",
                          cl->listen_addr, uv_strerror(rc));
        }
        for (size_t i = 0; i < cl->npeers; i++)
            connect_peer(cl, &cl->peers[i]);
    }
    actr__cluster_kicks(cl);
}

void actr__cluster_close(actr_t *rt)
{
    actr__cluster_t *cl = actr__cl(rt);
    if (cl == NULL || cl->closed)
        return;
    cl->closed = 1;
    if (!cl->io_started)
        return; /* nothing of it reached the loop; the socket goes at free */
    if (cl->tick_open)
        uv_close((uv_handle_t *)&cl->tick, NULL);
    if (cl->listener_open)
        uv_close((uv_handle_t *)&cl->listener, NULL);
    for (actr__conn_t *c = cl->all; c != NULL; c = c->all_next)
        if (c->state != C_FREE && c->state != C_CLOSING)
            conn_close(c, c->state == C_CONNECTING ? NULL : BYE_SHUTDOWN);
    /* a lookup not yet running is dropped; one running ends on its own (the
     * loop waits for it, and on_resolved sees `closed`) */
    for (size_t i = 0; i < cl->npeers; i++)
        if (cl->peers[i].resolving)
            (void)uv_cancel((uv_req_t *)&cl->peers[i].gai);
}

/* tests/unit/test-cluster.c — the cluster's link layer (suite `cluster`).
 *
 * Several runtimes in one process (no globals: each actr_t is a node), on
 * 127.0.0.1 with ports from binding port 0: the handshake (both sides up,
 * names and incarnations right), the option checks of actr_cluster_start, a
 * wrong secret (refused on both sides, the log line names the address), bad
 * input from a raw TCP client (random bytes, an oversized length, a frame
 * before the handshake, a truncated frame then silence: each connection
 * closed while the real peer stays up), reconnecting to a node that comes
 * back with a new incarnation (lost, then up with the new id), a second
 * incarnation replacing the first while the first is still connected,
 * simultaneous connects ending with one connection, the bounded outbound
 * queue (ACTR_EAGAIN against a peer that completed the handshake by hand and
 * never reads), and a request/reply between actors on two nodes.
 *
 * Duplicate connections while messages stream both ways: two nodes that
 * list each other, restarted again and again (a refused first connect and
 * its retry overlap the connection the other side opened), and a second
 * connection that completes the handshake with the identity of a node that
 * is up; in both, every message sent is received once, in order, and no
 * send fails with ACTR_ENONODE while both nodes are up. Per-node statistics
 * survive reconnects and restarts; a frame cut short by the peer's close is
 * a warning that says so.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <unistd.h>

#include "actr.h"
#include "actr/cluster.h"
#include "cluster_int.h"
#include "task.h"
#include "wire.h"

#define SECRET "0123456789abcdef-cluster-test"
#define WAIT_MS 10000
#define DNS_WAIT_MS 60000 /* a lookup may wait for its resolver's timeouts */

/* ---- nodes with captured logs -------------------------------------------------------- */

typedef struct tnode {
    actr_t *rt;
    pthread_mutex_t mu;
    char log[256 * 1024];
    size_t loglen;
} tnode_t;

/* Each line is kept as "[LEVEL] line". */
static void log_fn(void *ud, actr_log_level_t level, actr_ref_t actor, const char *line)
{
    (void)actor;
    tnode_t *n = ud;
    char lv[16];
    int ll = snprintf(lv, sizeof(lv), "[%s] ",
                      level == ACTR_LOG_ERROR  ? "error"
                      : level == ACTR_LOG_WARN ? "warn"
                      : level == ACTR_LOG_INFO ? "info"
                                               : "debug");
    pthread_mutex_lock(&n->mu);
    size_t l = strlen(line);
    if (n->loglen + (size_t)ll + l + 2 < sizeof(n->log)) {
        memcpy(n->log + n->loglen, lv, (size_t)ll);
        n->loglen += (size_t)ll;
        memcpy(n->log + n->loglen, line, l);
        n->loglen += l;
        n->log[n->loglen++] = '\n';
        n->log[n->loglen] = '\0';
    }
    pthread_mutex_unlock(&n->mu);
}

static int logged(tnode_t *n, const char *s)
{
    pthread_mutex_lock(&n->mu);
    int r = strstr(n->log, s) != NULL;
    pthread_mutex_unlock(&n->mu);
    return r;
}

/* How many times s occurs in the log. */
static int times_logged(tnode_t *n, const char *s)
{
    pthread_mutex_lock(&n->mu);
    int k = 0;
    for (const char *p = strstr(n->log, s); p != NULL; p = strstr(p + 1, s))
        k++;
    pthread_mutex_unlock(&n->mu);
    return k;
}

/* Offset of the first occurrence of s in the log, or -1. */
static long log_pos(tnode_t *n, const char *s)
{
    pthread_mutex_lock(&n->mu);
    const char *p = strstr(n->log, s);
    long r = p ? (long)(p - n->log) : -1;
    pthread_mutex_unlock(&n->mu);
    return r;
}

typedef struct topts {
    const char *secret;
    const char *listen;
    const char *peers[4];
    size_t npeers;
    uint32_t dead_after_ms, heartbeat_ms;
    uint64_t max_queue;
    int no_start; /* actr_start after actr_cluster_start instead of before */
} topts_t;

static void node_open(tnode_t *n, const char *name, const topts_t *t)
{
    memset(n, 0, sizeof(*n));
    pthread_mutex_init(&n->mu, NULL);
    actr_options_t o;
    actr_options_init(&o);
    o.workers = 2;
    o.log_level = ACTR_LOG_DEBUG;
    o.log_fn = log_fn;
    o.log_ud = n;
    ASSERT_OK(actr_open(&n->rt, &o));
    if (!t->no_start)
        ASSERT_OK(actr_start(n->rt));
    actr_cluster_options_t co;
    actr_cluster_options_init(&co);
    co.node_name = name;
    co.listen = t->listen ? t->listen : "127.0.0.1:0";
    co.peers = t->peers;
    co.npeers = t->npeers;
    co.secret = t->secret ? t->secret : SECRET;
    co.secret_len = strlen(co.secret);
    co.heartbeat_ms = t->heartbeat_ms ? t->heartbeat_ms : 50;
    co.dead_after_ms = t->dead_after_ms ? t->dead_after_ms : 2000;
    co.reconnect_min_ms = 20;
    co.reconnect_max_ms = 200;
    co.max_queue = t->max_queue;
    actr_error_t err;
    int rc = actr_cluster_start(n->rt, &co, &err);
    if (rc != 0)
        TEST_FAIL_("actr_cluster_start(%s): %s", name, err.msg);
    if (t->no_start)
        ASSERT_OK(actr_start(n->rt));
}

static void node_close(tnode_t *n)
{
    actr_close(n->rt);
    n->rt = NULL;
    pthread_mutex_destroy(&n->mu);
}

/* ---- peer listings ------------------------------------------------------------------- */

typedef struct prow {
    char name[80], addr[80], state[16];
    uint64_t node_id, frames_in, frames_out, bytes_in, bytes_out, queue_bytes, connects;
    double rtt_ms;
} prow_t;

typedef struct plist {
    prow_t rows[16];
    size_t n;
} plist_t;

static void collect(void *ud, const actr_peer_info_t *p)
{
    plist_t *l = ud;
    if (l->n >= 16)
        return;
    prow_t *r = &l->rows[l->n++];
    snprintf(r->name, sizeof(r->name), "%s", p->name);
    snprintf(r->addr, sizeof(r->addr), "%s", p->addr);
    snprintf(r->state, sizeof(r->state), "%s", p->state);
    r->node_id = p->node_id;
    r->frames_in = p->frames_in;
    r->frames_out = p->frames_out;
    r->bytes_in = p->bytes_in;
    r->bytes_out = p->bytes_out;
    r->rtt_ms = p->rtt_ms;
    r->queue_bytes = p->queue_bytes;
    r->connects = p->connects;
}

static plist_t peers_of(tnode_t *n)
{
    plist_t l;
    memset(&l, 0, sizeof(l));
    ASSERT_OK(actr_cluster_peers(n->rt, collect, &l));
    return l;
}

/* The row of node `name` in state "up", or NULL (copied into *out). */
static int up_row(tnode_t *n, const char *name, prow_t *out)
{
    plist_t l = peers_of(n);
    for (size_t i = 0; i < l.n; i++)
        if (strcmp(l.rows[i].name, name) == 0 && strcmp(l.rows[i].state, "up") == 0) {
            if (out)
                *out = l.rows[i];
            return 1;
        }
    return 0;
}

static int nup(tnode_t *n)
{
    plist_t l = peers_of(n);
    int k = 0;
    for (size_t i = 0; i < l.n; i++)
        k += strcmp(l.rows[i].state, "up") == 0;
    return k;
}

static uint64_t frames_in_from(tnode_t *n, const char *name)
{
    prow_t r;
    return up_row(n, name, &r) ? r.frames_in : 0;
}

static const char *addr_of(tnode_t *n, char *buf, size_t cap)
{
    snprintf(buf, cap, "127.0.0.1:%d", actr_cluster_port(n->rt));
    return buf;
}

/* Open a as "alpha" (options ta, or the defaults when NULL), then b as
 * "beta" with alpha as its peer, and wait until each sees the other up. */
static void pair_up(tnode_t *a, const topts_t *ta, tnode_t *b)
{
    topts_t none = {0};
    node_open(a, "alpha", ta != NULL ? ta : &none);
    char addr[64];
    topts_t tb = {.peers = {addr_of(a, addr, sizeof(addr))}, .npeers = 1};
    node_open(b, "beta", &tb);
    ASSERT_EVENTUALLY(up_row(a, "beta", NULL) && up_row(b, "alpha", NULL), WAIT_MS);
}

/* ---- a raw TCP peer ------------------------------------------------------------------- */

static int raw_connect(int port, int rcvbuf)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT(fd >= 0);
    if (rcvbuf > 0)
        ASSERT_OK(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)));
    struct timeval tv = {0, 100 * 1000};
    ASSERT_OK(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_OK(connect(fd, (struct sockaddr *)&sa, sizeof(sa)));
    return fd;
}

static int raw_local_port(int fd)
{
    struct sockaddr_in sa;
    socklen_t l = sizeof(sa);
    ASSERT_OK(getsockname(fd, (struct sockaddr *)&sa, &l));
    return ntohs(sa.sin_port);
}

static void raw_send(int fd, const void *p, size_t n)
{
    ASSERT_EQ(send(fd, p, n, MSG_NOSIGNAL), (ssize_t)n);
}

/* 1 when the node closed the connection within ms (whatever it sent before
 * is read and dropped). */
static int raw_closed(int fd, unsigned ms)
{
    uint64_t dl = test_now_ms() + ms;
    char buf[4096];
    while (test_now_ms() < dl) {
        ssize_t r = recv(fd, buf, sizeof(buf), 0);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
            return 1;
    }
    return 0;
}

typedef struct rawbuf {
    uint8_t b[65536];
    size_t len, last; /* last: bytes of the frame returned before */
} rawbuf_t;

/* Read the next frame into *f (pointers into rb, valid until the next call). */
static void raw_frame(int fd, rawbuf_t *rb, actr__frame_t *f)
{
    memmove(rb->b, rb->b + rb->last, rb->len - rb->last);
    rb->len -= rb->last;
    rb->last = 0;
    uint64_t dl = test_now_ms() + WAIT_MS;
    for (;;) {
        size_t used = 0;
        int rc = actr__wire_decode(rb->b, rb->len, 1 << 20, f, &used, NULL, 0);
        if (rc == 0) {
            rb->last = used;
            return;
        }
        ASSERT_EQ(rc, ACTR_EAGAIN);
        ASSERT(test_now_ms() < dl);
        ssize_t r = recv(fd, rb->b + rb->len, sizeof(rb->b) - rb->len, 0);
        if (r == 0)
            TEST_FAIL_("raw peer: connection closed during the handshake");
        if (r > 0)
            rb->len += (size_t)r;
    }
}

/* Complete the handshake as node `name` (incarnation id) with the node at
 * fd, reading through rb (what follows the node's AUTH stays in it).
 * Returns the node's incarnation. */
static uint64_t raw_handshake_rb(int fd, rawbuf_t *rb, const char *secret, const char *name,
                                 uint64_t id, const char *node_name)
{
    uint8_t buf[ACTR__WIRE_CTL_MAX];
    actr__frame_t h;
    memset(&h, 0, sizeof(h));
    h.kind = ACTR__FR_HELLO;
    h.proto_min = ACTR__WIRE_PROTO_MIN;
    h.proto_max = ACTR__WIRE_PROTO_MAX;
    h.name = name;
    h.name_len = strlen(name);
    h.node_id = id;
    ASSERT_OK(actr__wire_nonce(h.nonce));
    uint8_t my_nonce[ACTR__WIRE_NONCE];
    memcpy(my_nonce, h.nonce, sizeof(my_nonce));
    size_t n = actr__wire_ctl(buf, sizeof(buf), &h);
    ASSERT(n > 0);
    raw_send(fd, buf, n);
    actr__frame_t f;
    raw_frame(fd, rb, &f);
    ASSERT_EQ(f.kind, ACTR__FR_HELLO);
    ASSERT_MEM_STR(f.name, f.name_len, node_name);
    uint64_t their = f.node_id;
    uint8_t their_nonce[ACTR__WIRE_NONCE];
    memcpy(their_nonce, f.nonce, sizeof(their_nonce));
    actr__frame_t a;
    memset(&a, 0, sizeof(a));
    a.kind = ACTR__FR_AUTH;
    a.proto = ACTR__WIRE_PROTO_MAX;
    ASSERT_OK(actr__wire_auth_mac(secret, strlen(secret), name, id, my_nonce, node_name, their,
                                  their_nonce, a.mac));
    n = actr__wire_ctl(buf, sizeof(buf), &a);
    raw_send(fd, buf, n);
    raw_frame(fd, rb, &f);
    ASSERT_EQ(f.kind, ACTR__FR_AUTH);
    uint8_t want[ACTR__WIRE_MAC];
    ASSERT_OK(actr__wire_auth_mac(secret, strlen(secret), node_name, their, their_nonce, name, id,
                                  my_nonce, want));
    ASSERT(actr__wire_mac_equal(want, f.mac));
    return their;
}

static uint64_t raw_handshake(int fd, const char *secret, const char *name, uint64_t id,
                              const char *node_name)
{
    rawbuf_t *rb = calloc(1, sizeof(*rb));
    uint64_t their = raw_handshake_rb(fd, rb, secret, name, id, node_name);
    free(rb);
    return their;
}

/* ---- tests ----------------------------------------------------------------------------- */

TEST_IMPL(cluster, handshake)
{
    tnode_t *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
    topts_t ta = {0};
    node_open(a, "alpha", &ta);
    char addr[64];
    topts_t tb = {.peers = {addr_of(a, addr, sizeof(addr))}, .npeers = 1, .no_start = 1};
    node_open(b, "beta", &tb); /* cluster started before actr_start */
    ASSERT_STR_EQ(actr_node_name(a->rt), "alpha");
    ASSERT_EVENTUALLY(up_row(a, "beta", NULL) && up_row(b, "alpha", NULL), WAIT_MS);
    prow_t ra, rb;
    ASSERT(up_row(a, "beta", &ra));
    ASSERT(up_row(b, "alpha", &rb));
    ASSERT_EQ(ra.node_id, actr_node_id(b->rt));
    ASSERT_EQ(rb.node_id, actr_node_id(a->rt));
    ASSERT_STR_EQ(rb.addr, addr);
    ASSERT_EQ(rb.connects, 1);
    /* heartbeats flow both ways */
    ASSERT_EVENTUALLY(frames_in_from(a, "beta") > 3 && frames_in_from(b, "alpha") > 3, WAIT_MS);
    char nm[80];
    actr_ref_t rbeta = {actr_node_id(b->rt), 1, 1};
    ASSERT_OK(actr_node_of(a->rt, rbeta, nm, sizeof(nm)));
    ASSERT_STR_EQ(nm, "beta");
    ASSERT_OK(actr_node_of(a->rt, (actr_ref_t){actr_node_id(a->rt), 1, 1}, nm, sizeof(nm)));
    ASSERT_STR_EQ(nm, "alpha");
    ASSERT_ERR(actr_node_of(a->rt, rbeta, nm, 3), ACTR_E2BIG);
    ASSERT_ERR(actr_node_of(a->rt, (actr_ref_t){12345, 1, 1}, nm, sizeof(nm)), ACTR_ENONODE);
    uint64_t id;
    ASSERT_OK(actr__cluster_node_by_name(a->rt, "beta", 4, &id));
    ASSERT_EQ(id, actr_node_id(b->rt));
    ASSERT_ERR(actr__cluster_node_by_name(a->rt, "bet", 3, &id), ACTR_ENONODE);
    uint64_t ids[4];
    ASSERT_EQ(actr__cluster_up_nodes(a->rt, ids, 4), 1);
    ASSERT_EQ(ids[0], actr_node_id(b->rt));
    ASSERT(logged(a, "node beta up"));
    /* an orderly close: the other side hears BYE and loses the node */
    node_close(b);
    ASSERT_EVENTUALLY(!up_row(a, "beta", NULL), WAIT_MS);
    ASSERT_EVENTUALLY(logged(a, "closed by the peer (shutdown)"), WAIT_MS);
    ASSERT_EQ(actr__cluster_up_nodes(a->rt, ids, 4), 0);
    node_close(a);
    free(a);
    free(b);
}

TEST_IMPL(cluster, start_errors)
{
    actr_t *rt, *rt2;
    actr_options_t o;
    actr_options_init(&o);
    o.log_level = ACTR_LOG_OFF;
    ASSERT_OK(actr_open(&rt, &o));
    ASSERT_OK(actr_open(&rt2, &o));
    actr_cluster_options_t co;
    actr_error_t err;
    const char *bad_peers[] = {"127.0.0.1:1", "no host:80"};
    struct {
        const char *name, *listen, *secret;
        const char *const *peers;
        size_t npeers;
        const char *msg;
    } cases[] = {
        {"", NULL, SECRET, NULL, 0, "node name"},
        {"bad name", NULL, SECRET, NULL, 0, "node name"},
        {"a", NULL, "short", NULL, 0, "secret: expected at least 16 bytes"},
        {"a", "127.0.0.1", SECRET, NULL, 0, "listen '127.0.0.1'"},
        {"a", "::1:80", SECRET, NULL, 0, "listen '::1:80'"},
        {"a", "127.0.0.1:70000", SECRET, NULL, 0, "listen"},
        {"a", NULL, SECRET, bad_peers, 2, "peers[1] 'no host:80'"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        actr_cluster_options_init(&co);
        co.node_name = cases[i].name;
        co.listen = cases[i].listen;
        co.secret = cases[i].secret;
        co.secret_len = strlen(cases[i].secret);
        co.peers = cases[i].peers;
        co.npeers = cases[i].npeers;
        ASSERT_ERR(actr_cluster_start(rt, &co, &err), ACTR_EINVAL);
        if (strstr(err.msg, cases[i].msg) == NULL)
            TEST_FAIL_("case %zu: '%s' lacks '%s'", i, err.msg, cases[i].msg);
        ASSERT(strstr(err.msg, SECRET) == NULL); /* the secret is never shown */
    }
    ASSERT_ERR(actr_cluster_port(rt), 0);
    ASSERT_NULL(actr_node_name(rt));
    ASSERT_ERR(actr_cluster_peers(rt, collect, NULL), ACTR_ENOENT);
    actr_cluster_options_init(&co);
    co.node_name = "a";
    co.listen = "localhost:0";
    co.secret = SECRET;
    co.secret_len = strlen(SECRET);
    ASSERT_OK(actr_cluster_start(rt, &co, &err));
    ASSERT_ERR(actr_cluster_start(rt, &co, &err), ACTR_EEXIST);
    int port = actr_cluster_port(rt);
    ASSERT(port > 0);
    /* the port is taken: the call says so */
    char taken[64];
    snprintf(taken, sizeof(taken), "127.0.0.1:%d", port);
    co.listen = taken;
    co.node_name = "b";
    ASSERT_ERR(actr_cluster_start(rt2, &co, &err), -EADDRINUSE);
    ASSERT(strstr(err.msg, taken) != NULL);
    /* closing a runtime whose cluster never reached a loop frees it all */
    actr_close(rt);
    actr_close(rt2);
}

/* A peer given by host name is looked up on the I/O thread at each round of
 * connects (here "LOCALHOST": the hosts file's localhost, matched without
 * regard to case, so it goes through the resolver and not the literal
 * shortcut for "localhost"; where it also names ::1, the first address fails
 * against a listener on 127.0.0.1 and the next one is tried at once). */
TEST_IMPL(cluster, peer_by_host_name)
{
    tnode_t *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
    topts_t ta = {0};
    node_open(a, "alpha", &ta);
    char addr[64];
    snprintf(addr, sizeof(addr), "LOCALHOST:%d", actr_cluster_port(a->rt));
    topts_t tb = {.peers = {addr}, .npeers = 1};
    node_open(b, "beta", &tb);
    ASSERT_EVENTUALLY(up_row(a, "beta", NULL) && up_row(b, "alpha", NULL), WAIT_MS);
    prow_t rb;
    ASSERT(up_row(b, "alpha", &rb));
    ASSERT_STR_EQ(rb.addr, addr); /* listed as configured */
    ASSERT(!logged(b, "cannot resolve"));
    node_close(b);
    node_close(a);
    free(a);
    free(b);
}

/* A name that does not resolve (.invalid never does, RFC 2606): a warning
 * naming the peer and the name, retries with backoff, and the node serves on;
 * closing it with a lookup pending is clean. */
TEST_IMPL(cluster, unresolvable_peer)
{
    tnode_t *b = calloc(1, sizeof(*b));
    topts_t tb = {.peers = {"no-such-host.invalid:7000"}, .npeers = 1};
    node_open(b, "beta", &tb);
    /* a resolver that cannot reach its servers answers only after its own
     * timeouts (seconds): wait long enough for two of them */
    ASSERT_EVENTUALLY(logged(b, "[warn] cluster: peer no-such-host.invalid:7000: cannot resolve "
                                "'no-such-host.invalid'"),
                      DNS_WAIT_MS);
    ASSERT_EVENTUALLY(times_logged(b, "cannot resolve 'no-such-host.invalid'") >= 2, DNS_WAIT_MS);
    plist_t l = peers_of(b);
    ASSERT_EQ(l.n, 1);
    ASSERT_STR_EQ(l.rows[0].addr, "no-such-host.invalid:7000");
    ASSERT(strcmp(l.rows[0].state, "up") != 0);
    /* the node itself is fine */
    actr_ctx_t *cl;
    ASSERT_OK(actr_client_open(b->rt, &cl));
    actr_client_close(cl);
    node_close(b);
    free(b);
}

TEST_IMPL(cluster, wrong_secret)
{
    tnode_t *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
    topts_t ta = {0};
    node_open(a, "alpha", &ta);
    char addr[64], line[160];
    topts_t tb = {.secret = "another-secret-of-the-right-length",
                  .peers = {addr_of(a, addr, sizeof(addr))},
                  .npeers = 1};
    node_open(b, "beta", &tb);
    snprintf(line, sizeof(line), "cluster: peer %s: authentication failed (wrong cluster secret?)",
             addr);
    ASSERT_EVENTUALLY(logged(b, line), WAIT_MS);
    /* alpha names beta's address (its ephemeral port) */
    ASSERT_EVENTUALLY(logged(a, "authentication failed (wrong cluster secret?)"), WAIT_MS);
    ASSERT(logged(a, "cluster: peer 127.0.0.1:"));
    /* beta retries with backoff; it is refused each time and never up */
    ASSERT_EVENTUALLY(times_logged(b, line) >= 2, WAIT_MS);
    ASSERT(!logged(a, " up (incarnation"));
    ASSERT(!logged(b, " up (incarnation"));
    ASSERT_EQ(nup(a), 0);
    ASSERT_EQ(nup(b), 0);
    ASSERT(!logged(a, SECRET) && !logged(b, "another-secret"));
    node_close(b);
    node_close(a);
    free(a);
    free(b);
}

/* A raw client sends `bytes` to a; a closes it with a WARN naming its
 * address and `why`, and keeps serving its real peer beta. */
static void bad_input(tnode_t *a, const void *bytes, size_t n, const char *why, unsigned close_ms)
{
    int fd = raw_connect(actr_cluster_port(a->rt), 0);
    char line[128], line2[128]; /* "ADDR: why" or "ADDR (node NAME): why" */
    snprintf(line, sizeof(line), "cluster: peer 127.0.0.1:%d: ", raw_local_port(fd));
    snprintf(line2, sizeof(line2), "cluster: peer 127.0.0.1:%d (node ", raw_local_port(fd));
    raw_send(fd, bytes, n);
    if (!raw_closed(fd, close_ms))
        TEST_FAIL_("the node kept a connection after: %s", why);
    close(fd);
    uint64_t dl = test_now_ms() + WAIT_MS;
    while (!logged(a, line) && !logged(a, line2)) {
        if (test_now_ms() > dl)
            TEST_FAIL_("no log line '%s' for: %s; log:\n%s", line, why, a->log);
        test_nap_ms(1);
    }
    if (!logged(a, line))
        snprintf(line, sizeof(line), "%s", line2);
    long p = log_pos(a, line);
    pthread_mutex_lock(&a->mu);
    const char *eol = strchr(a->log + p, '\n');
    int ok = strstr(a->log + p, why) != NULL && strstr(a->log + p, why) < eol;
    if (!ok)
        fprintf(stderr, "log: %.*s\n", (int)(eol - (a->log + p)), a->log + p);
    pthread_mutex_unlock(&a->mu);
    ASSERT(ok);
    uint64_t before = frames_in_from(a, "beta");
    ASSERT_EVENTUALLY(frames_in_from(a, "beta") > before + 2, WAIT_MS); /* still served */
}

TEST_IMPL(cluster, bad_input)
{
    tnode_t *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
    topts_t ta = {.dead_after_ms = 1000};
    pair_up(a, &ta, b);

    /* random bytes */
    uint8_t rnd[512];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof(rnd); i++) {
        x = x * 1103515245u + 12345u;
        rnd[i] = (uint8_t)(x >> 16);
    }
    rnd[0] = 0x00; /* a length prefix within the buffer: the body is decoded */
    rnd[1] = 0x00;
    rnd[2] = 0x01;
    rnd[3] = 0x00;
    bad_input(a, rnd, sizeof(rnd), "bad frame", WAIT_MS);
    /* an oversized length prefix */
    uint8_t big[8] = {0xff, 0xff, 0xff, 0xff, 3, 0, 0, 0};
    bad_input(a, big, sizeof(big), "frame length refused", WAIT_MS);
    /* a well-formed frame before the handshake */
    uint8_t buf[ACTR__WIRE_CTL_MAX];
    actr__frame_t f;
    memset(&f, 0, sizeof(f));
    f.kind = ACTR__FR_PING;
    f.seq = 1;
    size_t n = actr__wire_ctl(buf, sizeof(buf), &f);
    ASSERT(n > 0);
    bad_input(a, buf, n, "before the handshake", WAIT_MS);
    /* a truncated frame, then silence: the handshake timeout closes it */
    bad_input(a, buf, n - 1, "handshake timed out", WAIT_MS);
    /* a valid HELLO, then half of an AUTH: the same */
    memset(&f, 0, sizeof(f));
    f.kind = ACTR__FR_HELLO;
    f.proto_min = f.proto_max = 1;
    f.name = "gamma";
    f.name_len = 5;
    f.node_id = 77;
    n = actr__wire_ctl(buf, sizeof(buf), &f);
    uint8_t two[2 * ACTR__WIRE_CTL_MAX];
    memcpy(two, buf, n);
    memset(&f, 0, sizeof(f));
    f.kind = ACTR__FR_AUTH;
    f.proto = 1;
    size_t m = actr__wire_ctl(two + n, sizeof(two) - n, &f);
    bad_input(a, two, n + m / 2, "handshake timed out", WAIT_MS);
    /* a HELLO with our own name, and one with no common protocol */
    memset(&f, 0, sizeof(f));
    f.kind = ACTR__FR_HELLO;
    f.proto_min = f.proto_max = 1;
    f.name = "alpha";
    f.name_len = 5;
    f.node_id = 78;
    n = actr__wire_ctl(buf, sizeof(buf), &f);
    bad_input(a, buf, n, "our own node name", WAIT_MS);
    f.name = "delta";
    f.proto_min = f.proto_max = 9;
    n = actr__wire_ctl(buf, sizeof(buf), &f);
    bad_input(a, buf, n, "no common protocol version", WAIT_MS);
    ASSERT(up_row(a, "beta", NULL) && up_row(b, "alpha", NULL));
    ASSERT_EQ(nup(a), 1);
    node_close(b);
    node_close(a);
    free(a);
    free(b);
}

TEST_IMPL(cluster, reconnect_new_incarnation)
{
    tnode_t *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
    topts_t ta = {0};
    node_open(a, "alpha", &ta);
    char addr[64];
    addr_of(a, addr, sizeof(addr));
    topts_t tb = {.peers = {addr}, .npeers = 1};
    node_open(b, "beta", &tb);
    ASSERT_EVENTUALLY(up_row(b, "alpha", NULL), WAIT_MS);
    uint64_t id1 = actr_node_id(a->rt);
    node_close(a);
    ASSERT_EVENTUALLY(!up_row(b, "alpha", NULL), WAIT_MS);
    /* the same address, a new incarnation */
    topts_t ta2 = {.listen = addr};
    node_open(a, "alpha", &ta2);
    uint64_t id2 = actr_node_id(a->rt);
    ASSERT_NE(id1, id2);
    prow_t r;
    ASSERT_EVENTUALLY(up_row(b, "alpha", &r) && r.node_id == id2, WAIT_MS);
    ASSERT_EQ(r.connects, 2);
    char up1[96], up2[96];
    snprintf(up1, sizeof(up1), "node alpha up (incarnation %016llx)", (unsigned long long)id1);
    snprintf(up2, sizeof(up2), "node alpha up (incarnation %016llx)", (unsigned long long)id2);
    long p1 = log_pos(b, up1), plost = log_pos(b, "node alpha):"), p2 = log_pos(b, up2);
    ASSERT(p1 >= 0 && plost > p1 && p2 > plost); /* up(old), lost, up(new) */
    uint64_t ids[4];
    ASSERT_EQ(actr__cluster_up_nodes(b->rt, ids, 4), 1);
    ASSERT_EQ(ids[0], id2);
    node_close(b);
    node_close(a);
    free(a);
    free(b);
}

TEST_IMPL(cluster, new_incarnation_replaces_old)
{
    tnode_t *a = calloc(1, sizeof(*a));
    topts_t ta = {.dead_after_ms = 30000};
    node_open(a, "alpha", &ta);
    int fd1 = raw_connect(actr_cluster_port(a->rt), 0);
    uint64_t aid = raw_handshake(fd1, SECRET, "gamma", 1001, "alpha");
    ASSERT_EQ(aid, actr_node_id(a->rt));
    prow_t r;
    ASSERT_EVENTUALLY(up_row(a, "gamma", &r) && r.node_id == 1001, WAIT_MS);
    /* gamma restarts without the old connection being noticed as gone */
    int fd2 = raw_connect(actr_cluster_port(a->rt), 0);
    (void)raw_handshake(fd2, SECRET, "gamma", 1002, "alpha");
    ASSERT_EVENTUALLY(up_row(a, "gamma", &r) && r.node_id == 1002, WAIT_MS);
    ASSERT(raw_closed(fd1, WAIT_MS)); /* the old incarnation's connection is closed */
    ASSERT(logged(a, "incarnation 00000000000003ea replaces 00000000000003e9"));
    ASSERT_EQ(nup(a), 1);
    close(fd1);
    close(fd2);
    node_close(a);
    free(a);
}

TEST_IMPL(cluster, simultaneous_connect)
{
    /* two ports reserved up front: each node lists the other */
    tnode_t *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
    int s1 = socket(AF_INET, SOCK_STREAM, 0), s2 = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_OK(bind(s1, (struct sockaddr *)&sa, sizeof(sa)));
    ASSERT_OK(bind(s2, (struct sockaddr *)&sa, sizeof(sa)));
    char pa[64], pb[64];
    snprintf(pa, sizeof(pa), "127.0.0.1:%d", raw_local_port(s1));
    snprintf(pb, sizeof(pb), "127.0.0.1:%d", raw_local_port(s2));
    close(s1);
    close(s2);
    for (int round = 0; round < 3; round++) {
        topts_t ta = {.listen = pa, .peers = {pb}, .npeers = 1, .no_start = 1};
        topts_t tb = {.listen = pb, .peers = {pa}, .npeers = 1, .no_start = 1};
        node_open(a, "alpha", &ta);
        node_open(b, "beta", &tb);
        ASSERT_EVENTUALLY(up_row(a, "beta", NULL) && up_row(b, "alpha", NULL), WAIT_MS);
        /* exactly one connection remains: one row each, both up, and the
         * listings settle (no connection in a handshake left over) */
        ASSERT_EVENTUALLY(peers_of(a).n == 1 && peers_of(b).n == 1, WAIT_MS);
        ASSERT_EQ(nup(a), 1);
        ASSERT_EQ(nup(b), 1);
        uint64_t ids[4];
        ASSERT_EQ(actr__cluster_up_nodes(a->rt, ids, 4), 1);
        ASSERT_EQ(actr__cluster_up_nodes(b->rt, ids, 4), 1);
        uint64_t fa = frames_in_from(a, "beta"), fb = frames_in_from(b, "alpha");
        ASSERT_EVENTUALLY(frames_in_from(a, "beta") > fa + 2 && frames_in_from(b, "alpha") > fb + 2,
                          WAIT_MS);
        ASSERT_EQ(peers_of(a).n, 1);
        node_close(b);
        node_close(a);
    }
    free(a);
    free(b);
}

TEST_IMPL(cluster, outbound_bound)
{
    tnode_t *a = calloc(1, sizeof(*a));
    topts_t ta = {.dead_after_ms = 60000, .heartbeat_ms = 60000, .max_queue = 256 * 1024};
    node_open(a, "alpha", &ta);
    int fd = raw_connect(actr_cluster_port(a->rt), 4096);
    (void)raw_handshake(fd, SECRET, "gamma", 4242, "alpha");
    ASSERT_EVENTUALLY(up_row(a, "gamma", NULL), WAIT_MS);
    /* gamma never reads: the socket buffers fill, then the queue, then sends fail */
    actr_ctx_t *c;
    ASSERT_OK(actr_client_open(a->rt, &c));
    actr_ref_t to = {4242, 1, 1};
    static uint8_t payload[16384];
    int rc = 0;
    size_t sent = 0;
    for (; sent < 100000; sent++) {
        actr_msg_t *m;
        ASSERT_OK(actr_msg_new(c, 300, payload, sizeof(payload), &m));
        rc = actr_send(c, to, m);
        if (rc != 0)
            break;
    }
    ASSERT_ERR(rc, ACTR_EAGAIN);
    prow_t r;
    ASSERT(up_row(a, "gamma", &r));
    ASSERT(r.queue_bytes <= 256 * 1024);
    ASSERT(r.queue_bytes > 256 * 1024 - 2 * sizeof(payload));
    /* refused sends queue nothing; small ones still fit when there is room */
    actr_msg_t *m;
    ASSERT_OK(actr_msg_new(c, 300, payload, sizeof(payload), &m));
    ASSERT_ERR(actr_send(c, to, m), ACTR_EAGAIN);
    prow_t r2;
    ASSERT(up_row(a, "gamma", &r2));
    ASSERT_EQ(r2.queue_bytes, r.queue_bytes);
    actr_client_close(c);
    /* closing with a full queue releases every queued message (ASan checks) */
    node_close(a);
    close(fd);
    free(a);
}

/* ---- across nodes: an echo actor on one, a client on the other ------------------------- */

static int echo_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    (void)state;
    if (!actr_msg_is_request(msg))
        return 0;
    size_t len;
    const void *d = actr_msg_data(msg, &len);
    actr_msg_t *r;
    int rc = actr_msg_new(ctx, actr_msg_type(msg) + 1, d, len, &r);
    return rc ? rc : actr_reply(ctx, msg, r);
}

static const actr_behavior_t echo_beh = {
    sizeof(actr_behavior_t), "echo", 0, NULL, echo_receive, NULL};

TEST_IMPL(cluster, remote_request)
{
    tnode_t *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
    pair_up(a, NULL, b);
    actr_ctx_t *cb, *ca;
    ASSERT_OK(actr_client_open(b->rt, &cb));
    actr_ref_t echo;
    ASSERT_OK(actr_spawn(cb, &echo_beh, NULL, 0, NULL, &echo));
    ASSERT_OK(actr_client_open(a->rt, &ca));
    for (int i = 0; i < 100; i++) {
        char text[32];
        int tl = snprintf(text, sizeof(text), "hello %d", i);
        actr_msg_t *m, *reply = NULL;
        ASSERT_OK(actr_msg_new(ca, 500, text, (size_t)tl, &m));
        ASSERT_OK(actr_client_call(ca, echo, m, WAIT_MS, &reply));
        ASSERT_EQ(actr_msg_type(reply), 501);
        size_t len;
        const char *d = actr_msg_data(reply, &len);
        ASSERT_MEM_STR(d, len, text);
        ASSERT_EQ(actr_msg_from(reply).node, actr_node_id(b->rt));
        actr_msg_free(reply);
    }
    /* a large payload travels by reference, not copied into the queue */
    static uint8_t big[200000];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)(i * 7);
    actr_msg_t *m, *reply = NULL;
    ASSERT_OK(actr_msg_new(ca, 600, big, sizeof(big), &m));
    ASSERT_OK(actr_client_call(ca, echo, m, WAIT_MS, &reply));
    size_t len;
    const uint8_t *d = actr_msg_data(reply, &len);
    ASSERT_EQ(len, sizeof(big));
    ASSERT(memcmp(d, big, len) == 0);
    actr_msg_free(reply);
    actr_client_close(ca);
    actr_client_close(cb);
    node_close(b);
    node_close(a);
    free(a);
    free(b);
}

/* ---- requests nobody waits for any more leave no record ---------------------------------- */

/* Takes requests and never answers them. */
static int mute_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    (void)ctx, (void)state, (void)msg;
    return 0;
}

static const actr_behavior_t mute_beh = {
    sizeof(actr_behavior_t), "mute", 0, NULL, mute_receive, NULL};

/* Sends one request with no timeout to the ref in its args, then waits for a
 * STOP message and exits with the request still unanswered. */
static int asker_init(actr_ctx_t *ctx, void *state, const void *args, size_t len)
{
    (void)state;
    actr_ref_t to;
    ASSERT_EQ(len, sizeof(to));
    memcpy(&to, args, sizeof(to));
    actr_msg_t *m;
    uint64_t id;
    int rc = actr_msg_new(ctx, 800, NULL, 0, &m);
    return rc ? rc : actr_request(ctx, to, m, 0, &id);
}

static int asker_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    (void)state;
    if (actr_msg_type(msg) == 801)
        return actr_exit(ctx, ACTR_REASON_NORMAL);
    return 0;
}

static const actr_behavior_t asker_beh = {
    sizeof(actr_behavior_t), "asker", 0, asker_init, asker_receive, NULL};

TEST_IMPL(cluster, unanswered_requests_forgotten)
{
    tnode_t *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
    pair_up(a, NULL, b);
    actr_ctx_t *cb, *ca;
    ASSERT_OK(actr_client_open(b->rt, &cb));
    actr_ref_t mute;
    ASSERT_OK(actr_spawn(cb, &mute_beh, NULL, 0, NULL, &mute));
    ASSERT_OK(actr_client_open(a->rt, &ca));

    /* requests that time out: the requester got ETIMEDOUT, the record goes */
    for (int i = 0; i < 50; i++) {
        actr_msg_t *m, *reply = NULL;
        ASSERT_OK(actr_msg_new(ca, 700, "x", 1, &m));
        ASSERT_ERR(actr_client_call(ca, mute, m, 20, &reply), ACTR_ETIMEDOUT);
    }
    ASSERT_EVENTUALLY(actr__remote_pending(a->rt) == 0, WAIT_MS);

    /* requests with no timeout from actors that then exit */
    actr_ref_t askers[20];
    for (int i = 0; i < 20; i++)
        ASSERT_OK(actr_spawn(ca, &asker_beh, &mute, sizeof(mute), NULL, &askers[i]));
    ASSERT_EVENTUALLY(actr__remote_pending(a->rt) == 20, WAIT_MS);
    for (int i = 0; i < 20; i++) {
        actr_msg_t *m;
        ASSERT_OK(actr_msg_new(ca, 801, NULL, 0, &m));
        ASSERT_OK(actr_send(ca, askers[i], m));
    }
    ASSERT_EVENTUALLY(actr__remote_pending(a->rt) == 0, WAIT_MS);

    /* and a request still waited for keeps its record: the node's loss fails it */
    actr_ref_t asker;
    ASSERT_OK(actr_spawn(ca, &asker_beh, &mute, sizeof(mute), NULL, &asker));
    ASSERT_EVENTUALLY(actr__remote_pending(a->rt) == 1, WAIT_MS);
    actr_client_close(ca);
    actr_client_close(cb);
    node_close(b);
    ASSERT_EVENTUALLY(actr__remote_pending(a->rt) == 0, WAIT_MS);
    node_close(a);
    free(a);
    free(b);
}

/* ---- streams across duplicate connections --------------------------------------------- */

#define T_SEQ 700
#define SEQ_PAD 64

/* What one receiving actor saw: messages numbered 0, 1, 2... from one sender. */
typedef struct sink {
    _Atomic uint64_t got;
    _Atomic uint64_t bad; /* out of order, lost or duplicated */
    _Atomic uint64_t first_bad_seq, first_bad_want;
} sink_t;

static int sink_init(actr_ctx_t *ctx, void *state, const void *args, size_t len)
{
    (void)ctx;
    const uint8_t *a = args;
    if (len != 9 || a[0] != 0xcf) /* msgpack uint64: the sink's address */
        return ACTR_EINVAL;
    uint64_t v = 0;
    for (int i = 1; i < 9; i++)
        v = v << 8 | a[i];
    *(sink_t **)state = (sink_t *)(uintptr_t)v;
    return 0;
}

static int sink_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    (void)ctx;
    sink_t *k = *(sink_t **)state;
    if (actr_msg_type(msg) != T_SEQ)
        return 0;
    size_t len;
    const uint8_t *d = actr_msg_data(msg, &len);
    uint64_t seq = UINT64_MAX;
    if (len == 8 + SEQ_PAD)
        memcpy(&seq, d, 8);
    uint64_t want = atomic_load(&k->got);
    if (seq != want && atomic_fetch_add(&k->bad, 1) == 0) {
        atomic_store(&k->first_bad_seq, seq);
        atomic_store(&k->first_bad_want, want);
    }
    atomic_store(&k->got, want + 1);
    return 0;
}

static const actr_behavior_t sink_beh = {
    sizeof(actr_behavior_t), "sink", sizeof(sink_t *), sink_init, sink_receive, NULL};

static actr_ref_t sink_spawn(actr_t *rt, sink_t *k)
{
    uint8_t args[9] = {0xcf};
    uint64_t v = (uint64_t)(uintptr_t)k;
    for (int i = 8; i >= 1; i--, v >>= 8)
        args[i] = (uint8_t)v;
    actr_ctx_t *c;
    ASSERT_OK(actr_client_open(rt, &c));
    actr_ref_t r;
    ASSERT_OK(actr_spawn(c, &sink_beh, args, sizeof(args), NULL, &r));
    actr_client_close(c);
    return r;
}

/* A thread sending numbered messages to one remote actor: `n` of them (or
 * until `stop` when n is 0). Until its first send is taken, ACTR_ENONODE
 * means "not up yet" (when up_first is set); after it, any error but
 * ACTR_EAGAIN (backpressure: retried) is recorded. */
typedef struct streamer {
    pthread_t th;
    actr_t *rt;
    actr_ref_t to;
    uint64_t n;
    int up_first;
    _Atomic int stop;
    _Atomic uint64_t sent;
    _Atomic int err, err_at;
} streamer_t;

static void *stream_thread(void *ud)
{
    streamer_t *s = ud;
    actr_ctx_t *c;
    ASSERT_OK(actr_client_open(s->rt, &c));
    uint8_t p[8 + SEQ_PAD];
    memset(p, 0x5a, sizeof(p));
    uint64_t i = 0, dl = test_now_ms() + WAIT_MS;
    while ((s->n == 0 || i < s->n) && !atomic_load(&s->stop)) {
        actr_msg_t *m;
        memcpy(p, &i, 8);
        ASSERT_OK(actr_msg_new(c, T_SEQ, p, sizeof(p), &m));
        int rc = actr_send(c, s->to, m);
        if (rc == 0) {
            atomic_store(&s->sent, ++i);
        } else if (rc == ACTR_EAGAIN || (rc == ACTR_ENONODE && i == 0 && s->up_first)) {
            if (test_now_ms() > dl) {
                atomic_store(&s->err, rc);
                break;
            }
            if (rc == ACTR_EAGAIN)
                test_nap_ms(1);
            else
                sched_yield(); /* start the moment the node is up */
        } else {
            atomic_store(&s->err, rc);
            atomic_store(&s->err_at, (int)i);
            break;
        }
    }
    actr_client_close(c);
    return NULL;
}

static void stream_start(streamer_t *s, actr_t *rt, actr_ref_t to, uint64_t n, int up_first)
{
    memset(s, 0, sizeof(*s));
    s->rt = rt;
    s->to = to;
    s->n = n;
    s->up_first = up_first;
    ASSERT_OK(pthread_create(&s->th, NULL, stream_thread, s));
}

/* Join s and check that k got exactly what s sent, in order. */
static void stream_check(streamer_t *s, sink_t *k, const char *what)
{
    if (s->n == 0)
        atomic_store(&s->stop, 1);
    ASSERT_OK(pthread_join(s->th, NULL));
    if (atomic_load(&s->err) != 0)
        TEST_FAIL_("%s: send %d failed: %s", what, atomic_load(&s->err_at),
                   actr_strerror(atomic_load(&s->err)));
    uint64_t sent = atomic_load(&s->sent);
    ASSERT(sent > 0);
    uint64_t dl = test_now_ms() + WAIT_MS;
    while (atomic_load(&k->got) < sent && test_now_ms() < dl)
        test_nap_ms(1);
    if (atomic_load(&k->bad) != 0)
        TEST_FAIL_("%s: %llu out of order (first: got #%llu, expected #%llu)", what,
                   (unsigned long long)atomic_load(&k->bad),
                   (unsigned long long)atomic_load(&k->first_bad_seq),
                   (unsigned long long)atomic_load(&k->first_bad_want));
    if (atomic_load(&k->got) != sent)
        TEST_FAIL_("%s: sent %llu, received %llu", what, (unsigned long long)sent,
                   (unsigned long long)atomic_load(&k->got));
}

/* Two ports on 127.0.0.1, free a moment ago, as "127.0.0.1:PORT". */
static void two_ports(char *pa, char *pb, size_t cap)
{
    int s1 = socket(AF_INET, SOCK_STREAM, 0), s2 = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_OK(bind(s1, (struct sockaddr *)&sa, sizeof(sa)));
    ASSERT_OK(bind(s2, (struct sockaddr *)&sa, sizeof(sa)));
    snprintf(pa, cap, "127.0.0.1:%d", raw_local_port(s1));
    snprintf(pb, cap, "127.0.0.1:%d", raw_local_port(s2));
    close(s1);
    close(s2);
}

TEST_IMPL(cluster, duplicate_connections_lose_nothing)
{
    /* both nodes list each other and start together, round after round: one
     * side's first connect is often refused and its retry overlaps the
     * connection the other side opened, while both streams run */
    tnode_t *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
    char pa[64], pb[64];
    two_ports(pa, pb, sizeof(pa));
    int dups = 0;
    for (int round = 0; round < 8; round++) {
        topts_t ta = {.listen = pa, .peers = {pb}, .npeers = 1, .no_start = round % 2};
        topts_t tb = {.listen = pb, .peers = {pa}, .npeers = 1, .no_start = round % 2};
        sink_t *ka = calloc(1, sizeof(*ka)), *kb = calloc(1, sizeof(*kb));
        streamer_t *sab = calloc(1, sizeof(*sab)), *sba = calloc(1, sizeof(*sba));
        node_open(a, "alpha", &ta);
        actr_ref_t ra = sink_spawn(a->rt, ka);
        node_open(b, "beta", &tb); /* a's first connect to b may have been refused */
        actr_ref_t rb = sink_spawn(b->rt, kb);
        stream_start(sab, a->rt, rb, 20000, 1);
        stream_start(sba, b->rt, ra, 20000, 1);
        stream_check(sab, kb, "alpha -> beta");
        stream_check(sba, ka, "beta -> alpha");
        ASSERT_EQ(atomic_load(&kb->got), 20000);
        ASSERT_EQ(atomic_load(&ka->got), 20000);
        /* the pair settles on one connection, each side counted one up */
        ASSERT_EVENTUALLY(peers_of(a).n == 1 && peers_of(b).n == 1, WAIT_MS);
        prow_t r;
        ASSERT(up_row(a, "beta", &r));
        ASSERT_EQ(r.connects, 1);
        ASSERT(r.rtt_ms > 0);
        ASSERT(up_row(b, "alpha", &r));
        ASSERT_EQ(r.connects, 1);
        ASSERT(!logged(a, "is lost") && !logged(b, "is lost"));
        dups += logged(a, "closing this second connection") || logged(b, "duplicate connection");
        node_close(b);
        node_close(a);
        free(ka);
        free(kb);
        free(sab);
        free(sba);
    }
    fprintf(stderr, "# rounds with a duplicate connection: %d of 8\n", dups);
    free(a);
    free(b);
}

TEST_IMPL(cluster, second_connection_while_streaming)
{
    /* alpha (the leader: its name sorts first) and beta stream both ways;
     * meanwhile connections that complete the handshake as beta (to alpha)
     * and as alpha (to beta), with the incarnations that are up, come and go */
    tnode_t *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
    pair_up(a, NULL, b);
    sink_t *ka = calloc(1, sizeof(*ka)), *kb = calloc(1, sizeof(*kb));
    actr_ref_t ra = sink_spawn(a->rt, ka), rb = sink_spawn(b->rt, kb);
    streamer_t *sab = calloc(1, sizeof(*sab)), *sba = calloc(1, sizeof(*sba));
    stream_start(sab, a->rt, rb, 0, 0);
    stream_start(sba, b->rt, ra, 0, 0);
    uint64_t aid = actr_node_id(a->rt), bid = actr_node_id(b->rt);
    rawbuf_t *rw = calloc(1, sizeof(*rw));
    for (int k = 0; k < 10; k++) {
        /* to the leader, as beta: it keeps the connection that is up and
         * closes the newcomer, saying why */
        memset(rw, 0, sizeof(*rw));
        int fd = raw_connect(actr_cluster_port(a->rt), 0);
        ASSERT_EQ(raw_handshake_rb(fd, rw, SECRET, "beta", bid, "alpha"), aid);
        actr__frame_t f;
        raw_frame(fd, rw, &f);
        ASSERT_EQ(f.kind, ACTR__FR_BYE);
        ASSERT_MEM_STR(f.name, f.name_len, "duplicate connection");
        ASSERT(raw_closed(fd, WAIT_MS));
        close(fd);
        /* to the follower, as alpha: authenticated, but the leader never
         * confirms it (nothing after the handshake), so it is not up; then
         * it closes */
        fd = raw_connect(actr_cluster_port(b->rt), 0);
        ASSERT_EQ(raw_handshake(fd, SECRET, "alpha", aid, "beta"), bid);
        test_nap_ms(5); /* the streams run meanwhile */
        close(fd);
    }
    free(rw);
    /* one more of each, to see the follower drop the last one */
    ASSERT_EVENTUALLY(times_logged(a, "closing this second connection") == 10, WAIT_MS);
    ASSERT_EVENTUALLY(peers_of(b).n == 1, WAIT_MS);
    stream_check(sab, kb, "alpha -> beta");
    stream_check(sba, ka, "beta -> alpha");
    /* the node never went down on either side */
    prow_t r;
    ASSERT(up_row(a, "beta", &r));
    ASSERT_EQ(r.connects, 1);
    ASSERT_EQ(r.node_id, bid);
    ASSERT(up_row(b, "alpha", &r));
    ASSERT_EQ(r.connects, 1);
    ASSERT_EQ(r.node_id, aid);
    ASSERT(!logged(a, "is lost") && !logged(b, "is lost"));
    ASSERT(!logged(b, "moved"));
    fprintf(stderr, "# streamed %llu and %llu messages\n",
            (unsigned long long)atomic_load(&sab->sent),
            (unsigned long long)atomic_load(&sba->sent));
    node_close(b);
    node_close(a);
    free(ka);
    free(kb);
    free(sab);
    free(sba);
    free(a);
    free(b);
}

TEST_IMPL(cluster, peer_counters_survive_reconnects)
{
    /* alpha stays; beta connects to it, restarts twice: alpha's row for
     * beta counts three ups and its byte and frame counts never go back */
    tnode_t *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
    topts_t ta = {0};
    node_open(a, "alpha", &ta);
    char addr[64];
    topts_t tb = {.peers = {addr_of(a, addr, sizeof(addr))}, .npeers = 1};
    uint64_t last_in = 0, last_fin = 0, last_out = 0;
    for (int k = 1; k <= 3; k++) {
        node_open(b, "beta", &tb);
        prow_t r;
        ASSERT_EVENTUALLY(up_row(a, "beta", &r) && r.node_id == actr_node_id(b->rt), WAIT_MS);
        ASSERT_EQ(r.connects, (uint64_t)k);
        ASSERT(r.rtt_ms > 0); /* from the handshake, before any heartbeat */
        ASSERT(r.bytes_in >= last_in && r.frames_in >= last_fin && r.bytes_out >= last_out);
        ASSERT_EVENTUALLY(up_row(b, "alpha", &r), WAIT_MS); /* after alpha's first frame */
        ASSERT_EQ(r.connects, 1);                           /* a fresh beta */
        ASSERT(r.rtt_ms > 0);
        uint64_t f0 = frames_in_from(a, "beta");
        ASSERT_EVENTUALLY(frames_in_from(a, "beta") > f0 + 2, WAIT_MS); /* heartbeats */
        ASSERT(up_row(a, "beta", &r));
        last_in = r.bytes_in;
        last_fin = r.frames_in;
        last_out = r.bytes_out;
        node_close(b);
        ASSERT_EVENTUALLY(!up_row(a, "beta", NULL), WAIT_MS);
        /* the closed connection's counts stay with the node */
        plist_t l = peers_of(a);
        for (size_t i = 0; i < l.n; i++)
            if (strcmp(l.rows[i].name, "beta") == 0)
                ASSERT(l.rows[i].bytes_in >= last_in && l.rows[i].frames_in >= last_fin);
    }
    node_close(a);
    free(a);
    free(b);
}

TEST_IMPL(cluster, frame_cut_short)
{
    /* half a frame, then the peer closes: a warning that says the frame was
     * cut short and names the peer's address */
    tnode_t *a = calloc(1, sizeof(*a));
    topts_t ta = {0};
    node_open(a, "alpha", &ta);
    uint8_t buf[ACTR__WIRE_CTL_MAX];
    actr__frame_t f;
    memset(&f, 0, sizeof(f));
    f.kind = ACTR__FR_HELLO;
    f.proto_min = f.proto_max = 1;
    f.name = "gamma";
    f.name_len = 5;
    f.node_id = 77;
    size_t n = actr__wire_ctl(buf, sizeof(buf), &f);
    ASSERT(n > 10);
    int fd = raw_connect(actr_cluster_port(a->rt), 0);
    char line[160];
    snprintf(line, sizeof(line), "[warn] cluster: peer 127.0.0.1:%d: frame cut short",
             raw_local_port(fd));
    raw_send(fd, buf, n - 7);
    shutdown(fd, SHUT_WR); /* a FIN (a close with the node's HELLO unread would reset) */
    ASSERT(raw_closed(fd, WAIT_MS));
    close(fd);
    ASSERT_EVENTUALLY(logged(a, line), WAIT_MS);
    ASSERT(logged(a, "closed after "));
    /* a clean close between frames is no such warning */
    fd = raw_connect(actr_cluster_port(a->rt), 0);
    snprintf(line, sizeof(line), "cluster: peer 127.0.0.1:%d (node gamma): connection closed",
             raw_local_port(fd));
    raw_send(fd, buf, n);
    shutdown(fd, SHUT_WR);
    ASSERT(raw_closed(fd, WAIT_MS));
    close(fd);
    ASSERT_EVENTUALLY(logged(a, line), WAIT_MS);
    ASSERT_EQ(times_logged(a, "frame cut short"), 1);
    node_close(a);
    free(a);
}

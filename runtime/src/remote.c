/* remote.c — the cluster's message semantics: what makes a ref of another
 * node behave like a local one (actr/cluster.h). The link layer (cluster.c)
 * moves frames; this file decides what they mean.
 *
 * Out: actr__deliver hands a message for another node's ref to
 * actr__remote_send, which records what a loss of that node must answer and
 * queues the message on the link: a request (requester and id: failed with
 * ACTR_ENOTCONN), a monitor (watcher, id, target: DOWN "noconnection"), a
 * link (the local and remote actor: exit "noconnection"). The records go when
 * their answer passes (a reply or REQFAIL for the request, a DOWN or a
 * demonitor for the monitor, an exit or an unlink for the link), and a
 * request's also when the requester stops waiting for it (its timeout fired,
 * a client gave up, or it died). Plain sends record nothing and take no lock
 * here.
 *
 * In: each MSG frame becomes a runtime message with the same envelope and the
 * same payload bytes, delivered to the local target on the I/O thread. What
 * cannot be delivered is answered as a local send to a dead actor would be:
 * a monitor gets DOWN "noproc", a link an exit "noproc", a request a REQFAIL
 * (ACTR_ENOACTOR). Messages from other nodes are not counted against the
 * target's mailbox bound (the sender's outbound queue is what bounds them): a
 * message accepted by a peer is never dropped for a full mailbox.
 *
 * Names and topics: NAMED frames are resolved against this node's registry;
 * PUB frames reach this node's subscribers only (never forwarded again);
 * LOOKUP is answered with FOUND, and actr_lookup gathers the answers of every
 * node that was up when it was asked.
 *
 * Locking: one mutex (struct actr__remote.mu) over the node table and the
 * lookups; never held while calling the link layer or delivering.
 */
#include <stdlib.h>
#include <string.h>

#include "cluster_int.h"
#include "pack.h"

#define LOOKUP_DEFAULT_MS 5000

typedef struct rlink {
    actr_ref_t local, remote;
} rlink_t;

typedef struct rmon {
    actr_ref_t watcher, target;
} rmon_t;

/* What is outstanding with one connected node. */
typedef struct rnode {
    uint64_t id;
    char name[ACTR_NODE_NAME_MAX + 1];
    actr__idmap_t pending; /* request id -> actr_ref_t* requester */
    actr__idmap_t mons;    /* monitor id -> rmon_t* */
    rlink_t *links;
    size_t nlinks, caplinks;
} rnode_t;

typedef struct lookup {
    actr_ref_t requester;
    uint64_t req;         /* the requester's request id */
    uint64_t *waiting;    /* nodes that have not answered */
    size_t nwaiting;
    int answered;
} lookup_t;

struct actr__remote {
    pthread_mutex_t mu;
    actr__idmap_t nodes;   /* node id -> rnode_t* (up nodes) */
    actr__idmap_t lookups; /* lookup id -> lookup_t* */
};

/* ---- tables ------------------------------------------------------------------------ */

static struct actr__remote *remote_of(actr_t *rt)
{
    struct actr__remote *r = __atomic_load_n(&rt->remote, __ATOMIC_ACQUIRE);
    if (r != NULL)
        return r;
    r = calloc(1, sizeof(*r));
    if (r == NULL)
        return NULL;
    pthread_mutex_init(&r->mu, NULL);
    struct actr__remote *expected = NULL;
    if (!__atomic_compare_exchange_n(&rt->remote, &expected, r, 0, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE)) {
        pthread_mutex_destroy(&r->mu);
        free(r);
        return expected;
    }
    return r;
}

static void free_entry(uint64_t key, void *val, void *ud)
{
    (void)key, (void)ud;
    free(val);
}

static void rnode_free(rnode_t *n)
{
    if (n == NULL)
        return;
    actr__idmap_each(&n->pending, free_entry, NULL);
    actr__idmap_free(&n->pending);
    actr__idmap_each(&n->mons, free_entry, NULL);
    actr__idmap_free(&n->mons);
    free(n->links);
    free(n);
}

static rnode_t *node_get(struct actr__remote *r, uint64_t id)
{
    void *v = NULL;
    return actr__idmap_get(&r->nodes, id, &v) ? v : NULL;
}

static int link_index(const rnode_t *n, actr_ref_t local, actr_ref_t remote)
{
    for (size_t i = 0; i < n->nlinks; i++)
        if (actr_ref_eq(n->links[i].local, local) && actr_ref_eq(n->links[i].remote, remote))
            return (int)i;
    return -1;
}

static int link_put(rnode_t *n, actr_ref_t local, actr_ref_t remote)
{
    if (link_index(n, local, remote) >= 0)
        return 0;
    if (n->nlinks == n->caplinks) {
        size_t cap = n->caplinks ? n->caplinks * 2 : 8;
        rlink_t *v = realloc(n->links, cap * sizeof(*v));
        if (v == NULL)
            return ACTR_ENOMEM;
        n->links = v;
        n->caplinks = cap;
    }
    n->links[n->nlinks++] = (rlink_t){local, remote};
    return 0;
}

static void link_drop(rnode_t *n, actr_ref_t local, actr_ref_t remote)
{
    int i = link_index(n, local, remote);
    if (i >= 0)
        n->links[i] = n->links[--n->nlinks];
}

static void *dup_ref(actr_ref_t r)
{
    actr_ref_t *p = malloc(sizeof(*p));
    if (p != NULL)
        *p = r;
    return p;
}

/* Under mu: record what a loss of node n must answer for outbound m. */
static int note_out(rnode_t *n, actr_ref_t to, const actr_msg_t *m)
{
    void *old = NULL;
    if (m->flags & ACTR__F_REQUEST) {
        void *p = dup_ref(m->from);
        if (p == NULL || actr__idmap_put(&n->pending, m->corr, p) != 0) {
            free(p);
            return ACTR_ENOMEM;
        }
    }
    switch (m->sys) {
    case ACTR__SYS_MONITOR: {
        rmon_t *mon = malloc(sizeof(*mon));
        if (mon == NULL)
            return ACTR_ENOMEM;
        mon->watcher = m->from;
        mon->target = to;
        if (actr__idmap_put(&n->mons, m->corr, mon) != 0) {
            free(mon);
            return ACTR_ENOMEM;
        }
        break;
    }
    case ACTR__SYS_DEMONITOR:
        if (actr__idmap_del(&n->mons, m->corr, &old))
            free(old);
        break;
    case ACTR__SYS_LINK:
        return link_put(n, m->from, to);
    case ACTR__SYS_UNLINK:
    case ACTR__SYS_EXIT:
        link_drop(n, m->from, to);
        break;
    default:
        break;
    }
    return 0;
}

/* Under mu: forget what note_out recorded (the send failed). */
static void unnote_out(rnode_t *n, actr_ref_t to, uint64_t corr, uint16_t flags, uint8_t sys,
                       actr_ref_t from)
{
    void *old = NULL;
    if ((flags & ACTR__F_REQUEST) && actr__idmap_del(&n->pending, corr, &old))
        free(old);
    if (sys == ACTR__SYS_MONITOR && actr__idmap_del(&n->mons, corr, &old))
        free(old);
    if (sys == ACTR__SYS_LINK)
        link_drop(n, from, to);
}

/* ---- out ----------------------------------------------------------------------------- */

static int needs_note(const actr_msg_t *m)
{
    return (m->flags & ACTR__F_REQUEST) || m->sys == ACTR__SYS_MONITOR ||
           m->sys == ACTR__SYS_DEMONITOR || m->sys == ACTR__SYS_LINK ||
           m->sys == ACTR__SYS_UNLINK || m->sys == ACTR__SYS_EXIT;
}

int actr__remote_send(actr_t *rt, actr_ctx_t *ctx, actr_ref_t to, actr_msg_t *m)
{
    if (!actr__cluster_on(rt)) {
        actr__msg_unref(ctx, m);
        return ACTR_ENONODE;
    }
    if (m->sys == ACTR__SYS_INIT) { /* spawns are local */
        actr__msg_unref(ctx, m);
        return ACTR_EINVAL;
    }
    m->to_gen = to.gen;
    if (!needs_note(m))
        return actr__cluster_send(rt, ctx, to, ACTR__FR_MSG, NULL, 0, m);
    struct actr__remote *r = remote_of(rt);
    if (r == NULL) {
        actr__msg_unref(ctx, m);
        return ACTR_ENOMEM;
    }
    uint64_t corr = m->corr;
    uint16_t flags = m->flags;
    uint8_t sys = m->sys;
    actr_ref_t from = m->from;
    pthread_mutex_lock(&r->mu);
    rnode_t *n = node_get(r, to.node);
    int rc = n == NULL ? ACTR_ENONODE : note_out(n, to, m);
    pthread_mutex_unlock(&r->mu);
    if (rc != 0) {
        actr__msg_unref(ctx, m);
        return rc;
    }
    rc = actr__cluster_send(rt, ctx, to, ACTR__FR_MSG, NULL, 0, m);
    if (rc != 0) {
        pthread_mutex_lock(&r->mu);
        if ((n = node_get(r, to.node)) != NULL)
            unnote_out(n, to, corr, flags, sys, from);
        pthread_mutex_unlock(&r->mu);
    }
    return rc;
}

/* name@node: 1 and the parts if name has a node part. */
static int split_name(const char *full, size_t *name_len, const char **node)
{
    const char *at = strrchr(full, '@');
    if (at == NULL)
        return 0;
    *name_len = (size_t)(at - full);
    *node = at + 1;
    return 1;
}

int actr__remote_send_named(actr_t *rt, actr_ctx_t *ctx, const char *full, actr_msg_t *m,
                            int *handled)
{
    size_t nl;
    const char *node;
    *handled = 0;
    if (!split_name(full, &nl, &node))
        return 0;
    const char *self = actr_node_name(rt);
    if (self != NULL && strcmp(node, self) == 0)
        return 0; /* this node: the caller resolves the bare name */
    *handled = 1;
    if (nl == 0 || nl > ACTR__WIRE_NAME_MAX || node[0] == '\0') {
        actr__msg_unref(ctx, m);
        return ACTR_EINVAL;
    }
    uint64_t id;
    if (!actr__cluster_on(rt) || actr__cluster_node_by_name(rt, node, strlen(node), &id) != 0) {
        actr__msg_unref(ctx, m);
        return ACTR_ENONODE;
    }
    m->from = ctx->self;
    m->to_gen = 0;
    return actr__cluster_send(rt, ctx, (actr_ref_t){id, 0, 0}, ACTR__FR_NAMED, full, nl, m);
}

int actr__remote_publish(actr_t *rt, actr_ctx_t *ctx, const char *topic, const actr_msg_t *msg)
{
    if (!actr__cluster_on(rt))
        return 0;
    uint64_t nodes[256];
    size_t n = actr__cluster_up_nodes(rt, nodes, sizeof(nodes) / sizeof(nodes[0]));
    if (n == 0)
        return 0;
    /* one copy of the message for every node: the local subscribers get
     * their own, which the send path may change */
    actr_msg_t *c;
    int rc = actr_msg_dup(ctx, msg, &c);
    if (rc != 0)
        return rc;
    c->from = ctx->self;
    c->flags = 0;
    c->sys = 0;
    for (size_t i = 0; i < n; i++) {
        actr_msg_ref(c);
        int r = actr__cluster_send(rt, ctx, (actr_ref_t){nodes[i], 0, 0}, ACTR__FR_PUB, topic,
                                   strlen(topic), c);
        if (r != 0 && rc == 0 && r != ACTR_ENONODE)
            rc = r;
    }
    actr__msg_unref(ctx, c);
    return rc;
}

/* ---- lookups ------------------------------------------------------------------------ */

static void reply_ref(actr_t *rt, actr_ctx_t *ctx, actr_ref_t to, uint64_t req, actr_ref_t found)
{
    actr_msg_t *m;
    if (actr_msg_pack(ctx, 0, &m, "r", found) != 0)
        return;
    m->flags |= ACTR__F_REPLY;
    m->corr = req;
    m->from = found;
    (void)actr__deliver(rt, ctx, to, m, 0);
}

/* Under no lock: end lookup l (taken out of the table) if it is complete. */
static void lookup_finish(actr_t *rt, actr_ctx_t *ctx, lookup_t *l)
{
    if (!l->answered)
        actr__send_reqfail(ctx, ACTR_REF_NONE, l->requester, l->req, ACTR_ENOACTOR);
    free(l->waiting);
    free(l);
    (void)rt;
}

int actr_lookup(actr_ctx_t *ctx, const char *name, uint32_t timeout_ms, uint64_t *req_id)
{
    if (ctx == NULL || name == NULL || name[0] == '\0' || strlen(name) > ACTR__WIRE_NAME_MAX)
        return ACTR_EINVAL;
    int rc = actr__check_ctx(ctx);
    if (rc == 0 && ctx->cur == NULL)
        rc = ACTR_ECONTEXT;
    if (rc != 0)
        return rc;
    actr_t *rt = ctx->rt;
    uint64_t id;
    rc = actr__pending_add(ctx, timeout_ms ? timeout_ms : LOOKUP_DEFAULT_MS, &id);
    if (rc != 0)
        return rc;
    if (req_id != NULL)
        *req_id = id;
    actr_ref_t local;
    if (actr_whereis(ctx, name, &local) == 0) {
        reply_ref(rt, ctx, ctx->self, id, local);
        return 0;
    }
    uint64_t nodes[256];
    size_t n = actr__cluster_on(rt) ? actr__cluster_up_nodes(rt, nodes, 256) : 0;
    struct actr__remote *r = n ? remote_of(rt) : NULL;
    lookup_t *l = r ? calloc(1, sizeof(*l)) : NULL;
    if (l != NULL && (l->waiting = malloc(n * sizeof(*l->waiting))) == NULL) {
        free(l);
        l = NULL;
    }
    if (l == NULL) {
        actr__send_reqfail(ctx, ACTR_REF_NONE, ctx->self, id, n ? ACTR_ENOMEM : ACTR_ENOACTOR);
        return 0;
    }
    l->requester = ctx->self;
    l->req = id;
    memcpy(l->waiting, nodes, n * sizeof(*nodes));
    l->nwaiting = n;
    pthread_mutex_lock(&r->mu);
    int put = actr__idmap_put(&r->lookups, id, l);
    pthread_mutex_unlock(&r->mu);
    if (put != 0) {
        free(l->waiting);
        free(l);
        actr__send_reqfail(ctx, ACTR_REF_NONE, ctx->self, id, ACTR_ENOMEM);
        return 0;
    }
    actr__frame_t f;
    memset(&f, 0, sizeof(f));
    f.kind = ACTR__FR_LOOKUP;
    f.seq = id;
    f.name = name;
    f.name_len = strlen(name);
    for (size_t i = 0; i < n; i++)
        if (actr__cluster_send_ctl(rt, ctx, nodes[i], &f) != 0)
            actr__remote_found(rt, ctx, nodes[i], id, 0, ACTR_REF_NONE);
    return 0;
}

/* Node `node` answered lookup `id` (or will never: found 0). */
void actr__remote_found(actr_t *rt, actr_ctx_t *ctx, uint64_t node, uint64_t id, int found,
                        actr_ref_t ref)
{
    struct actr__remote *r = remote_of(rt);
    if (r == NULL)
        return;
    lookup_t *done = NULL;
    int answer = 0;
    actr_ref_t requester = ACTR_REF_NONE;
    uint64_t req = 0;
    pthread_mutex_lock(&r->mu);
    void *v = NULL;
    if (actr__idmap_get(&r->lookups, id, &v)) {
        lookup_t *l = v;
        for (size_t i = 0; i < l->nwaiting; i++)
            if (l->waiting[i] == node) {
                l->waiting[i] = l->waiting[--l->nwaiting];
                if (found && !l->answered) {
                    l->answered = 1;
                    answer = 1;
                    requester = l->requester;
                    req = l->req;
                }
                break;
            }
        if (l->nwaiting == 0) {
            (void)actr__idmap_del(&r->lookups, id, NULL);
            done = l;
        }
    }
    pthread_mutex_unlock(&r->mu);
    if (answer)
        reply_ref(rt, ctx, requester, req, ref);
    if (done != NULL)
        lookup_finish(rt, ctx, done);
}

/* ---- in ---------------------------------------------------------------------------------- */

/* Answer a message that cannot reach its target, as for a dead local actor. */
static void answer_undeliverable(actr_ctx_t *ctx, const actr__wire_env_t *env)
{
    if (env->sys == ACTR__SYS_MONITOR)
        actr__send_down(ctx, env->to, env->from, env->corr, ACTR_REASON_NOPROC);
    else if (env->sys == ACTR__SYS_LINK)
        actr__send_exit(ctx, env->to, env->from, ACTR_REASON_NOPROC);
    else if (env->flags & ACTR__F_REQUEST)
        actr__send_reqfail(ctx, env->to, env->from, env->corr, ACTR_ENOACTOR);
}

/* Under no lock: bookkeeping for an inbound message from node `node`. */
static void note_in(actr_t *rt, uint64_t node, const actr__wire_env_t *env)
{
    int reply = (env->flags & ACTR__F_REPLY) || env->type == ACTR_MSG_REQFAIL;
    int down = env->type == ACTR_MSG_DOWN && env->sys == ACTR__SYS_NONE;
    int link = env->sys == ACTR__SYS_LINK, unlink = env->sys == ACTR__SYS_UNLINK ||
                                                    env->sys == ACTR__SYS_EXIT;
    if (!reply && !down && !link && !unlink)
        return;
    struct actr__remote *r = remote_of(rt);
    if (r == NULL)
        return;
    pthread_mutex_lock(&r->mu);
    rnode_t *n = node_get(r, node);
    void *old = NULL;
    if (n != NULL) {
        if (reply && actr__idmap_del(&n->pending, env->corr, &old))
            free(old);
        if (down && actr__idmap_del(&n->mons, env->corr, &old))
            free(old);
        if (link)
            (void)link_put(n, env->to, env->from);
        if (unlink)
            link_drop(n, env->to, env->from);
    }
    pthread_mutex_unlock(&r->mu);
}

static actr_msg_t *msg_from_frame(actr_ctx_t *ctx, const actr__frame_t *f)
{
    actr_msg_t *m = actr__msg_make(ctx, f->env.type, f->payload_len);
    if (m == NULL)
        return NULL;
    if (f->payload_len)
        memcpy(ACTR__MSG_DATA(m), f->payload, f->payload_len);
    m->flags = f->env.flags & (ACTR__F_REQUEST | ACTR__F_REPLY);
    m->sys = f->env.sys;
    m->aux32 = f->env.aux32;
    m->from = f->env.from;
    m->corr = f->env.corr;
    return m;
}

static void inbound_msg(actr_t *rt, actr_ctx_t *ctx, uint64_t node, const actr__frame_t *f,
                        actr_ref_t to)
{
    actr__wire_env_t env = f->env;
    env.to = to;
    if (env.from.node != node || env.sys == ACTR__SYS_INIT || env.sys > ACTR__SYS_EXIT) {
        /* a node speaks only for its own actors; spawns are local */
        actr__log(rt, ACTR_LOG_WARN, ACTR_REF_NONE,
                  "cluster: node %016llx sent a message %s; dropped",
                  (unsigned long long)node,
                  env.from.node != node ? "in another node's name" : "of a kind it may not send");
        return;
    }
    if (to.node != rt->node_id) {
        answer_undeliverable(ctx, &env); /* for an earlier incarnation of this node */
        return;
    }
    note_in(rt, node, &env);
    if (env.sys == ACTR__SYS_STOP && f->payload_len == strlen(ACTR_REASON_KILLED) &&
        memcmp(f->payload, ACTR_REASON_KILLED, f->payload_len) == 0) {
        (void)actr_actor_kill(ctx, to); /* a kill acts at the next message boundary */
        return;
    }
    actr_msg_t *m = msg_from_frame(ctx, f);
    if (m == NULL)
        return;
    int rc = actr__deliver_io(rt, ctx, to, m);
    if (rc == ACTR_ENOACTOR)
        answer_undeliverable(ctx, &env);
}

void actr__remote_inbound(actr_t *rt, uint64_t node, const actr__frame_t *f)
{
    actr_ctx_t *ctx = &rt->io_ctx;
    switch (f->kind) {
    case ACTR__FR_MSG:
        inbound_msg(rt, ctx, node, f, f->env.to);
        break;
    case ACTR__FR_NAMED: {
        char name[ACTR__WIRE_NAME_MAX + 1];
        memcpy(name, f->name, f->name_len);
        name[f->name_len] = '\0';
        actr_ref_t to = ACTR_REF_NONE;
        if (actr_whereis(ctx, name, &to) != 0) {
            actr__wire_env_t env = f->env;
            env.to = (actr_ref_t){rt->node_id, 0, 0};
            if (env.from.node == node)
                answer_undeliverable(ctx, &env);
            break;
        }
        inbound_msg(rt, ctx, node, f, to);
        break;
    }
    case ACTR__FR_PUB: {
        if (f->env.from.node != node) {
            actr__log(rt, ACTR_LOG_WARN, ACTR_REF_NONE,
                      "cluster: node %016llx published in another node's name; dropped",
                      (unsigned long long)node);
            break;
        }
        char topic[ACTR__WIRE_NAME_MAX + 1];
        memcpy(topic, f->name, f->name_len);
        topic[f->name_len] = '\0';
        actr_msg_t *m = msg_from_frame(ctx, f);
        if (m != NULL) {
            m->flags = 0;
            m->sys = 0;
            (void)actr__publish_local(ctx, topic, m, f->env.from, NULL);
        }
        break;
    }
    case ACTR__FR_LOOKUP: {
        char name[ACTR__WIRE_NAME_MAX + 1];
        memcpy(name, f->name, f->name_len);
        name[f->name_len] = '\0';
        actr__frame_t a;
        memset(&a, 0, sizeof(a));
        a.kind = ACTR__FR_FOUND;
        a.seq = f->seq;
        a.found = actr_whereis(ctx, name, &a.ref) == 0;
        if (!a.found)
            a.ref = ACTR_REF_NONE;
        (void)actr__cluster_send_ctl(rt, ctx, node, &a);
        break;
    }
    case ACTR__FR_FOUND:
        /* a node answers only with refs of its own actors */
        actr__remote_found(rt, ctx, node, f->seq, f->found && f->ref.node == node, f->ref);
        break;
    default:
        break;
    }
}

/* ---- node up and down ----------------------------------------------------------------- */

void actr__remote_up(actr_t *rt, uint64_t node, const char *name)
{
    struct actr__remote *r = remote_of(rt);
    if (r == NULL)
        return;
    rnode_t *n = calloc(1, sizeof(*n));
    if (n == NULL)
        return;
    n->id = node;
    snprintf(n->name, sizeof(n->name), "%s", name);
    pthread_mutex_lock(&r->mu);
    rnode_t *old = node_get(r, node);
    if (old == NULL && actr__idmap_put(&r->nodes, node, n) == 0)
        n = NULL;
    pthread_mutex_unlock(&r->mu);
    free(n); /* already up, or no memory (then its losses cannot be answered) */
    actr__log(rt, ACTR_LOG_INFO, ACTR_REF_NONE, "cluster: node %s is up (incarnation %016llx)",
              name, (unsigned long long)node);
}

typedef struct fire {
    actr_t *rt;
    actr_ctx_t *ctx;
    uint64_t node;
} fire_t;

static void fire_pending(uint64_t id, void *val, void *ud)
{
    fire_t *f = ud;
    actr_ref_t gone = {f->node, 0, 0};
    actr__send_reqfail(f->ctx, gone, *(actr_ref_t *)val, id, ACTR_ENOTCONN);
}

static void fire_mon(uint64_t id, void *val, void *ud)
{
    fire_t *f = ud;
    rmon_t *m = val;
    actr__send_down(f->ctx, m->target, m->watcher, id, ACTR_REASON_NOCONNECTION);
}

void actr__remote_down(actr_t *rt, uint64_t node)
{
    struct actr__remote *r = __atomic_load_n(&rt->remote, __ATOMIC_ACQUIRE);
    if (r == NULL)
        return;
    rnode_t *n = NULL;
    pthread_mutex_lock(&r->mu);
    void *v = NULL;
    if (actr__idmap_del(&r->nodes, node, &v))
        n = v;
    pthread_mutex_unlock(&r->mu);
    actr_ctx_t *ctx = &rt->io_ctx;
    if (n != NULL) {
        actr__log(rt, ACTR_LOG_WARN, ACTR_REF_NONE, "cluster: node %s is lost", n->name);
        fire_t f = {rt, ctx, node};
        actr__idmap_each(&n->pending, fire_pending, &f);
        actr__idmap_each(&n->mons, fire_mon, &f);
        for (size_t i = 0; i < n->nlinks; i++)
            actr__send_exit(ctx, n->links[i].remote, n->links[i].local,
                            ACTR_REASON_NOCONNECTION);
        rnode_free(n);
    }
    /* lookups waiting for this node will not get its answer */
    uint64_t ids[64];
    size_t k;
    do {
        k = 0;
        pthread_mutex_lock(&r->mu);
        for (size_t i = 0; i < r->lookups.cap && k < 64; i++) {
            uint64_t key = r->lookups.keys[i];
            if (key == 0 || key == UINT64_MAX)
                continue;
            lookup_t *l = r->lookups.vals[i];
            for (size_t j = 0; j < l->nwaiting; j++)
                if (l->waiting[j] == node) {
                    ids[k++] = key;
                    break;
                }
        }
        pthread_mutex_unlock(&r->mu);
        for (size_t i = 0; i < k; i++)
            actr__remote_found(rt, ctx, node, ids[i], 0, ACTR_REF_NONE);
    } while (k == 64);
}

static void forget_in_node(uint64_t key, void *val, void *ud)
{
    (void)key;
    rnode_t *n = val;
    void *old = NULL;
    if (actr__idmap_del(&n->pending, *(const uint64_t *)ud, &old))
        free(old);
}

void actr__remote_forget_request(actr_t *rt, uint64_t id)
{
    struct actr__remote *r = __atomic_load_n(&rt->remote, __ATOMIC_ACQUIRE);
    if (r == NULL)
        return; /* nothing was ever sent to another node */
    pthread_mutex_lock(&r->mu);
    actr__idmap_each(&r->nodes, forget_in_node, &id);
    pthread_mutex_unlock(&r->mu);
}

static void count_pending(uint64_t key, void *val, void *ud)
{
    (void)key;
    *(size_t *)ud += ((rnode_t *)val)->pending.len;
}

size_t actr__remote_pending(actr_t *rt)
{
    struct actr__remote *r = __atomic_load_n(&rt->remote, __ATOMIC_ACQUIRE);
    size_t n = 0;
    if (r == NULL)
        return 0;
    pthread_mutex_lock(&r->mu);
    actr__idmap_each(&r->nodes, count_pending, &n);
    pthread_mutex_unlock(&r->mu);
    return n;
}

static void free_node(uint64_t key, void *val, void *ud)
{
    (void)key, (void)ud;
    rnode_free(val);
}

static void free_lookup(uint64_t key, void *val, void *ud)
{
    (void)key, (void)ud;
    lookup_t *l = val;
    free(l->waiting);
    free(l);
}

void actr__remote_free(actr_t *rt)
{
    struct actr__remote *r = rt->remote;
    if (r == NULL)
        return;
    actr__idmap_each(&r->nodes, free_node, NULL);
    actr__idmap_free(&r->nodes);
    actr__idmap_each(&r->lookups, free_lookup, NULL);
    actr__idmap_free(&r->lookups);
    pthread_mutex_destroy(&r->mu);
    free(r);
    rt->remote = NULL;
}

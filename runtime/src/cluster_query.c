/* cluster_query.c — what the cluster's link layer tells the rest of the
 * runtime and the embedder: this node's name and port, the nodes that are up
 * (by name, by incarnation, all of them) and the listing of the peers with
 * their statistics (actr_cluster_peers, which `actr ctl cluster` shows).
 *
 * Threads: any. The lists are read under cl->mu and each connection's
 * statistics under its mu; rows are copied out first, so the caller's
 * callback runs with no lock held (it may call back into the runtime).
 * actr__cluster_up_nodes reads the lock-free table of up connections, as the
 * send path does (cluster_out.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster_link.h"

/* ---- queries ----------------------------------------------------------------------- */

int actr_cluster_port(actr_t *rt)
{
    actr__cluster_t *cl = rt ? actr__cl(rt) : NULL;
    return cl ? cl->port : 0;
}

const char *actr_node_name(const actr_t *rt)
{
    actr__cluster_t *cl = rt ? actr__cl(rt) : NULL;
    return cl ? cl->name : NULL;
}

int actr__cluster_node_by_name(actr_t *rt, const char *name, size_t len, uint64_t *node)
{
    actr__cluster_t *cl = actr__cl(rt);
    *node = 0;
    if (cl == NULL || len == 0 || len > ACTR_NODE_NAME_MAX)
        return ACTR_ENONODE;
    pthread_mutex_lock(&cl->mu);
    for (actr__conn_t *c = cl->all; c != NULL; c = c->all_next)
        if (c->state == C_UP && c->upslot >= 0 && strncmp(c->name, name, len) == 0 &&
            c->name[len] == '\0') {
            *node = c->peer_id;
            break;
        }
    pthread_mutex_unlock(&cl->mu);
    return *node ? 0 : ACTR_ENONODE;
}

int actr__cluster_name_of(actr_t *rt, uint64_t node, char *buf, size_t cap)
{
    actr__cluster_t *cl = actr__cl(rt);
    if (cl == NULL || node == 0)
        return ACTR_ENONODE;
    int rc = ACTR_ENONODE;
    pthread_mutex_lock(&cl->mu);
    for (actr__conn_t *c = cl->all; c != NULL; c = c->all_next)
        if (c->state == C_UP && c->upslot >= 0 && c->peer_id == node) {
            size_t n = strlen(c->name);
            if (n + 1 > cap) {
                rc = ACTR_E2BIG;
            } else {
                memcpy(buf, c->name, n + 1);
                rc = 0;
            }
            break;
        }
    pthread_mutex_unlock(&cl->mu);
    return rc;
}

size_t actr__cluster_up_nodes(actr_t *rt, uint64_t *nodes, size_t cap)
{
    actr__cluster_t *cl = actr__cl(rt);
    if (cl == NULL)
        return 0;
    size_t n = 0;
    /* acquire: pairs with the I/O thread's release stores (see find_up) */
    unsigned hw = atomic_load_explicit(&cl->up_hw, memory_order_acquire);
    for (unsigned i = 0; i < hw && n < cap; i++) {
        actr__conn_t *c = atomic_load_explicit(&cl->up[i], memory_order_acquire);
        uint64_t id = c ? atomic_load_explicit(&c->up_id, memory_order_acquire) : 0;
        if (id != 0)
            nodes[n++] = id;
    }
    return n;
}

int actr_node_of(actr_t *rt, actr_ref_t ref, char *buf, size_t cap)
{
    if (rt == NULL || buf == NULL)
        return ACTR_EINVAL;
    actr__cluster_t *cl = actr__cl(rt);
    if (cl == NULL)
        return ACTR_ENONODE;
    if (ref.node == rt->node_id) {
        if (cl->name_len + 1 > cap)
            return ACTR_E2BIG;
        memcpy(buf, cl->name, cl->name_len + 1);
        return 0;
    }
    return actr__cluster_name_of(rt, ref.node, buf, cap);
}

/* One row of actr_cluster_peers, copied out under the locks. */
typedef struct prow {
    actr_peer_info_t info;
    char name[ACTR_NODE_NAME_MAX + 1];
    char addr[80];
    const char *state;
} prow_t;

/* Add c's own counts and queue to r (c->mu taken here). */
static void add_conn(prow_t *r, actr__conn_t *c)
{
    pthread_mutex_lock(&c->mu);
    r->info.bytes_in += c->bytes_in;
    r->info.bytes_out += c->bytes_out;
    r->info.frames_in += c->frames_in;
    r->info.frames_out += c->frames_out;
    r->info.queue_bytes += c->qbytes;
    r->info.queue_frames += c->qframes;
    pthread_mutex_unlock(&c->mu);
}

/* Fill row r for the peer at addr called name (may be "") whose connection
 * is c (may be NULL). The counters are the node's (every connection it ever
 * had) when its name is known, else c's own (cl->mu held). */
static void fill(actr__cluster_t *cl, prow_t *r, const char *addr, const char *name,
                 actr__conn_t *c, const char *nostate)
{
    static const char *const names[] = {"backoff", "connecting", "handshake", "up", "backoff"};
    memset(r, 0, sizeof(*r));
    snprintf(r->addr, sizeof(r->addr), "%s", addr);
    snprintf(r->name, sizeof(r->name), "%s", name);
    r->state = c != NULL ? names[c->state] : nostate;
    r->info.node_id = c != NULL && c->state == C_UP ? c->peer_id : 0;
    actr__peerstat_t *ps = NULL;
    if (name[0] != '\0')
        for (ps = cl->stats; ps != NULL && strcmp(ps->name, name) != 0; ps = ps->next)
            ;
    if (ps == NULL) {
        if (c != NULL)
            add_conn(r, c);
        return;
    }
    r->info.connects = ps->connects;
    r->info.rtt_ms = ps->rtt_ms;
    r->info.bytes_in = ps->bytes_in;
    r->info.bytes_out = ps->bytes_out;
    r->info.frames_in = ps->frames_in;
    r->info.frames_out = ps->frames_out;
    /* plus the connections not yet folded into the record (closing ones too) */
    for (actr__conn_t *x = cl->all; x != NULL; x = x->all_next)
        if (x->ps == ps)
            add_conn(r, x);
}

int actr_cluster_peers(actr_t *rt, void (*fn)(void *ud, const actr_peer_info_t *), void *ud)
{
    if (rt == NULL || fn == NULL)
        return ACTR_EINVAL;
    actr__cluster_t *cl = actr__cl(rt);
    if (cl == NULL)
        return ACTR_ENOENT;
    pthread_mutex_lock(&cl->mu);
    size_t cap = cl->npeers;
    for (actr__conn_t *c = cl->all; c != NULL; c = c->all_next)
        cap++;
    prow_t *rows = malloc((cap ? cap : 1) * sizeof(*rows));
    if (rows == NULL) {
        pthread_mutex_unlock(&cl->mu);
        return ACTR_ENOMEM;
    }
    size_t n = 0;
    for (size_t i = 0; i < cl->npeers; i++) {
        actr__cfgpeer_t *p = &cl->peers[i];
        actr__conn_t *c = p->name[0] ? actr__cl_up_by_name(cl, p->name, NULL) : NULL;
        if (c == NULL)
            c = p->c;
        fill(cl, &rows[n++], p->addr, p->name, c, "backoff");
    }
    for (actr__conn_t *c = cl->all; c != NULL; c = c->all_next) {
        if (c->state == C_FREE || c->state == C_CLOSING || c->peer != NULL)
            continue;
        if (c->state == C_UP && c->upslot < 0)
            continue;
        int covered = 0;
        for (size_t i = 0; i < cl->npeers && !covered; i++)
            covered = c->state == C_UP && strcmp(cl->peers[i].name, c->name) == 0;
        if (covered)
            continue;
        fill(cl, &rows[n++], c->addr, c->name, c, "handshake");
    }
    pthread_mutex_unlock(&cl->mu);
    for (size_t i = 0; i < n; i++) {
        rows[i].info.name = rows[i].name;
        rows[i].info.addr = rows[i].addr;
        rows[i].info.state = rows[i].state;
        fn(ud, &rows[i].info);
    }
    free(rows);
    return 0;
}

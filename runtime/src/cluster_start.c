/* cluster_start.c — joining a cluster: the options (actr_cluster_options_init,
 * their checks in actr_cluster_start), binding the listening socket on the
 * caller's thread, publishing the cluster record for the I/O thread (which
 * runs everything else, cluster.c), and freeing it at actr_close. Also the
 * node-name and address helpers both halves use.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cluster_link.h"

#define DEF_MAX_FRAME (8u * 1024u * 1024u)
#define DEF_MAX_QUEUE (64ull * 1024u * 1024u)

/* ---- options ---------------------------------------------------------------------- */

void actr_cluster_options_init(actr_cluster_options_t *o)
{
    if (o == NULL)
        return;
    memset(o, 0, sizeof(*o));
    o->size = sizeof(*o);
}

int actr__cl_valid_name(const char *s, size_t n)
{
    if (n == 0 || n > ACTR_NODE_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '.' || ch == '-'))
            return 0;
    }
    return 1;
}

/* "HOST:PORT" with HOST an IPv4 address, "[v6]" or "localhost"; with
 * `name` (peers), also a host name, copied to name[namecap] (sa then holds only
 * the port) for the I/O thread to look up at each connect. */
static int parse_addr(const char *s, struct sockaddr_storage *sa, int port_zero_ok, char *name,
                      size_t namecap)
{
    char host[64];
    const char *colon;
    if (s == NULL)
        return ACTR_EINVAL;
    if (s[0] == '[') {
        const char *end = strchr(s, ']');
        if (end == NULL || end[1] != ':' || (size_t)(end - s - 1) >= sizeof(host))
            return ACTR_EINVAL;
        memcpy(host, s + 1, (size_t)(end - s - 1));
        host[end - s - 1] = '\0';
        colon = end + 1;
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL || (size_t)(colon - s) >= sizeof(host) || colon == s)
            return ACTR_EINVAL;
        memcpy(host, s, (size_t)(colon - s));
        host[colon - s] = '\0';
        if (strchr(host, ':') != NULL)
            return ACTR_EINVAL; /* IPv6 needs brackets */
    }
    const char *p = colon + 1;
    if (*p == '\0')
        return ACTR_EINVAL;
    long port = 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9' || port > 65535)
            return ACTR_EINVAL;
        port = port * 10 + (*p - '0');
    }
    if (port > 65535 || (port == 0 && !port_zero_ok))
        return ACTR_EINVAL;
    memset(sa, 0, sizeof(*sa));
    if (name != NULL)
        name[0] = '\0';
    if (strcmp(host, "localhost") == 0)
        strcpy(host, "127.0.0.1");
    if (uv_ip4_addr(host, (int)port, (struct sockaddr_in *)sa) == 0)
        return 0;
    if (uv_ip6_addr(host, (int)port, (struct sockaddr_in6 *)sa) == 0)
        return 0;
    if (name != NULL && s[0] != '[' && strlen(host) < namecap &&
        actr__host_name_ok(host, strlen(host))) {
        snprintf(name, namecap, "%s", host);
        ((struct sockaddr_in *)sa)->sin_port = htons((uint16_t)port);
        return 0;
    }
    return ACTR_EINVAL;
}

void actr__cl_addr_str(const struct sockaddr_storage *sa, char *buf, size_t cap)
{
    char host[64] = "?";
    int port = 0;
    if (sa->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
        uv_ip4_name(a, host, sizeof(host));
        port = ntohs(a->sin_port);
        snprintf(buf, cap, "%s:%d", host, port);
    } else if (sa->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;
        uv_ip6_name(a, host, sizeof(host));
        port = ntohs(a->sin6_port);
        snprintf(buf, cap, "[%s]:%d", host, port);
    } else {
        snprintf(buf, cap, "?");
    }
}

static int on_worker(actr_t *rt)
{
    pthread_t self = pthread_self();
    for (unsigned i = 0; atomic_load(&rt->started) && rt->workers && i < rt->nworkers; i++)
        if (pthread_equal(self, rt->workers[i].thread))
            return 1;
    return 0;
}

static void cluster_destroy(actr__cluster_t *cl)
{
    if (cl == NULL)
        return;
    for (size_t i = 0; cl->peers != NULL && i < cl->npeers; i++)
        if (cl->peers[i].ai != NULL)
            uv_freeaddrinfo(cl->peers[i].ai);
    if (cl->listen_fd >= 0)
        close(cl->listen_fd);
    actr__conn_t *c = cl->all;
    while (c != NULL) {
        actr__conn_t *nx = c->all_next;
        actr__conn_drop_queue(c, NULL);
        actr__conn_free_spare(c);
        free(c->rbuf);
        free(c->wbufs);
        pthread_mutex_destroy(&c->mu);
        free(c);
        c = nx;
    }
    if (cl->secret != NULL) {
        explicit_bzero(cl->secret, cl->secret_len);
        free(cl->secret);
    }
    for (actr__peerstat_t *s = cl->stats; s != NULL;) {
        actr__peerstat_t *nx = s->next;
        free(s);
        s = nx;
    }
    free(cl->peers);
    free(cl->dirty);
    pthread_mutex_destroy(&cl->mu);
    pthread_mutex_destroy(&cl->kick_mu);
    free(cl);
}

int actr_cluster_start(actr_t *rt, const actr_cluster_options_t *o, actr_error_t *err)
{
    if (rt == NULL || o == NULL || o->size < sizeof(actr_cluster_options_t))
        return actr__fail(err, ACTR_EINVAL, "cluster: no runtime or options");
    if (on_worker(rt))
        return actr__fail(err, ACTR_ECONTEXT, "cluster: actr_cluster_start from a handler");
    if (atomic_load_explicit(&rt->stopping, memory_order_acquire))
        return actr__fail(err, ACTR_ESTOPPED, "cluster: the runtime is stopping");
    if (actr__cl(rt) != NULL)
        return actr__fail(err, ACTR_EEXIST, "cluster: already started");
    if (o->node_name == NULL || !actr__cl_valid_name(o->node_name, strlen(o->node_name)))
        return actr__fail(err, ACTR_EINVAL,
                          "cluster: node name '%s': expected 1..64 of [A-Za-z0-9_.-]",
                          o->node_name ? o->node_name : "(null)");
    if (o->secret == NULL || o->secret_len < ACTR_CLUSTER_MIN_SECRET)
        return actr__fail(err, ACTR_EINVAL, "cluster: secret: expected at least %d bytes",
                          ACTR_CLUSTER_MIN_SECRET);
    if (o->npeers > 0 && o->peers == NULL)
        return actr__fail(err, ACTR_EINVAL, "cluster: peers: NULL list");
    if (o->npeers > ACTR__CL_MAX_UP)
        return actr__fail(err, ACTR_EINVAL, "cluster: peers: more than %d", ACTR__CL_MAX_UP);
    if (o->max_frame != 0 && o->max_frame < 1024)
        return actr__fail(err, ACTR_EINVAL, "cluster: max_frame: expected at least 1024 bytes");

    actr__cluster_t *cl = calloc(1, sizeof(*cl));
    if (cl == NULL)
        return actr__fail(err, ACTR_ENOMEM, "cluster: out of memory");
    cl->rt = rt;
    cl->listen_fd = -1;
    pthread_mutex_init(&cl->mu, NULL);
    pthread_mutex_init(&cl->kick_mu, NULL);
    cl->name_len = strlen(o->node_name);
    memcpy(cl->name, o->node_name, cl->name_len + 1);
    cl->max_frame = o->max_frame ? o->max_frame : DEF_MAX_FRAME;
    cl->max_queue = o->max_queue ? o->max_queue : DEF_MAX_QUEUE;
    cl->heartbeat_ms = o->heartbeat_ms ? o->heartbeat_ms : 1000;
    cl->dead_after_ms = o->dead_after_ms ? o->dead_after_ms : 5000;
    cl->reconnect_min_ms = o->reconnect_min_ms ? o->reconnect_min_ms : 100;
    cl->reconnect_max_ms = o->reconnect_max_ms ? o->reconnect_max_ms : 5000;
    if (cl->reconnect_max_ms < cl->reconnect_min_ms)
        cl->reconnect_max_ms = cl->reconnect_min_ms;
    uint32_t t = cl->heartbeat_ms;
    if (cl->reconnect_min_ms < t)
        t = cl->reconnect_min_ms;
    if (cl->dead_after_ms / 2 < t)
        t = cl->dead_after_ms / 2;
    t /= 2;
    cl->tick_ms = t < 5 ? 5 : t > 250 ? 250 : t;
    cl->rng = (uint32_t)(rt->node_id ^ (rt->node_id >> 32)) | 1u;
    cl->secret = malloc(o->secret_len);
    cl->dirty = calloc(rt->nworkers ? rt->nworkers : 1, sizeof(*cl->dirty));
    cl->peers = calloc(o->npeers ? o->npeers : 1, sizeof(*cl->peers));
    if (cl->secret == NULL || cl->dirty == NULL || cl->peers == NULL) {
        cluster_destroy(cl);
        return actr__fail(err, ACTR_ENOMEM, "cluster: out of memory");
    }
    memcpy(cl->secret, o->secret, o->secret_len);
    cl->secret_len = o->secret_len;
    cl->ndirty = rt->nworkers;
    for (size_t i = 0; i < o->npeers; i++) {
        actr__cfgpeer_t *p = &cl->peers[i];
        const char *a = o->peers[i];
        if (a == NULL || strlen(a) >= sizeof(p->addr) ||
            parse_addr(a, &p->sa, 0, p->host, sizeof(p->host)) != 0) {
            int rc = actr__fail(err, ACTR_EINVAL,
                                "cluster: peers[%zu] '%s': expected HOST:PORT (IPv4, [IPv6] "
                                "or a host name; port 1..65535)",
                                i, a ? a : "(null)");
            cluster_destroy(cl);
            return rc;
        }
        snprintf(p->addr, sizeof(p->addr), "%s", a);
        snprintf(p->port, sizeof(p->port), "%u",
                 (unsigned)ntohs(((struct sockaddr_in *)&p->sa)->sin_port));
        p->cl = cl;
        p->backoff_ms = cl->reconnect_min_ms;
        cl->npeers++;
    }
    if (o->listen != NULL) {
        struct sockaddr_storage sa;
        if (strlen(o->listen) >= sizeof(cl->listen_addr) ||
            parse_addr(o->listen, &sa, 1, NULL, 0) != 0) {
            int rc = actr__fail(err, ACTR_EINVAL,
                                "cluster: listen '%s': expected HOST:PORT (IPv4, [IPv6] or "
                                "localhost; port 0..65535)",
                                o->listen);
            cluster_destroy(cl);
            return rc;
        }
        /* bound here, on the caller's thread, so that a taken port is this
         * call's error; libuv adopts the socket on the I/O thread */
        int fd = socket(sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        int one = 1, rc = 0;
        if (fd < 0)
            rc = -errno;
        else if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
                 bind(fd, (struct sockaddr *)&sa,
                      sa.ss_family == AF_INET ? sizeof(struct sockaddr_in)
                                              : sizeof(struct sockaddr_in6)) != 0 ||
                 listen(fd, 128) != 0)
            rc = -errno;
        if (fd >= 0)
            cl->listen_fd = fd;
        if (rc != 0) {
            rc = actr__fail(err, rc, "cluster: listen %s: %s", o->listen, uv_strerror(rc));
            cluster_destroy(cl);
            return rc;
        }
        struct sockaddr_storage got;
        socklen_t gl = sizeof(got);
        if (getsockname(fd, (struct sockaddr *)&got, &gl) == 0)
            actr__cl_addr_str(&got, cl->listen_addr, sizeof(cl->listen_addr));
        cl->port = got.ss_family == AF_INET ? ntohs(((struct sockaddr_in *)&got)->sin_port)
                                            : ntohs(((struct sockaddr_in6 *)&got)->sin6_port);
    }
    /* logged before publishing: from then on the I/O thread owns cl's fields */
    actr__log(rt, ACTR_LOG_INFO, ACTR_REF_NONE,
              "cluster: node %s (incarnation %016llx)%s%s, %zu peer%s", cl->name,
              (unsigned long long)rt->node_id, cl->listen_fd >= 0 ? " listening on " : "",
              cl->listen_fd >= 0 ? cl->listen_addr : "", cl->npeers, cl->npeers == 1 ? "" : "s");
    /* publish: release pairs with the acquire loads of actr__cl */
    actr__cluster_t *expected = NULL;
    if (!__atomic_compare_exchange_n(&rt->cluster, &expected, cl, 0, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE)) {
        cluster_destroy(cl);
        return actr__fail(err, ACTR_EEXIST, "cluster: already started");
    }
    actr__notify_io(rt); /* a running loop starts it now; otherwise actr_start does */
    return 0;
}

void actr__cluster_free(actr_t *rt)
{
    actr__cluster_t *cl = rt ? actr__cl(rt) : NULL;
    if (cl == NULL)
        return;
    __atomic_store_n(&rt->cluster, NULL, __ATOMIC_RELEASE);
    cluster_destroy(cl);
}

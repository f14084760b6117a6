/* cluster_harness.c — cluster nodes for the suites cluster_node and
 * cluster_wire (see cluster_harness.h): their runtime.yaml, a full mesh of
 * them, and the probe commands sent over `actr ctl call`, with the waits
 * that poll the probes' stats until a deadline.
 */
#include "cluster_harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* A probe's ref string "NODEHEX.SLOT.GEN" into *out. */
int ref_from_str_for_test(const char *s, actr_ref_t *out)
{
    unsigned long long node;
    unsigned slot, gen;
    int used = 0;
    if (sscanf(s, "%16llx.%u.%u%n", &node, &slot, &gen, &used) != 3 || s[used] != '\0')
        return ACTR_EINVAL;
    *out = (actr_ref_t){node, slot, gen};
    return 0;
}

/* n free TCP ports on 127.0.0.1 (all bound at once, so they differ). */
void free_ports(int *ports, int n)
{
    int fds[8];
    ASSERT(n <= 8);
    for (int i = 0; i < n; i++) {
        struct sockaddr_in a;
        socklen_t al = sizeof(a);
        memset(&a, 0, sizeof(a));
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ASSERT(fds[i] >= 0);
        ASSERT_EQ(bind(fds[i], (struct sockaddr *)&a, sizeof(a)), 0);
        ASSERT_EQ(getsockname(fds[i], (struct sockaddr *)&a, &al), 0);
        ports[i] = ntohs(a.sin_port);
    }
    for (int i = 0; i < n; i++)
        close(fds[i]);
}

/* Write node n's runtime.yaml: it listens on its port and connects to the
 * ports of peers (npeers). */
void cluster_config(node_t *n, const char *name, int port, const int *peers, int npeers,
                    const char *secret, const char *extra)
{
    char yaml[4096], plist[512] = "";
    size_t pl = 0;
    memset(n, 0, sizeof(*n));
    snprintf(n->name, sizeof(n->name), "%s", name);
    test_tmpdir(n->dir, sizeof(n->dir), "actr-cluster");
    snprintf(n->cfg, sizeof(n->cfg), "%s/runtime.yaml", n->dir);
    snprintf(n->sock, sizeof(n->sock), "%s/ctl.sock", n->dir);
    snprintf(n->env, sizeof(n->env), "ACTR_CLUSTER_SECRET=%s", secret);
    n->port = port;
    for (int i = 0; i < npeers; i++)
        pl += (size_t)snprintf(plist + pl, sizeof(plist) - pl, "%s\"127.0.0.1:%d\"", i ? ", " : "",
                               peers[i]);
    snprintf(yaml, sizeof(yaml),
             "node: {name: %s, data_dir: %s/data}\n"
             "control: {socket: %s}\n"
             "store: {enabled: false}\n"
             "log: {level: \"${ACTR_TEST_LOG:-info}\"}\n"
             "cluster:\n"
             "  enabled: true\n"
             "  listen: \"127.0.0.1:%d\"\n"
             "  peers: [%s]\n"
             "  secret: \"${ACTR_CLUSTER_SECRET}\"\n"
             "  heartbeat_ms: %d\n"
             "  dead_after_ms: %d\n"
             "%s"
             "plugins:\n"
             "  - path: %s\n"
             "    actors:\n"
             "      - {name: probe, type: cluster.probe}\n"
             "      - {name: v, type: cluster.probe, count: 4, restart: temporary,\n"
             "         args: {trap_exit: false}}\n"
             "      - {name: here-%s, type: cluster.probe}\n",
             name, n->dir, n->sock, port, plist, HEARTBEAT_MS, DEAD_AFTER_MS, extra ? extra : "",
             PROBE_SO, name);
    test_write_file(n->cfg, yaml, strlen(yaml));
}

/* Configure nodes[0..k) as a full mesh (each lists every other as a peer). */
void mesh_config(node_t *nodes, const char *const *names, int k)
{
    int ports[8], peers[8];
    free_ports(ports, k);
    for (int i = 0; i < k; i++) {
        int np = 0;
        for (int j = 0; j < k; j++)
            if (j != i)
                peers[np++] = ports[j];
        cluster_config(&nodes[i], names[i], ports[i], peers, np, SECRET, NULL);
    }
}

void node_done(node_t *n)
{
    node_free(n);
    test_rmtree(n->dir);
}

void stop_all(node_t *nodes, int k)
{
    for (int i = 0; i < k; i++)
        node_stop(&nodes[i], SIGTERM);
    for (int i = 0; i < k; i++)
        node_done(&nodes[i]);
}

/* ---- probe commands ------------------------------------------------------------ */

json_t *ctl_call(node_t *n, const char *actor, const char *json)
{
    return node_call(n, actor, json, DEADLINE_MS);
}

/* A command that must answer {"ok":true,...}. */
json_t *cmd_ok(node_t *n, const char *actor, const char *json)
{
    json_t *j = ctl_call(n, actor, json);
    if (!jok(j)) {
        char *s = json_dumps(j, 0);
        NODE_FAIL("%s on %s: %s answered %s", actor, n->name, json, s);
    }
    return j;
}

/* A command that must answer {"ok":true,...}; the answer is not needed. */
void cmd(node_t *n, const char *actor, const char *json) { json_decref(cmd_ok(n, actor, json)); }

/* A command that must fail with error `want`. */
void cmd_err(node_t *n, const char *actor, const char *json, const char *want)
{
    json_t *j = ctl_call(n, actor, json);
    if (jok(j) || strcmp(jstr(j, "error"), want) != 0) {
        char *s = json_dumps(j, 0);
        NODE_FAIL("%s on %s: %s: expected error %s, got %s", actor, n->name, json, want, s);
    }
    json_decref(j);
}

/* The ref string of an actor (its "self"). */
void self_ref(node_t *n, const char *actor, char *out /* [64] */)
{
    json_t *j = cmd_ok(n, actor, "{\"op\":\"self\"}");
    snprintf(out, 64, "%s", jstr(j, "ref"));
    json_decref(j);
}

json_t *stats(node_t *n, const char *actor) { return cmd_ok(n, actor, "{\"op\":\"stats\"}"); }

/* The stream (id, topic) in stats j, or NULL. */
json_t *find_stream(json_t *j, uint64_t id, const char *topic)
{
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(j, "streams"), i, s)
    {
        if ((uint64_t)jint(s, "stream") == id && strcmp(jstr(s, "topic"), topic) == 0)
            return s;
    }
    return NULL;
}

/* Wait until `actor` on n has received `count` messages of stream id (topic),
 * then check: from `from` (if not NULL), FIFO, no loss, no duplicates. */
void expect_stream(node_t *n, const char *actor, uint64_t id, const char *topic, uint64_t count,
                   const char *from)
{
    uint64_t dl = test_now_ms() + DEADLINE_MS;
    for (;;) {
        json_t *j = stats(n, actor), *s = find_stream(j, id, topic);
        if (s != NULL && (uint64_t)jint(s, "count") >= count) {
            char *d = json_dumps(s, 0);
            if ((uint64_t)jint(s, "count") != count || (uint64_t)jint(s, "next") != count ||
                jint(s, "order_errors") != 0 || jint(s, "dups") != 0 ||
                (from != NULL && strcmp(jstr(s, "from"), from) != 0))
                NODE_FAIL("%s on %s, stream %llu '%s': expected %llu in order from %s, got %s",
                          actor, n->name, (unsigned long long)id, topic, (unsigned long long)count,
                          from ? from : "anyone", d);
            free(d);
            json_decref(j);
            return;
        }
        if (test_now_ms() > dl) {
            char *d = json_dumps(j, 0);
            NODE_FAIL("%s on %s: stream %llu '%s' did not reach %llu within %d ms: %s", actor,
                      n->name, (unsigned long long)id, topic, (unsigned long long)count,
                      DEADLINE_MS, d);
        }
        json_decref(j);
        test_nap_ms(20);
    }
}

/* Wait until n's probe reaches the probe of node `peer` by name (the node
 * is up on n's side and answers). */
void wait_reaches(node_t *n, const char *peer)
{
    char q[160];
    uint64_t dl = test_now_ms() + DEADLINE_MS;
    snprintf(q, sizeof(q), "{\"op\":\"resolve\",\"to\":\"probe@%s\",\"resolve_ms\":500}", peer);
    for (;;) {
        json_t *j = ctl_call(n, "probe", q);
        int ok = jok(j);
        json_decref(j);
        if (ok)
            return;
        if (test_now_ms() > dl)
            NODE_FAIL("%s does not reach probe@%s within %d ms; stderr:\n%s", n->name, peer,
                      DEADLINE_MS, proc_err(&n->p));
        test_nap_ms(20);
    }
}

void wait_mesh(node_t *nodes, int k)
{
    for (int i = 0; i < k; i++)
        for (int j = 0; j < k; j++)
            if (i != j)
                wait_reaches(&nodes[i], nodes[j].name);
}

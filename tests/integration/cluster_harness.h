/* cluster_harness.h — cluster nodes for the suites cluster_node and
 * cluster_wire: `actr run` processes on 127.0.0.1 with cluster enabled, free
 * ports chosen at run time, the secret through ${ACTR_CLUSTER_SECRET} in
 * their environment, and the test plugin cluster_probe
 * (tests/plugins/cluster_probe.c) with the actors "probe" (traps exits),
 * "v-1".."v-4" (do not trap exits, restart temporary) and "here-NAME" (a
 * name only that node has). The probes obey the JSON commands documented in
 * cluster_probe.c, sent with `actr ctl call`, and report what they received.
 * Built on node_harness.h; every wait polls with DEADLINE_MS.
 */
#ifndef ACTR_TEST_CLUSTER_HARNESS_H
#define ACTR_TEST_CLUSTER_HARNESS_H

#include <stdint.h>

#include <jansson.h>

#include "actr.h"
#include "node_harness.h"

#define PROBE_SO TEST_PLUGINS "/cluster_probe.so"
#define SECRET "cluster-node-test-secret-0123456789"
#define WRONG_SECRET "another-secret-entirely-9876543210"
#define DEAD_AFTER_MS 1500
#define HEARTBEAT_MS 250

#define T_SEQ 0x70001u  /* the probe's numbered message [stream, seq] */
#define T_CALL 0x70004u /* the probe's call request [hold, arg] */

/* A probe's ref string "NODEHEX.SLOT.GEN" into *out: 0 or ACTR_EINVAL. */
int ref_from_str_for_test(const char *s, actr_ref_t *out);

/* n (at most 8) free TCP ports on 127.0.0.1 (all bound at once, so they
 * differ). */
void free_ports(int *ports, int n);

/* Zero n, make its folder and write its runtime.yaml: node `name` listens on
 * `port` and connects to the npeers ports in peers; `extra` (or NULL) is
 * more lines of the cluster: section. */
void cluster_config(node_t *n, const char *name, int port, const int *peers, int npeers,
                    const char *secret, const char *extra);

/* Configure nodes[0..k) as a full mesh (each lists every other as a peer). */
void mesh_config(node_t *nodes, const char *const *names, int k);

/* node_free, and remove the node's folder. */
void node_done(node_t *n);

/* SIGTERM to nodes[0..k) (each must exit 0), then node_done for each. */
void stop_all(node_t *nodes, int k);

/* `actr ctl call` with a DEADLINE_MS timeout that must succeed at the ctl
 * level: the reply. */
json_t *ctl_call(node_t *n, const char *actor, const char *json);

/* A command that must answer {"ok":true,...}: the answer. */
json_t *cmd_ok(node_t *n, const char *actor, const char *json);

/* cmd_ok, the answer not needed. */
void cmd(node_t *n, const char *actor, const char *json);

/* A command that must fail with error `want`. */
void cmd_err(node_t *n, const char *actor, const char *json, const char *want);

/* The ref string of an actor (its "self"). */
void self_ref(node_t *n, const char *actor, char *out /* [64] */);

/* The probe's stats (see cluster_probe.c). */
json_t *stats(node_t *n, const char *actor);

/* The stream (id, topic) in stats j, or NULL. */
json_t *find_stream(json_t *j, uint64_t id, const char *topic);

/* Wait until `actor` on n has received `count` messages of stream id (topic),
 * then check: from `from` (if not NULL), FIFO, no loss, no duplicates. */
void expect_stream(node_t *n, const char *actor, uint64_t id, const char *topic, uint64_t count,
                   const char *from);

/* Wait until n's probe reaches the probe of node `peer` by name. */
void wait_reaches(node_t *n, const char *peer);

/* wait_reaches for every ordered pair of nodes[0..k). */
void wait_mesh(node_t *nodes, int k);

#endif

/* test-cluster-node.c — the cluster (actr/cluster.h) between `actr run`
 * processes on 127.0.0.1, driven over `actr ctl` against each node's control
 * socket (suite `cluster_node`; the nodes and their probes are described in
 * cluster_harness.h).
 *
 * What the probes report is what the tests check: FIFO per sender-receiver
 * pair with no loss and no duplicates, request/reply, name@node, monitors
 * and links across nodes with their reasons, topics spanning the nodes;
 * kill -9 of a node (DOWN "noconnection", pending requests failed with
 * ENOTCONN long before their timeout, reconnection with a new incarnation
 * whose old refs are refused); a node with the wrong secret; a bounded
 * outbound queue. The test process also joins as an embedded node to check
 * actr_lookup and actr_node_of. Bad bytes on the cluster port are in
 * test-cluster-wire.c.
 *
 * Waits poll with a deadline, never a fixed sleep; no timing is asserted (a
 * call with a 60 s timeout failing with ENOTCONN inside the poll's deadline
 * says which of two outcomes happened, not how fast).
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "actr/cluster.h"
#include "cluster_harness.h"
#include "node_harness.h"
#include "task.h"

#ifdef ACTR_SANITIZED
#define NMSG 3000
#else
#define NMSG 5000
#endif

/* ---- probe stats ---------------------------------------------------------------------------- */

/* 1 if stats j list an event in `list` ("downs", "exits") from `from` (NULL:
 * anyone) with `reason`. */
static int has_event(json_t *j, const char *list, const char *from, const char *reason)
{
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(j, list), i, e)
    {
        if ((from == NULL || strcmp(jstr(e, "from"), from) == 0) &&
            strcmp(jstr(e, "reason"), reason) == 0)
            return 1;
    }
    return 0;
}

static void expect_event(node_t *n, const char *actor, const char *list, const char *from,
                         const char *reason)
{
    uint64_t dl = test_now_ms() + DEADLINE_MS;
    for (;;) {
        json_t *j = stats(n, actor);
        if (has_event(j, list, from, reason)) {
            json_decref(j);
            return;
        }
        if (test_now_ms() > dl) {
            char *d = json_dumps(j, 0);
            NODE_FAIL("%s on %s: no %s from %s with reason \"%s\" within %d ms: %s", actor, n->name,
                      list, from ? from : "anyone", reason, DEADLINE_MS, d);
        }
        json_decref(j);
        test_nap_ms(20);
    }
}

/* Wait until call #idx of actor on n has ended; check its state and error. */
static void expect_call(node_t *n, const char *actor, long long idx, const char *state,
                        const char *error, int deadline_ms)
{
    uint64_t dl = test_now_ms() + (uint64_t)deadline_ms;
    for (;;) {
        json_t *j = stats(n, actor), *c = json_array_get(json_object_get(j, "calls"), (size_t)idx);
        ASSERT_NOT_NULL(c);
        if (strcmp(jstr(c, "state"), "pending") != 0) {
            if (strcmp(jstr(c, "state"), state) != 0 || strcmp(jstr(c, "error"), error) != 0) {
                char *d = json_dumps(c, 0);
                NODE_FAIL("%s on %s, call %lld: expected %s %s, got %s", actor, n->name, idx, state,
                          error, d);
            }
            json_decref(j);
            return;
        }
        if (test_now_ms() > dl)
            NODE_FAIL("%s on %s, call %lld still pending after %d ms", actor, n->name, idx,
                      deadline_ms);
        json_decref(j);
        test_nap_ms(20);
    }
}

/* ---- actr ctl cluster -------------------------------------------------------------------- */

/* The peers of n as `actr ctl raw {"cmd":"cluster"}` reports them (JSON). */
static json_t *cluster_peers(node_t *n)
{
    proc_t p = {0};
    int code = node_ctl(n, &p, NULL, "raw", "{\"cmd\":\"cluster\"}", NULL, NULL);
    if (code != 0)
        TEST_FAIL_("ctl raw cluster on %s: exit %d: %s", n->name, code, proc_err(&p));
    json_t *j = test_parse_json(p.out);
    proc_free(&p);
    if (!jok(j)) {
        char *d = json_dumps(j, 0);
        TEST_FAIL_("ctl raw cluster on %s: %s", n->name, d);
    }
    return j;
}

/* The peer entry named `name` in j, or NULL. */
static json_t *peer_named(json_t *j, const char *name)
{
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(j, "peers"), i, e)
    {
        if (strcmp(jstr(e, "name"), name) == 0)
            return e;
    }
    return NULL;
}

static int peer_up(node_t *n, const char *name)
{
    json_t *j = cluster_peers(n), *e = peer_named(j, name);
    int up = e != NULL && strcmp(jstr(e, "state"), "up") == 0;
    json_decref(j);
    return up;
}

static void wait_peer(node_t *n, const char *name, int up)
{
    uint64_t dl = test_now_ms() + DEADLINE_MS;
    while (peer_up(n, name) != up) {
        if (test_now_ms() > dl) {
            json_t *j = cluster_peers(n);
            char *d = json_dumps(j, 0);
            NODE_FAIL("%s: peer %s not %s within %d ms: %s\nstderr:\n%s", n->name, name,
                      up ? "up" : "down", DEADLINE_MS, d, proc_err(&n->p));
        }
        test_nap_ms(20);
    }
}

/* The human-readable `actr ctl cluster` lists every peer with its state. */
static void ctl_cluster_text(node_t *n, const char *peer, const char *state)
{
    proc_t p = {0};
    int code = node_ctl(n, &p, NULL, "cluster", NULL, NULL, NULL);
    const char *out = p.out;
    const char *line = strstr(out, peer);
    if (code != 0 || line == NULL || strstr(line, state) == NULL)
        NODE_FAIL("actr ctl cluster on %s: expected %s %s; exit %d:\n%s%s", n->name, peer, state,
                  code, out, proc_err(&p));
    proc_free(&p);
}

/* ---- send, request/reply, names, topics -------------------------------------------------- */

TEST_IMPL(cluster_node, send_order_call_names_and_topics)
{
    const char *names[] = {"a", "b", "c"};
    node_t nd[3];
    node_t *A = &nd[0], *B = &nd[1], *C = &nd[2];
    char ra[64], rb[64], rc[64], rav1[64], q[512];
    json_t *j;

    mesh_config(nd, names, 3);
    for (int i = 0; i < 3; i++)
        node_start(&nd[i]);
    wait_mesh(nd, 3);
    self_ref(A, "probe", ra);
    self_ref(B, "probe", rb);
    self_ref(C, "probe", rc);
    self_ref(A, "v-1", rav1);

    /* four streams at once: two senders into b's probe, by name; a by name
     * into c; b into a by ref (resolved first) */
    {
        proc_t s[4] = {{0}};
        snprintf(q, sizeof(q), "{\"op\":\"send\",\"to\":\"probe@b\",\"n\":%d,\"stream\":1}", NMSG);
        node_call_begin(A, &s[0], "probe", q, DEADLINE_MS);
        snprintf(q, sizeof(q), "{\"op\":\"send\",\"to\":\"probe@b\",\"n\":%d,\"stream\":2}", NMSG);
        node_call_begin(C, &s[1], "probe", q, DEADLINE_MS);
        snprintf(q, sizeof(q), "{\"op\":\"send\",\"to\":\"probe@c\",\"n\":%d,\"stream\":3}", NMSG);
        node_call_begin(A, &s[2], "v-1", q, DEADLINE_MS);
        snprintf(q, sizeof(q),
                 "{\"op\":\"send\",\"to\":\"probe@a\",\"resolve\":true,\"n\":%d,\"stream\":4}",
                 NMSG);
        node_call_begin(B, &s[3], "probe", q, DEADLINE_MS);
        for (int i = 0; i < 4; i++) {
            char *err = NULL;
            j = node_call_end(&s[i], DEADLINE_MS, &err);
            if (j == NULL || !jok(j) || jint(j, "sent") != NMSG)
                NODE_FAIL("send job %d: %s", i, j ? json_dumps(j, 0) : err);
            json_decref(j);
        }
    }
    expect_stream(B, "probe", 1, "", NMSG, ra);
    expect_stream(B, "probe", 2, "", NMSG, rc);
    expect_stream(C, "probe", 3, "", NMSG, rav1);
    expect_stream(A, "probe", 4, "", NMSG, rb);

    /* request/reply across nodes, by name and by ref */
    j = cmd_ok(A, "probe", "{\"op\":\"call\",\"to\":\"probe@c\",\"arg\":{\"x\":[1,2,3]}}");
    {
        json_t *r = json_object_get(j, "reply");
        json_t *want = test_parse_json("{\"x\":[1,2,3]}");
        ASSERT(json_equal(json_object_get(r, "echo"), want));
        ASSERT_STR_EQ(jstr(r, "by"), rc);
        json_decref(want);
    }
    json_decref(j);
    snprintf(q, sizeof(q), "{\"op\":\"call\",\"ref\":\"%s\",\"arg\":7}", rb);
    j = cmd_ok(C, "probe", q);
    ASSERT_EQ(jint(json_object_get(j, "reply"), "echo"), 7);
    json_decref(j);

    /* names: this node's own name is local; an unknown node is ENONODE; a
     * name the other node lacks drops the message (resolve gets no answer) */
    j = cmd_ok(A, "probe", "{\"op\":\"resolve\",\"to\":\"probe@a\"}");
    ASSERT_STR_EQ(jstr(j, "ref"), ra);
    json_decref(j);
    j = cmd_ok(A, "probe", "{\"op\":\"resolve\",\"to\":\"here-b@b\"}");
    ASSERT(strncmp(jstr(j, "ref"), rb, 16) == 0); /* same node */
    json_decref(j);
    cmd_err(A, "probe", "{\"op\":\"send\",\"to\":\"probe@nosuchnode\",\"n\":1,\"stream\":9}",
            "ENONODE");
    cmd_err(A, "probe", "{\"op\":\"resolve\",\"to\":\"here-a@b\",\"resolve_ms\":1000}",
            "unresolved");
    j = cmd_ok(A, "probe", "{\"op\":\"send\",\"to\":\"nobody@b\",\"n\":1,\"stream\":9}");
    json_decref(j);
    /* requests to a missing remote name: REQFAIL ENOACTOR (a stale ref here) */
    {
        char stale[64];
        snprintf(stale, sizeof(stale), "%.16s.4000.7", rb);
        snprintf(q, sizeof(q), "{\"op\":\"call\",\"ref\":\"%s\",\"timeout\":60000}", stale);
        cmd_err(A, "probe", q, "ENOACTOR");
    }

    /* topics span the nodes */
    cmd(A, "probe", "{\"op\":\"sub\",\"topic\":\"news\"}");
    cmd(B, "probe", "{\"op\":\"sub\",\"topic\":\"news\"}");
    cmd(C, "probe", "{\"op\":\"sub\",\"topic\":\"news\"}");
    cmd(B, "v-1", "{\"op\":\"sub\",\"topic\":\"news\"}");
    {
        proc_t s[2] = {{0}};
        node_call_begin(A, &s[0], "probe",
                        "{\"op\":\"pub\",\"topic\":\"news\",\"n\":300,\"stream\":7}", DEADLINE_MS);
        node_call_begin(C, &s[1], "probe",
                        "{\"op\":\"pub\",\"topic\":\"news\",\"n\":300,\"stream\":8}", DEADLINE_MS);
        for (int i = 0; i < 2; i++) {
            j = node_call_end(&s[i], DEADLINE_MS, NULL);
            ASSERT(j != NULL && jok(j) && jint(j, "errors") == 0);
            json_decref(j);
        }
    }
    for (int i = 0; i < 3; i++) {
        expect_stream(&nd[i], "probe", 7, "news", 300, ra);
        expect_stream(&nd[i], "probe", 8, "news", 300, rc);
    }
    expect_stream(B, "v-1", 7, "news", 300, ra);
    expect_stream(B, "v-1", 8, "news", 300, rc);
    /* not subscribed: nothing; unsubscribed: nothing more */
    cmd(B, "v-1", "{\"op\":\"unsub\",\"topic\":\"news\"}");
    cmd(A, "probe", "{\"op\":\"pub\",\"topic\":\"news\",\"n\":5,\"stream\":10}");
    expect_stream(B, "probe", 10, "news", 5, ra);
    j = stats(B, "v-1");
    ASSERT_NULL(find_stream(j, 10, "news"));
    json_decref(j);
    j = stats(C, "v-2");
    ASSERT_EQ(json_array_size(json_object_get(j, "streams")), 0);
    json_decref(j);

    /* nothing arrived twice meanwhile */
    expect_stream(B, "probe", 1, "", NMSG, ra);
    expect_stream(A, "probe", 4, "", NMSG, rb);

    /* observability */
    j = cluster_peers(A);
    {
        json_t *e = peer_named(j, "c");
        ASSERT_NOT_NULL(e);
        ASSERT_STR_EQ(jstr(e, "state"), "up");
        ASSERT(jint(e, "frames_out") > 0 && jint(e, "frames_in") > 0);
        ASSERT(jint(e, "bytes_out") > 0 && jint(e, "bytes_in") > 0);
    }
    json_decref(j);
    ctl_cluster_text(A, "b", "up");
    stop_all(nd, 3);
}

/* ---- monitors and links ------------------------------------------------------------------- */

TEST_IMPL(cluster_node, monitors_and_links_across_nodes)
{
    const char *names[] = {"a", "b", "c"};
    node_t nd[3];
    node_t *A = &nd[0], *B = &nd[1], *C = &nd[2];
    char r[64], q[256], av1[64], av2[64], bv4[64], cv2[64], cv3[64], cv4[64];
    json_t *j;

    mesh_config(nd, names, 3);
    for (int i = 0; i < 3; i++)
        node_start(&nd[i]);
    wait_mesh(nd, 3);

    /* a monitor on b's v-1: DOWN with its reason */
    j = cmd_ok(A, "probe", "{\"op\":\"monitor\",\"to\":\"v-1@b\"}");
    snprintf(r, sizeof(r), "%s", jstr(j, "ref"));
    json_decref(j);
    cmd(B, "v-1", "{\"op\":\"exit\",\"reason\":\"boom\"}");
    expect_event(A, "probe", "downs", r, "boom");
    /* monitoring it again: it is gone, "noproc" */
    snprintf(q, sizeof(q), "{\"op\":\"monitor\",\"ref\":\"%s\"}", r);
    json_decref(cmd_ok(C, "probe", q));
    expect_event(C, "probe", "downs", r, "noproc");

    /* links with trapped exits: both linked probes get the exit */
    j = cmd_ok(A, "probe", "{\"op\":\"link\",\"to\":\"v-2@b\"}");
    snprintf(r, sizeof(r), "%s", jstr(j, "ref"));
    json_decref(j);
    json_decref(cmd_ok(C, "probe", "{\"op\":\"link\",\"to\":\"v-2@b\"}"));
    cmd(B, "v-2", "{\"op\":\"exit\",\"reason\":\"crash\"}");
    expect_event(A, "probe", "exits", r, "crash");
    expect_event(C, "probe", "exits", r, "crash");

    /* a link propagates a death: a's v-1 (not trapping) dies with b's v-3 */
    self_ref(A, "v-1", av1);
    json_decref(cmd_ok(A, "probe", "{\"op\":\"monitor\",\"to\":\"v-1\"}"));
    json_decref(cmd_ok(A, "v-1", "{\"op\":\"link\",\"to\":\"v-3@b\"}"));
    cmd(B, "v-3", "{\"op\":\"exit\",\"reason\":\"cascade\"}");
    expect_event(A, "probe", "downs", av1, "cascade");
    {
        proc_t p = {0};
        char *err = NULL;
        node_call_begin(A, &p, "v-1", "{\"op\":\"self\"}", DEADLINE_MS);
        ASSERT_NULL(node_call_end(&p, DEADLINE_MS, &err)); /* v-1 is gone */
        free(err);
    }

    /* ... and the other way: b's v-4 dies with a's v-2 */
    self_ref(A, "v-2", av2);
    self_ref(B, "v-4", bv4);
    json_decref(cmd_ok(B, "probe", "{\"op\":\"monitor\",\"to\":\"v-4\"}"));
    json_decref(cmd_ok(B, "v-4", "{\"op\":\"link\",\"to\":\"v-2@a\"}"));
    cmd(A, "v-2", "{\"op\":\"exit\",\"reason\":\"back\"}");
    expect_event(B, "probe", "downs", bv4, "back");

    /* a normal exit does not propagate over a link */
    self_ref(C, "v-1", r);
    json_decref(cmd_ok(C, "v-1", "{\"op\":\"link\",\"to\":\"v-4@a\"}"));
    json_decref(cmd_ok(C, "probe", "{\"op\":\"monitor\",\"to\":\"v-4@a\"}"));
    cmd(A, "v-4", "{\"op\":\"exit\",\"reason\":\"normal\"}");
    expect_event(C, "probe", "downs", NULL, "normal");
    json_decref(cmd_ok(A, "probe", "{\"op\":\"call\",\"to\":\"v-1@c\"}")); /* still alive */
    j = stats(C, "probe");
    ASSERT(!has_event(j, "downs", r, "normal"));
    json_decref(j);

    /* stop from another node: the monitor sees the given reason */
    self_ref(C, "v-2", cv2);
    json_decref(cmd_ok(A, "probe", "{\"op\":\"monitor\",\"to\":\"v-2@c\"}"));
    cmd(A, "probe", "{\"op\":\"stop\",\"to\":\"v-2@c\",\"reason\":\"asked\"}");
    expect_event(A, "probe", "downs", cv2, "asked");

    /* demonitor: no DOWN for it; a later monitor's DOWN proves the first
     * one would have arrived by then (same pair of nodes, in order) */
    self_ref(C, "v-3", cv3);
    self_ref(C, "v-4", cv4);
    j = cmd_ok(A, "probe", "{\"op\":\"monitor\",\"to\":\"v-3@c\"}");
    snprintf(q, sizeof(q), "{\"op\":\"demonitor\",\"id\":\"%s\"}", jstr(j, "id"));
    json_decref(j);
    cmd(A, "probe", q);
    json_decref(cmd_ok(A, "probe", "{\"op\":\"monitor\",\"to\":\"v-4@c\"}"));
    cmd(C, "v-3", "{\"op\":\"exit\",\"reason\":\"quiet\"}");
    cmd(C, "v-4", "{\"op\":\"exit\",\"reason\":\"loud\"}");
    expect_event(A, "probe", "downs", cv4, "loud");
    j = stats(A, "probe");
    ASSERT(!has_event(j, "downs", cv3, "quiet"));
    json_decref(j);
    stop_all(nd, 3);
}

/* ---- kill -9 and a new incarnation --------------------------------------------------------- */

TEST_IMPL(cluster_node, kill9_fails_monitors_links_calls_then_new_incarnation)
{
    const char *names[] = {"a", "b", "c"};
    node_t nd[3];
    node_t *A = &nd[0], *B = &nd[1], *C = &nd[2];
    char old_c[64], cv1[64], av1[64], q[256];
    long long call_a, call_b;
    json_t *j;

    mesh_config(nd, names, 3);
    for (int i = 0; i < 3; i++)
        node_start(&nd[i]);
    wait_mesh(nd, 3);
    self_ref(C, "probe", old_c);
    self_ref(C, "v-1", cv1);
    self_ref(A, "v-1", av1);

    json_decref(cmd_ok(A, "probe", "{\"op\":\"monitor\",\"to\":\"probe@c\"}"));
    json_decref(cmd_ok(B, "probe", "{\"op\":\"monitor\",\"to\":\"probe@c\"}"));
    json_decref(cmd_ok(A, "probe", "{\"op\":\"link\",\"to\":\"v-1@c\"}"));
    json_decref(cmd_ok(A, "probe", "{\"op\":\"monitor\",\"to\":\"v-1\"}"));
    json_decref(cmd_ok(A, "v-1", "{\"op\":\"link\",\"to\":\"v-2@c\"}"));
    /* calls that c holds unanswered, with a timeout far beyond the test */
    j = cmd_ok(A, "probe",
               "{\"op\":\"call\",\"to\":\"probe@c\",\"hold\":true,\"wait\":false,"
               "\"timeout\":60000}");
    call_a = jint(j, "call");
    json_decref(j);
    j = cmd_ok(B, "probe",
               "{\"op\":\"call\",\"to\":\"probe@c\",\"hold\":true,\"wait\":false,"
               "\"timeout\":60000}");
    call_b = jint(j, "call");
    json_decref(j);
    {
        uint64_t dl = test_now_ms() + DEADLINE_MS;
        for (;;) {
            j = stats(C, "probe");
            long long held = jint(j, "held");
            json_decref(j);
            if (held == 2)
                break;
            if (test_now_ms() > dl)
                TEST_FAIL_("c's probe holds %lld calls, expected 2", held);
            test_nap_ms(20);
        }
    }

    node_kill9(C);
    /* DOWN "noconnection", exits "noconnection", calls failed ENOTCONN (not
     * their 60 s timeout: the deadline here is shorter) */
    expect_event(A, "probe", "downs", old_c, "noconnection");
    expect_event(B, "probe", "downs", old_c, "noconnection");
    expect_event(A, "probe", "exits", cv1, "noconnection");
    expect_event(A, "probe", "downs", av1, "noconnection");
    expect_call(A, "probe", call_a, "failed", "ENOTCONN", DEADLINE_MS);
    expect_call(B, "probe", call_b, "failed", "ENOTCONN", DEADLINE_MS);
    wait_peer(A, "c", 0);
    wait_peer(B, "c", 0);
    snprintf(q, sizeof(q), "{\"op\":\"send\",\"ref\":\"%s\",\"n\":1,\"stream\":1}", old_c);
    cmd_err(A, "probe", q, "ENONODE");
    cmd_err(A, "probe", "{\"op\":\"send\",\"to\":\"probe@c\",\"n\":1,\"stream\":1}", "ENONODE");

    /* c returns with a new incarnation */
    node_start(C);
    wait_peer(A, "c", 1);
    wait_peer(B, "c", 1);
    wait_peer(C, "a", 1);
    ctl_cluster_text(A, "c", "up");
    {
        char new_c[64];
        self_ref(C, "probe", new_c);
        ASSERT(strncmp(new_c, old_c, 16) != 0);
        /* old refs are refused; new names work */
        cmd_err(A, "probe", q, "ENONODE");
        snprintf(q, sizeof(q), "{\"op\":\"call\",\"ref\":\"%s\",\"timeout\":60000}", old_c);
        cmd_err(A, "probe", q, "ENONODE");
        /* a monitor of an old ref: refused (ENONODE), or taken and fired at
         * once with "noconnection" (actor.c does the latter) */
        snprintf(q, sizeof(q), "{\"op\":\"monitor\",\"ref\":\"%s\"}", old_c);
        json_decref(cmd_ok(B, "probe", "{\"op\":\"reset\"}"));
        j = ctl_call(B, "probe", q);
        if (jok(j))
            expect_event(B, "probe", "downs", old_c, "noconnection");
        else
            ASSERT_STR_EQ(jstr(j, "error"), "ENONODE");
        json_decref(j);
        j = cmd_ok(A, "probe", "{\"op\":\"call\",\"to\":\"probe@c\",\"arg\":\"again\"}");
        ASSERT_STR_EQ(jstr(json_object_get(j, "reply"), "by"), new_c);
        json_decref(j);
        j = cluster_peers(A);
        {
            json_t *e = peer_named(j, "c");
            char id[32];
            ASSERT_NOT_NULL(e);
            snprintf(id, sizeof(id), "%.16s", new_c);
            const char *nid = jstr(e, "node_id");
            if (nid[0] != '\0') /* reported as hex text */
                ASSERT_STR_EQ(nid, id);
            if (jint(e, "connects") < 1 || strcmp(jstr(e, "state"), "up") != 0)
                TEST_FAIL_("a's view of c after its restart: %s", json_dumps(j, 0));
        }
        json_decref(j);
        snprintf(q, sizeof(q), "{\"op\":\"send\",\"to\":\"probe@c\",\"n\":100,\"stream\":5}");
        json_decref(cmd_ok(B, "probe", q));
        expect_stream(C, "probe", 5, "", 100, NULL);
    }
    stop_all(nd, 3);
}

/* ---- a wrong secret ---------------------------------------------------------------------------
 */

TEST_IMPL(cluster_node, wrong_secret_is_refused_on_both_sides)
{
    node_t a, d;
    int ports[2];
    char addr_a[32];
    free_ports(ports, 2);
    cluster_config(&a, "a", ports[0], &ports[1], 1, SECRET, NULL);
    cluster_config(&d, "d", ports[1], &ports[0], 1, WRONG_SECRET, NULL);
    snprintf(addr_a, sizeof(addr_a), "127.0.0.1:%d", ports[0]);
    node_start(&a);
    node_start(&d);
    /* both sides log a refusal naming the peer's address, more than once
     * (d keeps retrying with its backoff) */
    {
        uint64_t dl = test_now_ms() + DEADLINE_MS;
        while (count_lines_with(proc_err(&a.p), "cluster: peer 127.0.0.1:", "authentication failed",
                                NULL) < 2 ||
               count_lines_with(proc_err(&d.p), "cluster: peer 127.0.0.1:", "authentication failed",
                                NULL) < 2) {
            if (test_now_ms() > dl)
                TEST_FAIL_("no refusals logged within %d ms;\na:\n%s\nd:\n%s", DEADLINE_MS,
                           proc_err(&a.p), proc_err(&d.p));
            test_nap_ms(20);
        }
    }
    ASSERT(strstr(proc_err(&a.p), "node d up") == NULL);
    ASSERT(strstr(proc_err(&d.p), "node a up") == NULL);
    ASSERT(!peer_up(&a, "d"));
    ASSERT(!peer_up(&d, "a"));
    cmd_err(&a, "probe", "{\"op\":\"send\",\"to\":\"probe@d\",\"n\":1,\"stream\":1}", "ENONODE");
    cmd_err(&d, "probe", "{\"op\":\"send\",\"to\":\"probe@a\",\"n\":1,\"stream\":1}", "ENONODE");
    /* the secret never shows in a log */
    ASSERT(strstr(proc_err(&a.p), SECRET) == NULL);
    ASSERT(strstr(proc_err(&d.p), WRONG_SECRET) == NULL);
    (void)addr_a;
    node_stop(&a, SIGTERM);
    node_stop(&d, SIGTERM);
    node_done(&a);
    node_done(&d);
}

/* ---- the test process as an embedded node: actr_lookup, actr_node_of ------------------------ */

#define LK_ASK 1u   /* [name] from the client: look it up */
#define LK_FOUND 2u /* [ref] to the client */
#define LK_FAIL 3u  /* [code] to the client */

typedef struct looker {
    actr_ref_t client;
} looker_t;

static int looker_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    looker_t *l = state;
    actr_msg_t *m = NULL;
    if (actr_msg_is_reply(msg)) {
        actr_ref_t r;
        if (actr_msg_unpack(msg, "r", &r) == 0 && actr_msg_pack(ctx, LK_FOUND, &m, "[r]", r) == 0)
            (void)actr_send(ctx, l->client, m);
        return 0;
    }
    if (actr_msg_type(msg) == ACTR_MSG_REQFAIL) {
        if (actr_msg_pack(ctx, LK_FAIL, &m, "[i]", actr_msg_error(msg)) == 0)
            (void)actr_send(ctx, l->client, m);
        return 0;
    }
    if (actr_msg_type(msg) == LK_ASK) {
        const char *name;
        size_t len;
        char buf[256];
        uint64_t id;
        if (actr_msg_unpack(msg, "[s]", &name, &len) != 0 || len >= sizeof(buf))
            return 0;
        memcpy(buf, name, len);
        buf[len] = '\0';
        l->client = actr_msg_from(msg);
        int rc = actr_lookup(ctx, buf, 5000, &id);
        if (rc != 0 && actr_msg_pack(ctx, LK_FAIL, &m, "[i]", rc) == 0)
            (void)actr_send(ctx, l->client, m);
    }
    return 0;
}

static const actr_behavior_t looker_beh = {
    .size = sizeof(actr_behavior_t),
    .name = "looker",
    .state_size = sizeof(looker_t),
    .receive = looker_receive,
};

typedef struct peer_seen {
    int up;
} peer_seen_t;

static void count_up(void *ud, const actr_peer_info_t *info)
{
    peer_seen_t *s = ud;
    if (strcmp(info->state, "up") == 0)
        s->up++;
}

/* Ask the looker for `name`: 1 and *ref when found, else 0 and *code. */
static int lookup_via(actr_ctx_t *client, actr_ref_t looker, const char *name, actr_ref_t *ref,
                      int *code)
{
    actr_msg_t *m;
    ASSERT_OK(actr_msg_pack(client, LK_ASK, &m, "[s]", name));
    ASSERT_OK(actr_send(client, looker, m));
    ASSERT_OK(actr_client_recv(client, DEADLINE_MS, &m));
    int found = actr_msg_type(m) == LK_FOUND;
    if (found)
        ASSERT_OK(actr_msg_unpack(m, "[r]", ref));
    else
        ASSERT_OK(actr_msg_unpack(m, "[i]", code));
    actr_msg_free(m);
    return found;
}

TEST_IMPL(cluster_node, embedded_node_looks_names_up_across_the_cluster)
{
    const char *names[] = {"a", "b"};
    node_t nd[2];
    node_t *A = &nd[0], *B = &nd[1];
    char rb[64], peer_a[32], peer_b[32], node_name[ACTR_NODE_NAME_MAX + 1];
    const char *peers[2] = {peer_a, peer_b};
    actr_ref_t b_probe, got, looker;
    actr_t *rt;
    actr_ctx_t *client;
    actr_options_t o;
    actr_cluster_options_t co;
    actr_error_t err;
    int code = 0;

    mesh_config(nd, names, 2);
    node_start(A);
    node_start(B);
    wait_mesh(nd, 2);
    self_ref(B, "probe", rb);
    ASSERT_OK(ref_from_str_for_test(rb, &b_probe));

    actr_options_init(&o);
    o.workers = 2;
    o.log_level = ACTR_LOG_WARN;
    ASSERT_OK(actr_open(&rt, &o));
    ASSERT_OK(actr_start(rt));
    snprintf(peer_a, sizeof(peer_a), "127.0.0.1:%d", A->port);
    snprintf(peer_b, sizeof(peer_b), "127.0.0.1:%d", B->port);
    actr_cluster_options_init(&co);
    co.node_name = "t";
    co.listen = NULL;
    co.peers = peers;
    co.npeers = 2;
    co.secret = SECRET;
    co.secret_len = strlen(SECRET);
    co.heartbeat_ms = HEARTBEAT_MS;
    co.dead_after_ms = DEAD_AFTER_MS;
    memset(&err, 0, sizeof(err));
    if (actr_cluster_start(rt, &co, &err) != 0)
        TEST_FAIL_("actr_cluster_start: %s", err.msg);
    ASSERT_STR_EQ(actr_node_name(rt), "t");
    {
        uint64_t dl = test_now_ms() + DEADLINE_MS;
        for (;;) {
            peer_seen_t s = {0};
            ASSERT_OK(actr_cluster_peers(rt, count_up, &s));
            if (s.up == 2)
                break;
            if (test_now_ms() > dl)
                TEST_FAIL_("the embedded node did not get both peers up");
            test_nap_ms(10);
        }
    }
    ASSERT_OK(actr_client_open(rt, &client));
    ASSERT_OK(actr_spawn(client, &looker_beh, NULL, 0, NULL, &looker));

    /* a name only b has */
    ASSERT(lookup_via(client, looker, "here-b", &got, &code));
    ASSERT_EQ(got.node, b_probe.node);
    ASSERT_OK(actr_node_of(rt, got, node_name, sizeof(node_name)));
    ASSERT_STR_EQ(node_name, "b");
    ASSERT_ERR(actr_node_of(rt, got, node_name, 1), ACTR_E2BIG);
    /* a name both have: one of them */
    ASSERT(lookup_via(client, looker, "probe", &got, &code));
    ASSERT_OK(actr_node_of(rt, got, node_name, sizeof(node_name)));
    ASSERT(strcmp(node_name, "a") == 0 || strcmp(node_name, "b") == 0);
    /* nobody has it */
    ASSERT(!lookup_via(client, looker, "nobody", &got, &code));
    ASSERT_EQ(code, ACTR_ENOACTOR);

    /* the ref found works like a local one: sends in order, a request */
    ASSERT(lookup_via(client, looker, "here-b", &got, &code));
    for (uint64_t i = 0; i < 200; i++) {
        actr_msg_t *m;
        ASSERT_OK(actr_msg_pack(client, T_SEQ, &m, "[UU]", (uint64_t)99, i));
        ASSERT_OK(actr_send(client, got, m));
    }
    {
        char from[64];
        actr_ref_t me = actr_self(client);
        snprintf(from, sizeof(from), "%016llx.%u.%u", (unsigned long long)me.node, me.slot, me.gen);
        expect_stream(B, "here-b", 99, "", 200, from);
    }
    {
        actr_msg_t *m, *r;
        int64_t echo = 0;
        const char *by;
        size_t bylen;
        ASSERT_OK(actr_msg_pack(client, T_CALL, &m, "[bi]", 0, 5));
        ASSERT_OK(actr_client_call(client, b_probe, m, DEADLINE_MS, &r));
        ASSERT_OK(actr_msg_unpack(r, "{s:I s:s}", "echo", &echo, "by", &by, &bylen));
        ASSERT_EQ(echo, 5);
        actr_msg_free(r);
    }
    /* a ref of a node that is not connected */
    {
        actr_ref_t nowhere = {0x5555aaaa5555aaaaull, 1, 1};
        actr_msg_t *m;
        ASSERT_ERR(actr_node_of(rt, nowhere, node_name, sizeof(node_name)), ACTR_ENONODE);
        ASSERT_OK(actr_msg_new(client, 1, NULL, 0, &m));
        ASSERT_ERR(actr_send(client, nowhere, m), ACTR_ENONODE);
    }
    actr_client_close(client);
    actr_close(rt);
    stop_all(nd, 2);
}

/* ---- backpressure: a bounded outbound queue ------------------------------------------------ */

TEST_IMPL(cluster_node, full_outbound_queue_pushes_back_without_loss)
{
    node_t A, B;
    int ports[2];
    char ra[64], q[256];
    json_t *j;
    free_ports(ports, 2);
    /* a's queue for one peer holds at most 64 KiB (the least allowed) */
    cluster_config(&A, "a", ports[0], &ports[1], 1, SECRET, "  max_queue: 65536\n");
    cluster_config(&B, "b", ports[1], &ports[0], 1, SECRET, NULL);
    node_start(&A);
    node_start(&B);
    wait_reaches(&A, "b");
    wait_reaches(&B, "a");
    self_ref(&A, "probe", ra);

    /* 2000 messages of 8 KiB through a 64 KiB queue: sends are refused with
     * ACTR_EAGAIN (the probe retries them a moment later), and every message
     * still arrives once, in order */
    snprintf(q, sizeof(q),
             "{\"op\":\"send\",\"to\":\"probe@b\",\"n\":2000,\"stream\":1,\"pad\":8192}");
    j = cmd_ok(&A, "probe", q);
    ASSERT_EQ(jint(j, "sent"), 2000);
    if (jint(j, "eagain") == 0)
        TEST_FAIL_("16 MiB through a 64 KiB outbound queue never got ACTR_EAGAIN: %s",
                   json_dumps(j, 0));
    json_decref(j);
    expect_stream(&B, "probe", 1, "", 2000, ra);
    {
        json_t *v = cluster_peers(&A), *e = peer_named(v, "b");
        ASSERT_NOT_NULL(e);
        ASSERT_LE(jint(e, "queue_bytes"), 65536);
        ASSERT_GE(jint(e, "bytes_out"), 2000 * 8192);
        json_decref(v);
    }
    node_stop(&A, SIGTERM);
    node_stop(&B, SIGTERM);
    node_done(&A);
    node_done(&B);
}

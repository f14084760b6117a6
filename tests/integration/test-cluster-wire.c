/* test-cluster-wire.c — bad bytes on a node's cluster port (suite
 * `cluster_wire`): a raw TCP client sends what no peer should (random bytes,
 * bad lengths, truncated and half-sent frames, unknown kinds, a message
 * before the handshake, a wrong proof) and, after a handshake it does itself
 * with wire.h, messages for unknown actors and earlier incarnations and
 * senders of another node. Each time the node closes that connection, logs
 * a line naming the client's address, and keeps serving its peer. The nodes
 * and their probes are described in cluster_harness.h.
 *
 * Waits poll with a deadline, never a fixed sleep; no timing is asserted.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "cluster_harness.h"
#include "internal.h"
#include "node_harness.h"
#include "task.h"
#include "wire.h"

/* ---- a raw TCP client on the cluster port (frames from wire.h) ------------------------------ */

static int raw_connect(int port, int *local_port)
{
    struct sockaddr_in sa;
    socklen_t sl = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT(fd >= 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ASSERT_EQ(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    *local_port = ntohs(sa.sin_port);
    return fd;
}

static void raw_write(int fd, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return; /* the node may close first: that is what we test */
        p += n;
        len -= (size_t)n;
    }
}

/* Wait until the node closes fd (read gives 0 or an error), discarding
 * what it sends. Returns 1 if it closed within ms. */
static int raw_closed_within(int fd, int ms)
{
    uint64_t dl = test_now_ms() + (uint64_t)ms;
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        uint8_t buf[4096];
        int left = (int)(dl - test_now_ms());
        if (test_now_ms() >= dl)
            return 0;
        if (poll(&p, 1, left) <= 0)
            continue;
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
            return 1;
    }
}

/* Read one frame from fd into buf (cap) and decode it. Returns 0, or -1 when
 * the connection closed or nothing came within ms. */
static int raw_frame(int fd, uint8_t *buf, size_t cap, size_t *have, actr__frame_t *f, int ms)
{
    uint64_t dl = test_now_ms() + (uint64_t)ms;
    for (;;) {
        size_t used = 0;
        int rc = actr__wire_decode(buf, *have, (uint32_t)cap, f, &used, NULL, 0);
        if (rc == 0) {
            /* the caller reads f before the next call; shift afterwards */
            return (int)used;
        }
        if (rc != ACTR_EAGAIN)
            TEST_FAIL_("the node sent a frame we cannot decode: %s", actr_err_name(rc));
        struct pollfd p = {fd, POLLIN, 0};
        if (test_now_ms() >= dl)
            return -1;
        if (poll(&p, 1, (int)(dl - test_now_ms())) <= 0)
            continue;
        ssize_t n = recv(fd, buf + *have, cap - *have, 0);
        if (n <= 0)
            return -1;
        *have += (size_t)n;
    }
}

static void raw_consume(uint8_t *buf, size_t *have, int used)
{
    memmove(buf, buf + used, *have - (size_t)used);
    *have -= (size_t)used;
}

static void raw_send_ctl(int fd, const actr__frame_t *f)
{
    uint8_t b[ACTR__WIRE_CTL_MAX];
    size_t n = actr__wire_ctl(b, sizeof(b), f);
    ASSERT(n > 0);
    raw_write(fd, b, n);
}

typedef struct fake {
    int fd, lport;
    uint64_t my_id, peer_id;
    char peer_name[64];
    uint8_t buf[1 << 16];
    size_t have;
} fake_t;

/* Connect to port and do the handshake as node "intruder" with `secret`.
 * Returns 1 when the node's proof came and verifies with that secret (then
 * both sides are through), 0 when it closed first or its proof does not
 * verify (another secret). */
static int fake_handshake(fake_t *k, int port, const char *secret)
{
    actr__frame_t f, h;
    uint8_t my_nonce[ACTR__WIRE_NONCE], peer_nonce[ACTR__WIRE_NONCE];
    int used;
    memset(k, 0, sizeof(*k));
    k->fd = raw_connect(port, &k->lport);
    ASSERT_OK(actr__wire_nonce(my_nonce));
    k->my_id = 0x1234567800000000ull | (uint64_t)getpid();

    memset(&h, 0, sizeof(h));
    h.kind = ACTR__FR_HELLO;
    h.proto_min = ACTR__WIRE_PROTO_MIN;
    h.proto_max = ACTR__WIRE_PROTO_MAX;
    h.name = "intruder";
    h.name_len = strlen(h.name);
    h.node_id = k->my_id;
    memcpy(h.nonce, my_nonce, sizeof(my_nonce));
    raw_send_ctl(k->fd, &h);

    used = raw_frame(k->fd, k->buf, sizeof(k->buf), &k->have, &f, DEADLINE_MS);
    ASSERT(used > 0);
    ASSERT_EQ(f.kind, ACTR__FR_HELLO);
    ASSERT(f.name_len < sizeof(k->peer_name));
    memcpy(k->peer_name, f.name, f.name_len);
    k->peer_name[f.name_len] = '\0';
    k->peer_id = f.node_id;
    memcpy(peer_nonce, f.nonce, sizeof(peer_nonce));
    raw_consume(k->buf, &k->have, used);

    memset(&h, 0, sizeof(h));
    h.kind = ACTR__FR_AUTH;
    h.proto = ACTR__WIRE_PROTO_MAX;
    ASSERT_OK(actr__wire_auth_mac(secret, strlen(secret), "intruder", k->my_id, my_nonce,
                                  k->peer_name, k->peer_id, peer_nonce, h.mac));
    raw_send_ctl(k->fd, &h);

    used = raw_frame(k->fd, k->buf, sizeof(k->buf), &k->have, &f, DEADLINE_MS);
    if (used < 0)
        return 0;
    ASSERT_EQ(f.kind, ACTR__FR_AUTH); /* the node proves itself before checking us */
    uint8_t want[ACTR__WIRE_MAC];
    ASSERT_OK(actr__wire_auth_mac(secret, strlen(secret), k->peer_name, k->peer_id, peer_nonce,
                                  "intruder", k->my_id, my_nonce, want));
    raw_consume(k->buf, &k->have, used);
    return actr__wire_mac_equal(want, f.mac);
}

/* Send a MSG frame of `type` from `from` to `to` (a request with corr when
 * corr != 0) with a payload of plen bytes. */
static void fake_send(fake_t *k, actr_ref_t to, actr_ref_t from, uint32_t type, uint64_t corr,
                      const void *payload, size_t plen)
{
    uint8_t b[ACTR__WIRE_HDR_MAX + 64];
    actr__wire_env_t env;
    ASSERT(plen <= 64);
    memset(&env, 0, sizeof(env));
    env.type = type;
    env.flags = corr ? ACTR__F_REQUEST : 0;
    env.to = to;
    env.from = from;
    env.corr = corr;
    size_t n = actr__wire_msg_header(b, ACTR__FR_MSG, &env, NULL, 0, plen);
    ASSERT(n > 0);
    memcpy(b + n, payload, plen);
    raw_write(k->fd, b, n + plen);
}

/* A request (payload nil) from our actor {my_id,1,1} to `to`. */
static void fake_msg(fake_t *k, actr_ref_t to, uint64_t corr)
{
    const uint8_t nil = 0xc0;
    fake_send(k, to, (actr_ref_t){k->my_id, 1, 1}, 1, corr, &nil, 1);
}

/* Wait for a REQFAIL for request corr (answering pings meanwhile); returns its code. */
static int fake_reqfail(fake_t *k, uint64_t corr)
{
    uint64_t dl = test_now_ms() + DEADLINE_MS;
    for (;;) {
        actr__frame_t f;
        int used = raw_frame(k->fd, k->buf, sizeof(k->buf), &k->have, &f,
                             (int)(dl > test_now_ms() ? dl - test_now_ms() : 0));
        if (used < 0)
            TEST_FAIL_("no REQFAIL for request %llu", (unsigned long long)corr);
        if (f.kind == ACTR__FR_PING) {
            actr__frame_t p = f;
            p.kind = ACTR__FR_PONG;
            raw_send_ctl(k->fd, &p);
        } else if (f.kind == ACTR__FR_MSG && f.env.type == ACTR_MSG_REQFAIL && f.env.corr == corr) {
            int64_t code = 0;
            ASSERT_EQ(f.env.to.node, k->my_id);
            ASSERT_OK(actr_unpack(f.payload, f.payload_len, "[I]", &code));
            raw_consume(k->buf, &k->have, used);
            return (int)code;
        }
        raw_consume(k->buf, &k->have, used);
    }
}

/* The node logged a line naming our client address since offset `from`. */
static void expect_logged(node_t *n, size_t from, int lport, const char *what)
{
    char addr[32];
    uint64_t dl = test_now_ms() + DEADLINE_MS;
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", lport);
    for (;;) {
        const char *e = proc_err(&n->p);
        if (strlen(e) >= from && strstr(e + from, addr) != NULL)
            return;
        if (test_now_ms() > dl)
            NODE_FAIL("%s: %s logged no line naming %s; its stderr since:\n%s", what, n->name, addr,
                      e + from);
        test_nap_ms(10);
    }
}

/* The node still serves: its peer calls it, and ctl answers. */
static void expect_serves(node_t *a, node_t *b, const char *what)
{
    json_t *j = ctl_call(b, "probe", "{\"op\":\"call\",\"to\":\"probe@a\",\"arg\":1}");
    if (!jok(j))
        NODE_FAIL("after %s, a no longer serves b: %s", what, json_dumps(j, 0));
    json_decref(j);
    ASSERT(a->running && waitpid(a->p.pid, NULL, WNOHANG) == 0);
}

static void bad_bytes_case(node_t *A, node_t *B, const char *what, const void *bytes, size_t len,
                           int close_write)
{
    int lport;
    size_t mark = (proc_pump(&A->p), A->p.err_len);
    int fd = raw_connect(A->port, &lport);
    raw_write(fd, bytes, len);
    if (close_write)
        shutdown(fd, SHUT_WR);
    if (!raw_closed_within(fd, DEADLINE_MS))
        TEST_FAIL_("%s: the node did not close the connection", what);
    close(fd);
    expect_logged(A, mark, lport, what);
    expect_serves(A, B, what);
}

TEST_IMPL(cluster_wire, bad_input_on_the_cluster_port)
{
    const char *names[] = {"a", "b"};
    node_t nd[2];
    node_t *A = &nd[0], *B = &nd[1];
    uint8_t junk[4096];
    char ra[64];

    mesh_config(nd, names, 2);
    node_start(A);
    node_start(B);
    wait_mesh(nd, 2);
    self_ref(A, "probe", ra);

    /* random bytes */
    srand(12345);
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (uint8_t)rand();
    junk[0] = 0x7f; /* a length far over max_frame: refused at once */
    bad_bytes_case(A, B, "random bytes", junk, sizeof(junk), 0);

    /* an oversized length prefix, nothing after it */
    {
        const uint8_t big[5] = {0xff, 0xff, 0xff, 0xf0, ACTR__FR_HELLO};
        bad_bytes_case(A, B, "oversized length", big, sizeof(big), 0);
    }
    /* a zero length */
    {
        const uint8_t zero[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        bad_bytes_case(A, B, "zero length", zero, sizeof(zero), 0);
    }
    /* a truncated frame: the prefix says 64 bytes, 10 come, then EOF */
    {
        uint8_t t[14] = {0, 0, 0, 64, ACTR__FR_HELLO, 0x95, 1, 1, 0xa1, 'x'};
        bad_bytes_case(A, B, "truncated frame", t, sizeof(t), 1);
    }
    /* an unknown kind before the handshake */
    {
        const uint8_t k[6] = {0, 0, 0, 2, 0x7e, 0xc0};
        bad_bytes_case(A, B, "unknown kind", k, sizeof(k), 0);
    }
    /* a message frame before the handshake */
    {
        uint8_t b[ACTR__WIRE_HDR_MAX + 1];
        actr__wire_env_t env;
        memset(&env, 0, sizeof(env));
        env.type = 1;
        ASSERT_OK(ref_from_str_for_test(ra, &env.to));
        env.from = (actr_ref_t){77, 1, 1};
        size_t n = actr__wire_msg_header(b, ACTR__FR_MSG, &env, NULL, 0, 1);
        b[n++] = 0xc0;
        bad_bytes_case(A, B, "message before the handshake", b, n, 0);
    }
    /* a half-sent frame followed by silence (no handshake) */
    {
        int lport;
        size_t mark = (proc_pump(&A->p), A->p.err_len);
        uint8_t half[10] = {0, 0, 0, 100, ACTR__FR_HELLO, 0x95, 1, 1};
        int fd = raw_connect(A->port, &lport);
        raw_write(fd, half, sizeof(half));
        if (!raw_closed_within(fd, DEAD_AFTER_MS * 4 + DEADLINE_MS))
            TEST_FAIL_("half-sent frame: the node kept the silent connection open");
        close(fd);
        expect_logged(A, mark, lport, "half-sent frame");
        expect_serves(A, B, "half-sent frame");
    }
    /* a wrong proof */
    {
        fake_t k;
        size_t mark = (proc_pump(&A->p), A->p.err_len);
        ASSERT_EQ(fake_handshake(&k, A->port, WRONG_SECRET), 0);
        close(k.fd);
        expect_logged(A, mark, k.lport, "wrong proof");
        expect_serves(A, B, "wrong proof");
    }
    /* after a valid handshake: a message for an unknown actor and for an
     * earlier incarnation are refused (a request gets REQFAIL ENOACTOR);
     * a message that claims another node's sender is dropped; then a frame
     * of unknown kind closes the connection */
    {
        fake_t k;
        actr_ref_t a_probe;
        size_t mark;
        ASSERT_EQ(fake_handshake(&k, A->port, SECRET), 1);
        ASSERT_STR_EQ(k.peer_name, "a");
        ASSERT_OK(ref_from_str_for_test(ra, &a_probe));
        ASSERT_EQ(k.peer_id, a_probe.node);
        fake_msg(&k, (actr_ref_t){k.peer_id, 40000, 3}, 77);
        ASSERT_EQ(fake_reqfail(&k, 77), ACTR_ENOACTOR);
        fake_msg(&k, (actr_ref_t){k.peer_id ^ 1, a_probe.slot, a_probe.gen}, 78);
        ASSERT_EQ(fake_reqfail(&k, 78), ACTR_ENOACTOR);
        /* a sender of another node is not believed: stream 1 (spoofed) is
         * dropped, stream 2 (ours, sent after it) arrives */
        {
            const uint8_t s1[3] = {0x92, 1, 0}, s2[3] = {0x92, 2, 0};
            char mine[64];
            fake_send(&k, a_probe, (actr_ref_t){k.peer_id, 1, 1}, T_SEQ, 0, s1, 3);
            fake_send(&k, a_probe, (actr_ref_t){0x1111222233334444ull, 1, 1}, T_SEQ, 0, s1, 3);
            fake_send(&k, a_probe, (actr_ref_t){k.my_id, 1, 1}, T_SEQ, 0, s2, 3);
            snprintf(mine, sizeof(mine), "%016llx.1.1", (unsigned long long)k.my_id);
            expect_stream(A, "probe", 2, "", 1, mine);
            json_t *j = stats(A, "probe");
            ASSERT_NULL(find_stream(j, 1, ""));
            json_decref(j);
        }
        mark = (proc_pump(&A->p), A->p.err_len);
        {
            const uint8_t unk[6] = {0, 0, 0, 2, 0x7d, 0xc0};
            raw_write(k.fd, unk, sizeof(unk));
        }
        if (!raw_closed_within(k.fd, DEADLINE_MS))
            TEST_FAIL_("unknown kind after the handshake: the node did not close");
        close(k.fd);
        expect_logged(A, mark, k.lport, "unknown kind after the handshake");
        expect_serves(A, B, "unknown kind after the handshake");
    }
    /* after a valid handshake: half a frame, then silence (no pongs either) */
    {
        fake_t k;
        size_t mark;
        ASSERT_EQ(fake_handshake(&k, A->port, SECRET), 1);
        mark = (proc_pump(&A->p), A->p.err_len);
        {
            const uint8_t half[9] = {0, 0, 0, 200, ACTR__FR_MSG, 0x97, 1, 0, 0};
            raw_write(k.fd, half, sizeof(half));
        }
        if (!raw_closed_within(k.fd, DEAD_AFTER_MS * 4 + DEADLINE_MS))
            TEST_FAIL_("half frame after the handshake: the node kept the connection open");
        close(k.fd);
        expect_logged(A, mark, k.lport, "half frame after the handshake");
        expect_serves(A, B, "half frame after the handshake");
    }
    /* nothing else of all that reached an actor */
    {
        json_t *j = stats(A, "probe");
        ASSERT_EQ(json_array_size(json_object_get(j, "streams")), 1);
        json_decref(j);
    }
    if (getenv("ACTR_TEST_SHOW_LOG"))
        fprintf(stderr, "---- a's stderr ----\n%s", proc_err(&A->p));
    stop_all(nd, 2);
}

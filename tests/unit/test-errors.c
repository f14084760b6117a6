/* tests/unit/test-errors.c — bad input through the public API (suite `errors`).
 *
 * Every call here is given something wrong — a ref that names no actor (none,
 * a slot out of range, generation 0, a stale generation, another runtime's or
 * an unknown node's), a NULL message, a payload over the limits, malformed
 * msgpack, a call from the wrong kind of context — and must return the
 * documented code without crashing, leaking (ASan) or delivering anything.
 * The error tables themselves are checked too: every code of ACTR_ERRNO_MAP
 * has a distinct non-empty message and name, and unknown codes map to
 * "unknown error" / "EUNKNOWN".
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#include "actr.h"
#include "task.h"

enum {
    T_DATA = 400,
    T_PROBE, /* probe: run the context checks, report [codes...] to the owner */
    T_REPORT
};

#define WAIT_MS 10000

static actr_t *rt;
static actr_ctx_t *cl;

static void setup_opts(const actr_options_t *opts)
{
    ASSERT_OK(actr_open(&rt, opts));
    ASSERT_OK(actr_start(rt));
    ASSERT_OK(actr_client_open(rt, &cl));
}

static void setup(void)
{
    actr_options_t o;
    actr_options_init(&o);
    o.log_level = ACTR_LOG_OFF;
    setup_opts(&o);
}

static void teardown(void)
{
    actr_client_close(cl);
    cl = NULL;
    ASSERT_OK(actr_stop(rt));
    ASSERT_OK(actr_wait(rt));
    actr_close(rt);
    rt = NULL;
}

static actr_msg_t *mk(uint32_t type)
{
    actr_msg_t *m = NULL;
    ASSERT_OK(actr_msg_new(cl, type, NULL, 0, &m));
    return m;
}

/* Nothing is waiting in the client's mailbox. */
static void expect_nothing(void)
{
    actr_msg_t *m = NULL;
    int rc = actr_client_recv(cl, 0, &m);
    if (rc == 0) {
        uint32_t type = actr_msg_type(m);
        actr_msg_free(m);
        TEST_FAIL_("unexpected message of type %#x", type);
    }
    ASSERT_ERR(rc, ACTR_ETIMEDOUT);
}

/* sink: accepts and drops everything; answers requests with an empty reply. */
static int sink_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    (void)state;
    if (!actr_msg_is_request(msg))
        return 0;
    actr_msg_t *reply = NULL;
    int rc = actr_msg_new(ctx, T_REPORT, NULL, 0, &reply);
    if (rc != 0)
        return rc;
    return actr_reply(ctx, msg, reply);
}

static const actr_behavior_t sink_beh = {
    .size = sizeof(actr_behavior_t),
    .name = "test.sink",
    .receive = sink_receive,
};

/* Every ref-taking call refuses `bad` with `code` (ENOACTOR or ENONODE). */
static void check_bad_ref(actr_ref_t bad, int code)
{
    int rc;
    uint64_t id = 0;
    actr_msg_t *reply = NULL;
    ASSERT_ERR(actr_send(cl, bad, mk(T_DATA)), code);
    ASSERT_ERR(actr_request(cl, bad, mk(T_DATA), 100, &id), code);
    ASSERT_ERR(actr_request(cl, bad, mk(T_DATA), 0, &id), code);
    ASSERT_ERR(actr_client_call(cl, bad, mk(T_DATA), 100, &reply), code);
    ASSERT_ERR(actr_actor_stop(cl, bad, NULL), code);
    ASSERT_ERR(actr_actor_kill(cl, bad), code);
    ASSERT_EQ(actr_is_alive(cl, bad), 0);
    if (code == ACTR_ENONODE) {
        ASSERT_ERR(actr_monitor(cl, bad, &id), ACTR_ENONODE);
    } else {
        /* A monitor on a local actor that is gone fires at once with "noproc". */
        id = 0;
        rc = actr_monitor(cl, bad, &id);
        /* Generation 0 is never valid: EINVAL is acceptable there. */
        if (!(bad.gen == 0 && rc == ACTR_EINVAL)) {
            ASSERT_OK(rc);
            actr_msg_t *m = NULL;
            ASSERT_OK(actr_client_recv(cl, WAIT_MS, &m));
            ASSERT_EQ(actr_msg_type(m), ACTR_MSG_DOWN);
            uint64_t mid = 0;
            const char *r = NULL;
            size_t rlen = 0;
            ASSERT_OK(actr_msg_down(m, &mid, &r, &rlen));
            ASSERT_EQ(mid, id);
            ASSERT(actr_ref_eq(actr_msg_from(m), bad));
            ASSERT_MEM_STR(r, rlen, ACTR_REASON_NOPROC);
            actr_msg_free(m);
        }
    }
    expect_nothing();
}

TEST_IMPL(errors, invalid_refs)
{
    setup();
    actr_ref_t live;
    ASSERT_OK(actr_spawn(cl, &sink_beh, NULL, 0, NULL, &live));
    const uint64_t node = actr_node_id(rt);

    /* The "no actor" ref: refused as an invalid argument or as no actor. */
    int rc = actr_send(cl, ACTR_REF_NONE, mk(T_DATA));
    if (rc != ACTR_ENOACTOR)
        ASSERT_ERR(rc, ACTR_EINVAL);
    ASSERT_EQ(actr_is_alive(cl, ACTR_REF_NONE), 0);
    /* A local ref with a slot far out of range, and the largest slot. */
    check_bad_ref((actr_ref_t){node, 100000000u, 1}, ACTR_ENOACTOR);
    check_bad_ref((actr_ref_t){node, UINT32_MAX, 1}, ACTR_ENOACTOR);
    /* A live actor's slot with generation 0 (never valid) or another generation. */
    check_bad_ref((actr_ref_t){node, live.slot, 0}, ACTR_ENOACTOR);
    check_bad_ref((actr_ref_t){node, live.slot, live.gen + 1}, ACTR_ENOACTOR);
    check_bad_ref((actr_ref_t){node, live.slot, live.gen - 1}, ACTR_ENOACTOR);
    /* The client's own slot with a wrong generation. */
    actr_ref_t me = actr_self(cl);
    check_bad_ref((actr_ref_t){node, me.slot, me.gen + 7}, ACTR_ENOACTOR);
    /* An unknown node. */
    check_bad_ref((actr_ref_t){node ^ 0x5a5a5a5a5a5a5a5aull, live.slot, live.gen}, ACTR_ENONODE);
    check_bad_ref((actr_ref_t){node + 1, 0, 1}, ACTR_ENONODE);

    /* The live actor is unharmed by all of it. */
    ASSERT_EQ(actr_is_alive(cl, live), 1);
    actr_msg_t *reply = NULL;
    ASSERT_OK(actr_client_call(cl, live, mk(T_DATA), WAIT_MS, &reply));
    actr_msg_free(reply);

    /* Names: unknown ones. */
    actr_ref_t out;
    ASSERT_ERR(actr_whereis(cl, "no-such-name", &out), ACTR_ENOENT);
    ASSERT_ERR(actr_send_name(cl, "no-such-name", mk(T_DATA)), ACTR_ENOACTOR);
    ASSERT_ERR(actr_unregister(cl, "no-such-name"), ACTR_ENOENT);
    ASSERT_ERR(actr_register(cl, "ghost", (actr_ref_t){node, 100000000u, 1}), ACTR_ENOACTOR);
    /* Ids never handed out. */
    ASSERT_ERR(actr_demonitor(cl, 0xdeadbeefull), ACTR_ENOENT);
    ASSERT_ERR(actr_timer_cancel(cl, 0xdeadbeefull), ACTR_ENOENT);
    expect_nothing();
    teardown();
}

TEST_IMPL(errors, stopped_actor)
{
    setup();
    actr_ref_t a;
    uint64_t mid = 0;
    actr_spawn_opts_t so = {.monitor_id = &mid};
    ASSERT_OK(actr_spawn(cl, &sink_beh, NULL, 0, &so, &a));
    ASSERT_OK(actr_actor_stop(cl, a, "bye"));
    actr_msg_t *m = NULL;
    ASSERT_OK(actr_client_recv(cl, WAIT_MS, &m));
    ASSERT_EQ(actr_msg_type(m), ACTR_MSG_DOWN);
    actr_msg_free(m);
    check_bad_ref(a, ACTR_ENOACTOR);
    /* Stopping or killing again is an error, never a crash. */
    ASSERT_ERR(actr_actor_stop(cl, a, "again"), ACTR_ENOACTOR);
    ASSERT_ERR(actr_actor_kill(cl, a), ACTR_ENOACTOR);
    /* Demonitoring a monitor that has fired. */
    int rc = actr_demonitor(cl, mid);
    ASSERT(rc == 0 || rc == ACTR_ENOENT);
    /* A slot reused by a new actor still refuses the old ref. */
    for (int i = 0; i < 100; i++) {
        actr_ref_t b;
        ASSERT_OK(actr_spawn(cl, &sink_beh, NULL, 0, NULL, &b));
        ASSERT(!actr_ref_eq(a, b));
        ASSERT_ERR(actr_send(cl, a, mk(T_DATA)), ACTR_ENOACTOR);
    }
    expect_nothing();
    teardown();
}

TEST_IMPL(errors, null_and_bad_arguments)
{
    setup();
    actr_ref_t a;
    ASSERT_OK(actr_spawn(cl, &sink_beh, NULL, 0, NULL, &a));
    uint64_t id = 0;
    actr_msg_t *m = NULL;

    /* NULL messages. */
    ASSERT_ERR(actr_send(cl, a, NULL), ACTR_EINVAL);
    ASSERT_ERR(actr_request(cl, a, NULL, 0, &id), ACTR_EINVAL);
    ASSERT_ERR(actr_client_call(cl, a, NULL, 100, &m), ACTR_EINVAL);
    ASSERT_ERR(actr_timer_send_after(cl, a, 10, NULL, &id), ACTR_EINVAL);
    actr_msg_free(NULL);

    /* Message construction. */
    char small[8] = {0};
    ASSERT_ERR(actr_msg_new(cl, T_DATA, NULL, 5, &m), ACTR_EINVAL);
    ASSERT_ERR(actr_msg_new(cl, T_DATA, small, sizeof small, NULL), ACTR_EINVAL);
    ASSERT_ERR(actr_msg_pack(cl, T_DATA, &m, "[i", 1), ACTR_EINVAL);
    ASSERT_ERR(actr_msg_pack(cl, T_DATA, &m, "i]", 1), ACTR_EINVAL);
    ASSERT_ERR(actr_msg_pack(cl, T_DATA, &m, "{s}", "k"), ACTR_EINVAL);
    ASSERT_ERR(actr_msg_pack(cl, T_DATA, &m, "s", (const char *)NULL), ACTR_EINVAL);
    ASSERT_ERR(actr_msg_pack(cl, T_DATA, &m, "q", 1), ACTR_EINVAL);
    const unsigned char bad_raw[] = {0xc1};
    ASSERT_ERR(actr_msg_pack(cl, T_DATA, &m, "*", bad_raw, sizeof bad_raw), ACTR_EMSGPACK);
    const unsigned char short_raw[] = {0x92, 0x01};
    ASSERT_ERR(actr_msg_pack(cl, T_DATA, &m, "[*]", short_raw, sizeof short_raw), ACTR_EMSGPACK);
    unsigned char buf[4];
    size_t need = 0;
    ASSERT_ERR(actr_pack(buf, sizeof buf, &need, "s", "longer than four"), ACTR_E2BIG);
    ASSERT_EQ(need, 1 + strlen("longer than four"));

    /* Spawn arguments. */
    actr_ref_t out;
    ASSERT_ERR(actr_spawn(cl, NULL, NULL, 0, NULL, &out), ACTR_EINVAL);
    actr_behavior_t no_receive = {.size = sizeof(actr_behavior_t), .name = "bad"};
    ASSERT_ERR(actr_spawn(cl, &no_receive, NULL, 0, NULL, &out), ACTR_EINVAL);
    actr_behavior_t no_size = sink_beh;
    no_size.size = 0;
    ASSERT_ERR(actr_spawn(cl, &no_size, NULL, 0, NULL, &out), ACTR_EINVAL);
    ASSERT_ERR(actr_spawn(cl, &sink_beh, NULL, 4, NULL, &out), ACTR_EINVAL);
    /* Names. */
    char longname[300];
    memset(longname, 'n', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    ASSERT_ERR(actr_register(cl, "", a), ACTR_EINVAL);
    ASSERT_ERR(actr_register(cl, longname, a), ACTR_EINVAL);
    actr_spawn_opts_t so = {.name = ""};
    ASSERT_ERR(actr_spawn(cl, &sink_beh, NULL, 0, &so, &out), ACTR_EINVAL);
    ASSERT_OK(actr_register(cl, "taken", a));
    so.name = "taken";
    ASSERT_ERR(actr_spawn(cl, &sink_beh, NULL, 0, &so, &out), ACTR_EEXIST);
    ASSERT_ERR(actr_register(cl, "other", a), ACTR_EEXIST); /* already named */

    /* Timers: a zero period. */
    ASSERT_ERR(actr_timer_interval(cl, a, 0, mk(T_DATA), &id), ACTR_EINVAL);

    /* Envelope readers on the wrong kind of message. */
    m = mk(T_DATA);
    uint64_t mid = 0;
    const char *r = NULL;
    size_t rlen = 0;
    ASSERT_ERR(actr_msg_down(m, &mid, &r, &rlen), ACTR_EINVAL);
    ASSERT_ERR(actr_msg_exit(m, &r, &rlen), ACTR_EINVAL);
    ASSERT_EQ(actr_msg_error(m), 0);
    ASSERT_EQ(actr_msg_request_id(m), 0);
    ASSERT_EQ(actr_msg_is_request(m), 0);
    ASSERT_EQ(actr_msg_is_reply(m), 0);
    actr_msg_free(m);

    ASSERT_EQ(actr_is_alive(cl, a), 1);
    expect_nothing();
    teardown();
}

/* ---- payload limits ------------------------------------------------------------------ */

TEST_IMPL(errors, oversized_payloads)
{
    /* The hard limit: checked before the data is read or memory allocated. */
    static const char tiny[16];
    actr_msg_t *m = NULL;
    ASSERT_ERR(actr_msg_new(NULL, T_DATA, tiny, (size_t)ACTR_MSG_MAX_PAYLOAD + 1, &m),
               ACTR_E2BIG);
    ASSERT_ERR(actr_msg_new(NULL, T_DATA, tiny, SIZE_MAX, &m), ACTR_E2BIG);
    ASSERT_ERR(actr_msg_alloc(NULL, T_DATA, (size_t)ACTR_MSG_MAX_PAYLOAD + 1, &m), ACTR_E2BIG);
    ASSERT_ERR(actr_msg_alloc(NULL, T_DATA, SIZE_MAX, &m), ACTR_E2BIG);
    ASSERT_ERR(actr_msg_pack(NULL, T_DATA, &m, "x", tiny, (size_t)ACTR_MSG_MAX_PAYLOAD + 1),
               ACTR_E2BIG);

    /* A runtime's own, smaller limit applies to sends. */
    actr_options_t o;
    actr_options_init(&o);
    o.log_level = ACTR_LOG_OFF;
    o.max_payload = 1024;
    setup_opts(&o);
    actr_ref_t a;
    ASSERT_OK(actr_spawn(cl, &sink_beh, NULL, 0, NULL, &a));
    unsigned char *big = calloc(1, 4096);
    ASSERT_NOT_NULL(big);
    ASSERT_OK(actr_msg_new(cl, T_DATA, big, 1024, &m));
    ASSERT_OK(actr_send(cl, a, m));
    ASSERT_OK(actr_msg_new(cl, T_DATA, big, 1025, &m));
    ASSERT_ERR(actr_send(cl, a, m), ACTR_E2BIG); /* consumed: ASan sees no leak */
    ASSERT_OK(actr_msg_new(cl, T_DATA, big, 4096, &m));
    uint64_t id = 0;
    ASSERT_ERR(actr_request(cl, a, m, 100, &id), ACTR_E2BIG);
    ASSERT_OK(actr_msg_new(cl, T_DATA, big, 4096, &m));
    actr_msg_t *reply = NULL;
    ASSERT_ERR(actr_client_call(cl, a, m, 100, &reply), ACTR_E2BIG);
    /* Spawn arguments over the limit. */
    actr_ref_t out;
    ASSERT_ERR(actr_spawn(cl, &sink_beh, big, 4096, NULL, &out), ACTR_E2BIG);
    free(big);
    /* The actor is fine and nothing was delivered for the failed calls. */
    ASSERT_OK(actr_client_call(cl, a, mk(T_DATA), WAIT_MS, &reply));
    actr_msg_free(reply);
    expect_nothing();
    teardown();
}

/* ---- malformed msgpack ------------------------------------------------------------- */

static void check_unpack(const void *data, size_t len, int code)
{
    actr_msg_t *m = NULL;
    ASSERT_OK(actr_msg_new(NULL, T_DATA, data, len, &m));
    const void *p = NULL;
    size_t plen = 0;
    ASSERT_ERR(actr_msg_unpack(m, "*", &p, &plen), code);
    ASSERT_ERR(actr_msg_unpack(m, "_"), code);
    ASSERT_ERR(actr_unpack(data, len, "*", &p, &plen), code);
    ASSERT_ERR(actr_msgpack_check(data, len), code);
    actr_msg_free(m);
}

TEST_IMPL(errors, malformed_msgpack)
{
    /* 0xc1 is never used. */
    const unsigned char never[] = {0xc1};
    check_unpack(never, sizeof never, ACTR_EMSGPACK);
    /* Truncated: an array of 2 with one element; a str8 of 10 with 2 bytes;
     * a uint32 with 2 of its 4 bytes; a bin32 claiming 4 GiB. */
    const unsigned char arr[] = {0x92, 0x01};
    check_unpack(arr, sizeof arr, ACTR_EMSGPACK);
    const unsigned char str[] = {0xd9, 10, 'a', 'b'};
    check_unpack(str, sizeof str, ACTR_EMSGPACK);
    const unsigned char u32[] = {0xce, 0x01, 0x02};
    check_unpack(u32, sizeof u32, ACTR_EMSGPACK);
    const unsigned char bin32[] = {0xc6, 0xff, 0xff, 0xff, 0xff, 0x00};
    check_unpack(bin32, sizeof bin32, ACTR_EMSGPACK);
    const unsigned char map32[] = {0xdf, 0xff, 0xff, 0xff, 0xff};
    check_unpack(map32, sizeof map32, ACTR_EMSGPACK);
    const unsigned char arr32[] = {0xdd, 0x7f, 0xff, 0xff, 0xff, 0x01};
    check_unpack(arr32, sizeof arr32, ACTR_EMSGPACK);
    /* Nesting far deeper than any bound: 100,000 arrays of one. */
    size_t deep_len = 100001;
    unsigned char *deep = malloc(deep_len);
    ASSERT_NOT_NULL(deep);
    memset(deep, 0x91, deep_len - 1);
    deep[deep_len - 1] = 0x01;
    check_unpack(deep, deep_len, ACTR_EMSGPACK);
    free(deep);
    /* Trailing bytes after a complete value are malformed for "i". */
    const unsigned char two[] = {0x01, 0x02};
    int i = 0;
    ASSERT_ERR(actr_unpack(two, sizeof two, "i", &i), ACTR_EMSGPACK);
    ASSERT_OK(actr_unpack(two, sizeof two, "ii", &i, &i));
    ASSERT_OK(actr_msgpack_check(two, sizeof two));
    /* Empty input for a format that wants a value. */
    ASSERT_ERR(actr_unpack(NULL, 0, "i", &i), ACTR_EMSGPACK);
    ASSERT_ERR(actr_msgpack_check(two, 0), ACTR_EMSGPACK);

    /* Well-formed but not what the format says. */
    const unsigned char strv[] = {0xa2, 'h', 'i'};
    ASSERT_ERR(actr_unpack(strv, sizeof strv, "i", &i), ACTR_ETYPE);
    const unsigned char big[] = {0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    ASSERT_ERR(actr_unpack(big, sizeof big, "i", &i), ACTR_ERANGE);
    const unsigned char map[] = {0x81, 0xa1, 'a', 0x01};
    ASSERT_ERR(actr_unpack(map, sizeof map, "{s:i}", "b", &i), ACTR_ENOENT);
    ASSERT_OK(actr_unpack(map, sizeof map, "{?s:i}", "b", &i));
    ASSERT_OK(actr_unpack(map, sizeof map, "{s:i}", "a", &i));
    ASSERT_EQ(i, 1);
    ASSERT_ERR(actr_unpack(map, sizeof map, "{s:i", "a", &i), ACTR_EINVAL);
    const unsigned char arr3[] = {0x93, 0x01, 0x02, 0x03};
    ASSERT_ERR(actr_unpack(arr3, sizeof arr3, "[ii]", &i, &i), ACTR_ETYPE);
    ASSERT_OK(actr_unpack(arr3, sizeof arr3, "[ii...]", &i, &i));
    /* A bad ref extension (wrong length). */
    const unsigned char ext[] = {0xd4, 0x01, 0x00};
    actr_ref_t ref;
    int rc = actr_unpack(ext, sizeof ext, "r", &ref);
    ASSERT(rc == ACTR_ETYPE || rc == ACTR_EMSGPACK);
}

/* ---- runtimes do not mix ----------------------------------------------------------- */

TEST_IMPL(errors, other_runtime_ref)
{
    setup();
    actr_t *rt2 = NULL;
    actr_options_t o;
    actr_options_init(&o);
    o.log_level = ACTR_LOG_OFF;
    ASSERT_OK(actr_open(&rt2, &o));
    ASSERT_OK(actr_start(rt2));
    actr_ctx_t *cl2 = NULL;
    ASSERT_OK(actr_client_open(rt2, &cl2));
    actr_ref_t theirs;
    ASSERT_OK(actr_spawn(cl2, &sink_beh, NULL, 0, NULL, &theirs));
    ASSERT_NE(theirs.node, actr_node_id(rt));
    check_bad_ref(theirs, ACTR_ENONODE);
    check_bad_ref(actr_self(cl2), ACTR_ENONODE);
    /* actr_register documents no ENONODE; another node's ref is not "a live
     * local actor" either way. */
    int rc = actr_register(cl, "theirs", theirs);
    ASSERT(rc == ACTR_ENONODE || rc == ACTR_ENOACTOR);
    actr_client_close(cl2);
    actr_close(rt2);
    teardown();
}

/* ---- error tables ---------------------------------------------------------------- */

TEST_IMPL(errors, strerror_table)
{
    static const struct {
        int code;
        const char *name;
    } codes[] = {
#define XX(name, val, msg) {ACTR_##name, #name},
        ACTR_ERRNO_MAP(XX)
#undef XX
    };
    const size_t n = sizeof codes / sizeof codes[0];
    ASSERT_GE(n, 20);
    for (size_t i = 0; i < n; i++) {
        const char *msg = actr_strerror(codes[i].code);
        const char *name = actr_err_name(codes[i].code);
        ASSERT_NOT_NULL(msg);
        ASSERT_NOT_NULL(name);
        ASSERT(msg[0] != '\0');
        ASSERT_STR_EQ(name, codes[i].name);
        ASSERT(strcmp(msg, "unknown error") != 0);
        ASSERT(codes[i].code < 0);
        for (size_t k = 0; k < i; k++) {
            ASSERT_NE(codes[i].code, codes[k].code);
            ASSERT(strcmp(msg, actr_strerror(codes[k].code)) != 0);
            ASSERT(strcmp(name, actr_err_name(codes[k].code)) != 0);
        }
    }
    /* OS codes equal -errno. */
    ASSERT_EQ(ACTR_ENOENT, -2);
    ASSERT_EQ(ACTR_EINVAL, -22);
    ASSERT_EQ(ACTR_ETIMEDOUT, -110);
    /* Unknown codes. */
    const int unknown[] = {1, 12345, -1, -3, -4000, -4999, -99999, INT32_MIN, INT32_MAX};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        ASSERT_STR_EQ(actr_strerror(unknown[i]), "unknown error");
        ASSERT_STR_EQ(actr_err_name(unknown[i]), "EUNKNOWN");
    }
    /* 0 is not an error; whatever it says, it is a string. */
    ASSERT_NOT_NULL(actr_strerror(0));
    ASSERT_NOT_NULL(actr_err_name(0));
}

/* ---- calls from the wrong context ------------------------------------------------- */

/* probe: from inside a handler, tries the client-only and non-handler calls,
 * and reports their codes: [recv, call, wait]. */
static int probe_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    actr_ref_t *owner = state;
    if (actr_msg_type(msg) != T_PROBE)
        return 0;
    actr_msg_t *m = NULL;
    int recv_rc = actr_client_recv(ctx, 0, &m);
    if (recv_rc == 0)
        actr_msg_free(m);
    actr_msg_t *req = NULL;
    int rc = actr_msg_new(ctx, T_DATA, NULL, 0, &req);
    if (rc != 0)
        return rc;
    m = NULL;
    int call_rc = actr_client_call(ctx, *owner, req, 100, &m);
    if (call_rc == 0)
        actr_msg_free(m);
    int wait_rc = actr_wait(actr_ctx_runtime(ctx));
    actr_msg_t *rep = NULL;
    if ((rc = actr_msg_pack(ctx, T_REPORT, &rep, "[iii]", recv_rc, call_rc, wait_rc)) != 0)
        return rc;
    return actr_send(ctx, *owner, rep);
}

static int probe_init(actr_ctx_t *ctx, void *state, const void *args, size_t len)
{
    (void)ctx;
    return actr_unpack(args, len, "r", (actr_ref_t *)state);
}

static const actr_behavior_t probe_beh = {
    .size = sizeof(actr_behavior_t),
    .name = "test.probe",
    .state_size = sizeof(actr_ref_t),
    .init = probe_init,
    .receive = probe_receive,
};

TEST_IMPL(errors, wrong_context)
{
    setup();
    /* Handler-only calls from a client. */
    ASSERT_ERR(actr_exit(cl, "bye"), ACTR_ECONTEXT);
    ASSERT_ERR(actr_trap_exit(cl, 1), ACTR_ECONTEXT);
    actr_ref_t a;
    ASSERT_OK(actr_spawn(cl, &sink_beh, NULL, 0, NULL, &a));
    ASSERT_ERR(actr_link(cl, a), ACTR_ECONTEXT);

    /* Client-only calls from a handler. */
    unsigned char args[64];
    size_t len = 0;
    ASSERT_OK(actr_pack(args, sizeof args, &len, "r", actr_self(cl)));
    actr_ref_t p;
    ASSERT_OK(actr_spawn(cl, &probe_beh, args, len, NULL, &p));
    ASSERT_OK(actr_send(cl, p, mk(T_PROBE)));
    actr_msg_t *m = NULL;
    ASSERT_OK(actr_client_recv(cl, WAIT_MS, &m));
    /* The call's request (if it went out at all) may arrive first: skip it. */
    while (actr_msg_type(m) != T_REPORT) {
        actr_msg_free(m);
        ASSERT_OK(actr_client_recv(cl, WAIT_MS, &m));
    }
    int recv_rc = 0, call_rc = 0, wait_rc = 0;
    ASSERT_OK(actr_msg_unpack(m, "[iii]", &recv_rc, &call_rc, &wait_rc));
    actr_msg_free(m);
    ASSERT_ERR(recv_rc, ACTR_ECONTEXT);
    ASSERT_ERR(call_rc, ACTR_ECONTEXT);
    ASSERT_ERR(wait_rc, ACTR_ECONTEXT);
    ASSERT_EQ(actr_is_alive(cl, p), 1);
    teardown();
}

/* tests/unit/test-control.c — the control socket and the JSON <-> msgpack
 * conversions (runtime/src/control.c, runtime/src/json.c; suite `control`).
 *
 * A runtime runs two actors defined here: "echo" answers every request with
 * a copy of its payload (and type), "slow" never answers. The control socket
 * listens at a path in a fresh temporary directory. Covered: the socket
 * file's mode (0600) and its removal at stop; the actors, plugins and call
 * commands through actr_control_request; every error reply (unknown name,
 * call timeout, bad JSON with its position, unknown command, bad fields,
 * oversized line); a live socket path refused with EBUSY, a stale one
 * replaced, a regular file left alone, a path too long for sun_path; several
 * clients at once; an idle half-sent connection that blocks nobody; the
 * connection limit; stop while a call is in flight. Then the conversions:
 * every JSON type through msgpack and back (nesting, unicode, NUL, integer
 * extremes up to UINT64_MAX, reals, binary, ext) with the exact msgpack bytes
 * for some, msgpack-only values (float32, non-string keys, NaN, bad UTF-8),
 * and the errors of both directions.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "actr.h"
#include "task.h"

#define WAIT_MS 10000

static actr_t *rt;
static actr_ctx_t *cl;
static actr_control_t *ctl;
static char dir[64];
static char sock[128];

static int echo_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    (void)state;
    if (!actr_msg_is_request(msg))
        return 0;
    size_t len = 0;
    const void *data = actr_msg_data(msg, &len);
    actr_msg_t *r = NULL;
    int rc = actr_msg_new(ctx, actr_msg_type(msg), data, len, &r);
    if (rc != 0)
        return rc;
    return actr_reply(ctx, msg, r);
}

static int slow_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    (void)ctx;
    (void)state;
    (void)msg;
    return 0; /* never replies */
}

static const actr_behavior_t echo_beh = {
    sizeof(actr_behavior_t), "echo", 0, NULL, echo_receive, NULL};
static const actr_behavior_t slow_beh = {
    sizeof(actr_behavior_t), "slow", 0, NULL, slow_receive, NULL};

static void make_dir(void)
{
    snprintf(dir, sizeof(dir), "/tmp/actr-ctl-XXXXXX");
    ASSERT_NOT_NULL(mkdtemp(dir));
    snprintf(sock, sizeof(sock), "%s/ctl.sock", dir);
}

static void count_named(void *ud, const actr_actor_info_t *info)
{
    if (info->name != NULL && (strcmp(info->name, "echo") == 0 || strcmp(info->name, "slow") == 0))
        ++*(int *)ud;
}

/* How many of "echo" and "slow" actr_actors_list shows (spawning is
 * asynchronous: an actor is listed once its first activation has begun). */
static int named_listed(void)
{
    int n = 0;
    actr_actors_list(rt, count_named, &n);
    return n;
}

/* A runtime with "echo" and "slow", and the control socket at `sock`. */
static void setup(void)
{
    actr_options_t o;
    actr_options_init(&o);
    o.log_level = ACTR_LOG_OFF;
    o.workers = 2;
    ASSERT_OK(actr_open(&rt, &o));
    ASSERT_OK(actr_start(rt));
    ASSERT_OK(actr_client_open(rt, &cl));
    actr_spawn_opts_t so = {0};
    actr_ref_t r;
    so.name = "echo";
    ASSERT_OK(actr_spawn(cl, &echo_beh, NULL, 0, &so, &r));
    so.name = "slow";
    ASSERT_OK(actr_spawn(cl, &slow_beh, NULL, 0, &so, &r));
    ASSERT_EVENTUALLY(named_listed() == 2, WAIT_MS);
    make_dir();
    actr_error_t err;
    int rc = actr_control_start(rt, sock, &ctl, &err);
    if (rc != 0)
        TEST_FAIL_("actr_control_start: %s", err.msg);
}

static void teardown(void)
{
    actr_control_stop(ctl);
    ctl = NULL;
    actr_client_close(cl);
    cl = NULL;
    ASSERT_OK(actr_stop(rt));
    ASSERT_OK(actr_wait(rt));
    actr_close(rt);
    rt = NULL;
    unlink(sock);
    ASSERT_OK(rmdir(dir));
}

/* Send one request; the reply line parsed (must be a JSON object). */
static json_t *request(const char *line)
{
    char *reply = NULL;
    actr_error_t err;
    int rc = actr_control_request(sock, line, WAIT_MS, &reply, &err);
    if (rc != 0)
        TEST_FAIL_("request %.80s: %s (%s)", line, actr_err_name(rc), err.msg);
    json_error_t je;
    json_t *j = json_loads(reply, 0, &je);
    if (j == NULL || !json_is_object(j))
        TEST_FAIL_("reply is not a JSON object: %s", reply);
    actr_free(reply);
    return j;
}

/* The request must fail with error `name` and a message containing each
 * of the (up to two) fragments. */
static void expect_error(const char *line, const char *name, const char *frag1, const char *frag2)
{
    json_t *j = request(line);
    const char *e = json_string_value(json_object_get(j, "error"));
    const char *m = json_string_value(json_object_get(j, "message"));
    ASSERT(json_is_false(json_object_get(j, "ok")));
    ASSERT_STR_EQ(e, name);
    ASSERT_NOT_NULL(m);
    if (frag1 != NULL && strstr(m, frag1) == NULL)
        TEST_FAIL_("message \"%s\" lacks \"%s\"", m, frag1);
    if (frag2 != NULL && strstr(m, frag2) == NULL)
        TEST_FAIL_("message \"%s\" lacks \"%s\"", m, frag2);
    json_decref(j);
}

/* A call to echo with `arg` (JSON text) must give back the same value, as
 * the converters write it. */
static void expect_echo(const char *arg)
{
    char line[4096], want[4096];
    void *mp = NULL;
    size_t len = 0;
    char *canon = NULL, *reply = NULL;
    actr_error_t err;
    ASSERT_OK(actr_json_to_msgpack(arg, &mp, &len, NULL));
    ASSERT_OK(actr_msgpack_to_json(mp, len, &canon));
    actr_free(mp);
    snprintf(line, sizeof(line), "{\"cmd\":\"call\",\"name\":\"echo\",\"arg\":%s}", arg);
    snprintf(want, sizeof(want), "{\"ok\":true,\"reply\":%s}", canon);
    actr_free(canon);
    int rc = actr_control_request(sock, line, WAIT_MS, &reply, &err);
    if (rc != 0)
        TEST_FAIL_("echo of %s: %s (%s)", arg, actr_err_name(rc), err.msg);
    ASSERT_STR_EQ(reply, want);
    actr_free(reply);
}

/* The address of the control path. */
static void sock_addr(struct sockaddr_un *sa)
{
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    ASSERT(strlen(sock) < sizeof(sa->sun_path));
    memcpy(sa->sun_path, sock, strlen(sock) + 1);
}

/* Connect a raw socket to the control path. */
static int raw_connect(void)
{
    struct sockaddr_un sa;
    sock_addr(&sa);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    ASSERT(fd >= 0);
    ASSERT_OK(connect(fd, (struct sockaddr *)&sa, sizeof(sa)));
    return fd;
}

/* Read one line from a blocking socket (the test's timeout bounds it). */
static void raw_read_line(int fd, char *buf, size_t cap)
{
    size_t n = 0;
    while (n + 1 < cap) {
        ssize_t r = recv(fd, buf + n, 1, 0);
        ASSERT(r == 1);
        if (buf[n] == '\n')
            break;
        n++;
    }
    buf[n] = '\0';
}

/* ---- the socket file ------------------------------------------------------ */

TEST_IMPL(control, socket_mode_and_removal)
{
    struct stat st;
    setup();
    ASSERT_OK(lstat(sock, &st));
    ASSERT(S_ISSOCK(st.st_mode));
    ASSERT_EQ(st.st_mode & 0777, 0600);
    actr_control_stop(ctl);
    ctl = NULL;
    ASSERT(lstat(sock, &st) != 0 && errno == ENOENT);
    actr_control_stop(NULL); /* harmless */
    /* and no one answers there any more */
    char *reply = NULL;
    actr_error_t err;
    ASSERT_ERR(actr_control_request(sock, "{\"cmd\":\"actors\"}", 1000, &reply, &err), ACTR_ENOENT);
    ASSERT_NULL(reply);
    ASSERT(strstr(err.msg, sock) != NULL);
    teardown();
}

TEST_IMPL(control, live_path_is_busy)
{
    actr_control_t *other = NULL;
    actr_error_t err;
    setup();
    ASSERT_ERR(actr_control_start(rt, sock, &other, &err), ACTR_EBUSY);
    ASSERT_NULL(other);
    ASSERT_EQ(err.code, ACTR_EBUSY);
    ASSERT(strstr(err.msg, sock) != NULL);
    /* the first one still serves */
    json_t *j = request("{\"cmd\":\"plugins\"}");
    ASSERT(json_is_true(json_object_get(j, "ok")));
    json_decref(j);
    teardown();
}

TEST_IMPL(control, stale_socket_replaced_other_files_kept)
{
    actr_options_t o;
    actr_error_t err;
    actr_options_init(&o);
    o.log_level = ACTR_LOG_OFF;
    o.workers = 1;
    ASSERT_OK(actr_open(&rt, &o));
    ASSERT_OK(actr_start(rt));
    make_dir();

    /* a socket file nobody listens on: left by a node that died */
    struct sockaddr_un sa;
    sock_addr(&sa);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    ASSERT(fd >= 0);
    ASSERT_OK(bind(fd, (struct sockaddr *)&sa, sizeof(sa)));
    close(fd);
    int rc = actr_control_start(rt, sock, &ctl, &err);
    if (rc != 0)
        TEST_FAIL_("stale socket not replaced: %s", err.msg);
    json_t *j = request("{\"cmd\":\"actors\"}");
    ASSERT(json_is_true(json_object_get(j, "ok")));
    json_decref(j);
    actr_control_stop(ctl);
    ctl = NULL;

    /* a regular file is not ours to remove */
    FILE *f = fopen(sock, "w");
    ASSERT_NOT_NULL(f);
    fclose(f);
    ASSERT_ERR(actr_control_start(rt, sock, &ctl, &err), ACTR_EEXIST);
    ASSERT(strstr(err.msg, sock) != NULL && strstr(err.msg, "not a socket") != NULL);
    struct stat st;
    ASSERT_OK(lstat(sock, &st));
    ASSERT(S_ISREG(st.st_mode));
    ASSERT_OK(unlink(sock));

    /* a path that does not fit sun_path */
    char longp[300];
    memset(longp, 'x', sizeof(longp) - 1);
    longp[0] = '/';
    longp[sizeof(longp) - 1] = '\0';
    ASSERT_ERR(actr_control_start(rt, longp, &ctl, &err), ACTR_EINVAL);
    ASSERT(strstr(err.msg, longp) != NULL && strstr(err.msg, "shorter than") != NULL);
    char *reply = NULL;
    ASSERT_ERR(actr_control_request(longp, "{}", 1000, &reply, &err), ACTR_EINVAL);

    /* a directory that does not exist */
    char missing[128];
    snprintf(missing, sizeof(missing), "%s/no/such/dir.sock", dir);
    ASSERT(actr_control_start(rt, missing, &ctl, &err) == -ENOENT);
    ASSERT(strstr(err.msg, missing) != NULL);

    ASSERT_OK(actr_stop(rt));
    ASSERT_OK(actr_wait(rt));
    actr_close(rt);
    rt = NULL;
    ASSERT_OK(rmdir(dir));
}

/* ---- commands ------------------------------------------------------------- */

TEST_IMPL(control, actors_and_plugins)
{
    setup();
    actr_ref_t echo;
    ASSERT_OK(actr_whereis(cl, "echo", &echo));
    json_t *j = request("{\"cmd\":\"actors\"}");
    ASSERT(json_is_true(json_object_get(j, "ok")));
    json_t *arr = json_object_get(j, "actors");
    ASSERT(json_is_array(arr));
    ASSERT_GE(json_array_size(arr), 2);
    size_t i;
    json_t *a;
    int seen = 0;
    char ref[32];
    snprintf(ref, sizeof(ref), "%u.%u", echo.slot, echo.gen);
    json_array_foreach(arr, i, a)
    {
        const char *name = json_string_value(json_object_get(a, "name"));
        ASSERT(json_is_string(json_object_get(a, "ref")));
        ASSERT(json_is_integer(json_object_get(a, "mailbox")));
        ASSERT(json_is_integer(json_object_get(a, "handled")));
        ASSERT(json_is_string(json_object_get(a, "type")));
        if (name != NULL && strcmp(name, "echo") == 0) {
            ASSERT_STR_EQ(json_string_value(json_object_get(a, "type")), "echo");
            ASSERT_STR_EQ(json_string_value(json_object_get(a, "ref")), ref);
            seen |= 1;
        } else if (name != NULL && strcmp(name, "slow") == 0) {
            ASSERT_STR_EQ(json_string_value(json_object_get(a, "type")), "slow");
            seen |= 2;
        }
    }
    ASSERT_EQ(seen, 3);
    json_decref(j);

    /* an actor without a name is listed with "name": null (once its first
     * activation has run: spawning is asynchronous) */
    actr_ref_t anon;
    ASSERT_OK(actr_spawn(cl, &slow_beh, NULL, 0, NULL, &anon));
    snprintf(ref, sizeof(ref), "%u.%u", anon.slot, anon.gen);
    uint64_t deadline = test_now_ms() + WAIT_MS;
    for (seen = 0; !seen;) {
        ASSERT(test_now_ms() < deadline);
        j = request("{\"cmd\":\"actors\"}");
        json_array_foreach(json_object_get(j, "actors"), i, a)
        {
            if (strcmp(json_string_value(json_object_get(a, "ref")), ref) == 0) {
                ASSERT(json_is_null(json_object_get(a, "name")));
                seen = 1;
            }
        }
        json_decref(j);
        if (!seen)
            test_nap_ms(1);
    }

    j = request("{\"cmd\":\"plugins\"}");
    ASSERT(json_is_true(json_object_get(j, "ok")));
    ASSERT(json_is_array(json_object_get(j, "plugins")));
    json_decref(j);
    teardown();
}

TEST_IMPL(control, call_round_trips)
{
    setup();
    expect_echo("{\"a\":[1,2.5,\"x\",null,true,false],\"b\":{}}");
    expect_echo("\"h\\u00e9llo \\u2603 \\ud83d\\ude00\"");
    expect_echo("[18446744073709551615,-9223372036854775808,0,[[[]]]]");
    expect_echo("\"$bin:AAEC/w==\"");
    expect_echo("null");
    expect_echo("-0.5");

    /* a request line may carry newlines (pretty JSON): they become spaces */
    json_t *j = request("{\n  \"cmd\": \"call\",\n  \"name\": \"echo\",\n  \"arg\": [1,\n 2]\n}");
    ASSERT(json_is_true(json_object_get(j, "ok")));
    ASSERT_EQ(json_integer_value(json_array_get(json_object_get(j, "reply"), 1)), 2);
    json_decref(j);

    /* no "arg": an empty payload, whose reply shows as null */
    j = request("{\"cmd\":\"call\",\"name\":\"echo\"}");
    ASSERT(json_is_true(json_object_get(j, "ok")));
    ASSERT(json_is_null(json_object_get(j, "reply")));
    json_decref(j);

    /* "type" reaches the actor (echo keeps it; the payload is what we check) */
    j = request("{\"cmd\":\"call\",\"name\":\"echo\",\"type\":77,\"timeout_ms\":3000,\"arg\":7}");
    ASSERT_EQ(json_integer_value(json_object_get(j, "reply")), 7);
    json_decref(j);

    /* several requests on one connection, and a CRLF line */
    int fd = raw_connect();
    const char *two = "{\"cmd\":\"call\",\"name\":\"echo\",\"arg\":1}\n"
                      "{\"cmd\":\"call\",\"name\":\"echo\",\"arg\":2}\r\n";
    ASSERT_EQ(send(fd, two, strlen(two), 0), (ssize_t)strlen(two));
    char line[256];
    raw_read_line(fd, line, sizeof(line));
    ASSERT_STR_EQ(line, "{\"ok\":true,\"reply\":1}");
    raw_read_line(fd, line, sizeof(line));
    ASSERT_STR_EQ(line, "{\"ok\":true,\"reply\":2}");
    close(fd);
    teardown();
}

TEST_IMPL(control, call_errors)
{
    setup();
    expect_error("{\"cmd\":\"call\",\"name\":\"nobody\",\"arg\":1}", "ENOACTOR", "\"nobody\"",
                 NULL);
    expect_error("{\"cmd\":\"call\",\"name\":\"slow\",\"arg\":1,\"timeout_ms\":50}", "ETIMEDOUT",
                 "\"slow\"", "50 ms");
    expect_error("{\"cmd\":\"call\",\"name\":", "EINVAL", "JSON error at 1:", NULL);
    expect_error("{\"cmd\":\"call\",\n\"name\":]", "EINVAL", "JSON error at 1:", NULL);
    expect_error("{\"cmd\":\"frobnicate\"}", "EINVAL", "\"frobnicate\"", "actors, plugins, call");
    expect_error("{\"cmd\":3}", "EINVAL", "\"cmd\" must be a string", NULL);
    expect_error("{\"name\":\"echo\"}", "EINVAL", "missing \"cmd\"", NULL);
    expect_error("[1,2]", "EINVAL", "JSON object", NULL);
    expect_error("", "EINVAL", "empty request", NULL);
    expect_error("{\"cmd\":\"call\"}", "EINVAL", "\"name\"", NULL);
    expect_error("{\"cmd\":\"call\",\"name\":5}", "EINVAL", "\"name\"", NULL);
    expect_error("{\"cmd\":\"call\",\"name\":\"echo\",\"timeout_ms\":0}", "EINVAL", "timeout_ms",
                 NULL);
    expect_error("{\"cmd\":\"call\",\"name\":\"echo\",\"type\":-1}", "EINVAL", "\"type\"", NULL);
    expect_error("{\"cmd\":\"call\",\"cmd\":\"actors\"}", "EINVAL", "duplicate", NULL);
    expect_error("{\"cmd\":\"call\",\"name\":\"echo\",\"arg\":\"$bin:@@\"}", "EINVAL", "base64",
                 NULL);
    teardown();
}

TEST_IMPL(control, oversized_line)
{
    setup();
    size_t n = (1u << 20) + 100;
    char *big = malloc(n + 1);
    ASSERT_NOT_NULL(big);
    memset(big, ' ', n);
    memcpy(big, "{\"cmd\":\"actors\"", 15);
    big[n - 1] = '}';
    big[n] = '\0';
    expect_error(big, "E2BIG", "longer than 1048576", NULL);
    /* just under the limit is fine */
    big[(1u << 20) - 1] = '}';
    big[1u << 20] = '\0';
    json_t *j = request(big);
    ASSERT(json_is_true(json_object_get(j, "ok")));
    json_decref(j);
    free(big);
    /* the server goes on serving */
    expect_echo("1");
    teardown();
}

struct worker {
    pthread_t th;
    int id;
    int ok;
    char why[600];
};

static void *client_thread(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < 20; i++) {
        char line[128], want[64];
        char *reply = NULL;
        actr_error_t err;
        snprintf(line, sizeof(line), "{\"cmd\":\"call\",\"name\":\"echo\",\"arg\":[%d,%d,\"w\"]}",
                 w->id, i);
        snprintf(want, sizeof(want), "{\"ok\":true,\"reply\":[%d,%d,\"w\"]}", w->id, i);
        int rc = actr_control_request(sock, line, WAIT_MS, &reply, &err);
        if (rc != 0) {
            snprintf(w->why, sizeof(w->why), "%s: %s", actr_err_name(rc), err.msg);
            return NULL;
        }
        int same = strcmp(reply, want) == 0;
        if (!same)
            snprintf(w->why, sizeof(w->why), "got %.500s", reply);
        actr_free(reply);
        if (!same)
            return NULL;
    }
    w->ok = 1;
    return NULL;
}

TEST_IMPL(control, concurrent_clients)
{
    struct worker w[8];
    setup();
    /* a client that sends half a line and waits must not hold up anyone */
    int idle = raw_connect();
    ASSERT_EQ(send(idle, "{\"cmd\"", 6, 0), 6);
    for (int i = 0; i < 8; i++) {
        w[i].id = i;
        w[i].ok = 0;
        ASSERT_OK(pthread_create(&w[i].th, NULL, client_thread, &w[i]));
    }
    for (int i = 0; i < 8; i++) {
        ASSERT_OK(pthread_join(w[i].th, NULL));
        if (!w[i].ok)
            TEST_FAIL_("client %d: %s", i, w[i].why);
    }
    /* stop does not wait for the idle client's line */
    teardown();
    close(idle);
}

TEST_IMPL(control, connection_limit)
{
    int fds[16];
    char line[512];
    setup();
    for (int i = 0; i < 16; i++)
        fds[i] = raw_connect();
    /* each of the 16 is being served: prove it with a request on each */
    for (int i = 0; i < 16; i++) {
        const char *rq = "{\"cmd\":\"plugins\"}\n";
        ASSERT_EQ(send(fds[i], rq, strlen(rq), 0), (ssize_t)strlen(rq));
        raw_read_line(fds[i], line, sizeof(line));
        ASSERT(strstr(line, "\"ok\":true") != NULL);
    }
    int extra = raw_connect();
    raw_read_line(extra, line, sizeof(line));
    ASSERT(strstr(line, "\"EBUSY\"") != NULL);
    close(extra);
    /* one leaves, and a new client gets in */
    close(fds[0]);
    uint64_t deadline = test_now_ms() + WAIT_MS;
    for (;;) {
        char *reply = NULL;
        actr_error_t err;
        ASSERT_OK(actr_control_request(sock, "{\"cmd\":\"plugins\"}", WAIT_MS, &reply, &err));
        int busy = strstr(reply, "EBUSY") != NULL;
        actr_free(reply);
        if (!busy)
            break;
        ASSERT(test_now_ms() < deadline);
        test_nap_ms(1);
    }
    teardown();
    for (int i = 1; i < 16; i++)
        close(fds[i]);
}

static void find_slow(void *ud, const actr_actor_info_t *info)
{
    if (info->name != NULL && strcmp(info->name, "slow") == 0)
        *(uint64_t *)ud = info->handled;
}

/* Messages "slow" has been handed. */
static uint64_t slow_handled(void)
{
    uint64_t n = 0;
    actr_actors_list(rt, find_slow, &n);
    return n;
}

struct pending {
    pthread_t th;
    int rc;
    char *reply;
};

static void *pending_call(void *arg)
{
    struct pending *p = arg;
    actr_error_t err;
    p->rc = actr_control_request(sock, "{\"cmd\":\"call\",\"name\":\"slow\",\"timeout_ms\":600000}",
                                 WAIT_MS * 6, &p->reply, &err);
    return NULL;
}

TEST_IMPL(control, stop_during_call)
{
    struct pending p = {0};
    setup();
    ASSERT_OK(pthread_create(&p.th, NULL, pending_call, &p));
    /* the request has reached slow (it is in slow's hands, never answered) */
    ASSERT_EVENTUALLY(slow_handled() >= 1, WAIT_MS);
    actr_control_stop(ctl);
    ctl = NULL;
    ASSERT_OK(pthread_join(p.th, NULL));
    /* either the "closing" error line, or the connection closed under it */
    if (p.rc == 0) {
        ASSERT(strstr(p.reply, "ESTOPPED") != NULL);
        actr_free(p.reply);
    } else {
        ASSERT_EQ(p.rc, ACTR_EPROTO);
    }
    teardown();
}

/* ---- JSON <-> msgpack ------------------------------------------------------ */

/* JSON text (canonical: compact, as the converter writes it) -> msgpack ->
 * the same text. */
static void round_trip(const char *json)
{
    void *mp = NULL;
    size_t len = 0;
    char *back = NULL;
    actr_error_t err;
    int rc = actr_json_to_msgpack(json, &mp, &len, &err);
    if (rc != 0)
        TEST_FAIL_("json_to_msgpack(%s): %s", json, err.msg);
    ASSERT_OK(actr_msgpack_check(mp, len));
    ASSERT_OK(actr_msgpack_to_json(mp, len, &back));
    ASSERT_STR_EQ(back, json);
    actr_free(back);
    actr_free(mp);
}

/* JSON text -> exactly these msgpack bytes. */
static void to_bytes(const char *json, const char *hex)
{
    void *mp = NULL;
    size_t len = 0;
    uint8_t want[64];
    size_t n = strlen(hex) / 2;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        ASSERT_EQ(sscanf(hex + 2 * i, "%2x", &v), 1);
        want[i] = (uint8_t)v;
    }
    ASSERT_OK(actr_json_to_msgpack(json, &mp, &len, NULL));
    if (len != n || memcmp(mp, want, n) != 0)
        TEST_FAIL_("%s: msgpack differs from %s (%zu bytes)", json, hex, len);
    actr_free(mp);
}

/* msgpack (hex) -> exactly this JSON text, or the error `code`. */
static void from_bytes(const char *hex, const char *json, int code)
{
    uint8_t in[256];
    size_t n = strlen(hex) / 2;
    char *out = NULL;
    ASSERT(n <= sizeof(in));
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        ASSERT_EQ(sscanf(hex + 2 * i, "%2x", &v), 1);
        in[i] = (uint8_t)v;
    }
    int rc = actr_msgpack_to_json(in, n, &out);
    if (rc != code)
        TEST_FAIL_("%s: expected %s, got %s (%s)", hex, actr_err_name(code), actr_err_name(rc),
                   out ? out : "");
    if (code == 0)
        ASSERT_STR_EQ(out, json);
    else
        ASSERT_NULL(out);
    actr_free(out);
}

/* JSON text must be refused with EINVAL, the message naming `frag` and the
 * position line:col (0:0 = no position). */
static void json_error(const char *json, const char *frag, int line, int col)
{
    void *mp = (void *)1;
    size_t len = 99;
    actr_error_t err;
    ASSERT_ERR(actr_json_to_msgpack(json, &mp, &len, &err), ACTR_EINVAL);
    ASSERT_NULL(mp);
    ASSERT_EQ(len, 0);
    ASSERT_EQ(err.code, ACTR_EINVAL);
    if (strstr(err.msg, frag) == NULL)
        TEST_FAIL_("%.60s: message \"%s\" lacks \"%s\"", json, err.msg, frag);
    if (line != 0) {
        ASSERT_EQ(err.line, line);
        ASSERT_EQ(err.col, col);
    }
}

TEST_IMPL(control, json_round_trips)
{
    round_trip("null");
    round_trip("true");
    round_trip("false");
    round_trip("0");
    round_trip("-1");
    round_trip("127");
    round_trip("-33");
    round_trip("65536");
    round_trip("4294967296");
    round_trip("9223372036854775807");
    round_trip("-9223372036854775808");
    round_trip("9223372036854775808");
    round_trip("18446744073709551615");
    round_trip("1.5");
    round_trip("-0.0");
    round_trip("0.1");
    round_trip("1.0");
    round_trip("1e+300");
    round_trip("2.2250738585072014e-308");
    round_trip("\"\"");
    round_trip("\"h\xc3\xa9llo \xe2\x98\x83 \xf0\x9f\x98\x80\"");
    round_trip("\"q\\\"b\\\\n\\nt\\tc\\u0001\\u001f\"");
    round_trip("\"nul\\u0000inside\"");
    round_trip("[]");
    round_trip("{}");
    round_trip("[1,[2,[3,[]]],{\"a\":{\"b\":[null]}}]");
    round_trip("{\"k\":1,\"a\":2,\"z\":[true,false]}");
    round_trip("[18446744073709551615,{\"x\":18446744073709551614},\"\"]");
    round_trip("\"$bin:\"");
    round_trip("\"$bin:AA==\"");
    round_trip("\"$bin:AAEC/w==\"");
    round_trip("\"$ext:5:AQID\"");
    round_trip("\"$ext:-128:\"");
    round_trip("\"$ext:1:AAAAAAAAAAEAAAACAAAAAw==\"");
    /* every string length class */
    char big[70000 + 3];
    big[0] = '"';
    memset(big + 1, 'a', 70000);
    big[70001] = '"';
    big[70002] = '\0';
    round_trip(big);
    /* 64 levels deep is fine */
    char deep[200];
    memset(deep, '[', 64);
    memset(deep + 64, ']', 64);
    deep[128] = '\0';
    round_trip(deep);

    /* exact encodings: shortest integers, float64 reals, binary, ext */
    to_bytes("1", "01");
    to_bytes("-1", "ff");
    to_bytes("200", "ccc8");
    to_bytes("-200", "d1ff38");
    to_bytes("18446744073709551615", "cfffffffffffffffff");
    to_bytes("1.5", "cb3ff8000000000000");
    to_bytes("1.0", "cb3ff0000000000000");
    to_bytes("true", "c3");
    to_bytes("null", "c0");
    to_bytes("\"ab\"", "a26162");
    to_bytes("\"$bin:AAEC\"", "c403000102");
    to_bytes("\"$bin:AAE\"", "c4020001"); /* padding optional */
    to_bytes("\"$ext:7:AQ==\"", "d40701");
    to_bytes("{\"a\":[1,null]}", "81a1619201c0");
}

TEST_IMPL(control, msgpack_to_json_values)
{
    from_bytes("ca3f8ccccd", "1.1", 0);          /* float32 1.1: its shortest form */
    from_bytes("ca7fc00000", "null", 0);         /* float32 NaN */
    from_bytes("cb7ff0000000000000", "null", 0); /* +Inf */
    from_bytes("cbfff0000000000000", "null", 0); /* -Inf */
    from_bytes("82"
               "01"
               "02"
               "c0"
               "03",
               "{\"1\":2,\"null\":3}", 0); /* non-string keys */
    from_bytes("81"
               "920102"
               "c3",
               "{\"[1,2]\":true}", 0);
    from_bytes("81"
               "81a161a162"
               "c2",
               "{\"{\\\"a\\\":\\\"b\\\"}\":false}", 0);
    from_bytes("81"
               "c40100"
               "01",
               "{\"$bin:AA==\":1}", 0);
    from_bytes("a3"
               "61ff62",
               "\"a\xef\xbf\xbd"
               "b\"",
               0); /* bad UTF-8 -> U+FFFD */
    from_bytes("a3"
               "eda080",
               "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"", 0); /* a surrogate */
    from_bytes("a2"
               "c0af",
               "\"\xef\xbf\xbd\xef\xbf\xbd\"", 0); /* overlong */
    from_bytes("a1"
               "7f",
               "\"\x7f\"", 0);
    from_bytes("d0ff", "-1", 0);
    from_bytes("d1fc18", "-1000", 0);
    from_bytes("d3ffffffffffffffff", "-1", 0);
    from_bytes("d38000000000000000", "-9223372036854775808", 0);
    from_bytes("cd0100", "256", 0);
    from_bytes("c70302010203", "\"$ext:2:AQID\"", 0);
    from_bytes("d5ff0102", "\"$ext:-1:AQI=\"", 0);
    from_bytes("dc0000", "[]", 0);
    from_bytes("de0000", "{}", 0);
    from_bytes("da0001"
               "78",
               "\"x\"", 0);
    /* malformed: trailing bytes, truncation, never-used byte, bad counts */
    from_bytes("0101", NULL, ACTR_EMSGPACK);
    from_bytes("a3"
               "6162",
               NULL, ACTR_EMSGPACK);
    from_bytes("c1", NULL, ACTR_EMSGPACK);
    from_bytes("cb3ff0", NULL, ACTR_EMSGPACK);
    from_bytes("dd7fffffff", NULL, ACTR_EMSGPACK);
    from_bytes("df7fffffff01", NULL, ACTR_EMSGPACK);
    from_bytes("c6ffffffff00", NULL, ACTR_EMSGPACK);
    from_bytes("", NULL, ACTR_EMSGPACK);

    /* nesting: 64 arrays are fine, 65 are malformed */
    uint8_t deep[70];
    char *out = NULL;
    memset(deep, 0x91, sizeof(deep));
    deep[63] = 0x90;
    ASSERT_OK(actr_msgpack_to_json(deep, 64, &out));
    actr_free(out);
    deep[63] = 0x91;
    deep[64] = 0x90;
    ASSERT_ERR(actr_msgpack_to_json(deep, 65, &out), ACTR_EMSGPACK);
    ASSERT_NULL(out);

    /* keys rendered as text escape once per level: the output is bounded */
    uint8_t grow[4 * 64];
    size_t n = 0;
    for (int i = 0; i < 60; i++)
        grow[n++] = 0x81; /* a map whose key is the next map */
    grow[n++] = 0x81;
    grow[n++] = 0xa1;
    grow[n++] = '"';
    grow[n++] = 0xc0;
    for (int i = 0; i < 60; i++)
        grow[n++] = 0xc0; /* each level's value */
    ASSERT_ERR(actr_msgpack_to_json(grow, n, &out), ACTR_E2BIG);
    ASSERT_NULL(out);

    ASSERT_ERR(actr_msgpack_to_json(NULL, 1, &out), ACTR_EINVAL);
    ASSERT_ERR(actr_msgpack_to_json("\x01", 1, NULL), ACTR_EINVAL);
}

TEST_IMPL(control, json_errors)
{
    json_error("[1,]", "JSON error at 1:4", 1, 4);
    json_error("{\"a\":1,\n \"b\" 2}", "JSON error at 2:", 2, 0 + 6);
    json_error("{\"a\":1,\"a\":2}", "duplicate", 0, 0);
    json_error("", "JSON error", 0, 0);
    json_error("[1] 2", "JSON error", 0, 0);
    json_error("\"\xff\"", "JSON error", 0, 0);
    json_error("-9223372036854775809", "too big", 0, 0);
    json_error("18446744073709551616", "too big", 0, 0);
    json_error("{18446744073709551615:1}", "too big integer", 1, 21);
    json_error("[18446744073709551615 1]", "JSON error at 1:23", 1, 23);
    /* with a "\u0000" of its own, a text cannot carry integers above int64 */
    json_error("[\"\\u0000\",18446744073709551615]", "too big", 0, 0);
    json_error("\"$bin:AAE=x\"", "base64", 0, 0);
    json_error("\"$bin:A\"", "base64", 0, 0);
    json_error("\"$ext:AQ==\"", "$ext:", 0, 0);
    json_error("\"$ext:300:AQ==\"", "$ext:", 0, 0);
    json_error("\"$ext: 1:AQ==\"", "$ext:", 0, 0);
    char deep[200];
    memset(deep, '[', 65);
    memset(deep + 65, ']', 65);
    deep[130] = '\0';
    json_error(deep, "deeper than 64", 1, 65);
    void *mp = NULL;
    size_t len = 0;
    ASSERT_ERR(actr_json_to_msgpack(NULL, &mp, &len, NULL), ACTR_EINVAL);
    ASSERT_ERR(actr_json_to_msgpack("1", NULL, &len, NULL), ACTR_EINVAL);
}

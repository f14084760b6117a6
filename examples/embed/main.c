/* examples/embed/main.c — embedding actr in an ordinary C program.
 *
 * The program opens a runtime with the default options, starts it in the
 * background, and talks to two actors of its own from the main thread through
 * a client context:
 *   greeter  answers a request {"name": STR} with the string "Hello, NAME";
 *   counter  keeps a running total: MSG_ADD [n] adds n, MSG_GET answers the
 *            sender with MSG_VALUE [total].
 * The main thread uses actr_client_call (a blocking request with a timeout,
 * for threads that are not actors) and actr_send + actr_client_recv, prints
 * what it gets, and shuts everything down. It exits 0 only if every answer
 * is the expected one, so it doubles as a test.
 */
#include <stdio.h>
#include <string.h>

#include "actr.h"

enum { MSG_GREET = 1, MSG_ADD, MSG_GET, MSG_VALUE };

/* ---- the actors --------------------------------------------------------- */

static int greeter_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    (void)state;
    if (actr_msg_type(msg) != MSG_GREET || !actr_msg_is_request(msg))
        return 0; /* ignore anything else */
    const char *name;
    size_t len;
    int rc = actr_msg_unpack(msg, "{s:s}", "name", &name, &len);
    if (rc != 0)
        return rc; /* a malformed request crashes the greeter */
    char text[128];
    snprintf(text, sizeof text, "Hello, %.*s", (int)len, name);
    actr_msg_t *reply;
    if ((rc = actr_msg_pack(ctx, MSG_GREET, &reply, "s", text)) != 0)
        return rc;
    return actr_reply(ctx, msg, reply);
}

static const actr_behavior_t greeter = {
    .size = sizeof(actr_behavior_t),
    .name = "greeter",
    .receive = greeter_receive,
};

typedef struct counter_state {
    long long total;
} counter_state_t;

static int counter_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    counter_state_t *st = state; /* zeroed by the runtime, state_size bytes */
    if (actr_msg_type(msg) == MSG_ADD) {
        int n;
        int rc = actr_msg_unpack(msg, "[i]", &n);
        if (rc == 0)
            st->total += n;
        return rc;
    }
    if (actr_msg_type(msg) == MSG_GET) {
        actr_msg_t *m;
        int rc = actr_msg_pack(ctx, MSG_VALUE, &m, "[I]", (int64_t)st->total);
        if (rc != 0)
            return rc;
        return actr_send(ctx, actr_msg_from(msg), m);
    }
    return 0;
}

static const actr_behavior_t counter = {
    .size = sizeof(actr_behavior_t),
    .name = "counter",
    .state_size = sizeof(counter_state_t),
    .receive = counter_receive,
};

/* ---- the host program ---------------------------------------------------- */

#define CHECK(call)                                                                        \
    do {                                                                                   \
        int rc_ = (call);                                                                  \
        if (rc_ != 0) {                                                                    \
            fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call,                 \
                    actr_strerror(rc_));                                                   \
            return 1;                                                                      \
        }                                                                                  \
    } while (0)

/* Ask the greeter to greet `name`; store the answer in out. */
static int greet(actr_ctx_t *c, actr_ref_t greeter_ref, const char *name, char *out,
                 size_t cap)
{
    actr_msg_t *req, *reply;
    CHECK(actr_msg_pack(c, MSG_GREET, &req, "{s:s}", "name", name));
    CHECK(actr_client_call(c, greeter_ref, req, 2000, &reply)); /* waits at most 2 s */
    const char *text;
    size_t len;
    int rc = actr_msg_unpack(reply, "s", &text, &len);
    if (rc == 0)
        snprintf(out, cap, "%.*s", (int)len, text);
    actr_msg_free(reply);
    return rc;
}

static int run(actr_ctx_t *c)
{
    actr_ref_t g, n;
    CHECK(actr_spawn(c, &greeter, NULL, 0, NULL, &g));
    CHECK(actr_spawn(c, &counter, NULL, 0, NULL, &n));

    /* Request/reply with a blocking call. */
    const char *names[] = {"world", "actr"};
    for (int i = 0; i < 2; i++) {
        char text[128], want[128];
        CHECK(greet(c, g, names[i], text, sizeof text));
        printf("greeter: %s\n", text);
        snprintf(want, sizeof want, "Hello, %s", names[i]);
        if (strcmp(text, want) != 0)
            return 1;
    }

    /* Plain sends, then a message back to this thread's mailbox. */
    for (int i = 1; i <= 10; i++) {
        actr_msg_t *m;
        CHECK(actr_msg_pack(c, MSG_ADD, &m, "[i]", i));
        CHECK(actr_send(c, n, m)); /* send consumes m, even on error */
    }
    actr_msg_t *get, *value;
    CHECK(actr_msg_new(c, MSG_GET, NULL, 0, &get));
    CHECK(actr_send(c, n, get));
    CHECK(actr_client_recv(c, 2000, &value)); /* FIFO: after all the adds */
    int64_t total = -1;
    int rc = actr_msg_type(value) == MSG_VALUE ? actr_msg_unpack(value, "[I]", &total)
                                                : ACTR_ETYPE;
    actr_msg_free(value);
    CHECK(rc);
    printf("counter: total = %lld\n", (long long)total);
    return total == 55 ? 0 : 1;
}

int main(void)
{
    actr_t *rt;
    actr_ctx_t *client;
    CHECK(actr_open(&rt, NULL)); /* default options: one worker per core */
    CHECK(actr_start(rt));       /* workers and I/O thread run in the background */
    CHECK(actr_client_open(rt, &client));

    int status = run(client);

    actr_client_close(client); /* clients are closed before the runtime */
    CHECK(actr_stop(rt));      /* every actor stops with reason "shutdown" */
    CHECK(actr_wait(rt));
    actr_close(rt);
    printf("%s\n", status == 0 ? "ok" : "FAILED");
    return status;
}

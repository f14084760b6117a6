/* examples/hello-plugin/hello.c — a complete actr service plugin, built out of
 * tree against the installed library (see README.md next to it).
 *
 * The plugin "hello" (version 1.0.0) has one actor type, "greeter":
 *   request {"name": STR}  ->  reply {"greeting": "Hello, STR!"}
 *   anything else          ->  reply {"error": "expected {\"name\": string}"}
 * Each greeter counts the greetings it gave in its state and logs each one.
 * Init args (the `args:` of the actor in runtime.yaml) are optional:
 * {"salutation": STR} replaces "Hello" (at most 31 bytes).
 *
 * The file includes actr/plugin.h and libc only, and calls the runtime only
 * through the actr_ctx_* wrappers (the function table in every context), so
 * the .so links against nothing of the runtime: it builds with
 * -Wl,--no-undefined and no -lactr.
 */
#include <stdio.h>
#include <string.h>

#include <actr/plugin.h>

/* Log levels of actr_ctx_log (ACTR_LOG_* in actr.h, which a plugin need not include). */
enum { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3 };

/* The state the runtime allocates (zeroed) for every greeter. */
typedef struct greeter {
    char salutation[32]; /* "Hello" unless the init args say otherwise */
    uint64_t greeted;    /* greetings given so far */
} greeter_t;

static int greeter_init(actr_ctx_t *ctx, void *state, const void *args, size_t args_len)
{
    greeter_t *g = state;
    const char *word = "Hello";
    size_t len = strlen(word);

    /* Args are msgpack (runtime.yaml's `args:` converted); '?' makes the key
     * optional, so {} and a map without "salutation" keep the default. */
    if (args_len > 0) {
        int rc = actr_ctx_unpack(ctx, args, args_len, "{?s:s}", "salutation", &word, &len);
        if (rc != 0 || len == 0 || len >= sizeof g->salutation) {
            actr_ctx_log(ctx, LOG_ERROR,
                         "greeter: args must be {salutation: STRING of 1..31 bytes}");
            return rc != 0 ? rc : ACTR_EINVAL; /* the actor fails to start */
        }
    }
    memcpy(g->salutation, word, len);
    g->salutation[len] = '\0';
    return 0;
}

/* Send `reply` (consumed) as the answer to `req`. A requester that is gone
 * (it timed out, or stopped) is not the greeter's problem: log it, carry on. */
static int send_reply(actr_ctx_t *ctx, const actr_msg_t *req, actr_msg_t *reply)
{
    int rc = actr_ctx_reply(ctx, req, reply);
    if (rc != 0) {
        char line[128];
        snprintf(line, sizeof line, "greeter: reply not delivered: %s",
                 actr_ctx_api(ctx)->strerror(rc));
        actr_ctx_log(ctx, LOG_WARN, line);
    }
    return rc;
}

/* Answer `req` with {"error": text}. */
static int reply_error(actr_ctx_t *ctx, const actr_msg_t *req, const char *text)
{
    actr_msg_t *reply;
    int rc = actr_ctx_msg_pack(ctx, actr_ctx_msg_type(ctx, req), &reply, "{s:s}", "error", text);
    if (rc != 0)
        return rc; /* out of memory: crash, the supervisor restarts the greeter */
    send_reply(ctx, req, reply);
    return 0;
}

static int greeter_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    greeter_t *g = state;
    const char *name;
    size_t name_len;
    actr_msg_t *reply;
    char *text, line[160];
    size_t cap;
    int rc;

    /* Plain sends and system messages (DOWN, EXIT, ...) need no answer. */
    if (!actr_ctx_msg_is_request(ctx, msg))
        return 0;

    /* Strings come back borrowed from the message and not NUL-terminated. */
    if (actr_ctx_msg_unpack(ctx, msg, "{s:s}", "name", &name, &name_len) != 0) {
        actr_ctx_log(ctx, LOG_WARN, "greeter: request without a string \"name\"");
        /* Returning the error code would crash the actor (and its supervisor
         * would restart it); a bad request is the caller's fault, so answer. */
        return reply_error(ctx, msg, "expected {\"name\": string}");
    }

    /* Memory a plugin keeps or builds goes through the runtime's allocator. */
    cap = strlen(g->salutation) + name_len + sizeof ", !";
    if ((text = actr_ctx_alloc(ctx, cap)) == NULL)
        return ACTR_ENOMEM;
    snprintf(text, cap, "%s, %.*s!", g->salutation, (int)name_len, name);

    rc = actr_ctx_msg_pack(ctx, actr_ctx_msg_type(ctx, msg), &reply, "{s:s}", "greeting", text);
    actr_ctx_free(ctx, text);
    if (rc != 0)
        return rc;
    if (send_reply(ctx, msg, reply) != 0)
        return 0;

    g->greeted++;
    snprintf(line, sizeof line, "greeted %.*s (greeting #%llu)", name_len > 64 ? 64 : (int)name_len,
             name, (unsigned long long)g->greeted);
    actr_ctx_log(ctx, LOG_INFO, line);
    return 0;
}

static void greeter_terminate(actr_ctx_t *ctx, void *state, const char *reason)
{
    greeter_t *g = state;
    char line[160];

    snprintf(line, sizeof line, "greeter stops (%s) after %llu greeting%s", reason,
             (unsigned long long)g->greeted, g->greeted == 1 ? "" : "s");
    actr_ctx_log(ctx, LOG_INFO, line);
}

/* The actor types of this plugin. */
static const actr_actor_type_t hello_types[] = {
    {
        .size = sizeof(actr_actor_type_t),
        .name = "greeter",
        .state_size = sizeof(greeter_t),
        .init = greeter_init,
        .receive = greeter_receive,
        .terminate = greeter_terminate,
        /* .migrate stays NULL: reserved for hot swap in ABI 1.0. */
    },
};

/* The descriptor the loader checks. */
static const actr_plugin_t hello_plugin = {
    .abi_major = ACTR_PLUGIN_ABI_MAJOR,
    .abi_minor = ACTR_PLUGIN_ABI_MINOR,
    .size = sizeof(actr_plugin_t),
    .signature = ACTR_PLUGIN_SIGNATURE,
    .name = "hello",
    .version = "1.0.0",
    .types = hello_types,
    .ntypes = sizeof hello_types / sizeof hello_types[0],
};

/* Exports actr_plugin_entry(), the one symbol the loader looks up. */
ACTR_PLUGIN_DEFINE(hello_plugin)

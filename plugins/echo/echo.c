/* plugins/echo/echo.c — the minimal reference service plugin: actor type
 * "echo" answers every request with a copy of the request (same message type,
 * same payload bytes) and ignores every other message.
 *
 * It shows the whole plugin ABI in a few lines: the descriptor exported by
 * ACTR_PLUGIN_DEFINE, one actor type, and calls into the runtime made only
 * through the actr_ctx_* wrappers of actr/plugin.h (it links against nothing
 * of the runtime).
 */
#include <actr/plugin.h>

static int echo_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    (void)state;
    if (!actr_ctx_msg_is_request(ctx, msg))
        return 0; /* notifications, DOWN, EXIT...: nothing to answer */
    actr_msg_t *copy;
    int rc = actr_ctx_msg_dup(ctx, msg, &copy);
    if (rc != 0)
        return 0; /* out of memory: the requester times out; the echo lives on */
    /* the requester may be gone already: that is not the echo's failure */
    (void)actr_ctx_reply(ctx, msg, copy);
    return 0;
}

static const actr_actor_type_t echo_types[] = {
    {
        .size = sizeof(actr_actor_type_t),
        .name = "echo",
        .state_size = 0,
        .receive = echo_receive,
    },
};

static const actr_plugin_t echo_plugin = {
    .abi_major = ACTR_PLUGIN_ABI_MAJOR,
    .abi_minor = ACTR_PLUGIN_ABI_MINOR,
    .size = sizeof(actr_plugin_t),
    .signature = ACTR_PLUGIN_SIGNATURE,
    .name = "echo",
    .version = "1.0.0",
    .types = echo_types,
    .ntypes = sizeof(echo_types) / sizeof(echo_types[0]),
};

ACTR_PLUGIN_DEFINE(echo_plugin)

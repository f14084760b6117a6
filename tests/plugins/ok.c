/* tests/plugins/ok.c — a well-formed test plugin "ok" 2.1.0 with two types:
 * "ok_echo" answers a request with a copy of it; "ok_count" counts the
 * messages it got and answers a request with [count, loads], where loads is
 * how many times this copy's load hook ran (1: every load maps a fresh copy). */
#include <actr/plugin.h>

static int loads;

static int ok_load(const actr_host_api_t *api)
{
    if (api == NULL || api->abi_major != ACTR_PLUGIN_ABI_MAJOR || api->size == 0)
        return ACTR_EABI;
    loads++;
    return 0;
}

static void ok_unload(const actr_host_api_t *api) { (void)api; }

static int echo_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    (void)state;
    actr_msg_t *copy;
    if (actr_ctx_msg_is_request(ctx, msg) && actr_ctx_msg_dup(ctx, msg, &copy) == 0)
        (void)actr_ctx_reply(ctx, msg, copy);
    return 0;
}

typedef struct {
    int count;
} count_state_t;

static int count_init(actr_ctx_t *ctx, void *state, const void *args, size_t len)
{
    count_state_t *s = state;
    if (len > 0)
        return actr_ctx_unpack(ctx, args, len, "i", &s->count);
    return 0;
}

static int count_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    count_state_t *s = state;
    s->count++;
    actr_msg_t *rep;
    if (actr_ctx_msg_is_request(ctx, msg) &&
        actr_ctx_msg_pack(ctx, actr_ctx_msg_type(ctx, msg), &rep, "[ii]", s->count, loads) == 0)
        (void)actr_ctx_reply(ctx, msg, rep);
    return 0;
}

static const actr_actor_type_t types[] = {
    {.size = sizeof(actr_actor_type_t), .name = "ok_echo", .receive = echo_receive},
    {.size = sizeof(actr_actor_type_t),
     .name = "ok_count",
     .state_size = sizeof(count_state_t),
     .init = count_init,
     .receive = count_receive},
};

static const actr_plugin_t desc = {
    .abi_major = ACTR_PLUGIN_ABI_MAJOR,
    .abi_minor = ACTR_PLUGIN_ABI_MINOR,
    .size = sizeof(actr_plugin_t),
    .signature = ACTR_PLUGIN_SIGNATURE,
    .name = "ok",
    .version = "2.1.0",
    .types = types,
    .ntypes = 2,
    .load = ok_load,
    .unload = ok_unload,
};

ACTR_PLUGIN_DEFINE(desc)

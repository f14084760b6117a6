/* tests/plugins/init_fail.c — loads fine; actors of its type "init_fail" fail their init (EINVAL).
 */
#include <actr/plugin.h>

static int receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    (void)ctx;
    (void)state;
    (void)msg;
    return 0;
}

static int init(actr_ctx_t *ctx, void *state, const void *args, size_t len)
{
    (void)ctx;
    (void)state;
    (void)args;
    (void)len;
    return ACTR_EINVAL;
}

static const actr_actor_type_t types[] = {
    {.size = sizeof(actr_actor_type_t), .name = "init_fail", .init = init, .receive = receive},
};

static const actr_plugin_t desc = {
    .abi_major = ACTR_PLUGIN_ABI_MAJOR,
    .abi_minor = ACTR_PLUGIN_ABI_MINOR,
    .size = sizeof(actr_plugin_t),
    .signature = ACTR_PLUGIN_SIGNATURE,
    .name = "init_fail",
    .version = "1.0.0",
    .types = types,
    .ntypes = 1,
};

ACTR_PLUGIN_DEFINE(desc)

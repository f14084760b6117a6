/* tests/plugins/swap_badabi.c — a "swapper" built for ABI major 99: a swap
 * (or load) of it must be refused with ACTR_EABI. Otherwise a valid plugin
 * with the type of swap_v1.c. */
#include <actr/plugin.h>

static int badabi_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    (void)ctx;
    (void)state;
    (void)msg;
    return 0;
}

static const actr_actor_type_t types[] = {
    {.size = sizeof(actr_actor_type_t), .name = "swapper.counter", .receive = badabi_receive},
};

static const actr_plugin_t desc = {
    .abi_major = 99,
    .abi_minor = 0,
    .size = sizeof(actr_plugin_t),
    .signature = ACTR_PLUGIN_SIGNATURE,
    .name = "swapper",
    .version = "9.0.0",
    .types = types,
    .ntypes = 1,
};

ACTR_PLUGIN_DEFINE(desc)

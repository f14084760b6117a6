/* tests/plugins/swap_notype.c — "swapper" 4.0.0 without the type
 * "swapper.counter" (it has "swapper.other" only): a swap to it must be
 * refused with ACTR_EINVAL while actors of swapper.counter live. */
#include <actr/plugin.h>

static int other_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    (void)ctx;
    (void)state;
    (void)msg;
    return 0;
}

static const actr_actor_type_t types[] = {
    {.size = sizeof(actr_actor_type_t), .name = "swapper.other", .receive = other_receive},
};

static const actr_plugin_t desc = {
    .abi_major = ACTR_PLUGIN_ABI_MAJOR,
    .abi_minor = ACTR_PLUGIN_ABI_MINOR,
    .size = sizeof(actr_plugin_t),
    .signature = ACTR_PLUGIN_SIGNATURE,
    .name = "swapper",
    .version = "4.0.0",
    .types = types,
    .ntypes = 1,
};

ACTR_PLUGIN_DEFINE(desc)

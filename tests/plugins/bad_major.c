/* tests/plugins/bad_major.c — descriptor claims ABI major 2: refused (ACTR_EABI). */
#include <actr/plugin.h>

static int receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    (void)ctx;
    (void)state;
    (void)msg;
    return 0;
}

static const actr_actor_type_t types[] = {
    {.size = sizeof(actr_actor_type_t), .name = "bm", .receive = receive},
};

static const actr_plugin_t desc = {
    .abi_major = ACTR_PLUGIN_ABI_MAJOR + 1,
    .abi_minor = 0,
    .size = sizeof(actr_plugin_t),
    .signature = ACTR_PLUGIN_SIGNATURE,
    .name = "bad_major",
    .version = "1.0.0",
    .types = types,
    .ntypes = 1,
};

ACTR_PLUGIN_DEFINE(desc)

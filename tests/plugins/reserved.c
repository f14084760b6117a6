/* tests/plugins/reserved.c — reserved[0] is not NULL: refused. */
#include <actr/plugin.h>

static int receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    (void)ctx;
    (void)state;
    (void)msg;
    return 0;
}

static int marker;

static const actr_actor_type_t types[] = {
    {.size = sizeof(actr_actor_type_t), .name = "rs", .receive = receive},
};

static const actr_plugin_t desc = {
    .abi_major = ACTR_PLUGIN_ABI_MAJOR,
    .abi_minor = ACTR_PLUGIN_ABI_MINOR,
    .size = sizeof(actr_plugin_t),
    .signature = ACTR_PLUGIN_SIGNATURE,
    .name = "reserved",
    .version = "1.0.0",
    .types = types,
    .ntypes = 1,
    .reserved = {&marker},
};

ACTR_PLUGIN_DEFINE(desc)

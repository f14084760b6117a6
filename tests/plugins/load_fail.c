/* tests/plugins/load_fail.c — its load hook fails with ACTR_ECONFIG unless the
 * environment has ACTR_TEST_LOAD_OK=1: a failed load must leave nothing, so the
 * same plugin loads fine once the hook agrees. */
#include <stdlib.h>
#include <string.h>

#include <actr/plugin.h>

static int receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    (void)ctx;
    (void)state;
    (void)msg;
    return 0;
}

static int fail_load(const actr_host_api_t *api)
{
    (void)api;
    const char *ok = getenv("ACTR_TEST_LOAD_OK");
    return ok != NULL && strcmp(ok, "1") == 0 ? 0 : ACTR_ECONFIG;
}

static const actr_actor_type_t types[] = {
    {.size = sizeof(actr_actor_type_t), .name = "lf", .receive = receive},
};

static const actr_plugin_t desc = {
    .abi_major = ACTR_PLUGIN_ABI_MAJOR,
    .abi_minor = ACTR_PLUGIN_ABI_MINOR,
    .size = sizeof(actr_plugin_t),
    .signature = ACTR_PLUGIN_SIGNATURE,
    .name = "load_fail",
    .version = "1.0.0",
    .types = types,
    .ntypes = 1,
    .load = fail_load,
};

ACTR_PLUGIN_DEFINE(desc)

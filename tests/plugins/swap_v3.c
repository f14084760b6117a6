/* tests/plugins/swap_v3.c — test plugin "swapper" 3.0.0 (protocol and state
 * layouts in swapper.h). Its migrate hook converts from 2.0.0 but refuses
 * (ACTR_EINVAL) the one actor whose sum is SWAP_V3_POISON, so a swap to it
 * fails as soon as any live actor holds that sum, and succeeds otherwise. */
#include "swapper.h"

#define VERSION "3.0.0"
#define MAJOR 3
#define SWAP_V3_POISON 4242

static int v3_init(actr_ctx_t *ctx, void *state, const void *args, size_t len)
{
    swapper_v3_state_t *s = state;
    return swapper_init_common(ctx, &s->misc, MAJOR, args, len, &s->sum);
}

static int v3_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    swapper_v3_state_t *s = state;
    int64_t n;
    switch (swapper_dispatch(ctx, &s->misc, MAJOR, VERSION, msg, &n)) {
    case SWAPPER_GET:
        swapper_answer_get(ctx, msg, &s->misc, VERSION, s->sum, s->calls, "");
        break;
    case SWAPPER_ADD:
        s->sum += n;
        s->calls++;
        swapper_answer_ok(ctx, msg, 1);
        break;
    default:
        break;
    }
    return 0;
}

static void v3_terminate(actr_ctx_t *ctx, void *state, const char *reason)
{
    (void)reason;
    swapper_terminate_common(ctx, &((swapper_v3_state_t *)state)->misc);
}

static int v3_migrate(actr_ctx_t *ctx, const char *from, const void *old, size_t old_size,
                      void *state)
{
    (void)ctx;
    swapper_v3_state_t *s = state;
    if (strcmp(from, "2.0.0") != 0 || old_size != sizeof(swapper_v2_state_t))
        return ACTR_EINVAL;
    const swapper_v2_state_t *o = old;
    if (o->sum == SWAP_V3_POISON)
        return ACTR_EINVAL;
    s->sum = o->sum;
    s->calls = o->calls;
    s->flags = 1;
    swapper_misc_migrate(&s->misc, &o->misc, 2);
    return 0;
}

static const actr_actor_type_t types[] = {
    {.size = sizeof(actr_actor_type_t),
     .name = SWAPPER_TYPE,
     .state_size = sizeof(swapper_v3_state_t),
     .init = v3_init,
     .receive = v3_receive,
     .terminate = v3_terminate,
     .migrate = v3_migrate},
};

static const actr_plugin_t desc = {
    .abi_major = ACTR_PLUGIN_ABI_MAJOR,
    .abi_minor = ACTR_PLUGIN_ABI_MINOR,
    .size = sizeof(actr_plugin_t),
    .signature = ACTR_PLUGIN_SIGNATURE,
    .name = "swapper",
    .version = VERSION,
    .types = types,
    .ntypes = 1,
};

ACTR_PLUGIN_DEFINE(desc)

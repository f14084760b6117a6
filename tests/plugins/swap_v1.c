/* tests/plugins/swap_v1.c — test plugin "swapper" 1.0.0 (protocol and state
 * layouts in swapper.h). State: {int64 total; uint32 calls; misc}. Its migrate
 * hook converts back from 2.0.0, so a rollback 2.0.0 -> 1.0.0 keeps every
 * actor's state. */
#include "swapper.h"

#define VERSION "1.0.0"
#define MAJOR 1

static int v1_init(actr_ctx_t *ctx, void *state, const void *args, size_t len)
{
    swapper_v1_state_t *s = state;
    return swapper_init_common(ctx, &s->misc, MAJOR, args, len, &s->total);
}

static int v1_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    swapper_v1_state_t *s = state;
    int64_t n;
    switch (swapper_dispatch(ctx, &s->misc, MAJOR, VERSION, msg, &n)) {
    case SWAPPER_GET:
        swapper_answer_get(ctx, msg, &s->misc, VERSION, s->total, s->calls, "");
        break;
    case SWAPPER_ADD:
        s->total += n;
        s->calls++;
        swapper_answer_ok(ctx, msg, 1);
        break;
    default:
        break;
    }
    return 0;
}

static void v1_terminate(actr_ctx_t *ctx, void *state, const char *reason)
{
    (void)reason;
    swapper_terminate_common(ctx, &((swapper_v1_state_t *)state)->misc);
}

static int v1_migrate(actr_ctx_t *ctx, const char *from, const void *old, size_t old_size,
                      void *state)
{
    (void)ctx;
    swapper_v1_state_t *s = state;
    if (strcmp(from, "2.0.0") == 0 && old_size == sizeof(swapper_v2_state_t)) {
        const swapper_v2_state_t *o = old;
        s->total = o->sum;
        s->calls = (uint32_t)o->calls;
        swapper_misc_migrate(&s->misc, &o->misc, 2);
        return 0;
    }
    return ACTR_EINVAL;
}

static const actr_actor_type_t types[] = {
    {.size = sizeof(actr_actor_type_t),
     .name = SWAPPER_TYPE,
     .state_size = sizeof(swapper_v1_state_t),
     .init = v1_init,
     .receive = v1_receive,
     .terminate = v1_terminate,
     .migrate = v1_migrate},
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

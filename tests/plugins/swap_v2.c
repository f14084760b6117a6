/* tests/plugins/swap_v2.c — test plugin "swapper" 2.0.0 (protocol and state
 * layouts in swapper.h). Changes the layout of 1.0.0: `total` is renamed
 * `sum`, `calls` widens to 64 bits, a `note` is added ("migrated-from-1" or
 * "migrated-from-3" after a migration, "" for an actor it initialised) and
 * the fields come in another order. Migrates from 1.0.0 and from 3.0.0 (a
 * rollback from 3). */
#include "swapper.h"

#define VERSION "2.0.0"
#define MAJOR 2

static int v2_init(actr_ctx_t *ctx, void *state, const void *args, size_t len)
{
    swapper_v2_state_t *s = state;
    return swapper_init_common(ctx, &s->misc, MAJOR, args, len, &s->sum);
}

static int v2_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    swapper_v2_state_t *s = state;
    int64_t n;
    switch (swapper_dispatch(ctx, &s->misc, MAJOR, VERSION, msg, &n)) {
    case SWAPPER_GET:
        swapper_answer_get(ctx, msg, &s->misc, VERSION, s->sum, s->calls, s->note);
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

static void v2_terminate(actr_ctx_t *ctx, void *state, const char *reason)
{
    (void)reason;
    swapper_terminate_common(ctx, &((swapper_v2_state_t *)state)->misc);
}

static int v2_migrate(actr_ctx_t *ctx, const char *from, const void *old, size_t old_size,
                      void *state)
{
    (void)ctx;
    swapper_v2_state_t *s = state;
    if (strcmp(from, "1.0.0") == 0 && old_size == sizeof(swapper_v1_state_t)) {
        const swapper_v1_state_t *o = old;
        s->sum = o->total;
        s->calls = o->calls;
        memcpy(s->note, "migrated-from-1", 16);
        swapper_misc_migrate(&s->misc, &o->misc, 1);
        return 0;
    }
    if (strcmp(from, "3.0.0") == 0 && old_size == sizeof(swapper_v3_state_t)) {
        const swapper_v3_state_t *o = old;
        s->sum = o->sum;
        s->calls = o->calls;
        memcpy(s->note, "migrated-from-3", 16);
        swapper_misc_migrate(&s->misc, &o->misc, 3);
        return 0;
    }
    return ACTR_EINVAL;
}

static const actr_actor_type_t types[] = {
    {.size = sizeof(actr_actor_type_t),
     .name = SWAPPER_TYPE,
     .state_size = sizeof(swapper_v2_state_t),
     .init = v2_init,
     .receive = v2_receive,
     .terminate = v2_terminate,
     .migrate = v2_migrate},
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

/* tests/bench/plugins/hotswap_v1.c — plugin "hotswap" 1.0.0 for the hotswap
 * bench: one type, "hotswap.worker" (see hotswap.h). State:
 * {shared block, index, time of the previous message, messages handled}. */
#include <actr/plugin.h>

#include "hotswap.h"

typedef struct worker_v1 {
    hotswap_shared_t *sh;
    uint32_t idx;
    uint64_t last_ns;
    uint64_t handled;
} worker_v1_t;

static int w_init(actr_ctx_t *ctx, void *state, const void *args, size_t len)
{
    worker_v1_t *w = state;
    uint64_t addr;
    int idx;
    int rc = actr_ctx_unpack(ctx, args, len, "[Ui]", &addr, &idx);
    if (rc != 0)
        return rc;
    w->sh = (hotswap_shared_t *)(uintptr_t)addr;
    if (w->sh == NULL || idx < 0 || (uint32_t)idx >= w->sh->n)
        return ACTR_EINVAL;
    w->idx = (uint32_t)idx;
    return 0;
}

static int w_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    worker_v1_t *w = state;
    actr_msg_t *ack;
    if (actr_ctx_msg_type(ctx, msg) != HOTSWAP_MSG_WORK)
        return 0;
    w->handled = hotswap_tick(w->sh, w->idx, &w->last_ns, w->handled, 1);
    if (actr_ctx_msg_new(ctx, HOTSWAP_MSG_ACK, NULL, 0, &ack) != 0 ||
        actr_ctx_send(ctx, actr_ctx_msg_from(ctx, msg), ack) != 0)
        __atomic_fetch_add(&w->sh->errors, 1, __ATOMIC_RELAXED);
    return 0;
}

static const actr_actor_type_t types[] = {
    {.size = sizeof(actr_actor_type_t),
     .name = HOTSWAP_TYPE,
     .state_size = sizeof(worker_v1_t),
     .init = w_init,
     .receive = w_receive},
};

static const actr_plugin_t desc = {
    .abi_major = ACTR_PLUGIN_ABI_MAJOR,
    .abi_minor = ACTR_PLUGIN_ABI_MINOR,
    .size = sizeof(actr_plugin_t),
    .signature = ACTR_PLUGIN_SIGNATURE,
    .name = "hotswap",
    .version = "1.0.0",
    .types = types,
    .ntypes = 1,
};

ACTR_PLUGIN_DEFINE(desc)

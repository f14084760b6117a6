/* tests/bench/plugins/hotswap_v2.c — plugin "hotswap" 2.0.0 for the hotswap
 * bench: the same protocol as 1.0.0 (hotswap.h) with another state layout
 * (fields reordered, a migration counter added), which its migrate hook
 * converts from 1.0.0. */
#include <string.h>

#include <actr/plugin.h>

#include "hotswap.h"

typedef struct worker_v1 { /* 1.0.0's layout, to migrate from */
    hotswap_shared_t *sh;
    uint32_t idx;
    uint64_t last_ns;
    uint64_t handled;
} worker_v1_t;

typedef struct worker_v2 {
    uint64_t handled;
    uint64_t last_ns;
    uint32_t migrations;
    uint32_t idx;
    uint32_t fresh; /* migrated, no message handled since */
    hotswap_shared_t *sh;
} worker_v2_t;

static int w_init(actr_ctx_t *ctx, void *state, const void *args, size_t len)
{
    worker_v2_t *w = state;
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
    worker_v2_t *w = state;
    actr_msg_t *ack;
    if (actr_ctx_msg_type(ctx, msg) != HOTSWAP_MSG_WORK)
        return 0;
    if (w->fresh) { /* the first message since the swap */
        if (w->last_ns != 0)
            __atomic_store_n(&w->sh->across_ns[w->idx], hotswap_now_ns() - w->last_ns,
                             __ATOMIC_RELAXED);
        w->fresh = 0;
        __atomic_fetch_add(&w->sh->moved, 1, __ATOMIC_RELAXED);
    }
    w->handled = hotswap_tick(w->sh, w->idx, &w->last_ns, w->handled, 2);
    if (actr_ctx_msg_new(ctx, HOTSWAP_MSG_ACK, NULL, 0, &ack) != 0 ||
        actr_ctx_send(ctx, actr_ctx_msg_from(ctx, msg), ack) != 0)
        __atomic_fetch_add(&w->sh->errors, 1, __ATOMIC_RELAXED);
    return 0;
}

static int w_migrate(actr_ctx_t *ctx, const char *from, const void *old, size_t old_size,
                     void *state)
{
    (void)ctx;
    worker_v2_t *w = state;
    if (strcmp(from, "1.0.0") != 0 || old_size != sizeof(worker_v1_t))
        return ACTR_EINVAL;
    const worker_v1_t *o = old;
    w->handled = o->handled;
    w->last_ns = o->last_ns;
    w->idx = o->idx;
    w->sh = o->sh;
    w->migrations = 1;
    w->fresh = 1;
    return 0;
}

static const actr_actor_type_t types[] = {
    {.size = sizeof(actr_actor_type_t),
     .name = HOTSWAP_TYPE,
     .state_size = sizeof(worker_v2_t),
     .init = w_init,
     .receive = w_receive,
     .migrate = w_migrate},
};

static const actr_plugin_t desc = {
    .abi_major = ACTR_PLUGIN_ABI_MAJOR,
    .abi_minor = ACTR_PLUGIN_ABI_MINOR,
    .size = sizeof(actr_plugin_t),
    .signature = ACTR_PLUGIN_SIGNATURE,
    .name = "hotswap",
    .version = "2.0.0",
    .types = types,
    .ntypes = 1,
};

ACTR_PLUGIN_DEFINE(desc)

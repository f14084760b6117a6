/* hostapi.c — the function table every context carries (actr/plugin.h).
 *
 * Plugins link against nothing of the runtime; they reach it only through this
 * table, which the actr_ctx_* wrappers read from the context's first field. The
 * table is constant: one copy serves every runtime in the process.
 */
#include <stdlib.h>

#include "internal.h"
#include "actr/store.h"
#include "actr/cluster.h"

static void api_log(actr_ctx_t *ctx, int level, const char *line)
{
    if (ctx == NULL || line == NULL || level < ACTR_LOG_DEBUG || level > ACTR_LOG_ERROR)
        return;
    actr__log(ctx->rt, (actr_log_level_t)level, ctx->self, "%s", line);
}

static void *api_alloc(actr_ctx_t *ctx, size_t n)
{
    (void)ctx;
    return calloc(1, n ? n : 1);
}

static void api_free(actr_ctx_t *ctx, void *p)
{
    (void)ctx;
    free(p);
}

const actr_host_api_t actr__host_api = {
    .size = sizeof(actr_host_api_t),
    .abi_major = ACTR_PLUGIN_ABI_MAJOR,
    .abi_minor = ACTR_PLUGIN_ABI_MINOR,
    .msg_new = actr_msg_new,
    .msg_vpack = actr_msg_vpack,
    .vunpack = actr_vunpack,
    .msg_type = actr_msg_type,
    .msg_from = actr_msg_from,
    .msg_data = actr_msg_data,
    .msg_request_id = actr_msg_request_id,
    .msg_is_request = actr_msg_is_request,
    .msg_is_reply = actr_msg_is_reply,
    .msg_error = actr_msg_error,
    .msg_down = actr_msg_down,
    .msg_exit = actr_msg_exit,
    .msg_ref = actr_msg_ref,
    .msg_free = actr_msg_free,
    .msg_dup = actr_msg_dup,
    .send = actr_send,
    .send_name = actr_send_name,
    .request = actr_request,
    .reply = actr_reply,
    .spawn_type = actr_spawn_type,
    .self = actr_self,
    .exit = actr_exit,
    .actor_stop = actr_actor_stop,
    .actor_kill = actr_actor_kill,
    .monitor = actr_monitor,
    .demonitor = actr_demonitor,
    .link = actr_link,
    .unlink = actr_unlink,
    .trap_exit = actr_trap_exit,
    .register_name = actr_register,
    .unregister_name = actr_unregister,
    .whereis = actr_whereis,
    .timer_send_after = actr_timer_send_after,
    .timer_interval = actr_timer_interval,
    .timer_cancel = actr_timer_cancel,
    .subscribe = actr_subscribe,
    .unsubscribe = actr_unsubscribe,
    .publish = actr_publish,
    .log = api_log,
    .now_ms = actr_now_ms,
    .alloc = api_alloc,
    .free = api_free,
    .strerror = actr_strerror,
    .await = actr_await,
    .name_of = actr_name_of,
    .lookup = actr_lookup,
    .store_put = actr_store_put,
    .store_get = actr_store_get,
    .store_delete = actr_store_delete,
    .store_scan = actr_store_scan,
    .store_result = actr_store_result,
    .store_value = actr_store_value,
    .store_scan_next = actr_store_scan_next,
};

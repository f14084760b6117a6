/* store.c — the state store (placeholder until implemented). */
#include "internal.h"
#include <string.h>
#include "actr/store.h"

void actr_store_options_init(actr_store_options_t *opts)
{
    if (opts != NULL) {
        memset(opts, 0, sizeof(*opts));
        opts->size = sizeof(*opts);
    }
}
int actr_store_open(actr_t *rt, const actr_store_options_t *opts, actr_error_t *err)
{
    (void)rt, (void)opts, (void)err;
    return ACTR_ENOSYS;
}
int actr_store_is_open(const actr_t *rt) { return rt != NULL && rt->store != NULL; }
int actr_store_put(actr_ctx_t *ctx, const char *ns, const void *key, size_t klen, const void *val,
                   size_t vlen, uint64_t *req_id)
{
    (void)ctx, (void)ns, (void)key, (void)klen, (void)val, (void)vlen, (void)req_id;
    return ACTR_ESTORE;
}
int actr_store_get(actr_ctx_t *ctx, const char *ns, const void *key, size_t klen, uint64_t *req_id)
{
    (void)ctx, (void)ns, (void)key, (void)klen, (void)req_id;
    return ACTR_ESTORE;
}
int actr_store_delete(actr_ctx_t *ctx, const char *ns, const void *key, size_t klen,
                      uint64_t *req_id)
{
    (void)ctx, (void)ns, (void)key, (void)klen, (void)req_id;
    return ACTR_ESTORE;
}
int actr_store_scan(actr_ctx_t *ctx, const char *ns, const void *prefix, size_t plen,
                    uint32_t limit, uint64_t *req_id)
{
    (void)ctx, (void)ns, (void)prefix, (void)plen, (void)limit, (void)req_id;
    return ACTR_ESTORE;
}
int actr_store_result(const actr_msg_t *reply, const char **why)
{
    (void)reply, (void)why;
    return ACTR_EMSGPACK;
}
int actr_store_value(const actr_msg_t *reply, const void **val, size_t *vlen)
{
    (void)reply, (void)val, (void)vlen;
    return ACTR_EMSGPACK;
}
int actr_store_scan_next(const actr_msg_t *reply, size_t *pos, const void **key, size_t *klen,
                         const void **val, size_t *vlen)
{
    (void)reply, (void)pos, (void)key, (void)klen, (void)val, (void)vlen;
    return ACTR_EMSGPACK;
}
int actr_store_backup(actr_t *rt, const char *file, actr_error_t *err)
{
    (void)rt, (void)file, (void)err;
    return ACTR_ESTORE;
}
int actr_store_stats(actr_t *rt, actr_store_stats_t *out)
{
    (void)rt, (void)out;
    return ACTR_ESTORE;
}
void actr__store_close(actr_t *rt) { (void)rt; }

/* plugin.c — the plugin loader (actr/loader.h). PLACEHOLDER: the loader is
 * being written; until then every entry point refuses with ACTR_ENOSYS. */
#include "internal.h"

int actr_plugin_load(actr_t *rt, const char *path, actr_error_t *err)
{
    (void)rt;
    (void)path;
    if (err != NULL)
        err->code = ACTR_ENOSYS;
    return ACTR_ENOSYS;
}

int actr_plugin_unload(actr_t *rt, const char *name, int force, actr_error_t *err)
{
    (void)rt;
    (void)name;
    (void)force;
    (void)err;
    return ACTR_ENOSYS;
}

int actr_plugin_list(actr_t *rt, actr_plugin_info_fn fn, void *ud)
{
    (void)rt;
    (void)fn;
    (void)ud;
    return 0;
}

int actr_plugin_inspect(const char *path, actr_plugin_info_fn fn, void *ud, actr_error_t *err)
{
    (void)path;
    (void)fn;
    (void)ud;
    (void)err;
    return ACTR_ENOSYS;
}

int actr_spawn_type(actr_ctx_t *ctx, const char *type, const void *args, size_t args_len,
                    const actr_spawn_opts_t *opts, actr_ref_t *out)
{
    (void)ctx;
    (void)type;
    (void)args;
    (void)args_len;
    (void)opts;
    (void)out;
    return ACTR_ENOENT;
}

int actr_type_behavior(actr_t *rt, const char *type, const actr_behavior_t **out)
{
    (void)rt;
    (void)type;
    (void)out;
    return ACTR_ENOENT;
}

void actr__plugins_free(actr_t *rt) { (void)rt; }

/* watch.c — plugin file watchers (placeholder until implemented). */
#include "internal.h"

void actr__watch_close(actr_t *rt) { (void)rt; }

int actr_plugin_watch(actr_t *rt, const char *name, const char *path, unsigned debounce_ms,
                      actr_error_t *err)
{
    (void)rt;
    (void)name;
    (void)path;
    (void)debounce_ms;
    (void)err;
    return ACTR_ENOSYS;
}

int actr_plugin_unwatch(actr_t *rt, const char *name)
{
    (void)rt;
    (void)name;
    return ACTR_ENOSYS;
}

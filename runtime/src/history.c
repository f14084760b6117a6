/* history.c — the plugin history (placeholder until implemented). */
#include "internal.h"

void actr__history_add(actr_t *rt, const actr_plugin_event_t *ev)
{
    (void)rt;
    (void)ev;
}

int actr_plugin_history(actr_t *rt, const char *name, actr_plugin_event_fn fn, void *ud)
{
    (void)rt;
    (void)name;
    (void)fn;
    (void)ud;
    return ACTR_ENOSYS;
}

/* tests/plugins/no_entry.c — a valid shared object that exports no
 * actr_plugin_entry: refused with "no actr_plugin_entry symbol". */
#include <actr/plugin.h>

__attribute__((visibility("default"))) int not_a_plugin(void);
__attribute__((visibility("default"))) int not_a_plugin(void) { return 42; }

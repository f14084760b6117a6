/* program.h — what the files of the `actr` program share.
 *
 * The program is runtime/main.c (entry point, `run`, `check`, `version`, the
 * log sink) plus every C file in runtime/program (ctl.c: the `ctl` and
 * `plugin info` client commands). It uses only the public API (actr.h and the
 * headers under actr/) and jansson. The helpers below are defined once, in main.c.
 */
#ifndef ACTR_PROGRAM_H
#define ACTR_PROGRAM_H

#include <stddef.h>

#include "actr.h"

/* The config file read when no -c FILE is given. */
#define ACTR_PROG_DEFAULT_CONFIG "runtime.yaml"

/* Reason text for an ACTR_E* code that may mirror an errno. */
const char *actr_prog_reason(int rc);

/* The control socket path of a config: control.socket or <data_dir>/control.sock. */
void actr_prog_socket_path(const actr_config_t *cfg, char *buf, size_t cap);

/* Parse -c FILE / --config FILE / --config=FILE. Returns 1 if argv[*i] was one
 * (advancing *i), 0 if not, -1 for -c without a value. */
int actr_prog_config_opt(int argc, char **argv, int *i, const char **file);

/* The client commands (ctl.c). argv holds the arguments after the command
 * word ("ctl", "plugin"); the result is the exit status (0, 1, or 2 for usage). */
int actr_prog_ctl(int argc, char **argv);
int actr_prog_plugin_info(int argc, char **argv);

#endif /* ACTR_PROGRAM_H */

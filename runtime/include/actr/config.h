/* actr/config.h — runtime.yaml: the node's configuration, parsed with libyaml
 * into typed structures through declarative field tables.
 *
 * ${VAR} and ${VAR:-default} in scalar values are replaced from the
 * environment; an unset VAR without a default is an error. Every error names
 * FILE:LINE:COL, the key (as a dotted path, e.g. plugins[1].actors[0].count)
 * and what was expected; unknown keys are errors with a "did you mean" for
 * near misses. The parser is pure (no I/O besides the environment lookup) and
 * bounded (nesting depth, sizes), so it is fuzzed directly.
 *
 * Sections and keys (all optional unless marked):
 *   node:      name (1..255 bytes, default "actr"), data_dir (default "./actr-data")
 *   scheduler: workers (0..1024, 0 = cores), batch (1..100000, default 64)
 *   limits:    mailbox (1..2^31, default 16384)
 *   log:       level (debug|info|warn|error, default info), format (text|json, default text)
 *   control:   enabled (bool, default true), socket (path, default <data_dir>/control.sock)
 *   store:     enabled (bool, default true), path (default <data_dir>/actr.db),
 *              synchronous (normal|full, default normal), max_value (bytes, 1..64 MiB,
 *              default 1 MiB)
 *   cluster:   enabled (bool, default false), listen (HOST:PORT, default 0.0.0.0:7400),
 *              peers (a list of HOST:PORT), secret (..4096 bytes, usually
 *              ${ACTR_CLUSTER_SECRET}; when enabled required, at least 16 bytes), heartbeat_ms (10..60000,
 *              default 1000), dead_after_ms (50..600000, default 5000), max_frame (bytes,
 *              1 KiB..1 GiB, default 8 MiB), max_queue (bytes, 64 KiB..16 GiB, default
 *              64 MiB). HOST is an IPv4 address, [IPv6] or localhost. The node's name
 *              in the cluster is node.name (then 1..64 of [A-Za-z0-9_.-]).
 *   plugins:   a list of
 *     - path: FILE.so                       (required; relative to the config file's folder)
 *       watch: bool                         (default false: swap when the file changes)
 *       watch_debounce_ms: 10..60000        (default 500)
 *       actors: a list of
 *         - name: NAME                      (required; registered name, unique on the node)
 *           type: TYPE                      (required; an actor type of a loaded plugin)
 *           args: any YAML value            (converted to msgpack: the init args)
 *           count: 1..10000                 (default 1; names NAME-1 .. NAME-N when > 1)
 *           restart: permanent|transient|temporary (default permanent)
 */
#ifndef ACTR_CONFIG_H
#define ACTR_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "actr/errno.h"
#include "actr/export.h"
#include "actr/supervisor.h"

typedef enum actr_log_format { ACTR_LOG_TEXT = 0, ACTR_LOG_JSON = 1 } actr_log_format_t;

/** One actor to start (from plugins[i].actors[j]). */
typedef struct actr_actor_conf {
    char *name;
    char *type;
    void *args;      /* msgpack of the `args` value; NULL/0 when absent */
    size_t args_len;
    uint32_t count;
    actr_restart_t restart;
    int line, col;   /* where the entry starts, for errors found later (e.g. unknown type) */
} actr_actor_conf_t;

/** One plugin to load (plugins[i]). */
typedef struct actr_plugin_conf {
    char *path;      /* resolved against the config file's folder */
    int watch;       /* swap the plugin when the file changes (actr_plugin_watch) */
    uint32_t watch_debounce_ms;
    actr_actor_conf_t *actors;
    size_t nactors;
    int line, col;
} actr_plugin_conf_t;

/** The whole configuration. Strings are owned by it; free with actr_config_free. */
typedef struct actr_config {
    char *file;        /* the file name given to the parser */
    struct {
        char *name;
        char *data_dir;
    } node;
    struct {
        unsigned workers;
        unsigned batch;
    } scheduler;
    struct {
        uint32_t mailbox;
    } limits;
    struct {
        int level;     /* actr_log_level_t */
        actr_log_format_t format;
    } log;
    struct {
        int enabled;
        char *socket;
    } control;
    struct {
        int enabled;
        char *path;         /* default <data_dir>/actr.db */
        int synchronous;    /* actr_store_sync_t: 0 normal, 1 full */
        uint32_t max_value; /* bytes */
    } store;
    struct {
        int enabled;
        char *listen;    /* HOST:PORT */
        char **peers;    /* HOST:PORT each */
        size_t npeers;
        char *secret;    /* NULL when not given */
        uint32_t heartbeat_ms, dead_after_ms, max_frame;
        uint64_t max_queue;
    } cluster;
    actr_plugin_conf_t *plugins;
    size_t nplugins;
} actr_config_t;

/** Look up an environment variable; returns NULL when unset. */
typedef const char *(*actr_getenv_fn)(void *ud, const char *name);

/** Parse `len` bytes of YAML (`file` names it in errors and anchors relative
 *  plugin paths; may be NULL). `getenv_fn` NULL uses the process environment.
 *  On success fills *out (free with actr_config_free) and returns 0; on error
 *  returns ACTR_ECONFIG (or ACTR_ENOMEM), fills `err` (may be NULL) with
 *  "FILE:LINE:COL: key 'path': what was expected", and leaves *out empty. */
ACTR_EXTERN int actr_config_parse_buf(const char *buf, size_t len, const char *file,
                                      actr_getenv_fn getenv_fn, void *ud, actr_config_t *out,
                                      actr_error_t *err);

/** Read and parse a file. Errors as actr_config_parse_buf, plus ACTR_ENOENT or
 *  another -errno when the file cannot be read (the message names the file). */
ACTR_EXTERN int actr_config_load(const char *path, actr_config_t *out, actr_error_t *err);

/** Free what a config owns. NULL is a no-op. */
ACTR_EXTERN void actr_config_free(actr_config_t *cfg);

#endif

/* actr/loader.h — loading service plugins into a runtime (the host side of
 * actr/plugin.h).
 *
 * A plugin is loaded from a private copy of its file (under the runtime's data
 * directory), so replacing or deleting the file later never affects the running
 * copy. Loading checks, in order: the file is a shared object that dlopen
 * accepts; it exports actr_plugin_entry; abi_major equals the host's; abi_minor
 * is not newer than the host's; `size` covers the ABI 1.0 descriptor; the
 * signature matches; name and version are well formed; no plugin of that name
 * is loaded; every type has a name (unique on the node) and a receive; the
 * reserved fields are NULL; then the plugin's optional load hook. Each refusal
 * has its own message in actr_error_t.msg naming the file, and leaves nothing
 * behind (the copy is removed and the library closed).
 */
#ifndef ACTR_LOADER_H
#define ACTR_LOADER_H

#include "actr/actor.h"
#include "actr/errno.h"

/** What a listing reports about one plugin. Strings are valid only during the
 *  callback. */
typedef struct actr_plugin_info {
    const char *name;
    const char *version;
    const char *path;      /* the file it was loaded from */
    const char *signature;
    uint32_t abi_major, abi_minor;
    uint32_t ntypes;
    const char *const *types; /* ntypes type names */
    uint64_t actors;          /* live actors of its types (0 for actr_plugin_inspect) */
} actr_plugin_info_t;

typedef void (*actr_plugin_info_fn)(void *ud, const actr_plugin_info_t *info);

/** Load the plugin at `path` into `rt` and register its actor types. Any
 *  thread but a handler's. Returns 0, or ACTR_ENOENT (no such file),
 *  ACTR_EABI (not a loadable shared object, truncated, no entry point, ABI or
 *  signature mismatch, malformed descriptor), ACTR_EEXIST (a plugin of that
 *  name, or a type of that name, is already loaded), the load hook's code, or
 *  ACTR_ENOMEM; `err` (may be NULL) gets the one-line reason. */
ACTR_EXTERN int actr_plugin_load(actr_t *rt, const char *path, actr_error_t *err);

/** Unload plugin `name`. Refused with ACTR_EBUSY while actors of its types
 *  live, unless `force`: then they are killed, and the call waits (up to 5 s,
 *  then ACTR_ETIMEDOUT) until they are gone. Not from a handler
 *  (ACTR_ECONTEXT). Returns 0, ACTR_ENOENT, ACTR_EBUSY, ACTR_ETIMEDOUT. */
ACTR_EXTERN int actr_plugin_unload(actr_t *rt, const char *name, int force, actr_error_t *err);

/** Call fn for every loaded plugin, in load order. Returns 0. */
ACTR_EXTERN int actr_plugin_list(actr_t *rt, actr_plugin_info_fn fn, void *ud);

/** Check the plugin file at `path` as actr_plugin_load would (without a
 *  runtime and without running its load hook) and call fn once with its
 *  descriptor. Returns 0 or the load errors. */
ACTR_EXTERN int actr_plugin_inspect(const char *path, actr_plugin_info_fn fn, void *ud,
                                    actr_error_t *err);

/** Spawn an actor of a type registered by a loaded plugin, by type name.
 *  Errors as actr_spawn, plus ACTR_ENOENT for an unknown type. */
ACTR_EXTERN ACTR_NODISCARD int actr_spawn_type(actr_ctx_t *ctx, const char *type,
                                                const void *args, size_t args_len,
                                                const actr_spawn_opts_t *opts, actr_ref_t *out);

/** The behaviour of a registered type (e.g. for a supervisor's child spec);
 *  valid while its plugin stays loaded. Returns 0 or ACTR_ENOENT. */
ACTR_EXTERN int actr_type_behavior(actr_t *rt, const char *type, const actr_behavior_t **out);

/* ---- hot swap -----------------------------------------------------------------
 * A swap replaces the code of a loaded plugin while its actors keep running:
 * 1. the new file is loaded beside the old one (a private copy; every load
 *    check, plus: the same plugin name, every type that has live actors is
 *    still there, no new type clashes with another plugin's);
 * 2. every actor of the plugin is paused at a message boundary (its mailbox
 *    keeps accepting); each live actor's state is migrated by the new
 *    version's migrate hook (actr/plugin.h);
 * 3. if every migration succeeded the code is switched and the old states
 *    freed (commit); otherwise every new state is discarded and the old code
 *    keeps running (the error names the failing actor and its code); either
 *    way the actors resume. Refs, names, timers, monitors, links, pending
 *    requests and subscriptions are untouched; no message is lost, reordered
 *    or handled twice. Actors spawned meanwhile start on the committed version.
 * The version swapped out stays loaded for actr_plugin_rollback; the one
 * before it is unloaded (its unload hook runs) once no thread can run its
 * code. Every load, swap, rollback and unload is recorded in the node's
 * plugin history (<data_dir>/plugin-history), which survives a restart. */

/** What a swap did (actr_plugin_swap, actr_plugin_rollback). */
typedef struct actr_swap_info {
    char from_version[64], to_version[64];
    uint64_t actors;   /* live actors migrated (or that would have been) */
    uint64_t pause_us; /* how long the plugin's actors were held at a boundary */
} actr_swap_info_t;

/** Swap plugin `name` to the version in `path`. Any thread but a handler's
 *  (ACTR_ECONTEXT); blocks until the swap is committed or refused. Returns 0,
 *  or ACTR_ENOENT (no such plugin loaded, or no such file), the
 *  actr_plugin_load errors for the new file, ACTR_EINVAL (the file holds a
 *  different plugin, or drops a type that has live actors), ACTR_EBUSY
 *  (another swap or an unload of it is in progress), ACTR_ETIMEDOUT (an actor
 *  did not reach a message boundary within 5 s), the failing migrate hook's
 *  code. On any error nothing changed; `err` (may be NULL) has the reason and
 *  `info` (may be NULL) what was attempted. */
ACTR_EXTERN int actr_plugin_swap(actr_t *rt, const char *name, const char *path,
                                 actr_swap_info_t *info, actr_error_t *err);

/** Swap plugin `name` back to the version it ran before the last swap, through
 *  the same two phases (that version's migrate hook converts the states back).
 *  Returns as actr_plugin_swap, and ACTR_ENOENT when there is no previous
 *  version. */
ACTR_EXTERN int actr_plugin_rollback(actr_t *rt, const char *name, actr_swap_info_t *info,
                                     actr_error_t *err);

/** One entry of a plugin's history. Strings are valid only during the callback. */
typedef struct actr_plugin_event {
    int64_t time_ms;          /* Unix time in milliseconds */
    const char *plugin;
    const char *action;       /* "load", "swap", "rollback", "unload" */
    const char *from_version; /* "" for a load */
    const char *to_version;   /* "" for an unload */
    const char *path;         /* the file involved ("" when none) */
    int code;                 /* 0 = done, else why it was refused */
    const char *reason;       /* "" when done */
    uint64_t actors;          /* actors migrated */
    uint64_t pause_us;
} actr_plugin_event_t;

typedef void (*actr_plugin_event_fn)(void *ud, const actr_plugin_event_t *ev);

/** Call fn for every recorded event of plugin `name` (NULL: every plugin),
 *  oldest first, including those of earlier runs of the node on the same data
 *  directory. Returns 0 (also when there are none), or -errno when the history
 *  cannot be read. */
ACTR_EXTERN int actr_plugin_history(actr_t *rt, const char *name, actr_plugin_event_fn fn,
                                    void *ud);

/** Watch `path` and swap plugin `name` to it whenever the file changes. Changes
 *  are debounced: the swap starts once the file has stayed the same (size and
 *  modification time) for debounce_ms (0 = 500), so a file still being
 *  written is never loaded half-way. Each attempt is logged and recorded in
 *  the history. Runs on a thread of the runtime's; stops with actr_close or
 *  actr_plugin_unwatch. Returns 0, ACTR_ENOENT (no such plugin), ACTR_EEXIST
 *  (already watched), ACTR_EINVAL, ACTR_ENOMEM. */
ACTR_EXTERN int actr_plugin_watch(actr_t *rt, const char *name, const char *path,
                                  unsigned debounce_ms, actr_error_t *err);

/** Stop watching for plugin `name`. Returns 0 or ACTR_ENOENT. */
ACTR_EXTERN int actr_plugin_unwatch(actr_t *rt, const char *name);

#endif

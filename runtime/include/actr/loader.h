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

#endif

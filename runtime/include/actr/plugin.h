/* actr/plugin.h — the plugin ABI: what a service plugin (.so) includes.
 *
 * A plugin exports one function, actr_plugin_entry (ACTR_PLUGIN_DEFINE), that
 * returns a versioned descriptor: ABI version, the descriptor's size, a build
 * signature, the plugin's name and semantic version, and its actor types.
 * A plugin links against nothing of the runtime (it builds with
 * -Wl,--no-undefined): it calls the runtime only through the function table
 * that every context carries, with the actr_ctx_* wrappers below. It may use
 * the types, constants and macros of actr/msg.h and actr/errno.h, but must not
 * call the functions declared there (the link would fail).
 *
 * Versioning: ACTR_PLUGIN_ABI_MAJOR changes on any incompatible change; the
 * host refuses other majors. ACTR_PLUGIN_ABI_MINOR grows when fields are
 * appended to the descriptor, the actor type or the host table; a host loads
 * plugins built for its minor or an older one (the `size` fields say which
 * fields a side knows), and refuses a newer minor.
 */
#ifndef ACTR_PLUGIN_H
#define ACTR_PLUGIN_H

#include <stdarg.h>
#include <stdint.h>

#include "actr/errno.h"
#include "actr/msg.h"

#define ACTR_PLUGIN_ABI_MAJOR 1
#define ACTR_PLUGIN_ABI_MINOR 1

#define ACTR__PSTR2(x) #x
#define ACTR__PSTR(x) ACTR__PSTR2(x)
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define ACTR__PLUGIN_ENDIAN "be"
#else
#define ACTR__PLUGIN_ENDIAN "le"
#endif
/** The build signature: what must match between host and plugin beyond the
 *  ABI version (pointer size, byte order, ABI major). */
#define ACTR_PLUGIN_SIGNATURE                                                                  \
    "actr-plugin/" ACTR__PSTR(ACTR_PLUGIN_ABI_MAJOR) "/ptr" ACTR__PSTR(                        \
        __SIZEOF_POINTER__) "/" ACTR__PLUGIN_ENDIAN

/* Spawn options and supervision types, shared with the embedding API. */
#include "actr/actor.h"

/** One actor type of a plugin. The function signatures are those of
 *  actr_behavior_t. */
typedef struct actr_actor_type {
    uint32_t size;      /* sizeof(actr_actor_type_t) at the plugin's build */
    const char *name;   /* type name, unique on the node (e.g. "kv") */
    size_t state_size;  /* zeroed state allocated per actor */
    int (*init)(actr_ctx_t *ctx, void *state, const void *args, size_t args_len); /* optional */
    int (*receive)(actr_ctx_t *ctx, void *state, const actr_msg_t *msg);           /* required */
    void (*terminate)(actr_ctx_t *ctx, void *state, const char *reason);           /* optional */
    /** Hot swap (ABI 1.1; must be NULL in a 1.0 plugin), optional: fill the
     *  zeroed `state` (state_size bytes of this version) from `old_state`
     *  (old_size bytes, laid out by version `from_version` of this plugin,
     *  older or newer: a rollback migrates back). Runs once per live actor of
     *  the type while every actor of the plugin is paused between two
     *  messages; it must not send (sends fail with ACTR_ECONTEXT) and must not
     *  keep pointers into old_state, which is freed after a commit. A negative
     *  return refuses the whole swap: no actor changes version. Without a
     *  migrate hook the old state is carried over byte for byte when the sizes
     *  are equal; a different size refuses the swap. */
    int (*migrate)(actr_ctx_t *ctx, const char *from_version, const void *old_state,
                   size_t old_size, void *state);
} actr_actor_type_t;

typedef struct actr_host_api actr_host_api_t;

/** The descriptor a plugin exports. */
typedef struct actr_plugin {
    uint32_t abi_major;    /* ACTR_PLUGIN_ABI_MAJOR at the plugin's build */
    uint32_t abi_minor;    /* ACTR_PLUGIN_ABI_MINOR at the plugin's build */
    uint32_t size;         /* sizeof(actr_plugin_t) at the plugin's build */
    const char *signature; /* ACTR_PLUGIN_SIGNATURE */
    const char *name;      /* plugin name, unique on the node: [a-z0-9_-], 1..64 bytes */
    const char *version;   /* semantic version of the plugin, "MAJOR.MINOR.PATCH" */
    const actr_actor_type_t *types;
    uint32_t ntypes;       /* at least 1 */
    /** Optional: runs once when the plugin is loaded, before any of its actors.
     *  A non-zero return refuses the load (nothing of the plugin stays). */
    int (*load)(const actr_host_api_t *api);
    /** Optional: runs once when the plugin is unloaded, after its last actor. */
    void (*unload)(const actr_host_api_t *api);
    void *reserved[4]; /* must be NULL */
} actr_plugin_t;

#define ACTR_PLUGIN_EXPORT __attribute__((visibility("default")))

/** Declare `desc` (an actr_plugin_t) as the plugin's descriptor. */
#define ACTR_PLUGIN_DEFINE(desc)                                                               \
    ACTR_PLUGIN_EXPORT const actr_plugin_t *actr_plugin_entry(void);                          \
    ACTR_PLUGIN_EXPORT const actr_plugin_t *actr_plugin_entry(void) { return &(desc); }

/** The name of the exported entry point. */
#define ACTR_PLUGIN_ENTRY "actr_plugin_entry"

/** The runtime's function table, reachable from every context. Fields are
 *  only ever appended (check `size` before using one added in a later minor). */
struct actr_host_api {
    uint32_t size;      /* sizeof(actr_host_api_t) at the host's build */
    uint32_t abi_major, abi_minor;
    /* messages */
    int (*msg_new)(actr_ctx_t *, uint32_t, const void *, size_t, actr_msg_t **);
    int (*msg_vpack)(actr_ctx_t *, uint32_t, actr_msg_t **, const char *, va_list);
    int (*vunpack)(const void *, size_t, const char *, va_list);
    uint32_t (*msg_type)(const actr_msg_t *);
    actr_ref_t (*msg_from)(const actr_msg_t *);
    const void *(*msg_data)(const actr_msg_t *, size_t *);
    uint64_t (*msg_request_id)(const actr_msg_t *);
    int (*msg_is_request)(const actr_msg_t *);
    int (*msg_is_reply)(const actr_msg_t *);
    int (*msg_error)(const actr_msg_t *);
    int (*msg_down)(const actr_msg_t *, uint64_t *, const char **, size_t *);
    int (*msg_exit)(const actr_msg_t *, const char **, size_t *);
    void (*msg_ref)(const actr_msg_t *);
    void (*msg_free)(const actr_msg_t *);
    int (*msg_dup)(actr_ctx_t *, const actr_msg_t *, actr_msg_t **);
    /* messaging */
    int (*send)(actr_ctx_t *, actr_ref_t, actr_msg_t *);
    int (*send_name)(actr_ctx_t *, const char *, actr_msg_t *);
    int (*request)(actr_ctx_t *, actr_ref_t, actr_msg_t *, uint32_t, uint64_t *);
    int (*reply)(actr_ctx_t *, const actr_msg_t *, actr_msg_t *);
    /* actors */
    int (*spawn_type)(actr_ctx_t *, const char *, const void *, size_t, const actr_spawn_opts_t *,
                      actr_ref_t *);
    actr_ref_t (*self)(actr_ctx_t *);
    int (*exit)(actr_ctx_t *, const char *);
    int (*actor_stop)(actr_ctx_t *, actr_ref_t, const char *);
    int (*actor_kill)(actr_ctx_t *, actr_ref_t);
    int (*monitor)(actr_ctx_t *, actr_ref_t, uint64_t *);
    int (*demonitor)(actr_ctx_t *, uint64_t);
    int (*link)(actr_ctx_t *, actr_ref_t);
    int (*unlink)(actr_ctx_t *, actr_ref_t);
    int (*trap_exit)(actr_ctx_t *, int);
    int (*register_name)(actr_ctx_t *, const char *, actr_ref_t);
    int (*unregister_name)(actr_ctx_t *, const char *);
    int (*whereis)(actr_ctx_t *, const char *, actr_ref_t *);
    /* timers and topics */
    int (*timer_send_after)(actr_ctx_t *, actr_ref_t, uint32_t, actr_msg_t *, uint64_t *);
    int (*timer_interval)(actr_ctx_t *, actr_ref_t, uint32_t, actr_msg_t *, uint64_t *);
    int (*timer_cancel)(actr_ctx_t *, uint64_t);
    int (*subscribe)(actr_ctx_t *, const char *);
    int (*unsubscribe)(actr_ctx_t *, const char *);
    int (*publish)(actr_ctx_t *, const char *, actr_msg_t *, size_t *);
    /* services */
    void (*log)(actr_ctx_t *, int level, const char *line); /* ACTR_LOG_* levels of actr.h */
    uint64_t (*now_ms)(actr_ctx_t *);
    void *(*alloc)(actr_ctx_t *, size_t);  /* zeroed; NULL on OOM */
    void (*free)(actr_ctx_t *, void *);
    const char *(*strerror)(int);
    /* ---- ABI 1.1 ---- */
    int (*await)(actr_ctx_t *, uint64_t);
    int (*name_of)(actr_ctx_t *, actr_ref_t, char *, size_t);
    int (*lookup)(actr_ctx_t *, const char *, uint32_t, uint64_t *);
    int (*store_put)(actr_ctx_t *, const char *, const void *, size_t, const void *, size_t,
                     uint64_t *);
    int (*store_get)(actr_ctx_t *, const char *, const void *, size_t, uint64_t *);
    int (*store_delete)(actr_ctx_t *, const char *, const void *, size_t, uint64_t *);
    int (*store_scan)(actr_ctx_t *, const char *, const void *, size_t, uint32_t, uint64_t *);
    int (*store_result)(const actr_msg_t *, const char **);
    int (*store_value)(const actr_msg_t *, const void **, size_t *);
    int (*store_scan_next)(const actr_msg_t *, size_t *, const void **, size_t *, const void **,
                           size_t *);
};

/* The context starts with the table pointer (a layout fixed by ABI major 1). */
struct actr__ctx_head {
    const actr_host_api_t *api;
};

/** The function table of a context. */
static inline const actr_host_api_t *actr_ctx_api(actr_ctx_t *ctx)
{
    return ((const struct actr__ctx_head *)(const void *)ctx)->api;
}

/* ---- wrappers: the same calls as the embedding API, spelled actr_ctx_* -------
 * Each behaves exactly as the function of the same name without `ctx_` in
 * actr/actor.h and actr/msg.h (see there for ownership and errors). */

static inline int actr_ctx_msg_new(actr_ctx_t *c, uint32_t t, const void *d, size_t n,
                                   actr_msg_t **o)
{
    return actr_ctx_api(c)->msg_new(c, t, d, n, o);
}
static inline int actr_ctx_msg_pack(actr_ctx_t *c, uint32_t t, actr_msg_t **o, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    int rc = actr_ctx_api(c)->msg_vpack(c, t, o, f, ap);
    va_end(ap);
    return rc;
}
static inline int actr_ctx_msg_unpack(actr_ctx_t *c, const actr_msg_t *m, const char *f, ...)
{
    size_t n;
    const void *d = actr_ctx_api(c)->msg_data(m, &n);
    va_list ap;
    va_start(ap, f);
    int rc = actr_ctx_api(c)->vunpack(d, n, f, ap);
    va_end(ap);
    return rc;
}
static inline int actr_ctx_unpack(actr_ctx_t *c, const void *d, size_t n, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    int rc = actr_ctx_api(c)->vunpack(d, n, f, ap);
    va_end(ap);
    return rc;
}
static inline uint32_t actr_ctx_msg_type(actr_ctx_t *c, const actr_msg_t *m)
{
    return actr_ctx_api(c)->msg_type(m);
}
static inline actr_ref_t actr_ctx_msg_from(actr_ctx_t *c, const actr_msg_t *m)
{
    return actr_ctx_api(c)->msg_from(m);
}
static inline const void *actr_ctx_msg_data(actr_ctx_t *c, const actr_msg_t *m, size_t *n)
{
    return actr_ctx_api(c)->msg_data(m, n);
}
static inline int actr_ctx_msg_is_request(actr_ctx_t *c, const actr_msg_t *m)
{
    return actr_ctx_api(c)->msg_is_request(m);
}
static inline int actr_ctx_msg_is_reply(actr_ctx_t *c, const actr_msg_t *m)
{
    return actr_ctx_api(c)->msg_is_reply(m);
}
static inline uint64_t actr_ctx_msg_request_id(actr_ctx_t *c, const actr_msg_t *m)
{
    return actr_ctx_api(c)->msg_request_id(m);
}
static inline int actr_ctx_msg_error(actr_ctx_t *c, const actr_msg_t *m)
{
    return actr_ctx_api(c)->msg_error(m);
}
static inline int actr_ctx_msg_down(actr_ctx_t *c, const actr_msg_t *m, uint64_t *id,
                                    const char **r, size_t *rl)
{
    return actr_ctx_api(c)->msg_down(m, id, r, rl);
}
static inline int actr_ctx_msg_exit(actr_ctx_t *c, const actr_msg_t *m, const char **r, size_t *rl)
{
    return actr_ctx_api(c)->msg_exit(m, r, rl);
}
static inline void actr_ctx_msg_ref(actr_ctx_t *c, const actr_msg_t *m)
{
    actr_ctx_api(c)->msg_ref(m);
}
static inline void actr_ctx_msg_free(actr_ctx_t *c, const actr_msg_t *m)
{
    actr_ctx_api(c)->msg_free(m);
}
static inline int actr_ctx_msg_dup(actr_ctx_t *c, const actr_msg_t *m, actr_msg_t **o)
{
    return actr_ctx_api(c)->msg_dup(c, m, o);
}
static inline int actr_ctx_send(actr_ctx_t *c, actr_ref_t to, actr_msg_t *m)
{
    return actr_ctx_api(c)->send(c, to, m);
}
static inline int actr_ctx_send_name(actr_ctx_t *c, const char *name, actr_msg_t *m)
{
    return actr_ctx_api(c)->send_name(c, name, m);
}
static inline int actr_ctx_request(actr_ctx_t *c, actr_ref_t to, actr_msg_t *m, uint32_t tmo,
                                   uint64_t *id)
{
    return actr_ctx_api(c)->request(c, to, m, tmo, id);
}
static inline int actr_ctx_reply(actr_ctx_t *c, const actr_msg_t *req, actr_msg_t *rep)
{
    return actr_ctx_api(c)->reply(c, req, rep);
}
/** Spawn an actor of a type registered by any loaded plugin, by type name.
 *  Errors as actr_spawn, plus ACTR_ENOENT for an unknown type. */
static inline int actr_ctx_spawn(actr_ctx_t *c, const char *type, const void *args, size_t n,
                                 const actr_spawn_opts_t *o, actr_ref_t *out)
{
    return actr_ctx_api(c)->spawn_type(c, type, args, n, o, out);
}
static inline actr_ref_t actr_ctx_self(actr_ctx_t *c) { return actr_ctx_api(c)->self(c); }
static inline int actr_ctx_exit(actr_ctx_t *c, const char *reason)
{
    return actr_ctx_api(c)->exit(c, reason);
}
static inline int actr_ctx_actor_stop(actr_ctx_t *c, actr_ref_t who, const char *reason)
{
    return actr_ctx_api(c)->actor_stop(c, who, reason);
}
static inline int actr_ctx_actor_kill(actr_ctx_t *c, actr_ref_t who)
{
    return actr_ctx_api(c)->actor_kill(c, who);
}
static inline int actr_ctx_monitor(actr_ctx_t *c, actr_ref_t who, uint64_t *id)
{
    return actr_ctx_api(c)->monitor(c, who, id);
}
static inline int actr_ctx_demonitor(actr_ctx_t *c, uint64_t id)
{
    return actr_ctx_api(c)->demonitor(c, id);
}
static inline int actr_ctx_link(actr_ctx_t *c, actr_ref_t who) { return actr_ctx_api(c)->link(c, who); }
static inline int actr_ctx_unlink(actr_ctx_t *c, actr_ref_t who)
{
    return actr_ctx_api(c)->unlink(c, who);
}
static inline int actr_ctx_trap_exit(actr_ctx_t *c, int on) { return actr_ctx_api(c)->trap_exit(c, on); }
static inline int actr_ctx_register(actr_ctx_t *c, const char *name, actr_ref_t who)
{
    return actr_ctx_api(c)->register_name(c, name, who);
}
static inline int actr_ctx_unregister(actr_ctx_t *c, const char *name)
{
    return actr_ctx_api(c)->unregister_name(c, name);
}
static inline int actr_ctx_whereis(actr_ctx_t *c, const char *name, actr_ref_t *out)
{
    return actr_ctx_api(c)->whereis(c, name, out);
}
static inline int actr_ctx_timer_send_after(actr_ctx_t *c, actr_ref_t to, uint32_t ms,
                                            actr_msg_t *m, uint64_t *id)
{
    return actr_ctx_api(c)->timer_send_after(c, to, ms, m, id);
}
static inline int actr_ctx_timer_interval(actr_ctx_t *c, actr_ref_t to, uint32_t ms, actr_msg_t *m,
                                          uint64_t *id)
{
    return actr_ctx_api(c)->timer_interval(c, to, ms, m, id);
}
static inline int actr_ctx_timer_cancel(actr_ctx_t *c, uint64_t id)
{
    return actr_ctx_api(c)->timer_cancel(c, id);
}
static inline int actr_ctx_subscribe(actr_ctx_t *c, const char *topic)
{
    return actr_ctx_api(c)->subscribe(c, topic);
}
static inline int actr_ctx_unsubscribe(actr_ctx_t *c, const char *topic)
{
    return actr_ctx_api(c)->unsubscribe(c, topic);
}
static inline int actr_ctx_publish(actr_ctx_t *c, const char *topic, actr_msg_t *m, size_t *n)
{
    return actr_ctx_api(c)->publish(c, topic, m, n);
}
/** Log one line (no trailing newline needed) at `level` (0 debug .. 3 error). */
static inline void actr_ctx_log(actr_ctx_t *c, int level, const char *line)
{
    actr_ctx_api(c)->log(c, level, line);
}
static inline uint64_t actr_ctx_now_ms(actr_ctx_t *c) { return actr_ctx_api(c)->now_ms(c); }
/** Allocate zeroed memory through the runtime (accounted per plugin). */
static inline void *actr_ctx_alloc(actr_ctx_t *c, size_t n) { return actr_ctx_api(c)->alloc(c, n); }
static inline void actr_ctx_free(actr_ctx_t *c, void *p) { actr_ctx_api(c)->free(c, p); }
/** The message of an ACTR_E* code (static string). */
static inline const char *actr_ctx_strerror(actr_ctx_t *c, int err)
{
    return actr_ctx_api(c)->strerror(err);
}

/* ABI 1.1: selective receive of one reply, names of refs, and the state store
 * (actr/store.h). */
static inline int actr_ctx_name_of(actr_ctx_t *c, actr_ref_t who, char *buf, size_t cap)
{
    return actr_ctx_api(c)->name_of(c, who, buf, cap);
}
/* actr_lookup (actr/cluster.h): find a name on this node or a connected one. */
static inline int actr_ctx_lookup(actr_ctx_t *c, const char *name, uint32_t timeout_ms,
                                  uint64_t *req_id)
{
    return actr_ctx_api(c)->lookup(c, name, timeout_ms, req_id);
}
static inline int actr_ctx_await(actr_ctx_t *c, uint64_t req_id)
{
    return actr_ctx_api(c)->await(c, req_id);
}
static inline int actr_ctx_store_put(actr_ctx_t *c, const char *ns, const void *key, size_t klen,
                                     const void *val, size_t vlen, uint64_t *req_id)
{
    return actr_ctx_api(c)->store_put(c, ns, key, klen, val, vlen, req_id);
}
static inline int actr_ctx_store_get(actr_ctx_t *c, const char *ns, const void *key, size_t klen,
                                     uint64_t *req_id)
{
    return actr_ctx_api(c)->store_get(c, ns, key, klen, req_id);
}
static inline int actr_ctx_store_delete(actr_ctx_t *c, const char *ns, const void *key,
                                        size_t klen, uint64_t *req_id)
{
    return actr_ctx_api(c)->store_delete(c, ns, key, klen, req_id);
}
static inline int actr_ctx_store_scan(actr_ctx_t *c, const char *ns, const void *prefix,
                                      size_t plen, uint32_t limit, uint64_t *req_id)
{
    return actr_ctx_api(c)->store_scan(c, ns, prefix, plen, limit, req_id);
}
static inline int actr_ctx_store_result(actr_ctx_t *c, const actr_msg_t *reply, const char **why)
{
    return actr_ctx_api(c)->store_result(reply, why);
}
static inline int actr_ctx_store_value(actr_ctx_t *c, const actr_msg_t *reply, const void **val,
                                       size_t *vlen)
{
    return actr_ctx_api(c)->store_value(reply, val, vlen);
}
static inline int actr_ctx_store_scan_next(actr_ctx_t *c, const actr_msg_t *reply, size_t *pos,
                                           const void **key, size_t *klen, const void **val,
                                           size_t *vlen)
{
    return actr_ctx_api(c)->store_scan_next(reply, pos, key, klen, val, vlen);
}

#endif

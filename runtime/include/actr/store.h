/* actr/store.h — durable actor state: a per-node SQLite file (WAL) owned by
 * one store thread, written in group commits and acknowledged by message.
 *
 * The store keeps keyed values in namespaces: a namespace is a string (a
 * service's name, an actor's name: "kv", "kv:kv-3"), a key and a value are
 * byte strings (values are usually msgpack). Workers and the I/O thread never
 * touch SQLite: every operation is a request to the store thread, answered by
 * a reply message (actr_msg_is_reply, actr_msg_request_id == *req_id) once
 * it is done — for a write, only after the transaction holding it has
 * committed, so an acknowledged write survives the process being killed
 * (synchronous=NORMAL, the default) or a power loss (FULL).
 *
 * Read the reply with actr_store_result (every operation), actr_store_value
 * (get) and actr_store_scan_next (scan). A request that cannot be carried out
 * (a full disk, an I/O error, a read-only file) is answered with an error
 * result; the node keeps running. Requests are queued in arrival order and
 * answered in that order per requester: a get after a put of the same key
 * from the same actor sees the put.
 *
 * Operations issued from init may be awaited with actr_await (actr/actor.h),
 * so that an actor reads its state back before it handles anything else.
 */
#ifndef ACTR_STORE_H
#define ACTR_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "actr/errno.h"
#include "actr/export.h"
#include "actr/msg.h"

typedef struct actr actr_t;

/** Durability of an acknowledgement (PRAGMA synchronous in WAL mode). */
typedef enum actr_store_sync {
    ACTR_STORE_NORMAL = 0, /* survives a crash of the process (kill -9), not a power loss */
    ACTR_STORE_FULL = 1    /* fsync at each commit: survives a power loss */
} actr_store_sync_t;

#define ACTR_STORE_MAX_NS 255                    /* bytes of a namespace */
#define ACTR_STORE_MAX_KEY 4096                  /* bytes of a key */
#define ACTR_STORE_DEFAULT_MAX_VALUE (1u << 20)  /* bytes of a value, by default */
#define ACTR_STORE_LIMIT_MAX_VALUE (64u << 20)   /* the largest max_value accepted */
/* requests in one transaction under load, by default: about 20 ms of writes
 * at full speed, so no acknowledgement waits longer for its commit */
#define ACTR_STORE_DEFAULT_MAX_BATCH 8192u

typedef struct actr_store_options {
    uint32_t size;          /* sizeof(actr_store_options_t); set by actr_store_options_init */
    const char *path;       /* the database file; NULL = <data_dir>/actr.db */
    actr_store_sync_t sync; /* default ACTR_STORE_NORMAL */
    uint32_t max_value;     /* largest value accepted; 0 = ACTR_STORE_DEFAULT_MAX_VALUE */
    uint32_t max_batch;     /* most requests in one transaction; 0 = ACTR_STORE_DEFAULT_MAX_BATCH */
} actr_store_options_t;

/** Fill *opts with the defaults. */
ACTR_EXTERN void actr_store_options_init(actr_store_options_t *opts);

/** Open the runtime's store (once per runtime; before or after actr_start,
 *  not from a handler) and start its thread. Creates the file and its schema
 *  if missing, migrates an older schema, refuses a newer one. Returns 0, or
 *  ACTR_EEXIST (already open), ACTR_ECONTEXT (from a handler), ACTR_ESTORE
 *  (the file is not a database, is corrupt, locked by another process, from
 *  a newer version, or cannot be created or written), ACTR_EINVAL (bad
 *  options), ACTR_ENOMEM; `err` (may be NULL) names the file and the reason.
 *  The store closes with the runtime (actr_close), after the last actor. */
ACTR_EXTERN int actr_store_open(actr_t *rt, const actr_store_options_t *opts, actr_error_t *err);

/** 1 if the runtime's store is open. */
ACTR_EXTERN int actr_store_is_open(const actr_t *rt);

/** Put `val` under (ns, key), replacing any value. The acknowledgement is a
 *  reply to *req_id after the commit. Returns 0, or ACTR_EINVAL (empty or
 *  oversized namespace or key), ACTR_E2BIG (value over max_value),
 *  ACTR_ESTORE (no store open), the actr_request errors. The bytes are copied. */
ACTR_EXTERN int actr_store_put(actr_ctx_t *ctx, const char *ns, const void *key, size_t klen,
                               const void *val, size_t vlen, uint64_t *req_id);

/** Read (ns, key); the reply carries the value (actr_store_value). Errors as
 *  actr_store_put. */
ACTR_EXTERN int actr_store_get(actr_ctx_t *ctx, const char *ns, const void *key, size_t klen,
                               uint64_t *req_id);

/** Delete (ns, key) (deleting a missing key succeeds). Errors as actr_store_put. */
ACTR_EXTERN int actr_store_delete(actr_ctx_t *ctx, const char *ns, const void *key, size_t klen,
                                  uint64_t *req_id);

/** Read every (key, value) of `ns` whose key starts with `prefix` (plen 0:
 *  all), in key order, at most `limit` entries (0 = no limit); the reply is
 *  read with actr_store_scan_next. Errors as actr_store_put. */
ACTR_EXTERN int actr_store_scan(actr_ctx_t *ctx, const char *ns, const void *prefix, size_t plen,
                                uint32_t limit, uint64_t *req_id);

/** The outcome carried by a store reply: 0, or the error (ACTR_ESTORE,
 *  ACTR_E2BIG, ...; an ACTR_MSG_REQFAIL gives its own code). `why` (may be
 *  NULL) gets a message valid while the reply lives, "" on success. Returns
 *  ACTR_EMSGPACK for a message that is not a store reply. */
ACTR_EXTERN int actr_store_result(const actr_msg_t *reply, const char **why);

/** The value of a get reply: 1 and (*val, *vlen) pointing into the reply
 *  when found, 0 when the key is absent, or a negative error (the result's). */
ACTR_EXTERN int actr_store_value(const actr_msg_t *reply, const void **val, size_t *vlen);

/** Iterate a scan reply: start with *pos = 0; returns 1 and the next entry
 *  (pointers into the reply), 0 after the last, or a negative error. */
ACTR_EXTERN int actr_store_scan_next(const actr_msg_t *reply, size_t *pos, const void **key,
                                     size_t *klen, const void **val, size_t *vlen);

/** Write a consistent copy of the database to `file` (SQLite's online backup;
 *  writes keep being acknowledged meanwhile). A node started with that file as
 *  its store path restores it. Not from a handler. Returns 0, ACTR_ESTORE
 *  (no store, or the copy failed: err names why), ACTR_ECONTEXT. */
ACTR_EXTERN int actr_store_backup(actr_t *rt, const char *file, actr_error_t *err);

/** What the store has done (for `actr ctl` and benchmarks). */
typedef struct actr_store_stats {
    uint64_t writes, reads, commits, errors;
    uint64_t queued; /* requests waiting for the store thread now */
} actr_store_stats_t;

/** Fill *out. Returns 0 or ACTR_ESTORE (no store open). */
ACTR_EXTERN int actr_store_stats(actr_t *rt, actr_store_stats_t *out);

#endif

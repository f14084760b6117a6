/* pack.h — internal helpers of the msgpack payload code (runtime/src/pack.c).
 *
 * The public side (actr_msg_pack, actr_unpack, ...) is declared in actr/msg.h.
 * This header gives the rest of runtime/src what it needs to build the
 * runtime's own system payloads without the varargs format machinery, and a
 * bounded value scanner for decoders that carry msgpack inside other frames.
 */
#ifndef ACTR_SRC_PACK_H
#define ACTR_SRC_PACK_H

#include <stddef.h>
#include <stdint.h>

#include "actr/msg.h"

/** Deepest nesting of arrays/maps the reader accepts: a top-level array is
 *  depth 1, and a container at depth ACTR__MSGPACK_MAX_DEPTH + 1 makes the
 *  payload malformed (ACTR_EMSGPACK). Format strings may not nest deeper
 *  either (ACTR_EINVAL). */
#define ACTR__MSGPACK_MAX_DEPTH 64

/** Build a ACTR_MSG_DOWN message with payload [monitor_id, reason].
 *  `reason` is a NUL-terminated string (NULL is ACTR_EINVAL). The envelope
 *  (from, ...) is left for the caller to fill. Returns 0 and *out, or
 *  ACTR_EINVAL, ACTR_E2BIG, ACTR_ENOMEM (errors of actr_msg_alloc). Any thread. */
int actr__pack_down(actr_ctx_t *ctx, uint64_t monitor_id, const char *reason, actr_msg_t **out);

/** Build a ACTR_MSG_EXIT message with payload [reason]. Same rules and errors
 *  as actr__pack_down. */
int actr__pack_exit(actr_ctx_t *ctx, const char *reason, actr_msg_t **out);

/** Build a ACTR_MSG_REQFAIL message with payload [code] (code is a negative
 *  ACTR_E* value). The caller sets the request id. Returns 0 and *out, or the
 *  errors of actr_msg_alloc. */
int actr__pack_reqfail(actr_ctx_t *ctx, int code, actr_msg_t **out);

/** Length of the first complete msgpack value at `data` (at most `len` bytes
 *  are read; nesting bounded by ACTR__MSGPACK_MAX_DEPTH). Pure, no allocation.
 *  Returns 0 and *used, or ACTR_EMSGPACK (malformed or truncated),
 *  ACTR_EINVAL (NULL used, or NULL data with len > 0). */
int actr__msgpack_value_len(const void *data, size_t len, size_t *used);

#endif

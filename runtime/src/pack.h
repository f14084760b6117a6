/* pack.h — internal helpers of the msgpack payload code: the writing side in
 * runtime/src/pack.c, the reading side in runtime/src/unpack.c.
 *
 * The public side (actr_msg_pack, actr_unpack, ...) is declared in actr/msg.h.
 * This header gives the rest of runtime/src what it needs to build the
 * runtime's own system payloads without the varargs format machinery, and a
 * bounded value scanner for decoders that carry msgpack inside other frames.
 * It also holds what pack.c and unpack.c share (the nesting bound and the
 * flat integer format parser).
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

/* Flat integer formats ("i", "I", "U", or "[" up to ACTR__FLAT_MAX of them
 * "]") are the commonest small payloads; pack.c and unpack.c give them a
 * direct encoder and decoder. Writes the letters to `letters` (room for
 * ACTR__FLAT_MAX) and *array (whether the format is bracketed), and returns
 * the letter count, or 0 if fmt is not flat. */
#define ACTR__FLAT_MAX 15
static inline unsigned actr__flat_fmt(const char *fmt, char *letters, int *array)
{
    unsigned n = 0;
    *array = fmt[0] == '[';
    const char *f = fmt + *array;
    for (; *f == 'i' || *f == 'I' || *f == 'U'; f++) {
        if (n == ACTR__FLAT_MAX)
            return 0;
        letters[n++] = *f;
    }
    if (*array ? (f[0] != ']' || f[1] != '\0') : (f[0] != '\0' || n != 1))
        return 0;
    return n;
}

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

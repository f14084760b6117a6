/* actr/control.h — the node's local control socket and its JSON protocol.
 *
 * A Unix stream socket (mode 0600) served by its own thread. Each request is
 * one line of JSON and gets one line of JSON back:
 *   {"cmd":"actors"}   -> {"ok":true,"actors":[{"ref":"<slot.gen>","name":..|null,
 *                          "type":..,"mailbox":N,"handled":N},...]}
 *   {"cmd":"plugins"}  -> {"ok":true,"plugins":[{"name":..,"version":..,"path":..,
 *                          "types":[..],"actors":N},...]}
 *   {"cmd":"call","name":NAME,"arg":<any JSON>,"type":N (default 1),
 *    "timeout_ms":N (default 5000)}
 *                      -> {"ok":true,"reply":<the reply payload as JSON>}
 *   errors             -> {"ok":false,"error":"ENAME","message":"..."}
 * JSON and msgpack are converted both ways (objects <-> maps, arrays, strings,
 * integers, floats, booleans, null; binary becomes a base64 string with the
 * "$bin:" prefix). Requests are bounded (1 MiB per line).
 */
#ifndef ACTR_CONTROL_H
#define ACTR_CONTROL_H

#include "actr/errno.h"
#include "actr/msg.h"

typedef struct actr_control actr_control_t;

/** Serve the control protocol for `rt` on a Unix socket at `path` (created
 *  with mode 0600; a stale socket file is replaced, a live one is refused with
 *  ACTR_EBUSY). Returns 0 and *out, or an error with `err` filled. */
ACTR_EXTERN int actr_control_start(actr_t *rt, const char *path, actr_control_t **out,
                                   actr_error_t *err);

/** Stop serving, close the socket and remove its file. NULL is a no-op. Call
 *  before actr_close. */
ACTR_EXTERN void actr_control_stop(actr_control_t *ctl);

/** Client side: send one request line (JSON text, no newline) to the socket at
 *  `path` and return the reply line in *reply (free with actr_free). Waits up to
 *  timeout_ms (negative: no limit). Returns 0, or -errno / ACTR_ETIMEDOUT /
 *  ACTR_EPROTO. */
ACTR_EXTERN int actr_control_request(const char *path, const char *request, int timeout_ms,
                                     char **reply, actr_error_t *err);

/** Convert msgpack bytes to JSON text (newly allocated, free with actr_free).
 *  Returns 0, ACTR_EMSGPACK, ACTR_E2BIG (the JSON would exceed 128 MiB, or a
 *  non-string map key 64 KiB), ACTR_ENOMEM. */
ACTR_EXTERN int actr_msgpack_to_json(const void *data, size_t len, char **json);

/** Convert JSON text to msgpack bytes (newly allocated, free with actr_free).
 *  Returns 0, ACTR_EINVAL with `err` naming the line:column of the JSON error,
 *  or ACTR_ENOMEM. */
ACTR_EXTERN int actr_json_to_msgpack(const char *json, void **data, size_t *len,
                                     actr_error_t *err);

#endif

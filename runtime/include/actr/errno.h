/* actr/errno.h — error codes.
 *
 * Every fallible function returns 0 on success or a negative ACTR_E* code.
 * Codes that mirror an OS condition equal -errno (Linux values), so libuv
 * codes pass through unchanged; runtime-specific codes sit below -4000.
 */
#ifndef ACTR_ERRNO_H
#define ACTR_ERRNO_H

#include "actr/export.h"

/* XX(name, value, message) */
#define ACTR_ERRNO_MAP(XX)                                                               \
    XX(E2BIG, -7, "argument list too long or payload too large")                        \
    XX(EAGAIN, -11, "resource temporarily unavailable")                                 \
    XX(ENOMEM, -12, "not enough memory")                                                \
    XX(EBUSY, -16, "resource busy")                                                     \
    XX(EEXIST, -17, "already exists")                                                   \
    XX(ENOENT, -2, "no such entry")                                                     \
    XX(EINVAL, -22, "invalid argument")                                                 \
    XX(ERANGE, -34, "value out of range")                                               \
    XX(ENOSYS, -38, "function not implemented")                                         \
    XX(ECANCELED, -125, "operation canceled")                                           \
    XX(ETIMEDOUT, -110, "operation timed out")                                          \
    XX(ENOTCONN, -107, "not connected: the node was lost")                              \
    XX(EABI, -4001, "plugin ABI mismatch")                                              \
    XX(EPROTO, -4002, "protocol error")                                                 \
    XX(ECONFIG, -4003, "configuration error")                                           \
    XX(ESTORE, -4004, "state store error")                                              \
    XX(ENOACTOR, -4005, "no such actor (stopped, never existed, or stale ref)")         \
    XX(EMAILBOX, -4006, "mailbox full")                                                 \
    XX(EMSGPACK, -4007, "malformed msgpack payload")                                    \
    XX(ETYPE, -4008, "msgpack value has a different type than expected")                \
    XX(ESTOPPED, -4009, "runtime is stopping or stopped")                               \
    XX(ENONODE, -4010, "ref belongs to an unknown node or another runtime")             \
    XX(ECONTEXT, -4011, "call not allowed from this thread or context")                 \
    XX(ENOTREQ, -4012, "message is not a request")

/** Error codes (negative). */
typedef enum actr_errno {
#define ACTR__ERR_ENUM(name, val, msg) ACTR_##name = (val),
    ACTR_ERRNO_MAP(ACTR__ERR_ENUM)
#undef ACTR__ERR_ENUM
    ACTR_OK = 0
} actr_errno_t;

/** Details of an error where context matters (configuration, plugin loading,
 *  control requests): the code, a one-line message that names where (file,
 *  line, column, key, path) and what was expected, and the position when it
 *  comes from a file (0 when not). Filled by the callee; never shared state. */
typedef struct actr_error {
    int code;
    int line, col;
    char msg[512];
} actr_error_t;

/** Human-readable message for an error code. Never returns NULL; unknown codes
 *  give "unknown error". The string is static; do not free it. */
ACTR_EXTERN const char *actr_strerror(int err);

/** The code's symbolic name without the prefix, e.g. "ENOACTOR". Never NULL;
 *  unknown codes give "EUNKNOWN". Static string. */
ACTR_EXTERN const char *actr_err_name(int err);

#endif

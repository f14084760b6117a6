/* actr/msg.h — messages: an envelope (type, sender, request id) around msgpack
 * payload bytes.
 *
 * Ownership: a message created by actr_msg_new/actr_msg_pack belongs to the
 * caller until it is handed to actr_send/actr_request/actr_reply/actr_topic_publish
 * or a timer, which consume it on every return path (success or error). A
 * receive handler gets a borrowed `const actr_msg_t *` valid until the handler
 * returns; keep it longer with actr_msg_ref() and release with actr_msg_free().
 * Messages are not tied to a runtime and may be freed on any thread.
 */
#ifndef ACTR_MSG_H
#define ACTR_MSG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "actr/export.h"

typedef struct actr actr_t;
typedef struct actr_ctx actr_ctx_t;
typedef struct actr_msg actr_msg_t;

/** An actor's identity: which node, which slot, which generation of the slot.
 *  A ref to a stopped actor is stale: sends fail with ACTR_ENOACTOR, never
 *  reaching a later actor in the same slot. The all-zero ref is "no actor". */
typedef struct actr_ref {
    uint64_t node; /* id of the runtime (node) that owns the actor; 0 = none */
    uint32_t slot; /* index in that node's actor table */
    uint32_t gen;  /* generation of the slot; never 0 for a real actor */
} actr_ref_t;

/** The "no actor" ref. */
#define ACTR_REF_NONE ((actr_ref_t){0, 0, 0})

/** 1 if a and b name the same actor, else 0. */
static inline int actr_ref_eq(actr_ref_t a, actr_ref_t b)
{
    return a.node == b.node && a.slot == b.slot && a.gen == b.gen;
}
/** 1 if r is the "no actor" ref. */
static inline int actr_ref_is_none(actr_ref_t r) { return r.node == 0 && r.gen == 0; }

/* ---- message types ----------------------------------------------------
 * User types are 0 .. ACTR_MSG_USER_MAX. The runtime delivers these system
 * types to receive handlers; their payloads are documented per type. */
#define ACTR_MSG_USER_MAX 0xFFFDFFFFu
/* 0xFFFE0000 .. 0xFFFEFFFF: reserved for the runtime's built-in actors
 * (e.g. ACTR_SUP_WHICH_CHILDREN); 0xFFFF0000 and up: system messages. */
/** A monitored actor died. from = the dead actor; payload = [monitor_id:uint, reason:str].
 *  Read with actr_msg_down(). */
#define ACTR_MSG_DOWN 0xFFFF0001u
/** A linked actor died and this actor traps exits. from = the dead actor;
 *  payload = [reason:str]. Read with actr_msg_exit(). */
#define ACTR_MSG_EXIT 0xFFFF0002u
/** A request of this actor failed: it timed out (ACTR_ETIMEDOUT) or the target
 *  does not exist (ACTR_ENOACTOR). actr_msg_request_id() gives the request id,
 *  actr_msg_error() the code; payload = [code:int]. */
#define ACTR_MSG_REQFAIL 0xFFFF0003u

/** Backpressure: actor `from` refused a send of this actor with ACTR_EMAILBOX
 *  and its mailbox has room again (it has drained to half its bound, or it
 *  died). Sent once per refusal episode, to actors only (clients retry). No payload. */
#define ACTR_MSG_UNBLOCKED 0xFFFF0004u

/** Largest payload a message may carry (bytes); larger ones give ACTR_E2BIG. */
#define ACTR_MSG_MAX_PAYLOAD (64u * 1024u * 1024u)

/** Create a message of `type` whose payload is a copy of `len` bytes at `data`
 *  (msgpack by convention; data may be NULL when len is 0). `ctx` may be NULL;
 *  when given, the message comes from that thread's cache (faster).
 *  Returns 0 and *out, or ACTR_EINVAL (NULL out, NULL data with len>0),
 *  ACTR_E2BIG (len > ACTR_MSG_MAX_PAYLOAD), ACTR_ENOMEM. */
ACTR_EXTERN ACTR_NODISCARD int actr_msg_new(actr_ctx_t *ctx, uint32_t type, const void *data,
                                             size_t len, actr_msg_t **out);

/** Create a message with an uninitialised payload of `len` bytes that the
 *  caller fills through actr_msg_buffer() before sending. Errors as actr_msg_new. */
ACTR_EXTERN ACTR_NODISCARD int actr_msg_alloc(actr_ctx_t *ctx, uint32_t type, size_t len,
                                               actr_msg_t **out);

/** Writable payload of a message created by actr_msg_alloc and not yet sent. */
ACTR_EXTERN void *actr_msg_buffer(actr_msg_t *msg);

/** Build a message whose payload is msgpack built from a format string.
 *  Format characters (spaces, ':' and ',' are ignored):
 *    n            nil
 *    b  int       boolean (0/1)
 *    i  int       integer          I  int64_t      U  uint64_t
 *    f  double    float 64
 *    s  const char *                 NUL-terminated string (NULL is ACTR_EINVAL)
 *    S  const char *, size_t         string with length
 *    x  const void *, size_t         binary
 *    r  actr_ref_t                   a ref (msgpack ext type 1, 16 bytes)
 *    *  const void *, size_t         raw msgpack of one value, inserted as is (checked)
 *    [ ... ]                         array of the values inside
 *    { k v ... }                     map; keys and values are any of the above
 *  The format normally describes one value ("i", "[is]", "{s:i}"); several
 *  top-level values are packed one after another. Returns 0 and *out,
 *  ACTR_EINVAL (bad format or argument, unbalanced brackets), ACTR_EMSGPACK
 *  (bad raw value), ACTR_E2BIG, ACTR_ENOMEM. */
ACTR_EXTERN ACTR_NODISCARD int actr_msg_pack(actr_ctx_t *ctx, uint32_t type, actr_msg_t **out,
                                              const char *fmt, ...);
/** va_list form of actr_msg_pack. */
ACTR_EXTERN ACTR_NODISCARD int actr_msg_vpack(actr_ctx_t *ctx, uint32_t type, actr_msg_t **out,
                                               const char *fmt, va_list ap);

/** Read a message's msgpack payload into C values by format.
 *    n            expect nil (no argument)
 *    b  bool *    i  int *    I  int64_t *    U  uint64_t *    f  double * (ints widen)
 *    s  const char **, size_t *  string, borrowed from the message (NOT NUL-terminated)
 *    x  const void **, size_t *  binary, borrowed
 *    r  actr_ref_t *
 *    *  const void **, size_t *  raw msgpack of one value, borrowed
 *    _            skip one value of any type
 *    [ ... ]      array: its elements in order; fewer format items than elements
 *                 is ACTR_ETYPE unless the list ends with "..."
 *    { k:v ... }  map: each key is written `s` in the format and consumes a
 *                 `const char *` (NUL-terminated) naming the key, which is looked
 *                 up in the map; keys not named are skipped. A '?' before the
 *                 key marks it optional: the value's output is left untouched
 *                 when the key is absent. Example: "{s:i ?s:s}".
 *  Top-level values are read in order and every payload byte must be consumed.
 *  Integers that do not fit the target give ACTR_ERANGE. Returns 0, or
 *  ACTR_EMSGPACK (malformed or truncated payload, trailing bytes), ACTR_ETYPE
 *  (type mismatch), ACTR_ENOENT (missing map key), ACTR_ERANGE, ACTR_EINVAL
 *  (bad format). Outputs may be partly written on error. */
ACTR_EXTERN ACTR_NODISCARD int actr_msg_unpack(const actr_msg_t *msg, const char *fmt, ...);
/** actr_msg_unpack over raw bytes (e.g. init args). Same format and errors. */
ACTR_EXTERN ACTR_NODISCARD int actr_unpack(const void *data, size_t len, const char *fmt, ...);
/** va_list form of actr_unpack. */
ACTR_EXTERN ACTR_NODISCARD int actr_vunpack(const void *data, size_t len, const char *fmt,
                                             va_list ap);

/** Pack into a caller-provided buffer: writes at most `cap` bytes at `buf` and sets
 *  *len to the bytes needed. Returns 0, ACTR_E2BIG if cap is too small (then *len
 *  says how much is needed), ACTR_EINVAL. Useful for init args. */
ACTR_EXTERN ACTR_NODISCARD int actr_pack(void *buf, size_t cap, size_t *len, const char *fmt,
                                          ...);

/** Check that `len` bytes at `data` are exactly one or more complete, well-formed
 *  msgpack values (bounded nesting depth). Returns 0 or ACTR_EMSGPACK. */
ACTR_EXTERN ACTR_NODISCARD int actr_msgpack_check(const void *data, size_t len);

/* ---- reading the envelope (msg must not be NULL) ---------------------- */
/** The message type. */
ACTR_EXTERN uint32_t actr_msg_type(const actr_msg_t *msg);
/** The sender's ref (ACTR_REF_NONE for messages from timers or the runtime). */
ACTR_EXTERN actr_ref_t actr_msg_from(const actr_msg_t *msg);
/** The payload bytes (borrowed); *len gets their length. NULL when empty. */
ACTR_EXTERN const void *actr_msg_data(const actr_msg_t *msg, size_t *len);
/** The request id of a request, of its reply or of a ACTR_MSG_REQFAIL; 0 otherwise. */
ACTR_EXTERN uint64_t actr_msg_request_id(const actr_msg_t *msg);
/** 1 if the message is a request awaiting actr_reply, else 0. */
ACTR_EXTERN int actr_msg_is_request(const actr_msg_t *msg);
/** 1 if the message is a reply to a request of the receiving actor, else 0. */
ACTR_EXTERN int actr_msg_is_reply(const actr_msg_t *msg);
/** For ACTR_MSG_REQFAIL: the error code (ACTR_ETIMEDOUT, ACTR_ENOACTOR, ...); 0 otherwise. */
ACTR_EXTERN int actr_msg_error(const actr_msg_t *msg);
/** For ACTR_MSG_DOWN: the monitor id and the reason (borrowed, not NUL-terminated,
 *  *reason_len bytes). Any out pointer may be NULL. Returns 0 or ACTR_EINVAL. */
ACTR_EXTERN int actr_msg_down(const actr_msg_t *msg, uint64_t *monitor_id, const char **reason,
                              size_t *reason_len);
/** For ACTR_MSG_EXIT: the reason (borrowed, *reason_len bytes). Returns 0 or ACTR_EINVAL. */
ACTR_EXTERN int actr_msg_exit(const actr_msg_t *msg, const char **reason, size_t *reason_len);

/** Take another reference on a message (e.g. to keep a borrowed one). */
ACTR_EXTERN void actr_msg_ref(const actr_msg_t *msg);
/** Drop a reference; the last one frees the message. NULL is a no-op. Use it for
 *  messages you created and did not send, and for references taken with
 *  actr_msg_ref. Any thread. */
ACTR_EXTERN void actr_msg_free(const actr_msg_t *msg);
/** A new message with the same type and a copy of the payload (unsent, owned
 *  by the caller). Returns 0 and *out, or ACTR_ENOMEM. */
ACTR_EXTERN ACTR_NODISCARD int actr_msg_dup(actr_ctx_t *ctx, const actr_msg_t *msg,
                                             actr_msg_t **out);

#endif

/* control_int.h — what the two halves of the control socket share: the
 * server (control.c: the socket, its threads, the limits, reading request
 * lines and writing reply lines, and the client side) and the commands
 * (control_cmds.c: one request line in, one reply line out).
 *
 * Both functions run on a connection's worker thread and return a reply
 * line allocated with malloc, without its newline, or NULL when out of
 * memory; the server frees it once written.
 */
#ifndef ACTR_CONTROL_INT_H
#define ACTR_CONTROL_INT_H

#include <stdatomic.h>

#include "actr.h"

/* A call waits for its reply in slices of this many ms and checks the
 * connection's stop flag between them. */
#define ACTR__CTL_SLICE_MS 50

/* The reply {"ok":false,"error":ENAME(code),"message":<fmt...>}. */
char *actr__ctl_error(int code, const char *fmt, ...) ACTR_PRINTF(2, 3);

/* Answer one request line (NUL-terminated, no newline) for the node `rt`.
 * *client is the connection's client context, opened here on first use
 * (the server closes it when the connection ends); `stopping` becomes true
 * when the socket is closing, which ends a call's wait early. */
char *actr__ctl_handle(actr_t *rt, const atomic_bool *stopping, actr_ctx_t **client,
                       const char *line);

#endif

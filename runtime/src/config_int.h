/* config_int.h — internals shared by the two halves of the runtime.yaml
 * parser: config_yaml.c (the libyaml event stream, error messages, ${VAR}
 * substitution, YAML -> msgpack for `args`) and config.c (the declarative
 * field tables, the walker that applies them, and the public API).
 *
 * Everything here works on one actr__conf_parser_t, which lives on the stack
 * of actr_config_parse_buf for one parse; nothing is shared between parses.
 */
#ifndef ACTR_CONFIG_INT_H
#define ACTR_CONFIG_INT_H

#include <stddef.h>
#include <stdint.h>

#include <yaml.h>

#include "actr/config.h"
#include "actr/errno.h"
#include "actr/export.h"

/* Bounds: every size the input controls is capped by one of these. */
#define ACTR__CONF_MAX_INPUT (1024u * 1024u) /* bytes of YAML parsed (and of a file read) */
#define ACTR__CONF_MAX_VALUE (64u * 1024u)   /* one scalar after ${} substitution */
#define ACTR__CONF_MAX_ARGS (256u * 1024u)   /* msgpack of one actor's `args` */
#define ACTR__CONF_MAX_DEPTH 32              /* nesting of containers inside `args` */
#define ACTR__CONF_MAX_VARNAME 255           /* the NAME in ${NAME} */
#define ACTR__CONF_COUNT_MAX 10000           /* an actor entry's `count` */

/** The state of one parse. */
typedef struct actr__conf_parser {
    yaml_parser_t yp;
    yaml_event_t ev; /* the current event, valid when `have` */
    int have;
    int yp_ready;    /* yp was initialised (so must be deleted) */
    const char *buf; /* the input, for positions of reader errors */
    size_t len;
    const char *file;         /* the name used in messages (never NULL) */
    const char *source;       /* the file as given (may be NULL): anchors relative paths */
    actr_getenv_fn getenv_fn; /* never NULL */
    void *ud;
    actr_error_t *err; /* never NULL */
    char path[256];    /* dotted key path of the value being read */
    size_t pathlen;
    char *val; /* expansion buffer of actr__conf_scalar */
    size_t valcap;
} actr__conf_parser_t;

/** Start a parse of `len` bytes at `buf`. Returns 0 or ACTR_ENOMEM (err set). */
int actr__conf_open(actr__conf_parser_t *p, const char *buf, size_t len, const char *file,
                    actr_getenv_fn getenv_fn, void *ud, actr_error_t *err);
/** Release what the parse holds (safe after a failed open). */
void actr__conf_close(actr__conf_parser_t *p);

/** Make the next event current (if none is) and return it in *ev (owned by
 *  the parser, valid until actr__conf_consume). A YAML syntax error gives
 *  ACTR_ECONFIG with "FILE:LINE:COL: YAML syntax error: ..."; an alias event
 *  is refused the same way. */
int actr__conf_peek(actr__conf_parser_t *p, yaml_event_t **ev);
/** Drop the current event. */
void actr__conf_consume(actr__conf_parser_t *p);

/** Report an error at `m` (NULL: no position): fills err with
 *  "FILE:LINE:COL: key 'PATH': MESSAGE" (the key part only when the path is
 *  not empty) and returns ACTR_ECONFIG. */
int actr__conf_fail(actr__conf_parser_t *p, const yaml_mark_t *m, const char *fmt, ...)
    ACTR_PRINTF(3, 4);
/** Report running out of memory; returns ACTR_ENOMEM. */
int actr__conf_nomem(actr__conf_parser_t *p);

/** Append ".key" (or "key" at the top) / "[i]" to the key path. Both return
 *  the previous length, to be given back to actr__conf_path_restore. */
size_t actr__conf_path_key(actr__conf_parser_t *p, const char *key, size_t keylen);
size_t actr__conf_path_index(actr__conf_parser_t *p, size_t i);
void actr__conf_path_restore(actr__conf_parser_t *p, size_t len);

/** The value of a scalar event after ${VAR} / ${VAR:-default} substitution:
 *  *s (NUL-terminated; valid until the next call or the event's consumption)
 *  and *n. Returns 0, ACTR_ECONFIG (unset variable, malformed reference,
 *  result longer than ACTR__CONF_MAX_VALUE) or ACTR_ENOMEM. */
int actr__conf_scalar(actr__conf_parser_t *p, const yaml_event_t *ev, const char **s, size_t *n);

/** 1 if the scalar event is YAML null (plain "", "~", "null", "Null", "NULL"). */
int actr__conf_is_null(const yaml_event_t *ev);

/** Describe an event for "got ..." in messages: "'text'" (quoted, escaped,
 *  shortened), "nothing", "a mapping", "a list". Writes into dst. */
void actr__conf_describe(const yaml_event_t *ev, char *dst, size_t cap);

/** Copy `n` bytes of `s` into dst for display: control characters and quotes
 *  escaped, cut to fit `cap` (with "..."). */
void actr__conf_printable(char *dst, size_t cap, const char *s, size_t n);

/** Edit distance between two keys (optimal string alignment, ASCII case
 *  folded); large for keys longer than 64 bytes. */
size_t actr__conf_distance(const char *a, size_t alen, const char *b, size_t blen);

/** Read one whole YAML value (a scalar, list or mapping, starting at the
 *  current event) as msgpack: *out (malloc'd, free()) and *len. Returns 0,
 *  ACTR_ECONFIG (too deep, too big, bad scalar, duplicate map key, ...) or
 *  ACTR_ENOMEM; nothing is allocated on error. */
int actr__conf_args(actr__conf_parser_t *p, void **out, size_t *len);

/** Check that actor names are unique across the whole config (config_names.c).
 *  Returns 0, ACTR_ECONFIG (naming the later of the first clash) or ACTR_ENOMEM. */
int actr__conf_check_names(actr__conf_parser_t *p, const actr_config_t *c);

#endif

/* store_int.h — what the three files of the state store share: the SQLite
 * side (store_db.c: open checks, schema migrations, prepared statements,
 * backup), the message formats (store_codec.c) and the public API with the
 * store thread (store.c).
 *
 * Every actr__sdb_* function except actr__sdb_open runs on the store thread,
 * the only thread that touches the connection once the store is open.
 */
#ifndef ACTR_STORE_INT_H
#define ACTR_STORE_INT_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "actr/errno.h"

/* Message types, in the range reserved for the runtime's built-in actors. */
#define ACTR__ST_PUT 0xFFFE0101u
#define ACTR__ST_GET 0xFFFE0102u
#define ACTR__ST_DEL 0xFFFE0103u
#define ACTR__ST_SCAN 0xFFFE0104u
#define ACTR__ST_REPLY 0xFFFE0110u
#define ACTR__ST_CTL 0xFFFE01FFu /* control: no payload, no sender (store.c) */

/* ---- store_codec.c: message formats ------------------------------------------ */

/* A request, unpacked (pointers into the message). */
typedef struct actr__sreq {
    uint32_t op; /* ACTR__ST_PUT ... ACTR__ST_SCAN */
    const char *ns; /* not NUL-terminated */
    uint32_t nslen;
    const uint8_t *key, *val;
    uint32_t klen, vlen;
    uint32_t limit; /* scan */
} actr__sreq_t;

/* Bytes of the packed request; pack it (sizes already checked). */
size_t actr__sreq_size(const actr__sreq_t *q);
void actr__sreq_write(uint8_t *p, const actr__sreq_t *q);
/* Unpack and check a request of type `op`. Returns 0, ACTR_EINVAL (not a
 * store operation, or sizes out of range) or ACTR_EMSGPACK (malformed). */
int actr__sreq_read(uint32_t op, const uint8_t *d, size_t len, actr__sreq_t *q);

/* Largest size of a reply with a why of `whylen` chars and maybe a value;
 * write one (why is used only when code != 0) and return its real size. */
size_t actr__srep_size(size_t whylen, int found, size_t vlen);
size_t actr__srep_write(uint8_t *p, int code, const char *why, int found, const void *val,
                        size_t vlen);
/* A scan reply: an 8-byte head for `nitems` bins (2 per entry), then the bins. */
#define ACTR__SREP_SCAN_HDR 8
void actr__srep_scan_hdr(uint8_t *b, uint32_t nitems);
size_t actr__sbin_size(size_t n);
uint8_t *actr__sbin_write(uint8_t *p, const void *s, size_t n);

/* ---- store_db.c: SQLite ------------------------------------------------------------- */

/* The schema version this build writes (PRAGMA user_version). */
#define ACTR__STORE_SCHEMA 1

typedef struct actr__sdb {
    sqlite3 *db;
    char *path; /* owned */
    sqlite3_stmt *put, *get, *del, *scan_range, *scan_from, *scan_cur;
    sqlite3_stmt *begin, *commit, *rollback;
} actr__sdb_t;

/* Open (creating if missing) the database at `path`: WAL, `full` ? FULL :
 * NORMAL synchronous, schema checked and migrated, writability proven by a
 * real write, statements prepared. Returns 0, or ACTR_ESTORE / ACTR_ENOMEM
 * with *err naming the file and the reason; on error nothing stays open. */
int actr__sdb_open(actr__sdb_t *d, const char *path, int full, actr_error_t *err);
/* Finalize the statements and close the connection. Safe on a zeroed struct. */
void actr__sdb_close(actr__sdb_t *d);

/* Transactions: SQLite result codes (SQLITE_OK or an error). */
int actr__sdb_begin(actr__sdb_t *d);
int actr__sdb_commit(actr__sdb_t *d);
/* 1 while a transaction is open (SQLite ends one by itself after some errors). */
int actr__sdb_in_txn(actr__sdb_t *d);
/* Roll back if a transaction is open (SQLite may have done it already). */
void actr__sdb_rollback(actr__sdb_t *d);

/* Single operations: SQLITE_DONE on success or an error code. */
int actr__sdb_put(actr__sdb_t *d, const char *ns, size_t nslen, const void *key, size_t klen,
                  const void *val, size_t vlen);
int actr__sdb_del(actr__sdb_t *d, const char *ns, size_t nslen, const void *key, size_t klen);
/* SQLITE_ROW with (*val, *vlen) valid until actr__sdb_reset(d, d->get),
 * SQLITE_DONE when absent, or an error. */
int actr__sdb_get(actr__sdb_t *d, const char *ns, size_t nslen, const void *key, size_t klen,
                  const void **val, size_t *vlen);
/* Start a prefix scan (limit 0 = all); then actr__sdb_scan_step until it
 * returns SQLITE_DONE or an error, then actr__sdb_reset(d, d->scan_cur). */
int actr__sdb_scan(actr__sdb_t *d, const char *ns, size_t nslen, const void *prefix,
                   size_t plen, uint32_t limit);
int actr__sdb_scan_step(actr__sdb_t *d, const void **key, size_t *klen, const void **val,
                        size_t *vlen);
void actr__sdb_reset(actr__sdb_t *d, sqlite3_stmt *st);

/* "<path>: <what SQLite says>" for a failed operation into buf. */
void actr__sdb_why(actr__sdb_t *d, int rc, char *buf, size_t cap);

/* Online backup into `file`. Between chunks of pages it calls
 * between(ud) so that the caller can serve writes meanwhile (writes of this
 * connection are carried into the copy by SQLite). Returns 0 or ACTR_ESTORE
 * with *err naming the file and the reason. */
int actr__sdb_backup(actr__sdb_t *d, const char *file, void (*between)(void *ud), void *ud,
                     actr_error_t *err);

#endif

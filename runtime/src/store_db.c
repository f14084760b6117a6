/* store_db.c — the SQLite side of the state store: opening the file with the
 * checks that turn every bad file into one clear error at start, the schema
 * and its migrations, the prepared statements the store thread runs, and the
 * online backup.
 *
 * Invariants:
 * - The connection is opened here on the thread that calls actr_store_open
 *   and from then on used only by the store thread (SQLITE_OPEN_NOMUTEX: the
 *   store thread is the connection's one user, so SQLite's own per-call
 *   mutex would be pure cost).
 * - locking_mode=EXCLUSIVE is set before the first access: the connection
 *   keeps the file's lock from its first write to its close, so a second node
 *   (another process, or another runtime of this one) on the same file is
 *   refused at open instead of interleaving writes, and WAL runs without a
 *   shared-memory index.
 * - Open ends with a real write (a row of actr_meta), so a read-only file or
 *   directory, a full disk or a lock held elsewhere fails at start.
 * - Schema: PRAGMA user_version is the version of this file's schema;
 *   migrations[v] takes a file from version v to v + 1 inside one
 *   transaction. A version above ACTR__STORE_SCHEMA is refused untouched.
 *   application_id marks the file as a store, so that a database of another
 *   program is refused rather than written into.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "actr/store.h"
#include "store_int.h"

#define APP_ID 0x61637472 /* "actr" */
#define PAGE_SIZE_STR "16384"
/* checkpoint once the WAL holds this many pages (32 MiB at 16 KiB pages):
 * a page written by many batches reaches the database file once */
#define CHECKPOINT_PAGES_STR "2000"
#define BUSY_MS 200       /* how long open waits for a lock held elsewhere */

/* migrations[v]: from schema version v to v + 1 */
static const char *const migrations[ACTR__STORE_SCHEMA] = {
    /* 0 -> 1: keyed values per namespace, clustered on (ns, key) so a prefix
     * scan is one range of the primary key; a small table of facts about the
     * file itself. */
    "CREATE TABLE actr_state(ns TEXT NOT NULL, key BLOB NOT NULL, value BLOB NOT NULL,"
    " PRIMARY KEY(ns, key)) WITHOUT ROWID;"
    "CREATE TABLE actr_meta(k TEXT PRIMARY KEY NOT NULL, v) WITHOUT ROWID;",
};

/* ---- errors ------------------------------------------------------------------ */

static int db_fail(actr_error_t *err, const char *path, sqlite3 *db, int rc, const char *what)
{
    const char *msg = db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    int sys = db != NULL ? sqlite3_system_errno(db) : 0;
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return actr__fail(err, ACTR_ESTORE, "%s: database is locked by another process", path);
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
        return actr__fail(err, ACTR_ESTORE, "%s: not a database or corrupt (SQLite: %s)", path,
                          msg);
    case SQLITE_FULL:
        return actr__fail(err, ACTR_ESTORE, "%s: %s: database or disk is full", path, what);
    case SQLITE_NOMEM:
        return actr__fail(err, ACTR_ENOMEM, "%s: out of memory", path);
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_IOERR:
        if (sys != 0)
            return actr__fail(err, ACTR_ESTORE, "%s: %s: %s (SQLite: %s)", path, what,
                              strerror(sys), msg);
        /* fallthrough */
    default:
        return actr__fail(err, ACTR_ESTORE, "%s: %s (SQLite: %s)", path, what, msg);
    }
}

void actr__sdb_why(actr__sdb_t *d, int rc, char *buf, size_t cap)
{
    const char *msg = sqlite3_errmsg(d->db);
    /* the connection's message may belong to a later call (a rollback):
     * fall back to the code's own text when they disagree */
    if ((sqlite3_errcode(d->db) & 0xff) != (rc & 0xff))
        msg = sqlite3_errstr(rc);
    snprintf(buf, cap, "%s: %s", d->path, msg);
}

/* ---- helpers ---------------------------------------------------------------------- */

static int exec(sqlite3 *db, const char *sql) { return sqlite3_exec(db, sql, NULL, NULL, NULL); }

/* One integer from a one-row query, or a SQLite error. */
static int query_int(sqlite3 *db, const char *sql, int64_t *out)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            *out = sqlite3_column_int64(st, 0);
            rc = SQLITE_OK;
        } else if (rc == SQLITE_DONE) {
            *out = 0;
            rc = SQLITE_OK;
        }
    }
    sqlite3_finalize(st);
    return rc;
}

static int prepare(sqlite3 *db, const char *sql, sqlite3_stmt **out)
{
    return sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, out, NULL);
}

/* Bring the schema to ACTR__STORE_SCHEMA. */
static int migrate(actr__sdb_t *d, actr_error_t *err)
{
    sqlite3 *db = d->db;
    int64_t ver = 0, app = 0, tables = 0;
    int rc = query_int(db, "PRAGMA user_version", &ver);
    if (rc == SQLITE_OK)
        rc = query_int(db, "PRAGMA application_id", &app);
    if (rc == SQLITE_OK)
        rc = query_int(db, "SELECT count(*) FROM sqlite_master", &tables);
    if (rc != SQLITE_OK)
        return db_fail(err, d->path, db, rc, "cannot read the schema");
    if (ver > ACTR__STORE_SCHEMA)
        return actr__fail(err, ACTR_ESTORE,
                          "%s: store schema version %lld is newer than this build supports (%d)",
                          d->path, (long long)ver, ACTR__STORE_SCHEMA);
    if (ver < 0)
        return actr__fail(err, ACTR_ESTORE, "%s: bad store schema version %lld", d->path,
                          (long long)ver);
    if (app != APP_ID && (ver > 0 || tables > 0 || app != 0))
        return actr__fail(err, ACTR_ESTORE,
                          "%s: an SQLite database of another program, not an actr store "
                          "(application_id %lld, %lld tables)",
                          d->path, (long long)app, (long long)tables);
    if (ver == ACTR__STORE_SCHEMA)
        return 0;
    rc = exec(db, "BEGIN IMMEDIATE");
    for (int64_t v = ver; rc == SQLITE_OK && v < ACTR__STORE_SCHEMA; v++)
        rc = exec(db, migrations[v]);
    if (rc == SQLITE_OK) {
        char sql[96];
        snprintf(sql, sizeof(sql), "PRAGMA user_version=%d; PRAGMA application_id=%d",
                 ACTR__STORE_SCHEMA, APP_ID);
        rc = exec(db, sql);
    }
    if (rc == SQLITE_OK)
        rc = exec(db, "COMMIT");
    if (rc != SQLITE_OK) {
        int keep = rc;
        char what[64];
        snprintf(what, sizeof(what), "cannot migrate the schema from version %lld",
                 (long long)ver);
        db_fail(err, d->path, db, keep, what);
        if (!sqlite3_get_autocommit(db))
            exec(db, "ROLLBACK");
        return err != NULL ? err->code : ACTR_ESTORE;
    }
    return 0;
}

/* Prove the file can be written now: a read-only file or directory, a full
 * disk or a lock held elsewhere fails here rather than at the first put. */
static int write_check(actr__sdb_t *d, actr_error_t *err)
{
    sqlite3 *db = d->db;
    if (sqlite3_db_readonly(db, "main") == 1)
        return actr__fail(err, ACTR_ESTORE, "%s: cannot write: the file is read-only", d->path);
    char sql[128];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(sql, sizeof(sql),
             "BEGIN IMMEDIATE; INSERT OR REPLACE INTO actr_meta(k, v) VALUES('opened', %lld); "
             "COMMIT",
             (long long)ts.tv_sec);
    int rc = exec(db, sql);
    if (rc != SQLITE_OK) {
        db_fail(err, d->path, db, rc, "cannot write");
        if (!sqlite3_get_autocommit(db))
            exec(db, "ROLLBACK");
        return err != NULL ? err->code : ACTR_ESTORE;
    }
    return 0;
}

/* Permissions first, with the OS's reason: SQLite, refused a read-write
 * open, quietly falls back to read-only and then reports something vaguer. */
static int access_check(const char *path, actr_error_t *err)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == NULL)
        snprintf(dir, sizeof(dir), ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    struct stat sb;
    if (stat(path, &sb) == 0) {
        if (S_ISDIR(sb.st_mode))
            return actr__fail(err, ACTR_ESTORE, "%s: cannot open: it is a directory", path);
        if (access(path, R_OK | W_OK) != 0)
            return actr__fail(err, ACTR_ESTORE, "%s: cannot write: %s", path, strerror(errno));
        /* the write-ahead log lives beside the file */
        if (access(dir, W_OK | X_OK) != 0)
            return actr__fail(err, ACTR_ESTORE,
                              "%s: cannot write: directory %s: %s (the write-ahead log is "
                              "created there)",
                              path, dir, strerror(errno));
        return 0;
    }
    if (errno != ENOENT)
        return actr__fail(err, ACTR_ESTORE, "%s: cannot open: %s", path, strerror(errno));
    if (access(dir, W_OK | X_OK) != 0)
        return actr__fail(err, ACTR_ESTORE, "%s: cannot create: directory %s: %s", path, dir,
                          strerror(errno));
    return 0;
}

/* SQLite keeps global memory statistics under a global mutex on every
 * allocation unless told not to before it initialises; SQLite's own advice
 * for speed is to turn them off. Done once, and only if this runtime is the
 * first user of SQLite in the process (afterwards the call is refused and
 * the host's setting stays). */
static pthread_once_t memstatus_once = PTHREAD_ONCE_INIT;

static void memstatus_off(void)
{
    /* SQLITE_MISUSE when SQLite is already initialised: nothing changes */
    (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

int actr__sdb_open(actr__sdb_t *d, const char *path, int full, actr_error_t *err)
{
    pthread_once(&memstatus_once, memstatus_off);
    memset(d, 0, sizeof(*d));
    if (access_check(path, err) != 0)
        return ACTR_ESTORE;
    d->path = actr__strdup(path);
    if (d->path == NULL)
        return actr__fail(err, ACTR_ENOMEM, "%s: out of memory", path);
    int rc = sqlite3_open_v2(path, &d->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                             NULL);
    if (rc != SQLITE_OK) {
        db_fail(err, path, d->db, rc, "cannot open");
        goto fail;
    }
    sqlite3_extended_result_codes(d->db, 1);
    sqlite3_busy_timeout(d->db, BUSY_MS);
    /* a new file gets 16 KiB pages (an existing one keeps its own): a
     * shallower tree and fewer splits for batches of small rows */
    (void)exec(d->db, "PRAGMA page_size=" PAGE_SIZE_STR);
    /* exclusive before the first access: see the invariants above */
    rc = exec(d->db, "PRAGMA locking_mode=EXCLUSIVE");
    if (rc != SQLITE_OK) {
        db_fail(err, path, d->db, rc, "cannot set the locking mode");
        goto fail;
    }
    /* the first read of the file: a non-database or a lock shows up here */
    int64_t n;
    rc = query_int(d->db, "SELECT count(*) FROM sqlite_master", &n);
    if (rc != SQLITE_OK) {
        db_fail(err, path, d->db, rc, "cannot read");
        goto fail;
    }
    sqlite3_stmt *jm = NULL;
    rc = sqlite3_prepare_v2(d->db, "PRAGMA journal_mode=WAL", -1, &jm, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(jm);
        if (rc == SQLITE_ROW) {
            const unsigned char *mode = sqlite3_column_text(jm, 0);
            rc = mode != NULL && strcmp((const char *)mode, "wal") == 0 ? SQLITE_OK
                                                                         : SQLITE_CANTOPEN;
        }
    }
    sqlite3_finalize(jm);
    if (rc != SQLITE_OK) {
        db_fail(err, path, d->db, rc, "cannot switch to WAL mode");
        goto fail;
    }
    rc = exec(d->db, full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
    if (rc == SQLITE_OK)
        rc = exec(d->db, "PRAGMA temp_store=MEMORY; PRAGMA cache_size=-16384;"
                         " PRAGMA wal_autocheckpoint=" CHECKPOINT_PAGES_STR);
    if (rc != SQLITE_OK) {
        db_fail(err, path, d->db, rc, "cannot configure");
        goto fail;
    }
    if (migrate(d, err) != 0 || write_check(d, err) != 0)
        goto fail;
    rc = prepare(d->db, "INSERT OR REPLACE INTO actr_state(ns, key, value) VALUES(?1, ?2, ?3)",
                 &d->put);
    if (rc == SQLITE_OK)
        rc = prepare(d->db, "SELECT value FROM actr_state WHERE ns = ?1 AND key = ?2", &d->get);
    if (rc == SQLITE_OK)
        rc = prepare(d->db, "DELETE FROM actr_state WHERE ns = ?1 AND key = ?2", &d->del);
    if (rc == SQLITE_OK)
        rc = prepare(d->db,
                     "SELECT key, value FROM actr_state WHERE ns = ?1 AND key >= ?2 AND key < ?3"
                     " ORDER BY key LIMIT ?4",
                     &d->scan_range);
    if (rc == SQLITE_OK)
        rc = prepare(d->db,
                     "SELECT key, value FROM actr_state WHERE ns = ?1 AND key >= ?2"
                     " ORDER BY key LIMIT ?3",
                     &d->scan_from);
    if (rc == SQLITE_OK)
        rc = prepare(d->db, "BEGIN", &d->begin);
    if (rc == SQLITE_OK)
        rc = prepare(d->db, "COMMIT", &d->commit);
    if (rc == SQLITE_OK)
        rc = prepare(d->db, "ROLLBACK", &d->rollback);
    if (rc != SQLITE_OK) {
        db_fail(err, path, d->db, rc, "cannot prepare statements");
        goto fail;
    }
    return 0;
fail:
    actr__sdb_close(d);
    return err != NULL && err->code != 0 ? err->code : ACTR_ESTORE;
}

void actr__sdb_close(actr__sdb_t *d)
{
    sqlite3_stmt **all[] = {&d->put,    &d->get,    &d->del,     &d->scan_range,
                            &d->scan_from, &d->begin, &d->commit, &d->rollback};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        sqlite3_finalize(*all[i]);
        *all[i] = NULL;
    }
    d->scan_cur = NULL;
    if (d->db != NULL)
        sqlite3_close(d->db);
    d->db = NULL;
    free(d->path);
    d->path = NULL;
}

/* ---- operations (store thread) ---------------------------------------------------- */

static int step_once(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? SQLITE_DONE : rc;
}

int actr__sdb_begin(actr__sdb_t *d)
{
    int rc = step_once(d->begin);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

int actr__sdb_commit(actr__sdb_t *d)
{
    int rc = step_once(d->commit);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

int actr__sdb_in_txn(actr__sdb_t *d) { return !sqlite3_get_autocommit(d->db); }

void actr__sdb_rollback(actr__sdb_t *d)
{
    if (!sqlite3_get_autocommit(d->db))
        (void)step_once(d->rollback);
}

/* A zero-length blob must be bound with a non-NULL pointer, or it binds NULL. */
static const char empty[1] = "";

static void bind_key(sqlite3_stmt *st, const char *ns, size_t nslen, const void *key,
                     size_t klen)
{
    sqlite3_bind_text(st, 1, ns, (int)nslen, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, klen ? key : empty, (int)klen, SQLITE_STATIC);
}

int actr__sdb_put(actr__sdb_t *d, const char *ns, size_t nslen, const void *key, size_t klen,
                  const void *val, size_t vlen)
{
    bind_key(d->put, ns, nslen, key, klen);
    sqlite3_bind_blob(d->put, 3, vlen ? val : empty, (int)vlen, SQLITE_STATIC);
    return step_once(d->put);
}

int actr__sdb_del(actr__sdb_t *d, const char *ns, size_t nslen, const void *key, size_t klen)
{
    bind_key(d->del, ns, nslen, key, klen);
    return step_once(d->del);
}

int actr__sdb_get(actr__sdb_t *d, const char *ns, size_t nslen, const void *key, size_t klen,
                  const void **val, size_t *vlen)
{
    bind_key(d->get, ns, nslen, key, klen);
    int rc = sqlite3_step(d->get);
    if (rc == SQLITE_ROW) {
        *val = sqlite3_column_blob(d->get, 0);
        *vlen = (size_t)sqlite3_column_bytes(d->get, 0);
        if (*val == NULL)
            *val = empty;
        return rc;
    }
    sqlite3_reset(d->get);
    return rc;
}

void actr__sdb_reset(actr__sdb_t *d, sqlite3_stmt *st)
{
    (void)d;
    if (st != NULL) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
}

int actr__sdb_scan(actr__sdb_t *d, const char *ns, size_t nslen, const void *prefix,
                   size_t plen, uint32_t limit)
{
    /* keys with the prefix are [prefix, successor) where the successor is the
     * prefix with trailing 0xff bytes dropped and its last byte incremented;
     * an all-0xff (or empty) prefix has no successor: no upper bound */
    const unsigned char *p = prefix;
    size_t hl = plen;
    while (hl > 0 && p[hl - 1] == 0xff)
        hl--;
    sqlite3_stmt *st = hl > 0 ? d->scan_range : d->scan_from;
    bind_key(st, ns, nslen, prefix, plen);
    int lim_ix = 3;
    if (hl > 0) {
        /* SQLITE_TRANSIENT: SQLite copies the bound, so a stack buffer is fine */
        unsigned char succ[ACTR_STORE_MAX_KEY];
        memcpy(succ, p, hl);
        succ[hl - 1]++;
        sqlite3_bind_blob(st, 3, succ, (int)hl, SQLITE_TRANSIENT);
        lim_ix = 4;
    }
    sqlite3_bind_int64(st, lim_ix, limit ? (sqlite3_int64)limit : -1);
    d->scan_cur = st;
    return SQLITE_OK;
}

int actr__sdb_scan_step(actr__sdb_t *d, const void **key, size_t *klen, const void **val,
                        size_t *vlen)
{
    sqlite3_stmt *st = d->scan_cur;
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW)
        return rc;
    *key = sqlite3_column_blob(st, 0);
    *klen = (size_t)sqlite3_column_bytes(st, 0);
    *val = sqlite3_column_blob(st, 1);
    *vlen = (size_t)sqlite3_column_bytes(st, 1);
    if (*key == NULL)
        *key = empty;
    if (*val == NULL)
        *val = empty;
    return rc;
}

/* ---- backup ------------------------------------------------------------------------- */

#define BACKUP_PAGES 256 /* pages copied between two rounds of serving requests */

int actr__sdb_backup(actr__sdb_t *d, const char *file, void (*between)(void *ud), void *ud,
                     actr_error_t *err)
{
    sqlite3 *dst = NULL;
    int rc = sqlite3_open_v2(file, &dst,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                             NULL);
    if (rc != SQLITE_OK) {
        db_fail(err, file, dst, rc, "backup: cannot open");
        sqlite3_close(dst);
        return ACTR_ESTORE;
    }
    sqlite3_extended_result_codes(dst, 1);
    sqlite3_backup *b = sqlite3_backup_init(dst, "main", d->db, "main");
    if (b == NULL) {
        db_fail(err, file, dst, sqlite3_errcode(dst), "backup: cannot start");
        sqlite3_close(dst);
        return ACTR_ESTORE;
    }
    do {
        rc = sqlite3_backup_step(b, BACKUP_PAGES);
        if ((rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED) && between != NULL)
            between(ud);
    } while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
    int frc = sqlite3_backup_finish(b);
    if (rc == SQLITE_DONE)
        rc = frc;
    if (rc == SQLITE_DONE || rc == SQLITE_OK) {
        rc = sqlite3_close(dst);
        if (rc != SQLITE_OK) {
            db_fail(err, file, NULL, rc, "backup: cannot close");
            return ACTR_ESTORE;
        }
        return 0;
    }
    /* the destination's message says why (a full disk, a non-database file) */
    db_fail(err, file, dst, rc, "backup failed");
    sqlite3_close(dst);
    return ACTR_ESTORE;
}

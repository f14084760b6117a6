/* tests/bench/durable_bound.c — the bound `durable_put` is measured against:
 * SQLite alone, in a plain C loop, with no runtime, no messages and no
 * threads.
 *
 *   bench_durable_bound [--quick] [--batch=N] [--keyed=0|1] [rows]
 *
 * Default 1,000,000 rows of 100-byte values, in transactions of 1,000 rows,
 * WAL, synchronous=NORMAL, one connection (no SQLite mutex), in a fresh
 * temporary directory. By default (--keyed=0) the rows go into a plain rowid
 * table: the cheapest insert SQLite has, and the bound issue 5 names. With
 * --keyed=1 they go into the table shape the store itself uses (namespace,
 * key, value; clustered on (namespace, key)) with INSERT OR REPLACE, keys
 * spread over 16 namespaces as durable_put's writers spread them: the same
 * SQLite work the store does per write, so durable_put against that figure
 * is the store's own overhead (messages, acknowledgements, threads), and the
 * two bounds apart are the price of keeping values addressable by key.
 *
 * The check: the row count read back equals the rows written.
 *
 *   bench=durable_bound rows_per_s=... elapsed_s=... rows=N batch=B keyed=K sync=normal impl=sqlite
 */
#include "bench.h"

#include <sqlite3.h>
#include <stdio.h>
#include <unistd.h>

#define NS_COUNT 16

static void sql_check(sqlite3 *db, int rc, const char *what)
{
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
        bench_fail("%s: %s", what, sqlite3_errmsg(db));
}

static void exec(sqlite3 *db, const char *sql)
{
    sql_check(db, sqlite3_exec(db, sql, NULL, NULL, NULL), sql);
}

int main(int argc, char **argv)
{
    bench_set_name("durable_bound");
    bench_arg_t args[] = {
        {"rows", 1, 1000000, 20000, 1, 100000000, "rows to insert", 0, 0},
        {"batch", 0, 1000, 1000, 1, 1000000, "rows per transaction", 0, 0},
        {"keyed", 0, 0, 0, 0, 1, "1: the store's table shape; 0: a plain rowid table", 0, 0},
    };
    bench_parse_args(argc, argv, args, sizeof(args) / sizeof(args[0]));
    uint64_t rows = args[0].value, batch = args[1].value;
    int keyed = (int)args[2].value;

    char dir[] = "/tmp/actr-bound-XXXXXX", path[64], wal[80], shm[80];
    if (mkdtemp(dir) == NULL)
        bench_fail("mkdtemp: %s", strerror(errno));
    snprintf(path, sizeof(path), "%s/bound.db", dir);
    snprintf(wal, sizeof(wal), "%s-wal", path);
    snprintf(shm, sizeof(shm), "%s-shm", path);

    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                             NULL);
    if (rc != SQLITE_OK)
        bench_fail("open %s: %s", path, sqlite3_errstr(rc));
    exec(db, "PRAGMA locking_mode=EXCLUSIVE");
    exec(db, "PRAGMA journal_mode=WAL");
    exec(db, "PRAGMA synchronous=NORMAL");
    exec(db, "PRAGMA temp_store=MEMORY; PRAGMA cache_size=-16384");
    if (keyed)
        exec(db, "CREATE TABLE t(ns TEXT NOT NULL, key BLOB NOT NULL, value BLOB NOT NULL,"
                 " PRIMARY KEY(ns, key)) WITHOUT ROWID");
    else
        exec(db, "CREATE TABLE t(value BLOB NOT NULL)");
    sqlite3_stmt *ins = NULL;
    rc = sqlite3_prepare_v2(db,
                            keyed ? "INSERT OR REPLACE INTO t(ns, key, value) VALUES(?1, ?2, ?3)"
                                  : "INSERT INTO t(value) VALUES(?3)",
                            -1, &ins, NULL);
    sql_check(db, rc, "prepare");

    unsigned char val[100];
    memset(val, 'v', sizeof(val));
    char ns[NS_COUNT][16];
    uint64_t seq[NS_COUNT] = {0};
    for (int i = 0; i < NS_COUNT; i++)
        snprintf(ns[i], sizeof(ns[i]), "bench:%d", i);

    uint64_t t0 = bench_now_ns();
    for (uint64_t done = 0; done < rows;) {
        exec(db, "BEGIN");
        uint64_t n = rows - done < batch ? rows - done : batch;
        for (uint64_t i = 0; i < n; i++) {
            uint64_t r = done + i;
            memcpy(val, &r, sizeof(r));
            if (keyed) {
                int w = (int)(r % NS_COUNT);
                unsigned char key[8];
                uint64_t s = seq[w]++;
                for (int b = 0; b < 8; b++)
                    key[b] = (unsigned char)(s >> (56 - 8 * b));
                sqlite3_bind_text(ins, 1, ns[w], -1, SQLITE_STATIC);
                sqlite3_bind_blob(ins, 2, key, sizeof(key), SQLITE_STATIC);
            }
            sqlite3_bind_blob(ins, 3, val, sizeof(val), SQLITE_STATIC);
            rc = sqlite3_step(ins);
            if (rc != SQLITE_DONE)
                bench_fail("insert: %s", sqlite3_errmsg(db));
            sqlite3_reset(ins);
        }
        exec(db, "COMMIT");
        done += n;
    }
    uint64_t t1 = bench_now_ns();

    sqlite3_stmt *cnt = NULL;
    sql_check(db, sqlite3_prepare_v2(db, "SELECT count(*) FROM t", -1, &cnt, NULL), "count");
    sql_check(db, sqlite3_step(cnt), "count");
    uint64_t got = (uint64_t)sqlite3_column_int64(cnt, 0);
    sqlite3_finalize(cnt);
    sqlite3_finalize(ins);
    sqlite3_close(db);
    unlink(wal);
    unlink(shm);
    unlink(path);
    rmdir(dir);
    if (got != rows)
        bench_fail("%llu rows read back, %llu written", (unsigned long long)got,
                   (unsigned long long)rows);
    double secs = bench_secs(t0, t1);
    printf("bench=durable_bound rows_per_s=%.0f elapsed_s=%.3f rows=%llu batch=%llu keyed=%d "
           "sync=normal impl=sqlite\n",
           bench_rate((double)rows, secs), secs, (unsigned long long)rows,
           (unsigned long long)batch, keyed);
    return 0;
}

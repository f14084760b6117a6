/* tests/unit/test-store-files.c — the state store's file on disk (suite
 * `store_files`; the API and its semantics are suite `store`, shared helpers
 * in store_helpers.h).
 *
 * Covers, through the public API (plus sqlite3 directly to prepare bad
 * files): every refusal at open (a newer schema, a file of random bytes,
 * another program's database, a missing directory, a directory in the
 * file's place, a file locked by another connection or by another node, a
 * read-only directory and a read-only file, tested as an unprivileged user);
 * a full disk (a 256 KiB tmpfs in a private mount namespace): each failing
 * write answered with ACTR_ESTORE naming the error while reads keep working,
 * and writes again once there is room; backup and restore, with writes
 * acknowledged while the backup runs, and refused backups; a node killed
 * with SIGKILL in the middle of a write storm keeps every write it
 * acknowledged.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "actr.h"
#include "store_helpers.h"
#include "task.h"
#include "util.h"

/* ---- refusals at open -------------------------------------------------------------- */

static int open_err(actr_t *rt, const char *path, actr_error_t *err)
{
    actr_store_options_t so;
    actr_store_options_init(&so);
    so.path = path;
    int rc = actr_store_open(rt, &so, err);
    if (rc != 0)
        ASSERT_EQ(actr_store_is_open(rt), 0);
    return rc;
}

static void sql(const char *path, const char *stmt)
{
    sqlite3 *db;
    ASSERT_EQ(sqlite3_open(path, &db), SQLITE_OK);
    char *msg = NULL;
    if (sqlite3_exec(db, stmt, NULL, NULL, &msg) != SQLITE_OK)
        TEST_FAIL_("%s: %s", stmt, msg ? msg : "?");
    sqlite3_close(db);
}

TEST_IMPL(store_files, refused_files)
{
    actr_t *rt;
    actr_ctx_t *cl;
    make_tmpdir();
    rt_open(&rt, &cl, tmpdir, 1);
    actr_error_t err;
    char path[512], want[600];

    /* a store from a newer build */
    path_in(path, sizeof(path), "newer.db");
    store_open(rt, path, 0);
    rt_close(rt, cl);
    sql(path, "PRAGMA user_version=7");
    rt_open(&rt, &cl, tmpdir, 1);
    ASSERT_ERR(open_err(rt, path, &err), ACTR_ESTORE);
    snprintf(want, sizeof(want), "%s: store schema version 7 is newer than this build supports (1)",
             path);
    ASSERT_STR_EQ(err.msg, want);

    /* random bytes */
    path_in(path, sizeof(path), "random.db");
    FILE *f = fopen(path, "wb");
    ASSERT_NOT_NULL(f);
    srand(42);
    for (int i = 0; i < 8192; i++)
        fputc(rand() & 0xff, f);
    fclose(f);
    ASSERT_ERR(open_err(rt, path, &err), ACTR_ESTORE);
    ASSERT_CONTAINS(err.msg, path);
    ASSERT_CONTAINS(err.msg, "not a database or corrupt");

    /* a database of another program */
    path_in(path, sizeof(path), "foreign.db");
    sql(path, "CREATE TABLE t(x); INSERT INTO t VALUES(1)");
    ASSERT_ERR(open_err(rt, path, &err), ACTR_ESTORE);
    ASSERT_CONTAINS(err.msg, "another program");

    /* a path whose directory does not exist */
    path_in(path, sizeof(path), "no/such/dir/x.db");
    ASSERT_ERR(open_err(rt, path, &err), ACTR_ESTORE);
    ASSERT_CONTAINS(err.msg, path);
    ASSERT_CONTAINS(err.msg, "cannot create");

    /* a directory where the file should be */
    path_in(path, sizeof(path), "adir");
    ASSERT_EQ(mkdir(path, 0700), 0);
    ASSERT_ERR(open_err(rt, path, &err), ACTR_ESTORE);
    ASSERT_CONTAINS(err.msg, path);

    /* locked by another connection: refused, then fine once released */
    path_in(path, sizeof(path), "locked.db");
    store_open(rt, path, 0);
    rt_close(rt, cl);
    sqlite3 *db;
    ASSERT_EQ(sqlite3_open(path, &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
    rt_open(&rt, &cl, tmpdir, 1);
    ASSERT_ERR(open_err(rt, path, &err), ACTR_ESTORE);
    snprintf(want, sizeof(want), "%s: database is locked by another process", path);
    ASSERT_STR_EQ(err.msg, want);
    ASSERT_EQ(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    store_open(rt, path, 0);
    /* and while this node has it, another node is refused */
    actr_t *rt2;
    actr_ctx_t *cl2;
    rt_open(&rt2, &cl2, tmpdir, 0);
    ASSERT_ERR(open_err(rt2, path, &err), ACTR_ESTORE);
    ASSERT_STR_EQ(err.msg, want);
    rt_close(rt2, cl2);
    ASSERT_OK(put_s(cl, "x", "k", "v"));
    rt_close(rt, cl);
    actr__rmtree(tmpdir);
}

/* In a child process that is not root (tests run as root, where permission
 * bits do not stop writes): a read-only data directory, then a read-only
 * database file in a writable directory. */
static int child_readonly(const char *rodir, const char *rofile)
{
    if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
        return 10;
    if (access(rodir, W_OK) == 0 || access(rofile, W_OK) == 0)
        return 11; /* the check would prove nothing */
    actr_options_t o;
    actr_options_init(&o);
    o.log_level = ACTR_LOG_OFF;
    o.data_dir = rodir;
    actr_t *rt;
    if (actr_open(&rt, &o) != 0)
        return 12;
    actr_error_t err;
    int rc = actr_store_open(rt, NULL, &err);
    fprintf(stderr, "read-only directory: %s\n", err.msg);
    if (rc != ACTR_ESTORE || strstr(err.msg, rodir) == NULL ||
        strstr(err.msg, "Permission denied") == NULL || actr_store_is_open(rt))
        return 13;
    actr_store_options_t so;
    actr_store_options_init(&so);
    so.path = rofile;
    rc = actr_store_open(rt, &so, &err);
    fprintf(stderr, "read-only file: %s\n", err.msg);
    if (rc != ACTR_ESTORE || strstr(err.msg, rofile) == NULL ||
        strstr(err.msg, "cannot write: Permission denied") == NULL)
        return 14;
    actr_close(rt);
    return 0;
}

TEST_IMPL(store_files, read_only)
{
    make_tmpdir();
    ASSERT_EQ(chmod(tmpdir, 0755), 0);
    char rodir[512], wdir[512], rofile[600];
    path_in(rodir, sizeof(rodir), "ro");
    path_in(wdir, sizeof(wdir), "w");
    ASSERT_EQ(mkdir(rodir, 0555), 0);
    ASSERT_EQ(mkdir(wdir, 0777), 0);
    ASSERT_EQ(chmod(wdir, 0777), 0);
    snprintf(rofile, sizeof(rofile), "%s/store.db", wdir);
    {
        actr_t *rt;
        actr_ctx_t *cl;
        rt_open(&rt, &cl, wdir, 0);
        store_open(rt, rofile, 0);
        ASSERT_OK(put_s(cl, "x", "k", "v"));
        rt_close(rt, cl);
    }
    ASSERT_EQ(chmod(rofile, 0444), 0);
    pid_t pid = fork();
    ASSERT(pid >= 0);
    if (pid == 0)
        _exit(child_readonly(rodir, rofile));
    int status;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT(WIFEXITED(status));
    ASSERT_EQ(WEXITSTATUS(status), 0);
    actr__rmtree(tmpdir);
}

/* ---- full disk ------------------------------------------------------------------- */

TEST_IMPL(store_files, full_disk)
{
    make_tmpdir();
    /* a private mount namespace: the tmpfs disappears with this process,
     * whatever happens to the test */
    if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
        mount("tmpfs", tmpdir, "tmpfs", 0, "size=1m") != 0) {
        fprintf(stderr, "# SKIP full_disk: cannot mount a small tmpfs here (%s)\n",
                strerror(errno));
        actr__rmtree(tmpdir);
        return;
    }
    /* ballast, freed later to show that writes work again once there is room */
    char ballast[600];
    path_in(ballast, sizeof(ballast), "ballast");
    FILE *bf = fopen(ballast, "wb");
    ASSERT_NOT_NULL(bf);
    for (int b = 0; b < 256 * 1024; b++)
        fputc('b', bf);
    ASSERT_EQ(fclose(bf), 0);
    actr_t *rt;
    actr_ctx_t *cl;
    rt_open(&rt, &cl, tmpdir, 1);
    store_open(rt, NULL, 0);
    char val[4000], k[16], buf[4096];
    memset(val, 'x', sizeof(val));
    int i, rc = 0;
    const char *why = NULL;
    actr_msg_t *fail = NULL;
    for (i = 0; i < 1000; i++) {
        snprintf(k, sizeof(k), "k%04d", i);
        uint64_t id;
        ASSERT_OK(actr_store_put(cl, "full", k, strlen(k), val, sizeof(val), &id));
        actr_msg_t *m = wait_for(cl, id);
        rc = actr_store_result(m, &why);
        if (rc != 0) {
            fail = m;
            break;
        }
        actr_msg_free(m);
    }
    ASSERT(i > 5 && i < 1000); /* it filled up after a few writes */
    ASSERT_EQ(rc, ACTR_ESTORE);
    ASSERT_CONTAINS(why, "database or disk is full");
    ASSERT_CONTAINS(why, tmpdir);
    actr_msg_free(fail);
    /* every further write fails the same way; the node keeps serving reads */
    for (int j = 0; j < 5; j++) {
        snprintf(k, sizeof(k), "more%d", j);
        ASSERT_ERR(put(cl, "full", k, strlen(k), val, sizeof(val)), ACTR_ESTORE);
        ASSERT_EQ(get_s(cl, "full", "k0000", buf, sizeof(buf)), 1);
        ASSERT_EQ(strlen(buf), sizeof(val));
    }
    actr_msg_t *m = scan(cl, "full", NULL, 0, 0);
    ASSERT_EQ(scan_count(m), (size_t)i);
    actr_msg_free(m);
    actr_store_stats_t s;
    ASSERT_OK(actr_store_stats(rt, &s));
    ASSERT_GE(s.errors, 6);
    ASSERT_EQ(s.writes, (uint64_t)i);
    /* room again: writes succeed again */
    ASSERT_EQ(unlink(ballast), 0);
    ASSERT_OK(put(cl, "full", "again", 5, val, 1000));
    ASSERT_EQ(get_s(cl, "full", "again", buf, sizeof(buf)), 1);
    rt_close(rt, cl);
    /* a restart on the still nearly full disk may be refused, with a clear
     * error; with room, all of it is there */
    rt_open(&rt, &cl, tmpdir, 1);
    actr_error_t err;
    if (actr_store_open(rt, NULL, &err) != 0) {
        fprintf(stderr, "restart on a full disk: %s\n", err.msg);
        ASSERT_CONTAINS(err.msg, "database or disk is full");
        ASSERT_EQ(mount("tmpfs", tmpdir, "tmpfs", MS_REMOUNT, "size=4m"), 0);
        store_open(rt, NULL, 0);
    }
    m = scan(cl, "full", NULL, 0, 0);
    ASSERT_EQ(scan_count(m), (size_t)i + 1);
    actr_msg_free(m);
    rt_close(rt, cl);
    umount(tmpdir);
    actr__rmtree(tmpdir);
}

/* ---- backup and restore ------------------------------------------------------------- */

typedef struct bg_writer {
    actr_t *rt;
    _Atomic int stop;
    int ok, failed;
} bg_writer_t;

static void *bg_write(void *arg)
{
    bg_writer_t *b = arg;
    actr_ctx_t *c;
    if (actr_client_open(b->rt, &c) != 0)
        return NULL;
    char k[16], v[100];
    memset(v, 'b', sizeof(v));
    for (int i = 0; !atomic_load(&b->stop) && i < 100000; i++) {
        snprintf(k, sizeof(k), "bg%06d", i);
        uint64_t id;
        if (actr_store_put(c, "bg", k, strlen(k), v, sizeof(v), &id) != 0) {
            b->failed++;
            continue;
        }
        actr_msg_t *m = NULL;
        if (actr_client_recv(c, WAIT_MS, &m) != 0 || actr_msg_request_id(m) != id ||
            actr_store_result(m, NULL) != 0)
            b->failed++;
        else
            b->ok++;
        actr_msg_free(m);
    }
    actr_client_close(c);
    return NULL;
}

TEST_IMPL(store_files, backup_restore)
{
    actr_t *rt;
    actr_ctx_t *cl;
    make_tmpdir();
    char dir1[512], dir2[512], bak[600];
    path_in(dir1, sizeof(dir1), "node1");
    path_in(dir2, sizeof(dir2), "node2");
    path_in(bak, sizeof(bak), "backup.db");
    rt_open(&rt, &cl, dir1, 1); /* the data directory is created on demand */
    store_open(rt, NULL, 0);
    char k[16], v[300], buf[400];
    for (int i = 0; i < 3000; i++) {
        snprintf(k, sizeof(k), "k%05d", i);
        memset(v, 'a' + i % 26, sizeof(v) - 1);
        v[sizeof(v) - 1] = '\0';
        uint64_t id;
        ASSERT_OK(actr_store_put(cl, "bk", k, strlen(k), v, strlen(v), &id));
        if (i % 256 == 255 || i == 2999) /* keep a window, not one commit per put */
            for (;;) {
                actr_msg_t *m = NULL;
                ASSERT_OK(actr_client_recv(cl, WAIT_MS, &m));
                ASSERT_OK(actr_store_result(m, NULL));
                uint64_t got = actr_msg_request_id(m);
                actr_msg_free(m);
                if (got == id)
                    break;
            }
    }
    /* writes from another thread go on while the backup runs */
    bg_writer_t bw = {.rt = rt};
    pthread_t th;
    ASSERT_EQ(pthread_create(&th, NULL, bg_write, &bw), 0);
    actr_error_t err;
    int rc = actr_store_backup(rt, bak, &err);
    if (rc != 0)
        TEST_FAIL_("backup: %s", err.msg);
    atomic_store(&bw.stop, 1);
    pthread_join(th, NULL);
    ASSERT_EQ(bw.failed, 0);
    ASSERT_GE(bw.ok, 1);
    /* refused backups */
    char self[600];
    snprintf(self, sizeof(self), "%s/actr.db", dir1);
    ASSERT_ERR(actr_store_backup(rt, self, &err), ACTR_ESTORE);
    ASSERT_CONTAINS(err.msg, "the store itself");
    path_in(buf, sizeof(buf), "no/dir/b.db");
    ASSERT_ERR(actr_store_backup(rt, buf, &err), ACTR_ESTORE);
    ASSERT_CONTAINS(err.msg, buf);
    ASSERT_OK(put_s(cl, "bk", "after", "not in the backup"));
    rt_close(rt, cl);

    /* a node started on the backup sees the data */
    rt_open(&rt, &cl, dir2, 1);
    store_open(rt, bak, 0);
    actr_msg_t *m = scan(cl, "bk", "k", 1, 0);
    ASSERT_EQ(scan_count(m), 3000);
    actr_msg_free(m);
    ASSERT_EQ(get_s(cl, "bk", "k01234", buf, sizeof(buf)), 1);
    ASSERT_EQ(strlen(buf), 299);
    ASSERT_EQ(buf[0], 'a' + 1234 % 26);
    ASSERT_EQ(get_s(cl, "bk", "after", buf, sizeof(buf)), 0);
    ASSERT_OK(put_s(cl, "bk", "restored", "yes")); /* and it is writable */
    rt_close(rt, cl);
    actr__rmtree(tmpdir);
}

/* ---- kill -9 ----------------------------------------------------------------------- */

/* The child: put keys 0, 1, 2, ... with 64 in flight, and write the number of
 * each acknowledged key to `fd` as soon as its ack arrives. Never returns. */
static void child_storm(const char *dir, int fd)
{
    actr_t *rt;
    actr_ctx_t *cl;
    rt_open(&rt, &cl, dir, 1);
    store_open(rt, NULL, 0);
    uint64_t ids[64];
    uint32_t sent = 0, acked = 0;
    char k[16], v[100];
    memset(v, 's', sizeof(v));
    for (;;) {
        while (sent - acked < 64) {
            snprintf(k, sizeof(k), "%08u", sent);
            if (actr_store_put(cl, "storm", k, 8, v, sizeof(v), &ids[sent % 64]) != 0)
                _exit(3);
            sent++;
        }
        actr_msg_t *m = NULL;
        if (actr_client_recv(cl, WAIT_MS, &m) != 0 || actr_store_result(m, NULL) != 0)
            _exit(4);
        uint64_t id = actr_msg_request_id(m);
        actr_msg_free(m);
        /* one requester's requests are answered in order */
        if (ids[acked % 64] != id)
            _exit(5);
        if (write(fd, &acked, sizeof(acked)) != sizeof(acked))
            _exit(6);
        acked++;
    }
}

TEST_IMPL(store_files, kill9_keeps_acknowledged)
{
    make_tmpdir();
    srand((unsigned)time(NULL));
    for (int round = 0; round < 2; round++) {
        int p[2];
        ASSERT_EQ(pipe(p), 0);
        pid_t pid = fork();
        ASSERT(pid >= 0);
        if (pid == 0) {
            close(p[0]);
            child_storm(tmpdir, p[1]);
        }
        close(p[1]);
        /* kill it at a random point after some acknowledgements */
        uint32_t target = 500 + (uint32_t)(rand() % 3000), n = 0, a, max = 0;
        static unsigned char seen[1u << 20];
        memset(seen, 0, sizeof(seen));
        while (n < target && read(p[0], &a, sizeof(a)) == sizeof(a)) {
            ASSERT(a < sizeof(seen));
            seen[a] = 1;
            max = a > max ? a : max;
            n++;
        }
        ASSERT_EQ(n, target);
        ASSERT_EQ(kill(pid, SIGKILL), 0);
        /* acknowledgements written before the kill */
        while (read(p[0], &a, sizeof(a)) == sizeof(a)) {
            ASSERT(a < sizeof(seen));
            seen[a] = 1;
            max = a > max ? a : max;
        }
        close(p[0]);
        int status;
        ASSERT_EQ(waitpid(pid, &status, 0), pid);
        ASSERT(WIFSIGNALED(status));
        /* every acknowledged write is there */
        actr_t *rt;
        actr_ctx_t *cl;
        rt_open(&rt, &cl, tmpdir, 1);
        store_open(rt, NULL, 0);
        char k[16], buf[128];
        size_t checked = 0;
        for (uint32_t i = 0; i <= max; i++) {
            if (!seen[i])
                continue;
            snprintf(k, sizeof(k), "%08u", i);
            ASSERT_EQ(get_s(cl, "storm", k, buf, sizeof(buf)), 1);
            checked++;
        }
        ASSERT_GE(checked, target);
        rt_close(rt, cl);
    }
    actr__rmtree(tmpdir);
}

/* test-store-node.c — the state store through the real `actr` program (suite
 * `store_node`): nodes run as separate processes on configs generated into a
 * temporary folder, and are stopped with SIGTERM or killed with SIGKILL.
 *
 *   kv_survives_restart_and_kill9   kv data across a graceful restart and a
 *                                   kill -9 right after an acknowledged put
 *   write_storm_kill9               N actors writing as fast as acks allow,
 *                                   kill -9 at a random point, three times;
 *                                   every ack (recorded outside the node) is
 *                                   in the database after each restart
 *   refuses_bad_files               corrupt file, uncreatable path, locked
 *                                   file, a second node on the same file,
 *                                   read-only mount: exit 1, one line
 *   full_disk                       data_dir on a 512 KiB tmpfs: failing puts
 *                                   get error replies, the node keeps serving,
 *                                   and writes work again once space is freed
 *   backup_restore_and_stats        `ctl store backup FILE` (relative FILE),
 *                                   a second node on the backup, `store stats`
 *   store_disabled                  store.enabled: false: kv in memory, told
 *
 * Waits poll the child's output or a file with a deadline, never a fixed
 * sleep. Tests that need mount(2) run in a private mount namespace (so the
 * mounts vanish with the test's processes) and print why they skip that part
 * when the kernel refuses.
 */
#define _GNU_SOURCE /* unshare */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "node_harness.h"
#include "task.h"

/* Lines in `text`. */
static int count_lines(const char *text)
{
    int n = 0;
    for (; *text; text++)
        n += *text == '\n';
    return n;
}

/* Complete lines of a file (0 when it does not exist). */
static long file_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    long n = 0;
    int c;
    if (f == NULL)
        return 0;
    while ((c = getc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

/* ---- nodes --------------------------------------------------------------------- */

/* A node in `dir` (data under dir/NAME), with `store` the body of the store:
 * section (flow style, e.g. "{path: X}"; NULL: defaults) and `plugins` the
 * plugins: list. The config is dir/NAME.yaml. n is zeroed, or a node
 * configured before that does not run. */
static void node_config(node_t *n, const char *dir, const char *name, const char *store,
                        const char *plugins)
{
    char yaml[4096];
    snprintf(n->name, sizeof(n->name), "%s", name);
    snprintf(n->dir, sizeof(n->dir), "%s", dir);
    snprintf(n->data, sizeof(n->data), "%s/%s", dir, name);
    snprintf(n->cfg, sizeof(n->cfg), "%s/%s.yaml", dir, name);
    snprintf(n->sock, sizeof(n->sock), "%s/%s.sock", dir, name);
    snprintf(yaml, sizeof(yaml),
             "node: {name: %s, data_dir: %s}\n"
             "scheduler: {workers: 2}\n"
             "control: {socket: %s}\n"
             "%s%s%s"
             "plugins:\n%s",
             name, n->data, n->sock, store ? "store: " : "", store ? store : "", store ? "\n" : "",
             plugins);
    test_write_file(n->cfg, yaml, strlen(yaml));
}

static const char kv_plugin[] = "  - path: " PLUGINS "/kv.so\n"
                                "    actors:\n"
                                "      - {name: kv, type: kv, args: {ns: kv}}\n";

/* `actr run` that must refuse to start: exit 1, no "up" line, and the last
 * stderr line names `file` and contains `why` (NULL: any). */
static void node_refused(node_t *n, const char *file, const char *why)
{
    const char *args[] = {"run", "-c", n->cfg, NULL};
    proc_t p = {0};
    int code = proc_run(&p, args, NULL);
    if (code != 1 || strstr(p.err, " up: ") != NULL)
        TEST_FAIL_("expected exit 1 before the node is up, got %d; stderr:\n%s", code, p.err);
    ASSERT(p.err_len > 0 && p.err[p.err_len - 1] == '\n');
    const char *last = p.err + p.err_len - 1;
    while (last > p.err && last[-1] != '\n')
        last--;
    if (strstr(last, "key 'store.path'") == NULL || strstr(last, file) == NULL ||
        (why != NULL && strstr(last, why) == NULL))
        TEST_FAIL_("the error line does not name store.path, '%s' and '%s':\n%s", file,
                   why ? why : "", p.err);
    /* nothing but that line: no log record of a node that never started */
    if (count_lines(p.err) != 1)
        TEST_FAIL_("expected one line on stderr, got:\n%s", p.err);
    printf("# refused as expected: %s", last);
    proc_free(&p);
}

static void kv_put_ok(node_t *n, const char *key, const char *value_json)
{
    char req[8192];
    snprintf(req, sizeof(req), "{\"op\":\"put\",\"key\":\"%s\",\"value\":%s}", key, value_json);
    json_t *j = node_call(n, "kv", req, 0);
    if (!jok(j))
        TEST_FAIL_("put %s failed: %s", key, json_dumps(j, 0));
    json_decref(j);
}

/* get KEY: the value as compact JSON text (caller frees), or NULL when not found. */
static char *kv_get(node_t *n, const char *key)
{
    char req[512];
    snprintf(req, sizeof(req), "{\"op\":\"get\",\"key\":\"%s\"}", key);
    json_t *j = node_call(n, "kv", req, 0);
    char *out = NULL;
    if (jok(j)) {
        out = json_dumps(json_object_get(j, "value"), JSON_COMPACT | JSON_ENCODE_ANY);
    } else if (strcmp(json_string_value(json_object_get(j, "error")) ?: "", "not_found") != 0) {
        TEST_FAIL_("get %s failed: %s", key, json_dumps(j, 0));
    }
    json_decref(j);
    return out;
}

static void expect_value(node_t *n, const char *key, const char *want)
{
    char *got = kv_get(n, key);
    if (want == NULL ? got != NULL : (got == NULL || strcmp(got, want) != 0))
        TEST_FAIL_("get %s: expected %s, got %s; node stderr:\n%s", key, want ? want : "not_found",
                   got ? got : "not_found", n->p.err);
    free(got);
}

/* ---- (a) kv keeps its data ------------------------------------------------------ */

TEST_IMPL(store_node, kv_survives_restart_and_kill9)
{
    char dir[64];
    node_t n = {0};
    test_tmpdir(dir, sizeof(dir), "actr-store");
    node_config(&n, dir, "a", NULL, kv_plugin);
    node_start(&n);
    ASSERT(proc_saw(&n.p, "state store "));
    kv_put_ok(&n, "k1", "42");
    kv_put_ok(&n, "obj", "{\"a\":[1,2,\"three\"],\"b\":null}");
    kv_put_ok(&n, "gone", "true");
    {
        json_t *j = node_call(&n, "kv", "{\"op\":\"delete\",\"key\":\"gone\"}", 0);
        ASSERT(jok(j) && json_is_true(json_object_get(j, "deleted")));
        json_decref(j);
    }
    kv_put_ok(&n, "k1", "43"); /* the last write wins */
    node_stop(&n, SIGTERM);

    /* a graceful restart reads everything back */
    node_start(&n);
    ASSERT_EVENTUALLY(proc_saw(&n.p, "2 keys read back"), DEADLINE_MS);
    expect_value(&n, "k1", "43");
    expect_value(&n, "obj", "{\"a\":[1,2,\"three\"],\"b\":null}");
    expect_value(&n, "gone", NULL);

    /* kill -9 right after an acknowledged put and an acknowledged delete */
    kv_put_ok(&n, "k2", "\"after\"");
    {
        json_t *j = node_call(&n, "kv", "{\"op\":\"delete\",\"key\":\"obj\"}", 0);
        ASSERT(jok(j));
        json_decref(j);
    }
    node_kill9(&n);
    node_start(&n);
    expect_value(&n, "k2", "\"after\"");
    expect_value(&n, "k1", "43");
    expect_value(&n, "obj", NULL);
    {
        json_t *j = node_call(&n, "kv", "{\"op\":\"keys\"}", 0);
        ASSERT_EQ(json_array_size(json_object_get(j, "keys")), 2);
        json_decref(j);
    }
    /* an oversized value is refused with an error reply and stores nothing */
    {
        node_stop(&n, SIGTERM);
        node_config(&n, dir, "a", "{max_value: 64, synchronous: full}", kv_plugin);
        node_start(&n);
        char big[300];
        memset(big, 'x', sizeof(big));
        big[0] = '"';
        snprintf(big + 200, sizeof(big) - 200, "\"");
        char req[512];
        snprintf(req, sizeof(req), "{\"op\":\"put\",\"key\":\"big\",\"value\":%s}", big);
        json_t *j = node_call(&n, "kv", req, 0);
        ASSERT(!jok(j));
        ASSERT_STR_EQ(json_string_value(json_object_get(j, "error")), "too_large");
        json_decref(j);
        expect_value(&n, "big", NULL);
        expect_value(&n, "k1", "43");
        ASSERT(proc_saw(&n.p, "synchronous=full"));
        kv_put_ok(&n, "k3", "3");
        node_kill9(&n);
        node_start(&n);
        expect_value(&n, "k3", "3");
    }
    node_stop(&n, SIGTERM);
    node_free(&n);
    test_rmtree(dir);
}

/* ---- (b) the write storm ------------------------------------------------------------ */

/* The first number after `label` in the node's output. */
static long number_after(const char *text, const char *label)
{
    const char *s = strstr(text, label);
    if (s == NULL)
        TEST_FAIL_("no '%s' in:\n%s", label, text);
    return strtol(s + strlen(label), NULL, 10);
}

TEST_IMPL(store_node, write_storm_kill9)
{
    char dir[64], acks[128], storm[512], check[512];
    node_t n = {0};
    unsigned seed = (unsigned)(test_now_ms() ^ (uint64_t)getpid());
    printf("# seed %u\n", seed);
    srand(seed);
    test_tmpdir(dir, sizeof(dir), "actr-store");
    snprintf(acks, sizeof(acks), "%s/acks.txt", dir);
    snprintf(storm, sizeof(storm),
             "  - path: " TEST_PLUGINS "/store_storm.so\n"
             "    actors:\n"
             "      - {name: storm, type: store_storm, count: 6, args: {file: %s, window: 16}}\n",
             acks);
    snprintf(check, sizeof(check),
             "  - path: " TEST_PLUGINS "/store_storm.so\n"
             "    actors:\n"
             "      - {name: check, type: store_check, restart: temporary, args: {acks: %s}}\n",
             acks);
    for (int round = 0; round < 3; round++) {
        long before = file_lines(acks), target = 300 + rand() % 4000, after;
        node_config(&n, dir, "storm", NULL, storm);
        node_start(&n);
        /* a random point: after `target` more acknowledgements */
        uint64_t dl = test_now_ms() + DEADLINE_MS;
        while ((after = file_lines(acks)) < before + target) {
            if (test_now_ms() > dl)
                TEST_FAIL_("only %ld of %ld acknowledgements within %d ms; stderr:\n%s",
                           after - before, target, DEADLINE_MS, n.p.err);
            if (waitpid(n.p.pid, NULL, WNOHANG) == n.p.pid)
                TEST_FAIL_("the node died during the storm:\n%s", n.p.err);
            test_nap_ms(1);
        }
        node_kill9(&n);
        after = file_lines(acks);
        printf("# round %d: kill -9 after %ld acknowledgements (asked for %ld)\n", round,
               after - before, target);

        /* restart on the same file: every acknowledged write is there */
        node_config(&n, dir, "storm", NULL, check);
        node_start(&n);
        dl = test_now_ms() + DEADLINE_MS;
        while (!proc_saw(&n.p, "store_check: done: ")) {
            if (test_now_ms() > dl)
                TEST_FAIL_("the check did not finish within %d ms:\n%s", DEADLINE_MS, n.p.err);
            test_nap_ms(2);
        }
        const char *done = strstr(n.p.err, "store_check: done: ");
        long checked = number_after(done, "done: "), missing = number_after(done, "writes, "),
             wrong = number_after(done, "missing, "), bad = number_after(done, "wrong, ");
        if (checked != after || missing != 0 || wrong != 0 || bad != 0)
            TEST_FAIL_("round %d: %ld acknowledgements recorded, check says: %.120s\n%s", round,
                       after, done, n.p.err);
        node_stop(&n, SIGTERM);
    }
    node_free(&n);
    test_rmtree(dir);
}

/* ---- (c) files the store cannot use ------------------------------------------------- */

/* Enter a private mount namespace so that mounts vanish with this test's
 * processes. 0, or -errno when not permitted (then nothing changed). */
static int private_mounts(void)
{
    if (unshare(CLONE_NEWNS) != 0)
        return -errno;
    if (mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        return -errno;
    return 0;
}

TEST_IMPL(store_node, refuses_bad_files)
{
    char dir[64], path[256], store[512];
    node_t n = {0};
    test_tmpdir(dir, sizeof(dir), "actr-store");

    /* a file of random bytes */
    {
        unsigned char junk[65536];
        snprintf(path, sizeof(path), "%s/junk.db", dir);
        srand(7);
        for (size_t i = 0; i < sizeof(junk); i++)
            junk[i] = (unsigned char)rand();
        test_write_file(path, junk, sizeof(junk));
        snprintf(store, sizeof(store), "{path: %s}", path);
        node_config(&n, dir, "c", store, kv_plugin);
        node_refused(&n, path, NULL);
        /* the file is left as it was */
        struct stat st;
        ASSERT_EQ(stat(path, &st), 0);
        ASSERT_EQ(st.st_size, (off_t)sizeof(junk));
    }
    /* a text file */
    {
        snprintf(path, sizeof(path), "%s/text.db", dir);
        test_write_file(path, "hello, this is not a database\n", 30);
        snprintf(store, sizeof(store), "{path: %s}", path);
        node_config(&n, dir, "c", store, kv_plugin);
        node_refused(&n, path, NULL);
    }
    /* a path that cannot be created, even by root: its parent is not a
     * directory (/dev/null is a character device), so open fails ENOTDIR
     * whatever the permissions; chmod would not stop root */
    {
        snprintf(path, sizeof(path), "/dev/null/actr.db");
        snprintf(store, sizeof(store), "{path: %s}", path);
        node_config(&n, dir, "c", store, kv_plugin);
        node_refused(&n, path, NULL);
    }
    /* locked by another process: this one holds an exclusive transaction */
    {
        node_t ok = {0};
        sqlite3 *db;
        snprintf(path, sizeof(path), "%s/locked.db", dir);
        snprintf(store, sizeof(store), "{path: %s}", path);
        node_config(&ok, dir, "c", store, kv_plugin);
        node_start(&ok); /* creates the file with its schema */
        kv_put_ok(&ok, "x", "1");
        node_stop(&ok, SIGTERM);
        ASSERT_EQ(sqlite3_open(path, &db), SQLITE_OK);
        ASSERT_EQ(sqlite3_exec(db, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
        node_refused(&ok, path, NULL);
        ASSERT_EQ(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
        ASSERT_EQ(sqlite3_close(db), SQLITE_OK);

        /* a second node on a file a live node has open */
        node_start(&ok);
        node_config(&n, dir, "c2", store, kv_plugin);
        node_refused(&n, path, NULL);
        expect_value(&ok, "x", "1"); /* the first one is unharmed */
        node_stop(&ok, SIGTERM);
        node_free(&ok);
    }
    /* a read-only file system (a read-only tmpfs mount) */
    {
        char ro[128];
        int rc = private_mounts();
        snprintf(ro, sizeof(ro), "%s/ro", dir);
        ASSERT_EQ(mkdir(ro, 0755), 0);
        if (rc == 0 && mount("tmpfs", ro, "tmpfs", MS_RDONLY, "size=64k") == 0) {
            snprintf(path, sizeof(path), "%s/actr.db", ro);
            snprintf(store, sizeof(store), "{path: %s}", path);
            node_config(&n, dir, "c", store, kv_plugin);
            node_refused(&n, path, NULL);
            ASSERT_EQ(umount(ro), 0);
        } else {
            printf("# read-only mount skipped: mount not permitted here (%s)\n",
                   strerror(rc ? -rc : errno));
        }
    }
    test_rmtree(dir);
}

/* ---- (d) a full disk -------------------------------------------------------------- */

TEST_IMPL(store_node, full_disk)
{
    char dir[64], small[128], ballast[192], value[20010];
    node_t n = {0};
    int rc;
    test_tmpdir(dir, sizeof(dir), "actr-store");
    snprintf(small, sizeof(small), "%s/small", dir);
    ASSERT_EQ(mkdir(small, 0755), 0);
    rc = private_mounts();
    if (rc != 0 || mount("tmpfs", small, "tmpfs", 0, "size=1m") != 0) {
        printf("# skipped: cannot mount a small tmpfs here (%s)\n", strerror(rc ? -rc : errno));
        test_rmtree(dir);
        return;
    }
    /* 256 KiB of ballast to free later (room for a checkpoint of 16 KiB pages) */
    {
        static char zeros[256 * 1024];
        snprintf(ballast, sizeof(ballast), "%s/ballast", small);
        test_write_file(ballast, zeros, sizeof(zeros));
    }
    value[0] = '"'; /* a JSON string of 20000 bytes */
    memset(value + 1, 'v', 20000);
    value[20001] = '"';
    value[20002] = '\0';
    /* only the database on the small file system: the node's other files
     * (plugin copies, control socket) stay where a restart can write them */
    {
        char store[256];
        snprintf(store, sizeof(store), "{path: %s/actr.db}", small);
        node_config(&n, dir, "d", store, kv_plugin);
    }
    node_start(&n);
    int stored = 0, failed = 0;
    char key[32], req[20200];
    for (int i = 0; i < 100 && failed < 3; i++) {
        snprintf(key, sizeof(key), "big%d", i);
        snprintf(req, sizeof(req), "{\"op\":\"put\",\"key\":\"%s\",\"value\":%s}", key, value);
        json_t *j = node_call(&n, "kv", req, 0);
        if (jok(j)) {
            if (failed > 0)
                TEST_FAIL_("a put succeeded after one failed on a full disk");
            stored++;
        } else {
            const char *e = json_string_value(json_object_get(j, "error"));
            const char *m = json_string_value(json_object_get(j, "message"));
            if (e == NULL || strcmp(e, "store_error") != 0 || m == NULL)
                TEST_FAIL_("unexpected failure reply: %s", json_dumps(j, 0));
            if (failed == 0)
                printf("# put %d failed: %s\n", i, m);
            failed++;
        }
        json_decref(j);
    }
    printf("# %d puts of 20 KB stored before the disk was full\n", stored);
    ASSERT(stored > 0);
    ASSERT_EQ(failed, 3);
    /* alive, and reads still answer from what was acknowledged */
    ASSERT_EQ(kill(n.p.pid, 0), 0);
    expect_value(&n, "big0", value);
    snprintf(key, sizeof(key), "big%d", stored);
    expect_value(&n, key, NULL); /* the failed put changed nothing */
    {
        json_t *j = node_call(&n, "kv", "{\"op\":\"keys\"}", 0);
        ASSERT_EQ((int)json_array_size(json_object_get(j, "keys")), stored);
        json_decref(j);
    }
    /* free space: writes work again */
    ASSERT_EQ(unlink(ballast), 0);
    kv_put_ok(&n, "after", "1");
    expect_value(&n, "after", "1");
    node_stop(&n, SIGTERM);
    /* what was acknowledged is all there after a restart */
    node_start(&n);
    expect_value(&n, "big0", value);
    expect_value(&n, "after", "1");
    node_stop(&n, SIGTERM);
    node_free(&n);
    (void)umount2(small, MNT_DETACH);
    test_rmtree(dir);
}

/* ---- (e, f) backup, restore, stats ------------------------------------------------------ */

TEST_IMPL(store_node, backup_restore_and_stats)
{
    char dir[64], backup[128], store[256];
    node_t a = {0}, b = {0};
    proc_t p = {0};
    test_tmpdir(dir, sizeof(dir), "actr-store");
    node_config(&a, dir, "e", NULL, kv_plugin);
    node_start(&a);
    for (int i = 0; i < 20; i++) {
        char key[16], val[16];
        snprintf(key, sizeof(key), "key%d", i);
        snprintf(val, sizeof(val), "%d", i * i);
        kv_put_ok(&a, key, val);
    }
    /* a relative FILE is resolved against ctl's directory */
    {
        const char *args[] = {"ctl", "-s", a.sock, "store", "backup", "backup.db", NULL};
        if (proc_run(&p, args, dir) != 0)
            TEST_FAIL_("store backup failed:\n%s%s", p.out, p.err);
        snprintf(backup, sizeof(backup), "%s/backup.db", dir);
        ASSERT(strstr(p.out, backup) != NULL);
        ASSERT_EQ(access(backup, F_OK), 0);
    }
    /* writes after the backup are not in it */
    kv_put_ok(&a, "later", "1");
    /* a backup the node cannot write: exit 1 with the reason */
    {
        const char *args[] = {"ctl", "-s", a.sock, "store", "backup", "/dev/null/x.db", NULL};
        ASSERT_EQ(proc_run(&p, args, NULL), 1);
        ASSERT(strstr(p.err, "/dev/null/x.db") != NULL);
        ASSERT_EQ(count_lines(p.err), 1);
    }
    /* stats */
    {
        const char *args[] = {"ctl", "-s", a.sock, "store", "stats", NULL};
        ASSERT_EQ(proc_run(&p, args, NULL), 0);
        printf("# stats:\n%s", p.out);
        ASSERT(number_after(p.out, "writes ") >= 21);
        ASSERT(number_after(p.out, "commits ") >= 1);
        ASSERT(strstr(p.out, "reads ") && strstr(p.out, "errors ") && strstr(p.out, "queued "));
    }
    /* usage errors */
    {
        const char *args[] = {"ctl", "-s", a.sock, "store", "backup", NULL};
        ASSERT_EQ(proc_run(&p, args, NULL), 2);
    }

    /* a second node (the first still runs) started on the backup */
    snprintf(store, sizeof(store), "{path: %s}", backup);
    node_config(&b, dir, "e2", store, kv_plugin);
    node_start(&b);
    for (int i = 0; i < 20; i++) {
        char key[16], val[16];
        snprintf(key, sizeof(key), "key%d", i);
        snprintf(val, sizeof(val), "%d", i * i);
        expect_value(&b, key, val);
    }
    expect_value(&b, "later", NULL);
    expect_value(&a, "later", "1");
    node_stop(&b, SIGTERM);
    node_stop(&a, SIGTERM);
    node_free(&b);
    node_free(&a);
    proc_free(&p);
    test_rmtree(dir);
}

/* ---- store.enabled: false ------------------------------------------------------------- */

TEST_IMPL(store_node, store_disabled)
{
    char dir[64];
    node_t n = {0};
    proc_t p = {0};
    test_tmpdir(dir, sizeof(dir), "actr-store");
    node_config(&n, dir, "g", "{enabled: false}", kv_plugin);
    node_start(&n);
    ASSERT(proc_saw(&n.p, "in memory only"));
    kv_put_ok(&n, "m", "5");
    expect_value(&n, "m", "5");
    {
        const char *args[] = {"ctl", "-s", n.sock, "store", "stats", NULL};
        ASSERT_EQ(proc_run(&p, args, NULL), 1);
        ASSERT(strstr(p.err, "ESTORE") != NULL);
    }
    node_stop(&n, SIGTERM);
    /* no database file was created */
    {
        char db[192];
        snprintf(db, sizeof(db), "%s/actr.db", n.data);
        ASSERT_EQ(access(db, F_OK), -1);
    }
    node_start(&n);
    expect_value(&n, "m", NULL);
    node_stop(&n, SIGTERM);
    node_free(&n);
    proc_free(&p);
    test_rmtree(dir);
}

/* test-swap-node.c — hot swap through the `actr` program (suite `swap_node`).
 *
 * A node runs as a separate process from a generated runtime.yaml that loads
 * the test plugin "swapper" (tests/plugins/swap_v1.so, 1.0.0) with a few
 * actors, and is driven with `actr ctl`:
 *   - `plugin swap swapper swap_v2.so` (a FILE relative to the client's
 *     folder) prints the versions and the migrated actors; the actors answer
 *     2.0.0 and keep the state they had under 1.0.0;
 *   - refused swaps exit 1 with the reason and leave the node on 2.0.0,
 *     serving: 3.0.0 whose migrate refuses one actor, a truncated copy of the
 *     .so, another plugin's file (echo.so), a plugin that is not loaded, a
 *     file that does not exist;
 *   - `plugin rollback` returns to 1.0.0 with the state intact;
 *   - `plugin history swapper` lists the load, the swap, each refusal with its
 *     error and reason, and the rollback; it survives a restart of the node on
 *     the same data directory;
 *   - `plugin unload` is refused while actors live, and --force unloads (the
 *     actors are `restart: temporary`, so the root supervisor lets them go);
 *   - watch mode: a node with `watch: true` swaps when a new version is
 *     renamed over the file, and again when one is copied over it in place.
 * Waits poll with a deadline; nothing sleeps for a fixed time.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "node_harness.h"
#include "task.h"

/* ---- a node ------------------------------------------------------------------------- */

/* A node "swn" in a new folder, loading `plugin_path` (watched when `watch`)
 * with the actors s-1..s-3. */
static void node_config(node_t *n, const char *plugin_path, int watch)
{
    char yaml[2048];
    snprintf(n->name, sizeof(n->name), "swn");
    test_tmpdir(n->dir, sizeof(n->dir), "actr-swn");
    snprintf(n->cfg, sizeof(n->cfg), "%s/node.yaml", n->dir);
    snprintf(n->sock, sizeof(n->sock), "%s/ctl.sock", n->dir);
    snprintf(yaml, sizeof(yaml),
             "node: {name: swn, data_dir: %s/data}\n"
             "control: {socket: %s}\n"
             "store: {enabled: false}\n"
             "plugins:\n"
             "  - path: %s\n"
             "%s"
             "    actors:\n"
             "      - {name: s, type: swapper.counter, count: 3, restart: temporary}\n",
             n->dir, n->sock, plugin_path,
             watch ? "    watch: true\n    watch_debounce_ms: 50\n" : "");
    test_write_file(n->cfg, yaml, strlen(yaml));
}

/* `ctl call NAME {"op":"get"}`: the version answered, and the sum. */
static void get(node_t *n, const char *name, char *version, size_t cap, int64_t *sum)
{
    proc_t p = {0};
    json_error_t jerr;
    if (node_ctl(n, &p, NULL, "call", name, "{\"op\":\"get\"}", NULL) != 0)
        TEST_FAIL_("ctl call %s get failed:\n%s%s", name, p.out, p.err);
    json_t *j = json_loads(p.out, 0, &jerr);
    if (j == NULL)
        TEST_FAIL_("not JSON (%s): %s", jerr.text, p.out);
    snprintf(version, cap, "%s", json_string_value(json_object_get(j, "version")) ?: "");
    if (sum != NULL)
        *sum = json_integer_value(json_object_get(j, "sum"));
    json_decref(j);
    proc_free(&p);
}

static void add(node_t *n, const char *name, int v)
{
    proc_t p = {0};
    char arg[64];
    snprintf(arg, sizeof(arg), "{\"op\":\"add\",\"n\":%d}", v);
    if (node_ctl(n, &p, NULL, "call", name, arg, NULL) != 0)
        TEST_FAIL_("ctl call %s add failed:\n%s%s", name, p.out, p.err);
    ASSERT(strstr(p.out, "\"ok\":true") != NULL);
    proc_free(&p);
}

static void expect_version(node_t *n, const char *name, const char *version, int64_t sum)
{
    char v[64];
    int64_t s;
    get(n, name, v, sizeof(v), &s);
    ASSERT_STR_EQ(v, version);
    ASSERT_EQ(s, sum);
}

static int version_now_is(node_t *n, const char *name, const char *version)
{
    char v[64];
    get(n, name, v, sizeof(v), NULL);
    return strcmp(v, version) == 0;
}

/* A refused swap: exit 1, one error line with `error` and `part`. */
static void expect_refused(node_t *n, const char *name, const char *file, const char *error,
                           const char *part)
{
    proc_t p = {0};
    int code = node_ctl(n, &p, NULL, "plugin", "swap", name, file);
    if (code != 1 || strstr(p.err, error) == NULL || strstr(p.err, part) == NULL)
        TEST_FAIL_("swap %s %s: exit %d, want 1 with \"%s\" and \"%s\"; stdout:\n%s\nstderr:\n%s",
                   name, file, code, error, part, p.out, p.err);
    ASSERT(strncmp(p.err, "actr ctl plugin swap: ", 22) == 0);
    ASSERT_EQ(p.out_len, 0);
    proc_free(&p);
}

/* ---- tests ---------------------------------------------------------------------------- */

TEST_IMPL(swap_node, swap_refusals_rollback_history_restart_unload)
{
    node_t n = {0};
    proc_t p = {0};
    char trunc[128];

    node_config(&n, TEST_PLUGINS "/swap_v1.so", 0);
    node_start(&n);
    expect_version(&n, "s-1", "1.0.0", 0);
    add(&n, "s-1", 5);
    add(&n, "s-2", 7);

    /* FILE relative to the client's folder */
    if (node_ctl(&n, &p, TEST_PLUGINS, "plugin", "swap", "swapper", "swap_v2.so") != 0)
        TEST_FAIL_("swap to 2.0.0 failed:\n%s%s", p.out, p.err);
    ASSERT(strstr(p.out, "swapper 1.0.0 -> 2.0.0: 3 actors migrated, paused ") != NULL);
    ASSERT(strstr(p.out, " ms\n") != NULL);
    expect_version(&n, "s-1", "2.0.0", 5);
    expect_version(&n, "s-2", "2.0.0", 7);
    expect_version(&n, "s-3", "2.0.0", 0);

    /* refusals: each leaves 2.0.0 serving */
    add(&n, "s-2", 4242 - 7); /* 3.0.0 refuses to migrate an actor whose sum is 4242 */
    expect_refused(&n, "swapper", TEST_PLUGINS "/swap_v3.so", "EINVAL", "swapper");
    expect_version(&n, "s-1", "2.0.0", 5);
    expect_version(&n, "s-2", "2.0.0", 4242);
    snprintf(trunc, sizeof(trunc), "%s/truncated.so", n.dir);
    {
        size_t len;
        free(test_read_file(TEST_PLUGINS "/swap_v2.so", &len));
        test_copy_file(TEST_PLUGINS "/swap_v2.so", trunc, len / 2);
    }
    expect_refused(&n, "swapper", trunc, "EABI", "truncated.so");
    expect_refused(&n, "swapper", PLUGINS "/echo.so", "EINVAL", "echo");
    expect_refused(&n, "nosuch", TEST_PLUGINS "/swap_v2.so", "ENOENT", "nosuch");
    expect_refused(&n, "swapper", "/nonexistent/swap.so", "ENOENT", "/nonexistent/swap.so");
    expect_version(&n, "s-1", "2.0.0", 5);
    ASSERT_EQ(node_ctl(&n, &p, NULL, "plugins", NULL, NULL, NULL), 0);
    ASSERT(strstr(p.out, "swapper") != NULL && strstr(p.out, "2.0.0") != NULL);

    /* rollback: 1.0.0 again, state intact */
    if (node_ctl(&n, &p, NULL, "plugin", "rollback", "swapper", NULL) != 0)
        TEST_FAIL_("rollback failed:\n%s%s", p.out, p.err);
    ASSERT(strstr(p.out, "swapper 2.0.0 -> 1.0.0 (rollback): 3 actors migrated") != NULL);
    expect_version(&n, "s-1", "1.0.0", 5);
    expect_version(&n, "s-2", "1.0.0", 4242);
    ASSERT_EQ(node_ctl(&n, &p, NULL, "plugin", "rollback", "nosuch", NULL), 1);
    ASSERT(strstr(p.err, "actr ctl plugin rollback: ENOENT: ") != NULL);

    /* history */
    if (node_ctl(&n, &p, NULL, "plugin", "history", "swapper", NULL) != 0)
        TEST_FAIL_("history failed:\n%s%s", p.out, p.err);
    ASSERT(strncmp(p.out, "TIME ", 5) == 0);
    ASSERT(strstr(p.out, "OUTCOME") && strstr(p.out, "REASON"));
    ASSERT_EQ(count_lines_with(p.out, " load ", "-> 1.0.0", " ok "), 1);
    ASSERT_EQ(count_lines_with(p.out, " swap ", "1.0.0 -> 2.0.0", " ok "), 1);
    ASSERT_EQ(count_lines_with(p.out, " swap ", " EINVAL ", "3.0.0"), 1);
    ASSERT_EQ(count_lines_with(p.out, " swap ", " EABI ", "truncated.so"), 1);
    ASSERT_EQ(count_lines_with(p.out, " swap ", " EINVAL ", "echo"), 1);
    ASSERT_EQ(count_lines_with(p.out, " swap ", " ENOENT ", "nonexistent"), 1);
    ASSERT_EQ(count_lines_with(p.out, " rollback ", "2.0.0 -> 1.0.0", " ok "), 1);
    ASSERT_EQ(count_lines_with(p.out, "nosuch", NULL, NULL), 0); /* another name: filtered out */
    ASSERT_EQ(count_lines_with(p.out, "Z  swapper ", NULL, NULL), 7); /* ISO 8601 UTC times */

    /* a restart on the same data directory keeps the history */
    node_stop(&n, SIGTERM);
    node_start(&n);
    expect_version(&n, "s-1", "1.0.0", 0);
    ASSERT_EQ(node_ctl(&n, &p, NULL, "plugin", "history", NULL, NULL), 0); /* every plugin */
    ASSERT_EQ(count_lines_with(p.out, " load ", "swapper", " ok "), 2);
    ASSERT_EQ(count_lines_with(p.out, " swap ", "1.0.0 -> 2.0.0", " ok "), 1);
    ASSERT_EQ(count_lines_with(p.out, " rollback ", "2.0.0 -> 1.0.0", " ok "), 1);
    ASSERT_EQ(count_lines_with(p.out, " swap ", " EABI ", NULL), 1);

    /* unload: refused while actors live; --force stops them */
    ASSERT_EQ(node_ctl(&n, &p, NULL, "plugin", "unload", "swapper", NULL), 1);
    ASSERT(strstr(p.err, "actr ctl plugin unload: EBUSY: ") != NULL);
    ASSERT_EQ(node_ctl(&n, &p, NULL, "plugin", "unload", "swapper", "--force"), 0);
    ASSERT_STR_EQ(p.out, "plugin swapper unloaded\n");
    ASSERT_EQ(node_ctl(&n, &p, NULL, "plugins", NULL, NULL, NULL), 0);
    ASSERT(strstr(p.out, "swapper") == NULL);
    if (node_ctl(&n, &p, NULL, "plugin", "history", "swapper", NULL) != 0)
        TEST_FAIL_("history failed:\n%s%s", p.out, p.err);
    ASSERT_EQ(count_lines_with(p.out, " unload ", "1.0.0 ->", " ok "), 1);

    /* usage errors */
    ASSERT_EQ(node_ctl(&n, &p, NULL, "plugin", "swap", "swapper", NULL), 2);
    ASSERT_EQ(node_ctl(&n, &p, NULL, "plugin", "frob", "swapper", NULL), 2);
    ASSERT_EQ(node_ctl(&n, &p, NULL, "plugin", "rollback", "swapper", "--force"), 2);
    ASSERT(strstr(p.err, "usage: actr ctl") != NULL);

    node_stop(&n, SIGTERM);
    node_free(&n);
    proc_free(&p);
    test_rmtree(n.dir);
}

TEST_IMPL(swap_node, watch_mode_swaps_on_rename_and_on_copy)
{
    node_t n = {0};
    char dir[64], file[128], tmp[128];
    proc_t p = {0};

    test_tmpdir(dir, sizeof(dir), "actr-swnw");
    snprintf(file, sizeof(file), "%s/swapper.so", dir);
    snprintf(tmp, sizeof(tmp), "%s/.swapper.so.tmp", dir);
    test_copy_file(TEST_PLUGINS "/swap_v1.so", file, SIZE_MAX);
    node_config(&n, file, 1);
    node_start(&n);
    ASSERT(strstr(n.p.err, "watching ") != NULL);
    expect_version(&n, "s-1", "1.0.0", 0);
    add(&n, "s-1", 11);

    /* a new version renamed over the file */
    test_copy_file(TEST_PLUGINS "/swap_v2.so", tmp, SIZE_MAX);
    ASSERT_EQ(rename(tmp, file), 0);
    ASSERT_EVENTUALLY(version_now_is(&n, "s-1", "2.0.0"), DEADLINE_MS);
    expect_version(&n, "s-1", "2.0.0", 11);

    /* plain cp over the file (the same inode, rewritten) */
    test_copy_file(TEST_PLUGINS "/swap_v1.so", file, SIZE_MAX);
    ASSERT_EVENTUALLY(version_now_is(&n, "s-1", "1.0.0"), DEADLINE_MS);
    expect_version(&n, "s-1", "1.0.0", 11);

    /* the event is recorded just after the commit: poll */
    ASSERT_EVENTUALLY(node_ctl(&n, &p, NULL, "plugin", "history", "swapper", NULL) == 0 &&
                          count_lines_with(p.out, " swap ", "2.0.0 -> 1.0.0", " ok ") == 1,
                      DEADLINE_MS);
    ASSERT_EQ(count_lines_with(p.out, " swap ", "1.0.0 -> 2.0.0", " ok "), 1);
    ASSERT_EQ(count_lines_with(p.out, " swap ", NULL, NULL), 2);
    node_stop(&n, SIGTERM);
    proc_pump(&n.p);
    ASSERT(strstr(n.p.err, "swapped 1.0.0 -> 2.0.0") != NULL);
    node_free(&n);
    proc_free(&p);
    test_rmtree(n.dir);
    test_rmtree(dir);
}

/* test-program.c — the `actr` program as a separate process.
 *
 * A node starts from the root runtime.yaml (rewritten into a temporary folder
 * so that its plugin paths point at this build's plugins/ and its data
 * directory is private), reports it is up, answers `actr ctl` (call echo,
 * call kv put/get, actors, plugins), and exits 0 on SIGTERM and on SIGINT.
 * `actr check` accepts that file and refuses each kind of broken one with exit
 * 1 and one line naming FILE:LINE:COL, and neither `check` nor `run` ever
 * starts a node from a broken file. A node whose root supervisor gives up
 * stops with exit 1. `actr plugin info` and `actr version` print what they
 * should. Waits poll the child's output with a deadline, never a fixed sleep.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "actr/plugin.h"
#include "node_harness.h"
#include "task.h"

#define ROOT_CONFIG ACTR_SOURCE_DIR "/runtime.yaml"

/* ---- configs ------------------------------------------------------------------ */

/* Copy of `text` with every `from` replaced by `to` (caller frees). */
static char *replace_all(const char *text, const char *from, const char *to)
{
    size_t fl = strlen(from), tl = strlen(to), n = 0, cap;
    const char *s;
    char *out, *o;
    for (s = text; (s = strstr(s, from)) != NULL; s += fl)
        n++;
    cap = strlen(text) + n * tl + 1;
    out = malloc(cap);
    ASSERT_NOT_NULL(out);
    for (o = out, s = text;;) {
        const char *hit = strstr(s, from);
        if (hit == NULL) {
            strcpy(o, s);
            break;
        }
        memcpy(o, s, (size_t)(hit - s));
        o += hit - s;
        memcpy(o, to, tl);
        o += tl;
        s = hit + fl;
    }
    return out;
}

/* The root runtime.yaml, with its plugins taken from this build and its data
 * directory in `dir`: written to dir/runtime.yaml (path in cfg[256]). */
static void root_config(const char *dir, char *cfg)
{
    char *text = test_read_file(ROOT_CONFIG, NULL), *a, *b, data[128];
    ASSERT(strstr(text, "path: build/plugins/echo.so") != NULL);
    ASSERT(strstr(text, "path: build/plugins/kv.so") != NULL);
    ASSERT(strstr(text, "./actr-data") != NULL);
    snprintf(data, sizeof(data), "%s/data", dir);
    a = replace_all(text, "path: build/plugins/", "path: " PLUGINS "/");
    b = replace_all(a, "./actr-data", data);
    snprintf(cfg, 256, "%s/runtime.yaml", dir);
    test_write_file(cfg, b, strlen(b));
    free(text);
    free(a);
    free(b);
}

/* ---- a running node ---------------------------------------------------------- */

/* Stop with `sig`: exit 0, a "stopped" line, and the control socket gone. */
static void stop_node(node_t *n, int sig)
{
    node_stop(n, sig);
    ASSERT(strstr(n->p.err, " stopped") != NULL);
    /* the control socket is gone with the node */
    ASSERT_EQ(access(n->sock, F_OK), -1);
    node_free(n);
}

/* `actr ctl -s SOCK args...`; returns the exit status. */
static int ctl(node_t *n, proc_t *p, const char *a1, const char *a2, const char *a3)
{
    return node_ctl(n, p, NULL, a1, a2, a3, NULL);
}

static void run_and_signal(int sig)
{
    node_t n = {0};
    proc_t p = {0};
    json_t *j;

    test_tmpdir(n.dir, sizeof(n.dir), "actr-prog");
    root_config(n.dir, n.cfg);
    snprintf(n.sock, sizeof(n.sock), "%s/data/control.sock", n.dir);
    node_start(&n);
    ASSERT(strstr(n.p.err, "node actr-dev up: ") != NULL);
    ASSERT(strstr(n.p.err, "2 plugins, 2 actors, control at ") != NULL);
    ASSERT(strstr(n.p.err, n.sock) != NULL);

    if (sig == SIGTERM) {
        /* call echo: the argument comes back as JSON */
        if (ctl(&n, &p, "call", "echo", "{\"a\":1}") != 0)
            TEST_FAIL_("ctl call echo failed:\n%s%s", p.out, p.err);
        j = test_parse_json(p.out);
        ASSERT(json_is_object(j) && json_object_size(j) == 1);
        ASSERT_EQ(json_integer_value(json_object_get(j, "a")), 1);
        json_decref(j);

        /* actors, with the config file naming the socket (-c) */
        {
            const char *args[] = {"ctl", "-c", n.cfg, "actors", NULL};
            ASSERT_EQ(proc_run(&p, args, NULL), 0);
        }
        ASSERT(strncmp(p.out, "REF", 3) == 0 && strstr(p.out, "HANDLED") != NULL);
        ASSERT(strstr(p.out, " echo ") != NULL);
        ASSERT(strstr(p.out, " kv ") != NULL);

        ASSERT_EQ(ctl(&n, &p, "plugins", NULL, NULL), 0);
        ASSERT(strncmp(p.out, "NAME", 4) == 0);
        ASSERT(strstr(p.out, PLUGINS "/echo.so") != NULL);
        ASSERT(strstr(p.out, PLUGINS "/kv.so") != NULL);

        /* kv keeps state across calls */
        ASSERT_EQ(ctl(&n, &p, "call", "kv", "{\"op\":\"put\",\"key\":\"k\",\"value\":42}"), 0);
        ASSERT_EQ(ctl(&n, &p, "call", "kv", "{\"op\":\"get\",\"key\":\"k\"}"), 0);
        j = test_parse_json(p.out);
        ASSERT_EQ(json_integer_value(json_object_get(j, "value")), 42);
        json_decref(j);

        /* a name nobody has: one error line, exit 1 */
        ASSERT_EQ(ctl(&n, &p, "call", "nobody", "{}"), 1);
        ASSERT(strstr(p.err, "actr ctl call: ") != NULL);
        ASSERT_EQ(p.out_len, 0);
        /* an argument that is not JSON */
        ASSERT_EQ(ctl(&n, &p, "call", "echo", "{a:"), 1);
        ASSERT(strstr(p.err, "not valid JSON") != NULL);
        /* a second node on the same config is refused before it starts: the
         * state store is locked by the first */
        {
            const char *args[] = {"run", "-c", n.cfg, NULL};
            ASSERT_EQ(proc_run(&p, args, NULL), 1);
            ASSERT(strstr(p.err, "key 'store.path': ") != NULL);
            ASSERT(strstr(p.err, " up: ") == NULL);
        }
        /* ... and so is one on the same control socket with a store of its own */
        {
            char cfg2[300], *text = test_read_file(n.cfg, NULL), *other;
            const char *args[] = {"run", "-c", cfg2, NULL};
            ASSERT(strstr(text, "/data/actr.db") != NULL);
            other = replace_all(text, "/data/actr.db", "/data/other.db");
            snprintf(cfg2, sizeof(cfg2), "%s/second.yaml", n.dir);
            test_write_file(cfg2, other, strlen(other));
            free(text);
            free(other);
            ASSERT_EQ(proc_run(&p, args, NULL), 1);
            ASSERT(strstr(p.err, "key 'control.socket': ") != NULL);
            ASSERT(strstr(p.err, " up: ") == NULL);
        }
        ASSERT_EQ(ctl(&n, &p, "call", "echo", "7"), 0); /* the first one still serves */
        ASSERT_STR_EQ(p.out, "7\n");
        /* integers beyond int64 and binary go through ctl and back exactly */
        ASSERT_EQ(ctl(&n, &p, "call", "echo",
                      "[18446744073709551615, -9223372036854775808, \"$bin:AAEC\"]"),
                  0);
        ASSERT_STR_EQ(p.out, "[18446744073709551615,-9223372036854775808,\"$bin:AAEC\"]\n");
        /* raw request line */
        ASSERT_EQ(ctl(&n, &p, "raw", "{\"cmd\":\"actors\"}", NULL), 0);
        j = test_parse_json(p.out);
        ASSERT(json_is_true(json_object_get(j, "ok")));
        json_decref(j);
    }
    stop_node(&n, sig);
    proc_free(&p);
    test_rmtree(n.dir);
}

TEST_IMPL(program, runs_root_config_serves_ctl_and_stops_on_sigterm) { run_and_signal(SIGTERM); }

TEST_IMPL(program, stops_on_sigint) { run_and_signal(SIGINT); }

/* JSON log lines, count expansion, the environment in the config. */
TEST_IMPL(program, json_logs_and_counted_actors)
{
    node_t n = {0};
    proc_t p = {0};
    char yaml[1024];
    const char *line;
    json_t *j;

    test_tmpdir(n.dir, sizeof(n.dir), "actr-prog");
    snprintf(n.cfg, sizeof(n.cfg), "%s/node.yaml", n.dir);
    snprintf(n.sock, sizeof(n.sock), "%s/ctl.sock", n.dir);
    snprintf(yaml, sizeof(yaml),
             "node: {name: \"${NODE_NAME}\", data_dir: %s/d}\n"
             "log: {format: json}\n"
             "control: {socket: %s}\n"
             "plugins:\n"
             "  - path: %s/echo.so\n"
             "    actors:\n"
             "      - {name: e, type: echo, count: 3, restart: transient}\n",
             n.dir, n.sock, PLUGINS);
    test_write_file(n.cfg, yaml, strlen(yaml));
    snprintf(n.env, sizeof(n.env), "NODE_NAME=jsonnode");
    node_start(&n);

    /* every stderr line is one JSON object; find the "up" one */
    line = strstr(n.p.err, "{\"time\"");
    ASSERT_NOT_NULL(line);
    for (const char *s = n.p.err; *s; s = strchr(s, '\n') + 1) {
        const char *nl = strchr(s, '\n');
        char buf[2048];
        if (nl == NULL)
            break;
        ASSERT((size_t)(nl - s) < sizeof(buf));
        memcpy(buf, s, (size_t)(nl - s));
        buf[nl - s] = '\0';
        j = test_parse_json(buf);
        ASSERT(json_is_string(json_object_get(j, "time")));
        ASSERT(json_is_string(json_object_get(j, "level")));
        ASSERT(json_object_get(j, "actor") != NULL);
        ASSERT(json_is_string(json_object_get(j, "msg")));
        if (strstr(json_string_value(json_object_get(j, "msg")), " up: ") != NULL)
            ASSERT(strstr(json_string_value(json_object_get(j, "msg")), "node jsonnode up: ") !=
                       NULL &&
                   strstr(json_string_value(json_object_get(j, "msg")), "1 plugins, 3 actors"));
        json_decref(j);
    }

    ASSERT_EQ(ctl(&n, &p, "actors", NULL, NULL), 0);
    ASSERT(strstr(p.out, " e-1 ") && strstr(p.out, " e-2 ") && strstr(p.out, " e-3 "));
    ASSERT_EQ(ctl(&n, &p, "call", "e-2", "[1, \"two\", null, true, 2.5]"), 0);
    j = test_parse_json(p.out);
    ASSERT_EQ(json_array_size(j), 5);
    json_decref(j);
    stop_node(&n, SIGTERM);
    proc_free(&p);
    test_rmtree(n.dir);
}

TEST_IMPL(program, ctl_without_a_node)
{
    proc_t p = {0};
    const char *args[] = {"ctl", "-s", "/tmp/actr-no-such-node.sock", "actors", NULL};
    ASSERT_EQ(proc_run(&p, args, NULL), 1);
    ASSERT(strstr(p.err, "actr ctl: cannot reach node at /tmp/actr-no-such-node.sock: ") != NULL);
    ASSERT(strstr(p.err, "is `actr run` running?") != NULL);
    {
        const char *bad[] = {"ctl", "-s", "x", "frobnicate", NULL};
        const char *short_call[] = {"ctl", "call", "echo", NULL}; /* no JSON */
        ASSERT_EQ(proc_run(&p, bad, NULL), 2);
        ASSERT_EQ(proc_run(&p, short_call, NULL), 2);
        ASSERT(strstr(p.err, "usage: actr ctl") != NULL);
    }
    proc_free(&p);
}

/* ---- check and its refusals --------------------------------------------------- */

TEST_IMPL(program, check_accepts_the_root_config)
{
    char dir[64], cfg[256], want[512];
    proc_t p = {0};
    const char *args[] = {"check", "-c", cfg, NULL};
    test_tmpdir(dir, sizeof(dir), "actr-prog");
    root_config(dir, cfg);
    if (proc_run(&p, args, NULL) != 0)
        TEST_FAIL_("check failed:\n%s", p.err);
    snprintf(want, sizeof(want), "%s: ok (2 plugins, 2 actors)\n", cfg);
    ASSERT_STR_EQ(p.out, want);
    /* check never creates the data directory */
    ASSERT_NE(access(cfg, F_OK), -1);
    {
        char data[128];
        snprintf(data, sizeof(data), "%s/data", dir);
        ASSERT_EQ(access(data, F_OK), -1);
    }
    proc_free(&p);
    test_rmtree(dir);
}

/* After `path`, the message has ":LINE:COL: ". */
static int names_position(const char *msg, const char *path)
{
    const char *s = strstr(msg, path);
    char *end;
    if (s == NULL || s[strlen(path)] != ':')
        return 0;
    s += strlen(path) + 1;
    if (strtol(s, &end, 10) <= 0 || *end != ':')
        return 0;
    s = end + 1;
    return strtol(s, &end, 10) > 0 && *end == ':';
}

/* The last line of `text` (which ends with a newline), or "" if none. */
static const char *last_line(const char *text)
{
    size_t n = strlen(text);
    if (n == 0 || text[n - 1] != '\n')
        return "";
    for (n--; n > 0 && text[n - 1] != '\n'; n--)
        ;
    return text + n;
}

/* Before the error line come only log records (for run: the node's progress),
 * or nothing at all (for check, which logs warnings and errors only). */
static int only_logs_before(const char *text, const char *last, int none)
{
    if (none)
        return last == text;
    for (const char *s = text; s < last; s = strchr(s, '\n') + 1) {
        const char *nl = strchr(s, '\n');
        const char *lv = strstr(s, " level=");
        if (lv == NULL || lv > nl)
            return 0;
    }
    return 1;
}

/* `check` and `run` on `yaml` (where "@P" stands for the plugins folder and
 * "@D" for a scratch folder) both exit 1 with one error line naming the file,
 * a line and column, and containing each needle; no node ever starts. `check`
 * prints that line alone; `run` may log its progress before it. */
static void expect_refused(const char *yaml, const char *needle1, const char *needle2)
{
    char dir[64], path[256], *a, *b;
    const char *cmds[] = {"check", "run"};
    test_tmpdir(dir, sizeof(dir), "actr-prog");
    snprintf(path, sizeof(path), "%s/bad.yaml", dir);
    a = replace_all(yaml, "@P", PLUGINS);
    b = replace_all(a, "@D", dir);
    test_write_file(path, b, strlen(b));
    free(a);
    free(b);
    for (int i = 0; i < 2; i++) {
        const char *args[] = {cmds[i], "-c", path, NULL};
        proc_t p = {0};
        int code = proc_run(&p, args, NULL);
        const char *last = last_line(p.err);
        if (code != 1 || strstr(last, needle1) == NULL ||
            (needle2 && strstr(last, needle2) == NULL) || strstr(p.err, " up: ") != NULL ||
            !names_position(last, path) || !only_logs_before(p.err, last, i == 0) || p.out_len != 0)
            TEST_FAIL_("actr %s: expected exit 1 and one line with \"%s\"%s%s, got exit %d; "
                       "stdout:\n%s\nstderr:\n%s",
                       cmds[i], needle1, needle2 ? " and " : "", needle2 ? needle2 : "", code,
                       p.out, p.err);
        proc_free(&p);
    }
    test_rmtree(dir);
}

TEST_IMPL(program, refuses_yaml_syntax_errors)
{
    expect_refused("node:\n  name: \"unclosed\n", "YAML", NULL);
    expect_refused("node:\n\tname: tab\n", "YAML", NULL);
    expect_refused("node:\n  name: a\n   data_dir: b\n", "YAML", NULL);
}

TEST_IMPL(program, refuses_unknown_key_with_did_you_mean)
{
    expect_refused("scheduler:\n  workerz: 2\n", ":2:3:", "'workers'");
}

TEST_IMPL(program, refuses_wrong_type_and_range)
{
    expect_refused("scheduler:\n  batch: lots\n", ":2:10:", "scheduler.batch");
    expect_refused("scheduler:\n  batch: 0\n", ":2:10:", "scheduler.batch");
    expect_refused("plugins:\n  - path: @P/echo.so\n    actors:\n"
                   "      - {name: e, type: echo, count: 10001}\n",
                   ":4:", "count");
}

TEST_IMPL(program, refuses_unset_environment_variable)
{
    expect_refused("node:\n  name: ${ACTR_TEST_SURELY_UNSET_VARIABLE}\n",
                   ":2:", "ACTR_TEST_SURELY_UNSET_VARIABLE");
}

TEST_IMPL(program, refuses_missing_plugin_file)
{
    expect_refused("plugins:\n  - path: /nonexistent/x.so\n", ":2:", "key 'plugins[0].path': ");
}

TEST_IMPL(program, refuses_a_file_that_is_not_a_shared_object)
{
    char dir[64], so[128], yaml[512];
    test_tmpdir(dir, sizeof(dir), "actr-prog");
    snprintf(so, sizeof(so), "%s/text.so", dir);
    test_write_file(so, "this is not an ELF file\n", 24);
    snprintf(yaml, sizeof(yaml), "node: {data_dir: @D/d}\nplugins:\n  - path: %s\n  - path: %s\n",
             PLUGINS "/echo.so", so);
    expect_refused(yaml, ":4:", "key 'plugins[1].path': ");
    test_rmtree(dir);
}

TEST_IMPL(program, refuses_unknown_actor_type)
{
    expect_refused("node: {data_dir: @D/d}\n"
                   "plugins:\n  - path: @P/echo.so\n    actors:\n"
                   "      - name: e\n        type: ecoh\n",
                   ":5:", "did you mean 'echo'");
    expect_refused("node: {data_dir: @D/d}\n"
                   "plugins:\n  - path: @P/echo.so\n    actors:\n"
                   "      - {name: e, type: nothing-like-it}\n",
                   "key 'plugins[0].actors[0].type'", "unknown actor type");
}

TEST_IMPL(program, refuses_two_actors_with_one_name)
{
    expect_refused("node: {data_dir: @D/d}\n"
                   "plugins:\n  - path: @P/echo.so\n    actors:\n"
                   "      - {name: dup, type: echo}\n"
                   "  - path: @P/kv.so\n    actors:\n"
                   "      - {name: dup, type: kv}\n",
                   ":8:", "dup");
    /* a counted name that collides with a plain one */
    expect_refused("node: {data_dir: @D/d}\n"
                   "plugins:\n  - path: @P/echo.so\n    actors:\n"
                   "      - {name: e, type: echo, count: 2}\n"
                   "      - {name: e-2, type: echo}\n",
                   "'e-2'", "already used");
}

TEST_IMPL(program, refuses_a_plugin_the_loader_rejects)
{
    expect_refused("node: {data_dir: @D/d}\n"
                   "plugins:\n  - path: " TEST_PLUGINS "/bad_major.so\n",
                   ":3:", "key 'plugins[0].path': ");
}

/* An actor whose init always fails: the root supervisor gives up after its
 * restart intensity, and the node stops with exit 1 instead of idling. */
TEST_IMPL(program, stops_with_exit_1_when_the_root_supervisor_gives_up)
{
    char dir[64], cfg[256], yaml[512];
    const char *args[] = {"run", "-c", cfg, NULL};
    proc_t p = {0};
    test_tmpdir(dir, sizeof(dir), "actr-prog");
    snprintf(cfg, sizeof(cfg), "%s/node.yaml", dir);
    snprintf(yaml, sizeof(yaml),
             "node: {data_dir: %s/d}\n"
             "plugins:\n"
             "  - path: %s/echo.so\n"
             "    actors: [{name: echo, type: echo}]\n"
             "  - path: %s/init_fail.so\n"
             "    actors: [{name: doomed, type: init_fail}]\n",
             dir, PLUGINS, TEST_PLUGINS);
    test_write_file(cfg, yaml, strlen(yaml));
    if (proc_run(&p, args, NULL) != 1 || strstr(p.err, "the root supervisor exited") == NULL ||
        strstr(p.err, "stopped after a failure") == NULL)
        TEST_FAIL_("expected exit 1 after the supervisor gave up, got %d; stderr:\n%s", p.code,
                   p.err);
    proc_free(&p);
    test_rmtree(dir);
}

TEST_IMPL(program, refuses_missing_config_file)
{
    proc_t p = {0};
    const char *args[] = {"run", "-c", "/nonexistent/actr.yaml", NULL};
    ASSERT_EQ(proc_run(&p, args, NULL), 1);
    ASSERT(strstr(p.err, "/nonexistent/actr.yaml") != NULL);
    ASSERT(strstr(p.err, " up: ") == NULL);
    proc_free(&p);
}

/* ---- plugin info, version, usage ----------------------------------------------- */

TEST_IMPL(program, plugin_info)
{
    proc_t p = {0};
    const char *args[] = {"plugin", "info", PLUGINS "/echo.so", NULL};
    const char *bad[] = {"plugin", "info", ROOT_CONFIG, NULL};
    if (proc_run(&p, args, NULL) != 0)
        TEST_FAIL_("plugin info failed:\n%s", p.err);
    ASSERT(strstr(p.out, "name:      echo\n") != NULL);
    ASSERT(strstr(p.out, "version:   ") != NULL);
    ASSERT(strstr(p.out, "signature: " ACTR_PLUGIN_SIGNATURE "\n") != NULL);
    ASSERT(strstr(p.out, "types:     echo\n") != NULL);
    ASSERT_EQ(proc_run(&p, bad, NULL), 1);
    ASSERT(strstr(p.err, ROOT_CONFIG) != NULL);
    ASSERT_EQ(p.out_len, 0);
    proc_free(&p);
}

TEST_IMPL(program, version_and_usage)
{
    proc_t p = {0};
    char want[64];
    const char *v[] = {"version", NULL};
    const char *none[] = {NULL};
    const char *bogus[] = {"frobnicate", NULL};
    const char *extra[] = {"check", "-c", "x", "y", NULL};
    ASSERT_EQ(proc_run(&p, v, NULL), 0);
    snprintf(want, sizeof(want), "actr %s (plugin ABI %d.%d)\n", ACTR_VERSION_STRING,
             ACTR_PLUGIN_ABI_MAJOR, ACTR_PLUGIN_ABI_MINOR);
    ASSERT_STR_EQ(p.out, want);
    ASSERT_EQ(proc_run(&p, none, NULL), 2);
    ASSERT(strstr(p.err, "usage: actr") != NULL);
    ASSERT_EQ(proc_run(&p, bogus, NULL), 2);
    ASSERT_EQ(proc_run(&p, extra, NULL), 2);
    proc_free(&p);
}

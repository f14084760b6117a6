/* test-config.c — runtime.yaml parsing (runtime/src/config.c, config_yaml.c):
 * defaults, every key, ${VAR} substitution, every kind of error with its
 * exact FILE:LINE:COL and key path, args as msgpack, actor name uniqueness
 * after count expansion, relative plugin paths, bounds, actr_config_load,
 * and the root runtime.yaml.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "actr/config.h"
#include "actr/msg.h"
#include "task.h"

/* ---- helpers -------------------------------------------------------------- */

typedef struct fake_env {
    const char *names[8];
    const char *values[8];
} fake_env_t;

static const char *fake_getenv(void *ud, const char *name)
{
    const fake_env_t *e = ud;
    for (int i = 0; i < 8 && e->names[i] != NULL; i++)
        if (strcmp(e->names[i], name) == 0)
            return e->values[i];
    return NULL;
}

static fake_env_t no_env = {{NULL}, {NULL}};

static int parse_env(const char *yaml, fake_env_t *env, actr_config_t *c, actr_error_t *e)
{
    return actr_config_parse_buf(yaml, strlen(yaml), "test.yaml", fake_getenv, env, c, e);
}

static int parse(const char *yaml, actr_config_t *c, actr_error_t *e)
{
    return parse_env(yaml, &no_env, c, e);
}

static int is_zeroed(const actr_config_t *c)
{
    static const actr_config_t zero;
    return memcmp(c, &zero, sizeof(zero)) == 0;
}

/* Parsing `yaml` fails with ACTR_ECONFIG and exactly message `msg` (one line,
 * line/col fields matching its prefix); *out is left zeroed. */
static void expect_error_env(const char *yaml, fake_env_t *env, const char *msg, int line, int col)
{
    actr_config_t c;
    actr_error_t e;
    memset(&c, 0x5a, sizeof(c));
    ASSERT_ERR(parse_env(yaml, env, &c, &e), ACTR_ECONFIG);
    ASSERT(is_zeroed(&c));
    ASSERT_EQ(e.code, ACTR_ECONFIG);
    ASSERT_NULL(strchr(e.msg, '\n'));
    ASSERT_STR_EQ(e.msg, msg);
    ASSERT_EQ(e.line, line);
    ASSERT_EQ(e.col, col);
}

static void expect_error(const char *yaml, const char *msg, int line, int col)
{
    expect_error_env(yaml, &no_env, msg, line, col);
}

/* As expect_error, but only the message's beginning is checked. */
static void expect_error_prefix(const char *yaml, const char *prefix)
{
    actr_config_t c;
    actr_error_t e;
    memset(&c, 0x5a, sizeof(c));
    ASSERT_ERR(parse(yaml, &c, &e), ACTR_ECONFIG);
    ASSERT(is_zeroed(&c));
    ASSERT_NULL(strchr(e.msg, '\n'));
    if (strncmp(e.msg, prefix, strlen(prefix)) != 0)
        TEST_FAIL_("message \"%s\" does not start with \"%s\"", e.msg, prefix);
}

/* ---- defaults and keys ------------------------------------------------------ */

static void check_defaults(const actr_config_t *c)
{
    ASSERT_STR_EQ(c->node.name, "actr");
    ASSERT_STR_EQ(c->node.data_dir, "./actr-data");
    ASSERT_EQ(c->scheduler.workers, 0);
    ASSERT_EQ(c->scheduler.batch, 64);
    ASSERT_EQ(c->limits.mailbox, 16384);
    ASSERT_EQ(c->log.level, ACTR_LOG_INFO);
    ASSERT_EQ(c->log.format, ACTR_LOG_TEXT);
    ASSERT_EQ(c->control.enabled, 1);
    ASSERT_STR_EQ(c->control.socket, "./actr-data/control.sock");
    ASSERT_EQ(c->nplugins, 0);
    ASSERT_NULL(c->plugins);
    ASSERT_EQ(c->cluster.enabled, 0);
    ASSERT_STR_EQ(c->cluster.listen, "0.0.0.0:7400");
    ASSERT_EQ(c->cluster.npeers, 0);
    ASSERT_NULL(c->cluster.peers);
    ASSERT_NULL(c->cluster.secret);
    ASSERT_EQ(c->cluster.heartbeat_ms, 1000);
    ASSERT_EQ(c->cluster.dead_after_ms, 5000);
    ASSERT_EQ(c->cluster.max_frame, 8u << 20);
    ASSERT_EQ(c->cluster.max_queue, 64u << 20);
}

TEST_IMPL(config, defaults)
{
    static const char *inputs[] = {"",
                                   "# nothing but a comment\n",
                                   "---\n",
                                   "~\n",
                                   "node:\nscheduler: ~\nlimits: {}\nlog:\ncontrol:\nplugins:\n",
                                   "plugins: []\n"};
    for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
        actr_config_t c;
        actr_error_t e;
        ASSERT_OK(parse(inputs[i], &c, &e));
        ASSERT_STR_EQ(c.file, "test.yaml");
        check_defaults(&c);
        actr_config_free(&c);
        ASSERT(is_zeroed(&c));
        actr_config_free(&c); /* twice is harmless */
    }
    actr_config_free(NULL);
}

TEST_IMPL(config, every_key)
{
    static const char yaml[] = "node:\n"
                               "  name: node-a\n"
                               "  data_dir: /var/lib/actr\n"
                               "scheduler:\n"
                               "  workers: 8\n"
                               "  batch: 100000\n"
                               "limits:\n"
                               "  mailbox: 2147483648\n"
                               "log:\n"
                               "  level: debug\n"
                               "  format: json\n"
                               "control:\n"
                               "  enabled: false\n"
                               "  socket: /run/actr.sock\n"
                               "plugins:\n"
                               "  - path: /opt/echo.so\n"
                               "    actors:\n"
                               "      - name: echo\n"
                               "        type: echo\n"
                               "        args: 7\n"
                               "        count: 10000\n"
                               "        restart: temporary\n"
                               "      - {name: e2, type: echo, restart: transient}\n"
                               "  - path: /opt/kv.so\n";
    actr_config_t c;
    actr_error_t e;
    ASSERT_OK(parse(yaml, &c, &e));
    ASSERT_STR_EQ(c.node.name, "node-a");
    ASSERT_STR_EQ(c.node.data_dir, "/var/lib/actr");
    ASSERT_EQ(c.scheduler.workers, 8);
    ASSERT_EQ(c.scheduler.batch, 100000);
    ASSERT_EQ(c.limits.mailbox, 2147483648u);
    ASSERT_EQ(c.log.level, ACTR_LOG_DEBUG);
    ASSERT_EQ(c.log.format, ACTR_LOG_JSON);
    ASSERT_EQ(c.control.enabled, 0);
    ASSERT_STR_EQ(c.control.socket, "/run/actr.sock");
    ASSERT_EQ(c.nplugins, 2);
    ASSERT_STR_EQ(c.plugins[0].path, "/opt/echo.so");
    ASSERT_EQ(c.plugins[0].line, 16);
    ASSERT_EQ(c.plugins[0].col, 5);
    ASSERT_EQ(c.plugins[0].nactors, 2);
    const actr_actor_conf_t *a = &c.plugins[0].actors[0];
    ASSERT_STR_EQ(a->name, "echo");
    ASSERT_STR_EQ(a->type, "echo");
    ASSERT_EQ(a->args_len, 1);
    ASSERT_EQ(((const unsigned char *)a->args)[0], 7);
    ASSERT_EQ(a->count, 10000);
    ASSERT_EQ(a->restart, ACTR_TEMPORARY);
    ASSERT_EQ(a->line, 18);
    ASSERT_EQ(a->col, 9);
    a = &c.plugins[0].actors[1];
    ASSERT_STR_EQ(a->name, "e2");
    ASSERT_NULL(a->args);
    ASSERT_EQ(a->args_len, 0);
    ASSERT_EQ(a->count, 1);
    ASSERT_EQ(a->restart, ACTR_TRANSIENT);
    ASSERT_EQ(a->line, 23);
    ASSERT_EQ(a->col, 9);
    ASSERT_STR_EQ(c.plugins[1].path, "/opt/kv.so");
    ASSERT_EQ(c.plugins[1].nactors, 0);
    actr_config_free(&c);

    /* Booleans in their other spellings; the socket follows data_dir. */
    ASSERT_OK(parse("control: {enabled: no}\nnode: {data_dir: /tmp/d/}\n", &c, &e));
    ASSERT_EQ(c.control.enabled, 0);
    ASSERT_STR_EQ(c.control.socket, "/tmp/d/control.sock");
    actr_config_free(&c);
    ASSERT_OK(parse("control: {enabled: On}\n", &c, &e));
    ASSERT_EQ(c.control.enabled, 1);
    actr_config_free(&c);
    /* Numbers may be quoted; levels all map. */
    ASSERT_OK(parse("scheduler: {batch: \"7\"}\nlog: {level: error}\n", &c, &e));
    ASSERT_EQ(c.scheduler.batch, 7);
    ASSERT_EQ(c.log.level, ACTR_LOG_ERROR);
    actr_config_free(&c);
    ASSERT_OK(parse("log: {level: warn}\n", &c, &e));
    ASSERT_EQ(c.log.level, ACTR_LOG_WARN);
    actr_config_free(&c);
}

/* ---- environment ------------------------------------------------------------- */

TEST_IMPL(config, env_substitution)
{
    fake_env_t env = {{"HOST", "EMPTY", "N", "DIR", NULL}, {"box", "", "3", "/srv", NULL}};
    static const char yaml[] = "node:\n"
                               "  name: ${HOST}-${MISSING:-x}-${EMPTY:-dflt}-${EMPTY}!\n"
                               "  data_dir: \"${DIR}/$HOME/a$b$/${NOPE:-}\"\n"
                               "control:\n"
                               "  socket: '${DIR}/c.sock'\n"
                               "plugins:\n"
                               "  - path: ${DIR}/p.so\n"
                               "    actors:\n"
                               "      - name: w\n"
                               "        type: t\n"
                               "        count: ${N}\n"
                               "        args:\n"
                               "          - \"${N}\"\n"
                               "          - ${N}\n"
                               "          - ${HOST}\n"
                               "          - '${DIR:-z}'\n";
    actr_config_t c;
    actr_error_t e;
    ASSERT_OK(parse_env(yaml, &env, &c, &e));
    ASSERT_STR_EQ(c.node.name, "box-x-dflt-!");
    ASSERT_STR_EQ(c.node.data_dir, "/srv/$HOME/a$b$/");
    ASSERT_STR_EQ(c.control.socket, "/srv/c.sock");
    ASSERT_STR_EQ(c.plugins[0].path, "/srv/p.so");
    ASSERT_EQ(c.plugins[0].actors[0].count, 3);
    /* A plain scalar is typed after substitution, a quoted one stays a string. */
    const char *s1, *s2, *s3;
    size_t l1, l2, l3;
    int64_t n;
    ASSERT_OK(actr_unpack(c.plugins[0].actors[0].args, c.plugins[0].actors[0].args_len, "[sIss]",
                          &s1, &l1, &n, &s2, &l2, &s3, &l3));
    ASSERT_MEM_STR(s1, l1, "3");
    ASSERT_EQ(n, 3);
    ASSERT_MEM_STR(s2, l2, "box");
    ASSERT_MEM_STR(s3, l3, "/srv");
    actr_config_free(&c);

    /* Keys are not substituted. */
    expect_error_env("${HOST}: 1\n", &env,
                     "test.yaml:1:1: key '${HOST}': unknown key (expected one of: node, "
                     "scheduler, limits, log, control, store, cluster, plugins)",
                     1, 1);
}

TEST_IMPL(config, env_errors)
{
    fake_env_t env = {{"HOST", NULL}, {"box", NULL}};
    /* The column is the reference's own in a one-line plain scalar. */
    expect_error_env("node:\n  name: a-${HOST}-${NOPE}\n", &env,
                     "test.yaml:2:19: key 'node.name': environment variable 'NOPE' is not set "
                     "(write ${NOPE:-default} to give a default)",
                     2, 19);
    expect_error_env("node:\n  name: \"${NOPE}\"\n", &env,
                     "test.yaml:2:9: key 'node.name': environment variable 'NOPE' is not set "
                     "(write ${NOPE:-default} to give a default)",
                     2, 9);
    /* In flow style ({...}, [...]) a reference must be quoted: '{' and '}' end
     * plain scalars there. */
    expect_error_env("plugins:\n  - path: x\n    actors:\n      - {name: a, type: b, args: {k: "
                     "[1, \"${NOPE}\"]}}\n",
                     &env,
                     "test.yaml:4:42: key 'plugins[0].actors[0].args.k[1]': environment "
                     "variable 'NOPE' is not set (write ${NOPE:-default} to give a default)",
                     4, 42);
    expect_error_env("node:\n  name: ${HOST\n", &env,
                     "test.yaml:2:9: key 'node.name': unterminated ${HOST: missing '}'", 2, 9);
    expect_error_env("node:\n  name: \"${HOST:-abc\"\n", &env,
                     "test.yaml:2:9: key 'node.name': unterminated ${HOST:-...}: missing '}'", 2,
                     9);
    expect_error_env("node:\n  name: x${1A}\n", &env,
                     "test.yaml:2:10: key 'node.name': bad variable reference: expected ${NAME} "
                     "or ${NAME:-default} with NAME made of A-Z, a-z, 0-9, _",
                     2, 10);
    expect_error_env("node:\n  name: ${}\n", &env,
                     "test.yaml:2:9: key 'node.name': bad variable reference: expected ${NAME} "
                     "or ${NAME:-default} with NAME made of A-Z, a-z, 0-9, _",
                     2, 9);
    expect_error_env("node:\n  name: ${HOST-x}\n", &env,
                     "test.yaml:2:9: key 'node.name': bad variable reference: expected ${HOST} "
                     "or ${HOST:-default}",
                     2, 9);
    /* Columns count characters, as YAML marks do. */
    expect_error_env("node:\n  name: \xc3\xa9${NOPE}\n", &env,
                     "test.yaml:2:10: key 'node.name': environment variable 'NOPE' is not set "
                     "(write ${NOPE:-default} to give a default)",
                     2, 10);

    /* The expansion is bounded. */
    size_t big = 70000;
    char *huge = malloc(big + 1);
    ASSERT_NOT_NULL(huge);
    memset(huge, 'v', big);
    huge[big] = '\0';
    fake_env_t henv = {{"HUGE", "HALF", NULL}, {huge, huge + big - 40000, NULL}};
    expect_error_env("node:\n  data_dir: ${HUGE}\n", &henv,
                     "test.yaml:2:13: key 'node.data_dir': value is longer than 65536 bytes after "
                     "${} substitution",
                     2, 13);
    expect_error_env("node:\n  data_dir: ${HALF}${HALF}\n", &henv,
                     "test.yaml:2:13: key 'node.data_dir': value is longer than 65536 bytes after "
                     "${} substitution",
                     2, 13);
    free(huge);
}

/* ---- errors ---------------------------------------------------------------- */

TEST_IMPL(config, unknown_keys)
{
    expect_error("scheduler:\n  workerz: 4\n",
                 "test.yaml:2:3: key 'scheduler.workerz': unknown key (did you mean 'workers'? "
                 "expected one of: workers, batch)",
                 2, 3);
    expect_error("scheduler:\n  Batch: 4\n",
                 "test.yaml:2:3: key 'scheduler.Batch': unknown key (did you mean 'batch'? "
                 "expected one of: workers, batch)",
                 2, 3);
    expect_error("nod:\n  name: x\n",
                 "test.yaml:1:1: key 'nod': unknown key (did you mean 'node'? expected one of: "
                 "node, scheduler, limits, log, control, store, cluster, plugins)",
                 1, 1);
    expect_error("services:\n  - name: echo\n",
                 "test.yaml:1:1: key 'services': unknown key (expected one of: node, scheduler, "
                 "limits, log, control, store, cluster, plugins)",
                 1, 1);
    expect_error("plugins:\n  - path: a.so\n    actors:\n      - name: x\n        typ: y\n",
                 "test.yaml:5:9: key 'plugins[0].actors[0].typ': unknown key (did you mean "
                 "'type'? expected one of: name, type, args, count, restart)",
                 5, 9);
    /* A transposition is one edit. */
    expect_error("plugins:\n  - paht: a.so\n",
                 "test.yaml:2:5: key 'plugins[0].paht': unknown key (did you mean 'path'? "
                 "expected one of: path, actors, watch, watch_debounce_ms)",
                 2, 5);
    /* Control characters in a key are shown escaped. */
    expect_error("\"a\\tb\": 1\n",
                 "test.yaml:1:1: key 'a\\tb': unknown key (expected one of: node, scheduler, "
                 "limits, log, control, store, cluster, plugins)",
                 1, 1);
    expect_error("node:\n  ? [a]\n  : b\n",
                 "test.yaml:2:5: key 'node': expected a key (one of: name, data_dir), got a list",
                 2, 5);
}

TEST_IMPL(config, wrong_types)
{
    expect_error("scheduler:\n  batch: lots\n",
                 "test.yaml:2:10: key 'scheduler.batch': expected an integer 1..100000, got "
                 "'lots'",
                 2, 10);
    expect_error("scheduler:\n  workers: 1.5\n",
                 "test.yaml:2:12: key 'scheduler.workers': expected an integer 0..1024, got '1.5'",
                 2, 12);
    expect_error("scheduler:\n  workers:\n",
                 "test.yaml:2:11: key 'scheduler.workers': expected an integer 0..1024, got "
                 "nothing",
                 2, 11);
    expect_error("scheduler:\n  workers: [1]\n",
                 "test.yaml:2:12: key 'scheduler.workers': expected an integer 0..1024, got a list",
                 2, 12);
    expect_error("control:\n  enabled: maybe\n",
                 "test.yaml:2:12: key 'control.enabled': expected true or false, got 'maybe'", 2,
                 12);
    expect_error("log:\n  level: verbose\n",
                 "test.yaml:2:10: key 'log.level': expected one of: debug, info, warn, error, got "
                 "'verbose'",
                 2, 10);
    expect_error("log:\n  level: INFO\n",
                 "test.yaml:2:10: key 'log.level': expected one of: debug, info, warn, error, got "
                 "'INFO' (did you mean 'info'?)",
                 2, 10);
    expect_error("log:\n  format: jsno\n",
                 "test.yaml:2:11: key 'log.format': expected one of: text, json, got 'jsno' (did "
                 "you mean 'json'?)",
                 2, 11);
    expect_error("plugins:\n  - path: a\n    actors:\n      - {name: a, type: b, restart: "
                 "always}\n",
                 "test.yaml:4:37: key 'plugins[0].actors[0].restart': expected one of: permanent, "
                 "transient, temporary, got 'always'",
                 4, 37);
    expect_error("node: [a, b]\n",
                 "test.yaml:1:7: key 'node': expected a mapping with keys: name, data_dir, got a "
                 "list",
                 1, 7);
    expect_error("log: debug\n",
                 "test.yaml:1:6: key 'log': expected a mapping with keys: level, format, got "
                 "'debug'",
                 1, 6);
    expect_error("node:\n  name: {a: 1}\n",
                 "test.yaml:2:9: key 'node.name': expected a string, got a mapping", 2, 9);
    expect_error("node:\n  name:\n",
                 "test.yaml:2:8: key 'node.name': expected a string, got nothing", 2, 8);
    expect_error("plugins:\n  path: a.so\n",
                 "test.yaml:2:3: key 'plugins': expected a list of entries (mappings with keys: "
                 "path, actors, watch, watch_debounce_ms), got a mapping",
                 2, 3);
    expect_error("plugins:\n  - a.so\n",
                 "test.yaml:2:5: key 'plugins[0]': expected a mapping with keys: path, actors, watch, "
                 "watch_debounce_ms, got 'a.so'",
                 2, 5);
    expect_error("- a\n- b\n",
                 "test.yaml:1:1: expected a mapping of sections (node, scheduler, limits, log, "
                 "control, store, cluster, plugins) at the top, got a list",
                 1, 1);
    expect_error("just text\n",
                 "test.yaml:1:1: expected a mapping of sections (node, scheduler, limits, log, "
                 "control, store, cluster, plugins) at the top, got 'just text'",
                 1, 1);
}

TEST_IMPL(config, out_of_range)
{
    expect_error("scheduler:\n  batch: 0\n",
                 "test.yaml:2:10: key 'scheduler.batch': out of range: expected an integer "
                 "1..100000, got 0",
                 2, 10);
    expect_error("scheduler:\n  workers: 1025\n",
                 "test.yaml:2:12: key 'scheduler.workers': out of range: expected an integer "
                 "0..1024, got 1025",
                 2, 12);
    expect_error("scheduler:\n  workers: -1\n",
                 "test.yaml:2:12: key 'scheduler.workers': out of range: expected an integer "
                 "0..1024, got -1",
                 2, 12);
    expect_error("scheduler:\n  workers: 99999999999999999999999\n",
                 "test.yaml:2:12: key 'scheduler.workers': out of range: expected an integer "
                 "0..1024, got 99999999999999999999999",
                 2, 12);
    expect_error("limits:\n  mailbox: 2147483649\n",
                 "test.yaml:2:12: key 'limits.mailbox': out of range: expected an integer "
                 "1..2147483648, got 2147483649",
                 2, 12);
    expect_error("plugins:\n  - path: a\n    actors:\n      - {name: a, type: b, count: 0}\n",
                 "test.yaml:4:35: key 'plugins[0].actors[0].count': out of range: expected an "
                 "integer 1..10000, got 0",
                 4, 35);
    expect_error("plugins:\n  - path: a\n    actors:\n      - {name: a, type: b, count: 10001}\n",
                 "test.yaml:4:35: key 'plugins[0].actors[0].count': out of range: expected an "
                 "integer 1..10000, got 10001",
                 4, 35);
    expect_error("node:\n  name: \"\"\n",
                 "test.yaml:2:9: key 'node.name': expected a string of 1..255 bytes, got 0 bytes",
                 2, 9);
    char yaml[400];
    snprintf(yaml, sizeof(yaml), "node:\n  name: %0256d\n", 0);
    expect_error(yaml,
                 "test.yaml:2:9: key 'node.name': expected a string of 1..255 bytes, got 256 "
                 "bytes",
                 2, 9);
    expect_error("node:\n  name: \"a\\0b\"\n",
                 "test.yaml:2:9: key 'node.name': a NUL byte is not allowed here", 2, 9);
    /* With count N the longest name NAME-N must still fit 255 bytes. */
    snprintf(yaml, sizeof(yaml),
             "plugins:\n  - path: a\n    actors:\n      - name: %0250d\n        type: t\n"
             "        count: 10000\n",
             0);
    expect_error(yaml,
                 "test.yaml:4:9: key 'plugins[0].actors[0].name': with count 10000 the names "
                 "NAME-1..NAME-10000 are longer than 255 bytes",
                 4, 9);
}

TEST_IMPL(config, duplicate_keys)
{
    expect_error("log:\n  level: info\n  level: warn\n",
                 "test.yaml:3:3: key 'log.level': duplicate key (first given at line 2, column 3)",
                 3, 3);
    expect_error("node: {}\nlog: {}\nnode: {}\n",
                 "test.yaml:3:1: key 'node': duplicate key (first given at line 1, column 1)", 3,
                 1);
    expect_error("plugins:\n  - path: a\n    path: b\n",
                 "test.yaml:3:5: key 'plugins[0].path': duplicate key (first given at line 2, "
                 "column 5)",
                 3, 5);
    expect_error("plugins:\n  - path: a\n    actors:\n      - name: a\n        type: b\n"
                 "        args: {x: 1, y: 2, x: 3}\n",
                 "test.yaml:6:28: key 'plugins[0].actors[0].args.x': duplicate key in args "
                 "(first given at line 6, column 16)",
                 6, 28);
    /* Keys compare by value: 1 and 0x1 are one integer. */
    expect_error("plugins:\n  - path: a\n    actors:\n      - name: a\n        type: b\n"
                 "        args: {1: a, \"1\": b, 0x1: c}\n",
                 "test.yaml:6:30: key 'plugins[0].actors[0].args.1': duplicate key in args "
                 "(first given at line 6, column 16)",
                 6, 30);
}

TEST_IMPL(config, yaml_syntax)
{
    expect_error("node:\n\tname: x\n",
                 "test.yaml:2:1: YAML syntax error: found character that cannot start any token "
                 "(a tab; YAML indents with spaces only) while scanning for the next token at line "
                 "2, column 1",
                 2, 1);
    expect_error("node:\n  name: a\n data_dir: b\n",
                 "test.yaml:3:2: YAML syntax error: did not find expected key while parsing a "
                 "block mapping at line 1, column 1",
                 3, 2);
    expect_error("node:\n  name: \"abc\n",
                 "test.yaml:3:1: YAML syntax error: found unexpected end of stream while scanning "
                 "a quoted scalar at line 2, column 9",
                 3, 1);
    expect_error("node:\n  name: 'abc\n",
                 "test.yaml:3:1: YAML syntax error: found unexpected end of stream while scanning "
                 "a quoted scalar at line 2, column 9",
                 3, 1);
    expect_error("node: {name: a\n",
                 "test.yaml:2:1: YAML syntax error: did not find expected ',' or '}' while "
                 "parsing a flow mapping at line 1, column 7",
                 2, 1);
    /* Invalid UTF-8: a reader error, positioned from its byte offset. */
    expect_error("node:\n  name: a\xff\n",
                 "test.yaml:2:10: YAML syntax error: invalid leading UTF-8 octet", 2, 10);
    expect_error("\xef\xbb\xbfnode: {name: a\xff}\n",
                 "test.yaml:1:15: YAML syntax error: invalid leading UTF-8 octet", 1, 15);
    expect_error_prefix("node:\n  name: b: c\n", "test.yaml:2:10: YAML syntax error: mapping "
                                                 "values are not allowed in this context");
    /* Errors later in the stream are found too. */
    expect_error_prefix("node: {}\n...\n\t\n", "test.yaml:3:1: YAML syntax error:");
    expect_error("node: {}\n---\nlog: {}\n",
                 "test.yaml:2:1: a second YAML document; the file must hold exactly one", 2, 1);
    expect_error("node: &n {name: a}\nlog: *n\n",
                 "test.yaml:2:6: key 'log': YAML aliases (*name) are not supported; repeat the "
                 "value",
                 2, 6);
}

TEST_IMPL(config, missing_required)
{
    expect_error("plugins:\n  - actors:\n      - name: a\n        type: t\n",
                 "test.yaml:2:5: key 'plugins[0]': missing required key 'path'", 2, 5);
    expect_error("plugins:\n  - path: a.so\n    actors:\n      - type: t\n",
                 "test.yaml:4:9: key 'plugins[0].actors[0]': missing required key 'name'", 4, 9);
    expect_error("plugins:\n  - path: a.so\n    actors:\n      - name: a\n        type: t\n"
                 "      - {name: b}\n",
                 "test.yaml:6:9: key 'plugins[0].actors[1]': missing required key 'type'", 6, 9);
    expect_error("plugins:\n  - path: a.so\n    actors:\n      - {}\n",
                 "test.yaml:4:9: key 'plugins[0].actors[0]': missing required key 'name'", 4, 9);
}

TEST_IMPL(config, duplicate_names)
{
    /* Two entries with one name, in one plugin and across plugins. */
    expect_error("plugins:\n"
                 "  - path: a.so\n"
                 "    actors:\n"
                 "      - {name: echo, type: echo}\n"
                 "      - {name: echo, type: echo}\n",
                 "test.yaml:5:9: key 'plugins[0].actors[1].name': actor name 'echo' is already "
                 "used by plugins[0].actors[0] at line 4, column 9",
                 5, 9);
    expect_error("plugins:\n"
                 "  - path: a.so\n"
                 "    actors:\n"
                 "      - {name: x, type: echo}\n"
                 "      - {name: echo, type: echo}\n"
                 "  - path: b.so\n"
                 "    actors:\n"
                 "      - {name: echo, type: kv}\n",
                 "test.yaml:8:9: key 'plugins[1].actors[0].name': actor name 'echo' is already "
                 "used by plugins[0].actors[1] at line 5, column 9",
                 8, 9);
    /* count 3 makes w-1..w-3, which meets w-2 ... */
    expect_error("plugins:\n"
                 "  - path: a.so\n"
                 "    actors:\n"
                 "      - {name: w, type: t, count: 3}\n"
                 "  - path: b.so\n"
                 "    actors:\n"
                 "      - {name: w-2, type: t}\n",
                 "test.yaml:7:9: key 'plugins[1].actors[0].name': actor name 'w-2' is already "
                 "used by plugins[0].actors[0] at line 4, column 9 (its count 3 makes names "
                 "w-1..w-3)",
                 7, 9);
    /* ... whichever comes first ... */
    expect_error("plugins:\n"
                 "  - path: a.so\n"
                 "    actors:\n"
                 "      - {name: w-3, type: t}\n"
                 "      - {name: w, type: t, count: 3}\n",
                 "test.yaml:5:9: key 'plugins[0].actors[1].name': actor name 'w-3' is already "
                 "used by plugins[0].actors[0] at line 4, column 9",
                 5, 9);
    /* ... and two expansions of one name meet at NAME-1. */
    expect_error("plugins:\n"
                 "  - path: a.so\n"
                 "    actors:\n"
                 "      - {name: w, type: t, count: 2}\n"
                 "      - {name: w, type: t, count: 5}\n",
                 "test.yaml:5:9: key 'plugins[0].actors[1].name': actor name 'w-1' is already "
                 "used by plugins[0].actors[0] at line 4, column 9 (its count 2 makes names "
                 "w-1..w-2)",
                 5, 9);
    /* Names that do not meet: w-4 beyond count 3, w-02 and w-0 are not made,
     * a count-1 entry named like the base, and x-1-1 vs x-1 with count 1. */
    actr_config_t c;
    actr_error_t e;
    ASSERT_OK(parse("plugins:\n"
                    "  - path: a.so\n"
                    "    actors:\n"
                    "      - {name: w, type: t, count: 3}\n"
                    "      - {name: w-4, type: t}\n"
                    "      - {name: w-02, type: t}\n"
                    "      - {name: w-0, type: t}\n"
                    "      - {name: w, type: t}\n"
                    "      - {name: x-1, type: t, count: 2}\n"
                    "      - {name: x, type: t, count: 1}\n"
                    "      - {name: x-1-3, type: t}\n",
                    &c, &e));
    ASSERT_EQ(c.plugins[0].nactors, 8);
    actr_config_free(&c);
}

/* ---- args ----------------------------------------------------------------- */

static void args_of(const char *value, actr_config_t *c)
{
    char yaml[4096];
    actr_error_t e;
    snprintf(yaml, sizeof(yaml),
             "plugins:\n  - path: a.so\n    actors:\n      - name: a\n        type: t\n"
             "        args: %s\n",
             value);
    int rc = parse(yaml, c, &e);
    if (rc != 0)
        TEST_FAIL_("args %s: %s", value, e.msg);
}

static void expect_args_bytes(const char *value, const char *bytes, size_t n)
{
    actr_config_t c;
    args_of(value, &c);
    const actr_actor_conf_t *a = &c.plugins[0].actors[0];
    ASSERT_EQ(a->args_len, n);
    ASSERT(memcmp(a->args, bytes, n) == 0);
    actr_config_free(&c);
}

TEST_IMPL(config, args_msgpack)
{
    static const char value[] = "\n"
                                "          n1: ~\n"
                                "          n2: null\n"
                                "          n3:\n"
                                "          t: true\n"
                                "          f: False\n"
                                "          dec: 42\n"
                                "          neg: -17\n"
                                "          hex: 0xff\n"
                                "          oct: 0o17\n"
                                "          umax: 18446744073709551615\n"
                                "          imin: -9223372036854775808\n"
                                "          flt: 3.5\n"
                                "          exp: -1e3\n"
                                "          inf: .inf\n"
                                "          qint: \"42\"\n"
                                "          qbool: 'true'\n"
                                "          tagged: !!str 12\n"
                                "          str: hello world\n"
                                "          dollar: a$b\n"
                                "          ver: 1.2.3\n"
                                "          list: [1, two, 3.0, [], {}]\n"
                                "          nested: {a: {b: [x]}}\n"
                                "          block: |\n"
                                "            line1\n"
                                "            line2\n";
    actr_config_t c;
    args_of(value, &c);
    const actr_actor_conf_t *a = &c.plugins[0].actors[0];
    ASSERT_OK(actr_msgpack_check(a->args, a->args_len));
    bool b1 = false, b2 = true;
    int64_t dec, neg, hex, oct, imin, one;
    uint64_t umax;
    double flt, ex, inf, three;
    const char *qint, *qbool, *tagged, *str, *dollar, *ver, *two, *x, *block;
    size_t lqint, lqbool, ltagged, lstr, ldollar, lver, ltwo, lx, lblock;
    ASSERT_OK(actr_unpack(a->args, a->args_len,
                          "{s:n s:n s:n s:b s:b s:I s:I s:I s:I s:U s:I s:f s:f s:f s:s s:s s:s "
                          "s:s s:s s:s s:[Isf[]{}] s:{s:{s:[s]}} s:s}",
                          "n1", "n2", "n3", "t", &b1, "f", &b2, "dec", &dec, "neg", &neg, "hex",
                          &hex, "oct", &oct, "umax", &umax, "imin", &imin, "flt", &flt, "exp", &ex,
                          "inf", &inf, "qint", &qint, &lqint, "qbool", &qbool, &lqbool, "tagged",
                          &tagged, &ltagged, "str", &str, &lstr, "dollar", &dollar, &ldollar, "ver",
                          &ver, &lver, "list", &one, &two, &ltwo, &three, "nested", "a", "b", &x,
                          &lx, "block", &block, &lblock));
    ASSERT_EQ(b1, 1);
    ASSERT_EQ(b2, 0);
    ASSERT_EQ(dec, 42);
    ASSERT_EQ(neg, -17);
    ASSERT_EQ(hex, 255);
    ASSERT_EQ(oct, 15);
    ASSERT(umax == UINT64_MAX);
    ASSERT(imin == INT64_MIN);
    ASSERT(flt == 3.5);
    ASSERT(ex == -1000.0);
    ASSERT(inf > 1e308);
    ASSERT_MEM_STR(qint, lqint, "42");
    ASSERT_MEM_STR(qbool, lqbool, "true");
    ASSERT_MEM_STR(tagged, ltagged, "12");
    ASSERT_MEM_STR(str, lstr, "hello world");
    ASSERT_MEM_STR(dollar, ldollar, "a$b");
    ASSERT_MEM_STR(ver, lver, "1.2.3");
    ASSERT_EQ(one, 1);
    ASSERT_MEM_STR(two, ltwo, "two");
    ASSERT(three == 3.0);
    ASSERT_MEM_STR(x, lx, "x");
    ASSERT_MEM_STR(block, lblock, "line1\nline2\n");
    actr_config_free(&c);

    /* Exact encodings: the shortest forms, as msgpack writers produce. */
    expect_args_bytes("[1, -1, -33, \"a\", 200, -200, 70000, ~]",
                      "\x98\x01\xff\xd0\xdf\xa1"
                      "a"
                      "\xcc\xc8\xd1\xff\x38\xce\x00\x01\x11\x70\xc0",
                      18);
    expect_args_bytes("{}", "\x80", 1);
    expect_args_bytes("5", "\x05", 1);
    expect_args_bytes("\"\"", "\xa0", 1);
    expect_args_bytes("[~]", "\x91\xc0", 2);
    /* A null args is no args, as an absent one. */
    static const char *nulls[] = {"", "~", "null"};
    for (size_t i = 0; i < 3; i++) {
        args_of(nulls[i], &c);
        ASSERT_NULL(c.plugins[0].actors[0].args);
        ASSERT_EQ(c.plugins[0].actors[0].args_len, 0);
        actr_config_free(&c);
    }
    expect_args_bytes("-.inf", "\xcb\xff\xf0\x00\x00\x00\x00\x00\x00", 9);
    /* 16 entries need a 3-byte array header. */
    expect_args_bytes("[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]",
                      "\xdc\x00\x10\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
                      "\x00",
                      19);
    /* A 40-byte string takes str8. */
    expect_args_bytes("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                      "\xd9\x28"
                      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                      42);

    expect_error("plugins:\n  - path: a\n    actors:\n      - {name: a, type: b, args: "
                 "99999999999999999999}\n",
                 "test.yaml:4:34: key 'plugins[0].actors[0].args': integer 99999999999999999999 "
                 "does not fit in 64 bits (quote it for a string)",
                 4, 34);
    expect_error("plugins:\n  - path: a\n    actors:\n      - {name: a, type: b, args: "
                 "{[1]: 2}}\n",
                 "test.yaml:4:35: key 'plugins[0].actors[0].args': a key inside args must be a "
                 "scalar, not a list",
                 4, 35);
}

/* ---- bounds ---------------------------------------------------------------- */

static char *nested(int depth, const char *open, const char *close)
{
    static const char head[] =
        "plugins:\n  - path: a\n    actors:\n      - name: a\n        type: b\n        args: ";
    size_t ol = strlen(open), cl = strlen(close);
    char *s = malloc(sizeof(head) + (size_t)depth * (ol + cl) + 8);
    char *o = s + sizeof(head) - 1;
    memcpy(s, head, sizeof(head) - 1);
    for (int i = 0; i < depth; i++, o += ol)
        memcpy(o, open, ol);
    *o++ = '1';
    for (int i = 0; i < depth; i++, o += cl)
        memcpy(o, close, cl);
    memcpy(o, "\n", 2);
    return s;
}

TEST_IMPL(config, depth_bomb)
{
    actr_config_t c;
    actr_error_t e;
    char *ok = nested(32, "[", "]"), *deep = nested(33, "[", "]");
    ASSERT_OK(parse(ok, &c, &e));
    ASSERT_OK(actr_msgpack_check(c.plugins[0].actors[0].args, c.plugins[0].actors[0].args_len));
    actr_config_free(&c);
    expect_error(deep,
                 "test.yaml:6:47: key 'plugins[0].actors[0].args[0][0][0][0][0][0][0][0][0][0]"
                 "[0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0]': args nest "
                 "deeper than 32 levels",
                 6, 47);
    free(ok);
    free(deep);

    /* Maps nest the same way. */
    deep = nested(40, "{k: ", "}");
    expect_error_prefix(deep, "test.yaml:6:143: key 'plugins[0].actors[0].args.k.k.k.k");
    free(deep);

    /* A bomb: 200,000 open brackets, refused cleanly. */
    deep = nested(200000, "[", "]");
    ASSERT_ERR(parse(deep, &c, &e), ACTR_ECONFIG);
    ASSERT(is_zeroed(&c));
    ASSERT_NOT_NULL(strstr(e.msg, "args nest deeper than 32 levels"));
    free(deep);
    /* Deep nesting where no list is expected at all. */
    {
        size_t n = 300000;
        char *s = malloc(n * 2 + 16);
        memcpy(s, "node: ", 6);
        memset(s + 6, '[', n);
        memset(s + 6 + n, ']', n);
        s[6 + 2 * n] = '\0';
        expect_error_prefix(s, "test.yaml:1:7: key 'node': expected a mapping with keys");
        free(s);
    }
}

TEST_IMPL(config, huge_values)
{
    actr_config_t c;
    actr_error_t e;
    /* An args string of 300 KB: larger than the args bound. */
    size_t n = 300000;
    char *s = malloc(n + 200);
    int off = snprintf(s, 200,
                       "plugins:\n  - path: a\n    actors:\n      - name: a\n        type: b\n"
                       "        args: ");
    memset(s + off, 'x', n);
    s[off + (int)n] = '\0';
    expect_error(s,
                 "test.yaml:6:15: key 'plugins[0].actors[0].args': args are larger than 262144 "
                 "bytes as msgpack",
                 6, 15);
    free(s);

    /* Many small strings that add up past the bound. */
    n = 30000;
    s = malloc(n * 12 + 200);
    off = snprintf(s, 200,
                   "plugins:\n  - path: a\n    actors:\n      - name: a\n        type: b\n"
                   "        args: [");
    for (size_t i = 0; i < n; i++)
        off += sprintf(s + off, "%s\"abcdefgh\"", i ? "," : "");
    strcpy(s + off, "]\n");
    ASSERT_ERR(parse(s, &c, &e), ACTR_ECONFIG);
    ASSERT_NOT_NULL(strstr(e.msg, "args are larger than 262144 bytes as msgpack"));
    ASSERT(is_zeroed(&c));
    free(s);

    /* The input itself is bounded. */
    n = 1024 * 1024 + 1;
    s = malloc(n);
    memset(s, '#', n);
    memset(&c, 0x5a, sizeof(c));
    ASSERT_ERR(actr_config_parse_buf(s, n, "big.yaml", NULL, NULL, &c, &e), ACTR_ECONFIG);
    ASSERT_STR_EQ(e.msg, "big.yaml: the configuration is larger than 1048576 bytes");
    ASSERT(is_zeroed(&c));
    free(s);

    /* Lists are bounded too. */
    n = 1100;
    s = malloc(n * 12 + 32);
    off = sprintf(s, "plugins:\n");
    for (size_t i = 0; i < n; i++)
        off += sprintf(s + off, "- path: a\n");
    ASSERT_ERR(parse(s, &c, &e), ACTR_ECONFIG);
    ASSERT_STR_EQ(e.msg, "test.yaml:1026:3: key 'plugins': more than 1024 entries");
    free(s);
}

/* ---- paths and files -------------------------------------------------------- */

static void expect_path(const char *file, const char *path, const char *want)
{
    char yaml[512];
    actr_config_t c;
    actr_error_t e;
    snprintf(yaml, sizeof(yaml), "plugins:\n  - path: %s\n", path);
    ASSERT_OK(actr_config_parse_buf(yaml, strlen(yaml), file, fake_getenv, &no_env, &c, &e));
    ASSERT_STR_EQ(c.plugins[0].path, want);
    if (file == NULL)
        ASSERT_NULL(c.file);
    else
        ASSERT_STR_EQ(c.file, file);
    actr_config_free(&c);
}

TEST_IMPL(config, relative_paths)
{
    expect_path("conf/dir/runtime.yaml", "plugins/echo.so", "conf/dir/plugins/echo.so");
    expect_path("conf/dir/runtime.yaml", "../echo.so", "conf/dir/../echo.so");
    expect_path("conf/dir/runtime.yaml", "/abs/echo.so", "/abs/echo.so");
    expect_path("/etc/actr/runtime.yaml", "echo.so", "/etc/actr/echo.so");
    expect_path("/runtime.yaml", "echo.so", "/echo.so");
    expect_path("runtime.yaml", "echo.so", "echo.so");
    expect_path(NULL, "echo.so", "echo.so");

    /* Without a file name, errors say <config>. */
    actr_config_t c;
    actr_error_t e;
    ASSERT_ERR(actr_config_parse_buf("x: 1", 4, NULL, NULL, NULL, &c, &e), ACTR_ECONFIG);
    ASSERT_STR_EQ(e.msg, "<config>:1:1: key 'x': unknown key (expected one of: node, scheduler, "
                         "limits, log, control, store, cluster, plugins)");
    /* A NULL err is allowed; bad arguments are EINVAL. */
    ASSERT_ERR(actr_config_parse_buf("x: 1", 4, NULL, NULL, NULL, &c, NULL), ACTR_ECONFIG);
    ASSERT_ERR(actr_config_parse_buf(NULL, 4, NULL, NULL, NULL, &c, &e), ACTR_EINVAL);
    ASSERT_ERR(actr_config_parse_buf("", 0, NULL, NULL, NULL, NULL, &e), ACTR_EINVAL);
}

TEST_IMPL(config, load)
{
    char dir[512], path[600], sub[600];
    actr_config_t c;
    actr_error_t e;
    FILE *f;

    snprintf(dir, sizeof(dir), "%s/test-config-%ld", ACTR_BINARY_DIR, (long)getpid());
    mkdir(dir, 0700);
    snprintf(path, sizeof(path), "%s/runtime.yaml", dir);
    f = fopen(path, "w");
    ASSERT_NOT_NULL(f);
    fputs("node:\n  name: loaded\nplugins:\n  - path: p/echo.so\n", f);
    fclose(f);
    ASSERT_OK(actr_config_load(path, &c, &e));
    ASSERT_STR_EQ(c.node.name, "loaded");
    snprintf(sub, sizeof(sub), "%s/p/echo.so", dir);
    ASSERT_STR_EQ(c.plugins[0].path, sub);
    ASSERT_STR_EQ(c.file, path);
    actr_config_free(&c);

    /* Errors name the file. */
    f = fopen(path, "w");
    fputs("log:\n  level: loud\n", f);
    fclose(f);
    ASSERT_ERR(actr_config_load(path, &c, &e), ACTR_ECONFIG);
    ASSERT(strncmp(e.msg, path, strlen(path)) == 0);
    ASSERT_NOT_NULL(strstr(e.msg, ":2:10: key 'log.level': expected one of"));

    snprintf(sub, sizeof(sub), "%s/missing.yaml", dir);
    memset(&c, 0x5a, sizeof(c));
    ASSERT_ERR(actr_config_load(sub, &c, &e), ACTR_ENOENT);
    ASSERT(is_zeroed(&c));
    ASSERT_EQ(e.code, ACTR_ENOENT);
    ASSERT(strncmp(e.msg, sub, strlen(sub)) == 0);
    ASSERT_NOT_NULL(strstr(e.msg, "No such file or directory"));

    ASSERT_ERR(actr_config_load(dir, &c, &e), -EISDIR);
    ASSERT(strncmp(e.msg, dir, strlen(dir)) == 0);

    /* Too large. */
    f = fopen(path, "w");
    for (int i = 0; i < 1100; i++)
        for (int k = 0; k < 1024; k++)
            fputc(k == 1023 ? '\n' : '#', f);
    fclose(f);
    ASSERT_ERR(actr_config_load(path, &c, &e), ACTR_E2BIG);
    ASSERT(is_zeroed(&c));
    ASSERT(strncmp(e.msg, path, strlen(path)) == 0);
    ASSERT_NOT_NULL(strstr(e.msg, "larger than 1048576 bytes"));

    ASSERT_ERR(actr_config_load(NULL, &c, &e), ACTR_EINVAL);
    unlink(path);
    rmdir(dir);
}

TEST_IMPL(config, root_runtime_yaml)
{
    actr_config_t c;
    actr_error_t e;
    int rc = actr_config_load(ACTR_SOURCE_DIR "/runtime.yaml", &c, &e);
    if (rc != 0)
        TEST_FAIL_("runtime.yaml: %s", e.msg);
    ASSERT_NOT_NULL(c.node.name);
    ASSERT_NOT_NULL(c.control.socket);
    ASSERT_GE(c.nplugins, 1);
    for (size_t i = 0; i < c.nplugins; i++) {
        ASSERT_NOT_NULL(c.plugins[i].path);
        ASSERT_EQ(c.plugins[i].path[0], '/'); /* anchored at the source folder */
        for (size_t j = 0; j < c.plugins[i].nactors; j++)
            if (c.plugins[i].actors[j].args != NULL)
                ASSERT_OK(actr_msgpack_check(c.plugins[i].actors[j].args,
                                             c.plugins[i].actors[j].args_len));
    }
    actr_config_free(&c);
}

/* ---- the cluster section ------------------------------------------------------ */

TEST_IMPL(config, cluster)
{
    static const char yaml[] = "node: {name: node-a.1}\n"
                               "cluster:\n"
                               "  enabled: true\n"
                               "  listen: \"[::1]:7400\"\n"
                               "  peers:\n"
                               "    - 10.0.0.2:7400\n"
                               "    - localhost:7401\n"
                               "    - \"[fe80::1]:9\"\n"
                               "  secret: ${ACTR_CLUSTER_SECRET}\n"
                               "  heartbeat_ms: 250\n"
                               "  dead_after_ms: 3000\n"
                               "  max_frame: 65536\n"
                               "  max_queue: 17179869184\n";
    fake_env_t env = {{"ACTR_CLUSTER_SECRET"}, {"0123456789abcdef0123"}};
    actr_config_t c;
    actr_error_t e;
    ASSERT_OK(parse_env(yaml, &env, &c, &e));
    ASSERT_EQ(c.cluster.enabled, 1);
    ASSERT_STR_EQ(c.cluster.listen, "[::1]:7400");
    ASSERT_EQ(c.cluster.npeers, 3);
    ASSERT_STR_EQ(c.cluster.peers[0], "10.0.0.2:7400");
    ASSERT_STR_EQ(c.cluster.peers[1], "localhost:7401");
    ASSERT_STR_EQ(c.cluster.peers[2], "[fe80::1]:9");
    ASSERT_STR_EQ(c.cluster.secret, "0123456789abcdef0123");
    ASSERT_EQ(c.cluster.heartbeat_ms, 250);
    ASSERT_EQ(c.cluster.dead_after_ms, 3000);
    ASSERT_EQ(c.cluster.max_frame, 65536);
    ASSERT_EQ(c.cluster.max_queue, 16ull << 30);
    actr_config_free(&c);
    ASSERT(is_zeroed(&c));
    ASSERT_OK(parse("cluster: {peers: []}\n", &c, &e));
    ASSERT_EQ(c.cluster.npeers, 0);
    actr_config_free(&c);

    /* an enabled cluster needs a secret, of at least 16 bytes (never shown) */
    expect_error("cluster: {enabled: true}\n",
                 "test.yaml: key 'cluster.secret': required when cluster.enabled is true (the "
                 "shared cluster secret, at least 16 bytes; usually ${ACTR_CLUSTER_SECRET})",
                 0, 0);
    expect_error("cluster:\n  enabled: true\n  secret: short-secret\n",
                 "test.yaml: key 'cluster.secret': expected at least 16 bytes, got 12 (a longer "
                 "random secret, shared by every node)",
                 0, 0);
    expect_error("cluster:\n  enabled: true\n  secret: ${S:-}\n",
                 "test.yaml: key 'cluster.secret': required when cluster.enabled is true (the "
                 "shared cluster secret, at least 16 bytes; usually ${ACTR_CLUSTER_SECRET})",
                 0, 0);
    /* off: a short or empty secret is no error (runtime.yaml's ${VAR:-}) */
    ASSERT_OK(parse("cluster:\n  enabled: ${C:-false}\n  secret: ${S:-}\n", &c, &e));
    ASSERT_STR_EQ(c.cluster.secret, "");
    actr_config_free(&c);
    expect_error("node: {name: \"a b\"}\ncluster: {enabled: true, secret: 0123456789abcdef}\n",
                 "test.yaml: key 'node.name': with cluster.enabled the node name must be 1..64 "
                 "of [A-Za-z0-9_.-], got 'a b'",
                 0, 0);
    /* addresses */
    expect_error("cluster: {listen: 7400}\n",
                 "test.yaml:1:19: key 'cluster.listen': expected HOST:PORT (HOST an IPv4 "
                 "address, [IPv6] or localhost; PORT 0..65535), got '7400'",
                 1, 19);
    expect_error("cluster:\n  peers: [10.0.0.1:1, \"example_org:80\"]\n",
                 "test.yaml:2:23: key 'cluster.peers[1]': expected HOST:PORT (HOST an IPv4 "
                 "address, [IPv6] or a host name; PORT 1..65535), got 'example_org:80'",
                 2, 23);
    expect_error("cluster:\n  peers: [\"10.0.0.1:0\"]\n",
                 "test.yaml:2:11: key 'cluster.peers[0]': expected HOST:PORT (HOST an IPv4 "
                 "address, [IPv6] or a host name; PORT 1..65535), got '10.0.0.1:0'",
                 2, 11);
    expect_error("cluster:\n  peers: [\"-node.example:7400\"]\n",
                 "test.yaml:2:11: key 'cluster.peers[0]': expected HOST:PORT (HOST an IPv4 "
                 "address, [IPv6] or a host name; PORT 1..65535), got '-node.example:7400'",
                 2, 11);
    expect_error("cluster:\n  peers: \"10.0.0.1:1\"\n",
                 "test.yaml:2:10: key 'cluster.peers': expected a list of HOST:PORT (HOST an "
                 "IPv4 address, [IPv6] or a host name; PORT 1..65535), got '10.0.0.1:1'",
                 2, 10);
    /* a host name is a peer (looked up when the node connects), not a listen address */
    ASSERT_OK(parse("cluster:\n  peers: [\"node-b.example.org:7400\", \"db1:7400\"]\n", &c, &e));
    ASSERT_EQ(c.cluster.npeers, 2);
    ASSERT_STR_EQ(c.cluster.peers[0], "node-b.example.org:7400");
    actr_config_free(&c);
    expect_error("cluster: {listen: \"node-b.example.org:7400\"}\n",
                 "test.yaml:1:19: key 'cluster.listen': expected HOST:PORT (HOST an IPv4 "
                 "address, [IPv6] or localhost; PORT 0..65535), got 'node-b.example.org:7400'",
                 1, 19);
    expect_error("cluster:\n  peers: [[a]]\n",
                 "test.yaml:2:11: key 'cluster.peers[0]': expected a string, got a list", 2, 11);
    expect_error("cluster: {max_queue: 1}\n",
                 "test.yaml:1:22: key 'cluster.max_queue': out of range: expected an integer "
                 "65536..17179869184, got 1",
                 1, 22);
    expect_error("cluster: {heartbeats: 1}\n",
                 "test.yaml:1:11: key 'cluster.heartbeats': unknown key (did you mean "
                 "'heartbeat_ms'? expected one of: enabled, listen, peers, secret, heartbeat_ms, "
                 "dead_after_ms, max_frame, max_queue)",
                 1, 11);
}

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
#define _GNU_SOURCE /* pipe2, nftw */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "actr/plugin.h"
#include "task.h"

#define PROGRAM ACTR_BINARY_DIR "/actr"
#define PLUGINS ACTR_BINARY_DIR "/plugins"
#define TEST_PLUGINS ACTR_BINARY_DIR "/tests/plugins"
#define ROOT_CONFIG ACTR_SOURCE_DIR "/runtime.yaml"

#ifdef ACTR_SANITIZED
#define DEADLINE_MS 60000
#else
#define DEADLINE_MS 20000
#endif

/* ---- processes ---------------------------------------------------------- */

typedef struct proc {
    pid_t pid;
    int out_fd, err_fd; /* read ends of the child's stdout and stderr */
    char out[32768], err[32768];
    size_t out_len, err_len;
    int exited, code;
} proc_t;

/* Start PROGRAM with argv (NULL-terminated, without argv[0]); `env` is one
 * "NAME=VALUE" to set in the child, or NULL. */
static void proc_start(proc_t *p, const char *const *args, const char *env)
{
    const char *argv[16];
    int o[2], e[2];
    size_t n = 0;

    memset(p, 0, sizeof(*p));
    argv[n++] = PROGRAM;
    for (; *args != NULL && n < 15; args++)
        argv[n++] = *args;
    argv[n] = NULL;
    ASSERT_EQ(pipe2(o, O_CLOEXEC), 0);
    ASSERT_EQ(pipe2(e, O_CLOEXEC), 0);
    p->pid = fork();
    ASSERT(p->pid >= 0);
    if (p->pid == 0) {
        dup2(o[1], 1);
        dup2(e[1], 2);
        if (env != NULL)
            putenv((char *)env);
        execv(PROGRAM, (char *const *)argv);
        _exit(127);
    }
    close(o[1]);
    close(e[1]);
    p->out_fd = o[0];
    p->err_fd = e[0];
    fcntl(p->out_fd, F_SETFL, O_NONBLOCK);
    fcntl(p->err_fd, F_SETFL, O_NONBLOCK);
}

static void drain(int fd, char *buf, size_t cap, size_t *len)
{
    for (;;) {
        ssize_t n;
        if (fd < 0 || *len + 1 >= cap)
            return;
        n = read(fd, buf + *len, cap - 1 - *len);
        if (n <= 0)
            return;
        *len += (size_t)n;
        buf[*len] = '\0';
    }
}

static void proc_pump(proc_t *p)
{
    drain(p->out_fd, p->out, sizeof(p->out), &p->out_len);
    drain(p->err_fd, p->err, sizeof(p->err), &p->err_len);
}

/* 1 when `needle` has appeared on the child's stderr. */
static int proc_saw(proc_t *p, const char *needle)
{
    proc_pump(p);
    return strstr(p->err, needle) != NULL;
}

/* Wait for the child to exit (killing it at the deadline) and return its exit
 * status; everything it wrote is in out/err. */
static int proc_wait(proc_t *p, int timeout_ms)
{
    uint64_t dl = test_now_ms() + (uint64_t)timeout_ms;
    int status = 0;
    for (;;) {
        struct pollfd fds[2] = {{p->out_fd, POLLIN, 0}, {p->err_fd, POLLIN, 0}};
        pid_t r;
        proc_pump(p);
        r = waitpid(p->pid, &status, WNOHANG);
        if (r == p->pid)
            break;
        if (test_now_ms() > dl) {
            kill(p->pid, SIGKILL);
            waitpid(p->pid, &status, 0);
            TEST_FAIL_("actr did not exit within %d ms; stdout:\n%s\nstderr:\n%s", timeout_ms,
                       p->out, p->err);
        }
        (void)poll(fds, 2, 10); /* wakes on output; at most 10 ms for the exit */
    }
    proc_pump(p);
    close(p->out_fd);
    close(p->err_fd);
    p->out_fd = p->err_fd = -1;
    p->exited = 1;
    if (!WIFEXITED(status))
        TEST_FAIL_("actr died of signal %d; stderr:\n%s", WTERMSIG(status), p->err);
    p->code = WEXITSTATUS(status);
    return p->code;
}

/* Run PROGRAM with args to completion. */
static int run_cmd(proc_t *p, const char *const *args)
{
    proc_start(p, args, NULL);
    return proc_wait(p, DEADLINE_MS);
}

/* ---- scratch folders and configs -------------------------------------------- */

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void make_dir(char *dir /* [64] */)
{
    snprintf(dir, 64, "/tmp/actr-prog-XXXXXX");
    ASSERT_NOT_NULL(mkdtemp(dir));
}

static void remove_dir(const char *dir) { (void)nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS); }

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ASSERT_NOT_NULL(f);
    fputs(text, f);
    ASSERT_EQ(fclose(f), 0);
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf;
    long n;
    ASSERT_NOT_NULL(f);
    ASSERT_EQ(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    ASSERT(n >= 0);
    rewind(f);
    buf = malloc((size_t)n + 1);
    ASSERT_NOT_NULL(buf);
    ASSERT_EQ(fread(buf, 1, (size_t)n, f), n);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

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
    char *text = read_file(ROOT_CONFIG), *a, *b, data[128];
    ASSERT(strstr(text, "path: build/plugins/echo.so") != NULL);
    ASSERT(strstr(text, "path: build/plugins/kv.so") != NULL);
    ASSERT(strstr(text, "./actr-data") != NULL);
    snprintf(data, sizeof(data), "%s/data", dir);
    a = replace_all(text, "path: build/plugins/", "path: " PLUGINS "/");
    b = replace_all(a, "./actr-data", data);
    snprintf(cfg, 256, "%s/runtime.yaml", dir);
    write_file(cfg, b);
    free(text);
    free(a);
    free(b);
}

/* ---- a running node ---------------------------------------------------------- */

typedef struct node {
    char dir[64], cfg[256], sock[256];
    proc_t p;
} node_t;

static void node_start(node_t *n, const char *env)
{
    const char *args[] = {"run", "-c", n->cfg, NULL};
    uint64_t dl = test_now_ms() + DEADLINE_MS;
    proc_start(&n->p, args, env);
    while (!proc_saw(&n->p, " up: ")) {
        struct pollfd fd = {n->p.err_fd, POLLIN, 0};
        int status;
        if (waitpid(n->p.pid, &status, WNOHANG) == n->p.pid) {
            proc_pump(&n->p);
            TEST_FAIL_("the node exited (status 0x%x) before it was up; stderr:\n%s", status,
                       n->p.err);
        }
        if (test_now_ms() > dl) {
            kill(n->p.pid, SIGKILL);
            TEST_FAIL_("the node was not up within %d ms; stderr:\n%s", DEADLINE_MS, n->p.err);
        }
        (void)poll(&fd, 1, 10); /* wakes on output */
    }
}

static void node_stop(node_t *n, int sig)
{
    int code;
    ASSERT_EQ(kill(n->p.pid, sig), 0);
    code = proc_wait(&n->p, DEADLINE_MS);
    if (code != 0)
        TEST_FAIL_("exit %d after signal %d; stderr:\n%s", code, sig, n->p.err);
    ASSERT(strstr(n->p.err, " stopped") != NULL);
    /* the control socket is gone with the node */
    ASSERT_EQ(access(n->sock, F_OK), -1);
}

/* `actr ctl -s SOCK args...`; returns the exit status. */
static int ctl(node_t *n, proc_t *p, const char *a1, const char *a2, const char *a3)
{
    const char *args[] = {"ctl", "-s", n->sock, a1, a2, a3, NULL};
    return run_cmd(p, args);
}

static json_t *parse_json(const char *text)
{
    json_error_t jerr;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &jerr);
    if (j == NULL)
        TEST_FAIL_("not JSON (%s): %s", jerr.text, text);
    return j;
}

static void run_and_signal(int sig)
{
    node_t n;
    proc_t p;
    json_t *j;

    make_dir(n.dir);
    root_config(n.dir, n.cfg);
    snprintf(n.sock, sizeof(n.sock), "%s/data/control.sock", n.dir);
    node_start(&n, NULL);
    ASSERT(strstr(n.p.err, "node actr-dev up: ") != NULL);
    ASSERT(strstr(n.p.err, "2 plugins, 2 actors, control at ") != NULL);
    ASSERT(strstr(n.p.err, n.sock) != NULL);

    if (sig == SIGTERM) {
        /* call echo: the argument comes back as JSON */
        if (ctl(&n, &p, "call", "echo", "{\"a\":1}") != 0)
            TEST_FAIL_("ctl call echo failed:\n%s%s", p.out, p.err);
        j = parse_json(p.out);
        ASSERT(json_is_object(j) && json_object_size(j) == 1);
        ASSERT_EQ(json_integer_value(json_object_get(j, "a")), 1);
        json_decref(j);

        /* actors, with the config file naming the socket (-c) */
        {
            const char *args[] = {"ctl", "-c", n.cfg, "actors", NULL};
            ASSERT_EQ(run_cmd(&p, args), 0);
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
        j = parse_json(p.out);
        ASSERT_EQ(json_integer_value(json_object_get(j, "value")), 42);
        json_decref(j);

        /* a name nobody has: one error line, exit 1 */
        ASSERT_EQ(ctl(&n, &p, "call", "nobody", "{}"), 1);
        ASSERT(strstr(p.err, "actr ctl call: ") != NULL);
        ASSERT_EQ(p.out_len, 0);
        /* an argument that is not JSON */
        ASSERT_EQ(ctl(&n, &p, "call", "echo", "{a:"), 1);
        ASSERT(strstr(p.err, "not valid JSON") != NULL);
        /* a second node on the same control socket is refused before it starts */
        {
            const char *args[] = {"run", "-c", n.cfg, NULL};
            ASSERT_EQ(run_cmd(&p, args), 1);
            ASSERT(strstr(p.err, "key 'control.socket': ") != NULL);
            ASSERT(strstr(p.err, " up: ") == NULL);
        }
        ASSERT_EQ(ctl(&n, &p, "call", "echo", "7"), 0); /* the first one still serves */
        ASSERT_STR_EQ(p.out, "7\n");
        /* integers beyond int64 and binary go through ctl and back exactly */
        ASSERT_EQ(ctl(&n, &p, "call", "echo",
                      "[18446744073709551615, -9223372036854775808, \"$bin:AAEC\"]"), 0);
        ASSERT_STR_EQ(p.out, "[18446744073709551615,-9223372036854775808,\"$bin:AAEC\"]\n");
        /* raw request line */
        ASSERT_EQ(ctl(&n, &p, "raw", "{\"cmd\":\"actors\"}", NULL), 0);
        j = parse_json(p.out);
        ASSERT(json_is_true(json_object_get(j, "ok")));
        json_decref(j);
    }
    node_stop(&n, sig);
    remove_dir(n.dir);
}

TEST_IMPL(program, runs_root_config_serves_ctl_and_stops_on_sigterm) { run_and_signal(SIGTERM); }

TEST_IMPL(program, stops_on_sigint) { run_and_signal(SIGINT); }

/* JSON log lines, count expansion, the environment in the config. */
TEST_IMPL(program, json_logs_and_counted_actors)
{
    node_t n;
    proc_t p;
    char yaml[1024];
    const char *line;
    json_t *j;

    make_dir(n.dir);
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
    write_file(n.cfg, yaml);
    node_start(&n, "NODE_NAME=jsonnode");

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
        j = parse_json(buf);
        ASSERT(json_is_string(json_object_get(j, "time")));
        ASSERT(json_is_string(json_object_get(j, "level")));
        ASSERT(json_object_get(j, "actor") != NULL);
        ASSERT(json_is_string(json_object_get(j, "msg")));
        if (strstr(json_string_value(json_object_get(j, "msg")), " up: ") != NULL)
            ASSERT(strstr(json_string_value(json_object_get(j, "msg")),
                          "node jsonnode up: ") != NULL &&
                   strstr(json_string_value(json_object_get(j, "msg")), "1 plugins, 3 actors"));
        json_decref(j);
    }

    ASSERT_EQ(ctl(&n, &p, "actors", NULL, NULL), 0);
    ASSERT(strstr(p.out, " e-1 ") && strstr(p.out, " e-2 ") && strstr(p.out, " e-3 "));
    ASSERT_EQ(ctl(&n, &p, "call", "e-2", "[1, \"two\", null, true, 2.5]"), 0);
    j = parse_json(p.out);
    ASSERT_EQ(json_array_size(j), 5);
    json_decref(j);
    node_stop(&n, SIGTERM);
    remove_dir(n.dir);
}

TEST_IMPL(program, ctl_without_a_node)
{
    proc_t p;
    const char *args[] = {"ctl", "-s", "/tmp/actr-no-such-node.sock", "actors", NULL};
    ASSERT_EQ(run_cmd(&p, args), 1);
    ASSERT(strstr(p.err, "actr ctl: cannot reach node at /tmp/actr-no-such-node.sock: ") != NULL);
    ASSERT(strstr(p.err, "is `actr run` running?") != NULL);
    {
        const char *bad[] = {"ctl", "-s", "x", "frobnicate", NULL};
        const char *short_call[] = {"ctl", "call", "echo", NULL}; /* no JSON */
        ASSERT_EQ(run_cmd(&p, bad), 2);
        ASSERT_EQ(run_cmd(&p, short_call), 2);
        ASSERT(strstr(p.err, "usage: actr ctl") != NULL);
    }
}

/* ---- check and its refusals --------------------------------------------------- */

TEST_IMPL(program, check_accepts_the_root_config)
{
    char dir[64], cfg[256], want[512];
    proc_t p;
    const char *args[] = {"check", "-c", cfg, NULL};
    make_dir(dir);
    root_config(dir, cfg);
    if (run_cmd(&p, args) != 0)
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
    remove_dir(dir);
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
    make_dir(dir);
    snprintf(path, sizeof(path), "%s/bad.yaml", dir);
    a = replace_all(yaml, "@P", PLUGINS);
    b = replace_all(a, "@D", dir);
    write_file(path, b);
    free(a);
    free(b);
    for (int i = 0; i < 2; i++) {
        const char *args[] = {cmds[i], "-c", path, NULL};
        proc_t p;
        int code = run_cmd(&p, args);
        const char *last = last_line(p.err);
        if (code != 1 || strstr(last, needle1) == NULL ||
            (needle2 && strstr(last, needle2) == NULL) || strstr(p.err, " up: ") != NULL ||
            !names_position(last, path) || !only_logs_before(p.err, last, i == 0) ||
            p.out_len != 0)
            TEST_FAIL_("actr %s: expected exit 1 and one line with \"%s\"%s%s, got exit %d; "
                       "stdout:\n%s\nstderr:\n%s",
                       cmds[i], needle1, needle2 ? " and " : "", needle2 ? needle2 : "", code,
                       p.out, p.err);
    }
    remove_dir(dir);
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
    expect_refused("node:\n  name: ${ACTR_TEST_SURELY_UNSET_VARIABLE}\n", ":2:",
                   "ACTR_TEST_SURELY_UNSET_VARIABLE");
}

TEST_IMPL(program, refuses_missing_plugin_file)
{
    expect_refused("plugins:\n  - path: /nonexistent/x.so\n", ":2:", "key 'plugins[0].path': ");
}

TEST_IMPL(program, refuses_a_file_that_is_not_a_shared_object)
{
    char dir[64], so[128], yaml[512];
    make_dir(dir);
    snprintf(so, sizeof(so), "%s/text.so", dir);
    write_file(so, "this is not an ELF file\n");
    snprintf(yaml, sizeof(yaml),
             "node: {data_dir: @D/d}\nplugins:\n  - path: %s\n  - path: %s\n", PLUGINS "/echo.so",
             so);
    expect_refused(yaml, ":4:", "key 'plugins[1].path': ");
    remove_dir(dir);
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
    proc_t p;
    make_dir(dir);
    snprintf(cfg, sizeof(cfg), "%s/node.yaml", dir);
    snprintf(yaml, sizeof(yaml),
             "node: {data_dir: %s/d}\n"
             "plugins:\n"
             "  - path: %s/echo.so\n"
             "    actors: [{name: echo, type: echo}]\n"
             "  - path: %s/init_fail.so\n"
             "    actors: [{name: doomed, type: init_fail}]\n",
             dir, PLUGINS, TEST_PLUGINS);
    write_file(cfg, yaml);
    if (run_cmd(&p, args) != 1 || strstr(p.err, "the root supervisor exited") == NULL ||
        strstr(p.err, "stopped after a failure") == NULL)
        TEST_FAIL_("expected exit 1 after the supervisor gave up, got %d; stderr:\n%s", p.code,
                   p.err);
    remove_dir(dir);
}

TEST_IMPL(program, refuses_missing_config_file)
{
    proc_t p;
    const char *args[] = {"run", "-c", "/nonexistent/actr.yaml", NULL};
    ASSERT_EQ(run_cmd(&p, args), 1);
    ASSERT(strstr(p.err, "/nonexistent/actr.yaml") != NULL);
    ASSERT(strstr(p.err, " up: ") == NULL);
}

/* ---- plugin info, version, usage ----------------------------------------------- */

TEST_IMPL(program, plugin_info)
{
    proc_t p;
    const char *args[] = {"plugin", "info", PLUGINS "/echo.so", NULL};
    const char *bad[] = {"plugin", "info", ROOT_CONFIG, NULL};
    if (run_cmd(&p, args) != 0)
        TEST_FAIL_("plugin info failed:\n%s", p.err);
    ASSERT(strstr(p.out, "name:      echo\n") != NULL);
    ASSERT(strstr(p.out, "version:   ") != NULL);
    ASSERT(strstr(p.out, "signature: " ACTR_PLUGIN_SIGNATURE "\n") != NULL);
    ASSERT(strstr(p.out, "types:     echo\n") != NULL);
    ASSERT_EQ(run_cmd(&p, bad), 1);
    ASSERT(strstr(p.err, ROOT_CONFIG) != NULL);
    ASSERT_EQ(p.out_len, 0);
}

TEST_IMPL(program, version_and_usage)
{
    proc_t p;
    char want[64];
    const char *v[] = {"version", NULL};
    const char *none[] = {NULL};
    const char *bogus[] = {"frobnicate", NULL};
    const char *extra[] = {"check", "-c", "x", "y", NULL};
    ASSERT_EQ(run_cmd(&p, v), 0);
    snprintf(want, sizeof(want), "actr %s (plugin ABI %d.%d)\n", ACTR_VERSION_STRING,
             ACTR_PLUGIN_ABI_MAJOR, ACTR_PLUGIN_ABI_MINOR);
    ASSERT_STR_EQ(p.out, want);
    ASSERT_EQ(run_cmd(&p, none), 2);
    ASSERT(strstr(p.err, "usage: actr") != NULL);
    ASSERT_EQ(run_cmd(&p, bogus), 2);
    ASSERT_EQ(run_cmd(&p, extra), 2);
}

/* node_harness.c — child `actr` processes and nodes for the integration
 * tests (see node_harness.h): fork/exec with stdout and stderr on pipes read
 * into growing buffers, waits that poll the pipes and waitpid with a
 * deadline, nodes started and stopped by signal, `actr ctl` calls, and the
 * registry of started nodes whose logs a failure prints and whose processes
 * and folders an exit hook removes. No fixed sleeps: every wait polls.
 */
#define _GNU_SOURCE /* pipe2 */
#include "node_harness.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define PROGRAM ACTR_BINARY_DIR "/actr"
#define MAX_ARGS 24
#define MAX_NODES 8

/* ---- one `actr` process ------------------------------------------------------ */

/* An empty, NUL-terminated buffer. */
static void buf_init(char **buf, size_t *len, size_t *cap)
{
    *cap = 65536;
    *buf = malloc(*cap);
    ASSERT_NOT_NULL(*buf);
    (*buf)[0] = '\0';
    *len = 0;
}

void proc_start(proc_t *p, const char *const *args, const char *env, const char *cwd)
{
    const char *argv[MAX_ARGS + 1];
    int o[2], e[2];
    size_t n = 0;

    proc_free(p);
    buf_init(&p->out, &p->out_len, &p->out_cap);
    buf_init(&p->err, &p->err_len, &p->err_cap);
    argv[n++] = PROGRAM;
    for (; *args != NULL; args++) {
        ASSERT(n < MAX_ARGS);
        argv[n++] = *args;
    }
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
        if (cwd != NULL && chdir(cwd) != 0)
            _exit(126);
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

/* Read fd until it would block, growing the buffer. */
static void drain(int fd, char **buf, size_t *len, size_t *cap)
{
    for (;;) {
        if (fd < 0 || *buf == NULL)
            return;
        if (*len + 4096 + 1 > *cap) {
            char *nb = realloc(*buf, *cap * 2);
            ASSERT_NOT_NULL(nb);
            *buf = nb;
            *cap *= 2;
        }
        ssize_t n = read(fd, *buf + *len, *cap - 1 - *len);
        if (n <= 0)
            return;
        *len += (size_t)n;
        (*buf)[*len] = '\0';
    }
}

void proc_pump(proc_t *p)
{
    drain(p->out_fd, &p->out, &p->out_len, &p->out_cap);
    drain(p->err_fd, &p->err, &p->err_len, &p->err_cap);
}

const char *proc_err(proc_t *p)
{
    proc_pump(p);
    return p->err ? p->err : "";
}

int proc_saw(proc_t *p, const char *needle)
{
    proc_pump(p);
    return strstr(p->err, needle) != NULL;
}

int proc_wait_status(proc_t *p, int timeout_ms)
{
    uint64_t dl = test_now_ms() + (uint64_t)timeout_ms;
    int status = 0;
    for (;;) {
        struct pollfd fds[2] = {{p->out_fd, POLLIN, 0}, {p->err_fd, POLLIN, 0}};
        proc_pump(p);
        if (waitpid(p->pid, &status, WNOHANG) == p->pid)
            break;
        if (test_now_ms() > dl) {
            kill(p->pid, SIGKILL);
            waitpid(p->pid, &status, 0);
            proc_pump(p);
            TEST_FAIL_("actr did not exit within %d ms; stdout:\n%s\nstderr:\n%s", timeout_ms,
                       p->out, p->err);
        }
        (void)poll(fds, 2, 10); /* wakes on output; at most 10 ms for the exit */
    }
    proc_pump(p);
    close(p->out_fd);
    close(p->err_fd);
    p->out_fd = p->err_fd = -1;
    return status;
}

int proc_wait(proc_t *p, int timeout_ms)
{
    int status = proc_wait_status(p, timeout_ms);
    if (!WIFEXITED(status))
        TEST_FAIL_("actr died of signal %d; stderr:\n%s", WTERMSIG(status), p->err);
    p->code = WEXITSTATUS(status);
    return p->code;
}

int proc_run(proc_t *p, const char *const *args, const char *cwd)
{
    proc_start(p, args, NULL, cwd);
    return proc_wait(p, DEADLINE_MS);
}

void proc_free(proc_t *p)
{
    free(p->out);
    free(p->err);
    memset(p, 0, sizeof(*p));
    p->out_fd = p->err_fd = -1;
}

/* ---- the registry of started nodes ------------------------------------------------ */

/* One test per process: the nodes it started and has not freed. */
static node_t *started[MAX_NODES];
static int nstarted;

void node_dump_logs(void)
{
    for (int i = 0; i < nstarted; i++) {
        proc_pump(&started[i]->p);
        fprintf(stderr, "---- node %s stderr ----\n%s", started[i]->name,
                started[i]->p.err ? started[i]->p.err : "");
    }
}

/* At exit (a failed check exits at once, inside the test's frame, so the
 * nodes registered are still alive): no node outlives its test, no scratch
 * folder stays. */
static void reap_nodes(void)
{
    for (int i = 0; i < nstarted; i++) {
        node_t *n = started[i];
        if (n->running && n->p.pid > 0) {
            kill(n->p.pid, SIGKILL);
            waitpid(n->p.pid, NULL, 0);
            n->running = 0;
        }
        if (n->dir[0] != '\0')
            test_rmtree(n->dir);
    }
}

static void node_register(node_t *n)
{
    static int reaper;
    for (int i = 0; i < nstarted; i++)
        if (started[i] == n)
            return;
    if (!reaper)
        reaper = atexit(reap_nodes) == 0;
    if (nstarted < MAX_NODES)
        started[nstarted++] = n;
}

/* ---- nodes ------------------------------------------------------------------------ */

static const char *node_label(const node_t *n) { return n->name[0] ? n->name : "(unnamed)"; }

void node_start(node_t *n)
{
    const char *args[] = {"run", "-c", n->cfg, NULL};
    uint64_t dl = test_now_ms() + DEADLINE_MS;
    node_register(n);
    proc_start(&n->p, args, n->env[0] ? n->env : NULL, NULL);
    n->running = 1;
    while (!proc_saw(&n->p, " up: ")) {
        struct pollfd fd = {n->p.err_fd, POLLIN, 0};
        int status;
        if (waitpid(n->p.pid, &status, WNOHANG) == n->p.pid) {
            n->running = 0;
            proc_pump(&n->p);
            TEST_FAIL_("node %s exited (status 0x%x) before it was up; stderr:\n%s", node_label(n),
                       status, n->p.err);
        }
        if (test_now_ms() > dl) {
            kill(n->p.pid, SIGKILL);
            TEST_FAIL_("node %s was not up within %d ms; stderr:\n%s", node_label(n), DEADLINE_MS,
                       n->p.err);
        }
        (void)poll(&fd, 1, 10); /* wakes on output */
    }
}

void node_stop(node_t *n, int sig)
{
    if (!n->running)
        return;
    ASSERT_EQ(kill(n->p.pid, sig), 0);
    int code = proc_wait(&n->p, DEADLINE_MS);
    n->running = 0;
    if (code != 0)
        TEST_FAIL_("node %s: exit %d after signal %d; stderr:\n%s", node_label(n), code, sig,
                   n->p.err);
}

void node_kill9(node_t *n)
{
    ASSERT_EQ(kill(n->p.pid, SIGKILL), 0);
    int status = proc_wait_status(&n->p, DEADLINE_MS);
    ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    n->running = 0;
}

void node_free(node_t *n)
{
    /* forget it: a failed check's exit must not reach a freed node */
    for (int i = 0; i < nstarted; i++)
        if (started[i] == n) {
            started[i] = started[--nstarted];
            break;
        }
    if (n->running) {
        kill(n->p.pid, SIGKILL);
        (void)proc_wait_status(&n->p, DEADLINE_MS);
        n->running = 0;
    }
    proc_free(&n->p);
}

/* ---- actr ctl -------------------------------------------------------------------- */

int node_ctl(node_t *n, proc_t *p, const char *cwd, const char *a1, const char *a2, const char *a3,
             const char *a4)
{
    const char *args[] = {"ctl", "-s", n->sock, a1, a2, a3, a4, NULL};
    return proc_run(p, args, cwd);
}

void node_call_begin(node_t *n, proc_t *p, const char *actor, const char *json, int timeout_ms)
{
    char t[32];
    const char *args[] = {"ctl", "-s", n->sock, "call", actor, json, "--timeout", t, NULL};
    snprintf(t, sizeof(t), "%d", timeout_ms);
    if (timeout_ms <= 0)
        args[6] = NULL;
    proc_start(p, args, NULL, NULL);
}

json_t *node_call_end(proc_t *p, int timeout_ms, char **err)
{
    /* ctl waits timeout_ms (its own 5 s by default) and then some for the trip */
    int code = proc_wait(p, timeout_ms > 0 ? timeout_ms + 10000 : DEADLINE_MS);
    json_t *j = NULL;
    if (code == 0)
        j = test_parse_json(p->out);
    else if (err != NULL)
        *err = strdup(p->err);
    proc_free(p);
    return j;
}

json_t *node_call(node_t *n, const char *actor, const char *json, int timeout_ms)
{
    proc_t p = {0};
    char *err = NULL;
    node_call_begin(n, &p, actor, json, timeout_ms);
    json_t *j = node_call_end(&p, timeout_ms, &err);
    if (j == NULL)
        NODE_FAIL("ctl call %s on %s %s failed: %s\nnode stderr:\n%s", actor, node_label(n), json,
                  err ? err : "?", proc_err(&n->p));
    return j;
}

/* ---- JSON and text ---------------------------------------------------------------- */

json_t *test_parse_json(const char *text)
{
    json_error_t jerr;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &jerr);
    if (j == NULL)
        TEST_FAIL_("not JSON (%s): %s", jerr.text, text);
    return j;
}

int jok(const json_t *j) { return json_is_true(json_object_get(j, "ok")); }

const char *jstr(const json_t *j, const char *key)
{
    const char *s = json_string_value(json_object_get(j, key));
    return s ? s : "";
}

long long jint(const json_t *j, const char *key)
{
    return json_integer_value(json_object_get(j, key));
}

int count_lines_with(const char *text, const char *n1, const char *n2, const char *n3)
{
    int count = 0;
    for (const char *s = text; *s;) {
        const char *nl = strchr(s, '\n');
        size_t len = nl ? (size_t)(nl - s) : strlen(s);
        char *line = strndup(s, len);
        ASSERT_NOT_NULL(line);
        if (strstr(line, n1) && (!n2 || strstr(line, n2)) && (!n3 || strstr(line, n3)))
            count++;
        free(line);
        s += len + (nl != NULL);
    }
    return count;
}

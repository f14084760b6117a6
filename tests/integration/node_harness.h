/* node_harness.h — the `actr` program as child processes, for the
 * integration tests that run real nodes (program, store_node, swap_node,
 * cluster_node, cluster_wire).
 *
 * proc_t runs one `actr` command with its stdout and stderr captured into
 * buffers that grow as the child writes (the child never blocks on a full
 * pipe). node_t is a node started with `actr run -c CFG` and driven with
 * `actr ctl -s SOCK ...`; each test writes its own runtime.yaml. Every wait
 * polls with a deadline (DEADLINE_MS) and fails the test when it passes;
 * nothing sleeps for a fixed time.
 *
 * Ownership: a proc_t or node_t starts zeroed ({0}); proc_free / node_free
 * release it. A node started with node_start is registered until node_free,
 * so that NODE_FAIL prints its log and, when a failed check ends the test
 * process, an exit hook kills it and removes its folder. So every started
 * node gets node_free before its storage goes away.
 */
#ifndef ACTR_TEST_NODE_HARNESS_H
#define ACTR_TEST_NODE_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "files.h"
#include "task.h"

#define PLUGINS ACTR_BINARY_DIR "/plugins"
#define TEST_PLUGINS ACTR_BINARY_DIR "/tests/plugins"

/* How long any single wait may take before the test fails. */
#ifdef ACTR_SANITIZED
#define DEADLINE_MS 60000
#else
#define DEADLINE_MS 20000
#endif

/* ---- one `actr` process ------------------------------------------------------ */

typedef struct proc {
    pid_t pid;
    int out_fd, err_fd; /* read ends of its stdout and stderr; -1 once it ended */
    char *out, *err;    /* all it wrote, NUL-terminated; never NULL once started */
    size_t out_len, err_len, out_cap, err_cap;
    int code; /* exit status, set by proc_wait */
} proc_t;

/* Start `actr` with args (NULL-terminated, without argv[0]); env: one
 * "NAME=VALUE" to set in the child, or NULL; cwd: its folder, or NULL for
 * ours. The output of an earlier run of p is freed. */
void proc_start(proc_t *p, const char *const *args, const char *env, const char *cwd);

/* Read what the child has written so far (never blocks). */
void proc_pump(proc_t *p);

/* Its stderr so far, read now ("" before it started). */
const char *proc_err(proc_t *p);

/* 1 when `needle` has appeared on the child's stderr. */
int proc_saw(proc_t *p, const char *needle);

/* Wait until the child ends (SIGKILL at the deadline, then fail); its status
 * as waitpid gives it. All its output is read. */
int proc_wait_status(proc_t *p, int timeout_ms);

/* proc_wait_status, and the child must have exited (not died of a signal):
 * its exit status, also kept in p->code. */
int proc_wait(proc_t *p, int timeout_ms);

/* Start and wait (DEADLINE_MS): the exit status. */
int proc_run(proc_t *p, const char *const *args, const char *cwd);

/* Free the output buffers (p is zeroed). */
void proc_free(proc_t *p);

/* ---- nodes ------------------------------------------------------------------- */

typedef struct node {
    char name[32]; /* for messages; may be empty */
    char dir[64];  /* the folder the test made for it */
    char data[128], cfg[256], sock[256];
    char env[128]; /* "NAME=VALUE" for its environment, or empty */
    int port;      /* cluster port, when the test gives it one */
    int running;
    proc_t p;
} node_t;

/* `actr run -c n->cfg`, and wait for its " up: " line; fails when the node
 * exits or the deadline passes first. Registers n (see above). */
void node_start(node_t *n);

/* Send `sig` (SIGTERM or SIGINT); the node must exit 0. No-op when it does
 * not run. */
void node_stop(node_t *n, int sig);

/* SIGKILL; the node must die of it. */
void node_kill9(node_t *n);

/* Forget n: kill it when it still runs, free its output. Its folder stays. */
void node_free(node_t *n);

/* Print the stderr of every registered node (to stderr). */
void node_dump_logs(void);

/* TEST_FAIL_ after the logs of all registered nodes. */
#define NODE_FAIL(...)                                                                             \
    do {                                                                                           \
        node_dump_logs();                                                                          \
        TEST_FAIL_(__VA_ARGS__);                                                                   \
    } while (0)

/* `actr ctl -s SOCK a1 a2 a3 a4` (the first NULL ends the list) run in
 * folder cwd (NULL: ours) into p; its exit status. */
int node_ctl(node_t *n, proc_t *p, const char *cwd, const char *a1, const char *a2, const char *a3,
             const char *a4);

/* Start `actr ctl -s SOCK call ACTOR JSON [--timeout MS]` into p without
 * waiting (timeout_ms 0: ctl's default). */
void node_call_begin(node_t *n, proc_t *p, const char *actor, const char *json, int timeout_ms);

/* Wait for a call begun with the same timeout_ms: its reply (json_decref
 * it), or NULL when ctl failed, with a copy of its stderr in *err (free it;
 * err may be NULL). p is freed either way. */
json_t *node_call_end(proc_t *p, int timeout_ms, char **err);

/* A call that must succeed at the ctl level: its reply. */
json_t *node_call(node_t *n, const char *actor, const char *json, int timeout_ms);

/* ---- JSON and text ---------------------------------------------------------------- */

/* Parse JSON text (any value); fails the test when it is not JSON. */
json_t *test_parse_json(const char *text);

/* A reply's "ok" is true. */
int jok(const json_t *j);

/* j[key] as a string ("" when absent), as an integer (0 when absent). */
const char *jstr(const json_t *j, const char *key);
long long jint(const json_t *j, const char *key);

/* The lines of `text` that contain n1 and also n2 and n3 when not NULL. */
int count_lines_with(const char *text, const char *n1, const char *n2, const char *n3);

#endif

/* tests/bench/bench_node.h — two actr nodes as two processes on 127.0.0.1,
 * for the cluster benchmarks (remote_pingpong, remote_stream).
 *
 * bench_node_start forks before any thread exists. The child is node "b": it
 * opens a runtime with the default options, joins a cluster listening on
 * 127.0.0.1 port 0, lets the program spawn the actor it serves (registered
 * under a name, which node "a" finds with actr_lookup), and sends the port it
 * got to the parent through a pipe. The parent is node "a": it reads the
 * port, opens its own runtime and joins the cluster with node "b" as its
 * peer. Both use the same random 32-byte secret, drawn before the fork.
 *
 * The child must never outlive the parent: it asks the kernel for SIGKILL
 * when the parent dies (PR_SET_PDEATHSIG, so even bench_fail's _Exit from a
 * handler takes it down), and otherwise runs until the parent closes the
 * control pipe (bench_node_finish), then closes its runtime and exits 0. A
 * failed check in the child ends it with status 1 (bench_fail), which the
 * parent notices while it waits and fails too. Every wait of the parent has a
 * deadline: a cluster that never comes up fails the run, it never hangs it.
 *
 * Include after bench.h. Linux only (prctl).
 */
#ifndef ACTR_BENCH_NODE_H
#define ACTR_BENCH_NODE_H

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

/* How long node "a" waits for node "b" to listen, and an actor for its peer
 * to be found (the cluster coming up). */
#define BENCH_NODE_UP_MS 30000

typedef struct bench_node {
    bench_rt_t b;     /* this process's runtime and client */
    pid_t child;      /* parent: node "b"'s pid (0 once reaped) */
    int ctl_fd;       /* parent: write end of node "b"'s control pipe */
    int port;         /* the port node "b" listens on */
    unsigned char secret[32];
} bench_node_t;

/* Called in the child (node "b") once its runtime has joined the cluster:
 * spawn the served actor, registered under the name node "a" looks up. */
typedef void (*bench_node_serve_fn)(bench_rt_t *b, void *ud);

/** Fail the bench from the parent: kill node "b" first, then bench_fail. */
#define bench_node_fail(n, ...)                                                                  \
    do {                                                                                       \
        if ((n)->child > 0)                                                                    \
            kill((n)->child, SIGKILL);                                                         \
        bench_fail(__VA_ARGS__);                                                               \
    } while (0)

static inline void bench_node__secret(unsigned char *buf, size_t len)
{
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    size_t got = 0;
    if (fd < 0)
        bench_fail("open /dev/urandom: %s", strerror(errno));
    while (got < len) {
        ssize_t r = read(fd, buf + got, len - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            bench_fail("read /dev/urandom: %s", r < 0 ? strerror(errno) : "end of file");
        got += (size_t)r;
    }
    close(fd);
}

/* Open a runtime (default options), start it, join the cluster as `name`
 * listening on 127.0.0.1 port 0, with `peer` ("HOST:PORT") or none. */
static inline void bench_node__join(bench_node_t *n, const char *name, const char *peer)
{
    actr_cluster_options_t co;
    actr_error_t err;
    const char *peers[1];
    int rc;

    bench_rt_open(&n->b);
    actr_cluster_options_init(&co);
    co.node_name = name;
    co.listen = "127.0.0.1:0";
    if (peer != NULL) {
        peers[0] = peer;
        co.peers = peers;
        co.npeers = 1;
    }
    co.secret = n->secret;
    co.secret_len = sizeof n->secret;
    memset(&err, 0, sizeof err);
    rc = actr_cluster_start(n->b.rt, &co, &err);
    if (rc != 0)
        bench_fail("node %s: actr_cluster_start: %s (%d)%s%s", name, actr_err_name(rc), rc,
                   err.msg[0] ? ": " : "", err.msg);
}

/* The child's whole life; never returns. */
static inline _Noreturn void bench_node__child(bench_node_t *n, pid_t parent, int port_fd,
                                               int ctl_fd, bench_node_serve_fn serve, void *ud)
{
    char c;
    ssize_t r;

    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
        _exit(1); /* the parent is already gone (or we could not tie our life to it) */
    bench_node__join(n, "b", NULL);
    n->port = actr_cluster_port(n->b.rt);
    if (n->port <= 0)
        bench_fail("node b: actr_cluster_port gave %d", n->port);
    serve(&n->b, ud);
    do
        r = write(port_fd, &n->port, sizeof n->port);
    while (r < 0 && errno == EINTR);
    if (r != (ssize_t)sizeof n->port)
        bench_fail("node b: write port: %s", r < 0 ? strerror(errno) : "short write");
    close(port_fd);
    /* Serve until the parent closes the control pipe (or dies: SIGKILL). */
    do
        r = read(ctl_fd, &c, 1);
    while (r > 0 || (r < 0 && errno == EINTR));
    bench_rt_close(&n->b);
    fflush(stderr);
    _exit(0);
}

/* Parent: fail if node "b" has exited; `what` says what we were waiting for. */
static inline void bench_node__check_child(bench_node_t *n, const char *what)
{
    int status;
    pid_t p = waitpid(n->child, &status, WNOHANG);
    if (p == 0 || (p < 0 && errno == EINTR))
        return;
    if (p == n->child) {
        n->child = 0;
        if (WIFEXITED(status))
            bench_fail("node b exited with status %d while %s", WEXITSTATUS(status), what);
        bench_fail("node b was killed by signal %d while %s",
                   WIFSIGNALED(status) ? WTERMSIG(status) : -1, what);
    }
    bench_node_fail(n, "waitpid node b: %s", strerror(errno));
}

/** Fork node "b" (which serves through `serve`), then open this process's
 *  runtime as node "a" with node "b" as its peer. Returns in the parent only. */
static inline void bench_node_start(bench_node_t *n, bench_node_serve_fn serve, void *ud)
{
    int port_pipe[2], ctl_pipe[2];
    pid_t parent = getpid();
    uint64_t deadline;
    size_t got = 0;
    char peer[64];

    memset(n, 0, sizeof *n);
    bench_node__secret(n->secret, sizeof n->secret);
    if (pipe(port_pipe) != 0 || pipe(ctl_pipe) != 0)
        bench_fail("pipe: %s", strerror(errno));
    fflush(stdout);
    fflush(stderr);
    n->child = fork();
    if (n->child < 0)
        bench_fail("fork: %s", strerror(errno));
    if (n->child == 0) {
        close(port_pipe[0]);
        close(ctl_pipe[1]);
        bench_node__child(n, parent, port_pipe[1], ctl_pipe[0], serve, ud);
    }
    close(port_pipe[1]);
    close(ctl_pipe[0]);
    n->ctl_fd = ctl_pipe[1];
    if (fcntl(n->ctl_fd, F_SETFD, FD_CLOEXEC) != 0)
        bench_node_fail(n, "fcntl: %s", strerror(errno));

    /* Node b's port, within the deadline. */
    deadline = bench_now_ns() + (uint64_t)BENCH_NODE_UP_MS * 1000000u;
    while (got < sizeof n->port) {
        struct pollfd pfd = {.fd = port_pipe[0], .events = POLLIN};
        int pr = poll(&pfd, 1, 100);
        ssize_t r;
        if (pr < 0 && errno != EINTR)
            bench_node_fail(n, "poll: %s", strerror(errno));
        if (pr <= 0) {
            bench_node__check_child(n, "starting");
            if (bench_now_ns() > deadline)
                bench_node_fail(n, "node b did not listen within %d s", BENCH_NODE_UP_MS / 1000);
            continue;
        }
        r = read(port_pipe[0], (char *)&n->port + got, sizeof n->port - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            waitpid(n->child, NULL, 0); /* it closed the pipe: it is exiting */
            n->child = 0;
            bench_fail("node b failed before it listened");
        }
        got += (size_t)r;
    }
    close(port_pipe[0]);
    if (n->port <= 0 || n->port > 65535)
        bench_node_fail(n, "node b sent port %d", n->port);
    snprintf(peer, sizeof peer, "127.0.0.1:%d", n->port);
    bench_node__join(n, "a", peer);
}

/** Parent: wait up to timeout_ms for the driver's BENCH_MSG_RESULT, failing
 *  early if node "b" dies meanwhile. The caller frees the result. */
static inline actr_msg_t *bench_node_wait_result(bench_node_t *n, int timeout_ms)
{
    uint64_t deadline = bench_now_ns() + (uint64_t)timeout_ms * 1000000u;
    actr_msg_t *m = NULL;
    for (;;) {
        int rc = actr_client_recv(n->b.client, 100, &m);
        if (rc == 0)
            break;
        if (rc != ACTR_ETIMEDOUT)
            bench_node_fail(n, "actr_client_recv: %s (%d)", actr_err_name(rc), rc);
        bench_node__check_child(n, "the workload ran");
        if (bench_now_ns() > deadline)
            bench_node_fail(n, "no result within %d s (lost message? cluster down?)",
                            timeout_ms / 1000);
    }
    if (actr_msg_type(m) != BENCH_MSG_RESULT)
        bench_node_fail(n, "client got message type %" PRIu32 ", expected the result",
                        actr_msg_type(m));
    return m;
}

/** Parent: close this runtime, tell node "b" to exit, and reap it (killing it
 *  if it does not exit within 10 s). Fails unless it exited with status 0. */
static inline void bench_node_finish(bench_node_t *n)
{
    uint64_t deadline;
    int status = 0;

    bench_rt_close(&n->b);
    close(n->ctl_fd);
    deadline = bench_now_ns() + 10000u * 1000000u;
    for (;;) {
        pid_t p = waitpid(n->child, &status, WNOHANG);
        if (p == n->child)
            break;
        if (p < 0 && errno != EINTR)
            bench_node_fail(n, "waitpid node b: %s", strerror(errno));
        if (bench_now_ns() > deadline)
            bench_node_fail(n, "node b did not exit within 10 s of being told to");
        poll(NULL, 0, 10);
    }
    n->child = 0;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        bench_fail("node b ended with %s %d", WIFEXITED(status) ? "status" : "signal",
                   WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
}

#endif

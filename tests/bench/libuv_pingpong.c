/* tests/bench/libuv_pingpong.c — the yardstick for `remote_pingpong`: two bare
 * libuv processes on 127.0.0.1 ping-pong a 64-byte frame over one TCP
 * connection, N round trips. No actors, no runtime: the loopback round trip
 * plus the least a libuv program must do, which is the bound a cluster
 * transport is compared against.
 *
 *   bench_libuv_pingpong [--quick] [round_trips]          (default 100,000)
 *   -> bench=libuv_pingpong rtt_per_s=... elapsed_s=... round_trips=N frame_bytes=64 impl=libuv
 *
 * The program forks the echo process before any loop exists. The echo
 * process listens on 127.0.0.1 port 0, tells the parent its port through a
 * pipe, accepts one connection and echoes every complete 64-byte frame,
 * checking that frame k carries sequence number k. The parent connects (both
 * ends with TCP_NODELAY), starts the clock, writes frame 0, and writes frame
 * k+1 as soon as frame k is back whole and correct. Writes go straight to the
 * socket (uv_try_write), with a queued uv_write only for what the socket did
 * not take. Reads land in one reused buffer.
 *
 * The echo process dies with the parent (PR_SET_PDEATHSIG) and exits when the
 * connection closes; every wait has a deadline (30 s, or 600 s for the run);
 * any failed check prints `bench=libuv_pingpong FAILED: ...` and exits 1.
 * Uses libuv only.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#define NAME "libuv_pingpong"
#define FRAME 64
#define UP_MS 30000
#define RUN_MS 600000

typedef struct conn {
    uv_loop_t loop;
    uv_tcp_t server, tcp;
    uv_connect_t connect_req;
    uv_write_t write_req;
    uv_timer_t deadline;
    int writing;               /* a uv_write is in flight */
    unsigned char in[FRAME];   /* the frame being read */
    size_t in_len;
    unsigned char out[FRAME];  /* the frame being written */
    unsigned char rbuf[65536]; /* reads land here */
    uint64_t next;             /* sequence number of the next frame expected */
    uint64_t rounds;
    uint64_t t0, t1;
    int is_client;
} conn_t;

static pid_t child_pid; /* parent: the echo process, killed on failure */

static _Noreturn void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static _Noreturn void fail(const char *fmt, ...)
{
    va_list ap;
    if (child_pid > 0)
        kill(child_pid, SIGKILL);
    fprintf(stderr, "bench=" NAME " FAILED: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    _Exit(1);
}

static void check(int rc, const char *what)
{
    if (rc != 0)
        fail("%s: %s", what, uv_strerror(rc));
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void on_deadline(uv_timer_t *t)
{
    conn_t *c = t->data;
    fail("%s: not done within the deadline (at frame %" PRIu64 ")",
         c->is_client ? "client" : "echo", c->next);
}

static void on_write(uv_write_t *req, int status)
{
    conn_t *c = req->data;
    check(status, "write");
    c->writing = 0;
}

/* Write the frame in c->out: straight to the socket, queueing what it refuses. */
static void send_frame(conn_t *c)
{
    uv_buf_t b = uv_buf_init((char *)c->out, FRAME);
    int n;
    if (c->writing)
        fail("a write is still in flight (the peer answered a frame not yet sent?)");
    n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
    if (n == FRAME)
        return;
    if (n < 0 && n != UV_EAGAIN)
        fail("uv_try_write: %s", uv_strerror(n));
    if (n > 0)
        b = uv_buf_init((char *)c->out + n, (unsigned)(FRAME - n));
    c->writing = 1;
    c->write_req.data = c;
    check(uv_write(&c->write_req, (uv_stream_t *)&c->tcp, &b, 1, on_write), "uv_write");
}

static void stamp(unsigned char *f, uint64_t seq)
{
    memset(f, 0xA5, FRAME);
    memcpy(f, &seq, sizeof seq);
}

/* A whole frame arrived: check it and answer (echo) or send the next (client). */
static void on_frame(conn_t *c)
{
    uint64_t seq;
    memcpy(&seq, c->in, sizeof seq);
    if (seq != c->next || c->in[FRAME - 1] != 0xA5)
        fail("%s got frame %" PRIu64 ", expected %" PRIu64, c->is_client ? "client" : "echo",
             seq, c->next);
    c->next++;
    if (!c->is_client) {
        memcpy(c->out, c->in, FRAME);
        send_frame(c);
        return;
    }
    if (c->next == c->rounds) {
        c->t1 = now_ns();
        uv_read_stop((uv_stream_t *)&c->tcp);
        uv_close((uv_handle_t *)&c->tcp, NULL);
        uv_close((uv_handle_t *)&c->deadline, NULL);
        return;
    }
    stamp(c->out, c->next);
    send_frame(c);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    conn_t *c = h->data;
    (void)hint;
    *buf = uv_buf_init((char *)c->rbuf, sizeof c->rbuf);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    conn_t *c = s->data;
    const unsigned char *p = (const unsigned char *)buf->base;
    if (nread == UV_EOF) {
        if (c->is_client)
            fail("the echo process closed the connection at frame %" PRIu64, c->next);
        uv_close((uv_handle_t *)&c->tcp, NULL);
        uv_close((uv_handle_t *)&c->deadline, NULL);
        return;
    }
    if (nread < 0)
        fail("read: %s", uv_strerror((int)nread));
    while (nread > 0) {
        size_t take = FRAME - c->in_len;
        if (take > (size_t)nread)
            take = (size_t)nread;
        memcpy(c->in + c->in_len, p, take);
        c->in_len += take;
        p += take;
        nread -= (ssize_t)take;
        if (c->in_len == FRAME) {
            c->in_len = 0;
            on_frame(c);
        }
    }
}

static void nodelay(conn_t *c)
{
    check(uv_tcp_nodelay(&c->tcp, 1), "uv_tcp_nodelay");
    c->tcp.data = c;
    check(uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read), "uv_read_start");
}

static void on_connection(uv_stream_t *server, int status)
{
    conn_t *c = server->data;
    check(status, "listen");
    check(uv_tcp_init(&c->loop, &c->tcp), "uv_tcp_init");
    check(uv_accept(server, (uv_stream_t *)&c->tcp), "uv_accept");
    uv_close((uv_handle_t *)&c->server, NULL); /* one connection only */
    nodelay(c);
}

static void on_connect(uv_connect_t *req, int status)
{
    conn_t *c = req->data;
    check(status, "connect");
    nodelay(c);
    c->t0 = now_ns();
    stamp(c->out, 0);
    send_frame(c);
}

static void loop_open(conn_t *c, int is_client, int deadline_ms)
{
    memset(c, 0, sizeof *c);
    c->is_client = is_client;
    check(uv_loop_init(&c->loop), "uv_loop_init");
    check(uv_timer_init(&c->loop, &c->deadline), "uv_timer_init");
    c->deadline.data = c;
    check(uv_timer_start(&c->deadline, on_deadline, (uint64_t)deadline_ms, 0), "uv_timer_start");
}

static void loop_close(conn_t *c)
{
    check(uv_run(&c->loop, UV_RUN_DEFAULT), "uv_run");
    check(uv_loop_close(&c->loop), "uv_loop_close");
}

/* The echo process; never returns. */
static _Noreturn void echo_main(pid_t parent, int port_fd, int deadline_ms)
{
    conn_t *c = malloc(sizeof *c);
    struct sockaddr_in addr;
    struct sockaddr_storage name;
    int namelen = (int)sizeof name, port;

    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
        _exit(1);
    if (c == NULL)
        fail("echo: out of memory");
    loop_open(c, 0, deadline_ms);
    check(uv_ip4_addr("127.0.0.1", 0, &addr), "uv_ip4_addr");
    check(uv_tcp_init(&c->loop, &c->server), "uv_tcp_init");
    check(uv_tcp_bind(&c->server, (const struct sockaddr *)&addr, 0), "bind");
    c->server.data = c;
    check(uv_listen((uv_stream_t *)&c->server, 1, on_connection), "listen");
    check(uv_tcp_getsockname(&c->server, (struct sockaddr *)&name, &namelen), "getsockname");
    port = ntohs(((struct sockaddr_in *)&name)->sin_port);
    if (write(port_fd, &port, sizeof port) != (ssize_t)sizeof port)
        fail("echo: write port: %s", strerror(errno));
    close(port_fd);
    loop_close(c);
    free(c);
    _exit(0);
}

/* Fork the echo process; return its port. */
static int start_echo(int deadline_ms)
{
    int fds[2], port = 0;
    pid_t parent = getpid();
    struct pollfd pfd;
    if (pipe(fds) != 0)
        fail("pipe: %s", strerror(errno));
    fflush(stdout);
    child_pid = fork();
    if (child_pid < 0)
        fail("fork: %s", strerror(errno));
    if (child_pid == 0) {
        child_pid = 0;
        close(fds[0]);
        echo_main(parent, fds[1], deadline_ms);
    }
    close(fds[1]);
    pfd.fd = fds[0];
    pfd.events = POLLIN;
    if (poll(&pfd, 1, UP_MS) != 1 || read(fds[0], &port, sizeof port) != (ssize_t)sizeof port)
        fail("the echo process did not tell its port within %d s", UP_MS / 1000);
    close(fds[0]);
    if (port <= 0 || port > 65535)
        fail("the echo process sent port %d", port);
    return port;
}

static uint64_t parse_args(int argc, char **argv, uint64_t dflt, uint64_t quick_dflt, int *quick)
{
    uint64_t n = 0;
    int given = 0, a;
    *quick = 0;
    for (a = 1; a < argc; a++) {
        char *end;
        if (strcmp(argv[a], "--quick") == 0) {
            *quick = 1;
            continue;
        }
        if (strcmp(argv[a], "--help") == 0) {
            printf("usage: %s [--quick] [round_trips]  (default %" PRIu64 ", --quick %" PRIu64
                   ")\n",
                   argv[0], dflt, quick_dflt);
            exit(0);
        }
        errno = 0;
        n = strtoull(argv[a], &end, 10);
        if (given || errno != 0 || *end != '\0' || argv[a][0] < '0' || argv[a][0] > '9' ||
            n == 0 || n > INT_MAX) {
            fprintf(stderr, "usage: %s [--quick] [round_trips]\n", argv[0]);
            exit(2);
        }
        given = 1;
    }
    return given ? n : *quick ? quick_dflt : dflt;
}

int main(int argc, char **argv)
{
    int quick, port, status;
    uint64_t rounds = parse_args(argc, argv, 100000, 2000, &quick);
    int deadline_ms = quick ? UP_MS : RUN_MS;
    conn_t *c;
    struct sockaddr_in addr;
    double elapsed;

    port = start_echo(deadline_ms + UP_MS);
    c = malloc(sizeof *c);
    if (c == NULL)
        fail("out of memory");
    loop_open(c, 1, deadline_ms);
    c->rounds = rounds;
    check(uv_ip4_addr("127.0.0.1", port, &addr), "uv_ip4_addr");
    check(uv_tcp_init(&c->loop, &c->tcp), "uv_tcp_init");
    c->connect_req.data = c;
    check(uv_tcp_connect(&c->connect_req, &c->tcp, (const struct sockaddr *)&addr, on_connect),
          "uv_tcp_connect");
    loop_close(c);
    if (c->next != rounds)
        fail("%" PRIu64 " round trips completed, expected %" PRIu64, c->next, rounds);
    elapsed = (double)(c->t1 - c->t0) / 1e9;
    free(c);

    /* The echo process sees the connection close and exits 0. */
    if (waitpid(child_pid, &status, 0) != child_pid)
        fail("waitpid: %s", strerror(errno));
    child_pid = 0;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail("the echo process ended with %s %d", WIFEXITED(status) ? "status" : "signal",
             WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    printf("bench=" NAME " rtt_per_s=%.0f elapsed_s=%.6f round_trips=%" PRIu64
           " frame_bytes=%d impl=libuv\n",
           elapsed > 0 ? (double)rounds / elapsed : 0.0, elapsed, rounds, FRAME);
    return 0;
}

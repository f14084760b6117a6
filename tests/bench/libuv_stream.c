/* tests/bench/libuv_stream.c — the yardstick for `remote_stream`: two bare
 * libuv processes on 127.0.0.1, one streams N 64-byte frames to the other over
 * one TCP connection, writes batched into 64 KiB buffers, and the receiver
 * answers once when it has counted them all. No actors, no runtime: the bound
 * a cluster transport's one-way throughput is compared against.
 *
 *   bench_libuv_stream [--quick] [frames]          (default 50,000,000)
 *   -> bench=libuv_stream frames_per_s=... elapsed_s=... frames=N frame_bytes=64 batch_bytes=65536 impl=libuv
 *
 * The program forks the receiver before any loop exists. The receiver listens
 * on 127.0.0.1 port 0, tells the parent its port through a pipe, accepts one
 * connection, reads into a reused 256 KiB buffer, and checks that frame k
 * carries sequence number k (frames split across reads are reassembled). When
 * it has all N it writes an 8-byte acknowledgement carrying N. The parent
 * connects, starts the clock, fills 64 KiB buffers with 1,024 frames each and
 * keeps up to four uv_write calls in flight, refilling a buffer when its write
 * completes; the clock stops when the acknowledgement arrives.
 *
 * The receiver dies with the parent (PR_SET_PDEATHSIG) and exits when the
 * connection closes; every wait has a deadline (30 s, or 600 s for the run);
 * any failed check prints `bench=libuv_stream FAILED: ...` and exits 1.
 * Uses libuv only.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
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

#define NAME "libuv_stream"
#define FRAME 64
#define BATCH 65536 /* bytes per write */
#define NBUF 4      /* writes in flight */
#define RBUF (256 * 1024)
#define UP_MS 30000
#define RUN_MS 600000

typedef struct wbuf {
    uv_write_t req;
    struct conn *c;
    unsigned char data[BATCH];
} wbuf_t;

typedef struct conn {
    uv_loop_t loop;
    uv_tcp_t server, tcp;
    uv_connect_t connect_req;
    uv_write_t ack_req;
    uv_timer_t deadline;
    int is_client;
    uint64_t frames;          /* N */
    uint64_t next;            /* receiver: next sequence number expected; sender: next to send */
    unsigned char carry[FRAME]; /* receiver: a frame split across reads */
    size_t carry_len;
    uint64_t ack;             /* the acknowledgement (receiver: sent; sender: read) */
    size_t ack_len;
    int done;
    uint64_t t0, t1;
    wbuf_t *bufs;             /* sender: NBUF write buffers */
    unsigned char *rbuf;      /* reads land here */
} conn_t;

static pid_t child_pid; /* parent: the receiver, killed on failure */

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
         c->is_client ? "sender" : "receiver", c->next);
}

static void finish(conn_t *c)
{
    c->done = 1;
    uv_read_stop((uv_stream_t *)&c->tcp);
    uv_close((uv_handle_t *)&c->tcp, NULL);
    uv_close((uv_handle_t *)&c->deadline, NULL);
}

/* ---- sender -------------------------------------------------------------------- */

static void on_batch_written(uv_write_t *req, int status);

/* Fill buffer b with the next frames and write it; 0 when none are left. */
static int write_batch(conn_t *c, wbuf_t *b)
{
    size_t n = 0;
    uv_buf_t ub;
    while (n + FRAME <= BATCH && c->next < c->frames) {
        memcpy(b->data + n, &c->next, sizeof c->next);
        n += FRAME;
        c->next++;
    }
    if (n == 0)
        return 0;
    ub = uv_buf_init((char *)b->data, (unsigned)n);
    b->req.data = b;
    check(uv_write(&b->req, (uv_stream_t *)&c->tcp, &ub, 1, on_batch_written), "uv_write");
    return 1;
}

static void on_batch_written(uv_write_t *req, int status)
{
    wbuf_t *b = req->data;
    if (status == UV_ECANCELED && b->c->done)
        return;
    check(status, "write");
    write_batch(b->c, b);
}

/* ---- receiver -------------------------------------------------------------------- */

static void on_ack_written(uv_write_t *req, int status)
{
    (void)req;
    check(status, "write ack");
}

static void frame(conn_t *c, const unsigned char *f)
{
    uint64_t seq;
    memcpy(&seq, f, sizeof seq);
    if (seq != c->next)
        fail("receiver got frame %" PRIu64 ", expected %" PRIu64, seq, c->next);
    c->next++;
}

static void received(conn_t *c, const unsigned char *p, size_t n)
{
    if (c->carry_len > 0) {
        size_t take = FRAME - c->carry_len;
        if (take > n)
            take = n;
        memcpy(c->carry + c->carry_len, p, take);
        c->carry_len += take;
        p += take;
        n -= take;
        if (c->carry_len < FRAME)
            return;
        frame(c, c->carry);
        c->carry_len = 0;
    }
    while (n >= FRAME) {
        frame(c, p);
        p += FRAME;
        n -= FRAME;
    }
    memcpy(c->carry, p, n);
    c->carry_len = n;
    if (c->next > c->frames)
        fail("receiver got %" PRIu64 " frames, more than %" PRIu64, c->next, c->frames);
    if (c->next == c->frames && c->carry_len == 0 && c->ack_len == 0) {
        uv_buf_t ub;
        c->ack = c->next;
        c->ack_len = sizeof c->ack;
        ub = uv_buf_init((char *)&c->ack, sizeof c->ack);
        check(uv_write(&c->ack_req, (uv_stream_t *)&c->tcp, &ub, 1, on_ack_written),
              "uv_write ack");
    }
}

/* ---- both ------------------------------------------------------------------------ */

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    conn_t *c = h->data;
    (void)hint;
    *buf = uv_buf_init((char *)c->rbuf, RBUF);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    conn_t *c = s->data;
    if (nread == UV_EOF) {
        if (c->is_client)
            fail("the receiver closed the connection before its acknowledgement");
        if (c->next != c->frames)
            fail("the sender closed the connection after %" PRIu64 " of %" PRIu64 " frames",
                 c->next, c->frames);
        finish(c);
        return;
    }
    if (nread < 0)
        fail("read: %s", uv_strerror((int)nread));
    if (!c->is_client) {
        received(c, (const unsigned char *)buf->base, (size_t)nread);
        return;
    }
    /* The sender reads only the acknowledgement. */
    if (c->ack_len + (size_t)nread > sizeof c->ack)
        fail("sender: the receiver sent more than its acknowledgement");
    memcpy((unsigned char *)&c->ack + c->ack_len, buf->base, (size_t)nread);
    c->ack_len += (size_t)nread;
    if (c->ack_len == sizeof c->ack) {
        c->t1 = now_ns();
        if (c->ack != c->frames || c->next != c->frames)
            fail("receiver counted %" PRIu64 ", sender sent %" PRIu64 ", expected %" PRIu64,
                 c->ack, c->next, c->frames);
        finish(c);
    }
}

static void start_reading(conn_t *c)
{
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
    start_reading(c);
}

static void on_connect(uv_connect_t *req, int status)
{
    conn_t *c = req->data;
    int i;
    check(status, "connect");
    start_reading(c);
    c->t0 = now_ns();
    for (i = 0; i < NBUF; i++)
        if (!write_batch(c, &c->bufs[i]))
            break;
}

static conn_t *loop_open(int is_client, uint64_t frames, int deadline_ms)
{
    conn_t *c = calloc(1, sizeof *c);
    int i;
    if (c == NULL || (c->rbuf = malloc(RBUF)) == NULL ||
        (is_client && (c->bufs = calloc(NBUF, sizeof *c->bufs)) == NULL))
        fail("out of memory");
    c->is_client = is_client;
    c->frames = frames;
    for (i = 0; is_client && i < NBUF; i++) {
        c->bufs[i].c = c;
        memset(c->bufs[i].data, 0xA5, BATCH);
    }
    check(uv_loop_init(&c->loop), "uv_loop_init");
    check(uv_timer_init(&c->loop, &c->deadline), "uv_timer_init");
    c->deadline.data = c;
    check(uv_timer_start(&c->deadline, on_deadline, (uint64_t)deadline_ms, 0), "uv_timer_start");
    return c;
}

static void loop_close(conn_t *c)
{
    check(uv_run(&c->loop, UV_RUN_DEFAULT), "uv_run");
    check(uv_loop_close(&c->loop), "uv_loop_close");
    free(c->rbuf);
    free(c->bufs);
    free(c);
}

/* The receiver; never returns. */
static _Noreturn void receiver_main(pid_t parent, int port_fd, uint64_t frames, int deadline_ms)
{
    conn_t *c;
    struct sockaddr_in addr;
    struct sockaddr_storage name;
    int namelen = (int)sizeof name, port;

    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
        _exit(1);
    c = loop_open(0, frames, deadline_ms);
    check(uv_ip4_addr("127.0.0.1", 0, &addr), "uv_ip4_addr");
    check(uv_tcp_init(&c->loop, &c->server), "uv_tcp_init");
    check(uv_tcp_bind(&c->server, (const struct sockaddr *)&addr, 0), "bind");
    c->server.data = c;
    check(uv_listen((uv_stream_t *)&c->server, 1, on_connection), "listen");
    check(uv_tcp_getsockname(&c->server, (struct sockaddr *)&name, &namelen), "getsockname");
    port = ntohs(((struct sockaddr_in *)&name)->sin_port);
    if (write(port_fd, &port, sizeof port) != (ssize_t)sizeof port)
        fail("receiver: write port: %s", strerror(errno));
    close(port_fd);
    loop_close(c);
    _exit(0);
}

/* Fork the receiver; return its port. */
static int start_receiver(uint64_t frames, int deadline_ms)
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
        close(fds[0]);
        receiver_main(parent, fds[1], frames, deadline_ms);
    }
    close(fds[1]);
    pfd.fd = fds[0];
    pfd.events = POLLIN;
    if (poll(&pfd, 1, UP_MS) != 1 || read(fds[0], &port, sizeof port) != (ssize_t)sizeof port)
        fail("the receiver did not tell its port within %d s", UP_MS / 1000);
    close(fds[0]);
    if (port <= 0 || port > 65535)
        fail("the receiver sent port %d", port);
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
            printf("usage: %s [--quick] [frames]  (default %" PRIu64 ", --quick %" PRIu64 ")\n",
                   argv[0], dflt, quick_dflt);
            exit(0);
        }
        errno = 0;
        n = strtoull(argv[a], &end, 10);
        if (given || errno != 0 || *end != '\0' || argv[a][0] < '0' || argv[a][0] > '9' ||
            n == 0 || n > (uint64_t)1 << 40) {
            fprintf(stderr, "usage: %s [--quick] [frames]\n", argv[0]);
            exit(2);
        }
        given = 1;
    }
    return given ? n : *quick ? quick_dflt : dflt;
}

int main(int argc, char **argv)
{
    int quick, port, status;
    uint64_t frames = parse_args(argc, argv, 50000000, 100000, &quick);
    int deadline_ms = quick ? UP_MS : RUN_MS;
    conn_t *c;
    struct sockaddr_in addr;
    double elapsed;

    port = start_receiver(frames, deadline_ms + UP_MS);
    c = loop_open(1, frames, deadline_ms);
    check(uv_ip4_addr("127.0.0.1", port, &addr), "uv_ip4_addr");
    check(uv_tcp_init(&c->loop, &c->tcp), "uv_tcp_init");
    c->connect_req.data = c;
    check(uv_tcp_connect(&c->connect_req, &c->tcp, (const struct sockaddr *)&addr, on_connect),
          "uv_tcp_connect");
    check(uv_run(&c->loop, UV_RUN_DEFAULT), "uv_run");
    if (!c->done || c->ack != frames)
        fail("the run ended without the receiver's acknowledgement");
    elapsed = (double)(c->t1 - c->t0) / 1e9;
    loop_close(c);

    /* The receiver sees the connection close and exits 0. */
    if (waitpid(child_pid, &status, 0) != child_pid)
        fail("waitpid: %s", strerror(errno));
    child_pid = 0;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail("the receiver ended with %s %d", WIFEXITED(status) ? "status" : "signal",
             WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    printf("bench=" NAME " frames_per_s=%.0f elapsed_s=%.6f frames=%" PRIu64
           " frame_bytes=%d batch_bytes=%d impl=libuv\n",
           elapsed > 0 ? (double)frames / elapsed : 0.0, elapsed, frames, FRAME, BATCH);
    return 0;
}

/* control.c — the node's local control socket (actr/control.h): the server
 * side (the Unix socket, its threads, the limits, reading request lines and
 * writing reply lines) and the client side that sends one request. What a
 * request line asks and what its reply says is control_cmds.c's business
 * (control_int.h).
 *
 * Threads. actr_control_start binds and listens, then starts the server
 * thread, which polls the listening socket and the read end of a self-pipe.
 * Each accepted connection gets a worker thread, at most MAX_CONN at once
 * (one more waits up to FULL_WAIT_MS for a slot, then is told EBUSY and is
 * closed), so a slow or idle client delays nobody else. A worker reads
 * lines, answers each (actr__ctl_handle), and the client context
 * (actr_client_open) that a command opens on its first call is closed on
 * the same thread when the connection ends. actr_control_stop writes one
 * byte to the self-pipe and never reads it: the pipe stays readable, so it
 * wakes the server thread and every worker, each of which polls it next to
 * its own descriptor. A worker waiting for an actor's reply waits in slices
 * of ACTR__CTL_SLICE_MS and checks the stop flag between them. Nothing else
 * in a worker blocks (reads and writes are non-blocking, behind poll with a
 * deadline), so stop can wait for the workers with a bound.
 *
 * Limits, so that a client can neither exhaust the node nor hold it: a
 * request line is at most MAX_LINE bytes (longer: an E2BIG reply, then the
 * connection is closed); a line must be complete within LINE_MS of its first
 * byte and the next one must start within IDLE_MS; a reply must be taken
 * within WRITE_MS; a call waits at most its timeout_ms (1..3600000,
 * control_cmds.c).
 *
 * The socket file gets mode 0600 by chmod between bind and listen: until
 * listen nobody can connect, so no one can slip in while the mode is wider
 * (and the process-wide umask, shared with other threads, is left alone).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "actr.h"
#include "control_int.h"
#include "util.h"

#define MAX_LINE (1u << 20)    /* bytes of one request line, newline excluded */
#define MAX_REPLY (256u << 20) /* bytes of one reply line the client accepts */
#define MAX_CONN 16            /* connections served at once */
#define LINE_MS 10000          /* a started request line must end within this */
#define IDLE_MS 60000          /* a connection with no request for this long is closed */
#define WRITE_MS 10000         /* a reply must be taken by the client within this */
#define FULL_WAIT_MS 1000      /* with all slots taken, wait this long for one */
#define STOP_WAIT_MS 5000      /* actr_control_stop waits this long for workers */

typedef struct conn {
    struct conn *next;
    struct actr_control *ctl;
    int fd;
    pthread_t th;
    bool done; /* the thread has finished (under ctl->mu) */
} conn_t;

struct actr_control {
    actr_t *rt;
    char *path;
    int lfd;
    int wake_r, wake_w; /* self-pipe: readable once stop has begun */
    pthread_t th;
    pthread_mutex_t mu; /* guards conns, nlive */
    pthread_cond_t cv;  /* signalled when a worker finishes */
    conn_t *conns;      /* workers not joined yet */
    unsigned nlive;     /* workers still running */
    /* Set by stop before it wakes anyone; read by workers between slices of
     * a call. Relaxed is enough: it only makes a worker end sooner, and the
     * pipe (a syscall) is the real wake-up and ordering point. */
    atomic_bool stopping;
};

/* ---- small helpers ----------------------------------------------------- */

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int ms_left(uint64_t deadline)
{
    if (deadline == UINT64_MAX)
        return -1; /* no deadline: poll waits forever */
    uint64_t now = now_ms();
    if (now >= deadline)
        return 0;
    return deadline - now > INT_MAX ? INT_MAX : (int)(deadline - now);
}

/* Start a thread with every signal blocked: signals are for the thread the
 * embedder chose (e.g. the actr program's main thread), not for ours. */
static int start_thread(pthread_t *th, void *(*fn)(void *), void *arg)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(th, NULL, fn, arg);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc == 0 ? 0 : -rc;
}

/* Make fd non-blocking and close-on-exec (portable: no accept4/pipe2). */
static int set_flags(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0)
        return -1;
    int fdfl = fcntl(fd, F_GETFD);
    if (fdfl < 0 || fcntl(fd, F_SETFD, fdfl | FD_CLOEXEC) != 0)
        return -1;
    return 0;
}

/* Write all of buf to a non-blocking socket before `deadline`; also gives up
 * when `wake` (if >= 0) becomes readable. Returns 0, ACTR_ETIMEDOUT,
 * ACTR_ECANCELED or -errno. */
static int write_all(int fd, const char *buf, size_t len, uint64_t deadline, int wake)
{
    while (len > 0) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n > 0) {
            buf += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            return -errno;
        struct pollfd p[2] = {{fd, POLLOUT, 0}, {wake, POLLIN, 0}};
        int left = ms_left(deadline);
        if (left == 0)
            return ACTR_ETIMEDOUT;
        int r = poll(p, wake >= 0 ? 2 : 1, left);
        if (r < 0 && errno != EINTR)
            return -errno;
        if (wake >= 0 && (p[1].revents & POLLIN))
            return ACTR_ECANCELED;
    }
    return 0;
}

/* ---- connections --------------------------------------------------------- */

/* Send one reply line; false when the connection should end. */
static bool send_line(actr_control_t *ctl, int fd, char *reply)
{
    if (reply == NULL)
        reply = actr__ctl_error(ACTR_ENOMEM, "out of memory");
    if (reply == NULL)
        return false;
    size_t n = strlen(reply);
    reply[n] = '\n'; /* replaces the NUL: the length is known */
    int rc = write_all(fd, reply, n + 1, now_ms() + WRITE_MS, ctl->wake_r);
    free(reply);
    return rc == 0;
}

static void serve(conn_t *c)
{
    actr_control_t *ctl = c->ctl;
    actr_ctx_t *client = NULL;
    size_t cap = 4096, have = 0, scanned = 0;
    char *buf = malloc(cap);
    uint64_t idle_since = now_ms(), line_since = 0;

    while (buf != NULL) {
        char *nl = memchr(buf + scanned, '\n', have - scanned);
        if (nl != NULL) {
            size_t len = (size_t)(nl - buf), used = len + 1;
            *nl = '\0';
            if (len > 0 && buf[len - 1] == '\r')
                buf[--len] = '\0';
            if (len > MAX_LINE) {
                send_line(
                    ctl, c->fd,
                    actr__ctl_error(ACTR_E2BIG, "request line longer than %u bytes", MAX_LINE));
                break;
            }
            if (memchr(buf, '\0', len) != NULL) {
                send_line(ctl, c->fd,
                          actr__ctl_error(ACTR_EINVAL, "request line contains a NUL byte"));
                break;
            }
            if (!send_line(ctl, c->fd, actr__ctl_handle(ctl->rt, &ctl->stopping, &client, buf)))
                break;
            have -= used;
            memmove(buf, nl + 1, have);
            scanned = 0;
            idle_since = now_ms();
            line_since = 0;
            continue;
        }
        scanned = have;
        if (have > MAX_LINE) {
            send_line(ctl, c->fd,
                      actr__ctl_error(ACTR_E2BIG, "request line longer than %u bytes", MAX_LINE));
            break;
        }
        uint64_t deadline = have > 0 ? line_since + LINE_MS : idle_since + IDLE_MS;
        struct pollfd p[2] = {{c->fd, POLLIN, 0}, {ctl->wake_r, POLLIN, 0}};
        int r = poll(p, 2, ms_left(deadline));
        if (r < 0 && errno != EINTR)
            break;
        if (p[1].revents & POLLIN)
            break; /* stopping */
        if (r == 0) {
            if (have > 0)
                send_line(ctl, c->fd,
                          actr__ctl_error(ACTR_ETIMEDOUT, "request line not completed within %d ms",
                                          LINE_MS));
            break;
        }
        if (p[0].revents == 0)
            continue;
        if (cap - have < 4096) {
            size_t nc = cap * 2;
            char *nb = nc <= 2 * (size_t)MAX_LINE + 8192 ? realloc(buf, nc) : NULL;
            if (nb == NULL)
                break;
            buf = nb;
            cap = nc;
        }
        ssize_t n = recv(c->fd, buf + have, cap - have - 1, 0);
        if (n == 0)
            break; /* the client is done */
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
                continue;
            break;
        }
        if (have == 0)
            line_since = now_ms();
        have += (size_t)n;
    }
    free(buf);
    actr_client_close(client);
}

static void *conn_main(void *arg)
{
    conn_t *c = arg;
    actr_control_t *ctl = c->ctl;
    serve(c);
    close(c->fd);
    pthread_mutex_lock(&ctl->mu);
    c->done = true;
    ctl->nlive--;
    pthread_cond_broadcast(&ctl->cv);
    pthread_mutex_unlock(&ctl->mu);
    return NULL;
}

/* Join the workers that have finished (server thread, or stop). */
static void reap(actr_control_t *ctl)
{
    conn_t *done = NULL;
    pthread_mutex_lock(&ctl->mu);
    for (conn_t **pp = &ctl->conns; *pp != NULL;) {
        conn_t *c = *pp;
        if (c->done) {
            *pp = c->next;
            c->next = done;
            done = c;
        } else {
            pp = &c->next;
        }
    }
    pthread_mutex_unlock(&ctl->mu);
    while (done != NULL) {
        conn_t *c = done;
        done = c->next;
        pthread_join(c->th, NULL);
        free(c);
    }
}

/* Refuse a connection with one error line (best effort, never blocks). */
static void refuse(int fd, int code, const char *msg)
{
    char *r = actr__ctl_error(code, "%s", msg);
    if (r != NULL) {
        size_t n = strlen(r);
        r[n] = '\n';
        ssize_t w = send(fd, r, n + 1, MSG_NOSIGNAL | MSG_DONTWAIT);
        (void)w;
        free(r);
    }
    close(fd);
}

static void *server_main(void *arg)
{
    actr_control_t *ctl = arg;
    for (;;) {
        reap(ctl);
        struct pollfd p[2] = {{ctl->lfd, POLLIN, 0}, {ctl->wake_r, POLLIN, 0}};
        int r = poll(p, 2, -1);
        if (r < 0 && errno != EINTR)
            break;
        if (p[1].revents & POLLIN)
            break;
        if (!(p[0].revents & POLLIN))
            continue;
        int fd = accept(ctl->lfd, NULL, NULL);
        if (fd >= 0 && set_flags(fd) != 0) {
            close(fd);
            continue;
        }
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                /* out of descriptors: back off instead of spinning on POLLIN */
                struct pollfd w = {ctl->wake_r, POLLIN, 0};
                if (poll(&w, 1, 100) > 0)
                    break;
            }
            continue;
        }
        conn_t *c = calloc(1, sizeof(*c));
        pthread_mutex_lock(&ctl->mu);
        /* All slots taken: give a finishing worker a moment (clients that
         * reconnect at once can be ahead of the thread that served their
         * last connection) before refusing. */
        uint64_t deadline = now_ms() + FULL_WAIT_MS;
        while (ctl->nlive >= MAX_CONN &&
               !atomic_load_explicit(&ctl->stopping, memory_order_relaxed)) {
            int left = ms_left(deadline);
            if (left == 0)
                break;
            struct timespec ts;
            actr__deadline_us(CLOCK_REALTIME, (uint64_t)left * 1000u, &ts);
            pthread_cond_timedwait(&ctl->cv, &ctl->mu, &ts);
        }
        bool full = ctl->nlive >= MAX_CONN;
        if (!full && c != NULL) {
            c->ctl = ctl;
            c->fd = fd;
            if (start_thread(&c->th, conn_main, c) == 0) {
                ctl->nlive++;
                c->next = ctl->conns;
                ctl->conns = c;
                c = NULL;
                fd = -1;
            }
        }
        pthread_mutex_unlock(&ctl->mu);
        if (fd >= 0)
            refuse(fd, full ? ACTR_EBUSY : ACTR_ENOMEM,
                   full ? "too many control connections at once; try again"
                        : "cannot serve this connection now (out of resources)");
        free(c);
    }
    return NULL;
}

/* ---- start / stop -------------------------------------------------------- */

static int fill_addr(struct sockaddr_un *sa, const char *path, actr_error_t *err)
{
    size_t n = strlen(path);
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    if (n == 0)
        return actr__fail(err, ACTR_EINVAL, "control socket path is empty");
    if (n >= sizeof(sa->sun_path))
        return actr__fail(err, ACTR_EINVAL,
                          "control socket path %s is %zu bytes long; a Unix socket path must be "
                          "shorter than %zu bytes",
                          path, n, sizeof(sa->sun_path));
    memcpy(sa->sun_path, path, n + 1);
    return 0;
}

/* Make room at `path`: nothing there, or a socket nobody listens on (removed).
 * A live socket is ACTR_EBUSY; anything that is not a socket is refused. */
static int clear_path(const struct sockaddr_un *sa, const char *path, actr_error_t *err)
{
    struct stat st;
    if (lstat(path, &st) != 0) {
        if (errno == ENOENT)
            return 0;
        return actr__fail(err, -errno, "control socket %s: %s", path, strerror(errno));
    }
    if (!S_ISSOCK(st.st_mode))
        return actr__fail(err, ACTR_EEXIST,
                          "control socket %s: the path exists and is not a socket", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return actr__fail(err, -errno, "control socket %s: socket: %s", path, strerror(errno));
    int rc = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
    int e = errno;
    close(fd);
    if (rc == 0 || e == EAGAIN)
        return actr__fail(err, ACTR_EBUSY,
                          "control socket %s is in use: another node is serving it", path);
    if (e != ECONNREFUSED)
        return actr__fail(err, -e, "control socket %s: cannot probe the existing socket: %s", path,
                          strerror(e));
    if (unlink(path) != 0 && errno != ENOENT)
        return actr__fail(err, -errno, "control socket %s: cannot remove the stale socket: %s",
                          path, strerror(errno));
    return 0;
}

static void control_free(actr_control_t *ctl)
{
    if (ctl->lfd >= 0)
        close(ctl->lfd);
    if (ctl->wake_r >= 0)
        close(ctl->wake_r);
    if (ctl->wake_w >= 0)
        close(ctl->wake_w);
    pthread_mutex_destroy(&ctl->mu);
    pthread_cond_destroy(&ctl->cv);
    free(ctl->path);
    free(ctl);
}

int actr_control_start(actr_t *rt, const char *path, actr_control_t **out, actr_error_t *err)
{
    struct sockaddr_un sa;
    int rc, pfd[2];

    if (err != NULL)
        memset(err, 0, sizeof(*err));
    if (out != NULL)
        *out = NULL;
    if (rt == NULL || path == NULL || out == NULL)
        return actr__fail(err, ACTR_EINVAL,
                          "actr_control_start: runtime, path and out are required");
    if ((rc = fill_addr(&sa, path, err)) != 0 || (rc = clear_path(&sa, path, err)) != 0)
        return rc;

    actr_control_t *ctl = calloc(1, sizeof(*ctl));
    if (ctl == NULL || (ctl->path = strdup(path)) == NULL) {
        free(ctl);
        return actr__fail(err, ACTR_ENOMEM, "control socket %s: out of memory", path);
    }
    ctl->rt = rt;
    ctl->lfd = ctl->wake_r = ctl->wake_w = -1;
    pthread_mutex_init(&ctl->mu, NULL);
    pthread_cond_init(&ctl->cv, NULL);
    atomic_init(&ctl->stopping, false);

    ctl->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (ctl->lfd < 0) {
        rc = actr__fail(err, -errno, "control socket %s: socket: %s", path, strerror(errno));
        goto fail_free;
    }
    if (bind(ctl->lfd, (const struct sockaddr *)&sa, sizeof(sa)) != 0) {
        int e = errno;
        if (e == EADDRINUSE)
            rc = actr__fail(err, ACTR_EBUSY,
                            "control socket %s is in use: another node is serving it", path);
        else
            rc = actr__fail(err, -e, "control socket %s: bind: %s", path, strerror(e));
        goto fail_free;
    }
    /* From here on the file is ours: failures remove it. */
    if (chmod(path, 0600) != 0) {
        rc = actr__fail(err, -errno, "control socket %s: chmod 0600: %s", path, strerror(errno));
        goto fail_unlink;
    }
    if (listen(ctl->lfd, 64) != 0) {
        rc = actr__fail(err, -errno, "control socket %s: listen: %s", path, strerror(errno));
        goto fail_unlink;
    }
    if (pipe(pfd) != 0) {
        rc = actr__fail(err, -errno, "control socket %s: pipe: %s", path, strerror(errno));
        goto fail_unlink;
    }
    ctl->wake_r = pfd[0];
    ctl->wake_w = pfd[1];
    if (set_flags(pfd[0]) != 0 || set_flags(pfd[1]) != 0) {
        rc = actr__fail(err, -errno, "control socket %s: pipe flags: %s", path, strerror(errno));
        goto fail_unlink;
    }
    if ((rc = start_thread(&ctl->th, server_main, ctl)) != 0) {
        rc = actr__fail(err, rc, "control socket %s: cannot start its thread: %s", path,
                        strerror(-rc));
        goto fail_unlink;
    }
    *out = ctl;
    return 0;

fail_unlink:
    unlink(path);
fail_free:
    control_free(ctl);
    return rc;
}

void actr_control_stop(actr_control_t *ctl)
{
    if (ctl == NULL)
        return;
    atomic_store_explicit(&ctl->stopping, true, memory_order_relaxed);
    pthread_mutex_lock(&ctl->mu);
    pthread_cond_broadcast(&ctl->cv); /* a server thread waiting for a free slot */
    pthread_mutex_unlock(&ctl->mu);
    ssize_t w;
    do {
        w = write(ctl->wake_w, "x", 1);
    } while (w < 0 && errno == EINTR);
    pthread_join(ctl->th, NULL);
    /* No new connection from here: close and remove the socket first. */
    close(ctl->lfd);
    ctl->lfd = -1;
    unlink(ctl->path);

    uint64_t deadline = now_ms() + STOP_WAIT_MS;
    pthread_mutex_lock(&ctl->mu);
    while (ctl->nlive > 0) {
        struct timespec ts;
        int left = ms_left(deadline);
        if (left == 0)
            break;
        actr__deadline_us(CLOCK_REALTIME, (uint64_t)left * 1000u, &ts);
        pthread_cond_timedwait(&ctl->cv, &ctl->mu, &ts);
    }
    bool leftover = ctl->nlive > 0;
    pthread_mutex_unlock(&ctl->mu);
    reap(ctl);
    if (leftover) {
        /* A worker is stuck where it should not be; it still uses ctl, so
         * leave ctl (and it) alone rather than free memory under it. */
        fprintf(stderr, "actr: control socket %s: a connection did not end within %d ms\n",
                ctl->path, STOP_WAIT_MS);
        return;
    }
    control_free(ctl);
}

/* ---- client side ----------------------------------------------------------- */

int actr_control_request(const char *path, const char *request, int timeout_ms, char **reply,
                         actr_error_t *err)
{
    struct sockaddr_un sa;
    int rc;

    if (err != NULL)
        memset(err, 0, sizeof(*err));
    if (reply != NULL)
        *reply = NULL;
    if (path == NULL || request == NULL || reply == NULL)
        return actr__fail(err, ACTR_EINVAL,
                          "actr_control_request: path, request and reply are required");
    if ((rc = fill_addr(&sa, path, err)) != 0)
        return rc;
    /* a negative timeout waits as long as it takes */
    uint64_t deadline = timeout_ms < 0 ? UINT64_MAX : now_ms() + (uint64_t)timeout_ms;

    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return actr__fail(err, -errno, "control socket %s: socket: %s", path, strerror(errno));
    for (;;) {
        if (connect(fd, (const struct sockaddr *)&sa, sizeof(sa)) == 0)
            break;
        int e = errno;
        if (e == EINTR)
            continue;
        if (e == EAGAIN && ms_left(deadline) != 0) {
            /* the listen backlog is full: try again shortly */
            poll(NULL, 0, 5);
            continue;
        }
        close(fd);
        if (e == ENOENT)
            return actr__fail(err, -e, "no control socket at %s (is the node running?)", path);
        if (e == ECONNREFUSED)
            return actr__fail(
                err, -e, "nothing listens on %s (a stale socket of a node that is gone?)", path);
        if (e == EAGAIN)
            return actr__fail(err, ACTR_ETIMEDOUT,
                              "control socket %s: busy, could not connect within %d ms", path,
                              timeout_ms);
        return actr__fail(err, -e, "control socket %s: connect: %s", path, strerror(e));
    }

    /* One line: raw newlines (pretty-printed JSON) become spaces. */
    size_t n = strlen(request);
    char *line = malloc(n + 2);
    if (line == NULL) {
        close(fd);
        return actr__fail(err, ACTR_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++)
        line[i] = request[i] == '\n' || request[i] == '\r' ? ' ' : request[i];
    line[n] = '\n';
    line[n + 1] = '\0';
    rc = write_all(fd, line, n + 1, deadline, -1);
    free(line);
    /* A server that refuses a request (too long, too many connections)
     * answers and closes before reading all of it: read that answer. */
    if (rc == -EPIPE || rc == -ECONNRESET)
        rc = 0;
    if (rc != 0) {
        close(fd);
        if (rc == ACTR_ETIMEDOUT)
            return actr__fail(err, rc, "control socket %s: request not taken within %d ms", path,
                              timeout_ms);
        return actr__fail(err, rc, "control socket %s: sending the request: %s", path,
                          actr_strerror(rc));
    }

    size_t cap = 4096, have = 0;
    char *buf = malloc(cap);
    rc = buf ? 0 : actr__fail(err, ACTR_ENOMEM, "out of memory");
    while (rc == 0) {
        if (cap - have < 2) {
            size_t nc = cap * 2;
            char *nb = nc <= (size_t)MAX_REPLY + 2 ? realloc(buf, nc) : NULL;
            if (nb == NULL) {
                rc = actr__fail(err, ACTR_EPROTO, "control socket %s: reply longer than %u bytes",
                                path, MAX_REPLY);
                break;
            }
            buf = nb;
            cap = nc;
        }
        ssize_t got = recv(fd, buf + have, cap - have - 1, 0);
        if (got > 0) {
            /* look for the newline in what just arrived */
            char *p = memchr(buf + have, '\n', (size_t)got);
            have += (size_t)got;
            if (p != NULL) {
                *p = '\0';
                *reply = buf;
                close(fd);
                return 0;
            }
            continue;
        }
        if (got == 0) {
            rc = actr__fail(err, ACTR_EPROTO,
                            "control socket %s: connection closed before a full reply", path);
            break;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            rc = actr__fail(err, -errno, "control socket %s: receiving the reply: %s", path,
                            strerror(errno));
            break;
        }
        struct pollfd p = {fd, POLLIN, 0};
        int left = ms_left(deadline);
        if (left == 0 || poll(&p, 1, left) == 0)
            rc = actr__fail(err, ACTR_ETIMEDOUT, "control socket %s: no reply within %d ms", path,
                            timeout_ms);
    }
    free(buf);
    close(fd);
    return rc;
}

/* cluster_out.c — the outbound half of the cluster's link layer: per-peer
 * queues of encoded frames, the send calls of cluster_int.h, and the two
 * ways queued bytes reach the socket.
 *
 * A frame is encoded once, into the peer's queue: the header (wire.h) into
 * an inline segment, the payload copied next to it when small, or referenced
 * (the message kept alive by its refcount) when large. Payload bytes are
 * never re-encoded. The queue is bounded in bytes (max_queue): a send that
 * would pass the bound fails with ACTR_EAGAIN and queues nothing.
 *
 * Writes. Waking the I/O thread costs tens of microseconds, so the sending
 * thread writes itself: a worker remembers the peers its activation queued
 * for (cl->dirty[worker]) and actr__cluster_flush, at the end of the
 * activation, writes each peer's whole queue with one sendmsg on the socket
 * (non-blocking, under the peer's lock); other threads write at once. Bytes
 * the socket does not take are left queued and the I/O thread is asked, once
 * (the kick list; one wake-up for any number of kicks), to finish them with
 * uv_write. While that uv_write is in flight (c->inflight) nobody else
 * writes to the socket, so libuv's writes and the direct ones never
 * interleave; when it completes the I/O thread writes what came meanwhile,
 * and only when the queue is empty do direct writes resume.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "cluster_link.h"

#define IOV_BATCH 64

static void seg_release(actr__conn_t *c, actr__seg_t *s, actr_ctx_t *ctx)
{
    if (s->m != NULL) {
        actr__msg_unref(ctx, s->m);
        free(s);
    } else if (c->spare == NULL && s->cap == ACTR__CL_SEG) {
        s->len = 0;
        s->nframes = 0;
        s->next = NULL;
        c->spare = s;
    } else {
        free(s);
    }
}

static actr__seg_t *seg_inline(actr__conn_t *c, size_t need)
{
    actr__seg_t *s;
    if (need <= ACTR__CL_SEG && c->spare != NULL) {
        s = c->spare;
        c->spare = NULL;
    } else {
        size_t cap = need <= ACTR__CL_SEG ? ACTR__CL_SEG : need;
        s = malloc(sizeof(*s) + cap);
        if (s == NULL)
            return NULL;
        s->cap = (uint32_t)cap;
    }
    s->next = NULL;
    s->m = NULL;
    s->len = 0;
    s->nframes = 0;
    return s;
}

static void seg_append(actr__conn_t *c, actr__seg_t *s)
{
    if (c->qtail != NULL)
        c->qtail->next = s;
    else
        c->qhead = s;
    c->qtail = s;
}

/* Room for `need` contiguous bytes at the end of the queue (c->mu held). */
static actr__seg_t *tail_room(actr__conn_t *c, size_t need)
{
    actr__seg_t *t = c->qtail;
    /* the head segment may be partly written; appending to it is still fine */
    if (t != NULL && t->m == NULL && t->cap - t->len >= need)
        return t;
    actr__seg_t *s = seg_inline(c, need);
    if (s == NULL)
        return NULL;
    seg_append(c, s);
    return s;
}

void actr__conn_free_spare(actr__conn_t *c)
{
    free(c->spare);
    c->spare = NULL;
}

void actr__conn_drop_queue(actr__conn_t *c, actr_ctx_t *ctx)
{
    actr__seg_t *lists[2] = {c->whead, c->qhead};
    for (int i = 0; i < 2; i++) {
        actr__seg_t *s = lists[i];
        while (s != NULL) {
            actr__seg_t *nx = s->next;
            if (s->m != NULL)
                actr__msg_unref(ctx, s->m);
            free(s);
            s = nx;
        }
    }
    c->whead = c->qhead = c->qtail = NULL;
    c->qoff = 0;
    c->qbytes = c->qframes = c->wbytes = c->wframes = 0;
}

/* ---- writing ---------------------------------------------------------------------- */

int actr__conn_write_now(actr__conn_t *c, actr_ctx_t *ctx)
{
    if (c->broken)
        return -EPIPE;
    if (c->inflight || c->fd < 0)
        return c->qhead != NULL;
    while (c->qhead != NULL) {
        struct iovec iov[IOV_BATCH];
        int n = 0;
        size_t total = 0;
        uint32_t off = c->qoff;
        for (actr__seg_t *s = c->qhead; s != NULL && n < IOV_BATCH; s = s->next) {
            const uint8_t *base = s->m != NULL ? ACTR__MSG_DATA(s->m) : s->data;
            if (s->len > off) {
                iov[n].iov_base = (void *)(base + off);
                iov[n].iov_len = s->len - off;
                total += iov[n].iov_len;
                n++;
            }
            off = 0;
        }
        ssize_t w = 0;
        if (n > 0) {
            struct msghdr mh;
            memset(&mh, 0, sizeof(mh));
            mh.msg_iov = iov;
            mh.msg_iovlen = (size_t)n;
            do
                w = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
            while (w < 0 && errno == EINTR);
            if (w < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK)
                    return 1;
                c->broken = 1;
                return -errno;
            }
        }
        c->bytes_out += (uint64_t)w;
        c->qbytes -= (uint64_t)w;
        /* drop what was written */
        size_t left = (size_t)w;
        while (c->qhead != NULL) {
            actr__seg_t *s = c->qhead;
            size_t rest = s->len - c->qoff;
            if (left < rest) {
                c->qoff += (uint32_t)left;
                break;
            }
            left -= rest;
            c->qoff = 0;
            c->qhead = s->next;
            if (c->qhead == NULL)
                c->qtail = NULL;
            c->frames_out += s->nframes;
            c->qframes -= s->nframes;
            seg_release(c, s, ctx);
        }
        if ((size_t)w < total)
            return 1; /* the socket is full */
    }
    return 0;
}

static void on_uv_write(uv_write_t *req, int status);

void actr__conn_uv_write(actr__conn_t *c)
{
    size_t n = 0;
    for (actr__seg_t *s = c->qhead; s != NULL; s = s->next)
        n++;
    if (n == 0)
        return;
    if (n > c->capwbufs) {
        size_t cap = c->capwbufs ? c->capwbufs : 16;
        while (cap < n)
            cap *= 2;
        uv_buf_t *nb = realloc(c->wbufs, cap * sizeof(*nb));
        if (nb == NULL)
            return; /* retried at the next kick or tick */
        c->wbufs = nb;
        c->capwbufs = cap;
    }
    size_t i = 0;
    uint32_t off = c->qoff;
    uint64_t bytes = 0, frames = 0;
    for (actr__seg_t *s = c->qhead; s != NULL; s = s->next) {
        const uint8_t *base = s->m != NULL ? ACTR__MSG_DATA(s->m) : s->data;
        c->wbufs[i++] = uv_buf_init((char *)(base + off), s->len - off);
        bytes += s->len - off;
        frames += s->nframes;
        off = 0;
    }
    c->whead = c->qhead;
    c->qhead = c->qtail = NULL;
    c->qoff = 0;
    c->wbytes = bytes;
    c->wframes = frames;
    c->inflight = 1;
    c->wreq.data = c;
    int rc = uv_write(&c->wreq, (uv_stream_t *)&c->tcp, c->wbufs, (unsigned)i, on_uv_write);
    if (rc != 0) {
        /* no callback comes: put the segments back and let the close path
         * free them */
        actr__seg_t *last = c->whead;
        while (last->next != NULL)
            last = last->next;
        last->next = c->qhead;
        if (c->qhead == NULL)
            c->qtail = last;
        c->qhead = c->whead;
        c->whead = NULL;
        c->wbytes = c->wframes = 0;
        c->inflight = 0;
        c->broken = 1;
    }
}

static void on_uv_write(uv_write_t *req, int status)
{
    actr__conn_t *c = req->data;
    actr_ctx_t *ioctx = &c->cl->rt->io_ctx;
    pthread_mutex_lock(&c->mu);
    actr__seg_t *s = c->whead;
    c->whead = NULL;
    while (s != NULL) {
        actr__seg_t *nx = s->next;
        seg_release(c, s, ioctx);
        s = nx;
    }
    c->qbytes -= c->wbytes;
    c->qframes -= c->wframes;
    if (status == 0) {
        c->bytes_out += c->wbytes;
        c->frames_out += c->wframes;
    }
    c->wbytes = c->wframes = 0;
    c->inflight = 0;
    int lost = 0;
    if (status != 0) {
        /* UV_ECANCELED: conn_close closed the handle, and has already lost
         * the node if c carried one (a working connection is never closed
         * to be replaced, so no accepted frame is dropped here silently) */
        c->broken = 1;
        lost = status != UV_ECANCELED;
    } else if (c->qhead != NULL && c->fd >= 0) {
        /* what came while the write ran: keep the socket until it is drained */
        actr__conn_uv_write(c);
        lost = c->broken;
    }
    pthread_mutex_unlock(&c->mu);
    if (lost && c->state != C_CLOSING && c->state != C_FREE)
        actr__conn_lost(c, ACTR_LOG_WARN, "write failed: %s",
                        status ? uv_strerror(status) : "uv_write refused");
}

void actr__conn_kick(actr__cluster_t *cl, actr__conn_t *c)
{
    int wake = 0;
    pthread_mutex_lock(&cl->kick_mu);
    if (!c->kicked) {
        c->kicked = 1;
        wake = cl->kicks == NULL;
        c->kick_next = cl->kicks;
        cl->kicks = c;
    }
    pthread_mutex_unlock(&cl->kick_mu);
    if (wake)
        actr__notify_io(cl->rt);
}

void actr__cluster_kicks(actr__cluster_t *cl)
{
    pthread_mutex_lock(&cl->kick_mu);
    actr__conn_t *c = cl->kicks;
    cl->kicks = NULL;
    pthread_mutex_unlock(&cl->kick_mu);
    while (c != NULL) {
        /* take the link, then let c be kicked again (which rewrites the
         * link): a kick from now on is served by the next round */
        pthread_mutex_lock(&cl->kick_mu);
        actr__conn_t *nx = c->kick_next;
        c->kicked = 0;
        pthread_mutex_unlock(&cl->kick_mu);
        if (c->state != C_CLOSING && c->state != C_FREE && c->state != C_CONNECTING) {
            pthread_mutex_lock(&c->mu);
            if (!c->broken && !c->inflight && c->fd >= 0 && c->qhead != NULL)
                actr__conn_uv_write(c);
            int broken = c->broken;
            pthread_mutex_unlock(&c->mu);
            if (broken)
                actr__conn_lost(c, ACTR_LOG_WARN, "write failed");
        }
        c = nx;
    }
}

/* After queueing on c (c->mu held): write now, or leave it to the end of
 * the worker's activation. Returns 1 if c must be kicked after unlocking. */
static int after_queue(actr__cluster_t *cl, actr__conn_t *c, actr_ctx_t *ctx)
{
    if (ctx != NULL && ctx->worker != NULL && ctx->rt == cl->rt) {
        actr__dirty_t *d = &cl->dirty[ctx->worker->index];
        for (unsigned i = d->n; i-- > 0;)
            if (d->c[i] == c)
                return 0;
        if (d->n < ACTR__CL_DIRTY) {
            d->c[d->n++] = c;
            return 0;
        }
    }
    return actr__conn_write_now(c, ctx) != 0;
}

/* ---- sending ---------------------------------------------------------------------- */

/* How many times a sender looks a node up again when the connection it
 * found stopped carrying the node before it could lock it. */
#define FIND_TRIES 4

/* The connection that carries node, or NULL (lock-free; the caller rechecks
 * up_id under c->mu, and looks again when that fails: a record it found may
 * have been closed, or closed and reused, meanwhile). */
static actr__conn_t *find_up(actr__cluster_t *cl, uint64_t node)
{
    /* acquire: pairs with the release stores of the I/O thread that filled
     * the slots and published up_id */
    unsigned hw = atomic_load_explicit(&cl->up_hw, memory_order_acquire);
    for (unsigned i = 0; i < hw; i++) {
        actr__conn_t *c = atomic_load_explicit(&cl->up[i], memory_order_acquire);
        if (c != NULL && atomic_load_explicit(&c->up_id, memory_order_acquire) == node)
            return c;
    }
    return NULL;
}

int actr__cluster_send(actr_t *rt, actr_ctx_t *ctx, actr_ref_t to, uint8_t kind, const char *name,
                       size_t name_len, actr_msg_t *m)
{
    actr__cluster_t *cl = actr__cl(rt);
    actr__conn_t *c;
    if (cl == NULL || to.node == 0 || (c = find_up(cl, to.node)) == NULL) {
        actr__msg_unref(ctx, m);
        return ACTR_ENONODE;
    }
    if ((kind != ACTR__FR_MSG && kind != ACTR__FR_NAMED && kind != ACTR__FR_PUB) ||
        name_len > ACTR__WIRE_NAME_MAX || (kind != ACTR__FR_MSG && name == NULL)) {
        actr__msg_unref(ctx, m);
        return ACTR_EINVAL;
    }
    actr__wire_env_t env;
    env.type = m->type;
    env.flags = m->flags & (ACTR__F_REQUEST | ACTR__F_REPLY);
    env.sys = m->sys;
    env.aux32 = m->aux32;
    env.to = to;
    env.from = m->from;
    env.corr = m->corr;
    size_t plen = m->len;
    int copy = plen <= ACTR__CL_COPY_MAX;
    uint8_t hdr[ACTR__WIRE_HDR_MAX];
    size_t hlen = actr__wire_msg_header(hdr, kind, &env, kind == ACTR__FR_MSG ? NULL : name,
                                        kind == ACTR__FR_MSG ? 0 : name_len, plen);
    if (hlen == 0) {
        actr__msg_unref(ctx, m);
        return ACTR_EINVAL;
    }
    if (hlen + plen > (size_t)cl->max_frame + 4) {
        actr__msg_unref(ctx, m);
        return ACTR_E2BIG;
    }
    int rc = 0, kick = 0;
    pthread_mutex_lock(&c->mu);
    /* relaxed: up_id is written under c->mu, which this thread holds */
    for (int tries = 1; atomic_load_explicit(&c->up_id, memory_order_relaxed) != to.node; tries++) {
        /* c stopped carrying the node after find_up saw it: look again (a
         * node that is still up is on another record) */
        pthread_mutex_unlock(&c->mu);
        if (tries == FIND_TRIES || (c = find_up(cl, to.node)) == NULL) {
            actr__msg_unref(ctx, m);
            return ACTR_ENONODE;
        }
        pthread_mutex_lock(&c->mu);
    }
    if (c->broken) {
        rc = ACTR_ENONODE; /* its last write failed: the I/O thread is losing the node */
    } else if (c->qbytes + hlen + plen > cl->max_queue) {
        rc = ACTR_EAGAIN;
    } else if (copy) {
        actr__seg_t *s = tail_room(c, hlen + plen);
        if (s == NULL) {
            rc = ACTR_ENOMEM;
        } else {
            memcpy(s->data + s->len, hdr, hlen);
            memcpy(s->data + s->len + hlen, ACTR__MSG_DATA(m), plen);
            s->len += (uint32_t)(hlen + plen);
            s->nframes++;
        }
    } else {
        actr__seg_t *p = malloc(sizeof(*p));
        actr__seg_t *s = p != NULL ? tail_room(c, hlen) : NULL;
        if (s == NULL) {
            free(p);
            rc = ACTR_ENOMEM;
        } else {
            memcpy(s->data + s->len, hdr, hlen);
            s->len += (uint32_t)hlen;
            p->next = NULL;
            p->m = m;
            p->len = (uint32_t)plen;
            p->cap = 0;
            p->nframes = 1;
            seg_append(c, p);
            m = NULL; /* the queue holds it now */
        }
    }
    if (rc == 0) {
        c->qbytes += hlen + plen;
        c->qframes++;
        kick = after_queue(cl, c, ctx);
    }
    pthread_mutex_unlock(&c->mu);
    if (kick)
        actr__conn_kick(cl, c);
    if (m != NULL)
        actr__msg_unref(ctx, m);
    return rc;
}

int actr__conn_send_ctl(actr__cluster_t *cl, actr__conn_t *c, actr_ctx_t *ctx,
                        const actr__frame_t *f, uint64_t node)
{
    uint8_t buf[ACTR__WIRE_CTL_MAX];
    size_t len = actr__wire_ctl(buf, sizeof(buf), f);
    if (len == 0)
        return ACTR_EINVAL;
    int rc = 0, kick = 0;
    pthread_mutex_lock(&c->mu);
    /* control frames of the link itself (HELLO, AUTH, PING, PONG, BYE) are
     * never refused for a full queue: they are few and keep the link alive */
    int link_ctl = f->kind != ACTR__FR_LOOKUP && f->kind != ACTR__FR_FOUND;
    if (c->broken || (node != 0 && atomic_load_explicit(&c->up_id, memory_order_relaxed) != node)) {
        rc = ACTR_ENONODE;
    } else if (!link_ctl && c->qbytes + len > cl->max_queue) {
        rc = ACTR_EAGAIN;
    } else {
        actr__seg_t *s = tail_room(c, len);
        if (s == NULL) {
            rc = ACTR_ENOMEM;
        } else {
            memcpy(s->data + s->len, buf, len);
            s->len += (uint32_t)len;
            s->nframes++;
            c->qbytes += len;
            c->qframes++;
            kick = after_queue(cl, c, ctx);
        }
    }
    pthread_mutex_unlock(&c->mu);
    if (kick)
        actr__conn_kick(cl, c);
    return rc;
}

int actr__cluster_send_ctl(actr_t *rt, actr_ctx_t *ctx, uint64_t node, const actr__frame_t *f)
{
    actr__cluster_t *cl = actr__cl(rt);
    actr__conn_t *c;
    if (f == NULL || (f->kind != ACTR__FR_LOOKUP && f->kind != ACTR__FR_FOUND))
        return ACTR_EINVAL;
    int rc = ACTR_ENONODE;
    for (int tries = 0; tries < FIND_TRIES && rc == ACTR_ENONODE; tries++) {
        if (cl == NULL || node == 0 || (c = find_up(cl, node)) == NULL)
            return ACTR_ENONODE;
        rc = actr__conn_send_ctl(cl, c, ctx, f, node);
    }
    return rc;
}

void actr__cluster_flush(actr_ctx_t *ctx)
{
    actr__cluster_t *cl = actr__cl(ctx->rt);
    if (cl == NULL || ctx->worker == NULL)
        return;
    actr__dirty_t *d = &cl->dirty[ctx->worker->index];
    for (unsigned i = 0; i < d->n; i++) {
        actr__conn_t *c = d->c[i];
        pthread_mutex_lock(&c->mu);
        int kick = actr__conn_write_now(c, ctx) != 0;
        pthread_mutex_unlock(&c->mu);
        if (kick)
            actr__conn_kick(cl, c);
    }
    d->n = 0;
}

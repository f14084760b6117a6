/* msg.c — message envelopes: allocation, reference counting, accessors.
 *
 * A message is one allocation: the 64-byte header, then the payload. Small
 * messages come in four size classes that a context caches per thread (a
 * singly linked free list, no atomics); surplus blocks move in batches through
 * the runtime's depot (one mutex per batch, not per message), so a producer on
 * one worker and a consumer on another recycle blocks between them cheaply.
 * Every cached block is an individual malloc, so any block may also be
 * released with free() by a thread without a context, and a message may
 * outlive the runtime that allocated it. Under ASan/TSan the caches are off,
 * so the sanitizers see every allocation.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define ACTR__MSG_CACHE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define ACTR__MSG_CACHE 0
#endif
#endif
#ifndef ACTR__MSG_CACHE
#define ACTR__MSG_CACHE 1
#endif

#define CLS_MALLOC 0xFF
#define CACHE_MAX 512  /* blocks kept per class per context */
#define BATCH 256      /* blocks moved to/from the depot at once */
/* The depot keeps up to 32 MiB of blocks per class: enough that blocks freed
 * by a receiver that drains a deep mailbox flow back to its senders instead of
 * round-tripping through malloc's arena locks, and no more than malloc itself
 * would keep after such a peak. */
#define DEPOT_BYTES (32u << 20)
#define DEPOT_MAX(c) (DEPOT_BYTES / (cls_size[c] * BATCH))

static const size_t cls_size[ACTR__MSG_NCLS] = {128, 256, 512, 1024};

/* a cached block: first word links blocks, second links batches */
typedef struct block {
    struct block *next;
    struct block *next_batch;
    uint32_t n;
} block_t;

void actr__msgdepot_init(actr__msgdepot_t *d)
{
    memset(d, 0, sizeof(*d));
    pthread_mutex_init(&d->mu, NULL);
}

static void free_list(block_t *b)
{
    while (b != NULL) {
        block_t *n = b->next;
        free(b);
        b = n;
    }
}

void actr__msgdepot_free(actr__msgdepot_t *d)
{
    for (int c = 0; c < ACTR__MSG_NCLS; c++) {
        block_t *bt = d->batches[c];
        while (bt != NULL) {
            block_t *nb = bt->next_batch;
            free_list(bt);
            bt = nb;
        }
        d->batches[c] = NULL;
    }
    pthread_mutex_destroy(&d->mu);
}

void actr__msgcache_flush(actr__msgcache_t *c)
{
    for (int k = 0; k < ACTR__MSG_NCLS; k++) {
        free_list(c->free[k]);
        c->free[k] = NULL;
        c->n[k] = 0;
    }
}

static int size_class(size_t total)
{
    for (int c = 0; c < ACTR__MSG_NCLS; c++)
        if (total <= cls_size[c])
            return c;
    return CLS_MALLOC;
}

static actr_msg_t *msg_alloc(actr_ctx_t *ctx, size_t len)
{
    size_t total = sizeof(actr_msg_t) + len;
    int c = size_class(total);
    actr_msg_t *m = NULL;
#if ACTR__MSG_CACHE
    if (c != CLS_MALLOC && ctx != NULL) {
        actr__msgcache_t *mc = &ctx->cache;
        block_t *b = mc->free[c];
        if (b == NULL && mc->depot != NULL) {
            actr__msgdepot_t *d = mc->depot;
            pthread_mutex_lock(&d->mu);
            b = d->batches[c];
            if (b != NULL) {
                d->batches[c] = b->next_batch;
                d->nbatches[c]--;
                mc->n[c] = b->n;
            }
            pthread_mutex_unlock(&d->mu);
        }
        if (b != NULL) {
            mc->free[c] = b->next;
            mc->n[c]--;
            m = (actr_msg_t *)b;
        }
    }
#else
    (void)ctx;
#endif
    if (m == NULL) {
        m = malloc(c == CLS_MALLOC ? total : cls_size[c]);
        if (m == NULL)
            return NULL;
    }
    m->cls = (uint8_t)c;
    return m;
}

static void msg_release(actr_ctx_t *ctx, actr_msg_t *m)
{
#if ACTR__MSG_CACHE
    int c = m->cls;
    if (c != CLS_MALLOC && ctx != NULL) {
        actr__msgcache_t *mc = &ctx->cache;
        block_t *b = (block_t *)m;
        b->next = mc->free[c];
        mc->free[c] = b;
        if (++mc->n[c] >= CACHE_MAX && mc->depot != NULL) {
            /* move a batch of BATCH blocks to the depot */
            block_t *head = mc->free[c], *last = head;
            for (int i = 1; i < BATCH; i++)
                last = last->next;
            mc->free[c] = last->next;
            mc->n[c] -= BATCH;
            last->next = NULL;
            head->n = BATCH;
            actr__msgdepot_t *d = mc->depot;
            pthread_mutex_lock(&d->mu);
            if (d->nbatches[c] < DEPOT_MAX(c)) {
                head->next_batch = d->batches[c];
                d->batches[c] = head;
                d->nbatches[c]++;
                head = NULL;
            }
            pthread_mutex_unlock(&d->mu);
            free_list(head);
        }
        return;
    }
#else
    (void)ctx;
#endif
    free(m);
}

/* Internal: allocate a header for `len` payload bytes with fields cleared. */

actr_msg_t *actr__msg_make(actr_ctx_t *ctx, uint32_t type, size_t len)
{
    actr_msg_t *m = msg_alloc(ctx, len);
    if (m == NULL)
        return NULL;
    uint8_t cls = m->cls;
    memset(m, 0, sizeof(*m));
    m->cls = cls;
    m->type = type;
    m->len = (uint32_t)len;
    atomic_init(&m->refs, 1);
    return m;
}

/* Internal: drop a reference, recycling into ctx's cache when it was the last. */

void actr__msg_unref(actr_ctx_t *ctx, actr_msg_t *m)
{
    if (m == NULL)
        return;
    /* Fast path: a sole owner needs no atomic RMW. Only a holder can add a
     * reference, so refs == 1 observed by the holder cannot change under it. */
    if (atomic_load_explicit(&m->refs, memory_order_acquire) != 1 &&
        atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) != 1)
        return;
    msg_release(ctx, m);
}

int actr_msg_alloc(actr_ctx_t *ctx, uint32_t type, size_t len, actr_msg_t **out)
{
    if (out == NULL)
        return ACTR_EINVAL;
    *out = NULL;
    if (len > ACTR_MSG_MAX_PAYLOAD)
        return ACTR_E2BIG;
    actr_msg_t *m = actr__msg_make(ctx, type, len);
    if (m == NULL)
        return ACTR_ENOMEM;
    *out = m;
    return 0;
}

int actr_msg_new(actr_ctx_t *ctx, uint32_t type, const void *data, size_t len, actr_msg_t **out)
{
    if (out == NULL || (data == NULL && len > 0)) {
        if (out != NULL)
            *out = NULL;
        return ACTR_EINVAL;
    }
    int rc = actr_msg_alloc(ctx, type, len, out);
    if (rc == 0 && len > 0)
        memcpy(ACTR__MSG_DATA(*out), data, len);
    return rc;
}

void *actr_msg_buffer(actr_msg_t *msg) { return msg ? ACTR__MSG_DATA(msg) : NULL; }

int actr_msg_dup(actr_ctx_t *ctx, const actr_msg_t *msg, actr_msg_t **out)
{
    if (msg == NULL || out == NULL)
        return ACTR_EINVAL;
    return actr_msg_new(ctx, msg->type, ACTR__MSG_DATA(msg), msg->len, out);
}

uint32_t actr_msg_type(const actr_msg_t *msg) { return msg->type; }
actr_ref_t actr_msg_from(const actr_msg_t *msg) { return msg->from; }

const void *actr_msg_data(const actr_msg_t *msg, size_t *len)
{
    if (len != NULL)
        *len = msg->len;
    return msg->len ? ACTR__MSG_DATA(msg) : NULL;
}

uint64_t actr_msg_request_id(const actr_msg_t *msg)
{
    if ((msg->flags & (ACTR__F_REQUEST | ACTR__F_REPLY)) || msg->type == ACTR_MSG_REQFAIL)
        return msg->corr;
    return 0;
}

int actr_msg_is_request(const actr_msg_t *msg) { return (msg->flags & ACTR__F_REQUEST) != 0; }
int actr_msg_is_reply(const actr_msg_t *msg) { return (msg->flags & ACTR__F_REPLY) != 0; }

void actr_msg_ref(const actr_msg_t *msg)
{
    actr_msg_t *m = (actr_msg_t *)msg;
    /* relaxed: the caller already holds a reference, so the message is alive */
    atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
}

void actr_msg_free(const actr_msg_t *msg) { actr__msg_unref(NULL, (actr_msg_t *)msg); }

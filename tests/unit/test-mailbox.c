/* test-mailbox.c — the intrusive MPSC mailbox and its idle mark (mailbox.h),
 * driven directly by threads: no loss, no duplicates, per-producer FIFO, and
 * exactly one "was idle" per idle period (the schedule token is never given
 * to two owners). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "mailbox.h"
#include "task.h"

typedef struct item {
    actr__node_t node;
    uint32_t producer;
    uint32_t seq;
} item_t;

TEST_IMPL(mailbox, single_thread_fifo)
{
    actr__mailbox_t mb;
    actr__mb_init(&mb);
    ASSERT(actr__mb_markempty(&mb)); /* a fresh mailbox is idle */
    item_t it[5];
    for (int i = 0; i < 5; i++) {
        it[i].seq = (uint32_t)i;
        bool was_idle = actr__mb_push(&mb, &it[i].node);
        ASSERT_EQ(was_idle, i == 0); /* only the first push finds it idle */
    }
    for (int i = 0; i < 5; i++) {
        item_t *p = (item_t *)actr__mb_pop(&mb);
        ASSERT_NOT_NULL(p);
        ASSERT_EQ(p->seq, i);
    }
    ASSERT_NULL(actr__mb_pop(&mb));
    ASSERT(actr__mb_markempty(&mb));
    ASSERT(actr__mb_markempty(&mb)); /* idempotent */
    ASSERT(actr__mb_push(&mb, &it[0].node));
    ASSERT(!actr__mb_markempty(&mb)); /* not empty: keep the token */
    ASSERT((item_t *)actr__mb_pop(&mb) == &it[0]);
    ASSERT_NULL(actr__mb_pop(&mb));
}

#define PRODUCERS 4
#define PER 100000

typedef struct shared {
    actr__mailbox_t mb;
    item_t *items; /* PRODUCERS * PER */
    _Atomic int tokens;   /* schedule tokens handed out by pushes that saw "idle" */
    _Atomic int owners;   /* consumers running right now (must stay <= 1) */
    _Atomic int violations;
    _Atomic uint32_t consumed;
    uint32_t next_seq[PRODUCERS];
    _Atomic int done_producing;
} shared_t;

typedef struct prod {
    shared_t *s;
    uint32_t id;
} prod_t;

/* The consumer side: whoever receives the token drains and then gives it up;
 * in this test that is the producer whose push saw the idle mark, so the
 * consumer role migrates between threads as it does between workers. */
static void consume(shared_t *s)
{
    if (atomic_fetch_add(&s->owners, 1) != 0)
        atomic_fetch_add(&s->violations, 1);
    for (;;) {
        item_t *p;
        while ((p = (item_t *)actr__mb_pop(&s->mb)) != NULL) {
            if (p->seq != s->next_seq[p->producer])
                atomic_fetch_add(&s->violations, 1);
            s->next_seq[p->producer] = p->seq + 1;
            atomic_fetch_add(&s->consumed, 1);
        }
        atomic_fetch_sub(&s->owners, 1);
        if (actr__mb_markempty(&s->mb))
            return;
        /* a producer is mid-push: keep the token and retry */
        if (atomic_fetch_add(&s->owners, 1) != 0)
            atomic_fetch_add(&s->violations, 1);
    }
}

static void *producer(void *arg)
{
    prod_t *p = arg;
    shared_t *s = p->s;
    for (uint32_t i = 0; i < PER; i++) {
        item_t *it = &s->items[p->id * PER + i];
        it->producer = p->id;
        it->seq = i;
        if (actr__mb_push(&s->mb, &it->node)) {
            atomic_fetch_add(&s->tokens, 1);
            consume(s);
        }
    }
    return NULL;
}

TEST_IMPL(mailbox, concurrent_producers_token_migrates)
{
    shared_t *s = calloc(1, sizeof(*s));
    ASSERT_NOT_NULL(s);
    s->items = calloc(PRODUCERS * PER, sizeof(item_t));
    ASSERT_NOT_NULL(s->items);
    actr__mb_init(&s->mb);
    pthread_t th[PRODUCERS];
    prod_t ps[PRODUCERS];
    for (uint32_t i = 0; i < PRODUCERS; i++) {
        ps[i] = (prod_t){s, i};
        ASSERT_EQ(pthread_create(&th[i], NULL, producer, &ps[i]), 0);
    }
    for (int i = 0; i < PRODUCERS; i++)
        ASSERT_EQ(pthread_join(th[i], NULL), 0);
    ASSERT_EQ(atomic_load(&s->violations), 0);
    ASSERT_EQ(atomic_load(&s->consumed), PRODUCERS * PER);
    for (int i = 0; i < PRODUCERS; i++)
        ASSERT_EQ(s->next_seq[i], PER);
    ASSERT_GE(atomic_load(&s->tokens), 1);
    ASSERT(actr__mb_markempty(&s->mb));
    free(s->items);
    free(s);
}

/* One dedicated consumer thread that polls, as a client does. */
static void *poller(void *arg)
{
    shared_t *s = arg;
    uint32_t want = PRODUCERS * PER;
    while (atomic_load(&s->consumed) < want) {
        item_t *p = (item_t *)actr__mb_pop(&s->mb);
        if (p == NULL)
            continue;
        if (p->seq != s->next_seq[p->producer])
            atomic_fetch_add(&s->violations, 1);
        s->next_seq[p->producer] = p->seq + 1;
        atomic_fetch_add(&s->consumed, 1);
    }
    return NULL;
}

static void *plain_producer(void *arg)
{
    prod_t *p = arg;
    for (uint32_t i = 0; i < PER; i++) {
        item_t *it = &p->s->items[p->id * PER + i];
        it->producer = p->id;
        it->seq = i;
        (void)actr__mb_push(&p->s->mb, &it->node);
    }
    return NULL;
}

TEST_IMPL(mailbox, concurrent_producers_one_poller)
{
    shared_t *s = calloc(1, sizeof(*s));
    ASSERT_NOT_NULL(s);
    s->items = calloc(PRODUCERS * PER, sizeof(item_t));
    ASSERT_NOT_NULL(s->items);
    actr__mb_init(&s->mb);
    pthread_t th[PRODUCERS], c;
    prod_t ps[PRODUCERS];
    ASSERT_EQ(pthread_create(&c, NULL, poller, s), 0);
    for (uint32_t i = 0; i < PRODUCERS; i++) {
        ps[i] = (prod_t){s, i};
        ASSERT_EQ(pthread_create(&th[i], NULL, plain_producer, &ps[i]), 0);
    }
    for (int i = 0; i < PRODUCERS; i++)
        ASSERT_EQ(pthread_join(th[i], NULL), 0);
    ASSERT_EQ(pthread_join(c, NULL), 0);
    ASSERT_EQ(atomic_load(&s->violations), 0);
    for (int i = 0; i < PRODUCERS; i++)
        ASSERT_EQ(s->next_seq[i], PER);
    free(s->items);
    free(s);
}

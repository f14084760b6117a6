/* test-deque.c — the Chase-Lev work-stealing deque: LIFO for the owner, FIFO
 * for thieves, growth, and under concurrent stealing every item is taken
 * exactly once. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "deque.h"
#include "task.h"

TEST_IMPL(deque, owner_lifo_thief_fifo_and_growth)
{
    actr__deque_t dq;
    ASSERT_OK(actr__dq_init(&dq, 4));
    uintptr_t v[100];
    for (int i = 0; i < 100; i++) {
        v[i] = (uintptr_t)(i + 1);
        ASSERT_OK(actr__dq_push(&dq, (void *)v[i])); /* grows past 4 */
    }
    ASSERT_EQ(actr__dq_size(&dq), 100);
    ASSERT_EQ((uintptr_t)actr__dq_steal(&dq), 1); /* oldest */
    ASSERT_EQ((uintptr_t)actr__dq_pop(&dq), 100); /* newest */
    for (int i = 99; i >= 2; i--)
        ASSERT_EQ((uintptr_t)actr__dq_pop(&dq), i);
    ASSERT_NULL(actr__dq_pop(&dq));
    ASSERT_NULL(actr__dq_steal(&dq));
    actr__dq_free(&dq);
}

#define N 200000
#define THIEVES 3

typedef struct {
    actr__deque_t dq;
    _Atomic uint8_t *taken;
    _Atomic int dup;
    _Atomic int done;
    _Atomic long count;
} dshared_t;

static void take(dshared_t *s, void *p)
{
    uintptr_t i = (uintptr_t)p - 1;
    if (atomic_exchange(&s->taken[i], 1) != 0)
        atomic_fetch_add(&s->dup, 1);
    atomic_fetch_add(&s->count, 1);
}

static void *thief(void *arg)
{
    dshared_t *s = arg;
    while (!atomic_load(&s->done) || actr__dq_size(&s->dq) > 0) {
        void *p = actr__dq_steal(&s->dq);
        if (p != NULL)
            take(s, p);
    }
    return NULL;
}

TEST_IMPL(deque, concurrent_steal_exactly_once)
{
    dshared_t *s = calloc(1, sizeof(*s));
    ASSERT_NOT_NULL(s);
    s->taken = calloc(N, 1);
    ASSERT_NOT_NULL(s->taken);
    ASSERT_OK(actr__dq_init(&s->dq, 8));
    pthread_t th[THIEVES];
    for (int i = 0; i < THIEVES; i++)
        ASSERT_EQ(pthread_create(&th[i], NULL, thief, s), 0);
    /* the owner pushes in bursts and pops some itself, racing the thieves for
     * the last item */
    for (uintptr_t i = 0; i < N; i++) {
        ASSERT_OK(actr__dq_push(&s->dq, (void *)(i + 1)));
        if (i % 3 == 0) {
            void *p = actr__dq_pop(&s->dq);
            if (p != NULL)
                take(s, p);
        }
    }
    void *p;
    while ((p = actr__dq_pop(&s->dq)) != NULL)
        take(s, p);
    atomic_store(&s->done, 1);
    for (int i = 0; i < THIEVES; i++)
        ASSERT_EQ(pthread_join(th[i], NULL), 0);
    ASSERT_EQ(atomic_load(&s->dup), 0);
    ASSERT_EQ(atomic_load(&s->count), N);
    actr__dq_free(&s->dq);
    free((void *)s->taken);
    free(s);
}

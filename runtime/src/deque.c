/* deque.c — Chase-Lev work-stealing deque (see deque.h).
 *
 * Memory orders follow Lê et al. 2013. The one seq_cst fence pair (in pop and
 * steal) orders the owner's claim on `bottom` against a thief's read of it, so
 * that the last item is taken by exactly one of them (the CAS on `top` decides).
 * The fences are written as seq_cst operations on the same variables rather
 * than atomic_thread_fence, which ThreadSanitizer does not model.
 */
#include "deque.h"

#include <stdlib.h>

#include "actr/errno.h"

static actr__dq_array_t *array_new(size_t cap)
{
    actr__dq_array_t *a = malloc(sizeof(*a) + cap * sizeof(a->items[0]));
    if (a == NULL)
        return NULL;
    a->mask = cap - 1;
    a->prev = NULL;
    for (size_t i = 0; i < cap; i++)
        atomic_init(&a->items[i], NULL);
    return a;
}

int actr__dq_init(actr__deque_t *dq, size_t cap_pow2)
{
    actr__dq_array_t *a = array_new(cap_pow2);
    if (a == NULL)
        return ACTR_ENOMEM;
    atomic_init(&dq->top, 0);
    atomic_init(&dq->bottom, 0);
    atomic_init(&dq->array, a);
    return 0;
}

void actr__dq_free(actr__deque_t *dq)
{
    actr__dq_array_t *a = atomic_load_explicit(&dq->array, memory_order_relaxed);
    while (a != NULL) {
        actr__dq_array_t *p = a->prev;
        free(a);
        a = p;
    }
    atomic_store_explicit(&dq->array, NULL, memory_order_relaxed);
}

int actr__dq_push(actr__deque_t *dq, void *item)
{
    int64_t b = atomic_load_explicit(&dq->bottom, memory_order_relaxed);
    int64_t t = atomic_load_explicit(&dq->top, memory_order_acquire);
    actr__dq_array_t *a = atomic_load_explicit(&dq->array, memory_order_relaxed);
    if (b - t > (int64_t)a->mask) {
        size_t cap = (a->mask + 1) * 2;
        actr__dq_array_t *n = array_new(cap);
        if (n == NULL)
            return ACTR_ENOMEM;
        for (int64_t i = t; i < b; i++)
            atomic_store_explicit(&n->items[(size_t)i & n->mask],
                                  atomic_load_explicit(&a->items[(size_t)i & a->mask],
                                                       memory_order_relaxed),
                                  memory_order_relaxed);
        n->prev = a;
        /* release: thieves that load the new array see its items */
        atomic_store_explicit(&dq->array, n, memory_order_release);
        a = n;
    }
    atomic_store_explicit(&a->items[(size_t)b & a->mask], item, memory_order_relaxed);
    /* release: a thief that reads the new bottom sees the item */
    atomic_store_explicit(&dq->bottom, b + 1, memory_order_release);
    return 0;
}

void *actr__dq_pop(actr__deque_t *dq)
{
    int64_t b = atomic_load_explicit(&dq->bottom, memory_order_relaxed) - 1;
    actr__dq_array_t *a = atomic_load_explicit(&dq->array, memory_order_relaxed);
    /* seq_cst store, then seq_cst load of top: the store-load order the
     * algorithm needs against steal's seq_cst load of top then bottom. */
    atomic_store_explicit(&dq->bottom, b, memory_order_seq_cst);
    int64_t t = atomic_load_explicit(&dq->top, memory_order_seq_cst);
    void *item = NULL;
    if (t <= b) {
        item = atomic_load_explicit(&a->items[(size_t)b & a->mask], memory_order_relaxed);
        if (t == b) {
            /* last item: race the thieves for it */
            if (!atomic_compare_exchange_strong_explicit(&dq->top, &t, t + 1,
                                                         memory_order_seq_cst,
                                                         memory_order_relaxed))
                item = NULL;
            atomic_store_explicit(&dq->bottom, b + 1, memory_order_relaxed);
        }
    } else {
        atomic_store_explicit(&dq->bottom, b + 1, memory_order_relaxed);
    }
    return item;
}

void *actr__dq_steal(actr__deque_t *dq)
{
    int64_t t = atomic_load_explicit(&dq->top, memory_order_seq_cst);
    int64_t b = atomic_load_explicit(&dq->bottom, memory_order_seq_cst);
    if (t >= b)
        return NULL;
    actr__dq_array_t *a = atomic_load_explicit(&dq->array, memory_order_acquire);
    void *item = atomic_load_explicit(&a->items[(size_t)t & a->mask], memory_order_relaxed);
    if (!atomic_compare_exchange_strong_explicit(&dq->top, &t, t + 1, memory_order_seq_cst,
                                                 memory_order_relaxed))
        return NULL;
    return item;
}

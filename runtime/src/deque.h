/* deque.h — a work-stealing deque of runnable actors (Chase-Lev, in the C11
 * formulation of Lê, Pop, Cohen and Zappa Nardelli, PPoPP 2013).
 *
 * The owner worker pushes and pops at the bottom (LIFO: the actor it just made
 * runnable runs next, while its data is hot); thieves take from the top. The
 * array grows when full; retired arrays are kept until the deque is freed,
 * since a thief may still be reading one.
 */
#ifndef ACTR_DEQUE_H
#define ACTR_DEQUE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef struct actr__dq_array {
    size_t mask;                 /* capacity - 1 (power of two) */
    struct actr__dq_array *prev; /* retired array, freed with the deque */
    _Atomic(void *) items[];
} actr__dq_array_t;

typedef struct actr__deque {
    _Atomic int64_t top;
    char pad1[64 - sizeof(int64_t)];
    _Atomic int64_t bottom;
    _Atomic(actr__dq_array_t *) array;
    char pad2[64 - sizeof(int64_t) - sizeof(void *)];
} actr__deque_t;

/* Returns 0 or ACTR_ENOMEM. */
int actr__dq_init(actr__deque_t *dq, size_t cap_pow2);
void actr__dq_free(actr__deque_t *dq);
/* Owner only. Returns 0 or ACTR_ENOMEM (growth failed; item not pushed). */
int actr__dq_push(actr__deque_t *dq, void *item);
/* Owner only. NULL when empty. */
void *actr__dq_pop(actr__deque_t *dq);
/* Any thread. NULL when empty or when it lost a race (try again elsewhere). */
void *actr__dq_steal(actr__deque_t *dq);
/* Any thread: approximate number of items. */
static inline int64_t actr__dq_size(actr__deque_t *dq)
{
    int64_t b = atomic_load_explicit(&dq->bottom, memory_order_relaxed);
    int64_t t = atomic_load_explicit(&dq->top, memory_order_relaxed);
    return b > t ? b - t : 0;
}

#endif

/* mailbox.h — the intrusive MPSC mailbox (Vyukov's queue with an embedded stub)
 * that also carries the actor's scheduling token.
 *
 * Producers push with one atomic exchange on `head`; the single consumer (the
 * thread holding the actor's schedule token) pops from `tail`. Popped nodes are
 * fully detached, so a handled message can be freed at once and an idle
 * actor holds no message.
 *
 * Scheduling token: bit 0 of `head` is the IDLE mark. The consumer sets it (CAS
 * from the bare stub) only when the queue is truly empty, and then gives the
 * actor up. The producer whose exchange returns a marked pointer learns that
 * the actor was idle and must schedule it: exactly one producer sees each mark,
 * so an actor is never on two run queues and never runs on two threads.
 */
#ifndef ACTR_MAILBOX_H
#define ACTR_MAILBOX_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct actr__node {
    _Atomic(struct actr__node *) next;
} actr__node_t;

typedef struct actr__mailbox {
    _Atomic uintptr_t head; /* producers' end; bit 0 = idle mark */
    actr__node_t *tail;     /* consumer's end (owner only) */
    actr__node_t stub;
} actr__mailbox_t;

#define ACTR__MB_IDLE ((uintptr_t)1)

/* A fresh mailbox is empty and idle (unscheduled). */
static inline void actr__mb_init(actr__mailbox_t *mb)
{
    atomic_init(&mb->stub.next, NULL);
    mb->tail = &mb->stub;
    atomic_init(&mb->head, (uintptr_t)&mb->stub | ACTR__MB_IDLE);
}

/* Push n (any thread). Returns true if the mailbox was idle: the caller now
 * holds the schedule token and must make the actor runnable. */
static inline bool actr__mb_push(actr__mailbox_t *mb, actr__node_t *n)
{
    atomic_store_explicit(&n->next, NULL, memory_order_relaxed);
    /* acq_rel: release publishes n's contents to the next producer that links
     * behind it; acquire pairs with the consumer's release CAS of the idle mark,
     * so that the owner's writes happen-before whoever schedules it next. */
    uintptr_t prev = atomic_exchange_explicit(&mb->head, (uintptr_t)n, memory_order_acq_rel);
    actr__node_t *p = (actr__node_t *)(prev & ~ACTR__MB_IDLE);
    /* release: the consumer's acquire load of p->next then sees n's contents. */
    atomic_store_explicit(&p->next, n, memory_order_release);
    return (prev & ACTR__MB_IDLE) != 0;
}

/* Pop the oldest node (owner only). NULL when empty, or when a producer is
 * between its exchange and its link (the queue is then not empty: the caller
 * keeps the actor scheduled and retries later). */
static inline actr__node_t *actr__mb_pop(actr__mailbox_t *mb)
{
    actr__node_t *tail = mb->tail;
    actr__node_t *next = atomic_load_explicit(&tail->next, memory_order_acquire);
    if (tail == &mb->stub) {
        if (next == NULL)
            return NULL;
        mb->tail = next;
        tail = next;
        next = atomic_load_explicit(&next->next, memory_order_acquire);
    }
    if (next != NULL) {
        mb->tail = next;
        /* the next message is likely cold (a deep queue, written by another
         * core): start loading it while this one is handled */
        __builtin_prefetch(next, 1);
        return tail;
    }
    /* tail is the last linked node; detach it by queueing the stub behind it. */
    uintptr_t head = atomic_load_explicit(&mb->head, memory_order_acquire);
    if ((actr__node_t *)head != tail)
        return NULL; /* a producer is mid-push behind tail */
    atomic_store_explicit(&mb->stub.next, NULL, memory_order_relaxed);
    uintptr_t prev =
        atomic_exchange_explicit(&mb->head, (uintptr_t)&mb->stub, memory_order_acq_rel);
    /* we own the token, so nobody else can have set the idle mark */
    atomic_store_explicit(&((actr__node_t *)prev)->next, &mb->stub, memory_order_release);
    next = atomic_load_explicit(&tail->next, memory_order_acquire);
    if (next != NULL) {
        mb->tail = next;
        return tail;
    }
    return NULL;
}

/* Give up the schedule token if the mailbox is empty (owner only). Returns true
 * when the actor is now idle; false if a message arrived (keep running it). */
static inline bool actr__mb_markempty(actr__mailbox_t *mb)
{
    if (mb->tail != &mb->stub ||
        atomic_load_explicit(&mb->stub.next, memory_order_relaxed) != NULL)
        return false;
    uintptr_t expect = (uintptr_t)&mb->stub;
    /* release: everything the owner did happens-before the next owner, whose
     * producer acquires this value in actr__mb_push. */
    if (atomic_compare_exchange_strong_explicit(&mb->head, &expect, expect | ACTR__MB_IDLE,
                                                memory_order_release, memory_order_relaxed))
        return true;
    /* already idle (a client that timed out earlier keeps its mark) */
    return expect == ((uintptr_t)&mb->stub | ACTR__MB_IDLE);
}

#endif

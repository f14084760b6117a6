/* table.c — the actor table: chunks of type-stable slots, the free list of
 * dead actors' slots, and the bump allocator for never-used ones.
 *
 * Chunks are never freed before actr_close, so a ref always resolves to valid
 * memory (a stale one then fails its generation check). The free list is a
 * Treiber stack whose head carries a tag against ABA; slot indices, not
 * pointers, link it. Client slots are recycled only among clients (client.c).
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ---- the slot table ------------------------------------------------------- */

actr__actor_t *actr__slot(actr_t *rt, uint32_t slot)
{
    uint32_t c = slot >> ACTR__CHUNK_SHIFT;
    if (c >= ACTR__MAX_CHUNKS)
        return NULL;
    /* acquire: pairs with the release that published the initialised chunk */
    actr__actor_t *ch = atomic_load_explicit(&rt->chunks[c], memory_order_acquire);
    return ch ? &ch[slot & (ACTR__CHUNK_SIZE - 1)] : NULL;
}

static int chunk_ensure(actr_t *rt, uint32_t c)
{
    if (atomic_load_explicit(&rt->chunks[c], memory_order_acquire) != NULL)
        return 0;
    pthread_mutex_lock(&rt->chunk_mu);
    int rc = 0;
    if (atomic_load_explicit(&rt->chunks[c], memory_order_relaxed) == NULL) {
        actr__actor_t *ch = aligned_alloc(ACTR__CACHELINE, ACTR__CHUNK_SIZE * sizeof(*ch));
        if (ch == NULL) {
            rc = ACTR_ENOMEM;
        } else {
            memset(ch, 0, ACTR__CHUNK_SIZE * sizeof(*ch));
            for (uint32_t i = 0; i < ACTR__CHUNK_SIZE; i++) {
                actr__actor_t *a = &ch[i];
                actr__mb_init(&a->mb);
                atomic_init(&a->count, 0);
                atomic_init(&a->gen, 1);
                atomic_init(&a->limit, rt->opts.mailbox_limit);
                atomic_init(&a->kill_gen, 0);
                atomic_init(&a->kind, ACTR__KIND_ACTOR);
                atomic_init(&a->handled, 0);
                atomic_init(&a->waiters, NULL);
                atomic_init(&a->tname, NULL);
                atomic_init(&a->next_free, 0);
                a->slot = (c << ACTR__CHUNK_SHIFT) | i;
            }
            /* release: a reader that sees the chunk sees its initialised slots */
            atomic_store_explicit(&rt->chunks[c], ch, memory_order_release);
        }
    }
    pthread_mutex_unlock(&rt->chunk_mu);
    return rc;
}

int actr__alloc_slot(actr_t *rt, int kind, actr__actor_t **out)
{
    if (kind == ACTR__KIND_ACTOR) {
        /* pop the free list: a Treiber stack whose head carries a tag against ABA */
        uint64_t h = atomic_load_explicit(&rt->free_head, memory_order_acquire);
        while ((uint32_t)h != 0) {
            actr__actor_t *a = actr__slot(rt, (uint32_t)h - 1);
            uint32_t next = atomic_load_explicit(&a->next_free, memory_order_relaxed);
            uint64_t nh = (((h >> 32) + 1) << 32) | next;
            /* acquire on success: see the dying owner's writes (gen bump) */
            if (atomic_compare_exchange_weak_explicit(&rt->free_head, &h, nh,
                                                      memory_order_acquire,
                                                      memory_order_acquire)) {
                *out = a;
                return 0;
            }
        }
    }
    uint32_t s = atomic_fetch_add_explicit(&rt->next_slot, 1, memory_order_relaxed);
    if ((s >> ACTR__CHUNK_SHIFT) >= ACTR__MAX_CHUNKS) {
        atomic_fetch_sub_explicit(&rt->next_slot, 1, memory_order_relaxed);
        return ACTR_ENOMEM;
    }
    int rc = chunk_ensure(rt, s >> ACTR__CHUNK_SHIFT);
    if (rc != 0)
        return rc; /* the slot index is lost; harmless */
    actr__actor_t *a = actr__slot(rt, s);
    /* relaxed: the kind is read by senders only after they obtained a ref,
     * which is published later with release semantics */
    atomic_store_explicit(&a->kind, (uint8_t)kind, memory_order_relaxed);
    *out = a;
    return 0;
}

void actr__release_slot(actr_t *rt, actr__actor_t *a)
{
    uint64_t h = atomic_load_explicit(&rt->free_head, memory_order_relaxed);
    for (;;) {
        atomic_store_explicit(&a->next_free, (uint32_t)h, memory_order_relaxed);
        uint64_t nh = (((h >> 32) + 1) << 32) | (uint64_t)(a->slot + 1);
        /* release: the next spawner sees the bumped gen and the cleared slot */
        if (atomic_compare_exchange_weak_explicit(&rt->free_head, &h, nh, memory_order_release,
                                                  memory_order_relaxed))
            return;
    }
}

void actr__table_free(actr_t *rt)
{
    for (uint32_t c = 0; c < ACTR__MAX_CHUNKS; c++) {
        actr__actor_t *ch = atomic_load_explicit(&rt->chunks[c], memory_order_relaxed);
        if (ch == NULL)
            break;
        free(ch);
    }
}

uint64_t actr__new_id(actr_t *rt)
{
    return atomic_fetch_add_explicit(&rt->next_id, 1, memory_order_relaxed);
}

/* tests/bench/plugins/hotswap.h — what the `hotswap` bench (tests/bench/
 * hotswap.c) and its plugin "hotswap" (hotswap_v1.c, hotswap_v2.c) share.
 *
 * The bench passes each worker actor, in its init args ("[Ui]": the address
 * of a hotswap_shared_t as an unsigned integer, and the actor's index), a
 * pointer to this block, which lives in the bench process for the whole run.
 * Each worker is the only writer of its own slots; the bench writes the
 * windows. Every access from either side goes through __atomic builtins (the
 * plugin links against nothing, not even libatomic).
 *
 * A worker handles each message by: reading the monotonic clock; for each
 * measurement window (win[0] the baseline, win[1] the swap) that the stretch
 * since its previous message overlaps, raising its slot of gap_ns[k] to that
 * stretch if longer; counting the message in handled[idx]; marking the code
 * that ran in version[idx]; and answering the sender with an empty ack. Its
 * state keeps the time of its previous message, so the first message the new
 * version handles measures the stretch across the swap from the migrated
 * state; that stretch alone also goes to across_ns[idx], and the new version
 * counts itself in `moved` at that message.
 */
#ifndef ACTR_BENCH_HOTSWAP_H
#define ACTR_BENCH_HOTSWAP_H

#include <stdint.h>
#include <time.h>

#define HOTSWAP_TYPE "hotswap.worker"
#define HOTSWAP_MSG_WORK 16u /* driver -> worker */
#define HOTSWAP_MSG_ACK 17u  /* worker -> driver, empty */

/* A measurement window [from, to] in CLOCK_MONOTONIC ns: from == 0 not yet
 * open, to == UINT64_MAX still open. A stretch without a message counts for
 * the window when it overlaps it (ends at or after `from`, starts at or
 * before `to`). */
typedef struct hotswap_window {
    uint64_t from, to;
} hotswap_window_t;

typedef struct hotswap_shared {
    uint32_t n;              /* workers */
    hotswap_window_t win[2]; /* 0: the baseline window, 1: the swap window */
    uint64_t *gap_ns[2];     /* n each: longest stretch without a message, per window */
    uint64_t *handled;       /* n: messages handled */
    uint8_t *version;        /* n: major of the code that handled the last message */
    uint64_t errors;         /* failed acks (must stay 0) */
    uint64_t *across_ns;     /* n: the stretch ending at the new version's first message */
    /* workers that have handled a message with the new version; on a line
     * of its own, away from the fields every message reads */
    _Alignas(64) uint64_t moved;
    char pad_[64 - sizeof(uint64_t)];
} hotswap_shared_t;

static inline uint64_t hotswap_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* One message handled by worker `idx` whose previous message came at *last;
 * updates *last and returns the new handled count. A window's `from` is read
 * with acquire, pairing with the bench's release store, so a worker that sees
 * a window open also sees its zeroed slots. */
static inline uint64_t hotswap_tick(hotswap_shared_t *sh, uint32_t idx, uint64_t *last,
                                    uint64_t handled, uint8_t major)
{
    uint64_t now = hotswap_now_ns();
    for (int k = 0; k < 2 && *last != 0; k++) {
        uint64_t from = __atomic_load_n(&sh->win[k].from, __ATOMIC_ACQUIRE);
        if (from == 0 || now < from || *last > __atomic_load_n(&sh->win[k].to, __ATOMIC_RELAXED))
            continue;
        uint64_t gap = now - *last;
        uint64_t *slot = &sh->gap_ns[k][idx];
        /* relaxed: this worker is the slot's only writer; the bench reads it
         * after the drain, which message passing orders after this store */
        if (gap > __atomic_load_n(slot, __ATOMIC_RELAXED))
            __atomic_store_n(slot, gap, __ATOMIC_RELAXED);
    }
    *last = now;
    handled++;
    __atomic_store_n(&sh->handled[idx], handled, __ATOMIC_RELAXED);
    if (__atomic_load_n(&sh->version[idx], __ATOMIC_RELAXED) != major)
        __atomic_store_n(&sh->version[idx], major, __ATOMIC_RELAXED);
    return handled;
}

#endif

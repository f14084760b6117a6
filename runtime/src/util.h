/* util.h — small containers and helpers used across runtime/src: an id map
 * (u64 -> pointer), a string map (owned string -> pointer), the per-thread
 * message cache types, and the monotonic clock. None of them locks: the
 * caller provides exclusion.
 */
#ifndef ACTR_UTIL_H
#define ACTR_UTIL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "actr/errno.h"

/* ---- u64 -> void* open-addressing map. Keys 0 and UINT64_MAX are reserved. */
typedef struct actr__idmap {
    uint64_t *keys;
    void **vals;
    size_t cap; /* power of two, or 0 */
    size_t len; /* live entries */
    size_t used; /* live + tombstones */
} actr__idmap_t;

/* Returns 0 or ACTR_ENOMEM. Replaces an existing value. */
int actr__idmap_put(actr__idmap_t *m, uint64_t key, void *val);
/* Returns 1 and *val (may be NULL) if present, else 0. */
int actr__idmap_get(const actr__idmap_t *m, uint64_t key, void **val);
/* Returns 1 (and *val if non-NULL) if it was present and is now removed, else 0. */
int actr__idmap_del(actr__idmap_t *m, uint64_t key, void **val);
/* Calls fn for every entry (do not modify the map inside). */
void actr__idmap_each(const actr__idmap_t *m, void (*fn)(uint64_t key, void *val, void *ud),
                      void *ud);
/* Calls fn for the entries in slots [from, from + slots) of the table and
 * returns where the next call starts (m->cap when done): a long walk in
 * pieces, valid as long as nothing was added or removed in between. */
size_t actr__idmap_each_from(const actr__idmap_t *m, size_t from, size_t slots,
                             void (*fn)(uint64_t key, void *val, void *ud), void *ud);
void actr__idmap_free(actr__idmap_t *m);

/* ---- owned string -> void* map. */
typedef struct actr__strmap {
    char **keys;
    void **vals;
    size_t cap, len, used;
} actr__strmap_t;

/* Inserts a copy of key. Returns 0, ACTR_EEXIST (present; nothing changed), ACTR_ENOMEM. */
int actr__strmap_add(actr__strmap_t *m, const char *key, void *val);
/* Returns the value pointer slot for key, or NULL. */
void **actr__strmap_find(const actr__strmap_t *m, const char *key);
/* Removes key; returns 1 (and *val) if it was there. */
int actr__strmap_del(actr__strmap_t *m, const char *key, void **val);
void actr__strmap_each(const actr__strmap_t *m, void (*fn)(const char *key, void *val, void *ud),
                       void *ud);
void actr__strmap_free(actr__strmap_t *m);

/* ---- message allocation caches (msg.c) */
#define ACTR__MSG_NCLS 4
typedef struct actr__msgcache {
    void *free[ACTR__MSG_NCLS];
    uint32_t n[ACTR__MSG_NCLS];
    struct actr__msgdepot *depot;
} actr__msgcache_t;

typedef struct actr__msgdepot {
    pthread_mutex_t mu;
    void *batches[ACTR__MSG_NCLS]; /* lists of batches (each a list of blocks) */
    uint32_t nbatches[ACTR__MSG_NCLS];
} actr__msgdepot_t;

void actr__msgdepot_init(actr__msgdepot_t *d);
void actr__msgdepot_free(actr__msgdepot_t *d);
/* Return every cached block to the system. */
void actr__msgcache_flush(actr__msgcache_t *c);

/* Monotonic clock in milliseconds / nanoseconds. */
uint64_t actr__now_ms(void);
uint64_t actr__now_ns(void);
/* The time `us` microseconds from now on clock `clock` (CLOCK_REALTIME or
 * CLOCK_MONOTONIC), into *ts: a deadline for pthread_cond_timedwait on a
 * condition variable of that clock. */
void actr__deadline_us(int clock, uint64_t us, struct timespec *ts);

/* Fill *err (may be NULL) with code, position (0 = none) and a formatted
 * one-line message; returns code, so callers can `return actr__fail(...)`. */
int actr__fail_at(actr_error_t *err, int code, int line, int col, const char *fmt, ...)
    ACTR_PRINTF(5, 6);
/* actr__fail_at without a position. */
int actr__fail(actr_error_t *err, int code, const char *fmt, ...) ACTR_PRINTF(3, 4);

/* Remove a directory and everything below it (best effort; links not followed). */
void actr__rmtree(const char *path);

/* Copy a NUL-terminated string into an owned allocation (NULL on OOM). */
char *actr__strdup(const char *s);

/* 1 if s[0..n) is a host name as DNS spells one: dot-separated labels of
 * 1..63 letters, digits and inner '-', 253 characters at most. */
int actr__host_name_ok(const char *s, size_t n);

#endif

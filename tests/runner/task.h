/* tests/runner/task.h — the in-tree test harness.
 *
 * A test file tests/<kind>/test-<suite>.c defines tests with
 *   TEST_IMPL(suite, name) { ... ASSERT_OK(...); ... }
 * They register themselves at load time (no central list to edit). The runner
 * (runner.c) forks one process per test with a timeout, prints TAP lines and a
 * final "N passed, N failed" line. A failed assertion prints both sides with
 * file:line and exits the test process non-zero.
 *
 * Tests never sleep for a fixed time to wait for something: use
 * ASSERT_EVENTUALLY(cond, ms), which polls cond until a deadline.
 */
#ifndef ACTR_TEST_TASK_H
#define ACTR_TEST_TASK_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "actr.h"

typedef void (*actr_test_fn)(void);
void actr_test_register(const char *suite, const char *name, actr_test_fn fn);

#define TEST_IMPL(suite, name)                                                                  \
    static void test_##suite##_##name(void);                                                   \
    __attribute__((constructor)) static void test_reg_##suite##_##name(void)                   \
    {                                                                                          \
        actr_test_register(#suite, #name, test_##suite##_##name);                              \
    }                                                                                          \
    static void test_##suite##_##name(void)

#define TEST_FAIL_(...)                                                                        \
    do {                                                                                       \
        fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                                        \
        fprintf(stderr, __VA_ARGS__);                                                          \
        fprintf(stderr, "\n");                                                                 \
        fflush(stderr);                                                                        \
        exit(1);                                                                               \
    } while (0)

#define ASSERT(cond)                                                                           \
    do {                                                                                       \
        if (!(cond))                                                                           \
            TEST_FAIL_("assertion failed: %s", #cond);                                         \
    } while (0)

#define ASSERT_EQ(a, b)                                                                        \
    do {                                                                                       \
        int64_t a_ = (int64_t)(a), b_ = (int64_t)(b);                                          \
        if (a_ != b_)                                                                          \
            TEST_FAIL_("%s == %s: %" PRId64 " != %" PRId64, #a, #b, a_, b_);                   \
    } while (0)

#define ASSERT_NE(a, b)                                                                        \
    do {                                                                                       \
        int64_t a_ = (int64_t)(a), b_ = (int64_t)(b);                                          \
        if (a_ == b_)                                                                          \
            TEST_FAIL_("%s != %s: both %" PRId64, #a, #b, a_);                                 \
    } while (0)

#define ASSERT_GE(a, b)                                                                        \
    do {                                                                                       \
        int64_t a_ = (int64_t)(a), b_ = (int64_t)(b);                                          \
        if (!(a_ >= b_))                                                                       \
            TEST_FAIL_("%s >= %s: %" PRId64 " < %" PRId64, #a, #b, a_, b_);                    \
    } while (0)

#define ASSERT_LE(a, b)                                                                        \
    do {                                                                                       \
        int64_t a_ = (int64_t)(a), b_ = (int64_t)(b);                                          \
        if (!(a_ <= b_))                                                                       \
            TEST_FAIL_("%s <= %s: %" PRId64 " > %" PRId64, #a, #b, a_, b_);                    \
    } while (0)

/* expr must return 0; on failure prints the error's name and message. */
#define ASSERT_OK(expr)                                                                        \
    do {                                                                                       \
        int r_ = (expr);                                                                       \
        if (r_ != 0)                                                                           \
            TEST_FAIL_("%s: expected 0, got %d (%s: %s)", #expr, r_, actr_err_name(r_),        \
                       actr_strerror(r_));                                                     \
    } while (0)

/* expr must return the error code `code`. */
#define ASSERT_ERR(expr, code)                                                                 \
    do {                                                                                       \
        int r_ = (expr), c_ = (code);                                                          \
        if (r_ != c_)                                                                          \
            TEST_FAIL_("%s: expected %s, got %d (%s)", #expr, actr_err_name(c_), r_,           \
                       actr_err_name(r_));                                                     \
    } while (0)

#define ASSERT_STR_EQ(a, b)                                                                    \
    do {                                                                                       \
        const char *a_ = (a), *b_ = (b);                                                       \
        if (a_ == NULL || b_ == NULL || strcmp(a_, b_) != 0)                                   \
            TEST_FAIL_("%s == %s: \"%s\" != \"%s\"", #a, #b, a_ ? a_ : "(null)",               \
                       b_ ? b_ : "(null)");                                                    \
    } while (0)

/* Compare a (ptr,len) string with a C string. */
#define ASSERT_MEM_STR(p, n, s)                                                                \
    do {                                                                                       \
        const char *p_ = (const char *)(p), *s_ = (s);                                         \
        size_t n_ = (n);                                                                       \
        if (n_ != strlen(s_) || (n_ && memcmp(p_, s_, n_) != 0))                               \
            TEST_FAIL_("%s == \"%s\": got \"%.*s\"", #p, s_, (int)n_, p_ ? p_ : "");           \
    } while (0)

/* A C string that contains another (error messages, logs). */
#define ASSERT_CONTAINS(hay, needle)                                                           \
    do {                                                                                       \
        const char *h_ = (hay), *n_ = (needle);                                                \
        if (h_ == NULL || strstr(h_, n_) == NULL)                                              \
            TEST_FAIL_("\"%s\" does not contain \"%s\"", h_ ? h_ : "(null)", n_);              \
    } while (0)

#define ASSERT_NOT_NULL(p) ASSERT((p) != NULL)
#define ASSERT_NULL(p) ASSERT((p) == NULL)

/* Monotonic milliseconds. */
static inline uint64_t test_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static inline void test_nap_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000u, (long)(ms % 1000u) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Poll `cond` every millisecond until it holds or `ms` pass (then fail). */
#define ASSERT_EVENTUALLY(cond, ms)                                                            \
    do {                                                                                       \
        uint64_t dl_ = test_now_ms() + (uint64_t)(ms);                                         \
        while (!(cond)) {                                                                      \
            if (test_now_ms() > dl_)                                                           \
                TEST_FAIL_("not true within %d ms: %s", (int)(ms), #cond);                     \
            test_nap_ms(1);                                                                    \
        }                                                                                      \
    } while (0)

#endif

/* tests/unit/store_helpers.h — what the state store suites (test-store.c:
 * the API and its semantics; test-store-files.c: the store's file on disk)
 * share: a scratch directory, a runtime with a client and a store, and
 * blocking put/get/scan that wait for their answers with a deadline.
 *
 * Header-only (static inline), included by one test file per suite; each
 * test runs in its own process, so the file-level state is per test.
 */
#ifndef ACTR_TEST_STORE_HELPERS_H
#define ACTR_TEST_STORE_HELPERS_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actr.h"
#include "task.h"
#include "util.h"

#define WAIT_MS 20000

static char tmpdir[256];

static inline void make_tmpdir(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/actr-store-XXXXXX");
    ASSERT_NOT_NULL(mkdtemp(tmpdir));
}

static inline void path_in(char *buf, size_t cap, const char *name)
{
    snprintf(buf, cap, "%s/%s", tmpdir, name);
}

/* A started runtime whose data directory is `dir`, and a client. */
static inline void rt_open(actr_t **rt, actr_ctx_t **cl, const char *dir, int start)
{
    actr_options_t o;
    actr_options_init(&o);
    o.log_level = ACTR_LOG_OFF;
    o.workers = 2;
    o.data_dir = dir;
    ASSERT_OK(actr_open(rt, &o));
    if (start)
        ASSERT_OK(actr_start(*rt));
    ASSERT_OK(actr_client_open(*rt, cl));
}

static inline void rt_close(actr_t *rt, actr_ctx_t *cl)
{
    actr_client_close(cl);
    actr_close(rt);
}

static inline void store_open(actr_t *rt, const char *path, uint32_t max_value)
{
    actr_store_options_t so;
    actr_store_options_init(&so);
    so.path = path;
    so.max_value = max_value;
    actr_error_t err;
    int rc = actr_store_open(rt, &so, &err);
    if (rc != 0)
        TEST_FAIL_("actr_store_open: %s: %s", actr_err_name(rc), err.msg);
}

/* The answer to request `id` (a reply or a REQFAIL); anything else fails. */
static inline actr_msg_t *wait_for(actr_ctx_t *cl, uint64_t id)
{
    uint64_t dl = test_now_ms() + WAIT_MS;
    for (;;) {
        actr_msg_t *m = NULL;
        int rc = actr_client_recv(cl, 200, &m);
        if (rc == ACTR_ETIMEDOUT) {
            if (test_now_ms() > dl)
                TEST_FAIL_("no answer to request %" PRIu64, id);
            continue;
        }
        ASSERT_OK(rc);
        if (actr_msg_request_id(m) != id)
            TEST_FAIL_("unexpected message type %" PRIu32 " (request %" PRIu64 ")",
                       actr_msg_type(m), actr_msg_request_id(m));
        return m;
    }
}

static inline int put(actr_ctx_t *cl, const char *ns, const void *k, size_t kl, const void *v,
                      size_t vl)
{
    uint64_t id;
    int rc = actr_store_put(cl, ns, k, kl, v, vl, &id);
    if (rc != 0)
        return rc;
    actr_msg_t *m = wait_for(cl, id);
    rc = actr_store_result(m, NULL);
    actr_msg_free(m);
    return rc;
}

static inline int put_s(actr_ctx_t *cl, const char *ns, const char *k, const char *v)
{
    return put(cl, ns, k, strlen(k), v, strlen(v));
}

/* 1 and the value into buf (NUL-terminated), 0 when absent, or an error. */
static inline int get(actr_ctx_t *cl, const char *ns, const void *k, size_t kl, char *buf,
                      size_t cap, size_t *len)
{
    uint64_t id;
    int rc = actr_store_get(cl, ns, k, kl, &id);
    if (rc != 0)
        return rc;
    actr_msg_t *m = wait_for(cl, id);
    const void *v;
    size_t vl;
    rc = actr_store_value(m, &v, &vl);
    if (rc == 1) {
        ASSERT(vl < cap);
        memcpy(buf, v, vl);
        buf[vl] = '\0';
        if (len != NULL)
            *len = vl;
    }
    actr_msg_free(m);
    return rc;
}

static inline int get_s(actr_ctx_t *cl, const char *ns, const char *k, char *buf, size_t cap)
{
    return get(cl, ns, k, strlen(k), buf, cap, NULL);
}

static inline actr_msg_t *scan(actr_ctx_t *cl, const char *ns, const void *p, size_t pl,
                               uint32_t limit)
{
    uint64_t id;
    ASSERT_OK(actr_store_scan(cl, ns, p, pl, limit, &id));
    actr_msg_t *m = wait_for(cl, id);
    ASSERT_OK(actr_store_result(m, NULL));
    return m;
}

static inline size_t scan_count(const actr_msg_t *m)
{
    size_t pos = 0, n = 0;
    int rc;
    while ((rc = actr_store_scan_next(m, &pos, NULL, NULL, NULL, NULL)) == 1)
        n++;
    ASSERT_EQ(rc, 0);
    return n;
}

#endif

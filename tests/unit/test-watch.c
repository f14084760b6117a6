/* tests/unit/test-watch.c — plugin file watchers (watch.c, suite `watch`).
 *
 * The plugin "swapper" (tests/plugins/swap_v*.c) is loaded from a file in a
 * scratch folder with a few actors holding state; the tests then change that
 * file the ways people do and wait (polling with a deadline) for the result:
 *   - replaced by rename (a new inode) and rewritten in place (plain cp): the
 *     plugin swaps, the actors keep their state;
 *   - written in two halves with a pause much shorter than the debounce: no
 *     attempt is ever made on the half file (the history has one swap, done);
 *   - written in two halves with a pause longer than the debounce: the half
 *     file is attempted and refused (ACTR_EABI, the node stays on the old
 *     version and serves), and the completed file is swapped in — the
 *     guarantee is "never loaded half-way", not "never attempted";
 *   - renamed away and back (the same file the watch started with): never
 *     attempted (the watcher says so at DEBUG level), so nothing loops;
 *   - unwatch stops it (a second watched plugin, changed after it, is the
 *     sync point: its attempt shows the first one's would have come already);
 *   - the errors: unknown plugin, double watch, missing folder, bad
 *     arguments, unwatch of what is not watched;
 *   - closing the runtime with watchers active and a change pending.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "actr.h"
#include "files.h"
#include "task.h"
#include "util.h"

#define TP(x) ACTR_BINARY_DIR "/tests/plugins/" x ".so"
#ifdef ACTR_SANITIZED
#define WAIT_MS 60000
#else
#define WAIT_MS 20000
#endif
#define NACTORS 5

static actr_t *rt;
static actr_ctx_t *cl;
static char dir[64], file[128];
static actr_ref_t actors[NACTORS];

/* ---- captured log lines ------------------------------------------------------- */

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static char log_text[1 << 16];
static size_t log_len;

static void log_sink(void *ud, actr_log_level_t level, actr_ref_t who, const char *line)
{
    (void)ud;
    (void)level;
    (void)who;
    pthread_mutex_lock(&log_mu);
    size_t n = strlen(line);
    if (log_len + n + 2 < sizeof(log_text)) {
        memcpy(log_text + log_len, line, n);
        log_text[log_len + n] = '\n';
        log_len += n + 1;
        log_text[log_len] = '\0';
    }
    pthread_mutex_unlock(&log_mu);
}

static int logged(const char *needle)
{
    pthread_mutex_lock(&log_mu);
    int r = strstr(log_text, needle) != NULL;
    pthread_mutex_unlock(&log_mu);
    return r;
}

/* ---- files ----------------------------------------------------------------------- */

static void write_all(int fd, const void *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        ASSERT(w > 0);
        p = (const char *)p + w;
        n -= (size_t)w;
    }
}

/* Copy to a temporary name in the same folder, then rename over `to`. */
static void copy_by_rename(const char *from, const char *to)
{
    char tmp[160];
    snprintf(tmp, sizeof(tmp), "%s.tmp", to);
    test_copy_file(from, tmp, SIZE_MAX);
    ASSERT_EQ(rename(tmp, to), 0);
}

/* ---- the runtime and the swapper's actors --------------------------------------- */

static void setup(actr_log_level_t level)
{
    actr_options_t o;
    actr_options_init(&o);
    o.log_level = level;
    o.log_fn = log_sink;
    o.workers = 2;
    pthread_mutex_lock(&log_mu);
    log_len = 0;
    log_text[0] = '\0';
    pthread_mutex_unlock(&log_mu);
    ASSERT_OK(actr_open(&rt, &o));
    ASSERT_OK(actr_start(rt));
    ASSERT_OK(actr_client_open(rt, &cl));
    snprintf(dir, sizeof(dir), "/tmp/actr-watch-XXXXXX");
    ASSERT_NOT_NULL(mkdtemp(dir));
    snprintf(file, sizeof(file), "%s/swapper.so", dir);
}

static void teardown(void)
{
    actr_client_close(cl);
    cl = NULL;
    actr_close(rt);
    rt = NULL;
    actr__rmtree(dir);
}

static actr_msg_t *call(actr_ref_t to, const char *fmt, ...)
{
    actr_msg_t *m = NULL, *rep = NULL;
    va_list ap;
    va_start(ap, fmt);
    ASSERT_OK(actr_msg_vpack(cl, 1, &m, fmt, ap));
    va_end(ap);
    ASSERT_OK(actr_client_call(cl, to, m, WAIT_MS, &rep));
    return rep;
}

/* The version an actor answers with, and its sum. */
static void get(actr_ref_t who, char *version, size_t cap, int64_t *sum)
{
    actr_msg_t *rep = call(who, "{s:s}", "op", "get");
    const char *v;
    size_t vl;
    ASSERT_OK(actr_msg_unpack(rep, "{s:s s:I}", "version", &v, &vl, "sum", sum));
    snprintf(version, cap, "%.*s", (int)vl, v);
    actr_msg_free(rep);
}

/* Load the swapper from `file` (a copy of swap_v1.so) and start its actors,
 * actor i with sum 10 * (i + 1) after an add. */
static void load_swapper(void)
{
    test_copy_file(TP("swap_v1"), file, SIZE_MAX);
    actr_error_t err;
    ASSERT_OK(actr_plugin_load(rt, file, &err));
    for (int i = 0; i < NACTORS; i++) {
        ASSERT_OK(actr_spawn_type(cl, "swapper.counter", NULL, 0, NULL, &actors[i]));
        actr_msg_t *rep = call(actors[i], "{s:s s:i}", "op", "add", "n", 10 * (i + 1));
        bool ok = false;
        ASSERT_OK(actr_msg_unpack(rep, "{s:b}", "ok", &ok));
        ASSERT(ok);
        actr_msg_free(rep);
    }
}

/* Every actor answers with `version` and still has its sum. */
static void check_actors(const char *version)
{
    for (int i = 0; i < NACTORS; i++) {
        char v[64];
        int64_t sum;
        get(actors[i], v, sizeof(v), &sum);
        ASSERT_STR_EQ(v, version);
        ASSERT_EQ(sum, 10 * (i + 1));
    }
}

typedef struct vq {
    const char *name;
    char version[64];
} vq_t;

static void on_plugin(void *ud, const actr_plugin_info_t *info)
{
    vq_t *q = ud;
    if (strcmp(info->name, q->name) == 0)
        snprintf(q->version, sizeof(q->version), "%s", info->version);
}

static int version_is(const char *name, const char *version)
{
    vq_t q = {name, ""};
    ASSERT_OK(actr_plugin_list(rt, on_plugin, &q));
    return strcmp(q.version, version) == 0;
}

typedef struct hq {
    const char *action;
    int done, refused, last_code;
} hq_t;

static void on_event(void *ud, const actr_plugin_event_t *ev)
{
    hq_t *q = ud;
    if (strcmp(ev->action, q->action) != 0)
        return;
    if (ev->code == 0)
        q->done++;
    else
        q->refused++;
    q->last_code = ev->code;
}

static hq_t history_of(const char *name, const char *action)
{
    hq_t q = {action, 0, 0, 0};
    ASSERT_OK(actr_plugin_history(rt, name, on_event, &q));
    return q;
}

static int refused_swaps(const char *name) { return history_of(name, "swap").refused; }
static int done_swaps(const char *name) { return history_of(name, "swap").done; }

/* ---- tests ------------------------------------------------------------------------- */

TEST_IMPL(watch, swaps_on_rename_and_on_copy_in_place)
{
    setup(ACTR_LOG_INFO);
    load_swapper();
    ASSERT_OK(actr_plugin_watch(rt, "swapper", file, 50, NULL));

    copy_by_rename(TP("swap_v2"), file);
    ASSERT_EVENTUALLY(version_is("swapper", "2.0.0"), WAIT_MS);
    check_actors("2.0.0");

    /* plain cp over the file: the same inode, rewritten */
    test_copy_file(TP("swap_v1"), file, SIZE_MAX);
    ASSERT_EVENTUALLY(version_is("swapper", "1.0.0"), WAIT_MS);
    check_actors("1.0.0");
    ASSERT_EVENTUALLY(done_swaps("swapper") == 2, WAIT_MS); /* recorded just after the commit */
    ASSERT_EQ(refused_swaps("swapper"), 0);
    ASSERT(logged("swapped 1.0.0 -> 2.0.0"));
    ASSERT_EVENTUALLY(logged("swapped 2.0.0 -> 1.0.0"), WAIT_MS);
    teardown();
}

TEST_IMPL(watch, short_pause_writer_is_never_attempted_half_way)
{
    setup(ACTR_LOG_WARN);
    load_swapper();
    /* a debounce far longer than the writer's pause */
    ASSERT_OK(actr_plugin_watch(rt, "swapper", file, 2000, NULL));
    size_t n;
    char *data = test_read_file(TP("swap_v2"), &n);
    int fd = open(file, O_WRONLY | O_TRUNC);
    ASSERT(fd >= 0);
    write_all(fd, data, n / 2);
    test_nap_ms(100); /* the writer's pause (part of the scenario, not a wait) */
    write_all(fd, data + n / 2, n - n / 2);
    ASSERT_EQ(close(fd), 0);
    free(data);

    ASSERT_EVENTUALLY(version_is("swapper", "2.0.0"), WAIT_MS);
    check_actors("2.0.0");
    ASSERT_EVENTUALLY(done_swaps("swapper") == 1, WAIT_MS);
    ASSERT_EQ(refused_swaps("swapper"), 0); /* the half file was never tried */
    teardown();
}

TEST_IMPL(watch, long_pause_writer_is_refused_then_retried)
{
    setup(ACTR_LOG_OFF);
    load_swapper();
    ASSERT_OK(actr_plugin_watch(rt, "swapper", file, 30, NULL));
    size_t n;
    char *data = test_read_file(TP("swap_v2"), &n);
    int fd = open(file, O_WRONLY | O_TRUNC);
    ASSERT(fd >= 0);
    write_all(fd, data, n / 2);
    /* the writer stalls: the half file is attempted and refused */
    ASSERT_EVENTUALLY(refused_swaps("swapper") == 1, WAIT_MS);
    ASSERT_EQ(history_of("swapper", "swap").last_code, ACTR_EABI);
    ASSERT(version_is("swapper", "1.0.0"));
    check_actors("1.0.0"); /* still serving, state intact */
    /* the rest arrives: a new attempt, with the whole file */
    write_all(fd, data + n / 2, n - n / 2);
    ASSERT_EQ(close(fd), 0);
    free(data);
    ASSERT_EVENTUALLY(version_is("swapper", "2.0.0"), WAIT_MS);
    check_actors("2.0.0");
    ASSERT_EVENTUALLY(done_swaps("swapper") == 1, WAIT_MS);
    teardown();
}

TEST_IMPL(watch, the_running_file_again_is_not_attempted)
{
    setup(ACTR_LOG_DEBUG);
    load_swapper();
    ASSERT_OK(actr_plugin_watch(rt, "swapper", file, 30, NULL));
    /* away and back: events, but the very file the watch started with */
    char away[160];
    snprintf(away, sizeof(away), "%s/elsewhere.so", dir);
    ASSERT_EQ(rename(file, away), 0);
    ASSERT_EQ(rename(away, file), 0);
    ASSERT_EVENTUALLY(logged("is the file attempted last: not swapping again"), WAIT_MS);
    ASSERT_EQ(done_swaps("swapper") + refused_swaps("swapper"), 0);

    /* after a swap, the swapped-in file counts as attempted in turn */
    copy_by_rename(TP("swap_v2"), file);
    ASSERT_EVENTUALLY(version_is("swapper", "2.0.0"), WAIT_MS);
    pthread_mutex_lock(&log_mu);
    log_len = 0;
    log_text[0] = '\0';
    pthread_mutex_unlock(&log_mu);
    ASSERT_EQ(rename(file, away), 0);
    ASSERT_EQ(rename(away, file), 0);
    ASSERT_EVENTUALLY(logged("is the file attempted last: not swapping again"), WAIT_MS);
    ASSERT_EVENTUALLY(done_swaps("swapper") == 1, WAIT_MS);
    ASSERT_EQ(refused_swaps("swapper"), 0);
    teardown();
}

TEST_IMPL(watch, unwatch_stops_it)
{
    setup(ACTR_LOG_OFF);
    load_swapper();
    char okfile[160];
    snprintf(okfile, sizeof(okfile), "%s/ok.so", dir);
    test_copy_file(TP("ok"), okfile, SIZE_MAX);
    ASSERT_OK(actr_plugin_load(rt, okfile, NULL));
    ASSERT_OK(actr_plugin_watch(rt, "swapper", file, 30, NULL));
    ASSERT_OK(actr_plugin_watch(rt, "ok", okfile, 30, NULL));
    ASSERT_OK(actr_plugin_unwatch(rt, "swapper"));
    ASSERT_ERR(actr_plugin_unwatch(rt, "swapper"), ACTR_ENOENT);

    test_copy_file(TP("swap_v2"), file, SIZE_MAX);
    /* the sync point: the other watch, changed later, makes its attempt (a
     * file that is not a shared object: refused) */
    test_copy_file(ACTR_BINARY_DIR "/CMakeCache.txt", okfile, SIZE_MAX);
    ASSERT_EVENTUALLY(refused_swaps("ok") == 1, WAIT_MS);
    ASSERT(version_is("swapper", "1.0.0"));
    ASSERT_EQ(done_swaps("swapper") + refused_swaps("swapper"), 0);
    check_actors("1.0.0");

    /* watching again works, and sees the file as it is now */
    ASSERT_OK(actr_plugin_watch(rt, "swapper", file, 30, NULL));
    copy_by_rename(TP("swap_v2"), file);
    ASSERT_EVENTUALLY(version_is("swapper", "2.0.0"), WAIT_MS);
    teardown();
}

TEST_IMPL(watch, refusals)
{
    setup(ACTR_LOG_OFF);
    actr_error_t err;
    ASSERT_ERR(actr_plugin_unwatch(rt, "swapper"), ACTR_ENOENT); /* no watcher at all */
    ASSERT_ERR(actr_plugin_watch(rt, "swapper", file, 0, &err), ACTR_ENOENT);
    ASSERT(strstr(err.msg, "no plugin 'swapper' is loaded") != NULL);
    load_swapper();
    ASSERT_ERR(actr_plugin_watch(rt, "swapper", "/nonexistent-dir/x.so", 0, &err), ACTR_ENOENT);
    ASSERT(strstr(err.msg, "/nonexistent-dir") != NULL);
    ASSERT_ERR(actr_plugin_watch(rt, "swapper", file, 600001, &err), ACTR_EINVAL);
    ASSERT_ERR(actr_plugin_watch(rt, "swapper", "", 0, &err), ACTR_EINVAL);
    ASSERT_ERR(actr_plugin_watch(rt, "swapper", "/tmp/", 0, &err), ACTR_EINVAL);
    ASSERT_ERR(actr_plugin_watch(rt, NULL, file, 0, &err), ACTR_EINVAL);
    ASSERT_ERR(actr_plugin_watch(NULL, "swapper", file, 0, &err), ACTR_EINVAL);

    ASSERT_OK(actr_plugin_watch(rt, "swapper", file, 0, &err));
    ASSERT_ERR(actr_plugin_watch(rt, "swapper", file, 0, &err), ACTR_EEXIST);
    ASSERT(strstr(err.msg, "already watched") != NULL);
    ASSERT_ERR(actr_plugin_unwatch(rt, "nobody"), ACTR_ENOENT);
    ASSERT_OK(actr_plugin_unwatch(rt, "swapper"));
    ASSERT_OK(actr_plugin_watch(rt, "swapper", file, 0, &err));
    teardown();
}

TEST_IMPL(watch, close_with_active_watchers_and_a_pending_change)
{
    setup(ACTR_LOG_OFF);
    load_swapper();
    ASSERT_OK(actr_plugin_watch(rt, "swapper", file, 10, NULL));
    copy_by_rename(TP("swap_v2"), file);
    teardown(); /* a swap may be pending or running: close waits for it */

    /* and a watcher that never saw a change */
    setup(ACTR_LOG_OFF);
    load_swapper();
    ASSERT_OK(actr_plugin_watch(rt, "swapper", file, 0, NULL));
    teardown();
}

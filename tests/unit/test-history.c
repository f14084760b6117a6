/* tests/unit/test-history.c — the plugin history file (history.c, suite
 * `history`).
 *
 * Covers: every field of an event round-trips, including reasons and paths
 * with tabs, newlines, carriage returns, backslashes, quotes and other
 * control bytes; events come back oldest first; the name filter; no file yet
 * means no events and success; a torn last line (a crash in the middle of an
 * append) and garbage lines are skipped, and an append after a torn line is
 * read back whole; a second runtime on the same data directory sees the first
 * one's events; an unwritable history never fails the caller.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "task.h"
#include "util.h"

typedef struct rec {
    int64_t time_ms;
    char plugin[64], action[32], from[64], to[64], path[256], reason[512];
    int code;
    uint64_t actors, pause_us;
} rec_t;

typedef struct recs {
    rec_t v[32];
    int n;
} recs_t;

static void collect(void *ud, const actr_plugin_event_t *ev)
{
    recs_t *r = ud;
    ASSERT(r->n < 32);
    rec_t *x = &r->v[r->n++];
    x->time_ms = ev->time_ms;
    snprintf(x->plugin, sizeof(x->plugin), "%s", ev->plugin);
    snprintf(x->action, sizeof(x->action), "%s", ev->action);
    snprintf(x->from, sizeof(x->from), "%s", ev->from_version);
    snprintf(x->to, sizeof(x->to), "%s", ev->to_version);
    snprintf(x->path, sizeof(x->path), "%s", ev->path);
    snprintf(x->reason, sizeof(x->reason), "%s", ev->reason);
    x->code = ev->code;
    x->actors = ev->actors;
    x->pause_us = ev->pause_us;
}

static char dir[64];

static actr_t *open_rt(void)
{
    actr_options_t o;
    actr_t *rt;
    actr_options_init(&o);
    o.log_level = ACTR_LOG_OFF;
    o.workers = 1;
    o.data_dir = dir;
    ASSERT_OK(actr_open(&rt, &o));
    return rt;
}

static void make_dir(void)
{
    snprintf(dir, sizeof(dir), "/tmp/actr-hist-XXXXXX");
    ASSERT_NOT_NULL(mkdtemp(dir));
}

static void add(actr_t *rt, int64_t t, const char *plugin, const char *action, const char *from,
                const char *to, const char *path, int code, const char *reason, uint64_t actors,
                uint64_t pause_us)
{
    actr_plugin_event_t ev = {t, plugin, action, from, to, path, code, reason, actors, pause_us};
    actr__history_add(rt, &ev);
}

static void append_raw(const char *text)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/plugin-history", dir);
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644);
    ASSERT(fd >= 0);
    ASSERT_EQ(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

TEST_IMPL(history, round_trip_of_every_field)
{
    static const char nasty[] = "migrate of actor 3.1 failed:\tcode -22\nline two\r\\ \"quoted\" "
                                "'single' \x01\x1f\x7f end\\";
    recs_t r = {0};
    make_dir();
    actr_t *rt = open_rt();

    ASSERT_OK(actr_plugin_history(rt, NULL, collect, &r)); /* no file yet */
    ASSERT_EQ(r.n, 0);

    add(rt, 1700000000123, "swapper", "load", "", "1.0.0", "/p/swap_v1.so", 0, "", 0, 0);
    add(rt, 1700000000456, "swapper", "swap", "1.0.0", "3.0.0", "/p/with\ttab\nand newline.so",
        ACTR_EINVAL, nasty, 1000, 0);
    add(rt, 0, "swapper", "swap", "1.0.0", "2.0.0", "/p/swap_v2.so", 0, "", UINT64_MAX,
        (uint64_t)1 << 40);

    ASSERT_OK(actr_plugin_history(rt, NULL, collect, &r));
    ASSERT_EQ(r.n, 3);
    ASSERT_EQ(r.v[0].time_ms, 1700000000123);
    ASSERT_STR_EQ(r.v[0].plugin, "swapper");
    ASSERT_STR_EQ(r.v[0].action, "load");
    ASSERT_STR_EQ(r.v[0].from, "");
    ASSERT_STR_EQ(r.v[0].to, "1.0.0");
    ASSERT_STR_EQ(r.v[0].path, "/p/swap_v1.so");
    ASSERT_EQ(r.v[0].code, 0);
    ASSERT_STR_EQ(r.v[0].reason, "");

    ASSERT_EQ(r.v[1].time_ms, 1700000000456);
    ASSERT_STR_EQ(r.v[1].action, "swap");
    ASSERT_STR_EQ(r.v[1].from, "1.0.0");
    ASSERT_STR_EQ(r.v[1].to, "3.0.0");
    ASSERT_STR_EQ(r.v[1].path, "/p/with\ttab\nand newline.so");
    ASSERT_EQ(r.v[1].code, ACTR_EINVAL);
    ASSERT_STR_EQ(r.v[1].reason, nasty);
    ASSERT_EQ(r.v[1].actors, 1000);
    ASSERT_EQ(r.v[1].pause_us, 0);

    /* time 0 means "now": stamped at the append */
    ASSERT(r.v[2].time_ms > 1700000000456);
    ASSERT(r.v[2].actors == UINT64_MAX);
    ASSERT(r.v[2].pause_us == (uint64_t)1 << 40);

    /* one line per event, whatever the reason held */
    char path[128];
    snprintf(path, sizeof(path), "%s/plugin-history", dir);
    FILE *f = fopen(path, "r");
    ASSERT_NOT_NULL(f);
    int lines = 0, c;
    while ((c = fgetc(f)) != EOF)
        lines += c == '\n';
    fclose(f);
    ASSERT_EQ(lines, 3);

    actr_close(rt);
    actr__rmtree(dir);
}

TEST_IMPL(history, name_filter_and_order)
{
    recs_t r = {0};
    make_dir();
    actr_t *rt = open_rt();
    add(rt, 1, "a", "load", "", "1.0.0", "/a.so", 0, "", 0, 0);
    add(rt, 2, "b", "load", "", "1.0.0", "/b.so", 0, "", 0, 0);
    add(rt, 3, "a", "swap", "1.0.0", "2.0.0", "/a2.so", 0, "", 5, 7);
    add(rt, 4, "ab", "load", "", "1.0.0", "/ab.so", 0, "", 0, 0);
    add(rt, 5, "a", "unload", "2.0.0", "", "", 0, "", 0, 0);

    ASSERT_OK(actr_plugin_history(rt, "a", collect, &r));
    ASSERT_EQ(r.n, 3);
    ASSERT_EQ(r.v[0].time_ms, 1);
    ASSERT_STR_EQ(r.v[1].action, "swap");
    ASSERT_EQ(r.v[1].actors, 5);
    ASSERT_EQ(r.v[1].pause_us, 7);
    ASSERT_STR_EQ(r.v[2].action, "unload");
    ASSERT_STR_EQ(r.v[2].to, "");

    r.n = 0;
    ASSERT_OK(actr_plugin_history(rt, "nobody", collect, &r));
    ASSERT_EQ(r.n, 0);
    ASSERT_OK(actr_plugin_history(rt, NULL, collect, &r));
    ASSERT_EQ(r.n, 5);
    for (int i = 0; i < 5; i++)
        ASSERT_EQ(r.v[i].time_ms, i + 1);
    ASSERT_ERR(actr_plugin_history(rt, NULL, NULL, NULL), ACTR_EINVAL);
    actr_close(rt);
    actr__rmtree(dir);
}

TEST_IMPL(history, torn_and_foreign_lines_are_skipped)
{
    recs_t r = {0};
    make_dir();
    actr_t *rt = open_rt();
    add(rt, 10, "p", "load", "", "1.0.0", "/p.so", 0, "", 0, 0);
    /* garbage, a line with a wrong checksum, an empty line, a future format */
    append_raw("hello world\n");
    append_raw("1\t11\tp\tswap\t1.0.0\t2.0.0\t/p.so\t0\t0\t0\t\tdeadbeef\n");
    append_raw("\n");
    append_raw("2\t12\tp\tswap\t1.0.0\t2.0.0\t/p.so\t0\t0\t0\t\t00000000\n");
    add(rt, 13, "p", "swap", "1.0.0", "2.0.0", "/p2.so", 0, "", 1, 2);

    /* a crash in the middle of an append: the first half of a real line */
    char path[128];
    snprintf(path, sizeof(path), "%s/plugin-history", dir);
    struct stat st0;
    ASSERT_EQ(stat(path, &st0), 0);
    add(rt, 14, "p", "rollback", "2.0.0", "1.0.0", "", 0, "", 1, 2);
    struct stat st1;
    ASSERT_EQ(stat(path, &st1), 0);
    ASSERT_EQ(truncate(path, st0.st_size + (st1.st_size - st0.st_size) / 2), 0);

    ASSERT_OK(actr_plugin_history(rt, "p", collect, &r));
    ASSERT_EQ(r.n, 2);
    ASSERT_EQ(r.v[0].time_ms, 10);
    ASSERT_EQ(r.v[1].time_ms, 13);

    /* the next append ends the torn line first: it is read back whole */
    add(rt, 15, "p", "unload", "2.0.0", "", "", 0, "", 0, 0);
    r.n = 0;
    ASSERT_OK(actr_plugin_history(rt, "p", collect, &r));
    ASSERT_EQ(r.n, 3);
    ASSERT_EQ(r.v[2].time_ms, 15);
    ASSERT_STR_EQ(r.v[2].action, "unload");

    /* a torn line with no newline at all at the very end is skipped too */
    append_raw("1\t16\tp\tload");
    r.n = 0;
    ASSERT_OK(actr_plugin_history(rt, "p", collect, &r));
    ASSERT_EQ(r.n, 3);
    actr_close(rt);
    actr__rmtree(dir);
}

TEST_IMPL(history, survives_a_new_runtime_on_the_same_data_dir)
{
    recs_t r = {0};
    make_dir();
    actr_t *rt = open_rt();
    add(rt, 100, "swapper", "load", "", "1.0.0", "/v1.so", 0, "", 0, 0);
    add(rt, 200, "swapper", "swap", "1.0.0", "2.0.0", "/v2.so", 0, "", 3, 40);
    actr_close(rt);

    rt = open_rt();
    add(rt, 300, "swapper", "rollback", "2.0.0", "1.0.0", "", 0, "", 3, 50);
    ASSERT_OK(actr_plugin_history(rt, "swapper", collect, &r));
    ASSERT_EQ(r.n, 3);
    ASSERT_STR_EQ(r.v[0].action, "load");
    ASSERT_STR_EQ(r.v[1].action, "swap");
    ASSERT_STR_EQ(r.v[2].action, "rollback");
    ASSERT_EQ(r.v[2].pause_us, 50);

    /* two runtimes open at once on one folder append to the same file */
    actr_t *rt2 = open_rt();
    add(rt2, 400, "swapper", "unload", "1.0.0", "", "", 0, "", 0, 0);
    r.n = 0;
    ASSERT_OK(actr_plugin_history(rt, "swapper", collect, &r));
    ASSERT_EQ(r.n, 4);
    ASSERT_EQ(r.v[3].time_ms, 400);
    actr_close(rt2);
    actr_close(rt);
    actr__rmtree(dir);
}

TEST_IMPL(history, unwritable_history_never_fails_the_caller)
{
    recs_t r = {0};
    make_dir();
    actr_t *rt = open_rt();
    /* a folder where the file should be: appends fail, reads fail */
    char path[128];
    snprintf(path, sizeof(path), "%s/plugin-history", dir);
    ASSERT_EQ(mkdir(path, 0755), 0);
    add(rt, 1, "p", "load", "", "1.0.0", "/p.so", 0, "", 0, 0); /* logged, not fatal */
    ASSERT(actr_plugin_history(rt, NULL, collect, &r) < 0);
    ASSERT_EQ(r.n, 0);
    actr_close(rt);
    actr__rmtree(dir);
}

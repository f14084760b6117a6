/* tests/unit/test-plugin.c — the plugin loader and the shipped plugins (suite
 * `plugin`).
 *
 * Uses the test-only plugins of tests/plugins/ (built by cmake/plugins.cmake
 * into ACTR_BINARY_DIR/tests/plugins) and the shipped echo and kv plugins
 * (ACTR_BINARY_DIR/plugins). Covers: loading, spawning by type and
 * request/reply through a plugin's actor; the listing (versions, types, live
 * actor counts, load order); every refusal of the loader with its code and
 * message (ABI major, newer minor, signature, no entry, no receive, a type
 * declared twice, reserved fields, duplicate plugin name, a type provided by
 * another plugin, a failing load hook, truncated files, files that are not
 * shared objects, missing files) and that a refusal leaves nothing behind (no
 * listing entry, no private copy); that deleting or overwriting the original
 * file after loading changes nothing; unload refused while actors live,
 * forced unload killing them, and loading again afterwards; unload from a
 * handler refused; inspect; a type whose init fails; echo and kv end to end,
 * kv without a store (memory only) and with one (writes answered after the
 * commit, read back by a new actor and by a new runtime on the same file).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "actr.h"
#include "actr/plugin.h"
#include "files.h"
#include "task.h"
#include "util.h"

#define TP(x) ACTR_BINARY_DIR "/tests/plugins/" x ".so"
#define SHIPPED(x) ACTR_BINARY_DIR "/plugins/" x ".so"
#define WAIT_MS 10000

static actr_t *rt;
static actr_ctx_t *cl;
static char tmpdir[256];
/* DOWNs received while waiting for another one (their order across actors
 * is not defined). */
static struct {
    uint64_t id;
    char reason[64];
} downs[16];
static int ndowns;

static void setup(void)
{
    actr_options_t o;
    actr_options_init(&o);
    o.log_level = ACTR_LOG_OFF;
    o.workers = 2;
    ASSERT_OK(actr_open(&rt, &o));
    ASSERT_OK(actr_start(rt));
    ASSERT_OK(actr_client_open(rt, &cl));
    tmpdir[0] = '\0';
    ndowns = 0;
}


static void teardown(void)
{
    actr_client_close(cl);
    cl = NULL;
    ASSERT_OK(actr_stop(rt));
    ASSERT_OK(actr_wait(rt));
    actr_close(rt);
    rt = NULL;
    if (tmpdir[0] != '\0')
        actr__rmtree(tmpdir);
}

static const char *make_tmpdir(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/actr-plugin-test.XXXXXX");
    ASSERT_NOT_NULL(mkdtemp(tmpdir));
    return tmpdir;
}

/* ---- file helpers ----------------------------------------------------------------- */

static void write_file(const char *path, const void *data, size_t len)
{
    /* a new inode each time, as a build tool replacing the file would */
    unlink(path);
    test_write_file(path, data, len);
}

static void copy_prefix(const char *from, const char *to, size_t max)
{
    size_t n;
    char *buf = test_read_file(from, &n);
    ASSERT(n > 0);
    write_file(to, buf, n < max ? n : max);
    free(buf);
}

/* Files in the runtime's private plugin copies folder. */
static int ncopies(void)
{
    char dir[1024];
    snprintf(dir, sizeof(dir), "%s/plugins", actr_data_dir(rt));
    DIR *d = opendir(dir);
    if (d == NULL)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

/* ---- listing ---------------------------------------------------------------------------- */

typedef struct seen {
    char name[64], version[64], path[512], signature[128], types[256];
    uint32_t abi_major, abi_minor, ntypes;
    uint64_t actors;
} seen_t;

typedef struct seen_list {
    int n;
    seen_t v[8];
} seen_list_t;

static void collect(void *ud, const actr_plugin_info_t *info)
{
    seen_list_t *l = ud;
    ASSERT(l->n < 8);
    seen_t *s = &l->v[l->n++];
    memset(s, 0, sizeof(*s));
    snprintf(s->name, sizeof(s->name), "%s", info->name);
    snprintf(s->version, sizeof(s->version), "%s", info->version);
    snprintf(s->path, sizeof(s->path), "%s", info->path);
    snprintf(s->signature, sizeof(s->signature), "%s", info->signature);
    for (uint32_t i = 0; i < info->ntypes; i++) {
        if (i > 0)
            strcat(s->types, ",");
        strcat(s->types, info->types[i]);
    }
    s->abi_major = info->abi_major;
    s->abi_minor = info->abi_minor;
    s->ntypes = info->ntypes;
    s->actors = info->actors;
}

static seen_list_t list_now(void)
{
    seen_list_t l;
    memset(&l, 0, sizeof(l));
    ASSERT_OK(actr_plugin_list(rt, collect, &l));
    return l;
}

static int nplugins(void) { return list_now().n; }

static uint64_t live_of(const char *plugin)
{
    seen_list_t l = list_now();
    for (int i = 0; i < l.n; i++)
        if (strcmp(l.v[i].name, plugin) == 0)
            return l.v[i].actors;
    return UINT64_MAX;
}

/* ---- messaging helpers --------------------------------------------------------------- */

static actr_msg_t *call(actr_ref_t to, actr_msg_t *req)
{
    actr_msg_t *rep = NULL;
    ASSERT_OK(actr_client_call(cl, to, req, WAIT_MS, &rep));
    return rep;
}

/* Wait for the DOWN of monitor `id`; returns its reason in buf. */
static void wait_down(uint64_t id, char *buf, size_t cap)
{
    uint64_t deadline = test_now_ms() + WAIT_MS;
    for (;;) {
        for (int i = 0; i < ndowns; i++)
            if (downs[i].id == id) {
                snprintf(buf, cap, "%s", downs[i].reason);
                downs[i] = downs[--ndowns];
                return;
            }
        ASSERT(test_now_ms() < deadline);
        actr_msg_t *m = NULL;
        if (actr_client_recv(cl, 100, &m) != 0)
            continue;
        uint64_t mid = 0;
        const char *r = NULL;
        size_t rl = 0;
        if (actr_msg_type(m) == ACTR_MSG_DOWN && actr_msg_down(m, &mid, &r, &rl) == 0) {
            ASSERT(ndowns < 16);
            downs[ndowns].id = mid;
            snprintf(downs[ndowns].reason, sizeof(downs[ndowns].reason), "%.*s", (int)rl, r);
            ndowns++;
        }
        actr_msg_free(m);
    }
}

static actr_ref_t spawn(const char *type, actr_spawn_opts_t *opts)
{
    actr_ref_t r;
    ASSERT_OK(actr_spawn_type(cl, type, NULL, 0, opts, &r));
    return r;
}

/* Request [n] from an ok_echo actor and check the copy that comes back. */
static void check_echo(actr_ref_t who, int n)
{
    actr_msg_t *m;
    ASSERT_OK(actr_msg_pack(cl, 42, &m, "[is]", n, "hello"));
    actr_msg_t *rep = call(who, m);
    ASSERT_EQ(actr_msg_type(rep), 42);
    int got;
    const char *s;
    size_t sl;
    ASSERT_OK(actr_msg_unpack(rep, "[is]", &got, &s, &sl));
    ASSERT_EQ(got, n);
    ASSERT_MEM_STR(s, sl, "hello");
    actr_msg_free(rep);
}

/* ok_count: one request -> [count, loads]. */
static void count_call(actr_ref_t who, int *count, int *loads)
{
    actr_msg_t *m;
    ASSERT_OK(actr_msg_new(cl, 7, NULL, 0, &m));
    actr_msg_t *rep = call(who, m);
    ASSERT_OK(actr_msg_unpack(rep, "[ii]", count, loads));
    actr_msg_free(rep);
}

/* ---- loading and using ---------------------------------------------------------------- */

TEST_IMPL(plugin, load_spawn_call)
{
    setup();
    actr_error_t err;
    ASSERT_OK(actr_plugin_load(rt, TP("ok"), &err));
    ASSERT_EQ(err.code, 0);
    ASSERT_EQ(ncopies(), 1);

    actr_ref_t e = spawn("ok_echo", NULL);
    check_echo(e, 1);
    check_echo(e, 2);

    /* init args reach the plugin's init; the load hook ran once for this copy */
    uint8_t args[16];
    size_t alen;
    ASSERT_OK(actr_pack(args, sizeof(args), &alen, "i", 10));
    actr_ref_t c;
    ASSERT_OK(actr_spawn_type(cl, "ok_count", args, alen, NULL, &c));
    int count, loads;
    count_call(c, &count, &loads);
    ASSERT_EQ(count, 11);
    ASSERT_EQ(loads, 1);

    /* a named spawn by type; the listing of actors shows the type name */
    actr_spawn_opts_t so = {.name = "counter"};
    actr_ref_t named = spawn("ok_count", &so);
    actr_ref_t found;
    ASSERT_OK(actr_whereis(cl, "counter", &found));
    ASSERT(actr_ref_eq(found, named));
    count_call(named, &count, &loads);
    ASSERT_EQ(count, 1);

    const actr_behavior_t *beh;
    ASSERT_OK(actr_type_behavior(rt, "ok_echo", &beh));
    ASSERT_STR_EQ(beh->name, "ok_echo");
    ASSERT_NOT_NULL(beh->receive);
    /* a behaviour obtained this way spawns like one by type name */
    actr_ref_t viabeh;
    ASSERT_OK(actr_spawn(cl, beh, NULL, 0, NULL, &viabeh));
    check_echo(viabeh, 3);

    ASSERT_ERR(actr_type_behavior(rt, "nope", &beh), ACTR_ENOENT);
    actr_ref_t r;
    ASSERT_ERR(actr_spawn_type(cl, "nope", NULL, 0, NULL, &r), ACTR_ENOENT);
    ASSERT(actr_ref_is_none(r));
    teardown();
}

TEST_IMPL(plugin, list)
{
    setup();
    ASSERT_EQ(nplugins(), 0);
    ASSERT_OK(actr_plugin_load(rt, TP("ok"), NULL));
    ASSERT_OK(actr_plugin_load(rt, SHIPPED("echo"), NULL));
    seen_list_t l = list_now();
    ASSERT_EQ(l.n, 2);
    /* load order */
    ASSERT_STR_EQ(l.v[0].name, "ok");
    ASSERT_STR_EQ(l.v[0].version, "2.1.0");
    ASSERT_STR_EQ(l.v[0].path, TP("ok"));
    ASSERT_STR_EQ(l.v[0].signature, ACTR_PLUGIN_SIGNATURE);
    ASSERT_STR_EQ(l.v[0].types, "ok_echo,ok_count");
    ASSERT_EQ(l.v[0].ntypes, 2);
    ASSERT_EQ(l.v[0].abi_major, ACTR_PLUGIN_ABI_MAJOR);
    ASSERT_EQ(l.v[0].abi_minor, ACTR_PLUGIN_ABI_MINOR);
    ASSERT_EQ(l.v[0].actors, 0);
    ASSERT_STR_EQ(l.v[1].name, "echo");
    ASSERT_STR_EQ(l.v[1].version, "1.0.0");
    ASSERT_STR_EQ(l.v[1].types, "echo");

    /* live counts per plugin, over all of its types */
    actr_ref_t a = spawn("ok_echo", NULL);
    actr_ref_t b = spawn("ok_count", NULL);
    actr_ref_t e = spawn("echo", NULL);
    ASSERT_EVENTUALLY(live_of("ok") == 2, WAIT_MS);
    ASSERT_EVENTUALLY(live_of("echo") == 1, WAIT_MS);
    ASSERT_OK(actr_actor_stop(cl, a, NULL));
    ASSERT_EVENTUALLY(live_of("ok") == 1, WAIT_MS);
    ASSERT_OK(actr_actor_stop(cl, b, NULL));
    ASSERT_OK(actr_actor_stop(cl, e, NULL));
    ASSERT_EVENTUALLY(live_of("ok") == 0 && live_of("echo") == 0, WAIT_MS);
    teardown();
}

/* ---- refusals -------------------------------------------------------------------------- */

static void expect_refused(const char *path, int code, const char *what)
{
    actr_error_t err;
    memset(&err, 0, sizeof(err));
    ASSERT_ERR(actr_plugin_load(rt, path, &err), code);
    ASSERT_EQ(err.code, code);
    ASSERT_CONTAINS(err.msg, path);
    ASSERT_CONTAINS(err.msg, what);
    ASSERT(strchr(err.msg, '\n') == NULL);
}

TEST_IMPL(plugin, refusals)
{
    setup();
    char sig[160];
    snprintf(sig, sizeof(sig), "signature 'actr-plugin/1/ptr4/le' does not match '%s'",
             ACTR_PLUGIN_SIGNATURE);
    char major[64], minor[96];
    snprintf(major, sizeof(major), "ABI major %d, this runtime speaks %d",
             ACTR_PLUGIN_ABI_MAJOR + 1, ACTR_PLUGIN_ABI_MAJOR);
    snprintf(minor, sizeof(minor), "built for ABI %d.%d, newer than this runtime's %d.%d",
             ACTR_PLUGIN_ABI_MAJOR, ACTR_PLUGIN_ABI_MINOR + 3, ACTR_PLUGIN_ABI_MAJOR,
             ACTR_PLUGIN_ABI_MINOR);
    expect_refused(TP("bad_major"), ACTR_EABI, major);
    expect_refused(TP("newer_minor"), ACTR_EABI, minor);
    expect_refused(TP("bad_signature"), ACTR_EABI, sig);
    expect_refused(TP("no_entry"), ACTR_EABI, "no actr_plugin_entry symbol (not an actr plugin?)");
    expect_refused(TP("no_receive"), ACTR_EABI, "type #1 'nr_missing' has no receive callback");
    expect_refused(TP("dup_type"), ACTR_EABI, "actor type 'twice' is declared twice");
    expect_refused(TP("reserved"), ACTR_EABI, "reserved[0] is not NULL");
    expect_refused(TP("does_not_exist"), ACTR_ENOENT, "no such file");
    /* nothing stayed behind: no listing entry, no private copy, no type */
    ASSERT_EQ(nplugins(), 0);
    ASSERT_EQ(ncopies(), 0);
    actr_ref_t r;
    ASSERT_ERR(actr_spawn_type(cl, "nr_fine", NULL, 0, NULL, &r), ACTR_ENOENT);
    ASSERT_ERR(actr_spawn_type(cl, "bm", NULL, 0, NULL, &r), ACTR_ENOENT);
    ASSERT_ERR(actr_plugin_load(rt, "", NULL), ACTR_EINVAL);
    ASSERT_ERR(actr_plugin_load(NULL, TP("ok"), NULL), ACTR_EINVAL);
    teardown();
}

TEST_IMPL(plugin, duplicates)
{
    setup();
    ASSERT_OK(actr_plugin_load(rt, TP("ok"), NULL));
    char what[600];
    snprintf(what, sizeof(what), "plugin 'ok' is already loaded (from %s)", TP("ok"));
    expect_refused(TP("ok_dup_name"), ACTR_EEXIST, what);
    expect_refused(TP("ok"), ACTR_EEXIST, what);
    expect_refused(TP("type_clash"), ACTR_EEXIST,
                   "actor type 'ok_echo' is already provided by plugin 'ok' 2.1.0");
    ASSERT_EQ(nplugins(), 1);
    ASSERT_EQ(ncopies(), 1);
    /* the clash's own type was not registered either */
    actr_ref_t r;
    ASSERT_ERR(actr_spawn_type(cl, "clash_own", NULL, 0, NULL, &r), ACTR_ENOENT);
    /* once ok is gone, both load */
    ASSERT_OK(actr_plugin_unload(rt, "ok", 0, NULL));
    ASSERT_OK(actr_plugin_load(rt, TP("type_clash"), NULL));
    ASSERT_OK(actr_plugin_load(rt, TP("ok_dup_name"), NULL));
    ASSERT_EQ(nplugins(), 2);
    teardown();
}

TEST_IMPL(plugin, bad_files)
{
    setup();
    const char *dir = make_tmpdir();
    char path[512];
    size_t n;
    void *ok = test_read_file(TP("ok"), &n);

    snprintf(path, sizeof(path), "%s/half.so", dir);
    write_file(path, ok, n / 2);
    expect_refused(path, ACTR_EABI, "truncated");
    snprintf(path, sizeof(path), "%s/almost.so", dir);
    write_file(path, ok, n - 1);
    expect_refused(path, ACTR_EABI, "truncated");
    snprintf(path, sizeof(path), "%s/head.so", dir);
    write_file(path, ok, 20);
    expect_refused(path, ACTR_EABI, "truncated");
    snprintf(path, sizeof(path), "%s/text.so", dir);
    write_file(path, "this is not a library\n", 22);
    expect_refused(path, ACTR_EABI, "not a shared object");
    snprintf(path, sizeof(path), "%s/empty.so", dir);
    write_file(path, "", 0);
    expect_refused(path, ACTR_EABI, "not a shared object (empty file)");
    snprintf(path, sizeof(path), "%s/dir.so", dir);
    ASSERT_OK(mkdir(path, 0700));
    expect_refused(path, ACTR_EABI, "not a shared object");
    /* ELF, but for another word size */
    char elf32[64] = "\x7f"
                     "ELF\x01\x01\x01";
    snprintf(path, sizeof(path), "%s/elf32.so", dir);
    write_file(path, elf32, sizeof(elf32));
    expect_refused(path, ACTR_EABI, "built for 32-bit");
    /* ELF, but a relocatable object (e_type at offset 16) */
    uint8_t *rel = malloc(n);
    ASSERT_NOT_NULL(rel);
    memcpy(rel, ok, n);
    rel[16] = 1; /* ET_REL, little-endian */
    rel[17] = 0;
    snprintf(path, sizeof(path), "%s/object.so", dir);
    write_file(path, rel, n);
    free(rel);
    expect_refused(path, ACTR_EABI, "not a shared object (ELF type REL");
    /* an executable is ELF but not a shared object */
    char exe[512];
    snprintf(exe, sizeof(exe), "%s/exe.so", dir);
    copy_prefix("/proc/self/exe", exe, SIZE_MAX);
    actr_error_t err;
    ASSERT_ERR(actr_plugin_load(rt, exe, &err), ACTR_EABI);
    ASSERT_CONTAINS(err.msg, exe);

    ASSERT_EQ(nplugins(), 0);
    ASSERT_EQ(ncopies(), 0);
    /* the whole file still loads */
    snprintf(path, sizeof(path), "%s/whole.so", dir);
    write_file(path, ok, n);
    ASSERT_OK(actr_plugin_load(rt, path, NULL));
    free(ok);
    teardown();
}

TEST_IMPL(plugin, original_file_changes)
{
    setup();
    const char *dir = make_tmpdir();
    char path[512];
    snprintf(path, sizeof(path), "%s/mine.so", dir);
    copy_prefix(TP("ok"), path, SIZE_MAX);
    ASSERT_OK(actr_plugin_load(rt, path, NULL));
    actr_ref_t e = spawn("ok_echo", NULL);
    check_echo(e, 1);

    /* deleted: the running plugin is unaffected, and new actors still start */
    ASSERT_OK(unlink(path));
    check_echo(e, 2);
    check_echo(spawn("ok_echo", NULL), 3);

    /* replaced by garbage (as by a build in progress): same */
    write_file(path, "garbage garbage garbage garbage garbage garbage garbage garbage", 64);
    check_echo(e, 4);
    actr_ref_t c = spawn("ok_count", NULL);
    int count, loads;
    count_call(c, &count, &loads);
    ASSERT_EQ(count, 1);
    ASSERT_EQ(loads, 1);

    /* a new load reads the file as it is now */
    ASSERT_OK(actr_plugin_unload(rt, "ok", 1, NULL));
    expect_refused(path, ACTR_EABI, "not a shared object");
    /* and a good file again loads a fresh copy (its static data starts over) */
    copy_prefix(TP("ok"), path, SIZE_MAX);
    ASSERT_OK(actr_plugin_load(rt, path, NULL));
    c = spawn("ok_count", NULL);
    count_call(c, &count, &loads);
    ASSERT_EQ(loads, 1);
    ASSERT_EQ(ncopies(), 1);
    teardown();
}

/* ---- unloading -------------------------------------------------------------------------- */

TEST_IMPL(plugin, unload)
{
    setup();
    actr_error_t err;
    ASSERT_ERR(actr_plugin_unload(rt, "ok", 0, &err), ACTR_ENOENT);
    ASSERT_CONTAINS(err.msg, "ok");
    ASSERT_OK(actr_plugin_load(rt, TP("ok"), NULL));

    uint64_t mon_echo, mon_count;
    actr_spawn_opts_t o1 = {.monitor_id = &mon_echo};
    actr_spawn_opts_t o2 = {.monitor_id = &mon_count};
    actr_ref_t e = spawn("ok_echo", &o1);
    actr_ref_t c = spawn("ok_count", &o2);
    check_echo(e, 1);
    int count, loads;
    count_call(c, &count, &loads);

    /* refused while they live; nothing changes */
    ASSERT_ERR(actr_plugin_unload(rt, "ok", 0, &err), ACTR_EBUSY);
    ASSERT_EQ(err.code, ACTR_EBUSY);
    ASSERT_CONTAINS(err.msg, "plugin 'ok' has 2 live actors");
    ASSERT_EQ(live_of("ok"), 2);
    check_echo(e, 2);
    check_echo(spawn("ok_echo", NULL), 3);
    ASSERT_EVENTUALLY(live_of("ok") == 3, WAIT_MS);

    /* forced: the actors are killed, then the plugin goes */
    ASSERT_OK(actr_plugin_unload(rt, "ok", 1, &err));
    char reason[64];
    wait_down(mon_echo, reason, sizeof(reason));
    ASSERT_STR_EQ(reason, ACTR_REASON_KILLED);
    wait_down(mon_count, reason, sizeof(reason));
    ASSERT_STR_EQ(reason, ACTR_REASON_KILLED);
    ASSERT(!actr_is_alive(cl, e));
    ASSERT_EQ(nplugins(), 0);
    ASSERT_EQ(ncopies(), 0);
    actr_ref_t r;
    ASSERT_ERR(actr_spawn_type(cl, "ok_echo", NULL, 0, NULL, &r), ACTR_ENOENT);
    const actr_behavior_t *beh;
    ASSERT_ERR(actr_type_behavior(rt, "ok_count", &beh), ACTR_ENOENT);

    /* and it loads again */
    ASSERT_OK(actr_plugin_load(rt, TP("ok"), NULL));
    check_echo(spawn("ok_echo", NULL), 4);
    teardown();
}

TEST_IMPL(plugin, unload_after_stop)
{
    setup();
    ASSERT_OK(actr_plugin_load(rt, TP("ok"), NULL));
    uint64_t mon;
    actr_spawn_opts_t o = {.monitor_id = &mon};
    actr_ref_t e = spawn("ok_echo", &o);
    check_echo(e, 1);
    ASSERT_OK(actr_actor_stop(cl, e, NULL));
    char reason[64];
    wait_down(mon, reason, sizeof(reason));
    /* terminate has run once DOWN is out; the count follows */
    ASSERT_EVENTUALLY(live_of("ok") == 0, WAIT_MS);
    ASSERT_OK(actr_plugin_unload(rt, "ok", 0, NULL));
    ASSERT_EQ(nplugins(), 0);
    teardown();
}

/* A handler that tries to unload a plugin and replies with the result. */
static int unloader_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    (void)state;
    int rc = actr_plugin_unload(actr_ctx_runtime(ctx), "ok", 1, NULL);
    int lrc = actr_plugin_load(actr_ctx_runtime(ctx), TP("echo_never"), NULL);
    actr_msg_t *rep;
    if (actr_msg_pack(ctx, 1, &rep, "[ii]", rc, lrc) == 0)
        (void)actr_reply(ctx, msg, rep);
    return 0;
}

TEST_IMPL(plugin, unload_from_handler)
{
    setup();
    ASSERT_OK(actr_plugin_load(rt, TP("ok"), NULL));
    static const actr_behavior_t unloader = {
        .size = sizeof(actr_behavior_t), .name = "unloader", .receive = unloader_receive};
    actr_ref_t u;
    ASSERT_OK(actr_spawn(cl, &unloader, NULL, 0, NULL, &u));
    actr_msg_t *m;
    ASSERT_OK(actr_msg_new(cl, 1, NULL, 0, &m));
    actr_msg_t *rep = call(u, m);
    int rc, lrc;
    ASSERT_OK(actr_msg_unpack(rep, "[ii]", &rc, &lrc));
    actr_msg_free(rep);
    ASSERT_EQ(rc, ACTR_ECONTEXT);
    ASSERT_EQ(lrc, ACTR_ECONTEXT);
    ASSERT_EQ(nplugins(), 1);
    teardown();
}

TEST_IMPL(plugin, init_fail)
{
    setup();
    ASSERT_OK(actr_plugin_load(rt, TP("init_fail"), NULL));
    uint64_t mon;
    actr_spawn_opts_t o = {.monitor_id = &mon};
    spawn("init_fail", &o);
    char reason[64];
    wait_down(mon, reason, sizeof(reason));
    ASSERT_STR_EQ(reason, "EINVAL");
    /* a failed init is not a live actor: unload is not refused */
    ASSERT_EQ(live_of("init_fail"), 0);
    ASSERT_OK(actr_plugin_unload(rt, "init_fail", 0, NULL));
    teardown();
}

TEST_IMPL(plugin, load_hook_fails)
{
    setup();
    unsetenv("ACTR_TEST_LOAD_OK");
    expect_refused(TP("load_fail"), ACTR_ECONFIG, "load hook failed: ECONFIG");
    ASSERT_EQ(nplugins(), 0);
    ASSERT_EQ(ncopies(), 0);
    actr_ref_t r;
    ASSERT_ERR(actr_spawn_type(cl, "lf", NULL, 0, NULL, &r), ACTR_ENOENT);
    /* the name and the type are free again: the same plugin loads once its
     * hook agrees */
    ASSERT_OK(setenv("ACTR_TEST_LOAD_OK", "1", 1));
    ASSERT_OK(actr_plugin_load(rt, TP("load_fail"), NULL));
    ASSERT_EQ(nplugins(), 1);
    ASSERT_OK(actr_spawn_type(cl, "lf", NULL, 0, NULL, &r));
    unsetenv("ACTR_TEST_LOAD_OK");
    teardown();
}

/* ---- inspect ------------------------------------------------------------------------------ */

TEST_IMPL(plugin, inspect)
{
    seen_list_t l;
    memset(&l, 0, sizeof(l));
    actr_error_t err;
    ASSERT_OK(actr_plugin_inspect(TP("ok"), collect, &l, &err));
    ASSERT_EQ(l.n, 1);
    ASSERT_STR_EQ(l.v[0].name, "ok");
    ASSERT_STR_EQ(l.v[0].version, "2.1.0");
    ASSERT_STR_EQ(l.v[0].path, TP("ok"));
    ASSERT_STR_EQ(l.v[0].types, "ok_echo,ok_count");
    ASSERT_STR_EQ(l.v[0].signature, ACTR_PLUGIN_SIGNATURE);
    ASSERT_EQ(l.v[0].actors, 0);
    ASSERT_OK(actr_plugin_inspect(SHIPPED("kv"), collect, &l, NULL));
    ASSERT_EQ(l.n, 2);
    ASSERT_STR_EQ(l.v[1].name, "kv");
    ASSERT_STR_EQ(l.v[1].types, "kv");

    ASSERT_ERR(actr_plugin_inspect(TP("bad_major"), collect, &l, &err), ACTR_EABI);
    ASSERT_CONTAINS(err.msg, "ABI major 2");
    ASSERT_ERR(actr_plugin_inspect(TP("no_receive"), collect, &l, &err), ACTR_EABI);
    ASSERT_CONTAINS(err.msg, "no receive callback");
    ASSERT_ERR(actr_plugin_inspect(TP("no_entry"), collect, &l, &err), ACTR_EABI);
    ASSERT_ERR(actr_plugin_inspect(TP("missing"), collect, &l, &err), ACTR_ENOENT);
    ASSERT_EQ(l.n, 2);
    /* the load hook does not run: a plugin whose hook fails inspects fine */
    unsetenv("ACTR_TEST_LOAD_OK");
    ASSERT_OK(actr_plugin_inspect(TP("load_fail"), collect, &l, &err));
    ASSERT_EQ(l.n, 3);
    ASSERT_STR_EQ(l.v[2].name, "load_fail");
}

/* ---- shipped plugins ------------------------------------------------------------------------ */

TEST_IMPL(plugin, echo)
{
    setup();
    ASSERT_OK(actr_plugin_load(rt, SHIPPED("echo"), NULL));
    actr_ref_t e = spawn("echo", NULL);
    uint8_t raw[64];
    size_t rl;
    ASSERT_OK(actr_pack(raw, sizeof(raw), &rl, "{s:[i n f] s:x}", "a", -5, 2.5, "b", "\0\1", 2));
    actr_msg_t *m;
    ASSERT_OK(actr_msg_new(cl, 1234, raw, rl, &m));
    actr_msg_t *rep = call(e, m);
    ASSERT_EQ(actr_msg_type(rep), 1234);
    size_t n;
    const void *d = actr_msg_data(rep, &n);
    ASSERT_EQ(n, rl);
    ASSERT(memcmp(d, raw, rl) == 0);
    actr_msg_free(rep);

    /* a plain send gets nothing back: the next message the client sees is the
     * reply to the request that follows it */
    ASSERT_OK(actr_msg_new(cl, 5, "\xc0", 1, &m));
    ASSERT_OK(actr_send(cl, e, m));
    ASSERT_OK(actr_msg_new(cl, 6, NULL, 0, &m));
    uint64_t id;
    ASSERT_OK(actr_request(cl, e, m, WAIT_MS, &id));
    actr_msg_t *got;
    ASSERT_OK(actr_client_recv(cl, WAIT_MS, &got));
    ASSERT(actr_msg_is_reply(got));
    ASSERT_EQ(actr_msg_request_id(got), id);
    ASSERT_EQ(actr_msg_type(got), 6);
    actr_msg_free(got);
    teardown();
}

static actr_msg_t *kv_call(actr_ref_t kv, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    actr_msg_t *m;
    ASSERT_OK(actr_msg_vpack(cl, 9, &m, fmt, ap));
    va_end(ap);
    actr_msg_t *rep = call(kv, m);
    ASSERT_EQ(actr_msg_type(rep), 9);
    return rep;
}

static void kv_expect_ok(actr_msg_t *rep)
{
    bool ok = false;
    ASSERT_OK(actr_msg_unpack(rep, "{s:b}", "ok", &ok));
    ASSERT(ok);
    actr_msg_free(rep);
}

static void kv_expect_error(actr_msg_t *rep, const char *error, const char *msg_part)
{
    bool ok = true;
    const char *e, *text = "";
    size_t el, tl = 0;
    ASSERT_OK(
        actr_msg_unpack(rep, "{s:b s:s ?s:s}", "ok", &ok, "error", &e, &el, "message", &text, &tl));
    ASSERT(!ok);
    ASSERT_MEM_STR(e, el, error);
    if (msg_part != NULL) {
        char buf[300];
        snprintf(buf, sizeof(buf), "%.*s", (int)tl, text);
        ASSERT_CONTAINS(buf, msg_part);
    }
    actr_msg_free(rep);
}

TEST_IMPL(plugin, kv)
{
    setup();
    ASSERT_OK(actr_plugin_load(rt, SHIPPED("kv"), NULL));
    actr_ref_t kv = spawn("kv", NULL);

    /* keys of an empty store */
    actr_msg_t *rep = kv_call(kv, "{s:s}", "op", "keys");
    const void *raw;
    size_t rawl;
    bool ok;
    ASSERT_OK(actr_msg_unpack(rep, "{s:b s:*}", "ok", &ok, "keys", &raw, &rawl));
    ASSERT(ok);
    ASSERT_OK(actr_unpack(raw, rawl, "[]"));
    actr_msg_free(rep);

    /* put any value; get returns its exact bytes */
    uint8_t val[128];
    size_t vl;
    ASSERT_OK(actr_pack(val, sizeof(val), &vl, "{s:[i s n] s:f s:b}", "list", 1, "two", "pi", 3.25,
                        "t", 1));
    kv_expect_ok(kv_call(kv, "{s:s s:s s:*}", "op", "put", "key", "alpha", "value", val, vl));
    kv_expect_ok(kv_call(kv, "{s:s s:s s:i}", "op", "put", "key", "beta", "value", 7));
    rep = kv_call(kv, "{s:s s:s}", "op", "get", "key", "alpha");
    ASSERT_OK(actr_msg_unpack(rep, "{s:b s:*}", "ok", &ok, "value", &raw, &rawl));
    ASSERT(ok);
    ASSERT_EQ(rawl, vl);
    ASSERT(memcmp(raw, val, vl) == 0);
    actr_msg_free(rep);

    /* overwrite */
    kv_expect_ok(kv_call(kv, "{s:s s:s s:s}", "op", "put", "key", "beta", "value", "eight"));
    rep = kv_call(kv, "{s:s s:s}", "op", "get", "key", "beta");
    const char *s;
    size_t sl;
    ASSERT_OK(actr_msg_unpack(rep, "{s:b s:s}", "ok", &ok, "value", &s, &sl));
    ASSERT_MEM_STR(s, sl, "eight");
    actr_msg_free(rep);

    /* keys: both, in any order */
    rep = kv_call(kv, "{s:s}", "op", "keys");
    const char *k1, *k2;
    size_t k1l, k2l;
    ASSERT_OK(actr_msg_unpack(rep, "{s:[ss]}", "keys", &k1, &k1l, &k2, &k2l));
    ASSERT((k1l == 5 && memcmp(k1, "alpha", 5) == 0 && k2l == 4 && memcmp(k2, "beta", 4) == 0) ||
           (k2l == 5 && memcmp(k2, "alpha", 5) == 0 && k1l == 4 && memcmp(k1, "beta", 4) == 0));
    actr_msg_free(rep);

    /* delete, twice */
    bool deleted = false;
    rep = kv_call(kv, "{s:s s:s}", "op", "delete", "key", "alpha");
    ASSERT_OK(actr_msg_unpack(rep, "{s:b s:b}", "ok", &ok, "deleted", &deleted));
    ASSERT(ok && deleted);
    actr_msg_free(rep);
    rep = kv_call(kv, "{s:s s:s}", "op", "delete", "key", "alpha");
    ASSERT_OK(actr_msg_unpack(rep, "{s:b s:b}", "ok", &ok, "deleted", &deleted));
    ASSERT(ok && !deleted);
    actr_msg_free(rep);
    kv_expect_error(kv_call(kv, "{s:s s:s}", "op", "get", "key", "alpha"), "not_found", NULL);

    /* many keys (the table grows) */
    char key[32];
    for (int i = 0; i < 300; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        kv_expect_ok(kv_call(kv, "{s:s s:s s:i}", "op", "put", "key", key, "value", i));
    }
    for (int i = 0; i < 300; i += 37) {
        snprintf(key, sizeof(key), "k%d", i);
        rep = kv_call(kv, "{s:s s:s}", "op", "get", "key", key);
        int v = -1;
        ASSERT_OK(actr_msg_unpack(rep, "{s:i}", "value", &v));
        ASSERT_EQ(v, i);
        actr_msg_free(rep);
    }

    /* bad requests: answered, never a crash */
    kv_expect_error(kv_call(kv, "i", 5), "bad_request", "map");
    kv_expect_error(kv_call(kv, "[s]", "put"), "bad_request", "map");
    kv_expect_error(kv_call(kv, "{s:s}", "key", "x"), "bad_request", "\"op\"");
    kv_expect_error(kv_call(kv, "{s:i}", "op", 3), "bad_request", "\"op\" must be a string");
    kv_expect_error(kv_call(kv, "{s:s}", "op", "frobnicate"), "bad_request", "unknown op");
    kv_expect_error(kv_call(kv, "{s:s}", "op", "get"), "bad_request", "\"key\"");
    kv_expect_error(kv_call(kv, "{s:s s:i}", "op", "get", "key", 1), "bad_request", "\"key\"");
    kv_expect_error(kv_call(kv, "{s:s s:s}", "op", "put", "key", "x"), "bad_request", "\"value\"");
    actr_msg_t *m;
    ASSERT_OK(actr_msg_new(cl, 9, NULL, 0, &m));
    kv_expect_error(call(kv, m), "bad_request", "empty");
    ASSERT_OK(actr_msg_new(cl, 9, "\xc1\xc1", 2, &m)); /* not msgpack at all */
    kv_expect_error(call(kv, m), "bad_request", "not valid msgpack");
    ASSERT_OK(actr_msg_new(cl, 9, "\x81\xa2op", 4, &m)); /* a map cut short */
    kv_expect_error(call(kv, m), "bad_request", "not valid msgpack");

    /* still alive and still holding its data */
    rep = kv_call(kv, "{s:s s:s}", "op", "get", "key", "beta");
    ASSERT_OK(actr_msg_unpack(rep, "{s:b s:s}", "ok", &ok, "value", &s, &sl));
    ASSERT_MEM_STR(s, sl, "eight");
    actr_msg_free(rep);

    /* two stores are independent */
    actr_ref_t kv2 = spawn("kv", NULL);
    kv_expect_error(kv_call(kv2, "{s:s s:s}", "op", "get", "key", "beta"), "not_found", NULL);
    ASSERT_EQ(live_of("kv"), 2);
    /* stopping frees the store (ASan checks the plugin's terminate) */
    ASSERT_OK(actr_plugin_unload(rt, "kv", 1, NULL));
    teardown();
}

/* A runtime with a state store at `db` (max_value bytes per value). */
static void setup_store(const char *db, uint32_t max_value)
{
    setup();
    actr_store_options_t so;
    actr_store_options_init(&so);
    so.path = db;
    so.max_value = max_value;
    actr_error_t err;
    memset(&err, 0, sizeof(err));
    if (actr_store_open(rt, &so, &err) != 0)
        TEST_FAIL_("actr_store_open %s: %s", db, err.msg);
}

static actr_ref_t spawn_kv(const char *ns)
{
    uint8_t args[64];
    size_t al;
    actr_ref_t r;
    ASSERT_OK(actr_pack(args, sizeof(args), &al, "{s:s}", "ns", ns));
    ASSERT_OK(actr_spawn_type(cl, "kv", args, al, NULL, &r));
    return r;
}

static void kv_expect_int(actr_ref_t kv, const char *key, int want)
{
    actr_msg_t *rep = kv_call(kv, "{s:s s:s}", "op", "get", "key", key);
    bool ok = false;
    int v = -1;
    ASSERT_OK(actr_msg_unpack(rep, "{s:b ?s:i}", "ok", &ok, "value", &v));
    if (!ok || v != want)
        TEST_FAIL_("get %s: ok=%d value=%d, expected %d", key, ok, v, want);
    actr_msg_free(rep);
}

/* kv with a store: writes answered after the commit, read back by a new
 * actor on the same namespace and by a new runtime on the same file;
 * namespaces are separate; oversized values and bad args refused. */
TEST_IMPL(plugin, kv_durable)
{
    char db[300], keep[sizeof(tmpdir)];
    snprintf(keep, sizeof(keep), "%s", make_tmpdir());
    snprintf(db, sizeof(db), "%s/kv.db", keep);
    setup_store(db, 256);
    memcpy(tmpdir, keep, sizeof(keep)); /* setup clears it; teardown removes it */
    ASSERT_OK(actr_plugin_load(rt, SHIPPED("kv"), NULL));
    actr_ref_t a = spawn_kv("a");
    for (int i = 0; i < 50; i++) {
        char key[16];
        snprintf(key, sizeof(key), "k%d", i);
        kv_expect_ok(kv_call(a, "{s:s s:s s:i}", "op", "put", "key", key, "value", i));
    }
    bool ok = false, deleted = false;
    actr_msg_t *rep = kv_call(a, "{s:s s:s}", "op", "delete", "key", "k0");
    ASSERT_OK(actr_msg_unpack(rep, "{s:b s:b}", "ok", &ok, "deleted", &deleted));
    ASSERT(ok && deleted);
    actr_msg_free(rep);
    kv_expect_ok(kv_call(a, "{s:s s:s s:i}", "op", "put", "key", "k1", "value", 1001));
    /* over max_value: refused, nothing changes */
    char big[400];
    memset(big, 'b', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    kv_expect_error(kv_call(a, "{s:s s:s s:s}", "op", "put", "key", "k2", "value", big),
                    "too_large", "k2");
    kv_expect_int(a, "k2", 2);
    kv_expect_error(kv_call(a, "{s:s s:s s:i}", "op", "put", "key", "", "value", 1), "bad_request",
                    "empty");
    /* many writes in flight at once (one group commit may hold several):
     * answered in the order they were sent, and all applied */
    {
        uint64_t ids[200];
        for (int i = 0; i < 200; i++) {
            char key[16];
            actr_msg_t *m;
            snprintf(key, sizeof(key), "f%d", i % 100); /* each key written twice */
            ASSERT_OK(actr_msg_pack(cl, 9, &m, "{s:s s:s s:i}", "op", "put", "key", key, "value",
                                    i));
            ASSERT_OK(actr_request(cl, a, m, WAIT_MS, &ids[i]));
        }
        for (int n = 0; n < 200; n++) {
            actr_msg_t *got;
            ASSERT_OK(actr_client_recv(cl, WAIT_MS, &got));
            ASSERT(actr_msg_is_reply(got));
            /* the store answers one requester in order, kv answers at each ack */
            ASSERT_EQ(actr_msg_request_id(got), ids[n]);
            ASSERT_OK(actr_msg_unpack(got, "{s:b}", "ok", &ok));
            ASSERT(ok);
            actr_msg_free(got);
        }
        kv_expect_int(a, "f0", 100); /* the later write of each key wins */
        kv_expect_int(a, "f99", 199);
    }
    /* another namespace sees nothing of "a" */
    actr_ref_t b = spawn_kv("b");
    kv_expect_error(kv_call(b, "{s:s s:s}", "op", "get", "key", "k1"), "not_found", NULL);
    /* a new actor on "a" reads it back (stop the first: one actor per namespace) */
    ASSERT_OK(actr_actor_stop(cl, a, "normal"));
    a = spawn_kv("a");
    kv_expect_int(a, "k1", 1001);
    kv_expect_int(a, "k49", 49);
    kv_expect_error(kv_call(a, "{s:s s:s}", "op", "get", "key", "k0"), "not_found", NULL);
    /* bad args: init fails */
    {
        actr_ref_t r;
        uint64_t mon;
        char why[64];
        actr_spawn_opts_t o = {.monitor_id = &mon};
        ASSERT_OK(actr_spawn_type(cl, "kv", "\x05", 1, &o, &r));
        wait_down(mon, why, sizeof(why));
        ASSERT_CONTAINS(why, "EINVAL");
    }
    ASSERT_OK(actr_plugin_unload(rt, "kv", 1, NULL));
    actr_client_close(cl);
    cl = NULL;
    ASSERT_OK(actr_stop(rt));
    ASSERT_OK(actr_wait(rt));
    actr_close(rt);
    rt = NULL;

    /* a new runtime on the same file */
    setup_store(db, 0);
    memcpy(tmpdir, keep, sizeof(keep));
    ASSERT_OK(actr_plugin_load(rt, SHIPPED("kv"), NULL));
    a = spawn_kv("a");
    kv_expect_int(a, "k1", 1001);
    kv_expect_int(a, "k2", 2);
    rep = kv_call(a, "{s:s}", "op", "keys");
    const void *raw;
    size_t rawl;
    ASSERT_OK(actr_msg_unpack(rep, "{s:b s:*}", "ok", &ok, "keys", &raw, &rawl));
    ASSERT_EQ(((const uint8_t *)raw)[0], 0xdc); /* array16: 49 keys */
    ASSERT_EQ(((const uint8_t *)raw)[2], 149); /* k1..k49, f0..f99 */
    actr_msg_free(rep);
    ASSERT_OK(actr_plugin_unload(rt, "kv", 1, NULL));
    teardown();
}

TEST_IMPL(plugin, two_runtimes)
{
    setup();
    actr_t *rt2;
    actr_options_t o;
    actr_options_init(&o);
    o.log_level = ACTR_LOG_OFF;
    o.workers = 1;
    ASSERT_OK(actr_open(&rt2, &o));
    ASSERT_OK(actr_start(rt2));
    ASSERT_OK(actr_plugin_load(rt, TP("ok"), NULL));
    ASSERT_OK(actr_plugin_load(rt2, TP("ok"), NULL));
    ASSERT_EQ(ncopies(), 1);
    actr_ctx_t *c2;
    ASSERT_OK(actr_client_open(rt2, &c2));
    actr_ref_t r2;
    ASSERT_OK(actr_spawn_type(c2, "ok_count", NULL, 0, NULL, &r2));
    /* each runtime has its own registry */
    ASSERT_OK(actr_plugin_unload(rt, "ok", 0, NULL));
    actr_msg_t *m, *rep;
    ASSERT_OK(actr_msg_new(c2, 1, NULL, 0, &m));
    ASSERT_OK(actr_client_call(c2, r2, m, WAIT_MS, &rep));
    int count, loads;
    ASSERT_OK(actr_msg_unpack(rep, "[ii]", &count, &loads));
    ASSERT_EQ(count, 1);
    actr_msg_free(rep);
    actr_client_close(c2);
    /* closing a runtime with a plugin loaded and actors alive unloads it */
    actr_close(rt2);
    teardown();
}

/* Another thread spawns actors of the plugin's types as fast as it can while
 * the test thread force-unloads and reloads the plugin: every spawn either is
 * refused (ACTR_ENOENT), or makes an actor that is killed by the unload or
 * whose queued init is cancelled; no plugin code runs after its dlclose (a
 * crash or a sanitizer report would say so). */
typedef struct spawner {
    atomic_int stop;
    atomic_int spawned;
} spawner_t;

static void *spawner_main(void *arg)
{
    spawner_t *s = arg;
    actr_ctx_t *c;
    ASSERT_OK(actr_client_open(rt, &c));
    while (!atomic_load(&s->stop)) {
        actr_ref_t r;
        if (actr_spawn_type(c, atomic_load(&s->spawned) % 2 ? "ok_echo" : "ok_count", NULL, 0, NULL,
                            &r) == 0)
            atomic_fetch_add(&s->spawned, 1);
    }
    actr_client_close(c);
    return NULL;
}

TEST_IMPL(plugin, unload_while_spawning)
{
    setup();
    spawner_t s;
    atomic_init(&s.stop, 0);
    atomic_init(&s.spawned, 0);
    pthread_t th;
    ASSERT_OK(actr_plugin_load(rt, TP("ok"), NULL));
    ASSERT_OK(pthread_create(&th, NULL, spawner_main, &s));
    for (int round = 0; round < 30; round++) {
        int before = atomic_load(&s.spawned);
        ASSERT_EVENTUALLY(atomic_load(&s.spawned) > before + 20, WAIT_MS);
        ASSERT_OK(actr_plugin_unload(rt, "ok", 1, NULL));
        ASSERT_OK(actr_plugin_load(rt, TP("ok"), NULL));
    }
    atomic_store(&s.stop, 1);
    ASSERT_OK(pthread_join(th, NULL));
    ASSERT_OK(actr_plugin_unload(rt, "ok", 1, NULL));
    actr_stats_t st;
    actr_stats(rt, &st);
    ASSERT_EVENTUALLY((actr_stats(rt, &st), st.actors_live == 0), WAIT_MS);
    ASSERT_EQ(ncopies(), 0);
    teardown();
}

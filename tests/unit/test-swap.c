/* tests/unit/test-swap.c — hot swap of plugins (suite `swap`): actr_plugin_swap,
 * actr_plugin_rollback and the plugin history, through the test plugin
 * "swapper" (tests/plugins/swap_v1.c, swap_v2.c, swap_v3.c; protocol in
 * tests/plugins/swapper.h). Swaps while actors run (load, continuity, spawns)
 * are in test-swaplive.c.
 *
 * Covers: a swap that changes the state layout (every actor keeps its exact
 * state, ref and name); a swap whose migrate hook fails for one actor among
 * thousands (refused, named, nothing changed); the same while other actors
 * keep the workers busy, so that they join the hold and migrate chunks of
 * the plugin's actors; every refusal (ABI, truncated
 * file, another plugin's file, a plugin not loaded, a missing file, a version
 * that drops a type with live actors) leaves the node as it was; a swap from
 * a handler; rollback; the old .so really unmapped after 100 swaps; the
 * history, also after a restart on the same data directory.
 */
#include "internal.h" /* rt->hold.helped; first: swap_helpers.h declares a global `rt` */

#include "swap_helpers.h"

/* ---- v1 -> v2: the state layout changes ------------------------------------------- */

#define LAYOUT_N 2000

static int64_t layout_sum(size_t i) { return (int64_t)i * 10 + 3 + (int64_t)(i % 3) * (int64_t)i; }

TEST_IMPL(swap, layout_change)
{
    setup();
    load(V1);
    actr_ref_t *refs = malloc(LAYOUT_N * sizeof(*refs));
    int64_t *amount = malloc(LAYOUT_N * sizeof(*amount));
    sw_t *st = malloc(LAYOUT_N * sizeof(*st));
    ASSERT(refs && amount && st);
    char name[32];
    for (size_t i = 0; i < LAYOUT_N; i++) {
        snprintf(name, sizeof(name), "sw-%zu", i);
        refs[i] = spawn_sw((int64_t)i * 10 + 3, i % 100 == 0 ? name : NULL, 0);
    }
    /* calls: i % 3 adds of i each */
    for (int round = 1; round <= 2; round++) {
        actr_ref_t *sub = malloc(LAYOUT_N * sizeof(*sub));
        size_t k = 0;
        for (size_t i = 0; i < LAYOUT_N; i++)
            if ((int)(i % 3) >= round) {
                sub[k] = refs[i];
                amount[k++] = (int64_t)i;
            }
        request_many(sub, k, "add", amount, NULL);
        free(sub);
    }
    request_many(refs, LAYOUT_N, "get", NULL, st);
    for (size_t i = 0; i < LAYOUT_N; i++) {
        ASSERT_STR_EQ(st[i].version, "1.0.0");
        ASSERT_EQ(st[i].sum, layout_sum(i));
        ASSERT_EQ(st[i].calls, i % 3);
    }
    actr_stats_t before;
    actr_stats(rt, &before);

    swap_ok(V2, "1.0.0", "2.0.0", LAYOUT_N);

    memset(st, 0, LAYOUT_N * sizeof(*st));
    request_many(refs, LAYOUT_N, "get", NULL, st);
    for (size_t i = 0; i < LAYOUT_N; i++) {
        ASSERT_STR_EQ(st[i].version, "2.0.0");
        ASSERT_EQ(st[i].sum, layout_sum(i));
        ASSERT_EQ(st[i].calls, i % 3);
        ASSERT_STR_EQ(st[i].note, "migrated-from-1");
        ASSERT_EQ(st[i].migrated_from, 1);
        ASSERT_EQ(st[i].init_by, 1);
        ASSERT_EQ(st[i].generation, 1);
    }
    /* same refs (the gets above went through them), same names, same count */
    for (size_t i = 0; i < LAYOUT_N; i += 100) {
        actr_ref_t r;
        snprintf(name, sizeof(name), "sw-%zu", i);
        ASSERT_OK(actr_whereis(cl, name, &r));
        ASSERT(actr_ref_eq(r, refs[i]));
    }
    assert_live_refs(refs, LAYOUT_N);
    actr_stats_t after;
    actr_stats(rt, &after);
    ASSERT_EQ(after.actors_live, before.actors_live);
    seen_list_t l = list_now();
    const seen_t *p = find_plugin(&l, "swapper");
    ASSERT_NOT_NULL(p);
    ASSERT_STR_EQ(p->version, "2.0.0");
    ASSERT_STR_EQ(p->path, V2);
    ASSERT_STR_EQ(p->types, TYPE);
    ASSERT_EQ(p->actors, LAYOUT_N);

    /* the new code also serves new actors and requests */
    actr_ref_t fresh = spawn_sw(77, NULL, 0);
    sw_t f = get1(fresh);
    ASSERT_STR_EQ(f.version, "2.0.0");
    ASSERT_EQ(f.sum, 77);
    ASSERT_EQ(f.init_by, 2);
    ASSERT_EQ(f.generation, 0);
    ASSERT_STR_EQ(f.note, "");
    amount[0] = 5;
    request_many(&refs[7], 1, "add", amount, NULL);
    ASSERT_EQ(get1(refs[7]).sum, layout_sum(7) + 5);
    ASSERT_EQ(get1(refs[7]).calls, 7 % 3 + 1);

    free(refs);
    free(amount);
    free(st);
    teardown();
}

/* ---- v2 -> v3 whose migrate fails for one actor ------------------------------------- */

#define FAIL_N 3000
#define POISON_AT 1777 /* this actor's sum is 4242, which v3's migrate refuses */

/* n swapper actors of the loaded version after one "add" each (calls = 1):
 * actor `poison`, named "poisoned", has sum 4242 (which v3's migrate
 * refuses), actor i any other sum i * 11 + 1. Allocates for the caller the
 * refs, the amounts array (free for reuse) and n states for "get". */
static void spawn_poisoned(size_t n, size_t poison, actr_ref_t **refs, int64_t **amount,
                           sw_t **st)
{
    *refs = malloc(n * sizeof(**refs));
    *amount = malloc(n * sizeof(**amount));
    *st = malloc(n * sizeof(**st));
    ASSERT(*refs && *amount && *st);
    for (size_t i = 0; i < n; i++)
        (*refs)[i] = spawn_sw(i == poison ? 4240 : (int64_t)i * 10 + 1,
                              i == poison ? "poisoned" : NULL, 0);
    for (size_t i = 0; i < n; i++)
        (*amount)[i] = i == poison ? 2 : (int64_t)i;
    request_many(*refs, n, "add", *amount, NULL);
}

TEST_IMPL(swap, migrate_fails_for_one)
{
    setup();
    load(V2);
    actr_ref_t *refs;
    int64_t *amount;
    sw_t *st;
    spawn_poisoned(FAIL_N, POISON_AT, &refs, &amount, &st);
    seen_list_t l0 = list_now();
    int copies0 = ncopies();

    actr_error_t err;
    actr_swap_info_t info;
    memset(&err, 0, sizeof(err));
    memset(&info, 0, sizeof(info));
    ASSERT_ERR(actr_plugin_swap(rt, "swapper", V3, &info, &err), ACTR_EINVAL);
    ASSERT_EQ(err.code, ACTR_EINVAL);
    char slot[32];
    snprintf(slot, sizeof(slot), "%u", (unsigned)refs[POISON_AT].slot);
    if (strstr(err.msg, "poisoned") == NULL && strstr(err.msg, slot) == NULL)
        TEST_FAIL_("the refusal does not name the failing actor (name 'poisoned' or slot %s): %s",
                   slot, err.msg);
    if (strstr(err.msg, "EINVAL") == NULL && strstr(err.msg, actr_strerror(ACTR_EINVAL)) == NULL)
        TEST_FAIL_("the refusal does not name the hook's code: %s", err.msg);
    ASSERT_STR_EQ(info.from_version, "2.0.0");
    ASSERT_STR_EQ(info.to_version, "3.0.0");
    ASSERT_EQ(info.actors, FAIL_N); /* the actors it would have migrated */
    fprintf(stderr, "# migrate refused: %s\n", err.msg);

    /* nothing changed */
    request_many(refs, FAIL_N, "get", NULL, st);
    for (size_t i = 0; i < FAIL_N; i++) {
        ASSERT_STR_EQ(st[i].version, "2.0.0");
        ASSERT_EQ(st[i].sum, i == POISON_AT ? 4242 : (int64_t)i * 11 + 1);
        ASSERT_EQ(st[i].calls, 1);
        ASSERT_EQ(st[i].generation, 0);
        ASSERT_EQ(st[i].init_by, 2);
    }
    seen_list_t l1 = list_now();
    assert_lists_equal(&l0, &l1);
    ASSERT_EQ(ncopies(), copies0);
    assert_live_refs(refs, FAIL_N);

    /* without the poisoned sum the same file goes through */
    amount[0] = 1;
    request_many(&refs[POISON_AT], 1, "add", amount, NULL);
    swap_ok(V3, "2.0.0", "3.0.0", FAIL_N);
    request_many(refs, FAIL_N, "get", NULL, st);
    for (size_t i = 0; i < FAIL_N; i++) {
        ASSERT_STR_EQ(st[i].version, "3.0.0");
        ASSERT_EQ(st[i].sum, i == POISON_AT ? 4243 : (int64_t)i * 11 + 1);
        ASSERT_EQ(st[i].generation, 1);
    }
    /* and back to 2 through v2's migration from 3 */
    rollback_ok("3.0.0", "2.0.0", FAIL_N);
    request_many(refs, FAIL_N, "get", NULL, st);
    for (size_t i = 0; i < FAIL_N; i++) {
        ASSERT_STR_EQ(st[i].version, "2.0.0");
        ASSERT_STR_EQ(st[i].note, "migrated-from-3");
        ASSERT_EQ(st[i].sum, i == POISON_AT ? 4243 : (int64_t)i * 11 + 1);
        ASSERT_EQ(st[i].generation, 2);
    }
    free(refs);
    free(amount);
    free(st);
    teardown();
}

/* ---- the workers help migrate a large plugin while they are busy ---------------------- */

#define HELP_N 4000
#define HELP_POISON 3333
#define HELP_SPINNERS 4

static atomic_int g_spin_stop;

/* An actor of no plugin that keeps a worker busy: it sends itself the next
 * message until told to stop, so the workers keep coming to message
 * boundaries while a swap holds the plugin. */
static int spinner_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    (void)state;
    (void)msg;
    if (atomic_load(&g_spin_stop))
        return 0;
    actr_msg_t *m;
    int rc = actr_msg_new(ctx, 1, NULL, 0, &m);
    return rc ? rc : actr_send(ctx, actr_self(ctx), m);
}

static const actr_behavior_t spinner_beh = {
    .size = sizeof(actr_behavior_t),
    .name = "test.spinner",
    .receive = spinner_receive,
};

/* Spawns swapper actors one by one, a little apart, while swaps run: their
 * arrivals change the plugin's members while a swap lists them. */
#define HELP_SPAWN_MAX 3000
static actr_ref_t g_help_spawned[HELP_SPAWN_MAX];
static atomic_size_t g_help_nspawned;
static atomic_int g_help_spawn_stop, g_help_spawn_err;

static void *help_spawner(void *arg)
{
    (void)arg;
    actr_ctx_t *c;
    if (actr_client_open(rt, &c) != 0) {
        atomic_store(&g_help_spawn_err, 1);
        return NULL;
    }
    size_t n = 0;
    while (!atomic_load(&g_help_spawn_stop) && n < HELP_SPAWN_MAX) {
        uint8_t args[16];
        size_t len;
        int rc = actr_pack(args, sizeof(args), &len, "I", (int64_t)n);
        if (rc == 0)
            rc = actr_spawn_type(c, TYPE, args, len, NULL, &g_help_spawned[n]);
        if (rc != 0) {
            atomic_store(&g_help_spawn_err, rc);
            break;
        }
        atomic_store(&g_help_nspawned, ++n);
        test_nap_ms(1);
    }
    actr_client_close(c);
    return NULL;
}

static void check_help_states(const actr_ref_t *refs, sw_t *st, const char *version)
{
    request_many(refs, HELP_N, "get", NULL, st);
    for (size_t i = 0; i < HELP_N; i++) {
        ASSERT_STR_EQ(st[i].version, version);
        ASSERT_EQ(st[i].sum, i == HELP_POISON ? 4243 : (int64_t)i * 11 + 1);
    }
}

TEST_IMPL(swap, workers_help_under_load)
{
    setup();
    load(V2);
    actr_ref_t *refs;
    int64_t *amount;
    sw_t *st;
    spawn_poisoned(HELP_N, HELP_POISON, &refs, &amount, &st);

    atomic_store(&g_spin_stop, 0);
    for (int i = 0; i < HELP_SPINNERS; i++) {
        actr_ref_t sp;
        ASSERT_OK(actr_spawn(cl, &spinner_beh, NULL, 0, NULL, &sp));
        actr_msg_t *m;
        ASSERT_OK(actr_msg_new(cl, 1, NULL, 0, &m));
        ASSERT_OK(actr_send(cl, sp, m));
    }
    uint64_t helped0 = atomic_load(&rt->hold.helped);

    /* refused while the workers run: the failing actor is named, nothing changed */
    actr_error_t err;
    actr_swap_info_t info;
    memset(&err, 0, sizeof(err));
    memset(&info, 0, sizeof(info));
    ASSERT_ERR(actr_plugin_swap(rt, "swapper", V3, &info, &err), ACTR_EINVAL);
    if (strstr(err.msg, "poisoned") == NULL)
        TEST_FAIL_("the refusal does not name the failing actor 'poisoned': %s", err.msg);
    request_many(refs, HELP_N, "get", NULL, st);
    for (size_t i = 0; i < HELP_N; i++) {
        ASSERT_STR_EQ(st[i].version, "2.0.0");
        ASSERT_EQ(st[i].sum, i == HELP_POISON ? 4242 : (int64_t)i * 11 + 1);
    }

    /* swaps and rollbacks, every state checked, until some worker has helped
     * (one that reaches a message boundary while the hold migrates joins it),
     * and, with actors spawned meanwhile, until some hold found the members
     * changed since the (paced) preparation listed them and listed them again */
    amount[0] = 1;
    request_many(&refs[HELP_POISON], 1, "add", amount, NULL);
    uint64_t relisted0 = atomic_load(&rt->hold.relisted);
    atomic_store(&g_help_spawn_stop, 0);
    pthread_t th;
    ASSERT_OK(pthread_create(&th, NULL, help_spawner, NULL));
    int rounds = 0;
    do {
        swap_ok(V3, "2.0.0", "3.0.0", UINT64_MAX);
        check_help_states(refs, st, "3.0.0");
        rollback_ok("3.0.0", "2.0.0", UINT64_MAX);
        check_help_states(refs, st, "2.0.0");
        rounds++;
    } while ((atomic_load(&rt->hold.helped) == helped0 ||
              atomic_load(&rt->hold.relisted) == relisted0) &&
             rounds < 50);
    atomic_store(&g_help_spawn_stop, 1);
    ASSERT_OK(pthread_join(th, NULL));
    ASSERT_EQ(atomic_load(&g_help_spawn_err), 0);
    fprintf(stderr,
            "# in %d round(s): %llu chunks migrated by workers that joined the hold, %llu "
            "hold(s) listed the members again, %zu actors spawned meanwhile\n",
            rounds, (unsigned long long)(atomic_load(&rt->hold.helped) - helped0),
            (unsigned long long)(atomic_load(&rt->hold.relisted) - relisted0),
            atomic_load(&g_help_nspawned));
    ASSERT(atomic_load(&rt->hold.helped) > helped0);
    ASSERT(atomic_load(&rt->hold.relisted) > relisted0);
    /* the actors spawned meanwhile all run the version now current */
    size_t ns = atomic_load(&g_help_nspawned);
    sw_t *sst = malloc((ns ? ns : 1) * sizeof(*sst));
    ASSERT_NOT_NULL(sst);
    request_many(g_help_spawned, ns, "get", NULL, sst);
    for (size_t i = 0; i < ns; i++) {
        ASSERT_STR_EQ(sst[i].version, "2.0.0");
        ASSERT_EQ(sst[i].sum, (int64_t)i);
    }
    free(sst);

    atomic_store(&g_spin_stop, 1);
    free(refs);
    free(amount);
    free(st);
    teardown();
}

/* ---- refusals leave everything as it was ---------------------------------------------- */

#define REFUSE_N 100

typedef struct node_view {
    seen_list_t plugins;
    uint64_t live;
    int copies;
    sw_t st[REFUSE_N];
} node_view_t;

static void view_node(node_view_t *v, const actr_ref_t *refs)
{
    memset(v, 0, sizeof(*v));
    /* the gets first: a plugin counts an actor once its init has run */
    request_many(refs, REFUSE_N, "get", NULL, v->st);
    v->plugins = list_now();
    actr_stats_t s;
    actr_stats(rt, &s);
    v->live = s.actors_live;
    v->copies = ncopies();
}

static void assert_same_node(const node_view_t *a, const node_view_t *b)
{
    assert_lists_equal(&a->plugins, &b->plugins);
    ASSERT_EQ(a->live, b->live);
    ASSERT_EQ(a->copies, b->copies);
    for (int i = 0; i < REFUSE_N; i++) {
        ASSERT_STR_EQ(a->st[i].version, b->st[i].version);
        ASSERT_EQ(a->st[i].sum, b->st[i].sum);
        ASSERT_EQ(a->st[i].calls, b->st[i].calls);
        ASSERT_EQ(a->st[i].generation, b->st[i].generation);
    }
}

/* A refused swap: its code, its message's fragments, and nothing changed. */
static void refused(const actr_ref_t *refs, const char *plugin, const char *path, int code,
                    const char *frag1, const char *frag2)
{
    node_view_t *before = malloc(sizeof(*before)), *after = malloc(sizeof(*after));
    ASSERT(before && after);
    view_node(before, refs);
    actr_error_t err;
    actr_swap_info_t info;
    memset(&err, 0, sizeof(err));
    memset(&info, 0, sizeof(info));
    int rc = actr_plugin_swap(rt, plugin, path, &info, &err);
    if (rc != code)
        TEST_FAIL_("swap %s to %s: expected %s, got %s (%s)", plugin, path, actr_err_name(code),
                   actr_err_name(rc), err.msg);
    ASSERT_EQ(err.code, code);
    ASSERT_CONTAINS(err.msg, frag1);
    if (frag2 != NULL)
        ASSERT_CONTAINS(err.msg, frag2);
    fprintf(stderr, "# refused (%s): %s\n", actr_err_name(code), err.msg);
    view_node(after, refs);
    assert_same_node(before, after);
    free(before);
    free(after);
}

TEST_IMPL(swap, refusals_change_nothing)
{
    setup();
    load(V1);
    load(ACTR_BINARY_DIR "/tests/plugins/ok.so");
    actr_ref_t refs[REFUSE_N];
    for (int i = 0; i < REFUSE_N; i++)
        refs[i] = spawn_sw(i * 3, NULL, 0);
    const char *dir = make_tmpdir();
    char trunc[512], missing[512];
    snprintf(trunc, sizeof(trunc), "%s/swap_v2_truncated.so", dir);
    snprintf(missing, sizeof(missing), "%s/no-such-file.so", dir);
    test_copy_file(V2, trunc, 4000);

    refused(refs, "swapper", TP("swap_badabi"), ACTR_EABI, "swap_badabi", "ABI major 99");
    refused(refs, "swapper", trunc, ACTR_EABI, "swap_v2_truncated.so", NULL);
    refused(refs, "swapper", ACTR_BINARY_DIR "/tests/plugins/ok.so", ACTR_EINVAL, "'ok'",
            "'swapper'");
    refused(refs, "swapper", ACTR_BINARY_DIR "/plugins/echo.so", ACTR_EINVAL, "'swapper'", NULL);
    refused(refs, "nosuch", V2, ACTR_ENOENT, "nosuch", NULL);
    refused(refs, "swapper", missing, ACTR_ENOENT, "no-such-file.so", NULL);
    refused(refs, "swapper", TP("swap_notype"), ACTR_EINVAL, "swapper.counter", NULL);
    /* swapping "ok" to a swapper file: a different plugin's file again */
    refused(refs, "ok", V2, ACTR_EINVAL, "'swapper'", "'ok'");

    /* and the node still swaps fine afterwards */
    swap_ok(V2, "1.0.0", "2.0.0", REFUSE_N);
    sw_t st[REFUSE_N];
    request_many(refs, REFUSE_N, "get", NULL, st);
    for (int i = 0; i < REFUSE_N; i++) {
        ASSERT_STR_EQ(st[i].version, "2.0.0");
        ASSERT_EQ(st[i].sum, i * 3);
    }
    teardown();
}

/* Swapping from a handler is refused (a swap waits for handlers to finish). */
static atomic_int g_handler_rc;

static int swapper_caller_receive(actr_ctx_t *ctx, void *state, const actr_msg_t *msg)
{
    (void)state;
    (void)msg;
    actr_error_t err;
    atomic_store(&g_handler_rc, actr_plugin_swap(actr_ctx_runtime(ctx), "swapper", V2, NULL, &err));
    return 0;
}

static const actr_behavior_t swapper_caller_beh = {
    .size = sizeof(actr_behavior_t),
    .name = "test.swap-caller",
    .receive = swapper_caller_receive,
};

TEST_IMPL(swap, from_handler_refused)
{
    setup();
    load(V1);
    actr_ref_t a = spawn_sw(1, NULL, 0), caller;
    atomic_store(&g_handler_rc, 1);
    ASSERT_OK(actr_spawn(cl, &swapper_caller_beh, NULL, 0, NULL, &caller));
    send_plain(caller, "go");
    ASSERT_EVENTUALLY(atomic_load(&g_handler_rc) != 1, WAIT_MS);
    ASSERT_EQ(atomic_load(&g_handler_rc), ACTR_ECONTEXT);
    ASSERT_STR_EQ(get1(a).version, "1.0.0");
    teardown();
}

/* An actor inside a long handler when a swap starts: the swap waits for it
 * to reach its message boundary (on a worker that leaves the plugin, or on
 * the caller when none can take it) and migrates it then. One that stays
 * inside longer than the swap's bound (5 s) gets the swap refused, with
 * nothing changed. */
static void busy_then_swap(actr_ref_t a, int64_t ms, int want_rc)
{
    uint64_t id;
    request_retry(a, "busy", ms, &id);
    actr_msg_t *m = NULL;
    ASSERT_OK(actr_client_recv(cl, WAIT_MS, &m)); /* the handler has started */
    ASSERT_EQ(actr_msg_type(m), SWAPPER_MSG_STARTED);
    actr_msg_free(m);
    actr_error_t err;
    actr_swap_info_t info;
    memset(&err, 0, sizeof(err));
    memset(&info, 0, sizeof(info));
    int rc = actr_plugin_swap(rt, "swapper", V2, &info, &err);
    ASSERT_EQ(rc, want_rc);
    if (rc != 0) {
        ASSERT_CONTAINS(err.msg, "did not reach a message boundary");
        ASSERT_CONTAINS(err.msg, "nothing changed");
        fprintf(stderr, "# refused: %s\n", err.msg);
    }
    m = recv_reply(); /* the long request is answered either way */
    ASSERT_EQ(actr_msg_request_id(m), id);
    actr_msg_free(m);
}

TEST_IMPL(swap, waits_for_long_handler)
{
    setup();
    load(V1);
    actr_ref_t a = spawn_sw(5, NULL, 0), b = spawn_sw(6, NULL, 0);
    ASSERT_STR_EQ(get1(a).version, "1.0.0");
    busy_then_swap(a, 300, 0);
    sw_t sa = get1(a), sb = get1(b);
    ASSERT_STR_EQ(sa.version, "2.0.0");
    ASSERT_STR_EQ(sb.version, "2.0.0");
    ASSERT_EQ(sa.sum, 5);
    ASSERT_EQ(sb.sum, 6);
    ASSERT_EQ(sa.generation, 1);
    teardown();
}

TEST_IMPL(swap, long_handler_past_bound_refused)
{
    setup();
    load(V1);
    actr_ref_t a = spawn_sw(5, NULL, 0), b = spawn_sw(6, NULL, 0);
    ASSERT_STR_EQ(get1(b).version, "1.0.0");
    busy_then_swap(a, 5600, ACTR_ETIMEDOUT);
    sw_t sa = get1(a), sb = get1(b);
    ASSERT_STR_EQ(sa.version, "1.0.0");
    ASSERT_STR_EQ(sb.version, "1.0.0");
    ASSERT_EQ(sa.sum, 5);
    ASSERT_EQ(sa.generation, 0);
    /* and a swap goes through once it is out */
    swap_ok(V2, "1.0.0", "2.0.0", 2);
    ASSERT_EQ(get1(a).sum, 5);
    teardown();
}

/* ---- rollback ---------------------------------------------------------------------------- */

#define RB_N 500

TEST_IMPL(swap, rollback)
{
    setup();
    actr_error_t err;
    actr_swap_info_t info;
    memset(&err, 0, sizeof(err));
    ASSERT_ERR(actr_plugin_rollback(rt, "swapper", &info, &err), ACTR_ENOENT);
    ASSERT_CONTAINS(err.msg, "swapper");
    load(V1);
    memset(&err, 0, sizeof(err));
    ASSERT_ERR(actr_plugin_rollback(rt, "swapper", &info, &err), ACTR_ENOENT);
    ASSERT_CONTAINS(err.msg, "swapper");
    fprintf(stderr, "# rollback without a previous version: %s\n", err.msg);

    actr_ref_t refs[RB_N];
    int64_t amount[RB_N];
    for (int i = 0; i < RB_N; i++) {
        refs[i] = spawn_sw(i, NULL, 0);
        amount[i] = 1;
    }
    request_many(refs, RB_N, "add", amount, NULL);
    swap_ok(V2, "1.0.0", "2.0.0", RB_N);
    for (int i = 0; i < RB_N; i++)
        amount[i] = 1000 + i;
    request_many(refs, RB_N, "add", amount, NULL); /* a change made by v2 */
    rollback_ok("2.0.0", "1.0.0", RB_N);

    sw_t st[RB_N];
    request_many(refs, RB_N, "get", NULL, st);
    for (int i = 0; i < RB_N; i++) {
        ASSERT_STR_EQ(st[i].version, "1.0.0");
        ASSERT_EQ(st[i].sum, i + 1 + 1000 + i);
        ASSERT_EQ(st[i].calls, 2);
        ASSERT_EQ(st[i].migrated_from, 2);
        ASSERT_EQ(st[i].generation, 2);
        ASSERT_EQ(st[i].init_by, 1);
    }
    seen_list_t l = list_now();
    const seen_t *p = find_plugin(&l, "swapper");
    ASSERT_NOT_NULL(p);
    ASSERT_STR_EQ(p->version, "1.0.0");
    ASSERT_EQ(p->actors, RB_N);
    ASSERT_EQ(l.n, 1); /* the version kept for rollback is not a second plugin */
    ASSERT_EQ(get1(spawn_sw(9, NULL, 0)).init_by, 1);

    /* forward again after a rollback */
    swap_ok(V2, "1.0.0", "2.0.0", RB_N + 1);
    ASSERT_STR_EQ(get1(refs[3]).version, "2.0.0");
    ASSERT_EQ(get1(refs[3]).sum, 3 + 1 + 1003);

    memset(&err, 0, sizeof(err));
    ASSERT_ERR(actr_plugin_rollback(rt, "nosuch", &info, &err), ACTR_ENOENT);
    teardown();
}

/* ---- the old .so is really unloaded --------------------------------------------------- */

TEST_IMPL(swap, old_code_unmapped)
{
    setup();
    load(V1);
    actr_ref_t refs[50];
    for (int i = 0; i < 50; i++)
        refs[i] = spawn_sw(i, NULL, 0);
    sync_all(refs, 50);
    swap_ok(V2, "1.0.0", "2.0.0", 50);
    swap_ok(V1, "2.0.0", "1.0.0", 50);
    int maps2 = mapped_copies(), copies2 = ncopies();
    ASSERT(maps2 > 0);
    for (int k = 2; k < 100; k++) {
        if (k % 2 == 0)
            swap_ok(V2, "1.0.0", "2.0.0", 50);
        else
            swap_ok(V1, "2.0.0", "1.0.0", 50);
    }
    int maps100 = mapped_copies(), copies100 = ncopies();
    fprintf(stderr, "# mapped lines of private copies: %d after 2 swaps, %d after 100; "
                    "copies %d, %d\n", maps2, maps100, copies2, copies100);
    ASSERT_LE(maps100, maps2);
    ASSERT_LE(copies100, 3);
    sw_t st[50];
    request_many(refs, 50, "get", NULL, st);
    for (int i = 0; i < 50; i++) {
        ASSERT_STR_EQ(st[i].version, "1.0.0");
        ASSERT_EQ(st[i].sum, i);
        ASSERT_EQ(st[i].generation, 100);
    }
    ASSERT_EQ(list_now().n, 1);
    teardown();
}

/* ---- history ------------------------------------------------------------------------------ */

typedef struct hev {
    char action[16], from[16], to[16], path[512], reason[512];
    int code;
    uint64_t actors;
    int64_t time_ms;
} hev_t;

typedef struct hlist {
    int n;
    hev_t v[32];
} hlist_t;

static void collect_event(void *ud, const actr_plugin_event_t *ev)
{
    hlist_t *l = ud;
    ASSERT_STR_EQ(ev->plugin, "swapper");
    if (l->n == 32)
        return;
    hev_t *e = &l->v[l->n++];
    snprintf(e->action, sizeof(e->action), "%s", ev->action);
    snprintf(e->from, sizeof(e->from), "%s", ev->from_version);
    snprintf(e->to, sizeof(e->to), "%s", ev->to_version);
    snprintf(e->path, sizeof(e->path), "%s", ev->path);
    snprintf(e->reason, sizeof(e->reason), "%s", ev->reason);
    e->code = ev->code;
    e->actors = ev->actors;
    e->time_ms = ev->time_ms;
}

static uint64_t swapper_actors(void)
{
    seen_list_t l = list_now();
    const seen_t *p = find_plugin(&l, "swapper");
    ASSERT_NOT_NULL(p);
    return p->actors;
}

static void expect_event(const hev_t *e, const char *action, const char *from, const char *to,
                         int code)
{
    ASSERT_STR_EQ(e->action, action);
    ASSERT_STR_EQ(e->from, from);
    ASSERT_STR_EQ(e->to, to);
    ASSERT_EQ(e->code, code);
    if (code == 0)
        ASSERT_STR_EQ(e->reason, "");
    else
        ASSERT(e->reason[0] != '\0');
}

/* Wall-clock milliseconds, from the clock the history uses (time() may lag
 * it by a tick, across a second boundary). */
static int64_t unix_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

TEST_IMPL(swap, history)
{
    const char *dir = make_tmpdir();
    open_rt(dir);
    int64_t t0 = unix_ms() - 1000;
    load(V1);
    load(ACTR_BINARY_DIR "/tests/plugins/ok.so"); /* another plugin: not in swapper's history */
    actr_ref_t refs[10];
    for (int i = 0; i < 10; i++)
        refs[i] = spawn_sw(i, NULL, 0);
    sync_all(refs, 10);
    swap_ok(V2, "1.0.0", "2.0.0", 10);
    ASSERT_ERR(actr_plugin_swap(rt, "swapper", TP("swap_notype"), NULL, NULL), ACTR_EINVAL);
    rollback_ok("2.0.0", "1.0.0", 10);
    for (int i = 0; i < 10; i++)
        ASSERT_OK(actr_actor_stop(cl, refs[i], NULL));
    ASSERT_EVENTUALLY(swapper_actors() == 0, WAIT_MS);
    actr_error_t err;
    memset(&err, 0, sizeof(err));
    int rc = actr_plugin_unload(rt, "swapper", 0, &err);
    if (rc != 0)
        TEST_FAIL_("unload: %s: %s", actr_err_name(rc), err.msg);
    int64_t t1 = unix_ms() + 1000;

    for (int run = 0; run < 2; run++) {
        hlist_t h;
        memset(&h, 0, sizeof(h));
        ASSERT_OK(actr_plugin_history(rt, "swapper", collect_event, &h));
        ASSERT_EQ(h.n, 5);
        expect_event(&h.v[0], "load", "", "1.0.0", 0);
        ASSERT_STR_EQ(h.v[0].path, V1);
        expect_event(&h.v[1], "swap", "1.0.0", "2.0.0", 0);
        ASSERT_STR_EQ(h.v[1].path, V2);
        ASSERT_EQ(h.v[1].actors, 10);
        expect_event(&h.v[2], "swap", "2.0.0", "4.0.0", ACTR_EINVAL);
        ASSERT_CONTAINS(h.v[2].reason, "swapper.counter");
        expect_event(&h.v[3], "rollback", "2.0.0", "1.0.0", 0);
        expect_event(&h.v[4], "unload", "1.0.0", "", 0);
        for (int i = 0; i < h.n; i++) {
            if (h.v[i].time_ms < t0 || h.v[i].time_ms > t1)
                TEST_FAIL_("event #%d (%s) at %" PRId64 " ms, outside %" PRId64 "..%" PRId64, i,
                           h.v[i].action, h.v[i].time_ms, t0, t1);
            if (i > 0)
                ASSERT(h.v[i].time_ms >= h.v[i - 1].time_ms);
        }
        /* the history survives a restart of the node on the same data directory */
        close_rt();
        open_rt(dir);
    }
    close_rt();
    actr__rmtree(tmpdir);
}

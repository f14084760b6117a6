/* registry.c — the per-node name registry and local pub/sub topics.
 *
 * Names: name -> ref, plus a reverse index ref -> name so that an actor has at
 * most one name and its death removes it (actr__name_drop, called by the dying
 * actor's owner). An entry whose actor is already dead is also treated as
 * absent by lookups, which closes the window between the gen bump and the
 * removal. Topics: topic -> list of subscriber refs; an actor's own record
 * lists its topics, so its death unsubscribes it.
 * Both tables have their own mutex; no call into an actor happens under them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster_int.h"

typedef struct actr__sublist {
    actr_ref_t *refs;
    size_t n, cap;
} actr__sublist_t;

int actr__names_init(actr_t *rt)
{
    pthread_mutex_init(&rt->names_mu, NULL);
    pthread_mutex_init(&rt->topics_mu, NULL);
    return 0;
}

static void free_ref(const char *key, void *val, void *ud)
{
    (void)key;
    (void)ud;
    free(val);
}

static void free_sublist(const char *key, void *val, void *ud)
{
    (void)key;
    (void)ud;
    actr__sublist_t *l = val;
    free(l->refs);
    free(l);
}

static void free_name(uint64_t key, void *val, void *ud)
{
    (void)key;
    (void)ud;
    free(val);
}

void actr__names_free(actr_t *rt)
{
    actr__strmap_each(&rt->names, free_ref, NULL);
    actr__strmap_free(&rt->names);
    actr__idmap_each(&rt->names_rev, free_name, NULL);
    actr__idmap_free(&rt->names_rev);
    actr__strmap_each(&rt->topics, free_sublist, NULL);
    actr__strmap_free(&rt->topics);
    pthread_mutex_destroy(&rt->names_mu);
    pthread_mutex_destroy(&rt->topics_mu);
}

static uint64_t rev_key(actr_ref_t r) { return ((uint64_t)r.slot << 32) | r.gen; }

static int valid_name(const char *name)
{
    if (name == NULL)
        return 0;
    size_t n = strnlen(name, 256);
    return n >= 1 && n <= 255;
}

static int alive(actr_t *rt, actr_ref_t r)
{
    actr__actor_t *a;
    return actr__lookup(rt, r, &a) == 0;
}

/* under names_mu: remove `name` and its reverse entry */
static void remove_locked(actr_t *rt, const char *name)
{
    void *v;
    if (!actr__strmap_del(&rt->names, name, &v))
        return;
    actr_ref_t *r = v;
    void *nm;
    if (actr__idmap_del(&rt->names_rev, rev_key(*r), &nm))
        free(nm);
    free(r);
    atomic_fetch_sub_explicit(&rt->nnames, 1, memory_order_relaxed);
}

int actr__name_claim(actr_t *rt, const char *name, actr_ref_t who)
{
    int rc = 0;
    pthread_mutex_lock(&rt->names_mu);
    void **slot = actr__strmap_find(&rt->names, name);
    if (slot != NULL) {
        if (alive(rt, *(actr_ref_t *)*slot)) {
            rc = ACTR_EEXIST;
            goto out;
        }
        remove_locked(rt, name); /* its owner died; the name is free */
    }
    if (actr__idmap_get(&rt->names_rev, rev_key(who), NULL)) {
        rc = ACTR_EEXIST; /* one name per actor */
        goto out;
    }
    actr_ref_t *r = malloc(sizeof(*r));
    char *copy = actr__strdup(name);
    if (r == NULL || copy == NULL) {
        free(r);
        free(copy);
        rc = ACTR_ENOMEM;
        goto out;
    }
    *r = who;
    rc = actr__strmap_add(&rt->names, name, r);
    if (rc == 0)
        rc = actr__idmap_put(&rt->names_rev, rev_key(who), copy);
    if (rc != 0) {
        void *v;
        if (actr__strmap_del(&rt->names, name, &v))
            free(v);
        else
            free(r);
        free(copy);
        goto out;
    }
    atomic_fetch_add_explicit(&rt->nnames, 1, memory_order_relaxed);
out:
    pthread_mutex_unlock(&rt->names_mu);
    return rc;
}

void actr__name_drop(actr_t *rt, const char *name, actr_ref_t who)
{
    (void)name;
    /* relaxed: a hint that saves a lock on every death when no names exist; a
     * name registered for `who` was added before `who` could die (the claim
     * happened-before its death through the registrant's send or spawn) */
    if (atomic_load_explicit(&rt->nnames, memory_order_relaxed) == 0)
        return;
    pthread_mutex_lock(&rt->names_mu);
    void *nm;
    if (actr__idmap_get(&rt->names_rev, rev_key(who), &nm)) {
        void **slot = actr__strmap_find(&rt->names, nm);
        if (slot != NULL && actr_ref_eq(*(actr_ref_t *)*slot, who))
            remove_locked(rt, nm);
    }
    pthread_mutex_unlock(&rt->names_mu);
}

int actr__name_of(actr_t *rt, actr_ref_t who, char *buf, size_t cap)
{
    int found = 0;
    if (atomic_load_explicit(&rt->nnames, memory_order_relaxed) == 0)
        return 0;
    pthread_mutex_lock(&rt->names_mu);
    void *nm;
    if (actr__idmap_get(&rt->names_rev, rev_key(who), &nm)) {
        snprintf(buf, cap, "%s", (const char *)nm);
        found = 1;
    }
    pthread_mutex_unlock(&rt->names_mu);
    return found;
}

int actr_name_of(actr_ctx_t *ctx, actr_ref_t who, char *buf, size_t cap)
{
    if (ctx == NULL || buf == NULL || cap == 0)
        return ACTR_EINVAL;
    char name[256];
    if (!actr__name_of(ctx->rt, who, name, sizeof(name)))
        return ACTR_ENOENT;
    size_t n = strlen(name);
    if (n >= cap)
        return ACTR_E2BIG;
    memcpy(buf, name, n + 1);
    return 0;
}

int actr_register(actr_ctx_t *ctx, const char *name, actr_ref_t who)
{
    if (ctx == NULL || !valid_name(name))
        return ACTR_EINVAL;
    actr__actor_t *a;
    int rc = actr__lookup(ctx->rt, who, &a);
    if (rc != 0)
        return rc;
    return actr__name_claim(ctx->rt, name, who);
}

int actr_unregister(actr_ctx_t *ctx, const char *name)
{
    if (ctx == NULL || !valid_name(name))
        return ACTR_EINVAL;
    actr_t *rt = ctx->rt;
    pthread_mutex_lock(&rt->names_mu);
    int found = actr__strmap_find(&rt->names, name) != NULL;
    if (found)
        remove_locked(rt, name);
    pthread_mutex_unlock(&rt->names_mu);
    return found ? 0 : ACTR_ENOENT;
}

int actr_whereis(actr_ctx_t *ctx, const char *name, actr_ref_t *out)
{
    if (ctx == NULL || out == NULL || !valid_name(name))
        return ACTR_EINVAL;
    actr_t *rt = ctx->rt;
    int rc = ACTR_ENOENT;
    pthread_mutex_lock(&rt->names_mu);
    void **slot = actr__strmap_find(&rt->names, name);
    if (slot != NULL) {
        actr_ref_t r = *(actr_ref_t *)*slot;
        if (alive(rt, r)) {
            *out = r;
            rc = 0;
        } else {
            remove_locked(rt, name);
        }
    }
    pthread_mutex_unlock(&rt->names_mu);
    return rc;
}

int actr_send_name(actr_ctx_t *ctx, const char *name, actr_msg_t *msg)
{
    actr_ref_t to;
    if (ctx != NULL && name != NULL && msg != NULL && strchr(name, '@') != NULL) {
        int handled;
        int rc = actr__remote_send_named(ctx->rt, ctx, name, msg, &handled);
        if (handled)
            return rc;
        char local[256]; /* name@<this node>: the bare name */
        size_t n = (size_t)(strrchr(name, '@') - name);
        if (n >= sizeof(local)) {
            actr__msg_unref(ctx, msg);
            return ACTR_EINVAL;
        }
        memcpy(local, name, n);
        local[n] = '\0';
        rc = actr_whereis(ctx, local, &to);
        if (rc != 0) {
            actr__msg_unref(ctx, msg);
            return rc == ACTR_ENOENT ? ACTR_ENOACTOR : rc;
        }
        return actr_send(ctx, to, msg);
    }
    int rc = actr_whereis(ctx, name, &to);
    if (rc != 0) {
        actr__msg_unref(ctx, msg);
        return rc == ACTR_ENOENT ? ACTR_ENOACTOR : rc;
    }
    return actr_send(ctx, to, msg);
}

/* ---- topics ------------------------------------------------------------------- */

static int ext_has_topic(actr__ext_t *e, const char *topic)
{
    for (uint32_t i = 0; e != NULL && i < e->ntopics; i++)
        if (strcmp(e->topics[i], topic) == 0)
            return (int)i;
    return -1;
}

int actr_subscribe(actr_ctx_t *ctx, const char *topic)
{
    if (ctx == NULL || !valid_name(topic))
        return ACTR_EINVAL;
    if (ctx->cur == NULL)
        return ACTR_ECONTEXT;
    actr__ext_t *e = actr__ext(ctx->cur);
    if (ext_has_topic(e, topic) >= 0)
        return 0;
    if (e->ntopics == e->captopics) {
        uint32_t nc = e->captopics ? e->captopics * 2 : 4;
        void *p = realloc(e->topics, nc * sizeof(*e->topics));
        if (p == NULL)
            return ACTR_ENOMEM;
        e->topics = p;
        e->captopics = nc;
    }
    char *copy = actr__strdup(topic);
    if (copy == NULL)
        return ACTR_ENOMEM;
    actr_t *rt = ctx->rt;
    int rc = 0;
    pthread_mutex_lock(&rt->topics_mu);
    void **slot = actr__strmap_find(&rt->topics, topic);
    actr__sublist_t *l = slot ? *slot : NULL;
    if (l == NULL) {
        l = calloc(1, sizeof(*l));
        if (l == NULL || (rc = actr__strmap_add(&rt->topics, topic, l)) != 0) {
            free(l);
            rc = rc ? rc : ACTR_ENOMEM;
            goto out;
        }
    }
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 4;
        void *p = realloc(l->refs, nc * sizeof(*l->refs));
        if (p == NULL) {
            rc = ACTR_ENOMEM;
            goto out;
        }
        l->refs = p;
        l->cap = nc;
    }
    l->refs[l->n++] = ctx->self;
out:
    pthread_mutex_unlock(&rt->topics_mu);
    if (rc != 0) {
        free(copy);
        return rc;
    }
    e->topics[e->ntopics++] = copy;
    return 0;
}

void actr__topic_drop(actr_t *rt, const char *topic, actr_ref_t who)
{
    pthread_mutex_lock(&rt->topics_mu);
    void **slot = actr__strmap_find(&rt->topics, topic);
    if (slot != NULL) {
        actr__sublist_t *l = *slot;
        for (size_t i = 0; i < l->n; i++) {
            if (actr_ref_eq(l->refs[i], who)) {
                l->refs[i] = l->refs[--l->n];
                break;
            }
        }
        if (l->n == 0) {
            actr__strmap_del(&rt->topics, topic, NULL);
            free(l->refs);
            free(l);
        }
    }
    pthread_mutex_unlock(&rt->topics_mu);
}

int actr_unsubscribe(actr_ctx_t *ctx, const char *topic)
{
    if (ctx == NULL || !valid_name(topic))
        return ACTR_EINVAL;
    if (ctx->cur == NULL)
        return ACTR_ECONTEXT;
    actr__ext_t *e = ctx->cur->ext;
    int i = ext_has_topic(e, topic);
    if (i < 0)
        return ACTR_ENOENT;
    free(e->topics[i]);
    e->topics[i] = e->topics[--e->ntopics];
    actr__topic_drop(ctx->rt, topic, ctx->self);
    return 0;
}

int actr_publish(actr_ctx_t *ctx, const char *topic, actr_msg_t *msg, size_t *delivered)
{
    if (delivered != NULL)
        *delivered = 0;
    if (msg == NULL)
        return ACTR_EINVAL;
    if (ctx == NULL || !valid_name(topic)) {
        actr__msg_unref(ctx, msg);
        return ACTR_EINVAL;
    }
    actr_t *rt = ctx->rt;
    if (msg->len > rt->opts.max_payload) {
        actr__msg_unref(ctx, msg);
        return ACTR_E2BIG;
    }
    /* the subscribers on other nodes get a copy each; a full outbound queue
     * (ACTR_EAGAIN) is reported like a full mailbox here */
    int remote_rc = actr__remote_publish(rt, ctx, topic, msg);
    int rc = actr__publish_local(ctx, topic, msg, ctx->self, delivered);
    return rc != 0 ? rc : remote_rc;
}

int actr__publish_local(actr_ctx_t *ctx, const char *topic, actr_msg_t *msg, actr_ref_t from,
                        size_t *delivered)
{
    actr_t *rt = ctx->rt;
    if (delivered != NULL)
        *delivered = 0;
    /* snapshot the subscribers, then deliver outside the lock */
    actr_ref_t *subs = NULL;
    size_t n = 0;
    pthread_mutex_lock(&rt->topics_mu);
    void **slot = actr__strmap_find(&rt->topics, topic);
    if (slot != NULL) {
        actr__sublist_t *l = *slot;
        subs = malloc(l->n * sizeof(*subs));
        if (subs != NULL) {
            memcpy(subs, l->refs, l->n * sizeof(*subs));
            n = l->n;
        }
    }
    pthread_mutex_unlock(&rt->topics_mu);
    int rc = 0;
    size_t ok = 0;
    for (size_t i = 0; i < n; i++) {
        actr_msg_t *m = msg;
        if (i + 1 < n && actr_msg_dup(ctx, msg, &m) != 0) {
            rc = ACTR_ENOMEM;
            continue;
        }
        if (i + 1 == n)
            msg = NULL; /* the last subscriber gets the original */
        m->from = from;
        int r = actr__deliver(rt, ctx, subs[i], m, 1);
        if (r == 0)
            ok++;
        else if (r == ACTR_EMAILBOX && rc == 0)
            rc = ACTR_EMAILBOX;
    }
    free(subs);
    actr__msg_unref(ctx, msg); /* no subscribers */
    if (delivered != NULL)
        *delivered = ok;
    return rc;
}

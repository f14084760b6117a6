/* watch.c — plugin file watchers (actr_plugin_watch, actr/loader.h): swap a
 * plugin when its file changes.
 *
 * Threads. One watcher thread per runtime, created by the first watch, runs a
 * private uv loop (never the runtime's: a swap blocks for as long as it takes
 * the plugin's actors to reach a message boundary, and that must not hold up
 * the runtime's timers). Each watched file gets a uv_fs_event_t on its
 * DIRECTORY, so that a file replaced by rename (a new inode) is seen as well
 * as one rewritten in place, and a debounce timer. Callers post commands
 * (watch, unwatch) to the thread through a uv_async_t and wait for the answer,
 * so every watch entry is touched by the watcher thread only and errors are
 * reported to the caller synchronously. actr__watch_close sets `closing`,
 * wakes the thread, which closes every handle and leaves its loop, and joins
 * it.
 *
 * When is a file swapped in. Any event naming the file (or an event without a
 * name) records the file's identity (device, inode, size, modification time)
 * and (re)arms the timer for debounce_ms. When the timer fires, the identity
 * is read again: if it changed, the file is still being written, and the
 * timer is armed once more; if it held still for a whole debounce period, the
 * swap is attempted, on this thread (actr_plugin_swap blocks; the loader and
 * the swap record it in the history). So a file is never loaded while writes
 * to it keep arriving at least every debounce_ms. A writer that pauses longer
 * than that may expose a partial file: the loader's ELF checks refuse it
 * (ACTR_EABI, nothing changes), and because the attempt is remembered by the
 * file's identity, the next write (a new size or time) brings a new attempt
 * with the complete file. Conversely an identity already attempted is never
 * attempted again, whatever events arrive (a touch of the directory, a
 * rename back and forth ending on the same inode): no loops. The identity
 * present when the watch starts counts as attempted (it is the running code).
 * A swap refused with ACTR_EBUSY (another swap or an unload in progress) is
 * the one exception: it is tried again after another debounce period.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin_int.h"

#define DEFAULT_DEBOUNCE_MS 500
#define MAX_DEBOUNCE_MS 600000

/* What identifies a version of a file on disk. */
typedef struct fid {
    uint64_t dev, ino, size;
    int64_t mtime_s, mtime_ns;
} fid_t;

typedef struct wentry {
    struct wentry *next;
    struct actr__watchers *ws;
    char *name, *path, *base; /* path = dir + "/" + base; base points into path */
    unsigned debounce_ms;
    uv_fs_event_t fse;
    uv_timer_t timer;
    int nopen;      /* handles not closed yet; the entry is freed at 0 */
    int have_cand;  /* cand: the identity seen at the last event or tick */
    int have_tried; /* tried: the identity last attempted (or running) */
    fid_t cand, tried;
} wentry_t;

enum { CMD_WATCH, CMD_UNWATCH };

typedef struct cmd {
    struct cmd *next;
    int kind;
    wentry_t *e;      /* CMD_WATCH: the new entry (handed to the thread) */
    const char *name; /* CMD_UNWATCH */
    actr_error_t *err;
    int rc;
    int done; /* under ws->mu */
} cmd_t;

struct actr__watchers {
    actr_t *rt;
    pthread_mutex_t mu; /* guards cmds, started, closing, done flags */
    pthread_cond_t cv;  /* signalled when a command is answered */
    cmd_t *cmds, **cmds_tail;
    int started, closing;
    pthread_t th;
    uv_loop_t loop;
    uv_async_t async;
    wentry_t *entries; /* watcher thread only */
};

/* ---- helpers -------------------------------------------------------------- */

static const char *why(int rc) { return rc > -4000 && rc < 0 ? uv_strerror(rc) : actr_strerror(rc); }

/* 0 and *out, or a negative code (e.g. UV_ENOENT while a file is being
 * replaced). */
static int identify(const char *path, fid_t *out)
{
    uv_fs_t req;
    int rc = uv_fs_stat(NULL, &req, path, NULL);
    if (rc == 0) {
        const uv_stat_t *st = &req.statbuf;
        out->dev = st->st_dev;
        out->ino = st->st_ino;
        out->size = st->st_size;
        out->mtime_s = st->st_mtim.tv_sec;
        out->mtime_ns = st->st_mtim.tv_nsec;
    }
    uv_fs_req_cleanup(&req);
    return rc;
}

static int same(const fid_t *a, const fid_t *b)
{
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime_s == b->mtime_s && a->mtime_ns == b->mtime_ns;
}

static void entry_free(wentry_t *e)
{
    if (e == NULL)
        return;
    free(e->name);
    free(e->path);
    free(e);
}

/* ---- the watcher thread ---------------------------------------------------- */

static void on_entry_closed(uv_handle_t *h)
{
    wentry_t *e = h->data;
    if (--e->nopen == 0)
        entry_free(e);
}

static void entry_close(wentry_t *e)
{
    if (!uv_is_closing((uv_handle_t *)&e->fse))
        uv_close((uv_handle_t *)&e->fse, on_entry_closed);
    if (!uv_is_closing((uv_handle_t *)&e->timer))
        uv_close((uv_handle_t *)&e->timer, on_entry_closed);
}

static void attempt(wentry_t *e)
{
    actr_t *rt = e->ws->rt;
    actr_swap_info_t info;
    actr_error_t err;
    memset(&info, 0, sizeof(info));
    memset(&err, 0, sizeof(err));
    actr__log(rt, ACTR_LOG_INFO, ACTR_REF_NONE, "plugin %s: %s changed, swapping", e->name,
              e->path);
    int rc = actr_plugin_swap(rt, e->name, e->path, &info, &err);
    if (rc == 0) {
        actr__log(rt, ACTR_LOG_INFO, ACTR_REF_NONE,
                  "plugin %s swapped %s -> %s from %s: %llu actors migrated, paused %.3f ms",
                  e->name, info.from_version, info.to_version, e->path,
                  (unsigned long long)info.actors, (double)info.pause_us / 1000.0);
        return;
    }
    actr__log(rt, ACTR_LOG_WARN, ACTR_REF_NONE, "plugin %s: swap to %s refused (%s): %s", e->name,
              e->path, actr_err_name(rc), err.msg[0] ? err.msg : why(rc));
    if (rc == ACTR_EBUSY)
        e->have_tried = 0; /* another swap or an unload holds the plugin: try again later */
}

static void on_tick(uv_timer_t *t);

static void arm(wentry_t *e) { uv_timer_start(&e->timer, on_tick, e->debounce_ms, 0); }

static void on_tick(uv_timer_t *t)
{
    wentry_t *e = t->data;
    fid_t now;
    if (identify(e->path, &now) != 0) {
        /* gone (being replaced, or deleted): the next event brings it back */
        e->have_cand = 0;
        return;
    }
    if (!e->have_cand || !same(&now, &e->cand)) {
        e->cand = now; /* still changing: wait for a quiet period */
        e->have_cand = 1;
        arm(e);
        return;
    }
    if (e->have_tried && same(&now, &e->tried)) {
        /* this very file was attempted already (or is the one running) */
        actr__log(e->ws->rt, ACTR_LOG_DEBUG, ACTR_REF_NONE,
                  "plugin %s: %s is the file attempted last: not swapping again", e->name,
                  e->path);
        return;
    }
    e->tried = now;
    e->have_tried = 1;
    attempt(e);
    if (!e->have_tried) /* attempt() asked for a retry */
        arm(e);
}

static void on_fs_event(uv_fs_event_t *h, const char *filename, int events, int status)
{
    wentry_t *e = h->data;
    (void)events;
    if (status < 0) {
        actr__log(e->ws->rt, ACTR_LOG_WARN, ACTR_REF_NONE, "plugin %s: watching %s: %s", e->name,
                  e->path, uv_strerror(status));
        return;
    }
    if (filename != NULL && strcmp(filename, e->base) != 0)
        return; /* another file of the directory */
    e->have_cand = identify(e->path, &e->cand) == 0;
    arm(e);
}

static wentry_t *find(struct actr__watchers *ws, const char *name, wentry_t ***link)
{
    for (wentry_t **pp = &ws->entries; *pp != NULL; pp = &(*pp)->next)
        if (strcmp((*pp)->name, name) == 0) {
            if (link != NULL)
                *link = pp;
            return *pp;
        }
    return NULL;
}

static int do_watch(struct actr__watchers *ws, wentry_t *e, actr_error_t *err)
{
    if (find(ws, e->name, NULL) != NULL) {
        int rc = actr__fail(err, ACTR_EEXIST, "plugin '%s' is already watched", e->name);
        entry_free(e);
        return rc;
    }
    e->ws = ws;
    int rc = uv_fs_event_init(&ws->loop, &e->fse);
    if (rc != 0) {
        actr__fail(err, rc, "plugin '%s': cannot watch %s: %s", e->name, e->path,
                   uv_strerror(rc));
        entry_free(e);
        return rc;
    }
    uv_timer_init(&ws->loop, &e->timer); /* cannot fail */
    e->fse.data = e;
    e->timer.data = e;
    e->nopen = 2;
    /* watch the folder: base[-1] is the '/' that ends it */
    e->base[-1] = '\0';
    const char *dir = e->path[0] ? e->path : "/";
    rc = uv_fs_event_start(&e->fse, on_fs_event, dir, 0);
    if (rc != 0)
        actr__fail(err, rc, "plugin '%s': cannot watch the folder %s: %s", e->name, dir,
                   uv_strerror(rc));
    e->base[-1] = '/';
    if (rc != 0) {
        entry_close(e);
        return rc;
    }
    e->have_tried = identify(e->path, &e->tried) == 0;
    e->next = ws->entries;
    ws->entries = e;
    actr__log(ws->rt, ACTR_LOG_INFO, ACTR_REF_NONE,
              "plugin %s: watching %s (swap when it changes, debounce %u ms)", e->name, e->path,
              e->debounce_ms);
    return 0;
}

static int do_unwatch(struct actr__watchers *ws, const char *name)
{
    wentry_t **link;
    wentry_t *e = find(ws, name, &link);
    if (e == NULL)
        return ACTR_ENOENT;
    *link = e->next;
    entry_close(e);
    actr__log(ws->rt, ACTR_LOG_INFO, ACTR_REF_NONE, "plugin %s: no longer watching %s", name,
              e->path);
    return 0;
}

static void on_async(uv_async_t *h)
{
    struct actr__watchers *ws = h->data;
    pthread_mutex_lock(&ws->mu);
    cmd_t *list = ws->cmds;
    ws->cmds = NULL;
    ws->cmds_tail = &ws->cmds;
    int closing = ws->closing;
    pthread_mutex_unlock(&ws->mu);

    while (list != NULL) {
        cmd_t *c = list;
        list = c->next;
        int rc = c->kind == CMD_WATCH ? do_watch(ws, c->e, c->err) : do_unwatch(ws, c->name);
        pthread_mutex_lock(&ws->mu);
        c->rc = rc;
        c->done = 1;
        pthread_cond_broadcast(&ws->cv);
        pthread_mutex_unlock(&ws->mu); /* c belongs to its waiter from here */
    }
    if (closing) {
        while (ws->entries != NULL) {
            wentry_t *e = ws->entries;
            ws->entries = e->next;
            entry_close(e);
        }
        uv_close((uv_handle_t *)&ws->async, NULL);
    }
}

static void *watcher_main(void *arg)
{
    struct actr__watchers *ws = arg;
    uv_run(&ws->loop, UV_RUN_DEFAULT);
    /* every handle is closed: the loop has nothing left */
    int rc = uv_loop_close(&ws->loop);
    if (rc != 0)
        actr__log(ws->rt, ACTR_LOG_WARN, ACTR_REF_NONE, "plugin watcher: closing its loop: %s",
                  uv_strerror(rc));
    return NULL;
}

/* ---- callers' side ----------------------------------------------------------- */

/* The runtime's watcher record, created on first use (lock-free: two first
 * watches race with a compare-and-swap; the loser frees its copy, which has
 * no thread yet). Acquire/release: the winner's initialised mutex is visible
 * to whoever loads the pointer. */
static struct actr__watchers *watchers_get(actr_t *rt)
{
    struct actr__watchers *ws = __atomic_load_n(&rt->watchers, __ATOMIC_ACQUIRE);
    if (ws != NULL)
        return ws;
    struct actr__watchers *mine = calloc(1, sizeof(*mine));
    if (mine == NULL)
        return NULL;
    mine->rt = rt;
    pthread_mutex_init(&mine->mu, NULL);
    pthread_cond_init(&mine->cv, NULL);
    mine->cmds_tail = &mine->cmds;
    if (__atomic_compare_exchange_n(&rt->watchers, &ws, mine, 0, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE))
        return mine;
    pthread_mutex_destroy(&mine->mu);
    pthread_cond_destroy(&mine->cv);
    free(mine);
    return ws;
}

/* Under ws->mu: the loop and the thread, once. */
static int start_locked(struct actr__watchers *ws, actr_error_t *err)
{
    if (ws->started)
        return 0;
    int rc = uv_loop_init(&ws->loop);
    if (rc != 0)
        return actr__fail(err, rc, "plugin watcher: cannot create its loop: %s", uv_strerror(rc));
    rc = uv_async_init(&ws->loop, &ws->async, on_async);
    if (rc != 0) {
        uv_loop_close(&ws->loop);
        return actr__fail(err, rc, "plugin watcher: cannot create its wake-up: %s",
                          uv_strerror(rc));
    }
    ws->async.data = ws;
    /* every signal blocked: they belong to the embedder's threads */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int prc = pthread_create(&ws->th, NULL, watcher_main, ws);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (prc != 0) {
        uv_close((uv_handle_t *)&ws->async, NULL);
        uv_run(&ws->loop, UV_RUN_DEFAULT);
        uv_loop_close(&ws->loop);
        return actr__fail(err, -prc, "plugin watcher: cannot start its thread: %s",
                          strerror(prc));
    }
    ws->started = 1;
    return 0;
}

/* Post c to the watcher thread and wait for its answer. */
static int post(actr_t *rt, cmd_t *c, actr_error_t *err)
{
    struct actr__watchers *ws = watchers_get(rt);
    if (ws == NULL)
        return actr__fail(err, ACTR_ENOMEM, "plugin watcher: out of memory");
    pthread_mutex_lock(&ws->mu);
    if (ws->closing) {
        pthread_mutex_unlock(&ws->mu);
        return actr__fail(err, ACTR_ESTOPPED, "the runtime is closing");
    }
    if (!ws->started) {
        if (c->kind == CMD_UNWATCH) { /* nothing was ever watched */
            pthread_mutex_unlock(&ws->mu);
            return ACTR_ENOENT;
        }
        int rc = start_locked(ws, err);
        if (rc != 0) {
            pthread_mutex_unlock(&ws->mu);
            return rc;
        }
    }
    *ws->cmds_tail = c;
    ws->cmds_tail = &c->next;
    uv_async_send(&ws->async);
    while (!c->done)
        pthread_cond_wait(&ws->cv, &ws->mu);
    pthread_mutex_unlock(&ws->mu);
    return c->rc;
}

typedef struct find_plugin {
    const char *name;
    int found;
} find_plugin_t;

static void on_plugin(void *ud, const actr_plugin_info_t *info)
{
    find_plugin_t *f = ud;
    if (info->name != NULL && strcmp(info->name, f->name) == 0)
        f->found = 1;
}

int actr_plugin_watch(actr_t *rt, const char *name, const char *path, unsigned debounce_ms,
                      actr_error_t *err)
{
    if (err != NULL)
        memset(err, 0, sizeof(*err));
    if (rt == NULL || name == NULL || path == NULL || name[0] == '\0')
        return actr__fail(err, ACTR_EINVAL, "plugin watch: a runtime, a name and a path are needed");
    /* a handler must not wait for the watcher, which may be waiting for that
     * very handler to reach a message boundary */
    if (actr__on_runtime_thread(rt))
        return actr__fail(err, ACTR_ECONTEXT,
                          "plugin '%s': a watch cannot be started from an actor's handler", name);
    if (debounce_ms > MAX_DEBOUNCE_MS)
        return actr__fail(err, ACTR_EINVAL,
                          "plugin '%s': debounce of %u ms is out of range (0..%u; 0 = %u)", name,
                          debounce_ms, MAX_DEBOUNCE_MS, DEFAULT_DEBOUNCE_MS);
    size_t plen = strlen(path);
    if (plen == 0 || path[plen - 1] == '/')
        return actr__fail(err, ACTR_EINVAL, "plugin '%s': '%s' does not name a file", name, path);

    find_plugin_t f = {name, 0};
    (void)actr_plugin_list(rt, on_plugin, &f);
    if (!f.found)
        return actr__fail(err, ACTR_ENOENT, "no plugin '%s' is loaded", name);

    /* The folder, made absolute now so that a later chdir changes nothing. */
    const char *slash = strrchr(path, '/');
    char dir[PATH_MAX], real[PATH_MAX];
    const char *base = slash ? slash + 1 : path;
    size_t dlen = slash ? (size_t)(slash - path) : 0;
    if (dlen >= sizeof(dir))
        return actr__fail(err, ACTR_EINVAL, "plugin '%s': path too long: %s", name, path);
    if (slash == NULL)
        snprintf(dir, sizeof(dir), ".");
    else if (dlen == 0)
        snprintf(dir, sizeof(dir), "/");
    else {
        memcpy(dir, path, dlen);
        dir[dlen] = '\0';
    }
    if (realpath(dir, real) == NULL)
        return actr__fail(err, -errno, "plugin '%s': cannot watch %s: folder %s: %s", name, path,
                          dir, strerror(errno));

    wentry_t *e = calloc(1, sizeof(*e));
    size_t rlen = strlen(real), blen = strlen(base);
    if (e != NULL) {
        e->name = actr__strdup(name);
        e->path = malloc(rlen + blen + 2);
    }
    if (e == NULL || e->name == NULL || e->path == NULL) {
        entry_free(e);
        return actr__fail(err, ACTR_ENOMEM, "plugin '%s': out of memory", name);
    }
    /* "/" + base for the root folder, so that base[-1] is always the separator */
    size_t off = strcmp(real, "/") == 0 ? 0 : rlen;
    memcpy(e->path, real, off);
    e->path[off] = '/';
    memcpy(e->path + off + 1, base, blen + 1);
    e->base = e->path + off + 1;
    e->debounce_ms = debounce_ms ? debounce_ms : DEFAULT_DEBOUNCE_MS;

    cmd_t c;
    memset(&c, 0, sizeof(c));
    c.kind = CMD_WATCH;
    c.e = e;
    c.err = err;
    int rc = post(rt, &c, err);
    if (rc != 0 && !c.done)
        entry_free(e); /* never reached the thread */
    return rc;
}

int actr_plugin_unwatch(actr_t *rt, const char *name)
{
    if (rt == NULL || name == NULL)
        return ACTR_EINVAL;
    if (__atomic_load_n(&rt->watchers, __ATOMIC_ACQUIRE) == NULL)
        return ACTR_ENOENT;
    cmd_t c;
    memset(&c, 0, sizeof(c));
    c.kind = CMD_UNWATCH;
    c.name = name;
    return post(rt, &c, NULL);
}

void actr__watch_close(actr_t *rt)
{
    struct actr__watchers *ws = rt ? __atomic_load_n(&rt->watchers, __ATOMIC_ACQUIRE) : NULL;
    if (ws == NULL)
        return;
    pthread_mutex_lock(&ws->mu);
    ws->closing = 1;
    int started = ws->started;
    if (started)
        uv_async_send(&ws->async);
    pthread_mutex_unlock(&ws->mu);
    if (started)
        pthread_join(ws->th, NULL);
    pthread_mutex_destroy(&ws->mu);
    pthread_cond_destroy(&ws->cv);
    free(ws);
    __atomic_store_n(&rt->watchers, NULL, __ATOMIC_RELEASE);
}

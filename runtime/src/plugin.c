/* plugin.c — the plugin loader (actr/loader.h): private copies of plugin
 * files, the descriptor checks, the registry of loaded plugins and their
 * actor types, and the rules of unloading. The platform parts (the ELF checks
 * before dlopen, creating and filling a copy) are in os-<platform>.c (os.h).
 *
 * Loading copies the file to <data_dir>/plugins/<base>.<n>.so and dlopens the
 * copy, so the user may rebuild or delete the original at any time (the
 * dynamic linker would otherwise hand back, or keep mapping, the very file
 * being rewritten). The copy is checked as an ELF shared object of this
 * machine before dlopen sees it, because dlopen's own diagnosis of a file
 * that is still being written is an unhelpful "file too short" or worse.
 *
 * Each actor type of a plugin becomes a host-side record (ptype_t) holding the
 * actr_behavior_t that actors of that type run. Its init and terminate are
 * host wrappers that keep a count of the type's live actors, which is what
 * lets unload refuse (ACTR_EBUSY) while plugin code may still run, and lets a
 * forced unload know when the last actor is gone and dlclose is safe. The
 * receive callback is the plugin's own: it can only run between a successful
 * init and terminate, i.e. while the count is positive.
 *
 * Records outlive their plugin: an INIT message may still be queued for an
 * actor spawned just before the unload, and it points at the record. Such a
 * late init sees the record marked dead and fails (reason "ECANCELED")
 * without touching the unmapped code. The records are freed with the runtime.
 *
 * Locking: one mutex (struct actr__plugins.mu) guards the registry. It is
 * never held while plugin code runs (load and unload hooks, init, terminate)
 * or while waiting for actors, so handlers that spawn by type never wait
 * behind a slow hook.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "os.h"
#include "plugin_int.h"

#define NAME_MAX_LEN 64   /* plugin names: [a-z0-9_-], 1..64 bytes */
#define TYPE_NAME_MAX 128 /* type names: [A-Za-z0-9_.:-], 1..128 bytes */
#define VERSION_MAX_LEN 64
#define SIG_MAX_LEN 128
#define MAX_TYPES 1024
#define MAX_STATE_SIZE ((size_t)256 << 20)
#define UNLOAD_WAIT_MS 5000
#define COPY_TRIES 1000

/* ---- small helpers ----------------------------------------------------------------- */


static void err_clear(actr_error_t *err)
{
    if (err != NULL) {
        err->code = 0;
        err->line = 0;
        err->col = 0;
        err->msg[0] = '\0';
    }
}


/* 1 if the calling thread is one of rt's workers (or its background I/O
 * thread): loading blocks on file I/O and unloading waits for actors, which
 * from a handler would stall or deadlock the scheduler. */
int actr__on_runtime_thread(actr_t *rt)
{
    if (!atomic_load_explicit(&rt->started, memory_order_acquire) ||
        atomic_load_explicit(&rt->stopped, memory_order_acquire) || rt->workers == NULL)
        return 0;
    pthread_t me = pthread_self();
    for (unsigned i = 0; i < rt->nworkers; i++)
        if (pthread_equal(me, rt->workers[i].thread))
            return 1;
    return rt->io_bg && pthread_equal(me, rt->io_thread);
}

/* The registry, created on first use. Several threads may race to create it:
 * the loser frees its copy. acq_rel on success publishes the initialised
 * mutex; acquire on the load pairs with it. */
static struct actr__plugins *registry(actr_t *rt)
{
    struct actr__plugins *ps = __atomic_load_n(&rt->plugins, __ATOMIC_ACQUIRE);
    if (ps != NULL)
        return ps;
    ps = calloc(1, sizeof(*ps));
    if (ps == NULL)
        return NULL;
    pthread_mutex_init(&ps->mu, NULL);
    struct actr__plugins *expected = NULL;
    if (!__atomic_compare_exchange_n(&rt->plugins, &expected, ps, 0, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE)) {
        pthread_mutex_destroy(&ps->mu);
        free(ps);
        return expected;
    }
    return ps;
}

struct actr__plugins *actr__plugins_peek(actr_t *rt)
{
    return __atomic_load_n(&rt->plugins, __ATOMIC_ACQUIRE);
}

/* ---- the wrappers actors of plugin types run -------------------------------------- */

#define TYPE_OF(b) ((ptype_t *)(void *)(b)) /* the behaviour is the first member */

/* 1 if t's plugin is still loaded (or an unload of it was refused). */
static int actr__type_alive(actr_t *rt, ptype_t *t)
{
    struct actr__plugins *ps = actr__plugins_peek(rt);
    pthread_mutex_lock(&ps->mu);
    int alive = !t->dead;
    pthread_mutex_unlock(&ps->mu);
    return alive;
}

static void members_del(ptype_t *t, actr__actor_t *a)
{
    pthread_mutex_lock(&t->mmu);
    (void)actr__idmap_del(&t->members, (uint64_t)a->slot + 1, NULL);
    t->mepoch++;
    pthread_mutex_unlock(&t->mmu);
}

int actr__ptype_init(actr_ctx_t *ctx, void *state, const void *args, size_t args_len)
{
    ptype_t *t = TYPE_OF(ctx->cur->beh);
    /* seq_cst on both sides (here: increment then read `closing`; unload:
     * set `closing` then read `live`) makes a lost race impossible: either
     * the unload sees this actor, or this init sees the unload and asks
     * under the mutex whether it went through. */
    atomic_fetch_add_explicit(&t->live, 1, memory_order_seq_cst);
    if (atomic_load_explicit(&t->closing, memory_order_seq_cst) && !actr__type_alive(ctx->rt, t)) {
        atomic_fetch_sub_explicit(&t->live, 1, memory_order_seq_cst);
        return ACTR_ECANCELED; /* the plugin was unloaded while this spawn was queued */
    }
    pthread_mutex_lock(&t->mmu);
    int rc = actr__idmap_put(&t->members, (uint64_t)ctx->cur->slot + 1, ctx->cur);
    t->mepoch++;
    pthread_mutex_unlock(&t->mmu);
    if (rc == 0 && t->p_init != NULL)
        rc = t->p_init(ctx, state, args, args_len);
    if (rc < 0) {
        /* the runtime will not call terminate for a failed init */
        members_del(t, ctx->cur);
        atomic_fetch_sub_explicit(&t->live, 1, memory_order_seq_cst);
        return rc;
    }
    return 0;
}

static void type_terminate(actr_ctx_t *ctx, void *state, const char *reason)
{
    ptype_t *t = TYPE_OF(ctx->cur->beh);
    if (t->p_term != NULL)
        t->p_term(ctx, state, reason);
    members_del(t, ctx->cur);
    /* seq_cst (at least release): everything the plugin's code did happens
     * before an unloader that reads 0 goes on to dlclose it */
    atomic_fetch_sub_explicit(&t->live, 1, memory_order_seq_cst);
}

uint64_t actr__plugin_live(const plugin_t *p)
{
    uint64_t n = 0;
    for (uint32_t i = 0; i < p->ntypes; i++)
        n += atomic_load_explicit(&p->types[i]->live, memory_order_seq_cst);
    return n;
}

/* ---- opening and checking a plugin file ------------------------------------------------ */

const actr_actor_type_t *actr__type_at(const opened_t *o, uint32_t i)
{
    return (const actr_actor_type_t *)(const void *)((const char *)o->desc->types +
                                                     (size_t)i * o->tstride);
}

static int valid_plugin_name(const char *s, size_t n)
{
    if (n == 0 || n > NAME_MAX_LEN)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

static int valid_type_name(const char *s, size_t n)
{
    if (n == 0 || n > TYPE_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.' || c == ':'))
            return 0;
    }
    return 1;
}

/* "MAJOR.MINOR.PATCH", optionally followed by a pre-release or build suffix
 * ("-rc.1", "+git.abc"). */
static int valid_version(const char *s, size_t n)
{
    if (n == 0 || n > VERSION_MAX_LEN)
        return 0;
    size_t i = 0;
    for (int part = 0; part < 3; part++) {
        size_t start = i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == start)
            return 0;
        if (part < 2) {
            if (i >= n || s[i] != '.')
                return 0;
            i++;
        }
    }
    if (i == n)
        return 1;
    if (s[i] != '-' && s[i] != '+')
        return 0;
    for (i++; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == '+'))
            return 0;
    }
    return 1;
}

/* dlopen `file` (ELF-checked first), find the entry, and check the descriptor
 * up to the name and version. Messages name `shown`. */
int actr__plugin_open(const char *shown, const char *file, opened_t *o, actr_error_t *err)
{
    memset(o, 0, sizeof(*o));
    int rc = actr__os_check_shared_object(shown, file, err);
    if (rc != 0)
        return rc;
    /* RTLD_NOW: an unresolved symbol is a load error now, not a crash in a
     * handler later; RTLD_LOCAL: two plugins never see each other's symbols. */
    void *dl = dlopen(file, RTLD_NOW | RTLD_LOCAL);
    if (dl == NULL) {
        const char *why = dlerror();
        return actr__fail(err, ACTR_EABI, "%s: cannot load: %s", shown, why ? why : "dlopen failed");
    }
    void *sym = dlsym(dl, ACTR_PLUGIN_ENTRY);
    if (sym == NULL) {
        dlclose(dl);
        return actr__fail(err, ACTR_EABI, "%s: no %s symbol (not an actr plugin?)", shown,
                    ACTR_PLUGIN_ENTRY);
    }
    const actr_plugin_t *(*entry)(void);
    memcpy(&entry, &sym, sizeof(entry)); /* POSIX: object to function pointer */
    const actr_plugin_t *d = entry();
    o->dl = dl;
    o->desc = d;
    if (d == NULL)
        return actr__fail(err, ACTR_EABI, "%s: %s() returned NULL", shown, ACTR_PLUGIN_ENTRY);
    if (d->abi_major != ACTR_PLUGIN_ABI_MAJOR)
        return actr__fail(err, ACTR_EABI, "%s: ABI major %u, this runtime speaks %u", shown,
                    (unsigned)d->abi_major, (unsigned)ACTR_PLUGIN_ABI_MAJOR);
    if (d->abi_minor > ACTR_PLUGIN_ABI_MINOR)
        return actr__fail(err, ACTR_EABI, "%s: built for ABI %u.%u, newer than this runtime's %u.%u",
                    shown, (unsigned)d->abi_major, (unsigned)d->abi_minor,
                    (unsigned)ACTR_PLUGIN_ABI_MAJOR, (unsigned)ACTR_PLUGIN_ABI_MINOR);
    if (d->size < DESC_MIN_SIZE)
        return actr__fail(err, ACTR_EABI,
                    "%s: descriptor is %u bytes, smaller than the ABI %u.0 descriptor (%zu)", shown,
                    (unsigned)d->size, (unsigned)ACTR_PLUGIN_ABI_MAJOR, (size_t)DESC_MIN_SIZE);
    if (d->signature == NULL)
        return actr__fail(err, ACTR_EABI, "%s: no build signature (expected '%s')", shown,
                    ACTR_PLUGIN_SIGNATURE);
    size_t sl = strnlen(d->signature, SIG_MAX_LEN + 1);
    if (sl > SIG_MAX_LEN || strcmp(d->signature, ACTR_PLUGIN_SIGNATURE) != 0)
        return actr__fail(err, ACTR_EABI, "%s: signature '%.*s' does not match '%s'", shown,
                    (int)(sl > SIG_MAX_LEN ? SIG_MAX_LEN : sl), d->signature,
                    ACTR_PLUGIN_SIGNATURE);
    if (d->name == NULL)
        return actr__fail(err, ACTR_EABI, "%s: the descriptor has no plugin name", shown);
    size_t nl = strnlen(d->name, NAME_MAX_LEN + 1);
    if (!valid_plugin_name(d->name, nl))
        return actr__fail(err, ACTR_EABI, "%s: plugin name '%.*s' is not 1..%d characters of [a-z0-9_-]",
                    shown, (int)(nl > NAME_MAX_LEN ? NAME_MAX_LEN : nl), d->name, NAME_MAX_LEN);
    if (d->version == NULL)
        return actr__fail(err, ACTR_EABI, "%s: plugin '%s' has no version", shown, d->name);
    size_t vl = strnlen(d->version, VERSION_MAX_LEN + 1);
    if (!valid_version(d->version, vl))
        return actr__fail(err, ACTR_EABI, "%s: plugin '%s' version '%.*s' is not MAJOR.MINOR.PATCH",
                    shown, d->name, (int)(vl > VERSION_MAX_LEN ? VERSION_MAX_LEN : vl), d->version);
    return 0;
}

/* The checks after the name: types (each named, unique, with a receive, no
 * reserved hook; none already provided on the node when ps is given, which
 * the caller locks) and the reserved fields. */
int actr__plugin_check_types(const char *shown, opened_t *o, struct actr__plugins *ps,
                             const plugin_t *self, actr_error_t *err)
{
    const actr_plugin_t *d = o->desc;
    if (d->types == NULL || d->ntypes == 0)
        return actr__fail(err, ACTR_EABI, "%s: plugin '%s' declares no actor types", shown, d->name);
    if (d->ntypes > MAX_TYPES)
        return actr__fail(err, ACTR_EABI, "%s: plugin '%s' declares %u actor types (at most %d)", shown,
                    d->name, (unsigned)d->ntypes, MAX_TYPES);
    o->tstride = d->types[0].size;
    for (uint32_t i = 0; i < d->ntypes; i++) {
        /* the stride is the plugin's struct size, so each entry's own size
         * field must agree with the first before we step past it */
        const actr_actor_type_t *t = i == 0 || o->tstride >= TYPE_MIN_SIZE ? actr__type_at(o, i) : NULL;
        if (t == NULL || t->size < TYPE_MIN_SIZE || t->size != o->tstride)
            return actr__fail(err, ACTR_EABI,
                        "%s: type #%u has size %u, expected %zu (the ABI %u.0 actor type)", shown,
                        (unsigned)i, t ? (unsigned)t->size : 0u, (size_t)TYPE_MIN_SIZE,
                        (unsigned)ACTR_PLUGIN_ABI_MAJOR);
        if (t->name == NULL)
            return actr__fail(err, ACTR_EABI, "%s: type #%u has no name", shown, (unsigned)i);
        size_t tl = strnlen(t->name, TYPE_NAME_MAX + 1);
        if (!valid_type_name(t->name, tl))
            return actr__fail(err, ACTR_EABI,
                        "%s: type #%u name '%.*s' is not 1..%d characters of [A-Za-z0-9_.:-]",
                        shown, (unsigned)i, (int)(tl > TYPE_NAME_MAX ? TYPE_NAME_MAX : tl), t->name,
                        TYPE_NAME_MAX);
        for (uint32_t j = 0; j < i; j++)
            if (strcmp(actr__type_at(o, j)->name, t->name) == 0)
                return actr__fail(err, ACTR_EABI, "%s: actor type '%s' is declared twice (#%u and #%u)",
                            shown, t->name, (unsigned)j, (unsigned)i);
        if (ps != NULL) {
            void **slot = actr__strmap_find(&ps->types, t->name);
            if (slot != NULL && ((const ptype_t *)*slot)->owner != self) {
                const ptype_t *other = *slot;
                return actr__fail(err, ACTR_EEXIST,
                            "%s: actor type '%s' is already provided by plugin '%s' %s", shown,
                            t->name, other->owner ? other->owner->name : "?",
                            other->owner ? other->owner->version : "?");
            }
        }
        if (t->receive == NULL)
            return actr__fail(err, ACTR_EABI, "%s: type #%u '%s' has no receive callback", shown,
                        (unsigned)i, t->name);
        if (t->migrate != NULL && d->abi_minor < 1)
            return actr__fail(err, ACTR_EABI,
                        "%s: type '%s' sets migrate, which is reserved (must be NULL) in ABI %u.0",
                        shown, t->name, (unsigned)ACTR_PLUGIN_ABI_MAJOR);
        if (t->state_size > MAX_STATE_SIZE)
            return actr__fail(err, ACTR_EABI, "%s: type '%s' asks for %zu bytes of state (at most %zu)",
                        shown, t->name, t->state_size, MAX_STATE_SIZE);
    }
    for (size_t i = 0; i < sizeof(d->reserved) / sizeof(d->reserved[0]); i++)
        if (d->reserved[i] != NULL)
            return actr__fail(err, ACTR_EABI,
                        "%s: descriptor field reserved[%zu] is not NULL (built for another ABI?)",
                        shown, i);
    return 0;
}

/* ---- private copies ----------------------------------------------------------------- */

static int mkdir_one(const char *dir)
{
    if (mkdir(dir, 0700) == 0 || errno == EEXIST)
        return 0;
    return -errno;
}

/* Copy the open file `in` to a fresh <data_dir>/plugins/<base>.<n>.so; the
 * new path goes to *out (owned). */
int actr__plugin_copy(actr_t *rt, struct actr__plugins *ps, const char *path, int in, char **out,
                     actr_error_t *err)
{
    *out = NULL;
    char dir[4096];
    if ((size_t)snprintf(dir, sizeof(dir), "%s/plugins", rt->data_dir) >= sizeof(dir))
        return actr__fail(err, ACTR_E2BIG, "%s: data directory path too long", path);
    int rc = mkdir_one(rt->data_dir);
    if (rc == 0)
        rc = mkdir_one(dir);
    if (rc != 0)
        return actr__fail(err, rc, "%s: cannot create %s: %s", path, dir, strerror(-rc));
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t bl = strlen(base);
    if (bl > 3 && strcmp(base + bl - 3, ".so") == 0)
        bl -= 3;
    if (bl > 100)
        bl = 100;
    char copy[4096 + 128];
    rc = ACTR_EEXIST;
    for (int tries = 0; rc == ACTR_EEXIST && tries < COPY_TRIES; tries++) {
        pthread_mutex_lock(&ps->mu);
        unsigned n = ++ps->seq;
        pthread_mutex_unlock(&ps->mu);
        snprintf(copy, sizeof(copy), "%s/%.*s.%u.so", dir, (int)bl, base, n);
        rc = actr__os_copy_new(in, copy, path, err); /* O_EXCL: ACTR_EEXIST if taken */
    }
    if (rc == ACTR_EEXIST)
        return actr__fail(err, ACTR_EEXIST, "%s: no free name for a private copy in %s", path, dir);
    if (rc != 0)
        return rc;
    *out = actr__strdup(copy);
    if (*out == NULL) {
        unlink(copy);
        return actr__fail(err, ACTR_ENOMEM, "%s: out of memory", path);
    }
    return 0;
}

int actr__plugin_copy_file(actr_t *rt, struct actr__plugins *ps, const char *path, char **out,
                           actr_error_t *err)
{
    *out = NULL;
    int in = open(path, O_RDONLY | O_CLOEXEC);
    if (in < 0) {
        int e = errno;
        return actr__fail(err, e == ENOENT ? ACTR_ENOENT : -e, "%s: %s", path,
                          e == ENOENT ? "no such file" : strerror(e));
    }
    struct stat st;
    int rc;
    if (fstat(in, &st) != 0 || !S_ISREG(st.st_mode))
        rc = actr__fail(err, ACTR_EABI, "%s: not a shared object (not a regular file)", path);
    else
        rc = actr__plugin_copy(rt, ps, path, in, out, err);
    close(in);
    return rc;
}

/* ---- registry records ------------------------------------------------------------------ */

static void plugin_free(plugin_t *p)
{
    if (p == NULL)
        return;
    free(p->name);
    free(p->version);
    free(p->path);
    free(p->copy);
    free(p->signature);
    free(p->types);
    if (p->prev != NULL)
        actr__pver_close(p->prev, 0);
    if (p->hold != NULL) {
        pthread_mutex_destroy(&p->hold->mu);
        free(p->hold->v);
        free(p->hold);
    }
    free(p);
}

void actr__ptype_free(ptype_t *t)
{
    if (t != NULL) {
        free(t->name);
        actr__idmap_free(&t->members);
        pthread_mutex_destroy(&t->mmu);
        free(t);
    }
}

ptype_t *actr__ptype_new(plugin_t *p, const actr_actor_type_t *src)
{
    ptype_t *t = calloc(1, sizeof(*t));
    if (t == NULL || (t->name = actr__strdup(src->name)) == NULL) {
        free(t);
        return NULL;
    }
    t->h.beh.size = sizeof(t->h.beh);
    t->h.beh.name = t->name;
    t->h.beh.state_size = src->state_size;
    t->h.beh.init = actr__ptype_init;
    t->h.beh.receive = src->receive;
    t->h.beh.terminate = type_terminate;
    t->p_init = src->init;
    t->p_term = src->terminate;
    atomic_init(&t->live, 0);
    atomic_init(&t->closing, 0);
    atomic_init(&t->h.paused, 0);
    pthread_mutex_init(&t->mmu, NULL);
    t->owner = p;
    t->hold = p->hold;
    return t;
}

/* Build the records of an opened plugin (not yet registered). */
static plugin_t *plugin_new(const char *path, char *copy, const opened_t *o)
{
    const actr_plugin_t *d = o->desc;
    plugin_t *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return NULL;
    p->name = actr__strdup(d->name);
    p->version = actr__strdup(d->version);
    p->path = actr__strdup(path);
    p->signature = actr__strdup(d->signature);
    p->types = calloc(d->ntypes, sizeof(*p->types));
    p->abi_major = d->abi_major;
    p->abi_minor = d->abi_minor;
    p->desc = d;
    p->dl = o->dl;
    p->tstride = o->tstride;
    p->hold = calloc(1, sizeof(*p->hold));
    if (p->hold != NULL)
        pthread_mutex_init(&p->hold->mu, NULL);
    if (!p->name || !p->version || !p->path || !p->signature || !p->types || !p->hold) {
        plugin_free(p);
        return NULL;
    }
    for (uint32_t i = 0; i < d->ntypes; i++) {
        ptype_t *t = actr__ptype_new(p, actr__type_at(o, i));
        if (t == NULL) {
            for (uint32_t j = 0; j < p->ntypes; j++)
                actr__ptype_free(p->types[j]);
            plugin_free(p);
            return NULL;
        }
        p->types[p->ntypes++] = t;
    }
    p->copy = copy; /* last: on failure above the caller still owns it */
    return p;
}

/* Under mu: take p out of the list and its types out of the map. */
static void unlink_plugin(struct actr__plugins *ps, plugin_t *p)
{
    for (plugin_t **pp = &ps->head; *pp != NULL; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    p->next = NULL;
    for (uint32_t i = 0; i < p->ntypes; i++) {
        void *v = NULL;
        if (actr__strmap_find(&ps->types, p->types[i]->name) != NULL)
            (void)actr__strmap_del(&ps->types, p->types[i]->name, &v);
    }
}

/* Under mu: mark p's types dead (late inits fail) and keep their records
 * until close. Should the graveyard not grow (no memory), a record is
 * leaked rather than freed: a queued init may still read it. */
void actr__ptype_bury(struct actr__plugins *ps, ptype_t *t)
{
    t->dead = 1;
    t->owner = NULL;
    if (ps->ngrave == ps->capgrave) {
        size_t cap = ps->capgrave ? ps->capgrave * 2 : 16;
        ptype_t **g = realloc(ps->grave, cap * sizeof(*g));
        if (g == NULL)
            return;
        ps->grave = g;
        ps->capgrave = cap;
    }
    ps->grave[ps->ngrave++] = t;
}

void actr__bury_types(struct actr__plugins *ps, plugin_t *p)
{
    for (uint32_t i = 0; i < p->ntypes; i++)
        actr__ptype_bury(ps, p->types[i]);
}

/* Unmap a plugin whose actors are all gone: its unload hook, dlclose, the
 * copy removed. No lock held. */
void actr__plugin_close(plugin_t *p, int run_hook)
{
    if (p->prev != NULL) {
        actr__pver_close(p->prev, run_hook);
        p->prev = NULL;
    }
    if (run_hook && p->desc->unload != NULL)
        p->desc->unload(&actr__host_api);
    if (p->dl != NULL)
        dlclose(p->dl);
    p->dl = NULL;
    if (p->copy != NULL)
        unlink(p->copy);
}

/* ---- public: load --------------------------------------------------------------------- */

int actr_plugin_load(actr_t *rt, const char *path, actr_error_t *err)
{
    err_clear(err);
    if (rt == NULL || path == NULL || path[0] == '\0')
        return actr__fail(err, ACTR_EINVAL, "plugin load: no runtime or no path");
    if (actr__on_runtime_thread(rt))
        return actr__fail(err, ACTR_ECONTEXT, "%s: plugins cannot be loaded from an actor's handler",
                    path);
    struct actr__plugins *ps = registry(rt);
    if (ps == NULL)
        return actr__fail(err, ACTR_ENOMEM, "%s: out of memory", path);

    char *copy = NULL;
    int rc = actr__plugin_copy_file(rt, ps, path, &copy, err);
    if (rc != 0)
        return rc;

    opened_t o;
    rc = actr__plugin_open(path, copy, &o, err);
    plugin_t *p = NULL;
    if (rc == 0) {
        pthread_mutex_lock(&ps->mu);
        for (plugin_t *q = ps->head; q != NULL; q = q->next)
            if (strcmp(q->name, o.desc->name) == 0) {
                rc = actr__fail(err, ACTR_EEXIST, "%s: plugin '%s' is already loaded (from %s)", path,
                          q->name, q->path);
                break;
            }
        if (rc == 0)
            rc = actr__plugin_check_types(path, &o, ps, NULL, err);
        if (rc == 0 && (p = plugin_new(path, copy, &o)) == NULL)
            rc = actr__fail(err, ACTR_ENOMEM, "%s: out of memory", path);
        if (rc == 0) {
            /* reserve the names now (not yet spawnable: ready == 0), so a
             * concurrent load of a clashing plugin is refused */
            uint32_t i;
            for (i = 0; i < p->ntypes; i++)
                if (actr__strmap_add(&ps->types, p->types[i]->name, p->types[i]) != 0)
                    break;
            plugin_t **tail = &ps->head;
            while (*tail != NULL)
                tail = &(*tail)->next;
            *tail = p;
            if (i < p->ntypes) {
                unlink_plugin(ps, p);
                rc = actr__fail(err, ACTR_ENOMEM, "%s: out of memory", path);
            }
        }
        pthread_mutex_unlock(&ps->mu);
    }
    if (rc == 0 && o.desc->load != NULL) {
        int hr = o.desc->load(&actr__host_api);
        if (hr != 0) {
            if (hr > 0)
                hr = ACTR_ECANCELED;
            rc = actr__fail(err, hr, "%s: load hook failed: %s (%s)", path, actr_err_name(hr),
                      actr_strerror(hr));
            pthread_mutex_lock(&ps->mu);
            unlink_plugin(ps, p);
            pthread_mutex_unlock(&ps->mu);
        }
    }
    if (rc != 0) {
        /* nothing stays: no records, no mapping, no copy */
        if (p != NULL) {
            for (uint32_t i = 0; i < p->ntypes; i++)
                actr__ptype_free(p->types[i]);
            p->copy = NULL;
            plugin_free(p);
        }
        if (o.dl != NULL)
            dlclose(o.dl);
        unlink(copy);
        free(copy);
        return rc;
    }
    /* logged before it becomes visible: an unload may free p right after */
    actr__log(rt, ACTR_LOG_INFO, ACTR_REF_NONE, "plugin %s %s loaded from %s (%u type%s)", p->name,
              p->version, path, (unsigned)p->ntypes, p->ntypes == 1 ? "" : "s");
    actr__plugin_event(rt, p->name, "load", "", p->version, path, 0, "", 0, 0);
    pthread_mutex_lock(&ps->mu);
    p->ready = 1;
    pthread_mutex_unlock(&ps->mu);
    return 0;
}

/* ---- public: unload --------------------------------------------------------------------- */

typedef struct kill_walk {
    plugin_t *p;
    actr_ctx_t *client;
} kill_walk_t;

static void kill_one(void *ud, const actr_actor_info_t *info)
{
    kill_walk_t *w = ud;
    for (uint32_t i = 0; i < w->p->ntypes; i++)
        if (info->type == w->p->types[i]->name) {
            (void)actr_actor_kill(w->client, info->ref);
            return;
        }
}

int actr_plugin_unload(actr_t *rt, const char *name, int force, actr_error_t *err)
{
    err_clear(err);
    if (rt == NULL || name == NULL)
        return actr__fail(err, ACTR_EINVAL, "plugin unload: no runtime or no name");
    if (actr__on_runtime_thread(rt))
        return actr__fail(err, ACTR_ECONTEXT,
                    "plugin '%s': plugins cannot be unloaded from an actor's handler", name);
    struct actr__plugins *ps = actr__plugins_peek(rt);
    if (ps == NULL)
        return actr__fail(err, ACTR_ENOENT, "no plugin '%s' is loaded", name);
    pthread_mutex_lock(&ps->mu);
    plugin_t *p = ps->head;
    while (p != NULL && strcmp(p->name, name) != 0)
        p = p->next;
    if (p == NULL || !p->ready || p->unloading || p->swapping) {
        int busy = p != NULL;
        pthread_mutex_unlock(&ps->mu);
        if (busy)
            return actr__fail(err, ACTR_EBUSY, "plugin '%s' is being loaded, swapped or unloaded", name);
        return actr__fail(err, ACTR_ENOENT, "no plugin '%s' is loaded", name);
    }
    /* seq_cst store, then seq_cst loads of `live` (see actr__ptype_init): after
     * this, an actor either is counted here or its init fails */
    for (uint32_t i = 0; i < p->ntypes; i++)
        atomic_store_explicit(&p->types[i]->closing, 1, memory_order_seq_cst);
    uint64_t live = actr__plugin_live(p);
    if (live > 0 && !force) {
        for (uint32_t i = 0; i < p->ntypes; i++)
            atomic_store_explicit(&p->types[i]->closing, 0, memory_order_seq_cst);
        pthread_mutex_unlock(&ps->mu);
        return actr__fail(err, ACTR_EBUSY,
                    "plugin '%s' has %llu live actor%s (stop them, or unload with force)", name,
                    (unsigned long long)live, live == 1 ? "" : "s");
    }
    /* committed: from here no new actor of its types can start */
    p->unloading = 1;
    unlink_plugin(ps, p);
    for (uint32_t i = 0; i < p->ntypes; i++)
        p->types[i]->dead = 1;
    pthread_mutex_unlock(&ps->mu);

    int rc = 0;
    if (actr__plugin_live(p) > 0) {
        actr_ctx_t *client = NULL;
        /* without a client (the runtime is stopping) the actors die anyway */
        if (actr_client_open(rt, &client) != 0)
            client = NULL;
        kill_walk_t w = {p, client};
        uint64_t deadline = actr__now_ms() + UNLOAD_WAIT_MS;
        unsigned round = 0;
        while (actr__plugin_live(p) > 0) {
            if (actr__now_ms() > deadline) {
                rc = ACTR_ETIMEDOUT;
                break;
            }
            /* re-list now and then: an actor still in its init is not listed
             * yet, and is killed once it is */
            if (client != NULL && round++ % 20 == 0)
                (void)actr_actors_list(rt, kill_one, &w);
            struct timespec ts = {0, 1000000}; /* polling 1 ms, bounded by the deadline */
            nanosleep(&ts, NULL);
        }
        actr_client_close(client);
    }
    pthread_mutex_lock(&ps->mu);
    actr__bury_types(ps, p);
    if (rc != 0) {
        /* still running plugin code: keep it mapped until the runtime closes */
        uint64_t left = actr__plugin_live(p);
        p->next = ps->zombies;
        ps->zombies = p;
        pthread_mutex_unlock(&ps->mu);
        return actr__fail(err, rc,
                    "plugin '%s': %llu actor%s still alive after %d ms; it stays mapped until "
                    "the runtime closes",
                    name, (unsigned long long)left, left == 1 ? "" : "s", UNLOAD_WAIT_MS);
    }
    pthread_mutex_unlock(&ps->mu);
    actr__plugin_close(p, 1);
    actr__log(rt, ACTR_LOG_INFO, ACTR_REF_NONE, "plugin %s %s unloaded", p->name, p->version);
    actr__plugin_event(rt, p->name, "unload", p->version, "", p->path, 0, "", 0, 0);
    (void)actr_plugin_unwatch(rt, name); /* its file is no longer a version of anything */
    plugin_free(p);
    return 0;
}

/* ---- public: list and inspect ---------------------------------------------------------- */

/* A copy of what the listing reports about one plugin, in one allocation, so
 * callbacks run without the registry lock (they may call the loader). */
typedef struct snap {
    actr_plugin_info_t info;
    const char **types;
    char strings[];
} snap_t;

static char *put_str(char **cur, const char *s)
{
    size_t n = strlen(s) + 1;
    char *at = *cur;
    memcpy(at, s, n);
    *cur += n;
    return at;
}

static snap_t *snapshot(const plugin_t *p)
{
    size_t bytes =
        strlen(p->name) + strlen(p->version) + strlen(p->path) + strlen(p->signature) + 4;
    for (uint32_t i = 0; i < p->ntypes; i++)
        bytes += strlen(p->types[i]->name) + 1;
    snap_t *s = malloc(sizeof(*s) + bytes);
    const char **types = calloc(p->ntypes, sizeof(*types));
    if (s == NULL || types == NULL) {
        free(s);
        free(types);
        return NULL;
    }
    char *cur = s->strings;
    s->types = types;
    s->info.name = put_str(&cur, p->name);
    s->info.version = put_str(&cur, p->version);
    s->info.path = put_str(&cur, p->path);
    s->info.signature = put_str(&cur, p->signature);
    for (uint32_t i = 0; i < p->ntypes; i++)
        types[i] = put_str(&cur, p->types[i]->name);
    s->info.abi_major = p->abi_major;
    s->info.abi_minor = p->abi_minor;
    s->info.ntypes = p->ntypes;
    s->info.types = types;
    s->info.actors = actr__plugin_live(p);
    return s;
}

int actr_plugin_list(actr_t *rt, actr_plugin_info_fn fn, void *ud)
{
    if (rt == NULL || fn == NULL)
        return ACTR_EINVAL;
    struct actr__plugins *ps = actr__plugins_peek(rt);
    if (ps == NULL)
        return 0;
    pthread_mutex_lock(&ps->mu);
    size_t n = 0;
    for (plugin_t *p = ps->head; p != NULL; p = p->next)
        n += p->ready;
    snap_t **snaps = n ? calloc(n, sizeof(*snaps)) : NULL;
    size_t k = 0;
    for (plugin_t *p = ps->head; snaps != NULL && p != NULL; p = p->next)
        if (p->ready)
            snaps[k++] = snapshot(p);
    pthread_mutex_unlock(&ps->mu);
    if (n > 0 && snaps == NULL)
        return ACTR_ENOMEM;
    int rc = 0;
    for (size_t i = 0; i < k; i++) {
        if (snaps[i] == NULL)
            rc = ACTR_ENOMEM;
        else
            fn(ud, &snaps[i]->info);
        if (snaps[i] != NULL)
            free((void *)snaps[i]->types);
        free(snaps[i]);
    }
    free(snaps);
    return rc;
}

int actr_plugin_inspect(const char *path, actr_plugin_info_fn fn, void *ud, actr_error_t *err)
{
    err_clear(err);
    if (path == NULL || path[0] == '\0')
        return actr__fail(err, ACTR_EINVAL, "plugin inspect: no path");
    struct stat st;
    if (stat(path, &st) != 0) {
        int e = errno;
        return actr__fail(err, e == ENOENT ? ACTR_ENOENT : -e, "%s: %s", path,
                    e == ENOENT ? "no such file" : strerror(e));
    }
    if (!S_ISREG(st.st_mode))
        return actr__fail(err, ACTR_EABI, "%s: not a shared object (not a regular file)", path);
    /* a name without a slash would make dlopen search the library path */
    char local[4096];
    const char *file = path;
    if (strchr(path, '/') == NULL) {
        if ((size_t)snprintf(local, sizeof(local), "./%s", path) >= sizeof(local))
            return actr__fail(err, ACTR_E2BIG, "%s: path too long", path);
        file = local;
    }
    opened_t o;
    int rc = actr__plugin_open(path, file, &o, err);
    if (rc == 0)
        rc = actr__plugin_check_types(path, &o, NULL, NULL, err);
    if (rc == 0) {
        const actr_plugin_t *d = o.desc;
        const char **types = calloc(d->ntypes, sizeof(*types));
        if (types == NULL) {
            rc = actr__fail(err, ACTR_ENOMEM, "%s: out of memory", path);
        } else {
            for (uint32_t i = 0; i < d->ntypes; i++)
                types[i] = actr__type_at(&o, i)->name;
            actr_plugin_info_t info = {
                .name = d->name,
                .version = d->version,
                .path = path,
                .signature = d->signature,
                .abi_major = d->abi_major,
                .abi_minor = d->abi_minor,
                .ntypes = d->ntypes,
                .types = types,
                .actors = 0,
            };
            if (fn != NULL)
                fn(ud, &info);
            free(types);
        }
    }
    if (o.dl != NULL)
        dlclose(o.dl);
    return rc;
}

/* ---- public: types ------------------------------------------------------------------------ */

/* Under no lock: the type record of a loaded plugin, or NULL. Records are
 * never freed before the runtime, so the pointer stays valid after return. */
static ptype_t *find_type(actr_t *rt, const char *type)
{
    struct actr__plugins *ps = actr__plugins_peek(rt);
    if (ps == NULL)
        return NULL;
    pthread_mutex_lock(&ps->mu);
    void **slot = actr__strmap_find(&ps->types, type);
    ptype_t *t = slot ? *slot : NULL;
    if (t != NULL && (t->dead || t->owner == NULL || !t->owner->ready))
        t = NULL;
    pthread_mutex_unlock(&ps->mu);
    return t;
}

int actr_spawn_type(actr_ctx_t *ctx, const char *type, const void *args, size_t args_len,
                    const actr_spawn_opts_t *opts, actr_ref_t *out)
{
    if (out != NULL)
        *out = ACTR_REF_NONE;
    if (ctx == NULL || type == NULL || out == NULL)
        return ACTR_EINVAL;
    ptype_t *t = find_type(ctx->rt, type);
    if (t == NULL)
        return ACTR_ENOENT;
    return actr_spawn(ctx, &t->h.beh, args, args_len, opts, out);
}

int actr_type_behavior(actr_t *rt, const char *type, const actr_behavior_t **out)
{
    if (out != NULL)
        *out = NULL;
    if (rt == NULL || type == NULL || out == NULL)
        return ACTR_EINVAL;
    ptype_t *t = find_type(rt, type);
    if (t == NULL)
        return ACTR_ENOENT;
    *out = &t->h.beh;
    return 0;
}

/* ---- close --------------------------------------------------------------------------------- */

static void close_list(plugin_t *head, int reverse_hooks)
{
    /* unload hooks in reverse load order, as a stack unwinds */
    size_t n = 0;
    for (plugin_t *p = head; p != NULL; p = p->next)
        n++;
    plugin_t **v = n ? calloc(n, sizeof(*v)) : NULL;
    size_t k = 0;
    for (plugin_t *p = head; p != NULL; p = p->next)
        if (v != NULL)
            v[k++] = p;
    if (v != NULL) {
        for (size_t i = k; i-- > 0;)
            actr__plugin_close(v[i], reverse_hooks);
    } else {
        for (plugin_t *p = head; p != NULL; p = p->next)
            actr__plugin_close(p, reverse_hooks);
    }
    free(v);
    while (head != NULL) {
        plugin_t *nx = head->next;
        for (uint32_t i = 0; i < head->ntypes; i++)
            if (head->types[i] != NULL && !head->types[i]->dead)
                actr__ptype_free(head->types[i]);
        plugin_free(head);
        head = nx;
    }
}

void actr__plugins_free(actr_t *rt)
{
    struct actr__plugins *ps = actr__plugins_peek(rt);
    if (ps == NULL)
        return;
    /* no actor is left: everything unloads at once */
    close_list(ps->head, 1);
    close_list(ps->zombies, 1); /* a forced unload timed out: their hooks run now */
    for (size_t i = 0; i < ps->ngrave; i++)
        actr__ptype_free(ps->grave[i]);
    free(ps->grave);
    actr__strmap_free(&ps->types);
    pthread_mutex_destroy(&ps->mu);
    free(ps);
    rt->plugins = NULL;
}


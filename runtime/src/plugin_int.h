/* plugin_int.h — the loader's records (plugin.c), shared with the hot swap
 * (swap.c). Not installed.
 *
 * Locking: struct actr__plugins.mu guards the registry (the plugin list, the
 * type map, each plugin's and type's fields marked "under mu"). It is never
 * held while plugin code runs.
 */
#ifndef ACTR_PLUGIN_INT_H
#define ACTR_PLUGIN_INT_H

#include <stddef.h>

#include "internal.h"

/* The smallest descriptor and actor type a host of ABI major 1 accepts: the
 * ABI 1.0 layouts. Later minors only append, so these stay as they are. */
#define DESC_MIN_SIZE (offsetof(actr_plugin_t, reserved) + sizeof(((actr_plugin_t *)0)->reserved))
#define TYPE_MIN_SIZE                                                                              \
    (offsetof(actr_actor_type_t, migrate) + sizeof(((actr_actor_type_t *)0)->migrate))

typedef struct plugin plugin_t;

/* One actor type of a loaded (or once loaded) plugin. */
typedef struct ptype {
    actr__ptype_head_t h; /* h.beh: what its actors run (beh.name == name); h.paused */
    char *name;          /* owned: also the `type` that actr_actors_list reports */
    int (*p_init)(actr_ctx_t *, void *, const void *, size_t);
    void (*p_term)(actr_ctx_t *, void *, const char *);
    /* Live actors: those whose init wrapper has counted them and whose
     * terminate wrapper has not yet uncounted them. seq_cst together with
     * `closing`: see actr__ptype_init and unload_commit. */
    _Atomic uint64_t live;
    _Atomic int closing; /* an unload is deciding or has decided */
    int dead;            /* under mu: the plugin is gone, late inits must fail */
    plugin_t *owner;     /* under mu; NULL once dead */
    struct actr__hold *hold; /* the owner's parking list (fixed at creation) */
    /* Its live actors (slot -> actr__actor_t*), added by the init wrapper and
     * removed by the terminate wrapper: what a swap migrates. */
    pthread_mutex_t mmu;
    actr__idmap_t members;
    uint64_t mepoch; /* under mmu: bumped by every change of `members` */
} ptype_t;

struct plugin {
    plugin_t *next;
    char *name, *version, *path, *copy, *signature;
    uint32_t abi_major, abi_minor;
    void *dl;
    const actr_plugin_t *desc;
    uint32_t ntypes;
    ptype_t **types;
    int ready;     /* under mu: its load hook succeeded; its types can be spawned */
    int unloading; /* under mu: an unload took it */
    int swapping;  /* under mu: a swap or rollback of it is in progress */
    uint32_t tstride; /* the current version's sizeof(actr_actor_type_t) */
    struct actr__pver *prev; /* the version before the last swap (rollback), or NULL */
    struct actr__hold *hold;
};

struct actr__plugins {
    pthread_mutex_t mu;
    plugin_t *head;       /* loaded and loading plugins, in load order */
    plugin_t *zombies;    /* unloaded, but actors outlived a forced unload's wait */
    actr__strmap_t types; /* type name -> ptype_t* of loaded and loading plugins */
    ptype_t **grave;      /* records of unloaded types, freed at close */
    size_t ngrave, capgrave;
    unsigned seq; /* numbers the private copies */
};

/* A plugin library that is open and whose descriptor has passed the checks
 * that need no registry. */
typedef struct opened {
    void *dl;
    const actr_plugin_t *desc;
    uint32_t tstride; /* the plugin's sizeof(actr_actor_type_t) */
} opened_t;

/* Actors parked at a message boundary by a swap of the plugin (see
 * actr__swap_park): one per plugin, reused by every swap, freed with it. */
typedef struct actr__hold {
    pthread_mutex_t mu;
    int active; /* under mu: a swap holds the plugin's actors */
    actr__actor_t **v;
    size_t n, cap;
} actr__hold_t;

/* One loaded version of a plugin's code. */
typedef struct actr__pver {
    void *dl;
    const actr_plugin_t *desc;
    uint32_t tstride;
    char *version, *path, *copy, *signature;
    uint32_t abi_major, abi_minor;
} actr__pver_t;

const actr_actor_type_t *actr__type_at(const opened_t *o, uint32_t i);
int actr__plugin_open(const char *shown, const char *file, opened_t *o, actr_error_t *err);
int actr__plugin_check_types(const char *shown, opened_t *o, struct actr__plugins *ps,
                             const plugin_t *self, actr_error_t *err);
int actr__plugin_copy(actr_t *rt, struct actr__plugins *ps, const char *path, int in, char **out,
                      actr_error_t *err);
/* Open `path`, check it is a regular file and copy it privately (the copy's
 * path to *out, owned). Returns 0 or the error, with err naming path. */
int actr__plugin_copy_file(actr_t *rt, struct actr__plugins *ps, const char *path, char **out,
                           actr_error_t *err);
struct actr__plugins *actr__plugins_peek(actr_t *rt);
int actr__on_runtime_thread(actr_t *rt);
uint64_t actr__plugin_live(const plugin_t *p);
void actr__bury_types(struct actr__plugins *ps, plugin_t *p);
void actr__plugin_close(plugin_t *p, int run_hook);
void actr__ptype_free(ptype_t *t);
/* A type record for `src` (not yet registered), owned by p; NULL on OOM. */
ptype_t *actr__ptype_new(plugin_t *p, const actr_actor_type_t *src);
/* Under mu: mark one type dead and keep its record until close. */
void actr__ptype_bury(struct actr__plugins *ps, ptype_t *t);
/* Close a version that is not current (unload hook, dlclose, copy removed)
 * and free its strings. */
void actr__pver_close(actr__pver_t *v, int run_hook);
/* Record an event in the plugin history. */
void actr__plugin_event(actr_t *rt, const char *plugin, const char *action, const char *from,
                        const char *to, const char *path, int code, const char *reason,
                        uint64_t actors, uint64_t pause_us);

#endif

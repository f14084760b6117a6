/* config_names.c — actor names are unique on the node, across all plugins of
 * a runtime.yaml, counting the NAME-1..NAME-N expansion of `count`.
 *
 * Two expanded entries clash iff their base names are equal (a name splits
 * at its last '-' one way only, and the suffix is a plain decimal); a single
 * name clashes with an expanded entry iff it is BASE-K with K <= N; two
 * single names clash iff equal. So the check sorts the entries (O(n log n))
 * instead of listing up to 10,000 names per entry. Of all clashes it reports
 * the one whose later entry comes first in the file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_int.h"

/* One actor entry, as a name (count 1) or a base name (count > 1). */
typedef struct name_rec {
    const actr_actor_conf_t *a;
    size_t plugin, actor, order;
} name_rec_t;

static int cmp_name(const void *x, const void *y)
{
    const name_rec_t *a = x, *b = y;
    int c = strcmp(a->a->name, b->a->name);
    if (c != 0)
        return c;
    return a->order < b->order ? -1 : a->order > b->order;
}

/* Of two colliding entries, remember the pair whose later entry comes first. */
static void note_clash(const name_rec_t **later, const name_rec_t **earlier, uint32_t *num,
                       const name_rec_t *x, const name_rec_t *y, uint32_t k)
{
    const name_rec_t *l = x->order > y->order ? x : y, *e = x->order > y->order ? y : x;
    if (*later == NULL || l->order < (*later)->order) {
        *later = l;
        *earlier = e;
        *num = k;
    }
}

static int clash_error(actr__conf_parser_t *p, const name_rec_t *l, const name_rec_t *e, uint32_t k)
{
    char name[300], shown[300], how[200] = "";
    yaml_mark_t m = {0, (size_t)(l->a->line - 1), (size_t)(l->a->col - 1)};
    if (k == 0)
        snprintf(name, sizeof(name), "%s", l->a->name);
    else
        snprintf(name, sizeof(name), "%s-%u", l->a->count > 1 ? l->a->name : e->a->name,
                 (unsigned)k);
    actr__conf_printable(shown, sizeof(shown), name, strlen(name));
    if (e->a->count > 1)
        snprintf(how, sizeof(how), " (its count %u makes names %.60s-1..%.60s-%u)",
                 (unsigned)e->a->count, e->a->name, e->a->name, (unsigned)e->a->count);
    actr__conf_path_restore(p, 0);
    actr__conf_path_key(p, "plugins", 7);
    actr__conf_path_index(p, l->plugin);
    actr__conf_path_key(p, "actors", 6);
    actr__conf_path_index(p, l->actor);
    actr__conf_path_key(p, "name", 4);
    return actr__conf_fail(p, &m,
                           "actor name '%s' is already used by plugins[%zu].actors[%zu] at "
                           "line %d, column %d%s",
                           shown, e->plugin, e->actor, e->a->line, e->a->col, how);
}

/* If name is BASE-K with K a plain decimal 1..ACTR__CONF_COUNT_MAX: *k and the base length. */
static int split_suffix(const char *name, size_t *baselen, uint32_t *k)
{
    const char *dash = strrchr(name, '-');
    uint32_t v = 0;
    if (dash == NULL || dash == name || dash[1] == '\0' || dash[1] == '0' || strlen(dash + 1) > 5)
        return 0;
    for (const char *c = dash + 1; *c; c++) {
        if (*c < '0' || *c > '9')
            return 0;
        v = v * 10 + (uint32_t)(*c - '0');
    }
    if (v > ACTR__CONF_COUNT_MAX)
        return 0;
    *baselen = (size_t)(dash - name);
    *k = v;
    return 1;
}

/* Actor names are unique on the node: NAME for count 1, NAME-1..NAME-N for
 * count N. Two expanded entries clash iff their bases are equal (a name
 * splits at its last '-' one way only); a single name clashes with an
 * expanded entry iff it is BASE-K with K <= N. */
int actr__conf_check_names(actr__conf_parser_t *p, const actr_config_t *c)
{
    name_rec_t *one, *many;
    size_t n1 = 0, nm = 0, total = 0, order = 0;
    const name_rec_t *later = NULL, *earlier = NULL;
    uint32_t num = 0;
    int rc = 0;

    for (size_t i = 0; i < c->nplugins; i++)
        total += c->plugins[i].nactors;
    if (total < 2)
        return 0;
    one = malloc(total * sizeof(*one));
    many = malloc(total * sizeof(*many));
    if (one == NULL || many == NULL) {
        free(one);
        free(many);
        return actr__conf_nomem(p);
    }
    for (size_t i = 0; i < c->nplugins; i++) {
        for (size_t j = 0; j < c->plugins[i].nactors; j++) {
            const actr_actor_conf_t *a = &c->plugins[i].actors[j];
            name_rec_t r = {a, i, j, order++};
            if (a->count > 1)
                many[nm++] = r;
            else
                one[n1++] = r;
        }
    }
    qsort(one, n1, sizeof(*one), cmp_name);
    qsort(many, nm, sizeof(*many), cmp_name);
    for (size_t i = 1; i < n1; i++)
        if (strcmp(one[i].a->name, one[i - 1].a->name) == 0)
            note_clash(&later, &earlier, &num, &one[i], &one[i - 1], 0);
    for (size_t i = 1; i < nm; i++)
        if (strcmp(many[i].a->name, many[i - 1].a->name) == 0)
            note_clash(&later, &earlier, &num, &many[i], &many[i - 1], 1);
    for (size_t i = 0; i < n1 && nm > 0; i++) {
        size_t bl, lo = 0, hi = nm;
        uint32_t k;
        const char *nm1 = one[i].a->name;
        if (!split_suffix(nm1, &bl, &k))
            continue;
        /* The first expanded entry whose base is >= the prefix. */
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            const char *b = many[mid].a->name;
            int cmp = strncmp(b, nm1, bl);
            if (cmp == 0 && b[bl] != '\0')
                cmp = 1;
            if (cmp < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo < nm && strlen(many[lo].a->name) == bl && strncmp(many[lo].a->name, nm1, bl) == 0 &&
            k <= many[lo].a->count)
            note_clash(&later, &earlier, &num, &one[i], &many[lo], k);
    }
    if (later != NULL)
        rc = clash_error(p, later, earlier, num);
    free(one);
    free(many);
    return rc;
}

/* model.c: the figures analytics answers from (see model.h).
 *
 * The facts of each kind sit in an array of pointers sorted by id: a lookup
 * is a binary search, a new aggregate a memmove of pointers (the Compact has
 * tens of entities and groups and thousands of projects; a hash table would
 * buy little and lose the order answers are given in).
 */
#include "model.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every facts struct starts with its id (char[FACTS_KEY_SIZE]), which is
 * what the sorted_ids array sorts on. */
typedef struct sorted_ids {
    void **v;
    size_t n, cap;
} sorted_ids;

/* A filtered view. Its filter is year, group_id and pillar (view_filter):
 * no pointer into itself, so views may be moved. */
typedef struct view {
    int year, pillar;
    char group_id[FACTS_KEY_SIZE];
    figures fig;
    uint64_t last_asked;
} view;

struct model {
    rates rates;
    sorted_ids entities, groups, projects;
    figures all;
    int all_broken; /* an addition failed: recompute before the next answer */
    view views[MODEL_VIEWS_MAX];
    size_t n_views;
    uint64_t asked; /* a clock for choosing the least recently asked view */
    uint64_t version;
};

/* ---- the sorted_ids ------------------------------------------------------------------ */

/* The position of `id` in `ix`, or where it would go (and *found 0). */
static size_t index_find(const sorted_ids *ix, const char *id, int *found)
{
    size_t lo = 0, hi = ix->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp((const char *)ix->v[mid], id);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = 0;
    return lo;
}

static void *index_get(const sorted_ids *ix, const char *id)
{
    int found;
    size_t at = index_find(ix, id, &found);

    return found ? ix->v[at] : NULL;
}

/* Room for one more pointer. 0 or -ENOMEM. */
static int index_reserve(sorted_ids *ix)
{
    void **grown;
    size_t cap;

    if (ix->n < ix->cap)
        return 0;
    cap = ix->cap ? 2 * ix->cap : 64;
    if ((grown = realloc(ix->v, cap * sizeof *grown)) == NULL)
        return -ENOMEM;
    ix->v = grown;
    ix->cap = cap;
    return 0;
}

/* Inserts `item` at `at` (room reserved). */
static void index_insert(sorted_ids *ix, size_t at, void *item)
{
    memmove(&ix->v[at + 1], &ix->v[at], (ix->n - at) * sizeof *ix->v);
    ix->v[at] = item;
    ix->n++;
}

/* ---- life ------------------------------------------------------------------------ */

int model_new(model **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? 0 : -ENOMEM;
}

int model_new_like(const model *m, model **out)
{
    int rc = model_new(out);

    for (size_t i = 0; rc == 0 && i < m->rates.n; i++) {
        const rate *r = &m->rates.v[i];
        rc = rates_put(&(*out)->rates, r->currency, r->valid_from, r->usd_micros);
    }
    if (rc != 0) {
        model_free(*out);
        *out = NULL;
    }
    return rc;
}

static void views_clear(model *m)
{
    for (size_t i = 0; i < m->n_views; i++)
        figures_clear(&m->views[i].fig);
    m->n_views = 0;
}

void model_free(model *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->entities.n; i++)
        free(m->entities.v[i]);
    for (size_t i = 0; i < m->groups.n; i++) {
        group_facts_clear(m->groups.v[i]);
        free(m->groups.v[i]);
    }
    for (size_t i = 0; i < m->projects.n; i++) {
        project_facts_clear(m->projects.v[i]);
        free(m->projects.v[i]);
    }
    free(m->entities.v);
    free(m->groups.v);
    free(m->projects.v);
    figures_clear(&m->all);
    views_clear(m);
    rates_clear(&m->rates);
    free(m);
}

/* ---- entities and groups ------------------------------------------------------------- */

/* 1 if a state at `seq` replaces what is held at `held` (see model.h). */
static int newer(uint64_t seq, uint64_t held)
{
    return seq == 0 || seq > held;
}

int model_put_entity(model *m, const Compact__Membership__V1__Entity *e, uint64_t seq)
{
    int found;
    size_t at = index_find(&m->entities, e->id, &found);
    entity_facts *f = found ? m->entities.v[at] : NULL;
    uint64_t held = f ? f->seq : 0;

    if (f && !newer(seq, held))
        return 0;
    if (f == NULL) {
        if (index_reserve(&m->entities) != 0 || (f = malloc(sizeof *f)) == NULL)
            return -ENOMEM;
        index_insert(&m->entities, at, f);
    }
    entity_facts_of(e, f);
    f->seq = seq ? seq : held;
    m->version++;
    return 1;
}

int model_put_group(model *m, const Compact__Workgroups__V1__WorkingGroup *g, uint64_t seq)
{
    int found;
    size_t at = index_find(&m->groups, g->id, &found);
    group_facts *f = found ? m->groups.v[at] : NULL, fresh;
    uint64_t held = f ? f->seq : 0;

    if (f && !newer(seq, held))
        return 0;
    if (group_facts_of(g, &fresh) != 0)
        return -ENOMEM;
    if (f == NULL) {
        if (index_reserve(&m->groups) != 0 || (f = calloc(1, sizeof *f)) == NULL) {
            group_facts_clear(&fresh);
            return -ENOMEM;
        }
        index_insert(&m->groups, at, f);
    }
    group_facts_clear(f);
    *f = fresh;
    f->seq = seq ? seq : held;
    m->version++;
    return 1;
}

/* ---- projects and the figures ---------------------------------------------------------- */

static const facts_filter no_filter;

static facts_filter view_filter(const view *v)
{
    return (facts_filter){.year = v->year, .group_id = v->group_id, .pillar = v->pillar};
}

/* A change of one project: `before` (may be NULL) replaced by `after` (may
 * be NULL), or, with `delta`, what transactions added in place brought to
 * `after`. */
typedef struct project_change {
    const project_facts *before, *after;
    const facts_delta *delta;
} project_change;

static int change_figures(figures *fig, const project_change *c, const facts_filter *f)
{
    return c->delta ? figures_add_delta(fig, c->after, c->delta, f)
                    : figures_replace_project(fig, c->before, c->after, f);
}

/* The change in the standing figures and every view. A failed change leaves
 * the figures to be recomputed (model_figures). */
static void figures_change(model *m, const project_change *c)
{
    if (!m->all_broken && change_figures(&m->all, c, &no_filter) != 0)
        m->all_broken = 1;
    for (size_t i = 0; i < m->n_views; i++) {
        view *v = &m->views[i];
        facts_filter f = view_filter(v);
        if (change_figures(&v->fig, c, &f) != 0) {
            /* Drop the view; it is made again when next asked for. */
            figures_clear(&v->fig);
            m->views[i--] = m->views[--m->n_views];
        }
    }
}

/* Puts `fresh` (made for `seq`) in the place of the project facts at `at`
 * (`found`) or new there: the figures follow. Takes `fresh`. */
static int put_project_facts(model *m, size_t at, int found, project_facts *fresh, uint64_t seq)
{
    project_facts *f = found ? m->projects.v[at] : NULL;

    if (f == NULL && index_reserve(&m->projects) != 0) {
        project_facts_clear(fresh);
        free(fresh);
        return -ENOMEM;
    }
    fresh->seq = seq ? seq : f ? f->seq : 0;
    figures_change(m, &(project_change){.before = f, .after = fresh});
    if (f) {
        project_facts_clear(f);
        free(f);
        m->projects.v[at] = fresh;
    } else {
        index_insert(&m->projects, at, fresh);
    }
    m->version++;
    return 1;
}

int model_put_project(model *m, const Compact__Projects__V1__Project *p, uint64_t seq)
{
    int found;
    size_t at = index_find(&m->projects, p->id, &found);
    project_facts *f = found ? m->projects.v[at] : NULL, *fresh;

    if (f && !newer(seq, f->seq))
        return 0;
    if ((fresh = calloc(1, sizeof *fresh)) == NULL)
        return -ENOMEM;
    if (project_facts_of(p, &m->rates, fresh) != 0) {
        free(fresh);
        return -ENOMEM;
    }
    return put_project_facts(m, at, found, fresh, seq);
}

static void free_transactions(Compact__Projects__V1__Transaction **tx, size_t n)
{
    for (size_t i = 0; tx && i < n; i++)
        compact__projects__v1__transaction__free_unpacked(tx[i], NULL);
    free(tx);
}

/* Transactions `added` (n of them) of `r`, unpacked; 0, -EINVAL or -ENOMEM. */
static int unpack_added(const project_read *r, const size_t *added, size_t n,
                        Compact__Projects__V1__Transaction ***out)
{
    int rc = (*out = calloc(n ? n : 1, sizeof **out)) ? 0 : -ENOMEM;

    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = ((*out)[i] = project_read_transaction(r, added[i])) ? 0 : -EINVAL;
    if (rc != 0) {
        free_transactions(*out, n);
        *out = NULL;
    }
    return rc;
}

/* The transactions `r` adds to `f` (n of them, at `added`), added in place
 * with the figures. 0 or a negative errno (then `f` is as it was). */
static int add_transactions(model *m, project_facts *f, const project_read *r, const size_t *added,
                            size_t n)
{
    Compact__Projects__V1__Transaction **tx;
    facts_delta delta;
    int rc = unpack_added(r, added, n, &tx);

    if (rc == 0 && (rc = project_facts_add(f, (const Compact__Projects__V1__Transaction *const *)tx,
                                           n, &m->rates, &delta)) == 0) {
        figures_change(m, &(project_change){.after = f, .delta = &delta});
        facts_delta_clear(&delta);
    }
    free_transactions(tx, n);
    return rc;
}

/* When `r` only adds transactions to `f` (or changes nothing but those
 * already there), they are added to `f` in place: 1. 0 when it changes more
 * (the state is then read whole); -EINVAL or -ENOMEM (`f` as it was). */
static int put_in_place(model *m, project_facts *f, const project_read *r, uint64_t seq)
{
    size_t *added = malloc((r->n_tx ? r->n_tx : 1) * sizeof *added), n;
    int rc = added ? 0 : -ENOMEM;

    if (rc == 0 && project_read_added(r, f, added, &n) &&
        (rc = project_facts_fit(f, r->shell)) == 1) {
        rc = n > 0 ? add_transactions(m, f, r, added, n) : 0;
        if (rc == 0 && project_facts_set_hashes(f, r->hashes, r->n_tx) != 0)
            f->hashes_known = 0; /* the next state is read whole */
        if (rc == 0) {
            f->seq = seq ? seq : f->seq;
            m->version++;
            rc = 1;
        }
    }
    free(added);
    return rc;
}

/* The facts of the whole state of `r`, with its transaction hashes: 0,
 * -EINVAL (it does not unpack) or -ENOMEM. */
static int facts_of_whole(const model *m, const project_read *r, project_facts *out)
{
    Compact__Projects__V1__Project *whole =
        r->whole ? r->whole : compact__projects__v1__project__unpack(NULL, r->len, r->data);
    int rc = whole ? project_facts_of(whole, &m->rates, out) : -EINVAL;

    if (whole != r->whole)
        compact__projects__v1__project__free_unpacked(whole, NULL);
    if (rc == 0 && (rc = project_facts_set_hashes(out, r->hashes, r->n_tx)) != 0)
        project_facts_clear(out);
    return rc;
}

int model_put_project_read(model *m, const project_read *r, uint64_t seq)
{
    int found, rc;
    size_t at = index_find(&m->projects, r->shell->id, &found);
    project_facts *f = found ? m->projects.v[at] : NULL, *fresh;

    if (f && !newer(seq, f->seq))
        return 0;
    if (f && (rc = put_in_place(m, f, r, seq)) != 0)
        return rc;
    if ((fresh = calloc(1, sizeof *fresh)) == NULL)
        return -ENOMEM;
    if ((rc = facts_of_whole(m, r, fresh)) != 0) {
        free(fresh);
        return rc;
    }
    return put_project_facts(m, at, found, fresh, seq);
}

/* Recomputes the standing figures from the facts and drops every view. */
static int figures_recompute(model *m)
{
    figures_clear(&m->all);
    views_clear(m);
    m->all_broken = 0;
    for (size_t i = 0; i < m->projects.n; i++) {
        if (figures_add_project(&m->all, m->projects.v[i], &no_filter, 1) != 0) {
            m->all_broken = 1;
            return -ENOMEM;
        }
    }
    return 0;
}

int model_put_rate(model *m, const char *currency, const char *valid_from, int64_t usd_micros)
{
    int rc = rates_put(&m->rates, currency, valid_from, usd_micros);

    for (size_t i = 0; rc == 0 && i < m->projects.n; i++)
        rc = project_facts_reconvert(m->projects.v[i], &m->rates);
    if (rc == 0) {
        rc = figures_recompute(m);
    } else { /* money at the old rates, or none: each project's next state is read whole */
        m->all_broken = 1;
        for (size_t i = 0; i < m->projects.n; i++)
            ((project_facts *)m->projects.v[i])->hashes_known = 0;
    }
    m->version++;
    return rc;
}

const rates *model_rates(const model *m)
{
    return &m->rates;
}

/* ---- reading ------------------------------------------------------------------------------ */

const entity_facts *model_entity(const model *m, const char *id)
{
    return index_get(&m->entities, id);
}

const group_facts *model_group(const model *m, const char *id)
{
    return index_get(&m->groups, id);
}

const project_facts *model_project(const model *m, const char *id)
{
    return index_get(&m->projects, id);
}

const entity_facts *const *model_entities(const model *m, size_t *n)
{
    *n = m->entities.n;
    return (const entity_facts *const *)m->entities.v;
}

const group_facts *const *model_groups(const model *m, size_t *n)
{
    *n = m->groups.n;
    return (const group_facts *const *)m->groups.v;
}

const project_facts *const *model_projects(const model *m, size_t *n)
{
    *n = m->projects.n;
    return (const project_facts *const *)m->projects.v;
}

const char *model_donor_name(const model *m, const char *key)
{
    for (size_t i = 0; i < m->projects.n; i++) {
        const project_facts *p = m->projects.v[i];
        for (size_t k = 0; k < p->n_donor_keys; k++) {
            if (p->donor_names[k][0] && strcmp(p->donor_keys[k], key) == 0)
                return p->donor_names[k];
        }
    }
    return NULL;
}

uint64_t model_version(const model *m)
{
    return m->version;
}

static int filter_is_empty(const facts_filter *f)
{
    return f == NULL ||
           (f->year == 0 && (f->group_id == NULL || !f->group_id[0]) && f->pillar == 0);
}

static int same_filter(const view *v, const facts_filter *f)
{
    const char *group = f->group_id ? f->group_id : "";

    return v->year == f->year && v->pillar == f->pillar && strcmp(v->group_id, group) == 0;
}

/* A new view of `f`, made by one pass over the projects, in place of the
 * least recently asked one when all are taken. NULL for -ENOMEM. */
static view *view_make(model *m, const facts_filter *f)
{
    view *v = &m->views[m->n_views];
    facts_filter vf;

    if (m->n_views == MODEL_VIEWS_MAX) {
        v = &m->views[0];
        for (size_t i = 1; i < m->n_views; i++) {
            if (m->views[i].last_asked < v->last_asked)
                v = &m->views[i];
        }
        figures_clear(&v->fig);
    } else {
        m->n_views++;
    }
    memset(v, 0, sizeof *v);
    snprintf(v->group_id, sizeof v->group_id, "%s", f->group_id ? f->group_id : "");
    v->year = f->year;
    v->pillar = f->pillar;
    vf = view_filter(v);
    for (size_t i = 0; i < m->projects.n; i++) {
        const project_facts *p = m->projects.v[i];
        if (facts_filter_keeps(&vf, p) && figures_add_project(&v->fig, p, &vf, 1)) {
            figures_clear(&v->fig);
            *v = m->views[--m->n_views];
            return NULL;
        }
    }
    return v;
}

const figures *model_figures(model *m, const facts_filter *f)
{
    view *v = NULL;

    if (m->all_broken && figures_recompute(m) != 0)
        return NULL;
    if (filter_is_empty(f))
        return &m->all;
    for (size_t i = 0; i < m->n_views && v == NULL; i++) {
        if (same_filter(&m->views[i], f))
            v = &m->views[i];
    }
    if (v == NULL && (v = view_make(m, f)) == NULL)
        return NULL;
    v->last_asked = ++m->asked;
    return &v->fig;
}

/* The sequences `src` holds, onto the aggregates of `dst`. */
static void carry_sequences(model *dst, const model *src)
{
    for (size_t i = 0; i < dst->entities.n; i++) {
        entity_facts *f = dst->entities.v[i];
        const entity_facts *was = model_entity(src, f->id);
        f->seq = was ? was->seq : 0;
    }
    for (size_t i = 0; i < dst->groups.n; i++) {
        group_facts *f = dst->groups.v[i];
        const group_facts *was = model_group(src, f->id);
        f->seq = was ? was->seq : 0;
    }
    for (size_t i = 0; i < dst->projects.n; i++) {
        project_facts *f = dst->projects.v[i];
        const project_facts *was = model_project(src, f->id);
        f->seq = was ? was->seq : 0;
    }
}

int model_take_over(model *dst, const model *src)
{
    rates copy = {0};
    int rc = 0;

    carry_sequences(dst, src);
    dst->version += src->version + 1;
    for (size_t i = 0; rc == 0 && i < src->rates.n; i++)
        rc = rates_put(&copy, src->rates.v[i].currency, src->rates.v[i].valid_from,
                       src->rates.v[i].usd_micros);
    if (rc != 0) {
        rates_clear(&copy);
        dst->all_broken = 1;
        return rc;
    }
    rates_clear(&dst->rates);
    dst->rates = copy;
    for (size_t i = 0; rc == 0 && i < dst->projects.n; i++)
        rc = project_facts_reconvert(dst->projects.v[i], &dst->rates);
    if (rc == 0)
        rc = figures_recompute(dst);
    else
        dst->all_broken = 1;
    return rc;
}

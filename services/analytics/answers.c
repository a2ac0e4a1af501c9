/* answers.c: analytics' replies from the model (see answers.h).
 *
 * A reply is built in an arena: every message, array and string of it comes
 * from a few large blocks freed at once, so that building a breakdown of a
 * thousand rows is a thousand bumps of a pointer, and no path can leak a
 * piece of it.
 */
#include "answers.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alerts.h"
#include "analytics_store.h"
#include "consumer.h"
#include "pbjson.h"
#include "pbtime.h"

typedef Compact__Analytics__V1__Freshness Freshness;
typedef Compact__Analytics__V1__Filter Filter;
typedef Compact__Analytics__V1__Stages Stages;
typedef Compact__Analytics__V1__Money Money;
typedef Compact__Analytics__V1__Count Count;
typedef Compact__Analytics__V1__Overview Overview;
typedef Compact__Analytics__V1__BreakdownRow BreakdownRow;
typedef Compact__Analytics__V1__FundingBreakdown FundingBreakdown;
typedef Compact__Analytics__V1__Participation Participation;
typedef Compact__Analytics__V1__EntityParticipation EntityParticipation;
typedef Compact__Analytics__V1__GroupLabel GroupLabel;
typedef Compact__Analytics__V1__ParticipationCell ParticipationCell;
typedef Compact__Analytics__V1__Coverage Coverage;
typedef Compact__Analytics__V1__CoverageCell CoverageCell;
typedef Compact__Analytics__V1__DuplicationAlerts DuplicationAlerts;
typedef Compact__Analytics__V1__DuplicationAlert DuplicationAlert;
typedef Compact__Analytics__V1__Monitoring Monitoring;
typedef Compact__Analytics__V1__IndicatorCounts IndicatorCounts;
typedef Compact__Analytics__V1__Activity Activity;
typedef Compact__Analytics__V1__ActivityMonth ActivityMonth;

#define SOURCES_QUIET_MS (3 * CONSUMER_BLOCK_MS)

/* ---- the arena (arena.h) ------------------------------------------------------ */

/* `size` zeroed bytes, or NULL (and ar->failed). */
static void *ar_alloc(arena *ar, size_t size)
{
    void *p = arena_alloc(ar, size);

    return p ? memset(p, 0, size) : NULL;
}

static void *ar_msg(arena *ar, const ProtobufCMessageDescriptor *d)
{
    void *m = ar_alloc(ar, d->sizeof_message);

    if (m)
        protobuf_c_message_init(d, m);
    return m;
}

static void *ar_array(arena *ar, size_t n, size_t size)
{
    return ar_alloc(ar, (n ? n : 1) * size);
}

/* A copy of `s`; "" (static, as protobuf-c's defaults) when it fails. */
static char *ar_str(arena *ar, const char *s)
{
    size_t len = strlen(s);
    char *p = ar_alloc(ar, len + 1);

    if (p == NULL)
        return (char *)"";
    memcpy(p, s, len + 1);
    return p;
}

/* ---- pieces ------------------------------------------------------------------------------ */

static Freshness *freshness_of(const analytics *a, arena *ar)
{
    Freshness *f = ar_msg(ar, &compact__analytics__v1__freshness__descriptor);
    int64_t now = pbtime_now_ms();

    if (f == NULL)
        return NULL;
    if (a->fresh.as_of_ms > 0 &&
        (f->as_of = ar_msg(ar, &google__protobuf__timestamp__descriptor)) != NULL) {
        f->as_of->seconds = a->fresh.as_of_ms / 1000;
        f->as_of->nanos = (int32_t)(a->fresh.as_of_ms % 1000) * 1000000;
    }
    f->event_lag_ms = a->fresh.lag_ms;
    f->sources_reachable =
        a->fresh.last_read_ms > 0 && now - a->fresh.last_read_ms < SOURCES_QUIET_MS;
    f->events_applied = (uint64_t)a->fresh.events_applied;
    return f;
}

static Filter *filter_of(const answer_question *q, arena *ar)
{
    Filter *f = ar_msg(ar, &compact__analytics__v1__filter__descriptor);

    if (f) {
        f->year = q->year;
        f->pillar = q->pillar;
        f->working_group_id = ar_str(ar, q->group_id);
    }
    return f;
}

static Stages *stages_of(arena *ar, const char *currency, const stage_sums *s)
{
    Stages *st = ar_msg(ar, &compact__analytics__v1__stages__descriptor);
    int64_t committed = s->v[STAGE_COMMITTED];

    if (st == NULL)
        return NULL;
    st->currency = ar_str(ar, currency);
    st->pledged_minor = s->v[STAGE_PLEDGED];
    st->committed_minor = committed;
    st->received_minor = s->v[STAGE_RECEIVED];
    st->disbursed_minor = s->v[STAGE_DISBURSED];
    st->spent_minor = s->v[STAGE_SPENT];
    st->catalytic_minor = s->v[STAGE_CATALYTIC];
    st->budget_minor = s->v[STAGE_BUDGET];
    st->funding_gap_minor = s->v[STAGE_BUDGET] > committed ? s->v[STAGE_BUDGET] - committed : 0;
    st->delivery_rate = committed > 0 ? (double)s->v[STAGE_SPENT] / (double)committed : 0;
    return st;
}

static Money *money_msg(arena *ar, const money_sum *m)
{
    Money *mo = ar_msg(ar, &compact__analytics__v1__money__descriptor);

    if (mo == NULL || (mo->by_currency = ar_array(ar, m->n, sizeof(Stages *))) == NULL)
        return mo;
    for (size_t i = 0; i < m->n; i++)
        mo->by_currency[mo->n_by_currency++] = stages_of(ar, m->cur[i].currency, &m->cur[i].s);
    mo->usd = stages_of(ar, "USD*", &m->usd);
    mo->usd_complete = m->unconverted == 0;
    return mo;
}

static Count *count_of(arena *ar, const char *key, const char *label, int64_t n)
{
    Count *c = ar_msg(ar, &compact__analytics__v1__count__descriptor);

    if (c) {
        c->key = ar_str(ar, key);
        c->label = ar_str(ar, label);
        c->count = n;
    }
    return c;
}

static const char *const status_labels[FACTS_STATUSES] = {
    "", "Pipeline", "Implementation", "Finalisation", "Closed", "Cancelled", "Suspended",
};

static const char *const pillar_labels[FACTS_PILLARS] = {
    "",
    "I: conditions conducive to terrorism",
    "II: preventing and combating terrorism",
    "III: States' capacity and the UN's role",
    "IV: human rights and the rule of law",
};

static facts_filter filter_from(const answer_question *q)
{
    return (facts_filter){.year = q->year, .group_id = q->group_id, .pillar = q->pillar};
}

/* Today (UTC), YYYY-MM-DD: who takes part "now" is who takes part today. */
static void today(char *day)
{
    time_t now = (time_t)(pbtime_now_ms() / 1000);
    struct tm tm;

    gmtime_r(&now, &tm);
    strftime(day, FACTS_DAY_SIZE, "%Y-%m-%d", &tm);
}

/* ---- the replies ----------------------------------------------------------------------------- */

static ProtobufCMessage *overview(analytics *a, const answer_question *q, arena *ar)
{
    facts_filter f = filter_from(q);
    const figures *fig = model_figures(a->model, &f);
    Overview *o = ar_msg(ar, &compact__analytics__v1__overview__descriptor);
    size_t n;
    const entity_facts *const *es = model_entities(a->model, &n);
    const group_facts *const *gs;
    char key[8], day[FACTS_DAY_SIZE];

    if (o == NULL || fig == NULL)
        return NULL;
    o->freshness = freshness_of(a, ar);
    o->filter = filter_of(q, ar);
    today(day);
    for (size_t i = 0; i < n; i++) {
        int role = es[i]->active ? entity_facts_role_on(es[i], day) : 0;
        if (role == 0) /* not taking part today */
            continue;
        o->entities++;
        o->members +=
            role == COMPACT__MEMBERSHIP__V1__PARTICIPATION_ROLE__PARTICIPATION_ROLE_MEMBER;
        o->observers +=
            role == COMPACT__MEMBERSHIP__V1__PARTICIPATION_ROLE__PARTICIPATION_ROLE_OBSERVER;
        o->un_entities +=
            es[i]->affiliation == COMPACT__MEMBERSHIP__V1__AFFILIATION__AFFILIATION_UN_SYSTEM;
        o->non_un_entities +=
            es[i]->affiliation == COMPACT__MEMBERSHIP__V1__AFFILIATION__AFFILIATION_NON_UN;
    }
    gs = model_groups(a->model, &n);
    for (size_t i = 0; i < n; i++)
        o->working_groups += gs[i]->open;
    o->projects = fig->projects;
    if ((o->projects_by_status = ar_array(ar, FACTS_STATUSES, sizeof(Count *))) != NULL)
        for (int s = 1; s < FACTS_STATUSES; s++) {
            snprintf(key, sizeof key, "%d", s);
            o->projects_by_status[o->n_projects_by_status++] =
                count_of(ar, key, status_labels[s], fig->by_status[s]);
        }
    o->money = money_msg(ar, &fig->money);
    o->catalytic_share =
        fig->money.usd.v[STAGE_COMMITTED] > 0
            ? (double)fig->money.usd.v[STAGE_CATALYTIC] / (double)fig->money.usd.v[STAGE_COMMITTED]
            : 0;
    return &o->base;
}

/* The label of a breakdown row's key. */
static const char *row_label(const model *m, int by, const char *key)
{
    const group_facts *g;
    const entity_facts *e;
    const char *donor;
    int pillar = atoi(key);

    switch (by) {
    case COMPACT__ANALYTICS__V1__BREAKDOWN_BY__BREAKDOWN_BY_GROUP:
        return (g = model_group(m, key)) ? g->code : key;
    case COMPACT__ANALYTICS__V1__BREAKDOWN_BY__BREAKDOWN_BY_PILLAR:
        return pillar > 0 && pillar < FACTS_PILLARS ? pillar_labels[pillar] : key;
    case COMPACT__ANALYTICS__V1__BREAKDOWN_BY__BREAKDOWN_BY_ENTITY:
    case COMPACT__ANALYTICS__V1__BREAKDOWN_BY__BREAKDOWN_BY_DONOR:
        if ((e = model_entity(m, key)) != NULL)
            return e->acronym;
        if ((donor = model_donor_name(m, key)) != NULL) /* the name in full, not the key */
            return donor;
        if (strncmp(key, "org:", 4) == 0) /* an organisation named by its IATI identifier */
            return key + 4;
        return strncmp(key, "name:", 5) == 0 ? key + 5 : key;
    default:
        return key;
    }
}

static int by_committed_usd(const void *x, const void *y)
{
    const BreakdownRow *a = *(BreakdownRow *const *)x, *b = *(BreakdownRow *const *)y;
    int64_t ca = a->money && a->money->usd ? a->money->usd->committed_minor : 0;
    int64_t cb = b->money && b->money->usd ? b->money->usd->committed_minor : 0;

    if (ca != cb)
        return ca > cb ? -1 : 1;
    return strcmp(a->key, b->key);
}

static BreakdownRow *breakdown_row(analytics *a, arena *ar, int by, const fig_row *r)
{
    BreakdownRow *row = ar_msg(ar, &compact__analytics__v1__breakdown_row__descriptor);

    if (row) {
        row->key = ar_str(ar, r->key);
        row->label = ar_str(ar, row_label(a->model, by, r->key));
        row->projects = r->projects;
        row->money = money_msg(ar, &r->money);
    }
    return row;
}

static ProtobufCMessage *funding(analytics *a, const answer_question *q, arena *ar)
{
    facts_filter f = filter_from(q);
    const figures *fig = model_figures(a->model, &f);
    FundingBreakdown *fb = ar_msg(ar, &compact__analytics__v1__funding_breakdown__descriptor);
    const fig_rows *rows = NULL;

    if (fb == NULL || fig == NULL)
        return NULL;
    fb->freshness = freshness_of(a, ar);
    fb->filter = filter_of(q, ar);
    fb->by = q->by;
    switch (q->by) {
    case COMPACT__ANALYTICS__V1__BREAKDOWN_BY__BREAKDOWN_BY_GROUP:
        rows = &fig->by_group;
        break;
    case COMPACT__ANALYTICS__V1__BREAKDOWN_BY__BREAKDOWN_BY_ENTITY:
        rows = &fig->by_entity;
        break;
    case COMPACT__ANALYTICS__V1__BREAKDOWN_BY__BREAKDOWN_BY_DONOR:
        rows = &fig->by_donor;
        break;
    case COMPACT__ANALYTICS__V1__BREAKDOWN_BY__BREAKDOWN_BY_YEAR:
        rows = &fig->by_year;
        break;
    default: /* pillars: a fixed array */
        break;
    }
    if (rows) {
        if ((fb->rows = ar_array(ar, rows->n, sizeof(BreakdownRow *))) != NULL)
            for (size_t i = 0; i < rows->n; i++)
                fb->rows[fb->n_rows++] = breakdown_row(a, ar, q->by, &rows->v[i]);
    } else if ((fb->rows = ar_array(ar, FACTS_PILLARS, sizeof(BreakdownRow *))) != NULL) {
        for (int k = 1; k < FACTS_PILLARS; k++) {
            fig_row r = fig->by_pillar[k];
            snprintf(r.key, sizeof r.key, "%d", k);
            if (r.projects)
                fb->rows[fb->n_rows++] = breakdown_row(a, ar, q->by, &r);
        }
    }
    if (!ar->failed)
        qsort(fb->rows, fb->n_rows, sizeof *fb->rows, by_committed_usd);
    return &fb->base;
}

static int by_acronym(const void *x, const void *y)
{
    const entity_facts *a = *(const entity_facts *const *)x, *b = *(const entity_facts *const *)y;
    int c = strcmp(a->acronym, b->acronym);

    return c ? c : strcmp(a->id, b->id);
}

static int by_code(const void *x, const void *y)
{
    const group_facts *a = *(const group_facts *const *)x, *b = *(const group_facts *const *)y;
    int c = strcmp(a->code, b->code);

    return c ? c : strcmp(a->id, b->id);
}

/* A copy of the model's pointers (sorted by id) in the order the reply
 * promises: entities by acronym, groups by code. NULL when the arena fails. */
static const void **sorted_copy(arena *ar, const void *const *v, size_t n,
                                int (*cmp)(const void *, const void *))
{
    const void **copy = ar_array(ar, n, sizeof *copy);

    if (copy && n) { /* v is NULL for an empty model */
        memcpy(copy, v, n * sizeof *copy);
        qsort(copy, n, sizeof *copy, cmp);
    }
    return copy;
}

static ProtobufCMessage *participation(analytics *a, const answer_question *q, arena *ar)
{
    facts_filter f = filter_from(q);
    const figures *fig = model_figures(a->model, &f);
    Participation *p = ar_msg(ar, &compact__analytics__v1__participation__descriptor);
    size_t ne, ng, cells = 0;
    const entity_facts *const *es = model_entities(a->model, &ne);
    const group_facts *const *gs = model_groups(a->model, &ng);

    if (p == NULL || fig == NULL)
        return NULL;
    es = (const entity_facts *const *)sorted_copy(ar, (const void *const *)es, ne, by_acronym);
    gs = (const group_facts *const *)sorted_copy(ar, (const void *const *)gs, ng, by_code);
    if (es == NULL || gs == NULL)
        return NULL;
    p->freshness = freshness_of(a, ar);
    p->filter = filter_of(q, ar);
    for (size_t g = 0; g < ng; g++)
        cells += gs[g]->n_members;
    p->entities = ar_array(ar, ne, sizeof(EntityParticipation *));
    p->groups = ar_array(ar, ng, sizeof(GroupLabel *));
    p->cells = ar_array(ar, cells, sizeof(ParticipationCell *));
    if (ar->failed)
        return NULL;
    for (size_t g = 0; g < ng; g++) {
        GroupLabel *l;
        if (q->group_id[0] && strcmp(gs[g]->id, q->group_id) != 0)
            continue;
        if ((l = ar_msg(ar, &compact__analytics__v1__group_label__descriptor)) == NULL)
            return NULL;
        l->id = ar_str(ar, gs[g]->id);
        l->code = ar_str(ar, gs[g]->code);
        l->title = ar_str(ar, gs[g]->title ? gs[g]->title : "");
        p->groups[p->n_groups++] = l;
        for (size_t k = 0; k < gs[g]->n_members; k++) {
            ParticipationCell *c =
                ar_msg(ar, &compact__analytics__v1__participation_cell__descriptor);
            if (c == NULL)
                return NULL;
            c->entity_id = ar_str(ar, gs[g]->members[k].entity_id);
            c->working_group_id = l->id;
            c->role = gs[g]->members[k].role;
            p->cells[p->n_cells++] = c;
        }
    }
    for (size_t i = 0; i < ne; i++) {
        EntityParticipation *e;
        const fig_row *r = fig_rows_find(&fig->by_entity, es[i]->id);
        if ((e = ar_msg(ar, &compact__analytics__v1__entity_participation__descriptor)) == NULL)
            return NULL;
        e->entity_id = ar_str(ar, es[i]->id);
        e->acronym = ar_str(ar, es[i]->acronym);
        e->projects = r ? r->projects : 0;
        for (size_t c = 0; c < p->n_cells; c++)
            e->groups += strcmp(p->cells[c]->entity_id, es[i]->id) == 0;
        p->entities[p->n_entities++] = e;
    }
    return &p->base;
}

static CoverageCell *cover_cell_msg(arena *ar, const cover_cell *c)
{
    CoverageCell *m = ar_msg(ar, &compact__analytics__v1__coverage_cell__descriptor);

    if (m) {
        m->country = ar_str(ar, c->country);
        m->pillar = c->pillar;
        m->projects = c->projects;
        m->committed_usd_minor = c->committed_usd;
    }
    return m;
}

static ProtobufCMessage *coverage(analytics *a, const answer_question *q, arena *ar)
{
    facts_filter f = filter_from(q);
    const figures *fig = model_figures(a->model, &f);
    Coverage *c = ar_msg(ar, &compact__analytics__v1__coverage__descriptor);

    if (c == NULL || fig == NULL)
        return NULL;
    c->freshness = freshness_of(a, ar);
    c->filter = filter_of(q, ar);
    c->cells = ar_array(ar, fig->n_cover, sizeof(CoverageCell *));
    c->global = ar_array(ar, fig->n_cover, sizeof(CoverageCell *));
    if (ar->failed)
        return NULL;
    for (size_t i = 0; i < fig->n_cover; i++) {
        if (fig->cover[i].country[0])
            c->cells[c->n_cells++] = cover_cell_msg(ar, &fig->cover[i]);
        else
            c->global[c->n_global++] = cover_cell_msg(ar, &fig->cover[i]);
    }
    return &c->base;
}

static ProtobufCMessage *duplication_alerts(analytics *a, const answer_question *q, arena *ar)
{
    facts_filter f = filter_from(q);
    DuplicationAlerts *d = ar_msg(ar, &compact__analytics__v1__duplication_alerts__descriptor);
    DuplicationAlert *const *all;
    size_t n;

    if (d == NULL || alerts_list(a->alerts, &all, &n) != 0)
        return NULL;
    d->freshness = freshness_of(a, ar);
    d->filter = filter_of(q, ar);
    if ((d->alerts = ar_array(ar, (size_t)q->limit, sizeof(DuplicationAlert *))) == NULL)
        return NULL;
    for (size_t i = 0; i < n && d->n_alerts < (size_t)q->limit; i++) {
        const project_facts *p = model_project(a->model, all[i]->project_id);
        const project_facts *o = model_project(a->model, all[i]->other_project_id);
        DuplicationAlert *copy;
        if (p == NULL || o == NULL || (!facts_filter_keeps(&f, p) && !facts_filter_keeps(&f, o)))
            continue;
        if ((copy = ar_alloc(ar, sizeof *copy)) == NULL)
            return NULL;
        *copy = *all[i]; /* the strings stay the alert list's, valid while we answer */
        copy->project_title = ar_str(ar, p->title ? p->title : "");
        copy->other_project_title = ar_str(ar, o->title ? o->title : "");
        d->alerts[d->n_alerts++] = copy;
    }
    return &d->base;
}

static IndicatorCounts *indicators(arena *ar, const char *key, const char *label, int64_t on,
                                   int64_t off, int64_t none)
{
    IndicatorCounts *c = ar_msg(ar, &compact__analytics__v1__indicator_counts__descriptor);

    if (c) {
        c->key = ar_str(ar, key);
        c->label = ar_str(ar, label);
        c->on_track = on;
        c->off_track = off;
        c->no_data = none;
    }
    return c;
}

static int off_track_first(const void *x, const void *y)
{
    const IndicatorCounts *a = *(IndicatorCounts *const *)x, *b = *(IndicatorCounts *const *)y;

    if (a->off_track != b->off_track)
        return a->off_track > b->off_track ? -1 : 1;
    if (a->no_data != b->no_data)
        return a->no_data > b->no_data ? -1 : 1;
    return strcmp(a->label, b->label);
}

static ProtobufCMessage *monitoring(analytics *a, const answer_question *q, arena *ar)
{
    facts_filter f = filter_from(q);
    const figures *fig = model_figures(a->model, &f);
    Monitoring *m = ar_msg(ar, &compact__analytics__v1__monitoring__descriptor);
    size_t np, kept = 0;
    const project_facts *const *ps = model_projects(a->model, &np);
    IndicatorCounts **all;

    if (m == NULL || fig == NULL)
        return NULL;
    m->freshness = freshness_of(a, ar);
    m->filter = filter_of(q, ar);
    m->total = indicators(ar, "", "All", fig->on_track, fig->off_track, fig->no_data);
    if ((m->by_group = ar_array(ar, fig->by_group.n, sizeof(IndicatorCounts *))) == NULL)
        return NULL;
    for (size_t i = 0; i < fig->by_group.n; i++) {
        const fig_row *r = &fig->by_group.v[i];
        m->by_group[m->n_by_group++] = indicators(
            ar, r->key,
            row_label(a->model, COMPACT__ANALYTICS__V1__BREAKDOWN_BY__BREAKDOWN_BY_GROUP, r->key),
            r->on_track, r->off_track, r->no_data);
    }
    if ((all = ar_array(ar, np, sizeof(IndicatorCounts *))) == NULL)
        return NULL;
    for (size_t i = 0; i < np; i++) {
        const project_facts *p = ps[i];
        if (p->on_track + p->off_track + p->no_data > 0 && facts_filter_keeps(&f, p))
            all[kept++] = indicators(ar, p->id, p->title ? p->title : "", p->on_track, p->off_track,
                                     p->no_data);
    }
    if (ar->failed)
        return NULL;
    qsort(all, kept, sizeof *all, off_track_first);
    m->by_project = all;
    m->n_by_project = kept < ANSWERS_PROJECTS_MAX ? kept : ANSWERS_PROJECTS_MAX;
    return &m->base;
}

/* Activity: every month of the window, oldest first. */
typedef struct month_window {
    arena *ar;
    Activity *act;
    char first[16];
} month_window;

static ActivityMonth *month_msg(month_window *ms, const char *month)
{
    for (size_t i = 0; i < ms->act->n_months; i++)
        if (strcmp(ms->act->months[i]->month, month) == 0)
            return ms->act->months[i];
    return NULL;
}

static void add_activity(void *arg, const char *month, const char *kind, int64_t n)
{
    month_window *ms = arg;
    ActivityMonth *m = month_msg(ms, month);
    Count **grown;

    if (m == NULL) /* later than now: a source's clock ahead of ours */
        return;
    if ((grown = ar_array(ms->ar, m->n_by_kind + 1, sizeof(Count *))) == NULL)
        return;
    if (m->n_by_kind) /* by_kind is NULL until then: memcpy from NULL is undefined */
        memcpy(grown, m->by_kind, m->n_by_kind * sizeof *grown);
    grown[m->n_by_kind] = count_of(ms->ar, kind, kind, n);
    m->by_kind = grown;
    m->n_by_kind++;
}

static ProtobufCMessage *activity(analytics *a, const answer_question *q, arena *ar)
{
    Activity *act = ar_msg(ar, &compact__analytics__v1__activity__descriptor);
    time_t now = (time_t)(pbtime_now_ms() / 1000);
    struct tm tm;
    month_window ms = {.ar = ar, .act = act};
    int year, month;

    if (act == NULL ||
        (act->months = ar_array(ar, (size_t)q->months, sizeof(ActivityMonth *))) == NULL)
        return NULL;
    act->freshness = freshness_of(a, ar);
    gmtime_r(&now, &tm);
    year = tm.tm_year + 1900;
    month = tm.tm_mon + 1 - (q->months - 1); /* may be <= 0: normalized below */
    while (month <= 0) {
        month += 12;
        year--;
    }
    for (int i = 0; i < q->months; i++) {
        ActivityMonth *m = ar_msg(ar, &compact__analytics__v1__activity_month__descriptor);
        char text[16];
        if (m == NULL)
            return NULL;
        snprintf(text, sizeof text, "%04d-%02d", year, month);
        m->month = ar_str(ar, text);
        act->months[act->n_months++] = m;
        if (++month == 13) {
            month = 1;
            year++;
        }
    }
    snprintf(ms.first, sizeof ms.first, "%s", act->months[0]->month);
    if (analytics_store_each_activity(service_store(a->svc), ms.first, add_activity, &ms) != 0)
        return NULL;
    return &act->base;
}

/* ---- building, and the cache --------------------------------------------------------------- */

typedef struct cached {
    answer_question q;
    answer_format format;
    uint64_t version, alerts_version, activity_version;
    int64_t day; /* days since 1970 (UTC): "taking part now" changes at midnight */
    int reachable;
    void *data;
    size_t len;
    uint64_t used;
} cached;

struct answers {
    analytics *a;
    cached slots[ANSWERS_CACHED];
    uint64_t clock;
};

int answers_new(analytics *a, answers **out)
{
    if ((*out = calloc(1, sizeof **out)) == NULL)
        return -ENOMEM;
    (*out)->a = a;
    return 0;
}

void answers_free(answers *as)
{
    if (as == NULL)
        return;
    for (size_t i = 0; i < ANSWERS_CACHED; i++)
        free(as->slots[i].data);
    free(as);
}

int answers_build(answers *as, const answer_question *q, arena **out, ProtobufCMessage **msg)
{
    static ProtobufCMessage *(*const build[])(analytics *, const answer_question *, arena *) = {
        [ANSWER_OVERVIEW] = overview,           [ANSWER_FUNDING] = funding,
        [ANSWER_PARTICIPATION] = participation, [ANSWER_COVERAGE] = coverage,
        [ANSWER_ALERTS] = duplication_alerts,   [ANSWER_MONITORING] = monitoring,
        [ANSWER_ACTIVITY] = activity,
    };
    arena *ar = arena_new(ARENA_ANSWER_BLOCK);
    ProtobufCMessage *m;

    if (ar == NULL)
        return -ENOMEM;
    m = build[q->kind](as->a, q, ar);
    if (m == NULL || ar->failed) {
        /* Alerts and activity read the store; the rest only memory. */
        int rc = !ar->failed && (q->kind == ANSWER_ALERTS || q->kind == ANSWER_ACTIVITY) ? -EIO
                                                                                         : -ENOMEM;
        arena_free(ar);
        return rc;
    }
    *out = ar;
    *msg = m;
    return 0;
}

static int same_question(const cached *c, const answer_question *q, answer_format format)
{
    return c->data && c->format == format && c->q.kind == q->kind && c->q.year == q->year &&
           c->q.pillar == q->pillar && c->q.by == q->by && c->q.limit == q->limit &&
           c->q.months == q->months && strcmp(c->q.group_id, q->group_id) == 0;
}

/* The packed or rendered form of `m`: 0 and a malloc'd *data, or -ENOMEM. */
static int encode(const ProtobufCMessage *m, answer_format format, void **data, size_t *len)
{
    if (format == ANSWER_PROTOBUF) {
        *len = protobuf_c_message_get_packed_size(m);
        if ((*data = malloc(*len ? *len : 1)) == NULL)
            return -ENOMEM;
        protobuf_c_message_pack(m, *data);
        return 0;
    }
    json_t *j = pbjson_from_message(m);
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (text == NULL)
        return -ENOMEM;
    *data = text;
    *len = strlen(text);
    return 0;
}

int answers_get(answers *as, const answer_question *q, answer_format format, const void **data,
                size_t *len)
{
    const analytics *a = as->a;
    int reachable =
        a->fresh.last_read_ms > 0 && pbtime_now_ms() - a->fresh.last_read_ms < SOURCES_QUIET_MS;
    uint64_t version = model_version(a->model);
    int64_t day = pbtime_now_ms() / 86400000;
    cached *slot = &as->slots[0];
    ProtobufCMessage *m;
    arena *ar;
    int rc;

    for (size_t i = 0; i < ANSWERS_CACHED; i++) {
        cached *c = &as->slots[i];
        if (same_question(c, q, format)) {
            /* Alerts and activity read the store: their versions count too. */
            if (c->version == version && c->alerts_version == a->alerts_version &&
                c->activity_version == a->activity_version && c->reachable == reachable &&
                c->day == day) {
                c->used = ++as->clock;
                *data = c->data;
                *len = c->len;
                return 0;
            }
            slot = c;
            break;
        }
        if (c->used < slot->used)
            slot = c;
    }
    if ((rc = answers_build(as, q, &ar, &m)) != 0)
        return rc;
    free(slot->data);
    slot->data = NULL;
    rc = encode(m, format, &slot->data, &slot->len);
    arena_free(ar);
    if (rc != 0)
        return rc;
    slot->q = *q;
    slot->format = format;
    slot->version = version;
    slot->alerts_version = a->alerts_version;
    slot->activity_version = a->activity_version;
    slot->reachable = reachable;
    slot->day = day;
    slot->used = ++as->clock;
    *data = slot->data;
    *len = slot->len;
    return 0;
}

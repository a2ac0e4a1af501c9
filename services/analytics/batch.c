/* batch.c: one read of the event streams, into the store and the figures
 * (see batch.h). */
#include "batch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "actors.h"
#include "alerts.h"
#include "analytics_store.h"
#include "arena.h"
#include "compact/events/v1/events.pb-c.h"
#include "log.h"
#include "project_read.h"

typedef Compact__Events__V1__Event Event;
typedef Compact__Membership__V1__Entity Entity;
typedef Compact__Workgroups__V1__WorkingGroup WorkingGroup;
typedef Compact__Projects__V1__Project Project;

#define MONTH_SIZE 32

/* An event that applies, decoded. */
typedef struct pending {
    Event *event;
    /* NULL for a state type analytics does not model, or once a later event
     * of the batch carries the same aggregate: each event holds the whole
     * aggregate, so only the last state of a batch is stored and applied. */
    ProtobufCMessage *state;
    project_read *project; /* a project's state, read in two parts, instead */
    int gap;
    int count_activity;
    int moves_overlaps; /* this event or a superseded one may move overlaps */
} pending;

/* The last entry id of a stream read: its position once committed. */
typedef struct read_end {
    const char *stream, *id; /* in the arena */
} read_end;

struct batch {
    pending *v;
    size_t n;
    read_end *ends;
    size_t n_ends;
    batch_counts counts;
    arena mem; /* every decoded message of the batch (arena.h) */
};

static const char *field_of(const cache_entry *e, const char *name, size_t *len)
{
    for (size_t i = 0; i < e->nfields; i++) {
        if (strcmp(e->fields[i].name, name) == 0) {
            *len = e->fields[i].len;
            return e->fields[i].value;
        }
    }
    return NULL;
}

static const ProtobufCMessageDescriptor *state_descriptor(const char *state_type)
{
    if (strcmp(state_type, "compact.membership.v1.Entity") == 0)
        return &compact__membership__v1__entity__descriptor;
    if (strcmp(state_type, "compact.workgroups.v1.WorkingGroup") == 0)
        return &compact__workgroups__v1__working_group__descriptor;
    if (strcmp(state_type, "compact.projects.v1.Project") == 0)
        return &compact__projects__v1__project__descriptor;
    return NULL;
}

/* The sequence `m` holds for aggregate (type, id), and whether it knows it. */
static uint64_t held_seq(const model *m, const char *type, const char *id, int *known)
{
    const entity_facts *e = strcmp(type, "entity") == 0 ? model_entity(m, id) : NULL;
    const group_facts *g = strcmp(type, "working_group") == 0 ? model_group(m, id) : NULL;
    const project_facts *p = strcmp(type, "project") == 0 ? model_project(m, id) : NULL;

    *known = e || g || p;
    return e ? e->seq : g ? g->seq : p ? p->seq : 0;
}

/* 1 if the project event may change what projects' FindOverlaps scores
 * (text, groups, partners, countries, dates, pillars, themes:
 * docs/OVERLAPS.md). Money and indicator values are not scored: asking
 * again after each of them cost projects a search over every project per
 * transaction (bench/RESULTS.md, "Analytics"). */
static int may_move_overlaps(const Event *ev)
{
    return strcmp(ev->type, "project.transaction_recorded") != 0 &&
           strcmp(ev->type, "project.indicator_reported") != 0;
}

/* The state of a project event read in two parts (project_read.h), or NULL
 * when it does not decode. What unpacking it would check is checked here,
 * before it is stored: the project without its transactions, unpacked; the
 * transactions it adds to those held, by a walk (the others are those held,
 * checked when they came); the whole, unpacked, when its transactions are
 * not those held with others added. */
static project_read *read_project(batch *bt, const model *m, const Event *ev)
{
    ProtobufCAllocator *mem = arena_allocator(&bt->mem);
    project_read *r = arena_alloc(&bt->mem, sizeof *r);
    size_t *added, n;
    int adds;

    if (r == NULL || project_read_of(ev->state.data, ev->state.len, mem, r) != 0 ||
        (added = arena_alloc(&bt->mem, (r->n_tx ? r->n_tx : 1) * sizeof *added)) == NULL)
        return NULL;
    adds = project_read_added(r, model_project(m, r->shell->id), added, &n);
    for (size_t i = 0; adds && i < n; i++)
        adds = project_read_transaction_ok(r, added[i]);
    if (!adds && (r->whole = compact__projects__v1__project__unpack(mem, r->len, r->data)) == NULL)
        return NULL;
    return r;
}

static int has_state(const pending *p)
{
    return p->state != NULL || p->project != NULL;
}

/* The latest event of the same aggregate earlier in this batch, or NULL. */
static pending *earlier_of(const batch *bt, const Event *ev)
{
    for (size_t i = bt->n; i-- > 0;) {
        const Event *x = bt->v[i].event;
        if (strcmp(x->aggregate_id, ev->aggregate_id) == 0 &&
            strcmp(x->aggregate_type, ev->aggregate_type) == 0)
            return &bt->v[i];
    }
    return NULL;
}

/* Decides entry `e` (see batch.h); an event that applies joins the batch. */
static int decide(batch *bt, const model *m, const cache_entry *e)
{
    size_t len;
    const char *packed = field_of(e, "event", &len);
    ProtobufCAllocator *mem = arena_allocator(&bt->mem);
    Event *ev =
        packed ? compact__events__v1__event__unpack(mem, len, (const uint8_t *)packed) : NULL;
    const ProtobufCMessageDescriptor *d;
    pending *earlier;
    uint64_t held, seq;
    int known;
    pending *p;

    if (ev == NULL || !ev->aggregate_id[0] || ev->aggregate_sequence == 0) {
        log_fmt(LOG_LEVEL_WARN, "event %s cannot be read: skipped", e->id);
        bt->counts.unreadable++;
        return 0;
    }
    seq = ev->aggregate_sequence;
    earlier = earlier_of(bt, ev);
    held = earlier ? earlier->event->aggregate_sequence
                   : held_seq(m, ev->aggregate_type, ev->aggregate_id, &known);
    known = earlier || known;
    if (known && held != 0 && seq <= held) {
        bt->counts.duplicates++;
        return 0;
    }
    d = state_descriptor(ev->state_type);
    p = &bt->v[bt->n++];
    *p = (pending){.event = ev, .count_activity = !(known && held == 0 && seq == 1)};
    /* Gaps only of what analytics models: other aggregates' sequences (a
     * notice's, say) are not kept. */
    p->gap = d != NULL && (known ? held != 0 && seq > held + 1 : seq > 1);
    bt->counts.gaps += p->gap;
    if (d == &compact__projects__v1__project__descriptor)
        p->project = read_project(bt, m, ev);
    else if (d)
        p->state = protobuf_c_message_unpack(d, mem, ev->state.len, ev->state.data);
    if (d && !has_state(p))
        log_fmt(LOG_LEVEL_WARN, "event %s: its %s does not decode", e->id, ev->state_type);
    p->moves_overlaps = may_move_overlaps(ev);
    if (earlier && has_state(earlier) && has_state(p)) { /* superseded (see pending) */
        p->moves_overlaps |= earlier->moves_overlaps;
        earlier->state = NULL; /* its memory goes with the arena */
        earlier->project = NULL;
    }
    return 0;
}

int batch_decode(const model *m, const cache_stream_batch *b, size_t nb, batch **out)
{
    size_t total = 0;
    batch *bt = calloc(1, sizeof *bt);

    for (size_t i = 0; i < nb; i++)
        total += b[i].n;
    if (bt == NULL || (bt->v = calloc(total ? total : 1, sizeof *bt->v)) == NULL) {
        free(bt);
        return -ENOMEM;
    }
    arena_init(&bt->mem, ARENA_BATCH_BLOCK);
    if ((bt->ends = arena_alloc(&bt->mem, (nb ? nb : 1) * sizeof *bt->ends)) == NULL) {
        batch_free(bt);
        return -ENOMEM;
    }
    for (size_t i = 0; i < nb; i++) {
        read_end *e = &bt->ends[bt->n_ends];
        if (b[i].n == 0)
            continue;
        e->stream = arena_strdup(&bt->mem, b[i].stream);
        e->id = arena_strdup(&bt->mem, b[i].entries[b[i].n - 1].id);
        if (e->stream == NULL || e->id == NULL) {
            batch_free(bt);
            return -ENOMEM;
        }
        bt->n_ends++;
    }
    for (size_t i = 0; i < nb; i++)
        for (size_t k = 0; k < b[i].n; k++)
            decide(bt, m, &b[i].entries[k]);
    bt->counts.events = bt->n;
    *out = bt;
    return 0;
}

void batch_free(batch *bt)
{
    if (bt == NULL)
        return;
    arena_clear(&bt->mem);
    free(bt->v);
    free(bt);
}

/* ---- the store ---------------------------------------------------------------------- */

static int64_t event_ms(const Event *ev)
{
    return ev->occur_time ? ev->occur_time->seconds * 1000 + ev->occur_time->nanos / 1000000 : 0;
}

/* "YYYY-MM" of `ms` (UTC) into month[MONTH_SIZE]. */
static void month_of(int64_t ms, char *month)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    gmtime_r(&t, &tm);
    snprintf(month, MONTH_SIZE, "%04d-%02d", tm.tm_year + 1900, tm.tm_mon + 1);
}

/* What a batch adds to a counter table, per key: the events of a batch are
 * counted with one row write per key (an actor; a month and kind), not one
 * per event. A batch has few keys (the actors and months of a burst): a
 * list. The key's strings point into the batch's events. */
typedef struct tally {
    const char *a, *b;
    char month[MONTH_SIZE]; /* "" for an actor's */
    int64_t n, last_ms;
} tally;

typedef struct tallies {
    tally *v; /* room for every event of the batch */
    size_t n;
} tallies;

static void tally_add(tallies *t, const char *a, const char *month, const char *b, int64_t ms)
{
    size_t i = 0;

    while (i < t->n && (strcmp(t->v[i].a, a) != 0 || strcmp(t->v[i].b, b) != 0 ||
                        strcmp(t->v[i].month, month) != 0))
        i++;
    if (i == t->n) {
        t->v[t->n] = (tally){.a = a, .b = b};
        snprintf(t->v[t->n++].month, MONTH_SIZE, "%s", month);
    }
    t->v[i].n++;
    if (ms > t->v[i].last_ms)
        t->v[i].last_ms = ms;
}

/* The batch's changes per actor and activity per month into the store. */
static int store_counts(store *st, const batch *bt)
{
    tallies actors = {calloc(bt->n ? bt->n : 1, sizeof(tally)), 0};
    tallies months = {calloc(bt->n ? bt->n : 1, sizeof(tally)), 0};
    int rc = actors.v && months.v ? 0 : -ENOMEM;
    char month[MONTH_SIZE];

    for (size_t i = 0; rc == 0 && i < bt->n; i++) {
        const Event *ev = bt->v[i].event;
        const Compact__Events__V1__Actor *who = ev->actor;
        tally_add(&actors, who ? who->subject : "", "", who ? who->role : "", event_ms(ev));
        if (bt->v[i].count_activity) {
            month_of(event_ms(ev), month);
            tally_add(&months, "", month, ev->type, 0);
        }
    }
    for (size_t i = 0; rc == 0 && i < actors.n; i++)
        rc = actors_count(st, actors.v[i].a, actors.v[i].b, actors.v[i].n, actors.v[i].last_ms);
    for (size_t i = 0; rc == 0 && i < months.n; i++)
        rc = analytics_store_count_activity(st, months.v[i].month, months.v[i].b, months.v[i].n);
    free(actors.v);
    free(months.v);
    return rc;
}

int batch_commit(store *st, const batch *bt, int64_t applied_before)
{
    int rc = store_begin(st);

    for (size_t i = 0; rc == 0 && i < bt->n; i++) {
        const Event *ev = bt->v[i].event;
        if (has_state(&bt->v[i])) /* the last state of its aggregate in the batch */
            rc =
                analytics_store_put_snapshot(st, ev->aggregate_type, ev->aggregate_id,
                                             ev->aggregate_sequence, ev->state.data, ev->state.len);
    }
    if (rc == 0)
        rc = store_counts(st, bt);
    for (size_t i = 0; rc == 0 && i < bt->n_ends; i++)
        rc = analytics_store_set_position(st, bt->ends[i].stream, bt->ends[i].id);
    if (rc == 0 && bt->n > 0)
        rc = analytics_store_set_meta(st, "events_applied", applied_before + (int64_t)bt->n);
    if (rc == 0 && bt->n > 0)
        rc = analytics_store_set_meta(st, "last_event_ms", batch_last_ms(bt));
    if (rc == 0)
        return store_commit(st);
    store_rollback(st);
    return rc;
}

/* ---- the figures ------------------------------------------------------------------------ */

static void apply_one(analytics *a, const pending *p)
{
    uint64_t seq = p->event->aggregate_sequence;
    int rc;

    if (!has_state(p))
        return;
    if (p->project) {
        rc = model_put_project_read(a->model, p->project, seq);
        if (rc == 1 && p->moves_overlaps)
            alerts_project_changed(a->alerts, p->event->aggregate_id);
    } else if (p->state->descriptor == &compact__membership__v1__entity__descriptor)
        rc = model_put_entity(a->model, (const Entity *)p->state, seq);
    else if (p->state->descriptor == &compact__workgroups__v1__working_group__descriptor)
        rc = model_put_group(a->model, (const WorkingGroup *)p->state, seq);
    else
        return;
    if (rc == -EINVAL) /* checked when decoded: only a model changed since comes here */
        log_fmt(LOG_LEVEL_ERROR, "event %s: its state does not decode", p->event->event_id);
    else if (rc < 0) /* the store has it: the next start loads it */
        log_fmt(LOG_LEVEL_ERROR, "event %s: out of memory applying it", p->event->event_id);
}

void batch_apply(analytics *a, const batch *bt, batch_gap_fn gap, void *arg)
{
    for (size_t i = 0; i < bt->n; i++) {
        const Event *ev = bt->v[i].event;
        apply_one(a, &bt->v[i]);
        /* Events of aggregates the model does not hold (a notice) change
         * the activity alone: its cached answers must see that too. */
        if (bt->v[i].count_activity)
            a->activity_version++;
        if (bt->v[i].gap)
            gap(arg, ev->aggregate_type, ev->aggregate_id, ev->aggregate_sequence);
    }
}

size_t batch_size(const batch *bt)
{
    return bt->n;
}

int64_t batch_last_ms(const batch *bt)
{
    return bt->n ? event_ms(bt->v[bt->n - 1].event) : 0;
}

batch_counts batch_get_counts(const batch *bt)
{
    return bt->counts;
}

/* test_model.c: the analytics model (model.h) and the figures it keeps
 * (facts.h), by property: figures kept change by change must be the figures
 * a fresh model computes from the final states alone.
 *
 * The property test generates a world of entities, working groups and a few
 * hundred projects (groups, pillars, countries or global scope, participants
 * in every role, transactions of every IATI type in USD, EUR, GBP and CHF,
 * which never gets a rate, catalytic flags, providers by entity or by name,
 * negative corrections and full reversals, budgets, indicators in every
 * state, dates over several years), and applies a random sequence of puts:
 * new aggregates, updates with growing sequence numbers (gaps included),
 * duplicates at old sequences carrying a different state (which must be
 * ignored), sequence-0 puts (which always apply and keep the sequence held)
 * and, in its first part, rate changes. Some filtered views are asked for
 * early, so that the model keeps them change by change; others only at the
 * end. At checkpoints and at the end every field of `figures` (counts, by
 * status, money per currency and in USD with the unconverted count, every
 * row of by_group, by_entity, by_donor and by_year, by_pillar, the coverage
 * cells, the indicator counts) of the standing figures and of each view is
 * compared with a fresh model given only the final states, and with sums
 * computed here from the states themselves, with nothing of facts.c (a
 * fresh model shares facts.c's mistakes; the plain sums do not). Most puts
 * of a project go the way events do (project_read.h): a state that adds
 * transactions (anywhere in the list, one or two at once, reversals among
 * them) adds them to the facts held in place, about 1,500 times a run; each
 * project's money, per year and per donor, and its donors' names, are
 * compared with the facts a fresh model made at once.
 *
 * Smaller tests: what a put returns and holds (sequences, version), money
 * that cancels out (a reversed transaction), an entity in two roles of one
 * project, the rates converted again by model_put_rate, model_new_like and
 * model_take_over (a rebuild), the eviction of the least recently asked
 * view beyond MODEL_VIEWS_MAX, and which transactions a state adds.
 *
 * COMPACT_TEST_SEED=<n> replays one seed; a failure prints the seed.
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "arena.h"
#include "model.h"

typedef Compact__Projects__V1__Project Project;
typedef Compact__Projects__V1__Transaction Transaction;
typedef Compact__Projects__V1__Money Money;
typedef Compact__Projects__V1__Participant Participant;
typedef Compact__Projects__V1__Result Result;
typedef Compact__Projects__V1__Indicator Indicator;
typedef Compact__Membership__V1__Entity Entity;
typedef Compact__Workgroups__V1__WorkingGroup WorkingGroup;
typedef Compact__Workgroups__V1__Leadership Leadership;
typedef Compact__Workgroups__V1__Member Member;

#define TTYPE(x) COMPACT__PROJECTS__V1__TRANSACTION_TYPE__TRANSACTION_TYPE_##x
#define PROVIDER(x) COMPACT__PROJECTS__V1__TRANSACTION__PROVIDER_PROVIDER_##x
#define ISTATE(x) COMPACT__PROJECTS__V1__INDICATOR_STATE__INDICATOR_STATE_##x

#define N_ENTITIES 20
#define N_GROUPS 8
#define N_PROJECTS 150 /* per run; five runs */
#define N_OPS 2400
#define RATE_OPS 600 /* rate changes only among the first ops */
#define CHECK_EVERY 400

/* ---- a reproducible generator ------------------------------------------------------------ */

static uint64_t rng;
static uint64_t seed_of_run;
static char where[320]; /* what was being checked, for failure messages */

static uint64_t rnd(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545f4914f6cdd1dull;
}

static int pick(int n)
{
    return (int)(rnd() % (uint64_t)n);
}

static int chance(int percent)
{
    return pick(100) < percent;
}

static char *xstrdup(const char *s)
{
    char *c = strdup(s);

    assert_non_null(c);
    return c;
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);

    assert_non_null(p);
    return p;
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));

static char *fmt(const char *f, ...)
{
    char buf[256];
    va_list ap;

    va_start(ap, f);
    vsnprintf(buf, sizeof buf, f, ap);
    va_end(ap);
    return xstrdup(buf);
}

static const char *const currencies[] = {"USD", "EUR", "GBP", "CHF"}; /* CHF: never a rate */
static const char *const countries[] = {"KE", "NG", "ML", "IQ", "PH", "ID", "TN", "SO"};
static const char *const donor_names[] = {
    "European Union",
    "Government of Japan",
    "A|B Foundation", /* a bar in a name: keys are "<donor>|<year>" */
    "The Very Long Name of a Donor Foundation for Peace and Security Worldwide",
    "The Very Long Name of a Donor Foundation for Peace and Security, Europe",
};

static const char *const org_spellings[] = {
    "European Commission, Service for Foreign Policy Instruments", "European Commission (FPI)",
    "EC FPI"};

static char *random_date(int year)
{
    return fmt("%04d-%02d-%02d", year, 1 + pick(12), 1 + pick(28));
}

/* ---- messages built with malloc, freed as unpacked ones -------------------------------- */

static Money *money_new(const char *currency, int64_t amount)
{
    Money *m = xcalloc(1, sizeof *m);

    compact__projects__v1__money__init(m);
    m->currency = xstrdup(currency);
    m->amount_minor = amount;
    return m;
}

static int64_t random_amount(void)
{
    int64_t a;

    if (chance(2))
        a = INT64_C(100000000000000); /* the largest the projects service accepts */
    else if (chance(30))
        a = 1 + pick(1000);
    else
        a = 1 + (int64_t)(rnd() % UINT64_C(1000000000));
    return chance(15) ? -a : a; /* a correction */
}

static Transaction *transaction_new(int year)
{
    Transaction *t = xcalloc(1, sizeof *t);

    compact__projects__v1__transaction__init(t);
    t->type = (Compact__Projects__V1__TransactionType)pick(14); /* every IATI type, and 0 */
    t->date = random_date(year);
    t->value = money_new(currencies[pick(4)], random_amount());
    t->catalytic = chance(20);
    switch (pick(5)) {
    case 0:
    case 1:
        t->provider_case = PROVIDER(ENTITY_ID);
        t->provider_entity_id = fmt("ent_%02d", pick(N_ENTITIES));
        break;
    case 2:
        t->provider_case = PROVIDER(NAME);
        t->provider_name = xstrdup(donor_names[pick(5)]);
        break;
    case 3:
        /* One organisation, spelt three ways: one donor, named the same
         * whatever order its transactions came in. */
        t->provider_case = PROVIDER(ORG);
        t->provider_org = xcalloc(1, sizeof *t->provider_org);
        compact__projects__v1__organisation__init(t->provider_org);
        t->provider_org->ref = xstrdup("XI-IATI-EC_FPI");
        t->provider_org->name = xstrdup(org_spellings[pick(3)]);
        break;
    default:
        break;
    }
    return t;
}

/* The full reversal of `t`: the same transaction with the opposite amount. */
static Transaction *reversal_of(const Transaction *t)
{
    Transaction *r = xcalloc(1, sizeof *r);

    compact__projects__v1__transaction__init(r);
    r->type = t->type;
    r->date = xstrdup(t->date);
    r->value = money_new(t->value->currency, -t->value->amount_minor);
    r->catalytic = t->catalytic;
    r->provider_case = t->provider_case;
    if (t->provider_case == PROVIDER(ENTITY_ID))
        r->provider_entity_id = xstrdup(t->provider_entity_id);
    else if (t->provider_case == PROVIDER(NAME))
        r->provider_name = xstrdup(t->provider_name);
    if (t->provider_case == PROVIDER(ORG)) {
        r->provider_org = xcalloc(1, sizeof *r->provider_org);
        compact__projects__v1__organisation__init(r->provider_org);
        r->provider_org->ref = xstrdup(t->provider_org->ref);
        r->provider_org->name = xstrdup(org_spellings[pick(3)]);
    }
    return r;
}

/* `k` distinct numbers of 0..n-1, sorted. */
static int distinct(int n, int k, int *out)
{
    int used[128] = {0}, m = 0;

    for (int i = 0; i < k; i++) {
        int v = pick(n);
        while (used[v])
            v = (v + 1) % n;
        used[v] = 1;
    }
    for (int v = 0; v < n; v++) {
        if (used[v])
            out[m++] = v;
    }
    return m;
}

static Project *project_new(int index)
{
    Project *p = xcalloc(1, sizeof *p);
    int pick_out[16], n, start = 2019 + pick(7);

    compact__projects__v1__project__init(p);
    p->id = fmt("prj_%03d", index);
    p->title = fmt("Project %d, take %d", index, pick(1000));
    n = distinct(N_GROUPS, 1 + pick(3), pick_out);
    p->working_group_ids = xcalloc((size_t)n, sizeof(char *));
    for (int i = 0; i < n; i++)
        p->working_group_ids[p->n_working_group_ids++] = fmt("wg_%d", pick_out[i]);
    n = distinct(4, 1 + pick(4), pick_out);
    p->pillars = xcalloc((size_t)n, sizeof *p->pillars);
    for (int i = 0; i < n; i++)
        p->pillars[p->n_pillars++] = (Compact__Projects__V1__StrategyPillar)(pick_out[i] + 1);
    if (chance(25)) {
        p->global_scope = 1;
    } else {
        n = distinct(8, 1 + pick(3), pick_out);
        p->recipient_countries = xcalloc((size_t)n, sizeof(char *));
        for (int i = 0; i < n; i++)
            p->recipient_countries[p->n_recipient_countries++] = xstrdup(countries[pick_out[i]]);
    }
    /* participants: distinct (entity, role) pairs, roles 0..4 */
    n = distinct(N_ENTITIES * 5, 1 + pick(5), pick_out);
    p->participants = xcalloc((size_t)n, sizeof(Participant *));
    for (int i = 0; i < n; i++) {
        Participant *pt = xcalloc(1, sizeof *pt);
        compact__projects__v1__participant__init(pt);
        pt->entity_id = fmt("ent_%02d", pick_out[i] / 5);
        pt->role = (Compact__Projects__V1__OrganisationRole)(pick_out[i] % 5);
        p->participants[p->n_participants++] = pt;
    }
    p->start_date = random_date(start);
    if (!chance(20))
        p->end_date = random_date(start + pick(4));
    p->status = (Compact__Projects__V1__ActivityStatus)pick(7);
    if (chance(70))
        p->budget = money_new(currencies[pick(4)], (int64_t)(rnd() % UINT64_C(10000000000)));
    n = pick(13);
    p->transactions = xcalloc((size_t)n, sizeof(Transaction *));
    for (int i = 0; i < n; i++) {
        Transaction *t;
        if (i > 0 && chance(12))
            t = reversal_of(p->transactions[pick(i)]);
        else
            t = transaction_new(start - 1 + pick(6)); /* some outside the project's years */
        p->transactions[p->n_transactions++] = t;
    }
    n = pick(4);
    p->results = xcalloc((size_t)n, sizeof(Result *));
    for (int i = 0; i < n; i++) {
        Result *r = xcalloc(1, sizeof *r);
        int k = pick(4);
        compact__projects__v1__result__init(r);
        r->title = fmt("Result %d", i);
        r->indicators = xcalloc((size_t)k, sizeof(Indicator *));
        for (int j = 0; j < k; j++) {
            Indicator *ind = xcalloc(1, sizeof *ind);
            compact__projects__v1__indicator__init(ind);
            ind->title = fmt("Indicator %d", j);
            ind->state = (Compact__Projects__V1__IndicatorState)pick(4); /* every state */
            r->indicators[r->n_indicators++] = ind;
        }
        p->results[p->n_results++] = r;
    }
    return p;
}

static Entity *entity_new(int index)
{
    Entity *e = xcalloc(1, sizeof *e);

    compact__membership__v1__entity__init(e);
    e->id = fmt("ent_%02d", index);
    e->acronym = fmt("E%d-%d", index, pick(100));
    e->name = fmt("Entity %d", index);
    e->kind = (Compact__Membership__V1__EntityKind)pick(4);
    e->status = (Compact__Membership__V1__EntityStatus)pick(3);
    return e;
}

static WorkingGroup *group_new(int index)
{
    WorkingGroup *g = xcalloc(1, sizeof *g);
    int out[16], n;

    compact__workgroups__v1__working_group__init(g);
    g->id = fmt("wg_%d", index);
    g->code = fmt("WG%d", index);
    g->title = fmt("Working Group %d (%d)", index, pick(100));
    g->status = (Compact__Workgroups__V1__GroupStatus)pick(3);
    n = distinct(4, pick(3), out);
    g->pillars = xcalloc((size_t)n, sizeof *g->pillars);
    for (int i = 0; i < n; i++)
        g->pillars[g->n_pillars++] = (Compact__Workgroups__V1__StrategyPillar)(out[i] + 1);
    if (chance(80)) {
        Leadership *l = xcalloc(1, sizeof *l);
        compact__workgroups__v1__leadership__init(l);
        l->chair_entity_id = fmt("ent_%02d", pick(N_ENTITIES));
        n = pick(3);
        l->vice_chair_entity_ids = xcalloc((size_t)n, sizeof(char *));
        for (int i = 0; i < n; i++)
            l->vice_chair_entity_ids[l->n_vice_chair_entity_ids++] =
                fmt("ent_%02d", pick(N_ENTITIES));
        g->leadership = l;
    }
    n = distinct(N_ENTITIES, pick(5), out);
    g->members = xcalloc((size_t)n, sizeof(Member *));
    for (int i = 0; i < n; i++) {
        Member *m = xcalloc(1, sizeof *m);
        compact__workgroups__v1__member__init(m);
        m->entity_id = fmt("ent_%02d", out[i]);
        m->role = (Compact__Workgroups__V1__MemberRole)pick(3);
        g->members[g->n_members++] = m;
    }
    return g;
}

static void msg_free(void *m)
{
    if (m)
        protobuf_c_message_free_unpacked(m, NULL);
}

/* ---- what the test knows: the last state that applied, packed ---------------------------- */

typedef struct truth {
    uint8_t *packed; /* NULL: never put */
    size_t len;
    uint64_t seq;
} truth;

typedef struct world {
    truth entities[N_ENTITIES], groups[N_GROUPS], projects[N_PROJECTS];
    rates rates; /* every rate put, as the test put it */
    uint64_t applied;
} world;

static void truth_set(truth *t, const ProtobufCMessage *m)
{
    free(t->packed);
    t->len = protobuf_c_message_get_packed_size(m);
    t->packed = xcalloc(t->len, 1);
    protobuf_c_message_pack(m, t->packed);
}

static void *truth_unpack(const truth *t, const ProtobufCMessageDescriptor *d)
{
    void *m = protobuf_c_message_unpack(d, NULL, t->len, t->packed);

    assert_non_null(m);
    return m;
}

static void world_clear(world *w)
{
    for (int i = 0; i < N_ENTITIES; i++)
        free(w->entities[i].packed);
    for (int i = 0; i < N_GROUPS; i++)
        free(w->groups[i].packed);
    for (int i = 0; i < N_PROJECTS; i++)
        free(w->projects[i].packed);
    rates_clear(&w->rates);
    memset(w, 0, sizeof *w);
}

/* The sequence of the next put to `t`, and whether it must apply. */
static uint64_t next_seq(const truth *t, int *expect)
{
    int r = pick(100);

    *expect = 1;
    if (t->packed == NULL)
        return chance(10) ? 0 : 1 + (uint64_t)pick(3);
    if (r < 55)
        return t->seq + 1 + (uint64_t)pick(3); /* newer, sometimes with a gap */
    if (r < 80 && t->seq > 0) {
        *expect = 0; /* a duplicate, or older still: ignored */
        return 1 + rnd() % t->seq;
    }
    return 0; /* read from the source: always applies */
}

typedef int (*put_fn)(model *m, const void *msg, uint64_t seq);

static int put_entity(model *m, const void *msg, uint64_t seq)
{
    return model_put_entity(m, msg, seq);
}

static int put_group(model *m, const void *msg, uint64_t seq)
{
    return model_put_group(m, msg, seq);
}

/* Most puts of a project go the way events do: packed, and read in two parts
 * (project_read.h), so that a state that only adds transactions adds them to
 * the facts held, in place; the others as a rebuild puts them, unpacked, after which the
 * facts know no hashes and the next read takes the whole path. */
static int put_project(model *m, const void *msg, uint64_t seq)
{
    size_t len = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf;
    project_read r;
    arena mem;
    int rc;

    if (chance(20))
        return model_put_project(m, msg, seq);
    buf = xcalloc(len ? len : 1, 1);
    protobuf_c_message_pack(msg, buf);
    arena_init(&mem, ARENA_BATCH_BLOCK);
    assert_int_equal(project_read_of(buf, len, arena_allocator(&mem), &r), 0);
    rc = model_put_project_read(m, &r, seq);
    arena_clear(&mem);
    free(buf);
    return rc;
}

/* Puts `msg` into `m` as the next event of `t`, checks what the put says
 * and holds, and updates `t`. */
static void put_checked(model *m, world *w, truth *t, void *msg, put_fn put,
                        uint64_t (*seq_of)(const model *, const char *), const char *id)
{
    int expect;
    uint64_t seq = next_seq(t, &expect), before = model_version(m);
    int rc = put(m, msg, seq);

    snprintf(where, sizeof where, "seed %" PRIu64 ": put %s at %" PRIu64 " (held %" PRIu64 ")",
             seed_of_run, id, seq, t->seq);
    if (rc != expect)
        fail_msg("%s: returned %d, wanted %d", where, rc, expect);
    assert_int_equal(model_version(m), before + (uint64_t)expect);
    if (expect) {
        truth_set(t, msg);
        if (seq != 0)
            t->seq = seq;
        w->applied++;
    }
    if (seq_of(m, id) != t->seq)
        fail_msg("%s: holds sequence %" PRIu64 ", wanted %" PRIu64, where, seq_of(m, id), t->seq);
    msg_free(msg);
}

static uint64_t entity_seq(const model *m, const char *id)
{
    const entity_facts *f = model_entity(m, id);
    return f ? f->seq : UINT64_MAX;
}

static uint64_t group_seq(const model *m, const char *id)
{
    const group_facts *f = model_group(m, id);
    return f ? f->seq : UINT64_MAX;
}

static uint64_t project_seq(const model *m, const char *id)
{
    const project_facts *f = model_project(m, id);
    return f ? f->seq : UINT64_MAX;
}

/* The project held in `t` with its money changed and nothing else, as a
 * recorded transaction changes it: a transaction added (of a donor it may
 * not have had, in a year it may not have had money in), reversed, or
 * re-dated; the figures then move the money alone (facts.h). */
static Project *project_money_moved(const truth *t)
{
    Project *p = truth_unpack(t, &compact__projects__v1__project__descriptor);
    Transaction **grown;
    int start = atoi(p->start_date);

    if (p->n_transactions > 0 && chance(30)) {
        Transaction *x = p->transactions[pick((int)p->n_transactions)];
        free(x->date);
        x->date = random_date(start - 1 + pick(6));
        return p;
    }
    /* unpacked with the default allocator: the arrays are the system's */
    for (int k = chance(20) ? 2 : 1; k > 0; k--) {            /* two: a batch's last state */
        size_t at = (size_t)pick((int)p->n_transactions + 1); /* projects sorts them by date */
        Transaction *x = p->n_transactions > 0 && chance(25)
                             ? reversal_of(p->transactions[pick((int)p->n_transactions)])
                             : transaction_new(start - 1 + pick(6));
        grown = realloc(p->transactions, (p->n_transactions + 1) * sizeof *grown);
        assert_non_null(grown);
        p->transactions = grown;
        memmove(&grown[at + 1], &grown[at], (p->n_transactions - at) * sizeof *grown);
        grown[at] = x;
        p->n_transactions++;
    }
    if (p->budget && chance(10)) /* the budget too: the money is made again */
        p->budget->amount_minor += 100000;
    return p;
}

/* One random change to the world and the model. */
static void random_op(model *m, world *w, int rates_allowed)
{
    int r = pick(100);
    char id[32];

    if (rates_allowed && r < 3) {
        const char *cur = chance(50) ? "EUR" : "GBP";
        char *date = random_date(2017 + pick(10));
        int64_t micros = 900000 + (int64_t)pick(600000);
        uint64_t before = model_version(m);
        assert_int_equal(model_put_rate(m, cur, date, micros), 0);
        assert_int_equal(rates_put(&w->rates, cur, date, micros), 0);
        assert_true(model_version(m) > before);
        free(date);
    } else if (r < 8) {
        int i = pick(N_ENTITIES);
        snprintf(id, sizeof id, "ent_%02d", i);
        put_checked(m, w, &w->entities[i], entity_new(i), put_entity, entity_seq, id);
    } else if (r < 13) {
        int i = pick(N_GROUPS);
        snprintf(id, sizeof id, "wg_%d", i);
        put_checked(m, w, &w->groups[i], group_new(i), put_group, group_seq, id);
    } else {
        int i = pick(N_PROJECTS);
        truth *t = &w->projects[i];
        snprintf(id, sizeof id, "prj_%03d", i);
        put_checked(m, w, t, t->packed && chance(50) ? project_money_moved(t) : project_new(i),
                    put_project, project_seq, id);
    }
}

/* A model given only the world's final states (and rates), in a random order. */
static model *fresh_of(const world *w)
{
    model *f;
    int order[N_PROJECTS];

    assert_int_equal(model_new(&f), 0);
    for (size_t i = 0; i < w->rates.n; i++) {
        const rate *r = &w->rates.v[i];
        assert_int_equal(model_put_rate(f, r->currency, r->valid_from, r->usd_micros), 0);
    }
    for (int i = 0; i < N_PROJECTS; i++)
        order[i] = i;
    for (int i = N_PROJECTS - 1; i > 0; i--) {
        int j = pick(i + 1), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    for (int k = 0; k < N_PROJECTS; k++) {
        const truth *t = &w->projects[order[k]];
        Project *p;
        if (t->packed == NULL)
            continue;
        p = truth_unpack(t, &compact__projects__v1__project__descriptor);
        assert_int_equal(model_put_project(f, p, t->seq), 1);
        msg_free(p);
    }
    for (int i = 0; i < N_ENTITIES; i++) {
        Entity *e;
        if (w->entities[i].packed == NULL)
            continue;
        e = truth_unpack(&w->entities[i], &compact__membership__v1__entity__descriptor);
        assert_int_equal(model_put_entity(f, e, w->entities[i].seq), 1);
        msg_free(e);
    }
    for (int i = 0; i < N_GROUPS; i++) {
        WorkingGroup *g;
        if (w->groups[i].packed == NULL)
            continue;
        g = truth_unpack(&w->groups[i], &compact__workgroups__v1__working_group__descriptor);
        assert_int_equal(model_put_group(f, g, w->groups[i].seq), 1);
        msg_free(g);
    }
    return f;
}

/* ---- comparing figures, field by field ----------------------------------------------------- */

static const char *const stage_names[STAGES] = {"pledged", "committed", "received", "disbursed",
                                                "spent",   "catalytic", "budget"};

static void stages_equal(const stage_sums *a, const stage_sums *b, const char *what)
{
    for (int k = 0; k < STAGES; k++) {
        if (a->v[k] != b->v[k])
            fail_msg("%s: %s %s: %" PRId64 " kept, %" PRId64 " fresh", where, what, stage_names[k],
                     a->v[k], b->v[k]);
    }
}

static void money_equal(const money_sum *a, const money_sum *b, const char *what)
{
    char sub[160];

    for (size_t i = 0; i < a->n || i < b->n; i++) {
        if (i >= a->n || i >= b->n || strcmp(a->cur[i].currency, b->cur[i].currency) != 0) {
            for (size_t k = 0; k < a->n; k++)
                print_error("  kept %s %" PRId64 " %" PRId64 " %" PRId64 " %" PRId64 "\n",
                            a->cur[k].currency, a->cur[k].s.v[0], a->cur[k].s.v[1],
                            a->cur[k].s.v[2], a->cur[k].s.v[6]);
            for (size_t k = 0; k < b->n; k++)
                print_error("  fresh %s %" PRId64 " %" PRId64 " %" PRId64 " %" PRId64 "\n",
                            b->cur[k].currency, b->cur[k].s.v[0], b->cur[k].s.v[1],
                            b->cur[k].s.v[2], b->cur[k].s.v[6]);
            fail_msg("%s: %s: currency %zu is %s kept, %s fresh (%zu and %zu currencies)", where,
                     what, i, i < a->n ? a->cur[i].currency : "none",
                     i < b->n ? b->cur[i].currency : "none", a->n, b->n);
        }
        snprintf(sub, sizeof sub, "%s %s", what, a->cur[i].currency);
        stages_equal(&a->cur[i].s, &b->cur[i].s, sub);
    }
    snprintf(sub, sizeof sub, "%s USD*", what);
    stages_equal(&a->usd, &b->usd, sub);
    if (a->unconverted != b->unconverted)
        fail_msg("%s: %s unconverted: %" PRId64 " kept, %" PRId64 " fresh", where, what,
                 a->unconverted, b->unconverted);
}

static void row_equal(const fig_row *a, const fig_row *b, const char *what)
{
    char sub[160];

    snprintf(sub, sizeof sub, "%s[%s]", what, a->key);
    if (strcmp(a->key, b->key) != 0)
        fail_msg("%s: %s: key %s kept, %s fresh", where, what, a->key, b->key);
    if (a->projects != b->projects || a->on_track != b->on_track || a->off_track != b->off_track ||
        a->no_data != b->no_data)
        fail_msg("%s: %s: projects %" PRId64 "/%" PRId64 ", on track %" PRId64 "/%" PRId64
                 ", off track %" PRId64 "/%" PRId64 ", no data %" PRId64 "/%" PRId64
                 " (kept/fresh)",
                 where, sub, a->projects, b->projects, a->on_track, b->on_track, a->off_track,
                 b->off_track, a->no_data, b->no_data);
    money_equal(&a->money, &b->money, sub);
}

static void rows_equal(const fig_rows *a, const fig_rows *b, const char *what)
{
    for (size_t i = 0; i < a->n || i < b->n; i++) {
        if (i >= a->n || i >= b->n)
            fail_msg("%s: %s: %zu rows kept, %zu fresh; first extra %s", where, what, a->n, b->n,
                     i < a->n ? a->v[i].key : b->v[i].key);
        row_equal(&a->v[i], &b->v[i], what);
        if (i > 0 && strcmp(a->v[i - 1].key, a->v[i].key) >= 0)
            fail_msg("%s: %s: rows not sorted at %s", where, what, a->v[i].key);
    }
}

static void figures_equal(const figures *a, const figures *b)
{
    assert_non_null(a);
    assert_non_null(b);
    if (a->projects != b->projects)
        fail_msg("%s: projects %" PRId64 " kept, %" PRId64 " fresh", where, a->projects,
                 b->projects);
    for (int s = 0; s < FACTS_STATUSES; s++) {
        if (a->by_status[s] != b->by_status[s])
            fail_msg("%s: status %d: %" PRId64 " kept, %" PRId64 " fresh", where, s,
                     a->by_status[s], b->by_status[s]);
    }
    if (a->on_track != b->on_track || a->off_track != b->off_track || a->no_data != b->no_data)
        fail_msg("%s: indicators differ", where);
    money_equal(&a->money, &b->money, "money");
    rows_equal(&a->by_group, &b->by_group, "by_group");
    rows_equal(&a->by_entity, &b->by_entity, "by_entity");
    rows_equal(&a->by_donor, &b->by_donor, "by_donor");
    rows_equal(&a->by_year, &b->by_year, "by_year");
    for (int k = 0; k < FACTS_PILLARS; k++) {
        char what[32];
        snprintf(what, sizeof what, "by_pillar %d", k);
        row_equal(&a->by_pillar[k], &b->by_pillar[k], what);
    }
    for (size_t i = 0; i < a->n_cover || i < b->n_cover; i++) {
        const cover_cell *x = i < a->n_cover ? &a->cover[i] : NULL;
        const cover_cell *y = i < b->n_cover ? &b->cover[i] : NULL;
        if (!x || !y || strcmp(x->country, y->country) != 0 || x->pillar != y->pillar ||
            x->projects != y->projects || x->committed_usd != y->committed_usd)
            fail_msg("%s: cover cell %zu: %s/%d %" PRId64 " %" PRId64 " kept, %s/%d %" PRId64
                     " %" PRId64 " fresh",
                     where, i, x ? x->country : "-", x ? x->pillar : -1, x ? x->projects : -1,
                     x ? x->committed_usd : -1, y ? y->country : "-", y ? y->pillar : -1,
                     y ? y->projects : -1, y ? y->committed_usd : -1);
        if (i > 0 && (strcmp(a->cover[i - 1].country, x->country) > 0 ||
                      (strcmp(a->cover[i - 1].country, x->country) == 0 &&
                       a->cover[i - 1].pillar >= x->pillar)))
            fail_msg("%s: cover cells not sorted at %zu", where, i);
    }
}

/* ---- the figures summed independently, from the states -------------------------------------- */

/* What the figures should be, computed here from the final states with
 * nothing of facts.c: the same filters and rules, written the plain way
 * (a project counts once in a row however many roles its entity holds; a
 * row or a currency that sums to nothing is no row, no currency). */

#define ORACLE_CURRENCIES 8
#define ORACLE_ROWS 256

typedef struct omoney {
    struct {
        char currency[4];
        int64_t v[STAGES];
    } cur[ORACLE_CURRENCIES];
    size_t ncur;
    int64_t usd[STAGES], unconverted;
} omoney;

typedef struct orow {
    char key[96];
    int64_t projects, on_track, off_track, no_data;
    omoney money;
} orow;

typedef struct orows {
    orow v[ORACLE_ROWS];
    size_t n;
} orows;

typedef struct ocell {
    char country[3];
    int pillar;
    int64_t projects, committed_usd;
} ocell;

typedef struct oracle {
    orow all; /* projects, indicators and money over every project kept */
    int64_t by_status[FACTS_STATUSES];
    orows groups, entities, donors, years;
    orow pillars[FACTS_PILLARS];
    ocell cells[64];
    size_t ncells;
} oracle;

/* One amount the figures count: a transaction of a stage, or the budget. */
typedef struct item {
    const char *currency, *date;
    int stage, year;
    int64_t amount, usd;
    int converted;
    char donor[96]; /* "" for the budget */
} item;

static int year_of(const char *date, int dflt)
{
    return date && strlen(date) >= 4 ? atoi(date) : dflt;
}

static void omoney_add(omoney *m, const item *it)
{
    size_t i = 0;

    while (i < m->ncur && strcmp(m->cur[i].currency, it->currency) != 0)
        i++;
    if (i == m->ncur) {
        assert_true(m->ncur < ORACLE_CURRENCIES);
        snprintf(m->cur[m->ncur++].currency, 4, "%s", it->currency);
    }
    m->cur[i].v[it->stage] += it->amount;
    if (it->converted)
        m->usd[it->stage] += it->usd;
    else
        m->unconverted++;
}

static orow *orow_of(orows *rows, const char *key)
{
    for (size_t i = 0; i < rows->n; i++) {
        if (strcmp(rows->v[i].key, key) == 0)
            return &rows->v[i];
    }
    assert_true(rows->n < ORACLE_ROWS);
    snprintf(rows->v[rows->n].key, sizeof rows->v[0].key, "%s", key);
    return &rows->v[rows->n++];
}

static void orow_count(orow *r, int64_t on, int64_t off, int64_t none)
{
    r->projects++;
    r->on_track += on;
    r->off_track += off;
    r->no_data += none;
}

static int oracle_stage(int type)
{
    switch (type) {
    case TTYPE(INCOMING_PLEDGE):
        return STAGE_PLEDGED;
    case TTYPE(INCOMING_COMMITMENT):
        return STAGE_COMMITTED;
    case TTYPE(INCOMING_FUNDS):
        return STAGE_RECEIVED;
    case TTYPE(DISBURSEMENT):
        return STAGE_DISBURSED;
    case TTYPE(EXPENDITURE):
        return STAGE_SPENT;
    default:
        return -1;
    }
}

static int oracle_keeps(const facts_filter *f, const Project *p)
{
    int group = !f->group_id || !f->group_id[0], pillar = f->pillar == 0;

    for (size_t i = 0; i < p->n_working_group_ids; i++)
        group |= strcmp(p->working_group_ids[i], f->group_id ? f->group_id : "") == 0;
    for (size_t i = 0; i < p->n_pillars; i++)
        pillar |= (int)p->pillars[i] == f->pillar;
    return group && pillar &&
           (f->year == 0 ||
            (year_of(p->start_date, 0) <= f->year && f->year <= year_of(p->end_date, 9999)));
}

/* The amounts of `p` that `f` counts, into items[]; returns how many. */
static size_t oracle_items(const facts_filter *f, const Project *p, const rates *r, item *items,
                           size_t max)
{
    size_t n = 0;

    for (size_t k = 0; k < p->n_transactions; k++) {
        const Transaction *t = p->transactions[k];
        int stage = oracle_stage(t->type);
        if (stage < 0 || (f->year && year_of(t->date, 0) != f->year))
            continue;
        for (int twice = 0; twice < 2; twice++) {
            item *it = &items[n];
            if (twice && !(stage == STAGE_COMMITTED && t->catalytic))
                break;
            assert_true(n < max);
            *it = (item){.currency = t->value->currency,
                         .date = t->date,
                         .stage = twice ? STAGE_CATALYTIC : stage,
                         .year = year_of(t->date, 0),
                         .amount = t->value->amount_minor};
            if (t->provider_case == PROVIDER(ENTITY_ID))
                snprintf(it->donor, sizeof it->donor, "%s", t->provider_entity_id);
            else if (t->provider_case == PROVIDER(NAME))
                snprintf(it->donor, sizeof it->donor, "name:%s", t->provider_name);
            else if (t->provider_case == PROVIDER(ORG)) /* the generator's have a ref */
                snprintf(it->donor, sizeof it->donor, "org:%s", t->provider_org->ref);
            else
                snprintf(it->donor, sizeof it->donor, "unknown");
            it->converted = rates_to_usd(r, it->currency, it->date, it->amount, &it->usd) == 0;
            n++;
        }
    }
    if (p->budget && p->budget->currency[0] &&
        (f->year == 0 || year_of(p->start_date, 0) == f->year)) {
        item *it = &items[n++];
        assert_true(n <= max);
        *it = (item){.currency = p->budget->currency,
                     .date = p->start_date,
                     .stage = STAGE_BUDGET,
                     .year = year_of(p->start_date, 0),
                     .amount = p->budget->amount_minor};
        it->converted = rates_to_usd(r, it->currency, it->date, it->amount, &it->usd) == 0;
    }
    return n;
}

static void oracle_project(oracle *o, const facts_filter *f, const Project *p, const rates *r)
{
    item items[64];
    size_t n = oracle_items(f, p, r, items, 64);
    int64_t on = 0, off = 0, none = 0, committed_usd = 0;
    const char *seen[128];
    size_t nseen = 0;

    for (size_t i = 0; i < p->n_results; i++) {
        for (size_t k = 0; k < p->results[i]->n_indicators; k++) {
            int s = p->results[i]->indicators[k]->state;
            on += s == ISTATE(ON_TRACK);
            off += s == ISTATE(OFF_TRACK);
            none += s != ISTATE(ON_TRACK) && s != ISTATE(OFF_TRACK);
        }
    }
    orow_count(&o->all, on, off, none);
    o->by_status[p->status]++;
    for (size_t i = 0; i < n; i++) {
        omoney_add(&o->all.money, &items[i]);
        if (items[i].stage == STAGE_COMMITTED && items[i].converted)
            committed_usd += items[i].usd;
    }
    for (size_t g = 0; g < p->n_working_group_ids; g++) {
        orow *row = orow_of(&o->groups, p->working_group_ids[g]);
        orow_count(row, on, off, none);
        for (size_t i = 0; i < n; i++)
            omoney_add(&row->money, &items[i]);
    }
    for (size_t k = 0; k < p->n_pillars; k++) {
        orow *row = &o->pillars[p->pillars[k]];
        orow_count(row, on, off, none);
        for (size_t i = 0; i < n; i++)
            omoney_add(&row->money, &items[i]);
    }
    /* every entity once, whatever its roles; the partners' rows hold the money */
    for (size_t k = 0; k < p->n_participants; k++) {
        const Participant *pt = p->participants[k];
        int partner = 0, dup = 0;
        for (size_t j = 0; j < nseen; j++)
            dup |= strcmp(seen[j], pt->entity_id) == 0;
        if (dup)
            continue;
        seen[nseen++] = pt->entity_id;
        for (size_t j = 0; j < p->n_participants; j++) {
            const Participant *other = p->participants[j];
            partner |=
                strcmp(other->entity_id, pt->entity_id) == 0 &&
                (other->role ==
                     COMPACT__PROJECTS__V1__ORGANISATION_ROLE__ORGANISATION_ROLE_ACCOUNTABLE ||
                 other->role ==
                     COMPACT__PROJECTS__V1__ORGANISATION_ROLE__ORGANISATION_ROLE_IMPLEMENTING);
        }
        orow *row = orow_of(&o->entities, pt->entity_id);
        orow_count(row, on, off, none);
        for (size_t i = 0; partner && i < n; i++)
            omoney_add(&row->money, &items[i]);
    }
    /* a row per year with money, and per donor */
    for (size_t i = 0; i < n; i++) {
        char key[16];
        int first = 1;
        for (size_t j = 0; j < i; j++)
            first &= items[j].year != items[i].year;
        snprintf(key, sizeof key, "%04d", items[i].year);
        orow *row = orow_of(&o->years, key);
        if (first)
            orow_count(row, on, off, none);
        omoney_add(&row->money, &items[i]);
        if (items[i].donor[0])
            omoney_add(&orow_of(&o->donors, items[i].donor)->money, &items[i]);
    }
    /* coverage: each country (or none) by each pillar */
    for (size_t c = 0; c < (p->n_recipient_countries ? p->n_recipient_countries : 1); c++) {
        const char *country = p->n_recipient_countries ? p->recipient_countries[c] : "";
        for (size_t k = 0; k < p->n_pillars; k++) {
            size_t at = 0;
            while (at < o->ncells && !(strcmp(o->cells[at].country, country) == 0 &&
                                       o->cells[at].pillar == (int)p->pillars[k]))
                at++;
            if (at == o->ncells) {
                assert_true(o->ncells < 64);
                snprintf(o->cells[at].country, 3, "%s", country);
                o->cells[o->ncells++].pillar = (int)p->pillars[k];
            }
            o->cells[at].projects++;
            o->cells[at].committed_usd += committed_usd;
        }
    }
}

static int omoney_empty(const omoney *m)
{
    for (int k = 0; k < STAGES; k++) {
        if (m->usd[k])
            return 0;
        for (size_t i = 0; i < m->ncur; i++) {
            if (m->cur[i].v[k])
                return 0;
        }
    }
    return m->unconverted == 0;
}

static int orow_empty(const orow *r)
{
    return r->projects == 0 && r->on_track == 0 && r->off_track == 0 && r->no_data == 0 &&
           omoney_empty(&r->money);
}

/* `m` against `want`: the same currencies with something in them, the
 * same sums. */
static void omoney_check(const money_sum *m, const omoney *want, const char *what)
{
    size_t nonzero = 0;

    for (size_t i = 0; i < want->ncur; i++) {
        const currency_sums *c = NULL;
        int zero = 1;
        for (size_t j = 0; j < m->n; j++) {
            if (strcmp(m->cur[j].currency, want->cur[i].currency) == 0)
                c = &m->cur[j];
        }
        for (int k = 0; k < STAGES; k++) {
            zero &= want->cur[i].v[k] == 0;
            if ((c ? c->s.v[k] : 0) != want->cur[i].v[k])
                fail_msg("%s: %s %s %s: %" PRId64 " in the figures, %" PRId64 " summed", where,
                         what, want->cur[i].currency, stage_names[k], c ? c->s.v[k] : 0,
                         want->cur[i].v[k]);
        }
        nonzero += !zero;
    }
    if (m->n != nonzero)
        fail_msg("%s: %s: %zu currencies in the figures, %zu summed", where, what, m->n, nonzero);
    for (int k = 0; k < STAGES; k++) {
        if (m->usd.v[k] != want->usd[k])
            fail_msg("%s: %s USD %s: %" PRId64 " in the figures, %" PRId64 " summed", where, what,
                     stage_names[k], m->usd.v[k], want->usd[k]);
    }
    if (m->unconverted != want->unconverted)
        fail_msg("%s: %s unconverted: %" PRId64 " in the figures, %" PRId64 " summed", where, what,
                 m->unconverted, want->unconverted);
}

static void orow_check(const fig_row *r, const orow *want, const char *what)
{
    char sub[160];

    snprintf(sub, sizeof sub, "%s[%s]", what, want->key);
    if (r->projects != want->projects || r->on_track != want->on_track ||
        r->off_track != want->off_track || r->no_data != want->no_data)
        fail_msg("%s: %s: projects %" PRId64 ", indicators %" PRId64 "/%" PRId64 "/%" PRId64
                 " in the figures; summed %" PRId64 ", %" PRId64 "/%" PRId64 "/%" PRId64,
                 where, sub, r->projects, r->on_track, r->off_track, r->no_data, want->projects,
                 want->on_track, want->off_track, want->no_data);
    omoney_check(&r->money, &want->money, sub);
}

/* The key the figures give the summed row `key`: donors' keys too long to
 * keep are cut and told apart by a hash (facts_donor_key_fit). */
static const char *figures_key(const char *key, int donors, char *buf)
{
    if (!donors)
        return key;
    facts_donor_key_fit(key, buf, FACTS_KEY_SIZE);
    return buf;
}

/* Every row summed that is not empty is in `rows` with the same figures,
 * and `rows` has no other. */
static void orows_check(const fig_rows *rows, const orows *want, int donors, const char *what)
{
    char buf[FACTS_KEY_SIZE];

    for (size_t i = 0; i < want->n; i++) {
        const fig_row *r;
        if (orow_empty(&want->v[i]))
            continue;
        if ((r = fig_rows_find(rows, figures_key(want->v[i].key, donors, buf))) == NULL)
            fail_msg("%s: %s: no row %s", where, what, want->v[i].key);
        orow_check(r, &want->v[i], what);
    }
    for (size_t i = 0; i < rows->n; i++) {
        size_t k = 0;
        while (k < want->n && strcmp(figures_key(want->v[k].key, donors, buf), rows->v[i].key) != 0)
            k++;
        if (k == want->n || orow_empty(&want->v[k]))
            fail_msg("%s: %s: row %s in the figures, none summed", where, what, rows->v[i].key);
    }
}

/* The figures `fig` of filter `f` (NULL: none) against the sums of the
 * world's final states. */
static void oracle_check(const world *w, const facts_filter *f, const figures *fig)
{
    static oracle o; /* large: not on the stack */
    const facts_filter none = {0};

    if (f == NULL)
        f = &none;
    memset(&o, 0, sizeof o);
    for (int i = 0; i < N_PROJECTS; i++) {
        Project *p;
        if (w->projects[i].packed == NULL)
            continue;
        p = truth_unpack(&w->projects[i], &compact__projects__v1__project__descriptor);
        if (oracle_keeps(f, p))
            oracle_project(&o, f, p, &w->rates);
        msg_free(p);
    }
    snprintf(where + strlen(where), sizeof where - strlen(where), " (summed independently)");
    assert_non_null(fig);
    if (fig->projects != o.all.projects || fig->on_track != o.all.on_track ||
        fig->off_track != o.all.off_track || fig->no_data != o.all.no_data)
        fail_msg("%s: projects %" PRId64 " in the figures, %" PRId64 " summed", where,
                 fig->projects, o.all.projects);
    for (int s = 0; s < FACTS_STATUSES; s++)
        assert_int_equal(fig->by_status[s], o.by_status[s]);
    omoney_check(&fig->money, &o.all.money, "money");
    orows_check(&fig->by_group, &o.groups, 0, "by_group");
    orows_check(&fig->by_entity, &o.entities, 0, "by_entity");
    orows_check(&fig->by_donor, &o.donors, 1, "by_donor");
    orows_check(&fig->by_year, &o.years, 0, "by_year");
    for (int k = 0; k < FACTS_PILLARS; k++) {
        snprintf(o.pillars[k].key, sizeof o.pillars[k].key, "%d", k);
        orow_check(&fig->by_pillar[k], &o.pillars[k], "by_pillar");
    }
    if (fig->n_cover != o.ncells)
        fail_msg("%s: %zu coverage cells in the figures, %zu summed", where, fig->n_cover,
                 o.ncells);
    for (size_t i = 0; i < o.ncells; i++) {
        size_t at = 0;
        while (at < fig->n_cover && !(strcmp(fig->cover[at].country, o.cells[i].country) == 0 &&
                                      fig->cover[at].pillar == o.cells[i].pillar))
            at++;
        if (at == fig->n_cover || fig->cover[at].projects != o.cells[i].projects ||
            fig->cover[at].committed_usd != o.cells[i].committed_usd)
            fail_msg("%s: coverage cell %s/%d differs from the sum (%" PRId64 " projects, %" PRId64
                     " committed)",
                     where, o.cells[i].country, o.cells[i].pillar, o.cells[i].projects,
                     o.cells[i].committed_usd);
    }
}

/* ---- the property ------------------------------------------------------------------------- */

static const facts_filter early[] = {
    {.year = 2021},
    {.group_id = "wg_3"},
    {.pillar = 2},
    {.year = 2023, .group_id = "wg_1"},
    {.group_id = "wg_2", .pillar = 4},
    {.year = 2022, .pillar = 1},
    {.year = 2020, .group_id = "wg_5", .pillar = 3},
};

static const facts_filter late[] = {
    {.year = 2024},
    {.group_id = "wg_0"},
    {.pillar = 3},
    {.year = 2019, .group_id = "wg_7"},
    {.year = 2025, .group_id = "wg_2", .pillar = 2},
    {.year = 2040},              /* no project runs then */
    {.group_id = "wg_none"},     /* no such group */
    {.year = 2018, .pillar = 4}, /* before every project: money outside the years */
};

static void describe(char *buf, size_t size, const facts_filter *f)
{
    snprintf(buf, size, "year %d group %s pillar %d", f ? f->year : 0,
             f && f->group_id ? f->group_id : "-", f ? f->pillar : 0);
}

static void compare_view(model *m, model *fresh, const facts_filter *f, const char *when)
{
    char filter[96];

    describe(filter, sizeof filter, f);
    snprintf(where, sizeof where, "seed %" PRIu64 ", %s, %s", seed_of_run, when, filter);
    figures_equal(model_figures(m, f), model_figures(fresh, f));
}

/* As compare_view, and the figures against the independent sums. */
static void check_view(model *m, model *fresh, const world *w, const facts_filter *f,
                       const char *when)
{
    compare_view(m, fresh, f, when);
    oracle_check(w, f, model_figures(m, f));
}

/* The money of a project's facts, kept change by change (added to in place, when only
 * transactions were added), against the facts made from its last state. */
static void project_money_equal(const project_facts *a, const project_facts *b)
{
    char what[96];

    snprintf(where, sizeof where, "seed %" PRIu64 ", the facts of %s", seed_of_run, a->id);
    assert_int_equal(a->n_tx, b->n_tx);
    money_equal(&a->money, &b->money, "money");
    assert_int_equal(a->n_years, b->n_years);
    for (size_t i = 0; i < a->n_years; i++) {
        assert_int_equal(a->years[i].year, b->years[i].year);
        snprintf(what, sizeof what, "year %d", a->years[i].year);
        money_equal(&a->years[i].money, &b->years[i].money, what);
    }
    assert_int_equal(a->n_donor_keys, b->n_donor_keys);
    for (size_t i = 0; i < a->n_donor_keys; i++) {
        assert_string_equal(a->donor_keys[i], b->donor_keys[i]);
        assert_string_equal(a->donor_names[i], b->donor_names[i]);
    }
    assert_int_equal(a->n_donors, b->n_donors);
    for (size_t i = 0; i < a->n_donors; i++) {
        assert_int_equal(a->donors[i].donor, b->donors[i].donor);
        assert_int_equal(a->donors[i].year, b->donors[i].year);
        snprintf(what, sizeof what, "donor %s in %d", a->donor_keys[a->donors[i].donor],
                 a->donors[i].year);
        money_equal(&a->donors[i].money, &b->donors[i].money, what);
    }
}

/* The facts of entities and groups, and the projects held, against fresh. */
static void compare_facts(const model *m, const model *fresh)
{
    size_t n, nf;
    const entity_facts *const *e = model_entities(m, &n), *const *ef = model_entities(fresh, &nf);
    const group_facts *const *g, *const *gf;
    const project_facts *const *p, *const *pf;

    assert_int_equal(n, nf);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(e[i]->id, ef[i]->id);
        assert_int_equal(e[i]->seq, ef[i]->seq);
        assert_string_equal(e[i]->acronym, ef[i]->acronym);
        assert_int_equal(e[i]->affiliation, ef[i]->affiliation);
        assert_int_equal(e[i]->n_periods, ef[i]->n_periods);
        assert_int_equal(e[i]->active, ef[i]->active);
        assert_true(i == 0 || strcmp(e[i - 1]->id, e[i]->id) < 0);
    }
    g = model_groups(m, &n);
    gf = model_groups(fresh, &nf);
    assert_int_equal(n, nf);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(g[i]->id, gf[i]->id);
        assert_int_equal(g[i]->seq, gf[i]->seq);
        assert_string_equal(g[i]->code, gf[i]->code);
        assert_string_equal(g[i]->title, gf[i]->title);
        assert_int_equal(g[i]->open, gf[i]->open);
        assert_int_equal(g[i]->pillars, gf[i]->pillars);
        assert_int_equal(g[i]->n_members, gf[i]->n_members);
        for (size_t k = 0; k < g[i]->n_members; k++) {
            assert_string_equal(g[i]->members[k].entity_id, gf[i]->members[k].entity_id);
            assert_int_equal(g[i]->members[k].role, gf[i]->members[k].role);
        }
    }
    p = model_projects(m, &n);
    pf = model_projects(fresh, &nf);
    assert_int_equal(n, nf);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(p[i]->id, pf[i]->id);
        assert_int_equal(p[i]->seq, pf[i]->seq);
        assert_string_equal(p[i]->title, pf[i]->title);
        assert_true(i == 0 || strcmp(p[i - 1]->id, p[i]->id) < 0);
        project_money_equal(p[i], pf[i]);
    }
}

static void compare_all(model *m, const world *w, int with_late, const char *when)
{
    model *fresh = fresh_of(w);

    compare_facts(m, fresh);
    check_view(m, fresh, w, NULL, when);
    for (size_t i = 0; i < sizeof early / sizeof early[0]; i++)
        check_view(m, fresh, w, &early[i], when);
    for (size_t i = 0; with_late && i < sizeof late / sizeof late[0]; i++)
        check_view(m, fresh, w, &late[i], when);
    model_free(fresh);
}

static void property_run(uint64_t seed)
{
    world w = {0};
    model *m;
    char when[64];

    seed_of_run = seed;
    rng = seed * 0x9e3779b97f4a7c15ull + 1;
    print_message("model property: seed %" PRIu64 "\n", seed);
    assert_int_equal(model_new(&m), 0);
    assert_int_equal(model_put_rate(m, "EUR", "2019-01-01", 1120000), 0);
    assert_int_equal(rates_put(&w.rates, "EUR", "2019-01-01", 1120000), 0);
    for (int op = 0; op < N_OPS; op++) {
        random_op(m, &w, op < RATE_OPS);
        if (op == RATE_OPS) {
            /* asked now, kept change by change from here on (a rate change
             * would drop them: none comes after) */
            for (size_t i = 0; i < sizeof early / sizeof early[0]; i++)
                assert_non_null(model_figures(m, &early[i]));
        }
        if (op % CHECK_EVERY == CHECK_EVERY - 1) {
            snprintf(when, sizeof when, "after op %d", op);
            compare_all(m, &w, 0, when);
        }
    }
    compare_all(m, &w, 1, "at the end");
    assert_true(w.applied > N_OPS / 2);
    model_free(m);
    world_clear(&w);
}

static void test_property(void **state)
{
    const char *env = getenv("COMPACT_TEST_SEED");

    (void)state;
    if (env && *env) {
        property_run(strtoull(env, NULL, 10));
        return;
    }
    for (uint64_t seed = 1; seed <= 5; seed++)
        property_run(seed);
}

/* ---- what a put does ---------------------------------------------------------------------- */

/* A small fixed project: one EUR commitment of 100.00, dated in `year`. */
static Project *small_project(const char *id, const char *title, int year, const char *currency)
{
    Project *p = xcalloc(1, sizeof *p);
    Transaction *t = xcalloc(1, sizeof *t);

    compact__projects__v1__project__init(p);
    compact__projects__v1__transaction__init(t);
    p->id = xstrdup(id);
    p->title = xstrdup(title);
    p->working_group_ids = xcalloc(1, sizeof(char *));
    p->working_group_ids[p->n_working_group_ids++] = xstrdup("wg_1");
    p->pillars = xcalloc(1, sizeof *p->pillars);
    p->pillars[p->n_pillars++] = COMPACT__PROJECTS__V1__STRATEGY_PILLAR__STRATEGY_PILLAR_II;
    p->start_date = fmt("%04d-01-01", year);
    p->status = COMPACT__PROJECTS__V1__ACTIVITY_STATUS__ACTIVITY_STATUS_IMPLEMENTATION;
    t->type = TTYPE(INCOMING_COMMITMENT);
    t->date = fmt("%04d-03-01", year);
    t->value = money_new(currency, 10000);
    p->transactions = xcalloc(1, sizeof(Transaction *));
    p->transactions[p->n_transactions++] = t;
    return p;
}

static int put_small(model *m, const char *id, const char *title, uint64_t seq)
{
    Project *p = small_project(id, title, 2024, "EUR");
    int rc = model_put_project(m, p, seq);

    msg_free(p);
    return rc;
}

static void test_put_sequences(void **state)
{
    model *m;
    Entity *e;

    (void)state;
    assert_int_equal(model_new(&m), 0);
    assert_int_equal(model_version(m), 0);
    assert_null(model_project(m, "prj_a"));
    assert_int_equal(put_small(m, "prj_a", "one", 3), 1);
    assert_int_equal(model_version(m), 1);
    assert_int_equal(model_project(m, "prj_a")->seq, 3);
    /* the same sequence again, and an older one: ignored, nothing moves */
    assert_int_equal(put_small(m, "prj_a", "two", 3), 0);
    assert_int_equal(put_small(m, "prj_a", "two", 1), 0);
    assert_string_equal(model_project(m, "prj_a")->title, "one");
    assert_int_equal(model_version(m), 1);
    /* a gap applies */
    assert_int_equal(put_small(m, "prj_a", "five", 5), 1);
    assert_string_equal(model_project(m, "prj_a")->title, "five");
    assert_int_equal(model_project(m, "prj_a")->seq, 5);
    /* sequence 0 applies and keeps the sequence held: 5 is still a duplicate */
    assert_int_equal(put_small(m, "prj_a", "reread", 0), 1);
    assert_string_equal(model_project(m, "prj_a")->title, "reread");
    assert_int_equal(model_project(m, "prj_a")->seq, 5);
    assert_int_equal(put_small(m, "prj_a", "late", 5), 0);
    assert_int_equal(put_small(m, "prj_a", "six", 6), 1);
    assert_int_equal(model_version(m), 4);
    /* a new aggregate at 0 holds 0: any event applies after it */
    assert_int_equal(put_small(m, "prj_b", "b", 0), 1);
    assert_int_equal(model_project(m, "prj_b")->seq, 0);
    assert_int_equal(put_small(m, "prj_b", "b1", 1), 1);
    assert_int_equal(model_figures(m, NULL)->projects, 2);

    /* entities the same way */
    e = entity_new(1);
    assert_int_equal(model_put_entity(m, e, 2), 1);
    assert_int_equal(model_put_entity(m, e, 2), 0);
    assert_int_equal(model_put_entity(m, e, 0), 1);
    assert_int_equal(model_entity(m, "ent_01")->seq, 2);
    assert_string_equal(model_entity(m, "ent_01")->acronym, e->acronym);
    msg_free(e);
    model_free(m);
    model_free(NULL);
}

/* ---- money that cancels out ----------------------------------------------------------------- */

/* Donor keys: short ones as they are; long ones cut at a character and
 * told apart by a hash, so that two donors whose names share a long start
 * keep a row each (they once shared one). */
static void test_donor_keys(void **state)
{
    char a[FACTS_KEY_SIZE], b[FACTS_KEY_SIZE], c[FACTS_KEY_SIZE];
    char accents[160];

    (void)state;
    facts_donor_key_fit("name:European Union", a, sizeof a);
    assert_string_equal(a, "name:European Union");
    facts_donor_key_fit(
        "name:The Very Long Name of a Donor Foundation for Peace and Security Worldwide", a,
        sizeof a);
    facts_donor_key_fit(
        "name:The Very Long Name of a Donor Foundation for Peace and Security, Europe", b,
        sizeof b);
    assert_true(strlen(a) < sizeof a && strlen(b) < sizeof b);
    assert_string_not_equal(a, b);
    assert_int_equal(strncmp(a, "name:The Very Long Name", 23), 0);
    facts_donor_key_fit(
        "name:The Very Long Name of a Donor Foundation for Peace and Security Worldwide", c,
        sizeof c);
    assert_string_equal(a, c); /* the same donor, the same key */
    /* "é" is two bytes: the cut never splits one */
    snprintf(accents, sizeof accents, "name:");
    for (int i = 0; i < 40; i++)
        strcat(accents, "\xc3\xa9");
    facts_donor_key_fit(accents, a, sizeof a);
    assert_true((strchr(a, '~') - a - 5) % 2 == 0);
}

/* A project whose EUR commitment was reversed in full, by the same donor:
 * its EUR sums are zero, and so are their US dollar equivalents. Whether the figures were made in one pass (a fresh
 * model, a new view, a rebuild) or kept change by change (here: another
 * project taken away and put back), EUR and the donor's row of zeros must be
 * the same in both: once the kept figures showed neither while a fresh model
 * showed both. */
static void test_cancelled_money(void **state)
{
    model *m, *fresh;
    Project *p;
    const facts_filter y2024 = {.year = 2024};

    (void)state;
    assert_int_equal(model_new(&m), 0);
    assert_int_equal(model_new(&fresh), 0);
    for (int k = 0; k < 2; k++) {
        model *into = k ? fresh : m;
        assert_int_equal(model_put_rate(into, "EUR", "2020-01-01", 1100000), 0);
        p = small_project("prj_rev", "reversed", 2024, "EUR");
        p->transactions[0]->provider_case = PROVIDER(NAME);
        p->transactions[0]->provider_name = xstrdup("European Union");
        p->transactions = realloc(p->transactions, 2 * sizeof(Transaction *));
        assert_non_null(p->transactions);
        p->transactions[p->n_transactions++] = reversal_of(p->transactions[0]);
        assert_int_equal(model_put_project(into, p, 1), 1);
        msg_free(p);
    }
    /* m keeps a view and sees the other project change; fresh gets only
     * its last state */
    p = small_project("prj_usd", "dollars", 2024, "USD");
    assert_int_equal(model_put_project(m, p, 1), 1);
    msg_free(p);
    assert_non_null(model_figures(m, &y2024));
    p = small_project("prj_usd", "dollars, again", 2024, "USD");
    assert_int_equal(model_put_project(m, p, 2), 1);
    assert_int_equal(model_put_project(fresh, p, 2), 1);
    msg_free(p);
    snprintf(where, sizeof where, "a reversed commitment");
    figures_equal(model_figures(m, NULL), model_figures(fresh, NULL));
    figures_equal(model_figures(m, &y2024), model_figures(fresh, &y2024));
    /* and what both hold: no EUR at all, no donor row of zeros */
    for (int k = 0; k < 2; k++) {
        const figures *fig = model_figures(k ? fresh : m, NULL);
        assert_int_equal(fig->money.n, 1);
        assert_string_equal(fig->money.cur[0].currency, "USD");
        assert_null(fig_rows_find(&fig->by_donor, "name:European Union"));
        assert_int_equal(fig->money.usd.v[STAGE_COMMITTED], 10000);
    }
    model_free(fresh);
    model_free(m);
}

/* ---- a project read in two parts ------------------------------------------------------------ */

/* A state packed into *buf (free it) and read into *r over `mem`. */
static void read_packed(const Project *p, arena *mem, uint8_t **buf, project_read *r)
{
    size_t len = protobuf_c_message_get_packed_size(&p->base);

    *buf = xcalloc(len, 1);
    protobuf_c_message_pack(&p->base, *buf);
    assert_int_equal(project_read_of(*buf, len, arena_allocator(mem), r), 0);
}

/* Which transactions a state adds to those held is told by their hashes:
 * one put in the middle (projects sorts them by date) is found where it is;
 * the same transactions add none; a transaction changed or dropped is not
 * an addition (the state is then read whole); facts made without hashes
 * (a rebuild's) answer no. The facts added to in place equal the facts made
 * whole. */
static void test_project_read_added(void **state)
{
    model *m, *fresh;
    Project *p = small_project("prj_read", "read in two parts", 2024, "EUR");
    Transaction **grown;
    arena mem;
    project_read r;
    uint8_t *buf;
    size_t added[8], n;

    (void)state;
    assert_int_equal(model_new(&m), 0);
    assert_int_equal(model_new(&fresh), 0);
    arena_init(&mem, ARENA_BATCH_BLOCK);
    grown = realloc(p->transactions, 4 * sizeof *grown);
    assert_non_null(grown);
    p->transactions = grown;
    p->transactions[p->n_transactions++] = transaction_new(2024);
    p->transactions[p->n_transactions++] = transaction_new(2025);
    read_packed(p, &mem, &buf, &r);
    assert_int_equal(r.n_tx, 3);
    assert_int_equal(r.shell->n_transactions, 0);
    assert_string_equal(r.shell->title, "read in two parts");
    assert_int_equal(project_read_added(&r, NULL, added, &n), 0); /* nothing held */
    assert_int_equal(model_put_project_read(m, &r, 1), 1);
    assert_int_equal(project_read_added(&r, model_project(m, "prj_read"), added, &n), 1);
    assert_int_equal(n, 0);
    free(buf);

    /* one more, second of four */
    memmove(&grown[2], &grown[1], 2 * sizeof *grown);
    grown[1] = transaction_new(2024);
    p->n_transactions = 4;
    grown[1]->type = TTYPE(INCOMING_COMMITMENT);
    grown[1]->value->amount_minor = 123456;
    read_packed(p, &mem, &buf, &r);
    assert_int_equal(project_read_added(&r, model_project(m, "prj_read"), added, &n), 1);
    assert_int_equal(n, 1);
    assert_int_equal(added[0], 1);
    assert_int_equal(model_put_project_read(m, &r, 2), 1);
    assert_int_equal(model_put_project(fresh, p, 2), 1);
    project_money_equal(model_project(m, "prj_read"), model_project(fresh, "prj_read"));
    snprintf(where, sizeof where, "a transaction added in the middle");
    figures_equal(model_figures(m, NULL), model_figures(fresh, NULL));
    free(buf);

    /* one changed: not an addition */
    grown[2]->value->amount_minor += 1;
    read_packed(p, &mem, &buf, &r);
    assert_int_equal(project_read_added(&r, model_project(m, "prj_read"), added, &n), 0);
    /* one dropped: not an addition either */
    grown[2]->value->amount_minor -= 1;
    p->n_transactions = 3; /* the fourth stays in the array, freed with it */
    free(buf);
    read_packed(p, &mem, &buf, &r);
    assert_int_equal(project_read_added(&r, model_project(m, "prj_read"), added, &n), 0);
    assert_int_equal(model_put_project_read(m, &r, 3), 1); /* read whole */
    assert_int_equal(model_put_project(fresh, p, 3), 1);
    project_money_equal(model_project(m, "prj_read"), model_project(fresh, "prj_read"));
    free(buf);
    p->n_transactions = 4;

    /* facts without hashes, as a rebuild makes them */
    read_packed(p, &mem, &buf, &r);
    assert_int_equal(model_put_project(m, p, 4), 1);
    assert_int_equal(project_read_added(&r, model_project(m, "prj_read"), added, &n), 0);
    free(buf);

    /* bytes that are not a project */
    assert_int_equal(project_read_of((const uint8_t *)"\x82\x01\x05"
                                                      "ab",
                                     5, arena_allocator(&mem), &r),
                     -EINVAL);
    arena_clear(&mem);
    msg_free(p);
    model_free(fresh);
    model_free(m);
}

/* `t` without the provider transaction_new gave it. */
static void drop_provider(Transaction *t)
{
    if (t->provider_case == PROVIDER(ENTITY_ID))
        free(t->provider_entity_id);
    else if (t->provider_case == PROVIDER(NAME))
        free(t->provider_name);
    else if (t->provider_case == PROVIDER(ORG))
        compact__projects__v1__organisation__free_unpacked(t->provider_org, NULL);
    t->provider_case = 0;
}

/* An organisation spelt three ways, one of them blank: named by the
 * spelling that sorts first, never the blank one, whether its transactions
 * came in one state or were added one by one. */
static void test_donor_named_by_first_spelling(void **state)
{
    const char *names[] = {"", "Zeta Fund", "Alpha Fund"};
    model *whole, *added;
    Project *p = small_project("prj_names", "names", 2024, "EUR");
    Transaction **tx = realloc(p->transactions, 4 * sizeof *tx);
    arena mem;
    uint8_t *buf;
    project_read r;

    (void)state;
    assert_non_null(tx);
    p->transactions = tx;
    assert_int_equal(model_new(&whole), 0);
    assert_int_equal(model_new(&added), 0);
    arena_init(&mem, ARENA_BATCH_BLOCK);
    for (int i = 0; i < 3; i++) {
        Transaction *t = transaction_new(2024);
        t->type = TTYPE(INCOMING_COMMITMENT);
        drop_provider(t);
        t->provider_case = PROVIDER(ORG);
        t->provider_org = xcalloc(1, sizeof *t->provider_org);
        compact__projects__v1__organisation__init(t->provider_org);
        t->provider_org->ref = xstrdup("XM-DAC-7");
        t->provider_org->name = xstrdup(names[i]);
        tx[p->n_transactions++] = t;
        read_packed(p, &mem, &buf, &r);
        assert_int_equal(model_put_project_read(added, &r, (uint64_t)i + 1), 1);
        free(buf);
    }
    assert_int_equal(model_put_project(whole, p, 3), 1);
    for (int k = 0; k < 2; k++) {
        const project_facts *f = model_project(k ? added : whole, "prj_names");
        int found = 0;
        for (size_t i = 0; i < f->n_donor_keys; i++) {
            if (strcmp(f->donor_keys[i], "org:XM-DAC-7") == 0) {
                assert_string_equal(f->donor_names[i], "Alpha Fund");
                found = 1;
            }
        }
        assert_true(found);
    }
    arena_clear(&mem);
    msg_free(p);
    model_free(whole);
    model_free(added);
}

/* ---- an entity in two roles ------------------------------------------------------------------ */

/* UNOCT accountable and implementing (two participants, as in the seed's
 * first project), CTED implementing: each takes part in one project and
 * holds its money once. Once UNOCT counted two projects and twice the money. */
static void test_entity_in_two_roles(void **state)
{
    model *m;
    Project *p = small_project("prj_two", "two roles", 2024, "USD");
    const char *ids[3] = {"ent_unoct", "ent_unoct", "ent_cted"};
    const int roles[3] = {COMPACT__PROJECTS__V1__ORGANISATION_ROLE__ORGANISATION_ROLE_ACCOUNTABLE,
                          COMPACT__PROJECTS__V1__ORGANISATION_ROLE__ORGANISATION_ROLE_IMPLEMENTING,
                          COMPACT__PROJECTS__V1__ORGANISATION_ROLE__ORGANISATION_ROLE_IMPLEMENTING};
    const facts_filter y2024 = {.year = 2024};

    (void)state;
    p->participants = xcalloc(3, sizeof(Participant *));
    for (int i = 0; i < 3; i++) {
        Participant *pt = xcalloc(1, sizeof *pt);
        compact__projects__v1__participant__init(pt);
        pt->entity_id = xstrdup(ids[i]);
        pt->role = (Compact__Projects__V1__OrganisationRole)roles[i];
        p->participants[p->n_participants++] = pt;
    }
    assert_int_equal(model_new(&m), 0);
    assert_int_equal(model_put_project(m, p, 1), 1);
    assert_int_equal(model_project(m, "prj_two")->n_entities, 2);
    assert_int_equal(model_project(m, "prj_two")->n_partners, 2);
    for (int k = 0; k < 2; k++) {
        const figures *fig = model_figures(m, k ? &y2024 : NULL);
        for (int e = 1; e < 3; e++) {
            const fig_row *r = fig_rows_find(&fig->by_entity, ids[e]);
            assert_non_null(r);
            assert_int_equal(r->projects, 1);
            assert_int_equal(r->money.n, 1);
            assert_int_equal(r->money.cur[0].s.v[STAGE_COMMITTED], 10000);
            assert_int_equal(r->money.usd.v[STAGE_COMMITTED], 10000);
        }
    }
    /* taken away again, nothing is left behind */
    assert_int_equal(model_put_project(m, p, 0), 1);
    assert_int_equal(fig_rows_find(&model_figures(m, NULL)->by_entity, "ent_unoct")->projects, 1);
    msg_free(p);
    model_free(m);
}

/* ---- rates changed after the projects ------------------------------------------------------ */

static void test_put_rate_reconverts(void **state)
{
    model *m, *fresh;
    const figures *fig;
    const facts_filter y2023 = {.year = 2023}, y2024 = {.year = 2024};
    Project *p;
    uint64_t v;

    (void)state;
    assert_int_equal(model_new(&m), 0);
    p = small_project("prj_g", "gbp 2023", 2023, "GBP");
    assert_int_equal(model_put_project(m, p, 1), 1);
    msg_free(p);
    p = small_project("prj_h", "gbp 2024", 2024, "GBP");
    assert_int_equal(model_put_project(m, p, 1), 1);
    msg_free(p);
    fig = model_figures(m, NULL);
    assert_int_equal(fig->money.usd.v[STAGE_COMMITTED], 0);
    assert_int_equal(fig->money.unconverted, 2);
    assert_int_equal(model_figures(m, &y2023)->money.unconverted, 1); /* a view, kept */

    /* one rate: every GBP amount converts at it, in the views too */
    v = model_version(m);
    assert_int_equal(model_put_rate(m, "GBP", "2023-06-01", 1250000), 0);
    assert_true(model_version(m) > v);
    fig = model_figures(m, NULL);
    assert_int_equal(fig->money.usd.v[STAGE_COMMITTED], 2 * 12500);
    assert_int_equal(fig->money.unconverted, 0);
    assert_int_equal(model_figures(m, &y2023)->money.usd.v[STAGE_COMMITTED], 12500);
    assert_int_equal(model_project(m, "prj_g")->money.usd.v[STAGE_COMMITTED], 12500);
    /* a later rate changes only what is dated after it */
    assert_int_equal(model_put_rate(m, "GBP", "2024-01-01", 1300000), 0);
    assert_int_equal(model_figures(m, &y2023)->money.usd.v[STAGE_COMMITTED], 12500);
    assert_int_equal(model_figures(m, &y2024)->money.usd.v[STAGE_COMMITTED], 13000);
    assert_int_equal(model_figures(m, NULL)->money.usd.v[STAGE_COMMITTED], 25500);
    /* replacing a rate converts again too */
    assert_int_equal(model_put_rate(m, "GBP", "2024-01-01", 1000000), 0);
    assert_int_equal(model_figures(m, NULL)->money.usd.v[STAGE_COMMITTED], 22500);
    assert_int_equal(model_rates(m)->n, 2);

    /* the same as a model that had the rates first */
    assert_int_equal(model_new(&fresh), 0);
    assert_int_equal(model_put_rate(fresh, "GBP", "2024-01-01", 1000000), 0);
    assert_int_equal(model_put_rate(fresh, "GBP", "2023-06-01", 1250000), 0);
    p = small_project("prj_h", "gbp 2024", 2024, "GBP");
    assert_int_equal(model_put_project(fresh, p, 1), 1);
    msg_free(p);
    p = small_project("prj_g", "gbp 2023", 2023, "GBP");
    assert_int_equal(model_put_project(fresh, p, 1), 1);
    msg_free(p);
    snprintf(where, sizeof where, "rates changed after the projects");
    figures_equal(model_figures(m, NULL), model_figures(fresh, NULL));
    figures_equal(model_figures(m, &y2023), model_figures(fresh, &y2023));
    figures_equal(model_figures(m, &y2024), model_figures(fresh, &y2024));
    model_free(fresh);
    model_free(m);
}

/* ---- a rebuild: model_new_like and model_take_over ------------------------------------ */

static void test_new_like_and_carry(void **state)
{
    model *old, *fresh;
    Entity *e;
    WorkingGroup *g;

    (void)state;
    rng = 42;
    assert_int_equal(model_new(&old), 0);
    assert_int_equal(model_put_rate(old, "EUR", "2020-01-01", 1100000), 0);
    assert_int_equal(model_put_rate(old, "GBP", "2020-01-01", 1300000), 0);
    assert_int_equal(put_small(old, "prj_a", "a", 7), 1);
    assert_int_equal(put_small(old, "prj_b", "b", 2), 1);
    e = entity_new(3);
    assert_int_equal(model_put_entity(old, e, 4), 1);
    g = group_new(1);
    assert_int_equal(model_put_group(old, g, 9), 1);

    /* the new model has the rates and nothing else */
    assert_int_equal(model_new_like(old, &fresh), 0);
    assert_int_equal(model_rates(fresh)->n, 2);
    assert_int_equal(model_rates(fresh)->v[0].usd_micros, 1100000);
    assert_int_equal(model_rates(fresh)->v[1].usd_micros, 1300000);
    assert_int_equal(model_figures(fresh, NULL)->projects, 0);
    assert_null(model_project(fresh, "prj_a"));
    /* the rebuild reads the states (sequence 0), and one that is new */
    assert_int_equal(put_small(fresh, "prj_a", "a read", 0), 1);
    assert_int_equal(put_small(fresh, "prj_c", "c read", 0), 1);
    assert_int_equal(model_put_entity(fresh, e, 0), 1);
    assert_int_equal(model_put_group(fresh, g, 0), 1);
    /* a rate set while the rebuild ran is not lost with the old figures */
    assert_int_equal(model_put_rate(old, "CHF", "2020-01-01", 1050000), 0);
    assert_int_equal(model_take_over(fresh, old), 0);
    assert_int_equal(model_rates(fresh)->n, 3);
    /* and answers kept for the old figures are never taken for the new */
    assert_true(model_version(fresh) > model_version(old));
    assert_int_equal(model_project(fresh, "prj_a")->seq, 7);
    assert_int_equal(model_project(fresh, "prj_c")->seq, 0); /* old never had it */
    assert_int_equal(model_entity(fresh, "ent_03")->seq, 4);
    assert_int_equal(model_group(fresh, "wg_1")->seq, 9);
    /* events already applied stay ignored; newer ones apply */
    assert_int_equal(put_small(fresh, "prj_a", "old event", 7), 0);
    assert_int_equal(put_small(fresh, "prj_a", "next event", 8), 1);
    assert_int_equal(put_small(fresh, "prj_c", "first event", 1), 1);
    assert_int_equal(model_put_entity(fresh, e, 4), 0);
    assert_int_equal(model_put_group(fresh, g, 9), 0);
    assert_int_equal(model_put_group(fresh, g, 10), 1);
    /* the converted money used the carried rates */
    assert_int_equal(model_figures(fresh, NULL)->money.usd.v[STAGE_COMMITTED], 2 * 11000);
    msg_free(e);
    msg_free(g);
    model_free(old);
    model_free(fresh);
}

/* ---- views beyond MODEL_VIEWS_MAX ------------------------------------------------------------- */

static void test_view_eviction(void **state)
{
    model *m, *fresh;
    const figures *first[MODEL_VIEWS_MAX + 1];
    facts_filter f[MODEL_VIEWS_MAX + 8];
    char groups[MODEL_VIEWS_MAX + 8][16];
    world w = {0};

    (void)state;
    rng = 7;
    seed_of_run = 7;
    assert_int_equal(model_new(&m), 0);
    for (int i = 0; i < N_PROJECTS; i++) {
        Project *p = project_new(i);
        assert_int_equal(model_put_project(m, p, 1), 1);
        truth_set(&w.projects[i], &p->base);
        w.projects[i].seq = 1;
        msg_free(p);
    }
    for (int i = 0; i < MODEL_VIEWS_MAX + 8; i++) {
        snprintf(groups[i], sizeof groups[i], "wg_%d", i % N_GROUPS);
        f[i] = (facts_filter){.year = 2019 + i / N_GROUPS, .group_id = groups[i]};
    }
    /* MODEL_VIEWS_MAX views fill the table */
    for (int i = 0; i < MODEL_VIEWS_MAX; i++)
        assert_non_null(first[i] = model_figures(m, &f[i]));
    /* asked again: the same view, not a new one */
    assert_ptr_equal(model_figures(m, &f[0]), first[0]);
    /* one more: it takes the place of the least recently asked (f[1], since
     * f[0] was just asked again) */
    assert_ptr_equal(model_figures(m, &f[MODEL_VIEWS_MAX]), first[1]);
    assert_ptr_equal(model_figures(m, &f[0]), first[0]);
    /* f[1] comes back in place of the least recently asked now, f[2] */
    assert_ptr_equal(model_figures(m, &f[1]), first[2]);

    /* changes reach every view kept; every answer is still right */
    for (int k = 0; k < 60; k++) {
        int i = pick(N_PROJECTS);
        Project *p = project_new(i);
        assert_int_equal(model_put_project(m, p, w.projects[i].seq + 1), 1);
        truth_set(&w.projects[i], &p->base);
        w.projects[i].seq++;
        msg_free(p);
    }
    fresh = fresh_of(&w);
    for (int i = MODEL_VIEWS_MAX + 7; i >= 0; i--) {
        char when[32];
        snprintf(when, sizeof when, "view %d", i);
        check_view(m, fresh, &w, &f[i], when);
    }
    model_free(fresh);
    model_free(m);
    world_clear(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_sequences),
        cmocka_unit_test(test_cancelled_money),
        cmocka_unit_test(test_donor_keys),
        cmocka_unit_test(test_entity_in_two_roles),
        cmocka_unit_test(test_put_rate_reconverts),
        cmocka_unit_test(test_new_like_and_carry),
        cmocka_unit_test(test_view_eviction),
        cmocka_unit_test(test_project_read_added),
        cmocka_unit_test(test_donor_named_by_first_spelling),
        cmocka_unit_test(test_property),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

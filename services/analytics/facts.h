/* facts.h: what analytics keeps of each entity, working group and project,
 * and the figures they add up to.
 *
 * Design
 * ------
 * Events carry the whole aggregate after each change. For every aggregate
 * analytics keeps its facts: the few things the figures need, in compact
 * form (a project's money per stage, per currency, per year and per donor,
 * with its US dollar equivalent; its groups, pillars, countries, partners
 * and indicator states). The figures (struct figures) are sums over the
 * facts, and a project's contribution to them is one function,
 * figures_add_project(), with a sign:
 *
 *   - the service's standing figures are kept up to date event by event:
 *     the project's old facts are added with sign -1, its new facts with +1;
 *   - a question with a filter (a year, a group, a pillar) adds, with +1,
 *     the facts of every project the filter keeps into fresh figures.
 *
 * So the same code answers both, and the standing figures are never
 * recomputed for a request. Money is integer minor units per currency, and
 * US dollar cents for the equivalent (rates.h); sums of int64 never overflow
 * within the limits the projects service keeps (10^14 minor units an amount).
 *
 * Pure functions on memory; no I/O, no threads.
 */
#ifndef COMPACT_ANALYTICS_FACTS_H
#define COMPACT_ANALYTICS_FACTS_H

#include <stddef.h>
#include <stdint.h>

#include "compact/membership/v1/membership.pb-c.h"
#include "compact/projects/v1/projects.pb-c.h"
#include "compact/workgroups/v1/workgroups.pb-c.h"
#include "rates.h"

/* The funding stages, in the order of compact.analytics.v1.Stages. */
enum stage {
    STAGE_PLEDGED,
    STAGE_COMMITTED,
    STAGE_RECEIVED,
    STAGE_DISBURSED,
    STAGE_SPENT,
    STAGE_CATALYTIC,
    STAGE_BUDGET,
    STAGES
};

#define FACTS_PILLARS 5  /* StrategyPillar values 1..4; 0 unused */
#define FACTS_STATUSES 7 /* ActivityStatus values 0..6 */
#define FACTS_KEY_SIZE 48

typedef struct stage_sums {
    int64_t v[STAGES];
} stage_sums;

typedef struct currency_sums {
    char currency[4];
    uint32_t code; /* the currency as a number that sorts as its text does */
    stage_sums s;
} currency_sums;

/* Money in any number of currencies, with its US dollar equivalent. */
typedef struct money_sum {
    currency_sums *cur; /* sorted by currency */
    size_t n, cap;
    stage_sums usd;
    int64_t unconverted; /* amounts with no rate: the equivalent is short of them */
} money_sum;

/* A row of a breakdown or a tally: a key, what counts under it. */
typedef struct fig_row {
    char key[FACTS_KEY_SIZE];
    int64_t projects;
    money_sum money;
    int64_t on_track, off_track, no_data; /* indicators */
} fig_row;

/* Rows by key, sorted. */
typedef struct fig_rows {
    fig_row *v;
    size_t n;
} fig_rows;

typedef struct cover_cell {
    char country[3]; /* "" for a global project */
    int pillar;
    int64_t projects;
    int64_t committed_usd;
} cover_cell;

/* The figures over a set of projects. Zero-initialised is empty. */
typedef struct figures {
    int64_t projects;
    int64_t by_status[FACTS_STATUSES];
    money_sum money;
    fig_rows by_group, by_entity, by_donor, by_year;
    fig_row by_pillar[FACTS_PILLARS];
    cover_cell *cover; /* sorted by country, then pillar */
    size_t n_cover;
    int64_t on_track, off_track, no_data;
} figures;

/* ---- the facts of one aggregate -------------------------------------------- */

#define FACTS_PERIODS_MAX 20 /* as many as membership keeps */
#define FACTS_DAY_SIZE 11    /* YYYY-MM-DD and NUL */
#define FACTS_LABEL_SIZE 128

/* One period of an entity's participation: a role from one day (included)
 * to another (excluded; "" while open). */
typedef struct fact_period {
    char from[FACTS_DAY_SIZE], to[FACTS_DAY_SIZE];
    int role; /* compact.membership.v1.ParticipationRole */
} fact_period;

typedef struct entity_facts {
    char id[FACTS_KEY_SIZE];
    uint64_t seq;
    char acronym[64];
    int affiliation; /* compact.membership.v1.Affiliation */
    int active;      /* not withdrawn */
    fact_period periods[FACTS_PERIODS_MAX];
    size_t n_periods;
} entity_facts;

typedef struct member_facts {
    char entity_id[FACTS_KEY_SIZE];
    int role; /* compact.analytics.v1.Role */
} member_facts;

typedef struct group_facts {
    char id[FACTS_KEY_SIZE];
    uint64_t seq;
    char code[24];
    char *title;
    int open;
    int pillars;           /* a bit per pillar */
    member_facts *members; /* chair, vice-chairs, members and observers */
    size_t n_members;
} group_facts;

typedef struct year_money {
    int year;
    money_sum money;
} year_money;

/* A donor's money in one year. */
typedef struct donor_money {
    unsigned short donor; /* index into donor_keys */
    int year;
    money_sum money;
} donor_money;

/* A transaction as the figures need it: enough to convert it again when a
 * rate changes (project_facts_reconvert). */
typedef struct fact_tx {
    char currency[4];
    char date[11];
    signed char stage;     /* enum stage */
    signed char catalytic; /* also counts as catalytic */
    unsigned short donor;  /* index into donor_keys */
    int64_t amount;
} fact_tx;

typedef struct project_facts {
    char id[FACTS_KEY_SIZE];
    uint64_t seq; /* the aggregate sequence of the state these came from */
    char *title;
    int status;
    int start_year, end_year; /* end 9999 while open-ended */
    char (*groups)[FACTS_KEY_SIZE];
    size_t n_groups;
    int pillars; /* a bit per pillar */
    char (*countries)[3];
    size_t n_countries;
    char (*partners)[FACTS_KEY_SIZE]; /* accountable and implementing entities */
    size_t n_partners;
    char (*entities)[FACTS_KEY_SIZE]; /* every participant */
    size_t n_entities;
    fact_tx *tx; /* the transactions that count in a stage */
    size_t n_tx, cap_tx;
    /* Sorted: two states of a project with the same donors number them
     * alike, so their money can be compared donor by donor. */
    char (*donor_keys)[FACTS_KEY_SIZE];    /* an entity id, "org:<ref>" or "name:<text>" */
    char (*donor_names)[FACTS_LABEL_SIZE]; /* the name of an "org:" or "name:" donor, else "" */
    size_t n_donor_keys, cap_donor_keys;   /* the room of both */
    char budget_currency[4];
    int64_t budget;
    char start_date[11];
    money_sum money;   /* every transaction, and the budget */
    year_money *years; /* per year of transaction (budget in the start year), sorted */
    size_t n_years, cap_years;
    donor_money *donors; /* per transaction provider and year, sorted by both */
    size_t n_donors, cap_donors;
    int64_t on_track, off_track, no_data;
    /* A hash of each transaction of the state, packed, in its order, when
     * known (project_read.h): what tells the transactions a later state
     * adds. */
    uint64_t *tx_hashes;
    size_t n_tx_hashes, cap_tx_hashes;
    int hashes_known;
} project_facts;

/* The facts of each kind of aggregate, from its state. Return 0 or -ENOMEM
 * (then *out holds nothing to free). */
int entity_facts_of(const Compact__Membership__V1__Entity *e, entity_facts *out);

/* The role (compact.membership.v1.ParticipationRole) the entity holds on
 * `day` (YYYY-MM-DD), or 0 when it does not take part that day. A withdrawn
 * entity takes part on no day after its withdrawal (membership ends its
 * period then). */
int entity_facts_role_on(const entity_facts *f, const char *day);
int group_facts_of(const Compact__Workgroups__V1__WorkingGroup *g, group_facts *out);
int project_facts_of(const Compact__Projects__V1__Project *p, const rates *r, project_facts *out);

/* What transactions added to a project brought: their facts alone (money,
 * per year, per donor; no budget), and which of their years the project had
 * no money in before. */
typedef struct facts_delta {
    project_facts added;
    unsigned char *fresh_year; /* per added.years */
} facts_delta;

/* 1 if `shell`, a state of the project without its transactions, leaves
 * everything of `held` but its transactions as it is (shape, title,
 * budget); 0 if not; -ENOMEM. */
int project_facts_fit(const project_facts *held, const Compact__Projects__V1__Project *shell);

/* Adds the transactions `added` to `f` in place (a change then costs what
 * it added, not the project's size) and tells in *delta what they brought
 * (facts_delta_clear it). Every allocation is made before `f` is touched:
 * 0, or -ENOMEM with `f` as it was. The facts equal those made at once from
 * every transaction (test_model). */
int project_facts_add(project_facts *f, const Compact__Projects__V1__Transaction *const *added,
                      size_t n, const rates *r, facts_delta *delta);
void facts_delta_clear(facts_delta *delta);

/* Gives `f` the hashes of its state's transactions (copied). 0 or -ENOMEM. */
int project_facts_set_hashes(project_facts *f, const uint64_t *hashes, size_t n);

/* Computes the money of `f` again from its transactions, at the rates `r`
 * (after a rate changed). Returns 0 or -ENOMEM (the money is then empty). */
int project_facts_reconvert(project_facts *f, const rates *r);

void group_facts_clear(group_facts *f);
void project_facts_clear(project_facts *f);

/* ---- figures ------------------------------------------------------------------- */

/* What a question keeps: 0 / "" for any. */
typedef struct facts_filter {
    int year;
    const char *group_id;
    int pillar;
} facts_filter;

/* 1 if the filter keeps project `p`: it names the group and the pillar and
 * runs in the year. */
int facts_filter_keeps(const facts_filter *f, const project_facts *p);

/* Adds (sign 1) or takes away (sign -1) the contribution of `p` to `fig`;
 * with a year in `f`, only that year's money counts (and the budget in the
 * project's start year). Returns 0 or -ENOMEM (then `fig` may be partly
 * changed: the caller rebuilds it). */
int figures_add_project(figures *fig, const project_facts *p, const facts_filter *f, int sign);

/* Replaces the contribution of `before` to `fig` with that of `after` (either
 * may be NULL: none), each where the filter keeps it. When the two differ in
 * money alone (a transaction recorded, the usual change), only the rows whose
 * money moved are touched: a change then costs what it changed, not the
 * project's size twice over. 0 or -ENOMEM (then `fig` may be partly changed:
 * the caller rebuilds it). */
int figures_replace_project(figures *fig, const project_facts *before, const project_facts *after,
                            const facts_filter *f);

/* Adds to `fig` what `delta` brought to project `p` (its facts with it,
 * project_facts_add), where the filter keeps `p`. 0 or -ENOMEM (then `fig`
 * may be partly changed: the caller rebuilds it). */
int figures_add_delta(figures *fig, const project_facts *p, const facts_delta *delta,
                      const facts_filter *f);

void figures_clear(figures *fig);

/* A donor key that fits in buf[size]: `full` ("<entity id>", "org:<ref>",
 * "name:<text>") as it is when it fits, else its start cut at a character
 * and "~<16 hex digits>" of a hash of the whole: keys of different donors
 * stay different. */
void facts_donor_key_fit(const char *full, char *buf, size_t size);

/* The row of `key` in `rows`, or NULL. */
const fig_row *fig_rows_find(const fig_rows *rows, const char *key);

/* Money arithmetic, exposed for the answers and the tests: dst += sign * src;
 * a currency whose sums all come to zero leaves dst. 0 or -ENOMEM. */
int money_add(money_sum *dst, const money_sum *src, int sign);
void money_clear(money_sum *m);

#endif

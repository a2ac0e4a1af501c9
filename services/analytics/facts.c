/* facts.c: the facts of entities, groups and projects, and the figures they
 * add up to (see facts.h). */
#include "facts.h"

#include "compact/analytics/v1/analytics.pb-c.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef Compact__Projects__V1__Project Project;
typedef Compact__Projects__V1__Transaction Transaction;

#define PTYPE(x) COMPACT__PROJECTS__V1__TRANSACTION_TYPE__TRANSACTION_TYPE_##x
#define ROLE(x) COMPACT__ANALYTICS__V1__ROLE__ROLE_##x

/* snprintf(dst, size, "%s", src) without the formatting machinery: the
 * facts of a project copy a dozen strings per transaction, each change. */
static void copy_str(char *dst, size_t size, const char *src)
{
    size_t len = strlen(src);

    if (len >= size)
        len = size - 1;
    memcpy(dst, src, len);
    dst[len] = '\0';
}

/* "%04d" of a year 0..9999 (snprintf was a visible part of every change). */
static void year_key(int year, char *key)
{
    if (year < 0 || year > 9999) {
        snprintf(key, 16, "%04d", year);
        return;
    }
    for (int i = 3; i >= 0; i--, year /= 10)
        key[i] = (char)('0' + year % 10);
    key[4] = '\0';
}

/* `v` with room for `need` items of `size` bytes, doubling, or NULL (then
 * `v` is as it was). The facts' arrays grow by one as a change is read, and
 * reallocating each time was a fifth of a change's cost. */
static void *reserve(void *v, size_t *cap, size_t need, size_t size)
{
    size_t grown_cap = *cap ? *cap : 1; /* most sums hold one currency */
    void *grown;

    if (need <= *cap)
        return v;
    while (grown_cap < need)
        grown_cap *= 2;
    if ((grown = realloc(v, grown_cap * size)) == NULL)
        return NULL;
    *cap = grown_cap;
    return grown;
}

/* ---- money ------------------------------------------------------------------ */

/* A currency code as a number that sorts as the code does ("EUR" < "USD"):
 * the sums are looked up by currency for every transaction and every row,
 * and a string comparison each time was the largest cost of a change. */
static uint32_t currency_code(const char *currency)
{
    uint32_t code = 0;

    for (int i = 0; i < 3; i++) {
        code = code << 8 | (unsigned char)*currency;
        if (*currency)
            currency++;
    }
    return code;
}

static int stages_empty(const stage_sums *s)
{
    for (int k = 0; k < STAGES; k++) {
        if (s->v[k] != 0)
            return 0;
    }
    return 1;
}

/* The slot of the currency `code` (text `currency`) in `m`, added (zero) if
 * missing; NULL on ENOMEM. */
static currency_sums *money_slot(money_sum *m, uint32_t code, const char *currency)
{
    size_t at = 0;
    currency_sums *grown;

    while (at < m->n && m->cur[at].code < code)
        at++;
    if (at < m->n && m->cur[at].code == code)
        return &m->cur[at];
    if ((grown = reserve(m->cur, &m->cap, m->n + 1, sizeof *grown)) == NULL)
        return NULL;
    m->cur = grown;
    memmove(&m->cur[at + 1], &m->cur[at], (m->n - at) * sizeof *m->cur);
    memset(&m->cur[at], 0, sizeof m->cur[at]);
    copy_str(m->cur[at].currency, sizeof m->cur[at].currency, currency);
    m->cur[at].code = code;
    m->n++;
    return &m->cur[at];
}

/* Drops the currencies whose sums came back to zero. After every change, an
 * addition too: otherwise a currency whose sums cancel out (a reversed
 * transaction) shows as a row of zeros in figures made in one pass and not in
 * the same figures kept change by change, once anything was taken away. */
static void money_prune(money_sum *m)
{
    size_t kept = 0;

    for (size_t i = 0; i < m->n; i++) {
        if (!stages_empty(&m->cur[i].s))
            m->cur[kept++] = m->cur[i];
    }
    m->n = kept;
}

int money_add(money_sum *dst, const money_sum *src, int sign)
{
    for (size_t i = 0; i < src->n; i++) {
        currency_sums *slot = money_slot(dst, src->cur[i].code, src->cur[i].currency);
        if (slot == NULL)
            return -ENOMEM;
        for (int k = 0; k < STAGES; k++)
            slot->s.v[k] += sign * src->cur[i].s.v[k];
    }
    for (int k = 0; k < STAGES; k++)
        dst->usd.v[k] += sign * src->usd.v[k];
    dst->unconverted += sign * src->unconverted;
    money_prune(dst);
    return 0;
}

void money_clear(money_sum *m)
{
    free(m->cur);
    memset(m, 0, sizeof *m);
}

/* 1 if `a` and `b` (NULL: nothing) hold the same money. */
static int money_equal(const money_sum *a, const money_sum *b)
{
    static const money_sum none;

    a = a ? a : &none;
    b = b ? b : &none;
    if (a->n != b->n || a->unconverted != b->unconverted ||
        memcmp(&a->usd, &b->usd, sizeof a->usd) != 0)
        return 0;
    for (size_t i = 0; i < a->n; i++) {
        if (a->cur[i].code != b->cur[i].code ||
            memcmp(&a->cur[i].s, &b->cur[i].s, sizeof a->cur[i].s))
            return 0;
    }
    return 1;
}

/* *d = after - before (NULL: nothing); d starts empty. 0 or -ENOMEM. */
static int money_diff(money_sum *d, const money_sum *after, const money_sum *before)
{
    int rc = after ? money_add(d, after, 1) : 0;

    return rc == 0 && before ? money_add(d, before, -1) : rc;
}

/* Adds `amount` of `currency` at `stage` with its equivalent `usd` (NULL:
 * no rate for it). */
static int money_put_converted(money_sum *m, const char *currency, int stage, int64_t amount,
                               const int64_t *usd)
{
    currency_sums *slot = money_slot(m, currency_code(currency), currency);

    if (slot == NULL)
        return -ENOMEM;
    slot->s.v[stage] += amount;
    if (usd)
        m->usd.v[stage] += *usd;
    else
        m->unconverted++;
    return 0;
}

/* Adds `amount` of `currency` at `stage`, dated `date`, with its equivalent. */
static int money_put(money_sum *m, const rates *r, const char *currency, const char *date,
                     int stage, int64_t amount)
{
    int64_t usd;
    int converted = rates_to_usd(r, currency, date, amount, &usd) == 0;

    return money_put_converted(m, currency, stage, amount, converted ? &usd : NULL);
}

/* ---- entities and groups ---------------------------------------------------- */

int entity_facts_of(const Compact__Membership__V1__Entity *e, entity_facts *out)
{
    memset(out, 0, sizeof *out);
    copy_str(out->id, sizeof out->id, e->id);
    copy_str(out->acronym, sizeof out->acronym, e->acronym);
    out->affiliation = (int)e->affiliation;
    out->active = e->status != COMPACT__MEMBERSHIP__V1__ENTITY_STATUS__ENTITY_STATUS_WITHDRAWN;
    for (size_t i = 0; i < e->n_participation && out->n_periods < FACTS_PERIODS_MAX; i++) {
        const Compact__Membership__V1__Participation *p = e->participation[i];
        fact_period *f = &out->periods[out->n_periods++];
        copy_str(f->from, sizeof f->from, p->from_date);
        copy_str(f->to, sizeof f->to, p->to_date);
        f->role = (int)p->role;
    }
    return 0;
}

int entity_facts_role_on(const entity_facts *f, const char *day)
{
    for (size_t i = 0; i < f->n_periods; i++) {
        const fact_period *p = &f->periods[i];
        if (strcmp(p->from, day) <= 0 && (p->to[0] == '\0' || strcmp(day, p->to) < 0))
            return p->role;
    }
    return 0;
}

static void group_add_member(group_facts *f, const char *entity_id, int role)
{
    member_facts *m = &f->members[f->n_members++];
    copy_str(m->entity_id, sizeof m->entity_id, entity_id);
    m->role = role;
}

int group_facts_of(const Compact__Workgroups__V1__WorkingGroup *g, group_facts *out)
{
    const Compact__Workgroups__V1__Leadership *l = g->leadership;
    size_t n = g->n_members + (l ? 1 + l->n_vice_chair_entity_ids : 0);

    memset(out, 0, sizeof *out);
    copy_str(out->id, sizeof out->id, g->id);
    copy_str(out->code, sizeof out->code, g->code);
    out->open = g->status != COMPACT__WORKGROUPS__V1__GROUP_STATUS__GROUP_STATUS_CLOSED;
    for (size_t i = 0; i < g->n_pillars; i++) {
        if (g->pillars[i] > 0 && g->pillars[i] < FACTS_PILLARS)
            out->pillars |= 1 << g->pillars[i];
    }
    out->title = strdup(g->title);
    out->members = calloc(n ? n : 1, sizeof *out->members);
    if (out->title == NULL || out->members == NULL) {
        group_facts_clear(out);
        return -ENOMEM;
    }
    if (l && l->chair_entity_id[0])
        group_add_member(out, l->chair_entity_id, ROLE(CHAIR));
    for (size_t i = 0; l && i < l->n_vice_chair_entity_ids; i++)
        group_add_member(out, l->vice_chair_entity_ids[i], ROLE(VICE_CHAIR));
    for (size_t i = 0; i < g->n_members; i++)
        group_add_member(out, g->members[i]->entity_id,
                         g->members[i]->role ==
                                 COMPACT__WORKGROUPS__V1__MEMBER_ROLE__MEMBER_ROLE_OBSERVER
                             ? ROLE(OBSERVER)
                             : ROLE(MEMBER));
    return 0;
}

void group_facts_clear(group_facts *f)
{
    free(f->title);
    free(f->members);
    memset(f, 0, sizeof *f);
}

/* ---- projects ----------------------------------------------------------------- */

/* The stage of a transaction type, or -1 for a type no stage counts. */
static int stage_of(int type)
{
    switch (type) {
    case PTYPE(INCOMING_PLEDGE):
        return STAGE_PLEDGED;
    case PTYPE(INCOMING_COMMITMENT):
        return STAGE_COMMITTED;
    case PTYPE(INCOMING_FUNDS):
        return STAGE_RECEIVED;
    case PTYPE(DISBURSEMENT):
        return STAGE_DISBURSED;
    case PTYPE(EXPENDITURE):
        return STAGE_SPENT;
    default:
        return -1;
    }
}

/* The year of a date ("YYYY-..."), or `dflt`: sscanf "%4d", read by hand
 * when the date starts with a digit (always, from projects), as it is for
 * every transaction of every change. */
static int year_of(const char *date, int dflt)
{
    int y = 0, n = 0;

    if (date == NULL)
        return dflt;
    if (date[0] < '0' || date[0] > '9')
        return sscanf(date, "%4d", &y) == 1 ? y : dflt;
    for (; n < 4 && date[n] >= '0' && date[n] <= '9'; n++)
        y = y * 10 + (date[n] - '0');
    return y;
}

/* The money of `year` in f->years (sorted by year), added if missing; NULL
 * on ENOMEM. A project has money in a handful of years: a linear search. */
static money_sum *year_slot(project_facts *f, int year)
{
    size_t at = 0;
    year_money *grown;

    while (at < f->n_years && f->years[at].year < year)
        at++;
    if (at < f->n_years && f->years[at].year == year)
        return &f->years[at].money;
    if ((grown = reserve(f->years, &f->cap_years, f->n_years + 1, sizeof *grown)) == NULL)
        return NULL;
    f->years = grown;
    memmove(&f->years[at + 1], &f->years[at], (f->n_years - at) * sizeof *f->years);
    memset(&f->years[at], 0, sizeof f->years[at]);
    f->years[at].year = year;
    f->n_years++;
    return &f->years[at].money;
}

void facts_donor_key_fit(const char *full, char *buf, size_t size)
{
    uint64_t h = 14695981039346656037ULL; /* FNV-1a, 64 bits */
    size_t len = strlen(full), cut;

    if (len < size) {
        memcpy(buf, full, len + 1);
        return;
    }
    for (const unsigned char *c = (const unsigned char *)full; *c; c++)
        h = (h ^ *c) * 1099511628211ULL;
    cut = size - 18; /* "~" and 16 hex digits and the NUL */
    while (cut > 0 && ((unsigned char)full[cut] & 0xC0) == 0x80)
        cut--; /* not inside a UTF-8 sequence */
    snprintf(buf, size, "%.*s~%016" PRIx64, (int)cut, full, h);
}

/* `prefix` and `text` into buf[size], cut to fit (snprintf "%s%s", which
 * was a visible part of every change). */
static void prefixed(char *buf, size_t size, const char *prefix, const char *text)
{
    size_t len = strlen(prefix);

    memcpy(buf, prefix, len + 1);
    copy_str(buf + len, size - len, text);
}

/* The donor of a transaction, as a key: its entity id; "org:<ref>" for an
 * organisation outside the Compact with an IATI identifier (the same
 * organisation under any spelling of its name is one donor), its name in
 * `name`; "name:<text>" for a donor named only (free text, or an
 * organisation without an identifier), the text in `name`; "unknown". A
 * key too long for `size` is cut and told apart by a hash
 * (facts_donor_key_fit): two donors never share a row. */
static void donor_key(const Transaction *t, char *buf, size_t size, const char **name)
{
    const Compact__Projects__V1__Organisation *o = t->provider_org;
    int pc = (int)t->provider_case;
    char full[512];

    *name = "";
    if (pc == COMPACT__PROJECTS__V1__TRANSACTION__PROVIDER_PROVIDER_ENTITY_ID) {
        copy_str(full, sizeof full, t->provider_entity_id);
    } else if (pc == COMPACT__PROJECTS__V1__TRANSACTION__PROVIDER_PROVIDER_NAME) {
        prefixed(full, sizeof full, "name:", t->provider_name);
        *name = t->provider_name;
    } else if (pc == COMPACT__PROJECTS__V1__TRANSACTION__PROVIDER_PROVIDER_ORG && o && o->ref[0]) {
        prefixed(full, sizeof full, "org:", o->ref);
        *name = o->name;
    } else if (pc == COMPACT__PROJECTS__V1__TRANSACTION__PROVIDER_PROVIDER_ORG && o) {
        prefixed(full, sizeof full, "name:", o->name);
        *name = o->name;
    } else {
        copy_str(full, sizeof full, "unknown");
    }
    facts_donor_key_fit(full, buf, size);
}

/* Donor `i` of `f`, named by the name that sorts first among those its
 * transactions give it (an organisation's name is spelt as each transaction
 * has it), a blank one only when none has another: the same whatever order
 * the transactions come in. Returns i. */
static int keep_first_name(project_facts *f, size_t i, const char *name)
{
    char cut[FACTS_LABEL_SIZE], *kept = f->donor_names[i];

    copy_str(cut, sizeof cut, name);
    if (cut[0] && (!kept[0] || strcmp(cut, kept) < 0))
        memcpy(kept, cut, sizeof cut);
    return (int)i;
}

/* The donors of a project as its transactions are read: keys in the order
 * met, and `order`, their indexes sorted by key, for a binary search. */
typedef struct donor_reading {
    unsigned short *order;
    size_t cap_keys, cap_names, cap_order;
} donor_reading;

/* The index of donor `key` in f->donor_keys (with its `name`, see
 * donor_key), added if new; -1 on ENOMEM. */
static int donor_index(project_facts *f, donor_reading *r, const char *key, const char *name)
{
    size_t lo = 0, hi = f->n_donor_keys, n = f->n_donor_keys;
    void *keys, *names, *order;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(f->donor_keys[r->order[mid]], key);
        if (c == 0)
            return keep_first_name(f, r->order[mid], name);
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (n >= 65535 ||
        (keys = reserve(f->donor_keys, &r->cap_keys, n + 1, sizeof *f->donor_keys)) == NULL)
        return -1;
    f->donor_keys = keys;
    if ((names = reserve(f->donor_names, &r->cap_names, n + 1, sizeof *f->donor_names)) == NULL)
        return -1;
    f->donor_names = names;
    if ((order = reserve(r->order, &r->cap_order, n + 1, sizeof *r->order)) == NULL)
        return -1;
    r->order = order;
    memmove(&r->order[lo + 1], &r->order[lo], (n - lo) * sizeof *r->order);
    r->order[lo] = (unsigned short)n;
    copy_str(f->donor_keys[n], sizeof *f->donor_keys, key);
    copy_str(f->donor_names[n], sizeof *f->donor_names, name);
    return (int)f->n_donor_keys++;
}

/* Puts f->donor_keys (and their names) in the order of r->order, and numbers
 * the transactions' donors so. 0 or -ENOMEM. */
static int donors_sort(project_facts *f, const donor_reading *r)
{
    size_t n = f->n_donor_keys;
    char(*keys)[FACTS_KEY_SIZE] = malloc((n ? n : 1) * sizeof *keys);
    char(*names)[FACTS_LABEL_SIZE] = malloc((n ? n : 1) * sizeof *names);
    unsigned short *rank = malloc((n ? n : 1) * sizeof *rank);

    if (keys == NULL || names == NULL || rank == NULL) {
        free(keys);
        free(names);
        free(rank);
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        memcpy(keys[i], f->donor_keys[r->order[i]], sizeof *keys);
        memcpy(names[i], f->donor_names[r->order[i]], sizeof *names);
        rank[r->order[i]] = (unsigned short)i;
    }
    for (size_t i = 0; i < f->n_tx; i++)
        f->tx[i].donor = rank[f->tx[i].donor];
    free(f->donor_keys);
    free(f->donor_names);
    free(rank);
    f->donor_keys = keys;
    f->donor_names = names;
    f->cap_donor_keys = n ? n : 1;
    return 0;
}

/* `t` as the figures need it, but for its donor: 1 if it counts in a stage,
 * else 0 (and *x is left as it was). */
static int fact_tx_of(const Transaction *t, fact_tx *x)
{
    int stage = stage_of(t->type);

    if (stage < 0 || t->value == NULL)
        return 0;
    copy_str(x->currency, sizeof x->currency, t->value->currency);
    copy_str(x->date, sizeof x->date, t->date);
    x->stage = (signed char)stage;
    x->catalytic = stage == STAGE_COMMITTED && t->catalytic;
    x->amount = t->value->amount_minor;
    return 1;
}

/* The transactions of `p` that count in a stage, into f->tx. */
static int keep_transactions(project_facts *f, const Project *p)
{
    char key[FACTS_KEY_SIZE];
    donor_reading r = {0};
    int rc = 0;

    if ((f->tx = calloc(p->n_transactions ? p->n_transactions : 1, sizeof *f->tx)) == NULL)
        return -ENOMEM;
    f->cap_tx = p->n_transactions ? p->n_transactions : 1;
    for (size_t i = 0; rc == 0 && i < p->n_transactions; i++) {
        const Transaction *t = p->transactions[i];
        fact_tx *x = &f->tx[f->n_tx];
        const char *name;
        int donor;
        if (!fact_tx_of(t, x))
            continue;
        donor_key(t, key, sizeof key, &name);
        if ((donor = donor_index(f, &r, key, name)) < 0) {
            rc = -ENOMEM;
            break;
        }
        x->donor = (unsigned short)donor;
        f->n_tx++;
    }
    if (rc == 0)
        rc = donors_sort(f, &r);
    free(r.order);
    return rc;
}

/* The money of `donor` in `year` in f->donors (sorted by both), added if
 * missing; NULL on ENOMEM. */
/* Where the money of `donor` in `year` is in f->donors (sorted by both), or
 * would go: *found says which. */
static size_t donor_position(const project_facts *f, unsigned short donor, int year, int *found)
{
    size_t lo = 0, hi = f->n_donors;

    *found = 0;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const donor_money *d = &f->donors[mid];
        if (d->donor == donor && d->year == year) {
            *found = 1;
            return mid;
        }
        if (d->donor < donor || (d->donor == donor && d->year < year))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static money_sum *donor_slot(project_facts *f, unsigned short donor, int year)
{
    int found;
    size_t lo = donor_position(f, donor, year, &found);
    donor_money *grown;

    if (found)
        return &f->donors[lo].money;
    if ((grown = reserve(f->donors, &f->cap_donors, f->n_donors + 1, sizeof *grown)) == NULL)
        return NULL;
    f->donors = grown;
    memmove(&f->donors[lo + 1], &f->donors[lo], (f->n_donors - lo) * sizeof *f->donors);
    memset(&f->donors[lo], 0, sizeof f->donors[lo]);
    f->donors[lo].donor = donor;
    f->donors[lo].year = year;
    f->n_donors++;
    return &f->donors[lo].money;
}

/* One transaction into the project's money, its year's and its donor's. */
static int add_transaction(project_facts *f, const rates *r, const fact_tx *x)
{
    int year = year_of(x->date, 0), rc = 0;
    money_sum *targets[3];

    targets[0] = &f->money;
    targets[1] = year_slot(f, year);
    targets[2] = donor_slot(f, x->donor, year);
    int64_t usd;
    const int64_t *converted =
        rates_to_usd(r, x->currency, x->date, x->amount, &usd) == 0 ? &usd : NULL;

    for (int i = 0; rc == 0 && i < 3; i++) { /* converted once for the three */
        if (targets[i] == NULL)
            return -ENOMEM;
        rc = money_put_converted(targets[i], x->currency, x->stage, x->amount, converted);
        if (rc == 0 && x->catalytic)
            rc =
                money_put_converted(targets[i], x->currency, STAGE_CATALYTIC, x->amount, converted);
    }
    return rc;
}

static void money_of_project_clear(project_facts *f)
{
    money_clear(&f->money);
    for (size_t i = 0; i < f->n_years; i++)
        money_clear(&f->years[i].money);
    free(f->years);
    for (size_t i = 0; i < f->n_donors; i++)
        money_clear(&f->donors[i].money);
    free(f->donors);
    f->years = NULL;
    f->donors = NULL;
    f->n_years = f->n_donors = f->cap_years = f->cap_donors = 0;
}

/* `v` (n items of `size` bytes, room for *cap) cut to its n items: the
 * facts of every project stay in memory, and doubling leaves up to half of
 * an array unused. */
static void *fit(void *v, size_t *cap, size_t n, size_t size)
{
    void *cut = n && n < *cap ? realloc(v, n * size) : NULL;

    if (cut == NULL)
        return v; /* a smaller block it could not have: keep the larger */
    *cap = n;
    return cut;
}

int project_facts_reconvert(project_facts *f, const rates *r)
{
    int rc = 0;

    money_of_project_clear(f);
    for (size_t i = 0; rc == 0 && i < f->n_tx; i++)
        rc = add_transaction(f, r, &f->tx[i]);
    if (rc == 0 && f->budget_currency[0]) {
        money_sum *y = year_slot(f, f->start_year);
        rc = money_put(&f->money, r, f->budget_currency, f->start_date, STAGE_BUDGET, f->budget);
        if (rc == 0)
            rc = y ? money_put(y, r, f->budget_currency, f->start_date, STAGE_BUDGET, f->budget)
                   : -ENOMEM;
    }
    if (rc != 0) { /* no money: the next state is read whole, not added to this */
        money_of_project_clear(f);
        f->hashes_known = 0;
        return rc;
    }
    f->years = fit(f->years, &f->cap_years, f->n_years, sizeof *f->years);
    f->donors = fit(f->donors, &f->cap_donors, f->n_donors, sizeof *f->donors);
    return 0;
}

static int copy_keys(char (**dst)[FACTS_KEY_SIZE], size_t *n, char *const *src, size_t count)
{
    if ((*dst = calloc(count ? count : 1, sizeof **dst)) == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < count; i++)
        copy_str((*dst)[i], sizeof **dst, src[i]);
    *n = count;
    return 0;
}

/* Adds `key` to keys[0..*n) unless it is there already. */
static void add_key_once(char (*keys)[FACTS_KEY_SIZE], size_t *n, const char *key)
{
    char k[FACTS_KEY_SIZE];

    copy_str(k, sizeof k, key);
    for (size_t i = 0; i < *n; i++) {
        if (strcmp(keys[i], k) == 0)
            return;
    }
    memcpy(keys[(*n)++], k, sizeof k);
}

/* Every participant once, and every partner once: an entity may hold
 * several roles in one project (accountable and implementing), each its own
 * participant, and still takes part in one project. */
static int add_participants(project_facts *f, const Project *p)
{
    f->entities = calloc(p->n_participants ? p->n_participants : 1, sizeof *f->entities);
    f->partners = calloc(p->n_participants ? p->n_participants : 1, sizeof *f->partners);
    if (f->entities == NULL || f->partners == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < p->n_participants; i++) {
        const Compact__Projects__V1__Participant *pt = p->participants[i];
        add_key_once(f->entities, &f->n_entities, pt->entity_id);
        if (pt->role == COMPACT__PROJECTS__V1__ORGANISATION_ROLE__ORGANISATION_ROLE_ACCOUNTABLE ||
            pt->role == COMPACT__PROJECTS__V1__ORGANISATION_ROLE__ORGANISATION_ROLE_IMPLEMENTING)
            add_key_once(f->partners, &f->n_partners, pt->entity_id);
    }
    return 0;
}

static void count_indicators(project_facts *f, const Project *p)
{
    for (size_t r = 0; r < p->n_results; r++) {
        for (size_t i = 0; i < p->results[r]->n_indicators; i++) {
            switch (p->results[r]->indicators[i]->state) {
            case COMPACT__PROJECTS__V1__INDICATOR_STATE__INDICATOR_STATE_ON_TRACK:
                f->on_track++;
                break;
            case COMPACT__PROJECTS__V1__INDICATOR_STATE__INDICATOR_STATE_OFF_TRACK:
                f->off_track++;
                break;
            default:
                f->no_data++;
                break;
            }
        }
    }
}

/* The facts of `p` but its transactions and money (its budget aside). 0 or
 * -ENOMEM (then *out holds things to free: project_facts_clear). */
static int project_shape(const Project *p, project_facts *out)
{
    int rc;

    memset(out, 0, sizeof *out);
    copy_str(out->id, sizeof out->id, p->id);
    out->status = (int)p->status >= 0 && p->status < FACTS_STATUSES ? (int)p->status : 0;
    out->start_year = year_of(p->start_date, 0);
    out->end_year = year_of(p->end_date, 9999);
    for (size_t i = 0; i < p->n_pillars; i++) {
        if (p->pillars[i] > 0 && p->pillars[i] < FACTS_PILLARS)
            out->pillars |= 1 << p->pillars[i];
    }
    count_indicators(out, p);
    if (p->budget && p->budget->currency[0]) {
        copy_str(out->budget_currency, sizeof out->budget_currency, p->budget->currency);
        out->budget = p->budget->amount_minor;
    }
    copy_str(out->start_date, sizeof out->start_date, p->start_date);
    rc = (out->title = strdup(p->title)) ? 0 : -ENOMEM;
    if (rc == 0)
        rc = copy_keys(&out->groups, &out->n_groups, p->working_group_ids, p->n_working_group_ids);
    if (rc == 0 && (out->countries = calloc(p->n_recipient_countries + 1, 3)) == NULL)
        rc = -ENOMEM;
    for (size_t i = 0; rc == 0 && i < p->n_recipient_countries; i++)
        copy_str(out->countries[out->n_countries++], 3, p->recipient_countries[i]);
    if (rc == 0)
        rc = add_participants(out, p);
    return rc;
}

int project_facts_of(const Project *p, const rates *r, project_facts *out)
{
    int rc = project_shape(p, out);

    if (rc == 0)
        rc = keep_transactions(out, p);
    if (rc == 0)
        rc = project_facts_reconvert(out, r);
    if (rc != 0)
        project_facts_clear(out);
    return rc;
}

/* ---- a project that gained transactions ------------------------------------------ */

/* Room in `v` (room for *cap items of `size` bytes) for `need` items (one
 * at least, so that NULL means ENOMEM), exactly: the facts of every project
 * stay in memory, and doubling would leave up to half of a project's arrays
 * unused. NULL on ENOMEM (then `v` is as it was). */
static void *reserve_exact(void *v, size_t *cap, size_t need, size_t size)
{
    void *grown;

    if (v && need <= *cap)
        return v;
    need = need > *cap ? need : *cap;
    need = need ? need : 1;
    if ((grown = realloc(v, need * size)) == NULL)
        return NULL;
    *cap = need;
    return grown;
}

/* As reserve_exact, with an eighth more room (and four): the arrays a
 * project's transactions grow, one a change, are moved every few changes
 * instead of at each. Grown by one at each change, they were moved at each,
 * every one apart from the others, and the heap kept the holes: 130 MiB
 * more at 1,000,000 transactions (bench/RESULTS.md). */
static void *reserve_ahead(void *v, size_t *cap, size_t need, size_t size)
{
    return v && need <= *cap ? v : reserve_exact(v, cap, need + need / 8 + 4, size);
}

/* Room in `m` for the currencies of `src` it does not have yet: only those
 * (a sum kept for every project, donor and year must not grow by what it
 * already has). */
static int money_room(money_sum *m, const money_sum *src)
{
    size_t missing = 0;
    void *cur;

    for (size_t i = 0; i < src->n; i++) {
        size_t k = 0;
        while (k < m->n && m->cur[k].code != src->cur[i].code)
            k++;
        missing += k == m->n;
    }
    if (missing == 0)
        return 0;
    if ((cur = reserve_exact(m->cur, &m->cap, m->n + missing, sizeof *m->cur)) == NULL)
        return -ENOMEM;
    m->cur = cur;
    return 0;
}

/* dst += src, currencies whose sums are zero kept (as the facts of a project
 * made at once keep them). Cannot fail when `dst` has room for src's
 * currencies (money_room). */
static void money_merge(money_sum *dst, const money_sum *src)
{
    for (size_t i = 0; i < src->n; i++) {
        currency_sums *slot = money_slot(dst, src->cur[i].code, src->cur[i].currency);
        for (int k = 0; k < STAGES; k++)
            slot->s.v[k] += src->cur[i].s.v[k];
    }
    for (int k = 0; k < STAGES; k++)
        dst->usd.v[k] += src->usd.v[k];
    dst->unconverted += src->unconverted;
}

static money_sum *year_money_of(project_facts *f, int year)
{
    for (size_t i = 0; i < f->n_years; i++) {
        if (f->years[i].year == year)
            return &f->years[i].money;
    }
    return NULL;
}

/* The index of donor `key` in f->donor_keys (sorted), or -1. */
static long donor_of(const project_facts *f, const char *key)
{
    for (size_t lo = 0, hi = f->n_donor_keys; lo < hi;) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(f->donor_keys[mid], key);
        if (c == 0)
            return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* The money of `donor` (-1: none) in `year`, or NULL. */
static money_sum *donor_money_of(project_facts *f, long donor, int year)
{
    int found = 0;
    size_t at = donor >= 0 ? donor_position(f, (unsigned short)donor, year, &found) : 0;

    return found ? &f->donors[at].money : NULL;
}

/* What merging `d` into `f` needs, allocated beforehand so that the merge
 * itself cannot fail: the donors' numbers in `f`, and the currencies of
 * the years and donors `f` does not have yet. */
typedef struct merge_room {
    unsigned short *donor;                 /* d's donor k is f's donor[k] */
    currency_sums **year_cur, **donor_cur; /* per d year / d donor: NULL if f has it */
} merge_room;

static void merge_room_clear(merge_room *room, const project_facts *d)
{
    for (size_t i = 0; room->year_cur && i < d->n_years; i++)
        free(room->year_cur[i]);
    for (size_t i = 0; room->donor_cur && i < d->n_donors; i++)
        free(room->donor_cur[i]);
    free(room->donor);
    free(room->year_cur);
    free(room->donor_cur);
}

/* Room for `m`'s currencies in `into` when it exists, else a block of its
 * own in *spare. */
static int money_room_for(money_sum *into, const money_sum *m, currency_sums **spare)
{
    if (into)
        return money_room(into, m);
    *spare = malloc((m->n ? m->n : 1) * sizeof **spare);
    return *spare ? 0 : -ENOMEM;
}

/* How many of d's donor keys, years and (donor, year) sums `f` lacks. */
static void count_missing(project_facts *f, const project_facts *d, size_t *keys, size_t *years,
                          size_t *donors)
{
    *keys = *years = *donors = 0;
    for (size_t i = 0; i < d->n_donor_keys; i++)
        *keys += donor_of(f, d->donor_keys[i]) < 0;
    for (size_t i = 0; i < d->n_years; i++)
        *years += year_money_of(f, d->years[i].year) == NULL;
    for (size_t i = 0; i < d->n_donors; i++) {
        const donor_money *x = &d->donors[i];
        *donors += donor_money_of(f, donor_of(f, d->donor_keys[x->donor]), x->year) == NULL;
    }
}

/* Every array of `f` with room for what merging `d` adds to it, exactly. */
static int grow_arrays(project_facts *f, const project_facts *d)
{
    size_t keys, years, donors, cap_names = f->cap_donor_keys;
    void *p;

    count_missing(f, d, &keys, &years, &donors);
    if (f->n_donor_keys + keys >= 65535)
        return -ENOMEM;
    if ((p = reserve_ahead(f->tx, &f->cap_tx, f->n_tx + d->n_tx, sizeof *f->tx)) == NULL)
        return -ENOMEM;
    f->tx = p;
    if ((p = reserve_ahead(f->donor_names, &cap_names, f->n_donor_keys + keys,
                           sizeof *f->donor_names)) == NULL)
        return -ENOMEM;
    f->donor_names = p;
    if ((p = reserve_ahead(f->donor_keys, &f->cap_donor_keys, f->n_donor_keys + keys,
                           sizeof *f->donor_keys)) == NULL)
        return -ENOMEM;
    f->donor_keys = p;
    if (cap_names != f->cap_donor_keys) /* the same room for both, or none */
        return -ENOMEM;
    if ((p = reserve_ahead(f->years, &f->cap_years, f->n_years + years, sizeof *f->years)) == NULL)
        return -ENOMEM;
    f->years = p;
    if ((p = reserve_ahead(f->donors, &f->cap_donors, f->n_donors + donors, sizeof *f->donors)) ==
        NULL)
        return -ENOMEM;
    f->donors = p;
    return 0;
}

/* Every allocation merging `d` into `f` makes; `f` is changed only in the
 * room it has. 0 or -ENOMEM. */
static int make_merge_room(project_facts *f, const project_facts *d, merge_room *room)
{
    int rc;

    memset(room, 0, sizeof *room);
    if ((rc = grow_arrays(f, d)) != 0)
        return rc;
    room->donor = calloc(d->n_donor_keys ? d->n_donor_keys : 1, sizeof *room->donor);
    room->year_cur = calloc(d->n_years ? d->n_years : 1, sizeof *room->year_cur);
    room->donor_cur = calloc(d->n_donors ? d->n_donors : 1, sizeof *room->donor_cur);
    if (room->donor == NULL || room->year_cur == NULL || room->donor_cur == NULL)
        return -ENOMEM;
    rc = money_room(&f->money, &d->money);
    for (size_t i = 0; rc == 0 && i < d->n_years; i++)
        rc = money_room_for(year_money_of(f, d->years[i].year), &d->years[i].money,
                            &room->year_cur[i]);
    for (size_t i = 0; rc == 0 && i < d->n_donors; i++) {
        const donor_money *x = &d->donors[i];
        rc = money_room_for(donor_money_of(f, donor_of(f, d->donor_keys[x->donor]), x->year),
                            &x->money, &room->donor_cur[i]);
    }
    return rc;
}

/* `m`, a slot just made or found, given its spare block if it has none. */
static void give_room(money_sum *m, currency_sums **spare, size_t cap)
{
    if (m->cur == NULL && *spare) {
        m->cur = *spare;
        m->cap = cap ? cap : 1;
        *spare = NULL;
    }
}

/* The index of donor `key` in f->donor_keys (sorted, with room for one more),
 * inserted in its place if new: the donors after it move up one, in the
 * transactions and the money per donor too. */
static int donor_insert(project_facts *f, const char *key, const char *name)
{
    size_t lo = 0, hi = f->n_donor_keys, n = f->n_donor_keys;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(f->donor_keys[mid], key);
        if (c == 0)
            return keep_first_name(f, mid, name);
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    memmove(&f->donor_keys[lo + 1], &f->donor_keys[lo], (n - lo) * sizeof *f->donor_keys);
    memmove(&f->donor_names[lo + 1], &f->donor_names[lo], (n - lo) * sizeof *f->donor_names);
    copy_str(f->donor_keys[lo], sizeof *f->donor_keys, key);
    copy_str(f->donor_names[lo], sizeof *f->donor_names, name);
    f->n_donor_keys++;
    for (size_t i = 0; i < f->n_tx; i++)
        f->tx[i].donor += f->tx[i].donor >= lo;
    for (size_t i = 0; i < f->n_donors; i++)
        f->donors[i].donor += f->donors[i].donor >= lo;
    return (int)lo;
}

/* `d` into `f`, in the room make_merge_room made: cannot fail. */
static void merge_facts(project_facts *f, const project_facts *d, merge_room *room)
{
    for (size_t k = 0; k < d->n_donor_keys; k++) /* may renumber f's donors */
        room->donor[k] = (unsigned short)donor_insert(f, d->donor_keys[k], d->donor_names[k]);
    for (size_t i = 0; i < d->n_tx; i++) {
        f->tx[f->n_tx] = d->tx[i];
        f->tx[f->n_tx++].donor = room->donor[d->tx[i].donor];
    }
    money_merge(&f->money, &d->money);
    for (size_t i = 0; i < d->n_years; i++) {
        money_sum *m = year_slot(f, d->years[i].year);
        give_room(m, &room->year_cur[i], d->years[i].money.n);
        money_merge(m, &d->years[i].money);
    }
    for (size_t i = 0; i < d->n_donors; i++) {
        const donor_money *x = &d->donors[i];
        money_sum *m = donor_slot(f, room->donor[x->donor], x->year);
        give_room(m, &room->donor_cur[i], x->money.n);
        money_merge(m, &x->money);
    }
}

int project_facts_add(project_facts *f, const Transaction *const *added, size_t n, const rates *r,
                      facts_delta *delta)
{
    Project only = COMPACT__PROJECTS__V1__PROJECT__INIT; /* the added transactions alone */
    project_facts *d = &delta->added;
    merge_room room = {0};
    int rc;

    memset(delta, 0, sizeof *delta);
    only.transactions = (Transaction **)added;
    only.n_transactions = n;
    rc = keep_transactions(d, &only);
    if (rc == 0)
        rc = project_facts_reconvert(d, r); /* no budget: d has none */
    if (rc == 0 && (delta->fresh_year = calloc(d->n_years ? d->n_years : 1, 1)) == NULL)
        rc = -ENOMEM;
    for (size_t i = 0; rc == 0 && i < d->n_years; i++)
        delta->fresh_year[i] = year_money_of(f, d->years[i].year) == NULL;
    if (rc == 0 && (rc = make_merge_room(f, d, &room)) == 0)
        merge_facts(f, d, &room);
    merge_room_clear(&room, d);
    if (rc != 0)
        facts_delta_clear(delta);
    return rc;
}

void facts_delta_clear(facts_delta *delta)
{
    project_facts_clear(&delta->added);
    free(delta->fresh_year);
    memset(delta, 0, sizeof *delta);
}

int project_facts_set_hashes(project_facts *f, const uint64_t *hashes, size_t n)
{
    uint64_t *room = reserve_ahead(f->tx_hashes, &f->cap_tx_hashes, n, sizeof *hashes);

    if (room == NULL)
        return -ENOMEM;
    if (n)
        memcpy(room, hashes, n * sizeof *hashes);
    f->tx_hashes = room;
    f->n_tx_hashes = n;
    f->hashes_known = 1;
    return 0;
}

void project_facts_clear(project_facts *f)
{
    free(f->title);
    free(f->groups);
    free(f->countries);
    free(f->partners);
    free(f->entities);
    free(f->tx);
    free(f->donor_keys);
    free(f->donor_names);
    free(f->tx_hashes);
    money_of_project_clear(f);
    memset(f, 0, sizeof *f);
}

/* ---- figures ------------------------------------------------------------------- */

int facts_filter_keeps(const facts_filter *f, const project_facts *p)
{
    int group = !f->group_id || !f->group_id[0];

    for (size_t i = 0; !group && i < p->n_groups; i++)
        group = strcmp(p->groups[i], f->group_id) == 0;
    return group && (f->pillar == 0 || (p->pillars & (1 << f->pillar))) &&
           (f->year == 0 || (p->start_year <= f->year && f->year <= p->end_year));
}

static fig_row *rows_slot(fig_rows *rows, const char *key)
{
    size_t lo = 0, hi = rows->n;
    fig_row *grown;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(rows->v[mid].key, key);
        if (c == 0)
            return &rows->v[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if ((grown = realloc(rows->v, (rows->n + 1) * sizeof *grown)) == NULL)
        return NULL;
    rows->v = grown;
    memmove(&rows->v[lo + 1], &rows->v[lo], (rows->n - lo) * sizeof *rows->v);
    memset(&rows->v[lo], 0, sizeof rows->v[lo]);
    copy_str(rows->v[lo].key, sizeof rows->v[lo].key, key);
    rows->n++;
    return &rows->v[lo];
}

const fig_row *fig_rows_find(const fig_rows *rows, const char *key)
{
    for (size_t i = 0; i < rows->n; i++) {
        if (strcmp(rows->v[i].key, key) == 0)
            return &rows->v[i];
    }
    return NULL;
}

static int row_is_empty(const fig_row *r)
{
    return r->projects == 0 && r->money.n == 0 && stages_empty(&r->money.usd) &&
           r->money.unconverted == 0 && r->on_track == 0 && r->off_track == 0 && r->no_data == 0;
}

/* Drops the rows that came back to nothing. */
static void rows_prune(fig_rows *rows)
{
    size_t kept = 0;

    for (size_t i = 0; i < rows->n; i++) {
        if (row_is_empty(&rows->v[i]))
            money_clear(&rows->v[i].money);
        else
            rows->v[kept++] = rows->v[i];
    }
    rows->n = kept;
}

/* After every change, an addition too: a donor's row whose money cancels out
 * is empty. */
static void figures_prune(figures *fig)
{
    rows_prune(&fig->by_group);
    rows_prune(&fig->by_entity);
    rows_prune(&fig->by_donor);
    rows_prune(&fig->by_year);
}

/* Adds sign * (one project, `m`, the project's indicators) to `r`. */
static int row_add(fig_row *r, const project_facts *p, const money_sum *m, int sign,
                   int count_project)
{
    if (r == NULL)
        return -ENOMEM;
    if (count_project) {
        r->projects += sign;
        r->on_track += sign * p->on_track;
        r->off_track += sign * p->off_track;
        r->no_data += sign * p->no_data;
    }
    return m ? money_add(&r->money, m, sign) : 0;
}

/* Cells in order of country, then pillar. */
static int cover_compare(const cover_cell *c, const char *country, int pillar)
{
    int by_country = strcmp(c->country, country);

    return by_country ? by_country : (c->pillar > pillar) - (c->pillar < pillar);
}

static cover_cell *cover_slot(figures *fig, const char *country, int pillar)
{
    size_t lo = 0, hi = fig->n_cover;
    cover_cell *grown;

    while (lo < hi) { /* every change looks up a cell per country and pillar */
        size_t mid = lo + (hi - lo) / 2;
        int c = cover_compare(&fig->cover[mid], country, pillar);
        if (c == 0)
            return &fig->cover[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if ((grown = realloc(fig->cover, (fig->n_cover + 1) * sizeof *grown)) == NULL)
        return NULL;
    fig->cover = grown;
    memmove(&fig->cover[lo + 1], &fig->cover[lo], (fig->n_cover - lo) * sizeof *fig->cover);
    memset(&fig->cover[lo], 0, sizeof fig->cover[lo]);
    copy_str(fig->cover[lo].country, sizeof fig->cover[lo].country, country);
    fig->cover[lo].pillar = pillar;
    fig->n_cover++;
    return &fig->cover[lo];
}

/* Adds `projects` and `committed_usd` to the cells of `p`: its countries (or
 * none: global) by its pillars. */
static int add_coverage(figures *fig, const project_facts *p, int64_t projects,
                        int64_t committed_usd)
{
    size_t n = p->n_countries ? p->n_countries : 1;

    for (size_t c = 0; c < n; c++) {
        for (int k = 1; k < FACTS_PILLARS; k++) {
            cover_cell *cell;
            if (!(p->pillars & (1 << k)))
                continue;
            if ((cell = cover_slot(fig, p->n_countries ? p->countries[c] : "", k)) == NULL)
                return -ENOMEM;
            cell->projects += projects;
            cell->committed_usd += committed_usd;
        }
    }
    if (projects < 0) { /* drop the cells that came back to nothing */
        size_t kept = 0;
        for (size_t i = 0; i < fig->n_cover; i++) {
            if (fig->cover[i].projects != 0 || fig->cover[i].committed_usd != 0)
                fig->cover[kept++] = fig->cover[i];
        }
        fig->n_cover = kept;
    }
    return 0;
}

/* The year rows of `p` (only the year of `f`, with one). */
static int add_years(figures *fig, const project_facts *p, const facts_filter *f, int sign)
{
    char key[16];
    int rc = 0;

    for (size_t i = 0; rc == 0 && i < p->n_years; i++) {
        if (f->year && p->years[i].year != f->year)
            continue;
        year_key(p->years[i].year, key);
        rc = row_add(rows_slot(&fig->by_year, key), p, &p->years[i].money, sign, 1);
    }
    return rc;
}

/* The donor rows of `p` (only the year of `f`, with one). A row is a donor,
 * all years together; the project's money per donor and year comes sorted by
 * donor, so each donor's row is looked up once. */
static int add_donors(figures *fig, const project_facts *p, const facts_filter *f, int sign)
{
    fig_row *row = NULL; /* the row of `donor`, the last looked up (a lookup may move rows) */
    unsigned short donor = 0;
    int rc = 0;

    for (size_t i = 0; rc == 0 && i < p->n_donors; i++) {
        const donor_money *d = &p->donors[i];
        if (f->year && d->year != f->year)
            continue;
        if (row == NULL || d->donor != donor)
            row = rows_slot(&fig->by_donor, p->donor_keys[donor = d->donor]);
        rc = row_add(row, p, &d->money, sign, 0);
    }
    return rc;
}

/* The money of `p` a question counts: all of it, or one year's. */
static const money_sum *money_of(const project_facts *p, const facts_filter *f)
{
    static const money_sum none;

    if (f->year == 0)
        return &p->money;
    for (size_t i = 0; i < p->n_years; i++) {
        if (p->years[i].year == f->year)
            return &p->years[i].money;
    }
    return &none;
}

int figures_add_project(figures *fig, const project_facts *p, const facts_filter *f, int sign)
{
    const money_sum *m = money_of(p, f);
    int rc;

    fig->projects += sign;
    fig->by_status[p->status] += sign;
    fig->on_track += sign * p->on_track;
    fig->off_track += sign * p->off_track;
    fig->no_data += sign * p->no_data;
    rc = money_add(&fig->money, m, sign);
    for (size_t i = 0; rc == 0 && i < p->n_groups; i++)
        rc = row_add(rows_slot(&fig->by_group, p->groups[i]), p, m, sign, 1);
    for (int k = 1; rc == 0 && k < FACTS_PILLARS; k++) {
        if (p->pillars & (1 << k))
            rc = row_add(&fig->by_pillar[k], p, m, sign, 1);
    }
    for (size_t i = 0; rc == 0 && i < p->n_entities; i++)
        rc = row_add(rows_slot(&fig->by_entity, p->entities[i]), p, NULL, sign, 1);
    for (size_t i = 0; rc == 0 && i < p->n_partners; i++)
        rc = row_add(rows_slot(&fig->by_entity, p->partners[i]), p, m, sign, 0);
    if (rc == 0)
        rc = add_years(fig, p, f, sign);
    if (rc == 0)
        rc = add_donors(fig, p, f, sign);
    if (rc == 0)
        rc = add_coverage(fig, p, sign, sign * m->usd.v[STAGE_COMMITTED]);
    figures_prune(fig);
    return rc;
}

/* ---- a change in money alone ----------------------------------------------------------- */

static int keys_equal(const char (*a)[FACTS_KEY_SIZE], size_t na, const char (*b)[FACTS_KEY_SIZE],
                      size_t nb)
{
    if (na != nb)
        return 0;
    for (size_t i = 0; i < na; i++) {
        if (strcmp(a[i], b[i]) != 0)
            return 0;
    }
    return 1;
}

/* 1 if `a` and `b` count in the same rows, cells and tallies, so that only
 * their money may differ. */
static int same_shape(const project_facts *a, const project_facts *b)
{
    if (a->status != b->status || a->start_year != b->start_year || a->end_year != b->end_year ||
        a->pillars != b->pillars || a->on_track != b->on_track || a->off_track != b->off_track ||
        a->no_data != b->no_data || a->n_countries != b->n_countries ||
        memcmp(a->countries, b->countries, a->n_countries * sizeof *a->countries) != 0)
        return 0;
    return keys_equal(a->groups, a->n_groups, b->groups, b->n_groups) &&
           keys_equal(a->partners, a->n_partners, b->partners, b->n_partners) &&
           keys_equal(a->entities, a->n_entities, b->entities, b->n_entities);
}

int project_facts_fit(const project_facts *held, const Project *shell)
{
    project_facts shaped;
    int rc = project_shape(shell, &shaped), fits;

    fits = rc == 0 && strcmp(held->id, shaped.id) == 0 && strcmp(held->title, shaped.title) == 0 &&
           same_shape(held, &shaped) && held->budget == shaped.budget &&
           strcmp(held->budget_currency, shaped.budget_currency) == 0 &&
           strcmp(held->start_date, shaped.start_date) == 0;
    project_facts_clear(&shaped);
    return rc ? rc : fits;
}

/* The money `d` moved into every row, cell and sum that counts all of the
 * project's money (or all of a year's, with a year filter). */
static int move_money(figures *fig, const project_facts *p, const money_sum *d)
{
    int rc = money_add(&fig->money, d, 1);

    for (size_t i = 0; rc == 0 && i < p->n_groups; i++)
        rc = row_add(rows_slot(&fig->by_group, p->groups[i]), p, d, 1, 0);
    for (int k = 1; rc == 0 && k < FACTS_PILLARS; k++) {
        if (p->pillars & (1 << k))
            rc = row_add(&fig->by_pillar[k], p, d, 1, 0);
    }
    for (size_t i = 0; rc == 0 && i < p->n_partners; i++)
        rc = row_add(rows_slot(&fig->by_entity, p->partners[i]), p, d, 1, 0);
    if (rc == 0 && d->usd.v[STAGE_COMMITTED] != 0)
        rc = add_coverage(fig, p, 0, d->usd.v[STAGE_COMMITTED]);
    return rc;
}

/* Adds after - before to `row`: `projects` more projects, and the money. */
static int move_row(fig_row *row, const project_facts *p, int projects, const money_sum *after,
                    const money_sum *before)
{
    money_sum d = {0};
    int rc;

    if (row == NULL)
        return -ENOMEM;
    if ((rc = row_add(row, p, NULL, projects, projects != 0)) == 0 &&
        (rc = money_diff(&d, after, before)) == 0)
        rc = money_add(&row->money, &d, 1);
    money_clear(&d);
    return rc;
}

/* The year rows, where a year's money moved (or the project came to have
 * money in a year, or no longer has). */
static int move_years(figures *fig, const project_facts *before, const project_facts *after,
                      const facts_filter *f)
{
    size_t i = 0, k = 0;
    char key[16];
    int rc = 0;

    while (rc == 0 && (i < before->n_years || k < after->n_years)) {
        const year_money *b = i < before->n_years ? &before->years[i] : NULL;
        const year_money *a = k < after->n_years ? &after->years[k] : NULL;
        int year = !a || (b && b->year < a->year) ? b->year : a->year;
        a = a && a->year == year ? a : NULL;
        b = b && b->year == year ? b : NULL;
        i += b != NULL;
        k += a != NULL;
        if ((f->year && year != f->year) || (a && b && money_equal(&a->money, &b->money)))
            continue;
        year_key(year, key);
        rc = move_row(rows_slot(&fig->by_year, key), after, (a != NULL) - (b != NULL),
                      a ? &a->money : NULL, b ? &b->money : NULL);
    }
    return rc;
}

/* The donor rows, where a donor's money moved; both states have the same
 * donors, numbered alike (their keys are sorted). */
static int move_donors(figures *fig, const project_facts *before, const project_facts *after,
                       const facts_filter *f)
{
    size_t i = 0, k = 0;
    int rc = 0;

    while (rc == 0 && (i < before->n_donors || k < after->n_donors)) {
        const donor_money *b = i < before->n_donors ? &before->donors[i] : NULL;
        const donor_money *a = k < after->n_donors ? &after->donors[k] : NULL;
        int b_first =
            !a || (b && (b->donor < a->donor || (b->donor == a->donor && b->year < a->year)));
        const donor_money *first = b_first ? b : a;
        unsigned short donor = first->donor;
        int year = first->year;
        a = a && a->donor == donor && a->year == year ? a : NULL;
        b = b && b->donor == donor && b->year == year ? b : NULL;
        i += b != NULL;
        k += a != NULL;
        if ((f->year && year != f->year) || (a && b && money_equal(&a->money, &b->money)))
            continue;
        rc = move_row(rows_slot(&fig->by_donor, after->donor_keys[donor]), after, 0,
                      a ? &a->money : NULL, b ? &b->money : NULL);
    }
    return rc;
}

/* `before` replaced by `after` of the same shape: the money moved alone. */
static int figures_move_project(figures *fig, const project_facts *before,
                                const project_facts *after, const facts_filter *f)
{
    const money_sum *was = money_of(before, f), *is = money_of(after, f);
    money_sum d = {0};
    int rc = 0;

    if (!money_equal(was, is) && (rc = money_diff(&d, is, was)) == 0)
        rc = move_money(fig, after, &d);
    money_clear(&d);
    if (rc == 0)
        rc = move_years(fig, before, after, f);
    if (rc == 0 && keys_equal(before->donor_keys, before->n_donor_keys, after->donor_keys,
                              after->n_donor_keys))
        rc = move_donors(fig, before, after, f);
    else if (rc == 0 && (rc = add_donors(fig, before, f, -1)) == 0)
        rc = add_donors(fig, after, f, 1);
    figures_prune(fig);
    return rc;
}

int figures_add_delta(figures *fig, const project_facts *p, const facts_delta *delta,
                      const facts_filter *f)
{
    const project_facts *d = &delta->added;
    char key[16];
    int rc;

    if (!facts_filter_keeps(f, p))
        return 0;
    rc = move_money(fig, p, money_of(d, f));
    for (size_t i = 0; rc == 0 && i < d->n_years; i++) {
        if (f->year && d->years[i].year != f->year)
            continue;
        year_key(d->years[i].year, key); /* a year the project is new to counts it */
        rc = row_add(rows_slot(&fig->by_year, key), p, &d->years[i].money, 1, delta->fresh_year[i]);
    }
    for (size_t i = 0; rc == 0 && i < d->n_donors; i++) {
        const donor_money *x = &d->donors[i];
        if (f->year && x->year != f->year)
            continue;
        rc = row_add(rows_slot(&fig->by_donor, d->donor_keys[x->donor]), p, &x->money, 1, 0);
    }
    figures_prune(fig);
    return rc;
}

int figures_replace_project(figures *fig, const project_facts *before, const project_facts *after,
                            const facts_filter *f)
{
    int rc = 0;

    before = before && facts_filter_keeps(f, before) ? before : NULL;
    after = after && facts_filter_keeps(f, after) ? after : NULL;
    if (before && after && same_shape(before, after))
        return figures_move_project(fig, before, after, f);
    if (before)
        rc = figures_add_project(fig, before, f, -1);
    if (rc == 0 && after)
        rc = figures_add_project(fig, after, f, 1);
    return rc;
}

static void rows_clear(fig_rows *rows)
{
    for (size_t i = 0; i < rows->n; i++)
        money_clear(&rows->v[i].money);
    free(rows->v);
    rows->v = NULL;
    rows->n = 0;
}

void figures_clear(figures *fig)
{
    money_clear(&fig->money);
    rows_clear(&fig->by_group);
    rows_clear(&fig->by_entity);
    rows_clear(&fig->by_donor);
    rows_clear(&fig->by_year);
    for (int k = 0; k < FACTS_PILLARS; k++)
        money_clear(&fig->by_pillar[k].money);
    free(fig->cover);
    memset(fig, 0, sizeof *fig);
}

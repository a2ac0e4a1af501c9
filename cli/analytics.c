/* analytics.c: `compactctl analytics ...`, the client of
 * compact.analytics.v1.Analytics.
 *
 *   analytics overview            GetOverview: entities, groups, projects by
 *                                 status, money by funding stage
 *   analytics funding --by K      GetFundingBreakdown by group, pillar,
 *                                 entity, donor or year
 *   analytics alerts              ListDuplicationAlerts
 *   analytics rebuild             Rebuild: every figure again from the sources
 *   analytics rates list|put      ListExchangeRates, PutExchangeRate
 *
 * The three questions take the same filters: --year, --group (an id, or a
 * code looked up among the groups analytics itself knows, so that they need
 * the analytics address alone) and --pillar. Every answer starts with its
 * freshness line (as of when, the lag, the events applied, whether the
 * sources' streams were read lately): the figures are kept from events, not
 * computed for the question.
 *
 * Money arrives as integer minor units per currency and is printed in major
 * units by digits (output_money); the row "USD*" is the US dollar
 * equivalent at the dated exchange rates. A rate is typed as a decimal
 * ("1.08") and turned into US dollar millionths by digits too: no floating
 * point number ever holds money or a rate. Ratios (delivery, the catalytic
 * share) are doubles from the server, printed as percentages.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "compact/analytics/v1/analytics.pb-c.h"
#include "pbjson.h"

typedef Compact__Analytics__V1__Freshness an_freshness;
typedef Compact__Analytics__V1__Filter an_filter;
typedef Compact__Analytics__V1__Stages an_stages;
typedef Compact__Analytics__V1__Money an_money;
typedef Compact__Analytics__V1__ExchangeRate an_rate;

static const char analytics_service[] = "analytics";
static const ProtobufCServiceDescriptor *const analytics_svc =
    &compact__analytics__v1__analytics__descriptor;

#define ANALYTICS_MICROS_DECIMALS 6
#define ANALYTICS_CELL 48 /* one printed amount, percentage or label */

static const char *const analytics_pillars[] = {"", "I", "II", "III", "IV"};

/* ---- flags ----------------------------------------------------------------- */

/* What the flags of one command asked for. */
typedef struct an_draft {
    int year, pillar, by, limit;
    const char *group; /* as typed: an id or a code; NULL: every group */
} an_draft;

enum { AN_YEAR = 'y', AN_GROUP = 'g', AN_PILLAR = 'P', AN_BY = 'b', AN_LIMIT = 'l' };

#define AN_FILTER_OPTS                                                                             \
    {"year", required_argument, NULL, AN_YEAR}, {"group", required_argument, NULL, AN_GROUP},      \
    {                                                                                              \
        "pillar", required_argument, NULL, AN_PILLAR                                               \
    }

static const struct option analytics_overview_opts[] = {AN_FILTER_OPTS, {0}};
static const struct option analytics_funding_opts[] = {
    {"by", required_argument, NULL, AN_BY}, AN_FILTER_OPTS, {0}};
static const struct option analytics_alerts_opts[] = {
    {"limit", required_argument, NULL, AN_LIMIT}, AN_FILTER_OPTS, {0}};

static const struct {
    const char *name, *header;
    int value;
} analytics_bys[] = {
    {"group", "GROUP", COMPACT__ANALYTICS__V1__BREAKDOWN_BY__BREAKDOWN_BY_GROUP},
    {"pillar", "PILLAR", COMPACT__ANALYTICS__V1__BREAKDOWN_BY__BREAKDOWN_BY_PILLAR},
    {"entity", "ENTITY", COMPACT__ANALYTICS__V1__BREAKDOWN_BY__BREAKDOWN_BY_ENTITY},
    {"donor", "DONOR", COMPACT__ANALYTICS__V1__BREAKDOWN_BY__BREAKDOWN_BY_DONOR},
    {"year", "YEAR", COMPACT__ANALYTICS__V1__BREAKDOWN_BY__BREAKDOWN_BY_YEAR},
};

#define ANALYTICS_NBYS (sizeof analytics_bys / sizeof analytics_bys[0])

/* A whole number from lo to hi, all of `s`: 0, or -EINVAL. */
static int analytics_int(const char *s, long lo, long hi, int *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -EINVAL;
    *out = (int)v;
    return 0;
}

static int analytics_flag(cli_ctx *ctx, void *draft, int c, char *v)
{
    an_draft *d = draft;

    switch (c) {
    case AN_YEAR:
        if (analytics_int(v, 1, 9999, &d->year) != 0)
            return cli_usage_error(ctx, "--year: expected a year such as 2021, got \"%s\"", v);
        return 0;
    case AN_GROUP:
        d->group = v;
        return 0;
    case AN_PILLAR:
        for (int p = 1; p <= 4; p++) {
            char digit[2] = {(char)('0' + p), '\0'};
            if (strcasecmp(v, analytics_pillars[p]) == 0 || strcmp(v, digit) == 0) {
                d->pillar = p;
                return 0;
            }
        }
        return cli_usage_error(ctx, "--pillar: expected I, II, III or IV, got \"%s\"", v);
    case AN_BY:
        for (size_t i = 0; i < ANALYTICS_NBYS; i++) {
            if (strcasecmp(v, analytics_bys[i].name) == 0) {
                d->by = analytics_bys[i].value;
                return 0;
            }
        }
        return cli_usage_error(
            ctx, "--by: expected group, pillar, entity, donor or year, got \"%s\"", v);
    case AN_LIMIT:
        if (analytics_int(v, 1, 100, &d->limit) != 0)
            return cli_usage_error(ctx, "--limit: expected 1 to 100, got \"%s\"", v);
        return 0;
    default:
        return -1;
    }
}

/* The flags of `opts` into *d, then no argument. -1 to go on, else the exit
 * status. */
static int analytics_flags(cli_ctx *ctx, int argc, char **argv, const struct option *opts,
                           an_draft *d)
{
    int rc = cli_parse_flags(ctx, argc, argv, opts, analytics_flag, d);

    if (rc == -1 && optind < argc)
        return cli_usage_error(ctx, "unexpected argument \"%s\"", argv[optind]);
    return rc;
}

/* ---- the filter ------------------------------------------------------------- */

/* The id of group `key`: itself if it starts with "wg_", else the group with
 * this code (any case) among those analytics knows (GetParticipation lists
 * them all). 0 and *id (caller frees), or an exit status after saying why. */
static int analytics_resolve_group(cli_ctx *ctx, const char *key, char **id)
{
    Compact__Analytics__V1__GetParticipationRequest req =
        COMPACT__ANALYTICS__V1__GET_PARTICIPATION_REQUEST__INIT;
    const Compact__Analytics__V1__Participation *p;
    call_result res;
    int rc;

    *id = NULL;
    if (strncmp(key, "wg_", 3) == 0)
        return (*id = strdup(key)) ? 0 : output_oom();
    if ((rc = cli_call(ctx, analytics_service, analytics_svc, "GetParticipation", &req.base,
                       &res)) != 0)
        return rc;
    p = (const void *)res.reply;
    for (size_t i = 0; i < p->n_groups && !*id; i++) {
        if (strcasecmp(p->groups[i]->code, key) == 0 && !(*id = strdup(p->groups[i]->id)))
            rc = output_oom();
    }
    call_result_clear(&res);
    if (rc == 0 && !*id) {
        fprintf(stderr,
                "compactctl: NOT_FOUND: --group: analytics knows no working group with code "
                "\"%s\"\n",
                key);
        rc = CLI_EXIT_FAIL;
    }
    return rc;
}

/* The Filter of the draft into *f; its group id is *group_id (caller frees;
 * NULL without --group). 0 or an exit status. */
static int analytics_filter(cli_ctx *ctx, const an_draft *d, an_filter *f, char **group_id)
{
    int rc;

    *group_id = NULL;
    f->year = d->year;
    f->pillar = d->pillar;
    if (d->group && (rc = analytics_resolve_group(ctx, d->group, group_id)) != 0)
        return rc;
    if (*group_id)
        f->working_group_id = *group_id;
    return 0;
}

/* ---- printing --------------------------------------------------------------- */

/* "as of 2026-03-01T10:00:00Z, lag 12 ms, 345 events applied, sources reachable". */
static const char *analytics_freshness(const an_freshness *f, char *buf, size_t len)
{
    char when[32], lag[32];

    if (!f)
        return "unknown (the reply has none)";
    output_time(f->as_of, when, sizeof when);
    if (f->event_lag_ms < 0)
        snprintf(lag, sizeof lag, "-");
    else
        snprintf(lag, sizeof lag, "%lld ms", (long long)f->event_lag_ms);
    snprintf(buf, len, "as of %s, lag %s, %llu events applied, sources %s",
             when[0] ? when : "- (no event applied yet)", lag,
             (unsigned long long)f->events_applied,
             f->sources_reachable ? "reachable" : "not reachable");
    return buf;
}

/* "year 2021, group BMLE (wg_...), pillar II", or NULL for no filter. */
static const char *analytics_filter_text(const an_draft *d, const char *group_id, char *buf,
                                         size_t len)
{
    size_t at = 0;

    buf[0] = '\0';
    if (d->year)
        at += (size_t)snprintf(buf + at, len - at, "year %d", d->year);
    if (group_id && at < len) {
        if (strcmp(d->group, group_id) == 0)
            at += (size_t)snprintf(buf + at, len - at, "%sgroup %s", at ? ", " : "", group_id);
        else
            at += (size_t)snprintf(buf + at, len - at, "%sgroup %s (%s)", at ? ", " : "", d->group,
                                   group_id);
    }
    if (d->pillar && at < len)
        snprintf(buf + at, len - at, "%spillar %s", at ? ", " : "", analytics_pillars[d->pillar]);
    return buf[0] ? buf : NULL;
}

/* The field lines every answer starts with, into `t`: freshness, and the
 * filter if any (cells are copied). */
static void analytics_add_head(output_table *t, const an_freshness *f, const an_draft *d,
                               const char *group_id)
{
    char fresh[160], filter[160];

    output_table_field(t, "freshness", analytics_freshness(f, fresh, sizeof fresh));
    output_table_field(t, "filter", analytics_filter_text(d, group_id, filter, sizeof filter));
}

/* Prints and frees `t` (NULL: it could not be made). 0, or CLI_EXIT_FAIL
 * after saying "out of memory". */
static int analytics_emit(output_table *t)
{
    int rc = t ? output_table_print(t, stdout) : -ENOMEM;

    if (!t)
        output_oom();
    output_table_free(t);
    return rc == 0 ? 0 : CLI_EXIT_FAIL;
}

/* The head alone, and a blank line: above a table. 0 or CLI_EXIT_FAIL. */
static int analytics_print_head(const an_freshness *f, const an_draft *d, const char *group_id)
{
    output_table *t = output_table_new(NULL, 2);

    if (t)
        analytics_add_head(t, f, d, group_id);
    if (analytics_emit(t) != 0)
        return CLI_EXIT_FAIL;
    putchar('\n');
    return 0;
}

static const char *const analytics_money_headers[] = {"CURRENCY",  "BUDGET",   "PLEDGED",
                                                      "COMMITTED", "RECEIVED", "DISBURSED",
                                                      "SPENT",     "GAP",      "DELIVERY"};

#define ANALYTICS_MONEY_COLS (sizeof analytics_money_headers / sizeof analytics_money_headers[0])
#define ANALYTICS_MAX_LEAD 2 /* cells before the money of a row */

/* Appends a row: the `nlead` cells of `lead`, then the currency and amounts
 * of `s`. 0 or -ENOMEM. */
static int analytics_add_stages(output_table *t, const char *const *lead, size_t nlead,
                                const an_stages *s)
{
    const int64_t amounts[] = {s->budget_minor,     s->pledged_minor,   s->committed_minor,
                               s->received_minor,   s->disbursed_minor, s->spent_minor,
                               s->funding_gap_minor};
    char cells[ANALYTICS_MONEY_COLS][ANALYTICS_CELL];
    const char *row[ANALYTICS_MAX_LEAD + ANALYTICS_MONEY_COLS];
    size_t n = 0;

    for (size_t i = 0; i < nlead; i++)
        row[n++] = lead[i];
    row[n++] = s->currency;
    for (size_t i = 0; i < sizeof amounts / sizeof amounts[0]; i++)
        row[n++] = output_money(s->currency, amounts[i], 0, cells[i], sizeof cells[i]);
    if (s->committed_minor > 0)
        snprintf(cells[ANALYTICS_MONEY_COLS - 1], ANALYTICS_CELL, "%.1f%%",
                 s->delivery_rate * 100.0);
    else
        snprintf(cells[ANALYTICS_MONEY_COLS - 1], ANALYTICS_CELL, "-");
    row[n++] = cells[ANALYTICS_MONEY_COLS - 1];
    return output_table_add(t, row);
}

/* Appends a money's rows: one per currency, then "USD*". The first row gets
 * `lead`, the others empty lead cells. Returns whether the equivalent was
 * complete (every amount had a rate). */
static int analytics_add_money(output_table *t, const char *const *lead, size_t nlead,
                               const an_money *m)
{
    static const char *const blank[ANALYTICS_MAX_LEAD] = {"", ""};
    size_t rows = 0;

    if (!m)
        return 1;
    for (size_t i = 0; i < m->n_by_currency; i++)
        analytics_add_stages(t, rows++ ? blank : lead, nlead, m->by_currency[i]);
    if (m->usd)
        analytics_add_stages(t, rows++ ? blank : lead, nlead, m->usd);
    return m->usd_complete;
}

static void analytics_print_usd_note(int complete)
{
    printf("USD*: the US dollar equivalent at the dated exchange rates (compactctl analytics "
           "rates list)%s\n",
           complete ? "" : "; incomplete: amounts in a currency without a rate are left out");
}

/* Prints a reply for people: 0, or CLI_EXIT_FAIL after saying why. */
typedef int (*analytics_print_fn)(const ProtobufCMessage *reply, const an_draft *d,
                                  const char *group_id);

/* Calls `method` with `req`; with --json prints the reply, else `print`. */
static int analytics_ask(cli_ctx *ctx, const char *method, const ProtobufCMessage *req,
                         analytics_print_fn print, const an_draft *d, const char *group_id)
{
    call_result res;
    int rc = cli_call(ctx, analytics_service, analytics_svc, method, req, &res);

    if (rc != 0)
        return rc;
    if (ctx->json)
        rc = output_json(pbjson_from_message(res.reply));
    else
        rc = print(res.reply, d, group_id);
    call_result_clear(&res);
    return rc;
}

/* ---- analytics overview -------------------------------------------------------- */

static int analytics_print_overview(const ProtobufCMessage *reply, const an_draft *d,
                                    const char *group_id)
{
    static const char *const status_headers[] = {"STATUS", "PROJECTS"};
    const Compact__Analytics__V1__Overview *o = (const void *)reply;
    char num[6][24], share[ANALYTICS_CELL];
    const int64_t counts[] = {o->entities,    o->members,         o->observers,
                              o->un_entities, o->non_un_entities, o->working_groups};
    static const char *const names[] = {"entities",    "members",         "observers",
                                        "un_entities", "non_un_entities", "working_groups"};
    output_table *fields = output_table_new(NULL, 2);
    output_table *status = output_table_new(status_headers, 2);
    output_table *money = output_table_new(analytics_money_headers, ANALYTICS_MONEY_COLS);
    int complete, rc;

    if (!fields || !status || !money) {
        output_table_free(fields);
        output_table_free(status);
        output_table_free(money);
        return output_oom();
    }
    analytics_add_head(fields, o->freshness, d, group_id);
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        snprintf(num[i], sizeof num[i], "%lld", (long long)counts[i]);
        output_table_field(fields, names[i], num[i]);
    }
    snprintf(num[0], sizeof num[0], "%lld", (long long)o->projects);
    output_table_field(fields, "projects", num[0]);
    snprintf(share, sizeof share, "%.1f%% of committed (USD*)", o->catalytic_share * 100.0);
    output_table_field(fields, "catalytic_share", share);
    for (size_t i = 0; i < o->n_projects_by_status; i++) {
        const Compact__Analytics__V1__Count *c = o->projects_by_status[i];
        char n[24];
        snprintf(n, sizeof n, "%lld", (long long)c->count);
        const char *cells[] = {c->label, n};
        output_table_add(status, cells);
    }
    complete = analytics_add_money(money, NULL, 0, o->money);
    rc = analytics_emit(fields);
    putchar('\n');
    rc |= analytics_emit(status);
    putchar('\n');
    rc |= analytics_emit(money);
    if (rc == 0)
        analytics_print_usd_note(complete);
    return rc ? CLI_EXIT_FAIL : 0;
}

static int analytics_cmd_overview(cli_ctx *ctx, int argc, char **argv)
{
    Compact__Analytics__V1__GetOverviewRequest req =
        COMPACT__ANALYTICS__V1__GET_OVERVIEW_REQUEST__INIT;
    an_filter filter = COMPACT__ANALYTICS__V1__FILTER__INIT;
    an_draft d = {0};
    char *group_id;
    int rc = analytics_flags(ctx, argc, argv, analytics_overview_opts, &d);

    if (rc != -1)
        return rc;
    if ((rc = analytics_filter(ctx, &d, &filter, &group_id)) != 0)
        return rc;
    req.filter = &filter;
    rc = analytics_ask(ctx, "GetOverview", &req.base, analytics_print_overview, &d, group_id);
    free(group_id);
    return rc;
}

/* ---- analytics funding ----------------------------------------------------------- */

static const char *analytics_by_header(int by)
{
    for (size_t i = 0; i < ANALYTICS_NBYS; i++)
        if (analytics_bys[i].value == by)
            return analytics_bys[i].header;
    return "KEY";
}

static int analytics_print_funding(const ProtobufCMessage *reply, const an_draft *d,
                                   const char *group_id)
{
    const Compact__Analytics__V1__FundingBreakdown *fb = (const void *)reply;
    const char *headers[ANALYTICS_MAX_LEAD + ANALYTICS_MONEY_COLS] = {
        analytics_by_header((int)fb->by), "PROJECTS"};
    output_table *t;
    int complete = 1;

    for (size_t i = 0; i < ANALYTICS_MONEY_COLS; i++)
        headers[ANALYTICS_MAX_LEAD + i] = analytics_money_headers[i];
    if (analytics_print_head(fb->freshness, d, group_id) != 0)
        return CLI_EXIT_FAIL;
    if (!(t = output_table_new(headers, ANALYTICS_MAX_LEAD + ANALYTICS_MONEY_COLS)))
        return output_oom();
    for (size_t i = 0; i < fb->n_rows; i++) {
        const Compact__Analytics__V1__BreakdownRow *r = fb->rows[i];
        char projects[24];
        snprintf(projects, sizeof projects, "%lld", (long long)r->projects);
        const char *lead[] = {r->label[0] ? r->label : r->key, projects};
        complete &= analytics_add_money(t, lead, 2, r->money);
    }
    if (analytics_emit(t) != 0)
        return CLI_EXIT_FAIL;
    analytics_print_usd_note(complete);
    return 0;
}

static int analytics_cmd_funding(cli_ctx *ctx, int argc, char **argv)
{
    Compact__Analytics__V1__GetFundingBreakdownRequest req =
        COMPACT__ANALYTICS__V1__GET_FUNDING_BREAKDOWN_REQUEST__INIT;
    an_filter filter = COMPACT__ANALYTICS__V1__FILTER__INIT;
    an_draft d = {0};
    char *group_id;
    int rc = analytics_flags(ctx, argc, argv, analytics_funding_opts, &d);

    if (rc != -1)
        return rc;
    if (!d.by)
        return cli_usage_error(ctx, "--by is required: group, pillar, entity, donor or year");
    if ((rc = analytics_filter(ctx, &d, &filter, &group_id)) != 0)
        return rc;
    req.by = d.by;
    req.filter = &filter;
    rc =
        analytics_ask(ctx, "GetFundingBreakdown", &req.base, analytics_print_funding, &d, group_id);
    free(group_id);
    return rc;
}

/* ---- analytics alerts -------------------------------------------------------------- */

static int analytics_print_alerts(const ProtobufCMessage *reply, const an_draft *d,
                                  const char *group_id)
{
    static const char *const headers[] = {"SCORE", "DUPLICATE", "PROJECT", "OTHER", "REASONS"};
    const Compact__Analytics__V1__DuplicationAlerts *as = (const void *)reply;
    output_table *t;

    if (analytics_print_head(as->freshness, d, group_id) != 0)
        return CLI_EXIT_FAIL;
    if (!(t = output_table_new(headers, 5)))
        return output_oom();
    for (size_t i = 0; i < as->n_alerts; i++) {
        const Compact__Analytics__V1__DuplicationAlert *a = as->alerts[i];
        char score[16], reasons[512] = "";
        snprintf(score, sizeof score, "%.2f", a->score);
        for (size_t r = 0; r < a->n_reasons; r++) {
            size_t at = strlen(reasons);
            snprintf(reasons + at, sizeof reasons - at, "%s%s", r ? ", " : "", a->reasons[r]);
        }
        const char *cells[] = {score, a->likely_duplicate ? "likely" : "-", a->project_title,
                               a->other_project_title, reasons};
        output_table_add(t, cells);
    }
    return analytics_emit(t);
}

static int analytics_cmd_alerts(cli_ctx *ctx, int argc, char **argv)
{
    Compact__Analytics__V1__ListDuplicationAlertsRequest req =
        COMPACT__ANALYTICS__V1__LIST_DUPLICATION_ALERTS_REQUEST__INIT;
    an_filter filter = COMPACT__ANALYTICS__V1__FILTER__INIT;
    an_draft d = {0};
    char *group_id;
    int rc = analytics_flags(ctx, argc, argv, analytics_alerts_opts, &d);

    if (rc != -1)
        return rc;
    if ((rc = analytics_filter(ctx, &d, &filter, &group_id)) != 0)
        return rc;
    req.limit = d.limit;
    req.filter = &filter;
    rc = analytics_ask(ctx, "ListDuplicationAlerts", &req.base, analytics_print_alerts, &d,
                       group_id);
    free(group_id);
    return rc;
}

/* ---- analytics rebuild ---------------------------------------------------------------- */

static int analytics_print_rebuild(const ProtobufCMessage *reply, const an_draft *d,
                                   const char *group_id)
{
    const Compact__Analytics__V1__RebuildResponse *r = (const void *)reply;
    const int64_t counts[] = {r->entities, r->working_groups, r->projects, r->differences};
    static const char *const names[] = {"entities", "working_groups", "projects", "differences"};
    char num[4][24];
    output_table *t = output_table_new(NULL, 2);

    if (!t)
        return output_oom();
    analytics_add_head(t, r->freshness, d, group_id);
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        snprintf(num[i], sizeof num[i], "%lld", (long long)counts[i]);
        output_table_field(t, names[i], num[i]);
    }
    return analytics_emit(t);
}

static int analytics_cmd_rebuild(cli_ctx *ctx, int argc, char **argv)
{
    static const struct option none[] = {{0}};
    Compact__Analytics__V1__RebuildRequest req = COMPACT__ANALYTICS__V1__REBUILD_REQUEST__INIT;
    an_draft d = {0};
    int rc = analytics_flags(ctx, argc, argv, none, &d);

    if (rc != -1)
        return rc;
    return analytics_ask(ctx, "Rebuild", &req.base, analytics_print_rebuild, &d, NULL);
}

/* ---- analytics rates ------------------------------------------------------------------- */

/* "1.08" -> 1080000: digits with at most one '.' and at most six decimals,
 * above zero, by digits. 0 or -EINVAL. */
static int analytics_parse_micros(const char *s, int64_t *out)
{
    int64_t v = 0;
    int frac = -1, digits = 0;

    for (const char *p = s; *p; p++) {
        if (*p == '.' && frac < 0) {
            frac = 0;
            continue;
        }
        if (*p < '0' || *p > '9' || (frac >= 0 && ++frac > ANALYTICS_MICROS_DECIMALS) ||
            v > (INT64_MAX - 9) / 10)
            return -EINVAL;
        v = v * 10 + (*p - '0');
        digits++;
    }
    for (int i = frac < 0 ? 0 : frac; i < ANALYTICS_MICROS_DECIMALS; i++) {
        if (v > INT64_MAX / 10)
            return -EINVAL;
        v *= 10;
    }
    if (digits == 0 || v == 0)
        return -EINVAL;
    *out = v;
    return 0;
}

/* 1080000 -> "1.08": six decimals, trailing zeros dropped down to two. */
static const char *analytics_micros(int64_t micros, char *buf, size_t len)
{
    uint64_t a = micros < 0 ? (uint64_t)0 - (uint64_t)micros : (uint64_t)micros;
    size_t n;

    snprintf(buf, len, "%s%llu.%06llu", micros < 0 ? "-" : "", (unsigned long long)(a / 1000000),
             (unsigned long long)(a % 1000000));
    n = strlen(buf);
    for (int keep = ANALYTICS_MICROS_DECIMALS; keep > 2 && n > 0 && buf[n - 1] == '0'; keep--)
        buf[--n] = '\0';
    return buf;
}

static int analytics_rates_add(json_t *array, output_table *t, const an_rate *r)
{
    char usd[40];

    if (array)
        return json_array_append_new(array, pbjson_from_message(&r->base));
    const char *cells[] = {r->currency, r->valid_from,
                           analytics_micros(r->usd_micros, usd, sizeof usd),
                           r->verified ? "yes" : "no", r->source_note};
    return output_table_add(t, cells);
}

static const struct option analytics_rates_list_opts[] = {
    {"currency", required_argument, NULL, 'c'},
    {0},
};

static int analytics_rates_list(cli_ctx *ctx, int argc, char **argv)
{
    static const char *const headers[] = {"CURRENCY", "FROM", "USD", "VERIFIED", "NOTE"};
    Compact__Analytics__V1__ListExchangeRatesRequest req =
        COMPACT__ANALYTICS__V1__LIST_EXCHANGE_RATES_REQUEST__INIT;
    const Compact__Analytics__V1__ListExchangeRatesResponse *rep;
    call_result res;
    int c, rc = 0;

    while ((c = cli_getopt(ctx, argc, argv, analytics_rates_list_opts)) != -1) {
        if (c != 'c')
            return cli_getopt_stop(ctx, c);
        req.currency = optarg;
    }
    if (optind < argc)
        return cli_usage_error(ctx, "unexpected argument \"%s\"", argv[optind]);
    if ((rc = cli_call(ctx, analytics_service, analytics_svc, "ListExchangeRates", &req.base,
                       &res)) != 0)
        return rc;
    rep = (const void *)res.reply;
    json_t *array = ctx->json ? json_array() : NULL;
    output_table *t = ctx->json ? NULL : output_table_new(headers, 5);
    if (!array && !t) {
        call_result_clear(&res);
        return output_oom();
    }
    for (size_t i = 0; i < rep->n_rates && rc == 0; i++)
        rc = analytics_rates_add(array, t, rep->rates[i]);
    call_result_clear(&res);
    if (array) {
        if (rc != 0) {
            json_decref(array);
            return output_oom();
        }
        return output_json(array);
    }
    return analytics_emit(t);
}

static const struct option analytics_rates_put_opts[] = {
    {"currency", required_argument, NULL, 'c'}, {"valid-from", required_argument, NULL, 'f'},
    {"usd", required_argument, NULL, 'u'},      {"verified", no_argument, NULL, 'v'},
    {"note", required_argument, NULL, 'n'},     {0},
};

static int analytics_rates_put(cli_ctx *ctx, int argc, char **argv)
{
    Compact__Analytics__V1__PutExchangeRateRequest req =
        COMPACT__ANALYTICS__V1__PUT_EXCHANGE_RATE_REQUEST__INIT;
    an_rate rate = COMPACT__ANALYTICS__V1__EXCHANGE_RATE__INIT;
    call_result res;
    const char *usd = NULL;
    int c, rc;

    while ((c = cli_getopt(ctx, argc, argv, analytics_rates_put_opts)) != -1) {
        switch (c) {
        case 'c':
            rate.currency = optarg;
            break;
        case 'f':
            rate.valid_from = optarg;
            break;
        case 'u':
            usd = optarg;
            break;
        case 'v':
            rate.verified = 1;
            break;
        case 'n':
            rate.source_note = optarg;
            break;
        default:
            return cli_getopt_stop(ctx, c);
        }
    }
    if (optind < argc)
        return cli_usage_error(ctx, "unexpected argument \"%s\"", argv[optind]);
    if (!rate.currency[0] || !rate.valid_from[0] || !usd)
        return cli_usage_error(ctx, "--currency, --valid-from and --usd are required");
    if (analytics_parse_micros(usd, &rate.usd_micros) != 0)
        return cli_usage_error(ctx,
                               "--usd: expected US dollars per unit above 0 with at most %d "
                               "decimals, such as 1.08, got \"%s\"",
                               ANALYTICS_MICROS_DECIMALS, usd);
    req.rate = &rate;
    if ((rc = cli_call(ctx, analytics_service, analytics_svc, "PutExchangeRate", &req.base,
                       &res)) != 0)
        return rc;
    const an_rate *r = (const void *)res.reply;
    if (ctx->json) {
        rc = output_json(pbjson_from_message(res.reply));
    } else {
        char per_unit[40];
        output_table *t = output_table_new(NULL, 2);
        if (t) {
            output_table_field(t, "currency", r->currency);
            output_table_field(t, "valid_from", r->valid_from);
            output_table_field(t, "usd_per_unit",
                               analytics_micros(r->usd_micros, per_unit, sizeof per_unit));
            output_table_field(t, "verified", r->verified ? "yes" : "no");
            output_table_field(t, "source_note", r->source_note[0] ? r->source_note : NULL);
        }
        rc = analytics_emit(t);
    }
    call_result_clear(&res);
    return rc;
}

/* `analytics rates list|put ...`: argv[0] is "rates". */
static int analytics_cmd_rates(cli_ctx *ctx, int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : NULL;

    if (sub && (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0))
        return cli_getopt_stop(ctx, CLI_OPT_HELP);
    if (sub && strcmp(sub, "list") == 0)
        return analytics_rates_list(ctx, argc - 1, argv + 1);
    if (sub && strcmp(sub, "put") == 0)
        return analytics_rates_put(ctx, argc - 1, argv + 1);
    if (sub)
        return cli_usage_error(ctx, "rates: unknown verb \"%s\": expected list or put", sub);
    return cli_usage_error(ctx, "rates: which verb? list or put");
}

/* ---- the table -------------------------------------------------------------------------- */

#define ANALYTICS_FILTER_USAGE                                                                     \
    "Filters: --year YYYY (a transaction's year, or a project's start year),\n"                    \
    "--group ID|CODE (a working group; a code is looked up among the groups\n"                     \
    "analytics knows), --pillar I|II|III|IV (a Strategy pillar). A project counts\n"               \
    "in every group and pillar it names.\n"

#define ANALYTICS_FRESHNESS_USAGE                                                                  \
    "The first line says how fresh the figures are: the time of the last event\n"                  \
    "applied, the lag from its commit to its being applied, the events applied\n"                  \
    "so far, and whether the sources' event streams were read lately.\n"

#define ANALYTICS_MONEY_USAGE                                                                      \
    "Money is in major units of each currency; the row USD* is the US dollar\n"                    \
    "equivalent at the dated exchange rates (analytics rates list). GAP is the\n"                  \
    "budget not covered by commitments, DELIVERY spent over committed.\n"

const cli_command analytics_commands[] = {
    {.group = "analytics",
     .verb = "overview",
     .fn = analytics_cmd_overview,
     .summary = "the Compact at a glance: entities, groups, projects, money",
     .usage = "analytics overview [--year YYYY] [--group ID|CODE] [--pillar P]\n\n"
              "Field lines (entities taking part, members, observers, UN and non-UN\n"
              "entities, open working groups, projects, the UNOCT catalytic share of\n"
              "committed money), a table of projects by status and a table of money\n"
              "by funding stage, per currency. --json prints the Overview "
              "message.\n\n" ANALYTICS_FILTER_USAGE "\n" ANALYTICS_FRESHNESS_USAGE
              "\n" ANALYTICS_MONEY_USAGE},
    {.group = "analytics",
     .verb = "funding",
     .fn = analytics_cmd_funding,
     .summary = "money by group, pillar, entity, donor or year",
     .usage = "analytics funding --by group|pillar|entity|donor|year [--year YYYY]\n"
              "                [--group ID|CODE] [--pillar P]\n\n"
              "A table with a row per group (by code), pillar, entity (by acronym; the\n"
              "projects' accountable and implementing entities), donor (a transaction's\n"
              "provider) or year, largest US dollar equivalent committed first: one line\n"
              "per currency and one USD* line. --json prints the "
              "FundingBreakdown.\n\n" ANALYTICS_FILTER_USAGE "\n" ANALYTICS_FRESHNESS_USAGE
              "\n" ANALYTICS_MONEY_USAGE},
    {.group = "analytics",
     .verb = "alerts",
     .fn = analytics_cmd_alerts,
     .summary = "pairs of projects that may duplicate each other",
     .usage = "analytics alerts [--limit N] [--year YYYY] [--group ID|CODE] [--pillar P]\n\n"
              "The strongest overlaps projects' FindOverlaps found, each pair once:\n"
              "SCORE (0 to 1), DUPLICATE (likely), the two titles and the reasons.\n"
              "--limit: 1 to 100 (default 20). --json prints the "
              "DuplicationAlerts.\n\n" ANALYTICS_FILTER_USAGE "\n" ANALYTICS_FRESHNESS_USAGE},
    {.group = "analytics",
     .verb = "rebuild",
     .fn = analytics_cmd_rebuild,
     .summary = "recompute every figure from the services' List calls",
     .usage = "analytics rebuild\n\n"
              "Reads every entity, working group and project again from membership,\n"
              "workgroups and projects and replaces the figures kept from events; prints\n"
              "what was read and how many aggregates differed from the event-built ones\n"
              "(0 when no event was lost). Needs the three services reachable from\n"
              "analytics.\n"},
    {.group = "analytics",
     .verb = "rates",
     .fn = analytics_cmd_rates,
     .summary = "the dated exchange rates of USD*: rates list | rates put",
     .usage = "analytics rates list [--currency CUR]\n"
              "       compactctl analytics rates put --currency CUR --valid-from YYYY-MM-DD\n"
              "                --usd 1.08 [--verified] [--note T]\n\n"
              "list: a table of the rates (CURRENCY, FROM, USD per unit, VERIFIED, NOTE),\n"
              "by currency then date; --json prints an array of ExchangeRate.\n"
              "put: adds the rate of CUR from that date (it holds until the next one of\n"
              "the currency), or replaces the rate of that date. --usd is US dollars per\n"
              "unit of CUR, at most 6 decimals, taken exactly (1.08 is 1080000 millionths).\n"
              "--verified marks a rate taken from the published UN operational rates of\n"
              "exchange; --note says where it comes from.\n"},
    {0},
};

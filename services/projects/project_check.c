/* project_check.c: the checks of projects and their parts (see project_check.h). */
#include "project_check.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "iso_codes.h"
#include "project_edit.h"
#include "project_store.h"
#include "provenance.h"
#include "validate.h"

typedef Compact__Projects__V1__Project Project;
typedef Compact__Projects__V1__Participant Participant;
typedef Compact__Projects__V1__Money Money;
typedef Compact__Projects__V1__IndicatorPeriod IndicatorPeriod;
typedef Compact__Projects__V1__Baseline Baseline;

#define FIELD_SIZE 160

/* Limits, in characters. */
#define TITLE_MAX 300
#define SUMMARY_MAX 10000
#define THEME_MAX 64
#define NOTE_MAX 2000
#define DESCRIPTION_MAX 4000
#define COMMENT_MAX 500
#define PROVIDER_NAME_MAX 200
#define ORG_NAME_MAX 256
#define ORG_REF_MAX 100

/* ---- identifiers -------------------------------------------------------- */

/* IATI identifiers may not hold whitespace nor / & | ?; we keep to a plain
 * set that is safe in URLs, file names and cache keys. */
static const char *iati_chars_problem(const char *s)
{
    for (const char *p = s; *p; p++) {
        char c = *p;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.' || c == ':'))
            return "may contain only letters, digits and the characters - _ . :";
    }
    if (s[0] == '-' || s[strlen(s) - 1] == '-')
        return "must not start or end with '-'";
    return NULL;
}

static int check_org_ref(rpc_call *call, const char *field, const char *s)
{
    const char *problem;

    if (validate_required_string(call, field, s, ORG_REF_MAX))
        return -1;
    return (problem = iati_chars_problem(s)) ? validate_problem(call, field, problem) : 0;
}

/* An IATI organisation identifier names its registration agency first: the
 * agency's country code (or XI, XM) and a "-", as in "GB-GOV-1",
 * "XM-DAC-7", "XI-IATI-EC_FPI". */
static int check_agency_ref(rpc_call *call, const char *field, const char *s)
{
    if (check_org_ref(call, field, s))
        return -1;
    if (!(s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z' && s[2] == '-' && s[3]))
        return validate_problem(call, field,
                                "not an IATI organisation identifier (a registration agency "
                                "prefix such as \"XM-DAC-\" or \"GB-GOV-\", then the number)");
    return 0;
}

static int check_iati(rpc_call *call, const char *prefix, const Project *p)
{
    char field[FIELD_SIZE];
    const char *problem;
    size_t n = strlen(p->reporting_org_ref);

    snprintf(field, sizeof field, "%s.iati_identifier", prefix);
    if (validate_required_string(call, field, p->iati_identifier, PROJECT_IATI_MAX))
        return -1;
    if ((problem = iati_chars_problem(p->iati_identifier)) != NULL)
        return validate_problem(call, field, problem);
    if (strncmp(p->iati_identifier, p->reporting_org_ref, n) != 0 || p->iati_identifier[n] != '-' ||
        p->iati_identifier[n + 1] == '\0') {
        rpc_call_fail(call, RPC_INVALID_ARGUMENT,
                      "%s: must be the reporting_org_ref \"%s\", '-' and the project's own id",
                      field, p->reporting_org_ref);
        return -1;
    }
    return 0;
}

/* ---- repeated fields ---------------------------------------------------- */

static int check_ids(rpc_call *call, const char *prefix, const char *name, char **ids, size_t n,
                     size_t min, size_t max, const char *id_prefix)
{
    char field[FIELD_SIZE];

    snprintf(field, sizeof field, "%s.%s", prefix, name);
    if (validate_max_items(call, field, n, max))
        return -1;
    if (n < min)
        return validate_problem(call, field, "must name at least one");
    for (size_t i = 0; i < n; i++) {
        snprintf(field, sizeof field, "%s.%s[%zu]", prefix, name, i);
        if (validate_id(call, field, ids[i], id_prefix))
            return -1;
        for (size_t j = 0; j < i; j++) {
            if (strcmp(ids[i], ids[j]) == 0) {
                rpc_call_fail(call, RPC_INVALID_ARGUMENT, "%s: repeats %s.%s[%zu]", field, prefix,
                              name, j);
                return -1;
            }
        }
    }
    return 0;
}

static int check_participants(rpc_call *call, const char *prefix, const Project *p, size_t min)
{
    char field[FIELD_SIZE];

    snprintf(field, sizeof field, "%s.participants", prefix);
    if (validate_max_items(call, field, p->n_participants, PROJECT_PARTICIPANTS_MAX))
        return -1;
    if (p->n_participants < min)
        return validate_problem(call, field, "must name at least one entity");
    for (size_t i = 0; i < p->n_participants; i++) {
        const Participant *a = p->participants[i];
        snprintf(field, sizeof field, "%s.participants[%zu].entity_id", prefix, i);
        if (validate_id(call, field, a->entity_id, IDS_ENTITY))
            return -1;
        snprintf(field, sizeof field, "%s.participants[%zu].role", prefix, i);
        if (validate_enum(call, field, &compact__projects__v1__organisation_role__descriptor,
                          (int)a->role, 1))
            return -1;
        for (size_t j = 0; j < i; j++) {
            const Participant *b = p->participants[j];
            if (strcmp(a->entity_id, b->entity_id) == 0 && a->role == b->role) {
                rpc_call_fail(call, RPC_INVALID_ARGUMENT,
                              "%s.participants[%zu]: repeats %s.participants[%zu] (same "
                              "entity in the same role)",
                              prefix, i, prefix, j);
                return -1;
            }
        }
    }
    return 0;
}

int project_check_country(rpc_call *call, const char *field, const char *code)
{
    if (iso_country_index(code) >= 0)
        return 0;
    rpc_call_fail(call, RPC_INVALID_ARGUMENT,
                  "%s: \"%.8s\" is not an ISO 3166-1 alpha-2 country code (upper case, "
                  "e.g. \"KE\")",
                  field, code);
    return -1;
}

static int check_countries(rpc_call *call, const char *prefix, const Project *p)
{
    char field[FIELD_SIZE];

    snprintf(field, sizeof field, "%s.recipient_countries", prefix);
    if (validate_max_items(call, field, p->n_recipient_countries, ISO_COUNTRY_COUNT))
        return -1;
    for (size_t i = 0; i < p->n_recipient_countries; i++) {
        snprintf(field, sizeof field, "%s.recipient_countries[%zu]", prefix, i);
        if (project_check_country(call, field, p->recipient_countries[i]))
            return -1;
        for (size_t j = 0; j < i; j++) {
            if (strcmp(p->recipient_countries[i], p->recipient_countries[j]) == 0) {
                rpc_call_fail(call, RPC_INVALID_ARGUMENT, "%s: repeats %s", field,
                              p->recipient_countries[j]);
                return -1;
            }
        }
    }
    return 0;
}

static int check_pillars(rpc_call *call, const char *prefix, const Project *p, size_t min)
{
    char field[FIELD_SIZE];

    snprintf(field, sizeof field, "%s.pillars", prefix);
    if (validate_max_items(call, field, p->n_pillars, 4))
        return -1;
    if (p->n_pillars < min)
        return validate_problem(call, field, "must name at least one pillar of the Strategy");
    for (size_t i = 0; i < p->n_pillars; i++) {
        snprintf(field, sizeof field, "%s.pillars[%zu]", prefix, i);
        if (validate_enum(call, field, &compact__projects__v1__strategy_pillar__descriptor,
                          (int)p->pillars[i], 1))
            return -1;
        for (size_t j = 0; j < i; j++) {
            if (p->pillars[i] == p->pillars[j])
                return validate_problem(call, field, "repeats a pillar");
        }
    }
    return 0;
}

static int check_themes(rpc_call *call, const char *prefix, const Project *p)
{
    char field[FIELD_SIZE];

    snprintf(field, sizeof field, "%s.themes", prefix);
    if (validate_max_items(call, field, p->n_themes, PROJECT_THEMES_MAX))
        return -1;
    for (size_t i = 0; i < p->n_themes; i++) {
        snprintf(field, sizeof field, "%s.themes[%zu]", prefix, i);
        if (validate_required_string(call, field, p->themes[i], THEME_MAX))
            return -1;
        for (size_t j = 0; j < i; j++) {
            if (strcasecmp(p->themes[i], p->themes[j]) == 0)
                return validate_problem(call, field, "repeats a theme");
        }
    }
    return 0;
}

/* ---- money and dates ---------------------------------------------------- */

static int check_money(rpc_call *call, const char *field, const Money *m, int allow_negative)
{
    char sub[FIELD_SIZE + 16]; /* field (< FIELD_SIZE) and a suffix */

    snprintf(sub, sizeof sub, "%s.currency", field);
    if (iso_currency_minor_units(m->currency) < 0) {
        rpc_call_fail(call, RPC_INVALID_ARGUMENT,
                      "%s: \"%.8s\" is not an ISO 4217 currency code (upper case, e.g. "
                      "\"USD\")",
                      sub, m->currency);
        return -1;
    }
    snprintf(sub, sizeof sub, "%s.amount_minor", field);
    if (!allow_negative && m->amount_minor < 0)
        return validate_problem(call, sub, "must not be negative");
    if (m->amount_minor > PROJECT_MONEY_MAX || m->amount_minor < -PROJECT_MONEY_MAX)
        return validate_problem(call, sub, "must be at most 10^14 minor units in size");
    return 0;
}

static int check_optional_date(rpc_call *call, const char *prefix, const char *name,
                               const char *value)
{
    char field[FIELD_SIZE];

    snprintf(field, sizeof field, "%s.%s", prefix, name);
    return value[0] ? validate_date(call, field, value) : 0;
}

int project_check_period(rpc_call *call, const char *start_field, const char *start,
                         const char *end_field, const char *end)
{
    if (validate_date(call, start_field, start) || validate_date(call, end_field, end))
        return -1;
    if (strcmp(end, start) < 0) {
        rpc_call_fail(call, RPC_INVALID_ARGUMENT, "%s: %s is before %s %s", end_field, end,
                      start_field, start);
        return -1;
    }
    return 0;
}

/* ---- the fields of a project -------------------------------------------- */

static int check_text_fields(rpc_call *call, const char *prefix, const Project *p, unsigned mask,
                             int draft)
{
    char field[FIELD_SIZE];

    snprintf(field, sizeof field, "%s.title", prefix);
    if ((mask & PF_TITLE) && (draft ? validate_optional_string(call, field, p->title, TITLE_MAX)
                                    : validate_required_string(call, field, p->title, TITLE_MAX)))
        return -1;
    snprintf(field, sizeof field, "%s.summary", prefix);
    if ((mask & PF_SUMMARY) && validate_text(call, field, p->summary, SUMMARY_MAX))
        return -1;
    snprintf(field, sizeof field, "%s.source_note", prefix);
    if ((mask & PF_SOURCE_NOTE) && validate_text(call, field, p->source_note, NOTE_MAX))
        return -1;
    snprintf(field, sizeof field, "%s.provenance", prefix);
    if ((mask & PF_PROVENANCE) && provenance_check(call, field, p->provenance, p->n_provenance,
                                                   &compact__projects__v1__project__descriptor))
        return -1;
    return (mask & PF_THEMES) ? check_themes(call, prefix, p) : 0;
}

static int check_dates_status(rpc_call *call, const char *prefix, const Project *p, unsigned mask,
                              int draft)
{
    char field[FIELD_SIZE];

    snprintf(field, sizeof field, "%s.start_date", prefix);
    if ((mask & PF_START) && (draft ? check_optional_date(call, prefix, "start_date", p->start_date)
                                    : validate_date(call, field, p->start_date)))
        return -1;
    if ((mask & PF_END) && check_optional_date(call, prefix, "end_date", p->end_date))
        return -1;
    snprintf(field, sizeof field, "%s.status", prefix);
    if ((mask & PF_STATUS) &&
        validate_enum(call, field, &compact__projects__v1__activity_status__descriptor,
                      (int)p->status, !draft))
        return -1;
    snprintf(field, sizeof field, "%s.budget", prefix);
    return ((mask & PF_BUDGET) && p->budget) ? check_money(call, field, p->budget, 0) : 0;
}

static int check_results(rpc_call *call, const char *prefix, const Project *p)
{
    char field[FIELD_SIZE];

    snprintf(field, sizeof field, "%s.results", prefix);
    if (validate_max_items(call, field, p->n_results, PROJECT_RESULTS_MAX))
        return -1;
    for (size_t i = 0; i < p->n_results; i++) {
        snprintf(field, sizeof field, "%s.results[%zu]", prefix, i);
        if (project_check_result(call, field, p->results[i]))
            return -1;
    }
    return 0;
}

int project_check_fields(rpc_call *call, const char *prefix, const Project *p, unsigned mask,
                         enum project_check_mode mode)
{
    int draft = mode == PROJECT_CHECK_DRAFT;
    char field[FIELD_SIZE];

    snprintf(field, sizeof field, "%s.reporting_org_ref", prefix);
    if ((mask & PF_REPORTING_ORG) && !draft && check_org_ref(call, field, p->reporting_org_ref))
        return -1;
    if ((mask & PF_IATI) && !draft && check_iati(call, prefix, p))
        return -1;
    if (check_text_fields(call, prefix, p, mask, draft))
        return -1;
    if ((mask & PF_GROUPS) &&
        check_ids(call, prefix, "working_group_ids", p->working_group_ids, p->n_working_group_ids,
                  draft ? 0 : 1, PROJECT_GROUPS_MAX, IDS_GROUP))
        return -1;
    if ((mask & PF_PARTICIPANTS) && check_participants(call, prefix, p, draft ? 0 : 1))
        return -1;
    if ((mask & PF_COUNTRIES) && check_countries(call, prefix, p))
        return -1;
    if ((mask & PF_PILLARS) && check_pillars(call, prefix, p, draft ? 0 : 1))
        return -1;
    if (check_dates_status(call, prefix, p, mask, draft))
        return -1;
    return (mask & PF_RESULTS) && !draft ? check_results(call, prefix, p) : 0;
}

int project_check_whole(rpc_call *call, const char *prefix, const Project *p)
{
    char field[FIELD_SIZE];
    int leads = 0;

    if (p->end_date[0] && strcmp(p->end_date, p->start_date) < 0) {
        rpc_call_fail(call, RPC_INVALID_ARGUMENT, "%s.end_date: %s is before start_date %s", prefix,
                      p->end_date, p->start_date);
        return -1;
    }
    snprintf(field, sizeof field, "%s.recipient_countries", prefix);
    if (p->global_scope && p->n_recipient_countries > 0)
        return validate_problem(call, field, "must be empty when global_scope is set");
    if (!p->global_scope && p->n_recipient_countries == 0)
        return validate_problem(call, field, "must name at least one country, or set global_scope");
    for (size_t i = 0; i < p->n_participants; i++) {
        int role = (int)p->participants[i]->role;
        leads |= role == COMPACT__PROJECTS__V1__ORGANISATION_ROLE__ORGANISATION_ROLE_ACCOUNTABLE ||
                 role == COMPACT__PROJECTS__V1__ORGANISATION_ROLE__ORGANISATION_ROLE_IMPLEMENTING;
    }
    snprintf(field, sizeof field, "%s.participants", prefix);
    return leads ? 0
                 : validate_problem(call, field,
                                    "must include an accountable or implementing entity");
}

/* ---- results and indicators --------------------------------------------- */

int project_check_value(rpc_call *call, const char *field,
                        const Compact__Projects__V1__IndicatorValue *v)
{
    char sub[FIELD_SIZE + 16]; /* field (< FIELD_SIZE) and a suffix */

    snprintf(sub, sizeof sub, "%s.value", field);
    if (!isfinite(v->value))
        return validate_problem(call, sub, "must be a finite number");
    snprintf(sub, sizeof sub, "%s.comment", field);
    return validate_text(call, sub, v->comment, COMMENT_MAX);
}

static int check_baseline(rpc_call *call, const char *field, const Baseline *b)
{
    char sub[FIELD_SIZE];

    snprintf(sub, sizeof sub, "%s.baseline.year", field);
    if (b->year < 1900 || b->year > 2100)
        return validate_problem(call, sub, "must be a year from 1900 to 2100");
    snprintf(sub, sizeof sub, "%s.baseline.value", field);
    if (!isfinite(b->value))
        return validate_problem(call, sub, "must be a finite number");
    snprintf(sub, sizeof sub, "%s.baseline.comment", field);
    return validate_text(call, sub, b->comment, COMMENT_MAX);
}

static int check_period(rpc_call *call, const char *field, const Indicator *ind, size_t i)
{
    const IndicatorPeriod *p = ind->periods[i];
    char start[FIELD_SIZE], end[FIELD_SIZE], sub[FIELD_SIZE];

    snprintf(start, sizeof start, "%s.periods[%zu].period_start", field, i);
    snprintf(end, sizeof end, "%s.periods[%zu].period_end", field, i);
    if (project_check_period(call, start, p->period_start, end, p->period_end))
        return -1;
    snprintf(sub, sizeof sub, "%s.periods[%zu].target", field, i);
    if (p->target && project_check_value(call, sub, p->target))
        return -1;
    snprintf(sub, sizeof sub, "%s.periods[%zu].actual", field, i);
    if (p->actual && project_check_value(call, sub, p->actual))
        return -1;
    for (size_t j = 0; j < i; j++) {
        const IndicatorPeriod *q = ind->periods[j];
        if (strcmp(p->period_start, q->period_end) <= 0 &&
            strcmp(q->period_start, p->period_end) <= 0) {
            rpc_call_fail(call, RPC_INVALID_ARGUMENT, "%s.periods[%zu]: overlaps %s.periods[%zu]",
                          field, i, field, j);
            return -1;
        }
    }
    return 0;
}

int project_check_indicator(rpc_call *call, const char *field, const Indicator *ind)
{
    char sub[FIELD_SIZE];

    snprintf(sub, sizeof sub, "%s.title", field);
    if (validate_required_string(call, sub, ind->title, TITLE_MAX))
        return -1;
    snprintf(sub, sizeof sub, "%s.description", field);
    if (validate_text(call, sub, ind->description, DESCRIPTION_MAX))
        return -1;
    snprintf(sub, sizeof sub, "%s.measure", field);
    if (validate_enum(call, sub, &compact__projects__v1__indicator_measure__descriptor,
                      (int)ind->measure, 1))
        return -1;
    if (ind->baseline && check_baseline(call, field, ind->baseline))
        return -1;
    snprintf(sub, sizeof sub, "%s.periods", field);
    if (validate_max_items(call, sub, ind->n_periods, PROJECT_PERIODS_MAX))
        return -1;
    for (size_t i = 0; i < ind->n_periods; i++) {
        if (check_period(call, field, ind, i))
            return -1;
    }
    return 0;
}

int project_check_result(rpc_call *call, const char *field, const Compact__Projects__V1__Result *r)
{
    char sub[FIELD_SIZE];

    snprintf(sub, sizeof sub, "%s.type", field);
    if (validate_enum(call, sub, &compact__projects__v1__result_type__descriptor, (int)r->type, 1))
        return -1;
    snprintf(sub, sizeof sub, "%s.title", field);
    if (validate_required_string(call, sub, r->title, TITLE_MAX))
        return -1;
    snprintf(sub, sizeof sub, "%s.description", field);
    if (validate_text(call, sub, r->description, DESCRIPTION_MAX))
        return -1;
    snprintf(sub, sizeof sub, "%s.indicators", field);
    if (validate_max_items(call, sub, r->n_indicators, PROJECT_INDICATORS_MAX))
        return -1;
    for (size_t i = 0; i < r->n_indicators; i++) {
        snprintf(sub, sizeof sub, "%s.indicators[%zu]", field, i);
        if (project_check_indicator(call, sub, r->indicators[i]))
            return -1;
    }
    return 0;
}

/* ---- transactions ------------------------------------------------------- */

static int check_provider(rpc_call *call, const char *field,
                          const Compact__Projects__V1__Transaction *t)
{
    char sub[FIELD_SIZE];

    switch (t->provider_case) {
    case COMPACT__PROJECTS__V1__TRANSACTION__PROVIDER_PROVIDER_NAME:
        snprintf(sub, sizeof sub, "%s.provider_name", field);
        return validate_required_string(call, sub, t->provider_name, PROVIDER_NAME_MAX);
    case COMPACT__PROJECTS__V1__TRANSACTION__PROVIDER_PROVIDER_ENTITY_ID:
        snprintf(sub, sizeof sub, "%s.provider_entity_id", field);
        return validate_id(call, sub, t->provider_entity_id, IDS_ENTITY);
    case COMPACT__PROJECTS__V1__TRANSACTION__PROVIDER_PROVIDER_ORG:
        snprintf(sub, sizeof sub, "%s.provider_org", field);
        if (validate_present(call, sub, t->provider_org))
            return -1;
        snprintf(sub, sizeof sub, "%s.provider_org.name", field);
        if (validate_required_string(call, sub, t->provider_org->name, ORG_NAME_MAX))
            return -1;
        snprintf(sub, sizeof sub, "%s.provider_org.ref", field);
        if (t->provider_org->ref[0] && check_agency_ref(call, sub, t->provider_org->ref))
            return -1;
        snprintf(sub, sizeof sub, "%s.provider_org.type", field);
        return validate_enum(call, sub, &compact__projects__v1__organisation_type__descriptor,
                             (int)t->provider_org->type, 0);
    default:
        return 0;
    }
}

int project_check_transaction(rpc_call *call, const char *field,
                              const Compact__Projects__V1__Transaction *t)
{
    char sub[FIELD_SIZE];

    snprintf(sub, sizeof sub, "%s.type", field);
    if (validate_enum(call, sub, &compact__projects__v1__transaction_type__descriptor, (int)t->type,
                      1))
        return -1;
    snprintf(sub, sizeof sub, "%s.date", field);
    if (validate_date(call, sub, t->date))
        return -1;
    snprintf(sub, sizeof sub, "%s.value", field);
    if (validate_present(call, sub, t->value) || check_money(call, sub, t->value, 1))
        return -1;
    if (t->value->amount_minor == 0) {
        snprintf(sub, sizeof sub, "%s.value.amount_minor", field);
        return validate_problem(call, sub, "must not be 0");
    }
    if (check_provider(call, field, t))
        return -1;
    snprintf(sub, sizeof sub, "%s.description", field);
    if (validate_text(call, sub, t->description, DESCRIPTION_MAX))
        return -1;
    snprintf(sub, sizeof sub, "%s.source_note", field);
    if (validate_text(call, sub, t->source_note, NOTE_MAX))
        return -1;
    snprintf(sub, sizeof sub, "%s.decision_ref", field);
    if (validate_decision_ref(call, sub, t->decision_ref))
        return -1;
    snprintf(sub, sizeof sub, "%s.provenance", field);
    return provenance_check(call, sub, t->provenance, t->n_provenance,
                            &compact__projects__v1__transaction__descriptor);
}

const char *project_check_catalytic_provider_problem(const char *acronym)
{
    /* Acronyms are unique regardless of case (membership). */
    if (strcasecmp(acronym, "UNOCT") == 0)
        return NULL;
    return "not UNOCT: a catalytic transaction (transaction.catalytic) must name UNOCT as its "
           "provider";
}

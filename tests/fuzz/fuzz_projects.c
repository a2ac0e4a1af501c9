/* fuzz_projects.c: every method of compact.projects.v1.Projects, from
 * request bytes to the answer (fuzz_service.h says how).
 *
 * Fixtures, so that the writes and FindOverlaps reach their rules instead of
 * NOT_FOUND: a project in implementation with a result, an indicator and a
 * transaction, and a closed one, with the ids below (tests/fuzz/make_corpus.py
 * names them too), also in the overlap index. Writes that name entities or
 * working groups end at the peer check (no peers in process).
 */
#include <stdint.h>

#include "fuzz_service.h"
#include "project.h"
#include "project_edit.h"
#include "projects_service.h"

#define FIXTURE_PROJECT_ID "prj_aaaaaaaaaaaaaaaaaaaa" /* XM-DAC-47066-FUZZ-1 */
#define FIXTURE_CLOSED_ID "prj_bbbbbbbbbbbbbbbbbbbb"  /* XM-DAC-47066-FUZZ-2, closed */
#define FIXTURE_RESULT_ID "res_aaaaaaaaaaaaaaaaaaaa"
#define FIXTURE_INDICATOR_ID "ind_aaaaaaaaaaaaaaaaaaaa"
#define FIXTURE_TRANSACTION_ID "trn_aaaaaaaaaaaaaaaaaaaa"
#define FIXTURE_GROUP_ID "wg_aaaaaaaaaaaaaaaaaaaa"
#define FIXTURE_ENTITY_ID "ent_aaaaaaaaaaaaaaaaaaaa"
#define FIXTURE_DONOR_ID "ent_cccccccccccccccccccc"
#define FIXTURE_TIME_S 1700000000 /* 2023-11-14 */

typedef Google__Protobuf__Timestamp Timestamp;
typedef Compact__Projects__V1__Participant Participant;
typedef Compact__Projects__V1__Money Money;
typedef Compact__Projects__V1__StrategyPillar StrategyPillar;
typedef Compact__Projects__V1__Baseline Baseline;
typedef Compact__Projects__V1__IndicatorPeriod IndicatorPeriod;
typedef Compact__Projects__V1__IndicatorValue IndicatorValue;

/* Inserts `p`, built from constants (only its etag is set by the store),
 * and puts it into the overlap index, as a commit would. */
static int insert(store *st, service *svc, Project *p)
{
    int rc = project_store_insert(st, p);

    fuzz_service_reset_string(&p->etag);
    return rc ? rc : overlap_index_put(project_index(svc), p);
}

static int write_project(store *st, service *svc)
{
    Timestamp t = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    char *groups[] = {FIXTURE_GROUP_ID};
    Participant lead = COMPACT__PROJECTS__V1__PARTICIPANT__INIT;
    Participant donor = COMPACT__PROJECTS__V1__PARTICIPANT__INIT;
    Participant *participants[] = {&lead, &donor};
    char *countries[] = {"KE", "NG"};
    StrategyPillar pillars[] = {COMPACT__PROJECTS__V1__STRATEGY_PILLAR__STRATEGY_PILLAR_II};
    char *themes[] = {"border security", "aviation security"};
    Money budget = COMPACT__PROJECTS__V1__MONEY__INIT;
    IndicatorValue target = COMPACT__PROJECTS__V1__INDICATOR_VALUE__INIT;
    IndicatorPeriod period = COMPACT__PROJECTS__V1__INDICATOR_PERIOD__INIT;
    IndicatorPeriod *periods[] = {&period};
    Baseline baseline = COMPACT__PROJECTS__V1__BASELINE__INIT;
    Indicator ind = COMPACT__PROJECTS__V1__INDICATOR__INIT;
    Indicator *inds[] = {&ind};
    Result res = COMPACT__PROJECTS__V1__RESULT__INIT;
    Result *results[] = {&res};
    Project p = COMPACT__PROJECTS__V1__PROJECT__INIT;
    Money value = COMPACT__PROJECTS__V1__MONEY__INIT;
    Transaction tr = COMPACT__PROJECTS__V1__TRANSACTION__INIT;
    int rc;

    t.seconds = FIXTURE_TIME_S;
    lead.entity_id = FIXTURE_ENTITY_ID;
    lead.role = COMPACT__PROJECTS__V1__ORGANISATION_ROLE__ORGANISATION_ROLE_IMPLEMENTING;
    donor.entity_id = FIXTURE_DONOR_ID;
    donor.role = COMPACT__PROJECTS__V1__ORGANISATION_ROLE__ORGANISATION_ROLE_FUNDING;
    budget.currency = "USD";
    budget.amount_minor = 250000000;
    target.value = 100;
    period.period_start = "2023-01-01";
    period.period_end = "2023-12-31";
    period.target = &target;
    baseline.year = 2021;
    ind.id = FIXTURE_INDICATOR_ID;
    ind.title = "Officers trained";
    ind.measure = COMPACT__PROJECTS__V1__INDICATOR_MEASURE__INDICATOR_MEASURE_UNIT;
    ind.baseline = &baseline;
    ind.n_periods = 1;
    ind.periods = periods;
    res.id = FIXTURE_RESULT_ID;
    res.type = COMPACT__PROJECTS__V1__RESULT_TYPE__RESULT_TYPE_OUTPUT;
    res.title = "Border officers trained";
    res.n_indicators = 1;
    res.indicators = inds;
    p.id = FIXTURE_PROJECT_ID;
    p.iati_identifier = "XM-DAC-47066-FUZZ-1";
    p.reporting_org_ref = "XM-DAC-47066";
    p.title = "Border security training in East and West Africa";
    p.summary = "Training for border officers,\nwith equipment and mentoring.";
    p.n_working_group_ids = 1;
    p.working_group_ids = groups;
    p.n_participants = 2;
    p.participants = participants;
    p.n_recipient_countries = 2;
    p.recipient_countries = countries;
    p.n_pillars = 1;
    p.pillars = pillars;
    p.n_themes = 2;
    p.themes = themes;
    p.start_date = "2022-01-01";
    p.end_date = "2025-12-31";
    p.status = COMPACT__PROJECTS__V1__ACTIVITY_STATUS__ACTIVITY_STATUS_IMPLEMENTATION;
    p.budget = &budget;
    p.n_results = 1;
    p.results = results;
    p.create_time = p.update_time = &t;
    value.currency = "USD";
    value.amount_minor = 100000000;
    tr.id = FIXTURE_TRANSACTION_ID;
    tr.type = COMPACT__PROJECTS__V1__TRANSACTION_TYPE__TRANSACTION_TYPE_INCOMING_COMMITMENT;
    tr.date = "2022-02-01";
    tr.value = &value;
    tr.provider_case = COMPACT__PROJECTS__V1__TRANSACTION__PROVIDER_PROVIDER_ENTITY_ID;
    tr.provider_entity_id = FIXTURE_DONOR_ID;
    tr.record_time = &t;
    if ((rc = insert(st, svc, &p)) != 0)
        return rc;
    return project_store_add_transaction(st, p.id, &tr);
}

static int write_closed_project(store *st, service *svc)
{
    Timestamp t = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    char *groups[] = {FIXTURE_GROUP_ID};
    Participant lead = COMPACT__PROJECTS__V1__PARTICIPANT__INIT;
    Participant *participants[] = {&lead};
    StrategyPillar pillars[] = {COMPACT__PROJECTS__V1__STRATEGY_PILLAR__STRATEGY_PILLAR_III};
    Project p = COMPACT__PROJECTS__V1__PROJECT__INIT;

    t.seconds = FIXTURE_TIME_S;
    lead.entity_id = FIXTURE_ENTITY_ID;
    lead.role = COMPACT__PROJECTS__V1__ORGANISATION_ROLE__ORGANISATION_ROLE_ACCOUNTABLE;
    p.id = FIXTURE_CLOSED_ID;
    p.iati_identifier = "XM-DAC-47066-FUZZ-2";
    p.reporting_org_ref = "XM-DAC-47066";
    p.title = "Border security training, first phase";
    p.n_working_group_ids = 1;
    p.working_group_ids = groups;
    p.n_participants = 1;
    p.participants = participants;
    p.global_scope = 1;
    p.n_pillars = 1;
    p.pillars = pillars;
    p.start_date = "2019-01-01";
    p.end_date = "2021-12-31";
    p.status = COMPACT__PROJECTS__V1__ACTIVITY_STATUS__ACTIVITY_STATUS_CLOSED;
    p.create_time = p.update_time = &t;
    return insert(st, svc, &p);
}

static int write_fixtures(store *st, void *arg)
{
    int rc = write_project(st, arg);

    return rc ? rc : write_closed_project(st, arg);
}

static int fixtures(service *svc)
{
    return fuzz_service_write(svc, write_fixtures, svc);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_service_init(projects_service_def());
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_service_run(projects_service_def(), fixtures, data, size);
}

/* fuzz_workgroups.c: every method of compact.workgroups.v1.WorkingGroups,
 * from request bytes to the answer (fuzz_service.h says how).
 *
 * Fixtures, so that the writes reach their rules instead of NOT_FOUND: an
 * active group with a leadership, two members, approved terms of reference
 * and a work plan item, and a closed group, with the ids and codes below
 * (tests/fuzz/make_corpus.py names them too). Writes that name entities
 * end at the peer check (no peers in process): the rest run to the store.
 */
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_service.h"
#include "group_store.h"
#include "notice_store.h"
#include "plan_store.h"
#include "workgroups_service.h"

#define FIXTURE_GROUP_ID "wg_aaaaaaaaaaaaaaaaaaaa"        /* code BMLE, active */
#define FIXTURE_CLOSED_GROUP_ID "wg_bbbbbbbbbbbbbbbbbbbb" /* code OLD, closed */
#define FIXTURE_ITEM_ID "wpi_aaaaaaaaaaaaaaaaaaaa"
#define FIXTURE_CHAIR_ID "ent_aaaaaaaaaaaaaaaaaaaa"
#define FIXTURE_VICE_CHAIR_ID "ent_cccccccccccccccccccc"
#define FIXTURE_OBSERVER_ID "ent_dddddddddddddddddddd"
#define FIXTURE_TIME_MS 1700000000000LL                       /* 2023-11-14 */
#define FIXTURE_DECISION "dec_aaaaaaaaaaaaaaaaaaaa/effects/1" /* on the terms of reference */
#define FIXTURE_NOTICE_ID "ntc_aaaaaaaaaaaaaaaaaaaa"          /* BMLE's, members only */
#define FIXTURE_SUBSCRIPTION_ID "sub_aaaaaaaaaaaaaaaaaaaa"    /* the observer's, of BMLE */

typedef Google__Protobuf__Timestamp Timestamp;
typedef Compact__Workgroups__V1__StrategyPillar StrategyPillar;

static int write_group(store *st)
{
    Timestamp t = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    StrategyPillar pillars[] = {COMPACT__WORKGROUPS__V1__STRATEGY_PILLAR__STRATEGY_PILLAR_II,
                                COMPACT__WORKGROUPS__V1__STRATEGY_PILLAR__STRATEGY_PILLAR_III};
    WorkingGroup g = COMPACT__WORKGROUPS__V1__WORKING_GROUP__INIT;
    char *vice[] = {FIXTURE_VICE_CHAIR_ID};
    Leadership l = COMPACT__WORKGROUPS__V1__LEADERSHIP__INIT;
    TermsOfReference tor = COMPACT__WORKGROUPS__V1__TERMS_OF_REFERENCE__INIT;
    int32_t tor_version;
    int rc;

    t.seconds = FIXTURE_TIME_MS / 1000;
    g.id = FIXTURE_GROUP_ID;
    g.code = "BMLE";
    g.title = "Border Management and Law Enforcement";
    g.mandate = "Border security and management,\nand law enforcement cooperation.";
    g.n_pillars = 2;
    g.pillars = pillars;
    g.status = COMPACT__WORKGROUPS__V1__GROUP_STATUS__GROUP_STATUS_ACTIVE;
    g.create_time = g.update_time = &t;
    l.chair_entity_id = FIXTURE_CHAIR_ID;
    l.n_vice_chair_entity_ids = 1;
    l.vice_chair_entity_ids = vice;
    if ((rc = group_store_insert(st, &g)) != 0 ||
        (rc = group_store_set_leadership(st, g.id, &l, "2023-01-15")) != 0 ||
        (rc = group_store_add_member(st, g.id, FIXTURE_CHAIR_ID,
                                     COMPACT__WORKGROUPS__V1__MEMBER_ROLE__MEMBER_ROLE_MEMBER,
                                     FIXTURE_TIME_MS)) != 0 ||
        (rc = group_store_add_member(st, g.id, FIXTURE_OBSERVER_ID,
                                     COMPACT__WORKGROUPS__V1__MEMBER_ROLE__MEMBER_ROLE_OBSERVER,
                                     FIXTURE_TIME_MS)) != 0)
        return rc;
    tor.text = "The group's terms of reference.";
    tor.approved_on = "2023-01-15";
    tor.decision_ref = FIXTURE_DECISION;
    return plan_store_add_tor(st, g.id, &tor, FIXTURE_TIME_MS, &tor_version);
}

static int write_item(store *st)
{
    Timestamp t = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    WorkPlanItem it = COMPACT__WORKGROUPS__V1__WORK_PLAN_ITEM__INIT;
    char *projects[] = {"prj_aaaaaaaaaaaaaaaaaaaa"};
    int rc;

    t.seconds = FIXTURE_TIME_MS / 1000;
    it.id = FIXTURE_ITEM_ID;
    it.title = "Joint border assessment";
    it.description = "An assessment with the host countries.";
    it.owner_entity_id = FIXTURE_CHAIR_ID;
    it.due_on = "2024-06-30";
    it.status = COMPACT__WORKGROUPS__V1__WORK_ITEM_STATUS__WORK_ITEM_STATUS_IN_PROGRESS;
    it.n_project_ids = 1;
    it.project_ids = projects;
    it.create_time = it.update_time = &t;
    rc = plan_store_insert_item(st, FIXTURE_GROUP_ID, &it);
    fuzz_service_reset_string(&it.etag);
    return rc;
}

static int write_closed_group(store *st)
{
    Timestamp t = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    StrategyPillar pillar = COMPACT__WORKGROUPS__V1__STRATEGY_PILLAR__STRATEGY_PILLAR_I;
    WorkingGroup g = COMPACT__WORKGROUPS__V1__WORKING_GROUP__INIT;

    t.seconds = FIXTURE_TIME_MS / 1000;
    g.id = FIXTURE_CLOSED_GROUP_ID;
    g.code = "OLD";
    g.title = "A Closed Group";
    g.n_pillars = 1;
    g.pillars = &pillar;
    g.status = COMPACT__WORKGROUPS__V1__GROUP_STATUS__GROUP_STATUS_CLOSED;
    g.create_time = g.update_time = &t;
    return group_store_insert(st, &g);
}

/* A members-only notice of BMLE and the observer's subscription to BMLE. */
static int write_notice_and_subscription(store *st)
{
    Timestamp t = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    Notice n = COMPACT__WORKGROUPS__V1__NOTICE__INIT;
    Subscription s = COMPACT__WORKGROUPS__V1__SUBSCRIPTION__INIT;
    char *groups[] = {FIXTURE_GROUP_ID};
    int rc;

    t.seconds = FIXTURE_TIME_MS / 1000;
    n.id = FIXTURE_NOTICE_ID;
    n.working_group_id = FIXTURE_GROUP_ID;
    n.kind = COMPACT__WORKGROUPS__V1__NOTICE_KIND__NOTICE_KIND_REPORT;
    n.title = "Workshop report";
    n.visibility = COMPACT__WORKGROUPS__V1__VISIBILITY__VISIBILITY_GROUP_MEMBERS;
    n.author_entity_id = FIXTURE_CHAIR_ID;
    n.post_time = &t;
    s.id = FIXTURE_SUBSCRIPTION_ID;
    s.entity_id = FIXTURE_OBSERVER_ID;
    s.focal_point_email = "observer@example.org";
    s.n_working_group_ids = 1;
    s.working_group_ids = groups;
    s.create_time = &t;
    if ((rc = notice_store_insert(st, &n)) != 0)
        return rc;
    return notice_store_insert_subscription(st, &s);
}

static int write_fixtures(store *st, void *arg)
{
    int rc;

    (void)arg;
    if ((rc = write_group(st)) != 0 || (rc = write_item(st)) != 0 ||
        (rc = write_notice_and_subscription(st)) != 0)
        return rc;
    return write_closed_group(st);
}

static int fixtures(service *svc)
{
    return fuzz_service_write(svc, write_fixtures, NULL);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_service_init(workgroups_service_def());
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_service_run(workgroups_service_def(), fixtures, data, size);
}

/* fuzz_membership.c: every method of compact.membership.v1.Membership, from
 * request bytes to the answer (fuzz_service.h says how).
 *
 * Fixtures, so that Get, Update, Withdraw and BatchGet reach more than
 * NOT_FOUND: an active entity and a withdrawn one, with the ids and
 * acronyms below (tests/fuzz/make_corpus.py names them too).
 */
#include <stdint.h>

#include "entity_store.h"
#include "fuzz_service.h"
#include "membership_service.h"

#define FIXTURE_ACTIVE_ID "ent_aaaaaaaaaaaaaaaaaaaa"    /* acronym UNOCT */
#define FIXTURE_WITHDRAWN_ID "ent_bbbbbbbbbbbbbbbbbbbb" /* acronym OLDORG */
#define FIXTURE_TIME_S 1700000000                       /* 2023-11-14 */

typedef Google__Protobuf__Timestamp Timestamp;

/* Inserts `e`, built from constants: only its etag is set by the store. */
static int insert(store *st, Entity *e)
{
    int rc = entity_store_insert(st, e);

    fuzz_service_reset_string(&e->etag);
    return rc;
}

static int write_fixtures(store *st, void *arg)
{
    Timestamp t = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    FocalPoint fp = COMPACT__MEMBERSHIP__V1__FOCAL_POINT__INIT;
    FocalPoint *fps[] = {&fp};
    Participation period = COMPACT__MEMBERSHIP__V1__PARTICIPATION__INIT;
    Participation *periods[] = {&period};
    Entity active = COMPACT__MEMBERSHIP__V1__ENTITY__INIT;
    Entity gone = COMPACT__MEMBERSHIP__V1__ENTITY__INIT;
    int rc;

    (void)arg;
    t.seconds = FIXTURE_TIME_S;
    period.role = COMPACT__MEMBERSHIP__V1__PARTICIPATION_ROLE__PARTICIPATION_ROLE_MEMBER;
    period.from_date = "2017-06-15";
    fp.name = "Focal Point";
    fp.title = "Programme Officer";
    fp.email = "focal@example.org";
    active.id = FIXTURE_ACTIVE_ID;
    active.acronym = "UNOCT";
    active.name = "United Nations Office of Counter-Terrorism";
    active.kind = COMPACT__MEMBERSHIP__V1__ENTITY_KIND__ENTITY_KIND_UN_ENTITY;
    active.status = COMPACT__MEMBERSHIP__V1__ENTITY_STATUS__ENTITY_STATUS_ACTIVE;
    active.joined_on = "2017-06-15";
    active.affiliation = COMPACT__MEMBERSHIP__V1__AFFILIATION__AFFILIATION_UN_SYSTEM;
    active.n_participation = 1;
    active.participation = periods;
    active.n_focal_points = 1;
    active.focal_points = fps;
    active.create_time = active.update_time = &t;
    gone.id = FIXTURE_WITHDRAWN_ID;
    gone.acronym = "OLDORG";
    gone.name = "A Withdrawn Organisation";
    gone.kind = COMPACT__MEMBERSHIP__V1__ENTITY_KIND__ENTITY_KIND_OBSERVER;
    gone.status = COMPACT__MEMBERSHIP__V1__ENTITY_STATUS__ENTITY_STATUS_WITHDRAWN;
    gone.create_time = gone.update_time = gone.withdraw_time = &t;
    if ((rc = insert(st, &active)) != 0)
        return rc;
    return insert(st, &gone);
}

static int fixtures(service *svc)
{
    return fuzz_service_write(svc, write_fixtures, NULL);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_service_init(membership_service_def());
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_service_run(membership_service_def(), fixtures, data, size);
}

/* handlers.c: the RPCs of compact.membership.v1.Membership (see handlers.h). */
#include "handlers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "aggregate.h"
#include "entity_store.h"
#include "fieldmask.h"
#include "page.h"
#include "pbstr.h"
#include "pbtime.h"
#include "provenance.h"
#include "status.h"
#include "validate.h"

typedef Compact__Membership__V1__CreateEntityRequest CreateEntityRequest;
typedef Compact__Membership__V1__ListEntitiesRequest ListEntitiesRequest;
typedef Compact__Membership__V1__ListEntitiesResponse ListEntitiesResponse;
typedef Compact__Membership__V1__UpdateEntityRequest UpdateEntityRequest;
typedef Compact__Membership__V1__WithdrawEntityRequest WithdrawEntityRequest;
typedef Compact__Membership__V1__BatchGetEntitiesRequest BatchGetEntitiesRequest;
typedef Compact__Membership__V1__BatchGetEntitiesResponse BatchGetEntitiesResponse;
typedef Compact__Membership__V1__CountEntitiesRequest CountEntitiesRequest;
typedef Compact__Membership__V1__CountEntitiesResponse CountEntitiesResponse;
typedef Compact__Membership__V1__AdmitEntityRequest AdmitEntityRequest;

#define STATUS_ACTIVE COMPACT__MEMBERSHIP__V1__ENTITY_STATUS__ENTITY_STATUS_ACTIVE
#define STATUS_WITHDRAWN COMPACT__MEMBERSHIP__V1__ENTITY_STATUS__ENTITY_STATUS_WITHDRAWN
#define KIND(x) COMPACT__MEMBERSHIP__V1__ENTITY_KIND__ENTITY_KIND_##x
#define AFFILIATION(x) COMPACT__MEMBERSHIP__V1__AFFILIATION__AFFILIATION_##x
#define ROLE(x) COMPACT__MEMBERSHIP__V1__PARTICIPATION_ROLE__PARTICIPATION_ROLE_##x

/* Limits, in characters. */
#define NAME_MAX_CHARS 256
#define FOCAL_POINTS_MAX 20
#define FOCAL_NAME_MAX_CHARS 128
#define FOCAL_TITLE_MAX_CHARS 128
#define SOURCE_NOTE_MAX_CHARS 2000
#define ETAG_MAX_CHARS 64
#define BATCH_MAX 1000
#define PERIODS_MAX 20
#define DAY_SIZE 11 /* YYYY-MM-DD and NUL */

#define FIELD_SIZE 64

/* The fields an update may name, as bits. */
enum entity_field {
    F_ACRONYM = 1 << 0,
    F_NAME = 1 << 1,
    F_AFFILIATION = 1 << 2,
    F_PARTICIPATION = 1 << 3,
    F_FOCAL_POINTS = 1 << 4,
    F_VERIFIED = 1 << 5,
    F_SOURCE_NOTE = 1 << 6,
    F_PROVENANCE = 1 << 7,
    F_KIND = 1 << 8,      /* deprecated: see apply_legacy_create/update */
    F_JOINED_ON = 1 << 9, /* deprecated */
    F_ALL = (1 << 10) - 1,
    F_LEGACY = F_KIND | F_JOINED_ON,
};

/* The input fields of an entity, and what an update mask may name. kind and
 * joined_on are derived (derive_legacy); given by an older client, they
 * stand for the affiliation and participation they imply. */
static const fieldmask_field entity_fields[] = {
    {"acronym", F_ACRONYM, NULL},
    {"name", F_NAME, NULL},
    {"affiliation", F_AFFILIATION, NULL},
    {"participation", F_PARTICIPATION, NULL},
    {"focal_points", F_FOCAL_POINTS, NULL},
    {"verified", F_VERIFIED, NULL},
    {"source_note", F_SOURCE_NOTE, NULL},
    {"provenance", F_PROVENANCE, NULL},
    {"kind", F_KIND, NULL},
    {"joined_on", F_JOINED_ON, NULL},
    {"status", 0, "cannot be updated; use WithdrawEntity"},
    {"id", 0, "is output only"},
    {"create_time", 0, "is output only"},
    {"update_time", 0, "is output only"},
    {"withdraw_time", 0, "is output only"},
    {"etag", 0, "is output only"},
    {NULL, 0, NULL},
};

/* ---- validation of an entity -------------------------------------------- */

static const char *acronym_problem(const char *s)
{
    if (!((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z') ||
          (s[0] >= '0' && s[0] <= '9')))
        return "must start with a letter or a digit";
    for (const char *p = s; *p; p++) {
        char c = *p;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == ' ' || c == '-' || c == '.' || c == '&'))
            return "may contain only letters, digits, spaces and the characters - . &";
    }
    return NULL;
}

static int check_acronym(rpc_call *call, const char *field, const char *s)
{
    return validate_required_string(call, field, s, ENTITY_ACRONYM_MAX) ||
                   validate_problem(call, field, acronym_problem(s))
               ? -1
               : 0;
}

static int check_focal_point(rpc_call *call, const Entity *e, size_t i)
{
    const FocalPoint *fp = e->focal_points[i];
    char field[FIELD_SIZE];

    snprintf(field, sizeof field, "entity.focal_points[%zu].name", i);
    if (validate_required_string(call, field, fp->name, FOCAL_NAME_MAX_CHARS))
        return -1;
    snprintf(field, sizeof field, "entity.focal_points[%zu].title", i);
    if (validate_optional_string(call, field, fp->title, FOCAL_TITLE_MAX_CHARS))
        return -1;
    snprintf(field, sizeof field, "entity.focal_points[%zu].email", i);
    if (validate_email(call, field, fp->email))
        return -1;
    for (size_t j = 0; j < i; j++) {
        if (strcasecmp(e->focal_points[j]->email, fp->email) == 0) {
            rpc_call_fail(call, RPC_INVALID_ARGUMENT, "%s: repeats entity.focal_points[%zu].email",
                          field, j);
            return -1;
        }
    }
    return 0;
}

/* Checks period i of the entity's participation, and its place after the
 * one before: oldest first, no overlap, only the last one open. */
static int check_period(rpc_call *call, const Entity *e, size_t i)
{
    const Participation *p = e->participation[i];
    char field[FIELD_SIZE];

    snprintf(field, sizeof field, "entity.participation[%zu].role", i);
    if (validate_enum(call, field, &compact__membership__v1__participation_role__descriptor,
                      (int)p->role, 1))
        return -1;
    snprintf(field, sizeof field, "entity.participation[%zu].from_date", i);
    if (validate_date(call, field, p->from_date))
        return -1;
    if (i > 0 && strcmp(p->from_date, e->participation[i - 1]->to_date) < 0) {
        rpc_call_fail(call, RPC_INVALID_ARGUMENT,
                      "%s: %s is before entity.participation[%zu].to_date (%s): periods are "
                      "oldest first and do not overlap",
                      field, p->from_date, i - 1, e->participation[i - 1]->to_date);
        return -1;
    }
    snprintf(field, sizeof field, "entity.participation[%zu].to_date", i);
    if (p->to_date[0] == '\0' && i + 1 < e->n_participation) {
        rpc_call_fail(call, RPC_INVALID_ARGUMENT,
                      "%s: must be set: only the last period may be open", field);
        return -1;
    }
    if (p->to_date[0] && validate_date(call, field, p->to_date))
        return -1;
    if (p->to_date[0] && strcmp(p->to_date, p->from_date) <= 0) {
        rpc_call_fail(call, RPC_INVALID_ARGUMENT,
                      "%s: must be after entity.participation[%zu].from_date (%s)", field, i,
                      p->from_date);
        return -1;
    }
    snprintf(field, sizeof field, "entity.participation[%zu].provenance", i);
    return provenance_check(call, field, p->provenance, p->n_provenance,
                            &compact__membership__v1__participation__descriptor);
}

/* Checks the fields of `e` named in `mask`; output-only fields are ignored
 * (AIP-203), as are fields outside the mask (AIP-134). */
static int check_entity(rpc_call *call, const Entity *e, unsigned mask)
{
    if ((mask & F_ACRONYM) && check_acronym(call, "entity.acronym", e->acronym))
        return -1;
    if ((mask & F_NAME) && validate_required_string(call, "entity.name", e->name, NAME_MAX_CHARS))
        return -1;
    if ((mask & F_AFFILIATION) &&
        validate_enum(call, "entity.affiliation", &compact__membership__v1__affiliation__descriptor,
                      (int)e->affiliation, 1))
        return -1;
    if (mask & F_PARTICIPATION) {
        if (validate_max_items(call, "entity.participation", e->n_participation, PERIODS_MAX))
            return -1;
        for (size_t i = 0; i < e->n_participation; i++) {
            if (check_period(call, e, i))
                return -1;
        }
    }
    if ((mask & F_PROVENANCE) &&
        provenance_check(call, "entity.provenance", e->provenance, e->n_provenance,
                         &compact__membership__v1__entity__descriptor))
        return -1;
    if ((mask & F_KIND) &&
        validate_enum(call, "entity.kind", &compact__membership__v1__entity_kind__descriptor,
                      (int)e->kind, 1))
        return -1;
    if ((mask & F_JOINED_ON) && e->joined_on[0] &&
        validate_date(call, "entity.joined_on", e->joined_on))
        return -1;
    if ((mask & F_SOURCE_NOTE) &&
        validate_text(call, "entity.source_note", e->source_note, SOURCE_NOTE_MAX_CHARS))
        return -1;
    if (!(mask & F_FOCAL_POINTS))
        return 0;
    if (validate_max_items(call, "entity.focal_points", e->n_focal_points, FOCAL_POINTS_MAX))
        return -1;
    for (size_t i = 0; i < e->n_focal_points; i++) {
        if (check_focal_point(call, e, i))
            return -1;
    }
    return 0;
}

/* ---- kind and joined_on, for older clients --------------------------------- */

/* The affiliation a create stands for: entity.affiliation, or else what the
 * deprecated kind says of it (0, not recorded, for ENTITY_KIND_OBSERVER).
 * Fails the call when neither is given. */
static int create_affiliation(rpc_call *call, const Entity *e, int *out)
{
    if (validate_enum(call, "entity.kind", &compact__membership__v1__entity_kind__descriptor,
                      (int)e->kind, 0))
        return -1;
    *out = (int)e->affiliation;
    if (*out == 0 && e->kind == KIND(UN_ENTITY))
        *out = AFFILIATION(UN_SYSTEM);
    else if (*out == 0 && e->kind == KIND(NON_UN_MEMBER))
        *out = AFFILIATION(NON_UN);
    if (*out != 0)
        return validate_enum(call, "entity.affiliation",
                             &compact__membership__v1__affiliation__descriptor, *out, 1);
    /* An older client's observer: the kind said nothing of the affiliation,
     * which stays not recorded, as for the observers the upgrade found. */
    if (e->kind == KIND(OBSERVER))
        return 0;
    rpc_call_fail(call, RPC_INVALID_ARGUMENT,
                  "entity.affiliation: must be set (older clients: entity.kind)");
    return -1;
}

/* A create with no participation but a joined_on (older clients): one
 * period from that day in the role the kind says. 0 or -ENOMEM. */
static int create_legacy_period(Entity *e, const Entity *req)
{
    Participation *p;

    if (e->n_participation > 0 || req->joined_on[0] == '\0')
        return 0;
    if ((e->participation = calloc(1, sizeof *e->participation)) == NULL ||
        (p = malloc(sizeof *p)) == NULL)
        return -ENOMEM;
    compact__membership__v1__participation__init(p);
    e->participation[0] = p;
    e->n_participation = 1;
    p->role = req->kind == KIND(OBSERVER) ? ROLE(OBSERVER) : ROLE(MEMBER);
    return pbstr_set(&p->from_date, req->joined_on);
}

/* An update naming the deprecated kind or joined_on: what they imply, unless
 * the same update names affiliation or participation, which then win. kind
 * gives the affiliation (UN_ENTITY, NON_UN_MEMBER) and the role of the
 * latest period; joined_on moves the first period's start, or makes the
 * first period. Returns 0; 1 after failing the write (INVALID_ARGUMENT)
 * when they cannot be recorded; or -ENOMEM. */
static int apply_legacy_update(aggregate_write *w, Entity *e, const Entity *req, unsigned mask)
{
    int observer = (mask & F_KIND) ? req->kind == KIND(OBSERVER) : e->kind == KIND(OBSERVER);

    if ((mask & F_KIND) && !(mask & F_AFFILIATION) && req->kind != KIND(OBSERVER))
        e->affiliation =
            req->kind == KIND(UN_ENTITY) ? AFFILIATION(UN_SYSTEM) : AFFILIATION(NON_UN);
    if (mask & F_PARTICIPATION)
        return 0;
    if ((mask & F_JOINED_ON) && req->joined_on[0] == '\0' && e->n_participation > 0) {
        aggregate_fail(w, RPC_INVALID_ARGUMENT,
                       "entity.joined_on: cannot be cleared: the entity has participation "
                       "periods (update participation)");
        return 1;
    }
    if ((mask & F_JOINED_ON) && req->joined_on[0] && e->n_participation == 0) {
        int rc = create_legacy_period(e, req);
        if (rc == 0)
            e->participation[0]->role = observer ? ROLE(OBSERVER) : ROLE(MEMBER);
        return rc;
    }
    if ((mask & F_JOINED_ON) && req->joined_on[0]) {
        Participation *first = e->participation[0];
        if (first->to_date[0] && strcmp(req->joined_on, first->to_date) >= 0) {
            aggregate_fail(w, RPC_INVALID_ARGUMENT,
                           "entity.joined_on: %s is not before the end of the first "
                           "participation period (%s); update participation",
                           req->joined_on, first->to_date);
            return 1;
        }
        if (pbstr_set(&first->from_date, req->joined_on))
            return -ENOMEM;
    }
    if (!(mask & F_KIND))
        return 0;
    if (e->n_participation > 0) {
        e->participation[e->n_participation - 1]->role = observer ? ROLE(OBSERVER) : ROLE(MEMBER);
    } else if (observer) {
        aggregate_fail(w, RPC_INVALID_ARGUMENT,
                       "entity.kind: ENTITY_KIND_OBSERVER needs a participation period to hold "
                       "the role; give joined_on or participation");
        return 1;
    }
    return 0;
}

/* Sets the derived fields kind and joined_on from the affiliation and the
 * periods (see Entity.kind in membership.proto), and drops empty sources. */
static int derive_legacy(Entity *e)
{
    const Participation *last =
        e->n_participation ? e->participation[e->n_participation - 1] : NULL;

    if ((last && last->role == ROLE(OBSERVER)) || (!last && e->affiliation == 0))
        e->kind = KIND(OBSERVER);
    else
        e->kind = e->affiliation == AFFILIATION(UN_SYSTEM) ? KIND(UN_ENTITY) : KIND(NON_UN_MEMBER);
    provenance_normalize(e->provenance, e->n_provenance);
    for (size_t i = 0; i < e->n_participation; i++)
        provenance_normalize(e->participation[i]->provenance, e->participation[i]->n_provenance);
    return pbstr_set(&e->joined_on, e->n_participation ? e->participation[0]->from_date : "");
}

/* Today (UTC) as YYYY-MM-DD, of the time `ms`. */
static void day_of(int64_t ms, char *buf)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(buf, DAY_SIZE, "%Y-%m-%d", &tm);
}

/* ---- the entity as an aggregate ------------------------------------------ */

/* aggregate_load_fn: an entity from the store, by id or by acronym. */
static int load_by_id(void *st, const char *id, ProtobufCMessage **out, int64_t *version)
{
    Entity *e = NULL;
    int rc = entity_store_get(st, id, &e, version);

    *out = e ? &e->base : NULL;
    return rc;
}

static int load_by_acronym(void *st, const char *acronym, ProtobufCMessage **out, int64_t *version)
{
    Entity *e = NULL;
    int rc = entity_store_get_by_acronym(st, acronym, &e);

    (void)version; /* only the id serves writes */
    *out = e ? &e->base : NULL;
    return rc;
}

/* An acronym's form in cache keys: its sort key with spaces as '_' (which
 * no acronym contains), so that keys have no spaces and stay one-to-one. */
static int acronym_cache_id(const char *acronym, char *buf, size_t size)
{
    if (strlen(acronym) >= size)
        return -ENAMETOOLONG;
    entity_store_acronym_key(acronym, buf, size);
    for (char *p = buf; *p; p++) {
        if (*p == ' ')
            *p = '_';
    }
    return 0;
}

static const aggregate_def entity_aggregate = {
    .service = "membership",
    .type = "entity",
    .noun = "entity",
    .descriptor = &compact__membership__v1__entity__descriptor,
    .id_prefix = IDS_ENTITY,
    .keys =
        {
            {.field = "id", .label = "id", .cache_kind = "entity", .load = load_by_id},
            {.field = "acronym",
             .label = "acronym",
             .cache_kind = "acronym",
             .load = load_by_acronym,
             .cache_id = acronym_cache_id},
        },
};

/* ---- writes ------------------------------------------------------------- */

/* Fails with ALREADY_EXISTS if another entity than `self_id` (NULL: any)
 * holds `acronym`, case-insensitively. */
static int check_acronym_free(rpc_call *call, store *st, const char *acronym, const char *self_id)
{
    char owner[IDS_SIZE], stored[ENTITY_ACRONYM_MAX + 1];
    int rc = entity_store_acronym_owner(st, acronym, owner, stored);

    if (rc == -ENOENT || (rc == 0 && self_id && strcmp(owner, self_id) == 0))
        return 0;
    if (rc == 0 && strcmp(stored, acronym) == 0)
        rpc_call_fail(call, RPC_ALREADY_EXISTS,
                      "entity.acronym: an entity with acronym \"%s\" already exists (%s)", stored,
                      owner);
    else if (rc == 0)
        rpc_call_fail(call, RPC_ALREADY_EXISTS,
                      "entity.acronym: an entity with acronym \"%s\" already exists (%s); "
                      "acronyms are unique regardless of case, so \"%s\" is taken",
                      stored, owner, acronym);
    else
        status_fail_store(call, rc, "cannot check the acronym");
    return -1;
}

/* ---- decision references ------------------------------------------------ */

/* decision_ref is output only: a period keeps the one of the stored period
 * with its role and from_date (`old[0..n)`), and has none otherwise. 0 or
 * -ENOMEM. */
static int keep_decision_refs(Entity *e, Participation *const *old, size_t n)
{
    for (size_t i = 0; i < e->n_participation; i++) {
        Participation *p = e->participation[i];
        const char *ref = "";

        for (size_t j = 0; j < n; j++)
            if (old[j]->role == p->role && strcmp(old[j]->from_date, p->from_date) == 0)
                ref = old[j]->decision_ref;
        if (strcmp(p->decision_ref, ref) != 0 && pbstr_set(&p->decision_ref, ref) != 0)
            return -ENOMEM;
    }
    return 0;
}

/* ---- CreateEntity ------------------------------------------------------- */

void handle_create_entity(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    const CreateEntityRequest *req = (const CreateEntityRequest *)request;
    store *st = service_store(svc);
    aggregate_write w;
    Entity *e;

    int affiliation, rc;

    if (validate_present(call, "entity", req->entity) ||
        create_affiliation(call, req->entity, &affiliation) ||
        check_entity(call, req->entity, F_ALL & ~(F_AFFILIATION | F_LEGACY)) ||
        (req->entity->n_participation == 0 && req->entity->joined_on[0] &&
         validate_date(call, "entity.joined_on", req->entity->joined_on)) ||
        aggregate_begin_new(&w, call, svc, &entity_aggregate,
                            aggregate_new(&req->entity->base, entity_fields, F_ALL)))
        return;
    e = (Entity *)w.state;
    e->status = STATUS_ACTIVE;
    e->affiliation = affiliation;
    rc = keep_decision_refs(e, NULL, 0);
    if (rc != 0) {
        aggregate_commit(&w, rc, "entity.created", NULL); /* fails it */
        return;
    }
    if (check_acronym_free(call, st, e->acronym, NULL)) {
        aggregate_abort(&w);
        return;
    }
    rc = create_legacy_period(e, req->entity);
    if (rc == 0)
        rc = derive_legacy(e);
    if (rc == 0)
        rc = entity_store_insert(st, e);
    aggregate_commit(&w, rc, "entity.created", NULL);
}

/* ---- GetEntity ---------------------------------------------------------- */

void handle_get_entity(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    aggregate_get(call, svc, &entity_aggregate, request);
}

/* ---- ListEntities ------------------------------------------------------- */

/* page_key_fn: entities are listed by acronym, case-insensitively. */
static void acronym_page_key(const ProtobufCMessage *item, char *buf, size_t size)
{
    entity_store_acronym_key(((const Entity *)item)->acronym, buf, size);
}

void handle_list_entities(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    const ListEntitiesRequest *req = (const ListEntitiesRequest *)request;
    ListEntitiesResponse resp = COMPACT__MEMBERSHIP__V1__LIST_ENTITIES_RESPONSE__INIT;
    char kind[16], status[16], affiliation[16], role[16], day[DAY_SIZE] = "";
    const char *filters[] = {"membership.entities", kind, status, affiliation, day, role};
    entity_store_filter f = {.kind = (int)req->kind,
                             .status = (int)req->status,
                             .affiliation = (int)req->affiliation,
                             .day = day,
                             .role = (int)req->role};
    Entity **v = NULL;
    size_t n = 0;
    page_request pg;
    int rc;

    snprintf(kind, sizeof kind, "%d", (int)req->kind);
    snprintf(status, sizeof status, "%d", (int)req->status);
    snprintf(affiliation, sizeof affiliation, "%d", (int)req->affiliation);
    snprintf(role, sizeof role, "%d", (int)req->role);
    if (validate_enum(call, "kind", &compact__membership__v1__entity_kind__descriptor,
                      (int)req->kind, 0) ||
        validate_enum(call, "status", &compact__membership__v1__entity_status__descriptor,
                      (int)req->status, 0) ||
        validate_enum(call, "affiliation", &compact__membership__v1__affiliation__descriptor,
                      (int)req->affiliation, 0) ||
        validate_enum(call, "role", &compact__membership__v1__participation_role__descriptor,
                      (int)req->role, 0) ||
        (req->as_of_date[0] && validate_date(call, "as_of_date", req->as_of_date)))
        return;
    /* A role is a role on some day: today when the request names none. */
    if (req->as_of_date[0])
        snprintf(day, sizeof day, "%s", req->as_of_date);
    else if (req->role)
        day_of(pbtime_now_ms(), day);
    if (page_request_parse(call, filters, 6, req->page_size, req->page_token, &pg))
        return;
    rc = entity_store_list(service_store(svc), &f, pg.after, page_request_limit(&pg), &v, &n);
    page_reply(call, &pg, rc, "cannot list entities", &resp.base, (ProtobufCMessage **)v, n,
               acronym_page_key);
}

/* ---- UpdateEntity ------------------------------------------------------- */

/* aggregate_apply, keeping the periods' decision references. The stored
 * periods are taken out of `e` first so that they outlive the copy. */
static int apply_update(Entity *e, const Entity *req, unsigned mask)
{
    Participation **old = e->participation;
    size_t n = e->n_participation;
    int rc;

    if (!(mask & F_PARTICIPATION))
        return aggregate_apply(&e->base, &req->base, entity_fields, mask);
    e->participation = NULL;
    e->n_participation = 0;
    rc = aggregate_apply(&e->base, &req->base, entity_fields, mask);
    if (rc != 0) { /* `e` unchanged: its periods go back */
        e->participation = old;
        e->n_participation = n;
        return rc;
    }
    rc = keep_decision_refs(e, old, n);
    for (size_t i = 0; i < n; i++)
        protobuf_c_message_free_unpacked(&old[i]->base, NULL);
    free(old);
    return rc;
}

void handle_update_entity(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    const UpdateEntityRequest *req = (const UpdateEntityRequest *)request;
    store *st = service_store(svc);
    aggregate_write w;
    Entity *e;
    unsigned mask;
    int rc;

    if (validate_present(call, "entity", req->entity) ||
        validate_id(call, "entity.id", req->entity->id, IDS_ENTITY) ||
        fieldmask_parse(call, req->update_mask, entity_fields, &mask) ||
        check_entity(call, req->entity, mask) ||
        validate_max_length(call, "etag", req->etag, ETAG_MAX_CHARS) ||
        aggregate_begin(&w, call, svc, &entity_aggregate, "entity.id", req->entity->id, req->etag))
        return;
    e = (Entity *)w.state;
    if ((mask & F_ACRONYM) && check_acronym_free(call, st, req->entity->acronym, e->id)) {
        aggregate_abort(&w);
        return;
    }
    rc = apply_update(e, req->entity, mask & ~F_LEGACY);
    if (rc == 0 && (mask & F_LEGACY) && (rc = apply_legacy_update(&w, e, req->entity, mask)) > 0)
        return; /* refused: the write is over */
    if (rc == 0)
        rc = derive_legacy(e);
    if (rc == 0)
        rc = entity_store_update(st, e, w.version);
    aggregate_commit(&w, rc, "entity.updated", NULL);
}

/* ---- WithdrawEntity ----------------------------------------------------- */

/* A withdrawal ends the open period on the day it happens (a period that
 * starts later than that day is left as it is: withdrawing says nothing of
 * it). 0 or -ENOMEM. */
static int end_open_period(Entity *e, int64_t now_ms)
{
    Participation *last = e->n_participation ? e->participation[e->n_participation - 1] : NULL;
    char today[DAY_SIZE];

    day_of(now_ms, today);
    if (last == NULL || last->to_date[0] || strcmp(last->from_date, today) >= 0)
        return 0;
    return pbstr_set(&last->to_date, today);
}

void handle_withdraw_entity(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    const WithdrawEntityRequest *req = (const WithdrawEntityRequest *)request;
    aggregate_write w;
    Entity *e;
    int rc;

    if (validate_id(call, "id", req->id, IDS_ENTITY) ||
        validate_max_length(call, "etag", req->etag, ETAG_MAX_CHARS) ||
        aggregate_begin(&w, call, svc, &entity_aggregate, "id", req->id, ""))
        return;
    e = (Entity *)w.state;
    /* Before the etag: a retried withdraw learns it already happened. */
    if (e->status == STATUS_WITHDRAWN) {
        aggregate_fail(&w, RPC_FAILED_PRECONDITION, "id: entity %s (%s) is already withdrawn",
                       e->id, e->acronym);
        return;
    }
    if (aggregate_check_etag(&w, req->etag))
        return;
    e->status = STATUS_WITHDRAWN;
    rc = pbtime_set(&e->withdraw_time, w.now_ms);
    if (rc == 0)
        rc = end_open_period(e, w.now_ms);
    if (rc == 0)
        rc = derive_legacy(e);
    if (rc == 0)
        rc = entity_store_update(service_store(svc), e, w.version);
    aggregate_commit(&w, rc, "entity.withdrawn", NULL);
}

/* ---- AdmitEntity -------------------------------------------------------- */

/* Why `e` cannot take part in `role` from `day`, into why[size]; NULL when
 * it can. */
static const char *admission_problem(const Entity *e, int role, const char *day, char *why,
                                     size_t size)
{
    const Participation *last =
        e->n_participation ? e->participation[e->n_participation - 1] : NULL;

    if (e->status == STATUS_WITHDRAWN)
        snprintf(why, size, "entity_id: entity %s (%s) is withdrawn", e->id, e->acronym);
    else if (last && strcmp(last->from_date, day) >= 0)
        snprintf(why, size,
                 "from_date: %s (%s) has a period from %s, not before %s; periods are "
                 "recorded oldest first",
                 e->id, e->acronym, last->from_date, day);
    else if (last && last->to_date[0] == '\0' && (int)last->role == role)
        snprintf(why, size, "role: %s (%s) takes part in that role already, since %s", e->id,
                 e->acronym, last->from_date);
    else if (last && strcmp(last->to_date, day) > 0)
        snprintf(why, size, "from_date: %s (%s) has a period until %s, after %s", e->id, e->acronym,
                 last->to_date, day);
    else
        return NULL;
    return why;
}

/* Ends the open period on the request's day and adds one in its role from
 * that day, begun by its decision. 0 or -ENOMEM (`e` is dropped then). */
static int admit(Entity *e, const AdmitEntityRequest *req)
{
    Participation *last = e->n_participation ? e->participation[e->n_participation - 1] : NULL;
    Participation **grown, *p;

    if (last && last->to_date[0] == '\0' && pbstr_set(&last->to_date, req->from_date) != 0)
        return -ENOMEM;
    grown = realloc(e->participation, (e->n_participation + 1) * sizeof *grown);
    if (grown == NULL)
        return -ENOMEM;
    e->participation = grown;
    if ((p = malloc(sizeof *p)) == NULL)
        return -ENOMEM;
    compact__membership__v1__participation__init(p);
    e->participation[e->n_participation++] = p;
    p->role = req->role;
    if (pbstr_set(&p->from_date, req->from_date) != 0 ||
        pbstr_set(&p->decision_ref, req->decision_ref) != 0)
        return -ENOMEM;
    return 0;
}

/* The entity an admission's decision_ref was carried out on: 0 and the
 * call goes on when none; 1 when the call was answered (the entity as
 * stored for a retry, ALREADY_EXISTS for another entity, a store failure). */
static int admitted_before(aggregate_write *w, const AdmitEntityRequest *req)
{
    const Entity *e = (const Entity *)w->state;
    char owner[IDS_SIZE];
    int rc = entity_store_admitted_by(service_store(w->svc), req->decision_ref, owner);

    if (rc == -ENOENT)
        return 0;
    if (rc != 0) {
        status_fail_store(w->call, rc, "cannot look up the decision");
        aggregate_abort(w);
    } else if (strcmp(owner, e->id) == 0) {
        aggregate_reply_stored(w, "entity_id", e->id);
    } else {
        aggregate_fail(w, RPC_ALREADY_EXISTS,
                       "decision_ref: %s was carried out on entity %s already; a decision's "
                       "effect is recorded once",
                       req->decision_ref, owner);
    }
    return 1;
}

/* Required here: an admission is always a decision's. */
static int check_decision_ref(rpc_call *call, const char *ref)
{
    if (ref[0] == '\0') {
        rpc_call_fail(call, RPC_INVALID_ARGUMENT, "decision_ref: must be set");
        return -1;
    }
    return validate_decision_ref(call, "decision_ref", ref);
}

void handle_admit_entity(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    const AdmitEntityRequest *req = (const AdmitEntityRequest *)request;
    aggregate_write w;
    const char *problem;
    char why[256];
    Entity *e;
    int rc;

    if (validate_id(call, "entity_id", req->entity_id, IDS_ENTITY) ||
        validate_enum(call, "role", &compact__membership__v1__participation_role__descriptor,
                      (int)req->role, 1) ||
        validate_date(call, "from_date", req->from_date) ||
        check_decision_ref(call, req->decision_ref) ||
        aggregate_begin(&w, call, svc, &entity_aggregate, "entity_id", req->entity_id, "") ||
        admitted_before(&w, req))
        return;
    e = (Entity *)w.state;
    problem = admission_problem(e, (int)req->role, req->from_date, why, sizeof why);
    if (problem) {
        aggregate_fail(&w, RPC_FAILED_PRECONDITION, "%s", problem);
        return;
    }
    rc = admit(e, req);
    if (rc == 0)
        rc = derive_legacy(e);
    if (rc == 0)
        rc = entity_store_update(service_store(svc), e, w.version);
    aggregate_commit(&w, rc, "entity.admitted", NULL);
}

/* ---- BatchGetEntities --------------------------------------------------- */

void handle_batch_get_entities(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    const BatchGetEntitiesRequest *req = (const BatchGetEntitiesRequest *)request;

    if (validate_ids(call, "ids", req->ids, req->n_ids, BATCH_MAX, IDS_ENTITY) ||
        validate_enum(call, "view", &compact__membership__v1__view__descriptor, (int)req->view, 0))
        return;
    aggregate_batch_get_reply(call, svc, &entity_aggregate, req->ids, req->n_ids,
                              req->allow_missing,
                              req->view == COMPACT__MEMBERSHIP__V1__VIEW__VIEW_BASIC,
                              &compact__membership__v1__batch_get_entities_response__descriptor);
}

/* ---- CountEntities ------------------------------------------------------ */

void handle_count_entities(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    const CountEntitiesRequest *req = (const CountEntitiesRequest *)request;
    CountEntitiesResponse resp = COMPACT__MEMBERSHIP__V1__COUNT_ENTITIES_RESPONSE__INIT;
    entity_store_counts c;
    char day[DAY_SIZE];
    int rc;

    if (req->as_of_date[0] && validate_date(call, "as_of_date", req->as_of_date))
        return;
    if (req->as_of_date[0])
        snprintf(day, sizeof day, "%s", req->as_of_date);
    else
        day_of(pbtime_now_ms(), day);
    if ((rc = entity_store_count(service_store(svc), day, &c)) != 0) {
        status_fail_store(call, rc, "cannot count entities");
        return;
    }
    resp.as_of_date = day;
    resp.total = (int32_t)c.total;
    resp.members = (int32_t)c.members;
    resp.observers = (int32_t)c.observers;
    resp.un_system = (int32_t)c.un_system;
    resp.non_un = (int32_t)c.non_un;
    resp.confirmed = (int32_t)c.confirmed;
    rpc_call_reply(call, &resp.base);
}

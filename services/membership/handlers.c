/* handlers.c: the RPCs of compact.membership.v1.Membership (see handlers.h). */
#include "handlers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aggregate.h"
#include "entity_store.h"
#include "fieldmask.h"
#include "page.h"
#include "pbtime.h"
#include "status.h"
#include "validate.h"

typedef Compact__Membership__V1__CreateEntityRequest CreateEntityRequest;
typedef Compact__Membership__V1__ListEntitiesRequest ListEntitiesRequest;
typedef Compact__Membership__V1__ListEntitiesResponse ListEntitiesResponse;
typedef Compact__Membership__V1__UpdateEntityRequest UpdateEntityRequest;
typedef Compact__Membership__V1__WithdrawEntityRequest WithdrawEntityRequest;
typedef Compact__Membership__V1__BatchGetEntitiesRequest BatchGetEntitiesRequest;
typedef Compact__Membership__V1__BatchGetEntitiesResponse BatchGetEntitiesResponse;

#define STATUS_ACTIVE COMPACT__MEMBERSHIP__V1__ENTITY_STATUS__ENTITY_STATUS_ACTIVE
#define STATUS_WITHDRAWN COMPACT__MEMBERSHIP__V1__ENTITY_STATUS__ENTITY_STATUS_WITHDRAWN

/* Limits, in characters. */
#define NAME_MAX_CHARS 256
#define FOCAL_POINTS_MAX 20
#define FOCAL_NAME_MAX_CHARS 128
#define FOCAL_TITLE_MAX_CHARS 128
#define SOURCE_NOTE_MAX_CHARS 2000
#define ETAG_MAX_CHARS 64
#define BATCH_MAX 1000

#define FIELD_SIZE 64

/* The fields an update may name, as bits. */
enum entity_field {
    F_ACRONYM = 1 << 0,
    F_NAME = 1 << 1,
    F_KIND = 1 << 2,
    F_JOINED_ON = 1 << 3,
    F_FOCAL_POINTS = 1 << 4,
    F_VERIFIED = 1 << 5,
    F_SOURCE_NOTE = 1 << 6,
    F_ALL = (1 << 7) - 1,
};

/* The input fields of an entity, and what an update mask may name. */
static const fieldmask_field entity_fields[] = {
    {"acronym", F_ACRONYM, NULL},
    {"name", F_NAME, NULL},
    {"kind", F_KIND, NULL},
    {"joined_on", F_JOINED_ON, NULL},
    {"focal_points", F_FOCAL_POINTS, NULL},
    {"verified", F_VERIFIED, NULL},
    {"source_note", F_SOURCE_NOTE, NULL},
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

/* Checks the fields of `e` named in `mask`; output-only fields are ignored
 * (AIP-203), as are fields outside the mask (AIP-134). */
static int check_entity(rpc_call *call, const Entity *e, unsigned mask)
{
    if ((mask & F_ACRONYM) && check_acronym(call, "entity.acronym", e->acronym))
        return -1;
    if ((mask & F_NAME) && validate_required_string(call, "entity.name", e->name, NAME_MAX_CHARS))
        return -1;
    if ((mask & F_KIND) &&
        validate_enum(call, "entity.kind", &compact__membership__v1__entity_kind__descriptor,
                      (int)e->kind, 1))
        return -1;
    /* The joining date is optional: the facts often give only a month. */
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

/* ---- CreateEntity ------------------------------------------------------- */

void handle_create_entity(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    const CreateEntityRequest *req = (const CreateEntityRequest *)request;
    store *st = service_store(svc);
    aggregate_write w;
    Entity *e;

    if (validate_present(call, "entity", req->entity) || check_entity(call, req->entity, F_ALL) ||
        aggregate_begin_new(&w, call, svc, &entity_aggregate,
                            aggregate_new(&req->entity->base, entity_fields, F_ALL)))
        return;
    e = (Entity *)w.state;
    e->status = STATUS_ACTIVE;
    if (check_acronym_free(call, st, e->acronym, NULL)) {
        aggregate_abort(&w);
        return;
    }
    aggregate_commit(&w, entity_store_insert(st, e), "entity.created", NULL);
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
    char kind[16], status[16];
    const char *filters[] = {"membership.entities", kind, status};
    Entity **v = NULL;
    size_t n = 0;
    page_request pg;
    int rc;

    snprintf(kind, sizeof kind, "%d", (int)req->kind);
    snprintf(status, sizeof status, "%d", (int)req->status);
    if (validate_enum(call, "kind", &compact__membership__v1__entity_kind__descriptor,
                      (int)req->kind, 0) ||
        validate_enum(call, "status", &compact__membership__v1__entity_status__descriptor,
                      (int)req->status, 0) ||
        page_request_parse(call, filters, 3, req->page_size, req->page_token, &pg))
        return;
    rc = entity_store_list(service_store(svc), (int)req->kind, (int)req->status, pg.after,
                           page_request_limit(&pg), &v, &n);
    page_reply(call, &pg, rc, "cannot list entities", &resp.base, (ProtobufCMessage **)v, n,
               acronym_page_key);
}

/* ---- UpdateEntity ------------------------------------------------------- */

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
    rc = aggregate_apply(&e->base, &req->entity->base, entity_fields, mask);
    if (rc == 0)
        rc = entity_store_update(st, e, w.version);
    aggregate_commit(&w, rc, "entity.updated", NULL);
}

/* ---- WithdrawEntity ----------------------------------------------------- */

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
        rc = entity_store_update(service_store(svc), e, w.version);
    aggregate_commit(&w, rc, "entity.withdrawn", NULL);
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

/* handlers.c: the RPCs of compact.membership.v1.Membership (see handlers.h). */
#include "handlers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cached_get.h"
#include "entity_store.h"
#include "etag.h"
#include "ids.h"
#include "page.h"
#include "pbstr.h"
#include "pbtime.h"
#include "service.h"
#include "status.h"
#include "txn.h"
#include "validate.h"

typedef Compact__Membership__V1__CreateEntityRequest CreateEntityRequest;
typedef Compact__Membership__V1__GetEntityRequest GetEntityRequest;
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

#define CACHE_KEY_SIZE 160
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

/* ---- cache keys --------------------------------------------------------- */

/* The cache id of an acronym: its sort key with spaces as '_' (which no
 * acronym contains), so keys have no spaces and stay one-to-one. */
static int acronym_cache_key(char *buf, size_t size, const char *acronym)
{
    char id[ENTITY_ACRONYM_MAX * 4 + 1];

    entity_store_acronym_key(acronym, id, sizeof id);
    for (char *p = id; *p; p++) {
        if (*p == ' ')
            *p = '_';
    }
    return cache_key(buf, size, "membership", "acronym", id);
}

static int entity_cache_key(char *buf, size_t size, const char *id)
{
    return cache_key(buf, size, "membership", "entity", id);
}

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
    const char *problem;

    if (validate_required_string(call, field, s, ENTITY_ACRONYM_MAX))
        return -1;
    if ((problem = acronym_problem(s)) == NULL)
        return 0;
    rpc_call_fail(call, RPC_INVALID_ARGUMENT, "%s: %s", field, problem);
    return -1;
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
            rpc_call_fail(call, RPC_INVALID_ARGUMENT,
                          "%s: repeats entity.focal_points[%zu].email", field, j);
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
    if ((mask & F_KIND) && validate_enum(call, "entity.kind",
                                         &compact__membership__v1__entity_kind__descriptor,
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

/* ---- building entities -------------------------------------------------- */

static int copy_focal_points(Entity *dst, const Entity *src)
{
    FocalPoint **v = calloc(src->n_focal_points ? src->n_focal_points : 1, sizeof *v);
    size_t n = 0;
    int rc = v ? 0 : -ENOMEM;

    for (; rc == 0 && n < src->n_focal_points; n++) {
        const FocalPoint *from = src->focal_points[n];
        if ((v[n] = malloc(sizeof *v[n])) == NULL) {
            rc = -ENOMEM;
            break;
        }
        compact__membership__v1__focal_point__init(v[n]);
        if (pbstr_set(&v[n]->name, from->name) ||
            pbstr_set(&v[n]->title, from->title) ||
            pbstr_set(&v[n]->email, from->email))
            rc = -ENOMEM;
    }
    /* Swap in the new list, or on failure free the partial one the same way. */
    FocalPoint **old = rc == 0 ? dst->focal_points : v;
    size_t old_n = rc == 0 ? dst->n_focal_points : n;
    if (rc == 0) {
        dst->focal_points = v;
        dst->n_focal_points = n;
    }
    for (size_t i = 0; old && i < old_n; i++)
        protobuf_c_message_free_unpacked(&old[i]->base, NULL);
    free(old);
    return rc;
}

/* Copies the fields named in `mask` from `src` to `dst`. */
static int apply_fields(Entity *dst, const Entity *src, unsigned mask)
{
    if (((mask & F_ACRONYM) && pbstr_set(&dst->acronym, src->acronym)) ||
        ((mask & F_NAME) && pbstr_set(&dst->name, src->name)) ||
        ((mask & F_JOINED_ON) && pbstr_set(&dst->joined_on, src->joined_on)) ||
        ((mask & F_SOURCE_NOTE) && pbstr_set(&dst->source_note, src->source_note)))
        return -ENOMEM;
    if (mask & F_KIND)
        dst->kind = src->kind;
    if (mask & F_VERIFIED)
        dst->verified = src->verified;
    return (mask & F_FOCAL_POINTS) ? copy_focal_points(dst, src) : 0;
}

/* A new active entity with a fresh id and the input fields of `src`. */
static int new_entity(const Entity *src, Entity **out)
{
    Entity *e = malloc(sizeof *e);
    char id[ENTITY_ID_SIZE];
    int64_t now = pbtime_now_ms();
    int rc;

    *out = NULL;
    if (e == NULL)
        return -ENOMEM;
    compact__membership__v1__entity__init(e);
    e->status = STATUS_ACTIVE;
    if ((rc = ids_new(ENTITY_ID_PREFIX, id, sizeof id)) != 0 ||
        (rc = pbstr_set(&e->id, id)) != 0 ||
        (rc = pbtime_set(&e->create_time, now)) != 0 ||
        (rc = pbtime_set(&e->update_time, now)) != 0 ||
        (rc = apply_fields(e, src, F_ALL)) != 0) {
        entity_store_free(e);
        return rc;
    }
    *out = e;
    return 0;
}

/* ---- writes ------------------------------------------------------------- */

/* Ends a write begun with txn_begin, whose change returned `rc`, with the
 * event `event_type` carrying `e`; replies with `e` (see txn_finish). */
static void finish_write(rpc_call *call, service *svc, int rc, const Entity *e,
                         const char *event_type, const txn_keys *keys)
{
    outbox_event ev = {
        .service = service_name(svc),
        .aggregate_type = "entity",
        .aggregate_id = e->id,
        .type = event_type,
        .state = &e->base,
        .cache_keys = keys->v,
        .cache_keys_count = keys->n,
    };

    txn_finish(call, svc, rc, &ev, &e->base);
}

/* Fails with ALREADY_EXISTS if another entity than `self_id` (NULL: any)
 * holds `acronym`, case-insensitively. */
static int check_acronym_free(rpc_call *call, store *st, const char *acronym,
                              const char *self_id)
{
    char owner[ENTITY_ID_SIZE], stored[ENTITY_ACRONYM_MAX + 1];
    int rc = entity_store_acronym_owner(st, acronym, owner, stored);

    if (rc == -ENOENT || (rc == 0 && self_id && strcmp(owner, self_id) == 0))
        return 0;
    if (rc == 0 && strcmp(stored, acronym) == 0)
        rpc_call_fail(call, RPC_ALREADY_EXISTS,
                      "entity.acronym: an entity with acronym \"%s\" already exists (%s)",
                      stored, owner);
    else if (rc == 0)
        rpc_call_fail(call, RPC_ALREADY_EXISTS,
                      "entity.acronym: an entity with acronym \"%s\" already exists (%s); "
                      "acronyms are unique regardless of case, so \"%s\" is taken",
                      stored, owner, acronym);
    else
        status_fail_store(call, rc, "cannot check the acronym");
    return -1;
}

/* An empty etag skips the check; quotes are optional, for people typing it. */
static int check_etag(rpc_call *call, const char *etag, const Entity *e)
{
    if (etag_matches(etag, e->etag))
        return 0;
    rpc_call_fail(call, RPC_ABORTED,
                  "etag: %s is not the current etag of %s: the entity changed; read it again",
                  etag, e->id);
    return -1;
}

/* Loads entity `id` for a write inside the open transaction. */
static int load_for_write(rpc_call *call, store *st, const char *field, const char *id,
                          Entity **e, int64_t *version)
{
    int rc = entity_store_get(st, id, e, version);

    if (rc == -ENOENT)
        status_fail_not_found(call, field, "entity", "id", id);
    else if (rc != 0)
        status_fail_store(call, rc, "cannot read the entity");
    return rc ? -1 : 0;
}

/* ---- CreateEntity ------------------------------------------------------- */

void handle_create_entity(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    const CreateEntityRequest *req = (const CreateEntityRequest *)request;
    store *st = service_store(svc);
    txn_keys keys = {0};
    Entity *e;
    int rc;

    if (validate_present(call, "entity", req->entity) || check_entity(call, req->entity, F_ALL))
        return;
    if ((rc = new_entity(req->entity, &e)) != 0) {
        status_fail_store(call, rc, "cannot build the entity");
        return;
    }
    if (txn_begin(call, st)) {
        entity_store_free(e);
        return;
    }
    if (check_acronym_free(call, st, e->acronym, NULL)) {
        store_rollback(st);
        entity_store_free(e);
        return;
    }
    txn_keys_add(&keys, entity_cache_key, e->id);
    txn_keys_add(&keys, acronym_cache_key, e->acronym);
    rc = entity_store_insert(st, e);
    finish_write(call, svc, rc, e, "entity.created", &keys);
    entity_store_free(e);
}

/* ---- GetEntity ---------------------------------------------------------- */

/* cached_get_load_fn: an entity from the store, by id or by acronym. */
static int load_by_id(void *st, const char *value, ProtobufCMessage **out)
{
    Entity *e = NULL;
    int rc = entity_store_get(st, value, &e, NULL);

    *out = e ? &e->base : NULL;
    return rc;
}

static int load_by_acronym(void *st, const char *value, ProtobufCMessage **out)
{
    Entity *e = NULL;
    int rc = entity_store_get_by_acronym(st, value, &e);

    *out = e ? &e->base : NULL;
    return rc;
}

void handle_get_entity(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    const GetEntityRequest *req = (const GetEntityRequest *)request;
    cached_get_spec spec = {
        .descriptor = &compact__membership__v1__entity__descriptor,
        .ctx = service_store(svc),
        .noun = "entity",
        .what = "cannot read the entity",
    };
    char key[CACHE_KEY_SIZE];

    switch (req->key_case) {
    case COMPACT__MEMBERSHIP__V1__GET_ENTITY_REQUEST__KEY_ID:
        if (validate_id(call, "id", req->id, ENTITY_ID_PREFIX))
            return;
        entity_cache_key(key, sizeof key, req->id);
        spec.load = load_by_id;
        spec.value = req->id;
        spec.field = spec.label = "id";
        break;
    case COMPACT__MEMBERSHIP__V1__GET_ENTITY_REQUEST__KEY_ACRONYM:
        if (check_acronym(call, "acronym", req->acronym))
            return;
        acronym_cache_key(key, sizeof key, req->acronym);
        spec.load = load_by_acronym;
        spec.value = req->acronym;
        spec.field = spec.label = "acronym";
        break;
    default:
        rpc_call_fail(call, RPC_INVALID_ARGUMENT, "key: set id or acronym");
        return;
    }
    cached_get_reply(call, service_cache(svc), key, &spec);
}

/* ---- ListEntities ------------------------------------------------------- */

void handle_list_entities(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    const ListEntitiesRequest *req = (const ListEntitiesRequest *)request;
    ListEntitiesResponse resp = COMPACT__MEMBERSHIP__V1__LIST_ENTITIES_RESPONSE__INIT;
    char kind[16], status[16], last[ENTITY_ACRONYM_MAX * 4 + 1];
    const char *filters[] = {"membership.entities", kind, status};
    char *next = NULL;
    Entity **v;
    size_t n;
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
    if (rc != 0) {
        status_fail_store(call, rc, "cannot list entities");
        return;
    }
    resp.entities = v;
    resp.n_entities = page_request_count(&pg, n);
    if (resp.n_entities < n)
        entity_store_acronym_key(v[resp.n_entities - 1]->acronym, last, sizeof last);
    if (page_request_next(call, &pg, n, last, &next)) {
        entity_store_free_list(v, n);
        return;
    }
    if (next)
        resp.next_page_token = next;
    rpc_call_reply(call, &resp.base);
    free(next);
    entity_store_free_list(v, n);
}

/* ---- UpdateEntity ------------------------------------------------------- */

static const struct {
    const char *snake, *camel;
    unsigned bit;
} mask_fields[] = {
    {"acronym", "acronym", F_ACRONYM},
    {"name", "name", F_NAME},
    {"kind", "kind", F_KIND},
    {"joined_on", "joinedOn", F_JOINED_ON},
    {"focal_points", "focalPoints", F_FOCAL_POINTS},
    {"verified", "verified", F_VERIFIED},
    {"source_note", "sourceNote", F_SOURCE_NOTE},
    {"*", "*", F_ALL}, /* AIP-134: full replacement of the updatable fields */
};

static const char *const output_only[] = {
    "id", "create_time", "createTime", "update_time", "updateTime",
    "etag", "withdraw_time", "withdrawTime",
};

#define UPDATABLE "acronym, name, kind, joined_on, focal_points, verified, source_note"

static int mask_path_bit(rpc_call *call, const char *path, unsigned *bits)
{
    for (size_t i = 0; i < sizeof mask_fields / sizeof mask_fields[0]; i++) {
        if (strcmp(path, mask_fields[i].snake) == 0 || strcmp(path, mask_fields[i].camel) == 0) {
            *bits |= mask_fields[i].bit;
            return 0;
        }
    }
    if (strcmp(path, "status") == 0) {
        rpc_call_fail(call, RPC_INVALID_ARGUMENT,
                      "update_mask: \"status\" cannot be updated; use WithdrawEntity");
        return -1;
    }
    for (size_t i = 0; i < sizeof output_only / sizeof output_only[0]; i++) {
        if (strcmp(path, output_only[i]) == 0) {
            rpc_call_fail(call, RPC_INVALID_ARGUMENT,
                          "update_mask: \"%s\" is output only (updatable: " UPDATABLE ")", path);
            return -1;
        }
    }
    rpc_call_fail(call, RPC_INVALID_ARGUMENT,
                  "update_mask: unknown field \"%.100s\" (updatable: " UPDATABLE ")", path);
    return -1;
}

static int parse_update_mask(rpc_call *call, const Google__Protobuf__FieldMask *mask,
                             unsigned *bits)
{
    *bits = 0;
    if (mask == NULL || mask->n_paths == 0) {
        rpc_call_fail(call, RPC_INVALID_ARGUMENT,
                      "update_mask: must name the fields to update (" UPDATABLE ")");
        return -1;
    }
    for (size_t i = 0; i < mask->n_paths; i++) {
        if (mask_path_bit(call, mask->paths[i], bits))
            return -1;
    }
    return 0;
}

void handle_update_entity(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    const UpdateEntityRequest *req = (const UpdateEntityRequest *)request;
    store *st = service_store(svc);
    txn_keys keys = {0};
    Entity *e = NULL;
    int64_t version;
    unsigned mask;
    int rc;

    if (validate_present(call, "entity", req->entity) ||
        validate_id(call, "entity.id", req->entity->id, ENTITY_ID_PREFIX) ||
        parse_update_mask(call, req->update_mask, &mask) ||
        check_entity(call, req->entity, mask) ||
        validate_max_length(call, "etag", req->etag, ETAG_MAX_CHARS))
        return;
    if (txn_begin(call, st))
        return;
    if (load_for_write(call, st, "entity.id", req->entity->id, &e, &version) ||
        check_etag(call, req->etag, e) ||
        ((mask & F_ACRONYM) && check_acronym_free(call, st, req->entity->acronym, e->id))) {
        store_rollback(st);
        entity_store_free(e);
        return;
    }
    txn_keys_add(&keys, entity_cache_key, e->id);
    txn_keys_add(&keys, acronym_cache_key, e->acronym);
    rc = apply_fields(e, req->entity, mask);
    if (rc == 0)
        rc = pbtime_set(&e->update_time, pbtime_now_ms());
    if (rc == 0) {
        txn_keys_add(&keys, acronym_cache_key, e->acronym);
        rc = entity_store_update(st, e, version);
    }
    finish_write(call, svc, rc, e, "entity.updated", &keys);
    entity_store_free(e);
}

/* ---- WithdrawEntity ----------------------------------------------------- */

void handle_withdraw_entity(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    const WithdrawEntityRequest *req = (const WithdrawEntityRequest *)request;
    store *st = service_store(svc);
    txn_keys keys = {0};
    Entity *e = NULL;
    int64_t version, now = pbtime_now_ms();
    int rc;

    if (validate_id(call, "id", req->id, ENTITY_ID_PREFIX) ||
        validate_max_length(call, "etag", req->etag, ETAG_MAX_CHARS))
        return;
    if (txn_begin(call, st))
        return;
    if (load_for_write(call, st, "id", req->id, &e, &version)) {
        store_rollback(st);
        return;
    }
    /* Before the etag: a retried withdraw learns it already happened. */
    if (e->status == STATUS_WITHDRAWN) {
        rpc_call_fail(call, RPC_FAILED_PRECONDITION, "id: entity %s (%s) is already withdrawn",
                      e->id, e->acronym);
        store_rollback(st);
        entity_store_free(e);
        return;
    }
    if (check_etag(call, req->etag, e)) {
        store_rollback(st);
        entity_store_free(e);
        return;
    }
    txn_keys_add(&keys, entity_cache_key, e->id);
    txn_keys_add(&keys, acronym_cache_key, e->acronym);
    e->status = STATUS_WITHDRAWN;
    rc = pbtime_set(&e->withdraw_time, now);
    if (rc == 0)
        rc = pbtime_set(&e->update_time, now);
    if (rc == 0)
        rc = entity_store_update(st, e, version);
    finish_write(call, svc, rc, e, "entity.withdrawn", &keys);
    entity_store_free(e);
}

/* ---- BatchGetEntities --------------------------------------------------- */

/* Reads every id in request order into resp; -1 once the call failed. */
static int batch_read(rpc_call *call, store *st, const BatchGetEntitiesRequest *req,
                      BatchGetEntitiesResponse *resp)
{
    for (size_t i = 0; i < req->n_ids; i++) {
        Entity *e;
        int rc = entity_store_get(st, req->ids[i], &e, NULL);
        if (rc == 0) {
            resp->entities[resp->n_entities++] = e;
        } else if (rc == -ENOENT && req->allow_missing) {
            resp->missing_ids[resp->n_missing_ids++] = req->ids[i];
        } else if (rc == -ENOENT) {
            char field[FIELD_SIZE];
            snprintf(field, sizeof field, "ids[%zu]", i);
            status_fail_not_found(call, field, "entity", "id", req->ids[i]);
            return -1;
        } else {
            status_fail_store(call, rc, "cannot read the entities");
            return -1;
        }
    }
    return 0;
}

void handle_batch_get_entities(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    const BatchGetEntitiesRequest *req = (const BatchGetEntitiesRequest *)request;
    BatchGetEntitiesResponse resp = COMPACT__MEMBERSHIP__V1__BATCH_GET_ENTITIES_RESPONSE__INIT;
    size_t room = req->n_ids ? req->n_ids : 1;

    if (validate_ids(call, "ids", req->ids, req->n_ids, BATCH_MAX, ENTITY_ID_PREFIX))
        return;
    resp.entities = calloc(room, sizeof *resp.entities);
    resp.missing_ids = calloc(room, sizeof *resp.missing_ids);
    if (resp.entities == NULL || resp.missing_ids == NULL)
        status_fail_store(call, -ENOMEM, "cannot read the entities");
    else if (batch_read(call, service_store(svc), req, &resp) == 0)
        rpc_call_reply(call, &resp.base);
    /* missing_ids point into the request: only the array is ours. */
    entity_store_free_list(resp.entities, resp.n_entities);
    free(resp.missing_ids);
}

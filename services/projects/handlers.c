/* handlers.c: CreateProject, GetProject, ListProjects, UpdateProject and
 * FindOverlaps (see handlers.h). */
#include "handlers.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cached_get.h"
#include "ids.h"
#include "overlap.h"
#include "page.h"
#include "pbstr.h"
#include "pbtime.h"
#include "project_check.h"
#include "project_edit.h"
#include "project_store.h"
#include "project_write.h"
#include "status.h"
#include "txn.h"
#include "validate.h"

typedef Compact__Projects__V1__CreateProjectRequest CreateProjectRequest;
typedef Compact__Projects__V1__CreateProjectResponse CreateProjectResponse;
typedef Compact__Projects__V1__GetProjectRequest GetProjectRequest;
typedef Compact__Projects__V1__ListProjectsRequest ListProjectsRequest;
typedef Compact__Projects__V1__ListProjectsResponse ListProjectsResponse;
typedef Compact__Projects__V1__UpdateProjectRequest UpdateProjectRequest;
typedef Compact__Projects__V1__FindOverlapsRequest FindOverlapsRequest;
typedef Compact__Projects__V1__FindOverlapsResponse FindOverlapsResponse;

#define ETAG_MAX_CHARS 64
#define TEXT_FILTER_MAX_CHARS 200
#define KEY_SIZE (PROJECT_IATI_MAX * 4 + 1)

static overlap_index *index_of(void *svc)
{
    projects_state *state = service_data(svc);

    return state->index;
}

/* ---- CreateProject ------------------------------------------------------ */

typedef struct create_ctx {
    rpc_call *call;
    service *svc;
    Project *p;
    project_write_refs refs;
} create_ctx;

static void create_ctx_free(create_ctx *c)
{
    project_store_free(c->p);
    free(c);
}

/* Id, times and result ids of the new project. */
static int create_fill(Project *p)
{
    char id[PROJECT_ID_SIZE];
    int64_t now = pbtime_now_ms();
    int rc;

    if ((rc = ids_new(PROJECT_ID_PREFIX, id, sizeof id)) != 0 ||
        (rc = pbstr_set(&p->id, id)) != 0 ||
        (rc = pbtime_set(&p->create_time, now)) != 0 ||
        (rc = pbtime_set(&p->update_time, now)) != 0)
        return rc;
    for (size_t i = 0; rc == 0 && i < p->n_results; i++)
        rc = project_edit_assign_result_ids(p->results[i]);
    return rc;
}

/* ALREADY_EXISTS if the IATI identifier is taken (inside the transaction). */
static int check_iati_free(rpc_call *call, store *st, const char *iati)
{
    char owner[PROJECT_ID_SIZE];
    int rc = project_store_iati_owner(st, iati, owner);

    if (rc == -ENOENT)
        return 0;
    if (rc == 0)
        rpc_call_fail(call, RPC_ALREADY_EXISTS,
                      "project.iati_identifier: project %s already has the IATI identifier "
                      "\"%s\" (identifiers are unique regardless of case)", owner, iati);
    else
        status_fail_store(call, rc, "cannot check the IATI identifier");
    return -1;
}

static void on_create_checked(void *arg, int ok)
{
    create_ctx *c = arg;
    CreateProjectResponse resp = COMPACT__PROJECTS__V1__CREATE_PROJECT_RESPONSE__INIT;
    overlap_query q = {.limit = OVERLAP_LIMIT_DEFAULT, .min_score = OVERLAP_DUPLICATE_SCORE,
                       .duplicates_only = 1};
    store *st = service_store(c->svc);
    size_t compared;
    int rc;

    if (!ok) {
        create_ctx_free(c);
        return;
    }
    if ((rc = create_fill(c->p)) != 0) {
        status_fail_store(c->call, rc, "cannot build the project");
        create_ctx_free(c);
        return;
    }
    /* Before the insert: the new project is not compared with itself. */
    q.subject = c->p;
    if (overlap_find(index_of(c->svc), &q, &resp.likely_duplicates, &resp.n_likely_duplicates,
                     &compared) != 0)
        resp.n_likely_duplicates = 0; /* a warning we could not compute is no reason to fail */
    if (txn_begin(c->call, st) == 0) {
        if (check_iati_free(c->call, st, c->p->iati_identifier) != 0) {
            store_rollback(st);
        } else {
            resp.project = c->p;
            rc = project_store_insert(st, c->p);
            project_write_finish(c->call, c->svc, rc, c->p, "project.created", &resp.base);
        }
    }
    overlap_free(resp.likely_duplicates, resp.n_likely_duplicates);
    create_ctx_free(c);
}

void handle_create_project(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    const CreateProjectRequest *req = (const CreateProjectRequest *)request;
    create_ctx *c;

    if (validate_present(call, "project", req->project) ||
        project_check_fields(call, "project", req->project, PF_ALL, PROJECT_CHECK_SAVE))
        return;
    if ((c = calloc(1, sizeof *c)) == NULL ||
        (c->p = (Project *)project_edit_copy(&req->project->base)) == NULL) {
        free(c);
        status_fail_store(call, -ENOMEM, "cannot build the project");
        return;
    }
    c->call = call;
    c->svc = svc;
    project_edit_clear_output(c->p);
    project_edit_normalise(c->p);
    if (project_check_whole(call, "project", c->p)) {
        create_ctx_free(c);
        return;
    }
    project_write_new_refs(&c->refs, "project", c->p, NULL, PF_ALL);
    project_write_check_peers(svc, call, &c->refs, on_create_checked, c);
}

/* ---- GetProject --------------------------------------------------------- */

/* cached_get_load_fn: a project from the store, by id or by IATI
 * identifier. */
static int load_by_id(void *st, const char *value, ProtobufCMessage **out)
{
    Project *p = NULL;
    int rc = project_store_get(st, value, &p, NULL);

    *out = p ? &p->base : NULL;
    return rc;
}

static int load_by_iati(void *st, const char *value, ProtobufCMessage **out)
{
    Project *p = NULL;
    int rc = project_store_get_by_iati(st, value, &p);

    *out = p ? &p->base : NULL;
    return rc;
}

void handle_get_project(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    const GetProjectRequest *req = (const GetProjectRequest *)request;
    cached_get_spec spec = {
        .descriptor = &compact__projects__v1__project__descriptor,
        .ctx = service_store(svc),
        .noun = "project",
        .what = "cannot read the project",
    };
    char key[PROJECT_WRITE_CACHE_KEY_SIZE], iati[KEY_SIZE];

    switch (req->key_case) {
    case COMPACT__PROJECTS__V1__GET_PROJECT_REQUEST__KEY_ID:
        if (validate_id(call, "id", req->id, PROJECT_ID_PREFIX))
            return;
        cache_key(key, sizeof key, "projects", "project", req->id);
        spec.load = load_by_id;
        spec.value = req->id;
        spec.field = spec.label = "id";
        break;
    case COMPACT__PROJECTS__V1__GET_PROJECT_REQUEST__KEY_IATI_IDENTIFIER:
        if (validate_required_string(call, "iati_identifier", req->iati_identifier,
                                     PROJECT_IATI_MAX))
            return;
        project_store_iati_key(req->iati_identifier, iati, sizeof iati);
        /* Spaces would split the Redis key; no identifier we store has one. */
        if (strchr(iati, ' ')) {
            rpc_call_fail(call, RPC_NOT_FOUND, "iati_identifier: no project with IATI "
                          "identifier \"%s\"", req->iati_identifier);
            return;
        }
        cache_key(key, sizeof key, "projects", "iati", iati);
        spec.load = load_by_iati;
        spec.value = req->iati_identifier;
        spec.field = "iati_identifier";
        spec.label = "IATI identifier";
        break;
    default:
        rpc_call_fail(call, RPC_INVALID_ARGUMENT, "key: set id or iati_identifier");
        return;
    }
    cached_get_reply(call, service_cache(svc), key, &spec);
}

/* ---- ListProjects ------------------------------------------------------- */

static int check_list_filters(rpc_call *call, const ListProjectsRequest *req)
{
    if ((req->working_group_id[0] &&
         validate_id(call, "working_group_id", req->working_group_id, GROUP_CHECK_ID_PREFIX)) ||
        (req->entity_id[0] &&
         validate_id(call, "entity_id", req->entity_id, ENTITY_CHECK_ID_PREFIX)) ||
        (req->country[0] && project_check_country(call, "country", req->country)) ||
        validate_enum(call, "pillar", &compact__projects__v1__strategy_pillar__descriptor,
                      (int)req->pillar, 0) ||
        validate_enum(call, "status", &compact__projects__v1__activity_status__descriptor,
                      (int)req->status, 0) ||
        validate_optional_string(call, "text", req->text, TEXT_FILTER_MAX_CHARS))
        return -1;
    return 0;
}

void handle_list_projects(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    const ListProjectsRequest *req = (const ListProjectsRequest *)request;
    ListProjectsResponse resp = COMPACT__PROJECTS__V1__LIST_PROJECTS_RESPONSE__INIT;
    char pillar[16], status[16], last[KEY_SIZE];
    const char *filters[] = {"projects.projects", req->working_group_id, req->entity_id,
                             req->country, pillar, status, req->text};
    project_store_filter f = {
        .working_group_id = req->working_group_id, .entity_id = req->entity_id,
        .country = req->country, .pillar = (int)req->pillar, .status = (int)req->status,
        .text = req->text,
    };
    char *next = NULL;
    Project **v;
    size_t n;
    page_request pg;
    int rc;

    snprintf(pillar, sizeof pillar, "%d", (int)req->pillar);
    snprintf(status, sizeof status, "%d", (int)req->status);
    if (check_list_filters(call, req) ||
        page_request_parse(call, filters, sizeof filters / sizeof filters[0], req->page_size, req->page_token, &pg))
        return;
    rc = project_store_list(service_store(svc), &f, pg.after, page_request_limit(&pg), &v, &n);
    if (rc != 0) {
        status_fail_store(call, rc, "cannot list projects");
        return;
    }
    resp.projects = v;
    resp.n_projects = page_request_count(&pg, n);
    if (resp.n_projects < n)
        project_store_iati_key(v[resp.n_projects - 1]->iati_identifier, last, sizeof last);
    if (page_request_next(call, &pg, n, last, &next)) {
        project_store_free_list(v, n);
        return;
    }
    if (next)
        resp.next_page_token = next;
    rpc_call_reply(call, &resp.base);
    free(next);
    project_store_free_list(v, n);
}

/* ---- UpdateProject ------------------------------------------------------ */

typedef struct update_ctx {
    rpc_call *call;
    service *svc;
    const UpdateProjectRequest *req; /* valid until the call is answered */
    unsigned mask;
    project_write_refs refs;
} update_ctx;

static int parse_update_mask(rpc_call *call, const Google__Protobuf__FieldMask *mask,
                             unsigned *bits)
{
    *bits = 0;
    if (mask == NULL || mask->n_paths == 0) {
        rpc_call_fail(call, RPC_INVALID_ARGUMENT, "update_mask: must name the fields to "
                      "update (%s)", project_edit_updatable);
        return -1;
    }
    for (size_t i = 0; i < mask->n_paths; i++) {
        int rc = project_edit_mask_bit(mask->paths[i], bits);
        if (rc == -2) {
            rpc_call_fail(call, RPC_INVALID_ARGUMENT, "update_mask: \"%.100s\" cannot be "
                          "updated (updatable: %s; results change with AddResult, "
                          "AddIndicator and ReportIndicatorValue, transactions with "
                          "RecordTransaction)", mask->paths[i], project_edit_updatable);
            return -1;
        }
        if (rc != 0) {
            rpc_call_fail(call, RPC_INVALID_ARGUMENT, "update_mask: unknown field \"%.100s\" "
                          "(updatable: %s)", mask->paths[i], project_edit_updatable);
            return -1;
        }
    }
    return 0;
}

/* Inside the transaction: the stored project with the masked fields of the
 * request, checked as a whole. */
static int update_apply(update_ctx *c, Project *p)
{
    Project *copy = (Project *)project_edit_copy(&c->req->project->base);

    if (copy == NULL)
        return -ENOMEM;
    project_edit_apply(p, copy, c->mask);
    project_store_free(copy);
    project_edit_normalise(p);
    if (project_check_whole(c->call, "project", p))
        return 1; /* the call is over */
    return pbtime_set(&p->update_time, pbtime_now_ms());
}

static void on_update_checked(void *arg, int ok)
{
    update_ctx *c = arg;
    store *st = service_store(c->svc);
    Project *p = NULL;
    int64_t version;
    int rc = 0;

    if (!ok || txn_begin(c->call, st) != 0) {
        free(c);
        return;
    }
    if (project_write_load(c->call, st, "project.id", c->req->project->id, &p, &version) ||
        project_write_check_etag(c->call, c->req->etag, p) ||
        (rc = update_apply(c, p)) == 1) {
        store_rollback(st);
    } else {
        if (rc == 0)
            rc = project_store_update(st, p, version);
        project_write_finish(c->call, c->svc, rc, p, "project.updated", NULL);
    }
    project_store_free(p);
    free(c);
}

void handle_update_project(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    const UpdateProjectRequest *req = (const UpdateProjectRequest *)request;
    Project *current = NULL;
    update_ctx *c;
    unsigned mask;

    if (validate_present(call, "project", req->project) ||
        validate_id(call, "project.id", req->project->id, PROJECT_ID_PREFIX) ||
        parse_update_mask(call, req->update_mask, &mask) ||
        project_check_fields(call, "project", req->project, mask, PROJECT_CHECK_SAVE) ||
        validate_max_length(call, "etag", req->etag, ETAG_MAX_CHARS))
        return;
    /* A first read, before asking the peers: unknown projects and stale
     * etags fail at once, and only the ids the update adds are checked. */
    if (project_write_load(call, service_store(svc), "project.id", req->project->id, &current,
                           NULL) ||
        project_write_check_etag(call, req->etag, current)) {
        project_store_free(current);
        return;
    }
    if ((c = calloc(1, sizeof *c)) == NULL) {
        project_store_free(current);
        status_fail_store(call, -ENOMEM, "cannot update the project");
        return;
    }
    *c = (update_ctx){.call = call, .svc = svc, .req = req, .mask = mask};
    project_write_new_refs(&c->refs, "project", req->project, current, mask);
    project_store_free(current);
    project_write_check_peers(svc, call, &c->refs, on_update_checked, c);
}

/* ---- FindOverlaps ------------------------------------------------------- */

static int check_overlap_options(rpc_call *call, const FindOverlapsRequest *req,
                                 overlap_query *q)
{
    if (req->limit < 0) {
        rpc_call_fail(call, RPC_INVALID_ARGUMENT, "limit: must not be negative");
        return -1;
    }
    if (!isfinite(req->min_score) || req->min_score < 0 || req->min_score > 1) {
        rpc_call_fail(call, RPC_INVALID_ARGUMENT, "min_score: must be from 0 to 1");
        return -1;
    }
    q->limit = req->limit == 0 ? OVERLAP_LIMIT_DEFAULT
               : req->limit > OVERLAP_LIMIT_MAX ? OVERLAP_LIMIT_MAX : (size_t)req->limit;
    q->min_score = req->min_score == 0 ? OVERLAP_MIN_SCORE_DEFAULT : req->min_score;
    q->include_closed = req->include_closed;
    return 0;
}

/* The subject: the stored project (*owned set) or the request's draft. */
static int overlap_subject(rpc_call *call, service *svc, const FindOverlapsRequest *req,
                           overlap_query *q, Project **owned)
{
    *owned = NULL;
    switch (req->subject_case) {
    case COMPACT__PROJECTS__V1__FIND_OVERLAPS_REQUEST__SUBJECT_PROJECT_ID:
        if (validate_id(call, "project_id", req->project_id, PROJECT_ID_PREFIX) ||
            project_write_load(call, service_store(svc), "project_id", req->project_id, owned,
                               NULL))
            return -1;
        q->subject = *owned;
        q->exclude_id = (*owned)->id;
        return 0;
    case COMPACT__PROJECTS__V1__FIND_OVERLAPS_REQUEST__SUBJECT_DRAFT:
        if (project_check_fields(call, "draft", req->draft, PF_UPDATABLE, PROJECT_CHECK_DRAFT))
            return -1;
        q->subject = req->draft;
        /* A draft that repeats a saved project's id is compared like it. */
        q->exclude_id = req->draft->id[0] ? req->draft->id : NULL;
        return 0;
    default:
        rpc_call_fail(call, RPC_INVALID_ARGUMENT, "subject: set project_id or draft");
        return -1;
    }
}

void handle_find_overlaps(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    const FindOverlapsRequest *req = (const FindOverlapsRequest *)request;
    FindOverlapsResponse resp = COMPACT__PROJECTS__V1__FIND_OVERLAPS_RESPONSE__INIT;
    overlap_query q = {0};
    Project *owned;
    size_t compared;
    int rc;

    if (check_overlap_options(call, req, &q) || overlap_subject(call, svc, req, &q, &owned))
        return;
    rc = overlap_find(index_of(svc), &q, &resp.overlaps, &resp.n_overlaps, &compared);
    if (rc == -ENODATA)
        rpc_call_fail(call, RPC_INVALID_ARGUMENT, "draft: nothing to compare: give at least "
                      "a title, summary, working group, participant, country, date, pillar "
                      "or theme");
    else if (rc != 0)
        status_fail_store(call, rc, "cannot search for overlaps");
    else {
        resp.projects_compared = (int32_t)compared;
        rpc_call_reply(call, &resp.base);
    }
    overlap_free(resp.overlaps, resp.n_overlaps);
    project_store_free(owned);
}

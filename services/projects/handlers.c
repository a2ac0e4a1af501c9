/* handlers.c: CreateProject, GetProject, ListProjects, UpdateProject and
 * FindOverlaps (see handlers.h). */
#include "handlers.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fieldmask.h"
#include "overlap.h"
#include "page.h"
#include "pbmsg.h"
#include "project.h"
#include "project_check.h"
#include "project_edit.h"
#include "status.h"
#include "validate.h"

typedef Compact__Projects__V1__CreateProjectRequest CreateProjectRequest;
typedef Compact__Projects__V1__CreateProjectResponse CreateProjectResponse;
typedef Compact__Projects__V1__ListProjectsRequest ListProjectsRequest;
typedef Compact__Projects__V1__UpdateProjectRequest UpdateProjectRequest;
typedef Compact__Projects__V1__FindOverlapsRequest FindOverlapsRequest;
typedef Compact__Projects__V1__FindOverlapsResponse FindOverlapsResponse;

#define ETAG_MAX_CHARS 64
#define TEXT_FILTER_MAX_CHARS 200
#define KEY_SIZE (PROJECT_IATI_MAX * 4 + 1)

/* ---- CreateProject ------------------------------------------------------ */

/* ALREADY_EXISTS if the IATI identifier is taken (inside the transaction). */
static int check_iati_free(rpc_call *call, store *st, const char *iati)
{
    char owner[IDS_SIZE];
    int rc = project_store_iati_owner(st, iati, owner);

    if (rc == -ENOENT)
        return 0;
    if (rc == 0)
        rpc_call_fail(call, RPC_ALREADY_EXISTS,
                      "project.iati_identifier: project %s already has the IATI identifier "
                      "\"%s\" (identifiers are unique regardless of case)",
                      owner, iati);
    else
        status_fail_store(call, rc, "cannot check the IATI identifier");
    return -1;
}

/* The likely duplicates of new project `p` among those saved, for the
 * reply: a warning, so one we cannot compute is no reason to fail. */
static void find_duplicates(service *svc, const Project *p, CreateProjectResponse *resp)
{
    overlap_query q = {.limit = OVERLAP_LIMIT_DEFAULT,
                       .min_score = OVERLAP_DUPLICATE_SCORE,
                       .duplicates_only = 1,
                       .subject = p};
    size_t compared;

    if (overlap_find(project_index(svc), &q, &resp->likely_duplicates, &resp->n_likely_duplicates,
                     &compared) != 0)
        resp->n_likely_duplicates = 0;
}

/* peer_check_done_fn: every participant and group is usable; create `arg`,
 * the new project (freed here in every case). */
static void write_new_project(rpc_call *call, service *svc, void *arg, int ok)
{
    CreateProjectResponse resp = COMPACT__PROJECTS__V1__CREATE_PROJECT_RESPONSE__INIT;
    store *st = service_store(svc);
    aggregate_write w;
    Project *p;
    int rc = 0;

    if (!ok) {
        pbmsg_free(arg);
        return;
    }
    if (aggregate_begin_new(&w, call, svc, &project_aggregate, arg))
        return;
    p = (Project *)w.state;
    for (size_t i = 0; rc == 0 && i < p->n_results; i++)
        rc = project_edit_assign_result_ids(p->results[i]);
    if (rc == 0 && check_iati_free(call, st, p->iati_identifier)) {
        aggregate_abort(&w);
        return;
    }
    /* Before the insert: the new project is not compared with itself. */
    find_duplicates(svc, p, &resp);
    if (rc == 0)
        rc = project_store_insert(st, p);
    /* The reply holds the state: it must be final before it is packed. */
    rc = aggregate_refresh(&w, rc);
    resp.project = (Project *)w.state;
    aggregate_commit(&w, rc, "project.created", &resp.base);
    overlap_free(resp.likely_duplicates, resp.n_likely_duplicates);
}

void handle_create_project(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    const CreateProjectRequest *req = (const CreateProjectRequest *)request;
    Project *p;
    peer_check *c;

    if (aggregate_replay(call, svc) || validate_present(call, "project", req->project) ||
        project_check_fields(call, "project", req->project, PF_ALL, PROJECT_CHECK_SAVE))
        return;
    if ((p = (Project *)aggregate_new(&req->project->base, project_fields, PF_ALL)) == NULL) {
        status_fail_store(call, -ENOMEM, "cannot build the project");
        return;
    }
    project_edit_clear_output(p);
    project_edit_normalise(p);
    if (project_check_whole(call, "project", p)) {
        pbmsg_free(&p->base);
        return;
    }
    c = peer_check_new();
    project_check_new_refs(c, "project", p, NULL, PF_ALL);
    peer_check_run(c, call, svc, write_new_project, p);
}

/* ---- GetProject --------------------------------------------------------- */

void handle_get_project(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    aggregate_get(call, svc, &project_aggregate, request);
}

/* ---- ListProjects ------------------------------------------------------- */

static int check_list_filters(rpc_call *call, const ListProjectsRequest *req)
{
    if ((req->working_group_id[0] &&
         validate_id(call, "working_group_id", req->working_group_id, IDS_GROUP)) ||
        (req->entity_id[0] && validate_id(call, "entity_id", req->entity_id, IDS_ENTITY)) ||
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
    char pillar[16], status[16];
    const char *filters[] = {"projects.projects",
                             req->working_group_id,
                             req->entity_id,
                             req->country,
                             pillar,
                             status,
                             req->text};
    project_store_filter f = {
        .working_group_id = req->working_group_id,
        .entity_id = req->entity_id,
        .country = req->country,
        .pillar = (int)req->pillar,
        .status = (int)req->status,
        .text = req->text,
    };
    page_rows rows = {0};
    page_request pg;
    int rc;

    snprintf(pillar, sizeof pillar, "%d", (int)req->pillar);
    snprintf(status, sizeof status, "%d", (int)req->status);
    if (check_list_filters(call, req) ||
        page_request_parse(call, filters, sizeof filters / sizeof filters[0], req->page_size,
                           req->page_token, &pg))
        return;
    rc = project_store_list(service_store(svc), project_list_cache(svc), &f, pg.after,
                            page_request_limit(&pg), &rows);
    page_reply_packed(call, &pg, rc, "cannot list projects",
                      &compact__projects__v1__list_projects_response__descriptor, &rows);
    page_rows_free(&rows);
}

/* ---- UpdateProject ------------------------------------------------------ */

/* The update, as the handler read it, for its continuation. */
typedef struct project_update {
    const UpdateProjectRequest *req; /* valid until the call is answered */
    unsigned mask;
} project_update;

/* peer_check_done_fn: what the update adds is usable; update. */
static void write_update(rpc_call *call, service *svc, void *arg, int ok)
{
    project_update *u = arg;
    const UpdateProjectRequest *req = u->req;
    aggregate_write w;
    Project *p;
    int rc;

    if (!ok || aggregate_begin(&w, call, svc, &project_aggregate, "project.id", req->project->id,
                               req->etag)) {
        free(u);
        return;
    }
    p = (Project *)w.state;
    rc = aggregate_apply(&p->base, &req->project->base, project_fields, u->mask);
    project_edit_normalise(p);
    if (rc == 0 && project_check_whole(call, "project", p)) {
        aggregate_abort(&w);
        free(u);
        return;
    }
    if (rc == 0)
        rc = project_store_update(service_store(svc), p, w.version);
    aggregate_commit(&w, rc, "project.updated", NULL);
    free(u);
}

void handle_update_project(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    const UpdateProjectRequest *req = (const UpdateProjectRequest *)request;
    ProtobufCMessage *current;
    project_update *u;
    peer_check *c;
    unsigned mask;

    if (validate_present(call, "project", req->project) ||
        validate_id(call, "project.id", req->project->id, IDS_PROJECT) ||
        fieldmask_parse(call, req->update_mask, project_fields, &mask) ||
        project_check_fields(call, "project", req->project, mask, PROJECT_CHECK_SAVE) ||
        validate_max_length(call, "etag", req->etag, ETAG_MAX_CHARS) ||
        /* A first read, before asking the peers: unknown projects and stale
         * etags fail at once, and only the ids the update adds are checked. */
        aggregate_peek(call, svc, &project_aggregate, "project.id", req->project->id, req->etag,
                       &current))
        return;
    if ((u = malloc(sizeof *u)) == NULL) {
        pbmsg_free(current);
        status_fail_store(call, -ENOMEM, "cannot update the project");
        return;
    }
    *u = (project_update){.req = req, .mask = mask};
    c = peer_check_new();
    project_check_new_refs(c, "project", req->project, (Project *)current, mask);
    pbmsg_free(current);
    peer_check_run(c, call, svc, write_update, u);
}

/* ---- FindOverlaps ------------------------------------------------------- */

static int check_overlap_options(rpc_call *call, const FindOverlapsRequest *req, overlap_query *q)
{
    if (req->limit < 0) {
        rpc_call_fail(call, RPC_INVALID_ARGUMENT, "limit: must not be negative");
        return -1;
    }
    if (!isfinite(req->min_score) || req->min_score < 0 || req->min_score > 1) {
        rpc_call_fail(call, RPC_INVALID_ARGUMENT, "min_score: must be from 0 to 1");
        return -1;
    }
    q->limit = req->limit == 0                  ? OVERLAP_LIMIT_DEFAULT
               : req->limit > OVERLAP_LIMIT_MAX ? OVERLAP_LIMIT_MAX
                                                : (size_t)req->limit;
    q->min_score = req->min_score == 0 ? OVERLAP_MIN_SCORE_DEFAULT : req->min_score;
    q->include_closed = req->include_closed;
    return 0;
}

/* The subject: the stored project (*owned set) or the request's draft. */
static int overlap_subject(rpc_call *call, service *svc, const FindOverlapsRequest *req,
                           overlap_query *q, Project **owned)
{
    ProtobufCMessage *m;

    *owned = NULL;
    switch (req->subject_case) {
    case COMPACT__PROJECTS__V1__FIND_OVERLAPS_REQUEST__SUBJECT_PROJECT_ID:
        if (validate_id(call, "project_id", req->project_id, IDS_PROJECT) ||
            aggregate_peek(call, svc, &project_aggregate, "project_id", req->project_id, "", &m))
            return -1;
        *owned = (Project *)m;
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
    rc = overlap_find(project_index(svc), &q, &resp.overlaps, &resp.n_overlaps, &compared);
    if (rc == -ENODATA)
        rpc_call_fail(call, RPC_INVALID_ARGUMENT,
                      "draft: nothing to compare: give at least "
                      "a title, summary, working group, participant, country, date, pillar "
                      "or theme");
    else if (rc != 0)
        status_fail_store(call, rc, "cannot search for overlaps");
    else {
        resp.projects_compared = (int32_t)compared;
        rpc_call_reply(call, &resp.base);
    }
    overlap_free(resp.overlaps, resp.n_overlaps);
    pbmsg_free(owned ? &owned->base : NULL);
}

/* project.c: the joint project as an aggregate (see project.h). */
#include "project.h"

#include <errno.h>
#include <string.h>

#include "log.h"
#include "peers.h"
#include "project_derive.h"
#include "project_edit.h"
#include "validate.h"

/* aggregate_load_fn: a project from the store, by id or IATI identifier. */
static int load_by_id(void *st, const char *id, ProtobufCMessage **out, int64_t *version)
{
    Project *p = NULL;
    int rc = project_store_get(st, id, &p, version);

    *out = p ? &p->base : NULL;
    return rc;
}

static int load_by_iati(void *st, const char *iati, ProtobufCMessage **out, int64_t *version)
{
    Project *p = NULL;
    int rc = project_store_get_by_iati(st, iati, &p);

    (void)version; /* only the id serves writes */
    *out = p ? &p->base : NULL;
    return rc;
}

/* An identifier's form in cache keys: lowered. Spaces would split the Redis
 * key; no identifier we store has one, so such a value reads the store. */
static int iati_cache_id(const char *iati, char *buf, size_t size)
{
    if (strlen(iati) >= size || strchr(iati, ' '))
        return -EINVAL;
    project_store_iati_key(iati, buf, size);
    return 0;
}

/* A request's IATI identifier: a required string (its form is checked on
 * create; a Get of a malformed one is NOT_FOUND, not a bad request). */
static int check_iati(rpc_call *call, const char *field, const char *iati)
{
    return validate_required_string(call, field, iati, PROJECT_IATI_MAX);
}

static int refresh(aggregate_write *w)
{
    Project *p = (Project *)w->state;

    project_edit_normalise(p);
    return project_derive(p);
}

overlap_index *project_index(service *svc)
{
    projects_state *state = service_state(svc);

    return state ? state->index : NULL;
}

msgcache *project_list_cache(service *svc)
{
    projects_state *state = service_state(svc);

    return state ? state->listed : NULL;
}

static void committed(service *svc, const ProtobufCMessage *state)
{
    const Project *p = (const Project *)state;
    overlap_index *index = project_index(svc);
    int rc = index ? overlap_index_put(index, p) : 0;

    if (rc != 0)
        log_msg(LOG_LEVEL_ERROR, "overlap index: cannot index the project", "project_id", p->id,
                "error", strerror(-rc), NULL);
}

const aggregate_def project_aggregate = {
    .service = "projects",
    .type = "project",
    .noun = "project",
    .descriptor = &compact__projects__v1__project__descriptor,
    .id_prefix = IDS_PROJECT,
    .keys =
        {
            {.field = "id", .label = "id", .cache_kind = "project", .load = load_by_id},
            {.field = "iati_identifier",
             .label = "IATI identifier",
             .cache_kind = "iati",
             .load = load_by_iati,
             .check = check_iati,
             .cache_id = iati_cache_id},
        },
    .refresh = refresh,
    .committed = committed,
};

const fieldmask_field project_fields[] = {
    {"title", PF_TITLE, NULL},
    {"summary", PF_SUMMARY, NULL},
    {"working_group_ids", PF_GROUPS, NULL},
    {"participants", PF_PARTICIPANTS, NULL},
    {"recipient_countries", PF_COUNTRIES, NULL},
    {"global_scope", PF_GLOBAL, NULL},
    {"pillars", PF_PILLARS, NULL},
    {"themes", PF_THEMES, NULL},
    {"start_date", PF_START, NULL},
    {"end_date", PF_END, NULL},
    {"status", PF_STATUS, NULL},
    {"budget", PF_BUDGET, NULL},
    {"verified", PF_VERIFIED, NULL},
    {"source_note", PF_SOURCE_NOTE, NULL},
    {"provenance", PF_PROVENANCE, NULL},
    {"iati_identifier", PF_IATI, "is set on create only"},
    {"reporting_org_ref", PF_REPORTING_ORG, "is set on create only"},
    {"results", PF_RESULTS,
     "cannot be updated here; use AddResult, AddIndicator and "
     "ReportIndicatorValue"},
    {"transactions", 0, "cannot be updated here; use RecordTransaction"},
    {"totals", 0, "is output only"},
    {"id", 0, "is output only"},
    {"create_time", 0, "is output only"},
    {"update_time", 0, "is output only"},
    {"etag", 0, "is output only"},
    {NULL, 0, NULL},
};

static int has_entity(const Project *p, const char *id)
{
    for (size_t i = 0; p && i < p->n_participants; i++) {
        if (strcmp(p->participants[i]->entity_id, id) == 0)
            return 1;
    }
    return 0;
}

static int has_group(const Project *p, const char *id)
{
    for (size_t i = 0; p && i < p->n_working_group_ids; i++) {
        if (strcmp(p->working_group_ids[i], id) == 0)
            return 1;
    }
    return 0;
}

void project_check_new_refs(peer_check *c, const char *prefix, const Project *next,
                            const Project *prev, unsigned mask)
{
    for (size_t i = 0; (mask & PF_PARTICIPANTS) && i < next->n_participants; i++) {
        if (!has_entity(prev, next->participants[i]->entity_id))
            peer_check_add(c, &peer_entities, next->participants[i]->entity_id,
                           "%s.participants[%zu].entity_id", prefix, i);
    }
    for (size_t i = 0; (mask & PF_GROUPS) && i < next->n_working_group_ids; i++) {
        if (!has_group(prev, next->working_group_ids[i]))
            peer_check_add(c, &peer_groups, next->working_group_ids[i], "%s.working_group_ids[%zu]",
                           prefix, i);
    }
}

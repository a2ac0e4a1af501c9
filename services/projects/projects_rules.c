/* projects_rules.c: who may call what of compact.projects.v1 (rule.h).
 *
 * The secretariat does everything; a focal point works on the projects its
 * entity takes part in (creating one with its entity among the
 * participants, then updating it and reporting its money and results); a
 * Working Group's chair may register its group's joint projects; the
 * services record the catalytic funding the Committee allocated; everyone
 * reads projects and asks for overlaps. */
#include "projects_service.h"

#include <stdio.h>
#include <string.h>

#include "pbmsg.h"
#include "project_store.h"

#define READ .roles = AUTH_ANYONE, .flags = AUTH_RULE_READ

static int first_value(void *arg, const char *value)
{
    *(const char **)arg = value;
    return 1;
}

/* The caller's entity is one of the participants of the project the
 * request names (project_id, or project.id for UpdateProject). */
static int takes_part(void *arg, const auth_identity *id, const ProtobufCMessage *request,
                      char *why, size_t whylen)
{
    const char *path =
        auth_field_path_ok(request->descriptor, "project_id") ? "project_id" : "project.id";
    const char *project_id = NULL;
    Project *p = NULL;
    int found = 0;

    snprintf(why, whylen, "%s: role %s may change only projects its entity takes part in", path,
             auth_role_name(id->role));
    if (auth_field_values(request, path, first_value, &project_id) != 1 || project_id[0] == '\0' ||
        id->entity_id[0] == '\0')
        return 0;
    if (project_store_get(service_store(arg), project_id, &p, NULL) != 0)
        return 0;
    for (size_t i = 0; i < p->n_participants && !found; i++)
        found = strcmp(p->participants[i]->entity_id, id->entity_id) == 0;
    pbmsg_free(&p->base);
    return found;
}

const auth_rule projects_rules[] = {
    {.method = "CreateProject",
     .roles = AUTH_ROLE_SECRETARIAT,
     .scoped = AUTH_ROLE_FOCAL_POINT | AUTH_ROLE_WG_CHAIR,
     .entity = "project.participants[].entity_id",
     .group = "project.working_group_ids[]"},
    {.method = "GetProject", READ},
    {.method = "ListProjects", READ},
    {.method = "UpdateProject",
     .roles = AUTH_ROLE_SECRETARIAT,
     .scoped = AUTH_ROLE_FOCAL_POINT,
     .check = takes_part},
    {.method = "RecordTransaction",
     .roles = AUTH_ROLE_SECRETARIAT | AUTH_ROLE_SERVICE,
     .scoped = AUTH_ROLE_FOCAL_POINT,
     .check = takes_part},
    {.method = "AddResult",
     .roles = AUTH_ROLE_SECRETARIAT,
     .scoped = AUTH_ROLE_FOCAL_POINT,
     .check = takes_part},
    {.method = "AddIndicator",
     .roles = AUTH_ROLE_SECRETARIAT,
     .scoped = AUTH_ROLE_FOCAL_POINT,
     .check = takes_part},
    {.method = "ReportIndicatorValue",
     .roles = AUTH_ROLE_SECRETARIAT,
     .scoped = AUTH_ROLE_FOCAL_POINT,
     .check = takes_part},
    {.method = "FindOverlaps", READ},
    {.method = NULL},
};

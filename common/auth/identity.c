/* identity.c: roles by name, and the reference-counted identity. */
#include "identity.h"

#include <stdlib.h>
#include <string.h>

static const struct {
    unsigned role;
    const char *name;
} auth_role_names[] = {
    {AUTH_ROLE_SECRETARIAT, "secretariat"}, {AUTH_ROLE_COMMITTEE, "committee"},
    {AUTH_ROLE_WG_CHAIR, "wg-chair"},       {AUTH_ROLE_FOCAL_POINT, "focal-point"},
    {AUTH_ROLE_VIEWER, "viewer"},           {AUTH_ROLE_SERVICE, "service"},
};

#define AUTH_NROLES (sizeof auth_role_names / sizeof auth_role_names[0])

const char *auth_role_name(unsigned role)
{
    for (size_t i = 0; i < AUTH_NROLES; i++)
        if (auth_role_names[i].role == role)
            return auth_role_names[i].name;
    return "";
}

unsigned auth_role_parse(const char *name)
{
    for (size_t i = 0; name && i < AUTH_NROLES; i++)
        if (strcmp(auth_role_names[i].name, name) == 0)
            return auth_role_names[i].role;
    return 0;
}

auth_identity *auth_identity_new(const char *subject, unsigned role, const char *entity_id,
                                 const char *const *group_ids, size_t ngroups, int64_t exp)
{
    auth_identity *id = calloc(1, sizeof *id);
    if (id == NULL)
        return NULL;
    id->refs = 1;
    id->role = role;
    id->exp = exp;
    id->subject = strdup(subject ? subject : "");
    id->entity_id = strdup(entity_id ? entity_id : "");
    id->group_ids = ngroups ? calloc(ngroups, sizeof *id->group_ids) : NULL;
    int ok = id->subject && id->entity_id && (ngroups == 0 || id->group_ids);
    for (size_t i = 0; ok && i < ngroups; i++) {
        id->group_ids[i] = strdup(group_ids[i]);
        ok = id->group_ids[i] != NULL;
        id->ngroups = i + 1;
    }
    if (!ok) {
        auth_identity_unref(id);
        return NULL;
    }
    return id;
}

auth_identity *auth_identity_ref(auth_identity *id)
{
    if (id)
        id->refs++;
    return id;
}

void auth_identity_unref(auth_identity *id)
{
    if (id == NULL || --id->refs > 0)
        return;
    for (size_t i = 0; i < id->ngroups; i++)
        free(id->group_ids[i]);
    free(id->group_ids);
    free(id->subject);
    free(id->entity_id);
    free(id);
}

int auth_identity_has_group(const auth_identity *id, const char *group_id)
{
    for (size_t i = 0; id && group_id && *group_id && i < id->ngroups; i++)
        if (strcmp(id->group_ids[i], group_id) == 0)
            return 1;
    return 0;
}

/* catalog.c: the Compact's services and their ports (see catalog.h). */
#include "catalog.h"

#include <string.h>

const catalog_service catalog_services[] = {
    {.name = "membership",
     .api = "compact.membership.v1.Membership",
     .port = 50051,
     .metrics_port = 9451},
    {.name = "workgroups",
     .api = "compact.workgroups.v1.WorkingGroups",
     .port = 50052,
     .metrics_port = 9452},
    {.name = "projects",
     .api = "compact.projects.v1.Projects",
     .port = 50053,
     .metrics_port = 9453},
    {.name = "analytics",
     .api = "compact.analytics.v1.Analytics",
     .port = 50054,
     .metrics_port = 9454,
     .http_port = 8054},
    {.name = "committee",
     .api = "compact.committee.v1.Committee",
     .port = 50055,
     .metrics_port = 9455},
    {.name = NULL},
};

const catalog_service *catalog_find(const char *name)
{
    for (const catalog_service *s = catalog_services; name && s->name; s++) {
        if (strcmp(s->name, name) == 0)
            return s;
    }
    return NULL;
}

/* workgroups_rules.c: who may call what of compact.workgroups.v1 (rule.h).
 *
 * Groups are established, renamed, closed and their terms and plans
 * approved by the secretariat, or by the services carrying out the
 * Committee's decisions; a group's chair keeps its leadership, members,
 * work plan items and notices; focal points follow groups for their
 * entity; everyone reads the groups, and notices as their visibility
 * allows, seen through the caller's own entity only. */
#include "workgroups_service.h"

#include <stdio.h>
#include <string.h>

#include "store.h"

#define READ .roles = AUTH_ANYONE, .flags = AUTH_RULE_READ
#define ADMIN AUTH_ROLE_SECRETARIAT | AUTH_ROLE_SERVICE

/* A subscription is its entity's: the caller's entity must own the
 * subscription named by the request's subscription_id. */
static int subscription_is_callers(void *arg, const auth_identity *id,
                                   const ProtobufCMessage *request, char *why, size_t whylen)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(request->descriptor, "subscription_id");
    const char *sub_id = f ? *(const char *const *)((const char *)request + f->offset) : NULL;
    int owned = 0;

    snprintf(why, whylen,
             "subscription_id: role %s may use only the subscriptions of its own entity",
             auth_role_name(id->role));
    if (sub_id == NULL || sub_id[0] == '\0' || id->entity_id[0] == '\0')
        return 0;
    sqlite3_stmt *s =
        store_stmt(service_store(arg), "SELECT entity_id FROM subscriptions WHERE id = ?1");
    if (s == NULL)
        return 0; /* no subscriptions kept: nothing is the caller's */
    sqlite3_bind_text(s, 1, sub_id, -1, SQLITE_STATIC);
    if (sqlite3_step(s) == SQLITE_ROW) {
        const unsigned char *owner = sqlite3_column_text(s, 0);
        owned = owner && strcmp((const char *)owner, id->entity_id) == 0;
    }
    sqlite3_reset(s);
    return owned;
}

const auth_rule workgroups_rules[] = {
    {.method = "CreateWorkingGroup", .roles = ADMIN},
    {.method = "GetWorkingGroup", READ},
    {.method = "ListWorkingGroups", READ},
    {.method = "UpdateWorkingGroup", .roles = ADMIN},
    {.method = "SetLeadership",
     .roles = AUTH_ROLE_SECRETARIAT,
     .scoped = AUTH_ROLE_WG_CHAIR,
     .group = "group_id"},
    {.method = "AddMember",
     .roles = AUTH_ROLE_SECRETARIAT,
     .scoped = AUTH_ROLE_WG_CHAIR,
     .group = "group_id"},
    {.method = "RemoveMember",
     .roles = AUTH_ROLE_SECRETARIAT,
     .scoped = AUTH_ROLE_WG_CHAIR,
     .group = "group_id"},
    {.method = "ApproveTermsOfReference", .roles = ADMIN},
    {.method = "ListTermsOfReference", READ},
    {.method = "AddWorkPlanItem",
     .roles = AUTH_ROLE_SECRETARIAT,
     .scoped = AUTH_ROLE_WG_CHAIR,
     .group = "group_id"},
    {.method = "UpdateWorkPlanItem",
     .roles = AUTH_ROLE_SECRETARIAT,
     .scoped = AUTH_ROLE_WG_CHAIR,
     .group = "group_id"},
    {.method = "BatchGetWorkingGroups", READ},
    {.method = "ApproveWorkPlan", .roles = ADMIN},
    {.method = "PostNotice",
     .roles = ADMIN,
     .scoped = AUTH_ROLE_WG_CHAIR,
     .group = "notice.working_group_id"},
    /* Members-only notices are restricted: a reader sees through its own
     * entity's eyes (or the public's, with no reader). */
    {.method = "ListNotices",
     .roles = AUTH_ROLE_SECRETARIAT | AUTH_ROLE_COMMITTEE | AUTH_ROLE_SERVICE,
     .scoped = AUTH_ROLE_WG_CHAIR | AUTH_ROLE_FOCAL_POINT | AUTH_ROLE_VIEWER,
     .entity = "reader_entity_id",
     .flags = AUTH_RULE_READ | AUTH_RULE_EMPTY_OK},
    {.method = "Subscribe",
     .roles = AUTH_ROLE_SECRETARIAT,
     .scoped = AUTH_ROLE_FOCAL_POINT,
     .entity = "subscription.entity_id"},
    {.method = "Unsubscribe",
     .roles = AUTH_ROLE_SECRETARIAT,
     .scoped = AUTH_ROLE_FOCAL_POINT,
     .check = subscription_is_callers},
    {.method = "WatchNotices",
     .roles = AUTH_ROLE_SECRETARIAT,
     .scoped = AUTH_ROLE_FOCAL_POINT,
     .check = subscription_is_callers,
     .flags = AUTH_RULE_READ},
    {.method = "GetDigest",
     .roles = AUTH_ROLE_SECRETARIAT,
     .scoped = AUTH_ROLE_FOCAL_POINT,
     .check = subscription_is_callers,
     .flags = AUTH_RULE_READ},
    {.method = NULL},
};

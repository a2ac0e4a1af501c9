/* membership_rules.c: who may call what of compact.membership.v1 (rule.h).
 *
 * Entities are the secretariat's to admit and withdraw; an entity's focal
 * point keeps its own record up to date; everyone may read them. The
 * services ("service") create entities and admit them for the Committee's
 * admission decisions. */
#include "membership_service.h"

#define READ .roles = AUTH_ANYONE, .flags = AUTH_RULE_READ

const auth_rule membership_rules[] = {
    {.method = "CreateEntity", .roles = AUTH_ROLE_SECRETARIAT | AUTH_ROLE_SERVICE},
    {.method = "GetEntity", READ},
    {.method = "ListEntities", READ},
    {.method = "UpdateEntity",
     .roles = AUTH_ROLE_SECRETARIAT,
     .scoped = AUTH_ROLE_FOCAL_POINT,
     .entity = "entity.id"},
    {.method = "WithdrawEntity", .roles = AUTH_ROLE_SECRETARIAT},
    {.method = "BatchGetEntities", READ},
    {.method = "CountEntities", READ},
    {.method = "AdmitEntity", .roles = AUTH_ROLE_SECRETARIAT | AUTH_ROLE_SERVICE},
    {.method = NULL},
};

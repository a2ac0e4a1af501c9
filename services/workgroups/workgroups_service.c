/* workgroups_service.c: compact-workgroups, the Compact's eight inter-agency
 * Working Groups, as a table.
 *
 * Its methods, its schema, and one peer, membership, which it asks whether
 * the entities it is given exist and are active. service_main() (main.c)
 * does configuration, the store, the cache, the outbox relay, gRPC, the peer
 * channel, health and shutdown; the handlers do the domain. The table lives
 * here, in the service's library rather than in main.c, so that tests and
 * fuzzers reach it without main().
 */
#include "workgroups_service.h"

#include "group_store.h"
#include "handlers.h"

static const rpc_method workgroups_methods[] = {
    {.name = "CreateWorkingGroup", .handler = handle_create_working_group},
    {.name = "GetWorkingGroup", .handler = handle_get_working_group},
    {.name = "ListWorkingGroups", .handler = handle_list_working_groups},
    {.name = "UpdateWorkingGroup", .handler = handle_update_working_group},
    {.name = "SetLeadership", .handler = handle_set_leadership},
    {.name = "AddMember", .handler = handle_add_member},
    {.name = "RemoveMember", .handler = handle_remove_member},
    {.name = "ApproveTermsOfReference", .handler = handle_approve_terms_of_reference},
    {.name = "ListTermsOfReference", .handler = handle_list_terms_of_reference},
    {.name = "AddWorkPlanItem", .handler = handle_add_work_plan_item},
    {.name = "UpdateWorkPlanItem", .handler = handle_update_work_plan_item},
    {.name = "BatchGetWorkingGroups", .handler = handle_batch_get_working_groups},
    {.name = NULL},
};

static const char *const workgroups_peers[] = {"membership", NULL};

const service_def *workgroups_service_def(void)
{
    /* Filled on first use rather than as a static initializer: the
     * migrations' count is a variable of group_store.c, not a constant
     * expression. Everything runs on the one loop thread. */
    static service_def def;

    if (def.name == NULL)
        def = (service_def){
            .name = "workgroups",
            .descriptor = &compact__workgroups__v1__working_groups__descriptor,
            .methods = workgroups_methods,
            .rules = workgroups_rules,
            .migrations = group_store_migrations,
            .migrations_count = group_store_migrations_count,
            .peers = workgroups_peers,
            .init = NULL,
            .fini = NULL,
        };
    return &def;
}

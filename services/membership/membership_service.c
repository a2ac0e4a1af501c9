/* membership_service.c: compact-membership, the registry of the Compact's
 * entities, as a table.
 *
 * Its methods, its schema, no peers. service_main() (main.c) does
 * configuration, the store, the cache, the outbox relay, gRPC, health and
 * shutdown; handlers.c does the domain. The table lives here, in the
 * service's library rather than in main.c, so that tests and fuzzers reach
 * it without main().
 */
#include "membership_service.h"

#include "entity_store.h"
#include "handlers.h"

static const rpc_method membership_methods[] = {
    {.name = "CreateEntity", .handler = handle_create_entity},
    {.name = "GetEntity", .handler = handle_get_entity},
    {.name = "ListEntities", .handler = handle_list_entities},
    {.name = "UpdateEntity", .handler = handle_update_entity},
    {.name = "WithdrawEntity", .handler = handle_withdraw_entity},
    {.name = "BatchGetEntities", .handler = handle_batch_get_entities},
    {.name = "CountEntities", .handler = handle_count_entities},
    {.name = "AdmitEntity", .handler = handle_admit_entity},
    {.name = NULL},
};

const service_def *membership_service_def(void)
{
    /* Filled on first use rather than as a static initializer: the
     * migrations' count is a variable of entity_store.c, not a constant
     * expression. Everything runs on the one loop thread. */
    static service_def def;

    if (def.name == NULL)
        def = (service_def){
            .name = "membership",
            .descriptor = &compact__membership__v1__membership__descriptor,
            .methods = membership_methods,
            .rules = membership_rules,
            .migrations = entity_store_migrations,
            .migrations_count = entity_store_migrations_count,
            .peers = NULL,
            .init = NULL,
            .fini = NULL,
        };
    return &def;
}

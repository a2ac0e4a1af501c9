/* main.c: compact-membership, the registry of the Compact's entities.
 *
 * The service as a table: its methods, its schema, no peers. service_main()
 * does configuration, the store, the cache, the outbox relay, gRPC, health
 * and shutdown; handlers.c does the domain.
 */
#include "entity_store.h"
#include "handlers.h"
#include "service.h"

static const rpc_method membership_methods[] = {
    {.name = "CreateEntity", .handler = handle_create_entity},
    {.name = "GetEntity", .handler = handle_get_entity},
    {.name = "ListEntities", .handler = handle_list_entities},
    {.name = "UpdateEntity", .handler = handle_update_entity},
    {.name = "WithdrawEntity", .handler = handle_withdraw_entity},
    {.name = "BatchGetEntities", .handler = handle_batch_get_entities},
    {.name = NULL},
};

int main(int argc, char **argv)
{
    /* Built here rather than as a static table: the migrations' count is a
     * variable of entity_store.c, not a constant expression. */
    const service_def membership_service = {
        .name = "membership",
        .descriptor = &compact__membership__v1__membership__descriptor,
        .methods = membership_methods,
        .migrations = entity_store_migrations,
        .migrations_count = entity_store_migrations_count,
        .peers = NULL,
        .init = NULL,
        .fini = NULL,
    };

    return service_main(&membership_service, argc, argv);
}

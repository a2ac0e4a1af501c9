/* workgroups_service.c: compact-workgroups, the Compact's eight inter-agency
 * Working Groups, as a table.
 *
 * Its methods, its schema, and one peer, membership, which it asks whether
 * the entities it is given exist and are active. Its own state is the hub of
 * open WatchNotices calls (notice_watch.h): made by `init`, ended by
 * `drain` at the start of shutdown, freed by `stop`. service_main() (main.c)
 * does configuration, the store, the cache, the outbox relay, gRPC, the peer
 * channel, health and shutdown; the handlers do the domain. The table lives
 * here, in the service's library rather than in main.c, so that tests and
 * fuzzers reach it without main().
 */
#include "workgroups_service.h"

#include "group_store.h"
#include "handlers.h"
#include "notice_watch.h"

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
    {.name = "ApproveWorkPlan", .handler = handle_approve_work_plan},
    {.name = "PostNotice", .handler = handle_post_notice},
    {.name = "ListNotices", .handler = handle_list_notices},
    {.name = "Subscribe", .handler = handle_subscribe},
    {.name = "Unsubscribe", .handler = handle_unsubscribe},
    {.name = "WatchNotices", .handler = handle_watch_notices, .flags = RPC_SERVER_STREAMING},
    {.name = "GetDigest", .handler = handle_get_digest},
    {.name = NULL},
};

static const char *const workgroups_peers[] = {"membership", NULL};

/* ---- hooks: the notice hub (notice_watch.h) ----------------------------------- */

static double sample_watches(void *arg)
{
    return notice_hub_watches(service_state(arg));
}

static int workgroups_init(service *svc)
{
    metrics *m = service_metrics(svc);
    notice_hub *h;
    int rc = 0;

    /* The gauge first: a hub once made must be freed by `stop`, which a
     * failed init does not get. */
    if (m)
        rc = metrics_add_sampled(m, METRICS_GAUGE, "compact_workgroups_notice_watches",
                                 "WatchNotices calls open.", sample_watches, svc);
    if (rc == 0 && (rc = notice_hub_new(svc, &h)) == 0)
        service_set_state(svc, h);
    return rc;
}

/* Shutdown begins: every watch ends now, not after the grace period. */
static void workgroups_drain(service *svc)
{
    notice_hub_drain(service_state(svc));
}

static void (*stop_done)(service *svc);

static void on_hub_freed(void *arg)
{
    service *svc = arg;

    service_set_state(svc, NULL);
    stop_done(svc);
}

static void workgroups_stop(service *svc, void (*done)(service *svc))
{
    stop_done = done;
    notice_hub_free(service_state(svc), on_hub_freed, svc);
}

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
            .init = workgroups_init,
            .drain = workgroups_drain,
            .stop = workgroups_stop,
            .fini = NULL,
        };
    return &def;
}

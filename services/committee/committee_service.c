/* committee_service.c: compact-committee, the Coordination Committee's
 * records, as a table.
 *
 * Its methods, its schema, its peers (membership for entities, workgroups
 * for groups and the effects on them, projects for proposals and
 * allocations), and its hooks: `init` starts the effects' executor, which
 * first finishes what a crash left pending; `stop` waits for the effect in
 * flight.
 */
#include "committee_service.h"

#include <stdlib.h>

#include "committee.h"
#include "effects.h"

static const rpc_method committee_methods[] = {
    {.name = "GetComposition", .handler = handle_get_composition},
    {.name = "AddRepresentative", .handler = handle_add_representative},
    {.name = "EndRepresentative", .handler = handle_end_representative},
    {.name = "ListRepresentatives", .handler = handle_list_representatives},
    {.name = "CreateMeeting", .handler = handle_create_meeting},
    {.name = "GetMeeting", .handler = handle_get_meeting},
    {.name = "ListMeetings", .handler = handle_list_meetings},
    {.name = "UpdateMeeting", .handler = handle_update_meeting},
    {.name = "AddActionPoint", .handler = handle_add_action_point},
    {.name = "UpdateActionPoint", .handler = handle_update_action_point},
    {.name = "ListActionPoints", .handler = handle_list_action_points},
    {.name = "RecordDecision", .handler = handle_record_decision},
    {.name = "GetDecision", .handler = handle_get_decision},
    {.name = "ListDecisions", .handler = handle_list_decisions},
    {.name = "RetryDecision", .handler = handle_retry_decision},
    {.name = "SetEnvelope", .handler = handle_set_envelope},
    {.name = "GetEnvelope", .handler = handle_get_envelope},
    {.name = "ListEnvelopes", .handler = handle_list_envelopes},
    {.name = "ProposeCatalyticFunding", .handler = handle_propose_catalytic_funding},
    {.name = "GetProposal", .handler = handle_get_proposal},
    {.name = "ListProposals", .handler = handle_list_proposals},
    {.name = "WithdrawProposal", .handler = handle_withdraw_proposal},
    {.name = NULL},
};

static const char *const committee_peers[] = {"membership", "workgroups", "projects", NULL};

static committee the_committee;

void committee_effects_wake(service *svc)
{
    committee *c = service_state(svc);

    if (c)
        effects_wake(c->fx);
}

static int committee_init(service *svc)
{
    committee *c = &the_committee;

    service_set_state(svc, c);
    return effects_start(svc, &c->fx);
}

static void on_effects_stopped(void *arg)
{
    committee *c = arg;

    c->fx = NULL;
    c->stop_done(c->svc);
}

/* Also after an init that failed: no executor then. */
static void committee_stop(service *svc, void (*done)(service *svc))
{
    committee *c = &the_committee;

    c->svc = svc;
    c->stop_done = done;
    effects_stop(c->fx, on_effects_stopped, c);
}

static void committee_fini(service *svc)
{
    service_set_state(svc, NULL);
}

const service_def *committee_service_def(void)
{
    /* Filled on first use: the migrations' count is a variable of
     * committee_store.c, not a constant expression. Loop thread only. */
    static service_def def;

    if (def.name == NULL)
        def = (service_def){
            .name = "committee",
            .descriptor = &compact__committee__v1__committee__descriptor,
            .methods = committee_methods,
            .rules = committee_rules,
            .migrations = committee_store_migrations,
            .migrations_count = committee_store_migrations_count,
            .peers = committee_peers,
            .init = committee_init,
            .stop = committee_stop,
            .fini = committee_fini,
        };
    return &def;
}

/* committee_rules.c: who may call what of compact.committee.v1 (rule.h).
 *
 * The secretariat keeps the composition and the envelopes; the secretariat
 * and the Committee record meetings, action points and decisions; a Working
 * Group's chair proposes catalytic funding for its group's projects and may
 * withdraw its group's proposals; everyone reads. Setting a verified flag
 * stays the secretariat's alone (rule.h). */
#include "committee_service.h"

#include <stdio.h>
#include <string.h>

#include "committee_store.h"
#include "pbmsg.h"

#define READ .roles = AUTH_ANYONE, .flags = AUTH_RULE_READ
#define RECORDS AUTH_ROLE_SECRETARIAT | AUTH_ROLE_COMMITTEE

/* The proposal the request's id names is one of the caller's groups'. */
static int proposal_is_callers(void *arg, const auth_identity *id, const ProtobufCMessage *request,
                               char *why, size_t whylen)
{
    const Compact__Committee__V1__WithdrawProposalRequest *req = (const void *)request;
    ProtobufCMessage *msg = NULL;
    int64_t version = 0;
    int mine = 0;

    snprintf(why, whylen, "id: role %s may withdraw only its own groups' proposals",
             auth_role_name(id->role));
    if (request->descriptor != &compact__committee__v1__withdraw_proposal_request__descriptor ||
        req->id[0] == '\0' ||
        docstore_load(service_store(arg), &committee_proposals, req->id, &msg, &version) != 0)
        return 0;
    mine = auth_identity_has_group(
        id, ((const Compact__Committee__V1__Proposal *)(const void *)msg)->working_group_id);
    pbmsg_free(msg);
    return mine;
}

const auth_rule committee_rules[] = {
    {.method = "GetComposition", READ},
    {.method = "AddRepresentative", .roles = AUTH_ROLE_SECRETARIAT},
    {.method = "EndRepresentative", .roles = AUTH_ROLE_SECRETARIAT},
    {.method = "ListRepresentatives", READ},
    {.method = "CreateMeeting", .roles = RECORDS},
    {.method = "GetMeeting", READ},
    {.method = "ListMeetings", READ},
    {.method = "UpdateMeeting", .roles = RECORDS},
    {.method = "AddActionPoint", .roles = RECORDS},
    {.method = "UpdateActionPoint", .roles = RECORDS},
    {.method = "ListActionPoints", READ},
    {.method = "RecordDecision", .roles = RECORDS},
    {.method = "GetDecision", READ},
    {.method = "ListDecisions", READ},
    {.method = "RetryDecision", .roles = RECORDS},
    {.method = "SetEnvelope", .roles = AUTH_ROLE_SECRETARIAT},
    {.method = "GetEnvelope", READ},
    {.method = "ListEnvelopes", READ},
    {.method = "ProposeCatalyticFunding",
     .roles = AUTH_ROLE_SECRETARIAT,
     .scoped = AUTH_ROLE_WG_CHAIR,
     .group = "proposal.working_group_id"},
    {.method = "GetProposal", READ},
    {.method = "ListProposals", READ},
    {.method = "WithdrawProposal",
     .roles = AUTH_ROLE_SECRETARIAT,
     .scoped = AUTH_ROLE_WG_CHAIR,
     .check = proposal_is_callers},
    {.method = NULL},
};

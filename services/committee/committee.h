/* committee.h: what the committee service's modules share.
 *
 *   committee_store.c  its tables
 *   composition.c      standing seats, and the composition on a date
 *   meetings.c         meetings and their action points
 *   decisions.c        decisions: checked, recorded with their effects pending
 *   effects.c          the effects carried out in the owning services, once
 *   funding.c          UNOCT's catalytic envelopes and the groups' proposals
 *
 * Every handler takes the service as its last argument; everything runs on
 * the loop thread.
 */
#ifndef COMPACT_COMMITTEE_H
#define COMPACT_COMMITTEE_H

#include "aggregate.h"
#include "committee_store.h"
#include "compact/membership/v1/membership.pb-c.h"
#include "compact/projects/v1/projects.pb-c.h"
#include "compact/workgroups/v1/workgroups.pb-c.h"
#include "page.h"
#include "rpc.h"
#include "service.h"

typedef struct effects effects;

/* The service's state (service_state). */
typedef struct committee {
    service *svc;
    effects *fx;
    void (*stop_done)(service *svc); /* the stop hook's continuation */
} committee;

extern const aggregate_def committee_representative_aggregate;
extern const aggregate_def committee_meeting_aggregate;
extern const aggregate_def committee_decision_aggregate;
extern const aggregate_def committee_proposal_aggregate;

/* Limits, in characters or items. */
#define COMMITTEE_TITLE_MAX 300
#define COMMITTEE_TEXT_MAX 20000
#define COMMITTEE_TOR_TEXT_MAX 100000
#define COMMITTEE_NAME_MAX 200
#define COMMITTEE_NOTE_MAX 2000
#define COMMITTEE_AGENDA_MAX 50
#define COMMITTEE_ATTENDANCE_MAX 100
#define COMMITTEE_ACTIONS_MAX 20
#define COMMITTEE_ACTION_POINTS_MAX 200
#define COMMITTEE_ITEMS_MAX 200
#define COMMITTEE_JUSTIFICATION_MAX 5000

/* The effects' executor has work: a decision was recorded or retried. */
void committee_effects_wake(service *svc);

/* Handlers (committee_service.c lists them). */
void handle_get_composition(rpc_call *call, const ProtobufCMessage *request, void *arg);
void handle_add_representative(rpc_call *call, const ProtobufCMessage *request, void *arg);
void handle_end_representative(rpc_call *call, const ProtobufCMessage *request, void *arg);
void handle_list_representatives(rpc_call *call, const ProtobufCMessage *request, void *arg);
void handle_create_meeting(rpc_call *call, const ProtobufCMessage *request, void *arg);
void handle_get_meeting(rpc_call *call, const ProtobufCMessage *request, void *arg);
void handle_list_meetings(rpc_call *call, const ProtobufCMessage *request, void *arg);
void handle_update_meeting(rpc_call *call, const ProtobufCMessage *request, void *arg);
void handle_add_action_point(rpc_call *call, const ProtobufCMessage *request, void *arg);
void handle_update_action_point(rpc_call *call, const ProtobufCMessage *request, void *arg);
void handle_list_action_points(rpc_call *call, const ProtobufCMessage *request, void *arg);
void handle_record_decision(rpc_call *call, const ProtobufCMessage *request, void *arg);
void handle_get_decision(rpc_call *call, const ProtobufCMessage *request, void *arg);
void handle_list_decisions(rpc_call *call, const ProtobufCMessage *request, void *arg);
void handle_retry_decision(rpc_call *call, const ProtobufCMessage *request, void *arg);
void handle_set_envelope(rpc_call *call, const ProtobufCMessage *request, void *arg);
void handle_get_envelope(rpc_call *call, const ProtobufCMessage *request, void *arg);
void handle_list_envelopes(rpc_call *call, const ProtobufCMessage *request, void *arg);
void handle_propose_catalytic_funding(rpc_call *call, const ProtobufCMessage *request, void *arg);
void handle_get_proposal(rpc_call *call, const ProtobufCMessage *request, void *arg);
void handle_list_proposals(rpc_call *call, const ProtobufCMessage *request, void *arg);
void handle_withdraw_proposal(rpc_call *call, const ProtobufCMessage *request, void *arg);

/* ---- shared by the handlers ----------------------------------------------------- */

/* "YYYY-MM-DD" of today (UTC) into buf[11]. */
void committee_today(char *buf);

#endif

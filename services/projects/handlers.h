/* handlers.h: the RPCs of compact.projects.v1.Projects.
 *
 * One function per RPC, all with the runtime's handler signature; `svc` is
 * the `service *`, whose own state is the projects_state (project.h) holding
 * the overlap index. Each validates the whole request first (a bad field
 * ends the call with INVALID_ARGUMENT naming it), checks the entity and group
 * ids it adds with their services (peer_check.h), then reads or writes, and
 * the call is answered exactly once.
 *
 * handlers.c: CreateProject, GetProject, ListProjects, UpdateProject,
 * FindOverlaps. handlers_tracking.c (money and results): RecordTransaction,
 * AddResult, AddIndicator, ReportIndicatorValue.
 *
 * The project is an aggregate (project.h): Get reads through the cache by
 * id or IATI identifier, and every write follows the toolkit's one contract
 * (aggregate.h), publishing "project.created", "project.updated",
 * "project.transaction_recorded" or "project.indicator_reported" with the
 * whole new Project. ListProjects reads SQLite; FindOverlaps the in-memory
 * overlap index.
 */
#ifndef COMPACT_PROJECTS_HANDLERS_H
#define COMPACT_PROJECTS_HANDLERS_H

#include "rpc.h"

void handle_create_project(rpc_call *call, const ProtobufCMessage *request, void *svc);
void handle_get_project(rpc_call *call, const ProtobufCMessage *request, void *svc);
void handle_list_projects(rpc_call *call, const ProtobufCMessage *request, void *svc);
void handle_update_project(rpc_call *call, const ProtobufCMessage *request, void *svc);
void handle_find_overlaps(rpc_call *call, const ProtobufCMessage *request, void *svc);

void handle_record_transaction(rpc_call *call, const ProtobufCMessage *request, void *svc);
void handle_add_result(rpc_call *call, const ProtobufCMessage *request, void *svc);
void handle_add_indicator(rpc_call *call, const ProtobufCMessage *request, void *svc);
void handle_report_indicator_value(rpc_call *call, const ProtobufCMessage *request, void *svc);

#endif

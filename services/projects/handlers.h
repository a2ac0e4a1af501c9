/* handlers.h: the RPCs of compact.projects.v1.Projects.
 *
 * One function per RPC, all with the runtime's handler signature; `svc` is
 * the `service *` (service_data of the method table), whose own data is the
 * projects_state (project_write.h) holding the overlap index. Each validates
 * the whole request first (a bad field ends the call with INVALID_ARGUMENT
 * naming it), checks new entity and group ids with their services, then
 * reads or writes the store, then replies exactly once.
 *
 * handlers.c: CreateProject, GetProject, ListProjects, UpdateProject,
 * FindOverlaps. handlers_tracking.c (money and results): RecordTransaction,
 * AddResult, AddIndicator, ReportIndicatorValue.
 *
 * Writes go through project_write.h: one transaction with the outbox event
 * ("project.created", "project.updated", "project.transaction_recorded",
 * "project.indicator_reported", each carrying the whole new Project), the
 * reply only after the commit, then cache invalidation, the relay kick and
 * the overlap index update.
 *
 * Reads: GetProject goes through the Redis cache (keys
 * "compact:projects:project:<id>" and "compact:projects:iati:<lowered IATI
 * identifier>", both holding the packed Project); ListProjects reads SQLite;
 * FindOverlaps reads the in-memory overlap index.
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

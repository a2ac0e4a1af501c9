/* handlers.h: the RPCs of compact.analytics.v1.Analytics.
 *
 * Questions are checked here (a clear INVALID_ARGUMENT or NOT_FOUND naming
 * the field) and answered by answers.c from the figures in memory;
 * WatchOverview is handed to the feed, Rebuild to the consumer. The only
 * write is PutExchangeRate, acknowledged once on disk.
 */
#ifndef COMPACT_ANALYTICS_HANDLERS_H
#define COMPACT_ANALYTICS_HANDLERS_H

#include "answers.h"
#include "rpc.h"

void handle_get_overview(rpc_call *call, const ProtobufCMessage *request, void *arg);
void handle_get_funding_breakdown(rpc_call *call, const ProtobufCMessage *request, void *arg);
void handle_get_participation(rpc_call *call, const ProtobufCMessage *request, void *arg);
void handle_get_coverage(rpc_call *call, const ProtobufCMessage *request, void *arg);
void handle_list_duplication_alerts(rpc_call *call, const ProtobufCMessage *request, void *arg);
void handle_get_monitoring(rpc_call *call, const ProtobufCMessage *request, void *arg);
void handle_get_activity(rpc_call *call, const ProtobufCMessage *request, void *arg);
void handle_watch_overview(rpc_call *call, const ProtobufCMessage *request, void *arg);
void handle_rebuild(rpc_call *call, const ProtobufCMessage *request, void *arg);
void handle_put_exchange_rate(rpc_call *call, const ProtobufCMessage *request, void *arg);
void handle_list_exchange_rates(rpc_call *call, const ProtobufCMessage *request, void *arg);

/* The check of a Filter, shared with the web (which names its query
 * parameters instead): NULL when `f` may be asked, else the problem, with
 * *field the field it is about and *not_found 1 for a group that does not
 * exist. */
const char *analytics_filter_problem(const analytics *a, int year, const char *group_id, int pillar,
                                     const char **field, int *not_found);

#endif

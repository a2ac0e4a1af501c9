/* alerts.h: duplication alerts, kept current by asking projects.
 *
 * When a project changes, analytics asks projects' FindOverlaps about it
 * (service to service, with the peer deadline) and keeps what it answers as
 * the project's alerts, a pair of projects once. Changes are coalesced: a
 * project that changes again while it waits is asked about once; at most
 * ALERTS_IN_FLIGHT questions are out at a time, so a burst of writes never
 * floods projects. A question that fails is dropped (logged): the next
 * change of the project asks again, and a rebuild asks about every one.
 */
#ifndef COMPACT_ANALYTICS_ALERTS_H
#define COMPACT_ANALYTICS_ALERTS_H

#include <stddef.h>

#include "analytics.h"
#include "compact/analytics/v1/analytics.pb-c.h"

#define ALERTS_IN_FLIGHT 4
#define ALERTS_PER_PROJECT 10

/* 0 and *out, or -ENOMEM. */
int alerts_new(analytics *a, alerts **out);

/* Project `id` changed (or is new): ask about it soon. */
void alerts_project_changed(alerts *al, const char *id);

/* Every alert, strongest first (valid until the alerts next change): 0, or
 * a negative errno from the store. */
int alerts_list(alerts *al, Compact__Analytics__V1__DuplicationAlert *const **out, size_t *n);

/* Questions asked and failed, and waiting, for the metrics. */
typedef struct alerts_stats {
    unsigned long asked, failed, waiting;
} alerts_stats;
void alerts_get_stats(const alerts *al, alerts_stats *out);

/* Stops asking; `cb` runs once, on the loop, when no question is out. */
void alerts_stop(alerts *al, void (*cb)(void *arg), void *arg);

#endif

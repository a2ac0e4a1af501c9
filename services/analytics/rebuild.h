/* rebuild.h: every figure again, from the source services' List calls.
 *
 * Lists every entity, working group and project (page by page, all three
 * kinds at once) into a model of its own, then, in one transaction,
 * compares each state with the snapshot the events left (a state that
 * differs, or is missing on either side, is a difference), replaces the
 * snapshots, and puts the new model in the place of the old, keeping the
 * sequences the events reached. The consumer runs it (consumer_rebuild), so
 * that no batch of events is applied half way through.
 */
#ifndef COMPACT_ANALYTICS_REBUILD_H
#define COMPACT_ANALYTICS_REBUILD_H

#include <stdint.h>

#include "analytics.h"

typedef struct rebuild_result {
    int64_t entities, working_groups, projects;
    int64_t differences;
} rebuild_result;

/* rc 0 and `r`, or a negative errno (-EHOSTUNREACH: a source did not
 * answer; -EIO: the store failed; -ECANCELED: the service is stopping, seen
 * at the next page) with the old figures kept. `message`
 * says which source and why, or is NULL. */
typedef void (*rebuild_done_cb)(void *arg, int rc, const char *message, const rebuild_result *r);

/* Starts a rebuild; `cb` runs once, later. The caller runs one at a time. */
void rebuild_start(analytics *a, rebuild_done_cb cb, void *arg);

#endif

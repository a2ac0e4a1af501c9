/* consumer.h: the other services' events, applied to analytics exactly once.
 *
 * The consumer reads the streams "compact:events:<service>" in the Redis
 * consumer group "analytics" (XREADGROUP, on a Redis connection of its own,
 * since a blocking read holds its connection). Each read is applied in one
 * SQLite transaction together with the stream positions it reaches, and the
 * figures change once that transaction committed (batch.h). Positions live
 * in SQLite, not in Redis: reads are NOACK, and every setup sets the group
 * back to the positions on disk. So:
 *
 *   - a crash before a commit leaves the store at the old positions, and the
 *     read is made again: applied once;
 *   - a commit lost with the machine (committed, not yet flushed) takes its
 *     positions with it: read again too;
 *   - every event carries its aggregate's sequence and whole state: a
 *     sequence not above the one held is ignored, one that skips is applied
 *     and the aggregate is read again over gRPC (reread.h);
 *   - Redis that lost the group (a restart without its data, a stream
 *     deleted), trimmed entries past our position (analytics down longer
 *     than the retention) or came back behind our position (its append-only
 *     file lost its tail) lost events for good: the consumer then rebuilds
 *     every figure from the services' List calls (rebuild.h) and reads on
 *     from where the group stands. A new store (the first start) does the
 *     same, from the streams' ends.
 *
 * One analytics at a time: all instances share the group, so a second one
 * would take half the entries. A lease in Redis (taken at setup, renewed
 * between reads, 15 s) keeps the others waiting; one whose lease was taken
 * over stops reading until it can have it again.
 *
 * With Redis down the consumer retries every second and analytics answers
 * from what it has; Freshness says as of when. Loop thread only.
 */
#ifndef COMPACT_ANALYTICS_CONSUMER_H
#define COMPACT_ANALYTICS_CONSUMER_H

#include <stdint.h>

#include "analytics.h"
#include "rebuild.h"

#define CONSUMER_GROUP "analytics"
#define CONSUMER_BATCH 200 /* entries per stream per read; halved after a timeout */
#define CONSUMER_BLOCK_MS 1000

/* Starts reading `streams` (NULL-terminated names of services whose streams
 * to read) on a Redis connection of its own to `redis_addr`. Returns 0 and
 * *out, or a negative errno. */
int consumer_start(analytics *a, const char *const *services, consumer **out);

/* Rebuilds every figure between two batches (at once while Redis is down);
 * `cb` runs once with the outcome. */
void consumer_rebuild(consumer *c, rebuild_done_cb cb, void *arg);

/* Counters for the metrics. */
typedef struct consumer_stats {
    uint64_t batches, events, duplicates, gaps, rereads, rebuilds, failures;
} consumer_stats;
void consumer_get_stats(const consumer *c, consumer_stats *out);

/* Stops after what is in flight; `cb` runs once on the loop when every
 * handle is closed. A NULL consumer runs `cb` at once. */
void consumer_stop(consumer *c, void (*cb)(void *arg), void *arg);

#endif

/* consumer.h: the other services' events, applied to analytics exactly once.
 *
 * The consumer reads the streams "compact:events:<service>" in the Redis
 * consumer group "analytics" (XREADGROUP, on a Redis connection of its own,
 * since a blocking read holds its connection). Each batch it reads is
 * applied in one SQLite transaction together with the stream positions it
 * reaches; the model is changed once that transaction committed, and the
 * entries are acknowledged (XACK) once it is on disk. So:
 *
 *   - a crash before the commit leaves the store at the old positions, and
 *     at start the group is set back to them (XGROUP SETID): the batch is
 *     read again, and applied once;
 *   - a crash after the commit, before the XACK, reads the batch again too,
 *     but every aggregate in it now holds the sequence the batch reached,
 *     and older or equal sequences are ignored (model.h);
 *   - a sequence that skips (the aggregate's sequence is known and the event
 *     is more than one past it) is applied, since events carry the whole
 *     state, and the aggregate is also read again from its service over
 *     gRPC in case something newer was lost too;
 *   - Redis that lost the group (restarted without its data) or trimmed
 *     entries past our position (analytics was down longer than the
 *     retention) lost events for good: the consumer then rebuilds every
 *     figure from the services' List calls (rebuild.h) before reading on.
 *     A new store (the first start) does the same, from the streams' ends.
 *
 * With Redis down the consumer retries every second and analytics answers
 * from what it has; Freshness says as of when.
 *
 * The life of a consumer: setup (the group, per stream) -> [rebuild] ->
 * read -> apply -> sync -> ack -> read ... Loop thread only.
 */
#ifndef COMPACT_ANALYTICS_CONSUMER_H
#define COMPACT_ANALYTICS_CONSUMER_H

#include <stdint.h>

#include "analytics.h"
#include "rebuild.h"

#define CONSUMER_GROUP "analytics"
#define CONSUMER_BATCH 500
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

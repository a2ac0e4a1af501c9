/* analytics_store.h: what analytics keeps on disk, so that a restart resumes
 * where it stopped and never counts an event twice.
 *
 * Tables (component "analytics" of the service's store):
 *   snapshots  the latest state of every entity, group and project, with its
 *              aggregate sequence: the model is rebuilt from them at start
 *   positions  the last stream entry applied, per source stream
 *   activity   changes per month and event type
 *   alerts     the duplication alerts found with FindOverlaps
 *   rates      the exchange rates
 *   meta       events applied, and the time and lag of the last one
 *
 * A batch of events is applied in one transaction (store_begin ...
 * store_commit) with the positions it moves: a crash leaves either all of it
 * or none, and the stream is read again from the position on disk. Loop
 * thread only. Errors are 0 or a negative errno, as store.h.
 */
#ifndef COMPACT_ANALYTICS_STORE_H
#define COMPACT_ANALYTICS_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "compact/analytics/v1/analytics.pb-c.h"
#include "store.h"

extern const store_migration analytics_store_migrations[];
extern const size_t analytics_store_migrations_count;

/* ---- snapshots -------------------------------------------------------------- */

/* Keeps the state of aggregate (type, id) at sequence `seq`. */
int analytics_store_put_snapshot(store *st, const char *type, const char *id, uint64_t seq,
                                 const void *state, size_t len);

/* Calls fn(arg, type, id, seq, state, len) for every snapshot, in type and id
 * order; stops at fn's first non-zero return, which it returns. */
typedef int (*analytics_snapshot_fn)(void *arg, const char *type, const char *id, uint64_t seq,
                                     const void *state, size_t len);
int analytics_store_each_snapshot(store *st, analytics_snapshot_fn fn, void *arg);

/* The snapshot of (type, id): 0 with *seq and a malloc'd *state of *len
 * bytes (the caller frees it), -ENOENT, or a negative errno. */
int analytics_store_snapshot(store *st, const char *type, const char *id, uint64_t *seq,
                             void **state, size_t *len);

int analytics_store_delete_snapshot(store *st, const char *type, const char *id);

/* ---- positions, activity, meta ------------------------------------------------ */

/* The last entry id applied of `stream` into `id` (size bytes): 0, or -ENOENT
 * (nothing applied yet; `id` is "0-0"). */
int analytics_store_position(store *st, const char *stream, char *id, size_t size);
int analytics_store_set_position(store *st, const char *stream, const char *id);

/* `n` more changes of type `kind` in month "YYYY-MM". */
int analytics_store_count_activity(store *st, const char *month, const char *kind, int64_t n);

/* Calls fn(arg, month, kind, n) for every month from `from` on, in order. */
typedef void (*analytics_activity_fn)(void *arg, const char *month, const char *kind, int64_t n);
int analytics_store_each_activity(store *st, const char *from, analytics_activity_fn fn, void *arg);

int analytics_store_get_meta(store *st, const char *key, int64_t *value);
int analytics_store_set_meta(store *st, const char *key, int64_t value);

/* ---- alerts ------------------------------------------------------------------- */

/* Replaces the alerts found for project `project_id` with alerts[0..n). */
int analytics_store_put_alerts(store *st, const char *project_id,
                               Compact__Analytics__V1__DuplicationAlert *const *alerts, size_t n);

/* Every alert (caller frees each with protobuf_c_message_free_unpacked and
 * the array with free): 0 and *out, *n, or a negative errno. */
int analytics_store_alerts(store *st, Compact__Analytics__V1__DuplicationAlert ***out, size_t *n);

/* ---- rates --------------------------------------------------------------------- */

int analytics_store_put_rate(store *st, const Compact__Analytics__V1__ExchangeRate *r);

/* Every rate, by currency and date; as analytics_store_alerts. */
int analytics_store_rates(store *st, Compact__Analytics__V1__ExchangeRate ***out, size_t *n);

#endif

/* batch.h: one read of the event streams, into the store and the figures.
 *
 * The consumer (consumer.h) reads entries; a batch decodes them and decides,
 * event by event, against the figures and the events before it in the same
 * read:
 *
 *   - a sequence not above the one held is a duplicate: skipped;
 *   - a sequence more than one past the one held is a gap: applied (the
 *     event carries the whole state) and reported, so that the aggregate is
 *     read again from its service;
 *   - held sequence 0 is a state read from the source (a rebuild, a re-read):
 *     any sequence may follow it, and a creation event after a rebuild is
 *     not counted in the activity again (the rebuild counted it).
 *
 * Each event carries its whole aggregate, so of several events of one
 * aggregate in a read only the last state is stored and applied (a project
 * getting a hundred transactions in a burst is decoded a hundred times but
 * turned into figures once).
 *
 * Then batch_commit writes the snapshots, the activity, the stream positions
 * and the counters in one transaction, and batch_apply changes the figures,
 * after that commit and only then. Loop thread only.
 */
#ifndef COMPACT_ANALYTICS_BATCH_H
#define COMPACT_ANALYTICS_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "analytics.h"
#include "cache.h"

typedef struct batch batch;

/* What a batch saw, added to the consumer's counters. */
typedef struct batch_counts {
    uint64_t events, duplicates, gaps, unreadable;
} batch_counts;

/* Decodes the entries of `b[0..nb)` and decides each against `m`. 0 and *out
 * (free with batch_free), or -ENOMEM. The batch keeps what it needs of `b`
 * (the events, each stream's last entry id): it may be committed and
 * applied after the read's callback, once `b` is gone, but before anything
 * else is decided against `m`. */
int batch_decode(const model *m, const cache_stream_batch *b, size_t nb, batch **out);

/* One transaction: every applying event's snapshot and activity, the last
 * entry id of each stream read as its position, and the counters. 0, or a
 * negative errno (rolled back: nothing of it stays). */
int batch_commit(store *st, const batch *bt, int64_t applied_before);

/* The figures after the commit. Calls gap(arg, type, id, seq) for every
 * aggregate whose sequence skipped. */
typedef void (*batch_gap_fn)(void *arg, const char *type, const char *id, uint64_t seq);
void batch_apply(analytics *a, const batch *bt, batch_gap_fn gap, void *arg);

/* Events that apply; the commit time of the last one (ms, 0 without one). */
size_t batch_size(const batch *bt);
int64_t batch_last_ms(const batch *bt);
batch_counts batch_get_counts(const batch *bt);

void batch_free(batch *bt);

#endif

/* reread.h: aggregates read again from their services, after a gap.
 *
 * When an aggregate's sequence skips, the event's state is applied (it is
 * whole) and the aggregate is also read again with its service's Get, in
 * case something newer was lost too. The answer replaces the figures' state
 * only if nothing moved the aggregate meanwhile (its held sequence is still
 * the one it was asked at), and its snapshot keeps that sequence. Loop
 * thread only.
 */
#ifndef COMPACT_ANALYTICS_REREAD_H
#define COMPACT_ANALYTICS_REREAD_H

#include <stdint.h>

#include "analytics.h"

typedef struct rereads rereads;

int rereads_new(analytics *a, rereads **out);

/* Reads aggregate (type, id) again, asked at held sequence `seq`. Unknown
 * types and services that are not configured are ignored. */
void rereads_start(rereads *r, const char *type, const char *id, uint64_t seq);

uint64_t rereads_started(const rereads *r);

/* Asks nothing more; `cb` runs once, on the loop, when no answer is awaited
 * and `r` is gone. NULL runs `cb` at once. */
void rereads_stop(rereads *r, void (*cb)(void *arg), void *arg);

#endif

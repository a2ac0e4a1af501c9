/* analytics.h: the state of compact-analytics, shared by its modules.
 *
 *   model.c      the figures, in memory (pure)
 *   consumer.c   the event streams, exactly once: setup, lease, reads
 *   batch.c      one read into the store, then into the model
 *   reread.c     an aggregate read again from its service after a gap
 *   rebuild.c    the figures again from the source services' List calls
 *   alerts.c     duplication alerts, asked of projects' FindOverlaps
 *   answers.c    the reply messages, for the RPCs and the web alike
 *   feed.c       the change feed: WatchOverview streams and web events
 *   handlers.c   the RPCs
 *   web.c        the dashboard over HTTP, its JSON API and live events
 *
 * One `analytics` per process, made by the init hook (analytics_service.c)
 * and reached from a handler with analytics_of(svc). Loop thread only.
 */
#ifndef COMPACT_ANALYTICS_H
#define COMPACT_ANALYTICS_H

#include <stdint.h>

#include "model.h"
#include "service.h"

typedef struct consumer consumer;
typedef struct alerts alerts;
typedef struct feed feed;
typedef struct web web;
typedef struct answers answers;

/* Where the figures stand (compact.analytics.v1.Freshness). */
typedef struct freshness {
    int64_t as_of_ms;       /* commit time of the last event applied; 0: none */
    int64_t lag_ms;         /* from that commit to its being applied; -1: none yet */
    int64_t events_applied; /* since the store was made */
    int64_t last_read_ms;   /* when a read of the streams last succeeded */
} freshness;

typedef struct analytics {
    service *svc;
    model *model;
    freshness fresh;
    uint64_t alerts_version;   /* moves on when the stored alerts change */
    uint64_t activity_version; /* moves on when a batch counts activity (batch_apply) */
    int rebuild_on_start;      /* a snapshot did not load: rebuild before reading */
    int stopping;              /* going away: a rebuild ends at its next page */
    consumer *consumer;
    alerts *alerts;
    feed *feed;
    web *web;
    answers *answers;
    void (*stop_done)(service *svc); /* the stop hook's continuation */
} analytics;

analytics *analytics_of(const service *svc);

/* The model changed (events, a rebuild, a rate): the feed tells watchers. */
void analytics_changed(analytics *a);

#endif

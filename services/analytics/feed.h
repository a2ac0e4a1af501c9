/* feed.h: the change feed behind WatchOverview and the dashboard's live
 * updates.
 *
 * Watchers are WatchOverview calls and server-sent event streams of the
 * web. A ticker runs once a second; when the figures changed since a
 * watcher last heard, it gets the overview of its filter as it is now, so a
 * watcher hears at most once a second, and a burst of a thousand events is
 * one message. A new watcher hears at once. A gRPC watcher that reads too
 * slowly is cut off by the runtime's bounded write queue; a web stream
 * keeps only the newest message (http_server.h).
 */
#ifndef COMPACT_ANALYTICS_FEED_H
#define COMPACT_ANALYTICS_FEED_H

#include "analytics.h"
#include "answers.h"
#include "http_server.h"

#define FEED_TICK_MS 1000

int feed_new(analytics *a, feed **out);

/* Something changed: watchers hear of it at the next tick. Cheap. */
void feed_changed(feed *f);

/* Takes over WatchOverview call `call` (an overview question `q`). */
void feed_watch(feed *f, rpc_call *call, const answer_question *q);

/* Turns web response `res` into a stream of "overview" events. */
void feed_listen(feed *f, http_response *res, const answer_question *q);

/* Watchers now: gRPC and web. */
void feed_counts(const feed *f, int *watches, int *streams);

/* Ends every watcher (gRPC calls with OK, web streams) and takes no more;
 * the ticker keeps the feed until feed_free. */
void feed_drain(feed *f);

/* After feed_drain: `cb` runs once the ticker is closed; the feed is gone. */
void feed_free(feed *f, void (*cb)(void *arg), void *arg);

#endif

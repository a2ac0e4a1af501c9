/* notice_watch.h: WatchNotices, the live side of information-sharing.
 *
 * The hub keeps the open WatchNotices calls (watchers), each with a copy of
 * its subscription, on the loop. When a notice commits (the notice
 * aggregate's `committed` hook) the hub waits for the flush that puts it on
 * disk (store_sync: the outbox relay's rule, nobody hears of what a power
 * cut could take back; flushes answer in order, so notices go out in the
 * order committed), then hands it to every watcher whose subscription
 * follows the notice's group (or the whole Compact) and whose entity may
 * see it:
 *
 *   PUBLIC         every follower;
 *   COMPACT        every follower: its entity was active when the watch
 *                  started, and is checked again (below);
 *   GROUP_MEMBERS  the followers whose entity leads or is a member of the
 *                  group now: the group's leaders and members are read from
 *                  the store for each such notice, so an entity removed from
 *                  the group hears nothing more of it from that moment on,
 *                  without its watch being touched.
 *
 * Entity standing: a watch starts only for an active entity (membership,
 * peer_check.h). While it lasts, the hub asks membership about every watching
 * entity once every NOTICE_WATCH_RECHECK_MS (one BatchGetEntities for all;
 * the fault point "notices.recheck_ms" shortens it for tests); the watches of
 * an entity withdrawn or gone end with FAILED_PRECONDITION. While membership
 * does not answer the watches go on: withdrawal reaches an open watch within
 * one recheck of membership answering again.
 *
 * Flow control: each write goes to the runtime's bounded queue of the call
 * (RPC_STREAM_WRITES_MAX); a watcher that does not read is cut off with
 * RESOURCE_EXHAUSTED by the runtime, and its slot freed. Nothing waits for a
 * slow watcher.
 *
 * Ends: the client going away, its deadline, its subscription removed
 * (OK), its entity withdrawn (FAILED_PRECONDITION), shutdown (drain: OK,
 * at once, so that the server need not wait its grace period).
 *
 * Everything runs on the loop thread.
 */
#ifndef COMPACT_WORKGROUPS_NOTICE_WATCH_H
#define COMPACT_WORKGROUPS_NOTICE_WATCH_H

#include "notice_store.h"
#include "service.h"

#define NOTICE_WATCH_RECHECK_MS 30000

typedef struct notice_hub notice_hub;

/* A new hub for `svc`, its recheck timer started. 0 and *out, or -ENOMEM. */
int notice_hub_new(service *svc, notice_hub **out);

/* Takes over WatchNotices call `call` for subscription `sub` (taken, in
 * every case), whose entity was found active. Ends the call with
 * UNAVAILABLE while draining. */
void notice_hub_watch(notice_hub *h, rpc_call *call, Subscription *sub);

/* Notice `n` committed: delivered to whoever may see it (see the top). */
void notice_hub_posted(notice_hub *h, const Notice *n);

/* Subscription `id` is gone: its watches end with OK. */
void notice_hub_unsubscribed(notice_hub *h, const char *id);

/* Open watches, for the metrics. */
int notice_hub_watches(const notice_hub *h);

/* Ends every watch (OK) and takes no more. */
void notice_hub_drain(notice_hub *h);

/* After notice_hub_drain: closes the timer and frees the hub; `cb` runs
 * once, when it is gone. A recheck still in flight is let go (its answer is
 * dropped). NULL `h`: `cb` runs at once. */
void notice_hub_free(notice_hub *h, void (*cb)(void *arg), void *arg);

#endif

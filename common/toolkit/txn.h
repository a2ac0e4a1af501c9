/* txn.h: a write RPC's transaction, from BEGIN to the reply.
 *
 * A write is acknowledged only after it committed, and its event commits
 * with it (outbox.h). Every write handler therefore reads:
 *
 *     if (txn_begin(call, st))
 *         return;                       (the call has failed)
 *     ... check, change rows: rc = 0 or a negative errno ...
 *     txn_finish(call, svc, rc, &event, reply);
 *
 * txn_finish appends the event (with the call's actor, service_call_actor,
 * unless the event names one) and commits; it then drops the cache keys the
 * event names, wakes the outbox relay, and replies once the commit is on
 * disk (store_sync: group commit, the loop never waits for the disk). Any
 * failure before the commit rolls everything back and fails the call
 * (status.h): nothing half-written, and the call answered exactly once
 * either way. A flush that fails after the commit answers DATA_LOSS: the
 * change is in the WAL but may not survive a power cut.
 *
 * txn_keys collects the cache keys a change invalidates (an id key, a code
 * before and after a rename, ...) without repeats, for the event.
 * All of it runs on the loop thread.
 */
#ifndef COMPACT_TXN_H
#define COMPACT_TXN_H

#include <stddef.h>

#include "outbox.h"
#include "rpc.h"
#include "service.h"

#define TXN_KEYS_MAX 6
#define TXN_KEY_SIZE 160

/* Up to TXN_KEYS_MAX distinct cache keys; start from {0}. v[0..n) point into
 * buf, so copy the struct only before adding. */
typedef struct txn_keys {
    char buf[TXN_KEYS_MAX][TXN_KEY_SIZE];
    const char *v[TXN_KEYS_MAX];
    size_t n;
} txn_keys;

/* Adds cache_key(service_name, kind, id) unless it is already in `k`. A key that
 * does not fit TXN_KEY_SIZE, or one beyond TXN_KEYS_MAX, is left out (the
 * second is a bug: an aggregate has at most AGGREGATE_KEYS_MAX keys, each
 * before and after a change). */
void txn_keys_add(txn_keys *k, const char *service_name, const char *kind, const char *id);

/* store_begin(st); on failure fails the call with status_fail_store() and
 * returns -1, else 0 (the caller now owns an open transaction that must end
 * with txn_finish() or store_rollback()). */
int txn_begin(rpc_call *call, store *st);

/* Ends the transaction txn_begin opened, whose change returned `rc`. If rc
 * is 0, appends `ev` (read only then) and commits; if that works, deletes
 * ev->cache_keys from the cache, wakes the relay, packs `reply` (the caller
 * keeps it) to send once the commit is on disk, and returns 0. Otherwise rolls back (store_commit rolls back itself), fails
 * the call ("store: the change was not saved; ..." or "... could not be
 * committed; ...", a conflict at commit reported as UNAVAILABLE) and returns
 * -1. The call is answered in both cases. */
int txn_finish(rpc_call *call, service *svc, int rc, const outbox_event *ev,
               const ProtobufCMessage *reply);

#endif

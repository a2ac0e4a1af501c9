/* group_write.h: what the workgroups handlers share: group loading,
 * cache keys, etags, and the shape of every write.
 *
 * Every change to a group is one transaction that ends the same way
 * (group_write_finish): the group moves to its next version, is read back
 * whole, its event ("workgroup.created", "workgroup.leadership_set", ...)
 * carrying the new group and the cache keys to drop is appended to the
 * outbox, and the transaction commits. Only then the reply, the cache
 * invalidation and the relay's wake-up. Any failure rolls everything back
 * and fails the call: nothing half-written.
 *
 * Changes that name entities first ask membership (entity_check.h), before
 * the transaction: group_write_after_check() runs the write only once every
 * id named an active entity. The write then loads the group again inside its
 * transaction and checks it afresh, since it may have changed meanwhile.
 *
 * Cache keys: "compact:workgroups:group:<id>" and
 * "compact:workgroups:code:<code, lowered>", both holding the packed group.
 */
#ifndef COMPACT_WORKGROUPS_GROUP_WRITE_H
#define COMPACT_WORKGROUPS_GROUP_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "entity_check.h"
#include "group_store.h"
#include "service.h"
#include "txn.h"

#define GROUP_WRITE_KEY_SIZE 160
/* The cache key of a group id, or of a code. Return what cache_key does. */
int group_write_id_key(char *buf, size_t size, const char *id);
int group_write_code_key(char *buf, size_t size, const char *code);

/* Add a key to `k` (once; see txn_keys_add). */
void group_write_keys_add_id(txn_keys *k, const char *id);
void group_write_keys_add_code(txn_keys *k, const char *code);

/* 0 if `etag` is empty or equals `current` (quotes optional); else fails
 * the call with ABORTED naming `what` ("group wg_...") and returns -1. */
int group_write_check_etag(rpc_call *call, const char *etag, const char *current,
                           const char *what);

/* Loads group `id` (named by request field `field`) for a change and checks
 * it: NOT_FOUND if there is no such group, FAILED_PRECONDITION if it is
 * closed (unless `allow_closed`), ABORTED if `etag` is stale. Returns 0 and
 * *g (caller frees with group_store_free) and *version; or -1 after failing
 * the call, with *g NULL. Used inside the write's transaction and, before
 * asking membership, outside it (so that those errors come without a peer
 * call). */
int group_write_load(rpc_call *call, store *st, const char *field, const char *id,
                     const char *etag, int allow_closed, WorkingGroup **g, int64_t *version);

/* Ends a write begun with txn_begin whose change returned `rc`
 * (see the top of this file). With `version` > 0 the group first moves from
 * `version` to the next (every change but a create). `keys` gets the code
 * key of the group as committed. Replies with the group, or with its work
 * plan item `reply_item_id` when that is not NULL. Always ends the call. */
void group_write_finish(rpc_call *call, service *svc, int rc, const char *group_id,
                        int64_t version, const char *event_type, txn_keys *keys,
                        const char *reply_item_id);

/* A write that runs once the entity ids have been checked. `req` is the
 * handler's request (valid until the call is answered). */
typedef void (*group_write_fn)(rpc_call *call, service *svc, const void *req);

/* Checks refs[0..n) against membership and then runs fn(call, svc, req)
 * exactly once if every id names an active entity; otherwise ends the call
 * with the check's status (INVALID_ARGUMENT, FAILED_PRECONDITION,
 * UNAVAILABLE, DEADLINE_EXCEEDED ...) and fn never runs. With n == 0, runs
 * fn at once. Either way the call is ended by the time it all finishes. */
void group_write_after_check(rpc_call *call, service *svc, const entity_check_ref *refs,
                             size_t n, group_write_fn fn, const void *req);

#endif

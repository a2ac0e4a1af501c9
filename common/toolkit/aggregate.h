/* aggregate.h: an aggregate's reads and writes, described once.
 *
 * An aggregate is what a service owns and changes as one unit: an entity, a
 * working group, a project. Every service reads and writes its aggregates
 * the same way, so that way lives here, and a service describes each
 * aggregate once, in a table (aggregate_def): its message type, its id
 * prefix, the keys it can be found by, how the store loads it, and two
 * optional hooks. The service's own code is then only its domain: what a
 * valid aggregate is, and what each change does to it.
 *
 * Reads
 * -----
 * aggregate_get_reply() is a Get handler's whole tail: by any key (id,
 * acronym, code, IATI identifier), through the Redis cache (cached_get.h),
 * answered with the cached bytes or NOT_FOUND. A value with no cache form
 * (aggregate_key.cache_id refuses it) is read from the store directly: a
 * key that failed to build is never used. aggregate_batch_get_reply()
 * answers a BatchGet from the store, in request order.
 *
 * Writes
 * ------
 * In a handler, after validating the request:
 *
 *     aggregate_write w;
 *     if (aggregate_begin(&w, call, svc, &entity_aggregate, "id", req->id, req->etag))
 *         return;                                  (the call has been answered)
 *     Entity *e = (Entity *)w.state;
 *     if (e->status == STATUS_WITHDRAWN) {
 *         aggregate_fail(&w, RPC_FAILED_PRECONDITION, "id: %s is already withdrawn", e->id);
 *         return;
 *     }
 *     e->status = STATUS_WITHDRAWN;
 *     aggregate_commit(&w, entity_store_update(st, e, w.version), "entity.withdrawn", NULL);
 *
 * aggregate_begin() first checks that the call is still wanted (a call
 * whose deadline passed or that its client cancelled, for instance while a
 * peer was asked, writes nothing), then begins the transaction (txn.h),
 * loads the aggregate with its row version, checks the etag, notes the cache
 * keys of the state as loaded and sets its update_time. The handler changes
 * w.state and the rows; aggregate_commit() ends it all: the `refresh` hook
 * (the state as stored, for the event and the reply), the event carrying the
 * new state and the cache keys of the old and the new state (a rename drops
 * both), the commit, and the reply once the commit is on disk (txn_finish),
 * then the `committed` hook. Every path answers the call exactly once and
 * frees w.state; nothing is half-written.
 *
 * A create is the same with aggregate_begin_new(), which takes the new
 * state, gives it a fresh id and its create and update times.
 *
 * Retries (AIP-155): a request with a field "request_id" that is not empty
 * is answered once. Its answer is kept with the change, in the same
 * transaction (store_requests.h); a repeat gets the first answer again,
 * without writing, and a different request under the same id is refused
 * with ALREADY_EXISTS. aggregate_begin and aggregate_begin_new do this
 * first; a handler that asks a peer before it writes calls
 * aggregate_replay() at its start, so a retry is answered without asking.
 *
 * Everything runs on the loop thread.
 */
#ifndef COMPACT_AGGREGATE_H
#define COMPACT_AGGREGATE_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#include "cached_get.h"
#include "fieldmask.h"
#include "rpc.h"
#include "service.h"
#include "store.h"
#include "txn.h"

#define AGGREGATE_KEYS_MAX 3
/* Sizes, packed. An aggregate may not grow past its def's max_bytes
 * (default AGGREGATE_MAX_BYTES): a change that would make it larger fails
 * with FAILED_PRECONDITION, so that every Get, List page, event and write
 * reply stays well under the 4 MiB message limit. A BatchGet answers at most
 * AGGREGATE_BATCH_MAX_BYTES (RESOURCE_EXHAUSTED beyond: ask for fewer, or
 * for the basic view). */
#define AGGREGATE_MAX_BYTES (1u << 20)
#define AGGREGATE_BATCH_MAX_BYTES (3u << 20)

/* Reads the aggregate whose key is `value` from the store `st` (a store *):
 * 0 and *out (the caller frees it with pbmsg_free), -ENOENT, or a negative
 * errno; `version` (not NULL only for the id, in a write) gets the row's
 * version. The cached_get_load_fn of cached_get.h. */
typedef cached_get_load_fn aggregate_load_fn;

/* One way to find an aggregate: by id, by acronym, ... */
typedef struct aggregate_key {
    const char *field;      /* the message's field holding it: "id", "acronym" */
    const char *label;      /* for messages: "id", "acronym", "IATI identifier" */
    const char *cache_kind; /* the cache key's kind: "entity", "acronym" */
    aggregate_load_fn load;
    /* Checks a request's `value` for this key, as validate.h's functions do
     * (fails the call, returns -1). NULL: for the id, validate_id with the
     * aggregate's prefix; for another key, a required string. */
    int (*check)(rpc_call *call, const char *field, const char *value);
    /* Writes the form of `value` used in cache keys (keys that compare
     * without case are lowered, say) and returns 0; negative when `value`
     * has none (the read then skips the cache). NULL: `value` as it is. */
    int (*cache_id)(const char *value, char *buf, size_t size);
} aggregate_key;

typedef struct aggregate_write aggregate_write;

typedef struct aggregate_def {
    const char *service; /* "membership": cache keys and events */
    const char *type;    /* "entity": the events' aggregate type */
    const char *noun;    /* "entity": for messages ("no entity with id ...") */
    const ProtobufCMessageDescriptor *descriptor;
    const char *id_prefix; /* IDS_ENTITY */
    /* keys[0] is the id, whose loader also serves writes (with a version);
     * rows after the last have field NULL. */
    aggregate_key keys[AGGREGATE_KEYS_MAX];
    /* Optional. Inside the transaction, after the handler's change: makes
     * w->state what the event and the reply carry (rows read back, the
     * version moved on, derived totals). Returns 0 or a negative errno. */
    int (*refresh)(aggregate_write *w);
    /* Optional. After the write's COMMIT, with the committed state (an
     * in-memory index, the feed of a watch): with batched commits at the end
     * of the loop turn (store_after_commit), and never for a write that a
     * failed COMMIT undid. */
    void (*committed)(service *svc, const ProtobufCMessage *state);
    size_t max_bytes; /* 0: AGGREGATE_MAX_BYTES */
} aggregate_def;

/* A write in progress. The handler reads and changes `state`, reads
 * `version`; the rest is the toolkit's. */
struct aggregate_write {
    rpc_call *call;
    service *svc;
    const aggregate_def *def;
    ProtobufCMessage *state; /* owned: freed when the write ends */
    int64_t version;         /* as loaded; 0 for a new aggregate */
    int64_t now_ms;          /* the time of the change */
    int refreshed;           /* def->refresh has run */
    txn_keys keys;           /* cache keys of the state as loaded */
};

/* ---- reads ---------------------------------------------------------------- */

/* A Get handler's whole body: `request` has a oneof whose members are named
 * like def's keys ("id", "acronym"); the one set is checked (the key's
 * `check`) and read as aggregate_get_reply does. None set: INVALID_ARGUMENT
 * "key: set id or acronym". */
void aggregate_get(rpc_call *call, service *svc, const aggregate_def *def,
                   const ProtobufCMessage *request);

/* Answers `call` with the aggregate whose key def->keys[key] is `value`
 * (validated by the handler), read through the cache; NOT_FOUND naming
 * `field` if there is none. `value` must stay valid until the call is
 * answered (pointing into the request is fine). */
void aggregate_get_reply(rpc_call *call, service *svc, const aggregate_def *def, size_t key,
                         const char *field, const char *value);

/* Answers a BatchGet of `ids[0..n)` (validated by the handler) with a
 * message of type `response`, whose one repeated field of def's type gets the
 * aggregates in request order and whose field "missing_ids" gets the ids of
 * none. Without `allow_missing`, a missing id fails the call with NOT_FOUND
 * naming "ids[i]". With `basic`, each aggregate comes without its repeated
 * fields and sub-messages (pbmsg_keep_basic). Reads the store. */
void aggregate_batch_get_reply(rpc_call *call, service *svc, const aggregate_def *def,
                               char *const *ids, size_t n, int allow_missing, int basic,
                               const ProtobufCMessageDescriptor *response);

/* Outside a write, for the checks a handler makes before asking a peer:
 * the aggregate `id` (request field `field`), NOT_FOUND if there is none,
 * ABORTED if `etag` is given and stale. Returns 0 and *out (the caller frees
 * it with pbmsg_free), or -1 after failing the call. */
int aggregate_peek(rpc_call *call, service *svc, const aggregate_def *def, const char *field,
                   const char *id, const char *etag, ProtobufCMessage **out);

/* 0 if `etag` is empty or the current etag of `state` (quotes optional);
 * else fails the call with ABORTED ("read it again") and returns -1. */
int aggregate_etag_check(rpc_call *call, const aggregate_def *def, const ProtobufCMessage *state,
                         const char *etag);

/* ---- building and changing ----------------------------------------------- */

/* A new message of `src`'s type holding copies of the fields of `src` named
 * in `mask` (bits of `fields`, fieldmask.h), and nothing else: the input
 * fields of a create request, without its output-only ones. NULL when memory
 * runs out. Free it with pbmsg_free, or hand it to aggregate_begin_new. */
ProtobufCMessage *aggregate_new(const ProtobufCMessage *src, const fieldmask_field *fields,
                                unsigned mask);

/* Copies the fields of `src` named in `mask` into `state` (same type),
 * replacing what `state` had: an update. Returns 0 or -ENOMEM (`state`
 * unchanged). Copies never carry unknown fields (pbmsg.h). */
int aggregate_apply(ProtobufCMessage *state, const ProtobufCMessage *src,
                    const fieldmask_field *fields, unsigned mask);

/* ---- writes --------------------------------------------------------------- */

/* Answers a repeated request (see the top of this file) and returns 1; or
 * returns 0 when the call must go on (no request id, or a new one). Also 1
 * after failing the call for a malformed request id (INVALID_ARGUMENT) or
 * one used for another request (ALREADY_EXISTS). */
int aggregate_replay(rpc_call *call, service *svc);
/* Begins a change of aggregate `id` (request field `field`; `etag` empty: no
 * check). Returns 0 with the transaction open and w->state loaded; end it
 * with aggregate_commit() or aggregate_fail(). Returns -1 when the call has
 * been answered (DEADLINE_EXCEEDED or CANCELLED when it is no longer wanted,
 * NOT_FOUND, ABORTED for a stale etag, UNAVAILABLE when the store is down)
 * and nothing is open. */
int aggregate_begin(aggregate_write *w, rpc_call *call, service *svc, const aggregate_def *def,
                    const char *field, const char *id, const char *etag);

/* Begins the creation of `state` (taken in every case; NULL, as from a
 * failed aggregate_new, fails the call): a fresh id, create and update
 * times now. Returns as aggregate_begin. */
int aggregate_begin_new(aggregate_write *w, rpc_call *call, service *svc, const aggregate_def *def,
                        ProtobufCMessage *state);

/* The etag check by itself, for a write that must first say something more
 * useful than "stale" (a retried withdraw learns that it happened): begin
 * with an empty etag, look, then check. Returns 0, or -1 after ending the
 * write with ABORTED. */
int aggregate_check_etag(aggregate_write *w, const char *etag);

/* Runs def->refresh now, if there is one and the change so far succeeded
 * (rc 0), so that the handler can pick its reply out of the final state.
 * Returns rc, or refresh's failure. aggregate_commit does not run it again. */
int aggregate_refresh(aggregate_write *w, int rc);

/* Ends the write whose change returned `rc` (0 or a negative errno): see the
 * top of this file. Replies with `reply` (the caller keeps it; it must stay
 * valid until this returns), or with the new state when NULL. */
void aggregate_commit(aggregate_write *w, int rc, const char *event_type,
                      const ProtobufCMessage *reply);

/* Ends the write without a change: fails the call with `code` and the
 * message, rolls back, frees the state. */
void aggregate_fail(aggregate_write *w, rpc_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Ends the write after the handler failed the call itself. */
void aggregate_abort(aggregate_write *w);

/* Ends the write without a change and answers its call with aggregate `id`
 * (request field `field`) as stored, read again: w->state has an update time
 * for a change that does not happen. For a retry that finds its change
 * already made. `id` may point into w->state. */
void aggregate_reply_stored(aggregate_write *w, const char *field, const char *id);

#endif

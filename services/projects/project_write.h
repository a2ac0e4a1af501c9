/* project_write.h: what every write of the projects service shares.
 *
 * A write handler reads as straight-line domain code because the steps
 * around the change live here:
 *
 *   1. project_write_check_peers(): the ids the change adds are asked of
 *      membership (entity_check.h) and workgroups (group_check.h), one batch
 *      call each, before anything is written; a failure there has already
 *      ended the call (UNAVAILABLE / DEADLINE_EXCEEDED fast when a peer is
 *      down, INVALID_ARGUMENT or FAILED_PRECONDITION for a bad id);
 *   2. txn_begin() and project_write_load(): BEGIN IMMEDIATE and
 *      the project as stored, with its version, and project_write_check_etag();
 *   3. the handler's change, then project_write_finish(): the outbox event
 *      (with the cache keys to invalidate), COMMIT, and only after the commit
 *      the reply, the cache DELs, the relay kick and the overlap index update.
 *
 * Every function that takes the call either succeeds (0) or has ended the
 * call with the right status and returns -1; on -1 inside a transaction the
 * caller rolls back (project_write_finish does that itself). Loop thread only.
 */
#ifndef COMPACT_PROJECTS_PROJECT_WRITE_H
#define COMPACT_PROJECTS_PROJECT_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "compact/projects/v1/projects.pb-c.h"
#include "entity_check.h"
#include "group_check.h"
#include "overlap.h"
#include "rpc.h"
#include "service.h"

typedef Compact__Projects__V1__Project Project;

#define PROJECT_WRITE_CACHE_KEY_SIZE 200
#define PROJECT_WRITE_REFS_MAX 128  /* ids one write may add */
#define PROJECT_WRITE_FIELD_SIZE 80

/* The service's own data (service_data()): the overlap index. */
typedef struct projects_state {
    overlap_index *index;
} projects_state;

/* ---- errors ------------------------------------------------------------- */

/* ---- peers -------------------------------------------------------------- */

/* The ids a change adds, with the request fields they came from. */
typedef struct project_write_refs {
    entity_check_ref entities[PROJECT_WRITE_REFS_MAX];
    group_check_ref groups[PROJECT_WRITE_REFS_MAX];
    char entity_fields[PROJECT_WRITE_REFS_MAX][PROJECT_WRITE_FIELD_SIZE];
    char group_fields[PROJECT_WRITE_REFS_MAX][PROJECT_WRITE_FIELD_SIZE];
    size_t n_entities, n_groups;
} project_write_refs;

/* The participants and groups of `next` that `prev` (NULL: none) does not
 * have, with fields "<prefix>.participants[i].entity_id" and
 * "<prefix>.working_group_ids[i]". The refs point into `next`. */
void project_write_new_refs(project_write_refs *refs, const char *prefix, const Project *next,
                            const Project *prev, unsigned mask);

/* Adds one entity id to check. */
void project_write_add_entity(project_write_refs *refs, const char *field, const char *id);

/* Runs once the peers agreed to every id (`ok` 1), or once the call was
 * ended because they did not or could not (`ok` 0). */
typedef void (*project_write_checked_fn)(void *arg, int ok);

/* Checks `refs` (entities first, then groups; nothing to check: `done` runs
 * at once, before this returns). `refs` must stay valid until `done` runs. */
void project_write_check_peers(service *svc, rpc_call *call, project_write_refs *refs,
                               project_write_checked_fn done, void *arg);

/* ---- the transaction ---------------------------------------------------- */

/* Loads project `id` (NOT_FOUND naming `field` if there is none). */
int project_write_load(rpc_call *call, store *st, const char *field, const char *id,
                       Project **p, int64_t *version);

/* An empty etag skips the check; quotes are optional. Stale: ABORTED. */
int project_write_check_etag(rpc_call *call, const char *etag, const Project *p);

/* The cache keys of project `p`: by id and by IATI identifier. */
typedef struct project_write_keys {
    char buf[2][PROJECT_WRITE_CACHE_KEY_SIZE];
    const char *v[2];
    size_t n;
} project_write_keys;

void project_write_keys_of(project_write_keys *k, const Project *p);

/* Ends a write whose change returned `rc` (0 or a negative errno): appends
 * the event `event_type` with `p` as the new state, commits, and only then
 * replies with `reply` (p itself when NULL), invalidates the cache, wakes
 * the relay and puts `p` into the overlap index. On any failure rolls back
 * and fails the call. Returns 0 when committed. */
int project_write_finish(rpc_call *call, service *svc, int rc, Project *p,
                         const char *event_type, const ProtobufCMessage *reply);

#endif

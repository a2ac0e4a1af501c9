/* entity_store.h: the membership service's tables and queries.
 *
 * An entity is one row of `entities` plus its focal points, rows of
 * `focal_points` (see the migration in entity_store.c for why a child table).
 * Every function runs on the loop thread against the service's store; writes
 * must happen inside the caller's store_begin()/store_commit(), together with
 * the outbox event, so that a change and its event are saved as one.
 *
 * Entities come back as protobuf messages whose every string, timestamp and
 * focal point is malloc'd (or the protobuf-c empty string), so the caller
 * frees them with entity_store_free() and may replace a string with
 * pbstr_set(). The row's version is not in the message: the
 * etag is derived from (id, version), and write functions take the version
 * the caller read so that a write never overwrites a change it did not see.
 *
 * Errors are 0 or a negative errno: -ENOENT for no such entity, -EEXIST for
 * an acronym already taken, -ESTALE when the row changed since it was read,
 * -ENOMEM, or what store_result() made of a SQLite failure (-EIO, -EBUSY, ...).
 */
#ifndef COMPACT_MEMBERSHIP_ENTITY_STORE_H
#define COMPACT_MEMBERSHIP_ENTITY_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "compact/membership/v1/membership.pb-c.h"
#include "ids.h"
#include "store.h"

typedef Compact__Membership__V1__Entity Entity;
typedef Compact__Membership__V1__FocalPoint FocalPoint;

#define ENTITY_ACRONYM_MAX 32 /* characters (all ASCII) */

/* The service's migrations, for service_def. */
extern const store_migration entity_store_migrations[];
extern const size_t entity_store_migrations_count;

/* The acronym as the uniqueness and sort key: ASCII letters lowered. Writes
 * at most size-1 bytes and a NUL. */
void entity_store_acronym_key(const char *acronym, char *buf, size_t size);

/* Reads entity `id`. Returns 0 and sets *out (caller frees with
 * entity_store_free) and, if `version` is not NULL, *version; or -ENOENT or
 * a negative errno with *out NULL. */
int entity_store_get(store *st, const char *id, Entity **out, int64_t *version);

/* As entity_store_get, by acronym, case-insensitively. */
int entity_store_get_by_acronym(store *st, const char *acronym, Entity **out);

/* The entity whose acronym equals `acronym` case-insensitively: its id into
 * `id` (IDS_SIZE bytes) and its acronym as stored into `stored`
 * (ENTITY_ACRONYM_MAX + 1 bytes). Returns 0, -ENOENT or a negative errno. */
int entity_store_acronym_owner(store *st, const char *acronym, char *id, char *stored);

/* Up to `limit` entities whose acronym key is greater than `after_key` (""
 * for the first page), in acronym-key order, of `kind` and `status` (0: any).
 * Returns 0 and sets *out (an array of *n entities; caller frees with
 * entity_store_free_list) or a negative errno with *out NULL, *n 0. */
int entity_store_list(store *st, int kind, int status, const char *after_key, size_t limit,
                      Entity ***out, size_t *n);

/* Inserts `e` as version 1 (e->id, acronym, times and status set by the
 * caller) and sets e->etag. -EEXIST if the id or acronym is taken. Inside a
 * transaction; on error the caller rolls back. */
int entity_store_insert(store *st, Entity *e);

/* Writes every column of `e` and its focal points as version `version` + 1,
 * only if the row is still at `version` (else -ESTALE; -ENOENT if gone), and
 * sets e->etag. -EEXIST if the new acronym is taken. Inside a transaction. */
int entity_store_update(store *st, Entity *e, int64_t version);

/* Frees an entity from this module (or from protobuf-c unpack). NULL ok. */
void entity_store_free(Entity *e);
void entity_store_free_list(Entity **v, size_t n);

#endif

/* entity_store.h: the membership service's tables and queries.
 *
 * An entity is one row of `entities` plus its focal points, rows of
 * `focal_points` (see the migration in entity_store.c for why a child table),
 * its participation periods, rows of `participation`, and the provenance of
 * its facts and of its periods' facts, rows of `provenance`
 * (provenance_store.h; scope "" and "participation/<i>"). The columns
 * `kind` and `joined_on` are derived by the handlers from the affiliation
 * and the periods, for older readers.
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
typedef Compact__Membership__V1__Participation Participation;

/* The provenance scope of period i of an entity: "participation/<i>". */
#define ENTITY_STORE_PERIOD_SCOPE "participation/"

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

/* The entity one of whose periods an admission with `decision_ref` began:
 * its id into `id` (IDS_SIZE bytes). Returns 0, -ENOENT or a negative
 * errno. */
int entity_store_admitted_by(store *st, const char *decision_ref, char *id);

/* As entity_store_get, by acronym, case-insensitively. */
int entity_store_get_by_acronym(store *st, const char *acronym, Entity **out);

/* The entity whose acronym equals `acronym` case-insensitively: its id into
 * `id` (IDS_SIZE bytes) and its acronym as stored into `stored`
 * (ENTITY_ACRONYM_MAX + 1 bytes). Returns 0, -ENOENT or a negative errno. */
int entity_store_acronym_owner(store *st, const char *acronym, char *id, char *stored);

/* The filters of ListEntities; 0 and NULL or "" mean "any". With `day`
 * (YYYY-MM-DD), only entities with a participation period holding that day,
 * in `role` if set (role needs a day). */
typedef struct entity_store_filter {
    int kind;
    int status;
    int affiliation;
    const char *day;
    int role;
} entity_store_filter;

/* Up to `limit` entities whose acronym key is greater than `after_key` (""
 * for the first page), in acronym-key order, matching `f`. Returns 0 and
 * sets *out (an array of *n entities; caller frees with
 * entity_store_free_list) or a negative errno with *out NULL, *n 0. */
int entity_store_list(store *st, const entity_store_filter *f, const char *after_key, size_t limit,
                      Entity ***out, size_t *n);

/* What CountEntities answers for one day. */
typedef struct entity_store_counts {
    int64_t total, members, observers, un_system, non_un, confirmed;
} entity_store_counts;

/* Counts the entities whose participation period holds `day` (YYYY-MM-DD)
 * by role, affiliation and whether the period is confirmed. Periods of one
 * entity never overlap, so each entity counts once. 0 or a negative errno
 * (*out zeroed). */
int entity_store_count(store *st, const char *day, entity_store_counts *out);

/* 1 when period `p` rests on confirmed facts only: its role, from_date and
 * (when set) to_date are CONFIRMED in its provenance; else 0. */
int entity_store_period_confirmed(const Participation *p);

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

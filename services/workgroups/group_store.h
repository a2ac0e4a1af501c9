/* group_store.h: the workgroups service's tables and queries, part one:
 * groups, their pillars, leadership and members, and the shared helpers.
 * Terms of reference and work plan items are in plan_store.h.
 *
 * A working group is one aggregate spread over child tables (see the schema
 * in group_store.c): `groups` holds the row and its version; pillars,
 * vice-chairs, members, terms of reference and work plan items hang off it.
 * Reading a group reads them all, so a group comes back whole: leadership
 * and its history, members, the current terms of reference, the work plan
 * and its approved versions.
 *
 * Every function runs on the loop thread against the service's store. Writes
 * happen inside the caller's store_begin()/store_commit(), with the outbox
 * event, and end with group_store_touch(), which moves the group to its next
 * version (and so changes its etag) whatever part of it changed.
 *
 * Messages returned are malloc'd throughout (strings, timestamps, children),
 * so the caller frees them with group_store_free() and may replace a string
 * with pbstr_set().
 *
 * Errors are 0 or a negative errno: -ENOENT no such group (or member),
 * -EEXIST a code or member already there, -ESTALE the row changed since it
 * was read, -ENOMEM, or what store_result() made of a SQLite failure.
 */
#ifndef COMPACT_WORKGROUPS_GROUP_STORE_H
#define COMPACT_WORKGROUPS_GROUP_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "compact/workgroups/v1/workgroups.pb-c.h"
#include "ids.h"
#include "store.h"

typedef Compact__Workgroups__V1__WorkingGroup WorkingGroup;
typedef Compact__Workgroups__V1__Leadership Leadership;
typedef Compact__Workgroups__V1__Member Member;
typedef Compact__Workgroups__V1__TermsOfReference TermsOfReference;
typedef Compact__Workgroups__V1__WorkPlanItem WorkPlanItem;
typedef Compact__Workgroups__V1__ApprovedWorkPlan ApprovedWorkPlan;
typedef Compact__Workgroups__V1__LeadershipTerm LeadershipTerm;

#define GROUP_CODE_MAX 16 /* characters (all ASCII) */

/* The service's migrations, for service_def. */
extern const store_migration group_store_migrations[];
extern const size_t group_store_migrations_count;

/* What ListWorkingGroups filters on; 0 or "" means any. */
typedef struct group_store_filter {
    int pillar;
    int status;
    const char *entity_id; /* chair, vice-chair or member */
} group_store_filter;

/* ---- helpers shared with plan_store.c --------------------------------- */

/* The code as the uniqueness and sort key: ASCII letters lowered. */
void group_store_code_key(const char *code, char *buf, size_t size);

/* ---- reading ------------------------------------------------------------ */

/* Reads group `id` whole. Returns 0 and sets *out (caller frees with
 * group_store_free) and, if `version` is not NULL, *version; or -ENOENT or a
 * negative errno with *out NULL. */
int group_store_get(store *st, const char *id, WorkingGroup **out, int64_t *version);

/* As group_store_get, by code, case-insensitively. */
int group_store_get_by_code(store *st, const char *code, WorkingGroup **out);

/* The group whose code equals `code` case-insensitively: its id into `id`
 * (IDS_SIZE bytes) and its code as stored into `stored`
 * (GROUP_CODE_MAX + 1 bytes). Returns 0, -ENOENT or a negative errno. */
int group_store_code_owner(store *st, const char *code, char *id, char *stored);

/* Up to `limit` groups matching `f` whose code key is greater than
 * `after_key` ("" for the first page), in code-key order. Returns 0 and sets
 * *out (an array of *n groups; caller frees with group_store_free_list) or a
 * negative errno with *out NULL, *n 0. */
int group_store_list(store *st, const group_store_filter *f, const char *after_key, size_t limit,
                     WorkingGroup ***out, size_t *n);

/* ---- writing (inside a transaction) ------------------------------------ */

/* Inserts the row, pillars and provenance of `g` (id, code, title, mandate,
 * pillars, status, verified, source_note, established_by, provenance, times)
 * as version 1. -EEXIST if the id, the code or established_by is taken. */
int group_store_insert(store *st, const WorkingGroup *g);

/* Writes the group's own columns, pillars and provenance from `g` (not its
 * version). */
int group_store_update_fields(store *st, const WorkingGroup *g);

/* Moves group `id` from `version` to version + 1 with update time `now_ms`:
 * -ESTALE if it is no longer at `version`, -ENOENT if gone. */
int group_store_touch(store *st, const char *id, int64_t version, int64_t now_ms);

/* Replaces the chair and vice-chairs of group `id`. With `from_date`
 * (YYYY-MM-DD, not before the current term's start: the caller checks) the
 * history moves on too: the current term ends on `from_date` and a new one
 * starts there, or, when the current term started that same day, the current
 * term gets `l` instead (a term of no days is no term). NULL: the current
 * term stays as it is (the leadership it already has, named again). */
int group_store_set_leadership(store *st, const char *id, const Leadership *l,
                               const char *from_date);

/* The group that decision effect `decision_ref` established: its id into
 * `id` (IDS_SIZE bytes). Returns 0, -ENOENT or a negative errno. */
int group_store_established_by(store *st, const char *decision_ref, char *id);

/* Adds entity `entity_id` as `role`: -EEXIST if it is already a member. */
int group_store_add_member(store *st, const char *id, const char *entity_id, int role,
                           int64_t now_ms);

/* Removes a member: -ENOENT if it is not one. */
int group_store_remove_member(store *st, const char *id, const char *entity_id);

/* Frees what this module returned (or protobuf-c unpacked). NULL ok. */
void group_store_free(WorkingGroup *g);
void group_store_free_list(WorkingGroup **v, size_t n);

#endif

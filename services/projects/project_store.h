/* project_store.h: the projects service's tables and queries.
 *
 * A project is one row of `projects` holding its body (the packed Project
 * without transactions and derived fields) plus rows that exist for queries:
 * its working groups, participating entities, recipient countries and
 * pillars (the filters of ListProjects), and its transactions, one row each
 * (see the migration in project_store.c for why this split).
 *
 * Every function runs on the loop thread against the service's store; writes
 * happen inside the caller's store_begin()/store_commit(), together with the
 * outbox event, so that a change and its event are saved as one.
 *
 * Projects come back as unpacked protobuf messages (all memory malloc'd), with
 * transactions loaded and the derived fields (totals, indicator states, etag)
 * filled; the caller frees them with project_store_free(). The row's version
 * is not in the message: the etag is derived from (id, version), and write
 * functions take the version the caller read, so that a write never
 * overwrites a change it did not see.
 *
 * Errors are 0 or a negative errno: -ENOENT for no such project, -EEXIST for
 * an IATI identifier already taken, -ESTALE when the row changed since it was
 * read, -EBADMSG for a body that does not unpack, -ENOMEM, or what
 * store_result() made of a SQLite failure (-EIO, -EBUSY, ...).
 */
#ifndef COMPACT_PROJECTS_PROJECT_STORE_H
#define COMPACT_PROJECTS_PROJECT_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "compact/projects/v1/projects.pb-c.h"
#include "ids.h"
#include "msgcache.h"
#include "page.h"
#include "store.h"

typedef Compact__Projects__V1__Project Project;
typedef Compact__Projects__V1__Transaction Transaction;

#define PROJECT_IATI_MAX 150 /* characters, all ASCII */

/* The service's migrations, for service_def. */
extern const store_migration project_store_migrations[];
extern const size_t project_store_migrations_count;

/* The IATI identifier as the uniqueness and sort key: ASCII letters lowered.
 * Writes at most size-1 bytes and a NUL. */
void project_store_iati_key(const char *iati, char *buf, size_t size);

/* Reads project `id`. Returns 0 and sets *out (caller frees with
 * project_store_free) and, if `version` is not NULL, *version; or -ENOENT or
 * a negative errno with *out NULL. */
int project_store_get(store *st, const char *id, Project **out, int64_t *version);

/* As project_store_get, by IATI identifier, case-insensitively. */
int project_store_get_by_iati(store *st, const char *iati, Project **out);

/* The id of the project whose IATI identifier equals `iati`
 * case-insensitively, into `id` (IDS_SIZE bytes). 0, -ENOENT or a
 * negative errno. */
int project_store_iati_owner(store *st, const char *iati, char *id);

/* The filters of ListProjects; empty strings and 0 mean "any". `text` is
 * matched case-insensitively (ASCII) in the title, summary and themes. */
typedef struct project_store_filter {
    const char *working_group_id;
    const char *entity_id;
    const char *country;
    int pillar;
    int status;
    const char *text;
} project_store_filter;

/* Up to `limit` projects whose IATI key is greater than `after_key` (""
 * for the first page), in IATI-key order, matching `f` (read along an
 * index: see "listing" in project_store.c), packed, each with its IATI key,
 * into `out` (emptied first). A project whose version `cache` holds is not
 * built again; one built is kept there unless the store has writes not yet
 * committed (`cache` may be NULL). Returns 0, or a negative errno with `out`
 * empty. */
int project_store_list(store *st, msgcache *cache, const project_store_filter *f,
                       const char *after_key, size_t limit, page_rows *out);

/* Calls `fn` with every project, in no particular order, until it returns
 * non-zero (which is then returned). The project is valid only during the
 * call. Returns 0, fn's value, or a negative errno. */
int project_store_each(store *st, int (*fn)(void *arg, const Project *p), void *arg);

/* Inserts `p` as version 1 (id, times and the other output-only fields set
 * by the caller; transactions are not written) and sets p->etag. -EEXIST if
 * the id or IATI identifier is taken. Inside a transaction. */
int project_store_insert(store *st, Project *p);

/* Writes the body and query rows of `p` as version `version` + 1, only if the
 * row is still at `version` (else -ESTALE; -ENOENT if gone), and sets
 * p->etag. Transactions are not written here. Inside a transaction. */
int project_store_update(store *st, Project *p, int64_t version);

/* As project_store_update, for a change that leaves every filtered field
 * (title, summary, themes, status, dates, groups, participants, countries,
 * pillars) as it was: only the body and the version are written. */
int project_store_update_body(store *st, Project *p, int64_t version);

/* Inserts transaction `t` (its id and record_time set by the caller) of
 * project `project_id`. Inside a transaction, with project_store_update of
 * the same project so that the version moves. */
int project_store_add_transaction(store *st, const char *project_id, const Transaction *t);

/* Frees a project from this module (or from protobuf-c unpack). NULL ok. */
void project_store_free(Project *p);
void project_store_free_list(Project **v, size_t n);

#endif

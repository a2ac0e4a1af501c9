/* provenance_store.h: the per-fact provenance of a service's records, as
 * rows of its store.
 *
 * Every service that keeps provenance (compact/common/v1/provenance.proto)
 * has the same table, `provenance`, created by one of its migrations with
 * PROVENANCE_STORE_SCHEMA: one row per fact, keyed by the record that owns
 * it (owner_id, the aggregate's id), a scope inside that record ("" for the
 * record itself, "participation/0" for a sub-record, a transaction's id ...:
 * the service chooses) and the fact's position in its list. Rows rather than
 * a packed column, like the services' other child tables: "which facts
 * does UNOCT rest on an assumption for?" is one query with the sqlite3 shell.
 *
 * Loop thread only; writes inside the caller's transaction. Errors are 0 or
 * a negative errno: -ENOMEM, -EIO, or what store_result() made of a failure.
 */
#ifndef COMPACT_PROVENANCE_STORE_H
#define COMPACT_PROVENANCE_STORE_H

#include <stddef.h>

#include "compact/common/v1/provenance.pb-c.h"
#include "store.h"

/* The table, for a service's migration. */
#define PROVENANCE_STORE_SCHEMA                                                                    \
    "CREATE TABLE provenance ("                                                                    \
    "  owner_id    TEXT NOT NULL,"                                                                 \
    "  scope       TEXT NOT NULL,"                                                                 \
    "  position    INTEGER NOT NULL,"                                                              \
    "  field       TEXT NOT NULL,"                                                                 \
    "  status      INTEGER NOT NULL CHECK (status IN (1, 2)),"                                     \
    "  publisher   TEXT NOT NULL DEFAULT '',"                                                      \
    "  title       TEXT NOT NULL DEFAULT '',"                                                      \
    "  source_date TEXT NOT NULL DEFAULT '',"                                                      \
    "  url         TEXT NOT NULL DEFAULT '',"                                                      \
    "  note        TEXT NOT NULL DEFAULT '',"                                                      \
    "  PRIMARY KEY (owner_id, scope, position)"                                                    \
    ") STRICT, WITHOUT ROWID;"                                                                     \
    "CREATE INDEX provenance_by_status ON provenance (status, field);"

/* Called by provenance_store_each for each row, in (scope, position) order,
 * with a fact it now owns (free with protobuf_c_message_free_unpacked).
 * Returns 0 to go on, or a negative errno that stops the walk (the fact is
 * then freed by the caller of fn, not by the walk). */
typedef int (*provenance_store_fn)(void *arg, const char *scope,
                                   Compact__Common__V1__Provenance *p);

/* Reads every fact of `owner_id`, all scopes, with one query. Returns 0,
 * fn's error, or a negative errno. */
int provenance_store_each(store *st, const char *owner_id, provenance_store_fn fn, void *arg);

/* Appends `p` to a repeated Provenance field (*v, *n). 0 or -ENOMEM (p is
 * then not taken). */
int provenance_store_append(Compact__Common__V1__Provenance ***v, size_t *n,
                            Compact__Common__V1__Provenance *p);

/* Replaces the facts of (owner_id, scope) with items[0..n). Inside a
 * transaction. */
int provenance_store_write(store *st, const char *owner_id, const char *scope,
                           Compact__Common__V1__Provenance *const *items, size_t n);

/* Deletes the facts of (owner_id, scope); scope NULL: of every scope. */
int provenance_store_delete(store *st, const char *owner_id, const char *scope);

#endif

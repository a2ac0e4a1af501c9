/* docstore.h: aggregates kept whole, one packed message per row.
 *
 * Some aggregates are always read and written whole and looked up by a few
 * fields only (a meeting, a decision). For them a table of packed messages
 * is the whole store:
 *
 *     CREATE TABLE meetings (
 *         id TEXT PRIMARY KEY, version INTEGER NOT NULL, state BLOB NOT NULL,
 *         date TEXT NOT NULL, status INTEGER NOT NULL) STRICT;
 *
 * id, version and state are docstore's; the columns after them are the
 * table's own, copies of fields of the state that queries filter and sort
 * by, filled from the state on every write by the table's `bind` function,
 * so they can never disagree with it. docstore keeps the row version (a
 * write moves it on by one and checks the version it read, as the other
 * stores do) and the state's etag (etag.h). Loop thread only; errors are
 * negative errno values as in store.h.
 */
#ifndef COMPACT_DOCSTORE_H
#define COMPACT_DOCSTORE_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

typedef struct docstore_table {
    const char *name; /* "meetings" */
    const ProtobufCMessageDescriptor *descriptor;
    /* The table's own columns, "date, status", and how many; NULL and 0
     * for none. */
    const char *columns;
    int n_columns;
    /* Binds the own columns of `state` to parameters first, first + 1, ... */
    void (*bind)(sqlite3_stmt *s, int first, const ProtobufCMessage *state);
} docstore_table;

/* Adds `state` (its "id" set) at version 1, setting its etag. 0, -EEXIST
 * for an id taken, or a negative errno. */
int docstore_insert(store *st, const docstore_table *t, ProtobufCMessage *state);

/* Replaces the row of `state` read at `version` with `state` at version + 1,
 * setting its etag. 0, -ESTALE when the row is no longer at `version` (or
 * gone), or a negative errno. */
int docstore_update(store *st, const docstore_table *t, ProtobufCMessage *state, int64_t version);

/* The aggregate `id`: 0 with *out (free with pbmsg_free) and, when not NULL,
 * *version; -ENOENT; or a negative errno (-EIO for a row that does not
 * decode). */
int docstore_load(store *st, const docstore_table *t, const char *id, ProtobufCMessage **out,
                  int64_t *version);

/* Steps `s`, a bound query whose first column is `state`, and unpacks up to
 * `limit` rows into a malloc'd array: 0 with *out and *n (free each with
 * pbmsg_free, then the array), or a negative errno (nothing to free). `s`
 * is reset. */
int docstore_rows(store *st, const docstore_table *t, sqlite3_stmt *s, size_t limit,
                  ProtobufCMessage ***out, size_t *n);

/* Frees rows from docstore_rows. */
void docstore_rows_free(ProtobufCMessage **v, size_t n);

#endif

/* sqlrow.h: small helpers for a service's own queries on its store.
 *
 * What every *_store.c repeats around sqlite3_step(): copying a text column
 * into a message's string field, stepping a write and telling a uniqueness
 * violation from a failure, asking whether a row exists. All run on the loop
 * thread, like the store itself.
 */
#ifndef COMPACT_SQLROW_H
#define COMPACT_SQLROW_H

#include <sqlite3.h>

#include "store.h"

/* Copies text column `col` of the current row of `s` into *field with
 * pbstr_set() (NULL is ""). Returns 0 or -ENOMEM (*field unchanged). */
int sqlrow_text(sqlite3_stmt *s, int col, char **field);

/* Steps the bound write statement `s` once and resets it. Returns 0 when
 * done, -EEXIST for a UNIQUE or PRIMARY KEY violation, else what
 * store_result() makes of the failure. */
int sqlrow_step_write(store *st, sqlite3_stmt *s);

/* Runs the statement `sql`, which takes one text parameter ?1 (`key`) and
 * selects at most one row. Returns 1 if it gave a row, 0 if not, -EIO if
 * it does not compile, or what store_result() makes of a failure. */
int sqlrow_exists(store *st, const char *sql, const char *key);

/* Runs the statement `sql`, which takes one text parameter ?1 (`key`), and
 * copies text column 0 of its first row into out[size] (cut to fit; NULL
 * reads as ""). Returns 0, -ENOENT with no row, -EIO if it does not compile,
 * or what store_result() makes of a failure. */
int sqlrow_lookup(store *st, const char *sql, const char *key, char *out, size_t size);

#endif

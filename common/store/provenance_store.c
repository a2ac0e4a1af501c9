/* provenance_store.c: the per-fact provenance of a service's records, as
 * rows (see provenance_store.h). */
#include "provenance_store.h"

#include <errno.h>
#include <stdlib.h>

#include "sqlrow.h"

typedef Compact__Common__V1__Provenance Provenance;
typedef Compact__Common__V1__Source Source;

static const char SQL_EACH[] =
    "SELECT scope, field, status, publisher, title, source_date, url, note FROM provenance"
    " WHERE owner_id = ?1 ORDER BY scope, position";
static const char SQL_DELETE_SCOPE[] = "DELETE FROM provenance WHERE owner_id = ?1 AND scope = ?2";
static const char SQL_DELETE_OWNER[] = "DELETE FROM provenance WHERE owner_id = ?1";
static const char SQL_INSERT[] =
    "INSERT INTO provenance (owner_id, scope, position, field, status, publisher, title,"
    " source_date, url, note) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";

int provenance_store_append(Provenance ***v, size_t *n, Provenance *p)
{
    Provenance **grown = realloc(*v, (*n + 1) * sizeof *grown);

    if (grown == NULL)
        return -ENOMEM;
    *v = grown;
    grown[(*n)++] = p;
    return 0;
}

/* A fact from the current row of SQL_EACH; NULL on ENOMEM. The source is
 * left out when the row has none of its parts. */
static Provenance *row_to_provenance(sqlite3_stmt *s)
{
    Provenance *p = malloc(sizeof *p);
    Source *src = NULL;
    int has_source = 0;

    if (p == NULL)
        return NULL;
    compact__common__v1__provenance__init(p);
    p->status = sqlite3_column_int(s, 2);
    for (int col = 3; col <= 6; col++)
        has_source |= sqlite3_column_bytes(s, col) > 0;
    if (has_source) {
        if ((src = malloc(sizeof *src)) == NULL) {
            free(p);
            return NULL;
        }
        compact__common__v1__source__init(src);
        p->source = src;
    }
    if (sqlrow_text(s, 1, &p->field) || sqlrow_text(s, 7, &p->note) ||
        (src && (sqlrow_text(s, 3, &src->publisher) || sqlrow_text(s, 4, &src->title) ||
                 sqlrow_text(s, 5, &src->date) || sqlrow_text(s, 6, &src->url)))) {
        protobuf_c_message_free_unpacked(&p->base, NULL);
        return NULL;
    }
    return p;
}

int provenance_store_each(store *st, const char *owner_id, provenance_store_fn fn, void *arg)
{
    sqlite3_stmt *s = store_stmt(st, SQL_EACH);
    int rc;

    if (s == NULL)
        return -EIO;
    sqlite3_bind_text(s, 1, owner_id, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        Provenance *p = row_to_provenance(s);
        const char *scope = (const char *)sqlite3_column_text(s, 0);
        int err;
        if (p == NULL) {
            sqlite3_reset(s);
            return -ENOMEM;
        }
        if ((err = fn(arg, scope ? scope : "", p)) != 0) {
            protobuf_c_message_free_unpacked(&p->base, NULL);
            sqlite3_reset(s);
            return err;
        }
    }
    sqlite3_reset(s);
    return store_result(st, rc);
}

int provenance_store_delete(store *st, const char *owner_id, const char *scope)
{
    sqlite3_stmt *s = store_stmt(st, scope ? SQL_DELETE_SCOPE : SQL_DELETE_OWNER);

    if (s == NULL)
        return -EIO;
    sqlite3_bind_text(s, 1, owner_id, -1, SQLITE_STATIC);
    if (scope)
        sqlite3_bind_text(s, 2, scope, -1, SQLITE_STATIC);
    return sqlrow_step_write(st, s);
}

int provenance_store_write(store *st, const char *owner_id, const char *scope,
                           Provenance *const *items, size_t n)
{
    int rc = provenance_store_delete(st, owner_id, scope);

    for (size_t i = 0; rc == 0 && i < n; i++) {
        const Provenance *p = items[i];
        const Source *src = p->source;
        sqlite3_stmt *s = store_stmt(st, SQL_INSERT);
        if (s == NULL)
            return -EIO;
        sqlite3_bind_text(s, 1, owner_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, scope, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 3, (sqlite3_int64)i);
        sqlite3_bind_text(s, 4, p->field, -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 5, (int)p->status);
        sqlite3_bind_text(s, 6, src ? src->publisher : "", -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 7, src ? src->title : "", -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 8, src ? src->date : "", -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 9, src ? src->url : "", -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 10, p->note, -1, SQLITE_STATIC);
        rc = sqlrow_step_write(st, s);
    }
    return rc;
}

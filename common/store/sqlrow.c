/* sqlrow.c: small helpers for a service's own queries (see sqlrow.h). */
#include "sqlrow.h"

#include <errno.h>

#include "pbstr.h"

int sqlrow_text(sqlite3_stmt *s, int col, char **field)
{
    const unsigned char *text = sqlite3_column_text(s, col);

    return pbstr_set(field, text ? (const char *)text : "");
}

int sqlrow_step_write(store *st, sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);
    int ext = sqlite3_extended_errcode(store_db(st));

    sqlite3_reset(s);
    if (rc == SQLITE_DONE)
        return 0;
    if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY)
        return -EEXIST;
    return store_result(st, rc);
}

int sqlrow_exists(store *st, const char *sql, const char *key)
{
    sqlite3_stmt *s = store_stmt(st, sql);
    int rc;

    if (s == NULL)
        return -EIO;
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc == SQLITE_ROW)
        return 1;
    return rc == SQLITE_DONE ? 0 : store_result(st, rc);
}

int sqlrow_lookup(store *st, const char *sql, const char *key, char *out, size_t size)
{
    sqlite3_stmt *s = store_stmt(st, sql);
    int rc;

    if (s == NULL)
        return -EIO;
    sqlite3_bind_text(s, 1, key, -1, SQLITE_TRANSIENT);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        const unsigned char *text = sqlite3_column_text(s, 0);
        snprintf(out, size, "%s", text ? (const char *)text : "");
    }
    rc = rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : store_result(st, rc);
    sqlite3_reset(s);
    return rc;
}

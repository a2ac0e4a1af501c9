/* analytics_store.c: analytics' tables (see analytics_store.h).
 *
 * Snapshots keep the packed state an event carried, not the facts drawn
 * from it: the facts are a cache of the state that a new version of this
 * program may draw differently, and a rebuild compares states byte for
 * byte to count what the events missed. Alerts and rates are packed
 * messages too; nothing outside analytics reads these tables.
 */
#include "analytics_store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqlrow.h"

static const char schema_v1[] = "CREATE TABLE snapshots ("
                                "  type  TEXT NOT NULL,"
                                "  id    TEXT NOT NULL,"
                                "  seq   INTEGER NOT NULL,"
                                "  state BLOB NOT NULL,"
                                "  PRIMARY KEY (type, id)"
                                ") STRICT, WITHOUT ROWID;"
                                "CREATE TABLE positions ("
                                "  stream   TEXT PRIMARY KEY,"
                                "  entry_id TEXT NOT NULL"
                                ") STRICT;"
                                "CREATE TABLE activity ("
                                "  month TEXT NOT NULL,"
                                "  kind  TEXT NOT NULL,"
                                "  n     INTEGER NOT NULL,"
                                "  PRIMARY KEY (month, kind)"
                                ") STRICT, WITHOUT ROWID;"
                                /* A pair of projects once, the smaller id first. */
                                "CREATE TABLE alerts ("
                                "  project_a TEXT NOT NULL,"
                                "  project_b TEXT NOT NULL,"
                                "  score     REAL NOT NULL,"
                                "  alert     BLOB NOT NULL,"
                                "  PRIMARY KEY (project_a, project_b)"
                                ") STRICT, WITHOUT ROWID;"
                                "CREATE INDEX alerts_b ON alerts (project_b);"
                                "CREATE TABLE rates ("
                                "  currency   TEXT NOT NULL,"
                                "  valid_from TEXT NOT NULL,"
                                "  rate       BLOB NOT NULL,"
                                "  PRIMARY KEY (currency, valid_from)"
                                ") STRICT, WITHOUT ROWID;"
                                "CREATE TABLE meta ("
                                "  key   TEXT PRIMARY KEY,"
                                "  value INTEGER NOT NULL"
                                ") STRICT;";

const store_migration analytics_store_migrations[] = {
    {.version = 1, .sql = schema_v1},
    /* Changes per actor (actors.c). */
    {.version = 2,
     .sql = "CREATE TABLE actor_changes ("
            "  subject TEXT NOT NULL,"
            "  role    TEXT NOT NULL,"
            "  n       INTEGER NOT NULL,"
            "  last_ms INTEGER NOT NULL,"
            "  PRIMARY KEY (subject, role)"
            ") STRICT, WITHOUT ROWID;"},
    /* Snapshots in a rowid table. A project's state is kilobytes (6 KB at
     * 50 transactions), and a WITHOUT ROWID table keeps its rows in a b-tree
     * made for small ones (sqlite.org/withoutrowid.html, section 4): an
     * upsert of such a state cost 1.75x the CPU there (bench/RESULTS.md,
     * "Snapshots"). Rebuilt, as SQLite changes a table's kind no other way. */
    {.version = 3,
     .sql = "CREATE TABLE snapshots_v3 ("
            "  type  TEXT NOT NULL,"
            "  id    TEXT NOT NULL,"
            "  seq   INTEGER NOT NULL,"
            "  state BLOB NOT NULL,"
            "  UNIQUE (type, id)"
            ") STRICT;"
            "INSERT INTO snapshots_v3 (type, id, seq, state)"
            "  SELECT type, id, seq, state FROM snapshots ORDER BY type, id;"
            "DROP TABLE snapshots;"
            "ALTER TABLE snapshots_v3 RENAME TO snapshots;"},
};
const size_t analytics_store_migrations_count =
    sizeof analytics_store_migrations / sizeof analytics_store_migrations[0];

/* ---- snapshots -------------------------------------------------------------------- */

int analytics_store_put_snapshot(store *st, const char *type, const char *id, uint64_t seq,
                                 const void *state, size_t len)
{
    /* An upsert, not INSERT OR REPLACE: that deletes the row and inserts it
     * again, new overflow pages and all (1.6x the CPU, bench/RESULTS.md). */
    sqlite3_stmt *s = store_stmt(st, "INSERT INTO snapshots (type, id, seq, state)"
                                     " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (type, id)"
                                     " DO UPDATE SET seq = excluded.seq, state = excluded.state");

    if (s == NULL)
        return -EIO;
    sqlite3_bind_text(s, 1, type, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, (sqlite3_int64)seq);
    sqlite3_bind_blob(s, 4, len ? state : "", (int)len, SQLITE_STATIC);
    return sqlrow_step_write(st, s);
}

int analytics_store_snapshot(store *st, const char *type, const char *id, uint64_t *seq,
                             void **state, size_t *len)
{
    sqlite3_stmt *s =
        store_stmt(st, "SELECT seq, state FROM snapshots WHERE type = ?1 AND id = ?2");
    int rc;

    if (s == NULL)
        return -EIO;
    sqlite3_bind_text(s, 1, type, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, id, -1, SQLITE_STATIC);
    if ((rc = sqlite3_step(s)) != SQLITE_ROW) {
        rc = rc == SQLITE_DONE ? -ENOENT : store_result(st, rc);
        sqlite3_reset(s);
        return rc;
    }
    *seq = (uint64_t)sqlite3_column_int64(s, 0);
    *len = (size_t)sqlite3_column_bytes(s, 1);
    *state = malloc(*len ? *len : 1);
    if (*state != NULL)
        memcpy(*state, sqlite3_column_blob(s, 1), *len);
    sqlite3_reset(s);
    return *state ? 0 : -ENOMEM;
}

int analytics_store_each_snapshot(store *st, analytics_snapshot_fn fn, void *arg)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT type, id, seq, state FROM snapshots"
                                     " ORDER BY type, id");
    int rc = 0, step;

    if (s == NULL)
        return -EIO;
    while (rc == 0 && (step = sqlite3_step(s)) == SQLITE_ROW)
        rc = fn(arg, (const char *)sqlite3_column_text(s, 0),
                (const char *)sqlite3_column_text(s, 1), (uint64_t)sqlite3_column_int64(s, 2),
                sqlite3_column_blob(s, 3), (size_t)sqlite3_column_bytes(s, 3));
    if (rc == 0 && step != SQLITE_DONE)
        rc = store_result(st, step);
    sqlite3_reset(s);
    return rc;
}

int analytics_store_delete_snapshot(store *st, const char *type, const char *id)
{
    sqlite3_stmt *s = store_stmt(st, "DELETE FROM snapshots WHERE type = ?1 AND id = ?2");

    if (s == NULL)
        return -EIO;
    sqlite3_bind_text(s, 1, type, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, id, -1, SQLITE_STATIC);
    return sqlrow_step_write(st, s);
}

/* ---- positions, activity, meta ------------------------------------------------------ */

int analytics_store_position(store *st, const char *stream, char *id, size_t size)
{
    int rc =
        sqlrow_lookup(st, "SELECT entry_id FROM positions WHERE stream = ?1", stream, id, size);

    if (rc != 0)
        snprintf(id, size, "0-0");
    return rc;
}

int analytics_store_set_position(store *st, const char *stream, const char *id)
{
    sqlite3_stmt *s = store_stmt(st, "INSERT OR REPLACE INTO positions (stream, entry_id)"
                                     " VALUES (?1, ?2)");

    if (s == NULL)
        return -EIO;
    sqlite3_bind_text(s, 1, stream, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, id, -1, SQLITE_STATIC);
    return sqlrow_step_write(st, s);
}

int analytics_store_count_activity(store *st, const char *month, const char *kind, int64_t n)
{
    sqlite3_stmt *s = store_stmt(st, "INSERT INTO activity (month, kind, n) VALUES (?1, ?2, ?3)"
                                     " ON CONFLICT (month, kind) DO UPDATE SET n = n + ?3");

    if (s == NULL)
        return -EIO;
    sqlite3_bind_text(s, 1, month, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, kind, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, n);
    return sqlrow_step_write(st, s);
}

int analytics_store_each_activity(store *st, const char *from, analytics_activity_fn fn, void *arg)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT month, kind, n FROM activity WHERE month >= ?1"
                                     " ORDER BY month, kind");
    int step;

    if (s == NULL)
        return -EIO;
    sqlite3_bind_text(s, 1, from, -1, SQLITE_STATIC);
    while ((step = sqlite3_step(s)) == SQLITE_ROW)
        fn(arg, (const char *)sqlite3_column_text(s, 0), (const char *)sqlite3_column_text(s, 1),
           sqlite3_column_int64(s, 2));
    sqlite3_reset(s);
    return step == SQLITE_DONE ? 0 : store_result(st, step);
}

int analytics_store_get_meta(store *st, const char *key, int64_t *value)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT value FROM meta WHERE key = ?1");
    int rc;

    *value = 0;
    if (s == NULL)
        return -EIO;
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *value = sqlite3_column_int64(s, 0);
    rc = rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : store_result(st, rc);
    sqlite3_reset(s);
    return rc;
}

int analytics_store_set_meta(store *st, const char *key, int64_t value)
{
    sqlite3_stmt *s = store_stmt(st, "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)");

    if (s == NULL)
        return -EIO;
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, value);
    return sqlrow_step_write(st, s);
}

/* ---- packed messages: alerts and rates ------------------------------------------------- */

/* Binds the packed `msg` to parameter `col` of `s` (SQLITE_TRANSIENT: the
 * buffer is freed here). 0 or -ENOMEM. */
static int bind_packed(sqlite3_stmt *s, int col, const ProtobufCMessage *msg)
{
    size_t len = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = malloc(len ? len : 1);

    if (buf == NULL)
        return -ENOMEM;
    protobuf_c_message_pack(msg, buf);
    sqlite3_bind_blob(s, col, buf, (int)len, SQLITE_TRANSIENT);
    free(buf);
    return 0;
}

/* Runs `s` (bound) and unpacks column 0 of each row as a `desc` message into
 * a malloc'd array. */
static int unpack_rows(store *st, sqlite3_stmt *s, const ProtobufCMessageDescriptor *desc,
                       ProtobufCMessage ***out, size_t *n)
{
    ProtobufCMessage **v = NULL, **grown;
    size_t count = 0;
    int step, rc = 0;

    while (rc == 0 && (step = sqlite3_step(s)) == SQLITE_ROW) {
        ProtobufCMessage *m = protobuf_c_message_unpack(
            desc, NULL, (size_t)sqlite3_column_bytes(s, 0), sqlite3_column_blob(s, 0));
        if (m == NULL) {
            rc = -EIO; /* only this program writes the column */
            break;
        }
        if ((grown = realloc(v, (count + 1) * sizeof *v)) == NULL) {
            protobuf_c_message_free_unpacked(m, NULL);
            rc = -ENOMEM;
            break;
        }
        v = grown;
        v[count++] = m;
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = store_result(st, step);
    sqlite3_reset(s);
    if (rc != 0) {
        for (size_t i = 0; i < count; i++)
            protobuf_c_message_free_unpacked(v[i], NULL);
        free(v);
        return rc;
    }
    *out = v;
    *n = count;
    return 0;
}

int analytics_store_put_alerts(store *st, const char *project_id,
                               Compact__Analytics__V1__DuplicationAlert *const *alerts, size_t n)
{
    sqlite3_stmt *del = store_stmt(st, "DELETE FROM alerts WHERE project_a = ?1 OR project_b = ?1");
    int rc;

    if (del == NULL)
        return -EIO;
    sqlite3_bind_text(del, 1, project_id, -1, SQLITE_STATIC);
    if ((rc = sqlrow_step_write(st, del)) != 0)
        return rc;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const Compact__Analytics__V1__DuplicationAlert *a = alerts[i];
        int first = strcmp(a->project_id, a->other_project_id) < 0;
        sqlite3_stmt *s = store_stmt(st, "INSERT OR REPLACE INTO alerts"
                                         " (project_a, project_b, score, alert)"
                                         " VALUES (?1, ?2, ?3, ?4)");
        if (s == NULL)
            return -EIO;
        sqlite3_bind_text(s, 1, first ? a->project_id : a->other_project_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, first ? a->other_project_id : a->project_id, -1, SQLITE_STATIC);
        sqlite3_bind_double(s, 3, a->score);
        rc = bind_packed(s, 4, &a->base);
        rc = rc ? rc : sqlrow_step_write(st, s);
    }
    return rc;
}

int analytics_store_alerts(store *st, Compact__Analytics__V1__DuplicationAlert ***out, size_t *n)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT alert FROM alerts"
                                     " ORDER BY score DESC, project_a, project_b");

    if (s == NULL)
        return -EIO;
    return unpack_rows(st, s, &compact__analytics__v1__duplication_alert__descriptor,
                       (ProtobufCMessage ***)out, n);
}

int analytics_store_put_rate(store *st, const Compact__Analytics__V1__ExchangeRate *r)
{
    sqlite3_stmt *s = store_stmt(st, "INSERT OR REPLACE INTO rates (currency, valid_from, rate)"
                                     " VALUES (?1, ?2, ?3)");
    int rc;

    if (s == NULL)
        return -EIO;
    sqlite3_bind_text(s, 1, r->currency, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, r->valid_from, -1, SQLITE_STATIC);
    rc = bind_packed(s, 3, &r->base);
    return rc ? rc : sqlrow_step_write(st, s);
}

int analytics_store_rates(store *st, Compact__Analytics__V1__ExchangeRate ***out, size_t *n)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT rate FROM rates ORDER BY currency, valid_from");

    if (s == NULL)
        return -EIO;
    return unpack_rows(st, s, &compact__analytics__v1__exchange_rate__descriptor,
                       (ProtobufCMessage ***)out, n);
}

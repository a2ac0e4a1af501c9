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

#include "pbwire.h"
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
    /* A state in parts (analytics_store_put_snapshot_parts): `items` NULL
     * is a whole state, as every row before. */
    {.version = 4,
     .sql = "ALTER TABLE snapshots ADD COLUMN items BLOB;"
            "ALTER TABLE snapshots ADD COLUMN items_field INTEGER NOT NULL DEFAULT 0;"
            "CREATE TABLE snapshot_items ("
            "  type TEXT NOT NULL,"
            "  id   TEXT NOT NULL,"
            "  hash INTEGER NOT NULL,"
            "  item BLOB NOT NULL,"
            "  PRIMARY KEY (type, id, hash)"
            ") STRICT, WITHOUT ROWID;"},
};
const size_t analytics_store_migrations_count =
    sizeof analytics_store_migrations / sizeof analytics_store_migrations[0];

/* ---- snapshots -------------------------------------------------------------------- */

static void bind_key(sqlite3_stmt *s, const char *type, const char *id)
{
    sqlite3_bind_text(s, 1, type, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, id, -1, SQLITE_STATIC);
}

static int delete_items(store *st, const char *type, const char *id)
{
    sqlite3_stmt *s = store_stmt(st, "DELETE FROM snapshot_items WHERE type = ?1 AND id = ?2");

    if (s == NULL)
        return -EIO;
    bind_key(s, type, id);
    return sqlrow_step_write(st, s);
}

/* The upsert of a snapshot row: `items` NULL for a whole state. */
static int put_row(store *st, const char *type, const char *id, uint64_t seq, const void *state,
                   size_t len, const uint64_t *items, size_t n_items, uint32_t field)
{
    /* An upsert, not INSERT OR REPLACE: that deletes the row and inserts it
     * again, new overflow pages and all (1.6x the CPU, bench/RESULTS.md). */
    sqlite3_stmt *s = store_stmt(st, "INSERT INTO snapshots (type, id, seq, state, items,"
                                     " items_field) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
                                     " ON CONFLICT (type, id) DO UPDATE SET seq = excluded.seq,"
                                     " state = excluded.state, items = excluded.items,"
                                     " items_field = excluded.items_field");

    if (s == NULL)
        return -EIO;
    bind_key(s, type, id);
    sqlite3_bind_int64(s, 3, (sqlite3_int64)seq);
    sqlite3_bind_blob(s, 4, len ? state : "", (int)len, SQLITE_STATIC);
    if (items)
        sqlite3_bind_blob(s, 5, n_items ? (const void *)items : "", (int)(n_items * sizeof *items),
                          SQLITE_STATIC);
    else
        sqlite3_bind_null(s, 5);
    sqlite3_bind_int64(s, 6, field);
    return sqlrow_step_write(st, s);
}

int analytics_store_put_snapshot(store *st, const char *type, const char *id, uint64_t seq,
                                 const void *state, size_t len)
{
    int rc = put_row(st, type, id, seq, state, len, NULL, 0, 0);

    return rc ? rc : delete_items(st, type, id);
}

static int hash_compare(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return (x > y) - (x < y);
}

static int has_hash(const uint64_t *sorted, size_t n, uint64_t h)
{
    return n && bsearch(&h, sorted, n, sizeof h, hash_compare) != NULL;
}

/* The hashes of the items (type, id) has, sorted, into a malloc'd *out (NULL
 * and 0 when its row is whole or absent). */
static int stored_hashes(store *st, const char *type, const char *id, uint64_t **out, size_t *n)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT items FROM snapshots WHERE type = ?1 AND id = ?2"
                                     " AND items IS NOT NULL");
    int rc = 0, step;

    *out = NULL;
    *n = 0;
    if (s == NULL)
        return -EIO;
    bind_key(s, type, id);
    if ((step = sqlite3_step(s)) == SQLITE_ROW) {
        size_t bytes = (size_t)sqlite3_column_bytes(s, 0);
        *n = bytes / sizeof **out;
        if ((*out = malloc(bytes ? bytes : 1)) == NULL)
            rc = -ENOMEM;
        else if (bytes)
            memcpy(*out, sqlite3_column_blob(s, 0), bytes);
    } else if (step != SQLITE_DONE) {
        rc = store_result(st, step);
    }
    sqlite3_reset(s);
    if (rc == 0 && *n > 1)
        qsort(*out, *n, sizeof **out, hash_compare);
    return rc;
}

static int put_item(store *st, const char *type, const char *id, uint64_t hash, const void *item,
                    size_t len)
{
    sqlite3_stmt *s = store_stmt(st, "INSERT INTO snapshot_items (type, id, hash, item)"
                                     " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (type, id, hash)"
                                     " DO UPDATE SET item = excluded.item");

    if (s == NULL)
        return -EIO;
    bind_key(s, type, id);
    sqlite3_bind_int64(s, 3, (sqlite3_int64)hash);
    sqlite3_bind_blob(s, 4, len ? item : "", (int)len, SQLITE_STATIC);
    return sqlrow_step_write(st, s);
}

static int delete_item(store *st, const char *type, const char *id, uint64_t hash)
{
    sqlite3_stmt *s = store_stmt(st, "DELETE FROM snapshot_items"
                                     " WHERE type = ?1 AND id = ?2 AND hash = ?3");

    if (s == NULL)
        return -EIO;
    bind_key(s, type, id);
    sqlite3_bind_int64(s, 3, (sqlite3_int64)hash);
    return sqlrow_step_write(st, s);
}

/* The items of `p` that (type, id) lacks are written, those it has that `p`
 * has not are deleted. */
static int sync_items(store *st, const char *type, const char *id, const snapshot_parts *p)
{
    uint64_t *had, *has = NULL;
    size_t n_had;
    int rc = stored_hashes(st, type, id, &had, &n_had);

    if (rc == 0 && had == NULL)
        rc = delete_items(st, type, id); /* a whole row has none; an old one may */
    for (size_t i = 0; rc == 0 && i < p->n; i++) {
        if (!has_hash(had, n_had, p->hashes[i]))
            rc = put_item(st, type, id, p->hashes[i], p->items[i], p->item_len[i]);
    }
    if (rc == 0 && n_had > 0) {
        has = malloc((p->n ? p->n : 1) * sizeof *has);
        rc = has ? 0 : -ENOMEM;
        if (has && p->n)
            memcpy(has, p->hashes, p->n * sizeof *has);
        if (has && p->n > 1)
            qsort(has, p->n, sizeof *has, hash_compare);
    }
    for (size_t i = 0; rc == 0 && i < n_had; i++) {
        if (!has_hash(has, p->n, had[i]))
            rc = delete_item(st, type, id, had[i]);
    }
    free(had);
    free(has);
    return rc;
}

int analytics_store_put_snapshot_parts(store *st, const char *type, const char *id, uint64_t seq,
                                       const snapshot_parts *p)
{
    int rc = sync_items(st, type, id, p);

    return rc ? rc : put_row(st, type, id, seq, p->rest, p->rest_len, p->hashes, p->n, p->field);
}

/* The items of (type, id), read once. */
typedef struct item_set {
    uint64_t *hash; /* sorted, with the bytes of each */
    uint8_t **item;
    size_t *len, n;
} item_set;

static void item_set_clear(item_set *set)
{
    for (size_t i = 0; i < set->n; i++)
        free(set->item[i]);
    free(set->hash);
    free(set->item);
    free(set->len);
}

/* Room for twice as many items (or 8). */
static int item_set_grow(item_set *set, size_t *room)
{
    size_t more = *room ? *room * 2 : 8;
    uint64_t *hash = realloc(set->hash, more * sizeof *hash);
    uint8_t **item;
    size_t *len;

    if (hash == NULL)
        return -ENOMEM;
    set->hash = hash;
    if ((item = realloc(set->item, more * sizeof *item)) == NULL)
        return -ENOMEM;
    set->item = item;
    if ((len = realloc(set->len, more * sizeof *len)) == NULL)
        return -ENOMEM;
    set->len = len;
    *room = more;
    return 0;
}

/* The items of (type, id) into `set` (item_set_clear it, whatever the
 * answer). */
static int read_items(store *st, const char *type, const char *id, item_set *set)
{
    size_t room = 0;
    sqlite3_stmt *s = store_stmt(st, "SELECT hash, item FROM snapshot_items"
                                     " WHERE type = ?1 AND id = ?2 ORDER BY hash");
    int rc = 0, step;

    memset(set, 0, sizeof *set);
    if (s == NULL)
        return -EIO;
    bind_key(s, type, id);
    while (rc == 0 && (step = sqlite3_step(s)) == SQLITE_ROW) {
        size_t len = (size_t)sqlite3_column_bytes(s, 1);
        uint8_t *copy;
        if (set->n == room && (rc = item_set_grow(set, &room)) != 0)
            break;
        if ((copy = malloc(len ? len : 1)) == NULL) {
            rc = -ENOMEM;
            break;
        }
        if (len)
            memcpy(copy, sqlite3_column_blob(s, 1), len);
        /* in the order of SQLite's integers: signed, as item_of searches */
        set->hash[set->n] = (uint64_t)sqlite3_column_int64(s, 0);
        set->item[set->n] = copy;
        set->len[set->n++] = len;
    }
    if (rc == 0 && step != SQLITE_ROW && step != SQLITE_DONE)
        rc = store_result(st, step);
    sqlite3_reset(s);
    return rc;
}

/* The index of `h` in `set`, or -1. */
static long item_of(const item_set *set, uint64_t h)
{
    for (size_t lo = 0, hi = set->n; lo < hi;) {
        size_t mid = (lo + hi) / 2;
        if (set->hash[mid] == h)
            return (long)mid;
        if ((int64_t)set->hash[mid] < (int64_t)h)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* The whole state of a row in parts: `rest` with its items, in the order
 * of `hashes`, put back (pbwire_join). A malloc'd *state; -EIO when an item
 * is missing or the rest is not wire format. */
static int assemble(store *st, const char *type, const char *id, const void *rest, size_t rest_len,
                    const uint64_t *hashes, size_t n, uint32_t field, void **state, size_t *len)
{
    item_set set;
    const uint8_t **values = calloc(n ? n : 1, sizeof *values);
    size_t *lens = calloc(n ? n : 1, sizeof *lens);
    int rc = values && lens ? read_items(st, type, id, &set) : -ENOMEM;

    for (size_t i = 0; rc == 0 && i < n; i++) {
        long at = item_of(&set, hashes[i]);
        if (at < 0) {
            rc = -EIO;
            break;
        }
        values[i] = set.item[at];
        lens[i] = set.len[at];
    }
    *state = NULL;
    if (rc == 0 && (*state = malloc(pbwire_join_size(rest_len, field, lens, n) + 1)) == NULL)
        rc = -ENOMEM;
    if (rc == 0 && (*len = pbwire_join(rest, rest_len, field, values, lens, n, *state)) == 0 &&
        rest_len)
        rc = -EIO;
    if (rc != 0) {
        free(*state);
        *state = NULL;
    }
    if (values && lens)
        item_set_clear(&set);
    free(values);
    free(lens);
    return rc;
}

/* The whole state of the current row of `s` (columns from `col`: state,
 * items, items_field): a copy (or the assembly) in a malloc'd *state. */
static int row_state(store *st, sqlite3_stmt *s, int col, const char *type, const char *id,
                     void **state, size_t *len)
{
    const void *blob = sqlite3_column_blob(s, col);
    size_t bytes = (size_t)sqlite3_column_bytes(s, col);

    if (sqlite3_column_type(s, col + 1) != SQLITE_NULL) {
        size_t n = (size_t)sqlite3_column_bytes(s, col + 1) / sizeof(uint64_t);
        uint64_t *hashes = malloc((n ? n : 1) * sizeof *hashes);
        void *rest = malloc(bytes ? bytes : 1);
        int rc = hashes && rest ? 0 : -ENOMEM;
        if (rc == 0) {
            if (n)
                memcpy(hashes, sqlite3_column_blob(s, col + 1), n * sizeof *hashes);
            if (bytes)
                memcpy(rest, blob, bytes);
            rc = assemble(st, type, id, rest, bytes, hashes, n,
                          (uint32_t)sqlite3_column_int64(s, col + 2), state, len);
        }
        free(hashes);
        free(rest);
        return rc;
    }
    *len = bytes;
    if ((*state = malloc(bytes ? bytes : 1)) == NULL)
        return -ENOMEM;
    if (bytes)
        memcpy(*state, blob, bytes);
    return 0;
}

int analytics_store_snapshot(store *st, const char *type, const char *id, uint64_t *seq,
                             void **state, size_t *len)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT seq, state, items, items_field FROM snapshots"
                                     " WHERE type = ?1 AND id = ?2");
    int rc;

    if (s == NULL)
        return -EIO;
    bind_key(s, type, id);
    if ((rc = sqlite3_step(s)) != SQLITE_ROW) {
        rc = rc == SQLITE_DONE ? -ENOENT : store_result(st, rc);
        sqlite3_reset(s);
        return rc;
    }
    *seq = (uint64_t)sqlite3_column_int64(s, 0);
    rc = row_state(st, s, 1, type, id, state, len);
    sqlite3_reset(s);
    return rc;
}

int analytics_store_each_snapshot(store *st, analytics_snapshot_fn fn, void *arg)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT type, id, seq, state, items, items_field"
                                     " FROM snapshots ORDER BY type, id");
    int rc = 0, step;

    if (s == NULL)
        return -EIO;
    while (rc == 0 && (step = sqlite3_step(s)) == SQLITE_ROW) {
        const char *type = (const char *)sqlite3_column_text(s, 0);
        const char *id = (const char *)sqlite3_column_text(s, 1);
        void *state = NULL;
        size_t len = 0;
        if ((rc = row_state(st, s, 3, type, id, &state, &len)) == 0)
            rc = fn(arg, type, id, (uint64_t)sqlite3_column_int64(s, 2), state, len);
        free(state);
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = store_result(st, step);
    sqlite3_reset(s);
    return rc;
}

int analytics_store_delete_snapshot(store *st, const char *type, const char *id)
{
    sqlite3_stmt *s = store_stmt(st, "DELETE FROM snapshots WHERE type = ?1 AND id = ?2");
    int rc;

    if (s == NULL)
        return -EIO;
    bind_key(s, type, id);
    rc = sqlrow_step_write(st, s);
    return rc ? rc : delete_items(st, type, id);
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

/* docstore.c: aggregates kept whole, one packed message per row (see
 * docstore.h). The SQL names the table, so statements are built per table
 * and cached by store_stmt like any other. */
#include "docstore.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etag.h"
#include "pbmsg.h"
#include "pbstr.h"
#include "sqlrow.h"

#define SQL_MAX 512

/* The message's "etag" string field, set for (id, version). */
static int set_etag(ProtobufCMessage *state, int64_t version)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(state->descriptor, "etag");
    const char *id = pbmsg_string(state, "id");

    if (f == NULL || f->type != PROTOBUF_C_TYPE_STRING || id == NULL)
        return 0; /* no etag in this message */
    return etag_set((char **)((char *)state + f->offset), id, version);
}

/* Packs `state` and binds it to parameter `col` (copied). */
static int bind_state(sqlite3_stmt *s, int col, const ProtobufCMessage *state)
{
    size_t len = protobuf_c_message_get_packed_size(state);
    uint8_t *buf = malloc(len ? len : 1);

    if (buf == NULL)
        return -ENOMEM;
    protobuf_c_message_pack(state, buf);
    sqlite3_bind_blob(s, col, buf, (int)len, SQLITE_TRANSIENT);
    free(buf);
    return 0;
}

/* "?4, ?5, ..." for `n` parameters from `first`. */
static void params(char *buf, size_t size, int first, int n)
{
    size_t at = 0;

    buf[0] = '\0';
    for (int i = 0; i < n && at < size; i++)
        at += (size_t)snprintf(buf + at, size - at, ", ?%d", first + i);
}

int docstore_insert(store *st, const docstore_table *t, ProtobufCMessage *state)
{
    char sql[SQL_MAX], more[128];
    sqlite3_stmt *s;
    int rc;

    params(more, sizeof more, 4, t->n_columns);
    snprintf(sql, sizeof sql, "INSERT INTO %s (id, version, state%s%s) VALUES (?1, ?2, ?3%s)",
             t->name, t->columns ? ", " : "", t->columns ? t->columns : "", more);
    if ((rc = set_etag(state, 1)) != 0)
        return rc;
    if ((s = store_stmt(st, sql)) == NULL)
        return -EIO;
    sqlite3_bind_text(s, 1, pbmsg_string(state, "id"), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 2, 1);
    if ((rc = bind_state(s, 3, state)) != 0) {
        sqlite3_reset(s);
        return rc;
    }
    if (t->bind)
        t->bind(s, 4, state);
    return sqlrow_step_write(st, s);
}

int docstore_update(store *st, const docstore_table *t, ProtobufCMessage *state, int64_t version)
{
    char sql[SQL_MAX], sets[256] = "";
    size_t at = 0;
    const char *c = t->columns;
    sqlite3_stmt *s;
    int rc;

    /* "date = ?5, status = ?6" from "date, status". */
    for (int i = 0; c && i < t->n_columns; i++) {
        size_t len = strcspn(c, ",");
        at += (size_t)snprintf(sets + at, sizeof sets - at, ", %.*s = ?%d", (int)len, c, 5 + i);
        c += len;
        c += strspn(c, ", ");
    }
    snprintf(sql, sizeof sql,
             "UPDATE %s SET version = ?2, state = ?3%s WHERE id = ?1 AND version = ?4", t->name,
             sets);
    if ((rc = set_etag(state, version + 1)) != 0)
        return rc;
    if ((s = store_stmt(st, sql)) == NULL)
        return -EIO;
    sqlite3_bind_text(s, 1, pbmsg_string(state, "id"), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 2, version + 1);
    if ((rc = bind_state(s, 3, state)) != 0) {
        sqlite3_reset(s);
        return rc;
    }
    sqlite3_bind_int64(s, 4, version);
    if (t->bind)
        t->bind(s, 5, state);
    if ((rc = sqlrow_step_write(st, s)) != 0)
        return rc;
    return sqlite3_changes(store_db(st)) == 1 ? 0 : -ESTALE;
}

int docstore_load(store *st, const docstore_table *t, const char *id, ProtobufCMessage **out,
                  int64_t *version)
{
    char sql[SQL_MAX];
    sqlite3_stmt *s;
    int rc;

    snprintf(sql, sizeof sql, "SELECT state, version FROM %s WHERE id = ?1", t->name);
    if ((s = store_stmt(st, sql)) == NULL)
        return -EIO;
    sqlite3_bind_text(s, 1, id, -1, SQLITE_TRANSIENT);
    rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) {
        rc = rc == SQLITE_DONE ? -ENOENT : store_result(st, rc);
        sqlite3_reset(s);
        return rc;
    }
    *out = protobuf_c_message_unpack(t->descriptor, NULL, (size_t)sqlite3_column_bytes(s, 0),
                                     sqlite3_column_blob(s, 0));
    if (version)
        *version = sqlite3_column_int64(s, 1);
    sqlite3_reset(s);
    return *out ? 0 : -EIO;
}

void docstore_rows_free(ProtobufCMessage **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        pbmsg_free(v[i]);
    free(v);
}

int docstore_rows(store *st, const docstore_table *t, sqlite3_stmt *s, size_t limit,
                  ProtobufCMessage ***out, size_t *n)
{
    ProtobufCMessage **v = calloc(limit ? limit : 1, sizeof *v);
    size_t count = 0;
    int rc = v ? 0 : -ENOMEM, step = SQLITE_DONE;

    while (rc == 0 && count < limit && (step = sqlite3_step(s)) == SQLITE_ROW) {
        v[count] = protobuf_c_message_unpack(
            t->descriptor, NULL, (size_t)sqlite3_column_bytes(s, 0), sqlite3_column_blob(s, 0));
        rc = v[count] ? 0 : -EIO;
        count += rc == 0;
    }
    if (rc == 0 && step != SQLITE_ROW && step != SQLITE_DONE)
        rc = store_result(st, step);
    sqlite3_reset(s);
    if (rc != 0) {
        docstore_rows_free(v, count);
        return rc;
    }
    *out = v;
    *n = count;
    return 0;
}

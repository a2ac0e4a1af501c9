/* store_requests.c: the answers a service gave, by request id (see
 * store_requests.h). */
#include "store_requests.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SQL_GET "SELECT method, digest, reply FROM requests WHERE request_id = ?1"
#define SQL_PUT                                                                                    \
    "INSERT INTO requests(request_id, method, digest, reply, created_ms) VALUES (?1, ?2, ?3, ?4,"  \
    " ?5)"
#define SQL_PRUNE                                                                                  \
    "DELETE FROM requests WHERE request_id IN (SELECT request_id FROM requests"                    \
    " WHERE created_ms < ?1 LIMIT 4)"

static const store_migration requests_migrations[] = {
    {.version = 1,
     .sql = "CREATE TABLE requests ("
            " request_id TEXT PRIMARY KEY,"
            " method TEXT NOT NULL,"
            " digest INTEGER NOT NULL,"
            " reply BLOB NOT NULL,"
            " created_ms INTEGER NOT NULL) WITHOUT ROWID;"
            "CREATE INDEX requests_age ON requests(created_ms);"},
};

int store_requests_migrate(store *st)
{
    return store_migrate(st, "requests", requests_migrations,
                         sizeof requests_migrations / sizeof requests_migrations[0]);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int store_requests_get(store *st, const char *request_id, store_request *out)
{
    sqlite3_stmt *s = store_stmt(st, SQL_GET);
    int rc;

    memset(out, 0, sizeof *out);
    if (s == NULL)
        return -EIO;
    sqlite3_bind_text(s, 1, request_id, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        const void *reply = sqlite3_column_blob(s, 2);
        out->reply_len = (size_t)sqlite3_column_bytes(s, 2);
        out->method = strdup((const char *)sqlite3_column_text(s, 0));
        out->digest = (uint64_t)sqlite3_column_int64(s, 1);
        out->reply = malloc(out->reply_len ? out->reply_len : 1);
        if (out->method == NULL || out->reply == NULL) {
            store_requests_free(out);
            rc = -ENOMEM;
        } else {
            memcpy(out->reply, reply, out->reply_len);
            rc = 0;
        }
    } else {
        rc = rc == SQLITE_DONE ? -ENOENT : store_result(st, rc);
    }
    sqlite3_reset(s);
    return rc;
}

void store_requests_free(store_request *r)
{
    free(r->method);
    free(r->reply);
    memset(r, 0, sizeof *r);
}

/* Deletes a few entries past their time: each put pays for a little of the
 * pruning, so the table stays about a day's writes without a timer. */
static int prune(store *st, int64_t now)
{
    sqlite3_stmt *s = store_stmt(st, SQL_PRUNE);
    int rc;

    if (s == NULL)
        return -EIO;
    sqlite3_bind_int64(s, 1, now - (int64_t)STORE_REQUESTS_KEEP_HOURS * 3600 * 1000);
    rc = sqlite3_step(s);
    sqlite3_reset(s);
    return store_result(st, rc);
}

int store_requests_put(store *st, const char *request_id, const char *method, uint64_t digest,
                       const void *reply, size_t reply_len)
{
    sqlite3_stmt *s = store_stmt(st, SQL_PUT);
    int64_t now = now_ms();
    int rc;

    if (s == NULL)
        return -EIO;
    sqlite3_bind_text(s, 1, request_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, method, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, (sqlite3_int64)digest);
    sqlite3_bind_blob(s, 4, reply_len ? reply : "", (int)reply_len, SQLITE_STATIC);
    sqlite3_bind_int64(s, 5, now);
    rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc == SQLITE_CONSTRAINT)
        return -EEXIST;
    rc = store_result(st, rc);
    return rc == 0 ? prune(st, now) : rc;
}

uint64_t store_requests_digest(const void *bytes, size_t len)
{
    const unsigned char *p = bytes;
    uint64_t h = 1469598103934665603ULL;

    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

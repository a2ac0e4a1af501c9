/* actors.c: changes per actor (see actors.h). */
#include "actors.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "analytics.h"
#include "compact/analytics/v1/analytics.pb-c.h"
#include "sqlrow.h"

#define SQL_COUNT                                                                                  \
    "INSERT INTO actor_changes (subject, role, n, last_ms) VALUES (?1, ?2, ?4, ?3)"                \
    " ON CONFLICT (subject, role) DO UPDATE SET n = n + ?4, last_ms = max(last_ms, ?3)"
#define SQL_LIST                                                                                   \
    "SELECT subject, role, n, last_ms FROM actor_changes ORDER BY n DESC, subject, role LIMIT ?1"

int actors_count(store *st, const char *subject, const char *role, int64_t n, int64_t last_ms)
{
    sqlite3_stmt *s = store_stmt(st, SQL_COUNT);

    if (s == NULL)
        return -EIO;
    sqlite3_bind_text(s, 1, subject, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, role, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, last_ms);
    sqlite3_bind_int64(s, 4, n);
    return sqlrow_step_write(st, s);
}

typedef struct actor_row {
    Compact__Analytics__V1__ActorChanges msg;
    Google__Protobuf__Timestamp last;
} actor_row;

void handle_list_changes_by_actor(rpc_call *call, const ProtobufCMessage *request, void *arg)
{
    analytics *a = analytics_of(arg);
    store *st = service_store(arg);
    Compact__Analytics__V1__ChangesByActor resp = COMPACT__ANALYTICS__V1__CHANGES_BY_ACTOR__INIT;
    Compact__Analytics__V1__Freshness fresh = COMPACT__ANALYTICS__V1__FRESHNESS__INIT;
    Google__Protobuf__Timestamp as_of = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    sqlite3_stmt *s = store_stmt(st, SQL_LIST);
    actor_row *rows = calloc(ACTORS_LIST_MAX, sizeof *rows);
    Compact__Analytics__V1__ActorChanges **ptrs = calloc(ACTORS_LIST_MAX, sizeof *ptrs);
    size_t n = 0;
    int step = SQLITE_DONE;

    (void)request;
    if (s != NULL && rows != NULL && ptrs != NULL) {
        sqlite3_bind_int(s, 1, ACTORS_LIST_MAX);
        while (n < ACTORS_LIST_MAX && (step = sqlite3_step(s)) == SQLITE_ROW) {
            actor_row *r = &rows[n];
            compact__analytics__v1__actor_changes__init(&r->msg);
            google__protobuf__timestamp__init(&r->last);
            r->msg.subject = strdup((const char *)sqlite3_column_text(s, 0));
            r->msg.role = strdup((const char *)sqlite3_column_text(s, 1));
            r->msg.changes = sqlite3_column_int64(s, 2);
            r->last.seconds = sqlite3_column_int64(s, 3) / 1000;
            r->last.nanos = (int32_t)(sqlite3_column_int64(s, 3) % 1000) * 1000000;
            r->msg.last_change_time = &r->last;
            ptrs[n++] = &r->msg;
            if (r->msg.subject == NULL || r->msg.role == NULL) {
                step = SQLITE_NOMEM;
                break;
            }
        }
        sqlite3_reset(s);
    }
    if (s == NULL || rows == NULL || ptrs == NULL || (step != SQLITE_ROW && step != SQLITE_DONE)) {
        rpc_call_fail(call, RPC_UNAVAILABLE, "store: the counts could not be read");
    } else {
        as_of.seconds = a->fresh.as_of_ms / 1000;
        as_of.nanos = (int32_t)(a->fresh.as_of_ms % 1000) * 1000000;
        fresh.as_of = a->fresh.as_of_ms ? &as_of : NULL;
        fresh.event_lag_ms = a->fresh.lag_ms;
        fresh.events_applied = (uint64_t)a->fresh.events_applied;
        fresh.sources_reachable = a->fresh.last_read_ms > 0;
        resp.freshness = &fresh;
        resp.n_actors = n;
        resp.actors = ptrs;
        rpc_call_reply(call, &resp.base);
    }
    for (size_t i = 0; i < n; i++) {
        free(rows[i].msg.subject);
        free(rows[i].msg.role);
    }
    free(rows);
    free(ptrs);
}

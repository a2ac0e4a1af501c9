/* audit.c: compact.audit.v1.Audit, who changed an aggregate and when.
 *
 * Every committed change writes an audit row in its own transaction
 * (events/outbox.c: the actor, the event's id, type and time); this serves
 * them by aggregate id, oldest first, in pages. Registered by the runtime on
 * every service's server beside Health and reflection; its rule admits the
 * secretariat and the Committee only, since rows name people and addresses.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "service_internal.h"

#define AUDIT_PAGE_DEFAULT 50
#define AUDIT_PAGE_MAX 1000
#define AUDIT_ID_MAX 128

typedef Compact__Audit__V1__Change Change;
typedef Compact__Audit__V1__ListChangesRequest ListChangesRequest;
typedef Compact__Audit__V1__ListChangesResponse ListChangesResponse;
typedef Compact__Events__V1__Actor Actor;

const auth_rule service__audit_rules[] = {
    {.method = "ListChanges",
     .roles = AUTH_ROLE_SECRETARIAT | AUTH_ROLE_COMMITTEE,
     .flags = AUTH_RULE_READ},
    {.method = NULL},
};

#define SQL_AUDIT_PAGE                                                                             \
    "SELECT seq, event_id, aggregate_type, aggregate_id, aggregate_seq, type, occur_time_ms,"      \
    " subject, role, entity_id, peer FROM audit WHERE aggregate_id = ?1 AND seq > ?2"              \
    " ORDER BY seq LIMIT ?3"

/* One change with its strings and its actor in one allocation's worth of
 * pieces; freed by audit_change_free. */
typedef struct audit_row {
    Change change;
    Actor actor;
    Google__Protobuf__Timestamp time;
} audit_row;

static char *audit_text(sqlite3_stmt *s, int col)
{
    const unsigned char *t = sqlite3_column_text(s, col);
    return strdup(t ? (const char *)t : "");
}

static void audit_row_free(audit_row *r)
{
    if (r == NULL)
        return;
    free(r->change.event_id);
    free(r->change.aggregate_type);
    free(r->change.aggregate_id);
    free(r->change.type);
    free(r->actor.subject);
    free(r->actor.role);
    free(r->actor.entity_id);
    free(r->actor.peer);
    free(r);
}

static audit_row *audit_row_read(sqlite3_stmt *s)
{
    audit_row *r = calloc(1, sizeof *r);
    if (r == NULL)
        return NULL;
    compact__audit__v1__change__init(&r->change);
    compact__events__v1__actor__init(&r->actor);
    google__protobuf__timestamp__init(&r->time);
    r->change.event_id = audit_text(s, 1);
    r->change.aggregate_type = audit_text(s, 2);
    r->change.aggregate_id = audit_text(s, 3);
    r->change.aggregate_sequence = (uint64_t)sqlite3_column_int64(s, 4);
    r->change.type = audit_text(s, 5);
    int64_t ms = sqlite3_column_int64(s, 6);
    r->time.seconds = ms / 1000;
    r->time.nanos = (int32_t)(ms % 1000) * 1000000;
    r->change.occur_time = &r->time;
    r->actor.subject = audit_text(s, 7);
    r->actor.role = audit_text(s, 8);
    r->actor.entity_id = audit_text(s, 9);
    r->actor.peer = audit_text(s, 10);
    r->change.actor = &r->actor;
    if (!r->change.event_id || !r->change.aggregate_type || !r->change.aggregate_id ||
        !r->change.type || !r->actor.subject || !r->actor.role || !r->actor.entity_id ||
        !r->actor.peer) {
        audit_row_free(r);
        return NULL;
    }
    return r;
}

/* The page token: the last row's sequence, in decimal. */
static int audit_token(const char *token, int64_t *after)
{
    char *end = NULL;
    if (token[0] == '\0') {
        *after = 0;
        return 0;
    }
    if (strlen(token) > 19 || token[0] < '1' || token[0] > '9')
        return -EINVAL;
    errno = 0;
    long long v = strtoll(token, &end, 10);
    if (errno != 0 || *end != '\0' || v <= 0)
        return -EINVAL;
    *after = v;
    return 0;
}

static void handle_list_changes(rpc_call *call, const ProtobufCMessage *request, void *arg)
{
    const ListChangesRequest *req = (const ListChangesRequest *)request;
    store *st = service_store(arg);
    ListChangesResponse res = COMPACT__AUDIT__V1__LIST_CHANGES_RESPONSE__INIT;
    int64_t after = 0, last = 0;
    int size = req->page_size == 0 ? AUDIT_PAGE_DEFAULT : req->page_size;
    char next[24] = "";

    if (req->aggregate_id[0] == '\0' || strlen(req->aggregate_id) > AUDIT_ID_MAX) {
        rpc_call_fail(call, RPC_INVALID_ARGUMENT, "aggregate_id: expected 1 to %d characters",
                      AUDIT_ID_MAX);
        return;
    }
    if (size < 0 || size > AUDIT_PAGE_MAX) {
        rpc_call_fail(call, RPC_INVALID_ARGUMENT, "page_size: expected 0 to %d", AUDIT_PAGE_MAX);
        return;
    }
    if (audit_token(req->page_token, &after) != 0) {
        rpc_call_fail(call, RPC_INVALID_ARGUMENT, "page_token: not a token of this list");
        return;
    }
    sqlite3_stmt *s = store_stmt(st, SQL_AUDIT_PAGE);
    Change **changes = calloc((size_t)size + 1, sizeof *changes);
    if (s == NULL || changes == NULL) {
        free(changes);
        rpc_call_fail(call, RPC_UNAVAILABLE, "store: the audit could not be read");
        return;
    }
    sqlite3_bind_text(s, 1, req->aggregate_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, after);
    sqlite3_bind_int64(s, 3, size + 1);
    int rc, failed = 0;
    size_t n = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (n == (size_t)size) { /* one more than the page: there is a next page */
            snprintf(next, sizeof next, "%" PRId64, last);
            break;
        }
        audit_row *r = audit_row_read(s);
        if (r == NULL) {
            failed = 1;
            break;
        }
        last = sqlite3_column_int64(s, 0);
        changes[n++] = &r->change;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        failed = 1;
    sqlite3_reset(s);
    if (failed) {
        rpc_call_fail(call, RPC_UNAVAILABLE, "store: the audit could not be read");
    } else {
        res.n_changes = n;
        res.changes = changes;
        res.next_page_token = next;
        rpc_call_reply(call, &res.base);
    }
    for (size_t i = 0; i < n; i++)
        audit_row_free((audit_row *)(void *)changes[i]); /* change is the row's first member */
    free(changes);
}

static const rpc_method audit_methods[] = {
    {.name = "ListChanges", .handler = handle_list_changes},
    {.name = NULL},
};

int service__audit_register(rpc_server *srv, service *svc)
{
    return rpc_server_add_service(srv, &compact__audit__v1__audit__descriptor, audit_methods, svc);
}

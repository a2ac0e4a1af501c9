/* rebuild.c: every figure again, from the List calls (see rebuild.h).
 *
 * The listed states go page by page into the table `rebuilt` (so that a
 * hundred megabytes of projects are never all in memory at once) and into
 * a model of the rebuild's own. At the end one transaction counts the
 * differences with SQL, carries the sequences over, and swaps the tables;
 * then the new model takes the old one's place.
 */
#include "rebuild.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alerts.h"
#include "log.h"
#include "pbmsg.h"
#include "sqlrow.h"

typedef Compact__Membership__V1__Entity Entity;
typedef Compact__Workgroups__V1__WorkingGroup WorkingGroup;
typedef Compact__Projects__V1__Project Project;

#define PAGE_SIZE 1000

typedef struct rebuild rebuild;

/* One kind of aggregate and how to list it. */
typedef struct kind {
    const char *type; /* as in events: "entity" */
    const char *peer;
    const ProtobufCServiceDescriptor *service;
    const char *method;
    const char *items;   /* the repeated field of the response */
    const char *created; /* the type of its creation event */
} kind;

static const kind kinds[] = {
    {"entity", "membership", &compact__membership__v1__membership__descriptor, "ListEntities",
     "entities", "entity.created"},
    {"working_group", "workgroups", &compact__workgroups__v1__working_groups__descriptor,
     "ListWorkingGroups", "groups", "workgroup.created"},
    {"project", "projects", &compact__projects__v1__projects__descriptor, "ListProjects",
     "projects", "project.created"},
};
#define KINDS (sizeof kinds / sizeof kinds[0])

typedef struct lister {
    rebuild *rb;
    const kind *k;
    char *page_token;
    int64_t count;
} lister;

struct rebuild {
    analytics *a;
    rebuild_done_cb cb;
    void *arg;
    model *fresh;
    lister listers[KINDS];
    int out; /* listers still listing */
    int rc;  /* the first failure */
    char message[256];
};

/* `created`: the creation event's type and month ("YYYY-MM"), so that an
 * aggregate analytics never saw created still shows in the activity. */
static const char SQL_CREATE[] = "CREATE TEMP TABLE IF NOT EXISTS rebuilt ("
                                 "  type TEXT NOT NULL, id TEXT NOT NULL, state BLOB NOT NULL,"
                                 "  created_kind TEXT NOT NULL, created_month TEXT NOT NULL,"
                                 "  PRIMARY KEY (type, id)) WITHOUT ROWID";

static void lister_next(lister *l);

/* ---- the end ------------------------------------------------------------------------ */

static int exec(store *st, const char *sql)
{
    return store_result(st, sqlite3_exec(store_db(st), sql, NULL, NULL, NULL));
}

static int64_t count_of(store *st, const char *sql)
{
    sqlite3_stmt *s = store_stmt(st, sql);
    int64_t n = -EIO;

    if (s && sqlite3_step(s) == SQLITE_ROW)
        n = sqlite3_column_int64(s, 0);
    if (s)
        sqlite3_reset(s);
    return n;
}

/* Differences, sequences carried over, tables swapped: one transaction. */
static int swap_snapshots(store *st, int64_t *differences)
{
    int64_t changed, gone;
    int rc = store_begin(st);

    if (rc != 0)
        return rc;
    changed = count_of(st, "SELECT count(*) FROM rebuilt r LEFT JOIN snapshots s"
                           " ON s.type = r.type AND s.id = r.id WHERE s.state IS NOT r.state");
    gone = count_of(st, "SELECT count(*) FROM snapshots s WHERE NOT EXISTS"
                        " (SELECT 1 FROM rebuilt r WHERE r.type = s.type AND r.id = s.id)");
    rc = changed < 0 || gone < 0 ? -EIO : 0;
    if (rc == 0)
        rc = exec(st, "INSERT INTO activity (month, kind, n)"
                      " SELECT created_month, created_kind, count(*) FROM rebuilt r"
                      " WHERE created_month != '' AND NOT EXISTS (SELECT 1 FROM snapshots s"
                      "  WHERE s.type = r.type AND s.id = r.id)"
                      " GROUP BY created_month, created_kind"
                      " ON CONFLICT (month, kind) DO UPDATE SET n = n + excluded.n");
    if (rc == 0)
        rc = exec(st, "CREATE TEMP TABLE carried AS SELECT r.type, r.id,"
                      " coalesce(s.seq, 0) AS seq, r.state FROM rebuilt r LEFT JOIN snapshots s"
                      " ON s.type = r.type AND s.id = r.id;"
                      "DELETE FROM snapshots;"
                      "INSERT INTO snapshots (type, id, seq, state)"
                      " SELECT type, id, seq, state FROM carried;"
                      "DROP TABLE carried; DELETE FROM rebuilt;");
    if (rc == 0)
        rc = store_commit(st);
    else
        store_rollback(st);
    *differences = changed + gone;
    return rc;
}

/* A rebuild may have brought projects no event announced: their overlaps
 * are asked for too (alerts.h coalesces and paces the questions). */
static void ask_about_every_project(analytics *a)
{
    size_t n;
    const project_facts *const *p = model_projects(a->model, &n);

    for (size_t i = 0; i < n; i++)
        alerts_project_changed(a->alerts, p[i]->id);
}

static void rebuild_end(rebuild *rb)
{
    analytics *a = rb->a;
    store *st = service_store(a->svc);
    rebuild_result r = {0};
    int rc = rb->rc;

    if (rc == 0)
        rc = swap_snapshots(st, &r.differences);
    else
        exec(st, "DELETE FROM rebuilt");
    if (rc == 0) {
        if (model_take_over(rb->fresh, a->model) != 0)
            log_fmt(LOG_LEVEL_ERROR, "rebuilt figures: out of memory converting money");
        model_free(a->model);
        a->model = rb->fresh;
        rb->fresh = NULL;
        r.entities = rb->listers[0].count;
        r.working_groups = rb->listers[1].count;
        r.projects = rb->listers[2].count;
        ask_about_every_project(a);
        analytics_changed(a);
    }
    if (rc == -EIO && !rb->message[0])
        snprintf(rb->message, sizeof rb->message, "the store failed");
    rb->cb(rb->arg, rc, rb->message[0] ? rb->message : NULL, rc == 0 ? &r : NULL);
    model_free(rb->fresh);
    free(rb);
}

static void lister_done(lister *l, int rc, const char *message)
{
    rebuild *rb = l->rb;

    free(l->page_token);
    l->page_token = NULL;
    if (rc != 0 && rb->rc == 0) {
        rb->rc = rc;
        snprintf(rb->message, sizeof rb->message, "%s", message);
    }
    if (--rb->out == 0)
        rebuild_end(rb);
}

/* ---- a page ---------------------------------------------------------------------------- */

/* "YYYY-MM" of the item's create_time into month[32], or "". */
static void created_month(const ProtobufCMessage *item, char *month)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(item->descriptor, "create_time");
    const Google__Protobuf__Timestamp *ts =
        f && f->type == PROTOBUF_C_TYPE_MESSAGE
            ? *(Google__Protobuf__Timestamp *const *)((const char *)item + f->offset)
            : NULL;
    time_t t = ts ? (time_t)ts->seconds : 0;
    struct tm tm;

    month[0] = '\0';
    if (ts && gmtime_r(&t, &tm))
        snprintf(month, 32, "%04d-%02d", tm.tm_year + 1900, tm.tm_mon + 1);
}

/* Puts one listed state into the model and the table. */
static int put_item(lister *l, const ProtobufCMessage *item)
{
    store *st = service_store(l->rb->a->svc);
    sqlite3_stmt *s = store_stmt(st, "INSERT OR REPLACE INTO rebuilt"
                                     " (type, id, state, created_kind, created_month)"
                                     " VALUES (?1, ?2, ?3, ?4, ?5)");
    char month[32];
    size_t len = protobuf_c_message_get_packed_size(item);
    uint8_t *buf = malloc(len ? len : 1);
    const char *id = pbmsg_string(item, "id");
    int rc;

    if (buf == NULL || s == NULL) {
        free(buf);
        return buf ? -EIO : -ENOMEM;
    }
    protobuf_c_message_pack(item, buf);
    sqlite3_bind_text(s, 1, l->k->type, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, id ? id : "", -1, SQLITE_STATIC);
    sqlite3_bind_blob(s, 3, buf, (int)len, SQLITE_STATIC);
    created_month(item, month);
    sqlite3_bind_text(s, 4, l->k->created, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 5, month, -1, SQLITE_TRANSIENT);
    rc = sqlrow_step_write(st, s);
    free(buf);
    if (rc != 0)
        return rc;
    if (l->k == &kinds[0])
        rc = model_put_entity(l->rb->fresh, (const Entity *)item, 0);
    else if (l->k == &kinds[1])
        rc = model_put_group(l->rb->fresh, (const WorkingGroup *)item, 0);
    else
        rc = model_put_project(l->rb->fresh, (const Project *)item, 0);
    l->count++;
    return rc < 0 ? rc : 0;
}

static int put_page(lister *l, const ProtobufCMessage *reply)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(reply->descriptor, l->k->items);
    size_t n = *(const size_t *)((const char *)reply + f->quantifier_offset);
    ProtobufCMessage *const *items =
        *(ProtobufCMessage *const *const *)((const char *)reply + f->offset);
    store *st = service_store(l->rb->a->svc);
    int rc = store_begin(st);

    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = put_item(l, items[i]);
    if (rc == 0)
        return store_commit(st);
    store_rollback(st);
    return rc;
}

static void on_page(void *arg, rpc_code code, const char *message, const ProtobufCMessage *reply)
{
    lister *l = arg;
    const char *next;
    char text[256];
    int rc;

    if (code != RPC_OK) {
        snprintf(text, sizeof text, "%s.%s: %s %s", l->k->peer, l->k->method, rpc_code_name(code),
                 message ? message : "");
        lister_done(l, -EHOSTUNREACH, text);
        return;
    }
    if (l->rb->a->stopping) { /* a big rebuild would hold the shutdown for its whole length */
        lister_done(l, -ECANCELED, "the service is stopping");
        return;
    }
    if ((rc = put_page(l, reply)) != 0) {
        snprintf(text, sizeof text, "storing %s states: %s", l->k->type, strerror(-rc));
        lister_done(l, rc == -ENOMEM ? rc : -EIO, text);
        return;
    }
    next = pbmsg_string(reply, "next_page_token");
    if (next == NULL || !next[0]) {
        lister_done(l, 0, NULL);
        return;
    }
    free(l->page_token);
    if ((l->page_token = strdup(next)) == NULL) {
        lister_done(l, -ENOMEM, "out of memory");
        return;
    }
    lister_next(l);
}

/* Asks for the next page of `l`. */
static void lister_next(lister *l)
{
    const analytics *a = l->rb->a;
    rpc_channel *ch = service_peer(a->svc, l->k->peer);
    char *token = l->page_token ? l->page_token : "";
    Compact__Membership__V1__ListEntitiesRequest le =
        COMPACT__MEMBERSHIP__V1__LIST_ENTITIES_REQUEST__INIT;
    Compact__Workgroups__V1__ListWorkingGroupsRequest lg =
        COMPACT__WORKGROUPS__V1__LIST_WORKING_GROUPS_REQUEST__INIT;
    Compact__Projects__V1__ListProjectsRequest lp =
        COMPACT__PROJECTS__V1__LIST_PROJECTS_REQUEST__INIT;
    const ProtobufCMessage *req = l->k == &kinds[0]   ? &le.base
                                  : l->k == &kinds[1] ? &lg.base
                                                      : &lp.base;
    int rc = -ENOTCONN;

    le.page_size = lg.page_size = lp.page_size = PAGE_SIZE;
    le.page_token = lg.page_token = lp.page_token = token;
    if (ch != NULL)
        rc = rpc_channel_call(ch, l->k->service, l->k->method, req,
                              service_config(a->svc)->peer_timeout_ms * 5, NULL, on_page, l);
    if (rc != 0) {
        char text[128];
        snprintf(text, sizeof text, "%s: %s", l->k->peer, ch ? strerror(-rc) : "not configured");
        lister_done(l, -EHOSTUNREACH, text);
    }
}

void rebuild_start(analytics *a, rebuild_done_cb cb, void *arg)
{
    rebuild *rb = calloc(1, sizeof *rb);
    store *st = service_store(a->svc);

    if (rb == NULL || model_new_like(a->model, &rb->fresh) != 0) {
        free(rb);
        cb(arg, -ENOMEM, "out of memory", NULL);
        return;
    }
    rb->a = a;
    rb->cb = cb;
    rb->arg = arg;
    if (exec(st, SQL_CREATE) != 0 || exec(st, "DELETE FROM rebuilt") != 0) {
        model_free(rb->fresh);
        free(rb);
        cb(arg, -EIO, "the store failed", NULL);
        return;
    }
    rb->out = KINDS;
    for (size_t i = 0; i < KINDS; i++)
        rb->listers[i] = (lister){.rb = rb, .k = &kinds[i]};
    for (size_t i = 0; i < KINDS; i++)
        lister_next(&rb->listers[i]);
}

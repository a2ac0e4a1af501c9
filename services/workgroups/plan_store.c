/* plan_store.c: terms of reference and work plan items (see plan_store.h). */
#include "plan_store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "etag.h"
#include "pbtime.h"
#include "sqlrow.h"

/* The tables are created by group_store.c's migration. */

#define TOR_COLUMNS "version, text, approved_on, record_time_ms, decision_ref"

static const char SQL_CURRENT_TOR[] = "SELECT " TOR_COLUMNS " FROM terms_of_reference"
                                      " WHERE group_id = ?1 ORDER BY version DESC LIMIT 1";
static const char SQL_GET_TOR[] =
    "SELECT " TOR_COLUMNS " FROM terms_of_reference WHERE group_id = ?1 AND version = ?2";
static const char SQL_NEXT_TOR_VERSION[] =
    "SELECT COALESCE(MAX(version), 0) + 1 FROM terms_of_reference WHERE group_id = ?1";
static const char SQL_INSERT_TOR[] =
    "INSERT INTO terms_of_reference (group_id, version, text, approved_on, record_time_ms,"
    " decision_ref) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
static const char SQL_LIST_TOR[] =
    "SELECT " TOR_COLUMNS " FROM terms_of_reference"
    " WHERE group_id = ?1 AND version > ?2 ORDER BY version LIMIT ?3";
static const char SQL_TOR_BY_DECISION[] =
    "SELECT version FROM terms_of_reference WHERE group_id = ?1 AND decision_ref = ?2";
static const char SQL_PLAN_BY_DECISION[] =
    "SELECT version FROM approved_work_plans WHERE group_id = ?1 AND decision_ref = ?2";

static const char SQL_PLANS[] =
    "SELECT version, period_start, period_end, approved_on, decision_ref, record_time_ms"
    " FROM approved_work_plans WHERE group_id = ?1 ORDER BY version";
static const char SQL_PLAN_ITEMS[] =
    "SELECT version, item_id FROM approved_work_plan_items WHERE group_id = ?1"
    " ORDER BY version, position";
static const char SQL_NEXT_PLAN_VERSION[] =
    "SELECT COALESCE(MAX(version), 0) + 1 FROM approved_work_plans WHERE group_id = ?1";
static const char SQL_INSERT_PLAN[] =
    "INSERT INTO approved_work_plans (group_id, version, period_start, period_end, approved_on,"
    " decision_ref, record_time_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
static const char SQL_INSERT_PLAN_ITEM[] =
    "INSERT INTO approved_work_plan_items (group_id, version, position, item_id)"
    " VALUES (?1, ?2, ?3, ?4)";

#define ITEM_COLUMNS                                                                               \
    "id, title, description, owner_entity_id, due_on, status, create_time_ms, "                    \
    "update_time_ms, version"

static const char SQL_ITEMS[] =
    "SELECT " ITEM_COLUMNS " FROM work_items WHERE group_id = ?1 ORDER BY position";
static const char SQL_GET_ITEM[] =
    "SELECT " ITEM_COLUMNS " FROM work_items WHERE group_id = ?1 AND id = ?2";
static const char SQL_ITEM_PROJECTS[] =
    "SELECT project_id FROM work_item_projects WHERE item_id = ?1 ORDER BY position";
static const char SQL_INSERT_ITEM[] =
    "INSERT INTO work_items (id, group_id, position, title, description, owner_entity_id,"
    " due_on, status, create_time_ms, update_time_ms, version)"
    " VALUES (?1, ?2, (SELECT COALESCE(MAX(position), 0) + 1 FROM work_items"
    "                  WHERE group_id = ?2), ?3, ?4, ?5, ?6, ?7, ?8, ?9, 1)";
static const char SQL_UPDATE_ITEM[] =
    "UPDATE work_items SET title = ?2, description = ?3, owner_entity_id = ?4, due_on = ?5,"
    " status = ?6, update_time_ms = ?7, version = version + 1"
    " WHERE id = ?1 AND version = ?8";
static const char SQL_ITEM_EXISTS[] = "SELECT 1 FROM work_items WHERE id = ?1";
static const char SQL_DELETE_ITEM_PROJECTS[] = "DELETE FROM work_item_projects WHERE item_id = ?1";
static const char SQL_INSERT_ITEM_PROJECT[] =
    "INSERT INTO work_item_projects (item_id, position, project_id) VALUES (?1, ?2, ?3)";

/* ---- terms of reference --------------------------------------------------- */

/* A TermsOfReference from the current row (TOR_COLUMNS). */
static int row_to_tor(sqlite3_stmt *s, TermsOfReference **out)
{
    TermsOfReference *t = malloc(sizeof *t);

    *out = NULL;
    if (t == NULL)
        return -ENOMEM;
    compact__workgroups__v1__terms_of_reference__init(t);
    t->version = sqlite3_column_int(s, 0);
    t->record_time = pbtime_new(sqlite3_column_int64(s, 3));
    if (t->record_time == NULL || sqlrow_text(s, 1, &t->text) ||
        sqlrow_text(s, 2, &t->approved_on) || sqlrow_text(s, 4, &t->decision_ref)) {
        protobuf_c_message_free_unpacked(&t->base, NULL);
        return -ENOMEM;
    }
    *out = t;
    return 0;
}

/* One version from `s`, bound by the caller. */
static int get_tor(store *st, sqlite3_stmt *s, TermsOfReference **out)
{
    int rc = sqlite3_step(s);

    if (rc == SQLITE_ROW)
        rc = row_to_tor(s, out);
    else
        rc = rc == SQLITE_DONE ? -ENOENT : store_result(st, rc);
    sqlite3_reset(s);
    return rc;
}

int plan_store_current_tor(store *st, const char *group_id, TermsOfReference **out)
{
    sqlite3_stmt *s = store_stmt(st, SQL_CURRENT_TOR);

    *out = NULL;
    if (s == NULL)
        return -EIO;
    sqlite3_bind_text(s, 1, group_id, -1, SQLITE_STATIC);
    return get_tor(st, s, out);
}

int plan_store_get_tor(store *st, const char *group_id, int32_t version, TermsOfReference **out)
{
    sqlite3_stmt *s = store_stmt(st, SQL_GET_TOR);

    *out = NULL;
    if (s == NULL)
        return -EIO;
    sqlite3_bind_text(s, 1, group_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, version);
    return get_tor(st, s, out);
}

/* The version `sql` (?1 the group, ?2 the decision) selects, or 0. */
static int version_of(store *st, const char *sql, const char *group_id, const char *ref,
                      int32_t *version)
{
    sqlite3_stmt *s = store_stmt(st, sql);
    int rc;

    *version = 0;
    if (s == NULL)
        return -EIO;
    sqlite3_bind_text(s, 1, group_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, ref, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *version = sqlite3_column_int(s, 0);
        rc = SQLITE_DONE;
    }
    sqlite3_reset(s);
    return store_result(st, rc);
}

int plan_store_find_decision(store *st, const char *group_id, const char *decision_ref,
                             int32_t *tor_version, int32_t *plan_version)
{
    int rc = version_of(st, SQL_TOR_BY_DECISION, group_id, decision_ref, tor_version);

    return rc ? rc : version_of(st, SQL_PLAN_BY_DECISION, group_id, decision_ref, plan_version);
}

/* The next version number `sql` (?1 the group) gives. */
static int next_version(store *st, const char *sql, const char *group_id, int32_t *version)
{
    sqlite3_stmt *s = store_stmt(st, sql);
    int rc;

    if (s == NULL)
        return -EIO;
    sqlite3_bind_text(s, 1, group_id, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    *version = rc == SQLITE_ROW ? sqlite3_column_int(s, 0) : 0;
    sqlite3_reset(s);
    if (rc != SQLITE_ROW)
        return rc == SQLITE_DONE ? -EIO : store_result(st, rc);
    return 0;
}

int plan_store_add_tor(store *st, const char *group_id, const TermsOfReference *t, int64_t now_ms,
                       int32_t *version)
{
    sqlite3_stmt *s;
    int rc = next_version(st, SQL_NEXT_TOR_VERSION, group_id, version);

    if (rc != 0)
        return rc;
    if ((s = store_stmt(st, SQL_INSERT_TOR)) == NULL)
        return -EIO;
    sqlite3_bind_text(s, 1, group_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, *version);
    sqlite3_bind_text(s, 3, t->text, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, t->approved_on, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 5, now_ms);
    sqlite3_bind_text(s, 6, t->decision_ref, -1, SQLITE_STATIC);
    return sqlrow_step_write(st, s);
}

void plan_store_free_tor_list(TermsOfReference **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        protobuf_c_message_free_unpacked(&v[i]->base, NULL);
    free(v);
}

int plan_store_list_tor(store *st, const char *group_id, int32_t after_version, size_t limit,
                        TermsOfReference ***out, size_t *n)
{
    sqlite3_stmt *s = store_stmt(st, SQL_LIST_TOR);
    TermsOfReference **v = calloc(limit ? limit : 1, sizeof *v);
    int rc = SQLITE_DONE;

    *out = NULL;
    *n = 0;
    if (s == NULL || v == NULL) {
        free(v);
        return s == NULL ? -EIO : -ENOMEM;
    }
    sqlite3_bind_text(s, 1, group_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, after_version);
    sqlite3_bind_int64(s, 3, (sqlite3_int64)limit);
    while (*n < limit && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        if ((rc = row_to_tor(s, &v[*n])) != 0)
            break;
        (*n)++;
    }
    sqlite3_reset(s);
    if (rc > 0) /* a SQLite code: 0 for ROW and DONE */
        rc = store_result(st, rc);
    if (rc != 0) {
        plan_store_free_tor_list(v, *n);
        *n = 0;
        return rc;
    }
    *out = v;
    return 0;
}

/* ---- work plan items ------------------------------------------------------ */

void plan_store_free_items(WorkPlanItem **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        protobuf_c_message_free_unpacked(&v[i]->base, NULL);
    free(v);
}

/* An item from the current row of a statement selecting ITEM_COLUMNS. */
static int row_to_item(sqlite3_stmt *s, WorkPlanItem **out, int64_t *version)
{
    WorkPlanItem *it = malloc(sizeof *it);
    int64_t v;

    *out = NULL;
    if (it == NULL)
        return -ENOMEM;
    compact__workgroups__v1__work_plan_item__init(it);
    it->status = sqlite3_column_int(s, 5);
    it->create_time = pbtime_new(sqlite3_column_int64(s, 6));
    it->update_time = pbtime_new(sqlite3_column_int64(s, 7));
    v = sqlite3_column_int64(s, 8);
    if (it->create_time == NULL || it->update_time == NULL || sqlrow_text(s, 0, &it->id) ||
        sqlrow_text(s, 1, &it->title) || sqlrow_text(s, 2, &it->description) ||
        sqlrow_text(s, 3, &it->owner_entity_id) || sqlrow_text(s, 4, &it->due_on) ||
        etag_set(&it->etag, it->id, v)) {
        protobuf_c_message_free_unpacked(&it->base, NULL);
        return -ENOMEM;
    }
    if (version)
        *version = v;
    *out = it;
    return 0;
}

static int load_projects(store *st, WorkPlanItem *it)
{
    sqlite3_stmt *s = store_stmt(st, SQL_ITEM_PROJECTS);
    int rc;

    if (s == NULL)
        return -EIO;
    sqlite3_bind_text(s, 1, it->id, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        size_t n = it->n_project_ids;
        char **grown = realloc(it->project_ids, (n + 1) * sizeof *grown);
        if (grown != NULL) {
            it->project_ids = grown;
            grown[n] = NULL;
            it->n_project_ids++;
        }
        if (grown == NULL || sqlrow_text(s, 0, &grown[n])) {
            sqlite3_reset(s);
            return -ENOMEM;
        }
    }
    sqlite3_reset(s);
    return store_result(st, rc);
}

int plan_store_items(store *st, const char *group_id, WorkPlanItem ***out, size_t *n)
{
    sqlite3_stmt *s = store_stmt(st, SQL_ITEMS);
    WorkPlanItem **v = NULL;
    int rc;

    *out = NULL;
    *n = 0;
    if (s == NULL)
        return -EIO;
    sqlite3_bind_text(s, 1, group_id, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        WorkPlanItem **grown = realloc(v, (*n + 1) * sizeof *grown);
        if (grown == NULL) {
            rc = -ENOMEM;
            break;
        }
        v = grown;
        if ((rc = row_to_item(s, &v[*n], NULL)) != 0)
            break;
        (*n)++;
    }
    sqlite3_reset(s);
    if (rc > 0) /* a SQLite code: 0 for DONE */
        rc = store_result(st, rc);
    /* Project ids after the item statement is reset: one statement at a time. */
    for (size_t i = 0; rc == 0 && i < *n; i++)
        rc = load_projects(st, v[i]);
    if (rc != 0) {
        plan_store_free_items(v, *n);
        *n = 0;
        return rc;
    }
    *out = v;
    return 0;
}

int plan_store_get_item(store *st, const char *group_id, const char *item_id, WorkPlanItem **out,
                        int64_t *version)
{
    sqlite3_stmt *s = store_stmt(st, SQL_GET_ITEM);
    int rc;

    *out = NULL;
    if (s == NULL)
        return -EIO;
    sqlite3_bind_text(s, 1, group_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, item_id, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        rc = row_to_item(s, out, version);
    else
        rc = rc == SQLITE_DONE ? -ENOENT : store_result(st, rc);
    sqlite3_reset(s);
    if (rc == 0 && (rc = load_projects(st, *out)) != 0) {
        protobuf_c_message_free_unpacked(&(*out)->base, NULL);
        *out = NULL;
    }
    return rc;
}

static int write_projects(store *st, const WorkPlanItem *it)
{
    sqlite3_stmt *s = store_stmt(st, SQL_DELETE_ITEM_PROJECTS);
    int rc;

    if (s == NULL)
        return -EIO;
    sqlite3_bind_text(s, 1, it->id, -1, SQLITE_STATIC);
    if ((rc = sqlrow_step_write(st, s)) != 0)
        return rc;
    for (size_t i = 0; i < it->n_project_ids; i++) {
        if ((s = store_stmt(st, SQL_INSERT_ITEM_PROJECT)) == NULL)
            return -EIO;
        sqlite3_bind_text(s, 1, it->id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, (sqlite3_int64)i);
        sqlite3_bind_text(s, 3, it->project_ids[i], -1, SQLITE_STATIC);
        if ((rc = sqlrow_step_write(st, s)) != 0)
            return rc;
    }
    return 0;
}

int plan_store_insert_item(store *st, const char *group_id, WorkPlanItem *it)
{
    sqlite3_stmt *s = store_stmt(st, SQL_INSERT_ITEM);
    int rc;

    if (s == NULL)
        return -EIO;
    sqlite3_bind_text(s, 1, it->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, group_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, it->title, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, it->description, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 5, it->owner_entity_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 6, it->due_on, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 7, (int)it->status);
    sqlite3_bind_int64(s, 8, pbtime_ms(it->create_time));
    sqlite3_bind_int64(s, 9, pbtime_ms(it->update_time));
    if ((rc = sqlrow_step_write(st, s)) != 0 || (rc = write_projects(st, it)) != 0)
        return rc;
    return etag_set(&it->etag, it->id, 1);
}

int plan_store_update_item(store *st, WorkPlanItem *it, int64_t version)
{
    sqlite3_stmt *s = store_stmt(st, SQL_UPDATE_ITEM);
    int rc;

    if (s == NULL)
        return -EIO;
    sqlite3_bind_text(s, 1, it->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, it->title, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, it->description, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, it->owner_entity_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 5, it->due_on, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 6, (int)it->status);
    sqlite3_bind_int64(s, 7, pbtime_ms(it->update_time));
    sqlite3_bind_int64(s, 8, version);
    if ((rc = sqlrow_step_write(st, s)) != 0)
        return rc;
    if (sqlite3_changes(store_db(st)) == 0) {
        rc = sqlrow_exists(st, SQL_ITEM_EXISTS, it->id);
        return rc < 0 ? rc : rc ? -ESTALE : -ENOENT;
    }
    if ((rc = write_projects(st, it)) != 0)
        return rc;
    return etag_set(&it->etag, it->id, version + 1);
}

/* ---- approved work plans ---------------------------------------------------- */

void plan_store_free_plans(ApprovedWorkPlan **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        protobuf_c_message_free_unpacked(&v[i]->base, NULL);
    free(v);
}

/* An ApprovedWorkPlan from the current row of SQL_PLANS. */
static int row_to_plan(sqlite3_stmt *s, ApprovedWorkPlan **out)
{
    ApprovedWorkPlan *p = malloc(sizeof *p);

    *out = NULL;
    if (p == NULL)
        return -ENOMEM;
    compact__workgroups__v1__approved_work_plan__init(p);
    p->version = sqlite3_column_int(s, 0);
    p->record_time = pbtime_new(sqlite3_column_int64(s, 5));
    if (p->record_time == NULL || sqlrow_text(s, 1, &p->period_start) ||
        sqlrow_text(s, 2, &p->period_end) || sqlrow_text(s, 3, &p->approved_on) ||
        sqlrow_text(s, 4, &p->decision_ref)) {
        protobuf_c_message_free_unpacked(&p->base, NULL);
        return -ENOMEM;
    }
    *out = p;
    return 0;
}

static int add_item_id(ApprovedWorkPlan *p, sqlite3_stmt *s)
{
    size_t n = p->n_item_ids;
    char **grown = realloc(p->item_ids, (n + 1) * sizeof *grown);

    if (grown == NULL)
        return -ENOMEM;
    p->item_ids = grown;
    grown[n] = NULL;
    p->n_item_ids++;
    return sqlrow_text(s, 1, &grown[n]);
}

/* The item ids of every plan of v[0..n) (in version order). */
static int load_plan_items(store *st, const char *group_id, ApprovedWorkPlan **v, size_t n)
{
    sqlite3_stmt *s = store_stmt(st, SQL_PLAN_ITEMS);
    size_t at = 0;
    int rc;

    if (s == NULL)
        return -EIO;
    sqlite3_bind_text(s, 1, group_id, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int32_t version = sqlite3_column_int(s, 0);
        while (at < n && v[at]->version < version)
            at++;
        if (at == n || v[at]->version != version)
            continue; /* cannot be: the foreign key */
        if (add_item_id(v[at], s)) {
            sqlite3_reset(s);
            return -ENOMEM;
        }
    }
    sqlite3_reset(s);
    return store_result(st, rc);
}

int plan_store_approved_plans(store *st, const char *group_id, ApprovedWorkPlan ***out, size_t *n)
{
    sqlite3_stmt *s = store_stmt(st, SQL_PLANS);
    ApprovedWorkPlan **v = NULL;
    int rc;

    *out = NULL;
    *n = 0;
    if (s == NULL)
        return -EIO;
    sqlite3_bind_text(s, 1, group_id, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        ApprovedWorkPlan **grown = realloc(v, (*n + 1) * sizeof *grown);
        if (grown == NULL) {
            rc = -ENOMEM;
            break;
        }
        v = grown;
        if ((rc = row_to_plan(s, &v[*n])) != 0)
            break;
        (*n)++;
    }
    sqlite3_reset(s);
    if (rc > 0) /* a SQLite code: 0 for DONE */
        rc = store_result(st, rc);
    if (rc == 0 && *n > 0)
        rc = load_plan_items(st, group_id, v, *n);
    if (rc != 0) {
        plan_store_free_plans(v, *n);
        *n = 0;
        return rc;
    }
    *out = v;
    return 0;
}

int plan_store_add_approved_plan(store *st, const char *group_id, const ApprovedWorkPlan *p,
                                 int64_t now_ms, int32_t *version)
{
    sqlite3_stmt *s;
    int rc = next_version(st, SQL_NEXT_PLAN_VERSION, group_id, version);

    if (rc != 0)
        return rc;
    if ((s = store_stmt(st, SQL_INSERT_PLAN)) == NULL)
        return -EIO;
    sqlite3_bind_text(s, 1, group_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, *version);
    sqlite3_bind_text(s, 3, p->period_start, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, p->period_end, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 5, p->approved_on, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 6, p->decision_ref, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 7, now_ms);
    if ((rc = sqlrow_step_write(st, s)) != 0)
        return rc;
    for (size_t i = 0; i < p->n_item_ids; i++) {
        if ((s = store_stmt(st, SQL_INSERT_PLAN_ITEM)) == NULL)
            return -EIO;
        sqlite3_bind_text(s, 1, group_id, -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 2, *version);
        sqlite3_bind_int64(s, 3, (sqlite3_int64)i);
        sqlite3_bind_text(s, 4, p->item_ids[i], -1, SQLITE_STATIC);
        if ((rc = sqlrow_step_write(st, s)) != 0)
            return rc;
    }
    return 0;
}

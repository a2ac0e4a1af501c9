/* notice_store.c: notices and subscriptions (see notice_store.h). */
#include "notice_store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pbtime.h"
#include "sqlrow.h"

/* The tables are created by group_store.c's second migration. */

#define NOTICE_COLUMNS                                                                             \
    "n.id, n.working_group_id, n.kind, n.title, n.body, n.document_url, n.visibility, "            \
    "n.author_entity_id, n.decision_ref, n.post_time_ms"

/* Who may see notice n: anyone a public one; an active entity one to the
 * whole Compact; an active leader or member of its group a members-only one.
 * ?A is whether the reader is active, ?E the reader's entity id. */
#define VISIBLE(A, E)                                                                              \
    "(n.visibility = 1 OR (" A " = 1 AND (n.visibility = 2 OR (n.visibility = 3 AND ("             \
    "  EXISTS (SELECT 1 FROM groups g WHERE g.id = n.working_group_id"                             \
    "          AND g.chair_entity_id = " E ")"                                                     \
    "  OR EXISTS (SELECT 1 FROM group_vice_chairs v WHERE v.group_id = n.working_group_id"         \
    "             AND v.entity_id = " E ")"                                                        \
    "  OR EXISTS (SELECT 1 FROM group_members m WHERE m.group_id = n.working_group_id"             \
    "             AND m.entity_id = " E "))))))"

static const char SQL_LATEST[] = "SELECT COALESCE(MAX(post_time_ms), 0) FROM notices";
static const char SQL_INSERT[] =
    "INSERT INTO notices (id, working_group_id, kind, title, body, document_url, visibility,"
    " author_entity_id, decision_ref, post_time_ms)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";
static const char SQL_GET[] = "SELECT " NOTICE_COLUMNS " FROM notices n WHERE n.id = ?1";
static const char SQL_LIST[] = "SELECT " NOTICE_COLUMNS " FROM notices n"
                               " WHERE (?1 = '' OR n.working_group_id = ?1)"
                               " AND (?2 = 0 OR n.post_time_ms < ?2)"
                               " AND " VISIBLE("?3", "?4") " ORDER BY n.post_time_ms DESC LIMIT ?5";
static const char SQL_DIGEST[] =
    "SELECT " NOTICE_COLUMNS " FROM notices n WHERE n.post_time_ms > ?1"
    " AND ((n.working_group_id = '' AND ?2 = 1)"
    "      OR n.working_group_id IN (SELECT group_id FROM subscription_groups"
    "                                WHERE subscription_id = ?3))"
    " AND " VISIBLE("?4", "?5") " ORDER BY n.post_time_ms LIMIT ?6";
static const char SQL_AUDIENCE[] =
    "SELECT chair_entity_id FROM groups WHERE id = ?1 AND chair_entity_id <> ''"
    " UNION SELECT entity_id FROM group_vice_chairs WHERE group_id = ?1"
    " UNION SELECT entity_id FROM group_members WHERE group_id = ?1";

static const char SQL_INSERT_SUB[] =
    "INSERT INTO subscriptions (id, entity_id, focal_point_email, compact_wide, create_time_ms)"
    " VALUES (?1, ?2, ?3, ?4, ?5)";
static const char SQL_INSERT_SUB_GROUP[] =
    "INSERT INTO subscription_groups (subscription_id, position, group_id) VALUES (?1, ?2, ?3)";
static const char SQL_GET_SUB[] =
    "SELECT id, entity_id, focal_point_email, compact_wide, create_time_ms FROM subscriptions"
    " WHERE id = ?1";
static const char SQL_SUB_GROUPS[] =
    "SELECT group_id FROM subscription_groups WHERE subscription_id = ?1 ORDER BY position";
static const char SQL_DELETE_SUB[] = "DELETE FROM subscriptions WHERE id = ?1";

/* ---- notices ------------------------------------------------------------- */

int notice_store_latest_post_ms(store *st, int64_t *out)
{
    sqlite3_stmt *s = store_stmt(st, SQL_LATEST);
    int rc;

    *out = 0;
    if (s == NULL)
        return -EIO;
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int64(s, 0);
        rc = SQLITE_DONE;
    }
    sqlite3_reset(s);
    return store_result(st, rc);
}

int notice_store_next_post_ms(store *st, int64_t now_ms, int64_t *out)
{
    int64_t latest;
    int rc = notice_store_latest_post_ms(st, &latest);

    *out = latest >= now_ms ? latest + 1 : now_ms;
    return rc;
}

int notice_store_insert(store *st, const Notice *n)
{
    sqlite3_stmt *s = store_stmt(st, SQL_INSERT);

    if (s == NULL)
        return -EIO;
    sqlite3_bind_text(s, 1, n->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, n->working_group_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 3, (int)n->kind);
    sqlite3_bind_text(s, 4, n->title, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 5, n->body, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 6, n->document_url, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 7, (int)n->visibility);
    sqlite3_bind_text(s, 8, n->author_entity_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 9, n->decision_ref, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 10, pbtime_ms(n->post_time));
    return sqlrow_step_write(st, s);
}

/* A notice from the current row (NOTICE_COLUMNS). */
static int row_to_notice(sqlite3_stmt *s, Notice **out)
{
    Notice *n = malloc(sizeof *n);

    *out = NULL;
    if (n == NULL)
        return -ENOMEM;
    compact__workgroups__v1__notice__init(n);
    n->kind = sqlite3_column_int(s, 2);
    n->visibility = sqlite3_column_int(s, 6);
    n->post_time = pbtime_new(sqlite3_column_int64(s, 9));
    if (n->post_time == NULL || sqlrow_text(s, 0, &n->id) ||
        sqlrow_text(s, 1, &n->working_group_id) || sqlrow_text(s, 3, &n->title) ||
        sqlrow_text(s, 4, &n->body) || sqlrow_text(s, 5, &n->document_url) ||
        sqlrow_text(s, 7, &n->author_entity_id) || sqlrow_text(s, 8, &n->decision_ref)) {
        protobuf_c_message_free_unpacked(&n->base, NULL);
        return -ENOMEM;
    }
    *out = n;
    return 0;
}

int notice_store_get(store *st, const char *id, Notice **out)
{
    sqlite3_stmt *s = store_stmt(st, SQL_GET);
    int rc;

    *out = NULL;
    if (s == NULL)
        return -EIO;
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        rc = row_to_notice(s, out);
    else
        rc = rc == SQLITE_DONE ? -ENOENT : store_result(st, rc);
    sqlite3_reset(s);
    return rc;
}

void notice_store_free_list(Notice **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        protobuf_c_message_free_unpacked(&v[i]->base, NULL);
    free(v);
}

/* Steps the bound `s` for up to `limit` notices. */
static int collect(store *st, sqlite3_stmt *s, size_t limit, Notice ***out, size_t *n)
{
    Notice **v = calloc(limit ? limit : 1, sizeof *v);
    int rc = v ? SQLITE_DONE : -ENOMEM;

    while (v && *n < limit && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        if ((rc = row_to_notice(s, &v[*n])) != 0)
            break;
        (*n)++;
    }
    sqlite3_reset(s);
    if (rc == SQLITE_ROW || rc == SQLITE_DONE)
        rc = 0;
    else if (rc > 0)
        rc = store_result(st, rc);
    if (rc != 0) {
        if (v)
            notice_store_free_list(v, *n);
        *n = 0;
        return rc;
    }
    *out = v;
    return 0;
}

int notice_store_list(store *st, const char *group_id, const notice_reader *r, int64_t before_ms,
                      size_t limit, Notice ***out, size_t *n)
{
    sqlite3_stmt *s = store_stmt(st, SQL_LIST);

    *out = NULL;
    *n = 0;
    if (s == NULL)
        return -EIO;
    sqlite3_bind_text(s, 1, group_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, before_ms);
    sqlite3_bind_int(s, 3, r->active ? 1 : 0);
    sqlite3_bind_text(s, 4, r->entity_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 5, (sqlite3_int64)limit);
    return collect(st, s, limit, out, n);
}

int notice_store_digest(store *st, const Subscription *sub, const notice_reader *r,
                        int64_t since_ms, size_t limit, Notice ***out, size_t *n)
{
    sqlite3_stmt *s = store_stmt(st, SQL_DIGEST);

    *out = NULL;
    *n = 0;
    if (s == NULL)
        return -EIO;
    sqlite3_bind_int64(s, 1, since_ms);
    sqlite3_bind_int(s, 2, sub->compact_wide ? 1 : 0);
    sqlite3_bind_text(s, 3, sub->id, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 4, r->active ? 1 : 0);
    sqlite3_bind_text(s, 5, r->entity_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 6, (sqlite3_int64)limit);
    return collect(st, s, limit, out, n);
}

void notice_store_free_ids(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* Appends text column 0 of the current row of `s` to v[0..*n). */
static int append_id(sqlite3_stmt *s, char ***v, size_t *n)
{
    const unsigned char *text = sqlite3_column_text(s, 0);
    char **grown = realloc(*v, (*n + 1) * sizeof *grown);
    char *copy;

    if (grown == NULL)
        return -ENOMEM;
    *v = grown;
    if ((copy = strdup(text ? (const char *)text : "")) == NULL)
        return -ENOMEM;
    grown[(*n)++] = copy;
    return 0;
}

int notice_store_audience(store *st, const char *group_id, char ***out, size_t *n)
{
    sqlite3_stmt *s = store_stmt(st, SQL_AUDIENCE);
    char **v = NULL;
    int rc;

    *out = NULL;
    *n = 0;
    if (s == NULL)
        return -EIO;
    sqlite3_bind_text(s, 1, group_id, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if ((rc = append_id(s, &v, n)) != 0)
            break;
    }
    sqlite3_reset(s);
    if (rc > 0) /* a SQLite code: 0 for DONE */
        rc = store_result(st, rc);
    if (rc != 0) {
        notice_store_free_ids(v, *n);
        *n = 0;
        return rc;
    }
    *out = v;
    return 0;
}

/* ---- subscriptions ----------------------------------------------------------- */

int notice_store_insert_subscription(store *st, const Subscription *sub)
{
    sqlite3_stmt *s = store_stmt(st, SQL_INSERT_SUB);
    int rc;

    if (s == NULL)
        return -EIO;
    sqlite3_bind_text(s, 1, sub->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, sub->entity_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, sub->focal_point_email, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 4, sub->compact_wide ? 1 : 0);
    sqlite3_bind_int64(s, 5, pbtime_ms(sub->create_time));
    if ((rc = sqlrow_step_write(st, s)) != 0)
        return rc;
    for (size_t i = 0; i < sub->n_working_group_ids; i++) {
        if ((s = store_stmt(st, SQL_INSERT_SUB_GROUP)) == NULL)
            return -EIO;
        sqlite3_bind_text(s, 1, sub->id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, (sqlite3_int64)i);
        sqlite3_bind_text(s, 3, sub->working_group_ids[i], -1, SQLITE_STATIC);
        if ((rc = sqlrow_step_write(st, s)) != 0)
            return rc;
    }
    return 0;
}

static int load_sub_groups(store *st, Subscription *sub)
{
    sqlite3_stmt *s = store_stmt(st, SQL_SUB_GROUPS);
    int rc;

    if (s == NULL)
        return -EIO;
    sqlite3_bind_text(s, 1, sub->id, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if ((rc = append_id(s, &sub->working_group_ids, &sub->n_working_group_ids)) != 0)
            break;
    }
    sqlite3_reset(s);
    return rc > 0 ? store_result(st, rc) : rc;
}

int notice_store_get_subscription(store *st, const char *id, Subscription **out)
{
    sqlite3_stmt *s = store_stmt(st, SQL_GET_SUB);
    Subscription *sub;
    int rc;

    *out = NULL;
    if (s == NULL)
        return -EIO;
    if ((sub = malloc(sizeof *sub)) == NULL)
        return -ENOMEM;
    compact__workgroups__v1__subscription__init(sub);
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        sub->compact_wide = sqlite3_column_int(s, 3) != 0;
        sub->create_time = pbtime_new(sqlite3_column_int64(s, 4));
        rc = sub->create_time == NULL || sqlrow_text(s, 0, &sub->id) ||
                     sqlrow_text(s, 1, &sub->entity_id) ||
                     sqlrow_text(s, 2, &sub->focal_point_email)
                 ? -ENOMEM
                 : 0;
    } else {
        rc = rc == SQLITE_DONE ? -ENOENT : store_result(st, rc);
    }
    sqlite3_reset(s);
    if (rc == 0)
        rc = load_sub_groups(st, sub);
    if (rc != 0) {
        protobuf_c_message_free_unpacked(&sub->base, NULL);
        return rc;
    }
    *out = sub;
    return 0;
}

int notice_store_delete_subscription(store *st, const char *id)
{
    sqlite3_stmt *s = store_stmt(st, SQL_DELETE_SUB);
    int rc;

    if (s == NULL)
        return -EIO;
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    if ((rc = sqlrow_step_write(st, s)) != 0)
        return rc;
    return sqlite3_changes(store_db(st)) ? 0 : -ENOENT;
}

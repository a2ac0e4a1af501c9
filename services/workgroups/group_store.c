/* group_store.c: the workgroups service's tables and queries, part one. */
#include "group_store.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "etag.h"
#include "pbstr.h"
#include "pbtime.h"
#include "plan_store.h"
#include "provenance_store.h"
#include "sqlrow.h"

/* ---- schema ------------------------------------------------------------- */

/* Child tables rather than packed protobuf columns, for the reasons
 * membership gives (see its entity_store.c): the database stays readable and
 * queryable with the sqlite3 shell ("which groups does UNODC chair?"), and
 * the List filters are plain indexed queries.
 *
 * code_lower carries the case-insensitive uniqueness and the list order.
 * chair_entity_id is '' until SetLeadership. Terms of reference are keyed by
 * (group, version) and never updated. Work plan items keep their place in
 * the plan (position) and their own version, for their own etags. CHECK
 * constraints repeat the enum ranges so that a bug in the handlers cannot
 * store a value the API would never return. */
static const char schema_v1[] =
    "CREATE TABLE groups ("
    "  id              TEXT PRIMARY KEY,"
    "  code            TEXT NOT NULL,"
    "  code_lower      TEXT NOT NULL UNIQUE,"
    "  title           TEXT NOT NULL,"
    "  mandate         TEXT NOT NULL DEFAULT '',"
    "  status          INTEGER NOT NULL CHECK (status IN (1, 2)),"
    "  chair_entity_id TEXT NOT NULL DEFAULT '',"
    "  verified        INTEGER NOT NULL DEFAULT 0 CHECK (verified IN (0, 1)),"
    "  source_note     TEXT NOT NULL DEFAULT '',"
    "  create_time_ms  INTEGER NOT NULL,"
    "  update_time_ms  INTEGER NOT NULL,"
    "  version         INTEGER NOT NULL CHECK (version >= 1)"
    ") STRICT;"
    "CREATE INDEX groups_by_chair ON groups (chair_entity_id);"
    "CREATE TABLE group_pillars ("
    "  group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,"
    "  pillar   INTEGER NOT NULL CHECK (pillar BETWEEN 1 AND 4),"
    "  PRIMARY KEY (group_id, pillar)"
    ") STRICT, WITHOUT ROWID;"
    "CREATE INDEX group_pillars_by_pillar ON group_pillars (pillar, group_id);"
    "CREATE TABLE group_vice_chairs ("
    "  group_id  TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,"
    "  position  INTEGER NOT NULL,"
    "  entity_id TEXT NOT NULL,"
    "  PRIMARY KEY (group_id, position),"
    "  UNIQUE (group_id, entity_id)"
    ") STRICT, WITHOUT ROWID;"
    "CREATE INDEX group_vice_chairs_by_entity ON group_vice_chairs (entity_id);"
    "CREATE TABLE group_members ("
    "  group_id    TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,"
    "  entity_id   TEXT NOT NULL,"
    "  role        INTEGER NOT NULL CHECK (role IN (1, 2)),"
    "  add_time_ms INTEGER NOT NULL,"
    "  PRIMARY KEY (group_id, entity_id)"
    ") STRICT, WITHOUT ROWID;"
    "CREATE INDEX group_members_by_entity ON group_members (entity_id);"
    "CREATE TABLE terms_of_reference ("
    "  group_id       TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,"
    "  version        INTEGER NOT NULL CHECK (version >= 1),"
    "  text           TEXT NOT NULL,"
    "  approved_on    TEXT NOT NULL,"
    "  record_time_ms INTEGER NOT NULL,"
    "  PRIMARY KEY (group_id, version)"
    ") STRICT, WITHOUT ROWID;"
    "CREATE TABLE work_items ("
    "  id              TEXT PRIMARY KEY,"
    "  group_id        TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,"
    "  position        INTEGER NOT NULL,"
    "  title           TEXT NOT NULL,"
    "  description     TEXT NOT NULL DEFAULT '',"
    "  owner_entity_id TEXT NOT NULL,"
    "  due_on          TEXT NOT NULL DEFAULT '',"
    "  status          INTEGER NOT NULL CHECK (status BETWEEN 1 AND 4),"
    "  create_time_ms  INTEGER NOT NULL,"
    "  update_time_ms  INTEGER NOT NULL,"
    "  version         INTEGER NOT NULL CHECK (version >= 1),"
    "  UNIQUE (group_id, position)"
    ") STRICT;"
    "CREATE TABLE work_item_projects ("
    "  item_id    TEXT NOT NULL REFERENCES work_items (id) ON DELETE CASCADE,"
    "  position   INTEGER NOT NULL,"
    "  project_id TEXT NOT NULL,"
    "  PRIMARY KEY (item_id, position)"
    ") STRICT, WITHOUT ROWID;";

/* What the Coordination Committee's decisions reach, and information-sharing.
 *
 * A decision's effect ("dec_.../effects/n", validate.h) is recorded on what
 * it made: the group it established, a version of the terms of reference, an
 * approved work plan. Partial unique indexes keep each effect recorded once
 * (per group for versions, once in all for an establishment): the owning
 * service's idempotency key, kept for good.
 *
 * Leadership keeps its history in terms [from_date, to_date) with to_date ''
 * for the current one; the current leadership also stays where it was
 * (groups.chair_entity_id, group_vice_chairs), which reads and filters use.
 * An existing database gets one term per group that has a leadership: from
 * the approval of its first terms of reference (the Committee approves terms
 * and leads together), or, for a group with none, from the day it was
 * created (UTC).
 *
 * Notices and subscriptions are aggregates of their own (notice_store.h).
 * post_time_ms is unique: a notice is posted strictly after the one before
 * (notice_store_next_post_ms), so a digest can resume from a time with
 * nothing lost or repeated. A members-only notice must be a group's. */
static const char schema_v2[] =
    "ALTER TABLE groups ADD COLUMN established_by TEXT NOT NULL DEFAULT '';"
    "CREATE UNIQUE INDEX groups_by_established_by ON groups (established_by)"
    "  WHERE established_by <> '';"
    "ALTER TABLE terms_of_reference ADD COLUMN decision_ref TEXT NOT NULL DEFAULT '';"
    "CREATE UNIQUE INDEX terms_of_reference_by_decision"
    "  ON terms_of_reference (group_id, decision_ref) WHERE decision_ref <> '';"
    "CREATE TABLE approved_work_plans ("
    "  group_id       TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,"
    "  version        INTEGER NOT NULL CHECK (version >= 1),"
    "  period_start   TEXT NOT NULL,"
    "  period_end     TEXT NOT NULL,"
    "  approved_on    TEXT NOT NULL,"
    "  decision_ref   TEXT NOT NULL DEFAULT '',"
    "  record_time_ms INTEGER NOT NULL,"
    "  PRIMARY KEY (group_id, version),"
    "  CHECK (period_start < period_end)"
    ") STRICT, WITHOUT ROWID;"
    "CREATE UNIQUE INDEX approved_work_plans_by_decision"
    "  ON approved_work_plans (group_id, decision_ref) WHERE decision_ref <> '';"
    "CREATE TABLE approved_work_plan_items ("
    "  group_id TEXT NOT NULL,"
    "  version  INTEGER NOT NULL,"
    "  position INTEGER NOT NULL,"
    "  item_id  TEXT NOT NULL,"
    "  PRIMARY KEY (group_id, version, position),"
    "  FOREIGN KEY (group_id, version) REFERENCES approved_work_plans (group_id, version)"
    "    ON DELETE CASCADE"
    ") STRICT, WITHOUT ROWID;"
    "CREATE TABLE leadership_terms ("
    "  group_id        TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,"
    "  term            INTEGER NOT NULL CHECK (term >= 1),"
    "  from_date       TEXT NOT NULL,"
    "  to_date         TEXT NOT NULL DEFAULT '',"
    "  chair_entity_id TEXT NOT NULL,"
    "  PRIMARY KEY (group_id, term),"
    "  CHECK (to_date = '' OR from_date < to_date)"
    ") STRICT, WITHOUT ROWID;"
    "CREATE TABLE leadership_term_vice_chairs ("
    "  group_id  TEXT NOT NULL,"
    "  term      INTEGER NOT NULL,"
    "  position  INTEGER NOT NULL,"
    "  entity_id TEXT NOT NULL,"
    "  PRIMARY KEY (group_id, term, position),"
    "  FOREIGN KEY (group_id, term) REFERENCES leadership_terms (group_id, term)"
    "    ON DELETE CASCADE"
    ") STRICT, WITHOUT ROWID;"
    "INSERT INTO leadership_terms (group_id, term, from_date, to_date, chair_entity_id)"
    "  SELECT g.id, 1, COALESCE((SELECT t.approved_on FROM terms_of_reference t"
    "                            WHERE t.group_id = g.id ORDER BY t.version LIMIT 1),"
    "                           strftime('%Y-%m-%d', g.create_time_ms / 1000, 'unixepoch')),"
    "         '', g.chair_entity_id FROM groups g WHERE g.chair_entity_id <> '';"
    "INSERT INTO leadership_term_vice_chairs (group_id, term, position, entity_id)"
    "  SELECT v.group_id, 1, v.position, v.entity_id FROM group_vice_chairs v"
    "  WHERE EXISTS (SELECT 1 FROM leadership_terms l WHERE l.group_id = v.group_id);"
    "CREATE TABLE notices ("
    "  id               TEXT PRIMARY KEY,"
    "  working_group_id TEXT NOT NULL DEFAULT '',"
    "  kind             INTEGER NOT NULL CHECK (kind BETWEEN 1 AND 6),"
    "  title            TEXT NOT NULL,"
    "  body             TEXT NOT NULL DEFAULT '',"
    "  document_url     TEXT NOT NULL DEFAULT '',"
    "  visibility       INTEGER NOT NULL CHECK (visibility BETWEEN 1 AND 3),"
    "  author_entity_id TEXT NOT NULL,"
    "  decision_ref     TEXT NOT NULL DEFAULT '',"
    "  post_time_ms     INTEGER NOT NULL UNIQUE,"
    "  CHECK (visibility <> 3 OR working_group_id <> '')"
    ") STRICT;"
    "CREATE INDEX notices_by_group ON notices (working_group_id, post_time_ms);"
    "CREATE TABLE subscriptions ("
    "  id                TEXT PRIMARY KEY,"
    "  entity_id         TEXT NOT NULL,"
    "  focal_point_email TEXT NOT NULL,"
    "  compact_wide      INTEGER NOT NULL CHECK (compact_wide IN (0, 1)),"
    "  create_time_ms    INTEGER NOT NULL"
    ") STRICT;"
    "CREATE INDEX subscriptions_by_entity ON subscriptions (entity_id);"
    "CREATE TABLE subscription_groups ("
    "  subscription_id TEXT NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,"
    "  position        INTEGER NOT NULL,"
    "  group_id        TEXT NOT NULL,"
    "  PRIMARY KEY (subscription_id, position),"
    "  UNIQUE (subscription_id, group_id)"
    ") STRICT, WITHOUT ROWID;"
    "CREATE INDEX subscription_groups_by_group ON subscription_groups (group_id);";

/* Version 3: the per-fact provenance of each group (issue 12), rows of
 * `provenance` with scope "" (provenance_store.h). Existing groups have none:
 * nothing of them is claimed confirmed or assumed until someone says. */
static const char schema_v3[] = PROVENANCE_STORE_SCHEMA;

const store_migration group_store_migrations[] = {
    {.version = 1, .sql = schema_v1},
    {.version = 2, .sql = schema_v2},
    {.version = 3, .sql = schema_v3},
};
const size_t group_store_migrations_count =
    sizeof group_store_migrations / sizeof group_store_migrations[0];

#define GROUP_COLUMNS                                                                              \
    "id, code, title, mandate, status, chair_entity_id, verified, source_note, "                   \
    "create_time_ms, update_time_ms, version, established_by"

static const char SQL_GET[] = "SELECT " GROUP_COLUMNS " FROM groups WHERE id = ?1";
static const char SQL_GET_BY_CODE[] = "SELECT " GROUP_COLUMNS " FROM groups WHERE code_lower = ?1";
static const char SQL_CODE_OWNER[] = "SELECT id, code FROM groups WHERE code_lower = ?1";
static const char SQL_LIST[] = "SELECT " GROUP_COLUMNS " FROM groups g WHERE code_lower > ?1"
                               " AND (?2 = 0 OR status = ?2)"
                               " AND (?3 = 0 OR EXISTS (SELECT 1 FROM group_pillars p"
                               "                        WHERE p.group_id = g.id AND p.pillar = ?3))"
                               " AND (?4 = '' OR chair_entity_id = ?4"
                               "      OR EXISTS (SELECT 1 FROM group_vice_chairs v"
                               "                 WHERE v.group_id = g.id AND v.entity_id = ?4)"
                               "      OR EXISTS (SELECT 1 FROM group_members m"
                               "                 WHERE m.group_id = g.id AND m.entity_id = ?4))"
                               " ORDER BY code_lower LIMIT ?5";
static const char SQL_PILLARS[] =
    "SELECT pillar FROM group_pillars WHERE group_id = ?1 ORDER BY pillar";
static const char SQL_VICE_CHAIRS[] =
    "SELECT entity_id FROM group_vice_chairs WHERE group_id = ?1 ORDER BY position";
static const char SQL_MEMBERS[] =
    "SELECT entity_id, role, add_time_ms FROM group_members WHERE group_id = ?1"
    " ORDER BY add_time_ms, entity_id";
static const char SQL_INSERT[] =
    "INSERT INTO groups (id, code, code_lower, title, mandate, status, verified,"
    " source_note, create_time_ms, update_time_ms, version, established_by)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 1, ?11)";
static const char SQL_ESTABLISHED[] = "SELECT id FROM groups WHERE established_by = ?1";
static const char SQL_UPDATE_FIELDS[] =
    "UPDATE groups SET code = ?2, code_lower = ?3, title = ?4, mandate = ?5, status = ?6,"
    " verified = ?7, source_note = ?8 WHERE id = ?1";
static const char SQL_TOUCH[] = "UPDATE groups SET version = version + 1, update_time_ms = ?3"
                                " WHERE id = ?1 AND version = ?2";
static const char SQL_EXISTS[] = "SELECT 1 FROM groups WHERE id = ?1";
static const char SQL_DELETE_PILLARS[] = "DELETE FROM group_pillars WHERE group_id = ?1";
static const char SQL_INSERT_PILLAR[] =
    "INSERT INTO group_pillars (group_id, pillar) VALUES (?1, ?2)";
static const char SQL_SET_CHAIR[] = "UPDATE groups SET chair_entity_id = ?2 WHERE id = ?1";
static const char SQL_DELETE_VICE_CHAIRS[] = "DELETE FROM group_vice_chairs WHERE group_id = ?1";
static const char SQL_INSERT_VICE_CHAIR[] =
    "INSERT INTO group_vice_chairs (group_id, position, entity_id) VALUES (?1, ?2, ?3)";
static const char SQL_INSERT_MEMBER[] =
    "INSERT INTO group_members (group_id, entity_id, role, add_time_ms)"
    " VALUES (?1, ?2, ?3, ?4)";
static const char SQL_DELETE_MEMBER[] =
    "DELETE FROM group_members WHERE group_id = ?1 AND entity_id = ?2";
static const char SQL_TERMS[] =
    "SELECT term, from_date, to_date, chair_entity_id FROM leadership_terms"
    " WHERE group_id = ?1 ORDER BY term";
static const char SQL_TERM_VICE_CHAIRS[] =
    "SELECT term, entity_id FROM leadership_term_vice_chairs WHERE group_id = ?1"
    " ORDER BY term, position";
static const char SQL_CURRENT_TERM[] =
    "SELECT term, from_date FROM leadership_terms WHERE group_id = ?1"
    " ORDER BY term DESC LIMIT 1";
static const char SQL_CLOSE_TERM[] =
    "UPDATE leadership_terms SET to_date = ?3 WHERE group_id = ?1 AND term = ?2";
static const char SQL_INSERT_TERM[] =
    "INSERT INTO leadership_terms (group_id, term, from_date, to_date, chair_entity_id)"
    " VALUES (?1, ?2, ?3, '', '')";
static const char SQL_SET_TERM_CHAIR[] =
    "UPDATE leadership_terms SET chair_entity_id = ?3 WHERE group_id = ?1 AND term = ?2";
static const char SQL_DELETE_TERM_VICE_CHAIRS[] =
    "DELETE FROM leadership_term_vice_chairs WHERE group_id = ?1 AND term = ?2";
static const char SQL_INSERT_TERM_VICE_CHAIR[] =
    "INSERT INTO leadership_term_vice_chairs (group_id, term, position, entity_id)"
    " VALUES (?1, ?2, ?3, ?4)";

/* ---- helpers shared with plan_store.c ----------------------------------- */

void group_store_free(WorkingGroup *g)
{
    if (g)
        protobuf_c_message_free_unpacked(&g->base, NULL);
}

void group_store_free_list(WorkingGroup **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        group_store_free(v[i]);
    free(v);
}

void group_store_code_key(const char *code, char *buf, size_t size)
{
    pbstr_lower_ascii(code, buf, size);
}

/* ---- reading the children ----------------------------------------------- */

static int load_pillars(store *st, WorkingGroup *g)
{
    sqlite3_stmt *s = store_stmt(st, SQL_PILLARS);
    int rc;

    if (s == NULL)
        return -EIO;
    sqlite3_bind_text(s, 1, g->id, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        Compact__Workgroups__V1__StrategyPillar *grown =
            realloc(g->pillars, (g->n_pillars + 1) * sizeof *grown);
        if (grown == NULL) {
            sqlite3_reset(s);
            return -ENOMEM;
        }
        g->pillars = grown;
        g->pillars[g->n_pillars++] = sqlite3_column_int(s, 0);
    }
    sqlite3_reset(s);
    return store_result(st, rc);
}

/* The leadership: the chair from the row (`chair`), vice-chairs from their
 * table. No leadership message while no chair was set. */
static int load_leadership(store *st, WorkingGroup *g, const char *chair)
{
    sqlite3_stmt *s;
    Leadership *l;
    int rc;

    if (chair[0] == '\0')
        return 0;
    if ((l = malloc(sizeof *l)) == NULL)
        return -ENOMEM;
    compact__workgroups__v1__leadership__init(l);
    g->leadership = l;
    if (pbstr_set(&l->chair_entity_id, chair))
        return -ENOMEM;
    if ((s = store_stmt(st, SQL_VICE_CHAIRS)) == NULL)
        return -EIO;
    sqlite3_bind_text(s, 1, g->id, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        size_t n = l->n_vice_chair_entity_ids;
        char **grown = realloc(l->vice_chair_entity_ids, (n + 1) * sizeof *grown);
        if (grown != NULL) {
            l->vice_chair_entity_ids = grown;
            grown[n] = NULL;
            l->n_vice_chair_entity_ids++;
        }
        if (grown == NULL || sqlrow_text(s, 0, &grown[n])) {
            sqlite3_reset(s);
            return -ENOMEM;
        }
    }
    sqlite3_reset(s);
    return store_result(st, rc);
}

static int load_members(store *st, WorkingGroup *g)
{
    sqlite3_stmt *s = store_stmt(st, SQL_MEMBERS);
    int rc;

    if (s == NULL)
        return -EIO;
    sqlite3_bind_text(s, 1, g->id, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        Member **grown = realloc(g->members, (g->n_members + 1) * sizeof *grown);
        Member *m = grown ? malloc(sizeof *m) : NULL;
        if (grown)
            g->members = grown;
        if (m)
            g->members[g->n_members++] = m;
        if (m == NULL) {
            sqlite3_reset(s);
            return -ENOMEM;
        }
        compact__workgroups__v1__member__init(m);
        m->role = sqlite3_column_int(s, 1);
        m->add_time = pbtime_new(sqlite3_column_int64(s, 2));
        if (m->add_time == NULL || sqlrow_text(s, 0, &m->entity_id)) {
            sqlite3_reset(s);
            return -ENOMEM;
        }
    }
    sqlite3_reset(s);
    return store_result(st, rc);
}

/* Appends an empty term, with its leadership, to the group's history. */
static LeadershipTerm *add_term(WorkingGroup *g)
{
    LeadershipTerm **grown =
        realloc(g->leadership_history, (g->n_leadership_history + 1) * sizeof *grown);
    LeadershipTerm *t = grown ? malloc(sizeof *t) : NULL;
    Leadership *l = t ? malloc(sizeof *l) : NULL;

    if (grown)
        g->leadership_history = grown;
    if (l == NULL) {
        free(t);
        return NULL;
    }
    compact__workgroups__v1__leadership_term__init(t);
    compact__workgroups__v1__leadership__init(l);
    t->leadership = l;
    g->leadership_history[g->n_leadership_history++] = t;
    return t;
}

static int add_vice_chair(Leadership *l, sqlite3_stmt *s, int col)
{
    size_t n = l->n_vice_chair_entity_ids;
    char **grown = realloc(l->vice_chair_entity_ids, (n + 1) * sizeof *grown);

    if (grown == NULL)
        return -ENOMEM;
    l->vice_chair_entity_ids = grown;
    grown[n] = NULL;
    l->n_vice_chair_entity_ids++;
    return sqlrow_text(s, col, &grown[n]);
}

/* The vice-chairs of every term; `numbers[i]` is the number of term i. */
static int load_term_vice_chairs(store *st, WorkingGroup *g, const int64_t *numbers)
{
    sqlite3_stmt *s = store_stmt(st, SQL_TERM_VICE_CHAIRS);
    size_t at = 0;
    int rc;

    if (s == NULL)
        return -EIO;
    sqlite3_bind_text(s, 1, g->id, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int64_t term = sqlite3_column_int64(s, 0);
        while (at < g->n_leadership_history && numbers[at] < term)
            at++;
        if (at == g->n_leadership_history || numbers[at] != term)
            continue; /* cannot be: the foreign key */
        if (add_vice_chair(g->leadership_history[at]->leadership, s, 1)) {
            sqlite3_reset(s);
            return -ENOMEM;
        }
    }
    sqlite3_reset(s);
    return store_result(st, rc);
}

/* The leadership history, oldest first. */
static int load_terms(store *st, WorkingGroup *g)
{
    sqlite3_stmt *s = store_stmt(st, SQL_TERMS);
    int64_t *numbers = NULL;
    int rc;

    if (s == NULL)
        return -EIO;
    sqlite3_bind_text(s, 1, g->id, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int64_t *grown = realloc(numbers, (g->n_leadership_history + 1) * sizeof *grown);
        LeadershipTerm *t = grown ? add_term(g) : NULL;
        if (grown)
            numbers = grown;
        if (t == NULL || sqlrow_text(s, 1, &t->from_date) || sqlrow_text(s, 2, &t->to_date) ||
            sqlrow_text(s, 3, &t->leadership->chair_entity_id)) {
            sqlite3_reset(s);
            free(numbers);
            return -ENOMEM;
        }
        numbers[g->n_leadership_history - 1] = sqlite3_column_int64(s, 0);
    }
    sqlite3_reset(s);
    rc = store_result(st, rc);
    if (rc == 0 && g->n_leadership_history > 0)
        rc = load_term_vice_chairs(st, g, numbers);
    free(numbers);
    return rc;
}

/* provenance_store_fn: the group's own facts; other scopes are not ours. */
static int put_provenance(void *arg, const char *scope, Compact__Common__V1__Provenance *p)
{
    WorkingGroup *g = arg;

    if (scope[0] == '\0')
        return provenance_store_append(&g->provenance, &g->n_provenance, p);
    protobuf_c_message_free_unpacked(&p->base, NULL);
    return 0;
}

/* Everything but the row: pillars, leadership and its history, members, the
 * current terms of reference, the work plan and its approved versions, and
 * the provenance. */
static int load_children(store *st, WorkingGroup *g, const char *chair)
{
    int rc;
    WorkPlanItem **items;
    ApprovedWorkPlan **plans;
    size_t n;

    if ((rc = load_pillars(st, g)) != 0 || (rc = load_leadership(st, g, chair)) != 0 ||
        (rc = load_terms(st, g)) != 0 || (rc = load_members(st, g)) != 0)
        return rc;
    rc = plan_store_current_tor(st, g->id, &g->terms_of_reference);
    if (rc != 0 && rc != -ENOENT)
        return rc;
    if ((rc = plan_store_items(st, g->id, &items, &n)) != 0)
        return rc;
    g->work_plan = items;
    g->n_work_plan = n;
    if ((rc = plan_store_approved_plans(st, g->id, &plans, &n)) != 0)
        return rc;
    g->approved_work_plans = plans;
    g->n_approved_work_plans = n;
    return provenance_store_each(st, g->id, put_provenance, g);
}

/* ---- reading groups ----------------------------------------------------- */

/* Builds a group from the current row of a statement selecting
 * GROUP_COLUMNS; the chair goes to `chair` (IDS_SIZE bytes) for
 * load_children, which must run after the statement is reset. */
static int row_to_group(sqlite3_stmt *s, WorkingGroup **out, int64_t *version, char *chair)
{
    WorkingGroup *g = malloc(sizeof *g);
    const unsigned char *c;
    int64_t v;

    *out = NULL;
    if (g == NULL)
        return -ENOMEM;
    compact__workgroups__v1__working_group__init(g);
    g->status = sqlite3_column_int(s, 4);
    c = sqlite3_column_text(s, 5);
    snprintf(chair, IDS_SIZE, "%s", c ? (const char *)c : "");
    g->verified = sqlite3_column_int(s, 6) != 0;
    g->create_time = pbtime_new(sqlite3_column_int64(s, 8));
    g->update_time = pbtime_new(sqlite3_column_int64(s, 9));
    v = sqlite3_column_int64(s, 10);
    if (sqlrow_text(s, 0, &g->id) || sqlrow_text(s, 1, &g->code) || sqlrow_text(s, 2, &g->title) ||
        sqlrow_text(s, 3, &g->mandate) || sqlrow_text(s, 7, &g->source_note) ||
        sqlrow_text(s, 11, &g->established_by) || g->create_time == NULL ||
        g->update_time == NULL) {
        group_store_free(g);
        return -ENOMEM;
    }
    if (etag_set(&g->etag, g->id, v)) {
        group_store_free(g);
        return -ENOMEM;
    }
    if (version)
        *version = v;
    *out = g;
    return 0;
}

/* Steps `s` (bound by the caller) for at most one group, then loads its
 * children. */
static int get_one(store *st, sqlite3_stmt *s, WorkingGroup **out, int64_t *version)
{
    char chair[IDS_SIZE];
    int rc = sqlite3_step(s);

    *out = NULL;
    if (rc == SQLITE_ROW)
        rc = row_to_group(s, out, version, chair);
    else
        rc = rc == SQLITE_DONE ? -ENOENT : store_result(st, rc);
    sqlite3_reset(s);
    if (rc == 0 && (rc = load_children(st, *out, chair)) != 0) {
        group_store_free(*out);
        *out = NULL;
    }
    return rc;
}

int group_store_get(store *st, const char *id, WorkingGroup **out, int64_t *version)
{
    sqlite3_stmt *s = store_stmt(st, SQL_GET);

    *out = NULL;
    if (s == NULL)
        return -EIO;
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    return get_one(st, s, out, version);
}

int group_store_get_by_code(store *st, const char *code, WorkingGroup **out)
{
    sqlite3_stmt *s = store_stmt(st, SQL_GET_BY_CODE);
    char key[GROUP_CODE_MAX * 4 + 1];

    *out = NULL;
    if (s == NULL)
        return -EIO;
    group_store_code_key(code, key, sizeof key);
    sqlite3_bind_text(s, 1, key, -1, SQLITE_TRANSIENT);
    return get_one(st, s, out, NULL);
}

int group_store_code_owner(store *st, const char *code, char *id, char *stored)
{
    sqlite3_stmt *s = store_stmt(st, SQL_CODE_OWNER);
    char key[GROUP_CODE_MAX * 4 + 1];
    int rc;

    if (s == NULL)
        return -EIO;
    group_store_code_key(code, key, sizeof key);
    sqlite3_bind_text(s, 1, key, -1, SQLITE_TRANSIENT);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        snprintf(id, IDS_SIZE, "%s", (const char *)sqlite3_column_text(s, 0));
        snprintf(stored, GROUP_CODE_MAX + 1, "%s", (const char *)sqlite3_column_text(s, 1));
        rc = 0;
    } else {
        rc = rc == SQLITE_DONE ? -ENOENT : store_result(st, rc);
    }
    sqlite3_reset(s);
    return rc;
}

/* Reads the rows of the list statement into v[0..*n) and their chairs;
 * children are loaded afterwards, so that no two statements step at once. */
static int list_rows(store *st, sqlite3_stmt *s, size_t limit, WorkingGroup **v,
                     char (*chairs)[IDS_SIZE], size_t *n)
{
    int rc = SQLITE_DONE;

    while (*n < limit && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        if ((rc = row_to_group(s, &v[*n], NULL, chairs[*n])) != 0)
            return rc;
        (*n)++;
    }
    if (*n == limit)
        return 0;
    return store_result(st, rc);
}

int group_store_list(store *st, const group_store_filter *f, const char *after_key, size_t limit,
                     WorkingGroup ***out, size_t *n)
{
    sqlite3_stmt *s = store_stmt(st, SQL_LIST);
    WorkingGroup **v = calloc(limit ? limit : 1, sizeof *v);
    char(*chairs)[IDS_SIZE] = calloc(limit ? limit : 1, sizeof *chairs);
    int rc;

    *out = NULL;
    *n = 0;
    if (s == NULL || v == NULL || chairs == NULL) {
        free(v);
        free(chairs);
        return s == NULL ? -EIO : -ENOMEM;
    }
    sqlite3_bind_text(s, 1, after_key, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, f->status);
    sqlite3_bind_int(s, 3, f->pillar);
    sqlite3_bind_text(s, 4, f->entity_id ? f->entity_id : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 5, (sqlite3_int64)limit);
    rc = list_rows(st, s, limit, v, chairs, n);
    sqlite3_reset(s);
    for (size_t i = 0; rc == 0 && i < *n; i++)
        rc = load_children(st, v[i], chairs[i]);
    free(chairs);
    if (rc != 0) {
        group_store_free_list(v, *n);
        *n = 0;
        return rc;
    }
    *out = v;
    return 0;
}

/* ---- writing ------------------------------------------------------------ */

static int write_pillars(store *st, const WorkingGroup *g)
{
    sqlite3_stmt *s = store_stmt(st, SQL_DELETE_PILLARS);
    int rc;

    if (s == NULL)
        return -EIO;
    sqlite3_bind_text(s, 1, g->id, -1, SQLITE_STATIC);
    if ((rc = sqlrow_step_write(st, s)) != 0)
        return rc;
    for (size_t i = 0; i < g->n_pillars; i++) {
        if ((s = store_stmt(st, SQL_INSERT_PILLAR)) == NULL)
            return -EIO;
        sqlite3_bind_text(s, 1, g->id, -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 2, (int)g->pillars[i]);
        if ((rc = sqlrow_step_write(st, s)) != 0)
            return rc;
    }
    return 0;
}

/* Binds parameters 1-8, shared by SQL_INSERT and SQL_UPDATE_FIELDS; `key`
 * must outlive the step. */
static void bind_group(sqlite3_stmt *s, const WorkingGroup *g, const char *key)
{
    sqlite3_bind_text(s, 1, g->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, g->code, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, g->title, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 5, g->mandate, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 6, (int)g->status);
    sqlite3_bind_int(s, 7, g->verified ? 1 : 0);
    sqlite3_bind_text(s, 8, g->source_note, -1, SQLITE_STATIC);
}

int group_store_insert(store *st, const WorkingGroup *g)
{
    sqlite3_stmt *s = store_stmt(st, SQL_INSERT);
    char key[GROUP_CODE_MAX * 4 + 1];
    int rc;

    if (s == NULL)
        return -EIO;
    group_store_code_key(g->code, key, sizeof key);
    bind_group(s, g, key);
    sqlite3_bind_int64(s, 9, pbtime_ms(g->create_time));
    sqlite3_bind_int64(s, 10, pbtime_ms(g->update_time));
    sqlite3_bind_text(s, 11, g->established_by, -1, SQLITE_STATIC);
    if ((rc = sqlrow_step_write(st, s)) != 0 || (rc = write_pillars(st, g)) != 0)
        return rc;
    return provenance_store_write(st, g->id, "", g->provenance, g->n_provenance);
}

int group_store_established_by(store *st, const char *decision_ref, char *id)
{
    return sqlrow_lookup(st, SQL_ESTABLISHED, decision_ref, id, IDS_SIZE);
}

int group_store_update_fields(store *st, const WorkingGroup *g)
{
    sqlite3_stmt *s = store_stmt(st, SQL_UPDATE_FIELDS);
    char key[GROUP_CODE_MAX * 4 + 1];
    int rc;

    if (s == NULL)
        return -EIO;
    group_store_code_key(g->code, key, sizeof key);
    bind_group(s, g, key);
    if ((rc = sqlrow_step_write(st, s)) != 0)
        return rc;
    if (sqlite3_changes(store_db(st)) == 0)
        return -ENOENT;
    if ((rc = write_pillars(st, g)) != 0)
        return rc;
    return provenance_store_write(st, g->id, "", g->provenance, g->n_provenance);
}

int group_store_touch(store *st, const char *id, int64_t version, int64_t now_ms)
{
    sqlite3_stmt *s = store_stmt(st, SQL_TOUCH);
    int rc;

    if (s == NULL)
        return -EIO;
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, version);
    sqlite3_bind_int64(s, 3, now_ms);
    if ((rc = sqlrow_step_write(st, s)) != 0)
        return rc;
    if (sqlite3_changes(store_db(st)) != 0)
        return 0;
    rc = sqlrow_exists(st, SQL_EXISTS, id);
    return rc < 0 ? rc : rc ? -ESTALE : -ENOENT;
}

/* Runs `sql` with ?1 the group, ?2 the term and ?3 `text` (NULL: not bound). */
static int term_exec(store *st, const char *sql, const char *id, int64_t term, const char *text)
{
    sqlite3_stmt *s = store_stmt(st, sql);

    if (s == NULL)
        return -EIO;
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, term);
    if (text)
        sqlite3_bind_text(s, 3, text, -1, SQLITE_STATIC);
    return sqlrow_step_write(st, s);
}

/* The number and start of the current (last) term: 0 and "" when none. */
static int current_term(store *st, const char *id, int64_t *term, char *from, size_t size)
{
    sqlite3_stmt *s = store_stmt(st, SQL_CURRENT_TERM);
    int rc;

    *term = 0;
    from[0] = '\0';
    if (s == NULL)
        return -EIO;
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        const unsigned char *text = sqlite3_column_text(s, 1);
        *term = sqlite3_column_int64(s, 0);
        snprintf(from, size, "%s", text ? (const char *)text : "");
        rc = SQLITE_DONE;
    }
    sqlite3_reset(s);
    return store_result(st, rc);
}

/* Term `term` gets the leadership `l`: its chair, and its vice-chairs
 * replaced. */
static int write_term_leadership(store *st, const char *id, int64_t term, const Leadership *l)
{
    int rc = term_exec(st, SQL_SET_TERM_CHAIR, id, term, l->chair_entity_id);

    if (rc == 0)
        rc = term_exec(st, SQL_DELETE_TERM_VICE_CHAIRS, id, term, NULL);
    for (size_t i = 0; rc == 0 && i < l->n_vice_chair_entity_ids; i++) {
        sqlite3_stmt *s = store_stmt(st, SQL_INSERT_TERM_VICE_CHAIR);
        if (s == NULL)
            return -EIO;
        sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, term);
        sqlite3_bind_int64(s, 3, (sqlite3_int64)i);
        sqlite3_bind_text(s, 4, l->vice_chair_entity_ids[i], -1, SQLITE_STATIC);
        rc = sqlrow_step_write(st, s);
    }
    return rc;
}

/* The history's side of a new leadership (see group_store.h). */
static int write_term(store *st, const char *id, const Leadership *l, const char *from_date)
{
    char from[16];
    int64_t term;
    int rc = current_term(st, id, &term, from, sizeof from);

    if (rc != 0)
        return rc;
    if (term > 0 && strcmp(from, from_date) == 0) /* the same day: this term's leaders */
        return write_term_leadership(st, id, term, l);
    if (term > 0 && (rc = term_exec(st, SQL_CLOSE_TERM, id, term, from_date)) != 0)
        return rc;
    if ((rc = term_exec(st, SQL_INSERT_TERM, id, term + 1, from_date)) != 0)
        return rc;
    return write_term_leadership(st, id, term + 1, l);
}

int group_store_set_leadership(store *st, const char *id, const Leadership *l,
                               const char *from_date)
{
    sqlite3_stmt *s;
    int rc;

    if (from_date && (rc = write_term(st, id, l, from_date)) != 0)
        return rc;
    if ((s = store_stmt(st, SQL_SET_CHAIR)) == NULL)
        return -EIO;
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, l->chair_entity_id, -1, SQLITE_STATIC);
    if ((rc = sqlrow_step_write(st, s)) != 0)
        return rc;
    if ((s = store_stmt(st, SQL_DELETE_VICE_CHAIRS)) == NULL)
        return -EIO;
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    if ((rc = sqlrow_step_write(st, s)) != 0)
        return rc;
    for (size_t i = 0; i < l->n_vice_chair_entity_ids; i++) {
        if ((s = store_stmt(st, SQL_INSERT_VICE_CHAIR)) == NULL)
            return -EIO;
        sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, (sqlite3_int64)i);
        sqlite3_bind_text(s, 3, l->vice_chair_entity_ids[i], -1, SQLITE_STATIC);
        if ((rc = sqlrow_step_write(st, s)) != 0)
            return rc;
    }
    return 0;
}

int group_store_add_member(store *st, const char *id, const char *entity_id, int role,
                           int64_t now_ms)
{
    sqlite3_stmt *s = store_stmt(st, SQL_INSERT_MEMBER);

    if (s == NULL)
        return -EIO;
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, entity_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 3, role);
    sqlite3_bind_int64(s, 4, now_ms);
    return sqlrow_step_write(st, s);
}

int group_store_remove_member(store *st, const char *id, const char *entity_id)
{
    sqlite3_stmt *s = store_stmt(st, SQL_DELETE_MEMBER);
    int rc;

    if (s == NULL)
        return -EIO;
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, entity_id, -1, SQLITE_STATIC);
    if ((rc = sqlrow_step_write(st, s)) != 0)
        return rc;
    return sqlite3_changes(store_db(st)) ? 0 : -ENOENT;
}

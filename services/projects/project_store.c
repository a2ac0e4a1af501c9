/* project_store.c: the projects service's tables and queries. */
#include "project_store.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "etag.h"
#include "pbstr.h"
#include "pbtime.h"
#include "project_derive.h"
#include "sqlrow.h"

/* ---- schema ------------------------------------------------------------- */

/* A project is a deep aggregate (results > indicators > periods), read and
 * written whole, so its body is one packed protobuf column rather than a
 * dozen child tables: one read per project, and no migration for every new
 * field of the message. What must be queried lives beside it in plain
 * columns and tables kept in step by every write: the IATI identifier
 * (unique, the sort key of ListProjects), the status, the dates, a lowered
 * search text, and one table per repeated filter of ListProjects (groups,
 * entities, countries, pillars) keyed for "which projects have X".
 *
 * Transactions are rows of their own, not part of the body: money is what
 * auditors read with the sqlite3 shell, a transaction is only ever added
 * (never changed: corrections are negative transactions), and recording one
 * then inserts one row instead of rewriting the body. CHECK constraints
 * repeat the enum ranges so that a bug in the handlers cannot store a value
 * the API would never return. */
static const char schema_v1[] =
    "CREATE TABLE projects ("
    "  id              TEXT PRIMARY KEY,"
    "  iati_identifier TEXT NOT NULL,"
    "  iati_key        TEXT NOT NULL UNIQUE,"
    "  title           TEXT NOT NULL,"
    "  status          INTEGER NOT NULL CHECK (status BETWEEN 1 AND 6),"
    "  start_date      TEXT NOT NULL,"
    "  end_date        TEXT NOT NULL,"
    "  search_text     TEXT NOT NULL,"
    "  create_time_ms  INTEGER NOT NULL,"
    "  update_time_ms  INTEGER NOT NULL,"
    "  version         INTEGER NOT NULL CHECK (version >= 1),"
    "  body            BLOB NOT NULL"
    ") STRICT;"
    "CREATE TABLE project_groups ("
    "  group_id   TEXT NOT NULL,"
    "  project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,"
    "  PRIMARY KEY (group_id, project_id)"
    ") STRICT, WITHOUT ROWID;"
    "CREATE INDEX project_groups_by_project ON project_groups (project_id);"
    "CREATE TABLE project_entities ("
    "  entity_id  TEXT NOT NULL,"
    "  project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,"
    "  PRIMARY KEY (entity_id, project_id)"
    ") STRICT, WITHOUT ROWID;"
    "CREATE INDEX project_entities_by_project ON project_entities (project_id);"
    "CREATE TABLE project_countries ("
    "  country    TEXT NOT NULL CHECK (length(country) = 2),"
    "  project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,"
    "  PRIMARY KEY (country, project_id)"
    ") STRICT, WITHOUT ROWID;"
    "CREATE INDEX project_countries_by_project ON project_countries (project_id);"
    "CREATE TABLE project_pillars ("
    "  pillar     INTEGER NOT NULL CHECK (pillar BETWEEN 1 AND 4),"
    "  project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,"
    "  PRIMARY KEY (pillar, project_id)"
    ") STRICT, WITHOUT ROWID;"
    "CREATE INDEX project_pillars_by_project ON project_pillars (project_id);"
    "CREATE TABLE transactions ("
    "  id                 TEXT PRIMARY KEY,"
    "  project_id         TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,"
    "  type               INTEGER NOT NULL CHECK (type BETWEEN 1 AND 13),"
    "  date               TEXT NOT NULL,"
    "  currency           TEXT NOT NULL CHECK (length(currency) = 3),"
    "  amount_minor       INTEGER NOT NULL CHECK (amount_minor <> 0),"
    "  provider_name      TEXT,"
    "  provider_entity_id TEXT,"
    "  catalytic          INTEGER NOT NULL CHECK (catalytic IN (0, 1)),"
    "  description        TEXT NOT NULL,"
    "  verified           INTEGER NOT NULL CHECK (verified IN (0, 1)),"
    "  source_note        TEXT NOT NULL,"
    "  record_time_ms     INTEGER NOT NULL,"
    "  CHECK (provider_name IS NULL OR provider_entity_id IS NULL)"
    ") STRICT;"
    "CREATE INDEX transactions_by_project ON transactions (project_id, date);";

/* A transaction may carry the Coordination Committee's decision effect that
 * allocated it ("dec_.../effects/n"): the idempotency key, kept for good, so
 * a partial unique index keeps each effect recorded once per project.
 * Existing transactions have none (''). */
static const char schema_v2[] =
    "ALTER TABLE transactions ADD COLUMN decision_ref TEXT NOT NULL DEFAULT '';"
    "CREATE UNIQUE INDEX transactions_by_decision ON transactions (project_id, decision_ref)"
    "  WHERE decision_ref <> '';";

/* Version 3 (issue 12): a transaction's provider may be an organisation
 * outside the Compact named as IATI names it (provider_org_ref, may be NULL
 * when it has no identifier; provider_org_name, set exactly for such a
 * provider; provider_org_type, the IATI OrganisationType code, 0 when not
 * stated), and a transaction's facts carry their provenance. A project's own
 * provenance is part of its body and needed no change. The provenance of a
 * transaction is kept like the body, as packed protobuf (a Transaction
 * holding only its provenance): it is read with the row, no query more per
 * project. Existing transactions keep their provider_name or entity and have
 * no provenance. */
static const char schema_v3[] =
    "ALTER TABLE transactions ADD COLUMN provider_org_name TEXT"
    "  CHECK (provider_org_name IS NULL OR (provider_name IS NULL AND provider_entity_id IS NULL));"
    "ALTER TABLE transactions ADD COLUMN provider_org_ref TEXT"
    "  CHECK (provider_org_ref IS NULL OR provider_org_name IS NOT NULL);"
    "ALTER TABLE transactions ADD COLUMN provider_org_type INTEGER NOT NULL DEFAULT 0"
    "  CHECK (provider_org_type BETWEEN 0 AND 99);"
    "ALTER TABLE transactions ADD COLUMN provenance BLOB;";

const store_migration project_store_migrations[] = {
    {.version = 1, .sql = schema_v1},
    {.version = 2, .sql = schema_v2},
    {.version = 3, .sql = schema_v3},
};
const size_t project_store_migrations_count =
    sizeof project_store_migrations / sizeof project_store_migrations[0];

static const char SQL_GET[] = "SELECT version, body FROM projects WHERE id = ?1";
static const char SQL_GET_BY_IATI[] = "SELECT version, body FROM projects WHERE iati_key = ?1";
static const char SQL_IATI_OWNER[] = "SELECT id FROM projects WHERE iati_key = ?1";
static const char SQL_EACH[] = "SELECT version, body FROM projects";
static const char SQL_LIST[] = "SELECT version, body FROM projects p WHERE p.iati_key > ?1"
                               " AND (?2 = '' OR EXISTS (SELECT 1 FROM project_groups g"
                               "      WHERE g.group_id = ?2 AND g.project_id = p.id))"
                               " AND (?3 = '' OR EXISTS (SELECT 1 FROM project_entities e"
                               "      WHERE e.entity_id = ?3 AND e.project_id = p.id))"
                               " AND (?4 = '' OR EXISTS (SELECT 1 FROM project_countries c"
                               "      WHERE c.country = ?4 AND c.project_id = p.id))"
                               " AND (?5 = 0 OR EXISTS (SELECT 1 FROM project_pillars l"
                               "      WHERE l.pillar = ?5 AND l.project_id = p.id))"
                               " AND (?6 = 0 OR p.status = ?6)"
                               " AND (?7 = '' OR instr(p.search_text, ?7) > 0)"
                               " ORDER BY p.iati_key LIMIT ?8";
static const char SQL_INSERT[] =
    "INSERT INTO projects (id, iati_identifier, iati_key, title, status, start_date,"
    " end_date, search_text, create_time_ms, update_time_ms, version, body)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 1, ?11)";
static const char SQL_UPDATE[] =
    "UPDATE projects SET title = ?2, status = ?3, start_date = ?4, end_date = ?5,"
    " search_text = ?6, update_time_ms = ?7, body = ?8, version = version + 1"
    " WHERE id = ?1 AND version = ?9";
static const char SQL_EXISTS[] = "SELECT 1 FROM projects WHERE id = ?1";
static const char SQL_DEL_GROUPS[] = "DELETE FROM project_groups WHERE project_id = ?1";
static const char SQL_DEL_ENTITIES[] = "DELETE FROM project_entities WHERE project_id = ?1";
static const char SQL_DEL_COUNTRIES[] = "DELETE FROM project_countries WHERE project_id = ?1";
static const char SQL_DEL_PILLARS[] = "DELETE FROM project_pillars WHERE project_id = ?1";
static const char SQL_ADD_GROUP[] =
    "INSERT OR IGNORE INTO project_groups (group_id, project_id) VALUES (?1, ?2)";
static const char SQL_ADD_ENTITY[] =
    "INSERT OR IGNORE INTO project_entities (entity_id, project_id) VALUES (?1, ?2)";
static const char SQL_ADD_COUNTRY[] =
    "INSERT OR IGNORE INTO project_countries (country, project_id) VALUES (?1, ?2)";
static const char SQL_ADD_PILLAR[] =
    "INSERT OR IGNORE INTO project_pillars (pillar, project_id) VALUES (?1, ?2)";
static const char SQL_TRANSACTIONS[] =
    "SELECT id, type, date, currency, amount_minor, provider_name, provider_entity_id,"
    " catalytic, description, verified, source_note, record_time_ms, provider_org_ref,"
    " provider_org_name, provider_org_type, provenance, decision_ref"
    " FROM transactions WHERE project_id = ?1 ORDER BY date, rowid";
static const char SQL_ADD_TRANSACTION[] =
    "INSERT INTO transactions (id, project_id, type, date, currency, amount_minor,"
    " provider_name, provider_entity_id, catalytic, description, verified, source_note,"
    " record_time_ms, provider_org_ref, provider_org_name, provider_org_type, provenance,"
    " decision_ref)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)";

/* ---- small helpers ------------------------------------------------------ */

void project_store_iati_key(const char *iati, char *buf, size_t size)
{
    pbstr_lower_ascii(iati, buf, size);
}

void project_store_free(Project *p)
{
    if (p)
        protobuf_c_message_free_unpacked(&p->base, NULL);
}

void project_store_free_list(Project **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        project_store_free(v[i]);
    free(v);
}

/* ---- reading ------------------------------------------------------------ */

/* The provider organisation of the current transaction row, into t. */
static int row_to_provider_org(sqlite3_stmt *s, Transaction *t)
{
    Compact__Projects__V1__Organisation *o = malloc(sizeof *o);

    if (o == NULL)
        return -ENOMEM;
    compact__projects__v1__organisation__init(o);
    t->provider_case = COMPACT__PROJECTS__V1__TRANSACTION__PROVIDER_PROVIDER_ORG;
    t->provider_org = o;
    o->type = sqlite3_column_int(s, 14);
    return sqlrow_text(s, 12, &o->ref) || sqlrow_text(s, 13, &o->name) ? -ENOMEM : 0;
}

/* The provenance of the current transaction row (column 15, a packed
 * Transaction holding only it), moved into t. -EBADMSG if it does not
 * unpack. */
static int row_to_provenance(sqlite3_stmt *s, Transaction *t)
{
    const void *blob = sqlite3_column_blob(s, 15);
    size_t len = (size_t)sqlite3_column_bytes(s, 15);
    Transaction *holder;

    if (blob == NULL || len == 0)
        return 0;
    if ((holder = compact__projects__v1__transaction__unpack(NULL, len, blob)) == NULL)
        return -EBADMSG;
    t->provenance = holder->provenance;
    t->n_provenance = holder->n_provenance;
    holder->provenance = NULL;
    holder->n_provenance = 0;
    protobuf_c_message_free_unpacked(&holder->base, NULL);
    return 0;
}

static int row_to_transaction(sqlite3_stmt *s, Transaction **out)
{
    Transaction *t = malloc(sizeof *t);
    Compact__Projects__V1__Money *m = malloc(sizeof *m);
    int rc = 0;

    *out = t;
    if (t == NULL || m == NULL) {
        free(t);
        free(m);
        *out = NULL;
        return -ENOMEM;
    }
    compact__projects__v1__transaction__init(t);
    compact__projects__v1__money__init(m);
    t->value = m;
    t->type = sqlite3_column_int(s, 1);
    m->amount_minor = sqlite3_column_int64(s, 4);
    t->catalytic = sqlite3_column_int(s, 7) != 0;
    t->verified = sqlite3_column_int(s, 9) != 0;
    if (sqlite3_column_type(s, 5) != SQLITE_NULL) {
        t->provider_case = COMPACT__PROJECTS__V1__TRANSACTION__PROVIDER_PROVIDER_NAME;
        rc = sqlrow_text(s, 5, &t->provider_name);
    } else if (sqlite3_column_type(s, 6) != SQLITE_NULL) {
        t->provider_case = COMPACT__PROJECTS__V1__TRANSACTION__PROVIDER_PROVIDER_ENTITY_ID;
        rc = sqlrow_text(s, 6, &t->provider_entity_id);
    } else if (sqlite3_column_type(s, 13) != SQLITE_NULL) {
        rc = row_to_provider_org(s, t);
    }
    if (rc == 0)
        rc = row_to_provenance(s, t);
    if (rc == -EBADMSG)
        return rc;
    if (rc || sqlrow_text(s, 0, &t->id) || sqlrow_text(s, 2, &t->date) ||
        sqlrow_text(s, 3, &m->currency) || sqlrow_text(s, 8, &t->description) ||
        sqlrow_text(s, 10, &t->source_note) || sqlrow_text(s, 16, &t->decision_ref) ||
        (t->record_time = pbtime_new(sqlite3_column_int64(s, 11))) == NULL)
        return -ENOMEM;
    return 0;
}

static int load_transactions(store *st, Project *p)
{
    sqlite3_stmt *s = store_stmt(st, SQL_TRANSACTIONS);
    int rc;

    if (s == NULL)
        return -EIO;
    sqlite3_bind_text(s, 1, p->id, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        Transaction **grown = realloc(p->transactions, (p->n_transactions + 1) * sizeof *grown);
        if (grown == NULL) {
            sqlite3_reset(s);
            return -ENOMEM;
        }
        p->transactions = grown;
        int err = row_to_transaction(s, &p->transactions[p->n_transactions]);
        if (p->transactions[p->n_transactions])
            p->n_transactions++;
        if (err) {
            sqlite3_reset(s);
            return err;
        }
    }
    sqlite3_reset(s);
    return store_result(st, rc);
}

/* Builds a project from the current row (version, body) of a statement:
 * the body, its transactions, the derived fields and the etag. */
static int row_to_project(store *st, sqlite3_stmt *s, Project **out, int64_t *version)
{
    const void *body = sqlite3_column_blob(s, 1);
    size_t len = (size_t)sqlite3_column_bytes(s, 1);
    int64_t v = sqlite3_column_int64(s, 0);
    Project *p = compact__projects__v1__project__unpack(NULL, len, body);
    int rc;

    *out = NULL;
    if (p == NULL)
        return -EBADMSG;
    if ((rc = load_transactions(st, p)) != 0 || (rc = project_derive(p)) != 0 ||
        (rc = etag_set(&p->etag, p->id, v)) != 0) {
        project_store_free(p);
        return rc;
    }
    if (version)
        *version = v;
    *out = p;
    return 0;
}

/* Runs a prepared query expected to return at most one project row. */
static int get_one(store *st, sqlite3_stmt *s, Project **out, int64_t *version)
{
    int rc = sqlite3_step(s);

    *out = NULL;
    if (rc == SQLITE_ROW) {
        /* row_to_project runs other statements: keep this one's row alive
         * by reading before resetting. */
        rc = row_to_project(st, s, out, version);
        sqlite3_reset(s);
        return rc;
    }
    sqlite3_reset(s);
    rc = store_result(st, rc);
    return rc ? rc : -ENOENT;
}

int project_store_get(store *st, const char *id, Project **out, int64_t *version)
{
    sqlite3_stmt *s = store_stmt(st, SQL_GET);

    *out = NULL;
    if (s == NULL)
        return -EIO;
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    return get_one(st, s, out, version);
}

int project_store_get_by_iati(store *st, const char *iati, Project **out)
{
    sqlite3_stmt *s = store_stmt(st, SQL_GET_BY_IATI);
    char key[PROJECT_IATI_MAX * 4 + 1];

    *out = NULL;
    if (s == NULL)
        return -EIO;
    project_store_iati_key(iati, key, sizeof key);
    sqlite3_bind_text(s, 1, key, -1, SQLITE_TRANSIENT);
    return get_one(st, s, out, NULL);
}

int project_store_iati_owner(store *st, const char *iati, char *id)
{
    char key[PROJECT_IATI_MAX * 4 + 1];

    project_store_iati_key(iati, key, sizeof key);
    return sqlrow_lookup(st, SQL_IATI_OWNER, key, id, IDS_SIZE);
}

/* Steps `s` collecting up to `limit` projects. */
static int collect(store *st, sqlite3_stmt *s, size_t limit, Project ***out, size_t *n)
{
    Project **v = calloc(limit ? limit : 1, sizeof *v);
    int rc = v ? 0 : -ENOMEM;

    while (rc == 0 && *n < limit && (rc = sqlite3_step(s)) == SQLITE_ROW)
        rc = row_to_project(st, s, &v[(*n)++], NULL);
    sqlite3_reset(s);
    if (rc == SQLITE_DONE || rc == SQLITE_ROW)
        rc = 0;
    else if (rc > 0)
        rc = store_result(st, rc);
    if (rc != 0) {
        project_store_free_list(v, *n);
        *n = 0;
        return rc;
    }
    *out = v;
    return 0;
}

int project_store_list(store *st, const project_store_filter *f, const char *after_key,
                       size_t limit, Project ***out, size_t *n)
{
    sqlite3_stmt *s = store_stmt(st, SQL_LIST);
    char *text = strdup(f->text ? f->text : "");

    *out = NULL;
    *n = 0;
    if (s == NULL || text == NULL) {
        free(text);
        return s ? -ENOMEM : -EIO;
    }
    pbstr_lower_ascii(text, text, strlen(text) + 1);
    sqlite3_bind_text(s, 1, after_key, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, f->working_group_id ? f->working_group_id : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, f->entity_id ? f->entity_id : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, f->country ? f->country : "", -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 5, f->pillar);
    sqlite3_bind_int(s, 6, f->status);
    sqlite3_bind_text(s, 7, text, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 8, (sqlite3_int64)limit);
    int rc = collect(st, s, limit, out, n);
    free(text);
    return rc;
}

int project_store_each(store *st, int (*fn)(void *arg, const Project *p), void *arg)
{
    sqlite3_stmt *s = store_stmt(st, SQL_EACH);
    int rc;

    if (s == NULL)
        return -EIO;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        Project *p;
        int err = row_to_project(st, s, &p, NULL);
        if (err == 0) {
            err = fn(arg, p);
            project_store_free(p);
        }
        if (err != 0) {
            sqlite3_reset(s);
            return err;
        }
    }
    sqlite3_reset(s);
    return store_result(st, rc);
}

/* ---- writing ------------------------------------------------------------ */

/* The packed body: the project without what is stored elsewhere or derived
 * (transactions, totals, etag). Caller frees *out. */
static int pack_body(Project *p, uint8_t **out, size_t *len)
{
    size_t n_tr = p->n_transactions, n_tot = p->n_totals;
    char *etag = p->etag;

    p->n_transactions = 0;
    p->n_totals = 0;
    p->etag = (char *)protobuf_c_empty_string;
    *len = compact__projects__v1__project__get_packed_size(p);
    *out = malloc(*len ? *len : 1);
    if (*out)
        compact__projects__v1__project__pack(p, *out);
    p->n_transactions = n_tr;
    p->n_totals = n_tot;
    p->etag = etag;
    return *out ? 0 : -ENOMEM;
}

/* Title, summary and themes lowered, for the text filter. Caller frees. */
static char *search_text(const Project *p)
{
    size_t len = strlen(p->title) + strlen(p->summary) + 3;
    char *s, *at;

    for (size_t i = 0; i < p->n_themes; i++)
        len += strlen(p->themes[i]) + 1;
    if ((s = malloc(len)) == NULL)
        return NULL;
    at = s + sprintf(s, "%s\n%s\n", p->title, p->summary);
    for (size_t i = 0; i < p->n_themes; i++)
        at += sprintf(at, "%s\n", p->themes[i]);
    pbstr_lower_ascii(s, s, len);
    return s;
}

static int run(store *st, sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);

    sqlite3_reset(s);
    return store_result(st, rc);
}

static int exec_text2(store *st, const char *sql, const char *a, const char *b)
{
    sqlite3_stmt *s = store_stmt(st, sql);

    if (s == NULL)
        return -EIO;
    sqlite3_bind_text(s, 1, a, -1, SQLITE_STATIC);
    if (b)
        sqlite3_bind_text(s, 2, b, -1, SQLITE_STATIC);
    return run(st, s);
}

/* Replaces the query rows of `p` (groups, entities, countries, pillars). */
static int write_query_rows(store *st, const Project *p)
{
    int rc = 0;

    if ((rc = exec_text2(st, SQL_DEL_GROUPS, p->id, NULL)) ||
        (rc = exec_text2(st, SQL_DEL_ENTITIES, p->id, NULL)) ||
        (rc = exec_text2(st, SQL_DEL_COUNTRIES, p->id, NULL)) ||
        (rc = exec_text2(st, SQL_DEL_PILLARS, p->id, NULL)))
        return rc;
    for (size_t i = 0; rc == 0 && i < p->n_working_group_ids; i++)
        rc = exec_text2(st, SQL_ADD_GROUP, p->working_group_ids[i], p->id);
    for (size_t i = 0; rc == 0 && i < p->n_participants; i++)
        rc = exec_text2(st, SQL_ADD_ENTITY, p->participants[i]->entity_id, p->id);
    for (size_t i = 0; rc == 0 && i < p->n_recipient_countries; i++)
        rc = exec_text2(st, SQL_ADD_COUNTRY, p->recipient_countries[i], p->id);
    for (size_t i = 0; rc == 0 && i < p->n_pillars; i++) {
        sqlite3_stmt *s = store_stmt(st, SQL_ADD_PILLAR);
        if (s == NULL)
            return -EIO;
        sqlite3_bind_int(s, 1, (int)p->pillars[i]);
        sqlite3_bind_text(s, 2, p->id, -1, SQLITE_STATIC);
        rc = run(st, s);
    }
    return rc;
}

int project_store_insert(store *st, Project *p)
{
    sqlite3_stmt *s = store_stmt(st, SQL_INSERT);
    char key[PROJECT_IATI_MAX * 4 + 1];
    uint8_t *body = NULL;
    size_t len;
    char *text = search_text(p);
    int rc;

    if (s == NULL || text == NULL || (rc = pack_body(p, &body, &len)) != 0) {
        free(text);
        return s ? -ENOMEM : -EIO;
    }
    project_store_iati_key(p->iati_identifier, key, sizeof key);
    sqlite3_bind_text(s, 1, p->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, p->iati_identifier, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, p->title, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 5, (int)p->status);
    sqlite3_bind_text(s, 6, p->start_date, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 7, p->end_date, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 8, text, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 9, pbtime_ms(p->create_time));
    sqlite3_bind_int64(s, 10, pbtime_ms(p->update_time));
    sqlite3_bind_blob(s, 11, body, (int)len, SQLITE_STATIC);
    rc = sqlite3_step(s);
    sqlite3_reset(s);
    free(body);
    free(text);
    if ((rc & 0xff) == SQLITE_CONSTRAINT)
        return -EEXIST;
    if ((rc = store_result(st, rc)) != 0 || (rc = write_query_rows(st, p)) != 0)
        return rc;
    return etag_set(&p->etag, p->id, 1);
}

int project_store_update(store *st, Project *p, int64_t version)
{
    sqlite3_stmt *s = store_stmt(st, SQL_UPDATE);
    uint8_t *body = NULL;
    size_t len;
    char *text = search_text(p);
    int rc;

    if (s == NULL || text == NULL || (rc = pack_body(p, &body, &len)) != 0) {
        free(text);
        return s ? -ENOMEM : -EIO;
    }
    sqlite3_bind_text(s, 1, p->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, p->title, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 3, (int)p->status);
    sqlite3_bind_text(s, 4, p->start_date, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 5, p->end_date, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 6, text, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 7, pbtime_ms(p->update_time));
    sqlite3_bind_blob(s, 8, body, (int)len, SQLITE_STATIC);
    sqlite3_bind_int64(s, 9, version);
    rc = run(st, s);
    free(body);
    free(text);
    if (rc != 0)
        return rc;
    if (sqlite3_changes(store_db(st)) == 0) {
        rc = sqlrow_exists(st, SQL_EXISTS, p->id);
        return rc < 0 ? rc : rc ? -ESTALE : -ENOENT;
    }
    if ((rc = write_query_rows(st, p)) != 0)
        return rc;
    return etag_set(&p->etag, p->id, version + 1);
}

/* The provenance of `t` as stored: a packed Transaction holding only it, or
 * NULL (*len 0) when it has none. Caller frees *out. */
static int pack_provenance(const Transaction *t, uint8_t **out, size_t *len)
{
    Transaction holder = COMPACT__PROJECTS__V1__TRANSACTION__INIT;

    *out = NULL;
    *len = 0;
    if (t->n_provenance == 0)
        return 0;
    holder.provenance = t->provenance;
    holder.n_provenance = t->n_provenance;
    *len = compact__projects__v1__transaction__get_packed_size(&holder);
    if ((*out = malloc(*len)) == NULL)
        return -ENOMEM;
    compact__projects__v1__transaction__pack(&holder, *out);
    return 0;
}

int project_store_add_transaction(store *st, const char *project_id, const Transaction *t)
{
    sqlite3_stmt *s = store_stmt(st, SQL_ADD_TRANSACTION);
    const Compact__Projects__V1__Organisation *org =
        t->provider_case == COMPACT__PROJECTS__V1__TRANSACTION__PROVIDER_PROVIDER_ORG
            ? t->provider_org
            : NULL;
    uint8_t *provenance;
    size_t len;
    int rc;

    if (s == NULL)
        return -EIO;
    if ((rc = pack_provenance(t, &provenance, &len)) != 0)
        return rc;
    sqlite3_bind_text(s, 1, t->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, project_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 3, (int)t->type);
    sqlite3_bind_text(s, 4, t->date, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 5, t->value->currency, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 6, t->value->amount_minor);
    if (t->provider_case == COMPACT__PROJECTS__V1__TRANSACTION__PROVIDER_PROVIDER_NAME)
        sqlite3_bind_text(s, 7, t->provider_name, -1, SQLITE_STATIC);
    if (t->provider_case == COMPACT__PROJECTS__V1__TRANSACTION__PROVIDER_PROVIDER_ENTITY_ID)
        sqlite3_bind_text(s, 8, t->provider_entity_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 9, t->catalytic ? 1 : 0);
    sqlite3_bind_text(s, 10, t->description, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 11, t->verified ? 1 : 0);
    sqlite3_bind_text(s, 12, t->source_note, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 13, pbtime_ms(t->record_time));
    if (org && org->ref[0])
        sqlite3_bind_text(s, 14, org->ref, -1, SQLITE_STATIC);
    if (org)
        sqlite3_bind_text(s, 15, org->name, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 16, org ? (int)org->type : 0);
    if (provenance)
        sqlite3_bind_blob(s, 17, provenance, (int)len, SQLITE_STATIC);
    sqlite3_bind_text(s, 18, t->decision_ref, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    sqlite3_reset(s);
    free(provenance);
    if ((rc & 0xff) == SQLITE_CONSTRAINT)
        return -EEXIST;
    return store_result(st, rc);
}

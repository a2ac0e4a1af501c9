/* project_store.c: the projects service's tables and queries. */
#include "project_store.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
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
 * then inserts one row instead of rewriting the body; they are keyed by
 * their project (version 5), so a project's are read together. CHECK constraints
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

/* Version 4: ListProjects at 100,000 projects (issue 14). The list is in IATI-key
 * order, and a filter used to be tested project by project along that order
 * (a correlated subquery each): a rare filter read most of the table, and
 * the text filter ran instr() over every row when nothing matched.
 *
 * - Each filter table gets the project's IATI key (it never changes) and an
 *   index (value, key): one index range is then a page of that filter, in
 *   order. The status gets the same on projects.
 * - The text filter gets an FTS5 index with the trigram tokenizer over the
 *   same lowered search text: a trigram phrase matches exactly the rows whose
 *   text holds the query as a substring (case_sensitive 1: the text and the
 *   query are lowered already), which is what instr() tested, for queries of
 *   3 characters or more. It is contentless (the text is in projects) and
 *   keyed by search_rowid, a number of the project's own: the rowid of a
 *   table with a text primary key may change in a VACUUM, FTS5's do not.
 *   Triggers keep it in step with every insert, change and delete. */
static const char schema_v4[] =
    "ALTER TABLE project_groups ADD COLUMN iati_key TEXT NOT NULL DEFAULT '';"
    "UPDATE project_groups SET iati_key ="
    "  (SELECT p.iati_key FROM projects p WHERE p.id = project_id);"
    "CREATE INDEX project_groups_by_key ON project_groups (group_id, iati_key);"
    "ALTER TABLE project_entities ADD COLUMN iati_key TEXT NOT NULL DEFAULT '';"
    "UPDATE project_entities SET iati_key ="
    "  (SELECT p.iati_key FROM projects p WHERE p.id = project_id);"
    "CREATE INDEX project_entities_by_key ON project_entities (entity_id, iati_key);"
    "ALTER TABLE project_countries ADD COLUMN iati_key TEXT NOT NULL DEFAULT '';"
    "UPDATE project_countries SET iati_key ="
    "  (SELECT p.iati_key FROM projects p WHERE p.id = project_id);"
    "CREATE INDEX project_countries_by_key ON project_countries (country, iati_key);"
    "ALTER TABLE project_pillars ADD COLUMN iati_key TEXT NOT NULL DEFAULT '';"
    "UPDATE project_pillars SET iati_key ="
    "  (SELECT p.iati_key FROM projects p WHERE p.id = project_id);"
    "CREATE INDEX project_pillars_by_key ON project_pillars (pillar, iati_key);"
    "CREATE INDEX projects_by_status ON projects (status, iati_key);"
    "ALTER TABLE projects ADD COLUMN search_rowid INTEGER;"
    "UPDATE projects SET search_rowid = rowid;"
    "CREATE UNIQUE INDEX projects_by_search_rowid ON projects (search_rowid);"
    "CREATE VIRTUAL TABLE project_search USING fts5("
    "  search_text, content = '', tokenize = 'trigram case_sensitive 1');"
    "INSERT INTO project_search (rowid, search_text)"
    "  SELECT search_rowid, search_text FROM projects;"
    "CREATE TRIGGER projects_search_insert AFTER INSERT ON projects BEGIN"
    "  INSERT INTO project_search (rowid, search_text)"
    "    VALUES (new.search_rowid, new.search_text);"
    "END;"
    "CREATE TRIGGER projects_search_update AFTER UPDATE OF search_text ON projects"
    "  WHEN old.search_text IS NOT new.search_text BEGIN"
    "  INSERT INTO project_search (project_search, rowid, search_text)"
    "    VALUES ('delete', old.search_rowid, old.search_text);"
    "  INSERT INTO project_search (rowid, search_text)"
    "    VALUES (new.search_rowid, new.search_text);"
    "END;"
    "CREATE TRIGGER projects_search_delete AFTER DELETE ON projects BEGIN"
    "  INSERT INTO project_search (project_search, rowid, search_text)"
    "    VALUES ('delete', old.search_rowid, old.search_text);"
    "END;";

/* Version 5: a project's transactions side by side. The transactions were
 * a rowid table in the order of recording, so the ten transactions of one
 * project lay on ten different pages among a million rows: every GetProject
 * that missed the cache and every project of a ListProjects page read one
 * page per transaction (a page of 20 projects at 100,000 projects and
 * 1,000,000 transactions: about 200 pages). Now the table is keyed (project,
 * date, seq) without a rowid, in the order the project lists them, and a
 * project's transactions are one or two neighbouring pages.
 *
 * seq is the order of recording within the project (ties of date keep it):
 * the old rowid for the transactions there were, then one more than the
 * project's largest. Unlike a rowid of a table with a text key, which a
 * VACUUM may renumber, it is a column: the order is kept for good. The id
 * stays unique; transactions_by_project, which the key now is, goes with
 * the old table. The copy takes about 20 s per million transactions (2-CPU
 * machine of bench/RESULTS.md), once, inside the startup probe's minute, and
 * needs free disk for a second copy of the transactions while it runs (the
 * WAL holds the new table until the COMMIT). A transaction whose project is
 * gone (deleted by hand with foreign keys off) fails the copy, and the
 * service does not start until it is dealt with: money is never dropped
 * silently. */
static const char schema_v5[] =
    "CREATE TABLE transactions_v5 ("
    "  project_id         TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,"
    "  date               TEXT NOT NULL,"
    "  seq                INTEGER NOT NULL,"
    "  id                 TEXT NOT NULL UNIQUE,"
    "  type               INTEGER NOT NULL CHECK (type BETWEEN 1 AND 13),"
    "  currency           TEXT NOT NULL CHECK (length(currency) = 3),"
    "  amount_minor       INTEGER NOT NULL CHECK (amount_minor <> 0),"
    "  provider_name      TEXT,"
    "  provider_entity_id TEXT,"
    "  catalytic          INTEGER NOT NULL CHECK (catalytic IN (0, 1)),"
    "  description        TEXT NOT NULL,"
    "  verified           INTEGER NOT NULL CHECK (verified IN (0, 1)),"
    "  source_note        TEXT NOT NULL,"
    "  record_time_ms     INTEGER NOT NULL,"
    "  decision_ref       TEXT NOT NULL DEFAULT '',"
    "  provider_org_name  TEXT"
    "    CHECK (provider_org_name IS NULL OR"
    "           (provider_name IS NULL AND provider_entity_id IS NULL)),"
    "  provider_org_ref   TEXT CHECK (provider_org_ref IS NULL OR provider_org_name IS NOT NULL),"
    "  provider_org_type  INTEGER NOT NULL DEFAULT 0 CHECK (provider_org_type BETWEEN 0 AND 99),"
    "  provenance         BLOB,"
    "  CHECK (provider_name IS NULL OR provider_entity_id IS NULL),"
    "  PRIMARY KEY (project_id, date, seq)"
    ") STRICT, WITHOUT ROWID;"
    "INSERT INTO transactions_v5 (project_id, date, seq, id, type, currency, amount_minor,"
    "  provider_name, provider_entity_id, catalytic, description, verified, source_note,"
    "  record_time_ms, decision_ref, provider_org_name, provider_org_ref, provider_org_type,"
    "  provenance)"
    "  SELECT project_id, date, rowid, id, type, currency, amount_minor, provider_name,"
    "    provider_entity_id, catalytic, description, verified, source_note, record_time_ms,"
    "    decision_ref, provider_org_name, provider_org_ref, provider_org_type, provenance"
    "  FROM transactions ORDER BY project_id, date, rowid;"
    "DROP TABLE transactions;"
    "ALTER TABLE transactions_v5 RENAME TO transactions;"
    "CREATE UNIQUE INDEX transactions_by_decision ON transactions (project_id, decision_ref)"
    "  WHERE decision_ref <> '';";

const store_migration project_store_migrations[] = {
    {.version = 1, .sql = schema_v1}, {.version = 2, .sql = schema_v2},
    {.version = 3, .sql = schema_v3}, {.version = 4, .sql = schema_v4},
    {.version = 5, .sql = schema_v5},
};
const size_t project_store_migrations_count =
    sizeof project_store_migrations / sizeof project_store_migrations[0];

static const char SQL_GET[] = "SELECT version, body FROM projects WHERE id = ?1";
static const char SQL_GET_BY_IATI[] = "SELECT version, body FROM projects WHERE iati_key = ?1";
static const char SQL_IATI_OWNER[] = "SELECT id FROM projects WHERE iati_key = ?1";
static const char SQL_EACH[] = "SELECT version, body FROM projects";
static const char SQL_INSERT[] =
    "INSERT INTO projects (id, iati_identifier, iati_key, title, status, start_date,"
    " end_date, search_text, create_time_ms, update_time_ms, version, body, search_rowid)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 1, ?11,"
    "  (SELECT ifnull(max(search_rowid), 0) + 1 FROM projects))";
static const char SQL_UPDATE[] =
    "UPDATE projects SET title = ?2, status = ?3, start_date = ?4, end_date = ?5,"
    " search_text = ?6, update_time_ms = ?7, body = ?8, version = version + 1"
    " WHERE id = ?1 AND version = ?9";
static const char SQL_UPDATE_BODY[] =
    "UPDATE projects SET update_time_ms = ?2, body = ?3, version = version + 1"
    " WHERE id = ?1 AND version = ?4";
static const char SQL_EXISTS[] = "SELECT 1 FROM projects WHERE id = ?1";
static const char SQL_DEL_GROUPS[] = "DELETE FROM project_groups WHERE project_id = ?1";
static const char SQL_DEL_ENTITIES[] = "DELETE FROM project_entities WHERE project_id = ?1";
static const char SQL_DEL_COUNTRIES[] = "DELETE FROM project_countries WHERE project_id = ?1";
static const char SQL_DEL_PILLARS[] = "DELETE FROM project_pillars WHERE project_id = ?1";
static const char SQL_ADD_GROUP[] = "INSERT OR IGNORE INTO project_groups"
                                    " (group_id, project_id, iati_key) VALUES (?1, ?2, ?3)";
static const char SQL_ADD_ENTITY[] = "INSERT OR IGNORE INTO project_entities"
                                     " (entity_id, project_id, iati_key) VALUES (?1, ?2, ?3)";
static const char SQL_ADD_COUNTRY[] = "INSERT OR IGNORE INTO project_countries"
                                      " (country, project_id, iati_key) VALUES (?1, ?2, ?3)";
static const char SQL_ADD_PILLAR[] = "INSERT OR IGNORE INTO project_pillars"
                                     " (pillar, project_id, iati_key) VALUES (?1, ?2, ?3)";
static const char SQL_TRANSACTIONS[] =
    "SELECT id, type, date, currency, amount_minor, provider_name, provider_entity_id,"
    " catalytic, description, verified, source_note, record_time_ms, provider_org_ref,"
    " provider_org_name, provider_org_type, provenance, decision_ref"
    " FROM transactions WHERE project_id = ?1 ORDER BY date, seq";
static const char SQL_ADD_TRANSACTION[] =
    "INSERT INTO transactions (id, project_id, type, date, currency, amount_minor,"
    " provider_name, provider_entity_id, catalytic, description, verified, source_note,"
    " record_time_ms, provider_org_ref, provider_org_name, provider_org_type, provenance,"
    " decision_ref, seq)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,"
    "  (SELECT coalesce(max(seq), 0) + 1 FROM transactions WHERE project_id = ?2))";

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
    size_t room = p->n_transactions;
    int rc;

    if (s == NULL)
        return -EIO;
    sqlite3_bind_text(s, 1, p->id, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (p->n_transactions == room) { /* doubling from 16: four reallocs for 100 rows */
            size_t more = room ? room * 2 : 16;
            Transaction **grown = realloc(p->transactions, more * sizeof *grown);
            if (grown == NULL) {
                sqlite3_reset(s);
                return -ENOMEM;
            }
            p->transactions = grown;
            room = more;
        }
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

/* The current row of a listing (version, body, id, IATI key), packed, onto
 * `out`: the kept bytes when `cache` holds the row's version, else the
 * project built and packed, and kept unless a write not yet committed
 * could be in it (store_uncommitted). */
static int row_to_packed(store *st, msgcache *cache, sqlite3_stmt *s, page_rows *out)
{
    const char *id_col = (const char *)sqlite3_column_text(s, 2);
    const char *key_col = (const char *)sqlite3_column_text(s, 3);
    int64_t version = sqlite3_column_int64(s, 0);
    char id[IDS_SIZE], key[PROJECT_IATI_MAX * 4 + 1];
    const uint8_t *kept;
    uint8_t *packed;
    size_t len;
    Project *p;
    int rc;

    if (id_col == NULL || key_col == NULL)
        return -ENOMEM; /* both NOT NULL: only a failed conversion is NULL */
    snprintf(id, sizeof id, "%s", id_col);
    snprintf(key, sizeof key, "%s", key_col);
    if ((kept = msgcache_get(cache, id, version, &len)) != NULL)
        return page_rows_add(out, kept, len, key);
    if ((rc = row_to_project(st, s, &p, NULL)) != 0)
        return rc;
    len = protobuf_c_message_get_packed_size(&p->base);
    if ((packed = malloc(len ? len : 1)) == NULL) {
        project_store_free(p);
        return -ENOMEM;
    }
    protobuf_c_message_pack(&p->base, packed);
    project_store_free(p);
    if (!store_writing(st) && !store_uncommitted(st))
        (void)msgcache_put(cache, id, version, packed, len); /* kept or not, the page goes on */
    rc = page_rows_add(out, packed, len, key);
    free(packed);
    return rc;
}

/* Steps `s` adding up to `limit` rows to `out`. */
static int collect(store *st, msgcache *cache, sqlite3_stmt *s, size_t limit, page_rows *out)
{
    int rc = 0;

    while (rc == 0 && out->n < limit && (rc = sqlite3_step(s)) == SQLITE_ROW)
        rc = row_to_packed(st, cache, s, out);
    sqlite3_reset(s);
    if (rc == SQLITE_DONE || rc == SQLITE_ROW)
        rc = 0;
    else if (rc > 0)
        rc = store_result(st, rc);
    if (rc != 0)
        page_rows_clear(out);
    return rc;
}

/* ---- listing ---------------------------------------------------------------- */

/* ListProjects (see schema_v4 for the indexes). A page is read along one
 * index, the driver, in IATI-key order, every other filter being a
 * condition: the table of the first filter set among entity, country,
 * group, pillar (roughly from the most to the least selective), else the
 * status index, else the keys themselves. The text filter (3 characters or
 * more) is tried first along the driver, with instr(), over a window of
 * LIST_WINDOW rows: a text most projects have fills the page there. When it
 * does not, the text is rare enough for its FTS5 matches, sorted, to be the
 * cheaper way, and the page is read that way instead. Both ways give the
 * rows instr() over every project would, in the same order. */
#define LIST_WINDOW 1000
#define LIST_SQL_MAX 2048

enum { LIST_ENTITY, LIST_COUNTRY, LIST_GROUP, LIST_PILLAR, LIST_TABLES };

/* A filter with a table of its own, keyed (value, IATI key). `param` is the
 * ?N its value is bound to. Parameters: ?1 the key to list after, ?2 to ?5
 * these values, ?6 the status, ?7 the lowered text, ?8 the limit, ?9 the
 * text as an FTS5 phrase, ?10 the last key of the window. */
static const struct list_table {
    const char *table, *column;
    int param;
} list_tables[LIST_TABLES] = {
    [LIST_ENTITY] = {"project_entities", "entity_id", 3},
    [LIST_COUNTRY] = {"project_countries", "country", 4},
    [LIST_GROUP] = {"project_groups", "group_id", 2},
    [LIST_PILLAR] = {"project_pillars", "pillar", 5},
};

typedef enum list_drive { DRIVE_TABLE, DRIVE_STATUS, DRIVE_KEYS, DRIVE_SEARCH } list_drive;

/* How one page is read. */
typedef struct list_plan {
    list_drive drive;
    int table;  /* DRIVE_TABLE: which */
    int instr;  /* test the text with instr() */
    int window; /* only keys up to ?10 */
} list_plan;

static int list_sets(const project_store_filter *f, int t)
{
    switch (t) {
    case LIST_ENTITY:
        return f->entity_id && f->entity_id[0];
    case LIST_COUNTRY:
        return f->country && f->country[0];
    case LIST_GROUP:
        return f->working_group_id && f->working_group_id[0];
    default:
        return f->pillar != 0;
    }
}

/* The driver of a listing without regard to its text. */
static list_plan list_driver(const project_store_filter *f)
{
    for (int t = 0; t < LIST_TABLES; t++) {
        if (list_sets(f, t))
            return (list_plan){.drive = DRIVE_TABLE, .table = t};
    }
    return (list_plan){.drive = f->status ? DRIVE_STATUS : DRIVE_KEYS};
}

/* Appends printf-style text to buf (of LIST_SQL_MAX). */
static void list_cat(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void list_cat(char *buf, const char *fmt, ...)
{
    size_t len = strlen(buf);
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf + len, LIST_SQL_MAX - len, fmt, ap);
    va_end(ap);
}

/* The column holding the IATI key along the driver. */
static const char *list_key_column(const list_plan *pl)
{
    return pl->drive == DRIVE_TABLE ? "d.iati_key" : "p.iati_key";
}

/* The SQL of a page read as `pl` says. */
static void list_sql(const project_store_filter *f, const list_plan *pl, char *buf)
{
    const char *key = list_key_column(pl);

    buf[0] = '\0';
    list_cat(buf, "SELECT p.version, p.body, p.id, p.iati_key FROM ");
    if (pl->drive == DRIVE_TABLE)
        list_cat(buf, "%s d JOIN projects p ON p.id = d.project_id WHERE d.%s = ?%d",
                 list_tables[pl->table].table, list_tables[pl->table].column,
                 list_tables[pl->table].param);
    else if (pl->drive == DRIVE_SEARCH)
        list_cat(buf, "project_search s JOIN projects p ON p.search_rowid = s.rowid"
                      " WHERE s.project_search MATCH ?9");
    else
        list_cat(buf, "projects p WHERE 1");
    list_cat(buf, " AND %s > ?1", key);
    if (pl->window)
        list_cat(buf, " AND %s <= ?10", key);
    for (int t = 0; t < LIST_TABLES; t++) {
        if (list_sets(f, t) && !(pl->drive == DRIVE_TABLE && pl->table == t))
            list_cat(
                buf,
                " AND EXISTS (SELECT 1 FROM %s x%d WHERE x%d.%s = ?%d AND x%d.project_id = p.id)",
                list_tables[t].table, t, t, list_tables[t].column, list_tables[t].param, t);
    }
    if (f->status)
        list_cat(buf, " AND p.status = ?6");
    if (pl->instr)
        list_cat(buf, " AND instr(p.search_text, ?7) > 0");
    list_cat(buf, " ORDER BY %s LIMIT ?8", key);
}

/* The SQL of the last key of the driver's next LIST_WINDOW rows. */
static void list_window_sql(const list_plan *pl, char *buf)
{
    buf[0] = '\0';
    if (pl->drive == DRIVE_TABLE)
        list_cat(buf, "SELECT iati_key FROM %s WHERE %s = ?%d AND iati_key > ?1",
                 list_tables[pl->table].table, list_tables[pl->table].column,
                 list_tables[pl->table].param);
    else if (pl->drive == DRIVE_STATUS)
        list_cat(buf, "SELECT iati_key FROM projects WHERE status = ?6 AND iati_key > ?1");
    else
        list_cat(buf, "SELECT iati_key FROM projects WHERE iati_key > ?1");
    list_cat(buf, " ORDER BY iati_key LIMIT 1 OFFSET %d", LIST_WINDOW - 1);
}

/* What every page statement binds. `text` is lowered, `phrase` its FTS5
 * form; `window` the window's last key (may be NULL). And the cache the
 * rows are read through. */
typedef struct list_args {
    const project_store_filter *f;
    const char *after, *text, *phrase, *window;
    size_t limit;
    msgcache *cache;
} list_args;

static void list_bind(sqlite3_stmt *s, const list_args *a)
{
    const project_store_filter *f = a->f;

    /* A statement lacks some of the parameters: binding those fails
     * harmlessly (SQLITE_RANGE). */
    sqlite3_bind_text(s, 1, a->after, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, f->working_group_id ? f->working_group_id : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, f->entity_id ? f->entity_id : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, f->country ? f->country : "", -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 5, f->pillar);
    sqlite3_bind_int(s, 6, f->status);
    sqlite3_bind_text(s, 7, a->text, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 8, (sqlite3_int64)a->limit);
    sqlite3_bind_text(s, 9, a->phrase, -1, SQLITE_STATIC);
    if (a->window)
        sqlite3_bind_text(s, 10, a->window, -1, SQLITE_STATIC);
}

static int list_read(store *st, const list_plan *pl, const list_args *a, page_rows *out)
{
    char sql[LIST_SQL_MAX];
    sqlite3_stmt *s;

    list_sql(a->f, pl, sql);
    if ((s = store_stmt(st, sql)) == NULL)
        return -EIO;
    list_bind(s, a);
    return collect(st, a->cache, s, a->limit, out);
}

/* The last key of the driver's next LIST_WINDOW rows into `key` (0), or
 * -ENOENT when fewer rows are left. */
static int list_window(store *st, const list_plan *pl, const list_args *a, char *key, size_t size)
{
    char sql[LIST_SQL_MAX];
    sqlite3_stmt *s;
    int rc;

    list_window_sql(pl, sql);
    if ((s = store_stmt(st, sql)) == NULL)
        return -EIO;
    list_bind(s, a);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        const unsigned char *k = sqlite3_column_text(s, 0);
        snprintf(key, size, "%s", k ? (const char *)k : "");
        sqlite3_reset(s);
        return 0;
    }
    sqlite3_reset(s);
    rc = store_result(st, rc);
    return rc ? rc : -ENOENT;
}

/* Characters of UTF-8 text: bytes that do not continue one. */
static size_t utf8_chars(const char *s)
{
    size_t n = 0;

    for (; *s; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

/* `text` as an FTS5 phrase: quoted, quotes doubled. Caller frees. */
static char *fts_phrase(const char *text)
{
    char *out = malloc(2 * strlen(text) + 3), *at = out;

    if (out == NULL)
        return NULL;
    *at++ = '"';
    for (; *text; text++) {
        if (*text == '"')
            *at++ = '"';
        *at++ = *text;
    }
    *at++ = '"';
    *at = '\0';
    return out;
}

/* A page with a text of 3 characters or more (see the top of the section). */
static int list_text(store *st, list_plan pl, list_args *a, page_rows *out)
{
    char last[PROJECT_IATI_MAX * 4 + 1];
    int rc = list_window(st, &pl, a, last, sizeof last);

    pl.instr = 1;
    if (rc == -ENOENT) /* fewer rows left than a window: read them all */
        return list_read(st, &pl, a, out);
    if (rc != 0)
        return rc;
    pl.window = 1;
    a->window = last;
    if ((rc = list_read(st, &pl, a, out)) != 0 || out->n == a->limit)
        return rc;
    page_rows_clear(out);
    a->window = NULL;
    return list_read(st, &(list_plan){.drive = DRIVE_SEARCH}, a, out);
}

int project_store_list(store *st, msgcache *cache, const project_store_filter *f,
                       const char *after_key, size_t limit, page_rows *out)
{
    char *text = strdup(f->text ? f->text : ""), *phrase = NULL;
    list_plan pl = list_driver(f);
    list_args a = {.f = f, .after = after_key, .limit = limit, .cache = cache};
    int rc;

    page_rows_clear(out);
    if (text == NULL)
        return -ENOMEM;
    pbstr_lower_ascii(text, text, strlen(text) + 1);
    a.text = text;
    if (text[0] == '\0') {
        rc = list_read(st, &pl, &a, out);
    } else if (utf8_chars(text) < 3) { /* no trigram to look up */
        pl.instr = 1;
        rc = list_read(st, &pl, &a, out);
    } else if ((phrase = fts_phrase(text)) == NULL) {
        rc = -ENOMEM;
    } else {
        a.phrase = phrase;
        rc = list_text(st, pl, &a, out);
    }
    free(phrase);
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

/* Runs `sql` with up to three text parameters (NULL: not bound). */
static int exec_text3(store *st, const char *sql, const char *a, const char *b, const char *c)
{
    sqlite3_stmt *s = store_stmt(st, sql);

    if (s == NULL)
        return -EIO;
    sqlite3_bind_text(s, 1, a, -1, SQLITE_STATIC);
    if (b)
        sqlite3_bind_text(s, 2, b, -1, SQLITE_STATIC);
    if (c)
        sqlite3_bind_text(s, 3, c, -1, SQLITE_STATIC);
    return run(st, s);
}

/* Replaces the query rows of `p` (groups, entities, countries, pillars),
 * each with the project's IATI key. */
static int write_query_rows(store *st, const Project *p)
{
    char key[PROJECT_IATI_MAX * 4 + 1];
    int rc = 0;

    project_store_iati_key(p->iati_identifier, key, sizeof key);
    if ((rc = exec_text3(st, SQL_DEL_GROUPS, p->id, NULL, NULL)) ||
        (rc = exec_text3(st, SQL_DEL_ENTITIES, p->id, NULL, NULL)) ||
        (rc = exec_text3(st, SQL_DEL_COUNTRIES, p->id, NULL, NULL)) ||
        (rc = exec_text3(st, SQL_DEL_PILLARS, p->id, NULL, NULL)))
        return rc;
    for (size_t i = 0; rc == 0 && i < p->n_working_group_ids; i++)
        rc = exec_text3(st, SQL_ADD_GROUP, p->working_group_ids[i], p->id, key);
    for (size_t i = 0; rc == 0 && i < p->n_participants; i++)
        rc = exec_text3(st, SQL_ADD_ENTITY, p->participants[i]->entity_id, p->id, key);
    for (size_t i = 0; rc == 0 && i < p->n_recipient_countries; i++)
        rc = exec_text3(st, SQL_ADD_COUNTRY, p->recipient_countries[i], p->id, key);
    for (size_t i = 0; rc == 0 && i < p->n_pillars; i++) {
        sqlite3_stmt *s = store_stmt(st, SQL_ADD_PILLAR);
        if (s == NULL)
            return -EIO;
        sqlite3_bind_int(s, 1, (int)p->pillars[i]);
        sqlite3_bind_text(s, 2, p->id, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, key, -1, SQLITE_STATIC);
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

int project_store_update_body(store *st, Project *p, int64_t version)
{
    sqlite3_stmt *s = store_stmt(st, SQL_UPDATE_BODY);
    uint8_t *body = NULL;
    size_t len;
    int rc;

    if (s == NULL)
        return -EIO;
    if ((rc = pack_body(p, &body, &len)) != 0)
        return rc;
    sqlite3_bind_text(s, 1, p->id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, pbtime_ms(p->update_time));
    sqlite3_bind_blob(s, 3, body, (int)len, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, version);
    rc = run(st, s);
    free(body);
    if (rc != 0)
        return rc;
    if (sqlite3_changes(store_db(st)) == 0) {
        rc = sqlrow_exists(st, SQL_EXISTS, p->id);
        return rc < 0 ? rc : rc ? -ESTALE : -ENOENT;
    }
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

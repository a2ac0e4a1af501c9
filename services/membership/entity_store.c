/* entity_store.c: the membership service's tables and queries. */
#include "entity_store.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "etag.h"
#include "pbstr.h"
#include "pbtime.h"
#include "provenance.h"
#include "provenance_store.h"
#include "sqlrow.h"

/* ---- schema ------------------------------------------------------------- */

/* Focal points live in a child table rather than in a packed protobuf column:
 * the database stays readable and queryable with the sqlite3 shell (who is
 * the focal point at x@un.org?), a backup does not depend on this program's
 * protobuf schema to be understood, and a rule such as "one e-mail once per
 * entity" can become a constraint later. The price, one more indexed query
 * per entity read, is small for lists of a few dozen entities.
 *
 * acronym_lower carries the case-insensitive uniqueness and the sort order of
 * ListEntities; acronyms are ASCII, so lowering ASCII letters is the whole
 * case folding. Withdrawn entities keep their acronym: a record of who was a
 * member stays unambiguous. CHECK constraints repeat the enum ranges so that
 * a bug in the handlers cannot store a value the API would never return. */
static const char schema_v1[] =
    "CREATE TABLE entities ("
    "  id               TEXT PRIMARY KEY,"
    "  acronym          TEXT NOT NULL,"
    "  acronym_lower    TEXT NOT NULL UNIQUE,"
    "  name             TEXT NOT NULL,"
    "  kind             INTEGER NOT NULL CHECK (kind IN (1, 2, 3)),"
    "  status           INTEGER NOT NULL CHECK (status IN (1, 2)),"
    "  joined_on        TEXT NOT NULL DEFAULT '',"
    "  verified         INTEGER NOT NULL DEFAULT 0 CHECK (verified IN (0, 1)),"
    "  source_note      TEXT NOT NULL DEFAULT '',"
    "  create_time_ms   INTEGER NOT NULL,"
    "  update_time_ms   INTEGER NOT NULL,"
    "  withdraw_time_ms INTEGER,"
    "  version          INTEGER NOT NULL CHECK (version >= 1)"
    ") STRICT;"
    "CREATE TABLE focal_points ("
    "  entity_id TEXT NOT NULL REFERENCES entities (id) ON DELETE CASCADE,"
    "  position  INTEGER NOT NULL,"
    "  name      TEXT NOT NULL,"
    "  title     TEXT NOT NULL,"
    "  email     TEXT NOT NULL,"
    "  PRIMARY KEY (entity_id, position)"
    ") STRICT, WITHOUT ROWID;";

/* Version 2 splits the old `kind` in two (issue 12): whether the entity
 * belongs to the UN system (`affiliation`) and how it took part over time
 * (`participation`: one row per period, a role from one day to another, so
 * that "how many members on a day" is a query), and adds the per-fact
 * provenance (provenance_store.h).
 *
 * Existing rows upgrade as follows: kind UN_ENTITY and NON_UN_MEMBER give
 * their affiliation; OBSERVER said nothing of it, so it stays 0 (not
 * recorded) until someone records it. An entity with a joining date gets one
 * period from that date in the role its kind said (observer or member),
 * ended on the day of its withdrawal if it was withdrawn (and none at all if
 * it was withdrawn before it joined). Nothing of the old rows is claimed
 * confirmed: `confirmed` is 0 and no provenance row is made. `kind` and
 * `joined_on` stay, kept by the handlers as derived columns for older
 * readers. `confirmed` is derived too: 1 when the period's role, from_date
 * and (if set) to_date are CONFIRMED in its provenance, which CountEntities
 * reads without loading the provenance. */
static const char schema_v2[] =
    "ALTER TABLE entities ADD COLUMN affiliation INTEGER NOT NULL DEFAULT 0"
    "  CHECK (affiliation IN (0, 1, 2));"
    "UPDATE entities SET affiliation = CASE kind WHEN 1 THEN 1 WHEN 2 THEN 2 ELSE 0 END;"
    "CREATE TABLE participation ("
    "  entity_id TEXT NOT NULL REFERENCES entities (id) ON DELETE CASCADE,"
    "  position  INTEGER NOT NULL,"
    "  role      INTEGER NOT NULL CHECK (role IN (1, 2)),"
    "  from_date TEXT NOT NULL,"
    "  to_date   TEXT NOT NULL DEFAULT '',"
    "  confirmed INTEGER NOT NULL DEFAULT 0 CHECK (confirmed IN (0, 1)),"
    "  PRIMARY KEY (entity_id, position),"
    "  CHECK (to_date = '' OR to_date > from_date)"
    ") STRICT, WITHOUT ROWID;"
    "CREATE INDEX participation_by_day ON participation (from_date, to_date);"
    "INSERT INTO participation (entity_id, position, role, from_date, to_date, confirmed)"
    "  SELECT id, 0, CASE kind WHEN 3 THEN 2 ELSE 1 END, joined_on,"
    "         CASE WHEN withdraw_time_ms IS NULL THEN ''"
    "              ELSE date(withdraw_time_ms / 1000, 'unixepoch') END, 0"
    "  FROM entities WHERE joined_on <> '' AND (withdraw_time_ms IS NULL"
    "        OR date(withdraw_time_ms / 1000, 'unixepoch') > joined_on);" PROVENANCE_STORE_SCHEMA;

/* Version 3: the Committee's admissions. A period an admission began keeps
 * the decision effect's reference, unique across all periods, so that a
 * retried admission finds the period it already made. */
static const char schema_v3[] =
    "ALTER TABLE participation ADD COLUMN decision_ref TEXT NOT NULL DEFAULT '';"
    "CREATE UNIQUE INDEX participation_by_decision ON participation (decision_ref)"
    "  WHERE decision_ref <> '';";

const store_migration entity_store_migrations[] = {
    {.version = 1, .sql = schema_v1},
    {.version = 2, .sql = schema_v2},
    {.version = 3, .sql = schema_v3},
};
const size_t entity_store_migrations_count =
    sizeof entity_store_migrations / sizeof entity_store_migrations[0];

#define ENTITY_COLUMNS                                                                             \
    "id, acronym, name, kind, status, joined_on, verified, source_note, create_time_ms, "          \
    "update_time_ms, withdraw_time_ms, version, affiliation"

static const char SQL_GET[] = "SELECT " ENTITY_COLUMNS " FROM entities WHERE id = ?1";
static const char SQL_GET_BY_ACRONYM[] =
    "SELECT " ENTITY_COLUMNS " FROM entities WHERE acronym_lower = ?1";
static const char SQL_ACRONYM_OWNER[] = "SELECT id, acronym FROM entities WHERE acronym_lower = ?1";
static const char SQL_LIST[] =
    "SELECT " ENTITY_COLUMNS " FROM entities e WHERE acronym_lower > ?1"
    " AND (?2 = 0 OR kind = ?2) AND (?3 = 0 OR status = ?3) AND (?5 = 0 OR affiliation = ?5)"
    " AND (?6 = '' OR EXISTS (SELECT 1 FROM participation p WHERE p.entity_id = e.id"
    "      AND p.from_date <= ?6 AND (p.to_date = '' OR p.to_date > ?6)"
    "      AND (?7 = 0 OR p.role = ?7)))"
    " ORDER BY acronym_lower LIMIT ?4";
static const char SQL_COUNT[] =
    "SELECT p.role, e.affiliation, p.confirmed, count(*) FROM participation p"
    " JOIN entities e ON e.id = p.entity_id"
    " WHERE p.from_date <= ?1 AND (p.to_date = '' OR p.to_date > ?1)"
    " GROUP BY p.role, e.affiliation, p.confirmed";
static const char SQL_PARTICIPATION[] =
    "SELECT role, from_date, to_date, decision_ref FROM participation"
    " WHERE entity_id = ?1 ORDER BY position";
static const char SQL_ADMITTED_BY[] = "SELECT entity_id FROM participation WHERE decision_ref = ?1";
static const char SQL_DELETE_PARTICIPATION[] = "DELETE FROM participation WHERE entity_id = ?1";
static const char SQL_INSERT_PARTICIPATION[] =
    "INSERT INTO participation (entity_id, position, role, from_date, to_date, confirmed,"
    " decision_ref) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
static const char SQL_FOCAL_POINTS[] =
    "SELECT name, title, email FROM focal_points WHERE entity_id = ?1 ORDER BY position";
static const char SQL_INSERT[] =
    "INSERT INTO entities (id, acronym, acronym_lower, name, kind, status, joined_on,"
    " verified, source_note, create_time_ms, update_time_ms, withdraw_time_ms, version,"
    " affiliation) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, 1, ?13)";
static const char SQL_UPDATE[] =
    "UPDATE entities SET acronym = ?2, acronym_lower = ?3, name = ?4, kind = ?5,"
    " status = ?6, joined_on = ?7, verified = ?8, source_note = ?9, update_time_ms = ?10,"
    " withdraw_time_ms = ?11, version = version + 1, affiliation = ?13"
    " WHERE id = ?1 AND version = ?12";
static const char SQL_EXISTS[] = "SELECT 1 FROM entities WHERE id = ?1";
static const char SQL_DELETE_FOCAL_POINTS[] = "DELETE FROM focal_points WHERE entity_id = ?1";
static const char SQL_INSERT_FOCAL_POINT[] =
    "INSERT INTO focal_points (entity_id, position, name, title, email)"
    " VALUES (?1, ?2, ?3, ?4, ?5)";

/* ---- small helpers ------------------------------------------------------ */

void entity_store_free(Entity *e)
{
    if (e)
        protobuf_c_message_free_unpacked(&e->base, NULL);
}

void entity_store_free_list(Entity **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        entity_store_free(v[i]);
    free(v);
}

void entity_store_acronym_key(const char *acronym, char *buf, size_t size)
{
    pbstr_lower_ascii(acronym, buf, size);
}

/* ---- reading ------------------------------------------------------------ */

static int load_focal_points(store *st, Entity *e)
{
    sqlite3_stmt *s = store_stmt(st, SQL_FOCAL_POINTS);
    int rc;

    if (s == NULL)
        return -EIO;
    sqlite3_bind_text(s, 1, e->id, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        FocalPoint **grown = realloc(e->focal_points, (e->n_focal_points + 1) * sizeof *grown);
        FocalPoint *fp = grown ? malloc(sizeof *fp) : NULL;
        if (grown)
            e->focal_points = grown;
        if (fp == NULL) {
            sqlite3_reset(s);
            return -ENOMEM;
        }
        compact__membership__v1__focal_point__init(fp);
        e->focal_points[e->n_focal_points++] = fp;
        if (sqlrow_text(s, 0, &fp->name) || sqlrow_text(s, 1, &fp->title) ||
            sqlrow_text(s, 2, &fp->email)) {
            sqlite3_reset(s);
            return -ENOMEM;
        }
    }
    sqlite3_reset(s);
    return store_result(st, rc);
}

static int load_participation(store *st, Entity *e)
{
    sqlite3_stmt *s = store_stmt(st, SQL_PARTICIPATION);
    int rc;

    if (s == NULL)
        return -EIO;
    sqlite3_bind_text(s, 1, e->id, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        Participation **grown = realloc(e->participation, (e->n_participation + 1) * sizeof *grown);
        Participation *p = grown ? malloc(sizeof *p) : NULL;
        if (grown)
            e->participation = grown;
        if (p == NULL) {
            sqlite3_reset(s);
            return -ENOMEM;
        }
        compact__membership__v1__participation__init(p);
        e->participation[e->n_participation++] = p;
        p->role = sqlite3_column_int(s, 0);
        if (sqlrow_text(s, 1, &p->from_date) || sqlrow_text(s, 2, &p->to_date) ||
            sqlrow_text(s, 3, &p->decision_ref)) {
            sqlite3_reset(s);
            return -ENOMEM;
        }
    }
    sqlite3_reset(s);
    return store_result(st, rc);
}

/* provenance_store_fn: the entity's own facts (scope "") and those of its
 * periods ("participation/<i>"). A scope naming no period is dropped. */
static int put_provenance(void *arg, const char *scope, Compact__Common__V1__Provenance *p)
{
    Entity *e = arg;
    char *end;
    unsigned long i;

    if (scope[0] == '\0')
        return provenance_store_append(&e->provenance, &e->n_provenance, p);
    if (strncmp(scope, ENTITY_STORE_PERIOD_SCOPE, strlen(ENTITY_STORE_PERIOD_SCOPE)) == 0) {
        i = strtoul(scope + strlen(ENTITY_STORE_PERIOD_SCOPE), &end, 10);
        if (*end == '\0' && i < e->n_participation)
            return provenance_store_append(&e->participation[i]->provenance,
                                           &e->participation[i]->n_provenance, p);
    }
    protobuf_c_message_free_unpacked(&p->base, NULL);
    return 0;
}

/* Everything of an entity beyond its row. */
static int load_children(store *st, Entity *e)
{
    int rc = load_focal_points(st, e);

    if (rc == 0)
        rc = load_participation(st, e);
    if (rc == 0)
        rc = provenance_store_each(st, e->id, put_provenance, e);
    return rc;
}

/* Builds an entity from the current row of a statement selecting
 * ENTITY_COLUMNS. */
static int row_to_entity(store *st, sqlite3_stmt *s, Entity **out, int64_t *version)
{
    Entity *e = malloc(sizeof *e);
    int rc = -ENOMEM;

    *out = NULL;
    if (e == NULL)
        return -ENOMEM;
    compact__membership__v1__entity__init(e);
    e->kind = sqlite3_column_int(s, 3);
    e->status = sqlite3_column_int(s, 4);
    e->verified = sqlite3_column_int(s, 6) != 0;
    e->affiliation = sqlite3_column_int(s, 12);
    e->create_time = pbtime_new(sqlite3_column_int64(s, 8));
    e->update_time = pbtime_new(sqlite3_column_int64(s, 9));
    if (sqlite3_column_type(s, 10) != SQLITE_NULL)
        e->withdraw_time = pbtime_new(sqlite3_column_int64(s, 10));
    int64_t v = sqlite3_column_int64(s, 11);
    if (sqlrow_text(s, 0, &e->id) || sqlrow_text(s, 1, &e->acronym) ||
        sqlrow_text(s, 2, &e->name) || sqlrow_text(s, 5, &e->joined_on) ||
        sqlrow_text(s, 7, &e->source_note) || e->create_time == NULL || e->update_time == NULL ||
        (sqlite3_column_type(s, 10) != SQLITE_NULL && e->withdraw_time == NULL))
        goto fail;
    if (etag_set(&e->etag, e->id, v))
        goto fail;
    if (version)
        *version = v;
    *out = e;
    return 0;
fail:
    entity_store_free(e);
    return rc;
}

/* Steps `s` (bound by the caller) for at most one entity. */
static int get_one(store *st, sqlite3_stmt *s, Entity **out, int64_t *version)
{
    int rc = sqlite3_step(s);

    *out = NULL;
    if (rc == SQLITE_ROW)
        rc = row_to_entity(st, s, out, version);
    else
        rc = rc == SQLITE_DONE ? -ENOENT : store_result(st, rc);
    sqlite3_reset(s);
    if (rc == 0 && (rc = load_children(st, *out)) != 0) {
        entity_store_free(*out);
        *out = NULL;
    }
    return rc;
}

int entity_store_get(store *st, const char *id, Entity **out, int64_t *version)
{
    sqlite3_stmt *s = store_stmt(st, SQL_GET);

    *out = NULL;
    if (s == NULL)
        return -EIO;
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    return get_one(st, s, out, version);
}

int entity_store_get_by_acronym(store *st, const char *acronym, Entity **out)
{
    sqlite3_stmt *s = store_stmt(st, SQL_GET_BY_ACRONYM);
    char key[4 * ENTITY_ACRONYM_MAX + 1];

    *out = NULL;
    if (s == NULL)
        return -EIO;
    entity_store_acronym_key(acronym, key, sizeof key);
    sqlite3_bind_text(s, 1, key, -1, SQLITE_TRANSIENT);
    return get_one(st, s, out, NULL);
}

int entity_store_acronym_owner(store *st, const char *acronym, char *id, char *stored)
{
    sqlite3_stmt *s = store_stmt(st, SQL_ACRONYM_OWNER);
    char key[4 * ENTITY_ACRONYM_MAX + 1];
    int rc;

    if (s == NULL)
        return -EIO;
    entity_store_acronym_key(acronym, key, sizeof key);
    sqlite3_bind_text(s, 1, key, -1, SQLITE_TRANSIENT);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        snprintf(id, IDS_SIZE, "%s", (const char *)sqlite3_column_text(s, 0));
        snprintf(stored, ENTITY_ACRONYM_MAX + 1, "%s", (const char *)sqlite3_column_text(s, 1));
        rc = 0;
    } else {
        rc = rc == SQLITE_DONE ? -ENOENT : store_result(st, rc);
    }
    sqlite3_reset(s);
    return rc;
}

/* Reads the rows of the list statement into v[0..*n); focal points are
 * loaded afterwards, so that no two statements step at the same time. */
static int list_rows(store *st, sqlite3_stmt *s, size_t limit, Entity **v, size_t *n)
{
    int rc = SQLITE_DONE;

    while (*n < limit && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        if ((rc = row_to_entity(st, s, &v[*n], NULL)) != 0)
            return rc;
        (*n)++;
    }
    if (*n == limit)
        return 0;
    return store_result(st, rc);
}

int entity_store_list(store *st, const entity_store_filter *f, const char *after_key, size_t limit,
                      Entity ***out, size_t *n)
{
    sqlite3_stmt *s = store_stmt(st, SQL_LIST);
    Entity **v = calloc(limit ? limit : 1, sizeof *v);
    int rc;

    *out = NULL;
    *n = 0;
    if (s == NULL || v == NULL) {
        free(v);
        return s == NULL ? -EIO : -ENOMEM;
    }
    sqlite3_bind_text(s, 1, after_key, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, f->kind);
    sqlite3_bind_int(s, 3, f->status);
    sqlite3_bind_int64(s, 4, (sqlite3_int64)limit);
    sqlite3_bind_int(s, 5, f->affiliation);
    sqlite3_bind_text(s, 6, f->day ? f->day : "", -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 7, f->role);
    rc = list_rows(st, s, limit, v, n);
    sqlite3_reset(s);
    for (size_t i = 0; rc == 0 && i < *n; i++)
        rc = load_children(st, v[i]);
    if (rc != 0) {
        entity_store_free_list(v, *n);
        *n = 0;
        return rc;
    }
    *out = v;
    return 0;
}

int entity_store_count(store *st, const char *day, entity_store_counts *out)
{
    sqlite3_stmt *s = store_stmt(st, SQL_COUNT);
    int rc;

    memset(out, 0, sizeof *out);
    if (s == NULL)
        return -EIO;
    sqlite3_bind_text(s, 1, day, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int role = sqlite3_column_int(s, 0), affiliation = sqlite3_column_int(s, 1);
        int64_t n = sqlite3_column_int64(s, 3);
        out->total += n;
        if (role == COMPACT__MEMBERSHIP__V1__PARTICIPATION_ROLE__PARTICIPATION_ROLE_MEMBER)
            out->members += n;
        else
            out->observers += n;
        if (affiliation == COMPACT__MEMBERSHIP__V1__AFFILIATION__AFFILIATION_UN_SYSTEM)
            out->un_system += n;
        else if (affiliation == COMPACT__MEMBERSHIP__V1__AFFILIATION__AFFILIATION_NON_UN)
            out->non_un += n;
        if (sqlite3_column_int(s, 2))
            out->confirmed += n;
    }
    sqlite3_reset(s);
    return store_result(st, rc);
}

/* ---- writing ------------------------------------------------------------ */

int entity_store_period_confirmed(const Participation *p)
{
    Compact__Common__V1__Provenance *const *v = p->provenance;
    size_t n = p->n_provenance;

    return provenance_status(v, n, "role") == PROVENANCE_CONFIRMED &&
           provenance_status(v, n, "from_date") == PROVENANCE_CONFIRMED &&
           (p->to_date[0] == '\0' || provenance_status(v, n, "to_date") == PROVENANCE_CONFIRMED);
}

/* The periods of `e` and every fact of it, replacing what was stored. */
static int write_participation(store *st, const Entity *e)
{
    sqlite3_stmt *s = store_stmt(st, SQL_DELETE_PARTICIPATION);
    char scope[48];
    int rc;

    if (s == NULL)
        return -EIO;
    sqlite3_bind_text(s, 1, e->id, -1, SQLITE_STATIC);
    if ((rc = sqlrow_step_write(st, s)) != 0 ||
        (rc = provenance_store_delete(st, e->id, NULL)) != 0 ||
        (rc = provenance_store_write(st, e->id, "", e->provenance, e->n_provenance)) != 0)
        return rc;
    for (size_t i = 0; i < e->n_participation; i++) {
        const Participation *p = e->participation[i];
        if ((s = store_stmt(st, SQL_INSERT_PARTICIPATION)) == NULL)
            return -EIO;
        sqlite3_bind_text(s, 1, e->id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, (sqlite3_int64)i);
        sqlite3_bind_int(s, 3, (int)p->role);
        sqlite3_bind_text(s, 4, p->from_date, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 5, p->to_date, -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 6, entity_store_period_confirmed(p));
        sqlite3_bind_text(s, 7, p->decision_ref, -1, SQLITE_STATIC);
        snprintf(scope, sizeof scope, "%s%zu", ENTITY_STORE_PERIOD_SCOPE, i);
        if ((rc = sqlrow_step_write(st, s)) != 0 ||
            (rc = provenance_store_write(st, e->id, scope, p->provenance, p->n_provenance)) != 0)
            return rc;
    }
    return 0;
}

static int write_focal_points(store *st, const Entity *e)
{
    sqlite3_stmt *s = store_stmt(st, SQL_DELETE_FOCAL_POINTS);
    int rc;

    if (s == NULL)
        return -EIO;
    sqlite3_bind_text(s, 1, e->id, -1, SQLITE_STATIC);
    if ((rc = sqlrow_step_write(st, s)) != 0)
        return rc;
    for (size_t i = 0; i < e->n_focal_points; i++) {
        const FocalPoint *fp = e->focal_points[i];
        if ((s = store_stmt(st, SQL_INSERT_FOCAL_POINT)) == NULL)
            return -EIO;
        sqlite3_bind_text(s, 1, e->id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, (sqlite3_int64)i);
        sqlite3_bind_text(s, 3, fp->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 4, fp->title, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 5, fp->email, -1, SQLITE_STATIC);
        if ((rc = sqlrow_step_write(st, s)) != 0)
            return rc;
    }
    return 0;
}

/* Binds parameters 1-9 and 13, shared by SQL_INSERT and SQL_UPDATE; `key`
 * must outlive the step. */
static void bind_entity(sqlite3_stmt *s, const Entity *e, const char *key)
{
    sqlite3_bind_text(s, 1, e->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, e->acronym, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, e->name, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 5, e->kind);
    sqlite3_bind_int(s, 6, e->status);
    sqlite3_bind_text(s, 7, e->joined_on, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 8, e->verified ? 1 : 0);
    sqlite3_bind_text(s, 9, e->source_note, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 13, (int)e->affiliation);
}

int entity_store_insert(store *st, Entity *e)
{
    sqlite3_stmt *s = store_stmt(st, SQL_INSERT);
    char key[4 * ENTITY_ACRONYM_MAX + 1];
    int rc;

    if (s == NULL)
        return -EIO;
    entity_store_acronym_key(e->acronym, key, sizeof key);
    bind_entity(s, e, key);
    sqlite3_bind_int64(s, 10, pbtime_ms(e->create_time));
    sqlite3_bind_int64(s, 11, pbtime_ms(e->update_time));
    if (e->withdraw_time)
        sqlite3_bind_int64(s, 12, pbtime_ms(e->withdraw_time));
    else
        sqlite3_bind_null(s, 12);
    if ((rc = sqlrow_step_write(st, s)) != 0 || (rc = write_focal_points(st, e)) != 0 ||
        (rc = write_participation(st, e)) != 0)
        return rc;
    return etag_set(&e->etag, e->id, 1);
}

int entity_store_update(store *st, Entity *e, int64_t version)
{
    sqlite3_stmt *s = store_stmt(st, SQL_UPDATE);
    char key[4 * ENTITY_ACRONYM_MAX + 1];
    int rc;

    if (s == NULL)
        return -EIO;
    entity_store_acronym_key(e->acronym, key, sizeof key);
    bind_entity(s, e, key);
    sqlite3_bind_int64(s, 10, pbtime_ms(e->update_time));
    if (e->withdraw_time)
        sqlite3_bind_int64(s, 11, pbtime_ms(e->withdraw_time));
    else
        sqlite3_bind_null(s, 11);
    sqlite3_bind_int64(s, 12, version);
    if ((rc = sqlrow_step_write(st, s)) != 0)
        return rc;
    if (sqlite3_changes(store_db(st)) == 0) {
        rc = sqlrow_exists(st, SQL_EXISTS, e->id);
        return rc < 0 ? rc : rc ? -ESTALE : -ENOENT;
    }
    if ((rc = write_focal_points(st, e)) != 0 || (rc = write_participation(st, e)) != 0)
        return rc;
    return etag_set(&e->etag, e->id, version + 1);
}

int entity_store_admitted_by(store *st, const char *decision_ref, char *id)
{
    return sqlrow_lookup(st, SQL_ADMITTED_BY, decision_ref, id, IDS_SIZE);
}

/* committee_store.c: the committee service's tables (see committee_store.h).
 *
 * Paging keys are "<sort value>|<id>" (ids hold no '|'), compared as SQL
 * row values, so a page starts exactly after the last row of the one before
 * whatever was added meanwhile. */
#include "committee_store.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etag.h"
#include "pbmsg.h"
#include "sqlrow.h"

typedef Compact__Committee__V1__Representative Representative;
typedef Compact__Committee__V1__Meeting Meeting;
typedef Compact__Committee__V1__Decision Decision;
typedef Compact__Committee__V1__Proposal Proposal;
typedef Compact__Committee__V1__Envelope Envelope;

static const char schema_v1[] =
    "CREATE TABLE representatives ("
    "  id TEXT PRIMARY KEY, version INTEGER NOT NULL, state BLOB NOT NULL,"
    "  from_date TEXT NOT NULL, role INTEGER NOT NULL, entity_id TEXT NOT NULL"
    ") STRICT;"
    "CREATE INDEX representatives_order ON representatives (from_date, id);"
    "CREATE UNIQUE INDEX representatives_seat ON representatives (role, entity_id, from_date);"
    /* The Committee meets once a day at most; a known number once. */
    "CREATE TABLE meetings ("
    "  id TEXT PRIMARY KEY, version INTEGER NOT NULL, state BLOB NOT NULL,"
    "  date TEXT NOT NULL UNIQUE, status INTEGER NOT NULL, number INTEGER NOT NULL"
    ") STRICT;"
    "CREATE INDEX meetings_order ON meetings (date, id);"
    "CREATE UNIQUE INDEX meetings_number ON meetings (number) WHERE number > 0;"
    /* pending: effects not applied yet; the effects' queue is the rows
     * with pending > 0. */
    "CREATE TABLE decisions ("
    "  id TEXT PRIMARY KEY, version INTEGER NOT NULL, state BLOB NOT NULL,"
    "  meeting_id TEXT NOT NULL, decided_on TEXT NOT NULL, type INTEGER NOT NULL,"
    "  pending INTEGER NOT NULL, create_ms INTEGER NOT NULL"
    ") STRICT;"
    "CREATE INDEX decisions_order ON decisions (decided_on, id);"
    "CREATE INDEX decisions_pending ON decisions (create_ms, id) WHERE pending > 0;"
    "CREATE TABLE proposals ("
    "  id TEXT PRIMARY KEY, version INTEGER NOT NULL, state BLOB NOT NULL,"
    "  year INTEGER NOT NULL, status INTEGER NOT NULL, currency TEXT NOT NULL,"
    "  amount INTEGER NOT NULL, create_ms INTEGER NOT NULL"
    ") STRICT;"
    "CREATE INDEX proposals_order ON proposals (year, create_ms, id);"
    "CREATE TABLE envelopes ("
    "  year INTEGER PRIMARY KEY, version INTEGER NOT NULL, state BLOB NOT NULL"
    ") STRICT;";

const store_migration committee_store_migrations[] = {
    {.version = 1, .sql = schema_v1},
};
const size_t committee_store_migrations_count =
    sizeof committee_store_migrations / sizeof committee_store_migrations[0];

/* ---- the tables' own columns -------------------------------------------------------- */

static int64_t ms_of(const Google__Protobuf__Timestamp *t)
{
    return t ? t->seconds * 1000 + t->nanos / 1000000 : 0;
}

static void bind_representative(sqlite3_stmt *s, int first, const ProtobufCMessage *m)
{
    const Representative *r = (const Representative *)m;

    sqlite3_bind_text(s, first, r->from_date, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(s, first + 1, (int)r->role);
    sqlite3_bind_text(s, first + 2, r->entity_id, -1, SQLITE_TRANSIENT);
}

static void bind_meeting(sqlite3_stmt *s, int first, const ProtobufCMessage *m)
{
    const Meeting *mt = (const Meeting *)m;

    sqlite3_bind_text(s, first, mt->date, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(s, first + 1, (int)mt->status);
    sqlite3_bind_int(s, first + 2, mt->number);
}

static void bind_decision(sqlite3_stmt *s, int first, const ProtobufCMessage *m)
{
    const Decision *d = (const Decision *)m;
    int pending = 0;

    for (size_t i = 0; i < d->n_effects; i++)
        pending +=
            d->effects[i]->status == COMPACT__COMMITTEE__V1__EFFECT_STATUS__EFFECT_STATUS_PENDING;
    sqlite3_bind_text(s, first, d->meeting_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, first + 1, d->decided_on, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(s, first + 2, (int)d->type);
    sqlite3_bind_int(s, first + 3, pending);
    sqlite3_bind_int64(s, first + 4, ms_of(d->create_time));
}

static void bind_proposal(sqlite3_stmt *s, int first, const ProtobufCMessage *m)
{
    const Proposal *p = (const Proposal *)m;

    sqlite3_bind_int(s, first, p->year);
    sqlite3_bind_int(s, first + 1, (int)p->status);
    sqlite3_bind_text(s, first + 2, p->amount ? p->amount->currency : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, first + 3, p->amount ? p->amount->amount_minor : 0);
    sqlite3_bind_int64(s, first + 4, ms_of(p->create_time));
}

const docstore_table committee_representatives = {
    "representatives", &compact__committee__v1__representative__descriptor,
    "from_date, role, entity_id", 3, bind_representative};
const docstore_table committee_meetings = {"meetings", &compact__committee__v1__meeting__descriptor,
                                           "date, status, number", 3, bind_meeting};
const docstore_table committee_decisions = {
    "decisions", &compact__committee__v1__decision__descriptor,
    "meeting_id, decided_on, type, pending, create_ms", 5, bind_decision};
const docstore_table committee_proposals = {
    "proposals", &compact__committee__v1__proposal__descriptor,
    "year, status, currency, amount, create_ms", 5, bind_proposal};

/* ---- natural keys ---------------------------------------------------------------------- */

/* The id of the one row `sql` (?1 text, ?2 int) selects, into id[size]:
 * 0, -ENOENT, or a negative errno. */
static int id_of(store *st, const char *sql, const char *text, int number, char *id, size_t size)
{
    sqlite3_stmt *s = store_stmt(st, sql);
    int rc;

    if (s == NULL)
        return -EIO;
    sqlite3_bind_text(s, 1, text, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(s, 2, number);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        snprintf(id, size, "%s", (const char *)sqlite3_column_text(s, 0));
    rc = rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : store_result(st, rc);
    sqlite3_reset(s);
    return rc;
}

int committee_store_meeting_on(store *st, const char *date, int number, char *id, size_t size)
{
    return id_of(st, "SELECT id FROM meetings WHERE date = ?1 OR (?2 > 0 AND number = ?2)", date,
                 number, id, size);
}

int committee_store_seat_taken(store *st, int role, const char *entity_id, const char *from_date,
                               char *id, size_t size)
{
    char key[96];

    snprintf(key, sizeof key, "%s|%s", entity_id, from_date);
    return id_of(st,
                 "SELECT id FROM representatives WHERE entity_id || '|' || from_date = ?1"
                 " AND role = ?2",
                 key, role, id, size);
}

/* ---- pages ------------------------------------------------------------------------ */

/* Splits "<value>|<id>" into its halves (value "" and id "" for ""). */
static void split_key(const char *after, char *value, size_t vsize, char *id, size_t isize)
{
    const char *bar = strrchr(after, '|');

    snprintf(value, vsize, "%.*s", bar ? (int)(bar - after) : 0, after);
    snprintf(id, isize, "%s", bar ? bar + 1 : "");
}

/* Binds page key `after` ("<value>|<id>") as ?1 and ?2 of a List statement. */
static void bind_after(sqlite3_stmt *s, const char *after)
{
    char value[64], id[64];

    split_key(after, value, sizeof value, id, sizeof id);
    sqlite3_bind_text(s, 1, value, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, id, -1, SQLITE_TRANSIENT);
}

int committee_store_representatives(store *st, const char *after, size_t limit,
                                    ProtobufCMessage ***out, size_t *n)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT state FROM representatives"
                                     " WHERE (from_date, id) > (?1, ?2) ORDER BY from_date, id");

    if (s == NULL)
        return -EIO;
    bind_after(s, after);
    return docstore_rows(st, &committee_representatives, s, limit, out, n);
}

int committee_store_meetings(store *st, int status, const char *after, size_t limit,
                             ProtobufCMessage ***out, size_t *n)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT state FROM meetings WHERE (date, id) > (?1, ?2)"
                                     " AND (?3 = 0 OR status = ?3) ORDER BY date, id");

    if (s == NULL)
        return -EIO;
    bind_after(s, after);
    sqlite3_bind_int(s, 3, status);
    return docstore_rows(st, &committee_meetings, s, limit, out, n);
}

int committee_store_decisions(store *st, const char *meeting_id, int type, const char *after,
                              size_t limit, ProtobufCMessage ***out, size_t *n)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT state FROM decisions"
                                     " WHERE (decided_on, id) > (?1, ?2)"
                                     " AND (?3 = '' OR meeting_id = ?3) AND (?4 = 0 OR type = ?4)"
                                     " ORDER BY decided_on, id");

    if (s == NULL)
        return -EIO;
    bind_after(s, after);
    sqlite3_bind_text(s, 3, meeting_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(s, 4, type);
    return docstore_rows(st, &committee_decisions, s, limit, out, n);
}

int committee_store_proposals(store *st, int year, int status, const char *after, size_t limit,
                              ProtobufCMessage ***out, size_t *n)
{
    /* Keys: "<year, 4 digits>.<create ms, 15 digits>|<id>": text order is
     * the number order. */
    sqlite3_stmt *s = store_stmt(st, "SELECT state FROM proposals"
                                     " WHERE (printf('%04d.%015d', year, create_ms), id) > (?1, ?2)"
                                     " AND (?3 = 0 OR year = ?3) AND (?4 = 0 OR status = ?4)"
                                     " ORDER BY year, create_ms, id");

    if (s == NULL)
        return -EIO;
    bind_after(s, after);
    sqlite3_bind_int(s, 3, year);
    sqlite3_bind_int(s, 4, status);
    return docstore_rows(st, &committee_proposals, s, limit, out, n);
}

int committee_store_pending_decisions(store *st, size_t limit, ProtobufCMessage ***out, size_t *n)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT state FROM decisions WHERE pending > 0"
                                     " ORDER BY create_ms, id");

    if (s == NULL)
        return -EIO;
    return docstore_rows(st, &committee_decisions, s, limit, out, n);
}

int committee_store_allocated(store *st, int year, const char *currency, int64_t *sum)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT coalesce(sum(amount), 0) FROM proposals"
                                     " WHERE year = ?1 AND currency = ?2 AND status = ?3");
    int rc;

    if (s == NULL)
        return -EIO;
    sqlite3_bind_int(s, 1, year);
    sqlite3_bind_text(s, 2, currency, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(s, 3, COMPACT__COMMITTEE__V1__PROPOSAL_STATUS__PROPOSAL_STATUS_APPROVED);
    rc = sqlite3_step(s);
    *sum = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_reset(s);
    return rc == SQLITE_ROW ? 0 : store_result(st, rc);
}

/* ---- envelopes ---------------------------------------------------------------------- */

int committee_store_envelope(store *st, int year, Envelope **out, int64_t *version)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT state, version FROM envelopes WHERE year = ?1");
    int rc;

    if (s == NULL)
        return -EIO;
    sqlite3_bind_int(s, 1, year);
    rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) {
        rc = rc == SQLITE_DONE ? -ENOENT : store_result(st, rc);
        sqlite3_reset(s);
        return rc;
    }
    *out = compact__committee__v1__envelope__unpack(NULL, (size_t)sqlite3_column_bytes(s, 0),
                                                    sqlite3_column_blob(s, 0));
    *version = sqlite3_column_int64(s, 1);
    sqlite3_reset(s);
    return *out ? 0 : -EIO;
}

int committee_store_put_envelope(store *st, Envelope *e, int64_t version)
{
    /* Version 0 only creates the year, any other only replaces that version:
     * an upsert would create a year "over" a version it never had. */
    sqlite3_stmt *s = store_stmt(
        st, version == 0 ? "INSERT INTO envelopes (year, version, state) VALUES (?1, ?2, ?3)"
                         : "UPDATE envelopes SET version = ?2, state = ?3"
                           " WHERE year = ?1 AND version = ?4");
    char id[16];
    size_t len;
    uint8_t *buf;
    int rc;

    snprintf(id, sizeof id, "%d", e->year);
    if ((rc = etag_set(&e->etag, id, version + 1)) != 0)
        return rc;
    len = protobuf_c_message_get_packed_size(&e->base);
    if (s == NULL || (buf = malloc(len ? len : 1)) == NULL)
        return s ? -ENOMEM : -EIO;
    protobuf_c_message_pack(&e->base, buf);
    sqlite3_bind_int(s, 1, e->year);
    sqlite3_bind_int64(s, 2, version + 1);
    sqlite3_bind_blob(s, 3, buf, (int)len, SQLITE_TRANSIENT);
    if (version != 0)
        sqlite3_bind_int64(s, 4, version);
    free(buf);
    if ((rc = sqlrow_step_write(st, s)) != 0)
        return rc == -EEXIST ? -ESTALE : rc; /* version 0 of a year that exists */
    return sqlite3_changes(store_db(st)) == 1 ? 0 : -ESTALE;
}

int committee_store_envelopes(store *st, ProtobufCMessage ***out, size_t *n)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT state FROM envelopes ORDER BY year");
    static const docstore_table envelopes = {
        .name = "envelopes", .descriptor = &compact__committee__v1__envelope__descriptor};

    if (s == NULL)
        return -EIO;
    return docstore_rows(st, &envelopes, s, 200, out, n);
}

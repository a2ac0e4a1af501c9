/* committee_store.h: the committee service's tables.
 *
 * Representatives, meetings, decisions and proposals are kept whole, one
 * packed message per row (docstore.h), with copies of the fields their
 * lists sort and filter by; envelopes by year. Loop thread only; errors
 * are negative errno values as in store.h.
 */
#ifndef COMPACT_COMMITTEE_STORE_H
#define COMPACT_COMMITTEE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "compact/committee/v1/committee.pb-c.h"
#include "docstore.h"

extern const store_migration committee_store_migrations[];
extern const size_t committee_store_migrations_count;

extern const docstore_table committee_representatives;
extern const docstore_table committee_meetings;
extern const docstore_table committee_decisions;
extern const docstore_table committee_proposals;

/* Natural keys: the meeting on `date`, or numbered `number` (> 0); the
 * standing seat of (role, entity, from_date). 0 with its id, -ENOENT, or a
 * negative errno. */
int committee_store_meeting_on(store *st, const char *date, int number, char *id, size_t size);
int committee_store_seat_taken(store *st, int role, const char *entity_id, const char *from_date,
                               char *id, size_t size);

/* A page of rows after the key `after` ("" from the start) in the table's
 * order, at most `limit`: 0 and *out, *n (docstore_rows_free), or a
 * negative errno. Filters: 0 / "" for any. */
int committee_store_representatives(store *st, const char *after, size_t limit,
                                    ProtobufCMessage ***out, size_t *n);
int committee_store_meetings(store *st, int status, const char *after, size_t limit,
                             ProtobufCMessage ***out, size_t *n);
int committee_store_decisions(store *st, const char *meeting_id, int type, const char *after,
                              size_t limit, ProtobufCMessage ***out, size_t *n);
int committee_store_proposals(store *st, int year, int status, const char *after, size_t limit,
                              ProtobufCMessage ***out, size_t *n);

/* Decisions with effects still PENDING, oldest first (the effects' queue). */
int committee_store_pending_decisions(store *st, size_t limit, ProtobufCMessage ***out, size_t *n);

/* The sum of the APPROVED proposals of `year` in `currency`. */
int committee_store_allocated(store *st, int year, const char *currency, int64_t *sum);

/* ---- envelopes, by year ------------------------------------------------------------ */

/* 0 with *out (pbmsg_free) and *version, -ENOENT, or a negative errno. */
int committee_store_envelope(store *st, int year, Compact__Committee__V1__Envelope **out,
                             int64_t *version);
/* Writes `e` at `version` + 1 (`version` 0: a new year), setting its etag.
 * -ESTALE when the stored version is not `version`. */
int committee_store_put_envelope(store *st, Compact__Committee__V1__Envelope *e, int64_t version);
int committee_store_envelopes(store *st, ProtobufCMessage ***out, size_t *n);

#endif

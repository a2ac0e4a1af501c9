/* provenance.h: checks of the per-fact provenance a record carries.
 *
 * Every Compact record that states facts (an entity, a participation
 * period, a working group, a project, a transaction) carries
 * `repeated compact.common.v1.Provenance provenance`: for each fact, named by
 * a field path of the record, whether it is CONFIRMED by a public source
 * (publisher, title, date, url) or ASSUMED (with a note). The rules are in
 * proto/compact/common/v1/provenance.proto; this module is where they are
 * enforced, once for every service.
 *
 * As in validate.h, provenance_check() ends the call with INVALID_ARGUMENT
 * naming the offending entry ("entity.provenance[2].source.url: ...") and
 * returns -1; the pure checks below return NULL or a phrase (or fill a
 * buffer) for unit tests and for code outside a call.
 */
#ifndef COMPACT_PROVENANCE_H
#define COMPACT_PROVENANCE_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

#include "compact/common/v1/provenance.pb-c.h"
#include "rpc.h"

typedef Compact__Common__V1__Provenance Provenance;
typedef Compact__Common__V1__Source ProvenanceSource;

#define PROVENANCE_MAX 64
#define PROVENANCE_FIELD_MAX_CHARS 128
#define PROVENANCE_PUBLISHER_MAX_CHARS 300
#define PROVENANCE_TITLE_MAX_CHARS 300
#define PROVENANCE_URL_MAX_CHARS 2000
#define PROVENANCE_NOTE_MAX_CHARS 2000

#define PROVENANCE_CONFIRMED COMPACT__COMMON__V1__FACT_STATUS__FACT_STATUS_CONFIRMED
#define PROVENANCE_ASSUMED COMPACT__COMMON__V1__FACT_STATUS__FACT_STATUS_ASSUMED

/* ---- pure checks ---------------------------------------------------------- */

/* Whether `path` names a field of messages of type `desc`: segments joined
 * by '.', each the name of a field of the message the previous one leads to,
 * every segment but the last a singular message field. Returns 0, or -1 with
 * the reason in `why` (at most `size` bytes, NUL-terminated), e.g.
 * "\"budgett\" is not a field of compact.projects.v1.Project". */
int provenance_path_check(const ProtobufCMessageDescriptor *desc, const char *path, char *why,
                          size_t size);

/* A source's date: YYYY-MM-DD (a real day), YYYY-MM or YYYY, year 1900 to
 * 2999. NULL, "must not be empty" or "not a date in the form YYYY-MM-DD,
 * YYYY-MM or YYYY". */
const char *provenance_date_problem(const char *s);

/* An address a reader can open: "http://" or "https://", a host, and no
 * spaces or control characters. NULL, "must not be empty" or "not an http://
 * or https:// address". */
const char *provenance_url_problem(const char *s);

/* ---- checks that fail the call ---------------------------------------------- */

/* Checks items[0..n) as the provenance of a record of type `desc`, sent as
 * `field` ("entity.provenance"). On a problem the call ends with
 * INVALID_ARGUMENT "<field>[<i>].<part>: <problem>" and -1 is returned. */
int provenance_check(rpc_call *call, const char *field, Provenance *const *items, size_t n,
                     const ProtobufCMessageDescriptor *desc);

/* Drops the sources that have none of their four parts (an empty Source
 * message says nothing, and the store keeps none), so that what a write
 * answers is what a later read gives. */
void provenance_normalize(Provenance *const *items, size_t n);

/* ---- reading ------------------------------------------------------------------ */

/* The status the provenance gives the fact `path` (FACT_STATUS_* value), or
 * 0 when it does not name it. */
int provenance_status(Provenance *const *items, size_t n, const char *path);

/* 1 when every entry of items[0..n) is CONFIRMED (and n > 0), else 0. */
int provenance_all_confirmed(Provenance *const *items, size_t n);

#endif

/* validate.h: checks of request fields that fail the call themselves.
 *
 * A handler validates its whole request before it touches the store. Each
 * validate_* function takes the call and the field's path as the client
 * spells it ("entity.focal_points[0].email"). On failure it ends the call
 * with INVALID_ARGUMENT and the message "<field>: <problem>" and returns -1;
 * the call is then over and the handler just returns:
 *
 *     if (validate_email(call, "entity.focal_points[0].email", fp->email))
 *         return;
 *
 * On success it returns 0 and leaves the call untouched.
 *
 * Every check also exists as a pure function, validate_*_problem(), that
 * returns NULL when the value is fine or a static phrase naming the problem
 * ("not an e-mail address"). Unit tests call those (an rpc_call cannot be
 * made outside the runtime), and so can code that checks values outside a
 * call, such as a seed-file loader.
 *
 * Strings: protobuf strings must be UTF-8, and lengths here count characters
 * (Unicode code points), not bytes, because limits are promised to people.
 * Single-line strings refuse control characters and leading or trailing
 * whitespace (two names differing only by a trailing space are a bug report
 * waiting to happen); multi-line text allows newline and tab.
 *
 * Page size follows AIP-158: 0 means the default (50), more than the maximum
 * (1000) is silently lowered to the maximum, a negative size is refused.
 */
#ifndef COMPACT_VALIDATE_H
#define COMPACT_VALIDATE_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#include "ids.h"
#include "rpc.h"

#define VALIDATE_PAGE_SIZE_DEFAULT 50
#define VALIDATE_PAGE_SIZE_MAX 1000

/* Flags for validate_text_problem(). */
enum validate_text_flags {
    VALIDATE_MULTILINE = 1 << 0, /* allow \n, \r and \t; allow edge whitespace */
};

/* ---- pure checks: NULL when fine, else a static phrase ------------------ */

/* Number of code points in `s`, or SIZE_MAX if `s` is not valid UTF-8
 * (overlong forms, surrogates and values above U+10FFFF are invalid). */
size_t validate_utf8_chars(const char *s);

/* "not valid UTF-8", "must not contain control characters" or, without
 * VALIDATE_MULTILINE, "must not start or end with whitespace". The empty
 * string is fine here (emptiness is the caller's business). */
const char *validate_text_problem(const char *s, unsigned flags);

/* A plain addr-spec: local@domain, local part of dot-atom characters (at
 * most 64), a domain of two or more LDH labels (at most 253) whose last label
 * is not all digits, at most 254 in all. No quoted local parts, no address
 * literals, ASCII only. "must not be empty" or "not an e-mail address". */
const char *validate_email_problem(const char *s);

/* YYYY-MM-DD naming a real day of the proleptic Gregorian calendar, year
 * 0001 to 9999: "must not be empty", "not a date in the form YYYY-MM-DD" or
 * "not a real calendar date". */
const char *validate_date_problem(const char *s);

/* `prefix` followed by IDS_RANDOM_CHARS characters a-z, 2-7:
 * "must not be empty" or "not a valid id". */
const char *validate_id_problem(const char *s, const char *prefix);

/* A Coordination Committee decision's effect, "dec_<id>/effects/<n>": an
 * IDS_DECISION id, then "/effects/" and a number from 1 to
 * VALIDATE_DECISION_EFFECTS_MAX without leading zeros. The owning service's
 * idempotency key for what the decision does (kept for good, unlike request
 * ids). "must not be empty" or "not a decision effect (dec_<id>/effects/<n>)". */
#define VALIDATE_DECISION_EFFECTS_MAX 9999
const char *validate_decision_ref_problem(const char *s);

/* The page size to use for `requested`: 0 and -EINVAL if negative. */
int validate_page_size_value(int32_t requested, int *out);

/* ---- checks that fail the call: 0, or -1 after rpc_call_fail ------------ */

/* Fails the call with INVALID_ARGUMENT "<field>: <problem>" when `problem`
 * (a pure check's answer) is not NULL. Returns 0 when it is. */
int validate_problem(rpc_call *call, const char *field, const char *problem);

/* The sub-message is present: "must be set". */
int validate_present(rpc_call *call, const char *field, const void *msg);

/* Not empty (nor whitespace only), single-line text, at most `max_chars`. */
int validate_required_string(rpc_call *call, const char *field, const char *s, size_t max_chars);

/* Empty, or else as validate_required_string. */
int validate_optional_string(rpc_call *call, const char *field, const char *s, size_t max_chars);

/* Multi-line text, possibly empty, at most `max_chars`. */
int validate_text(rpc_call *call, const char *field, const char *s, size_t max_chars);

/* Valid UTF-8 of at most `max_chars` characters; nothing else checked. */
int validate_max_length(rpc_call *call, const char *field, const char *s, size_t max_chars);

/* See the pure checks above. validate_date refuses the empty string; for an
 * optional date call it only when the string is not empty. */
int validate_email(rpc_call *call, const char *field, const char *s);
int validate_date(rpc_call *call, const char *field, const char *s);
int validate_id(rpc_call *call, const char *field, const char *s, const char *prefix);

/* An optional decision_ref field: "" (none) is fine, else as
 * validate_decision_ref_problem. */
int validate_decision_ref(rpc_call *call, const char *field, const char *s);

/* `value` is a number of `desc` ("unknown value 7"); with `required` it must
 * also not be the zero value ("must be set"). */
int validate_enum(rpc_call *call, const char *field, const ProtobufCEnumDescriptor *desc, int value,
                  int required);

/* A repeated field holds at most `max` items. */
int validate_max_items(rpc_call *call, const char *field, size_t n, size_t max);

/* A repeated id field ("ids"): at most `max` items (validate_max_items),
 * each an id with `prefix` (validate_id, field "<field>[<i>]"), checked in
 * order. Repeats are allowed. */
int validate_ids(rpc_call *call, const char *field, char *const *ids, size_t n, size_t max,
                 const char *prefix);

/* Sets *out to the page size to use (see the top of this file). */
int validate_page_size(rpc_call *call, const char *field, int32_t requested, int *out);

#endif

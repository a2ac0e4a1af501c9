/* rules.h: what a valid working group is, as pure functions.
 *
 * The domain rules of the service, apart from the RPCs that apply them, so
 * that unit tests can state them (tests/unit/workgroups/test_rules.c). Each
 * returns NULL when the value is fine, or a static phrase naming the problem
 * that a handler puts after the field's name ("group.code: must start with
 * a letter").
 */
#ifndef COMPACT_WORKGROUPS_RULES_H
#define COMPACT_WORKGROUPS_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "group_store.h"

#define RULES_CODE_MIN_CHARS 2
#define RULES_VICE_CHAIRS_MAX 10
#define RULES_PROJECT_ID_MAX_CHARS 64
#define RULES_PLAN_ITEMS_MAX 200 /* items in one work plan */
#define RULES_MEMBERS_MAX 200    /* members of one group (the Compact has about 50 entities) */
/* Approved work plans of one group: at most 200 item ids each (about 5 kB),
 * so that the group stays well inside AGGREGATE_MAX_BYTES. */
#define RULES_APPROVED_PLANS_MAX 100
#define RULES_LEADERSHIP_TERMS_MAX 500 /* terms in a group's leadership history */
#define RULES_DATE_SIZE 11             /* "YYYY-MM-DD" and its NUL */

/* A group's short code: 2 to GROUP_CODE_MAX letters, digits and '-',
 * starting with a letter ("BMLE", "WG-1"). */
const char *rules_code_problem(const char *code);

/* The vice-chairs of `l`: at least one, at most RULES_VICE_CHAIRS_MAX, none
 * the chair, none twice. On a problem, *at is the index of the vice-chair
 * at fault and, for a repeat, *first the index it repeats. */
const char *rules_vice_chairs_problem(const Leadership *l, size_t *at, size_t *first);

/* Terms of reference follow the Committee's decisions: `next` may not have
 * been approved before `current` (NULL: no version yet). */
const char *rules_tor_order_problem(const TermsOfReference *current, const TermsOfReference *next);

/* 1 if `next` is `current` again (same text, date and decision_ref): a
 * retry, or a seed loaded twice, which approves nothing new. */
int rules_tor_repeats(const TermsOfReference *current, const TermsOfReference *next);

/* 1 if `a` and `b` say the same: text and approved_on (what a repeat of the
 * decision that recorded `a` must say again). */
int rules_tor_same(const TermsOfReference *a, const TermsOfReference *b);

/* ---- approved work plans ---------------------------------------------------
 * Dates are checked for form by the handler (validate_date); these are the
 * rules between fields. */

/* The period: "must be after plan.period_start" unless start < end. */
const char *rules_plan_period_problem(const char *start, const char *end);

/* The item ids of `p`: at least one, at most RULES_PLAN_ITEMS_MAX, none
 * twice (*first: the index repeated), each an item of `g` ("" ok for `g`
 * NULL: not checked). On a problem *at is the index at fault. */
const char *rules_plan_items_problem(const ApprovedWorkPlan *p, const WorkingGroup *g, size_t *at,
                                     size_t *first);

/* `next` may not have been approved before the latest approved plan of `g`. */
const char *rules_plan_order_problem(const WorkingGroup *g, const ApprovedWorkPlan *next);

/* 1 if `a` and `b` say the same: period, approved_on and item ids in order. */
int rules_plan_same(const ApprovedWorkPlan *a, const ApprovedWorkPlan *b);

/* The approved plan of `g` with `version`, or NULL. */
const ApprovedWorkPlan *rules_find_plan(const WorkingGroup *g, int32_t version);

/* ---- leadership history ---------------------------------------------------- */

/* 1 if `a` and `b` name the same chair and vice-chairs in the same order. */
int rules_leadership_same(const Leadership *a, const Leadership *b);

/* The current term of `g` (the last of its history), or NULL. */
const LeadershipTerm *rules_current_term(const WorkingGroup *g);

/* A new leadership taking office on `effective_on`: not before the current
 * term began ("is before the start of the current term"). */
const char *rules_term_start_problem(const WorkingGroup *g, const char *effective_on);

/* The UTC day of `ms` as YYYY-MM-DD into buf[RULES_DATE_SIZE]. */
void rules_date_of_ms(int64_t ms, char *buf);

/* ---- information-sharing ---------------------------------------------------- */

#define RULES_URL_MAX_CHARS 2048

/* A notice's document_url: "" (none), or an https:// address with a host and
 * no spaces or control characters, at most RULES_URL_MAX_CHARS. */
const char *rules_url_problem(const char *url);

/* Whether a reader sees a notice of `visibility` (the enum's numbers): a
 * public one always; one to the whole Compact when the reader is an active
 * Compact entity; a members-only one when it is also a leader or member of
 * the notice's group (`in_group`) at the time of reading. A withdrawn entity
 * sees what the public sees. */
int rules_notice_visible(int visibility, int reader_active, int in_group);

/* Whether a subscription to `group_ids[0..n)` (and the whole Compact's
 * notices, `compact_wide`) follows a notice to `group_id` ("": the whole
 * Compact). */
int rules_subscription_follows(char *const *group_ids, size_t n, int compact_wide,
                               const char *group_id);

/* 1 if `id` is one of v[0..n). */
int rules_has_id(char *const *v, size_t n, const char *id);

/* E-mail addresses compared as people expect: ASCII case ignored. */
int rules_same_email(const char *a, const char *b);

/* A project id named by a work plan item. Projects are another service's,
 * so only the shape is checked: lower-case letters, digits, '_' and '-'. */
const char *rules_project_id_problem(const char *id);

/* The member of `g` that is entity `entity_id`, or NULL. */
const Member *rules_find_member(const WorkingGroup *g, const char *entity_id);

#endif

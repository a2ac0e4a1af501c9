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

#include "group_store.h"

#define RULES_CODE_MIN_CHARS 2
#define RULES_VICE_CHAIRS_MAX 10
#define RULES_PROJECT_ID_MAX_CHARS 64
#define RULES_PLAN_ITEMS_MAX 200 /* items in one work plan */
#define RULES_MEMBERS_MAX 200    /* members of one group (the Compact has about 50 entities) */

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

/* 1 if `next` is `current` again (same text and date): a retry, or a seed
 * loaded twice, which approves nothing new. */
int rules_tor_repeats(const TermsOfReference *current, const TermsOfReference *next);

/* A project id named by a work plan item. Projects are another service's,
 * so only the shape is checked: lower-case letters, digits, '_' and '-'. */
const char *rules_project_id_problem(const char *id);

/* The member of `g` that is entity `entity_id`, or NULL. */
const Member *rules_find_member(const WorkingGroup *g, const char *entity_id);

#endif

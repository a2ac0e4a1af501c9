/* plan_store.h: the workgroups service's tables and queries, part two: the
 * terms of reference of a group and its work plan.
 *
 * Terms of reference and approved work plans are append-only: each approval
 * adds the next version (1, 2, 3 ...) and earlier versions stay readable. Work plan items are
 * children of a group with their own version and etag, so that two people
 * editing two items do not refuse each other's change; the group moves to
 * its next version as well (group_store_touch), because a group is read and
 * cached whole.
 *
 * Same rules as group_store.h: the loop thread only, writes inside the
 * caller's transaction, messages malloc'd throughout (free them with
 * protobuf_c_message_free_unpacked() or the functions below), errors 0 or a
 * negative errno (-ENOENT, -ESTALE, -ENOMEM, the store's).
 */
#ifndef COMPACT_WORKGROUPS_PLAN_STORE_H
#define COMPACT_WORKGROUPS_PLAN_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "group_store.h"

/* ---- terms of reference ----------------------------------------------- */

/* The latest version of group `group_id`'s terms into *out (caller frees),
 * or -ENOENT when none was approved yet. */
int plan_store_current_tor(store *st, const char *group_id, TermsOfReference **out);

/* Version `version` of the terms into *out (caller frees), or -ENOENT. */
int plan_store_get_tor(store *st, const char *group_id, int32_t version, TermsOfReference **out);

/* Adds the next version with the text, approved_on and decision_ref of `t`,
 * recorded at `now_ms`; its number into *version. Inside a transaction.
 * -EEXIST if the group has the decision_ref already. */
int plan_store_add_tor(store *st, const char *group_id, const TermsOfReference *t, int64_t now_ms,
                       int32_t *version);

/* Where group `group_id` records decision effect `decision_ref`: the version
 * of its terms of reference into *tor_version and of its approved work plans
 * into *plan_version, 0 for none. Returns 0 or a negative errno. */
int plan_store_find_decision(store *st, const char *group_id, const char *decision_ref,
                             int32_t *tor_version, int32_t *plan_version);

/* Up to `limit` versions after `after_version` (0: from the first), oldest
 * first. Returns 0 and sets *out (*n entries; caller frees with
 * plan_store_free_tor_list) or a negative errno with *out NULL, *n 0. */
int plan_store_list_tor(store *st, const char *group_id, int32_t after_version, size_t limit,
                        TermsOfReference ***out, size_t *n);

void plan_store_free_tor_list(TermsOfReference **v, size_t n);

/* ---- work plan items --------------------------------------------------- */

/* Every item of group `group_id` in the order added, into *out (*n entries;
 * caller frees with plan_store_free_items). */
int plan_store_items(store *st, const char *group_id, WorkPlanItem ***out, size_t *n);

/* Item `item_id` of group `group_id` (-ENOENT if no such item in that
 * group) into *out (caller frees) and its version into *version (may be
 * NULL). */
int plan_store_get_item(store *st, const char *group_id, const char *item_id, WorkPlanItem **out,
                        int64_t *version);

/* Inserts `item` (id, fields and times set by the caller) as version 1 at
 * the end of the group's plan, and sets item->etag. Inside a transaction. */
int plan_store_insert_item(store *st, const char *group_id, WorkPlanItem *item);

/* Writes every field of `item` as version `version` + 1 only if the row is
 * still at `version` (else -ESTALE), and sets item->etag. Inside a
 * transaction. */
int plan_store_update_item(store *st, WorkPlanItem *item, int64_t version);

void plan_store_free_items(WorkPlanItem **v, size_t n);

/* ---- approved work plans ------------------------------------------------ */

/* Every approved plan of group `group_id`, oldest first, with its item ids,
 * into *out (*n entries; caller frees with plan_store_free_plans). */
int plan_store_approved_plans(store *st, const char *group_id, ApprovedWorkPlan ***out, size_t *n);

/* Adds the next version of the group's approved plan: the period,
 * approved_on, decision_ref and item ids of `p`, recorded at `now_ms`; its
 * number into *version. Inside a transaction. -EEXIST if the group has the
 * decision_ref already. */
int plan_store_add_approved_plan(store *st, const char *group_id, const ApprovedWorkPlan *p,
                                 int64_t now_ms, int32_t *version);

void plan_store_free_plans(ApprovedWorkPlan **v, size_t n);

#endif

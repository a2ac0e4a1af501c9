/* project_edit.h: building and changing Project messages in memory.
 *
 * Handlers never assemble a project field by field: they copy messages
 * whole (pbmsg_copy, aggregate_new) and move whole fields between them
 * (aggregate_apply), so every message can be freed with pbmsg_free no matter
 * where its parts came from. What is left here is the project's own: its
 * canonical order, the ids of its parts, and finding them.
 *
 * The fields of a project that create and update can set are named by the
 * bits below; project_fields (project.h) maps them to field names.
 */
#ifndef COMPACT_PROJECTS_PROJECT_EDIT_H
#define COMPACT_PROJECTS_PROJECT_EDIT_H

#include <stddef.h>
#include <stdint.h>

#include "compact/projects/v1/projects.pb-c.h"

typedef Compact__Projects__V1__Result Result;
typedef Compact__Projects__V1__Indicator Indicator;

/* The input fields of a project. */
enum project_field {
    PF_TITLE = 1u << 0,
    PF_SUMMARY = 1u << 1,
    PF_GROUPS = 1u << 2,
    PF_PARTICIPANTS = 1u << 3,
    PF_COUNTRIES = 1u << 4,
    PF_GLOBAL = 1u << 5,
    PF_PILLARS = 1u << 6,
    PF_THEMES = 1u << 7,
    PF_START = 1u << 8,
    PF_END = 1u << 9,
    PF_STATUS = 1u << 10,
    PF_BUDGET = 1u << 11,
    PF_VERIFIED = 1u << 12,
    PF_SOURCE_NOTE = 1u << 13,
    /* Set on create only. */
    PF_IATI = 1u << 14,
    PF_REPORTING_ORG = 1u << 15,
    PF_RESULTS = 1u << 16,
    /* Updatable, added later (issue 12). */
    PF_PROVENANCE = 1u << 17,
    PF_UPDATABLE = ((1u << 14) - 1) | PF_PROVENANCE,
    PF_ALL = (1u << 18) - 1,
};

/* Frees and clears the output-only fields of `p` (id, transactions, totals,
 * times, etag; result, indicator ids and indicator states), as a request's
 * copy needs before it becomes a new project. */
void project_edit_clear_output(Compact__Projects__V1__Project *p);

/* Sorts the pillars, the transactions by date (stable), the periods of
 * every indicator by start, and nothing else: the canonical order in which
 * projects are stored and read back. */
void project_edit_normalise(Compact__Projects__V1__Project *p);

/* Gives `r` and each of its indicators a fresh id ("res_...", "ind_...").
 * Returns 0 or a negative errno. */
int project_edit_assign_result_ids(Result *r);

/* Gives `ind` a fresh id. Returns 0 or a negative errno. */
int project_edit_assign_indicator_id(Indicator *ind);

/* Appends `item` (owned from now on) to the array *v of *n pointers.
 * Returns 0 or -ENOMEM (then `item` is still the caller's). */
int project_edit_append(void ***v, size_t *n, void *item);

/* The result with id `id`, or NULL. */
Result *project_edit_find_result(const Compact__Projects__V1__Project *p, const char *id);

/* The indicator with id `id` anywhere in `p`, or NULL. */
Indicator *project_edit_find_indicator(const Compact__Projects__V1__Project *p, const char *id);

/* The transaction of `p` that records Committee decision effect
 * `decision_ref` (not empty), or NULL. */
const Compact__Projects__V1__Transaction *
project_edit_find_decision(const Compact__Projects__V1__Project *p, const char *decision_ref);

/* 1 if `a` and `b` record the same money the same way: type, date, value,
 * provider, catalytic, description, verified and source_note (not id,
 * record_time or decision_ref). */
int project_edit_same_transaction(const Compact__Projects__V1__Transaction *a,
                                  const Compact__Projects__V1__Transaction *b);

#endif

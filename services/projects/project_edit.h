/* project_edit.h: building and changing Project messages in memory.
 *
 * Handlers never assemble a project field by field: they copy the request's
 * project (project_edit_copy: a deep copy that owns all its memory) and move
 * whole fields between messages (project_edit_apply swaps the fields named
 * in a mask), so every message can be freed with protobuf-c's
 * free_unpacked no matter where its parts came from.
 *
 * The fields of a project that create and update can set are named by the
 * bits below; the update_mask paths map onto them (project_edit_mask_bit).
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
    PF_UPDATABLE = (1u << 14) - 1,
    /* Set on create only. */
    PF_IATI = 1u << 14,
    PF_REPORTING_ORG = 1u << 15,
    PF_RESULTS = 1u << 16,
    PF_ALL = (1u << 17) - 1,
};

/* "title, summary, working_group_ids, ...": the updatable paths, for messages. */
extern const char project_edit_updatable[];

/* The bit of update_mask path `path` (snake_case or lowerCamelCase; "*" is
 * every updatable field). Returns 0 and ORs it into *bits, -1 for an unknown
 * path, -2 for a path that names a field that exists but cannot be updated
 * (output only, or set on create only). */
int project_edit_mask_bit(const char *path, unsigned *bits);

/* A deep copy of `m` (pack and unpack), owning all its memory; free with
 * protobuf_c_message_free_unpacked. NULL on ENOMEM. */
ProtobufCMessage *project_edit_copy(const ProtobufCMessage *m);

/* Swaps the fields named in `mask` between `a` and `b` (two projects), so
 * that `a` takes `b`'s values and `b` keeps `a`'s old ones for freeing. */
void project_edit_apply(Compact__Projects__V1__Project *a, Compact__Projects__V1__Project *b,
                        unsigned mask);

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

#endif

/* model.h: the figures analytics answers from, kept in memory.
 *
 * The model holds the facts of every entity, working group and project
 * (facts.h), the exchange rates, and the figures over them:
 *
 *   - the standing figures, over every project, kept up to date change by
 *     change (the old facts of a project taken away, the new ones added);
 *   - up to MODEL_VIEWS_MAX filtered views (a year, a group, a pillar),
 *     each made by one pass over the projects the first time its filter is
 *     asked for, then kept up to date change by change like the standing
 *     figures. The least recently asked view makes room for a new one.
 *
 * So no question recomputes figures, and a change costs one subtraction and
 * one addition per view that keeps the project.
 *
 * Changes carry the whole new state of an aggregate and its sequence number
 * (1, 2, 3 ... per aggregate, from the source's outbox). A state older than
 * the one held (a sequence not above it) is ignored, so an event delivered
 * twice changes nothing; sequence 0 marks a state read from the source
 * directly (a rebuild, a re-read), which always applies and keeps the
 * sequence held. Every change that applies moves `version` on.
 *
 * Pure memory: no I/O. Loop thread only.
 */
#ifndef COMPACT_ANALYTICS_MODEL_H
#define COMPACT_ANALYTICS_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "facts.h"
#include "project_read.h"

#define MODEL_VIEWS_MAX 32

typedef struct model model;

/* 0 and *out, or -ENOMEM. */
int model_new(model **out);
void model_free(model *m);

/* Puts the state of one aggregate at sequence `seq` (0: read from the
 * source). Returns 1 when it applied, 0 when it was older than the state
 * held, or -ENOMEM (the model is then unchanged). */
int model_put_entity(model *m, const Compact__Membership__V1__Entity *e, uint64_t seq);
int model_put_group(model *m, const Compact__Workgroups__V1__WorkingGroup *g, uint64_t seq);
int model_put_project(model *m, const Compact__Projects__V1__Project *p, uint64_t seq);
/* The same from a state read in two parts (project_read.h): only the
 * transactions added to those held are unpacked when that is all that
 * changed, and the facts learn the state's transaction hashes. Also
 * -EINVAL when the state does not unpack (the model is then unchanged). */
int model_put_project_read(model *m, const project_read *r, uint64_t seq);

/* Sets a rate, and converts every project's money again. 0 or -ENOMEM (the
 * figures are then recomputed from the facts on the next question). */
int model_put_rate(model *m, const char *currency, const char *valid_from, int64_t usd_micros);
const rates *model_rates(const model *m);

/* The facts held, or NULL. */
const entity_facts *model_entity(const model *m, const char *id);
const group_facts *model_group(const model *m, const char *id);
const project_facts *model_project(const model *m, const char *id);

/* Every fact of a kind, sorted by id; valid until the next change. */
const entity_facts *const *model_entities(const model *m, size_t *n);
const group_facts *const *model_groups(const model *m, size_t *n);
const project_facts *const *model_projects(const model *m, size_t *n);

/* The name a project gives the donor `key` ("org:<IATI ref>"), or NULL. A
 * scan of every project's donors: for labelling a breakdown's rows. */
const char *model_donor_name(const model *m, const char *key);

/* The figures of filter `f` (NULL or empty: the standing figures), valid
 * until the next change; NULL for -ENOMEM. */
const figures *model_figures(model *m, const facts_filter *f);

/* Moves on with every change that applied. */
uint64_t model_version(const model *m);

/* A rebuild makes a model of its own and then takes the place of the old:
 * model_new_like makes an empty model with m's rates (0 or -ENOMEM), and
 * model_take_over readies `dst` to replace `src`: every aggregate of `dst`
 * gets the sequence `src` holds for it (so events already applied stay
 * ignored), `dst` takes `src`'s rates as they are now (one may have been
 * set during the rebuild) and a version past `src`'s (answers kept for the
 * old figures are never served for the new). 0, or -ENOMEM (the figures are
 * then recomputed on the next question). */
int model_new_like(const model *m, model **out);
int model_take_over(model *dst, const model *src);

#endif

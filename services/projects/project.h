/* project.h: the joint project as an aggregate (aggregate.h).
 *
 * A project is stored as a body plus its transactions (project_store.h);
 * its funding totals and indicator states are derived, never stored
 * (project_derive.h). The toolkit's hooks keep both true: `refresh` derives
 * them before the event and the reply are made, and `committed` puts the
 * committed project into the overlap index, the service's in-memory view
 * for FindOverlaps. Cache keys: "compact:projects:project:<id>" and
 * "compact:projects:iati:<identifier, lowered>", both holding the packed
 * project.
 */
#ifndef COMPACT_PROJECTS_PROJECT_H
#define COMPACT_PROJECTS_PROJECT_H

#include "aggregate.h"
#include "overlap.h"
#include "peer_check.h"
#include "project_store.h"

/* The service's own state (service_state()). */
typedef struct projects_state {
    overlap_index *index;
    msgcache *listed; /* packed projects by version, for ListProjects */
} projects_state;

extern const aggregate_def project_aggregate;

/* The input fields of a project (project_edit.h's bits), and what an update
 * mask may name. */
extern const fieldmask_field project_fields[];

/* The overlap index of the service. */
overlap_index *project_index(service *svc);

/* The packed projects ListProjects reads through (NULL: none). */
msgcache *project_list_cache(service *svc);

/* Adds to `c` the participants and working groups of `next` (fields named
 * in `mask`) that `prev` (NULL: none) does not have, as fields
 * "<prefix>.participants[i].entity_id" and "<prefix>.working_group_ids[i]":
 * what a change adds, and so what membership and workgroups must confirm. */
void project_check_new_refs(peer_check *c, const char *prefix, const Project *next,
                            const Project *prev, unsigned mask);

#endif

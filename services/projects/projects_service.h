/* projects_service.h: compact-projects as a table, for service_main and for
 * tests that run its handlers in process (service_open_for_test). */
#ifndef COMPACT_PROJECTS_SERVICE_H
#define COMPACT_PROJECTS_SERVICE_H

#include "service.h"

/* The service: its methods, its schema, its peers (membership, workgroups)
 * and its hooks (the overlap index). Valid for the whole process. */
const service_def *projects_service_def(void);

/* Who may call which method (projects_rules.c, auth/rule.h). */
extern const auth_rule projects_rules[];

#endif

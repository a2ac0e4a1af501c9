/* workgroups_service.h: compact-workgroups as a table, for service_main and
 * for tests that run its handlers in process (service_open_for_test). */
#ifndef COMPACT_WORKGROUPS_SERVICE_H
#define COMPACT_WORKGROUPS_SERVICE_H

#include "service.h"

/* The service: its methods, its schema, its peer (membership). Valid for the
 * whole process. */
const service_def *workgroups_service_def(void);

/* Who may call which method (workgroups_rules.c, auth/rule.h). */
extern const auth_rule workgroups_rules[];

#endif

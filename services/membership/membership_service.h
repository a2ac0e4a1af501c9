/* membership_service.h: compact-membership as a table, for service_main and
 * for tests that run its handlers in process (service_open_for_test). */
#ifndef COMPACT_MEMBERSHIP_SERVICE_H
#define COMPACT_MEMBERSHIP_SERVICE_H

#include "service.h"

/* The service: its methods, its schema, no peers. Valid for the whole
 * process. */
const service_def *membership_service_def(void);

/* Who may call which method (membership_rules.c, auth/rule.h). */
extern const auth_rule membership_rules[];

#endif

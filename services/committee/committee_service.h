/* committee_service.h: compact-committee as a table (service.h). */
#ifndef COMPACT_COMMITTEE_SERVICE_H
#define COMPACT_COMMITTEE_SERVICE_H

#include "service.h"

const service_def *committee_service_def(void);

/* Who may call which method (committee_rules.c, auth/rule.h). */
extern const auth_rule committee_rules[];

#endif

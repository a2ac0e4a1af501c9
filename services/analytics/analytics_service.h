/* analytics_service.h: compact-analytics as a table (service.h). */
#ifndef COMPACT_ANALYTICS_SERVICE_H
#define COMPACT_ANALYTICS_SERVICE_H

#include "service.h"

const service_def *analytics_service_def(void);

/* Who may call which method (analytics_rules.c, auth/rule.h). */
extern const auth_rule analytics_rules[];

#endif

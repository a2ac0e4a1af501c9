/* committee_service.h: compact-committee as a table (service.h). */
#ifndef COMPACT_COMMITTEE_SERVICE_H
#define COMPACT_COMMITTEE_SERVICE_H

#include "service.h"

const service_def *committee_service_def(void);

#endif

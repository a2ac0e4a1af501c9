/* project_derive.h: the output-only fields computed from a project's data.
 *
 * Two things are never stored but derived whenever a project is read or
 * changed, so that they can never disagree with what they summarise:
 * - FundingTotals per currency, from the transactions (which IATI types count
 *   where is documented on FundingTotals in projects.proto);
 * - each indicator's IndicatorState, from its periods (the rule is
 *   documented on IndicatorState in projects.proto).
 * Pure functions on messages; no I/O.
 */
#ifndef COMPACT_PROJECTS_PROJECT_DERIVE_H
#define COMPACT_PROJECTS_PROJECT_DERIVE_H

#include "compact/projects/v1/projects.pb-c.h"

/* Within this fraction of |target| an indicator is still on track. */
#define PROJECT_DERIVE_TOLERANCE 0.10

/* The state of one indicator (a Compact__Projects__V1__IndicatorState). */
int project_derive_indicator_state(const Compact__Projects__V1__Indicator *ind);

/* Replaces p->totals with the totals of p->transactions, one per currency
 * in code order (none without transactions), and sets every indicator's
 * state. Returns 0, or -ENOMEM with p->totals unchanged. */
int project_derive(Compact__Projects__V1__Project *p);

#endif

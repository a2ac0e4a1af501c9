/* project_check.h: the checks of projects, transactions, results, indicators.
 *
 * Every function follows validate.h's contract: on a bad field it ends the
 * call with INVALID_ARGUMENT and "<field>: <problem>" (the field as the
 * client spells it, "project.participants[2].role") and returns -1; on
 * success it returns 0 and leaves the call untouched. Checks are of form and
 * of the message alone; ids are looked up in their services elsewhere
 * (peer_check.h).
 *
 * A project is checked in two steps: project_check_fields() checks each
 * field named in a mask on its own (the request's project), and
 * project_check_whole() checks the rules between fields (end after start,
 * countries or global, a partner that is accountable or implementing) on the
 * project as it will be saved, after an update's fields were applied.
 */
#ifndef COMPACT_PROJECTS_PROJECT_CHECK_H
#define COMPACT_PROJECTS_PROJECT_CHECK_H

#include <stdint.h>

#include "compact/projects/v1/projects.pb-c.h"
#include "rpc.h"

/* Limits. Money is bounded so that sums of PROJECT_TRANSACTIONS_MAX amounts
 * stay far inside int64. */
#define PROJECT_MONEY_MAX 100000000000000LL /* 10^14 minor units */
#define PROJECT_TRANSACTIONS_MAX 5000
#define PROJECT_RESULTS_MAX 50
#define PROJECT_INDICATORS_MAX 50 /* per result */
#define PROJECT_PERIODS_MAX 100   /* per indicator */
#define PROJECT_GROUPS_MAX 8
#define PROJECT_PARTICIPANTS_MAX 100
#define PROJECT_THEMES_MAX 20

/* Whether a check is of a project to save or of a FindOverlaps draft, whose
 * fields are all optional (but checked for form when given). */
enum project_check_mode {
    PROJECT_CHECK_SAVE = 0,
    PROJECT_CHECK_DRAFT = 1,
};

/* Checks the fields of `p` named in `mask` (enum project_field bits).
 * `prefix` is the path of the project in the request ("project", "draft"). */
int project_check_fields(rpc_call *call, const char *prefix,
                         const Compact__Projects__V1__Project *p, unsigned mask,
                         enum project_check_mode mode);

/* The rules between fields of the project to save. */
int project_check_whole(rpc_call *call, const char *prefix,
                        const Compact__Projects__V1__Project *p);

/* One result with its indicators, at `field` ("result", "project.results[0]"). */
int project_check_result(rpc_call *call, const char *field, const Compact__Projects__V1__Result *r);

/* One indicator with its baseline and periods, at `field`. */
int project_check_indicator(rpc_call *call, const char *field,
                            const Compact__Projects__V1__Indicator *ind);

/* A value of an indicator (finite; a comment of at most 500 characters). */
int project_check_value(rpc_call *call, const char *field,
                        const Compact__Projects__V1__IndicatorValue *v);

/* A transaction to record, at `field` ("transaction"). */
int project_check_transaction(rpc_call *call, const char *field,
                              const Compact__Projects__V1__Transaction *t);

/* Catalytic money is UNOCT's: NULL when an entity with `acronym` may provide
 * a catalytic transaction (UNOCT, in any case), else the problem, for a
 * message after the entity ("... (UNODC) is not UNOCT: ..."). Pure. */
const char *project_check_catalytic_provider_problem(const char *acronym);

/* The period dates of an indicator value: both dates, end not before start. */
int project_check_period(rpc_call *call, const char *start_field, const char *start,
                         const char *end_field, const char *end);

/* A country filter or code: an assigned ISO 3166-1 alpha-2 code. */
int project_check_country(rpc_call *call, const char *field, const char *code);

#endif

/* analytics_rules.c: who may call what of compact.analytics.v1 (rule.h).
 * Everyone reads the figures; only the secretariat rebuilds them or sets
 * exchange rates; who changed how much is for the secretariat and the
 * Committee. */
#include "analytics_service.h"

#define READ .roles = AUTH_ANYONE, .flags = AUTH_RULE_READ

const auth_rule analytics_rules[] = {
    {.method = "GetOverview", READ},
    {.method = "GetFundingBreakdown", READ},
    {.method = "GetParticipation", READ},
    {.method = "GetCoverage", READ},
    {.method = "ListDuplicationAlerts", READ},
    {.method = "GetMonitoring", READ},
    {.method = "GetActivity", READ},
    {.method = "WatchOverview", READ},
    {.method = "Rebuild", .roles = AUTH_ROLE_SECRETARIAT},
    {.method = "PutExchangeRate", .roles = AUTH_ROLE_SECRETARIAT},
    {.method = "ListExchangeRates", READ},
    /* Names people: the secretariat and the Committee only. */
    {.method = "ListChangesByActor",
     .roles = AUTH_ROLE_SECRETARIAT | AUTH_ROLE_COMMITTEE,
     .flags = AUTH_RULE_READ},
    {.method = NULL},
};

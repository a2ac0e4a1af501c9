/* analytics_rules.c: who may call what of compact.analytics.v1 (rule.h).
 * Everyone reads the figures; only the secretariat rebuilds them or sets
 * exchange rates. */
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
    {.method = NULL},
};

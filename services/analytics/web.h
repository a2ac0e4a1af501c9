/* web.h: the dashboard, over HTTP from the analytics process itself.
 *
 *   GET /                     the dashboard page (web/index.html)
 *   GET /assets/<file>        its script, style sheet and Chart.js
 *   GET /api/overview         the answers of the RPCs, as proto3 JSON:
 *       /api/funding?by=group|pillar|entity|donor|year
 *       /api/participation  /api/coverage  /api/alerts?limit=
 *       /api/monitoring     /api/activity?months=
 *                             (filters: year=, group=<working group id>, pillar=)
 *   GET /api/events           server-sent events: "overview" on every change
 *   GET /healthz              200 "ok" while the store works, else 503
 *
 * The JSON comes from the same reply messages as the RPCs (answers.h), so
 * the page and the API cannot disagree. Assets are compiled into the
 * binary (CMake's embed step): no file to ship, no CDN at run time. A bad
 * query parameter is a 400 whose JSON names it, in the shape of Google's
 * JSON errors: {"error": {"code": 400, "status": "INVALID_ARGUMENT",
 * "message": "year: must be ..."}}.
 */
#ifndef COMPACT_ANALYTICS_WEB_H
#define COMPACT_ANALYTICS_WEB_H

#include "analytics.h"

/* Serves on `listen` ("host:port"). 0 and *out, or a negative errno. */
int web_start(analytics *a, const char *listen, web **out);

/* Closes the server; `cb` runs once every connection is gone. A NULL web
 * runs `cb` at once. */
void web_stop(web *w, void (*cb)(void *arg), void *arg);

#endif

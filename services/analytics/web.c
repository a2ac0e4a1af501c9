/* web.c: the dashboard and its JSON API (see web.h). */
#include "web.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "answers.h"
#include "feed.h"
#include "handlers.h"
#include "http_server.h"
#include "log.h"
#include "web_assets.h"

#define WEB_MAX_CONNS 256
#define WEB_REQUEST_TIMEOUT_MS 10000

struct web {
    analytics *a;
    http_server *http;
    void (*stopped_cb)(void *arg);
    void *stopped_arg;
};

/* ---- replies ----------------------------------------------------------------------- */

static void security_headers(http_response *res)
{
    http_add_header(res, "X-Content-Type-Options", "nosniff");
    http_add_header(res, "Referrer-Policy", "no-referrer");
    http_add_header(res, "Content-Security-Policy",
                    "default-src 'self'; img-src 'self' data:; object-src 'none'; "
                    "frame-ancestors 'none'; base-uri 'none'");
}

/* A JSON error in the shape of Google's APIs. */
static void reply_problem(http_response *res, int http_status, const char *status,
                          const char *message)
{
    char body[512];
    size_t n = 0;

    n = (size_t)snprintf(body, sizeof body,
                         "{\"error\":{\"code\":%d,\"status\":\"%s\",\"message\":\"", http_status,
                         status);
    for (const char *p = message; *p && n + 8 < sizeof body; p++) {
        if (*p == '"' || *p == '\\')
            body[n++] = '\\';
        body[n++] = (unsigned char)*p < 0x20 ? ' ' : *p;
    }
    n += (size_t)snprintf(body + n, sizeof body - n, "\"}}");
    security_headers(res);
    http_add_header(res, "Cache-Control", "no-store");
    http_reply(res, http_status, "application/json", body, n);
}

/* ---- query parameters ------------------------------------------------------------------ */

/* An integer parameter: 0 and *out (0 when absent), or -1 (answered 400). */
static int int_param(http_response *res, const http_request *req, const char *name, int *out)
{
    char buf[16], *end;
    char message[96];
    long v;
    int found = http_query_param(req, name, buf, sizeof buf);

    *out = 0;
    if (found == 0 || (found == 1 && buf[0] == '\0'))
        return 0;
    v = found == 1 ? strtol(buf, &end, 10) : 0;
    if (found < 0 || *end != '\0' || v < -1000000 || v > 1000000) {
        snprintf(message, sizeof message, "%s: not a whole number", name);
        reply_problem(res, 400, "INVALID_ARGUMENT", message);
        return -1;
    }
    *out = (int)v;
    return 0;
}

/* year=, group=, pillar= into `q`; -1 (answered) when they may not be asked. */
static int filter_params(web *w, http_response *res, const http_request *req, answer_question *q)
{
    static const char *const names[][2] = {
        {"year", "year"}, {"pillar", "pillar"}, {"working_group_id", "group"}};
    const char *field = NULL, *problem;
    char message[256];
    int not_found, found;

    if (int_param(res, req, "year", &q->year) || int_param(res, req, "pillar", &q->pillar))
        return -1;
    found = http_query_param(req, "group", q->group_id, sizeof q->group_id);
    if (found < 0) {
        reply_problem(res, 400, "INVALID_ARGUMENT", "group: not a working group id");
        return -1;
    }
    problem = analytics_filter_problem(w->a, q->year, q->group_id, q->pillar, &field, &not_found);
    if (problem == NULL)
        return 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(names[i][0], field) == 0)
            field = names[i][1];
    snprintf(message, sizeof message, "%s: %s", field, problem);
    reply_problem(res, not_found ? 404 : 400, not_found ? "NOT_FOUND" : "INVALID_ARGUMENT",
                  message);
    return -1;
}

static int breakdown_of(const char *name)
{
    static const char *const names[] = {"", "group", "pillar", "entity", "donor", "year"};

    for (int i = 1; i < (int)(sizeof names / sizeof names[0]); i++)
        if (strcmp(name, names[i]) == 0)
            return i;
    return 0;
}

/* The question of an /api/ path, or -1 (answered). */
static int question_of(web *w, const http_request *req, http_response *res, answer_question *q)
{
    static const struct {
        const char *path;
        answer_kind kind;
    } paths[] = {
        {"/api/overview", ANSWER_OVERVIEW},
        {"/api/funding", ANSWER_FUNDING},
        {"/api/participation", ANSWER_PARTICIPATION},
        {"/api/coverage", ANSWER_COVERAGE},
        {"/api/alerts", ANSWER_ALERTS},
        {"/api/monitoring", ANSWER_MONITORING},
        {"/api/activity", ANSWER_ACTIVITY},
        {"/api/events", ANSWER_OVERVIEW},
    };
    char by[16] = "";
    size_t i = 0;

    while (i < sizeof paths / sizeof paths[0] && strcmp(paths[i].path, req->path) != 0)
        i++;
    if (i == sizeof paths / sizeof paths[0]) {
        reply_problem(res, 404, "NOT_FOUND", "no such API path");
        return -1;
    }
    memset(q, 0, sizeof *q);
    q->kind = paths[i].kind;
    if (q->kind != ANSWER_ACTIVITY && filter_params(w, res, req, q))
        return -1;
    if (q->kind == ANSWER_FUNDING) {
        http_query_param(req, "by", by, sizeof by);
        if ((q->by = breakdown_of(by)) == 0) {
            reply_problem(res, 400, "INVALID_ARGUMENT",
                          "by: must be one of group, pillar, entity, donor, year");
            return -1;
        }
    }
    if (q->kind == ANSWER_ALERTS) {
        if (int_param(res, req, "limit", &q->limit))
            return -1;
        if (q->limit < 0 || q->limit > ANSWERS_ALERTS_MAX) {
            reply_problem(res, 400, "INVALID_ARGUMENT", "limit: must be 0 (20) to 100");
            return -1;
        }
        q->limit = q->limit ? q->limit : ANSWERS_ALERTS_DEFAULT;
    }
    if (q->kind == ANSWER_ACTIVITY) {
        if (int_param(res, req, "months", &q->months))
            return -1;
        if (q->months < 0 || q->months > ANSWERS_MONTHS_MAX) {
            reply_problem(res, 400, "INVALID_ARGUMENT", "months: must be 0 (24) to 120");
            return -1;
        }
        q->months = q->months ? q->months : ANSWERS_MONTHS_DEFAULT;
    }
    return 0;
}

/* ---- routes ----------------------------------------------------------------------------- */

static void serve_api(void *arg, const http_request *req, http_response *res)
{
    web *w = arg;
    answer_question q;
    const void *json;
    size_t len;
    int rc;

    if (question_of(w, req, res, &q))
        return;
    if (strcmp(req->path, "/api/events") == 0) { /* http_stream_start sets its headers */
        feed_listen(w->a->feed, res, &q);
        return;
    }
    if ((rc = answers_get(w->a->answers, &q, ANSWER_JSON, &json, &len)) != 0) {
        reply_problem(res, 503, "UNAVAILABLE", strerror(-rc));
        return;
    }
    security_headers(res);
    http_add_header(res, "Cache-Control", "no-store");
    http_reply(res, 200, "application/json", json, len);
}

static void serve_asset(void *arg, const http_request *req, http_response *res)
{
    const web_asset *asset =
        web_asset_find(strcmp(req->path, "/") == 0 ? "/index.html" : req->path);

    (void)arg;
    if (asset == NULL) {
        http_reply_error(res, 404, "not found");
        return;
    }
    security_headers(res);
    /* Assets change with the binary: always revalidate, never stale. */
    http_add_header(res, "Cache-Control", "no-cache");
    http_reply(res, 200, asset->content_type, asset->data, asset->len);
}

static void serve_healthz(void *arg, const http_request *req, http_response *res)
{
    web *w = arg;
    int ok = store_healthy(service_store(w->a->svc));

    (void)req;
    http_add_header(res, "Cache-Control", "no-store");
    http_reply(res, ok ? 200 : 503, "text/plain; charset=utf-8", ok ? "ok\n" : "store failing\n",
               ok ? 3 : 14);
}

int web_start(analytics *a, const char *listen, web **out)
{
    http_options opts = {
        .max_conns = WEB_MAX_CONNS, .request_timeout_ms = WEB_REQUEST_TIMEOUT_MS, .keep_alive = 1};
    web *w = calloc(1, sizeof *w);
    int rc;
    char port[16];

    if (w == NULL)
        return -ENOMEM;
    w->a = a;
    if ((rc = http_server_new(service_loop(a->svc), &opts, &w->http)) != 0) {
        free(w);
        return rc;
    }
    rc = http_server_route(w->http, "/healthz", 0, serve_healthz, w);
    rc = rc ? rc : http_server_route(w->http, "/api/", 1, serve_api, w);
    rc = rc ? rc : http_server_route(w->http, "/", 1, serve_asset, w);
    rc = rc ? rc : http_server_listen(w->http, listen);
    if (rc < 0) {
        log_fmt(LOG_LEVEL_ERROR, "cannot serve the dashboard on %s (COMPACT_HTTP_LISTEN): %s",
                listen, strerror(-rc));
        *out = w;
        return rc; /* web_stop closes what was opened */
    }
    snprintf(port, sizeof port, "%d", rc);
    log_msg(LOG_LEVEL_INFO, "dashboard", "listen", listen, "port", port, "path", "/", NULL);
    *out = w;
    return 0;
}

static void on_http_closed(void *arg)
{
    web *w = arg;
    void (*cb)(void *) = w->stopped_cb;
    void *cb_arg = w->stopped_arg;

    free(w);
    cb(cb_arg);
}

void web_stop(web *w, void (*cb)(void *arg), void *arg)
{
    if (w == NULL) {
        cb(arg);
        return;
    }
    w->stopped_cb = cb;
    w->stopped_arg = arg;
    http_server_close(w->http, on_http_closed, w);
}

/* health.c: grpc.health.v1.Health on the runtime's own server API.
 *
 * One status for every name this server knows. Watchers are kept in a list;
 * each is an open server-streaming call that gets a message whenever the
 * status changes. A watcher leaves the list when its call is over (client
 * cancelled) or at shutdown, when it gets NOT_SERVING and the stream ends.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "grpc/health/v1/health.pb-c.h"
#include "health.h"
#include "log.h"

typedef Grpc__Health__V1__HealthCheckRequest check_request;

#define HEALTH_SERVICE_NAME_MAX 200
typedef Grpc__Health__V1__HealthCheckResponse check_response;

typedef struct health_watcher {
    struct health_watcher *next;
    rpc_call *call;
    health *h;
    int known; /* the name asked for exists */
} health_watcher;

struct health {
    char **names;
    size_t names_count;
    int serving;
    int shut_down;
    health_watcher *watchers;
};

static int health_knows(const health *h, const char *name)
{
    if (name == NULL || *name == '\0')
        return 1;
    for (size_t i = 0; i < h->names_count; i++)
        if (strcmp(h->names[i], name) == 0)
            return 1;
    return 0;
}

static int status_for(const health *h, int known)
{
    if (!known)
        return GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVICE_UNKNOWN;
    return h->serving ? GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING
                      : GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING;
}

static void send_status(health_watcher *w)
{
    check_response resp = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
    resp.status = status_for(w->h, w->known);
    rpc_call_write(w->call, &resp.base, NULL, NULL);
}

/* A service name no longer than any we serve, so that a watcher costs a
 * bounded amount; INVALID_ARGUMENT otherwise. */
static int check_service_name(rpc_call *call, const check_request *req)
{
    if (strlen(req->service) <= HEALTH_SERVICE_NAME_MAX)
        return 0;
    rpc_call_fail(call, RPC_INVALID_ARGUMENT, "service: longer than %d characters",
                  HEALTH_SERVICE_NAME_MAX);
    return -1;
}

static void handle_check(rpc_call *call, const ProtobufCMessage *request, void *data)
{
    health *h = data;
    const check_request *req = (const check_request *)request;
    if (check_service_name(call, req))
        return;
    if (!health_knows(h, req->service)) {
        rpc_call_fail(call, RPC_NOT_FOUND, "service: unknown service \"%s\"", req->service);
        return;
    }
    check_response resp = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
    resp.status = status_for(h, 1);
    rpc_call_reply(call, &resp.base);
}

static void watcher_unlink(health_watcher *w)
{
    for (health_watcher **p = &w->h->watchers; *p; p = &(*p)->next)
        if (*p == w) {
            *p = w->next;
            return;
        }
}

/* The client went away (or the server ended the stream): end and forget. */
static void on_watch_done(rpc_call *call, void *arg)
{
    health_watcher *w = arg;
    watcher_unlink(w);
    if (!rpc_call_ended(call))
        rpc_call_finish(call, RPC_CANCELLED, "watch cancelled");
    free(w);
}

static void handle_watch(rpc_call *call, const ProtobufCMessage *request, void *data)
{
    health *h = data;
    const check_request *req = (const check_request *)request;
    health_watcher *w;
    if (check_service_name(call, req))
        return;
    w = calloc(1, sizeof *w);
    if (w == NULL) {
        rpc_call_fail(call, RPC_RESOURCE_EXHAUSTED, "out of memory");
        return;
    }
    w->call = call;
    w->h = h;
    w->known = health_knows(h, req->service);
    send_status(w);
    if (h->shut_down) {
        rpc_call_finish(call, RPC_OK, NULL);
        free(w);
        return;
    }
    w->next = h->watchers;
    h->watchers = w;
    rpc_call_on_done(call, on_watch_done, w);
}

static const rpc_method health_methods[] = {
    {.name = "Check", .handler = handle_check, .flags = RPC_UNCAPPED},
    {.name = "Watch", .handler = handle_watch, .flags = RPC_SERVER_STREAMING},
    {.name = NULL},
};

int health_new(rpc_server *srv, const char *const *service_names, health **out)
{
    health *h = calloc(1, sizeof *h);
    if (h == NULL)
        return -ENOMEM;
    size_t n = 0;
    while (service_names && service_names[n])
        n++;
    h->names = calloc(n + 1, sizeof *h->names);
    for (size_t i = 0; h->names && i < n; i++)
        if ((h->names[h->names_count++] = strdup(service_names[i])) == NULL)
            break;
    if (h->names == NULL || h->names_count != n) {
        health_free(h);
        return -ENOMEM;
    }
    int rc = rpc_server_add_service(srv, &grpc__health__v1__health__descriptor, health_methods, h);
    if (rc != 0) {
        health_free(h);
        return rc;
    }
    *out = h;
    return 0;
}

void health_set_serving(health *h, int serving)
{
    serving = serving && !h->shut_down;
    if (h->serving == serving)
        return;
    h->serving = serving;
    log_msg(LOG_LEVEL_INFO, serving ? "health: SERVING" : "health: NOT_SERVING", NULL);
    for (health_watcher *w = h->watchers; w; w = w->next)
        send_status(w);
}

int health_serving(const health *h)
{
    return h->serving;
}

void health_shutdown(health *h)
{
    health_set_serving(h, 0);
    h->shut_down = 1;
    /* End every stream: the watcher is freed by on_watch_done when the call
     * is over, which its finished status brings about. */
    for (health_watcher *w = h->watchers; w; w = w->next)
        rpc_call_finish(w->call, RPC_OK, NULL);
}

void health_free(health *h)
{
    if (h == NULL)
        return;
    for (size_t i = 0; i < h->names_count; i++)
        free(h->names[i]);
    free(h->names);
    free(h);
}

/* ---- the client side: one Check, on a loop of its own ------------------- */

typedef struct probe_result {
    int done;
    int rc;
} probe_result;

static void on_probe_reply(void *arg, rpc_code code, const char *message,
                           const ProtobufCMessage *reply)
{
    probe_result *res = arg;
    res->done = 1;
    switch (code) {
    case RPC_OK:
        break;
    case RPC_NOT_FOUND: /* the server is up but does not know the name */
        res->rc = 0;
        return;
    case RPC_DEADLINE_EXCEEDED:
        res->rc = -ETIMEDOUT;
        return;
    case RPC_UNAVAILABLE:
        res->rc = -ECONNREFUSED;
        return;
    default:
        res->rc = -EPROTO;
        return;
    }
    const check_response *resp = (const check_response *)reply;
    res->rc = resp->status == GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
}

int health_probe(const char *target, const char *service, int timeout_ms)
{
    return health_probe_tls(target, NULL, service, timeout_ms);
}

int health_probe_tls(const char *target, const rpc_tls *tls, const char *service, int timeout_ms)
{
    uv_loop_t loop;
    rpc_runtime *rt = NULL;
    rpc_channel *ch = NULL;
    probe_result res = {.done = 0, .rc = -ECONNREFUSED};
    int rc = uv_loop_init(&loop);
    if (rc != 0)
        return rc;
    rc = rpc_runtime_new(&loop, &rt);
    if (rc == 0)
        rc = rpc_channel_new_tls(rt, target, tls, &ch);
    if (rc == 0) {
        check_request req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
        req.service = (char *)(service ? service : "");
        rc = rpc_channel_call(ch, &grpc__health__v1__health__descriptor, "Check", &req.base,
                              timeout_ms, NULL, on_probe_reply, &res);
    }
    while (rc == 0 && !res.done)
        uv_run(&loop, UV_RUN_ONCE);
    rpc_channel_close(ch);
    rpc_runtime_free(rt);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    return rc == 0 ? res.rc : rc;
}

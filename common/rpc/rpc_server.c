/* rpc_server.c: a server and its incoming calls, from gRPC core to a handler.
 *
 * Request slots. For every registered method the server keeps
 * RPC_REQUESTS_PER_METHOD requests posted with core (more for a method that
 * runs out under load), plus a few generic ones that catch unknown methods. A slot is an rpc_call waiting to be filled;
 * when core fills it, a fresh slot is posted before the call is handled, so
 * the server never runs out of posted requests under load.
 *
 * What happens to a call after its handler ran (reference counting, the
 * batches, watching the close) is rpc_call.c; streaming is rpc_stream.c.
 *
 * Shutdown follows core's order: grpc_server_shutdown_and_notify, a grace
 * timer that ends in grpc_server_cancel_all_calls (or that call as soon as
 * no call is left, to drop idle connections), and "done" once core has
 * notified, every posted slot has come back and every call has been freed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/grpc_security.h>
#include <grpc/slice.h>

#include "log.h"
#include "rpc_server_internal.h"

#define RPC_REQUESTS_PER_METHOD 16 /* slots posted at start, per method */
#define RPC_REQUESTS_MAX 256       /* slots one method may grow to under load */
#define RPC_GENERIC_REQUESTS 2

static void slot_post(rpc_server *srv, rpc__method *m);
static void maybe_finish_shutdown(rpc_server *srv);

/* ---- server lifetime ---------------------------------------------------- */

static int or_default(int value, int fallback)
{
    return value > 0 ? value : fallback;
}

/* Appends an integer channel argument to args[*n]. */
static void int_arg(grpc_arg *args, size_t *n, const char *key, int value)
{
    args[(*n)++] = (grpc_arg){.type = GRPC_ARG_INTEGER, .key = (char *)key, .value.integer = value};
}

int rpc_server_new(rpc_runtime *rt, const rpc_server_options *opts, rpc_server **out)
{
    rpc_server *srv = calloc(1, sizeof *srv);
    if (srv == NULL)
        return -ENOMEM;
    srv->rt = rt;
    srv->listen = strdup(opts->listen);
    srv->service_name = strdup(opts->service_name ? opts->service_name : "compact");
    srv->max_calls = or_default(opts->max_calls, 1000);
    srv->max_streams = or_default(opts->max_streams, 100);
    if (opts->tls) { /* TLS and the probe port: rpc_gate.c, rpc_tls.c */
        srv->tls_cert_file = strdup(opts->tls->cert_file ? opts->tls->cert_file : "");
        srv->tls_key_file = strdup(opts->tls->key_file ? opts->tls->key_file : "");
        srv->tls_ca_file = strdup(opts->tls->ca_file ? opts->tls->ca_file : "");
    }
    if (opts->probe_listen && *opts->probe_listen)
        srv->probe_listen = strdup(opts->probe_listen);
    int max_msg = or_default(opts->max_message_bytes, 4 << 20);
    /* No SO_REUSEPORT: a second server on our port must fail to start, not
     * silently share the port's connections with us. */
    grpc_arg args[10];
    size_t n = 0;
    int_arg(args, &n, GRPC_ARG_ALLOW_REUSEPORT, 0);
    int_arg(args, &n, GRPC_ARG_MAX_CONCURRENT_STREAMS,
            or_default(opts->max_streams_per_connection, 100));
    int_arg(args, &n, GRPC_ARG_KEEPALIVE_TIME_MS, or_default(opts->keepalive_ms, 60000));
    int_arg(args, &n, GRPC_ARG_KEEPALIVE_TIMEOUT_MS, RPC_KEEPALIVE_TIMEOUT_MS);
    /* Clients may ping as often as every 10 s without being dropped. */
    int_arg(args, &n, GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10000);
    int_arg(args, &n, GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, max_msg);
    int_arg(args, &n, GRPC_ARG_MAX_SEND_MESSAGE_LENGTH, max_msg);
    if (opts->max_connection_idle_ms != RPC_NEVER)
        int_arg(args, &n, GRPC_ARG_MAX_CONNECTION_IDLE_MS,
                or_default(opts->max_connection_idle_ms, 300000));
    if (opts->max_connection_age_ms > 0) {
        int_arg(args, &n, GRPC_ARG_MAX_CONNECTION_AGE_MS, opts->max_connection_age_ms);
        int_arg(args, &n, GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS, 10000);
    }
    grpc_channel_args channel_args = {.num_args = n, .args = args};
    srv->core = grpc_server_create(&channel_args, NULL);
    if (srv->listen == NULL || srv->service_name == NULL || srv->core == NULL ||
        rpc__access_log_new(rt, &srv->access_log) != 0) {
        rpc_server_free(srv);
        return -ENOMEM;
    }
    grpc_server_register_completion_queue(srv->core, rpc__runtime_cq(rt), NULL);
    uv_timer_init(rpc_runtime_loop(rt), &srv->grace_timer);
    srv->grace_timer.data = srv;
    rpc__runtime_retain(rt);
    *out = srv;
    return 0;
}

static const rpc_method *find_row(const rpc_method *rows, const char *name)
{
    for (; rows && rows->name; rows++)
        if (strcmp(rows->name, name) == 0)
            return rows;
    return NULL;
}

static int rows_all_known(const ProtobufCServiceDescriptor *svc, const rpc_method *rows)
{
    for (; rows && rows->name; rows++)
        if (protobuf_c_service_descriptor_get_method_by_name(svc, rows->name) == NULL) {
            log_fmt(LOG_LEVEL_ERROR, "%s has no method %s", svc->name, rows->name);
            return 0;
        }
    return 1;
}

static rpc__method *method_new(rpc_server *srv, const ProtobufCServiceDescriptor *svc,
                               const ProtobufCMethodDescriptor *md, const rpc_method *row,
                               void *data)
{
    rpc__method *m = calloc(1, sizeof *m);
    if (m == NULL)
        return NULL;
    size_t len = strlen(svc->name) + strlen(md->name) + 3;
    m->path = malloc(len);
    if (m->path == NULL) {
        free(m);
        return NULL;
    }
    snprintf(m->path, len, "/%s/%s", svc->name, md->name);
    m->srv = srv;
    m->input = md->input;
    m->handler = row ? row->handler : NULL;
    m->flags = row ? row->flags : 0;
    m->max_request_bytes = row ? row->max_request_bytes : 0;
    m->data = data;
    grpc_server_register_method_payload_handling payload =
        (m->flags & RPC_CLIENT_STREAMING) ? GRPC_SRM_PAYLOAD_NONE
                                          : GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER;
    m->core_handle = grpc_server_register_method(srv->core, m->path, NULL, payload, 0);
    if (m->core_handle == NULL) {
        free(m->path);
        free(m);
        return NULL;
    }
    return m;
}

int rpc_server_add_service(rpc_server *srv, const ProtobufCServiceDescriptor *svc,
                           const rpc_method *rows, void *arg)
{
    if (srv->started || !rows_all_known(svc, rows))
        return -EINVAL;
    rpc__method **grown =
        realloc(srv->methods, (srv->methods_count + svc->n_methods) * sizeof *grown);
    if (grown == NULL)
        return -ENOMEM;
    srv->methods = grown;
    for (unsigned i = 0; i < svc->n_methods; i++) {
        const ProtobufCMethodDescriptor *md = &svc->methods[i];
        rpc__method *m = method_new(srv, svc, md, find_row(rows, md->name), arg);
        if (m == NULL)
            return -EINVAL; /* registered twice, or out of memory */
        srv->methods[srv->methods_count++] = m;
    }
    return 0;
}

int rpc_server_start(rpc_server *srv)
{
    grpc_server_credentials *creds =
        srv->tls_cert_file
            ? rpc__tls_server_credentials(srv->tls_cert_file, srv->tls_key_file, srv->tls_ca_file)
            : grpc_insecure_server_credentials_create();
    if (creds == NULL)
        return -EINVAL;
    int port = grpc_server_add_http2_port(srv->core, srv->listen, creds);
    grpc_server_credentials_release(creds);
    if (port <= 0)
        return -EADDRINUSE;
    if (srv->probe_listen) {
        creds = grpc_insecure_server_credentials_create();
        srv->probe_port = grpc_server_add_http2_port(srv->core, srv->probe_listen, creds);
        grpc_server_credentials_release(creds);
        if (srv->probe_port <= 0)
            return -EADDRINUSE;
    }
    grpc_server_start(srv->core);
    srv->started = 1;
    for (size_t i = 0; i < srv->methods_count; i++) {
        srv->methods[i]->slots = RPC_REQUESTS_PER_METHOD;
        for (int k = 0; k < RPC_REQUESTS_PER_METHOD; k++)
            slot_post(srv, srv->methods[i]);
    }
    for (int k = 0; k < RPC_GENERIC_REQUESTS; k++)
        slot_post(srv, NULL);
    return port;
}

static void on_shutdown_notified(rpc__tag *tag, int ok)
{
    rpc_server *srv = (rpc_server *)((char *)tag - offsetof(rpc_server, shutdown_tag));
    srv->notified = 1;
    maybe_finish_shutdown(srv);
}

static void on_grace_over(uv_timer_t *timer)
{
    rpc_server *srv = timer->data;
    if (srv->calls_in_flight > 0)
        log_fmt(LOG_LEVEL_WARN, "grace period over: cancelling %d calls in flight",
                srv->calls_in_flight);
    grpc_server_cancel_all_calls(srv->core);
}

void rpc_server_shutdown(rpc_server *srv, int grace_ms, rpc_server_done_cb done, void *arg)
{
    srv->done = done;
    srv->done_arg = arg;
    srv->shutting_down = 1;
    if (!srv->started) {
        srv->notified = 1;
        maybe_finish_shutdown(srv);
        return;
    }
    srv->shutdown_tag.fn = on_shutdown_notified;
    grpc_server_shutdown_and_notify(srv->core, rpc__runtime_cq(srv->rt), &srv->shutdown_tag);
    uv_timer_start(&srv->grace_timer, on_grace_over, grace_ms > 0 ? (uint64_t)grace_ms : 0, 0);
    maybe_finish_shutdown(srv);
}

static void maybe_finish_shutdown(rpc_server *srv)
{
    if (!srv->shutting_down || srv->done_called || srv->calls_in_flight > 0)
        return;
    if (!srv->notified && !srv->idle_dropped && srv->started) {
        /* No call is left, but core waits for every connection to close,
         * and an idle client may keep its own open for the whole grace
         * period. Cancelling all calls also drops the connections. */
        srv->idle_dropped = 1;
        grpc_server_cancel_all_calls(srv->core);
    }
    if (!srv->notified || srv->slots_posted > 0)
        return;
    srv->done_called = 1;
    uv_timer_stop(&srv->grace_timer);
    if (srv->done)
        srv->done(srv->done_arg);
}

static void on_grace_timer_closed(uv_handle_t *handle)
{
    rpc_server *srv = handle->data;
    rpc__runtime_release(srv->rt);
    free(srv);
}

void rpc_server_free(rpc_server *srv)
{
    if (srv == NULL)
        return;
    if (srv->core)
        grpc_server_destroy(srv->core);
    for (size_t i = 0; i < srv->methods_count; i++) {
        free(srv->methods[i]->path);
        free(srv->methods[i]);
    }
    free(srv->methods);
    free(srv->listen);
    free(srv->service_name);
    rpc__access_log_free(srv->access_log);
    free(srv->tls_cert_file);
    free(srv->tls_key_file);
    free(srv->tls_ca_file);
    free(srv->probe_listen);
    if (srv->rt == NULL || srv->grace_timer.loop == NULL) {
        free(srv);
        return;
    }
    uv_close((uv_handle_t *)&srv->grace_timer, on_grace_timer_closed);
}

int rpc_server_probe_port(const rpc_server *srv)
{
    return srv->probe_port;
}

int rpc_server_calls_in_flight(const rpc_server *srv)
{
    return srv->calls_in_flight;
}

int rpc_server_streams_in_flight(const rpc_server *srv)
{
    return srv->streams_in_flight;
}

void rpc_server_on_call_end(rpc_server *srv, rpc_call_end_fn fn, void *arg)
{
    srv->on_call_end = fn;
    srv->on_call_end_arg = arg;
}

void rpc__server_release_call(rpc_call *call)
{
    rpc_server *srv = call->srv;
    if (call->is_stream)
        srv->streams_in_flight--;
    rpc__call_free(call);
    srv->calls_in_flight--;
    maybe_finish_shutdown(srv);
}

/* ---- slots -------------------------------------------------------------- */

static void slot_free_unfilled(rpc_call *call)
{
    rpc_server *srv = call->srv;
    srv->slots_posted--;
    rpc__call_free(call);
    maybe_finish_shutdown(srv);
}

static void on_slot_filled(rpc__tag *tag, int ok);

static void slot_post(rpc_server *srv, rpc__method *m)
{
    rpc_call *call = calloc(1, sizeof *call);
    if (call == NULL) {
        log_msg(LOG_LEVEL_ERROR, "out of memory posting a request slot", NULL);
        return;
    }
    call->srv = srv;
    call->method = m;
    call->tag.fn = on_slot_filled;
    call->status_slice = grpc_empty_slice();
    grpc_metadata_array_init(&call->request_md);
    grpc_completion_queue *cq = rpc__runtime_cq(srv->rt);
    grpc_call_error err;
    if (m == NULL) {
        grpc_call_details_init(&call->details);
        err = grpc_server_request_call(srv->core, &call->core, &call->details, &call->request_md,
                                       cq, cq, &call->tag);
    } else {
        grpc_byte_buffer **payload = (m->flags & RPC_CLIENT_STREAMING) ? NULL : &call->payload;
        err = grpc_server_request_registered_call(srv->core, m->core_handle, &call->core,
                                                  &call->deadline, &call->request_md, payload, cq,
                                                  cq, &call->tag);
    }
    if (err != GRPC_CALL_OK) {
        log_fmt(LOG_LEVEL_ERROR, "posting a request slot failed: error %d", (int)err);
        rpc__call_free(call);
        return;
    }
    srv->slots_posted++;
    if (m)
        m->posted++;
}

/* Puts back the slot just filled; when it was the method's last one, calls
 * are arriving faster than slots come back, so the method keeps one more
 * from now on (up to RPC_REQUESTS_MAX): idle servers stay small, busy
 * methods never wait for a slot. */
static void slots_refill(rpc_server *srv, rpc__method *m)
{
    slot_post(srv, m);
    if (m && m->posted == 1 && m->slots < RPC_REQUESTS_MAX) {
        m->slots++;
        slot_post(srv, m);
    }
}

static char *copy_slice(grpc_slice s)
{
    size_t len = GRPC_SLICE_LENGTH(s);
    char *out = malloc(len + 1);
    if (out) {
        memcpy(out, GRPC_SLICE_START_PTR(s), len);
        out[len] = '\0';
    }
    return out;
}

static int is_streaming(const rpc__method *m)
{
    return (m->flags & (RPC_SERVER_STREAMING | RPC_CLIENT_STREAMING)) != 0;
}

/* 1 if a call of method `m` (already counted in calls_in_flight) would go
 * over its budget: streams have one, unary calls another (see rpc.h). */
static int over_budget(const rpc_server *srv, const rpc__method *m)
{
    if (is_streaming(m))
        return srv->streams_in_flight >= srv->max_streams;
    if (m->flags & RPC_UNCAPPED)
        return 0;
    return srv->calls_in_flight - srv->streams_in_flight > srv->max_calls;
}

static void call_dispatch(rpc_call *call)
{
    rpc__method *m = call->method;
    if (m == NULL) {
        rpc__call_end_now(call, RPC_UNIMPLEMENTED, "unknown method", NULL);
        return;
    }
    if (over_budget(call->srv, m)) {
        rpc__call_end_now(call, RPC_RESOURCE_EXHAUSTED,
                          is_streaming(m) ? "too many streams open; retry later"
                                          : "too many calls in flight; retry later",
                          NULL);
        return;
    }
    if (rpc_call_remaining_ms(call) <= 0) {
        rpc__call_end_now(call, RPC_DEADLINE_EXCEEDED, "deadline passed before the call started",
                          NULL);
        return;
    }
    /* The gate comes first: a caller it refuses learns nothing more, not
     * even whether the method is implemented (rpc_stream.c for streams). */
    if (rpc__gate_authenticate(call) != 0)
        return;
    if (m->handler == NULL && !is_streaming(m) && call->payload == NULL) {
        rpc__call_end_now(call, RPC_UNIMPLEMENTED, "method not implemented by this server", NULL);
        return;
    }
    if (is_streaming(m)) {
        call->is_stream = 1;
        call->srv->streams_in_flight++;
        rpc__call_start_streaming(call);
        return;
    }
    if (call->payload == NULL) {
        rpc__call_end_now(call, RPC_INVALID_ARGUMENT, "request: no message received", NULL);
        return;
    }
    if (m->max_request_bytes > 0 && grpc_byte_buffer_length(call->payload) > m->max_request_bytes) {
        char msg[160];
        snprintf(msg, sizeof msg, "request: larger than the %zu bytes this method takes",
                 m->max_request_bytes);
        rpc__call_end_now(call, RPC_RESOURCE_EXHAUSTED, msg, NULL);
        return;
    }
    int too_many;
    call->request = rpc__unpack(m->input, call->payload, &too_many);
    rpc__call_drop_payload(call);
    if (call->request == NULL) {
        char msg[256];
        if (too_many)
            snprintf(msg, sizeof msg, "request: more than %d values; send fewer at a time",
                     RPC_UNPACK_ALLOCS_MAX);
        else
            snprintf(msg, sizeof msg, "request: not a valid %s message", m->input->name);
        rpc__call_end_now(call, too_many ? RPC_RESOURCE_EXHAUSTED : RPC_INVALID_ARGUMENT, msg,
                          NULL);
        return;
    }
    if (rpc__gate_authorize(call, call->request) != 0)
        return;
    if (m->handler == NULL) {
        rpc__call_end_now(call, RPC_UNIMPLEMENTED, "method not implemented by this server", NULL);
        return;
    }
    m->handler(call, call->request, m->data);
}

static void on_slot_filled(rpc__tag *tag, int ok)
{
    rpc_call *call = (rpc_call *)tag;
    rpc_server *srv = call->srv;
    if (call->method)
        call->method->posted--;
    if (!ok) { /* the server is shutting down */
        slot_free_unfilled(call);
        return;
    }
    srv->slots_posted--;
    srv->calls_in_flight++;
    call->refs = 1; /* the handler's */
    call->start_ns = rpc__now_ns();
    if (!srv->shutting_down)
        slots_refill(srv, call->method);
    if (call->method == NULL) {
        call->generic_path = copy_slice(call->details.method);
        call->deadline = call->details.deadline;
    }
    call_dispatch(call);
}

/* rpc_server.c: incoming calls, from gRPC core to a handler and back.
 *
 * Request slots. For every registered method the server keeps
 * RPC_REQUESTS_PER_METHOD requests posted with core (more for a method that
 * runs out under load), plus a few generic ones that catch unknown methods. A slot is an rpc_call waiting to be filled;
 * when core fills it, a fresh slot is posted before the call is handled, so
 * the server never runs out of posted requests under load.
 *
 * Every call is reference counted: one reference for the handler (dropped
 * when its status has gone out) and one per batch in flight. The call is
 * logged and freed when the count reaches zero.
 *
 * A unary call normally costs two completions: the request, and one final
 * batch that sends initial metadata, the message and the status and receives
 * the close (SEND_INITIAL_METADATA + SEND_MESSAGE + SEND_STATUS_FROM_SERVER +
 * RECV_CLOSE_ON_SERVER).
 *
 * Watching the close. To learn early that the client went away, a call
 * needs a RECV_CLOSE_ON_SERVER batch pending while the handler works. That
 * costs a third completion, so a unary call starts one only when somebody
 * needs it: a child call made with it as parent (core then cancels children
 * when the parent is cancelled), rpc_call_on_done or rpc_call_is_cancelled.
 * Streaming calls watch from the start. The close batch also sends the
 * initial metadata, so the final batch then leaves both out.
 *
 * Streaming writes are queued and sent one at a time, as core allows one
 * SEND_MESSAGE in flight per call; reads likewise, one at a time.
 *
 * Shutdown follows core's order: grpc_server_shutdown_and_notify, a grace
 * timer that ends in grpc_server_cancel_all_calls (or that call as soon as
 * no call is left, to drop idle connections), and "done" once core has
 * notified, every posted slot has come back and every call has been freed.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/grpc_security.h>
#include <grpc/slice.h>

#include "log.h"
#include "rpc_internal.h"

#define RPC_REQUESTS_PER_METHOD 16  /* slots posted at start, per method */
#define RPC_REQUESTS_MAX 256        /* slots one method may grow to under load */
#define RPC_GENERIC_REQUESTS 2

typedef struct rpc__method {
    rpc_server *srv;
    char *path;                       /* "/pkg.Service/Method" */
    void *core_handle;                /* from grpc_server_register_method */
    const ProtobufCMessageDescriptor *input;
    rpc_handler_fn handler;           /* NULL: UNIMPLEMENTED */
    unsigned flags;
    void *data;
    int posted;                       /* slots waiting in core now */
    int slots;                        /* slots this method keeps in all */
} rpc__method;

typedef struct rpc__write {
    struct rpc__write *next;
    grpc_byte_buffer *buf;
    rpc_write_cb cb;
    void *arg;
} rpc__write;

struct rpc_server {
    rpc_runtime *rt;
    grpc_server *core;
    char *listen;
    char *service_name;
    int max_calls;
    rpc__method **methods;
    size_t methods_count;
    int calls_in_flight;             /* filled slots not yet freed */
    int slots_posted;                /* slots waiting in core */
    int started, shutting_down, notified, done_called;
    int idle_dropped;                /* connections dropped once no call was left */
    rpc__tag shutdown_tag;
    uv_timer_t grace_timer;
    rpc_server_done_cb done;
    void *done_arg;
    rpc_call_end_fn on_call_end;     /* NULL: nobody counts calls */
    void *on_call_end_arg;
};

struct rpc_call {
    rpc__tag tag;                    /* the request, then the final batch */
    rpc_server *srv;
    rpc__method *method;             /* NULL for a generic (unknown method) slot */
    grpc_call *core;
    gpr_timespec deadline;
    grpc_metadata_array request_md;
    grpc_byte_buffer *payload;
    grpc_call_details details;       /* generic slots only */
    char *generic_path;
    ProtobufCMessage *request;
    uint64_t start_ns;
    rpc_code code;                   /* the status we sent, for the log */
    char *status_message;
    grpc_slice status_slice;
    grpc_byte_buffer *reply;
    grpc_byte_buffer *held;          /* rpc_call_hold_reply's, until released */
    int ended;                       /* reply/fail/finish was called */
    int refs;                        /* the handler's, plus one per batch in flight */
    int watching;                    /* a close batch was started */
    int cancelled;                   /* written by core with RECV_CLOSE_ON_SERVER */
    int closed;                      /* the close batch completed */
    rpc__tag close_tag, read_tag, write_tag;
    /* streaming only */
    rpc__write *writes, *writes_tail;
    int writing, status_waits_for_writes;
    int read_failed;                 /* the last read did not start or decode */
    grpc_byte_buffer *read_buf;
    rpc_read_cb read_cb;
    void *read_arg;
    rpc_call_done_cb done_cb;
    void *done_arg;
};

static void slot_post(rpc_server *srv, rpc__method *m);
static void call_end_now(rpc_call *call, rpc_code code, const char *message,
                         grpc_byte_buffer *reply);
static void maybe_finish_shutdown(rpc_server *srv);

/* ---- server lifetime ---------------------------------------------------- */

int rpc_server_new(rpc_runtime *rt, const rpc_server_options *opts, rpc_server **out) {
    rpc_server *srv = calloc(1, sizeof *srv);
    if (srv == NULL)
        return -ENOMEM;
    srv->rt = rt;
    srv->listen = strdup(opts->listen);
    srv->service_name = strdup(opts->service_name ? opts->service_name : "compact");
    srv->max_calls = opts->max_calls > 0 ? opts->max_calls : 1000;
    int max_msg = opts->max_message_bytes > 0 ? opts->max_message_bytes : 4 << 20;
    /* No SO_REUSEPORT: a second server on our port must fail to start, not
     * silently share the port's connections with us. */
    grpc_arg args[5] = {
        {.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_ALLOW_REUSEPORT, .value.integer = 0},
        {.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH,
         .value.integer = max_msg},
        {.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_MAX_SEND_MESSAGE_LENGTH,
         .value.integer = max_msg},
        {.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_MAX_CONNECTION_AGE_MS,
         .value.integer = opts->max_connection_age_ms},
        {.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS,
         .value.integer = 10000},
    };
    grpc_channel_args channel_args = {.num_args = opts->max_connection_age_ms > 0 ? 5 : 3,
                                      .args = args};
    srv->core = grpc_server_create(&channel_args, NULL);
    if (srv->listen == NULL || srv->service_name == NULL || srv->core == NULL) {
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

static const rpc_method *find_row(const rpc_method *rows, const char *name) {
    for (; rows && rows->name; rows++)
        if (strcmp(rows->name, name) == 0)
            return rows;
    return NULL;
}

static int rows_all_known(const ProtobufCServiceDescriptor *svc, const rpc_method *rows) {
    for (; rows && rows->name; rows++)
        if (protobuf_c_service_descriptor_get_method_by_name(svc, rows->name) == NULL) {
            log_fmt(LOG_LEVEL_ERROR, "%s has no method %s", svc->name, rows->name);
            return 0;
        }
    return 1;
}

static rpc__method *method_new(rpc_server *srv, const ProtobufCServiceDescriptor *svc,
                               const ProtobufCMethodDescriptor *md, const rpc_method *row,
                               void *data) {
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
                           const rpc_method *rows, void *arg) {
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

int rpc_server_start(rpc_server *srv) {
    grpc_server_credentials *creds = grpc_insecure_server_credentials_create();
    int port = grpc_server_add_http2_port(srv->core, srv->listen, creds);
    grpc_server_credentials_release(creds);
    if (port <= 0)
        return -EADDRINUSE;
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

static void on_shutdown_notified(rpc__tag *tag, int ok) {
    rpc_server *srv = (rpc_server *)((char *)tag - offsetof(rpc_server, shutdown_tag));
    srv->notified = 1;
    maybe_finish_shutdown(srv);
}

static void on_grace_over(uv_timer_t *timer) {
    rpc_server *srv = timer->data;
    if (srv->calls_in_flight > 0)
        log_fmt(LOG_LEVEL_WARN, "grace period over: cancelling %d calls in flight",
                srv->calls_in_flight);
    grpc_server_cancel_all_calls(srv->core);
}

void rpc_server_shutdown(rpc_server *srv, int grace_ms, rpc_server_done_cb done, void *arg) {
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

static void maybe_finish_shutdown(rpc_server *srv) {
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

static void on_grace_timer_closed(uv_handle_t *handle) {
    rpc_server *srv = handle->data;
    rpc__runtime_release(srv->rt);
    free(srv);
}

void rpc_server_free(rpc_server *srv) {
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
    if (srv->rt == NULL || srv->grace_timer.loop == NULL) {
        free(srv);
        return;
    }
    uv_close((uv_handle_t *)&srv->grace_timer, on_grace_timer_closed);
}

int rpc_server_calls_in_flight(const rpc_server *srv) {
    return srv->calls_in_flight;
}

/* ---- slots -------------------------------------------------------------- */

static void call_free(rpc_call *call) {
    if (call->core)
        grpc_call_unref(call->core);
    grpc_metadata_array_destroy(&call->request_md);
    if (call->method == NULL)
        grpc_call_details_destroy(&call->details);
    if (call->payload)
        grpc_byte_buffer_destroy(call->payload);
    if (call->reply)
        grpc_byte_buffer_destroy(call->reply);
    if (call->held)
        grpc_byte_buffer_destroy(call->held);
    if (call->request)
        protobuf_c_message_free_unpacked(call->request, NULL);
    grpc_slice_unref(call->status_slice);
    free(call->status_message);
    free(call->generic_path);
    free(call);
}

static void slot_free_unfilled(rpc_call *call) {
    rpc_server *srv = call->srv;
    srv->slots_posted--;
    call_free(call);
    maybe_finish_shutdown(srv);
}

static void call_release(rpc_call *call) {
    rpc_server *srv = call->srv;
    call_free(call);
    srv->calls_in_flight--;
    maybe_finish_shutdown(srv);
}

static void on_slot_filled(rpc__tag *tag, int ok);

static void slot_post(rpc_server *srv, rpc__method *m) {
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
        grpc_byte_buffer **payload =
            (m->flags & RPC_CLIENT_STREAMING) ? NULL : &call->payload;
        err = grpc_server_request_registered_call(srv->core, m->core_handle, &call->core,
                                                  &call->deadline, &call->request_md, payload,
                                                  cq, cq, &call->tag);
    }
    if (err != GRPC_CALL_OK) {
        log_fmt(LOG_LEVEL_ERROR, "posting a request slot failed: error %d", (int)err);
        call_free(call);
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
static void slots_refill(rpc_server *srv, rpc__method *m) {
    slot_post(srv, m);
    if (m && m->posted == 1 && m->slots < RPC_REQUESTS_MAX) {
        m->slots++;
        slot_post(srv, m);
    }
}

static char *copy_slice(grpc_slice s) {
    size_t len = GRPC_SLICE_LENGTH(s);
    char *out = malloc(len + 1);
    if (out) {
        memcpy(out, GRPC_SLICE_START_PTR(s), len);
        out[len] = '\0';
    }
    return out;
}

static void call_start_streaming(rpc_call *call);

static void call_dispatch(rpc_call *call) {
    rpc__method *m = call->method;
    if (m == NULL) {
        call_end_now(call, RPC_UNIMPLEMENTED, "unknown method", NULL);
        return;
    }
    if (call->srv->calls_in_flight > call->srv->max_calls) {
        call_end_now(call, RPC_RESOURCE_EXHAUSTED, "too many calls in flight; retry later",
                     NULL);
        return;
    }
    if (rpc_call_remaining_ms(call) <= 0) {
        call_end_now(call, RPC_DEADLINE_EXCEEDED, "deadline passed before the call started",
                     NULL);
        return;
    }
    if (m->handler == NULL) {
        call_end_now(call, RPC_UNIMPLEMENTED, "method not implemented by this server", NULL);
        return;
    }
    if (m->flags != 0) {
        call_start_streaming(call);
        return;
    }
    if (call->payload == NULL) {
        call_end_now(call, RPC_INVALID_ARGUMENT, "request: no message received", NULL);
        return;
    }
    call->request = rpc__unpack(m->input, call->payload);
    if (call->request == NULL) {
        char msg[256];
        snprintf(msg, sizeof msg, "request: not a valid %s message", m->input->name);
        call_end_now(call, RPC_INVALID_ARGUMENT, msg, NULL);
        return;
    }
    m->handler(call, call->request, m->data);
}

static void on_slot_filled(rpc__tag *tag, int ok) {
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

/* ---- the life of a call ------------------------------------------------- */

void rpc_server_on_call_end(rpc_server *srv, rpc_call_end_fn fn, void *arg) {
    srv->on_call_end = fn;
    srv->on_call_end_arg = arg;
}

static void call_log(rpc_call *call) {
    rpc_server *srv = call->srv;
    if (srv->on_call_end)
        srv->on_call_end(srv->on_call_end_arg, rpc_call_method(call), call->code,
                         (double)(rpc__now_ns() - call->start_ns) / 1e9);
    if (!log_enabled(LOG_LEVEL_INFO) && call->code == RPC_OK)
        return;
    double ms = (double)(rpc__now_ns() - call->start_ns) / 1e6;
    log_call(rpc_call_method(call), (int)call->code, rpc_code_name(call->code), ms,
             call->status_message);
}

static void call_unref(rpc_call *call) {
    if (--call->refs > 0)
        return;
    if (call->cancelled && call->code == RPC_OK) {
        /* The client went away or the deadline passed first: say so. */
        call->code = RPC_CANCELLED;
        free(call->status_message);
        call->status_message = strdup("reply not delivered: call cancelled");
    }
    call_log(call);
    call_release(call);
}

/* Starts `n` ops as one batch completing on `tag`, holding a reference for
 * it. Returns 0, or -EIO when core refused (no reference is then held). */
static int call_start_batch(rpc_call *call, grpc_op *ops, size_t n, rpc__tag *tag) {
    call->refs++;
    grpc_call_error err = grpc_call_start_batch(call->core, ops, n, tag, NULL);
    if (err == GRPC_CALL_OK)
        return 0;
    log_fmt(LOG_LEVEL_ERROR, "%s: starting a batch failed: error %d", rpc_call_method(call), (int)err);
    call->refs--;
    return -EIO;
}

static void on_close(rpc__tag *tag, int ok) {
    rpc_call *call = (rpc_call *)((char *)tag - offsetof(rpc_call, close_tag));
    call->closed = 1;
    if (call->done_cb) {
        rpc_call_done_cb cb = call->done_cb;
        call->done_cb = NULL;
        cb(call, call->done_arg);
    }
    call_unref(call);
}

/* Starts the close batch if it is not running yet (see the top of file). */
static void call_watch_close(rpc_call *call) {
    if (call->watching || call->ended)
        return;
    grpc_op ops[2];
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    ops[1].data.recv_close_on_server.cancelled = &call->cancelled;
    call->close_tag.fn = on_close;
    if (call_start_batch(call, ops, 2, &call->close_tag) == 0)
        call->watching = 1;
}

static void call_set_status(rpc_call *call, rpc_code code, const char *message) {
    call->ended = 1;
    call->code = code;
    if (message && *message) {
        call->status_message = strdup(message);
        call->status_slice = grpc_slice_from_copied_string(message);
    }
}

/* The batch that carried the status: it and the handler are done. */
static void on_status_sent(rpc__tag *tag, int ok) {
    rpc_call *call = (rpc_call *)tag;
    call_unref(call);
    call_unref(call);
}

/* Sends the status, with the message `reply` (may be NULL) and whatever of
 * initial metadata and close the close batch did not already carry. */
static void call_send_status(rpc_call *call, grpc_byte_buffer *reply) {
    grpc_op ops[4];
    memset(ops, 0, sizeof ops);
    size_t n = 0;
    if (!call->watching)
        ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
    if (reply) {
        call->reply = reply;
        ops[n].op = GRPC_OP_SEND_MESSAGE;
        ops[n++].data.send_message.send_message = reply;
    }
    ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    ops[n].data.send_status_from_server.status = (grpc_status_code)call->code;
    ops[n++].data.send_status_from_server.status_details = &call->status_slice;
    if (!call->watching) {
        ops[n].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
        ops[n++].data.recv_close_on_server.cancelled = &call->cancelled;
    }
    call->tag.fn = on_status_sent;
    if (call_start_batch(call, ops, n, &call->tag) != 0)
        call_unref(call); /* the handler's: nothing more will happen */
}

/* Ends a call now, with or without a reply: every unary reply and every
 * refusal before a handler ran. */
static void call_end_now(rpc_call *call, rpc_code code, const char *message,
                         grpc_byte_buffer *reply) {
    call_set_status(call, code, message);
    call_send_status(call, reply);
}

void rpc_call_reply(rpc_call *call, const ProtobufCMessage *reply) {
    if (call->ended)
        return;
    if (call->method && call->method->flags) {
        rpc_call_write(call, reply, NULL, NULL);
        rpc_call_finish(call, RPC_OK, NULL);
        return;
    }
    call_end_now(call, RPC_OK, NULL, rpc__pack(reply));
}

void rpc_call_reply_bytes(rpc_call *call, const void *data, size_t len) {
    if (call->ended)
        return;
    grpc_slice slice = grpc_slice_from_copied_buffer(data, len);
    grpc_byte_buffer *buf = grpc_raw_byte_buffer_create(&slice, 1);
    grpc_slice_unref(slice);
    call_end_now(call, RPC_OK, NULL, buf);
}

void rpc_call_hold_reply(rpc_call *call, const ProtobufCMessage *reply) {
    if (call->ended || call->held)
        return;
    call->held = rpc__pack(reply);
}

void rpc_call_release_reply(rpc_call *call) {
    grpc_byte_buffer *held = call->held;
    call->held = NULL;
    if (held == NULL)
        return;
    if (call->ended)
        grpc_byte_buffer_destroy(held);
    else
        call_end_now(call, RPC_OK, NULL, held);
}

void rpc_call_fail(rpc_call *call, rpc_code code, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    rpc_call_finish(call, code, msg);
}

void rpc_call_finish(rpc_call *call, rpc_code code, const char *message) {
    if (call->ended)
        return;
    call_set_status(call, code, message);
    if (call->writing)
        call->status_waits_for_writes = 1;
    else
        call_send_status(call, NULL);
}

/* ---- queries ------------------------------------------------------------ */

int rpc_call_is_cancelled(rpc_call *call) {
    if (call->closed && call->cancelled)
        return 1;
    call_watch_close(call); /* so that a later question gets the answer */
    return rpc_call_remaining_ms(call) <= 0;
}

rpc_code rpc_call_abandoned(const rpc_call *call) {
    if (call->closed && call->cancelled)
        return RPC_CANCELLED;
    return rpc_call_remaining_ms(call) <= 0 ? RPC_DEADLINE_EXCEEDED : RPC_OK;
}

int64_t rpc_call_remaining_ms(const rpc_call *call) {
    if (gpr_time_cmp(call->deadline, gpr_inf_future(call->deadline.clock_type)) == 0)
        return INT64_MAX;
    gpr_timespec deadline = gpr_convert_clock_type(call->deadline, GPR_CLOCK_MONOTONIC);
    gpr_timespec left = gpr_time_sub(deadline, gpr_now(GPR_CLOCK_MONOTONIC));
    return (int64_t)left.tv_sec * 1000 + left.tv_nsec / 1000000;
}

const char *rpc_call_method(const rpc_call *call) {
    if (call->method)
        return call->method->path;
    return call->generic_path ? call->generic_path : "(unknown)";
}

grpc_call *rpc__call_as_parent(rpc_call *call) {
    call_watch_close(call);
    return call->core;
}

void rpc_call_on_done(rpc_call *call, rpc_call_done_cb cb, void *arg) {
    call->done_cb = cb;
    call->done_arg = arg;
    call_watch_close(call);
}

/* ---- streaming ---------------------------------------------------------- */

static void on_first_read(rpc_call *call, const ProtobufCMessage *msg, void *arg) {
    if (msg == NULL) {
        if (call->read_failed)
            rpc_call_finish(call, RPC_INVALID_ARGUMENT, "request: not a valid message");
        else /* the client closed its side without a message: nothing was asked */
            rpc_call_finish(call, RPC_OK, NULL);
        return;
    }
    call->method->handler(call, msg, call->method->data);
}

static void call_start_streaming(rpc_call *call) {
    call_watch_close(call);
    if (!call->watching) {
        call_end_now(call, RPC_INTERNAL, "could not start the call", NULL);
        return;
    }
    if (call->method->flags & RPC_CLIENT_STREAMING) {
        rpc_call_read(call, on_first_read, NULL);
        return;
    }
    call->request = call->payload ? rpc__unpack(call->method->input, call->payload) : NULL;
    if (call->request == NULL) {
        rpc_call_finish(call, RPC_INVALID_ARGUMENT, "request: not a valid message");
        return;
    }
    call->method->handler(call, call->request, call->method->data);
}

static void write_start_next(rpc_call *call);

static void on_write_done(rpc__tag *tag, int ok) {
    rpc_call *call = (rpc_call *)((char *)tag - offsetof(rpc_call, write_tag));
    rpc__write *w = call->writes;
    call->writes = w->next;
    if (call->writes == NULL)
        call->writes_tail = NULL;
    call->writing = 0;
    /* Decide what goes next before the callback runs: it may write or finish. */
    if (call->writes)
        write_start_next(call);
    else if (call->status_waits_for_writes) {
        call->status_waits_for_writes = 0;
        call_send_status(call, NULL);
    }
    if (w->cb)
        w->cb(call, ok, w->arg);
    grpc_byte_buffer_destroy(w->buf);
    free(w);
    call_unref(call);
}

static void write_start_next(rpc_call *call) {
    grpc_op op;
    memset(&op, 0, sizeof op);
    op.op = GRPC_OP_SEND_MESSAGE;
    op.data.send_message.send_message = call->writes->buf;
    call->write_tag.fn = on_write_done;
    call->writing = 1;
    if (call_start_batch(call, &op, 1, &call->write_tag) != 0) {
        /* Complete it as failed through the same path, on this turn. */
        call->refs++;
        on_write_done(&call->write_tag, 0);
    }
}

void rpc_call_write(rpc_call *call, const ProtobufCMessage *msg, rpc_write_cb cb, void *arg) {
    rpc__write *w = calloc(1, sizeof *w);
    if (w == NULL || call->ended) {
        free(w);
        if (cb)
            cb(call, 0, arg);
        return;
    }
    w->buf = rpc__pack(msg);
    w->cb = cb;
    w->arg = arg;
    if (call->writes_tail)
        call->writes_tail->next = w;
    else
        call->writes = w;
    call->writes_tail = w;
    if (!call->writing)
        write_start_next(call);
}

static void on_read_done(rpc__tag *tag, int ok) {
    rpc_call *call = (rpc_call *)((char *)tag - offsetof(rpc_call, read_tag));
    /* Take the buffer first: the callback may start the next read into it. */
    grpc_byte_buffer *buf = call->read_buf;
    call->read_buf = NULL;
    ProtobufCMessage *msg = NULL;
    if (ok && buf) {
        msg = rpc__unpack(call->method->input, buf);
        call->read_failed = msg == NULL;
    }
    rpc_read_cb cb = call->read_cb;
    call->read_cb = NULL;
    cb(call, msg, call->read_arg);
    if (msg)
        protobuf_c_message_free_unpacked(msg, NULL);
    if (buf)
        grpc_byte_buffer_destroy(buf);
    call_unref(call);
}

void rpc_call_read(rpc_call *call, rpc_read_cb cb, void *arg) {
    if (call->read_cb != NULL) { /* one read at a time */
        cb(call, NULL, arg);
        return;
    }
    grpc_op op;
    memset(&op, 0, sizeof op);
    op.op = GRPC_OP_RECV_MESSAGE;
    op.data.recv_message.recv_message = &call->read_buf;
    call->read_cb = cb;
    call->read_arg = arg;
    call->read_failed = 0;
    call->read_tag.fn = on_read_done;
    if (call_start_batch(call, &op, 1, &call->read_tag) != 0) {
        call->read_failed = 1;
        call->refs++;
        on_read_done(&call->read_tag, 0);
    }
}

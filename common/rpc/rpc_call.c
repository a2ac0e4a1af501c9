/* rpc_call.c: the life of one incoming call, from its handler to its
 * status (see rpc.h for the contract, rpc_server.c for how calls arrive).
 *
 * Every call is reference counted: one reference for the handler (dropped
 * when its status has gone out) and one per batch in flight. The call is
 * logged and given back to the server when the count reaches zero.
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
 */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer_reader.h>
#include <grpc/slice.h>

#include "log.h"
#include "rpc_server_internal.h"

void rpc__call_free(rpc_call *call)
{
    if (call->attachment_release)
        call->attachment_release(call->attachment);
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

/* ---- the life of a call ------------------------------------------------- */

static void call_log(rpc_call *call)
{
    rpc_server *srv = call->srv;
    if (srv->on_call_end)
        srv->on_call_end(srv->on_call_end_arg, rpc_call_method(call), call->code,
                         (double)(rpc__now_ns() - call->start_ns) / 1e9);
    if (!log_enabled(LOG_LEVEL_INFO) && call->code == RPC_OK)
        return;
    double ms = (double)(rpc__now_ns() - call->start_ns) / 1e6;
    rpc__access_log_call(srv->access_log, rpc_call_method(call), call->code, ms,
                         call->status_message);
}

void rpc__call_cancel_core(rpc_call *call, rpc_code code, const char *message)
{
    grpc_call_cancel_with_status(call->core, (grpc_status_code)code, message, NULL);
}

void rpc__call_drop_payload(rpc_call *call)
{
    if (call->payload)
        grpc_byte_buffer_destroy(call->payload);
    call->payload = NULL;
}

void rpc__call_unref(rpc_call *call)
{
    if (--call->refs > 0)
        return;
    if (call->cancelled && call->code == RPC_OK) {
        /* The client went away or the deadline passed first: say so. */
        call->code = RPC_CANCELLED;
        free(call->status_message);
        call->status_message = strdup("reply not delivered: call cancelled");
    }
    call_log(call);
    rpc__server_release_call(call);
}

/* Starts `n` ops as one batch completing on `tag`, holding a reference for
 * it. Returns 0, or -EIO when core refused (no reference is then held). */
int rpc__call_start_batch(rpc_call *call, grpc_op *ops, size_t n, rpc__tag *tag)
{
    if (call->core == NULL) /* a local call: nothing can be sent or read */
        return -EIO;
    call->refs++;
    grpc_call_error err = grpc_call_start_batch(call->core, ops, n, tag, NULL);
    if (err == GRPC_CALL_OK)
        return 0;
    log_fmt(LOG_LEVEL_ERROR, "%s: starting a batch failed: error %d", rpc_call_method(call),
            (int)err);
    call->refs--;
    return -EIO;
}

static void on_close(rpc__tag *tag, int ok)
{
    rpc_call *call = (rpc_call *)((char *)tag - offsetof(rpc_call, close_tag));
    call->closed = 1;
    if (call->done_cb) {
        rpc_call_done_cb cb = call->done_cb;
        call->done_cb = NULL;
        cb(call, call->done_arg);
    }
    rpc__call_unref(call);
}

/* Starts the close batch if it is not running yet (see the top of file). */
void rpc__call_watch_close(rpc_call *call)
{
    if (call->watching || call->ended)
        return;
    grpc_op ops[2];
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    ops[1].data.recv_close_on_server.cancelled = &call->cancelled;
    call->close_tag.fn = on_close;
    if (rpc__call_start_batch(call, ops, 2, &call->close_tag) == 0)
        call->watching = 1;
}

static void call_set_status(rpc_call *call, rpc_code code, const char *message)
{
    call->ended = 1;
    call->code = code;
    if (message && *message) {
        call->status_message = strdup(message);
        call->status_slice = grpc_slice_from_copied_string(message);
    }
}

/* The batch that carried the status: it and the handler are done. */
static void on_status_sent(rpc__tag *tag, int ok)
{
    rpc_call *call = (rpc_call *)tag;
    rpc__call_unref(call);
    rpc__call_unref(call);
}

/* A local call's end: the status and the reply go to its `done`, and the
 * call is over, as a server's call is once its close batch completed. */
static void call_answer_locally(rpc_call *call, grpc_byte_buffer *reply)
{
    grpc_slice bytes = grpc_empty_slice();
    grpc_byte_buffer_reader reader;

    if (reply && grpc_byte_buffer_reader_init(&reader, reply)) {
        bytes = grpc_byte_buffer_reader_readall(&reader);
        grpc_byte_buffer_reader_destroy(&reader);
    }
    if (reply)
        grpc_byte_buffer_destroy(reply);
    call->local_done(call->local_arg, call->code, call->status_message ? call->status_message : "",
                     reply ? GRPC_SLICE_START_PTR(bytes) : NULL, GRPC_SLICE_LENGTH(bytes));
    grpc_slice_unref(bytes);
    call->closed = 1;
    if (call->done_cb) {
        rpc_call_done_cb cb = call->done_cb;
        call->done_cb = NULL;
        cb(call, call->done_arg);
    }
    rpc__call_free(call);
}

/* Sends the status, with the message `reply` (may be NULL) and whatever of
 * initial metadata and close the close batch did not already carry. */
void rpc__call_send_status(rpc_call *call, grpc_byte_buffer *reply)
{
    if (call->local_done) {
        call_answer_locally(call, reply);
        return;
    }
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
    if (rpc__call_start_batch(call, ops, n, &call->tag) != 0)
        rpc__call_unref(call); /* the handler's: nothing more will happen */
}

/* Ends a call now, with or without a reply: every unary reply and every
 * refusal before a handler ran. */
void rpc__call_end_now(rpc_call *call, rpc_code code, const char *message, grpc_byte_buffer *reply)
{
    call_set_status(call, code, message);
    rpc__call_send_status(call, reply);
}

void rpc_call_reply(rpc_call *call, const ProtobufCMessage *reply)
{
    assert(!call->ended && reply != NULL); /* a call ends exactly once */
    if (call->ended)
        return;
    if (call->is_stream) {
        rpc_call_write(call, reply, NULL, NULL);
        rpc_call_finish(call, RPC_OK, NULL);
        return;
    }
    rpc__call_end_now(call, RPC_OK, NULL, rpc__pack(reply));
}

void rpc_call_reply_bytes(rpc_call *call, const void *data, size_t len)
{
    assert(!call->ended && !call->is_stream);
    if (call->ended)
        return;
    rpc__call_end_now(call, RPC_OK, NULL, rpc__copy_bytes(data, len));
}

void rpc_call_hold_reply(rpc_call *call, const ProtobufCMessage *reply)
{
    assert(!call->ended && call->held == NULL && reply != NULL);
    if (call->ended || call->held)
        return;
    call->held = rpc__pack(reply);
}

void rpc_call_release_reply(rpc_call *call)
{
    grpc_byte_buffer *held = call->held;
    call->held = NULL;
    if (held == NULL)
        return;
    if (call->ended)
        grpc_byte_buffer_destroy(held);
    else
        rpc__call_end_now(call, RPC_OK, NULL, held);
}

void rpc_call_fail(rpc_call *call, rpc_code code, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    rpc_call_finish(call, code, msg);
}

void rpc_call_finish(rpc_call *call, rpc_code code, const char *message)
{
    assert(!call->ended); /* a call ends exactly once */
    if (call->ended)
        return;
    call_set_status(call, code, message);
    if (call->writing)
        call->status_waits_for_writes = 1;
    else
        rpc__call_send_status(call, NULL);
}

/* ---- a call answered in process ------------------------------------------ */

int rpc_call_new_local(const char *method_path, rpc_local_done_fn done, void *arg, rpc_call **out)
{
    assert(method_path != NULL && done != NULL && out != NULL);
    rpc_call *call = calloc(1, sizeof *call);
    if (call == NULL)
        return -ENOMEM;
    call->generic_path = strdup(method_path); /* what rpc_call_method answers */
    if (call->generic_path == NULL) {
        free(call);
        return -ENOMEM;
    }
    call->refs = 1; /* the handler's, as for a server's call */
    call->start_ns = rpc__now_ns();
    call->deadline = gpr_inf_future(GPR_CLOCK_MONOTONIC);
    call->status_slice = grpc_empty_slice();
    grpc_metadata_array_init(&call->request_md);
    grpc_call_details_init(&call->details);
    call->local_done = done;
    call->local_arg = arg;
    *out = call;
    return 0;
}

/* ---- queries ------------------------------------------------------------ */

int rpc_call_is_cancelled(rpc_call *call)
{
    if (call->closed && call->cancelled)
        return 1;
    rpc__call_watch_close(call); /* so that a later question gets the answer */
    return rpc_call_remaining_ms(call) <= 0;
}

int rpc_call_ended(const rpc_call *call)
{
    return call->ended;
}

rpc_code rpc_call_abandoned(const rpc_call *call)
{
    if (call->closed && call->cancelled)
        return RPC_CANCELLED;
    return rpc_call_remaining_ms(call) <= 0 ? RPC_DEADLINE_EXCEEDED : RPC_OK;
}

int64_t rpc_call_remaining_ms(const rpc_call *call)
{
    if (gpr_time_cmp(call->deadline, gpr_inf_future(call->deadline.clock_type)) == 0)
        return INT64_MAX;
    gpr_timespec deadline = gpr_convert_clock_type(call->deadline, GPR_CLOCK_MONOTONIC);
    gpr_timespec left = gpr_time_sub(deadline, gpr_now(GPR_CLOCK_MONOTONIC));
    return (int64_t)left.tv_sec * 1000 + left.tv_nsec / 1000000;
}

const ProtobufCMessage *rpc_call_request(const rpc_call *call)
{
    return call->is_stream ? NULL : call->request;
}

const char *rpc_call_method(const rpc_call *call)
{
    if (call->method)
        return call->method->path;
    return call->generic_path ? call->generic_path : "(unknown)";
}

grpc_call *rpc__call_as_parent(rpc_call *call)
{
    rpc__call_watch_close(call);
    return call->core;
}

void rpc_call_on_done(rpc_call *call, rpc_call_done_cb cb, void *arg)
{
    assert(call->done_cb == NULL && !call->ended); /* at most once, before the end */
    call->done_cb = cb;
    call->done_arg = arg;
    rpc__call_watch_close(call);
}

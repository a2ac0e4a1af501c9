/* rpc_stream.c: the writes and reads of a streaming call.
 *
 * Core allows one SEND_MESSAGE in flight per call: writes are queued and
 * sent one at a time, and a status given while writes are queued goes after
 * them. Reads likewise, one at a time.
 */
#include <stdlib.h>
#include <string.h>

#include "rpc_server_internal.h"

/* ---- streaming ---------------------------------------------------------- */

static void on_first_read(rpc_call *call, const ProtobufCMessage *msg, void *arg)
{
    if (msg == NULL) {
        if (call->read_failed)
            rpc_call_finish(call, RPC_INVALID_ARGUMENT, "request: not a valid message");
        else /* the client closed its side without a message: nothing was asked */
            rpc_call_finish(call, RPC_OK, NULL);
        return;
    }
    if (rpc__gate_authorize(call, msg) != 0)
        return;
    if (call->method->handler == NULL) {
        rpc_call_finish(call, RPC_UNIMPLEMENTED, "method not implemented by this server");
        return;
    }
    call->method->handler(call, msg, call->method->data);
}

void rpc__call_start_streaming(rpc_call *call)
{
    rpc__call_watch_close(call);
    if (!call->watching) {
        rpc__call_end_now(call, RPC_INTERNAL, "could not start the call", NULL);
        return;
    }
    if (call->method->flags & RPC_CLIENT_STREAMING) {
        rpc_call_read(call, on_first_read, NULL);
        return;
    }
    call->request = call->payload ? rpc__unpack(call->method->input, call->payload, NULL) : NULL;
    rpc__call_drop_payload(call);
    if (call->request == NULL) {
        rpc_call_finish(call, RPC_INVALID_ARGUMENT, "request: not a valid message");
        return;
    }
    if (rpc__gate_authorize(call, call->request) != 0) {
        /* refused by the gate */
    } else if (call->method->handler == NULL) {
        rpc_call_finish(call, RPC_UNIMPLEMENTED, "method not implemented by this server");
    } else {
        call->method->handler(call, call->request, call->method->data);
    }
    /* A stream may last as long as its client wants: it keeps nothing of its
     * request (rpc.h: valid only during the handler of a streaming call). */
    protobuf_c_message_free_unpacked(call->request, NULL);
    call->request = NULL;
}

static void write_start_next(rpc_call *call);

static void on_write_done(rpc__tag *tag, int ok)
{
    rpc_call *call = (rpc_call *)((char *)tag - offsetof(rpc_call, write_tag));
    rpc__write *w = call->writes;
    call->writes = w->next;
    call->queued--;
    if (call->writes == NULL)
        call->writes_tail = NULL;
    call->writing = 0;
    /* Decide what goes next before the callback runs: it may write or finish. */
    if (call->writes)
        write_start_next(call);
    else if (call->status_waits_for_writes) {
        call->status_waits_for_writes = 0;
        rpc__call_send_status(call, NULL);
    }
    if (w->cb)
        w->cb(call, ok, w->arg);
    grpc_byte_buffer_destroy(w->buf);
    free(w);
    rpc__call_unref(call);
}

static void write_start_next(rpc_call *call)
{
    grpc_op op;
    memset(&op, 0, sizeof op);
    op.op = GRPC_OP_SEND_MESSAGE;
    op.data.send_message.send_message = call->writes->buf;
    call->write_tag.fn = on_write_done;
    call->writing = 1;
    if (rpc__call_start_batch(call, &op, 1, &call->write_tag) != 0) {
        /* Complete it as failed through the same path, on this turn. */
        call->refs++;
        on_write_done(&call->write_tag, 0);
    }
}

void rpc_call_write(rpc_call *call, const ProtobufCMessage *msg, rpc_write_cb cb, void *arg)
{
    rpc__write *w;

    if (call->queued >= RPC_STREAM_WRITES_MAX &&
        !call->ended) { /* The client does not read what it asked for: its stream may not
         * grow the server's memory without bound. Cancelling fails the
         * writes that flow control holds, so that the status can go. */
        static const char why[] =
            "stream: the client is not reading its replies; too many are waiting";
        rpc__call_cancel_core(call, RPC_RESOURCE_EXHAUSTED, why);
        rpc_call_finish(call, RPC_RESOURCE_EXHAUSTED, why);
    }
    w = call->ended ? NULL : calloc(1, sizeof *w);
    if (w == NULL) {
        if (cb)
            cb(call, 0, arg);
        return;
    }
    call->queued++;
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

static void on_read_done(rpc__tag *tag, int ok)
{
    rpc_call *call = (rpc_call *)((char *)tag - offsetof(rpc_call, read_tag));
    /* Take the buffer first: the callback may start the next read into it. */
    grpc_byte_buffer *buf = call->read_buf;
    call->read_buf = NULL;
    ProtobufCMessage *msg = NULL;
    if (ok && buf) {
        msg = rpc__unpack(call->method->input, buf, NULL);
        call->read_failed = msg == NULL;
    }
    rpc_read_cb cb = call->read_cb;
    call->read_cb = NULL;
    cb(call, msg, call->read_arg);
    if (msg)
        protobuf_c_message_free_unpacked(msg, NULL);
    if (buf)
        grpc_byte_buffer_destroy(buf);
    rpc__call_unref(call);
}

void rpc_call_read(rpc_call *call, rpc_read_cb cb, void *arg)
{
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
    if (rpc__call_start_batch(call, &op, 1, &call->read_tag) != 0) {
        call->read_failed = 1;
        call->refs++;
        on_read_done(&call->read_tag, 0);
    }
}

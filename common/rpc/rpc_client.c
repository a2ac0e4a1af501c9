/* rpc_client.c: unary and server-streaming calls to other services.
 *
 * One batch per unary call: SEND_INITIAL_METADATA, SEND_MESSAGE,
 * SEND_CLOSE_FROM_CLIENT, RECV_INITIAL_METADATA, RECV_MESSAGE and
 * RECV_STATUS_ON_CLIENT, so a call costs one completion. A server-streaming
 * call (rpc_channel_watch) has three kinds of batch: the request (the sends
 * and RECV_INITIAL_METADATA), the status (RECV_STATUS_ON_CLIENT), and one
 * RECV_MESSAGE at a time, the next started when one is handed over; it ends
 * once all of them are back. A channel keeps its calls in flight in a list,
 * so that closing it can cancel them and free itself only when the last one
 * has come back.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>
#include <grpc/support/string_util.h>

#include "log.h"
#include "rpc_internal.h"

typedef struct rpc__client_call {
    rpc__tag tag;
    rpc__tag read_tag, status_tag; /* a watch's reads and status */
    rpc_channel *ch;
    struct rpc__client_call *prev, *next;
    grpc_call *core;
    const ProtobufCMessageDescriptor *output;
    grpc_byte_buffer *send_buf, *recv_buf;
    grpc_metadata_array initial_md, trailing_md;
    grpc_status_code status;
    grpc_slice details;
    grpc_metadata md; /* authorization, when the channel has one */
    rpc_reply_cb cb;
    void *arg;
    /* A watch (rpc_channel_watch) only. */
    rpc_message_cb on_message;
    int pending;     /* its batches in flight */
    int stream_over; /* a read found the end, or failed */
    int status_in;
} rpc__client_call;

struct rpc_channel {
    rpc_runtime *rt;
    grpc_channel *core;
    char *target;
    rpc__client_call *calls;
    int closing;
    grpc_slice authorization; /* empty: none */
    grpc_ssl_session_cache *sessions;
};

int rpc_channel_new(rpc_runtime *rt, const char *target, rpc_channel **out)
{
    return rpc_channel_new_tls(rt, target, NULL, out);
}

int rpc_channel_new_tls(rpc_runtime *rt, const char *target, const rpc_tls *tls, rpc_channel **out)
{
    rpc_channel *ch = calloc(1, sizeof *ch);
    if (ch == NULL)
        return -ENOMEM;
    ch->target = strdup(target);
    /* gRPC's default reconnect backoff grows to 120 s, and it asks DNS again
     * at most every 30 s: a peer back after an outage, perhaps at a new
     * address (a rescheduled container), would stay unused that long. */
    grpc_arg args[] = {
        {.type = GRPC_ARG_INTEGER,
         .key = GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS,
         .value.integer = 100},
        {.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, .value.integer = 5000},
        {.type = GRPC_ARG_INTEGER,
         .key = GRPC_ARG_DNS_MIN_TIME_BETWEEN_RESOLUTIONS_MS,
         .value.integer = 1000},
    };
    grpc_arg all[4] = {args[0], args[1], args[2]};
    grpc_channel_args channel_args = {.num_args = 3, .args = all};
    grpc_channel_credentials *creds = NULL;
    ch->authorization = grpc_empty_slice();
    if (tls) {
        creds = rpc__tls_channel_credentials(tls);
        ch->sessions = grpc_ssl_session_cache_create_lru(16);
        all[3] = grpc_ssl_session_cache_create_channel_arg(ch->sessions);
        channel_args.num_args = 4;
    } else {
        creds = grpc_insecure_credentials_create();
    }
    ch->core = creds ? grpc_channel_create(target, creds, &channel_args) : NULL;
    grpc_channel_credentials_release(creds);
    if (ch->target == NULL || ch->core == NULL) {
        if (ch->core)
            grpc_channel_destroy(ch->core);
        if (ch->sessions)
            grpc_ssl_session_cache_destroy(ch->sessions);
        free(ch->target);
        free(ch);
        return creds || !tls ? -ENOMEM : -EINVAL;
    }
    ch->rt = rt;
    rpc__runtime_retain(rt);
    *out = ch;
    return 0;
}

const char *rpc_channel_target(const rpc_channel *ch)
{
    return ch->target;
}

int rpc_channel_set_authorization(rpc_channel *ch, const char *value)
{
    grpc_slice fresh = value ? grpc_slice_from_copied_string(value) : grpc_empty_slice();
    grpc_slice_unref(ch->authorization);
    ch->authorization = fresh;
    return 0;
}

static void channel_destroy(rpc_channel *ch)
{
    grpc_channel_destroy(ch->core);
    grpc_slice_unref(ch->authorization);
    if (ch->sessions)
        grpc_ssl_session_cache_destroy(ch->sessions);
    rpc__runtime_release(ch->rt);
    free(ch->target);
    free(ch);
}

void rpc_channel_close(rpc_channel *ch)
{
    if (ch == NULL || ch->closing)
        return;
    ch->closing = 1;
    if (ch->calls == NULL) {
        channel_destroy(ch);
        return;
    }
    for (rpc__client_call *c = ch->calls; c; c = c->next)
        grpc_call_cancel_with_status(c->core, GRPC_STATUS_CANCELLED, "channel closing", NULL);
}

static void client_call_free(rpc__client_call *c)
{
    rpc_channel *ch = c->ch;
    if (c->prev)
        c->prev->next = c->next;
    else
        ch->calls = c->next;
    if (c->next)
        c->next->prev = c->prev;
    if (c->core)
        grpc_call_unref(c->core);
    if (c->send_buf)
        grpc_byte_buffer_destroy(c->send_buf);
    if (c->recv_buf)
        grpc_byte_buffer_destroy(c->recv_buf);
    grpc_metadata_array_destroy(&c->initial_md);
    grpc_metadata_array_destroy(&c->trailing_md);
    grpc_slice_unref(c->details);
    grpc_slice_unref(c->md.value);
    free(c);
    if (ch->closing && ch->calls == NULL)
        channel_destroy(ch);
}

static void on_client_call_done(rpc__tag *tag, int ok)
{
    rpc__client_call *c = (rpc__client_call *)tag;
    rpc_code code = ok ? (rpc_code)c->status : RPC_UNAVAILABLE;
    char *message = GRPC_SLICE_LENGTH(c->details) ? grpc_slice_to_c_string(c->details) : NULL;
    ProtobufCMessage *reply = NULL;
    if (code == RPC_OK) {
        reply = c->recv_buf ? rpc__unpack(c->output, c->recv_buf, NULL) : NULL;
        if (reply == NULL) {
            code = RPC_INTERNAL;
            gpr_free(message);
            message = gpr_strdup("reply could not be decoded");
        }
    }
    c->cb(c->arg, code, message ? message : "", reply);
    if (reply)
        protobuf_c_message_free_unpacked(reply, NULL);
    gpr_free(message);
    client_call_free(c);
}

static grpc_call *create_core_call(rpc_channel *ch, const ProtobufCServiceDescriptor *svc,
                                   const char *method, int timeout_ms, rpc_call *parent,
                                   rpc__client_call *c)
{
    char path[512];
    snprintf(path, sizeof path, "/%s/%s", svc->name, method);
    grpc_slice method_slice = grpc_slice_from_copied_string(path);
    grpc_call *parent_core = parent ? rpc__call_as_parent(parent) : NULL;
    grpc_call *core = grpc_channel_create_call(
        ch->core, parent_core, parent_core ? GRPC_PROPAGATE_DEFAULTS : 0, rpc__runtime_cq(ch->rt),
        method_slice, NULL, rpc__deadline_in(timeout_ms), NULL);
    grpc_slice_unref(method_slice);
    return core;
}

/* The channel's authorization, if any, as the call's initial metadata. */
static void add_authorization(rpc__client_call *c, grpc_op *send_initial_metadata)
{
    if (GRPC_SLICE_IS_EMPTY(c->ch->authorization))
        return;
    c->md.key = grpc_slice_from_static_string("authorization");
    c->md.value = grpc_slice_ref(c->ch->authorization); /* unref'd with the call */
    send_initial_metadata->data.send_initial_metadata.count = 1;
    send_initial_metadata->data.send_initial_metadata.metadata = &c->md;
}

static int start_call_batch(rpc__client_call *c)
{
    grpc_op ops[6];
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    add_authorization(c, &ops[0]);
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = c->send_buf;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &c->initial_md;
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = &c->recv_buf;
    ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[5].data.recv_status_on_client.trailing_metadata = &c->trailing_md;
    ops[5].data.recv_status_on_client.status = &c->status;
    ops[5].data.recv_status_on_client.status_details = &c->details;
    c->tag.fn = on_client_call_done;
    return grpc_call_start_batch(c->core, ops, 6, &c->tag, NULL) == GRPC_CALL_OK ? 0 : -EIO;
}

int rpc_channel_call(rpc_channel *ch, const ProtobufCServiceDescriptor *svc, const char *method,
                     const ProtobufCMessage *request, int timeout_ms, rpc_call *parent,
                     rpc_reply_cb cb, void *arg)
{
    const ProtobufCMethodDescriptor *md =
        protobuf_c_service_descriptor_get_method_by_name(svc, method);
    if (md == NULL || request->descriptor != md->input || ch->closing)
        return -EINVAL;
    rpc__client_call *c = calloc(1, sizeof *c);
    if (c == NULL)
        return -ENOMEM;
    c->ch = ch;
    c->output = md->output;
    c->cb = cb;
    c->arg = arg;
    c->details = grpc_empty_slice();
    grpc_metadata_array_init(&c->initial_md);
    grpc_metadata_array_init(&c->trailing_md);
    c->next = ch->calls;
    if (ch->calls)
        ch->calls->prev = c;
    ch->calls = c;
    c->core = create_core_call(ch, svc, method, timeout_ms, parent, c);
    c->send_buf = c->core ? rpc__pack(request) : NULL;
    if (c->send_buf == NULL || start_call_batch(c) != 0) {
        client_call_free(c); /* the channel is not closing: it stays */
        return -EIO;
    }
    return 0;
}

/* ---- server-streaming calls ---------------------------------------------------- */

static int start_watch_read(rpc__client_call *c);

/* Once every batch of the watch is back: the status, and the call is gone. */
static void watch_maybe_end(rpc__client_call *c)
{
    if (c->pending > 0)
        return;
    rpc_code code = c->status_in ? (rpc_code)c->status : RPC_UNAVAILABLE;
    char *message = GRPC_SLICE_LENGTH(c->details) ? grpc_slice_to_c_string(c->details) : NULL;
    c->cb(c->arg, code, message ? message : "", NULL);
    gpr_free(message);
    client_call_free(c);
}

static void on_watch_started(rpc__tag *tag, int ok)
{
    rpc__client_call *c = (rpc__client_call *)tag;
    (void)ok; /* a failure shows in the status */
    c->pending--;
    watch_maybe_end(c);
}

static void on_watch_status(rpc__tag *tag, int ok)
{
    rpc__client_call *c =
        (rpc__client_call *)((char *)tag - offsetof(rpc__client_call, status_tag));
    c->status_in = ok;
    c->pending--;
    watch_maybe_end(c);
}

static void on_watch_read(rpc__tag *tag, int ok)
{
    rpc__client_call *c = (rpc__client_call *)((char *)tag - offsetof(rpc__client_call, read_tag));
    grpc_byte_buffer *buf = c->recv_buf;
    ProtobufCMessage *msg = NULL;

    c->recv_buf = NULL;
    c->pending--;
    if (ok && buf && !c->ch->closing) {
        if ((msg = rpc__unpack(c->output, buf, NULL)) == NULL) {
            grpc_call_cancel_with_status(c->core, GRPC_STATUS_INTERNAL,
                                         "a message could not be decoded", NULL);
            c->stream_over = 1;
        }
    } else {
        c->stream_over = 1;
    }
    if (buf)
        grpc_byte_buffer_destroy(buf);
    if (msg) {
        c->on_message(c->arg, msg);
        protobuf_c_message_free_unpacked(msg, NULL);
        if (start_watch_read(c) != 0) {
            grpc_call_cancel_with_status(c->core, GRPC_STATUS_INTERNAL, "cannot read on", NULL);
            c->stream_over = 1;
        }
    }
    watch_maybe_end(c);
}

static int start_watch_read(rpc__client_call *c)
{
    grpc_op op;
    memset(&op, 0, sizeof op);
    op.op = GRPC_OP_RECV_MESSAGE;
    op.data.recv_message.recv_message = &c->recv_buf;
    c->read_tag.fn = on_watch_read;
    if (grpc_call_start_batch(c->core, &op, 1, &c->read_tag, NULL) != GRPC_CALL_OK)
        return -EIO;
    c->pending++;
    return 0;
}

/* The request batch; then the status and the first read. Returns 0 when the
 * request is on its way (the call then ends through watch_maybe_end), -EIO
 * when nothing was started. */
static int start_watch_batches(rpc__client_call *c)
{
    grpc_op ops[4];
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    add_authorization(c, &ops[0]);
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = c->send_buf;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &c->initial_md;
    c->tag.fn = on_watch_started;
    if (grpc_call_start_batch(c->core, ops, 4, &c->tag, NULL) != GRPC_CALL_OK)
        return -EIO;
    c->pending++;
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[0].data.recv_status_on_client.trailing_metadata = &c->trailing_md;
    ops[0].data.recv_status_on_client.status = &c->status;
    ops[0].data.recv_status_on_client.status_details = &c->details;
    c->status_tag.fn = on_watch_status;
    if (grpc_call_start_batch(c->core, ops, 1, &c->status_tag, NULL) == GRPC_CALL_OK)
        c->pending++;
    if (c->pending < 2 || start_watch_read(c) != 0) {
        /* Cannot be with a well-formed call; ends as cancelled. */
        grpc_call_cancel_with_status(c->core, GRPC_STATUS_INTERNAL, "cannot start the watch", NULL);
        c->stream_over = 1;
    }
    return 0;
}

int rpc_channel_watch(rpc_channel *ch, const ProtobufCServiceDescriptor *svc, const char *method,
                      const ProtobufCMessage *request, int timeout_ms, rpc_call *parent,
                      rpc_message_cb on_message, rpc_reply_cb cb, void *arg)
{
    const ProtobufCMethodDescriptor *md =
        protobuf_c_service_descriptor_get_method_by_name(svc, method);
    if (md == NULL || request->descriptor != md->input || ch->closing || on_message == NULL)
        return -EINVAL;
    rpc__client_call *c = calloc(1, sizeof *c);
    if (c == NULL)
        return -ENOMEM;
    c->ch = ch;
    c->output = md->output;
    c->cb = cb;
    c->on_message = on_message;
    c->arg = arg;
    c->details = grpc_empty_slice();
    grpc_metadata_array_init(&c->initial_md);
    grpc_metadata_array_init(&c->trailing_md);
    c->next = ch->calls;
    if (ch->calls)
        ch->calls->prev = c;
    ch->calls = c;
    c->core = create_core_call(ch, svc, method, timeout_ms, parent, c);
    c->send_buf = c->core ? rpc__pack(request) : NULL;
    if (c->send_buf == NULL || start_watch_batches(c) != 0) {
        client_call_free(c);
        return -EIO;
    }
    return 0;
}

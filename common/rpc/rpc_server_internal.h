/* rpc_server_internal.h: what rpc_server.c, rpc_call.c and rpc_stream.c
 * share, and nobody else includes.
 *
 * rpc_server.c keeps requests posted and hands each arriving call to its
 * handler; rpc_call.c is the life of one call (its reference count, its
 * batches, its status); rpc_stream.c the writes and reads of a streaming
 * call. A call holds one reference for its handler and one per batch in
 * flight; the last rpc__call_unref logs it and gives it back to the server.
 */
#ifndef COMPACT_RPC_SERVER_INTERNAL_H
#define COMPACT_RPC_SERVER_INTERNAL_H

#include "rpc_internal.h"

typedef struct rpc__method {
    rpc_server *srv;
    char *path;        /* "/pkg.Service/Method" */
    void *core_handle; /* from grpc_server_register_method */
    const ProtobufCMessageDescriptor *input;
    rpc_handler_fn handler; /* NULL: UNIMPLEMENTED */
    unsigned flags;
    size_t max_request_bytes; /* 0: the server's limit */
    void *data;
    int posted; /* slots waiting in core now */
    int slots;  /* slots this method keeps in all */
} rpc__method;

typedef struct rpc__access_log rpc__access_log;

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
    int calls_in_flight; /* filled slots not yet freed */
    int max_streams;
    int streams_in_flight; /* of those, streaming calls */
    int slots_posted;      /* slots waiting in core */
    int started, shutting_down, notified, done_called;
    int idle_dropped; /* connections dropped once no call was left */
    rpc__tag shutdown_tag;
    uv_timer_t grace_timer;
    rpc_server_done_cb done;
    void *done_arg;
    rpc_call_end_fn on_call_end; /* NULL: nobody counts calls */
    void *on_call_end_arg;
    rpc__access_log *access_log;
    rpc_gate gate;       /* fields NULL: no gate (rpc_gate.c) */
    char *tls_cert_file; /* NULL: plaintext */
    char *tls_key_file;
    char *tls_ca_file;
    char *probe_listen; /* NULL: no probe port */
    int probe_port;
};

struct rpc_call {
    rpc__tag tag; /* the request, then the final batch */
    rpc_server *srv;
    rpc__method *method; /* NULL for a generic (unknown method) slot */
    grpc_call *core;
    gpr_timespec deadline;
    grpc_metadata_array request_md;
    grpc_byte_buffer *payload;
    grpc_call_details details; /* generic slots only */
    char *generic_path;
    ProtobufCMessage *request;
    uint64_t start_ns;
    rpc_code code; /* the status we sent, for the log */
    char *status_message;
    grpc_slice status_slice;
    grpc_byte_buffer *reply;
    grpc_byte_buffer *held; /* rpc_call_hold_reply's, until released */
    int ended;              /* reply/fail/finish was called */
    int is_stream;          /* counted in streams_in_flight */
    int refs;               /* the handler's, plus one per batch in flight */
    int watching;           /* a close batch was started */
    int cancelled;          /* written by core with RECV_CLOSE_ON_SERVER */
    int closed;             /* the close batch completed */
    rpc__tag close_tag, read_tag, write_tag;
    /* streaming only */ rpc__write *writes, *writes_tail;
    int queued; /* writes in the queue, at most RPC_STREAM_WRITES_MAX */
    int writing, status_waits_for_writes;
    int read_failed; /* the last read did not start or decode */
    grpc_byte_buffer *read_buf;
    rpc_read_cb read_cb;
    void *read_arg;
    rpc_call_done_cb done_cb;
    void *done_arg;
    void *attachment; /* rpc_call_attach's */
    void (*attachment_release)(void *data);
    /* local calls only (rpc_call_new_local): no core, no server */
    rpc_local_done_fn local_done;
    void *local_arg;
};

/* ---- rpc_call.c --------------------------------------------------------- */

/* Frees a call that holds no reference (an unfilled slot, or the last
 * reference gone). */
void rpc__call_free(rpc_call *call);

/* Drops a reference; the last one logs the call and releases it. */
void rpc__call_unref(rpc_call *call);

/* Starts `n` ops as one batch completing on `tag`, holding a reference for
 * it. Returns 0, or -EIO when core refused or the call is local (no
 * reference is then held). */
int rpc__call_start_batch(rpc_call *call, grpc_op *ops, size_t n, rpc__tag *tag);

/* Starts the close batch if it is not running yet (see rpc_server.c). */
void rpc__call_watch_close(rpc_call *call);

/* Sends the status, with the message `reply` (may be NULL; taken); a local
 * call hands both to its `done` instead and is freed. */
void rpc__call_send_status(rpc_call *call, grpc_byte_buffer *reply);

/* Ends a call now, with or without a reply (taken): every unary reply and
 * every refusal before a handler ran. */
void rpc__call_end_now(rpc_call *call, rpc_code code, const char *message, grpc_byte_buffer *reply);

/* Cancels the call in core with `code`: batches in flight complete, failed. */
void rpc__call_cancel_core(rpc_call *call, rpc_code code, const char *message);

/* Frees the request's wire bytes once they are decoded. */
void rpc__call_drop_payload(rpc_call *call);

/* ---- rpc_stream.c ------------------------------------------------------- */

/* Starts a streaming call: watches its close, reads or decodes the first
 * message, runs the handler. */
void rpc__call_start_streaming(rpc_call *call);

/* ---- rpc_access_log.c --------------------------------------------------- */

/* The access log of a server: opens log.c's batch on the calling (loop)
 * thread and a flush timer on the runtime's loop. 0 or -ENOMEM. */
int rpc__access_log_new(rpc_runtime *rt, rpc__access_log **out);

/* Logs one finished call (log_call) and makes sure the batch is written
 * within the flush interval. `al` may be NULL: the line is logged anyway. */
void rpc__access_log_call(rpc__access_log *al, const char *method, rpc_code code, double ms,
                          const char *message);

/* Writes what is batched, closes the timer; the memory goes in its close
 * callback, which also releases the runtime. NULL is a no-op. */
void rpc__access_log_free(rpc__access_log *al);

/* ---- rpc_gate.c --------------------------------------------------------- */

/* The gate's two checks (rpc.h, rpc_server_set_gate). Each returns 0 when
 * the call may go on, or -1 after failing the call with the gate's code. */
int rpc__gate_authenticate(rpc_call *call);
int rpc__gate_authorize(rpc_call *call, const ProtobufCMessage *request);

/* ---- rpc_server.c ------------------------------------------------------- */

/* The call's last reference is gone: frees it and counts it out. */
void rpc__server_release_call(rpc_call *call);

#endif

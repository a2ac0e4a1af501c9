/* rpc.h: gRPC on a libuv loop, behind a small API of our own.
 *
 * Every gRPC core call of the project lives in common/rpc*.c; services and
 * tools only see the names below. A gRPC upgrade touches this directory only.
 *
 * Threads
 * -------
 * One libuv loop per process runs all application code. gRPC core needs a
 * completion queue (CQ) that somebody blocks on: one CQ thread does only that,
 * in grpc_completion_queue_next(), and hands every (tag, ok) pair to the loop
 * through a mutex-guarded array and uv_async_send(). uv_async_send coalesces
 * wake-ups, so the loop drains the whole array each time it wakes. Batches are
 * started, calls created and messages packed on the loop thread only.
 *
 * The life of one unary call
 * --------------------------
 *   1. The server keeps requests posted for every registered method
 *      (grpc_server_request_registered_call, payload read by core).
 *   2. A call arrives: the runtime posts a fresh request in its place, checks
 *      the cap on calls in flight and the deadline, decodes the request with
 *      protobuf_c_message_unpack() and runs the method's handler.
 *   3. The handler replies now or later (after Redis, SQLite or a peer
 *      answered) with exactly one rpc_call_reply() or rpc_call_fail().
 *   4. The runtime sends metadata, message and status in one batch, logs the
 *      call (method, code, duration) and frees it when core is done with it.
 * Unknown methods reach a generic request that answers UNIMPLEMENTED.
 *
 * Ownership and errors
 * -------------------- * Functions that can fail return 0 or a negative errno value. The request a
 * unary handler receives belongs to the runtime and stays valid until the
 * handler has replied; a streaming handler's only while it runs (a stream
 * can last as long as its client wants: it keeps nothing it does not need). A reply message is packed during rpc_call_reply(); the caller
 * keeps ownership of it. A client callback's reply is valid only during the
 * callback.
 */
#ifndef COMPACT_RPC_H
#define COMPACT_RPC_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/* gRPC status codes, with the numbers of the gRPC status-code guide. */
typedef enum rpc_code {
    RPC_OK = 0,
    RPC_CANCELLED = 1,
    RPC_UNKNOWN = 2,
    RPC_INVALID_ARGUMENT = 3,
    RPC_DEADLINE_EXCEEDED = 4,
    RPC_NOT_FOUND = 5,
    RPC_ALREADY_EXISTS = 6,
    RPC_PERMISSION_DENIED = 7,
    RPC_RESOURCE_EXHAUSTED = 8,
    RPC_FAILED_PRECONDITION = 9,
    RPC_ABORTED = 10,
    RPC_OUT_OF_RANGE = 11,
    RPC_UNIMPLEMENTED = 12,
    RPC_INTERNAL = 13,
    RPC_UNAVAILABLE = 14,
    RPC_DATA_LOSS = 15,
    RPC_UNAUTHENTICATED = 16,
} rpc_code;

/* "OK", "INVALID_ARGUMENT", ...; "UNKNOWN" for numbers outside the guide. */
const char *rpc_code_name(rpc_code code);

typedef struct rpc_runtime rpc_runtime; /* gRPC core, the CQ and its thread */
typedef struct rpc_server rpc_server;
typedef struct rpc_call rpc_call;       /* one incoming call */
typedef struct rpc_channel rpc_channel; /* a client connection to a peer */

/* ---- runtime ------------------------------------------------------------ */

/* Starts gRPC core, creates the completion queue and its thread, and ties
 * them to `loop`. Returns 0 and sets *out, or a negative errno. */
int rpc_runtime_new(uv_loop_t *loop, rpc_runtime **out);

/* Shuts the completion queue down, joins its thread and frees everything.
 * Every server must have been freed and every channel closed first. The loop
 * may then run to completion: no handle of the runtime stays open. NULL is a
 * no-op. Blocks only for the CQ thread to notice the shutdown. */
void rpc_runtime_free(rpc_runtime *rt);

uv_loop_t *rpc_runtime_loop(rpc_runtime *rt);

/* ---- server ------------------------------------------------------------- */

/* One handler signature for every method. `request` is the decoded first
 * message (for a client-streaming method, further messages come from
 * rpc_call_read). Runs on the loop thread. The handler, or whatever it hands
 * the call to, must end the call exactly once with rpc_call_reply(),
 * rpc_call_fail() or rpc_call_finish(), even if the call was cancelled. */
typedef void (*rpc_handler_fn)(rpc_call *call, const ProtobufCMessage *request, void *arg);

enum rpc_method_flags {
    RPC_SERVER_STREAMING = 1 << 0, /* replies with rpc_call_write */
    RPC_CLIENT_STREAMING = 1 << 1, /* reads further messages with rpc_call_read */
    RPC_UNCAPPED = 1 << 2,         /* never refused by the cap on calls (Health/Check:
                                    * probes must be answered on a busy server) */
};

/* A row of a service's method table, for instance
 *   { .name = "GetEntity", .handler = handle_get_entity }.
 * Names must match the protoc-c service descriptor. */
typedef struct rpc_method {
    const char *name;
    rpc_handler_fn handler;
    unsigned flags;
    /* The largest request the method takes (0: the server's limit); a larger
     * one is refused with RESOURCE_EXHAUSTED before it is decoded. However
     * large, a request decodes into at most RPC_UNPACK_ALLOCS_MAX values. */
    size_t max_request_bytes;
} rpc_method;

/* Limits. Unary calls and streams have budgets of their own, so that clients
 * holding streams open (Health.Watch, reflection) can never starve unary
 * calls, and a stream costs little while it lasts: its request is freed once
 * its handler has run, and at most RPC_STREAM_WRITES_MAX writes wait in its
 * queue. Connections: at most `max_streams_per_connection` HTTP/2 streams
 * each, pinged every `keepalive_ms` (a peer that does not answer within
 * RPC_KEEPALIVE_TIMEOUT_MS is dropped), closed after `max_connection_idle_ms`
 * without calls and, if set, after `max_connection_age_ms`. 0: the default
 * (for the age: unlimited); RPC_NEVER for the idle time: connections are not
 * closed for being idle. Either time puts gRPC core's max-age filter on every
 * call, about 4,400 instructions of a 60,000-instruction cached Get
 * (bench/RESULTS.md, "The differential profile"). */
#define RPC_NEVER (-1)
#define RPC_STREAM_WRITES_MAX 16
#define RPC_KEEPALIVE_TIMEOUT_MS 20000

/* TLS, from PEM files. For a server: its certificate chain and key, and the
 * CA that client certificates must chain to (mutual TLS: a client without a
 * certificate, or with one the CA did not sign, is refused during the
 * handshake). For a client: the CA that servers' certificates must chain to,
 * and its own certificate and key to present. Files are read when the
 * server starts or the channel is made; a change needs a restart. */
typedef struct rpc_tls {
    const char *cert_file;
    const char *key_file;
    const char *ca_file;
} rpc_tls;

typedef struct rpc_server_options {
    const char *listen; /* "host:port"; port 0 picks a free one */
    const rpc_tls *tls; /* NULL: plaintext on `listen` */
    /* With TLS: a second, plaintext port for probes (kubelet's gRPC probe
     * speaks no TLS), where only grpc.health.v1.Health answers; every other
     * call there is refused with UNAUTHENTICATED. NULL or "": none. */
    const char *probe_listen;
    int max_calls;                  /* unary calls in flight (1000); beyond: RESOURCE_EXHAUSTED */
    int max_streams;                /* streaming calls in flight (100); beyond: the same */
    int max_message_bytes;          /* both directions (4 MiB) */
    int max_streams_per_connection; /* HTTP/2 concurrent streams of one connection (100) */
    int keepalive_ms;               /* pings to an idle connection this often (60 s) */
    int max_connection_idle_ms;     /* closes connections idle this long (5 min); RPC_NEVER */
    int max_connection_age_ms;      /* 0: unlimited; else clients reconnect and rebalance */
    const char *service_name;       /* for logs: "membership" */
} rpc_server_options;

/* Creates a server bound to nothing yet. Returns 0 or a negative errno. */
int rpc_server_new(rpc_runtime *rt, const rpc_server_options *opts, rpc_server **out);

/* Registers every method of `svc` with the rows of `methods` (terminated by a
 * row whose name is NULL). A method of `svc` without a row answers
 * UNIMPLEMENTED; a row naming no method of `svc` is an error (-EINVAL).
 * `arg` is passed to every handler (a service passes itself). Only before
 * rpc_server_start. */
int rpc_server_add_service(rpc_server *srv, const ProtobufCServiceDescriptor *svc,
                           const rpc_method *methods, void *arg);

/* Binds the listening address (and the probe address, if any) and starts
 * serving. Returns the bound port (> 0) or a negative errno (-EADDRINUSE if
 * an address cannot be bound, -EINVAL when the TLS files cannot be read).
 * rpc_server_probe_port then answers the probe port (0: none). */
int rpc_server_start(rpc_server *srv);
int rpc_server_probe_port(const rpc_server *srv);

/* The gate every call passes before its handler runs: authentication from
 * the call's metadata alone (before the request is decoded), then
 * authorization with the decoded request (for a client-streaming call, its
 * first message). Each returns RPC_OK to let the call go on, or a code (and
 * a message written into `msg`) with which the runtime fails the call; the
 * handler then never runs. They run on the loop, for every method the
 * server registered (Health and reflection too: the gate decides what is
 * public), never for an unknown method (UNIMPLEMENTED first). Local calls
 * (rpc_call_new_local) pass no gate. `arg` must outlive the server. */
typedef struct rpc_gate {
    rpc_code (*authenticate)(void *arg, rpc_call *call, char *msg, size_t size);
    rpc_code (*authorize)(void *arg, rpc_call *call, const ProtobufCMessage *request, char *msg,
                          size_t size);
    void *arg;
} rpc_gate;

/* Sets the gate (copied; NULL: none, every call goes to its handler). Only
 * before rpc_server_start. */
void rpc_server_set_gate(rpc_server *srv, const rpc_gate *gate);

/* Graceful stop: no new calls are accepted; calls in flight have
 * `grace_ms` to finish, then the rest are cancelled (their handlers still
 * reply, into the void). `done` runs once on the loop thread when the last
 * call is gone; the server may then be freed. */
typedef void (*rpc_server_done_cb)(void *arg);
void rpc_server_shutdown(rpc_server *srv, int grace_ms, rpc_server_done_cb done, void *arg);

/* Frees a server that was never started or whose shutdown is done. NULL ok. */
void rpc_server_free(rpc_server *srv);

/* Calls being handled right now (unary and streaming), and streams alone. */
int rpc_server_calls_in_flight(const rpc_server *srv);
int rpc_server_streams_in_flight(const rpc_server *srv);

/* Runs once per finished call, on the loop, as the call is logged: its method
 * path, final code and duration. For metrics (service.c wires it to
 * metrics_rpc_observe), so that the runtime knows nothing of them. */
typedef void (*rpc_call_end_fn)(void *arg, const char *method, rpc_code code, double seconds);

/* Sets the call-end observer (NULL: none). `arg` must outlive the server. */
void rpc_server_on_call_end(rpc_server *srv, rpc_call_end_fn fn, void *arg);

/* ---- inside a handler --------------------------------------------------- */

/* Packs `reply` (the caller keeps it) and ends the call with OK. */
void rpc_call_reply(rpc_call *call, const ProtobufCMessage *reply);

/* Ends a unary call with OK and `len` bytes (copied) that already are the
 * packed reply, e.g. a cache entry: no unpacking only to pack again. */
void rpc_call_reply_bytes(rpc_call *call, const void *data, size_t len);

/* A reply that must wait for something after the handler's own data is
 * gone (a write's reply waits for its commit to reach the disk). hold packs
 * `reply` now (the caller keeps it) and leaves the call open; then either
 * release sends it and ends the call with OK, or rpc_call_fail ends the call
 * instead and drops it (the call is gone after either: use one, once).
 * Unary calls only; one held reply per call. */
void rpc_call_hold_reply(rpc_call *call, const ProtobufCMessage *reply);
void rpc_call_release_reply(rpc_call *call);

/* Ends the call with `code` (not RPC_OK) and a printf-style message that
 * names the field and the problem, e.g. "entity.acronym: must not be empty". */
void rpc_call_fail(rpc_call *call, rpc_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Ends a streaming call with a status (RPC_OK allowed) after its writes. */
void rpc_call_finish(rpc_call *call, rpc_code code, const char *message);

/* 1 once the peer cancelled, the deadline passed or the server cancelled the
 * call during shutdown. Replying to such a call is harmless. The first
 * question may only see the deadline: it starts watching for the client's
 * cancellation, which later questions then see. */
int rpc_call_is_cancelled(rpc_call *call);

/* 1 once we have ended the call (a reply, a failure, a finish). An on_done
 * callback asks it: the call may be over because we ended it, or because the
 * client went away, and only in the second case is it still ours to end. */
int rpc_call_ended(const rpc_call *call);

/* RPC_OK while the call is still wanted; RPC_CANCELLED once its client is
 * known to have cancelled it, RPC_DEADLINE_EXCEEDED once its deadline has
 * passed. Unlike rpc_call_is_cancelled it starts no watch, so it costs
 * nothing: a cancellation is known when something watches the call already
 * (a call to a peer made with it as the parent, rpc_call_on_done). A write
 * asks it right before its transaction. */
rpc_code rpc_call_abandoned(const rpc_call *call);

/* Milliseconds left before the call's deadline; INT64_MAX without one. */
int64_t rpc_call_remaining_ms(const rpc_call *call);

/* The decoded request of a unary call (what its handler received); NULL for a
 * streaming call. Valid until the call is answered. */
const ProtobufCMessage *rpc_call_request(const rpc_call *call);

/* "/compact.membership.v1.Membership/GetEntity" */
const char *rpc_call_method(const rpc_call *call);

/* ---- who is calling --------------------------------------------------------- */

/* The value of the request metadata `key` (lower case, e.g. "authorization"):
 * a pointer to `*len` bytes, not NUL-terminated, valid until the call is
 * freed; NULL when absent (always for a local call). The first of repeats. */
const char *rpc_call_metadata(const rpc_call *call, const char *key, size_t *len);

/* The client's address as gRPC names it ("ipv4:10.0.0.7:51234"), written
 * into `buf` (cut to fit); "local" for a local call. Returns its length. */
size_t rpc_call_peer(const rpc_call *call, char *buf, size_t size);

/* 1 if the call came over TLS with a verified client certificate (mutual
 * TLS), 0 over plaintext (or for a local call). */
int rpc_call_secure(const rpc_call *call);

/* One pointer of the gate's (the caller's identity) riding with the call:
 * `release`, if not NULL, runs once with it when the call is freed (or when
 * it is replaced). rpc_call_attachment answers it (NULL when none). */
void rpc_call_attach(rpc_call *call, void *data, void (*release)(void *data));
void *rpc_call_attachment(const rpc_call *call);

/* Streaming. rpc_call_write queues a message (packed now, the caller keeps
 * it); `cb`, if not NULL, runs once on the loop when it was sent (ok=1) or
 * the call broke (ok=0); it may write again or finish the call. Writes are
 * sent in order, and a status given while writes are queued goes after them.
 * rpc_call_read asks for the next client message; `cb` runs once with it
 * (valid only during the callback) or with NULL at the end of the client's
 * stream, on error, or when the message does not decode. One read at a
 * time: a read asked for while one is pending gets NULL at once. */
typedef void (*rpc_write_cb)(rpc_call *call, int ok, void *arg);
typedef void (*rpc_read_cb)(rpc_call *call, const ProtobufCMessage *msg, void *arg);
void rpc_call_write(rpc_call *call, const ProtobufCMessage *msg, rpc_write_cb cb, void *arg);
/* As rpc_call_write, with `len` bytes (copied) that already are the packed
 * message: one answer packed once for many watchers. */
void rpc_call_write_bytes(rpc_call *call, const void *data, size_t len, rpc_write_cb cb, void *arg);
void rpc_call_read(rpc_call *call, rpc_read_cb cb, void *arg);

/* Runs `cb` once, on the loop, when the call is over for any reason (ended
 * by us, cancelled by the peer, deadline, shutdown). Streaming handlers use
 * it to stop writing; set it at most once per call, before ending the call. */
typedef void (*rpc_call_done_cb)(rpc_call *call, void *arg);
void rpc_call_on_done(rpc_call *call, rpc_call_done_cb cb, void *arg);

/* ---- a call answered in process (a test seam) --------------------------- */

/* For tests and fuzzers: a call answered in process. It runs a handler
 * exactly as a server would (same rpc_call_* functions, same contract), but
 * nothing is behind it: no gRPC core, no server, no client. Its deadline is
 * infinite and it is never cancelled. It ends as every unary call does, with
 * rpc_call_reply, rpc_call_reply_bytes, rpc_call_hold_reply +
 * rpc_call_release_reply, rpc_call_fail or rpc_call_finish, and its answer
 * goes to `done` instead of a client. Not supported: streaming (writes and
 * reads fail as on a broken call) and being the parent of a call to a peer
 * (the child gets no parent: no deadline or cancellation to inherit).
 *
 * `done` runs exactly once, on the thread that ends the call, during the
 * rpc_call_* function that ends it, with the status code, its message (""
 * when none) and the packed reply (NULL and 0 unless code is RPC_OK). They
 * are valid only during the callback. The call is freed when `done` returns
 * (after an rpc_call_on_done callback, if one was set): stricter than a
 * server's call, which lives on until its status is sent, so a handler that
 * touches a call it has already ended is caught. */
typedef void (*rpc_local_done_fn)(void *arg, rpc_code code, const char *message, const void *reply,
                                  size_t len);

/* Creates a local call of `method_path` ("/pkg.Service/Method", copied: it
 * is what rpc_call_method answers). Returns 0 and sets *out, or -ENOMEM
 * (then `done` never runs). An unanswered call is never freed: like a
 * server's, it must be ended. */
int rpc_call_new_local(const char *method_path, rpc_local_done_fn done, void *arg, rpc_call **out);

/* ---- client ------------------------------------------------------------- */

/* Opens a channel to `target` ("host:port", any gRPC target URI). Connecting
 * is lazy and reconnects on its own. Returns 0 or a negative errno. */
int rpc_channel_new(rpc_runtime *rt, const char *target, rpc_channel **out);

/* As rpc_channel_new, over TLS when `tls` is not NULL (mutual TLS when it
 * names a certificate and key; the server's name is checked against its
 * certificate). TLS sessions are resumed on reconnects (a session cache per
 * channel). -EINVAL when the files cannot be read. */
int rpc_channel_new_tls(rpc_runtime *rt, const char *target, const rpc_tls *tls, rpc_channel **out);

/* Sends `value` as the "authorization" metadata of every call started from
 * now on ("Bearer <token>"; copied; NULL: none). Returns 0 or -ENOMEM (the
 * value before stays). */
int rpc_channel_set_authorization(rpc_channel *ch, const char *value);

/* Cancels the channel's calls in flight (their callbacks run with CANCELLED)
 * and frees the channel once they are gone. NULL is a no-op. */
void rpc_channel_close(rpc_channel *ch);

const char *rpc_channel_target(const rpc_channel *ch);

/* Called once on the loop thread with the outcome of a unary call. `reply`
 * is NULL unless code is RPC_OK; it and `message` are valid only during the
 * callback. */
typedef void (*rpc_reply_cb)(void *arg, rpc_code code, const char *message,
                             const ProtobufCMessage *reply);

/* Starts a unary call of `method` ("GetEntity") of `svc` with `request`
 * (packed now; the caller keeps it). The deadline is `timeout_ms` from now
 * (<= 0: none) and, when `parent` is an incoming call, never later than the
 * parent's; the parent's cancellation cancels this call too. Returns 0, or a
 * negative errno (then `cb` is never called). */
int rpc_channel_call(rpc_channel *ch, const ProtobufCServiceDescriptor *svc, const char *method,
                     const ProtobufCMessage *request, int timeout_ms, rpc_call *parent,
                     rpc_reply_cb cb, void *arg);

/* Called on the loop thread with each message of a server-streaming call, in
 * order; `msg` is valid only during the callback. */
typedef void (*rpc_message_cb)(void *arg, const ProtobufCMessage *msg);

/* Starts a server-streaming call of `method` with `request` (packed now; the
 * caller keeps it): `on_message` runs for every message the server sends,
 * then `cb` runs once with the final status (its reply always NULL). Deadline
 * and parent as rpc_channel_call; closing the channel cancels the call
 * (CANCELLED), and a message that does not decode ends it with INTERNAL.
 * Returns 0, or a negative errno (then neither callback is ever called). */
int rpc_channel_watch(rpc_channel *ch, const ProtobufCServiceDescriptor *svc, const char *method,
                      const ProtobufCMessage *request, int timeout_ms, rpc_call *parent,
                      rpc_message_cb on_message, rpc_reply_cb cb, void *arg);

#endif

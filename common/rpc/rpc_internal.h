/* rpc_internal.h: what the rpc_*.c files share, and nobody else includes.
 *
 * Tags. Every operation handed to gRPC core carries a pointer to an
 * rpc__tag as its tag; the CQ thread passes (tag, ok) to the loop, which
 * calls tag->fn(tag, ok). Structs that wait on core embed a tag as their
 * first member, so the callback can cast back.
 */
#ifndef COMPACT_RPC_INTERNAL_H
#define COMPACT_RPC_INTERNAL_H

#include <grpc/byte_buffer.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>

#include "rpc.h"

typedef struct rpc__tag rpc__tag;
struct rpc__tag {
    void (*fn)(rpc__tag *tag, int ok); /* runs on the loop thread */
};

grpc_completion_queue *rpc__runtime_cq(rpc_runtime *rt);

/* Servers and channels hold the runtime open: it is torn down only after
 * rpc_runtime_free() and the last release. */
void rpc__runtime_retain(rpc_runtime *rt);
void rpc__runtime_release(rpc_runtime *rt);

/* A byte buffer holding `msg` packed (caller destroys), or NULL on ENOMEM. */
grpc_byte_buffer *rpc__pack(const ProtobufCMessage *msg);

/* A byte buffer holding a copy of data[0..len) (caller destroys). */
grpc_byte_buffer *rpc__copy_bytes(const void *data, size_t len);

/* `buf` decoded as `desc` (free with protobuf_c_message_free_unpacked), or
 * NULL when it does not decode; *too_many (may be NULL) then says whether it
 * held more values than RPC_UNPACK_ALLOCS_MAX allocations. Does not take
 * `buf`. */
#define RPC_UNPACK_ALLOCS_MAX 65536

/* Completions the loop runs per turn, and the time after which it starts
 * no more of them (rpc_runtime.c, "Turns"). */
#define RPC_COMPLETIONS_PER_TURN 16
#define RPC_TURN_BUDGET_NS 500000
ProtobufCMessage *rpc__unpack(const ProtobufCMessageDescriptor *desc, grpc_byte_buffer *buf,
                              int *too_many);

/* A core deadline `ms` from now; <= 0 means none. */
gpr_timespec rpc__deadline_in(int64_t ms);

/* The core call behind an incoming call, to be the parent of a child call:
 * starts watching the call's close, so that core can cancel the children
 * when the client cancels. */
grpc_call *rpc__call_as_parent(rpc_call *call);

/* Server and channel credentials from rpc_tls files (rpc_tls.c; the caller
 * releases them), or NULL when a file cannot be read (logged, naming it). */
grpc_server_credentials *rpc__tls_server_credentials(const char *cert, const char *key,
                                                     const char *ca);
grpc_channel_credentials *rpc__tls_channel_credentials(const rpc_tls *tls);

/* Monotonic nanoseconds. */
uint64_t rpc__now_ns(void);

#endif

/* rpc_runtime.c: gRPC core, its completion queue, and the hand-off to the loop.
 *
 * The CQ thread does nothing but wait in grpc_completion_queue_next() and
 * append (tag, ok) to `pending` under `lock`, then uv_async_send(). The loop's
 * async callback swaps `pending` with its own `draining` array and runs the
 * tags' callbacks, a few a turn (see "Turns"). uv_async_send coalesces: under load one wake-up carries many
 * completions, which is what keeps the hop cheap.
 *
 * Pacing. Under load the two threads share a core (a container's CPU limit,
 * or the benchmark's pinning), and the process runs SCHED_BATCH (service.c),
 * so neither preempts the other. Left alone, the CQ thread went straight
 * back to polling after a hand-off and read the sockets again and again as
 * requests trickled in, a few at a time, while the loop waited for the core.
 * So the CQ thread takes only what is ready (a zero-timeout next), and when
 * nothing is ready after a hand-off it yields the core (sched_yield) before
 * it waits: the loop serves the batch, answers arrive at the clients, and the
 * next poll finds a full batch of requests. It still does nothing but wait in
 * grpc_completion_queue_next and hand over; on an idle server it blocks as
 * before, and with a core of its own the yield returns at once.
 * bench/RESULTS.md has the figures (Health/Check on one core: from 78% of a
 * bare gRPC-core loop to 89-94%).
 *
 * Turns. The loop runs at most RPC_COMPLETIONS_PER_TURN callbacks per
 * wake-up, and none after RPC_TURN_BUDGET_NS have passed (one call can be a
 * list of pages of projects: a few milliseconds), and leaves the rest for
 * its next turn (waking itself again). A
 * turn ends with the store's batch COMMIT (a check handle) and is where
 * finished flushes and Redis replies are taken in, so on a saturated
 * service a short turn is what keeps a write's way from its handler to
 * its commit, its flush and its event short: with every completion of a
 * wake-up in one turn, 64 calls in flight made turns of 20-40 ms, each
 * hop of a write waiting a whole one (bench/RESULTS.md, "Turns and checkpoints").
 *
 * Teardown: rpc_runtime_free() marks the runtime closing; once no server or
 * channel holds it any more, the queue is shut down, its thread joined, the
 * async handle closed, and the memory freed in the close callback.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <grpc/byte_buffer_reader.h>
#include <grpc/slice.h>

#include "log.h"
#include "rpc_internal.h"

typedef struct rpc__completion {
    rpc__tag *tag;
    int ok;
} rpc__completion;

typedef struct rpc__completions {
    rpc__completion *items;
    size_t count, capacity;
} rpc__completions;

struct rpc_runtime {
    uv_loop_t *loop;
    grpc_completion_queue *cq;
    uv_thread_t thread;
    uv_async_t wakeup;
    uv_mutex_t lock;           /* guards `pending` */
    rpc__completions pending;  /* filled by the CQ thread */
    rpc__completions draining; /* loop thread only */
    size_t next;               /* draining's first item not yet run */
    int users;                 /* servers and channels alive */
    int freeing;               /* rpc_runtime_free was called */
};

static const char *const rpc_code_names[] = {
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
};

const char *rpc_code_name(rpc_code code)
{
    if ((unsigned)code >= sizeof rpc_code_names / sizeof rpc_code_names[0])
        return "UNKNOWN";
    return rpc_code_names[code];
}

uint64_t rpc__now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- the CQ thread ------------------------------------------------------ */

static int completions_push(rpc__completions *c, rpc__tag *tag, int ok)
{
    if (c->count == c->capacity) {
        size_t cap = c->capacity ? c->capacity * 2 : 256;
        rpc__completion *items = realloc(c->items, cap * sizeof *items);
        if (items == NULL)
            return -ENOMEM;
        c->items = items;
        c->capacity = cap;
    }
    c->items[c->count++] = (rpc__completion){.tag = tag, .ok = ok};
    return 0;
}

/* The next event: whatever is ready, else, after a hand-off, the loop's
 * turn first, else a blocking wait. See "Pacing" at the top. */
static grpc_event cq_thread_next(rpc_runtime *rt, int *handed)
{
    for (;;) {
        grpc_event ev = grpc_completion_queue_next(rt->cq, gpr_inf_past(GPR_CLOCK_MONOTONIC), NULL);
        if (ev.type != GRPC_QUEUE_TIMEOUT)
            return ev;
        if (!*handed)
            return grpc_completion_queue_next(rt->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
        *handed = 0;
        sched_yield();
    }
}

static void cq_thread_main(void *arg)
{
    rpc_runtime *rt = arg;
    int handed = 0; /* events handed over since the last yield */
    for (;;) {
        grpc_event ev = cq_thread_next(rt, &handed);
        if (ev.type == GRPC_QUEUE_SHUTDOWN)
            break;
        if (ev.type != GRPC_OP_COMPLETE)
            continue;
        uv_mutex_lock(&rt->lock);
        int rc = completions_push(&rt->pending, ev.tag, ev.success);
        uv_mutex_unlock(&rt->lock);
        if (rc != 0) {
            /* Losing a completion would leak a call forever; there is no sane
             * way on from here. */
            log_msg(LOG_LEVEL_ERROR, "out of memory in the completion-queue thread", NULL);
            abort();
        }
        uv_async_send(&rt->wakeup);
        handed = 1;
    }
}

/* ---- the loop side ------------------------------------------------------ */

/* Runs the next completions, a turn's worth, taking what the CQ
 * thread handed over once the last hand-over is done (see "Turns"). While
 * a hand-over is being worked off, the CQ thread's wake-ups coalesce with
 * our own, so a wake-up that ran the end of one wakes the loop once more to
 * take what came meanwhile. */
static void on_wakeup(uv_async_t *handle)
{
    rpc_runtime *rt = handle->data;
    rpc__completions *d = &rt->draining;
    int took = rt->next == d->count;

    if (took) {
        uv_mutex_lock(&rt->lock);
        rpc__completions handed = rt->pending;
        d->count = 0;
        rt->pending = *d;
        uv_mutex_unlock(&rt->lock);
        *d = handed;
        rt->next = 0;
    }
    size_t first = rt->next, end = first + RPC_COMPLETIONS_PER_TURN;
    uint64_t deadline = uv_hrtime() + RPC_TURN_BUDGET_NS;
    /* The first always runs (the thread may have lost the core since the
     * deadline was taken). Once freeing, everything at once, as before: the
     * runtime may be torn down by one of these callbacks, and the rest must
     * still run. */
    while (rt->next < d->count &&
           (rt->next == first || (rt->next < end && uv_hrtime() < deadline) || rt->freeing)) {
        rpc__completion c = d->items[rt->next++];
        c.tag->fn(c.tag, c.ok);
    }
    if ((rt->next < d->count || !took) && !uv_is_closing((uv_handle_t *)&rt->wakeup))
        uv_async_send(&rt->wakeup);
}

static void on_wakeup_closed(uv_handle_t *handle)
{
    rpc_runtime *rt = handle->data;
    free(rt->pending.items);
    free(rt->draining.items);
    uv_mutex_destroy(&rt->lock);
    free(rt);
}

int rpc_runtime_new(uv_loop_t *loop, rpc_runtime **out)
{
    rpc_runtime *rt = calloc(1, sizeof *rt);
    if (rt == NULL)
        return -ENOMEM;
    rt->loop = loop;
    int rc = uv_mutex_init(&rt->lock);
    if (rc != 0) {
        free(rt);
        return rc;
    }
    rc = uv_async_init(loop, &rt->wakeup, on_wakeup);
    if (rc != 0) {
        uv_mutex_destroy(&rt->lock);
        free(rt);
        return rc;
    }
    rt->wakeup.data = rt;
    grpc_init();
    rt->cq = grpc_completion_queue_create_for_next(NULL);
    rc = uv_thread_create(&rt->thread, cq_thread_main, rt);
    if (rc != 0) {
        grpc_completion_queue_shutdown(rt->cq);
        grpc_completion_queue_destroy(rt->cq);
        grpc_shutdown_blocking();
        /* The async handle is already on the loop: it frees `rt` in its close
         * callback, on the loop's next turn. */
        uv_close((uv_handle_t *)&rt->wakeup, on_wakeup_closed);
        return rc;
    }
    *out = rt;
    return 0;
}

uv_loop_t *rpc_runtime_loop(rpc_runtime *rt)
{
    return rt->loop;
}

grpc_completion_queue *rpc__runtime_cq(rpc_runtime *rt)
{
    return rt->cq;
}

static void runtime_teardown(rpc_runtime *rt)
{
    grpc_completion_queue_shutdown(rt->cq);
    uv_thread_join(&rt->thread);
    grpc_completion_queue_destroy(rt->cq);
    grpc_shutdown_blocking();
    uv_close((uv_handle_t *)&rt->wakeup, on_wakeup_closed);
}

void rpc__runtime_retain(rpc_runtime *rt)
{
    rt->users++;
}

void rpc__runtime_release(rpc_runtime *rt)
{
    if (--rt->users == 0 && rt->freeing)
        runtime_teardown(rt);
}

void rpc_runtime_free(rpc_runtime *rt)
{
    if (rt == NULL)
        return;
    rt->freeing = 1;
    if (rt->users == 0)
        runtime_teardown(rt);
}

/* ---- messages ----------------------------------------------------------- */

grpc_byte_buffer *rpc__pack(const ProtobufCMessage *msg)
{
    size_t len = protobuf_c_message_get_packed_size(msg);
    grpc_slice slice = grpc_slice_malloc(len);
    protobuf_c_message_pack(msg, GRPC_SLICE_START_PTR(slice));
    grpc_byte_buffer *buf = grpc_raw_byte_buffer_create(&slice, 1);
    grpc_slice_unref(slice);
    return buf;
}

grpc_byte_buffer *rpc__copy_bytes(const void *data, size_t len)
{
    grpc_slice slice = grpc_slice_from_copied_buffer(data, len);
    grpc_byte_buffer *buf = grpc_raw_byte_buffer_create(&slice, 1);

    grpc_slice_unref(slice);
    return buf;
}

/* Decoding counts its allocations and gives up past RPC_UNPACK_ALLOCS_MAX:
 * protobuf-c allocates per value, so a small message of many empty repeated
 * sub-messages would otherwise cost millions of allocations (4 MiB of them,
 * about 100 MB) before any limit of ours could see it. */
typedef struct unpack_budget {
    size_t allocs;
    int exceeded;
} unpack_budget;

static void *budget_alloc(void *data, size_t size)
{
    unpack_budget *b = data;
    if (++b->allocs > RPC_UNPACK_ALLOCS_MAX) {
        b->exceeded = 1;
        return NULL;
    }
    return malloc(size);
}

static void budget_free(void *data, void *p)
{
    (void)data;
    free(p);
}

ProtobufCMessage *rpc__unpack(const ProtobufCMessageDescriptor *desc, grpc_byte_buffer *buf,
                              int *too_many)
{
    unpack_budget budget = {0};
    ProtobufCAllocator alloc = {
        .alloc = budget_alloc, .free = budget_free, .allocator_data = &budget};
    grpc_byte_buffer_reader reader;
    if (too_many)
        *too_many = 0;
    if (!grpc_byte_buffer_reader_init(&reader, buf))
        return NULL;
    grpc_slice slice = grpc_byte_buffer_reader_readall(&reader);
    grpc_byte_buffer_reader_destroy(&reader);
    /* Freed later with the default allocator: the same malloc and free. */
    ProtobufCMessage *msg = protobuf_c_message_unpack(desc, &alloc, GRPC_SLICE_LENGTH(slice),
                                                      GRPC_SLICE_START_PTR(slice));
    grpc_slice_unref(slice);
    if (msg == NULL && too_many)
        *too_many = budget.exceeded;
    return msg;
}

gpr_timespec rpc__deadline_in(int64_t ms)
{
    if (ms <= 0)
        return gpr_inf_future(GPR_CLOCK_MONOTONIC);
    return gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(ms, GPR_TIMESPAN));
}

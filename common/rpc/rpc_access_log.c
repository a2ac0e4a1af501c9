/* rpc_access_log.c: the access log, one line per finished call, written
 * in batches.
 *
 * A write(2) per call cost a busy service 12-17% of its throughput, more
 * with stderr on a pipe as under a container runtime (bench/RESULTS.md, "The
 * access log"). So the server opens log.c's batch on the loop thread: call
 * lines collect in a buffer that is written when it is full
 * (RPC_ACCESS_LOG_BYTES) or, at the latest, RPC_ACCESS_LOG_FLUSH_MS after
 * its first line, by a one-shot timer armed when the buffer stops being
 * empty. Every call is still logged with its method, code and duration
 * (failures with their message, server-side failures at warn); only when
 * it reaches stderr changes, by at most the flush interval. Other lines of
 * the loop thread flush the batch first, so the order of lines holds.
 *
 * The timer is a handle on the loop: freeing closes it, and the memory goes
 * in the close callback, after which the runtime is released.
 */
#include <errno.h>
#include <stdlib.h>

#include "log.h"
#include "rpc_server_internal.h"

#define RPC_ACCESS_LOG_BYTES (64 * 1024)
#define RPC_ACCESS_LOG_FLUSH_MS 100

struct rpc__access_log {
    uv_timer_t timer;
    rpc_runtime *rt;
    int batching; /* log_batch_begin() succeeded: log_batch_end() owed */
};

int rpc__access_log_new(rpc_runtime *rt, rpc__access_log **out)
{
    rpc__access_log *al = calloc(1, sizeof *al);

    if (al == NULL)
        return -ENOMEM;
    al->rt = rt;
    /* -EBUSY (another thread's batch) or -ENOMEM: lines are then written
     * one at a time, as before. */
    al->batching = log_batch_begin(RPC_ACCESS_LOG_BYTES) == 0;
    uv_timer_init(rpc_runtime_loop(rt), &al->timer);
    al->timer.data = al;
    rpc__runtime_retain(rt);
    *out = al;
    return 0;
}

static void on_flush_timer(uv_timer_t *timer)
{
    (void)timer;
    log_batch_flush();
}

void rpc__access_log_call(rpc__access_log *al, const char *method, rpc_code code, double ms,
                          const char *message)
{
    log_call(method, (int)code, rpc_code_name(code), ms, message);
    if (al && al->batching && !uv_is_active((uv_handle_t *)&al->timer) && log_batch_pending() > 0)
        uv_timer_start(&al->timer, on_flush_timer, RPC_ACCESS_LOG_FLUSH_MS, 0);
}

static void on_timer_closed(uv_handle_t *handle)
{
    rpc__access_log *al = handle->data;

    rpc__runtime_release(al->rt);
    free(al);
}

void rpc__access_log_free(rpc__access_log *al)
{
    if (al == NULL)
        return;
    if (al->batching)
        log_batch_end();
    uv_close((uv_handle_t *)&al->timer, on_timer_closed);
}

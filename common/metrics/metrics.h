/* metrics.h: what a service counts, and its Prometheus text.
 *
 * A registry holds a few metric families, each registered once at start:
 *
 *   - sampled families, a counter or a gauge with no labels whose value a
 *     callback reads at scrape time (cache_get_stats, outbox_relay_pending, ...),
 *     so the modules that own the numbers need not know about metrics;
 *   - one RPC family: compact_rpc_calls_total{method,code}, the histogram
 *     compact_rpc_call_duration_seconds{method} and, sampled,
 *     compact_rpc_calls_in_flight.
 *
 * The hot path. metrics_rpc_observe runs once per finished call. It only
 * finds the method's row (a scan of the registered paths, a few dozen at
 * most) and adds to counters allocated at registration: no allocation, no
 * lock. Label sets are fixed and tiny: the methods registered up front
 * (anything else, e.g. a client's made-up path, counts as method="other"),
 * times the 17 gRPC codes; the histogram has METRICS_BUCKETS fixed bounds.
 *
 * Threads. Everything runs on the service's loop thread; nothing is
 * guarded.
 *
 * Rendering follows the text exposition format 0.0.4: each family has its
 * # HELP and # TYPE lines, in registration order. A (method, code) counter
 * appears once it is non-zero, and a method's histogram once it has an
 * observation, so an idle service scrapes small. Numbers print as integers
 * when whole, else with %.17g so that a scrape loses nothing.
 *
 * Ownership. The registry copies every name, help text and path it is given.
 * metrics_free frees the registry and every family in it.
 */
#ifndef COMPACT_METRICS_H
#define COMPACT_METRICS_H

#include <stddef.h>
#include <stdint.h>

/* Upper bounds (seconds) of the latency buckets, then +Inf. */
#define METRICS_BUCKETS 12
#define METRICS_BUCKET_BOUNDS                                                                      \
    {                                                                                              \
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0                  \
    }
#define METRICS_CODES 17 /* gRPC status codes 0..16 */

typedef struct metrics metrics;
typedef struct metrics_rpc metrics_rpc;

typedef enum metrics_type {
    METRICS_COUNTER,
    METRICS_GAUGE,
} metrics_type;

/* Reads a value at scrape time, on the loop thread. Called once per render. */
typedef double (*metrics_sample_fn)(void *arg);

/* Creates an empty registry. Returns 0 and sets *out, or -ENOMEM. */
int metrics_new(metrics **out);

/* Frees the registry and its families. NULL is a no-op. */
void metrics_free(metrics *m);

/* Registers a family of one unlabelled series whose value `fn(arg)` gives at
 * each render. `name` must be a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*);
 * a counter's should end in _total. Returns 0, -EINVAL for a bad or taken
 * name, or -ENOMEM (the registry is then unchanged). */
int metrics_add_sampled(metrics *m, metrics_type type, const char *name, const char *help,
                        metrics_sample_fn fn, void *arg);

/* One sampled family, for a module's table of them. */
typedef struct metrics_sampled {
    metrics_type type;
    const char *name, *help;
    metrics_sample_fn fn;
} metrics_sampled;

/* metrics_add_sampled for each of the `n` families of `table`, every one
 * sampled with `arg`; returns the first error. A NULL `m` (metrics off)
 * registers nothing and returns 0. */
int metrics_add_sampled_table(metrics *m, const metrics_sampled *table, size_t n, void *arg);

/* Registers the RPC families with room for `capacity` methods (plus the
 * "other" row). `in_flight(arg)` is sampled for compact_rpc_calls_in_flight
 * and may be NULL (no such series). At most one per registry. Returns 0 and
 * sets *out (owned by the registry), -EEXIST, or -ENOMEM. */
int metrics_add_rpc(metrics *m, size_t capacity, metrics_sample_fn in_flight, void *arg,
                    metrics_rpc **out);

/* Adds a method path ("/pkg.Service/Method") as a label value; the label is
 * the path without its leading '/'. Only before the first observation.
 * Returns 0, -ENOSPC when the capacity is used up, or -ENOMEM. Adding a path
 * twice is a no-op. */
int metrics_rpc_add_method(metrics_rpc *r, const char *path);

/* Counts one finished call of `path` that ended with gRPC `code` after
 * `seconds`. NULL `r` is a no-op (metrics off); a code outside 0..16 counts
 * as UNKNOWN (2). Never allocates. */
void metrics_rpc_observe(metrics_rpc *r, const char *path, int code, double seconds);

/* Renders every family. Returns 0 and sets *text (NUL-terminated, the caller
 * frees it with free()) and *len, or -ENOMEM. */
int metrics_render(metrics *m, char **text, size_t *len);

#endif

/* service.h: the skeleton every Compact service runs.
 *
 * A service is a table: its name, its gRPC service descriptor and method
 * table, its schema migrations, the peers it calls, and two hooks. Then
 *
 *     int main(int argc, char **argv) { return service_main(&membership_service, argc, argv); }
 *
 * and service_main does the rest, in this order: configuration (environment
 * and flags), logging, fault points, the SQLite store with migrations, the
 * Redis cache, the outbox relay, gRPC (the service, Health, reflection),
 * channels to peers, the `init` hook, then serving until SIGTERM or SIGINT.
 *
 * Shutdown: health goes NOT_SERVING at once and Watch streams end; the server
 * accepts no new calls; calls in flight have the grace period to finish, then
 * are cancelled; then the `fini` hook, peers, the relay, the cache and the
 * store are closed, the runtime is freed and the loop must end with no handle
 * left. Exit code 0.
 *
 * All hooks and handlers run on the loop thread.
 */
#ifndef COMPACT_SERVICE_H
#define COMPACT_SERVICE_H

#include "cache.h"
#include "config.h"
#include "metrics.h"
#include "outbox.h"
#include "rpc.h"
#include "rule.h"
#include "store.h"

typedef struct service service;

typedef struct service_def {
    const char *name; /* "membership" */
    const ProtobufCServiceDescriptor *descriptor;
    const rpc_method *methods; /* terminated by { .name = NULL } */
    /* Who may call what: one rule per method of `descriptor` (auth/rule.h),
     * terminated by { .method = NULL }. A service whose table misses a
     * method does not start; the runtime checks the rule before the
     * handler runs. */
    const auth_rule *rules;
    const store_migration *migrations;
    size_t migrations_count;
    const char *const *peers; /* NULL-terminated, may be NULL */
    /* The bound of the store's page cache in KiB (store_set_page_cache);
     * 0 keeps SQLite's 2 MB. */
    int page_cache_kib;
    /* After everything is open, before serving. Returns 0 or a negative errno
     * (the service then exits with 1). Whatever it returns, `stop` and `fini`
     * run at the end, so after a failure part way they must close what it
     * had opened and pass over what it had not. */
    int (*init)(service *svc);
    /* At the start of shutdown, right after health went NOT_SERVING: ends
     * the streams the service holds open (watches), so that the server need
     * not wait the grace period for them. May be NULL. */
    void (*drain)(service *svc);
    /* After the last call ended: closes what the service runs on the loop
     * (connections, servers, timers) and calls `done` once, when it is all
     * closed; peers, the relay, the cache and the store are still open until
     * then. May be NULL. */
    void (*stop)(service *svc, void (*done)(service *svc));
    /* After `stop`, before peers, relay, cache and store close. May be NULL. */
    void (*fini)(service *svc);
} service_def;

/* Runs the service; returns the process exit code. */
int service_main(const service_def *def, int argc, char **argv);

/* What a handler needs. The last argument of every handler is the service. */
const config *service_config(const service *svc);
store *service_store(const service *svc);
cache *service_cache(const service *svc); /* never NULL; may be disconnected */
uv_loop_t *service_loop(const service *svc);
rpc_channel *service_peer(const service *svc, const char *name); /* NULL if not a peer */
const char *service_name(const service *svc);

/* The metrics registry, for a service's own gauges (from its init hook on);
 * NULL when COMPACT_METRICS_LISTEN is empty. */
metrics *service_metrics(const service *svc);

/* The service's own state (an in-memory index, say), set by its init hook
 * and read by its handlers; the service frees it in its fini hook. */
void service_set_state(service *svc, void *state);
void *service_state(const service *svc);

/* Who made the call, for its change's event and audit row: the verified
 * token's subject, role and entity ("" each without authentication) and the
 * client's address, written into `peer`. The strings stay valid while the
 * call is not answered. */
void service_call_actor(const rpc_call *call, outbox_actor *out, char *peer, size_t size);

/* The verified identity of the call (auth/identity.h), or NULL (Health,
 * authentication off, a local call). Valid while the call is not answered. */
const auth_identity *service_call_identity(const rpc_call *call);

/* After a write committed: wakes the outbox relay. */
void service_events_committed(service *svc);

/* ---- in process, for tests and fuzzers -------------------------------------
 *
 * A service whose handlers a test runs itself, on local calls
 * (rpc_call_new_local in rpc.h): the configuration's defaults (no
 * environment, no flags), the store in `data_dir` (which must exist;
 * ":memory:": a private in-memory database) with the service's and the
 * outbox's migrations, the cache on Redis at `redis_addr` (NULL: an address
 * where nothing listens; the service keeps working without Redis, its
 * commands fail fast), the outbox relay and the `init` hook, all on the
 * service's own loop, which the test runs (service_loop). No gRPC server,
 * no Health, no metrics, no peers: service_peer answers NULL, so a peer
 * check fails its call. Logging is the caller's to set up (log_init). */

/* Opens it all as above. Returns 0 and sets *out, or a negative errno (what
 * was opened is closed again): -ENAMETOOLONG for an over-long directory or
 * address, or what the store, the cache or `init` returned. */
int service_open_for_test(const service_def *def, const char *data_dir, const char *redis_addr,
                          service **out);

/* Runs `fini`, closes relay, cache and store, runs the loop until its last
 * handle is closed, and frees `svc`. Every call handed to a handler must have
 * been answered, and handles of the caller's own on the loop closed (else
 * the loop runs on). Returns 0, or -EBUSY when the loop still had open
 * handles after it ended (logged). NULL is a no-op. */
int service_close_for_test(service *svc);

#endif

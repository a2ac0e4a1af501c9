/* service.c: the life of a Compact service process, start to exit.
 *
 * Start: each step needs the one before it, and a failure stops the start
 * with exit code 1 after closing what was opened (see service.h for the
 * order). Serving: the loop runs until a signal. Stop: asynchronous, each
 * step starting the next from its completion callback:
 *
 *   signal -> health NOT_SERVING, Watch streams end
 *          -> rpc_server_shutdown (grace period, then cancel)
 *   on_server_done -> fini hook, metrics endpoint closed
 *   on_metrics_closed -> registry and server freed, peers closed, relay closed
 *   on_relay_closed -> cache closed
 *   on_cache_closed -> store closed, runtime freed, our handles closed
 *
 * and the loop ends by itself when the last handle is closed.
 */
#include <errno.h>
#include <sched.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "fault.h"
#include "health.h"
#include "log.h"
#include "http_server.h"
#include "metrics.h"
#include "reflection.h"
#include "service.h"
#include "service_internal.h"
#include "store_requests.h"

#define STORE_PROBE_INTERVAL_MS 5000
#define RELAY_INTERVAL_MS 1000

struct service {
    const service_def *def;
    config cfg;
    uv_loop_t loop;
    rpc_runtime *rt;
    rpc_server *server;
    health *health;
    reflection *reflection;
    store *store;
    cache *cache;
    outbox_relay *relay;
    metrics *metrics;          /* NULL when COMPACT_METRICS_LISTEN is empty */
    metrics_rpc *metrics_rpc;  /* its RPC families */
    int test_stopped;          /* service_close_for_test: the stop hook is done */
    http_server *metrics_http; /* GET /metrics */
    double start_time;         /* seconds since the epoch */
    rpc_channel *peers[CONFIG_MAX_PEERS];
    service_auth *auth; /* tokens, the gate, the service's own token */
    void *state;        /* the service's own (service_set_state) */
    uv_signal_t sigterm, sigint;
    uv_timer_t probe_timer;
    int stopping;
    int initialized; /* the init hook ran (or was due): stop and fini are owed */
    int exit_code;
};

/* ---- accessors ---------------------------------------------------------- */

const config *service_config(const service *svc)
{
    return &svc->cfg;
}
store *service_store(const service *svc)
{
    return svc->store;
}
cache *service_cache(const service *svc)
{
    return svc->cache;
}
uv_loop_t *service_loop(const service *svc)
{
    return (uv_loop_t *)&svc->loop;
}
const char *service_name(const service *svc)
{
    return svc->def->name;
}
void service_set_state(service *svc, void *state)
{
    svc->state = state;
}
void *service_state(const service *svc)
{
    return svc->state;
}

rpc_channel *service_peer(const service *svc, const char *name)
{
    for (size_t i = 0; i < svc->cfg.peers_count; i++)
        if (strcmp(svc->cfg.peers[i].name, name) == 0)
            return svc->peers[i];
    return NULL;
}

void service_events_committed(service *svc)
{
    outbox_relay_committed(svc->relay);
}

/* ---- stopping ----------------------------------------------------------- */

static void close_handle(uv_handle_t *h)
{
    if (h->loop && !uv_is_closing(h))
        uv_close(h, NULL);
}

static void on_cache_closed(void *arg)
{
    service *svc = arg;
    svc->cache = NULL;
    store_close(svc->store);
    svc->store = NULL;
    rpc_runtime_free(svc->rt);
    svc->rt = NULL;
    close_handle((uv_handle_t *)&svc->sigterm);
    close_handle((uv_handle_t *)&svc->sigint);
    close_handle((uv_handle_t *)&svc->probe_timer);
    service__auth_close(svc->auth);
    svc->auth = NULL;
    log_msg(LOG_LEVEL_INFO, "stopped", NULL);
}

static void on_relay_closed(void *arg)
{
    service *svc = arg;
    svc->relay = NULL;
    cache_close(svc->cache, on_cache_closed, svc);
}

static void close_peers(service *svc)
{
    for (size_t i = 0; i < svc->cfg.peers_count; i++) {
        rpc_channel_close(svc->peers[i]);
        svc->peers[i] = NULL;
    }
}

/* The endpoint's gauges read the server, store and cache: they go after it. */
static void on_metrics_closed(void *arg)
{
    service *svc = arg;
    svc->metrics_http = NULL;
    metrics_free(svc->metrics);
    svc->metrics = NULL;
    rpc_server_free(svc->server);
    svc->server = NULL;
    health_free(svc->health);
    svc->health = NULL;
    reflection_free(svc->reflection);
    svc->reflection = NULL;
    close_peers(svc);
    outbox_relay_close(svc->relay, on_relay_closed, svc);
}

static void on_service_stopped(service *svc)
{
    if (svc->initialized && svc->def->fini)
        svc->def->fini(svc);
    http_server_close(svc->metrics_http, on_metrics_closed, svc);
}

static void on_server_done(void *arg)
{
    service *svc = arg;
    if (svc->initialized && svc->def->stop)
        svc->def->stop(svc, on_service_stopped);
    else
        on_service_stopped(svc);
}

static void service_stop(service *svc)
{
    if (svc->stopping)
        return;
    svc->stopping = 1;
    log_fmt(LOG_LEVEL_INFO, "stopping: %d calls in flight, grace period %d s",
            rpc_server_calls_in_flight(svc->server), svc->cfg.grace_seconds);
    health_shutdown(svc->health);
    if (svc->initialized && svc->def->drain)
        svc->def->drain(svc);
    uv_timer_stop(&svc->probe_timer);
    uv_signal_stop(&svc->sigterm);
    uv_signal_stop(&svc->sigint);
    rpc_server_shutdown(svc->server, svc->cfg.grace_seconds * 1000, on_server_done, svc);
}

static void on_signal(uv_signal_t *handle, int signum)
{
    log_msg(LOG_LEVEL_INFO, signum == SIGTERM ? "SIGTERM received" : "SIGINT received", NULL);
    service_stop(handle->data);
}

static void on_probe_timer(uv_timer_t *timer)
{
    service *svc = timer->data;
    health_set_serving(svc->health, store_check(svc->store));
}

/* ---- starting ----------------------------------------------------------- */

static int make_dirs(const char *path)
{
    char buf[CONFIG_PATH_MAX];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0750) != 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(buf, 0750) != 0 && errno != EEXIST)
        return -errno;
    return 0;
}

static int make_data_dir(const service *svc)
{
    int rc = make_dirs(svc->cfg.data_dir);
    if (rc != 0)
        log_fmt(LOG_LEVEL_ERROR, "COMPACT_DATA_DIR %s: %s", svc->cfg.data_dir, strerror(-rc));
    return rc;
}

/* cache_hold_fills: a value read while writes of the turn wait for their
 * COMMIT must not reach Redis (store.h, store_uncommitted). */
static int service_fills_held(void *arg)
{
    return store_uncommitted(arg);
}

static int open_store_and_cache(service *svc)
{
    const config *cfg = &svc->cfg;
    int rc = store_open(cfg->data_dir, svc->def->name, svc->def->migrations,
                        svc->def->migrations_count, &svc->store);
    if (rc == 0)
        rc = outbox_migrate(svc->store);
    if (rc == 0)
        rc = store_requests_migrate(svc->store);
    if (rc == 0 && svc->def->page_cache_kib > 0)
        rc = store_set_page_cache(svc->store, svc->def->page_cache_kib);
    if (rc != 0) {
        log_fmt(LOG_LEVEL_ERROR, "opening the store in %s failed: %s", cfg->data_dir,
                strerror(-rc));
        return rc;
    }
    store_use_loop(svc->store, &svc->loop);
    cache_options copts = {.addr = cfg->redis_addr,
                           .user = cfg->redis_user,
                           .password_file = cfg->redis_password_file,
                           .timeout_ms = cfg->redis_timeout_ms,
                           .ttl_seconds = cfg->cache_ttl_seconds,
                           .ttl_jitter = 0.1};
    rc = cache_new(&svc->loop, &copts, &svc->cache);
    if (rc == 0)
        cache_hold_fills(svc->cache, service_fills_held, svc->store);
    if (rc == 0)
        rc = outbox_relay_start(&svc->loop, svc->store, svc->cache, svc->def->name,
                                RELAY_INTERVAL_MS, cfg->event_retention_hours, &svc->relay);
    return rc;
}

/* A new token of the service's own, for its calls from now on. */
static void on_token_renewed(void *arg, const char *value)
{
    service *svc = arg;
    for (size_t i = 0; i < svc->cfg.peers_count; i++)
        if (svc->peers[i])
            rpc_channel_set_authorization(svc->peers[i], value);
}

static int open_server(service *svc)
{
    const config *cfg = &svc->cfg;
    rpc_tls tls = {.cert_file = cfg->tls_cert, .key_file = cfg->tls_key, .ca_file = cfg->tls_ca};
    const rpc_tls *use_tls = cfg->tls_cert[0] ? &tls : NULL;
    rpc_server_options opts = {
        .listen = cfg->listen,
        .tls = use_tls,
        .probe_listen = cfg->probe_listen,
        .max_calls = cfg->max_calls,
        .max_streams = cfg->max_streams,
        .max_streams_per_connection = cfg->max_streams_per_connection,
        .keepalive_ms = cfg->keepalive_ms,
        .max_connection_idle_ms =
            cfg->max_connection_idle_ms ? cfg->max_connection_idle_ms : RPC_NEVER,
        .max_message_bytes = cfg->max_message_bytes,
        .max_connection_age_ms = cfg->max_connection_age_ms,
        .service_name = svc->def->name,
    };
    const char *names[] = {svc->def->descriptor->name,
                           "grpc.health.v1.Health",
                           "grpc.reflection.v1alpha.ServerReflection",
                           "grpc.reflection.v1.ServerReflection",
                           "compact.audit.v1.Audit",
                           NULL};
    rpc_gate gate;
    int rc = rpc_runtime_new(&svc->loop, &svc->rt);
    if (rc == 0)
        rc = rpc_server_new(svc->rt, &opts, &svc->server);
    if (rc == 0)
        rc = rpc_server_add_service(svc->server, svc->def->descriptor, svc->def->methods, svc);
    if (rc == 0)
        rc = service__audit_register(svc->server, svc);
    if (rc == 0) {
        service__auth_gate(svc->auth, &gate);
        rpc_server_set_gate(svc->server, &gate);
        service__auth_on_renew(svc->auth, on_token_renewed, svc);
    }
    if (rc == 0)
        rc = health_new(svc->server, names, &svc->health);
    if (rc == 0)
        rc = reflection_new(svc->server, names, &svc->reflection);
    for (size_t i = 0; rc == 0 && i < cfg->peers_count; i++) {
        rc = rpc_channel_new_tls(svc->rt, cfg->peers[i].addr, use_tls, &svc->peers[i]);
        if (rc == 0)
            rc = rpc_channel_set_authorization(svc->peers[i],
                                               service__auth_peer_authorization(svc->auth));
    }
    return rc;
}

/* ---- metrics ------------------------------------------------------------ */

static double sample_in_flight(void *arg)
{
    return rpc_server_calls_in_flight(((service *)arg)->server);
}
static double sample_start_time(void *arg)
{
    return ((service *)arg)->start_time;
}
static double sample_store_healthy(void *arg)
{
    return store_healthy(((service *)arg)->store);
}
static double sample_store_flushes(void *arg)
{
    return (double)store_flushes(((service *)arg)->store);
}
static double sample_serving(void *arg)
{
    return health_serving(((service *)arg)->health);
}
static double sample_cache_connected(void *arg)
{
    return cache_connected(((service *)arg)->cache);
}
static double sample_cache_trusted(void *arg)
{
    return cache_trusted(((service *)arg)->cache);
}

static double sample_outbox_pending(void *arg)
{
    int64_t n = outbox_relay_pending(((service *)arg)->relay);
    return n < 0 ? NAN : (double)n;
}

static cache_stats cache_stats_now(void *arg)
{
    cache_stats st;
    cache_get_stats(((service *)arg)->cache, &st);
    return st;
}
static double sample_cache_hits(void *arg)
{
    return (double)cache_stats_now(arg).hits;
}
static double sample_cache_misses(void *arg)
{
    return (double)cache_stats_now(arg).misses;
}
static double sample_cache_errors(void *arg)
{
    return (double)cache_stats_now(arg).errors;
}
static double sample_cache_coalesced(void *arg)
{
    return (double)cache_stats_now(arg).coalesced;
}

static const metrics_sampled service_gauges[] = {
    {METRICS_GAUGE, "process_start_time_seconds",
     "Start time of the process since the Unix epoch, in seconds.", sample_start_time},
    {METRICS_COUNTER, "compact_cache_hits_total", "Redis cache reads that found the key.",
     sample_cache_hits},
    {METRICS_COUNTER, "compact_cache_misses_total", "Redis cache reads that did not.",
     sample_cache_misses},
    {METRICS_COUNTER, "compact_cache_errors_total",
     "Redis cache commands that failed or timed out.", sample_cache_errors},
    {METRICS_COUNTER, "compact_cache_coalesced_total",
     "Cache reads that joined a load already in flight for the same key.", sample_cache_coalesced},
    {METRICS_GAUGE, "compact_cache_connected", "1 while connected to Redis.",
     sample_cache_connected},
    {METRICS_GAUGE, "compact_cache_trusted",
     "0 while an invalidation may have been lost: reads go to the store until the outbox has "
     "published every committed event.",
     sample_cache_trusted},
    {METRICS_GAUGE, "compact_outbox_pending_events",
     "Committed events not yet published to the Redis stream.", sample_outbox_pending},
    {METRICS_GAUGE, "compact_store_healthy", "1 while the SQLite store works.",
     sample_store_healthy},
    {METRICS_COUNTER, "compact_store_flushes_total",
     "Flushes of the SQLite WAL to disk; each acknowledges every write committed before it.",
     sample_store_flushes},
    {METRICS_GAUGE, "compact_health_serving", "1 while the health service says SERVING.",
     sample_serving},
};

/* Every method the server knows, as label values; anything else is "other". */
static int register_methods(service *svc, metrics_rpc **out)
{
    static const char *const fixed[] = {
        "/grpc.health.v1.Health/Check", "/grpc.health.v1.Health/Watch",
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        "/compact.audit.v1.Audit/ListChanges"};
    const ProtobufCServiceDescriptor *d = svc->def->descriptor;
    size_t nfixed = sizeof fixed / sizeof fixed[0];
    int rc = metrics_add_rpc(svc->metrics, d->n_methods + nfixed, sample_in_flight, svc, out);
    for (size_t i = 0; rc == 0 && i < d->n_methods; i++) {
        char path[256];
        snprintf(path, sizeof path, "/%s/%s", d->name, d->methods[i].name);
        rc = metrics_rpc_add_method(*out, path);
    }
    for (size_t i = 0; rc == 0 && i < nfixed; i++)
        rc = metrics_rpc_add_method(*out, fixed[i]);
    return rc;
}

/* The registry and the endpoint, when COMPACT_METRICS_LISTEN is set. */
/* rpc_call_end_fn: every finished call, into the RPC families. */
static void observe_call(void *arg, const char *method, rpc_code code, double seconds)
{
    metrics_rpc_observe(arg, method, (int)code, seconds);
}

/* http_handler_fn of GET /metrics: the registry as Prometheus text. */
static void serve_metrics(void *arg, const http_request *req, http_response *res)
{
    service *svc = arg;
    char *text = NULL;
    size_t len = 0;

    (void)req;
    if (metrics_render(svc->metrics, &text, &len) != 0) {
        http_reply_error(res, 500, "out of memory");
        return;
    }
    http_reply(res, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
    free(text);
}

/* The registry with the runtime's families, before the init hook adds the
 * service's own. */
static int open_metrics(service *svc)
{
    if (svc->cfg.metrics_listen[0] == '\0')
        return 0;
    int rc = metrics_new(&svc->metrics);
    if (rc == 0)
        rc = register_methods(svc, &svc->metrics_rpc);
    if (rc == 0)
        rc = metrics_add_sampled_table(svc->metrics, service_gauges,
                                       sizeof service_gauges / sizeof service_gauges[0], svc);
    return rc;
}

metrics *service_metrics(const service *svc)
{
    return svc->metrics;
}

static int start_metrics(service *svc)
{
    const char *listen = svc->cfg.metrics_listen;
    int rc = 0;
    if (listen[0] == '\0')
        return 0;
    /* One request per connection: no idle keep-alive connection holds up
     * shutdown; a scrape every few seconds costs one handshake. */
    http_options hopts = {.max_conns = 8, .request_timeout_ms = 5000, .keep_alive = 0};
    if (rc == 0)
        rc = http_server_new(&svc->loop, &hopts, &svc->metrics_http);
    if (rc == 0)
        rc = http_server_route(svc->metrics_http, "/metrics", 0, serve_metrics, svc);
    if (rc != 0)
        return rc;
    int port = http_server_listen(svc->metrics_http, listen);
    if (port < 0) {
        log_fmt(LOG_LEVEL_ERROR, "cannot listen on %s (COMPACT_METRICS_LISTEN): %s", listen,
                uv_strerror(port));
        return port;
    }
    rpc_server_on_call_end(svc->server, observe_call, svc->metrics_rpc);
    char port_text[16];
    snprintf(port_text, sizeof port_text, "%d", port);
    log_msg(LOG_LEVEL_INFO, "metrics", "listen", listen, "port", port_text, "path", "/metrics",
            NULL);
    return 0;
}

/* ---- serving ------------------------------------------------------------ */

static int start_serving(service *svc)
{
    int port = rpc_server_start(svc->server);
    if (port < 0) {
        if (port == -EINVAL)
            log_fmt(LOG_LEVEL_ERROR, "cannot serve TLS: see the error above (COMPACT_TLS_*)");
        else
            log_fmt(LOG_LEVEL_ERROR,
                    "cannot listen on %s (COMPACT_LISTEN) or %s "
                    "(COMPACT_PROBE_LISTEN)",
                    svc->cfg.listen, svc->cfg.probe_listen);
        return port;
    }
    char port_text[16], probe_text[16];
    snprintf(port_text, sizeof port_text, "%d", port);
    snprintf(probe_text, sizeof probe_text, "%d", rpc_server_probe_port(svc->server));
    log_msg(LOG_LEVEL_INFO, "serving", "listen", svc->cfg.listen, "port", port_text, "tls",
            svc->cfg.tls_cert[0] ? "mutual" : "off", "probe_port", probe_text, "auth",
            svc->cfg.auth_on ? "on" : "off", "redis", svc->cfg.redis_addr, "data_dir",
            svc->cfg.data_dir, NULL);
    int rc = start_metrics(svc);
    if (rc != 0)
        return rc;
    health_set_serving(svc->health, store_check(svc->store));
    uv_timer_init(&svc->loop, &svc->probe_timer);
    svc->probe_timer.data = svc;
    uv_timer_start(&svc->probe_timer, on_probe_timer, STORE_PROBE_INTERVAL_MS,
                   STORE_PROBE_INTERVAL_MS);
    uv_signal_init(&svc->loop, &svc->sigterm);
    uv_signal_init(&svc->loop, &svc->sigint);
    svc->sigterm.data = svc->sigint.data = svc;
    uv_signal_start(&svc->sigterm, on_signal, SIGTERM);
    uv_signal_start(&svc->sigint, on_signal, SIGINT);
    return 0;
}

/* A start that failed part way: close what is open, in the stop order. */
static void abandon_start(service *svc)
{
    svc->exit_code = 1;
    if (svc->server) {
        rpc_server_shutdown(svc->server, 0, on_server_done, svc);
    } else {
        close_peers(svc);
        outbox_relay_close(svc->relay, on_relay_closed, svc);
    }
}

/* Every completion crosses from the CQ thread to the loop thread. Under the
 * default policy each hand-off wakes the loop at once and preempts the CQ
 * thread, about three context switches per call; SCHED_BATCH lets the
 * waker run on, so one wake-up carries many completions (bench/RESULTS.md:
 * on one core, 48k -> 77k Health/Check calls/s). It needs no privilege, and
 * the threads started afterwards inherit it. */
static void use_batch_scheduling(void)
{
    struct sched_param param = {.sched_priority = 0};
    if (sched_setscheduler(0, SCHED_BATCH, &param) != 0)
        log_fmt(LOG_LEVEL_DEBUG, "SCHED_BATCH not set: %s", strerror(errno));
}

/* TLS is all three files or none. */
static int service_check_tls(const config *cfg)
{
    int n = (cfg->tls_cert[0] != 0) + (cfg->tls_key[0] != 0) + (cfg->tls_ca[0] != 0);
    if (n == 0 || n == 3)
        return 0;
    log_fmt(LOG_LEVEL_ERROR, "COMPACT_TLS_CERT, COMPACT_TLS_KEY and COMPACT_TLS_CA: set all three "
                             "(mutual TLS) or none (plaintext)");
    return -EINVAL;
}

/* "host:port" of our own server as seen from this host, for --health-probe. */
static void local_target(const char *listen, char *out, size_t size)
{
    const char *colon = strrchr(listen, ':');
    snprintf(out, size, "127.0.0.1:%.8s", colon ? colon + 1 : listen);
}

int service_main(const service_def *def, int argc, char **argv)
{
    static service svc_storage;
    service *svc = &svc_storage;
    char err[512] = "";
    svc->def = def;
    int rc = config_load(&svc->cfg, def->name, def->peers, argc, argv, err, sizeof err);
    if (rc == 1)
        return 0;
    if (rc != 0) {
        fprintf(stderr, "compact-%s: %s\n", def->name, err);
        return 2;
    }
    if (svc->cfg.print_rules)
        return service__auth_print_rules(def);
    if (svc->cfg.health_probe) {
        char target[CONFIG_ADDR_MAX];
        /* With TLS, the plaintext probe port answers Health. */
        local_target(svc->cfg.probe_listen[0] ? svc->cfg.probe_listen : svc->cfg.listen, target,
                     sizeof target);
        return health_probe(target, "", 2000) == 1 ? 0 : 1;
    }
    log_init(def->name, svc->cfg.log_level);
    if (fault_init() != 0) {
        fprintf(stderr, "compact-%s: COMPACT_FAULTS: malformed list\n", def->name);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    use_batch_scheduling();
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    svc->start_time = (double)now.tv_sec + (double)now.tv_nsec / 1e9;
    uv_loop_init(&svc->loop);
    rc = service_check_tls(&svc->cfg);
    if (rc == 0)
        rc = service__auth_open(def, &svc->cfg, &svc->loop, svc, &svc->auth);
    if (rc == 0)
        rc = make_data_dir(svc);
    if (rc == 0)
        rc = open_store_and_cache(svc);
    if (rc == 0)
        rc = open_server(svc);
    if (rc == 0)
        rc = open_metrics(svc);
    /* From the moment init runs, stop and fini are owed, also when init
     * fails part way: they close whatever it had opened (service.h). */
    svc->initialized = rc == 0;
    if (rc == 0 && def->init)
        rc = def->init(svc);
    if (rc == 0)
        rc = start_serving(svc);
    if (rc != 0)
        abandon_start(svc);
    uv_run(&svc->loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&svc->loop) != 0) {
        log_msg(LOG_LEVEL_ERROR, "the loop still had open handles at exit", NULL);
        return 1;
    }
    return svc->exit_code;
}

/* ---- in process, for tests ------------------------------------------------ */

/* Where no Redis listens: port 1 (tcpmux) of the loopback refuses at once. */
#define SERVICE_TEST_NO_REDIS "127.0.0.1:1"

int service_open_for_test(const service_def *def, const char *data_dir, const char *redis_addr,
                          service **out)
{
    service *svc = calloc(1, sizeof *svc);
    int rc = 0;

    if (svc == NULL)
        return -ENOMEM;
    svc->def = def;
    config_defaults(&svc->cfg, def->name);
    if (!redis_addr)
        redis_addr = SERVICE_TEST_NO_REDIS;
    if (snprintf(svc->cfg.data_dir, sizeof svc->cfg.data_dir, "%s", data_dir) >=
            (int)sizeof svc->cfg.data_dir ||
        snprintf(svc->cfg.redis_addr, sizeof svc->cfg.redis_addr, "%s", redis_addr) >=
            (int)sizeof svc->cfg.redis_addr) {
        free(svc);
        return -ENAMETOOLONG;
    }
    svc->cfg.http_listen[0] = '\0'; /* no servers in process */
    uv_loop_init(&svc->loop);
    rc = open_store_and_cache(svc);
    svc->initialized = rc == 0;
    if (rc == 0 && def->init)
        rc = def->init(svc);
    if (rc != 0) {
        service_close_for_test(svc);
        return rc;
    }
    *out = svc;
    return 0;
}

static void on_test_service_stopped(service *svc)
{
    svc->test_stopped = 1;
}

int service_close_for_test(service *svc)
{
    int rc;

    if (svc == NULL)
        return 0;
    if (svc->initialized && svc->def->drain)
        svc->def->drain(svc);
    if (svc->initialized && svc->def->stop) {
        svc->def->stop(svc, on_test_service_stopped);
        while (!svc->test_stopped && uv_run(&svc->loop, UV_RUN_ONCE))
            ;
    }
    if (svc->initialized && svc->def->fini)
        svc->def->fini(svc);
    /* The stop path from the relay on: relay, cache, store, our handles. */
    outbox_relay_close(svc->relay, on_relay_closed, svc);
    uv_run(&svc->loop, UV_RUN_DEFAULT);
    rc = uv_loop_close(&svc->loop) == 0 ? 0 : -EBUSY;
    if (rc != 0)
        log_msg(LOG_LEVEL_ERROR, "the test service's loop still had open handles", NULL);
    free(svc);
    return rc;
}

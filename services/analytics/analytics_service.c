/* analytics_service.c: compact-analytics, what the Coordination Committee
 * reads about the Compact, as a table.
 *
 * Its methods, its schema, its peers (the three services whose events it
 * reads and whose List calls rebuild it), and its hooks:
 *
 *   init   the model from the store's snapshots and rates, then the change
 *          feed, the alerts, the consumer of the event streams and the
 *          dashboard's HTTP server
 *   drain  ends WatchOverview and the web's event streams
 *   stop   closes the dashboard, the consumer and the alerts (each waits for
 *          what it has in flight), then the feed
 *   fini   frees the model
 */
#include "analytics_service.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors.h"
#include "alerts.h"
#include "analytics.h"
#include "arena.h"
#include "analytics_store.h"
#include "answers.h"
#include "consumer.h"
#include "feed.h"
#include "handlers.h"
#include "log.h"
#include "web.h"

typedef Compact__Membership__V1__Entity Entity;
typedef Compact__Workgroups__V1__WorkingGroup WorkingGroup;
typedef Compact__Projects__V1__Project Project;

static const rpc_method analytics_methods[] = {
    {.name = "GetOverview", .handler = handle_get_overview},
    {.name = "GetFundingBreakdown", .handler = handle_get_funding_breakdown},
    {.name = "GetParticipation", .handler = handle_get_participation},
    {.name = "GetCoverage", .handler = handle_get_coverage},
    {.name = "ListDuplicationAlerts", .handler = handle_list_duplication_alerts},
    {.name = "GetMonitoring", .handler = handle_get_monitoring},
    {.name = "GetActivity", .handler = handle_get_activity},
    {.name = "WatchOverview", .handler = handle_watch_overview, .flags = RPC_SERVER_STREAMING},
    {.name = "Rebuild", .handler = handle_rebuild},
    {.name = "PutExchangeRate", .handler = handle_put_exchange_rate},
    {.name = "ListExchangeRates", .handler = handle_list_exchange_rates},
    {.name = "ListChangesByActor", .handler = handle_list_changes_by_actor},
    {.name = NULL},
};

/* The services whose events analytics reads, and whom it asks. */
static const char *const analytics_peers[] = {"membership", "workgroups", "projects", NULL};

static analytics the_analytics;

analytics *analytics_of(const service *svc)
{
    return service_state(svc);
}

void analytics_changed(analytics *a)
{
    if (a->feed)
        feed_changed(a->feed);
}

/* ---- the model from the store ------------------------------------------------------ */

static int load_project(model *m, const char *id, uint64_t seq, const void *state, size_t len)
{
    arena mem;
    project_read r;
    int rc;

    arena_init(&mem, ARENA_BATCH_BLOCK);
    rc = project_read_of(state, len, arena_allocator(&mem), &r);
    if (rc == 0)
        rc = model_put_project_read(m, &r, seq);
    arena_clear(&mem);
    if (rc == -EINVAL) { /* only this program writes them: a rebuild puts it right */
        log_fmt(LOG_LEVEL_ERROR, "snapshot of project %s does not decode: rebuilding", id);
        the_analytics.rebuild_on_start = 1;
        return 0;
    }
    return rc < 0 ? rc : 0;
}

static int load_snapshot(void *arg, const char *type, const char *id, uint64_t seq,
                         const void *state, size_t len)
{
    model *m = arg;
    const ProtobufCMessageDescriptor *d =
        strcmp(type, "entity") == 0          ? &compact__membership__v1__entity__descriptor
        : strcmp(type, "working_group") == 0 ? &compact__workgroups__v1__working_group__descriptor
                                             : &compact__projects__v1__project__descriptor;
    ProtobufCMessage *msg;
    int rc;

    if (d == &compact__projects__v1__project__descriptor) /* with its transactions' hashes */
        return load_project(m, id, seq, state, len);
    msg = protobuf_c_message_unpack(d, NULL, len, state);

    if (msg == NULL) { /* only this program writes them: a rebuild puts it right */
        log_fmt(LOG_LEVEL_ERROR, "snapshot of %s %s does not decode: rebuilding", type, id);
        the_analytics.rebuild_on_start = 1;
        return 0;
    }
    if (d == &compact__membership__v1__entity__descriptor)
        rc = model_put_entity(m, (const Entity *)msg, seq);
    else if (d == &compact__workgroups__v1__working_group__descriptor)
        rc = model_put_group(m, (const WorkingGroup *)msg, seq);
    else
        rc = model_put_project(m, (const Project *)msg, seq);
    protobuf_c_message_free_unpacked(msg, NULL);
    return rc < 0 ? rc : 0;
}

/* Rates first: the projects' equivalents are computed with them. */
static int load_model(analytics *a)
{
    store *st = service_store(a->svc);
    Compact__Analytics__V1__ExchangeRate **stored;
    size_t n = 0, count;
    int rc = analytics_store_rates(st, &stored, &n);

    if (rc != 0)
        return rc;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = model_put_rate(a->model, stored[i]->currency, stored[i]->valid_from,
                            stored[i]->usd_micros);
    for (size_t i = 0; i < n; i++)
        protobuf_c_message_free_unpacked(&stored[i]->base, NULL);
    free(stored);
    rc = rc ? rc : analytics_store_each_snapshot(st, load_snapshot, a->model);
    if (rc == 0) {
        model_projects(a->model, &count);
        log_fmt(LOG_LEVEL_INFO, "figures loaded: %zu projects, %zu rates", count, n);
    }
    return rc;
}

/* ---- metrics ------------------------------------------------------------------------------ */

static consumer_stats stats_now(void *arg)
{
    consumer_stats s = {0};
    analytics *a = arg;

    if (a->consumer)
        consumer_get_stats(a->consumer, &s);
    return s;
}
static double sample_events(void *arg)
{
    return (double)((analytics *)arg)->fresh.events_applied;
}
static double sample_lag(void *arg)
{
    return (double)((analytics *)arg)->fresh.lag_ms / 1000.0;
}
static double sample_duplicates(void *arg)
{
    return (double)stats_now(arg).duplicates;
}
static double sample_gaps(void *arg)
{
    return (double)stats_now(arg).gaps;
}
static double sample_rebuilds(void *arg)
{
    return (double)stats_now(arg).rebuilds;
}
static double sample_failures(void *arg)
{
    return (double)stats_now(arg).failures;
}
static double sample_watchers(void *arg)
{
    int watches = 0, streams = 0;

    if (((analytics *)arg)->feed)
        feed_counts(((analytics *)arg)->feed, &watches, &streams);
    return watches + streams;
}
static double sample_alerts_waiting(void *arg)
{
    alerts_stats s = {0};

    if (((analytics *)arg)->alerts)
        alerts_get_stats(((analytics *)arg)->alerts, &s);
    return (double)s.waiting;
}

static int add_metrics(analytics *a)
{
    static const metrics_sampled gauges[] = {
        {METRICS_COUNTER, "compact_analytics_events_applied_total",
         "Events applied to the figures since the store was made.", sample_events},
        {METRICS_GAUGE, "compact_analytics_event_lag_seconds",
         "From the commit of the last event applied to its being applied.", sample_lag},
        {METRICS_COUNTER, "compact_analytics_duplicate_events_total",
         "Events read again and ignored (already applied).", sample_duplicates},
        {METRICS_COUNTER, "compact_analytics_sequence_gaps_total",
         "Events whose aggregate sequence skipped: the aggregate was read again.", sample_gaps},
        {METRICS_COUNTER, "compact_analytics_rebuilds_total",
         "Rebuilds of every figure from the sources' List calls.", sample_rebuilds},
        {METRICS_COUNTER, "compact_analytics_consumer_failures_total",
         "Reads or batches of the event streams that failed and were retried.", sample_failures},
        {METRICS_GAUGE, "compact_analytics_watchers",
         "WatchOverview calls and dashboard event streams open.", sample_watchers},
        {METRICS_GAUGE, "compact_analytics_alerts_waiting",
         "Changed projects waiting to be asked about overlaps.", sample_alerts_waiting},
    };
    return metrics_add_sampled_table(service_metrics(a->svc), gauges,
                                     sizeof gauges / sizeof gauges[0], a);
}

/* ---- hooks -------------------------------------------------------------------------------- */

/* Every batch of events rewrites the snapshots of its aggregates (a whole
 * project each: tens of MB for 10,000 projects). With SQLite's default page
 * cache of 2 MB each write read its B-tree pages from the file again:
 * pread was a sixth of the time analytics took to catch up on a backlog
 * (bench/RESULTS.md, "Analytics (issue 11)"). A bound, not a reservation:
 * the cache holds only the pages used. */
#define ANALYTICS_PAGE_CACHE_KIB 131072

static int analytics_init(service *svc)
{
    analytics *a = &the_analytics;
    const char *listen = service_config(svc)->http_listen;
    int rc;

    memset(a, 0, sizeof *a);
    a->svc = svc;
    a->fresh.lag_ms = -1;
    service_set_state(svc, a);
    /* The figures follow store_commit's return (the consumer's batches,
     * rates): each write commits alone, so a failed COMMIT is seen there. */
    store_set_batching(service_store(svc), 0);
    rc = model_new(&a->model);
    rc = rc ? rc : load_model(a);
    rc = rc ? rc : answers_new(a, &a->answers);
    rc = rc ? rc : feed_new(a, &a->feed);
    rc = rc ? rc : alerts_new(a, &a->alerts);
    rc = rc ? rc : add_metrics(a);
    rc = rc ? rc : consumer_start(a, analytics_peers, &a->consumer);
    if (rc == 0 && listen[0])
        rc = web_start(a, listen, &a->web);
    if (rc != 0)
        log_fmt(LOG_LEVEL_ERROR, "analytics could not start: %s", strerror(-rc));
    return rc;
}

static void analytics_drain(service *svc)
{
    analytics *a = analytics_of(svc);

    if (a)
        a->stopping = 1;
    if (a && a->feed)
        feed_drain(a->feed);
}

/* Stopping, one piece after the other: web, consumer, alerts, feed. */

static void on_feed_freed(void *arg)
{
    analytics *a = arg;

    a->feed = NULL;
    a->stop_done(a->svc);
}

static void on_alerts_stopped(void *arg)
{
    analytics *a = arg;

    a->alerts = NULL;
    feed_free(a->feed, on_feed_freed, a);
}

static void on_consumer_stopped(void *arg)
{
    analytics *a = arg;

    a->consumer = NULL;
    alerts_stop(a->alerts, on_alerts_stopped, a);
}

static void on_web_stopped(void *arg)
{
    analytics *a = arg;

    a->web = NULL;
    consumer_stop(a->consumer, on_consumer_stopped, a);
}

/* Also after an init that failed part way: what it did not make is NULL. */
static void analytics_stop(service *svc, void (*done)(service *svc))
{
    analytics *a = &the_analytics;

    a->svc = svc;
    a->stop_done = done;
    a->stopping = 1;
    if (a->feed) /* a start that failed was never drained */
        feed_drain(a->feed);
    web_stop(a->web, on_web_stopped, a);
}

static void analytics_fini(service *svc)
{
    analytics *a = &the_analytics;

    answers_free(a->answers);
    model_free(a->model);
    arena_drop_spares();
    memset(a, 0, sizeof *a);
    service_set_state(svc, NULL);
}

const service_def *analytics_service_def(void)
{
    /* Filled on first use: the migrations' count is a variable of
     * analytics_store.c, not a constant expression. Loop thread only. */
    static service_def def;

    if (def.name == NULL)
        def = (service_def){
            .name = "analytics",
            .descriptor = &compact__analytics__v1__analytics__descriptor,
            .methods = analytics_methods,
            .rules = analytics_rules,
            .migrations = analytics_store_migrations,
            .migrations_count = analytics_store_migrations_count,
            .peers = analytics_peers,
            .page_cache_kib = ANALYTICS_PAGE_CACHE_KIB,
            .init = analytics_init,
            .drain = analytics_drain,
            .stop = analytics_stop,
            .fini = analytics_fini,
        };
    return &def;
}

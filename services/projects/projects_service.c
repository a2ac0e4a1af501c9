/* projects_service.c: compact-projects, the joint projects of the Compact's
 * Working Groups, as a table.
 *
 * Its methods, its schema, its peers (membership for entity ids, workgroups
 * for working group ids), and two hooks: `init` builds the in-memory overlap
 * index from SQLite before the first call is served, `fini` frees it.
 * service_main() (main.c) does configuration, the store, the cache, the
 * outbox relay, gRPC, health and shutdown; handlers*.c do the domain. The
 * table lives here, in the service's library rather than in main.c, so that
 * tests and fuzzers reach it without main().
 */
#include "projects_service.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "log.h"
#include "metrics.h"
#include "overlap.h"
#include "project_store.h"
#include "project.h"

static const rpc_method projects_methods[] = {
    {.name = "CreateProject", .handler = handle_create_project},
    {.name = "GetProject", .handler = handle_get_project},
    {.name = "ListProjects", .handler = handle_list_projects},
    {.name = "UpdateProject", .handler = handle_update_project},
    {.name = "RecordTransaction", .handler = handle_record_transaction},
    {.name = "AddResult", .handler = handle_add_result},
    {.name = "AddIndicator", .handler = handle_add_indicator},
    {.name = "ReportIndicatorValue", .handler = handle_report_indicator_value},
    {.name = "FindOverlaps", .handler = handle_find_overlaps},
    {.name = NULL},
};

static const char *const projects_peers[] = {"membership", "workgroups", NULL};

static projects_state projects_state_storage;

/* ListProjects keeps the projects it packed, by version: a page of the
 * same projects again costs reading their rows and a copy, not 2,000
 * transactions read, built and packed (about 5 ms, half of the service's
 * core under the mixed workload: bench/RESULTS.md, "ListProjects from kept
 * projects"). Direct-mapped (msgcache.h): 16,384 slots, 32 MiB at most
 * (about 2,500 projects of 100 transactions). */
#define PROJECTS_LIST_CACHE_SLOTS 16384
#define PROJECTS_LIST_CACHE_BYTES (32u << 20)

static int index_one(void *arg, const Project *p)
{
    return overlap_index_put(arg, p);
}

static double sample_list_hits(void *arg)
{
    return (double)msgcache_get_stats(((projects_state *)arg)->listed).hits;
}

static double sample_list_misses(void *arg)
{
    return (double)msgcache_get_stats(((projects_state *)arg)->listed).misses;
}

static double sample_list_bytes(void *arg)
{
    return (double)msgcache_get_stats(((projects_state *)arg)->listed).bytes;
}

static int add_metrics(service *svc, projects_state *state)
{
    static const metrics_sampled samples[] = {
        {METRICS_COUNTER, "compact_projects_list_cache_hits_total",
         "Projects ListProjects answered from the packed projects it kept.", sample_list_hits},
        {METRICS_COUNTER, "compact_projects_list_cache_misses_total",
         "Projects ListProjects built from the store (not kept, or changed since).",
         sample_list_misses},
        {METRICS_GAUGE, "compact_projects_list_cache_bytes",
         "Bytes of packed projects kept for ListProjects.", sample_list_bytes},
    };
    return metrics_add_sampled_table(service_metrics(svc), samples,
                                     sizeof samples / sizeof samples[0], state);
}

static int projects_init(service *svc)
{
    projects_state *state = &projects_state_storage;
    char count[24];
    int rc = overlap_index_new(&state->index);

    if (rc == 0)
        rc = project_store_each(service_store(svc), index_one, state->index);
    if (rc != 0) {
        log_fmt(LOG_LEVEL_ERROR, "building the overlap index failed: %s", strerror(-rc));
        overlap_index_free(state->index);
        state->index = NULL;
        return rc;
    }
    rc = msgcache_new(PROJECTS_LIST_CACHE_SLOTS, PROJECTS_LIST_CACHE_BYTES, &state->listed);
    if (rc == 0)
        rc = add_metrics(svc, state);
    if (rc != 0) {
        msgcache_free(state->listed);
        state->listed = NULL;
        overlap_index_free(state->index);
        state->index = NULL;
        return rc;
    }
    snprintf(count, sizeof count, "%zu", overlap_index_size(state->index));
    log_msg(LOG_LEVEL_INFO, "overlap index built", "projects", count, NULL);
    service_set_state(svc, state);
    return 0;
}

static void projects_fini(service *svc)
{
    projects_state *state = service_state(svc);

    if (state == NULL)
        return;
    overlap_index_free(state->index);
    state->index = NULL;
    msgcache_free(state->listed);
    state->listed = NULL;
    service_set_state(svc, NULL);
}

const service_def *projects_service_def(void)
{
    /* Filled on first use rather than as a static initializer: the
     * migrations' count is a variable of project_store.c, not a constant
     * expression. Everything runs on the one loop thread. */
    static service_def def;

    if (def.name == NULL)
        def = (service_def){
            .name = "projects",
            .descriptor = &compact__projects__v1__projects__descriptor,
            .methods = projects_methods,
            .rules = projects_rules,
            .migrations = project_store_migrations,
            .migrations_count = project_store_migrations_count,
            .peers = projects_peers,
            .init = projects_init,
            .fini = projects_fini,
        };
    return &def;
}

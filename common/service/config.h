/* config.h: one configuration scheme for every Compact program.
 *
 * Each setting has an environment variable and a matching flag; a flag wins
 * over the environment, the environment over the default:
 *
 *   COMPACT_LISTEN              --listen             host:port to serve on
 *   COMPACT_METRICS_LISTEN      --metrics-listen     host:port of GET /metrics; empty: off
 *   COMPACT_HTTP_LISTEN         --http-listen        host:port of the web pages, if any; empty: off
 *   COMPACT_REDIS_ADDR          --redis-addr         host:port of Redis
 *   COMPACT_DATA_DIR            --data-dir           where the SQLite store lives
 *   COMPACT_LOG_LEVEL           --log-level          debug, info, warn, error
 *   COMPACT_GRACE_SECONDS       --grace-seconds      shutdown grace period *   COMPACT_MAX_CALLS           --max-calls          unary calls in flight before RESOURCE_EXHAUSTED
 *   COMPACT_MAX_STREAMS         --max-streams        streams in flight before RESOURCE_EXHAUSTED
 *   COMPACT_MAX_STREAMS_PER_CONNECTION               HTTP/2 streams of one connection
 *   COMPACT_KEEPALIVE_MS        --keepalive-ms       ping idle connections this often
 *   COMPACT_MAX_CONNECTION_IDLE_MS                   close connections idle this long
 *   COMPACT_MAX_MESSAGE_BYTES   --max-message-bytes  largest message either way
 *   COMPACT_MAX_CONNECTION_AGE_MS --max-connection-age-ms  0: unlimited
 *   COMPACT_EVENT_RETENTION_HOURS --event-retention-hours  events kept in the stream (72)
 *   COMPACT_CACHE_TTL_SECONDS   --cache-ttl-seconds  TTL of cached reads
 *   COMPACT_REDIS_TIMEOUT_MS    --redis-timeout-ms   per Redis command
 *   COMPACT_PEER_TIMEOUT_MS     --peer-timeout-ms    deadline of calls to peers
 *   COMPACT_<PEER>_ADDR         --<peer>-addr        a peer service, e.g. COMPACT_MEMBERSHIP_ADDR
 *
 * plus --health-probe (check the local server's health and exit 0 if it is
 * SERVING, 1 otherwise: the container health check) and --help.
 * A bad value is refused at start with a message naming the variable or flag.
 */
#ifndef COMPACT_CONFIG_H
#define COMPACT_CONFIG_H

#include <stddef.h>

#include "log.h"

#define CONFIG_MAX_PEERS 4
#define CONFIG_ADDR_MAX 256
#define CONFIG_PATH_MAX 1024

typedef struct config_peer {
    const char *name; /* "membership" */
    char addr[CONFIG_ADDR_MAX];
} config_peer;

typedef struct config {
    const char *service; /* "membership" */
    char listen[CONFIG_ADDR_MAX];
    char metrics_listen[CONFIG_ADDR_MAX]; /* "" (the default): no metrics endpoint */
    char http_listen[CONFIG_ADDR_MAX];    /* web pages (analytics' dashboard); "": none */
    char redis_addr[CONFIG_ADDR_MAX];
    char data_dir[CONFIG_PATH_MAX];
    log_level log_level;
    int grace_seconds;
    int max_calls;
    int max_streams;
    int max_streams_per_connection;
    int keepalive_ms;
    int max_connection_idle_ms;
    int max_message_bytes;
    int max_connection_age_ms;
    int cache_ttl_seconds;
    int event_retention_hours;
    int redis_timeout_ms;
    int peer_timeout_ms;
    config_peer peers[CONFIG_MAX_PEERS];
    size_t peers_count;
    int health_probe; /* --health-probe given */
} config;

/* Default port of each service (catalog.h), so that a suite on one host
 * needs no flags; 50050 for a name the catalog does not know. */
int config_default_port(const char *service);

/* Fills `cfg` with the defaults alone (no environment, no flags, no peers)
 * for `service`, which must stay valid as long as `cfg`: what a service run
 * in process by a test starts from (service_open_for_test). */
void config_defaults(config *cfg, const char *service);

/* Fills `cfg` from defaults, the environment and argv, for `service` with the
 * peers named in the NULL-terminated `peers` (may be NULL). Returns 0; 1 when
 * --help was printed (exit 0); or -EINVAL with a message in err naming the
 * variable or flag and the problem. */
int config_load(config *cfg, const char *service, const char *const *peers, int argc, char **argv,
                char *err, size_t errlen);

/* The address of peer `name`, or NULL if it is not configured. */
const char *config_peer_addr(const config *cfg, const char *name);

/* Writes the --help text to stdout. */
void config_print_help(const char *service, const char *const *peers);

#endif

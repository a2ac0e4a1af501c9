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
 * and security (docs/DEPLOY.md, "Security"):
 *
 *   COMPACT_AUTH                --auth               on (default) or off: bearer tokens required
 *   COMPACT_AUTH_KEYS_FILE      --auth-keys-file     the public keys tokens are checked with (JWKS)
 *   COMPACT_AUTH_ISSUER         --auth-issuer        the tokens' iss ("compact")
 *   COMPACT_AUTH_AUDIENCE       --auth-audience      the tokens' aud ("compact")
 *   COMPACT_AUTH_CLOCK_SKEW_SECONDS                  exp and nbf tolerance (60)
 *   COMPACT_AUTH_SERVICE_KEY_FILE                    private key of this service's own token to peers
 *   COMPACT_AUTH_SERVICE_KID    --auth-service-kid   its key id in the keys file
 *   COMPACT_TLS_CERT, COMPACT_TLS_KEY, COMPACT_TLS_CA   TLS (mutual) for the server and to peers
 *   COMPACT_PROBE_LISTEN        --probe-listen       plaintext port serving Health only (with TLS)
 *   COMPACT_REDIS_USER          --redis-user         Redis ACL user ("" : none)
 *   COMPACT_REDIS_PASSWORD_FILE --redis-password-file  a file holding its password
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
#define CONFIG_TEXT_MAX 128

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
    int print_rules;  /* --auth-rules given: print the rule table as JSON, exit */
    /* security */
    int auth_on; /* COMPACT_AUTH: 1 on (the default), 0 off */
    char auth_keys_file[CONFIG_PATH_MAX];
    char auth_issuer[CONFIG_TEXT_MAX];
    char auth_audience[CONFIG_TEXT_MAX];
    int auth_clock_skew_seconds;
    char auth_service_key_file[CONFIG_PATH_MAX];
    char auth_service_kid[CONFIG_TEXT_MAX];
    char tls_cert[CONFIG_PATH_MAX]; /* "" (all three): plaintext */
    char tls_key[CONFIG_PATH_MAX];
    char tls_ca[CONFIG_PATH_MAX];
    char probe_listen[CONFIG_ADDR_MAX]; /* "": none */
    char redis_user[CONFIG_TEXT_MAX];   /* "": no AUTH */
    char redis_password_file[CONFIG_PATH_MAX];
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

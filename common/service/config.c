/* config.c: defaults, then COMPACT_* variables, then --flags.
 *
 * Every setting is one row of a table (variable, flag, kind, range, default,
 * meaning), and the same table drives loading, validation and --help. Flags
 * are read first into a list of raw values; then for each setting the value
 * that wins (flag, else variable, else default) is validated alone, so an
 * error names exactly the variable or flag the bad value came from, and a
 * flag can override a bad variable.
 */
#include "config.h"

#include "catalog.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONFIG_DEFAULT_PORT 50050
#define CONFIG_NAME_MAX 64

typedef enum config_kind {
    CONFIG_LISTEN,     /* host:port, port 0 allowed */
    CONFIG_OPT_LISTEN, /* like CONFIG_LISTEN, or "" for off */
    CONFIG_HOSTPORT,   /* host:port */
    CONFIG_TARGET,     /* host:port or unix:path, for peers */
    CONFIG_DIR,
    CONFIG_LEVEL,
    CONFIG_INT,
    CONFIG_FILE,   /* a file path, or "" for none */
    CONFIG_TEXT,   /* printable ASCII, at most CONFIG_TEXT_MAX - 1; may be empty */
    CONFIG_SWITCH, /* on or off */
} config_kind;

typedef struct config_setting {
    const char *env;
    const char *flag; /* without the leading "--" */
    config_kind kind;
    const char *meaning;
    const char *unit;   /* for whole numbers: "seconds", "" */
    int min, max, dflt; /* for whole numbers */
    const char *zero;   /* for whole numbers: what 0 means, allowed beside [min, max]; or NULL */
    size_t offset;      /* of the member in struct config */
} config_setting;

#define CONFIG_INT_ROW(e, f, m, u, lo, hi, d, member)                                              \
    {                                                                                              \
        .env = e, .flag = f, .kind = CONFIG_INT, .meaning = m, .unit = u, .min = lo, .max = hi,    \
        .dflt = d, .offset = offsetof(config, member)                                              \
    }

/* A whole number in [lo, hi], or 0, which means `z` ("never"). */
#define CONFIG_INT_OR_ZERO_ROW(e, f, m, u, lo, hi, z, d, member)                                   \
    {                                                                                              \
        .env = e, .flag = f, .kind = CONFIG_INT, .meaning = m, .unit = u, .min = lo, .max = hi,    \
        .zero = z, .dflt = d, .offset = offsetof(config, member)                                   \
    }

static const config_setting config_settings[] = {
    {.env = "COMPACT_LISTEN",
     .flag = "listen",
     .kind = CONFIG_LISTEN,
     .meaning = "host:port to serve on (port 0 picks a free port)",
     .offset = offsetof(config, listen)},
    {.env = "COMPACT_METRICS_LISTEN",
     .flag = "metrics-listen",
     .kind = CONFIG_OPT_LISTEN,
     .meaning = "host:port of the Prometheus endpoint GET /metrics (empty: off)",
     .offset = offsetof(config, metrics_listen)},
    {.env = "COMPACT_HTTP_LISTEN",
     .flag = "http-listen",
     .kind = CONFIG_OPT_LISTEN,
     .meaning = "host:port of the service's web pages and JSON API, if it has them (empty: off)",
     .offset = offsetof(config, http_listen)},
    {.env = "COMPACT_REDIS_ADDR",
     .flag = "redis-addr",
     .kind = CONFIG_HOSTPORT,
     .meaning = "host:port of Redis (a cache: the service runs without it)",
     .offset = offsetof(config, redis_addr)},
    {.env = "COMPACT_DATA_DIR",
     .flag = "data-dir",
     .kind = CONFIG_DIR,
     .meaning = "directory of the SQLite store <dir>/<service>.db",
     .offset = offsetof(config, data_dir)},
    {.env = "COMPACT_LOG_LEVEL",
     .flag = "log-level",
     .kind = CONFIG_LEVEL,
     .meaning = "lowest level logged: debug, info, warn, error",
     .offset = offsetof(config, log_level)},
    CONFIG_INT_ROW("COMPACT_GRACE_SECONDS", "grace-seconds",
                   "shutdown grace period for calls in flight", "seconds", 0, 3600, 10,
                   grace_seconds),
    CONFIG_INT_ROW("COMPACT_MAX_CALLS", "max-calls", "calls in flight before RESOURCE_EXHAUSTED",
                   "calls", 1, 1000000, 1000, max_calls),
    CONFIG_INT_ROW("COMPACT_MAX_STREAMS", "max-streams",
                   "streams in flight (Health.Watch, reflection) before RESOURCE_EXHAUSTED",
                   "streams", 1, 100000, 100, max_streams),
    CONFIG_INT_ROW("COMPACT_MAX_STREAMS_PER_CONNECTION", "max-streams-per-connection",
                   "HTTP/2 streams one connection may have open at once", "streams", 1, 100000, 100,
                   max_streams_per_connection),
    CONFIG_INT_ROW("COMPACT_KEEPALIVE_MS", "keepalive-ms",
                   "ping idle connections this often; dead ones are dropped", "milliseconds", 1000,
                   86400000, 60000, keepalive_ms),
    CONFIG_INT_OR_ZERO_ROW("COMPACT_MAX_CONNECTION_IDLE_MS", "max-connection-idle-ms",
                           "close connections without calls for this long (keepalive drops dead "
                           "ones either way; closing costs every call gRPC's max-age filter)",
                           "milliseconds", 1000, 604800000, "never", 300000,
                           max_connection_idle_ms),
    CONFIG_INT_ROW("COMPACT_MAX_MESSAGE_BYTES", "max-message-bytes", "largest message either way",
                   "bytes", 1024, 1 << 30, 4 << 20, max_message_bytes),
    CONFIG_INT_ROW("COMPACT_MAX_CONNECTION_AGE_MS", "max-connection-age-ms",
                   "age at which connections are closed, 0: unlimited", "milliseconds", 0,
                   604800000, 0, max_connection_age_ms),
    CONFIG_INT_ROW("COMPACT_EVENT_RETENTION_HOURS", "event-retention-hours",
                   "how long the event stream, and the outbox, keep published events", "hours", 1,
                   8760, 72, event_retention_hours),
    CONFIG_INT_ROW("COMPACT_CACHE_TTL_SECONDS", "cache-ttl-seconds",
                   "time to live of cached reads in Redis", "seconds", 1, 604800, 300,
                   cache_ttl_seconds),
    CONFIG_INT_ROW("COMPACT_REDIS_TIMEOUT_MS", "redis-timeout-ms", "timeout of each Redis command",
                   "milliseconds", 1, 60000, 200, redis_timeout_ms),
    CONFIG_INT_ROW("COMPACT_PEER_TIMEOUT_MS", "peer-timeout-ms",
                   "deadline of calls to peer services", "milliseconds", 1, 300000, 2000,
                   peer_timeout_ms),
    /* ---- security ---- */
    {.env = "COMPACT_AUTH",
     .flag = "auth",
     .kind = CONFIG_SWITCH,
     .meaning = "on: every call but Health and reflection needs a bearer token; off: none does "
                "(local runs only; logged loudly)",
     .offset = offsetof(config, auth_on)},
    {.env = "COMPACT_AUTH_KEYS_FILE",
     .flag = "auth-keys-file",
     .kind = CONFIG_FILE,
     .meaning = "the public keys tokens are checked with, a JSON Web Key Set (read again when it "
                "changes); required while COMPACT_AUTH is on",
     .offset = offsetof(config, auth_keys_file)},
    {.env = "COMPACT_AUTH_ISSUER",
     .flag = "auth-issuer",
     .kind = CONFIG_TEXT,
     .meaning = "the issuer (iss) tokens must name",
     .offset = offsetof(config, auth_issuer)},
    {.env = "COMPACT_AUTH_AUDIENCE",
     .flag = "auth-audience",
     .kind = CONFIG_TEXT,
     .meaning = "the audience (aud) tokens must name",
     .offset = offsetof(config, auth_audience)},
    CONFIG_INT_ROW("COMPACT_AUTH_CLOCK_SKEW_SECONDS", "auth-clock-skew-seconds",
                   "tolerance of the tokens' exp and nbf for clocks that differ", "seconds", 0, 600,
                   60, auth_clock_skew_seconds),
    {.env = "COMPACT_AUTH_SERVICE_KEY_FILE",
     .flag = "auth-service-key-file",
     .kind = CONFIG_FILE,
     .meaning = "the P-256 private key (PEM) this service signs its own token to its peers with",
     .offset = offsetof(config, auth_service_key_file)},
    {.env = "COMPACT_AUTH_SERVICE_KID",
     .flag = "auth-service-kid",
     .kind = CONFIG_TEXT,
     .meaning = "the key id of that key in the peers' keys file",
     .offset = offsetof(config, auth_service_kid)},
    {.env = "COMPACT_TLS_CERT",
     .flag = "tls-cert",
     .kind = CONFIG_FILE,
     .meaning = "this service's certificate chain (PEM), served and shown to peers; with "
                "COMPACT_TLS_KEY and COMPACT_TLS_CA: mutual TLS (empty: plaintext)",
     .offset = offsetof(config, tls_cert)},
    {.env = "COMPACT_TLS_KEY",
     .flag = "tls-key",
     .kind = CONFIG_FILE,
     .meaning = "the certificate's private key (PEM)",
     .offset = offsetof(config, tls_key)},
    {.env = "COMPACT_TLS_CA",
     .flag = "tls-ca",
     .kind = CONFIG_FILE,
     .meaning = "the CA (PEM) clients' and peers' certificates must chain to",
     .offset = offsetof(config, tls_ca)},
    {.env = "COMPACT_PROBE_LISTEN",
     .flag = "probe-listen",
     .kind = CONFIG_OPT_LISTEN,
     .meaning = "host:port of a plaintext gRPC port serving grpc.health.v1.Health only, for "
                "probes that speak no TLS (empty: off)",
     .offset = offsetof(config, probe_listen)},
    {.env = "COMPACT_REDIS_USER",
     .flag = "redis-user",
     .kind = CONFIG_TEXT,
     .meaning = "the Redis ACL user (empty: no AUTH)",
     .offset = offsetof(config, redis_user)},
    {.env = "COMPACT_REDIS_PASSWORD_FILE",
     .flag = "redis-password-file",
     .kind = CONFIG_FILE,
     .meaning = "a file holding that user's password (read at every connection)",
     .offset = offsetof(config, redis_password_file)},
};

#define CONFIG_NSETTINGS (sizeof(config_settings) / sizeof(config_settings[0]))
#define CONFIG_NSLOTS (CONFIG_NSETTINGS + CONFIG_MAX_PEERS)

/* Where each setting's value comes from while loading. Peers use the slots
 * after the table's; their names are built here. */
typedef struct config_source {
    char env[CONFIG_NAME_MAX];
    char flag[CONFIG_NAME_MAX];
    const char *flag_value; /* argv string of the last --flag, or NULL */
} config_source;

static void config_error(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void config_error(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (!err || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

int config_default_port(const char *service)
{
    const catalog_service *row = catalog_find(service);

    return row ? row->port : CONFIG_DEFAULT_PORT;
}

/* ---- validation of one value -------------------------------------------- */

/* A decimal port, no sign, no spaces; 0 only when allowed. */
static int config_port_ok(const char *s, int allow_zero)
{
    long v = 0;

    if (*s == '\0' || strlen(s) > 5)
        return 0;
    for (const char *c = s; *c; c++) {
        if (!isdigit((unsigned char)*c))
            return 0;
        v = v * 10 + (*c - '0');
    }
    return v <= 65535 && (v > 0 || allow_zero);
}

/* A DNS name or IPv4 address, or "[...]" holding an IPv6 address. */
static int config_host_ok(const char *host, size_t len)
{
    if (len == 0)
        return 0;
    if (host[0] == '[') {
        if (len < 3 || host[len - 1] != ']')
            return 0;
        for (size_t i = 1; i + 1 < len; i++) {
            if (!isxdigit((unsigned char)host[i]) && host[i] != ':' && host[i] != '.')
                return 0;
        }
        return 1;
    }
    for (size_t i = 0; i < len; i++) {
        if (!isalnum((unsigned char)host[i]) && host[i] != '-' && host[i] != '.' && host[i] != '_')
            return 0;
    }
    return 1;
}

static int config_hostport_ok(const char *s, int allow_zero)
{
    const char *colon = strrchr(s, ':');

    if (!colon || !config_host_ok(s, (size_t)(colon - s)))
        return 0;
    return config_port_ok(colon + 1, allow_zero);
}

/* gRPC's "unix:path" and "unix:///abs/path" targets. */
static int config_unix_ok(const char *s)
{
    return strncmp(s, "unix:", 5) == 0 && s[5] != '\0';
}

static int config_parse_int(const char *s, int min, int max, int *out)
{
    long long v = 0;

    if (*s == '\0' || strlen(s) > 12)
        return -EINVAL;
    for (const char *c = s; *c; c++) {
        if (!isdigit((unsigned char)*c))
            return -EINVAL;
        v = v * 10 + (*c - '0');
    }
    if (v < min || v > max)
        return -EINVAL;
    *out = (int)v;
    return 0;
}

static int config_copy(char *dst, size_t size, const char *s)
{
    if (strlen(s) >= size)
        return -ENAMETOOLONG;
    strcpy(dst, s);
    return 0;
}

/* Stores `value` for setting `st` in cfg, or writes why it is refused. The
 * message starts with `who`, the variable or flag it came from. */
static int config_apply(config *cfg, const config_setting *st, const char *who, const char *value,
                        char *err, size_t errlen)
{
    char *dst = (char *)cfg + st->offset;

    switch (st->kind) {
    case CONFIG_OPT_LISTEN:
        if (*value == '\0') {
            dst[0] = '\0';
            return 0;
        }
        /* fall through */
    case CONFIG_LISTEN:
    case CONFIG_HOSTPORT:
    case CONFIG_TARGET: {
        int listen = st->kind == CONFIG_LISTEN || st->kind == CONFIG_OPT_LISTEN;
        int ok = config_hostport_ok(value, listen) ||
                 (st->kind == CONFIG_TARGET && config_unix_ok(value));
        if (ok && config_copy(dst, CONFIG_ADDR_MAX, value) == 0)
            return 0;
        if (ok)
            config_error(err, errlen, "%s: expected at most %d characters, got %zu", who,
                         CONFIG_ADDR_MAX - 1, strlen(value));
        else
            config_error(err, errlen, "%s: expected %s, got \"%s\"", who,
                         st->kind == CONFIG_OPT_LISTEN
                             ? "empty (off) or host:port with a port from 0 to 65535"
                         : st->kind == CONFIG_LISTEN ? "host:port with a port from 0 to 65535"
                         : st->kind == CONFIG_TARGET ? "host:port (port 1 to 65535) or unix:path"
                                                     : "host:port with a port from 1 to 65535",
                         value);
        return -EINVAL;
    }
    case CONFIG_DIR:
        /* Room for "/<service>.db" after the directory. */
        if (*value && strlen(value) + strlen(cfg->service) + 5 < CONFIG_PATH_MAX) {
            strcpy(dst, value);
            return 0;
        }
        config_error(err, errlen,
                     "%s: expected a directory path of 1 to %zu characters, "
                     "got \"%s\"",
                     who, CONFIG_PATH_MAX - strlen(cfg->service) - 6, value);
        return -EINVAL;
    case CONFIG_LEVEL:
        if (log_level_parse(value, &cfg->log_level) == 0)
            return 0;
        config_error(err, errlen, "%s: expected one of debug, info, warn, error, got \"%s\"", who,
                     value);
        return -EINVAL;
    case CONFIG_FILE:
        if (strlen(value) < CONFIG_PATH_MAX) {
            strcpy(dst, value);
            return 0;
        }
        config_error(err, errlen, "%s: expected a file path of at most %d characters", who,
                     CONFIG_PATH_MAX - 1);
        return -EINVAL;
    case CONFIG_TEXT: {
        size_t n = strlen(value);
        int ok = n < CONFIG_TEXT_MAX;
        for (size_t i = 0; ok && i < n; i++)
            ok = value[i] > ' ' && value[i] < 0x7f;
        if (ok) {
            strcpy(dst, value);
            return 0;
        }
        config_error(err, errlen, "%s: expected at most %d printable characters without spaces",
                     who, CONFIG_TEXT_MAX - 1);
        return -EINVAL;
    }
    case CONFIG_SWITCH:
        if (strcmp(value, "on") == 0 || strcmp(value, "off") == 0) {
            *(int *)(void *)dst = strcmp(value, "on") == 0;
            return 0;
        }
        config_error(err, errlen, "%s: expected on or off, got \"%s\"", who, value);
        return -EINVAL;
    case CONFIG_INT:
        if (config_parse_int(value, st->min, st->max, (int *)(void *)dst) == 0 ||
            (st->zero && config_parse_int(value, 0, 0, (int *)(void *)dst) == 0))
            return 0;
        config_error(err, errlen, "%s: expected %s%s%sa whole number%s%s from %d to %d, got \"%s\"",
                     who, st->zero ? "0 (" : "", st->zero ? st->zero : "", st->zero ? ") or " : "",
                     *st->unit ? " of " : "", st->unit, st->min, st->max, value);
        return -EINVAL;
    }
    return -EINVAL;
}

/* ---- defaults ----------------------------------------------------------- */

void config_defaults(config *cfg, const char *service)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->service = service;
    snprintf(cfg->listen, sizeof(cfg->listen), "0.0.0.0:%d", config_default_port(service));
    const catalog_service *row = catalog_find(service);
    if (row && row->http_port)
        snprintf(cfg->http_listen, sizeof(cfg->http_listen), "0.0.0.0:%d", row->http_port);
    snprintf(cfg->redis_addr, sizeof(cfg->redis_addr), "127.0.0.1:6379");
    snprintf(cfg->data_dir, sizeof(cfg->data_dir), "./data");
    cfg->log_level = LOG_LEVEL_INFO;
    cfg->auth_on = 1;
    snprintf(cfg->auth_issuer, sizeof(cfg->auth_issuer), "compact");
    snprintf(cfg->auth_audience, sizeof(cfg->auth_audience), "compact");
    for (size_t i = 0; i < CONFIG_NSETTINGS; i++) {
        if (config_settings[i].kind == CONFIG_INT)
            *(int *)(void *)((char *)cfg + config_settings[i].offset) = config_settings[i].dflt;
    }
}

/* "membership" -> "COMPACT_MEMBERSHIP_ADDR" and "membership-addr". */
static int config_peer_names(const char *peer, config_source *src)
{
    size_t n = 0;

    if (!peer || !*peer || strlen(peer) + sizeof("COMPACT__ADDR") > CONFIG_NAME_MAX)
        return -EINVAL;
    n = (size_t)snprintf(src->env, sizeof(src->env), "COMPACT_");
    for (const char *c = peer; *c; c++)
        src->env[n++] = *c == '-' ? '_' : (char)toupper((unsigned char)*c);
    snprintf(src->env + n, sizeof(src->env) - n, "_ADDR");
    snprintf(src->flag, sizeof(src->flag), "%s-addr", peer);
    return 0;
}

static size_t config_peer_count(const char *const *peers)
{
    size_t n = 0;

    while (peers && peers[n])
        n++;
    return n;
}

/* ---- flags -------------------------------------------------------------- */

static config_source *config_find_flag(config_source *src, size_t nsrc, const char *name,
                                       size_t len)
{
    for (size_t i = 0; i < nsrc; i++) {
        if (strlen(src[i].flag) == len && strncmp(src[i].flag, name, len) == 0)
            return &src[i];
    }
    return NULL;
}

/* Reads argv into src[].flag_value. Returns 0, 1 for --help, or -EINVAL. */
static int config_read_flags(config *cfg, config_source *src, size_t nsrc, int argc, char **argv,
                             char *err, size_t errlen)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *name, *eq;
        size_t len;
        config_source *s;

        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)
            return 1;
        if (strcmp(arg, "--health-probe") == 0) {
            cfg->health_probe = 1;
            continue;
        }
        if (strcmp(arg, "--auth-rules") == 0) {
            cfg->print_rules = 1;
            continue;
        }
        if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
            config_error(err, errlen, "unexpected argument \"%s\" (see --help)", arg);
            return -EINVAL;
        }
        name = arg + 2;
        eq = strchr(name, '=');
        len = eq ? (size_t)(eq - name) : strlen(name);
        s = config_find_flag(src, nsrc, name, len);
        if (!s) {
            config_error(err, errlen, "unknown flag --%.*s (see --help)", (int)len, name);
            return -EINVAL;
        }
        if (eq) {
            s->flag_value = eq + 1;
        } else if (i + 1 < argc) {
            s->flag_value = argv[++i];
        } else {
            config_error(err, errlen, "--%s: expected a value", s->flag);
            return -EINVAL;
        }
    }
    return 0;
}

/* ---- loading ------------------------------------------------------------ */

/* who = prefix + name, cut to fit (names are far shorter than who). */
static void config_name_copy(char *who, size_t size, const char *prefix, const char *name)
{
    size_t n = 0;

    for (const char *p = prefix; *p && n + 1 < size; p++)
        who[n++] = *p;
    for (const char *p = name; *p && n + 1 < size; p++)
        who[n++] = *p;
    who[n] = '\0';
}

/* The winning raw value of one slot and who gave it; NULL: keep the default. */
static const char *config_pick(const config_source *s, char *who, size_t wholen)
{
    const char *env;

    if (s->flag_value) {
        config_name_copy(who, wholen, "--", s->flag);
        return s->flag_value;
    }
    env = getenv(s->env);
    if (env) {
        config_name_copy(who, wholen, "", s->env);
        return env;
    }
    return NULL;
}

static int config_setup_peers(config *cfg, const char *const *peers, config_source *src, char *err,
                              size_t errlen)
{
    size_t n = config_peer_count(peers);

    if (n > CONFIG_MAX_PEERS) {
        config_error(err, errlen, "%zu peers configured, at most %d are supported", n,
                     CONFIG_MAX_PEERS);
        return -EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        if (config_peer_names(peers[i], &src[i]) < 0) {
            config_error(err, errlen, "bad peer name \"%s\"", peers[i] ? peers[i] : "");
            return -EINVAL;
        }
        cfg->peers[i].name = peers[i];
        snprintf(cfg->peers[i].addr, sizeof(cfg->peers[i].addr), "127.0.0.1:%d",
                 config_default_port(peers[i]));
    }
    cfg->peers_count = n;
    return 0;
}

int config_load(config *cfg, const char *service, const char *const *peers, int argc, char **argv,
                char *err, size_t errlen)
{
    static const config_setting peer_setting = {
        .kind = CONFIG_TARGET,
        .offset = 0,
    };
    config_source src[CONFIG_NSLOTS];
    char who[CONFIG_NAME_MAX + 2];
    size_t nsrc;
    int rc;

    if (err && errlen)
        err[0] = '\0';
    if (!cfg || !service || !*service) {
        config_error(err, errlen, "no service name");
        return -EINVAL;
    }
    config_defaults(cfg, service);
    memset(src, 0, sizeof(src));
    for (size_t i = 0; i < CONFIG_NSETTINGS; i++) {
        snprintf(src[i].env, sizeof(src[i].env), "%s", config_settings[i].env);
        snprintf(src[i].flag, sizeof(src[i].flag), "%s", config_settings[i].flag);
    }
    rc = config_setup_peers(cfg, peers, src + CONFIG_NSETTINGS, err, errlen);
    if (rc < 0)
        return rc;
    nsrc = CONFIG_NSETTINGS + cfg->peers_count;
    rc = config_read_flags(cfg, src, nsrc, argc, argv, err, errlen);
    if (rc == 1) {
        config_print_help(service, peers);
        return 1;
    }
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < nsrc; i++) {
        const char *value = config_pick(&src[i], who, sizeof(who));
        if (!value)
            continue;
        if (i < CONFIG_NSETTINGS) {
            rc = config_apply(cfg, &config_settings[i], who, value, err, errlen);
        } else {
            /* A peer's address is a member of cfg->peers, not of config. */
            config_setting st = peer_setting;
            st.offset = (size_t)((char *)cfg->peers[i - CONFIG_NSETTINGS].addr - (char *)cfg);
            rc = config_apply(cfg, &st, who, value, err, errlen);
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}

const char *config_peer_addr(const config *cfg, const char *name)
{
    for (size_t i = 0; cfg && name && i < cfg->peers_count; i++) {
        if (cfg->peers[i].name && strcmp(cfg->peers[i].name, name) == 0)
            return cfg->peers[i].addr;
    }
    return NULL;
}

/* ---- help --------------------------------------------------------------- */

static void config_help_default(const config_setting *st, const char *service, char *buf,
                                size_t size)
{
    switch (st->kind) {
    case CONFIG_LISTEN:
        snprintf(buf, size, "0.0.0.0:%d", config_default_port(service));
        break;
    case CONFIG_OPT_LISTEN:
        snprintf(buf, size, "empty (off)");
        break;
    case CONFIG_HOSTPORT:
        snprintf(buf, size, "127.0.0.1:6379");
        break;
    case CONFIG_DIR:
        snprintf(buf, size, "./data");
        break;
    case CONFIG_LEVEL:
        snprintf(buf, size, "info");
        break;
    case CONFIG_INT:
        snprintf(buf, size, "%d", st->dflt);
        break;
    case CONFIG_SWITCH:
        snprintf(buf, size, "on");
        break;
    case CONFIG_TEXT:
        snprintf(buf, size, "%s",
                 st->offset == offsetof(config, auth_issuer) ||
                         st->offset == offsetof(config, auth_audience)
                     ? "compact"
                     : "");
        break;
    case CONFIG_FILE:
    case CONFIG_TARGET:
        buf[0] = '\0';
        break;
    }
}

static const char *config_help_arg(const config_setting *st)
{
    switch (st->kind) {
    case CONFIG_LISTEN:
    case CONFIG_OPT_LISTEN:
    case CONFIG_HOSTPORT:
        return "HOST:PORT";
    case CONFIG_TARGET:
        return "TARGET";
    case CONFIG_DIR:
        return "DIR";
    case CONFIG_LEVEL:
        return "LEVEL";
    case CONFIG_INT:
        return "N";
    case CONFIG_FILE:
        return "FILE";
    case CONFIG_TEXT:
        return "TEXT";
    case CONFIG_SWITCH:
        return "on|off";
    }
    return "VALUE";
}

static void config_help_row(const char *flag, const char *arg, const char *env, const char *meaning,
                            const char *dflt, const char *range)
{
    char left[96];

    snprintf(left, sizeof(left), "--%s%s%s", flag, *arg ? " " : "", arg);
    printf("  %-34s %s\n", left, *env ? env : "(flag only)");
    printf("      %s%s%s\n", meaning, *range ? "; " : "", range);
    if (*dflt)
        printf("      default: %s\n", dflt);
}

void config_print_help(const char *service, const char *const *peers)
{
    char dflt[64], range[64], meaning[CONFIG_NAME_MAX + 32];
    config_source src;

    service = service ? service : "compact";
    printf("Usage: %s%s [flags]\n\n", strncmp(service, "compact", 7) ? "compact-" : "", service);
    printf("Every setting has an environment variable and a flag (--flag VALUE or\n"
           "--flag=VALUE); a flag wins over the variable, the variable over the default.\n\n");
    for (size_t i = 0; i < CONFIG_NSETTINGS; i++) {
        const config_setting *st = &config_settings[i];
        config_help_default(st, service, dflt, sizeof(dflt));
        range[0] = '\0';
        if (st->kind == CONFIG_INT)
            snprintf(range, sizeof(range), "%s%s%s%d to %d%s%s", st->zero ? "0 (" : "",
                     st->zero ? st->zero : "", st->zero ? ") or " : "", st->min, st->max,
                     *st->unit ? " " : "", st->unit);
        config_help_row(st->flag, config_help_arg(st), st->env, st->meaning, dflt, range);
    }
    for (size_t i = 0; peers && peers[i]; i++) {
        if (config_peer_names(peers[i], &src) < 0)
            continue;
        snprintf(dflt, sizeof(dflt), "127.0.0.1:%d", config_default_port(peers[i]));
        snprintf(meaning, sizeof(meaning), "address of the %s service", peers[i]);
        config_help_row(src.flag, "TARGET", src.env, meaning, dflt,
                        "host:port, [v6]:port or unix:path");
    }
    printf("\n");
    config_help_row("health-probe", "", "",
                    "ask the local server's health service and exit 0 if SERVING, 1 otherwise "
                    "(container health check; with TLS it asks the COMPACT_PROBE_LISTEN port)",
                    "", "");
    config_help_row("auth-rules", "", "",
                    "print the service's rule table (who may call which method) as JSON and exit",
                    "", "");
    config_help_row("help", "", "", "print this help and exit", "", "");
}

/* test_config.c: defaults, environment, flags, validation and --help. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

extern char **environ;

/* Every test starts with no COMPACT_* variable set. */
static int clean_env(void **state)
{
    for (int again = 1; again;) {
        again = 0;
        for (char **e = environ; *e; e++) {
            if (strncmp(*e, "COMPACT_", 8) == 0) {
                char name[128];
                size_t n = strcspn(*e, "=");
                snprintf(name, sizeof(name), "%.*s", (int)n, *e);
                unsetenv(name);
                again = 1;
                break;
            }
        }
    }
    return 0;
}

/* config_load with argv given as a NULL-terminated list after the program. */
static int load(config *cfg, const char *service, const char *const *peers, char *err,
                size_t errlen, ...)
{
    char *argv[32] = {"compact-test"};
    int argc = 1;
    va_list ap;

    va_start(ap, errlen);
    for (char *a; (a = va_arg(ap, char *)) != NULL && argc < 31;)
        argv[argc++] = a;
    va_end(ap);
    argv[argc] = NULL;
    return config_load(cfg, service, peers, argc, argv, err, errlen);
}

static void test_default_ports(void **state)
{
    assert_int_equal(config_default_port("membership"), 50051);
    assert_int_equal(config_default_port("workgroups"), 50052);
    assert_int_equal(config_default_port("projects"), 50053);
    assert_int_equal(config_default_port("analytics"), 50054);
    assert_int_equal(config_default_port("compactctl"), 50050);
    assert_int_equal(config_default_port(NULL), 50050);
}

static void test_defaults(void **state)
{
    char err[256] = "untouched";
    config cfg;

    assert_int_equal(load(&cfg, "membership", NULL, err, sizeof(err), NULL), 0);
    assert_string_equal(err, "");
    assert_string_equal(cfg.service, "membership");
    assert_string_equal(cfg.listen, "0.0.0.0:50051");
    assert_string_equal(cfg.metrics_listen, ""); /* off by default */
    assert_string_equal(cfg.redis_addr, "127.0.0.1:6379");
    assert_string_equal(cfg.data_dir, "./data");
    assert_int_equal(cfg.log_level, LOG_LEVEL_INFO);
    assert_int_equal(cfg.grace_seconds, 10);
    assert_int_equal(cfg.max_calls, 1000);
    assert_int_equal(cfg.max_message_bytes, 4 * 1024 * 1024);
    assert_int_equal(cfg.max_connection_age_ms, 0);
    assert_int_equal(cfg.max_connection_idle_ms, 300000);
    assert_int_equal(cfg.cache_ttl_seconds, 300);
    assert_int_equal(cfg.redis_timeout_ms, 200);
    assert_int_equal(cfg.peer_timeout_ms, 2000);
    assert_int_equal(cfg.peers_count, 0);
    assert_int_equal(cfg.health_probe, 0);

    assert_int_equal(load(&cfg, "analytics", NULL, err, sizeof(err), NULL), 0);
    assert_string_equal(cfg.listen, "0.0.0.0:50054");
}

static void test_environment(void **state)
{
    char err[256];
    config cfg;

    setenv("COMPACT_LISTEN", "127.0.0.1:0", 1);
    setenv("COMPACT_METRICS_LISTEN", "0.0.0.0:9464", 1);
    setenv("COMPACT_REDIS_ADDR", "redis.internal:6380", 1);
    setenv("COMPACT_DATA_DIR", "/var/lib/compact", 1);
    setenv("COMPACT_LOG_LEVEL", "debug", 1);
    setenv("COMPACT_GRACE_SECONDS", "0", 1);
    setenv("COMPACT_MAX_CALLS", "5", 1);
    setenv("COMPACT_MAX_MESSAGE_BYTES", "65536", 1);
    setenv("COMPACT_MAX_CONNECTION_AGE_MS", "60000", 1);
    setenv("COMPACT_MAX_CONNECTION_IDLE_MS", "0", 1); /* never */
    setenv("COMPACT_CACHE_TTL_SECONDS", "30", 1);
    setenv("COMPACT_REDIS_TIMEOUT_MS", "50", 1);
    setenv("COMPACT_PEER_TIMEOUT_MS", "1500", 1);
    assert_int_equal(load(&cfg, "membership", NULL, err, sizeof(err), NULL), 0);
    assert_string_equal(cfg.listen, "127.0.0.1:0");
    assert_string_equal(cfg.metrics_listen, "0.0.0.0:9464");
    assert_string_equal(cfg.redis_addr, "redis.internal:6380");
    assert_string_equal(cfg.data_dir, "/var/lib/compact");
    assert_int_equal(cfg.log_level, LOG_LEVEL_DEBUG);
    assert_int_equal(cfg.grace_seconds, 0);
    assert_int_equal(cfg.max_calls, 5);
    assert_int_equal(cfg.max_message_bytes, 65536);
    assert_int_equal(cfg.max_connection_age_ms, 60000);
    assert_int_equal(cfg.max_connection_idle_ms, 0);
    assert_int_equal(cfg.cache_ttl_seconds, 30);
    assert_int_equal(cfg.redis_timeout_ms, 50);
    assert_int_equal(cfg.peer_timeout_ms, 1500);
}

static void test_flags_win_over_environment(void **state)
{
    char err[256];
    config cfg;

    setenv("COMPACT_GRACE_SECONDS", "20", 1);
    setenv("COMPACT_LISTEN", "127.0.0.1:7000", 1);
    setenv("COMPACT_LOG_LEVEL", "error", 1);
    assert_int_equal(load(&cfg, "membership", NULL, err, sizeof(err), "--grace-seconds", "30",
                          "--listen=[::]:7001", "--data-dir", "/tmp/x", "--health-probe", NULL),
                     0);
    assert_int_equal(cfg.grace_seconds, 30);
    assert_string_equal(cfg.listen, "[::]:7001");
    assert_string_equal(cfg.data_dir, "/tmp/x");
    assert_int_equal(cfg.log_level, LOG_LEVEL_ERROR); /* from the environment */
    assert_int_equal(cfg.health_probe, 1);

    /* The last of a repeated flag wins; "warning" is a level name. */
    assert_int_equal(load(&cfg, "membership", NULL, err, sizeof(err), "--log-level", "debug",
                          "--log-level=warning", NULL),
                     0);
    assert_int_equal(cfg.log_level, LOG_LEVEL_WARN);

    /* A flag overrides a bad variable: the bad value is never used. */
    setenv("COMPACT_MAX_CALLS", "lots", 1);
    assert_int_equal(load(&cfg, "membership", NULL, err, sizeof(err), "--max-calls=9", NULL), 0);
    assert_int_equal(cfg.max_calls, 9);
}

static void test_exact_messages(void **state)
{
    char err[256];
    config cfg;

    setenv("COMPACT_GRACE_SECONDS", "abc", 1);
    assert_int_equal(load(&cfg, "membership", NULL, err, sizeof(err), NULL), -EINVAL);
    assert_string_equal(err, "COMPACT_GRACE_SECONDS: expected a whole number of seconds from 0 "
                             "to 3600, got \"abc\"");
    unsetenv("COMPACT_GRACE_SECONDS");
    assert_int_equal(
        load(&cfg, "membership", NULL, err, sizeof(err), "--grace-seconds", "3601", NULL), -EINVAL);
    assert_string_equal(err, "--grace-seconds: expected a whole number of seconds from 0 to "
                             "3600, got \"3601\"");
    assert_int_equal(load(&cfg, "membership", NULL, err, sizeof(err), "--bogus=1", NULL), -EINVAL);
    assert_non_null(strstr(err, "--bogus"));
    assert_int_equal(load(&cfg, "membership", NULL, err, sizeof(err), "--log-level", "loud", NULL),
                     -EINVAL);
    assert_string_equal(err, "--log-level: expected one of debug, info, warn, error, got "
                             "\"loud\"");
}

/* Each bad value, by variable and by flag, is refused naming its source. */
static void test_bad_values_name_their_source(void **state)
{
    static const struct {
        const char *env, *flag, *value;
    } bad[] = {
        {"COMPACT_LISTEN", "listen", "localhost"},
        {"COMPACT_LISTEN", "listen", "localhost:65536"},
        {"COMPACT_LISTEN", "listen", ":8080"},
        {"COMPACT_LISTEN", "listen", "host:"},
        {"COMPACT_LISTEN", "listen", "host:-1"},
        {"COMPACT_LISTEN", "listen", "a b:80"},
        {"COMPACT_LISTEN", "listen", "::1:80"},
        {"COMPACT_LISTEN", "listen", "unix:/tmp/s"},
        {"COMPACT_LISTEN", "listen", ""},
        {"COMPACT_METRICS_LISTEN", "metrics-listen", "9464"},
        {"COMPACT_METRICS_LISTEN", "metrics-listen", "localhost:65536"},
        {"COMPACT_METRICS_LISTEN", "metrics-listen", " "},
        {"COMPACT_METRICS_LISTEN", "metrics-listen", "unix:/tmp/m"},
        {"COMPACT_REDIS_ADDR", "redis-addr", "127.0.0.1:0"},
        {"COMPACT_REDIS_ADDR", "redis-addr", "127.0.0.1"},
        {"COMPACT_REDIS_ADDR", "redis-addr", "127.0.0.1:6379x"},
        {"COMPACT_DATA_DIR", "data-dir", ""},
        {"COMPACT_LOG_LEVEL", "log-level", "trace"},
        {"COMPACT_GRACE_SECONDS", "grace-seconds", "-1"},
        {"COMPACT_GRACE_SECONDS", "grace-seconds", "1.5"},
        {"COMPACT_GRACE_SECONDS", "grace-seconds", " 5"},
        {"COMPACT_MAX_CALLS", "max-calls", "0"},
        {"COMPACT_MAX_CALLS", "max-calls", "99999999999999999999"},
        {"COMPACT_MAX_MESSAGE_BYTES", "max-message-bytes", "100"},
        {"COMPACT_MAX_MESSAGE_BYTES", "max-message-bytes", "4MiB"},
        {"COMPACT_MAX_CONNECTION_AGE_MS", "max-connection-age-ms", "-5"},
        {"COMPACT_MAX_CONNECTION_IDLE_MS", "max-connection-idle-ms", "1"}, /* 0 or >= 1000 */
        {"COMPACT_MAX_CONNECTION_IDLE_MS", "max-connection-idle-ms", "-1"},
        {"COMPACT_CACHE_TTL_SECONDS", "cache-ttl-seconds", "0"},
        {"COMPACT_REDIS_TIMEOUT_MS", "redis-timeout-ms", "0"},
        {"COMPACT_REDIS_TIMEOUT_MS", "redis-timeout-ms", "60001"},
        {"COMPACT_PEER_TIMEOUT_MS", "peer-timeout-ms", ""},
        {"COMPACT_PEER_TIMEOUT_MS", "peer-timeout-ms", "2s"},
    };
    char err[512], flag[128], want[160];
    config cfg;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        setenv(bad[i].env, bad[i].value, 1);
        if (load(&cfg, "membership", NULL, err, sizeof(err), NULL) != -EINVAL)
            fail_msg("%s=\"%s\" was accepted", bad[i].env, bad[i].value);
        snprintf(want, sizeof(want), "%s: ", bad[i].env);
        if (strncmp(err, want, strlen(want)) != 0 || !strstr(err, bad[i].value))
            fail_msg("message for %s=\"%s\": %s", bad[i].env, bad[i].value, err);
        unsetenv(bad[i].env);

        snprintf(flag, sizeof(flag), "--%s=%s", bad[i].flag, bad[i].value);
        if (load(&cfg, "membership", NULL, err, sizeof(err), flag, NULL) != -EINVAL)
            fail_msg("%s was accepted", flag);
        snprintf(want, sizeof(want), "--%s: ", bad[i].flag);
        if (strncmp(err, want, strlen(want)) != 0)
            fail_msg("message for %s: %s", flag, err);
    }
}

static void test_good_addresses(void **state)
{
    static const char *const good_listen[] = {
        "0.0.0.0:0", "localhost:1", "[::]:50051", "[::1]:65535", "svc-1.ns.svc:80",
    };
    char err[256];
    config cfg;

    for (size_t i = 0; i < sizeof(good_listen) / sizeof(good_listen[0]); i++) {
        if (load(&cfg, "membership", NULL, err, sizeof(err), "--listen", good_listen[i], NULL))
            fail_msg("%s refused: %s", good_listen[i], err);
        assert_string_equal(cfg.listen, good_listen[i]);
    }
}

/* The metrics endpoint is off when empty; a flag can turn off what the
 * environment turned on. */
static void test_metrics_listen(void **state)
{
    char err[256];
    config cfg;

    assert_int_equal(
        load(&cfg, "membership", NULL, err, sizeof(err), "--metrics-listen", "127.0.0.1:0", NULL),
        0);
    assert_string_equal(cfg.metrics_listen, "127.0.0.1:0");
    setenv("COMPACT_METRICS_LISTEN", "[::]:9464", 1);
    assert_int_equal(load(&cfg, "membership", NULL, err, sizeof(err), NULL), 0);
    assert_string_equal(cfg.metrics_listen, "[::]:9464");
    assert_int_equal(load(&cfg, "membership", NULL, err, sizeof(err), "--metrics-listen=", NULL),
                     0);
    assert_string_equal(cfg.metrics_listen, "");
    setenv("COMPACT_METRICS_LISTEN", "", 1);
    assert_int_equal(load(&cfg, "membership", NULL, err, sizeof(err), NULL), 0);
    assert_string_equal(cfg.metrics_listen, "");
    assert_int_equal(load(&cfg, "membership", NULL, err, sizeof(err), "--metrics-listen=x", NULL),
                     -EINVAL);
    assert_string_equal(err, "--metrics-listen: expected empty (off) or host:port with a port "
                             "from 0 to 65535, got \"x\"");
}

static void test_flag_syntax_errors(void **state)
{
    char err[256];
    config cfg;

    assert_int_equal(load(&cfg, "membership", NULL, err, sizeof(err), "--grace-seconds", NULL),
                     -EINVAL);
    assert_non_null(strstr(err, "--grace-seconds"));
    assert_int_equal(load(&cfg, "membership", NULL, err, sizeof(err), "serve", NULL), -EINVAL);
    assert_non_null(strstr(err, "\"serve\""));
    assert_int_equal(load(&cfg, "membership", NULL, err, sizeof(err), "-x", NULL), -EINVAL);
    assert_int_equal(load(&cfg, "membership", NULL, err, sizeof(err), "--", NULL), -EINVAL);
    assert_int_equal(load(&cfg, "membership", NULL, err, sizeof(err), "--listenx=1:1", NULL),
                     -EINVAL);
    assert_non_null(strstr(err, "--listenx"));
    /* A peer flag exists only for the peers of this service. */
    assert_int_equal(
        load(&cfg, "membership", NULL, err, sizeof(err), "--workgroups-addr=127.0.0.1:1", NULL),
        -EINVAL);
    assert_non_null(strstr(err, "--workgroups-addr"));
}

static void test_peers(void **state)
{
    static const char *const peers[] = {"membership", "projects", NULL};
    char err[256];
    config cfg;

    assert_int_equal(load(&cfg, "workgroups", peers, err, sizeof(err), NULL), 0);
    assert_string_equal(cfg.listen, "0.0.0.0:50052");
    assert_int_equal(cfg.peers_count, 2);
    assert_string_equal(cfg.peers[0].name, "membership");
    assert_string_equal(config_peer_addr(&cfg, "membership"), "127.0.0.1:50051");
    assert_string_equal(config_peer_addr(&cfg, "projects"), "127.0.0.1:50053");
    assert_null(config_peer_addr(&cfg, "analytics"));
    assert_null(config_peer_addr(&cfg, NULL));

    setenv("COMPACT_MEMBERSHIP_ADDR", "unix:/run/compact/membership.sock", 1);
    setenv("COMPACT_PROJECTS_ADDR", "projects:9000", 1);
    assert_int_equal(
        load(&cfg, "workgroups", peers, err, sizeof(err), "--projects-addr", "[::1]:9001", NULL),
        0);
    assert_string_equal(config_peer_addr(&cfg, "membership"), "unix:/run/compact/membership.sock");
    assert_string_equal(config_peer_addr(&cfg, "projects"), "[::1]:9001");

    setenv("COMPACT_MEMBERSHIP_ADDR", "membership", 1);
    assert_int_equal(load(&cfg, "workgroups", peers, err, sizeof(err), NULL), -EINVAL);
    assert_true(strncmp(err, "COMPACT_MEMBERSHIP_ADDR: ", 25) == 0);
    unsetenv("COMPACT_MEMBERSHIP_ADDR");
    assert_int_equal(
        load(&cfg, "workgroups", peers, err, sizeof(err), "--projects-addr=host:0", NULL), -EINVAL);
    assert_true(strncmp(err, "--projects-addr: ", 17) == 0);
    assert_int_equal(
        load(&cfg, "workgroups", peers, err, sizeof(err), "--projects-addr=unix:", NULL), -EINVAL);
}

static void test_too_many_peers(void **state)
{
    static const char *const peers[] = {"a", "b", "c", "d", "e", NULL};
    char err[256];
    config cfg;

    assert_int_equal(load(&cfg, "analytics", peers, err, sizeof(err), NULL), -EINVAL);
    assert_non_null(strstr(err, "peers"));
}

/* Runs config_load with stdout in a temporary file; returns what it printed
 * (caller frees) and the return code in *rc. */
static char *load_capturing_stdout(const char *service, const char *const *peers, int *rc,
                                   char *arg)
{
    char path[] = "/tmp/test_config_XXXXXX";
    char *argv[] = {"compact-test", "--listen=1.2.3.4:5", arg, NULL};
    char err[256];
    config cfg;
    int fd = mkstemp(path), saved;
    FILE *f;
    long size;
    char *text;

    assert_true(fd >= 0);
    fflush(stdout);
    saved = dup(STDOUT_FILENO);
    dup2(fd, STDOUT_FILENO);
    *rc = config_load(&cfg, service, peers, 3, argv, err, sizeof(err));
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    close(fd);
    f = fopen(path, "r");
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    rewind(f);
    text = calloc(1, (size_t)size + 1);
    assert_int_equal(fread(text, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    unlink(path);
    return text;
}

static void test_help(void **state)
{
    static const char *const peers[] = {"membership", NULL};
    static const char *const expected[] = {
        "COMPACT_LISTEN",
        "--listen",
        "0.0.0.0:50052",
        "COMPACT_METRICS_LISTEN",
        "--metrics-listen",
        "/metrics",
        "COMPACT_REDIS_ADDR",
        "--redis-addr",
        "127.0.0.1:6379",
        "COMPACT_DATA_DIR",
        "--data-dir",
        "./data",
        "COMPACT_LOG_LEVEL",
        "--log-level",
        "COMPACT_GRACE_SECONDS",
        "--grace-seconds",
        "COMPACT_MAX_CALLS",
        "--max-calls",
        "1000",
        "COMPACT_MAX_STREAMS",
        "--max-streams",
        "COMPACT_MAX_STREAMS_PER_CONNECTION",
        "COMPACT_KEEPALIVE_MS",
        "60000",
        "COMPACT_MAX_CONNECTION_IDLE_MS",
        "300000",
        "COMPACT_MAX_MESSAGE_BYTES",
        "--max-message-bytes",
        "4194304",
        "COMPACT_MAX_CONNECTION_AGE_MS",
        "--max-connection-age-ms",
        "COMPACT_CACHE_TTL_SECONDS",
        "--cache-ttl-seconds",
        "300",
        "COMPACT_REDIS_TIMEOUT_MS",
        "--redis-timeout-ms",
        "200",
        "COMPACT_PEER_TIMEOUT_MS",
        "--peer-timeout-ms",
        "2000",
        "COMPACT_MEMBERSHIP_ADDR",
        "--membership-addr",
        "127.0.0.1:50051",
        "--health-probe",
        "--help",
        "SERVING",
    };
    int rc = 0;
    char *text = load_capturing_stdout("workgroups", peers, &rc, "--help");

    assert_int_equal(rc, 1);
    for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
        if (!strstr(text, expected[i]))
            fail_msg("--help does not mention %s:\n%s", expected[i], text);
    }
    free(text);

    /* Without --help nothing is printed. */
    text = load_capturing_stdout("workgroups", peers, &rc, "--grace-seconds=1");
    assert_int_equal(rc, 0);
    assert_string_equal(text, "");
    free(text);

    text = load_capturing_stdout("membership", NULL, &rc, "-h");
    assert_int_equal(rc, 1);
    assert_non_null(strstr(text, "0.0.0.0:50051"));
    assert_null(strstr(text, "COMPACT_MEMBERSHIP_ADDR")); /* membership has no peers */
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_default_ports, clean_env),
        cmocka_unit_test_setup(test_defaults, clean_env),
        cmocka_unit_test_setup(test_environment, clean_env),
        cmocka_unit_test_setup(test_flags_win_over_environment, clean_env),
        cmocka_unit_test_setup(test_exact_messages, clean_env),
        cmocka_unit_test_setup(test_bad_values_name_their_source, clean_env),
        cmocka_unit_test_setup(test_good_addresses, clean_env),
        cmocka_unit_test_setup(test_metrics_listen, clean_env),
        cmocka_unit_test_setup(test_flag_syntax_errors, clean_env),
        cmocka_unit_test_setup(test_peers, clean_env),
        cmocka_unit_test_setup(test_too_many_peers, clean_env),
        cmocka_unit_test_setup(test_help, clean_env),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

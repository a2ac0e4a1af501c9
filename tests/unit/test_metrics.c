/* test_metrics.c: the registry, the RPC counters and the exact exposition
 * text. The HTTP side is tested through the real binary in
 * tests/integration/test_metrics.py. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "metrics.h"

static int sampled_calls;

static double sample_value(void *arg)
{
    sampled_calls++;
    return *(double *)arg;
}

static char *render(metrics *m)
{
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(metrics_render(m, &text, &len), 0);
    assert_int_equal(strlen(text), len);
    return text;
}

static void test_empty_registry(void **state)
{
    metrics *m = NULL;
    assert_int_equal(metrics_new(&m), 0);
    char *text = render(m);
    assert_string_equal(text, "");
    free(text);
    metrics_free(m);
    metrics_free(NULL);
}

/* Sampled families: read at each render, in registration order, numbers in
 * their shortest exact form. */
static void test_sampled_text(void **state)
{
    metrics *m = NULL;
    double up = 1, pending = 12345678901.0, ratio = 0.1, big = 1e21, nan_v = NAN;
    assert_int_equal(metrics_new(&m), 0);
    assert_int_equal(
        metrics_add_sampled(m, METRICS_GAUGE, "x_up", "1 while up.", sample_value, &up), 0);
    assert_int_equal(metrics_add_sampled(m, METRICS_COUNTER, "x_events_total",
                                         "Events, with a \\ and a\nnewline.", sample_value,
                                         &pending),
                     0);
    assert_int_equal(metrics_add_sampled(m, METRICS_GAUGE, "x_ratio", "", sample_value, &ratio), 0);
    assert_int_equal(metrics_add_sampled(m, METRICS_GAUGE, "x_big", "B", sample_value, &big), 0);
    assert_int_equal(metrics_add_sampled(m, METRICS_GAUGE, "x_nan", "N", sample_value, &nan_v), 0);
    sampled_calls = 0;
    char *text = render(m);
    assert_int_equal(sampled_calls, 5);
    assert_string_equal(text, "# HELP x_up 1 while up.\n"
                              "# TYPE x_up gauge\n"
                              "x_up 1\n"
                              "# HELP x_events_total Events, with a \\\\ and a\\nnewline.\n"
                              "# TYPE x_events_total counter\n"
                              "x_events_total 12345678901\n"
                              "# HELP x_ratio \n"
                              "# TYPE x_ratio gauge\n"
                              "x_ratio 0.1\n"
                              "# HELP x_big B\n"
                              "# TYPE x_big gauge\n"
                              "x_big 1e+21\n"
                              "# HELP x_nan N\n"
                              "# TYPE x_nan gauge\n"
                              "x_nan NaN\n");
    free(text);
    up = 0;
    text = render(m);
    assert_non_null(strstr(text, "\nx_up 0\n"));
    free(text);
    metrics_free(m);
}

static void test_bad_names_refused(void **state)
{
    metrics *m = NULL;
    double v = 0;
    assert_int_equal(metrics_new(&m), 0);
    assert_int_equal(metrics_add_sampled(m, METRICS_GAUGE, "ok_name:x", "", sample_value, &v), 0);
    assert_int_equal(metrics_add_sampled(m, METRICS_GAUGE, "ok_name:x", "", sample_value, &v),
                     -EINVAL);
    assert_int_equal(metrics_add_sampled(m, METRICS_GAUGE, "1x", "", sample_value, &v), -EINVAL);
    assert_int_equal(metrics_add_sampled(m, METRICS_GAUGE, "a-b", "", sample_value, &v), -EINVAL);
    assert_int_equal(metrics_add_sampled(m, METRICS_GAUGE, "", "", sample_value, &v), -EINVAL);
    assert_int_equal(metrics_add_sampled(m, METRICS_GAUGE, "x", "", NULL, &v), -EINVAL);
    metrics_rpc *r = NULL, *r2 = NULL;
    assert_int_equal(metrics_add_rpc(m, 1, NULL, NULL, &r), 0);
    assert_int_equal(metrics_add_rpc(m, 1, NULL, NULL, &r2), -EEXIST);
    assert_int_equal(metrics_rpc_add_method(r, "/a.B/C"), 0);
    assert_int_equal(metrics_rpc_add_method(r, "/a.B/C"), 0); /* again: no-op */
    assert_int_equal(metrics_rpc_add_method(r, "/a.B/D"), -ENOSPC);
    metrics_free(m);
}

/* The RPC families: counters by (method, code) once non-zero, the
 * cumulative histogram once a method has an observation, "other" for paths
 * never registered, and the in-flight gauge. */
static void test_rpc_text(void **state)
{
    metrics *m = NULL;
    metrics_rpc *r = NULL;
    double in_flight = 2;
    assert_int_equal(metrics_new(&m), 0);
    assert_int_equal(metrics_add_rpc(m, 2, sample_value, &in_flight, &r), 0);
    assert_int_equal(metrics_rpc_add_method(r, "/p.S/Get"), 0);
    assert_int_equal(metrics_rpc_add_method(r, "/p.S/Put"), 0);
    double up = 1;
    assert_int_equal(metrics_add_sampled(m, METRICS_GAUGE, "up", "U.", sample_value, &up), 0);

    metrics_rpc_observe(r, "/p.S/Get", 0, 0.0005); /* on a bound: that bucket */
    metrics_rpc_observe(r, "/p.S/Get", 5, 0.003);
    metrics_rpc_observe(r, "/p.S/Get", 0, 7.0); /* above every bound: +Inf only */
    metrics_rpc_observe(r, "/made.Up/Path", 12, 0.25);
    metrics_rpc_observe(r, "/made.Up/Path", 99, -1); /* odd code and time: UNKNOWN, 0 s */
    metrics_rpc_observe(NULL, "/p.S/Get", 0, 1);     /* metrics off: no-op */

    char *text = render(m);
    assert_string_equal(
        text, "# HELP compact_rpc_calls_total gRPC calls finished, by method and status code.\n"
              "# TYPE compact_rpc_calls_total counter\n"
              "compact_rpc_calls_total{method=\"p.S/Get\",code=\"OK\"} 2\n"
              "compact_rpc_calls_total{method=\"p.S/Get\",code=\"NOT_FOUND\"} 1\n"
              "compact_rpc_calls_total{method=\"other\",code=\"UNKNOWN\"} 1\n"
              "compact_rpc_calls_total{method=\"other\",code=\"UNIMPLEMENTED\"} 1\n"
              "# HELP compact_rpc_call_duration_seconds Time from a call's arrival to its end, by "
              "method.\n"
              "# TYPE compact_rpc_call_duration_seconds histogram\n"
              "compact_rpc_call_duration_seconds_bucket{method=\"p.S/Get\",le=\"0.0005\"} 1\n"
              "compact_rpc_call_duration_seconds_bucket{method=\"p.S/Get\",le=\"0.001\"} 1\n"
              "compact_rpc_call_duration_seconds_bucket{method=\"p.S/Get\",le=\"0.0025\"} 1\n"
              "compact_rpc_call_duration_seconds_bucket{method=\"p.S/Get\",le=\"0.005\"} 2\n"
              "compact_rpc_call_duration_seconds_bucket{method=\"p.S/Get\",le=\"0.01\"} 2\n"
              "compact_rpc_call_duration_seconds_bucket{method=\"p.S/Get\",le=\"0.025\"} 2\n"
              "compact_rpc_call_duration_seconds_bucket{method=\"p.S/Get\",le=\"0.05\"} 2\n"
              "compact_rpc_call_duration_seconds_bucket{method=\"p.S/Get\",le=\"0.1\"} 2\n"
              "compact_rpc_call_duration_seconds_bucket{method=\"p.S/Get\",le=\"0.25\"} 2\n"
              "compact_rpc_call_duration_seconds_bucket{method=\"p.S/Get\",le=\"0.5\"} 2\n"
              "compact_rpc_call_duration_seconds_bucket{method=\"p.S/Get\",le=\"1\"} 2\n"
              "compact_rpc_call_duration_seconds_bucket{method=\"p.S/Get\",le=\"5\"} 2\n"
              "compact_rpc_call_duration_seconds_bucket{method=\"p.S/Get\",le=\"+Inf\"} 3\n"
              "compact_rpc_call_duration_seconds_sum{method=\"p.S/Get\"} 7.0035\n"
              "compact_rpc_call_duration_seconds_count{method=\"p.S/Get\"} 3\n"
              "compact_rpc_call_duration_seconds_bucket{method=\"other\",le=\"0.0005\"} 1\n"
              "compact_rpc_call_duration_seconds_bucket{method=\"other\",le=\"0.001\"} 1\n"
              "compact_rpc_call_duration_seconds_bucket{method=\"other\",le=\"0.0025\"} 1\n"
              "compact_rpc_call_duration_seconds_bucket{method=\"other\",le=\"0.005\"} 1\n"
              "compact_rpc_call_duration_seconds_bucket{method=\"other\",le=\"0.01\"} 1\n"
              "compact_rpc_call_duration_seconds_bucket{method=\"other\",le=\"0.025\"} 1\n"
              "compact_rpc_call_duration_seconds_bucket{method=\"other\",le=\"0.05\"} 1\n"
              "compact_rpc_call_duration_seconds_bucket{method=\"other\",le=\"0.1\"} 1\n"
              "compact_rpc_call_duration_seconds_bucket{method=\"other\",le=\"0.25\"} 2\n"
              "compact_rpc_call_duration_seconds_bucket{method=\"other\",le=\"0.5\"} 2\n"
              "compact_rpc_call_duration_seconds_bucket{method=\"other\",le=\"1\"} 2\n"
              "compact_rpc_call_duration_seconds_bucket{method=\"other\",le=\"5\"} 2\n"
              "compact_rpc_call_duration_seconds_bucket{method=\"other\",le=\"+Inf\"} 2\n"
              "compact_rpc_call_duration_seconds_sum{method=\"other\"} 0.25\n"
              "compact_rpc_call_duration_seconds_count{method=\"other\"} 2\n"
              "# HELP compact_rpc_calls_in_flight gRPC calls being handled now.\n"
              "# TYPE compact_rpc_calls_in_flight gauge\n"
              "compact_rpc_calls_in_flight 2\n"
              "# HELP up U.\n"
              "# TYPE up gauge\n"
              "up 1\n");
    free(text);
    metrics_free(m);
}

/* Label values are escaped as the format requires. */
static void test_label_escaping(void **state)
{
    metrics *m = NULL;
    metrics_rpc *r = NULL;
    assert_int_equal(metrics_new(&m), 0);
    assert_int_equal(metrics_add_rpc(m, 1, NULL, NULL, &r), 0);
    assert_int_equal(metrics_rpc_add_method(r, "a\"b\\c\nd"), 0);
    metrics_rpc_observe(r, "a\"b\\c\nd", 0, 0.01);
    char *text = render(m);
    assert_non_null(
        strstr(text, "compact_rpc_calls_total{method=\"a\\\"b\\\\c\\nd\",code=\"OK\"} 1\n"));
    assert_null(strstr(text, "in_flight")); /* no sampler given: no series */
    free(text);
    metrics_free(m);
}

/* A growing registry renders past the first buffer size. */
static void test_large_render(void **state)
{
    metrics *m = NULL;
    metrics_rpc *r = NULL;
    char path[64];
    assert_int_equal(metrics_new(&m), 0);
    assert_int_equal(metrics_add_rpc(m, 40, NULL, NULL, &r), 0);
    for (int i = 0; i < 40; i++) {
        snprintf(path, sizeof path, "/pkg.Service/Method%02d", i);
        assert_int_equal(metrics_rpc_add_method(r, path), 0);
        metrics_rpc_observe(r, path, i % 17, 0.001 * i);
    }
    char *text = render(m);
    assert_true(strlen(text) > 40 * 15 * 60);
    assert_non_null(strstr(text, "compact_rpc_call_duration_seconds_count{method=\"pkg.Service/"
                                 "Method39\"} 1\n"));
    free(text);
    metrics_free(m);
}

/* A table of families, all sampled with one argument; the first bad entry
 * stops it with its error; no registry (metrics off) registers nothing. */
static void test_sampled_table(void **state)
{
    static const metrics_sampled table[] = {
        {METRICS_GAUGE, "t_one", "One.", sample_value},
        {METRICS_COUNTER, "t_all_total", "All.", sample_value},
    };
    static const metrics_sampled bad[] = {
        {METRICS_GAUGE, "t_three", "Three.", sample_value},
        {METRICS_GAUGE, "t one", "A bad name.", sample_value},
        {METRICS_GAUGE, "t_never", "Not reached.", sample_value},
    };
    metrics *m = NULL;
    double v = 7;

    (void)state;
    assert_int_equal(metrics_add_sampled_table(NULL, table, 2, &v), 0);
    assert_int_equal(metrics_new(&m), 0);
    assert_int_equal(metrics_add_sampled_table(m, table, 2, &v), 0);
    assert_int_equal(metrics_add_sampled_table(m, bad, 3, &v), -EINVAL);
    char *text = render(m);
    assert_string_equal(text, "# HELP t_one One.\n"
                              "# TYPE t_one gauge\n"
                              "t_one 7\n"
                              "# HELP t_all_total All.\n"
                              "# TYPE t_all_total counter\n"
                              "t_all_total 7\n"
                              "# HELP t_three Three.\n"
                              "# TYPE t_three gauge\n"
                              "t_three 7\n");
    free(text);
    metrics_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_registry), cmocka_unit_test(test_sampled_text),
        cmocka_unit_test(test_sampled_table),  cmocka_unit_test(test_bad_names_refused),
        cmocka_unit_test(test_rpc_text),       cmocka_unit_test(test_label_escaping),
        cmocka_unit_test(test_large_render),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

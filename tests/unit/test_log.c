/* test_log.c: log.c writes one valid JSON object per line on stderr.
 *
 * stderr is redirected into a pipe that a reader thread drains, so the lines
 * checked are exactly the bytes log.c wrote; each is parsed with jansson,
 * which refuses invalid JSON and invalid UTF-8.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "log.h"

/* ---- capturing stderr --------------------------------------------------- */

typedef struct capture {
    int saved_fd;
    int read_fd;
    pthread_t reader;
    char *buf;
    size_t len, cap;
} capture;

static void *capture_reader(void *arg)
{
    capture *c = arg;
    char chunk[4096];
    ssize_t n;

    while ((n = read(c->read_fd, chunk, sizeof(chunk))) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        if (c->len + (size_t)n + 1 > c->cap) {
            c->cap = (c->len + (size_t)n + 1) * 2;
            c->buf = realloc(c->buf, c->cap);
            if (!c->buf)
                abort();
        }
        memcpy(c->buf + c->len, chunk, (size_t)n);
        c->len += (size_t)n;
    }
    return NULL;
}

static void capture_begin(capture *c)
{
    int fds[2];

    memset(c, 0, sizeof(*c));
    assert_int_equal(pipe(fds), 0);
    c->saved_fd = dup(STDERR_FILENO);
    assert_true(c->saved_fd >= 0);
    assert_true(dup2(fds[1], STDERR_FILENO) >= 0);
    close(fds[1]);
    c->read_fd = fds[0];
    c->buf = calloc(1, 1);
    c->cap = 1;
    assert_int_equal(pthread_create(&c->reader, NULL, capture_reader, c), 0);
}

/* Restores stderr and returns everything written, NUL-terminated; the
 * caller frees it. */
static char *capture_end(capture *c)
{
    /* Replacing fd 2 closes the last write end: the reader sees EOF. */
    assert_true(dup2(c->saved_fd, STDERR_FILENO) >= 0);
    close(c->saved_fd);
    pthread_join(c->reader, NULL);
    close(c->read_fd);
    c->buf[c->len] = '\0';
    return c->buf;
}

static size_t count_lines(const char *text)
{
    size_t n = 0;

    for (const char *p = text; *p; p++)
        n += *p == '\n';
    return n;
}

/* Parses the only line of `text`; fails the test unless there is exactly one
 * line and it is a JSON object. Caller json_decref()s. */
static json_t *only_line(const char *text)
{
    json_error_t jerr;
    json_t *j;

    assert_int_equal(count_lines(text), 1);
    assert_true(text[strlen(text) - 1] == '\n');
    j = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
    if (!j)
        fail_msg("not JSON (%s): %s", jerr.text, text);
    assert_true(json_is_object(j));
    return j;
}

static const char *str_field(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);

    if (!json_is_string(v))
        fail_msg("field %s is not a string", key);
    return json_string_value(v);
}

static int setup(void **state)
{
    log_init("testsvc", LOG_LEVEL_DEBUG);
    return 0;
}

/* ---- tests -------------------------------------------------------------- */

static void test_fields_and_time(void **state)
{
    capture c;
    struct tm tm = {0};
    int ms = -1;
    time_t before, after, t;
    json_t *j;
    char *out;

    before = time(NULL);
    capture_begin(&c);
    log_msg(LOG_LEVEL_INFO, "redis down", "addr", "127.0.0.1:6379", "attempt", "3", NULL);
    out = capture_end(&c);
    after = time(NULL);

    j = only_line(out);
    assert_string_equal(str_field(j, "level"), "info");
    assert_string_equal(str_field(j, "service"), "testsvc");
    assert_string_equal(str_field(j, "msg"), "redis down");
    assert_string_equal(str_field(j, "addr"), "127.0.0.1:6379");
    assert_string_equal(str_field(j, "attempt"), "3");
    /* "time" comes first, then level, service and msg. */
    assert_true(strncmp(out, "{\"time\":\"", 9) == 0);

    /* RFC 3339 UTC with milliseconds, between the clock before and after. */
    const char *ts = str_field(j, "time");
    assert_int_equal(strlen(ts), 24);
    assert_int_equal(sscanf(ts, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon,
                            &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms),
                     7);
    assert_true(ts[10] == 'T' && ts[19] == '.' && ts[23] == 'Z');
    assert_in_range(ms, 0, 999);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    t = timegm(&tm);
    assert_true(t >= before && t <= after);
    json_decref(j);
    free(out);
}

static void test_escaping(void **state)
{
    static const char raw[] = "q\"b\\s/n\nr\rt\tc\x01\x1f del\x7f e\xc3\xa9 euro\xe2\x82\xac "
                              "ff\xff trunc\xe2\x82 over\xc0\xaf sur\xed\xa0\x80 "
                              "big\xf4\x90\x80\x80 emoji\xf0\x9f\x98\x80";
    static const char want[] = "q\"b\\s/n\nr\rt\tc\x01\x1f del\x7f e\xc3\xa9 euro\xe2\x82\xac "
                               "ff\xef\xbf\xbd trunc\xef\xbf\xbd\xef\xbf\xbd over\xef\xbf\xbd"
                               "\xef\xbf\xbd sur\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd big"
                               "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd emoji"
                               "\xf0\x9f\x98\x80";
    capture c;
    json_t *j;
    char *out;

    capture_begin(&c);
    log_msg(LOG_LEVEL_WARN, raw, "k\"ey\n", raw, NULL);
    out = capture_end(&c);

    /* Nothing below 0x20 is written raw, and no invalid UTF-8 gets through. */
    for (const char *p = out; p[1]; p++)
        assert_true((unsigned char)*p >= 0x20);
    j = only_line(out);
    assert_string_equal(str_field(j, "level"), "warn");
    assert_string_equal(str_field(j, "msg"), want);
    assert_string_equal(str_field(j, "k\"ey\n"), want);
    json_decref(j);
    free(out);
}

static void test_null_value_ends_list(void **state)
{
    capture c;
    json_t *j;
    char *out;

    capture_begin(&c);
    log_msg(LOG_LEVEL_ERROR, "x", "peer", NULL);
    out = capture_end(&c);
    j = only_line(out);
    assert_string_equal(str_field(j, "level"), "error");
    assert_true(json_is_null(json_object_get(j, "peer")));
    json_decref(j);
    free(out);
}

static void test_level_filter(void **state)
{
    capture c;
    json_t *j;
    char *out;

    log_init("testsvc", LOG_LEVEL_WARN);
    assert_false(log_enabled(LOG_LEVEL_DEBUG));
    assert_false(log_enabled(LOG_LEVEL_INFO));
    assert_true(log_enabled(LOG_LEVEL_WARN));
    assert_true(log_enabled(LOG_LEVEL_ERROR));

    capture_begin(&c);
    log_msg(LOG_LEVEL_DEBUG, "hidden debug", NULL);
    log_msg(LOG_LEVEL_INFO, "hidden info", NULL);
    log_fmt(LOG_LEVEL_INFO, "hidden %d", 1);
    log_call("/a.B/C", 0, "OK", 1.0, "");
    log_msg(LOG_LEVEL_ERROR, "shown", NULL);
    out = capture_end(&c);
    j = only_line(out);
    assert_string_equal(str_field(j, "msg"), "shown");
    json_decref(j);
    free(out);

    log_init("testsvc", LOG_LEVEL_DEBUG);
    assert_true(log_enabled(LOG_LEVEL_DEBUG));
}

static void test_level_parse(void **state)
{
    log_level l = LOG_LEVEL_ERROR;

    assert_int_equal(log_level_parse("debug", &l), 0);
    assert_int_equal(l, LOG_LEVEL_DEBUG);
    assert_int_equal(log_level_parse("info", &l), 0);
    assert_int_equal(l, LOG_LEVEL_INFO);
    assert_int_equal(log_level_parse("warn", &l), 0);
    assert_int_equal(l, LOG_LEVEL_WARN);
    assert_int_equal(log_level_parse("warning", &l), 0);
    assert_int_equal(l, LOG_LEVEL_WARN);
    assert_int_equal(log_level_parse("error", &l), 0);
    assert_int_equal(l, LOG_LEVEL_ERROR);
    assert_int_equal(log_level_parse("verbose", &l), -EINVAL);
    assert_int_equal(log_level_parse("", &l), -EINVAL);
    assert_int_equal(log_level_parse(NULL, &l), -EINVAL);
    assert_int_equal(l, LOG_LEVEL_ERROR);
}

static void test_fmt(void **state)
{
    capture c;
    json_t *j;
    char *out;

    capture_begin(&c);
    log_fmt(LOG_LEVEL_DEBUG, "listening on %s port %d (%s)", "0.0.0.0", 50051, "\"quoted\"");
    out = capture_end(&c);
    j = only_line(out);
    assert_string_equal(str_field(j, "level"), "debug");
    assert_string_equal(str_field(j, "msg"), "listening on 0.0.0.0 port 50051 (\"quoted\")");
    json_decref(j);
    free(out);
}

static void test_call_ok(void **state)
{
    capture c;
    json_t *j;
    char *out;

    capture_begin(&c);
    log_call("/compact.membership.v1.Membership/GetEntity", 0, "OK", 1.23456, "");
    out = capture_end(&c);
    j = only_line(out);
    assert_string_equal(str_field(j, "level"), "info");
    assert_string_equal(str_field(j, "msg"), "call");
    assert_string_equal(str_field(j, "method"), "/compact.membership.v1.Membership/GetEntity");
    assert_string_equal(str_field(j, "code"), "OK");
    assert_true(json_is_real(json_object_get(j, "duration_ms")));
    assert_non_null(strstr(out, "\"duration_ms\":1.235"));
    assert_null(json_object_get(j, "message"));
    json_decref(j);
    free(out);
}

static void test_call_levels(void **state)
{
    static const struct {
        int code;
        const char *name;
        const char *level;
    } cases[] = {
        {2, "UNKNOWN", "warn"},    {4, "DEADLINE_EXCEEDED", "warn"},
        {13, "INTERNAL", "warn"},  {14, "UNAVAILABLE", "warn"},
        {15, "DATA_LOSS", "warn"}, {3, "INVALID_ARGUMENT", "info"},
        {5, "NOT_FOUND", "info"},  {10, "ABORTED", "info"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        capture c;
        json_t *j;
        char *out;

        capture_begin(&c);
        log_call("/m/X", cases[i].code, cases[i].name, 0.5, "entity \"x\" not\nfound");
        out = capture_end(&c);
        j = only_line(out);
        assert_string_equal(str_field(j, "level"), cases[i].level);
        assert_string_equal(str_field(j, "code"), cases[i].name);
        assert_string_equal(str_field(j, "message"), "entity \"x\" not\nfound");
        assert_non_null(strstr(out, "\"duration_ms\":0.500"));
        json_decref(j);
        free(out);
    }
}

/* Lines are cut to fit one atomic pipe write and stay valid JSON, whatever
 * the content: plain text, text made only of escapes, or invalid bytes. */
static void test_long_lines_truncated(void **state)
{
    static const char fill[] = {'a', '\x01', '\xff', '"'};
    size_t n = 100000;
    char *big = malloc(n + 1);

    for (size_t k = 0; k < sizeof(fill); k++) {
        capture c;
        json_t *j;
        char *out;
        const char *msg;

        memset(big, fill[k], n);
        big[n] = '\0';
        capture_begin(&c);
        log_msg(LOG_LEVEL_INFO, big, "after", "dropped", NULL);
        out = capture_end(&c);
        assert_true(strlen(out) <= PIPE_BUF);
        j = only_line(out);
        assert_true(json_is_true(json_object_get(j, "truncated")));
        msg = str_field(j, "msg");
        assert_true(strlen(msg) > 100);
        if (fill[k] == 'a')
            assert_memory_equal(msg, big, strlen(msg));
        assert_null(json_object_get(j, "after"));
        json_decref(j);
        free(out);

        /* The same through log_fmt and as an extra field's value. */
        capture_begin(&c);
        log_fmt(LOG_LEVEL_INFO, "%s", big);
        log_msg(LOG_LEVEL_INFO, "m", "value", big, NULL);
        log_call(big, 13, "INTERNAL", 1.0, big);
        out = capture_end(&c);
        assert_int_equal(count_lines(out), 3);
        for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
            json_error_t jerr;
            json_t *lj = json_loads(line, 0, &jerr);
            if (!lj)
                fail_msg("not JSON (%s)", jerr.text);
            assert_true(strlen(line) < PIPE_BUF);
            assert_true(json_is_true(json_object_get(lj, "truncated")));
            json_decref(lj);
        }
        free(out);
    }
    free(big);
}

/* Two threads log at once: every line must come out whole. */
typedef struct writer_arg {
    int id;
} writer_arg;

static void *writer(void *arg)
{
    const writer_arg *w = arg;
    char value[1500];

    memset(value, 'a' + w->id, sizeof(value) - 1);
    value[sizeof(value) - 1] = '\0';
    for (int i = 0; i < 300; i++)
        log_msg(LOG_LEVEL_INFO, "concurrent", "writer", w->id ? "1" : "0", "pad", value, NULL);
    return NULL;
}

static void test_threads_do_not_interleave(void **state)
{
    writer_arg args[2] = {{0}, {1}};
    pthread_t t[2];
    size_t lines = 0;
    capture c;
    char *out;

    capture_begin(&c);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, writer, &args[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    out = capture_end(&c);
    for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
        json_t *j = json_loads(line, 0, NULL);
        const char *pad;
        assert_non_null(j);
        pad = str_field(j, "pad");
        assert_int_equal(strlen(pad), 1499);
        assert_int_equal(pad[0], str_field(j, "writer")[0] == '1' ? 'b' : 'a');
        assert_int_equal(pad[1498], pad[0]);
        json_decref(j);
        lines++;
    }
    assert_int_equal(lines, 600);
    free(out);
}

/* ---- the batch ---------------------------------------------------------- */

/* stderr on a pipe nobody reads yet: what log.c wrote so far can be read
 * without blocking, so a test sees exactly when lines reach stderr. */
typedef struct held_stderr {
    int saved_fd, read_fd;
} held_stderr;

static void held_begin(held_stderr *h)
{
    int fds[2];

    assert_int_equal(pipe(fds), 0);
    h->saved_fd = dup(STDERR_FILENO);
    assert_true(dup2(fds[1], STDERR_FILENO) >= 0);
    close(fds[1]);
    h->read_fd = fds[0];
    assert_int_equal(fcntl(h->read_fd, F_SETFL, O_NONBLOCK), 0);
}

/* What is in the pipe now, NUL-terminated (caller frees). */
static char *held_read(held_stderr *h)
{
    size_t cap = 1 << 20, len = 0;
    char *buf = malloc(cap);
    ssize_t n;

    while ((n = read(h->read_fd, buf + len, cap - 1 - len)) > 0)
        len += (size_t)n;
    buf[len] = '\0';
    return buf;
}

static void held_end(held_stderr *h)
{
    assert_true(dup2(h->saved_fd, STDERR_FILENO) >= 0);
    close(h->saved_fd);
    close(h->read_fd);
}

/* Call lines wait in the batch until a flush, and come out whole. */
static void test_batch_holds_call_lines(void **state)
{
    held_stderr h;
    char *out;

    held_begin(&h);
    assert_int_equal(log_batch_begin(64 * 1024), 0);
    log_call("/a.B/C", 0, "OK", 1.5, "");
    log_call("/a.B/C", 5, "NOT_FOUND", 0.25, "entity \"x\" not found");
    assert_true(log_batch_pending() > 0);
    out = held_read(&h);
    assert_string_equal(out, "");
    free(out);
    log_batch_flush();
    assert_int_equal(log_batch_pending(), 0);
    out = held_read(&h);
    assert_int_equal(count_lines(out), 2);
    assert_non_null(strstr(out, "\"code\":\"OK\",\"duration_ms\":1.500}"));
    assert_non_null(strstr(out, "\"code\":\"NOT_FOUND\",\"duration_ms\":0.250,\"message\""));
    free(out);
    log_batch_end();
    held_end(&h);
}

/* Another line of the batch's thread flushes the batch first: order holds. */
static void test_batch_keeps_order(void **state)
{
    held_stderr h;
    char *out, *first, *second, *third;

    held_begin(&h);
    assert_int_equal(log_batch_begin(64 * 1024), 0);
    log_call("/a.B/First", 0, "OK", 1.0, "");
    log_msg(LOG_LEVEL_WARN, "second", NULL);
    log_call("/a.B/Third", 13, "INTERNAL", 1.0, "boom");
    out = held_read(&h);
    assert_int_equal(count_lines(out), 2); /* the third waits */
    free(out);
    log_batch_end(); /* the last end flushes */
    assert_int_equal(log_batch_pending(), 0);
    held_end(&h);

    capture c;
    capture_begin(&c);
    assert_int_equal(log_batch_begin(64 * 1024), 0);
    log_call("/a.B/First", 0, "OK", 1.0, "");
    log_msg(LOG_LEVEL_WARN, "second", NULL);
    log_call("/a.B/Third", 13, "INTERNAL", 1.0, "boom");
    log_batch_end();
    out = capture_end(&c);
    first = strstr(out, "First");
    second = strstr(out, "second");
    third = strstr(out, "Third");
    assert_true(first && second && third && first < second && second < third);
    free(out);
}

/* A full batch is written without waiting for a flush; opens nest. */
static void test_batch_full_and_nested(void **state)
{
    held_stderr h;
    char *out;
    int i;

    held_begin(&h);
    assert_int_equal(log_batch_begin(1), 0); /* raised to a few lines' worth */
    assert_int_equal(log_batch_begin(1), 0);
    /* 300 lines of about 130 bytes: more than the batch, less than the pipe. */
    for (i = 0; i < 300; i++)
        log_call("/a.B/C", 0, "OK", 0.1, "");
    out = held_read(&h);
    assert_true(count_lines(out) > 0 && count_lines(out) < 300);
    size_t early = count_lines(out);
    free(out);
    log_batch_end(); /* still open once */
    log_call("/a.B/C", 0, "OK", 0.1, "");
    assert_true(log_batch_pending() > 0);
    log_batch_end();
    out = held_read(&h);
    assert_int_equal(early + count_lines(out), 301);
    free(out);
    held_end(&h);
}

/* Lines of another thread never land inside the batch's lines, even when a
 * flush is much larger than PIPE_BUF; that thread cannot open a batch. */
typedef struct direct_writer {
    int begin_rc;
} direct_writer;

static void *direct_writer_main(void *arg)
{
    direct_writer *w = arg;
    char value[900];

    w->begin_rc = log_batch_begin(64 * 1024);
    memset(value, 'z', sizeof value - 1);
    value[sizeof value - 1] = '\0';
    for (int i = 0; i < 300; i++) {
        log_msg(LOG_LEVEL_INFO, "direct", "pad", value, NULL);
        log_call("/other/Thread", 0, "OK", 0.1, value);
    }
    return NULL;
}

static void test_batch_other_threads(void **state)
{
    direct_writer w = {0};
    char method[300];
    size_t lines = 0;
    pthread_t t;
    capture c;
    char *out;

    memset(method, 'm', sizeof method - 1);
    method[sizeof method - 1] = '\0';
    capture_begin(&c);
    assert_int_equal(log_batch_begin(256 * 1024), 0);
    assert_int_equal(pthread_create(&t, NULL, direct_writer_main, &w), 0);
    for (int i = 0; i < 3000; i++) {
        log_call(method, 0, "OK", 0.1, "");
        if (i % 500 == 499)
            log_batch_flush();
    }
    pthread_join(t, NULL);
    log_batch_end();
    out = capture_end(&c);
    assert_int_equal(w.begin_rc, -EBUSY);
    for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
        json_t *j = json_loads(line, 0, NULL);
        if (!j)
            fail_msg("not a JSON line: %.80s", line);
        json_decref(j);
        lines++;
    }
    assert_int_equal(lines, 3000 + 600);
    free(out);
}

/* Durations print as %.3f would, without printf. */
static void test_call_durations(void **state)
{
    static const struct {
        double ms;
        const char *text;
    } cases[] = {
        {0, "0.000"},
        {0.0004, "0.000"},
        {0.0006, "0.001"},
        {1.5, "1.500"},
        {12.345678, "12.346"},
        {999.9999, "1000.000"},
        {123456.789, "123456.789"},
        {2e9, "2000000000.000"},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char want[64];
        capture c;
        char *out;

        capture_begin(&c);
        log_call("/a.B/C", 0, "OK", cases[i].ms, "");
        out = capture_end(&c);
        snprintf(want, sizeof want, "\"duration_ms\":%s}", cases[i].text);
        if (strstr(out, want) == NULL)
            fail_msg("%g ms: want %s in %s", cases[i].ms, want, out);
        free(out);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_fields_and_time, setup),
        cmocka_unit_test_setup(test_escaping, setup),
        cmocka_unit_test_setup(test_null_value_ends_list, setup),
        cmocka_unit_test_setup(test_level_filter, setup),
        cmocka_unit_test_setup(test_level_parse, setup),
        cmocka_unit_test_setup(test_fmt, setup),
        cmocka_unit_test_setup(test_call_ok, setup),
        cmocka_unit_test_setup(test_call_levels, setup),
        cmocka_unit_test_setup(test_long_lines_truncated, setup),
        cmocka_unit_test_setup(test_threads_do_not_interleave, setup),
        cmocka_unit_test_setup(test_batch_holds_call_lines, setup),
        cmocka_unit_test_setup(test_batch_keeps_order, setup),
        cmocka_unit_test_setup(test_batch_full_and_nested, setup),
        cmocka_unit_test_setup(test_batch_other_threads, setup),
        cmocka_unit_test_setup(test_call_durations, setup),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

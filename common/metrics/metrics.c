/* metrics.c: the registry, the RPC counters and the exposition text.
 *
 * The registry is a list of families in registration order. A family is
 * either sampled (a callback read at render time) or the RPC family, whose
 * numbers live in rows allocated once by metrics_add_rpc: one row per
 * registered method plus the "other" row, each with its counters by code and
 * its histogram buckets. Rendering appends to one growing buffer.
 */
#include "metrics.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpc.h"

#define METRICS_OTHER "other"

typedef struct metrics__row {
    char *label; /* "pkg.Service/Method" */
    uint64_t calls[METRICS_CODES];
    uint64_t buckets[METRICS_BUCKETS + 1]; /* per bucket, not cumulative; last is +Inf */
    uint64_t count;
    double sum;
} metrics__row;

struct metrics_rpc {
    metrics__row *rows; /* capacity + 1: the last is "other" */
    size_t count, capacity;
    metrics_sample_fn in_flight;
    void *arg;
};

typedef struct metrics__family {
    struct metrics__family *next;
    metrics_type type;
    char *name, *help;
    metrics_sample_fn fn;
    void *arg;
    metrics_rpc *rpc; /* set: the RPC families, the rest unused */
} metrics__family;

struct metrics {
    metrics__family *first, *last;
    metrics_rpc *rpc;
};

typedef struct metrics__buf {
    char *data;
    size_t len, cap;
    int failed; /* an allocation failed: the text is void */
} metrics__buf;

static const double metrics_bounds[METRICS_BUCKETS] = METRICS_BUCKET_BOUNDS;

/* ---- registry ----------------------------------------------------------- */

int metrics_new(metrics **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? 0 : -ENOMEM;
}

static void metrics_rpc_free(metrics_rpc *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i <= r->capacity; i++)
        free(r->rows[i].label);
    free(r->rows);
    free(r);
}

void metrics_free(metrics *m)
{
    if (m == NULL)
        return;
    for (metrics__family *f = m->first, *next; f; f = next) {
        next = f->next;
        free(f->name);
        free(f->help);
        free(f);
    }
    metrics_rpc_free(m->rpc);
    free(m);
}

static int metrics_name_ok(const char *name)
{
    if (name == NULL || *name == '\0' || (*name >= '0' && *name <= '9'))
        return 0;
    for (const char *c = name; *c; c++) {
        int ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
                 *c == '_' || *c == ':';
        if (!ok)
            return 0;
    }
    return 1;
}

static int metrics_name_taken(const metrics *m, const char *name)
{
    for (const metrics__family *f = m->first; f; f = f->next)
        if (f->name && strcmp(f->name, name) == 0)
            return 1;
    return 0;
}

static void metrics_append_family(metrics *m, metrics__family *f)
{
    if (m->last)
        m->last->next = f;
    else
        m->first = f;
    m->last = f;
}

int metrics_add_sampled(metrics *m, metrics_type type, const char *name, const char *help,
                        metrics_sample_fn fn, void *arg)
{
    if (!metrics_name_ok(name) || fn == NULL || metrics_name_taken(m, name))
        return -EINVAL;
    metrics__family *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -ENOMEM;
    f->type = type;
    f->name = strdup(name);
    f->help = strdup(help ? help : "");
    f->fn = fn;
    f->arg = arg;
    if (f->name == NULL || f->help == NULL) {
        free(f->name);
        free(f->help);
        free(f);
        return -ENOMEM;
    }
    metrics_append_family(m, f);
    return 0;
}

int metrics_add_sampled_table(metrics *m, const metrics_sampled *table, size_t n, void *arg)
{
    int rc = 0;

    for (size_t i = 0; m && rc == 0 && i < n; i++)
        rc = metrics_add_sampled(m, table[i].type, table[i].name, table[i].help, table[i].fn, arg);
    return rc;
}

int metrics_add_rpc(metrics *m, size_t capacity, metrics_sample_fn in_flight, void *arg,
                    metrics_rpc **out)
{
    if (m->rpc)
        return -EEXIST;
    metrics__family *f = calloc(1, sizeof *f);
    metrics_rpc *r = calloc(1, sizeof *r);
    metrics__row *rows = calloc(capacity + 1, sizeof *rows);
    char *other = strdup(METRICS_OTHER);
    if (f == NULL || r == NULL || rows == NULL || other == NULL) {
        free(f);
        free(r);
        free(rows);
        free(other);
        return -ENOMEM;
    }
    rows[capacity].label = other;
    r->rows = rows;
    r->capacity = capacity;
    r->in_flight = in_flight;
    r->arg = arg;
    f->rpc = r;
    m->rpc = r;
    metrics_append_family(m, f);
    *out = r;
    return 0;
}

int metrics_rpc_add_method(metrics_rpc *r, const char *path)
{
    assert(r != NULL && path != NULL);
    const char *label = path[0] == '/' ? path + 1 : path;
    for (size_t i = 0; i < r->count; i++)
        if (strcmp(r->rows[i].label, label) == 0)
            return 0;
    if (r->count == r->capacity)
        return -ENOSPC;
    r->rows[r->count].label = strdup(label);
    if (r->rows[r->count].label == NULL)
        return -ENOMEM;
    r->count++;
    return 0;
}

/* ---- the hot path ------------------------------------------------------- */

static metrics__row *metrics_rpc_row(metrics_rpc *r, const char *path)
{
    const char *label = path && path[0] == '/' ? path + 1 : path;
    for (size_t i = 0; label && i < r->count; i++)
        if (strcmp(r->rows[i].label, label) == 0)
            return &r->rows[i];
    return &r->rows[r->capacity];
}

void metrics_rpc_observe(metrics_rpc *r, const char *path, int code, double seconds)
{
    if (r == NULL)
        return;
    metrics__row *row = metrics_rpc_row(r, path);
    if (code < 0 || code >= METRICS_CODES)
        code = RPC_UNKNOWN;
    if (!(seconds >= 0))
        seconds = 0; /* a clock step back, or NaN: still a call */
    size_t b = 0;
    while (b < METRICS_BUCKETS && seconds > metrics_bounds[b])
        b++;
    row->calls[code]++;
    row->buckets[b]++;
    row->count++;
    row->sum += seconds;
}

/* ---- rendering ---------------------------------------------------------- */

static void buf_printf(metrics__buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void buf_printf(metrics__buf *b, const char *fmt, ...)
{
    if (b->failed)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->failed = 1;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap * 2 + (size_t)n;
        char *data = realloc(b->data, cap);
        if (data == NULL) {
            b->failed = 1;
            return;
        }
        b->data = data;
        b->cap = cap;
    }
}

/* The shortest text that reads back as the same double; Prometheus'
 * spellings of the special values. */
static void metrics_format_double(double v, char *out, size_t size)
{
    if (isnan(v)) {
        snprintf(out, size, "NaN");
        return;
    }
    if (isinf(v)) {
        snprintf(out, size, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(out, size, "%.*g", prec, v);
        if (strtod(out, NULL) == v)
            return;
    }
}

/* A label value with \, " and newline escaped, as the format requires. */
static void buf_label(metrics__buf *b, const char *value)
{
    for (const char *c = value; *c; c++) {
        if (*c == '\\' || *c == '"')
            buf_printf(b, "\\%c", *c);
        else if (*c == '\n')
            buf_printf(b, "\\n");
        else
            buf_printf(b, "%c", *c);
    }
}

/* HELP text escapes only \ and newline. */
static void buf_header(metrics__buf *b, const char *name, const char *help, const char *type)
{
    buf_printf(b, "# HELP %s ", name);
    for (const char *c = help; *c; c++) {
        if (*c == '\\')
            buf_printf(b, "\\\\");
        else if (*c == '\n')
            buf_printf(b, "\\n");
        else
            buf_printf(b, "%c", *c);
    }
    buf_printf(b, "\n# TYPE %s %s\n", name, type);
}

static void render_sampled(metrics__buf *b, const metrics__family *f)
{
    char value[32];
    metrics_format_double(f->fn(f->arg), value, sizeof value);
    buf_header(b, f->name, f->help, f->type == METRICS_COUNTER ? "counter" : "gauge");
    buf_printf(b, "%s %s\n", f->name, value);
}

static void render_calls(metrics__buf *b, const metrics_rpc *r)
{
    buf_header(b, "compact_rpc_calls_total", "gRPC calls finished, by method and status code.",
               "counter");
    for (size_t i = 0; i <= r->capacity; i++) {
        const metrics__row *row = &r->rows[i];
        for (int code = 0; row->label && code < METRICS_CODES; code++) {
            if (row->calls[code] == 0)
                continue;
            buf_printf(b, "compact_rpc_calls_total{method=\"");
            buf_label(b, row->label);
            buf_printf(b, "\",code=\"%s\"} %llu\n", rpc_code_name((rpc_code)code),
                       (unsigned long long)row->calls[code]);
        }
    }
}

static void render_histogram_row(metrics__buf *b, const metrics__row *row)
{
    static const char *const name = "compact_rpc_call_duration_seconds";
    char text[32];
    uint64_t cumulative = 0;
    for (size_t i = 0; i <= METRICS_BUCKETS; i++) {
        cumulative += row->buckets[i];
        metrics_format_double(i < METRICS_BUCKETS ? metrics_bounds[i] : INFINITY, text,
                              sizeof text);
        buf_printf(b, "%s_bucket{method=\"", name);
        buf_label(b, row->label);
        buf_printf(b, "\",le=\"%s\"} %llu\n", text, (unsigned long long)cumulative);
    }
    metrics_format_double(row->sum, text, sizeof text);
    buf_printf(b, "%s_sum{method=\"", name);
    buf_label(b, row->label);
    buf_printf(b, "\"} %s\n%s_count{method=\"", text, name);
    buf_label(b, row->label);
    buf_printf(b, "\"} %llu\n", (unsigned long long)row->count);
}

static void render_rpc(metrics__buf *b, const metrics_rpc *r)
{
    render_calls(b, r);
    buf_header(b, "compact_rpc_call_duration_seconds",
               "Time from a call's arrival to its end, by method.", "histogram");
    for (size_t i = 0; i <= r->capacity; i++)
        if (r->rows[i].label && r->rows[i].count > 0)
            render_histogram_row(b, &r->rows[i]);
    if (r->in_flight) {
        char value[32];
        metrics_format_double(r->in_flight(r->arg), value, sizeof value);
        buf_header(b, "compact_rpc_calls_in_flight", "gRPC calls being handled now.", "gauge");
        buf_printf(b, "compact_rpc_calls_in_flight %s\n", value);
    }
}

int metrics_render(metrics *m, char **text, size_t *len)
{
    metrics__buf b = {.cap = 4096};
    b.data = malloc(b.cap);
    if (b.data == NULL)
        return -ENOMEM;
    b.data[0] = '\0';
    for (const metrics__family *f = m->first; f; f = f->next) {
        if (f->rpc)
            render_rpc(&b, f->rpc);
        else
            render_sampled(&b, f);
    }
    if (b.failed) {
        free(b.data);
        return -ENOMEM;
    }
    *text = b.data;
    *len = b.len;
    return 0;
}

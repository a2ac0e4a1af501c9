/* output.c: what compactctl prints: text tables, aligned field lines, JSON.
 *
 * Tables are for people (columns padded to the widest cell, measured in
 * characters so that names with accents line up); --json output is for
 * programs and goes through common/pbjson.h in the callers.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "iso_codes.h"

struct output_table {
    size_t ncols;
    size_t nrows;      /* including the header row, if any */
    size_t cap;        /* rows allocated */
    char **cells;      /* row-major, nrows * ncols, each malloc'd */
    int out_of_memory; /* a row was lost: printing reports it */
};

/* Characters of UTF-8 text: bytes that do not continue a sequence. */
static size_t output_width(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

static int output_table_grow(output_table *t)
{
    if (t->nrows < t->cap)
        return 0;
    size_t cap = t->cap ? t->cap * 2 : 16;
    char **cells = realloc(t->cells, cap * t->ncols * sizeof *cells);
    if (!cells)
        return -ENOMEM;
    t->cells = cells;
    t->cap = cap;
    return 0;
}

output_table *output_table_new(const char *const *headers, size_t ncols)
{
    output_table *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->ncols = ncols;
    if (headers && output_table_add(t, headers) < 0) {
        output_table_free(t);
        return NULL;
    }
    return t;
}

int output_table_add(output_table *t, const char *const *cells)
{
    if (output_table_grow(t) < 0)
        goto fail;
    char **row = t->cells + t->nrows * t->ncols;
    for (size_t i = 0; i < t->ncols; i++) {
        row[i] = strdup(cells[i] ? cells[i] : "");
        if (!row[i]) {
            while (i-- > 0)
                free(row[i]);
            goto fail;
        }
    }
    t->nrows++;
    return 0;
fail:
    t->out_of_memory = 1;
    return -ENOMEM;
}

int output_table_field(output_table *t, const char *name, const char *value)
{
    if (!value)
        return 0;
    char label[64];
    snprintf(label, sizeof label, "%s:", name);
    const char *cells[] = {label, value};
    return output_table_add(t, cells);
}

int output_table_print(const output_table *t, FILE *out)
{
    size_t *widths = calloc(t->ncols, sizeof *widths);
    if (!widths || t->out_of_memory) {
        free(widths);
        output_oom();
        return -ENOMEM;
    }
    for (size_t r = 0; r < t->nrows; r++)
        for (size_t c = 0; c < t->ncols; c++) {
            size_t w = output_width(t->cells[r * t->ncols + c]);
            if (w > widths[c])
                widths[c] = w;
        }
    for (size_t r = 0; r < t->nrows; r++) {
        for (size_t c = 0; c < t->ncols; c++) {
            const char *cell = t->cells[r * t->ncols + c];
            fputs(cell, out);
            if (c + 1 < t->ncols)
                fprintf(out, "%*s", (int)(widths[c] - output_width(cell) + 2), "");
        }
        fputc('\n', out);
    }
    free(widths);
    return 0;
}

void output_table_free(output_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    free(t);
}

int output_oom(void)
{
    fprintf(stderr, "compactctl: out of memory\n");
    return CLI_EXIT_FAIL;
}

int output_json(json_t *json)
{
    if (!json)
        return output_oom();
    json_dumpf(json, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fputc('\n', stdout);
    json_decref(json);
    return 0;
}

const char *output_time(const Google__Protobuf__Timestamp *ts, char *buf, size_t len)
{
    buf[0] = '\0';
    if (!ts || (ts->seconds == 0 && ts->nanos == 0))
        return buf;
    time_t secs = (time_t)ts->seconds;
    struct tm tm;
    if (gmtime_r(&secs, &tm))
        strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

const char *output_money(const char *currency, int64_t minor, int with_currency, char *buf,
                         size_t len)
{
    int d = strcmp(currency, "USD*") == 0 ? 2 : iso_currency_minor_units(currency);
    uint64_t a = minor < 0 ? (uint64_t)0 - (uint64_t)minor : (uint64_t)minor, scale = 1;
    char whole[24], grouped[40];
    int n, at = 0;

    if (d < 0 || d > 4)
        d = 2;
    for (int i = 0; i < d; i++)
        scale *= 10;
    n = snprintf(whole, sizeof whole, "%llu", (unsigned long long)(a / scale));
    for (int i = 0; i < n; i++) {
        if (i && (n - i) % 3 == 0)
            grouped[at++] = ',';
        grouped[at++] = whole[i];
    }
    grouped[at] = '\0';
    if (d) {
        uint64_t rest = a % scale;
        grouped[at++] = '.';
        for (int i = d - 1; i >= 0; i--, rest /= 10)
            grouped[at + i] = (char)('0' + rest % 10);
        grouped[at + d] = '\0';
    }
    snprintf(buf, len, "%s%s%s%s", with_currency ? currency : "", with_currency ? " " : "",
             minor < 0 ? "-" : "", grouped);
    return buf;
}

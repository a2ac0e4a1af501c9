/* pbjson_wkt.c: the well-known types with a JSON form of their own.
 *
 * google.protobuf.Timestamp is written as RFC 3339 text in UTC and read
 * from RFC 3339 with any offset; google.protobuf.FieldMask is written as
 * "aB.cD,e" and read back into snake_case paths. pbjson.c calls these by
 * descriptor name; a message that does not have the expected fields is
 * written as a plain message and rejected when read.
 */
#include "pbjson_internal.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z, the Timestamp range. */
#define PBJSON_TS_MIN INT64_C(-62135596800)
#define PBJSON_TS_MAX INT64_C(253402300799)

/* Days since 1970-01-01 of a proleptic Gregorian date, and back
 * (H. Hinnant's algorithms). */
static int64_t pbjson_days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void pbjson_civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    int64_t era, doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* ---- message to JSON ---------------------------------------------------- */

static int pbjson_get_i64(const ProtobufCMessage *msg, const char *name, int64_t *out)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(msg->descriptor, name);

    if (!f || f->label == PROTOBUF_C_LABEL_REPEATED)
        return -EINVAL;
    if (f->type == PROTOBUF_C_TYPE_INT64)
        *out = *(const int64_t *)pbjson__at(msg, f->offset);
    else if (f->type == PROTOBUF_C_TYPE_INT32)
        *out = *(const int32_t *)pbjson__at(msg, f->offset);
    else
        return -EINVAL;
    return 0;
}

/* RFC 3339 in UTC, with 0, 3, 6 or 9 fractional digits; NULL if out of the
 * Timestamp range (the caller then writes the plain message). */
json_t *pbjson__timestamp_out(const ProtobufCMessage *msg)
{
    int64_t secs, nanos, days, year, rem;
    int month, day;
    char buf[128], frac[24] = "";

    if (pbjson_get_i64(msg, "seconds", &secs) < 0 || pbjson_get_i64(msg, "nanos", &nanos) < 0 ||
        secs < PBJSON_TS_MIN || secs > PBJSON_TS_MAX || nanos < 0 || nanos > 999999999)
        return NULL;
    days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
    rem = secs - days * 86400;
    pbjson_civil_from_days(days, &year, &month, &day);
    if (nanos % 1000000 == 0 && nanos)
        snprintf(frac, sizeof(frac), ".%03" PRId64, nanos / 1000000);
    else if (nanos % 1000 == 0 && nanos)
        snprintf(frac, sizeof(frac), ".%06" PRId64, nanos / 1000);
    else if (nanos)
        snprintf(frac, sizeof(frac), ".%09" PRId64, nanos);
    snprintf(buf, sizeof(buf), "%04" PRId64 "-%02d-%02dT%02d:%02d:%02d%sZ", year, month, day,
             (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60), frac);
    return json_string(buf);
}

/* "a_b.c_d" -> "aB.cD", joined with commas. NULL (plain message) if the
 * paths are not simple strings. */
json_t *pbjson__field_mask_out(const ProtobufCMessage *msg)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(msg->descriptor, "paths");
    size_t n, total = 1;
    char **paths;
    char *out;
    json_t *j;

    if (!f || f->label != PROTOBUF_C_LABEL_REPEATED || f->type != PROTOBUF_C_TYPE_STRING)
        return NULL;
    n = *(const size_t *)pbjson__at(msg, f->quantifier_offset);
    paths = *(char ***)pbjson__at(msg, f->offset);
    for (size_t i = 0; i < n; i++) {
        if (!paths[i])
            return NULL;
        total += strlen(paths[i]) + 1;
    }
    out = malloc(total);
    if (!out)
        return NULL;
    out[0] = '\0';
    for (size_t i = 0, len = 0; i < n; i++) {
        if (i)
            out[len++] = ',';
        pbjson__json_name(paths[i], out + len, total - len);
        len += strlen(out + len);
    }
    j = pbjson__string_out(out);
    free(out);
    return j;
}

/* ---- JSON to message ---------------------------------------------------- */

static int pbjson_set_i64(ProtobufCMessage *msg, const char *name, int64_t v)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(msg->descriptor, name);

    if (!f || f->label == PROTOBUF_C_LABEL_REPEATED)
        return -EINVAL;
    if (f->type == PROTOBUF_C_TYPE_INT64)
        *(int64_t *)pbjson__at(msg, f->offset) = v;
    else if (f->type == PROTOBUF_C_TYPE_INT32)
        *(int32_t *)pbjson__at(msg, f->offset) = (int32_t)v;
    else
        return -EINVAL;
    return 0;
}

/* Reads exactly `width` digits at *p into *out. */
static int pbjson_digits(const char **p, int width, int *out)
{
    int v = 0;

    for (int i = 0; i < width; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += width;
    *out = v;
    return 0;
}

static int pbjson_expect(const char **p, const char *chars)
{
    if (**p == '\0' || !strchr(chars, **p))
        return -1;
    (*p)++;
    return 0;
}

static int pbjson_days_in_month(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    return days[m - 1] + (m == 2 && leap);
}

/* "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)" -> seconds and nanos. */
static int pbjson_parse_rfc3339(const char *s, int64_t *secs, int32_t *nanos)
{
    const char *p = s;
    int y, mo, d, h, mi, se, oh = 0, om = 0, sign = 0;
    int32_t ns = 0;
    int ndig = 0;

    if (pbjson_digits(&p, 4, &y) || pbjson_expect(&p, "-") || pbjson_digits(&p, 2, &mo) ||
        pbjson_expect(&p, "-") || pbjson_digits(&p, 2, &d) || pbjson_expect(&p, "Tt") ||
        pbjson_digits(&p, 2, &h) || pbjson_expect(&p, ":") || pbjson_digits(&p, 2, &mi) ||
        pbjson_expect(&p, ":") || pbjson_digits(&p, 2, &se))
        return -1;
    if (*p == '.') {
        for (p++; isdigit((unsigned char)*p); p++, ndig++) {
            if (ndig >= 9)
                return -1;
            ns = ns * 10 + (*p - '0');
        }
        if (ndig == 0)
            return -1;
        for (int i = ndig; i < 9; i++)
            ns *= 10;
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else {
        sign = *p == '+' ? 1 : *p == '-' ? -1 : 0;
        p++;
        if (!sign || pbjson_digits(&p, 2, &oh) || pbjson_expect(&p, ":") ||
            pbjson_digits(&p, 2, &om) || oh > 23 || om > 59)
            return -1;
    }
    if (*p || y < 1 || mo < 1 || mo > 12 || d < 1 || d > pbjson_days_in_month(y, mo) || h > 23 ||
        mi > 59 || se > 59)
        return -1;
    *secs = pbjson_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se -
            sign * (oh * 3600 + om * 60);
    *nanos = ns;
    return *secs < PBJSON_TS_MIN || *secs > PBJSON_TS_MAX ? -1 : 0;
}

int pbjson__timestamp_in(pbjson_reader *rd, const json_t *j, ProtobufCMessage *msg)
{
    int64_t secs;
    int32_t nanos;

    if (!json_is_string(j) || pbjson_parse_rfc3339(json_string_value(j), &secs, &nanos) < 0)
        return pbjson__fail(rd, "expected an RFC 3339 time such as \"2026-11-30T03:19:51Z\"");
    if (pbjson_set_i64(msg, "seconds", secs) < 0 || pbjson_set_i64(msg, "nanos", nanos) < 0)
        return pbjson__fail(rd, "%s has no seconds and nanos", msg->descriptor->name);
    return 0;
}

/* "fooBar.baz" -> "foo_bar.baz" (snake_case input is left as it is). */
static char *pbjson_path_to_snake(const char *s, size_t n)
{
    char *out = malloc(n * 2 + 1);
    size_t o = 0;

    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (isupper((unsigned char)s[i])) {
            out[o++] = '_';
            out[o++] = (char)tolower((unsigned char)s[i]);
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    return out;
}

int pbjson__field_mask_in(pbjson_reader *rd, const json_t *j, ProtobufCMessage *msg)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(msg->descriptor, "paths");
    const char *s, *p;
    size_t n = 1, *count;
    char ***arr;

    if (!f || f->label != PROTOBUF_C_LABEL_REPEATED || f->type != PROTOBUF_C_TYPE_STRING)
        return pbjson__fail(rd, "%s has no repeated string paths", msg->descriptor->name);
    if (pbjson__get_string(rd, j, &s) < 0)
        return -EINVAL;
    if (*s == '\0')
        return 0;
    for (p = s; *p; p++)
        n += *p == ',';
    count = pbjson__at(msg, f->quantifier_offset);
    arr = pbjson__at(msg, f->offset);
    if (!(*arr = calloc(n, sizeof(char *))))
        return pbjson__fail(rd, "out of memory");
    for (p = s; *count < n; p += strcspn(p, ",") + 1) {
        size_t len = strcspn(p, ",");
        if (len == 0)
            return pbjson__fail(rd, "expected field paths separated by commas, got \"%s\"", s);
        if (!((*arr)[*count] = pbjson_path_to_snake(p, len)))
            return pbjson__fail(rd, "out of memory");
        (*count)++;
    }
    return 0;
}

/* pbjson.c: protobuf-c messages to and from JSON, driven by descriptors.
 *
 * Writing follows the proto3 JSON mapping: a field appears when it is set
 * (proto3 scalars when not zero, oneof members when selected, optional
 * fields when their has_ flag is set), under its lowerCamelCase name.
 *
 * Reading builds the message exactly as protobuf_c_message_unpack() would
 * with the default allocator, so protobuf_c_message_free_unpacked(msg, NULL)
 * frees it: every message is malloc'd and initialised by its descriptor
 * (strings point at the descriptor's default until set), every string, byte
 * buffer and array is malloc'd. The message is consistent after each step,
 * which is how an error frees everything: an array's count only grows once
 * an element is complete, a submessage is attached before it is filled, and
 * a oneof case is set only once its member holds a value.
 *
 * The well-known types with a JSON form of their own (Timestamp, FieldMask)
 * are in pbjson_wkt.c; pbjson.c hands them over by descriptor name.
 */
#include "pbjson.h"
#include "pbjson_internal.h"
#include "utf8.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PBJSON_NAME_MAX 256
#define PBJSON_MAX_DEPTH 64

static const char pbjson_timestamp_name[] = "google.protobuf.Timestamp";
static const char pbjson_field_mask_name[] = "google.protobuf.FieldMask";

/* ---- shared helpers ----------------------------------------------------- */

/* protoc's ToJsonName: drop each '_' and upper-case the letter after it. */
void pbjson__json_name(const char *proto, char *out, size_t size)
{
    size_t n = 0;
    int upper = 0;

    for (const char *c = proto; *c && n + 1 < size; c++) {
        if (*c == '_') {
            upper = 1;
            continue;
        }
        out[n++] = upper ? (char)toupper((unsigned char)*c) : *c;
        upper = 0;
    }
    out[n] = '\0';
}

static size_t pbjson_elem_size(ProtobufCType type)
{
    switch (type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        return sizeof(int32_t);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return sizeof(int64_t);
    case PROTOBUF_C_TYPE_FLOAT:
        return sizeof(float);
    case PROTOBUF_C_TYPE_DOUBLE:
        return sizeof(double);
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_ENUM:
        return sizeof(int);
    case PROTOBUF_C_TYPE_STRING:
        return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(ProtobufCMessage *);
    }
    return 0;
}

static const char pbjson_b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* ---- message to JSON ---------------------------------------------------- */

static json_t *pbjson_message_out(const ProtobufCMessage *msg);

/* protobuf-c does not check that strings from the wire are UTF-8; bytes that
 * are not become U+FFFD, so that the JSON stays valid. */
json_t *pbjson__string_out(const char *s)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    size_t n = strlen((const char *)p), len = 0;
    json_t *j = json_stringn((const char *)p, n);
    char *fixed;

    if (j)
        return j;
    if (!(fixed = malloc(n * 3 + 1)))
        return NULL;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t ulen = utf8_decode(p + i, n - i, &cp);
        if (ulen == 0) {
            memcpy(fixed + len, "\xef\xbf\xbd", 3);
            len += 3;
            i++;
        } else {
            memcpy(fixed + len, p + i, ulen);
            len += ulen;
            i += ulen;
        }
    }
    j = json_stringn(fixed, len);
    free(fixed);
    return j;
}

static json_t *pbjson_bytes_out(const ProtobufCBinaryData *bd)
{
    size_t n = bd->len, outlen = (n + 2) / 3 * 4, o = 0;
    char *out = malloc(outlen + 1);
    json_t *j;

    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)bd->data[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)bd->data[i + 1] << 8;
        if (i + 2 < n)
            v |= bd->data[i + 2];
        out[o++] = pbjson_b64[(v >> 18) & 63];
        out[o++] = pbjson_b64[(v >> 12) & 63];
        out[o++] = i + 1 < n ? pbjson_b64[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? pbjson_b64[v & 63] : '=';
    }
    j = json_stringn(out, o);
    free(out);
    return j;
}

/* JSON has no NaN or infinities: the mapping spells them as strings. A float
 * is written with the fewest digits that read back as the same float. */
static json_t *pbjson_double_out(double v, int is_float)
{
    char buf[40];

    if (isnan(v))
        return json_string("NaN");
    if (isinf(v))
        return json_string(v > 0 ? "Infinity" : "-Infinity");
    if (is_float) {
        for (int prec = 6; prec <= 9; prec++) {
            snprintf(buf, sizeof(buf), "%.*g", prec, v);
            if (strtof(buf, NULL) == (float)v)
                return json_real(strtod(buf, NULL));
        }
    }
    return json_real(v);
}

static json_t *pbjson_enum_out(const ProtobufCEnumDescriptor *ed, int v)
{
    const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(ed, v);

    return ev ? json_string(ev->name) : json_integer(v);
}

static json_t *pbjson_int64_out(int64_t v, int is_unsigned)
{
    char buf[32];

    if (is_unsigned)
        snprintf(buf, sizeof(buf), "%" PRIu64, (uint64_t)v);
    else
        snprintf(buf, sizeof(buf), "%" PRId64, v);
    return json_string(buf);
}

/* One value of field f stored at p. */
static json_t *pbjson_value_out(const ProtobufCFieldDescriptor *f, const void *p)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        return json_integer(*(const int32_t *)p);
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        return json_integer(*(const uint32_t *)p);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        return pbjson_int64_out(*(const int64_t *)p, 0);
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return pbjson_int64_out(*(const int64_t *)p, 1);
    case PROTOBUF_C_TYPE_FLOAT:
        return pbjson_double_out(*(const float *)p, 1);
    case PROTOBUF_C_TYPE_DOUBLE:
        return pbjson_double_out(*(const double *)p, 0);
    case PROTOBUF_C_TYPE_BOOL:
        return json_boolean(*(const protobuf_c_boolean *)p);
    case PROTOBUF_C_TYPE_ENUM:
        return pbjson_enum_out(f->descriptor, *(const int *)p);
    case PROTOBUF_C_TYPE_STRING:
        return pbjson__string_out(*(char *const *)p);
    case PROTOBUF_C_TYPE_BYTES:
        return pbjson_bytes_out(p);
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *sub = *(ProtobufCMessage *const *)p;
        return sub ? pbjson_message_out(sub) : json_null();
    }
    }
    return NULL;
}

/* A proto3 field without presence is written only when not zero. */
static int pbjson_is_zero(const ProtobufCFieldDescriptor *f, const void *p)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *)p;
        return !s || !*s;
    }
    case PROTOBUF_C_TYPE_BYTES:
        return ((const ProtobufCBinaryData *)p)->len == 0;
    case PROTOBUF_C_TYPE_MESSAGE:
        return *(ProtobufCMessage *const *)p == NULL;
    case PROTOBUF_C_TYPE_FLOAT:
        return *(const float *)p == 0; /* as protobuf-c: -0 is not packed either */
    case PROTOBUF_C_TYPE_DOUBLE:
        return *(const double *)p == 0;
    default: {
        /* Integers, bools and enums: all bytes zero. */
        const unsigned char *b = p;
        for (size_t i = 0; i < pbjson_elem_size(f->type); i++) {
            if (b[i])
                return 0;
        }
        return 1;
    }
    }
}

/* Whether field f of msg is written, the same test protobuf-c packs by. */
static int pbjson_present(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
    const void *member = pbjson__at(msg, f->offset);
    const void *q = pbjson__at(msg, f->quantifier_offset);

    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
        return *(const uint32_t *)q == f->id;
    switch (f->label) {
    case PROTOBUF_C_LABEL_REQUIRED:
        return 1;
    case PROTOBUF_C_LABEL_REPEATED:
        return *(const size_t *)q > 0;
    case PROTOBUF_C_LABEL_OPTIONAL:
        if (f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_MESSAGE) {
            const void *ptr = *(const void *const *)member;
            return ptr && ptr != f->default_value;
        }
        return *(const protobuf_c_boolean *)q != 0;
    case PROTOBUF_C_LABEL_NONE:
        return !pbjson_is_zero(f, member);
    }
    return 0;
}

static json_t *pbjson_repeated_out(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
    size_t n = *(const size_t *)pbjson__at(msg, f->quantifier_offset);
    const char *arr = *(char *const *)pbjson__at(msg, f->offset);
    size_t size = pbjson_elem_size(f->type);
    json_t *a = json_array();

    for (size_t i = 0; a && i < n; i++) {
        json_t *v = pbjson_value_out(f, arr + i * size);
        if (!v || json_array_append_new(a, v) < 0) {
            json_decref(a);
            a = NULL;
        }
    }
    return a;
}

static json_t *pbjson_message_out(const ProtobufCMessage *msg)
{
    const ProtobufCMessageDescriptor *desc = msg->descriptor;
    char name[PBJSON_NAME_MAX];
    json_t *obj = NULL;

    if (strcmp(desc->name, pbjson_timestamp_name) == 0)
        obj = pbjson__timestamp_out(msg);
    else if (strcmp(desc->name, pbjson_field_mask_name) == 0)
        obj = pbjson__field_mask_out(msg);
    if (obj)
        return obj;
    obj = json_object();
    for (unsigned i = 0; obj && i < desc->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &desc->fields[i];
        json_t *v;
        if (!pbjson_present(msg, f))
            continue;
        if (f->label == PROTOBUF_C_LABEL_REPEATED)
            v = pbjson_repeated_out(msg, f);
        else
            v = pbjson_value_out(f, pbjson__at(msg, f->offset));
        pbjson__json_name(f->name, name, sizeof(name));
        if (!v || json_object_set_new(obj, name, v) < 0) {
            json_decref(obj);
            obj = NULL;
        }
    }
    return obj;
}

json_t *pbjson_from_message(const ProtobufCMessage *msg)
{
    if (!msg || !msg->descriptor)
        return NULL;
    return pbjson_message_out(msg);
}

/* ---- JSON to message ---------------------------------------------------- */

static int pbjson_message_in(pbjson_reader *rd, const ProtobufCMessageDescriptor *desc,
                             const json_t *json, ProtobufCMessage *msg);

int pbjson__fail(pbjson_reader *rd, const char *fmt, ...)
{
    char what[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    if (rd->err && rd->errlen) {
        if (rd->len)
            snprintf(rd->err, rd->errlen, "%s: %s", rd->path, what);
        else
            snprintf(rd->err, rd->errlen, "%s", what);
    }
    return -EINVAL;
}

/* Appends ".name" (or "name" at the top) to the path; returns the old length
 * to give back to pbjson_path_pop(). */
static size_t pbjson_path_push(pbjson_reader *rd, const char *name)
{
    size_t mark = rd->len;
    int n =
        snprintf(rd->path + rd->len, sizeof(rd->path) - rd->len, "%s%s", rd->len ? "." : "", name);

    if (n > 0)
        rd->len +=
            (size_t)n < sizeof(rd->path) - rd->len ? (size_t)n : sizeof(rd->path) - rd->len - 1;
    return mark;
}

static size_t pbjson_path_index(pbjson_reader *rd, size_t i)
{
    char idx[32];
    size_t mark = rd->len;
    size_t room = sizeof(rd->path) - rd->len;

    snprintf(idx, sizeof(idx), "[%zu]", i);
    if (strlen(idx) < room) {
        strcpy(rd->path + rd->len, idx);
        rd->len += strlen(idx);
    }
    return mark;
}

static void pbjson_path_pop(pbjson_reader *rd, size_t mark)
{
    rd->len = mark;
    rd->path[mark] = '\0';
}

static const char *pbjson_type_name(const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    }
    return "something else";
}

/* A string without NUL bytes, which C strings cannot hold. */
int pbjson__get_string(pbjson_reader *rd, const json_t *j, const char **out)
{
    if (!json_is_string(j))
        return pbjson__fail(rd, "expected a string, got %s", pbjson_type_name(j));
    if (strlen(json_string_value(j)) != json_string_length(j))
        return pbjson__fail(rd, "expected a string without NUL characters");
    *out = json_string_value(j);
    return 0;
}

/* A whole number from a JSON integer, an integral real, or a decimal string
 * (the mapping's form for 64-bit values). Sets *neg for negative values. */
static int pbjson_get_whole(const json_t *j, int *neg, uint64_t *mag)
{
    if (json_is_integer(j)) {
        json_int_t v = json_integer_value(j);
        *neg = v < 0;
        *mag = v < 0 ? (uint64_t)(-(v + 1)) + 1 : (uint64_t)v;
        return 0;
    }
    if (json_is_real(j)) {
        double v = json_real_value(j);
        if (v != floor(v) || fabs(v) >= 18446744073709551616.0)
            return -EINVAL;
        *neg = v < 0;
        *mag = (uint64_t)fabs(v);
        return 0;
    }
    if (json_is_string(j)) {
        const char *s = json_string_value(j);
        char *end;
        *neg = *s == '-';
        s += *neg;
        if (!isdigit((unsigned char)*s))
            return -EINVAL;
        errno = 0;
        *mag = strtoull(s, &end, 10);
        if (errno || *end || (size_t)(end - json_string_value(j)) != json_string_length(j))
            return -EINVAL;
        return 0;
    }
    return -EINVAL;
}

static int pbjson_get_signed(pbjson_reader *rd, const json_t *j, int64_t min, int64_t max,
                             int64_t *out)
{
    uint64_t mag;
    int neg;

    if (pbjson_get_whole(j, &neg, &mag) == 0) {
        if ((!neg || mag == 0) && mag <= (uint64_t)max) {
            *out = (int64_t)mag;
            return 0;
        }
        if (neg && mag - 1 <= (uint64_t)(-(min + 1))) {
            *out = -(int64_t)(mag - 1) - 1;
            return 0;
        }
    }
    return pbjson__fail(rd, "expected an integer from %" PRId64 " to %" PRId64, min, max);
}

static int pbjson_get_unsigned(pbjson_reader *rd, const json_t *j, uint64_t max, uint64_t *out)
{
    uint64_t mag;
    int neg;

    if (pbjson_get_whole(j, &neg, &mag) == 0 && (!neg || mag == 0) && mag <= max) {
        *out = mag;
        return 0;
    }
    return pbjson__fail(rd, "expected an integer from 0 to %" PRIu64, max);
}

static int pbjson_get_double(pbjson_reader *rd, const json_t *j, int is_float, double *out)
{
    double v;

    if (json_is_number(j)) {
        v = json_number_value(j);
    } else if (json_is_string(j)) {
        const char *s = json_string_value(j);
        char *end;
        if (strcmp(s, "NaN") == 0) {
            *out = NAN;
            return 0;
        }
        if (strcmp(s, "Infinity") == 0 || strcmp(s, "-Infinity") == 0) {
            *out = *s == '-' ? -INFINITY : INFINITY;
            return 0;
        }
        errno = 0;
        v = strtod(s, &end);
        if (!*s || isspace((unsigned char)*s) || *end || errno || !isfinite(v))
            return pbjson__fail(rd, "expected a number, got \"%s\"", s);
    } else {
        return pbjson__fail(rd, "expected a number, got %s", pbjson_type_name(j));
    }
    if (is_float && fabs(v) > FLT_MAX)
        return pbjson__fail(rd, "number out of the range of a float");
    *out = v;
    return 0;
}

static int pbjson_get_enum(pbjson_reader *rd, const ProtobufCEnumDescriptor *ed, const json_t *j,
                           int *out)
{
    int64_t v;

    if (json_is_string(j)) {
        const ProtobufCEnumValue *ev =
            protobuf_c_enum_descriptor_get_value_by_name(ed, json_string_value(j));
        if (!ev)
            return pbjson__fail(rd, "unknown enum value \"%s\" for %s", json_string_value(j),
                                ed->name);
        *out = ev->value;
        return 0;
    }
    if (json_is_number(j) && pbjson_get_signed(rd, j, INT32_MIN, INT32_MAX, &v) == 0) {
        *out = (int)v;
        return 0;
    }
    return pbjson__fail(rd, "expected a %s name or number, got %s", ed->name, pbjson_type_name(j));
}

static int pbjson_b64_value(int c)
{
    if (c == '-')
        return 62; /* URL-safe alphabet */
    if (c == '_')
        return 63;
    const char *p = c ? strchr(pbjson_b64, c) : NULL;
    return p ? (int)(p - pbjson_b64) : -1;
}

/* Standard or URL-safe base64, padding optional. */
static int pbjson_get_bytes(pbjson_reader *rd, const json_t *j, ProtobufCBinaryData *out)
{
    const char *s;
    size_t n, o = 0;
    uint32_t acc = 0;
    int bits = 0;
    uint8_t *buf;

    if (pbjson__get_string(rd, j, &s) < 0)
        return -EINVAL;
    n = strlen(s);
    while (n > 0 && s[n - 1] == '=' && strlen(s) - n < 2)
        n--;
    if (n % 4 == 1)
        return pbjson__fail(rd, "expected base64 data");
    buf = malloc(n * 3 / 4 + 1);
    if (!buf)
        return pbjson__fail(rd, "out of memory");
    for (size_t i = 0; i < n; i++) {
        int v = pbjson_b64_value((unsigned char)s[i]);
        if (v < 0) {
            free(buf);
            return pbjson__fail(rd, "expected base64 data");
        }
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[o++] = (uint8_t)(acc >> bits);
        }
    }
    out->len = o;
    out->data = buf;
    if (o == 0) {
        free(buf);
        out->data = NULL;
    }
    return 0;
}

static char *pbjson_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);

    if (d)
        memcpy(d, s, n);
    return d;
}

/* Reads one non-message value of field f into p (an element or the member). */
static int pbjson_scalar_in(pbjson_reader *rd, const ProtobufCFieldDescriptor *f, const json_t *j,
                            void *p)
{
    int64_t i = 0;
    uint64_t u = 0;
    double d = 0;
    const char *s;

    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        if (pbjson_get_signed(rd, j, INT32_MIN, INT32_MAX, &i) < 0)
            return -EINVAL;
        *(int32_t *)p = (int32_t)i;
        return 0;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        if (pbjson_get_unsigned(rd, j, UINT32_MAX, &u) < 0)
            return -EINVAL;
        *(uint32_t *)p = (uint32_t)u;
        return 0;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        return pbjson_get_signed(rd, j, INT64_MIN, INT64_MAX, (int64_t *)p);
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return pbjson_get_unsigned(rd, j, UINT64_MAX, (uint64_t *)p);
    case PROTOBUF_C_TYPE_FLOAT:
        if (pbjson_get_double(rd, j, 1, &d) < 0)
            return -EINVAL;
        *(float *)p = (float)d;
        return 0;
    case PROTOBUF_C_TYPE_DOUBLE:
        return pbjson_get_double(rd, j, 0, (double *)p);
    case PROTOBUF_C_TYPE_BOOL:
        if (!json_is_boolean(j))
            return pbjson__fail(rd, "expected true or false, got %s", pbjson_type_name(j));
        *(protobuf_c_boolean *)p = json_is_true(j);
        return 0;
    case PROTOBUF_C_TYPE_ENUM:
        return pbjson_get_enum(rd, f->descriptor, j, (int *)p);
    case PROTOBUF_C_TYPE_STRING:
        if (pbjson__get_string(rd, j, &s) < 0)
            return -EINVAL;
        if (!(*(char **)p = pbjson_strdup(s)))
            return pbjson__fail(rd, "out of memory");
        return 0;
    case PROTOBUF_C_TYPE_BYTES:
        return pbjson_get_bytes(rd, j, p);
    case PROTOBUF_C_TYPE_MESSAGE:
        break;
    }
    return pbjson__fail(rd, "unsupported field type");
}

/* Allocates an initialised message of type desc into *slot, then fills it.
 * On error *slot still holds it, for the caller's free_unpacked. */
static int pbjson_submessage_in(pbjson_reader *rd, const ProtobufCMessageDescriptor *desc,
                                const json_t *j, ProtobufCMessage **slot)
{
    ProtobufCMessage *sub = malloc(desc->sizeof_message);

    if (!sub)
        return pbjson__fail(rd, "out of memory");
    protobuf_c_message_init(desc, sub);
    *slot = sub;
    return pbjson_message_in(rd, desc, j, sub);
}

static int pbjson_repeated_in(pbjson_reader *rd, const ProtobufCFieldDescriptor *f, const json_t *j,
                              ProtobufCMessage *msg)
{
    size_t *count = pbjson__at(msg, f->quantifier_offset);
    char **arr = pbjson__at(msg, f->offset);
    size_t n = json_array_size(j), size = pbjson_elem_size(f->type);

    if (!json_is_array(j))
        return pbjson__fail(rd, "expected an array, got %s", pbjson_type_name(j));
    if (n == 0)
        return 0;
    if (!(*arr = calloc(n, size)))
        return pbjson__fail(rd, "out of memory");
    *count = 0;
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(j, i);
        size_t mark = pbjson_path_index(rd, i);
        int rc;
        if (json_is_null(e)) {
            rc = pbjson__fail(rd, "null is not allowed in a list");
        } else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
            /* Count the element first: free_unpacked then frees it on error. */
            (*count)++;
            rc = pbjson_submessage_in(rd, f->descriptor, e, (ProtobufCMessage **)*arr + i);
        } else {
            rc = pbjson_scalar_in(rd, f, e, *arr + i * size);
            *count += rc == 0;
        }
        if (rc < 0)
            return rc;
        pbjson_path_pop(rd, mark);
    }
    return 0;
}

/* The JSON names of the other members of f's oneof, for an error message. */
static void pbjson_oneof_names(const ProtobufCMessageDescriptor *desc,
                               const ProtobufCFieldDescriptor *f, char *buf, size_t size)
{
    char name[PBJSON_NAME_MAX];
    size_t len = 0;

    buf[0] = '\0';
    for (unsigned i = 0; i < desc->n_fields; i++) {
        const ProtobufCFieldDescriptor *g = &desc->fields[i];
        if (!(g->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) ||
            g->quantifier_offset != f->quantifier_offset)
            continue;
        pbjson__json_name(g->name, name, sizeof(name));
        if (len + strlen(name) + 3 > size)
            break; /* the names so far are enough for a message */
        if (len)
            strcat(buf, ", ");
        strcat(buf, name);
        len = strlen(buf);
    }
}

/* Reads a singular field (maybe a oneof member) into msg. */
static int pbjson_single_in(pbjson_reader *rd, const ProtobufCMessageDescriptor *desc,
                            const ProtobufCFieldDescriptor *f, const json_t *j,
                            ProtobufCMessage *msg)
{
    void *member = pbjson__at(msg, f->offset);
    void *q = pbjson__at(msg, f->quantifier_offset);
    int oneof = (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) != 0;
    char names[PBJSON_NAME_MAX];
    int rc;

    if (oneof && *(uint32_t *)q != 0) {
        pbjson_oneof_names(desc, f, names, sizeof(names));
        return pbjson__fail(rd, "only one of %s may be set", names);
    }
    if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
        if (oneof)
            *(uint32_t *)q = f->id;
        return pbjson_submessage_in(rd, f->descriptor, j, member);
    }
    rc = pbjson_scalar_in(rd, f, j, member);
    if (rc < 0)
        return rc;
    if (oneof)
        *(uint32_t *)q = f->id;
    else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->type != PROTOBUF_C_TYPE_STRING)
        *(protobuf_c_boolean *)q = 1;
    return 0;
}

/* 1 if key is field f's JSON name or its proto name. */
static int pbjson_key_matches(const ProtobufCFieldDescriptor *f, const char *key)
{
    char name[PBJSON_NAME_MAX];

    if (strcmp(f->name, key) == 0)
        return 1;
    pbjson__json_name(f->name, name, sizeof(name));
    return strcmp(name, key) == 0;
}

static const ProtobufCFieldDescriptor *pbjson_find_field(const ProtobufCMessageDescriptor *desc,
                                                         const char *key)
{
    for (unsigned i = 0; i < desc->n_fields; i++) {
        if (pbjson_key_matches(&desc->fields[i], key))
            return &desc->fields[i];
    }
    return NULL;
}

static int pbjson_field_in(pbjson_reader *rd, const ProtobufCMessageDescriptor *desc,
                           const json_t *obj, const char *key, const json_t *value,
                           ProtobufCMessage *msg)
{
    const ProtobufCFieldDescriptor *f = pbjson_find_field(desc, key);
    char name[PBJSON_NAME_MAX];
    size_t mark;
    int rc;

    if (!f) {
        pbjson_path_push(rd, key);
        return pbjson__fail(rd, "unknown field of %s", desc->name);
    }
    pbjson__json_name(f->name, name, sizeof(name));
    mark = pbjson_path_push(rd, name);
    /* Objects have unique keys, but a field can come under both its names. */
    if (strcmp(name, f->name) != 0 && json_object_get(obj, name) && json_object_get(obj, f->name))
        return pbjson__fail(rd, "given twice, as %s and %s", name, f->name);
    if (json_is_null(value)) {
        rc = 0; /* null means the default */
    } else if (f->label == PROTOBUF_C_LABEL_REPEATED) {
        rc = pbjson_repeated_in(rd, f, value, msg);
    } else {
        rc = pbjson_single_in(rd, desc, f, value, msg);
    }
    if (rc == 0)
        pbjson_path_pop(rd, mark);
    return rc;
}

static int pbjson_message_in(pbjson_reader *rd, const ProtobufCMessageDescriptor *desc,
                             const json_t *json, ProtobufCMessage *msg)
{
    const char *key;
    json_t *value;
    int rc = 0;

    if (++rd->depth > PBJSON_MAX_DEPTH)
        return pbjson__fail(rd, "messages nested more than %d deep", PBJSON_MAX_DEPTH);
    if (json_is_string(json) && strcmp(desc->name, pbjson_timestamp_name) == 0)
        rc = pbjson__timestamp_in(rd, json, msg);
    else if (json_is_string(json) && strcmp(desc->name, pbjson_field_mask_name) == 0)
        rc = pbjson__field_mask_in(rd, json, msg);
    else if (!json_is_object(json))
        rc = pbjson__fail(rd, "expected %s, got %s",
                          strcmp(desc->name, pbjson_timestamp_name) == 0
                              ? "an RFC 3339 time such as \"2026-11-30T03:19:51Z\""
                          : strcmp(desc->name, pbjson_field_mask_name) == 0
                              ? "field paths separated by commas"
                              : "an object",
                          pbjson_type_name(json));
    else {
        json_object_foreach((json_t *)json, key, value)
        {
            rc = pbjson_field_in(rd, desc, json, key, value, msg);
            if (rc < 0)
                break;
        }
    }
    rd->depth--;
    return rc;
}

ProtobufCMessage *pbjson_to_message(const ProtobufCMessageDescriptor *desc, const json_t *json,
                                    char *err, size_t errlen)
{
    pbjson_reader rd = {.err = err, .errlen = errlen};
    ProtobufCMessage *msg = NULL;

    if (err && errlen)
        err[0] = '\0';
    if (!desc || !json) {
        pbjson__fail(&rd, "no descriptor or no JSON");
        return NULL;
    }
    if (pbjson_submessage_in(&rd, desc, json, &msg) < 0) {
        protobuf_c_message_free_unpacked(msg, NULL);
        return NULL;
    }
    return msg;
}

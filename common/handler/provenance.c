/* provenance.c: checks of the per-fact provenance of a record (see
 * provenance.h). */
#include "provenance.h"

#include <stdio.h>
#include <string.h>

#include "validate.h"

#define PATH_SEGMENT_MAX 64
#define FIELD_SIZE 160

/* ---- pure checks ---------------------------------------------------------- */

int provenance_path_check(const ProtobufCMessageDescriptor *desc, const char *path, char *why,
                          size_t size)
{
    const char *p = path;

    if (path[0] == '\0') {
        snprintf(why, size, "must not be empty");
        return -1;
    }
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        char name[PATH_SEGMENT_MAX];
        const ProtobufCFieldDescriptor *f;

        if (len == 0 || len >= sizeof name) {
            snprintf(why, size, "\"%s\" is not a field path (names joined by \".\")", path);
            return -1;
        }
        memcpy(name, p, len);
        name[len] = '\0';
        f = protobuf_c_message_descriptor_get_field_by_name(desc, name);
        if (f == NULL) {
            snprintf(why, size, "\"%s\" is not a field of %s", name, desc->name);
            return -1;
        }
        if (dot == NULL)
            return 0;
        if (f->type != PROTOBUF_C_TYPE_MESSAGE || f->label == PROTOBUF_C_LABEL_REPEATED) {
            snprintf(why, size, "\"%s\" of %s has no fields to name (not a singular message)", name,
                     desc->name);
            return -1;
        }
        desc = f->descriptor;
        p = dot + 1;
    }
}

static int all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
    }
    return 1;
}

const char *provenance_date_problem(const char *s)
{
    static const char shape[] = "not a date in the form YYYY-MM-DD, YYYY-MM or YYYY";
    size_t len = strlen(s);
    int year;

    if (len == 0)
        return "must not be empty";
    if (len == 10)
        return validate_date_problem(s) ? shape : NULL;
    if ((len != 4 && len != 7) || !all_digits(s, 4))
        return shape;
    year = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    if (year < 1900 || year > 2999)
        return shape;
    if (len == 7 && (s[4] != '-' || !all_digits(s + 5, 2) || (s[5] - '0') * 10 + (s[6] - '0') < 1 ||
                     (s[5] - '0') * 10 + (s[6] - '0') > 12))
        return shape;
    return NULL;
}

const char *provenance_url_problem(const char *s)
{
    static const char shape[] = "not an http:// or https:// address";
    const char *host;

    if (s[0] == '\0')
        return "must not be empty";
    if (strncmp(s, "https://", 8) == 0)
        host = s + 8;
    else if (strncmp(s, "http://", 7) == 0)
        host = s + 7;
    else
        return shape;
    if (host[0] == '\0' || host[0] == '/' || host[0] == '.')
        return shape;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p <= ' ' || *p == 0x7f)
            return shape;
    }
    return NULL;
}

/* ---- checks that fail the call ---------------------------------------------- */

static int fail_at(rpc_call *call, const char *field, size_t i, const char *part,
                   const char *problem)
{
    rpc_call_fail(call, RPC_INVALID_ARGUMENT, "%s[%zu].%s: %s", field, i, part, problem);
    return -1;
}

/* A string of the source: `required` or else optional, single-line, at most
 * `max` characters. */
static int check_source_text(rpc_call *call, const char *field, size_t i, const char *part,
                             const char *s, size_t max, int required)
{
    char at[FIELD_SIZE];

    snprintf(at, sizeof at, "%s[%zu].%s", field, i, part);
    return required ? validate_required_string(call, at, s, max)
                    : validate_optional_string(call, at, s, max);
}

static int check_source(rpc_call *call, const char *field, size_t i, const ProvenanceSource *src,
                        int confirmed)
{
    const char *problem;

    if (src == NULL) {
        return confirmed ? fail_at(call, field, i, "source",
                                   "must be set for a CONFIRMED fact (publisher, title, "
                                   "date and url of a public source)")
                         : 0;
    }
    if (check_source_text(call, field, i, "source.publisher", src->publisher,
                          PROVENANCE_PUBLISHER_MAX_CHARS, confirmed) ||
        check_source_text(call, field, i, "source.title", src->title, PROVENANCE_TITLE_MAX_CHARS,
                          confirmed))
        return -1;
    if ((confirmed || src->date[0]) && (problem = provenance_date_problem(src->date)) != NULL)
        return fail_at(call, field, i, "source.date", problem);
    if (validate_utf8_chars(src->url) > PROVENANCE_URL_MAX_CHARS)
        return fail_at(call, field, i, "source.url", "too long");
    if ((confirmed || src->url[0]) && (problem = provenance_url_problem(src->url)) != NULL)
        return fail_at(call, field, i, "source.url", problem);
    return 0;
}

int provenance_check(rpc_call *call, const char *field, Provenance *const *items, size_t n,
                     const ProtobufCMessageDescriptor *desc)
{
    char why[256], at[FIELD_SIZE];

    if (validate_max_items(call, field, n, PROVENANCE_MAX))
        return -1;
    for (size_t i = 0; i < n; i++) {
        const Provenance *p = items[i];
        int confirmed = p->status == PROVENANCE_CONFIRMED;

        snprintf(at, sizeof at, "%s[%zu].field", field, i);
        if (validate_required_string(call, at, p->field, PROVENANCE_FIELD_MAX_CHARS))
            return -1;
        if (provenance_path_check(desc, p->field, why, sizeof why))
            return fail_at(call, field, i, "field", why);
        for (size_t j = 0; j < i; j++) {
            if (strcmp(items[j]->field, p->field) == 0) {
                rpc_call_fail(call, RPC_INVALID_ARGUMENT,
                              "%s[%zu].field: \"%s\" is already stated by %s[%zu]", field, i,
                              p->field, field, j);
                return -1;
            }
        }
        snprintf(at, sizeof at, "%s[%zu].status", field, i);
        if (validate_enum(call, at, &compact__common__v1__fact_status__descriptor, (int)p->status,
                          1))
            return -1;
        snprintf(at, sizeof at, "%s[%zu].note", field, i);
        if (validate_text(call, at, p->note, PROVENANCE_NOTE_MAX_CHARS))
            return -1;
        if (!confirmed && p->note[0] == '\0')
            return fail_at(call, field, i, "note",
                           "must say what is assumed and why for an ASSUMED fact");
        if (check_source(call, field, i, p->source, confirmed))
            return -1;
    }
    return 0;
}

void provenance_normalize(Provenance *const *items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        ProvenanceSource *src = items[i]->source;
        if (src && !src->publisher[0] && !src->title[0] && !src->date[0] && !src->url[0]) {
            protobuf_c_message_free_unpacked(&src->base, NULL);
            items[i]->source = NULL;
        }
    }
}

/* ---- reading ------------------------------------------------------------------ */

int provenance_status(Provenance *const *items, size_t n, const char *path)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(items[i]->field, path) == 0)
            return (int)items[i]->status;
    }
    return 0;
}

int provenance_all_confirmed(Provenance *const *items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (items[i]->status != PROVENANCE_CONFIRMED)
            return 0;
    }
    return n > 0;
}

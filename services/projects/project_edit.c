/* project_edit.c: building and changing Project messages (see project_edit.h). */
#include "project_edit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ids.h"
#include "pbstr.h"
#include "project_store.h"

typedef Compact__Projects__V1__Project Project;
typedef Compact__Projects__V1__IndicatorPeriod IndicatorPeriod;

/* ---- update masks ------------------------------------------------------- */

static const struct {
    const char *snake, *camel, *field; /* field: the member of Project */
    unsigned bit;
} edit_fields[] = {
    {"title", "title", "title", PF_TITLE},
    {"summary", "summary", "summary", PF_SUMMARY},
    {"working_group_ids", "workingGroupIds", "working_group_ids", PF_GROUPS},
    {"participants", "participants", "participants", PF_PARTICIPANTS},
    {"recipient_countries", "recipientCountries", "recipient_countries", PF_COUNTRIES},
    {"global_scope", "globalScope", "global_scope", PF_GLOBAL},
    {"pillars", "pillars", "pillars", PF_PILLARS},
    {"themes", "themes", "themes", PF_THEMES},
    {"start_date", "startDate", "start_date", PF_START},
    {"end_date", "endDate", "end_date", PF_END},
    {"status", "status", "status", PF_STATUS},
    {"budget", "budget", "budget", PF_BUDGET},
    {"verified", "verified", "verified", PF_VERIFIED},
    {"source_note", "sourceNote", "source_note", PF_SOURCE_NOTE},
    {"iati_identifier", "iatiIdentifier", "iati_identifier", PF_IATI},
    {"reporting_org_ref", "reportingOrgRef", "reporting_org_ref", PF_REPORTING_ORG},
    {"results", "results", "results", PF_RESULTS},
};

#define EDIT_FIELDS (sizeof edit_fields / sizeof edit_fields[0])

const char project_edit_updatable[] =
    "title, summary, working_group_ids, participants, recipient_countries, global_scope, "
    "pillars, themes, start_date, end_date, status, budget, verified, source_note";

int project_edit_mask_bit(const char *path, unsigned *bits)
{
    static const char *const output_only[] = {
        "id", "transactions", "totals", "create_time", "createTime", "update_time",
        "updateTime", "etag",
    };

    if (strcmp(path, "*") == 0) {
        *bits |= PF_UPDATABLE;
        return 0;
    }
    for (size_t i = 0; i < EDIT_FIELDS; i++) {
        if (strcmp(path, edit_fields[i].snake) != 0 && strcmp(path, edit_fields[i].camel) != 0)
            continue;
        if (!(edit_fields[i].bit & PF_UPDATABLE))
            return -2;
        *bits |= edit_fields[i].bit;
        return 0;
    }
    for (size_t i = 0; i < sizeof output_only / sizeof output_only[0]; i++) {
        if (strcmp(path, output_only[i]) == 0)
            return -2;
    }
    return -1;
}

/* ---- copying and swapping ----------------------------------------------- */

ProtobufCMessage *project_edit_copy(const ProtobufCMessage *m)
{
    size_t len = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(len ? len : 1);
    ProtobufCMessage *copy;

    if (buf == NULL)
        return NULL;
    protobuf_c_message_pack(m, buf);
    copy = protobuf_c_message_unpack(m->descriptor, NULL, len, buf);
    free(buf);
    return copy;
}

static void swap_bytes(void *a, void *b, size_t n)
{
    unsigned char tmp[sizeof(void *) > 8 ? sizeof(void *) : 8];

    memcpy(tmp, a, n);
    memcpy(a, b, n);
    memcpy(b, tmp, n);
}

/* The size of one field's storage (a pointer for strings, messages and
 * repeated fields). */
static size_t field_size(const ProtobufCFieldDescriptor *f)
{
    if (f->label == PROTOBUF_C_LABEL_REPEATED)
        return sizeof(void *);
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(void *);
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return 8;
    default:
        return 4; /* int32, enums, float */
    }
}

/* Swaps one field, by name, between two messages of the same type. */
static void swap_field(ProtobufCMessage *a, ProtobufCMessage *b, const char *name)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(a->descriptor, name);

    if (f == NULL)
        return;
    swap_bytes((char *)a + f->offset, (char *)b + f->offset, field_size(f));
    if (f->label == PROTOBUF_C_LABEL_REPEATED)
        swap_bytes((char *)a + f->quantifier_offset, (char *)b + f->quantifier_offset,
                   sizeof(size_t));
}

void project_edit_apply(Project *a, Project *b, unsigned mask)
{
    for (size_t i = 0; i < EDIT_FIELDS; i++) {
        if (mask & edit_fields[i].bit)
            swap_field(&a->base, &b->base, edit_fields[i].field);
    }
}

static void free_message(void *m)
{
    if (m)
        protobuf_c_message_free_unpacked(m, NULL);
}

static void free_messages(void **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free_message(v[i]);
    free(v);
}

static void clear_string(char **s)
{
    if (*s && *s != protobuf_c_empty_string)
        free(*s);
    *s = (char *)protobuf_c_empty_string;
}

void project_edit_clear_output(Project *p)
{
    clear_string(&p->id);
    clear_string(&p->etag);
    free_messages((void **)p->transactions, p->n_transactions);
    p->transactions = NULL;
    p->n_transactions = 0;
    free_messages((void **)p->totals, p->n_totals);
    p->totals = NULL;
    p->n_totals = 0;
    free_message(p->create_time);
    free_message(p->update_time);
    p->create_time = p->update_time = NULL;
    for (size_t r = 0; r < p->n_results; r++) {
        Result *res = p->results[r];
        clear_string(&res->id);
        for (size_t i = 0; i < res->n_indicators; i++) {
            clear_string(&res->indicators[i]->id);
            res->indicators[i]->state = 0;
        }
    }
}

/* ---- canonical order ---------------------------------------------------- */

static int compare_pillars(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;

    return (x > y) - (x < y);
}

static int compare_periods(const void *a, const void *b)
{
    const IndicatorPeriod *x = *(IndicatorPeriod *const *)a, *y = *(IndicatorPeriod *const *)b;

    return strcmp(x->period_start, y->period_start);
}

/* Transactions by date, equal dates in the order recorded (as the store
 * reads them back): an insertion sort, stable, and linear when only the
 * newest transaction is out of place. */
static void sort_transactions(Project *p)
{
    for (size_t i = 1; i < p->n_transactions; i++) {
        Compact__Projects__V1__Transaction *t = p->transactions[i];
        size_t j = i;
        while (j > 0 && strcmp(p->transactions[j - 1]->date, t->date) > 0) {
            p->transactions[j] = p->transactions[j - 1];
            j--;
        }
        p->transactions[j] = t;
    }
}

void project_edit_normalise(Project *p)
{
    sort_transactions(p);
    if (p->n_pillars > 1)
        qsort(p->pillars, p->n_pillars, sizeof p->pillars[0], compare_pillars);
    for (size_t r = 0; r < p->n_results; r++) {
        Result *res = p->results[r];
        for (size_t i = 0; i < res->n_indicators; i++) {
            Indicator *ind = res->indicators[i];
            if (ind->n_periods > 1)
                qsort(ind->periods, ind->n_periods, sizeof ind->periods[0], compare_periods);
        }
    }
}

/* ---- ids and lookups ---------------------------------------------------- */

static int new_id(char **field, const char *prefix)
{
    char id[PROJECT_ID_SIZE];
    int rc = ids_new(prefix, id, sizeof id);

    return rc ? rc : pbstr_set(field, id);
}

int project_edit_assign_indicator_id(Indicator *ind)
{
    return new_id(&ind->id, INDICATOR_ID_PREFIX);
}

int project_edit_assign_result_ids(Result *r)
{
    int rc = new_id(&r->id, RESULT_ID_PREFIX);

    for (size_t i = 0; rc == 0 && i < r->n_indicators; i++)
        rc = project_edit_assign_indicator_id(r->indicators[i]);
    return rc;
}

int project_edit_append(void ***v, size_t *n, void *item)
{
    void **grown = realloc(*v, (*n + 1) * sizeof *grown);

    if (grown == NULL)
        return -ENOMEM;
    grown[(*n)++] = item;
    *v = grown;
    return 0;
}

Result *project_edit_find_result(const Project *p, const char *id)
{
    for (size_t r = 0; r < p->n_results; r++) {
        if (strcmp(p->results[r]->id, id) == 0)
            return p->results[r];
    }
    return NULL;
}

Indicator *project_edit_find_indicator(const Project *p, const char *id)
{
    for (size_t r = 0; r < p->n_results; r++) {
        const Result *res = p->results[r];
        for (size_t i = 0; i < res->n_indicators; i++) {
            if (strcmp(res->indicators[i]->id, id) == 0)
                return res->indicators[i];
        }
    }
    return NULL;
}

/* ---- time --------------------------------------------------------------- */

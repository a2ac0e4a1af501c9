/* project_edit.c: building and changing Project messages (see project_edit.h). */
#include "project_edit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ids.h"
#include "pbstr.h"
#include "project_store.h"
#include "provenance.h"

typedef Compact__Projects__V1__Project Project;
typedef Compact__Projects__V1__IndicatorPeriod IndicatorPeriod;

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
    provenance_normalize(p->provenance, p->n_provenance);
    for (size_t i = 0; i < p->n_transactions; i++)
        provenance_normalize(p->transactions[i]->provenance, p->transactions[i]->n_provenance);
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
    char id[IDS_SIZE];
    int rc = ids_new(prefix, id, sizeof id);

    return rc ? rc : pbstr_set(field, id);
}

int project_edit_assign_indicator_id(Indicator *ind)
{
    return new_id(&ind->id, IDS_INDICATOR);
}

int project_edit_assign_result_ids(Result *r)
{
    int rc = new_id(&r->id, IDS_RESULT);

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

const Compact__Projects__V1__Transaction *project_edit_find_decision(const Project *p,
                                                                     const char *decision_ref)
{
    for (size_t i = 0; decision_ref[0] && i < p->n_transactions; i++) {
        if (strcmp(p->transactions[i]->decision_ref, decision_ref) == 0)
            return p->transactions[i];
    }
    return NULL;
}

static const char *provider_of(const Compact__Projects__V1__Transaction *t)
{
    switch (t->provider_case) {
    case COMPACT__PROJECTS__V1__TRANSACTION__PROVIDER_PROVIDER_NAME:
        return t->provider_name;
    case COMPACT__PROJECTS__V1__TRANSACTION__PROVIDER_PROVIDER_ENTITY_ID:
        return t->provider_entity_id;
    case COMPACT__PROJECTS__V1__TRANSACTION__PROVIDER_PROVIDER_ORG:
        return t->provider_org ? t->provider_org->name : "";
    default:
        return "";
    }
}

/* The same organisation outside the Compact: reference, name and type. */
static int same_provider_org(const Compact__Projects__V1__Transaction *a,
                             const Compact__Projects__V1__Transaction *b)
{
    const Compact__Projects__V1__Organisation *x = a->provider_org, *y = b->provider_org;

    if (a->provider_case != COMPACT__PROJECTS__V1__TRANSACTION__PROVIDER_PROVIDER_ORG)
        return 1;
    if (x == NULL || y == NULL)
        return x == y;
    return strcmp(x->ref, y->ref) == 0 && strcmp(x->name, y->name) == 0 && x->type == y->type;
}

int project_edit_same_transaction(const Compact__Projects__V1__Transaction *a,
                                  const Compact__Projects__V1__Transaction *b)
{
    if (a->value == NULL || b->value == NULL)
        return a->value == b->value;
    return a->type == b->type && strcmp(a->date, b->date) == 0 &&
           strcmp(a->value->currency, b->value->currency) == 0 &&
           a->value->amount_minor == b->value->amount_minor &&
           a->provider_case == b->provider_case && strcmp(provider_of(a), provider_of(b)) == 0 &&
           same_provider_org(a, b) && !a->catalytic == !b->catalytic &&
           strcmp(a->description, b->description) == 0 && !a->verified == !b->verified &&
           strcmp(a->source_note, b->source_note) == 0;
}

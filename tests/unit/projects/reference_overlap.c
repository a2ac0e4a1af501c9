/* reference_overlap.c: FindOverlaps as it was before the inverted index
 * (git 5cd118e, services/projects/overlap.c), kept verbatim but for the
 * names: every query scores every project. test_overlap_ranking.c includes
 * this file and checks that the service's index ranks exactly as this
 * brute force does. Do not "improve" it: it is the reference.
 *
 * Renamed: overlap_* -> ref_overlap_* (the public functions and types), so
 * that both implementations link into one test. */
/* overlap.c: the overlap index and its scoring (see overlap.h, docs/OVERLAPS.md).
 *
 * Sections: interning (strings to dense ids), bags (the distinct items of
 * one project while it is being read), documents (one project as the index
 * keeps it), the subject of a query, similarities, the query itself, and
 * the Overlap messages of the answer.
 */
#include "overlap.h"

typedef struct ref_overlap_index ref_overlap_index;
typedef overlap_query ref_overlap_query;

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iso_codes.h"
#include "overlap_text.h"

typedef Compact__Projects__V1__Project Project;
typedef Compact__Projects__V1__OverlapReason OverlapReason;

/* The factors, in the order of their weights in docs/OVERLAPS.md. */
enum ov_factor {
    OV_TEXT,
    OV_GROUPS,
    OV_PARTNERS,
    OV_COUNTRIES,
    OV_DATES,
    OV_PILLARS,
    OV_THEMES,
    OV_FACTORS
};

static const double ov_weights[OV_FACTORS] = {
    [OV_TEXT] = 0.40,  [OV_GROUPS] = 0.15,  [OV_PARTNERS] = 0.15, [OV_COUNTRIES] = 0.12,
    [OV_DATES] = 0.08, [OV_PILLARS] = 0.05, [OV_THEMES] = 0.05,
};

static const int ov_factor_enum[OV_FACTORS] = {
    [OV_TEXT] = COMPACT__PROJECTS__V1__OVERLAP_FACTOR__OVERLAP_FACTOR_TEXT,
    [OV_GROUPS] = COMPACT__PROJECTS__V1__OVERLAP_FACTOR__OVERLAP_FACTOR_WORKING_GROUP,
    [OV_PARTNERS] = COMPACT__PROJECTS__V1__OVERLAP_FACTOR__OVERLAP_FACTOR_PARTNERS,
    [OV_COUNTRIES] = COMPACT__PROJECTS__V1__OVERLAP_FACTOR__OVERLAP_FACTOR_COUNTRIES,
    [OV_DATES] = COMPACT__PROJECTS__V1__OVERLAP_FACTOR__OVERLAP_FACTOR_DATES,
    [OV_PILLARS] = COMPACT__PROJECTS__V1__OVERLAP_FACTOR__OVERLAP_FACTOR_PILLARS,
    [OV_THEMES] = COMPACT__PROJECTS__V1__OVERLAP_FACTOR__OVERLAP_FACTOR_THEMES,
};

/* Title words count this many times a summary word. */
#define OV_TITLE_WEIGHT 2
/* A global project against one with countries. */
#define OV_GLOBAL_VS_COUNTRIES 0.5
#define OV_NO_DAY INT32_MIN
#define OV_OPEN_END 2932896 /* day number of 9999-12-31: an open end */
#define OV_SHARED_WORDS 8
#define OV_UNKNOWN_ID 0x80000000u /* subject items no project has */

/* ---- interning ---------------------------------------------------------- */

/* Strings to dense ids 0, 1, 2 ... (open addressing, FNV-1a). `surface` and
 * `df` are kept for the term table: a word to show and how many projects
 * have the term. */
typedef struct ov_intern {
    char **strings;
    char **surface;
    uint32_t *df;
    size_t n, cap;
    uint32_t *slots; /* id + 1; 0 is empty */
    size_t nslots;
} ov_intern;

static uint64_t ov_hash(const char *s)
{
    uint64_t h = 14695981039346656037ULL;

    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static void ov_intern_free(ov_intern *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->strings[i]);
        free(t->surface[i]);
    }
    free(t->strings);
    free(t->surface);
    free(t->df);
    free(t->slots);
    memset(t, 0, sizeof *t);
}

/* The slot of `s`, or the empty slot where it would go (nslots > 0). */
static size_t ov_slot(const ov_intern *t, const char *s)
{
    size_t mask = t->nslots - 1;

    for (size_t at = ov_hash(s) & mask;; at = (at + 1) & mask) {
        uint32_t v = t->slots[at];
        if (v == 0 || strcmp(t->strings[v - 1], s) == 0)
            return at;
    }
}

static int ov_intern_grow(ov_intern *t)
{
    size_t nslots = t->nslots ? t->nslots * 2 : 64;
    size_t cap = nslots / 2;
    uint32_t *slots = calloc(nslots, sizeof *slots);
    char **strings = realloc(t->strings, cap * sizeof *strings);

    if (strings)
        t->strings = strings;
    char **surface = strings ? realloc(t->surface, cap * sizeof *surface) : NULL;
    if (surface)
        t->surface = surface;
    uint32_t *df = surface ? realloc(t->df, cap * sizeof *df) : NULL;
    if (df)
        t->df = df;
    if (slots == NULL || df == NULL) {
        free(slots);
        return -ENOMEM;
    }
    free(t->slots);
    t->slots = slots;
    t->nslots = nslots;
    t->cap = cap;
    for (size_t i = 0; i < t->n; i++)
        t->slots[ov_slot(t, t->strings[i])] = (uint32_t)i + 1;
    return 0;
}

/* The id of `s`: 0 and *id; -ENOENT if absent and !create; -ENOMEM. */
static int ov_intern_get(ov_intern *t, const char *s, const char *surface, int create, uint32_t *id)
{
    uint32_t found = t->nslots ? t->slots[ov_slot(t, s)] : 0;

    if (found != 0) {
        *id = found - 1;
        return 0;
    }
    if (!create)
        return -ENOENT;
    if (t->n + 1 > t->cap && ov_intern_grow(t) != 0)
        return -ENOMEM;
    char *copy = strdup(s), *shown = strdup(surface ? surface : s);
    if (copy == NULL || shown == NULL) {
        free(copy);
        free(shown);
        return -ENOMEM;
    }
    t->strings[t->n] = copy;
    t->surface[t->n] = shown;
    t->df[t->n] = 0;
    t->slots[ov_slot(t, s)] = (uint32_t)t->n + 1;
    *id = (uint32_t)t->n++;
    return 0;
}

/* ---- bags: the distinct items of one project ---------------------------- */

typedef struct ov_bag {
    ov_intern items;
    uint32_t *count; /* by item id */
    size_t count_cap;
    int failed;
} ov_bag;

static void ov_bag_add(ov_bag *b, const char *item, const char *surface, uint32_t times)
{
    uint32_t id;

    if (b->failed || ov_intern_get(&b->items, item, surface, 1, &id) != 0) {
        b->failed = 1;
        return;
    }
    if (id >= b->count_cap) {
        size_t cap = b->items.cap;
        uint32_t *grown = realloc(b->count, cap * sizeof *grown);
        if (grown == NULL) {
            b->failed = 1;
            return;
        }
        memset(grown + b->count_cap, 0, (cap - b->count_cap) * sizeof *grown);
        b->count = grown;
        b->count_cap = cap;
    }
    b->count[id] += times;
}

static void ov_bag_free(ov_bag *b)
{
    ov_intern_free(&b->items);
    free(b->count);
}

typedef struct ov_words_arg {
    ov_bag *bag;
    uint32_t times;
} ov_words_arg;

static void ov_on_word(void *arg, const char *stem, const char *word)
{
    ov_words_arg *a = arg;

    ov_bag_add(a->bag, stem, word, a->times);
}

static void ov_bag_text(ov_bag *b, const Project *p)
{
    ov_words_arg a = {.bag = b, .times = OV_TITLE_WEIGHT};

    overlap_text_words(p->title, ov_on_word, &a);
    a.times = 1;
    overlap_text_words(p->summary, ov_on_word, &a);
}

/* Groups, partners and themes share one key table: "g:", "e:", "t:". */
static void ov_bag_key(ov_bag *b, char kind, const char *value)
{
    char key[160];
    size_t n = (size_t)snprintf(key, sizeof key, "%c:%s", kind, value);

    for (size_t i = 2; kind == 't' && i < n && i < sizeof key; i++) {
        if (key[i] >= 'A' && key[i] <= 'Z')
            key[i] = (char)(key[i] - 'A' + 'a');
    }
    ov_bag_add(b, key, NULL, 1);
}

/* The key bags of a project: [0] groups, [1] partners, [2] themes. */
static void ov_bag_keys(ov_bag bags[3], const Project *p)
{
    for (size_t i = 0; i < p->n_working_group_ids; i++)
        ov_bag_key(&bags[0], 'g', p->working_group_ids[i]);
    for (size_t i = 0; i < p->n_participants; i++)
        ov_bag_key(&bags[1], 'e', p->participants[i]->entity_id);
    for (size_t i = 0; i < p->n_themes; i++)
        ov_bag_key(&bags[2], 't', p->themes[i]);
}

/* ---- documents ---------------------------------------------------------- */

typedef struct ov_set {
    uint32_t *v; /* sorted, distinct */
    uint32_t n;
} ov_set;

typedef struct ov_doc {
    char *id, *iati, *title;
    int status;
    int32_t start, end;
    uint64_t countries[4];
    int global;
    unsigned pillars;
    ov_set groups, partners, themes, terms;
    uint16_t *tf; /* beside terms.v */
} ov_doc;

struct ref_overlap_index {
    ov_intern terms, keys, ids; /* ids: project id -> index in docs */
    ov_doc *docs;
    size_t n_docs, cap_docs;
    /* The TF-IDF norm of every document changes only when a put changes the
     * document frequencies, so queries reuse them until the next put. */
    uint64_t generation, norms_generation;
    float *norms; /* by doc, valid when norms_generation == generation */
    size_t cap_norms;
};

/* Day number (days since 1970-01-01) of "YYYY-MM-DD", or OV_NO_DAY. */
static int32_t ov_day(const char *s)
{
    int y, m, d;

    if (s == NULL || sscanf(s, "%4d-%2d-%2d", &y, &m, &d) != 3)
        return OV_NO_DAY;
    y -= m <= 2;
    int era = (y >= 0 ? y : y - 399) / 400;
    int yoe = y - era * 400;
    int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int compare_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return (x > y) - (x < y);
}

static void ov_doc_clear(ov_doc *d)
{
    free(d->id);
    free(d->iati);
    free(d->title);
    free(d->groups.v);
    free(d->partners.v);
    free(d->themes.v);
    free(d->terms.v);
    free(d->tf);
    memset(d, 0, sizeof *d);
}

/* The set of global ids of a bag's items in `t` (created if `create`);
 * items `t` lacks get distinct ids from OV_UNKNOWN_ID up. */
static int ov_set_from_bag(ov_intern *t, const ov_bag *b, int create, ov_set *out)
{
    out->n = (uint32_t)b->items.n;
    out->v = malloc((b->items.n ? b->items.n : 1) * sizeof *out->v);
    if (out->v == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < b->items.n; i++) {
        int rc = ov_intern_get(t, b->items.strings[i], b->items.surface[i], create, &out->v[i]);
        if (rc == -ENOENT)
            out->v[i] = OV_UNKNOWN_ID + (uint32_t)i;
        else if (rc != 0)
            return rc;
    }
    qsort(out->v, out->n, sizeof *out->v, compare_u32);
    return 0;
}

/* Fills the plain fields of `d` from `p`. */
static int ov_doc_plain(ov_doc *d, const Project *p)
{
    d->id = strdup(p->id);
    d->iati = strdup(p->iati_identifier);
    d->title = strdup(p->title);
    d->status = (int)p->status;
    d->start = ov_day(p->start_date);
    d->end = p->end_date[0] ? ov_day(p->end_date) : OV_OPEN_END;
    d->global = p->global_scope;
    for (size_t i = 0; i < p->n_recipient_countries; i++) {
        int c = iso_country_index(p->recipient_countries[i]);
        if (c >= 0)
            d->countries[c / 64] |= 1ULL << (c % 64);
    }
    for (size_t i = 0; i < p->n_pillars; i++) {
        if (p->pillars[i] >= 1 && p->pillars[i] <= 4)
            d->pillars |= 1u << p->pillars[i];
    }
    return d->id && d->iati && d->title ? 0 : -ENOMEM;
}

/* The terms of `text` with their frequencies, sorted by term id, into d. */
static int ov_doc_terms(ov_intern *terms, ov_doc *d, const ov_bag *text, int create)
{
    size_t n = text->items.n;
    uint32_t *pairs = malloc((n ? n : 1) * 2 * sizeof *pairs);
    int rc = 0;

    d->terms.v = malloc((n ? n : 1) * sizeof *d->terms.v);
    d->tf = malloc((n ? n : 1) * sizeof *d->tf);
    if (pairs == NULL || d->terms.v == NULL || d->tf == NULL) {
        free(pairs);
        return -ENOMEM;
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = ov_intern_get(terms, text->items.strings[i], text->items.surface[i], create,
                           &pairs[2 * i]);
        if (rc == -ENOENT) {
            pairs[2 * i] = OV_UNKNOWN_ID + (uint32_t)i;
            rc = 0;
        }
        pairs[2 * i + 1] = text->count[i] > UINT16_MAX ? UINT16_MAX : text->count[i];
    }
    /* Sorting the pairs by their first member sorts the terms with their tf. */
    qsort(pairs, n, 2 * sizeof *pairs, compare_u32);
    for (size_t i = 0; i < n; i++) {
        d->terms.v[i] = pairs[2 * i];
        d->tf[i] = (uint16_t)pairs[2 * i + 1];
    }
    d->terms.n = (uint32_t)n;
    free(pairs);
    return rc;
}

/* Builds `d` from `p`, interning new items when `create` (an indexed
 * project) or only looking them up (a query's subject). */
static int ov_doc_build(ref_overlap_index *idx, ov_doc *d, const Project *p, int create)
{
    ov_bag text, keys[3];
    int rc;

    memset(&text, 0, sizeof text);
    memset(keys, 0, sizeof keys);
    rc = ov_doc_plain(d, p);

    ov_bag_text(&text, p);
    ov_bag_keys(keys, p);
    if (text.failed || keys[0].failed || keys[1].failed || keys[2].failed)
        rc = -ENOMEM;
    if (rc == 0)
        rc = ov_doc_terms(&idx->terms, d, &text, create);
    if (rc == 0)
        rc = ov_set_from_bag(&idx->keys, &keys[0], create, &d->groups);
    if (rc == 0)
        rc = ov_set_from_bag(&idx->keys, &keys[1], create, &d->partners);
    if (rc == 0)
        rc = ov_set_from_bag(&idx->keys, &keys[2], create, &d->themes);
    ov_bag_free(&text);
    for (int i = 0; i < 3; i++)
        ov_bag_free(&keys[i]);
    return rc;
}

static void ov_df_add(ref_overlap_index *idx, const ov_doc *d, int delta)
{
    for (uint32_t i = 0; i < d->terms.n; i++) {
        if (d->terms.v[i] < idx->terms.n)
            idx->terms.df[d->terms.v[i]] += (uint32_t)delta;
    }
}

int ref_overlap_index_new(ref_overlap_index **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? 0 : -ENOMEM;
}

void ref_overlap_index_free(ref_overlap_index *idx)
{
    if (idx == NULL)
        return;
    for (size_t i = 0; i < idx->n_docs; i++)
        ov_doc_clear(&idx->docs[i]);
    free(idx->docs);
    free(idx->norms);
    ov_intern_free(&idx->terms);
    ov_intern_free(&idx->keys);
    ov_intern_free(&idx->ids);
    free(idx);
}

size_t ref_overlap_index_size(const ref_overlap_index *idx)
{
    size_t n = 0;

    for (size_t i = 0; i < idx->n_docs; i++)
        n += idx->docs[i].id != NULL;
    return n;
}

int ref_overlap_index_put(ref_overlap_index *idx, const Project *p)
{
    uint32_t at;
    int rc = ov_intern_get(&idx->ids, p->id, NULL, 1, &at);

    if (rc != 0)
        return rc;
    if (at >= idx->cap_docs) {
        size_t cap = idx->cap_docs ? idx->cap_docs * 2 : 64;
        ov_doc *grown = realloc(idx->docs, cap * sizeof *grown);
        if (grown == NULL)
            return -ENOMEM;
        memset(grown + idx->cap_docs, 0, (cap - idx->cap_docs) * sizeof *grown);
        idx->docs = grown;
        idx->cap_docs = cap;
    }
    if (at >= idx->n_docs)
        idx->n_docs = at + 1;
    idx->generation++;
    ov_doc *d = &idx->docs[at];
    ov_df_add(idx, d, -1);
    ov_doc_clear(d);
    if ((rc = ov_doc_build(idx, d, p, 1)) != 0) {
        ov_doc_clear(d); /* an empty slot is skipped by queries */
        return rc;
    }
    ov_df_add(idx, d, +1);
    return 0;
}

/* ---- similarities ------------------------------------------------------- */

static uint32_t ov_common(const ov_set *a, const ov_set *b)
{
    uint32_t i = 0, j = 0, n = 0;

    while (i < a->n && j < b->n) {
        if (a->v[i] < b->v[j])
            i++;
        else if (a->v[i] > b->v[j])
            j++;
        else
            n++, i++, j++;
    }
    return n;
}

/* |A and B| / min(|A|, |B|): 1 when one contains the other. */
static double ov_overlap_coefficient(uint32_t common, uint32_t a, uint32_t b)
{
    uint32_t m = a < b ? a : b;

    return m ? (double)common / m : 0.0;
}

/* 2 |A and B| / (|A| + |B|). */
static double ov_dice(uint32_t common, uint32_t a, uint32_t b)
{
    return a + b ? 2.0 * common / (a + b) : 0.0;
}

static int ov_popcount4(const uint64_t v[4])
{
    return __builtin_popcountll(v[0]) + __builtin_popcountll(v[1]) + __builtin_popcountll(v[2]) +
           __builtin_popcountll(v[3]);
}

static double ov_countries_sim(const ov_doc *s, const ov_doc *d)
{
    uint64_t both[4];
    int ns = ov_popcount4(s->countries), nd = ov_popcount4(d->countries);

    if (s->global && d->global)
        return 1.0;
    if ((s->global && nd) || (d->global && ns))
        return OV_GLOBAL_VS_COUNTRIES;
    for (int i = 0; i < 4; i++)
        both[i] = s->countries[i] & d->countries[i];
    return ov_dice((uint32_t)ov_popcount4(both), (uint32_t)ns, (uint32_t)nd);
}

/* Days both periods cover, over the shorter period's length. */
static double ov_dates_sim(const ov_doc *s, const ov_doc *d, int32_t *from, int32_t *to)
{
    if (s->start == OV_NO_DAY || d->start == OV_NO_DAY || s->end == OV_NO_DAY ||
        d->end == OV_NO_DAY)
        return 0.0;
    *from = s->start > d->start ? s->start : d->start;
    *to = s->end < d->end ? s->end : d->end;
    if (*to < *from)
        return 0.0;
    double len_s = (double)s->end - s->start + 1, len_d = (double)d->end - d->start + 1;
    return ((double)*to - *from + 1) / (len_s < len_d ? len_s : len_d);
}

/* The subject of a query: its document, which factors it has, and its text
 * vector over the index's terms (qw, by term id) with its norm. */
typedef struct ov_subject {
    ov_doc doc;
    int has[OV_FACTORS];
    double weight_sum;
    float *idf; /* by term id */
    float *qw;  /* by term id; 0 where the subject lacks the term */
    double qnorm;
} ov_subject;

static double ov_idf(size_t n_docs, uint32_t df)
{
    return log((1.0 + (double)n_docs) / (1.0 + df)) + 1.0;
}

/* Brings every document's TF-IDF norm up to date with `idf`, unless no put
 * happened since the last time. 0 or -ENOMEM. */
static int ov_norms(ref_overlap_index *idx, const float *idf)
{
    if (idx->norms_generation == idx->generation && idx->cap_norms >= idx->n_docs)
        return 0;
    if (idx->cap_norms < idx->n_docs) {
        float *grown = realloc(idx->norms, idx->cap_docs * sizeof *grown);
        if (grown == NULL)
            return -ENOMEM;
        idx->norms = grown;
        idx->cap_norms = idx->cap_docs;
    }
    for (size_t i = 0; i < idx->n_docs; i++) {
        const ov_doc *d = &idx->docs[i];
        double norm = 0;
        for (uint32_t k = 0; k < d->terms.n; k++) {
            double w = d->tf[k] * (double)idf[d->terms.v[k]];
            norm += w * w;
        }
        idx->norms[i] = (float)sqrt(norm);
    }
    idx->norms_generation = idx->generation;
    return 0;
}

static int ov_subject_build(ref_overlap_index *idx, ov_subject *s, const Project *p)
{
    size_t nt = idx->terms.n, live = ref_overlap_index_size(idx);
    int rc = ov_doc_build(idx, &s->doc, p, 0);

    if (rc != 0)
        return rc;
    s->idf = malloc((nt ? nt : 1) * sizeof *s->idf);
    s->qw = calloc(nt ? nt : 1, sizeof *s->qw);
    if (s->idf == NULL || s->qw == NULL)
        return -ENOMEM;
    for (size_t t = 0; t < nt; t++)
        s->idf[t] = (float)ov_idf(live, idx->terms.df[t]);
    if ((rc = ov_norms(idx, s->idf)) != 0)
        return rc;
    for (uint32_t i = 0; i < s->doc.terms.n; i++) {
        uint32_t t = s->doc.terms.v[i];
        double w = s->doc.tf[i] * (t < nt ? s->idf[t] : ov_idf(live, 0));
        if (t < nt)
            s->qw[t] = (float)w;
        s->qnorm += w * w;
    }
    s->qnorm = sqrt(s->qnorm);
    s->has[OV_TEXT] = s->doc.terms.n > 0;
    s->has[OV_GROUPS] = s->doc.groups.n > 0;
    s->has[OV_PARTNERS] = s->doc.partners.n > 0;
    s->has[OV_COUNTRIES] = s->doc.global || ov_popcount4(s->doc.countries) > 0;
    s->has[OV_DATES] = s->doc.start != OV_NO_DAY;
    s->has[OV_PILLARS] = s->doc.pillars != 0;
    s->has[OV_THEMES] = s->doc.themes.n > 0;
    for (int f = 0; f < OV_FACTORS; f++)
        s->weight_sum += s->has[f] ? ov_weights[f] : 0.0;
    return s->weight_sum > 0 ? 0 : -ENODATA;
}

static void ov_subject_free(ov_subject *s)
{
    ov_doc_clear(&s->doc);
    free(s->idf);
    free(s->qw);
}

static double ov_text_sim(const ov_subject *s, const ov_doc *d, double norm)
{
    double dot = 0;

    for (uint32_t i = 0; i < d->terms.n; i++) {
        uint32_t t = d->terms.v[i];
        if (s->qw[t] != 0)
            dot += (double)s->qw[t] * d->tf[i] * s->idf[t];
    }
    return dot > 0 && s->qnorm > 0 && norm > 0 ? dot / (norm * s->qnorm) : 0.0;
}

/* Every factor's similarity of `d` to the subject, and the score. */
static double ov_score(const ov_subject *s, const ov_doc *d, double norm, double sims[OV_FACTORS])
{
    const ov_doc *q = &s->doc;
    int32_t from = 0, to = 0;
    double sum = 0;

    sims[OV_TEXT] = s->has[OV_TEXT] ? ov_text_sim(s, d, norm) : 0;
    sims[OV_GROUPS] =
        ov_overlap_coefficient(ov_common(&q->groups, &d->groups), q->groups.n, d->groups.n);
    sims[OV_PARTNERS] =
        ov_dice(ov_common(&q->partners, &d->partners), q->partners.n, d->partners.n);
    sims[OV_COUNTRIES] = ov_countries_sim(q, d);
    sims[OV_DATES] = ov_dates_sim(q, d, &from, &to);
    sims[OV_PILLARS] = ov_overlap_coefficient((uint32_t)__builtin_popcount(q->pillars & d->pillars),
                                              (uint32_t)__builtin_popcount(q->pillars),
                                              (uint32_t)__builtin_popcount(d->pillars));
    sims[OV_THEMES] = ov_dice(ov_common(&q->themes, &d->themes), q->themes.n, d->themes.n);
    for (int f = 0; f < OV_FACTORS; f++)
        sum += s->has[f] ? ov_weights[f] * sims[f] : 0.0;
    return sum / s->weight_sum;
}

static int ov_is_duplicate(double score, const double sims[OV_FACTORS])
{
    return score >= OVERLAP_DUPLICATE_SCORE && sims[OV_TEXT] >= OVERLAP_DUPLICATE_TEXT;
}

/* ---- the best hits ------------------------------------------------------ */

typedef struct ov_hit {
    double score;
    double sims[OV_FACTORS];
    uint32_t doc;
} ov_hit;

/* Higher score first; equal scores by IATI identifier, for a stable order. */
static int ov_hit_before(const ref_overlap_index *idx, const ov_hit *a, const ov_hit *b)
{
    if (a->score != b->score)
        return a->score > b->score;
    return strcmp(idx->docs[a->doc].iati, idx->docs[b->doc].iati) < 0;
}

/* Inserts `h` into the sorted hits[0..*n) of room `limit`, if it belongs. */
static void ov_hits_offer(const ref_overlap_index *idx, ov_hit *hits, size_t *n, size_t limit,
                          const ov_hit *h)
{
    size_t at = *n;

    if (*n == limit && !ov_hit_before(idx, h, &hits[limit - 1]))
        return;
    while (at > 0 && ov_hit_before(idx, h, &hits[at - 1]))
        at--;
    size_t move = (*n < limit ? *n : limit - 1) - at;
    memmove(&hits[at + 1], &hits[at], move * sizeof *hits);
    hits[at] = *h;
    if (*n < limit)
        (*n)++;
}

/* ---- the answer --------------------------------------------------------- */

static void ov_add_shared(OverlapReason *r, const char *value)
{
    char **grown, *copy = strdup(value);

    if (copy == NULL || (grown = realloc(r->shared, (r->n_shared + 1) * sizeof *grown)) == NULL) {
        free(copy);
        return;
    }
    r->shared = grown;
    r->shared[r->n_shared++] = copy;
}

/* The shared items of two key sets, without their "g:" style prefix. */
static void ov_shared_keys(const ref_overlap_index *idx, OverlapReason *r, const ov_set *a,
                           const ov_set *b)
{
    for (uint32_t i = 0, j = 0; i < a->n && j < b->n;) {
        if (a->v[i] < b->v[j]) {
            i++;
        } else if (a->v[i] > b->v[j]) {
            j++;
        } else {
            ov_add_shared(r, idx->keys.strings[a->v[i]] + 2);
            i++, j++;
        }
    }
}

/* The words contributing most to the text similarity, best first. */
static void ov_shared_words(const ref_overlap_index *idx, const ov_subject *s, const ov_doc *d,
                            OverlapReason *r)
{
    struct {
        double c;
        uint32_t t;
    } best[OV_SHARED_WORDS];
    size_t n = 0;

    for (uint32_t i = 0; i < d->terms.n; i++) {
        uint32_t t = d->terms.v[i];
        double c = (double)s->qw[t] * d->tf[i] * s->idf[t];
        if (c <= 0)
            continue;
        size_t at = n < OV_SHARED_WORDS ? n : OV_SHARED_WORDS;
        while (at > 0 && best[at - 1].c < c)
            at--;
        if (at >= OV_SHARED_WORDS)
            continue;
        size_t last = n < OV_SHARED_WORDS ? n : OV_SHARED_WORDS - 1;
        memmove(&best[at + 1], &best[at], (last - at) * sizeof best[0]);
        best[at].c = c;
        best[at].t = t;
        if (n < OV_SHARED_WORDS)
            n++;
    }
    for (size_t i = 0; i < n; i++)
        ov_add_shared(r, idx->terms.surface[best[i].t]);
}

static void ov_shared_countries(OverlapReason *r, const ov_doc *a, const ov_doc *b)
{
    if (a->global && b->global) {
        ov_add_shared(r, "global");
        return;
    }
    for (int c = 0; c < ISO_COUNTRY_COUNT; c++) {
        uint64_t bit = 1ULL << (c % 64);
        if ((a->countries[c / 64] & bit) && (b->countries[c / 64] & bit))
            ov_add_shared(r, iso_country_code(c));
    }
}

static void ov_day_text(int32_t day, char *buf, size_t size)
{
    /* Civil date from a day number (the inverse of ov_day). */
    int64_t z = (int64_t)day + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097, yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9;
    int64_t y = yoe + era * 400 + (m <= 2);

    snprintf(buf, size, "%04d-%02d-%02d", (int)y, (int)m, (int)d);
}

static void ov_reason_detail(const ref_overlap_index *idx, const ov_subject *s, const ov_doc *d,
                             int f, OverlapReason *r)
{
    static const char *const pillar_names[] = {"", "I", "II", "III", "IV"};
    static const char *const details[OV_FACTORS] = {
        [OV_TEXT] = "similar title and summary",
        [OV_GROUPS] = "shared working groups",
        [OV_PARTNERS] = "shared participating entities",
        [OV_COUNTRIES] = "shared recipient countries",
        [OV_DATES] = "overlapping dates",
        [OV_PILLARS] = "shared Strategy pillars",
        [OV_THEMES] = "shared themes",
    };
    char buf[160], from_text[40], to_text[40];
    int32_t from = 0, to = 0;

    switch (f) {
    case OV_TEXT:
        ov_shared_words(idx, s, d, r);
        break;
    case OV_GROUPS:
        ov_shared_keys(idx, r, &s->doc.groups, &d->groups);
        break;
    case OV_PARTNERS:
        ov_shared_keys(idx, r, &s->doc.partners, &d->partners);
        break;
    case OV_THEMES:
        ov_shared_keys(idx, r, &s->doc.themes, &d->themes);
        break;
    case OV_COUNTRIES:
        ov_shared_countries(r, &s->doc, d);
        if (r->n_shared == 0) {
            r->detail = strdup("one project is global, the other names countries");
            return;
        }
        break;
    case OV_DATES:
        ov_dates_sim(&s->doc, d, &from, &to);
        ov_day_text(from, from_text, sizeof from_text);
        if (to >= OV_OPEN_END)
            snprintf(to_text, sizeof to_text, "open end");
        else
            ov_day_text(to, to_text, sizeof to_text);
        ov_add_shared(r, from_text);
        ov_add_shared(r, to_text);
        break;
    default: /* OV_PILLARS */
        for (int p = 1; p <= 4; p++) {
            if (s->doc.pillars & d->pillars & (1u << p))
                ov_add_shared(r, pillar_names[p]);
        }
        break;
    }
    snprintf(buf, sizeof buf, "%s (similarity %.2f)", details[f], r->similarity);
    r->detail = strdup(buf);
}

static OverlapReason *ov_reason(const ref_overlap_index *idx, const ov_subject *s, const ov_doc *d,
                                int f, double sim)
{
    OverlapReason *r = malloc(sizeof *r);

    if (r == NULL)
        return NULL;
    compact__projects__v1__overlap_reason__init(r);
    r->factor = ov_factor_enum[f];
    r->similarity = sim;
    r->contribution = ov_weights[f] * sim / s->weight_sum;
    ov_reason_detail(idx, s, d, f, r);
    if (r->detail == NULL)
        r->detail = (char *)protobuf_c_empty_string;
    return r;
}

static int ov_compare_reasons(const void *a, const void *b)
{
    const OverlapReason *x = *(OverlapReason *const *)a, *y = *(OverlapReason *const *)b;

    return (x->contribution < y->contribution) - (x->contribution > y->contribution);
}

static Overlap *ov_overlap(const ref_overlap_index *idx, const ov_subject *s, const ov_hit *h)
{
    const ov_doc *d = &idx->docs[h->doc];
    Overlap *o = malloc(sizeof *o);

    if (o == NULL)
        return NULL;
    compact__projects__v1__overlap__init(o);
    o->reasons = calloc(OV_FACTORS, sizeof *o->reasons);
    o->project_id = strdup(d->id);
    o->iati_identifier = strdup(d->iati);
    o->title = strdup(d->title);
    o->status = d->status;
    o->score = h->score;
    o->likely_duplicate = ov_is_duplicate(h->score, h->sims);
    if (!o->reasons || !o->project_id || !o->iati_identifier || !o->title) {
        protobuf_c_message_free_unpacked(&o->base, NULL);
        return NULL;
    }
    for (int f = 0; f < OV_FACTORS; f++) {
        if (!s->has[f] || h->sims[f] <= 0)
            continue;
        OverlapReason *r = ov_reason(idx, s, d, f, h->sims[f]);
        if (r)
            o->reasons[o->n_reasons++] = r;
    }
    qsort(o->reasons, o->n_reasons, sizeof *o->reasons, ov_compare_reasons);
    return o;
}

void ref_overlap_free(Overlap **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        protobuf_c_message_free_unpacked(&v[i]->base, NULL);
    free(v);
}

/* ---- the query ---------------------------------------------------------- */

static int ov_skip(const ref_overlap_index *idx, const ref_overlap_query *q, const ov_doc *d)
{
    if (d->id == NULL || (q->exclude_id && strcmp(d->id, q->exclude_id) == 0))
        return 1;
    (void)idx;
    return !q->include_closed &&
           (d->status == COMPACT__PROJECTS__V1__ACTIVITY_STATUS__ACTIVITY_STATUS_CLOSED ||
            d->status == COMPACT__PROJECTS__V1__ACTIVITY_STATUS__ACTIVITY_STATUS_CANCELLED);
}

int ref_overlap_find(ref_overlap_index *idx, const ref_overlap_query *q, Overlap ***out, size_t *n,
                     size_t *compared)
{
    ov_subject s = {0};
    ov_hit *hits = calloc(q->limit ? q->limit : 1, sizeof *hits);
    size_t nhits = 0;
    int rc = hits ? ov_subject_build(idx, &s, q->subject) : -ENOMEM;

    *out = NULL;
    *n = *compared = 0;
    for (size_t i = 0; rc == 0 && q->limit > 0 && i < idx->n_docs; i++) {
        const ov_doc *d = &idx->docs[i];
        ov_hit h = {.doc = (uint32_t)i};
        if (ov_skip(idx, q, d))
            continue;
        (*compared)++;
        h.score = ov_score(&s, d, idx->norms[i], h.sims);
        if (h.score < q->min_score || (q->duplicates_only && !ov_is_duplicate(h.score, h.sims)))
            continue;
        ov_hits_offer(idx, hits, &nhits, q->limit, &h);
    }
    if (rc == 0 && (*out = calloc(nhits ? nhits : 1, sizeof **out)) == NULL)
        rc = -ENOMEM;
    for (size_t i = 0; rc == 0 && i < nhits; i++) {
        if (((*out)[i] = ov_overlap(idx, &s, &hits[i])) == NULL)
            rc = -ENOMEM;
        else
            (*n)++;
    }
    if (rc != 0) {
        ref_overlap_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    ov_subject_free(&s);
    free(hits);
    return rc;
}

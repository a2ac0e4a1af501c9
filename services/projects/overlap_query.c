/* overlap_query.c: FindOverlaps over the index of overlap.c (see overlap.h,
 * docs/OVERLAPS.md).
 *
 * The answer is exactly the one scoring every project gives; what changed is
 * how few projects are scored to find it.
 *
 * 1. The subject's lists. Every item the subject has (a term, a working
 *    group, a partner, a theme, a country, being global) has the list of
 *    projects sharing it (overlap.c keeps them). A project on none of the
 *    lists shares no item: its groups, partners and themes score 0, its
 *    text is made only of words the subject lacks, and so on.
 * 2. The seed. The subject's terms but its most common ones (together at
 *    most OV_COMMON_TERMS_SHARE of its norm) are accumulated list by list:
 *    per project, the dot product with those terms and their share of its
 *    norm. The OV_TEXT_SEEDS projects with the largest sums are scored
 *    first (without words, the projects of the shortest lists: the rarest
 *    items), which sets the score a project must beat to be in the
 *    answer: the threshold (the limit-th best score so far, or min_score
 *    while fewer were found). Near duplicates share the most words, so
 *    the threshold starts close to its final value.
 * 3. Bounds. Every other project is ruled out if an upper bound of its score
 *    is below the threshold, and scored otherwise. The bound is cheap: the
 *    exact country, date and pillar similarities; for groups, partners and
 *    themes a count of shared items from 64-bit masks (never fewer than the
 *    true count); for the text, the accumulated dot product over a lower
 *    bound of the project's norm (every idf is at least 1), plus the share
 *    of the subject's norm held by its most common terms (Cauchy-Schwarz:
 *    those can add no more). A project on none of the lists that are read
 *    has an upper bound the same way, from which items it cannot share;
 *    when that bound is already below the threshold, only the shortest
 *    lists are read, else every project is bounded in one pass (ov_pass),
 *    whose first test has no branch on the project's items, no division
 *    and no root, so that most projects cost a few operations; the norms
 *    of the few scored are kept until the next write changes the idf.
 * Floating point: bounds carry a relative margin far above the rounding of
 * floats, so a project whose score could equal the threshold is scored;
 * equal scores are then ordered by IATI identifier as before.
 *
 * Scoring itself did not change: the same similarities, sums in the same
 * order (the text dot product over the doc's terms in id order, the norm as
 * the sum the index used to keep), so scores are equal to the bit, which
 * tests/unit/projects/test_overlap_ranking.c checks against the old brute
 * force.
 */
#include "overlap_internal.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef Compact__Projects__V1__OverlapReason OverlapReason;

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

/* A global project against one with countries. */
#define OV_GLOBAL_VS_COUNTRIES 0.5
#define OV_SHARED_WORDS 8
/* Projects scored first by their accumulated text sums (step 2). */
#define OV_TEXT_SEEDS 32
/* Projects scored before any bound is used (step 2), when no text seeds. */
#define OV_SEED_DOCS 256
/* The most common terms holding at most this share of the subject's norm
 * are not accumulated: the bound adds their share instead. Small, since
 * reading more postings costs less than the projects a looser text bound
 * lets through (0.25 before: 2.4 times the postings for a quarter of the
 * projects scored, bench/RESULTS.md). */
#define OV_COMMON_TERMS_SHARE 0.1
/* A bound is trusted below the threshold only by this relative margin. */
#define OV_MARGIN 1e-4

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

/* Bits set in v. The build targets the x86-64 baseline, where
 * __builtin_popcountll is a call into libgcc: this is inlined. */
static inline int ov_popcount(uint64_t v)
{
    v = v - ((v >> 1) & 0x5555555555555555ULL);
    v = (v & 0x3333333333333333ULL) + ((v >> 2) & 0x3333333333333333ULL);
    v = (v + (v >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
    return (int)((v * 0x0101010101010101ULL) >> 56);
}

static int ov_popcount4(const uint64_t v[4])
{
    return ov_popcount(v[0]) + ov_popcount(v[1]) + ov_popcount(v[2]) + ov_popcount(v[3]);
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

/* ---- the subject ---------------------------------------------------------- */

/* The subject of a query: its document, which factors it has, and its text
 * vector: qw and idf beside the first n_known terms of doc.terms (those the
 * index knows, sorted by id; unknown ones follow, shared by nobody), and
 * its norm. */
typedef struct ov_subject {
    ov_doc doc;
    ov_brief brief;
    int has[OV_FACTORS];
    double weight_sum;
    uint32_t n_known;
    float *qw, *idf;
    double qnorm;
} ov_subject;

static int ov_subject_build(overlap_index *idx, ov_subject *s, const Project *p)
{
    size_t live = overlap_index_size(idx);
    int rc = ov__doc_build(idx, &s->doc, p, 0);
    uint32_t n = s->doc.terms.n;

    if (rc != 0)
        return rc;
    s->qw = malloc((n ? n : 1) * sizeof *s->qw);
    s->idf = malloc((n ? n : 1) * sizeof *s->idf);
    if (s->qw == NULL || s->idf == NULL)
        return -ENOMEM;
    /* The same products and sum, in the same order, as when qw and idf were
     * arrays over every term of the index. */
    for (uint32_t i = 0; i < n; i++) {
        uint32_t t = s->doc.terms.v[i];
        int known = t < OV_UNKNOWN_ID;
        if (known)
            s->idf[s->n_known] = ov__term_idf(idx, t);
        double w = s->doc.tf[i] * (known ? (double)s->idf[s->n_known] : ov__idf(live, 0));
        if (known)
            s->qw[s->n_known++] = (float)w;
        s->qnorm += w * w;
    }
    s->qnorm = sqrt(s->qnorm);
    ov__brief_make(&s->doc, &s->brief);
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
    ov__doc_clear(&s->doc);
    free(s->qw);
    free(s->idf);
}

/* The subject's share of the dot product with `d`: over d's terms in id
 * order, as it always was summed. */
static double ov_text_dot(const ov_subject *s, const ov_doc *d)
{
    double dot = 0;
    uint32_t j = 0;

    for (uint32_t i = 0; i < d->terms.n && j < s->n_known; i++) {
        uint32_t t = d->terms.v[i];
        while (j < s->n_known && s->doc.terms.v[j] < t)
            j++;
        if (j < s->n_known && s->doc.terms.v[j] == t && s->qw[j] != 0)
            dot += (double)s->qw[j] * d->tf[i] * s->idf[j];
    }
    return dot;
}

static double ov_text_sim(const ov_subject *s, const ov_doc *d, double norm)
{
    double dot = ov_text_dot(s, d);

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
    sims[OV_PILLARS] = ov_overlap_coefficient((uint32_t)ov_popcount(q->pillars & d->pillars),
                                              (uint32_t)ov_popcount(q->pillars),
                                              (uint32_t)ov_popcount(d->pillars));
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
static int ov_hit_before(const overlap_index *idx, const ov_hit *a, const ov_hit *b)
{
    if (a->score != b->score)
        return a->score > b->score;
    return strcmp(idx->docs[a->doc].iati, idx->docs[b->doc].iati) < 0;
}

/* Inserts `h` into the sorted hits[0..*n) of room `limit`, if it belongs. */
static void ov_hits_offer(const overlap_index *idx, ov_hit *hits, size_t *n, size_t limit,
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
static void ov_shared_keys(const overlap_index *idx, OverlapReason *r, const ov_set *a,
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
static void ov_shared_words(const overlap_index *idx, const ov_subject *s, const ov_doc *d,
                            OverlapReason *r)
{
    struct {
        double c;
        uint32_t t;
    } best[OV_SHARED_WORDS];
    size_t n = 0;
    uint32_t j = 0;

    for (uint32_t i = 0; i < d->terms.n; i++) {
        uint32_t t = d->terms.v[i];
        while (j < s->n_known && s->doc.terms.v[j] < t)
            j++;
        if (j == s->n_known || s->doc.terms.v[j] != t)
            continue;
        double c = (double)s->qw[j] * d->tf[i] * s->idf[j];
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

static void ov_reason_detail(const overlap_index *idx, const ov_subject *s, const ov_doc *d, int f,
                             OverlapReason *r)
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

static OverlapReason *ov_reason(const overlap_index *idx, const ov_subject *s, const ov_doc *d,
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

static Overlap *ov_overlap(const overlap_index *idx, const ov_subject *s, const ov_hit *h)
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

void overlap_free(Overlap **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        protobuf_c_message_free_unpacked(&v[i]->base, NULL);
    free(v);
}

/* ---- the search ------------------------------------------------------------- */

/* One list of the subject: the projects sharing one of its items. */
typedef enum ov_list_kind {
    OV_LIST_TERM,
    OV_LIST_GROUP,
    OV_LIST_PARTNER,
    OV_LIST_THEME,
    OV_LIST_COUNTRY,
    OV_LIST_GLOBAL,
} ov_list_kind;

typedef struct ov_list {
    const ov_postings *p;
    ov_list_kind kind;
    uint32_t term; /* OV_LIST_TERM: the index of the term among the subject's known ones */
} ov_list;

/* What the lists not read yet leave possible, for a project on none of the
 * lists read: see ov_outside_bound. */
typedef struct ov_unread {
    double text2; /* sum of qw^2 over the terms whose lists are unread */
    uint32_t groups, partners, themes, countries;
    int global; /* the list of global projects is unread */
} ov_unread;

typedef struct ov_search {
    overlap_index *idx;
    const overlap_query *q;
    ov_subject *s;
    ov_hit *hits;
    size_t nhits;
    uint32_t query;
    int64_t excluded; /* doc number of q->exclude_id, or -1 */
    ov_list *lists;   /* shortest first */
    size_t nlists;
    double common_share; /* of the subject's norm, in terms not accumulated */
    int text_seeded;     /* ov_seed_by_text ran: lists need not seed */
} ov_search;

static size_t ov_list_len(const ov_list *l)
{
    return l->p ? l->p->n : 0;
}

static int ov_compare_lists(const void *a, const void *b)
{
    size_t x = ov_list_len(a), y = ov_list_len(b);

    return (x > y) - (x < y);
}

static int ov_list_push(ov_search *x, size_t cap, const ov_postings *p, ov_list_kind kind,
                        uint32_t term)
{
    if (x->nlists == cap)
        return -ENOMEM; /* cannot happen: cap counts every item */
    x->lists[x->nlists++] = (ov_list){.p = p, .kind = kind, .term = term};
    return 0;
}

/* The lists of every known item of the subject, shortest first. */
static int ov_lists_build(ov_search *x)
{
    const ov_doc *q = &x->s->doc;
    overlap_index *idx = x->idx;
    size_t cap = x->s->n_known + q->groups.n + q->partners.n + q->themes.n + ISO_COUNTRY_COUNT + 1;
    const ov_set *sets[3] = {&q->groups, &q->partners, &q->themes};
    const ov_list_kind kinds[3] = {OV_LIST_GROUP, OV_LIST_PARTNER, OV_LIST_THEME};
    int rc = 0;

    if ((x->lists = malloc(cap * sizeof *x->lists)) == NULL)
        return -ENOMEM;
    for (uint32_t j = 0; rc == 0 && j < x->s->n_known; j++)
        rc = ov_list_push(x, cap, &idx->term_postings[q->terms.v[j]], OV_LIST_TERM, j);
    for (int k = 0; k < 3; k++) {
        for (uint32_t i = 0; rc == 0 && i < sets[k]->n; i++) {
            if (sets[k]->v[i] < OV_UNKNOWN_ID)
                rc = ov_list_push(x, cap, &idx->key_postings[sets[k]->v[i]], kinds[k], 0);
        }
    }
    for (int c = 0; rc == 0 && c < ISO_COUNTRY_COUNT; c++) {
        if (q->countries[c / 64] & (1ULL << (c % 64)))
            rc = ov_list_push(x, cap, &idx->country_postings[c], OV_LIST_COUNTRY, 0);
    }
    if (rc == 0 && x->s->has[OV_COUNTRIES])
        rc = ov_list_push(x, cap, &idx->global_postings, OV_LIST_GLOBAL, 0);
    qsort(x->lists, x->nlists, sizeof *x->lists, ov_compare_lists);
    return rc;
}

static double ov_threshold(const ov_search *x)
{
    return x->nhits == x->q->limit ? x->hits[x->nhits - 1].score : x->q->min_score;
}

/* 1 when a bound of a project's score (or of its text similarity, against
 * `floor`) rules it out. */
static int ov_below(double bound, double floor)
{
    return bound * (1 + OV_MARGIN) < floor;
}

/* Doc `i` for the first time in this query and one to compare: 1. */
static inline int ov_take(ov_search *x, uint32_t i)
{
    ov_brief *b = &x->idx->briefs[i];

    if (b->seen == x->query)
        return 0;
    b->seen = x->query;
    if (!(b->flags & OV_BRIEF_LIVE) || (int64_t)i == x->excluded)
        return 0;
    return x->q->include_closed || !(b->flags & OV_BRIEF_CLOSED);
}

/* Scores doc i whose norm is `norm`, and offers it. */
static void ov_score_doc_normed(ov_search *x, uint32_t i, float norm)
{
    const ov_doc *d = &x->idx->docs[i];
    ov_hit h = {.doc = i};

    x->idx->stats.scored++;
    h.score = ov_score(x->s, d, norm, h.sims);
    if (h.score < x->q->min_score || (x->q->duplicates_only && !ov_is_duplicate(h.score, h.sims)))
        return;
    ov_hits_offer(x->idx, x->hits, &x->nhits, x->q->limit, &h);
}

static void ov_score_doc(ov_search *x, uint32_t i)
{
    ov_score_doc_normed(x, i, ov__doc_norm(x->idx, &x->idx->docs[i]));
}

/* At least the items two sets share. Every shared item sets the same bit
 * (its id modulo 64) in both masks, so masks without a common bit share
 * nothing; and when neither set has two items on one bit (as many bits as
 * items), they share at most the masks' common bits. Never more than the
 * smaller set. */
static inline uint32_t ov_common_bound(uint64_t a_mask, uint32_t a, uint64_t b_mask, uint32_t b)
{
    uint32_t c = a < b ? a : b;

    if ((a_mask & b_mask) == 0)
        return 0;
    if ((uint32_t)ov_popcount(a_mask) == a && (uint32_t)ov_popcount(b_mask) == b) {
        uint32_t bits = (uint32_t)ov_popcount(a_mask & b_mask);
        if (bits < c)
            c = bits;
    }
    return c;
}

/* An upper bound of ov_countries_sim. */
static double ov_countries_bound(const ov_brief *q, const ov_brief *d)
{
    int qg = (q->flags & OV_BRIEF_GLOBAL) != 0, dg = (d->flags & OV_BRIEF_GLOBAL) != 0;

    if (qg && dg)
        return 1.0;
    if ((qg && d->countries) || (dg && q->countries))
        return OV_GLOBAL_VS_COUNTRIES;
    return ov_dice(ov_common_bound(q->country_mask, q->countries, d->country_mask, d->countries),
                   q->countries, d->countries);
}

/* ov_dates_sim of two briefs. */
static double ov_dates_bound(const ov_brief *s, const ov_brief *d)
{
    if (s->start == OV_NO_DAY || d->start == OV_NO_DAY || s->end == OV_NO_DAY ||
        d->end == OV_NO_DAY)
        return 0.0;
    int32_t from = s->start > d->start ? s->start : d->start;
    int32_t to = s->end < d->end ? s->end : d->end;
    if (to < from)
        return 0.0;
    double len_s = (double)s->end - s->start + 1, len_d = (double)d->end - d->start + 1;
    return ((double)to - from + 1) / (len_s < len_d ? len_s : len_d);
}

/* A coarser bound of the same, without a division: the weight of every
 * factor the doc may share something of. */
static inline double ov_nontext_coarse(const ov_subject *s, const ov_brief *d)
{
    const ov_brief *q = &s->brief;
    double sum = 0;

    if (s->has[OV_GROUPS] && ov_common_bound(q->group_mask, q->groups, d->group_mask, d->groups))
        sum += ov_weights[OV_GROUPS];
    if (s->has[OV_PARTNERS] &&
        ov_common_bound(q->partner_mask, q->partners, d->partner_mask, d->partners))
        sum += ov_weights[OV_PARTNERS];
    if (s->has[OV_THEMES] && ov_common_bound(q->theme_mask, q->themes, d->theme_mask, d->themes))
        sum += ov_weights[OV_THEMES];
    if (s->has[OV_COUNTRIES]) {
        if ((q->flags & d->flags & OV_BRIEF_GLOBAL) ||
            ov_common_bound(q->country_mask, q->countries, d->country_mask, d->countries))
            sum += ov_weights[OV_COUNTRIES];
        else if ((q->flags | d->flags) & OV_BRIEF_GLOBAL)
            sum += ov_weights[OV_COUNTRIES] * OV_GLOBAL_VS_COUNTRIES;
    }
    if (s->has[OV_DATES] && d->start != OV_NO_DAY && d->end != OV_NO_DAY &&
        (q->start > d->start ? q->start : d->start) <= (q->end < d->end ? q->end : d->end))
        sum += ov_weights[OV_DATES];
    if (s->has[OV_PILLARS] && (q->pillars & d->pillars))
        sum += ov_weights[OV_PILLARS];
    return sum;
}

/* An upper bound of the weighted sum of every factor but the text. */
static double ov_nontext_bound(const ov_subject *s, const ov_brief *d)
{
    const ov_brief *q = &s->brief;
    double sum = 0;

    if (s->has[OV_GROUPS])
        sum += ov_weights[OV_GROUPS] *
               ov_overlap_coefficient(
                   ov_common_bound(q->group_mask, q->groups, d->group_mask, d->groups), q->groups,
                   d->groups);
    if (s->has[OV_PARTNERS])
        sum += ov_weights[OV_PARTNERS] *
               ov_dice(ov_common_bound(q->partner_mask, q->partners, d->partner_mask, d->partners),
                       q->partners, d->partners);
    if (s->has[OV_THEMES])
        sum += ov_weights[OV_THEMES] *
               ov_dice(ov_common_bound(q->theme_mask, q->themes, d->theme_mask, d->themes),
                       q->themes, d->themes);
    if (s->has[OV_COUNTRIES])
        sum += ov_weights[OV_COUNTRIES] * ov_countries_bound(q, d);
    if (s->has[OV_DATES])
        sum += ov_weights[OV_DATES] * ov_dates_bound(q, d);
    if (s->has[OV_PILLARS])
        sum += ov_weights[OV_PILLARS] *
               ov_overlap_coefficient((uint32_t)ov_popcount(q->pillars & d->pillars),
                                      (uint32_t)ov_popcount(q->pillars),
                                      (uint32_t)ov_popcount(d->pillars));
    return sum;
}

/* An upper bound of doc i's text similarity: its dot product with the
 * accumulated terms over its norm, plus the share of the subject's norm in
 * the terms not accumulated (Cauchy-Schwarz: they add at most that). With
 * `norm` 0 the norm is not known yet and a lower bound of it serves: the
 * accumulated terms' weights, and at least tf for each other term since
 * every idf is at least 1. */
static double ov_text_bound(const ov_search *x, uint32_t i, double norm)
{
    const overlap_index *idx = x->idx;
    const ov_brief *d = &idx->briefs[i];
    const ov_acc *a = &idx->acc[i];
    double dot = 0, sq = 0, tf2 = 0;

    if (d->tf_squares == 0 || x->s->qnorm <= 0)
        return 0;
    if (a->query == x->query) {
        dot = a->dot;
        sq = a->sq;
        tf2 = a->tf2;
    }
    if (norm <= 0) {
        double rest = (double)d->tf_squares - tf2;
        norm = sqrt(sq + (rest > 0 ? rest : 0));
    }
    double b = (norm > 0 ? dot / (norm * x->s->qnorm) : 0) + x->common_share;
    return b < 1 ? b : 1;
}

/* Doc i (taken): scored unless a bound rules it out. The bounds go from
 * the cheapest to the tightest: the factors it may share at all, the text
 * over a lower bound of its norm, every other factor's similarity, the
 * text over its norm (a pass over its terms). */
static void ov_consider(ov_search *x, uint32_t i)
{
    const ov_subject *s = x->s;
    const ov_brief *b = &x->idx->briefs[i];
    double w = s->weight_sum, floor = ov_threshold(x);
    double rest = ov_nontext_coarse(s, b);

    if (!s->has[OV_TEXT]) {
        if (ov_below(rest / w, floor) || ov_below(ov_nontext_bound(s, b) / w, floor))
            return;
        ov_score_doc(x, i);
        return;
    }
    if (ov_below((rest + ov_weights[OV_TEXT]) / w, floor))
        return;
    double text = ov_text_bound(x, i, 0);
    if ((x->q->duplicates_only && ov_below(text, OVERLAP_DUPLICATE_TEXT)) ||
        ov_below((rest + ov_weights[OV_TEXT] * text) / w, floor))
        return;
    rest = ov_nontext_bound(s, b);
    if (ov_below((rest + ov_weights[OV_TEXT] * text) / w, floor))
        return;
    float norm = ov__doc_norm(x->idx, &x->idx->docs[i]);
    text = ov_text_bound(x, i, norm);
    if ((x->q->duplicates_only && ov_below(text, OVERLAP_DUPLICATE_TEXT)) ||
        ov_below((rest + ov_weights[OV_TEXT] * text) / w, floor))
        return;
    ov_score_doc_normed(x, i, norm);
}

/* Bits of the factors a doc may share something of, for ov_pass: the
 * index of a table of their weights' sum (ov_coarse_table). */
enum {
    OV_MAY_GROUPS = 1,
    OV_MAY_PARTNERS = 2,
    OV_MAY_THEMES = 4,
    OV_MAY_COUNTRIES = 8,
    OV_MAY_COUNTRIES_HALF = 16, /* one is global, the other not */
    OV_MAY_DATES = 32,
    OV_MAY_PILLARS = 64,
    OV_MAY_ALL = 128
};

/* ov_common_bound(...) > 0, without a branch. */
static inline unsigned ov_may_share(uint64_t a_mask, uint64_t b_mask)
{
    return (unsigned)((a_mask & b_mask) != 0);
}

/* The factors doc `d` may share with the subject: the same tests as
 * ov_nontext_coarse, as bits. */
static inline unsigned ov_may(const ov_brief *q, const ov_brief *d)
{
    unsigned global = (unsigned)((q->flags & d->flags & OV_BRIEF_GLOBAL) != 0);
    unsigned either = (unsigned)(((q->flags | d->flags) & OV_BRIEF_GLOBAL) != 0);
    unsigned countries = global | ov_may_share(q->country_mask, d->country_mask);
    int32_t from = q->start > d->start ? q->start : d->start;
    int32_t to = q->end < d->end ? q->end : d->end;
    unsigned dates = (unsigned)(d->start != OV_NO_DAY) & (d->end != OV_NO_DAY) & (from <= to);

    return ov_may_share(q->group_mask, d->group_mask) * OV_MAY_GROUPS |
           ov_may_share(q->partner_mask, d->partner_mask) * OV_MAY_PARTNERS |
           ov_may_share(q->theme_mask, d->theme_mask) * OV_MAY_THEMES |
           countries * OV_MAY_COUNTRIES | (either & ~countries) * OV_MAY_COUNTRIES_HALF |
           dates * OV_MAY_DATES | (unsigned)((q->pillars & d->pillars) != 0) * OV_MAY_PILLARS;
}

/* For every set of OV_MAY_* bits, ov_nontext_coarse's sum. */
static void ov_coarse_table(const ov_subject *s, double table[OV_MAY_ALL])
{
    static const struct {
        unsigned bit;
        int factor;
        double share;
    } parts[] = {
        {OV_MAY_GROUPS, OV_GROUPS, 1},
        {OV_MAY_PARTNERS, OV_PARTNERS, 1},
        {OV_MAY_THEMES, OV_THEMES, 1},
        {OV_MAY_COUNTRIES, OV_COUNTRIES, 1},
        {OV_MAY_COUNTRIES_HALF, OV_COUNTRIES, OV_GLOBAL_VS_COUNTRIES},
        {OV_MAY_DATES, OV_DATES, 1},
        {OV_MAY_PILLARS, OV_PILLARS, 1},
    };

    for (unsigned bits = 0; bits < OV_MAY_ALL; bits++) {
        table[bits] = 0;
        for (size_t k = 0; k < sizeof parts / sizeof parts[0]; k++) {
            if ((bits & parts[k].bit) && s->has[parts[k].factor])
                table[bits] += ov_weights[parts[k].factor] * parts[k].share;
        }
    }
}

/* Step 3's pass over every project not taken yet: ov_consider's first
 * bound (the factors a doc may share at all, and the text over a lower
 * bound of its norm), without a branch on the doc's items, a division or
 * a root (the text test is squared), rules out most of them in a few
 * operations each; the others go to ov_consider. */
static void ov_pass(ov_search *x)
{
    const overlap_index *idx = x->idx;
    const ov_subject *s = x->s;
    int closed_too = x->q->include_closed, text = s->has[OV_TEXT] && s->qnorm > 0;
    double table[OV_MAY_ALL], scale = s->weight_sum / (1 + OV_MARGIN);
    double common = text ? ov_weights[OV_TEXT] * x->common_share : 0;
    /* duplicates_only: what the text over the accumulated terms must stay
     * under to be below a duplicate's text similarity. */
    double dup_room = (OVERLAP_DUPLICATE_TEXT / (1 + OV_MARGIN) - x->common_share) * s->qnorm;
    int dup = x->q->duplicates_only && text && dup_room > 0;

    ov_coarse_table(s, table);
    for (uint32_t i = 0; i < idx->n_docs; i++) {
        const ov_brief *b = &idx->briefs[i];
        const ov_acc *a = &idx->acc[i];
        if (b->seen == x->query || !(b->flags & OV_BRIEF_LIVE) ||
            (!closed_too && (b->flags & OV_BRIEF_CLOSED)) || (int64_t)i == x->excluded)
            continue;
        /* What the text must stay under for the doc to be ruled out. */
        double room = ov_threshold(x) * scale - table[ov_may(&s->brief, b)] - common;
        if (room <= 0) {
            ov_consider(x, i);
            continue;
        }
        int touched = a->query == x->query;
        double dot = touched ? a->dot : 0;
        double rest = (double)b->tf_squares - (touched ? a->tf2 : 0);
        double norm2 = (touched ? a->sq : 0) + (rest > 0 ? rest : 0);
        double r = room * s->qnorm / ov_weights[OV_TEXT];
        if (text && dot > 0 && !(dot * dot < r * r * norm2) &&
            !(dup && dot * dot < dup_room * dup_room * norm2))
            ov_consider(x, i);
    }
}

/* Adds term j's list to the accumulated dot products and norms. */
static void ov_accumulate(ov_search *x, uint32_t j)
{
    overlap_index *idx = x->idx;
    const ov_postings *p = &idx->term_postings[x->s->doc.terms.v[j]];
    double qw = x->s->qw[j], idf = x->s->idf[j];

    idx->stats.postings += p->n;
    for (uint32_t k = 0; k < p->n; k++) {
        ov_acc *a = &idx->acc[p->doc[k]];
        double tw = p->tf[k] * idf;
        if (a->query != x->query)
            *a = (ov_acc){.query = x->query};
        a->dot += (float)(qw * tw);
        a->sq += (float)(tw * tw);
        a->tf2 += (uint32_t)p->tf[k] * p->tf[k];
    }
}

/* A subject term and how many projects have it. */
typedef struct ov_term_df {
    uint32_t df, j;
} ov_term_df;

/* Most common first; equal ones by position, so the order is fixed. */
static int ov_compare_term_df(const void *a, const void *b)
{
    const ov_term_df *x = a, *y = b;

    if (x->df != y->df)
        return (x->df < y->df) - (x->df > y->df);
    return (x->j > y->j) - (x->j < y->j);
}

/* Term positions by ascending position (and so ascending term id). */
static int ov_compare_position(const void *a, const void *b)
{
    const ov_term_df *x = a, *y = b;

    return (x->j > y->j) - (x->j < y->j);
}

/* Accumulates every known term of the subject but its most common ones,
 * which together hold at most OV_COMMON_TERMS_SHARE of its norm. */
static int ov_accumulate_rare_terms(ov_search *x)
{
    const ov_subject *s = x->s;
    uint32_t n = s->n_known, k;
    ov_term_df *order = malloc((n ? n : 1) * sizeof *order);
    double common2 = 0, limit2 = pow(OV_COMMON_TERMS_SHARE * s->qnorm, 2);

    if (order == NULL)
        return -ENOMEM;
    for (uint32_t j = 0; j < n; j++)
        order[j] = (ov_term_df){.df = x->idx->terms.df[s->doc.terms.v[j]], .j = j};
    qsort(order, n, sizeof *order, ov_compare_term_df);
    for (k = 0; k < n; k++) {
        double w2 = (double)s->qw[order[k].j] * s->qw[order[k].j];
        if (common2 + w2 > limit2)
            break;
        common2 += w2;
    }
    x->common_share = s->qnorm > 0 ? sqrt(common2) / s->qnorm : 0;
    qsort(order + k, n - k, sizeof *order, ov_compare_position);
    for (uint32_t i = k; i < n; i++)
        ov_accumulate(x, order[i].j);
    free(order);
    return 0;
}

/* The Dice similarity's bound for a project sharing at most `u` of the
 * subject's `n` items: 2u / (n + u), the most it gets (it grows with what
 * is shared, and the project has at least what it shares). */
static double ov_dice_bound(uint32_t u, uint32_t n)
{
    return u ? 2.0 * u / (n + u) : 0.0;
}

/* An upper bound of the score of a project on none of the lists read. */
static double ov_outside_bound(const ov_search *x, const ov_unread *u)
{
    const ov_subject *s = x->s;
    const ov_doc *q = &s->doc;
    double sim[OV_FACTORS] = {0}, sum = 0;

    sim[OV_TEXT] = s->qnorm > 0 ? sqrt(u->text2) / s->qnorm : 0;
    sim[OV_GROUPS] = u->groups ? 1 : 0;
    sim[OV_PARTNERS] = ov_dice_bound(u->partners, q->partners.n);
    sim[OV_THEMES] = ov_dice_bound(u->themes, q->themes.n);
    if (q->global) {
        sim[OV_COUNTRIES] = u->global ? 1 : OV_GLOBAL_VS_COUNTRIES;
    } else {
        uint32_t nc = (uint32_t)ov_popcount4(q->countries);
        double by_countries = ov_dice_bound(u->countries, nc);
        sim[OV_COUNTRIES] = u->global && by_countries < OV_GLOBAL_VS_COUNTRIES
                                ? OV_GLOBAL_VS_COUNTRIES
                                : by_countries;
    }
    sim[OV_DATES] = 1;
    sim[OV_PILLARS] = 1;
    for (int f = 0; f < OV_FACTORS; f++)
        sum += s->has[f] ? ov_weights[f] * (sim[f] < 1 ? sim[f] : 1) : 0;
    return sum / s->weight_sum;
}

static void ov_unread_init(const ov_search *x, ov_unread *u)
{
    const ov_doc *q = &x->s->doc;

    memset(u, 0, sizeof *u);
    for (uint32_t j = 0; j < x->s->n_known; j++)
        u->text2 += (double)x->s->qw[j] * x->s->qw[j];
    for (size_t i = 0; i < x->nlists; i++) {
        switch (x->lists[i].kind) {
        case OV_LIST_GROUP:
            u->groups++;
            break;
        case OV_LIST_PARTNER:
            u->partners++;
            break;
        case OV_LIST_THEME:
            u->themes++;
            break;
        case OV_LIST_COUNTRY:
            u->countries++;
            break;
        case OV_LIST_GLOBAL:
            u->global = 1;
            break;
        default:
            break;
        }
    }
    (void)q;
}

/* List l is read: the unread items shrink. */
static void ov_unread_drop(const ov_search *x, ov_unread *u, const ov_list *l)
{
    switch (l->kind) {
    case OV_LIST_TERM:
        u->text2 -= (double)x->s->qw[l->term] * x->s->qw[l->term];
        if (u->text2 < 0)
            u->text2 = 0;
        break;
    case OV_LIST_GROUP:
        u->groups--;
        break;
    case OV_LIST_PARTNER:
        u->partners--;
        break;
    case OV_LIST_THEME:
        u->themes--;
        break;
    case OV_LIST_COUNTRY:
        u->countries--;
        break;
    case OV_LIST_GLOBAL:
        u->global = 0;
        break;
    }
}

/* How many projects the query compares (see overlap_find). */
static size_t ov_eligible(const ov_search *x)
{
    const overlap_index *idx = x->idx;
    size_t n = idx->live - (x->q->include_closed ? 0 : idx->closed);
    const ov_doc *d = x->excluded >= 0 ? &idx->docs[x->excluded] : NULL;

    if (d && d->id && (x->q->include_closed || !ov__status_closed(d->status)))
        n--;
    return n;
}

/* The projects with the largest text dot products over the accumulated
 * terms, most often the best overlaps: scored before anything else, they
 * set a threshold near the final one for every bound after them. A pass
 * over the sums alone (OV_TEXT_SEEDS kept, the smallest replaced). */
static void ov_seed_by_text(ov_search *x)
{
    const overlap_index *idx = x->idx;
    struct {
        float dot;
        uint32_t doc;
    } best[OV_TEXT_SEEDS];
    size_t n = 0, low = 0;

    for (uint32_t i = 0; i < idx->n_docs; i++) {
        const ov_acc *a = &idx->acc[i];
        if (a->query != x->query || (n == OV_TEXT_SEEDS && a->dot <= best[low].dot))
            continue;
        if (n < OV_TEXT_SEEDS) {
            low = n++;
        }
        best[low].dot = a->dot;
        best[low].doc = i;
        if (n < OV_TEXT_SEEDS)
            continue;
        for (size_t k = 0; k < n; k++) {
            if (best[k].dot < best[low].dot)
                low = k;
        }
    }
    for (size_t k = 0; k < n; k++) {
        if (ov_take(x, best[k].doc))
            ov_score_doc(x, best[k].doc);
    }
    x->text_seeded = n > 0; /* else the lists seed, as without words */
}

/* Reads list l: each of its projects not seen yet is scored (the first
 * OV_SEED_DOCS of the query) or bounded. With `seed`, stops once
 * OV_SEED_DOCS were taken: 1 when the list was read to its end. */
static int ov_read_list(ov_search *x, const ov_list *l, size_t *taken, int seed)
{
    const ov_postings *p = l->p;

    for (uint32_t k = 0; k < p->n; k++) {
        if (seed && *taken == OV_SEED_DOCS) {
            x->idx->stats.postings += k;
            return 0;
        }
        if (!ov_take(x, p->doc[k]))
            continue;
        if ((*taken)++ < OV_SEED_DOCS && !x->text_seeded)
            ov_score_doc(x, p->doc[k]);
        else
            ov_consider(x, p->doc[k]);
    }
    x->idx->stats.postings += p->n;
    return 1;
}

/* Whether reading the lists from `from` on until a project on none of the
 * lists read is ruled out (with the threshold as it is) costs at most
 * `budget` postings; if so, how many lists that takes (*upto). */
static int ov_plan(const ov_search *x, ov_unread u, size_t from, size_t budget, size_t *upto)
{
    double floor = ov_threshold(x);
    size_t postings = 0, l = from;

    while (!ov_below(ov_outside_bound(x, &u), floor)) {
        if (l == x->nlists || (postings += ov_list_len(&x->lists[l])) > budget)
            return 0;
        ov_unread_drop(x, &u, &x->lists[l]);
        l++;
    }
    *upto = l;
    return 1;
}

/* Steps 2 and 3 (see the top): the text seeds, and the shortest lists
 * until OV_SEED_DOCS projects were taken (scored when there were no text
 * seeds, else bounded); then either the lists that rule out a project on
 * none of them, when they add up to at most half the projects, or a pass
 * over every project not seen yet. */
static int ov_search_run(ov_search *x)
{
    overlap_index *idx = x->idx;
    size_t taken = 0, l = 0, upto;
    ov_unread u;
    int rc;

    if ((rc = ov__acc_reserve(idx)) != 0 || (rc = ov_lists_build(x)) != 0)
        return rc;
    if (++idx->query == 0) { /* wrapped: forget every query's marks */
        for (size_t i = 0; i < idx->n_docs; i++)
            idx->briefs[i].seen = 0;
        memset(idx->acc, 0, idx->cap_acc * sizeof *idx->acc);
        idx->query = 1;
    }
    x->query = idx->query;
    if (x->s->has[OV_TEXT] && (rc = ov_accumulate_rare_terms(x)) != 0)
        return rc;
    if (x->s->has[OV_TEXT])
        ov_seed_by_text(x);
    ov_unread_init(x, &u);
    /* A list the seed stops in stays unread: the plan or the pass take
     * the rest of it. */
    for (; l < x->nlists && taken < OV_SEED_DOCS; l++) {
        if (!ov_read_list(x, &x->lists[l], &taken, 1))
            break;
        ov_unread_drop(x, &u, &x->lists[l]);
    }
    if (ov_plan(x, u, l, idx->live / 2, &upto)) {
        for (; l < upto; l++)
            ov_read_list(x, &x->lists[l], &taken, 0);
        return 0;
    }
    idx->stats.full_passes++;
    ov_pass(x);
    return 0;
}

int overlap_find(overlap_index *idx, const overlap_query *q, Overlap ***out, size_t *n,
                 size_t *compared)
{
    ov_subject s = {0};
    ov_search x = {.idx = idx, .q = q, .s = &s};
    int rc;

    *out = NULL;
    *n = *compared = 0;
    x.hits = calloc(q->limit ? q->limit : 1, sizeof *x.hits);
    rc = x.hits ? ov_subject_build(idx, &s, q->subject) : -ENOMEM;
    if (rc == 0 && q->limit > 0) {
        idx->stats.queries++;
        x.excluded = q->exclude_id ? ov__doc_of(idx, q->exclude_id) : -1;
        *compared = ov_eligible(&x);
        idx->stats.eligible += *compared;
        rc = ov_search_run(&x);
    }
    if (rc == 0 && (*out = calloc(x.nhits ? x.nhits : 1, sizeof **out)) == NULL)
        rc = -ENOMEM;
    for (size_t i = 0; rc == 0 && i < x.nhits; i++) {
        if (((*out)[i] = ov_overlap(idx, &s, &x.hits[i])) == NULL)
            rc = -ENOMEM;
        else
            (*n)++;
    }
    if (rc != 0) {
        overlap_free(*out, *n);
        *out = NULL;
        *n = *compared = 0;
    }
    ov_subject_free(&s);
    free(x.lists);
    free(x.hits);
    return rc;
}

/* overlap.c: the overlap index: its documents and postings, kept up to date
 * project by project (see overlap.h; the search is overlap_query.c).
 *
 * Sections: interning (strings to dense ids), bags (the distinct items of
 * one project while it is being read), documents (one project as the index
 * keeps it), postings (which documents have an item), the idf and norms of
 * the index as it is now, and the index itself.
 *
 * A put replaces a document only when what it was built from changed (a
 * fingerprint of the fields the index reads): recording a transaction or
 * reporting an indicator, most of a project's writes, leaves the index as
 * it was. Postings are sorted arrays of doc numbers; a new project takes the
 * next number and goes at their ends, a changed one is moved with a binary
 * search and a memmove per item.
 */
#include "overlap_internal.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "overlap_text.h"

/* Title words count this many times a summary word. */
#define OV_TITLE_WEIGHT 2

/* ---- interning ---------------------------------------------------------- */

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

void ov__doc_clear(ov_doc *d)
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

/* A bit per known item (id modulo 64): two masks' AND has at least as many
 * bits as the sets share items. Unknown items are shared by nobody. */
static uint64_t ov_set_mask(const ov_set *s)
{
    uint64_t m = 0;

    for (uint32_t i = 0; i < s->n; i++) {
        if (s->v[i] < OV_UNKNOWN_ID)
            m |= 1ULL << (s->v[i] % 64);
    }
    return m;
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

int ov__doc_build(overlap_index *idx, ov_doc *d, const Project *p, int create)
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

static uint16_t ov_saturate16(uint64_t v)
{
    return v > UINT16_MAX ? UINT16_MAX : (uint16_t)v;
}

void ov__brief_make(const ov_doc *d, ov_brief *b)
{
    uint64_t tf2 = 0;
    uint32_t countries = 0;

    memset(b, 0, sizeof *b);
    b->group_mask = ov_set_mask(&d->groups);
    b->partner_mask = ov_set_mask(&d->partners);
    b->theme_mask = ov_set_mask(&d->themes);
    for (int c = 0; c < ISO_COUNTRY_COUNT; c++) {
        if (d->countries[c / 64] & (1ULL << (c % 64))) {
            b->country_mask |= 1ULL << (c % 64);
            countries++;
        }
    }
    b->start = d->start;
    b->end = d->end;
    for (uint32_t i = 0; i < d->terms.n; i++)
        tf2 += (uint64_t)d->tf[i] * d->tf[i];
    b->tf_squares = tf2 > UINT32_MAX ? UINT32_MAX : (uint32_t)tf2;
    b->groups = ov_saturate16(d->groups.n);
    b->partners = ov_saturate16(d->partners.n);
    b->themes = ov_saturate16(d->themes.n);
    b->countries = ov_saturate16(countries);
    b->pillars = (uint8_t)d->pillars;
    b->flags = (uint8_t)((d->id ? OV_BRIEF_LIVE : 0) |
                         (ov__status_closed(d->status) ? OV_BRIEF_CLOSED : 0) |
                         (d->global ? OV_BRIEF_GLOBAL : 0));
}

/* ---- fingerprints -------------------------------------------------------- */

/* Two FNV-1a hashes (different offsets) of every field the index reads,
 * each string closed by a byte no string holds: a put whose fingerprint
 * matches the doc's changes nothing. */
typedef struct ov_fp {
    uint64_t h[2];
} ov_fp;

static void ov_fp_bytes(ov_fp *f, const void *data, size_t n)
{
    const unsigned char *p = data;

    for (size_t i = 0; i < n; i++) {
        f->h[0] = (f->h[0] ^ p[i]) * 1099511628211ULL;
        f->h[1] = (f->h[1] ^ p[i]) * 1099511628211ULL;
    }
}

static void ov_fp_str(ov_fp *f, const char *s)
{
    ov_fp_bytes(f, s ? s : "", s ? strlen(s) + 1 : 1);
}

static void ov_fp_int(ov_fp *f, int64_t v)
{
    ov_fp_bytes(f, &v, sizeof v);
}

static void ov_fp_project(const Project *p, uint64_t out[2])
{
    ov_fp f = {{14695981039346656037ULL, 0x84222325cbf29ce4ULL}};

    ov_fp_str(&f, p->id);
    ov_fp_str(&f, p->iati_identifier);
    ov_fp_str(&f, p->title);
    ov_fp_str(&f, p->summary);
    ov_fp_int(&f, p->status);
    ov_fp_str(&f, p->start_date);
    ov_fp_str(&f, p->end_date);
    ov_fp_int(&f, p->global_scope);
    ov_fp_int(&f, (int64_t)p->n_working_group_ids);
    for (size_t i = 0; i < p->n_working_group_ids; i++)
        ov_fp_str(&f, p->working_group_ids[i]);
    ov_fp_int(&f, (int64_t)p->n_participants);
    for (size_t i = 0; i < p->n_participants; i++)
        ov_fp_str(&f, p->participants[i]->entity_id);
    ov_fp_int(&f, (int64_t)p->n_recipient_countries);
    for (size_t i = 0; i < p->n_recipient_countries; i++)
        ov_fp_str(&f, p->recipient_countries[i]);
    ov_fp_int(&f, (int64_t)p->n_pillars);
    for (size_t i = 0; i < p->n_pillars; i++)
        ov_fp_int(&f, p->pillars[i]);
    ov_fp_int(&f, (int64_t)p->n_themes);
    for (size_t i = 0; i < p->n_themes; i++)
        ov_fp_str(&f, p->themes[i]);
    out[0] = f.h[0];
    out[1] = f.h[1];
}

/* ---- postings ------------------------------------------------------------ */

/* Where doc `doc` is, or would go, in `p`. */
static uint32_t ov_postings_find(const ov_postings *p, uint32_t doc)
{
    uint32_t lo = 0, hi = p->n;

    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (p->doc[mid] < doc)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int ov_postings_add(ov_postings *p, uint32_t doc, int with_tf, uint16_t tf)
{
    if (p->n == p->cap) {
        uint32_t cap = p->cap ? p->cap * 2 : 4;
        uint32_t *docs = realloc(p->doc, cap * sizeof *docs);
        if (docs == NULL)
            return -ENOMEM;
        p->doc = docs;
        if (with_tf) {
            uint16_t *tfs = realloc(p->tf, cap * sizeof *tfs);
            if (tfs == NULL)
                return -ENOMEM;
            p->tf = tfs;
        }
        p->cap = cap;
    }
    uint32_t at = ov_postings_find(p, doc);
    if (at < p->n && p->doc[at] == doc)
        return 0;
    memmove(&p->doc[at + 1], &p->doc[at], (p->n - at) * sizeof *p->doc);
    p->doc[at] = doc;
    if (with_tf) {
        memmove(&p->tf[at + 1], &p->tf[at], (p->n - at) * sizeof *p->tf);
        p->tf[at] = tf;
    }
    p->n++;
    return 0;
}

static void ov_postings_remove(ov_postings *p, uint32_t doc)
{
    uint32_t at = ov_postings_find(p, doc);

    if (at == p->n || p->doc[at] != doc)
        return;
    memmove(&p->doc[at], &p->doc[at + 1], (p->n - at - 1) * sizeof *p->doc);
    if (p->tf)
        memmove(&p->tf[at], &p->tf[at + 1], (p->n - at - 1) * sizeof *p->tf);
    p->n--;
}

static void ov_postings_free(ov_postings *p)
{
    free(p->doc);
    free(p->tf);
    memset(p, 0, sizeof *p);
}

/* Grows an array of postings (zeroed) to hold at least `need`. */
static int ov_postings_table(ov_postings **table, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t grown_cap = *cap ? *cap : 64;
    while (grown_cap < need)
        grown_cap *= 2;
    ov_postings *grown = realloc(*table, grown_cap * sizeof *grown);
    if (grown == NULL)
        return -ENOMEM;
    memset(grown + *cap, 0, (grown_cap - *cap) * sizeof *grown);
    *table = grown;
    *cap = grown_cap;
    return 0;
}

/* Adds (add 1) or removes (add 0) doc `at` in the postings of its items.
 * Removing cannot fail; adding fails with -ENOMEM, leaving the doc in some
 * of its lists (the caller then removes it from all of them). */
static int ov_doc_post(overlap_index *idx, const ov_doc *d, uint32_t at, int add)
{
    const ov_set *sets[3] = {&d->groups, &d->partners, &d->themes};
    int rc = 0;

    if (add &&
        ((rc = ov_postings_table(&idx->term_postings, &idx->cap_term_postings, idx->terms.n)) !=
             0 ||
         (rc = ov_postings_table(&idx->key_postings, &idx->cap_key_postings, idx->keys.n)) != 0))
        return rc;
    for (uint32_t i = 0; rc == 0 && i < d->terms.n; i++) {
        ov_postings *p = &idx->term_postings[d->terms.v[i]];
        if (add)
            rc = ov_postings_add(p, at, 1, d->tf[i]);
        else
            ov_postings_remove(p, at);
    }
    for (int s = 0; s < 3; s++) {
        for (uint32_t i = 0; rc == 0 && i < sets[s]->n; i++) {
            ov_postings *p = &idx->key_postings[sets[s]->v[i]];
            if (add)
                rc = ov_postings_add(p, at, 0, 0);
            else
                ov_postings_remove(p, at);
        }
    }
    for (int c = 0; rc == 0 && c < ISO_COUNTRY_COUNT; c++) {
        if (!(d->countries[c / 64] & (1ULL << (c % 64))))
            continue;
        if (add)
            rc = ov_postings_add(&idx->country_postings[c], at, 0, 0);
        else
            ov_postings_remove(&idx->country_postings[c], at);
    }
    if (rc == 0 && d->global) {
        if (add)
            rc = ov_postings_add(&idx->global_postings, at, 0, 0);
        else
            ov_postings_remove(&idx->global_postings, at);
    }
    return rc;
}

/* ---- idf and norms -------------------------------------------------------- */

double ov__idf(size_t n_docs, uint32_t df)
{
    return log((1.0 + (double)n_docs) / (1.0 + df)) + 1.0;
}

float ov__term_idf(overlap_index *idx, uint32_t t)
{
    /* +1: a key of 0 is "never computed". */
    uint64_t key = ((uint64_t)idx->live << 32 | idx->terms.df[t]) + 1;

    if (idx->idf_key[t] != key) {
        idx->idf[t] = (float)ov__idf(idx->live, idx->terms.df[t]);
        idx->idf_key[t] = key;
    }
    return idx->idf[t];
}

float ov__doc_norm(overlap_index *idx, ov_doc *d)
{
    double norm = 0;

    if (d->norm_epoch == idx->epoch)
        return d->norm;
    /* The same sums in the same order as the norms the index used to keep
     * for every doc, so that scores do not move by a bit. */
    for (uint32_t k = 0; k < d->terms.n; k++) {
        double w = d->tf[k] * (double)ov__term_idf(idx, d->terms.v[k]);
        norm += w * w;
    }
    d->norm = (float)sqrt(norm);
    d->norm_epoch = idx->epoch;
    return d->norm;
}

/* Makes the idf cache as large as the term table. 0 or -ENOMEM. */
static int ov_idf_reserve(overlap_index *idx)
{
    if (idx->cap_idf >= idx->terms.cap)
        return 0;
    float *idf = realloc(idx->idf, idx->terms.cap * sizeof *idf);
    if (idf == NULL)
        return -ENOMEM;
    idx->idf = idf;
    uint64_t *key = realloc(idx->idf_key, idx->terms.cap * sizeof *key);
    if (key == NULL)
        return -ENOMEM;
    memset(key + idx->cap_idf, 0, (idx->terms.cap - idx->cap_idf) * sizeof *key);
    idx->idf_key = key;
    idx->cap_idf = idx->terms.cap;
    return 0;
}

int ov__acc_reserve(overlap_index *idx)
{
    if (idx->cap_acc >= idx->cap_docs)
        return 0;
    ov_acc *acc = realloc(idx->acc, idx->cap_docs * sizeof *acc);
    if (acc == NULL)
        return -ENOMEM;
    /* Query numbers start at 1: zeroed sums belong to no query. */
    memset(acc + idx->cap_acc, 0, (idx->cap_docs - idx->cap_acc) * sizeof *acc);
    idx->acc = acc;
    idx->cap_acc = idx->cap_docs;
    return 0;
}

/* ---- the index ------------------------------------------------------------ */

/* Every caller also changes idx->live by one. */
static void ov_df_add(overlap_index *idx, const ov_doc *d, int delta)
{
    idx->epoch++;
    for (uint32_t i = 0; i < d->terms.n; i++) {
        if (d->terms.v[i] < idx->terms.n)
            idx->terms.df[d->terms.v[i]] += (uint32_t)delta;
    }
}

int overlap_index_new(overlap_index **out)
{
    *out = calloc(1, sizeof **out);
    if (*out == NULL)
        return -ENOMEM;
    (*out)->epoch = 1;
    return 0;
}

void overlap_index_free(overlap_index *idx)
{
    if (idx == NULL)
        return;
    for (size_t i = 0; i < idx->n_docs; i++)
        ov__doc_clear(&idx->docs[i]);
    free(idx->docs);
    for (size_t i = 0; i < idx->cap_term_postings; i++)
        ov_postings_free(&idx->term_postings[i]);
    free(idx->term_postings);
    for (size_t i = 0; i < idx->cap_key_postings; i++)
        ov_postings_free(&idx->key_postings[i]);
    free(idx->key_postings);
    for (int c = 0; c < ISO_COUNTRY_COUNT; c++)
        ov_postings_free(&idx->country_postings[c]);
    ov_postings_free(&idx->global_postings);
    free(idx->idf);
    free(idx->idf_key);
    free(idx->briefs);
    free(idx->acc);
    ov_intern_free(&idx->terms);
    ov_intern_free(&idx->keys);
    ov_intern_free(&idx->ids);
    free(idx);
}

size_t overlap_index_size(const overlap_index *idx)
{
    return idx->live;
}

overlap_stats overlap_index_stats(const overlap_index *idx)
{
    return idx->stats;
}

/* Room for doc `at`. 0 or -ENOMEM. */
static int ov_docs_reserve(overlap_index *idx, uint32_t at)
{
    if (at < idx->cap_docs)
        return 0;
    size_t cap = idx->cap_docs ? idx->cap_docs * 2 : 64;
    ov_doc *grown = realloc(idx->docs, cap * sizeof *grown);
    if (grown == NULL)
        return -ENOMEM;
    memset(grown + idx->cap_docs, 0, (cap - idx->cap_docs) * sizeof *grown);
    idx->docs = grown;
    ov_brief *briefs = realloc(idx->briefs, cap * sizeof *briefs);
    if (briefs == NULL)
        return -ENOMEM; /* docs grew, cap_docs not: the next put retries */
    memset(briefs + idx->cap_docs, 0, (cap - idx->cap_docs) * sizeof *briefs);
    idx->briefs = briefs;
    idx->cap_docs = cap;
    return 0;
}

int ov__doc_of(overlap_index *idx, const char *id)
{
    uint32_t at;

    if (ov_intern_get(&idx->ids, id, NULL, 0, &at) != 0 || at >= idx->n_docs)
        return -1;
    return (int)at;
}

int ov__status_closed(int status)
{
    return status == COMPACT__PROJECTS__V1__ACTIVITY_STATUS__ACTIVITY_STATUS_CLOSED ||
           status == COMPACT__PROJECTS__V1__ACTIVITY_STATUS__ACTIVITY_STATUS_CANCELLED;
}

/* Takes doc `at` out of the index: postings, document frequencies, counts. */
static void ov_doc_unindex(overlap_index *idx, uint32_t at)
{
    ov_doc *d = &idx->docs[at];

    if (d->id == NULL)
        return;
    ov_doc_post(idx, d, at, 0);
    ov_df_add(idx, d, -1);
    idx->live--;
    idx->closed -= (size_t)ov__status_closed(d->status);
    ov__doc_clear(d);
    ov__brief_make(d, &idx->briefs[at]);
}

int overlap_index_put(overlap_index *idx, const Project *p)
{
    uint64_t fp[2];
    uint32_t at;
    int rc = ov_intern_get(&idx->ids, p->id, NULL, 1, &at);

    if (rc != 0 || (rc = ov_docs_reserve(idx, at)) != 0)
        return rc;
    if (at >= idx->n_docs)
        idx->n_docs = at + 1;
    ov_fp_project(p, fp);
    ov_doc *d = &idx->docs[at];
    if (d->id != NULL && d->fingerprint[0] == fp[0] && d->fingerprint[1] == fp[1])
        return 0; /* nothing the index reads changed */
    ov_doc_unindex(idx, at);
    if ((rc = ov__doc_build(idx, d, p, 1)) != 0 || (rc = ov_idf_reserve(idx)) != 0 ||
        (rc = ov__acc_reserve(idx)) != 0 || (rc = ov_doc_post(idx, d, at, 1)) != 0) {
        ov_doc_post(idx, d, at, 0);
        ov__doc_clear(d); /* an empty slot is skipped by queries */
        ov__brief_make(d, &idx->briefs[at]);
        return rc;
    }
    d->fingerprint[0] = fp[0];
    d->fingerprint[1] = fp[1];
    ov__brief_make(d, &idx->briefs[at]);
    ov_df_add(idx, d, +1);
    idx->live++;
    idx->closed += (size_t)ov__status_closed(d->status);
    return 0;
}

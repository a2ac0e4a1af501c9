/* overlap_internal.h: what overlap.c (the index) and overlap_query.c (the
 * search) share, and nobody else includes.
 *
 * The index keeps one ov_doc per project (what scoring needs, in compact
 * form) and, for every item a project can share with another (a term of its
 * title and summary, a working group, a partner, a theme, a country, being
 * global), the sorted list of the documents that have it: the postings.
 * overlap.c keeps both up to date on every put; overlap_query.c reads them.
 */
#ifndef COMPACT_PROJECTS_OVERLAP_INTERNAL_H
#define COMPACT_PROJECTS_OVERLAP_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "iso_codes.h"
#include "overlap.h"

typedef Compact__Projects__V1__Project Project;

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

#define OV_NO_DAY INT32_MIN
#define OV_OPEN_END 2932896       /* day number of 9999-12-31: an open end */
#define OV_UNKNOWN_ID 0x80000000u /* subject items no project has */

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
    uint16_t *tf;            /* beside terms.v */
    uint64_t fingerprint[2]; /* of what the doc was built from */
    float norm;              /* ov__doc_norm as of index epoch `norm_epoch` */
    uint64_t norm_epoch;
} ov_doc;

/* What a bound reads of a doc (overlap_query.c), in one cache line, kept
 * beside the docs so that a pass over every project reads 64 bytes each.
 * Masks have a bit per item id modulo 64: sets whose masks have no common
 * bit share nothing, and when neither set has two items on one bit, the
 * popcount of the masks' AND is at least what they share (see
 * ov_common_bound; a set of at most 64 items may still have two on one
 * bit, so its size alone says nothing). */
#define OV_BRIEF_LIVE 1u
#define OV_BRIEF_CLOSED 2u
#define OV_BRIEF_GLOBAL 4u
typedef struct ov_brief {
    uint64_t group_mask, partner_mask, theme_mask, country_mask;
    int32_t start, end;
    uint32_t tf_squares; /* sum of tf^2 (saturated): the norm is at least its root */
    uint32_t seen;       /* the last query that took the doc */
    uint16_t groups, partners, themes, countries; /* set sizes (saturated) */
    uint8_t pillars;
    uint8_t flags; /* OV_BRIEF_* */
} ov_brief;

/* A query's running text sums for one doc: valid when `query` is the
 * query's number. */
typedef struct ov_acc {
    uint32_t query;
    float dot, sq; /* with the accumulated terms; sum of their weights^2 */
    uint32_t tf2;  /* sum of their tf^2 */
} ov_acc;

/* The documents having one item, by ascending doc number; `tf` (terms
 * only, else NULL) is the term's frequency in each. */
typedef struct ov_postings {
    uint32_t *doc;
    uint16_t *tf;
    uint32_t n, cap;
} ov_postings;

struct overlap_index {
    ov_intern terms, keys, ids; /* ids: project id -> index in docs */
    ov_doc *docs;
    ov_brief *briefs; /* beside docs */
    size_t n_docs, cap_docs;
    size_t live;                /* docs holding a project */
    size_t closed;              /* of those, closed or cancelled */
    ov_postings *term_postings; /* by term id, terms.cap of them */
    ov_postings *key_postings;  /* by key id */
    size_t cap_term_postings, cap_key_postings;
    ov_postings country_postings[ISO_COUNTRY_COUNT];
    ov_postings global_postings;
    /* The idf of each term as last computed, and for which (live, df): a
     * query computes only the ones that changed since. By term id. */
    float *idf;
    uint64_t *idf_key;
    size_t cap_idf;
    /* Bumped whenever a df or the number of projects changes, which moves
     * the idf of terms and so the norms of docs: a doc's norm computed in
     * the same epoch is still exact (never 0: a zeroed doc has none). */
    uint64_t epoch;
    /* A query's number (briefs' `seen`) and its text sums, by doc. */
    uint32_t query;
    ov_acc *acc;
    size_t cap_acc;
    overlap_stats stats;
};

/* ---- overlap.c ---------------------------------------------------------- */

/* Builds `d` from `p`, interning new items when `create` (an indexed
 * project) or only looking them up (a query's subject: unknown items get
 * ids from OV_UNKNOWN_ID up). 0 or -ENOMEM. */
int ov__doc_build(overlap_index *idx, ov_doc *d, const Project *p, int create);

/* The brief of `d` (its `seen` zero). */
void ov__brief_make(const ov_doc *d, ov_brief *b);

/* Frees what `d` holds and zeroes it. */
void ov__doc_clear(ov_doc *d);

/* The idf of term `t` (< terms.n) for the index as it is now, exactly as
 * ov__idf(live, df) rounded to float. */
float ov__term_idf(overlap_index *idx, uint32_t t);

/* ln((1 + n_docs) / (1 + df)) + 1. */
double ov__idf(size_t n_docs, uint32_t df);

/* The doc's TF-IDF norm for the index as it is now (rounded to float, as
 * the index always kept it): computed once per doc and epoch, since
 * queries without writes between them ask for the same norms again. */
float ov__doc_norm(overlap_index *idx, ov_doc *d);

/* Makes the accumulators as many as the docs. 0 or -ENOMEM. */
int ov__acc_reserve(overlap_index *idx);

/* The doc number of project `id`, or -1. */
int ov__doc_of(overlap_index *idx, const char *id);

/* 1 for a closed or cancelled project's status. */
int ov__status_closed(int status);

#endif

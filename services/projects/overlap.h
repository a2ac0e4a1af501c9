/* overlap.h: the in-memory index behind FindOverlaps and duplicate warnings.
 *
 * Design
 * ------
 * Avoiding duplicated work is why the Compact exists, so every project is
 * compared with every other on demand. The index holds, for each project,
 * only what scoring needs, in compact form: interned working group, entity
 * and theme ids as small sorted integer arrays, the recipient countries as a
 * 256-bit set, the pillars as a bit mask, the dates as day numbers, and the
 * words of title and summary as sorted term ids with their frequencies.
 * Term document frequencies are kept up to date, so text similarity is a
 * TF-IDF cosine without any rebuild.
 *
 * Beside the documents, an inverted index: for every term, working group,
 * partner, theme and country, the projects that have it. A query scores
 * first the projects sharing the most of the subject's words (or, without
 * words, those on its rarest items' lists), then rules out every other
 * project by an upper bound of its score (what it could share at most)
 * rather than scoring it: a project is left out only when
 * its bound is below the score it would have to beat, so the answer is
 * exactly the one scoring every project gives (overlap_query.c says how,
 * tests/unit/projects/test_overlap_ranking.c checks it against the old
 * brute force).
 *
 * The score of a candidate is the weighted mean, over the factors the
 * subject has, of one similarity in [0, 1] per factor (text, working
 * groups, partners, countries, dates, pillars, themes); docs/OVERLAPS.md
 * gives the weights, each similarity and the thresholds.
 *
 * Life: the service builds the index at start from SQLite
 * (overlap_index_put for every project) and puts every project again right
 * after each commit that changed it. Loop thread only; no locks.
 */
#ifndef COMPACT_PROJECTS_OVERLAP_H
#define COMPACT_PROJECTS_OVERLAP_H

#include <stddef.h>

#include "compact/projects/v1/projects.pb-c.h"

typedef Compact__Projects__V1__Overlap Overlap;

/* Defaults and bounds of a query. */
#define OVERLAP_LIMIT_DEFAULT 10
#define OVERLAP_LIMIT_MAX 100
#define OVERLAP_MIN_SCORE_DEFAULT 0.2
/* A candidate is a likely duplicate at or above both of these. */
#define OVERLAP_DUPLICATE_SCORE 0.5
#define OVERLAP_DUPLICATE_TEXT 0.3

typedef struct overlap_index overlap_index;

/* A new empty index. 0, or -ENOMEM. */
int overlap_index_new(overlap_index **out);

/* Frees the index. NULL is a no-op. */
void overlap_index_free(overlap_index *idx);

/* Adds project `p`, or replaces the entry with its id. Nothing of `p` is
 * kept. 0, or -ENOMEM (the old entry, if any, is then gone: the caller logs
 * it; the next put of the project restores it). */
int overlap_index_put(overlap_index *idx, const Compact__Projects__V1__Project *p);

/* Number of projects in the index. */
size_t overlap_index_size(const overlap_index *idx);

/* What the searches so far did, for benchmarks and tests. */
typedef struct overlap_stats {
    uint64_t queries;
    uint64_t eligible;    /* projects the queries had to consider */
    uint64_t scored;      /* of those, scored in full */
    uint64_t postings;    /* posting entries read */
    uint64_t full_passes; /* queries that went through every document */
} overlap_stats;

overlap_stats overlap_index_stats(const overlap_index *idx);

typedef struct overlap_query {
    const Compact__Projects__V1__Project *subject; /* a saved project or a draft */
    const char *exclude_id; /* leave this project out (the subject's own id); may be NULL */
    size_t limit;           /* 1..OVERLAP_LIMIT_MAX */
    double min_score;       /* 0..1 */
    int include_closed;     /* also closed and cancelled projects */
    int duplicates_only;    /* only likely duplicates */
} overlap_query;

/* Compares every indexed project with q->subject and returns the best
 * q->limit with a score >= q->min_score, highest first, in *out (an array of
 * *n Overlap messages; free with overlap_free), and in *compared how many
 * projects were compared (every one not left out by exclude_id or
 * include_closed: each was scored, or shown by a bound not to rank). Returns 0; -ENODATA when the subject has nothing to
 * compare (no words, groups, partners, countries, dates, pillars nor themes);
 * or -ENOMEM. */
int overlap_find(overlap_index *idx, const overlap_query *q, Overlap ***out, size_t *n,
                 size_t *compared);

/* Frees an array from overlap_find. NULL is a no-op. */
void overlap_free(Overlap **v, size_t n);

#endif

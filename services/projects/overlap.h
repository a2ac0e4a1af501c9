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
 * TF-IDF cosine without any rebuild. A query scores every project in one
 * pass (no candidate pre-filter that could miss an overlap); at 10,000
 * projects that is a few milliseconds.
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

typedef struct overlap_query {
    const Compact__Projects__V1__Project *subject; /* a saved project or a draft */
    const char *exclude_id; /* leave this project out (the subject's own id); may be NULL */
    size_t limit;           /* 1..OVERLAP_LIMIT_MAX */
    double min_score;       /* 0..1 */
    int include_closed;     /* also closed and cancelled projects */
    int duplicates_only;    /* only likely duplicates */
} overlap_query;

/* Scores every indexed project against q->subject and returns the best
 * q->limit with a score >= q->min_score, highest first, in *out (an array of
 * *n Overlap messages; free with overlap_free), and in *compared how many
 * projects were scored. Returns 0; -ENODATA when the subject has nothing to
 * compare (no words, groups, partners, countries, dates, pillars nor themes);
 * or -ENOMEM. */
int overlap_find(overlap_index *idx, const overlap_query *q, Overlap ***out, size_t *n,
                 size_t *compared);

/* Frees an array from overlap_find. NULL is a no-op. */
void overlap_free(Overlap **v, size_t n);

#endif

/* overlap_bench.c: FindOverlaps' search alone, in one process, over the
 * projects of a projects.db (bench/scale.py's data), for profiles and for
 * before/after figures without gRPC, Redis or a shared core's queueing.
 *
 *   overlap_bench PROJECTS.DB [QUERIES [SEED]]
 *
 * Builds the index as the service does at start, then asks QUERIES queries
 * of three kinds, each with subjects drawn from the stored projects:
 *   draft      a draft mixing the fields of six random projects (title of
 *              one, summary of another, groups and pillars, participants,
 *              countries, dates, themes), include_closed: as bench/scale.py's
 *              drafts, which draw each field independently
 *   project    a stored project by id (excluded from its own answer)
 *   duplicate  CreateProject's check of a new project (a mixed draft)
 * and prints per kind the mean, p50, p99 and max in microseconds, and what
 * the index's counters say the searches read and scored.
 */
#define _POSIX_C_SOURCE 200809L
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "overlap.h"

typedef Compact__Projects__V1__Project Project;

static uint64_t rng = 88172645463325252ULL;

static size_t rnd(size_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (size_t)(rng % n);
}

static double now_us(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static Project **load(const char *path, size_t *n)
{
    sqlite3 *db;
    sqlite3_stmt *s;
    Project **v = NULL;
    size_t cap = 0;

    *n = 0;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT body FROM projects ORDER BY rowid", -1, &s, NULL) !=
            SQLITE_OK) {
        fprintf(stderr, "%s: %s\n", path, sqlite3_errmsg(db));
        exit(1);
    }
    while (sqlite3_step(s) == SQLITE_ROW) {
        if (*n == cap && (v = realloc(v, (cap = cap ? 2 * cap : 1024) * sizeof *v)) == NULL)
            exit(1);
        v[*n] = compact__projects__v1__project__unpack(NULL, (size_t)sqlite3_column_bytes(s, 0),
                                                       sqlite3_column_blob(s, 0));
        if (v[*n] != NULL)
            (*n)++;
    }
    sqlite3_finalize(s);
    sqlite3_close(db);
    return v;
}

/* A draft with fields of six random projects (pointers into them). */
static Project mixed_draft(Project **v, size_t n)
{
    Project d = *v[rnd(n)], *o;

    d.id = (char *)protobuf_c_empty_string;
    d.iati_identifier = (char *)protobuf_c_empty_string;
    d.summary = v[rnd(n)]->summary;
    o = v[rnd(n)];
    d.n_working_group_ids = o->n_working_group_ids;
    d.working_group_ids = o->working_group_ids;
    d.n_pillars = o->n_pillars;
    d.pillars = o->pillars;
    o = v[rnd(n)];
    d.n_participants = o->n_participants;
    d.participants = o->participants;
    o = v[rnd(n)];
    d.n_recipient_countries = o->n_recipient_countries;
    d.recipient_countries = o->recipient_countries;
    d.global_scope = o->global_scope;
    o = v[rnd(n)];
    d.start_date = o->start_date;
    d.end_date = o->end_date;
    d.n_themes = o->n_themes;
    d.themes = o->themes;
    return d;
}

static void report(const char *kind, double *us, size_t n, overlap_stats before,
                   overlap_stats after, size_t hits)
{
    double sum = 0;

    for (size_t i = 0; i < n; i++)
        sum += us[i];
    qsort(us, n, sizeof *us, by_value);
    printf("%-9s n=%zu mean=%.0f p50=%.0f p99=%.0f max=%.0f us; per query: scored %.0f, "
           "postings %.0f, full passes %.2f, hits %.1f\n",
           kind, n, sum / n, us[n / 2], us[n * 99 / 100], us[n - 1],
           (double)(after.scored - before.scored) / n,
           (double)(after.postings - before.postings) / n,
           (double)(after.full_passes - before.full_passes) / n, (double)hits / n);
}

int main(int argc, char **argv)
{
    size_t n, queries = argc > 2 ? strtoul(argv[2], NULL, 10) : 1000;
    overlap_index *idx;

    if (argc < 2 || queries == 0) {
        fprintf(stderr, "usage: overlap_bench PROJECTS.DB [QUERIES [SEED]] (QUERIES >= 1)\n");
        return 2;
    }
    if (argc > 3)
        rng ^= strtoull(argv[3], NULL, 10) * 0x9E3779B97F4A7C15ULL;
    Project **v = load(argv[1], &n);
    double t0 = now_us();
    if (n == 0 || overlap_index_new(&idx) != 0)
        return 1;
    for (size_t i = 0; i < n; i++) {
        if (overlap_index_put(idx, v[i]) != 0)
            return 1;
    }
    printf("%zu projects indexed in %.0f ms\n", n, (now_us() - t0) / 1e3);
    double *us = malloc(queries * sizeof *us);
    static const char *const kinds[] = {"draft", "project", "duplicate"};
    for (int k = 0; k < 3; k++) {
        overlap_stats before = overlap_index_stats(idx);
        size_t hits = 0;
        for (size_t i = 0; i < queries; i++) {
            Project draft = mixed_draft(v, n), *p = v[rnd(n)];
            overlap_query q = {.limit = OVERLAP_LIMIT_DEFAULT,
                               .min_score = OVERLAP_MIN_SCORE_DEFAULT,
                               .include_closed = 1,
                               .subject = &draft};
            if (k == 1) {
                q.subject = p;
                q.exclude_id = p->id;
            } else if (k == 2) {
                q.min_score = OVERLAP_DUPLICATE_SCORE;
                q.duplicates_only = 1;
                q.include_closed = 0;
            }
            Overlap **out;
            size_t nout, compared;
            double t = now_us();
            if (overlap_find(idx, &q, &out, &nout, &compared) != 0)
                return 1;
            us[i] = now_us() - t;
            hits += nout;
            overlap_free(out, nout);
        }
        report(kinds[k], us, queries, before, overlap_index_stats(idx), hits);
    }
    free(us);
    overlap_index_free(idx);
    for (size_t i = 0; i < n; i++)
        compact__projects__v1__project__free_unpacked(v[i], NULL);
    free(v);
    return 0;
}

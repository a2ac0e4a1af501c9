/* test_overlap_ranking.c: the inverted index answers exactly as the brute
 * force it replaced.
 *
 * reference_overlap.c is services/projects/overlap.c as it was before the
 * inverted index (every query scores every project), renamed ref_*. Each
 * test builds both indexes from the same puts and asks both the same
 * queries; the answers must be equal to the bit: the same projects in the
 * same order, the same scores, likely-duplicate flags, reasons (factor,
 * similarity, contribution, shared items, text) and projects_compared.
 *
 * The corpora:
 *   - the realistic cases of docs/OVERLAPS.md (overlap_cases.h), each seed
 *     project and each draft as the subject, with every kind of query;
 *   - randomized corpora, seeded so that a failure repeats: projects drawn
 *     from small vocabularies (many ties, many shared items: the search
 *     goes through every project), and from large ones with rare words
 *     (the search reads only a few lists), with updates, re-puts that
 *     change nothing, and queries of every limit, minimum, status filter
 *     and duplicates_only;
 *   - a dense corpus written to between queries (norms and idf of one
 *     state of the index must not serve the next), with sets larger than
 *     the 64 bits of the masks the first bounds read;
 *   - a corpus of identical projects but for their IATI identifiers: every
 *     score ties, and the order is the identifiers'.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "overlap.h"
#include "overlap_cases.h"

/* The reference, in this translation unit (see the top). */
#include "reference_overlap.c"

/* ---- both indexes ---------------------------------------------------------- */

typedef struct pair {
    overlap_index *idx;
    ref_overlap_index *ref;
} pair;

static pair pair_new(void)
{
    pair p;

    assert_int_equal(overlap_index_new(&p.idx), 0);
    assert_int_equal(ref_overlap_index_new(&p.ref), 0);
    return p;
}

static void pair_free(pair *p)
{
    overlap_index_free(p->idx);
    ref_overlap_index_free(p->ref);
}

static void pair_put(pair *p, const Project *project)
{
    assert_int_equal(overlap_index_put(p->idx, project), 0);
    assert_int_equal(ref_overlap_index_put(p->ref, project), 0);
    assert_int_equal(overlap_index_size(p->idx), ref_overlap_index_size(p->ref));
}

static const char *checking; /* the query being compared, for failures */

static void fail_at(const char *what, size_t i, const char *file, int line)
{
    print_error("%s: %s differs at hit %zu\n", checking ? checking : "?", what, i);
    _fail(file, line);
}

#define same(cond, what, i)                                                                        \
    do {                                                                                           \
        if (!(cond))                                                                               \
            fail_at((what), (i), __FILE__, __LINE__);                                              \
    } while (0)

static void compare_reasons(const Overlap *a, const Overlap *b, size_t i)
{
    same(a->n_reasons == b->n_reasons, "the number of reasons", i);
    for (size_t r = 0; r < a->n_reasons; r++) {
        const Compact__Projects__V1__OverlapReason *x = a->reasons[r], *y = b->reasons[r];
        same(x->factor == y->factor, "a reason's factor", i);
        same(x->similarity == y->similarity, "a reason's similarity", i);
        same(x->contribution == y->contribution, "a reason's contribution", i);
        same(strcmp(x->detail, y->detail) == 0, "a reason's detail", i);
        same(x->n_shared == y->n_shared, "a reason's shared items", i);
        for (size_t k = 0; k < x->n_shared; k++)
            same(strcmp(x->shared[k], y->shared[k]) == 0, "a reason's shared item", i);
    }
}

/* Asks both indexes `q` and fails unless the answers are equal. Returns the
 * number of hits. */
static size_t compare_query(pair *p, const overlap_query *q)
{
    Overlap **a = NULL, **b = NULL;
    size_t na = 0, nb = 0, ca = 0, cb = 0;
    int ra = overlap_find(p->idx, q, &a, &na, &ca);
    int rb = ref_overlap_find(p->ref, q, &b, &nb, &cb);

    same(ra == rb, "the result code", 0);
    same(ca == cb, "projects_compared", 0);
    same(na == nb, "the number of hits", 0);
    for (size_t i = 0; i < na; i++) {
        same(strcmp(a[i]->project_id, b[i]->project_id) == 0, "the project", i);
        same(a[i]->score == b[i]->score, "the score", i);
        same(a[i]->likely_duplicate == b[i]->likely_duplicate, "likely_duplicate", i);
        same(strcmp(a[i]->iati_identifier, b[i]->iati_identifier) == 0, "the IATI identifier", i);
        same(strcmp(a[i]->title, b[i]->title) == 0, "the title", i);
        same(a[i]->status == b[i]->status, "the status", i);
        compare_reasons(a[i], b[i], i);
    }
    overlap_free(a, na);
    ref_overlap_free(b, nb);
    return na;
}

/* Every kind of query with `subject` (exclude_id its own id, if any). */
static size_t compare_all_kinds(pair *p, const Project *subject, const char *name)
{
    static const struct {
        size_t limit;
        double min_score;
        int include_closed, duplicates_only;
    } kinds[] = {
        {OVERLAP_LIMIT_DEFAULT, OVERLAP_MIN_SCORE_DEFAULT, 0, 0},
        {OVERLAP_LIMIT_DEFAULT, OVERLAP_MIN_SCORE_DEFAULT, 1, 0},
        {OVERLAP_LIMIT_DEFAULT, OVERLAP_DUPLICATE_SCORE, 1, 1},
        {OVERLAP_LIMIT_DEFAULT, OVERLAP_DUPLICATE_SCORE, 0, 1},
        {1, OVERLAP_MIN_SCORE_DEFAULT, 1, 0},
        {3, 0.0, 1, 0},
        {OVERLAP_LIMIT_MAX, 0.0, 1, 0},
        {OVERLAP_LIMIT_MAX, 0.05, 0, 0},
        {25, 0.35, 1, 0},
        {0, OVERLAP_MIN_SCORE_DEFAULT, 1, 0},
    };
    char what[200];
    size_t hits = 0;

    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        overlap_query q = {.subject = subject,
                           .exclude_id = subject->id[0] ? subject->id : NULL,
                           .limit = kinds[k].limit,
                           .min_score = kinds[k].min_score,
                           .include_closed = kinds[k].include_closed,
                           .duplicates_only = kinds[k].duplicates_only};
        snprintf(what, sizeof what, "%s, query kind %zu", name, k);
        checking = what;
        hits += compare_query(p, &q);
    }
    checking = NULL;
    return hits;
}

/* ---- the realistic cases ---------------------------------------------------- */

static void test_realistic_cases(void **state)
{
    const spec *drafts[] = {&draft_travel, &draft_weapons, &draft_infrastructure, &draft_gender,
                            &draft_maritime};
    pair p = pair_new();
    size_t hits = 0;

    (void)state;
    for (size_t i = 0; i < SEED_COUNT; i++) {
        Project *x = project_build(&seed[i]);
        pair_put(&p, x);
        project_free(x);
    }
    for (size_t i = 0; i < sizeof drafts / sizeof drafts[0]; i++) {
        Project *x = project_build(drafts[i]);
        hits += compare_all_kinds(&p, x, drafts[i]->title);
        project_free(x);
    }
    for (size_t i = 0; i < SEED_COUNT; i++) {
        Project *x = project_build(&seed[i]);
        hits += compare_all_kinds(&p, x, seed[i].id);
        project_free(x);
    }
    assert_true(hits > 100); /* the cases do find overlaps */
    pair_free(&p);
}

/* ---- randomized corpora -------------------------------------------------------- */

static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return n ? (uint32_t)(rng_state % n) : 0;
}

/* The shape of a randomized corpus. */
typedef struct corpus_shape {
    uint64_t seed;
    size_t projects;
    uint32_t words, groups, partners, themes, countries; /* vocabulary sizes */
    uint32_t title_words, summary_words;                 /* at most, per project */
    uint32_t big_sets; /* if not 0: one project in 3 has up to this many partners and themes */
} corpus_shape;

static char *word_of(uint32_t k)
{
    /* Letters only (digits would make numbers, kept as words too, but
     * letters keep the stemmer from merging two of them): base 26. */
    char w[16];
    size_t n = 0;

    w[n++] = 'w';
    do {
        w[n++] = (char)('a' + k % 26);
        k /= 26;
    } while (k > 0 && n < sizeof w - 2);
    w[n++] = 'x';
    w[n] = '\0';
    return xstrdup(w);
}

static char *words_of(uint32_t vocabulary, uint32_t most)
{
    size_t cap = 16 * (most + 1), len = 0;
    char *text = calloc(1, cap);
    uint32_t n = rnd(most + 1);

    assert_non_null(text);
    for (uint32_t i = 0; i < n; i++) {
        /* Skewed: low word numbers are common, high ones rare. */
        uint32_t k = rnd(rnd(vocabulary) + 1);
        char *w = word_of(k);
        len += (size_t)snprintf(text + len, cap - len, "%s%s", i ? " " : "", w);
        free(w);
    }
    return text;
}

/* Up to `most` ids; skewed (low numbers common) unless `uniform`. */
static char **ids_drawn(const char *prefix, uint32_t vocabulary, uint32_t most, int uniform,
                        size_t *n)
{
    char **v;

    *n = rnd(most + 1);
    if (*n == 0)
        return NULL;
    v = calloc(*n, sizeof *v);
    assert_non_null(v);
    for (size_t i = 0; i < *n; i++) {
        char id[32];
        snprintf(id, sizeof id, "%s%u", prefix,
                 uniform ? rnd(vocabulary) : rnd(rnd(vocabulary) + 1));
        v[i] = xstrdup(id);
    }
    return v;
}

static char **ids_of(const char *prefix, uint32_t vocabulary, uint32_t most, size_t *n)
{
    return ids_drawn(prefix, vocabulary, most, 0, n);
}

static char *date_of(int year0)
{
    char d[16];

    snprintf(d, sizeof d, "%04d-%02d-%02d", year0 + (int)rnd(10), 1 + (int)rnd(12),
             1 + (int)rnd(28));
    return xstrdup(d);
}

/* A random project (or draft, without id) over the shape's vocabularies. */
static Project *random_project(const corpus_shape *c, const char *id, const char *iati)
{
    static const char *const countries[] = {"KE", "UG", "ET", "SO", "ML", "NE", "BF", "TD",
                                            "NG", "CM", "ID", "PH", "MY", "TH", "IQ", "SY",
                                            "JO", "LB", "AF", "PK", "TN", "MA", "EG", "YE"};
    Project *p = malloc(sizeof *p);
    size_t n;

    assert_non_null(p);
    compact__projects__v1__project__init(p);
    if (id) {
        p->id = xstrdup(id);
        p->iati_identifier = xstrdup(iati);
    }
    if (rnd(20) != 0)
        p->title = words_of(c->words, c->title_words);
    if (rnd(10) != 0)
        p->summary = words_of(c->words, c->summary_words);
    p->working_group_ids = ids_of("wg_", c->groups, 3, &p->n_working_group_ids);
    int big = c->big_sets && rnd(3) == 0;
    char **ents = big ? ids_drawn("ent_", c->partners, c->big_sets, 1, &n)
                      : ids_of("ent_", c->partners, 6, &n);
    if (n > 0) {
        p->participants = calloc(n, sizeof *p->participants);
        assert_non_null(p->participants);
        for (size_t i = 0; i < n; i++) {
            Participant *x = malloc(sizeof *x);
            assert_non_null(x);
            compact__projects__v1__participant__init(x);
            x->entity_id = ents[i];
            x->role = COMPACT__PROJECTS__V1__ORGANISATION_ROLE__ORGANISATION_ROLE_IMPLEMENTING;
            p->participants[p->n_participants++] = x;
        }
    }
    free(ents);
    p->themes = big ? ids_drawn("Theme ", c->themes, c->big_sets, 1, &p->n_themes)
                    : ids_of("Theme ", c->themes, 3, &p->n_themes);
    if (rnd(6) == 0) {
        p->global_scope = 1;
    } else if (rnd(8) != 0) {
        p->n_recipient_countries = 1 + rnd(4);
        p->recipient_countries = calloc(p->n_recipient_countries, sizeof(char *));
        assert_non_null(p->recipient_countries);
        uint32_t pool = c->countries < 24 ? c->countries : 24;
        for (size_t i = 0; i < p->n_recipient_countries; i++)
            p->recipient_countries[i] = xstrdup(countries[rnd(pool)]);
    }
    n = rnd(4);
    if (n > 0) {
        p->pillars = malloc(n * sizeof *p->pillars);
        assert_non_null(p->pillars);
        for (size_t i = 0; i < n; i++)
            p->pillars[i] = (Compact__Projects__V1__StrategyPillar)(1 + rnd(4));
        p->n_pillars = n;
    }
    if (rnd(10) != 0) {
        p->start_date = date_of(2014);
        if (rnd(4) != 0)
            p->end_date = date_of(2018);
    }
    p->status = (Compact__Projects__V1__ActivityStatus)(1 + rnd(6));
    return p;
}

static void compare_random_corpus(const corpus_shape *c, size_t queries)
{
    size_t n = c->projects, hits = 0;
    pair p = pair_new();
    char id[32], iati[48], what[64];

    rng_state = c->seed;
    for (size_t i = 0; i < n; i++) {
        snprintf(id, sizeof id, "prj_%06zu", i);
        snprintf(iati, sizeof iati, "XM-TEST-%06zu", (i * 7919) % n); /* not in put order */
        Project *x = random_project(c, id, iati);
        pair_put(&p, x);
        project_free(x);
    }
    /* Changes: a project replaced by another, or put again as it is. */
    for (size_t i = 0; i < n / 10; i++) {
        size_t k = rnd((uint32_t)n);
        snprintf(id, sizeof id, "prj_%06zu", k);
        snprintf(iati, sizeof iati, "XM-TEST-%06zu", (k * 7919) % n);
        rng_state += i;
        Project *x = random_project(c, id, iati);
        pair_put(&p, x);
        if (rnd(2))
            pair_put(&p, x);
        project_free(x);
    }
    for (size_t i = 0; i < queries; i++) {
        Project *subject;
        if (rnd(3) == 0) {
            snprintf(id, sizeof id, "prj_%06u", rnd((uint32_t)n));
            snprintf(iati, sizeof iati, "XM-TEST-SUBJECT-%zu", i);
            subject = random_project(c, id, iati); /* a stored project's id, new content */
        } else {
            subject = random_project(c, NULL, NULL);
        }
        snprintf(what, sizeof what, "seed %llu, subject %zu", (unsigned long long)c->seed, i);
        hits += compare_all_kinds(&p, subject, what);
        project_free(subject);
    }
    assert_true(hits > queries);
    pair_free(&p);
}

/* Small vocabularies: every item is common, bounds rule out little, and
 * the search passes over every project. */
static void test_random_dense(void **state)
{
    corpus_shape c = {.seed = 0x9e3779b97f4a7c15ULL,
                      .projects = 3000,
                      .words = 120,
                      .groups = 8,
                      .partners = 28,
                      .themes = 16,
                      .countries = 24,
                      .title_words = 8,
                      .summary_words = 25};

    (void)state;
    compare_random_corpus(&c, 60);
}

/* Large vocabularies: rare words and partners, so the search reads only the
 * lists of the subject's rare items. */
static void test_random_sparse(void **state)
{
    corpus_shape c = {.seed = 12345,
                      .projects = 3000,
                      .words = 40000,
                      .groups = 8,
                      .partners = 400,
                      .themes = 300,
                      .countries = 24,
                      .title_words = 8,
                      .summary_words = 30};
    overlap_stats before, after;
    pair p;

    (void)state;
    compare_random_corpus(&c, 60);

    /* The same shape again, to see that lists alone answered some queries. */
    p = pair_new();
    rng_state = c.seed;
    for (size_t i = 0; i < c.projects; i++) {
        char id[32], iati[32];
        snprintf(id, sizeof id, "prj_%06zu", i);
        snprintf(iati, sizeof iati, "XM-S-%06zu", i);
        Project *x = random_project(&c, id, iati);
        pair_put(&p, x);
        project_free(x);
    }
    before = overlap_index_stats(p.idx);
    for (size_t i = 0; i < 40; i++) {
        Project *subject = random_project(&c, NULL, NULL);
        overlap_query q = {.subject = subject, .limit = 10, .min_score = 0.5, .include_closed = 1};
        checking = "sparse, stats";
        compare_query(&p, &q);
        project_free(subject);
    }
    after = overlap_index_stats(p.idx);
    assert_true(after.queries - before.queries == 40);
    assert_true(after.full_passes - before.full_passes < 40);
    assert_true(after.scored - before.scored < (after.eligible - before.eligible) / 4);
    pair_free(&p);
}

/* Writes between queries, as the service sees them: a norm or idf kept
 * from before a write must not serve after it. Dense, so that queries pass
 * over every project; one project in three with up to 90 partners and
 * themes, more than the 64 bits of a brief's masks. */
static void test_random_interleaved(void **state)
{
    corpus_shape c = {.seed = 0x5eed1e55ULL,
                      .projects = 1500,
                      .words = 150,
                      .groups = 8,
                      .partners = 120,
                      .themes = 100,
                      .countries = 24,
                      .title_words = 8,
                      .summary_words = 25,
                      .big_sets = 90};
    pair p = pair_new();
    char id[32], iati[48], what[64];
    size_t hits = 0;

    (void)state;
    rng_state = c.seed;
    for (size_t i = 0; i < c.projects; i++) {
        snprintf(id, sizeof id, "prj_%06zu", i);
        snprintf(iati, sizeof iati, "XM-IL-%06zu", i);
        Project *x = random_project(&c, id, iati);
        pair_put(&p, x);
        project_free(x);
    }
    for (size_t i = 0; i < 80; i++) {
        /* A new project or a changed one, then queries; then the same
         * project put again (nothing changes, norms stay) and another. */
        size_t k = rnd((uint32_t)(c.projects + c.projects / 4));
        snprintf(id, sizeof id, "prj_%06zu", k);
        snprintf(iati, sizeof iati, "XM-IL-%06zu", k);
        Project *x = random_project(&c, id, iati);
        pair_put(&p, x);
        Project *subject = random_project(&c, NULL, NULL);
        snprintf(what, sizeof what, "interleaved, subject %zu", i);
        hits += compare_all_kinds(&p, subject, what);
        pair_put(&p, x);
        hits += compare_all_kinds(&p, subject, what);
        project_free(subject);
        project_free(x);
    }
    assert_true(hits > 80);
    pair_free(&p);
}

/* Every score ties: the order is the IATI identifiers', case by case. */
static void test_ties(void **state)
{
    const spec base = seed[0];
    pair p = pair_new();
    char id[32], iati[48];

    (void)state;
    for (int i = 0; i < 200; i++) {
        spec s = base;
        snprintf(id, sizeof id, "prj_tie%03d", i);
        /* Identifiers out of put order, some differing only by case. */
        snprintf(iati, sizeof iati, "%s-%03d", i % 2 ? "XM-tie" : "XM-TIE", (i * 37) % 200);
        s.id = id;
        s.iati = iati;
        Project *x = project_build(&s);
        pair_put(&p, x);
        project_free(x);
    }
    for (size_t d = 0; d < 3; d++) {
        const spec *drafts[] = {&draft_travel, &draft_weapons, &draft_infrastructure};
        Project *x = project_build(drafts[d]);
        compare_all_kinds(&p, x, "ties");
        project_free(x);
    }
    pair_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_realistic_cases),
        cmocka_unit_test(test_random_dense),
        cmocka_unit_test(test_random_sparse),
        cmocka_unit_test(test_random_interleaved),
        cmocka_unit_test(test_ties),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

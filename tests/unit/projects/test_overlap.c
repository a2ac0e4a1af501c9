/* test_overlap.c: the overlap index of overlap.h, against the rules of
 * docs/OVERLAPS.md.
 *
 * - each of the seven factors moves the score the documented way (text by
 *   TF-IDF cosine of shared words, rare words weighing more; groups and
 *   pillars by overlap coefficient; partners, countries and themes by Dice;
 *   dates by the days both periods cover over the shorter one), with the
 *   documented weights, and the score is the weighted mean over the factors
 *   the subject has;
 * - the likely-duplicate thresholds (score and text), the query's
 *   exclude_id, include_closed, limit, min_score and duplicates_only, the
 *   tie-break by IATI identifier, -ENODATA for a subject with nothing to
 *   compare, and a put of a known id replacing the entry;
 * - the rankings of the realistic cases of docs/OVERLAPS.md (the seed
 *   projects and the drafts of tests/integration/test_projects.py), as a
 *   table of expected orders and reasons, and every score of those cases
 *   against an independent implementation of the documented formula.
 *
 * The rankings table is the guard for any rewrite of the index (an inverted
 * index, say): it must keep these orders. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "overlap.h"
#include "overlap_text.h"

typedef Compact__Projects__V1__OverlapReason OverlapReason;

/* Factors and statuses, short. */
#define F_TEXT COMPACT__PROJECTS__V1__OVERLAP_FACTOR__OVERLAP_FACTOR_TEXT
#define F_GROUPS COMPACT__PROJECTS__V1__OVERLAP_FACTOR__OVERLAP_FACTOR_WORKING_GROUP
#define F_PARTNERS COMPACT__PROJECTS__V1__OVERLAP_FACTOR__OVERLAP_FACTOR_PARTNERS
#define F_COUNTRIES COMPACT__PROJECTS__V1__OVERLAP_FACTOR__OVERLAP_FACTOR_COUNTRIES
#define F_DATES COMPACT__PROJECTS__V1__OVERLAP_FACTOR__OVERLAP_FACTOR_DATES
#define F_PILLARS COMPACT__PROJECTS__V1__OVERLAP_FACTOR__OVERLAP_FACTOR_PILLARS
#define F_THEMES COMPACT__PROJECTS__V1__OVERLAP_FACTOR__OVERLAP_FACTOR_THEMES

/* The weights of docs/OVERLAPS.md, by factor number. */
static const double doc_weight[8] = {
    [F_TEXT] = 0.40,  [F_GROUPS] = 0.15,  [F_PARTNERS] = 0.15, [F_COUNTRIES] = 0.12,
    [F_DATES] = 0.08, [F_PILLARS] = 0.05, [F_THEMES] = 0.05,
};

/* Scores are doubles, but the index keeps its TF-IDF norms as floats. */
#define EPS 1e-6
#define TEXT_EPS 1e-5

/* The case of a table being checked, named when an assertion fails. */
static const char *failing_case;

#define assert_near(a, b, eps) assert_near_at((a), (b), (eps), #a, __FILE__, __LINE__)

static void assert_near_at(double a, double b, double eps, const char *what, const char *file,
                           int line)
{
    if (!(fabs(a - b) <= eps)) {
        if (failing_case)
            print_error("case: %s\n", failing_case);
        print_error("%s = %.9f, expected %.9f (+/- %g)\n", what, a, b, eps);
        _fail(file, line);
    }
}

#include "overlap_cases.h"

static void put(overlap_index *idx, const spec *s)
{
    Project *p = project_build(s);

    assert_int_equal(overlap_index_put(idx, p), 0);
    project_free(p); /* the index keeps nothing of p */
}

static overlap_index *index_of(const spec *v, size_t n)
{
    overlap_index *idx = NULL;

    assert_int_equal(overlap_index_new(&idx), 0);
    assert_non_null(idx);
    for (size_t i = 0; i < n; i++)
        put(idx, &v[i]);
    assert_int_equal(overlap_index_size(idx), n);
    return idx;
}

/* ---- queries ------------------------------------------------------------ */

typedef struct found {
    int rc;
    Overlap **v;
    size_t n, compared;
} found;

/* Everything: no limit to speak of, no minimum, closed projects too. */
static overlap_query q_all(void)
{
    return (overlap_query){.limit = OVERLAP_LIMIT_MAX, .min_score = 0.0, .include_closed = 1};
}

static found find_with(overlap_index *idx, const spec *subject, overlap_query q)
{
    Project *p = project_build(subject);
    found f = {.rc = 0};

    q.subject = p;
    f.rc = overlap_find(idx, &q, &f.v, &f.n, &f.compared);
    project_free(p);
    return f;
}

static found find_all(overlap_index *idx, const spec *subject)
{
    found f = find_with(idx, subject, q_all());

    assert_int_equal(f.rc, 0);
    return f;
}

static void found_free(found *f)
{
    overlap_free(f->v, f->n);
    f->v = NULL;
    f->n = 0;
}

/* The hit for project `id`, failing if absent. */
static const Overlap *hit(const found *f, const char *id)
{
    for (size_t i = 0; i < f->n; i++) {
        if (strcmp(f->v[i]->project_id, id) == 0)
            return f->v[i];
    }
    print_error("no hit for %s among %zu\n", id, f->n);
    fail();
    return NULL;
}

static int has_hit(const found *f, const char *id)
{
    for (size_t i = 0; i < f->n; i++) {
        if (strcmp(f->v[i]->project_id, id) == 0)
            return 1;
    }
    return 0;
}

/* The reason of `factor`, or NULL. */
static const OverlapReason *reason(const Overlap *o, int factor)
{
    for (size_t i = 0; i < o->n_reasons; i++) {
        if ((int)o->reasons[i]->factor == factor)
            return o->reasons[i];
    }
    return NULL;
}

/* The similarity of `factor` in `o` (0 when it gave no reason). */
static double sim(const Overlap *o, int factor)
{
    const OverlapReason *r = reason(o, factor);

    return r ? r->similarity : 0.0;
}

static int same_ids(const found *f, const char *const *ids)
{
    for (size_t i = 0; i < f->n; i++) {
        if (ids[i] == NULL || strcmp(f->v[i]->project_id, ids[i]) != 0)
            return 0;
    }
    return 1;
}

/* The hits' project ids, in order, are exactly `ids` (NULL-terminated). */
static void assert_order(const found *f, const char *const *ids)
{
    size_t n = 0;

    while (ids[n])
        n++;
    if (f->n != n || !same_ids(f, ids)) {
        if (failing_case)
            print_error("case: %s\n", failing_case);
        for (size_t i = 0; i < f->n; i++)
            print_error("  got [%zu] %s %.4f\n", i, f->v[i]->project_id, f->v[i]->score);
    }
    assert_int_equal(f->n, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(f->v[i]->project_id, ids[i]);
}

/* The reasons of `o` hold `shared` (NULL-terminated) for `factor`, in order. */
static void assert_shared(const Overlap *o, int factor, const char *const *shared)
{
    const OverlapReason *r = reason(o, factor);
    size_t n = 0;

    assert_non_null(r);
    while (shared[n])
        n++;
    assert_int_equal(r->n_shared, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(r->shared[i], shared[i]);
}

/* What holds for every answer: highest score first (equal scores by IATI
 * identifier), reasons by contribution, contributions adding up to the
 * score, similarities in (0, 1], likely_duplicate as documented. */
static void assert_well_formed(const found *f)
{
    for (size_t i = 0; i < f->n; i++) {
        const Overlap *o = f->v[i];
        double sum = 0;

        assert_true(o->score >= 0.0 && o->score <= 1.0 + EPS);
        if (i > 0) {
            const Overlap *prev = f->v[i - 1];
            assert_true(prev->score >= o->score);
            if (prev->score == o->score)
                assert_true(strcmp(prev->iati_identifier, o->iati_identifier) < 0);
        }
        for (size_t k = 0; k < o->n_reasons; k++) {
            const OverlapReason *r = o->reasons[k];
            assert_true(r->similarity > 0.0 && r->similarity <= 1.0 + EPS);
            assert_true(r->contribution > 0.0);
            assert_non_null(r->detail);
            assert_true(r->detail[0] != '\0');
            if (k > 0)
                assert_true(o->reasons[k - 1]->contribution >= r->contribution);
            sum += r->contribution;
        }
        assert_near(sum, o->score, EPS);
        assert_int_equal(o->likely_duplicate != 0, o->score >= OVERLAP_DUPLICATE_SCORE &&
                                                       sim(o, F_TEXT) >= OVERLAP_DUPLICATE_TEXT);
    }
}

/* ---- the factors ---------------------------------------------------------- */

/* The thresholds and bounds of overlap.h are those of docs/OVERLAPS.md. */
static void test_documented_constants(void **state)
{
    assert_true(OVERLAP_DUPLICATE_SCORE == 0.5);
    assert_true(OVERLAP_DUPLICATE_TEXT == 0.3);
    assert_true(OVERLAP_MIN_SCORE_DEFAULT == 0.2);
    assert_int_equal(OVERLAP_LIMIT_DEFAULT, 10);
    assert_int_equal(OVERLAP_LIMIT_MAX, 100);
}

/* A subject with all seven factors; each candidate below matches it fully on
 * exactly one factor, so its score is that factor's weight. */
static const spec all_subject = {
    .title = "aviation screening",
    .groups = {"wg_a"},
    .partners = {"ent_a"},
    .countries = {"KE"},
    .pillars = {2},
    .themes = {"Cargo"},
    .start = "2024-01-01",
    .end = "2024-12-31",
};

static void test_weights(void **state)
{
    const spec v[] = {
        {.id = "c-text", .title = "aviation screening"},
        {.id = "c-groups", .groups = {"wg_a"}},
        {.id = "c-partners", .partners = {"ent_a"}},
        {.id = "c-countries", .countries = {"KE"}},
        {.id = "c-dates", .start = "2024-01-01", .end = "2024-12-31"},
        {.id = "c-pillars", .pillars = {2}},
        {.id = "c-themes", .themes = {"cargo"}},
        {.id = "c-none",
         .title = "prisons rehabilitation",
         .groups = {"wg_z"},
         .partners = {"ent_z"},
         .countries = {"UG"},
         .pillars = {4},
         .themes = {"youth"},
         .start = "2020-01-01",
         .end = "2020-12-31"},
        {.id = "c-all",
         .title = "aviation screening",
         .groups = {"wg_a"},
         .partners = {"ent_a"},
         .countries = {"KE"},
         .pillars = {2},
         .themes = {"CARGO"},
         .start = "2024-01-01",
         .end = "2024-12-31"},
    };
    static const char *const order[] = {"c-all",       "c-text",  "c-groups",  "c-partners",
                                        "c-countries", "c-dates", "c-pillars", "c-themes",
                                        "c-none",      NULL};
    static const struct {
        const char *id;
        int factor;
    } one[] = {
        {"c-text", F_TEXT},           {"c-groups", F_GROUPS}, {"c-partners", F_PARTNERS},
        {"c-countries", F_COUNTRIES}, {"c-dates", F_DATES},   {"c-pillars", F_PILLARS},
        {"c-themes", F_THEMES},
    };
    overlap_index *idx = index_of(v, sizeof v / sizeof v[0]);
    found f = find_all(idx, &all_subject);

    assert_well_formed(&f);
    assert_int_equal(f.compared, 9);
    /* Equal weights tie; ties go by IATI identifier. */
    assert_order(&f, order);
    for (size_t i = 0; i < sizeof one / sizeof one[0]; i++) {
        const Overlap *o = hit(&f, one[i].id);
        assert_near(o->score, doc_weight[one[i].factor], TEXT_EPS);
        assert_int_equal(o->n_reasons, 1);
        assert_int_equal(o->reasons[0]->factor, one[i].factor);
        assert_near(o->reasons[0]->similarity, 1.0, TEXT_EPS);
        assert_near(o->reasons[0]->contribution, doc_weight[one[i].factor], TEXT_EPS);
        assert_false(o->likely_duplicate);
    }
    /* Everything shared: score 1 and seven reasons worth the weights. */
    const Overlap *all = hit(&f, "c-all");
    assert_near(all->score, 1.0, TEXT_EPS);
    assert_true(all->likely_duplicate);
    assert_int_equal(all->n_reasons, 7);
    assert_int_equal(all->reasons[0]->factor, F_TEXT);
    assert_int_equal(all->reasons[3]->factor, F_COUNTRIES);
    assert_int_equal(all->reasons[4]->factor, F_DATES);
    for (int factor = F_TEXT; factor <= F_THEMES; factor++)
        assert_near(reason(all, factor)->contribution, doc_weight[factor], TEXT_EPS);
    /* Nothing shared: score 0 and no reasons. */
    assert_near(hit(&f, "c-none")->score, 0.0, EPS);
    assert_int_equal(hit(&f, "c-none")->n_reasons, 0);
    found_free(&f);
    overlap_index_free(idx);
}

/* The score is the weighted mean over the factors the subject has: what a
 * draft leaves out neither helps nor hurts; what a candidate lacks scores 0. */
static void test_mean_over_subject_factors(void **state)
{
    const spec v[] = {
        {.id = "d1", .groups = {"wg_a"}, .countries = {"UG"}, .title = "anything at all"},
        {.id = "d2", .countries = {"KE"}},
        {.id = "d3",
         .title = "aviation screening",
         .groups = {"wg_a"},
         .partners = {"ent_a"},
         .countries = {"KE"},
         .pillars = {2},
         .themes = {"cargo"},
         .start = "2024-01-01"},
        {.id = "d4", .title = "aviation screening", .partners = {"ent_a"}, .pillars = {2}},
    };
    const spec subject = {.groups = {"wg_a"}, .countries = {"KE"}};
    const spec title_only = {.title = "Aviation screening"};
    overlap_index *idx = index_of(v, 4);
    found f = find_all(idx, &subject);

    assert_well_formed(&f);
    assert_near(hit(&f, "d1")->score, 0.15 / 0.27, EPS);
    assert_near(hit(&f, "d2")->score, 0.12 / 0.27, EPS);
    assert_near(hit(&f, "d3")->score, 1.0, EPS);
    /* Factors the subject lacks give no reasons. */
    assert_int_equal(hit(&f, "d3")->n_reasons, 2);
    assert_near(reason(hit(&f, "d3"), F_GROUPS)->contribution, 0.15 / 0.27, EPS);
    assert_near(reason(hit(&f, "d3"), F_COUNTRIES)->contribution, 0.12 / 0.27, EPS);
    assert_near(hit(&f, "d4")->score, 0.0, EPS);
    found_free(&f);

    /* A draft with only a title is compared on its words alone. */
    f = find_all(idx, &title_only);
    assert_well_formed(&f);
    assert_near(hit(&f, "d3")->score, 1.0, TEXT_EPS);
    assert_near(hit(&f, "d4")->score, 1.0, TEXT_EPS);
    assert_near(hit(&f, "d1")->score, 0.0, EPS);
    assert_true(hit(&f, "d3")->likely_duplicate);
    found_free(&f);
    overlap_index_free(idx);
}

/* Working groups: overlap coefficient, shared / the smaller set. */
static void test_groups_overlap_coefficient(void **state)
{
    const spec v[] = {
        {.id = "g1", .groups = {"wg_a"}},          {.id = "g2", .groups = {"wg_a", "wg_c", "wg_d"}},
        {.id = "g3", .groups = {"wg_c"}},          {.id = "g4", .groups = {"wg_b", "wg_a"}},
        {.id = "g5", .title = "no groups at all"},
    };
    const spec subject = {.groups = {"wg_a", "wg_b"}};
    overlap_index *idx = index_of(v, 5);
    found f = find_all(idx, &subject);

    assert_well_formed(&f);
    assert_near(hit(&f, "g1")->score, 1.0, EPS); /* contained in the subject's */
    assert_near(hit(&f, "g2")->score, 0.5, EPS); /* 1 / min(2, 3) */
    assert_near(hit(&f, "g3")->score, 0.0, EPS);
    assert_near(hit(&f, "g4")->score, 1.0, EPS);
    assert_near(hit(&f, "g5")->score, 0.0, EPS);
    assert_shared(hit(&f, "g2"), F_GROUPS, (const char *const[]){"wg_a", NULL});
    assert_int_equal(reason(hit(&f, "g4"), F_GROUPS)->n_shared, 2);
    found_free(&f);
    overlap_index_free(idx);
}

/* Partners: Dice, 2 x shared / (size S + size D), an entity counted once
 * whatever its roles. Sharing one partner out of many counts for little. */
static void test_partners_dice(void **state)
{
    const spec v[] = {
        {.id = "e1", .partners = {"ent_a", "ent_b"}},
        {.id = "e2", .partners = {"ent_a", "ent_c", "ent_d", "ent_e", "ent_f", "ent_g"}},
        {.id = "e3", .partners = {"ent_a"}},
        {.id = "e4", .partners = {"ent_z"}},
    };
    /* ent_a twice: once accountable, once implementing */
    const spec subject = {.partners = {"ent_a", "ent_a", "ent_b"}};
    overlap_index *idx = index_of(v, 4);
    found f = find_all(idx, &subject);

    assert_well_formed(&f);
    assert_near(hit(&f, "e1")->score, 1.0, EPS);
    assert_near(hit(&f, "e2")->score, 2.0 * 1 / (2 + 6), EPS);
    assert_near(hit(&f, "e3")->score, 2.0 * 1 / (2 + 1), EPS);
    assert_near(hit(&f, "e4")->score, 0.0, EPS);
    assert_shared(hit(&f, "e2"), F_PARTNERS, (const char *const[]){"ent_a", NULL});
    found_free(&f);
    overlap_index_free(idx);
}

/* Countries: both global 1, global against countries 0.5, else Dice. */
static void test_countries(void **state)
{
    const spec v[] = {
        {.id = "k1", .countries = {"KE"}},
        {.id = "k2", .countries = {"UG", "KE"}},
        {.id = "k3", .global = 1},
        {.id = "k4", .countries = {"TZ"}},
        {.id = "k5", .title = "neither countries nor global"},
    };
    const spec subject = {.countries = {"KE", "UG"}};
    const spec global = {.global = 1};
    overlap_index *idx = index_of(v, 5);
    found f = find_all(idx, &subject);

    assert_well_formed(&f);
    assert_near(hit(&f, "k1")->score, 2.0 / 3, EPS);
    assert_near(hit(&f, "k2")->score, 1.0, EPS);
    assert_near(hit(&f, "k3")->score, 0.5, EPS);
    assert_near(hit(&f, "k4")->score, 0.0, EPS);
    assert_near(hit(&f, "k5")->score, 0.0, EPS);
    assert_shared(hit(&f, "k2"), F_COUNTRIES, (const char *const[]){"KE", "UG", NULL});
    assert_shared(hit(&f, "k3"), F_COUNTRIES, (const char *const[]){NULL});
    found_free(&f);

    f = find_all(idx, &global);
    assert_well_formed(&f);
    assert_near(hit(&f, "k1")->score, 0.5, EPS);
    assert_near(hit(&f, "k2")->score, 0.5, EPS);
    assert_near(hit(&f, "k3")->score, 1.0, EPS);
    assert_near(hit(&f, "k5")->score, 0.0, EPS);
    assert_shared(hit(&f, "k3"), F_COUNTRIES, (const char *const[]){"global", NULL});
    found_free(&f);
    overlap_index_free(idx);
}

/* Dates: days both periods cover / length of the shorter period, both ends
 * counted; an open end runs on. */
static void test_dates(void **state)
{
    const spec v[] = {
        {.id = "t1", .start = "2024-07-01", .end = "2025-06-30"},
        {.id = "t2", .start = "2023-01-01", .end = "2023-12-31"},
        {.id = "t3", .start = "2024-03-01"},
        {.id = "t4", .start = "2024-06-01", .end = "2024-06-30"},
        {.id = "t5", .end = "2024-12-31", .title = "no start date"},
        {.id = "t6", .start = "2024-12-31", .end = "2025-01-31"},
        {.id = "t7", .start = "2025-01-01", .end = "2025-12-31"},
    };
    const spec year = {.start = "2024-01-01", .end = "2024-12-31"}; /* 366 days */
    const spec open = {.start = "2024-01-01"};
    overlap_index *idx = index_of(v, 7);
    found f = find_all(idx, &year);

    assert_well_formed(&f);
    assert_near(hit(&f, "t1")->score, 184.0 / 365, EPS);
    assert_shared(hit(&f, "t1"), F_DATES, (const char *const[]){"2024-07-01", "2024-12-31", NULL});
    assert_near(hit(&f, "t2")->score, 0.0, EPS);
    assert_near(hit(&f, "t3")->score, 306.0 / 366, EPS);
    assert_shared(hit(&f, "t3"), F_DATES, (const char *const[]){"2024-03-01", "2024-12-31", NULL});
    assert_near(hit(&f, "t4")->score, 1.0, EPS);
    assert_near(hit(&f, "t5")->score, 0.0, EPS);
    assert_near(hit(&f, "t6")->score, 1.0 / 32, EPS);
    assert_near(hit(&f, "t7")->score, 0.0, EPS);
    found_free(&f);

    f = find_all(idx, &open);
    assert_well_formed(&f);
    assert_near(hit(&f, "t1")->score, 1.0, EPS);
    assert_near(hit(&f, "t2")->score, 0.0, EPS);
    assert_near(hit(&f, "t3")->score, 1.0, EPS);
    assert_shared(hit(&f, "t3"), F_DATES, (const char *const[]){"2024-03-01", "open end", NULL});
    assert_near(hit(&f, "t7")->score, 1.0, EPS);
    found_free(&f);
    overlap_index_free(idx);
}

/* Pillars: overlap coefficient, shared ones by their numerals. */
static void test_pillars(void **state)
{
    const spec v[] = {
        {.id = "p1", .pillars = {2}},
        {.id = "p2", .pillars = {1, 2, 4}},
        {.id = "p3", .pillars = {4}},
        {.id = "p4", .pillars = {3, 2}},
    };
    const spec subject = {.pillars = {3, 2}};
    overlap_index *idx = index_of(v, 4);
    found f = find_all(idx, &subject);

    assert_well_formed(&f);
    assert_near(hit(&f, "p1")->score, 1.0, EPS);
    assert_near(hit(&f, "p2")->score, 0.5, EPS);
    assert_near(hit(&f, "p3")->score, 0.0, EPS);
    assert_near(hit(&f, "p4")->score, 1.0, EPS);
    assert_shared(hit(&f, "p2"), F_PILLARS, (const char *const[]){"II", NULL});
    assert_shared(hit(&f, "p4"), F_PILLARS, (const char *const[]){"II", "III", NULL});
    found_free(&f);
    overlap_index_free(idx);
}

/* Themes: Dice over whole tags, case-insensitive. */
static void test_themes(void **state)
{
    const spec v[] = {
        {.id = "h1", .themes = {"aviation security"}},
        {.id = "h2", .themes = {"API/PNR", "AVIATION SECURITY"}},
        {.id = "h3", .themes = {"border"}},
        {.id = "h4", .themes = {"aviation", "security"}},
    };
    const spec subject = {.themes = {"Aviation Security", "api/pnr"}};
    overlap_index *idx = index_of(v, 4);
    found f = find_all(idx, &subject);

    assert_well_formed(&f);
    assert_near(hit(&f, "h1")->score, 2.0 / 3, EPS);
    assert_near(hit(&f, "h2")->score, 1.0, EPS);
    assert_near(hit(&f, "h3")->score, 0.0, EPS);
    assert_near(hit(&f, "h4")->score, 0.0, EPS); /* tags, not words */
    assert_shared(hit(&f, "h1"), F_THEMES, (const char *const[]){"aviation security", NULL});
    found_free(&f);
    overlap_index_free(idx);
}

/* Text: a shared rare word weighs more than a shared common one, and the
 * words that weigh most come first among the shared ones. */
static void test_text_rare_words(void **state)
{
    const spec v[] = {
        {.id = "w-rare", .title = "Aviation and terrorism"},
        {.id = "w-common", .title = "Border terrorism"},
        {.id = "w-f1", .title = "Terrorism financing"},
        {.id = "w-f2", .title = "Terrorism and youth"},
        {.id = "w-f3", .title = "Terrorism in prisons"},
        {.id = "w-none", .title = "Maritime piracy"},
    };
    const spec subject = {.title = "aviation terrorism"};
    overlap_index *idx = index_of(v, 6);
    found f = find_all(idx, &subject);

    assert_well_formed(&f);
    assert_order(
        &f, (const char *const[]){"w-rare", "w-common", "w-f1", "w-f2", "w-f3", "w-none", NULL});
    const Overlap *rare = hit(&f, "w-rare"), *common = hit(&f, "w-common");
    assert_near(rare->score, 1.0, TEXT_EPS);
    assert_true(common->score > 0.0);
    assert_true(common->score < 0.5 * rare->score);
    assert_near(common->score, hit(&f, "w-f1")->score, EPS);
    assert_shared(rare, F_TEXT, (const char *const[]){"aviation", "terrorism", NULL});
    assert_shared(common, F_TEXT, (const char *const[]){"terrorism", NULL});
    assert_near(hit(&f, "w-none")->score, 0.0, EPS);
    found_free(&f);
    overlap_index_free(idx);
}

/* Text: document frequencies follow every put, replacements included, so
 * which of two words is the rare one can change without any rebuild. */
static void test_text_document_frequencies_follow_puts(void **state)
{
    const spec a = {.id = "a", .title = "aviation security"};
    const spec b = {.id = "b", .title = "terrorism security"};
    const spec c_terror = {.id = "c", .title = "terrorism finance"};
    const spec d_terror = {.id = "d", .title = "terrorism youth"};
    const spec c_aviation = {.id = "c", .title = "aviation finance"};
    const spec d_aviation = {.id = "d", .title = "aviation youth"};
    const spec subject = {.title = "aviation terrorism"};
    overlap_index *idx = index_of((const spec[]){a, b}, 2);
    found f = find_all(idx, &subject);

    /* both words in one project each: a tie, broken by IATI identifier */
    assert_near(hit(&f, "a")->score, hit(&f, "b")->score, EPS);
    assert_true(hit(&f, "a")->score > 0.0);
    assert_order(&f, (const char *const[]){"a", "b", NULL});
    found_free(&f);

    put(idx, &c_terror);
    put(idx, &d_terror);
    f = find_all(idx, &subject);
    assert_true(hit(&f, "a")->score > hit(&f, "b")->score + 0.01); /* aviation is rare */
    assert_string_equal(f.v[0]->project_id, "a");
    found_free(&f);

    put(idx, &c_aviation);
    put(idx, &d_aviation);
    assert_int_equal(overlap_index_size(idx), 4);
    f = find_all(idx, &subject);
    assert_true(hit(&f, "b")->score > hit(&f, "a")->score + 0.01); /* terrorism is rare now */
    assert_string_equal(f.v[0]->project_id, "b");
    found_free(&f);
    overlap_index_free(idx);
}

/* Text: title words count twice a summary word. */
static void test_text_title_counts_twice(void **state)
{
    const spec v[] = {
        {.id = "t-title", .title = "alpha", .summary = "beta"},
        {.id = "t-summary", .title = "beta", .summary = "alpha"},
    };
    const spec subject = {.title = "alpha"};
    overlap_index *idx = index_of(v, 2);
    found f = find_all(idx, &subject);

    /* every word in every project: idf 1; vectors (2, 1) and (1, 2) against (2, 0) */
    assert_order(&f, (const char *const[]){"t-title", "t-summary", NULL});
    assert_near(hit(&f, "t-title")->score, 2.0 / sqrt(5.0), TEXT_EPS);
    assert_near(hit(&f, "t-summary")->score, 1.0 / sqrt(5.0), TEXT_EPS);
    found_free(&f);
    overlap_index_free(idx);
}

/* Text: stop words and the words every project uses do not count; the forms
 * of a word meet; numbers are words. */
static void test_text_words(void **state)
{
    const spec v[] = {
        {.id = "x-measure", .title = "Measured results"},
        {.id = "x-2370", .title = "Resolution 2370"},
        {.id = "x-stop", .title = "The United Nations joint programme for the project"},
    };
    const spec measuring = {.title = "Measuring the result"};
    const spec numbers = {.title = "2370"};
    const spec only_stop_words = {.title = "The united nations project", .summary = "of the UN"};
    overlap_index *idx = index_of(v, 3);
    found f = find_all(idx, &measuring);

    assert_near(hit(&f, "x-measure")->score, 1.0, TEXT_EPS);
    assert_near(hit(&f, "x-stop")->score, 0.0, EPS);
    found_free(&f);

    f = find_all(idx, &numbers);
    assert_order(&f, (const char *const[]){"x-2370", "x-measure", "x-stop", NULL});
    assert_true(f.v[0]->score > 0.5);
    assert_shared(f.v[0], F_TEXT, (const char *const[]){"2370", NULL});
    found_free(&f);

    f = find_with(idx, &only_stop_words, q_all());
    assert_int_equal(f.rc, -ENODATA);
    overlap_index_free(idx);
}

/* ---- likely duplicates ---------------------------------------------------- */

/* Score >= 0.5 and text >= 0.3: sharing everything but the purpose is an
 * overlap, not a duplicate; the same words alone are not enough either. */
static void test_duplicate_needs_score_and_text(void **state)
{
    const spec v[] = {
        /* all but the text: 0.6 */
        {.id = "u-purpose",
         .title = "prisons rehabilitation",
         .groups = {"wg_a"},
         .partners = {"ent_a"},
         .countries = {"KE"},
         .pillars = {2},
         .themes = {"cargo"},
         .start = "2024-01-01",
         .end = "2024-12-31"},
        /* the text alone: 0.4 */
        {.id = "u-words", .title = "aviation screening"},
        /* the text and the group: 0.55 */
        {.id = "u-both", .title = "aviation screening", .groups = {"wg_a"}},
        /* the text and the themes: 0.45 */
        {.id = "u-weak", .title = "aviation screening", .themes = {"cargo"}},
    };
    overlap_index *idx = index_of(v, 4);
    found f = find_all(idx, &all_subject);
    overlap_query dups = q_all();

    assert_well_formed(&f);
    assert_order(&f, (const char *const[]){"u-purpose", "u-both", "u-weak", "u-words", NULL});
    assert_near(hit(&f, "u-purpose")->score, 0.6, EPS);
    assert_false(hit(&f, "u-purpose")->likely_duplicate);
    assert_near(hit(&f, "u-words")->score, 0.4, TEXT_EPS);
    assert_false(hit(&f, "u-words")->likely_duplicate);
    assert_near(hit(&f, "u-both")->score, 0.55, TEXT_EPS);
    assert_true(hit(&f, "u-both")->likely_duplicate);
    assert_near(hit(&f, "u-weak")->score, 0.45, TEXT_EPS);
    assert_false(hit(&f, "u-weak")->likely_duplicate);
    found_free(&f);

    /* duplicates_only keeps the likely duplicates alone */
    dups.duplicates_only = 1;
    f = find_with(idx, &all_subject, dups);
    assert_int_equal(f.rc, 0);
    assert_order(&f, (const char *const[]){"u-both", NULL});
    assert_int_equal(f.compared, 4);
    found_free(&f);
    overlap_index_free(idx);
}

/* A project whose title is "aa" and whose summary has `k` other words, and
 * whose other factors (those set in `base`) equal the subject's. With one
 * project in the index every idf is 1, so against a subject titled "aa" the
 * text similarity is 2 / sqrt(4 + k). */
static double text_for(int k)
{
    return 2.0 / sqrt(4.0 + k);
}

static found one_candidate(int k, const spec *base, const spec *subject)
{
    char summary[400] = "";
    spec s = *base;
    overlap_index *idx = NULL;
    found f;

    for (int i = 1; i <= k; i++) {
        char w[8];
        snprintf(w, sizeof w, "x%02d ", i);
        strcat(summary, w);
    }
    s.id = "cand";
    s.title = "aa";
    s.summary = summary;
    idx = index_of(&s, 1);
    f = find_all(idx, subject);
    overlap_index_free(idx);
    return f;
}

static void test_duplicate_text_threshold(void **state)
{
    const spec others = {.groups = {"wg_a"},
                         .partners = {"ent_a"},
                         .countries = {"KE"},
                         .pillars = {2},
                         .themes = {"cargo"},
                         .start = "2024-01-01",
                         .end = "2024-12-31"};
    spec subject = others;
    found f;

    subject.title = "aa";
    /* k = 40: text 0.3015, a duplicate; k = 41: text 0.2981, not one, though
     * the score (0.72) is well above 0.5 */
    f = one_candidate(40, &others, &subject);
    assert_int_equal(f.n, 1);
    assert_near(sim(f.v[0], F_TEXT), text_for(40), TEXT_EPS);
    assert_near(f.v[0]->score, 0.4 * text_for(40) + 0.6, TEXT_EPS);
    assert_true(f.v[0]->likely_duplicate);
    found_free(&f);
    f = one_candidate(41, &others, &subject);
    assert_int_equal(f.n, 1);
    assert_near(sim(f.v[0], F_TEXT), text_for(41), TEXT_EPS);
    assert_true(f.v[0]->score > 0.7);
    assert_false(f.v[0]->likely_duplicate);
    found_free(&f);
}

static void test_duplicate_score_threshold(void **state)
{
    const spec dates = {.start = "2024-01-01", .end = "2024-12-31"};
    spec subject = dates;
    found f;

    subject.title = "aa";
    /* text and dates: score (0.4 t + 0.08) / 0.48, 0.5 at t = 0.4 (k = 21) */
    f = one_candidate(20, &dates, &subject);
    assert_int_equal(f.n, 1);
    assert_near(f.v[0]->score, (0.4 * text_for(20) + 0.08) / 0.48, TEXT_EPS);
    assert_true(f.v[0]->score > 0.5);
    assert_true(f.v[0]->likely_duplicate);
    found_free(&f);
    f = one_candidate(22, &dates, &subject);
    assert_int_equal(f.n, 1);
    assert_true(f.v[0]->score < 0.5);
    assert_true(sim(f.v[0], F_TEXT) >= 0.3);
    assert_false(f.v[0]->likely_duplicate);
    found_free(&f);
}

/* ---- the query ------------------------------------------------------------ */

static void test_status_and_exclude(void **state)
{
    const spec v[] = {
        {.id = "p1", .groups = {"wg_a"}, .status = S_IMPLEMENTATION},
        {.id = "p2", .groups = {"wg_a"}, .status = S_CLOSED},
        {.id = "p3", .groups = {"wg_a"}, .status = S_CANCELLED},
        {.id = "p4", .groups = {"wg_a"}, .status = S_SUSPENDED},
        {.id = "p5", .groups = {"wg_a"}, .status = S_FINALISATION},
        {.id = "p6", .groups = {"wg_a"}, .status = S_PIPELINE},
    };
    const spec subject = {.groups = {"wg_a"}};
    overlap_index *idx = index_of(v, 6);
    overlap_query q = q_all();
    found f;

    /* closed and cancelled projects are left out unless asked for */
    q.include_closed = 0;
    f = find_with(idx, &subject, q);
    assert_int_equal(f.rc, 0);
    assert_order(&f, (const char *const[]){"p1", "p4", "p5", "p6", NULL});
    assert_int_equal(f.compared, 4);
    assert_false(has_hit(&f, "p2") || has_hit(&f, "p3"));
    assert_int_equal(hit(&f, "p4")->status, S_SUSPENDED);
    found_free(&f);

    q.include_closed = 1;
    f = find_with(idx, &subject, q);
    assert_order(&f, (const char *const[]){"p1", "p2", "p3", "p4", "p5", "p6", NULL});
    assert_int_equal(f.compared, 6);
    assert_int_equal(hit(&f, "p2")->status, S_CLOSED);
    found_free(&f);

    /* the subject's own id is neither returned nor compared */
    q.exclude_id = "p4";
    f = find_with(idx, &subject, q);
    assert_order(&f, (const char *const[]){"p1", "p2", "p3", "p5", "p6", NULL});
    assert_int_equal(f.compared, 5);
    found_free(&f);

    q.include_closed = 0;
    q.exclude_id = "p2"; /* excluded anyway */
    f = find_with(idx, &subject, q);
    assert_order(&f, (const char *const[]){"p1", "p4", "p5", "p6", NULL});
    assert_int_equal(f.compared, 4);
    found_free(&f);
    overlap_index_free(idx);
}

static void test_limit_and_min_score(void **state)
{
    /* themes by Dice against {t1, t2, t3}: 0.25, 0.5, 1, 0.8, put in that order */
    const spec v[] = {
        {.id = "m-025", .themes = {"t1", "x1", "x2", "x3", "x4"}},
        {.id = "m-050", .themes = {"t1"}},
        {.id = "m-100", .themes = {"t3", "t2", "t1"}},
        {.id = "m-080", .themes = {"t1", "t2"}},
        {.id = "m-000", .themes = {"x1"}},
    };
    const spec subject = {.themes = {"t1", "t2", "t3"}};
    overlap_index *idx = index_of(v, 5);
    overlap_query q = q_all();
    found f;

    f = find_with(idx, &subject, q);
    assert_order(&f, (const char *const[]){"m-100", "m-080", "m-050", "m-025", "m-000", NULL});
    assert_near(f.v[1]->score, 0.8, EPS);
    assert_near(f.v[3]->score, 0.25, EPS);
    found_free(&f);

    q.limit = 2;
    f = find_with(idx, &subject, q);
    assert_order(&f, (const char *const[]){"m-100", "m-080", NULL});
    assert_int_equal(f.compared, 5); /* every project is scored */
    found_free(&f);

    q.limit = 1;
    f = find_with(idx, &subject, q);
    assert_order(&f, (const char *const[]){"m-100", NULL});
    found_free(&f);

    /* min_score: a score equal to it is kept */
    q.limit = OVERLAP_LIMIT_MAX;
    q.min_score = 0.5;
    f = find_with(idx, &subject, q);
    assert_order(&f, (const char *const[]){"m-100", "m-080", "m-050", NULL});
    assert_int_equal(f.compared, 5);
    found_free(&f);

    q.min_score = 0.51;
    f = find_with(idx, &subject, q);
    assert_order(&f, (const char *const[]){"m-100", "m-080", NULL});
    found_free(&f);

    q.min_score = 1.0;
    f = find_with(idx, &subject, q);
    assert_order(&f, (const char *const[]){"m-100", NULL});
    found_free(&f);

    q.min_score = OVERLAP_MIN_SCORE_DEFAULT;
    f = find_with(idx, &subject, q);
    assert_order(&f, (const char *const[]){"m-100", "m-080", "m-050", "m-025", NULL});
    found_free(&f);

    /* min_score and limit together */
    q.min_score = 0.3;
    q.limit = 2;
    f = find_with(idx, &subject, q);
    assert_order(&f, (const char *const[]){"m-100", "m-080", NULL});
    found_free(&f);
    overlap_index_free(idx);
}

/* Equal scores go by IATI identifier (not by id, nor by order of puts),
 * also when the limit cuts among them. */
static void test_ties_by_iati_identifier(void **state)
{
    const spec v[] = {
        {.id = "prj_1", .iati = "XM-C", .partners = {"ent_a"}},
        {.id = "prj_2", .iati = "XM-A", .partners = {"ent_a"}},
        {.id = "prj_3", .iati = "XM-B", .partners = {"ent_a"}},
        {.id = "prj_0", .iati = "XM-D", .partners = {"ent_a", "ent_b"}},
    };
    const spec subject = {.partners = {"ent_a", "ent_b"}};
    overlap_index *idx = index_of(v, 4);
    overlap_query q = q_all();
    found f;

    f = find_with(idx, &subject, q);
    assert_order(&f, (const char *const[]){"prj_0", "prj_2", "prj_3", "prj_1", NULL});
    assert_string_equal(f.v[1]->iati_identifier, "XM-A");
    found_free(&f);
    q.limit = 3;
    f = find_with(idx, &subject, q);
    assert_order(&f, (const char *const[]){"prj_0", "prj_2", "prj_3", NULL});
    found_free(&f);
    overlap_index_free(idx);
}

/* A subject with nothing to compare: -ENODATA, and nothing to free. */
static void test_empty_subject(void **state)
{
    const spec v[] = {{.id = "p1", .title = "aviation", .groups = {"wg_a"}}};
    const spec nothing = {.title = "", .summary = ""};
    const spec only_end = {
        .end = "2024-12-31", .status = S_IMPLEMENTATION, .id = "prj_x", .iati = "XM-X"};
    const spec some = {.title = "aviation"};
    overlap_index *idx = NULL;
    found f;

    assert_int_equal(overlap_index_new(&idx), 0);
    assert_int_equal(overlap_index_size(idx), 0);
    f = find_with(idx, &nothing, q_all());
    assert_int_equal(f.rc, -ENODATA);
    assert_null(f.v);
    assert_int_equal(f.n, 0);
    /* an empty index with a real subject: no hits, no error */
    f = find_with(idx, &some, q_all());
    assert_int_equal(f.rc, 0);
    assert_int_equal(f.n, 0);
    assert_int_equal(f.compared, 0);
    found_free(&f);

    put(idx, &v[0]);
    f = find_with(idx, &nothing, q_all());
    assert_int_equal(f.rc, -ENODATA);
    assert_null(f.v);
    assert_int_equal(f.n, 0);
    /* an end date, a status, an id: none is a factor */
    f = find_with(idx, &only_end, q_all());
    assert_int_equal(f.rc, -ENODATA);
    assert_int_equal(f.n, 0);
    overlap_index_free(idx);
    overlap_index_free(NULL);
    overlap_free(NULL, 0);
}

/* Putting a project again replaces its entry: old words, groups and title
 * are gone, the size does not change. */
static void test_put_replaces(void **state)
{
    const spec first = {
        .id = "prj_r", .iati = "XM-R", .title = "Aviation security", .groups = {"wg_a"}};
    const spec again = {
        .id = "prj_r", .iati = "XM-R", .title = "Maritime piracy", .groups = {"wg_b"}};
    const spec other = {.id = "prj_o", .iati = "XM-O", .title = "Aviation screening"};
    const spec by_words = {.title = "aviation security"};
    const spec by_group_a = {.groups = {"wg_a"}};
    const spec by_group_b = {.groups = {"wg_b"}};
    overlap_index *idx = index_of(&first, 1);
    overlap_query q = q_all();
    found f;

    q.min_score = 0.01;
    put(idx, &again);
    assert_int_equal(overlap_index_size(idx), 1);
    f = find_with(idx, &by_words, q);
    assert_int_equal(f.n, 0);
    assert_int_equal(f.compared, 1);
    found_free(&f);
    f = find_with(idx, &by_group_a, q);
    assert_int_equal(f.n, 0);
    found_free(&f);
    f = find_with(idx, &by_group_b, q);
    assert_order(&f, (const char *const[]){"prj_r", NULL});
    assert_string_equal(f.v[0]->title, "Maritime piracy");
    assert_near(f.v[0]->score, 1.0, EPS);
    found_free(&f);

    /* back to the first version, and another project beside it */
    put(idx, &first);
    put(idx, &other);
    assert_int_equal(overlap_index_size(idx), 2);
    f = find_with(idx, &by_words, q);
    assert_order(&f, (const char *const[]){"prj_r", "prj_o", NULL});
    assert_near(f.v[0]->score, 1.0, TEXT_EPS);
    assert_string_equal(f.v[0]->title, "Aviation security");
    found_free(&f);
    overlap_index_free(idx);
}

/* ---- the documented formula, computed independently ---------------------- */

/* docs/OVERLAPS.md written out again over the specs, without the index:
 * words from overlap_text_words (overlap_text.h), title words twice, idf
 * ln((1 + N) / (1 + df)) + 1 over the N indexed projects, a cosine; overlap
 * coefficients, Dice, the global rule, dates in days; the weighted mean over
 * the subject's factors. */
#define REF_TERMS 128

typedef struct ref_text {
    char stem[REF_TERMS][OVERLAP_TEXT_WORD_MAX + 1];
    double tf[REF_TERMS];
    size_t n;
    double times;
} ref_text;

static void ref_on_word(void *arg, const char *stem, const char *word)
{
    ref_text *t = arg;
    size_t i = 0;

    while (i < t->n && strcmp(t->stem[i], stem) != 0)
        i++;
    if (i == t->n) {
        assert_true(t->n < REF_TERMS);
        snprintf(t->stem[t->n], sizeof t->stem[0], "%s", stem);
        t->tf[t->n++] = 0;
    }
    t->tf[i] += t->times;
}

static void ref_words(const spec *s, ref_text *t)
{
    memset(t, 0, sizeof *t);
    t->times = 2;
    overlap_text_words(s->title ? s->title : "", ref_on_word, t);
    t->times = 1;
    overlap_text_words(s->summary ? s->summary : "", ref_on_word, t);
}

static double ref_tf(const ref_text *t, const char *stem)
{
    for (size_t i = 0; i < t->n; i++) {
        if (strcmp(t->stem[i], stem) == 0)
            return t->tf[i];
    }
    return 0;
}

static int ref_eq(const char *a, const char *b, int fold)
{
    return fold ? strcasecmp(a, b) == 0 : strcmp(a, b) == 0;
}

/* Distinct items of `a`; with `b`, only those also in `b`. */
static size_t ref_count(const char *const *a, const char *const *b, int fold)
{
    size_t n = 0;

    for (size_t i = 0; i < MAXV && a[i]; i++) {
        int seen = 0, in_b = b == NULL;
        for (size_t j = 0; j < i; j++)
            seen |= ref_eq(a[i], a[j], fold);
        for (size_t j = 0; b && j < MAXV && b[j]; j++)
            in_b |= ref_eq(a[i], b[j], fold);
        n += !seen && in_b;
    }
    return n;
}

static double ref_overlap_coefficient(size_t common, size_t a, size_t b)
{
    size_t m = a < b ? a : b;

    return m ? (double)common / (double)m : 0.0;
}

static double ref_dice(size_t common, size_t a, size_t b)
{
    return a + b ? 2.0 * (double)common / (double)(a + b) : 0.0;
}

/* Days since 1970-01-01 of a civil date (H. Hinnant's days_from_civil). */
static long ref_day(const char *s)
{
    int y = 0, m = 0, d = 0;

    assert_int_equal(sscanf(s, "%d-%d-%d", &y, &m, &d), 3);
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153L * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static long ref_end(const spec *s)
{
    return ref_day(s->end && s->end[0] ? s->end : "9999-12-31");
}

static unsigned ref_pillars(const spec *s)
{
    unsigned m = 0;

    for (int i = 0; i < 5 && s->pillars[i]; i++)
        m |= 1u << s->pillars[i];
    return m;
}

/* The score of `d` for `s` among the projects `corpus[0..n)`, and each
 * factor's similarity into sims (by factor number). */
static double ref_score(const spec *s, const spec *d, const spec *corpus, size_t n, double sims[8])
{
    static ref_text ts, td, tc;
    int has[8] = {0};
    double dot = 0, qn = 0, dn = 0, sum = 0, wsum = 0;
    size_t ns, nd;

    memset(sims, 0, 8 * sizeof *sims);
    ref_words(s, &ts);
    ref_words(d, &td);
    for (size_t i = 0; i < ts.n; i++) {
        size_t df = 0;
        for (size_t k = 0; k < n; k++) {
            ref_words(&corpus[k], &tc);
            df += ref_tf(&tc, ts.stem[i]) > 0;
        }
        double idf = log((1.0 + (double)n) / (1.0 + (double)df)) + 1.0;
        double q = ts.tf[i] * idf;
        qn += q * q;
        dot += q * ref_tf(&td, ts.stem[i]) * idf;
    }
    for (size_t i = 0; i < td.n; i++) {
        size_t df = 0;
        for (size_t k = 0; k < n; k++) {
            ref_words(&corpus[k], &tc);
            df += ref_tf(&tc, td.stem[i]) > 0;
        }
        double w = td.tf[i] * (log((1.0 + (double)n) / (1.0 + (double)df)) + 1.0);
        dn += w * w;
    }
    has[F_TEXT] = ts.n > 0;
    sims[F_TEXT] = dot > 0 ? dot / (sqrt(qn) * sqrt(dn)) : 0.0;

    has[F_GROUPS] = ref_count(s->groups, NULL, 0) > 0;
    sims[F_GROUPS] =
        ref_overlap_coefficient(ref_count(s->groups, d->groups, 0), ref_count(s->groups, NULL, 0),
                                ref_count(d->groups, NULL, 0));
    has[F_PARTNERS] = ref_count(s->partners, NULL, 0) > 0;
    sims[F_PARTNERS] = ref_dice(ref_count(s->partners, d->partners, 0),
                                ref_count(s->partners, NULL, 0), ref_count(d->partners, NULL, 0));
    ns = ref_count(s->countries, NULL, 0);
    nd = ref_count(d->countries, NULL, 0);
    has[F_COUNTRIES] = s->global || ns > 0;
    if (s->global && d->global)
        sims[F_COUNTRIES] = 1.0;
    else if ((s->global && nd > 0) || (d->global && ns > 0))
        sims[F_COUNTRIES] = 0.5;
    else
        sims[F_COUNTRIES] = ref_dice(ref_count(s->countries, d->countries, 0), ns, nd);
    has[F_DATES] = s->start != NULL;
    if (s->start && d->start) {
        long from = ref_day(s->start) > ref_day(d->start) ? ref_day(s->start) : ref_day(d->start);
        long to = ref_end(s) < ref_end(d) ? ref_end(s) : ref_end(d);
        long ls = ref_end(s) - ref_day(s->start) + 1, ld = ref_end(d) - ref_day(d->start) + 1;
        if (to >= from)
            sims[F_DATES] = (double)(to - from + 1) / (double)(ls < ld ? ls : ld);
    }
    has[F_PILLARS] = ref_pillars(s) != 0;
    sims[F_PILLARS] = ref_overlap_coefficient(
        (size_t)__builtin_popcount(ref_pillars(s) & ref_pillars(d)),
        (size_t)__builtin_popcount(ref_pillars(s)), (size_t)__builtin_popcount(ref_pillars(d)));
    has[F_THEMES] = ref_count(s->themes, NULL, 1) > 0;
    sims[F_THEMES] = ref_dice(ref_count(s->themes, d->themes, 1), ref_count(s->themes, NULL, 1),
                              ref_count(d->themes, NULL, 1));
    for (int f = F_TEXT; f <= F_THEMES; f++) {
        if (!has[f])
            sims[f] = 0.0; /* no reason for a factor the subject lacks */
        sum += has[f] ? doc_weight[f] * sims[f] : 0.0;
        wsum += has[f] ? doc_weight[f] : 0.0;
    }
    return sum / wsum;
}

typedef struct ref_hit {
    const spec *d;
    double score, sims[8];
} ref_hit;

static int ref_hit_compare(const void *a, const void *b)
{
    const ref_hit *x = a, *y = b;

    if (x->score != y->score)
        return x->score < y->score ? 1 : -1;
    return strcmp(x->d->iati, y->d->iati);
}

/* The answer the documented rules give for `q` over corpus[0..n). */
static size_t ref_find(const spec *subject, const spec *corpus, size_t n, const overlap_query *q,
                       ref_hit *out)
{
    size_t m = 0;

    for (size_t i = 0; i < n; i++) {
        const spec *d = &corpus[i];
        if (q->exclude_id && strcmp(d->id, q->exclude_id) == 0)
            continue;
        if (!q->include_closed && (d->status == S_CLOSED || d->status == S_CANCELLED))
            continue;
        out[m].d = d;
        out[m].score = ref_score(subject, d, corpus, n, out[m].sims);
        if (q->duplicates_only && !(out[m].score >= 0.5 && out[m].sims[F_TEXT] >= 0.3))
            continue;
        if (out[m].score >= q->min_score)
            m++;
    }
    qsort(out, m, sizeof *out, ref_hit_compare);
    return m < q->limit ? m : q->limit;
}

/* The reference itself, on cases worked by hand. */
static void test_reference_formula(void **state)
{
    const spec corpus[] = {
        {.id = "a", .iati = "a", .title = "alpha", .summary = "beta"},
        {.id = "b",
         .iati = "b",
         .title = "beta",
         .summary = "alpha",
         .global = 1,
         .start = "2024-07-01",
         .end = "2025-06-30"},
    };
    const spec subject = {
        .title = "alpha", .countries = {"KE"}, .start = "2024-01-01", .end = "2024-12-31"};
    double sims[8];

    /* text 2/sqrt5; countries 0.5 (global); dates 184/365 */
    assert_near(ref_score(&subject, &corpus[0], corpus, 2, sims), 0.40 * 2 / sqrt(5.0) / 0.60,
                1e-12);
    assert_near(ref_score(&subject, &corpus[1], corpus, 2, sims),
                (0.40 * 1 / sqrt(5.0) + 0.12 * 0.5 + 0.08 * 184 / 365) / 0.60, 1e-12);
    assert_near(sims[F_DATES], 184.0 / 365, 1e-12);
}

/* ---- the rankings --------------------------------------------------------- */

/* One query over the seed projects and what it must answer. */
typedef struct rank_case {
    const char *name;
    const spec *subject;
    overlap_query q;                   /* q.subject is set from `subject` */
    const char *order[SEED_COUNT + 1]; /* project ids, best first */
    const char *duplicate;             /* the one likely duplicate, or NULL */
    int reasons[8];                    /* the best hit's factors by contribution; 0 ends */
    double score, text;                /* the best hit's, to 0.005 (docs/OVERLAPS.md) */
    size_t compared;
} rank_case;

#define DEFAULTS .limit = OVERLAP_LIMIT_DEFAULT, .min_score = OVERLAP_MIN_SCORE_DEFAULT

static const rank_case rankings[] = {
    /* near-duplicates: the original first, the only likely duplicate */
    {"API/PNR passenger data for East Africa",
     &draft_travel,
     {DEFAULTS, .include_closed = 1},
     {"prj_cttp", "prj_scr2370", "prj_cip"},
     "prj_cttp",
     {F_TEXT, F_GROUPS, F_PARTNERS, F_DATES, F_COUNTRIES, F_PILLARS, F_THEMES},
     0.76,
     0.74,
     7},
    {"workshops on the resolution 2370 guidelines",
     &draft_weapons,
     {DEFAULTS, .include_closed = 1},
     /* CTTP scores above 0.5 (same group, pillars, global) but shares
      * little text: an overlap, not a duplicate */
     {"prj_scr2370", "prj_cttp", "prj_cip"},
     "prj_scr2370",
     {F_TEXT, F_GROUPS, F_PARTNERS, F_COUNTRIES, F_DATES, F_PILLARS},
     0.82,
     0.71,
     7},
    {"good practices for critical infrastructure",
     &draft_infrastructure,
     {DEFAULTS, .include_closed = 1},
     {"prj_cip", "prj_measuring", "prj_cttp", "prj_scr2370", "prj_victims", "prj_meta"},
     "prj_cip",
     {F_TEXT, F_GROUPS, F_PARTNERS, F_COUNTRIES, F_DATES, F_PILLARS},
     0.89,
     0.89,
     7},
    /* ... whose original is closed: left out unless asked for */
    {"critical infrastructure, open projects only",
     &draft_infrastructure,
     {DEFAULTS},
     {"prj_cttp", "prj_scr2370"},
     NULL,
     {F_COUNTRIES, F_PARTNERS, F_PILLARS, F_TEXT, F_DATES},
     0.31,
     0.08,
     3},
    {"API/PNR, duplicates only",
     &draft_travel,
     {DEFAULTS, .include_closed = 1, .duplicates_only = 1},
     {"prj_cttp"},
     "prj_cttp",
     {F_TEXT, F_GROUPS, F_PARTNERS, F_DATES, F_COUNTRIES, F_PILLARS, F_THEMES},
     0.76,
     0.74,
     7},
    {"API/PNR, limit 1",
     &draft_travel,
     {.limit = 1, .min_score = OVERLAP_MIN_SCORE_DEFAULT, .include_closed = 1},
     {"prj_cttp"},
     "prj_cttp",
     {F_TEXT, F_GROUPS, F_PARTNERS, F_DATES, F_COUNTRIES, F_PILLARS, F_THEMES},
     0.76,
     0.74,
     7},
    /* non-duplicates: nothing by default, nothing near a duplicate at all */
    {"women police officers in the Sahel",
     &draft_gender,
     {DEFAULTS, .include_closed = 1},
     {NULL},
     NULL,
     {0},
     -1,
     -1,
     7},
    {"women police officers, min_score 0.01",
     &draft_gender,
     {.limit = OVERLAP_LIMIT_MAX, .min_score = 0.01, .include_closed = 1},
     /* CIP and SCR2370 tie at 0.06: by IATI identifier */
     {"prj_cttp", "prj_meta", "prj_victims", "prj_measuring", "prj_cip", "prj_scr2370",
      "prj_pve_sea"},
     NULL,
     {F_DATES, F_COUNTRIES, F_TEXT},
     0.16,
     0.06,
     7},
    {"maritime security of ports",
     &draft_maritime,
     {.limit = OVERLAP_LIMIT_MAX, .min_score = 0.3, .include_closed = 1},
     {NULL},
     NULL,
     {0},
     -1,
     -1,
     7},
    {"maritime security, min_score 0.01",
     &draft_maritime,
     {.limit = OVERLAP_LIMIT_MAX, .min_score = 0.01, .include_closed = 1},
     /* meta-synthesis and measuring tie at 0.1375: by IATI identifier;
      * PVE South-East Asia shares nothing */
     {"prj_cttp", "prj_scr2370", "prj_cip", "prj_meta", "prj_measuring", "prj_victims"},
     NULL,
     {F_DATES, F_COUNTRIES, F_PILLARS, F_TEXT},
     0.25,
     0.03,
     7},
    /* saved projects against the others, never against themselves */
    {"CTTP against the other seed projects",
     &seed[0],
     {.exclude_id = "prj_cttp", .limit = OVERLAP_LIMIT_MAX, .min_score = 0.01, .include_closed = 1},
     {"prj_scr2370", "prj_measuring", "prj_meta", "prj_cip", "prj_victims", "prj_pve_sea"},
     NULL,
     {F_GROUPS, F_COUNTRIES, F_DATES, F_PARTNERS, F_PILLARS, F_TEXT},
     0.50,
     0.11,
     6},
    {"measuring-results compendium against the others",
     &seed[3],
     {DEFAULTS, .exclude_id = "prj_measuring", .include_closed = 1},
     /* same group, related topic: 0.59 but text < 0.3, not a duplicate */
     {"prj_meta", "prj_cttp", "prj_cip", "prj_scr2370", "prj_pve_sea", "prj_victims"},
     NULL,
     {F_GROUPS, F_PARTNERS, F_COUNTRIES, F_TEXT, F_PILLARS, F_DATES},
     0.59,
     0.25,
     6},
};
#define RANKINGS (sizeof rankings / sizeof rankings[0])

/* The reasons of `o` are the factors c->reasons (0 ends) in order; factors
 * whose contributions are equal (to rounding) may come in either order. */
static void assert_reasons(const rank_case *c, const Overlap *o)
{
    size_t n = 0;

    while (n < 8 && c->reasons[n])
        n++;
    if (o->n_reasons != n)
        print_error("%s: %zu reasons, expected %zu\n", c->name, o->n_reasons, n);
    assert_int_equal(o->n_reasons, n);
    for (size_t i = 0; i < n; i++) {
        const OverlapReason *got = o->reasons[i], *want = reason(o, c->reasons[i]);
        int tie = want && fabs(got->contribution - want->contribution) <= 1e-9;
        if (got != want && !tie)
            print_error("%s: reason %zu is factor %d, expected %d\n", c->name, i, (int)got->factor,
                        c->reasons[i]);
        assert_non_null(want);
        assert_true(got == want || tie);
    }
}

static void check_ranking(const rank_case *c, overlap_index *idx)
{
    found f = find_with(idx, c->subject, c->q);

    assert_int_equal(f.rc, 0);
    failing_case = c->name;
    assert_well_formed(&f);
    assert_order(&f, c->order);
    assert_int_equal(f.compared, c->compared);
    for (size_t i = 0; i < f.n; i++) {
        int dup = c->duplicate && strcmp(f.v[i]->project_id, c->duplicate) == 0;
        assert_int_equal(f.v[i]->likely_duplicate != 0, dup);
        assert_true(f.v[i]->score >= c->q.min_score);
    }
    if (f.n > 0) {
        assert_reasons(c, f.v[0]);
        assert_near(f.v[0]->score, c->score, 0.005);
        assert_near(sim(f.v[0], F_TEXT), c->text, 0.005);
    }
    failing_case = NULL;
    found_free(&f);
}

/* Every case on the seed put in order, in reverse, and put twice (every
 * entry replaced once): the answers may not depend on how the index grew. */
static void test_rankings(void **state)
{
    overlap_index *in_order = index_of(seed, SEED_COUNT);
    overlap_index *reversed = NULL, *twice = index_of(seed, SEED_COUNT);

    assert_int_equal(overlap_index_new(&reversed), 0);
    for (size_t i = SEED_COUNT; i-- > 0;)
        put(reversed, &seed[i]);
    for (size_t i = 0; i < SEED_COUNT; i++)
        put(twice, &seed[i]);
    assert_int_equal(overlap_index_size(twice), SEED_COUNT);
    for (size_t i = 0; i < RANKINGS; i++) {
        check_ranking(&rankings[i], in_order);
        check_ranking(&rankings[i], reversed);
        check_ranking(&rankings[i], twice);
    }
    overlap_index_free(in_order);
    overlap_index_free(reversed);
    overlap_index_free(twice);
}

/* Every case again, hit by hit and factor by factor, against the documented
 * formula computed without the index. */
static void test_rankings_follow_formula(void **state)
{
    overlap_index *idx = index_of(seed, SEED_COUNT);

    for (size_t c = 0; c < RANKINGS; c++) {
        const rank_case *rc = &rankings[c];
        ref_hit want[SEED_COUNT];
        size_t m = ref_find(rc->subject, seed, SEED_COUNT, &rc->q, want);
        found f = find_with(idx, rc->subject, rc->q);

        assert_int_equal(f.rc, 0);
        assert_int_equal(f.n, m);
        for (size_t i = 0; i < m; i++) {
            const Overlap *o = f.v[i];
            assert_string_equal(o->project_id, want[i].d->id);
            assert_near(o->score, want[i].score, TEXT_EPS);
            for (int factor = F_TEXT; factor <= F_THEMES; factor++)
                assert_near(sim(o, factor), want[i].sims[factor], TEXT_EPS);
        }
        found_free(&f);
    }
    overlap_index_free(idx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_documented_constants),
        cmocka_unit_test(test_weights),
        cmocka_unit_test(test_mean_over_subject_factors),
        cmocka_unit_test(test_groups_overlap_coefficient),
        cmocka_unit_test(test_partners_dice),
        cmocka_unit_test(test_countries),
        cmocka_unit_test(test_dates),
        cmocka_unit_test(test_pillars),
        cmocka_unit_test(test_themes),
        cmocka_unit_test(test_text_rare_words),
        cmocka_unit_test(test_text_document_frequencies_follow_puts),
        cmocka_unit_test(test_text_title_counts_twice),
        cmocka_unit_test(test_text_words),
        cmocka_unit_test(test_duplicate_needs_score_and_text),
        cmocka_unit_test(test_duplicate_text_threshold),
        cmocka_unit_test(test_duplicate_score_threshold),
        cmocka_unit_test(test_status_and_exclude),
        cmocka_unit_test(test_limit_and_min_score),
        cmocka_unit_test(test_ties_by_iati_identifier),
        cmocka_unit_test(test_empty_subject),
        cmocka_unit_test(test_put_replaces),
        cmocka_unit_test(test_reference_formula),
        cmocka_unit_test(test_rankings),
        cmocka_unit_test(test_rankings_follow_formula),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

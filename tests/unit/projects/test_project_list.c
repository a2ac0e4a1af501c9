/* test_project_list.c: ListProjects' store query (project_store_list)
 * against a brute force, and the upgrade of a database made by the first
 * schema.
 *
 * The brute force is the old definition: every project, filtered by its
 * rows (group, entity, country, pillar, status) and by instr() of the
 * lowered text in its lowered search text (title, summary, themes), sorted
 * by IATI key. project_store_list reads along indexes and, for texts of 3
 * characters or more, either a window of rows or the FTS5 trigram index
 * (project_store.c, "listing"); every page of every listing must be the
 * brute force's, paged 20 at a time as the handler does (21 asked).
 *
 * Corpora: 1,500 projects over small vocabularies (common filters and
 * texts) plus rare words, with some projects changed after they were
 * inserted (their text, groups and status). The upgrade test writes a
 * database with migration 1 only, by the SQL the service used then, opens
 * it with every migration, and checks the same listings, then writes
 * through the new code on top (new projects, changed old ones).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cmocka.h>

#include "fault.h"
#include "pbstr.h"
#include "pbtime.h"
#include "project_store.h"

typedef Compact__Projects__V1__Participant Participant;

#define N_PROJECTS 1500
#define PAGE 20

static const char *const groups[] = {"wg_a", "wg_b", "wg_c", "wg_d", "wg_e", "wg_f"};
static const char *const entities[] = {"ent_a", "ent_b", "ent_c", "ent_d",   "ent_e",
                                       "ent_f", "ent_g", "ent_h", "ent_rare"};
static const char *const countries[] = {"KE", "UG", "ET", "ML", "NE", "ID", "PH", "IQ"};
static const char *const words[] = {"Border",     "security",  "Aviation", "prisons",   "youth",
                                    "victims",    "Terrorist", "travel",   "capacity",  "Sahel",
                                    "\"quoted\"", "rare-xq",   "café",     "legal aid", "API/PNR"};
static const char *const themes[] = {"gender", "CFT", "Weapons", "cyber"};

/* ---- projects ------------------------------------------------------------------ */

static uint64_t rng_state = 88172645463325252ULL;

static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state % n);
}

#define PICK(v) (v)[rnd(sizeof(v) / sizeof((v)[0]))]

static char *xstrdup(const char *s)
{
    char *c = strdup(s);

    assert_non_null(c);
    return c;
}

static char *random_text(int words_max, int rare)
{
    char buf[512] = "";
    int n = 1 + (int)rnd((uint32_t)words_max);

    for (int i = 0; i < n; i++) {
        strcat(buf, i ? " " : "");
        strcat(buf, PICK(words));
    }
    if (rare) {
        char extra[32];
        snprintf(extra, sizeof extra, " zz%uq", rnd(400)); /* rare, some unique */
        strcat(buf, extra);
    }
    return xstrdup(buf);
}

static char **random_ids(const char *const *pool, uint32_t pool_n, size_t most, size_t *n)
{
    char **v;

    *n = rnd((uint32_t)most + 1);
    if (*n == 0)
        return NULL;
    v = calloc(*n, sizeof *v);
    assert_non_null(v);
    for (size_t i = 0; i < *n; i++)
        v[i] = xstrdup(pool[rnd(pool_n)]);
    return v;
}

/* Fills the filtered fields of `p` at random (freeing what they held). */
static void randomize(Project *p)
{
    size_t n;

    free(p->title == protobuf_c_empty_string ? NULL : p->title);
    free(p->summary == protobuf_c_empty_string ? NULL : p->summary);
    p->title = random_text(4, rnd(10) == 0);
    p->summary = random_text(12, rnd(20) == 0);
    for (size_t i = 0; i < p->n_working_group_ids; i++)
        free(p->working_group_ids[i]);
    free(p->working_group_ids);
    p->working_group_ids = random_ids(groups, 6, 2, &p->n_working_group_ids);
    for (size_t i = 0; i < p->n_recipient_countries; i++)
        free(p->recipient_countries[i]);
    free(p->recipient_countries);
    p->recipient_countries = random_ids(countries, 8, 3, &p->n_recipient_countries);
    for (size_t i = 0; i < p->n_themes; i++)
        free(p->themes[i]);
    free(p->themes);
    p->themes = random_ids(themes, 4, 2, &p->n_themes);
    for (size_t i = 0; i < p->n_participants; i++)
        protobuf_c_message_free_unpacked(&p->participants[i]->base, NULL);
    free(p->participants);
    p->participants = NULL;
    p->n_participants = 0;
    char **ents = random_ids(entities, rnd(30) == 0 ? 9 : 8, 3, &n);
    if (n) {
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
    free(p->pillars);
    p->pillars = NULL;
    p->n_pillars = rnd(3);
    if (p->n_pillars) {
        p->pillars = malloc(p->n_pillars * sizeof *p->pillars);
        assert_non_null(p->pillars);
        for (size_t i = 0; i < p->n_pillars; i++)
            p->pillars[i] = (Compact__Projects__V1__StrategyPillar)(1 + i + rnd(2));
    }
    p->status = (Compact__Projects__V1__ActivityStatus)(1 + rnd(6));
}

static Project *new_project(int i)
{
    Project *p = malloc(sizeof *p);
    char buf[64];

    assert_non_null(p);
    compact__projects__v1__project__init(p);
    snprintf(buf, sizeof buf, "prj_%020d", i);
    p->id = xstrdup(buf);
    /* Keys out of insertion order, some differing only by case. */
    snprintf(buf, sizeof buf, "%s-%05d", i % 3 ? "XM-List" : "xm-LIST", (i * 7919) % 100000);
    p->iati_identifier = xstrdup(buf);
    p->reporting_org_ref = xstrdup("XM-LIST");
    p->start_date = xstrdup("2020-01-01");
    p->end_date = xstrdup("2024-12-31");
    assert_int_equal(pbtime_set(&p->create_time, 1700000000000 + i), 0);
    assert_int_equal(pbtime_set(&p->update_time, 1700000000000 + i), 0);
    randomize(p);
    return p;
}

/* ---- the brute force ------------------------------------------------------------ */

static int has(char **v, size_t n, const char *x)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i], x) == 0)
            return 1;
    return 0;
}

static int matches(const Project *p, const project_store_filter *f)
{
    char text[2048], query[256];
    int found = 0;

    if (f->working_group_id[0] &&
        !has(p->working_group_ids, p->n_working_group_ids, f->working_group_id))
        return 0;
    if (f->country[0] && !has(p->recipient_countries, p->n_recipient_countries, f->country))
        return 0;
    if (f->entity_id[0]) {
        for (size_t i = 0; i < p->n_participants; i++)
            found |= strcmp(p->participants[i]->entity_id, f->entity_id) == 0;
        if (!found)
            return 0;
    }
    if (f->pillar) {
        found = 0;
        for (size_t i = 0; i < p->n_pillars; i++)
            found |= (int)p->pillars[i] == f->pillar;
        if (!found)
            return 0;
    }
    if (f->status && (int)p->status != f->status)
        return 0;
    if (!f->text[0])
        return 1;
    snprintf(text, sizeof text, "%s\n%s\n", p->title, p->summary);
    for (size_t i = 0; i < p->n_themes; i++) {
        strcat(text, p->themes[i]);
        strcat(text, "\n");
    }
    pbstr_lower_ascii(text, text, sizeof text);
    pbstr_lower_ascii(f->text, query, sizeof query);
    return strstr(text, query) != NULL;
}

static int by_key(const void *a, const void *b)
{
    char ka[512], kb[512];

    project_store_iati_key((*(Project *const *)a)->iati_identifier, ka, sizeof ka);
    project_store_iati_key((*(Project *const *)b)->iati_identifier, kb, sizeof kb);
    return strcmp(ka, kb);
}

/* ---- comparing ---------------------------------------------------------------- */

/* The cache listings read through (msgcache.h): small, so that slots are
 * shared and the clock empties some. */
static msgcache *listing_cache;

/* Row i of a page, unpacked; its key must be the project's IATI key. */
static Project *page_row(const page_rows *rows, size_t i)
{
    size_t start = i ? rows->ends[i - 1] : 0;
    Project *p =
        compact__projects__v1__project__unpack(NULL, rows->ends[i] - start, rows->data + start);
    char key[512];

    assert_non_null(p);
    project_store_iati_key(p->iati_identifier, key, sizeof key);
    assert_string_equal(rows->keys[i], key);
    return p;
}

/* Pages through project_store_list with `f` and compares every page with
 * the brute force over corpus[0..n): the ids, and the titles (a project
 * changed since it was kept must not come from the cache). Returns the
 * number of matches. */
static size_t compare_listing(store *st, Project **corpus, size_t n, const project_store_filter *f,
                              const char *what)
{
    Project **want = calloc(n, sizeof *want);
    size_t nwant = 0, at = 0;
    char after[512] = "";

    assert_non_null(want);
    for (size_t i = 0; i < n; i++)
        if (matches(corpus[i], f))
            want[nwant++] = corpus[i];
    qsort(want, nwant, sizeof *want, by_key);
    for (;;) {
        page_rows rows = {0};
        int rc = project_store_list(st, listing_cache, f, after, PAGE + 1, &rows);
        if (rc != 0)
            fail_msg("%s: project_store_list: %d", what, rc);
        size_t ngot = rows.n;
        size_t expect = nwant - at < PAGE + 1 ? nwant - at : PAGE + 1;
        if (ngot != expect)
            fail_msg("%s: page at %zu: %zu rows, expected %zu", what, at, ngot, expect);
        for (size_t i = 0; i < ngot; i++) {
            Project *got = page_row(&rows, i);
            if (strcmp(got->id, want[at + i]->id) != 0 ||
                strcmp(got->title, want[at + i]->title) != 0)
                fail_msg("%s: row %zu is %s (%s), expected %s (%s)", what, at + i, got->id,
                         got->title, want[at + i]->id, want[at + i]->title);
            project_store_free(got);
        }
        size_t page = ngot < PAGE ? ngot : PAGE;
        if (page > 0)
            snprintf(after, sizeof after, "%s", rows.keys[page - 1]);
        page_rows_free(&rows);
        at += page;
        if (ngot <= PAGE)
            break;
    }
    assert_int_equal(at, nwant);
    free(want);
    return nwant;
}

static void compare_all(store *st, Project **corpus, size_t n)
{
    static const char *const texts[] = {"border",
                                        "BORDER SEC",
                                        "security",
                                        "terrorist travel",
                                        "y v",
                                        "ca",
                                        "a",
                                        "zz1",
                                        "zz17q",
                                        "zz399q",
                                        "nothing like it",
                                        "\"quoted\"",
                                        "\"",
                                        "café",
                                        "CAFÉ",
                                        "é",
                                        "api/pnr",
                                        "r\nc",
                                        "legal aid",
                                        "ity\nweap",
                                        "gender",
                                        "xq",
                                        "rare-xq",
                                        "ism"};
    size_t total = 0;
    char what[160];

    for (size_t g = 0; g <= 6; g++)
        for (int status = 0; status <= 6; status += 3) {
            project_store_filter f = {.working_group_id = g < 6 ? groups[g] : "",
                                      .entity_id = "",
                                      .country = "",
                                      .status = status,
                                      .text = ""};
            snprintf(what, sizeof what, "group %zu status %d", g, status);
            total += compare_listing(st, corpus, n, &f, what);
        }
    for (size_t e = 0; e < 9; e++) {
        project_store_filter f = {
            .working_group_id = "", .entity_id = entities[e], .country = "", .text = ""};
        total += compare_listing(st, corpus, n, &f, entities[e]);
    }
    for (size_t c = 0; c < 8; c++)
        for (int pillar = 0; pillar <= 3; pillar += 3) {
            project_store_filter f = {.working_group_id = "",
                                      .entity_id = "",
                                      .country = countries[c],
                                      .pillar = pillar,
                                      .text = ""};
            total += compare_listing(st, corpus, n, &f, countries[c]);
        }
    for (int pillar = 1; pillar <= 4; pillar++) {
        project_store_filter f = {
            .working_group_id = "", .entity_id = "", .country = "", .pillar = pillar, .text = ""};
        total += compare_listing(st, corpus, n, &f, "pillar");
    }
    for (size_t t = 0; t < sizeof texts / sizeof texts[0]; t++) {
        project_store_filter f = {
            .working_group_id = "", .entity_id = "", .country = "", .text = texts[t]};
        snprintf(what, sizeof what, "text \"%s\"", texts[t]);
        total += compare_listing(st, corpus, n, &f, what);
        f.working_group_id = groups[t % 6];
        snprintf(what, sizeof what, "text \"%s\", group", texts[t]);
        total += compare_listing(st, corpus, n, &f, what);
        f.working_group_id = "";
        f.entity_id = entities[t % 9];
        f.status = (int)(t % 7);
        snprintf(what, sizeof what, "text \"%s\", entity, status", texts[t]);
        total += compare_listing(st, corpus, n, &f, what);
    }
    assert_true(total > n);
}

static void insert_all(store *st, Project **corpus, size_t n)
{
    assert_int_equal(store_begin(st), 0);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(project_store_insert(st, corpus[i]), 0);
    assert_int_equal(store_commit(st), 0);
}

/* Changes every seventh project: its text, groups and status; and records
 * the version as project_store_update needs it. */
static void change_some(store *st, Project **corpus, size_t n)
{
    assert_int_equal(store_begin(st), 0);
    for (size_t i = 0; i < n; i += 7) {
        Project *cur = NULL;
        int64_t version;
        assert_int_equal(project_store_get(st, corpus[i]->id, &cur, &version), 0);
        project_store_free(cur);
        randomize(corpus[i]);
        assert_int_equal(project_store_update(st, corpus[i], version), 0);
        if (i % 2 == 0) /* a body-only change on top: nothing listed moves */
            assert_int_equal(project_store_update_body(st, corpus[i], version + 1), 0);
    }
    assert_int_equal(store_commit(st), 0);
}

static Project **corpus_new(size_t n)
{
    Project **v = calloc(n, sizeof *v);

    assert_non_null(v);
    for (size_t i = 0; i < n; i++)
        v[i] = new_project((int)i);
    return v;
}

static void corpus_free(Project **v, size_t n)
{
    project_store_free_list(v, n);
}

/* ---- tests ---------------------------------------------------------------------- */

static void test_listings_match_brute_force(void **state)
{
    Project **corpus = corpus_new(N_PROJECTS);
    store *st = NULL;

    (void)state;
    assert_int_equal(store_open(":memory:", "projects", project_store_migrations,
                                project_store_migrations_count, &st),
                     0);
    insert_all(st, corpus, N_PROJECTS);
    compare_all(st, corpus, N_PROJECTS);
    change_some(st, corpus, N_PROJECTS);
    compare_all(st, corpus, N_PROJECTS);
    store_close(st);
    corpus_free(corpus, N_PROJECTS);
}

/* The same listings read through a cache of packed projects, twice, with
 * every seventh project changed in between: pages come from the cache, and
 * never a version it kept of a project since changed. */
static void test_listings_through_the_cache(void **state)
{
    Project **corpus = corpus_new(N_PROJECTS);
    store *st = NULL;

    (void)state;
    assert_int_equal(msgcache_new(64, 256 << 10, &listing_cache), 0);
    assert_int_equal(store_open(":memory:", "projects", project_store_migrations,
                                project_store_migrations_count, &st),
                     0);
    insert_all(st, corpus, N_PROJECTS);
    compare_all(st, corpus, N_PROJECTS);
    msgcache_stats first = msgcache_get_stats(listing_cache);
    assert_true(first.hits > 0 && first.misses > 0);
    assert_true(first.entries > 0 && first.bytes <= 256 << 10);
    change_some(st, corpus, N_PROJECTS);
    compare_all(st, corpus, N_PROJECTS);
    assert_true(msgcache_get_stats(listing_cache).hits > first.hits);
    store_close(st);
    corpus_free(corpus, N_PROJECTS);
    msgcache_free(listing_cache);
    listing_cache = NULL;
}

/* Gives the stored project `id` a new title, in a write of its own
 * (released into the loop turn's batch). */
static void retitle(store *st, const char *id, const char *title)
{
    Project *cur = NULL;
    int64_t version;

    assert_int_equal(store_begin(st), 0);
    assert_int_equal(project_store_get(st, id, &cur, &version), 0);
    assert_int_equal(pbstr_set(&cur->title, title), 0);
    assert_int_equal(project_store_update(st, cur, version), 0);
    assert_int_equal(store_commit(st), 0);
    project_store_free(cur);
}

/* The title `id` is listed with (every project on one page). */
static const char *listed_title(store *st, const char *id)
{
    static char title[256];
    page_rows rows = {0};
    project_store_filter any = {0};

    title[0] = '\0';
    assert_int_equal(project_store_list(st, listing_cache, &any, "", 100, &rows), 0);
    for (size_t i = 0; i < rows.n; i++) {
        Project *p = page_row(&rows, i);
        if (strcmp(p->id, id) == 0)
            snprintf(title, sizeof title, "%s", p->title);
        project_store_free(p);
    }
    page_rows_free(&rows);
    return title;
}

static void faults(const char *spec)
{
    if (spec)
        setenv("COMPACT_FAULTS", spec, 1);
    else
        unsetenv("COMPACT_FAULTS");
    assert_int_equal(fault_init(), 0);
}

/* A project listed while a change of it waits in the turn's open batch is
 * not kept: had its COMMIT failed, the next change would reach the same
 * version with other content, and pages would show a change that never
 * happened. */
static void test_a_listing_keeps_nothing_a_failed_commit_undoes(void **state)
{
    char dir[] = "/tmp/compact-list-XXXXXX", path[64];
    Project **corpus = corpus_new(3);
    uv_loop_t loop;
    store *st = NULL;

    (void)state;
    assert_non_null(mkdtemp(dir));
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(msgcache_new(64, 1 << 20, &listing_cache), 0);
    assert_int_equal(
        store_open(dir, "projects", project_store_migrations, project_store_migrations_count, &st),
        0);
    store_use_loop(st, &loop);
    insert_all(st, corpus, 3);
    uv_run(&loop, UV_RUN_NOWAIT); /* the batch commits */

    retitle(st, corpus[0]->id, "Never happened");
    assert_int_equal(store_uncommitted(st), 1);
    assert_string_equal(listed_title(st, corpus[0]->id), "Never happened");
    faults("store.batch_commit");
    uv_run(&loop, UV_RUN_NOWAIT); /* the COMMIT is refused: the change is undone */
    faults(NULL);
    Project *now = NULL;
    assert_int_equal(project_store_get(st, corpus[0]->id, &now, NULL), 0);
    assert_string_equal(now->title, corpus[0]->title);
    project_store_free(now);

    retitle(st, corpus[0]->id, "Happened"); /* the same version as the undone change */
    uv_run(&loop, UV_RUN_NOWAIT);
    assert_int_equal(store_uncommitted(st), 0);
    assert_string_equal(listed_title(st, corpus[0]->id), "Happened");
    assert_string_equal(listed_title(st, corpus[0]->id), "Happened"); /* kept now */
    assert_true(msgcache_get_stats(listing_cache).hits > 0);

    store_close(st);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
    static const char *const files[] = {"projects.db", "projects.db-wal", "projects.db-shm"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    assert_int_equal(rmdir(dir), 0);
    corpus_free(corpus, 3);
    msgcache_free(listing_cache);
    listing_cache = NULL;
}

/* The first schema's writes, as the service made them before migration 4
 * (migrations 2 and 3 changed only transactions). */
static const char V1_INSERT[] =
    "INSERT INTO projects (id, iati_identifier, iati_key, title, status, start_date,"
    " end_date, search_text, create_time_ms, update_time_ms, version, body)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 1, ?11)";

static void v1_exec(store *st, const char *sql, const char *a, const char *b)
{
    sqlite3_stmt *s = store_stmt(st, sql);

    assert_non_null(s);
    sqlite3_bind_text(s, 1, a, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, b, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(s), SQLITE_DONE);
    sqlite3_reset(s);
}

static void v1_insert(store *st, Project *p)
{
    char key[512], text[2048];
    sqlite3_stmt *s = store_stmt(st, V1_INSERT);
    size_t len = compact__projects__v1__project__get_packed_size(p);
    uint8_t *body = malloc(len + 1);

    assert_non_null(s);
    assert_non_null(body);
    compact__projects__v1__project__pack(p, body);
    project_store_iati_key(p->iati_identifier, key, sizeof key);
    snprintf(text, sizeof text, "%s\n%s\n", p->title, p->summary);
    for (size_t i = 0; i < p->n_themes; i++) {
        strcat(text, p->themes[i]);
        strcat(text, "\n");
    }
    pbstr_lower_ascii(text, text, sizeof text);
    sqlite3_bind_text(s, 1, p->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, p->iati_identifier, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, p->title, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 5, (int)p->status);
    sqlite3_bind_text(s, 6, p->start_date, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 7, p->end_date, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 8, text, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 9, pbtime_ms(p->create_time));
    sqlite3_bind_int64(s, 10, pbtime_ms(p->update_time));
    sqlite3_bind_blob(s, 11, body, (int)len, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(s), SQLITE_DONE);
    sqlite3_reset(s);
    free(body);
    for (size_t i = 0; i < p->n_working_group_ids; i++)
        v1_exec(st, "INSERT OR IGNORE INTO project_groups (group_id, project_id) VALUES (?1, ?2)",
                p->working_group_ids[i], p->id);
    for (size_t i = 0; i < p->n_participants; i++)
        v1_exec(st,
                "INSERT OR IGNORE INTO project_entities (entity_id, project_id) VALUES (?1, ?2)",
                p->participants[i]->entity_id, p->id);
    for (size_t i = 0; i < p->n_recipient_countries; i++)
        v1_exec(st, "INSERT OR IGNORE INTO project_countries (country, project_id) VALUES (?1, ?2)",
                p->recipient_countries[i], p->id);
    for (size_t i = 0; i < p->n_pillars; i++) {
        char pillar[8];
        snprintf(pillar, sizeof pillar, "%d", (int)p->pillars[i]);
        v1_exec(st,
                "INSERT OR IGNORE INTO project_pillars (pillar, project_id)"
                " VALUES (CAST(?1 AS INTEGER), ?2)",
                pillar, p->id);
    }
}

/* A database at schema `from` (1, or 3: the last before the indexes of
 * migration 4), written as the service then wrote it, upgraded. */
static void upgrade_from(size_t from)
{
    char dir[] = "/tmp/test_project_list.XXXXXX";
    size_t old_n = N_PROJECTS / 2;
    Project **corpus = corpus_new(N_PROJECTS);
    store *st = NULL;
    char path[256];

    assert_non_null(mkdtemp(dir));
    assert_int_equal(store_open(dir, "projects", project_store_migrations, from, &st), 0);
    assert_int_equal(store_schema_version(st, "projects"), (int)from);
    assert_int_equal(store_begin(st), 0);
    for (size_t i = 0; i < old_n; i++)
        v1_insert(st, corpus[i]);
    assert_int_equal(store_commit(st), 0);
    store_close(st);

    assert_int_equal(
        store_open(dir, "projects", project_store_migrations, project_store_migrations_count, &st),
        0);
    assert_int_equal(store_schema_version(st, "projects"), (int)project_store_migrations_count);
    compare_all(st, corpus, old_n);
    /* The old rows are read and changed by the new code; new rows join. */
    insert_all(st, corpus + old_n, N_PROJECTS - old_n);
    change_some(st, corpus, N_PROJECTS);
    compare_all(st, corpus, N_PROJECTS);
    store_close(st);
    corpus_free(corpus, N_PROJECTS);
    snprintf(path, sizeof path, "%s/projects.db", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/projects.db-wal", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/projects.db-shm", dir);
    unlink(path);
    rmdir(dir);
}

static void test_upgrade_from_first_schema(void **state)
{
    (void)state;
    upgrade_from(1);
}

static void test_upgrade_from_third_schema(void **state)
{
    (void)state;
    upgrade_from(3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_listings_match_brute_force),
        cmocka_unit_test(test_listings_through_the_cache),
        cmocka_unit_test(test_a_listing_keeps_nothing_a_failed_commit_undoes),
        cmocka_unit_test(test_upgrade_from_first_schema),
        cmocka_unit_test(test_upgrade_from_third_schema),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

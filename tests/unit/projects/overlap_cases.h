/* overlap_cases.h: projects from a short description, and the realistic
 * cases of docs/OVERLAPS.md (the seed projects and the drafts of
 * tests/integration/test_projects.py), shared by test_overlap.c (the
 * documented rules) and test_overlap_ranking.c (the index against the old
 * brute force). Static definitions in a header, because the unit tests of a
 * service are single files (tests/CMakeLists.txt builds each test_*.c
 * alone); include it once per test. Needs cmocka and overlap.h first. */
#ifndef COMPACT_TEST_OVERLAP_CASES_H
#define COMPACT_TEST_OVERLAP_CASES_H

#include <stdlib.h>
#include <string.h>

typedef Compact__Projects__V1__Project Project;
typedef Compact__Projects__V1__Participant Participant;

#define S_PIPELINE COMPACT__PROJECTS__V1__ACTIVITY_STATUS__ACTIVITY_STATUS_PIPELINE
#define S_IMPLEMENTATION COMPACT__PROJECTS__V1__ACTIVITY_STATUS__ACTIVITY_STATUS_IMPLEMENTATION
#define S_FINALISATION COMPACT__PROJECTS__V1__ACTIVITY_STATUS__ACTIVITY_STATUS_FINALISATION
#define S_CLOSED COMPACT__PROJECTS__V1__ACTIVITY_STATUS__ACTIVITY_STATUS_CLOSED
#define S_CANCELLED COMPACT__PROJECTS__V1__ACTIVITY_STATUS__ACTIVITY_STATUS_CANCELLED
#define S_SUSPENDED COMPACT__PROJECTS__V1__ACTIVITY_STATUS__ACTIVITY_STATUS_SUSPENDED

/* ---- projects from a short description ---------------------------------- */

#define MAXV 12

/* A project or draft: NULL-terminated lists, 0-terminated pillars. An
 * unset iati_identifier is the id. */
typedef struct spec {
    const char *id, *iati, *title, *summary;
    const char *groups[MAXV], *partners[MAXV], *countries[MAXV], *themes[MAXV];
    int global;
    int pillars[5];
    const char *start, *end;
    int status;
} spec;

static char *xstrdup(const char *s)
{
    char *c = strdup(s);

    assert_non_null(c);
    return c;
}

static size_t list_count(const char *const *v)
{
    size_t n = 0;

    while (n < MAXV && v[n])
        n++;
    return n;
}

static char **list_copy(const char *const *v, size_t *n)
{
    char **out;

    *n = list_count(v);
    if (*n == 0)
        return NULL;
    out = calloc(*n, sizeof *out);
    assert_non_null(out);
    for (size_t i = 0; i < *n; i++)
        out[i] = xstrdup(v[i]);
    return out;
}

/* A Project owning all its memory: free with project_free. */
static Project *project_build(const spec *s)
{
    Project *p = malloc(sizeof *p);
    size_t n;

    assert_non_null(p);
    compact__projects__v1__project__init(p);
    if (s->id)
        p->id = xstrdup(s->id);
    if (s->iati || s->id)
        p->iati_identifier = xstrdup(s->iati ? s->iati : s->id);
    if (s->title)
        p->title = xstrdup(s->title);
    if (s->summary)
        p->summary = xstrdup(s->summary);
    if (s->start)
        p->start_date = xstrdup(s->start);
    if (s->end)
        p->end_date = xstrdup(s->end);
    p->working_group_ids = list_copy(s->groups, &p->n_working_group_ids);
    p->recipient_countries = list_copy(s->countries, &p->n_recipient_countries);
    p->themes = list_copy(s->themes, &p->n_themes);
    p->global_scope = s->global;
    p->status = s->status;
    n = list_count(s->partners);
    if (n > 0) {
        p->participants = calloc(n, sizeof *p->participants);
        assert_non_null(p->participants);
        for (size_t i = 0; i < n; i++) {
            Participant *x = malloc(sizeof *x);
            assert_non_null(x);
            compact__projects__v1__participant__init(x);
            x->entity_id = xstrdup(s->partners[i]);
            x->role =
                i == 0 ? COMPACT__PROJECTS__V1__ORGANISATION_ROLE__ORGANISATION_ROLE_ACCOUNTABLE
                       : COMPACT__PROJECTS__V1__ORGANISATION_ROLE__ORGANISATION_ROLE_IMPLEMENTING;
            p->participants[i] = x;
            p->n_participants++;
        }
    }
    for (n = 0; n < 5 && s->pillars[n]; n++)
        ;
    if (n > 0) {
        p->pillars = malloc(n * sizeof *p->pillars);
        assert_non_null(p->pillars);
        for (size_t i = 0; i < n; i++)
            p->pillars[i] = (Compact__Projects__V1__StrategyPillar)s->pillars[i];
        p->n_pillars = n;
    }
    return p;
}

static void project_free(Project *p)
{
    protobuf_c_message_free_unpacked(&p->base, NULL);
}

/* ---- the realistic cases of docs/OVERLAPS.md ------------------------------ */

/* The seed projects (seed/projects/projects.json), ids made up; an entity
 * that holds two roles is listed twice, as in the seed. */
static const spec seed[] = {
    {.id = "prj_cttp",
     .iati = "XM-COMPACT-CTTP",
     .title = "UN Countering Terrorist Travel Programme",
     .summary = "Helps Member States detect and counter the travel of terrorists and serious "
                "criminals by building their capacity to collect, analyse and share Advance "
                "Passenger Information (API) and Passenger Name Record (PNR) data, in line "
                "with Security Council resolutions 2178, 2396 and 2482, with the goTravel "
                "software, legislative assistance, training and passenger information units.",
     .groups = {"wg_bmle"},
     .partners = {"ent_unoct", "ent_unoct", "ent_cted", "ent_unodc", "ent_icao", "ent_unoict",
                  "ent_interpol", "ent_iom"},
     .global = 1,
     .pillars = {2, 3},
     .themes = {"terrorist travel", "API/PNR", "border security", "aviation security"},
     .start = "2019-05-07",
     .status = S_IMPLEMENTATION},
    {.id = "prj_scr2370",
     .iati = "XM-COMPACT-SCR2370-GUIDELINES",
     .title = "Technical Guidelines to facilitate the implementation of Security Council "
              "resolution 2370 (2017)",
     .summary = "Technical guidelines and regional workshops to help Member States prevent "
                "terrorists from acquiring weapons, implementing Security Council resolution "
                "2370 and related good practices on small arms and light weapons, explosives "
                "and border controls.",
     .groups = {"wg_bmle"},
     .partners = {"ent_cted", "ent_unoct", "ent_unoct", "ent_unidir"},
     .global = 1,
     .pillars = {2, 3},
     .themes = {"weapons", "resolution 2370", "small arms and light weapons"},
     .start = "2022-03-18",
     .end = "2023-12-31",
     .status = S_FINALISATION},
    {.id = "prj_cip",
     .iati = "XM-COMPACT-CIP-COMPENDIUM",
     .title = "Compendium of Good Practices on the Protection of Critical Infrastructure "
              "against Terrorist Attacks",
     .summary = "A compendium of good practices to help Member States protect critical "
                "infrastructure, such as energy, transport and water systems, against "
                "terrorist attacks, including vulnerable targets and cyber threats, under "
                "Security Council resolution 2341.",
     .groups = {"wg_etcip"},
     .partners = {"ent_unoct", "ent_unoct", "ent_cted", "ent_interpol"},
     .global = 1,
     .pillars = {2, 3},
     .themes = {"critical infrastructure", "soft targets", "resolution 2341"},
     .start = "2017-06-01",
     .end = "2018-12-31",
     .status = S_CLOSED},
    {.id = "prj_measuring",
     .iati = "XM-COMPACT-MEASURING-RESULTS",
     .title = "Compendium of Good Practices for Measuring Results in Counter-Terrorism and "
              "Preventing Violent Extremism",
     .summary = "Good practices, methods and tools to monitor and evaluate counter-terrorism "
                "and PVE programmes and to measure their results, for UN entities and Member "
                "States.",
     .groups = {"wg_rmme"},
     .partners = {"ent_unoct", "ent_unoct", "ent_unicri", "ent_unodc"},
     .global = 1,
     .pillars = {3},
     .themes = {"monitoring and evaluation", "results measurement"},
     .start = "2021-09-01",
     .end = "2023-06-20",
     .status = S_CLOSED},
    {.id = "prj_meta",
     .iati = "XM-COMPACT-EVALUATION-META-SYNTHESIS",
     .title = "Meta-synthesis of evaluations of UN counter-terrorism work under the Global "
              "Counter-Terrorism Strategy",
     .summary = "A meta-synthesis of 118 evaluation reports of UN counter-terrorism and PVE "
                "projects across the four pillars of the Strategy, drawing lessons on what "
                "works for programming and evaluation.",
     .groups = {"wg_rmme"},
     .partners = {"ent_unicri", "ent_unicri", "ent_unodc", "ent_unoct"},
     .global = 1,
     .pillars = {1, 2, 3, 4},
     .themes = {"evaluation", "lessons learned"},
     .start = "2020-01-01",
     .end = "2021-12-31",
     .status = S_CLOSED},
    {.id = "prj_pve_sea",
     .iati = "XM-COMPACT-PVE-SOUTH-EAST-ASIA",
     .title = "Preventing violent extremism in South-East Asia",
     .summary = "A partnership of the European Union, UNDP and UNOCT to prevent violent "
                "extremism conducive to terrorism in South-East Asia, with national action "
                "plans, community resilience, and the participation of women and youth.",
     .groups = {"wg_pcve"},
     .partners = {"ent_undp", "ent_undp", "ent_unoct"},
     .countries = {"ID", "MY", "PH", "TH"},
     .pillars = {1},
     .themes = {"PVE", "national action plans", "community resilience"},
     .start = "2020-01-01",
     .end = "2023-12-31",
     .status = S_IMPLEMENTATION},
    {.id = "prj_victims",
     .iati = "XM-COMPACT-VICTIMS-MODEL-PROVISIONS",
     .title = "Model legislative provisions to support the needs and protect the rights of "
              "victims of terrorism",
     .summary = "Model legislative provisions and an explanatory commentary to help "
                "parliaments and governments adopt comprehensive laws that support the needs "
                "and protect the rights of victims of terrorism.",
     .groups = {"wg_hrrl"},
     .partners = {"ent_unoct", "ent_unoct", "ent_unodc", "ent_ipu"},
     .global = 1,
     .pillars = {1, 4},
     .themes = {"victims of terrorism", "legislation", "parliaments"},
     .start = "2019-09-01",
     .end = "2020-07-31",
     .status = S_CLOSED},
};
#define SEED_COUNT (sizeof seed / sizeof seed[0])

/* The drafts of tests/integration/test_projects.py: three that repeat a
 * seed project, two that none does. */
static const spec draft_travel = {
    .title = "Countering terrorist travel: API and PNR passenger data systems in East Africa",
    .summary = "Builds the capacity of border agencies to collect and analyse Advance "
               "Passenger Information and Passenger Name Record data to detect terrorist "
               "travel, with goTravel and passenger information units.",
    .groups = {"wg_bmle"},
    .partners = {"ent_unoct", "ent_icao", "ent_interpol"},
    .countries = {"KE", "UG", "ET"},
    .pillars = {2, 3},
    .start = "2024-01-01",
    .end = "2026-12-31",
    .themes = {"API/PNR", "terrorist travel"},
};
static const spec draft_weapons = {
    .title = "Preventing terrorists from acquiring weapons: regional workshops on the "
             "resolution 2370 guidelines",
    .summary = "Regional workshops with Member States on the technical guidelines to "
               "implement Security Council resolution 2370 on preventing terrorists from "
               "acquiring weapons, small arms and explosives.",
    .groups = {"wg_bmle"},
    .partners = {"ent_cted", "ent_unidir"},
    .global = 1,
    .pillars = {2},
    .start = "2023-01-01",
    .end = "2024-06-30",
};
static const spec draft_infrastructure = {
    .title = "Good practices for protecting critical infrastructure against terrorist attacks",
    .summary = "Updating the compendium of good practices on the protection of critical "
               "infrastructure such as energy and transport systems against terrorist attacks.",
    .groups = {"wg_etcip"},
    .partners = {"ent_unoct", "ent_interpol"},
    .global = 1,
    .pillars = {2, 3},
    .start = "2018-01-01",
    .end = "2019-12-31",
};
static const spec draft_gender = {
    .title = "Gender-sensitive approaches for women police officers in the Sahel",
    .summary = "Mentoring and leadership training for women in national police forces, and "
               "gender analysis of counter-terrorism strategies.",
    .groups = {"wg_gender"},
    .partners = {"ent_unwomen"},
    .countries = {"ML", "NE", "BF"},
    .pillars = {4},
    .start = "2024-01-01",
    .end = "2025-12-31",
    .themes = {"gender"},
};
static const spec draft_maritime = {
    .title = "Maritime security of ports against piracy and smuggling",
    .summary = "Port facility security assessments and ship inspections with coast guards.",
    .partners = {"ent_imo"},
    .countries = {"SO", "YE"},
    .pillars = {3},
    .start = "2025-01-01",
};

#endif

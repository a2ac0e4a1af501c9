/* projects.c: `compactctl projects|overlaps|funding|indicator ...`, the client
 * of compact.projects.v1.Projects.
 *
 *   projects list|get|create|update   the joint projects
 *   overlaps                          FindOverlaps for a project or a JSON draft
 *   funding record                    RecordTransaction
 *   indicator report                  ReportIndicatorValue
 *
 * Money is typed as people write it ("1250000.50") and turned into minor
 * units by string arithmetic with the currency's number of decimals: never
 * through a floating point number.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "compact/projects/v1/projects.pb-c.h"
#include "pbjson.h"

typedef Compact__Projects__V1__Project pj_project;
typedef Compact__Projects__V1__FundingTotals pj_totals;
typedef Compact__Projects__V1__Overlap pj_overlap;

static const char projects_service[] = "projects";
static const ProtobufCServiceDescriptor *const projects_svc =
    &compact__projects__v1__projects__descriptor;

/* ---- names and numbers as people type them ------------------------------ */

/* The value of enum `desc` named `s`: its full name ("ACTIVITY_STATUS_CLOSED"),
 * the name without `prefix` ("closed", any case, '-' for '_'), or its number. */
static int projects_enum(const ProtobufCEnumDescriptor *desc, const char *prefix, const char *s,
                         int *out)
{
    char name[96];
    size_t n = strlen(prefix);
    char *end;
    long v = strtol(s, &end, 10);

    if (end != s && *end == '\0' && protobuf_c_enum_descriptor_get_value(desc, (int)v)) {
        *out = (int)v;
        return v ? 0 : -EINVAL;
    }
    snprintf(name, sizeof name, "%s%s", strncasecmp(s, prefix, n) == 0 ? "" : prefix, s);
    for (char *p = name; *p; p++)
        *p = *p == '-' ? '_' : (char)(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
    const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value_by_name(desc, name);
    if (!ev || ev->value == 0)
        return -EINVAL;
    *out = ev->value;
    return 0;
}

/* The short name of an enum value ("closed"), or "-". */
static const char *projects_enum_name(const ProtobufCEnumDescriptor *desc, const char *prefix,
                                      int value, char *buf, size_t len)
{
    const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(desc, value);
    size_t n = strlen(prefix);

    if (!ev || value == 0)
        return "-";
    snprintf(buf, len, "%s", strncmp(ev->name, prefix, n) == 0 ? ev->name + n : ev->name);
    for (char *p = buf; *p; p++)
        *p = *p == '_' ? '-' : (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
    return buf;
}

/* ISO 4217 decimals: the few currencies without two (the service has the
 * full list and refuses unknown codes). */
static int projects_decimals(const char *currency)
{
    static const char zero[] =
        "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF";
    static const char three[] = "BHD IQD JOD KWD LYD OMR TND";

    if (strlen(currency) != 3)
        return 2;
    if (strstr(zero, currency))
        return 0;
    if (strstr(three, currency))
        return 3;
    return strcmp(currency, "CLF") == 0 || strcmp(currency, "UYW") == 0 ? 4 : 2;
}

/* "-1234.5" in `currency` -> minor units, by digits: 0 or -EINVAL. */
static int projects_parse_amount(const char *s, const char *currency, int64_t *out)
{
    int decimals = projects_decimals(currency), frac = -1, neg = *s == '-';
    int64_t v = 0;
    const char *p = s + (neg || *s == '+');

    if (*p == '\0')
        return -EINVAL;
    for (; *p; p++) {
        if (*p == '.' && frac < 0) {
            frac = 0;
            continue;
        }
        if (*p == ',' && frac < 0)
            continue; /* thousands separators */
        if (*p < '0' || *p > '9' || (frac >= 0 && ++frac > decimals) || v > INT64_MAX / 100)
            return -EINVAL;
        v = v * 10 + (*p - '0');
    }
    for (int i = frac < 0 ? 0 : frac; i < decimals; i++) {
        if (v > INT64_MAX / 10)
            return -EINVAL;
        v *= 10;
    }
    *out = neg ? -v : v;
    return 0;
}

/* "USD 1,250,000.50" from minor units. */
static void projects_money(const char *currency, int64_t minor, char *buf, size_t len)
{
    int d = projects_decimals(currency);
    uint64_t a = minor < 0 ? (uint64_t)0 - (uint64_t)minor : (uint64_t)minor, scale = 1;
    char whole[40], grouped[60];

    for (int i = 0; i < d; i++)
        scale *= 10;
    int n = snprintf(whole, sizeof whole, "%llu", (unsigned long long)(a / scale)), at = 0;
    for (int i = 0; i < n; i++) {
        if (i && (n - i) % 3 == 0)
            grouped[at++] = ',';
        grouped[at++] = whole[i];
    }
    grouped[at] = '\0';
    if (d)
        snprintf(buf, len, "%s %s%s.%0*llu", currency, minor < 0 ? "-" : "", grouped, d,
                 (unsigned long long)(a % scale));
    else
        snprintf(buf, len, "%s %s%s", currency, minor < 0 ? "-" : "", grouped);
}

/* ---- printing ------------------------------------------------------------ */

static char *projects_join(char **v, size_t n)
{
    size_t len = 1;
    for (size_t i = 0; i < n; i++)
        len += strlen(v[i]) + 2;
    char *s = malloc(len);
    if (!s)
        return NULL;
    s[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (i)
            strcat(s, ", ");
        strcat(s, v[i]);
    }
    return s;
}

/* The extra lines of a project: totals, one per currency, and indicators. */
static void projects_print_tracking(const pj_project *p)
{
    char a[48], b[48], r[48], c[48], d[48], st[32];

    for (size_t i = 0; i < p->n_totals; i++) {
        const pj_totals *t = p->totals[i];
        projects_money(t->currency, t->pledged_minor, a, sizeof a);
        projects_money(t->currency, t->committed_minor, b, sizeof b);
        projects_money(t->currency, t->received_minor, r, sizeof r);
        projects_money(t->currency, t->disbursed_minor, c, sizeof c);
        projects_money(t->currency, t->spent_minor, d, sizeof d);
        printf("funding %s: pledged %s, committed %s, received %s, disbursed %s, spent %s\n",
               t->currency, a, b, r, c, d);
    }
    for (size_t k = 0; k < p->n_results; k++) {
        for (size_t i = 0; i < p->results[k]->n_indicators; i++) {
            const Compact__Projects__V1__Indicator *ind = p->results[k]->indicators[i];
            printf("indicator %s: %s [%s]\n", ind->id, ind->title,
                   projects_enum_name(&compact__projects__v1__indicator_state__descriptor,
                                      "INDICATOR_STATE_", (int)ind->state, st, sizeof st));
        }
    }
}

static void projects_print_fields(const pj_project *p)
{
    char status[32], budget[64] = "", created[32], updated[32], pillars[32] = "";
    char *groups = projects_join(p->working_group_ids, p->n_working_group_ids);
    char *countries = projects_join(p->recipient_countries, p->n_recipient_countries);
    char *themes = projects_join(p->themes, p->n_themes);
    static const char *const roman[] = {"", "I", "II", "III", "IV"};

    for (size_t i = 0; i < p->n_pillars; i++) {
        if (p->pillars[i] >= 1 && p->pillars[i] <= 4)
            snprintf(pillars + strlen(pillars), sizeof pillars - strlen(pillars), "%s%s",
                     i ? ", " : "", roman[p->pillars[i]]);
    }
    if (p->budget)
        projects_money(p->budget->currency, p->budget->amount_minor, budget, sizeof budget);
    char nparts[16], ntx[16];
    snprintf(nparts, sizeof nparts, "%zu", p->n_participants);
    snprintf(ntx, sizeof ntx, "%zu", p->n_transactions);
    const char *names[] = {
        "id",          "iati_identifier", "title",        "status",     "working_groups",
        "countries",   "pillars",         "themes",       "start_date", "end_date",
        "budget",      "participants",    "transactions", "verified",   "etag",
        "create_time", "update_time"};
    const char *values[] = {
        p->id,
        p->iati_identifier,
        p->title,
        projects_enum_name(&compact__projects__v1__activity_status__descriptor, "ACTIVITY_STATUS_",
                           (int)p->status, status, sizeof status),
        groups,
        p->global_scope ? "global" : countries,
        pillars,
        themes,
        p->start_date,
        p->end_date[0] ? p->end_date : "open",
        budget[0] ? budget : NULL,
        nparts,
        ntx,
        p->verified ? "yes" : "no",
        p->etag,
        output_time(p->create_time, created, sizeof created),
        output_time(p->update_time, updated, sizeof updated),
    };
    output_table *t = output_table_new(NULL, 2);
    for (size_t i = 0; t && i < sizeof names / sizeof names[0]; i++)
        output_table_field(t, names[i], values[i]);
    if (t)
        output_table_print(t, stdout);
    output_table_free(t);
    projects_print_tracking(p);
    free(groups);
    free(countries);
    free(themes);
}

static int projects_print(cli_ctx *ctx, const pj_project *p)
{
    if (ctx->json)
        return output_json(pbjson_from_message(&p->base));
    projects_print_fields(p);
    return CLI_EXIT_OK;
}

/* A table of overlaps: score, duplicate mark, IATI identifier, title, and
 * the factors that contributed, largest first. */
static void projects_print_overlaps(FILE *out, pj_overlap **v, size_t n)
{
    static const char *const headers[] = {"SCORE", "DUPLICATE", "IATI", "TITLE", "REASONS"};
    output_table *t = output_table_new(headers, 5);
    char fname[32];

    for (size_t i = 0; t && i < n; i++) {
        char score[16], reasons[256] = "";
        snprintf(score, sizeof score, "%.2f", v[i]->score);
        for (size_t r = 0; r < v[i]->n_reasons; r++) {
            size_t at = strlen(reasons);
            snprintf(reasons + at, sizeof reasons - at, "%s%s %.2f", r ? ", " : "",
                     projects_enum_name(&compact__projects__v1__overlap_factor__descriptor,
                                        "OVERLAP_FACTOR_", (int)v[i]->reasons[r]->factor, fname,
                                        sizeof fname),
                     v[i]->reasons[r]->similarity);
        }
        const char *cells[] = {score, v[i]->likely_duplicate ? "likely" : "-",
                               v[i]->iati_identifier, v[i]->title, reasons};
        output_table_add(t, cells);
    }
    if (t)
        output_table_print(t, out);
    output_table_free(t);
}

/* Calls a method that answers with a Project and prints it. */
static int projects_call_print(cli_ctx *ctx, const char *method, const ProtobufCMessage *req)
{
    call_result res;
    int rc = cli_call(ctx, projects_service, projects_svc, method, req, &res);
    if (rc != 0)
        return rc;
    rc = projects_print(ctx, (const pj_project *)res.reply);
    call_result_clear(&res);
    return rc;
}

static int projects_one_arg(cli_ctx *ctx, int argc, char **argv, const char *what, const char **arg)
{
    if (argc - optind != 1)
        return cli_usage_error(ctx, argc - optind > 1 ? "expected one %s" : "missing %s", what);
    *arg = argv[optind];
    return 0;
}

/* ---- projects list ------------------------------------------------------- */

static const struct option projects_list_opts[] = {
    {"group", required_argument, NULL, 'g'},
    {"entity", required_argument, NULL, 'e'},
    {"country", required_argument, NULL, 'c'},
    {"pillar", required_argument, NULL, 'P'},
    {"status", required_argument, NULL, 's'},
    {"text", required_argument, NULL, 'x'},
    {"page-size", required_argument, NULL, 'p'},
    {"page-token", required_argument, NULL, 't'},
    {"all", no_argument, NULL, 'a'},
    {0},
};

static int projects_list_flag(cli_ctx *ctx, Compact__Projects__V1__ListProjectsRequest *req,
                              int *all, int c, char *v)
{
    int value;
    char *end;

    switch (c) {
    case 'g':
        req->working_group_id = v;
        return 0;
    case 'e':
        req->entity_id = v;
        return 0;
    case 'c':
        req->country = v;
        return 0;
    case 'x':
        req->text = v;
        return 0;
    case 't':
        req->page_token = v;
        return 0;
    case 'a':
        *all = 1;
        return 0;
    case 'P':
        if (projects_enum(&compact__projects__v1__strategy_pillar__descriptor, "STRATEGY_PILLAR_",
                          v, &value) != 0)
            return cli_usage_error(ctx, "--pillar: expected I, II, III or IV, got \"%s\"", v);
        req->pillar = value;
        return 0;
    case 's':
        if (projects_enum(&compact__projects__v1__activity_status__descriptor, "ACTIVITY_STATUS_",
                          v, &value) != 0)
            return cli_usage_error(ctx,
                                   "--status: expected pipeline, implementation, "
                                   "finalisation, closed, cancelled or suspended, got \"%s\"",
                                   v);
        req->status = value;
        return 0;
    default: /* 'p' */
        value = (int)strtol(v, &end, 10);
        if (end == v || *end || value < 1 || value > 1000)
            return cli_usage_error(ctx, "--page-size: expected 1 to 1000, got \"%s\"", v);
        req->page_size = value;
        return 0;
    }
}

static int projects_list_add(json_t *array, output_table *table, const pj_project *p)
{
    char status[32];

    if (array)
        return json_array_append_new(array, pbjson_from_message(&p->base));
    const char *cells[] = {p->id,
                           p->iati_identifier,
                           projects_enum_name(&compact__projects__v1__activity_status__descriptor,
                                              "ACTIVITY_STATUS_", (int)p->status, status,
                                              sizeof status),
                           p->start_date,
                           p->end_date[0] ? p->end_date : "open",
                           p->title};
    return output_table_add(table, cells);
}

static int projects_cmd_list(cli_ctx *ctx, int argc, char **argv)
{
    Compact__Projects__V1__ListProjectsRequest req =
        COMPACT__PROJECTS__V1__LIST_PROJECTS_REQUEST__INIT;
    static const char *const headers[] = {"ID", "IATI", "STATUS", "START", "END", "TITLE"};
    int all = 0, c, rc = 0;
    char *token = NULL;

    while ((c = cli_getopt(ctx, argc, argv, projects_list_opts)) != -1) {
        if (c < 0)
            return cli_getopt_stop(ctx, c);
        if ((rc = projects_list_flag(ctx, &req, &all, c, optarg)) != 0)
            return rc;
    }
    if (optind < argc)
        return cli_usage_error(ctx, "unexpected argument \"%s\"", argv[optind]);
    json_t *array = ctx->json ? json_array() : NULL;
    output_table *table = ctx->json ? NULL : output_table_new(headers, 6);
    if (!array && !table)
        return output_json(NULL);
    for (;;) {
        call_result res;
        if ((rc = cli_call(ctx, projects_service, projects_svc, "ListProjects", &req.base, &res)) !=
            0)
            break;
        const Compact__Projects__V1__ListProjectsResponse *page = (const void *)res.reply;
        for (size_t i = 0; i < page->n_projects; i++)
            projects_list_add(array, table, page->projects[i]);
        free(token);
        token = page->next_page_token[0] ? strdup(page->next_page_token) : NULL;
        call_result_clear(&res);
        if (!token || !all)
            break;
        req.page_token = token;
    }
    if (rc == 0 && token && !all)
        fprintf(stderr,
                "compactctl: more projects; next page: --page-token %s "
                "(or --all for every page)\n",
                token);
    if (rc == 0 && array)
        rc = output_json(json_incref(array));
    else if (rc == 0)
        output_table_print(table, stdout);
    free(token);
    json_decref(array);
    output_table_free(table);
    return rc;
}

/* ---- projects get -------------------------------------------------------- */

static const struct option projects_no_opts[] = {{0}};

static int projects_cmd_get(cli_ctx *ctx, int argc, char **argv)
{
    Compact__Projects__V1__GetProjectRequest req = COMPACT__PROJECTS__V1__GET_PROJECT_REQUEST__INIT;
    const char *key = NULL;
    int c;

    while ((c = cli_getopt(ctx, argc, argv, projects_no_opts)) != -1)
        return cli_getopt_stop(ctx, c);
    if (projects_one_arg(ctx, argc, argv, "ID or IATI identifier", &key) != 0)
        return CLI_EXIT_USAGE;
    if (strncmp(key, "prj_", 4) == 0) {
        req.key_case = COMPACT__PROJECTS__V1__GET_PROJECT_REQUEST__KEY_ID;
        req.id = (char *)key;
    } else {
        req.key_case = COMPACT__PROJECTS__V1__GET_PROJECT_REQUEST__KEY_IATI_IDENTIFIER;
        req.iati_identifier = (char *)key;
    }
    return projects_call_print(ctx, "GetProject", &req.base);
}

/* ---- projects create ----------------------------------------------------- */

static const struct option projects_create_opts[] = {
    {"from-json", required_argument, NULL, 'F'},
    {0},
};

/* A CreateProjectRequest from JSON holding one ({"project": ...}) or a
 * Project. Caller frees; NULL with the reason in err. */
static ProtobufCMessage *projects_create_from_json(const json_t *json, char *err, size_t len)
{
    if (json_object_get(json, "project"))
        return pbjson_to_message(&compact__projects__v1__create_project_request__descriptor, json,
                                 err, len);
    ProtobufCMessage *p =
        pbjson_to_message(&compact__projects__v1__project__descriptor, json, err, len);
    Compact__Projects__V1__CreateProjectRequest *req = p ? malloc(sizeof *req) : NULL;
    if (!req) {
        if (p)
            snprintf(err, len, "out of memory");
        protobuf_c_message_free_unpacked(p, NULL);
        return NULL;
    }
    compact__projects__v1__create_project_request__init(req);
    req->project = (pj_project *)p;
    return &req->base;
}

static int projects_cmd_create(cli_ctx *ctx, int argc, char **argv)
{
    const char *path = NULL;
    char err[256];
    int c;

    while ((c = cli_getopt(ctx, argc, argv, projects_create_opts)) != -1) {
        if (c != 'F')
            return cli_getopt_stop(ctx, c);
        path = optarg;
    }
    if (!path || optind < argc)
        return cli_usage_error(ctx, "give --from-json FILE (or - for standard input)");
    json_t *json = cli_read_json(path);
    if (!json)
        return CLI_EXIT_FAIL;
    int is_object = json_is_object(json);
    ProtobufCMessage *req = is_object ? projects_create_from_json(json, err, sizeof err) : NULL;
    json_decref(json);
    if (!req) {
        fprintf(stderr, "compactctl: %s: %s\n", path,
                is_object ? err : "expected a JSON object (a CreateProjectRequest or a Project)");
        return CLI_EXIT_FAIL;
    }
    call_result res;
    int rc = cli_call(ctx, projects_service, projects_svc, "CreateProject", req, &res);
    protobuf_c_message_free_unpacked(req, NULL);
    if (rc != 0)
        return rc;
    const Compact__Projects__V1__CreateProjectResponse *rep = (const void *)res.reply;
    if (ctx->json) {
        rc = output_json(pbjson_from_message(res.reply));
    } else {
        projects_print_fields(rep->project);
        if (rep->n_likely_duplicates) {
            fprintf(stderr,
                    "compactctl: warning: %zu existing project(s) look like "
                    "duplicates of this one:\n",
                    rep->n_likely_duplicates);
            projects_print_overlaps(stderr, rep->likely_duplicates, rep->n_likely_duplicates);
        }
    }
    call_result_clear(&res);
    return rc;
}

/* ---- projects update ----------------------------------------------------- */

enum { UPD_TITLE = 'T', UPD_SUMMARY = 'S', UPD_STATUS = 's', UPD_END = 'E', UPD_ETAG = 'e' };

static const struct option projects_update_opts[] = {
    {"title", required_argument, NULL, UPD_TITLE},
    {"summary", required_argument, NULL, UPD_SUMMARY},
    {"status", required_argument, NULL, UPD_STATUS},
    {"end-date", required_argument, NULL, UPD_END},
    {"etag", required_argument, NULL, UPD_ETAG},
    {0},
};

static int projects_cmd_update(cli_ctx *ctx, int argc, char **argv)
{
    pj_project p = COMPACT__PROJECTS__V1__PROJECT__INIT;
    Compact__Projects__V1__UpdateProjectRequest req =
        COMPACT__PROJECTS__V1__UPDATE_PROJECT_REQUEST__INIT;
    Google__Protobuf__FieldMask mask = GOOGLE__PROTOBUF__FIELD_MASK__INIT;
    char *paths[4];
    const char *id = NULL;
    int c, status;

    mask.paths = paths;
    while ((c = cli_getopt(ctx, argc, argv, projects_update_opts)) != -1) {
        switch (c) {
        case UPD_TITLE:
            p.title = optarg;
            paths[mask.n_paths++] = "title";
            break;
        case UPD_SUMMARY:
            p.summary = optarg;
            paths[mask.n_paths++] = "summary";
            break;
        case UPD_END:
            p.end_date = optarg;
            paths[mask.n_paths++] = "end_date";
            break;
        case UPD_ETAG:
            req.etag = optarg;
            break;
        case UPD_STATUS:
            if (projects_enum(&compact__projects__v1__activity_status__descriptor,
                              "ACTIVITY_STATUS_", optarg, &status) != 0)
                return cli_usage_error(ctx, "--status: unknown status \"%s\"", optarg);
            p.status = status;
            paths[mask.n_paths++] = "status";
            break;
        default:
            return cli_getopt_stop(ctx, c);
        }
        if (mask.n_paths == 4)
            return cli_usage_error(ctx, "give each field flag once");
    }
    if (projects_one_arg(ctx, argc, argv, "project ID", &id) != 0)
        return CLI_EXIT_USAGE;
    if (mask.n_paths == 0)
        return cli_usage_error(ctx, "nothing to update: give at least one field flag");
    p.id = (char *)id;
    req.project = &p;
    req.update_mask = &mask;
    return projects_call_print(ctx, "UpdateProject", &req.base);
}

/* ---- overlaps ------------------------------------------------------------ */

static const struct option projects_overlaps_opts[] = {
    {"draft-json", required_argument, NULL, 'D'},
    {"limit", required_argument, NULL, 'l'},
    {"min-score", required_argument, NULL, 'm'},
    {"include-closed", no_argument, NULL, 'i'},
    {0},
};

static int projects_overlaps_call(cli_ctx *ctx, Compact__Projects__V1__FindOverlapsRequest *req)
{
    call_result res;
    int rc = cli_call(ctx, projects_service, projects_svc, "FindOverlaps", &req->base, &res);

    if (rc != 0)
        return rc;
    const Compact__Projects__V1__FindOverlapsResponse *rep = (const void *)res.reply;
    if (ctx->json)
        rc = output_json(pbjson_from_message(res.reply));
    else
        projects_print_overlaps(stdout, rep->overlaps, rep->n_overlaps);
    call_result_clear(&res);
    return rc;
}

static int projects_cmd_overlaps(cli_ctx *ctx, int argc, char **argv)
{
    Compact__Projects__V1__FindOverlapsRequest req =
        COMPACT__PROJECTS__V1__FIND_OVERLAPS_REQUEST__INIT;
    const char *draft = NULL;
    char *end, err[256];
    int c, rc;

    while ((c = cli_getopt(ctx, argc, argv, projects_overlaps_opts)) != -1) {
        switch (c) {
        case 'D':
            draft = optarg;
            break;
        case 'i':
            req.include_closed = 1;
            break;
        case 'l':
            req.limit = (int32_t)strtol(optarg, &end, 10);
            if (end == optarg || *end || req.limit < 1 || req.limit > 100)
                return cli_usage_error(ctx, "--limit: expected 1 to 100, got \"%s\"", optarg);
            break;
        case 'm':
            req.min_score = strtod(optarg, &end);
            if (end == optarg || *end || req.min_score < 0 || req.min_score > 1)
                return cli_usage_error(ctx, "--min-score: expected 0 to 1, got \"%s\"", optarg);
            break;
        default:
            return cli_getopt_stop(ctx, c);
        }
    }
    if ((draft != NULL) == (optind < argc) || argc - optind > 1)
        return cli_usage_error(ctx, "give one project ID, or --draft-json FILE");
    if (!draft) {
        req.subject_case = COMPACT__PROJECTS__V1__FIND_OVERLAPS_REQUEST__SUBJECT_PROJECT_ID;
        req.project_id = argv[optind];
        return projects_overlaps_call(ctx, &req);
    }
    json_t *json = cli_read_json(draft);
    if (!json)
        return CLI_EXIT_FAIL;
    ProtobufCMessage *p =
        pbjson_to_message(&compact__projects__v1__project__descriptor, json, err, sizeof err);
    json_decref(json);
    if (!p) {
        fprintf(stderr, "compactctl: %s: %s\n", draft, err);
        return CLI_EXIT_FAIL;
    }
    req.subject_case = COMPACT__PROJECTS__V1__FIND_OVERLAPS_REQUEST__SUBJECT_DRAFT;
    req.draft = (pj_project *)p;
    rc = projects_overlaps_call(ctx, &req);
    protobuf_c_message_free_unpacked(p, NULL);
    return rc;
}

/* ---- funding record ------------------------------------------------------ */

static const struct option projects_funding_opts[] = {
    {"type", required_argument, NULL, 't'},
    {"date", required_argument, NULL, 'd'},
    {"amount", required_argument, NULL, 'a'},
    {"currency", required_argument, NULL, 'c'},
    {"provider", required_argument, NULL, 'p'},
    {"provider-entity", required_argument, NULL, 'P'},
    {"catalytic", no_argument, NULL, 'k'},
    {"description", required_argument, NULL, 'D'},
    {"etag", required_argument, NULL, 'e'},
    {"provider-org-ref", required_argument, NULL, 'R'},
    {"provider-org-name", required_argument, NULL, 'N'},
    {"provider-org-type", required_argument, NULL, 'O'},
    {0},
};

/* Says which of the provider flags was given first, so that a second kind
 * of provider is a usage error rather than a silent overwrite. */
static int projects_provider_kind(cli_ctx *ctx, int *kind, int c)
{
    int k = c == 'p' ? 1 : c == 'P' ? 2 : 3;
    if (*kind && *kind != k)
        return cli_usage_error(ctx, "give one provider: --provider, --provider-entity or "
                                    "--provider-org-*");
    *kind = k;
    return 0;
}

static int projects_cmd_funding(cli_ctx *ctx, int argc, char **argv)
{
    Compact__Projects__V1__Transaction t = COMPACT__PROJECTS__V1__TRANSACTION__INIT;
    Compact__Projects__V1__Money value = COMPACT__PROJECTS__V1__MONEY__INIT;
    Compact__Projects__V1__RecordTransactionRequest req =
        COMPACT__PROJECTS__V1__RECORD_TRANSACTION_REQUEST__INIT;
    Compact__Projects__V1__Organisation org = COMPACT__PROJECTS__V1__ORGANISATION__INIT;
    const char *amount = NULL, *id = NULL;
    int c, type, provider = 0;

    while ((c = cli_getopt(ctx, argc, argv, projects_funding_opts)) != -1) {
        if ((c == 'p' || c == 'P' || c == 'R' || c == 'N' || c == 'O') &&
            projects_provider_kind(ctx, &provider, c) != 0)
            return CLI_EXIT_USAGE;
        switch (c) {
        case 't':
            if (projects_enum(&compact__projects__v1__transaction_type__descriptor,
                              "TRANSACTION_TYPE_", optarg, &type) != 0)
                return cli_usage_error(ctx,
                                       "--type: expected an IATI transaction type such "
                                       "as incoming-pledge, incoming-commitment, "
                                       "disbursement, expenditure or its code, got \"%s\"",
                                       optarg);
            t.type = type;
            break;
        case 'd':
            t.date = optarg;
            break;
        case 'a':
            amount = optarg;
            break;
        case 'c':
            value.currency = optarg;
            break;
        case 'k':
            t.catalytic = 1;
            break;
        case 'D':
            t.description = optarg;
            break;
        case 'e':
            req.etag = optarg;
            break;
        case 'p':
            t.provider_case = COMPACT__PROJECTS__V1__TRANSACTION__PROVIDER_PROVIDER_NAME;
            t.provider_name = optarg;
            break;
        case 'P':
            t.provider_case = COMPACT__PROJECTS__V1__TRANSACTION__PROVIDER_PROVIDER_ENTITY_ID;
            t.provider_entity_id = optarg;
            break;
        case 'R':
            org.ref = optarg;
            break;
        case 'N':
            org.name = optarg;
            break;
        case 'O':
            if (projects_enum(&compact__projects__v1__organisation_type__descriptor,
                              "ORGANISATION_TYPE_", optarg, &type) != 0)
                return cli_usage_error(ctx,
                                       "--provider-org-type: expected an IATI organisation "
                                       "type such as government, multilateral, foundation or "
                                       "its code (10, 40, 60), got \"%s\"",
                                       optarg);
            org.type = type;
            break;
        default:
            return cli_getopt_stop(ctx, c);
        }
    }
    if (provider == 3 && !org.name[0])
        return cli_usage_error(ctx, "--provider-org-name is required with --provider-org-ref "
                                    "and --provider-org-type");
    if (provider == 3) {
        t.provider_case = COMPACT__PROJECTS__V1__TRANSACTION__PROVIDER_PROVIDER_ORG;
        t.provider_org = &org;
    }
    if (projects_one_arg(ctx, argc, argv, "project ID", &id) != 0)
        return CLI_EXIT_USAGE;
    if (!t.type || !t.date[0] || !amount || !value.currency[0])
        return cli_usage_error(ctx, "--type, --date, --amount and --currency are required");
    if (projects_parse_amount(amount, value.currency, &value.amount_minor) != 0)
        return cli_usage_error(ctx,
                               "--amount: expected a number with at most %d decimals "
                               "for %s, got \"%s\"",
                               projects_decimals(value.currency), value.currency, amount);
    t.value = &value;
    req.project_id = (char *)id;
    req.transaction = &t;
    return projects_call_print(ctx, "RecordTransaction", &req.base);
}

/* ---- indicator report ---------------------------------------------------- */

static const struct option projects_indicator_opts[] = {
    {"start", required_argument, NULL, 's'},  {"end", required_argument, NULL, 'E'},
    {"actual", required_argument, NULL, 'a'}, {"target", required_argument, NULL, 't'},
    {"etag", required_argument, NULL, 'e'},   {0},
};

static int projects_cmd_indicator(cli_ctx *ctx, int argc, char **argv)
{
    Compact__Projects__V1__ReportIndicatorValueRequest req =
        COMPACT__PROJECTS__V1__REPORT_INDICATOR_VALUE_REQUEST__INIT;
    Compact__Projects__V1__IndicatorValue actual = COMPACT__PROJECTS__V1__INDICATOR_VALUE__INIT;
    Compact__Projects__V1__IndicatorValue target = COMPACT__PROJECTS__V1__INDICATOR_VALUE__INIT;
    char *end;
    int c;

    while ((c = cli_getopt(ctx, argc, argv, projects_indicator_opts)) != -1) {
        switch (c) {
        case 's':
            req.period_start = optarg;
            break;
        case 'E':
            req.period_end = optarg;
            break;
        case 'e':
            req.etag = optarg;
            break;
        case 'a':
        case 't': {
            Compact__Projects__V1__IndicatorValue *v = c == 'a' ? &actual : &target;
            v->value = strtod(optarg, &end); /* a measurement, not money */
            if (end == optarg || *end)
                return cli_usage_error(ctx, "--%s: expected a number, got \"%s\"",
                                       c == 'a' ? "actual" : "target", optarg);
            if (c == 'a')
                req.actual = v;
            else
                req.target = v;
            break;
        }
        default:
            return cli_getopt_stop(ctx, c);
        }
    }
    if (argc - optind != 2)
        return cli_usage_error(ctx, "expected a project ID and an indicator ID");
    if (!req.period_start[0] || !req.period_end[0] || (!req.actual && !req.target))
        return cli_usage_error(ctx, "--start, --end and --actual or --target are required");
    req.project_id = argv[optind];
    req.indicator_id = argv[optind + 1];
    return projects_call_print(ctx, "ReportIndicatorValue", &req.base);
}

/* ---- the table ----------------------------------------------------------- */

const cli_command projects_commands[] = {
    {.group = "projects",
     .verb = "list",
     .fn = projects_cmd_list,
     .summary = "list joint projects (filters; a table, or --json)",
     .usage = "projects list [--group WG_ID] [--entity ENT_ID] [--country CC]\n"
              "                [--pillar I|II|III|IV] [--status S] [--text T]\n"
              "                [--page-size N] [--page-token T] [--all]\n\n"
              "Lists projects ordered by IATI identifier: a table (ID, IATI, STATUS, START,\n"
              "END, TITLE) or, with --json, a JSON array. Statuses: pipeline,\n"
              "implementation, finalisation, closed, cancelled, suspended.\n"},
    {.group = "projects",
     .verb = "get",
     .fn = projects_cmd_get,
     .summary = "show one project by id or IATI identifier",
     .usage = "projects get ID|IATI_IDENTIFIER\n\n"
              "Shows a project with its funding totals and indicator states. An argument\n"
              "starting with \"prj_\" is an id, anything else an IATI identifier.\n"},
    {.group = "projects",
     .verb = "create",
     .fn = projects_cmd_create,
     .summary = "add a project from a JSON file; warns of likely duplicates",
     .usage = "projects create --from-json FILE|-\n\n"
              "Creates a project from a CreateProjectRequest or a Project in proto3 JSON\n"
              "and prints it; existing projects that look like duplicates are listed on\n"
              "standard error as a warning (the project is created all the same).\n"},
    {.group = "projects",
     .verb = "update",
     .fn = projects_cmd_update,
     .summary = "change a project's title, summary, status or end date",
     .usage = "projects update ID [--title T] [--summary S] [--status S] [--end-date D]\n"
              "                [--etag E]\n\n"
              "Changes only the fields given. With --etag, a stale etag is refused with\n"
              "ABORTED.\n"},
    {.group = "overlaps",
     .fn = projects_cmd_overlaps,
     .summary = "projects that overlap a project or a draft, ranked",
     .usage = "overlaps PROJECT_ID | --draft-json FILE [--limit N] [--min-score X]\n"
              "                [--include-closed]\n\n"
              "Ranks existing projects by how much they overlap the project (or the draft\n"
              "Project in proto3 JSON): SCORE, DUPLICATE (likely), IATI, TITLE and the\n"
              "factors behind the score. See docs/OVERLAPS.md.\n"},
    {.group = "funding",
     .verb = "record",
     .fn = projects_cmd_funding,
     .summary = "record a funding transaction of a project",
     .usage = "funding record PROJECT_ID --type T --date YYYY-MM-DD --amount 1250000.50\n"
              "                --currency USD [--provider-entity ENT_ID\n"
              "                | --provider-org-name NAME [--provider-org-ref REF]\n"
              "                  [--provider-org-type TYPE] | --provider NAME]\n"
              "                [--catalytic] [--description T] [--etag E]\n\n"
              "Types are IATI's: incoming-pledge, incoming-commitment, incoming-funds,\n"
              "disbursement, expenditure, ... or their codes (13, 11, 1, 3, 4). The amount\n"
              "is in the currency's major unit; a negative amount is a correction.\n"
              "The provider is a Compact entity, or an organisation outside the Compact\n"
              "named as IATI names it: its organisation identifier (\"XM-DAC-7\",\n"
              "\"XI-IATI-EC_FPI\"), name and IATI organisation type (government,\n"
              "multilateral, other-public-sector, foundation, ... or the code). --provider\n"
              "names a donor by free text only (older form).\n"},
    {.group = "indicator",
     .verb = "report",
     .fn = projects_cmd_indicator,
     .summary = "report an indicator's actual or target value for a period",
     .usage = "indicator report PROJECT_ID INDICATOR_ID --start YYYY-MM-DD --end YYYY-MM-DD\n"
              "                [--actual X] [--target X] [--etag E]\n\n"
              "Sets the values of the period with these dates, or adds the period.\n"},
    {0},
};

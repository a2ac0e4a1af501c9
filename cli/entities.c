/* entities.c: `compactctl entities ...`, the client of compact.membership.v1.
 *
 * list, get, count, create, update and withdraw. Entity flags (--name,
 * --affiliation, --period, --focal ...) are shared by create and update
 * through an entities_draft: the Entity being built plus the storage its
 * pointers need, and for update the update_mask paths named by the flags
 * given.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "compact/membership/v1/membership.pb-c.h"
#include "pbjson.h"

typedef Compact__Membership__V1__Entity mb_entity;
typedef Compact__Membership__V1__FocalPoint mb_focal;
typedef Compact__Membership__V1__Participation mb_period;
typedef Compact__Common__V1__Provenance mb_fact;

#define ENTITIES_MAX_FOCAL 32
#define ENTITIES_MAX_PERIODS 20
#define ENTITIES_MAX_PATHS 12

static const char entities_service[] = "membership";
static const ProtobufCServiceDescriptor *const entities_svc =
    &compact__membership__v1__membership__descriptor;

/* ---- enums as people type them ----------------------------------------- */

typedef struct entities_name {
    const char *name;
    int value;
} entities_name;

static const entities_name entities_kinds[] = {
    {"un", COMPACT__MEMBERSHIP__V1__ENTITY_KIND__ENTITY_KIND_UN_ENTITY},
    {"non-un", COMPACT__MEMBERSHIP__V1__ENTITY_KIND__ENTITY_KIND_NON_UN_MEMBER},
    {"observer", COMPACT__MEMBERSHIP__V1__ENTITY_KIND__ENTITY_KIND_OBSERVER},
    {NULL, 0},
};

static const entities_name entities_affiliations[] = {
    {"un", COMPACT__MEMBERSHIP__V1__AFFILIATION__AFFILIATION_UN_SYSTEM},
    {"non-un", COMPACT__MEMBERSHIP__V1__AFFILIATION__AFFILIATION_NON_UN},
    {NULL, 0},
};

static const entities_name entities_roles[] = {
    {"member", COMPACT__MEMBERSHIP__V1__PARTICIPATION_ROLE__PARTICIPATION_ROLE_MEMBER},
    {"observer", COMPACT__MEMBERSHIP__V1__PARTICIPATION_ROLE__PARTICIPATION_ROLE_OBSERVER},
    {NULL, 0},
};

static const entities_name entities_fact_statuses[] = {
    {"confirmed", COMPACT__COMMON__V1__FACT_STATUS__FACT_STATUS_CONFIRMED},
    {"assumed", COMPACT__COMMON__V1__FACT_STATUS__FACT_STATUS_ASSUMED},
    {NULL, 0},
};

static const entities_name entities_statuses[] = {
    {"active", COMPACT__MEMBERSHIP__V1__ENTITY_STATUS__ENTITY_STATUS_ACTIVE},
    {"withdrawn", COMPACT__MEMBERSHIP__V1__ENTITY_STATUS__ENTITY_STATUS_WITHDRAWN},
    {NULL, 0},
};

/* A short name ("non-un") or the enum's own name ("ENTITY_KIND_OBSERVER"). */
static int entities_name_parse(const entities_name *names, const ProtobufCEnumDescriptor *desc,
                               const char *s, int *out)
{
    for (const entities_name *n = names; n->name; n++) {
        if (strcasecmp(n->name, s) == 0) {
            *out = n->value;
            return 0;
        }
    }
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value_by_name(desc, s);
    if (!v || v->value == 0)
        return -EINVAL;
    *out = v->value;
    return 0;
}

static const char *entities_name_of(const entities_name *names, int value)
{
    for (const entities_name *n = names; n->name; n++)
        if (n->value == value)
            return n->name;
    return "unspecified";
}

static int entities_parse_kind(cli_ctx *ctx, const char *s, int *out)
{
    if (entities_name_parse(entities_kinds, &compact__membership__v1__entity_kind__descriptor, s,
                            out) == 0)
        return 0;
    return cli_usage_error(ctx, "--kind: expected un, non-un or observer, got \"%s\"", s);
}

static int entities_parse_affiliation(cli_ctx *ctx, const char *s, int *out)
{
    if (entities_name_parse(entities_affiliations,
                            &compact__membership__v1__affiliation__descriptor, s, out) == 0)
        return 0;
    return cli_usage_error(ctx, "--affiliation: expected un or non-un, got \"%s\"", s);
}

static int entities_parse_role(cli_ctx *ctx, const char *flag, const char *s, int *out)
{
    if (entities_name_parse(entities_roles,
                            &compact__membership__v1__participation_role__descriptor, s, out) == 0)
        return 0;
    return cli_usage_error(ctx, "%s: expected member or observer, got \"%s\"", flag, s);
}

/* ---- printing ------------------------------------------------------------ */

/* "member 2018-02-23 .. 2021-10-01" or "observer 2022-04-01 .." */
static const char *entities_period_text(const mb_period *p, char *buf, size_t size)
{
    snprintf(buf, size, "%s %s ..%s%s", entities_name_of(entities_roles, p->role), p->from_date,
             p->to_date[0] ? " " : "", p->to_date);
    return buf;
}

/* One line per fact: "<field>: confirmed (<publisher>, <title>, <date>,
 * <url>)" or "<field>: assumed: <note>"; `scope` prefixes period facts. */
static void entities_print_facts(output_table *t, const char *scope, mb_fact *const *v, size_t n)
{
    char line[4096];
    for (size_t i = 0; i < n; i++) {
        const mb_fact *f = v[i];
        const Compact__Common__V1__Source *src = f->source;
        int used = snprintf(line, sizeof line, "%s%s: %s", scope, f->field,
                            entities_name_of(entities_fact_statuses, f->status));
        if (used >= 0 && (size_t)used < sizeof line && src)
            used += snprintf(line + used, sizeof line - (size_t)used, " (%s, %s, %s, %s)",
                             src->publisher, src->title, src->date, src->url);
        if (used >= 0 && (size_t)used < sizeof line && f->note[0])
            snprintf(line + used, sizeof line - (size_t)used, ": %s", f->note);
        output_table_field(t, "fact", line);
    }
}

/* Field lines; the focal points get one line each, "Name | Title | email". */
static int entities_print_fields(const mb_entity *e)
{
    char created[32], updated[32], withdrawn[32], focal[1024], period[96], scope[40];
    output_table *t = output_table_new(NULL, 2);
    if (!t)
        return output_oom();
    output_table_field(t, "id", e->id);
    output_table_field(t, "acronym", e->acronym);
    output_table_field(t, "name", e->name);
    output_table_field(t, "kind", entities_name_of(entities_kinds, e->kind));
    output_table_field(t, "affiliation", entities_name_of(entities_affiliations, e->affiliation));
    output_table_field(t, "status", entities_name_of(entities_statuses, e->status));
    output_table_field(t, "joined_on", e->joined_on[0] ? e->joined_on : NULL);
    for (size_t i = 0; i < e->n_participation; i++)
        output_table_field(t, "participation",
                           entities_period_text(e->participation[i], period, sizeof period));
    entities_print_facts(t, "", e->provenance, e->n_provenance);
    for (size_t i = 0; i < e->n_participation; i++) {
        snprintf(scope, sizeof scope, "participation[%zu].", i);
        entities_print_facts(t, scope, e->participation[i]->provenance,
                             e->participation[i]->n_provenance);
    }
    output_table_field(t, "verified", e->verified ? "yes" : "no");
    output_table_field(t, "source_note", e->source_note[0] ? e->source_note : NULL);
    for (size_t i = 0; i < e->n_focal_points; i++) {
        const mb_focal *f = e->focal_points[i];
        snprintf(focal, sizeof focal, "%s | %s | %s", f->name, f->title, f->email);
        output_table_field(t, "focal_point", focal);
    }
    output_table_field(t, "etag", e->etag);
    output_table_field(t, "create_time", output_time(e->create_time, created, sizeof created));
    output_table_field(t, "update_time", output_time(e->update_time, updated, sizeof updated));
    if (e->withdraw_time)
        output_table_field(t, "withdraw_time",
                           output_time(e->withdraw_time, withdrawn, sizeof withdrawn));
    int rc = output_table_print(t, stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
    output_table_free(t);
    return rc;
}

static int entities_print(cli_ctx *ctx, const mb_entity *e)
{
    if (ctx->json)
        return output_json(pbjson_from_message(&e->base));
    return entities_print_fields(e);
}

/* Calls a method that answers with an Entity and prints it. */
static int entities_call_print(cli_ctx *ctx, const char *method, const ProtobufCMessage *req)
{
    call_result res;
    int rc = cli_call(ctx, entities_service, entities_svc, method, req, &res);
    if (rc != 0)
        return rc;
    rc = entities_print(ctx, (const mb_entity *)res.reply);
    call_result_clear(&res);
    return rc;
}

/* ---- entities list -------------------------------------------------------- */

typedef struct entities_list_args {
    Compact__Membership__V1__ListEntitiesRequest req;
    int all;
} entities_list_args;

/* Where listed entities go: a JSON array or a table. */
typedef struct entities_sink {
    json_t *array;
    output_table *table;
} entities_sink;

static const struct option entities_list_opts[] = {
    {"kind", required_argument, NULL, 'k'},
    {"status", required_argument, NULL, 's'},
    {"affiliation", required_argument, NULL, 'f'},
    {"as-of", required_argument, NULL, 'o'},
    {"role", required_argument, NULL, 'r'},
    {"page-size", required_argument, NULL, 'p'},
    {"page-token", required_argument, NULL, 't'},
    {"all", no_argument, NULL, 'a'},
    {0},
};

static int entities_list_flag(cli_ctx *ctx, entities_list_args *a, int c, const char *v)
{
    int value = 0;
    char *end;
    switch (c) {
    case 'k':
        if (entities_parse_kind(ctx, v, &value) != 0)
            return CLI_EXIT_USAGE;
        a->req.kind = value;
        return 0;
    case 's':
        if (entities_name_parse(entities_statuses,
                                &compact__membership__v1__entity_status__descriptor, v,
                                &value) != 0)
            return cli_usage_error(ctx, "--status: expected active or withdrawn, got \"%s\"", v);
        a->req.status = value;
        return 0;
    case 'p':
        value = (int)strtol(v, &end, 10);
        if (end == v || *end || value < 1 || value > 1000)
            return cli_usage_error(ctx, "--page-size: expected 1 to 1000, got \"%s\"", v);
        a->req.page_size = value;
        return 0;
    case 't':
        a->req.page_token = (char *)v;
        return 0;
    case 'f':
        if (entities_parse_affiliation(ctx, v, &value) != 0)
            return CLI_EXIT_USAGE;
        a->req.affiliation = value;
        return 0;
    case 'o':
        a->req.as_of_date = (char *)v;
        return 0;
    case 'r':
        if (entities_parse_role(ctx, "--role", v, &value) != 0)
            return CLI_EXIT_USAGE;
        a->req.role = value;
        return 0;
    default: /* 'a' */
        a->all = 1;
        return 0;
    }
}

static int entities_sink_add(entities_sink *sink, const mb_entity *e)
{
    if (sink->array)
        return json_array_append_new(sink->array, pbjson_from_message(&e->base));
    /* "-" rather than nothing, so that every row has all its columns. */
    const char *cells[] = {e->id,
                           e->acronym,
                           entities_name_of(entities_kinds, e->kind),
                           entities_name_of(entities_statuses, e->status),
                           e->joined_on[0] ? e->joined_on : "-",
                           e->verified ? "yes" : "no",
                           e->name};
    return output_table_add(sink->table, cells);
}

/* Fetches one page into the sink. Returns 0 and the next page token (caller
 * frees; NULL on the last page), or an exit status. */
static int entities_list_page(cli_ctx *ctx, entities_list_args *a, entities_sink *sink, char **next)
{
    call_result res;
    *next = NULL;
    int rc = cli_call(ctx, entities_service, entities_svc, "ListEntities", &a->req.base, &res);
    if (rc != 0)
        return rc;
    const Compact__Membership__V1__ListEntitiesResponse *page = (const void *)res.reply;
    for (size_t i = 0; i < page->n_entities && rc == 0; i++)
        if (entities_sink_add(sink, page->entities[i]) != 0)
            rc = CLI_EXIT_FAIL;
    if (page->next_page_token[0] && !(*next = strdup(page->next_page_token)))
        rc = CLI_EXIT_FAIL;
    call_result_clear(&res);
    return rc != 0 ? output_oom() : 0;
}

/* Pages through the list (all pages with --all). */
static int entities_list_fetch(cli_ctx *ctx, entities_list_args *a, entities_sink *sink)
{
    char *token = NULL, *next = NULL;
    int rc;
    while ((rc = entities_list_page(ctx, a, sink, &next)) == 0 && next && a->all) {
        if (token && strcmp(token, next) == 0) {
            fprintf(stderr, "compactctl: the server repeated page token %s\n", next);
            rc = CLI_EXIT_FAIL;
            break;
        }
        free(token);
        token = next;
        a->req.page_token = token;
    }
    if (rc == 0 && next && !a->all)
        fprintf(stderr,
                "compactctl: more entities; next page: --page-token %s "
                "(or --all for every page)\n",
                next);
    free(next); /* never token: each page sets next afresh */
    free(token);
    return rc;
}

static int entities_cmd_list(cli_ctx *ctx, int argc, char **argv)
{
    entities_list_args a = {.req = COMPACT__MEMBERSHIP__V1__LIST_ENTITIES_REQUEST__INIT};
    int c, rc;
    while ((c = cli_getopt(ctx, argc, argv, entities_list_opts)) != -1) {
        if (c < 0)
            return cli_getopt_stop(ctx, c);
        if ((rc = entities_list_flag(ctx, &a, c, optarg)) != 0)
            return rc;
    }
    if (optind < argc)
        return cli_usage_error(ctx, "unexpected argument \"%s\"", argv[optind]);
    static const char *const headers[] = {"ID",     "ACRONYM",  "KIND", "STATUS",
                                          "JOINED", "VERIFIED", "NAME"};
    entities_sink sink = {0};
    if (ctx->json)
        sink.array = json_array();
    else
        sink.table = output_table_new(headers, 7);
    if (!sink.array && !sink.table)
        return output_oom();
    rc = entities_list_fetch(ctx, &a, &sink);
    if (rc == 0 && sink.array)
        rc = output_json(json_incref(sink.array));
    else if (rc == 0 && output_table_print(sink.table, stdout) != 0)
        rc = CLI_EXIT_FAIL;
    json_decref(sink.array);
    output_table_free(sink.table);
    return rc;
}

/* ---- entities count -------------------------------------------------------- */

static const struct option entities_count_opts[] = {
    {"as-of", required_argument, NULL, 'o'},
    {0},
};

static int entities_cmd_count(cli_ctx *ctx, int argc, char **argv)
{
    Compact__Membership__V1__CountEntitiesRequest req =
        COMPACT__MEMBERSHIP__V1__COUNT_ENTITIES_REQUEST__INIT;
    call_result res;
    int c, rc;
    while ((c = cli_getopt(ctx, argc, argv, entities_count_opts)) != -1) {
        if (c != 'o')
            return cli_getopt_stop(ctx, c);
        req.as_of_date = optarg;
    }
    if (optind < argc)
        return cli_usage_error(ctx, "unexpected argument \"%s\"", argv[optind]);
    if ((rc = cli_call(ctx, entities_service, entities_svc, "CountEntities", &req.base, &res)) != 0)
        return rc;
    const Compact__Membership__V1__CountEntitiesResponse *r = (const void *)res.reply;
    if (ctx->json) {
        rc = output_json(pbjson_from_message(res.reply));
    } else {
        char v[6][16];
        const int32_t n[6] = {r->total,     r->members, r->observers,
                              r->un_system, r->non_un,  r->confirmed};
        static const char *const names[6] = {"total",     "members", "observers",
                                             "un_system", "non_un",  "confirmed"};
        output_table *t = output_table_new(NULL, 2);
        if (!t) {
            call_result_clear(&res);
            return output_oom();
        }
        output_table_field(t, "as_of_date", r->as_of_date);
        for (int i = 0; i < 6; i++) {
            snprintf(v[i], sizeof v[i], "%d", (int)n[i]);
            output_table_field(t, names[i], v[i]);
        }
        rc = output_table_print(t, stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
        output_table_free(t);
    }
    call_result_clear(&res);
    return rc;
}

/* ---- entities get ---------------------------------------------------------- */

static int entities_is_id(const char *key)
{
    return strncmp(key, "ent_", 4) == 0;
}

/* Exactly one positional argument, returned in *arg; else a usage error. */
static int entities_one_arg(cli_ctx *ctx, int argc, char **argv, const char *what, const char **arg)
{
    if (argc - optind != 1)
        return cli_usage_error(ctx, argc - optind ? "expected one %s" : "missing %s", what);
    *arg = argv[optind];
    return 0;
}

static const struct option entities_no_opts[] = {
    {0},
};

static int entities_cmd_get(cli_ctx *ctx, int argc, char **argv)
{
    int c;
    const char *key = NULL;
    while ((c = cli_getopt(ctx, argc, argv, entities_no_opts)) != -1)
        return cli_getopt_stop(ctx, c);
    if (entities_one_arg(ctx, argc, argv, "ID or ACRONYM", &key) != 0)
        return CLI_EXIT_USAGE;
    Compact__Membership__V1__GetEntityRequest req =
        COMPACT__MEMBERSHIP__V1__GET_ENTITY_REQUEST__INIT;
    if (entities_is_id(key)) {
        req.key_case = COMPACT__MEMBERSHIP__V1__GET_ENTITY_REQUEST__KEY_ID;
        req.id = (char *)key;
    } else {
        req.key_case = COMPACT__MEMBERSHIP__V1__GET_ENTITY_REQUEST__KEY_ACRONYM;
        req.acronym = (char *)key;
    }
    return entities_call_print(ctx, "GetEntity", &req.base);
}

/* ---- the entity flags of create and update --------------------------------- */

typedef struct entities_draft {
    mb_entity entity;
    mb_focal focal[ENTITIES_MAX_FOCAL];
    mb_focal *focal_ptrs[ENTITIES_MAX_FOCAL];
    mb_period period[ENTITIES_MAX_PERIODS];
    mb_period *period_ptrs[ENTITIES_MAX_PERIODS];
    char *paths[ENTITIES_MAX_PATHS]; /* update_mask, from the flags given */
    size_t n_paths;
    const char *etag;
    const char *from_json;
} entities_draft;

static void entities_draft_init(entities_draft *d)
{
    memset(d, 0, sizeof *d);
    compact__membership__v1__entity__init(&d->entity);
    d->entity.focal_points = d->focal_ptrs;
    d->entity.participation = d->period_ptrs;
}

static void entities_draft_mark(entities_draft *d, const char *path)
{
    for (size_t i = 0; i < d->n_paths; i++)
        if (strcmp(d->paths[i], path) == 0)
            return;
    if (d->n_paths < ENTITIES_MAX_PATHS)
        d->paths[d->n_paths++] = (char *)path;
}

static char *entities_trim(char *s)
{
    while (*s == ' ')
        s++;
    size_t n = strlen(s);
    while (n > 0 && s[n - 1] == ' ')
        s[--n] = '\0';
    return s;
}

/* "Name|Title|email", split in place (argv strings are ours to change). */
static int entities_draft_focal(cli_ctx *ctx, entities_draft *d, char *text)
{
    if (d->entity.n_focal_points == ENTITIES_MAX_FOCAL)
        return cli_usage_error(ctx, "--focal: at most %d focal points", ENTITIES_MAX_FOCAL);
    char *parts[3] = {text, "", ""};
    for (int i = 1; i < 3; i++) {
        char *bar = strchr(parts[i - 1], '|');
        if (!bar)
            break;
        *bar = '\0';
        parts[i] = bar + 1;
    }
    if (strchr(parts[2], '|'))
        return cli_usage_error(ctx, "--focal: expected \"Name|Title|email\"");
    mb_focal *f = &d->focal[d->entity.n_focal_points];
    compact__membership__v1__focal_point__init(f);
    f->name = entities_trim(parts[0]);
    f->title = entities_trim(parts[1]);
    f->email = entities_trim(parts[2]);
    d->focal_ptrs[d->entity.n_focal_points++] = f;
    entities_draft_mark(d, "focal_points");
    return 0;
}

/* "ROLE:FROM[:TO]" ("member:2018-02-23", "observer:2022-04-01:2023-01-01"),
 * split in place; the dates are checked by the service. */
static int entities_draft_period(cli_ctx *ctx, entities_draft *d, char *text)
{
    char *from = strchr(text, ':'), *to;
    int role = 0;
    if (d->entity.n_participation == ENTITIES_MAX_PERIODS)
        return cli_usage_error(ctx, "--period: at most %d periods", ENTITIES_MAX_PERIODS);
    if (!from)
        return cli_usage_error(ctx, "--period: expected ROLE:FROM[:TO], got \"%s\"", text);
    *from++ = '\0';
    if ((to = strchr(from, ':')) != NULL)
        *to++ = '\0';
    if (entities_parse_role(ctx, "--period", text, &role) != 0)
        return CLI_EXIT_USAGE;
    mb_period *p = &d->period[d->entity.n_participation];
    compact__membership__v1__participation__init(p);
    p->role = role;
    p->from_date = from;
    p->to_date = to ? to : "";
    d->period_ptrs[d->entity.n_participation++] = p;
    entities_draft_mark(d, "participation");
    return 0;
}

enum {
    ENT_AFFILIATION = 'a',
    ENT_PERIOD = 'p',
    ENT_ACRONYM = 'A',
    ENT_NAME = 'n',
    ENT_KIND = 'k',
    ENT_JOINED = 'j',
    ENT_FOCAL = 'f',
    ENT_CLEAR_FOCAL = 'C',
    ENT_CLEAR_PERIODS = 'P',
    ENT_VERIFIED = 'v',
    ENT_UNVERIFIED = 'u',
    ENT_SOURCE_NOTE = 'S',
    ENT_ETAG = 'e',
    ENT_FROM_JSON = 'F',
};

/* Applies one entity flag. Returns 0, an exit status, or -1 if `c` is not an
 * entity flag. */
static int entities_draft_flag(cli_ctx *ctx, void *draft, int c, char *v)
{
    entities_draft *d = draft;
    mb_entity *e = &d->entity;
    int kind = 0;
    switch (c) {
    case ENT_ACRONYM:
        e->acronym = v;
        entities_draft_mark(d, "acronym");
        return 0;
    case ENT_NAME:
        e->name = v;
        entities_draft_mark(d, "name");
        return 0;
    case ENT_JOINED:
        e->joined_on = v;
        entities_draft_mark(d, "joined_on");
        return 0;
    case ENT_SOURCE_NOTE:
        e->source_note = v;
        entities_draft_mark(d, "source_note");
        return 0;
    case ENT_VERIFIED:
        e->verified = 1;
        entities_draft_mark(d, "verified");
        return 0;
    case ENT_UNVERIFIED:
        e->verified = 0;
        entities_draft_mark(d, "verified");
        return 0;
    case ENT_CLEAR_FOCAL:
        entities_draft_mark(d, "focal_points");
        return 0;
    case ENT_CLEAR_PERIODS:
        entities_draft_mark(d, "participation");
        return 0;
    case ENT_ETAG:
        d->etag = v;
        return 0;
    case ENT_FROM_JSON:
        d->from_json = v;
        return 0;
    case ENT_FOCAL:
        return entities_draft_focal(ctx, d, v);
    case ENT_PERIOD:
        return entities_draft_period(ctx, d, v);
    case ENT_AFFILIATION:
        if (entities_parse_affiliation(ctx, v, &kind) != 0)
            return CLI_EXIT_USAGE;
        e->affiliation = kind;
        entities_draft_mark(d, "affiliation");
        return 0;
    case ENT_KIND:
        if (entities_parse_kind(ctx, v, &kind) != 0)
            return CLI_EXIT_USAGE;
        e->kind = kind;
        entities_draft_mark(d, "kind");
        return 0;
    default:
        return -1;
    }
}

/* ---- entities create -------------------------------------------------------- */

static const struct option entities_create_opts[] = {
    {"acronym", required_argument, NULL, ENT_ACRONYM},
    {"name", required_argument, NULL, ENT_NAME},
    {"affiliation", required_argument, NULL, ENT_AFFILIATION},
    {"period", required_argument, NULL, ENT_PERIOD},
    {"kind", required_argument, NULL, ENT_KIND},
    {"joined", required_argument, NULL, ENT_JOINED},
    {"focal", required_argument, NULL, ENT_FOCAL},
    {"verified", no_argument, NULL, ENT_VERIFIED},
    {"source-note", required_argument, NULL, ENT_SOURCE_NOTE},
    {"from-json", required_argument, NULL, ENT_FROM_JSON},
    {0},
};

ProtobufCMessage *entities_create_request_from_json(const json_t *json, char *err, size_t errlen)
{
    if (!json_is_object(json)) {
        snprintf(err, errlen, "expected a JSON object (a CreateEntityRequest or an Entity)");
        return NULL;
    }
    if (json_object_get(json, "entity"))
        return pbjson_to_message(&compact__membership__v1__create_entity_request__descriptor, json,
                                 err, errlen);
    ProtobufCMessage *entity =
        pbjson_to_message(&compact__membership__v1__entity__descriptor, json, err, errlen);
    Compact__Membership__V1__CreateEntityRequest *req = malloc(sizeof *req);
    if (!entity || !req) {
        if (entity)
            snprintf(err, errlen, "out of memory");
        protobuf_c_message_free_unpacked(entity, NULL);
        free(req);
        return NULL;
    }
    compact__membership__v1__create_entity_request__init(req);
    req->entity = (mb_entity *)entity;
    return &req->base;
}

static int entities_create_from_json(cli_ctx *ctx, const char *path)
{
    json_t *json = cli_read_json(path);
    if (!json)
        return CLI_EXIT_FAIL;
    char err[256];
    ProtobufCMessage *req = entities_create_request_from_json(json, err, sizeof err);
    json_decref(json);
    if (!req) {
        fprintf(stderr, "compactctl: %s: %s\n", strcmp(path, "-") ? path : "<stdin>", err);
        return CLI_EXIT_FAIL;
    }
    int rc = entities_call_print(ctx, "CreateEntity", req);
    protobuf_c_message_free_unpacked(req, NULL);
    return rc;
}

static int entities_cmd_create(cli_ctx *ctx, int argc, char **argv)
{
    entities_draft d;
    entities_draft_init(&d);
    int rc = cli_parse_flags(ctx, argc, argv, entities_create_opts, entities_draft_flag, &d);
    if (rc != -1)
        return rc;
    if (optind < argc)
        return cli_usage_error(ctx, "unexpected argument \"%s\"", argv[optind]);
    if (d.from_json && d.n_paths > 0)
        return cli_usage_error(ctx, "--from-json takes no other entity flags");
    if (d.from_json)
        return entities_create_from_json(ctx, d.from_json);
    if (!d.entity.acronym[0] || !d.entity.name[0] || (!d.entity.kind && !d.entity.affiliation))
        return cli_usage_error(ctx, "--acronym, --name and --kind or --affiliation are required");
    Compact__Membership__V1__CreateEntityRequest req =
        COMPACT__MEMBERSHIP__V1__CREATE_ENTITY_REQUEST__INIT;
    req.entity = &d.entity;
    return entities_call_print(ctx, "CreateEntity", &req.base);
}

/* ---- entities update and withdraw ------------------------------------------- */

static int entities_dup(const char *s, char **out)
{
    *out = strdup(s);
    return *out ? 0 : output_oom();
}

/* The id of `key`: itself if it looks like one, else looked up as an
 * acronym. Returns 0 and *id (caller frees), or an exit status. */
static int entities_resolve_id(cli_ctx *ctx, const char *key, char **id)
{
    if (entities_is_id(key))
        return entities_dup(key, id);
    Compact__Membership__V1__GetEntityRequest req =
        COMPACT__MEMBERSHIP__V1__GET_ENTITY_REQUEST__INIT;
    req.key_case = COMPACT__MEMBERSHIP__V1__GET_ENTITY_REQUEST__KEY_ACRONYM;
    req.acronym = (char *)key;
    call_result res;
    int rc = cli_call(ctx, entities_service, entities_svc, "GetEntity", &req.base, &res);
    if (rc != 0)
        return rc;
    rc = entities_dup(((const mb_entity *)res.reply)->id, id);
    call_result_clear(&res);
    return rc;
}

static const struct option entities_update_opts[] = {
    {"acronym", required_argument, NULL, ENT_ACRONYM},
    {"name", required_argument, NULL, ENT_NAME},
    {"affiliation", required_argument, NULL, ENT_AFFILIATION},
    {"period", required_argument, NULL, ENT_PERIOD},
    {"clear-periods", no_argument, NULL, ENT_CLEAR_PERIODS},
    {"kind", required_argument, NULL, ENT_KIND},
    {"joined", required_argument, NULL, ENT_JOINED},
    {"focal", required_argument, NULL, ENT_FOCAL},
    {"clear-focal", no_argument, NULL, ENT_CLEAR_FOCAL},
    {"verified", no_argument, NULL, ENT_VERIFIED},
    {"unverified", no_argument, NULL, ENT_UNVERIFIED},
    {"source-note", required_argument, NULL, ENT_SOURCE_NOTE},
    {"etag", required_argument, NULL, ENT_ETAG},
    {0},
};

static int entities_cmd_update(cli_ctx *ctx, int argc, char **argv)
{
    entities_draft d;
    const char *key = NULL;
    entities_draft_init(&d);
    int rc = cli_parse_flags(ctx, argc, argv, entities_update_opts, entities_draft_flag, &d);
    if (rc != -1)
        return rc;
    if (entities_one_arg(ctx, argc, argv, "ID", &key) != 0)
        return CLI_EXIT_USAGE;
    if (d.n_paths == 0)
        return cli_usage_error(ctx, "nothing to update: give at least one field flag");
    char *id;
    if ((rc = entities_resolve_id(ctx, key, &id)) != 0)
        return rc;
    Google__Protobuf__FieldMask mask = GOOGLE__PROTOBUF__FIELD_MASK__INIT;
    mask.n_paths = d.n_paths;
    mask.paths = d.paths;
    Compact__Membership__V1__UpdateEntityRequest req =
        COMPACT__MEMBERSHIP__V1__UPDATE_ENTITY_REQUEST__INIT;
    d.entity.id = id;
    req.entity = &d.entity;
    req.update_mask = &mask;
    req.etag = d.etag ? (char *)d.etag : "";
    rc = entities_call_print(ctx, "UpdateEntity", &req.base);
    free(id);
    return rc;
}

static const struct option entities_withdraw_opts[] = {
    {"etag", required_argument, NULL, ENT_ETAG},
    {0},
};

static int entities_cmd_withdraw(cli_ctx *ctx, int argc, char **argv)
{
    entities_draft d;
    const char *key = NULL;
    entities_draft_init(&d);
    int rc = cli_parse_flags(ctx, argc, argv, entities_withdraw_opts, entities_draft_flag, &d);
    if (rc != -1)
        return rc;
    if (entities_one_arg(ctx, argc, argv, "ID", &key) != 0)
        return CLI_EXIT_USAGE;
    char *id;
    if ((rc = entities_resolve_id(ctx, key, &id)) != 0)
        return rc;
    Compact__Membership__V1__WithdrawEntityRequest req =
        COMPACT__MEMBERSHIP__V1__WITHDRAW_ENTITY_REQUEST__INIT;
    req.id = id;
    req.etag = d.etag ? (char *)d.etag : "";
    rc = entities_call_print(ctx, "WithdrawEntity", &req.base);
    free(id);
    return rc;
}

/* ---- the table ------------------------------------------------------------ */

const cli_command entities_commands[] = {
    {.group = "entities",
     .verb = "list",
     .fn = entities_cmd_list,
     .summary = "list the Compact's entities (a table, or --json)",
     .usage = "entities list [--kind un|non-un|observer] [--status active|withdrawn]\n"
              "                [--affiliation un|non-un] [--as-of YYYY-MM-DD]\n"
              "                [--role member|observer] [--page-size N] [--page-token T]\n"
              "                [--all]\n\n"
              "Lists entities ordered by acronym: a table (ID, ACRONYM, KIND, STATUS,\n"
              "JOINED, VERIFIED, NAME) or, with --json, a JSON array. One page unless\n"
              "--all, which follows the page tokens to the end. --as-of keeps the\n"
              "entities taking part on that day; --role those in that role on that day\n"
              "(today without --as-of). KIND is derived from the affiliation and the\n"
              "role of the latest participation period.\n"},
    {.group = "entities",
     .verb = "count",
     .fn = entities_cmd_count,
     .summary = "how many entities take part on a day, by role and affiliation",
     .usage = "entities count [--as-of YYYY-MM-DD]\n\n"
              "Counts the entities whose participation period holds the day (today,\n"
              "UTC, without --as-of): total, members, observers, un_system, non_un, and\n"
              "confirmed: those whose period rests on confirmed facts only.\n"},
    {.group = "entities",
     .verb = "get",
     .fn = entities_cmd_get,
     .summary = "show one entity by id or acronym",
     .usage = "entities get ID|ACRONYM\n\n"
              "Shows one entity as field lines or --json. An argument starting with\n"
              "\"ent_\" is an id, anything else an acronym (case-insensitive).\n"},
    {.group = "entities",
     .verb = "create",
     .fn = entities_cmd_create,
     .summary = "add an entity from flags or a JSON file",
     .usage = "entities create --acronym A --name N --affiliation un|non-un\n"
              "                [--period ROLE:FROM[:TO]]... [--focal \"Name|Title|email\"]...\n"
              "                [--verified] [--source-note T]\n"
              "       compactctl entities create --acronym A --name N\n"
              "                --kind un|non-un|observer [--joined YYYY-MM-DD] ...\n"
              "       compactctl entities create --from-json FILE|-\n\n"
              "Creates an entity and prints it. --period adds a participation period\n"
              "(member or observer, from a day, to a day excluded or open), oldest\n"
              "first. The older --kind and --joined stand for the affiliation and one\n"
              "period. --from-json reads a CreateEntityRequest or an Entity in proto3\n"
              "JSON from FILE or standard input: the way to give provenance.\n"},
    {.group = "entities",
     .verb = "update",
     .fn = entities_cmd_update,
     .summary = "change the fields named by flags",
     .usage = "entities update ID|ACRONYM [--etag E] [--name N] [--acronym A]\n"
              "                [--affiliation un|non-un] [--period ROLE:FROM[:TO]]...\n"
              "                [--clear-periods] [--kind K] [--joined D]\n"
              "                [--focal \"Name|Title|email\"]... [--clear-focal]\n"
              "                [--verified|--unverified] [--source-note T]\n\n"
              "Changes only the fields given (the update_mask is built from the flags);\n"
              "--period replaces all participation periods, --clear-periods removes\n"
              "them; --focal replaces all focal points, --clear-focal removes them.\n"
              "--kind sets the affiliation and the latest period's role, --joined the\n"
              "first period's start. With --etag, a stale etag is refused with ABORTED.\n"},
    {.group = "entities",
     .verb = "withdraw",
     .fn = entities_cmd_withdraw,
     .summary = "mark an entity withdrawn",
     .usage = "entities withdraw ID|ACRONYM [--etag E]\n\n"
              "Marks the entity withdrawn and prints it. With --etag, a stale etag is\n"
              "refused with ABORTED.\n"},
    {0},
};

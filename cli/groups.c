/* groups.c: `compactctl groups ...`, the client of compact.workgroups.v1.
 *
 * list, get, create, update, leadership, add-member and remove-member here;
 * approve-tor, tor, plan-add, plan-update and approve-plan in groups_plan.c,
 * and `notices ...` in notices.c, which use the helpers this file shares
 * through groups.h. Groups are named by id
 * ("wg_...") or code ("BMLE"), entities by id ("ent_...") or acronym
 * ("UNODC"); a code or acronym is looked up first (GetWorkingGroup,
 * membership's GetEntity), so these commands need COMPACT_MEMBERSHIP_ADDR as
 * well as COMPACT_WORKGROUPS_ADDR when given acronyms (--addr points every
 * service at one address). Field lines and tables show entities by acronym,
 * asked of membership in one BatchGetEntities; if membership cannot be
 * reached they show ids. --json prints the messages as they are.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "compact/membership/v1/membership.pb-c.h"
#include "groups.h"
#include "pbjson.h"

typedef Compact__Workgroups__V1__WorkingGroup wg_group;
typedef Compact__Workgroups__V1__WorkPlanItem wg_item;
typedef Compact__Workgroups__V1__StrategyPillar wg_pillar;
typedef Compact__Membership__V1__BatchGetEntitiesResponse mb_batch;

#define GROUPS_MAX_PILLARS 4
#define GROUPS_MAX_VICE 10

const char groups_service[] = "workgroups";
const ProtobufCServiceDescriptor *const groups_svc =
    &compact__workgroups__v1__working_groups__descriptor;

/* ---- enums as people type them ----------------------------------------- */

static const groups_name groups_pillars[] = {
    {"I", COMPACT__WORKGROUPS__V1__STRATEGY_PILLAR__STRATEGY_PILLAR_I},
    {"II", COMPACT__WORKGROUPS__V1__STRATEGY_PILLAR__STRATEGY_PILLAR_II},
    {"III", COMPACT__WORKGROUPS__V1__STRATEGY_PILLAR__STRATEGY_PILLAR_III},
    {"IV", COMPACT__WORKGROUPS__V1__STRATEGY_PILLAR__STRATEGY_PILLAR_IV},
    {"1", COMPACT__WORKGROUPS__V1__STRATEGY_PILLAR__STRATEGY_PILLAR_I},
    {"2", COMPACT__WORKGROUPS__V1__STRATEGY_PILLAR__STRATEGY_PILLAR_II},
    {"3", COMPACT__WORKGROUPS__V1__STRATEGY_PILLAR__STRATEGY_PILLAR_III},
    {"4", COMPACT__WORKGROUPS__V1__STRATEGY_PILLAR__STRATEGY_PILLAR_IV},
    {NULL, 0},
};

static const groups_name groups_statuses[] = {
    {"active", COMPACT__WORKGROUPS__V1__GROUP_STATUS__GROUP_STATUS_ACTIVE},
    {"closed", COMPACT__WORKGROUPS__V1__GROUP_STATUS__GROUP_STATUS_CLOSED},
    {NULL, 0},
};

static const groups_name groups_roles[] = {
    {"member", COMPACT__WORKGROUPS__V1__MEMBER_ROLE__MEMBER_ROLE_MEMBER},
    {"observer", COMPACT__WORKGROUPS__V1__MEMBER_ROLE__MEMBER_ROLE_OBSERVER},
    {NULL, 0},
};

const groups_name groups_item_statuses[] = {
    {"not-started", COMPACT__WORKGROUPS__V1__WORK_ITEM_STATUS__WORK_ITEM_STATUS_NOT_STARTED},
    {"in-progress", COMPACT__WORKGROUPS__V1__WORK_ITEM_STATUS__WORK_ITEM_STATUS_IN_PROGRESS},
    {"done", COMPACT__WORKGROUPS__V1__WORK_ITEM_STATUS__WORK_ITEM_STATUS_DONE},
    {"blocked", COMPACT__WORKGROUPS__V1__WORK_ITEM_STATUS__WORK_ITEM_STATUS_BLOCKED},
    {NULL, 0},
};

/* A short name ("II", "closed") or the enum's own name ("GROUP_STATUS_CLOSED"). */
static int groups_name_parse(const groups_name *names, const ProtobufCEnumDescriptor *desc,
                             const char *s, int *out)
{
    for (const groups_name *n = names; n->name; n++) {
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

static const char *groups_name_of(const groups_name *names, int value)
{
    for (const groups_name *n = names; n->name; n++)
        if (n->value == value)
            return n->name;
    return "unspecified";
}

int groups_parse_enum(cli_ctx *ctx, const char *flag, const groups_name *names,
                      const ProtobufCEnumDescriptor *desc, const char *choices, const char *s,
                      int *out)
{
    if (groups_name_parse(names, desc, s, out) == 0)
        return 0;
    return cli_usage_error(ctx, "%s: expected %s, got \"%s\"", flag, choices, s);
}

/* "II, III" */
static char *groups_pillar_list(const wg_group *g)
{
    char buf[64] = "";
    for (size_t i = 0; i < g->n_pillars; i++) {
        size_t len = strlen(buf);
        snprintf(buf + len, sizeof buf - len, "%s%s", i ? ", " : "",
                 groups_name_of(groups_pillars, (int)g->pillars[i]));
    }
    return strdup(buf);
}

/* ---- names: ids and codes to ids, entity ids to acronyms ----------------- */

static int groups_dup(const char *s, char **out)
{
    *out = strdup(s);
    return *out ? 0 : output_oom();
}

int groups_resolve_group(cli_ctx *ctx, const char *key, char **id)
{
    if (strncmp(key, "wg_", 3) == 0)
        return groups_dup(key, id);
    Compact__Workgroups__V1__GetWorkingGroupRequest req =
        COMPACT__WORKGROUPS__V1__GET_WORKING_GROUP_REQUEST__INIT;
    req.key_case = COMPACT__WORKGROUPS__V1__GET_WORKING_GROUP_REQUEST__KEY_CODE;
    req.code = (char *)key;
    call_result res;
    int rc = cli_call(ctx, groups_service, groups_svc, "GetWorkingGroup", &req.base, &res);
    if (rc != 0)
        return rc;
    rc = groups_dup(((const wg_group *)res.reply)->id, id);
    call_result_clear(&res);
    return rc;
}

int groups_resolve_entity(cli_ctx *ctx, const char *key, char **id)
{
    if (strncmp(key, "ent_", 4) == 0)
        return groups_dup(key, id);
    Compact__Membership__V1__GetEntityRequest req =
        COMPACT__MEMBERSHIP__V1__GET_ENTITY_REQUEST__INIT;
    req.key_case = COMPACT__MEMBERSHIP__V1__GET_ENTITY_REQUEST__KEY_ACRONYM;
    req.acronym = (char *)key;
    call_result res;
    int rc = cli_call(ctx, "membership", &compact__membership__v1__membership__descriptor,
                      "GetEntity", &req.base, &res);
    if (rc != 0)
        return rc;
    rc = groups_dup(((const Compact__Membership__V1__Entity *)res.reply)->id, id);
    call_result_clear(&res);
    return rc;
}

/* Entity ids seen in what is printed, and their acronyms once fetched. */
typedef struct groups_names {
    char **ids;
    size_t n, cap;
    call_result res; /* res.reply: the BatchGetEntitiesResponse, or NULL */
} groups_names;

static void groups_names_add(groups_names *nm, const char *id)
{
    if (!id || !id[0])
        return;
    for (size_t i = 0; i < nm->n; i++)
        if (strcmp(nm->ids[i], id) == 0)
            return;
    if (nm->n == nm->cap) {
        size_t cap = nm->cap ? nm->cap * 2 : 16;
        char **grown = realloc(nm->ids, cap * sizeof *grown);
        if (!grown)
            return; /* the id is then shown as is */
        nm->ids = grown;
        nm->cap = cap;
    }
    nm->ids[nm->n++] = (char *)id;
}

static void groups_names_add_group(groups_names *nm, const wg_group *g)
{
    if (g->leadership) {
        groups_names_add(nm, g->leadership->chair_entity_id);
        for (size_t i = 0; i < g->leadership->n_vice_chair_entity_ids; i++)
            groups_names_add(nm, g->leadership->vice_chair_entity_ids[i]);
    }
    for (size_t i = 0; i < g->n_members; i++)
        groups_names_add(nm, g->members[i]->entity_id);
    for (size_t i = 0; i < g->n_work_plan; i++)
        groups_names_add(nm, g->work_plan[i]->owner_entity_id);
    for (size_t i = 0; i < g->n_leadership_history; i++) {
        const Compact__Workgroups__V1__Leadership *l = g->leadership_history[i]->leadership;
        if (l)
            groups_names_add(nm, l->chair_entity_id);
    }
}

/* One BatchGetEntities for every id added; quiet: on failure ids are shown. */
static void groups_names_fetch(cli_ctx *ctx, groups_names *nm)
{
    Compact__Membership__V1__BatchGetEntitiesRequest req =
        COMPACT__MEMBERSHIP__V1__BATCH_GET_ENTITIES_REQUEST__INIT;
    if (nm->n == 0)
        return;
    req.ids = nm->ids;
    req.n_ids = nm->n > 1000 ? 1000 : nm->n;
    req.allow_missing = 1;
    if (cli_call_quiet(ctx, "membership", &compact__membership__v1__membership__descriptor,
                       "BatchGetEntities", &req.base, &nm->res) == 0 &&
        nm->res.code != RPC_OK)
        call_result_clear(&nm->res);
}

/* The acronym of entity `id`, or the id itself if unknown. */
static const char *groups_acronym(const groups_names *nm, const char *id)
{
    const mb_batch *b = (const mb_batch *)nm->res.reply;
    for (size_t i = 0; b && i < b->n_entities; i++)
        if (strcmp(b->entities[i]->id, id) == 0)
            return b->entities[i]->acronym;
    return id;
}

static void groups_names_free(groups_names *nm)
{
    call_result_clear(&nm->res);
    free(nm->ids); /* the strings belong to the messages */
}

/* ---- field lines ---------------------------------------------------------- */

/* Adds the field `name` with a printf-formatted value to a field table. */
static void groups_field(output_table *t, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void groups_field(output_table *t, const char *name, const char *fmt, ...)
{
    char *value;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&value, fmt, ap);
    va_end(ap);
    /* On ENOMEM the row is missing, and output_table_print says so: add a
     * row it will refuse rather than print a record with a hole. */
    output_table_field(t, name, n < 0 ? NULL : value);
    if (n >= 0)
        free(value);
}

/* Prints and frees a field table; an exit status. */
static int groups_fields_print(output_table *t)
{
    int rc = output_table_print(t, stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
    output_table_free(t);
    return rc;
}

static void groups_item_field(output_table *t, const groups_names *nm, const wg_item *it)
{
    groups_field(t, "work_item", "%s | %s | %s | %s | due %s | %zu project(s)", it->id, it->title,
                 groups_acronym(nm, it->owner_entity_id),
                 groups_name_of(groups_item_statuses, it->status), it->due_on[0] ? it->due_on : "-",
                 it->n_project_ids);
}

static void groups_leadership_fields(output_table *t, const groups_names *nm, const wg_group *g)
{
    const Compact__Workgroups__V1__Leadership *l = g->leadership;
    if (!l)
        return;
    groups_field(t, "chair", "%s (%s)", groups_acronym(nm, l->chair_entity_id), l->chair_entity_id);
    for (size_t i = 0; i < l->n_vice_chair_entity_ids; i++)
        groups_field(t, "vice_chair", "%s (%s)", groups_acronym(nm, l->vice_chair_entity_ids[i]),
                     l->vice_chair_entity_ids[i]);
}

/* "2019-04-16 to 2021-06-30: chair UNOCT, 2 vice-chair(s)", oldest first. */
static void groups_history_fields(output_table *t, const groups_names *nm, const wg_group *g)
{
    for (size_t i = 0; i < g->n_leadership_history; i++) {
        const Compact__Workgroups__V1__LeadershipTerm *term = g->leadership_history[i];
        const Compact__Workgroups__V1__Leadership *l = term->leadership;
        groups_field(t, "leadership_term", "%s to %s: chair %s, %zu vice-chair(s)", term->from_date,
                     term->to_date[0] ? term->to_date : "now",
                     l ? groups_acronym(nm, l->chair_entity_id) : "-",
                     l ? l->n_vice_chair_entity_ids : 0);
    }
}

/* "version 1, 2024-01-01 to 2026-12-31, approved 2024-01-24, 3 item(s)". */
static void groups_approved_plan_fields(output_table *t, const wg_group *g)
{
    for (size_t i = 0; i < g->n_approved_work_plans; i++) {
        const Compact__Workgroups__V1__ApprovedWorkPlan *p = g->approved_work_plans[i];
        groups_field(t, "approved_work_plan", "version %d, %s to %s, approved %s, %zu item(s)%s%s",
                     (int)p->version, p->period_start, p->period_end, p->approved_on, p->n_item_ids,
                     p->decision_ref[0] ? ", decision " : "", p->decision_ref);
    }
}

static int groups_print_group(cli_ctx *ctx, const wg_group *g)
{
    groups_names nm = {0};
    char t1[32], t2[32], *pillars = groups_pillar_list(g);
    output_table *t = output_table_new(NULL, 2);
    if (!t || !pillars) {
        output_table_free(t);
        free(pillars);
        return output_oom();
    }
    groups_names_add_group(&nm, g);
    groups_names_fetch(ctx, &nm);
    output_table_field(t, "id", g->id);
    output_table_field(t, "code", g->code);
    output_table_field(t, "title", g->title);
    output_table_field(t, "status", groups_name_of(groups_statuses, g->status));
    output_table_field(t, "pillars", pillars);
    output_table_field(t, "verified", g->verified ? "yes" : "no");
    output_table_field(t, "source_note", g->source_note[0] ? g->source_note : NULL);
    output_table_field(t, "mandate", g->mandate[0] ? g->mandate : NULL);
    output_table_field(t, "established_by", g->established_by[0] ? g->established_by : NULL);
    groups_leadership_fields(t, &nm, g);
    groups_history_fields(t, &nm, g);
    for (size_t i = 0; i < g->n_members; i++)
        groups_field(t, "member", "%s (%s) %s", groups_acronym(&nm, g->members[i]->entity_id),
                     g->members[i]->entity_id, groups_name_of(groups_roles, g->members[i]->role));
    if (g->terms_of_reference)
        groups_field(t, "terms_of_reference", "version %d, approved %s%s%s",
                     (int)g->terms_of_reference->version, g->terms_of_reference->approved_on,
                     g->terms_of_reference->decision_ref[0] ? ", decision " : "",
                     g->terms_of_reference->decision_ref);
    for (size_t i = 0; i < g->n_work_plan; i++)
        groups_item_field(t, &nm, g->work_plan[i]);
    groups_approved_plan_fields(t, g);
    output_table_field(t, "etag", g->etag);
    output_table_field(t, "create_time", output_time(g->create_time, t1, sizeof t1));
    output_table_field(t, "update_time", output_time(g->update_time, t2, sizeof t2));
    groups_names_free(&nm);
    free(pillars);
    return groups_fields_print(t);
}

static int groups_print_item(cli_ctx *ctx, const wg_item *it)
{
    groups_names nm = {0};
    char t1[32], t2[32];
    output_table *t = output_table_new(NULL, 2);
    if (!t)
        return output_oom();
    groups_names_add(&nm, it->owner_entity_id);
    groups_names_fetch(ctx, &nm);
    output_table_field(t, "id", it->id);
    output_table_field(t, "title", it->title);
    output_table_field(t, "description", it->description[0] ? it->description : NULL);
    groups_field(t, "owner", "%s (%s)", groups_acronym(&nm, it->owner_entity_id),
                 it->owner_entity_id);
    output_table_field(t, "due_on", it->due_on[0] ? it->due_on : NULL);
    output_table_field(t, "status", groups_name_of(groups_item_statuses, it->status));
    for (size_t i = 0; i < it->n_project_ids; i++)
        output_table_field(t, "project", it->project_ids[i]);
    output_table_field(t, "etag", it->etag);
    output_table_field(t, "create_time", output_time(it->create_time, t1, sizeof t1));
    output_table_field(t, "update_time", output_time(it->update_time, t2, sizeof t2));
    groups_names_free(&nm);
    return groups_fields_print(t);
}

int groups_call_print(cli_ctx *ctx, const char *method, const ProtobufCMessage *req, int item)
{
    call_result res;
    int rc = cli_call(ctx, groups_service, groups_svc, method, req, &res);
    if (rc != 0)
        return rc;
    if (ctx->json)
        rc = output_json(pbjson_from_message(res.reply));
    else if (item)
        rc = groups_print_item(ctx, (const wg_item *)res.reply);
    else
        rc = groups_print_group(ctx, (const wg_group *)res.reply);
    call_result_clear(&res);
    return rc;
}

/* ---- shared flag handling --------------------------------------------------- */

static const struct option groups_no_opts[] = {
    {0},
};

int groups_args(cli_ctx *ctx, int argc, char **argv, int n, const char *what)
{
    if (argc - optind == n)
        return 0;
    return cli_usage_error(ctx, argc - optind < n ? "missing %s" : "expected only %s", what);
}

int groups_page_size(cli_ctx *ctx, const char *v, int32_t *out)
{
    char *end;
    long value = strtol(v, &end, 10);
    if (end == v || *end || value < 1 || value > 1000)
        return cli_usage_error(ctx, "--page-size: expected 1 to 1000, got \"%s\"", v);
    *out = (int32_t)value;
    return 0;
}

int groups_pages(cli_ctx *ctx, groups_page_fn page, void *req, const char *first, void *sink,
                 int all, const char *what)
{
    char *token = NULL, *next = NULL;
    int rc = page(ctx, req, first ? first : "", sink, &next);
    while (rc == 0 && next && all) {
        if (token && strcmp(token, next) == 0) {
            fprintf(stderr, "compactctl: the server repeated page token %s\n", next);
            rc = CLI_EXIT_FAIL;
            break;
        }
        free(token);
        token = next;
        rc = page(ctx, req, token, sink, &next);
    }
    if (rc == 0 && next && !all)
        fprintf(stderr,
                "compactctl: more %s; next page: --page-token %s (or --all for every "
                "page)\n",
                what, next);
    free(next);
    free(token);
    return rc;
}

/* ---- groups list ------------------------------------------------------------- */

typedef struct groups_sink {
    json_t *array;
    output_table *table;
    groups_names names;
    call_result *pages; /* kept until printed: the table needs acronyms */
    size_t n_pages;
} groups_sink;

const struct option groups_page_opts[] = {
    {"page-size", required_argument, NULL, 'p'},
    {"page-token", required_argument, NULL, 't'},
    {"all", no_argument, NULL, 'a'},
    {0},
};

static const struct option groups_list_opts[] = {
    {"pillar", required_argument, NULL, 'P'},
    {"status", required_argument, NULL, 's'},
    {"entity", required_argument, NULL, 'E'},
    {"page-size", required_argument, NULL, 'p'},
    {"page-token", required_argument, NULL, 't'},
    {"all", no_argument, NULL, 'a'},
    {0},
};

static int groups_list_page(cli_ctx *ctx, void *request, const char *token, void *arg, char **next)
{
    Compact__Workgroups__V1__ListWorkingGroupsRequest *req = request;
    groups_sink *sink = arg;
    call_result res;
    *next = NULL;
    req->page_token = (char *)token;
    int rc = cli_call(ctx, groups_service, groups_svc, "ListWorkingGroups", &req->base, &res);
    if (rc != 0)
        return rc;
    call_result *pages = realloc(sink->pages, (sink->n_pages + 1) * sizeof *pages);
    if (!pages) {
        call_result_clear(&res);
        return output_oom();
    }
    sink->pages = pages;
    pages[sink->n_pages++] = res;
    const Compact__Workgroups__V1__ListWorkingGroupsResponse *page = (const void *)res.reply;
    for (size_t i = 0; i < page->n_groups; i++) {
        if (sink->array)
            json_array_append_new(sink->array, pbjson_from_message(&page->groups[i]->base));
        else
            groups_names_add_group(&sink->names, page->groups[i]);
    }
    *next = page->next_page_token[0] ? strdup(page->next_page_token) : NULL;
    return 0;
}

static int groups_list_table(cli_ctx *ctx, groups_sink *sink)
{
    static const char *const headers[] = {"ID",    "CODE",    "STATUS", "PILLARS",
                                          "CHAIR", "MEMBERS", "TITLE"};
    output_table *t = output_table_new(headers, 7);
    if (!t)
        return output_oom();
    groups_names_fetch(ctx, &sink->names);
    for (size_t p = 0; p < sink->n_pages; p++) {
        const Compact__Workgroups__V1__ListWorkingGroupsResponse *page =
            (const void *)sink->pages[p].reply;
        for (size_t i = 0; i < page->n_groups; i++) {
            const wg_group *g = page->groups[i];
            char members[16], *pillars = groups_pillar_list(g);
            snprintf(members, sizeof members, "%zu", g->n_members);
            const char *cells[] = {
                g->id,
                g->code,
                groups_name_of(groups_statuses, g->status),
                pillars ? pillars : "",
                g->leadership ? groups_acronym(&sink->names, g->leadership->chair_entity_id) : "-",
                members,
                g->title};
            output_table_add(t, cells);
            free(pillars);
        }
    }
    int rc = output_table_print(t, stdout) == 0 ? 0 : CLI_EXIT_FAIL;
    output_table_free(t);
    return rc;
}

static int groups_list_flag(cli_ctx *ctx, Compact__Workgroups__V1__ListWorkingGroupsRequest *req,
                            int c, const char *v, char **entity, const char **token, int *all)
{
    int value = 0;
    switch (c) {
    case 'P':
        if (groups_parse_enum(ctx, "--pillar", groups_pillars,
                              &compact__workgroups__v1__strategy_pillar__descriptor,
                              "I, II, III or IV", v, &value))
            return CLI_EXIT_USAGE;
        req->pillar = value;
        return 0;
    case 's':
        if (groups_parse_enum(ctx, "--status", groups_statuses,
                              &compact__workgroups__v1__group_status__descriptor,
                              "active or closed", v, &value))
            return CLI_EXIT_USAGE;
        req->status = value;
        return 0;
    case 'E':
        free(*entity);
        return groups_resolve_entity(ctx, v, entity);
    case 'p':
        return groups_page_size(ctx, v, &req->page_size) ? CLI_EXIT_USAGE : 0;
    case 't':
        *token = v;
        return 0;
    default: /* 'a' */
        *all = 1;
        return 0;
    }
}

static int groups_cmd_list(cli_ctx *ctx, int argc, char **argv)
{
    Compact__Workgroups__V1__ListWorkingGroupsRequest req =
        COMPACT__WORKGROUPS__V1__LIST_WORKING_GROUPS_REQUEST__INIT;
    groups_sink sink = {0};
    char *entity = NULL;
    const char *token = NULL;
    int c, rc = 0, all = 0;
    while (rc == 0 && (c = cli_getopt(ctx, argc, argv, groups_list_opts)) != -1) {
        if (c < 0)
            rc = cli_getopt_stop(ctx, c);
        else
            rc = groups_list_flag(ctx, &req, c, optarg, &entity, &token, &all);
    }
    if (rc == 0 && optind < argc)
        rc = cli_usage_error(ctx, "unexpected argument \"%s\"", argv[optind]);
    if (rc == 0) {
        req.entity_id = entity ? entity : "";
        sink.array = ctx->json ? json_array() : NULL;
        rc = groups_pages(ctx, groups_list_page, &req, token, &sink, all, "groups");
    }
    if (rc == 0)
        rc = ctx->json ? output_json(json_incref(sink.array)) : groups_list_table(ctx, &sink);
    json_decref(sink.array);
    groups_names_free(&sink.names);
    for (size_t i = 0; i < sink.n_pages; i++)
        call_result_clear(&sink.pages[i]);
    free(sink.pages);
    free(entity);
    return rc;
}

/* ---- groups get --------------------------------------------------------------- */

static int groups_cmd_get(cli_ctx *ctx, int argc, char **argv)
{
    int c;
    while ((c = cli_getopt(ctx, argc, argv, groups_no_opts)) != -1)
        return cli_getopt_stop(ctx, c);
    if (groups_args(ctx, argc, argv, 1, "ID or CODE"))
        return CLI_EXIT_USAGE;
    const char *key = argv[optind];
    Compact__Workgroups__V1__GetWorkingGroupRequest req =
        COMPACT__WORKGROUPS__V1__GET_WORKING_GROUP_REQUEST__INIT;
    if (strncmp(key, "wg_", 3) == 0) {
        req.key_case = COMPACT__WORKGROUPS__V1__GET_WORKING_GROUP_REQUEST__KEY_ID;
        req.id = (char *)key;
    } else {
        req.key_case = COMPACT__WORKGROUPS__V1__GET_WORKING_GROUP_REQUEST__KEY_CODE;
        req.code = (char *)key;
    }
    return groups_call_print(ctx, "GetWorkingGroup", &req.base, 0);
}

/* ---- the group flags of create and update ------------------------------------- */

typedef struct groups_draft {
    wg_group group;
    wg_pillar pillars[GROUPS_MAX_PILLARS];
    char *paths[GROUPS_MAX_PATHS]; /* update_mask, from the flags given */
    size_t n_paths;
    const char *etag;
    const char *from_json;
} groups_draft;

static void groups_draft_init(groups_draft *d)
{
    memset(d, 0, sizeof *d);
    compact__workgroups__v1__working_group__init(&d->group);
    d->group.pillars = d->pillars;
}

void groups_mark(char **paths, size_t *n, const char *path)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp(paths[i], path) == 0)
            return;
    if (*n < GROUPS_MAX_PATHS)
        paths[(*n)++] = (char *)path;
}

enum {
    GRP_CODE = 'c',
    GRP_TITLE = 'T',
    GRP_MANDATE = 'm',
    GRP_PILLAR = 'P',
    GRP_STATUS = 's',
    GRP_VERIFIED = 'v',
    GRP_UNVERIFIED = 'u',
    GRP_SOURCE_NOTE = 'S',
    GRP_ETAG = 'e',
    GRP_FROM_JSON = 'F',
    GRP_ESTABLISHED_BY = 'B',
};

/* Applies one group flag. Returns 0, an exit status, or -1 if `c` is not
 * one. */
static int groups_draft_flag(cli_ctx *ctx, void *draft, int c, char *v)
{
    groups_draft *d = draft;
    wg_group *g = &d->group;
    int value = 0;
    switch (c) {
    case GRP_CODE:
        g->code = v;
        groups_mark(d->paths, &d->n_paths, "code");
        return 0;
    case GRP_TITLE:
        g->title = v;
        groups_mark(d->paths, &d->n_paths, "title");
        return 0;
    case GRP_MANDATE:
        g->mandate = v;
        groups_mark(d->paths, &d->n_paths, "mandate");
        return 0;
    case GRP_SOURCE_NOTE:
        g->source_note = v;
        groups_mark(d->paths, &d->n_paths, "source_note");
        return 0;
    case GRP_VERIFIED:
        g->verified = 1;
        groups_mark(d->paths, &d->n_paths, "verified");
        return 0;
    case GRP_UNVERIFIED:
        g->verified = 0;
        groups_mark(d->paths, &d->n_paths, "verified");
        return 0;
    case GRP_ETAG:
        d->etag = v;
        return 0;
    case GRP_FROM_JSON:
        d->from_json = v;
        return 0;
    case GRP_ESTABLISHED_BY:
        g->established_by = v;
        groups_mark(d->paths, &d->n_paths, "established_by");
        return 0;
    case GRP_STATUS:
        if (groups_parse_enum(ctx, "--status", groups_statuses,
                              &compact__workgroups__v1__group_status__descriptor,
                              "active or closed", v, &value))
            return CLI_EXIT_USAGE;
        g->status = value;
        groups_mark(d->paths, &d->n_paths, "status");
        return 0;
    case GRP_PILLAR:
        if (groups_parse_enum(ctx, "--pillar", groups_pillars,
                              &compact__workgroups__v1__strategy_pillar__descriptor,
                              "I, II, III or IV", v, &value))
            return CLI_EXIT_USAGE;
        if (g->n_pillars == GROUPS_MAX_PILLARS)
            return cli_usage_error(ctx, "--pillar: at most %d", GROUPS_MAX_PILLARS);
        g->pillars[g->n_pillars++] = value;
        groups_mark(d->paths, &d->n_paths, "pillars");
        return 0;
    default:
        return -1;
    }
}

/* ---- groups create and update ----------------------------------------------------- */

static const struct option groups_create_opts[] = {
    {"code", required_argument, NULL, GRP_CODE},
    {"title", required_argument, NULL, GRP_TITLE},
    {"mandate", required_argument, NULL, GRP_MANDATE},
    {"pillar", required_argument, NULL, GRP_PILLAR},
    {"status", required_argument, NULL, GRP_STATUS},
    {"verified", no_argument, NULL, GRP_VERIFIED},
    {"source-note", required_argument, NULL, GRP_SOURCE_NOTE},
    {"established-by", required_argument, NULL, GRP_ESTABLISHED_BY},
    {"from-json", required_argument, NULL, GRP_FROM_JSON},
    {0},
};

/* A CreateWorkingGroupRequest ({"group": {...}}) or a WorkingGroup. */
static int groups_create_from_json(cli_ctx *ctx, const char *path)
{
    json_t *json = cli_read_json(path);
    char err[256];
    if (!json)
        return CLI_EXIT_FAIL;
    ProtobufCMessage *msg = NULL;
    if (!json_is_object(json))
        snprintf(err, sizeof err,
                 "expected a JSON object (a CreateWorkingGroupRequest or a "
                 "WorkingGroup)");
    else if (json_object_get(json, "group"))
        msg = pbjson_to_message(&compact__workgroups__v1__create_working_group_request__descriptor,
                                json, err, sizeof err);
    else
        msg = pbjson_to_message(&compact__workgroups__v1__working_group__descriptor, json, err,
                                sizeof err);
    json_decref(json);
    if (!msg) {
        fprintf(stderr, "compactctl: %s: %s\n", strcmp(path, "-") ? path : "<stdin>", err);
        return CLI_EXIT_FAIL;
    }
    int rc;
    if (msg->descriptor == &compact__workgroups__v1__working_group__descriptor) {
        Compact__Workgroups__V1__CreateWorkingGroupRequest req =
            COMPACT__WORKGROUPS__V1__CREATE_WORKING_GROUP_REQUEST__INIT;
        req.group = (wg_group *)msg;
        rc = groups_call_print(ctx, "CreateWorkingGroup", &req.base, 0);
    } else {
        rc = groups_call_print(ctx, "CreateWorkingGroup", msg, 0);
    }
    protobuf_c_message_free_unpacked(msg, NULL);
    return rc;
}

static int groups_cmd_create(cli_ctx *ctx, int argc, char **argv)
{
    groups_draft d;
    groups_draft_init(&d);
    int rc = cli_parse_flags(ctx, argc, argv, groups_create_opts, groups_draft_flag, &d);
    if (rc != -1)
        return rc;
    if (optind < argc)
        return cli_usage_error(ctx, "unexpected argument \"%s\"", argv[optind]);
    if (d.from_json && d.n_paths > 0)
        return cli_usage_error(ctx, "--from-json takes no other group flags");
    if (d.from_json)
        return groups_create_from_json(ctx, d.from_json);
    if (!d.group.code[0] || !d.group.title[0] || d.group.n_pillars == 0)
        return cli_usage_error(ctx, "--code, --title and at least one --pillar are required");
    Compact__Workgroups__V1__CreateWorkingGroupRequest req =
        COMPACT__WORKGROUPS__V1__CREATE_WORKING_GROUP_REQUEST__INIT;
    req.group = &d.group;
    return groups_call_print(ctx, "CreateWorkingGroup", &req.base, 0);
}

static const struct option groups_update_opts[] = {
    {"code", required_argument, NULL, GRP_CODE},
    {"title", required_argument, NULL, GRP_TITLE},
    {"mandate", required_argument, NULL, GRP_MANDATE},
    {"pillar", required_argument, NULL, GRP_PILLAR},
    {"status", required_argument, NULL, GRP_STATUS},
    {"verified", no_argument, NULL, GRP_VERIFIED},
    {"unverified", no_argument, NULL, GRP_UNVERIFIED},
    {"source-note", required_argument, NULL, GRP_SOURCE_NOTE},
    {"etag", required_argument, NULL, GRP_ETAG},
    {0},
};

static int groups_cmd_update(cli_ctx *ctx, int argc, char **argv)
{
    groups_draft d;
    groups_draft_init(&d);
    int rc = cli_parse_flags(ctx, argc, argv, groups_update_opts, groups_draft_flag, &d);
    if (rc != -1)
        return rc;
    if (groups_args(ctx, argc, argv, 1, "ID or CODE"))
        return CLI_EXIT_USAGE;
    if (d.n_paths == 0)
        return cli_usage_error(ctx, "nothing to update: give at least one field flag");
    char *id;
    if ((rc = groups_resolve_group(ctx, argv[optind], &id)) != 0)
        return rc;
    Google__Protobuf__FieldMask mask = GOOGLE__PROTOBUF__FIELD_MASK__INIT;
    mask.n_paths = d.n_paths;
    mask.paths = d.paths;
    Compact__Workgroups__V1__UpdateWorkingGroupRequest req =
        COMPACT__WORKGROUPS__V1__UPDATE_WORKING_GROUP_REQUEST__INIT;
    d.group.id = id;
    req.group = &d.group;
    req.update_mask = &mask;
    req.etag = d.etag ? (char *)d.etag : "";
    rc = groups_call_print(ctx, "UpdateWorkingGroup", &req.base, 0);
    free(id);
    return rc;
}

/* ---- groups leadership, add-member, remove-member ----------------------------------- */

static const struct option groups_leadership_opts[] = {
    {"chair", required_argument, NULL, 'c'},
    {"vice", required_argument, NULL, 'V'},
    {"effective-on", required_argument, NULL, 'd'},
    {"etag", required_argument, NULL, 'e'},
    {0},
};

/* Resolves the group and the entities, then calls SetLeadership. */
static int groups_set_leadership(cli_ctx *ctx, const char *group, const char *chair, char **vices,
                                 size_t n_vices, const char *effective_on, const char *etag)
{
    Compact__Workgroups__V1__Leadership l = COMPACT__WORKGROUPS__V1__LEADERSHIP__INIT;
    char *ids[GROUPS_MAX_VICE] = {0}, *chair_id = NULL, *group_id = NULL;
    int rc = groups_resolve_group(ctx, group, &group_id);
    if (rc == 0)
        rc = groups_resolve_entity(ctx, chair, &chair_id);
    for (size_t i = 0; rc == 0 && i < n_vices; i++)
        rc = groups_resolve_entity(ctx, vices[i], &ids[i]);
    if (rc == 0) {
        Compact__Workgroups__V1__SetLeadershipRequest req =
            COMPACT__WORKGROUPS__V1__SET_LEADERSHIP_REQUEST__INIT;
        l.chair_entity_id = chair_id;
        l.vice_chair_entity_ids = ids;
        l.n_vice_chair_entity_ids = n_vices;
        req.group_id = group_id;
        req.leadership = &l;
        req.etag = etag ? (char *)etag : "";
        req.effective_on = effective_on ? (char *)effective_on : "";
        rc = groups_call_print(ctx, "SetLeadership", &req.base, 0);
    }
    for (size_t i = 0; i < n_vices; i++)
        free(ids[i]);
    free(chair_id);
    free(group_id);
    return rc;
}

static int groups_cmd_leadership(cli_ctx *ctx, int argc, char **argv)
{
    const char *chair = NULL, *etag = NULL, *effective_on = NULL;
    char *vices[GROUPS_MAX_VICE];
    size_t n_vices = 0;
    int c;
    while ((c = cli_getopt(ctx, argc, argv, groups_leadership_opts)) != -1) {
        if (c == 'c')
            chair = optarg;
        else if (c == 'd')
            effective_on = optarg;
        else if (c == 'e')
            etag = optarg;
        else if (c == 'V' && n_vices < GROUPS_MAX_VICE)
            vices[n_vices++] = optarg;
        else if (c == 'V')
            return cli_usage_error(ctx, "--vice: at most %d", GROUPS_MAX_VICE);
        else
            return cli_getopt_stop(ctx, c);
    }
    if (groups_args(ctx, argc, argv, 1, "GROUP"))
        return CLI_EXIT_USAGE;
    if (!chair || n_vices == 0)
        return cli_usage_error(ctx, "--chair and at least one --vice are required");
    return groups_set_leadership(ctx, argv[optind], chair, vices, n_vices, effective_on, etag);
}

static const struct option groups_member_opts[] = {
    {"role", required_argument, NULL, 'r'},
    {"observer", no_argument, NULL, 'o'},
    {"etag", required_argument, NULL, 'e'},
    {0},
};

static const struct option groups_remove_opts[] = {
    {"etag", required_argument, NULL, 'e'},
    {0},
};

/* add-member (add) or remove-member: GROUP ENTITY. */
static int groups_member_change(cli_ctx *ctx, int argc, char **argv, int add)
{
    const char *etag = "";
    int c, role = COMPACT__WORKGROUPS__V1__MEMBER_ROLE__MEMBER_ROLE_MEMBER;
    while ((c = cli_getopt(ctx, argc, argv, add ? groups_member_opts : groups_remove_opts)) != -1) {
        if (c == 'e')
            etag = optarg;
        else if (c == 'o')
            role = COMPACT__WORKGROUPS__V1__MEMBER_ROLE__MEMBER_ROLE_OBSERVER;
        else if (c == 'r' && groups_parse_enum(ctx, "--role", groups_roles,
                                               &compact__workgroups__v1__member_role__descriptor,
                                               "member or observer", optarg, &role))
            return CLI_EXIT_USAGE;
        else if (c != 'r')
            return cli_getopt_stop(ctx, c);
    }
    if (groups_args(ctx, argc, argv, 2, "GROUP and ENTITY"))
        return CLI_EXIT_USAGE;
    char *group_id = NULL, *entity_id = NULL;
    int rc = groups_resolve_group(ctx, argv[optind], &group_id);
    if (rc == 0)
        rc = groups_resolve_entity(ctx, argv[optind + 1], &entity_id);
    if (rc == 0 && add) {
        Compact__Workgroups__V1__AddMemberRequest req =
            COMPACT__WORKGROUPS__V1__ADD_MEMBER_REQUEST__INIT;
        req.group_id = group_id;
        req.entity_id = entity_id;
        req.role = role;
        req.etag = (char *)etag;
        rc = groups_call_print(ctx, "AddMember", &req.base, 0);
    } else if (rc == 0) {
        Compact__Workgroups__V1__RemoveMemberRequest req =
            COMPACT__WORKGROUPS__V1__REMOVE_MEMBER_REQUEST__INIT;
        req.group_id = group_id;
        req.entity_id = entity_id;
        req.etag = (char *)etag;
        rc = groups_call_print(ctx, "RemoveMember", &req.base, 0);
    }
    free(group_id);
    free(entity_id);
    return rc;
}

static int groups_cmd_add_member(cli_ctx *ctx, int argc, char **argv)
{
    return groups_member_change(ctx, argc, argv, 1);
}

static int groups_cmd_remove_member(cli_ctx *ctx, int argc, char **argv)
{
    return groups_member_change(ctx, argc, argv, 0);
}

/* ---- the table -------------------------------------------------------------------- */

const cli_command groups_commands[] = {
    {.group = "groups",
     .verb = "list",
     .fn = groups_cmd_list,
     .summary = "list the Working Groups (a table, or --json)",
     .usage = "groups list [--pillar I|II|III|IV] [--status active|closed]\n"
              "                [--entity ID|ACRONYM] [--page-size N] [--page-token T] [--all]\n\n"
              "Lists working groups ordered by code: a table (ID, CODE, STATUS, PILLARS,\n"
              "CHAIR, MEMBERS, TITLE) or, with --json, a JSON array. --entity keeps the\n"
              "groups the entity chairs, vice-chairs or is a member of. One page unless\n"
              "--all.\n"},
    {.group = "groups",
     .verb = "get",
     .fn = groups_cmd_get,
     .summary = "show one group by id or code",
     .usage = "groups get ID|CODE\n\n"
              "Shows a group with its leaders and their terms, members, current terms of\n"
              "reference, work plan and approved work plans, as field lines or --json.\n"
              "\"wg_...\" is an id, anything else a code (case-insensitive).\n"},
    {.group = "groups",
     .verb = "create",
     .fn = groups_cmd_create,
     .summary = "add a group from flags or a JSON file",
     .usage = "groups create --code C --title T --pillar P [--pillar P]... [--mandate M]\n"
              "                [--status active|closed] [--verified] [--source-note N]\n"
              "                [--established-by dec_ID/effects/N]\n"
              "       compactctl groups create --from-json FILE|-\n\n"
              "Creates a group and prints it. Pillars are I, II, III or IV. With\n"
              "--established-by (the Coordination Committee's decision), creating again\n"
              "under the same decision prints the group made the first time. --from-json\n"
              "reads a CreateWorkingGroupRequest or a WorkingGroup in proto3 JSON.\n"},
    {.group = "groups",
     .verb = "update",
     .fn = groups_cmd_update,
     .summary = "change the fields named by flags",
     .usage = "groups update ID|CODE [--etag E] [--code C] [--title T] [--mandate M]\n"
              "                [--pillar P]... [--status active|closed]\n"
              "                [--verified|--unverified] [--source-note N]\n\n"
              "Changes only the fields given; --pillar replaces all pillars. With\n"
              "--etag, a stale etag is refused with ABORTED.\n"},
    {.group = "groups",
     .verb = "leadership",
     .fn = groups_cmd_leadership,
     .summary = "set a group's chair and vice-chairs",
     .usage = "groups leadership GROUP --chair ENTITY --vice ENTITY [--vice ENTITY]...\n"
              "                [--effective-on YYYY-MM-DD] [--etag E]\n\n"
              "Replaces the leadership from --effective-on (default today), which ends\n"
              "the current term that day (groups get shows every term); it may not be\n"
              "before the current term began. GROUP is an id or code, ENTITY an id or\n"
              "acronym; each entity must be an active member of the Compact.\n"},
    {.group = "groups",
     .verb = "add-member",
     .fn = groups_cmd_add_member,
     .summary = "add an entity to a group",
     .usage = "groups add-member GROUP ENTITY [--observer | --role member|observer]\n"
              "                [--etag E]\n\n"
              "Adds the entity as a member (default) or observer.\n"},
    {.group = "groups",
     .verb = "remove-member",
     .fn = groups_cmd_remove_member,
     .summary = "remove an entity from a group",
     .usage = "groups remove-member GROUP ENTITY [--etag E]\n"},
    {0},
};

/* groups_plan.c: `compactctl groups ...`, second half: a group's terms of
 * reference (approve-tor, tor) and work plan (plan-add, plan-update,
 * approve-plan). The first half, and the helpers used here, are in groups.c
 * (see groups.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "groups.h"
#include "pbjson.h"

typedef Compact__Workgroups__V1__WorkPlanItem wg_item;
typedef Compact__Workgroups__V1__TermsOfReference wg_tor;

#define GROUPS_PLAN_MAX_PROJECTS 100
#define GROUPS_PLAN_MAX_TEXT (4 * 1024 * 1024)

/* ---- groups approve-tor and tor -------------------------------------------------- */

/* The whole of `path` ("-": standard input) as a string; NULL after saying why. */
static char *groups_plan_read_text(const char *path)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    char *buf = NULL;
    size_t n = 0, cap = 0;
    if (!f) {
        fprintf(stderr, "compactctl: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    for (;;) {
        if (n + 4096 + 1 > cap) {
            char *grown = cap + 8192 <= GROUPS_PLAN_MAX_TEXT ? realloc(buf, cap + 8192) : NULL;
            if (!grown) {
                fprintf(stderr, "compactctl: %s: too long, or out of memory\n", path);
                free(buf);
                buf = NULL;
                break;
            }
            buf = grown;
            cap += 8192;
        }
        size_t got = fread(buf + n, 1, 4096, f);
        n += got;
        if (got < 4096) {
            buf[n] = '\0';
            break;
        }
    }
    if (f != stdin)
        fclose(f);
    return buf;
}

static const struct option groups_plan_tor_opts[] = {
    {"approved-on", required_argument, NULL, 'd'}, {"text", required_argument, NULL, 'x'},
    {"text-file", required_argument, NULL, 'f'},   {"decision-ref", required_argument, NULL, 'r'},
    {"etag", required_argument, NULL, 'e'},        {0},
};

static int groups_plan_cmd_approve_tor(cli_ctx *ctx, int argc, char **argv)
{
    const char *on = NULL, *text = NULL, *file = NULL, *etag = "", *decision = "";
    int c;
    while ((c = cli_getopt(ctx, argc, argv, groups_plan_tor_opts)) != -1) {
        switch (c) {
        case 'd':
            on = optarg;
            break;
        case 'r':
            decision = optarg;
            break;
        case 'x':
            text = optarg;
            break;
        case 'f':
            file = optarg;
            break;
        case 'e':
            etag = optarg;
            break;
        default:
            return cli_getopt_stop(ctx, c);
        }
    }
    if (groups_args(ctx, argc, argv, 1, "GROUP"))
        return CLI_EXIT_USAGE;
    if (!on || !text == !file)
        return cli_usage_error(ctx, "--approved-on and one of --text or --text-file are "
                                    "required");
    char *from_file = file ? groups_plan_read_text(file) : NULL, *group_id = NULL;
    if (file && !from_file)
        return CLI_EXIT_FAIL;
    int rc = groups_resolve_group(ctx, argv[optind], &group_id);
    if (rc == 0) {
        Compact__Workgroups__V1__TermsOfReference tor =
            COMPACT__WORKGROUPS__V1__TERMS_OF_REFERENCE__INIT;
        Compact__Workgroups__V1__ApproveTermsOfReferenceRequest req =
            COMPACT__WORKGROUPS__V1__APPROVE_TERMS_OF_REFERENCE_REQUEST__INIT;
        tor.text = from_file ? from_file : (char *)text;
        tor.approved_on = (char *)on;
        tor.decision_ref = (char *)decision;
        req.group_id = group_id;
        req.terms_of_reference = &tor;
        req.etag = (char *)etag;
        rc = groups_call_print(ctx, "ApproveTermsOfReference", &req.base, 0);
    }
    free(group_id);
    free(from_file);
    return rc;
}

/* The first line of `text`, cut short with " ..." when there is more (the
 * table is an index; --json has it all), never inside a UTF-8 character. */
static void groups_plan_first_line(const char *text, char *buf, size_t size)
{
    size_t line = strcspn(text, "\n"), keep = line, room = size - sizeof " ...";

    if (keep > room) {
        keep = room;
        while (keep > 0 && ((unsigned char)text[keep] & 0xC0) == 0x80)
            keep--; /* not inside a UTF-8 character */
    }
    snprintf(buf, size, "%.*s%s", (int)keep, text, keep < line || text[line] ? " ..." : "");
}

typedef struct groups_plan_tor_sink {
    json_t *array;
    output_table *table;
} groups_plan_tor_sink;

static int groups_plan_tor_page(cli_ctx *ctx, void *request, const char *token, void *arg,
                                char **next)
{
    Compact__Workgroups__V1__ListTermsOfReferenceRequest *req = request;
    groups_plan_tor_sink *sink = arg;
    call_result res;
    *next = NULL;
    req->page_token = (char *)token;
    int rc = cli_call(ctx, groups_service, groups_svc, "ListTermsOfReference", &req->base, &res);
    if (rc != 0)
        return rc;
    const Compact__Workgroups__V1__ListTermsOfReferenceResponse *page = (const void *)res.reply;
    for (size_t i = 0; i < page->n_terms_of_reference; i++) {
        const wg_tor *t = page->terms_of_reference[i];
        if (sink->array) {
            json_array_append_new(sink->array, pbjson_from_message(&t->base));
            continue;
        }
        char version[16], recorded[32], text[64];
        snprintf(version, sizeof version, "%d", (int)t->version);
        groups_plan_first_line(t->text, text, sizeof text);
        const char *cells[] = {version, t->approved_on,
                               output_time(t->record_time, recorded, sizeof recorded), text};
        output_table_add(sink->table, cells);
    }
    *next = page->next_page_token[0] ? strdup(page->next_page_token) : NULL;
    call_result_clear(&res);
    return 0;
}

static int groups_plan_cmd_tor(cli_ctx *ctx, int argc, char **argv)
{
    Compact__Workgroups__V1__ListTermsOfReferenceRequest req =
        COMPACT__WORKGROUPS__V1__LIST_TERMS_OF_REFERENCE_REQUEST__INIT;
    const char *token = NULL;
    int c, all = 0;
    while ((c = cli_getopt(ctx, argc, argv, groups_page_opts)) != -1) {
        if (c == 'p' && groups_page_size(ctx, optarg, &req.page_size))
            return CLI_EXIT_USAGE;
        else if (c == 't')
            token = optarg;
        else if (c == 'a')
            all = 1;
        else if (c != 'p')
            return cli_getopt_stop(ctx, c);
    }
    if (groups_args(ctx, argc, argv, 1, "GROUP"))
        return CLI_EXIT_USAGE;
    static const char *const headers[] = {"VERSION", "APPROVED_ON", "RECORDED", "TEXT"};
    groups_plan_tor_sink sink = {0};
    char *group_id = NULL;
    int rc = groups_resolve_group(ctx, argv[optind], &group_id);
    if (rc != 0)
        return rc;
    req.group_id = group_id;
    if (ctx->json)
        sink.array = json_array();
    else
        sink.table = output_table_new(headers, 4);
    if (!sink.array && !sink.table)
        rc = output_oom();
    else
        rc = groups_pages(ctx, groups_plan_tor_page, &req, token, &sink, all, "versions");
    if (rc == 0 && sink.array)
        rc = output_json(json_incref(sink.array));
    else if (rc == 0 && output_table_print(sink.table, stdout) != 0)
        rc = CLI_EXIT_FAIL;
    json_decref(sink.array);
    output_table_free(sink.table);
    free(group_id);
    return rc;
}

/* ---- groups plan-add and plan-update ---------------------------------------------- */

typedef struct groups_plan_draft {
    wg_item item;
    char *projects[GROUPS_PLAN_MAX_PROJECTS];
    char *paths[GROUPS_MAX_PATHS];
    size_t n_paths;
    const char *owner; /* as typed: id or acronym */
    const char *etag;
} groups_plan_draft;

static const struct option groups_plan_item_opts[] = {
    {"title", required_argument, NULL, 'T'},
    {"description", required_argument, NULL, 'D'},
    {"owner", required_argument, NULL, 'o'},
    {"due", required_argument, NULL, 'd'},
    {"status", required_argument, NULL, 's'},
    {"project", required_argument, NULL, 'j'},
    {"clear-projects", no_argument, NULL, 'C'},
    {"etag", required_argument, NULL, 'e'},
    {0},
};

/* Applies one item flag: 0, an exit status, or -1 if `c` is not one. */
static int groups_plan_item_flag(cli_ctx *ctx, void *draft, int c, char *v)
{
    groups_plan_draft *d = draft;
    wg_item *it = &d->item;
    int value;
    switch (c) {
    case 'T':
        it->title = v;
        groups_mark(d->paths, &d->n_paths, "title");
        return 0;
    case 'D':
        it->description = v;
        groups_mark(d->paths, &d->n_paths, "description");
        return 0;
    case 'd':
        it->due_on = v;
        groups_mark(d->paths, &d->n_paths, "due_on");
        return 0;
    case 'o':
        d->owner = v;
        groups_mark(d->paths, &d->n_paths, "owner_entity_id");
        return 0;
    case 'C':
        groups_mark(d->paths, &d->n_paths, "project_ids");
        return 0;
    case 'e':
        d->etag = v;
        return 0;
    case 'j':
        if (it->n_project_ids == GROUPS_PLAN_MAX_PROJECTS)
            return cli_usage_error(ctx, "--project: at most %d", GROUPS_PLAN_MAX_PROJECTS);
        d->projects[it->n_project_ids++] = v;
        groups_mark(d->paths, &d->n_paths, "project_ids");
        return 0;
    case 's':
        if (groups_parse_enum(ctx, "--status", groups_item_statuses,
                              &compact__workgroups__v1__work_item_status__descriptor,
                              "not-started, in-progress, done or blocked", v, &value))
            return CLI_EXIT_USAGE;
        it->status = value;
        groups_mark(d->paths, &d->n_paths, "status");
        return 0;
    default:
        return -1;
    }
}

/* Reads the flags and `nargs` positional arguments. -1 to go on, else the
 * exit status. */
static int groups_plan_item_parse(cli_ctx *ctx, groups_plan_draft *d, int argc, char **argv,
                                  int nargs, const char *what)
{
    int rc;
    memset(d, 0, sizeof *d);
    compact__workgroups__v1__work_plan_item__init(&d->item);
    d->item.project_ids = d->projects;
    rc = cli_parse_flags(ctx, argc, argv, groups_plan_item_opts, groups_plan_item_flag, d);
    if (rc != -1)
        return rc;
    return groups_args(ctx, argc, argv, nargs, what) ? CLI_EXIT_USAGE : -1;
}

static int groups_plan_cmd_add(cli_ctx *ctx, int argc, char **argv)
{
    groups_plan_draft d;
    int rc = groups_plan_item_parse(ctx, &d, argc, argv, 1, "GROUP");
    if (rc != -1)
        return rc;
    if (!d.item.title[0] || !d.owner)
        return cli_usage_error(ctx, "--title and --owner are required");
    char *group_id = NULL, *owner = NULL;
    rc = groups_resolve_group(ctx, argv[optind], &group_id);
    if (rc == 0)
        rc = groups_resolve_entity(ctx, d.owner, &owner);
    if (rc == 0) {
        Compact__Workgroups__V1__AddWorkPlanItemRequest req =
            COMPACT__WORKGROUPS__V1__ADD_WORK_PLAN_ITEM_REQUEST__INIT;
        d.item.owner_entity_id = owner;
        req.group_id = group_id;
        req.item = &d.item;
        req.etag = d.etag ? (char *)d.etag : "";
        rc = groups_call_print(ctx, "AddWorkPlanItem", &req.base, 1);
    }
    free(group_id);
    free(owner);
    return rc;
}

static int groups_plan_cmd_update(cli_ctx *ctx, int argc, char **argv)
{
    groups_plan_draft d;
    int rc = groups_plan_item_parse(ctx, &d, argc, argv, 2, "GROUP and ITEM");
    if (rc != -1)
        return rc;
    if (d.n_paths == 0)
        return cli_usage_error(ctx, "nothing to update: give at least one field flag");
    char *group_id = NULL, *owner = NULL;
    rc = groups_resolve_group(ctx, argv[optind], &group_id);
    if (rc == 0 && d.owner)
        rc = groups_resolve_entity(ctx, d.owner, &owner);
    if (rc == 0) {
        Google__Protobuf__FieldMask mask = GOOGLE__PROTOBUF__FIELD_MASK__INIT;
        Compact__Workgroups__V1__UpdateWorkPlanItemRequest req =
            COMPACT__WORKGROUPS__V1__UPDATE_WORK_PLAN_ITEM_REQUEST__INIT;
        mask.n_paths = d.n_paths;
        mask.paths = d.paths;
        d.item.id = argv[optind + 1];
        if (owner)
            d.item.owner_entity_id = owner;
        req.group_id = group_id;
        req.item = &d.item;
        req.update_mask = &mask;
        req.etag = d.etag ? (char *)d.etag : "";
        rc = groups_call_print(ctx, "UpdateWorkPlanItem", &req.base, 1);
    }
    free(group_id);
    free(owner);
    return rc;
}

/* ---- groups approve-plan ---------------------------------------------------------- */

#define GROUPS_PLAN_MAX_ITEMS 200

static const struct option groups_plan_approve_opts[] = {
    {"period-start", required_argument, NULL, 's'},
    {"period-end", required_argument, NULL, 'E'},
    {"approved-on", required_argument, NULL, 'd'},
    {"item", required_argument, NULL, 'i'},
    {"decision-ref", required_argument, NULL, 'r'},
    {"etag", required_argument, NULL, 'e'},
    {0},
};

static int groups_plan_cmd_approve(cli_ctx *ctx, int argc, char **argv)
{
    Compact__Workgroups__V1__ApprovedWorkPlan plan =
        COMPACT__WORKGROUPS__V1__APPROVED_WORK_PLAN__INIT;
    Compact__Workgroups__V1__ApproveWorkPlanRequest req =
        COMPACT__WORKGROUPS__V1__APPROVE_WORK_PLAN_REQUEST__INIT;
    char *items[GROUPS_PLAN_MAX_ITEMS], *group_id = NULL;
    int c, rc;
    while ((c = cli_getopt(ctx, argc, argv, groups_plan_approve_opts)) != -1) {
        if (c == 's')
            plan.period_start = optarg;
        else if (c == 'E')
            plan.period_end = optarg;
        else if (c == 'd')
            plan.approved_on = optarg;
        else if (c == 'r')
            plan.decision_ref = optarg;
        else if (c == 'e')
            req.etag = optarg;
        else if (c == 'i' && plan.n_item_ids < GROUPS_PLAN_MAX_ITEMS)
            items[plan.n_item_ids++] = optarg;
        else if (c == 'i')
            return cli_usage_error(ctx, "--item: at most %d", GROUPS_PLAN_MAX_ITEMS);
        else
            return cli_getopt_stop(ctx, c);
    }
    if (groups_args(ctx, argc, argv, 1, "GROUP"))
        return CLI_EXIT_USAGE;
    if (!plan.period_start[0] || !plan.period_end[0] || !plan.approved_on[0] ||
        plan.n_item_ids == 0)
        return cli_usage_error(ctx, "--period-start, --period-end, --approved-on and at least "
                                    "one --item are required");
    if ((rc = groups_resolve_group(ctx, argv[optind], &group_id)) != 0)
        return rc;
    plan.item_ids = items;
    req.group_id = group_id;
    req.plan = &plan;
    rc = groups_call_print(ctx, "ApproveWorkPlan", &req.base, 0);
    free(group_id);
    return rc;
}

/* ---- the table ------------------------------------------------------------ */

const cli_command groups_plan_commands[] = {
    {.group = "groups",
     .verb = "approve-tor",
     .fn = groups_plan_cmd_approve_tor,
     .summary = "record a new version of the terms of reference",
     .usage = "groups approve-tor GROUP --approved-on YYYY-MM-DD\n"
              "                (--text T | --text-file FILE|-) [--decision-ref R] [--etag E]\n\n"
              "Adds the next version, approved by the Coordination Committee on the date\n"
              "given; earlier versions stay readable (groups tor). --decision-ref names\n"
              "the Committee's decision (dec_ID/effects/N): approving again under it\n"
              "adds nothing and prints the group as it is.\n"},
    {.group = "groups",
     .verb = "tor",
     .fn = groups_plan_cmd_tor,
     .summary = "list every version of the terms of reference",
     .usage = "groups tor GROUP [--page-size N] [--page-token T] [--all]\n\n"
              "A table (VERSION, APPROVED_ON, RECORDED, TEXT: its first line) or, with\n"
              "--json, the versions in full, oldest first.\n"},
    {.group = "groups",
     .verb = "plan-add",
     .fn = groups_plan_cmd_add,
     .summary = "add a work plan item",
     .usage = "groups plan-add GROUP --title T --owner ENTITY [--description D]\n"
              "                [--due YYYY-MM-DD] [--status S] [--project ID]... [--etag E]\n\n"
              "Statuses: not-started (default), in-progress, done, blocked. Prints the\n"
              "item with its id.\n"},
    {.group = "groups",
     .verb = "plan-update",
     .fn = groups_plan_cmd_update,
     .summary = "change a work plan item",
     .usage = "groups plan-update GROUP ITEM [--title T] [--description D] [--owner E]\n"
              "                [--due D] [--status S] [--project ID]... [--clear-projects]\n"
              "                [--etag E]\n\n"
              "Changes only the fields given; --project replaces all linked projects,\n"
              "--clear-projects removes them. --etag is the item's.\n"},
    {.group = "groups",
     .verb = "approve-plan",
     .fn = groups_plan_cmd_approve,
     .summary = "record a work plan as the Committee approved it",
     .usage = "groups approve-plan GROUP --period-start YYYY-MM-DD --period-end YYYY-MM-DD\n"
              "                --approved-on YYYY-MM-DD --item ITEM [--item ITEM]...\n"
              "                [--decision-ref R] [--etag E]\n\n"
              "Adds the next approved version of the work plan: its period, the items\n"
              "(ids \"wpi_...\" of the group's work plan, at most 200) and the day of the\n"
              "Committee's approval. Approved versions never change; groups get lists\n"
              "them. Approving again under the same --decision-ref adds nothing.\n"},
    {0},
};

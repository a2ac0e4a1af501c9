/* notices.c: `compactctl notices ...`, information-sharing in
 * compact.workgroups.v1: post, list, subscribe, unsubscribe, watch and
 * digest.
 *
 * Groups are named by id or code and entities by id or acronym, as in
 * groups.c (whose helpers, groups.h, these commands use). `notices watch`
 * holds a WatchNotices stream open and prints each notice as it arrives, one
 * line each (with --json one JSON object per line), until the server ends
 * the stream, --for runs out, or the command is interrupted.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "groups.h"
#include "pbjson.h"

typedef Compact__Workgroups__V1__Notice wg_notice;
typedef Compact__Workgroups__V1__Subscription wg_subscription;

#define NOTICES_MAX_GROUPS 50
#define NOTICES_MAX_BODY (1024 * 1024)

/* ---- enums as people type them ------------------------------------------------ */

static const groups_name notices_kinds[] = {
    {"terms-of-reference", COMPACT__WORKGROUPS__V1__NOTICE_KIND__NOTICE_KIND_TERMS_OF_REFERENCE},
    {"work-plan", COMPACT__WORKGROUPS__V1__NOTICE_KIND__NOTICE_KIND_WORK_PLAN},
    {"report", COMPACT__WORKGROUPS__V1__NOTICE_KIND__NOTICE_KIND_REPORT},
    {"publication", COMPACT__WORKGROUPS__V1__NOTICE_KIND__NOTICE_KIND_PUBLICATION},
    {"meeting-document", COMPACT__WORKGROUPS__V1__NOTICE_KIND__NOTICE_KIND_MEETING_DOCUMENT},
    {"update", COMPACT__WORKGROUPS__V1__NOTICE_KIND__NOTICE_KIND_UPDATE},
    {NULL, 0},
};

static const groups_name notices_visibilities[] = {
    {"public", COMPACT__WORKGROUPS__V1__VISIBILITY__VISIBILITY_PUBLIC},
    {"compact", COMPACT__WORKGROUPS__V1__VISIBILITY__VISIBILITY_COMPACT},
    {"members", COMPACT__WORKGROUPS__V1__VISIBILITY__VISIBILITY_GROUP_MEMBERS},
    {NULL, 0},
};

static const char *notices_name_of(const groups_name *names, int value)
{
    for (const groups_name *n = names; n->name; n++)
        if (n->value == value)
            return n->name;
    return "?";
}

/* ---- printing ------------------------------------------------------------------ */

static int notices_print_fields(output_table *t)
{
    int rc = output_table_print(t, stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
    output_table_free(t);
    return rc;
}

static int notices_print_notice(const wg_notice *n)
{
    char posted[32];
    output_table *t = output_table_new(NULL, 2);
    if (!t)
        return output_oom();
    output_table_field(t, "id", n->id);
    output_table_field(t, "working_group",
                       n->working_group_id[0] ? n->working_group_id : "(the whole Compact)");
    output_table_field(t, "kind", notices_name_of(notices_kinds, n->kind));
    output_table_field(t, "visibility", notices_name_of(notices_visibilities, n->visibility));
    output_table_field(t, "title", n->title);
    output_table_field(t, "author", n->author_entity_id);
    output_table_field(t, "document_url", n->document_url[0] ? n->document_url : NULL);
    output_table_field(t, "decision_ref", n->decision_ref[0] ? n->decision_ref : NULL);
    output_table_field(t, "post_time", output_time(n->post_time, posted, sizeof posted));
    output_table_field(t, "body", n->body[0] ? n->body : NULL);
    return notices_print_fields(t);
}

static int notices_print_subscription(const wg_subscription *s)
{
    char created[32];
    output_table *t = output_table_new(NULL, 2);
    if (!t)
        return output_oom();
    output_table_field(t, "id", s->id);
    output_table_field(t, "entity", s->entity_id);
    output_table_field(t, "focal_point_email", s->focal_point_email);
    for (size_t i = 0; i < s->n_working_group_ids; i++)
        output_table_field(t, "working_group", s->working_group_ids[i]);
    output_table_field(t, "compact_wide", s->compact_wide ? "yes" : "no");
    output_table_field(t, "create_time", output_time(s->create_time, created, sizeof created));
    return notices_print_fields(t);
}

/* Calls `method` of workgroups and prints its reply: a Notice or a
 * Subscription (field lines or --json). */
static int notices_call_print(cli_ctx *ctx, const char *method, const ProtobufCMessage *req)
{
    call_result res;
    int rc = cli_call(ctx, groups_service, groups_svc, method, req, &res);
    if (rc != 0)
        return rc;
    if (ctx->json)
        rc = output_json(pbjson_from_message(res.reply));
    else if (res.reply->descriptor == &compact__workgroups__v1__notice__descriptor)
        rc = notices_print_notice((const wg_notice *)res.reply);
    else
        rc = notices_print_subscription((const wg_subscription *)res.reply);
    call_result_clear(&res);
    return rc;
}

static const char *const notices_headers[] = {"POSTED", "ID",         "GROUP",
                                              "KIND",   "VISIBILITY", "TITLE"};

static void notices_table_add(output_table *t, const wg_notice *n)
{
    char posted[32];
    const char *cells[] = {output_time(n->post_time, posted, sizeof posted),
                           n->id,
                           n->working_group_id[0] ? n->working_group_id : "-",
                           notices_name_of(notices_kinds, n->kind),
                           notices_name_of(notices_visibilities, n->visibility),
                           n->title};
    output_table_add(t, cells);
}

/* ---- notices post --------------------------------------------------------------- */

static const struct option notices_post_opts[] = {
    {"group", required_argument, NULL, 'g'},
    {"kind", required_argument, NULL, 'k'},
    {"title", required_argument, NULL, 'T'},
    {"body", required_argument, NULL, 'b'},
    {"body-file", required_argument, NULL, 'B'},
    {"url", required_argument, NULL, 'u'},
    {"visibility", required_argument, NULL, 'v'},
    {"author", required_argument, NULL, 'A'},
    {"decision-ref", required_argument, NULL, 'r'},
    {"request-id", required_argument, NULL, 'R'},
    {0},
};

typedef struct notices_draft {
    wg_notice notice;
    const char *group, *author, *body_file, *request_id;
} notices_draft;

/* Applies one post flag: 0, an exit status, or -1 if `c` is not one. */
static int notices_post_flag(cli_ctx *ctx, void *draft, int c, char *v)
{
    notices_draft *d = draft;
    int value;
    switch (c) {
    case 'g':
        d->group = v;
        return 0;
    case 'A':
        d->author = v;
        return 0;
    case 'B':
        d->body_file = v;
        return 0;
    case 'R':
        d->request_id = v;
        return 0;
    case 'T':
        d->notice.title = v;
        return 0;
    case 'b':
        d->notice.body = v;
        return 0;
    case 'u':
        d->notice.document_url = v;
        return 0;
    case 'r':
        d->notice.decision_ref = v;
        return 0;
    case 'k':
        if (groups_parse_enum(ctx, "--kind", notices_kinds,
                              &compact__workgroups__v1__notice_kind__descriptor,
                              "terms-of-reference, work-plan, report, publication, "
                              "meeting-document or update",
                              v, &value))
            return CLI_EXIT_USAGE;
        d->notice.kind = value;
        return 0;
    case 'v':
        if (groups_parse_enum(ctx, "--visibility", notices_visibilities,
                              &compact__workgroups__v1__visibility__descriptor,
                              "public, compact or members", v, &value))
            return CLI_EXIT_USAGE;
        d->notice.visibility = value;
        return 0;
    default:
        return -1;
    }
}

/* The whole of `path` ("-": standard input), at most NOTICES_MAX_BODY
 * bytes; NULL after saying why. */
static char *notices_read_file(const char *path)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    char *buf;
    size_t n;
    if (!f) {
        fprintf(stderr, "compactctl: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    buf = malloc(NOTICES_MAX_BODY + 1);
    n = buf ? fread(buf, 1, NOTICES_MAX_BODY + 1, f) : 0;
    if (f != stdin)
        fclose(f);
    if (!buf || n > NOTICES_MAX_BODY) {
        fprintf(stderr, "compactctl: %s: too long, or out of memory\n", path);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

static int notices_cmd_post(cli_ctx *ctx, int argc, char **argv)
{
    Compact__Workgroups__V1__PostNoticeRequest req =
        COMPACT__WORKGROUPS__V1__POST_NOTICE_REQUEST__INIT;
    notices_draft d = {0};
    char *group_id = NULL, *author_id = NULL, *body = NULL;
    int rc;
    compact__workgroups__v1__notice__init(&d.notice);
    rc = cli_parse_flags(ctx, argc, argv, notices_post_opts, notices_post_flag, &d);
    if (rc != -1)
        return rc;
    if (optind < argc)
        return cli_usage_error(ctx, "unexpected argument \"%s\"", argv[optind]);
    if (!d.notice.title[0] || !d.notice.kind || !d.notice.visibility || !d.author)
        return cli_usage_error(ctx, "--title, --kind, --visibility and --author are required");
    if (d.body_file && d.notice.body[0])
        return cli_usage_error(ctx, "give --body or --body-file, not both");
    if (d.body_file && (body = notices_read_file(d.body_file)) == NULL)
        return CLI_EXIT_FAIL;
    rc = d.group ? groups_resolve_group(ctx, d.group, &group_id) : 0;
    if (rc == 0)
        rc = groups_resolve_entity(ctx, d.author, &author_id);
    if (rc == 0) {
        d.notice.working_group_id = group_id ? group_id : "";
        d.notice.author_entity_id = author_id;
        if (body)
            d.notice.body = body;
        req.notice = &d.notice;
        req.request_id = d.request_id ? (char *)d.request_id : "";
        rc = notices_call_print(ctx, "PostNotice", &req.base);
    }
    free(group_id);
    free(author_id);
    free(body);
    return rc;
}

/* ---- notices list ----------------------------------------------------------------- */

static const struct option notices_list_opts[] = {
    {"group", required_argument, NULL, 'g'},
    {"reader", required_argument, NULL, 'r'},
    {"page-size", required_argument, NULL, 'p'},
    {"page-token", required_argument, NULL, 't'},
    {"all", no_argument, NULL, 'a'},
    {0},
};

typedef struct notices_sink {
    json_t *array;
    output_table *table;
} notices_sink;

static int notices_list_page(cli_ctx *ctx, void *request, const char *token, void *arg, char **next)
{
    Compact__Workgroups__V1__ListNoticesRequest *req = request;
    notices_sink *sink = arg;
    call_result res;
    *next = NULL;
    req->page_token = (char *)token;
    int rc = cli_call(ctx, groups_service, groups_svc, "ListNotices", &req->base, &res);
    if (rc != 0)
        return rc;
    const Compact__Workgroups__V1__ListNoticesResponse *page = (const void *)res.reply;
    for (size_t i = 0; i < page->n_notices; i++) {
        if (sink->array)
            json_array_append_new(sink->array, pbjson_from_message(&page->notices[i]->base));
        else
            notices_table_add(sink->table, page->notices[i]);
    }
    *next = page->next_page_token[0] ? strdup(page->next_page_token) : NULL;
    call_result_clear(&res);
    return 0;
}

/* Prints the sink (JSON array or table) and frees it; an exit status. */
static int notices_sink_print(notices_sink *sink, int rc)
{
    if (rc == 0 && sink->array)
        rc = output_json(json_incref(sink->array));
    else if (rc == 0 && output_table_print(sink->table, stdout) != 0)
        rc = CLI_EXIT_FAIL;
    json_decref(sink->array);
    output_table_free(sink->table);
    return rc;
}

static int notices_sink_init(cli_ctx *ctx, notices_sink *sink)
{
    memset(sink, 0, sizeof *sink);
    if (ctx->json)
        sink->array = json_array();
    else
        sink->table = output_table_new(notices_headers, 6);
    return sink->array || sink->table ? 0 : output_oom();
}

static int notices_cmd_list(cli_ctx *ctx, int argc, char **argv)
{
    Compact__Workgroups__V1__ListNoticesRequest req =
        COMPACT__WORKGROUPS__V1__LIST_NOTICES_REQUEST__INIT;
    const char *token = NULL, *group = NULL, *reader = NULL;
    char *group_id = NULL, *reader_id = NULL;
    notices_sink sink;
    int c, rc = 0, all = 0;
    while ((c = cli_getopt(ctx, argc, argv, notices_list_opts)) != -1) {
        if (c == 'p' && groups_page_size(ctx, optarg, &req.page_size))
            return CLI_EXIT_USAGE;
        else if (c == 't')
            token = optarg;
        else if (c == 'a')
            all = 1;
        else if (c == 'g')
            group = optarg;
        else if (c == 'r')
            reader = optarg;
        else if (c != 'p')
            return cli_getopt_stop(ctx, c);
    }
    if (optind < argc)
        return cli_usage_error(ctx, "unexpected argument \"%s\"", argv[optind]);
    if (group)
        rc = groups_resolve_group(ctx, group, &group_id);
    if (rc == 0 && reader)
        rc = groups_resolve_entity(ctx, reader, &reader_id);
    if (rc == 0 && (rc = notices_sink_init(ctx, &sink)) == 0) {
        req.working_group_id = group_id ? group_id : "";
        req.reader_entity_id = reader_id ? reader_id : "";
        rc = notices_sink_print(
            &sink, groups_pages(ctx, notices_list_page, &req, token, &sink, all, "notices"));
    }
    free(group_id);
    free(reader_id);
    return rc;
}

/* ---- notices subscribe and unsubscribe ---------------------------------------------- */

static const struct option notices_subscribe_opts[] = {
    {"entity", required_argument, NULL, 'E'},     {"email", required_argument, NULL, 'm'},
    {"group", required_argument, NULL, 'g'},      {"compact-wide", no_argument, NULL, 'w'},
    {"request-id", required_argument, NULL, 'R'}, {0},
};

static int notices_cmd_subscribe(cli_ctx *ctx, int argc, char **argv)
{
    Compact__Workgroups__V1__SubscribeRequest req =
        COMPACT__WORKGROUPS__V1__SUBSCRIBE_REQUEST__INIT;
    Compact__Workgroups__V1__Subscription sub = COMPACT__WORKGROUPS__V1__SUBSCRIPTION__INIT;
    const char *entity = NULL, *groups[NOTICES_MAX_GROUPS];
    char *ids[NOTICES_MAX_GROUPS] = {0}, *entity_id = NULL;
    size_t n = 0;
    int c, rc = 0;
    while ((c = cli_getopt(ctx, argc, argv, notices_subscribe_opts)) != -1) {
        if (c == 'E')
            entity = optarg;
        else if (c == 'm')
            sub.focal_point_email = optarg;
        else if (c == 'w')
            sub.compact_wide = 1;
        else if (c == 'R')
            req.request_id = optarg;
        else if (c == 'g' && n < NOTICES_MAX_GROUPS)
            groups[n++] = optarg;
        else if (c == 'g')
            return cli_usage_error(ctx, "--group: at most %d", NOTICES_MAX_GROUPS);
        else
            return cli_getopt_stop(ctx, c);
    }
    if (optind < argc)
        return cli_usage_error(ctx, "unexpected argument \"%s\"", argv[optind]);
    if (!entity || !sub.focal_point_email[0] || (n == 0 && !sub.compact_wide))
        return cli_usage_error(ctx, "--entity, --email and at least one --group or "
                                    "--compact-wide are required");
    rc = groups_resolve_entity(ctx, entity, &entity_id);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = groups_resolve_group(ctx, groups[i], &ids[i]);
    if (rc == 0) {
        sub.entity_id = entity_id;
        sub.working_group_ids = ids;
        sub.n_working_group_ids = n;
        req.subscription = &sub;
        rc = notices_call_print(ctx, "Subscribe", &req.base);
    }
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(entity_id);
    return rc;
}

static const struct option notices_no_opts[] = {
    {0},
};

static int notices_cmd_unsubscribe(cli_ctx *ctx, int argc, char **argv)
{
    Compact__Workgroups__V1__UnsubscribeRequest req =
        COMPACT__WORKGROUPS__V1__UNSUBSCRIBE_REQUEST__INIT;
    call_result res;
    int c, rc;
    while ((c = cli_getopt(ctx, argc, argv, notices_no_opts)) != -1)
        return cli_getopt_stop(ctx, c);
    if (groups_args(ctx, argc, argv, 1, "SUBSCRIPTION"))
        return CLI_EXIT_USAGE;
    req.subscription_id = argv[optind];
    if ((rc = cli_call(ctx, groups_service, groups_svc, "Unsubscribe", &req.base, &res)) != 0)
        return rc;
    call_result_clear(&res);
    if (ctx->json)
        return output_json(json_object());
    printf("unsubscribed %s\n", req.subscription_id);
    return CLI_EXIT_OK;
}

/* ---- notices watch --------------------------------------------------------------------- */

static const struct option notices_watch_opts[] = {
    {"for", required_argument, NULL, 'f'},
    {0},
};

/* rpc_message_cb: one line per notice, at once. */
static void notices_on_notice(void *arg, const ProtobufCMessage *msg)
{
    const cli_ctx *ctx = arg;
    const wg_notice *n = (const wg_notice *)msg;
    char posted[32];
    if (ctx->json) {
        json_t *j = pbjson_from_message(msg);
        char *line = j ? json_dumps(j, JSON_COMPACT) : NULL;
        if (line)
            printf("%s\n", line);
        else
            fprintf(stderr, "compactctl: out of memory printing notice %s\n", n->id);
        free(line);
        json_decref(j);
    } else {
        printf("%s  %s  %s  %s  %s  %s\n", output_time(n->post_time, posted, sizeof posted), n->id,
               n->working_group_id[0] ? n->working_group_id : "-",
               notices_name_of(notices_kinds, n->kind),
               notices_name_of(notices_visibilities, n->visibility), n->title);
    }
    fflush(stdout);
}

static int notices_cmd_watch(cli_ctx *ctx, int argc, char **argv)
{
    Compact__Workgroups__V1__WatchNoticesRequest req =
        COMPACT__WORKGROUPS__V1__WATCH_NOTICES_REQUEST__INIT;
    long seconds = 0;
    char *end;
    int c;
    while ((c = cli_getopt(ctx, argc, argv, notices_watch_opts)) != -1) {
        if (c != 'f')
            return cli_getopt_stop(ctx, c);
        errno = 0;
        seconds = strtol(optarg, &end, 10);
        if (errno || end == optarg || *end || seconds < 1 || seconds > 7 * 24 * 3600)
            return cli_usage_error(ctx, "--for: expected seconds from 1 to 604800, got \"%s\"",
                                   optarg);
    }
    if (groups_args(ctx, argc, argv, 1, "SUBSCRIPTION"))
        return CLI_EXIT_USAGE;
    req.subscription_id = argv[optind];
    return cli_watch(ctx, groups_service, groups_svc, "WatchNotices", &req.base,
                     (int)(seconds * 1000), notices_on_notice, ctx);
}

/* ---- notices digest ----------------------------------------------------------------------- */

/* "YYYY-MM-DD" (midnight UTC) or "YYYY-MM-DDTHH:MM:SS[.fff]Z" into *ts. */
static int notices_parse_time(const char *s, Google__Protobuf__Timestamp *ts)
{
    struct tm tm = {0};
    int n = 0, frac_digits = 0;
    long frac = 0;
    const char *p;

    if (sscanf(s, "%4d-%2d-%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &n) != 3 || n != 10)
        return -1;
    p = s + n;
    if (*p == 'T' || *p == 't') {
        if (sscanf(p + 1, "%2d:%2d:%2d%n", &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 3 || n != 8)
            return -1;
        p += 1 + n;
        if (*p == '.')
            for (p++; *p >= '0' && *p <= '9'; p++, frac_digits++)
                if (frac_digits < 9)
                    frac = frac * 10 + (*p - '0');
        if ((*p != 'Z' && *p != 'z') || p[1])
            return -1;
    } else if (*p) {
        return -1;
    }
    if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
        tm.tm_min > 59 || tm.tm_sec > 60)
        return -1;
    for (; frac_digits < 9; frac_digits++)
        frac *= 10;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    ts->seconds = (int64_t)timegm(&tm);
    ts->nanos = (int32_t)frac;
    return 0;
}

static const struct option notices_digest_opts[] = {
    {"since", required_argument, NULL, 's'},
    {0},
};

static int notices_cmd_digest(cli_ctx *ctx, int argc, char **argv)
{
    Compact__Workgroups__V1__GetDigestRequest req =
        COMPACT__WORKGROUPS__V1__GET_DIGEST_REQUEST__INIT;
    Google__Protobuf__Timestamp since = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    const char *since_text = NULL;
    call_result res;
    char until[32];
    int c, rc;
    while ((c = cli_getopt(ctx, argc, argv, notices_digest_opts)) != -1) {
        if (c != 's')
            return cli_getopt_stop(ctx, c);
        since_text = optarg;
    }
    if (groups_args(ctx, argc, argv, 1, "SUBSCRIPTION"))
        return CLI_EXIT_USAGE;
    if (!since_text)
        return cli_usage_error(ctx, "--since is required");
    if (notices_parse_time(since_text, &since) != 0)
        return cli_usage_error(
            ctx, "--since: expected YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ, got \"%s\"", since_text);
    req.subscription_id = argv[optind];
    req.since = &since;
    if ((rc = cli_call(ctx, groups_service, groups_svc, "GetDigest", &req.base, &res)) != 0)
        return rc;
    const Compact__Workgroups__V1__Digest *d = (const void *)res.reply;
    if (ctx->json) {
        rc = output_json(pbjson_from_message(res.reply));
    } else {
        output_table *t = output_table_new(notices_headers, 6);
        for (size_t i = 0; t && i < d->n_notices; i++)
            notices_table_add(t, d->notices[i]);
        rc = t && output_table_print(t, stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
        output_table_free(t);
        if (rc == 0)
            printf("until: %s%s\n", output_time(d->until, until, sizeof until),
                   d->truncated ? " (truncated: ask again with --since this time)" : "");
    }
    call_result_clear(&res);
    return rc;
}

/* ---- the table ---------------------------------------------------------------------------- */

const cli_command notices_commands[] = {
    {.group = "notices",
     .verb = "post",
     .fn = notices_cmd_post,
     .summary = "post a notice to a group or the whole Compact",
     .usage = "notices post --title T --kind K --visibility public|compact|members\n"
              "                --author ENTITY [--group GROUP] [--body B | --body-file FILE|-]\n"
              "                [--url https://...] [--decision-ref R] [--request-id ID]\n\n"
              "Kinds: terms-of-reference, work-plan, report, publication,\n"
              "meeting-document, update. Without --group the notice is to the whole\n"
              "Compact; members (the group's leaders and members only) needs --group.\n"
              "Subscribers watching hear of it at once.\n"},
    {.group = "notices",
     .verb = "list",
     .fn = notices_cmd_list,
     .summary = "list notices, newest first, as a reader sees them",
     .usage = "notices list [--group GROUP] [--reader ENTITY] [--page-size N]\n"
              "                [--page-token T] [--all]\n\n"
              "Without --reader only public notices are listed; with it, what that\n"
              "entity may see (the whole Compact's, and its groups' members-only ones).\n"},
    {.group = "notices",
     .verb = "subscribe",
     .fn = notices_cmd_subscribe,
     .summary = "subscribe a focal point to groups' notices",
     .usage = "notices subscribe --entity ENTITY --email FOCAL_POINT_EMAIL\n"
              "                [--group GROUP]... [--compact-wide] [--request-id ID]\n\n"
              "The e-mail must be one of the entity's focal points. --compact-wide also\n"
              "follows the notices to the whole Compact. Prints the subscription id.\n"},
    {.group = "notices",
     .verb = "unsubscribe",
     .fn = notices_cmd_unsubscribe,
     .summary = "remove a subscription (its watches end)",
     .usage = "notices unsubscribe SUBSCRIPTION\n"},
    {.group = "notices",
     .verb = "watch",
     .fn = notices_cmd_watch,
     .summary = "print a subscription's new notices as they are posted",
     .usage = "notices watch SUBSCRIPTION [--for SECONDS]\n\n"
              "One line per notice (POSTED ID GROUP KIND VISIBILITY TITLE), or one JSON\n"
              "object per line with --json, until the server ends the watch, --for\n"
              "runs out (exit 0) or the command is interrupted.\n"},
    {.group = "notices",
     .verb = "digest",
     .fn = notices_cmd_digest,
     .summary = "a subscription's notices since a time",
     .usage = "notices digest SUBSCRIPTION --since YYYY-MM-DD|YYYY-MM-DDTHH:MM:SSZ\n\n"
              "The notices posted after --since that the subscription follows and its\n"
              "entity may see, oldest first, at most 500, then \"until: TIME\": ask\n"
              "again with --since TIME for what comes next.\n"},
    {0},
};

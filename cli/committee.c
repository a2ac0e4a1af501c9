/* committee.c: `compactctl committee ...`: the composition on a date, the
 * standing seats (representatives), the table of the nouns, and the helpers
 * of committee_meetings.c, committee_decisions.c and committee_funding.c
 * (committee.h).
 *
 *   committee composition [--as-of DATE]       GetComposition
 *   committee representatives list|add|end     the standing seats
 *   committee meetings ...                     committee_meetings.c
 *   committee decisions ...                    committee_decisions.c
 *   committee envelope ..., proposals ...      committee_funding.c
 */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "committee.h"
#include "iso_codes.h"
#include "pbjson.h"
#include "pbmsg.h"

typedef Compact__Committee__V1__Representative cm_rep;
typedef Compact__Common__V1__Provenance cm_fact;

const char committee_service[] = "committee";
const ProtobufCServiceDescriptor *const committee_svc =
    &compact__committee__v1__committee__descriptor;

#define COMMITTEE_MAX_TEXT (4 * 1024 * 1024)

/* ---- verbs ------------------------------------------------------------------- */

static int committee_is_help(const char *arg)
{
    return arg && (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0);
}

int committee_dispatch(cli_ctx *ctx, const cli_command *verbs, int argc, char **argv)
{
    const char *noun = argv[0], *verb = argc > 1 ? argv[1] : NULL;
    char choices[256] = "";
    size_t n = 0;

    if (committee_is_help(verb)) {
        for (const cli_command *v = verbs; v->group; v++) {
            ctx->cmd = v;
            cli_getopt_stop(ctx, CLI_OPT_HELP);
        }
        return CLI_EXIT_OK;
    }
    for (const cli_command *v = verbs; verb && v->group; v++) {
        if (strcmp(v->verb, verb) == 0) {
            ctx->cmd = v;
            optind = 0; /* GNU getopt: start over with the verb's argv */
            return v->fn(ctx, argc - 1, argv + 1);
        }
    }
    for (const cli_command *v = verbs; v->group; v++, n++) {
        size_t len = strlen(choices);
        snprintf(choices + len, sizeof choices - len, "%s%s",
                 n == 0       ? ""
                 : v[1].group ? ", "
                              : " or ",
                 v->verb);
    }
    if (verb)
        fprintf(stderr, "compactctl: %s: unknown verb \"%s\": expected %s\n", noun, verb, choices);
    else
        fprintf(stderr, "compactctl: %s: which verb? %s\n", noun, choices);
    for (const cli_command *v = verbs; v->group; v++) {
        ctx->cmd = v;
        cli_getopt_stop(ctx, CLI_OPT_BAD); /* the usage, on stderr */
    }
    return CLI_EXIT_USAGE;
}

/* ---- flags --------------------------------------------------------------------- */

static int committee_days_in_month(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

int committee_check_date(cli_ctx *ctx, const char *flag, const char *v)
{
    static const char shape[] = "dddd-dd-dd";
    int ok = strlen(v) == sizeof shape - 1;

    for (size_t i = 0; ok && i < sizeof shape - 1; i++)
        ok = shape[i] == 'd' ? isdigit((unsigned char)v[i]) != 0 : v[i] == shape[i];
    if (ok) {
        int y = atoi(v), m = atoi(v + 5), d = atoi(v + 8);
        ok = y >= 1 && m >= 1 && m <= 12 && d >= 1 && d <= committee_days_in_month(y, m);
    }
    return ok ? 0 : cli_usage_error(ctx, "%s: expected a date YYYY-MM-DD, got \"%s\"", flag, v);
}

int committee_parse_int(cli_ctx *ctx, const char *flag, const char *v, long lo, long hi,
                        int32_t *out)
{
    char *end;
    long value;

    errno = 0;
    value = strtol(v, &end, 10);
    if (errno || end == v || *end || value < lo || value > hi)
        return cli_usage_error(ctx, "%s: expected a whole number from %ld to %ld, got \"%s\"", flag,
                               lo, hi, v);
    *out = (int32_t)value;
    return 0;
}

int committee_parse_amount(const char *s, const char *currency, int64_t *out)
{
    int decimals = iso_currency_minor_units(currency), frac = -1, digits = 0;
    int64_t v = 0;

    if (decimals < 0 || decimals > 4)
        decimals = 2; /* an unknown code: the server names the problem */
    for (const char *p = s; *p; p++) {
        if (*p == '.' && frac < 0) {
            frac = 0;
            continue;
        }
        if (*p == ',' && frac < 0 && digits > 0)
            continue; /* thousands separators */
        if (*p < '0' || *p > '9' || (frac >= 0 && ++frac > decimals) || v > (INT64_MAX - 9) / 10)
            return -EINVAL;
        v = v * 10 + (*p - '0');
        digits++;
    }
    for (int i = frac < 0 ? 0 : frac; i < decimals; i++) {
        if (v > INT64_MAX / 10)
            return -EINVAL;
        v *= 10;
    }
    if (digits == 0 || v == 0)
        return -EINVAL;
    *out = v;
    return 0;
}

char *committee_read_text(const char *path)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    char *buf;
    size_t n;

    if (!f) {
        fprintf(stderr, "compactctl: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    buf = malloc(COMMITTEE_MAX_TEXT + 1);
    n = buf ? fread(buf, 1, COMMITTEE_MAX_TEXT + 1, f) : 0;
    if (f != stdin)
        fclose(f);
    if (!buf || n > COMMITTEE_MAX_TEXT) {
        fprintf(stderr, "compactctl: %s: too long, or out of memory\n", path);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

/* ---- enums as people type them -------------------------------------------------- */

/* The prefix of the enum's value names: the name of its value 0 without
 * "UNSPECIFIED" ("DECISION_TYPE_"), or "". */
static size_t committee_enum_prefix(const ProtobufCEnumDescriptor *desc)
{
    const ProtobufCEnumValue *zero = protobuf_c_enum_descriptor_get_value(desc, 0);
    const char *tail = zero ? strstr(zero->name, "UNSPECIFIED") : NULL;
    return tail ? (size_t)(tail - zero->name) : 0;
}

const char *committee_enum_name(const ProtobufCEnumDescriptor *desc, int value, char *buf,
                                size_t len)
{
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(desc, value);
    size_t i = 0;

    if (!v || value == 0) {
        snprintf(buf, len, "%s", value == 0 ? "unspecified" : "?");
        return buf;
    }
    for (const char *p = v->name + committee_enum_prefix(desc); *p && i + 1 < len; p++)
        buf[i++] = *p == '_' ? '-' : (char)tolower((unsigned char)*p);
    buf[i] = '\0';
    return buf;
}

int committee_parse_enum(cli_ctx *ctx, const char *flag, const ProtobufCEnumDescriptor *desc,
                         const char *choices, const char *v, int *out)
{
    char name[COMMITTEE_ENUM_NAME];

    for (unsigned i = 0; i < desc->n_values; i++) {
        const ProtobufCEnumValue *e = &desc->values[i];
        if (e->value == 0)
            continue;
        if (strcasecmp(v, committee_enum_name(desc, e->value, name, sizeof name)) == 0 ||
            strcmp(v, e->name) == 0) {
            *out = e->value;
            return 0;
        }
    }
    return cli_usage_error(ctx, "%s: expected %s, got \"%s\"", flag, choices, v);
}

/* ---- names to ids and back -------------------------------------------------------- */

int committee_resolve_meeting(cli_ctx *ctx, const char *key, char **id)
{
    Compact__Committee__V1__GetMeetingRequest req =
        COMPACT__COMMITTEE__V1__GET_MEETING_REQUEST__INIT;
    call_result res;
    int rc;

    if (strncmp(key, "mtg_", 4) == 0)
        return (*id = strdup(key)) ? 0 : output_oom();
    req.key_case = COMPACT__COMMITTEE__V1__GET_MEETING_REQUEST__KEY_DATE;
    req.date = (char *)key;
    if ((rc = cli_call(ctx, committee_service, committee_svc, "GetMeeting", &req.base, &res)) != 0)
        return rc;
    *id = strdup(((const cm_meeting *)res.reply)->id);
    call_result_clear(&res);
    return *id ? 0 : output_oom();
}

static void committee_names_push(char ***v, size_t *n, size_t *cap, const char *id)
{
    if (!id || !id[0])
        return;
    for (size_t i = 0; i < *n; i++)
        if (strcmp((*v)[i], id) == 0)
            return;
    if (*n == *cap) {
        size_t grown_cap = *cap ? *cap * 2 : 16;
        char **grown = realloc(*v, grown_cap * sizeof *grown);
        if (!grown)
            return; /* the id is then printed as it is */
        *v = grown;
        *cap = grown_cap;
    }
    (*v)[(*n)++] = (char *)id;
}

void committee_names_entity(committee_names *nm, const char *id)
{
    committee_names_push(&nm->entities, &nm->n_entities, &nm->cap_entities, id);
}

void committee_names_group(committee_names *nm, const char *id)
{
    committee_names_push(&nm->groups, &nm->n_groups, &nm->cap_groups, id);
}

void committee_names_fetch(cli_ctx *ctx, committee_names *nm)
{
    if (nm->n_entities) {
        Compact__Membership__V1__BatchGetEntitiesRequest req =
            COMPACT__MEMBERSHIP__V1__BATCH_GET_ENTITIES_REQUEST__INIT;
        req.ids = nm->entities;
        req.n_ids = nm->n_entities > 1000 ? 1000 : nm->n_entities;
        req.allow_missing = 1;
        if (cli_call_quiet(ctx, "membership", &compact__membership__v1__membership__descriptor,
                           "BatchGetEntities", &req.base, &nm->entities_res) == 0 &&
            nm->entities_res.code != RPC_OK)
            call_result_clear(&nm->entities_res);
    }
    if (nm->n_groups) {
        Compact__Workgroups__V1__BatchGetWorkingGroupsRequest req =
            COMPACT__WORKGROUPS__V1__BATCH_GET_WORKING_GROUPS_REQUEST__INIT;
        req.ids = nm->groups;
        req.n_ids = nm->n_groups > 1000 ? 1000 : nm->n_groups;
        req.allow_missing = 1;
        req.view = COMPACT__WORKGROUPS__V1__VIEW__VIEW_BASIC;
        if (cli_call_quiet(ctx, groups_service, groups_svc, "BatchGetWorkingGroups", &req.base,
                           &nm->groups_res) == 0 &&
            nm->groups_res.code != RPC_OK)
            call_result_clear(&nm->groups_res);
    }
}

const char *committee_acronym(const committee_names *nm, const char *id)
{
    const Compact__Membership__V1__BatchGetEntitiesResponse *b =
        (const void *)nm->entities_res.reply;

    for (size_t i = 0; b && i < b->n_entities; i++)
        if (strcmp(b->entities[i]->id, id) == 0)
            return b->entities[i]->acronym;
    return id;
}

const char *committee_code(const committee_names *nm, const char *id)
{
    const Compact__Workgroups__V1__BatchGetWorkingGroupsResponse *b =
        (const void *)nm->groups_res.reply;

    for (size_t i = 0; b && i < b->n_groups; i++)
        if (strcmp(b->groups[i]->id, id) == 0)
            return b->groups[i]->code;
    return id;
}

void committee_names_free(committee_names *nm)
{
    call_result_clear(&nm->entities_res);
    call_result_clear(&nm->groups_res);
    free(nm->entities); /* the strings belong to the messages */
    free(nm->groups);
}

/* ---- printing ---------------------------------------------------------------------- */

void committee_field(output_table *t, const char *name, const char *fmt, ...)
{
    char *value;
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&value, fmt, ap);
    va_end(ap);
    /* On ENOMEM the row is missing and output_table_print says so: a row it
     * will refuse rather than a record printed with a hole. */
    output_table_field(t, name, n < 0 ? NULL : value);
    if (n >= 0)
        free(value);
}

int committee_print(output_table *t)
{
    int rc;

    if (!t)
        return output_oom();
    rc = output_table_print(t, stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
    output_table_free(t);
    return rc;
}

int committee_emit(json_t *array, output_table *t, int rc)
{
    if (rc == 0 && array)
        rc = output_json(json_incref(array));
    else if (rc == 0)
        rc = committee_print(t), t = NULL;
    json_decref(array);
    output_table_free(t);
    return rc;
}

void committee_print_facts(output_table *t, cm_fact *const *v, size_t n)
{
    char status[COMMITTEE_ENUM_NAME], source[2400];

    for (size_t i = 0; i < n; i++) {
        const cm_fact *f = v[i];
        const Compact__Common__V1__Source *s = f->source;
        source[0] = '\0';
        if (s)
            snprintf(source, sizeof source, " (%s, %s, %s, %s)", s->publisher, s->title, s->date,
                     s->url);
        committee_field(
            t, "fact", "%s: %s%s%s%s", f->field,
            COMMITTEE_ENUM(&compact__common__v1__fact_status__descriptor, f->status, status),
            source, f->note[0] ? ": " : "", f->note);
    }
}

/* "UNOCT (ent_...)" for an entity id, or "" */
static void committee_entity_field(output_table *t, const committee_names *nm, const char *name,
                                   const char *id)
{
    const char *acronym = committee_acronym(nm, id);

    if (!id[0])
        return;
    if (acronym != id)
        committee_field(t, name, "%s (%s)", acronym, id);
    else
        output_table_field(t, name, id);
}

void committee_times(output_table *t, const Google__Protobuf__Timestamp *created,
                     const Google__Protobuf__Timestamp *updated)
{
    char a[32], b[32];

    output_table_field(t, "create_time", output_time(created, a, sizeof a));
    output_table_field(t, "update_time", output_time(updated, b, sizeof b));
}

static int committee_print_rep(cli_ctx *ctx, const cm_rep *r)
{
    committee_names nm = {0};
    char role[COMMITTEE_ENUM_NAME];
    output_table *t = output_table_new(NULL, 2);

    if (!t)
        return output_oom();
    committee_names_entity(&nm, r->entity_id);
    committee_names_fetch(ctx, &nm);
    output_table_field(t, "id", r->id);
    output_table_field(
        t, "role", COMMITTEE_ENUM(&compact__committee__v1__seat_role__descriptor, r->role, role));
    committee_entity_field(t, &nm, "entity", r->entity_id);
    output_table_field(t, "person", r->person[0] ? r->person : NULL);
    output_table_field(t, "title", r->title[0] ? r->title : NULL);
    output_table_field(t, "from_date", r->from_date);
    output_table_field(t, "to_date", r->to_date[0] ? r->to_date : NULL);
    output_table_field(t, "verified", r->verified ? "yes" : "no");
    output_table_field(t, "source_note", r->source_note[0] ? r->source_note : NULL);
    committee_print_facts(t, r->provenance, r->n_provenance);
    output_table_field(t, "etag", r->etag);
    committee_times(t, r->create_time, r->update_time);
    committee_names_free(&nm);
    return committee_print(t);
}

int committee_call_print(cli_ctx *ctx, const char *method, const ProtobufCMessage *req)
{
    call_result res;
    int rc = cli_call(ctx, committee_service, committee_svc, method, req, &res);
    const ProtobufCMessageDescriptor *d;

    if (rc != 0)
        return rc;
    d = res.reply->descriptor;
    if (ctx->json)
        rc = output_json(pbjson_from_message(res.reply));
    else if (d == &compact__committee__v1__representative__descriptor)
        rc = committee_print_rep(ctx, (const cm_rep *)res.reply);
    else if (d == &compact__committee__v1__meeting__descriptor)
        rc = committee_print_meeting(ctx, (const cm_meeting *)res.reply);
    else if (d == &compact__committee__v1__decision__descriptor)
        rc = committee_print_decision(ctx, (const cm_decision *)res.reply);
    else if (d == &compact__committee__v1__envelope__descriptor)
        rc = committee_print_envelope((const cm_envelope *)res.reply);
    else
        rc = committee_print_proposal(ctx, (const cm_proposal *)res.reply);
    call_result_clear(&res);
    return rc;
}

/* ---- committee composition ------------------------------------------------------------ */

static const struct option committee_composition_opts[] = {
    {"as-of", required_argument, NULL, 'd'},
    {0},
};

static int committee_cmd_composition(cli_ctx *ctx, int argc, char **argv)
{
    static const char *const headers[] = {"ROLE",  "ENTITY", "GROUP", "PERSON",
                                          "TITLE", "FROM",   "TO"};
    Compact__Committee__V1__GetCompositionRequest req =
        COMPACT__COMMITTEE__V1__GET_COMPOSITION_REQUEST__INIT;
    const Compact__Committee__V1__Composition *c;
    committee_names nm = {0};
    call_result res;
    output_table *t;
    char role[COMMITTEE_ENUM_NAME];
    int o, rc;

    while ((o = cli_getopt(ctx, argc, argv, committee_composition_opts)) != -1) {
        if (o != 'd')
            return cli_getopt_stop(ctx, o);
        if ((rc = committee_check_date(ctx, "--as-of", optarg)) != 0)
            return rc;
        req.as_of = optarg;
    }
    if (optind < argc)
        return cli_usage_error(ctx, "unexpected argument \"%s\"", argv[optind]);
    if ((rc = cli_call(ctx, committee_service, committee_svc, "GetComposition", &req.base, &res)) !=
        0)
        return rc;
    c = (const void *)res.reply;
    if (ctx->json) {
        rc = output_json(pbjson_from_message(res.reply));
        call_result_clear(&res);
        return rc;
    }
    for (size_t i = 0; i < c->n_seats; i++) {
        committee_names_entity(&nm, c->seats[i]->entity_id);
        committee_names_group(&nm, c->seats[i]->working_group_id);
    }
    committee_names_fetch(ctx, &nm);
    printf("as of %s\n", c->as_of);
    t = output_table_new(headers, 7);
    for (size_t i = 0; t && i < c->n_seats; i++) {
        const Compact__Committee__V1__Seat *s = c->seats[i];
        const char *cells[] = {
            COMMITTEE_ENUM(&compact__committee__v1__seat_role__descriptor, s->role, role),
            committee_acronym(&nm, s->entity_id),
            s->working_group_id[0] ? committee_code(&nm, s->working_group_id) : "",
            s->person,
            s->title,
            s->from_date,
            s->to_date};
        output_table_add(t, cells);
    }
    rc = committee_print(t);
    committee_names_free(&nm);
    call_result_clear(&res);
    return rc;
}

/* ---- committee representatives ------------------------------------------------------------ */

int committee_sink_init(cli_ctx *ctx, committee_sink *sink, const char *const *headers,
                        size_t ncols)
{
    memset(sink, 0, sizeof *sink);
    if (ctx->json)
        sink->array = json_array();
    else
        sink->table = output_table_new(headers, ncols);
    return sink->array || sink->table ? 0 : output_oom();
}

/* Keeps a page's reply for the table; its items are appended to the JSON
 * array at once. 0 or an exit status. */
int committee_sink_keep(committee_sink *sink, call_result *res, ProtobufCMessage **items, size_t n)
{
    call_result *grown;

    if (sink->array) {
        for (size_t i = 0; i < n; i++)
            if (json_array_append_new(sink->array, pbjson_from_message(items[i])) != 0)
                return output_oom();
        call_result_clear(res);
        return 0;
    }
    grown = realloc(sink->pages, (sink->n_pages + 1) * sizeof *grown);
    if (!grown) {
        call_result_clear(res);
        return output_oom();
    }
    sink->pages = grown;
    sink->pages[sink->n_pages++] = *res;
    return 0;
}

/* Field `name` of `m`'s type, which must be there: the callers name fields
 * of the committee's own List messages. */
static const ProtobufCFieldDescriptor *committee_list_field(const ProtobufCMessage *m,
                                                            const char *name)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(m->descriptor, name);

    assert(f != NULL);
    return f;
}

int committee_list_page(cli_ctx *ctx, const char *method, ProtobufCMessage *request,
                        const char *token, const char *items, committee_sink *sink, char **next)
{
    const ProtobufCFieldDescriptor *tf = committee_list_field(request, "page_token"), *items_f;
    const char *next_token;
    call_result res;
    int rc;

    *next = NULL;
    *(const char **)((char *)request + tf->offset) = token;
    if ((rc = cli_call(ctx, committee_service, committee_svc, method, request, &res)) != 0)
        return rc;
    next_token = pbmsg_string(res.reply, "next_page_token");
    if (next_token && next_token[0] && !(*next = strdup(next_token))) {
        call_result_clear(&res);
        return output_oom();
    }
    items_f = committee_list_field(res.reply, items);
    return committee_sink_keep(sink, &res,
                               *(ProtobufCMessage ***)((char *)res.reply + items_f->offset),
                               *(size_t *)((char *)res.reply + items_f->quantifier_offset));
}

void committee_sink_free(committee_sink *sink)
{
    for (size_t i = 0; i < sink->n_pages; i++)
        call_result_clear(&sink->pages[i]);
    free(sink->pages);
}

/* The flags of a List command that pages: 0 taken, -1 not one, else an
 * exit status. */
int committee_page_flag(cli_ctx *ctx, int c, const char *v, int32_t *page_size, const char **token,
                        int *all)
{
    switch (c) {
    case 'p':
        return groups_page_size(ctx, v, page_size) ? CLI_EXIT_USAGE : 0;
    case 't':
        *token = v;
        return 0;
    case 'a':
        *all = 1;
        return 0;
    default:
        return -1;
    }
}

static const struct option committee_page_only_opts[] = {COMMITTEE_PAGE_OPTS, {0}};

static int committee_reps_page(cli_ctx *ctx, void *request, const char *token, void *arg,
                               char **next)
{
    return committee_list_page(ctx, "ListRepresentatives", request, token, "representatives", arg,
                               next);
}

static int committee_reps_list(cli_ctx *ctx, int argc, char **argv)
{
    static const char *const headers[] = {"ID", "ROLE", "ENTITY", "PERSON", "FROM", "TO"};
    Compact__Committee__V1__ListRepresentativesRequest req =
        COMPACT__COMMITTEE__V1__LIST_REPRESENTATIVES_REQUEST__INIT;
    const char *token = NULL;
    committee_names nm = {0};
    committee_sink sink;
    char role[COMMITTEE_ENUM_NAME];
    int c, rc, all = 0;

    while ((c = cli_getopt(ctx, argc, argv, committee_page_only_opts)) != -1)
        if ((rc = committee_page_flag(ctx, c, optarg, &req.page_size, &token, &all)) != 0)
            return rc < 0 ? cli_getopt_stop(ctx, c) : rc;
    if (optind < argc)
        return cli_usage_error(ctx, "unexpected argument \"%s\"", argv[optind]);
    if ((rc = committee_sink_init(ctx, &sink, headers, 6)) != 0)
        return rc;
    rc = groups_pages(ctx, committee_reps_page, &req, token, &sink, all, "representatives");
    for (size_t p = 0; rc == 0 && p < sink.n_pages; p++) {
        const Compact__Committee__V1__ListRepresentativesResponse *page =
            (const void *)sink.pages[p].reply;
        for (size_t i = 0; i < page->n_representatives; i++)
            committee_names_entity(&nm, page->representatives[i]->entity_id);
    }
    if (rc == 0 && sink.table)
        committee_names_fetch(ctx, &nm);
    for (size_t p = 0; rc == 0 && p < sink.n_pages; p++) {
        const Compact__Committee__V1__ListRepresentativesResponse *page =
            (const void *)sink.pages[p].reply;
        for (size_t i = 0; i < page->n_representatives; i++) {
            const cm_rep *r = page->representatives[i];
            const char *cells[] = {
                r->id,
                COMMITTEE_ENUM(&compact__committee__v1__seat_role__descriptor, r->role, role),
                committee_acronym(&nm, r->entity_id),
                r->person,
                r->from_date,
                r->to_date};
            output_table_add(sink.table, cells);
        }
    }
    rc = committee_emit(sink.array, sink.table, rc);
    committee_sink_free(&sink);
    committee_names_free(&nm);
    return rc;
}

/* Reads `path` as a `wrapper` request or its `field` message alone (as
 * entities create --from-json does): a new request, caller frees with
 * protobuf_c_message_free_unpacked(); NULL after saying why. */
ProtobufCMessage *committee_request_from_json(const char *path,
                                              const ProtobufCMessageDescriptor *wrapper,
                                              const char *field)
{
    char err[256] = "out of memory";
    json_t *json = cli_read_json(path), *wrapped = NULL;
    ProtobufCMessage *req = NULL;

    if (!json)
        return NULL;
    if (json_is_object(json) && !json_object_get(json, field) &&
        !json_object_get(json, "requestId") && !json_object_get(json, "request_id")) {
        char camel[64];
        size_t n = 0;
        for (const char *p = field; *p && n + 1 < sizeof camel; p++)
            camel[n++] = *p == '_' && p[1] ? (char)toupper((unsigned char)*++p) : *p;
        camel[n] = '\0';
        if (!json_object_get(json, camel))
            wrapped = json_pack("{s:O}", field, json);
    }
    req = pbjson_to_message(wrapper, wrapped ? wrapped : json, err, sizeof err);
    if (!req)
        fprintf(stderr, "compactctl: %s: %s\n", strcmp(path, "-") ? path : "<stdin>", err);
    json_decref(wrapped);
    json_decref(json);
    return req;
}

static const char committee_role_choices[] = "chair, secretariat, cted or entity-representative";

static const struct option committee_reps_add_opts[] = {
    {"role", required_argument, NULL, 'r'},
    {"entity", required_argument, NULL, 'E'},
    {"from", required_argument, NULL, 'f'},
    {"to", required_argument, NULL, 'T'},
    {"person", required_argument, NULL, 'P'},
    {"title", required_argument, NULL, 'i'},
    {"request-id", required_argument, NULL, 'R'},
    {"from-json", required_argument, NULL, 'j'},
    {0},
};

static int committee_reps_add(cli_ctx *ctx, int argc, char **argv)
{
    Compact__Committee__V1__AddRepresentativeRequest req =
        COMPACT__COMMITTEE__V1__ADD_REPRESENTATIVE_REQUEST__INIT;
    cm_rep r = COMPACT__COMMITTEE__V1__REPRESENTATIVE__INIT;
    const char *entity = NULL, *from_json = NULL;
    char *entity_id = NULL;
    int c, rc = 0, role = 0, flags = 0;

    while ((c = cli_getopt(ctx, argc, argv, committee_reps_add_opts)) != -1) {
        flags += c != 'j';
        switch (c) {
        case 'r':
            if ((rc = committee_parse_enum(ctx, "--role",
                                           &compact__committee__v1__seat_role__descriptor,
                                           committee_role_choices, optarg, &role)) != 0)
                return rc;
            r.role = role;
            break;
        case 'E':
            entity = optarg;
            break;
        case 'f':
        case 'T':
            if ((rc = committee_check_date(ctx, c == 'f' ? "--from" : "--to", optarg)) != 0)
                return rc;
            *(c == 'f' ? &r.from_date : &r.to_date) = optarg;
            break;
        case 'P':
            r.person = optarg;
            break;
        case 'i':
            r.title = optarg;
            break;
        case 'R':
            req.request_id = optarg;
            break;
        case 'j':
            from_json = optarg;
            break;
        default:
            return cli_getopt_stop(ctx, c);
        }
    }
    if (optind < argc)
        return cli_usage_error(ctx, "unexpected argument \"%s\"", argv[optind]);
    if (from_json && flags > 0)
        return cli_usage_error(ctx, "--from-json takes no other flag (give requestId in the "
                                    "JSON)");
    if (from_json) {
        ProtobufCMessage *json_req = committee_request_from_json(
            from_json, &compact__committee__v1__add_representative_request__descriptor,
            "representative");
        if (!json_req)
            return CLI_EXIT_FAIL;
        rc = committee_call_print(ctx, "AddRepresentative", json_req);
        protobuf_c_message_free_unpacked(json_req, NULL);
        return rc;
    }
    if (!r.role || !entity || !r.from_date[0])
        return cli_usage_error(ctx, "--role, --entity and --from are required");
    if ((rc = groups_resolve_entity(ctx, entity, &entity_id)) != 0)
        return rc;
    r.entity_id = entity_id;
    req.representative = &r;
    rc = committee_call_print(ctx, "AddRepresentative", &req.base);
    free(entity_id);
    return rc;
}

static const struct option committee_reps_end_opts[] = {
    {"to", required_argument, NULL, 'T'},
    {"etag", required_argument, NULL, 'e'},
    {0},
};

static int committee_reps_end(cli_ctx *ctx, int argc, char **argv)
{
    Compact__Committee__V1__EndRepresentativeRequest req =
        COMPACT__COMMITTEE__V1__END_REPRESENTATIVE_REQUEST__INIT;
    int c, rc;

    while ((c = cli_getopt(ctx, argc, argv, committee_reps_end_opts)) != -1) {
        if (c == 'T') {
            if ((rc = committee_check_date(ctx, "--to", optarg)) != 0)
                return rc;
            req.to_date = optarg;
        } else if (c == 'e') {
            req.etag = optarg;
        } else {
            return cli_getopt_stop(ctx, c);
        }
    }
    if (groups_args(ctx, argc, argv, 1, "ID"))
        return CLI_EXIT_USAGE;
    if (!req.to_date[0])
        return cli_usage_error(ctx, "--to is required");
    req.id = argv[optind];
    return committee_call_print(ctx, "EndRepresentative", &req.base);
}

static const cli_command committee_reps_verbs[] = {
    {.group = "committee representatives",
     .verb = "list",
     .fn = committee_reps_list,
     .summary = "the standing seats",
     .usage = "committee representatives list [--page-size N] [--page-token T] [--all]\n\n"
              "A table of the standing seats, ended ones too, by their start: ID, ROLE,\n"
              "ENTITY (acronym), PERSON, FROM, TO (exclusive; empty while it lasts).\n"
              "--json prints an array of Representative.\n"},
    {.group = "committee representatives",
     .verb = "add",
     .fn = committee_reps_add,
     .summary = "add a standing seat",
     .usage = "committee representatives add --role ROLE --entity ENTITY --from YYYY-MM-DD\n"
              "                [--to YYYY-MM-DD] [--person NAME] [--title T] [--request-id ID]\n"
              "       compactctl committee representatives add --from-json FILE|-\n\n"
              "Roles: chair (the Under-Secretary-General for Counter-Terrorism, for the\n"
              "Secretary-General), secretariat (UNOCT), cted, entity-representative (another\n"
              "Compact entity). The Working Groups' chairs and vice-chairs are not seats of\n"
              "their own: they come from workgroups (committee composition). ENTITY is an\n"
              "acronym or an id. The same role, entity and --from again is ALREADY_EXISTS.\n"
              "--from-json reads a Representative or an AddRepresentativeRequest in proto3\n"
              "JSON: the way to give each fact's provenance.\n"},
    {.group = "committee representatives",
     .verb = "end",
     .fn = committee_reps_end,
     .summary = "end a standing seat",
     .usage = "committee representatives end ID --to YYYY-MM-DD [--etag E]\n\n"
              "The seat is held until --to (exclusive), which must be after its start.\n"},
    {0},
};

static int committee_cmd_representatives(cli_ctx *ctx, int argc, char **argv)
{
    return committee_dispatch(ctx, committee_reps_verbs, argc, argv);
}

/* ---- the table ------------------------------------------------------------------------------ */

const cli_command committee_commands[] = {
    {.group = "committee",
     .verb = "composition",
     .fn = committee_cmd_composition,
     .summary = "who sits on the Coordination Committee on a date",
     .usage = "committee composition [--as-of YYYY-MM-DD]\n\n"
              "The standing seats (chair, secretariat, CTED, other entities'\n"
              "representatives) held that day, and the Working Groups' chairs and\n"
              "vice-chairs of that day, read from workgroups' leadership history: ROLE,\n"
              "ENTITY (acronym), GROUP (code), PERSON, TITLE, FROM, TO. Default: today.\n"
              "--json prints the Composition.\n"},
    {.group = "committee",
     .verb = "representatives",
     .fn = committee_cmd_representatives,
     .summary = "standing seats: list | add | end",
     .usage = "committee representatives list|add|end ...\n"
              "(compactctl committee representatives --help: each verb's usage)\n"},
    {.group = "committee",
     .verb = "meetings",
     .fn = committee_cmd_meetings,
     .summary = "meetings: list | get | create | update | action-points | add-action-point",
     .usage = "committee meetings list|get|create|update|action-points|add-action-point ...\n"
              "(compactctl committee meetings --help: each verb's usage)\n"},
    {.group = "committee",
     .verb = "decisions",
     .fn = committee_cmd_decisions,
     .summary = "decisions and their effects: list | get | record | retry",
     .usage = "committee decisions list|get|record|retry ...\n"
              "(compactctl committee decisions --help: each verb's usage)\n"},
    {.group = "committee",
     .verb = "envelope",
     .fn = committee_cmd_envelope,
     .summary = "UNOCT's catalytic envelopes by year: list | get | set",
     .usage = "committee envelope list|get|set ...\n"
              "(compactctl committee envelope --help: each verb's usage)\n"},
    {.group = "committee",
     .verb = "proposals",
     .fn = committee_cmd_proposals,
     .summary = "catalytic funding proposals: list | get | propose | withdraw",
     .usage = "committee proposals list|get|propose|withdraw ...\n"
              "(compactctl committee proposals --help: each verb's usage)\n"},
    {0},
};

/* committee_meetings.c: `compactctl committee meetings ...`: the
 * Committee's meetings (one a day at most, so a date names one) and their
 * action points. The helpers are committee.c's (committee.h).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "committee.h"
#include "pbjson.h"

typedef Compact__Committee__V1__Meeting cm_meeting;
typedef Compact__Committee__V1__ActionPoint cm_action;

#define COMMITTEE_MAX_REPEATS 100 /* --agenda, --attendee */

/* ---- printing -------------------------------------------------------------------------- */

int committee_print_meeting(cli_ctx *ctx, const cm_meeting *m)
{
    committee_names nm = {0};
    char status[COMMITTEE_ENUM_NAME], format[COMMITTEE_ENUM_NAME];
    output_table *t = output_table_new(NULL, 2);

    if (!t)
        return output_oom();
    for (size_t i = 0; i < m->n_attendance; i++)
        committee_names_entity(&nm, m->attendance[i]->entity_id);
    for (size_t i = 0; i < m->n_action_points; i++)
        committee_names_entity(&nm, m->action_points[i]->owner_entity_id);
    committee_names_fetch(ctx, &nm);
    output_table_field(t, "id", m->id);
    output_table_field(t, "date", m->date);
    if (m->number > 0)
        committee_field(t, "number", "%d", (int)m->number);
    output_table_field(
        t, "status",
        COMMITTEE_ENUM(&compact__committee__v1__meeting_status__descriptor, m->status, status));
    if (m->format)
        output_table_field(
            t, "format",
            COMMITTEE_ENUM(&compact__committee__v1__meeting_format__descriptor, m->format, format));
    for (size_t i = 0; i < m->n_agenda; i++)
        output_table_field(t, "agenda", m->agenda[i]->title);
    for (size_t i = 0; i < m->n_attendance; i++)
        committee_field(
            t, "attendee", "%s%s%s", committee_acronym(&nm, m->attendance[i]->entity_id),
            m->attendance[i]->representative[0] ? ": " : "", m->attendance[i]->representative);
    output_table_field(t, "summary", m->summary[0] ? m->summary : NULL);
    for (size_t i = 0; i < m->n_action_points; i++) {
        const cm_action *a = m->action_points[i];
        committee_field(
            t, "action_point", "%s due %s, %s, %s: %s", a->id, a->due_on,
            COMMITTEE_ENUM(&compact__committee__v1__action_status__descriptor, a->status, status),
            committee_acronym(&nm, a->owner_entity_id), a->description);
    }
    output_table_field(t, "verified", m->verified ? "yes" : "no");
    output_table_field(t, "source_note", m->source_note[0] ? m->source_note : NULL);
    committee_print_facts(t, m->provenance, m->n_provenance);
    output_table_field(t, "etag", m->etag);
    committee_times(t, m->create_time, m->update_time);
    committee_names_free(&nm);
    return committee_print(t);
}

/* ---- committee meetings ------------------------------------------------------------------ */

static const char committee_status_choices[] = "planned, held or cancelled";
static const char committee_format_choices[] = "in-person, virtual or hybrid";

static const struct option committee_meeting_opts[] = {
    {"date", required_argument, NULL, 'd'},       {"number", required_argument, NULL, 'n'},
    {"status", required_argument, NULL, 's'},     {"format", required_argument, NULL, 'F'},
    {"agenda", required_argument, NULL, 'g'},     {"no-agenda", no_argument, NULL, 'G'},
    {"attendee", required_argument, NULL, 'A'},   {"no-attendance", no_argument, NULL, 'N'},
    {"summary", required_argument, NULL, 'S'},    {"summary-file", required_argument, NULL, 'B'},
    {"request-id", required_argument, NULL, 'R'}, {"etag", required_argument, NULL, 'e'},
    {"from-json", required_argument, NULL, 'j'},  {0},
};

/* What the flags of meetings create and update ask for. */
typedef struct committee_meeting_draft {
    cm_meeting m;
    const char *agenda[COMMITTEE_MAX_REPEATS], *attendees[COMMITTEE_MAX_REPEATS];
    size_t n_agenda, n_attendees;
    const char *summary_file, *request_id, *etag, *from_json;
    char *paths[12];
    size_t n_paths;
} committee_meeting_draft;

static int committee_meeting_flag(cli_ctx *ctx, void *draft, int c, char *v)
{
    committee_meeting_draft *d = draft;
    int value, rc;

    switch (c) {
    case 'd':
        if ((rc = committee_check_date(ctx, "--date", v)) != 0)
            return rc;
        d->m.date = v;
        groups_mark(d->paths, &d->n_paths, "date");
        return 0;
    case 'n':
        if ((rc = committee_parse_int(ctx, "--number", v, 0, 10000, &d->m.number)) != 0)
            return rc;
        groups_mark(d->paths, &d->n_paths, "number");
        return 0;
    case 's':
        if ((rc = committee_parse_enum(ctx, "--status",
                                       &compact__committee__v1__meeting_status__descriptor,
                                       committee_status_choices, v, &value)) != 0)
            return rc;
        d->m.status = value;
        groups_mark(d->paths, &d->n_paths, "status");
        return 0;
    case 'F':
        if ((rc = committee_parse_enum(ctx, "--format",
                                       &compact__committee__v1__meeting_format__descriptor,
                                       committee_format_choices, v, &value)) != 0)
            return rc;
        d->m.format = value;
        groups_mark(d->paths, &d->n_paths, "format");
        return 0;
    case 'g':
    case 'A':
        if ((c == 'g' ? d->n_agenda : d->n_attendees) >= COMMITTEE_MAX_REPEATS)
            return cli_usage_error(ctx, "%s: at most %d", c == 'g' ? "--agenda" : "--attendee",
                                   COMMITTEE_MAX_REPEATS);
        if (c == 'g')
            d->agenda[d->n_agenda++] = v;
        else
            d->attendees[d->n_attendees++] = v;
        /* fall through */
    case 'G':
    case 'N':
        groups_mark(d->paths, &d->n_paths, c == 'g' || c == 'G' ? "agenda" : "attendance");
        return 0;
    case 'S':
        d->m.summary = v;
        groups_mark(d->paths, &d->n_paths, "summary");
        return 0;
    case 'B':
        d->summary_file = v;
        groups_mark(d->paths, &d->n_paths, "summary");
        return 0;
    case 'R':
        d->request_id = v;
        return 0;
    case 'e':
        d->etag = v;
        return 0;
    case 'j':
        d->from_json = v;
        return 0;
    default:
        return -1;
    }
}

/* The agenda and attendance of the draft into its meeting, entities
 * resolved; the summary from its file. Allocations go to `owned` (freed by
 * committee_meeting_draft_free). 0 or an exit status. */
typedef struct committee_meeting_owned {
    Compact__Committee__V1__AgendaItem agenda[COMMITTEE_MAX_REPEATS],
        *agenda_p[COMMITTEE_MAX_REPEATS];
    Compact__Committee__V1__Attendee attendees[COMMITTEE_MAX_REPEATS],
        *attendees_p[COMMITTEE_MAX_REPEATS];
    char *entity_ids[COMMITTEE_MAX_REPEATS], *names[COMMITTEE_MAX_REPEATS], *summary;
} committee_meeting_owned;

static int committee_meeting_fill(cli_ctx *ctx, committee_meeting_draft *d,
                                  committee_meeting_owned *o)
{
    int rc = 0;

    for (size_t i = 0; i < d->n_agenda; i++) {
        compact__committee__v1__agenda_item__init(&o->agenda[i]);
        o->agenda[i].title = (char *)d->agenda[i];
        o->agenda_p[i] = &o->agenda[i];
    }
    d->m.agenda = o->agenda_p;
    d->m.n_agenda = d->n_agenda;
    for (size_t i = 0; rc == 0 && i < d->n_attendees; i++) {
        const char *eq = strchr(d->attendees[i], '=');
        char *key =
            eq ? strndup(d->attendees[i], (size_t)(eq - d->attendees[i])) : strdup(d->attendees[i]);
        if (!key)
            return output_oom();
        compact__committee__v1__attendee__init(&o->attendees[i]);
        rc = groups_resolve_entity(ctx, key, &o->entity_ids[i]);
        free(key);
        if (rc == 0) {
            o->attendees[i].entity_id = o->entity_ids[i];
            o->attendees[i].representative = eq ? (char *)eq + 1 : "";
            o->attendees_p[i] = &o->attendees[i];
        }
    }
    d->m.attendance = o->attendees_p;
    d->m.n_attendance = d->n_attendees;
    if (rc == 0 && d->summary_file) {
        if (d->m.summary[0])
            return cli_usage_error(ctx, "give --summary or --summary-file, not both");
        if (!(o->summary = committee_read_text(d->summary_file)))
            return CLI_EXIT_FAIL;
        d->m.summary = o->summary;
    }
    return rc;
}

static void committee_meeting_owned_free(committee_meeting_owned *o)
{
    for (size_t i = 0; i < COMMITTEE_MAX_REPEATS; i++)
        free(o->entity_ids[i]);
    free(o->summary);
}

static int committee_meeting_draft_read(cli_ctx *ctx, int argc, char **argv,
                                        committee_meeting_draft *d)
{
    memset(d, 0, sizeof *d);
    compact__committee__v1__meeting__init(&d->m);
    return cli_parse_flags(ctx, argc, argv, committee_meeting_opts, committee_meeting_flag, d);
}

static int committee_meetings_create(cli_ctx *ctx, int argc, char **argv)
{
    Compact__Committee__V1__CreateMeetingRequest req =
        COMPACT__COMMITTEE__V1__CREATE_MEETING_REQUEST__INIT;
    committee_meeting_draft d;
    committee_meeting_owned *o;
    int rc = committee_meeting_draft_read(ctx, argc, argv, &d);

    if (rc != -1)
        return rc;
    if (optind < argc)
        return cli_usage_error(ctx, "unexpected argument \"%s\"", argv[optind]);
    if (d.etag)
        return cli_usage_error(ctx, "--etag is for meetings update");
    if (d.from_json) {
        ProtobufCMessage *json_req;
        if (d.n_paths > 0 || d.request_id)
            return cli_usage_error(ctx, "--from-json takes no other flag (give requestId in "
                                        "the JSON)");
        json_req = committee_request_from_json(
            d.from_json, &compact__committee__v1__create_meeting_request__descriptor, "meeting");
        if (!json_req)
            return CLI_EXIT_FAIL;
        rc = committee_call_print(ctx, "CreateMeeting", json_req);
        protobuf_c_message_free_unpacked(json_req, NULL);
        return rc;
    }
    if (!d.m.date[0])
        return cli_usage_error(ctx, "--date is required");
    if (!(o = calloc(1, sizeof *o)))
        return output_oom();
    if ((rc = committee_meeting_fill(ctx, &d, o)) == 0) {
        req.meeting = &d.m;
        req.request_id = d.request_id ? (char *)d.request_id : "";
        rc = committee_call_print(ctx, "CreateMeeting", &req.base);
    }
    committee_meeting_owned_free(o);
    free(o);
    return rc;
}

static int committee_meetings_update(cli_ctx *ctx, int argc, char **argv)
{
    Compact__Committee__V1__UpdateMeetingRequest req =
        COMPACT__COMMITTEE__V1__UPDATE_MEETING_REQUEST__INIT;
    Google__Protobuf__FieldMask mask = GOOGLE__PROTOBUF__FIELD_MASK__INIT;
    committee_meeting_draft d;
    committee_meeting_owned *o;
    char *id = NULL;
    int rc = committee_meeting_draft_read(ctx, argc, argv, &d);

    if (rc != -1)
        return rc;
    if (groups_args(ctx, argc, argv, 1, "ID or DATE"))
        return CLI_EXIT_USAGE;
    if (d.from_json || d.request_id)
        return cli_usage_error(ctx, "%s is for meetings create",
                               d.from_json ? "--from-json" : "--request-id");
    if (d.n_paths == 0)
        return cli_usage_error(ctx, "nothing to update: give at least one field flag");
    if (!(o = calloc(1, sizeof *o)))
        return output_oom();
    rc = committee_resolve_meeting(ctx, argv[optind], &id);
    if (rc == 0)
        rc = committee_meeting_fill(ctx, &d, o);
    if (rc == 0) {
        d.m.id = id;
        mask.paths = d.paths;
        mask.n_paths = d.n_paths;
        req.meeting = &d.m;
        req.update_mask = &mask;
        req.etag = d.etag ? (char *)d.etag : "";
        rc = committee_call_print(ctx, "UpdateMeeting", &req.base);
    }
    free(id);
    committee_meeting_owned_free(o);
    free(o);
    return rc;
}

static int committee_meetings_get(cli_ctx *ctx, int argc, char **argv)
{
    Compact__Committee__V1__GetMeetingRequest req =
        COMPACT__COMMITTEE__V1__GET_MEETING_REQUEST__INIT;
    int c;

    while ((c = cli_getopt(ctx, argc, argv, NULL)) != -1)
        return cli_getopt_stop(ctx, c);
    if (groups_args(ctx, argc, argv, 1, "ID or DATE"))
        return CLI_EXIT_USAGE;
    if (strncmp(argv[optind], "mtg_", 4) == 0) {
        req.key_case = COMPACT__COMMITTEE__V1__GET_MEETING_REQUEST__KEY_ID;
        req.id = argv[optind];
    } else {
        int rc = committee_check_date(ctx, "ID or DATE", argv[optind]);
        if (rc != 0)
            return rc;
        req.key_case = COMPACT__COMMITTEE__V1__GET_MEETING_REQUEST__KEY_DATE;
        req.date = argv[optind];
    }
    return committee_call_print(ctx, "GetMeeting", &req.base);
}

static const struct option committee_meetings_list_opts[] = {
    {"status", required_argument, NULL, 's'},
    COMMITTEE_PAGE_OPTS,
    {0},
};

static int committee_meetings_page(cli_ctx *ctx, void *request, const char *token, void *arg,
                                   char **next)
{
    return committee_list_page(ctx, "ListMeetings", request, token, "meetings", arg, next);
}

static int committee_meetings_list(cli_ctx *ctx, int argc, char **argv)
{
    static const char *const headers[] = {"DATE",    "NUMBER", "STATUS", "FORMAT",
                                          "ACTIONS", "ID",     "AGENDA"};
    Compact__Committee__V1__ListMeetingsRequest req =
        COMPACT__COMMITTEE__V1__LIST_MEETINGS_REQUEST__INIT;
    const char *token = NULL;
    committee_sink sink;
    char status[COMMITTEE_ENUM_NAME], format[COMMITTEE_ENUM_NAME], number[16], actions[16];
    int c, rc, all = 0, value;

    while ((c = cli_getopt(ctx, argc, argv, committee_meetings_list_opts)) != -1) {
        if (c == 's') {
            if ((rc = committee_parse_enum(ctx, "--status",
                                           &compact__committee__v1__meeting_status__descriptor,
                                           committee_status_choices, optarg, &value)) != 0)
                return rc;
            req.status = value;
        } else if ((rc = committee_page_flag(ctx, c, optarg, &req.page_size, &token, &all)) != 0) {
            return rc < 0 ? cli_getopt_stop(ctx, c) : rc;
        }
    }
    if (optind < argc)
        return cli_usage_error(ctx, "unexpected argument \"%s\"", argv[optind]);
    if ((rc = committee_sink_init(ctx, &sink, headers, 7)) != 0)
        return rc;
    rc = groups_pages(ctx, committee_meetings_page, &req, token, &sink, all, "meetings");
    for (size_t p = 0; rc == 0 && p < sink.n_pages; p++) {
        const Compact__Committee__V1__ListMeetingsResponse *page =
            (const void *)sink.pages[p].reply;
        for (size_t i = 0; i < page->n_meetings; i++) {
            const cm_meeting *m = page->meetings[i];
            const char *cells[] = {
                m->date,
                m->number > 0 ? (snprintf(number, sizeof number, "%d", (int)m->number), number)
                              : "",
                COMMITTEE_ENUM(&compact__committee__v1__meeting_status__descriptor, m->status,
                               status),
                m->format ? COMMITTEE_ENUM(&compact__committee__v1__meeting_format__descriptor,
                                           m->format, format)
                          : "",
                (snprintf(actions, sizeof actions, "%zu", m->n_action_points), actions),
                m->id,
                m->n_agenda ? m->agenda[0]->title : ""};
            output_table_add(sink.table, cells);
        }
    }
    rc = committee_emit(sink.array, sink.table, rc);
    committee_sink_free(&sink);
    return rc;
}

/* ---- committee meetings action-points and add-action-point ------------------------------- */

static const struct option committee_actions_opts[] = {
    {"overdue-on", required_argument, NULL, 'o'},
    {"owner", required_argument, NULL, 'O'},
    {0},
};

/* The date of each meeting, for the MEETING column: one ListMeetings
 * (quietly; on failure the ids are printed). */
static const char *committee_meeting_date(const call_result *meetings, const char *id)
{
    const Compact__Committee__V1__ListMeetingsResponse *r = (const void *)meetings->reply;

    for (size_t i = 0; r && i < r->n_meetings; i++)
        if (strcmp(r->meetings[i]->id, id) == 0)
            return r->meetings[i]->date;
    return id;
}

static int committee_meetings_actions(cli_ctx *ctx, int argc, char **argv)
{
    static const char *const headers[] = {"DUE", "STATUS", "OWNER", "MEETING", "ID", "DESCRIPTION"};
    Compact__Committee__V1__ListActionPointsRequest req =
        COMPACT__COMMITTEE__V1__LIST_ACTION_POINTS_REQUEST__INIT;
    Compact__Committee__V1__ListMeetingsRequest list =
        COMPACT__COMMITTEE__V1__LIST_MEETINGS_REQUEST__INIT;
    const Compact__Committee__V1__ListActionPointsResponse *r;
    const char *owner = NULL;
    char *owner_id = NULL, status[COMMITTEE_ENUM_NAME];
    committee_names nm = {0};
    call_result res, meetings = {0};
    output_table *t;
    int c, rc;

    while ((c = cli_getopt(ctx, argc, argv, committee_actions_opts)) != -1) {
        if (c == 'o') {
            if ((rc = committee_check_date(ctx, "--overdue-on", optarg)) != 0)
                return rc;
            req.overdue_on = optarg;
        } else if (c == 'O') {
            owner = optarg;
        } else {
            return cli_getopt_stop(ctx, c);
        }
    }
    if (optind < argc)
        return cli_usage_error(ctx, "unexpected argument \"%s\"", argv[optind]);
    if (owner && (rc = groups_resolve_entity(ctx, owner, &owner_id)) != 0)
        return rc;
    req.owner_entity_id = owner_id ? owner_id : "";
    rc = cli_call(ctx, committee_service, committee_svc, "ListActionPoints", &req.base, &res);
    free(owner_id);
    if (rc != 0)
        return rc;
    r = (const void *)res.reply;
    if (ctx->json) {
        json_t *array = json_array();
        for (size_t i = 0; array && i < r->n_action_points; i++)
            if (json_array_append_new(array, pbjson_from_message(&r->action_points[i]->base)))
                json_decref(array), array = NULL;
        call_result_clear(&res);
        return output_json(array);
    }
    for (size_t i = 0; i < r->n_action_points; i++)
        committee_names_entity(&nm, r->action_points[i]->owner_entity_id);
    committee_names_fetch(ctx, &nm);
    list.page_size = 1000;
    if (r->n_action_points &&
        cli_call_quiet(ctx, committee_service, committee_svc, "ListMeetings", &list.base,
                       &meetings) == 0 &&
        meetings.code != RPC_OK)
        call_result_clear(&meetings);
    t = output_table_new(headers, 6);
    for (size_t i = 0; t && i < r->n_action_points; i++) {
        const cm_action *a = r->action_points[i];
        const char *cells[] = {
            a->due_on,
            COMMITTEE_ENUM(&compact__committee__v1__action_status__descriptor, a->status, status),
            committee_acronym(&nm, a->owner_entity_id),
            committee_meeting_date(&meetings, a->meeting_id),
            a->id,
            a->description};
        output_table_add(t, cells);
    }
    rc = committee_print(t);
    call_result_clear(&meetings);
    committee_names_free(&nm);
    call_result_clear(&res);
    return rc;
}

static const struct option committee_add_action_opts[] = {
    {"description", required_argument, NULL, 'D'}, {"owner", required_argument, NULL, 'O'},
    {"due", required_argument, NULL, 'u'},         {"etag", required_argument, NULL, 'e'},
    {"request-id", required_argument, NULL, 'R'},  {0},
};

static int committee_meetings_add_action(cli_ctx *ctx, int argc, char **argv)
{
    Compact__Committee__V1__AddActionPointRequest req =
        COMPACT__COMMITTEE__V1__ADD_ACTION_POINT_REQUEST__INIT;
    cm_action a = COMPACT__COMMITTEE__V1__ACTION_POINT__INIT;
    const char *owner = NULL;
    char *owner_id = NULL, *meeting_id = NULL;
    int c, rc;

    while ((c = cli_getopt(ctx, argc, argv, committee_add_action_opts)) != -1) {
        switch (c) {
        case 'D':
            a.description = optarg;
            break;
        case 'O':
            owner = optarg;
            break;
        case 'u':
            if ((rc = committee_check_date(ctx, "--due", optarg)) != 0)
                return rc;
            a.due_on = optarg;
            break;
        case 'e':
            req.etag = optarg;
            break;
        case 'R':
            req.request_id = optarg;
            break;
        default:
            return cli_getopt_stop(ctx, c);
        }
    }
    if (groups_args(ctx, argc, argv, 1, "MEETING (an id or a date)"))
        return CLI_EXIT_USAGE;
    if (!a.description[0] || !owner || !a.due_on[0])
        return cli_usage_error(ctx, "--description, --owner and --due are required");
    rc = committee_resolve_meeting(ctx, argv[optind], &meeting_id);
    if (rc == 0)
        rc = groups_resolve_entity(ctx, owner, &owner_id);
    if (rc == 0) {
        a.owner_entity_id = owner_id;
        req.meeting_id = meeting_id;
        req.action_point = &a;
        rc = committee_call_print(ctx, "AddActionPoint", &req.base);
    }
    free(owner_id);
    free(meeting_id);
    return rc;
}

#define COMMITTEE_MEETING_FLAGS_USAGE                                                              \
    "Statuses: planned (the default), held, cancelled; a meeting dated after today\n"              \
    "cannot have been held. Formats: in-person, virtual, hybrid. --agenda TITLE\n"                 \
    "and --attendee ENTITY[=NAME] (an acronym or id, and who attended for it) may\n"               \
    "repeat, in order; --summary-file reads the summary from FILE (\"-\": standard\n"              \
    "input). --number is the meeting's number (6 for the 6th), 0 when not known.\n"

static const cli_command committee_meetings_verbs[] = {
    {.group = "committee meetings",
     .verb = "list",
     .fn = committee_meetings_list,
     .summary = "the Committee's meetings",
     .usage = "committee meetings list [--status S] [--page-size N] [--page-token T] [--all]\n\n"
              "A table by date: DATE, NUMBER, STATUS, FORMAT, ACTIONS (its action points),\n"
              "ID, AGENDA (the first item). --status: planned, held or cancelled. --json\n"
              "prints an array of Meeting.\n"},
    {.group = "committee meetings",
     .verb = "get",
     .fn = committee_meetings_get,
     .summary = "one meeting, by id or by date",
     .usage = "committee meetings get ID|YYYY-MM-DD\n\n"
              "The Committee meets once a day at most, so a date names a meeting. Field\n"
              "lines: agenda, attendees, summary, action points, each fact's status and\n"
              "source. --json prints the Meeting.\n"},
    {.group = "committee meetings",
     .verb = "create",
     .fn = committee_meetings_create,
     .summary = "record a meeting",
     .usage = "committee meetings create --date YYYY-MM-DD [--number N] [--status S]\n"
              "                [--format F] [--agenda TITLE]... [--attendee ENTITY[=NAME]]...\n"
              "                [--summary T | --summary-file FILE] [--request-id ID]\n"
              "       compactctl committee meetings create --from-json "
              "FILE|-\n\n" COMMITTEE_MEETING_FLAGS_USAGE
              "A second meeting on the same date, or with the same number, is\n"
              "ALREADY_EXISTS. --from-json reads a Meeting or a CreateMeetingRequest in\n"
              "proto3 JSON: the way to give each fact's provenance.\n"},
    {.group = "committee meetings",
     .verb = "update",
     .fn = committee_meetings_update,
     .summary = "change a meeting's fields",
     .usage = "committee meetings update ID|YYYY-MM-DD [--date D] [--number N] [--status S]\n"
              "                [--format F] [--agenda TITLE]... [--no-agenda]\n"
              "                [--attendee ENTITY[=NAME]]... [--no-attendance]\n"
              "                [--summary T | --summary-file FILE] [--etag E]\n\n"
              "Only the fields given change (the update mask is made from the flags);\n"
              "--agenda and --attendee replace the whole list, --no-agenda and\n"
              "--no-attendance empty it. " COMMITTEE_MEETING_FLAGS_USAGE},
    {.group = "committee meetings",
     .verb = "action-points",
     .fn = committee_meetings_actions,
     .summary = "action points of every meeting",
     .usage = "committee meetings action-points [--overdue-on YYYY-MM-DD] [--owner ENTITY]\n\n"
              "A table by due date: DUE, STATUS, OWNER (acronym), MEETING (its date), ID,\n"
              "DESCRIPTION. --overdue-on: only the open ones due before that day.\n"
              "--owner: an acronym or an id. --json prints an array of ActionPoint.\n"},
    {.group = "committee meetings",
     .verb = "add-action-point",
     .fn = committee_meetings_add_action,
     .summary = "set an action point at a meeting",
     .usage = "committee meetings add-action-point MEETING --description T --owner ENTITY\n"
              "                --due YYYY-MM-DD [--etag E] [--request-id ID]\n\n"
              "MEETING is an id or a date; ENTITY an acronym or an id. The action point\n"
              "is open; prints the meeting.\n"},
    {0},
};

int committee_cmd_meetings(cli_ctx *ctx, int argc, char **argv)
{
    return committee_dispatch(ctx, committee_meetings_verbs, argc, argv);
}

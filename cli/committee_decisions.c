/* committee_decisions.c: `compactctl committee decisions ...`: the
 * Committee's decisions and their effects. The helpers are committee.c's
 * (committee.h).
 *
 * A decision is recorded with its effects PENDING and carried out by the
 * committee service afterwards, one effect at a time, in the service that
 * owns the data; `decisions record --wait` and `decisions retry --wait`
 * poll GetDecision until no effect is pending, and fail when one failed.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "committee.h"
#include "pbjson.h"

typedef Compact__Committee__V1__Action cm_action;
typedef Compact__Committee__V1__Effect cm_effect;

#define EFFECT(x) COMPACT__COMMITTEE__V1__EFFECT_STATUS__EFFECT_STATUS_##x
#define ACTION(x) COMPACT__COMMITTEE__V1__ACTION__ACTION_##x
#define TYPE(x) COMPACT__COMMITTEE__V1__DECISION_TYPE__DECISION_TYPE_##x

#define COMMITTEE_WAIT_MS 60000 /* --wait: at most this long */
#define COMMITTEE_POLL_MS 200
#define COMMITTEE_MAX_LIST 20 /* --group, --proposal, --item repeated */
#define COMMITTEE_CELL 48

/* ---- printing --------------------------------------------------------------------------- */

/* "8 applied", "7 applied, 1 failed", "2 pending": the effects at a glance. */
static const char *committee_effects_summary(const cm_decision *d, char *buf, size_t len)
{
    static const struct {
        int status;
        const char *name;
    } order[] = {
        {EFFECT(APPLIED), "applied"}, {EFFECT(FAILED), "failed"}, {EFFECT(PENDING), "pending"}};
    size_t at = 0;

    buf[0] = '\0';
    for (size_t k = 0; k < sizeof order / sizeof order[0]; k++) {
        size_t count = 0;
        for (size_t i = 0; i < d->n_effects; i++)
            count += (int)d->effects[i]->status == order[k].status;
        if (count && at < len)
            at += (size_t)snprintf(buf + at, len - at, "%s%zu %s", at ? ", " : "", count,
                                   order[k].name);
    }
    if (!buf[0])
        snprintf(buf, len, "none");
    return buf;
}

static void committee_action_field(output_table *t, const committee_names *nm, size_t i,
                                   const cm_action *a)
{
    switch (a->action_case) {
    case ACTION(APPROVE_TERMS_OF_REFERENCE): {
        const char *text = a->approve_terms_of_reference->text;
        size_t n = strlen(text);
        committee_field(t, "action",
                        "%zu approve terms of reference of %s: \"%.60s%s\" (%zu bytes)", i + 1,
                        committee_code(nm, a->approve_terms_of_reference->working_group_id), text,
                        n > 60 ? "..." : "", n);
        break;
    }
    case ACTION(APPROVE_WORK_PLAN):
        committee_field(t, "action", "%zu approve the work plan of %s, %s to %s, %zu items", i + 1,
                        committee_code(nm, a->approve_work_plan->working_group_id),
                        a->approve_work_plan->period_start, a->approve_work_plan->period_end,
                        a->approve_work_plan->n_item_ids);
        break;
    case ACTION(ALLOCATE_CATALYTIC_FUNDING):
        committee_field(t, "action", "%zu allocate catalytic funding to proposal %s", i + 1,
                        a->allocate_catalytic_funding->proposal_id);
        break;
    case ACTION(ADMIT_ENTITY):
        committee_field(t, "action", "%zu admit %s", i + 1,
                        committee_acronym(nm, a->admit_entity->entity_id));
        break;
    case ACTION(ESTABLISH_WORKING_GROUP):
        committee_field(t, "action", "%zu establish working group %s: %s", i + 1,
                        a->establish_working_group->code, a->establish_working_group->title);
        break;
    case ACTION(CLOSE_WORKING_GROUP):
        committee_field(t, "action", "%zu close working group %s", i + 1,
                        committee_code(nm, a->close_working_group->working_group_id));
        break;
    default:
        committee_field(t, "action", "%zu (unknown to this compactctl)", i + 1);
    }
}

static void committee_effect_field(output_table *t, const cm_effect *e)
{
    char status[COMMITTEE_ENUM_NAME];

    COMMITTEE_ENUM(&compact__committee__v1__effect_status__descriptor, e->status, status);
    if (e->status == EFFECT(APPLIED))
        committee_field(t, "effect", "%d %s applied: %s (%s)", (int)e->number, e->service,
                        e->result_id[0] ? e->result_id : "-", e->decision_ref);
    else
        committee_field(t, "effect", "%d %s %s after %d attempt%s%s%s (%s)", (int)e->number,
                        e->service, status, (int)e->attempts, e->attempts == 1 ? "" : "s",
                        e->last_error[0] ? ": " : "", e->last_error, e->decision_ref);
}

static void committee_decision_names(committee_names *nm, const cm_decision *d)
{
    for (size_t i = 0; i < d->n_actions; i++) {
        const cm_action *a = d->actions[i];
        if (a->action_case == ACTION(APPROVE_TERMS_OF_REFERENCE))
            committee_names_group(nm, a->approve_terms_of_reference->working_group_id);
        else if (a->action_case == ACTION(APPROVE_WORK_PLAN))
            committee_names_group(nm, a->approve_work_plan->working_group_id);
        else if (a->action_case == ACTION(CLOSE_WORKING_GROUP))
            committee_names_group(nm, a->close_working_group->working_group_id);
        else if (a->action_case == ACTION(ADMIT_ENTITY))
            committee_names_entity(nm, a->admit_entity->entity_id);
    }
}

int committee_print_decision(cli_ctx *ctx, const cm_decision *d)
{
    committee_names nm = {0};
    char type[COMMITTEE_ENUM_NAME];
    output_table *t = output_table_new(NULL, 2);

    if (!t)
        return output_oom();
    committee_decision_names(&nm, d);
    committee_names_fetch(ctx, &nm);
    output_table_field(t, "id", d->id);
    output_table_field(t, "meeting", d->meeting_id);
    output_table_field(t, "decided_on", d->decided_on);
    output_table_field(
        t, "type",
        COMMITTEE_ENUM(&compact__committee__v1__decision_type__descriptor, d->type, type));
    output_table_field(t, "title", d->title);
    output_table_field(t, "text", d->text[0] ? d->text : NULL);
    for (size_t i = 0; i < d->n_actions; i++)
        committee_action_field(t, &nm, i, d->actions[i]);
    for (size_t i = 0; i < d->n_effects; i++)
        committee_effect_field(t, d->effects[i]);
    output_table_field(t, "verified", d->verified ? "yes" : "no");
    output_table_field(t, "source_note", d->source_note[0] ? d->source_note : NULL);
    committee_print_facts(t, d->provenance, d->n_provenance);
    output_table_field(t, "etag", d->etag);
    committee_times(t, d->create_time, d->update_time);
    committee_names_free(&nm);
    return committee_print(t);
}

/* ---- committee decisions list and get -------------------------------------------------------- */

static const char committee_type_choices[] =
    "approve-terms-of-reference, approve-work-plan, allocate-catalytic-funding, "
    "establish-working-group, close-working-group or other";

static const struct option committee_decisions_list_opts[] = {
    {"meeting", required_argument, NULL, 'm'},
    {"type", required_argument, NULL, 'y'},
    COMMITTEE_PAGE_OPTS,
    {0},
};

static int committee_decisions_page(cli_ctx *ctx, void *request, const char *token, void *arg,
                                    char **next)
{
    return committee_list_page(ctx, "ListDecisions", request, token, "decisions", arg, next);
}

static int committee_decisions_list(cli_ctx *ctx, int argc, char **argv)
{
    static const char *const headers[] = {"DECIDED", "TYPE", "EFFECTS", "ID", "TITLE"};
    Compact__Committee__V1__ListDecisionsRequest req =
        COMPACT__COMMITTEE__V1__LIST_DECISIONS_REQUEST__INIT;
    const char *token = NULL, *meeting = NULL;
    char *meeting_id = NULL, type[COMMITTEE_ENUM_NAME], effects[COMMITTEE_CELL];
    committee_sink sink;
    int c, rc, all = 0, value;

    while ((c = cli_getopt(ctx, argc, argv, committee_decisions_list_opts)) != -1) {
        if (c == 'm') {
            meeting = optarg;
        } else if (c == 'y') {
            if ((rc = committee_parse_enum(ctx, "--type",
                                           &compact__committee__v1__decision_type__descriptor,
                                           committee_type_choices, optarg, &value)) != 0)
                return rc;
            req.type = value;
        } else if ((rc = committee_page_flag(ctx, c, optarg, &req.page_size, &token, &all)) != 0) {
            return rc < 0 ? cli_getopt_stop(ctx, c) : rc;
        }
    }
    if (optind < argc)
        return cli_usage_error(ctx, "unexpected argument \"%s\"", argv[optind]);
    if (meeting && (rc = committee_resolve_meeting(ctx, meeting, &meeting_id)) != 0)
        return rc;
    req.meeting_id = meeting_id ? meeting_id : "";
    if ((rc = committee_sink_init(ctx, &sink, headers, 5)) != 0) {
        free(meeting_id);
        return rc;
    }
    rc = groups_pages(ctx, committee_decisions_page, &req, token, &sink, all, "decisions");
    for (size_t p = 0; rc == 0 && p < sink.n_pages; p++) {
        const Compact__Committee__V1__ListDecisionsResponse *page =
            (const void *)sink.pages[p].reply;
        for (size_t i = 0; i < page->n_decisions; i++) {
            const cm_decision *d = page->decisions[i];
            const char *cells[] = {
                d->decided_on,
                COMMITTEE_ENUM(&compact__committee__v1__decision_type__descriptor, d->type, type),
                committee_effects_summary(d, effects, sizeof effects), d->id, d->title};
            output_table_add(sink.table, cells);
        }
    }
    rc = committee_emit(sink.array, sink.table, rc);
    committee_sink_free(&sink);
    free(meeting_id);
    return rc;
}

static int committee_decisions_get(cli_ctx *ctx, int argc, char **argv)
{
    Compact__Committee__V1__GetDecisionRequest req =
        COMPACT__COMMITTEE__V1__GET_DECISION_REQUEST__INIT;
    int c;

    while ((c = cli_getopt(ctx, argc, argv, NULL)) != -1)
        return cli_getopt_stop(ctx, c);
    if (groups_args(ctx, argc, argv, 1, "ID"))
        return CLI_EXIT_USAGE;
    req.id = argv[optind];
    return committee_call_print(ctx, "GetDecision", &req.base);
}

/* ---- waiting for the effects ---------------------------------------------------------------- */

static void committee_sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Polls GetDecision until no effect of `id` is PENDING, at most
 * COMMITTEE_WAIT_MS, then prints the decision. Exit 1 when an effect failed
 * or is still pending (said on stderr after the decision). */
static int committee_wait(cli_ctx *ctx, const char *id)
{
    Compact__Committee__V1__GetDecisionRequest req =
        COMPACT__COMMITTEE__V1__GET_DECISION_REQUEST__INIT;
    call_result res;
    const cm_decision *d;
    int rc, pending, failed = 0;

    req.id = (char *)id;
    for (long waited = 0;; waited += COMMITTEE_POLL_MS) {
        if ((rc = cli_call(ctx, committee_service, committee_svc, "GetDecision", &req.base,
                           &res)) != 0)
            return rc;
        d = (const void *)res.reply;
        pending = 0;
        for (size_t i = 0; i < d->n_effects; i++)
            pending += d->effects[i]->status == EFFECT(PENDING);
        if (pending == 0 || waited >= COMMITTEE_WAIT_MS)
            break;
        call_result_clear(&res);
        committee_sleep_ms(COMMITTEE_POLL_MS);
    }
    rc = ctx->json ? output_json(pbjson_from_message(res.reply)) : committee_print_decision(ctx, d);
    for (size_t i = 0; i < d->n_effects; i++) {
        const cm_effect *e = d->effects[i];
        if (e->status == EFFECT(FAILED)) {
            fprintf(stderr, "compactctl: decision %s: effect %d failed: %s\n", d->id,
                    (int)e->number, e->last_error);
            failed = 1;
        }
    }
    if (pending)
        fprintf(stderr, "compactctl: decision %s: %d effect%s still pending after %d s\n", d->id,
                pending, pending == 1 ? "" : "s", COMMITTEE_WAIT_MS / 1000);
    call_result_clear(&res);
    return rc != 0 ? rc : failed || pending ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

/* Calls `method` (RecordDecision or RetryDecision), then prints the decision
 * at once or, with `wait`, once its effects are settled. */
static int committee_decide(cli_ctx *ctx, const char *method, const ProtobufCMessage *req, int wait)
{
    call_result res;
    char *id;
    int rc;

    if (!wait)
        return committee_call_print(ctx, method, req);
    if ((rc = cli_call(ctx, committee_service, committee_svc, method, req, &res)) != 0)
        return rc;
    id = strdup(((const cm_decision *)res.reply)->id);
    call_result_clear(&res);
    if (!id)
        return output_oom();
    rc = committee_wait(ctx, id);
    free(id);
    return rc;
}

/* ---- committee decisions record and retry ----------------------------------------------------- */

static const struct option committee_record_opts[] = {
    {"meeting", required_argument, NULL, 'm'},
    {"type", required_argument, NULL, 'y'},
    {"title", required_argument, NULL, 'T'},
    {"text", required_argument, NULL, 'x'},
    {"text-file", required_argument, NULL, 'X'},
    {"group", required_argument, NULL, 'g'},
    {"tor-file", required_argument, NULL, 'F'},
    {"period-start", required_argument, NULL, 's'},
    {"period-end", required_argument, NULL, 'E'},
    {"item", required_argument, NULL, 'i'},
    {"proposal", required_argument, NULL, 'P'},
    {"request-id", required_argument, NULL, 'R'},
    {"file", required_argument, NULL, 'f'},
    {"wait", no_argument, NULL, 'w'},
    {0},
};

/* What the flags of `decisions record` ask for. */
typedef struct committee_record_draft {
    cm_decision d;
    const char *meeting, *text_file, *tor_file, *period_start, *period_end, *request_id, *file;
    const char *groups[COMMITTEE_MAX_LIST], *proposals[COMMITTEE_MAX_LIST];
    char *items[COMMITTEE_MAX_LIST];
    size_t n_groups, n_proposals, n_items;
    int wait, action_flags, decision_flags;
} committee_record_draft;

static int committee_record_flag(cli_ctx *ctx, void *draft, int c, char *v)
{
    committee_record_draft *r = draft;
    int value, rc;

    switch (c) {
    case 'm':
        r->meeting = v;
        return 0;
    case 'y':
        if ((rc = committee_parse_enum(ctx, "--type",
                                       &compact__committee__v1__decision_type__descriptor,
                                       committee_type_choices, v, &value)) != 0)
            return rc;
        r->d.type = value;
        r->decision_flags++;
        return 0;
    case 'T':
        r->d.title = v;
        r->decision_flags++;
        return 0;
    case 'x':
        r->d.text = v;
        r->decision_flags++;
        return 0;
    case 'X':
        r->text_file = v;
        r->decision_flags++;
        return 0;
    case 'F':
        r->tor_file = v;
        r->action_flags++;
        return 0;
    case 's':
    case 'E':
        if ((rc = committee_check_date(ctx, c == 's' ? "--period-start" : "--period-end", v)) != 0)
            return rc;
        *(c == 's' ? &r->period_start : &r->period_end) = v;
        r->action_flags++;
        return 0;
    case 'g':
    case 'P':
    case 'i': {
        size_t *n = c == 'g' ? &r->n_groups : c == 'P' ? &r->n_proposals : &r->n_items;
        if (*n >= COMMITTEE_MAX_LIST)
            return cli_usage_error(ctx, "%s: at most %d",
                                   c == 'g'   ? "--group"
                                   : c == 'P' ? "--proposal"
                                              : "--item",
                                   COMMITTEE_MAX_LIST);
        if (c == 'g')
            r->groups[(*n)++] = v;
        else if (c == 'P')
            r->proposals[(*n)++] = v;
        else
            r->items[(*n)++] = v;
        r->action_flags++;
        return 0;
    }
    case 'R':
        r->request_id = v;
        return 0;
    case 'f':
        r->file = v;
        return 0;
    case 'w':
        r->wait = 1;
        return 0;
    default:
        return -1;
    }
}

/* Replaces a string field of a message made by pbjson_to_message (or
 * unpacked) with `value`, malloc'd; the message frees it. */
static void committee_set_string(char **field, char *value)
{
    if (*field && *field != protobuf_c_empty_string)
        free(*field);
    *field = value;
}

/* A group id typed as a code resolved in place. 0 or an exit status. */
static int committee_resolve_group_field(cli_ctx *ctx, char **field)
{
    char *id;
    int rc;

    if (!(*field)[0] || strncmp(*field, "wg_", 3) == 0)
        return 0;
    if ((rc = groups_resolve_group(ctx, *field, &id)) != 0)
        return rc;
    committee_set_string(field, id);
    return 0;
}

/* The references of a decision read from a file: its meeting by date, its
 * groups by code. 0 or an exit status. */
static int committee_resolve_decision(cli_ctx *ctx, cm_decision *d)
{
    int rc = 0;

    if (d->meeting_id[0] && strncmp(d->meeting_id, "mtg_", 4) != 0) {
        char *id;
        if ((rc = committee_resolve_meeting(ctx, d->meeting_id, &id)) != 0)
            return rc;
        committee_set_string(&d->meeting_id, id);
    }
    for (size_t i = 0; rc == 0 && i < d->n_actions; i++) {
        cm_action *a = d->actions[i];
        if (a->action_case == ACTION(APPROVE_TERMS_OF_REFERENCE))
            rc = committee_resolve_group_field(ctx,
                                               &a->approve_terms_of_reference->working_group_id);
        else if (a->action_case == ACTION(APPROVE_WORK_PLAN))
            rc = committee_resolve_group_field(ctx, &a->approve_work_plan->working_group_id);
        else if (a->action_case == ACTION(CLOSE_WORKING_GROUP))
            rc = committee_resolve_group_field(ctx, &a->close_working_group->working_group_id);
    }
    return rc;
}

static int committee_record_from_file(cli_ctx *ctx, const committee_record_draft *r)
{
    Compact__Committee__V1__RecordDecisionRequest *req;
    char *meeting_id = NULL;
    int rc = 0;

    if (r->decision_flags || r->action_flags)
        return cli_usage_error(ctx, "--file takes no flags of the decision but --meeting, "
                                    "--request-id and --wait");
    req = (void *)committee_request_from_json(
        r->file, &compact__committee__v1__record_decision_request__descriptor, "decision");
    if (!req)
        return CLI_EXIT_FAIL;
    if (!req->decision) {
        protobuf_c_message_free_unpacked(&req->base, NULL);
        fprintf(stderr, "compactctl: %s: no decision in it\n", r->file);
        return CLI_EXIT_FAIL;
    }
    if (r->meeting && (rc = committee_resolve_meeting(ctx, r->meeting, &meeting_id)) == 0)
        committee_set_string(&req->decision->meeting_id, meeting_id);
    if (rc == 0 && r->request_id) {
        char *copy = strdup(r->request_id);
        if (!copy)
            rc = output_oom();
        else
            committee_set_string(&req->request_id, copy);
    }
    if (rc == 0 && !req->decision->meeting_id[0])
        rc = cli_usage_error(ctx,
                             "the decision names no meeting: give meetingId in %s or "
                             "--meeting",
                             r->file);
    if (rc == 0)
        rc = committee_resolve_decision(ctx, req->decision);
    if (rc == 0)
        rc = committee_decide(ctx, "RecordDecision", &req->base, r->wait);
    protobuf_c_message_free_unpacked(&req->base, NULL);
    return rc;
}

/* The actions of a decision of a simple type from the flags. Everything
 * made goes to `owned` and its arrays (freed by the caller). */
typedef struct committee_record_owned {
    cm_action actions[COMMITTEE_MAX_LIST], *actions_p[COMMITTEE_MAX_LIST];
    Compact__Committee__V1__ApproveTermsOfReference tor;
    Compact__Committee__V1__ApproveWorkPlan plan;
    Compact__Committee__V1__AllocateCatalyticFunding alloc[COMMITTEE_MAX_LIST];
    Compact__Committee__V1__CloseWorkingGroup close[COMMITTEE_MAX_LIST];
    char *group_ids[COMMITTEE_MAX_LIST], *tor_text, *text, *meeting_id;
} committee_record_owned;

static void committee_record_owned_free(committee_record_owned *o)
{
    for (size_t i = 0; i < COMMITTEE_MAX_LIST; i++)
        free(o->group_ids[i]);
    free(o->tor_text);
    free(o->text);
    free(o->meeting_id);
}

static int committee_record_actions(cli_ctx *ctx, committee_record_draft *r,
                                    committee_record_owned *o)
{
    int type = (int)r->d.type, rc = 0;
    size_t n = 0;

    if (type == TYPE(OTHER)) {
        if (r->action_flags)
            return cli_usage_error(ctx, "a decision of type other has no actions: no --group, "
                                        "--proposal, --item, --tor-file or period flags");
        return 0;
    }
    if (type == TYPE(ALLOCATE_CATALYTIC_FUNDING)) {
        if (r->n_proposals == 0 || r->action_flags != (int)r->n_proposals)
            return cli_usage_error(ctx, "allocate-catalytic-funding takes --proposal ID (one "
                                        "or more) and no other action flag");
        for (; n < r->n_proposals; n++) {
            compact__committee__v1__allocate_catalytic_funding__init(&o->alloc[n]);
            o->alloc[n].proposal_id = (char *)r->proposals[n];
            compact__committee__v1__action__init(&o->actions[n]);
            o->actions[n].action_case = ACTION(ALLOCATE_CATALYTIC_FUNDING);
            o->actions[n].allocate_catalytic_funding = &o->alloc[n];
        }
    } else if (type == TYPE(CLOSE_WORKING_GROUP)) {
        if (r->n_groups == 0 || r->action_flags != (int)r->n_groups)
            return cli_usage_error(ctx, "close-working-group takes --group GROUP (one or more) "
                                        "and no other action flag");
        for (; rc == 0 && n < r->n_groups; n++) {
            rc = groups_resolve_group(ctx, r->groups[n], &o->group_ids[n]);
            compact__committee__v1__close_working_group__init(&o->close[n]);
            o->close[n].working_group_id = o->group_ids[n];
            compact__committee__v1__action__init(&o->actions[n]);
            o->actions[n].action_case = ACTION(CLOSE_WORKING_GROUP);
            o->actions[n].close_working_group = &o->close[n];
        }
    } else if (type == TYPE(APPROVE_TERMS_OF_REFERENCE)) {
        if (r->n_groups != 1 || !r->tor_file || r->action_flags != 2)
            return cli_usage_error(ctx, "approve-terms-of-reference takes one --group and "
                                        "--tor-file (more groups: --file)");
        if (!(o->tor_text = committee_read_text(r->tor_file)))
            return CLI_EXIT_FAIL;
        rc = groups_resolve_group(ctx, r->groups[0], &o->group_ids[0]);
        compact__committee__v1__approve_terms_of_reference__init(&o->tor);
        o->tor.working_group_id = o->group_ids[0];
        o->tor.text = o->tor_text;
        compact__committee__v1__action__init(&o->actions[n]);
        o->actions[n].action_case = ACTION(APPROVE_TERMS_OF_REFERENCE);
        o->actions[n++].approve_terms_of_reference = &o->tor;
    } else if (type == TYPE(APPROVE_WORK_PLAN)) {
        if (r->n_groups != 1 || !r->period_start || !r->period_end || r->n_items == 0 ||
            r->action_flags != (int)(3 + r->n_items))
            return cli_usage_error(ctx, "approve-work-plan takes one --group, --period-start, "
                                        "--period-end and --item (one or more)");
        rc = groups_resolve_group(ctx, r->groups[0], &o->group_ids[0]);
        compact__committee__v1__approve_work_plan__init(&o->plan);
        o->plan.working_group_id = o->group_ids[0];
        o->plan.period_start = (char *)r->period_start;
        o->plan.period_end = (char *)r->period_end;
        o->plan.item_ids = r->items;
        o->plan.n_item_ids = r->n_items;
        compact__committee__v1__action__init(&o->actions[n]);
        o->actions[n].action_case = ACTION(APPROVE_WORK_PLAN);
        o->actions[n++].approve_work_plan = &o->plan;
    } else {
        return cli_usage_error(ctx, "a decision of this type is recorded from a file: --file "
                                    "decision.json");
    }
    for (size_t i = 0; i < n; i++)
        o->actions_p[i] = &o->actions[i];
    r->d.actions = o->actions_p;
    r->d.n_actions = n;
    return rc;
}

static int committee_decisions_record(cli_ctx *ctx, int argc, char **argv)
{
    Compact__Committee__V1__RecordDecisionRequest req =
        COMPACT__COMMITTEE__V1__RECORD_DECISION_REQUEST__INIT;
    committee_record_draft r;
    committee_record_owned *o;
    int rc;

    memset(&r, 0, sizeof r);
    compact__committee__v1__decision__init(&r.d);
    rc = cli_parse_flags(ctx, argc, argv, committee_record_opts, committee_record_flag, &r);
    if (rc != -1)
        return rc;
    if (optind < argc)
        return cli_usage_error(ctx, "unexpected argument \"%s\"", argv[optind]);
    if (r.file)
        return committee_record_from_file(ctx, &r);
    if (!r.meeting || !r.d.type || !r.d.title[0])
        return cli_usage_error(ctx, "--meeting, --type and --title are required (or --file)");
    if (r.text_file && r.d.text[0])
        return cli_usage_error(ctx, "give --text or --text-file, not both");
    if (!(o = calloc(1, sizeof *o)))
        return output_oom();
    rc = committee_record_actions(ctx, &r, o);
    if (rc == 0 && r.text_file && !(o->text = committee_read_text(r.text_file)))
        rc = CLI_EXIT_FAIL;
    if (rc == 0 && o->text)
        r.d.text = o->text;
    if (rc == 0)
        rc = committee_resolve_meeting(ctx, r.meeting, &o->meeting_id);
    if (rc == 0) {
        r.d.meeting_id = o->meeting_id;
        req.decision = &r.d;
        req.request_id = r.request_id ? (char *)r.request_id : "";
        rc = committee_decide(ctx, "RecordDecision", &req.base, r.wait);
    }
    committee_record_owned_free(o);
    free(o);
    return rc;
}

static const struct option committee_retry_opts[] = {
    {"wait", no_argument, NULL, 'w'},
    {0},
};

static int committee_decisions_retry(cli_ctx *ctx, int argc, char **argv)
{
    Compact__Committee__V1__RetryDecisionRequest req =
        COMPACT__COMMITTEE__V1__RETRY_DECISION_REQUEST__INIT;
    int c, wait = 0;

    while ((c = cli_getopt(ctx, argc, argv, committee_retry_opts)) != -1) {
        if (c != 'w')
            return cli_getopt_stop(ctx, c);
        wait = 1;
    }
    if (groups_args(ctx, argc, argv, 1, "ID"))
        return CLI_EXIT_USAGE;
    req.id = argv[optind];
    return committee_decide(ctx, "RetryDecision", &req.base, wait);
}

static const cli_command committee_decisions_verbs[] = {
    {.group = "committee decisions",
     .verb = "list",
     .fn = committee_decisions_list,
     .summary = "the Committee's decisions",
     .usage = "committee decisions list [--meeting ID|YYYY-MM-DD] [--type T] [--page-size N]\n"
              "                [--page-token T] [--all]\n\n"
              "A table by decision date: DECIDED, TYPE, EFFECTS (how many applied, failed,\n"
              "pending), ID, TITLE. --json prints an array of Decision.\n"},
    {.group = "committee decisions",
     .verb = "get",
     .fn = committee_decisions_get,
     .summary = "one decision, its actions and their effects",
     .usage = "committee decisions get ID\n\n"
              "Field lines; one \"effect\" line per action: the owning service, applied\n"
              "with what it made (a terms-of-reference version, a transaction, a group),\n"
              "or pending or failed with the attempts and the owner's last answer, and\n"
              "the reference the owner keeps (<decision>/effects/<n>); then each\n"
              "fact's status and source. --json prints the Decision.\n"},
    {.group = "committee decisions",
     .verb = "record",
     .fn = committee_decisions_record,
     .summary = "record a decision; its effects follow",
     .usage = "committee decisions record --meeting ID|YYYY-MM-DD --type T --title T\n"
              "                [--text T | --text-file FILE] [ACTION FLAGS] [--request-id ID]\n"
              "                [--wait]\n"
              "       compactctl committee decisions record --file decision.json\n"
              "                [--meeting ID|YYYY-MM-DD] [--request-id ID] [--wait]\n\n"
              "Types and their action flags:\n"
              "  other                        none\n"
              "  approve-terms-of-reference   --group GROUP --tor-file FILE|-\n"
              "  approve-work-plan            --group GROUP --period-start D --period-end D\n"
              "                               --item ITEM_ID...\n"
              "  allocate-catalytic-funding   --proposal ID... (one action each)\n"
              "  close-working-group          --group GROUP... (one action each)\n"
              "establish-working-group, and several groups' terms or plans in one decision,\n"
              "come from --file: a Decision or a RecordDecisionRequest in proto3 JSON, where\n"
              "meetingId may be a date and a workingGroupId a code. GROUP is a code or an id.\n\n"
              "The decision is recorded with its effects pending, then carried out by the\n"
              "committee in the services that own the data, once each. --wait polls until\n"
              "none is pending (at most 60 s) and exits 1 if one failed or still waits.\n"},
    {.group = "committee decisions",
     .verb = "retry",
     .fn = committee_decisions_retry,
     .summary = "try a decision's failed effects again",
     .usage = "committee decisions retry ID [--wait]\n\n"
              "Its failed effects become pending again (FAILED_PRECONDITION when none\n"
              "failed). --wait as for record.\n"},
    {0},
};

int committee_cmd_decisions(cli_ctx *ctx, int argc, char **argv)
{
    return committee_dispatch(ctx, committee_decisions_verbs, argc, argv);
}

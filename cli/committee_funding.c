/* committee_funding.c: `compactctl committee envelope ...` and `committee
 * proposals ...`: UNOCT's catalytic envelopes by year and the Working
 * Groups' proposals that draw on them (a decision of type
 * allocate-catalytic-funding approves them: committee_decisions.c). Money is
 * typed in major units and kept and printed as integer minor units.
 */
#include <stdlib.h>
#include <string.h>

#include "committee.h"
#include "pbjson.h"

#define COMMITTEE_CELL 48

/* ---- printing --------------------------------------------------------------------------- */

static const char *committee_money(const Compact__Projects__V1__Money *m, char *buf, size_t len)
{
    if (!m)
        return "";
    return output_money(m->currency, m->amount_minor, 1, buf, len);
}

int committee_print_envelope(const cm_envelope *e)
{
    char amount[COMMITTEE_CELL], allocated[COMMITTEE_CELL], remaining[COMMITTEE_CELL], t1[32];
    output_table *t = output_table_new(NULL, 2);

    if (!t)
        return output_oom();
    committee_field(t, "year", "%d", (int)e->year);
    output_table_field(t, "amount", committee_money(e->amount, amount, sizeof amount));
    output_table_field(t, "allocated", committee_money(e->allocated, allocated, sizeof allocated));
    output_table_field(t, "remaining", committee_money(e->remaining, remaining, sizeof remaining));
    output_table_field(t, "verified", e->verified ? "yes" : "no");
    output_table_field(t, "source_note", e->source_note[0] ? e->source_note : NULL);
    output_table_field(t, "etag", e->etag);
    output_table_field(t, "update_time", output_time(e->update_time, t1, sizeof t1));
    return committee_print(t);
}

int committee_print_proposal(cli_ctx *ctx, const cm_proposal *p)
{
    committee_names nm = {0};
    char amount[COMMITTEE_CELL], status[COMMITTEE_ENUM_NAME];
    output_table *t = output_table_new(NULL, 2);

    if (!t)
        return output_oom();
    committee_names_group(&nm, p->working_group_id);
    committee_names_fetch(ctx, &nm);
    output_table_field(t, "id", p->id);
    committee_field(t, "year", "%d", (int)p->year);
    committee_field(t, "working_group", "%s (%s)", committee_code(&nm, p->working_group_id),
                    p->working_group_id);
    output_table_field(t, "project", p->project_id);
    output_table_field(t, "amount", committee_money(p->amount, amount, sizeof amount));
    output_table_field(
        t, "status",
        COMMITTEE_ENUM(&compact__committee__v1__proposal_status__descriptor, p->status, status));
    output_table_field(t, "decision", p->decision_id[0] ? p->decision_id : NULL);
    output_table_field(t, "justification", p->justification);
    output_table_field(t, "etag", p->etag);
    committee_times(t, p->create_time, p->update_time);
    committee_names_free(&nm);
    return committee_print(t);
}

/* ---- committee envelope ---------------------------------------------------------------------- */

static int committee_envelope_list(cli_ctx *ctx, int argc, char **argv)
{
    static const char *const headers[] = {"YEAR",      "AMOUNT",   "ALLOCATED",
                                          "REMAINING", "VERIFIED", "NOTE"};
    Compact__Committee__V1__ListEnvelopesRequest req =
        COMPACT__COMMITTEE__V1__LIST_ENVELOPES_REQUEST__INIT;
    const Compact__Committee__V1__ListEnvelopesResponse *r;
    char year[16], a[COMMITTEE_CELL], b[COMMITTEE_CELL], c3[COMMITTEE_CELL];
    committee_sink sink;
    call_result res;
    int c, rc;

    while ((c = cli_getopt(ctx, argc, argv, NULL)) != -1)
        return cli_getopt_stop(ctx, c);
    if (optind < argc)
        return cli_usage_error(ctx, "unexpected argument \"%s\"", argv[optind]);
    if ((rc = committee_sink_init(ctx, &sink, headers, 6)) != 0)
        return rc;
    rc = cli_call(ctx, committee_service, committee_svc, "ListEnvelopes", &req.base, &res);
    if (rc == 0) {
        r = (const void *)res.reply;
        for (size_t i = 0; sink.table && i < r->n_envelopes; i++) {
            const cm_envelope *e = r->envelopes[i];
            const char *cells[] = {(snprintf(year, sizeof year, "%d", (int)e->year), year),
                                   committee_money(e->amount, a, sizeof a),
                                   committee_money(e->allocated, b, sizeof b),
                                   committee_money(e->remaining, c3, sizeof c3),
                                   e->verified ? "yes" : "no",
                                   e->source_note};
            output_table_add(sink.table, cells);
        }
        rc = committee_sink_keep(&sink, &res, (ProtobufCMessage **)r->envelopes, r->n_envelopes);
    }
    rc = committee_emit(sink.array, sink.table, rc);
    committee_sink_free(&sink);
    return rc;
}

static int committee_envelope_get(cli_ctx *ctx, int argc, char **argv)
{
    Compact__Committee__V1__GetEnvelopeRequest req =
        COMPACT__COMMITTEE__V1__GET_ENVELOPE_REQUEST__INIT;
    int c, rc;

    while ((c = cli_getopt(ctx, argc, argv, NULL)) != -1)
        return cli_getopt_stop(ctx, c);
    if (groups_args(ctx, argc, argv, 1, "YEAR"))
        return CLI_EXIT_USAGE;
    if ((rc = committee_parse_int(ctx, "YEAR", argv[optind], 1900, 2999, &req.year)) != 0)
        return rc;
    return committee_call_print(ctx, "GetEnvelope", &req.base);
}

static const struct option committee_envelope_set_opts[] = {
    {"amount", required_argument, NULL, 'a'}, {"currency", required_argument, NULL, 'c'},
    {"verified", no_argument, NULL, 'v'},     {"note", required_argument, NULL, 'n'},
    {"etag", required_argument, NULL, 'e'},   {0},
};

static int committee_envelope_set(cli_ctx *ctx, int argc, char **argv)
{
    Compact__Committee__V1__SetEnvelopeRequest req =
        COMPACT__COMMITTEE__V1__SET_ENVELOPE_REQUEST__INIT;
    cm_envelope e = COMPACT__COMMITTEE__V1__ENVELOPE__INIT;
    Compact__Projects__V1__Money amount = COMPACT__PROJECTS__V1__MONEY__INIT;
    const char *typed = NULL;
    int c, rc;

    while ((c = cli_getopt(ctx, argc, argv, committee_envelope_set_opts)) != -1) {
        switch (c) {
        case 'a':
            typed = optarg;
            break;
        case 'c':
            amount.currency = optarg;
            break;
        case 'v':
            e.verified = 1;
            break;
        case 'n':
            e.source_note = optarg;
            break;
        case 'e':
            req.etag = optarg;
            break;
        default:
            return cli_getopt_stop(ctx, c);
        }
    }
    if (groups_args(ctx, argc, argv, 1, "YEAR"))
        return CLI_EXIT_USAGE;
    if ((rc = committee_parse_int(ctx, "YEAR", argv[optind], 1900, 2999, &e.year)) != 0)
        return rc;
    if (!typed || !amount.currency[0])
        return cli_usage_error(ctx, "--amount and --currency are required");
    if (committee_parse_amount(typed, amount.currency, &amount.amount_minor) != 0)
        return cli_usage_error(ctx,
                               "--amount: expected an amount above 0 in %s's major unit, such "
                               "as 1250000.50, got \"%s\"",
                               amount.currency, typed);
    e.amount = &amount;
    req.envelope = &e;
    return committee_call_print(ctx, "SetEnvelope", &req.base);
}

static const cli_command committee_envelope_verbs[] = {
    {.group = "committee envelope",
     .verb = "list",
     .fn = committee_envelope_list,
     .summary = "the catalytic envelopes",
     .usage = "committee envelope list\n\n"
              "A table by year: YEAR, AMOUNT, ALLOCATED (approved proposals), REMAINING,\n"
              "VERIFIED, NOTE. --json prints an array of Envelope.\n"},
    {.group = "committee envelope",
     .verb = "get",
     .fn = committee_envelope_get,
     .summary = "one year's envelope",
     .usage = "committee envelope get YEAR\n"},
    {.group = "committee envelope",
     .verb = "set",
     .fn = committee_envelope_set,
     .summary = "set a year's envelope",
     .usage = "committee envelope set YEAR --amount 1250000.50 --currency CUR [--verified]\n"
              "                [--note T] [--etag E]\n\n"
              "UNOCT's catalytic funding for the year, in one currency; the amount is in its\n"
              "major unit and taken exactly (integer minor units). It may not fall below\n"
              "what is allocated already. --verified only with a public source in --note.\n"},
    {0},
};

int committee_cmd_envelope(cli_ctx *ctx, int argc, char **argv)
{
    return committee_dispatch(ctx, committee_envelope_verbs, argc, argv);
}

/* ---- committee proposals ----------------------------------------------------------------------- */

static const char committee_proposal_choices[] = "proposed, approved or withdrawn";

static const struct option committee_proposals_list_opts[] = {
    {"year", required_argument, NULL, 'y'},
    {"status", required_argument, NULL, 's'},
    COMMITTEE_PAGE_OPTS,
    {0},
};

static int committee_proposals_page(cli_ctx *ctx, void *request, const char *token, void *arg,
                                    char **next)
{
    return committee_list_page(ctx, "ListProposals", request, token, "proposals", arg, next);
}

static int committee_proposals_list(cli_ctx *ctx, int argc, char **argv)
{
    static const char *const headers[] = {"ID",     "YEAR",   "GROUP",   "PROJECT",
                                          "AMOUNT", "STATUS", "DECISION"};
    Compact__Committee__V1__ListProposalsRequest req =
        COMPACT__COMMITTEE__V1__LIST_PROPOSALS_REQUEST__INIT;
    const char *token = NULL;
    char year[16], amount[COMMITTEE_CELL], status[COMMITTEE_ENUM_NAME];
    committee_names nm = {0};
    committee_sink sink;
    int c, rc, all = 0, value;

    while ((c = cli_getopt(ctx, argc, argv, committee_proposals_list_opts)) != -1) {
        if (c == 'y') {
            if ((rc = committee_parse_int(ctx, "--year", optarg, 1900, 2999, &req.year)) != 0)
                return rc;
        } else if (c == 's') {
            if ((rc = committee_parse_enum(ctx, "--status",
                                           &compact__committee__v1__proposal_status__descriptor,
                                           committee_proposal_choices, optarg, &value)) != 0)
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
    rc = groups_pages(ctx, committee_proposals_page, &req, token, &sink, all, "proposals");
    for (size_t p = 0; rc == 0 && p < sink.n_pages; p++) {
        const Compact__Committee__V1__ListProposalsResponse *page =
            (const void *)sink.pages[p].reply;
        for (size_t i = 0; i < page->n_proposals; i++)
            committee_names_group(&nm, page->proposals[i]->working_group_id);
    }
    if (rc == 0 && sink.n_pages)
        committee_names_fetch(ctx, &nm);
    for (size_t p = 0; rc == 0 && p < sink.n_pages; p++) {
        const Compact__Committee__V1__ListProposalsResponse *page =
            (const void *)sink.pages[p].reply;
        for (size_t i = 0; i < page->n_proposals; i++) {
            const cm_proposal *x = page->proposals[i];
            const char *cells[] = {
                x->id,
                (snprintf(year, sizeof year, "%d", (int)x->year), year),
                committee_code(&nm, x->working_group_id),
                x->project_id,
                committee_money(x->amount, amount, sizeof amount),
                COMMITTEE_ENUM(&compact__committee__v1__proposal_status__descriptor, x->status,
                               status),
                x->decision_id};
            output_table_add(sink.table, cells);
        }
    }
    rc = committee_emit(sink.array, sink.table, rc);
    committee_sink_free(&sink);
    committee_names_free(&nm);
    return rc;
}

static int committee_proposals_get(cli_ctx *ctx, int argc, char **argv)
{
    Compact__Committee__V1__GetProposalRequest req =
        COMPACT__COMMITTEE__V1__GET_PROPOSAL_REQUEST__INIT;
    int c;

    while ((c = cli_getopt(ctx, argc, argv, NULL)) != -1)
        return cli_getopt_stop(ctx, c);
    if (groups_args(ctx, argc, argv, 1, "ID"))
        return CLI_EXIT_USAGE;
    req.id = argv[optind];
    return committee_call_print(ctx, "GetProposal", &req.base);
}

/* The id of project `key`: itself if it starts with "prj_", else the
 * project with that IATI identifier. 0 and *id (caller frees), or an exit
 * status. */
static int committee_resolve_project(cli_ctx *ctx, const char *key, char **id)
{
    Compact__Projects__V1__GetProjectRequest req = COMPACT__PROJECTS__V1__GET_PROJECT_REQUEST__INIT;
    call_result res;
    int rc;

    if (strncmp(key, "prj_", 4) == 0)
        return (*id = strdup(key)) ? 0 : output_oom();
    req.key_case = COMPACT__PROJECTS__V1__GET_PROJECT_REQUEST__KEY_IATI_IDENTIFIER;
    req.iati_identifier = (char *)key;
    if ((rc = cli_call(ctx, "projects", &compact__projects__v1__projects__descriptor, "GetProject",
                       &req.base, &res)) != 0)
        return rc;
    *id = strdup(((const Compact__Projects__V1__Project *)res.reply)->id);
    call_result_clear(&res);
    return *id ? 0 : output_oom();
}

static const struct option committee_propose_opts[] = {
    {"group", required_argument, NULL, 'g'},      {"project", required_argument, NULL, 'p'},
    {"year", required_argument, NULL, 'y'},       {"amount", required_argument, NULL, 'a'},
    {"currency", required_argument, NULL, 'c'},   {"justification", required_argument, NULL, 'j'},
    {"request-id", required_argument, NULL, 'R'}, {0},
};

static int committee_proposals_propose(cli_ctx *ctx, int argc, char **argv)
{
    Compact__Committee__V1__ProposeCatalyticFundingRequest req =
        COMPACT__COMMITTEE__V1__PROPOSE_CATALYTIC_FUNDING_REQUEST__INIT;
    cm_proposal p = COMPACT__COMMITTEE__V1__PROPOSAL__INIT;
    Compact__Projects__V1__Money amount = COMPACT__PROJECTS__V1__MONEY__INIT;
    const char *group = NULL, *project = NULL, *typed = NULL;
    char *group_id = NULL, *project_id = NULL;
    int c, rc;

    while ((c = cli_getopt(ctx, argc, argv, committee_propose_opts)) != -1) {
        switch (c) {
        case 'g':
            group = optarg;
            break;
        case 'p':
            project = optarg;
            break;
        case 'y':
            if ((rc = committee_parse_int(ctx, "--year", optarg, 1900, 2999, &p.year)) != 0)
                return rc;
            break;
        case 'a':
            typed = optarg;
            break;
        case 'c':
            amount.currency = optarg;
            break;
        case 'j':
            p.justification = optarg;
            break;
        case 'R':
            req.request_id = optarg;
            break;
        default:
            return cli_getopt_stop(ctx, c);
        }
    }
    if (optind < argc)
        return cli_usage_error(ctx, "unexpected argument \"%s\"", argv[optind]);
    if (!group || !project || !p.year || !typed || !amount.currency[0] || !p.justification[0])
        return cli_usage_error(ctx, "--group, --project, --year, --amount, --currency and "
                                    "--justification are required");
    if (committee_parse_amount(typed, amount.currency, &amount.amount_minor) != 0)
        return cli_usage_error(ctx,
                               "--amount: expected an amount above 0 in %s's major unit, such "
                               "as 1250000.50, got \"%s\"",
                               amount.currency, typed);
    rc = groups_resolve_group(ctx, group, &group_id);
    if (rc == 0)
        rc = committee_resolve_project(ctx, project, &project_id);
    if (rc == 0) {
        p.working_group_id = group_id;
        p.project_id = project_id;
        p.amount = &amount;
        req.proposal = &p;
        rc = committee_call_print(ctx, "ProposeCatalyticFunding", &req.base);
    }
    free(group_id);
    free(project_id);
    return rc;
}

static const struct option committee_withdraw_opts[] = {
    {"etag", required_argument, NULL, 'e'},
    {0},
};

static int committee_proposals_withdraw(cli_ctx *ctx, int argc, char **argv)
{
    Compact__Committee__V1__WithdrawProposalRequest req =
        COMPACT__COMMITTEE__V1__WITHDRAW_PROPOSAL_REQUEST__INIT;
    int c;

    while ((c = cli_getopt(ctx, argc, argv, committee_withdraw_opts)) != -1) {
        if (c != 'e')
            return cli_getopt_stop(ctx, c);
        req.etag = optarg;
    }
    if (groups_args(ctx, argc, argv, 1, "ID"))
        return CLI_EXIT_USAGE;
    req.id = argv[optind];
    return committee_call_print(ctx, "WithdrawProposal", &req.base);
}

static const cli_command committee_proposals_verbs[] = {
    {.group = "committee proposals",
     .verb = "list",
     .fn = committee_proposals_list,
     .summary = "catalytic funding proposals",
     .usage = "committee proposals list [--year YYYY] [--status S] [--page-size N]\n"
              "                [--page-token T] [--all]\n\n"
              "A table by year: ID, YEAR, GROUP (code), PROJECT, AMOUNT, STATUS, DECISION\n"
              "(the approving one). --status: proposed, approved or withdrawn. --json\n"
              "prints an array of Proposal.\n"},
    {.group = "committee proposals",
     .verb = "get",
     .fn = committee_proposals_get,
     .summary = "one proposal",
     .usage = "committee proposals get ID\n"},
    {.group = "committee proposals",
     .verb = "propose",
     .fn = committee_proposals_propose,
     .summary = "propose catalytic funding for a group's project",
     .usage = "committee proposals propose --group GROUP --project PROJECT --year YYYY\n"
              "                --amount 250000 --currency CUR --justification T\n"
              "                [--request-id ID]\n\n"
              "GROUP is a code or an id; PROJECT an IATI identifier or an id, a project of\n"
              "that group. The amount is in the envelope's currency, in its major unit.\n"
              "A decision of type allocate-catalytic-funding approves it.\n"},
    {.group = "committee proposals",
     .verb = "withdraw",
     .fn = committee_proposals_withdraw,
     .summary = "withdraw a proposal not decided yet",
     .usage = "committee proposals withdraw ID [--etag E]\n"},
    {0},
};

int committee_cmd_proposals(cli_ctx *ctx, int argc, char **argv)
{
    return committee_dispatch(ctx, committee_proposals_verbs, argc, argv);
}

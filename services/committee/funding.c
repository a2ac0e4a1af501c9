/* funding.c: UNOCT's catalytic funding, from envelope to proposal.
 *
 * An envelope is what UNOCT may allocate in a year, in one currency. A
 * Working Group proposes an amount for one of its projects; a decision
 * (decisions.c) approves proposals, never beyond what the envelope has
 * left, and its effects record each allocation on the project as a
 * catalytic commitment from UNOCT (effects.c). What is allocated is the sum
 * of the approved proposals, so the envelope's remainder needs no upkeep.
 */
#include "committee.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etag.h"
#include "ids.h"
#include "iso_codes.h"
#include "page.h"
#include "pbmsg.h"
#include "pbstr.h"
#include "pbtime.h"
#include "peers.h"
#include "status.h"
#include "txn.h"
#include "validate.h"

typedef Compact__Committee__V1__Envelope Envelope;
typedef Compact__Committee__V1__Proposal Proposal;
typedef Compact__Projects__V1__Money Money;

#define PROPOSED COMPACT__COMMITTEE__V1__PROPOSAL_STATUS__PROPOSAL_STATUS_PROPOSED
#define WITHDRAWN COMPACT__COMMITTEE__V1__PROPOSAL_STATUS__PROPOSAL_STATUS_WITHDRAWN
#define YEAR_MIN 2018 /* the Compact's first year */
#define YEAR_MAX 2100
#define AMOUNT_MAX 100000000000000LL /* 10^14 minor units, as projects */

enum proposal_field {
    P_GROUP = 1 << 0,
    P_PROJECT = 1 << 1,
    P_YEAR = 1 << 2,
    P_AMOUNT = 1 << 3,
    P_JUSTIFICATION = 1 << 4,
    P_ALL = (1 << 5) - 1,
};

static const fieldmask_field proposal_fields[] = {
    {"working_group_id", P_GROUP, NULL},
    {"project_id", P_PROJECT, NULL},
    {"year", P_YEAR, NULL},
    {"amount", P_AMOUNT, NULL},
    {"justification", P_JUSTIFICATION, NULL},
    {NULL, 0, NULL},
};

static int load_proposal(void *st, const char *id, ProtobufCMessage **out, int64_t *version)
{
    return docstore_load(st, &committee_proposals, id, out, version);
}

static int no_cache_form(const char *value, char *buf, size_t size)
{
    (void)value, (void)buf, (void)size;
    return -1;
}

const aggregate_def committee_proposal_aggregate = {
    .service = "committee",
    .type = "proposal",
    .noun = "proposal",
    .descriptor = &compact__committee__v1__proposal__descriptor,
    .id_prefix = IDS_PROPOSAL,
    /* Read from the store, never cached: a decision approves proposals in
     * its own write, which drops only the decision's cache keys. */
    .keys = {{.field = "id",
              .label = "id",
              .cache_kind = "proposal",
              .load = load_proposal,
              .cache_id = no_cache_form}},
};

/* ---- money ---------------------------------------------------------------------------- */

static int check_money(rpc_call *call, const char *field, const Money *m)
{
    if (m == NULL) {
        rpc_call_fail(call, RPC_INVALID_ARGUMENT, "%s: must be set", field);
        return -1;
    }
    if (iso_currency_minor_units(m->currency) < 0) {
        rpc_call_fail(call, RPC_INVALID_ARGUMENT, "%s.currency: \"%s\" is not an ISO 4217 currency",
                      field, m->currency);
        return -1;
    }
    if (m->amount_minor <= 0 || m->amount_minor > AMOUNT_MAX) {
        rpc_call_fail(call, RPC_INVALID_ARGUMENT, "%s.amount_minor: must be 1 to %lld", field,
                      AMOUNT_MAX);
        return -1;
    }
    return 0;
}

static int check_year(rpc_call *call, const char *field, int year)
{
    if (year >= YEAR_MIN && year <= YEAR_MAX)
        return 0;
    rpc_call_fail(call, RPC_INVALID_ARGUMENT, "%s: must be a year from %d to %d", field, YEAR_MIN,
                  YEAR_MAX);
    return -1;
}

static Money *money_new(const char *currency, int64_t amount)
{
    Money *m = calloc(1, sizeof *m);

    if (m == NULL)
        return NULL;
    compact__projects__v1__money__init(m);
    if (pbstr_set(&m->currency, currency)) {
        free(m);
        return NULL;
    }
    m->amount_minor = amount;
    return m;
}

/* Fills the envelope's output fields: allocated and remaining. */
static int envelope_totals(store *st, Envelope *e)
{
    int64_t allocated;
    int rc = committee_store_allocated(st, e->year, e->amount->currency, &allocated);

    if (rc != 0)
        return rc;
    pbmsg_free((ProtobufCMessage *)e->allocated);
    pbmsg_free((ProtobufCMessage *)e->remaining);
    e->allocated = money_new(e->amount->currency, allocated);
    e->remaining = money_new(e->amount->currency, e->amount->amount_minor - allocated);
    return e->allocated && e->remaining ? 0 : -ENOMEM;
}

/* ---- envelopes ----------------------------------------------------------------------------- */

/* The envelope as it will be stored: the request's input fields. */
static Envelope *envelope_new(const Envelope *in, int64_t now_ms)
{
    Envelope *e = calloc(1, sizeof *e);

    if (e == NULL)
        return NULL;
    compact__committee__v1__envelope__init(e);
    e->year = in->year;
    e->verified = in->verified;
    if ((e->amount = money_new(in->amount->currency, in->amount->amount_minor)) == NULL ||
        pbstr_set(&e->source_note, in->source_note) || pbtime_set(&e->update_time, now_ms)) {
        pbmsg_free(&e->base);
        return NULL;
    }
    return e;
}

static void envelope_event(outbox_event *ev, char *id, size_t size, const Envelope *e)
{
    snprintf(id, size, "%d", e->year);
    *ev = (outbox_event){.service = "committee",
                         .aggregate_type = "envelope",
                         .aggregate_id = id,
                         .type = "envelope.set",
                         .state = &e->base};
}

/* Why the stored envelope `old` may not become `in`, or NULL: a stale
 * etag, allocations in another currency or beyond the new amount. */
static rpc_code envelope_change_problem(const Envelope *old, const Envelope *in, const char *etag,
                                        int64_t allocated, char *why, size_t size)
{
    if (etag[0] && !etag_matches(etag, old->etag)) {
        snprintf(why, size,
                 "etag: %s is not the current etag of the %d envelope: it changed; "
                 "read it again",
                 etag, in->year);
        return RPC_ABORTED;
    }
    if (allocated > 0 && strcmp(old->amount->currency, in->amount->currency) != 0) {
        snprintf(why, size,
                 "envelope.amount.currency: %" PRId64 " %s of the %d envelope are "
                 "allocated already; its currency cannot change",
                 allocated, old->amount->currency, in->year);
        return RPC_FAILED_PRECONDITION;
    }
    if (in->amount->amount_minor < allocated) {
        snprintf(why, size,
                 "envelope.amount.amount_minor: %" PRId64 " is less than the %" PRId64
                 " allocated already",
                 in->amount->amount_minor, allocated);
        return RPC_FAILED_PRECONDITION;
    }
    return RPC_OK;
}

/* The checks against what is stored; *version gets the stored version (0
 * for a new year). Returns 0, or -1 after failing the call. */
static int check_envelope_change(rpc_call *call, store *st, const Envelope *in, const char *etag,
                                 int64_t *version)
{
    Envelope *old = NULL;
    int64_t allocated = 0;
    char why[300];
    rpc_code code;
    int rc = committee_store_envelope(st, in->year, &old, version);

    if (rc == -ENOENT) {
        *version = 0;
        return 0;
    }
    if (rc == 0)
        rc = committee_store_allocated(st, in->year, old->amount->currency, &allocated);
    if (rc != 0) {
        status_fail_store(call, rc, "the envelope could not be read");
        if (old)
            pbmsg_free(&old->base);
        return -1;
    }
    code = envelope_change_problem(old, in, etag, allocated, why, sizeof why);
    pbmsg_free(&old->base);
    if (code == RPC_OK)
        return 0;
    rpc_call_fail(call, code, "%s", why);
    return -1;
}

void handle_set_envelope(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    const Compact__Committee__V1__SetEnvelopeRequest *req = (const void *)request;
    const Envelope *in = req->envelope;
    store *st = service_store(svc);
    outbox_event ev;
    Envelope *e;
    int64_t version;
    char id[16];
    int rc;

    if (validate_present(call, "envelope", in) || check_year(call, "envelope.year", in->year) ||
        check_money(call, "envelope.amount", in->amount) ||
        validate_text(call, "envelope.source_note", in->source_note, COMMITTEE_NOTE_MAX) ||
        txn_begin(call, st))
        return;
    if (check_envelope_change(call, st, in, req->etag, &version)) {
        store_rollback(st);
        return;
    }
    if ((e = envelope_new(in, pbtime_now_ms())) == NULL) {
        store_rollback(st);
        rpc_call_fail(call, RPC_RESOURCE_EXHAUSTED, "out of memory");
        return;
    }
    rc = committee_store_put_envelope(st, e, version);
    rc = rc ? rc : envelope_totals(st, e);
    envelope_event(&ev, id, sizeof id, e);
    txn_finish(call, svc, rc, &ev, &e->base);
    pbmsg_free(&e->base);
}

void handle_get_envelope(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    const Compact__Committee__V1__GetEnvelopeRequest *req = (const void *)request;
    store *st = service_store(svc);
    Envelope *e = NULL;
    int64_t version;
    int rc;

    if (check_year(call, "year", req->year))
        return;
    rc = committee_store_envelope(st, req->year, &e, &version);
    if (rc == -ENOENT) {
        rpc_call_fail(call, RPC_NOT_FOUND, "year: no catalytic envelope for %d", req->year);
        return;
    }
    rc = rc ? rc : envelope_totals(st, e);
    if (rc != 0)
        status_fail_store(call, rc, "the envelope could not be read");
    else
        rpc_call_reply(call, &e->base);
    if (e)
        pbmsg_free(&e->base);
}

void handle_list_envelopes(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    Compact__Committee__V1__ListEnvelopesResponse resp =
        COMPACT__COMMITTEE__V1__LIST_ENVELOPES_RESPONSE__INIT;
    store *st = service_store(svc);
    ProtobufCMessage **v = NULL;
    size_t n = 0;
    int rc = committee_store_envelopes(st, &v, &n);

    (void)request;
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = envelope_totals(st, (Envelope *)v[i]);
    if (rc != 0) {
        status_fail_store(call, rc, "the envelopes could not be read");
    } else {
        resp.envelopes = (Envelope **)v;
        resp.n_envelopes = n;
        rpc_call_reply(call, &resp.base);
    }
    if (v) /* rows were read, whether or not their totals were */
        docstore_rows_free(v, n);
}

/* ---- proposals ---------------------------------------------------------------------------- */

static int check_proposal(rpc_call *call, const Proposal *p)
{
    return validate_id(call, "proposal.working_group_id", p->working_group_id, IDS_GROUP) ||
                   validate_id(call, "proposal.project_id", p->project_id, IDS_PROJECT) ||
                   check_year(call, "proposal.year", p->year) ||
                   check_money(call, "proposal.amount", p->amount) ||
                   validate_required_string(call, "proposal.justification", p->justification,
                                            COMMITTEE_JUSTIFICATION_MAX)
               ? -1
               : 0;
}

static void write_proposal(rpc_call *call, service *svc, void *arg)
{
    const Compact__Committee__V1__ProposeCatalyticFundingRequest *req = arg;
    store *st = service_store(svc);
    aggregate_write w;
    Envelope *e = NULL;
    int64_t version;
    Proposal *p;
    int rc;

    if (aggregate_begin_new(&w, call, svc, &committee_proposal_aggregate,
                            aggregate_new(&req->proposal->base, proposal_fields, P_ALL)))
        return;
    p = (Proposal *)w.state;
    p->status = PROPOSED;
    rc = committee_store_envelope(st, p->year, &e, &version);
    if (rc == 0 && strcmp(e->amount->currency, p->amount->currency) != 0) {
        aggregate_fail(&w, RPC_FAILED_PRECONDITION,
                       "proposal.amount.currency: the %d envelope is in %s, not %s", p->year,
                       e->amount->currency, p->amount->currency);
        pbmsg_free(&e->base);
        return;
    }
    if (rc == 0)
        pbmsg_free(&e->base);
    rc = rc == -ENOENT ? 0 : rc;
    aggregate_commit(&w, rc ? rc : docstore_insert(st, &committee_proposals, &p->base),
                     "proposal.created", NULL);
}

/* projects.GetProject's answer: the project must be one of the group's. */
typedef struct proposing {
    rpc_call *call;
    service *svc;
    const Compact__Committee__V1__ProposeCatalyticFundingRequest *req;
} proposing;

static void on_project(void *arg, rpc_code code, const char *message, const ProtobufCMessage *reply)
{
    proposing *p = arg;
    const Compact__Projects__V1__Project *prj = (const void *)reply;
    const char *group = p->req->proposal->working_group_id;
    int in_group = 0;

    for (size_t i = 0; code == RPC_OK && i < prj->n_working_group_ids; i++)
        in_group |= strcmp(prj->working_group_ids[i], group) == 0;
    if (code == RPC_NOT_FOUND)
        rpc_call_fail(p->call, RPC_INVALID_ARGUMENT, "proposal.project_id: no project \"%s\"",
                      p->req->proposal->project_id);
    else if (code != RPC_OK)
        rpc_call_fail(p->call, code == RPC_DEADLINE_EXCEEDED ? code : RPC_UNAVAILABLE,
                      "projects: %s %s", rpc_code_name(code), message ? message : "");
    else if (!in_group)
        rpc_call_fail(p->call, RPC_FAILED_PRECONDITION,
                      "proposal.project_id: project %s is not a project of working group %s",
                      prj->id, group);
    else
        write_proposal(p->call, p->svc, (void *)p->req);
    free(p);
}

static void ask_project(rpc_call *call, service *svc, void *arg, int ok)
{
    const Compact__Committee__V1__ProposeCatalyticFundingRequest *req = arg;
    Compact__Projects__V1__GetProjectRequest get = COMPACT__PROJECTS__V1__GET_PROJECT_REQUEST__INIT;
    rpc_channel *ch = service_peer(svc, "projects");
    proposing *p;

    if (!ok)
        return;
    if (ch == NULL) {
        rpc_call_fail(call, RPC_UNAVAILABLE, "projects: not configured (COMPACT_PROJECTS_ADDR)");
        return;
    }
    if ((p = malloc(sizeof *p)) == NULL) {
        rpc_call_fail(call, RPC_RESOURCE_EXHAUSTED, "out of memory");
        return;
    }
    *p = (proposing){call, svc, req};
    get.key_case = COMPACT__PROJECTS__V1__GET_PROJECT_REQUEST__KEY_ID;
    get.id = req->proposal->project_id;
    if (rpc_channel_call(ch, &compact__projects__v1__projects__descriptor, "GetProject", &get.base,
                         service_config(svc)->peer_timeout_ms, call, on_project, p) != 0) {
        free(p);
        rpc_call_fail(call, RPC_UNAVAILABLE, "projects: cannot be asked");
    }
}

void handle_propose_catalytic_funding(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    const Compact__Committee__V1__ProposeCatalyticFundingRequest *req = (const void *)request;
    peer_check *c;

    if (aggregate_replay(call, svc) || validate_present(call, "proposal", req->proposal) ||
        check_proposal(call, req->proposal))
        return;
    c = peer_check_new();
    peer_check_add(c, &peer_groups, req->proposal->working_group_id, "proposal.working_group_id");
    peer_check_run(c, call, svc, ask_project, (void *)req);
}

void handle_get_proposal(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    const Compact__Committee__V1__GetProposalRequest *req = (const void *)request;

    if (validate_id(call, "id", req->id, IDS_PROPOSAL) == 0)
        aggregate_get_reply(call, svc, &committee_proposal_aggregate, 0, "id", req->id);
}

static void proposal_key(const ProtobufCMessage *item, char *buf, size_t size)
{
    const Proposal *p = (const Proposal *)item;

    snprintf(buf, size, "%04d.%015" PRId64 "|%s", p->year, pbtime_ms(p->create_time), p->id);
}

void handle_list_proposals(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    const Compact__Committee__V1__ListProposalsRequest *req = (const void *)request;
    Compact__Committee__V1__ListProposalsResponse resp =
        COMPACT__COMMITTEE__V1__LIST_PROPOSALS_RESPONSE__INIT;
    char year[16], status[8];
    const char *filters[] = {"committee.proposals", year, status};
    page_request pg;
    ProtobufCMessage **v = NULL;
    size_t n = 0;
    int rc;

    snprintf(year, sizeof year, "%d", req->year);
    snprintf(status, sizeof status, "%d", (int)req->status);
    if ((req->year && check_year(call, "year", req->year)) ||
        validate_enum(call, "status", &compact__committee__v1__proposal_status__descriptor,
                      (int)req->status, 0) ||
        page_request_parse(call, filters, 3, req->page_size, req->page_token, &pg))
        return;
    rc = committee_store_proposals(service_store(svc), req->year, (int)req->status, pg.after,
                                   page_request_limit(&pg), &v, &n);
    page_reply(call, &pg, rc, "the proposals could not be read", &resp.base, v, n, proposal_key);
}

void handle_withdraw_proposal(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    const Compact__Committee__V1__WithdrawProposalRequest *req = (const void *)request;
    aggregate_write w;
    Proposal *p;

    if (validate_id(call, "id", req->id, IDS_PROPOSAL) ||
        aggregate_begin(&w, call, svc, &committee_proposal_aggregate, "id", req->id, req->etag))
        return;
    p = (Proposal *)w.state;
    if (p->status != PROPOSED) {
        aggregate_fail(&w, RPC_FAILED_PRECONDITION, "id: proposal %s is %s, not proposed", p->id,
                       protobuf_c_enum_descriptor_get_value(
                           &compact__committee__v1__proposal_status__descriptor, (int)p->status)
                           ->name);
        return;
    }
    p->status = WITHDRAWN;
    aggregate_commit(&w,
                     docstore_update(service_store(svc), &committee_proposals, &p->base, w.version),
                     "proposal.withdrawn", NULL);
}

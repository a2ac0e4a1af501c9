/* composition.c: who sits on the Committee, on any date.
 *
 * The standing seats (chair, secretariat, CTED, other entities'
 * representatives) are kept here with their dates. The Working Groups'
 * chairs and vice-chairs are not: workgroups owns them, with their history
 * (LeadershipTerm), and is asked each time a composition is wanted, so the
 * two can never disagree. Without workgroups there is no composition
 * (UNAVAILABLE), never a partial one passed off as whole.
 */
#include "committee.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ids.h"
#include "page.h"
#include "pbmsg.h"
#include "pbstr.h"
#include "peers.h"
#include "status.h"
#include "validate.h"

typedef Compact__Committee__V1__Representative Representative;
typedef Compact__Committee__V1__Seat Seat;
typedef Compact__Committee__V1__Composition Composition;
typedef Compact__Workgroups__V1__WorkingGroup WorkingGroup;

#define ROLE(x) COMPACT__COMMITTEE__V1__SEAT_ROLE__SEAT_ROLE_##x
#define GROUPS_PAGE 1000

enum representative_field {
    R_ROLE = 1 << 0,
    R_ENTITY = 1 << 1,
    R_PERSON = 1 << 2,
    R_TITLE = 1 << 3,
    R_FROM = 1 << 4,
    R_TO = 1 << 5,
    R_VERIFIED = 1 << 6,
    R_SOURCE_NOTE = 1 << 7,
    R_ALL = (1 << 8) - 1,
};

static const fieldmask_field representative_fields[] = {
    {"role", R_ROLE, NULL},
    {"entity_id", R_ENTITY, NULL},
    {"person", R_PERSON, NULL},
    {"title", R_TITLE, NULL},
    {"from_date", R_FROM, NULL},
    {"to_date", R_TO, NULL},
    {"verified", R_VERIFIED, NULL},
    {"source_note", R_SOURCE_NOTE, NULL},
    {"id", 0, "is output only"},
    {"create_time", 0, "is output only"},
    {"update_time", 0, "is output only"},
    {"etag", 0, "is output only"},
    {NULL, 0, NULL},
};

static int load_representative(void *st, const char *id, ProtobufCMessage **out, int64_t *version)
{
    return docstore_load(st, &committee_representatives, id, out, version);
}

const aggregate_def committee_representative_aggregate = {
    .service = "committee",
    .type = "representative",
    .noun = "representative",
    .descriptor = &compact__committee__v1__representative__descriptor,
    .id_prefix = IDS_REPRESENTATIVE,
    .keys = {{.field = "id",
              .label = "id",
              .cache_kind = "representative",
              .load = load_representative}},
};

void committee_today(char *buf)
{
    time_t now = time(NULL);
    struct tm tm;

    gmtime_r(&now, &tm);
    strftime(buf, 11, "%Y-%m-%d", &tm);
}

/* ---- representatives ------------------------------------------------------------ */

static int check_representative(rpc_call *call, const Representative *r)
{
    if (r->role != ROLE(CHAIR) && r->role != ROLE(SECRETARIAT) && r->role != ROLE(CTED) &&
        r->role != ROLE(ENTITY_REPRESENTATIVE)) {
        rpc_call_fail(call, RPC_INVALID_ARGUMENT,
                      "representative.role: must be SEAT_ROLE_CHAIR, SEAT_ROLE_SECRETARIAT, "
                      "SEAT_ROLE_CTED or SEAT_ROLE_ENTITY_REPRESENTATIVE (the Working Groups' "
                      "leaders come from workgroups)");
        return -1;
    }
    if (validate_id(call, "representative.entity_id", r->entity_id, IDS_ENTITY) ||
        validate_optional_string(call, "representative.person", r->person, COMMITTEE_NAME_MAX) ||
        validate_optional_string(call, "representative.title", r->title, COMMITTEE_NAME_MAX) ||
        validate_date(call, "representative.from_date", r->from_date) ||
        (r->to_date[0] && validate_date(call, "representative.to_date", r->to_date)) ||
        validate_text(call, "representative.source_note", r->source_note, COMMITTEE_NOTE_MAX))
        return -1;
    if (r->to_date[0] && strcmp(r->to_date, r->from_date) <= 0) {
        rpc_call_fail(call, RPC_INVALID_ARGUMENT,
                      "representative.to_date: %s is not after from_date %s", r->to_date,
                      r->from_date);
        return -1;
    }
    return 0;
}

static void write_representative(rpc_call *call, service *svc, void *arg, int ok)
{
    const Compact__Committee__V1__AddRepresentativeRequest *req = arg;
    const Representative *in = req->representative;
    aggregate_write w;
    char id[IDS_SIZE];
    int rc;

    if (!ok || aggregate_begin_new(&w, call, svc, &committee_representative_aggregate,
                                   aggregate_new(&in->base, representative_fields, R_ALL)))
        return;
    rc = committee_store_seat_taken(service_store(svc), (int)in->role, in->entity_id, in->from_date,
                                    id, sizeof id);
    if (rc == 0) {
        aggregate_fail(&w, RPC_ALREADY_EXISTS, "representative: %s holds this seat from %s already",
                       id, in->from_date);
        return;
    }
    if (rc == -ENOENT)
        rc = docstore_insert(service_store(svc), &committee_representatives, w.state);
    aggregate_commit(&w, rc, "representative.added", NULL);
}

void handle_add_representative(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    const Compact__Committee__V1__AddRepresentativeRequest *req = (const void *)request;
    peer_check *c;

    if (aggregate_replay(call, svc) ||
        validate_present(call, "representative", req->representative) ||
        check_representative(call, req->representative))
        return;
    c = peer_check_new();
    peer_check_add(c, &peer_entities, req->representative->entity_id, "representative.entity_id");
    peer_check_run(c, call, svc, write_representative, (void *)req);
}

void handle_end_representative(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    const Compact__Committee__V1__EndRepresentativeRequest *req = (const void *)request;
    aggregate_write w;
    Representative *r;
    int rc;

    if (validate_id(call, "id", req->id, IDS_REPRESENTATIVE) ||
        validate_date(call, "to_date", req->to_date) ||
        aggregate_begin(&w, call, svc, &committee_representative_aggregate, "id", req->id,
                        req->etag))
        return;
    r = (Representative *)w.state;
    if (r->to_date[0]) {
        aggregate_fail(&w, RPC_FAILED_PRECONDITION, "id: representative %s already ended on %s",
                       r->id, r->to_date);
        return;
    }
    if (strcmp(req->to_date, r->from_date) <= 0) {
        aggregate_fail(&w, RPC_INVALID_ARGUMENT, "to_date: %s is not after from_date %s",
                       req->to_date, r->from_date);
        return;
    }
    rc = pbstr_set(&r->to_date, req->to_date);
    if (rc == 0)
        rc = docstore_update(service_store(svc), &committee_representatives, &r->base, w.version);
    aggregate_commit(&w, rc, "representative.ended", NULL);
}

static void representative_key(const ProtobufCMessage *item, char *buf, size_t size)
{
    const Representative *r = (const Representative *)item;

    snprintf(buf, size, "%s|%s", r->from_date, r->id);
}

void handle_list_representatives(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    const Compact__Committee__V1__ListRepresentativesRequest *req = (const void *)request;
    Compact__Committee__V1__ListRepresentativesResponse resp =
        COMPACT__COMMITTEE__V1__LIST_REPRESENTATIVES_RESPONSE__INIT;
    const char *filters[] = {"committee.representatives"};
    page_request pg;
    ProtobufCMessage **v = NULL;
    size_t n = 0;
    int rc;

    if (page_request_parse(call, filters, 1, req->page_size, req->page_token, &pg))
        return;
    rc = committee_store_representatives(service_store(svc), pg.after, page_request_limit(&pg), &v,
                                         &n);
    page_reply(call, &pg, rc, "the representatives could not be read", &resp.base, v, n,
               representative_key);
}

/* ---- GetComposition -------------------------------------------------------------------- */

/* A composition being put together while workgroups answers page by page. */
typedef struct asking {
    rpc_call *call;
    service *svc;
    char as_of[11];
    Seat **seats;
    size_t n, cap;
    char *page_token;
    int failed;
} asking;

static void asking_free(asking *a)
{
    for (size_t i = 0; i < a->n; i++)
        pbmsg_free(&a->seats[i]->base);
    free(a->seats);
    free(a->page_token);
    free(a);
}

/* Adds a seat; -ENOMEM marks the asking failed. */
static void add_seat(asking *a, int role, const char *entity_id, const char *group_id,
                     const char *person, const char *title, const char *from, const char *to,
                     const char *representative_id)
{
    Seat *s;

    if (a->failed)
        return;
    if (a->n == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 32;
        Seat **grown = realloc(a->seats, cap * sizeof *grown);
        if (grown == NULL) {
            a->failed = 1;
            return;
        }
        a->seats = grown;
        a->cap = cap;
    }
    if ((s = calloc(1, sizeof *s)) == NULL) {
        a->failed = 1;
        return;
    }
    compact__committee__v1__seat__init(s);
    s->role = role;
    a->seats[a->n++] = s;
    if (pbstr_set(&s->entity_id, entity_id) || pbstr_set(&s->working_group_id, group_id) ||
        pbstr_set(&s->person, person) || pbstr_set(&s->title, title) ||
        pbstr_set(&s->from_date, from) || pbstr_set(&s->to_date, to) ||
        pbstr_set(&s->representative_id, representative_id))
        a->failed = 1;
}

/* 1 if [from, to) holds `day` (to "": open). */
static int holds(const char *from, const char *to, const char *day)
{
    return strcmp(from, day) <= 0 && (!to[0] || strcmp(day, to) < 0);
}

static int standing_seats(asking *a)
{
    ProtobufCMessage **v = NULL;
    size_t n = 0;
    int rc = committee_store_representatives(service_store(a->svc), "", 100000, &v, &n);

    for (size_t i = 0; rc == 0 && i < n; i++) {
        const Representative *r = (const Representative *)v[i];
        if (holds(r->from_date, r->to_date, a->as_of))
            add_seat(a, (int)r->role, r->entity_id, "", r->person, r->title, r->from_date,
                     r->to_date, r->id);
    }
    if (rc == 0)
        docstore_rows_free(v, n);
    return rc;
}

static void leaders_seats(asking *a, const WorkingGroup *g)
{
    for (size_t i = 0; i < g->n_leadership_history; i++) {
        const Compact__Workgroups__V1__LeadershipTerm *t = g->leadership_history[i];
        if (t->leadership == NULL || !holds(t->from_date, t->to_date, a->as_of))
            continue;
        if (t->leadership->chair_entity_id[0])
            add_seat(a, ROLE(WORKING_GROUP_CHAIR), t->leadership->chair_entity_id, g->id, "", "",
                     t->from_date, t->to_date, "");
        for (size_t k = 0; k < t->leadership->n_vice_chair_entity_ids; k++)
            add_seat(a, ROLE(WORKING_GROUP_VICE_CHAIR), t->leadership->vice_chair_entity_ids[k],
                     g->id, "", "", t->from_date, t->to_date, "");
    }
}

static void reply_composition(asking *a)
{
    Composition c = COMPACT__COMMITTEE__V1__COMPOSITION__INIT;

    c.as_of = a->as_of;
    c.seats = a->seats;
    c.n_seats = a->n;
    c.complete = 1;
    rpc_call_reply(a->call, &c.base);
}

static void ask_groups(asking *a);

static void on_groups(void *arg, rpc_code code, const char *message, const ProtobufCMessage *reply)
{
    asking *a = arg;
    const Compact__Workgroups__V1__ListWorkingGroupsResponse *r = (const void *)reply;

    if (code != RPC_OK) {
        /* Its trouble is ours to report as unavailable; a refusal of our own
         * request would be our bug. */
        rpc_code ours = code == RPC_DEADLINE_EXCEEDED || code == RPC_CANCELLED ? code
                        : code == RPC_INVALID_ARGUMENT || code == RPC_FAILED_PRECONDITION ||
                                code == RPC_NOT_FOUND
                            ? RPC_INTERNAL
                            : RPC_UNAVAILABLE;
        rpc_call_fail(a->call, ours,
                      "workgroups: the Working Groups' leaders could not be read: %s %s",
                      rpc_code_name(code), message ? message : "");
        asking_free(a);
        return;
    }
    for (size_t i = 0; i < r->n_groups; i++)
        leaders_seats(a, r->groups[i]);
    free(a->page_token);
    a->page_token = r->next_page_token[0] ? strdup(r->next_page_token) : NULL;
    if (a->failed || (r->next_page_token[0] && a->page_token == NULL)) {
        rpc_call_fail(a->call, RPC_RESOURCE_EXHAUSTED, "out of memory");
        asking_free(a);
    } else if (a->page_token) {
        ask_groups(a);
    } else {
        reply_composition(a);
        asking_free(a);
    }
}

static void ask_groups(asking *a)
{
    Compact__Workgroups__V1__ListWorkingGroupsRequest req =
        COMPACT__WORKGROUPS__V1__LIST_WORKING_GROUPS_REQUEST__INIT;
    rpc_channel *ch = service_peer(a->svc, "workgroups");
    int rc = -ENOTCONN;

    req.page_size = GROUPS_PAGE;
    req.page_token = a->page_token ? a->page_token : "";
    if (ch)
        rc = rpc_channel_call(ch, &compact__workgroups__v1__working_groups__descriptor,
                              "ListWorkingGroups", &req.base,
                              service_config(a->svc)->peer_timeout_ms, a->call, on_groups, a);
    if (rc != 0) {
        rpc_call_fail(a->call, RPC_UNAVAILABLE, "workgroups: cannot be asked (%s)",
                      ch ? strerror(-rc) : "not configured");
        asking_free(a);
    }
}

void handle_get_composition(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    const Compact__Committee__V1__GetCompositionRequest *req = (const void *)request;
    asking *a;
    int rc;

    if (req->as_of[0] && validate_date(call, "as_of", req->as_of))
        return;
    if ((a = calloc(1, sizeof *a)) == NULL) {
        rpc_call_fail(call, RPC_RESOURCE_EXHAUSTED, "out of memory");
        return;
    }
    a->call = call;
    a->svc = svc;
    if (req->as_of[0])
        snprintf(a->as_of, sizeof a->as_of, "%s", req->as_of);
    else
        committee_today(a->as_of);
    if ((rc = standing_seats(a)) != 0) {
        status_fail_store(call, rc, "the representatives could not be read");
        asking_free(a);
        return;
    }
    ask_groups(a);
}

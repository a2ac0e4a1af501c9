/* notices.c: information-sharing: PostNotice, ListNotices, Subscribe,
 * Unsubscribe, WatchNotices and GetDigest (see handlers.h).
 *
 * Notices and subscriptions are aggregates of their own, written with the
 * toolkit like groups: validation, the peer check of the entities named,
 * then one transaction with its event ("notice.posted",
 * "subscription.created", "subscription.removed"). A posted notice reaches
 * the open watches when it commits (notice_watch.h).
 *
 * Whose eyes: ListNotices reads as reader_entity_id (none: the public), a
 * digest and a watch as the subscription's entity. An entity named as a
 * reader is checked with membership each time (active: it sees what the
 * Compact sees; unknown: INVALID_ARGUMENT; withdrawn: FAILED_PRECONDITION);
 * members-only notices are matched against the group's leaders and members
 * in the store as they are at that moment.
 *
 * Codes: a notice's working_group_id is where it is posted: a group that is
 * not there is NOT_FOUND, a closed one FAILED_PRECONDITION. A subscription's
 * groups are references, as another service's ids are (peer_check.h): one
 * that is not there is INVALID_ARGUMENT. A focal_point_email that is not one
 * of the entity's focal points (membership GetEntity) is FAILED_PRECONDITION:
 * focal points change, a retry may pass.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compact/membership/v1/membership.pb-c.h"
#include "group.h"
#include "handlers.h"
#include "notice_watch.h"
#include "page.h"
#include "pbmsg.h"
#include "pbtime.h"
#include "peers.h"
#include "rules.h"
#include "status.h"
#include "validate.h"

typedef Compact__Workgroups__V1__PostNoticeRequest PostNoticeRequest;
typedef Compact__Workgroups__V1__ListNoticesRequest ListNoticesRequest;
typedef Compact__Workgroups__V1__ListNoticesResponse ListNoticesResponse;
typedef Compact__Workgroups__V1__SubscribeRequest SubscribeRequest;
typedef Compact__Workgroups__V1__UnsubscribeRequest UnsubscribeRequest;
typedef Compact__Workgroups__V1__WatchNoticesRequest WatchNoticesRequest;
typedef Compact__Workgroups__V1__GetDigestRequest GetDigestRequest;
typedef Compact__Workgroups__V1__Digest Digest;
typedef Compact__Membership__V1__Entity Entity;

#define GROUP_MEMBERS COMPACT__WORKGROUPS__V1__VISIBILITY__VISIBILITY_GROUP_MEMBERS
#define ENTITY_ACTIVE COMPACT__MEMBERSHIP__V1__ENTITY_STATUS__ENTITY_STATUS_ACTIVE

/* Limits, in characters or items. */
#define TITLE_MAX_CHARS 300
#define BODY_MAX_CHARS 20000
#define SUBSCRIPTION_GROUPS_MAX 50
#define DIGEST_MAX 500
#define FIELD_SIZE 64
#define MAX_SECONDS 253402300799LL /* 9999-12-31T23:59:59Z, as Timestamp allows */

/* ---- the aggregates ----------------------------------------------------------- */

static notice_hub *hub_of(service *svc)
{
    return service_state(svc);
}

static int load_notice(void *st, const char *id, ProtobufCMessage **out, int64_t *version)
{
    Notice *n = NULL;
    int rc = notice_store_get(st, id, &n);

    if (version)
        *version = 1; /* a notice is never changed */
    *out = n ? &n->base : NULL;
    return rc;
}

static void notice_committed(service *svc, const ProtobufCMessage *state)
{
    notice_hub_posted(hub_of(svc), (const Notice *)state);
}

static const aggregate_def notice_aggregate = {
    .service = "workgroups",
    .type = "notice",
    .noun = "notice",
    .descriptor = &compact__workgroups__v1__notice__descriptor,
    .id_prefix = IDS_NOTICE,
    .keys = {{.field = "id", .label = "id", .cache_kind = "notice", .load = load_notice}},
    .committed = notice_committed,
};

static int load_subscription(void *st, const char *id, ProtobufCMessage **out, int64_t *version)
{
    Subscription *s = NULL;
    int rc = notice_store_get_subscription(st, id, &s);

    if (version)
        *version = 1;
    *out = s ? &s->base : NULL;
    return rc;
}

/* After a subscription's create or removal: a removed one's watches end. */
static void subscription_committed(service *svc, const ProtobufCMessage *state)
{
    const Subscription *s = (const Subscription *)state;
    Subscription *still = NULL;

    if (notice_store_get_subscription(service_store(svc), s->id, &still) == -ENOENT)
        notice_hub_unsubscribed(hub_of(svc), s->id);
    pbmsg_free(still ? &still->base : NULL);
}

static const aggregate_def subscription_aggregate = {
    .service = "workgroups",
    .type = "subscription",
    .noun = "subscription",
    .descriptor = &compact__workgroups__v1__subscription__descriptor,
    .id_prefix = IDS_SUBSCRIPTION,
    .keys =
        {{.field = "id", .label = "id", .cache_kind = "subscription", .load = load_subscription}},
    .committed = subscription_committed,
};

/* The input fields of a notice and of a subscription (all of them: neither
 * is ever updated). */
static const fieldmask_field notice_fields[] = {
    {"working_group_id", 1, NULL},
    {"kind", 1, NULL},
    {"title", 1, NULL},
    {"body", 1, NULL},
    {"document_url", 1, NULL},
    {"visibility", 1, NULL},
    {"author_entity_id", 1, NULL},
    {"decision_ref", 1, NULL},
    {NULL, 0, NULL},
};

static const fieldmask_field subscription_fields[] = {
    {"entity_id", 1, NULL},
    {"focal_point_email", 1, NULL},
    {"working_group_ids", 1, NULL},
    {"compact_wide", 1, NULL},
    {NULL, 0, NULL},
};

/* ---- PostNotice -------------------------------------------------------------- */

static int check_notice(rpc_call *call, const Notice *n)
{
    if (validate_present(call, "notice", n) ||
        validate_enum(call, "notice.kind", &compact__workgroups__v1__notice_kind__descriptor,
                      (int)n->kind, 1) ||
        validate_required_string(call, "notice.title", n->title, TITLE_MAX_CHARS) ||
        validate_text(call, "notice.body", n->body, BODY_MAX_CHARS) ||
        validate_max_length(call, "notice.document_url", n->document_url, RULES_URL_MAX_CHARS) ||
        validate_problem(call, "notice.document_url", rules_url_problem(n->document_url)) ||
        validate_enum(call, "notice.visibility", &compact__workgroups__v1__visibility__descriptor,
                      (int)n->visibility, 1) ||
        validate_id(call, "notice.author_entity_id", n->author_entity_id, IDS_ENTITY) ||
        (n->working_group_id[0] &&
         validate_id(call, "notice.working_group_id", n->working_group_id, IDS_GROUP)) ||
        validate_decision_ref(call, "notice.decision_ref", n->decision_ref))
        return -1;
    if (n->visibility == GROUP_MEMBERS && n->working_group_id[0] == '\0') {
        rpc_call_fail(call, RPC_INVALID_ARGUMENT,
                      "notice.working_group_id: a notice to a group's members only (visibility "
                      "GROUP_MEMBERS) must name its working group");
        return -1;
    }
    return 0;
}

/* peer_check_done_fn: the author is active; post. */
static void write_notice(rpc_call *call, service *svc, void *arg, int ok)
{
    const PostNoticeRequest *req = arg;
    store *st = service_store(svc);
    aggregate_write w;
    Notice *n;
    int64_t post_ms;
    int rc;

    if (!ok || aggregate_begin_new(&w, call, svc, &notice_aggregate,
                                   aggregate_new(&req->notice->base, notice_fields, 1)))
        return;
    n = (Notice *)w.state;
    /* Again in the transaction: the group may have closed meanwhile. */
    if (n->working_group_id[0] &&
        group_check_open(call, svc, "notice.working_group_id", n->working_group_id, "", NULL)) {
        aggregate_abort(&w);
        return;
    }
    rc = notice_store_next_post_ms(st, w.now_ms, &post_ms);
    if (rc == 0)
        rc = pbtime_set(&n->post_time, post_ms);
    if (rc == 0)
        rc = notice_store_insert(st, n);
    aggregate_commit(&w, rc, "notice.posted", NULL);
}

void handle_post_notice(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    const PostNoticeRequest *req = (const PostNoticeRequest *)request;
    const Notice *n = req->notice;
    peer_check *c;

    if (aggregate_replay(call, svc) || check_notice(call, n) ||
        (n->working_group_id[0] &&
         group_check_open(call, svc, "notice.working_group_id", n->working_group_id, "", NULL)))
        return;
    c = peer_check_new();
    peer_check_add(c, &peer_entities, n->author_entity_id, "notice.author_entity_id");
    peer_check_run(c, call, svc, write_notice, (void *)req);
}

/* ---- ListNotices ------------------------------------------------------------- */

/* page_key_fn: notices are listed newest first by their post time, which is
 * unique. */
static void post_time_page_key(const ProtobufCMessage *item, char *buf, size_t size)
{
    snprintf(buf, size, "%lld", (long long)pbtime_ms(((const Notice *)item)->post_time));
}

/* The paging of a ListNotices, for its continuation. */
typedef struct list_ask {
    const ListNoticesRequest *req;
    page_request pg;
} list_ask;

static void list_notices(rpc_call *call, service *svc, const ListNoticesRequest *req,
                         const page_request *pg, int reader_active)
{
    ListNoticesResponse resp = COMPACT__WORKGROUPS__V1__LIST_NOTICES_RESPONSE__INIT;
    notice_reader r = {.entity_id = req->reader_entity_id, .active = reader_active};
    Notice **v = NULL;
    size_t n = 0;
    /* Keys are ours (post times); a forged token only picks where the
     * listing starts. */
    int rc = notice_store_list(service_store(svc), req->working_group_id, &r,
                               strtoll(pg->after, NULL, 10), page_request_limit(pg), &v, &n);

    page_reply(call, pg, rc, "cannot list notices", &resp.base, (ProtobufCMessage **)v, n,
               post_time_page_key);
}

/* peer_check_done_fn: the reader is an active entity. */
static void list_as_reader(rpc_call *call, service *svc, void *arg, int ok)
{
    list_ask *ask = arg;

    if (ok)
        list_notices(call, svc, ask->req, &ask->pg, 1);
    free(ask);
}

void handle_list_notices(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    const ListNoticesRequest *req = (const ListNoticesRequest *)request;
    const char *filters[] = {"workgroups.notices", req->working_group_id, req->reader_entity_id};
    ProtobufCMessage *g;
    page_request pg;
    list_ask *ask;
    peer_check *c;

    if ((req->working_group_id[0] &&
         validate_id(call, "working_group_id", req->working_group_id, IDS_GROUP)) ||
        (req->reader_entity_id[0] &&
         validate_id(call, "reader_entity_id", req->reader_entity_id, IDS_ENTITY)) ||
        page_request_parse(call, filters, 3, req->page_size, req->page_token, &pg))
        return;
    /* A group that is not there: an empty list would hide the mistake. */
    if (req->working_group_id[0]) {
        if (aggregate_peek(call, svc, &group_aggregate, "working_group_id", req->working_group_id,
                           "", &g))
            return;
        pbmsg_free(g);
    }
    if (req->reader_entity_id[0] == '\0') {
        list_notices(call, svc, req, &pg, 0);
        return;
    }
    if ((ask = malloc(sizeof *ask)) == NULL) {
        status_fail_store(call, -ENOMEM, "cannot list notices");
        return;
    }
    ask->req = req;
    ask->pg = pg;
    c = peer_check_new();
    peer_check_add(c, &peer_entities, req->reader_entity_id, "reader_entity_id");
    peer_check_run(c, call, svc, list_as_reader, ask);
}

/* ---- Subscribe --------------------------------------------------------------- */

static int check_subscription(rpc_call *call, const Subscription *s)
{
    char field[FIELD_SIZE];

    if (validate_present(call, "subscription", s) ||
        validate_id(call, "subscription.entity_id", s->entity_id, IDS_ENTITY) ||
        validate_email(call, "subscription.focal_point_email", s->focal_point_email) ||
        validate_max_items(call, "subscription.working_group_ids", s->n_working_group_ids,
                           SUBSCRIPTION_GROUPS_MAX))
        return -1;
    for (size_t i = 0; i < s->n_working_group_ids; i++) {
        snprintf(field, sizeof field, "subscription.working_group_ids[%zu]", i);
        if (validate_id(call, field, s->working_group_ids[i], IDS_GROUP))
            return -1;
        for (size_t j = 0; j < i; j++) {
            if (strcmp(s->working_group_ids[j], s->working_group_ids[i]) == 0) {
                rpc_call_fail(call, RPC_INVALID_ARGUMENT,
                              "%s: repeats subscription.working_group_ids[%zu]", field, j);
                return -1;
            }
        }
    }
    if (s->n_working_group_ids == 0 && !s->compact_wide) {
        rpc_call_fail(call, RPC_INVALID_ARGUMENT,
                      "subscription.working_group_ids: follow at least one working group, or set "
                      "compact_wide");
        return -1;
    }
    return 0;
}

/* The groups followed are there (closed ones too: they may reopen). */
static int check_groups_exist(rpc_call *call, service *svc, const Subscription *s)
{
    for (size_t i = 0; i < s->n_working_group_ids; i++) {
        WorkingGroup *g = NULL;
        int rc = group_store_get(service_store(svc), s->working_group_ids[i], &g, NULL);
        group_store_free(g);
        if (rc == -ENOENT) {
            rpc_call_fail(call, RPC_INVALID_ARGUMENT,
                          "subscription.working_group_ids[%zu]: no working group \"%s\"", i,
                          s->working_group_ids[i]);
            return -1;
        }
        if (rc != 0) {
            status_fail_store(call, rc, "cannot read the working groups");
            return -1;
        }
    }
    return 0;
}

/* The entity and the focal point, as membership answered: 0, or -1 after
 * failing the call. */
static int check_focal_point(rpc_call *call, const Subscription *s, rpc_code code,
                             const char *message, const Entity *e)
{
    switch (code) {
    case RPC_OK:
        break;
    case RPC_NOT_FOUND:
        rpc_call_fail(call, RPC_INVALID_ARGUMENT, "subscription.entity_id: no entity \"%s\"",
                      s->entity_id);
        return -1;
    case RPC_UNAVAILABLE:
    case RPC_RESOURCE_EXHAUSTED:
        rpc_call_fail(call, RPC_UNAVAILABLE, "membership: unavailable: %s", message);
        return -1;
    case RPC_DEADLINE_EXCEEDED:
    case RPC_CANCELLED:
        rpc_call_fail(call, code, "membership: %s: %s",
                      code == RPC_CANCELLED ? "cancelled" : "no answer in time", message);
        return -1;
    default:
        rpc_call_fail(call, RPC_INTERNAL, "membership: %s: %s", rpc_code_name(code), message);
        return -1;
    }
    if (e->status != ENTITY_ACTIVE) {
        rpc_call_fail(call, RPC_FAILED_PRECONDITION,
                      "subscription.entity_id: entity \"%s\" (%s) is withdrawn", e->id, e->acronym);
        return -1;
    }
    for (size_t i = 0; i < e->n_focal_points; i++) {
        if (rules_same_email(e->focal_points[i]->email, s->focal_point_email))
            return 0;
    }
    rpc_call_fail(call, RPC_FAILED_PRECONDITION,
                  "subscription.focal_point_email: \"%s\" is not a focal point of entity \"%s\" "
                  "(%s)",
                  s->focal_point_email, e->id, e->acronym);
    return -1;
}

/* A Subscribe waiting for membership's GetEntity. */
typedef struct subscribe_ask {
    rpc_call *call;
    service *svc;
    const SubscribeRequest *req;
} subscribe_ask;

/* rpc_reply_cb of the GetEntity: check, then write. */
static void on_entity(void *arg, rpc_code code, const char *message, const ProtobufCMessage *reply)
{
    subscribe_ask *ask = arg;
    rpc_call *call = ask->call;
    service *svc = ask->svc;
    const Subscription *in = ask->req->subscription;
    aggregate_write w;

    free(ask);
    if (check_focal_point(call, in, code, message, (const Entity *)reply) ||
        aggregate_begin_new(&w, call, svc, &subscription_aggregate,
                            aggregate_new(&in->base, subscription_fields, 1)))
        return;
    aggregate_commit(
        &w, notice_store_insert_subscription(service_store(svc), (const Subscription *)w.state),
        "subscription.created", NULL);
}

void handle_subscribe(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    const SubscribeRequest *req = (const SubscribeRequest *)request;
    Compact__Membership__V1__GetEntityRequest get =
        COMPACT__MEMBERSHIP__V1__GET_ENTITY_REQUEST__INIT;
    rpc_channel *ch = service_peer(svc, "membership");
    subscribe_ask *ask;
    int rc;

    if (aggregate_replay(call, svc) || check_subscription(call, req->subscription) ||
        check_groups_exist(call, svc, req->subscription))
        return;
    if (ch == NULL) {
        rpc_call_fail(call, RPC_INTERNAL, "entity check: the service is not a peer of this one");
        return;
    }
    if ((ask = malloc(sizeof *ask)) == NULL) {
        status_fail_store(call, -ENOMEM, "cannot subscribe");
        return;
    }
    *ask = (subscribe_ask){.call = call, .svc = svc, .req = req};
    get.key_case = COMPACT__MEMBERSHIP__V1__GET_ENTITY_REQUEST__KEY_ID;
    get.id = req->subscription->entity_id;
    rc = rpc_channel_call(ch, &compact__membership__v1__membership__descriptor, "GetEntity",
                          &get.base, service_config(svc)->peer_timeout_ms, call, on_entity, ask);
    if (rc != 0) {
        free(ask);
        rpc_call_fail(call, RPC_UNAVAILABLE, "membership: cannot start a call: %s", strerror(-rc));
    }
}

/* ---- Unsubscribe ------------------------------------------------------------- */

void handle_unsubscribe(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    const UnsubscribeRequest *req = (const UnsubscribeRequest *)request;
    Compact__Workgroups__V1__UnsubscribeResponse resp =
        COMPACT__WORKGROUPS__V1__UNSUBSCRIBE_RESPONSE__INIT;
    aggregate_write w;

    if (validate_id(call, "subscription_id", req->subscription_id, IDS_SUBSCRIPTION) ||
        aggregate_begin(&w, call, svc, &subscription_aggregate, "subscription_id",
                        req->subscription_id, ""))
        return;
    aggregate_commit(&w, notice_store_delete_subscription(service_store(svc), req->subscription_id),
                     "subscription.removed", &resp.base);
}

/* ---- the subscription's entity ------------------------------------------------- */

/* A call that reads as a subscription's entity, waiting for membership. */
typedef struct sub_ask {
    Subscription *sub;              /* owned */
    const GetDigestRequest *digest; /* GetDigest: its request (unary: valid) */
} sub_ask;

/* Loads subscription `id` and asks membership whether its entity is active;
 * `done` then runs with a sub_ask it frees. Returns after failing the call
 * when the subscription is not there. */
static void with_subscription(rpc_call *call, service *svc, const char *id,
                              const GetDigestRequest *digest, peer_check_done_fn done)
{
    Subscription *sub = NULL;
    int rc = notice_store_get_subscription(service_store(svc), id, &sub);
    sub_ask *ask;
    peer_check *c;

    if (rc == -ENOENT) {
        status_fail_not_found(call, "subscription_id", "subscription", "id", id);
        return;
    }
    if (rc != 0) {
        status_fail_store(call, rc, "cannot read the subscription");
        return;
    }
    if ((ask = malloc(sizeof *ask)) == NULL) {
        pbmsg_free(&sub->base);
        status_fail_store(call, -ENOMEM, "cannot read the subscription");
        return;
    }
    *ask = (sub_ask){.sub = sub, .digest = digest};
    c = peer_check_new();
    peer_check_add(c, &peer_entities, sub->entity_id, "subscription_id");
    peer_check_run(c, call, svc, done, ask);
}

/* ---- WatchNotices -------------------------------------------------------------- */

/* peer_check_done_fn: the entity is active; the hub takes the call, unless
 * the subscription was removed while membership was asked. */
static void start_watch(rpc_call *call, service *svc, void *arg, int ok)
{
    sub_ask *ask = arg;
    Subscription *still = NULL;
    int rc = ok ? notice_store_get_subscription(service_store(svc), ask->sub->id, &still) : 0;

    pbmsg_free(still ? &still->base : NULL);
    if (ok && rc == 0) {
        notice_hub_watch(hub_of(svc), call, ask->sub);
        ask->sub = NULL;
    } else if (rc == -ENOENT) {
        status_fail_not_found(call, "subscription_id", "subscription", "id", ask->sub->id);
    } else if (rc != 0) {
        status_fail_store(call, rc, "cannot read the subscription");
    }
    pbmsg_free(ask->sub ? &ask->sub->base : NULL);
    free(ask);
}

void handle_watch_notices(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    const WatchNoticesRequest *req = (const WatchNoticesRequest *)request;

    /* A streaming request lives only while this runs: the subscription is
     * read from the store, nothing of the request is kept. */
    if (validate_id(call, "subscription_id", req->subscription_id, IDS_SUBSCRIPTION))
        return;
    with_subscription(call, svc, req->subscription_id, NULL, start_watch);
}

/* ---- GetDigest ----------------------------------------------------------------- */

/* Builds and sends the digest of `sub` since `since_ms`. */
static void send_digest(rpc_call *call, service *svc, const Subscription *sub, int64_t since_ms)
{
    Digest d = COMPACT__WORKGROUPS__V1__DIGEST__INIT;
    notice_reader r = {.entity_id = sub->entity_id, .active = 1};
    store *st = service_store(svc);
    Notice **v = NULL;
    size_t n = 0, keep = 0, bytes = 0;
    int64_t until_ms = since_ms, latest = 0;
    int rc = notice_store_latest_post_ms(st, &latest);

    if (rc == 0)
        rc = notice_store_digest(st, sub, &r, since_ms, DIGEST_MAX + 1, &v, &n);
    if (rc != 0) {
        status_fail_store(call, rc, "cannot read the digest");
        return;
    }
    /* At most DIGEST_MAX notices, and a reply well under the message limit. */
    while (keep < n && keep < DIGEST_MAX &&
           (bytes += protobuf_c_message_get_packed_size(&v[keep]->base)) <= PAGE_REPLY_MAX_BYTES)
        keep++;
    d.notices = v;
    d.n_notices = keep;
    d.truncated = keep < n;
    /* Post times only grow: from the newest notice there is (or, cut short,
     * the last one sent) nothing is missed asking again. */
    if (d.truncated)
        until_ms = keep ? pbtime_ms(v[keep - 1]->post_time) : since_ms;
    else if (latest > since_ms)
        until_ms = latest;
    if ((d.until = pbtime_new(until_ms)) == NULL)
        status_fail_store(call, -ENOMEM, "cannot read the digest");
    else
        rpc_call_reply(call, &d.base);
    pbmsg_free(d.until ? &d.until->base : NULL);
    notice_store_free_list(v, n);
}

/* peer_check_done_fn: the entity is active; read. */
static void digest_as_entity(rpc_call *call, service *svc, void *arg, int ok)
{
    sub_ask *ask = arg;

    if (ok)
        send_digest(call, svc, ask->sub, pbtime_ms(ask->digest->since));
    pbmsg_free(&ask->sub->base);
    free(ask);
}

void handle_get_digest(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    const GetDigestRequest *req = (const GetDigestRequest *)request;

    if (validate_id(call, "subscription_id", req->subscription_id, IDS_SUBSCRIPTION) ||
        validate_present(call, "since", req->since))
        return;
    if (req->since->seconds < 0 || req->since->seconds > MAX_SECONDS || req->since->nanos < 0 ||
        req->since->nanos > 999999999) {
        rpc_call_fail(call, RPC_INVALID_ARGUMENT,
                      "since: not a time from 1970 to 9999 (seconds 0 to %lld, nanos 0 to "
                      "999999999)",
                      (long long)MAX_SECONDS);
        return;
    }
    with_subscription(call, svc, req->subscription_id, req, digest_as_entity);
}

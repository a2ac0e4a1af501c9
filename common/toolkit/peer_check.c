/* peer_check.c: ids checked against the services that own them (see
 * peer_check.h).
 *
 * A check owns copies of its refs. Running it groups the refs by kind and
 * starts one BatchGet per kind; each reply is kept (or its failure noted)
 * until the last one is in, and then the refs are judged in the order they
 * were added, so that the first problem of the request is the one reported
 * whatever order the peers answered in.
 */
#include "peer_check.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fault.h"
#include "pbmsg.h"
#include "validate.h"

#define PEER_CHECK_KINDS 4 /* kinds in one check */
#define PEER_FIELD_SIZE 96
#define PEER_ID_SIZE 64
#define PEER_MESSAGE_SIZE 512

typedef struct peer_ref {
    const peer_kind *kind;
    char field[PEER_FIELD_SIZE];
    char id[PEER_ID_SIZE];
} peer_ref;

/* One kind's BatchGet and its outcome. */
typedef struct peer_batch {
    peer_check *check;
    const peer_kind *kind;
    rpc_code code; /* RPC_OK: `reply` holds the items */
    char message[PEER_MESSAGE_SIZE];
    ProtobufCMessage *reply; /* a copy, owned */
} peer_batch;

struct peer_check {
    peer_ref *refs;
    size_t n, cap;
    int failed; /* memory ran out while adding */
    peer_batch batches[PEER_CHECK_KINDS];
    size_t n_batches;
    size_t pending; /* batches in flight */
    rpc_call *call;
    service *svc;
    peer_check_done_fn done;
    void *arg;
    char message[PEER_MESSAGE_SIZE];
    uv_timer_t delay; /* the "peer.delay_ms" fault point */
};

peer_check *peer_check_new(void)
{
    return calloc(1, sizeof(peer_check));
}

static void peer_check_free(peer_check *c)
{
    for (size_t i = 0; i < c->n_batches; i++)
        pbmsg_free(c->batches[i].reply);
    free(c->refs);
    free(c);
}

void peer_check_add(peer_check *c, const peer_kind *kind, const char *id, const char *field_fmt,
                    ...)
{
    va_list ap;
    peer_ref *r;

    if (c == NULL || c->failed)
        return;
    assert(kind != NULL && id != NULL);
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 8;
        peer_ref *grown = realloc(c->refs, cap * sizeof *grown);
        if (grown == NULL) {
            c->failed = 1;
            return;
        }
        c->refs = grown;
        c->cap = cap;
    }
    r = &c->refs[c->n++];
    r->kind = kind;
    snprintf(r->id, sizeof r->id, "%s", id);
    va_start(ap, field_fmt);
    vsnprintf(r->field, sizeof r->field, field_fmt, ap);
    va_end(ap);
}

/* ---- judging the replies ---------------------------------------------------- */

static peer_batch *batch_of(peer_check *c, const peer_kind *kind)
{
    for (size_t i = 0; i < c->n_batches; i++) {
        if (c->batches[i].kind == kind)
            return &c->batches[i];
    }
    return NULL;
}

/* The item whose "id" is `id` in the reply's repeated field, or NULL. */
static const ProtobufCMessage *find_item(const ProtobufCMessage *reply, const char *id)
{
    const ProtobufCMessageDescriptor *d = reply->descriptor;

    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->label != PROTOBUF_C_LABEL_REPEATED || f->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        size_t n = *(const size_t *)((const char *)reply + f->quantifier_offset);
        ProtobufCMessage *const *v =
            *(ProtobufCMessage *const *const *)((const char *)reply + f->offset);
        for (size_t k = 0; k < n; k++) {
            const char *item_id = pbmsg_string(v[k], "id");
            if (item_id && strcmp(item_id, id) == 0)
                return v[k];
        }
    }
    return NULL;
}

/* RPC_OK if ref `r` names a usable aggregate; else its problem in
 * c->message. */
static rpc_code judge_ref(peer_check *c, const peer_ref *r)
{
    const peer_batch *b = batch_of(c, r->kind);
    const ProtobufCMessage *item;
    const char *why;

    assert(b != NULL);
    if (b->code != RPC_OK) {
        snprintf(c->message, sizeof c->message, "%s", b->message);
        return b->code;
    }
    if ((item = find_item(b->reply, r->id)) == NULL) {
        snprintf(c->message, sizeof c->message, "%s: no %s \"%s\"", r->field, r->kind->noun, r->id);
        return RPC_INVALID_ARGUMENT;
    }
    if (r->kind->unusable && (why = r->kind->unusable(item)) != NULL) {
        const char *label = r->kind->label_field ? pbmsg_string(item, r->kind->label_field) : NULL;
        snprintf(c->message, sizeof c->message, "%s: %s \"%s\" (%s) is %s", r->field, r->kind->noun,
                 r->id, label ? label : "?", why);
        return RPC_FAILED_PRECONDITION;
    }
    return RPC_OK;
}

/* Every batch is in: judges the refs in order and ends the check. */
static void finish(peer_check *c)
{
    rpc_code code = RPC_OK;

    for (size_t i = 0; i < c->n && code == RPC_OK; i++)
        code = judge_ref(c, &c->refs[i]);
    if (code != RPC_OK)
        rpc_call_fail(c->call, code, "%s", c->message);
    c->done(c->call, c->svc, c->arg, code == RPC_OK);
    peer_check_free(c);
}

static void on_delay_closed(uv_handle_t *h)
{
    finish(h->data);
}

static void on_delay(uv_timer_t *t)
{
    uv_close((uv_handle_t *)t, on_delay_closed);
}

/* finish(), or with the "peer.delay_ms" fault armed that much later: the
 * peers' answers arrive in time, and the caller's deadline passes before the
 * write (a test of the write's own deadline check). */
static void finish_maybe_later(peer_check *c)
{
    long ms = fault_value("peer.delay_ms", 0);

    if (ms <= 0) {
        finish(c);
        return;
    }
    uv_timer_init(service_loop(c->svc), &c->delay);
    c->delay.data = c;
    uv_timer_start(&c->delay, on_delay, (uint64_t)ms, 0);
}

/* The status for a peer's own failure, and its message. */
static void note_peer_failure(peer_batch *b, rpc_code code, const char *message)
{
    const char *what;

    switch (code) {
    case RPC_UNAVAILABLE:
        what = "unavailable";
        b->code = RPC_UNAVAILABLE;
        break;
    case RPC_RESOURCE_EXHAUSTED: /* a retry may well pass: as if down */
        what = "busy";
        b->code = RPC_UNAVAILABLE;
        break;
    case RPC_DEADLINE_EXCEEDED:
        what = "no answer in time";
        b->code = RPC_DEADLINE_EXCEEDED;
        break;
    case RPC_CANCELLED:
        what = "cancelled";
        b->code = RPC_CANCELLED;
        break;
    default: /* our request was wrong, or the peer is: not the client's fault */
        what = rpc_code_name(code);
        b->code = RPC_INTERNAL;
        break;
    }
    snprintf(b->message, sizeof b->message, "%s: %s: %s", b->kind->peer, what,
             message && *message ? message : "(no details)");
}

/* rpc_reply_cb of one kind's BatchGet. */
static void on_reply(void *arg, rpc_code code, const char *message, const ProtobufCMessage *reply)
{
    peer_batch *b = arg;
    peer_check *c = b->check;

    if (code != RPC_OK) {
        note_peer_failure(b, code, message);
    } else if ((b->reply = pbmsg_copy(reply)) == NULL) {
        b->code = RPC_INTERNAL;
        snprintf(b->message, sizeof b->message, "%s: out of memory", b->kind->peer);
    } else {
        b->code = RPC_OK;
    }
    if (--c->pending == 0)
        finish_maybe_later(c);
}

/* ---- starting ---------------------------------------------------------------- */

/* The distinct ids of `kind`, in first-seen order, pointing into c->refs. */
static char **ids_of(const peer_check *c, const peer_kind *kind, size_t *n)
{
    char **ids = calloc(c->n ? c->n : 1, sizeof *ids);

    *n = 0;
    for (size_t i = 0; ids && i < c->n; i++) {
        size_t j = 0;
        if (c->refs[i].kind != kind)
            continue;
        while (j < *n && strcmp(ids[j], c->refs[i].id) != 0)
            j++;
        if (j == *n)
            ids[(*n)++] = (char *)c->refs[i].id;
    }
    return ids;
}

/* Asks for the basic view (AIP-157), where the request has a "view": the
 * check needs only status and names, not a group's whole work plan. */
static void set_basic_view(const ProtobufCMessageDescriptor *d, ProtobufCMessage *req)
{
    const ProtobufCFieldDescriptor *fv = protobuf_c_message_descriptor_get_field_by_name(d, "view");
    const ProtobufCEnumValue *basic =
        fv && fv->type == PROTOBUF_C_TYPE_ENUM
            ? protobuf_c_enum_descriptor_get_value_by_name(fv->descriptor, "VIEW_BASIC")
            : NULL;

    if (basic)
        *(int *)((char *)req + fv->offset) = basic->value;
}

/* Builds the kind's BatchGet request: its "ids" and "allow_missing". */
static ProtobufCMessage *batch_request(const ProtobufCMethodDescriptor *m, char **ids, size_t n)
{
    const ProtobufCMessageDescriptor *d = m->input;
    const ProtobufCFieldDescriptor *fi = protobuf_c_message_descriptor_get_field_by_name(d, "ids");
    const ProtobufCFieldDescriptor *fa =
        protobuf_c_message_descriptor_get_field_by_name(d, "allow_missing");
    ProtobufCMessage *req = calloc(1, d->sizeof_message);

    assert(fi != NULL && fa != NULL);
    if (req == NULL)
        return NULL;
    protobuf_c_message_init(d, req);
    *(char ***)((char *)req + fi->offset) = ids;
    *(size_t *)((char *)req + fi->quantifier_offset) = n;
    *(protobuf_c_boolean *)((char *)req + fa->offset) = 1;
    set_basic_view(d, req);
    return req;
}

/* Starts the BatchGet of batch `b`; on failure notes it in `b`. */
static void start_batch(peer_check *c, peer_batch *b)
{
    const peer_kind *k = b->kind;
    const ProtobufCMethodDescriptor *m =
        protobuf_c_service_descriptor_get_method_by_name(k->service, k->method);
    rpc_channel *ch = service_peer(c->svc, k->peer);
    size_t n;
    char **ids = ids_of(c, k, &n);
    ProtobufCMessage *req = ids && m ? batch_request(m, ids, n) : NULL;
    int rc = -ENOMEM;

    assert(m != NULL);
    if (ch == NULL || n > PEER_CHECK_MAX) {
        b->code = RPC_INTERNAL;
        snprintf(b->message, sizeof b->message, "%s check: %s", k->noun,
                 ch ? "too many ids to check" : "the service is not a peer of this one");
    } else if (req != NULL && (rc = rpc_channel_call(ch, k->service, k->method, req,
                                                     service_config(c->svc)->peer_timeout_ms,
                                                     c->call, on_reply, b)) == 0) {
        c->pending++;
    } else {
        b->code = rc == -ENOMEM ? RPC_INTERNAL : RPC_UNAVAILABLE;
        snprintf(b->message, sizeof b->message, "%s: cannot start a call: %s", k->peer,
                 strerror(-rc));
    }
    free(req); /* the ids point into c->refs: only the arrays are ours */
    free(ids);
}

/* Fails the call at once and ends the check. */
static void fail_now(peer_check *c, rpc_call *call, service *svc, peer_check_done_fn done,
                     void *arg, rpc_code code, const char *message)
{
    if (message)
        rpc_call_fail(call, code, "%s", message);
    done(call, svc, arg, 0);
    if (c)
        peer_check_free(c);
}

void peer_check_run(peer_check *c, rpc_call *call, service *svc, peer_check_done_fn done, void *arg)
{
    assert(call != NULL && svc != NULL && done != NULL);
    if (c == NULL || c->failed) {
        fail_now(c, call, svc, done, arg, RPC_INTERNAL, "peer check: out of memory");
        return;
    }
    for (size_t i = 0; i < c->n; i++) {
        if (validate_id(call, c->refs[i].field, c->refs[i].id, c->refs[i].kind->id_prefix)) {
            fail_now(c, call, svc, done, arg, RPC_OK, NULL);
            return;
        }
        if (batch_of(c, c->refs[i].kind) == NULL) {
            assert(c->n_batches < PEER_CHECK_KINDS);
            c->batches[c->n_batches++] = (peer_batch){.check = c, .kind = c->refs[i].kind};
        }
    }
    c->call = call;
    c->svc = svc;
    c->done = done;
    c->arg = arg;
    /* Counted as one more until all are started, so that no reply can
     * finish the check while the rest are still being started. */
    c->pending = 1;
    for (size_t i = 0; i < c->n_batches; i++)
        start_batch(c, &c->batches[i]);
    if (--c->pending == 0)
        finish(c);
}

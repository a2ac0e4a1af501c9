/* entity_check.c: entity ids checked against membership (see entity_check.h).
 *
 * One check owns copies of the refs, the caller's callback, and a buffer for
 * the message; it lives from entity_check_start() until its callback has
 * returned.
 */
#include "entity_check.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "validate.h"

typedef Compact__Membership__V1__Entity mb_entity;

#define ENTITY_CHECK_MESSAGE_SIZE 512

typedef struct entity_check {
    entity_check_ref *refs;   /* copies; field and id strings in `strings` */
    size_t n;
    char *strings;
    entity_check_cb cb;
    void *arg;
    char message[ENTITY_CHECK_MESSAGE_SIZE];
} entity_check;

static void entity_check_free(entity_check *c)
{
    if (c == NULL)
        return;
    free(c->refs);
    free(c->strings);
    free(c);
}

/* Copies refs and their strings into one check. NULL on ENOMEM. */
static entity_check *entity_check_new(const entity_check_ref *refs, size_t n)
{
    entity_check *c = calloc(1, sizeof *c);
    size_t size = 0, at = 0;

    for (size_t i = 0; i < n; i++)
        size += strlen(refs[i].field) + 1 + strlen(refs[i].id) + 1;
    if (c == NULL || (c->refs = calloc(n, sizeof *c->refs)) == NULL ||
        (c->strings = malloc(size)) == NULL) {
        entity_check_free(c);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        size_t lf = strlen(refs[i].field) + 1, li = strlen(refs[i].id) + 1;
        memcpy(c->strings + at, refs[i].field, lf);
        c->refs[i].field = c->strings + at;
        memcpy(c->strings + at + lf, refs[i].id, li);
        c->refs[i].id = c->strings + at + lf;
        at += lf + li;
    }
    c->n = n;
    return c;
}

/* ---- the outcome --------------------------------------------------------- */

static const mb_entity *entity_check_find(const Compact__Membership__V1__BatchGetEntitiesResponse *r,
                                          const char *id)
{
    for (size_t i = 0; i < r->n_entities; i++) {
        if (strcmp(r->entities[i]->id, id) == 0)
            return r->entities[i];
    }
    return NULL;
}

static const char *entity_check_status_name(int status)
{
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
        &compact__membership__v1__entity_status__descriptor, status);

    if (status == COMPACT__MEMBERSHIP__V1__ENTITY_STATUS__ENTITY_STATUS_WITHDRAWN)
        return "withdrawn";
    return v ? v->name : "of an unknown status";
}

/* Judges membership's answer: fills `found` (n entries) and returns RPC_OK,
 * or writes the first problem into c->message and returns its code. */
static rpc_code entity_check_judge(entity_check *c,
                                   const Compact__Membership__V1__BatchGetEntitiesResponse *r,
                                   const mb_entity **found)
{
    for (size_t i = 0; i < c->n; i++) {
        const mb_entity *e = entity_check_find(r, c->refs[i].id);
        if (e == NULL) {
            snprintf(c->message, sizeof c->message, "%s: no entity \"%s\"", c->refs[i].field,
                     c->refs[i].id);
            return RPC_INVALID_ARGUMENT;
        }
        if (e->status != COMPACT__MEMBERSHIP__V1__ENTITY_STATUS__ENTITY_STATUS_ACTIVE) {
            snprintf(c->message, sizeof c->message, "%s: entity \"%s\" (%s) is %s",
                     c->refs[i].field, e->id, e->acronym, entity_check_status_name(e->status));
            return RPC_FAILED_PRECONDITION;
        }
        found[i] = e;
    }
    return RPC_OK;
}

/* The status to answer when membership itself failed, and its message. */
static rpc_code entity_check_peer_failure(entity_check *c, rpc_code code, const char *message)
{
    const char *what;
    rpc_code out;

    switch (code) {
    case RPC_UNAVAILABLE:
        what = "unavailable";
        out = RPC_UNAVAILABLE;
        break;
    case RPC_RESOURCE_EXHAUSTED: /* a retry may well pass: as if down */
        what = "busy";
        out = RPC_UNAVAILABLE;
        break;
    case RPC_DEADLINE_EXCEEDED:
        what = "no answer in time";
        out = RPC_DEADLINE_EXCEEDED;
        break;
    case RPC_CANCELLED:
        what = "cancelled";
        out = RPC_CANCELLED;
        break;
    default: /* our request was wrong, or membership is: not the client's fault */
        what = rpc_code_name(code);
        out = RPC_INTERNAL;
        break;
    }
    snprintf(c->message, sizeof c->message, "membership: %s: %s", what,
             message && *message ? message : "(no details)");
    return out;
}

/* rpc_reply_cb of the BatchGetEntities call. */
static void entity_check_on_reply(void *arg, rpc_code code, const char *message,
                                  const ProtobufCMessage *reply)
{
    entity_check *c = arg;
    const mb_entity **found = NULL;
    entity_check_outcome out = {.code = code, .message = ""};

    if (code != RPC_OK) {
        out.code = entity_check_peer_failure(c, code, message);
    } else if ((found = calloc(c->n, sizeof *found)) == NULL) {
        snprintf(c->message, sizeof c->message, "entity check: out of memory");
        out.code = RPC_INTERNAL;
    } else {
        out.code = entity_check_judge(
            c, (const Compact__Membership__V1__BatchGetEntitiesResponse *)reply, found);
    }
    if (out.code == RPC_OK) {
        out.entities = found;
        out.n = c->n;
    } else {
        out.message = c->message;
    }
    c->cb(c->arg, &out);
    free(found);
    entity_check_free(c);
}

/* ---- starting ------------------------------------------------------------ */

/* The distinct ids of c->refs, in first-seen order, as a request's array
 * (pointing into c->strings). */
static char **entity_check_ids(const entity_check *c, size_t *n)
{
    char **ids = calloc(c->n, sizeof *ids);

    *n = 0;
    for (size_t i = 0; ids && i < c->n; i++) {
        size_t j = 0;
        while (j < *n && strcmp(ids[j], c->refs[i].id) != 0)
            j++;
        if (j == *n)
            ids[(*n)++] = (char *)c->refs[i].id;
    }
    return ids;
}

static int entity_check_send(service *svc, rpc_call *call, rpc_channel *ch, entity_check *c)
{
    Compact__Membership__V1__BatchGetEntitiesRequest req =
        COMPACT__MEMBERSHIP__V1__BATCH_GET_ENTITIES_REQUEST__INIT;
    int rc;

    req.ids = entity_check_ids(c, &req.n_ids);
    req.allow_missing = 1;
    if (req.ids == NULL)
        return -ENOMEM;
    rc = rpc_channel_call(ch, &compact__membership__v1__membership__descriptor,
                          "BatchGetEntities", &req.base, service_config(svc)->peer_timeout_ms,
                          call, entity_check_on_reply, c);
    free(req.ids);
    return rc;
}

int entity_check_start(service *svc, rpc_call *call, const entity_check_ref *refs, size_t n,
                       entity_check_cb cb, void *arg)
{
    rpc_channel *ch = service_peer(svc, "membership");
    entity_check *c;
    int rc;

    if (n == 0 || n > ENTITY_CHECK_MAX || ch == NULL) {
        rpc_call_fail(call, RPC_INTERNAL, "entity check: %s",
                      ch == NULL ? "membership is not a peer of this service"
                                 : "no ids, or too many, to check");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (validate_id(call, refs[i].field, refs[i].id, ENTITY_CHECK_ID_PREFIX))
            return -1;
    }
    if ((c = entity_check_new(refs, n)) == NULL) {
        rpc_call_fail(call, RPC_INTERNAL, "entity check: out of memory");
        return -1;
    }
    c->cb = cb;
    c->arg = arg;
    if ((rc = entity_check_send(svc, call, ch, c)) != 0) {
        rpc_call_fail(call, RPC_UNAVAILABLE, "membership: cannot start a call: %s",
                      strerror(-rc));
        entity_check_free(c);
        return -1;
    }
    return 0;
}

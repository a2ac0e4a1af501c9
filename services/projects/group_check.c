/* group_check.c: working group ids checked against workgroups (see group_check.h).
 *
 * One check owns copies of the refs, the caller's callback and a message
 * buffer; it lives from group_check_start() until its callback returned.
 */
#include "group_check.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compact/workgroups/v1/workgroups.pb-c.h"
#include "validate.h"

typedef Compact__Workgroups__V1__WorkingGroup wg_group;
typedef Compact__Workgroups__V1__BatchGetWorkingGroupsResponse wg_batch_response;

#define GROUP_CHECK_MESSAGE_SIZE 512
#define GROUP_CHECK_FIELD_SIZE 96
#define GROUP_CHECK_ID_SIZE 48

typedef struct group_check {
    size_t n;
    char (*fields)[GROUP_CHECK_FIELD_SIZE];
    char (*ids)[GROUP_CHECK_ID_SIZE];
    group_check_cb cb;
    void *arg;
    char message[GROUP_CHECK_MESSAGE_SIZE];
} group_check;

static void group_check_free(group_check *c)
{
    if (c == NULL)
        return;
    free(c->fields);
    free(c->ids);
    free(c);
}

/* Ids are validated before copying, so they fit; fields are ours and short. */
static group_check *group_check_new(const group_check_ref *refs, size_t n)
{
    group_check *c = calloc(1, sizeof *c);

    if (c == NULL || (c->fields = calloc(n, sizeof *c->fields)) == NULL ||
        (c->ids = calloc(n, sizeof *c->ids)) == NULL) {
        group_check_free(c);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        snprintf(c->fields[i], sizeof c->fields[i], "%s", refs[i].field);
        snprintf(c->ids[i], sizeof c->ids[i], "%s", refs[i].id);
    }
    c->n = n;
    return c;
}

static const wg_group *group_check_find(const wg_batch_response *r, const char *id)
{
    for (size_t i = 0; i < r->n_groups; i++) {
        if (strcmp(r->groups[i]->id, id) == 0)
            return r->groups[i];
    }
    return NULL;
}

/* Judges the answer: RPC_OK, or the first problem in c->message. */
static rpc_code group_check_judge(group_check *c, const wg_batch_response *r)
{
    for (size_t i = 0; i < c->n; i++) {
        const wg_group *g = group_check_find(r, c->ids[i]);
        if (g == NULL) {
            snprintf(c->message, sizeof c->message, "%s: no working group \"%s\"",
                     c->fields[i], c->ids[i]);
            return RPC_INVALID_ARGUMENT;
        }
        if (g->status != COMPACT__WORKGROUPS__V1__GROUP_STATUS__GROUP_STATUS_ACTIVE) {
            snprintf(c->message, sizeof c->message,
                     "%s: working group \"%s\" (%s) is closed", c->fields[i], g->id, g->code);
            return RPC_FAILED_PRECONDITION;
        }
    }
    return RPC_OK;
}

static rpc_code group_check_peer_failure(group_check *c, rpc_code code, const char *message)
{
    const char *what;
    rpc_code out;

    switch (code) {
    case RPC_UNAVAILABLE:
        what = "unavailable", out = RPC_UNAVAILABLE;
        break;
    case RPC_RESOURCE_EXHAUSTED:
        what = "busy", out = RPC_UNAVAILABLE;
        break;
    case RPC_DEADLINE_EXCEEDED:
        what = "no answer in time", out = RPC_DEADLINE_EXCEEDED;
        break;
    case RPC_CANCELLED:
        what = "cancelled", out = RPC_CANCELLED;
        break;
    default:
        what = rpc_code_name(code), out = RPC_INTERNAL;
        break;
    }
    snprintf(c->message, sizeof c->message, "workgroups: %s: %s", what,
             message && *message ? message : "(no details)");
    return out;
}

static void group_check_on_reply(void *arg, rpc_code code, const char *message,
                                 const ProtobufCMessage *reply)
{
    group_check *c = arg;
    rpc_code out = code == RPC_OK ? group_check_judge(c, (const wg_batch_response *)reply)
                                  : group_check_peer_failure(c, code, message);

    c->cb(c->arg, out, out == RPC_OK ? "" : c->message);
    group_check_free(c);
}

static int group_check_send(service *svc, rpc_call *call, rpc_channel *ch, group_check *c)
{
    Compact__Workgroups__V1__BatchGetWorkingGroupsRequest req =
        COMPACT__WORKGROUPS__V1__BATCH_GET_WORKING_GROUPS_REQUEST__INIT;
    char **ids = calloc(c->n, sizeof *ids);
    int rc;

    if (ids == NULL)
        return -ENOMEM;
    /* Distinct ids only, in first-seen order. */
    for (size_t i = 0; i < c->n; i++) {
        size_t j = 0;
        while (j < req.n_ids && strcmp(ids[j], c->ids[i]) != 0)
            j++;
        if (j == req.n_ids)
            ids[req.n_ids++] = c->ids[i];
    }
    req.ids = ids;
    req.allow_missing = 1;
    rc = rpc_channel_call(ch, &compact__workgroups__v1__working_groups__descriptor,
                          "BatchGetWorkingGroups", &req.base,
                          service_config(svc)->peer_timeout_ms, call, group_check_on_reply, c);
    free(ids);
    return rc;
}

int group_check_start(service *svc, rpc_call *call, const group_check_ref *refs, size_t n,
                      group_check_cb cb, void *arg)
{
    rpc_channel *ch = service_peer(svc, "workgroups");
    group_check *c;
    int rc;

    if (n == 0 || n > GROUP_CHECK_MAX || ch == NULL) {
        rpc_call_fail(call, RPC_INTERNAL, "group check: %s",
                      ch == NULL ? "workgroups is not a peer of this service"
                                 : "no ids, or too many, to check");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (validate_id(call, refs[i].field, refs[i].id, GROUP_CHECK_ID_PREFIX))
            return -1;
    }
    if ((c = group_check_new(refs, n)) == NULL) {
        rpc_call_fail(call, RPC_INTERNAL, "group check: out of memory");
        return -1;
    }
    c->cb = cb;
    c->arg = arg;
    if ((rc = group_check_send(svc, call, ch, c)) != 0) {
        rpc_call_fail(call, RPC_UNAVAILABLE, "workgroups: cannot start a call: %s",
                      strerror(-rc));
        group_check_free(c);
        return -1;
    }
    return 0;
}

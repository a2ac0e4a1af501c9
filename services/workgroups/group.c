/* group.c: the working group as an aggregate (see group.h). */
#include "group.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pbmsg.h"
#include "plan_store.h"
#include "rules.h"
#include "status.h"
#include "validate.h"

#define CLOSED COMPACT__WORKGROUPS__V1__GROUP_STATUS__GROUP_STATUS_CLOSED

/* aggregate_load_fn: a group from the store, by id or by code. */
static int load_by_id(void *st, const char *id, ProtobufCMessage **out, int64_t *version)
{
    WorkingGroup *g = NULL;
    int rc = group_store_get(st, id, &g, version);

    *out = g ? &g->base : NULL;
    return rc;
}

static int load_by_code(void *st, const char *code, ProtobufCMessage **out, int64_t *version)
{
    WorkingGroup *g = NULL;
    int rc = group_store_get_by_code(st, code, &g);

    (void)version; /* only the id serves writes */
    *out = g ? &g->base : NULL;
    return rc;
}

/* Codes are letters, digits and '-': their lowered form is a safe key. */
static int code_cache_id(const char *code, char *buf, size_t size)
{
    if (strlen(code) >= size)
        return -ENAMETOOLONG;
    group_store_code_key(code, buf, size);
    return 0;
}

int group_check_code(rpc_call *call, const char *field, const char *code)
{
    return validate_required_string(call, field, code, GROUP_CODE_MAX) ||
                   validate_problem(call, field, rules_code_problem(code))
               ? -1
               : 0;
}

/* The group as stored after the change: its next version (every change but
 * a create), read back whole. */
static int refresh(aggregate_write *w)
{
    store *st = service_store(w->svc);
    char id[IDS_SIZE];
    WorkingGroup *g = NULL;
    int rc = 0;

    snprintf(id, sizeof id, "%s", ((WorkingGroup *)w->state)->id);
    if (w->version > 0)
        rc = group_store_touch(st, id, w->version, w->now_ms);
    if (rc == 0)
        rc = group_store_get(st, id, &g, NULL);
    if (rc == 0) {
        pbmsg_free(w->state);
        w->state = &g->base;
    }
    return rc;
}

const aggregate_def group_aggregate = {
    .service = "workgroups",
    .type = "working_group",
    .noun = "working group",
    .descriptor = &compact__workgroups__v1__working_group__descriptor,
    .id_prefix = IDS_GROUP,
    .keys =
        {
            {.field = "id", .label = "id", .cache_kind = "group", .load = load_by_id},
            {.field = "code",
             .label = "code",
             .cache_kind = "code",
             .load = load_by_code,
             .check = group_check_code,
             .cache_id = code_cache_id},
        },
    .refresh = refresh,
};

/* FAILED_PRECONDITION if `g` is closed. */
static int check_open(rpc_call *call, const char *field, const WorkingGroup *g)
{
    if (g->status != CLOSED)
        return 0;
    rpc_call_fail(call, RPC_FAILED_PRECONDITION,
                  "%s: working group %s (%s) is closed; reopen it with UpdateWorkingGroup "
                  "(status) first",
                  field, g->id, g->code);
    return -1;
}

int group_continue(aggregate_write *w, const char *field, const char *etag)
{
    if (check_open(w->call, field, (WorkingGroup *)w->state)) {
        aggregate_abort(w);
        return -1;
    }
    return aggregate_check_etag(w, etag);
}

int group_begin(aggregate_write *w, rpc_call *call, service *svc, const char *field, const char *id,
                const char *etag)
{
    if (aggregate_begin(w, call, svc, &group_aggregate, field, id, ""))
        return -1;
    return group_continue(w, field, etag);
}

int group_find_decision(aggregate_write *w, const char *decision_ref, group_decision *d)
{
    const WorkingGroup *g = (const WorkingGroup *)w->state;
    int rc;

    memset(d, 0, sizeof *d);
    if (decision_ref[0] == '\0')
        return 0;
    d->established = strcmp(g->established_by, decision_ref) == 0;
    rc = plan_store_find_decision(service_store(w->svc), g->id, decision_ref, &d->tor_version,
                                  &d->plan_version);
    if (rc == 0)
        return 0;
    status_fail_store(w->call, rc, "cannot look up the decision");
    aggregate_abort(w);
    return -1;
}

void group_fail_decision_taken(aggregate_write *w, const char *field, const char *decision_ref,
                               const group_decision *d)
{
    const WorkingGroup *g = (const WorkingGroup *)w->state;
    char what[96];

    if (d->tor_version)
        snprintf(what, sizeof what, "version %d of its terms of reference", (int)d->tor_version);
    else if (d->plan_version)
        snprintf(what, sizeof what, "version %d of its approved work plan", (int)d->plan_version);
    else
        snprintf(what, sizeof what, "the decision that established it");
    aggregate_fail(w, RPC_ALREADY_EXISTS,
                   "%s: %s is already recorded on working group %s (%s) as %s, with other "
                   "content; a decision's effect is recorded once and never changed (a retry "
                   "must repeat the request)",
                   field, decision_ref, g->id, g->code, what);
}

int group_check_open(rpc_call *call, service *svc, const char *field, const char *id,
                     const char *etag, WorkingGroup **g)
{
    ProtobufCMessage *m;

    if (g)
        *g = NULL;
    if (aggregate_peek(call, svc, &group_aggregate, field, id, "", &m))
        return -1;
    if (check_open(call, field, (WorkingGroup *)m) ||
        aggregate_etag_check(call, &group_aggregate, m, etag)) {
        pbmsg_free(m);
        return -1;
    }
    if (g)
        *g = (WorkingGroup *)m;
    else
        pbmsg_free(m);
    return 0;
}

const WorkPlanItem *group_find_item(const WorkingGroup *g, const char *id)
{
    for (size_t i = 0; i < g->n_work_plan; i++) {
        if (strcmp(g->work_plan[i]->id, id) == 0)
            return g->work_plan[i];
    }
    return NULL;
}

/* group_write.c: the shared shape of the workgroups handlers (see
 * group_write.h). */
#include "group_write.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etag.h"
#include "pbtime.h"
#include "status.h"

/* ---- cache keys --------------------------------------------------------- */

int group_write_id_key(char *buf, size_t size, const char *id)
{
    return cache_key(buf, size, "workgroups", "group", id);
}

/* Codes are letters, digits and '-': their lowered form is a safe key. */
int group_write_code_key(char *buf, size_t size, const char *code)
{
    char lower[GROUP_CODE_MAX * 4 + 1];

    group_store_code_key(code, lower, sizeof lower);
    return cache_key(buf, size, "workgroups", "code", lower);
}

void group_write_keys_add_id(txn_keys *k, const char *id)
{
    txn_keys_add(k, group_write_id_key, id);
}

void group_write_keys_add_code(txn_keys *k, const char *code)
{
    txn_keys_add(k, group_write_code_key, code);
}

/* ---- etags and loading -------------------------------------------------- */

int group_write_check_etag(rpc_call *call, const char *etag, const char *current,
                           const char *what)
{
    if (etag_matches(etag, current))
        return 0;
    rpc_call_fail(call, RPC_ABORTED,
                  "etag: %s is not the current etag of %s: it changed; read it again", etag,
                  what);
    return -1;
}

int group_write_load(rpc_call *call, store *st, const char *field, const char *id,
                     const char *etag, int allow_closed, WorkingGroup **g, int64_t *version)
{
    char what[GROUP_ID_SIZE + 16];
    int rc = group_store_get(st, id, g, version);

    if (rc == -ENOENT) {
        status_fail_not_found(call, field, "working group", "id", id);
        return -1;
    }
    if (rc != 0) {
        status_fail_store(call, rc, "cannot read the group");
        return -1;
    }
    if (!allow_closed && (*g)->status == COMPACT__WORKGROUPS__V1__GROUP_STATUS__GROUP_STATUS_CLOSED) {
        rpc_call_fail(call, RPC_FAILED_PRECONDITION,
                      "%s: working group %s (%s) is closed; reopen it with UpdateWorkingGroup "
                      "(status) first", field, (*g)->id, (*g)->code);
    } else {
        snprintf(what, sizeof what, "group %s", (*g)->id);
        if (group_write_check_etag(call, etag, (*g)->etag, what) == 0)
            return 0;
    }
    group_store_free(*g);
    *g = NULL;
    return -1;
}

/* ---- the transaction ------------------------------------------------------ */

static const WorkPlanItem *find_item(const WorkingGroup *g, const char *id)
{
    for (size_t i = 0; i < g->n_work_plan; i++) {
        if (strcmp(g->work_plan[i]->id, id) == 0)
            return g->work_plan[i];
    }
    return NULL;
}

/* After the change: the next version, the group read back whole, and the
 * code key of the group as committed. Returns 0 and *out, or a negative
 * errno. */
static int finish_change(store *st, const char *group_id, int64_t version, txn_keys *keys,
                         WorkingGroup **out)
{
    int rc = 0;

    *out = NULL;
    if (version > 0)
        rc = group_store_touch(st, group_id, version, pbtime_now_ms());
    if (rc == 0)
        rc = group_store_get(st, group_id, out, NULL);
    if (rc == 0)
        group_write_keys_add_code(keys, (*out)->code);
    return rc;
}

void group_write_finish(rpc_call *call, service *svc, int rc, const char *group_id,
                        int64_t version, const char *event_type, txn_keys *keys,
                        const char *reply_item_id)
{
    WorkingGroup *g = NULL;
    const WorkPlanItem *item = NULL;

    if (rc == 0)
        rc = finish_change(service_store(svc), group_id, version, keys, &g);
    if (rc == 0 && reply_item_id && (item = find_item(g, reply_item_id)) == NULL)
        rc = -EIO; /* cannot be: it was written in this transaction */
    outbox_event ev = {
        .service = service_name(svc),
        .aggregate_type = "working_group",
        .aggregate_id = group_id,
        .type = event_type,
        .state = g ? &g->base : NULL,
        .cache_keys = keys->v,
        .cache_keys_count = keys->n,
    };
    txn_finish(call, svc, rc, &ev, item ? &item->base : g ? &g->base : NULL);
    group_store_free(g);
}

/* ---- writes after an entity check ----------------------------------------- */

typedef struct checked_write {
    rpc_call *call;
    service *svc;
    group_write_fn fn;
    const void *req;
} checked_write;

static void on_checked(void *arg, const entity_check_outcome *out)
{
    checked_write *w = arg;

    if (out->code != RPC_OK)
        rpc_call_fail(w->call, out->code, "%s", out->message);
    else
        w->fn(w->call, w->svc, w->req);
    free(w);
}

void group_write_after_check(rpc_call *call, service *svc, const entity_check_ref *refs,
                             size_t n, group_write_fn fn, const void *req)
{
    checked_write *w;

    if (n == 0) {
        fn(call, svc, req);
        return;
    }
    if ((w = malloc(sizeof *w)) == NULL) {
        status_fail_store(call, -ENOMEM, "cannot check the entities");
        return;
    }
    *w = (checked_write){.call = call, .svc = svc, .fn = fn, .req = req};
    if (entity_check_start(svc, call, refs, n, on_checked, w) != 0)
        free(w); /* the call was ended; on_checked never runs */
}

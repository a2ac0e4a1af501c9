/* group_write.c: the shared shape of the workgroups handlers (see
 * group_write.h). */
#include "group_write.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

static void keys_add(group_write_keys *k, int (*make)(char *, size_t, const char *),
                     const char *value)
{
    if (k->n >= GROUP_WRITE_KEYS_MAX || make(k->buf[k->n], sizeof k->buf[k->n], value) < 0)
        return;
    for (size_t i = 0; i < k->n; i++) {
        if (strcmp(k->v[i], k->buf[k->n]) == 0)
            return;
    }
    k->v[k->n] = k->buf[k->n];
    k->n++;
}

void group_write_keys_add_id(group_write_keys *k, const char *id)
{
    keys_add(k, group_write_id_key, id);
}

void group_write_keys_add_code(group_write_keys *k, const char *code)
{
    keys_add(k, group_write_code_key, code);
}

/* ---- time, errors, etags ------------------------------------------------ */

int64_t group_write_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int group_write_set_time(Google__Protobuf__Timestamp **field, int64_t ms)
{
    Google__Protobuf__Timestamp *ts = group_store_timestamp(ms);

    if (ts == NULL)
        return -ENOMEM;
    if (*field)
        protobuf_c_message_free_unpacked(&(*field)->base, NULL);
    *field = ts;
    return 0;
}

void group_write_fail_store(rpc_call *call, int rc, const char *what)
{
    rpc_code code = RPC_INTERNAL;

    switch (rc) {
    case -EIO: case -EBUSY: case -EAGAIN: case -ENOSPC: case -EROFS: case -ETIMEDOUT:
    case -ECANCELED:
        code = RPC_UNAVAILABLE;
        break;
    case -ESTALE: case -EEXIST:
        code = RPC_ABORTED;
        break;
    default:
        break;
    }
    rpc_call_fail(call, code, "store: %s (%s)", what, strerror(-rc));
}

int group_write_check_etag(rpc_call *call, const char *etag, const char *current,
                           const char *what)
{
    size_t n = strlen(etag), cur = strlen(current);

    if (n == 0 || strcmp(etag, current) == 0 ||
        (cur == n + 2 && strncmp(current + 1, etag, n) == 0))
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
        rpc_call_fail(call, RPC_NOT_FOUND, "%s: no working group with id \"%s\"", field, id);
        return -1;
    }
    if (rc != 0) {
        group_write_fail_store(call, rc, "cannot read the group");
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

int group_write_begin(rpc_call *call, store *st)
{
    int rc = store_begin(st);

    if (rc == 0)
        return 0;
    group_write_fail_store(call, rc, "cannot start a transaction; nothing was written");
    return -1;
}

static const WorkPlanItem *find_item(const WorkingGroup *g, const char *id)
{
    for (size_t i = 0; i < g->n_work_plan; i++) {
        if (strcmp(g->work_plan[i]->id, id) == 0)
            return g->work_plan[i];
    }
    return NULL;
}

/* After the change: the next version, the group read back whole, its event.
 * Returns 0 and *out, or a negative errno. */
static int finish_change(service *svc, const char *group_id, int64_t version,
                         const char *event_type, group_write_keys *keys, WorkingGroup **out)
{
    store *st = service_store(svc);
    int rc = 0;

    *out = NULL;
    if (version > 0)
        rc = group_store_touch(st, group_id, version, group_write_now_ms());
    if (rc == 0)
        rc = group_store_get(st, group_id, out, NULL);
    if (rc != 0)
        return rc;
    group_write_keys_add_code(keys, (*out)->code);
    outbox_event ev = {
        .service = service_name(svc),
        .aggregate_type = "working_group",
        .aggregate_id = group_id,
        .type = event_type,
        .state = &(*out)->base,
        .cache_keys = keys->v,
        .cache_keys_count = keys->n,
    };
    return outbox_append(st, &ev);
}

void group_write_finish(rpc_call *call, service *svc, int rc, const char *group_id,
                        int64_t version, const char *event_type, group_write_keys *keys,
                        const char *reply_item_id)
{
    store *st = service_store(svc);
    WorkingGroup *g = NULL;
    const WorkPlanItem *item = NULL;

    if (rc == 0)
        rc = finish_change(svc, group_id, version, event_type, keys, &g);
    if (rc == 0 && reply_item_id && (item = find_item(g, reply_item_id)) == NULL)
        rc = -EIO; /* cannot be: it was written in this transaction */
    if (rc != 0) {
        store_rollback(st);
        group_write_fail_store(call, rc, "the change was not saved; nothing was written");
    } else if ((rc = store_commit(st)) != 0) {
        /* store_commit rolled back: nothing of the change or its event. */
        group_write_fail_store(call, rc == -ESTALE || rc == -EEXIST ? -EIO : rc,
                               "the change could not be committed; nothing was written");
    } else {
        rpc_call_reply(call, item ? &item->base : &g->base);
        cache_del(service_cache(svc), keys->v, keys->n);
        service_events_committed(svc);
    }
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
        group_write_fail_store(call, -ENOMEM, "cannot check the entities");
        return;
    }
    *w = (checked_write){.call = call, .svc = svc, .fn = fn, .req = req};
    if (entity_check_start(svc, call, refs, n, on_checked, w) != 0)
        free(w); /* the call was ended; on_checked never runs */
}

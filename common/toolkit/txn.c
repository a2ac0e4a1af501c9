/* txn.c: a write RPC's transaction, from BEGIN to the reply (see txn.h). */
#include "txn.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "status.h"

void txn_keys_add(txn_keys *k, const char *service_name, const char *kind, const char *id)
{
    assert(k->n <= TXN_KEYS_MAX);
    if (k->n == TXN_KEYS_MAX ||
        cache_key(k->buf[k->n], sizeof k->buf[k->n], service_name, kind, id) < 0)
        return;
    for (size_t i = 0; i < k->n; i++) {
        if (strcmp(k->v[i], k->buf[k->n]) == 0)
            return;
    }
    k->v[k->n] = k->buf[k->n];
    k->n++;
}

int txn_begin(rpc_call *call, store *st)
{
    int rc = store_begin(st);

    if (rc == 0)
        return 0;
    status_fail_store(call, rc, "cannot start a transaction; nothing was written");
    return -1;
}

/* A write waiting for its flush: freed by txn_on_durable. */
typedef struct txn_wait {
    rpc_call *call;
    store *st;
} txn_wait;

/* store_sync_cb: the commit of the call is on disk, or cannot be known to
 * be, or the COMMIT of its turn failed and nothing of it was kept. */
static void txn_on_durable(void *arg, int rc)
{
    txn_wait *w = arg;
    rpc_call *call = w->call;
    int cause = rc == -ECANCELED ? store_commit_error(w->st) : 0;

    free(w);
    if (rc == 0)
        rpc_call_release_reply(call);
    else if (rc == -ECANCELED) /* the turn's COMMIT failed (store.h) */
        status_fail_store(call, cause ? cause : rc,
                          "the change could not be committed; nothing was written");
    else
        rpc_call_fail(call, RPC_DATA_LOSS,
                      "store: the change was committed but could not be flushed to disk (%s);"
                      " it may be lost",
                      strerror(-rc));
}

int txn_finish(rpc_call *call, service *svc, int rc, const outbox_event *ev,
               const ProtobufCMessage *reply)
{
    store *st = service_store(svc);

    assert(call != NULL && svc != NULL && ev != NULL && (rc != 0 || reply != NULL));
    if (rc == 0) {
        /* The event names who asked for the change (the audit). */
        outbox_event with_actor = *ev;
        outbox_actor actor;
        char peer[128];
        if (with_actor.actor == NULL) {
            service_call_actor(call, &actor, peer, sizeof peer);
            with_actor.actor = &actor;
        }
        rc = outbox_append(st, &with_actor);
    }
    if (rc != 0) {
        store_rollback(st);
        status_fail_store(call, rc, "the change was not saved; nothing was written");
        return -1;
    }
    if ((rc = store_commit(st)) != 0) {
        /* store_commit rolled back: nothing of the change or its event. A
         * conflict here is no lost race the client could act on. */
        status_fail_store(call, rc == -ESTALE || rc == -EEXIST ? -EIO : rc,
                          "the change could not be committed; nothing was written");
        return -1;
    }
    /* Visible from now on, so the cache must forget the old state now; the
     * relay publishes the event, and the client hears, once the flush that
     * covers it has ended. */
    rpc_call_hold_reply(call, reply);
    cache_del(service_cache(svc), ev->cache_keys, ev->cache_keys_count);
    service_events_committed(svc);
    txn_wait *w = malloc(sizeof *w);
    if (w == NULL) {
        /* committed (or in the turn's batch): its fate cannot be waited for */
        rpc_call_fail(call, RPC_DATA_LOSS,
                      "store: out of memory waiting for the change to reach the disk; it may be"
                      " lost");
        return 0;
    }
    *w = (txn_wait){.call = call, .st = st};
    store_sync(st, txn_on_durable, w);
    return 0;
}

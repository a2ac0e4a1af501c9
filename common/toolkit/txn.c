/* txn.c: a write RPC's transaction, from BEGIN to the reply (see txn.h). */
#include "txn.h"

#include <assert.h>
#include <errno.h>
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

/* store_sync_cb: the commit of `call` is on disk, or cannot be known to be. */
static void txn_on_durable(void *arg, int rc)
{
    rpc_call *call = arg;
    if (rc == 0)
        rpc_call_release_reply(call);
    else if (rc == -ECANCELED) /* the turn's COMMIT failed (store.h) */
        status_fail_store(call, rc, "the change could not be committed; nothing was written");
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
    if (rc == 0)
        rc = outbox_append(st, ev);
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
     * relay flushes before it publishes; the client hears once it is on disk. */
    rpc_call_hold_reply(call, reply);
    cache_del(service_cache(svc), ev->cache_keys, ev->cache_keys_count);
    service_events_committed(svc);
    store_sync(st, txn_on_durable, call);
    return 0;
}

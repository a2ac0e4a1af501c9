/* txn.c: a write RPC's transaction, from BEGIN to the reply (see txn.h). */
#include "txn.h"

#include <errno.h>
#include <string.h>

#include "status.h"

void txn_keys_add(txn_keys *k, int (*make)(char *buf, size_t size, const char *value),
                  const char *value)
{
    if (k->n >= TXN_KEYS_MAX || make(k->buf[k->n], sizeof k->buf[k->n], value) < 0)
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

int txn_finish(rpc_call *call, service *svc, int rc, const outbox_event *ev,
               const ProtobufCMessage *reply)
{
    store *st = service_store(svc);

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
    rpc_call_reply(call, reply);
    cache_del(service_cache(svc), ev->cache_keys, ev->cache_keys_count);
    service_events_committed(svc);
    return 0;
}

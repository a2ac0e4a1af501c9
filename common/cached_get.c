/* cached_get.c: reading one protobuf message through the cache (see
 * cached_get.h). */
#include "cached_get.h"

#include <errno.h>
#include <stdlib.h>

#include "log.h"
#include "status.h"

/* One read waiting for the cache. */
typedef struct cached_get {
    cached_get_spec spec;
    ProtobufCMessage *loaded; /* set when the store was read, to skip an unpack */
    cached_get_cb cb;
    void *arg;
} cached_get;

static void msg_free(ProtobufCMessage *m)
{
    if (m)
        protobuf_c_message_free_unpacked(m, NULL);
}

/* cache_load_fn: the packed message from the store, for the cache; the
 * message itself is kept for the callback. */
static int load_packed(void *arg, void **value, size_t *len)
{
    cached_get *g = arg;
    ProtobufCMessage *m = NULL;
    int rc = g->spec.load(g->spec.ctx, g->spec.value, &m);

    if (rc != 0)
        return rc;
    *len = protobuf_c_message_get_packed_size(m);
    *value = malloc(*len ? *len : 1);
    if (*value == NULL) {
        msg_free(m);
        return -ENOMEM;
    }
    protobuf_c_message_pack(m, *value);
    msg_free(g->loaded);
    g->loaded = m;
    return 0;
}

static void on_read(void *arg, int rc, const void *value, size_t len)
{
    cached_get *g = arg;
    ProtobufCMessage *m = g->loaded;

    g->loaded = NULL;
    if (rc == 0 && m == NULL) {
        m = protobuf_c_message_unpack(g->spec.descriptor, NULL, len, value);
        if (m == NULL) { /* a mangled cache entry: trust only the store */
            log_msg(LOG_WARN, "cache entry does not unpack", "key", g->spec.value, NULL);
            rc = g->spec.load(g->spec.ctx, g->spec.value, &m);
        }
    }
    if (rc != 0) {
        msg_free(m);
        m = NULL;
    }
    g->cb(g->arg, rc, m);
    free(g);
}

void cached_get_message(cache *c, const char *key, const cached_get_spec *spec,
                        cached_get_cb cb, void *arg)
{
    cached_get *g = calloc(1, sizeof *g);

    if (g == NULL) {
        cb(arg, -ENOMEM, NULL);
        return;
    }
    g->spec = *spec;
    g->cb = cb;
    g->arg = arg;
    cache_read_through(c, key, load_packed, g, on_read, g);
}

/* ---- at the RPC edge ----------------------------------------------------- */

typedef struct cached_reply {
    rpc_call *call;
    cached_get_spec spec;
} cached_reply;

static void on_reply(void *arg, int rc, ProtobufCMessage *msg)
{
    cached_reply *r = arg;

    if (rc == 0)
        rpc_call_reply(r->call, msg);
    else if (rc == -ENOENT)
        status_fail_not_found(r->call, r->spec.field, r->spec.noun, r->spec.label,
                              r->spec.value);
    else
        status_fail_store(r->call, rc, r->spec.what);
    msg_free(msg);
    free(r);
}

void cached_get_reply(rpc_call *call, cache *c, const char *key, const cached_get_spec *spec)
{
    cached_reply *r = malloc(sizeof *r);

    if (r == NULL) {
        status_fail_store(call, -ENOMEM, spec->what);
        return;
    }
    r->call = call;
    r->spec = *spec;
    cached_get_message(c, key, spec, on_reply, r);
}

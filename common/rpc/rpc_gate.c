/* rpc_gate.c: who is calling, and the gate every call passes before its
 * handler (rpc.h: rpc_server_set_gate).
 *
 * The runtime reads what gRPC core knows of a call (its metadata, its peer
 * address, whether its connection is mutual TLS) and hands it on as plain
 * data; what a token means and who may do what is the gate's, which the
 * service layer sets. One rule is the runtime's own: a server with TLS
 * answers plaintext connections (its probe port) with Health alone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>

#include "log.h"
#include "rpc_server_internal.h"

#define RPC_HEALTH_PREFIX "/grpc.health.v1.Health/"

/* ---- who is calling ------------------------------------------------------- */

const char *rpc_call_metadata(const rpc_call *call, const char *key, size_t *len)
{
    size_t klen = strlen(key);
    for (size_t i = 0; i < call->request_md.count; i++) {
        const grpc_metadata *md = &call->request_md.metadata[i];
        if (GRPC_SLICE_LENGTH(md->key) == klen &&
            memcmp(GRPC_SLICE_START_PTR(md->key), key, klen) == 0) {
            *len = GRPC_SLICE_LENGTH(md->value);
            return (const char *)GRPC_SLICE_START_PTR(md->value);
        }
    }
    *len = 0;
    return NULL;
}

size_t rpc_call_peer(const rpc_call *call, char *buf, size_t size)
{
    if (call->core == NULL) {
        snprintf(buf, size, "local");
        return strlen(buf);
    }
    char *peer = grpc_call_get_peer(call->core);
    snprintf(buf, size, "%s", peer ? peer : "");
    gpr_free(peer);
    return strlen(buf);
}

int rpc_call_secure(const rpc_call *call)
{
    if (call->core == NULL)
        return 0;
    grpc_auth_context *ctx = grpc_call_auth_context(call->core);
    if (ctx == NULL)
        return 0;
    int ssl = 0;
    grpc_auth_property_iterator it =
        grpc_auth_context_find_properties_by_name(ctx, GRPC_TRANSPORT_SECURITY_TYPE_PROPERTY_NAME);
    const grpc_auth_property *p = grpc_auth_property_iterator_next(&it);
    if (p != NULL && p->value_length == strlen(GRPC_SSL_TRANSPORT_SECURITY_TYPE) &&
        memcmp(p->value, GRPC_SSL_TRANSPORT_SECURITY_TYPE, p->value_length) == 0)
        ssl = 1;
    int verified = grpc_auth_context_peer_is_authenticated(ctx);
    grpc_auth_context_release(ctx);
    return ssl && verified;
}

void rpc_call_attach(rpc_call *call, void *data, void (*release)(void *data))
{
    if (call->attachment_release)
        call->attachment_release(call->attachment);
    call->attachment = data;
    call->attachment_release = release;
}

void *rpc_call_attachment(const rpc_call *call)
{
    return call->attachment;
}

/* ---- the gate --------------------------------------------------------------- */

void rpc_server_set_gate(rpc_server *srv, const rpc_gate *gate)
{
    memset(&srv->gate, 0, sizeof srv->gate);
    if (gate)
        srv->gate = *gate;
}

static int rpc_gate_refuse(rpc_call *call, rpc_code code, const char *msg)
{
    rpc__call_end_now(call, code == RPC_OK ? RPC_PERMISSION_DENIED : code, msg[0] ? msg : "refused",
                      NULL);
    return -1;
}

int rpc__gate_authenticate(rpc_call *call)
{
    rpc_server *srv = call->srv;
    char msg[512] = "";

    if (srv == NULL)
        return 0; /* a local call */
    if (srv->tls_cert_file != NULL && !rpc_call_secure(call) &&
        strncmp(rpc_call_method(call), RPC_HEALTH_PREFIX, strlen(RPC_HEALTH_PREFIX)) != 0)
        return rpc_gate_refuse(call, RPC_UNAUTHENTICATED,
                               "this port is plaintext and serves grpc.health.v1.Health only; "
                               "call the TLS port");
    if (srv->gate.authenticate == NULL)
        return 0;
    rpc_code code = srv->gate.authenticate(srv->gate.arg, call, msg, sizeof msg);
    return code == RPC_OK ? 0 : rpc_gate_refuse(call, code, msg);
}

int rpc__gate_authorize(rpc_call *call, const ProtobufCMessage *request)
{
    rpc_server *srv = call->srv;
    char msg[512] = "";

    if (srv == NULL || srv->gate.authorize == NULL)
        return 0;
    rpc_code code = srv->gate.authorize(srv->gate.arg, call, request, msg, sizeof msg);
    return code == RPC_OK ? 0 : rpc_gate_refuse(call, code, msg);
}

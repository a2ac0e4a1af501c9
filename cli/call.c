/* call.c: blocking calls for compactctl, on top of common/rpc.h.
 *
 * A command-line tool wants "call and wait", the runtime offers "call and be
 * called back on the loop". Each client owns a private loop; call_unary()
 * starts the call and turns the loop until the callback has run. The reply is
 * valid only during the callback, so the callback keeps a copy (packed and
 * unpacked again: the generic way to copy any protobuf-c message).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

struct call_client {
    uv_loop_t loop;
    rpc_runtime *rt;
    rpc_channel *ch;
};

/* What the callback of one call fills in. */
typedef struct call_wait {
    int done;
    call_result *res;
} call_wait;

static ProtobufCMessage *call_copy(const ProtobufCMessage *msg)
{
    size_t len = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf)
        return NULL;
    protobuf_c_message_pack(msg, buf);
    ProtobufCMessage *copy = protobuf_c_message_unpack(msg->descriptor, NULL, len, buf);
    free(buf);
    return copy;
}

static void call_on_reply(void *arg, rpc_code code, const char *message,
                          const ProtobufCMessage *reply)
{
    call_wait *w = arg;
    w->res->code = code;
    snprintf(w->res->message, sizeof w->res->message, "%s", message ? message : "");
    if (code == RPC_OK && reply) {
        w->res->reply = call_copy(reply);
        if (!w->res->reply) {
            w->res->code = RPC_INTERNAL;
            snprintf(w->res->message, sizeof w->res->message, "out of memory reading the reply");
        }
    }
    w->done = 1;
}

int call_client_open(const char *target, const rpc_tls *tls, const char *authorization,
                     call_client **out)
{
    call_client *c = calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    int rc = uv_loop_init(&c->loop);
    if (rc < 0) {
        free(c);
        return rc;
    }
    rc = rpc_runtime_new(&c->loop, &c->rt);
    if (rc == 0)
        rc = rpc_channel_new_tls(c->rt, target, tls, &c->ch);
    if (rc == 0 && authorization)
        rc = rpc_channel_set_authorization(c->ch, authorization);
    if (rc < 0) {
        call_client_close(c);
        return rc;
    }
    *out = c;
    return 0;
}

void call_client_close(call_client *c)
{
    if (!c)
        return;
    /* Every call was waited for, so the channel has nothing in flight. */
    rpc_channel_close(c->ch);
    rpc_runtime_free(c->rt);
    uv_run(&c->loop, UV_RUN_DEFAULT);
    uv_loop_close(&c->loop);
    free(c);
}

int call_unary(call_client *c, const ProtobufCServiceDescriptor *svc, const char *method,
               const ProtobufCMessage *req, int timeout_ms, call_result *res)
{
    memset(res, 0, sizeof *res);
    call_wait w = {.done = 0, .res = res};
    int rc = rpc_channel_call(c->ch, svc, method, req, timeout_ms, NULL, call_on_reply, &w);
    if (rc < 0) {
        res->code = RPC_INTERNAL;
        snprintf(res->message, sizeof res->message, "cannot start %s: %s", method, strerror(-rc));
        return rc;
    }
    while (!w.done) {
        /* 0 means nothing is left to wake the loop: the reply can never come. */
        if (uv_run(&c->loop, UV_RUN_ONCE) == 0 && !w.done) {
            res->code = RPC_INTERNAL;
            snprintf(res->message, sizeof res->message, "%s: the runtime stopped", method);
            return -EPIPE;
        }
    }
    return 0;
}

void call_result_clear(call_result *res)
{
    if (res->reply)
        protobuf_c_message_free_unpacked(res->reply, NULL);
    res->reply = NULL;
}

/* A watch in progress: the caller's message callback and the wait. */
typedef struct call_watching {
    rpc_message_cb on_message;
    void *arg;
    call_wait wait;
} call_watching;

static void call_on_watch_message(void *arg, const ProtobufCMessage *msg)
{
    call_watching *w = arg;
    w->on_message(w->arg, msg);
}

/* A watch's end: its status. */
static void call_on_watch_end(void *arg, rpc_code code, const char *message,
                              const ProtobufCMessage *reply)
{
    call_watching *w = arg;
    (void)reply;
    w->wait.res->code = code;
    snprintf(w->wait.res->message, sizeof w->wait.res->message, "%s", message ? message : "");
    w->wait.done = 1;
}

int call_watch(call_client *c, const ProtobufCServiceDescriptor *svc, const char *method,
               const ProtobufCMessage *req, int timeout_ms, rpc_message_cb on_message, void *arg,
               call_result *res)
{
    memset(res, 0, sizeof *res);
    call_watching w = {.on_message = on_message, .arg = arg, .wait = {.done = 0, .res = res}};
    int rc = rpc_channel_watch(c->ch, svc, method, req, timeout_ms, NULL, call_on_watch_message,
                               call_on_watch_end, &w);
    if (rc < 0) {
        res->code = RPC_INTERNAL;
        snprintf(res->message, sizeof res->message, "cannot start %s: %s", method, strerror(-rc));
        return rc;
    }
    while (!w.wait.done) {
        if (uv_run(&c->loop, UV_RUN_ONCE) == 0 && !w.wait.done) {
            res->code = RPC_INTERNAL;
            snprintf(res->message, sizeof res->message, "%s: the runtime stopped", method);
            return -EPIPE;
        }
    }
    return 0;
}

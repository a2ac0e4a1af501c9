/* cached_get.c: reading one protobuf message through the cache (see
 * cached_get.h).
 *
 * At the RPC edge (cached_get_reply) the message is never unpacked only to
 * be packed again: a cache entry, or the store's message packed for the
 * cache, already is the reply's bytes. A cache entry is still checked before
 * it goes out (a mangled entry must not reach the client): first by walking
 * its wire format (pbwire.h), which allocates nothing and settles every
 * entry we wrote; only an entry the walk cannot vouch for is unpacked, into
 * an arena on the stack, or the ordinary way when it is too large for it,
 * so that the answer is always protobuf-c's. */
#include "cached_get.h"

#include <assert.h>
#include <errno.h>
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pbmsg.h"
#include "pbwire.h"
#include "status.h"

/* One read waiting for the cache: it ends in `cb`, or, when `call` is set,
 * in the call's answer. */
typedef struct cached_get {
    cached_get_spec spec;
    ProtobufCMessage *loaded; /* set when the store was read, to skip an unpack */
    cached_get_cb cb;
    void *arg;
    rpc_call *call;
} cached_get;

#define CACHED_GET_ARENA 8192

typedef struct check_arena {
    size_t used;
    int overflow;
    alignas(max_align_t) unsigned char buf[CACHED_GET_ARENA];
} check_arena;

static void msg_free(ProtobufCMessage *m)
{
    if (m)
        protobuf_c_message_free_unpacked(m, NULL);
}

static void *arena_alloc(void *data, size_t size)
{
    check_arena *a = data;
    size_t at = (a->used + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1);
    if (size > sizeof a->buf - at) {
        a->overflow = 1;
        return NULL;
    }
    a->used = at + size;
    return a->buf + at;
}

static void arena_free(void *data, void *p)
{
    (void)data;
    (void)p;
}

/* 1 if `have`, the value of an entry's key field, names the same thing as
 * the value looked up (an entry under another message's key, or an empty
 * one, is not trusted: Redis is not the source of truth). */
static int names_the_value(const cached_get_spec *spec, const char *have)
{
    char a[CACHED_GET_KEY_SIZE], b[CACHED_GET_KEY_SIZE];

    if (have == NULL || have[0] == '\0' || spec->value == NULL)
        return 0;
    if (spec->cache_id == NULL) /* the key is its own form */
        return strcmp(have, spec->value) == 0;
    return spec->cache_id(have, a, sizeof a) == 0 &&
           spec->cache_id(spec->value, b, sizeof b) == 0 && strcmp(a, b) == 0;
}

/* 1 if `m` is the message asked for. */
static int is_the_one(const cached_get_spec *spec, const ProtobufCMessage *m)
{
    return spec->key_field == NULL || names_the_value(spec, pbmsg_string(m, spec->key_field));
}

/* The walk's verdict on an entry: 1 (it unpacks and is the one asked for),
 * 0 (it unpacks and names something else), or -1 when only unpacking can
 * tell. */
static int walk_verdict(const cached_get_spec *spec, const void *value, size_t len)
{
    const ProtobufCFieldDescriptor *key = NULL;
    pbwire_span got;
    char have[CACHED_GET_KEY_SIZE];

    if (spec->key_field != NULL && (key = protobuf_c_message_descriptor_get_field_by_name(
                                        spec->descriptor, spec->key_field)) == NULL)
        return -1;
    if (!pbwire_unpacks(spec->descriptor, value, len, key, &got))
        return -1;
    if (key == NULL)
        return 1;
    if (got.len >= sizeof have)
        return -1;
    if (got.len > 0)
        memcpy(have, got.data, got.len);
    have[got.len] = '\0'; /* a NUL inside ends it, as in protobuf-c's string */
    return names_the_value(spec, have);
}

/* 1 if `len` bytes at `value` unpack as the spec's message and are the one
 * asked for. The walk first; else unpacks into an arena on the stack, or the
 * ordinary way when the message is too large for it. */
static int entry_trusted(const cached_get_spec *spec, const void *value, size_t len)
{
    int verdict = walk_verdict(spec, value, len);
    if (verdict >= 0)
        return verdict;

    check_arena arena;
    arena.used = 0;
    arena.overflow = 0;
    ProtobufCAllocator alloc = {.alloc = arena_alloc, .free = arena_free, .allocator_data = &arena};
    ProtobufCMessage *m = protobuf_c_message_unpack(spec->descriptor, &alloc, len, value);
    if (m != NULL)
        return is_the_one(spec, m);
    if (!arena.overflow)
        return 0;
    m = protobuf_c_message_unpack(spec->descriptor, NULL, len, value);
    int ok = m != NULL && is_the_one(spec, m);
    msg_free(m);
    return ok;
}

/* cache_load_fn: the packed message from the store, for the cache; the
 * message itself is kept for the callback. */
static int load_packed(void *arg, void **value, size_t *len)
{
    cached_get *g = arg;
    ProtobufCMessage *m = NULL;
    int rc = g->spec.load(g->spec.ctx, g->spec.value, &m, NULL);

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

static void answer(const cached_get *g, int rc, ProtobufCMessage *msg);

/* Ends the read with `rc` and `m` (NULL on an error): to the callback, which
 * takes `m`, or as the call's answer. */
static void finish(cached_get *g, int rc, ProtobufCMessage *m)
{
    if (rc != 0) {
        msg_free(m);
        m = NULL;
    }
    if (g->call != NULL)
        answer(g, rc, m);
    else
        g->cb(g->arg, rc, m);
    msg_free(g->loaded);
    free(g);
}

static void on_read(void *arg, int rc, const void *value, size_t len)
{
    cached_get *g = arg;
    ProtobufCMessage *m = NULL;

    if (rc == 0 && g->call != NULL && (g->loaded != NULL || entry_trusted(&g->spec, value, len))) {
        rpc_call_reply_bytes(g->call, value, len); /* see the top of the file */
        msg_free(g->loaded);
        free(g);
        return;
    }
    if (rc == 0) {
        m = g->loaded;
        g->loaded = NULL;
        if (m == NULL)
            m = protobuf_c_message_unpack(g->spec.descriptor, NULL, len, value);
        if (m != NULL && g->loaded == NULL && !is_the_one(&g->spec, m)) {
            msg_free(m);
            m = NULL;
        }
        if (m == NULL) { /* a mangled or foreign cache entry: trust only the store */
            log_msg(LOG_LEVEL_WARN,
                    "cache entry not trusted: it does not unpack as the message "
                    "asked for",
                    "key", g->spec.value, NULL);
            rc = g->spec.load(g->spec.ctx, g->spec.value, &m, NULL);
        }
    }
    finish(g, rc, m);
}

void cached_get_message(cache *c, const char *key, const cached_get_spec *spec, cached_get_cb cb,
                        void *arg)
{
    cached_get *g;

    assert(c != NULL && key != NULL && spec != NULL && spec->load != NULL && cb != NULL);
    g = calloc(1, sizeof *g);
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

/* status_fail_store with spec.what, or "cannot read the <noun>". */
static void fail_store(const cached_get *g, int rc)
{
    char what[96];

    if (g->spec.what == NULL)
        snprintf(what, sizeof what, "cannot read the %s", g->spec.noun);
    status_fail_store(g->call, rc, g->spec.what ? g->spec.what : what);
}

/* Answers g's call with `msg` (freed here) or the error `rc`. */
static void answer(const cached_get *g, int rc, ProtobufCMessage *msg)
{
    if (rc == 0)
        rpc_call_reply(g->call, msg);
    else if (rc == -ENOENT)
        status_fail_not_found(g->call, g->spec.field, g->spec.noun, g->spec.label, g->spec.value);
    else
        fail_store(g, rc);
    msg_free(msg);
}

/* No cache key: the store alone. */
static void reply_from_store(rpc_call *call, const cached_get_spec *spec)
{
    cached_get g = {.spec = *spec, .call = call};
    ProtobufCMessage *m = NULL;
    /* Loaded first: the order in which a call's arguments are evaluated is
     * unspecified, so `m` in the same call could be read before it is set. */
    int rc = spec->load(spec->ctx, spec->value, &m, NULL);

    answer(&g, rc, m);
}

void cached_get_reply(rpc_call *call, cache *c, const char *key, const cached_get_spec *spec)
{
    cached_get *g;

    assert(call != NULL && c != NULL && spec != NULL && spec->load != NULL);
    if (key == NULL) {
        reply_from_store(call, spec);
        return;
    }
    g = calloc(1, sizeof *g);

    if (g == NULL) {
        cached_get oom = {.spec = *spec, .call = call};
        fail_store(&oom, -ENOMEM);
        return;
    }
    g->spec = *spec;
    g->call = call;
    cache_read_through(c, key, load_packed, g, on_read, g);
}

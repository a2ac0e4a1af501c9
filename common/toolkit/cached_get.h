/* cached_get.h: reading one protobuf message through the cache.
 *
 * Every Get RPC of every service does the same thing: look the message up
 * in Redis under its cache key; on a miss (or with Redis down) read it from
 * SQLite, store it packed in Redis, and answer with it; on a hit unpack it.
 * A cache entry that does not unpack (mangled, or written by a different
 * schema), or that is not the message asked for (its key field names
 * something else: a stale or planted entry), is logged and ignored: the
 * store is read instead, since Redis is never the only copy. This module is
 * that sequence, once.
 *
 * Two layers:
 *   cached_get_message()  the read itself, ending in a callback with the
 *                         message or an error (usable outside an RPC);
 *   cached_get_reply()    a Get handler's whole tail: answers the call with
 *                         the message, NOT_FOUND, or a store failure
 *                         (status.h), so the handler ends with one line. It
 *                         answers with the packed bytes themselves (a cache
 *                         entry once it is known to unpack), never unpacking
 *                         only to pack again.
 *
 * Messages from `load` must be freeable with protobuf_c_message_free_unpacked()
 * (every string and sub-message malloc'd), as the stores' messages are.
 * Everything runs on the loop thread.
 */
#ifndef COMPACT_CACHED_GET_H
#define COMPACT_CACHED_GET_H

#include <protobuf-c/protobuf-c.h>
#include <stdint.h>

#include "cache.h"

#define CACHED_GET_KEY_SIZE 640 /* room for the cache form of any key value */
#include "rpc.h"

/* Reads the message for `value` from the store: returns 0 and sets *out
 * (freed by this module), -ENOENT if there is none, or a negative errno.
 * `version`, when not NULL, gets the row's version (a write needs it; this
 * module passes NULL). Called synchronously, zero, one or two times per read
 * (two only after a mangled cache entry). */
typedef int (*cached_get_load_fn)(void *ctx, const char *value, ProtobufCMessage **out,
                                  int64_t *version);

/* What to read. The strings are not copied: they must stay valid until the
 * callback ran (for cached_get_reply: until the call is answered; pointing
 * into the request is fine). */
typedef struct cached_get_spec {
    const ProtobufCMessageDescriptor *descriptor; /* of the message read */
    cached_get_load_fn load;
    void *ctx;         /* for `load`, usually the service's store */
    const char *value; /* the id (or code, ...) asked for, for `load` */
    /* For cached_get_reply's errors:
     * NOT_FOUND "<field>: no <noun> with <label> \"<value>\"" and
     * "store: <what> (<strerror>)". */
    const char *field; /* "id" */
    const char *noun;  /* "entity" */
    const char *label; /* "id" */
    const char *what;  /* "cannot read the entity"; NULL: made from `noun` */
    /* The message's field that holds `value` ("id", "acronym"), and the form
     * the two are compared in (NULL: as they are): an entry whose field does
     * not name the same thing is not trusted. NULL key_field: no check. */
    const char *key_field;
    int (*cache_id)(const char *value, char *buf, size_t size);
} cached_get_spec;

/* rc 0: `msg` is the message, owned by the callee (free it with
 * protobuf_c_message_free_unpacked); else msg is NULL and rc is -ENOENT or a
 * negative errno from `load` (or -ENOMEM). */
typedef void (*cached_get_cb)(void *arg, int rc, ProtobufCMessage *msg);

/* Reads the message under cache key `key` (copied), falling back to
 * spec->load as described above. `cb` runs exactly once: later on the loop,
 * or with -ENOMEM before this returns if memory runs out. `c` must not be
 * NULL. `spec` is copied; its strings are not. */
void cached_get_message(cache *c, const char *key, const cached_get_spec *spec, cached_get_cb cb,
                        void *arg);

/* Answers `call` with the message (rpc_call_reply), or fails it with
 * NOT_FOUND or status_fail_store(). The call is answered exactly once:
 * later on the loop, or before this returns if memory runs out. A NULL `key`
 * (the value has no cache key) reads the store alone, before this returns. */
void cached_get_reply(rpc_call *call, cache *c, const char *key, const cached_get_spec *spec);

#endif

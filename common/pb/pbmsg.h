/* pbmsg.h: whole protobuf-c messages handled through their descriptors.
 *
 * The toolkit handles every aggregate (an entity, a working group, a
 * project) the same way whatever its type, so it needs a few operations that
 * protobuf-c leaves to generated code: a deep copy, moving one field between
 * two messages, reading a string field by name. They work on any message
 * whose memory is owned the way protobuf_c_message_unpack() owns it (every
 * string and sub-message malloc'd), which is how the stores build theirs:
 * such a message is freed with pbmsg_free() whatever happened to it.
 *
 * Unknown fields: protobuf-c keeps the fields of a request it does not know
 * (a newer client's, or a hostile one's). A copy made here has none, at any
 * depth, so nothing a service stores, caches or publishes carries bytes that
 * no validation saw.
 */
#ifndef COMPACT_PBMSG_H
#define COMPACT_PBMSG_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

/* A deep copy of `m` without unknown fields, owning all its memory; free it
 * with pbmsg_free(). NULL when memory runs out. */
ProtobufCMessage *pbmsg_copy(const ProtobufCMessage *m);

/* Frees `m` and everything it owns (protobuf_c_message_free_unpacked). NULL
 * is a no-op. */
void pbmsg_free(ProtobufCMessage *m);

/* Drops the unknown fields of `m` and of every message inside it. */
void pbmsg_drop_unknown(ProtobufCMessage *m);

/* Swaps field `name` (with its count, if repeated) between `a` and `b`, two
 * messages of the same type: `a` takes `b`'s value and `b` keeps `a`'s old
 * one, for freeing. Returns 0, or -ENOENT if the type has no such field. */
int pbmsg_swap_field(ProtobufCMessage *a, ProtobufCMessage *b, const char *name);

/* Frees and clears every repeated field and every sub-message of `m`,
 * keeping its scalars and strings: the "basic view" of an aggregate (AIP-157),
 * enough to check a reference to it (its id, status and names). */
void pbmsg_keep_basic(ProtobufCMessage *m);

/* The value of string field `name` of `m`: "" when unset, NULL when the type
 * has no such string field. */
const char *pbmsg_string(const ProtobufCMessage *m, const char *name);

#endif

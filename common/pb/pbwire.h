/* pbwire.h: checking packed bytes against a message type without unpacking.
 *
 * A Get answered from the cache sends the cached bytes as they are, but only
 * after making sure they are a message of the right type (Redis is not the
 * source of truth: an entry may be mangled, or planted under the wrong key).
 * protobuf_c_message_unpack() answers that, at the price of building the
 * whole message: a project with fifteen transactions is 159 allocations and
 * about 4 microseconds, more than the rest of its cached Get.
 *
 * pbwire_unpacks() walks the wire format instead, once, allocating nothing,
 * with the descriptor in hand: every tag, every length, every wire type
 * against its field's type, packed arrays element by element, sub-messages
 * recursively. It is never more lenient than protobuf-c: when it answers 1,
 * protobuf_c_message_unpack() of the same bytes returns a message (memory
 * permitting). It may be stricter (0 where protobuf-c would accept: a bool
 * sent as a fixed64, a message nested deeper than PBWIRE_MAX_DEPTH, a
 * message field given twice, a type with required fields), so a 0 means
 * "unpack to know", not "invalid".
 * tests/unit/test_pbwire.c holds it to that over mutated messages, and the
 * cached_entry fuzz target over any bytes.
 */
#ifndef COMPACT_PBWIRE_H
#define COMPACT_PBWIRE_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#define PBWIRE_MAX_DEPTH 32

/* The bytes of one field's value, pointing into the checked buffer. */
typedef struct pbwire_span {
    const uint8_t *data; /* NULL when the field is absent */
    size_t len;
} pbwire_span;

/* 1 if the `len` bytes at `data` certainly unpack as `desc`, else 0 (see the
 * top of the file). `key`, when not NULL, is a string field of `desc` that is
 * neither repeated nor in a oneof and whose default is "" (else the answer
 * is 0): *key_value gets the bytes of its last occurrence, the value
 * protobuf-c would keep, or {NULL, 0} when it is absent. */
int pbwire_unpacks(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len,
                   const ProtobufCFieldDescriptor *key, pbwire_span *key_value);

/* A message's bytes in two parts: the values of one length-delimited field
 * (the elements of a repeated message field, say) and everything else.
 *
 * `each` is called with the bytes of every value of field `number`, in the
 * order met (tag and length left out), and every other field is copied, tag
 * and all and in order, to `rest` (room for `len` bytes), *rest_len its
 * length: unpacking `rest` gives the message without that field. Only the
 * framing is checked (tags, lengths, values inside the buffer; `number`
 * length-delimited), not what the values hold. Returns 1; 0 when the bytes
 * are not wire format or `each` returned nonzero (then `rest` holds a part). */
typedef int (*pbwire_each_fn)(void *arg, const uint8_t *value, size_t len);
int pbwire_split(const uint8_t *data, size_t len, uint32_t number, uint8_t *rest, size_t *rest_len,
                 pbwire_each_fn each, void *arg);

#endif

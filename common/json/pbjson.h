/* pbjson.h: protobuf-c messages to and from JSON, driven by descriptors.
 *
 * Follows the proto3 JSON mapping where it matters to people reading it:
 * lowerCamelCase field names, enums by name, 64-bit integers as strings,
 * bytes as base64, google.protobuf.Timestamp as RFC 3339 text and
 * google.protobuf.FieldMask as "a,b,c". Used by compactctl (tables, --json,
 * seed files) and by anything that serves JSON. Parsing also accepts the
 * original snake_case names and enum numbers.
 */
#ifndef COMPACT_PBJSON_H
#define COMPACT_PBJSON_H

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

/* New JSON object for `msg` (caller json_decref()s), or NULL on ENOMEM. */
json_t *pbjson_from_message(const ProtobufCMessage *msg);

/* New message of type `desc` from `json` (caller frees with
 * protobuf_c_message_free_unpacked(msg, NULL)), or NULL with a message in
 * err naming the field ("entity.kind: unknown enum value \"X\""). */
ProtobufCMessage *pbjson_to_message(const ProtobufCMessageDescriptor *desc, const json_t *json,
                                    char *err, size_t errlen);

#endif

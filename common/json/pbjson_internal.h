/* pbjson_internal.h: what pbjson.c and pbjson_wkt.c share, and nobody else
 * includes.
 *
 * pbjson.c maps any message through its descriptor; pbjson_wkt.c holds the
 * well-known types that have a JSON form of their own
 * (google.protobuf.Timestamp, google.protobuf.FieldMask).
 */
#ifndef COMPACT_PBJSON_INTERNAL_H
#define COMPACT_PBJSON_INTERNAL_H

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

#include <stddef.h>
#include <stdint.h>

#define PBJSON_PATH_MAX 512

/* Where we are while reading: the path of the value being read, for errors. */
typedef struct pbjson_reader {
    char path[PBJSON_PATH_MAX];
    size_t len;
    int depth;
    char *err;
    size_t errlen;
} pbjson_reader;

/* The member at `offset` of a message. */
static inline void *pbjson__at(const void *msg, unsigned offset)
{
    return (char *)(uintptr_t)msg + offset;
}

/* ---- in pbjson.c -------------------------------------------------------- */

/* protoc's ToJsonName of `proto` into out, cut to fit `size`. */
void pbjson__json_name(const char *proto, char *out, size_t size);

/* A JSON string for `s` (NULL reads as ""), invalid UTF-8 replaced by
 * U+FFFD; NULL on ENOMEM. */
json_t *pbjson__string_out(const char *s);

/* Writes "path: what" into the reader's error; always returns -EINVAL. */
int pbjson__fail(pbjson_reader *rd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The string value of j (valid while j is), or pbjson__fail()s with -EINVAL
 * when j is not a string or holds a NUL. */
int pbjson__get_string(pbjson_reader *rd, const json_t *j, const char **out);

/* ---- in pbjson_wkt.c ---------------------------------------------------- */

/* The JSON form of a Timestamp or FieldMask message, new (caller
 * json_decref()s); NULL when msg does not fit the form (out of range, odd
 * fields) or on ENOMEM, and the caller then writes it as a plain message. */
json_t *pbjson__timestamp_out(const ProtobufCMessage *msg);
json_t *pbjson__field_mask_out(const ProtobufCMessage *msg);

/* Fills msg (already initialised by its descriptor) from the JSON string j.
 * 0, or -EINVAL with the reader's error set; on failure msg stays freeable
 * with protobuf_c_message_free_unpacked(). */
int pbjson__timestamp_in(pbjson_reader *rd, const json_t *j, ProtobufCMessage *msg);
int pbjson__field_mask_in(pbjson_reader *rd, const json_t *j, ProtobufCMessage *msg);

#endif

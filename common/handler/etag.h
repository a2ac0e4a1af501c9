/* etag.h: entity tags derived from a row's version (AIP-154).
 *
 * Every stored aggregate carries a version that each write moves on by one.
 * Its etag is a hash of (id, version): it changes with every write, differs
 * between two objects at the same version, and says nothing about how many
 * writes there were. Nothing is stored: the etag is computed on each read.
 *
 * A client may send the etag back with or without its quotes (people type
 * them); an empty etag means "no check".
 */
#ifndef COMPACT_ETAG_H
#define COMPACT_ETAG_H

#include <stddef.h>
#include <stdint.h>

#define ETAG_SIZE 24 /* room for an etag and its NUL */

/* Writes the etag of version `version` of object `id` into `buf`: a quoted
 * string of 16 lowercase hex digits (18 characters), truncated like
 * snprintf if `size` is less than ETAG_SIZE. */
void etag_of(const char *id, int64_t version, char *buf, size_t size);

/* Points *field at a malloc'd etag_of(id, version), freeing the old string
 * as pbstr_set() does. Returns 0, or -ENOMEM with *field unchanged. */
int etag_set(char **field, const char *id, int64_t version);

/* 1 if the client's `given` etag passes against `current`: `given` is
 * empty, equals `current`, or equals `current` without its quotes. Else 0.
 * `current` may be NULL (a message with no etag): only an empty `given`
 * passes. */
int etag_matches(const char *given, const char *current);

#endif

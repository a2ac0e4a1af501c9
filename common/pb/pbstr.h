/* pbstr.h: string fields of protobuf-c messages that we build ourselves.
 *
 * A message built from a row owns every string (malloc'd), so that it frees
 * like an unpacked message. An unset field may hold protobuf-c's shared
 * empty string, which must never be freed: pbstr_set() knows the difference.
 */
#ifndef COMPACT_PBSTR_H
#define COMPACT_PBSTR_H

#include <stddef.h>

/* Replaces *field with a malloc'd copy of `value` (NULL: "") and frees the
 * old string unless it is NULL or protobuf_c_empty_string. Returns 0, or
 * -ENOMEM with *field unchanged. */
int pbstr_set(char **field, const char *value);

/* Writes `s` with ASCII letters lowered into `buf` (at most size-1 bytes and
 * a NUL; nothing if size is 0): the case-insensitive key of an ASCII code
 * such as an acronym. Other bytes are copied as they are. */
void pbstr_lower_ascii(const char *s, char *buf, size_t size);

#endif

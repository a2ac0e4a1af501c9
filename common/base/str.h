/* str.h: bounded copies of C strings into fixed buffers.
 *
 * snprintf(buf, size, "%s", s) says the same thing, but it runs the whole
 * format machinery (about 550 instructions for a short id, measured with
 * callgrind): on the path of a cached Get, where keys are built and compared
 * on every call, that was 4% of the call. These are a strlen and a memcpy.
 * Neither ever leaves a truncated string behind: a key cut short could name
 * another entry.
 */
#ifndef COMPACT_STR_H
#define COMPACT_STR_H

#include <stddef.h>

/* Copies `src` and its NUL into `dst` of `size` bytes. Returns its length,
 * or -ENAMETOOLONG (dst then holds "" if size > 0) when it does not fit. */
int str_copy(char *dst, size_t size, const char *src);

/* Writes the `n` strings of `parts` one after the other, then a NUL, into
 * `dst`. Returns the length, or -ENAMETOOLONG as str_copy does. */
int str_join(char *dst, size_t size, const char *const *parts, size_t n);

#endif

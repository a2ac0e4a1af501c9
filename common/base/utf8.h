/* utf8.h: the one UTF-8 decoder of the project (RFC 3629).
 *
 * Well-formed means: no overlong forms, no surrogates (U+D800..U+DFFF), no
 * code point above U+10FFFF, no truncated sequence. Validation of request
 * strings, the log's JSON escaping and the JSON mapping all decode with it,
 * so they agree on what is text.
 */
#ifndef COMPACT_UTF8_H
#define COMPACT_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Decodes the code point at `s`, of which `n` bytes may be read (a
 * NUL-terminated string may pass SIZE_MAX: a NUL is never a continuation
 * byte, so decoding stops there). Returns the sequence's length (1 to 4) and
 * sets *cp, or returns 0 (and leaves *cp alone) when the bytes at `s` are not
 * well-formed UTF-8. `n` must be at least 1. */
size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);

#endif

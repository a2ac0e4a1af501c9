/* auth_internal.h: what the common/auth files share, and nobody else
 * includes: base64url (RFC 4648, section 5, without padding) and the
 * OpenSSL key type the key file hands to the verifier. */
#ifndef COMPACT_AUTH_INTERNAL_H
#define COMPACT_AUTH_INTERNAL_H

#include <openssl/evp.h>
#include <stddef.h>

/* Decodes `len` characters of unpadded base64url into `out` (room for
 * len * 3 / 4 bytes). Returns the number of bytes, or -1 for a character
 * outside the alphabet, padding, or a length no encoder makes. */
long auth__b64url_decode(const char *in, size_t len, unsigned char *out);

/* Encodes `len` bytes into `out` (room for (len + 2) / 3 * 4 + 1) without
 * padding, NUL-terminated. Returns the number of characters. */
size_t auth__b64url_encode(const unsigned char *in, size_t len, char *out);

/* The public key of `kid` in the key file's current keys, or NULL. Valid
 * until the next auth_keys_refresh or auth_keys_free. */
struct auth_keys;
EVP_PKEY *auth__keys_find(struct auth_keys *k, const char *kid);

#endif

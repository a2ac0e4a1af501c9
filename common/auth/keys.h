/* keys.h: the public keys a service verifies tokens with, from one file.
 *
 * The file is a JSON Web Key Set (RFC 7517) of P-256 keys, each named by
 * its key id:
 *
 *   {"keys": [{"kty": "EC", "crv": "P-256", "kid": "2025-01",
 *              "x": "<base64url>", "y": "<base64url>"}, ...]}
 *
 * Several keys at once make rotation possible without a restart: add the new
 * key, start signing with it, remove the old one once its tokens expired.
 * The verifier (jwt.h) asks auth_keys_refresh at most once a second; a
 * changed file (inode, size or modification time) is read again, and a file
 * that no longer reads (half written, bad JSON) keeps the keys that were in
 * force, with one error in the log. Members other than the ones above are
 * ignored ("use", "alg" may be there); a key of another type or curve, or a
 * point not on the curve, refuses the whole file: a key set is trusted whole
 * or not at all.
 *
 * Loop thread only (or any single thread).
 */
#ifndef COMPACT_AUTH_KEYS_H
#define COMPACT_AUTH_KEYS_H

#include <stddef.h>
#include <stdint.h>

typedef struct auth_keys auth_keys;

#define AUTH_KEYS_MAX 64
#define AUTH_KID_MAX 128
#define AUTH_KEYS_FILE_MAX (256 * 1024)

/* Reads the key set at `path`. Returns 0 and sets *out; or a negative errno
 * (-ENOENT, -EACCES, -EINVAL for a file that is not a key set as above, or
 * has no key) with the reason in `err`. */
int auth_keys_load(const char *path, auth_keys **out, char *err, size_t errlen);

/* The same from text, with no file behind it (never refreshed). */
int auth_keys_parse(const char *text, size_t len, auth_keys **out, char *err, size_t errlen);

/* Reads the file again if it changed. Returns 1 when the keys were replaced
 * (the generation moved on), 0 when nothing changed, or a negative errno
 * when the changed file could not be used (the old keys stay in force). */
int auth_keys_refresh(auth_keys *k);

/* Moves on every time the keys are replaced: a cache of tokens verified with
 * the old keys is dropped when it changes. */
uint64_t auth_keys_generation(const auth_keys *k);

size_t auth_keys_count(const auth_keys *k);

/* 1 if a key has this id. */
int auth_keys_has(const auth_keys *k, const char *kid);

/* Frees the keys. NULL is a no-op. */
void auth_keys_free(auth_keys *k);

#endif

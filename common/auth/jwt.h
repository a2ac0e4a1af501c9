/* jwt.h: bearer tokens, verified.
 *
 * A caller proves who it is with "authorization: Bearer <JWT>" in its call's
 * metadata: a JSON Web Token (RFC 7519) in compact form, signed with ES256
 * (ECDSA on P-256 with SHA-256, RFC 7518 section 3.4) by a key whose public
 * half is in the key file (keys.h), named by the header's "kid". Nothing
 * else is taken: "alg" must be "ES256" (never "none", never an HMAC that a
 * public key could be abused as the secret of), "crit" is refused, the
 * signature is the 64 bytes r || s. The payload must hold
 *
 *   iss        the configured issuer          (COMPACT_AUTH_ISSUER)
 *   aud        the configured audience, or an array holding it
 *   sub        who, 1 to 256 characters
 *   exp        expiry, seconds since the epoch; nbf (optional) not before
 *   role       one of identity.h's roles
 *   entity_id  the entity acted for (required for focal-point)
 *   group_ids  the groups chaired (required, 1 to 32, for wg-chair)
 *
 * and times are compared with a bounded clock skew either way.
 *
 * The cost of ECDSA is paid once per token: a verified token is kept in a
 * cache bounded in size (the oldest goes first) and by the token's own
 * expiry; a change of the key file (a rotation) empties it, so a removed key
 * stops working at once. A token that fails is not cached.
 *
 * Failures are named by auth_status, whose texts say what is wrong without
 * quoting the token: they are safe to send back and to log.
 * Loop thread only.
 */
#ifndef COMPACT_AUTH_JWT_H
#define COMPACT_AUTH_JWT_H

#include <stddef.h>
#include <stdint.h>

#include "identity.h"
#include "keys.h"

#define AUTH_TOKEN_MAX 8192     /* characters of one token */
#define AUTH_CACHE_DEFAULT 4096 /* tokens kept verified */
#define AUTH_SKEW_DEFAULT 60    /* seconds */

typedef enum auth_status {
    AUTH_OK = 0,
    AUTH_MISSING,        /* no authorization metadata, or not "Bearer ..." */
    AUTH_MALFORMED,      /* not three base64url parts of JSON, or too long */
    AUTH_ALGORITHM,      /* alg is not ES256, or crit is present */
    AUTH_UNKNOWN_KEY,    /* no key with the header's kid */
    AUTH_BAD_SIGNATURE,  /* the signature does not verify */
    AUTH_EXPIRED,        /* exp has passed */
    AUTH_NOT_YET_VALID,  /* nbf is still ahead */
    AUTH_WRONG_ISSUER,   /* iss */
    AUTH_WRONG_AUDIENCE, /* aud */
    AUTH_BAD_CLAIMS,     /* sub, role, entity_id or group_ids missing or malformed */
    AUTH_NO_MEMORY,
} auth_status;

/* A sentence for the status message of an UNAUTHENTICATED call: "the token
 * has expired". Never holds any part of a token. */
const char *auth_status_text(auth_status st);

typedef struct auth_verifier auth_verifier;

typedef struct auth_verifier_options {
    auth_keys *keys;        /* taken: freed with the verifier */
    const char *issuer;     /* required */
    const char *audience;   /* required */
    int clock_skew_seconds; /* < 0: AUTH_SKEW_DEFAULT */
    size_t cache_max;       /* 0: AUTH_CACHE_DEFAULT */
} auth_verifier_options;

/* Returns 0 and sets *out, or -ENOMEM / -EINVAL (then opts->keys is freed). */
int auth_verifier_new(const auth_verifier_options *opts, auth_verifier **out);

/* Frees the verifier, its keys and its cache. NULL is a no-op. */
void auth_verifier_free(auth_verifier *v);

/* Verifies the value of an authorization header, "Bearer <token>" (the
 * scheme in any case, one or more spaces), at `now` (seconds since the
 * epoch). AUTH_OK sets *out to the caller's identity (one reference: the
 * caller unrefs it); any other status leaves *out NULL. `value` may be NULL
 * (AUTH_MISSING). Reads the key file again first when a second has passed
 * since the last look (keys.h). */
auth_status auth_verify_bearer(auth_verifier *v, const char *value, size_t len, int64_t now,
                               auth_identity **out);

/* The same for a bare token. */
auth_status auth_verify_token(auth_verifier *v, const char *token, size_t len, int64_t now,
                              auth_identity **out);

typedef struct auth_verifier_stats {
    uint64_t hits, misses, failures;
    size_t cached;
} auth_verifier_stats;

void auth_verifier_get_stats(const auth_verifier *v, auth_verifier_stats *out);

#endif

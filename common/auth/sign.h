/* sign.h: making tokens (compactctl token issue, and each service's own
 * token for its calls to peers).
 *
 * A signer holds a P-256 private key (a PEM file: PKCS#8 or SEC 1, as
 * `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256` writes)
 * and the key id its public half has in the services' key file. Tokens are
 * ES256 JWTs as jwt.h verifies them.
 */
#ifndef COMPACT_AUTH_SIGN_H
#define COMPACT_AUTH_SIGN_H

#include <stddef.h>
#include <stdint.h>

typedef struct auth_signer auth_signer;

/* Reads the private key at `pem_path` for key id `kid`. Returns 0 and sets
 * *out, or a negative errno with the reason in `err` (never any key
 * material): -ENOENT, -EINVAL for a file that is not a P-256 private key. */
int auth_signer_load(const char *pem_path, const char *kid, auth_signer **out, char *err,
                     size_t errlen);

/* NULL is a no-op. The key is cleared from memory. */
void auth_signer_free(auth_signer *s);

typedef struct auth_claims {
    const char *issuer, *audience, *subject, *role;
    const char *entity_id; /* NULL or "": left out */
    const char *const *group_ids;
    size_t ngroups;
    int64_t issued_at, not_before, expires; /* not_before 0: left out */
} auth_claims;

/* A token with these claims, malloc'd into *out (the caller frees it).
 * Returns 0, -EINVAL for claims that are missing, or -ENOMEM / -EIO. */
int auth_sign(const auth_signer *s, const auth_claims *c, char **out);

/* A token of the given header and payload JSON texts as they are, for
 * tests that need a token no honest signer makes (alg "none", a missing
 * claim). Same returns. */
int auth_sign_raw(const auth_signer *s, const char *header_json, const char *payload_json,
                  char **out);

/* The signer's key id. */
const char *auth_signer_kid(const auth_signer *s);

/* The public key as one JSON Web Key ({"kty":"EC","crv":"P-256","kid":..,
 * "x":..,"y":..,"use":"sig","alg":"ES256"}), malloc'd into *out: what goes
 * into the services' key file. Returns 0 or -ENOMEM / -EIO. */
int auth_signer_public_jwk(const auth_signer *s, char **out);

#endif

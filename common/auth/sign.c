/* sign.c: ES256 tokens from a P-256 private key in a PEM file. */
#include "sign.h"

#include <errno.h>
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth_internal.h"
#include "keys.h"

struct auth_signer {
    EVP_PKEY *key;
    char kid[AUTH_KID_MAX + 1];
};

static void auth_sign_error(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void auth_sign_error(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    if (err == NULL || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static int auth_is_p256(EVP_PKEY *key)
{
    char group[64] = "";
    size_t len = 0;
    return EVP_PKEY_is_a(key, "EC") &&
           EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                          &len) == 1 &&
           (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0);
}

int auth_signer_load(const char *pem_path, const char *kid, auth_signer **out, char *err,
                     size_t errlen)
{
    FILE *f;
    EVP_PKEY *key;
    auth_signer *s;

    if (kid == NULL || kid[0] == '\0' || strlen(kid) > AUTH_KID_MAX) {
        auth_sign_error(err, errlen, "key id: expected 1 to %d characters", AUTH_KID_MAX);
        return -EINVAL;
    }
    f = fopen(pem_path, "r");
    if (f == NULL) {
        int rc = -errno;
        auth_sign_error(err, errlen, "%s: %s", pem_path, strerror(errno));
        return rc;
    }
    key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (key == NULL || !auth_is_p256(key)) {
        EVP_PKEY_free(key);
        auth_sign_error(err, errlen, "%s: not a P-256 private key in PEM", pem_path);
        return -EINVAL;
    }
    s = calloc(1, sizeof *s);
    if (s == NULL) {
        EVP_PKEY_free(key);
        return -ENOMEM;
    }
    s->key = key;
    snprintf(s->kid, sizeof s->kid, "%s", kid);
    *out = s;
    return 0;
}

void auth_signer_free(auth_signer *s)
{
    if (s == NULL)
        return;
    EVP_PKEY_free(s->key); /* OpenSSL clears private key material as it frees it */
    free(s);
}

const char *auth_signer_kid(const auth_signer *s)
{
    return s->kid;
}

/* base64url of `len` bytes, malloc'd. */
static char *auth_b64(const unsigned char *data, size_t len)
{
    char *out = malloc((len + 2) / 3 * 4 + 1);
    if (out)
        auth__b64url_encode(data, len, out);
    return out;
}

/* The 64-byte ES256 signature r || s of `data`. */
static int auth_es256_sign(EVP_PKEY *key, const char *data, size_t len, unsigned char out[64])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char der[128];
    size_t derlen = sizeof der;
    int rc = -EIO;

    if (ctx != NULL && EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) == 1 &&
        EVP_DigestSign(ctx, der, &derlen, (const unsigned char *)data, len) == 1) {
        const unsigned char *p = der;
        ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)derlen);
        if (sig != NULL && BN_bn2binpad(ECDSA_SIG_get0_r(sig), out, 32) == 32 &&
            BN_bn2binpad(ECDSA_SIG_get0_s(sig), out + 32, 32) == 32)
            rc = 0;
        ECDSA_SIG_free(sig);
    }
    EVP_MD_CTX_free(ctx);
    return rc;
}

int auth_sign_raw(const auth_signer *s, const char *header_json, const char *payload_json,
                  char **out)
{
    char *h = auth_b64((const unsigned char *)header_json, strlen(header_json));
    char *p = auth_b64((const unsigned char *)payload_json, strlen(payload_json));
    char *token = NULL;
    unsigned char sig[64];
    int rc = -ENOMEM;

    if (h && p) {
        size_t hl = strlen(h), pl = strlen(p);
        token = malloc(hl + 1 + pl + 1 + 86 + 1);
        if (token) {
            memcpy(token, h, hl);
            token[hl] = '.';
            memcpy(token + hl + 1, p, pl + 1);
            rc = auth_es256_sign(s->key, token, hl + 1 + pl, sig);
            if (rc == 0) {
                token[hl + 1 + pl] = '.';
                auth__b64url_encode(sig, sizeof sig, token + hl + 1 + pl + 1);
            }
        }
    }
    free(h);
    free(p);
    if (rc != 0) {
        free(token);
        return rc;
    }
    *out = token;
    return 0;
}

int auth_sign(const auth_signer *s, const auth_claims *c, char **out)
{
    if (!c->issuer || !c->audience || !c->subject || !*c->subject || !c->role || c->expires <= 0)
        return -EINVAL;
    json_t *h = json_pack("{s:s, s:s, s:s}", "alg", "ES256", "typ", "JWT", "kid", s->kid);
    json_t *p = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}", "iss", c->issuer, "aud", c->audience,
                          "sub", c->subject, "role", c->role, "iat", (json_int_t)c->issued_at,
                          "exp", (json_int_t)c->expires);
    json_t *groups = json_array();
    char *hs = NULL, *ps = NULL;
    int rc = -ENOMEM;

    if (h && p && groups) {
        if (c->not_before > 0)
            json_object_set_new(p, "nbf", json_integer(c->not_before));
        if (c->entity_id && *c->entity_id)
            json_object_set_new(p, "entity_id", json_string(c->entity_id));
        for (size_t i = 0; i < c->ngroups; i++)
            json_array_append_new(groups, json_string(c->group_ids[i]));
        if (c->ngroups)
            json_object_set(p, "group_ids", groups);
        hs = json_dumps(h, JSON_COMPACT);
        ps = json_dumps(p, JSON_COMPACT);
        if (hs && ps)
            rc = auth_sign_raw(s, hs, ps, out);
    }
    free(hs);
    free(ps);
    json_decref(h);
    json_decref(p);
    json_decref(groups);
    return rc;
}

int auth_signer_public_jwk(const auth_signer *s, char **out)
{
    BIGNUM *x = NULL, *y = NULL;
    unsigned char xb[32], yb[32];
    int rc = -EIO;

    if (EVP_PKEY_get_bn_param(s->key, OSSL_PKEY_PARAM_EC_PUB_X, &x) == 1 &&
        EVP_PKEY_get_bn_param(s->key, OSSL_PKEY_PARAM_EC_PUB_Y, &y) == 1 &&
        BN_bn2binpad(x, xb, 32) == 32 && BN_bn2binpad(y, yb, 32) == 32) {
        char *xs = auth_b64(xb, 32), *ys = auth_b64(yb, 32);
        json_t *j =
            xs && ys ? json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "kty", "EC", "crv", "P-256",
                                 "kid", s->kid, "use", "sig", "alg", "ES256", "x", xs, "y", ys)
                     : NULL;
        *out = j ? json_dumps(j, JSON_COMPACT) : NULL;
        rc = *out ? 0 : -ENOMEM;
        json_decref(j);
        free(xs);
        free(ys);
    }
    BN_free(x);
    BN_free(y);
    return rc;
}

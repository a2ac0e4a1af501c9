/* jwt.c: ES256 bearer tokens verified, and kept verified in a bounded cache.
 *
 * The cache: a hash table of the token texts (chained), and a list in the
 * order they were added; when full the oldest goes. An entry holds one
 * reference to the identity, and is dropped when it is found past its
 * expiry, when the key file changes, or when it is the oldest of a full
 * cache.
 */
#include "jwt.h"

#include <errno.h>
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth_internal.h"

typedef struct auth_entry {
    uint64_t hash;
    char *token;
    size_t len;
    auth_identity *id;
    struct auth_entry *chain;       /* next in the bucket */
    struct auth_entry *prev, *next; /* oldest first */
} auth_entry;

struct auth_verifier {
    auth_keys *keys;
    char *issuer, *audience;
    int skew;
    size_t cache_max;
    auth_entry **buckets;
    size_t nbuckets; /* a power of two */
    auth_entry *oldest, *newest;
    size_t cached;
    uint64_t generation; /* of the keys the cache was filled with */
    int64_t last_refresh;
    auth_verifier_stats stats;
};

const char *auth_status_text(auth_status st)
{
    switch (st) {
    case AUTH_OK:
        return "ok";
    case AUTH_MISSING:
        return "authorization: a bearer token is required (authorization: Bearer <token>)";
    case AUTH_MALFORMED:
        return "authorization: the token is not a well-formed JWT";
    case AUTH_ALGORITHM:
        return "authorization: the token must be signed with ES256";
    case AUTH_UNKNOWN_KEY:
        return "authorization: the token's key id is not among the trusted keys";
    case AUTH_BAD_SIGNATURE:
        return "authorization: the token's signature does not verify";
    case AUTH_EXPIRED:
        return "authorization: the token has expired";
    case AUTH_NOT_YET_VALID:
        return "authorization: the token is not valid yet (nbf)";
    case AUTH_WRONG_ISSUER:
        return "authorization: the token's issuer is not trusted";
    case AUTH_WRONG_AUDIENCE:
        return "authorization: the token is not meant for this audience";
    case AUTH_BAD_CLAIMS:
        return "authorization: the token's claims (sub, role, entity_id, group_ids) are incomplete "
               "or malformed";
    case AUTH_NO_MEMORY:
        return "authorization: out of memory";
    }
    return "authorization: refused";
}

/* ---- the verifier --------------------------------------------------------- */

int auth_verifier_new(const auth_verifier_options *opts, auth_verifier **out)
{
    auth_verifier *v = calloc(1, sizeof *v);
    size_t max = opts->cache_max ? opts->cache_max : AUTH_CACHE_DEFAULT;
    size_t nb = 16;

    while (nb < max)
        nb <<= 1;
    if (v == NULL || opts->keys == NULL || opts->issuer == NULL || opts->audience == NULL) {
        free(v);
        auth_keys_free(opts->keys);
        return v ? -EINVAL : -ENOMEM;
    }
    v->keys = opts->keys;
    v->issuer = strdup(opts->issuer);
    v->audience = strdup(opts->audience);
    v->skew = opts->clock_skew_seconds < 0 ? AUTH_SKEW_DEFAULT : opts->clock_skew_seconds;
    v->cache_max = max;
    v->nbuckets = nb;
    v->buckets = calloc(nb, sizeof *v->buckets);
    v->generation = auth_keys_generation(v->keys);
    if (v->issuer == NULL || v->audience == NULL || v->buckets == NULL) {
        auth_verifier_free(v);
        return -ENOMEM;
    }
    *out = v;
    return 0;
}

static void auth_entry_unlink(auth_verifier *v, auth_entry *e)
{
    auth_entry **p = &v->buckets[e->hash & (v->nbuckets - 1)];
    while (*p != e)
        p = &(*p)->chain;
    *p = e->chain;
    if (e->prev)
        e->prev->next = e->next;
    else
        v->oldest = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        v->newest = e->prev;
    v->cached--;
    auth_identity_unref(e->id);
    free(e->token);
    free(e);
}

static void auth_cache_clear(auth_verifier *v)
{
    while (v->oldest)
        auth_entry_unlink(v, v->oldest);
}

void auth_verifier_free(auth_verifier *v)
{
    if (v == NULL)
        return;
    if (v->buckets)
        auth_cache_clear(v);
    free(v->buckets);
    auth_keys_free(v->keys);
    free(v->issuer);
    free(v->audience);
    free(v);
}

void auth_verifier_get_stats(const auth_verifier *v, auth_verifier_stats *out)
{
    *out = v->stats;
    out->cached = v->cached;
}

/* FNV-1a: spread, not secrecy (only verified tokens ever enter). */
static uint64_t auth_hash(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

static auth_entry *auth_cache_find(auth_verifier *v, uint64_t hash, const char *token, size_t len)
{
    for (auth_entry *e = v->buckets[hash & (v->nbuckets - 1)]; e; e = e->chain)
        if (e->hash == hash && e->len == len && memcmp(e->token, token, len) == 0)
            return e;
    return NULL;
}

static void auth_cache_add(auth_verifier *v, uint64_t hash, const char *token, size_t len,
                           auth_identity *id)
{
    auth_entry *e = calloc(1, sizeof *e);
    if (e == NULL || (e->token = malloc(len)) == NULL) {
        free(e);
        return; /* not cached: verified again next time */
    }
    if (v->cached >= v->cache_max)
        auth_entry_unlink(v, v->oldest);
    memcpy(e->token, token, len);
    e->len = len;
    e->hash = hash;
    e->id = auth_identity_ref(id);
    size_t b = hash & (v->nbuckets - 1);
    e->chain = v->buckets[b];
    v->buckets[b] = e;
    e->prev = v->newest;
    if (v->newest)
        v->newest->next = e;
    else
        v->oldest = e;
    v->newest = e;
    v->cached++;
}

/* ---- one token ------------------------------------------------------------ */

/* The JSON object of one base64url part, or NULL. */
static json_t *auth_part_json(const char *s, size_t len)
{
    unsigned char *buf = malloc(len * 3 / 4 + 1);
    json_t *j = NULL;
    long n;

    if (buf == NULL)
        return NULL;
    n = auth__b64url_decode(s, len, buf);
    if (n > 0)
        j = json_loadb((const char *)buf, (size_t)n, JSON_REJECT_DUPLICATES, NULL);
    free(buf);
    if (j != NULL && !json_is_object(j)) {
        json_decref(j);
        j = NULL;
    }
    return j;
}

/* 1 if `sig` (64 bytes, r || s) is key's ES256 signature of `data`. */
static int auth_es256_verify(EVP_PKEY *key, const char *data, size_t len, const unsigned char *sig)
{
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, 32, NULL), *s = BN_bin2bn(sig + 32, 32, NULL);
    unsigned char *der = NULL;
    int derlen = -1, ok = 0;

    if (es != NULL && r != NULL && s != NULL && ECDSA_SIG_set0(es, r, s) == 1) {
        r = s = NULL; /* owned by es now */
        derlen = i2d_ECDSA_SIG(es, &der);
    }
    if (derlen > 0) {
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        ok = ctx != NULL && EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key) == 1 &&
             EVP_DigestVerify(ctx, der, (size_t)derlen, (const unsigned char *)data, len) == 1;
        EVP_MD_CTX_free(ctx);
    }
    OPENSSL_free(der);
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(es);
    return ok;
}

static int auth_string_ok(json_t *j, size_t max)
{
    const char *s = json_string_value(j);
    return s != NULL && s[0] != '\0' && strlen(s) <= max && strlen(s) == json_string_length(j);
}

static int auth_audience_ok(json_t *aud, const char *want)
{
    if (json_is_string(aud))
        return strcmp(json_string_value(aud), want) == 0;
    if (!json_is_array(aud))
        return 0;
    for (size_t i = 0; i < json_array_size(aud); i++) {
        const char *s = json_string_value(json_array_get(aud, i));
        if (s && strcmp(s, want) == 0)
            return 1;
    }
    return 0;
}

/* Times are NumericDate: a JSON number of seconds (fractions allowed). */
static int auth_time(json_t *j, double *out)
{
    if (!json_is_number(j))
        return 0;
    *out = json_number_value(j);
    return *out >= 0 && *out < 1e11;
}

static auth_status auth_claims_check(auth_verifier *v, json_t *p, int64_t now, auth_identity **out)
{
    double exp = 0, nbf = 0;
    json_t *groups = json_object_get(p, "group_ids");
    json_t *entity = json_object_get(p, "entity_id");
    const char *gids[AUTH_GROUPS_MAX];
    size_t ngroups = 0;
    unsigned role;

    if (!auth_time(json_object_get(p, "exp"), &exp))
        return AUTH_BAD_CLAIMS;
    if ((double)now > exp + v->skew)
        return AUTH_EXPIRED;
    if (json_object_get(p, "nbf") != NULL) {
        if (!auth_time(json_object_get(p, "nbf"), &nbf))
            return AUTH_BAD_CLAIMS;
        if (nbf > (double)now + v->skew)
            return AUTH_NOT_YET_VALID;
    }
    if (!json_is_string(json_object_get(p, "iss")) ||
        strcmp(json_string_value(json_object_get(p, "iss")), v->issuer) != 0)
        return AUTH_WRONG_ISSUER;
    if (!auth_audience_ok(json_object_get(p, "aud"), v->audience))
        return AUTH_WRONG_AUDIENCE;
    if (!auth_string_ok(json_object_get(p, "sub"), AUTH_SUBJECT_MAX))
        return AUTH_BAD_CLAIMS;
    role = auth_role_parse(json_string_value(json_object_get(p, "role")));
    if (role == 0)
        return AUTH_BAD_CLAIMS;
    if (entity != NULL && !auth_string_ok(entity, AUTH_ID_MAX))
        return AUTH_BAD_CLAIMS;
    if (groups != NULL) {
        if (!json_is_array(groups) || json_array_size(groups) > AUTH_GROUPS_MAX)
            return AUTH_BAD_CLAIMS;
        for (size_t i = 0; i < json_array_size(groups); i++) {
            if (!auth_string_ok(json_array_get(groups, i), AUTH_ID_MAX))
                return AUTH_BAD_CLAIMS;
            gids[ngroups++] = json_string_value(json_array_get(groups, i));
        }
    }
    if (role == AUTH_ROLE_FOCAL_POINT && entity == NULL)
        return AUTH_BAD_CLAIMS;
    if (role == AUTH_ROLE_WG_CHAIR && ngroups == 0)
        return AUTH_BAD_CLAIMS;
    *out = auth_identity_new(json_string_value(json_object_get(p, "sub")), role,
                             json_string_value(entity), gids, ngroups, (int64_t)exp);
    return *out ? AUTH_OK : AUTH_NO_MEMORY;
}

/* The whole check of a token not in the cache. */
static auth_status auth_verify_fresh(auth_verifier *v, const char *token, size_t len, int64_t now,
                                     auth_identity **out)
{
    const char *dot1 = memchr(token, '.', len);
    const char *dot2 = dot1 ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token)) : NULL;
    unsigned char sig[AUTH_TOKEN_MAX];
    json_t *header = NULL, *payload = NULL;
    auth_status st = AUTH_MALFORMED;
    EVP_PKEY *key;

    if (dot1 == NULL || dot2 == NULL || dot1 == token || dot2 == dot1 + 1 ||
        memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token)) != NULL)
        return AUTH_MALFORMED;
    header = auth_part_json(token, (size_t)(dot1 - token));
    if (header == NULL)
        goto done;
    const char *alg = json_string_value(json_object_get(header, "alg"));
    const char *kid = json_string_value(json_object_get(header, "kid"));
    json_t *typ = json_object_get(header, "typ");
    if (alg == NULL || strcmp(alg, "ES256") != 0 || json_object_get(header, "crit") != NULL) {
        st = AUTH_ALGORITHM;
        goto done;
    }
    if (typ != NULL && (!json_is_string(typ) || strcasecmp(json_string_value(typ), "JWT") != 0))
        goto done;
    if (kid == NULL || (key = auth__keys_find(v->keys, kid)) == NULL) {
        st = AUTH_UNKNOWN_KEY;
        goto done;
    }
    long n = auth__b64url_decode(dot2 + 1, len - (size_t)(dot2 + 1 - token), sig);
    if (n != 64 || !auth_es256_verify(key, token, (size_t)(dot2 - token), sig)) {
        st = AUTH_BAD_SIGNATURE;
        goto done;
    }
    payload = auth_part_json(dot1 + 1, (size_t)(dot2 - dot1 - 1));
    st = payload ? auth_claims_check(v, payload, now, out) : AUTH_MALFORMED;
done:
    json_decref(header);
    json_decref(payload);
    return st;
}

static void auth_keys_maybe_refresh(auth_verifier *v, int64_t now)
{
    if (now == v->last_refresh)
        return;
    v->last_refresh = now;
    auth_keys_refresh(v->keys);
    if (auth_keys_generation(v->keys) != v->generation) {
        auth_cache_clear(v); /* a key may be gone: nothing it verified stays */
        v->generation = auth_keys_generation(v->keys);
    }
}

auth_status auth_verify_token(auth_verifier *v, const char *token, size_t len, int64_t now,
                              auth_identity **out)
{
    auth_status st;

    *out = NULL;
    if (token == NULL || len == 0)
        return AUTH_MISSING;
    if (len > AUTH_TOKEN_MAX)
        return AUTH_MALFORMED;
    auth_keys_maybe_refresh(v, now);
    uint64_t hash = auth_hash(token, len);
    auth_entry *e = auth_cache_find(v, hash, token, len);
    if (e != NULL) {
        if ((double)now > (double)e->id->exp + v->skew) {
            auth_entry_unlink(v, e);
            v->stats.failures++;
            return AUTH_EXPIRED;
        }
        v->stats.hits++;
        *out = auth_identity_ref(e->id);
        return AUTH_OK;
    }
    v->stats.misses++;
    st = auth_verify_fresh(v, token, len, now, out);
    if (st == AUTH_OK)
        auth_cache_add(v, hash, token, len, *out);
    else
        v->stats.failures++;
    return st;
}

auth_status auth_verify_bearer(auth_verifier *v, const char *value, size_t len, int64_t now,
                               auth_identity **out)
{
    *out = NULL;
    if (value == NULL || len < 7 || strncasecmp(value, "Bearer ", 7) != 0) {
        v->stats.failures++;
        return AUTH_MISSING;
    }
    size_t i = 7;
    while (i < len && value[i] == ' ')
        i++;
    size_t end = len;
    while (end > i && value[end - 1] == ' ')
        end--;
    return auth_verify_token(v, value + i, end - i, now, out);
}

/* keys.c: a JSON Web Key Set of P-256 public keys, re-read when it changes. */
#include "keys.h"

#include <errno.h>
#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "auth_internal.h"
#include "log.h"

typedef struct auth_key {
    char kid[AUTH_KID_MAX + 1];
    EVP_PKEY *pkey;
} auth_key;

typedef struct auth_key_set {
    auth_key *v;
    size_t n;
} auth_key_set;

struct auth_keys {
    char *path; /* NULL: parsed from text */
    auth_key_set set;
    uint64_t generation;
    /* what the file was when last read */
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
    int failed_logged; /* the current file's failure is in the log */
};

static void auth_keys_error(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void auth_keys_error(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    if (err == NULL || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static void auth_key_set_clear(auth_key_set *s)
{
    for (size_t i = 0; i < s->n; i++)
        EVP_PKEY_free(s->v[i].pkey);
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

/* The P-256 public key (x, y), or NULL when the point is not on the curve. */
static EVP_PKEY *auth_ec_public_key(const unsigned char *x, const unsigned char *y)
{
    unsigned char pub[65];
    EVP_PKEY *pkey = NULL;
    char group[] = "prime256v1";

    pub[0] = 0x04; /* uncompressed */
    memcpy(pub + 1, x, 32);
    memcpy(pub + 33, y, 32);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof pub),
        OSSL_PARAM_construct_end(),
    };
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (ctx != NULL && EVP_PKEY_fromdata_init(ctx) == 1 &&
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
        pkey = NULL;
    EVP_PKEY_CTX_free(ctx);
    if (pkey == NULL)
        return NULL;
    /* fromdata takes any point: make sure this one is on the curve. */
    EVP_PKEY_CTX *check = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    int ok = check != NULL && EVP_PKEY_public_check(check) == 1;
    EVP_PKEY_CTX_free(check);
    if (!ok) {
        EVP_PKEY_free(pkey);
        return NULL;
    }
    return pkey;
}

/* A coordinate: exactly 32 bytes of base64url. */
static int auth_coordinate(json_t *jwk, const char *name, unsigned char out[33])
{
    const char *s = json_string_value(json_object_get(jwk, name));
    if (s == NULL || strlen(s) != 43)
        return -1;
    return auth__b64url_decode(s, 43, out) == 32 ? 0 : -1;
}

static int auth_key_from_json(json_t *jwk, size_t i, auth_key *out, char *err, size_t errlen)
{
    const char *kty = json_string_value(json_object_get(jwk, "kty"));
    const char *crv = json_string_value(json_object_get(jwk, "crv"));
    const char *kid = json_string_value(json_object_get(jwk, "kid"));
    unsigned char x[33], y[33];

    if (!json_is_object(jwk)) {
        auth_keys_error(err, errlen, "keys[%zu]: not an object", i);
        return -EINVAL;
    }
    if (kid == NULL || kid[0] == '\0' || strlen(kid) > AUTH_KID_MAX) {
        auth_keys_error(err, errlen, "keys[%zu].kid: expected 1 to %d characters", i, AUTH_KID_MAX);
        return -EINVAL;
    }
    if (kty == NULL || strcmp(kty, "EC") != 0 || crv == NULL || strcmp(crv, "P-256") != 0) {
        auth_keys_error(err, errlen, "keys[%zu] (%s): only kty EC with crv P-256 (ES256) is taken",
                        i, kid);
        return -EINVAL;
    }
    if (json_object_get(jwk, "d") != NULL) {
        auth_keys_error(err, errlen,
                        "keys[%zu] (%s): a private key; the services take public keys only", i,
                        kid);
        return -EINVAL;
    }
    if (auth_coordinate(jwk, "x", x) != 0 || auth_coordinate(jwk, "y", y) != 0) {
        auth_keys_error(err, errlen, "keys[%zu] (%s).x, .y: expected 32 bytes of base64url each", i,
                        kid);
        return -EINVAL;
    }
    out->pkey = auth_ec_public_key(x, y);
    if (out->pkey == NULL) {
        auth_keys_error(err, errlen, "keys[%zu] (%s): not a point of P-256", i, kid);
        return -EINVAL;
    }
    snprintf(out->kid, sizeof out->kid, "%s", kid);
    return 0;
}

static int auth_key_set_parse(const char *text, size_t len, auth_key_set *out, char *err,
                              size_t errlen)
{
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    json_t *keys = json_object_get(root, "keys");
    int rc = 0;

    memset(out, 0, sizeof *out);
    if (root == NULL) {
        auth_keys_error(err, errlen, "not JSON: line %d: %s", jerr.line, jerr.text);
        return -EINVAL;
    }
    if (!json_is_array(keys) || json_array_size(keys) == 0 ||
        json_array_size(keys) > AUTH_KEYS_MAX) {
        auth_keys_error(err, errlen, "keys: expected an array of 1 to %d keys", AUTH_KEYS_MAX);
        json_decref(root);
        return -EINVAL;
    }
    out->v = calloc(json_array_size(keys), sizeof *out->v);
    if (out->v == NULL) {
        json_decref(root);
        return -ENOMEM;
    }
    for (size_t i = 0; rc == 0 && i < json_array_size(keys); i++) {
        rc = auth_key_from_json(json_array_get(keys, i), i, &out->v[out->n], err, errlen);
        for (size_t j = 0; rc == 0 && j < out->n; j++)
            if (strcmp(out->v[j].kid, out->v[out->n].kid) == 0) {
                auth_keys_error(err, errlen, "keys[%zu].kid: %s is used twice", i, out->v[j].kid);
                EVP_PKEY_free(out->v[out->n].pkey);
                rc = -EINVAL;
            }
        if (rc == 0)
            out->n++;
    }
    json_decref(root);
    if (rc != 0)
        auth_key_set_clear(out);
    return rc;
}

/* Reads the file whole (at most AUTH_KEYS_FILE_MAX) and notes what it was. */
static int auth_keys_read(auth_keys *k, auth_key_set *set, char *err, size_t errlen)
{
    FILE *f = fopen(k->path, "rb");
    struct stat st;
    char *buf = NULL;
    size_t len = 0;
    int rc;

    if (f == NULL) {
        rc = -errno;
        auth_keys_error(err, errlen, "%s: %s", k->path, strerror(errno));
        return rc;
    }
    if (fstat(fileno(f), &st) != 0 || st.st_size > AUTH_KEYS_FILE_MAX) {
        fclose(f);
        auth_keys_error(err, errlen, "%s: larger than %d bytes", k->path, AUTH_KEYS_FILE_MAX);
        return -EFBIG;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (buf == NULL) {
        fclose(f);
        return -ENOMEM;
    }
    len = fread(buf, 1, (size_t)st.st_size, f);
    fclose(f);
    rc = auth_key_set_parse(buf, len, set, err, errlen);
    free(buf);
    if (rc == 0) {
        k->dev = st.st_dev;
        k->ino = st.st_ino;
        k->size = st.st_size;
        k->mtime = st.st_mtim;
    }
    return rc;
}

int auth_keys_load(const char *path, auth_keys **out, char *err, size_t errlen)
{
    auth_keys *k = calloc(1, sizeof *k);
    if (k == NULL || (k->path = strdup(path)) == NULL) {
        free(k);
        return -ENOMEM;
    }
    int rc = auth_keys_read(k, &k->set, err, errlen);
    if (rc != 0) {
        auth_keys_free(k);
        return rc;
    }
    k->generation = 1;
    *out = k;
    return 0;
}

int auth_keys_parse(const char *text, size_t len, auth_keys **out, char *err, size_t errlen)
{
    auth_keys *k = calloc(1, sizeof *k);
    if (k == NULL)
        return -ENOMEM;
    int rc = auth_key_set_parse(text, len, &k->set, err, errlen);
    if (rc != 0) {
        free(k);
        return rc;
    }
    k->generation = 1;
    *out = k;
    return 0;
}

int auth_keys_refresh(auth_keys *k)
{
    struct stat st;
    char err[256] = "";
    auth_key_set fresh;

    if (k->path == NULL)
        return 0;
    if (stat(k->path, &st) != 0) {
        if (!k->failed_logged)
            log_fmt(LOG_LEVEL_ERROR, "COMPACT_AUTH_KEYS_FILE %s: %s; the keys read before stay",
                    k->path, strerror(errno));
        k->failed_logged = 1;
        return -errno;
    }
    if (st.st_dev == k->dev && st.st_ino == k->ino && st.st_size == k->size &&
        st.st_mtim.tv_sec == k->mtime.tv_sec && st.st_mtim.tv_nsec == k->mtime.tv_nsec)
        return 0;
    int rc = auth_keys_read(k, &fresh, err, sizeof err);
    if (rc != 0) {
        if (!k->failed_logged)
            log_fmt(LOG_LEVEL_ERROR,
                    "COMPACT_AUTH_KEYS_FILE changed but cannot be used (%s); the "
                    "keys read before stay",
                    err);
        k->failed_logged = 1;
        return rc;
    }
    auth_key_set_clear(&k->set);
    k->set = fresh;
    k->generation++;
    k->failed_logged = 0;
    log_fmt(LOG_LEVEL_INFO, "COMPACT_AUTH_KEYS_FILE read again: %zu keys", k->set.n);
    return 1;
}

uint64_t auth_keys_generation(const auth_keys *k)
{
    return k->generation;
}

size_t auth_keys_count(const auth_keys *k)
{
    return k->set.n;
}

EVP_PKEY *auth__keys_find(struct auth_keys *k, const char *kid)
{
    for (size_t i = 0; i < k->set.n; i++)
        if (strcmp(k->set.v[i].kid, kid) == 0)
            return k->set.v[i].pkey;
    return NULL;
}

int auth_keys_has(const auth_keys *k, const char *kid)
{
    return auth__keys_find((auth_keys *)k, kid) != NULL;
}

void auth_keys_free(auth_keys *k)
{
    if (k == NULL)
        return;
    auth_key_set_clear(&k->set);
    free(k->path);
    free(k);
}

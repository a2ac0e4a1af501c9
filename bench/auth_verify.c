/* auth_verify.c: what verifying a bearer token costs (common/auth/jwt.h):
 * the first sight of a token (an ES256 signature check, then the claims)
 * and every later one (the per-token cache), in microseconds per call.
 *
 *   auth_verify [N]        (bench/security.sh; N rounds, default 20000)
 */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "jwt.h"
#include "log.h"
#include "sign.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 20000;
    char dir[] = "/tmp/auth-verify.XXXXXX", pem[64], err[256];
    auth_signer *s = NULL;
    auth_keys *keys = NULL;
    auth_verifier *v = NULL;
    char *jwk = NULL, set[1024];

    log_init("bench", LOG_LEVEL_ERROR);
    if (!mkdtemp(dir))
        return 1;
    snprintf(pem, sizeof pem, "%s/k.pem", dir);
    EVP_PKEY *k = EVP_EC_gen("P-256");
    FILE *f = fopen(pem, "w");
    PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
    fclose(f);
    EVP_PKEY_free(k);
    if (auth_signer_load(pem, "k1", &s, err, sizeof err) != 0 || auth_signer_public_jwk(s, &jwk))
        return 1;
    snprintf(set, sizeof set, "{\"keys\":[%s]}", jwk);
    auth_keys_parse(set, strlen(set), &keys, err, sizeof err);
    auth_verifier_options o = {.keys = keys,
                               .issuer = "compact",
                               .audience = "compact",
                               .clock_skew_seconds = 60,
                               .cache_max = (size_t)n + 16};
    auth_verifier_new(&o, &v);
    int64_t now = (int64_t)time(NULL);
    char **tokens = calloc((size_t)n, sizeof *tokens);
    for (int i = 0; i < n; i++) {
        char sub[32];
        snprintf(sub, sizeof sub, "user-%d", i);
        auth_claims c = {.issuer = "compact",
                         .audience = "compact",
                         .subject = sub,
                         .role = "viewer",
                         .issued_at = now,
                         .expires = now + 3600};
        auth_sign(s, &c, &tokens[i]);
    }
    auth_identity *id;
    double t0 = now_s();
    for (int i = 0; i < n; i++) {
        if (auth_verify_token(v, tokens[i], strlen(tokens[i]), now, &id) != AUTH_OK)
            return 1;
        auth_identity_unref(id);
    }
    double t1 = now_s();
    for (int r = 0; r < 10; r++)
        for (int i = 0; i < n; i++) {
            if (auth_verify_token(v, tokens[i], strlen(tokens[i]), now, &id) != AUTH_OK)
                return 1;
            auth_identity_unref(id);
        }
    double t2 = now_s();
    printf("{\"tokens\": %d, \"first_us\": %.2f, \"cached_us\": %.3f, \"token_bytes\": %zu}\n", n,
           (t1 - t0) / n * 1e6, (t2 - t1) / (10.0 * n) * 1e6, strlen(tokens[0]));
    for (int i = 0; i < n; i++)
        free(tokens[i]);
    free(tokens);
    free(jwk);
    auth_verifier_free(v);
    auth_signer_free(s);
    unlink(pem);
    rmdir(dir);
    return 0;
}

/* rpc_tls.c: gRPC core's SSL credentials from PEM files (rpc.h: rpc_tls).
 *
 * Servers require and verify client certificates (mutual TLS); clients
 * verify the server's certificate against the CA and present their own, and
 * keep a small TLS session cache per channel so that a reconnect resumes
 * the session instead of a full handshake. Key material is read here, held
 * by core, and the buffers are cleared before they are freed. Messages name
 * files, never their contents.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/grpc_security.h>

#include "log.h"
#include "rpc_server_internal.h"

#define RPC_PEM_MAX (1 << 20)

/* The file's text, malloc'd and NUL-terminated; NULL when it cannot be read
 * (logged, naming the file and the variable's purpose). */
static char *rpc_tls_read(const char *path, const char *what)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n = 0;

    if (f == NULL) {
        log_fmt(LOG_LEVEL_ERROR, "TLS %s %s: %s", what, path, strerror(errno));
        return NULL;
    }
    buf = malloc(RPC_PEM_MAX + 1);
    if (buf != NULL)
        n = fread(buf, 1, RPC_PEM_MAX + 1, f);
    fclose(f);
    if (buf == NULL || n == 0 || n > RPC_PEM_MAX) {
        log_fmt(LOG_LEVEL_ERROR, "TLS %s %s: empty or larger than %d bytes", what, path,
                RPC_PEM_MAX);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

static void rpc_tls_forget(char *buf)
{
    if (buf == NULL)
        return;
    /* Key material leaves no copy of ours behind. */
    volatile char *p = buf;
    while (*p)
        *p++ = 0;
    free(buf);
}

grpc_server_credentials *rpc__tls_server_credentials(const char *cert, const char *key,
                                                     const char *ca)
{
    char *cert_pem = rpc_tls_read(cert, "certificate (COMPACT_TLS_CERT)");
    char *key_pem = cert_pem ? rpc_tls_read(key, "key (COMPACT_TLS_KEY)") : NULL;
    char *ca_pem = key_pem ? rpc_tls_read(ca, "CA (COMPACT_TLS_CA)") : NULL;
    grpc_server_credentials *creds = NULL;

    if (ca_pem != NULL) {
        grpc_ssl_pem_key_cert_pair pair = {.private_key = key_pem, .cert_chain = cert_pem};
        creds = grpc_ssl_server_credentials_create_ex(
            ca_pem, &pair, 1, GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY, NULL);
    }
    rpc_tls_forget(key_pem);
    free(cert_pem);
    free(ca_pem);
    return creds;
}

grpc_channel_credentials *rpc__tls_channel_credentials(const rpc_tls *tls)
{
    char *ca_pem = rpc_tls_read(tls->ca_file, "CA (COMPACT_TLS_CA)");
    char *cert_pem = NULL, *key_pem = NULL;
    grpc_channel_credentials *creds = NULL;

    if (ca_pem == NULL)
        return NULL;
    if (tls->cert_file && *tls->cert_file) {
        cert_pem = rpc_tls_read(tls->cert_file, "certificate (COMPACT_TLS_CERT)");
        key_pem = cert_pem ? rpc_tls_read(tls->key_file, "key (COMPACT_TLS_KEY)") : NULL;
        if (key_pem == NULL)
            goto done;
    }
    grpc_ssl_pem_key_cert_pair pair = {.private_key = key_pem, .cert_chain = cert_pem};
    creds = grpc_ssl_credentials_create(ca_pem, key_pem ? &pair : NULL, NULL, NULL);
done:
    rpc_tls_forget(key_pem);
    free(cert_pem);
    free(ca_pem);
    return creds;
}

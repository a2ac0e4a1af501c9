/* service_auth.c: who may call what, enforced before every handler.
 *
 * The runtime's gate (rpc.h: rpc_gate) for a service's server, in two steps:
 *
 *   authenticate  the "authorization" metadata: a bearer token the verifier
 *                 (auth/jwt.h) accepts, or UNAUTHENTICATED; the identity
 *                 rides with the call (rpc_call_attach) for the second step
 *                 and for the audit (service_call_actor);
 *   authorize     the method's rule in the service's table (auth/rule.h)
 *                 with the decoded request, or PERMISSION_DENIED.
 *
 * Health and reflection are public (probes, grpcurl). Every other method
 * needs a rule: a service whose table misses one does not start, and a
 * method no table covers is denied. With COMPACT_AUTH=off nothing is
 * checked (local runs; logged loudly at start).
 *
 * The service's own token: with COMPACT_AUTH_SERVICE_KEY_FILE a service
 * signs itself a short token (role "service", subject "service:<name>")
 * for its calls to peers, and a new one every SERVICE_TOKEN_RENEW_S, well
 * before the old one expires; the peers verify it with the same key file as
 * any other token.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jwt.h"
#include "log.h"
#include "service_internal.h"
#include "sign.h"

#define SERVICE_TOKEN_TTL_S 900
#define SERVICE_TOKEN_RENEW_S 300

struct service_auth {
    const service_def *def;
    service *svc;
    int on;
    auth_verifier *verifier;
    auth_signer *signer; /* NULL: no token of its own */
    char issuer[CONFIG_TEXT_MAX], audience[CONFIG_TEXT_MAX];
    char subject[96];
    char *peer_authorization; /* "Bearer ..." */
    uv_timer_t renew;
    int timer_open;
    void (*renewed)(void *arg, const char *value);
    void *renewed_arg;
};

/* ---- the rule of a call ------------------------------------------------------ */

static const char *const service_public_prefixes[] = {
    "/grpc.health.v1.Health/",
    "/grpc.reflection.v1alpha.ServerReflection/",
    "/grpc.reflection.v1.ServerReflection/",
};

static int service_auth_public(const char *path)
{
    for (size_t i = 0; i < sizeof service_public_prefixes / sizeof service_public_prefixes[0]; i++)
        if (strncmp(path, service_public_prefixes[i], strlen(service_public_prefixes[i])) == 0)
            return 1;
    return 0;
}

/* The rule of "/<package.Service>/<Method>" among the service's and the
 * audit's, or NULL (denied). */
static const auth_rule *service_auth_rule(const service_auth *a, const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *own = a->def->descriptor->name;
    size_t n = strlen(own);

    if (slash == NULL || path[0] != '/')
        return NULL;
    if (strncmp(path + 1, own, n) == 0 && path + 1 + n == slash)
        return auth_rules_find(a->def->rules, slash + 1);
    if (strncmp(path, "/compact.audit.v1.Audit/", 24) == 0)
        return auth_rules_find(service__audit_rules, slash + 1);
    return NULL;
}

/* ---- the gate ------------------------------------------------------------------ */

static void service_auth_release(void *data)
{
    auth_identity_unref(data);
}

static rpc_code service_auth_authenticate(void *arg, rpc_call *call, char *msg, size_t size)
{
    service_auth *a = arg;
    size_t len = 0;
    const char *value;
    auth_identity *id = NULL;

    if (!a->on || service_auth_public(rpc_call_method(call)))
        return RPC_OK;
    value = rpc_call_metadata(call, "authorization", &len);
    auth_status st = auth_verify_bearer(a->verifier, value, len, (int64_t)time(NULL), &id);
    if (st != AUTH_OK) {
        snprintf(msg, size, "%s", auth_status_text(st));
        return st == AUTH_NO_MEMORY ? RPC_RESOURCE_EXHAUSTED : RPC_UNAUTHENTICATED;
    }
    rpc_call_attach(call, id, service_auth_release);
    return RPC_OK;
}

static rpc_code service_auth_authorize(void *arg, rpc_call *call, const ProtobufCMessage *request,
                                       char *msg, size_t size)
{
    service_auth *a = arg;
    const char *path = rpc_call_method(call);

    if (!a->on || service_auth_public(path))
        return RPC_OK;
    const auth_rule *rule = service_auth_rule(a, path);
    if (auth_rule_allows(rule, rpc_call_attachment(call), request, a->svc, msg, size) != 0)
        return RPC_PERMISSION_DENIED;
    return RPC_OK;
}

void service__auth_gate(service_auth *a, rpc_gate *gate)
{
    gate->authenticate = service_auth_authenticate;
    gate->authorize = service_auth_authorize;
    gate->arg = a;
}

const auth_identity *service_call_identity(const rpc_call *call)
{
    return rpc_call_attachment(call);
}

void service_call_actor(const rpc_call *call, outbox_actor *out, char *peer, size_t size)
{
    const auth_identity *id = rpc_call_attachment(call);
    rpc_call_peer(call, peer, size);
    out->subject = id ? id->subject : "";
    out->role = id ? auth_role_name(id->role) : "";
    out->entity_id = id ? id->entity_id : "";
    out->peer = peer;
}

/* ---- the service's own token --------------------------------------------------- */

static int service_auth_sign(service_auth *a)
{
    int64_t now = (int64_t)time(NULL);
    auth_claims c = {.issuer = a->issuer,
                     .audience = a->audience,
                     .subject = a->subject,
                     .role = "service",
                     .issued_at = now,
                     .not_before = now - 60,
                     .expires = now + SERVICE_TOKEN_TTL_S};
    char *token = NULL, *value = NULL;
    int rc = auth_sign(a->signer, &c, &token);

    if (rc == 0 && asprintf(&value, "Bearer %s", token) < 0)
        rc = -ENOMEM;
    free(token);
    if (rc != 0) {
        log_fmt(LOG_LEVEL_ERROR, "signing the service's own token failed: %s", strerror(-rc));
        return rc;
    }
    free(a->peer_authorization);
    a->peer_authorization = value;
    return 0;
}

static void service_auth_on_renew(uv_timer_t *t)
{
    service_auth *a = t->data;
    if (service_auth_sign(a) == 0 && a->renewed)
        a->renewed(a->renewed_arg, a->peer_authorization);
}

const char *service__auth_peer_authorization(const service_auth *a)
{
    return a ? a->peer_authorization : NULL;
}

void service__auth_on_renew(service_auth *a, void (*renewed)(void *arg, const char *value),
                            void *arg)
{
    a->renewed = renewed;
    a->renewed_arg = arg;
}

/* ---- open and close -------------------------------------------------------------- */

static int service_auth_open_verifier(service_auth *a, const config *cfg)
{
    char err[512] = "";
    auth_keys *keys = NULL;

    if (cfg->auth_keys_file[0] == '\0') {
        log_fmt(LOG_LEVEL_ERROR,
                "COMPACT_AUTH_KEYS_FILE is not set: the service will not start without the "
                "public keys its callers' tokens are checked with (or, for a local run only, "
                "COMPACT_AUTH=off)");
        return -EINVAL;
    }
    int rc = auth_keys_load(cfg->auth_keys_file, &keys, err, sizeof err);
    if (rc != 0) {
        log_fmt(LOG_LEVEL_ERROR, "COMPACT_AUTH_KEYS_FILE: %s", err);
        return rc;
    }
    auth_verifier_options o = {.keys = keys,
                               .issuer = cfg->auth_issuer,
                               .audience = cfg->auth_audience,
                               .clock_skew_seconds = cfg->auth_clock_skew_seconds};
    rc = auth_verifier_new(&o, &a->verifier);
    if (rc == 0)
        log_fmt(LOG_LEVEL_INFO, "authentication on: %zu trusted keys, issuer %s, audience %s",
                auth_keys_count(keys), cfg->auth_issuer, cfg->auth_audience);
    return rc;
}

static int service_auth_open_signer(service_auth *a, const config *cfg)
{
    char err[512] = "";

    if (cfg->auth_service_key_file[0] == '\0') {
        if (a->on && a->def->peers && a->def->peers[0]) {
            log_fmt(LOG_LEVEL_ERROR,
                    "COMPACT_AUTH_SERVICE_KEY_FILE is not set: %s calls %s, which requires a "
                    "token; give the service its key (and COMPACT_AUTH_SERVICE_KID)",
                    a->def->name, a->def->peers[0]);
            return -EINVAL;
        }
        return 0;
    }
    int rc = auth_signer_load(cfg->auth_service_key_file,
                              cfg->auth_service_kid[0] ? cfg->auth_service_kid : a->def->name,
                              &a->signer, err, sizeof err);
    if (rc != 0) {
        log_fmt(LOG_LEVEL_ERROR, "COMPACT_AUTH_SERVICE_KEY_FILE: %s", err);
        return rc;
    }
    return service_auth_sign(a);
}

int service__auth_open(const service_def *def, const config *cfg, uv_loop_t *loop, service *svc,
                       service_auth **out)
{
    char err[512] = "";
    service_auth *a = calloc(1, sizeof *a);
    int rc = 0;

    if (a == NULL)
        return -ENOMEM;
    a->def = def;
    a->svc = svc;
    a->on = cfg->auth_on;
    snprintf(a->issuer, sizeof a->issuer, "%s", cfg->auth_issuer);
    snprintf(a->audience, sizeof a->audience, "%s", cfg->auth_audience);
    snprintf(a->subject, sizeof a->subject, "service:%s", def->name);
    if (auth_rules_check(def->rules, def->descriptor, err, sizeof err) != 0 ||
        auth_rules_check(service__audit_rules, &compact__audit__v1__audit__descriptor, err,
                         sizeof err) != 0) {
        log_fmt(LOG_LEVEL_ERROR, "the rule table does not fit the API: %s", err);
        rc = -EINVAL;
    }
    if (rc == 0 && a->on)
        rc = service_auth_open_verifier(a, cfg);
    if (rc == 0 && !a->on)
        log_fmt(LOG_LEVEL_WARN,
                "AUTHENTICATION IS OFF (COMPACT_AUTH=off): anyone who reaches this port may read "
                "and change everything, unrecorded. For a local run only; never deploy so.");
    if (rc == 0)
        rc = service_auth_open_signer(a, cfg);
    if (rc != 0) {
        service__auth_close(a);
        return rc;
    }
    uv_timer_init(loop, &a->renew);
    a->renew.data = a;
    a->timer_open = 1;
    if (a->signer)
        uv_timer_start(&a->renew, service_auth_on_renew, SERVICE_TOKEN_RENEW_S * 1000,
                       SERVICE_TOKEN_RENEW_S * 1000);
    uv_unref((uv_handle_t *)&a->renew);
    *out = a;
    return 0;
}

static void service_auth_free(service_auth *a)
{
    auth_verifier_free(a->verifier);
    auth_signer_free(a->signer);
    free(a->peer_authorization);
    free(a);
}

static void service_auth_timer_closed(uv_handle_t *h)
{
    service_auth_free(h->data);
}

void service__auth_close(service_auth *a)
{
    if (a == NULL)
        return;
    if (!a->timer_open) {
        service_auth_free(a);
        return;
    }
    uv_close((uv_handle_t *)&a->renew, service_auth_timer_closed);
}

/* ---- --auth-rules ------------------------------------------------------------------- */

static void service_auth_print_roles(const char *name, unsigned roles)
{
    int first = 1;
    printf("\"%s\":[", name);
    for (unsigned bit = 1; bit & AUTH_ROLES_ALL; bit <<= 1)
        if (roles & bit) {
            printf("%s\"%s\"", first ? "" : ",", auth_role_name(bit));
            first = 0;
        }
    printf("]");
}

static void service_auth_print_table(const ProtobufCServiceDescriptor *d, const auth_rule *rules)
{
    printf("{\"service\":\"%s\",\"rules\":[", d->name);
    for (unsigned i = 0; i < d->n_methods; i++) {
        const auth_rule *r = auth_rules_find(rules, d->methods[i].name);
        printf("%s{\"method\":\"%s\",", i ? "," : "", d->methods[i].name);
        service_auth_print_roles("roles", r ? r->roles : 0);
        printf(",");
        service_auth_print_roles("scoped", r ? r->scoped : 0);
        printf(",\"entity\":%s%s%s,\"group\":%s%s%s,\"check\":%s,\"read\":%s,\"empty_ok\":%s}",
               r && r->entity ? "\"" : "", r && r->entity ? r->entity : "null",
               r && r->entity ? "\"" : "", r && r->group ? "\"" : "",
               r && r->group ? r->group : "null", r && r->group ? "\"" : "",
               r && r->check ? "true" : "false",
               r && (r->flags & AUTH_RULE_READ) ? "true" : "false",
               r && (r->flags & AUTH_RULE_EMPTY_OK) ? "true" : "false");
    }
    printf("]}");
}

int service__auth_print_rules(const service_def *def)
{
    printf("[");
    service_auth_print_table(def->descriptor, def->rules);
    printf(",");
    service_auth_print_table(&compact__audit__v1__audit__descriptor, service__audit_rules);
    printf("]\n");
    return 0;
}

/* service_internal.h: what service.c shares with service_auth.c and
 * audit.c, and nobody else includes. */
#ifndef COMPACT_SERVICE_INTERNAL_H
#define COMPACT_SERVICE_INTERNAL_H

#include "compact/audit/v1/audit.pb-c.h"
#include "rule.h"
#include "service.h"

/* ---- service_auth.c: tokens, the gate, the service's own token ---------- */

typedef struct service_auth service_auth;

/* Reads the keys file (COMPACT_AUTH on) and the service's own signing key,
 * checks the rule tables against the descriptors, and arms the renewal of
 * the service's token on `loop`. `svc` is what rules' check functions get.
 * Returns 0 and sets *out, or a negative errno after logging why (the
 * service then does not start: fail closed). */
int service__auth_open(const service_def *def, const config *cfg, uv_loop_t *loop, service *svc,
                       service_auth **out);

/* The gate for the service's server (rpc_server_set_gate). */
void service__auth_gate(service_auth *a, rpc_gate *gate);

/* "Bearer <token>" of the service itself, for its calls to peers, or NULL
 * when it has no signing key. `renewed`, if set, runs with the new value
 * every time the token is made again (before the old one expires). */
const char *service__auth_peer_authorization(const service_auth *a);
void service__auth_on_renew(service_auth *a, void (*renewed)(void *arg, const char *value),
                            void *arg);

/* Stops the renewal and frees everything once its timer is closed (the
 * loop must run on). NULL is a no-op. */
void service__auth_close(service_auth *a);

/* Prints the rule tables of `def` and of the runtime's services as JSON on
 * stdout (--auth-rules). Returns the exit code. */
int service__auth_print_rules(const service_def *def);

/* ---- audit.c: compact.audit.v1.Audit ------------------------------------- */

extern const auth_rule service__audit_rules[];

/* Registers the Audit service on `srv`, reading `svc`'s store. */
int service__audit_register(rpc_server *srv, service *svc);

#endif

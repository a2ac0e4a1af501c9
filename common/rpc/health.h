/* health.h: grpc.health.v1.Health, Check and Watch.
 *
 * The overall status (service name "") and the service's own full name (for
 * instance "compact.membership.v1.Membership") share one status: SERVING
 * while the service's store works, NOT_SERVING when it does not and from the
 * first moment of shutdown. Redis plays no part: the cache is optional.
 * Watch sends the current status at once and again on every change; at
 * shutdown it sends NOT_SERVING and ends the stream, so that watchers never
 * hold the server's grace period.
 */
#ifndef COMPACT_HEALTH_H
#define COMPACT_HEALTH_H

#include "rpc.h"

typedef struct health health;

/* Registers the Health service on `srv` for `service_names` (NULL-terminated;
 * "" is always known). Starts NOT_SERVING. Returns 0 or a negative errno. */
int health_new(rpc_server *srv, const char *const *service_names, health **out);

/* Sets the status of every name; watchers hear of a change. */
void health_set_serving(health *h, int serving);
int health_serving(const health *h);

/* NOT_SERVING for good, and ends every Watch stream. Call at shutdown start. */
void health_shutdown(health *h);

/* Frees after the server is gone. NULL is a no-op. */
void health_free(health *h);

/* Client side, for --health-probe and compactctl: asks `target` for the
 * status of `service` with a deadline, on a private loop. Returns 1 SERVING,
 * 0 NOT_SERVING or a name the server does not know, -ECONNREFUSED when
 * unreachable, -ETIMEDOUT when no answer came in time, -EPROTO otherwise. */
int health_probe(const char *target, const char *service, int timeout_ms);

/* The same over TLS when `tls` is not NULL (rpc.h: rpc_tls). */
int health_probe_tls(const char *target, const rpc_tls *tls, const char *service, int timeout_ms);

#endif

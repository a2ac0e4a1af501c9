/* catalog.h: the Compact's services, their APIs and their ports, in one place.
 *
 * Every program reads the same table: a service finds its default port here,
 * a client (compactctl, a peer) its default address, so that a suite on one
 * host needs no flags and no two lists can disagree. Adding a service is a
 * row here.
 */
#ifndef COMPACT_CATALOG_H
#define COMPACT_CATALOG_H

typedef struct catalog_service {
    const char *name; /* "membership": binary compact-<name>, COMPACT_<NAME>_ADDR */
    const char *api;  /* "compact.membership.v1.Membership" */
    int port;         /* default gRPC port */
    int metrics_port; /* the port scripts/run.sh gives GET /metrics */
    int http_port;    /* default port of the service's web pages; 0: it has none */
} catalog_service;

/* The services, ending with a row whose name is NULL. */
extern const catalog_service catalog_services[];

/* The row of service `name`, or NULL (also for a NULL name). */
const catalog_service *catalog_find(const char *name);

#endif

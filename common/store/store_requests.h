/* store_requests.h: the answers a service gave, by the client's request id.
 *
 * A client that retries a create or a record after losing the reply must not
 * create or count twice. It names its request with a request id (AIP-155);
 * the service keeps, in the same transaction as the change, the id, the
 * method, a digest of the request and the packed reply, so that a repeat of
 * the request gets the first answer again and a different request under the
 * same id is told apart. Entries are kept for STORE_REQUESTS_KEEP_HOURS
 * (pruned a few at a time as new ones come in).
 *
 * The table is the component "requests" of the service's store
 * (store_requests_migrate). Loop thread only, like the store.
 */
#ifndef COMPACT_STORE_REQUESTS_H
#define COMPACT_STORE_REQUESTS_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define STORE_REQUESTS_KEEP_HOURS 24
#define STORE_REQUEST_ID_MAX 64 /* characters of a request id */

/* Creates or upgrades the table. Returns 0 or what store_migrate returns. */
int store_requests_migrate(store *st);

/* A kept answer; store_requests_get fills it, store_requests_free frees it. */
typedef struct store_request {
    char *method;    /* the full method path it was given to */
    uint64_t digest; /* of the request, as store_requests_digest made it */
    uint8_t *reply;  /* the packed reply */
    size_t reply_len;
} store_request;

/* The answer kept for `request_id`: 0 and *out, -ENOENT, or a negative
 * errno. */
int store_requests_get(store *st, const char *request_id, store_request *out);

void store_requests_free(store_request *r);

/* Keeps the answer to `request_id` inside the caller's open transaction (it
 * commits or vanishes with the change), and prunes a few expired ones.
 * Returns 0, -EEXIST if the id is taken, or a negative errno. */
int store_requests_put(store *st, const char *request_id, const char *method, uint64_t digest,
                       const void *reply, size_t reply_len);

/* A 64-bit FNV-1a digest of `len` bytes: what tells a repeat from another
 * request sent under the same id (not a security measure). */
uint64_t store_requests_digest(const void *bytes, size_t len);

#endif

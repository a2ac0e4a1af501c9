/* status.h: the gRPC status of a failure inside a handler.
 *
 * Inside common/ and the stores, errors are negative errno values; a handler
 * turns them into a gRPC status only here, at the RPC edge, so that every
 * service answers a full disk, a lost race or a missing row the same way:
 *
 *   UNAVAILABLE  what a retry may cure: -EIO -EBUSY -EAGAIN -ENOSPC -EROFS
 *                -ETIMEDOUT -ECANCELED
 *   ABORTED      a lost race: -ESTALE (the row changed), -EEXIST (a key was
 *                taken meanwhile)
 *   INTERNAL     the rest (-ENOMEM, bugs)
 *
 * The status_fail_* functions end the call (rpc_call_fail); the handler then
 * just returns.
 */
#ifndef COMPACT_STATUS_H
#define COMPACT_STATUS_H

#include "rpc.h"

/* The code for store (or memory) error `rc` (a negative errno), per the
 * table above. */
rpc_code status_of_errno(int rc);

/* Fails the call with status_of_errno(rc) and the message
 * "store: <what> (<strerror>)". */
void status_fail_store(rpc_call *call, int rc, const char *what);

/* Fails the call with NOT_FOUND: "<field>: no <noun> with <label> \"<value>\""
 * ("id: no entity with id \"ent_...\""). */
void status_fail_not_found(rpc_call *call, const char *field, const char *noun, const char *label,
                           const char *value);

#endif

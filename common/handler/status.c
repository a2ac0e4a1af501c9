/* status.c: the gRPC status of a failure inside a handler (see status.h). */
#include "status.h"

#include <errno.h>
#include <string.h>

rpc_code status_of_errno(int rc)
{
    switch (rc) {
    case -EIO:
    case -EBUSY:
    case -EAGAIN:
    case -ENOSPC:
    case -EROFS:
    case -ETIMEDOUT:
    case -ECANCELED:
        return RPC_UNAVAILABLE;
    case -ESTALE:
    case -EEXIST:
        return RPC_ABORTED;
    default:
        return RPC_INTERNAL;
    }
}

void status_fail_store(rpc_call *call, int rc, const char *what)
{
    rpc_call_fail(call, status_of_errno(rc), "store: %s (%s)", what, strerror(-rc));
}

void status_fail_not_found(rpc_call *call, const char *field, const char *noun, const char *label,
                           const char *value)
{
    rpc_call_fail(call, RPC_NOT_FOUND, "%s: no %s with %s \"%s\"", field, noun, label, value);
}

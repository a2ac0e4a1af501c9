/* reflection.h: gRPC server reflection from the descriptor set embedded at
 * build time (protoc --include_imports --descriptor_set_out), so that
 * `grpcurl -plaintext HOST:PORT list` and `describe` work with no proto files
 * at hand. Serves both grpc.reflection.v1alpha and grpc.reflection.v1.
 */
#ifndef COMPACT_REFLECTION_H
#define COMPACT_REFLECTION_H

#include "rpc.h"

typedef struct reflection reflection;

/* Registers ServerReflection (v1alpha and v1) on `srv`, listing
 * `service_names` (NULL-terminated full names; list the health and reflection
 * services too if they should be listed). Returns 0 or a negative errno
 * (-EINVAL if the embedded descriptor set does not parse). */
int reflection_new(rpc_server *srv, const char *const *service_names, reflection **out);

/* Frees after the server is gone. NULL is a no-op. */
void reflection_free(reflection *r);

#endif

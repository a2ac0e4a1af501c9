/* reflection.h: gRPC server reflection from the descriptor set embedded at
 * build time (protoc --include_imports --descriptor_set_out), so that
 * `grpcurl -plaintext HOST:PORT list` and `describe` work with no proto files
 * at hand. Serves both grpc.reflection.v1alpha and grpc.reflection.v1.
 */
#ifndef COMPACT_REFLECTION_H
#define COMPACT_REFLECTION_H

#include "rpc.h"

/* Registers ServerReflection on `srv`, listing `service_names` (NULL-
 * terminated full names; the reflection and health services are added).
 * Returns 0 or a negative errno. */
int reflection_register(rpc_server *srv, const char *const *service_names);

#endif

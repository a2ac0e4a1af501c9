/* fuzz_service.h: the engine of the service harnesses (fuzz_membership.c,
 * fuzz_workgroups.c, fuzz_projects.c): every method of a service's table,
 * from request bytes to the answer, with no gRPC and no network.
 *
 * An input is one byte that picks a row of the service's method table (its
 * value modulo the number of rows) and the request's bytes. The bytes are
 * decoded as the server decodes them (rpc__unpack, the runtime's own
 * decoder); a request that does not decode is what the server refuses
 * before any handler runs, so the input ends there. Otherwise a fresh
 * service is opened in process (service_open_for_test: an in-memory store,
 * a cache where no Redis listens, no peers), the harness's fixtures are
 * written, the handler runs on a local call (rpc_call_new_local), the loop
 * runs until the call is answered, and the service is closed again: every
 * input starts from the same state, so a crash reproduces from its input
 * alone.
 *
 * What counts as a bug, besides what the sanitizers and assert() report:
 *   - a call not answered within FUZZ_SERVICE_ANSWER_MS, or answered twice
 *     (a local call is freed once answered, so AddressSanitizer reports a
 *     second end as a use after free);
 *   - an OK answer whose bytes do not unpack as the method's output, or a
 *     failure with a reply, an empty message or a code outside the guide;
 *   - a request changed by its handler (it is const: it belongs to the
 *     runtime);
 *   - a loop left with open handles when the service is closed.
 * Each is reported on stderr and ends the process with abort(), which
 * libFuzzer records as a crash with its input.
 */
#ifndef COMPACT_FUZZ_SERVICE_H
#define COMPACT_FUZZ_SERVICE_H

#include <stddef.h>
#include <stdint.h>

#include "service.h"

#define FUZZ_SERVICE_ANSWER_MS 10000

/* Writes the harness's fixtures (aggregates with fixed ids that the seed
 * corpus names) into the fresh service's store. Returns 0 or a negative
 * errno (the harness then aborts: the fixtures are the harness's own). */
typedef int (*fuzz_service_fixtures_fn)(service *svc);

/* Sets logging up for the service (level from COMPACT_LOG_LEVEL, "error"
 * when unset, so that a run is not drowned in expected warnings; "debug"
 * also logs every answer). From LLVMFuzzerInitialize. */
void fuzz_service_init(const service_def *def);

/* Runs one input against `def` (see the top of the file). `fixtures` may be
 * NULL. Returns 0, as LLVMFuzzerTestOneInput must. */
int fuzz_service_run(const service_def *def, fuzz_service_fixtures_fn fixtures, const uint8_t *data,
                     size_t size);

/* Inside a fixtures function: runs `fn` inside one store transaction and
 * commits it. Returns 0 or a negative errno. */
int fuzz_service_write(service *svc, int (*fn)(store *st, void *arg), void *arg);

/* Frees a string field the store set on a fixture built from constants
 * (an etag), and puts the empty string back. */
void fuzz_service_reset_string(char **field);

#endif

/* pbtime.h: google.protobuf.Timestamp and milliseconds since the epoch.
 *
 * The store keeps times as INTEGER milliseconds since the Unix epoch (UTC);
 * messages carry them as malloc'd Timestamp sub-messages, so that a message
 * built from a row frees like an unpacked one
 * (protobuf_c_message_free_unpacked).
 */
#ifndef COMPACT_PBTIME_H
#define COMPACT_PBTIME_H

#include <stdint.h>

#include "google/protobuf/timestamp.pb-c.h"

/* Milliseconds since the epoch, from the real-time clock. */
int64_t pbtime_now_ms(void);

/* A new Timestamp for `ms`; the caller frees it with
 * protobuf_c_message_free_unpacked(). NULL if memory ran out. */
Google__Protobuf__Timestamp *pbtime_new(int64_t ms);

/* The milliseconds of `ts` (nanoseconds below a millisecond dropped); 0 for
 * NULL. */
int64_t pbtime_ms(const Google__Protobuf__Timestamp *ts);

/* Points *field at a new Timestamp for `ms` and frees the old one (if any).
 * Returns 0, or -ENOMEM with *field unchanged. */
int pbtime_set(Google__Protobuf__Timestamp **field, int64_t ms);

#endif

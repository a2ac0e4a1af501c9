/* fault.h: fault injection points that do nothing in production.
 *
 * Tests arm points through the environment variable COMPACT_FAULTS, a comma
 * list of "point" or "point=value" read once at start, for instance
 *   COMPACT_FAULTS=store.probe,redis.delay_ms=500
 * Known points:
 *   store.probe      store_check() reports the store unusable
 *   store.commit     store_commit() fails (the write must not be acknowledged)
 *   store.batch_commit  the COMMIT of every batch of a loop turn's writes
 *                    fails (store.c): each write of the turn fails, none kept
 *   store.sync       every flush of the WAL fails (store_sync.c)
 *   store.sync_delay_ms  every flush of the WAL takes this much longer
 *   redis.delay_ms   every Redis command is held this long before it is sent
 *   peer.delay_ms    every peer check's outcome is handed on this much later
 * An unarmed point costs one array scan of an empty array.
 */
#ifndef COMPACT_FAULT_H
#define COMPACT_FAULT_H

/* Reads COMPACT_FAULTS. Returns 0, or -EINVAL for a malformed list. */
int fault_init(void);

/* 1 if `point` is armed. */
int fault_armed(const char *point);

/* The value of an armed "point=value" as an integer, or `dflt`. */
long fault_value(const char *point, long dflt);

#endif

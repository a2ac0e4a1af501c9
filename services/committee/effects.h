/* effects.h: a decision's effects, carried out in the owning services, once.
 *
 * The executor takes the oldest decision with a PENDING effect and carries
 * out its first pending effect: one gRPC call to the owning service
 * (workgroups, projects) with the effect's decision_ref, the idempotency key
 * that service keeps on what it records and checks on every call. Then, in
 * one transaction, the effect's outcome goes into the decision:
 *
 *   OK                 APPLIED, with what was made (result_id)
 *   refused            FAILED, with the status and message (INVALID_ARGUMENT,
 *                      FAILED_PRECONDITION, NOT_FOUND, ALREADY_EXISTS, ...):
 *                      the data does not allow it; RetryDecision tries again
 *   passing trouble    still PENDING, attempts and last_error kept (the
 *                      first of a run and every 20th: EFFECTS_RECORD_EVERY);
 *                      tried again after a backoff (1 s doubling to 30 s)
 *                      (UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED,
 *                      ABORTED, INTERNAL, DATA_LOSS, CANCELLED)
 *
 * Exactly once: every attempt starts after a flush, so an effect is only
 * carried out once its decision is on disk (store_sync), and a crash anywhere between the call and the record of its
 * outcome only means the call is made again, which the owner answers from
 * what it recorded the first time. Effects run one at a time, in the order
 * the decisions were taken: a group is established before its terms of
 * reference are approved.
 *
 * Fault point "committee.crash_after_effect" (tests): the process kills
 * itself (SIGKILL) right after the owning service answered OK and before
 * the outcome is recorded.
 */
#ifndef COMPACT_COMMITTEE_EFFECTS_H
#define COMPACT_COMMITTEE_EFFECTS_H

#include "committee.h"

#define EFFECTS_BACKOFF_MIN_MS 1000
#define EFFECTS_BACKOFF_MAX_MS 30000
/* Of a run of passing failures of one effect, the first and every this
 * many-th are written into the decision (about every 10 minutes at the
 * longest backoff): a long outage does not fill the outbox. */
#define EFFECTS_RECORD_EVERY 20

/* 0 and *out (it starts with whatever is pending), or -ENOMEM. */
int effects_start(service *svc, effects **out);

/* Decisions were recorded or retried: work soon. */
void effects_wake(effects *fx);

/* Stops after the call in flight, if any; `cb` runs once when nothing is
 * left open, and the executor is gone. NULL runs `cb` at once. */
void effects_stop(effects *fx, void (*cb)(void *arg), void *arg);

#endif

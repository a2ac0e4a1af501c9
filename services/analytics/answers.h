/* answers.h: analytics' replies, built once per change of the figures.
 *
 * Every question (an RPC, or the same question over the web's JSON API) is
 * an answer_question. answers_get builds the reply message from the model,
 * packs it as protobuf or renders it as proto3 JSON, and keeps the result
 * until the figures, the alerts or the sources' reachability change, so
 * that a dashboard asked a thousand times a second between two events
 * builds each answer once. The RPCs and the web share the messages, so the
 * two can never disagree.
 */
#ifndef COMPACT_ANALYTICS_ANSWERS_H
#define COMPACT_ANALYTICS_ANSWERS_H

#include <stddef.h>

#include "analytics.h"
#include "arena.h"

#define ANSWERS_CACHED 32
#define ANSWERS_ALERTS_MAX 100
#define ANSWERS_ALERTS_DEFAULT 20
#define ANSWERS_MONTHS_MAX 120
#define ANSWERS_MONTHS_DEFAULT 24
#define ANSWERS_PROJECTS_MAX 200 /* Monitoring.by_project */

typedef enum answer_kind {
    ANSWER_OVERVIEW,
    ANSWER_FUNDING,
    ANSWER_PARTICIPATION,
    ANSWER_COVERAGE,
    ANSWER_ALERTS,
    ANSWER_MONITORING,
    ANSWER_ACTIVITY,
} answer_kind;

typedef enum answer_format {
    ANSWER_PROTOBUF,
    ANSWER_JSON,
} answer_format;

/* A question, checked already (handlers.c and web.c check their input). */
typedef struct answer_question {
    answer_kind kind;
    int year, pillar;
    char group_id[FACTS_KEY_SIZE];
    int by;     /* ANSWER_FUNDING: compact.analytics.v1.BreakdownBy, not 0 */
    int limit;  /* ANSWER_ALERTS: 1..ANSWERS_ALERTS_MAX */
    int months; /* ANSWER_ACTIVITY: 1..ANSWERS_MONTHS_MAX */
} answer_question;

/* 0 and *out, or -ENOMEM. */
int answers_new(analytics *a, answers **out);
void answers_free(answers *as);

/* The answer to `q` in `format`: 0 with *data and *len valid until the
 * next answers_get, or a negative errno (-ENOMEM, -EIO: the store failed). */
int answers_get(answers *as, const answer_question *q, answer_format format, const void **data,
                size_t *len);

/* The reply message itself (WatchOverview writes messages), with all it
 * points to in one arena (but an alert's strings, which stay the alert
 * list's until the alerts next change: use the reply at once): 0 with *msg
 * and *ar (the caller frees the lot with arena_free), or a negative errno as
 * answers_get. */
int answers_build(answers *as, const answer_question *q, arena **ar, ProtobufCMessage **msg);

#endif

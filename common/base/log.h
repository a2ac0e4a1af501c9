/* log.h: JSON lines on stderr, one object per line.
 *
 *   {"time":"2026-11-30T03:19:51.123Z","level":"info","service":"membership",
 *    "msg":"call","method":"/compact.membership.v1.Membership/GetEntity",
 *    "code":"OK","duration_ms":0.21}
 *
 * Loop thread and CQ thread may both log: each line is built in a local
 * buffer and written with one write(2), so lines never interleave.
 *
 * The batch. One line per call, each with a write(2) of its own, cost a
 * busy service 12-17% of its throughput (bench/RESULTS.md, "The access log").
 * So one thread (the loop) may open the batch: from then on the call lines
 * it logs are kept in a buffer and written many at a time, when the buffer
 * is full or when its owner calls log_batch_flush() (the runtime does, on a
 * timer: rpc_access_log.c). Every other line that thread logs first flushes
 * the batch, so its lines still come out in order; other threads write
 * directly as before. A batch is written at line ends in pieces of at most
 * PIPE_BUF bytes when stderr is a pipe or socket, so that a line of another
 * thread can never land inside one of ours.
 */
#ifndef COMPACT_LOG_H
#define COMPACT_LOG_H

#include <stddef.h>

typedef enum log_level {
    LOG_LEVEL_DEBUG = 0,
    LOG_LEVEL_INFO = 1,
    LOG_LEVEL_WARN = 2,
    LOG_LEVEL_ERROR = 3,
} log_level;

/* Sets the service name and the lowest level written. Before any logging;
 * defaults: service "compact", level info. `service` must outlive logging. */
void log_init(const char *service, log_level level);

/* "debug", "info", "warn"/"warning", "error" -> 0 and *out; else -EINVAL. */
int log_level_parse(const char *s, log_level *out);

/* 1 if a message at `level` would be written. */
int log_enabled(log_level level);

/* A message with optional extra fields given as "key", "value" string pairs
 * ending with NULL: log_msg(LOG_LEVEL_WARN, "redis down", "addr", addr, NULL). */
void log_msg(log_level level, const char *msg, ...) __attribute__((sentinel));

/* printf-style message, no extra fields. */
void log_fmt(log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The per-call line: method, status code name, duration, and for failed
 * calls the status message. Level info for OK, warn for server-side codes
 * (INTERNAL, UNAVAILABLE, DATA_LOSS, UNKNOWN, DEADLINE_EXCEEDED), info else. */
void log_call(const char *method, int code, const char *code_name, double duration_ms,
              const char *message);

/* Opens the batch (see the top) for the calling thread, holding up to
 * `bytes` of call lines (at least a few lines' worth). Opens nest: each
 * log_batch_begin() needs a log_batch_end(). 0; -EBUSY when another thread
 * owns the batch (that caller's lines are then written directly); -ENOMEM. */
int log_batch_begin(size_t bytes);

/* Writes what the batch holds. Owner thread only (a no-op elsewhere). */
void log_batch_flush(void);

/* Bytes waiting in the batch (0 on any thread but its owner). */
size_t log_batch_pending(void);

/* Undoes one log_batch_begin(); the last one flushes and frees the batch. */
void log_batch_end(void);

#endif

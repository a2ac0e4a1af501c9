/* log.c: JSON lines on stderr.
 *
 * A line is built in a buffer on the caller's stack and written with one
 * write(2). The buffer is PIPE_BUF bytes: a write of at most PIPE_BUF bytes
 * to a pipe (what a container runtime gives us as stderr) is atomic, so two
 * threads logging at once never interleave. A line that would be longer is
 * cut at a character boundary, closed properly and marked "truncated":true,
 * so every line stays valid JSON.
 *
 * Strings are escaped for JSON; bytes that are not valid UTF-8 become
 * U+FFFD, so a line is valid JSON whatever a caller hands us.
 *
 * The service name and level are set by log_init() before any thread starts;
 * the level is an atomic anyway so that a late log_init() is not a race.
 *
 * Call lines are the hot path (one per RPC): the time's text is kept per
 * second and thread, strings without anything to escape are copied whole,
 * and the duration is printed without printf. The batch (log.h) belongs to
 * one thread and is touched by no other, so it needs no lock.
 */
#include "log.h"
#include "utf8.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX PIPE_BUF
/* Room kept at the end of every line for ',"truncated":true}' and '\n'. */
#define LOG_TAIL_RESERVE 24

static const char *log_service = "compact";
static atomic_int log_min_level = LOG_LEVEL_INFO;

static const char *const log_level_names[] = {
    [LOG_LEVEL_DEBUG] = "debug",
    [LOG_LEVEL_INFO] = "info",
    [LOG_LEVEL_WARN] = "warn",
    [LOG_LEVEL_ERROR] = "error",
};

/* One line under construction. `limit` is where content must stop so that
 * the closing tail always fits. */
typedef struct log_line {
    char buf[LOG_LINE_MAX];
    size_t len;
    size_t limit;
    int truncated;
} log_line;

/* ---- building a line ---------------------------------------------------- */

static int log_line_room(const log_line *ln, size_t n)
{
    return ln->len + n <= ln->limit;
}

/* Appends raw bytes if they fit entirely; otherwise marks the line truncated. */
static int log_line_raw(log_line *ln, const char *s, size_t n)
{
    if (ln->truncated || !log_line_room(ln, n)) {
        ln->truncated = 1;
        return -1;
    }
    memcpy(ln->buf + ln->len, s, n);
    ln->len += n;
    return 0;
}

/* The JSON form of one unit starting at s: an escape, a valid UTF-8
 * sequence, or \ufffd for an invalid byte. Returns bytes consumed from s;
 * the output goes to out/outlen (out has room for 6). */
static size_t log_escape_unit(const unsigned char *s, size_t n, char *out, size_t *outlen)
{
    unsigned char c = s[0];
    size_t ulen;
    uint32_t cp;

    switch (c) {
    case '"':
        memcpy(out, "\\\"", 2);
        *outlen = 2;
        return 1;
    case '\\':
        memcpy(out, "\\\\", 2);
        *outlen = 2;
        return 1;
    case '\n':
        memcpy(out, "\\n", 2);
        *outlen = 2;
        return 1;
    case '\r':
        memcpy(out, "\\r", 2);
        *outlen = 2;
        return 1;
    case '\t':
        memcpy(out, "\\t", 2);
        *outlen = 2;
        return 1;
    case '\b':
        memcpy(out, "\\b", 2);
        *outlen = 2;
        return 1;
    case '\f':
        memcpy(out, "\\f", 2);
        *outlen = 2;
        return 1;
    default:
        break;
    }
    if (c < 0x20 || c == 0x7f) {
        snprintf(out, 7, "\\u%04x", c);
        *outlen = 6;
        return 1;
    }
    ulen = utf8_decode(s, n, &cp);
    if (ulen == 0) {
        memcpy(out, "\\ufffd", 6);
        *outlen = 6;
        return 1;
    }
    memcpy(out, s, ulen);
    *outlen = ulen;
    return ulen;
}

/* 1 for the bytes a JSON string takes as they are: printable ASCII other
 * than '"' (0x22) and '\\' (0x5c). 0, which ends a C string, is not one. A
 * table, since every access log line passes a dozen strings through it:
 * one load per byte, and the scan finds the string's end as it goes. */
static const unsigned char log_plain[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x00 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x10 */
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x20 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x30 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x40 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, /* 0x50 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x60 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, /* 0x70 */
    /* 0x80-0xff: UTF-8, checked unit by unit */
};

/* Length of the prefix of the C string p that JSON takes as it is. */
static size_t log_plain_prefix(const unsigned char *p)
{
    size_t i = 0;

    while (log_plain[p[i]])
        i++;
    return i;
}

/* Appends s as a quoted JSON string. If the line fills up, the string is cut
 * between two units, still closed, and the line marked truncated. */
static void log_line_string(log_line *ln, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t plain = log_plain_prefix(p);
    size_t n = p[plain] ? plain + strlen(s + plain) : plain;
    char unit[8];
    size_t ulen;

    /* Opening quote plus closing quote must fit, or nothing is written. */
    if (ln->truncated || !log_line_room(ln, 2)) {
        ln->truncated = 1;
        return;
    }
    ln->buf[ln->len++] = '"';
    if (plain > 0 && log_line_room(ln, plain + 1)) {
        memcpy(ln->buf + ln->len, p, plain);
        ln->len += plain;
        p += plain;
        n -= plain;
    }
    while (n > 0) {
        size_t used = log_escape_unit(p, n, unit, &ulen);
        if (!log_line_room(ln, ulen + 1)) {
            ln->truncated = 1;
            break;
        }
        memcpy(ln->buf + ln->len, unit, ulen);
        ln->len += ulen;
        p += used;
        n -= used;
    }
    ln->buf[ln->len++] = '"';
}

/* Appends ,"key":"value" (or "key":... for the first field). A field whose
 * key does not fit is dropped, and the line is marked truncated. */
static void log_line_field(log_line *ln, const char *key, const char *value)
{
    size_t before = ln->len;

    if (ln->truncated)
        return;
    if (log_line_raw(ln, ",", 1) < 0)
        return;
    log_line_string(ln, key);
    if (ln->truncated || log_line_raw(ln, ":", 1) < 0) {
        ln->len = before;
        return;
    }
    if (value)
        log_line_string(ln, value);
    else
        log_line_raw(ln, "null", 4);
}

/* Appends ,"key":<raw JSON text>. */
static void log_line_field_raw(log_line *ln, const char *key, const char *json)
{
    size_t before = ln->len;

    if (ln->truncated)
        return;
    if (log_line_raw(ln, ",", 1) < 0)
        return;
    log_line_string(ln, key);
    if (ln->truncated || log_line_raw(ln, ":", 1) < 0 || log_line_raw(ln, json, strlen(json)) < 0)
        ln->len = before;
}

/* The time as "2026-11-30T03:19:51.123Z". The part up to the seconds is
 * made once per second and thread. */
static void log_time_now(char *buf, size_t size)
{
    static _Thread_local time_t cached_sec = -1;
    static _Thread_local char cached[40];
    static _Thread_local size_t cached_len;
    struct timespec ts;
    struct tm tm;

    clock_gettime(CLOCK_REALTIME, &ts);
    if (ts.tv_sec != cached_sec) {
        gmtime_r(&ts.tv_sec, &tm);
        int n = snprintf(cached, sizeof cached, "%04d-%02d-%02dT%02d:%02d:%02d.", tm.tm_year + 1900,
                         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        cached_len = n > 0 && (size_t)n < sizeof cached ? (size_t)n : 0;
        cached_sec = ts.tv_sec;
    }
    long ms = ts.tv_nsec / 1000000L;
    if (cached_len == 0 || size < cached_len + 5) {
        snprintf(buf, size, "?");
        return;
    }
    memcpy(buf, cached, cached_len);
    buf[cached_len] = (char)('0' + ms / 100);
    buf[cached_len + 1] = (char)('0' + ms / 10 % 10);
    buf[cached_len + 2] = (char)('0' + ms % 10);
    buf[cached_len + 3] = 'Z';
    buf[cached_len + 4] = '\0';
}

/* Starts a line with time, level, service and msg. */
static void log_line_begin(log_line *ln, log_level level, const char *msg)
{
    char now[80];

    ln->len = 0;
    ln->limit = sizeof(ln->buf) - LOG_TAIL_RESERVE;
    ln->truncated = 0;
    log_time_now(now, sizeof(now));
    ln->buf[ln->len++] = '{';
    log_line_string(ln, "time");
    ln->buf[ln->len++] = ':';
    log_line_string(ln, now);
    log_line_field(ln, "level", log_level_names[level]);
    log_line_field(ln, "service", log_service);
    log_line_field(ln, "msg", msg ? msg : "");
}

/* Writes buf[0..len) to stderr, however many write(2)s it takes. */
static void log_write_all(const char *buf, size_t len)
{
    size_t off = 0;

    while (off < len) {
        ssize_t w = write(STDERR_FILENO, buf + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return; /* nowhere to report a failing stderr */
        off += (size_t)w;
    }
}

/* ---- the batch ---------------------------------------------------------- */

/* Owned by one thread (`owner`); see log.h. `opens` counts the begins. */
static struct log_batch {
    char *buf;
    size_t len, cap;
    pthread_t owner;
    int opens;
    int piecewise; /* stderr is a pipe or socket: PIPE_BUF pieces */
} log_batch;

static int log_batch_mine(void)
{
    return log_batch.opens > 0 && pthread_equal(log_batch.owner, pthread_self());
}

/* Writes buf[0..len) (whole lines) in pieces of at most PIPE_BUF bytes that
 * end at a line end. A line is never longer than PIPE_BUF (LOG_LINE_MAX). */
static void log_write_lines(const char *buf, size_t len)
{
    while (len > PIPE_BUF) {
        size_t piece = PIPE_BUF;
        while (piece > 0 && buf[piece - 1] != '\n')
            piece--;
        if (piece == 0)
            piece = PIPE_BUF; /* cannot happen: lines fit in PIPE_BUF */
        log_write_all(buf, piece);
        buf += piece;
        len -= piece;
    }
    log_write_all(buf, len);
}

static void log_batch_write(void)
{
    if (log_batch.len == 0)
        return;
    if (log_batch.piecewise)
        log_write_lines(log_batch.buf, log_batch.len);
    else
        log_write_all(log_batch.buf, log_batch.len);
    log_batch.len = 0;
}

int log_batch_begin(size_t bytes)
{
    struct stat st;

    if (log_batch.opens > 0) {
        if (!pthread_equal(log_batch.owner, pthread_self()))
            return -EBUSY;
        log_batch.opens++;
        return 0;
    }
    if (bytes < 4 * LOG_LINE_MAX)
        bytes = 4 * LOG_LINE_MAX;
    if ((log_batch.buf = malloc(bytes)) == NULL)
        return -ENOMEM;
    log_batch.cap = bytes;
    log_batch.len = 0;
    log_batch.owner = pthread_self();
    log_batch.piecewise =
        fstat(STDERR_FILENO, &st) != 0 || S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode);
    log_batch.opens = 1;
    return 0;
}

void log_batch_flush(void)
{
    if (log_batch_mine())
        log_batch_write();
}

size_t log_batch_pending(void)
{
    return log_batch_mine() ? log_batch.len : 0;
}

void log_batch_end(void)
{
    if (!log_batch_mine())
        return;
    if (--log_batch.opens > 0)
        return;
    log_batch_write();
    free(log_batch.buf);
    log_batch.buf = NULL;
    log_batch.cap = 0;
}

/* ---- writing a line ----------------------------------------------------- */

/* Closes the line. */
static void log_line_close(log_line *ln)
{
    const char *tail = ln->truncated ? ",\"truncated\":true}\n" : "}\n";
    size_t tlen = strlen(tail);

    memcpy(ln->buf + ln->len, tail, tlen);
    ln->len += tlen;
}

/* Closes the line and writes it with one write(2), after what the batch
 * holds when this thread owns it. */
static void log_line_emit(log_line *ln)
{
    log_line_close(ln);
    if (log_batch_mine())
        log_batch_write();
    log_write_all(ln->buf, ln->len);
}

/* Closes a call line and puts it in the batch if this thread owns one, or
 * writes it. */
static void log_line_emit_call(log_line *ln)
{
    log_line_close(ln);
    if (!log_batch_mine()) {
        log_write_all(ln->buf, ln->len);
        return;
    }
    if (log_batch.len + ln->len > log_batch.cap)
        log_batch_write();
    memcpy(log_batch.buf + log_batch.len, ln->buf, ln->len);
    log_batch.len += ln->len;
}

static int log_level_valid(log_level level)
{
    return level >= LOG_LEVEL_DEBUG && level <= LOG_LEVEL_ERROR;
}

/* ---- public interface --------------------------------------------------- */

void log_init(const char *service, log_level level)
{
    log_service = service ? service : "compact";
    atomic_store(&log_min_level, log_level_valid(level) ? (int)level : LOG_LEVEL_INFO);
}

int log_level_parse(const char *s, log_level *out)
{
    static const struct {
        const char *name;
        log_level level;
    } names[] = {
        {"debug", LOG_LEVEL_DEBUG},  {"info", LOG_LEVEL_INFO},   {"warn", LOG_LEVEL_WARN},
        {"warning", LOG_LEVEL_WARN}, {"error", LOG_LEVEL_ERROR},
    };

    if (!s)
        return -EINVAL;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcasecmp(s, names[i].name) == 0) {
            if (out)
                *out = names[i].level;
            return 0;
        }
    }
    return -EINVAL;
}

int log_enabled(log_level level)
{
    return log_level_valid(level) && (int)level >= atomic_load(&log_min_level);
}

void log_msg(log_level level, const char *msg, ...)
{
    log_line ln;
    va_list ap;
    const char *key;

    if (!log_enabled(level))
        return;
    log_line_begin(&ln, level, msg);
    va_start(ap, msg);
    while ((key = va_arg(ap, const char *)) != NULL) {
        const char *value = va_arg(ap, const char *);
        log_line_field(&ln, key, value);
        /* A NULL value is also where the caller's list ends. */
        if (!value)
            break;
    }
    va_end(ap);
    log_line_emit(&ln);
}

void log_fmt(log_level level, const char *fmt, ...)
{
    char msg[LOG_LINE_MAX];
    log_line ln;
    va_list ap;

    if (!log_enabled(level))
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    log_line_begin(&ln, level, msg);
    log_line_emit(&ln);
}

/* gRPC codes that point at the server rather than at the caller. */
static int log_code_server_side(int code)
{
    switch (code) {
    case 2:  /* UNKNOWN */
    case 4:  /* DEADLINE_EXCEEDED */
    case 13: /* INTERNAL */
    case 14: /* UNAVAILABLE */
    case 15: /* DATA_LOSS */
        return 1;
    default:
        return 0;
    }
}

/* `ms` (0 <= ms < 1e9) as "%.3f" prints it, rounded to the nearest
 * microsecond, without printf. */
static void log_format_ms(double ms, char *buf, size_t size)
{
    uint64_t us = (uint64_t)(ms * 1000.0 + 0.5);
    char digits[24];
    size_t n = 0, at = 0;

    do {
        digits[n++] = (char)('0' + us % 10);
        us /= 10;
    } while (us > 0 || n < 4); /* at least "0.000" */
    if (size < n + 2)
        return;
    while (n > 3)
        buf[at++] = digits[--n];
    buf[at++] = '.';
    while (n > 0)
        buf[at++] = digits[--n];
    buf[at] = '\0';
}

void log_call(const char *method, int code, const char *code_name, double duration_ms,
              const char *message)
{
    log_level level = log_code_server_side(code) ? LOG_LEVEL_WARN : LOG_LEVEL_INFO;
    char num[48];
    log_line ln;

    if (!log_enabled(level))
        return;
    log_line_begin(&ln, level, "call");
    log_line_field(&ln, "method", method ? method : "");
    if (code_name) {
        log_line_field(&ln, "code", code_name);
    } else {
        snprintf(num, sizeof(num), "%d", code);
        log_line_field_raw(&ln, "code", num);
    }
    /* %.3f of a huge value would not fit; %e is valid JSON too. */
    if (duration_ms >= 0 && duration_ms < 1e9)
        log_format_ms(duration_ms, num, sizeof num);
    else if (isfinite(duration_ms) && fabs(duration_ms) < 1e15)
        snprintf(num, sizeof(num), "%.3f", duration_ms);
    else if (isfinite(duration_ms))
        snprintf(num, sizeof(num), "%.6e", duration_ms);
    else
        snprintf(num, sizeof(num), "null");
    log_line_field_raw(&ln, "duration_ms", num);
    if (message && *message)
        log_line_field(&ln, "message", message);
    log_line_emit_call(&ln);
}

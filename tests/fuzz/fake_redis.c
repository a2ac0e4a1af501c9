/* fake_redis.c: just enough of a Redis server (see fake_redis.h).
 *
 * One struct per connection holds what has been read and not yet parsed; a
 * request is parsed only once it is complete, so a request split across
 * reads waits for the rest. Each answer is one uv_write of its own buffer,
 * freed in the write callback; libuv keeps writes on a stream in order.
 */
#include "fake_redis.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define FAKE_REDIS_ARGS_MAX 64

typedef struct fake_conn {
    uv_tcp_t tcp; /* first: the handle's callbacks cast back */
    fake_redis *owner;
    struct fake_conn *prev, *next;
    char *buf; /* read, not yet parsed */
    size_t len, cap;
} fake_conn;

struct fake_redis {
    int fd; /* until fake_redis_start hands it to `listener` */
    int port;
    uv_tcp_t listener;
    int started;
    fake_conn *conns;
    char *value; /* NULL: nil */
    size_t value_len;
    uint64_t gets;
    int closing, listener_closed;
};

static void fake_redis_maybe_free(fake_redis *r);

typedef struct fake_write {
    uv_write_t req;
    char data[]; /* the answer */
} fake_write;

int fake_redis_new(fake_redis **out)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof sa;
    fake_redis *r = calloc(1, sizeof *r);

    if (r == NULL)
        return -ENOMEM;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    r->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (r->fd < 0 || bind(r->fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        listen(r->fd, 16) != 0 || getsockname(r->fd, (struct sockaddr *)&sa, &len) != 0) {
        int rc = -errno;
        if (r->fd >= 0)
            close(r->fd);
        free(r);
        return rc;
    }
    r->port = ntohs(sa.sin_port);
    *out = r;
    return 0;
}

int fake_redis_port(const fake_redis *r)
{
    return r->port;
}

uint64_t fake_redis_gets(const fake_redis *r)
{
    return r->gets;
}

int fake_redis_set_value(fake_redis *r, const void *value, size_t len)
{
    char *copy = NULL;

    if (value != NULL && (copy = malloc(len ? len : 1)) == NULL)
        return -ENOMEM;
    if (copy)
        memcpy(copy, value, len);
    free(r->value);
    r->value = copy;
    r->value_len = len;
    return 0;
}

/* ---- answers ------------------------------------------------------------- */

static void on_written(uv_write_t *req, int status)
{
    (void)status;
    free(req);
}

/* Sends `head` and then `len` bytes of `body` (may be NULL) and "\r\n" after
 * a body. */
static void send_answer(fake_conn *c, const char *head, const char *body, size_t len)
{
    size_t hlen = strlen(head), total = hlen + (body ? len + 2 : 0);
    fake_write *w = malloc(sizeof *w + total);

    if (w == NULL)
        return;
    memcpy(w->data, head, hlen);
    if (body) {
        memcpy(w->data + hlen, body, len);
        memcpy(w->data + hlen + len, "\r\n", 2);
    }
    uv_buf_t buf = uv_buf_init(w->data, (unsigned)total);
    if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &buf, 1, on_written) != 0)
        free(w);
}

static void answer(fake_conn *c, const char *cmd, size_t cmd_len)
{
    fake_redis *r = c->owner;
    char head[32];

    /* The cache reads with GETRANGE key 0 LIMIT (cache.c: a bounded read);
     * the inputs are far below any limit, so the whole value is the answer.
     * A missing key is "" to GETRANGE, nil to GET. */
    int range = cmd_len == 8 && strncasecmp(cmd, "GETRANGE", 8) == 0;
    if (range || (cmd_len == 3 && strncasecmp(cmd, "GET", 3) == 0)) {
        r->gets++;
        if (r->value == NULL) {
            send_answer(c, range ? "$0\r\n\r\n" : "$-1\r\n", NULL, 0);
            return;
        }
        snprintf(head, sizeof head, "$%zu\r\n", r->value_len);
        send_answer(c, head, r->value, r->value_len);
    } else if (cmd_len == 4 && strncasecmp(cmd, "PING", 4) == 0) {
        send_answer(c, "+PONG\r\n", NULL, 0);
    } else if (cmd_len == 3 && strncasecmp(cmd, "DEL", 3) == 0) {
        send_answer(c, ":0\r\n", NULL, 0);
    } else {
        send_answer(c, "+OK\r\n", NULL, 0);
    }
}

/* ---- requests ------------------------------------------------------------ */

/* A decimal number ending in "\r\n" at buf[*at..len): 1 and *value, 0 if
 * incomplete, -1 if malformed. */
static int read_number(const char *buf, size_t len, size_t *at, long *value)
{
    const char *end = memchr(buf + *at, '\r', len - *at);
    char *stop;

    if (end == NULL || (size_t)(end - buf) + 1 >= len)
        return 0;
    *value = strtol(buf + *at, &stop, 10);
    if (stop != end || end[1] != '\n')
        return -1;
    *at = (size_t)(end - buf) + 2;
    return 1;
}

/* Parses one request at the start of c->buf and answers it. Returns the
 * bytes it took, 0 if it is incomplete, -1 if it is malformed. */
static long parse_one(fake_conn *c)
{
    size_t at = 1;
    long n, blen;
    const char *cmd = NULL;
    size_t cmd_len = 0;
    int rc;

    if (c->buf[0] != '*')
        return -1;
    if ((rc = read_number(c->buf, c->len, &at, &n)) <= 0)
        return rc;
    if (n < 1 || n > FAKE_REDIS_ARGS_MAX)
        return -1;
    for (long i = 0; i < n; i++) {
        if (at >= c->len)
            return 0;
        if (c->buf[at++] != '$')
            return -1;
        if ((rc = read_number(c->buf, c->len, &at, &blen)) <= 0)
            return rc;
        if (blen < 0)
            return -1;
        if (c->len - at < (size_t)blen + 2)
            return 0;
        if (i == 0) {
            cmd = c->buf + at;
            cmd_len = (size_t)blen;
        }
        at += (size_t)blen + 2;
    }
    answer(c, cmd, cmd_len);
    return (long)at;
}

static void on_conn_closed(uv_handle_t *handle)
{
    fake_conn *c = (fake_conn *)handle;

    if (c->prev)
        c->prev->next = c->next;
    else
        c->owner->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    fake_redis *r = c->owner;
    free(c->buf);
    free(c);
    fake_redis_maybe_free(r);
}

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    fake_conn *c = (fake_conn *)handle;

    if (c->cap - c->len < suggested) {
        char *grown = realloc(c->buf, c->len + suggested);
        if (grown == NULL) {
            *buf = uv_buf_init(NULL, 0);
            return;
        }
        c->buf = grown;
        c->cap = c->len + suggested;
    }
    *buf = uv_buf_init(c->buf + c->len, (unsigned)(c->cap - c->len));
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    fake_conn *c = (fake_conn *)stream;
    long took;

    (void)buf;
    if (nread < 0) {
        if (!uv_is_closing((uv_handle_t *)stream))
            uv_close((uv_handle_t *)stream, on_conn_closed);
        return;
    }
    c->len += (size_t)nread;
    while (c->len > 0 && (took = parse_one(c)) != 0) {
        if (took < 0) { /* not the protocol: drop the connection, as Redis does */
            uv_close((uv_handle_t *)stream, on_conn_closed);
            return;
        }
        memmove(c->buf, c->buf + took, c->len - (size_t)took);
        c->len -= (size_t)took;
    }
}

static void on_connection(uv_stream_t *listener, int status)
{
    fake_redis *r = listener->data;
    fake_conn *c;

    if (status != 0 || r->closing || (c = calloc(1, sizeof *c)) == NULL)
        return;
    c->owner = r;
    uv_tcp_init(listener->loop, &c->tcp);
    c->next = r->conns;
    if (r->conns)
        r->conns->prev = c;
    r->conns = c;
    if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0 ||
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0)
        uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
}

int fake_redis_start(fake_redis *r, uv_loop_t *loop)
{
    int rc = uv_tcp_init(loop, &r->listener);

    if (rc != 0)
        return rc;
    r->started = 1;
    r->listener.data = r;
    if ((rc = uv_tcp_open(&r->listener, r->fd)) != 0)
        return rc;
    r->fd = -1;
    return uv_listen((uv_stream_t *)&r->listener, 16, on_connection);
}

/* ---- closing ------------------------------------------------------------- */

/* Freed once closing and every handle is closed: libuv runs the close
 * callbacks of one pass in no documented order. */
static void fake_redis_maybe_free(fake_redis *r)
{
    if (!r->closing || r->conns != NULL || (r->started && !r->listener_closed))
        return;
    free(r->value);
    free(r);
}

static void on_listener_closed(uv_handle_t *handle)
{
    fake_redis *r = handle->data;

    r->listener_closed = 1;
    fake_redis_maybe_free(r);
}

void fake_redis_close(fake_redis *r)
{
    if (r == NULL)
        return;
    r->closing = 1;
    for (fake_conn *c = r->conns; c; c = c->next)
        if (!uv_is_closing((uv_handle_t *)&c->tcp))
            uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
    if (r->fd >= 0)
        close(r->fd);
    if (r->started)
        uv_close((uv_handle_t *)&r->listener, on_listener_closed);
    else
        fake_redis_maybe_free(r);
}

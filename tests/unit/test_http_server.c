/* test_http_server.c: the HTTP/1.1 server on the loop (http_server.h).
 *
 * - routes: exact paths and prefixes, tried in the order added; the query
 *   apart from the path; GET and HEAD only (405 with Allow), 404 for a path
 *   no route has, 500 when a handler does not answer; headers added;
 * - http_query_param: percent-decoding and '+', present-but-empty against
 *   absent, the first of repeated names, names that only start alike, too
 *   long or badly encoded as -1;
 * - bounds: beyond max_conns a connection is accepted and closed at once
 *   (and counted), and served again once one closes; a request that does
 *   not arrive within request_timeout_ms gets its connection closed;
 * - server-sent events: the stream opens with a comment, a newer message
 *   replaces one still waiting (coalescing), http_stream_end ends the
 *   response, the closed callback runs once when the client has left (found
 *   by the next write: the server does not read a stream's connection), and
 *   an idle stream gets a ": ping" comment every 15 s (HTTP_PING_MS is
 *   fixed: that test takes 15 s);
 * - http_server_close with open streams and connections: every stream's
 *   closed callback once, clients see the end, the closed callback once, and
 *   the loop closes with no handle left (uv_loop_close() == 0, checked after
 *   every test); listen errors.
 *
 * The clients are plain sockets in the test's own thread: connect (which
 * the kernel completes from the listen backlog), send, and read without
 * blocking between turns of the loop, so everything happens in one thread
 * in a fixed order.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "http_server.h"
#include "log.h"

#define WAIT_LIMIT_NS (30ull * 1000 * 1000 * 1000) /* safety net per wait */
#define MS (1000ull * 1000)

/* ---- the loop ---------------------------------------------------------------- */

static uv_loop_t loop;
static uv_timer_t tick; /* keeps UV_RUN_ONCE from blocking for long */
static uint64_t wait_limit;

static void on_tick(uv_timer_t *t)
{
    (void)t;
}

static int loop_setup(void **state)
{
    (void)state;
    assert_int_equal(uv_loop_init(&loop), 0);
    uv_timer_init(&loop, &tick);
    uv_timer_start(&tick, on_tick, 2, 2);
    return 0;
}

/* Every test ends with its server closed: then the loop must close with
 * nothing left on it. */
static int loop_teardown(void **state)
{
    (void)state;
    uv_close((uv_handle_t *)&tick, NULL);
    for (int i = 0; i < 100 && uv_run(&loop, UV_RUN_NOWAIT) != 0; i++)
        ;
    return uv_loop_close(&loop) == 0 ? 0 : -1;
}

static void wait_begin(uint64_t ns)
{
    wait_limit = uv_hrtime() + ns;
}

static void spin(void)
{
    if (uv_hrtime() > wait_limit)
        fail_msg("condition not reached in time");
    uv_run(&loop, UV_RUN_ONCE);
}

static void spin_n(int n)
{
    for (int i = 0; i < n; i++)
        uv_run(&loop, UV_RUN_NOWAIT);
}

static void wait_int(const int *v, int n)
{
    wait_begin(WAIT_LIMIT_NS);
    while (*v < n)
        spin();
}

static void on_server_closed(void *arg)
{
    (*(int *)arg)++;
}

static void close_server(http_server *s)
{
    int closed = 0;

    http_server_close(s, on_server_closed, &closed);
    assert_int_equal(closed, 0); /* later, never inside */
    wait_int(&closed, 1);
    spin_n(5);
    assert_int_equal(closed, 1);
}

/* ---- a plain client ------------------------------------------------------------ */

typedef struct client {
    int fd;
    char buf[65536];
    size_t len;
    int eof; /* the server closed (or reset) the connection */
} client;

static client *client_connect(int port)
{
    client *c = calloc(1, sizeof *c);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};

    assert_non_null(c);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(c->fd >= 0);
    assert_int_equal(connect(c->fd, (struct sockaddr *)&sa, sizeof sa), 0);
    fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
    return c;
}

static void client_free(client *c)
{
    if (c->fd >= 0)
        close(c->fd);
    free(c);
}

static void client_send(client *c, const char *text)
{
    size_t len = strlen(text);

    assert_int_equal(send(c->fd, text, len, MSG_NOSIGNAL), (ssize_t)len);
}

/* Takes what has arrived, without waiting. */
static void client_poll(client *c)
{
    for (;;) {
        ssize_t n;
        assert_true(c->len < sizeof c->buf - 1);
        n = recv(c->fd, c->buf + c->len, sizeof c->buf - 1 - c->len, MSG_DONTWAIT);
        if (n > 0) {
            c->len += (size_t)n;
            c->buf[c->len] = '\0';
            continue;
        }
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
            c->eof = 1;
        return;
    }
}

/* Turns the loop until `needle` has arrived (or, with NULL, the end). */
static void client_wait(client *c, const char *needle)
{
    wait_begin(WAIT_LIMIT_NS);
    for (;;) {
        client_poll(c);
        if (needle ? strstr(c->buf, needle) != NULL : c->eof)
            return;
        if (c->eof)
            fail_msg("connection closed before \"%s\"; got: %s", needle, c->buf);
        spin();
    }
}

/* A whole exchange on a fresh connection: the response up to the close. */
static client *request(int port, const char *method, const char *target)
{
    client *c = client_connect(port);
    char req[512];

    snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: test\r\n\r\n", method, target);
    client_send(c, req);
    client_wait(c, NULL);
    return c;
}

static int status_of(const client *c)
{
    int status = 0;

    assert_int_equal(sscanf(c->buf, "HTTP/1.1 %d", &status), 1);
    return status;
}

static const char *body_of(const client *c)
{
    const char *at = strstr(c->buf, "\r\n\r\n");

    assert_non_null(at);
    return at + 4;
}

/* ---- routes ----------------------------------------------------------------------- */

typedef struct route_ctx {
    const char *name;
    int calls;
    int answer; /* 0: never answers */
} route_ctx;

static void on_route(void *arg, const http_request *req, http_response *res)
{
    route_ctx *r = arg;
    char body[512];

    r->calls++;
    if (!r->answer)
        return;
    snprintf(body, sizeof body, "%s %s %s [%s]", r->name, req->method, req->path, req->query);
    http_add_header(res, "x-route", r->name);
    http_reply(res, 200, "text/plain", body, strlen(body));
}

static void expect(int port, const char *method, const char *target, int status, const char *body)
{
    client *c = request(port, method, target);

    if (status_of(c) != status || (body && strcmp(body_of(c), body) != 0))
        fail_msg("%s %s: wanted %d \"%s\", got %s", method, target, status, body ? body : "",
                 c->buf);
    client_free(c);
}

static void test_routes(void **state)
{
    http_server *s;
    route_ctx exact = {"exact", 0, 1}, pre = {"pre", 0, 1}, shadowed = {"shadowed", 0, 1};
    route_ctx xy = {"xy", 0, 1}, x = {"x", 0, 1}, mute = {"mute", 0, 0};
    client *c;
    int port;

    (void)state;
    assert_int_equal(http_server_new(&loop, NULL, &s), 0);
    assert_int_equal(http_server_route(s, "/exact", 0, on_route, &exact), 0);
    assert_int_equal(http_server_route(s, "/pre", 1, on_route, &pre), 0);
    assert_int_equal(http_server_route(s, "/pre/special", 0, on_route, &shadowed), 0);
    assert_int_equal(http_server_route(s, "/x/y", 0, on_route, &xy), 0);
    assert_int_equal(http_server_route(s, "/x", 1, on_route, &x), 0);
    assert_int_equal(http_server_route(s, "/mute", 0, on_route, &mute), 0);
    port = http_server_listen(s, "127.0.0.1:0");
    assert_true(port > 0);

    expect(port, "GET", "/exact", 200, "exact GET /exact []");
    expect(port, "GET", "/exact?a=1&b=%20", 200, "exact GET /exact [a=1&b=%20]");
    expect(port, "GET", "/exact/more", 404, "not found\n"); /* exact is exact */
    expect(port, "GET", "/exac", 404, "not found\n");
    /* a prefix takes every path that starts with it, in the order added */
    expect(port, "GET", "/pre", 200, "pre GET /pre []");
    expect(port, "GET", "/pre/special", 200, "pre GET /pre/special []");
    expect(port, "GET", "/prefix?q", 200, "pre GET /prefix [q]");
    assert_int_equal(shadowed.calls, 0);
    /* an exact route before a prefix wins for its path only */
    expect(port, "GET", "/x/y", 200, "xy GET /x/y []");
    expect(port, "GET", "/x/z", 200, "x GET /x/z []");
    /* the path is normalised before routing */
    expect(port, "GET", "/x/../exact", 200, "exact GET /exact []");
    /* HEAD: the route answers, no body follows */
    c = request(port, "HEAD", "/exact");
    assert_int_equal(status_of(c), 200);
    assert_string_equal(body_of(c), "");
    assert_non_null(strcasestr(c->buf, "x-route: exact"));
    client_free(c);
    /* other methods: 405 with Allow, and no route runs */
    int before = exact.calls;
    c = request(port, "POST", "/exact");
    assert_int_equal(status_of(c), 405);
    assert_non_null(strcasestr(c->buf, "allow: GET, HEAD"));
    client_free(c);
    expect(port, "DELETE", "/nowhere", 405, "method not allowed\n");
    assert_int_equal(exact.calls, before);
    /* a handler that does not answer: 500, still an answer */
    expect(port, "GET", "/mute", 500, "no answer\n");
    assert_int_equal(mute.calls, 1);
    /* the reply's headers */
    c = request(port, "GET", "/exact");
    assert_non_null(strcasestr(c->buf, "content-type: text/plain"));
    assert_non_null(strcasestr(c->buf, "x-route: exact"));
    assert_non_null(strcasestr(c->buf, "content-length: 19"));
    client_free(c);
    close_server(s);
}

/* ---- query parameters ----------------------------------------------------------------- */

static int param(const char *query, const char *name, char *buf, size_t size)
{
    http_request req = {.method = "GET", .path = "/", .query = query};

    memset(buf, 'Z', size);
    return http_query_param(&req, name, buf, size);
}

static void test_query_param(void **state)
{
    char buf[16];

    (void)state;
    assert_int_equal(param("year=2024&group=wg_x", "year", buf, sizeof buf), 1);
    assert_string_equal(buf, "2024");
    assert_int_equal(param("year=2024&group=wg_x", "group", buf, sizeof buf), 1);
    assert_string_equal(buf, "wg_x");
    assert_int_equal(param("year=2024&group=wg_x", "pillar", buf, sizeof buf), 0);
    assert_int_equal(param("", "year", buf, sizeof buf), 0);
    /* present but empty, with or without '=' */
    assert_int_equal(param("a=&b", "a", buf, sizeof buf), 1);
    assert_string_equal(buf, "");
    assert_int_equal(param("a=&b", "b", buf, sizeof buf), 1);
    assert_string_equal(buf, "");
    /* names that only start alike, or end alike, are other names */
    assert_int_equal(param("years=1&ayear=2", "year", buf, sizeof buf), 0);
    assert_int_equal(param("ab=1&a=2", "a", buf, sizeof buf), 1);
    assert_string_equal(buf, "2");
    /* the first of repeated names; empty segments skipped */
    assert_int_equal(param("&&a=1&a=2&", "a", buf, sizeof buf), 1);
    assert_string_equal(buf, "1");
    /* percent-decoding, both cases of hex, and '+' as a space */
    assert_int_equal(param("q=%41%2fb+c%7E%7e", "q", buf, sizeof buf), 1);
    assert_string_equal(buf, "A/b c~~");
    assert_int_equal(param("q=%3D%26", "q", buf, sizeof buf), 1);
    assert_string_equal(buf, "=&");
    /* badly encoded: -1 */
    assert_int_equal(param("q=%4", "q", buf, sizeof buf), -1);
    assert_int_equal(param("q=%", "q", buf, sizeof buf), -1);
    assert_int_equal(param("q=%zz", "q", buf, sizeof buf), -1);
    assert_int_equal(param("q=%4&r=1", "q", buf, sizeof buf), -1); /* not past its end */
    /* room for size-1 bytes and the NUL, counted after decoding */
    assert_int_equal(param("q=abc", "q", buf, 4), 1);
    assert_string_equal(buf, "abc");
    assert_int_equal(param("q=abcd", "q", buf, 4), -1);
    assert_int_equal(param("q=%41%42%43", "q", buf, 4), 1);
    assert_string_equal(buf, "ABC");
    assert_int_equal(param("q=%41%42%43%44", "q", buf, 4), -1);
    assert_int_equal(param("q=", "q", buf, 1), 1);
    assert_string_equal(buf, "");
    assert_int_equal(param("q=a", "q", buf, 1), -1);
}

/* ---- bounds ----------------------------------------------------------------------------- */

static void test_max_conns(void **state)
{
    http_options o = {.max_conns = 2, .request_timeout_ms = 20000};
    route_ctx r = {"r", 0, 1};
    http_server *s;
    client *idle[2], *extra, *c;
    int port;

    (void)state;
    assert_int_equal(http_server_new(&loop, &o, &s), 0);
    assert_int_equal(http_server_route(s, "/", 0, on_route, &r), 0);
    port = http_server_listen(s, "127.0.0.1:0");
    assert_true(port > 0);
    /* two connections that send nothing hold both places (the kernel hands
     * connections over in the order they came) */
    idle[0] = client_connect(port);
    idle[1] = client_connect(port);
    extra = client_connect(port);
    wait_begin(WAIT_LIMIT_NS);
    while (http_server_refused(s) < 1)
        spin();
    client_send(extra, "GET / HTTP/1.1\r\nHost: test\r\n\r\n");
    client_wait(extra, NULL); /* closed, unanswered */
    assert_int_equal(extra->len, 0);
    assert_int_equal(r.calls, 0);
    assert_int_equal(http_server_refused(s), 1);
    client_free(extra);
    /* the held ones are still served */
    client_send(idle[1], "GET / HTTP/1.1\r\nHost: test\r\n\r\n");
    client_wait(idle[1], NULL);
    assert_int_equal(status_of(idle[1]), 200);
    client_free(idle[1]);
    /* a place came free: a new connection is served (once the server has
     * seen the close: it may still refuse one or two meanwhile) */
    wait_begin(WAIT_LIMIT_NS);
    for (;;) {
        c = request(port, "GET", "/");
        if (c->len > 0)
            break;
        client_free(c);
        spin();
    }
    assert_int_equal(status_of(c), 200);
    client_free(c);
    client_free(idle[0]);
    close_server(s);
}

static void test_request_timeout(void **state)
{
    http_options o = {.max_conns = 4, .request_timeout_ms = 300};
    route_ctx r = {"r", 0, 1};
    http_server *s;
    client *silent, *partial, *fine;
    uint64_t start, took;
    int port;

    (void)state;
    assert_int_equal(http_server_new(&loop, &o, &s), 0);
    assert_int_equal(http_server_route(s, "/", 0, on_route, &r), 0);
    port = http_server_listen(s, "127.0.0.1:0");
    assert_true(port > 0);
    start = uv_hrtime();
    silent = client_connect(port);
    partial = client_connect(port);
    client_send(partial, "GET / HTTP/1.1\r\nHost: te");
    client_wait(silent, NULL);
    client_wait(partial, NULL);
    took = uv_hrtime() - start;
    assert_true(took >= 250 * MS);
    assert_true(took < 10000 * MS);
    assert_int_equal(r.calls, 0);
    /* a request in time is answered */
    fine = request(port, "GET", "/");
    assert_int_equal(status_of(fine), 200);
    client_free(silent);
    client_free(partial);
    client_free(fine);
    close_server(s);
}

/* ---- server-sent events -------------------------------------------------------------- */

typedef struct events {
    http_stream *st[4];
    int n;
    int closed; /* closed callbacks */
    http_stream *closed_st[4];
} events;

static void on_stream_closed(void *arg, http_stream *st)
{
    events *e = arg;

    e->closed_st[e->closed++] = st;
}

static void on_events(void *arg, const http_request *req, http_response *res)
{
    events *e = arg;

    (void)req;
    assert_true(e->n < 4);
    e->st[e->n] = http_stream_start(res, on_stream_closed, e);
    assert_non_null(e->st[e->n]);
    e->n++;
}

/* A server with /events, and a client on it that got the stream's start. */
static http_server *events_server(events *e, int *port)
{
    http_server *s;

    assert_int_equal(http_server_new(&loop, NULL, &s), 0);
    assert_int_equal(http_server_route(s, "/events", 0, on_events, e), 0);
    *port = http_server_listen(s, "127.0.0.1:0");
    assert_true(*port > 0);
    return s;
}

static client *events_client(int port, events *e, int n_before)
{
    client *c = client_connect(port);

    client_send(c, "GET /events HTTP/1.1\r\nHost: test\r\n\r\n");
    client_wait(c, ": connected\n\n");
    assert_int_equal(e->n, n_before + 1);
    assert_int_equal(status_of(c), 200);
    assert_non_null(strcasestr(c->buf, "content-type: text/event-stream; charset=utf-8"));
    assert_non_null(strcasestr(c->buf, "cache-control: no-cache"));
    return c;
}

static void test_stream_coalescing(void **state)
{
    events e = {0};
    http_server *s;
    client *c;
    int port;

    (void)state;
    s = events_server(&e, &port);
    c = events_client(port, &e, 0);
    spin_n(20); /* the greeting's write has completed: nothing is on its way */
    /* three in one turn: A goes, B waits, C replaces B */
    assert_int_equal(http_stream_send(e.st[0], "overview", "{\"v\":\"A\"}", 9), 0);
    assert_int_equal(http_stream_send(e.st[0], "overview", "{\"v\":\"B\"}", 9), 0);
    assert_int_equal(http_stream_send(e.st[0], "overview", "{\"v\":\"C\"}", 9), 0);
    client_wait(c, "data: {\"v\":\"C\"}\n\n");
    assert_non_null(strstr(c->buf, "event: overview\ndata: {\"v\":\"A\"}\n\n"));
    assert_null(strstr(c->buf, "{\"v\":\"B\"}"));
    assert_true(strstr(c->buf, "\"A\"") < strstr(c->buf, "\"C\""));
    /* once everything went, the next is sent as it comes; only `len`
     * bytes of the data count */
    spin_n(20);
    assert_int_equal(http_stream_send(e.st[0], "alert", "{\"v\":\"D\"}xyz", 9), 0);
    client_wait(c, "event: alert\ndata: {\"v\":\"D\"}\n\n");
    assert_null(strstr(c->buf, "xyz"));
    /* the end: the response finishes and the stream is over, once */
    assert_int_equal(e.closed, 0);
    http_stream_end(e.st[0]);
    client_wait(c, "0\r\n\r\n"); /* the last chunk */
    wait_int(&e.closed, 1);
    assert_ptr_equal(e.closed_st[0], e.st[0]);
    client_wait(c, NULL); /* and the connection closes: it was the stream's */
    spin_n(20);
    assert_int_equal(e.closed, 1);
    client_free(c);
    close_server(s);
    assert_int_equal(e.closed, 1);
}

static void test_stream_end_while_sending(void **state)
{
    events e = {0};
    http_server *s;
    client *c;
    int port;

    (void)state;
    s = events_server(&e, &port);
    c = events_client(port, &e, 0);
    spin_n(20);
    /* sent, then one waiting, then the end: both go, then the end */
    assert_int_equal(http_stream_send(e.st[0], "m", "1", 1), 0);
    assert_int_equal(http_stream_send(e.st[0], "m", "2", 1), 0);
    http_stream_end(e.st[0]);
    http_stream_end(e.st[0]); /* twice is once */
    client_wait(c, NULL);
    assert_non_null(strstr(c->buf, "data: 1\n\n"));
    assert_non_null(strstr(c->buf, "data: 2\n\n"));
    assert_non_null(strstr(c->buf, "0\r\n\r\n"));
    wait_int(&e.closed, 1);
    client_free(c);
    close_server(s);
    assert_int_equal(e.closed, 1);
}

static void test_stream_client_leaves(void **state)
{
    events e = {0};
    http_server *s;
    client *c;
    int port;

    (void)state;
    s = events_server(&e, &port);
    c = events_client(port, &e, 0);
    close(c->fd);
    c->fd = -1;
    /* the server does not read a stream's connection: the next writes
     * find the client gone (the 15 s ping would, on an idle stream) */
    spin_n(20);
    wait_begin(WAIT_LIMIT_NS);
    while (e.closed == 0) {
        assert_int_equal(http_stream_send(e.st[0], "m", "anyone?", 7), 0);
        spin();
    }
    assert_ptr_equal(e.closed_st[0], e.st[0]);
    spin_n(20);
    assert_int_equal(e.closed, 1);
    client_free(c);
    close_server(s);
    assert_int_equal(e.closed, 1);
}

/* HTTP_PING_MS is 15 s and fixed: this test waits for it. */
static void test_stream_ping(void **state)
{
    events e = {0};
    http_server *s;
    client *c;
    uint64_t start;
    int port;

    (void)state;
    s = events_server(&e, &port);
    start = uv_hrtime();
    c = events_client(port, &e, 0);
    client_wait(c, ": ping\n\n");
    assert_true(uv_hrtime() - start >= 14900 * MS);
    assert_true(uv_hrtime() - start < 25000 * MS);
    client_free(c);
    close_server(s);
    assert_int_equal(e.closed, 1);
}

/* ---- closing --------------------------------------------------------------------------- */

static void test_close_with_streams(void **state)
{
    events e = {0};
    route_ctx r = {"r", 0, 1};
    http_options o = {.max_conns = 8, .request_timeout_ms = 20000, .keep_alive = 1};
    http_server *s;
    client *a, *b, *idle, *kept;
    int port, closed = 0;

    (void)state;
    assert_int_equal(http_server_new(&loop, &o, &s), 0);
    assert_int_equal(http_server_route(s, "/events", 0, on_events, &e), 0);
    assert_int_equal(http_server_route(s, "/r", 0, on_route, &r), 0);
    port = http_server_listen(s, "127.0.0.1:0");
    assert_true(port > 0);
    a = events_client(port, &e, 0);
    b = events_client(port, &e, 1);
    assert_int_equal(http_stream_send(e.st[1], "m", "last", 4), 0);
    idle = client_connect(port); /* sent nothing yet */
    kept = client_connect(port); /* answered, kept alive */
    client_send(kept, "GET /r HTTP/1.1\r\nHost: test\r\n\r\n");
    client_wait(kept, "r GET /r []");
    spin_n(10);

    http_server_close(s, on_server_closed, &closed);
    assert_int_equal(closed, 0);
    wait_int(&closed, 1);
    /* every stream ended, each closed callback once */
    assert_int_equal(e.closed, 2);
    assert_true((e.closed_st[0] == e.st[0] && e.closed_st[1] == e.st[1]) ||
                (e.closed_st[0] == e.st[1] && e.closed_st[1] == e.st[0]));
    /* every client sees the end */
    client_wait(a, NULL);
    client_wait(b, NULL);
    client_wait(idle, NULL);
    client_wait(kept, NULL);
    assert_non_null(strstr(b->buf, "data: last\n\n"));
    spin_n(10);
    assert_int_equal(closed, 1);
    assert_int_equal(e.closed, 2);
    client_free(a);
    client_free(b);
    client_free(idle);
    client_free(kept);
    /* the teardown checks that no handle is left on the loop */
}

static void test_close_null_and_listen_errors(void **state)
{
    http_server *s, *other;
    int closed = 0, port;

    (void)state;
    http_server_close(NULL, on_server_closed, &closed);
    assert_int_equal(closed, 1); /* at once */
    http_server_close(NULL, NULL, NULL);

    assert_int_equal(http_server_new(&loop, NULL, &s), 0);
    assert_int_equal(http_server_listen(s, "nonsense"), -EINVAL);
    assert_int_equal(http_server_listen(s, ":80"), -EINVAL);
    close_server(s); /* closed although it never listened */

    assert_int_equal(http_server_new(&loop, NULL, &s), 0);
    port = http_server_listen(s, "127.0.0.1:0");
    assert_true(port > 0);
    assert_int_equal(http_server_new(&loop, NULL, &other), 0);
    char addr[32];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    assert_int_equal(http_server_listen(other, addr), -EADDRINUSE);
    close_server(other);
    close_server(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query_param),
        cmocka_unit_test_setup_teardown(test_routes, loop_setup, loop_teardown),
        cmocka_unit_test_setup_teardown(test_max_conns, loop_setup, loop_teardown),
        cmocka_unit_test_setup_teardown(test_request_timeout, loop_setup, loop_teardown),
        cmocka_unit_test_setup_teardown(test_stream_coalescing, loop_setup, loop_teardown),
        cmocka_unit_test_setup_teardown(test_stream_end_while_sending, loop_setup, loop_teardown),
        cmocka_unit_test_setup_teardown(test_stream_client_leaves, loop_setup, loop_teardown),
        cmocka_unit_test_setup_teardown(test_close_with_streams, loop_setup, loop_teardown),
        cmocka_unit_test_setup_teardown(test_close_null_and_listen_errors, loop_setup,
                                        loop_teardown),
        cmocka_unit_test_setup_teardown(test_stream_ping, loop_setup, loop_teardown),
    };

    signal(SIGPIPE, SIG_IGN);
    log_init("test_http_server", LOG_LEVEL_ERROR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}

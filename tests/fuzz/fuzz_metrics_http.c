/* fuzz_metrics_http.c: any bytes as an HTTP request to GET /metrics.
 *
 * Each input gets an endpoint of its own (http_server.h with the /metrics
 * route as service.c makes it, listening on a free loopback port) on the
 * harness's loop, serving a registry with a few families, and one client
 * connection on the same loop that sends the bytes.
 * The endpoint must never crash or leak, and:
 *   - what it sends back, if anything, starts with an HTTP/1.1 status line;
 *   - after the client half-closed, it answers and closes, or just closes,
 *     within ANSWER_MS (it never waits for more);
 *   - http_server_close ends with its callback and with every handle of
 *     its own and of H2O closed (the loop is left with none).
 *
 * An input is one byte of flags and the request's bytes. Flag HALF_CLOSE:
 * the client half-closes after sending (end of request), and the harness
 * waits for the endpoint to close; without it the client stays open for a
 * moment (OPEN_MS) and then the endpoint is closed with the connection
 * still open, as at a service's shutdown during a scrape.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "metrics.h"
#include "http_server.h"

#define HALF_CLOSE 0x01
#define ANSWER_MS 5000
#define OPEN_MS 5
#define KEEP_MAX 65536 /* response bytes kept for the checks */

static uv_loop_t loop;
static metrics *registry;

typedef struct client {
    uv_tcp_t tcp;
    uv_connect_t connect;
    uv_write_t write;
    uv_shutdown_t shutdown;
    uv_timer_t timer;
    int half_close;
    uv_buf_t request;
    int eof;       /* the endpoint closed (or reset) the connection */
    int timed_out; /* the timer went off */
    int closed;    /* both handles closed */
    char response[KEEP_MAX];
    size_t len;
} client;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void fail(const char *fmt, ...)
{
    va_list ap;

    fputs("fuzz_metrics_http: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

static double sample_seven(void *arg)
{
    (void)arg;
    return 7;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    metrics_rpc *rpc;

    (void)argc;
    (void)argv;
    log_init("fuzz", LOG_LEVEL_ERROR);
    signal(SIGPIPE, SIG_IGN); /* a write to a closed connection fails instead */
    if (uv_loop_init(&loop) != 0 || metrics_new(&registry) != 0 ||
        metrics_add_sampled(registry, METRICS_GAUGE, "compact_fuzz_gauge", "A gauge.", sample_seven,
                            NULL) != 0 ||
        metrics_add_rpc(registry, 2, sample_seven, NULL, &rpc) != 0 ||
        metrics_rpc_add_method(rpc, "/fuzz.Fuzz/Get") != 0)
        fail("cannot set the registry up");
    metrics_rpc_observe(rpc, "/fuzz.Fuzz/Get", 0, 0.003);
    metrics_rpc_observe(rpc, "/fuzz.Fuzz/Other", 5, 0.2);
    return 0;
}

/* ---- the client ------------------------------------------------------------ */

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    static char scratch[65536];

    (void)handle;
    (void)suggested;
    *buf = uv_buf_init(scratch, sizeof scratch);
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    client *c = stream->data;

    if (nread < 0) {
        c->eof = 1;
        uv_read_stop(stream);
        return;
    }
    size_t keep = (size_t)nread < KEEP_MAX - c->len ? (size_t)nread : KEEP_MAX - c->len;
    memcpy(c->response + c->len, buf->base, keep);
    c->len += keep;
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    (void)req;
    (void)status;
}

static void on_written(uv_write_t *req, int status)
{
    client *c = req->data;

    /* A failed write: the endpoint closed first, which it may. */
    if (status == 0 && c->half_close)
        uv_shutdown(&c->shutdown, (uv_stream_t *)&c->tcp, on_shutdown);
}

/* Sends the request, then half-closes if asked to: writes and shutdowns
 * are refused until the connection is made. */
static void on_connected(uv_connect_t *req, int status)
{
    client *c = req->data;
    uv_stream_t *s = (uv_stream_t *)&c->tcp;

    if (status != 0)
        fail("cannot connect to the endpoint: %s", uv_strerror(status));
    uv_read_start(s, on_alloc, on_read);
    if (c->request.len > 0) {
        if (uv_write(&c->write, s, &c->request, 1, on_written) != 0)
            fail("uv_write refused");
    } else if (c->half_close) {
        uv_shutdown(&c->shutdown, s, on_shutdown);
    }
}

static void on_timer(uv_timer_t *timer)
{
    client *c = timer->data;

    c->timed_out = 1;
}

static void on_client_closed(uv_handle_t *handle)
{
    client *c = handle->data;

    c->closed++;
}

static void on_endpoint_closed(void *arg)
{
    *(int *)arg = 1;
}

/* The /metrics route, as service.c serves it. */
static void serve_metrics(void *arg, const http_request *req, http_response *res)
{
    char *text = NULL;
    size_t len = 0;

    (void)req;
    if (metrics_render(arg, &text, &len) != 0) {
        http_reply_error(res, 500, "out of memory");
        return;
    }
    http_reply(res, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
    free(text);
}

/* ---- one input --------------------------------------------------------------- */

static void run_until(const int *flag)
{
    while (!*flag)
        uv_run(&loop, UV_RUN_ONCE);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static client c; /* 64 KiB: not on the stack */
    http_options opts = {.max_conns = 8, .request_timeout_ms = 5000, .keep_alive = 0};
    http_server *h = NULL;
    struct sockaddr_in addr;
    int port, endpoint_closed = 0, rc;

    if (size < 1)
        return 0;
    memset(&c, 0, sizeof c);
    c.half_close = data[0] & HALF_CLOSE;
    c.request = uv_buf_init((char *)data + 1, (unsigned)(size - 1));
    if (http_server_new(&loop, &opts, &h) != 0 ||
        http_server_route(h, "/metrics", 0, serve_metrics, registry) != 0 ||
        (port = http_server_listen(h, "127.0.0.1:0")) <= 0)
        fail("cannot start the endpoint");

    uv_tcp_init(&loop, &c.tcp);
    uv_timer_init(&loop, &c.timer);
    c.tcp.data = c.timer.data = c.connect.data = c.write.data = &c;
    uv_ip4_addr("127.0.0.1", port, &addr);
    if ((rc = uv_tcp_connect(&c.connect, &c.tcp, (const struct sockaddr *)&addr, on_connected)) !=
        0)
        fail("uv_tcp_connect: %s", uv_strerror(rc));
    uv_timer_start(&c.timer, on_timer, c.half_close ? ANSWER_MS : OPEN_MS, 0);
    while (!c.eof && !c.timed_out)
        uv_run(&loop, UV_RUN_ONCE);
    if (c.half_close && !c.eof)
        fail("the request ended and the endpoint neither answered nor closed in %d ms", ANSWER_MS);

    /* Closed with the client's connection perhaps still open. */
    http_server_close(h, on_endpoint_closed, &endpoint_closed);
    run_until(&endpoint_closed);
    uv_close((uv_handle_t *)&c.tcp, on_client_closed);
    uv_close((uv_handle_t *)&c.timer, on_client_closed);
    while (c.closed < 2)
        uv_run(&loop, UV_RUN_ONCE);
    if (uv_loop_alive(&loop))
        fail("handles left open on the loop after the endpoint closed");
    if (c.len > 0 && (c.len < 9 || memcmp(c.response, "HTTP/1.1 ", 9) != 0))
        fail("the response does not start with a status line: \"%.*s\"",
             (int)(c.len < 40 ? c.len : 40), c.response);
    return 0;
}

/* feed.c: WatchOverview and the dashboard's live updates (see feed.h). */
#include "feed.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pbtime.h"

typedef struct watcher {
    feed *f;
    answer_question q;
    rpc_call *call;   /* a WatchOverview, or */
    http_stream *web; /* a web stream */
    uint64_t heard;   /* the change count it last heard */
    struct watcher *next;
} watcher;

struct feed {
    analytics *a;
    uv_timer_t ticker;
    uint64_t changes; /* moves on with every feed_changed */
    int reachable;    /* as last told (Freshness.sources_reachable) */
    watcher *watchers;
    int draining;
    void (*freed_cb)(void *arg);
    void *freed_arg;
};

static void unlink_watcher(watcher *w)
{
    for (watcher **p = &w->f->watchers; *p; p = &(*p)->next) {
        if (*p == w) {
            *p = w->next;
            return;
        }
    }
}

/* Tells `w` the overview of its question as it is now. */
static void tell(watcher *w)
{
    answers *as = w->f->a->answers;
    const void *data;
    size_t len;
    int rc;

    /* From the answers' cache: watchers of one filter share one encoding. */
    w->heard = w->f->changes;
    rc = answers_get(as, &w->q, w->call ? ANSWER_PROTOBUF : ANSWER_JSON, &data, &len);
    if (rc == 0 && w->call)
        rpc_call_write_bytes(w->call, data, len, NULL, NULL);
    else if (rc == 0)
        rc = http_stream_send(w->web, "overview", data, len);
    if (rc != 0)
        log_fmt(LOG_LEVEL_WARN, "a watcher was not told: %s", strerror(-rc));
}

static void on_tick(uv_timer_t *t)
{
    feed *f = t->data;
    int64_t last = f->a->fresh.last_read_ms;
    int reachable = last > 0 && pbtime_now_ms() - last < 3 * FEED_TICK_MS;

    if (reachable != f->reachable) { /* the sources went away, or came back */
        f->reachable = reachable;
        f->changes++;
    }
    for (watcher *w = f->watchers; w; w = w->next) {
        if (w->heard != f->changes)
            tell(w);
    }
}

int feed_new(analytics *a, feed **out)
{
    feed *f = calloc(1, sizeof *f);

    if (f == NULL)
        return -ENOMEM;
    f->a = a;
    f->changes = 1;
    uv_timer_init(service_loop(a->svc), &f->ticker);
    f->ticker.data = f;
    uv_timer_start(&f->ticker, on_tick, FEED_TICK_MS, FEED_TICK_MS);
    *out = f;
    return 0;
}

void feed_changed(feed *f)
{
    f->changes++;
}

/* rpc_call_done_cb: the client went away, or we ended the call. */
static void on_watch_done(rpc_call *call, void *arg)
{
    watcher *w = arg;

    unlink_watcher(w);
    if (!rpc_call_ended(call))
        rpc_call_finish(call, RPC_CANCELLED, "watch cancelled");
    free(w);
}

static watcher *watcher_new(feed *f, const answer_question *q)
{
    watcher *w = calloc(1, sizeof *w);

    if (w) {
        w->f = f;
        w->q = *q;
    }
    return w;
}

void feed_watch(feed *f, rpc_call *call, const answer_question *q)
{
    watcher *w;

    if (f->draining) {
        rpc_call_fail(call, RPC_UNAVAILABLE, "the server is shutting down");
        return;
    }
    if ((w = watcher_new(f, q)) == NULL) {
        rpc_call_fail(call, RPC_RESOURCE_EXHAUSTED, "out of memory");
        return;
    }
    w->call = call;
    tell(w);
    w->next = f->watchers;
    f->watchers = w;
    rpc_call_on_done(call, on_watch_done, w);
}

/* http_stream_closed_fn */
static void on_stream_closed(void *arg, http_stream *st)
{
    watcher *w = arg;

    (void)st;
    unlink_watcher(w);
    free(w);
}

void feed_listen(feed *f, http_response *res, const answer_question *q)
{
    watcher *w;

    if (f->draining) {
        http_reply_error(res, 503, "shutting down");
        return;
    }
    if ((w = watcher_new(f, q)) == NULL) {
        http_reply_error(res, 503, "out of memory");
        return;
    }
    if ((w->web = http_stream_start(res, on_stream_closed, w)) == NULL) {
        free(w);
        return;
    }
    w->next = f->watchers;
    f->watchers = w;
    tell(w);
}

void feed_counts(const feed *f, int *watches, int *streams)
{
    *watches = *streams = 0;
    for (const watcher *w = f->watchers; w; w = w->next) {
        *watches += w->call != NULL;
        *streams += w->web != NULL;
    }
}

void feed_drain(feed *f)
{
    watcher *w = f->watchers, *next;

    f->draining = 1;
    /* Each watcher's callback (now or later) frees it; its unlink finds
     * nothing in the emptied list. */
    f->watchers = NULL;
    for (; w; w = next) {
        next = w->next;
        if (w->call)
            rpc_call_finish(w->call, RPC_OK, NULL);
        else
            http_stream_end(w->web);
    }
}

static void on_ticker_closed(uv_handle_t *h)
{
    feed *f = h->data;
    void (*cb)(void *) = f->freed_cb;
    void *arg = f->freed_arg;

    free(f);
    cb(arg);
}

void feed_free(feed *f, void (*cb)(void *arg), void *arg)
{
    if (f == NULL) {
        cb(arg);
        return;
    }
    f->freed_cb = cb;
    f->freed_arg = arg;
    uv_close((uv_handle_t *)&f->ticker, on_ticker_closed);
}

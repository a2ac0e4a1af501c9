/* notice_watch.c: WatchNotices' fan-out (see notice_watch.h). */
#include "notice_watch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "compact/membership/v1/membership.pb-c.h"
#include "fault.h"
#include "log.h"
#include "peer_check.h"
#include "pbmsg.h"
#include "rules.h"

#define ENTITY_ACTIVE COMPACT__MEMBERSHIP__V1__ENTITY_STATUS__ENTITY_STATUS_ACTIVE
#define GROUP_MEMBERS COMPACT__WORKGROUPS__V1__VISIBILITY__VISIBILITY_GROUP_MEMBERS

typedef struct watcher {
    notice_hub *h;
    rpc_call *call;
    Subscription *sub; /* owned */
    struct watcher *next;
} watcher;

/* A BatchGetEntities of the watching entities in flight. It is its own
 * allocation, freed by its callback, so that the hub may go first (hub
 * NULL: the answer is dropped). */
typedef struct recheck {
    notice_hub *h;
} recheck;

/* A posted notice waiting for the flush that makes it durable; freed by its
 * store_sync callback, which the store runs exactly once (at the latest when
 * it closes, after the hub: hub NULL, nothing is delivered). */
typedef struct durable {
    notice_hub *h;
    Notice *n; /* a copy, owned */
    struct durable *prev, *next;
} durable;

struct notice_hub {
    service *svc;
    watcher *watchers;
    int count;
    int draining;
    uv_timer_t timer;
    recheck *in_flight;
    durable *waiting; /* notices waiting for their flush, oldest first */
    durable *waiting_tail;
    void (*freed_cb)(void *arg);
    void *freed_arg;
};

/* ---- watchers -------------------------------------------------------------- */

/* Takes `w` out of its hub's list, once: the hub is then none of its
 * business (it may be freed before the call's done callback runs). */
static void unlink_watcher(watcher *w)
{
    if (w->h == NULL)
        return;
    for (watcher **p = &w->h->watchers; *p; p = &(*p)->next) {
        if (*p == w) {
            *p = w->next;
            w->h->count--;
            break;
        }
    }
    w->h = NULL;
}

/* rpc_call_done_cb: the client went away, or we ended the call. */
static void on_watch_done(rpc_call *call, void *arg)
{
    watcher *w = arg;

    unlink_watcher(w);
    if (!rpc_call_ended(call))
        rpc_call_finish(call, RPC_CANCELLED, "watch cancelled");
    pbmsg_free(&w->sub->base);
    free(w);
}

/* Ends watcher `w` (its done callback frees it). */
static void end_watch(watcher *w, rpc_code code, const char *message)
{
    unlink_watcher(w);
    if (code == RPC_OK)
        rpc_call_finish(w->call, RPC_OK, NULL);
    else
        rpc_call_fail(w->call, code, "%s", message);
}

void notice_hub_watch(notice_hub *h, rpc_call *call, Subscription *sub)
{
    rpc_code gone = rpc_call_abandoned(call);
    watcher *w;

    if (gone != RPC_OK) { /* it went while membership was asked */
        rpc_call_finish(call, gone, "the watch ended before it started");
        pbmsg_free(&sub->base);
        return;
    }
    if (h == NULL || h->draining) {
        rpc_call_fail(call, RPC_UNAVAILABLE, "the server is shutting down");
        pbmsg_free(&sub->base);
        return;
    }
    if ((w = calloc(1, sizeof *w)) == NULL) {
        rpc_call_fail(call, RPC_RESOURCE_EXHAUSTED, "out of memory");
        pbmsg_free(&sub->base);
        return;
    }
    w->h = h;
    w->call = call;
    w->sub = sub;
    w->next = h->watchers;
    h->watchers = w;
    h->count++;
    rpc_call_on_done(call, on_watch_done, w);
    log_fmt(LOG_LEVEL_DEBUG, "watch of %s (%s) started", sub->id, sub->entity_id);
}

int notice_hub_watches(const notice_hub *h)
{
    return h ? h->count : 0;
}

/* ---- delivery ---------------------------------------------------------------- */

/* Hands durable notice `n` to every watcher that may see it now. */
static void deliver(notice_hub *h, const Notice *n)
{
    char **audience = NULL;
    size_t n_audience = 0;
    int loaded = 0, rc;

    for (watcher *w = h->watchers, *next; w; w = next) {
        const Subscription *s = w->sub;
        next = w->next;
        if (!rules_subscription_follows(s->working_group_ids, s->n_working_group_ids,
                                        s->compact_wide, n->working_group_id))
            continue;
        if (n->visibility == GROUP_MEMBERS && !loaded) {
            /* Who leads and takes part now, read once for this notice. */
            loaded = 1;
            rc = notice_store_audience(service_store(h->svc), n->working_group_id, &audience,
                                       &n_audience);
            if (rc != 0) /* nobody hears it: better than the wrong people */
                log_fmt(LOG_LEVEL_ERROR, "notice %s: cannot read who is in group %s: %s", n->id,
                        n->working_group_id, strerror(-rc));
        }
        if (rules_notice_visible((int)n->visibility, 1,
                                 rules_has_id(audience, n_audience, s->entity_id)))
            rpc_call_write(w->call, &n->base, NULL, NULL);
    }
    notice_store_free_ids(audience, n_audience);
}

static void unlink_durable(durable *d)
{
    notice_hub *h = d->h;

    if (d->prev)
        d->prev->next = d->next;
    else
        h->waiting = d->next;
    if (d->next)
        d->next->prev = d->prev;
    else
        h->waiting_tail = d->prev;
}

/* store_sync_cb: the notice is on disk (rc 0), or will never be known to be. */
static void on_durable(void *arg, int rc)
{
    durable *d = arg;
    notice_hub *h = d->h;

    if (h) {
        unlink_durable(d);
        if (rc == 0 && !h->draining)
            deliver(h, d->n);
        else if (rc != 0)
            log_fmt(LOG_LEVEL_ERROR, "notice %s was not delivered: the flush failed: %s", d->n->id,
                    strerror(-rc));
    }
    pbmsg_free(&d->n->base);
    free(d);
}

void notice_hub_posted(notice_hub *h, const Notice *n)
{
    durable *d;

    if (h == NULL || h->draining || h->watchers == NULL)
        return; /* nobody to tell */
    if ((d = calloc(1, sizeof *d)) == NULL || (d->n = (Notice *)pbmsg_copy(&n->base)) == NULL) {
        free(d);
        log_fmt(LOG_LEVEL_ERROR, "notice %s was not delivered: out of memory", n->id);
        return;
    }
    d->h = h;
    d->prev = h->waiting_tail;
    if (h->waiting_tail)
        h->waiting_tail->next = d;
    else
        h->waiting = d;
    h->waiting_tail = d;
    /* The relay's rule: nothing is told that a power cut could take back.
     * Flushes answer their waiters in order: notices go out as committed. */
    store_sync(service_store(h->svc), on_durable, d);
}

void notice_hub_unsubscribed(notice_hub *h, const char *id)
{
    if (h == NULL)
        return;
    for (watcher *w = h->watchers, *next; w; w = next) {
        next = w->next;
        if (strcmp(w->sub->id, id) == 0)
            end_watch(w, RPC_OK, NULL);
    }
}

/* ---- the entities' standing ---------------------------------------------------- */

/* The entity `id` in a BatchGetEntities reply, or NULL. */
static const Compact__Membership__V1__Entity *
find_entity(const Compact__Membership__V1__BatchGetEntitiesResponse *r, const char *id)
{
    for (size_t i = 0; i < r->n_entities; i++) {
        if (strcmp(r->entities[i]->id, id) == 0)
            return r->entities[i];
    }
    return NULL;
}

/* rpc_reply_cb of the recheck. */
static void on_recheck(void *arg, rpc_code code, const char *message, const ProtobufCMessage *reply)
{
    recheck *r = arg;
    notice_hub *h = r->h;
    const Compact__Membership__V1__BatchGetEntitiesResponse *resp = (const void *)reply;

    free(r);
    if (h == NULL) /* the hub is gone */
        return;
    h->in_flight = NULL;
    if (code != RPC_OK) {
        log_fmt(LOG_LEVEL_WARN,
                "notices: membership did not answer the recheck (%s: %s); "
                "the watches go on",
                rpc_code_name(code), message);
        return;
    }
    for (watcher *w = h->watchers, *next; w; w = next) {
        const Compact__Membership__V1__Entity *e = find_entity(resp, w->sub->entity_id);
        char why[160];
        next = w->next;
        if (e && e->status == ENTITY_ACTIVE)
            continue;
        snprintf(why, sizeof why, "subscription_id: entity \"%s\"%s%s%s is %s", w->sub->entity_id,
                 e ? " (" : "", e ? e->acronym : "", e ? ")" : "",
                 e ? "no longer active" : "no longer known to membership");
        end_watch(w, RPC_FAILED_PRECONDITION, why);
    }
}

/* The distinct entities watching, at most PEER_CHECK_MAX, into v. */
static size_t watching_entities(const notice_hub *h, char **v)
{
    size_t n = 0;

    for (const watcher *w = h->watchers; w && n < PEER_CHECK_MAX; w = w->next) {
        if (!rules_has_id(v, n, w->sub->entity_id))
            v[n++] = w->sub->entity_id;
    }
    return n;
}

static void on_timer(uv_timer_t *t)
{
    notice_hub *h = t->data;
    Compact__Membership__V1__BatchGetEntitiesRequest req =
        COMPACT__MEMBERSHIP__V1__BATCH_GET_ENTITIES_REQUEST__INIT;
    rpc_channel *ch = service_peer(h->svc, "membership");
    recheck *r;
    char **ids;

    if (h->watchers == NULL || h->in_flight || ch == NULL)
        return;
    if ((ids = calloc((size_t)h->count, sizeof *ids)) == NULL ||
        (r = calloc(1, sizeof *r)) == NULL) {
        free(ids);
        return;
    }
    req.ids = ids;
    req.n_ids = watching_entities(h, ids);
    req.allow_missing = 1;
    req.view = COMPACT__MEMBERSHIP__V1__VIEW__VIEW_BASIC;
    r->h = h;
    if (rpc_channel_call(ch, &compact__membership__v1__membership__descriptor, "BatchGetEntities",
                         &req.base, service_config(h->svc)->peer_timeout_ms, NULL, on_recheck,
                         r) == 0)
        h->in_flight = r;
    else
        free(r);
    free(ids); /* the ids point into the subscriptions */
}

/* ---- the hub ------------------------------------------------------------------- */

int notice_hub_new(service *svc, notice_hub **out)
{
    notice_hub *h = calloc(1, sizeof *h);
    long ms = fault_value("notices.recheck_ms", NOTICE_WATCH_RECHECK_MS);

    *out = NULL;
    if (h == NULL)
        return -ENOMEM;
    if (ms < 1)
        ms = NOTICE_WATCH_RECHECK_MS;
    h->svc = svc;
    uv_timer_init(service_loop(svc), &h->timer);
    h->timer.data = h;
    uv_timer_start(&h->timer, on_timer, (uint64_t)ms, (uint64_t)ms);
    *out = h;
    return 0;
}

void notice_hub_drain(notice_hub *h)
{
    if (h == NULL)
        return;
    h->draining = 1;
    while (h->watchers)
        end_watch(h->watchers, RPC_OK, NULL);
}

static void on_timer_closed(uv_handle_t *handle)
{
    notice_hub *h = handle->data;
    void (*cb)(void *) = h->freed_cb;
    void *arg = h->freed_arg;

    free(h);
    cb(arg);
}

void notice_hub_free(notice_hub *h, void (*cb)(void *arg), void *arg)
{
    if (h == NULL) {
        cb(arg);
        return;
    }
    notice_hub_drain(h); /* a start that failed never drained */
    if (h->in_flight)
        h->in_flight->h = NULL;
    for (durable *d = h->waiting; d; d = d->next)
        d->h = NULL; /* their callbacks free them */
    h->freed_cb = cb;
    h->freed_arg = arg;
    uv_close((uv_handle_t *)&h->timer, on_timer_closed);
}

/* alerts.c: duplication alerts from projects' FindOverlaps (see alerts.h). */
#include "alerts.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics_store.h"
#include "log.h"
#include "pbstr.h"
#include "pbtime.h"

typedef Compact__Analytics__V1__DuplicationAlert DuplicationAlert;
typedef Compact__Projects__V1__FindOverlapsResponse FindOverlapsResponse;

typedef struct question {
    alerts *al;
    char id[FACTS_KEY_SIZE];
} question;

struct alerts {
    analytics *a;
    /* Projects waiting to be asked about, sorted (no id twice). */
    char (*waiting)[FACTS_KEY_SIZE];
    size_t n_waiting, cap_waiting;
    int in_flight;
    /* The projects asked about now: one question per project at a time,
     * so that an older answer is never stored over a newer one. */
    question *out[ALERTS_IN_FLIGHT];
    alerts_stats stats;
    /* What the store holds, read again when `loaded` is behind. */
    DuplicationAlert **list;
    size_t n_list;
    uint64_t loaded;
    int stopping;
    void (*stopped_cb)(void *arg);
    void *stopped_arg;
};

static void ask_next(alerts *al);

int alerts_new(analytics *a, alerts **out)
{
    alerts *al = calloc(1, sizeof *al);

    if (al == NULL)
        return -ENOMEM;
    al->a = a;
    al->loaded = (uint64_t)-1;
    *out = al;
    return 0;
}

static void list_free(alerts *al)
{
    for (size_t i = 0; i < al->n_list; i++)
        protobuf_c_message_free_unpacked(&al->list[i]->base, NULL);
    free(al->list);
    al->list = NULL;
    al->n_list = 0;
}

static void alerts_free(alerts *al)
{
    void (*cb)(void *) = al->stopped_cb;
    void *arg = al->stopped_arg;

    list_free(al);
    free(al->waiting);
    free(al);
    cb(arg);
}

/* ---- the waiting set ------------------------------------------------------------ */

void alerts_project_changed(alerts *al, const char *id)
{
    size_t lo = 0, hi = al->n_waiting;

    if (al->stopping)
        return;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(al->waiting[mid], id);
        if (c == 0)
            return;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (al->n_waiting == al->cap_waiting) {
        size_t cap = al->cap_waiting ? 2 * al->cap_waiting : 64;
        void *grown = realloc(al->waiting, cap * sizeof *al->waiting);
        if (grown == NULL)
            return; /* asked about at its next change */
        al->waiting = grown;
        al->cap_waiting = cap;
    }
    memmove(&al->waiting[lo + 1], &al->waiting[lo], (al->n_waiting - lo) * sizeof *al->waiting);
    snprintf(al->waiting[lo], sizeof al->waiting[lo], "%s", id);
    al->n_waiting++;
    ask_next(al);
}

/* ---- an answer --------------------------------------------------------------------- */

/* The alert of `o` about project `id`, or NULL for -ENOMEM. */
static DuplicationAlert *alert_of(const char *id, const Compact__Projects__V1__Overlap *o,
                                  int64_t now_ms)
{
    DuplicationAlert *d = calloc(1, sizeof *d);
    int rc = d ? 0 : -ENOMEM;

    if (d == NULL)
        return NULL;
    compact__analytics__v1__duplication_alert__init(d);
    rc = pbstr_set(&d->project_id, id);
    rc = rc ? rc : pbstr_set(&d->other_project_id, o->project_id);
    rc = rc ? rc : pbstr_set(&d->other_project_title, o->title);
    d->score = o->score;
    d->likely_duplicate = o->likely_duplicate;
    if (rc == 0 && (d->reasons = calloc(o->n_reasons ? o->n_reasons : 1, sizeof(char *))) == NULL)
        rc = -ENOMEM;
    for (size_t i = 0; rc == 0 && i < o->n_reasons; i++) {
        rc = pbstr_set(&d->reasons[i], o->reasons[i]->detail);
        d->n_reasons += rc == 0;
    }
    rc = rc ? rc : pbtime_set(&d->found_time, now_ms);
    if (rc != 0) {
        protobuf_c_message_free_unpacked(&d->base, NULL);
        return NULL;
    }
    return d;
}

static int store_answer(alerts *al, const char *id, const FindOverlapsResponse *r)
{
    DuplicationAlert **v = calloc(r->n_overlaps ? r->n_overlaps : 1, sizeof *v);
    int64_t now = pbtime_now_ms();
    store *st = service_store(al->a->svc);
    size_t n = 0;
    int rc = v ? 0 : -ENOMEM;

    for (size_t i = 0; rc == 0 && i < r->n_overlaps; i++)
        rc = (v[n] = alert_of(id, r->overlaps[i], now)) ? (n++, 0) : -ENOMEM;
    rc = rc ? rc : store_begin(st);
    rc = rc ? rc : analytics_store_put_alerts(st, id, v, n);
    if (rc == 0)
        rc = store_commit(st);
    else
        store_rollback(st);
    for (size_t i = 0; i < n; i++)
        protobuf_c_message_free_unpacked(&v[i]->base, NULL);
    free(v);
    return rc;
}

static void on_answer(void *arg, rpc_code code, const char *message, const ProtobufCMessage *reply)
{
    question *q = arg;
    alerts *al = q->al;
    int rc;

    al->in_flight--;
    for (int i = 0; i < ALERTS_IN_FLIGHT; i++)
        if (al->out[i] == q)
            al->out[i] = NULL;
    if (code == RPC_OK &&
        (rc = store_answer(al, q->id, (const FindOverlapsResponse *)reply)) == 0) {
        al->a->alerts_version++;
        analytics_changed(al->a);
    } else {
        al->stats.failed++;
        log_fmt(LOG_LEVEL_WARN, "overlaps of %s not found: %s %s", q->id,
                code == RPC_OK ? "store" : rpc_code_name(code),
                code == RPC_OK ? strerror(-rc)
                : message      ? message
                               : "");
    }
    free(q);
    if (al->stopping) {
        if (al->in_flight == 0)
            alerts_free(al);
        return;
    }
    ask_next(al);
}

static int asked_now(const alerts *al, const char *id)
{
    for (int i = 0; i < ALERTS_IN_FLIGHT; i++)
        if (al->out[i] && strcmp(al->out[i]->id, id) == 0)
            return 1;
    return 0;
}

/* Takes the last waiting project not asked about now into `q`; 0 if none. */
static int take_waiting(alerts *al, question *q)
{
    for (size_t i = al->n_waiting; i-- > 0;) {
        if (asked_now(al, al->waiting[i]))
            continue;
        snprintf(q->id, sizeof q->id, "%s", al->waiting[i]);
        memmove(&al->waiting[i], &al->waiting[i + 1],
                (al->n_waiting - i - 1) * sizeof *al->waiting);
        al->n_waiting--;
        return 1;
    }
    return 0;
}

/* Asks about waiting projects while fewer than ALERTS_IN_FLIGHT are out. */
static void ask_next(alerts *al)
{
    rpc_channel *ch = service_peer(al->a->svc, "projects");

    while (ch && al->in_flight < ALERTS_IN_FLIGHT && al->n_waiting > 0) {
        Compact__Projects__V1__FindOverlapsRequest req =
            COMPACT__PROJECTS__V1__FIND_OVERLAPS_REQUEST__INIT;
        question *q = malloc(sizeof *q);
        int slot = 0;
        if (q == NULL)
            return;
        q->al = al;
        if (!take_waiting(al, q)) { /* every waiting one is being asked about */
            free(q);
            return;
        }
        req.subject_case = COMPACT__PROJECTS__V1__FIND_OVERLAPS_REQUEST__SUBJECT_PROJECT_ID;
        req.project_id = q->id;
        req.limit = ALERTS_PER_PROJECT;
        if (rpc_channel_call(ch, &compact__projects__v1__projects__descriptor, "FindOverlaps",
                             &req.base, service_config(al->a->svc)->peer_timeout_ms, NULL,
                             on_answer, q) != 0) {
            al->stats.failed++;
            free(q);
            continue;
        }
        while (al->out[slot] != NULL)
            slot++; /* a free one: in_flight < ALERTS_IN_FLIGHT */
        al->out[slot] = q;
        al->in_flight++;
        al->stats.asked++;
    }
}

/* ---- reading ------------------------------------------------------------------------- */

int alerts_list(alerts *al, DuplicationAlert *const **out, size_t *n)
{
    if (al->loaded != al->a->alerts_version) {
        DuplicationAlert **v;
        size_t count;
        int rc = analytics_store_alerts(service_store(al->a->svc), &v, &count);
        if (rc != 0)
            return rc;
        list_free(al);
        al->list = v;
        al->n_list = count;
        al->loaded = al->a->alerts_version;
    }
    *out = al->list;
    *n = al->n_list;
    return 0;
}

void alerts_get_stats(const alerts *al, alerts_stats *out)
{
    *out = al->stats;
    out->waiting = al->n_waiting;
}

void alerts_stop(alerts *al, void (*cb)(void *arg), void *arg)
{
    if (al == NULL) {
        cb(arg);
        return;
    }
    al->stopping = 1;
    al->stopped_cb = cb;
    al->stopped_arg = arg;
    al->n_waiting = 0;
    if (al->in_flight == 0)
        alerts_free(al);
}

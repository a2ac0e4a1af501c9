/* reread.c: aggregates read again from their services (see reread.h). */
#include "reread.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts.h"
#include "analytics_store.h"
#include "log.h"

typedef Compact__Membership__V1__Entity Entity;
typedef Compact__Workgroups__V1__WorkingGroup WorkingGroup;
typedef Compact__Projects__V1__Project Project;

typedef struct question {
    rereads *r;
    char type[24];
    char id[FACTS_KEY_SIZE];
    uint64_t seq_asked;
} question;

struct rereads {
    analytics *a;
    int out; /* answers awaited */
    uint64_t started;
    int stopping;
    void (*stopped_cb)(void *arg);
    void *stopped_arg;
};

int rereads_new(analytics *a, rereads **out)
{
    if ((*out = calloc(1, sizeof **out)) == NULL)
        return -ENOMEM;
    (*out)->a = a;
    return 0;
}

static uint64_t held_now(const model *m, const char *type, const char *id)
{
    const entity_facts *e = strcmp(type, "entity") == 0 ? model_entity(m, id) : NULL;
    const group_facts *g = strcmp(type, "working_group") == 0 ? model_group(m, id) : NULL;
    const project_facts *p = strcmp(type, "project") == 0 ? model_project(m, id) : NULL;

    return e ? e->seq : g ? g->seq : p ? p->seq : 0;
}

/* Stores the state read again and puts it in the figures. */
static void apply_answer(analytics *a, const question *q, const ProtobufCMessage *state)
{
    store *st = service_store(a->svc);
    size_t len = protobuf_c_message_get_packed_size(state);
    uint8_t *buf = malloc(len ? len : 1);
    int rc = buf ? store_begin(st) : -ENOMEM;

    if (buf)
        protobuf_c_message_pack(state, buf);
    rc = rc ? rc : analytics_store_put_snapshot(st, q->type, q->id, q->seq_asked, buf, len);
    rc = rc ? rc : store_commit(st);
    if (rc != 0 && buf)
        store_rollback(st);
    free(buf);
    if (rc != 0) {
        log_fmt(LOG_LEVEL_WARN, "%s %s read again but not stored: %s", q->type, q->id,
                strerror(-rc));
        return;
    }
    if (strcmp(q->type, "entity") == 0)
        rc = model_put_entity(a->model, (const Entity *)state, 0);
    else if (strcmp(q->type, "working_group") == 0)
        rc = model_put_group(a->model, (const WorkingGroup *)state, 0);
    else if ((rc = model_put_project(a->model, (const Project *)state, 0)) == 1)
        alerts_project_changed(a->alerts, q->id);
    if (rc == 1)
        analytics_changed(a);
}

static void on_answer(void *arg, rpc_code code, const char *message, const ProtobufCMessage *reply)
{
    question *q = arg;
    rereads *r = q->r;

    if (code == RPC_OK && !r->stopping && held_now(r->a->model, q->type, q->id) == q->seq_asked)
        apply_answer(r->a, q, reply);
    else if (code != RPC_OK)
        log_fmt(LOG_LEVEL_WARN, "%s %s not read again: %s %s", q->type, q->id, rpc_code_name(code),
                message ? message : "");
    free(q);
    if (--r->out == 0 && r->stopping) {
        void (*cb)(void *) = r->stopped_cb;
        void *cb_arg = r->stopped_arg;
        free(r);
        cb(cb_arg);
    }
}

/* Whom to ask about each kind of aggregate. */
static const struct {
    const char *type, *peer, *method;
    const ProtobufCServiceDescriptor *service;
} kinds[] = {
    {"entity", "membership", "GetEntity", &compact__membership__v1__membership__descriptor},
    {"working_group", "workgroups", "GetWorkingGroup",
     &compact__workgroups__v1__working_groups__descriptor},
    {"project", "projects", "GetProject", &compact__projects__v1__projects__descriptor},
};

void rereads_start(rereads *r, const char *type, const char *id, uint64_t seq)
{
    Compact__Membership__V1__GetEntityRequest ge =
        COMPACT__MEMBERSHIP__V1__GET_ENTITY_REQUEST__INIT;
    Compact__Workgroups__V1__GetWorkingGroupRequest gg =
        COMPACT__WORKGROUPS__V1__GET_WORKING_GROUP_REQUEST__INIT;
    Compact__Projects__V1__GetProjectRequest gp = COMPACT__PROJECTS__V1__GET_PROJECT_REQUEST__INIT;
    const ProtobufCMessage *requests[] = {&ge.base, &gg.base, &gp.base}; /* as kinds[] */
    size_t k = 0, nkinds = sizeof kinds / sizeof kinds[0];
    rpc_channel *ch;
    question *q;

    while (k < nkinds && strcmp(kinds[k].type, type) != 0)
        k++;
    if (k == nkinds || r->stopping || (ch = service_peer(r->a->svc, kinds[k].peer)) == NULL ||
        (q = calloc(1, sizeof *q)) == NULL)
        return;
    ge.key_case = COMPACT__MEMBERSHIP__V1__GET_ENTITY_REQUEST__KEY_ID;
    gg.key_case = COMPACT__WORKGROUPS__V1__GET_WORKING_GROUP_REQUEST__KEY_ID;
    gp.key_case = COMPACT__PROJECTS__V1__GET_PROJECT_REQUEST__KEY_ID;
    ge.id = gg.id = gp.id = (char *)id;
    *q = (question){.r = r, .seq_asked = seq};
    snprintf(q->type, sizeof q->type, "%s", type);
    snprintf(q->id, sizeof q->id, "%s", id);
    if (rpc_channel_call(ch, kinds[k].service, kinds[k].method, requests[k],
                         service_config(r->a->svc)->peer_timeout_ms, NULL, on_answer, q) != 0) {
        free(q);
        return;
    }
    r->out++;
    r->started++;
}

uint64_t rereads_started(const rereads *r)
{
    return r ? r->started : 0;
}

void rereads_stop(rereads *r, void (*cb)(void *arg), void *arg)
{
    if (r == NULL) {
        cb(arg);
        return;
    }
    r->stopping = 1;
    r->stopped_cb = cb;
    r->stopped_arg = arg;
    if (r->out == 0) {
        free(r);
        cb(arg);
    }
}

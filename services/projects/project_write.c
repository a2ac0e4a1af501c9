/* project_write.c: what every write of the projects service shares
 * (see project_write.h). */
#include "project_write.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etag.h"
#include "log.h"
#include "project_derive.h"
#include "project_edit.h"
#include "project_store.h"
#include "status.h"
#include "txn.h"

/* ---- errors ------------------------------------------------------------- */

/* ---- peers -------------------------------------------------------------- */

void project_write_add_entity(project_write_refs *refs, const char *field, const char *id)
{
    size_t i = refs->n_entities;

    if (i >= PROJECT_WRITE_REFS_MAX)
        return;
    snprintf(refs->entity_fields[i], sizeof refs->entity_fields[i], "%s", field);
    refs->entities[i].field = refs->entity_fields[i];
    refs->entities[i].id = id;
    refs->n_entities++;
}

static int has_entity(const Project *p, const char *id)
{
    for (size_t i = 0; p && i < p->n_participants; i++) {
        if (strcmp(p->participants[i]->entity_id, id) == 0)
            return 1;
    }
    return 0;
}

static int has_group(const Project *p, const char *id)
{
    for (size_t i = 0; p && i < p->n_working_group_ids; i++) {
        if (strcmp(p->working_group_ids[i], id) == 0)
            return 1;
    }
    return 0;
}

void project_write_new_refs(project_write_refs *refs, const char *prefix, const Project *next,
                            const Project *prev, unsigned mask)
{
    char field[PROJECT_WRITE_FIELD_SIZE];

    for (size_t i = 0; (mask & PF_PARTICIPANTS) && i < next->n_participants; i++) {
        const char *id = next->participants[i]->entity_id;
        if (has_entity(prev, id))
            continue;
        snprintf(field, sizeof field, "%s.participants[%zu].entity_id", prefix, i);
        project_write_add_entity(refs, field, id);
    }
    for (size_t i = 0; (mask & PF_GROUPS) && i < next->n_working_group_ids; i++) {
        size_t n = refs->n_groups;
        if (has_group(prev, next->working_group_ids[i]) || n >= PROJECT_WRITE_REFS_MAX)
            continue;
        snprintf(refs->group_fields[n], sizeof refs->group_fields[n], "%s.working_group_ids[%zu]",
                 prefix, i);
        refs->groups[n].field = refs->group_fields[n];
        refs->groups[n].id = next->working_group_ids[i];
        refs->n_groups++;
    }
}

/* One check of peers in flight. */
typedef struct peer_check {
    service *svc;
    rpc_call *call;
    project_write_refs *refs;
    project_write_checked_fn done;
    void *arg;
} peer_check;

static void on_groups_checked(void *arg, rpc_code code, const char *message)
{
    peer_check *c = arg;

    if (code != RPC_OK)
        rpc_call_fail(c->call, code, "%s", message);
    c->done(c->arg, code == RPC_OK);
    free(c);
}

static void check_groups(peer_check *c)
{
    if (c->refs->n_groups == 0) {
        c->done(c->arg, 1);
        free(c);
        return;
    }
    if (group_check_start(c->svc, c->call, c->refs->groups, c->refs->n_groups,
                          on_groups_checked, c) != 0) {
        c->done(c->arg, 0);
        free(c);
    }
}

static void on_entities_checked(void *arg, const entity_check_outcome *out)
{
    peer_check *c = arg;

    if (out->code != RPC_OK) {
        rpc_call_fail(c->call, out->code, "%s", out->message);
        c->done(c->arg, 0);
        free(c);
        return;
    }
    check_groups(c);
}

void project_write_check_peers(service *svc, rpc_call *call, project_write_refs *refs,
                               project_write_checked_fn done, void *arg)
{
    peer_check *c = calloc(1, sizeof *c);

    if (c == NULL) {
        rpc_call_fail(call, RPC_INTERNAL, "peer check: out of memory");
        done(arg, 0);
        return;
    }
    *c = (peer_check){.svc = svc, .call = call, .refs = refs, .done = done, .arg = arg};
    if (refs->n_entities == 0) {
        check_groups(c);
        return;
    }
    if (entity_check_start(svc, call, refs->entities, refs->n_entities, on_entities_checked,
                           c) != 0) {
        done(arg, 0);
        free(c);
    }
}

/* ---- the transaction ---------------------------------------------------- */

int project_write_load(rpc_call *call, store *st, const char *field, const char *id,
                       Project **p, int64_t *version)
{
    int rc = project_store_get(st, id, p, version);

    if (rc == -ENOENT)
        status_fail_not_found(call, field, "project", "id", id);
    else if (rc != 0)
        status_fail_store(call, rc, "cannot read the project");
    return rc ? -1 : 0;
}

int project_write_check_etag(rpc_call *call, const char *etag, const Project *p)
{
    if (etag_matches(etag, p->etag))
        return 0;
    rpc_call_fail(call, RPC_ABORTED,
                  "etag: %s is not the current etag of %s: the project changed; read it again",
                  etag, p->id);
    return -1;
}

void project_write_keys_of(project_write_keys *k, const Project *p)
{
    char iati[PROJECT_IATI_MAX * 4 + 1];

    k->n = 0;
    if (cache_key(k->buf[0], sizeof k->buf[0], "projects", "project", p->id) > 0)
        k->v[k->n++] = k->buf[0];
    project_store_iati_key(p->iati_identifier, iati, sizeof iati);
    if (cache_key(k->buf[1], sizeof k->buf[1], "projects", "iati", iati) > 0)
        k->v[k->n++] = k->buf[1];
}

static void index_put(service *svc, const Project *p)
{
    projects_state *state = service_data(svc);
    int rc = state ? overlap_index_put(state->index, p) : 0;

    if (rc != 0)
        log_msg(LOG_ERROR, "overlap index: cannot index the project", "project_id", p->id,
                "error", strerror(-rc), NULL);
}

int project_write_finish(rpc_call *call, service *svc, int rc, Project *p,
                         const char *event_type, const ProtobufCMessage *reply)
{
    project_write_keys keys;

    if (rc == 0)
        rc = project_derive(p);
    project_write_keys_of(&keys, p);
    outbox_event ev = {
        .service = service_name(svc),
        .aggregate_type = "project",
        .aggregate_id = p->id,
        .type = event_type,
        .state = &p->base,
        .cache_keys = keys.v,
        .cache_keys_count = keys.n,
    };
    if (txn_finish(call, svc, rc, &ev, reply ? reply : &p->base) != 0)
        return -1;
    index_put(svc, p);
    return 0;
}

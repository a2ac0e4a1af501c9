/* aggregate.c: an aggregate's reads and writes (see aggregate.h).
 *
 * The fields every aggregate has by the API's conventions (AIP-148, 154):
 * "id", "etag", "create_time" and "update_time" are read and set through the
 * message descriptor, so that the toolkit needs no accessor per type.
 */
#include "aggregate.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etag.h"
#include "ids.h"
#include "log.h"
#include "pbmsg.h"
#include "pbstr.h"
#include "pbtime.h"
#include "status.h"
#include "store_requests.h"
#include "str.h"
#include "validate.h"

#define WHAT_SIZE 96     /* "cannot read the working group" */
#define MESSAGE_SIZE 512 /* aggregate_fail's message */
#define AGGREGATE_KEY_MAX_CHARS 256

/* "cannot <verb> the <noun>", for status_fail_store. */
static const char *what(char *buf, size_t size, const char *verb, const aggregate_def *def)
{
    snprintf(buf, size, "cannot %s the %s", verb, def->noun);
    return buf;
}

/* ---- fields by name --------------------------------------------------------- */

/* The address of message field `name` of `m`, which must be of `type`. */
static void *field_at(ProtobufCMessage *m, const char *name, ProtobufCType type)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(m->descriptor, name);

    if (f == NULL || f->type != type || f->label == PROTOBUF_C_LABEL_REPEATED)
        return NULL;
    return (char *)m + f->offset;
}

static int set_string(ProtobufCMessage *m, const char *name, const char *value)
{
    char **field = field_at(m, name, PROTOBUF_C_TYPE_STRING);

    return field ? pbstr_set(field, value) : -ENOENT;
}

/* Sets Timestamp field `name`, if the type has it. */
static int set_time(ProtobufCMessage *m, const char *name, int64_t ms)
{
    Google__Protobuf__Timestamp **field = field_at(m, name, PROTOBUF_C_TYPE_MESSAGE);

    return field ? pbtime_set(field, ms) : 0;
}

/* ---- cache keys ------------------------------------------------------------ */

/* The form of `value` in cache keys of key `k`; negative when it has none. */
static int cache_id_of(const aggregate_key *k, const char *value, char *buf, size_t size)
{
    if (value == NULL || value[0] == '\0')
        return -EINVAL;
    if (k->cache_id)
        return k->cache_id(value, buf, size);
    return str_copy(buf, size, value) < 0 ? -ENAMETOOLONG : 0;
}

/* Adds the cache key of every key of `state` to the write's set. */
static void note_keys(aggregate_write *w, const ProtobufCMessage *state)
{
    for (size_t i = 0; i < AGGREGATE_KEYS_MAX && w->def->keys[i].field; i++) {
        const aggregate_key *k = &w->def->keys[i];
        char id[TXN_KEY_SIZE];

        if (cache_id_of(k, pbmsg_string(state, k->field), id, sizeof id) == 0)
            txn_keys_add(&w->keys, w->def->service, k->cache_kind, id);
    }
}

/* ---- reads ----------------------------------------------------------------- */

void aggregate_get_reply(rpc_call *call, service *svc, const aggregate_def *def, size_t key,
                         const char *field, const char *value)
{
    const aggregate_key *k = &def->keys[key];
    char id[TXN_KEY_SIZE], ckey[TXN_KEY_SIZE];
    cached_get_spec spec = {
        .descriptor = def->descriptor,
        .load = k->load,
        .ctx = service_store(svc),
        .value = value,
        .field = field,
        .noun = def->noun,
        .label = k->label,
        .key_field = k->field,
        .cache_id = k->cache_id,
    };

    assert(key < AGGREGATE_KEYS_MAX && k->field != NULL);
    if (cache_id_of(k, value, id, sizeof id) != 0 ||
        cache_key(ckey, sizeof ckey, def->service, k->cache_kind, id) < 0) {
        cached_get_reply(call, service_cache(svc), NULL, &spec);
        return;
    }
    cached_get_reply(call, service_cache(svc), ckey, &spec);
}

/* The member of `request`'s oneof that is set, as a key of `def`: its index
 * into def->keys, or -1. */
static int chosen_key(const aggregate_def *def, const ProtobufCMessage *request, const char **value)
{
    const ProtobufCMessageDescriptor *d = request->descriptor;

    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (!(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) || f->type != PROTOBUF_C_TYPE_STRING ||
            *(const uint32_t *)((const char *)request + f->quantifier_offset) != f->id)
            continue;
        for (int k = 0; k < AGGREGATE_KEYS_MAX && def->keys[k].field; k++) {
            if (strcmp(def->keys[k].field, f->name) == 0) {
                *value = *(const char *const *)((const char *)request + f->offset);
                return k;
            }
        }
    }
    return -1;
}

/* INVALID_ARGUMENT "key: set id or acronym" for a request that set none. */
static void fail_no_key(rpc_call *call, const aggregate_def *def)
{
    char keys[128];
    size_t at = 0;

    keys[0] = '\0';
    for (int k = 0; k < AGGREGATE_KEYS_MAX && def->keys[k].field; k++)
        at += (size_t)snprintf(keys + at, sizeof keys - at, "%s%s", k ? " or " : "",
                               def->keys[k].field);
    rpc_call_fail(call, RPC_INVALID_ARGUMENT, "key: set %s", keys);
}

void aggregate_get(rpc_call *call, service *svc, const aggregate_def *def,
                   const ProtobufCMessage *request)
{
    const char *value = NULL;
    int k = chosen_key(def, request, &value);
    const aggregate_key *key;
    int rc;

    if (k < 0) {
        fail_no_key(call, def);
        return;
    }
    key = &def->keys[k];
    if (key->check)
        rc = key->check(call, key->field, value);
    else if (k == 0)
        rc = validate_id(call, key->field, value, def->id_prefix);
    else
        rc = validate_required_string(call, key->field, value, AGGREGATE_KEY_MAX_CHARS);
    if (rc == 0)
        aggregate_get_reply(call, svc, def, (size_t)k, key->field, value);
}

/* The one repeated field of `d` whose messages are of type `item`. */
static const ProtobufCFieldDescriptor *items_field(const ProtobufCMessageDescriptor *d,
                                                   const ProtobufCMessageDescriptor *item)
{
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->label == PROTOBUF_C_LABEL_REPEATED && f->type == PROTOBUF_C_TYPE_MESSAGE &&
            f->descriptor == item)
            return f;
    }
    return NULL;
}

/* Reads ids[0..n) into the arrays; -1 once the call has failed. */
static int batch_read(rpc_call *call, service *svc, const aggregate_def *def, char *const *ids,
                      size_t n, int allow_missing, int basic, ProtobufCMessage **items,
                      size_t *n_items, char **missing, size_t *n_missing)
{
    char buf[WHAT_SIZE];
    size_t bytes = 0;

    for (size_t i = 0; i < n; i++) {
        ProtobufCMessage *m = NULL;
        int rc = def->keys[0].load(service_store(svc), ids[i], &m, NULL);
        if (rc == 0 && basic)
            pbmsg_keep_basic(m);
        if (rc == 0 &&
            (bytes += protobuf_c_message_get_packed_size(m)) > AGGREGATE_BATCH_MAX_BYTES) {
            pbmsg_free(m);
            rpc_call_fail(call, RPC_RESOURCE_EXHAUSTED,
                          "ids: the %ss asked for are over %u bytes together (at ids[%zu]); ask "
                          "for fewer at a time, or for view BASIC",
                          def->noun, AGGREGATE_BATCH_MAX_BYTES, i);
            return -1;
        }
        if (rc == 0) {
            items[(*n_items)++] = m;
        } else if (rc == -ENOENT && allow_missing) {
            missing[(*n_missing)++] = ids[i];
        } else if (rc == -ENOENT) {
            char field[32];
            snprintf(field, sizeof field, "ids[%zu]", i);
            status_fail_not_found(call, field, def->noun, "id", ids[i]);
            return -1;
        } else {
            status_fail_store(call, rc, what(buf, sizeof buf, "read", def));
            return -1;
        }
    }
    return 0;
}

void aggregate_batch_get_reply(rpc_call *call, service *svc, const aggregate_def *def,
                               char *const *ids, size_t n, int allow_missing, int basic,
                               const ProtobufCMessageDescriptor *response)
{
    const ProtobufCFieldDescriptor *fi = items_field(response, def->descriptor);
    const ProtobufCFieldDescriptor *fm =
        protobuf_c_message_descriptor_get_field_by_name(response, "missing_ids");
    ProtobufCMessage *resp = calloc(1, response->sizeof_message);
    ProtobufCMessage **items = calloc(n ? n : 1, sizeof *items);
    char **missing = calloc(n ? n : 1, sizeof *missing);
    size_t n_items = 0, n_missing = 0;
    char buf[WHAT_SIZE];

    assert(fi != NULL && fm != NULL && fm->type == PROTOBUF_C_TYPE_STRING);
    if (resp == NULL || items == NULL || missing == NULL) {
        status_fail_store(call, -ENOMEM, what(buf, sizeof buf, "read", def));
    } else if (batch_read(call, svc, def, ids, n, allow_missing, basic, items, &n_items, missing,
                          &n_missing) == 0) {
        protobuf_c_message_init(response, resp);
        *(ProtobufCMessage ***)((char *)resp + fi->offset) = items;
        *(size_t *)((char *)resp + fi->quantifier_offset) = n_items;
        *(char ***)((char *)resp + fm->offset) = missing;
        *(size_t *)((char *)resp + fm->quantifier_offset) = n_missing;
        rpc_call_reply(call, resp);
    }
    /* The missing ids point into the request: only the array is ours. */
    for (size_t i = 0; i < n_items; i++)
        pbmsg_free(items[i]);
    free(items);
    free(missing);
    free(resp);
}

int aggregate_etag_check(rpc_call *call, const aggregate_def *def, const ProtobufCMessage *state,
                         const char *etag)
{
    if (etag_matches(etag, pbmsg_string(state, "etag")))
        return 0;
    rpc_call_fail(call, RPC_ABORTED,
                  "etag: %s is not the current etag of %s %s: it changed; read it again", etag,
                  def->noun, pbmsg_string(state, "id"));
    return -1;
}

/* Loads `id` for a change (version: NULL outside a write). */
static int load(rpc_call *call, service *svc, const aggregate_def *def, const char *field,
                const char *id, ProtobufCMessage **out, int64_t *version)
{
    char buf[WHAT_SIZE];
    int rc = def->keys[0].load(service_store(svc), id, out, version);

    if (rc == -ENOENT)
        status_fail_not_found(call, field, def->noun, "id", id);
    else if (rc != 0)
        status_fail_store(call, rc, what(buf, sizeof buf, "read", def));
    return rc ? -1 : 0;
}

int aggregate_peek(rpc_call *call, service *svc, const aggregate_def *def, const char *field,
                   const char *id, const char *etag, ProtobufCMessage **out)
{
    *out = NULL;
    if (load(call, svc, def, field, id, out, NULL))
        return -1;
    if (aggregate_etag_check(call, def, *out, etag) == 0)
        return 0;
    pbmsg_free(*out);
    *out = NULL;
    return -1;
}

/* ---- building and changing -------------------------------------------------- */

int aggregate_apply(ProtobufCMessage *state, const ProtobufCMessage *src,
                    const fieldmask_field *fields, unsigned mask)
{
    ProtobufCMessage *copy;

    assert(state->descriptor == src->descriptor);
    if ((copy = pbmsg_copy(src)) == NULL)
        return -ENOMEM;
    for (const fieldmask_field *f = fields; f->name; f++) {
        if (f->bit & mask)
            pbmsg_swap_field(state, copy, f->name);
    }
    pbmsg_free(copy); /* with the old values */
    return 0;
}

ProtobufCMessage *aggregate_new(const ProtobufCMessage *src, const fieldmask_field *fields,
                                unsigned mask)
{
    ProtobufCMessage *m = malloc(src->descriptor->sizeof_message);

    if (m == NULL)
        return NULL;
    protobuf_c_message_init(src->descriptor, m);
    if (aggregate_apply(m, src, fields, mask) != 0) {
        pbmsg_free(m);
        return NULL;
    }
    return m;
}

/* ---- retries ----------------------------------------------------------------- */

/* The request id of the call's request: its "request_id", or "". */
static const char *request_id_of(rpc_call *call)
{
    const ProtobufCMessage *req = rpc_call_request(call);
    const char *id = req ? pbmsg_string(req, "request_id") : NULL;

    return id ? id : "";
}

/* A digest of the call's request, to tell a repeat from another request. */
static int request_digest(rpc_call *call, uint64_t *digest)
{
    const ProtobufCMessage *req = rpc_call_request(call);
    size_t len = protobuf_c_message_get_packed_size(req);
    uint8_t *bytes = malloc(len ? len : 1);

    if (bytes == NULL)
        return -ENOMEM;
    protobuf_c_message_pack(req, bytes);
    *digest = store_requests_digest(bytes, len);
    free(bytes);
    return 0;
}

/* Letters, digits, '-' and '_' (a UUID, say), at most STORE_REQUEST_ID_MAX. */
static const char *request_id_problem(const char *id)
{
    if (strlen(id) > STORE_REQUEST_ID_MAX)
        return "is longer than 64 characters";
    for (const char *p = id; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_'))
            return "may contain only letters, digits, '-' and '_' (a UUID, say)";
    }
    return NULL;
}

int aggregate_replay(rpc_call *call, service *svc)
{
    const char *id = request_id_of(call);
    store_request kept;
    uint64_t digest;
    int rc;

    if (id[0] == '\0')
        return 0;
    if (validate_problem(call, "request_id", request_id_problem(id)))
        return 1;
    if ((rc = store_requests_get(service_store(svc), id, &kept)) == -ENOENT)
        return 0;
    if (rc == 0)
        rc = request_digest(call, &digest);
    if (rc != 0)
        status_fail_store(call, rc, "cannot look up the request id");
    else if (strcmp(kept.method, rpc_call_method(call)) != 0 || kept.digest != digest)
        rpc_call_fail(call, RPC_ALREADY_EXISTS,
                      "request_id: \"%s\" was already used for a different request; a retry "
                      "must repeat its request exactly",
                      id);
    else
        rpc_call_reply_bytes(call, kept.reply, kept.reply_len); /* the first answer */
    store_requests_free(&kept);
    return 1;
}

/* Keeps the answer to the call's request id, if it has one, in the open
 * transaction. Returns 0 or a negative errno. */
static int keep_answer(rpc_call *call, service *svc, const ProtobufCMessage *reply)
{
    const char *id = request_id_of(call);
    uint64_t digest;
    size_t len;
    uint8_t *bytes;
    int rc;

    if (id[0] == '\0')
        return 0;
    if ((rc = request_digest(call, &digest)) != 0)
        return rc;
    len = protobuf_c_message_get_packed_size(reply);
    if ((bytes = malloc(len ? len : 1)) == NULL)
        return -ENOMEM;
    protobuf_c_message_pack(reply, bytes);
    rc = store_requests_put(service_store(svc), id, rpc_call_method(call), digest, bytes, len);
    free(bytes);
    return rc;
}

/* ---- writes ---------------------------------------------------------------- */

/* Fails the call unless it is still wanted: nothing is written for a
 * client that is gone or was told the deadline passed. */
static int check_wanted(rpc_call *call)
{
    switch (rpc_call_abandoned(call)) {
    case RPC_OK:
        return 0;
    case RPC_CANCELLED:
        rpc_call_fail(call, RPC_CANCELLED, "cancelled by the client; nothing was written");
        return -1;
    default:
        rpc_call_fail(call, RPC_DEADLINE_EXCEEDED,
                      "deadline passed before the change was made; nothing was written");
        return -1;
    }
}

static void write_init(aggregate_write *w, rpc_call *call, service *svc, const aggregate_def *def)
{
    assert(call != NULL && svc != NULL && def != NULL && def->keys[0].load != NULL);
    memset(w, 0, sizeof *w);
    w->call = call;
    w->svc = svc;
    w->def = def;
    w->now_ms = pbtime_now_ms();
}

/* Ends a write that failed before its commit. */
static int give_up(aggregate_write *w, int rolled_back)
{
    if (!rolled_back)
        store_rollback(service_store(w->svc));
    pbmsg_free(w->state);
    w->state = NULL;
    return -1;
}

int aggregate_begin(aggregate_write *w, rpc_call *call, service *svc, const aggregate_def *def,
                    const char *field, const char *id, const char *etag)
{
    write_init(w, call, svc, def);
    if (aggregate_replay(call, svc) || check_wanted(call) || txn_begin(call, service_store(svc)))
        return -1;
    if (load(call, svc, def, field, id, &w->state, &w->version) ||
        aggregate_etag_check(call, def, w->state, etag))
        return give_up(w, 0);
    note_keys(w, w->state);
    if (set_time(w->state, "update_time", w->now_ms) != 0) {
        status_fail_store(call, -ENOMEM, "cannot change the aggregate");
        return give_up(w, 0);
    }
    return 0;
}

/* A fresh id and the times of a new aggregate. */
static int stamp_new(aggregate_write *w)
{
    char id[IDS_SIZE];
    int rc = ids_new(w->def->id_prefix, id, sizeof id);

    if (rc == 0)
        rc = set_string(w->state, "id", id);
    if (rc == 0)
        rc = set_time(w->state, "create_time", w->now_ms);
    if (rc == 0)
        rc = set_time(w->state, "update_time", w->now_ms);
    return rc;
}

int aggregate_begin_new(aggregate_write *w, rpc_call *call, service *svc, const aggregate_def *def,
                        ProtobufCMessage *state)
{
    char buf[WHAT_SIZE];
    int rc;

    write_init(w, call, svc, def);
    assert(state == NULL || state->descriptor == def->descriptor);
    w->state = state;
    if ((rc = state ? stamp_new(w) : -ENOMEM) != 0) {
        status_fail_store(call, rc, what(buf, sizeof buf, "create", def));
        return give_up(w, 1);
    }
    if (aggregate_replay(call, svc) || check_wanted(call) || txn_begin(call, service_store(svc)))
        return give_up(w, 1);
    return 0;
}

int aggregate_check_etag(aggregate_write *w, const char *etag)
{
    if (aggregate_etag_check(w->call, w->def, w->state, etag) == 0)
        return 0;
    return give_up(w, 0);
}

int aggregate_refresh(aggregate_write *w, int rc)
{
    assert(w->state != NULL);
    if (rc == 0 && !w->refreshed && w->def->refresh)
        rc = w->def->refresh(w);
    w->refreshed = 1;
    return rc;
}

/* Ends the write with FAILED_PRECONDITION, and returns 1, if the change
 * would make the aggregate larger than it may be (see aggregate.h). */
static int over_size(aggregate_write *w)
{
    size_t max = w->def->max_bytes ? w->def->max_bytes : AGGREGATE_MAX_BYTES;
    size_t size = protobuf_c_message_get_packed_size(w->state);

    if (size <= max)
        return 0;
    aggregate_fail(w, RPC_FAILED_PRECONDITION,
                   "%s %s would be %zu bytes with this change, over the %zu bytes one %s may "
                   "hold; nothing was written",
                   w->def->noun, pbmsg_string(w->state, "id"), size, max, w->def->noun);
    return 1;
}

/* The `committed` hook of a write, waiting for the COMMIT of its batch. */
typedef struct aggregate_committed {
    service *svc;
    void (*committed)(service *svc, const ProtobufCMessage *state);
    ProtobufCMessage *state;
} aggregate_committed;

/* store_sync_cb: the write's batch committed (rc 0), or not (none of it
 * is kept: the hook must not see it), or the service stops. */
static void on_committed(void *arg, int rc)
{
    aggregate_committed *c = arg;

    if (rc == 0)
        c->committed(c->svc, c->state);
    pbmsg_free(c->state);
    free(c);
}

/* Hands w->state to the `committed` hook once the write's COMMIT is known
 * (store_after_commit); w->state is then NULL. */
static void after_commit(aggregate_write *w)
{
    aggregate_committed *c = malloc(sizeof *c);

    if (c == NULL) {
        log_msg(LOG_LEVEL_ERROR, "out of memory: a committed hook is skipped", "type", w->def->type,
                NULL);
        return;
    }
    *c = (aggregate_committed){.svc = w->svc, .committed = w->def->committed, .state = w->state};
    w->state = NULL;
    store_after_commit(service_store(w->svc), on_committed, c);
}

void aggregate_commit(aggregate_write *w, int rc, const char *event_type,
                      const ProtobufCMessage *reply)
{
    assert(w->state != NULL && event_type != NULL);
    rc = aggregate_refresh(w, rc);
    if (rc == 0 && over_size(w))
        return;
    if (rc == 0)
        rc = keep_answer(w->call, w->svc, reply ? reply : w->state);
    note_keys(w, w->state);
    outbox_event ev = {
        .service = w->def->service,
        .aggregate_type = w->def->type,
        .aggregate_id = pbmsg_string(w->state, "id"),
        .type = event_type,
        .state = w->state,
        .cache_keys = w->keys.v,
        .cache_keys_count = w->keys.n,
    };
    if (txn_finish(w->call, w->svc, rc, &ev, reply ? reply : w->state) == 0 && w->def->committed)
        after_commit(w);
    pbmsg_free(w->state);
    w->state = NULL;
}

void aggregate_fail(aggregate_write *w, rpc_code code, const char *fmt, ...)
{
    char message[MESSAGE_SIZE];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    rpc_call_fail(w->call, code, "%s", message);
    aggregate_abort(w);
}

void aggregate_abort(aggregate_write *w)
{
    assert(w->state != NULL);
    give_up(w, 0);
}

void aggregate_reply_stored(aggregate_write *w, const char *field, const char *id)
{
    rpc_call *call = w->call;
    service *svc = w->svc;
    const aggregate_def *def = w->def;
    ProtobufCMessage *stored;
    char copy[IDS_SIZE];

    snprintf(copy, sizeof copy, "%s", id); /* `id` may die with the state */
    aggregate_abort(w);
    if (aggregate_peek(call, svc, def, field, copy, "", &stored) == 0) {
        rpc_call_reply(call, stored);
        pbmsg_free(stored);
    }
}

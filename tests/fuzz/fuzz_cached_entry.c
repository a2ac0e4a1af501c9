/* fuzz_cached_entry.c: a cache entry of any bytes, read by a Get.
 *
 * cached_get.c answers a Get with the cached bytes as they are once they
 * unpack as the message: vouched for by a walk of the wire format
 * (pbwire.h), or, when the walk cannot tell, unpacked in an arena on the
 * stack (or, when the arena is too small, on the heap); an entry that does
 * not unpack is logged and the store is read instead. aggregate.c's Get of every aggregate goes
 * that way. Here the three services run in process, each with a fake Redis
 * (fake_redis.h) that answers every GET with the input's bytes, and an empty
 * store. The check must agree with protobuf-c's own unpack on the heap, and
 * an entry is trusted only if it is the message asked for (its key field
 * names the value looked up: cached_get.c, is_the_one):
 *   - OK only with exactly the entry's bytes, and only if they unpack;
 *   - NOT_FOUND (the store is empty) only if they do not unpack, are empty
 *     (an empty value is a missing key), or name another aggregate: bytes
 *     that unpack and whose key field is the value asked, to the letter,
 *     must be answered;
 * and cached_get_message, the same read outside an RPC, hands over a
 * message exactly when they unpack.
 *
 * An input is one byte and the entry. The byte: its low bits modulo 3 pick
 * the service (membership's Entity, workgroups' WorkingGroup, projects'
 * Project); 0x10 reads by the second key (acronym, code, IATI identifier)
 * instead of the id; 0x20 reads with cached_get_message instead of the Get.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cached_get.h"
#include "compact/membership/v1/membership.pb-c.h"
#include "compact/projects/v1/projects.pb-c.h"
#include "compact/workgroups/v1/workgroups.pb-c.h"
#include "fake_redis.h"
#include "fuzz_service.h"
#include "membership_service.h"
#include "projects_service.h"
#include "workgroups_service.h"

#define WAIT_MS 10000
#define SECOND_KEY 0x10
#define OUTSIDE_RPC 0x20

typedef struct target {
    const service_def *(*def)(void);
    const char *method; /* the Get of the aggregate */
    const ProtobufCMessageDescriptor *entry;
    const char *keys[2][2]; /* {request field, value}: the id, then the second key */
    service *svc;           /* open for the whole run */
    fake_redis *redis;      /* on the service's loop */
} target;

static target targets[] = {
    {.def = membership_service_def,
     .method = "GetEntity",
     .entry = &compact__membership__v1__entity__descriptor,
     .keys = {{"id", "ent_aaaaaaaaaaaaaaaaaaaa"}, {"acronym", "UNOCT"}}},
    {.def = workgroups_service_def,
     .method = "GetWorkingGroup",
     .entry = &compact__workgroups__v1__working_group__descriptor,
     .keys = {{"id", "wg_aaaaaaaaaaaaaaaaaaaa"}, {"code", "BMLE"}}},
    {.def = projects_service_def,
     .method = "GetProject",
     .entry = &compact__projects__v1__project__descriptor,
     .keys = {{"id", "prj_aaaaaaaaaaaaaaaaaaaa"}, {"iati_identifier", "XM-DAC-47066-FUZZ-1"}}},
};

#define N_TARGETS (sizeof targets / sizeof targets[0])

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void fail(const char *fmt, ...)
{
    va_list ap;

    fputs("fuzz_cached_entry: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

/* Runs `t`'s loop until *flag is set. */
static void run_until(target *t, const int *flag, const char *what)
{
    uint64_t limit = uv_hrtime() + (uint64_t)WAIT_MS * 1000000u;

    while (!*flag) {
        if (uv_hrtime() > limit)
            fail("%s: %s: not within %d ms", t->def()->name, what, WAIT_MS);
        uv_run(service_loop(t->svc), UV_RUN_ONCE);
    }
}

static void open_target(target *t)
{
    char addr[32];
    int rc;

    if ((rc = fake_redis_new(&t->redis)) != 0)
        fail("fake_redis_new: %s", strerror(-rc));
    snprintf(addr, sizeof addr, "127.0.0.1:%d", fake_redis_port(t->redis));
    if ((rc = service_open_for_test(t->def(), ":memory:", addr, &t->svc)) != 0)
        fail("service_open_for_test: %s", strerror(-rc));
    if ((rc = fake_redis_start(t->redis, service_loop(t->svc))) != 0)
        fail("fake_redis_start: %s", uv_strerror(rc));
    uint64_t limit = uv_hrtime() + (uint64_t)WAIT_MS * 1000000u;
    while (!cache_connected(service_cache(t->svc))) {
        if (uv_hrtime() > limit)
            fail("%s: the cache did not connect to the fake Redis", t->def()->name);
        uv_run(service_loop(t->svc), UV_RUN_ONCE);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_service_init(membership_service_def());
    for (size_t i = 0; i < N_TARGETS; i++)
        open_target(&targets[i]);
    return 0;
}

/* ---- through the Get handler ---------------------------------------------- */

typedef struct get_answer {
    int done;
    rpc_code code;
    void *reply;
    size_t len;
} get_answer;

static void on_get_answer(void *arg, rpc_code code, const char *message, const void *reply,
                          size_t len)
{
    get_answer *a = arg;

    (void)message;
    a->done++;
    a->code = code;
    if (reply != NULL) {
        a->reply = malloc(len ? len : 1);
        if (a->reply == NULL)
            abort();
        memcpy(a->reply, reply, len);
        a->len = len;
    }
}

/* The Get request of `t` by key `k`: the request's oneof member set. */
static ProtobufCMessage *get_request(const ProtobufCMessageDescriptor *desc, const char *field,
                                     const char *value)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(desc, field);
    ProtobufCMessage *m = calloc(1, desc->sizeof_message);

    if (f == NULL || m == NULL)
        fail("%s has no field %s", desc->name, field);
    protobuf_c_message_init(desc, m);
    *(const char **)((char *)m + f->offset) = value;
    *(uint32_t *)((char *)m + f->quantifier_offset) = f->id;
    return m;
}

/* 1 if `m` (NULL: no) names exactly the value key `key` of `t` asks for. */
static int names_the_key(const target *t, const ProtobufCMessage *m, int key)
{
    const ProtobufCFieldDescriptor *f;

    if (m == NULL)
        return 0;
    f = protobuf_c_message_descriptor_get_field_by_name(t->entry, t->keys[key][0]);
    if (f == NULL || f->type != PROTOBUF_C_TYPE_STRING)
        fail("%s has no string field %s", t->entry->name, t->keys[key][0]);
    return strcmp(*(char *const *)((const char *)m + f->offset), t->keys[key][1]) == 0;
}

static void read_by_get(target *t, int key, const uint8_t *entry, size_t len, int unpacks,
                        int names_key)
{
    const service_def *def = t->def();
    const rpc_method *row = def->methods;
    while (row->name && strcmp(row->name, t->method) != 0)
        row++;
    const ProtobufCMethodDescriptor *md =
        protobuf_c_service_descriptor_get_method_by_name(def->descriptor, t->method);
    if (row->name == NULL || md == NULL)
        fail("%s has no method %s", def->name, t->method);
    ProtobufCMessage *req = get_request(md->input, t->keys[key][0], t->keys[key][1]);
    char path[128];
    get_answer a = {0};
    rpc_call *call;

    snprintf(path, sizeof path, "/%s/%s", def->descriptor->name, md->name);
    if (rpc_call_new_local(path, on_get_answer, &a, &call) != 0)
        abort();
    row->handler(call, req, t->svc);
    run_until(t, &a.done, "the Get's answer");
    free(req); /* its strings are constants */
    if (a.code == RPC_OK && (!unpacks || a.len != len || memcmp(a.reply, entry, len) != 0))
        fail("%s: answered OK with %zu bytes that are not an entry unpacking as %s", path, a.len,
             t->entry->name);
    if (a.code == RPC_NOT_FOUND && unpacks && names_key)
        fail("%s: an entry that unpacks as %s and names %s was not answered", path, t->entry->name,
             t->keys[key][1]);
    if (a.code != RPC_OK && a.code != RPC_NOT_FOUND)
        fail("%s: answered %s, neither the entry nor the (empty) store's NOT_FOUND", path,
             rpc_code_name(a.code));
    free(a.reply);
}

/* ---- through cached_get_message ------------------------------------------- */

typedef struct message_answer {
    int done, rc;
    const ProtobufCMessageDescriptor *desc;
} message_answer;

static int load_nothing(void *ctx, const char *value, ProtobufCMessage **out, int64_t *version)
{
    (void)ctx;
    (void)value;
    (void)version;
    *out = NULL;
    return -ENOENT;
}

static void on_message(void *arg, int rc, ProtobufCMessage *msg)
{
    message_answer *a = arg;

    a->done++;
    a->rc = rc;
    if ((rc == 0) != (msg != NULL) || (msg && msg->descriptor != a->desc))
        fail("cached_get_message: rc %d with message %p of %s", rc, (void *)msg,
             msg ? msg->descriptor->name : "-");
    if (msg)
        protobuf_c_message_free_unpacked(msg, NULL);
}

static void read_by_message(target *t, int unpacks)
{
    message_answer a = {.desc = t->entry};
    cached_get_spec spec = {.descriptor = t->entry,
                            .load = load_nothing,
                            .value = "fuzz",
                            .field = "id",
                            .noun = "entry",
                            .label = "id"};

    cached_get_message(service_cache(t->svc), "compact:fuzz:entry:fuzz", &spec, on_message, &a);
    run_until(t, &a.done, "cached_get_message's callback");
    if (unpacks && a.rc != 0)
        fail("cached_get_message: an entry that unpacks as %s gave %d", t->entry->name, a.rc);
    if (!unpacks && a.rc != -ENOENT)
        fail("cached_get_message: an entry that does not unpack as %s gave %d, not the store's "
             "-ENOENT",
             t->entry->name, a.rc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    target *t = &targets[(data[0] & 0x0f) % N_TARGETS];
    const uint8_t *entry = data + 1;
    size_t len = size - 1;
    ProtobufCMessage *m = protobuf_c_message_unpack(t->entry, NULL, len, entry);
    /* An empty value is no entry: Redis answers GETRANGE with "" for a
     * missing key too, and no entry of ours is empty (cache.c), so the
     * store is read. */
    int unpacks = m != NULL && len > 0;
    int key = (data[0] & SECOND_KEY) ? 1 : 0;
    int names_key = names_the_key(t, m, key);
    uint64_t gets = fake_redis_gets(t->redis);

    if (m)
        protobuf_c_message_free_unpacked(m, NULL);
    if (fake_redis_set_value(t->redis, entry, len) != 0)
        abort();
    if (data[0] & OUTSIDE_RPC)
        read_by_message(t, unpacks);
    else
        read_by_get(t, key, entry, len, unpacks, names_key);
    if (fake_redis_gets(t->redis) == gets)
        fail("%s: the read did not ask Redis (is the cache still connected?)", t->def()->name);
    return 0;
}

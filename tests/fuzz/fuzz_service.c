/* fuzz_service.c: the engine of the service harnesses (see fuzz_service.h). */
#include "fuzz_service.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/slice.h>

#include "log.h"
#include "rpc_internal.h"

/* What came back on the local call. */
typedef struct fuzz_answer {
    const char *method; /* "/pkg.Service/Method", for reports */
    const ProtobufCMessageDescriptor *output;
    int answers;
} fuzz_answer;

static void fuzz_fail(const char *method, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));

static void fuzz_fail(const char *method, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "fuzz_service: %s: ", method);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

void fuzz_service_init(const service_def *def)
{
    const char *level = getenv("COMPACT_LOG_LEVEL");
    log_level lv = LOG_LEVEL_ERROR;

    if (level && log_level_parse(level, &lv) != 0)
        lv = LOG_LEVEL_ERROR;
    log_init(def->name, lv);
    signal(SIGPIPE, SIG_IGN); /* as service_main: a write to a closed socket fails instead */
}

/* rpc_local_done_fn: checks the answer (see fuzz_service.h). */
static void on_answer(void *arg, rpc_code code, const char *message, const void *reply, size_t len)
{
    fuzz_answer *a = arg;

    if (++a->answers > 1)
        fuzz_fail(a->method, "answered twice");
    /* COMPACT_LOG_LEVEL=debug shows what each input got (make_corpus.py's
     * seeds should mostly get OK). */
    log_msg(LOG_LEVEL_DEBUG, "answer", "method", a->method, "code", rpc_code_name(code), "message",
            message, NULL);
    if (code == RPC_OK) {
        ProtobufCMessage *m = protobuf_c_message_unpack(a->output, NULL, len, reply);
        if (m == NULL)
            fuzz_fail(a->method, "OK, but the %zu reply bytes are not a %s", len, a->output->name);
        protobuf_c_message_free_unpacked(m, NULL);
        return;
    }
    if ((unsigned)code > RPC_UNAUTHENTICATED)
        fuzz_fail(a->method, "status code %d is not one of the guide's", (int)code);
    if (reply != NULL)
        fuzz_fail(a->method, "%s with a reply", rpc_code_name(code));
    if (message == NULL || message[0] == '\0')
        fuzz_fail(a->method, "%s without a message", rpc_code_name(code));
}

/* The request as the server decodes it: from a byte buffer, by rpc__unpack. */
static ProtobufCMessage *decode(const ProtobufCMessageDescriptor *desc, const uint8_t *data,
                                size_t size)
{
    grpc_slice slice = grpc_slice_from_copied_buffer((const char *)data, size);
    grpc_byte_buffer *buf = grpc_raw_byte_buffer_create(&slice, 1);
    ProtobufCMessage *msg = rpc__unpack(desc, buf, NULL);

    grpc_slice_unref(slice);
    grpc_byte_buffer_destroy(buf);
    return msg;
}

/* `msg` packed, in memory from malloc (*len bytes). */
static uint8_t *pack(const ProtobufCMessage *msg, size_t *len)
{
    *len = protobuf_c_message_get_packed_size(msg);
    uint8_t *out = malloc(*len ? *len : 1);
    if (out == NULL)
        abort();
    protobuf_c_message_pack(msg, out);
    return out;
}

int fuzz_service_write(service *svc, int (*fn)(store *st, void *arg), void *arg)
{
    store *st = service_store(svc);
    int rc = store_begin(st);

    if (rc != 0)
        return rc;
    if ((rc = fn(st, arg)) != 0) {
        store_rollback(st);
        return rc;
    }
    return store_commit(st);
}

void fuzz_service_reset_string(char **field)
{
    if (*field != protobuf_c_empty_string)
        free(*field);
    *field = (char *)protobuf_c_empty_string;
}

static void run_until_answered(service *svc, const fuzz_answer *a)
{
    uv_loop_t *loop = service_loop(svc);
    uint64_t limit = uv_hrtime() + (uint64_t)FUZZ_SERVICE_ANSWER_MS * 1000000u;

    while (a->answers == 0) {
        if (uv_hrtime() > limit)
            fuzz_fail(a->method, "not answered within %d ms", FUZZ_SERVICE_ANSWER_MS);
        uv_run(loop, UV_RUN_ONCE);
    }
}

int fuzz_service_run(const service_def *def, fuzz_service_fixtures_fn fixtures, const uint8_t *data,
                     size_t size)
{
    size_t rows = 0;
    char path[256];

    while (def->methods[rows].name)
        rows++;
    if (size < 1 || rows == 0)
        return 0;
    const rpc_method *row = &def->methods[data[0] % rows];
    const ProtobufCMethodDescriptor *md =
        protobuf_c_service_descriptor_get_method_by_name(def->descriptor, row->name);
    if (md == NULL)
        fuzz_fail(row->name, "not a method of %s", def->descriptor->name);
    snprintf(path, sizeof path, "/%s/%s", def->descriptor->name, md->name);

    ProtobufCMessage *req = decode(md->input, data + 1, size - 1);
    if (req == NULL)
        return 0; /* the server answers INVALID_ARGUMENT; no handler runs */

    service *svc = NULL;
    int rc = service_open_for_test(def, ":memory:", NULL, &svc);
    if (rc != 0)
        fuzz_fail(path, "service_open_for_test: %s", strerror(-rc));
    if (fixtures && (rc = fixtures(svc)) != 0)
        fuzz_fail(path, "writing the fixtures: %s", strerror(-rc));

    size_t before_len, after_len;
    uint8_t *before = pack(req, &before_len);
    fuzz_answer answer = {.method = path, .output = md->output};
    rpc_call *call = NULL;
    if (rpc_call_new_local(path, on_answer, &answer, &call) != 0)
        abort();
    row->handler(call, req, svc);
    run_until_answered(svc, &answer);

    uint8_t *after = pack(req, &after_len);
    if (after_len != before_len || memcmp(before, after, before_len) != 0)
        fuzz_fail(path, "the handler changed its (const) request");
    free(before);
    free(after);
    protobuf_c_message_free_unpacked(req, NULL);
    if (service_close_for_test(svc) != 0)
        fuzz_fail(path, "the loop still had open handles after the service closed");
    return 0;
}

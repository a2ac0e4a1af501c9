/* reflection.c: answers ServerReflectionInfo from the embedded descriptors.
 *
 * At start the embedded FileDescriptorSet is unpacked once. A request for a
 * file, by name or by a symbol it defines, is answered with that file and
 * every file it imports, transitively, dependencies first: what grpcurl
 * needs to build the descriptors in one round trip.
 *
 * v1 and v1alpha have the same messages under two package names. The
 * handlers work on v1alpha types; a v1 call has its request and replies
 * converted through the wire format, which is identical.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "google/protobuf/descriptor.pb-c.h"
#include "grpc/reflection/v1/reflection.pb-c.h"
#include "grpc/reflection/v1alpha/reflection.pb-c.h"
#include "log.h"
#include "reflection.h"

extern const unsigned char compact_descriptor_set[];
extern const size_t compact_descriptor_set_len;

typedef Google__Protobuf__FileDescriptorProto file_proto;
typedef Google__Protobuf__DescriptorProto message_proto;
typedef Grpc__Reflection__V1alpha__ServerReflectionRequest refl_request;
typedef Grpc__Reflection__V1alpha__ServerReflectionResponse refl_response;

struct reflection {
    Google__Protobuf__FileDescriptorSet *set;
    char **names;
    size_t names_count;
};

/* ---- finding files ------------------------------------------------------ */

static const file_proto *file_by_name(const reflection *r, const char *name)
{
    for (size_t i = 0; i < r->set->n_file; i++)
        if (strcmp(r->set->file[i]->name, name) == 0)
            return r->set->file[i];
    return NULL;
}

/* "<scope>.<name>", or "<name>" with no scope, into buf; a name that does
 * not fit comes out empty, which matches no symbol. */
static const char *join(char *buf, size_t size, const char *scope, const char *name)
{
    size_t slen = scope ? strlen(scope) : 0, nlen = strlen(name);
    if (slen + nlen + 2 > size) {
        buf[0] = '\0';
        return buf;
    }
    if (slen) {
        memcpy(buf, scope, slen);
        buf[slen++] = '.';
    }
    memcpy(buf + slen, name, nlen + 1);
    return buf;
}

static int symbol_is(const char *symbol, const char *scope, const char *name)
{
    char full[512];
    return strcmp(symbol, join(full, sizeof full, scope, name)) == 0;
}

static int message_defines(const message_proto *m, const char *scope, const char *symbol)
{
    char full[512];
    join(full, sizeof full, scope, m->name);
    size_t len = strlen(full);
    if (strcmp(symbol, full) == 0)
        return 1;
    if (strncmp(symbol, full, len) != 0 || symbol[len] != '.')
        return 0;
    for (size_t i = 0; i < m->n_nested_type; i++)
        if (message_defines(m->nested_type[i], full, symbol))
            return 1;
    for (size_t i = 0; i < m->n_enum_type; i++)
        if (symbol_is(symbol, full, m->enum_type[i]->name))
            return 1;
    for (size_t i = 0; i < m->n_field; i++)
        if (symbol_is(symbol, full, m->field[i]->name))
            return 1;
    return 0;
}

static int file_defines(const file_proto *f, const char *symbol)
{
    const char *pkg = f->package;
    for (size_t i = 0; i < f->n_message_type; i++)
        if (message_defines(f->message_type[i], pkg, symbol))
            return 1;
    for (size_t i = 0; i < f->n_enum_type; i++)
        if (symbol_is(symbol, pkg, f->enum_type[i]->name))
            return 1;
    for (size_t i = 0; i < f->n_service; i++) {
        const Google__Protobuf__ServiceDescriptorProto *s = f->service[i];
        if (symbol_is(symbol, pkg, s->name))
            return 1;
        char scope[512];
        join(scope, sizeof scope, pkg, s->name);
        for (size_t k = 0; k < s->n_method; k++)
            if (symbol_is(symbol, scope, s->method[k]->name))
                return 1;
    }
    return 0;
}

static const file_proto *file_by_symbol(const reflection *r, const char *symbol)
{
    for (size_t i = 0; i < r->set->n_file; i++)
        if (file_defines(r->set->file[i], symbol))
            return r->set->file[i];
    return NULL;
}

/* ---- building replies --------------------------------------------------- */

typedef struct file_list {
    const file_proto *files[64];
    size_t count;
} file_list;

static int file_list_has(const file_list *l, const file_proto *f)
{
    for (size_t i = 0; i < l->count; i++)
        if (l->files[i] == f)
            return 1;
    return 0;
}

/* `f` after its imports, each file once (imports cannot form cycles). */
static void file_list_add(const reflection *r, file_list *l, const file_proto *f)
{
    if (f == NULL || file_list_has(l, f))
        return;
    for (size_t i = 0; i < f->n_dependency; i++)
        file_list_add(r, l, file_by_name(r, f->dependency[i]));
    if (l->count < sizeof l->files / sizeof l->files[0])
        l->files[l->count++] = f;
}

static void reply_files(refl_response *resp, const file_list *l,
                        Grpc__Reflection__V1alpha__FileDescriptorResponse *fdr,
                        ProtobufCBinaryData *blobs)
{
    for (size_t i = 0; i < l->count; i++) {
        size_t len = protobuf_c_message_get_packed_size(&l->files[i]->base);
        blobs[i].data = malloc(len);
        blobs[i].len =
            blobs[i].data ? protobuf_c_message_pack(&l->files[i]->base, blobs[i].data) : 0;
    }
    fdr->n_file_descriptor_proto = l->count;
    fdr->file_descriptor_proto = blobs;
    resp->message_response_case =
        GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_FILE_DESCRIPTOR_RESPONSE;
    resp->file_descriptor_response = fdr;
}

static void reply_error(refl_response *resp, Grpc__Reflection__V1alpha__ErrorResponse *err,
                        rpc_code code, const char *message)
{
    err->error_code = code;
    err->error_message = (char *)message;
    resp->message_response_case =
        GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ERROR_RESPONSE;
    resp->error_response = err;
}

/* Answers one request into a packed v1alpha response (caller frees data). */
static ProtobufCBinaryData answer(const reflection *r, const refl_request *req)
{
    refl_response resp = GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_RESPONSE__INIT;
    Grpc__Reflection__V1alpha__FileDescriptorResponse fdr =
        GRPC__REFLECTION__V1ALPHA__FILE_DESCRIPTOR_RESPONSE__INIT;
    Grpc__Reflection__V1alpha__ListServiceResponse lsr =
        GRPC__REFLECTION__V1ALPHA__LIST_SERVICE_RESPONSE__INIT;
    Grpc__Reflection__V1alpha__ErrorResponse err = GRPC__REFLECTION__V1ALPHA__ERROR_RESPONSE__INIT;
    Grpc__Reflection__V1alpha__ServiceResponse services[16];
    Grpc__Reflection__V1alpha__ServiceResponse *service_ptrs[16];
    ProtobufCBinaryData blobs[64] = {{0}};
    file_list files = {.count = 0};

    resp.valid_host = req->host;
    resp.original_request = (refl_request *)req;
    switch (req->message_request_case) {
    case GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_LIST_SERVICES:
        for (size_t i = 0; i < r->names_count && i < 16; i++) {
            grpc__reflection__v1alpha__service_response__init(&services[i]);
            services[i].name = r->names[i];
            service_ptrs[i] = &services[i];
        }
        lsr.n_service = r->names_count < 16 ? r->names_count : 16;
        lsr.service = service_ptrs;
        resp.message_response_case =
            GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_LIST_SERVICES_RESPONSE;
        resp.list_services_response = &lsr;
        break;
    case GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_BY_FILENAME:
        file_list_add(r, &files, file_by_name(r, req->file_by_filename));
        break;
    case GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_SYMBOL:
        file_list_add(r, &files, file_by_symbol(r, req->file_containing_symbol));
        break;
    default:
        reply_error(&resp, &err, RPC_UNIMPLEMENTED, "extensions are not used by this server");
    }
    if (resp.message_response_case ==
        GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE__NOT_SET) {
        if (files.count > 0)
            reply_files(&resp, &files, &fdr, blobs);
        else
            reply_error(&resp, &err, RPC_NOT_FOUND, "no such file or symbol");
    }
    ProtobufCBinaryData out;
    out.len = protobuf_c_message_get_packed_size(&resp.base);
    out.data = malloc(out.len ? out.len : 1);
    if (out.data)
        protobuf_c_message_pack(&resp.base, out.data);
    for (size_t i = 0; i < files.count; i++)
        free(blobs[i].data);
    return out;
}

/* ---- the stream --------------------------------------------------------- */

typedef struct refl_version {
    const ProtobufCServiceDescriptor *service;
    const ProtobufCMessageDescriptor *request, *response;
} refl_version;

static const refl_version v1alpha = {
    &grpc__reflection__v1alpha__server_reflection__descriptor,
    &grpc__reflection__v1alpha__server_reflection_request__descriptor,
    &grpc__reflection__v1alpha__server_reflection_response__descriptor,
};
static const refl_version v1 = {
    &grpc__reflection__v1__server_reflection__descriptor,
    &grpc__reflection__v1__server_reflection_request__descriptor,
    &grpc__reflection__v1__server_reflection_response__descriptor,
};

typedef struct refl_stream {
    const reflection *r;
    const refl_version *version;
} refl_stream;

static void on_next_request(rpc_call *call, const ProtobufCMessage *msg, void *arg);
static void on_reply_sent(rpc_call *call, int ok, void *arg);

/* Answers `msg` (a request of either version) and asks for the next one. */
static void serve_one(rpc_call *call, refl_stream *s, const ProtobufCMessage *msg)
{
    size_t len = protobuf_c_message_get_packed_size(msg);
    uint8_t *bytes = malloc(len ? len : 1);
    ProtobufCMessage *req = NULL;
    if (bytes) {
        protobuf_c_message_pack(msg, bytes);
        req = protobuf_c_message_unpack(v1alpha.request, NULL, len, bytes);
    }
    free(bytes);
    ProtobufCBinaryData packed = {0};
    ProtobufCMessage *resp = NULL;
    if (req) {
        packed = answer(s->r, (const refl_request *)req);
        protobuf_c_message_free_unpacked(req, NULL);
    }
    if (packed.data)
        resp = protobuf_c_message_unpack(s->version->response, NULL, packed.len, packed.data);
    free(packed.data);
    if (resp == NULL) {
        rpc_call_finish(call, RPC_INTERNAL, "reflection: could not build the reply");
        free(s);
        return;
    } /* The next request is read only once this reply is sent: a client that
     * asks without reading gets no more of our memory than one reply. */
    rpc_call_write(call, resp, on_reply_sent, s);
    protobuf_c_message_free_unpacked(resp, NULL);
}

/* rpc_write_cb of a reply: read the next request, or end with the stream. */
static void on_reply_sent(rpc_call *call, int ok, void *arg)
{
    refl_stream *s = arg;

    if (ok) {
        rpc_call_read(call, on_next_request, s);
        return;
    }
    if (!rpc_call_ended(call))
        rpc_call_finish(call, RPC_CANCELLED, "reflection: the reply could not be sent");
    free(s);
}

static void on_next_request(rpc_call *call, const ProtobufCMessage *msg, void *arg)
{
    refl_stream *s = arg;
    if (msg == NULL) { /* the client is done */
        rpc_call_finish(call, RPC_OK, NULL);
        free(s);
        return;
    }
    serve_one(call, s, msg);
}

static void start_stream(rpc_call *call, const ProtobufCMessage *first, void *data,
                         const refl_version *version)
{
    refl_stream *s = calloc(1, sizeof *s);
    if (s == NULL) {
        rpc_call_finish(call, RPC_RESOURCE_EXHAUSTED, "out of memory");
        return;
    }
    s->r = data;
    s->version = version;
    serve_one(call, s, first);
}

static void handle_v1alpha(rpc_call *call, const ProtobufCMessage *first, void *data)
{
    start_stream(call, first, data, &v1alpha);
}

static void handle_v1(rpc_call *call, const ProtobufCMessage *first, void *data)
{
    start_stream(call, first, data, &v1);
}

static const rpc_method v1alpha_methods[] = {
    {.name = "ServerReflectionInfo",
     .handler = handle_v1alpha,
     .flags = RPC_CLIENT_STREAMING | RPC_SERVER_STREAMING},
    {.name = NULL},
};
static const rpc_method v1_methods[] = {
    {.name = "ServerReflectionInfo",
     .handler = handle_v1,
     .flags = RPC_CLIENT_STREAMING | RPC_SERVER_STREAMING},
    {.name = NULL},
};

int reflection_new(rpc_server *srv, const char *const *service_names, reflection **out)
{
    reflection *r = calloc(1, sizeof *r);
    if (r == NULL)
        return -ENOMEM;
    r->set = google__protobuf__file_descriptor_set__unpack(NULL, compact_descriptor_set_len,
                                                           compact_descriptor_set);
    size_t n = 0;
    while (service_names && service_names[n])
        n++;
    r->names = calloc(n + 1, sizeof *r->names);
    for (size_t i = 0; r->names && i < n; i++)
        if ((r->names[r->names_count++] = strdup(service_names[i])) == NULL)
            break;
    int rc = r->set == NULL ? -EINVAL : (r->names == NULL || r->names_count != n) ? -ENOMEM : 0;
    if (rc == 0)
        rc = rpc_server_add_service(srv, v1alpha.service, v1alpha_methods, r);
    if (rc == 0)
        rc = rpc_server_add_service(srv, v1.service, v1_methods, r);
    if (rc != 0) {
        reflection_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

void reflection_free(reflection *r)
{
    if (r == NULL)
        return;
    if (r->set)
        google__protobuf__file_descriptor_set__free_unpacked(r->set, NULL);
    for (size_t i = 0; i < r->names_count; i++)
        free(r->names[i]);
    free(r->names);
    free(r);
}

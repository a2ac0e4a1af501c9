/* pbmsg.c: whole messages through their descriptors (see pbmsg.h). */
#include "pbmsg.h"

#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

ProtobufCMessage *pbmsg_copy(const ProtobufCMessage *m)
{
    size_t len;
    uint8_t *buf;
    ProtobufCMessage *copy;

    assert(m != NULL);
    len = protobuf_c_message_get_packed_size(m);
    if ((buf = malloc(len ? len : 1)) == NULL)
        return NULL;
    protobuf_c_message_pack(m, buf);
    copy = protobuf_c_message_unpack(m->descriptor, NULL, len, buf);
    free(buf);
    if (copy)
        pbmsg_drop_unknown(copy);
    return copy;
}

void pbmsg_free(ProtobufCMessage *m)
{
    if (m)
        protobuf_c_message_free_unpacked(m, NULL);
}

/* The sub-messages of message field `f` of `m`, as an array of *n. */
static ProtobufCMessage **sub_messages(ProtobufCMessage *m, const ProtobufCFieldDescriptor *f,
                                       size_t *n)
{
    char *at = (char *)m + f->offset;

    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
        *n = *(size_t *)((char *)m + f->quantifier_offset);
        return *(ProtobufCMessage ***)at;
    }
    *n = *(ProtobufCMessage **)at ? 1 : 0;
    return (ProtobufCMessage **)at;
}

void pbmsg_drop_unknown(ProtobufCMessage *m)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;

    for (unsigned i = 0; i < m->n_unknown_fields; i++)
        free(m->unknown_fields[i].data);
    free(m->unknown_fields);
    m->unknown_fields = NULL;
    m->n_unknown_fields = 0;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        size_t n;
        ProtobufCMessage **v;

        if (f->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        /* A oneof member that is not the chosen one holds another member. */
        if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
            *(uint32_t *)((char *)m + f->quantifier_offset) != f->id)
            continue;
        v = sub_messages(m, f, &n);
        for (size_t k = 0; k < n; k++) {
            if (v[k])
                pbmsg_drop_unknown(v[k]);
        }
    }
}

/* The size of one value of `type` (a pointer for strings and messages). */
static size_t type_size(ProtobufCType type)
{
    switch (type) {
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(void *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return 8;
    default:
        return 4; /* int32, enums, float */
    }
}

/* The size of one field's storage (a pointer for repeated fields). */
static size_t field_size(const ProtobufCFieldDescriptor *f)
{
    return f->label == PROTOBUF_C_LABEL_REPEATED ? sizeof(void *) : type_size(f->type);
}

static void swap_bytes(void *a, void *b, size_t n)
{
    unsigned char tmp[sizeof(ProtobufCBinaryData)];

    assert(n <= sizeof tmp);
    memcpy(tmp, a, n);
    memcpy(a, b, n);
    memcpy(b, tmp, n);
}

int pbmsg_swap_field(ProtobufCMessage *a, ProtobufCMessage *b, const char *name)
{
    const ProtobufCFieldDescriptor *f;

    assert(a->descriptor == b->descriptor);
    f = protobuf_c_message_descriptor_get_field_by_name(a->descriptor, name);
    if (f == NULL)
        return -ENOENT;
    swap_bytes((char *)a + f->offset, (char *)b + f->offset, field_size(f));
    if (f->label == PROTOBUF_C_LABEL_REPEATED || (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) ||
        (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset))
        swap_bytes((char *)a + f->quantifier_offset, (char *)b + f->quantifier_offset,
                   f->label == PROTOBUF_C_LABEL_REPEATED      ? sizeof(size_t)
                   : (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) ? sizeof(uint32_t)
                                                              : sizeof(protobuf_c_boolean));
    return 0;
}

/* Frees one element of a repeated field of type `f->type` at `v`. */
static void free_element(const ProtobufCFieldDescriptor *f, void *v)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_MESSAGE:
        pbmsg_free(*(ProtobufCMessage **)v);
        break;
    case PROTOBUF_C_TYPE_STRING:
        if (*(char **)v != protobuf_c_empty_string)
            free(*(char **)v);
        break;
    case PROTOBUF_C_TYPE_BYTES:
        free(((ProtobufCBinaryData *)v)->data);
        break;
    default:
        break;
    }
}

void pbmsg_keep_basic(ProtobufCMessage *m)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;

    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        char *at = (char *)m + f->offset;

        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t *n = (size_t *)((char *)m + f->quantifier_offset);
            char *v = *(char **)at;
            for (size_t k = 0; v && k < *n; k++)
                free_element(f, v + k * type_size(f->type));
            free(v);
            *(void **)at = NULL;
            *n = 0;
        } else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
            if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
                *(uint32_t *)((char *)m + f->quantifier_offset) != f->id)
                continue;
            pbmsg_free(*(ProtobufCMessage **)at);
            *(ProtobufCMessage **)at = NULL;
            if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
                *(uint32_t *)((char *)m + f->quantifier_offset) = 0;
        }
    }
}

const char *pbmsg_string(const ProtobufCMessage *m, const char *name)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(m->descriptor, name);
    const char *s;

    if (f == NULL || f->type != PROTOBUF_C_TYPE_STRING || f->label == PROTOBUF_C_LABEL_REPEATED)
        return NULL;
    s = *(const char *const *)((const char *)m + f->offset);
    return s ? s : "";
}

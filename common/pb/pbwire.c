/* pbwire.c: checking packed bytes against a message type (see pbwire.h).
 *
 * The rules are those of protobuf-c's unpack (protobuf_c_message_unpack and
 * its parse_* helpers), each kept at least as strict:
 *   tag        a varint of at most 5 bytes whose field number is not 0;
 *   wire type  0 (varint), 1 (8 bytes), 2 (length-delimited) or 5 (4 bytes):
 *              groups (3, 4) and 6, 7 are refused, as protobuf-c refuses them;
 *   varint     at most 10 bytes, ending before the buffer does;
 *   length     a varint of at most 5 bytes, its bytes inside the buffer;
 *   known      a field of the type comes with its type's wire type (a bool
 *              too, which protobuf-c would take in any); a repeated scalar
 *              may also come packed, where fixed-size elements fill the
 *              length exactly, every varint ends inside it and every bool is
 *              0 or 1; a message field's bytes are checked as that message;
 *   unknown    fields the type does not have are skipped, as protobuf-c keeps
 *              them without looking inside;
 *   twice      a message field that is not repeated, given twice, is merged
 *              by protobuf-c, and its merge fails on a type with a oneof
 *              that neither occurrence set: answered 0 (our packer never
 *              writes a field twice).
 * protobuf-c also fails a message that misses a required field: a type with
 * required fields (proto2; ours are proto3) is answered 0 without a look.
 */
#include "pbwire.h"

#include <string.h>

/* Larger than any cache entry; protobuf-c's own limits (its table of scanned
 * fields) are far beyond it. */
#define PBWIRE_MAX_LEN ((size_t)64 << 20)

typedef struct reader {
    const uint8_t *at, *end;
} reader;

/* Reads a varint of at most `max_bytes` bytes into *out: 1, or 0 when it
 * does not end within them or within the buffer. Bits past 64 are dropped
 * (only tags and lengths, 5 bytes at most, are looked at). */
static int read_varint(reader *r, unsigned max_bytes, uint64_t *out)
{
    uint64_t v = 0;
    size_t left = (size_t)(r->end - r->at);

    if (left > 0 && r->at[0] < 0x80) { /* most tags and lengths */
        *out = *r->at++;
        return 1;
    }
    for (unsigned i = 0; i < max_bytes && i < left; i++) {
        v |= (uint64_t)(r->at[i] & 0x7f) << (7 * i);
        if ((r->at[i] & 0x80) == 0) {
            r->at += i + 1;
            *out = v;
            return 1;
        }
    }
    return 0;
}

/* The wire type a field of type `t` is sent with, unpacked. */
static unsigned wire_of(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_FLOAT:
        return PROTOBUF_C_WIRE_TYPE_32BIT;
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return PROTOBUF_C_WIRE_TYPE_64BIT;
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_BYTES:
    case PROTOBUF_C_TYPE_MESSAGE:
        return PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED;
    default: /* the integers, enums and bool */
        return PROTOBUF_C_WIRE_TYPE_VARINT;
    }
}

/* 1 if the `len` bytes at `p` are a packed array of scalars of type `t`. */
static int packed_ok(ProtobufCType t, const uint8_t *p, size_t len)
{
    reader r = {p, p + len};
    uint64_t ignored;

    switch (wire_of(t)) {
    case PROTOBUF_C_WIRE_TYPE_32BIT:
        return len % 4 == 0;
    case PROTOBUF_C_WIRE_TYPE_64BIT:
        return len % 8 == 0;
    default:
        break;
    }
    if (t == PROTOBUF_C_TYPE_BOOL) {
        for (size_t i = 0; i < len; i++)
            if (p[i] > 1)
                return 0;
        return 1;
    }
    while (r.at < r.end)
        if (!read_varint(&r, 10, &ignored))
            return 0;
    return 1;
}

static int has_required(const ProtobufCMessageDescriptor *desc)
{
    for (unsigned i = 0; i < desc->n_fields; i++)
        if (desc->fields[i].label == PROTOBUF_C_LABEL_REQUIRED)
            return 1;
    return 0;
}

static int message_ok(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len,
                      int depth, const ProtobufCFieldDescriptor *key, pbwire_span *key_value);

/* 1 if the value of known field `f`, sent with wire type `wire` as the
 * `len` bytes at `val` (a length-delimited value without its length), is
 * one protobuf-c takes. */
static int field_ok(const ProtobufCFieldDescriptor *f, unsigned wire, const uint8_t *val,
                    size_t len, int depth)
{
    unsigned want = wire_of(f->type);

    if (f->label == PROTOBUF_C_LABEL_REPEATED && wire == PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED &&
        want != PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED)
        return packed_ok(f->type, val, len);
    if (wire != want)
        return 0;
    if (f->type == PROTOBUF_C_TYPE_MESSAGE)
        return message_ok(f->descriptor, val, len, depth + 1, NULL, NULL);
    return 1;
}

/* Skips one value of wire type `wire` at r: 1, and *val / *len its bytes
 * (a length-delimited value's without the length); 0 if it does not fit. */
static int skip_value(reader *r, unsigned wire, const uint8_t **val, size_t *len)
{
    uint64_t n;
    size_t left = (size_t)(r->end - r->at);

    *val = r->at;
    switch (wire) {
    case PROTOBUF_C_WIRE_TYPE_VARINT:
        if (!read_varint(r, 10, &n))
            return 0;
        break;
    case PROTOBUF_C_WIRE_TYPE_64BIT:
    case PROTOBUF_C_WIRE_TYPE_32BIT:
        n = wire == PROTOBUF_C_WIRE_TYPE_64BIT ? 8 : 4;
        if (left < n)
            return 0;
        r->at += n;
        break;
    case PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED:
        if (!read_varint(r, 5, &n) || n > (uint64_t)(r->end - r->at))
            return 0;
        *val = r->at;
        r->at += n;
        break;
    default:
        return 0;
    }
    *len = (size_t)(r->at - *val);
    return 1;
}

/* The field numbered `number` of `desc`, or NULL. Fields come in the order
 * of their numbers, as protobuf-c packs them and keeps its descriptors, so
 * a scan on from the last one found (*next) is most often a step or two;
 * anything else is looked up. */
static const ProtobufCFieldDescriptor *find_field(const ProtobufCMessageDescriptor *desc,
                                                  uint32_t number, unsigned *next)
{
    unsigned i = *next;

    if (i < desc->n_fields && desc->fields[i].id <= number) {
        while (i < desc->n_fields && desc->fields[i].id < number)
            i++;
        *next = i;
        return i < desc->n_fields && desc->fields[i].id == number ? &desc->fields[i] : NULL;
    }
    return protobuf_c_message_descriptor_get_field(desc, number);
}

/* 0 if `f`, a field of `desc`, is a message field that is not repeated and
 * has been met before in this message (see "twice" at the top), else 1 and
 * notes it in *seen. */
static int first_message(const ProtobufCMessageDescriptor *desc, const ProtobufCFieldDescriptor *f,
                         uint64_t *seen)
{
    size_t index = (size_t)(f - desc->fields);

    if (f->type != PROTOBUF_C_TYPE_MESSAGE || f->label == PROTOBUF_C_LABEL_REPEATED)
        return 1;
    if (index >= 64 || (*seen & (UINT64_C(1) << index)))
        return 0;
    *seen |= UINT64_C(1) << index;
    return 1;
}

static int message_ok(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len,
                      int depth, const ProtobufCFieldDescriptor *key, pbwire_span *key_value)
{
    reader r = {data, data + len};
    unsigned next = 0;
    uint64_t messages_seen = 0; /* the non-repeated message fields met, by index */

    if (depth > PBWIRE_MAX_DEPTH || has_required(desc))
        return 0;
    while (r.at < r.end) {
        uint64_t tag;
        const uint8_t *val;
        size_t val_len;
        const ProtobufCFieldDescriptor *f;

        if (!read_varint(&r, 5, &tag) || (tag >> 3) == 0)
            return 0;
        if (!skip_value(&r, (unsigned)(tag & 7), &val, &val_len))
            return 0;
        f = find_field(desc, (uint32_t)(tag >> 3), &next);
        if (f == NULL)
            continue;
        if (!field_ok(f, (unsigned)(tag & 7), val, val_len, depth) ||
            !first_message(desc, f, &messages_seen))
            return 0;
        if (f == key) {
            key_value->data = val;
            key_value->len = val_len;
        }
    }
    return 1;
}

/* 1 if `key` can be answered: a plain string field of `desc` whose default,
 * what protobuf-c keeps when it is absent, is "" (as in proto3). */
static int key_usable(const ProtobufCMessageDescriptor *desc, const ProtobufCFieldDescriptor *key)
{
    const char *def = key->default_value;

    return protobuf_c_message_descriptor_get_field(desc, key->id) == key &&
           key->type == PROTOBUF_C_TYPE_STRING && key->label != PROTOBUF_C_LABEL_REPEATED &&
           (key->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) == 0 && (def == NULL || def[0] == '\0');
}

int pbwire_unpacks(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len,
                   const ProtobufCFieldDescriptor *key, pbwire_span *key_value)
{
    if (key != NULL) {
        key_value->data = NULL;
        key_value->len = 0;
        if (!key_usable(desc, key))
            return 0;
    }
    if (len > PBWIRE_MAX_LEN)
        return 0;
    if (len == 0) /* the empty message: no fields, and no pointer to add to */
        return !has_required(desc);
    return message_ok(desc, data, len, 0, key, key_value);
}

int pbwire_split(const uint8_t *data, size_t len, uint32_t number, uint8_t *rest, size_t *rest_len,
                 pbwire_each_fn each, void *arg)
{
    reader r = {data, data + len};

    *rest_len = 0;
    if (len > PBWIRE_MAX_LEN)
        return 0;
    while (r.at < r.end) {
        const uint8_t *field = r.at, *val;
        size_t val_len;
        uint64_t tag;

        if (!read_varint(&r, 5, &tag) || (tag >> 3) == 0 ||
            !skip_value(&r, (unsigned)(tag & 7), &val, &val_len))
            return 0;
        if ((tag >> 3) != number) {
            memcpy(rest + *rest_len, field, (size_t)(r.at - field));
            *rest_len += (size_t)(r.at - field);
        } else if ((tag & 7) != PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED || each(arg, val, val_len)) {
            return 0;
        }
    }
    return 1;
}

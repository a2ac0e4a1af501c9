/* test_pbjson.c: protobuf-c messages to JSON and back.
 *
 * Round trips compare the protobuf encoding of the original and of the
 * message read back, so every field of every type counts. The generated
 * compact.membership.v1 and compact.events.v1 types are used as they are;
 * the types no Compact proto uses yet (32/64-bit variants, floats, repeated
 * scalars, proto2 optional fields, oneofs of messages) come from a
 * descriptor written by hand below. Messages read back are freed with
 * protobuf_c_message_free_unpacked(msg, NULL), and under AddressSanitizer
 * any leak, also on the error paths, fails the test.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "compact/events/v1/events.pb-c.h"
#include "compact/membership/v1/membership.pb-c.h"
#include "pbjson.h"

/* ---- a hand-made descriptor with every scalar type ---------------------- */

typedef struct AllTypes AllTypes;
struct AllTypes {
    ProtobufCMessage base;
    int32_t int32_value;
    int32_t sint32_value;
    int32_t sfixed32_value;
    int64_t int64_value;
    int64_t sint64_value;
    int64_t sfixed64_value;
    uint32_t uint32_value;
    uint32_t fixed32_value;
    uint64_t uint64_value;
    uint64_t fixed64_value;
    float float_value;
    double double_value;
    protobuf_c_boolean bool_value;
    ProtobufCBinaryData bytes_value;
    size_t n_repeated_int64;
    int64_t *repeated_int64;
    size_t n_repeated_double;
    double *repeated_double;
    size_t n_repeated_bool;
    protobuf_c_boolean *repeated_bool;
    size_t n_repeated_bytes;
    ProtobufCBinaryData *repeated_bytes;
    size_t n_repeated_string;
    char **repeated_string;
    protobuf_c_boolean has_optional_int32;
    int32_t optional_int32;
    char *optional_string; /* proto2 optional with default "dflt" */
    size_t n_repeated_kind;
    int *repeated_kind;
    AllTypes *child;
    uint32_t choice_case;
    union {
        int32_t choice_int;
        char *choice_text;
        AllTypes *choice_child;
    };
};

static const char optional_string_default[] = "dflt";
static const ProtobufCMessageDescriptor all_types_descriptor;

#define FIELD(n, num, lab, typ, member, desc)                                                      \
    {                                                                                              \
        .name = n, .id = num, .label = PROTOBUF_C_LABEL_##lab, .type = PROTOBUF_C_TYPE_##typ,      \
        .offset = offsetof(AllTypes, member), .descriptor = desc                                   \
    }
#define REPEATED(n, num, typ, member, desc)                                                        \
    {                                                                                              \
        .name = n, .id = num, .label = PROTOBUF_C_LABEL_REPEATED, .type = PROTOBUF_C_TYPE_##typ,   \
        .quantifier_offset = offsetof(AllTypes, n_##member), .offset = offsetof(AllTypes, member), \
        .descriptor = desc                                                                         \
    }
#define CHOICE(n, num, typ, member, desc)                                                          \
    {                                                                                              \
        .name = n, .id = num, .label = PROTOBUF_C_LABEL_NONE, .type = PROTOBUF_C_TYPE_##typ,       \
        .quantifier_offset = offsetof(AllTypes, choice_case),                                      \
        .offset = offsetof(AllTypes, member), .descriptor = desc,                                  \
        .flags = PROTOBUF_C_FIELD_FLAG_ONEOF                                                       \
    }

static const ProtobufCFieldDescriptor all_types_fields[] = {
    FIELD("int32_value", 1, NONE, INT32, int32_value, NULL),
    FIELD("sint32_value", 2, NONE, SINT32, sint32_value, NULL),
    FIELD("sfixed32_value", 3, NONE, SFIXED32, sfixed32_value, NULL),
    FIELD("int64_value", 4, NONE, INT64, int64_value, NULL),
    FIELD("sint64_value", 5, NONE, SINT64, sint64_value, NULL),
    FIELD("sfixed64_value", 6, NONE, SFIXED64, sfixed64_value, NULL),
    FIELD("uint32_value", 7, NONE, UINT32, uint32_value, NULL),
    FIELD("fixed32_value", 8, NONE, FIXED32, fixed32_value, NULL),
    FIELD("uint64_value", 9, NONE, UINT64, uint64_value, NULL),
    FIELD("fixed64_value", 10, NONE, FIXED64, fixed64_value, NULL),
    FIELD("float_value", 11, NONE, FLOAT, float_value, NULL),
    FIELD("double_value", 12, NONE, DOUBLE, double_value, NULL),
    FIELD("bool_value", 13, NONE, BOOL, bool_value, NULL),
    FIELD("bytes_value", 14, NONE, BYTES, bytes_value, NULL),
    REPEATED("repeated_int64", 15, INT64, repeated_int64, NULL),
    REPEATED("repeated_double", 16, DOUBLE, repeated_double, NULL),
    REPEATED("repeated_bool", 17, BOOL, repeated_bool, NULL),
    REPEATED("repeated_bytes", 18, BYTES, repeated_bytes, NULL),
    REPEATED("repeated_string", 19, STRING, repeated_string, NULL),
    {.name = "optional_int32",
     .id = 20,
     .label = PROTOBUF_C_LABEL_OPTIONAL,
     .type = PROTOBUF_C_TYPE_INT32,
     .quantifier_offset = offsetof(AllTypes, has_optional_int32),
     .offset = offsetof(AllTypes, optional_int32)},
    {.name = "optional_string",
     .id = 21,
     .label = PROTOBUF_C_LABEL_OPTIONAL,
     .type = PROTOBUF_C_TYPE_STRING,
     .offset = offsetof(AllTypes, optional_string),
     .default_value = optional_string_default},
    REPEATED("repeated_kind", 22, ENUM, repeated_kind,
             &compact__membership__v1__entity_kind__descriptor),
    FIELD("child", 23, NONE, MESSAGE, child, &all_types_descriptor),
    CHOICE("choice_int", 24, INT32, choice_int, NULL),
    CHOICE("choice_text", 25, STRING, choice_text, NULL),
    CHOICE("choice_child", 26, MESSAGE, choice_child, &all_types_descriptor),
};

#define ALL_TYPES_NFIELDS (sizeof(all_types_fields) / sizeof(all_types_fields[0]))

static unsigned all_types_by_name[ALL_TYPES_NFIELDS];
static const ProtobufCIntRange all_types_ranges[] = {{1, 0}, {0, ALL_TYPES_NFIELDS}};

static void all_types_init(ProtobufCMessage *m)
{
    AllTypes *t = (AllTypes *)m;

    memset(t, 0, sizeof(*t));
    t->base.descriptor = &all_types_descriptor;
    t->optional_string = (char *)optional_string_default;
}

static const ProtobufCMessageDescriptor all_types_descriptor = {
    .magic = PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC,
    .name = "test.AllTypes",
    .short_name = "AllTypes",
    .c_name = "AllTypes",
    .package_name = "test",
    .sizeof_message = sizeof(AllTypes),
    .n_fields = ALL_TYPES_NFIELDS,
    .fields = all_types_fields,
    .fields_sorted_by_name = all_types_by_name,
    .n_field_ranges = 1,
    .field_ranges = all_types_ranges,
    .message_init = all_types_init,
};

static int by_name(const void *a, const void *b)
{
    return strcmp(all_types_fields[*(const unsigned *)a].name,
                  all_types_fields[*(const unsigned *)b].name);
}

static int setup_descriptor(void **state)
{
    for (unsigned i = 0; i < ALL_TYPES_NFIELDS; i++)
        all_types_by_name[i] = i;
    qsort(all_types_by_name, ALL_TYPES_NFIELDS, sizeof(unsigned), by_name);
    return 0;
}

/* ---- helpers ------------------------------------------------------------ */

static json_t *parse(const char *text)
{
    json_error_t jerr;
    json_t *j = json_loads(text, JSON_ALLOW_NUL | JSON_DECODE_ANY, &jerr);

    if (!j)
        fail_msg("bad test JSON (%s): %s", jerr.text, text);
    return j;
}

static ProtobufCMessage *read_text(const ProtobufCMessageDescriptor *desc, const char *text)
{
    char err[256] = "";
    json_t *j = parse(text);
    ProtobufCMessage *m = pbjson_to_message(desc, j, err, sizeof(err));

    json_decref(j);
    if (!m)
        fail_msg("refused: %s\n  JSON: %s", err, text);
    return m;
}

/* The message must be refused with exactly this error. */
static void expect_error(const ProtobufCMessageDescriptor *desc, const char *text, const char *want)
{
    char err[256] = "";
    json_t *j = parse(text);
    ProtobufCMessage *m = pbjson_to_message(desc, j, err, sizeof(err));

    json_decref(j);
    if (m) {
        protobuf_c_message_free_unpacked(m, NULL);
        fail_msg("accepted: %s", text);
    }
    if (strcmp(err, want) != 0)
        fail_msg("for %s\n  got:  %s\n  want: %s", text, err, want);
}

static void assert_same_encoding(const ProtobufCMessage *a, const ProtobufCMessage *b)
{
    size_t na = protobuf_c_message_get_packed_size(a);
    size_t nb = protobuf_c_message_get_packed_size(b);
    uint8_t *pa = malloc(na + 1), *pb = malloc(nb + 1);

    assert_int_equal(na, nb);
    protobuf_c_message_pack(a, pa);
    protobuf_c_message_pack(b, pb);
    assert_memory_equal(pa, pb, na);
    free(pa);
    free(pb);
}

static void assert_json_equal(const json_t *a, const json_t *b)
{
    if (!json_equal(a, b)) {
        char *ta = json_dumps(a, JSON_SORT_KEYS), *tb = json_dumps(b, JSON_SORT_KEYS);
        fail_msg("JSON differs:\n  %s\n  %s", ta, tb);
    }
}

/* msg -> JSON -> message, and msg -> wire -> message -> JSON: the messages
 * must encode the same and the JSON must be the same. Returns the JSON. */
static json_t *round_trip(const ProtobufCMessage *msg)
{
    char err[256] = "";
    json_t *j = pbjson_from_message(msg), *j2, *j3;
    ProtobufCMessage *back, *unpacked;
    size_t n = protobuf_c_message_get_packed_size(msg);
    uint8_t *wire = malloc(n + 1);

    assert_non_null(j);
    back = pbjson_to_message(msg->descriptor, j, err, sizeof(err));
    if (!back)
        fail_msg("own JSON refused: %s", err);
    assert_same_encoding(msg, back);
    j2 = pbjson_from_message(back);
    assert_json_equal(j, j2);

    protobuf_c_message_pack(msg, wire);
    unpacked = protobuf_c_message_unpack(msg->descriptor, NULL, n, wire);
    assert_non_null(unpacked);
    j3 = pbjson_from_message(unpacked);
    assert_json_equal(j, j3);

    protobuf_c_message_free_unpacked(back, NULL);
    protobuf_c_message_free_unpacked(unpacked, NULL);
    json_decref(j2);
    json_decref(j3);
    free(wire);
    return j;
}

static const char *jstr(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);

    if (!json_is_string(v))
        fail_msg("%s is not a string", key);
    return json_string_value(v);
}

/* ---- membership messages ------------------------------------------------ */

static void test_entity_round_trip(void **state)
{
    Compact__Membership__V1__FocalPoint fp[2] = {COMPACT__MEMBERSHIP__V1__FOCAL_POINT__INIT,
                                                 COMPACT__MEMBERSHIP__V1__FOCAL_POINT__INIT};
    Compact__Membership__V1__FocalPoint *fps[2] = {&fp[0], &fp[1]};
    Google__Protobuf__Timestamp created = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    Google__Protobuf__Timestamp updated = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    Compact__Membership__V1__Entity e = COMPACT__MEMBERSHIP__V1__ENTITY__INIT;
    const json_t *list;
    json_t *j;

    fp[0].name = "Ana \"Quote\" Núñez";
    fp[0].email = "ana@example.org";
    fp[1].name = "Bo";
    fp[1].title = "Coordinator\nline two";
    created.seconds = 1796008791; /* 2026-11-30T03:19:51Z */
    updated.seconds = 1796008791;
    updated.nanos = 123000000;
    e.id = "ent-1";
    e.acronym = "UNOCT";
    e.name = "United Nations Office of Counter-Terrorism";
    e.kind = COMPACT__MEMBERSHIP__V1__ENTITY_KIND__ENTITY_KIND_UN_ENTITY;
    e.joined_on = "2018-02-23";
    e.n_focal_points = 2;
    e.focal_points = fps;
    e.create_time = &created;
    e.update_time = &updated;
    e.verified = 1;

    j = round_trip(&e.base);
    assert_string_equal(jstr(j, "acronym"), "UNOCT");
    assert_string_equal(jstr(j, "kind"), "ENTITY_KIND_UN_ENTITY");
    assert_string_equal(jstr(j, "joinedOn"), "2018-02-23");
    assert_string_equal(jstr(j, "createTime"), "2026-11-30T03:19:51Z");
    assert_string_equal(jstr(j, "updateTime"), "2026-11-30T03:19:51.123Z");
    assert_true(json_is_true(json_object_get(j, "verified")));
    list = json_object_get(j, "focalPoints");
    assert_int_equal(json_array_size(list), 2);
    assert_string_equal(jstr(json_array_get(list, 0), "name"), "Ana \"Quote\" Núñez");
    assert_null(json_object_get(json_array_get(list, 0), "title"));
    assert_string_equal(jstr(json_array_get(list, 1), "title"), "Coordinator\nline two");
    /* proto3: zero values and unset messages are left out. */
    assert_null(json_object_get(j, "status"));
    assert_null(json_object_get(j, "etag"));
    assert_null(json_object_get(j, "sourceNote"));
    assert_null(json_object_get(j, "withdrawTime"));
    assert_null(json_object_get(j, "joined_on"));
    assert_int_equal(json_object_size(j), 9);
    json_decref(j);

    /* An empty message is an empty object. */
    Compact__Membership__V1__Entity empty = COMPACT__MEMBERSHIP__V1__ENTITY__INIT;
    j = round_trip(&empty.base);
    assert_int_equal(json_object_size(j), 0);
    json_decref(j);
}

static void test_snake_case_and_enum_numbers(void **state)
{
    Compact__Membership__V1__Entity *e = (Compact__Membership__V1__Entity *)read_text(
        &compact__membership__v1__entity__descriptor,
        "{\"joined_on\":\"2020-01-01\",\"source_note\":\"press release\",\"kind\":2,"
        "\"status\":\"ENTITY_STATUS_WITHDRAWN\",\"focal_points\":[{\"email\":\"x@y.z\"}],"
        "\"create_time\":\"2020-01-01T00:00:00Z\",\"etag\":null,\"verified\":false}");

    assert_string_equal(e->joined_on, "2020-01-01");
    assert_string_equal(e->source_note, "press release");
    assert_int_equal(e->kind, COMPACT__MEMBERSHIP__V1__ENTITY_KIND__ENTITY_KIND_NON_UN_MEMBER);
    assert_int_equal(e->status, COMPACT__MEMBERSHIP__V1__ENTITY_STATUS__ENTITY_STATUS_WITHDRAWN);
    assert_int_equal(e->n_focal_points, 1);
    assert_string_equal(e->focal_points[0]->email, "x@y.z");
    assert_string_equal(e->focal_points[0]->name, "");
    assert_int_equal(e->create_time->seconds, 1577836800);
    assert_string_equal(e->etag, ""); /* null: the default */
    assert_false(e->verified);
    assert_string_equal(e->id, "");
    protobuf_c_message_free_unpacked(&e->base, NULL);

    /* A number the enum does not know is kept, and written as a number. */
    e = (Compact__Membership__V1__Entity *)read_text(&compact__membership__v1__entity__descriptor,
                                                     "{\"kind\":7}");
    assert_int_equal(e->kind, 7);
    json_t *j = pbjson_from_message(&e->base);
    assert_int_equal(json_integer_value(json_object_get(j, "kind")), 7);
    json_decref(j);
    protobuf_c_message_free_unpacked(&e->base, NULL);
}

static void test_oneof(void **state)
{
    Compact__Membership__V1__GetEntityRequest req =
        COMPACT__MEMBERSHIP__V1__GET_ENTITY_REQUEST__INIT;
    Compact__Membership__V1__GetEntityRequest *back;
    json_t *j;

    j = round_trip(&req.base);
    assert_int_equal(json_object_size(j), 0);
    json_decref(j);

    req.key_case = COMPACT__MEMBERSHIP__V1__GET_ENTITY_REQUEST__KEY_ACRONYM;
    req.acronym = "INTERPOL";
    j = round_trip(&req.base);
    assert_string_equal(jstr(j, "acronym"), "INTERPOL");
    assert_int_equal(json_object_size(j), 1);
    json_decref(j);

    /* A selected member is written even when empty. */
    back = (Compact__Membership__V1__GetEntityRequest *)read_text(
        &compact__membership__v1__get_entity_request__descriptor, "{\"id\":\"\"}");
    assert_int_equal(back->key_case, COMPACT__MEMBERSHIP__V1__GET_ENTITY_REQUEST__KEY_ID);
    assert_string_equal(back->id, "");
    j = pbjson_from_message(&back->base);
    assert_string_equal(jstr(j, "id"), "");
    json_decref(j);
    protobuf_c_message_free_unpacked(&back->base, NULL);

    expect_error(&compact__membership__v1__get_entity_request__descriptor,
                 "{\"id\":\"a\",\"acronym\":\"b\"}", "acronym: only one of id, acronym may be set");
    expect_error(&compact__membership__v1__get_entity_request__descriptor, "{\"id\":5}",
                 "id: expected a string, got a number");
}

static void test_field_mask(void **state)
{
    char *paths[] = {"joined_on", "focal_points", "name", "a_b.c_d"};
    Google__Protobuf__FieldMask mask = GOOGLE__PROTOBUF__FIELD_MASK__INIT;
    Compact__Membership__V1__UpdateEntityRequest req =
        COMPACT__MEMBERSHIP__V1__UPDATE_ENTITY_REQUEST__INIT;
    Compact__Membership__V1__UpdateEntityRequest *back;
    json_t *j;

    mask.n_paths = 4;
    mask.paths = paths;
    req.update_mask = &mask;
    req.etag = "e1";
    j = round_trip(&req.base);
    assert_string_equal(jstr(j, "updateMask"), "joinedOn,focalPoints,name,aB.cD");
    json_decref(j);

    back = (Compact__Membership__V1__UpdateEntityRequest *)read_text(
        &compact__membership__v1__update_entity_request__descriptor,
        "{\"update_mask\":\"sourceNote,verified,joined_on\",\"entity\":{\"id\":\"x\"}}");
    assert_int_equal(back->update_mask->n_paths, 3);
    assert_string_equal(back->update_mask->paths[0], "source_note");
    assert_string_equal(back->update_mask->paths[1], "verified");
    assert_string_equal(back->update_mask->paths[2], "joined_on");
    assert_string_equal(back->entity->id, "x");
    protobuf_c_message_free_unpacked(&back->base, NULL);

    /* An empty mask is an empty string. */
    mask.n_paths = 0;
    j = round_trip(&req.base);
    assert_string_equal(jstr(j, "updateMask"), "");
    json_decref(j);

    expect_error(&compact__membership__v1__update_entity_request__descriptor,
                 "{\"updateMask\":\"name,,kind\"}",
                 "updateMask: expected field paths separated by commas, got \"name,,kind\"");
    expect_error(&compact__membership__v1__update_entity_request__descriptor,
                 "{\"updateMask\":[\"name\"]}",
                 "updateMask: expected field paths separated by commas, got an array");
}

static void test_timestamps(void **state)
{
    static const struct {
        const char *text;
        int64_t seconds;
        int32_t nanos;
        const char *written;
    } good[] = {
        {"1970-01-01T00:00:00Z", 0, 0, NULL},
        {"2026-11-30T03:19:51Z", 1796008791, 0, NULL},
        {"2026-11-30T03:19:51.5Z", 1796008791, 500000000, "2026-11-30T03:19:51.500Z"},
        {"2026-11-30T03:19:51.000001Z", 1796008791, 1000, NULL},
        {"2026-11-30T03:19:51.123456789Z", 1796008791, 123456789, NULL},
        {"2026-11-30T04:19:51+01:00", 1796008791, 0, "2026-11-30T03:19:51Z"},
        {"2026-11-29T22:49:51-04:30", 1796008791, 0, "2026-11-30T03:19:51Z"},
        {"2026-11-30t03:19:51z", 1796008791, 0, "2026-11-30T03:19:51Z"},
        {"1969-12-31T23:59:59.250Z", -1, 250000000, NULL},
        {"2024-02-29T12:00:00Z", 1709208000, 0, NULL},
        {"0001-01-01T00:00:00Z", INT64_C(-62135596800), 0, NULL},
        {"9999-12-31T23:59:59.999999999Z", INT64_C(253402300799), 999999999, NULL},
    };
    static const char *const bad[] = {
        "2026-11-30",
        "2026-11-30T03:19:51",
        "2026-13-01T00:00:00Z",
        "2025-02-29T00:00:00Z",
        "2026-04-31T00:00:00Z",
        "2026-11-30T24:00:00Z",
        "2026-11-30T03:60:00Z",
        "2026-11-30T03:19:60Z",
        "2026-11-30T03:19:51.Z",
        "2026-11-30T03:19:51.1234567891Z",
        "2026-11-30 03:19:51Z",
        "2026-11-30T03:19:51+0100",
        "0000-12-31T00:00:00Z",
        "0001-01-01T00:00:00+00:01",
        "2026-11-30T03:19:51Zjunk",
        "",
    };
    char text[128], want[200];

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        Compact__Membership__V1__Entity *e;
        json_t *j;

        snprintf(text, sizeof(text), "{\"createTime\":\"%s\"}", good[i].text);
        e = (Compact__Membership__V1__Entity *)read_text(
            &compact__membership__v1__entity__descriptor, text);
        assert_int_equal(e->create_time->seconds, good[i].seconds);
        assert_int_equal(e->create_time->nanos, good[i].nanos);
        j = round_trip(&e->base);
        assert_string_equal(jstr(j, "createTime"),
                            good[i].written ? good[i].written : good[i].text);
        json_decref(j);
        protobuf_c_message_free_unpacked(&e->base, NULL);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(text, sizeof(text), "{\"createTime\":\"%s\"}", bad[i]);
        snprintf(want, sizeof(want),
                 "createTime: expected an RFC 3339 time such as "
                 "\"2026-11-30T03:19:51Z\"");
        expect_error(&compact__membership__v1__entity__descriptor, text, want);
    }
    expect_error(&compact__membership__v1__entity__descriptor, "{\"createTime\":12}",
                 "createTime: expected an RFC 3339 time such as \"2026-11-30T03:19:51Z\", "
                 "got a number");

    /* Out of the RFC 3339 range: written as the plain message instead. */
    Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    ts.seconds = INT64_C(253402300800);
    json_t *j = pbjson_from_message(&ts.base);
    assert_true(json_is_object(j));
    assert_string_equal(jstr(j, "seconds"), "253402300800");
    json_decref(j);
}

static void test_error_paths(void **state)
{
    const ProtobufCMessageDescriptor *create =
        &compact__membership__v1__create_entity_request__descriptor;

    expect_error(create,
                 "{\"entity\":{\"acronym\":\"A\",\"focalPoints\":[{\"email\":\"a@b.c\"},"
                 "{\"name\":\"n\",\"email\":5}]}}",
                 "entity.focalPoints[1].email: expected a string, got a number");
    expect_error(create, "{\"entity\":{\"focal_points\":[{\"name\":\"n\",\"phone\":\"1\"}]}}",
                 "entity.focalPoints[0].phone: unknown field of compact.membership.v1.FocalPoint");
    expect_error(create, "{\"entity\":{\"bogus\":1}}",
                 "entity.bogus: unknown field of compact.membership.v1.Entity");
    expect_error(create, "{\"Entity\":{}}",
                 "Entity: unknown field of compact.membership.v1.CreateEntityRequest");
    expect_error(create, "{\"entity\":{\"kind\":\"X\"}}",
                 "entity.kind: unknown enum value \"X\" for compact.membership.v1.EntityKind");
    expect_error(create, "{\"entity\":{\"kind\":true}}",
                 "entity.kind: expected a compact.membership.v1.EntityKind name or number, got "
                 "a boolean");
    expect_error(create, "{\"entity\":{\"verified\":\"yes\"}}",
                 "entity.verified: expected true or false, got a string");
    expect_error(create, "{\"entity\":[]}", "entity: expected an object, got an array");
    expect_error(create, "{\"entity\":{\"focalPoints\":{}}}",
                 "entity.focalPoints: expected an array, got an object");
    expect_error(create, "{\"entity\":{\"focalPoints\":[{},null]}}",
                 "entity.focalPoints[1]: null is not allowed in a list");
    expect_error(create, "{\"entity\":{\"focalPoints\":[{},\"x\"]}}",
                 "entity.focalPoints[1]: expected an object, got a string");
    expect_error(create, "{\"entity\":{\"joinedOn\":\"a\",\"joined_on\":\"b\"}}",
                 "entity.joinedOn: given twice, as joinedOn and joined_on");
    expect_error(create, "{\"entity\":{\"name\":\"a\\u0000b\"}}",
                 "entity.name: expected a string without NUL characters");
    expect_error(create, "[]", "expected an object, got an array");
    expect_error(create, "\"x\"", "expected an object, got a string");
}

/* Refusals late in a message, after strings, arrays and submessages were
 * allocated: under AddressSanitizer a leak here fails the run. */
static void test_errors_free_everything(void **state)
{
    static const char *const texts[] = {
        /* one string in two lines (parenthesized, so that clang does not suspect a lost comma) */
        ("{\"entities\":[{\"id\":\"a\",\"focalPoints\":[{\"name\":\"x\"},{\"name\":\"y\"}],"
         "\"createTime\":\"2020-01-01T00:00:00Z\"},{\"id\":\"b\",\"focalPoints\":[{\"name\":1}]}]"
         "}"),
        "{\"entities\":[{\"id\":\"a\"},{\"id\":\"b\",\"updateTime\":\"never\"}]}",
        "{\"nextPageToken\":\"t\",\"entities\":[{\"acronym\":\"A\",\"kind\":\"NOPE\"}]}",
        "{\"entities\":[{\"acronym\":\"A\"}],\"bogus\":true}",
    };

    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        char err[256] = "";
        json_t *j = parse(texts[i]);
        assert_null(pbjson_to_message(&compact__membership__v1__list_entities_response__descriptor,
                                      j, err, sizeof(err)));
        assert_true(err[0] != '\0');
        json_decref(j);
    }
    /* A NULL or zero-sized error buffer is fine too. */
    json_t *j = parse(texts[0]);
    assert_null(pbjson_to_message(&compact__membership__v1__list_entities_response__descriptor, j,
                                  NULL, 0));
    json_decref(j);
}

static void test_repeated_strings(void **state)
{
    char *ids[] = {"a", "", "ç"};
    Compact__Membership__V1__BatchGetEntitiesResponse resp =
        COMPACT__MEMBERSHIP__V1__BATCH_GET_ENTITIES_RESPONSE__INIT;
    json_t *j;

    resp.n_missing_ids = 3;
    resp.missing_ids = ids;
    j = round_trip(&resp.base);
    assert_int_equal(json_array_size(json_object_get(j, "missingIds")), 3);
    json_decref(j);
    expect_error(&compact__membership__v1__batch_get_entities_request__descriptor,
                 "{\"ids\":[\"a\",\"b\",3]}", "ids[2]: expected a string, got a number");
    expect_error(&compact__membership__v1__batch_get_entities_request__descriptor,
                 "{\"ids\":\"a\"}", "ids: expected an array, got a string");
}

/* ---- events: uint64 and bytes ------------------------------------------- */

static void test_event_uint64_and_bytes(void **state)
{
    static const uint8_t data[] = {0x00, 0x01, 0x02, 0xfb, 0xff, 0xfe, 0x7f};
    Google__Protobuf__Timestamp t = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    Compact__Events__V1__Event ev = COMPACT__EVENTS__V1__EVENT__INIT;
    json_t *j;

    ev.event_id = "0123456789abcdef0123456789abcdef";
    ev.service = "membership";
    ev.aggregate_sequence = UINT64_MAX;
    ev.occur_time = &t;
    ev.state_type = "compact.membership.v1.Entity";
    /* Every length modulo 3, for the padding. */
    for (size_t len = 0; len <= sizeof(data); len++) {
        ev.state.len = len;
        ev.state.data = len ? (uint8_t *)data : NULL;
        j = round_trip(&ev.base);
        assert_string_equal(jstr(j, "aggregateSequence"), "18446744073709551615");
        assert_string_equal(jstr(j, "occurTime"), "1970-01-01T00:00:00Z");
        if (len == 3)
            assert_string_equal(jstr(j, "state"), "AAEC");
        if (len == 5)
            assert_string_equal(jstr(j, "state"), "AAEC+/8=");
        if (len == 0)
            assert_null(json_object_get(j, "state"));
        json_decref(j);
    }

    /* URL-safe base64 without padding, and numbers for 64-bit fields. */
    Compact__Events__V1__Event *back =
        (Compact__Events__V1__Event *)read_text(&compact__events__v1__event__descriptor,
                                                "{\"state\":\"AAEC-_8\",\"aggregateSequence\":42}");
    assert_int_equal(back->state.len, 5);
    assert_memory_equal(back->state.data, data, 5);
    assert_int_equal(back->aggregate_sequence, 42);
    protobuf_c_message_free_unpacked(&back->base, NULL);

    expect_error(&compact__events__v1__event__descriptor, "{\"aggregateSequence\":\"-1\"}",
                 "aggregateSequence: expected an integer from 0 to 18446744073709551615");
    expect_error(&compact__events__v1__event__descriptor, "{\"aggregateSequence\":-1}",
                 "aggregateSequence: expected an integer from 0 to 18446744073709551615");
    expect_error(&compact__events__v1__event__descriptor,
                 "{\"aggregateSequence\":\"18446744073709551616\"}",
                 "aggregateSequence: expected an integer from 0 to 18446744073709551615");
    expect_error(&compact__events__v1__event__descriptor, "{\"aggregateSequence\":\"12abc\"}",
                 "aggregateSequence: expected an integer from 0 to 18446744073709551615");
    expect_error(&compact__events__v1__event__descriptor, "{\"state\":\"AA*C\"}",
                 "state: expected base64 data");
    expect_error(&compact__events__v1__event__descriptor, "{\"state\":\"AAECA\"}",
                 "state: expected base64 data");
}

/* ---- every scalar type -------------------------------------------------- */

static void test_all_types_round_trip(void **state)
{
    static const uint8_t raw[] = {0xde, 0xad, 0xbe, 0xef};
    int64_t r64[] = {INT64_MIN, 0, INT64_MAX};
    double rd[] = {0.5, -0.0, 1e300};
    protobuf_c_boolean rb[] = {1, 0, 1};
    ProtobufCBinaryData rby[] = {{4, (uint8_t *)raw}, {0, NULL}};
    char *rs[] = {"x", "y"};
    int kinds[] = {1, 3, 42};
    AllTypes t, child, grandchild;
    json_t *j;

    all_types_init(&t.base);
    all_types_init(&child.base);
    all_types_init(&grandchild.base);
    t.int32_value = INT32_MIN;
    t.sint32_value = -7;
    t.sfixed32_value = INT32_MAX;
    t.int64_value = INT64_MIN;
    t.sint64_value = -1;
    t.sfixed64_value = INT64_MAX;
    t.uint32_value = UINT32_MAX;
    t.fixed32_value = 7;
    t.uint64_value = UINT64_MAX;
    t.fixed64_value = 1;
    t.float_value = 0.1f;
    t.double_value = 0.1;
    t.bool_value = 1;
    t.bytes_value = rby[0];
    t.n_repeated_int64 = 3;
    t.repeated_int64 = r64;
    t.n_repeated_double = 3;
    t.repeated_double = rd;
    t.n_repeated_bool = 3;
    t.repeated_bool = rb;
    t.n_repeated_bytes = 2;
    t.repeated_bytes = rby;
    t.n_repeated_string = 2;
    t.repeated_string = rs;
    t.has_optional_int32 = 1;
    t.optional_int32 = 0; /* present although zero */
    t.optional_string = "set";
    t.n_repeated_kind = 3;
    t.repeated_kind = kinds;
    t.child = &child;
    child.choice_case = 26;
    child.choice_child = &grandchild;
    grandchild.choice_case = 25;
    grandchild.choice_text = "deep";
    t.choice_case = 24;
    t.choice_int = 0;

    j = round_trip(&t.base);
    assert_int_equal(json_integer_value(json_object_get(j, "int32Value")), INT32_MIN);
    assert_int_equal(json_integer_value(json_object_get(j, "sint32Value")), -7);
    assert_int_equal(json_integer_value(json_object_get(j, "uint32Value")), UINT32_MAX);
    assert_string_equal(jstr(j, "int64Value"), "-9223372036854775808");
    assert_string_equal(jstr(j, "sint64Value"), "-1");
    assert_string_equal(jstr(j, "sfixed64Value"), "9223372036854775807");
    assert_string_equal(jstr(j, "uint64Value"), "18446744073709551615");
    assert_string_equal(jstr(j, "fixed64Value"), "1");
    assert_true(json_real_value(json_object_get(j, "floatValue")) == 0.1);
    assert_true(json_real_value(json_object_get(j, "doubleValue")) == 0.1);
    assert_string_equal(jstr(j, "bytesValue"), "3q2+7w==");
    assert_string_equal(json_string_value(json_array_get(json_object_get(j, "repeatedInt64"), 0)),
                        "-9223372036854775808");
    assert_string_equal(json_string_value(json_array_get(json_object_get(j, "repeatedBytes"), 1)),
                        "");
    assert_int_equal(json_integer_value(json_object_get(j, "optionalInt32")), 0);
    assert_string_equal(jstr(j, "optionalString"), "set");
    assert_string_equal(json_string_value(json_array_get(json_object_get(j, "repeatedKind"), 0)),
                        "ENTITY_KIND_UN_ENTITY");
    assert_int_equal(json_integer_value(json_array_get(json_object_get(j, "repeatedKind"), 2)), 42);
    assert_int_equal(json_integer_value(json_object_get(j, "choiceInt")), 0);
    assert_string_equal(
        jstr(json_object_get(json_object_get(j, "child"), "choiceChild"), "choiceText"), "deep");
    json_decref(j);

    /* Defaults: nothing written, and a proto2 default string stays put. */
    all_types_init(&t.base);
    j = round_trip(&t.base);
    assert_int_equal(json_object_size(j), 0);
    json_decref(j);
}

static void test_all_types_special_numbers(void **state)
{
    AllTypes t;
    AllTypes *back;
    json_t *j;

    all_types_init(&t.base);
    t.float_value = NAN;
    t.double_value = -INFINITY;
    t.n_repeated_double = 0;
    j = pbjson_from_message(&t.base);
    assert_string_equal(jstr(j, "floatValue"), "NaN");
    assert_string_equal(jstr(j, "doubleValue"), "-Infinity");
    json_decref(j);

    back = (AllTypes *)read_text(&all_types_descriptor,
                                 "{\"floatValue\":\"Infinity\",\"doubleValue\":\"NaN\","
                                 "\"int32Value\":\"-12\",\"uint32Value\":3.0,"
                                 "\"int64Value\":-5,\"sint64Value\":\"-9223372036854775808\","
                                 "\"fixed64Value\":\"18446744073709551615\",\"repeatedDouble\":"
                                 "[1,\"2.5\",\"-Infinity\"],\"repeated_bool\":[true,false],"
                                 "\"repeatedKind\":[\"ENTITY_KIND_OBSERVER\",0,-3],"
                                 "\"optional_int32\":5,\"choiceChild\":{\"choiceInt\":9}}");
    assert_true(isinf(back->float_value) && back->float_value > 0);
    assert_true(isnan(back->double_value));
    assert_int_equal(back->int32_value, -12);
    assert_int_equal(back->uint32_value, 3);
    assert_int_equal(back->int64_value, -5);
    assert_true(back->sint64_value == INT64_MIN);
    assert_true(back->fixed64_value == UINT64_MAX);
    assert_int_equal(back->n_repeated_double, 3);
    assert_true(back->repeated_double[1] == 2.5);
    assert_true(isinf(back->repeated_double[2]) && back->repeated_double[2] < 0);
    assert_int_equal(back->n_repeated_bool, 2);
    assert_int_equal(back->repeated_kind[0], 3);
    assert_int_equal(back->repeated_kind[2], -3);
    assert_true(back->has_optional_int32);
    assert_int_equal(back->optional_int32, 5);
    assert_ptr_equal(back->optional_string, optional_string_default);
    assert_int_equal(back->choice_case, 26);
    assert_int_equal(back->choice_child->choice_int, 9);
    protobuf_c_message_free_unpacked(&back->base, NULL);
}

static void test_all_types_range_errors(void **state)
{
    static const struct {
        const char *json, *err;
#define INT32_RANGE "expected an integer from -2147483648 to 2147483647"
#define INT64_RANGE "expected an integer from -9223372036854775808 to 9223372036854775807"
    } cases[] = {
        {"{\"int32Value\":2147483648}", "int32Value: " INT32_RANGE},
        {"{\"sfixed32Value\":-2147483649}", "sfixed32Value: " INT32_RANGE},
        {"{\"int32Value\":1.5}", "int32Value: " INT32_RANGE},
        {"{\"int32Value\":\" 1\"}", "int32Value: " INT32_RANGE},
        {"{\"int32Value\":true}", "int32Value: " INT32_RANGE},
        {"{\"uint32Value\":-1}", "uint32Value: expected an integer from 0 to 4294967295"},
        {"{\"fixed32Value\":4294967296}", "fixed32Value: expected an integer from 0 to 4294967295"},
        {"{\"int64Value\":\"9223372036854775808\"}", "int64Value: " INT64_RANGE},
        {"{\"int64Value\":\"\"}", "int64Value: " INT64_RANGE},
        {"{\"floatValue\":1e39}", "floatValue: number out of the range of a float"},
        {"{\"floatValue\":\"fast\"}", "floatValue: expected a number, got \"fast\""},
        {"{\"doubleValue\":[]}", "doubleValue: expected a number, got an array"},
        {"{\"boolValue\":1}", "boolValue: expected true or false, got a number"},
        {"{\"repeatedBool\":[true,\"false\"]}",
         "repeatedBool[1]: expected true or false, got a string"},
        {"{\"repeatedInt64\":[1,2,null]}", "repeatedInt64[2]: null is not allowed in a list"},
        {"{\"repeatedBytes\":[\"AA==\",\"!\"]}", "repeatedBytes[1]: expected base64 data"},
        {"{\"repeatedKind\":[1,\"NOPE\"]}",
         "repeatedKind[1]: unknown enum value \"NOPE\" for compact.membership.v1.EntityKind"},
        {"{\"child\":{\"child\":{\"repeatedString\":[\"a\",\"b\",{}]}}}",
         "child.child.repeatedString[2]: expected a string, got an object"},
        {"{\"choiceInt\":1,\"choiceText\":\"a\"}",
         "choiceText: only one of choiceInt, choiceText, choiceChild may be set"},
        {"{\"choiceChild\":{\"choiceText\":\"x\",\"bytesValue\":\"AA\",\"optionalString\":\"s\","
         "\"uint64Value\":\"x\"}}",
         "choiceChild.uint64Value: expected an integer from 0 to 18446744073709551615"},
        {"{\"optionalString\":\"a\",\"optional_string\":\"b\"}",
         "optionalString: given twice, as optionalString and optional_string"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        expect_error(&all_types_descriptor, cases[i].json, cases[i].err);
}

static void test_deep_nesting_refused(void **state)
{
    char text[2000];
    size_t n = 0;
    char err[512] = "";
    json_t *j;

    for (int i = 0; i < 100; i++)
        n += (size_t)snprintf(text + n, sizeof(text) - n, "{\"child\":");
    n += (size_t)snprintf(text + n, sizeof(text) - n, "{}");
    for (int i = 0; i < 100; i++)
        text[n++] = '}';
    text[n] = '\0';
    j = parse(text);
    assert_null(pbjson_to_message(&all_types_descriptor, j, err, sizeof(err)));
    assert_non_null(strstr(err, "nested more than"));
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_entity_round_trip),
        cmocka_unit_test(test_snake_case_and_enum_numbers),
        cmocka_unit_test(test_oneof),
        cmocka_unit_test(test_field_mask),
        cmocka_unit_test(test_timestamps),
        cmocka_unit_test(test_error_paths),
        cmocka_unit_test(test_errors_free_everything),
        cmocka_unit_test(test_repeated_strings),
        cmocka_unit_test(test_event_uint64_and_bytes),
        cmocka_unit_test(test_all_types_round_trip),
        cmocka_unit_test(test_all_types_special_numbers),
        cmocka_unit_test(test_all_types_range_errors),
        cmocka_unit_test(test_deep_nesting_refused),
    };

    return cmocka_run_group_tests(tests, setup_descriptor, NULL);
}

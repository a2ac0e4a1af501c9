/* test_pbwire.c: the wire walk that vouches for cache entries.
 *
 * Its one promise: when pbwire_unpacks() answers 1, protobuf-c unpacks the
 * same bytes. Checked on packed projects (transactions, money, timestamps,
 * a oneof, packed enums), on bytes made to break each rule, and on 60,000
 * mutations of a packed project, where it must also vouch for most of the
 * mutants protobuf-c takes (a walk that answers 0 to everything would keep
 * the promise and be worthless).
 * pbwire_split() is held to unpacking: the rest unpacks as the message
 * without the field, each value as one of its elements. */
#include <protobuf-c/protobuf-c.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "compact/projects/v1/projects.pb-c.h"
#include "pbwire.h"

typedef Compact__Projects__V1__Project Project;
typedef Compact__Projects__V1__Transaction Transaction;
typedef Compact__Projects__V1__Money Money;

#define PROJECT_DESC (&compact__projects__v1__project__descriptor)
#define N_TX 3

static const ProtobufCFieldDescriptor *field(const ProtobufCMessageDescriptor *d, const char *name)
{
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(d, name);
    assert_non_null(f);
    return f;
}

/* A packed project with a bit of everything; *len its size, free() it. */
static uint8_t *packed_project(size_t *len)
{
    Project p = COMPACT__PROJECTS__V1__PROJECT__INIT;
    Transaction tx[N_TX], *txp[N_TX];
    Money money[N_TX];
    Google__Protobuf__Timestamp at = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    char *groups[] = {"wg_aaaaaaaaaaaaaaaaaaaa", "wg_bbbbbbbbbbbbbbbbbbbb"};
    Compact__Projects__V1__StrategyPillar pillars[] = {1, 3, 4};

    p.id = "prj_aaaaaaaaaaaaaaaaaaaa";
    p.title = "Border security and management in the Sahel";
    p.summary = "Joint training of border officers.\nSecond line.";
    p.n_working_group_ids = 2;
    p.working_group_ids = groups;
    p.n_pillars = 3;
    p.pillars = pillars;
    p.global_scope = 1;
    p.start_date = "2024-01-01";
    at.seconds = 1733400000;
    at.nanos = 123;
    p.create_time = &at;
    for (int i = 0; i < N_TX; i++) {
        compact__projects__v1__transaction__init(&tx[i]);
        compact__projects__v1__money__init(&money[i]);
        money[i].currency = "USD";
        money[i].amount_minor = -1250 * (i + 1); /* negative: a 10-byte varint */
        tx[i].id = "trn_aaaaaaaaaaaaaaaaaaaa";
        tx[i].type = 2 + i;
        tx[i].date = "2024-02-01";
        tx[i].value = &money[i];
        tx[i].provider_case = COMPACT__PROJECTS__V1__TRANSACTION__PROVIDER_PROVIDER_NAME;
        tx[i].provider_name = "European Union";
        tx[i].catalytic = i == 1;
        tx[i].record_time = &at;
        txp[i] = &tx[i];
    }
    p.n_transactions = N_TX;
    p.transactions = txp;
    *len = protobuf_c_message_get_packed_size(&p.base);
    uint8_t *buf = malloc(*len);
    assert_non_null(buf);
    protobuf_c_message_pack(&p.base, buf);
    return buf;
}

static int unpacks(const ProtobufCMessageDescriptor *d, const uint8_t *data, size_t len)
{
    ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, len, data);
    protobuf_c_message_free_unpacked(m, NULL);
    return m != NULL;
}

static void test_packed_messages_pass(void **state)
{
    size_t len;
    uint8_t *buf = packed_project(&len);
    pbwire_span id;

    assert_int_equal(pbwire_unpacks(PROJECT_DESC, buf, len, NULL, NULL), 1);
    assert_int_equal(pbwire_unpacks(PROJECT_DESC, buf, len, field(PROJECT_DESC, "id"), &id), 1);
    assert_int_equal(id.len, strlen("prj_aaaaaaaaaaaaaaaaaaaa"));
    assert_memory_equal(id.data, "prj_aaaaaaaaaaaaaaaaaaaa", id.len);
    assert_int_equal(pbwire_unpacks(PROJECT_DESC, buf, 0, NULL, NULL), 1); /* the empty message */
    free(buf);
}

static void test_key_is_the_last_occurrence(void **state)
{
    size_t len;
    uint8_t *buf = packed_project(&len);
    uint8_t *more = malloc(len + 5);
    pbwire_span v;

    /* id = "xyz" again at the end: protobuf-c keeps the last one */
    memcpy(more, buf, len);
    memcpy(more + len, "\x0a\x03xyz", 5);
    assert_int_equal(pbwire_unpacks(PROJECT_DESC, more, len + 5, field(PROJECT_DESC, "id"), &v), 1);
    assert_int_equal(v.len, 3);
    assert_memory_equal(v.data, "xyz", 3);
    Project *p = compact__projects__v1__project__unpack(NULL, len + 5, more);
    assert_non_null(p);
    assert_string_equal(p->id, "xyz");
    compact__projects__v1__project__free_unpacked(p, NULL);

    /* absent */
    assert_int_equal(pbwire_unpacks(PROJECT_DESC, (const uint8_t *)"\x22\x01T", 3,
                                    field(PROJECT_DESC, "id"), &v),
                     1);
    assert_null(v.data);
    assert_int_equal(v.len, 0);
    free(more);
    free(buf);
}

static void test_keys_it_cannot_answer(void **state)
{
    const ProtobufCMessageDescriptor *tx = &compact__projects__v1__transaction__descriptor;
    pbwire_span v;
    static const uint8_t a_tx[] = {0x0a, 0x01, 't'};

    /* in a oneof, not a string, repeated, or another type's field */
    assert_int_equal(pbwire_unpacks(tx, a_tx, sizeof a_tx, field(tx, "provider_name"), &v), 0);
    assert_int_equal(pbwire_unpacks(tx, a_tx, sizeof a_tx, field(tx, "type"), &v), 0);
    assert_int_equal(pbwire_unpacks(PROJECT_DESC, a_tx, sizeof a_tx,
                                    field(PROJECT_DESC, "working_group_ids"), &v),
                     0);
    assert_int_equal(pbwire_unpacks(PROJECT_DESC, a_tx, sizeof a_tx, field(tx, "id"), &v), 0);
    assert_int_equal(pbwire_unpacks(tx, a_tx, sizeof a_tx, field(tx, "id"), &v), 1);
}

/* protobuf-c merges the two occurrences of a message field that is not
 * repeated, and 1.4's merge fails when the field's type has a oneof neither
 * set: the walk leaves any field given twice to protobuf-c. */
static void test_a_message_field_twice_is_left_to_protobuf_c(void **state)
{
    const ProtobufCMessageDescriptor *req =
        &compact__projects__v1__record_transaction_request__descriptor;
    static const uint8_t twice[] = {0x12, 0x00, 0x12, 0x00}; /* transaction {} twice */

    assert_int_equal(pbwire_unpacks(req, twice, 2, NULL, NULL), 1);
    assert_true(unpacks(req, twice, 2));
    assert_int_equal(pbwire_unpacks(req, twice, sizeof twice, NULL, NULL), 0);
    assert_false(unpacks(req, twice, sizeof twice));
}

typedef struct wire_case {
    const char *what;
    const char *bytes;
    size_t len;
    int protobuf_c_refuses; /* 1: protobuf-c refuses it too; 0: it takes it */
} wire_case;

#define CASE(what, lit, refuses)                                                                   \
    {                                                                                              \
        what, lit, sizeof lit - 1, refuses                                                         \
    }

static void test_refuses_each_broken_rule(void **state)
{
    static const wire_case cases[] = {
        CASE("a tag that does not end", "\x8a\x80\x80\x80\x80\x01", 1),
        CASE("a varint of 11 bytes", "\x70\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 1),
        CASE("a varint cut short", "\x70\xff", 1),
        CASE("a length past the end", "\x0a\x05prj", 1),
        CASE("a fixed64 cut short", "\x79\x01\x02\x03", 1),
        CASE("a group (wire type 3)", "\x7b\x7c", 1),
        CASE("wire type 7", "\x7f\x00", 1),
        CASE("a string sent as a varint", "\x08\x01", 1),
        CASE("a message sent as a fixed32", "\x7d\x01\x02\x03\x04", 1),
        CASE("packed enums whose last varint does not end", "\x52\x02\x01\x81", 1),
        CASE("a transaction whose money is cut", "\x82\x01\x04\x22\x03\x0a\x03", 1),
        CASE("a money amount sent as a string", "\x82\x01\x04\x22\x02\x12\x00", 1),
        CASE("an unknown field whose length is past the end",
             "\xfa\x3e\x09"
             "abc",
             1),
        CASE("a bool sent as a fixed64", "\x49\x01\x00\x00\x00\x00\x00\x00\x00", 0),
        CASE("a bool sent length-delimited", "\x12\x00\x82\x01\x04\x3a\x02\x02\x01", 0),
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const wire_case *c = &cases[i];
        const uint8_t *b = (const uint8_t *)c->bytes;

        print_message("%s\n", c->what);
        assert_int_equal(pbwire_unpacks(PROJECT_DESC, b, c->len, NULL, NULL), 0);
        if (c->protobuf_c_refuses)
            assert_false(unpacks(PROJECT_DESC, b, c->len));
    }
    /* and what it skips: unknown fields of every wire type it knows */
    static const char unknown[] = "\xf8\x3e\x05\xf9\x3e\x01\x02\x03\x04\x05\x06\x07\x08"
                                  "\xfa\x3e\x02hi\xfd\x3e\x01\x02\x03\x04";
    assert_int_equal(
        pbwire_unpacks(PROJECT_DESC, (const uint8_t *)unknown, sizeof unknown - 1, NULL, NULL), 1);
    assert_true(unpacks(PROJECT_DESC, (const uint8_t *)unknown, sizeof unknown - 1));
}

/* xorshift64: the same mutations on every run. */
static uint64_t next_random(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Mutates buf[0..*len) in place (room for one more byte). */
static void mutate(uint8_t *buf, size_t *len, uint64_t *rng)
{
    uint64_t r = next_random(rng);
    size_t at = (size_t)(next_random(rng) % *len);

    switch (r % 5) {
    case 0: /* flip a bit */
        buf[at] ^= (uint8_t)(1u << (r >> 8) % 8);
        break;
    case 1: /* any byte */
        buf[at] = (uint8_t)(r >> 8);
        break;
    case 2: /* cut */
        *len = at;
        break;
    case 3: /* insert a byte */
        memmove(buf + at + 1, buf + at, *len - at);
        buf[at] = (uint8_t)(r >> 8);
        (*len)++;
        break;
    default: /* drop a byte */
        memmove(buf + at, buf + at + 1, *len - at - 1);
        (*len)--;
        break;
    }
}

static void test_never_more_lenient_than_protobuf_c(void **state)
{
    size_t len;
    uint8_t *orig = packed_project(&len);
    uint8_t *buf = malloc(len + 8);
    uint64_t rng = 0x9e3779b97f4a7c15u;
    unsigned taken = 0, vouched = 0;
    const ProtobufCFieldDescriptor *id = field(PROJECT_DESC, "id");

    for (int i = 0; i < 60000; i++) {
        size_t n = len;
        pbwire_span key;

        memcpy(buf, orig, len);
        for (uint64_t k = next_random(&rng) % 3; k < 3 && n > 0; k++) /* 1 to 3 */
            mutate(buf, &n, &rng);
        Project *p = compact__projects__v1__project__unpack(NULL, n, buf);
        int walk = pbwire_unpacks(PROJECT_DESC, buf, n, id, &key);

        if (walk) {
            assert_non_null(p); /* the promise */
            size_t cut = key.data ? strnlen((const char *)key.data, key.len) : 0;
            assert_int_equal(strlen(p->id), cut); /* the id protobuf-c would give */
            assert_memory_equal(p->id, key.data ? (const char *)key.data : "", cut);
        }
        taken += p != NULL;
        vouched += walk;
        compact__projects__v1__project__free_unpacked(p, NULL);
    }
    print_message("protobuf-c took %u mutants, the walk vouched for %u\n", taken, vouched);
    assert_true(taken > 5000);
    /* What it leaves to protobuf-c is what protobuf-c reads loosely (a bool
     * in any wire type): rare among mutants. */
    assert_true(vouched * 100 >= taken * 95);
    free(buf);
    free(orig);
}

/* The values pbwire_split passes to `each`, kept. */
typedef struct seen_values {
    const uint8_t *data[8];
    size_t len[8], n;
    size_t stop_at; /* answer nonzero at this value (0: never) */
} seen_values;

static int keep_value(void *arg, const uint8_t *value, size_t len)
{
    seen_values *s = arg;

    if (s->n + 1 == s->stop_at)
        return 1;
    s->data[s->n] = value;
    s->len[s->n++] = len;
    return 0;
}

static void test_split_gives_the_field_apart_and_the_rest(void **state)
{
    size_t len, rest_len;
    uint8_t *buf = packed_project(&len), *rest = malloc(len);
    seen_values seen = {0};
    uint32_t tx_number = field(PROJECT_DESC, "transactions")->id;

    assert_int_equal(pbwire_split(buf, len, tx_number, rest, &rest_len, keep_value, &seen), 1);
    assert_int_equal(seen.n, N_TX);
    Project *whole = compact__projects__v1__project__unpack(NULL, len, buf);
    Project *shell = compact__projects__v1__project__unpack(NULL, rest_len, rest);
    assert_non_null(whole);
    assert_non_null(shell);
    assert_int_equal(shell->n_transactions, 0);
    assert_string_equal(shell->title, whole->title);
    assert_int_equal(shell->n_pillars, 3);
    assert_int_equal(shell->create_time->nanos, 123);
    for (size_t i = 0; i < seen.n; i++) { /* each value, an element, in order */
        Transaction *t =
            compact__projects__v1__transaction__unpack(NULL, seen.len[i], seen.data[i]);
        assert_non_null(t);
        assert_int_equal(t->type, whole->transactions[i]->type);
        assert_int_equal(t->value->amount_minor, whole->transactions[i]->value->amount_minor);
        compact__projects__v1__transaction__free_unpacked(t, NULL);
    }
    /* The rest and the values are every byte but the values' tags and lengths. */
    size_t values = 0;
    for (size_t i = 0; i < seen.n; i++)
        values += seen.len[i] + (tx_number < 16 ? 1 : 2) + 1; /* its tag, a one-byte length */
    assert_int_equal(rest_len + values, len);
    compact__projects__v1__project__free_unpacked(whole, NULL);
    compact__projects__v1__project__free_unpacked(shell, NULL);

    /* A field that is absent: everything is the rest. */
    seen.n = 0;
    assert_int_equal(pbwire_split(buf, len, 999, rest, &rest_len, keep_value, &seen), 1);
    assert_int_equal(seen.n, 0);
    assert_int_equal(rest_len, len);
    assert_memory_equal(rest, buf, len);
    free(rest);
    free(buf);
}

static void test_split_refuses_what_is_not_wire_format(void **state)
{
    size_t len, rest_len;
    uint8_t *buf = packed_project(&len), *rest = malloc(len + 1);
    seen_values seen = {.stop_at = 2};
    uint32_t tx_number = field(PROJECT_DESC, "transactions")->id;
    uint32_t title_number = field(PROJECT_DESC, "title")->id;
    uint32_t status_number = field(PROJECT_DESC, "status")->id;
    uint8_t varint_field[] = {(uint8_t)(status_number << 3 | 0), 2};

    /* `each` says stop. */
    assert_int_equal(pbwire_split(buf, len, tx_number, rest, &rest_len, keep_value, &seen), 0);
    /* Cut short: the last value runs past the end. */
    seen = (seen_values){0};
    assert_int_equal(pbwire_split(buf, len - 1, tx_number, rest, &rest_len, keep_value, &seen), 0);
    /* The field sent as a varint, not length-delimited. */
    assert_int_equal(pbwire_split(varint_field, sizeof varint_field, status_number, rest, &rest_len,
                                  keep_value, &seen),
                     0);
    /* A string field works as well as a message field. */
    seen = (seen_values){0};
    assert_int_equal(pbwire_split(buf, len, title_number, rest, &rest_len, keep_value, &seen), 1);
    assert_int_equal(seen.n, 1);
    assert_memory_equal(seen.data[0], "Border security", 15);
    free(rest);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_packed_messages_pass),
        cmocka_unit_test(test_key_is_the_last_occurrence),
        cmocka_unit_test(test_keys_it_cannot_answer),
        cmocka_unit_test(test_a_message_field_twice_is_left_to_protobuf_c),
        cmocka_unit_test(test_refuses_each_broken_rule),
        cmocka_unit_test(test_never_more_lenient_than_protobuf_c),
        cmocka_unit_test(test_split_gives_the_field_apart_and_the_rest),
        cmocka_unit_test(test_split_refuses_what_is_not_wire_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_validate.c: the pure checks of validate.h and the page tokens of page.h.
 *
 * The validate_* functions that take an rpc_call are thin wrappers that format
 * "<field>: <problem>" around these checks; a call cannot be made outside the
 * runtime, so they are exercised over the wire by the integration tests. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "page.h"
#include "validate.h"

/* ---- UTF-8 and text ----------------------------------------------------- */

static void test_utf8_chars(void **state)
{
    (void)state;
    assert_int_equal(validate_utf8_chars(""), 0);
    assert_int_equal(validate_utf8_chars("abc"), 3);
    assert_int_equal(validate_utf8_chars("caf\xc3\xa9"), 4);          /* café */
    assert_int_equal(validate_utf8_chars("\xe2\x82\xac"), 1);         /* euro sign */
    assert_int_equal(validate_utf8_chars("\xf0\x9f\x98\x80!"), 2);    /* emoji + ! */
    assert_true(validate_utf8_chars("\xc3") == SIZE_MAX);             /* truncated */
    assert_true(validate_utf8_chars("\xc0\xaf") == SIZE_MAX);         /* overlong '/' */
    assert_true(validate_utf8_chars("\xe0\x80\xaf") == SIZE_MAX);     /* overlong */
    assert_true(validate_utf8_chars("\xed\xa0\x80") == SIZE_MAX);     /* surrogate */
    assert_true(validate_utf8_chars("\xf4\x90\x80\x80") == SIZE_MAX); /* > U+10FFFF */
    assert_true(validate_utf8_chars("a\x80z") == SIZE_MAX);           /* lone continuation */
    assert_true(validate_utf8_chars("\xff") == SIZE_MAX);
}

static void test_text_problem(void **state)
{
    (void)state;
    assert_null(validate_text_problem("", 0));
    assert_null(validate_text_problem("United Nations", 0));
    assert_null(validate_text_problem("Caf\xc3\xa9 & co.", 0));
    assert_string_equal(validate_text_problem("a\tb", 0), "must not contain control characters");
    assert_string_equal(validate_text_problem("a\nb", 0), "must not contain control characters");
    assert_string_equal(validate_text_problem("a\x7f", 0), "must not contain control characters");
    assert_string_equal(validate_text_problem("a\xc2\x85", 0),
                        "must not contain control characters"); /* C1 NEL */
    assert_string_equal(validate_text_problem(" a", 0), "must not start or end with whitespace");
    assert_string_equal(validate_text_problem("a ", 0), "must not start or end with whitespace");
    assert_string_equal(validate_text_problem(" ", 0), "must not start or end with whitespace");
    assert_string_equal(validate_text_problem("a\xc3", 0), "not valid UTF-8");
    /* Multi-line text may hold newlines and tabs and edge whitespace, but no
     * other control characters. */
    assert_null(validate_text_problem("line one\nline two\r\n\tindented ", VALIDATE_MULTILINE));
    assert_string_equal(validate_text_problem("bell\a", VALIDATE_MULTILINE),
                        "must not contain control characters");
    assert_string_equal(validate_text_problem("\xed\xa0\x80", VALIDATE_MULTILINE),
                        "not valid UTF-8");
}

/* ---- e-mail ------------------------------------------------------------- */

static void test_email_good(void **state)
{
    static const char *const good[] = {
        "a.b@un.org",
        "x+tag@sub.example.co",
        "o'neil@un.org",
        "a@b.io",
        "first_last-1@mail-server.example.int",
        "UPPER@UN.ORG",
    };
    (void)state;
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        if (validate_email_problem(good[i]) != NULL)
            fail_msg("refused %s", good[i]);
    }
}

static void test_email_bad(void **state)
{
    char long_local[80], long_total[300], label[61];
    static const char *const bad[] = {
        "nope",         "a@b",           "a@@b.org",
        "a@b@c.org",    "@un.org",       "a@",
        ".a@b.org",     "a.@b.org",      "a..b@b.org",
        "a@-b.org",     "a@b-.org",      "a@b..org",
        "a@.b.org",     "a@b.org.",      "a@1.2.3.4",
        "a b@un.org",   "a@un org",      "a@un_x.org",
        "\"q\"@un.org", "a@[127.0.0.1]", "caf\xc3\xa9@un.org",
    };
    (void)state;
    assert_string_equal(validate_email_problem(""), "must not be empty");
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *p = validate_email_problem(bad[i]);
        if (p == NULL || strcmp(p, "not an e-mail address") != 0)
            fail_msg("accepted %s", bad[i]);
    }
    /* 64 characters of local part are fine, 65 are not. */
    memset(long_local, 'x', 64);
    strcpy(long_local + 64, "@un.org");
    assert_null(validate_email_problem(long_local));
    memset(long_local, 'x', 65);
    strcpy(long_local + 65, "@un.org");
    assert_non_null(validate_email_problem(long_local));
    /* 254 in all is the most: "a@" and a domain of 252 (four labels of 60,
     * then "dddd.org"); one more "d" makes 255, valid parts but too long. */
    memset(label, 'd', 60);
    label[60] = '\0';
    snprintf(long_total, sizeof long_total, "a@%s.%s.%s.%s.dddd.org", label, label, label, label);
    assert_int_equal(strlen(long_total), 254);
    assert_null(validate_email_problem(long_total));
    snprintf(long_total, sizeof long_total, "a@%s.%s.%s.%s.ddddd.org", label, label, label, label);
    assert_int_equal(strlen(long_total), 255);
    assert_string_equal(validate_email_problem(long_total), "not an e-mail address");
}

/* ---- dates, ids, page sizes ---------------------------------------------- */

static void test_date(void **state)
{
    static const char *const good[] = {
        "2018-02-23", "2024-02-29", "2000-02-29", "0001-01-01", "9999-12-31", "2023-04-30",
    };
    static const char *const shape[] = {
        "2024-1-01",  "24-01-01",    "2024/01/01", "2024-01-01T00",
        "2024-01-0a", " 2024-01-01", "20240101",   "2024-001-01",
    };
    static const char *const unreal[] = {
        "2023-02-29", "1900-02-29", "2024-13-01", "2024-00-10",
        "2024-04-31", "2024-01-00", "2024-01-32", "0000-01-01",
    };
    (void)state;
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        if (validate_date_problem(good[i]) != NULL)
            fail_msg("refused %s", good[i]);
    }
    for (size_t i = 0; i < sizeof shape / sizeof shape[0]; i++)
        assert_string_equal(validate_date_problem(shape[i]), "not a date in the form YYYY-MM-DD");
    for (size_t i = 0; i < sizeof unreal / sizeof unreal[0]; i++) {
        const char *p = validate_date_problem(unreal[i]);
        if (p == NULL || strcmp(p, "not a real calendar date") != 0)
            fail_msg("accepted %s", unreal[i]);
    }
    assert_string_equal(validate_date_problem(""), "must not be empty");
}

static void test_id(void **state)
{
    (void)state;
    assert_null(validate_id_problem("ent_abcdefghijklmnopqrst", "ent_"));
    assert_null(validate_id_problem("ent_234567uvwxyz234567ab", "ent_"));
    assert_string_equal(validate_id_problem("", "ent_"), "must not be empty");
    assert_string_equal(validate_id_problem("wg_abcdefghijklmnopqrst", "ent_"), "not a valid id");
    assert_string_equal(validate_id_problem("ent_abcdefghijklmnopqrs", "ent_"), "not a valid id");
    assert_string_equal(validate_id_problem("ent_abcdefghijklmnopqrstu", "ent_"), "not a valid id");
    assert_string_equal(validate_id_problem("ent_Abcdefghijklmnopqrst", "ent_"), "not a valid id");
    assert_string_equal(validate_id_problem("ent_abcdefghijklmnopqrs1", "ent_"), "not a valid id");
    assert_string_equal(validate_id_problem("ent_abcdefghijklmnopqrs8", "ent_"), "not a valid id");
    assert_string_equal(validate_id_problem("ENT_abcdefghijklmnopqrst", "ent_"), "not a valid id");
    assert_string_equal(validate_id_problem("UNOCT", "ent_"), "not a valid id");
}

/* A Committee decision's effect: "dec_" and an id, "/effects/", 1 to 9999. */
static void test_decision_ref(void **state)
{
    static const char *const good[] = {
        "dec_abcdefghijklmnopqrst/effects/1",
        "dec_234567uvwxyz234567ab/effects/12",
        "dec_abcdefghijklmnopqrst/effects/9999",
    };
    static const char *const bad[] = {
        "dec_abcdefghijklmnopqrst",               /* no effect */
        "dec_abcdefghijklmnopqrst/effects/",      /* no number */
        "dec_abcdefghijklmnopqrst/effects/0",     /* from 1 */
        "dec_abcdefghijklmnopqrst/effects/01",    /* no leading zero */
        "dec_abcdefghijklmnopqrst/effects/10000", /* at most 9999 */
        "dec_abcdefghijklmnopqrst/effects/1a",
        "dec_abcdefghijklmnopqrst/effects/-1",
        "dec_abcdefghijklmnopqrst/effect/1",
        "dec_abcdefghijklmnopqrst/effects/1/",
        "dec_abcdefghijklmnopqrs/effects/1", /* id one character short */
        "dec_Abcdefghijklmnopqrst/effects/1",
        "ent_abcdefghijklmnopqrst/effects/1", /* not a decision */
        " dec_abcdefghijklmnopqrst/effects/1",
        "dec_abcdefghijklmnopqrst/effects/1 ",
    };
    (void)state;
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        const char *p = validate_decision_ref_problem(good[i]);
        if (p)
            fail_msg("refused %s: %s", good[i], p);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *p = validate_decision_ref_problem(bad[i]);
        if (p == NULL || strcmp(p, "not a decision effect (dec_<id>/effects/<n>)") != 0)
            fail_msg("accepted %s", bad[i]);
    }
    assert_string_equal(validate_decision_ref_problem(""), "must not be empty");
}

static void test_page_size(void **state)
{
    int out = -7;
    (void)state;
    assert_int_equal(validate_page_size_value(-1, &out), -EINVAL);
    assert_int_equal(out, -7); /* untouched on error */
    assert_int_equal(validate_page_size_value(INT32_MIN, &out), -EINVAL);
    assert_int_equal(validate_page_size_value(0, &out), 0);
    assert_int_equal(out, VALIDATE_PAGE_SIZE_DEFAULT);
    assert_int_equal(out, 50);
    assert_int_equal(validate_page_size_value(1, &out), 0);
    assert_int_equal(out, 1);
    assert_int_equal(validate_page_size_value(1000, &out), 0);
    assert_int_equal(out, 1000);
    assert_int_equal(validate_page_size_value(1001, &out), 0);
    assert_int_equal(out, VALIDATE_PAGE_SIZE_MAX);
    assert_int_equal(validate_page_size_value(INT32_MAX, &out), 0);
    assert_int_equal(out, 1000);
}

/* ---- page tokens -------------------------------------------------------- */

static uint64_t filters(const char *kind, const char *status)
{
    const char *v[] = {"membership.entities", kind, status};

    return page_token_filter_hash(v, 3);
}

static void test_filter_hash(void **state)
{
    const char *ab_c[] = {"ab", "c"}, *a_bc[] = {"a", "bc"}, *c_ab[] = {"c", "ab"};
    (void)state;
    assert_true(filters("1", "2") == filters("1", "2"));
    assert_true(filters("1", "2") != filters("2", "1"));
    assert_true(filters("0", "0") != filters("1", "0"));
    assert_true(page_token_filter_hash(ab_c, 2) != page_token_filter_hash(a_bc, 2));
    assert_true(page_token_filter_hash(ab_c, 2) != page_token_filter_hash(c_ab, 2));
    assert_true(page_token_filter_hash(ab_c, 1) != page_token_filter_hash(ab_c, 2));
}

static void roundtrip(const char *key)
{
    uint64_t h = filters("1", "0");
    char *token = page_token_encode(h, key);
    char out[PAGE_TOKEN_KEY_MAX + 1];

    assert_non_null(token);
    assert_true(token[0] != '\0');
    assert_int_equal(strspn(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                   "0123456789-_"),
                     strlen(token));
    assert_int_equal(page_token_decode(token, h, out, sizeof out), 0);
    assert_string_equal(out, key);
    free(token);
}

static void test_token_roundtrip(void **state)
{
    char longest[PAGE_TOKEN_KEY_MAX + 1];
    (void)state;
    roundtrip("unoct");
    roundtrip("");
    roundtrip("un women");
    roundtrip("a");
    roundtrip("ab");
    roundtrip("abc"); /* every length modulo 3 */
    roundtrip("caf\xc3\xa9 & co.");
    memset(longest, 'k', PAGE_TOKEN_KEY_MAX);
    longest[PAGE_TOKEN_KEY_MAX] = '\0';
    roundtrip(longest);
}

static void test_token_other_filters(void **state)
{
    char *token = page_token_encode(filters("0", "0"), "unoct");
    char out[64];
    (void)state;
    assert_int_equal(page_token_decode(token, filters("1", "0"), out, sizeof out), -ESTALE);
    assert_string_equal(out, "");
    assert_string_equal(page_token_strerror(-ESTALE), "does not match the request's filters");
    free(token);
}

static void test_token_garbage(void **state)
{
    static const char *const garbage[] = {
        "",
        "garbage",
        "x",
        "AAAA",
        "AAAAAAAAAAAAAAAAAAAAAAAA",
        "not a token",
        "AaKM+QwY",
        "AaKMQwyg8-IhaW50ZXJwb2xzGY25=",
        "////",
        "\xc3\xa9\xc3\xa9",
    };
    char out[64];
    (void)state;
    for (size_t i = 0; i < sizeof garbage / sizeof garbage[0]; i++) {
        if (page_token_decode(garbage[i], filters("0", "0"), out, sizeof out) != -EBADMSG)
            fail_msg("took \"%s\" for a token", garbage[i]);
    }
    assert_string_equal(page_token_strerror(-EBADMSG), "not a token from a previous page");
}

/* Any one character changed, and any truncation, is refused as garbage: the
 * checksum is checked before the filter hash. */
static void test_token_mangled(void **state)
{
    uint64_t h = filters("0", "0");
    char *token = page_token_encode(h, "interpol");
    size_t len = strlen(token);
    char out[64];
    (void)state;
    for (size_t i = 0; i < len; i++) {
        char *copy = strdup(token);
        copy[i] = copy[i] == 'A' ? 'B' : 'A';
        if (page_token_decode(copy, h, out, sizeof out) != -EBADMSG)
            fail_msg("took %s (changed at %zu) for a token", copy, i);
        free(copy);
    }
    for (size_t cut = 0; cut < len; cut++) {
        char *copy = strndup(token, cut);
        if (page_token_decode(copy, h, out, sizeof out) != -EBADMSG)
            fail_msg("took %s (cut at %zu) for a token", copy, cut);
        free(copy);
    }
    free(token);
}

static void test_token_limits(void **state)
{
    char key[PAGE_TOKEN_KEY_MAX + 2], out[4];
    uint64_t h = filters("0", "0");
    char *token;
    (void)state;
    memset(key, 'k', PAGE_TOKEN_KEY_MAX + 1);
    key[PAGE_TOKEN_KEY_MAX + 1] = '\0';
    assert_null(page_token_encode(h, key)); /* one over the maximum */
    token = page_token_encode(h, "unoct");
    assert_int_equal(page_token_decode(token, h, out, sizeof out), -ENAMETOOLONG);
    assert_string_equal(out, "");
    free(token);
}

static void test_ids_valid(void **state)
{
    char a[] = "ent_abcdefghijklmnopqrst", b[] = "ent_234567abcdefghijklmn";
    char *ids[] = {a, b, a};

    /* fine ids leave the call untouched (none is needed) */
    assert_int_equal(validate_ids(NULL, "ids", ids, 3, 3, "ent_"), 0);
    assert_int_equal(validate_ids(NULL, "ids", NULL, 0, 3, "ent_"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_chars),
        cmocka_unit_test(test_text_problem),
        cmocka_unit_test(test_email_good),
        cmocka_unit_test(test_email_bad),
        cmocka_unit_test(test_date),
        cmocka_unit_test(test_id),
        cmocka_unit_test(test_decision_ref),
        cmocka_unit_test(test_page_size),
        cmocka_unit_test(test_filter_hash),
        cmocka_unit_test(test_token_roundtrip),
        cmocka_unit_test(test_token_other_filters),
        cmocka_unit_test(test_token_garbage),
        cmocka_unit_test(test_token_mangled),
        cmocka_unit_test(test_token_limits),
        cmocka_unit_test(test_ids_valid),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

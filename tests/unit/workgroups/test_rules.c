/* test_rules.c: what a valid working group is, rules.h.
 *
 * - rules_code_problem: 2 to GROUP_CODE_MAX letters, digits and '-',
 *   starting with a letter;
 * - rules_vice_chairs_problem: at least one, at most RULES_VICE_CHAIRS_MAX,
 *   none the chair, none twice, with the index at fault (*at) and, for a
 *   repeat, the index repeated (*first);
 * - rules_tor_order_problem and rules_tor_repeats: terms of reference follow
 *   the Committee's decisions; the same version again approves nothing;
 * - rules_project_id_problem: the shape of a project id, at most
 *   RULES_PROJECT_ID_MAX_CHARS;
 * - rules_find_member.
 * The handlers that put these phrases after a field's name are exercised by
 * tests/integration/test_workgroups.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rules.h"

/* ---- codes ---------------------------------------------------------------- */

static void test_code_valid(void **state)
{
    static const char *const valid[] = {
        "BMLE", "WG-1", "ETCIP", "a1",   "Ab",
        "hrrl", "X-",   "A-B-C", "G2-3", "ABCDEFGHIJKLMNOP", /* GROUP_CODE_MAX characters */
    };

    for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++) {
        const char *problem = rules_code_problem(valid[i]);
        if (problem)
            print_error("\"%s\": %s\n", valid[i], problem);
        assert_null(problem);
    }
    assert_int_equal(strlen("ABCDEFGHIJKLMNOP"), GROUP_CODE_MAX);
}

static void test_code_problems(void **state)
{
    static const struct {
        const char *code, *problem;
    } cases[] = {
        {"", "must be at least 2 characters"},
        {"B", "must be at least 2 characters"},
        {"1WG", "must start with a letter"},
        {"-WG", "must start with a letter"},
        {"12", "must start with a letter"},
        {"WG_1", "may contain only letters, digits and '-'"},
        {"WG 1", "may contain only letters, digits and '-'"},
        {"WG.1", "may contain only letters, digits and '-'"},
        {"BMLE/", "may contain only letters, digits and '-'"},
        {"Caf\xc3\xa9", "may contain only letters, digits and '-'"}, /* not ASCII */
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *problem = rules_code_problem(cases[i].code);
        if (problem == NULL)
            print_error("\"%s\": no problem found\n", cases[i].code);
        assert_non_null(problem);
        assert_string_equal(problem, cases[i].problem);
    }
}

/* rules.h says a code is "2 to GROUP_CODE_MAX letters, digits and '-'": a
 * 17-character code is refused by the rule itself, not only by the handler's
 * length check before it (the store's buffers assume GROUP_CODE_MAX). */
static void test_code_too_long(void **state)
{
    assert_null(rules_code_problem("ABCDEFGHIJKLMNOP")); /* 16 */
    assert_string_equal(rules_code_problem("ABCDEFGHIJKLMNOPQ"), "must be at most 16 characters");
}

/* ---- vice-chairs ---------------------------------------------------------- */

/* Leadership with chair "ent_chair" and the given vice-chairs. */
static Leadership leadership(char **vice, size_t n)
{
    Leadership l;

    compact__workgroups__v1__leadership__init(&l);
    l.chair_entity_id = (char *)"ent_chair";
    l.vice_chair_entity_ids = vice;
    l.n_vice_chair_entity_ids = n;
    return l;
}

static void test_vice_chairs_valid(void **state)
{
    char *one[] = {"ent_a"};
    char *ten[] = {"ent_0", "ent_1", "ent_2", "ent_3", "ent_4",
                   "ent_5", "ent_6", "ent_7", "ent_8", "ent_9"};
    char *prefix[] = {"ent_chai", "ent_chairs"}; /* like the chair, not it */
    Leadership l;
    size_t at = 99, first = 99;

    l = leadership(one, 1);
    assert_null(rules_vice_chairs_problem(&l, &at, &first));
    l = leadership(ten, RULES_VICE_CHAIRS_MAX);
    assert_null(rules_vice_chairs_problem(&l, &at, &first));
    l = leadership(prefix, 2);
    assert_null(rules_vice_chairs_problem(&l, &at, &first));
}

static void test_vice_chairs_count(void **state)
{
    char *eleven[] = {"ent_0", "ent_1", "ent_2", "ent_3", "ent_4", "ent_5",
                      "ent_6", "ent_7", "ent_8", "ent_9", "ent_10"};
    Leadership l;
    size_t at = 99, first = 99;

    l = leadership(NULL, 0);
    assert_string_equal(rules_vice_chairs_problem(&l, &at, &first), "name at least one vice-chair");
    l = leadership(eleven, RULES_VICE_CHAIRS_MAX + 1);
    assert_string_equal(rules_vice_chairs_problem(&l, &at, &first), "at most 10 vice-chairs");
    assert_int_equal(RULES_VICE_CHAIRS_MAX, 10);
}

static void test_vice_chair_is_chair(void **state)
{
    char *v[] = {"ent_a", "ent_b", "ent_chair", "ent_c"};
    char *first_one[] = {"ent_chair"};
    Leadership l = leadership(v, 4);
    size_t at = 99, first = 99;

    assert_string_equal(rules_vice_chairs_problem(&l, &at, &first),
                        "is the chair; a chair cannot also be a vice-chair");
    assert_int_equal(at, 2);
    l = leadership(first_one, 1);
    assert_non_null(rules_vice_chairs_problem(&l, &at, &first));
    assert_int_equal(at, 0);
}

static void test_vice_chair_repeats(void **state)
{
    char *v[] = {"ent_a", "ent_b", "ent_c", "ent_b", "ent_a"};
    char *twice[] = {"ent_a", "ent_a"};
    /* the first fault in list order is reported: the repeat at 1 */
    char *repeat_then_chair[] = {"ent_b", "ent_b", "ent_chair"};
    char *chair_then_repeat[] = {"ent_b", "ent_chair", "ent_b"};
    Leadership l = leadership(v, 5);
    size_t at = 99, first = 99;

    assert_string_equal(rules_vice_chairs_problem(&l, &at, &first), "repeats another vice-chair");
    assert_int_equal(at, 3);
    assert_int_equal(first, 1);
    l = leadership(twice, 2);
    assert_string_equal(rules_vice_chairs_problem(&l, &at, &first), "repeats another vice-chair");
    assert_int_equal(at, 1);
    assert_int_equal(first, 0);
    l = leadership(repeat_then_chair, 3);
    assert_string_equal(rules_vice_chairs_problem(&l, &at, &first), "repeats another vice-chair");
    assert_int_equal(at, 1);
    assert_int_equal(first, 0);
    l = leadership(chair_then_repeat, 3);
    assert_string_equal(rules_vice_chairs_problem(&l, &at, &first),
                        "is the chair; a chair cannot also be a vice-chair");
    assert_int_equal(at, 1);
}

/* ---- terms of reference --------------------------------------------------- */

static TermsOfReference tor(const char *text, const char *approved_on)
{
    TermsOfReference t;

    compact__workgroups__v1__terms_of_reference__init(&t);
    t.text = (char *)text;
    t.approved_on = (char *)approved_on;
    return t;
}

static void test_tor_order(void **state)
{
    TermsOfReference current = tor("v1", "2023-06-15");
    TermsOfReference later = tor("v2", "2024-01-10");
    TermsOfReference same_day = tor("v2", "2023-06-15");
    TermsOfReference earlier = tor("v2", "2023-06-14");
    TermsOfReference much_earlier = tor("v2", "2019-12-31");

    assert_null(rules_tor_order_problem(NULL, &earlier)); /* no version yet */
    assert_null(rules_tor_order_problem(&current, &later));
    assert_null(rules_tor_order_problem(&current, &same_day));
    assert_string_equal(rules_tor_order_problem(&current, &earlier),
                        "is before the approval of the current version");
    assert_non_null(rules_tor_order_problem(&current, &much_earlier));
    /* dates compare as days across months and years */
    current = tor("v1", "2023-12-31");
    later = tor("v2", "2024-01-01");
    assert_null(rules_tor_order_problem(&current, &later));
    assert_non_null(rules_tor_order_problem(&later, &current));
}

static void test_tor_repeats(void **state)
{
    TermsOfReference current = tor("The group shall meet twice a year.", "2023-06-15");
    TermsOfReference again = tor("The group shall meet twice a year.", "2023-06-15");
    TermsOfReference new_text = tor("The group shall meet four times a year.", "2023-06-15");
    TermsOfReference new_date = tor("The group shall meet twice a year.", "2024-06-15");
    TermsOfReference prefix = tor("The group shall meet twice a year", "2023-06-15");

    current.version = 3;
    assert_false(rules_tor_repeats(NULL, &again));
    assert_true(rules_tor_repeats(&current, &again)); /* version is the server's */
    assert_false(rules_tor_repeats(&current, &new_text));
    assert_false(rules_tor_repeats(&current, &new_date));
    assert_false(rules_tor_repeats(&current, &prefix));
}

/* ---- project ids ---------------------------------------------------------- */

static void test_project_id(void **state)
{
    static const char *const valid[] = {
        "prj_abcdefghijklmnopqrst",
        "prj_234567abcdefghijkl",
        "x",
        "legacy-project_2",
        "0",
        "_",
        "-",
    };
    static const struct {
        const char *id, *problem;
    } cases[] = {
        {"", "must not be empty"},
        {"PRJ_ABC", "not a project id (lower-case letters, digits, '_' and '-')"},
        {"prj_Abc", "not a project id (lower-case letters, digits, '_' and '-')"},
        {"prj abc", "not a project id (lower-case letters, digits, '_' and '-')"},
        {"prj.abc", "not a project id (lower-case letters, digits, '_' and '-')"},
        {"prj/abc", "not a project id (lower-case letters, digits, '_' and '-')"},
        {"prj_\xc3\xa9", "not a project id (lower-case letters, digits, '_' and '-')"},
    };
    char longest[RULES_PROJECT_ID_MAX_CHARS + 2];

    for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++) {
        const char *problem = rules_project_id_problem(valid[i]);
        if (problem)
            print_error("\"%s\": %s\n", valid[i], problem);
        assert_null(problem);
    }
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *problem = rules_project_id_problem(cases[i].id);
        if (problem == NULL)
            print_error("\"%s\": no problem found\n", cases[i].id);
        assert_non_null(problem);
        assert_string_equal(problem, cases[i].problem);
    }
    /* RULES_PROJECT_ID_MAX_CHARS characters, then one more */
    memset(longest, 'a', RULES_PROJECT_ID_MAX_CHARS);
    longest[RULES_PROJECT_ID_MAX_CHARS] = '\0';
    assert_null(rules_project_id_problem(longest));
    longest[RULES_PROJECT_ID_MAX_CHARS] = 'a';
    longest[RULES_PROJECT_ID_MAX_CHARS + 1] = '\0';
    assert_string_equal(rules_project_id_problem(longest), "is longer than 64 characters");
    assert_int_equal(RULES_PROJECT_ID_MAX_CHARS, 64);
    /* too long and badly formed: the length is reported */
    longest[0] = 'A';
    assert_string_equal(rules_project_id_problem(longest), "is longer than 64 characters");
}

/* ---- members -------------------------------------------------------------- */

static void test_find_member(void **state)
{
    Member a, b, c, *members[] = {&a, &b, &c};
    WorkingGroup g, empty;

    compact__workgroups__v1__member__init(&a);
    compact__workgroups__v1__member__init(&b);
    compact__workgroups__v1__member__init(&c);
    a.entity_id = (char *)"ent_a";
    b.entity_id = (char *)"ent_ab";
    c.entity_id = (char *)"ent_c";
    b.role = COMPACT__WORKGROUPS__V1__MEMBER_ROLE__MEMBER_ROLE_OBSERVER;
    compact__workgroups__v1__working_group__init(&g);
    g.members = members;
    g.n_members = 3;
    compact__workgroups__v1__working_group__init(&empty);

    assert_ptr_equal(rules_find_member(&g, "ent_a"), &a);
    assert_ptr_equal(rules_find_member(&g, "ent_ab"), &b);
    assert_ptr_equal(rules_find_member(&g, "ent_c"), &c);
    assert_int_equal(rules_find_member(&g, "ent_ab")->role,
                     COMPACT__WORKGROUPS__V1__MEMBER_ROLE__MEMBER_ROLE_OBSERVER);
    assert_null(rules_find_member(&g, "ent_b"));
    assert_null(rules_find_member(&g, "ent_"));
    assert_null(rules_find_member(&g, "ENT_A"));
    assert_null(rules_find_member(&g, ""));
    assert_null(rules_find_member(&empty, "ent_a"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_code_valid),         cmocka_unit_test(test_code_problems),
        cmocka_unit_test(test_code_too_long),      cmocka_unit_test(test_vice_chairs_valid),
        cmocka_unit_test(test_vice_chairs_count),  cmocka_unit_test(test_vice_chair_is_chair),
        cmocka_unit_test(test_vice_chair_repeats), cmocka_unit_test(test_tor_order),
        cmocka_unit_test(test_tor_repeats),        cmocka_unit_test(test_project_id),
        cmocka_unit_test(test_find_member),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

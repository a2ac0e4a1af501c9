/* test_msgcache.c: packed messages kept by id and version (msgcache.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "msgcache.h"

static void put_ok(msgcache *c, const char *id, int64_t version, const char *text)
{
    assert_int_equal(msgcache_put(c, id, version, text, strlen(text)), 0);
}

/* The text kept for (id, version), or NULL. */
static const char *got(msgcache *c, const char *id, int64_t version)
{
    static char buf[256];
    size_t len;
    const uint8_t *kept = msgcache_get(c, id, version, &len);

    if (kept == NULL) {
        assert_int_equal(len, 0);
        return NULL;
    }
    assert_true(len < sizeof buf);
    memcpy(buf, kept, len);
    buf[len] = '\0';
    return buf;
}

/* Answers for the version kept and no other; a newer put replaces it. */
static void test_answers_only_the_version_kept(void **state)
{
    msgcache *c;

    (void)state;
    assert_int_equal(msgcache_new(16, 1 << 20, &c), 0);
    assert_null(got(c, "prj-1", 1));
    put_ok(c, "prj-1", 1, "first");
    assert_string_equal(got(c, "prj-1", 1), "first");
    assert_null(got(c, "prj-1", 2));
    assert_null(got(c, "prj-2", 1));
    put_ok(c, "prj-1", 2, "second");
    assert_string_equal(got(c, "prj-1", 2), "second");
    assert_null(got(c, "prj-1", 1));
    msgcache_stats s = msgcache_get_stats(c);
    assert_int_equal(s.entries, 1);
    assert_true(s.bytes > strlen("second") && s.bytes < 100); /* with its id and header */
    assert_int_equal(s.hits, 2);
    assert_int_equal(s.misses, 4);
    msgcache_free(c);
}

/* With one slot every id shares it: the last put is the one kept. */
static void test_ids_sharing_a_slot_replace_each_other(void **state)
{
    msgcache *c;

    (void)state;
    assert_int_equal(msgcache_new(1, 1 << 20, &c), 0);
    put_ok(c, "prj-1", 1, "one");
    put_ok(c, "prj-2", 1, "two");
    assert_null(got(c, "prj-1", 1));
    assert_string_equal(got(c, "prj-2", 1), "two");
    assert_int_equal(msgcache_get_stats(c).entries, 1);
    msgcache_free(c);
}

/* The bytes kept never pass the bound: the clock empties slots until a new
 * entry fits, and an entry over a quarter of the bound is not kept. */
static void test_the_bound_holds(void **state)
{
    msgcache *c;
    char id[16], big[300];

    (void)state;
    assert_int_equal(msgcache_new(1024, 1000, &c), 0);
    for (int i = 0; i < 200; i++) {
        snprintf(id, sizeof id, "prj-%d", i);
        put_ok(c, id, 1, "0123456789012345678901234567890123456789"); /* 40 bytes */
        assert_true(msgcache_get_stats(c).bytes <= 1000);
    }
    assert_true(msgcache_get_stats(c).entries >= 8); /* about 90 bytes each: 11 fit */
    assert_string_equal(got(c, "prj-199", 1), "0123456789012345678901234567890123456789");
    memset(big, 'x', sizeof big);
    assert_int_equal(msgcache_put(c, "prj-199", 2, big, sizeof big), 0);
    assert_null(got(c, "prj-199", 2));
    assert_null(got(c, "prj-199", 1)); /* the slot's old entry went all the same */
    msgcache_free(c);
}

/* A NULL cache keeps nothing and answers nothing. */
static void test_no_cache(void **state)
{
    (void)state;
    put_ok(NULL, "prj-1", 1, "one");
    assert_null(got(NULL, "prj-1", 1));
    assert_int_equal(msgcache_get_stats(NULL).entries, 0);
    msgcache_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_answers_only_the_version_kept),
        cmocka_unit_test(test_ids_sharing_a_slot_replace_each_other),
        cmocka_unit_test(test_the_bound_holds),
        cmocka_unit_test(test_no_cache),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_cache_replies.c: hiredis replies built in a connection's own blocks
 * (cache_replies.c), through hiredis' own reader, without a server.
 *
 * - a stream read's shape (arrays in arrays, strings, an integer, a nil, an
 *   error, an empty array) reads back as hiredis builds it, every string
 *   NUL-terminated;
 * - the memory of a reply is given back when hiredis frees its root: the
 *   next reply starts where the last did, also after a reply that took
 *   several blocks (it then fits in one);
 * - a connection that goes while a reply is half read frees everything
 *   once the reader frees that reply, and one that goes between replies at
 *   once (the sanitizer build's leak check holds both to it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>
#include <hiredis/read.h>

#include "cache_internal.h"

/* One complete reply of `text` from `reader`. */
static redisReply *read_one(redisReader *reader, const char *text, size_t len)
{
    void *reply = NULL;

    assert_int_equal(redisReaderFeed(reader, text, len), REDIS_OK);
    assert_int_equal(redisReaderGetReply(reader, &reply), REDIS_OK);
    assert_non_null(reply);
    return reply;
}

/* What hiredis does once a reply's callback returned. */
static void done_with(redisReader *reader, redisReply *reply)
{
    reader->fn->freeObject(reply);
}

static const char stream_read[] = "*1\r\n"
                                  "*2\r\n$18\r\ncompact:events:pro\r\n"
                                  "*2\r\n"
                                  "*2\r\n$3\r\n1-0\r\n*4\r\n$5\r\nevent\r\n$3\r\nabc\r\n"
                                  "$1\r\nx\r\n$0\r\n\r\n"
                                  "*2\r\n$3\r\n2-0\r\n*-1\r\n";

static void test_replies_read_as_hiredis_builds_them(void **state)
{
    redisReader *reader = redisReaderCreate();
    cache_replies *replies = cache_replies_attach(reader);
    redisReply *r, *entries, *e;

    (void)state;
    assert_non_null(replies);
    r = read_one(reader, stream_read, sizeof stream_read - 1);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 1);
    assert_string_equal(r->element[0]->element[0]->str, "compact:events:pro");
    assert_int_equal(r->element[0]->element[0]->len, 18);
    entries = r->element[0]->element[1];
    assert_int_equal(entries->elements, 2);
    e = entries->element[0];
    assert_string_equal(e->element[0]->str, "1-0");
    assert_int_equal(e->element[1]->elements, 4);
    assert_string_equal(e->element[1]->element[1]->str, "abc");
    assert_int_equal(e->element[1]->element[3]->len, 0);
    assert_string_equal(e->element[1]->element[3]->str, "");
    assert_int_equal(entries->element[1]->element[1]->type, REDIS_REPLY_NIL);
    done_with(reader, r);

    r = read_one(reader, ":-42\r\n", 6);
    assert_int_equal(r->type, REDIS_REPLY_INTEGER);
    assert_int_equal(r->integer, -42);
    done_with(reader, r);
    r = read_one(reader, "-NOGROUP no such key\r\n", 22);
    assert_int_equal(r->type, REDIS_REPLY_ERROR);
    assert_string_equal(r->str, "NOGROUP no such key");
    done_with(reader, r);
    r = read_one(reader, "*0\r\n", 4);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 0);
    done_with(reader, r);
    r = read_one(reader, "+OK\r\n", 5);
    assert_int_equal(r->type, REDIS_REPLY_STATUS);
    assert_string_equal(r->str, "OK");
    done_with(reader, r);

    redisReaderFree(reader);
    cache_replies_release(replies);
}

/* "*n" of n bulk strings of `len` bytes each, their bytes 'a' + i. */
static char *big_reply(int n, size_t len, size_t *out_len)
{
    size_t room = 32 + (size_t)n * (len + 32), at;
    char *text = malloc(room);

    assert_non_null(text);
    at = (size_t)snprintf(text, room, "*%d\r\n", n);
    for (int i = 0; i < n; i++) {
        at += (size_t)snprintf(text + at, room - at, "$%zu\r\n", len);
        memset(text + at, 'a' + i % 26, len);
        at += len;
        memcpy(text + at, "\r\n", 2);
        at += 2;
    }
    *out_len = at;
    return text;
}

static void test_memory_is_reused_reply_after_reply(void **state)
{
    redisReader *reader = redisReaderCreate();
    cache_replies *replies = cache_replies_attach(reader);
    size_t len;
    char *text = big_reply(40, 13000, &len); /* half a megabyte: many blocks */
    redisReply *r, *first;

    (void)state;
    first = read_one(reader, ":1\r\n", 4);
    done_with(reader, first);
    r = read_one(reader, ":2\r\n", 4);
    assert_ptr_equal(r, first); /* the same place: given back and taken again */
    done_with(reader, r);

    r = read_one(reader, text, len);
    assert_int_equal(r->elements, 40);
    for (int i = 0; i < 40; i++) {
        assert_int_equal(r->element[i]->len, 13000);
        assert_int_equal(r->element[i]->str[12999], 'a' + i % 26);
        assert_int_equal(r->element[i]->str[13000], '\0');
    }
    done_with(reader, r);
    /* Now one block as large as that reply took: the next one like it
     * starts where this one does. */
    first = read_one(reader, text, len);
    done_with(reader, first);
    r = read_one(reader, text, len);
    assert_ptr_equal(r, first);
    assert_int_equal(r->element[39]->str[0], 'a' + 39 % 26);
    done_with(reader, r);

    free(text);
    redisReaderFree(reader);
    cache_replies_release(replies);
}

static void test_a_connection_gone_mid_reply_frees_all(void **state)
{
    redisReader *reader = redisReaderCreate();
    cache_replies *replies = cache_replies_attach(reader);
    void *reply = NULL;

    (void)state;
    /* Half of a stream read: the reader holds a root and some pieces. */
    assert_int_equal(redisReaderFeed(reader, stream_read, 60), REDIS_OK);
    assert_int_equal(redisReaderGetReply(reader, &reply), REDIS_OK);
    assert_null(reply);
    cache_replies_release(replies); /* the disconnect callback: hiredis frees next */
    redisReaderFree(reader);        /* frees the half reply, and with it the blocks */

    /* Gone between replies: freed at once. */
    reader = redisReaderCreate();
    replies = cache_replies_attach(reader);
    done_with(reader, read_one(reader, ":7\r\n", 4));
    cache_replies_release(replies);
    redisReaderFree(reader);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replies_read_as_hiredis_builds_them),
        cmocka_unit_test(test_memory_is_reused_reply_after_reply),
        cmocka_unit_test(test_a_connection_gone_mid_reply_frees_all),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_page.c: the paging arithmetic of a List handler (page tokens
 * themselves are tested in test_validate.c). page_request_parse and the
 * failure of page_request_next end a real call; the integration tests page
 * through every List RPC. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "compact/projects/v1/projects.pb-c.h"
#include "page.h"

typedef Compact__Projects__V1__Project Project;
typedef Compact__Projects__V1__ListProjectsResponse ListProjectsResponse;

static void test_request_limit_and_count(void **state)
{
    page_request p = {.size = 2};

    assert_int_equal(page_request_limit(&p), 3);
    assert_int_equal(page_request_count(&p, 0), 0);
    assert_int_equal(page_request_count(&p, 2), 2);
    assert_int_equal(page_request_count(&p, 3), 2);
}

static void test_request_next(void **state)
{
    page_request p = {.size = 2, .filter_hash = 77};
    char *next = (char *)"unchanged";
    char key[32];

    /* the last page: no token, last_key not read */
    assert_int_equal(page_request_next(NULL, &p, 2, NULL, &next), 0);
    assert_null(next);
    /* one row more than the page: a token for the page after "b" */
    assert_int_equal(page_request_next(NULL, &p, 3, "b", &next), 0);
    assert_non_null(next);
    assert_int_equal(page_token_decode(next, 77, key, sizeof key), 0);
    assert_string_equal(key, "b");
    free(next);
}

/* ---- packed rows (page_rows_pack) ------------------------------------------- */

/* Adds a project with a title of `title_len` characters, packed, keyed `key`. */
static void add_project(page_rows *r, const char *id, size_t title_len, const char *key)
{
    Project p = COMPACT__PROJECTS__V1__PROJECT__INIT;
    char *title = malloc(title_len + 1);
    uint8_t *packed;
    size_t len;

    assert_non_null(title);
    memset(title, 't', title_len);
    title[title_len] = '\0';
    p.id = (char *)id;
    p.title = title;
    len = protobuf_c_message_get_packed_size(&p.base);
    packed = malloc(len);
    assert_non_null(packed);
    protobuf_c_message_pack(&p.base, packed);
    assert_int_equal(page_rows_add(r, packed, len, key), 0);
    free(packed);
    free(title);
}

/* The response page_rows_pack makes, as a client unpacks it. */
static ListProjectsResponse *packed_page(const page_request *p, const page_rows *r)
{
    ListProjectsResponse *resp;
    uint8_t *out;
    size_t len;

    assert_int_equal(page_rows_pack(&compact__projects__v1__list_projects_response__descriptor, p,
                                    r, &out, &len),
                     0);
    resp = compact__projects__v1__list_projects_response__unpack(NULL, len, out);
    free(out);
    assert_non_null(resp);
    return resp;
}

/* The first page's rows as they were packed (one of 300 bytes, whose
 * length takes two bytes), then the token of the page after the last of
 * them; the last page without a token; no rows, an empty page. */
static void test_packed_rows_make_the_page(void **state)
{
    page_request p = {.size = 2, .filter_hash = 77};
    page_rows r = {0};
    ListProjectsResponse *resp;
    char key[32];

    (void)state;
    add_project(&r, "prj-a", 10, "a");
    add_project(&r, "prj-b", 300, "b");
    add_project(&r, "prj-c", 5, "c");
    resp = packed_page(&p, &r);
    assert_int_equal(resp->n_projects, 2);
    assert_string_equal(resp->projects[0]->id, "prj-a");
    assert_string_equal(resp->projects[1]->id, "prj-b");
    assert_int_equal(strlen(resp->projects[1]->title), 300);
    assert_int_equal(page_token_decode(resp->next_page_token, 77, key, sizeof key), 0);
    assert_string_equal(key, "b");
    protobuf_c_message_free_unpacked(&resp->base, NULL);

    p.size = 3;
    resp = packed_page(&p, &r);
    assert_int_equal(resp->n_projects, 3);
    assert_string_equal(resp->projects[2]->id, "prj-c");
    assert_string_equal(resp->next_page_token, "");
    protobuf_c_message_free_unpacked(&resp->base, NULL);

    page_rows_clear(&r);
    resp = packed_page(&p, &r);
    assert_int_equal(resp->n_projects, 0);
    assert_string_equal(resp->next_page_token, "");
    protobuf_c_message_free_unpacked(&resp->base, NULL);
    page_rows_free(&r);
}

/* A page is cut short before it passes PAGE_REPLY_MAX_BYTES, as
 * page_reply cuts one, and the next goes on after its last row. */
static void test_packed_rows_are_cut_at_the_reply_limit(void **state)
{
    page_request p = {.size = 10, .filter_hash = 5};
    page_rows r = {0};
    ListProjectsResponse *resp;
    char key[32];

    (void)state;
    add_project(&r, "prj-a", PAGE_REPLY_MAX_BYTES / 2 + 10, "a");
    add_project(&r, "prj-b", PAGE_REPLY_MAX_BYTES / 2 + 10, "b");
    add_project(&r, "prj-c", 5, "c");
    resp = packed_page(&p, &r);
    assert_int_equal(resp->n_projects, 1);
    assert_string_equal(resp->projects[0]->id, "prj-a");
    assert_int_equal(page_token_decode(resp->next_page_token, 5, key, sizeof key), 0);
    assert_string_equal(key, "a");
    protobuf_c_message_free_unpacked(&resp->base, NULL);
    page_rows_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_limit_and_count),
        cmocka_unit_test(test_request_next),
        cmocka_unit_test(test_packed_rows_make_the_page),
        cmocka_unit_test(test_packed_rows_are_cut_at_the_reply_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

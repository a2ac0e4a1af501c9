/* fuzz_page_token.c: page tokens (page.h), from any text.
 *
 * An input is one byte and the text. The byte picks the size of the key
 * buffer (from KEY_SIZES) and the page size of the List request below; the
 * text is used three ways:
 *   1. as a token: page_token_decode against the filter hash of FILTERS
 *      must return one of its documented codes, leave the empty string on an
 *      error, and on success a key that fits the buffer and encodes back to
 *      a token that decodes to the same key (and is stale for other
 *      filters);
 *   2. as a key: page_token_encode must make a token of any key of at most
 *      PAGE_TOKEN_KEY_MAX bytes (NULL beyond), which decodes back to it;
 *   3. as the page_token of a List request, through page_request_parse on a
 *      local call (rpc_call_new_local): it fails the call with
 *      INVALID_ARGUMENT exactly when it returns -1, and leaves it alone
 *      otherwise.
 * A broken rule is reported on stderr and ends in abort().
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "page.h"

static const char *const FILTERS[] = {"fuzz.list", "kind=1"};
static const size_t KEY_SIZES[] = {
    0, 1, 2, 8, 64, PAGE_TOKEN_KEY_MAX, PAGE_TOKEN_KEY_MAX + 1, PAGE_TOKEN_KEY_MAX + 2};
static const int32_t PAGE_SIZES[] = {0, 1, 50, 1000, 1001, -1};

#define N_KEY_SIZES (sizeof KEY_SIZES / sizeof KEY_SIZES[0])
#define N_PAGE_SIZES (sizeof PAGE_SIZES / sizeof PAGE_SIZES[0])

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void fail(const char *fmt, ...)
{
    va_list ap;

    fputs("fuzz_page_token: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    log_init("fuzz", LOG_LEVEL_ERROR);
    return 0;
}

/* `key` must decode back from its own token, for `hash` and no other. */
static void round_trip(uint64_t hash, const char *key)
{
    char back[PAGE_TOKEN_KEY_MAX + 1];
    char *token = page_token_encode(hash, key);
    int rc;

    if (strlen(key) > PAGE_TOKEN_KEY_MAX) {
        if (token != NULL)
            fail("a token for a key of %zu bytes", strlen(key));
        return;
    }
    if (token == NULL)
        fail("no token for a key of %zu bytes", strlen(key));
    if ((rc = page_token_decode(token, hash, back, sizeof back)) != 0 || strcmp(back, key) != 0)
        fail("token \"%s\" of key \"%s\" decodes to %d \"%s\"", token, key, rc, back);
    if ((rc = page_token_decode(token, hash ^ 1, back, sizeof back)) != -ESTALE)
        fail("token \"%s\" for other filters: %d, not -ESTALE", token, rc);
    free(token);
}

static void decode(uint64_t hash, const char *text, size_t key_size)
{
    /* Exactly key_size bytes on the heap, so that ASan sees any write past
     * them; one byte for a size of 0, which the decoder must not touch. */
    char *key = malloc(key_size ? key_size : 1);
    int rc;

    if (key == NULL)
        abort();
    if (key_size == 0)
        key[0] = 'x';
    rc = page_token_decode(text, hash, key, key_size);
    if (rc != 0 && rc != -EBADMSG && rc != -ESTALE && rc != -ENAMETOOLONG)
        fail("decode: %d is not a documented code", rc);
    if (page_token_strerror(rc) == NULL)
        fail("no words for %d", rc);
    if (key_size == 0 && key[0] != 'x')
        fail("decode wrote into a buffer of size 0");
    if (key_size > 0 && rc != 0 && key[0] != '\0')
        fail("decode failed (%d) and left a key", rc);
    if (rc == 0) {
        if (strlen(key) + 1 > key_size)
            fail("a key of %zu bytes in a buffer of %zu", strlen(key), key_size);
        round_trip(hash, key);
    }
    free(key);
}

/* ---- the List request's paging on a local call ----------------------------- */

typedef struct answer {
    int done;
    rpc_code code;
} answer;

static void on_answer(void *arg, rpc_code code, const char *message, const void *reply, size_t len)
{
    answer *a = arg;

    (void)message;
    (void)reply;
    (void)len;
    a->done++;
    a->code = code;
}

static void parse_request(const char *text, int32_t page_size)
{
    answer a = {0};
    page_request p;
    rpc_call *call;

    if (rpc_call_new_local("/fuzz.Fuzz/List", on_answer, &a, &call) != 0)
        abort();
    int rc = page_request_parse(call, FILTERS, 2, page_size, text, &p);
    if (rc == -1) {
        if (a.done != 1 || a.code != RPC_INVALID_ARGUMENT)
            fail("page_request_parse returned -1 with the call answered %d times (%s)", a.done,
                 rpc_code_name(a.code));
        return;
    }
    if (rc != 0 || a.done != 0)
        fail("page_request_parse returned %d with the call answered %d times", rc, a.done);
    if (p.size < 1 || strlen(p.after) > PAGE_TOKEN_KEY_MAX)
        fail("page_request_parse: size %d, key of %zu bytes", p.size, strlen(p.after));
    if (page_request_limit(&p) != (size_t)p.size + 1)
        fail("page_request_limit: %zu for a page of %d", page_request_limit(&p), p.size);
    rpc_call_fail(call, RPC_CANCELLED, "the harness ends the call"); /* which frees it */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint64_t hash = page_token_filter_hash(FILTERS, 2);
    char *text = malloc(size); /* the text up to its first NUL, as a C string */
    if (text == NULL)
        abort();
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';

    decode(hash, text, KEY_SIZES[data[0] % N_KEY_SIZES]);
    round_trip(hash, text);
    parse_request(text, PAGE_SIZES[(data[0] / N_KEY_SIZES) % N_PAGE_SIZES]);
    free(text);
    return 0;
}

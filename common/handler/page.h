/* page.h: opaque page tokens for List calls (AIP-158).
 *
 * A List call sorts by a unique key and pages by that key ("keyset paging"):
 * the token of the next page holds the key of the last item returned, and the
 * next query asks for keys after it. Unlike an offset, this neither skips nor
 * repeats items when others are added or removed between pages, and costs
 * one index seek per page.
 *
 * A token also holds a hash of the request's filters, so that a token reused
 * with other filters is refused instead of silently paging a different list.
 * By convention the first filter value names the list ("membership.entities")
 * so tokens of two lists never mix. page_size is not a filter: AIP-158 lets
 * it change between pages.
 *
 * Layout before base64url (no padding): version byte 1, the 8-byte filter
 * hash, the key's bytes, and a 4-byte checksum of all that, so truncated or
 * mangled tokens are told apart from tokens of other filters. Tokens are
 * opaque, not secret: a forged token only selects where a listing starts.
 *
 * Errors are negative errno values: -EBADMSG for a string that is not a token
 * of ours, -ESTALE for a token made with other filters, -ENAMETOOLONG for a
 * key longer than PAGE_TOKEN_KEY_MAX or larger than the caller's buffer.
 */
#ifndef COMPACT_PAGE_H
#define COMPACT_PAGE_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#include "rpc.h"

#define PAGE_TOKEN_KEY_MAX 512

/* FNV-1a (64-bit) over the `n` values, each preceded by its length so that
 * ("a", "bc") and ("ab", "c") differ. */
uint64_t page_token_filter_hash(const char *const *values, size_t n);

/* A new token for the page after `last_key`. Caller frees it with free().
 * NULL if `last_key` is longer than PAGE_TOKEN_KEY_MAX or memory ran out. */
char *page_token_encode(uint64_t filter_hash, const char *last_key);

/* Reads `token` into `key` (NUL-terminated, at most key_size bytes with the
 * NUL). Returns 0, -EBADMSG, -ESTALE or -ENAMETOOLONG; on error `key` holds
 * the empty string. */
int page_token_decode(const char *token, uint64_t filter_hash, char *key, size_t key_size);

/* "not a token from a previous page", "does not match the request's filters",
 * ...: the problem, for an error message after "page_token: ". */
const char *page_token_strerror(int rc);

/* In a handler: an empty `token` is the first page (key ""); otherwise as
 * page_token_decode. On failure ends the call with INVALID_ARGUMENT
 * ("<field>: <problem>") and returns -1. */
int page_token_parse(rpc_call *call, const char *field, const char *token, uint64_t filter_hash,
                     char *key, size_t key_size);

/* ---- a List handler's paging -------------------------------------------- */

/* The paging of one List request, filled by page_request_parse(). */
typedef struct page_request {
    uint64_t filter_hash;
    int size;                           /* rows on a full page */
    char after[PAGE_TOKEN_KEY_MAX + 1]; /* list the keys after this ("": from the start) */
} page_request;

/* Reads the paging of a List request: hashes `filters` (as
 * page_token_filter_hash), checks `page_size` (validate_page_size, field
 * "page_size") and then `page_token` (page_token_parse, field
 * "page_token"). Returns 0, or -1 after failing the call. */
int page_request_parse(rpc_call *call, const char *const *filters, size_t n_filters,
                       int32_t page_size, const char *page_token, page_request *out);

/* How many rows to ask the store for: one more than a page, so that the
 * extra row tells whether another page follows. */
size_t page_request_limit(const page_request *p);

/* Of `n` rows read, how many go into the reply (at most p->size). */
size_t page_request_count(const page_request *p, size_t n);

/* After `n` rows were read: if another page follows, sets *next to a new
 * token for the page after `last_key` (the key of the last row replied;
 * caller frees *next with free()), else sets *next to NULL and does not read
 * `last_key`. Returns 0, or -1 after failing the call with INTERNAL
 * ("store: cannot make the next page token (...)"). */
int page_request_next(rpc_call *call, const page_request *p, size_t n, const char *last_key,
                      char **next);

/* A page is cut short before it passes this many bytes (packed): with
 * aggregates of up to 1 MiB, a reply stays under the 4 MiB limit. */
#define PAGE_REPLY_MAX_BYTES (2u << 20)

/* The key a List pages by, of `item` (say its acronym lowered), into `buf`. */
typedef void (*page_key_fn)(const ProtobufCMessage *item, char *buf, size_t size);

/* A List handler's whole tail, after the store read up to
 * page_request_limit() rows into v[0..n) and returned `rc`. With rc 0: the
 * first page_request_count() rows go into the repeated message field of
 * `resp` (the List response, initialised; it has one such field),
 * next_page_token gets the token of the page after the last of them when
 * another follows (key_of says its key), and the call is answered. With rc
 * non-zero the call fails with status_fail_store(rc, what). The rows and the
 * array are freed in every case (pbmsg_free). */
void page_reply(rpc_call *call, const page_request *p, int rc, const char *what,
                ProtobufCMessage *resp, ProtobufCMessage **v, size_t n, page_key_fn key_of);

/* ---- rows already packed ------------------------------------------------ */

/* A List's rows as packed messages, each with the key it pages by: a store
 * that keeps its rows packed (msgcache.h) answers without unpacking them
 * only to pack them again. Zeroed to start; page_rows_free at the end. */
typedef struct page_rows {
    uint8_t *data; /* the rows' bytes, one after another */
    size_t len, cap;
    size_t *ends; /* ends[i]: where row i ends in data */
    char **keys;  /* keys[i]: the key of row i (owned) */
    size_t n, room;
} page_rows;

/* Appends a row (its bytes and its key are copied). 0 or -ENOMEM. */
int page_rows_add(page_rows *r, const void *data, size_t len, const char *key);

/* Forgets the rows, keeping the memory for more. */
void page_rows_clear(page_rows *r);

void page_rows_free(page_rows *r);

/* The List response (of descriptor `resp`: a repeated message field and
 * next_page_token) in wire format, from the first page_request_count() rows
 * cut short as page_reply cuts a page, with the token of the page after
 * when another follows: into *out (caller frees) and *len. Returns 0 or
 * -ENOMEM. */
int page_rows_pack(const ProtobufCMessageDescriptor *resp, const page_request *p,
                   const page_rows *rows, uint8_t **out, size_t *len);

/* page_reply for packed rows: answers the call with page_rows_pack's
 * bytes. With rc non-zero the call fails with status_fail_store(rc, what).
 * `rows` is left for the caller to free. */
void page_reply_packed(rpc_call *call, const page_request *p, int rc, const char *what,
                       const ProtobufCMessageDescriptor *resp, const page_rows *rows);

#endif

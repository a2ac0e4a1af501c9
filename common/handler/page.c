/* page.c: opaque page tokens (see page.h). */
#include "page.h"

#include <assert.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pbmsg.h"
#include "status.h"
#include "validate.h"

#define TOKEN_VERSION 1
#define HASH_BYTES 8
#define SUM_BYTES 4
#define HEADER_BYTES (1 + HASH_BYTES)
#define RAW_MAX (HEADER_BYTES + PAGE_TOKEN_KEY_MAX + SUM_BYTES)
#define TEXT_MAX ((RAW_MAX + 2) / 3 * 4)

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* ---- hashing ------------------------------------------------------------ */

#define FNV_OFFSET 14695981039346656037ULL
#define FNV_PRIME 1099511628211ULL

static uint64_t fnv1a(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;

    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= FNV_PRIME;
    }
    return h;
}

uint64_t page_token_filter_hash(const char *const *values, size_t n)
{
    uint64_t h = FNV_OFFSET;

    for (size_t i = 0; i < n; i++) {
        const char *v = values[i] ? values[i] : "";
        unsigned char len[8];
        uint64_t vlen = strlen(v);

        for (int b = 0; b < 8; b++)
            len[b] = (unsigned char)(vlen >> (8 * b));
        h = fnv1a(h, len, sizeof len);
        h = fnv1a(h, v, (size_t)vlen);
    }
    return h;
}

static uint32_t checksum(const unsigned char *raw, size_t len)
{
    /* Salted so that a token of some other scheme is unlikely to pass. */
    uint64_t h = fnv1a(FNV_OFFSET, "compact-page-token", 18);

    h = fnv1a(h, raw, len);
    return (uint32_t)(h ^ (h >> 32));
}

static void put_be(unsigned char *p, uint64_t v, int bytes)
{
    for (int i = bytes - 1; i >= 0; i--, v >>= 8)
        p[i] = (unsigned char)v;
}

static uint64_t get_be(const unsigned char *p, int bytes)
{
    uint64_t v = 0;

    for (int i = 0; i < bytes; i++)
        v = (v << 8) | p[i];
    return v;
}

/* ---- base64url without padding ------------------------------------------ */

static void b64_encode(const unsigned char *in, size_t len, char *out)
{
    size_t o = 0;

    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < len)
            v |= in[i + 2];
        out[o++] = b64url[(v >> 18) & 63];
        out[o++] = b64url[(v >> 12) & 63];
        if (i + 1 < len)
            out[o++] = b64url[(v >> 6) & 63];
        if (i + 2 < len)
            out[o++] = b64url[v & 63];
    }
    out[o] = '\0';
}

static int b64_value(char c)
{
    const char *p = c ? strchr(b64url, c) : NULL;

    return p ? (int)(p - b64url) : -1;
}

/* Decodes `text` into `out` (room for RAW_MAX bytes). Returns the number of
 * bytes, or -1 for anything that is not canonical unpadded base64url. */
static long b64_decode(const char *text, unsigned char *out)
{
    size_t len = strlen(text), o = 0;

    if (len > TEXT_MAX || len % 4 == 1)
        return -1;
    for (size_t i = 0; i < len; i += 4) {
        size_t n = len - i < 4 ? len - i : 4;
        uint32_t v = 0;
        for (size_t j = 0; j < 4; j++) {
            int d = j < n ? b64_value(text[i + j]) : 0;
            if (d < 0)
                return -1;
            v = (v << 6) | (uint32_t)d;
        }
        /* Unused low bits of a short group must be zero (canonical form). */
        if ((n == 2 && (v & 0xffff)) || (n == 3 && (v & 0xff)))
            return -1;
        out[o++] = (unsigned char)(v >> 16);
        if (n > 2)
            out[o++] = (unsigned char)(v >> 8);
        if (n > 3)
            out[o++] = (unsigned char)v;
    }
    return (long)o;
}

/* ---- tokens ------------------------------------------------------------- */

char *page_token_encode(uint64_t filter_hash, const char *last_key)
{
    size_t klen = strlen(last_key), rlen = HEADER_BYTES + klen + SUM_BYTES;
    unsigned char raw[RAW_MAX];
    char *text;

    if (klen > PAGE_TOKEN_KEY_MAX)
        return NULL;
    raw[0] = TOKEN_VERSION;
    put_be(raw + 1, filter_hash, HASH_BYTES);
    memcpy(raw + HEADER_BYTES, last_key, klen);
    put_be(raw + HEADER_BYTES + klen, checksum(raw, HEADER_BYTES + klen), SUM_BYTES);
    text = malloc((rlen + 2) / 3 * 4 + 1);
    if (text)
        b64_encode(raw, rlen, text);
    return text;
}

int page_token_decode(const char *token, uint64_t filter_hash, char *key, size_t key_size)
{
    unsigned char raw[RAW_MAX];
    long rlen;
    size_t klen;

    if (key_size > 0)
        key[0] = '\0';
    rlen = b64_decode(token, raw);
    if (rlen < HEADER_BYTES + SUM_BYTES || raw[0] != TOKEN_VERSION)
        return -EBADMSG;
    klen = (size_t)rlen - HEADER_BYTES - SUM_BYTES;
    if (get_be(raw + HEADER_BYTES + klen, SUM_BYTES) != checksum(raw, HEADER_BYTES + klen) ||
        memchr(raw + HEADER_BYTES, '\0', klen) != NULL)
        return -EBADMSG;
    if (get_be(raw + 1, HASH_BYTES) != filter_hash)
        return -ESTALE;
    if (klen + 1 > key_size)
        return -ENAMETOOLONG;
    memcpy(key, raw + HEADER_BYTES, klen);
    key[klen] = '\0';
    return 0;
}

const char *page_token_strerror(int rc)
{
    switch (rc) {
    case 0:
        return "ok";
    case -ESTALE:
        return "does not match the request's filters";
    case -ENAMETOOLONG:
        return "names a key too long for this list";
    default:
        return "not a token from a previous page";
    }
}

int page_token_parse(rpc_call *call, const char *field, const char *token, uint64_t filter_hash,
                     char *key, size_t key_size)
{
    int rc;

    if (token == NULL || token[0] == '\0') {
        if (key_size > 0)
            key[0] = '\0';
        return 0;
    }
    rc = page_token_decode(token, filter_hash, key, key_size);
    if (rc == 0)
        return 0;
    rpc_call_fail(call, RPC_INVALID_ARGUMENT, "%s: %s", field, page_token_strerror(rc));
    return -1;
}

/* ---- a List handler's paging -------------------------------------------- */

int page_request_parse(rpc_call *call, const char *const *filters, size_t n_filters,
                       int32_t page_size, const char *page_token, page_request *out)
{
    out->filter_hash = page_token_filter_hash(filters, n_filters);
    if (validate_page_size(call, "page_size", page_size, &out->size) ||
        page_token_parse(call, "page_token", page_token, out->filter_hash, out->after,
                         sizeof out->after))
        return -1;
    return 0;
}

size_t page_request_limit(const page_request *p)
{
    return (size_t)p->size + 1;
}

size_t page_request_count(const page_request *p, size_t n)
{
    return n > (size_t)p->size ? (size_t)p->size : n;
}

int page_request_next(rpc_call *call, const page_request *p, size_t n, const char *last_key,
                      char **next)
{
    *next = NULL;
    if (n <= (size_t)p->size)
        return 0;
    if ((*next = page_token_encode(p->filter_hash, last_key)) != NULL)
        return 0;
    status_fail_store(call, -ENOMEM, "cannot make the next page token");
    return -1;
}

/* The one repeated message field of a List response. */
static const ProtobufCFieldDescriptor *rows_field(const ProtobufCMessageDescriptor *d)
{
    for (unsigned i = 0; i < d->n_fields; i++) {
        if (d->fields[i].label == PROTOBUF_C_LABEL_REPEATED &&
            d->fields[i].type == PROTOBUF_C_TYPE_MESSAGE)
            return &d->fields[i];
    }
    return NULL;
}

/* How many of the first `count` rows fit in PAGE_REPLY_MAX_BYTES (at least
 * one): a page of large aggregates is cut short, and its token goes on from
 * the last row sent. */
static size_t fitting(ProtobufCMessage *const *v, size_t count)
{
    size_t bytes = 0;

    for (size_t i = 0; i < count; i++) {
        bytes += protobuf_c_message_get_packed_size(v[i]);
        if (bytes > PAGE_REPLY_MAX_BYTES && i > 0)
            return i;
    }
    return count;
}

static void free_rows(ProtobufCMessage **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        pbmsg_free(v[i]);
    free(v);
}

void page_reply(rpc_call *call, const page_request *p, int rc, const char *what,
                ProtobufCMessage *resp, ProtobufCMessage **v, size_t n, page_key_fn key_of)
{
    const ProtobufCFieldDescriptor *f = rows_field(resp->descriptor);
    const ProtobufCFieldDescriptor *token =
        protobuf_c_message_descriptor_get_field_by_name(resp->descriptor, "next_page_token");
    char last[PAGE_TOKEN_KEY_MAX + 1] = "";
    size_t count;
    char *next = NULL;

    assert(f != NULL && token != NULL && key_of != NULL);
    if (rc != 0) {
        status_fail_store(call, rc, what);
        free_rows(v, n);
        return;
    }
    count = fitting(v, page_request_count(p, n));
    if (count < n) {
        key_of(v[count - 1], last, sizeof last);
        if ((next = page_token_encode(p->filter_hash, last)) == NULL) {
            status_fail_store(call, -ENOMEM, "cannot make the next page token");
            free_rows(v, n);
            return;
        }
    }
    *(ProtobufCMessage ***)((char *)resp + f->offset) = v;
    *(size_t *)((char *)resp + f->quantifier_offset) = count;
    if (next)
        *(char **)((char *)resp + token->offset) = next;
    rpc_call_reply(call, resp);
    free(next);
    free_rows(v, n);
}

/* ---- rows already packed ---------------------------------------------------- */

int page_rows_add(page_rows *r, const void *data, size_t len, const char *key)
{
    if (r->n == r->room) {
        size_t room = r->room ? r->room * 2 : 32;
        size_t *ends = realloc(r->ends, room * sizeof *ends);
        if (ends == NULL)
            return -ENOMEM;
        r->ends = ends;
        char **keys = realloc(r->keys, room * sizeof *keys);
        if (keys == NULL)
            return -ENOMEM;
        r->keys = keys;
        r->room = room;
    }
    if (r->data == NULL || r->len + len > r->cap) {
        size_t cap = r->cap ? r->cap : 65536;
        while (cap < r->len + len)
            cap *= 2;
        uint8_t *grown = realloc(r->data, cap);
        if (grown == NULL)
            return -ENOMEM;
        r->data = grown;
        r->cap = cap;
    }
    if ((r->keys[r->n] = strdup(key)) == NULL)
        return -ENOMEM;
    if (len > 0)
        memcpy(r->data + r->len, data, len);
    r->len += len;
    r->ends[r->n++] = r->len;
    return 0;
}

void page_rows_clear(page_rows *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->keys[i]);
    r->n = 0;
    r->len = 0;
}

void page_rows_free(page_rows *r)
{
    page_rows_clear(r);
    free(r->data);
    free(r->ends);
    free(r->keys);
    *r = (page_rows){0};
}

static size_t row_start(const page_rows *r, size_t i)
{
    return i ? r->ends[i - 1] : 0;
}

/* As fitting(), by the rows' lengths. */
static size_t fitting_packed(const page_rows *r, size_t count)
{
    for (size_t i = 1; i < count; i++) {
        if (r->ends[i] > PAGE_REPLY_MAX_BYTES)
            return i;
    }
    return count;
}

/* Appends a length-delimited field (wire type 2): its tag, length, bytes. */
static uint8_t *put_field(uint8_t *at, uint32_t number, const void *data, size_t len)
{
    uint64_t v = (uint64_t)number << 3 | 2;

    for (int i = 0; i < 2; i++, v = len) {
        while (v >= 0x80) {
            *at++ = (uint8_t)(v | 0x80);
            v >>= 7;
        }
        *at++ = (uint8_t)v;
    }
    if (len > 0)
        memcpy(at, data, len);
    return at + len;
}

int page_rows_pack(const ProtobufCMessageDescriptor *resp, const page_request *p,
                   const page_rows *rows, uint8_t **out, size_t *len)
{
    const ProtobufCFieldDescriptor *f = rows_field(resp);
    const ProtobufCFieldDescriptor *token =
        protobuf_c_message_descriptor_get_field_by_name(resp, "next_page_token");
    size_t count = fitting_packed(rows, page_request_count(p, rows->n)), most;
    char *next = NULL;
    uint8_t *at;

    assert(f != NULL && token != NULL);
    *out = NULL;
    *len = 0;
    if (count < rows->n &&
        (next = page_token_encode(p->filter_hash, rows->keys[count - 1])) == NULL)
        return -ENOMEM;
    /* a tag and a length are at most 5 and 10 bytes */
    most = (count ? rows->ends[count - 1] : 0) + (count + 1) * 15 + (next ? strlen(next) : 0);
    if ((*out = malloc(most)) == NULL) {
        free(next);
        return -ENOMEM;
    }
    at = *out;
    for (size_t i = 0; i < count; i++)
        at = put_field(at, f->id, rows->data + row_start(rows, i),
                       rows->ends[i] - row_start(rows, i));
    if (next)
        at = put_field(at, token->id, next, strlen(next));
    *len = (size_t)(at - *out);
    free(next);
    return 0;
}

void page_reply_packed(rpc_call *call, const page_request *p, int rc, const char *what,
                       const ProtobufCMessageDescriptor *resp, const page_rows *rows)
{
    uint8_t *out;
    size_t len;

    if (rc == 0 && (rc = page_rows_pack(resp, p, rows, &out, &len)) != 0)
        what = "cannot make the page";
    if (rc != 0) {
        status_fail_store(call, rc, what);
        return;
    }
    rpc_call_reply_bytes(call, out, len);
    free(out);
}

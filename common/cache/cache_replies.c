/* cache_replies.c: hiredis replies built in blocks of a connection's own.
 *
 * hiredis builds every reply as a tree of malloc'd pieces (a redisReply per
 * element and a copy of every string) and frees the tree after the reply's
 * callback. A stream read of a few hundred events of kilobytes each is
 * thousands of pieces, and malloc and free of them were a fifth of what
 * analytics spent catching up a backlog (bench/RESULTS.md, "Analytics: a
 * change costs what it changed"). A reader may build replies with functions
 * of its own (redisReplyObjectFunctions); these take the pieces from a block
 * and give them all back when hiredis frees the tree's root, after its
 * callback and before it reads the next reply (hiredis builds one reply at a
 * time). The tree is what hiredis would have built, and cache.c reads it as
 * before.
 *
 * Blocks: one, reused from reply to reply; when a reply needed more, the
 * blocks are replaced by one as large as that reply took (up to
 * CACHE_REPLIES_KEEP), so that the next such reply fits in one and touches
 * no new page.
 *
 * The connection ends in one of two ways: freed by cache_conn.c
 * (redisAsyncFree), or by hiredis itself after an error (the disconnect
 * callback runs before hiredis frees its reader, and the reader frees the
 * reply it was reading). cache_replies_release() is called once either way:
 * it frees the blocks, or has the last root's free do it.
 *
 * Loop thread only, like the connection.
 */
#include "cache_internal.h"

#include <hiredis/hiredis.h>
#include <hiredis/read.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CACHE_REPLIES_FIRST 16384            /* a block before any reply was seen */
#define CACHE_REPLIES_KEEP ((size_t)8 << 20) /* the largest block kept */

typedef struct reply_block {
    struct reply_block *next; /* blocks filled before this one */
    size_t size, used;
    alignas(max_align_t) unsigned char data[];
} reply_block;

struct cache_replies {
    reply_block *blocks; /* the block being filled, then the full ones */
    int reading;         /* a root was made and not yet freed */
    int released;        /* the connection is gone: free on the root's free */
};

/* A reply's root, with the cache_replies it was made in: hiredis frees a
 * reply by its root alone. */
typedef struct root_reply {
    cache_replies *owner;
    redisReply reply;
} root_reply;

static reply_block *block_new(size_t size)
{
    reply_block *b = malloc(sizeof *b + size);

    if (b) {
        b->next = NULL;
        b->size = size;
        b->used = 0;
    }
    return b;
}

static void blocks_free(reply_block *b)
{
    while (b) {
        reply_block *next = b->next;
        free(b);
        b = next;
    }
}

static void *replies_alloc(cache_replies *r, size_t size)
{
    const size_t align = alignof(max_align_t);
    reply_block *b = r->blocks;

    if (size > SIZE_MAX - align - sizeof(reply_block))
        return NULL;
    size = (size + align - 1) / align * align;
    if (b == NULL || b->size - b->used < size) {
        size_t grown = b ? b->size * 2 : CACHE_REPLIES_FIRST;
        if ((b = block_new(grown > size ? grown : size)) == NULL)
            return NULL;
        b->next = r->blocks;
        r->blocks = b;
    }
    b->used += size;
    return b->data + b->used - size;
}

/* Every piece given back; the next reply starts in one block as large as
 * this one took, when it took more than one. */
static void replies_reset(cache_replies *r)
{
    size_t took = 0;

    if (r->blocks && r->blocks->next == NULL) {
        r->blocks->used = 0;
        return;
    }
    for (reply_block *b = r->blocks; b; b = b->next)
        took += b->used;
    blocks_free(r->blocks);
    r->blocks = took > 0 && took <= CACHE_REPLIES_KEEP ? block_new(took) : NULL;
}

/* A reply of `type`, hung on its parent (or a root), or NULL on ENOMEM
 * (hiredis then fails the connection). */
static redisReply *reply_new(const redisReadTask *task, int type)
{
    cache_replies *r = task->privdata;
    redisReply *reply;

    if (task->parent == NULL) {
        root_reply *root = replies_alloc(r, sizeof *root);
        if (root == NULL)
            return NULL;
        root->owner = r;
        r->reading = 1;
        reply = &root->reply;
    } else if ((reply = replies_alloc(r, sizeof *reply)) != NULL) {
        ((redisReply *)task->parent->obj)->element[task->idx] = reply;
    } else {
        return NULL;
    }
    memset(reply, 0, sizeof *reply);
    reply->type = type;
    return reply;
}

/* A reply that could not be made whole: NULL for hiredis. A root it will
 * never free (it fails the reader without keeping it): its memory is given
 * back here. */
static void *reply_failed(const redisReadTask *task)
{
    cache_replies *r = task->privdata;

    if (task->parent == NULL) {
        r->reading = 0;
        replies_reset(r);
    }
    return NULL;
}

static void *create_string(const redisReadTask *task, char *str, size_t len)
{
    redisReply *reply = reply_new(task, task->type);
    char *copy = reply && len < SIZE_MAX ? replies_alloc(task->privdata, len + 1) : NULL;

    if (copy == NULL)
        return reply ? reply_failed(task) : NULL;
    memcpy(copy, str, len);
    copy[len] = '\0';
    reply->str = copy;
    reply->len = len;
    return reply;
}

static void *create_array(const redisReadTask *task, int elements)
{
    redisReply *reply = reply_new(task, REDIS_REPLY_ARRAY);
    size_t n = elements > 0 ? (size_t)elements : 0;

    if (reply == NULL)
        return NULL;
    if (n > 0 &&
        (n > SIZE_MAX / sizeof *reply->element ||
         (reply->element = replies_alloc(task->privdata, n * sizeof *reply->element)) == NULL))
        return reply_failed(task);
    if (n > 0)
        memset(reply->element, 0, n * sizeof *reply->element);
    reply->elements = n;
    return reply;
}

static void *create_integer(const redisReadTask *task, long long value)
{
    redisReply *reply = reply_new(task, REDIS_REPLY_INTEGER);

    if (reply)
        reply->integer = value;
    return reply;
}

static void *create_nil(const redisReadTask *task)
{
    return reply_new(task, REDIS_REPLY_NIL);
}

static void replies_free(cache_replies *r)
{
    blocks_free(r->blocks);
    free(r);
}

/* hiredis frees only roots: after their callback, or the one its reader was
 * reading when it fails or goes. A piece's memory goes with its root's. */
static void free_object(void *obj)
{
    cache_replies *r;

    if (obj == NULL)
        return;
    r = ((root_reply *)((char *)obj - offsetof(root_reply, reply)))->owner;
    r->reading = 0;
    if (r->released)
        replies_free(r);
    else
        replies_reset(r);
}

static redisReplyObjectFunctions reply_functions = {
    .createString = create_string,
    .createArray = create_array,
    .createInteger = create_integer,
    .createNil = create_nil,
    .freeObject = free_object,
};

cache_replies *cache_replies_attach(redisReader *reader)
{
    cache_replies *r = calloc(1, sizeof *r);

    if (r) {
        reader->fn = &reply_functions;
        reader->privdata = r;
    }
    return r;
}

void cache_replies_release(cache_replies *r)
{
    if (r == NULL)
        return;
    if (r->reading)
        r->released = 1; /* the reader frees its reply last */
    else
        replies_free(r);
}

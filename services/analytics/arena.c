/* arena.c: a bump allocator for messages that die together (see arena.h). */
#include "arena.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct arena_block {
    arena_block *next;
    size_t used, size;
    alignas(max_align_t) unsigned char data[];
};

/* Blocks of ARENA_BATCH_BLOCK bytes kept for the next batch, up to
 * ARENA_SPARE_MAX (16 MiB). A batch frees megabytes of blocks at once; given
 * back to malloc, they left the top of the heap free past glibc's trim
 * threshold, which returned them to the kernel, and the next batch faulted
 * every page in again: a tenth of a catch-up's samples (bench/RESULTS.md,
 * "Analytics: facts, snapshots and arenas"). Loop thread only, like every arena. */
#define ARENA_SPARE_MAX 64
static arena_block *spare;
static size_t n_spare;

static void *pb_alloc(void *data, size_t size)
{
    return arena_alloc(data, size);
}

static void pb_free(void *data, void *p)
{
    (void)data;
    (void)p; /* returned with arena_clear */
}

void arena_init(arena *a, size_t block)
{
    a->head = NULL;
    a->block = block;
    a->failed = 0;
    a->pb = (ProtobufCAllocator){.alloc = pb_alloc, .free = pb_free, .allocator_data = a};
}

arena *arena_new(size_t block)
{
    arena *a = malloc(sizeof *a);

    if (a)
        arena_init(a, block);
    return a;
}

void arena_free(arena *a)
{
    if (a == NULL)
        return;
    arena_clear(a);
    free(a);
}

void arena_clear(arena *a)
{
    arena_block *b = a->head;

    while (b) {
        arena_block *next = b->next;
        if (b->size == ARENA_BATCH_BLOCK && n_spare < ARENA_SPARE_MAX) {
            b->next = spare;
            spare = b;
            n_spare++;
        } else {
            free(b);
        }
        b = next;
    }
    a->head = NULL;
    a->failed = 0;
}

void arena_drop_spares(void)
{
    while (spare) {
        arena_block *next = spare->next;
        free(spare);
        spare = next;
    }
    n_spare = 0;
}

static arena_block *block_new(size_t size)
{
    arena_block *b;

    if (size == ARENA_BATCH_BLOCK && spare) {
        b = spare;
        spare = b->next;
        n_spare--;
    } else {
        b = malloc(sizeof *b + size);
    }
    if (b) {
        b->used = 0;
        b->size = size;
    }
    return b;
}

static void *alloc_in(arena *a, size_t size);

void *arena_alloc(arena *a, size_t size)
{
    void *p = alloc_in(a, size);

    if (p == NULL)
        a->failed = 1;
    return p;
}

/* A piece larger than a quarter of a block gets a block of its own, so
 * that big pieces do not leave most of a block unused. */
static void *alloc_in(arena *a, size_t size)
{
    const size_t align = alignof(max_align_t);
    size_t need = (size + align - 1) & ~(align - 1);
    arena_block *b = a->head;

    if (need < size)
        return NULL;           /* overflow */
    if (need > a->block / 4) { /* its own block, behind the one being filled */
        arena_block *own = block_new(need);
        if (own == NULL)
            return NULL;
        own->used = need;
        own->next = b ? b->next : NULL;
        if (b)
            b->next = own;
        else
            a->head = own;
        return own->data;
    }
    if (b == NULL || b->size - b->used < need) {
        if ((b = block_new(a->block)) == NULL)
            return NULL;
        b->next = a->head;
        a->head = b;
    }
    b->used += need;
    return b->data + b->used - need;
}

char *arena_strdup(arena *a, const char *s)
{
    size_t len = strlen(s) + 1;
    char *copy = arena_alloc(a, len);

    return copy ? memcpy(copy, s, len) : NULL;
}

ProtobufCAllocator *arena_allocator(arena *a)
{
    return &a->pb;
}

/* arena.h: a bump allocator for messages that die together.
 *
 * Why: a batch decodes hundreds of events, each carrying a whole aggregate
 * (a project with its transactions is a few hundred small allocations), and
 * frees them all together once the batch is applied; an answer (answers.h)
 * is a tree of small messages built once per change and dropped whole.
 * malloc and free of those pieces were about a third of analytics' time
 * catching up (bench/RESULTS.md, "Analytics (issue 11)"). An arena hands
 * out pieces of large blocks and frees the blocks at once.
 *
 * arena_allocator() gives a ProtobufCAllocator over the arena for
 * protobuf-c's unpack; freeing through it does nothing (the memory returns
 * with arena_clear). Loop thread only.
 */
#ifndef COMPACT_ANALYTICS_ARENA_H
#define COMPACT_ANALYTICS_ARENA_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

typedef struct arena_block arena_block;

typedef struct arena {
    arena_block *head; /* the block being filled, then the older ones */
    size_t block;      /* the size of a new block */
    int failed;        /* an allocation failed since the last clear: what was built is not whole */
    ProtobufCAllocator pb;
} arena;

/* Block sizes: a batch of events takes a few large blocks; an answer is
 * kept while it is current, so its blocks are smaller. */
#define ARENA_BATCH_BLOCK 262144
#define ARENA_ANSWER_BLOCK 65536

/* An empty arena of `block`-byte blocks (no memory until the first
 * allocation). */
void arena_init(arena *a, size_t block);
/* Frees every block; the arena is then empty and may be used again. Blocks
 * of ARENA_BATCH_BLOCK bytes are kept (up to 16 MiB) for the next arena to
 * take, until arena_drop_spares frees them (at the service's end). */
void arena_clear(arena *a);
void arena_drop_spares(void);
/* An empty arena on the heap, or NULL for ENOMEM; arena_free frees it. */
arena *arena_new(size_t block);
/* arena_clear, then frees `a` itself. NULL is fine. */
void arena_free(arena *a);
/* `size` bytes aligned for any type, or NULL for ENOMEM (and a->failed). */
void *arena_alloc(arena *a, size_t size);
/* A copy of `s` in the arena, or NULL for ENOMEM. */
char *arena_strdup(arena *a, const char *s);
/* The arena as protobuf-c's allocator (valid while `a` lives). */
ProtobufCAllocator *arena_allocator(arena *a);

#endif

/* arena.h: a bump allocator for the messages of one batch of events.
 *
 * Why: a batch decodes hundreds of events, each carrying a whole aggregate
 * (a project with its transactions is a few hundred small allocations), and
 * frees them all together once the batch is applied. malloc and free of
 * those pieces were about a third of analytics' time catching up
 * (bench/RESULTS.md, "Analytics (issue 11)"). An arena hands out pieces of
 * large blocks and frees the blocks at once.
 *
 * arena_allocator() gives a ProtobufCAllocator over the arena for
 * protobuf-c's unpack; freeing through it does nothing (the memory returns
 * with arena_clear). Loop thread only, like everything of a batch.
 */
#ifndef COMPACT_ANALYTICS_ARENA_H
#define COMPACT_ANALYTICS_ARENA_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

typedef struct arena_block arena_block;

typedef struct arena {
    arena_block *head; /* the block being filled, then the older ones */
    ProtobufCAllocator pb;
} arena;

/* An empty arena (no memory until the first allocation). */
void arena_init(arena *a);
/* Frees every block; the arena is then empty and may be used again. */
void arena_clear(arena *a);
/* `size` bytes aligned for any type, or NULL for ENOMEM. */
void *arena_alloc(arena *a, size_t size);
/* A copy of `s` in the arena, or NULL for ENOMEM. */
char *arena_strdup(arena *a, const char *s);
/* The arena as protobuf-c's allocator (valid while `a` lives). */
ProtobufCAllocator *arena_allocator(arena *a);

#endif

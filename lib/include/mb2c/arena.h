/* Bump allocator: a reader allocates a whole decoded message from one arena
 * and frees it in one call. Used by libmb2c readers and by decision code for per-request memory. */
#ifndef MB2C_ARENA_H
#define MB2C_ARENA_H
#include <stddef.h>

struct mb2c_arena;
struct mb2c_arena *mb2c_arena_new(void);
/* Zeroed, 16-byte aligned memory, or NULL. */
void *mb2c_arena_alloc(struct mb2c_arena *a, size_t size);
/* Grow-by-copy array helper: returns a new array of n+1 elements holding the
 * old n (the old copy stays in the arena until it is freed). */
void *mb2c_arena_append(struct mb2c_arena *a, void *arr, size_t n, size_t elem);
void mb2c_arena_free(struct mb2c_arena *a);
#endif

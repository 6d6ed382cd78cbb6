#include "mb2c/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct chunk {
	struct chunk *next;
	size_t used, cap;
	_Alignas(16) unsigned char data[];
};

/* One malloc holds the arena and its first chunk (the last of the list), big
 * enough for a typical decoded message: a GAR with 4 bearer requests takes
 * about 4.7 kB, so a read costs one malloc and one free. */
struct mb2c_arena {
	_Alignas(16) struct chunk *head; /* the first chunk follows, 16-aligned */
};
#define FIRST_BLOCK 8192 /* bytes of the arena + first chunk allocation */
#define FIRST_CAP   (FIRST_BLOCK - sizeof(struct mb2c_arena) - sizeof(struct chunk))
#define CHUNK_CAP   4000 /* later chunks, unless the request is larger */

static struct chunk *first_chunk(struct mb2c_arena *a)
{
	return (struct chunk *)(a + 1);
}

struct mb2c_arena *mb2c_arena_new(void)
{
	struct mb2c_arena *a = malloc(FIRST_BLOCK);
	if (!a)
		return NULL;
	struct chunk *c = first_chunk(a);
	c->next = NULL;
	c->used = 0;
	c->cap = FIRST_CAP;
	a->head = c;
	return a;
}

/* Uninitialized, 16-byte aligned memory of *size rounded up (written back). */
static void *bump(struct mb2c_arena *a, size_t *size)
{
	size_t s = (*size + 15) & ~(size_t)15;
	if (!s)
		s = 16;
	struct chunk *c = a->head;
	if (c->cap - c->used < s) {
		size_t cap = s > CHUNK_CAP ? s : CHUNK_CAP;
		c = malloc(sizeof(*c) + cap);
		if (!c)
			return NULL;
		c->next = a->head;
		c->used = 0;
		c->cap = cap;
		a->head = c;
	}
	void *p = c->data + c->used;
	c->used += s;
	*size = s;
	return p;
}

void *mb2c_arena_alloc(struct mb2c_arena *a, size_t size)
{
	void *p = bump(a, &size);
	if (p)
		memset(p, 0, size);
	return p;
}

void *mb2c_arena_append(struct mb2c_arena *a, void *arr, size_t n, size_t elem)
{
	/* grow geometrically: capacity is implied by n being a power of two */
	if (n && (n & (n - 1)) == 0) {
		size_t old = n * elem, size = 2 * old;
		unsigned char *p = bump(a, &size);
		if (!p)
			return NULL;
		memcpy(p, arr, old);
		memset(p + old, 0, size - old); /* the rest zeroed, as by _alloc */
		return p;
	}
	if (!n)
		return mb2c_arena_alloc(a, elem);
	return arr; /* room left from the last doubling */
}

void mb2c_arena_free(struct mb2c_arena *a)
{
	if (!a)
		return;
	struct chunk *first = first_chunk(a);
	for (struct chunk *c = a->head; c != first;) {
		struct chunk *n = c->next;
		free(c);
		c = n;
	}
	free(a);
}

#include "arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct chunk {
	struct chunk *next;
	size_t used, cap;
	_Alignas(16) unsigned char data[];
};

struct mb2c_arena {
	struct chunk *head;
};

struct mb2c_arena *mb2c_arena_new(void)
{
	return calloc(1, sizeof(struct mb2c_arena));
}

void *mb2c_arena_alloc(struct mb2c_arena *a, size_t size)
{
	size = (size + 15) & ~(size_t)15;
	if (!size)
		size = 16;
	struct chunk *c = a->head;
	if (!c || c->cap - c->used < size) {
		size_t cap = size > 4000 ? size : 4000;
		c = malloc(sizeof(*c) + cap);
		if (!c)
			return NULL;
		c->next = a->head;
		c->used = 0;
		c->cap = cap;
		a->head = c;
	}
	void *p = c->data + c->used;
	c->used += size;
	memset(p, 0, size);
	return p;
}

void *mb2c_arena_append(struct mb2c_arena *a, void *arr, size_t n, size_t elem)
{
	/* grow geometrically: capacity is implied by n being a power of two */
	if (n && (n & (n - 1)) == 0) {
		void *p = mb2c_arena_alloc(a, 2 * n * elem);
		if (!p)
			return NULL;
		memcpy(p, arr, n * elem);
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
	for (struct chunk *c = a->head; c;) {
		struct chunk *n = c->next;
		free(c);
		c = n;
	}
	free(a);
}

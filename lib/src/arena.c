#include "mb2c/arena.h"

#include <pthread.h>
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

/* Freed first blocks wait here for the next arena. For glibc an 8 KiB malloc
 * is a large-bin request, and each one consolidates every fastbin of the
 * malloc arena first: with a decoded request per GAR on the lab BM-SC that
 * showed in its profile (malloc_consolidate, unlink_chunk). Not in sanitizer
 * builds, where reused blocks would hide a use after free. */
#if defined(__SANITIZE_ADDRESS__)
#define CACHE_MAX 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CACHE_MAX 0
#endif
#endif
#ifndef CACHE_MAX
#define CACHE_MAX 16
#endif
#if CACHE_MAX
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mb2c_arena *cache[CACHE_MAX];
static size_t n_cache;

/* at unload (extensions are dlclose()d) and exit: nothing stays allocated */
__attribute__((destructor)) static void cache_drop(void)
{
	pthread_mutex_lock(&cache_lock);
	while (n_cache)
		free(cache[--n_cache]);
	pthread_mutex_unlock(&cache_lock);
}
#endif

static struct mb2c_arena *block_get(void)
{
	struct mb2c_arena *a = NULL;
#if CACHE_MAX
	pthread_mutex_lock(&cache_lock);
	if (n_cache)
		a = cache[--n_cache];
	pthread_mutex_unlock(&cache_lock);
#endif
	return a ? a : malloc(FIRST_BLOCK);
}

static void block_put(struct mb2c_arena *a)
{
#if CACHE_MAX
	pthread_mutex_lock(&cache_lock);
	if (n_cache < CACHE_MAX) {
		cache[n_cache++] = a;
		a = NULL;
	}
	pthread_mutex_unlock(&cache_lock);
#endif
	free(a);
}

struct mb2c_arena *mb2c_arena_new(void)
{
	struct mb2c_arena *a = block_get();
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
	block_put(a);
}

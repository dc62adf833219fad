/*
 * The malloc family. Blocks of at least min_bytes are regions of their own (2 MiB aligned, so
 * any alignment up to 2 MiB is free and larger ones are a carve alignment); everything else,
 * and everything while the library itself is running libfolio or pthread code, is glibc's
 * (__libc_malloc and friends: exported by glibc, so there is no dlsym bootstrap to get wrong).
 */
#include "run.h"

#include <dlfcn.h>
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#define EXPORT __attribute__((visibility("default")))

extern void *__libc_malloc(size_t);
extern void __libc_free(void *);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

static size_t (*glibc_usable_size)(void *);

/* Resolved when the library is loaded (dlsym may call calloc, which is glibc's for that size). */
void run_malloc_init(void)
{
	glibc_usable_size = (size_t (*)(void *))dlsym(RTLD_NEXT, "malloc_usable_size");
}

static int large(size_t n)
{
	return n >= run_config.min_bytes && !run_in_library && __atomic_load_n(&run.mode, __ATOMIC_ACQUIRE) != MODE_FALLBACK;
}

/* The slot of a block's head, or -1 if p is not one. */
static long head_of(const void *p)
{
	uintptr_t a = (uintptr_t)p;
	if (a & (RUN_SLOT - 1))
		return -1;
	size_t s = run_slot_of(a);
	return (run.slots[s].flags & SLOT_MALLOC_HEAD) ? (long)s : -1;
}

static size_t block_bytes(const void *p)
{
	run_lock();
	long s = head_of(p);
	size_t n = s >= 0 ? (size_t)run.slots[s].block_slots << RUN_SLOT_SHIFT : 0;
	run_unlock();
	return n;
}

static void *block(size_t n, size_t align)
{
	return run_region_create(n, align, PROT_READ | PROT_WRITE, 1);
}

static void block_free(void *p)
{
	run_lock();
	long s = head_of(p);
	size_t slots = s >= 0 ? run.slots[s].block_slots : 0;
	if (s >= 0)
		run.slots[s].flags &= (uint8_t)~SLOT_MALLOC_HEAD;
	run_unlock();
	if (slots)
		run_region_unmap((uintptr_t)p, slots << RUN_SLOT_SHIFT);
}

EXPORT void *malloc(size_t n)
{
	if (large(n)) {
		void *p = block(n, 0);
		if (p)
			return p;
	}
	return __libc_malloc(n);
}

EXPORT void free(void *p)
{
	if (run_ours(p))
		block_free(p);
	else
		__libc_free(p);
}

EXPORT void *calloc(size_t count, size_t size)
{
	size_t n;
	if (__builtin_mul_overflow(count, size, &n)) {
		errno = ENOMEM;
		return NULL;
	}
	if (large(n)) {
		void *p = block(n, 0);  /* folios are punched when allocated: zero */
		if (p)
			return p;
	}
	return __libc_calloc(count, size);
}

/* A window block resized: the same slots, fewer (the tail unmapped), more (taken after it if
 * free, else a new block and a copy), or a glibc block when it gets small. */
static void *resize_block(void *p, size_t n)
{
	size_t have = block_bytes(p);
	if (have == 0) {
		errno = EINVAL;
		return NULL;
	}
	size_t want = (n + RUN_SLOT - 1) & ~(RUN_SLOT - 1);
	if (large(n) && want <= have) {
		if (want < have) {
			run_lock();
			run.slots[run_slot_of((uintptr_t)p)].block_slots = (uint32_t)(want >> RUN_SLOT_SHIFT);
			run_unlock();
			run_region_unmap((uintptr_t)p + want, have - want);
		}
		return p;
	}
	if (large(n) && mremap(p, have, want, 0) == p) {
		run_lock();
		run.slots[run_slot_of((uintptr_t)p)].block_slots = (uint32_t)(want >> RUN_SLOT_SHIFT);
		run_unlock();
		return p;
	}
	void *q = large(n) ? block(n, 0) : NULL;
	if (!q)
		q = __libc_malloc(n);
	if (!q)
		return NULL;
	memcpy(q, p, have < n ? have : n);
	block_free(p);
	return q;
}

EXPORT void *realloc(void *p, size_t n)
{
	if (!p)
		return malloc(n);
	if (run_ours(p)) {
		if (n == 0) {
			block_free(p);
			return NULL;
		}
		return resize_block(p, n);
	}
	if (large(n) && glibc_usable_size) {
		size_t have = glibc_usable_size(p);
		if (have < n) {
			void *q = block(n, 0);
			if (q) {
				memcpy(q, p, have);
				__libc_free(p);
				return q;
			}
		}
	}
	return __libc_realloc(p, n);
}

EXPORT void *reallocarray(void *p, size_t count, size_t size)
{
	size_t n;
	if (__builtin_mul_overflow(count, size, &n)) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc(p, n);
}

static void *aligned(size_t align, size_t n)
{
	if (large(n)) {
		void *p = block(n, align);
		if (p)
			return p;
	}
	return __libc_memalign(align, n);
}

static int power_of_two(size_t a)
{
	return a != 0 && (a & (a - 1)) == 0;
}

EXPORT int posix_memalign(void **out, size_t align, size_t n)
{
	if (!power_of_two(align) || align % sizeof(void *) != 0)
		return EINVAL;
	int saved = errno;
	void *p = aligned(align, n);
	if (!p)
		return ENOMEM;
	errno = saved;
	*out = p;
	return 0;
}

EXPORT void *aligned_alloc(size_t align, size_t n)
{
	if (!power_of_two(align)) {
		errno = EINVAL;
		return NULL;
	}
	return aligned(align, n);
}

EXPORT void *memalign(size_t align, size_t n)
{
	/* glibc rounds an alignment that is not a power of two up to one. */
	size_t a = 1;
	while (a < align && a < ((size_t)1 << 62))
		a <<= 1;
	return aligned(a, n);
}

EXPORT void *valloc(size_t n)
{
	return aligned(RUN_PAGE, n);
}

EXPORT void *pvalloc(size_t n)
{
	size_t rounded = (n + RUN_PAGE - 1) & ~(RUN_PAGE - 1);
	if (rounded < n) {
		errno = ENOMEM;
		return NULL;
	}
	return aligned(RUN_PAGE, rounded ? rounded : RUN_PAGE);
}

EXPORT size_t malloc_usable_size(void *p)
{
	if (!p)
		return 0;
	if (run_ours(p))
		return block_bytes(p);
	return glibc_usable_size ? glibc_usable_size(p) : 0;
}

/*
 * The window: one PROT_NONE reservation every served byte lies in, and the free ranges of its
 * 2 MiB slots (first fit, any power-of-two alignment). Reserved at the first large request,
 * with the metadata arrays beside it; all under the library lock.
 */
#include "run.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

struct run_state run = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.event_fd = -1,
};

/* A free range of slots [start, start + count). Sorted, never adjacent (merged). */
struct extent {
	uint32_t start, count;
};

static struct extent *extents;
static size_t extent_count, extent_cap;

static void *metadata(size_t bytes)
{
	void *p = raw_mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

/* The largest 2 MiB-aligned reservation the address space allows, 1 TiB at most. */
static int reserve(size_t *bytes, uintptr_t *base)
{
	for (size_t size = (size_t)1 << 40; size >= ((size_t)1 << 32); size >>= 2) {
		uint8_t *p = raw_mmap(NULL, size + RUN_SLOT, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p == MAP_FAILED)
			continue;
		uintptr_t a = ((uintptr_t)p + RUN_SLOT - 1) & ~(uintptr_t)(RUN_SLOT - 1);
		if (a > (uintptr_t)p)
			raw_munmap(p, a - (uintptr_t)p);
		uintptr_t tail = (uintptr_t)p + size + RUN_SLOT;
		if (tail > a + size)
			raw_munmap((void *)(a + size), tail - (a + size));
		*bytes = size;
		*base = a;
		return 0;
	}
	return -ENOMEM;
}

int run_window_ready(void)
{
	if (run.end)
		return 0;
	size_t bytes;
	uintptr_t base;
	if (reserve(&bytes, &base) != 0)
		return -ENOMEM;
	size_t count = bytes >> RUN_SLOT_SHIFT;
	run.slots = metadata(count * sizeof(struct slot));
	run.pages = metadata(count * RUN_PAGES_PER_SLOT);
	run.handle_slot = metadata(FOLIO_TABLE_ENTRIES * sizeof(uint32_t));
	extent_cap = count / 2 + 2;
	extents = metadata(extent_cap * sizeof(struct extent));
	if (!run.slots || !run.pages || !run.handle_slot || !extents) {
		raw_munmap((void *)base, bytes);
		return -ENOMEM;
	}
	extents[0] = (struct extent){ 0, (uint32_t)count };
	extent_count = 1;
	run.slot_count = count;
	__atomic_store_n(&run.base, base, __ATOMIC_RELEASE);
	__atomic_store_n(&run.end, base + bytes, __ATOMIC_RELEASE);
	return 0;
}

static void remove_at(size_t i)
{
	memmove(&extents[i], &extents[i + 1], (extent_count - i - 1) * sizeof(*extents));
	extent_count--;
}

static int insert_at(size_t i, struct extent e)
{
	if (extent_count == extent_cap)
		return -ENOMEM;
	memmove(&extents[i + 1], &extents[i], (extent_count - i) * sizeof(*extents));
	extents[i] = e;
	extent_count++;
	return 0;
}

/* Takes [first, first + count) out of extent i, which holds it. */
static int cut(size_t i, size_t first, size_t count)
{
	struct extent e = extents[i];
	size_t end = (size_t)e.start + e.count;
	struct extent before = { e.start, (uint32_t)(first - e.start) };
	struct extent after = { (uint32_t)(first + count), (uint32_t)(end - first - count) };
	if (before.count && after.count) {
		if (insert_at(i + 1, after) != 0)
			return -ENOMEM;
		extents[i] = before;
	} else if (before.count) {
		extents[i] = before;
	} else if (after.count) {
		extents[i] = after;
	} else {
		remove_at(i);
	}
	if (first + count > run.slot_top)
		run.slot_top = first + count;
	return 0;
}

long run_window_carve(size_t count, size_t align_slots)
{
	if (align_slots == 0)
		align_slots = 1;
	for (size_t i = 0; i < extent_count; i++) {
		/* Aligned as an address: the window itself is only 2 MiB aligned. */
		size_t base_slot = run.base >> RUN_SLOT_SHIFT;
		size_t start = (((size_t)extents[i].start + base_slot + align_slots - 1) & ~(align_slots - 1)) - base_slot;
		size_t end = (size_t)extents[i].start + extents[i].count;
		if (start + count <= end && start + count > start)
			return cut(i, start, count) == 0 ? (long)start : -1;
	}
	return -1;
}

int run_window_take(size_t first, size_t count)
{
	for (size_t i = 0; i < extent_count; i++) {
		size_t end = (size_t)extents[i].start + extents[i].count;
		if (first >= extents[i].start && first + count <= end)
			return cut(i, first, count);
		if (extents[i].start > first)
			break;
	}
	return -EEXIST;
}

void run_window_release(size_t first, size_t count)
{
	size_t i = 0;
	while (i < extent_count && extents[i].start < first)
		i++;
	int joins_before = i > 0 && (size_t)extents[i - 1].start + extents[i - 1].count == first;
	int joins_after = i < extent_count && first + count == extents[i].start;
	if (joins_before && joins_after) {
		extents[i - 1].count += (uint32_t)count + extents[i].count;
		remove_at(i);
	} else if (joins_before) {
		extents[i - 1].count += (uint32_t)count;
	} else if (joins_after) {
		extents[i].start = (uint32_t)first;
		extents[i].count += (uint32_t)count;
	} else {
		/* Cannot fail: at most every other slot is free, which extent_cap holds. */
		insert_at(i, (struct extent){ (uint32_t)first, (uint32_t)count });
	}
}

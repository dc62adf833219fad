/*
 * Regions: runs of window slots backed by folios, created for an mmap or a malloc block,
 * unmapped page by page. A region's folios come from one allocate request (the daemon's buddy
 * allocator then tends to hand out contiguous offsets, and folios at contiguous offsets of one
 * memfd make one kernel mapping). Allocate and free requests are sent without the library lock
 * held: the daemon may be waiting on this program's channel meanwhile, and the runtime thread
 * answers it under that lock.
 */
#include "run.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

/* Handles of one region fill; larger regions use a scratch mapping. */
#define STACK_HANDLES 1280
/* Slots one lock hold of an unmap goes through: bounds the time others wait, and the handles
 * it frees afterwards. */
#define UNMAP_BATCH 256
/* run_region_fill's answer when the kernel refused to map the folios (its map count,
 * vm.max_map_count, most likely), told apart from the daemon's refusals. */
#define MAP_REFUSED (-4096)

int run_map_folio(size_t slot, uint64_t where)
{
	int tier = run_where_tier(where);
	void *at = (void *)run_slot_addr(slot);
	void *p = raw_mmap(at, RUN_SLOT, PROT_NONE, MAP_SHARED | MAP_FIXED, run.tier_fd[tier], (off_t)run_where_offset(where));
	return p == at ? 0 : -errno;
}

/* Maps slots [first, first + count), whose `where` is set: one mmap per run of folios at
 * contiguous offsets of one memfd. */
static int map_slots(size_t first, size_t count)
{
	size_t i = 0;
	while (i < count) {
		uint64_t w = run.slots[first + i].where;
		size_t n = 1;
		while (i + n < count && run.slots[first + i + n].where == w + n * RUN_SLOT)
			n++;
		void *at = (void *)run_slot_addr(first + i);
		void *p = raw_mmap(at, n * RUN_SLOT, PROT_NONE, MAP_SHARED | MAP_FIXED, run.tier_fd[run_where_tier(w)],
				   (off_t)run_where_offset(w));
		if (p != at)
			return -errno;
		i += n;
	}
	return 0;
}

static uint32_t *handle_buffer(uint32_t *stack, size_t count)
{
	if (count <= STACK_HANDLES)
		return stack;
	void *p = raw_mmap(NULL, count * sizeof(uint32_t), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

static void drop_buffer(uint32_t *stack, uint32_t *handles, size_t count)
{
	if (handles != stack)
		raw_munmap(handles, count * sizeof(uint32_t));
}

/* The folio table's word on each new folio, checked: a folio of ours, order 9, a block inside
 * its tier. Then its block is punched, so it reads as zero (a new folio holds whatever its
 * block last held in this space). */
static int check_new(const uint32_t *handles, size_t count, uint64_t *wheres)
{
	for (size_t i = 0; i < count; i++) {
		struct folio_entry *e = &run.requests->table[handles[i]];
		wheres[i] = __atomic_load_n(&e->where, __ATOMIC_ACQUIRE);
		if (e->order != RUN_FOLIO_ORDER || !run_where_valid(wheres[i]))
			return -EBADMSG;
	}
	return 0;
}

/* The slots' state once their folios are known; pages in [addr, addr + len) are the
 * program's, with `prot`. */
static void set_slots(size_t s0, size_t count, const uint32_t *handles, const uint64_t *wheres, uintptr_t addr,
		      size_t len, int prot)
{
	size_t p0 = run_page_of(addr), p1 = run_page_of(addr + len - 1) + 1;
	for (size_t i = 0; i < count; i++) {
		struct slot *s = &run.slots[s0 + i];
		s->kind = SLOT_FOLIO;
		s->handle = handles[i];
		s->where = wheres[i];
		s->revoked = 0;
		s->scan = 0;
		s->flags = 0;
		s->live = 0;
		run.handle_slot[handles[i]] = (uint32_t)(s0 + i + 1);
		size_t first = (s0 + i) * RUN_PAGES_PER_SLOT;
		for (size_t p = first; p < first + RUN_PAGES_PER_SLOT; p++) {
			int mine = p >= p0 && p < p1;
			run.pages[p] = mine ? (uint8_t)(PAGE_MAPPED | prot) : 0;
			s->live += (uint16_t)mine;
		}
	}
}

static void unset_slots(size_t s0, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		struct slot *s = &run.slots[s0 + i];
		run.handle_slot[s->handle] = 0;
		s->kind = SLOT_RESERVED;
		s->handle = RUN_NO_HANDLE;
		s->live = 0;
		memset(&run.pages[(s0 + i) * RUN_PAGES_PER_SLOT], 0, RUN_PAGES_PER_SLOT);
	}
	raw_reserve((void *)run_slot_addr(s0), count * RUN_SLOT);
}

/* A folio whose block could not be punched is cleared through its mapping instead, before the
 * program sees it (it is ours alone: nothing revoked or armed it yet). */
static void zero_unpunched(size_t s0, size_t count, const uint8_t *punched)
{
	for (size_t i = 0; i < count; i++) {
		if (punched[i])
			continue;
		void *at = (void *)run_slot_addr(s0 + i);
		raw_mprotect(at, RUN_SLOT, PROT_READ | PROT_WRITE);
		memset(at, 0, RUN_SLOT);
	}
}

static int fill_locked(size_t s0, size_t count, const uint32_t *handles, const uint64_t *wheres,
		       const uint8_t *punched, uintptr_t addr, size_t len, int prot)
{
	set_slots(s0, count, handles, wheres, addr, len, prot);
	int err = map_slots(s0, count);
	if (err != 0) {
		unset_slots(s0, count);
		return MAP_REFUSED;
	}
	zero_unpunched(s0, count, punched);
	run_apply_prot(s0 * RUN_PAGES_PER_SLOT, (s0 + count) * RUN_PAGES_PER_SLOT);
	return 0;
}

/* Folios for the reserved slots under [addr, addr + len), mapped with `prot` there. Called
 * without the lock; on failure the slots stay reserved (the caller gives them back) and any
 * folio allocated for them is freed. */
int run_region_fill(uintptr_t addr, size_t len, int prot)
{
	size_t s0 = run_slot_of(addr), count = run_slot_of(addr + len - 1) + 1 - s0;
	uint32_t stack[STACK_HANDLES];
	uint32_t *handles = handle_buffer(stack, count * 5);  /* then the wheres and punch flags */
	if (!handles)
		return -ENOMEM;
	uint64_t *wheres = (uint64_t *)(handles + count + (count & 1));
	uint8_t *punched = (uint8_t *)(wheres + count);
	int err = run_alloc_folios((uint32_t)count, handles);
	if (err == 0) {
		err = check_new(handles, count, wheres);
		for (size_t i = 0; i < count && err == 0; i++) {
			int tier = run_where_tier(wheres[i]);
			punched[i] = run.punch_ok[tier] && raw_punch(run.tier_fd[tier], run_where_offset(wheres[i]), RUN_SLOT) == 0;
		}
		if (err == 0) {
			run_lock();
			err = fill_locked(s0, count, handles, wheres, punched, addr, len, prot);
			run_unlock();
		}
		if (err != 0)
			run_free_folios(handles, (uint32_t)count);
	}
	drop_buffer(stack, handles, count * 5);
	return err;
}

static void release_slots(size_t s0, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		run.slots[s0 + i].kind = SLOT_FREE;
		run.slots[s0 + i].flags = 0;
	}
	run_window_release(s0, count);
}

void *run_region_create(size_t len, size_t align, int prot, int malloc_block)
{
	if (len == 0 || len > ((size_t)1 << 40) || run_connect() != 0)
		return NULL;
	size_t count = (len + RUN_SLOT - 1) >> RUN_SLOT_SHIFT;
	size_t align_slots = align > RUN_SLOT ? align >> RUN_SLOT_SHIFT : 1;
	run_lock();
	long s0 = run_window_ready() == 0 ? run_window_carve(count, align_slots) : -1;
	for (long i = 0; s0 >= 0 && i < (long)count; i++)
		run.slots[s0 + i].kind = SLOT_RESERVED;
	run_unlock();
	if (s0 < 0) {
		run_note("the library's address window is full");
		return NULL;
	}
	uintptr_t addr = run_slot_addr((size_t)s0);
	/* A malloc block is all of its slots: malloc_usable_size says so, and realloc relies on it. */
	int err = run_region_fill(addr, malloc_block ? count << RUN_SLOT_SHIFT : len, prot);
	run_lock();
	if (err != 0) {
		release_slots((size_t)s0, count);
	} else if (malloc_block) {
		run.slots[s0].flags |= SLOT_MALLOC_HEAD;
		run.slots[s0].block_slots = (uint32_t)count;
	}
	run_unlock();
	if (err != 0) {
		char why[96] = "the daemon refused an allocation: ";
		if (err == MAP_REFUSED)
			strcpy(why, "the kernel refused to map folios (vm.max_map_count?)");
		else
			strncat(why, strerror(-err), sizeof(why) - strlen(why) - 1);
		run_note(why);
		return NULL;
	}
	return (void *)addr;
}

/* With the lock held: a slot the daemon revoked is being copied; wait (lock released) until
 * its remap. 1 if it waited (the caller looks at the slot again), 0 if it is settled. */
int run_wait_settled(size_t slot)
{
	struct slot *s = &run.slots[slot];
	uint32_t v = __atomic_load_n(&s->revoked, __ATOMIC_ACQUIRE);
	if (s->kind != SLOT_FOLIO || !(v & REVOKED_DAEMON))
		return 0;
	run_unlock();
	raw_futex_wait(&s->revoked, v, 10 * 1000 * 1000);
	run_lock();
	return 1;
}

/* A slot none of whose pages the program maps goes back to the window: its folio freed
 * (its handle into `freed`), the address space reserved again. */
static void drop_slot(size_t slot, uint32_t *freed, size_t *nfreed)
{
	struct slot *s = &run.slots[slot];
	if (s->kind == SLOT_FOLIO) {
		run.handle_slot[s->handle] = 0;
		int tier = run_where_tier(s->where);
		raw_punch(run.tier_fd[tier], run_where_offset(s->where), RUN_SLOT);
		freed[(*nfreed)++] = s->handle;
		s->handle = RUN_NO_HANDLE;
	}
	raw_reserve((void *)run_slot_addr(slot), RUN_SLOT);
	/* Nobody should be waiting on a slot the program unmapped, but never leave one asleep. */
	__atomic_store_n(&s->revoked, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&s->scan, 0, __ATOMIC_RELEASE);
	raw_futex_wake(&s->revoked);
	raw_futex_wake(&s->scan);
	release_slots(slot, 1);
}

/* Pages [p0, p1) of one slot leave the program, whose slot keeps other pages: a folio's are
 * punched (zero if the program maps them again by mremap) and made PROT_NONE; a kernel
 * slot's are replaced by the reservation. */
static void drop_pages(size_t slot, size_t p0, size_t p1)
{
	struct slot *s = &run.slots[slot];
	void *at = (void *)(run.base + (p0 << RUN_PAGE_SHIFT));
	size_t bytes = (p1 - p0) << RUN_PAGE_SHIFT;
	if (s->kind == SLOT_KERNEL) {
		raw_reserve(at, bytes);
		return;
	}
	int tier = run_where_tier(s->where);
	uint64_t offset = run_where_offset(s->where) + ((p0 % RUN_PAGES_PER_SLOT) << RUN_PAGE_SHIFT);
	if (raw_punch(run.tier_fd[tier], offset, bytes) != 0) {
		raw_mprotect(at, bytes, PROT_READ | PROT_WRITE);
		memset(at, 0, bytes);
	}
	raw_munlock(at, bytes);
	run_apply_prot(p0, p1);
}

/* Unmaps the program's pages of one slot within [p0, p1). 0 done, 1 the caller must look at
 * it again (it waited for a remap). */
static int unmap_in_slot(size_t slot, size_t p0, size_t p1, uint32_t *freed, size_t *nfreed)
{
	struct slot *s = &run.slots[slot];
	if (s->kind != SLOT_FOLIO && s->kind != SLOT_KERNEL)
		return 0;
	size_t first = slot * RUN_PAGES_PER_SLOT;
	size_t lo = p0 > first ? p0 : first, hi = p1 < first + RUN_PAGES_PER_SLOT ? p1 : first + RUN_PAGES_PER_SLOT;
	size_t mapped = 0;
	for (size_t p = lo; p < hi; p++)
		mapped += (run.pages[p] & PAGE_MAPPED) != 0;
	if (mapped == 0)
		return 0;
	if (mapped < s->live && run_wait_settled(slot))
		return 1;
	for (size_t p = lo; p < hi; p++)
		run.pages[p] = 0;
	s->live = (uint16_t)(s->live - mapped);
	if (s->live == 0) {
		s->flags = 0;
		drop_slot(slot, freed, nfreed);
	} else {
		drop_pages(slot, lo, hi);
	}
	return 0;
}

int run_region_unmap(uintptr_t addr, size_t len)
{
	size_t p0 = run_page_of(addr), p1 = run_page_of(addr + len - 1) + 1;
	size_t slot = p0 / RUN_PAGES_PER_SLOT, end = (p1 - 1) / RUN_PAGES_PER_SLOT + 1;
	uint32_t freed[UNMAP_BATCH];
	while (slot < end) {
		size_t nfreed = 0;
		run_lock();
		for (size_t done = 0; slot < end && done < UNMAP_BATCH; done++) {
			if (unmap_in_slot(slot, p0, p1, freed, &nfreed) == 0)
				slot++;
		}
		run_unlock();
		if (nfreed)
			run_free_folios(freed, (uint32_t)nfreed);
	}
	return 0;
}

/* Whether every page of [addr, addr + len) is the program's, with one protection (what the
 * kernel's mremap asks of its old range: one mapping). */
int run_range_uniform(uintptr_t addr, size_t len, int *prot)
{
	size_t p0 = run_page_of(addr), p1 = run_page_of(addr + len - 1) + 1;
	uint8_t first = run.pages[p0];
	if (!(first & PAGE_MAPPED))
		return -EFAULT;
	for (size_t p = p0; p < p1; p++) {
		if ((run.pages[p] & (PAGE_MAPPED | PAGE_PROT)) != (first & (PAGE_MAPPED | PAGE_PROT)))
			return -EFAULT;
	}
	*prot = first & PAGE_PROT;
	return 0;
}

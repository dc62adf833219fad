/*
 * mremap of window memory. Growing takes the following slots when they are free (new folios
 * for them); moving keeps the folios and maps them at the new address, at the same offset in
 * their slots; what cannot move that way (a forked child's kernel pages, a range that shares
 * its slots with pages outside it, a fixed address elsewhere) is copied.
 */
#include "run.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <sys/mman.h>

#define EXPORT __attribute__((visibility("default")))
#define PAGE_MASK (RUN_PAGE - 1)

static size_t page_round(size_t len)
{
	return (len + PAGE_MASK) & ~PAGE_MASK;
}

static size_t slot_end_page(size_t page)
{
	return (page / RUN_PAGES_PER_SLOT + 1) * RUN_PAGES_PER_SLOT;
}

/* Pages [from, to) join the program's mapping, with the protection and lock of page `like`. */
static void expose(size_t from, size_t to, size_t like)
{
	uint8_t b = (uint8_t)(run.pages[like] & (PAGE_MAPPED | PAGE_PROT | PAGE_LOCKED));
	for (size_t p = from; p < to; p++) {
		run.pages[p] = b;
		run.slots[p / RUN_PAGES_PER_SLOT].live++;
	}
	run_apply_prot(from, to);
	if (b & PAGE_LOCKED)
		run_relock(from, to);
}

static void unexpose(size_t from, size_t to)
{
	for (size_t p = from; p < to; p++) {
		run.pages[p] = 0;
		run.slots[p / RUN_PAGES_PER_SLOT].live--;
	}
	run_apply_prot(from, to);
}

/* Grows [a, a + old) to new in place: the rest of its last folio, then free slots after it. */
static int grow_in_place(uintptr_t a, size_t old, size_t new)
{
	size_t end = run_page_of(a + old), new_end = run_page_of(a + new - 1) + 1, last = end - 1;
	size_t tail_end = slot_end_page(last) < new_end ? slot_end_page(last) : new_end;
	run_lock();
	int ok = run.slots[last / RUN_PAGES_PER_SLOT].kind == SLOT_FOLIO;
	for (size_t p = end; p < tail_end && ok; p++)
		ok = !(run.pages[p] & PAGE_MAPPED);
	size_t s_next = last / RUN_PAGES_PER_SLOT + 1, s_end = (new_end - 1) / RUN_PAGES_PER_SLOT + 1;
	if (ok && s_end > s_next)
		ok = run_window_take(s_next, s_end - s_next) == 0;
	if (!ok) {
		run_unlock();
		return -ENOMEM;
	}
	for (size_t s = s_next; s < s_end; s++)
		run.slots[s].kind = SLOT_RESERVED;
	int prot = run.pages[last] & PAGE_PROT;
	expose(end, tail_end, last);
	run_unlock();
	if (s_end == s_next)
		return 0;
	int err = run_region_fill(run_slot_addr(s_next), (new_end - s_next * RUN_PAGES_PER_SLOT) << RUN_PAGE_SHIFT, prot);
	run_lock();
	if (err != 0) {
		unexpose(end, tail_end);
		for (size_t s = s_next; s < s_end; s++)
			run.slots[s].kind = SLOT_FREE;
		run_window_release(s_next, s_end - s_next);
	} else if (run.pages[last] & PAGE_LOCKED) {
		for (size_t p = s_next * RUN_PAGES_PER_SLOT; p < new_end; p++)
			run.pages[p] |= PAGE_LOCKED;
		run_relock(s_next * RUN_PAGES_PER_SLOT, new_end);
	}
	run_unlock();
	return err;
}

/* Whether [a, a + len) can move by remapping its folios: every slot under it a folio whose
 * mapped pages all lie in the range. */
static int movable(uintptr_t a, size_t len)
{
	size_t p0 = run_page_of(a), p1 = run_page_of(a + len - 1) + 1;
	for (size_t s = p0 / RUN_PAGES_PER_SLOT; s <= (p1 - 1) / RUN_PAGES_PER_SLOT; s++) {
		size_t first = s * RUN_PAGES_PER_SLOT, in = 0;
		if (run.slots[s].kind != SLOT_FOLIO)
			return 0;
		for (size_t p = first; p < first + RUN_PAGES_PER_SLOT; p++)
			in += (run.pages[p] & PAGE_MAPPED) && p >= p0 && p < p1;
		if (in != run.slots[s].live)
			return 0;
	}
	return 1;
}

/* Slot `from`'s state and pages go to slot `to`, where its folio is mapped already; `from`
 * goes back to the window. */
static void move_slot(size_t from, size_t to)
{
	struct slot *f = &run.slots[from], *t = &run.slots[to];
	*t = *f;
	t->scan = 0;
	run.handle_slot[t->handle] = (uint32_t)(to + 1);
	memcpy(&run.pages[to * RUN_PAGES_PER_SLOT], &run.pages[from * RUN_PAGES_PER_SLOT], RUN_PAGES_PER_SLOT);
	memset(&run.pages[from * RUN_PAGES_PER_SLOT], 0, RUN_PAGES_PER_SLOT);
	run_apply_prot(to * RUN_PAGES_PER_SLOT, (to + 1) * RUN_PAGES_PER_SLOT);
	run_relock(to * RUN_PAGES_PER_SLOT, (to + 1) * RUN_PAGES_PER_SLOT);
	raw_reserve((void *)run_slot_addr(from), RUN_SLOT);
	__atomic_store_n(&f->scan, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&f->revoked, 0, __ATOMIC_RELEASE);
	raw_futex_wake(&f->scan);
	raw_futex_wake(&f->revoked);
	f->kind = SLOT_FREE;
	f->flags = 0;
	f->live = 0;
	f->handle = RUN_NO_HANDLE;
	run_window_release(from, 1);
}

/* Moves [a, a + old) to dest (same offset in its slot; its slots taken), growing it to new.
 * Every folio is mapped at its new place before any state changes, so a refused mmap (the
 * kernel's map count) leaves the old range as it was. */
static void *move_folios(uintptr_t a, size_t old, size_t new, uintptr_t dest)
{
	size_t s_old = run_slot_of(a), n_old = run_slot_of(a + old - 1) + 1 - s_old;
	size_t s_new = run_slot_of(dest), n_new = run_slot_of(dest + new - 1) + 1 - s_new;
	int prot = run.pages[run_page_of(a)] & PAGE_PROT;
	if (n_new > n_old) {
		uintptr_t extra = run_slot_addr(s_new + n_old);
		if (run_region_fill(extra, dest + new - extra, prot) != 0)
			return NULL;
	}
	run_lock();
	for (size_t i = 0; i < n_old; i++) {
		if (run_map_folio(s_new + i, run.slots[s_old + i].where) != 0) {
			raw_reserve((void *)run_slot_addr(s_new), i * RUN_SLOT);
			run_unlock();
			if (n_new > n_old)
				run_region_unmap(run_slot_addr(s_new + n_old), (n_new - n_old) * RUN_SLOT);
			return NULL;
		}
	}
	for (size_t i = 0; i < n_old; i++)
		move_slot(s_old + i, s_new + i);
	size_t moved_end = run_page_of(dest + old), new_end = run_page_of(dest + new - 1) + 1;
	size_t tail_end = slot_end_page(moved_end - 1) < new_end ? slot_end_page(moved_end - 1) : new_end;
	expose(moved_end, tail_end, moved_end - 1);
	run_unlock();
	return (void *)dest;
}

/* Slots for a move: dest's, taken, or any free run. 0 on success, with *dest set. */
static int take_dest(uintptr_t a, size_t new, uintptr_t *dest, int fixed)
{
	size_t off = a & (RUN_SLOT - 1);
	size_t count = (off + new + RUN_SLOT - 1) >> RUN_SLOT_SHIFT;
	run_lock();
	long s = fixed ? (run_window_take(run_slot_of(*dest), count) == 0 ? (long)run_slot_of(*dest) : -1)
		       : run_window_carve(count, 1);
	for (long i = 0; s >= 0 && i < (long)count; i++)
		run.slots[s + i].kind = SLOT_RESERVED;
	run_unlock();
	if (s < 0)
		return -ENOMEM;
	*dest = run_slot_addr((size_t)s) + off;
	return 0;
}

static void give_back(uintptr_t dest, size_t new)
{
	size_t s0 = run_slot_of(dest), s1 = run_slot_of(dest + new - 1) + 1;
	run_lock();
	for (size_t s = s0; s < s1; s++) {
		if (run.slots[s].kind == SLOT_RESERVED) {
			run.slots[s].kind = SLOT_FREE;
			run_window_release(s, 1);
		}
	}
	run_unlock();
}

/* The copy: new memory (a region, or the kernel's at `fixed`, or the kernel's anywhere when
 * the daemon refuses), the bytes, the protection, then the old range unmapped. */
static void *copy_move(uintptr_t a, size_t old, size_t new, int prot, void *fixed)
{
	void *to = NULL;
	if (fixed)
		to = raw_mmap(fixed, new, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	else if (run_mmap_eligible(new, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS))
		to = run_region_create(new, RUN_PAGE, PROT_READ | PROT_WRITE, 0);
	if (!to || to == MAP_FAILED)
		to = raw_mmap(fixed, new, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | (fixed ? MAP_FIXED : 0), -1, 0);
	if (to == MAP_FAILED)
		return MAP_FAILED;
	if (!(prot & PROT_READ))
		mprotect((void *)a, old, prot | PROT_READ);  /* the old range is going anyway */
	memcpy(to, (void *)a, old < new ? old : new);
	if (prot != (PROT_READ | PROT_WRITE))
		mprotect(to, new, prot);
	run_region_unmap(a, old);
	return to;
}

static void *window_mremap(uintptr_t a, size_t old, size_t new, int flags, uintptr_t fixed)
{
	int prot;
	run_lock();
	int err = run_range_uniform(a, old, &prot);
	int can_move = err == 0 && movable(a, old);
	run_unlock();
	if (err != 0) {
		errno = -err;
		return MAP_FAILED;
	}
	if (!(flags & MREMAP_FIXED)) {
		if (new <= old) {
			if (new < old)
				run_region_unmap(a + new, old - new);
			return (void *)a;
		}
		if (grow_in_place(a, old, new) == 0)
			return (void *)a;
		if (!(flags & MREMAP_MAYMOVE)) {
			errno = ENOMEM;
			return MAP_FAILED;
		}
	} else if (fixed < a + old && a < fixed + new) {
		errno = EINVAL;
		return MAP_FAILED;
	}
	int in_window = (flags & MREMAP_FIXED) && run_ours((void *)fixed) && run_ours((void *)(fixed + new - 1));
	if ((flags & MREMAP_FIXED) && !in_window && (run_ours((void *)fixed) || run_ours((void *)(fixed + new - 1)))) {
		errno = EINVAL;
		return MAP_FAILED;
	}
	if (in_window)
		run_region_unmap(fixed, new);
	uintptr_t dest = fixed;
	int same_offset = !in_window || ((fixed ^ a) & (RUN_SLOT - 1)) == 0;
	if (can_move && (!(flags & MREMAP_FIXED) || (in_window && same_offset)) && take_dest(a, new, &dest, in_window) == 0) {
		void *p = move_folios(a, old, new, dest);
		if (p)
			return p;
		give_back(dest, new);
	}
	if (in_window) {
		errno = EINVAL;  /* a fixed address at another offset in its slot: not served */
		return MAP_FAILED;
	}
	return copy_move(a, old, new, prot, (flags & MREMAP_FIXED) ? (void *)fixed : NULL);
}

EXPORT void *mremap(void *old_address, size_t old_size, size_t new_size, int flags, ...)
{
	void *new_address = NULL;
	if (flags & MREMAP_FIXED) {
		va_list ap;
		va_start(ap, flags);
		new_address = va_arg(ap, void *);
		va_end(ap);
	}
	uintptr_t a = (uintptr_t)old_address;
	size_t old = page_round(old_size), new = page_round(new_size);
	if (!run_ours(old_address) || old == 0 || !run_ours((char *)old_address + old - 1))
		return raw_mremap(old_address, old_size, new_size, flags, new_address);
	if ((a & PAGE_MASK) || new == 0 || (flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED)) ||
	    ((flags & MREMAP_FIXED) && (!(flags & MREMAP_MAYMOVE) || ((uintptr_t)new_address & PAGE_MASK)))) {
		errno = EINVAL;
		return MAP_FAILED;
	}
	return window_mremap(a, old, new, flags, (uintptr_t)new_address);
}

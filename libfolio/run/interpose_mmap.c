/*
 * mmap and the calls that change a mapping, for the window's pages. Everything outside the
 * window goes to the kernel unchanged. Within it the library keeps the kernel's promises for
 * private anonymous memory: page granularity, zero pages where nothing was written, the
 * protection the program asked for, errnos as the kernel gives them.
 */
#include "run.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))
#define PAGE_MASK (RUN_PAGE - 1)

static size_t page_round(size_t len)
{
	return (len + PAGE_MASK) & ~PAGE_MASK;
}

/* Only what glibc never uses for its own stacks and arenas, and only large requests. */
int run_mmap_eligible(size_t len, int prot, int flags)
{
	const int refused = MAP_FIXED | MAP_FIXED_NOREPLACE | MAP_STACK | MAP_GROWSDOWN | MAP_HUGETLB | MAP_NORESERVE |
			    MAP_32BIT;
	return len >= run_config.min_bytes && prot != PROT_NONE && !(prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC)) &&
	       (flags & MAP_TYPE) == MAP_PRIVATE && (flags & MAP_ANONYMOUS) && !(flags & refused) && !run_in_library &&
	       __atomic_load_n(&run.mode, __ATOMIC_ACQUIRE) != MODE_FALLBACK;
}

static void set_locked(uintptr_t addr, size_t len, int locked)
{
	size_t p1 = run_page_of(addr + len - 1) + 1;
	for (size_t p = run_page_of(addr); p < p1; p++) {
		if (run.pages[p] & PAGE_MAPPED)
			run.pages[p] = (uint8_t)(locked ? run.pages[p] | PAGE_LOCKED : run.pages[p] & ~PAGE_LOCKED);
	}
}

/* A MAP_FIXED mapping the program places in the window: its pages become kernel pages of
 * free slots (ENOMEM where a slot still holds pages of a folio region, whose folio cannot
 * share its slot). */
static void *fixed_in_window(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	uintptr_t a = (uintptr_t)addr;
	run_region_unmap(a, len);
	size_t s0 = run_slot_of(a), s1 = run_slot_of(a + len - 1) + 1;
	run_lock();
	for (size_t s = s0; s < s1; s++) {
		if (run.slots[s].kind == SLOT_FREE && run_window_take(s, 1) == 0) {
			run.slots[s].kind = SLOT_KERNEL;
			run.slots[s].live = 0;
		} else if (run.slots[s].kind != SLOT_KERNEL) {
			run_unlock();
			errno = ENOMEM;
			return MAP_FAILED;
		}
	}
	void *p = raw_mmap(addr, len, prot, flags, fd, off);
	if (p == addr) {
		for (size_t q = run_page_of(a); q <= run_page_of(a + len - 1); q++) {
			run.pages[q] = (uint8_t)(PAGE_MAPPED | (prot & PAGE_PROT));
			run.slots[q / RUN_PAGES_PER_SLOT].live++;
		}
	}
	run_unlock();
	return p;
}

EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	if (run_mmap_eligible(len, prot, flags)) {
		void *p = run_region_create(page_round(len), RUN_PAGE, prot, 0);
		if (p) {
			if (flags & MAP_LOCKED)
				mlock(p, len);
			return p;
		}
	}
	if ((flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) == MAP_FIXED && len > 0 && run_ours(addr) &&
	    run_ours((char *)addr + len - 1) && !((uintptr_t)addr & PAGE_MASK))
		return fixed_in_window(addr, page_round(len), prot, flags, fd, off);
	return raw_mmap(addr, len, prot, flags, fd, off);
}

EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return mmap(addr, len, prot, flags, fd, off);
}

EXPORT int munmap(void *addr, size_t len)
{
	uintptr_t a = (uintptr_t)addr;
	if (!run.end || len == 0 || (a & PAGE_MASK) || a + len < a)
		return raw_munmap(addr, len);
	size_t n = page_round(len);
	uintptr_t lo = a > run.base ? a : run.base, hi = a + n < run.end ? a + n : run.end;
	if (lo >= hi)
		return raw_munmap(addr, len);
	if (a < lo && raw_munmap(addr, lo - a) != 0)
		return -1;
	if (a + n > hi && raw_munmap((void *)hi, a + n - hi) != 0)
		return -1;
	return run_region_unmap(lo, hi - lo);
}

/* The window's part of a call: NULL if [addr, addr + len) is not wholly in it. */
static int in_window(const void *addr, size_t len)
{
	return len > 0 && run_ours(addr) && run_ours((const char *)addr + len - 1);
}

static int all_mapped(uintptr_t addr, size_t len)
{
	size_t p1 = run_page_of(addr + len - 1) + 1;
	for (size_t p = run_page_of(addr); p < p1; p++) {
		if (!(run.pages[p] & PAGE_MAPPED))
			return 0;
	}
	return 1;
}

EXPORT int mprotect(void *addr, size_t len, int prot)
{
	uintptr_t a = (uintptr_t)addr;
	size_t n = page_round(len);
	if ((a & PAGE_MASK) || !in_window(addr, n))
		return raw_mprotect(addr, len, prot);
	if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC)) {
		errno = EINVAL;
		return -1;
	}
	run_lock();
	int ok = all_mapped(a, n);
	if (ok) {
		size_t p0 = run_page_of(a), p1 = run_page_of(a + n - 1) + 1;
		for (size_t p = p0; p < p1; p++)
			run.pages[p] = (uint8_t)((run.pages[p] & ~PAGE_PROT) | prot);
		run_apply_prot(p0, p1);
	}
	run_unlock();
	if (!ok)
		errno = ENOMEM;
	return ok ? 0 : -1;
}

/* MADV_DONTNEED and friends on a folio: its pages read as zero after, as private anonymous
 * memory's do. Punched in the memfd (memory back to the system), once the daemon is not
 * copying the folio (the copy would bring the old bytes back at the remap). */
static int zero_range(uintptr_t a, size_t n, int advice)
{
	size_t p0 = run_page_of(a), p1 = run_page_of(a + n - 1) + 1;
	int err = 0;
	run_lock();
	for (size_t p = p0; p < p1;) {
		size_t slot = p / RUN_PAGES_PER_SLOT;
		struct slot *s = &run.slots[slot];
		size_t end = (slot + 1) * RUN_PAGES_PER_SLOT < p1 ? (slot + 1) * RUN_PAGES_PER_SLOT : p1;
		void *at = (void *)(run.base + (p << RUN_PAGE_SHIFT));
		size_t bytes = (end - p) << RUN_PAGE_SHIFT;
		if (s->kind == SLOT_FOLIO) {
			if (run_wait_settled(slot))
				continue;
			int tier = run_where_tier(s->where);
			uint64_t off = run_where_offset(s->where) + ((p % RUN_PAGES_PER_SLOT) << RUN_PAGE_SHIFT);
			if (raw_punch(run.tier_fd[tier], off, bytes) != 0) {
				raw_mprotect(at, bytes, PROT_READ | PROT_WRITE);
				memset(at, 0, bytes);
				run_apply_prot(p, end);
			}
		} else if (s->kind == SLOT_KERNEL && raw_madvise(at, bytes, advice) != 0) {
			err = errno;
		}
		p = end;
	}
	run_unlock();
	errno = err;
	return err ? -1 : 0;
}

EXPORT int madvise(void *addr, size_t len, int advice)
{
	uintptr_t a = (uintptr_t)addr;
	size_t n = page_round(len);
	if ((a & PAGE_MASK) || !in_window(addr, n))
		return raw_madvise(addr, len, advice);
	if (advice != MADV_DONTNEED && advice != MADV_FREE && advice != MADV_REMOVE && advice != MADV_DONTNEED_LOCKED)
		return raw_madvise(addr, len, advice);
	if (zero_range(a, n, advice) != 0)
		return -1;
	run_lock();
	int ok = all_mapped(a, n);
	run_unlock();
	if (!ok)
		errno = ENOMEM;
	return ok ? 0 : -1;
}

EXPORT int posix_madvise(void *addr, size_t len, int advice)
{
	/* POSIX_MADV_DONTNEED is a no-op in glibc (it must not discard data): keep it so. */
	if (advice == POSIX_MADV_DONTNEED)
		return 0;
	return madvise(addr, len, advice) == 0 ? 0 : errno;
}

static int lock_call(const void *addr, size_t len, int locked, long result)
{
	uintptr_t a = (uintptr_t)addr & ~PAGE_MASK;
	size_t n = page_round(len + ((uintptr_t)addr & PAGE_MASK));
	if (result == 0 && in_window((void *)a, n)) {
		run_lock();
		set_locked(a, n, locked);
		run_unlock();
	}
	return (int)result;
}

EXPORT int mlock(const void *addr, size_t len)
{
	return lock_call(addr, len, 1, raw_mlock(addr, len));
}

EXPORT int mlock2(const void *addr, size_t len, unsigned int flags)
{
	return lock_call(addr, len, 1, syscall(SYS_mlock2, addr, len, flags));
}

EXPORT int munlock(const void *addr, size_t len)
{
	return lock_call(addr, len, 0, raw_munlock(addr, len));
}

/* mlockall(MCL_FUTURE) makes the kernel lock every later mapping, the library's remaps
 * included; MCL_CURRENT locks what is mapped now, which the page bytes remember. */
EXPORT int mlockall(int flags)
{
	int r = (int)syscall(SYS_mlockall, flags);
	if (r == 0 && (flags & MCL_CURRENT) && run.end) {
		run_lock();
		set_locked(run.base, run.slot_top << RUN_SLOT_SHIFT ? run.slot_top << RUN_SLOT_SHIFT : RUN_PAGE, 1);
		run_unlock();
	}
	return r;
}

EXPORT int munlockall(void)
{
	int r = (int)syscall(SYS_munlockall);
	if (r == 0 && run.end) {
		run_lock();
		set_locked(run.base, run.slot_top << RUN_SLOT_SHIFT ? run.slot_top << RUN_SLOT_SHIFT : RUN_PAGE, 0);
		run_unlock();
	}
	return r;
}

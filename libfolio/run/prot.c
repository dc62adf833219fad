/*
 * The kernel protection of a window page, computed from what the program asked for (its page
 * byte) and the library's state of the slot: a page the program does not map is PROT_NONE; a
 * revoked folio loses PROT_WRITE; a folio armed by the heat scan is PROT_NONE until its first
 * touch. Recomputing it from scratch is how every change (revoke, remap, scan, the program's
 * mprotect) restores exactly the program's protection.
 */
#include "run.h"

#include <sys/mman.h>

int run_effective_prot(size_t page)
{
	uint8_t b = run.pages[page];
	if (!(b & PAGE_MAPPED))
		return PROT_NONE;
	const struct slot *s = &run.slots[page / RUN_PAGES_PER_SLOT];
	int prot = b & PAGE_PROT;
	if (s->kind != SLOT_FOLIO)
		return prot;
	if (__atomic_load_n(&s->scan, __ATOMIC_RELAXED) != 0)
		return PROT_NONE;
	if (__atomic_load_n(&s->revoked, __ATOMIC_RELAXED) != 0)
		prot &= ~PROT_WRITE;
	return prot;
}

/* One mprotect per run of pages with the same protection. */
void run_apply_prot(size_t first_page, size_t end_page)
{
	size_t start = first_page;
	while (start < end_page) {
		int prot = run_effective_prot(start);
		size_t next = start + 1;
		while (next < end_page && run_effective_prot(next) == prot)
			next++;
		raw_mprotect((void *)(run.base + (start << RUN_PAGE_SHIFT)), (next - start) << RUN_PAGE_SHIFT, prot);
		start = next;
	}
}

/* mlock again the pages the program locked, after a mapping replaced them. */
void run_relock(size_t first_page, size_t end_page)
{
	size_t start = first_page;
	while (start < end_page) {
		if (!(run.pages[start] & PAGE_LOCKED)) {
			start++;
			continue;
		}
		size_t next = start + 1;
		while (next < end_page && (run.pages[next] & PAGE_LOCKED))
			next++;
		raw_mlock((void *)(run.base + (start << RUN_PAGE_SHIFT)), (next - start) << RUN_PAGE_SHIFT);
		start = next;
	}
}

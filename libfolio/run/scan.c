/*
 * The hint-fault heat scan (issue 22): every scan period the runtime thread takes all access
 * away from a window of scan_bytes of the program's folios (PROT_NONE), the next window each
 * time, round the whole space. The first touch of an armed folio faults into the library,
 * which counts one access in the folio's entry (the `accesses` a pin adds to: the daemon's
 * tiering policy ranks folios by it) and gives the program's protection back. A folio still
 * armed when the next window starts gets its protection back uncounted: it was not touched.
 * Revoked folios are skipped (their protection belongs to the migration).
 */
#include "run.h"

#include <errno.h>
#include <sys/mman.h>

static uint32_t *armed;
static size_t armed_count, armed_cap, cursor;

static void restore(size_t slot, int counted)
{
	struct slot *s = &run.slots[slot];
	if (counted && run.requests && s->handle < FOLIO_TABLE_ENTRIES)
		__atomic_fetch_add(&run.requests->table[s->handle].accesses, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&s->scan, 0, __ATOMIC_RELEASE);
	run_apply_prot(slot * RUN_PAGES_PER_SLOT, (slot + 1) * RUN_PAGES_PER_SLOT);
	raw_futex_wake(&s->scan);
}

/* Lock held. Every armed folio back to the program's protection (touched ones counted). */
void run_scan_disarm_all(void)
{
	for (size_t i = 0; i < armed_count; i++) {
		struct slot *s = &run.slots[armed[i]];
		uint32_t v = __atomic_load_n(&s->scan, __ATOMIC_ACQUIRE);
		if (s->kind == SLOT_FOLIO && v != 0)
			restore(armed[i], v == SCAN_TOUCHED);
	}
	armed_count = 0;
}

/* The touched folios of the armed window, counted and restored. */
void run_scan_serve(void)
{
	run_lock();
	for (size_t i = 0; i < armed_count; i++) {
		struct slot *s = &run.slots[armed[i]];
		if (s->kind == SLOT_FOLIO && __atomic_load_n(&s->scan, __ATOMIC_ACQUIRE) == SCAN_TOUCHED)
			restore(armed[i], 1);
	}
	run_unlock();
}

static int armable(const struct slot *s)
{
	return s->kind == SLOT_FOLIO && s->live > 0 && __atomic_load_n(&s->revoked, __ATOMIC_ACQUIRE) == 0 &&
	       __atomic_load_n(&s->scan, __ATOMIC_ACQUIRE) == 0;
}

void run_scan_step(void)
{
	if (!armed) {
		armed_cap = run_config.scan_bytes >> RUN_SLOT_SHIFT;
		if (armed_cap == 0)
			armed_cap = 1;
		void *p = raw_mmap(NULL, armed_cap * sizeof(uint32_t), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return;
		armed = p;
	}
	run_lock();
	run_scan_disarm_all();
	size_t top = run.slot_top;
	for (size_t walked = 0; walked < top && armed_count < armed_cap; walked++) {
		if (cursor >= top)
			cursor = 0;
		size_t slot = cursor++;
		struct slot *s = &run.slots[slot];
		if (!armable(s))
			continue;
		__atomic_store_n(&s->scan, SCAN_ARMED, __ATOMIC_RELEASE);
		raw_mprotect((void *)run_slot_addr(slot), RUN_SLOT, PROT_NONE);
		armed[armed_count++] = (uint32_t)slot;
	}
	run_unlock();
}

/* A fork's child: nothing is armed (its memory is its own copy now). */
void run_scan_reset(void)
{
	armed_count = 0;
	cursor = 0;
}

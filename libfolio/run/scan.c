/*
 * The hint-fault heat scan (issue 22): every scan period the runtime thread takes all access
 * away from a window of scan_bytes of the program's folios (PROT_NONE), the next window each
 * time, round the whole space. The first touch of an armed folio faults into the library,
 * which counts one access in the folio's entry (the `accesses` a pin adds to: the daemon's
 * tiering policy ranks folios by it) and gives the program's protection back. A folio still
 * armed when the next window starts gets its protection back uncounted: it was not touched.
 * Revoked folios are skipped (their protection belongs to the migration).
 *
 * A touch counts more the sooner it came in its window: the first eighth of the window's
 * folios to be touched add SCAN_MAX_WEIGHT to `accesses`, the others 1. A plain "touched or
 * not" cannot tell a folio touched a thousand times a second from one touched a million times
 * (under GUPS every folio is touched within any scan period), and the time from arming to the
 * first touch, the kernel's hint-fault latency, measures mostly the faults queued before it:
 * a thread waits in the handler for each touch it makes, so its touches come one at a time, in
 * the order of the folios' access rates. The order is what survives; the rank is the estimate.
 */
#include "run.h"

#include <errno.h>
#include <sys/mman.h>

#define SCAN_MAX_WEIGHT 64u

static uint32_t *armed;
static size_t armed_count, armed_cap, cursor, counted_in_window;

static uint32_t weight(void)
{
	return counted_in_window++ < (armed_count + 7) / 8 ? SCAN_MAX_WEIGHT : 1;
}

static void restore(size_t slot, int counted)
{
	struct slot *s = &run.slots[slot];
	if (counted && run.requests && s->handle < FOLIO_TABLE_ENTRIES)
		__atomic_fetch_add(&run.requests->table[s->handle].accesses, weight(), __ATOMIC_RELAXED);
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
	counted_in_window = 0;
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
	       __atomic_load_n(&s->scan, __ATOMIC_ACQUIRE) == 0 && __atomic_load_n(&s->io, __ATOMIC_SEQ_CST) == 0;
}

void run_scan_step(void)
{
	if (!armed) {
		/* Room for every slot of the window: the size may grow at any refresh. */
		armed_cap = run.slot_count;
		void *p = raw_mmap(NULL, armed_cap * sizeof(uint32_t), PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p == MAP_FAILED)
			return;
		armed = p;
	}
	size_t window = run_scan_bytes() >> RUN_SLOT_SHIFT;
	run_lock();
	run_scan_disarm_all();
	size_t top = run.slot_top;
	for (size_t walked = 0; walked < top && armed_count < armed_cap && armed_count < window; walked++) {
		if (cursor >= top)
			cursor = 0;
		size_t slot = cursor++;
		struct slot *s = &run.slots[slot];
		if (!armable(s))
			continue;
		/* As a revoke does (channel.c): armed before `io` is read, left alone if an I/O
		 * call is in flight. */
		__atomic_store_n(&s->scan, SCAN_ARMED, __ATOMIC_SEQ_CST);
		if (__atomic_load_n(&s->io, __ATOMIC_SEQ_CST) != 0) {
			__atomic_store_n(&s->scan, 0, __ATOMIC_SEQ_CST);
			continue;
		}
		armed[armed_count++] = (uint32_t)slot;
		raw_mprotect((void *)run_slot_addr(slot), RUN_SLOT, PROT_NONE);
	}
	run_unlock();
}

/* A fork's child: nothing is armed (its memory is its own copy now). */
void run_scan_reset(void)
{
	armed_count = 0;
	cursor = 0;
}

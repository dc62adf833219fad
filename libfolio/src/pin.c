/* The client's half of the pin protocol: PROTOCOL.md section 6, step by step. */
#include "client.h"

#include <errno.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* How long one futex wait lasts before the daemon's liveness is checked again. */
#define WAIT_SLICE_NS 10000000L

/* Sleeps while entry e still has sequence `seq` (odd: migrating), at most one slice. */
static void wait_for_migration(struct folio_entry *e, uint32_t seq)
{
	struct timespec slice = { 0, WAIT_SLICE_NS };
	__atomic_fetch_add(&e->waiters, 1, __ATOMIC_SEQ_CST);
	/* A shared futex: the daemon wakes us from its own process. */
	syscall(SYS_futex, &e->seq, FUTEX_WAIT, seq, &slice, NULL, 0);
	__atomic_fetch_sub(&e->waiters, 1, __ATOMIC_RELAXED);
}

/*
 * Steps 1-3: returns with the pin counted (`unit` added to our word; `mask` is its half) and
 * the folio stable, or -ENOTCONN, or -EOVERFLOW when the half is full.
 */
static int take_pin(folio_client *c, struct folio_entry *e, uint32_t *pin, uint32_t unit, uint32_t mask)
{
	for (;;) {
		uint32_t seq = __atomic_load_n(&e->seq, __ATOMIC_ACQUIRE);
		if (seq & 1) {
			wait_for_migration(e, seq);
			/* A daemon killed mid-migration leaves seq odd for ever. */
			if (__atomic_load_n(&e->seq, __ATOMIC_ACQUIRE) == seq && folio_daemon_gone(c))
				return -ENOTCONN;
			continue;
		}
		/* A compare and exchange, not an add then a check: a full half must never carry into
		 * the other, not even for an instant a freeze could see as "no pin". */
		uint32_t word = __atomic_load_n(pin, __ATOMIC_RELAXED);
		do {
			if ((word & mask) == mask)
				return -EOVERFLOW;
		} while (!__atomic_compare_exchange_n(pin, &word, word + unit, 1, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED));
		if (__atomic_load_n(&e->seq, __ATOMIC_SEQ_CST) == seq) {
			/* Step 4: count the access for the tiering policy. */
			__atomic_fetch_add(&e->accesses, 1, __ATOMIC_RELAXED);
			/* Step 5: a write pin marks the folio written, after its word is raised. */
			if (unit == FOLIO_WRITE_PIN)
				__atomic_fetch_add(&e->writes, 1, __ATOMIC_SEQ_CST);
			return 0;
		}
		__atomic_fetch_sub(pin, unit, __ATOMIC_SEQ_CST);
	}
}

/* folio_pin and folio_pin_read: a pin of kind `unit`, and where the folio's bytes are. */
static int pin(folio_client *c, uint32_t handle, uint8_t **data, size_t *length, uint32_t unit, uint32_t mask)
{
	if (!c || !length)
		return -EINVAL;
	if (handle >= FOLIO_TABLE_ENTRIES)
		return -ENOENT;
	if (!__atomic_load_n(&c->attached, __ATOMIC_ACQUIRE))
		return -ENOTCONN;
	struct folio_entry *e = &c->table[handle];
	uint32_t *word = &c->pins[handle];
	int err = take_pin(c, e, word, unit, mask);
	if (err != 0)
		return err;
	/* Step 6: the entry cannot change until we unpin; still, check it against our mappings. */
	uint64_t where = __atomic_load_n(&e->where, __ATOMIC_ACQUIRE);
	uint8_t order = __atomic_load_n(&e->order, __ATOMIC_RELAXED);
	uint8_t state = __atomic_load_n(&e->state, __ATOMIC_RELAXED);
	unsigned tier = (unsigned)(where >> 56);
	uint64_t offset = where & ((UINT64_C(1) << 56) - 1);
	uint64_t size = UINT64_C(4096) << (order <= FOLIO_MAX_ORDER ? order : 0);
	if (state != 1 || order > FOLIO_MAX_ORDER || tier >= (unsigned)c->tier_count ||
	    offset > c->tiers[tier].size || c->tiers[tier].size - offset < size) {
		__atomic_fetch_sub(word, unit, __ATOMIC_RELEASE);
		return -ENOENT;
	}
	*data = c->tiers[tier].base + offset;
	*length = (size_t)size;
	return 0;
}

int folio_pin(folio_client *c, uint32_t handle, void **data, size_t *length)
{
	if (!data)
		return -EINVAL;
	uint8_t *bytes = NULL;
	int err = pin(c, handle, &bytes, length, FOLIO_WRITE_PIN, FOLIO_WRITE_PIN_MASK);
	if (err == 0)
		*data = bytes;
	return err;
}

int folio_pin_read(folio_client *c, uint32_t handle, const void **data, size_t *length)
{
	if (!data)
		return -EINVAL;
	uint8_t *bytes = NULL;
	int err = pin(c, handle, &bytes, length, FOLIO_READ_PIN, FOLIO_READ_PIN_MASK);
	if (err == 0)
		*data = bytes;
	return err;
}

/* Takes one `unit` off our word for `handle`; -EINVAL if its half is 0. */
static int unpin(folio_client *c, uint32_t handle, uint32_t unit, uint32_t mask)
{
	if (!c || handle >= FOLIO_TABLE_ENTRIES)
		return -EINVAL;
	uint32_t *word = &c->pins[handle];
	uint32_t count = __atomic_load_n(word, __ATOMIC_RELAXED);
	do {
		if ((count & mask) == 0)
			return -EINVAL;
	} while (!__atomic_compare_exchange_n(word, &count, count - unit, 1, __ATOMIC_RELEASE, __ATOMIC_RELAXED));
	return 0;
}

int folio_unpin(folio_client *c, uint32_t handle)
{
	return unpin(c, handle, FOLIO_WRITE_PIN, FOLIO_WRITE_PIN_MASK);
}

int folio_unpin_read(folio_client *c, uint32_t handle)
{
	return unpin(c, handle, FOLIO_READ_PIN, FOLIO_READ_PIN_MASK);
}

int folio_tier_of(folio_client *c, uint32_t handle)
{
	if (!c)
		return -EINVAL;
	if (handle >= FOLIO_TABLE_ENTRIES)
		return -ENOENT;
	struct folio_entry *e = &c->table[handle];
	if (__atomic_load_n(&e->state, __ATOMIC_ACQUIRE) != 1)
		return -ENOENT;
	unsigned tier = (unsigned)(__atomic_load_n(&e->where, __ATOMIC_ACQUIRE) >> 56);
	return tier < (unsigned)c->tier_count ? (int)tier : -ENOENT;
}

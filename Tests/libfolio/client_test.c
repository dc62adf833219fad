/*
 * libfolio against a real daemon: every request, the errnos PROTOCOL.md lists for it, bad
 * arguments, two spaces, a destroyed client, and pins taken from several threads while the
 * folios migrate. Run under valgrind by Tests/shell/test_libfolio.sh.
 * Usage: client_test SOCKET
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "client.h"
#include "folio.h"

static const char *socket_path;

static void fill(folio_client *c, uint32_t handle, uint8_t seed)
{
	void *data;
	size_t length;
	int err = folio_pin(c, handle, &data, &length);
	CHECK(err == 0, "pin %u: %d", handle, err);
	if (err == 0) {
		memset(data, seed, length);
		folio_unpin(c, handle);
	}
}

/* Whether every byte of the folio is `seed`. */
static int holds(folio_client *c, uint32_t handle, uint8_t seed)
{
	void *data;
	size_t length;
	if (folio_pin(c, handle, &data, &length) != 0)
		return 0;
	size_t i = 0;
	while (i < length && ((uint8_t *)data)[i] == seed)
		i++;
	folio_unpin(c, handle);
	return i == length;
}

static void null_arguments(void)
{
	folio_client *c = NULL;
	uint32_t h = 0;
	int32_t s;
	void *data;
	size_t length;
	struct folio_stats stats;
	CHECK(folio_connect(NULL, NULL, &c) == -EINVAL, "no socket path");
	CHECK(folio_connect(socket_path, NULL, NULL) == -EINVAL, "no out pointer");
	CHECK(folio_tier(NULL, "fast") == -EINVAL && folio_tier_count(NULL) == -EINVAL && folio_tier_name(NULL, 0) == NULL, "tiers of NULL");
	CHECK(folio_alloc(NULL, 0, 0, 1, &h) == -EINVAL, "alloc on NULL");
	CHECK(folio_free(NULL, &h, 1, &s) == -EINVAL, "free on NULL");
	CHECK(folio_migrate(NULL, &h, 1, 0, FOLIO_REASON_SYSCALL, &s) == -EINVAL, "migrate on NULL");
	CHECK(folio_pin(NULL, 0, &data, &length) == -EINVAL && folio_unpin(NULL, 0) == -EINVAL, "pin on NULL");
	CHECK(folio_stats(NULL, &stats) == -EINVAL && folio_destroy(NULL) == -EINVAL, "stats, destroy on NULL");
	CHECK(folio_tier_of(NULL, 0) == -EINVAL && strcmp(folio_error_message(NULL), "") == 0, "tier_of, message on NULL");
	uint64_t value;
	CHECK(folio_stat(NULL, "batches", &value) == -EINVAL && folio_stat_list(NULL, NULL, 0) == -EINVAL, "stat, stat_list on NULL");
	folio_close(NULL);
}

static void connecting(void)
{
	folio_client *c = (folio_client *)&c;
	char long_name[300];
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	CHECK(folio_connect("/nonexistent/foliod.sock", NULL, &c) == -ENOENT && c == NULL, "no daemon there: ENOENT, *out NULL");
	CHECK(folio_connect(socket_path, "", &c) == -EINVAL, "an empty name");
	CHECK(folio_connect(socket_path, long_name, &c) == -EINVAL, "a 299-byte name");
	CHECK(folio_connect(socket_path, "bad\nname", &c) == -EINVAL, "a control character: the daemon's EINVAL");
	CHECK(folio_connect(socket_path, "\xff", &c) == -EINVAL, "invalid UTF-8");
}

static void requests(folio_client *c)
{
	uint32_t handles[4], other;
	int32_t status[5];
	CHECK(folio_tier_count(c) == 2, "two tiers");
	CHECK(folio_tier(c, "fast") == 0 && folio_tier(c, "slow") == 1, "tiers by name");
	CHECK(folio_tier(c, "warm") == -ENOENT && folio_tier(c, NULL) == -EINVAL, "no tier warm");
	CHECK(strcmp(folio_tier_name(c, 1), "slow") == 0 && folio_tier_name(c, 2) == NULL && folio_tier_name(c, -1) == NULL, "tier names");

	CHECK(folio_alloc(c, 0, 0, 0, handles) == -EINVAL, "alloc count 0");
	CHECK(folio_alloc(c, 0, 0, FOLIO_MAX_HANDLES + 1, handles) == -EINVAL, "alloc 16385");
	CHECK(folio_alloc(c, 0, 10, 1, handles) == -EINVAL, "alloc order 10");
	CHECK(folio_alloc(c, -1, 0, 1, handles) == -EINVAL, "alloc tier -1");
	CHECK(folio_alloc(c, 0, 0, 1, NULL) == -EINVAL, "alloc into NULL");
	CHECK(folio_alloc(c, 5, 0, 1, handles) == -EINVAL, "alloc in tier 5: the daemon's EINVAL");
	CHECK(strcmp(folio_error_message(c), "allocate") == 0, "the daemon's message is kept: [%s]", folio_error_message(c));
	CHECK(folio_alloc(c, 1, 9, 200, handles) == -ENOMEM, "more than the tier holds: ENOMEM");

	int err = folio_alloc(c, 0, 2, 4, handles);
	CHECK(err == 0, "alloc 4 x 16 KiB: %d", err);
	for (uint32_t i = 0; i < 4; i++)
		fill(c, handles[i], (uint8_t)(0x40 + i));

	void *data;
	size_t length;
	CHECK(folio_pin(c, handles[0], &data, &length) == 0 && length == 16384, "a pinned folio is 4096 << 2 bytes");
	CHECK(folio_unpin(c, handles[0]) == 0 && folio_unpin(c, handles[0]) == -EINVAL, "an unpin without a pin is EINVAL");
	uint32_t accesses = __atomic_load_n(&c->table[handles[1]].accesses, __ATOMIC_RELAXED);
	CHECK(folio_pin(c, handles[1], &data, &length) == 0 && folio_unpin(c, handles[1]) == 0, "pin and unpin");
	CHECK(__atomic_load_n(&c->table[handles[1]].accesses, __ATOMIC_RELAXED) == accesses + 1, "a pin counts one access in the entry");
	CHECK(folio_pin(c, 65536, &data, &length) == -ENOENT && folio_pin(c, 60000, &data, &length) == -ENOENT, "pin of no folio");
	CHECK(folio_pin(c, handles[0], NULL, &length) == -EINVAL && folio_pin(c, handles[0], &data, NULL) == -EINVAL, "pin into NULL");

	uint32_t with_missing[5] = { handles[0], handles[1], handles[2], handles[3], 9999 };
	err = folio_migrate(c, with_missing, 5, 1, FOLIO_REASON_DEMOTION, status);
	CHECK(err == 0 && status[0] == 1 && status[3] == 1 && status[4] == -ENOENT, "migrate: %d, %d .. %d, %d", err, status[0], status[3], status[4]);
	CHECK(folio_tier_of(c, handles[2]) == 1 && folio_tier_of(c, 9999) == -ENOENT && folio_tier_of(c, 70000) == -ENOENT, "tier_of");
	for (uint32_t i = 0; i < 4; i++)
		CHECK(holds(c, handles[i], (uint8_t)(0x40 + i)), "folio %u intact after the move", i);
	CHECK(folio_migrate(c, handles, 4, 1, FOLIO_REASON_SYSCALL, NULL) == 0, "statuses may be NULL");
	uint32_t twice[2] = { handles[0], handles[0] };
	CHECK(folio_migrate(c, twice, 2, 0, FOLIO_REASON_SYSCALL, status) == -EINVAL, "a handle twice");
	CHECK(folio_migrate(c, handles, 0, 0, FOLIO_REASON_SYSCALL, status) == -EINVAL, "count 0");
	CHECK(folio_migrate(c, NULL, 1, 0, FOLIO_REASON_SYSCALL, status) == -EINVAL, "NULL handles");
	CHECK(folio_migrate(c, handles, FOLIO_MAX_HANDLES + 1, 0, FOLIO_REASON_SYSCALL, status) == -EINVAL, "16385 handles");
	CHECK(folio_migrate(c, handles, 1, 7, FOLIO_REASON_SYSCALL, status) == -EINVAL, "tier 7: the daemon's EINVAL");
	CHECK(folio_migrate(c, handles, 1, 0, (enum folio_reason)9, status) == -EINVAL, "reason 9");

	/* A pin held through every unmap pass: EBUSY, and the folio stays put, intact. */
	CHECK(folio_pin(c, handles[1], &data, &length) == 0, "pin for EBUSY");
	err = folio_migrate(c, &handles[1], 1, 0, FOLIO_REASON_SYSCALL, status);
	CHECK(err == 0 && status[0] == -EBUSY, "a pinned folio: %d %d", err, status[0]);
	err = folio_free(c, &handles[1], 1, status);
	CHECK(err == 0 && status[0] == -EBUSY, "free of a pinned folio: %d %d", err, status[0]);
	folio_unpin(c, handles[1]);
	CHECK(folio_tier_of(c, handles[1]) == 1 && holds(c, handles[1], 0x41), "still in tier 1, intact");

	struct folio_stats stats;
	err = folio_stats(c, &stats);
	CHECK(err == 0 && stats.folios_migrated >= 4 && stats.folios_busy >= 1 && stats.batches >= 2, "stats: %d migrated %llu busy %llu",
	      err, (unsigned long long)stats.folios_migrated, (unsigned long long)stats.folios_busy);
	CHECK(stats.bytes_copied >= 4 * 16384 && strcmp(stats.migrator, "kernel") == 0, "stats: bytes %llu migrator %s",
	      (unsigned long long)stats.bytes_copied, stats.migrator);

	/* Another space's handles are not this space's folios. */
	folio_client *stranger;
	err = folio_connect(socket_path, NULL, &stranger);
	CHECK(err == 0, "a second anonymous client: %d", err);
	if (err == 0) {
		CHECK(folio_alloc(stranger, 0, 0, 1, &other) == 0, "the stranger allocates");
		CHECK(folio_pin(stranger, handles[3], &data, &length) == -ENOENT, "pin of another space's handle");
		CHECK(folio_migrate(stranger, &handles[3], 1, 0, FOLIO_REASON_SYSCALL, status) == 0 && status[0] == -ENOENT, "migrate of it");
		CHECK(folio_free(stranger, &handles[3], 1, status) == 0 && status[0] == -ENOENT, "free of it");
		folio_close(stranger);
	}
	CHECK(holds(c, handles[3], 0x43), "the owner's folio is untouched");

	err = folio_free(c, with_missing, 5, status);
	CHECK(err == 0 && status[0] == 0 && status[3] == 0 && status[4] == -ENOENT, "free: %d %d %d", err, status[0], status[4]);
	CHECK(folio_free(c, handles, 0, status) == -EINVAL && folio_free(c, NULL, 1, status) == -EINVAL, "free of nothing");
}

/* Read pins (FOLIO_3): their own half of the pin word, no mark on the entry, and a migration
 * commits under them once they end; write pins mark. */
static void read_pins(folio_client *c)
{
	uint32_t h;
	int32_t status;
	const void *seen;
	void *data;
	size_t length;
	CHECK(folio_alloc(c, 1, 0, 1, &h) == 0, "alloc for read pins");
	fill(c, h, 0x5c);
	uint32_t writes = __atomic_load_n(&c->table[h].writes, __ATOMIC_RELAXED);
	CHECK(writes >= 1, "a write pin marks the entry's writes: %u", writes);
	CHECK(folio_pin_read(c, h, &seen, &length) == 0 && length == 4096 && ((const uint8_t *)seen)[7] == 0x5c, "a read pin sees the bytes");
	CHECK(__atomic_load_n(&c->pins[h], __ATOMIC_RELAXED) == 0x10000u, "a read pin counts in the high half");
	CHECK(__atomic_load_n(&c->table[h].writes, __ATOMIC_RELAXED) == writes, "a read pin does not mark");
	CHECK(folio_unpin(c, h) == -EINVAL, "a write unpin of a read pin is EINVAL");
	CHECK(folio_migrate(c, &h, 1, 0, FOLIO_REASON_PROMOTION, &status) == 0 && status == -EBUSY, "held through every pass: EBUSY");
	CHECK(folio_unpin_read(c, h) == 0 && folio_unpin_read(c, h) == -EINVAL, "read unpin, then none left");
	CHECK(folio_migrate(c, &h, 1, 0, FOLIO_REASON_PROMOTION, &status) == 0 && status == 0, "unpinned: it moves");
	CHECK(holds(c, h, 0x5c), "intact after the move");
	__atomic_store_n(&c->pins[h], 0xFFFF0000u, __ATOMIC_RELAXED);
	CHECK(folio_pin_read(c, h, &seen, &length) == -EOVERFLOW, "a full read half: EOVERFLOW");
	CHECK(folio_pin(c, h, &data, &length) == 0 && folio_unpin(c, h) == 0, "the write half still pins");
	__atomic_store_n(&c->pins[h], 0, __ATOMIC_RELAXED);
	CHECK(folio_pin_read(NULL, h, &seen, &length) == -EINVAL && folio_unpin_read(NULL, h) == -EINVAL, "read pin on NULL");
	CHECK(folio_pin_read(c, 65536, &seen, &length) == -ENOENT, "read pin of no folio");
	folio_free(c, &h, 1, NULL);
}

/* Whether every line of a folio_stat_list text is "name value": one space, then digits. */
static int well_formed(const char *text)
{
	for (const char *line = text; *line; line = strchr(line, '\n') + 1) {
		const char *space = strchr(line, ' '), *end = strchr(line, '\n');
		if (!end || !space || space > end || space == line || strspn(space + 1, "0123456789") != (size_t)(end - space - 1))
			return 0;
	}
	return 1;
}

/* Counters by name (FOLIO_2): those struct folio_stats holds agree with it, and the rest of
 * PROTOCOL.md section 4's names are there too. */
static void named_counters(folio_client *c)
{
	uint64_t value = 0, migrated = 0;
	struct folio_stats stats;
	CHECK(folio_stat(c, "tier.fast.size", &value) == 0 && value == 256u << 20, "tier.fast.size: %llu", (unsigned long long)value);
	CHECK(folio_stat(c, "tiering.demoted", &value) == 0 && folio_stat(c, "copy_faults", &value) == 0, "tiering.demoted, copy_faults");
	CHECK(folio_stat(c, "tier.slow.free_bytes", &value) == 0 && value > 0 && value <= 256u << 20, "tier.slow.free_bytes");
	value = 7;
	CHECK(folio_stat(c, "no.such.counter", &value) == -ENOENT && value == 7, "an unknown name: ENOENT, the value untouched");
	CHECK(folio_stat(c, "", &value) == -ENOENT && folio_stat(c, "batche", &value) == -ENOENT, "no prefix matches");
	CHECK(folio_stats(c, &stats) == 0 && folio_stat(c, "folios_migrated", &migrated) == 0 && migrated == stats.folios_migrated,
	      "folios_migrated by name %llu, in the struct %llu", (unsigned long long)migrated, (unsigned long long)stats.folios_migrated);

	int length = folio_stat_list(c, NULL, 0);
	CHECK(length > 0, "folio_stat_list measures: %d", length);
	size_t cap = (size_t)(length > 0 ? length : 0) + 256;
	char *text = malloc(cap);
	int n = text ? folio_stat_list(c, text, cap) : -ENOMEM;
	CHECK(n > 0 && (size_t)n < cap && strlen(text) == (size_t)n && text[n - 1] == '\n', "the whole list: %d bytes", n);
	if (n > 0 && (size_t)n < cap) {
		CHECK(strncmp(text, "batches ", 8) == 0 && strstr(text, "\ntiering.promoted_bytes ") && strstr(text, "\ntier.slow.hot_bytes "),
		      "batches first, the tiering and tier counters too");
		CHECK(well_formed(text), "every line is \"name value\": [%s]", text);
	}
	free(text);
	char small[8];
	memset(small, 'x', sizeof(small));
	n = folio_stat_list(c, small, sizeof(small));
	CHECK(n > (int)sizeof(small) && strcmp(small, "batches") == 0, "cut short: NUL-terminated, the whole length returned (%d)", n);
	CHECK(folio_stat_list(c, NULL, 5) == -EINVAL, "no buffer but room");
}

static void named_spaces(void)
{
	folio_client *a, *b;
	uint32_t h;
	CHECK(folio_connect(socket_path, "ctest", &a) == 0, "attach ctest");
	CHECK(folio_connect(socket_path, "ctest", &b) == 0, "attach ctest again");
	CHECK(folio_alloc(a, 0, 0, 1, &h) == 0, "alloc in ctest");
	fill(a, h, 0x77);
	CHECK(holds(b, h, 0x77), "the second client sees the first one's bytes");
	CHECK(folio_destroy(a) == 0, "destroy ctest");
	void *data;
	size_t length;
	struct folio_stats stats;
	CHECK(folio_alloc(a, 0, 0, 1, &h) == -ENOTCONN, "a destroyed client allocates nothing");
	CHECK(folio_pin(a, h, &data, &length) == -ENOTCONN, "... and pins nothing");
	CHECK(folio_destroy(a) == -ENOTCONN, "... and destroys nothing twice");
	CHECK(folio_stats(a, &stats) == 0, "... but still reads stats");
	CHECK(holds(b, h, 0x77), "the other attachment keeps the memory until it closes");
	folio_close(a);
	folio_close(b);
	CHECK(folio_connect(socket_path, "ctest", &a) == 0, "the name is free again");
	CHECK(folio_pin(a, h, &data, &length) == -ENOENT, "... and a new, empty space");
	CHECK(folio_destroy(a) == 0, "destroy it again");
	folio_close(a);
}

/* The daemon runs with named_spaces_per_uid = 4: the fifth name of this uid is EDQUOT. */
static void quotas(void)
{
	folio_client *held[8];
	char name[16];
	int attached = 0, err = 0;
	while (attached < 8) {
		snprintf(name, sizeof(name), "quota%d", attached);
		err = folio_connect(socket_path, name, &held[attached]);
		if (err)
			break;
		attached++;
	}
	CHECK(err == -EDQUOT && attached == 4, "named spaces past the uid's quota: %d after %d", err, attached);
	while (attached > 0) {
		attached--;
		CHECK(folio_destroy(held[attached]) == 0, "destroy a quota space");
		folio_close(held[attached]);
	}
}

/* Pins from several threads while the main thread migrates: no torn read. */
struct pinner {
	folio_client *c;
	const uint32_t *handles;
	int count, rounds, torn;
};

static void *pin_loop(void *arg)
{
	struct pinner *p = arg;
	for (int r = 0; r < p->rounds; r++) {
		for (int i = 0; i < p->count; i++)
			p->torn += !holds(p->c, p->handles[i], (uint8_t)i);
	}
	return NULL;
}

static void threads(folio_client *c)
{
	enum { COUNT = 16, THREADS = 3 };
	uint32_t handles[COUNT];
	if (folio_alloc(c, 0, 4, COUNT, handles) != 0) {
		CHECK(0, "alloc for threads");
		return;
	}
	for (int i = 0; i < COUNT; i++)
		fill(c, handles[i], (uint8_t)i);
	struct pinner pinners[THREADS];
	pthread_t ids[THREADS];
	for (int t = 0; t < THREADS; t++) {
		pinners[t] = (struct pinner){ c, handles, COUNT, 40, 0 };
		pthread_create(&ids[t], NULL, pin_loop, &pinners[t]);
	}
	int moved = 0;
	int32_t status[COUNT];
	for (int round = 0; round < 40; round++) {
		if (folio_migrate(c, handles, COUNT, (round + 1) % 2, FOLIO_REASON_SYSCALL, status) == 0)
			for (int i = 0; i < COUNT; i++)
				moved += status[i] >= 0;
	}
	int torn = 0;
	for (int t = 0; t < THREADS; t++) {
		pthread_join(ids[t], NULL);
		torn += pinners[t].torn;
	}
	CHECK(torn == 0, "%d torn reads", torn);
	CHECK(moved > 0, "folios moved while pinned from %d threads (%d moves)", THREADS, moved);
	printf("threads: %d folio moves under %d pinning threads, %d torn\n", moved, THREADS, torn);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: client_test SOCKET\n");
		return 2;
	}
	socket_path = argv[1];
	null_arguments();
	connecting();
	folio_client *c;
	int err = folio_connect(socket_path, NULL, &c);
	CHECK(err == 0, "connect: %d", err);
	if (err == 0) {
		requests(c);
		named_counters(c);
		read_pins(c);
		threads(c);
		folio_close(c);
	}
	named_spaces();
	quotas();
	return check_summary("client_test");
}

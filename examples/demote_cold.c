/*
 * Keeps a small table of records in foliod and demotes what it has not touched lately.
 *
 * 64 records of 4 KiB live in the fast tier. Each round the program reads and updates a few
 * "hot" records; any record untouched for 3 rounds is demoted to the slow tier, and a demoted
 * record that is touched again is promoted back. At the end every record is checked.
 *
 *   cc demote_cold.c $(pkg-config --cflags --libs folio) -o demote_cold
 *   ./demote_cold /run/foliod/foliod.sock
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <folio.h>

enum { RECORDS = 64, ROUNDS = 12, COLD_AFTER = 3 };

struct record {
	uint64_t key;
	uint64_t updates;
	char text[48];
};

/* Runs `update` on record i under a pin, so the folio cannot move while we touch it. */
static int touch(folio_client *c, uint32_t handle, uint64_t key, int update)
{
	void *data;
	size_t length;
	int err = folio_pin(c, handle, &data, &length);
	if (err)
		return err;
	struct record *r = data;
	if (update == 0) {
		r->key = key;
		r->updates = 0;
	} else if (r->key != key) {
		err = -EIO;
	} else {
		r->updates++;
	}
	snprintf(r->text, sizeof(r->text), "record %llu, %llu updates", (unsigned long long)key, (unsigned long long)r->updates);
	folio_unpin(c, handle);
	return err;
}

/* Moves the records in `which` (count of them) to `tier`; how many moved. */
static int move(folio_client *c, const uint32_t *which, uint32_t count, int tier, enum folio_reason why)
{
	int32_t status[RECORDS];
	if (count == 0 || folio_migrate(c, which, count, tier, why, status) != 0)
		return 0;
	int moved = 0;
	for (uint32_t i = 0; i < count; i++)
		moved += status[i] == tier;
	return moved;
}

int main(int argc, char **argv)
{
	const char *socket = argc > 1 ? argv[1] : "run/foliod.sock";
	folio_client *c;
	int err = folio_connect(socket, NULL, &c);
	if (err) {
		fprintf(stderr, "connect %s: %s\n", socket, strerror(-err));
		return 1;
	}
	int fast = folio_tier(c, "fast"), slow = folio_tier_count(c) - 1;
	uint32_t handles[RECORDS];
	int last_touched[RECORDS] = { 0 };
	err = folio_alloc(c, fast < 0 ? 0 : fast, 0, RECORDS, handles);
	for (int i = 0; i < RECORDS && !err; i++)
		err = touch(c, handles[i], 1000 + i, 0);
	int demoted = 0, promoted = 0;
	for (int round = 1; round <= ROUNDS && !err; round++) {
		uint32_t cold[RECORDS], warm[RECORDS], ncold = 0, nwarm = 0;
		/* The hot set drifts: records round*5 .. round*5+7 this round. */
		for (int k = 0; k < 8 && !err; k++) {
			int i = (round * 5 + k) % RECORDS;
			err = touch(c, handles[i], 1000 + i, 1);
			last_touched[i] = round;
			if (folio_tier_of(c, handles[i]) == slow)
				warm[nwarm++] = handles[i];
		}
		for (int i = 0; i < RECORDS; i++) {
			if (round - last_touched[i] >= COLD_AFTER && folio_tier_of(c, handles[i]) != slow)
				cold[ncold++] = handles[i];
		}
		demoted += move(c, cold, ncold, slow, FOLIO_REASON_DEMOTION);
		promoted += move(c, warm, nwarm, fast, FOLIO_REASON_PROMOTION);
	}
	int intact = 0, in_slow = 0;
	for (int i = 0; i < RECORDS && !err; i++) {
		intact += touch(c, handles[i], 1000 + i, 1) == 0;
		in_slow += folio_tier_of(c, handles[i]) == slow;
	}
	if (err)
		fprintf(stderr, "error: %s (%s)\n", strerror(-err), folio_error_message(c));
	printf("%d records: %d demoted, %d promoted, %d in the slow tier now, %d of %d intact\n",
	       RECORDS, demoted, promoted, in_slow, intact, RECORDS);
	folio_close(c);
	return !err && intact == RECORDS && demoted > 0 && promoted > 0 ? 0 : 1;
}

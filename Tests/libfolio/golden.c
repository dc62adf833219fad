/*
 * The golden messages of Documentation/PROTOCOL.md (Tests/FolioProtocolTests/Golden/NAME.hex),
 * checked against libfolio's encoder and decoder: the Swift side checks the same files, so
 * the two implementations and the document cannot drift apart.
 * Usage: golden DIRECTORY
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "wire.h"

static char directory[4096];

/* The bytes of NAME.hex: hex pairs separated by white space; '#' starts a comment line. */
static size_t golden(const char *name, uint8_t *out, size_t cap)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/%s.hex", directory, name);
	FILE *f = fopen(path, "r");
	if (!f) {
		CHECK(f != NULL, "cannot open %s", path);
		return 0;
	}
	char line[1024];
	size_t n = 0;
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#')
			continue;
		for (char *p = strtok(line, " \t\n"); p && n < cap; p = strtok(NULL, " \t\n"))
			out[n++] = (uint8_t)strtoul(p, NULL, 16);
	}
	fclose(f);
	return n;
}

static void expect_request(const char *name, const uint8_t *encoded, size_t length)
{
	uint8_t expected[1024];
	size_t n = golden(name, expected, sizeof(expected));
	CHECK(length == n && memcmp(encoded, expected, n) == 0, "%s: the encoder wrote other bytes (%zu vs %zu)", name, length, n);
}

static void requests(void)
{
	uint8_t out[1024];
	const uint32_t handles[] = { 0, 1, 7 };
	expect_request("request-attach", out, folio_wire_attach(out, sizeof(out), 1, "demo", FOLIO_ATTACH_MARKS_WRITES));
	expect_request("request-allocate", out, folio_wire_allocate(out, sizeof(out), 2, 0, 0, 2));
	expect_request("request-migrate", out, folio_wire_migrate(out, sizeof(out), 3, 1, FOLIO_REASON_DEMOTION, handles, 3));
	expect_request("request-allocate-bad-tier", out, folio_wire_allocate(out, sizeof(out), 4, 5, 0, 1));
	expect_request("request-destroy", out, folio_wire_destroy(out, sizeof(out), 5));
	expect_request("request-stats", out, folio_wire_stats(out, sizeof(out), 6));
}

/* Parses golden reply NAME, checking its kind and request id. */
static int reply(const char *name, uint8_t *bytes, uint16_t kind, uint32_t id, struct folio_wire_reply *r)
{
	size_t n = golden(name, bytes, 1024);
	int err = folio_wire_parse(bytes, n, r);
	CHECK(err == 0 && r->kind == kind && r->id == id, "%s: parse %d kind %#x id %u", name, err, r->kind, r->id);
	return err;
}

/* What folio_wire_counters handed out: "name=value " each; stops at counter stop_at (if set). */
struct seen {
	int count, stop_at;
	char names[256];
};

static int record(const uint8_t *name, uint16_t length, uint64_t value, void *arg)
{
	struct seen *s = arg;
	if (s->count == 0)
		s->names[0] = '\0';
	size_t used = strlen(s->names);
	snprintf(s->names + used, sizeof(s->names) - used, "%.*s=%llu ", (int)length, (const char *)name, (unsigned long long)value);
	s->count++;
	return s->count == s->stop_at ? s->count : 0;
}

static void replies(void)
{
	uint8_t bytes[1024];
	struct folio_wire_reply r;
	if (reply("reply-attached", bytes, FOLIO_WIRE_ATTACHED, 1, &r) == 0) {
		struct folio_wire_tier tiers[4];
		uint32_t space;
		uint16_t count;
		int err = folio_wire_attached(&r, &space, &count, tiers, 4);
		CHECK(err == 0 && space == 1 && count == 2, "attached: %d space %u tiers %u", err, space, count);
		CHECK(tiers[0].name_length == 4 && memcmp(tiers[0].name, "fast", 4) == 0 && tiers[0].size == 64 << 20, "tier 0");
		CHECK(tiers[1].name_length == 4 && memcmp(tiers[1].name, "slow", 4) == 0 && tiers[1].size == 64 << 20, "tier 1");
		CHECK(folio_wire_attached(&r, &space, &count, tiers, 1) == -EBADMSG, "more tiers than room is refused");
	}
	if (reply("reply-allocated", bytes, FOLIO_WIRE_ALLOCATED, 2, &r) == 0) {
		uint32_t handles[2];
		CHECK(folio_wire_words(&r, 2, handles) == 0 && handles[0] == 0 && handles[1] == 1, "allocated 0, 1");
		CHECK(folio_wire_words(&r, 3, handles) == -EBADMSG, "a count other than asked is refused");
	}
	if (reply("reply-migrated", bytes, FOLIO_WIRE_MIGRATED, 3, &r) == 0) {
		uint64_t times[3];
		uint32_t batches;
		int32_t status[3];
		int err = folio_wire_migrated(&r, times, &batches, 3, status);
		CHECK(err == 0 && times[0] == 47129 && times[1] == 36021 && times[2] == 7562 && batches == 1, "migrated times");
		CHECK(status[0] == 1 && status[1] == 1 && status[2] == -ENOENT, "migrated statuses %d %d %d", status[0], status[1], status[2]);
	}
	if (reply("reply-error", bytes, FOLIO_WIRE_ERROR, 4, &r) == 0) {
		int32_t error;
		char message[64];
		int err = folio_wire_error(&r, &error, message, sizeof(message));
		CHECK(err == 0 && error == EINVAL && strcmp(message, "allocate") == 0, "error EINVAL allocate");
	}
	reply("reply-destroyed", bytes, FOLIO_WIRE_DESTROYED, 5, &r);
	CHECK(r.length == 0, "destroyed has no payload");
	if (reply("reply-stats", bytes, FOLIO_WIRE_STATS_REPLY, 6, &r) == 0) {
		struct folio_stats s;
		int err = folio_wire_stats_reply(&r, &s);
		CHECK(err == 0 && strcmp(s.migrator, "mtcopy") == 0 && s.batches == 1 && s.folios_migrated == 2, "stats");
		CHECK(s.folios_failed == 0 && s.bytes_copied == 0, "an unknown counter (tier.fast.free_bytes) is skipped");
		struct seen seen = { 0 };
		CHECK(folio_wire_counters(&r, record, &seen) == 0 && seen.count == 3, "three counters walked: %d", seen.count);
		CHECK(strcmp(seen.names, "batches=1 folios_migrated=2 tier.fast.free_bytes=67108864 ") == 0, "by name, in order: %s", seen.names);
		seen.count = 0;
		seen.stop_at = 2;
		CHECK(folio_wire_counters(&r, record, &seen) == 2 && seen.count == 2, "a non-zero return ends the walk");
	}
}

/* Every golden reply with one byte changed, or cut short, must never be accepted as it was. */
static void damaged(void)
{
	uint8_t bytes[1024];
	size_t n = golden("reply-migrated", bytes, sizeof(bytes));
	struct folio_wire_reply r;
	for (size_t cut = 0; cut < n; cut++)
		CHECK(folio_wire_parse(bytes, cut, &r) == -EBADMSG, "a message cut to %zu bytes", cut);
	bytes[4] = 2;
	CHECK(folio_wire_parse(bytes, n, &r) == -EPROTONOSUPPORT, "another version");
	bytes[4] = 1;
	bytes[0] ^= 1;
	CHECK(folio_wire_parse(bytes, n, &r) == -EBADMSG, "bad magic");
	bytes[0] ^= 1;
	bytes[44] = 4; /* the status count (after the header, three times and the batches): past the payload */
	uint64_t times[3];
	uint32_t batches;
	int32_t status[4];
	CHECK(folio_wire_parse(bytes, n, &r) == 0 && folio_wire_migrated(&r, times, &batches, 4, status) == -EBADMSG, "an array longer than the payload");
	uint8_t out[64];
	CHECK(folio_wire_attach(out, sizeof(out), 1, "demo", FOLIO_ATTACH_MARKS_WRITES) > 0 && folio_wire_attach(out, 20, 1, "demo", FOLIO_ATTACH_MARKS_WRITES) == 0, "an encoder never writes past its buffer");
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: golden DIRECTORY\n");
		return 2;
	}
	snprintf(directory, sizeof(directory), "%s", argv[1]);
	requests();
	replies();
	damaged();
	return check_summary("golden");
}

/*
 * The wire format of Documentation/PROTOCOL.md sections 2-4: requests encoded into a caller's
 * buffer, replies checked and decoded. No I/O and no allocation here, so the golden-message
 * test drives it directly.
 */
#ifndef FOLIO_WIRE_H
#define FOLIO_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "folio.h"

#define FOLIO_WIRE_MAGIC 0x464F4C49u
#define FOLIO_WIRE_VERSION 1
#define FOLIO_WIRE_HEADER_BYTES 16
#define FOLIO_WIRE_MAX_BYTES 131072
/* The attach feature bit we send: our write pins mark the entry, our read pins count in the
 * pin word's high half. */
#define FOLIO_ATTACH_MARKS_WRITES 1u
/* PROTOCOL.md section 10: a program space's request connection, and its runtime's channel. */
#define FOLIO_ATTACH_MAPS_UNPINNED 2u
#define FOLIO_ATTACH_RUNTIME_CHANNEL 4u

enum folio_wire_kind {
	FOLIO_WIRE_ATTACH = 1,
	FOLIO_WIRE_ALLOCATE = 2,
	FOLIO_WIRE_FREE = 3,
	FOLIO_WIRE_MIGRATE = 4,
	FOLIO_WIRE_STATS = 5,
	FOLIO_WIRE_DESTROY = 6,
	FOLIO_WIRE_ATTACHED = 0x81,
	FOLIO_WIRE_ALLOCATED = 0x82,
	FOLIO_WIRE_FREED = 0x83,
	FOLIO_WIRE_MIGRATED = 0x84,
	FOLIO_WIRE_STATS_REPLY = 0x85,
	FOLIO_WIRE_DESTROYED = 0x86,
	FOLIO_WIRE_ERROR = 0xFF,
	/* The daemon's calls on a runtime channel, and the runtime's answers (section 10). */
	FOLIO_WIRE_REVOKE = 0x40,
	FOLIO_WIRE_REMAP = 0x41,
	FOLIO_WIRE_RESTORE = 0x42,
	FOLIO_WIRE_REVOKED = 0xC0,
	FOLIO_WIRE_REMAPPED = 0xC1,
};

/* Requests: each writes the whole message into out[0..cap) and returns its length, or 0 if
 * it does not fit (or breaks a limit: a name over 255 bytes, more than 16,384 handles). */
/* `features` 0 sends no feature word: the attach of a client from before them. */
size_t folio_wire_attach(uint8_t *out, size_t cap, uint32_t id, const char *name, uint32_t features);
size_t folio_wire_allocate(uint8_t *out, size_t cap, uint32_t id, uint16_t tier, uint8_t order, uint32_t count);
size_t folio_wire_free(uint8_t *out, size_t cap, uint32_t id, const uint32_t *handles, uint32_t count);
size_t folio_wire_migrate(uint8_t *out, size_t cap, uint32_t id, uint16_t tier, uint8_t reason,
			  const uint32_t *handles, uint32_t count);
size_t folio_wire_stats(uint8_t *out, size_t cap, uint32_t id);
size_t folio_wire_destroy(uint8_t *out, size_t cap, uint32_t id);

/* A reply whose header checked out: its kind, request id and payload. */
struct folio_wire_reply {
	uint16_t kind;
	uint32_t id;
	const uint8_t *payload;
	size_t length;
};

/* Checks the header: -EBADMSG (bad magic, a length that does not match, a short message),
 * -EPROTONOSUPPORT (another version); 0 and *out filled otherwise. */
int folio_wire_parse(const uint8_t *message, size_t length, struct folio_wire_reply *out);

/* One tier of an `attached` reply; `name` points into the reply and is not terminated. */
struct folio_wire_tier {
	const uint8_t *name;
	uint16_t name_length;
	uint64_t size;
};

/* Decoders: 0, or -EBADMSG if the payload is not exactly what the kind lists. */
int folio_wire_attached(const struct folio_wire_reply *r, uint32_t *space, uint16_t *tier_count,
			struct folio_wire_tier *tiers, uint16_t tier_capacity);
/* An array of exactly `count` 32-bit words (handles, or statuses). */
int folio_wire_words(const struct folio_wire_reply *r, uint32_t count, uint32_t *words);
int folio_wire_migrated(const struct folio_wire_reply *r, uint64_t times_ns[3], uint32_t *batches,
			uint32_t count, int32_t *status);
int folio_wire_stats_reply(const struct folio_wire_reply *r, struct folio_stats *out);
/* Calls each(name, length, value, arg) for every counter of a stats reply, in its order, once
 * the whole payload has checked out (for a malformed one it calls nothing: -EBADMSG). A
 * non-zero return of `each` ends the walk and is returned; 0 once every counter was seen. */
typedef int (*folio_wire_counter_fn)(const uint8_t *name, uint16_t length, uint64_t value, void *arg);
int folio_wire_counters(const struct folio_wire_reply *r, folio_wire_counter_fn each, void *arg);
/* A runtime channel's calls: the handles of a revoke or a restore (at most `cap`), and the handles and
 * wheres of a remap. 0, or -EBADMSG (the payload is not exactly the kind's, or holds more
 * than cap entries). */
int folio_wire_revoke(const struct folio_wire_reply *r, uint32_t *handles, uint32_t cap, uint32_t *count);
int folio_wire_remap(const struct folio_wire_reply *r, uint32_t *handles, uint64_t *wheres, uint32_t cap,
		     uint32_t *count);
/* The runtime's answers: `revoked` (nothing) and `remapped` (one status per folio). */
size_t folio_wire_revoked(uint8_t *out, size_t cap, uint32_t id);
size_t folio_wire_remapped(uint8_t *out, size_t cap, uint32_t id, const int32_t *status, uint32_t count);
/* `message` gets at most message_cap - 1 bytes and a terminating NUL. */
int folio_wire_error(const struct folio_wire_reply *r, int32_t *error, char *message, size_t message_cap);

#endif /* FOLIO_WIRE_H */

#include "wire.h"

#include <errno.h>
#include <string.h>

/* A bounded little-endian writer: an overflow sticks, and the message is then refused. */
struct writer {
	uint8_t *out;
	size_t cap, length;
	int overflow;
};

static void put_bytes(struct writer *w, const void *bytes, size_t n)
{
	if (w->overflow || w->cap - w->length < n) {
		w->overflow = 1;
		return;
	}
	memcpy(w->out + w->length, bytes, n);
	w->length += n;
}

static void put_le(struct writer *w, uint64_t value, size_t width)
{
	uint8_t bytes[8];
	for (size_t i = 0; i < width; i++)
		bytes[i] = (uint8_t)(value >> (8 * i));
	put_bytes(w, bytes, width);
}

static void put_words(struct writer *w, const uint32_t *words, uint32_t count)
{
	put_le(w, count, 4);
	for (uint32_t i = 0; i < count; i++)
		put_le(w, words[i], 4);
}

/* Starts a message; finish() fills in the payload length once the payload is written. */
static struct writer start(uint8_t *out, size_t cap, uint16_t kind, uint32_t id)
{
	struct writer w = { out, cap < FOLIO_WIRE_MAX_BYTES ? cap : FOLIO_WIRE_MAX_BYTES, 0, 0 };
	put_le(&w, FOLIO_WIRE_MAGIC, 4);
	put_le(&w, FOLIO_WIRE_VERSION, 2);
	put_le(&w, kind, 2);
	put_le(&w, id, 4);
	put_le(&w, 0, 4);
	return w;
}

static size_t finish(struct writer *w)
{
	if (w->overflow)
		return 0;
	uint32_t payload = (uint32_t)(w->length - FOLIO_WIRE_HEADER_BYTES);
	for (int i = 0; i < 4; i++)
		w->out[12 + i] = (uint8_t)(payload >> (8 * i));
	return w->length;
}

size_t folio_wire_attach(uint8_t *out, size_t cap, uint32_t id, const char *name, uint32_t features)
{
	size_t n = name ? strlen(name) : 0;
	if (n > FOLIO_NAME_MAX)
		return 0;
	struct writer w = start(out, cap, FOLIO_WIRE_ATTACH, id);
	put_le(&w, n, 2);
	put_bytes(&w, name, n);
	if (features)
		put_le(&w, features, 4);
	return finish(&w);
}

size_t folio_wire_allocate(uint8_t *out, size_t cap, uint32_t id, uint16_t tier, uint8_t order, uint32_t count)
{
	struct writer w = start(out, cap, FOLIO_WIRE_ALLOCATE, id);
	put_le(&w, tier, 2);
	put_le(&w, order, 1);
	put_le(&w, count, 4);
	return finish(&w);
}

size_t folio_wire_free(uint8_t *out, size_t cap, uint32_t id, const uint32_t *handles, uint32_t count)
{
	if (count > FOLIO_MAX_HANDLES)
		return 0;
	struct writer w = start(out, cap, FOLIO_WIRE_FREE, id);
	put_words(&w, handles, count);
	return finish(&w);
}

size_t folio_wire_migrate(uint8_t *out, size_t cap, uint32_t id, uint16_t tier, uint8_t reason,
			  const uint32_t *handles, uint32_t count)
{
	if (count > FOLIO_MAX_HANDLES)
		return 0;
	struct writer w = start(out, cap, FOLIO_WIRE_MIGRATE, id);
	put_le(&w, tier, 2);
	put_le(&w, reason, 1);
	put_words(&w, handles, count);
	return finish(&w);
}

size_t folio_wire_stats(uint8_t *out, size_t cap, uint32_t id)
{
	struct writer w = start(out, cap, FOLIO_WIRE_STATS, id);
	return finish(&w);
}

size_t folio_wire_destroy(uint8_t *out, size_t cap, uint32_t id)
{
	struct writer w = start(out, cap, FOLIO_WIRE_DESTROY, id);
	return finish(&w);
}

/* A bounded reader: any read past the end sets `bad`, and the decoder answers -EBADMSG. */
struct reader {
	const uint8_t *p;
	size_t length, at;
	int bad;
};

static uint64_t get_le(struct reader *r, size_t width)
{
	if (r->bad || r->length - r->at < width) {
		r->bad = 1;
		return 0;
	}
	uint64_t value = 0;
	for (size_t i = 0; i < width; i++)
		value |= (uint64_t)r->p[r->at + i] << (8 * i);
	r->at += width;
	return value;
}

/* A length-prefixed string: a pointer into the message and its length. */
static const uint8_t *get_string(struct reader *r, uint16_t *length)
{
	*length = (uint16_t)get_le(r, 2);
	if (r->bad || r->length - r->at < *length) {
		r->bad = 1;
		*length = 0;
		return NULL;
	}
	const uint8_t *s = r->p + r->at;
	r->at += *length;
	return s;
}

static struct reader payload(const struct folio_wire_reply *r)
{
	struct reader reader = { r->payload, r->length, 0, 0 };
	return reader;
}

/* Every byte read and none missing. */
static int done(const struct reader *r)
{
	return r->bad || r->at != r->length ? -EBADMSG : 0;
}

int folio_wire_parse(const uint8_t *message, size_t length, struct folio_wire_reply *out)
{
	if (!message || length < FOLIO_WIRE_HEADER_BYTES || length > FOLIO_WIRE_MAX_BYTES)
		return -EBADMSG;
	struct reader r = { message, length, 0, 0 };
	uint32_t magic = (uint32_t)get_le(&r, 4);
	uint16_t version = (uint16_t)get_le(&r, 2);
	out->kind = (uint16_t)get_le(&r, 2);
	out->id = (uint32_t)get_le(&r, 4);
	uint32_t declared = (uint32_t)get_le(&r, 4);
	if (magic != FOLIO_WIRE_MAGIC || declared != length - FOLIO_WIRE_HEADER_BYTES)
		return -EBADMSG;
	if (version != FOLIO_WIRE_VERSION && out->kind != FOLIO_WIRE_ERROR)
		return -EPROTONOSUPPORT;
	out->payload = message + FOLIO_WIRE_HEADER_BYTES;
	out->length = declared;
	return 0;
}

int folio_wire_attached(const struct folio_wire_reply *r, uint32_t *space, uint16_t *tier_count,
			struct folio_wire_tier *tiers, uint16_t tier_capacity)
{
	if (r->kind != FOLIO_WIRE_ATTACHED)
		return -EBADMSG;
	struct reader p = payload(r);
	*space = (uint32_t)get_le(&p, 4);
	*tier_count = (uint16_t)get_le(&p, 2);
	if (*tier_count > tier_capacity)
		return -EBADMSG;
	for (uint16_t i = 0; i < *tier_count && !p.bad; i++) {
		tiers[i].name = get_string(&p, &tiers[i].name_length);
		tiers[i].size = get_le(&p, 8);
	}
	return done(&p);
}

int folio_wire_words(const struct folio_wire_reply *r, uint32_t count, uint32_t *words)
{
	struct reader p = payload(r);
	if (get_le(&p, 4) != count)
		return -EBADMSG;
	for (uint32_t i = 0; i < count && !p.bad; i++)
		words[i] = (uint32_t)get_le(&p, 4);
	return done(&p);
}

int folio_wire_migrated(const struct folio_wire_reply *r, uint64_t times_ns[3], uint32_t *batches,
			uint32_t count, int32_t *status)
{
	if (r->kind != FOLIO_WIRE_MIGRATED)
		return -EBADMSG;
	struct reader p = payload(r);
	for (int i = 0; i < 3; i++)
		times_ns[i] = get_le(&p, 8);
	*batches = (uint32_t)get_le(&p, 4);
	if (get_le(&p, 4) != count)
		return -EBADMSG;
	for (uint32_t i = 0; i < count && !p.bad; i++)
		status[i] = (int32_t)(uint32_t)get_le(&p, 4);
	return done(&p);
}

/* folio.h promises that the struct never grows: a new counter is read with folio_stat. */
_Static_assert(sizeof(struct folio_stats) == 9 * sizeof(uint64_t) + 32, "struct folio_stats is frozen");

/* Where each counter of the frozen struct folio_stats goes; every other name is skipped
 * (folio_stat reads those by name). */
static uint64_t *counter_field(struct folio_stats *s, const uint8_t *name, uint16_t length)
{
	static const struct { const char *name; size_t offset; } fields[] = {
		{ "batches", offsetof(struct folio_stats, batches) },
		{ "folios_migrated", offsetof(struct folio_stats, folios_migrated) },
		{ "folios_failed", offsetof(struct folio_stats, folios_failed) },
		{ "folios_busy", offsetof(struct folio_stats, folios_busy) },
		{ "bytes_copied", offsetof(struct folio_stats, bytes_copied) },
		{ "unmap_ns", offsetof(struct folio_stats, unmap_ns) },
		{ "copy_ns", offsetof(struct folio_stats, copy_ns) },
		{ "move_ns", offsetof(struct folio_stats, move_ns) },
		{ "fallbacks", offsetof(struct folio_stats, fallbacks) },
	};
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		if (strlen(fields[i].name) == length && memcmp(fields[i].name, name, length) == 0)
			return (uint64_t *)((char *)s + fields[i].offset);
	}
	return NULL;
}

/* One pass over a stats reply: the migrator, then every counter to `each` (when there is one)
 * until it returns non-zero. */
static int walk_counters(const struct folio_wire_reply *r, folio_wire_counter_fn each, void *arg)
{
	struct reader p = payload(r);
	uint16_t length;
	get_string(&p, &length);
	uint16_t count = (uint16_t)get_le(&p, 2);
	for (uint16_t i = 0; i < count && !p.bad; i++) {
		const uint8_t *name = get_string(&p, &length);
		uint64_t value = get_le(&p, 8);
		int stop = p.bad || !each ? 0 : each(name, length, value, arg);
		if (stop != 0)
			return stop;
	}
	return done(&p);
}

int folio_wire_counters(const struct folio_wire_reply *r, folio_wire_counter_fn each, void *arg)
{
	if (r->kind != FOLIO_WIRE_STATS_REPLY)
		return -EBADMSG;
	/* The whole payload first: a malformed reply hands out no counter at all. */
	int err = walk_counters(r, NULL, NULL);
	return err != 0 ? err : walk_counters(r, each, arg);
}

static int set_field(const uint8_t *name, uint16_t length, uint64_t value, void *stats)
{
	uint64_t *field = counter_field(stats, name, length);
	if (field)
		*field = value;
	return 0;
}

int folio_wire_stats_reply(const struct folio_wire_reply *r, struct folio_stats *out)
{
	memset(out, 0, sizeof(*out));
	int err = folio_wire_counters(r, set_field, out);
	if (err != 0)
		return err;
	struct reader p = payload(r);
	uint16_t length;
	const uint8_t *migrator = get_string(&p, &length);
	size_t n = length < sizeof(out->migrator) - 1 ? length : sizeof(out->migrator) - 1;
	memcpy(out->migrator, migrator, n);
	return 0;
}

int folio_wire_error(const struct folio_wire_reply *r, int32_t *error, char *message, size_t message_cap)
{
	if (r->kind != FOLIO_WIRE_ERROR || message_cap == 0)
		return -EBADMSG;
	struct reader p = payload(r);
	*error = (int32_t)(uint32_t)get_le(&p, 4);
	uint16_t length;
	const uint8_t *text = get_string(&p, &length);
	size_t n = length < message_cap - 1 ? length : message_cap - 1;
	if (text)
		memcpy(message, text, n);
	message[text ? n : 0] = '\0';
	return done(&p);
}

int folio_wire_revoke(const struct folio_wire_reply *r, uint32_t *handles, uint32_t cap, uint32_t *count)
{
	if (r->kind != FOLIO_WIRE_REVOKE && r->kind != FOLIO_WIRE_RESTORE)
		return -EBADMSG;
	struct reader p = payload(r);
	*count = (uint32_t)get_le(&p, 4);
	if (*count > cap)
		return -EBADMSG;
	for (uint32_t i = 0; i < *count && !p.bad; i++)
		handles[i] = (uint32_t)get_le(&p, 4);
	return done(&p);
}

int folio_wire_remap(const struct folio_wire_reply *r, uint32_t *handles, uint64_t *wheres, uint32_t cap,
		     uint32_t *count)
{
	if (r->kind != FOLIO_WIRE_REMAP)
		return -EBADMSG;
	struct reader p = payload(r);
	*count = (uint32_t)get_le(&p, 4);
	if (*count > cap)
		return -EBADMSG;
	for (uint32_t i = 0; i < *count && !p.bad; i++) {
		handles[i] = (uint32_t)get_le(&p, 4);
		wheres[i] = get_le(&p, 8);
	}
	return done(&p);
}

size_t folio_wire_revoked(uint8_t *out, size_t cap, uint32_t id)
{
	struct writer w = start(out, cap, FOLIO_WIRE_REVOKED, id);
	return finish(&w);
}

size_t folio_wire_remapped(uint8_t *out, size_t cap, uint32_t id, const int32_t *status, uint32_t count)
{
	struct writer w = start(out, cap, FOLIO_WIRE_REMAPPED, id);
	put_words(&w, (const uint32_t *)status, count);
	return finish(&w);
}

/* The client's state, shared by the request half (client.c) and the pin half (pin.c). */
#ifndef FOLIO_CLIENT_H
#define FOLIO_CLIENT_H

#include <pthread.h>
#include <stdint.h>

#include "folio.h"

/* The shared folio table and pin table (PROTOCOL.md section 5). */
#define FOLIO_TABLE_ENTRIES 65536u
#define FOLIO_ENTRY_BYTES 64u
#define FOLIO_TABLE_BYTES (FOLIO_TABLE_ENTRIES * FOLIO_ENTRY_BYTES)
#define FOLIO_PIN_TABLE_BYTES (FOLIO_TABLE_ENTRIES * 4u)
/* A pin word counts write pins in its low half, read pins in its high half. */
#define FOLIO_WRITE_PIN 1u
#define FOLIO_WRITE_PIN_MASK 0xFFFFu
#define FOLIO_READ_PIN 0x10000u
#define FOLIO_READ_PIN_MASK 0xFFFF0000u
/* More tiers than any daemon is configured with; an attach reply naming more is refused. */
#define FOLIO_MAX_TIERS 64

/* One folio table entry as the daemon lays it out. */
struct folio_entry {
	uint32_t seq;      /* even: stable; odd: migrating. The futex word. */
	uint32_t accesses; /* pins since the daemon last read it: the folio's heat */
	uint8_t state;     /* 0 free, 1 allocated */
	uint8_t pad0;
	uint8_t order;
	uint8_t pad1;
	uint32_t waiters;  /* pinners asleep on seq */
	uint64_t where;    /* tier << 56 | byte offset */
	uint32_t writes;   /* write pins taken, ever: a write pin adds one (PROTOCOL.md section 6) */
	uint8_t pad2[36];
};

/* A received message and its fds (client.c). */
struct received;

struct folio_tier {
	char name[FOLIO_NAME_MAX + 1];
	uint64_t size;
	uint8_t *base;
};

struct folio_client {
	int fd;
	/* Held for a whole request: one request in flight per connection. Guards the fields below
	 * it; everything above is set once by folio_connect. */
	pthread_mutex_t lock;
	uint32_t next_id;
	int attached;       /* cleared by folio_destroy: the daemon stops counting our pins */
	char error[256];    /* the daemon's last error message */
	uint8_t *out;       /* the request being sent, FOLIO_WIRE_MAX_BYTES */
	struct received *in; /* the reply and its fds */

	uint32_t space;
	int tier_count;
	struct folio_tier tiers[FOLIO_MAX_TIERS];
	struct folio_entry *table;
	uint32_t *pins;
	/* folio_connect_features' flags, and the tier memfds it kept (-1: none kept). */
	unsigned connect_flags;
	int tier_fds[FOLIO_MAX_TIERS];
};

/*
 * Internal (not in libfolio.map): folio_connect with the attach feature word chosen by the
 * caller, sent as is (no retry without it), for the preload runtime (libfolio/run), which
 * attaches program spaces (maps_unpinned) and channels (runtime_channel, PROTOCOL.md
 * section 10). FOLIO_CONNECT_KEEP_FDS keeps a CLOEXEC copy of each tier memfd in
 * c->tier_fds (folio_close closes them); FOLIO_CONNECT_NO_TIER_MAPS maps the folio and pin
 * tables only, not the tiers (folio_pin cannot be used then).
 */
#define FOLIO_CONNECT_KEEP_FDS 1u
#define FOLIO_CONNECT_NO_TIER_MAPS 2u
int folio_connect_features(const char *socket_path, const char *space, uint32_t features,
			   unsigned flags, folio_client **out);

/* 1 if the daemon hung up (or the socket failed), 0 if it is still there. */
int folio_daemon_gone(folio_client *c);

#endif /* FOLIO_CLIENT_H */

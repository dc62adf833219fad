/*
 * libfolio: keep data in foliod from C.
 *
 * A client is one connection to the daemon, attached to one address space (a new anonymous
 * one, or a named one that outlives the connection). Folios are allocated in a tier, reached
 * through a pin, migrated between tiers and freed. Documentation/PROTOCOL.md describes what
 * travels on the socket and in the shared tables; this library is one reading of it.
 *
 * Return values: every function returns 0 (or the value its comment names) on success and a
 * negative errno on failure: -EINVAL for a bad argument, the daemon's errno for a refused
 * request (PROTOCOL.md section 7), -EBADMSG for a reply that breaks the protocol, the failed
 * call's errno otherwise. No input aborts, crashes or leaks, not even from whatever answers
 * at the socket path: a reply is checked whole (its descriptors fstat'ed against the sizes
 * they are mapped with, every handle, tier index and errno in range) before anything in it is
 * used, and a refused one leaves no descriptor open and nothing mapped. After -EBADMSG the
 * output arrays of that call hold nothing usable. folio_error_message() says what the daemon
 * answered last.
 *
 * Thread safety: one client may be used from any number of threads at once. Requests
 * (everything but folio_pin and folio_unpin) take the client's lock and wait for each other:
 * one request is in flight per connection. folio_pin and folio_unpin take no lock. A client
 * must not be used after folio_close, and folio_close must not race with other calls on it.
 *
 * Link with `pkg-config --cflags --libs folio`; libfolio needs only libc.
 */
#ifndef FOLIO_H
#define FOLIO_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FOLIO_MAX_HANDLES 16384   /* handles per allocate, free or migrate request */
#define FOLIO_MAX_ORDER 9         /* a folio is 4096 << order bytes */
#define FOLIO_NAME_MAX 255        /* bytes in a space name */

typedef struct folio_client folio_client;

/* Why a folio moves; migration/reason_mask decides which reasons may use the offload migrator. */
enum folio_reason {
	FOLIO_REASON_SYSCALL = 0,
	FOLIO_REASON_DEMOTION = 1,
	FOLIO_REASON_PROMOTION = 2,
	FOLIO_REASON_COMPACTION = 3,
};

/*
 * The daemon's first counters (the migration/stats/ knobs), summed over every client.
 * Frozen: this struct never grows, so that a program built against any version of this header
 * passes a struct of the size libfolio writes. Every other counter the daemon sends
 * (copy_faults, the migrators', tiering.*, tier.<name>.*) is read by name with folio_stat.
 */
struct folio_stats {
	uint64_t batches;          /* batches copied */
	uint64_t folios_migrated;  /* folios moved */
	uint64_t folios_failed;    /* folios left in place: no room in the target, no such folio */
	uint64_t folios_busy;      /* folios left in place because a pin was held */
	uint64_t bytes_copied;
	uint64_t unmap_ns, copy_ns, move_ns;  /* time spent in each step of the pipeline */
	uint64_t fallbacks;        /* folios the offload migrator handed back to the serial copy */
	char migrator[32];         /* the migrator copying now: "kernel", "mtcopy" or "dcbm" */
};

/*
 * Connects to the daemon at socket_path and attaches to the space called `space` (created if
 * missing; only its creator's uid may attach it), or to a new anonymous space when `space` is
 * NULL. On success *out is the client. -EACCES: not allowed to connect or not the space's
 * owner; -EUSERS: too many sessions; -EINVAL: a bad name; -ECONNREFUSED/-ENOENT: no daemon;
 * -EBADMSG: an attach reply libfolio cannot trust (more than 64 tiers, a descriptor missing,
 * one that is not a regular file or is shorter than the reply says).
 */
int folio_connect(const char *socket_path, const char *space, folio_client **out);

/* Closes the connection and unmaps everything; pins still held stop counting. NULL is a no-op. */
void folio_close(folio_client *c);

/* The index of the tier called `name`, or -ENOENT. */
int folio_tier(folio_client *c, const char *name);

/* How many tiers the daemon has; tiers are numbered 0 to count - 1, fastest first by convention. */
int folio_tier_count(folio_client *c);

/* The name of tier `tier` (valid until folio_close), or NULL for no such tier. */
const char *folio_tier_name(folio_client *c, int tier);

/*
 * Allocates `count` folios of 4096 << order bytes in tier `tier` and stores their handles in
 * handles[0..count-1]. All or nothing. -ENOMEM: the tier is full; -EDQUOT: past a quota.
 */
int folio_alloc(folio_client *c, int tier, unsigned order, uint32_t count, uint32_t *handles);

/* Frees `count` folios; status[i] (if status is not NULL) is 0 or -ENOENT / -EBUSY. */
int folio_free(folio_client *c, const uint32_t *handles, uint32_t count, int32_t *status);

/*
 * Moves `count` folios to tier `target_tier`. status[i] (if not NULL) is the tier handle i is
 * in now (>= 0), or -ENOENT (no such folio), -ENOMEM (the target is full), -EBUSY (pinned
 * throughout). Returns 0 when the request was served, whatever the per-folio outcomes.
 */
int folio_migrate(folio_client *c, const uint32_t *handles, uint32_t count, int target_tier,
		  enum folio_reason reason, int32_t *status);

/*
 * Pins a folio for writing: until folio_unpin it does not move, and *data (length *length) is
 * its bytes, readable and writable. Pins nest and may be taken from any thread. Waits while the
 * folio is migrating. Each pin counts one access, which the daemon's tiering policy ranks
 * folios by. -ENOENT: no such folio; -ENOTCONN: the daemon died while the folio was migrating;
 * -EOVERFLOW: this client holds 65,535 write pins on the folio already.
 */
int folio_pin(folio_client *c, uint32_t handle, void **data, size_t *length);

/* Releases one write pin on `handle`; -EINVAL if this client holds none on it. */
int folio_unpin(folio_client *c, uint32_t handle);

/*
 * Pins a folio for reading only: *data stays the folio's bytes until folio_unpin_read, but a
 * migration may copy them meanwhile, so the pin never waits for a copy in progress, at most
 * for its commit (a few microseconds). Writing through *data is not allowed: a migration
 * would lose the write. Errors as folio_pin's (-EOVERFLOW past 65,535 read pins). Since FOLIO_3.
 */
int folio_pin_read(folio_client *c, uint32_t handle, const void **data, size_t *length);

/* Releases one read pin on `handle`; -EINVAL if this client holds none on it. Since FOLIO_3. */
int folio_unpin_read(folio_client *c, uint32_t handle);

/* The tier `handle` is in now (>= 0), read from the shared table, or -ENOENT. */
int folio_tier_of(folio_client *c, uint32_t handle);

/* The daemon's counters that struct folio_stats holds; any other counter is skipped. */
int folio_stats(folio_client *c, struct folio_stats *out);

/*
 * One of the daemon's counters by name (PROTOCOL.md section 4: "folios_migrated",
 * "copy_faults", "tiering.demoted", "tier.fast.free_bytes", ...), read with one stats request:
 * 0 and *value set, or -ENOENT if the daemon sends no counter of that name (*value untouched).
 * Since FOLIO_2.
 */
int folio_stat(folio_client *c, const char *name, uint64_t *value);

/*
 * Every counter the daemon sends, in its order, from one stats request: a line "name value\n"
 * per counter (a name has no space or control character: a reply with one is -EBADMSG).
 * Stores at most cap bytes, NUL-terminated when cap > 0, and returns the length of the whole
 * text as snprintf does: a return >= cap means it was cut short, and a call with more room
 * reads a new snapshot (folio_stat_list(c, NULL, 0) only measures). Since FOLIO_2.
 */
int folio_stat_list(folio_client *c, char *buffer, size_t cap);

/*
 * Destroys the attached space: a named space loses its name at once, its memory goes when the
 * last client attached to it closes. The client stays open but can make no request (-ENOTCONN).
 */
int folio_destroy(folio_client *c);

/* What the daemon said with its last error reply to this client ("" if none). */
const char *folio_error_message(folio_client *c);

#ifdef __cplusplus
}
#endif

#endif /* FOLIO_H */

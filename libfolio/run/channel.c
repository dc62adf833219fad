/*
 * The runtime thread: started at the first connect with every signal blocked, it answers the
 * daemon's calls on the channel (PROTOCOL.md section 10) and runs the heat scan. Each call is
 * served whole under the library lock, so the program's munmap and free and the daemon's
 * calls exclude each other. When the channel ends (the daemon died or restarted) it gives
 * write access back to every revoked folio where it is mapped now and stops; the program runs
 * on, on memory nobody moves any more.
 */
#include "run.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "wire.h"

#define MAX_REVOKE ((FOLIO_WIRE_MAX_BYTES - FOLIO_WIRE_HEADER_BYTES - 4) / 4)
#define MAX_REMAP ((FOLIO_WIRE_MAX_BYTES - FOLIO_WIRE_HEADER_BYTES - 4) / 12)

struct buffers {
	uint8_t in[FOLIO_WIRE_MAX_BYTES];
	uint8_t out[FOLIO_WIRE_MAX_BYTES];
	uint32_t handles[MAX_REVOKE];
	uint64_t wheres[MAX_REMAP];
	int32_t status[MAX_REMAP];
};

static long slot_of_handle(uint32_t handle)
{
	if (handle >= FOLIO_TABLE_ENTRIES || run.handle_slot[handle] == 0)
		return -1;
	long s = (long)run.handle_slot[handle] - 1;
	return run.slots[s].kind == SLOT_FOLIO ? s : -1;
}

static void apply_slot(size_t slot)
{
	run_apply_prot(slot * RUN_PAGES_PER_SLOT, (slot + 1) * RUN_PAGES_PER_SLOT);
}

void run_revoke(const uint32_t *handles, uint32_t count)
{
	run_lock();
	for (uint32_t i = 0; i < count; i++) {
		long s = slot_of_handle(handles[i]);
		if (s < 0)
			continue;  /* not mapped: nothing of the program's can write it */
		struct slot *sl = &run.slots[s];
		/* An I/O call in flight pins the folio, as a kernel GUP pin does: it stays
		 * unrevoked, and its remap is EBUSY. The flag is set before `io` is read, and an
		 * I/O call raises `io` before it reads the flag (interpose_io.c): one sees the other. */
		__atomic_fetch_or(&sl->revoked, REVOKED_DAEMON, __ATOMIC_SEQ_CST);
		if (__atomic_load_n(&sl->io, __ATOMIC_SEQ_CST) != 0) {
			__atomic_fetch_and(&sl->revoked, ~REVOKED_DAEMON, __ATOMIC_SEQ_CST);
			raw_futex_wake(&sl->revoked);
			continue;
		}
		if (__atomic_exchange_n(&sl->scan, 0, __ATOMIC_ACQ_REL) != 0)
			raw_futex_wake(&sl->scan);
		apply_slot((size_t)s);
	}
	run_unlock();
}

/* Write access back to a slot whose revoke ends, and its waiters woken. */
static void unrevoke(size_t slot)
{
	struct slot *s = &run.slots[slot];
	__atomic_fetch_and(&s->revoked, ~REVOKED_DAEMON, __ATOMIC_ACQ_REL);
	apply_slot(slot);
	raw_futex_wake(&s->revoked);
}

/* Lock held. One folio of a remap call: its answer. */
int32_t run_remap_one(uint32_t handle, uint64_t where)
{
	long s = slot_of_handle(handle);
	if (s < 0)
		return -ENOENT;
	struct slot *sl = &run.slots[s];
	int32_t status = 0;
	if (where != sl->where) {
		/* Only a folio revoked by this copy's revoke may move: a folio mapped after it was
		 * written meanwhile, and the copy may have missed that. */
		if (!(__atomic_load_n(&sl->revoked, __ATOMIC_ACQUIRE) & REVOKED_DAEMON))
			status = -EBUSY;
		else if (!run_where_valid(where))
			status = -EINVAL;
		else if ((status = run_map_folio((size_t)s, where)) == 0)
			sl->where = where;
		else if (run_map_folio((size_t)s, sl->where) != 0)
			run_debug("remap: the old mapping could not be restored, errno", errno);
		run_relock((size_t)s * RUN_PAGES_PER_SLOT, ((size_t)s + 1) * RUN_PAGES_PER_SLOT);
	}
	unrevoke((size_t)s);
	return status;
}

/* A restore: write access back where each revoked folio is mapped now, nothing mapped. A
 * handle this process no longer maps, or maps again for a new folio that was not revoked,
 * is left alone. */
void run_restore(const uint32_t *handles, uint32_t count)
{
	run_lock();
	for (uint32_t i = 0; i < count; i++) {
		long s = slot_of_handle(handles[i]);
		if (s >= 0 && (__atomic_load_n(&run.slots[s].revoked, __ATOMIC_ACQUIRE) & REVOKED_DAEMON))
			unrevoke((size_t)s);
	}
	run_unlock();
}

void run_channel_lost(void)
{
	run_lock();
	for (size_t s = 0; s < run.slot_top; s++) {
		if (run.slots[s].kind == SLOT_FOLIO && (run.slots[s].revoked & REVOKED_DAEMON))
			unrevoke(s);
	}
	run_scan_disarm_all();
	__atomic_store_n(&run.runtime_alive, 0, __ATOMIC_RELEASE);
	run_unlock();
}

static int answer(int fd, const uint8_t *out, size_t length)
{
	ssize_t n;
	do {
		n = send(fd, out, length, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	return n == (ssize_t)length ? 0 : -1;
}

/* One call: 0, or -1 when the channel is unusable. */
static int serve_call(int fd, struct buffers *b, size_t length)
{
	struct folio_wire_reply r;
	uint32_t count;
	if (folio_wire_parse(b->in, length, &r) != 0)
		return 0;
	if (r.kind == FOLIO_WIRE_REVOKE && folio_wire_revoke(&r, b->handles, MAX_REVOKE, &count) == 0) {
		run_revoke(b->handles, count);
		return answer(fd, b->out, folio_wire_revoked(b->out, sizeof(b->out), r.id));
	}
	if (r.kind == FOLIO_WIRE_RESTORE && folio_wire_revoke(&r, b->handles, MAX_REVOKE, &count) == 0) {
		run_restore(b->handles, count);
		return answer(fd, b->out, folio_wire_revoked(b->out, sizeof(b->out), r.id));
	}
	if (r.kind == FOLIO_WIRE_REMAP && folio_wire_remap(&r, b->handles, b->wheres, MAX_REMAP, &count) == 0) {
		run_lock();
		for (uint32_t i = 0; i < count; i++)
			b->status[i] = run_remap_one(b->handles[i], b->wheres[i]);
		run_unlock();
		return answer(fd, b->out, folio_wire_remapped(b->out, sizeof(b->out), r.id, b->status, count));
	}
	run_debug("channel: a message the runtime does not serve, kind", r.kind);
	return 0;
}

/* Reads what the channel holds: 0, or -1 once it ended. */
static int read_channel(int fd, struct buffers *b)
{
	for (;;) {
		ssize_t n = recv(fd, b->in, sizeof(b->in), MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n <= 0 || serve_call(fd, b, (size_t)n) != 0)
			return -1;
	}
}

static long now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

static void *runtime_main(void *arg)
{
	struct buffers *b = arg;
	long next_scan = now_ms();
	for (;;) {
		int channel = run.channel ? run.channel->fd : -1;
		struct pollfd p[2] = { { .fd = run.event_fd, .events = POLLIN }, { .fd = channel, .events = POLLIN } };
		long wait = next_scan - now_ms();
		int n = poll(p, 2, wait > 0 ? (int)wait : 0);
		if (n > 0 && (p[0].revents & POLLIN)) {
			uint64_t v;
			while (read(run.event_fd, &v, sizeof(v)) == sizeof(v))
				;
			run_scan_serve();
		}
		if (n > 0 && channel >= 0 && p[1].revents && read_channel(channel, b) != 0) {
			run_debug("channel ended", 0);
			run_channel_lost();
			return NULL;
		}
		if (now_ms() >= next_scan) {
			/* The daemon's settings every 2 s; a scan turned on starts within that. */
			run_scan_settings_refresh(b->in, sizeof(b->in));
			run_scan_step();
			next_scan = now_ms() + (run_scan_bytes() > 0 ? run_scan_period_ms() : 2000);
		}
	}
}

int run_start_runtime(void)
{
	if (!run.channel && run_config.scan_bytes == 0)
		return 0;
	struct buffers *b = raw_mmap(NULL, sizeof(*b), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (b == MAP_FAILED)
		return -ENOMEM;
	run.event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (run.event_fd < 0 || run_fd_adopt(&run.event_fd) != 0) {
		raw_munmap(b, sizeof(*b));
		return -EMFILE;
	}
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_t thread;
	__atomic_store_n(&run.runtime_alive, 1, __ATOMIC_RELEASE);
	int err = pthread_create(&thread, &attr, runtime_main, b);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err != 0) {
		__atomic_store_n(&run.runtime_alive, 0, __ATOMIC_RELEASE);
		raw_munmap(b, sizeof(*b));
		return -err;
	}
	return 0;
}

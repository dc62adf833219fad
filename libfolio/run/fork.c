/*
 * fork(). The child must get a private copy of the program's memory, as with the kernel's
 * anonymous memory, but the folios are MAP_SHARED of the daemon's memfds: the child would see
 * the parent's later writes, and the parent the child's. So:
 *
 *  - prepare (parent, the forking thread): takes the library lock and takes write access away
 *    from every folio: the snapshot stays consistent while the child copies it. Parent
 *    threads that write meanwhile wait in the fault handler.
 *  - child: converts every folio region to private anonymous memory at the same address (a
 *    temporary anonymous mapping filled from the memfd, moved over the region with
 *    mremap(MREMAP_FIXED), the program's protection and locks put back), closes the
 *    inherited descriptors of the library without sending anything on the parent's
 *    connections, forgets the daemon (its next large allocation connects afresh, to its own
 *    space run/<its pid>), then tells the parent through a pipe.
 *  - parent: waits for that word (or the child's end), gives write access back, unlocks.
 *
 * What a fork costs: a copy of all the program's foliod memory in the child (about the time of
 * a memcpy of it, plus the page faults of the new anonymous pages), during which the parent's
 * writers to that memory wait. A child that execs at once pays the same: vfork and
 * posix_spawn (which system() and popen use) run no fork handlers and copy nothing.
 */
#include "run.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

void run_scan_reset(void);
void run_lock_reset_child(void);
void run_session_reset_child(void);

static int fork_pipe[2] = { -1, -1 };

static int any_folio(void)
{
	for (size_t s = 0; s < run.slot_top; s++) {
		if (run.slots[s].kind == SLOT_FOLIO)
			return 1;
	}
	return 0;
}

/* Sets or clears `bit` on every folio and recomputes the protection. */
static void mark_all(uint32_t bit, int set)
{
	for (size_t s = 0; s < run.slot_top; s++) {
		struct slot *sl = &run.slots[s];
		if (sl->kind != SLOT_FOLIO)
			continue;
		if (set)
			__atomic_fetch_or(&sl->revoked, bit, __ATOMIC_ACQ_REL);
		else
			__atomic_fetch_and(&sl->revoked, ~bit, __ATOMIC_ACQ_REL);
	}
	run_apply_prot(0, run.slot_top * RUN_PAGES_PER_SLOT);
	for (size_t s = 0; !set && s < run.slot_top; s++) {
		if (run.slots[s].kind == SLOT_FOLIO)
			raw_futex_wake(&run.slots[s].revoked);
	}
}

static void prepare(void)
{
	run_lock();
	fork_pipe[0] = fork_pipe[1] = -1;
	if (!run.end || !any_folio())
		return;
	if (syscall(SYS_pipe2, fork_pipe, O_CLOEXEC) != 0) {
		fork_pipe[0] = fork_pipe[1] = -1;
		return;  /* no way to wait for the child: it copies what it sees */
	}
	mark_all(REVOKED_FORK, 1);
}

static void parent(void)
{
	if (fork_pipe[0] >= 0) {
		raw_close(fork_pipe[1]);
		char c;
		ssize_t n;
		do {
			n = read(fork_pipe[0], &c, 1);
		} while (n < 0 && errno == EINTR);
		raw_close(fork_pipe[0]);
	}
	if (run.end && any_folio())
		mark_all(REVOKED_FORK, 0);
	run_unlock();
}

/* The folio's bytes into `to`, from the memfd (no fault, whatever the protection). */
static void copy_folio(size_t slot, uint8_t *to)
{
	const struct slot *s = &run.slots[slot];
	int fd = run.tier_fd[run_where_tier(s->where)];
	size_t done = 0;
	while (done < RUN_SLOT) {
		ssize_t n = pread(fd, to + done, RUN_SLOT - done, (off_t)(run_where_offset(s->where) + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	if (done < RUN_SLOT) {
		void *from = (void *)run_slot_addr(slot);
		raw_mprotect(from, RUN_SLOT, PROT_READ);
		memcpy(to, from, RUN_SLOT);
	}
}

/* Slots [first, first + count), all folios, become private anonymous memory. */
static void convert(size_t first, size_t count)
{
	size_t bytes = count * RUN_SLOT;
	uint8_t *tmp = raw_mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (tmp == MAP_FAILED)
		return;  /* the child keeps the shared mapping: it sees the parent's writes */
	for (size_t i = 0; i < count; i++)
		copy_folio(first + i, tmp + i * RUN_SLOT);
	void *at = (void *)run_slot_addr(first);
	if (raw_mremap(tmp, bytes, bytes, MREMAP_MAYMOVE | MREMAP_FIXED, at) != at) {
		raw_munmap(tmp, bytes);
		return;
	}
	for (size_t i = 0; i < count; i++) {
		struct slot *s = &run.slots[first + i];
		run.handle_slot[s->handle] = 0;
		s->kind = SLOT_KERNEL;
		s->handle = RUN_NO_HANDLE;
		s->revoked = 0;
		s->scan = 0;
	}
}

static void convert_all(void)
{
	size_t s = 0;
	while (s < run.slot_top) {
		if (run.slots[s].kind != SLOT_FOLIO) {
			s++;
			continue;
		}
		size_t n = 1;
		while (s + n < run.slot_top && run.slots[s + n].kind == SLOT_FOLIO && n < 4096)
			n++;
		convert(s, n);
		s += n;
	}
	run_apply_prot(0, run.slot_top * RUN_PAGES_PER_SLOT);
	run_relock(0, run.slot_top * RUN_PAGES_PER_SLOT);
}

/* The parent's connections are the parent's: close our copies, send nothing. */
static void forget_daemon(void)
{
	run_fd_forget_all();
	for (int i = 0; i < run.tier_count; i++) {
		raw_close(run.tier_fd[i]);
		run.tier_fd[i] = -1;
	}
	if (run.event_fd >= 0)
		raw_close(run.event_fd);
	run.event_fd = -1;
	run_in_library++;
	folio_close(run.requests);
	folio_close(run.channel);
	run_in_library--;
	run.requests = run.channel = NULL;
	run.tier_count = 0;
	__atomic_store_n(&run.runtime_alive, 0, __ATOMIC_RELEASE);
	run_scan_reset();
	if (__atomic_load_n(&run.mode, __ATOMIC_ACQUIRE) == MODE_CONNECTED)
		__atomic_store_n(&run.mode, MODE_UNTRIED, __ATOMIC_RELEASE);
}

static void child(void)
{
	if (run.end)
		convert_all();
	if (run.requests)
		forget_daemon();
	if (fork_pipe[0] >= 0) {
		raw_close(fork_pipe[0]);
		syscall(SYS_write, fork_pipe[1], "c", 1);
		raw_close(fork_pipe[1]);
	}
	run_session_reset_child();
	run_lock_reset_child();
}

void run_fork_init(void)
{
	pthread_atfork(prepare, parent, child);
}

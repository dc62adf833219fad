/*
 * The library's descriptors (the two sockets, the tier memfds, the runtime's eventfd) live at
 * high numbers, CLOEXEC, and the calls that close or replace descriptors leave them alone: a
 * program that closes every descriptor it did not open (daemons do, and test harnesses) must
 * not cut the library off. To the program they are not there: close() of one is EBADF, as for
 * a descriptor never opened; close_range and closefrom skip them; dup2/dup3 onto one first
 * moves ours elsewhere (so the program's call does what it asked), and dup2 from one is EBADF.
 */
#include "run.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))
#define MAX_FDS (FOLIO_MAX_TIERS + 8)

static int *refs[MAX_FDS];
static int fds[MAX_FDS];
static int count;

/* Where ours go: below the soft limit (its last 64), capped so a huge limit does not make
 * the kernel grow the descriptor table to it. */
static int high_fd(int fd)
{
	struct rlimit r;
	long base = 1024;
	if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur != RLIM_INFINITY)
		base = (long)(r.rlim_cur < 65536 ? r.rlim_cur : 65536) - 64;
	for (long b = base; b >= 3; b = b > 256 ? b / 2 : b - 64) {
		int n = fcntl(fd, F_DUPFD_CLOEXEC, (int)b);
		if (n >= 0)
			return n;
		if (errno != EINVAL && errno != EMFILE)
			break;
	}
	return fcntl(fd, F_DUPFD_CLOEXEC, 3);
}

int run_fd_adopt(int *ref)
{
	if (count == MAX_FDS)
		return -EMFILE;
	int n = high_fd(*ref);
	if (n < 0)
		return -errno;
	raw_close(*ref);
	*ref = n;
	refs[count] = ref;
	__atomic_store_n(&fds[count], n, __ATOMIC_RELEASE);
	__atomic_store_n(&count, count + 1, __ATOMIC_RELEASE);
	return 0;
}

void run_fd_forget_all(void)
{
	__atomic_store_n(&count, 0, __ATOMIC_RELEASE);
}

int run_fd_is_ours(int fd)
{
	int n = __atomic_load_n(&count, __ATOMIC_ACQUIRE);
	for (int i = 0; i < n; i++) {
		if (__atomic_load_n(&fds[i], __ATOMIC_ACQUIRE) == fd)
			return 1;
	}
	return 0;
}

/* Ours at `fd` goes to another number, so the program may have this one. */
static int move_away(int fd)
{
	int n = __atomic_load_n(&count, __ATOMIC_ACQUIRE);
	for (int i = 0; i < n; i++) {
		if (fds[i] != fd)
			continue;
		int moved = high_fd(fd);
		if (moved < 0)
			return -1;
		*refs[i] = moved;
		__atomic_store_n(&fds[i], moved, __ATOMIC_RELEASE);
	}
	return 0;
}

EXPORT int close(int fd)
{
	if (run_fd_is_ours(fd)) {
		errno = EBADF;
		return -1;
	}
	return raw_close(fd);
}

static int close_span(unsigned first, unsigned last, unsigned flags)
{
	return first > last ? 0 : (int)syscall(SYS_close_range, first, last, flags);
}

EXPORT int close_range(unsigned first, unsigned last, int flags)
{
	if (first > last) {
		errno = EINVAL;
		return -1;
	}
	unsigned from = first;
	for (;;) {
		/* The lowest of ours in [from, last]. */
		unsigned next = last;
		int found = 0, n = __atomic_load_n(&count, __ATOMIC_ACQUIRE);
		for (int i = 0; i < n; i++) {
			unsigned f = (unsigned)fds[i];
			if (f >= from && f <= last && (!found || f < next)) {
				next = f;
				found = 1;
			}
		}
		if (!found)
			return close_span(from, last, (unsigned)flags);
		if (next > from && close_span(from, next - 1, (unsigned)flags) != 0)
			return -1;
		if (next == last)
			return 0;
		from = next + 1;
	}
}

EXPORT void closefrom(int low)
{
	if (low < 0)
		low = 0;
	close_range((unsigned)low, ~0u, 0);
}

static int replace(int old, int new, int flags)
{
	if (run_fd_is_ours(old)) {
		errno = EBADF;
		return -1;
	}
	if (run_fd_is_ours(new) && move_away(new) != 0)
		return -1;
	return (int)syscall(SYS_dup3, old, new, flags);
}

EXPORT int dup2(int old, int new)
{
	if (old == new) {
		if (run_fd_is_ours(old) || fcntl(old, F_GETFD) < 0) {
			errno = EBADF;
			return -1;
		}
		return new;
	}
	return replace(old, new, 0);
}

EXPORT int dup3(int old, int new, int flags)
{
	if (old == new) {
		errno = EINVAL;
		return -1;
	}
	return replace(old, new, flags);
}

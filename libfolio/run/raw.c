/*
 * The kernel's calls, made with syscall(2) so that nothing here goes through the symbols this
 * library interposes (mmap, munmap, close, ...): no recursion, and the same behaviour before
 * and after the library is set up. Also the one stderr note.
 */
#include "run.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

void *raw_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
}

int raw_munmap(void *addr, size_t len)
{
	return (int)syscall(SYS_munmap, addr, len);
}

int raw_mprotect(void *addr, size_t len, int prot)
{
	return (int)syscall(SYS_mprotect, addr, len, prot);
}

void *raw_mremap(void *old, size_t old_len, size_t new_len, int flags, void *new_addr)
{
	return (void *)syscall(SYS_mremap, old, old_len, new_len, flags, new_addr);
}

int raw_madvise(void *addr, size_t len, int advice)
{
	return (int)syscall(SYS_madvise, addr, len, advice);
}

int raw_mlock(const void *addr, size_t len)
{
	return (int)syscall(SYS_mlock, addr, len);
}

int raw_munlock(const void *addr, size_t len)
{
	return (int)syscall(SYS_munlock, addr, len);
}

int raw_close(int fd)
{
	return (int)syscall(SYS_close, fd);
}

/* Frees the pages of [offset, offset + len) in a memfd: they read as zero afterwards, in every
 * mapping of it. */
int raw_punch(int fd, uint64_t offset, uint64_t len)
{
	return (int)syscall(SYS_fallocate, fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)offset, (off_t)len);
}

/* Private futexes: the words are in this process's private memory. A timeout keeps a waiter
 * from sleeping for ever if a wake were ever lost (it re-checks its condition). */
void raw_futex_wait(uint32_t *word, uint32_t value, long timeout_ns)
{
	struct timespec t = { timeout_ns / 1000000000L, timeout_ns % 1000000000L };
	syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, value, &t, NULL, 0);
}

void raw_futex_wake(uint32_t *word)
{
	syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL, NULL, 0);
}

pid_t raw_gettid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

int raw_reserve(void *addr, size_t len)
{
	void *p = raw_mmap(addr, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
	return p == addr ? 0 : -1;
}

static void write_all(const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = (ssize_t)syscall(SYS_write, 2, s, n);
		if (w <= 0 && errno != EINTR)
			return;
		if (w > 0) {
			s += w;
			n -= (size_t)w;
		}
	}
}

/* One line for the whole process, whichever thread falls back first. */
void run_note(const char *why)
{
	static atomic_int noted;
	if (atomic_exchange(&noted, 1))
		return;
	char line[512];
	const char *head = "foliod-run: ", *tail = "; running on ordinary memory\n";
	size_t n = 0, h = strlen(head), w = strnlen(why, 300), t = strlen(tail);
	memcpy(line, head, h), n += h;
	memcpy(line + n, why, w), n += w;
	memcpy(line + n, tail, t), n += t;
	write_all(line, n);
}

/* FOLIOD_RUN_DEBUG=1: a line per interesting event, for developing the library. */
void run_debug(const char *what, long value)
{
	static int enabled = -1;
	if (enabled < 0) {
		const char *e = getenv("FOLIOD_RUN_DEBUG");
		enabled = e && *e == '1';
	}
	if (!enabled)
		return;
	char line[256], number[24];
	int k = 0;
	unsigned long v = value < 0 ? (unsigned long)-value : (unsigned long)value;
	do {
		number[k++] = (char)('0' + v % 10);
		v /= 10;
	} while (v && k < 22);
	size_t n = 0, w = strnlen(what, 200);
	memcpy(line, "foliod-run debug: ", 18), n = 18;
	memcpy(line + n, what, w), n += w;
	line[n++] = ' ';
	if (value < 0)
		line[n++] = '-';
	while (k > 0)
		line[n++] = number[--k];
	line[n++] = '\n';
	write_all(line, n);
}

/*
 * The I/O calls whose buffers the kernel reads or writes for the program. A page the library
 * has write-protected for a migration (revoke) or taken all access from (the heat scan) makes
 * the kernel's own copy fail with EFAULT, with no SIGSEGV for the handler to serve. So such a
 * call pins the slots its buffer covers for its whole length, as the kernel's GUP pins a page:
 * it raises each slot's `io` count, waits for a revoke in progress to end, touches each of the
 * program's pages from user space (which the handler serves: a scan's arming is undone, and
 * counted as a touch), makes the call and drops the count. Meanwhile a revoke leaves the slot
 * alone (its remap answers EBUSY: the daemon keeps the folio where it is) and the scan does not
 * arm it. An EFAULT for a buffer outside the window, or a page the program does not map, is
 * the program's own and is returned as it is. The calls are made with syscall(2), so they are
 * not cancellation points here. Direct I/O, io_uring and vmsplice hold pages past the call:
 * a migration can lose what they write after it (DESIGN.md §13).
 */
#include "run.h"

#include <dlfcn.h>
#include <sched.h>
#include <errno.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#define RETRIES 16

/* glibc declares read's buffer write-only, and GCC then takes passing its address along (to
 * pin and touch it) for a read of uninitialized bytes. */
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

/* The window's slots under [buf, buf + len): [*first, *end), or 0 if none. */
static int slots_of(const void *buf, size_t len, size_t *first, size_t *end)
{
	uintptr_t base = __atomic_load_n(&run.base, __ATOMIC_ACQUIRE), top = __atomic_load_n(&run.end, __ATOMIC_ACQUIRE);
	uintptr_t a = (uintptr_t)buf, z = a + len;
	if (len == 0 || z < a || z <= base || a >= top)
		return 0;
	*first = run_slot_of(a < base ? base : a);
	*end = run_slot_of((z > top ? top : z) - 1) + 1;
	return 1;
}

/* Pins (+1) or unpins (-1) every slot under the buffer. */
static void pin(const void *buf, size_t len, int delta)
{
	size_t s, e;
	if (!slots_of(buf, len, &s, &e))
		return;
	for (; s < e; s++)
		__atomic_add_fetch(&run.slots[s].io, (uint32_t)delta, __ATOMIC_SEQ_CST);
}

/* Pinned: waits out a revoke, then touches the program's pages of [buf, buf + len); 1 if
 * the buffer is in the window at all. A slot the scan is arming is touched until the touch
 * faults (its mprotect is done) and the handler has given access back. */
static int touch(const void *buf, size_t len, int for_write)
{
	size_t s, e;
	if (!slots_of(buf, len, &s, &e))
		return 0;
	uintptr_t a = (uintptr_t)buf, z = a + len;
	for (size_t slot = s; slot < e; slot++) {
		struct slot *sl = &run.slots[slot];
		uint32_t r;
		while ((r = __atomic_load_n(&sl->revoked, __ATOMIC_SEQ_CST)) & REVOKED_DAEMON)
			raw_futex_wait(&sl->revoked, r, 10 * 1000 * 1000);
		uintptr_t p = run_slot_addr(slot), q = p + RUN_SLOT;
		p = p < (a & ~(RUN_PAGE - 1)) ? a & ~(RUN_PAGE - 1) : p;
		q = q > z ? z : q;
		do {
			for (uintptr_t page = p; page < q; page += RUN_PAGE) {
				uint8_t state = __atomic_load_n(&run.pages[run_page_of(page)], __ATOMIC_RELAXED);
				if (!(state & PAGE_MAPPED) || !(state & (for_write ? PROT_WRITE : PROT_READ)))
					continue;
				if (for_write)
					__atomic_fetch_add((uint8_t *)page, 0, __ATOMIC_RELAXED);
				else
					(void)*(volatile const uint8_t *)page;
			}
		} while (__atomic_load_n(&sl->scan, __ATOMIC_SEQ_CST) != 0 && (sched_yield(), 1));
	}
	return 1;
}

static int touch_iov(const struct iovec *iov, int count, int for_write)
{
	int ours = 0;
	for (int i = 0; iov && i < count; i++)
		ours |= touch(iov[i].iov_base, iov[i].iov_len, for_write);
	return ours;
}

static void pin_iov(const struct iovec *iov, int count, int delta)
{
	for (int i = 0; iov && i < count; i++)
		pin(iov[i].iov_base, iov[i].iov_len, delta);
}

/* Runs CALL with the buffer pinned and touched, again while it fails with EFAULT on the
 * window's pages (a race the pin should leave no room for; a bounded backstop). */
#define WITH_TOUCHES(PIN, UNPIN, TOUCH, CALL)                                 \
	do {                                                                  \
		PIN;                                                          \
		long r;                                                       \
		for (int tries = 0;; tries++) {                               \
			int ours = (TOUCH);                                   \
			r = (CALL);                                           \
			if (r >= 0 || errno != EFAULT || !ours || tries == RETRIES) \
				break;                                        \
		}                                                             \
		int saved = errno;                                            \
		UNPIN;                                                        \
		errno = saved;                                                \
		return r;                                                     \
	} while (0)

ssize_t read(int fd, void *buf, size_t n) { WITH_TOUCHES(pin(buf, n, 1), pin(buf, n, -1), touch(buf, n, 1), syscall(SYS_read, fd, buf, n)); }
ssize_t write(int fd, const void *buf, size_t n) { WITH_TOUCHES(pin(buf, n, 1), pin(buf, n, -1), touch(buf, n, 0), syscall(SYS_write, fd, buf, n)); }
ssize_t pread(int fd, void *buf, size_t n, off_t off) { WITH_TOUCHES(pin(buf, n, 1), pin(buf, n, -1), touch(buf, n, 1), syscall(SYS_pread64, fd, buf, n, off)); }
ssize_t pwrite(int fd, const void *buf, size_t n, off_t off) { WITH_TOUCHES(pin(buf, n, 1), pin(buf, n, -1), touch(buf, n, 0), syscall(SYS_pwrite64, fd, buf, n, off)); }
ssize_t pread64(int fd, void *buf, size_t n, off_t off) { return pread(fd, buf, n, off); }
ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off) { return pwrite(fd, buf, n, off); }
ssize_t readv(int fd, const struct iovec *iov, int count) { WITH_TOUCHES(pin_iov(iov, count, 1), pin_iov(iov, count, -1), touch_iov(iov, count, 1), syscall(SYS_readv, fd, iov, count)); }
ssize_t writev(int fd, const struct iovec *iov, int count) { WITH_TOUCHES(pin_iov(iov, count, 1), pin_iov(iov, count, -1), touch_iov(iov, count, 0), syscall(SYS_writev, fd, iov, count)); }
ssize_t recv(int fd, void *buf, size_t n, int flags) { WITH_TOUCHES(pin(buf, n, 1), pin(buf, n, -1), touch(buf, n, 1), syscall(SYS_recvfrom, fd, buf, n, flags, NULL, NULL)); }
ssize_t recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *from, socklen_t *len)
{
	WITH_TOUCHES(pin(buf, n, 1), pin(buf, n, -1), touch(buf, n, 1), syscall(SYS_recvfrom, fd, buf, n, flags, from, len));
}
ssize_t send(int fd, const void *buf, size_t n, int flags) { WITH_TOUCHES(pin(buf, n, 1), pin(buf, n, -1), touch(buf, n, 0), syscall(SYS_sendto, fd, buf, n, flags, NULL, 0)); }
ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *to, socklen_t len)
{
	WITH_TOUCHES(pin(buf, n, 1), pin(buf, n, -1), touch(buf, n, 0), syscall(SYS_sendto, fd, buf, n, flags, to, len));
}
ssize_t recvmsg(int fd, struct msghdr *m, int flags) { WITH_TOUCHES(pin_iov(m ? m->msg_iov : NULL, m ? (int)m->msg_iovlen : 0, 1), pin_iov(m ? m->msg_iov : NULL, m ? (int)m->msg_iovlen : 0, -1), touch_iov(m ? m->msg_iov : NULL, m ? (int)m->msg_iovlen : 0, 1), syscall(SYS_recvmsg, fd, m, flags)); }
ssize_t sendmsg(int fd, const struct msghdr *m, int flags) { WITH_TOUCHES(pin_iov(m ? m->msg_iov : NULL, m ? (int)m->msg_iovlen : 0, 1), pin_iov(m ? m->msg_iov : NULL, m ? (int)m->msg_iovlen : 0, -1), touch_iov(m ? m->msg_iov : NULL, m ? (int)m->msg_iovlen : 0, 0), syscall(SYS_sendmsg, fd, m, flags)); }

/* stdio reads and writes large requests straight between the file and the caller's buffer,
 * with glibc's own read and write, which no preload sees: the buffer is touched first, and a
 * call the kernel refused midway is resumed for the rest. */
typedef size_t (*stdio_fn)(void *, size_t, size_t, FILE *);

static stdio_fn real(const char *name)
{
	run_in_library++;
	stdio_fn f = (stdio_fn)dlsym(RTLD_NEXT, name);
	run_in_library--;
	return f;
}

size_t fread(void *buf, size_t size, size_t count, FILE *f)
{
	static stdio_fn next;
	if (!next)
		next = real("fread");
	if (size == 0 || count > SIZE_MAX / size)
		return next(buf, size, count, f);
	pin(buf, size * count, 1);
	if (!touch(buf, size * count, 1)) {
		pin(buf, size * count, -1);
		return next(buf, size, count, f);
	}
	size_t done = 0;
	for (int tries = 0; done < count && tries <= RETRIES; tries++) {
		done += next((uint8_t *)buf + done * size, size, count - done, f);
		if (done == count || feof(f) || !ferror(f) || errno != EFAULT)
			break;
		clearerr(f);
		touch((uint8_t *)buf + done * size, (count - done) * size, 1);
	}
	pin(buf, size * count, -1);
	return done;
}

size_t fwrite(const void *buf, size_t size, size_t count, FILE *f)
{
	static stdio_fn next;
	if (!next)
		next = real("fwrite");
	if (size == 0 || count > SIZE_MAX / size)
		return next((void *)buf, size, count, f);
	pin(buf, size * count, 1);
	if (!touch(buf, size * count, 0)) {
		pin(buf, size * count, -1);
		return next((void *)buf, size, count, f);
	}
	size_t done = 0;
	for (int tries = 0; done < count && tries <= RETRIES; tries++) {
		done += next((uint8_t *)buf + done * size, size, count - done, f);
		if (done == count || !ferror(f) || errno != EFAULT)
			break;
		clearerr(f);
		touch((const uint8_t *)buf + done * size, (count - done) * size, 0);
	}
	pin(buf, size * count, -1);
	return done;
}

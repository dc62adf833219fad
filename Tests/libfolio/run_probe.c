/*
 * run_probe: a plain C program (it knows nothing of foliod) that checks what a program expects
 * of its anonymous memory and its malloc, so that running it under foliod-run checks that the
 * preload runtime keeps every promise. Prints "ok WHAT" or "FAIL WHAT" per check; exits 1 on
 * any failure. Without foliod-run it must pass as well: that is the point.
 */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MIB ((size_t)1 << 20)
static int failures;

static void check(int ok, const char *what)
{
	printf("%s %s\n", ok ? "ok" : "FAIL", what);
	fflush(stdout);
	failures += !ok;
}

static void fill(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i += 512)
		p[i] = (uint8_t)(i / 512 * 31 + seed);
	p[n - 1] = (uint8_t)seed;
}

static int same(const uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i += 512) {
		if (p[i] != (uint8_t)(i / 512 * 31 + seed))
			return 0;
	}
	return p[n - 1] == (uint8_t)seed;
}

/* Bytes [from, to) of a block fill()ed from base with seed. */
static int same_range(const uint8_t *base, size_t from, size_t to, unsigned seed)
{
	for (size_t i = (from + 511) & ~(size_t)511; i < to; i += 512) {
		if (base[i] != (uint8_t)(i / 512 * 31 + seed))
			return 0;
	}
	return 1;
}

static int zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i])
			return 0;
	}
	return 1;
}

static void *anon(size_t n)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

static void mmap_checks(void)
{
	size_t n = 24 * MIB + 12288;
	uint8_t *p = anon(n);
	check(p && zero(p, n), "large mmap reads zero");
	if (!p)
		return;
	fill(p, n, 7);
	check(same(p, n, 7), "large mmap keeps a written pattern");
	check(munmap(p + 4 * MIB, 4 * MIB) == 0 && same_range(p, 0, 4 * MIB, 7) && same_range(p, 8 * MIB, n - 1, 7) && p[n - 1] == 7,
	      "partial munmap (middle) keeps the rest");
	check(munmap(p, 4096) == 0 && p[4096] == (uint8_t)(4096 / 512 * 31 + 7), "partial munmap (first page)");
	check(munmap(p, n) == 0, "munmap of the rest (holes included)");

	uint8_t *q = anon(8 * MIB);
	fill(q, 8 * MIB, 3);
	uint8_t *g = mremap(q, 8 * MIB, 20 * MIB, MREMAP_MAYMOVE);
	check(g != MAP_FAILED && same(g, 8 * MIB, 3) && zero(g + 8 * MIB, 12 * MIB), "mremap grow keeps bytes, new part zero");
	if (g == MAP_FAILED)
		return;
	g[20 * MIB - 1] = 1;
	uint8_t *s = mremap(g, 20 * MIB, 5 * MIB, 0);
	check(s == g && same_range(g, 0, 5 * MIB, 3), "mremap shrink in place keeps bytes");
	uint8_t *m = mremap(g, 5 * MIB, 5 * MIB + 4096, MREMAP_MAYMOVE);
	check(m != MAP_FAILED && zero(m + 5 * MIB, 4096), "mremap grow by a page");
	fill(m, 5 * MIB, 9);
	void *fixed = anon(16 * MIB);
	munmap(fixed, 16 * MIB);
	uint8_t *f = mremap(m, 5 * MIB + 4096, 6 * MIB, MREMAP_MAYMOVE | MREMAP_FIXED, fixed);
	check(f == fixed && same(f, 5 * MIB, 9), "mremap MREMAP_FIXED moves and keeps bytes");
	munmap(f, 6 * MIB);

	uint8_t *d = anon(8 * MIB);
	memset(d, 0xAB, 8 * MIB);
	check(madvise(d, 2 * MIB, MADV_DONTNEED) == 0 && zero(d, 2 * MIB) && d[2 * MIB] == 0xAB, "madvise DONTNEED reads zero");
	check(madvise(d + 2 * MIB, 4096, MADV_FREE) == 0 && (zero(d + 2 * MIB, 4096) || d[2 * MIB] == 0xAB), "madvise FREE");
	int r = madvise(d + 4 * MIB, 3 * MIB, MADV_REMOVE);
	check((r == 0 && zero(d + 4 * MIB, 3 * MIB)) || (r != 0 && errno == EINVAL), "madvise REMOVE reads zero (or EINVAL, private anonymous)");
	check(d[7 * MIB] == 0xAB && d[8 * MIB - 1] == 0xAB, "madvise leaves the rest");
	munmap(d, 8 * MIB);
}

static sigjmp_buf jump;
static volatile sig_atomic_t segv_seen;
static uint8_t *volatile protected_page;

static void on_segv(int sig, siginfo_t *info, void *uc)
{
	(void)sig;
	(void)uc;
	segv_seen++;
	if ((uint8_t *)info->si_addr >= protected_page && (uint8_t *)info->si_addr < protected_page + 4096)
		mprotect(protected_page, 4096, PROT_READ | PROT_WRITE);  /* and the write goes on */
	else
		siglongjmp(jump, 1);
}

static void mprotect_checks(void)
{
	uint8_t *p = anon(4 * MIB);
	memset(p, 5, 4 * MIB);
	struct sigaction sa, old;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSEGV, &sa, &old);
	check(mprotect(p + MIB, 4096, PROT_READ) == 0 && p[MIB] == 5, "mprotect PROT_READ, still readable");
	protected_page = p + MIB;
	segv_seen = 0;
	p[MIB] = 6;
	check(segv_seen == 1 && p[MIB] == 6, "write to PROT_READ page faults into the program's handler, which fixes it");
	check(mprotect(p, 4 * MIB, PROT_NONE) == 0, "mprotect PROT_NONE");
	protected_page = NULL;
	int jumped = sigsetjmp(jump, 1);
	if (!jumped)
		(void)*(volatile uint8_t *)(p + 2 * MIB);
	check(jumped == 1, "read of a PROT_NONE page faults into the program's handler");
	check(mprotect(p, 4 * MIB, PROT_READ | PROT_WRITE) == 0 && p[0] == 5 && p[MIB] == 6, "mprotect back: bytes kept");
	struct sigaction mine;
	sigaction(SIGSEGV, &old, &mine);
	check(mine.sa_sigaction == on_segv, "sigaction returns the program's own handler");
	munmap(p, 4 * MIB);
}

static void malloc_checks(void)
{
	size_t n = 10 * MIB + 123;
	uint8_t *m = malloc(n);
	check(m != NULL && malloc_usable_size(m) >= n, "malloc large, usable size");
	fill(m, n, 1);
	uint8_t *c = calloc(3, 4 * MIB);
	check(c && zero(c, 12 * MIB), "calloc large reads zero");
	uint8_t *r = realloc(m, 30 * MIB);
	check(r && same(r, n, 1), "realloc grow keeps bytes");
	r = realloc(r, 5 * MIB);
	check(r && same_range(r, 0, 5 * MIB, 1), "realloc shrink keeps bytes");
	uint8_t *small = realloc(r, 1000);
	check(small && small[0] == 1, "realloc to small keeps bytes");
	uint8_t *big = realloc(small, 6 * MIB);
	check(big && big[0] == 1, "realloc small to large keeps bytes");
	free(big);
	free(c);
	void *a = NULL;
	check(posix_memalign(&a, 8 * MIB, 3 * MIB) == 0 && ((uintptr_t)a & (8 * MIB - 1)) == 0, "posix_memalign 8 MiB alignment");
	memset(a, 1, 3 * MIB);
	free(a);
	check(posix_memalign(&a, 3, 3 * MIB) == EINVAL, "posix_memalign refuses a bad alignment");
	void *b = aligned_alloc(4096, 4 * MIB);
	check(b && ((uintptr_t)b & 4095) == 0, "aligned_alloc");
	free(b);
	void *ma = memalign(1 << 16, 4 * MIB);
	check(ma && ((uintptr_t)ma & 0xFFFF) == 0, "memalign");
	free(ma);
	void *v = valloc(3 * MIB);
	check(v && ((uintptr_t)v & 4095) == 0, "valloc");
	free(v);
	void *s = malloc(100);
	check(s && malloc_usable_size(s) >= 100, "small malloc still glibc's");
	free(s);
}

static void fork_checks(void)
{
	size_t n = 16 * MIB;
	uint8_t *p = anon(n);
	uint8_t *m = malloc(n);
	fill(p, n, 11);
	fill(m, n, 12);
	int to_child[2], to_parent[2];
	if (pipe(to_child) != 0 || pipe(to_parent) != 0)
		return;
	pid_t pid = fork();
	if (pid == 0) {
		char c;
		int ok = same(p, n, 11) && same(m, n, 12);
		p[0] = 99;
		m[0] = 98;
		void *fresh = malloc(8 * MIB);  /* the child's own allocation */
		memset(fresh, 4, 8 * MIB);
		ok &= ((uint8_t *)fresh)[8 * MIB - 1] == 4;
		free(fresh);
		if (write(to_parent[1], "w", 1) != 1 || read(to_child[0], &c, 1) != 1)
			_exit(3);
		ok &= p[512] == (uint8_t)(31 + 11) && p[0] == 99;  /* the parent wrote 77 at p[512] */
		free(m);
		munmap(p, n);
		_exit(ok ? 0 : 1);
	}
	char c;
	check(pid > 0 && read(to_parent[0], &c, 1) == 1, "fork: child runs");
	check(p[0] == (uint8_t)11 && m[0] == (uint8_t)12, "fork: the child's writes are not seen by the parent");
	p[512] = 77;
	if (write(to_child[1], "g", 1) != 1)
		return;
	int status = 0;
	waitpid(pid, &status, 0);
	check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "fork: child sees the snapshot, not the parent's later writes");
	check(same(m, n, 12) && p[512] == 77, "fork: parent's memory intact");
	free(m);
	munmap(p, n);
	close(to_child[0]), close(to_child[1]), close(to_parent[0]), close(to_parent[1]);
}

static void fd_checks(void)
{
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	for (long fd = 3; fd < (long)rl.rlim_cur; fd++)
		close((int)fd);
	uint8_t *p = malloc(6 * MIB);
	check(p != NULL, "close() of every fd 3..limit, then malloc");
	if (p)
		memset(p, 3, 6 * MIB);
	check(p && p[6 * MIB - 1] == 3, "... and the memory works");
	free(p);
	check(close_range(3, ~0u, 0) == 0, "close_range(3, ~0)");
	uint8_t *q = anon(6 * MIB);
	check(q != NULL, "close_range, then mmap");
	if (q)
		memset(q, 2, 6 * MIB);
	check(q && q[3 * MIB] == 2, "... and the memory works");
	if (q)
		munmap(q, 6 * MIB);
}

static void *worker(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	long bad = 0;
	for (int i = 0; i < 40; i++) {
		size_t n = (2 + (seed + (unsigned)i) % 5) * MIB;
		uint8_t *p = (i & 1) ? malloc(n) : anon(n);
		if (!p)
			return (void *)1;
		fill(p, n, seed + (unsigned)i);
		sched_yield();
		bad += !same(p, n, seed + (unsigned)i);
		if (i & 1)
			free(p);
		else
			munmap(p, n);
	}
	return (void *)bad;
}

static void thread_checks(void)
{
	pthread_t t[8];
	long bad = 0;
	for (uintptr_t i = 0; i < 8; i++)
		pthread_create(&t[i], NULL, worker, (void *)(i * 17));
	for (int i = 0; i < 8; i++) {
		void *r;
		pthread_join(t[i], &r);
		bad += (long)r;
	}
	check(bad == 0, "8 threads allocate, touch and free at once");
}

static void mlock_checks(void)
{
	uint8_t *p = anon(4 * MIB);
	memset(p, 1, 4 * MIB);
	int r = mlock(p, 4 * MIB);
	check(r == 0 || errno == EPERM || errno == ENOMEM, "mlock of a region (or the rlimit's refusal)");
	check(p[0] == 1 && (r != 0 || munlock(p, 4 * MIB) == 0), "munlock");
	munmap(p, 4 * MIB);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	mmap_checks();
	mprotect_checks();
	malloc_checks();
	fork_checks();
	thread_checks();
	mlock_checks();
	fd_checks();
	printf("run_probe: %d failed\n", failures);
	return failures ? 1 : 0;
}

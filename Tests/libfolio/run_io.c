/*
 * A program that knows nothing of foliod and does I/O into and out of a large malloc'd
 * buffer: read(2), write(2), pread(2), readv(2), fread(3) and fwrite(3) of a file, for
 * SECONDS, each round's bytes checked against the file. Under foliod-run, with the heat scan
 * and migrations running, the kernel's copies meet pages the runtime has protected; every
 * call must still succeed whole. Prints one line and exits 0, or says what failed.
 *
 *   run_io FILE SECONDS
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static int fail(const char *what, long got, long want)
{
	fprintf(stderr, "run_io: %s: %ld of %ld bytes (%s)\n", what, got, want, strerror(errno));
	return 1;
}

int main(int argc, char **argv)
{
	if (argc != 3)
		return fprintf(stderr, "usage: run_io FILE SECONDS\n"), 64;
	int fd = open(argv[1], O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0)
		return fail("open", 0, 0);
	size_t n = (size_t)st.st_size;
	unsigned char *a = malloc(n), *b = malloc(n);
	if (!a || !b || read(fd, a, n) != (ssize_t)n)
		return fail("the first read", 0, (long)n);
	FILE *sink = fopen("/dev/null", "w"), *in = fopen(argv[1], "r");
	if (!sink || !in)
		return fail("fopen", 0, 0);
	time_t end = time(NULL) + atol(argv[2]);
	long rounds = 0;
	while (time(NULL) < end) {
		memset(b, 0, n);
		ssize_t got;
		switch (rounds % 4) {
		case 0: got = pread(fd, b, n, 0); break;
		case 1: {
			struct iovec v[2] = { { b, n / 2 }, { b + n / 2, n - n / 2 } };
			lseek(fd, 0, SEEK_SET);
			got = readv(fd, v, 2);
			break;
		}
		case 2:
			rewind(in);
			got = (ssize_t)fread(b, 1, n, in);
			break;
		default:
			lseek(fd, 0, SEEK_SET);
			got = read(fd, b, n);
		}
		if (got != (ssize_t)n)
			return fail("a read into the buffer", (long)got, (long)n);
		if (memcmp(a, b, n) != 0)
			return fail("the bytes read", 0, (long)n);
		if (fwrite(b, 1, n, sink) != n || fflush(sink) != 0)
			return fail("fwrite from the buffer", 0, (long)n);
		if (write(fileno(sink), a, n) != (ssize_t)n)
			return fail("write from the buffer", 0, (long)n);
		rounds++;
	}
	printf("run_io: %ld rounds of %zu bytes, every call whole\n", rounds, n);
	return 0;
}

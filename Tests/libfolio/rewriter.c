/*
 * The C half of the cross-language test: attaches the named space SPACE, allocates COUNT
 * folios, prints their handles on one line, then for SECONDS pins each folio in turn, checks
 * that it holds exactly what this program wrote last (every word: the handle and the
 * generation), and writes the next generation. Another process migrates the same folios
 * meanwhile. A torn read is a folio with mixed words; a lost write one with an old generation.
 * Usage: rewriter SOCKET SPACE COUNT SECONDS
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "folio.h"

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/* 0 intact, 1 lost (one old generation throughout), 2 torn (mixed words). */
static int check_and_write(uint64_t *words, size_t count, uint64_t expected, uint64_t next)
{
	size_t same = 0;
	while (same < count && words[same] == words[0])
		same++;
	int verdict = same != count ? 2 : words[0] != expected ? 1 : 0;
	for (size_t i = 0; i < count; i++)
		words[i] = next;
	return verdict;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: rewriter SOCKET SPACE COUNT SECONDS\n");
		return 2;
	}
	uint32_t count = (uint32_t)atoi(argv[3]);
	double seconds = atof(argv[4]);
	folio_client *c;
	int err = folio_connect(argv[1], argv[2], &c);
	uint32_t *handles = calloc(count ? count : 1, sizeof(uint32_t));
	uint64_t *generation = calloc(count ? count : 1, sizeof(uint64_t));
	if (!err)
		err = folio_alloc(c, 0, 2, count, handles);
	if (err) {
		fprintf(stderr, "rewriter: %s\n", strerror(-err));
		return 1;
	}
	for (uint32_t i = 0; i < count; i++) {
		void *data;
		size_t length;
		if (folio_pin(c, handles[i], &data, &length) == 0) {
			check_and_write(data, length / 8, 0, (uint64_t)handles[i] << 32);
			folio_unpin(c, handles[i]);
		}
		printf("%u%c", handles[i], i + 1 < count ? ' ' : '\n');
	}
	fflush(stdout);
	long rewrites = 0, torn = 0, lost = 0, failed = 0;
	for (double end = now() + seconds; now() < end;) {
		for (uint32_t i = 0; i < count; i++) {
			void *data;
			size_t length;
			if (folio_pin(c, handles[i], &data, &length) != 0) {
				failed++;
				continue;
			}
			uint64_t expected = (uint64_t)handles[i] << 32 | generation[i];
			int verdict = check_and_write(data, length / 8, expected, expected + 1);
			folio_unpin(c, handles[i]);
			generation[i]++;
			rewrites++;
			torn += verdict == 2;
			lost += verdict == 1;
		}
	}
	printf("rewriter: %ld rewrites, %ld torn, %ld lost, %ld pins failed\n", rewrites, torn, lost, failed);
	folio_close(c);
	free(handles);
	free(generation);
	return rewrites > 0 && torn == 0 && lost == 0 && failed == 0 ? 0 : 1;
}

/*
 * gups: giga-updates per second over a table in ordinary malloc'd memory, with a hot set.
 * It knows nothing of foliod: run it under foliod-run to keep its table in foliod's tiers.
 *
 *   gups [--bytes N[K|M|G]] [--hot-fraction F] [--seconds S]
 *
 * 90% of the updates go to the first F of the table (the hot set), the rest anywhere. Each
 * update XORs a word with a pseudo-random value; XOR is its own inverse, so replaying the same
 * sequence once more must bring the table back to its initial pattern, which the program checks
 * word by word at the end (exit 1 on any mismatch).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t next(uint64_t *s)
{
	/* xorshift64* */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static uint64_t initial(size_t i)
{
	return (uint64_t)i * 0x9E3779B97F4A7C15ULL;
}

static size_t parse_bytes(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	unsigned shift = *end == 'K' ? 10 : *end == 'M' ? 20 : *end == 'G' ? 30 : 0;
	if (end == s || (*end && (!shift || end[1])) || v == 0 || v > (SIZE_MAX >> (shift + 1))) {
		fprintf(stderr, "gups: bad --bytes %s\n", s);
		exit(64);
	}
	return (size_t)v << shift;
}

/* `count` updates from `seed`: the same count and seed give the same updates. */
static void update(uint64_t *table, size_t words, size_t hot, uint64_t seed, uint64_t count)
{
	uint64_t s = seed;
	for (uint64_t u = 0; u < count; u++) {
		uint64_t r = next(&s);
		size_t i = (r & 0xF) < 14 ? (size_t)((r >> 8) % hot) : (size_t)((r >> 8) % words);  /* 14/16 ~ 90% */
		table[i] ^= r;
	}
}

int main(int argc, char **argv)
{
	size_t bytes = 64u << 20;
	double hot_fraction = 0.1, seconds = 5;
	for (int i = 1; i < argc; i++) {
		if (i + 1 < argc && strcmp(argv[i], "--bytes") == 0)
			bytes = parse_bytes(argv[++i]);
		else if (i + 1 < argc && strcmp(argv[i], "--hot-fraction") == 0)
			hot_fraction = atof(argv[++i]);
		else if (i + 1 < argc && strcmp(argv[i], "--seconds") == 0)
			seconds = atof(argv[++i]);
		else {
			fprintf(stderr, "usage: gups [--bytes N[K|M|G]] [--hot-fraction F] [--seconds S]\n");
			return 64;
		}
	}
	if (hot_fraction <= 0 || hot_fraction > 1 || seconds <= 0) {
		fprintf(stderr, "gups: --hot-fraction must be in (0, 1], --seconds above 0\n");
		return 64;
	}
	size_t words = bytes / sizeof(uint64_t);
	size_t hot = (size_t)((double)words * hot_fraction);
	if (hot == 0)
		hot = 1;
	uint64_t *table = malloc(words * sizeof(uint64_t));
	if (!table) {
		perror("gups: malloc");
		return 1;
	}
	for (size_t i = 0; i < words; i++)
		table[i] = initial(i);
	printf("gups: %zu MiB table, hot set %.0f%% of it, %.1f s\n", bytes >> 20, hot_fraction * 100, seconds);
	/* Rounds of updates, each with its own seed, timed; each second a line. */
	const uint64_t round = 1 << 20;
	uint64_t rounds = 0, last_rounds = 0;
	double start = now(), last = start, t;
	while ((t = now()) - start < seconds) {
		update(table, words, hot, 0x1234567ULL + rounds, round);
		rounds++;
		if (t - last >= 1.0) {
			printf("gups: %.1f s: %.2f M updates/s\n", t - start, (double)(rounds - last_rounds) * round / (t - last) / 1e6);
			fflush(stdout);
			last = t;
			last_rounds = rounds;
		}
	}
	double elapsed = now() - start;
	printf("gups: total %llu updates in %.2f s: %.2f M updates/s (%.4f GUPS)\n", (unsigned long long)(rounds * round), elapsed,
	       (double)rounds * round / elapsed / 1e6, (double)rounds * round / elapsed / 1e9);
	for (uint64_t r = 0; r < rounds; r++)
		update(table, words, hot, 0x1234567ULL + r, round);
	size_t bad = 0;
	for (size_t i = 0; i < words; i++)
		bad += table[i] != initial(i);
	free(table);
	if (bad) {
		printf("gups: verify FAILED: %zu of %zu words differ\n", bad, words);
		return 1;
	}
	printf("gups: verify ok: %zu words back to their pattern\n", words);
	return 0;
}

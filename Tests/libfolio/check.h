/* A few lines of test harness: CHECK records a failure with its line and goes on. */
#ifndef CHECK_H
#define CHECK_H

#include <stdio.h>

static int check_failures;
static int check_passes;

#define CHECK(condition, ...)                                                     \
	do {                                                                      \
		if (condition) {                                                  \
			check_passes++;                                           \
		} else {                                                          \
			check_failures++;                                         \
			fprintf(stderr, "%s:%d: FAIL %s: ", __FILE__, __LINE__, #condition); \
			fprintf(stderr, __VA_ARGS__);                             \
			fputc('\n', stderr);                                      \
		}                                                                 \
	} while (0)

/* The exit status: 0 only if every check passed (and there was at least one). */
static int check_summary(const char *name)
{
	printf("%s: %d checks passed, %d failed\n", name, check_passes, check_failures);
	return check_failures == 0 && check_passes > 0 ? 0 : 1;
}

#endif

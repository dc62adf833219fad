/*
 * What foliod-run passes in the environment (FOLIOD_RUN_*), read once when the library is
 * loaded, before the program runs. foliod-run has validated every value; a value set by hand
 * that does not parse is ignored (the default holds), since a preload library cannot refuse
 * to start a program.
 */
#include "run.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct run_config run_config;

/* A plain decimal number, or -1. */
static long long decimal(const char *s)
{
	if (!s || !*s)
		return -1;
	long long v = 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (INT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v;
}

static void copy(char *out, size_t cap, const char *s)
{
	size_t n = strnlen(s, cap - 1);
	memcpy(out, s, n);
	out[n] = '\0';
}

/* foliod-run's default, for a program started with LD_PRELOAD by hand: FOLIOD_SOCKET, the
 * service's socket, else `make run`'s, made absolute now (the program may chdir later). */
static void default_socket(void)
{
	const char *s = getenv("FOLIOD_SOCKET");
	if (!s || !*s)
		s = access("/run/foliod/foliod.sock", F_OK) == 0 ? "/run/foliod/foliod.sock" : "run/foliod.sock";
	char cwd[4096];
	if (s[0] != '/' && getcwd(cwd, sizeof(cwd))) {
		char path[sizeof(run_config.socket)];
		int n = snprintf(path, sizeof(path), "%s/%s", cwd, s);
		if (n > 0 && (size_t)n < sizeof(path)) {
			copy(run_config.socket, sizeof(run_config.socket), path);
			return;
		}
	}
	copy(run_config.socket, sizeof(run_config.socket), s);
}

static void load(void)
{
	const char *s = getenv("FOLIOD_RUN_SOCKET");
	if (s && *s)
		copy(run_config.socket, sizeof(run_config.socket), s);
	else
		default_socket();
	s = getenv("FOLIOD_RUN_TIER");
	copy(run_config.tier, sizeof(run_config.tier), s ? s : "");
	/* The name is this process's only: a child (fork, or an exec of a subprocess that
	 * inherits the environment) takes run/<its pid>. */
	s = getenv("FOLIOD_RUN_NAME");
	long long owner = decimal(getenv("FOLIOD_RUN_NAME_PID"));
	if (s && *s && owner == (long long)getpid()) {
		copy(run_config.name, sizeof(run_config.name), s);
		run_config.name_set = 1;
	}
	long long v = decimal(getenv("FOLIOD_RUN_MIN_BYTES"));
	run_config.min_bytes = v >= (long long)RUN_PAGE ? (size_t)v : 2 * 1024 * 1024;
	/* Unset: the daemon's tiering/scan_period_ms and scan_size_mb (scan_settings.c). */
	v = decimal(getenv("FOLIOD_RUN_SCAN_PERIOD_MS"));
	run_config.scan_period_ms = v > 0 && v <= 86400000 ? (unsigned)v : 0;
	v = decimal(getenv("FOLIOD_RUN_SCAN_MB"));
	run_config.scan_bytes = v >= 0 && v <= (1LL << 24) ? (size_t)v << 20 : SIZE_MAX;
}

/* From the constructor, and again from the first connect: another library's constructor may
 * make a large allocation before ours has run (stress-ng's dependencies do). */
void run_config_load(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, load);
}

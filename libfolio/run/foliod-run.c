/*
 * foliod-run [OPTIONS] -- PROGRAM [ARGS]: runs an unmodified program with its large anonymous
 * memory in foliod (PROTOCOL.md section 10). It checks its options, puts libfolio-run.so in
 * front of LD_PRELOAD, passes the settings in FOLIOD_RUN_* and execs the program, which keeps
 * this process's pid. foliod-run(1) says the rest.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define EX_USAGE 64
#define SUN_PATH_MAX 107   /* sun_path holds 108 bytes, its NUL included */
#define NAME_MAX_BYTES 255

static const char *usage_text =
	"usage: foliod-run [--socket PATH] [--tier NAME] [--min-bytes N[K|M|G]] [--name NAME]\n"
	"                  [--scan-period-ms N] [--scan-mb N] -- PROGRAM [ARGS...]\n";

static void usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "foliod-run: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n%s", usage_text);
	exit(EX_USAGE);
}

/* A decimal number up to `max`, with K/M/G (powers of 1024) when `suffixes`. */
static unsigned long long number(const char *option, const char *s, unsigned long long max, int suffixes)
{
	if (!*s)
		usage_error("%s needs a number", option);
	unsigned long long v = 0;
	const char *p = s;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (ULLONG_MAX - 9) / 10)
			usage_error("number too large: %s", s);
		v = v * 10 + (unsigned long long)(*p - '0');
	}
	if (p == s)
		usage_error("not a decimal number: %s", s);
	unsigned shift = 0;
	if (suffixes && *p && !p[1])
		shift = *p == 'K' || *p == 'k' ? 10 : *p == 'M' || *p == 'm' ? 20 : *p == 'G' || *p == 'g' ? 30 : 0;
	if (*p && !shift)
		usage_error(suffixes ? "not a number (decimal, optionally K, M or G): %s" : "not a decimal number: %s", s);
	if (v > (max >> shift))
		usage_error("number too large: %s", s);
	return v << shift;
}

/* PROTOCOL.md's name rules: 1-255 bytes of valid UTF-8, no control character (U+0000-U+001F,
 * U+007F-U+009F). */
static int valid_name(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);
	if (n == 0 || n > NAME_MAX_BYTES)
		return 0;
	while (*p) {
		unsigned c = *p, len, cp;
		if (c < 0x80) {
			len = 1, cp = c;
		} else if ((c & 0xE0) == 0xC0) {
			len = 2, cp = c & 0x1F;
		} else if ((c & 0xF0) == 0xE0) {
			len = 3, cp = c & 0x0F;
		} else if ((c & 0xF8) == 0xF0) {
			len = 4, cp = c & 0x07;
		} else {
			return 0;
		}
		for (unsigned i = 1; i < len; i++) {
			if ((p[i] & 0xC0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i] & 0x3F);
		}
		static const unsigned least[5] = { 0, 0, 0x80, 0x800, 0x10000 };
		if (cp < least[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return 0;
		if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F))
			return 0;
		p += len;
	}
	return 1;
}

/* The socket as an absolute path: the program may chdir before its first allocation. */
static void absolute_socket(const char *path, char *out, size_t cap)
{
	char cwd[PATH_MAX];
	int n;
	if (!*path)
		usage_error("--socket needs a path%s", "");
	if (path[0] == '/')
		n = snprintf(out, cap, "%s", path);
	else if (getcwd(cwd, sizeof(cwd)))
		n = snprintf(out, cap, "%s/%s", cwd, path);
	else
		usage_error("cannot resolve the socket path %s against the working directory", path);
	if (n < 0 || (size_t)n >= cap || n > SUN_PATH_MAX)
		usage_error("socket path too long for a Unix socket: %s", path);
}

static const char *default_socket(void)
{
	const char *s = getenv("FOLIOD_SOCKET");
	if (s && *s)
		return s;
	return access("/run/foliod/foliod.sock", F_OK) == 0 ? "/run/foliod/foliod.sock" : "run/foliod.sock";
}

/* libfolio-run.so beside this binary (the build tree), else in ../lib (an installed tree). */
static void find_library(char *out, size_t cap)
{
	char exe[PATH_MAX - 32];  /* room for the library's name after it */
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0) {
		fprintf(stderr, "foliod-run: cannot read /proc/self/exe: %s\n", strerror(errno));
		exit(1);
	}
	exe[n] = '\0';
	char *slash = strrchr(exe, '/');
	*slash = '\0';
	const char *candidates[2] = { "%s/libfolio-run.so", "%s/../lib/libfolio-run.so" };
	for (int i = 0; i < 2; i++) {
		snprintf(out, cap, candidates[i], exe);
		if (access(out, R_OK) == 0)
			return;
	}
	fprintf(stderr, "foliod-run: no libfolio-run.so in %s or %s/../lib\n", exe, exe);
	exit(1);
}

static void set(const char *name, const char *value)
{
	if (setenv(name, value, 1) != 0) {
		fprintf(stderr, "foliod-run: setenv %s: %s\n", name, strerror(errno));
		exit(1);
	}
}

struct options {
	const char *socket, *tier, *name;
	unsigned long long min_bytes, scan_period_ms, scan_mb;
	int scan_period_given, scan_mb_given;
	int program;  /* argv index of PROGRAM */
};

/* "--opt VALUE" or "--opt=VALUE": the value, or NULL if argv[*i] is not this option. */
static const char *value_of(const char *option, int argc, char **argv, int *i)
{
	size_t n = strlen(option);
	if (strncmp(argv[*i], option, n) != 0)
		return NULL;
	if (argv[*i][n] == '=')
		return argv[*i] + n + 1;
	if (argv[*i][n] != '\0')
		return NULL;
	if (*i + 1 >= argc)
		usage_error("%s needs a value", option);
	return argv[++*i];
}

static void parse(int argc, char **argv, struct options *o)
{
	int i = 1;
	for (; i < argc; i++) {
		const char *a = argv[i], *v;
		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			fputs(usage_text, stdout);
			exit(0);
		}
		if ((v = value_of("--socket", argc, argv, &i)))
			o->socket = v;
		else if ((v = value_of("--tier", argc, argv, &i)))
			o->tier = valid_name(v) ? v : (usage_error("not a valid tier name: %s", v), v);
		else if ((v = value_of("--name", argc, argv, &i)))
			o->name = valid_name(v) ? v : (usage_error("not a valid space name: %s", v), v);
		else if ((v = value_of("--min-bytes", argc, argv, &i)))
			o->min_bytes = number("--min-bytes", v, (unsigned long long)SIZE_MAX >> 1, 1);
		else if ((v = value_of("--scan-period-ms", argc, argv, &i)))
			o->scan_period_ms = number("--scan-period-ms", v, 86400000ULL, 0), o->scan_period_given = 1;
		else if ((v = value_of("--scan-mb", argc, argv, &i)))
			o->scan_mb = number("--scan-mb", v, 1ULL << 24, 0), o->scan_mb_given = 1;
		else if (a[0] == '-')
			usage_error("unknown option %s", a);
		else
			break;
	}
	if (i >= argc)
		usage_error("no program to run%s", "");
	if (o->min_bytes < 4096)
		usage_error("--min-bytes must be at least 4096 (one page)%s", "");
	if (o->scan_period_given && o->scan_period_ms == 0)
		usage_error("--scan-period-ms must be at least 1%s", "");
	o->program = i;
}

int main(int argc, char **argv)
{
	struct options o = { .min_bytes = 2u << 20 };
	parse(argc, argv, &o);
	char socket[PATH_MAX], library[PATH_MAX], number_text[32];
	absolute_socket(o.socket ? o.socket : default_socket(), socket, sizeof(socket));
	find_library(library, sizeof(library));
	const char *preload = getenv("LD_PRELOAD");
	size_t n = strlen(library) + (preload ? strlen(preload) : 0) + 2;
	char *joined = malloc(n);
	if (!joined) {
		perror("foliod-run");
		return 1;
	}
	snprintf(joined, n, "%s%s%s", library, preload && *preload ? ":" : "", preload ? preload : "");
	set("LD_PRELOAD", joined);
	set("FOLIOD_RUN_SOCKET", socket);
	if (o.tier)
		set("FOLIOD_RUN_TIER", o.tier);
	else
		unsetenv("FOLIOD_RUN_TIER");
	if (o.name) {
		/* The name is this process's (the program keeps our pid); children take run/<pid>. */
		set("FOLIOD_RUN_NAME", o.name);
		snprintf(number_text, sizeof(number_text), "%ld", (long)getpid());
		set("FOLIOD_RUN_NAME_PID", number_text);
	} else {
		unsetenv("FOLIOD_RUN_NAME");
		unsetenv("FOLIOD_RUN_NAME_PID");
	}
	snprintf(number_text, sizeof(number_text), "%llu", o.min_bytes);
	set("FOLIOD_RUN_MIN_BYTES", number_text);
	/* Not given: the runtime follows the daemon's tiering/scan_period_ms and scan_size_mb. */
	snprintf(number_text, sizeof(number_text), "%llu", o.scan_period_ms);
	if (o.scan_period_ms)
		set("FOLIOD_RUN_SCAN_PERIOD_MS", number_text);
	else
		unsetenv("FOLIOD_RUN_SCAN_PERIOD_MS");
	snprintf(number_text, sizeof(number_text), "%llu", o.scan_mb);
	if (o.scan_mb_given)
		set("FOLIOD_RUN_SCAN_MB", number_text);
	else
		unsetenv("FOLIOD_RUN_SCAN_MB");
	execvp(argv[o.program], argv + o.program);
	int err = errno;
	if (err == ENOENT)
		fprintf(stderr, "foliod-run: %s: command not found\n", argv[o.program]);
	else
		fprintf(stderr, "foliod-run: %s: %s\n", argv[o.program], strerror(err));
	return err == ENOENT ? 127 : 126;
}

/*
 * libfolio against a daemon that lies: Tests/fakes/fake_foliod.py, started once per scenario.
 * Every malformed reply must come back as -EBADMSG from the call that received it, with no
 * crash, no descriptor left open and, for a refused attach, nothing left mapped; the `good`
 * scenario shows that the fake itself works. Run under valgrind by Tests/shell/test_clients.sh.
 * Usage: fake_daemon_test FAKE_FOLIOD DIRECTORY [SCENARIO...]   (default: every scenario)
 */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "folio.h"

/* Where each scenario's lie is first received. */
enum lie_at { AT_NOTHING, AT_CONNECT, AT_ALLOC, AT_FREE, AT_MIGRATE, AT_EVERY_REQUEST, AT_STAT_LIST };

static const struct scenario {
	const char *name;
	enum lie_at at;
} scenarios[] = {
	{ "good", AT_NOTHING },
	{ "before-features", AT_NOTHING },
	{ "short-folio-table", AT_CONNECT },
	{ "short-pin-table", AT_CONNECT },
	{ "short-tier-memfd", AT_CONNECT },
	{ "tier-size-2^63", AT_CONNECT },
	{ "too-many-tiers", AT_CONNECT },
	{ "fewer-fds", AT_CONNECT },
	{ "not-a-memfd", AT_CONNECT },
	{ "alloc-fewer-handles", AT_ALLOC },
	{ "alloc-handle-out-of-range", AT_ALLOC },
	{ "free-status-int32min", AT_FREE },
	{ "migrate-status-int32min", AT_MIGRATE },
	{ "migrate-status-unknown-tier", AT_MIGRATE },
	{ "migrate-fewer-statuses", AT_MIGRATE },
	{ "error-errno-0", AT_EVERY_REQUEST },
	{ "wrong-request-id", AT_EVERY_REQUEST },
	{ "truncated-reply", AT_EVERY_REQUEST },
	{ "stats-bad-name", AT_STAT_LIST },
};

static char socket_path[4200];

/* Open descriptors of this process (the directory's own included, the same every time). */
static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;
	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* Whether any of the fake's memfds is still mapped here (it names them fake-foliod-*). */
static int fake_memory_mapped(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[4096];
	int found = 0;
	while (f && fgets(line, sizeof(line), f))
		found |= strstr(line, "fake-foliod-") != NULL;
	if (f)
		fclose(f);
	return found;
}

/* Starts the fake on `scenario` and waits for its "ready" line: its pid, or -1. */
static pid_t start_fake(const char *fake, const char *scenario)
{
	int out[2];
	if (pipe(out) != 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(out[1], STDOUT_FILENO);
		close(out[0]);
		close(out[1]);
		execlp("python3", "python3", fake, socket_path, scenario, (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	char line[16] = "";
	size_t n = 0;
	struct pollfd p = { .fd = out[0], .events = POLLIN };
	while (pid > 0 && n < sizeof(line) - 1 && !strchr(line, '\n') && poll(&p, 1, 10000) == 1) {
		ssize_t got = read(out[0], line + n, sizeof(line) - 1 - n);
		if (got <= 0)
			break;
		n += (size_t)got;
		line[n] = '\0';
	}
	close(out[0]);
	if (pid > 0 && strcmp(line, "ready\n") != 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -1;
	}
	return pid;
}

/* Stops the fake: SIGTERM, and it exits 0 unless it crashed on the way. */
static int stop_fake(pid_t pid)
{
	int status;
	kill(pid, SIGTERM);
	return waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* The correct fake: everything a client does works, so a refusal elsewhere is the scenario's. */
static void good(void)
{
	folio_client *c;
	int err = folio_connect(socket_path, NULL, &c);
	CHECK(err == 0, "good: connect %d", err);
	if (err != 0)
		return;
	CHECK(folio_tier_count(c) == 2 && folio_tier(c, "fast") == 0 && folio_tier(c, "slow") == 1, "good: two tiers");
	uint32_t h[4];
	int32_t status[4];
	err = folio_alloc(c, 0, 2, 3, h);
	CHECK(err == 0, "good: alloc %d", err);
	void *data;
	size_t length;
	for (int i = 0; i < 3 && err == 0; i++) {
		CHECK(folio_pin(c, h[i], &data, &length) == 0 && length == 16384, "good: pin %u", h[i]);
		memset(data, 0x60 + i, length);
		folio_unpin(c, h[i]);
	}
	h[3] = 999;
	err = folio_migrate(c, h, 4, 1, FOLIO_REASON_DEMOTION, status);
	CHECK(err == 0 && status[0] == 1 && status[2] == 1 && status[3] == -ENOENT, "good: migrate %d: %d %d", err, status[0], status[3]);
	CHECK(folio_tier_of(c, h[1]) == 1, "good: in the slow tier");
	CHECK(folio_pin(c, h[1], &data, &length) == 0 && ((uint8_t *)data)[length - 1] == 0x61, "good: the bytes moved");
	err = folio_migrate(c, &h[1], 1, 0, FOLIO_REASON_SYSCALL, status);
	CHECK(err == 0 && status[0] == -EBUSY, "good: a pinned folio stays: %d %d", err, status[0]);
	folio_unpin(c, h[1]);
	struct folio_stats stats;
	err = folio_stats(c, &stats);
	CHECK(err == 0 && stats.folios_migrated == 3 && stats.folios_busy == 1 && strcmp(stats.migrator, "kernel") == 0,
	      "good: stats %d, %llu migrated", err, (unsigned long long)stats.folios_migrated);
	uint64_t value = 0;
	CHECK(folio_stat(c, "tier.fast.size", &value) == 0 && value == 16u << 20, "good: tier.fast.size %llu", (unsigned long long)value);
	CHECK(folio_stat(c, "tiering.demoted", &value) == 0 && value == 0, "good: tiering.demoted");
	char text[4096];
	int n = folio_stat_list(c, text, sizeof(text));
	CHECK(n > 0 && (size_t)n < sizeof(text) && strstr(text, "\nfolios_migrated 3\n") && strstr(text, "\ntier.slow.hot_bytes 0\n"),
	      "good: the list %d [%s]", n, text);
	err = folio_free(c, h, 4, status);
	CHECK(err == 0 && status[0] == 0 && status[3] == -ENOENT, "good: free %d", err);
	CHECK(folio_destroy(c) == 0, "good: destroy");
	folio_close(c);
}

/* Connects and, for a lie past attach, makes the requests up to the one that receives it. */
static void lied_to(const struct scenario *s)
{
	folio_client *c = (folio_client *)&c;
	int err = folio_connect(socket_path, NULL, &c);
	if (s->at == AT_CONNECT) {
		CHECK(err == -EBADMSG && c == NULL, "%s: connect answers %d, not -EBADMSG", s->name, err);
		CHECK(!fake_memory_mapped(), "%s: a refused attach leaves nothing mapped", s->name);
		if (err == 0)
			folio_close(c);
		return;
	}
	CHECK(err == 0, "%s: connect %d", s->name, err);
	if (err != 0)
		return;
	uint32_t h[2] = { 0, 1 };
	int32_t status[2];
	struct folio_stats stats;
	err = folio_alloc(c, 0, 0, 2, h);
	if (s->at == AT_ALLOC || s->at == AT_EVERY_REQUEST)
		CHECK(err == -EBADMSG, "%s: alloc answers %d", s->name, err);
	else
		CHECK(err == 0, "%s: alloc %d", s->name, err);
	if (s->at == AT_FREE || s->at == AT_EVERY_REQUEST) {
		err = folio_free(c, h, 2, status);
		CHECK(err == -EBADMSG, "%s: free answers %d", s->name, err);
		CHECK(folio_free(c, h, 2, NULL) == -EBADMSG, "%s: ... and without statuses", s->name);
	}
	if (s->at == AT_MIGRATE || s->at == AT_EVERY_REQUEST) {
		err = folio_migrate(c, h, 2, 1, FOLIO_REASON_SYSCALL, status);
		CHECK(err == -EBADMSG, "%s: migrate answers %d", s->name, err);
		CHECK(folio_migrate(c, h, 2, 1, FOLIO_REASON_SYSCALL, NULL) == -EBADMSG, "%s: ... and without statuses", s->name);
	}
	uint64_t value;
	char text[4096];
	if (s->at == AT_EVERY_REQUEST) {
		CHECK(folio_stats(c, &stats) == -EBADMSG, "%s: stats", s->name);
		CHECK(folio_stat(c, "batches", &value) == -EBADMSG, "%s: stat", s->name);
		CHECK(folio_stat_list(c, text, sizeof(text)) == -EBADMSG && text[0] == '\0', "%s: stat_list, and the text empty", s->name);
		CHECK(folio_destroy(c) == -EBADMSG, "%s: destroy", s->name);
	}
	if (s->at == AT_STAT_LIST) {
		/* Only the list splits lines at spaces: the other two read the reply as before. */
		CHECK(folio_stats(c, &stats) == 0 && folio_stat(c, "batches", &value) == 0, "%s: stats and stat", s->name);
		CHECK(folio_stat_list(c, text, sizeof(text)) == -EBADMSG && text[0] == '\0', "%s: stat_list", s->name);
	}
	folio_close(c);
}

static void run(const char *fake, const struct scenario *s)
{
	pid_t pid = start_fake(fake, s->name);
	CHECK(pid > 0, "%s: the fake starts", s->name);
	if (pid <= 0)
		return;
	int before = open_fds();
	if (s->at == AT_NOTHING)
		good();
	else
		lied_to(s);
	int after = open_fds();
	CHECK(after == before, "%s: %d descriptors open after, %d before", s->name, after, before);
	CHECK(!fake_memory_mapped(), "%s: nothing of the fake's mapped after close", s->name);
	CHECK(stop_fake(pid), "%s: the fake exits 0 (it did not crash)", s->name);
	printf("%s: done\n", s->name);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: fake_daemon_test FAKE_FOLIOD DIRECTORY [SCENARIO...]\n");
		return 2;
	}
	snprintf(socket_path, sizeof(socket_path), "%s/fake.sock", argv[2]);
	size_t count = sizeof(scenarios) / sizeof(scenarios[0]);
	for (size_t i = 0; i < count; i++) {
		int chosen = argc == 3;
		for (int a = 3; a < argc; a++)
			chosen |= strcmp(argv[a], scenarios[i].name) == 0;
		if (chosen)
			run(argv[1], &scenarios[i]);
	}
	return check_summary("fake_daemon_test");
}

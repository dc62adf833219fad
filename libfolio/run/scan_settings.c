/*
 * What the heat scan covers, and how often: the daemon's `tiering/scan_period_ms` and
 * `tiering/scan_size_mb` (PROTOCOL.md section 10), read from its stats reply every few
 * seconds on a connection of its own, bounded by 100 ms each way (never the request connection: a program thread may be
 * waiting there for an allocation that is demoting this program's folios, which needs this
 * thread). foliod-run's --scan-period-ms and --scan-mb override them.
 */
#include "run.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "wire.h"

#define REFRESH_MS 2000

static unsigned period_ms = 1000;
static size_t size_bytes;  /* 0 until the daemon says otherwise: no scan */
static long refreshed_at = -REFRESH_MS;

struct found {
	uint64_t period_ms, size_mb;
	int seen;
};

static int pick(const uint8_t *name, uint16_t length, uint64_t value, void *arg)
{
	struct found *f = arg;
	if (length == 22 && memcmp(name, "tiering.scan_period_ms", 22) == 0) {
		f->period_ms = value;
		f->seen |= 1;
	} else if (length == 20 && memcmp(name, "tiering.scan_size_mb", 20) == 0) {
		f->size_mb = value;
		f->seen |= 2;
	}
	return 0;
}

/* One stats request on a fresh connection. */
static int ask(struct found *f, uint8_t *buffer, size_t cap)
{
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* Short: the runtime thread serves the daemon's calls meanwhile, nobody else. */
	struct timeval limit = { .tv_sec = 0, .tv_usec = 100000 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof(limit));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof(limit));
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	memcpy(addr.sun_path, run_config.socket, strnlen(run_config.socket, sizeof(addr.sun_path) - 1));
	int err = 0;
	size_t n = folio_wire_stats(buffer, cap, 1);
	struct folio_wire_reply r;
	ssize_t got;
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 || send(fd, buffer, n, MSG_NOSIGNAL) != (ssize_t)n)
		err = -errno;
	else if ((got = recv(fd, buffer, cap, 0)) <= 0)
		err = got == 0 ? -ECONNRESET : -errno;
	else if ((err = folio_wire_parse(buffer, (size_t)got, &r)) == 0)
		err = r.kind == FOLIO_WIRE_STATS_REPLY ? folio_wire_counters(&r, pick, f) : -EBADMSG;
	raw_close(fd);
	return err;
}

static long now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

/* Runtime thread only. `buffer` holds a whole stats reply. */
void run_scan_settings_refresh(uint8_t *buffer, size_t cap)
{
	if (now_ms() - refreshed_at < REFRESH_MS)
		return;
	refreshed_at = now_ms();
	struct found f = { 0, 0, 0 };
	/* A daemon without a policy sends neither, and one that does not answer moves nothing:
	 * nothing to scan for either way. */
	if (ask(&f, buffer, cap) != 0) {
		size_bytes = 0;
		return;
	}
	period_ms = (f.seen & 1) && f.period_ms > 0 && f.period_ms <= 86400000 ? (unsigned)f.period_ms : 1000;
	size_bytes = (f.seen & 2) && f.size_mb <= (1u << 24) ? (size_t)f.size_mb << 20 : 0;
}

unsigned run_scan_period_ms(void)
{
	return run_config.scan_period_ms ? run_config.scan_period_ms : period_ms;
}

size_t run_scan_bytes(void)
{
	return run_config.scan_bytes != SIZE_MAX ? run_config.scan_bytes : size_bytes;
}

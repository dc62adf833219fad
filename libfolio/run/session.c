/*
 * The request connection: attached lazily, at the first large request, to the program space
 * (PROTOCOL.md section 10: feature maps_unpinned, name run/<pid> or foliod-run's --name), then
 * the channel and the runtime thread. Every failure before the space is ours leaves the
 * process on ordinary memory, said once on stderr.
 */
#include "run.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "wire.h"

static pthread_mutex_t connect_lock = PTHREAD_MUTEX_INITIALIZER;

static void fall_back(const char *what, int err)
{
	char why[700];
	snprintf(why, sizeof(why), "%s: %s", what, strerror(err));
	run_note(why);
	__atomic_store_n(&run.mode, MODE_FALLBACK, __ATOMIC_RELEASE);
}

static int choose_tier(folio_client *c)
{
	if (!run_config.tier[0])
		return 0;
	return folio_tier(c, run_config.tier);
}

/* Keeps the request connection's socket and tier memfds, moved out of the program's way. */
static int adopt_requests(folio_client *c)
{
	run.tier_count = folio_tier_count(c);
	int err = run_fd_adopt(&c->fd);
	for (int i = 0; i < run.tier_count && err == 0; i++) {
		/* Ours from now on: folio_close leaves them (a fork's child closes them itself). */
		run.tier_fd[i] = c->tier_fds[i];
		c->tier_fds[i] = -1;
		err = run_fd_adopt(&run.tier_fd[i]);
		run.tier_size[i] = c->tiers[i].size;
		run.punch_ok[i] = 1;
	}
	return err;
}

/* The channel, so the daemon can migrate the program's folios; without one it cannot (every
 * migration of the space is EBUSY) and the program runs on unmoved folios. */
static void open_channel(void)
{
	folio_client *ch = NULL;
	int err = folio_connect_features(run_config.socket, run.space, FOLIO_ATTACH_RUNTIME_CHANNEL,
					 FOLIO_CONNECT_NO_TIER_MAPS, &ch);
	if (err != 0) {
		run_debug("no runtime channel, errno", -err);
		return;
	}
	if (run_fd_adopt(&ch->fd) != 0) {
		folio_close(ch);
		return;
	}
	run.channel = ch;
}

static int attach(void)
{
	if (run_config.name_set)
		snprintf(run.space, sizeof(run.space), "%s", run_config.name);
	else
		snprintf(run.space, sizeof(run.space), "run/%ld", (long)getpid());
	folio_client *c = NULL;
	int err = folio_connect_features(run_config.socket, run.space, FOLIO_ATTACH_MAPS_UNPINNED,
					 FOLIO_CONNECT_KEEP_FDS | FOLIO_CONNECT_NO_TIER_MAPS, &c);
	if (err != 0) {
		char what[400];
		snprintf(what, sizeof(what), "cannot attach %s at %s", run.space, run_config.socket);
		fall_back(what, -err);
		return -1;
	}
	run.tier = choose_tier(c);
	if (run.tier < 0) {
		char what[400];
		snprintf(what, sizeof(what), "no tier %s in the daemon", run_config.tier);
		folio_close(c);
		fall_back(what, ENOENT);
		return -1;
	}
	if (adopt_requests(c) != 0 || run_install_handler() != 0) {
		folio_close(c);
		fall_back("cannot keep the daemon's descriptors", EMFILE);
		return -1;
	}
	run.requests = c;
	return 0;
}

int run_connect(void)
{
	int mode = __atomic_load_n(&run.mode, __ATOMIC_ACQUIRE);
	if (mode != MODE_UNTRIED)
		return mode == MODE_CONNECTED ? 0 : -1;
	pthread_mutex_lock(&connect_lock);
	run_in_library++;
	run_config_load();
	if (__atomic_load_n(&run.mode, __ATOMIC_ACQUIRE) == MODE_UNTRIED && attach() == 0) {
		open_channel();
		run_start_runtime();
		__atomic_store_n(&run.mode, MODE_CONNECTED, __ATOMIC_RELEASE);
		run_debug("attached, tiers", run.tier_count);
	}
	run_in_library--;
	pthread_mutex_unlock(&connect_lock);
	return __atomic_load_n(&run.mode, __ATOMIC_ACQUIRE) == MODE_CONNECTED ? 0 : -1;
}

/* One allocate of `count` folios, tier `tier` first, then (ENOMEM: that tier is full) each
 * other tier in turn. */
static int alloc_chunk(uint32_t count, uint32_t *handles)
{
	int err = folio_alloc(run.requests, run.tier, RUN_FOLIO_ORDER, count, handles);
	for (int t = 0; err == -ENOMEM && t < run.tier_count; t++) {
		if (t != run.tier)
			err = folio_alloc(run.requests, t, RUN_FOLIO_ORDER, count, handles);
	}
	return err;
}

int run_alloc_folios(uint32_t count, uint32_t *handles)
{
	run_in_library++;
	int err = 0;
	uint32_t done = 0;
	while (done < count && err == 0) {
		uint32_t n = count - done < FOLIO_MAX_HANDLES ? count - done : FOLIO_MAX_HANDLES;
		err = alloc_chunk(n, handles + done);
		if (err == 0)
			done += n;
	}
	if (err != 0 && done > 0)
		run_free_folios(handles, done);
	run_in_library--;
	return err;
}

void run_free_folios(const uint32_t *handles, uint32_t count)
{
	run_in_library++;
	int32_t status[256];
	for (uint32_t done = 0; done < count;) {
		uint32_t n = count - done < 256 ? count - done : 256;
		folio_free(run.requests, handles + done, n, status);
		done += n;
	}
	run_in_library--;
}

int run_where_valid(uint64_t where)
{
	int tier = run_where_tier(where);
	uint64_t offset = run_where_offset(where);
	return tier < run.tier_count && offset % RUN_SLOT == 0 && offset <= run.tier_size[tier] &&
	       run.tier_size[tier] - offset >= RUN_SLOT;
}

/* A fork's child: another parent thread may have been connecting. */
void run_session_reset_child(void)
{
	pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
	connect_lock = fresh;
}

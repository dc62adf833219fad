/* Connecting, and every request: PROTOCOL.md sections 1-4 and 7. */
#include "client.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "wire.h"

/* Every fd a reply may carry: the folio table, the pin table and one memfd per tier. */
#define MAX_REPLY_FDS (FOLIO_MAX_TIERS + 2)

struct received {
	uint8_t bytes[FOLIO_WIRE_MAX_BYTES];
	size_t length;
	int fds[MAX_REPLY_FDS];
	int fd_count;
};

static void close_fds(struct received *m)
{
	for (int i = 0; i < m->fd_count; i++)
		close(m->fds[i]);
	m->fd_count = 0;
}

/* Keeps the fds of one SCM_RIGHTS message; 1 if there were more than a reply may carry (those
 * are closed at once: no path may leak a descriptor a peer pushed on us). */
static int take_fds(struct received *m, const struct cmsghdr *h)
{
	size_t count = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
	int excess = 0;
	for (size_t i = 0; i < count; i++) {
		int fd;
		memcpy(&fd, CMSG_DATA(h) + i * sizeof(int), sizeof(int));
		if (m->fd_count < MAX_REPLY_FDS) {
			m->fds[m->fd_count++] = fd;
		} else {
			close(fd);
			excess = 1;
		}
	}
	return excess;
}

/* One message and any fds it carries. 0, -ECONNRESET (the daemon closed), -EBADMSG (fds or
 * bytes cut short, or more fds than any reply carries), or the call's errno. Whenever it does
 * not return 0, m holds no fd. */
static int receive(int fd, struct received *m, int flags)
{
	union {
		struct cmsghdr header;
		char space[CMSG_SPACE(sizeof(int) * MAX_REPLY_FDS)];
	} control;
	memset(&control, 0, sizeof(control));
	struct iovec iov = { m->bytes, sizeof(m->bytes) };
	struct msghdr msg = { 0 };
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = control.space;
	msg.msg_controllen = sizeof(control.space);
	m->fd_count = 0;
	ssize_t n;
	do {
		n = recvmsg(fd, &msg, flags | MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	int excess = 0;
	for (struct cmsghdr *h = CMSG_FIRSTHDR(&msg); h; h = CMSG_NXTHDR(&msg, h)) {
		if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS)
			excess |= take_fds(m, h);
	}
	/* A zero-length message may still carry fds: they go too. */
	if (excess || n == 0 || (msg.msg_flags & (MSG_CTRUNC | MSG_TRUNC))) {
		close_fds(m);
		return n == 0 ? -ECONNRESET : -EBADMSG;
	}
	m->length = (size_t)n;
	return 0;
}

/* An error reply as -errno, its text kept in c->error (when there is a client). */
static int error_reply(folio_client *c, const struct folio_wire_reply *r)
{
	int32_t error;
	char text[256];
	if (folio_wire_error(r, &error, text, sizeof(text)) != 0 || error <= 0 || error > 4095)
		return -EBADMSG;
	if (c)
		memcpy(c->error, text, sizeof(text));
	return -error;
}

/* A daemon that refuses a connection answers at once and closes, perhaps before our request
 * arrived: its answer is still queued. The error it holds, or `fallback`. */
static int queued_refusal(folio_client *c, int fd, struct received *m, int fallback)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		if (receive(fd, m, MSG_DONTWAIT) != 0)
			continue;
		close_fds(m);
		struct folio_wire_reply r;
		if (folio_wire_parse(m->bytes, m->length, &r) == 0 && r.kind == FOLIO_WIRE_ERROR)
			return error_reply(c, &r);
		return fallback;
	}
	return fallback;
}

/* Sends `length` bytes of `out` and receives the reply to request `id` into m, checked: an
 * error reply becomes -errno. On success m may hold fds, which the caller owns. */
static int round_trip(folio_client *c, int fd, const uint8_t *out, size_t length, uint32_t id,
		      struct received *m, struct folio_wire_reply *reply)
{
	ssize_t sent;
	do {
		sent = send(fd, out, length, MSG_NOSIGNAL);
	} while (sent < 0 && errno == EINTR);
	if (sent < 0)
		return queued_refusal(c, fd, m, -errno);
	int err = receive(fd, m, 0);
	if (err != 0)
		return err == -EBADMSG ? err : queued_refusal(c, fd, m, err);
	err = folio_wire_parse(m->bytes, m->length, reply);
	if (err == 0 && reply->kind == FOLIO_WIRE_ERROR)
		err = error_reply(c, reply);
	else if (err == 0 && reply->id != id)
		err = -EBADMSG;
	if (err != 0)
		close_fds(m);
	return err;
}

typedef size_t (*encode_fn)(uint8_t *out, size_t cap, uint32_t id, const void *args);
/* Reads a checked reply into `result`; runs under the client's lock, while the reply is still
 * in the client's buffer. */
typedef int (*decode_fn)(const struct folio_wire_reply *reply, const void *args, void *result);

/* A request on an open client, through its buffers, under its lock (one in flight at a time). */
static int request(folio_client *c, encode_fn encode, decode_fn decode, const void *args, void *result)
{
	pthread_mutex_lock(&c->lock);
	uint32_t id = c->next_id++;
	size_t length = encode(c->out, FOLIO_WIRE_MAX_BYTES, id, args);
	struct folio_wire_reply reply;
	int err = length ? round_trip(c, c->fd, c->out, length, id, c->in, &reply) : -EINVAL;
	close_fds(c->in);
	if (err == 0)
		err = decode(&reply, args, result);
	pthread_mutex_unlock(&c->lock);
	return err;
}

/* Each request's arguments, so one `request` serves them all. */
struct handles_args {
	uint16_t tier;
	uint8_t order, reason;
	const uint32_t *handles;
	uint32_t count;
	int tier_count;  /* what a migrated status may name */
};

static size_t encode_allocate(uint8_t *out, size_t cap, uint32_t id, const void *a)
{
	const struct handles_args *h = a;
	return folio_wire_allocate(out, cap, id, h->tier, h->order, h->count);
}

static size_t encode_free(uint8_t *out, size_t cap, uint32_t id, const void *a)
{
	const struct handles_args *h = a;
	return folio_wire_free(out, cap, id, h->handles, h->count);
}

static size_t encode_migrate(uint8_t *out, size_t cap, uint32_t id, const void *a)
{
	const struct handles_args *h = a;
	return folio_wire_migrate(out, cap, id, h->tier, h->reason, h->handles, h->count);
}

static size_t encode_stats(uint8_t *out, size_t cap, uint32_t id, const void *a)
{
	(void)a;
	return folio_wire_stats(out, cap, id);
}

static size_t encode_destroy(uint8_t *out, size_t cap, uint32_t id, const void *a)
{
	(void)a;
	return folio_wire_destroy(out, cap, id);
}

static int connect_socket(const char *path, int *out)
{
	struct sockaddr_un address = { .sun_family = AF_UNIX };
	size_t n = strlen(path);
	if (n == 0 || n >= sizeof(address.sun_path))
		return n == 0 ? -EINVAL : -ENAMETOOLONG;
	memcpy(address.sun_path, path, n + 1);
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int err;
	do {
		err = connect(fd, (struct sockaddr *)&address, sizeof(address));
	} while (err < 0 && errno == EINTR);
	if (err < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	*out = fd;
	return 0;
}

static void unmap_all(folio_client *c)
{
	if (c->table)
		munmap(c->table, FOLIO_TABLE_BYTES);
	if (c->pins)
		munmap(c->pins, FOLIO_PIN_TABLE_BYTES);
	for (int i = 0; i < c->tier_count; i++) {
		if (c->tiers[i].base)
			munmap(c->tiers[i].base, c->tiers[i].size);
	}
}

static void *map(int fd, size_t length)
{
	void *p = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	return p == MAP_FAILED ? NULL : p;
}

/*
 * A received descriptor checked against the size it is to be mapped with: a regular file (a
 * memfd is one) of at least `size` bytes. mmap accepts a shorter file, and the first touch past
 * its end is SIGBUS, so a short one is refused here, before anything is mapped.
 */
static int check_descriptor(int fd, uint64_t size)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || st.st_size < 0 || (uint64_t)st.st_size < size)
		return -EBADMSG;
	return 0;
}

/* One tier of the attached reply, checked and kept: a name C can hold, a size this process can
 * map and that its memfd really has. */
static int take_tier(struct folio_tier *tier, const struct folio_wire_tier *wire, int fd)
{
	if (wire->name_length == 0 || wire->name_length > FOLIO_NAME_MAX || memchr(wire->name, 0, wire->name_length))
		return -EBADMSG;
	if (wire->size == 0 || (uint64_t)(size_t)wire->size != wire->size)
		return -EBADMSG;
	int err = check_descriptor(fd, wire->size);
	if (err != 0)
		return err;
	memcpy(tier->name, wire->name, wire->name_length);
	tier->name[wire->name_length] = '\0';
	tier->size = wire->size;
	return 0;
}

/* CLOEXEC copies of the tier memfds, for a caller that maps folios itself later. */
static int keep_tier_fds(folio_client *c, const struct received *m, uint16_t count)
{
	for (uint16_t i = 0; i < count; i++) {
		c->tier_fds[i] = fcntl(m->fds[2 + i], F_DUPFD_CLOEXEC, 3);
		if (c->tier_fds[i] < 0)
			return -errno;
	}
	return 0;
}

/* Takes the attached reply's tiers and maps its fds (which the caller closes). Everything is
 * checked before the first mmap: a refused reply maps nothing. */
static int adopt(folio_client *c, const struct folio_wire_reply *r, const struct received *m)
{
	struct folio_wire_tier tiers[FOLIO_MAX_TIERS];
	uint16_t count;
	if (folio_wire_attached(r, &c->space, &count, tiers, FOLIO_MAX_TIERS) != 0 || m->fd_count != count + 2)
		return -EBADMSG;
	int err = check_descriptor(m->fds[0], FOLIO_TABLE_BYTES);
	if (err == 0)
		err = check_descriptor(m->fds[1], FOLIO_PIN_TABLE_BYTES);
	for (uint16_t i = 0; i < count && err == 0; i++)
		err = take_tier(&c->tiers[i], &tiers[i], m->fds[2 + i]);
	if (err != 0)
		return err;
	c->table = map(m->fds[0], FOLIO_TABLE_BYTES);
	c->pins = map(m->fds[1], FOLIO_PIN_TABLE_BYTES);
	if (!c->table || !c->pins)
		return -errno;
	if (c->connect_flags & FOLIO_CONNECT_KEEP_FDS)
		err = keep_tier_fds(c, m, count);
	if (err != 0 || (c->connect_flags & FOLIO_CONNECT_NO_TIER_MAPS)) {
		c->tier_count = count;
		return err;
	}
	for (uint16_t i = 0; i < count; i++) {
		c->tiers[i].base = map(m->fds[2 + i], c->tiers[i].size);
		if (!c->tiers[i].base)
			return -errno;
		c->tier_count = i + 1;
	}
	c->tier_count = count;
	return 0;
}

static int connect_once(const char *socket_path, const char *space, uint32_t features, unsigned flags,
			folio_client **out);

/*
 * A daemon that took the connection as it stopped answers ESHUTDOWN. Under a service manager
 * the socket outlives it and the next instance answers within a restart's time, so that one
 * refusal is retried on a new connection for up to RESTART_WAIT_MS.
 */
#define RESTART_WAIT_MS 5000
#define RESTART_STEP_MS 20

/* Our attach: marks_writes, retried without the word for a daemon from before features. */
#define DEFAULT_FEATURES (~0u)

static int connect_retrying(const char *socket_path, const char *space, uint32_t features, unsigned flags,
			    folio_client **out)
{
	if (!socket_path || !out)
		return -EINVAL;
	*out = NULL;
	if (space && (strlen(space) == 0 || strlen(space) > FOLIO_NAME_MAX))
		return -EINVAL;
	int err = connect_once(socket_path, space, features, flags, out);
	for (int waited = 0; err == -ESHUTDOWN && waited < RESTART_WAIT_MS; waited += RESTART_STEP_MS) {
		struct timespec step = { 0, RESTART_STEP_MS * 1000000L };
		nanosleep(&step, NULL);
		err = connect_once(socket_path, space, features, flags, out);
	}
	return err;
}

int folio_connect(const char *socket_path, const char *space, folio_client **out)
{
	return connect_retrying(socket_path, space, DEFAULT_FEATURES, 0, out);
}

int folio_connect_features(const char *socket_path, const char *space, uint32_t features,
			   unsigned flags, folio_client **out)
{
	if (features == DEFAULT_FEATURES)
		return -EINVAL;
	return connect_retrying(socket_path, space, features, flags, out);
}

static int connect_once(const char *socket_path, const char *space, uint32_t features, unsigned flags,
			folio_client **out)
{
	/* The buffers every request of this client goes through, allocated once. */
	folio_client *c = calloc(1, sizeof(*c));
	uint8_t *out_buffer = malloc(FOLIO_WIRE_MAX_BYTES);
	struct received *in = malloc(sizeof(*in));
	int err = c && out_buffer && in ? connect_socket(socket_path, &c->fd) : -ENOMEM;
	if (err != 0) {
		free(c);
		free(out_buffer);
		free(in);
		return err;
	}
	c->out = out_buffer;
	c->in = in;
	c->in->fd_count = 0;
	c->connect_flags = flags;
	for (int i = 0; i < FOLIO_MAX_TIERS; i++)
		c->tier_fds[i] = -1;
	pthread_mutex_init(&c->lock, NULL);
	c->next_id = 2;
	struct folio_wire_reply reply = { 0 };
	int chosen = features != DEFAULT_FEATURES;
	size_t length = folio_wire_attach(c->out, FOLIO_WIRE_MAX_BYTES, 1, space,
					  chosen ? features : FOLIO_ATTACH_MARKS_WRITES);
	err = round_trip(c, c->fd, c->out, length, 1, c->in, &reply);
	if (err == -EBADMSG && reply.kind == FOLIO_WIRE_ERROR && !chosen) {
		/* A daemon from before attach features refuses the word as a malformed request and
		 * keeps the connection: attach as its clients did, and it counts our pins as it
		 * always has (any pin keeps a folio from moving). */
		length = folio_wire_attach(c->out, FOLIO_WIRE_MAX_BYTES, 1, space, 0);
		err = round_trip(c, c->fd, c->out, length, 1, c->in, &reply);
	}
	if (err == 0) {
		err = adopt(c, &reply, c->in);
		close_fds(c->in);
	}
	if (err != 0) {
		folio_close(c);
		return err;
	}
	c->attached = 1;
	*out = c;
	return 0;
}

void folio_close(folio_client *c)
{
	if (!c)
		return;
	unmap_all(c);
	close(c->fd);
	for (int i = 0; i < FOLIO_MAX_TIERS; i++) {
		if (c->tier_fds[i] >= 0)
			close(c->tier_fds[i]);
	}
	pthread_mutex_destroy(&c->lock);
	free(c->out);
	free(c->in);
	free(c);
}

int folio_tier(folio_client *c, const char *name)
{
	if (!c || !name)
		return -EINVAL;
	for (int i = 0; i < c->tier_count; i++) {
		if (strcmp(c->tiers[i].name, name) == 0)
			return i;
	}
	return -ENOENT;
}

int folio_tier_count(folio_client *c)
{
	return c ? c->tier_count : -EINVAL;
}

const char *folio_tier_name(folio_client *c, int tier)
{
	return c && tier >= 0 && tier < c->tier_count ? c->tiers[tier].name : NULL;
}

/* A per-handle errno as the daemon sends it: negative, and one that libc could name. */
static int is_errno(int32_t status)
{
	return status < 0 && status >= -4095;
}

static int decode_allocated(const struct folio_wire_reply *r, const void *args, void *result)
{
	const struct handles_args *h = args;
	uint32_t *handles = result;
	if (r->kind != FOLIO_WIRE_ALLOCATED || folio_wire_words(r, h->count, handles) != 0)
		return -EBADMSG;
	/* A handle past the folio table has no entry to pin it by. */
	for (uint32_t i = 0; i < h->count; i++) {
		if (handles[i] >= FOLIO_TABLE_ENTRIES)
			return -EBADMSG;
	}
	return 0;
}

static int decode_freed(const struct folio_wire_reply *r, const void *args, void *result)
{
	const struct handles_args *h = args;
	int32_t *status = result;
	if (r->kind != FOLIO_WIRE_FREED || folio_wire_words(r, h->count, result) != 0)
		return -EBADMSG;
	/* The caller negates a status to name it: INT32_MIN cannot be negated. */
	for (uint32_t i = 0; i < h->count; i++) {
		if (status[i] != 0 && !is_errno(status[i]))
			return -EBADMSG;
	}
	return 0;
}

static int decode_migrated(const struct folio_wire_reply *r, const void *args, void *result)
{
	const struct handles_args *h = args;
	int32_t *status = result;
	uint64_t times[3];
	uint32_t batches;
	if (folio_wire_migrated(r, times, &batches, h->count, status) != 0)
		return -EBADMSG;
	/* A tier index is used to index the caller's tier list, an errno to name the failure. */
	for (uint32_t i = 0; i < h->count; i++) {
		if (status[i] >= h->tier_count || (status[i] < 0 && !is_errno(status[i])))
			return -EBADMSG;
	}
	return 0;
}

static int decode_stats(const struct folio_wire_reply *r, const void *args, void *stats)
{
	(void)args;
	return folio_wire_stats_reply(r, stats);
}

static int decode_destroyed(const struct folio_wire_reply *r, const void *args, void *result)
{
	(void)args;
	(void)result;
	return r->kind == FOLIO_WIRE_DESTROYED && r->length == 0 ? 0 : -EBADMSG;
}

int folio_alloc(folio_client *c, int tier, unsigned order, uint32_t count, uint32_t *handles)
{
	if (!c || !handles || tier < 0 || tier > UINT16_MAX || order > FOLIO_MAX_ORDER || count == 0 || count > FOLIO_MAX_HANDLES)
		return -EINVAL;
	struct handles_args args = { .tier = (uint16_t)tier, .order = (uint8_t)order, .count = count };
	return request(c, encode_allocate, decode_allocated, &args, handles);
}

/* A free or migrate: the handles checked here; statuses go to `status`, or are read and
 * dropped when the caller passed NULL. */
static int handles_request(folio_client *c, encode_fn encode, decode_fn decode, const struct handles_args *args, int32_t *status)
{
	if (!c || !args->handles || args->count == 0 || args->count > FOLIO_MAX_HANDLES)
		return -EINVAL;
	int32_t *scratch = status ? status : malloc(sizeof(int32_t) * args->count);
	if (!scratch)
		return -ENOMEM;
	int err = request(c, encode, decode, args, scratch);
	if (!status)
		free(scratch);
	return err;
}

int folio_free(folio_client *c, const uint32_t *handles, uint32_t count, int32_t *status)
{
	struct handles_args args = { .handles = handles, .count = count };
	return handles_request(c, encode_free, decode_freed, &args, status);
}

int folio_migrate(folio_client *c, const uint32_t *handles, uint32_t count, int target_tier,
		  enum folio_reason reason, int32_t *status)
{
	if (target_tier < 0 || target_tier > UINT16_MAX || (unsigned)reason > FOLIO_REASON_COMPACTION)
		return -EINVAL;
	struct handles_args args = { .tier = (uint16_t)target_tier, .reason = (uint8_t)reason, .handles = handles, .count = count,
				     .tier_count = c ? c->tier_count : 0 };
	return handles_request(c, encode_migrate, decode_migrated, &args, status);
}

int folio_stats(folio_client *c, struct folio_stats *out)
{
	if (!c || !out)
		return -EINVAL;
	return request(c, encode_stats, decode_stats, NULL, out);
}

/* folio_stat's search: the counter called name[0..length), its value stored when found. */
struct stat_lookup {
	const char *name;
	size_t length;
	uint64_t *value;
};

static int match_counter(const uint8_t *name, uint16_t length, uint64_t value, void *arg)
{
	struct stat_lookup *l = arg;
	if (length != l->length || memcmp(name, l->name, length) != 0)
		return 0;
	*l->value = value;
	return 1;
}

static int decode_stat(const struct folio_wire_reply *r, const void *args, void *lookup)
{
	(void)args;
	int found = folio_wire_counters(r, match_counter, lookup);
	return found == 1 ? 0 : found == 0 ? -ENOENT : found;
}

int folio_stat(folio_client *c, const char *name, uint64_t *value)
{
	if (!c || !name || !value)
		return -EINVAL;
	struct stat_lookup lookup = { name, strlen(name), value };
	return request(c, encode_stats, decode_stat, NULL, &lookup);
}

/* folio_stat_list's text, as snprintf builds it: every byte counted, those that fit stored. */
struct stat_text {
	char *out;
	size_t room, length;
};

static void put_text(struct stat_text *t, const void *bytes, size_t n)
{
	if (t->length < t->room)
		memcpy(t->out + t->length, bytes, n < t->room - t->length ? n : t->room - t->length);
	t->length += n;
}

/* One "name value\n" line. A name with a space or a control character would make the lines
 * ambiguous to whoever splits them, so such a reply is refused. */
static int append_counter(const uint8_t *name, uint16_t length, uint64_t value, void *text)
{
	if (length == 0)
		return -EBADMSG;
	for (uint16_t i = 0; i < length; i++) {
		if (name[i] <= ' ' || name[i] == 0x7f)
			return -EBADMSG;
	}
	char number[24];
	int n = snprintf(number, sizeof(number), " %llu\n", (unsigned long long)value);
	put_text(text, name, length);
	put_text(text, number, (size_t)n);
	return 0;
}

static int decode_stat_list(const struct folio_wire_reply *r, const void *args, void *text)
{
	(void)args;
	return folio_wire_counters(r, append_counter, text);
}

int folio_stat_list(folio_client *c, char *buffer, size_t cap)
{
	if (!c || (!buffer && cap > 0))
		return -EINVAL;
	/* Fits an int: a 128 KiB reply holds at most 13,107 counters, 22 bytes more each as text. */
	struct stat_text text = { buffer, cap ? cap - 1 : 0, 0 };
	int err = request(c, encode_stats, decode_stat_list, NULL, &text);
	if (cap > 0)
		buffer[err != 0 ? 0 : text.length < text.room ? text.length : text.room] = '\0';
	return err != 0 ? err : (int)text.length;
}

int folio_destroy(folio_client *c)
{
	if (!c)
		return -EINVAL;
	int err = request(c, encode_destroy, decode_destroyed, NULL, NULL);
	if (err == 0)
		__atomic_store_n(&c->attached, 0, __ATOMIC_RELEASE);
	return err;
}

const char *folio_error_message(folio_client *c)
{
	return c ? c->error : "";
}

int folio_daemon_gone(folio_client *c)
{
	struct pollfd p = { .fd = c->fd, .events = POLLRDHUP };
	return poll(&p, 1, 0) != 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

/*
 * libfolio-run.so: an LD_PRELOAD library that serves a program's large anonymous memory from
 * foliod folios (PROTOCOL.md section 10). Internal declarations shared by its files.
 *
 * The model. One large PROT_NONE window is reserved at the first large request; every byte
 * the library serves lies in it, so "is this ours" is a range check. The window is cut into
 * 2 MiB slots, each backed by at most one order-9 folio mapped MAP_SHARED of its tier's memfd
 * (kind SLOT_FOLIO), or by kernel memory (SLOT_KERNEL: a forked child's private copy, or a
 * program's MAP_FIXED mapping). Every 4 KiB page of the window has one byte saying whether the
 * program maps it and with which protection; the kernel protection of a page is computed from
 * it and from its slot's state (revoked, armed by the heat scan), so it can always be rebuilt
 * exactly. The metadata lives in NORESERVE mappings of its own: no malloc anywhere here.
 */
#ifndef FOLIO_RUN_H
#define FOLIO_RUN_H

#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "client.h"

#define RUN_PAGE_SHIFT 12
#define RUN_PAGE ((size_t)1 << RUN_PAGE_SHIFT)
#define RUN_SLOT_SHIFT 21
#define RUN_SLOT ((size_t)1 << RUN_SLOT_SHIFT)
#define RUN_PAGES_PER_SLOT (RUN_SLOT / RUN_PAGE)
#define RUN_FOLIO_ORDER 9
#define RUN_NO_HANDLE UINT32_MAX

enum slot_kind { SLOT_FREE, SLOT_RESERVED, SLOT_FOLIO, SLOT_KERNEL };

/* slot.revoked bits: the daemon's revoke (until its remap), a fork's snapshot (until the
 * child has copied). The word is the futex writers wait on in the fault handler. */
#define REVOKED_DAEMON 1u
#define REVOKED_FORK 2u
/* slot.scan: armed by the heat scan (PROT_NONE), touched (a faulting thread waits for the
 * runtime thread to count the access and give the protection back). */
#define SCAN_ARMED 1u
#define SCAN_TOUCHED 2u
/* slot.flags */
#define SLOT_MALLOC_HEAD 1u

struct slot {
	uint32_t revoked;
	uint32_t scan;
	uint32_t handle;      /* SLOT_FOLIO: the folio's handle */
	uint16_t live;        /* pages of this slot the program maps */
	uint8_t kind;
	uint8_t flags;
	uint64_t where;       /* SLOT_FOLIO: tier << 56 | offset, where it is mapped now */
	uint32_t block_slots; /* a malloc block's head: the slots of the block */
	uint32_t io;          /* I/O calls in flight on this slot's pages (interpose_io.c): its pin */
};

/* The page byte: the program's protection (PROT_READ/WRITE/EXEC), whether it maps the page,
 * whether it locked it. */
#define PAGE_PROT 7u
#define PAGE_MAPPED 0x10u
#define PAGE_LOCKED 0x20u

enum run_mode { MODE_UNTRIED, MODE_CONNECTED, MODE_FALLBACK };

struct run_state {
	/* Set once, before any slot is used; read without the lock (release/acquire). */
	uintptr_t base, end;
	size_t slot_count;
	struct slot *slots;
	uint8_t *pages;
	uint32_t *handle_slot;   /* handle -> slot index + 1, 0 for none */

	pthread_mutex_t lock;    /* every field below, and all slot and page state */
	pid_t lock_owner;
	size_t slot_top;         /* no slot at or past it has ever been used */

	int mode;
	folio_client *requests;  /* the request connection */
	folio_client *channel;   /* the runtime channel (NULL: none) */
	int tier;                /* where new folios go first */
	int tier_count;
	int tier_fd[FOLIO_MAX_TIERS];
	uint64_t tier_size[FOLIO_MAX_TIERS];
	int punch_ok[FOLIO_MAX_TIERS];
	int event_fd;            /* the fault handler wakes the runtime thread through it */
	int runtime_alive;
	char space[FOLIO_NAME_MAX + 1];
};

/* What foliod-run passed (config.c). */
struct run_config {
	char socket[108];
	char tier[FOLIO_NAME_MAX + 1];
	char name[FOLIO_NAME_MAX + 1];
	int name_set;
	size_t min_bytes;
	unsigned scan_period_ms;
	size_t scan_bytes;
};

extern struct run_state run;
extern struct run_config run_config;

/* config.c */
void run_config_load(void);

/* raw.c: the kernel's calls, never through an interposed symbol. */
void *raw_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
int raw_munmap(void *addr, size_t len);
int raw_mprotect(void *addr, size_t len, int prot);
void *raw_mremap(void *old, size_t old_len, size_t new_len, int flags, void *new_addr);
int raw_madvise(void *addr, size_t len, int advice);
int raw_mlock(const void *addr, size_t len);
int raw_munlock(const void *addr, size_t len);
int raw_close(int fd);
int raw_punch(int fd, uint64_t offset, uint64_t len);
void raw_futex_wait(uint32_t *word, uint32_t value, long timeout_ns);
void raw_futex_wake(uint32_t *word);
pid_t raw_gettid(void);
/* A raw reservation of [addr, addr + len): PROT_NONE anonymous memory, nothing committed. */
int raw_reserve(void *addr, size_t len);
void run_note(const char *why);
void run_debug(const char *what, long value);

/* lock.c */
void run_lock(void);
void run_unlock(void);
int run_lock_held_by_me(void);
/* Set while a thread runs libfolio or pthread code for us: its malloc goes to glibc. */
extern __thread int run_in_library __attribute__((tls_model("initial-exec")));

/* window.c */
int run_window_ready(void);   /* reserves the window at first use; 0 or -errno */
static inline int run_ours(const void *p)
{
	uintptr_t a = (uintptr_t)p;
	return a >= __atomic_load_n(&run.base, __ATOMIC_ACQUIRE) && a < __atomic_load_n(&run.end, __ATOMIC_ACQUIRE);
}
static inline size_t run_slot_of(uintptr_t a) { return (a - run.base) >> RUN_SLOT_SHIFT; }
static inline size_t run_page_of(uintptr_t a) { return (a - run.base) >> RUN_PAGE_SHIFT; }
static inline uintptr_t run_slot_addr(size_t s) { return run.base + (s << RUN_SLOT_SHIFT); }
long run_window_carve(size_t count, size_t align_slots);
int run_window_take(size_t first, size_t count);
void run_window_release(size_t first, size_t count);

/* prot.c */
int run_effective_prot(size_t page);
void run_apply_prot(size_t first_page, size_t end_page);
void run_relock(size_t first_page, size_t end_page);

/* session.c */
int run_connect(void);
int run_alloc_folios(uint32_t count, uint32_t *handles);
void run_free_folios(const uint32_t *handles, uint32_t count);
int run_where_valid(uint64_t where);
static inline int run_where_tier(uint64_t where) { return (int)(where >> 56); }
static inline uint64_t run_where_offset(uint64_t where) { return where & ((UINT64_C(1) << 56) - 1); }

/* regions.c */
void *run_region_create(size_t len, size_t align, int prot, int malloc_block);
int run_region_fill(uintptr_t addr, size_t len, int prot);
int run_region_unmap(uintptr_t addr, size_t len);
int run_map_folio(size_t slot, uint64_t where);
int run_range_uniform(uintptr_t addr, size_t len, int *prot);
int run_wait_settled(size_t slot);

/* interpose_mmap.c */
int run_mmap_eligible(size_t len, int prot, int flags);

/* fault.c */
int run_install_handler(void);

/* channel.c / scan.c */
int run_start_runtime(void);
void run_revoke(const uint32_t *handles, uint32_t count);
void run_restore(const uint32_t *handles, uint32_t count);
int32_t run_remap_one(uint32_t handle, uint64_t where);
void run_channel_lost(void);
void run_scan_step(void);
void run_scan_serve(void);
void run_scan_disarm_all(void);

/* fds.c */
int run_fd_adopt(int *ref);
void run_fd_forget_all(void);
int run_fd_is_ours(int fd);

/* fork.c */
void run_fork_init(void);

/* scan_settings.c: the heat scan's period and size, the daemon's unless foliod-run set them. */
void run_scan_settings_refresh(uint8_t *buffer, size_t cap);
unsigned run_scan_period_ms(void);
size_t run_scan_bytes(void);

#endif /* FOLIO_RUN_H */

/*
 * SIGSEGV. The library's handler serves the faults that are its own: a write to a folio the
 * daemon (or a fork) revoked waits until write access is back; the first touch of a folio the
 * heat scan armed waits for the runtime thread to count it and give the protection back. Both
 * then return, and the instruction runs again. Every other fault is the program's: its own
 * handler (the program's sigaction and signal calls for SIGSEGV are kept here, not given to
 * the kernel) is called, or, with none, the default action is put back and the fault happens
 * again, so the program dies with a core as it would have.
 *
 * Async-signal-safe: atomics, futex waits, mprotect and write only; no lock, no malloc.
 */
#include "run.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))
#define WAIT_NS (10 * 1000 * 1000L)

extern int __sigaction(int, const struct sigaction *, struct sigaction *);

/* The program's SIGSEGV disposition, double-buffered so the handler never reads a torn one. */
static struct sigaction program_act[2];
static int program_current;
static int installed;
static pthread_mutex_t sig_lock = PTHREAD_MUTEX_INITIALIZER;
/* Faults in a row that looked transient (the runtime thread between two steps): past this
 * many the fault is taken as the program's, so a library bug cannot spin for ever. */
static __thread unsigned transient_run __attribute__((tls_model("initial-exec")));

static int is_write(const void *context)
{
#if defined(__x86_64__)
	const ucontext_t *uc = context;
	return (uc->uc_mcontext.gregs[REG_ERR] & 2) != 0;
#else
	(void)context;
	return 1;
#endif
}

static void wake_runtime(void)
{
	uint64_t one = 1;
	int fd = __atomic_load_n(&run.event_fd, __ATOMIC_RELAXED);
	if (fd >= 0)
		syscall(SYS_write, fd, &one, sizeof(one));
}

/* A scan touch: counted and restored by the runtime thread (or here, when this thread holds
 * the lock itself and so cannot wait for it). */
static void touch(size_t slot)
{
	struct slot *s = &run.slots[slot];
	uint32_t expected = SCAN_ARMED;
	if (run_lock_held_by_me()) {
		__atomic_store_n(&s->scan, 0, __ATOMIC_RELEASE);
		run_apply_prot(slot * RUN_PAGES_PER_SLOT, (slot + 1) * RUN_PAGES_PER_SLOT);
		return;
	}
	if (__atomic_compare_exchange_n(&s->scan, &expected, SCAN_TOUCHED, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		wake_runtime();
	uint32_t v = __atomic_load_n(&s->scan, __ATOMIC_ACQUIRE);
	if (v != 0 && __atomic_load_n(&run.runtime_alive, __ATOMIC_ACQUIRE))
		raw_futex_wait(&s->scan, v, WAIT_NS);
}

/* 1 if the fault is the library's to serve (the instruction is to run again). */
static int serve(const siginfo_t *info, const void *context)
{
	if (info->si_code != SEGV_ACCERR || !run_ours(info->si_addr))
		return 0;
	uintptr_t a = (uintptr_t)info->si_addr;
	size_t slot = run_slot_of(a);
	struct slot *s = &run.slots[slot];
	uint8_t kind = __atomic_load_n(&s->kind, __ATOMIC_ACQUIRE);
	if (kind == SLOT_FOLIO) {
		if (__atomic_load_n(&s->scan, __ATOMIC_ACQUIRE) != 0) {
			touch(slot);
			return 1;
		}
		uint32_t revoked = __atomic_load_n(&s->revoked, __ATOMIC_ACQUIRE);
		if (revoked != 0) {
			raw_futex_wait(&s->revoked, revoked, WAIT_NS);
			return 1;
		}
	}
	if (kind != SLOT_FOLIO && kind != SLOT_KERNEL)
		return 0;
	/* Nothing of ours stands in the way: allowed by the program's protection means the
	 * runtime thread is between restoring it and saying so. */
	uint8_t b = run.pages[run_page_of(a)];
	int need = is_write(context) ? PROT_WRITE : PROT_READ;
	if (!(b & PAGE_MAPPED) || !(b & need) || ++transient_run > 100000)
		return 0;
	syscall(SYS_sched_yield);
	return 1;
}

static void chain(int sig, siginfo_t *info, void *context)
{
	struct sigaction act = program_act[__atomic_load_n(&program_current, __ATOMIC_ACQUIRE)];
	if (act.sa_handler == SIG_DFL || act.sa_handler == SIG_IGN) {
		/* The fault happens again on return, with the kernel's default: a core, as without us. */
		struct sigaction dfl;
		memset(&dfl, 0, sizeof(dfl));
		dfl.sa_handler = SIG_DFL;
		__sigaction(SIGSEGV, &dfl, NULL);
		return;
	}
	sigset_t mask = act.sa_mask, old;
	if (!(act.sa_flags & SA_NODEFER))
		sigaddset(&mask, sig);
	sigprocmask(SIG_BLOCK, &mask, &old);
	if (act.sa_flags & SA_RESETHAND) {
		int next = 1 - __atomic_load_n(&program_current, __ATOMIC_ACQUIRE);
		memset(&program_act[next], 0, sizeof(program_act[next]));
		program_act[next].sa_handler = SIG_DFL;
		__atomic_store_n(&program_current, next, __ATOMIC_RELEASE);
	}
	if (act.sa_flags & SA_SIGINFO)
		act.sa_sigaction(sig, info, context);
	else
		act.sa_handler(sig);
	sigprocmask(SIG_SETMASK, &old, NULL);
}

static void handler(int sig, siginfo_t *info, void *context)
{
	int saved = errno;
	if (serve(info, context)) {
		errno = saved;
		return;
	}
	transient_run = 0;
	chain(sig, info, context);
	errno = saved;
}

int run_install_handler(void)
{
	pthread_mutex_lock(&sig_lock);
	int err = 0;
	if (!installed) {
		struct sigaction mine;
		memset(&mine, 0, sizeof(mine));
		mine.sa_sigaction = handler;
		mine.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK | SA_NODEFER;
		sigemptyset(&mine.sa_mask);
		err = __sigaction(SIGSEGV, &mine, &program_act[0]);
		if (err == 0) {
			__atomic_store_n(&program_current, 0, __ATOMIC_RELEASE);
			installed = 1;
		}
	}
	pthread_mutex_unlock(&sig_lock);
	return err;
}

EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	if (sig != SIGSEGV)
		return __sigaction(sig, act, old);
	pthread_mutex_lock(&sig_lock);
	int r = 0;
	if (!installed) {
		r = __sigaction(sig, act, old);
	} else {
		int cur = __atomic_load_n(&program_current, __ATOMIC_ACQUIRE);
		if (old)
			*old = program_act[cur];
		if (act) {
			program_act[1 - cur] = *act;
			__atomic_store_n(&program_current, 1 - cur, __ATOMIC_RELEASE);
		}
	}
	pthread_mutex_unlock(&sig_lock);
	return r;
}

/* glibc's signal(): BSD semantics (the handler stays, calls restart, the signal is blocked
 * while its handler runs), through sigaction so SIGSEGV's is kept here. */
EXPORT sighandler_t signal(int sig, sighandler_t h)
{
	struct sigaction act, old;
	memset(&act, 0, sizeof(act));
	act.sa_handler = h;
	sigemptyset(&act.sa_mask);
	if (sig > 0 && sig < NSIG)
		sigaddset(&act.sa_mask, sig);
	act.sa_flags = SA_RESTART;
	if (sigaction(sig, &act, &old) != 0)
		return SIG_ERR;
	return old.sa_handler;
}

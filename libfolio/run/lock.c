/*
 * The library lock. It guards every slot and page byte and the connection state. While a
 * thread holds it, asynchronous signals are blocked in that thread: a program's signal
 * handler that allocated (or touched a revoked page) while this thread held the lock would
 * otherwise deadlock against it. Synchronous faults stay deliverable; the library's own code
 * never faults on program memory while it holds the lock.
 */
#include "run.h"

#include <signal.h>

__thread int run_in_library __attribute__((tls_model("initial-exec")));
static __thread sigset_t saved_mask __attribute__((tls_model("initial-exec")));

void run_lock(void)
{
	sigset_t all;
	sigfillset(&all);
	sigdelset(&all, SIGSEGV);
	sigdelset(&all, SIGBUS);
	sigdelset(&all, SIGILL);
	sigdelset(&all, SIGFPE);
	sigdelset(&all, SIGTRAP);
	pthread_sigmask(SIG_BLOCK, &all, &saved_mask);
	pthread_mutex_lock(&run.lock);
	__atomic_store_n(&run.lock_owner, raw_gettid(), __ATOMIC_RELAXED);
}

void run_unlock(void)
{
	__atomic_store_n(&run.lock_owner, 0, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&run.lock);
	pthread_sigmask(SIG_SETMASK, &saved_mask, NULL);
}

int run_lock_held_by_me(void)
{
	return __atomic_load_n(&run.lock_owner, __ATOMIC_RELAXED) == raw_gettid();
}

/* A fork's child: the lock the forking thread took in prepare is held by a thread id that
 * does not exist here. A fresh lock, and the signal mask back. */
void run_lock_reset_child(void)
{
	pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
	run.lock = fresh;
	run.lock_owner = 0;
	pthread_sigmask(SIG_SETMASK, &saved_mask, NULL);
}

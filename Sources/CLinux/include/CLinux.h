// The few Linux calls Swift cannot make directly: the variadic syscall() (futex, mbind,
// memfd_create), the CMSG_* macros for SCM_RIGHTS, and what <pthread.h> and <poll.h> declare
// only under _GNU_SOURCE. Nothing else belongs here.
#ifndef FOLIOD_CLINUX_H
#define FOLIOD_CLINUX_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

/// memfd_create(2) flags.
static const unsigned int clinux_mfd_cloexec = 0x0001U;
static const unsigned int clinux_mfd_hugetlb = 0x0004U;

/// POLLRDHUP, which <poll.h> defines only under _GNU_SOURCE: the peer shut its sending side.
static const short clinux_pollrdhup = 0x2000;

/// memfd_create(2). Returns the fd or -1 with errno set.
int clinux_memfd_create(const char *name, unsigned int flags);

/// FUTEX_WAIT on a word that may be shared between processes. Returns 0, or -1 with errno
/// (EAGAIN when *word != expected, ETIMEDOUT, EINTR).
int clinux_futex_wait(uint32_t *word, uint32_t expected, const struct timespec *timeout);

/// FUTEX_WAKE: wakes up to `count` waiters. Returns the number woken or -1 with errno.
int clinux_futex_wake(uint32_t *word, int count);

/// mbind(2) with MPOL_BIND to one node. Returns 0 or -1 with errno.
int clinux_mbind_node(void *address, unsigned long length, int node);

/// CMSG_SPACE / CMSG_LEN for `count` file descriptors.
size_t clinux_cmsg_space_fds(int count);
size_t clinux_cmsg_len_fds(int count);

/// Fills `control` (of clinux_cmsg_space_fds(count) bytes) with one SCM_RIGHTS message.
void clinux_cmsg_put_fds(void *control, const int *fds, int count);

/// Reads the SCM_RIGHTS fds of a received message into `fds` (at most `capacity`); returns
/// how many there were (fds beyond capacity are closed).
int clinux_cmsg_get_fds(struct msghdr *message, int *fds, int capacity);

/// Names the calling thread (the first 15 bytes of `name`), as `top -H` and `ps -L` show it.
void clinux_set_thread_name(const char *name);

/// accept4(fd, NULL, NULL, SOCK_CLOEXEC).
int clinux_accept_cloexec(int fd);

/// pipe2(ends, O_CLOEXEC), which Glibc's module leaves out (it needs _GNU_SOURCE).
int clinux_pipe_cloexec(int ends[2]);

/// SO_PEERCRED: the peer's pid, uid and gid. Returns 0 or -1 with errno.
int clinux_peer_credentials(int fd, int *pid, unsigned int *uid, unsigned int *gid);

/// SO_PEERGROUPS: the peer process's supplementary groups, at most `capacity` of them. Returns
/// how many it has (more than `capacity` means the list was cut), or -1 with errno.
int clinux_peer_groups(int fd, unsigned int *groups, int capacity);

/// TIOCGWINSZ (ioctl is variadic): the terminal's columns and rows. Returns 0 or -1 with errno.
int clinux_terminal_size(int fd, int *columns, int *rows);

#endif

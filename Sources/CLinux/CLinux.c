#define _GNU_SOURCE
#include "CLinux.h"

#include <linux/futex.h>
#include <string.h>
#include <errno.h>
#include <sys/syscall.h>
#include <pthread.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/ioctl.h>

#ifndef MPOL_BIND
#define MPOL_BIND 2
#endif

int clinux_memfd_create(const char *name, unsigned int flags) {
    return (int)syscall(SYS_memfd_create, name, flags);
}

int clinux_futex_wait(uint32_t *word, uint32_t expected, const struct timespec *timeout) {
    return (int)syscall(SYS_futex, word, FUTEX_WAIT, expected, timeout, NULL, 0);
}

int clinux_futex_wake(uint32_t *word, int count) {
    return (int)syscall(SYS_futex, word, FUTEX_WAKE, count, NULL, NULL, 0);
}

int clinux_mbind_node(void *address, unsigned long length, int node) {
    unsigned long mask[16];
    memset(mask, 0, sizeof(mask));
    if (node < 0 || node >= (int)(8 * sizeof(mask))) {
        errno = EINVAL;  // a stale errno (EINTR) would make the caller retry for ever
        return -1;
    }
    mask[node / (8 * sizeof(unsigned long))] |= 1UL << (node % (8 * sizeof(unsigned long)));
    return (int)syscall(SYS_mbind, address, length, MPOL_BIND, mask, 8 * sizeof(mask), 0);
}

size_t clinux_cmsg_space_fds(int count) { return CMSG_SPACE(sizeof(int) * (size_t)count); }
size_t clinux_cmsg_len_fds(int count) { return CMSG_LEN(sizeof(int) * (size_t)count); }

void clinux_cmsg_put_fds(void *control, const int *fds, int count) {
    struct msghdr message;
    memset(&message, 0, sizeof(message));
    message.msg_control = control;
    message.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)count);
    struct cmsghdr *header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)count);
    memcpy(CMSG_DATA(header), fds, sizeof(int) * (size_t)count);
}

int clinux_cmsg_get_fds(struct msghdr *message, int *fds, int capacity) {
    int found = 0;
    for (struct cmsghdr *header = CMSG_FIRSTHDR(message); header != NULL; header = CMSG_NXTHDR(message, header)) {
        if (header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS)
            continue;
        int count = (int)((header->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        int received[count > 0 ? count : 1];
        memcpy(received, CMSG_DATA(header), sizeof(int) * (size_t)count);
        for (int i = 0; i < count; i++) {
            if (found < capacity)
                fds[found] = received[i];
            else
                close(received[i]);
            found++;
        }
    }
    return found;
}

void clinux_set_thread_name(const char *name) {
    char shortened[16];
    strncpy(shortened, name, sizeof(shortened) - 1);
    shortened[sizeof(shortened) - 1] = '\0';
    pthread_setname_np(pthread_self(), shortened);
}

int clinux_accept_cloexec(int fd) { return accept4(fd, NULL, NULL, SOCK_CLOEXEC); }

int clinux_pipe_cloexec(int ends[2]) { return pipe2(ends, O_CLOEXEC); }

int clinux_peer_credentials(int fd, int *pid, unsigned int *uid, unsigned int *gid) {
    struct ucred credentials;
    socklen_t length = sizeof(credentials);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0)
        return -1;
    *pid = credentials.pid;
    *uid = credentials.uid;
    *gid = credentials.gid;
    return 0;
}

#ifndef SO_PEERGROUPS
#define SO_PEERGROUPS 59
#endif

int clinux_peer_groups(int fd, unsigned int *groups, int capacity) {
    socklen_t length = (socklen_t)(sizeof(gid_t) * (size_t)capacity);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &length) != 0) {
        if (errno != ERANGE)
            return -1;
    }
    return (int)(length / sizeof(gid_t));
}

int clinux_terminal_size(int fd, int *columns, int *rows) {
    struct winsize size;
    if (ioctl(fd, TIOCGWINSZ, &size) != 0) return -1;
    *columns = size.ws_col;
    *rows = size.ws_row;
    return 0;
}

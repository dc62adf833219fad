// The one header through which foliod reaches libfuse3 (3.14), its low-level API.
// Swift cannot import macros, bit-fields reliably, or the versioned symbol
// aliases, so everything foliod needs beyond plain functions is a static inline here.
#ifndef FOLIOD_CFUSE_SHIM_H
#define FOLIOD_CFUSE_SHIM_H

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>
#include <errno.h>
#include <stdio.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static inline int cfuse_file_flags(const struct fuse_file_info *fi) { return fi->flags; }
static inline uint64_t cfuse_file_handle(const struct fuse_file_info *fi) { return fi->fh; }

/// utimensat(2)'s special nanosecond values (macros in <sys/stat.h>).
static const long cfuse_utime_now = UTIME_NOW;
static const long cfuse_utime_omit = UTIME_OMIT;

/// The current time, for ctime and `UTIME_NOW`.
static inline struct timespec cfuse_now(void) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return now;
}

// ---- The low-level session foliod serves the tree with (KnobSession). ----

/// The kernel's side of the FUSE protocol that foliod reads itself (include/uapi/linux/fuse.h):
/// a request starts with a 40-byte fuse_in_header (len, opcode, unique, nodeid, ...), a reply
/// or notification with a 16-byte fuse_out_header (len, error, unique). A notification has
/// unique 0 and its code in `error`.
enum {
    cfuse_in_header_bytes = 40,
    cfuse_out_header_bytes = 16,
    cfuse_opcode_init = 26,
    cfuse_opcode_poll = 40,
    cfuse_notify_poll = 1,
    cfuse_notify_resend = 7,  // Linux 6.9: requests read but not answered go back to the queue
};

static inline struct fuse_session *cfuse_session_new(struct fuse_args *args,
                                                     const struct fuse_lowlevel_ops *ops,
                                                     void *userdata) {
    return fuse_session_new(args, ops, sizeof(*ops), userdata);
}

typedef ssize_t (*cfuse_read_fn)(int fd, void *buf, size_t len, void *userdata);
typedef ssize_t (*cfuse_writev_fn)(int fd, struct iovec *iov, int count, void *userdata);

/// Serves the session over `fd` through foliod's own read and writev (no splice), so it can
/// see every request and answer a connection another process initialized.
static inline int cfuse_session_use_fd(struct fuse_session *se, int fd, cfuse_read_fn read_fn,
                                       cfuse_writev_fn writev_fn) {
    static struct fuse_custom_io io;
    io.read = read_fn;
    io.writev = writev_fn;
    io.splice_receive = NULL;
    io.splice_send = NULL;
    return fuse_session_custom_io(se, &io, fd);
}

/// Runs the multi-threaded loop of a low-level session until it exits.
static inline int cfuse_session_loop_mt(struct fuse_session *se, unsigned max_idle_threads) {
    struct fuse_loop_config *config = fuse_loop_cfg_create();
    if (config == NULL)
        return -1;
    fuse_loop_cfg_set_idle_threads(config, max_idle_threads);
    int res = fuse_session_loop_mt(se, config);
    fuse_loop_cfg_destroy(config);
    return res;
}

static inline unsigned cfuse_req_uid(fuse_req_t req) { return (unsigned)fuse_req_ctx(req)->uid; }
static inline int cfuse_req_pid(fuse_req_t req) { return (int)fuse_req_ctx(req)->pid; }

/// A lookup's answer: node `ino` with `attr`, names and attributes cached for `timeout` s.
static inline int cfuse_reply_entry(fuse_req_t req, uint64_t ino, const struct stat *attr, double timeout) {
    struct fuse_entry_param entry;
    memset(&entry, 0, sizeof(entry));
    entry.ino = ino;
    entry.generation = 1;
    entry.attr = *attr;
    entry.attr_timeout = timeout;
    entry.entry_timeout = timeout;
    return fuse_reply_entry(req, &entry);
}

/// An open's answer: file handle `fh`, direct I/O so `cat` never sees a stale page-cache size.
static inline int cfuse_reply_open(fuse_req_t req, struct fuse_file_info *fi, uint64_t fh) {
    fi->fh = fh;
    fi->direct_io = 1;
    fi->keep_cache = 0;
    return fuse_reply_open(req, fi);
}

/// Appends one directory entry at `offset` (the next entry's offset is `next`); returns the
/// bytes it needs, which the caller compares with what was left.
static inline size_t cfuse_add_direntry(fuse_req_t req, char *buf, size_t left, const char *name,
                                        uint64_t ino, mode_t mode, off_t next) {
    struct stat attr;
    memset(&attr, 0, sizeof(attr));
    attr.st_ino = ino;
    attr.st_mode = mode;
    return fuse_add_direntry(req, buf, left, name, &attr, next);
}

static inline int cfuse_setattr_mode(int to_set) { return (to_set & FUSE_SET_ATTR_MODE) != 0; }
static inline int cfuse_setattr_uid(int to_set) { return (to_set & FUSE_SET_ATTR_UID) != 0; }
static inline int cfuse_setattr_gid(int to_set) { return (to_set & FUSE_SET_ATTR_GID) != 0; }
static inline int cfuse_setattr_atime(int to_set) { return (to_set & FUSE_SET_ATTR_ATIME) != 0; }
static inline int cfuse_setattr_atime_now(int to_set) { return (to_set & FUSE_SET_ATTR_ATIME_NOW) != 0; }
static inline int cfuse_setattr_mtime(int to_set) { return (to_set & FUSE_SET_ATTR_MTIME) != 0; }
static inline int cfuse_setattr_mtime_now(int to_set) { return (to_set & FUSE_SET_ATTR_MTIME_NOW) != 0; }

/// Mounts a FUSE file system served over `fd` (an open /dev/fuse) on `target`, as libfuse's
/// own mount does for root: the tree's options, and the kernel checks permissions.
static inline int cfuse_mount(const char *target, int fd) {
    char options[160];
    snprintf(options, sizeof(options),
             "fd=%d,rootmode=40000,user_id=0,group_id=0,default_permissions,allow_other", fd);
    return mount("foliod", target, "fuse.foliod", MS_NOSUID | MS_NODEV, options);
}

#endif

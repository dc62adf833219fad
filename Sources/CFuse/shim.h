// The one header through which foliod reaches libfuse3 (3.14).
// Swift cannot import macros, bit-fields reliably, or the versioned symbol
// aliases, so everything foliod needs beyond plain functions is a static inline here.
#ifndef FOLIOD_CFUSE_SHIM_H
#define FOLIOD_CFUSE_SHIM_H

#define FUSE_USE_VERSION 314
#include <fuse.h>
#include <fuse_lowlevel.h>
#include <poll.h>
#include <sys/stat.h>
#include <time.h>

static inline struct fuse *cfuse_new(struct fuse_args *args,
                                     const struct fuse_operations *ops,
                                     void *private_data) {
    return fuse_new(args, ops, sizeof(*ops), private_data);
}

/// Runs the multi-threaded loop until the session exits or the mount goes away.
static inline int cfuse_loop_mt(struct fuse *f, unsigned max_idle_threads) {
    struct fuse_loop_config *config = fuse_loop_cfg_create();
    if (config == NULL)
        return -1;
    fuse_loop_cfg_set_idle_threads(config, max_idle_threads);
    int res = fuse_loop_mt(f, config);
    fuse_loop_cfg_destroy(config);
    return res;
}

static inline void *cfuse_private_data(void) {
    struct fuse_context *ctx = fuse_get_context();
    return ctx ? ctx->private_data : NULL;
}

static inline unsigned cfuse_caller_uid(void) {
    struct fuse_context *ctx = fuse_get_context();
    return ctx ? (unsigned)ctx->uid : (unsigned)-1;
}

static inline int cfuse_caller_pid(void) {
    struct fuse_context *ctx = fuse_get_context();
    return ctx ? (int)ctx->pid : -1;
}

/// Knob files are served with direct I/O so `cat` never sees a stale page-cache size.
static inline void cfuse_file_set_direct_io(struct fuse_file_info *fi) {
    fi->direct_io = 1;
    fi->keep_cache = 0;
}

static inline int cfuse_file_flags(const struct fuse_file_info *fi) { return fi->flags; }
static inline uint64_t cfuse_file_handle(const struct fuse_file_info *fi) { return fi->fh; }
static inline void cfuse_file_set_handle(struct fuse_file_info *fi, uint64_t fh) { fi->fh = fh; }

/// Static attributes: the kernel may cache attributes and names for a second.
static inline void cfuse_config_init(struct fuse_config *cfg) {
    cfg->use_ino = 0;
    cfg->kernel_cache = 0;
    cfg->direct_io = 1;
    cfg->entry_timeout = 1.0;
    cfg->attr_timeout = 1.0;
    cfg->negative_timeout = 0.0;
}

/// utimensat(2)'s special nanosecond values (macros in <sys/stat.h>).
static const long cfuse_utime_now = UTIME_NOW;
static const long cfuse_utime_omit = UTIME_OMIT;

/// The current time, for ctime and `UTIME_NOW`.
static inline struct timespec cfuse_now(void) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return now;
}

static inline int cfuse_fill_dir(fuse_fill_dir_t filler, void *buf, const char *name) {
    return filler(buf, name, NULL, 0, (enum fuse_fill_dir_flags)0);
}

#endif

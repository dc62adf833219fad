import CFuse

/// What `chmod`, `chown` and `touch` change on a node, kept per node as kernfs keeps its
/// `kernfs_iattrs`: root may change them on a sysfs file, and the new mode governs later
/// opens (a knob made 0444 refuses writes, for root too).
struct NodeAttributes: Sendable {
    /// Permission bits (07777).
    var mode: mode_t
    var uid: uid_t = 0
    var gid: gid_t = 0
    var accessed: timespec
    var modified: timespec
    var changed: timespec

    init(mode: mode_t, time: timespec) {
        self.mode = mode
        accessed = time
        modified = time
        changed = time
    }

    /// Whether some write bit is set.
    var hasWriteBit: Bool { mode & 0o222 != 0 }
    /// Whether some read bit is set.
    var hasReadBit: Bool { mode & 0o444 != 0 }

    /// `utimensat`'s two times, with `UTIME_NOW` and `UTIME_OMIT` as the call defines them.
    /// (Every change sets `changed`; the caller does that once for all of them.)
    mutating func touch(access: timespec, modification: timespec, now: timespec) {
        if let time = Self.resolve(access, now: now) { accessed = time }
        if let time = Self.resolve(modification, now: now) { modified = time }
    }

    private static func resolve(_ time: timespec, now: timespec) -> timespec? {
        switch time.tv_nsec {
        case Int(cfuse_utime_omit): nil
        case Int(cfuse_utime_now): now
        default: time
        }
    }
}

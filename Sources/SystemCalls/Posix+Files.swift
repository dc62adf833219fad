import Glibc
import SystemPackage

/// What stands at a path, as `stat` tells it.
public enum FileKind: Sendable, Equatable {
    case socket
    case directory
    case regular
    case other
}

extension Posix {
    /// `lstat(path)`'s file type: a symbolic link is not followed.
    public static func kind(ofLink path: String) throws(SystemCallError) -> FileKind {
        var info = Glibc.stat()
        try call("lstat \(path)") { lstat(path, &info) }
        return kind(info.st_mode)
    }

    /// `stat(path)`.
    public static func status(of path: String) throws(SystemCallError) -> Glibc.stat {
        var info = Glibc.stat()
        try call("stat \(path)") { stat(path, &info) }
        return info
    }

    /// `stat(path)`'s file type.
    public static func kind(of path: String) throws(SystemCallError) -> FileKind {
        kind(try status(of: path).st_mode)
    }

    /// `fstat(fd)`'s file type.
    public static func kind(of fd: FileDescriptor) throws(SystemCallError) -> FileKind {
        var info = Glibc.stat()
        try call("fstat") { fstat(fd.rawValue, &info) }
        return kind(info.st_mode)
    }

    /// `fcntl(fd, F_SETFD, FD_CLOEXEC)`; false when `fd` is not open (EBADF: a descriptor
    /// someone said was passed but is not there), which the caller answers by not using it.
    public static func setCloseOnExec(_ fd: Int32) -> Bool {
        fcntl(fd, F_SETFD, FD_CLOEXEC) == 0
    }

    /// Everything in `fd` (a small memfd: a journal, a handover, a space's metadata), read
    /// from offset 0; nil when it cannot be read whole or holds `limit` bytes or more.
    public static func contents(of fd: FileDescriptor, below limit: Int) -> [UInt8]? {
        var info = Glibc.stat()
        guard fstat(fd.rawValue, &info) == 0, info.st_size >= 0, info.st_size < limit else { return nil }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
        let count = (try? bytes.withUnsafeMutableBytes { try fd.read(fromAbsoluteOffset: 0, into: $0) }) ?? -1
        return count == bytes.count ? bytes : nil
    }

    /// `unlink(path)`.
    public static func unlink(_ path: String) throws(SystemCallError) {
        try call("unlink \(path)") { Glibc.unlink(path) }
    }

    /// `rename(from, to)`: replaces `to` in one step.
    public static func rename(_ from: String, _ to: String) throws(SystemCallError) {
        try call("rename \(from) to \(to)") { Glibc.rename(from, to) }
    }

    /// `chown(path, uid, gid)`.
    public static func chown(_ path: String, uid: UInt32, gid: UInt32) throws(SystemCallError) {
        try call("chown \(path)") { Glibc.chown(path, uid, gid) }
    }

    /// The effective uid of this process.
    public static var effectiveUserID: UInt32 { geteuid() }

    /// The gid of the group called `name`, or nil if there is none.
    public static func groupID(named name: String) -> UInt32? {
        getgrnam(name)?.pointee.gr_gid
    }

    private static func kind(_ mode: mode_t) -> FileKind {
        switch mode & S_IFMT {
        case S_IFSOCK: .socket
        case S_IFDIR: .directory
        case S_IFREG: .regular
        default: .other
        }
    }
}

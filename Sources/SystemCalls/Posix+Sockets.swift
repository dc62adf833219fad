import CLinux
import Glibc
import SystemPackage

extension Posix {
    /// The longest Unix socket path (`sun_path` holds 108 bytes with its NUL).
    public static let maxUnixPathBytes = 107

    /// Runs `body` with `path` as a `sockaddr_un` and its length. `@name` is the abstract name
    /// `\0name`, exactly as long as its name; a path ends at its NUL. A path over
    /// `maxUnixPathBytes` is ENAMETOOLONG, with a message that says the limit.
    public static func withUnixAddress<R>(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) throws(SystemCallError) -> R) throws(SystemCallError) -> R {
        var bytes = Array(path.utf8)
        guard bytes.count <= maxUnixPathBytes else {
            throw SystemCallError(call: "socket path \(path) is \(bytes.count) bytes; a Unix socket path holds at most \(maxUnixPathBytes)", errno: .fileNameTooLong)
        }
        let abstract = bytes.first == UInt8(ascii: "@")
        if abstract { bytes[0] = 0 }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + (abstract ? 0 : 1))
        let result = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                Result { () throws(SystemCallError) in try body(address, length) }
            }
        }
        return try result.get()
    }

    /// `poll` of one descriptor for `events`, waiting at most `timeoutMilliseconds` (-1: for
    /// ever); the events that fired.
    public static func poll(_ fd: Int32, events: Int16, timeoutMilliseconds: Int32) throws(SystemCallError) -> Int16 {
        var entry = pollfd(fd: fd, events: events, revents: 0)
        try call("poll") { Glibc.poll(&entry, 1, timeoutMilliseconds) }
        return entry.revents
    }

    /// Waits until one of `fds` is readable (or hung up), for at most `timeoutMilliseconds`
    /// (-1: for ever); per descriptor, whether it is.
    public static func waitReadable(_ fds: [Int32], timeoutMilliseconds: Int32) throws(SystemCallError) -> [Bool] {
        try wait(fds, for: Int16(POLLIN), timeoutMilliseconds: timeoutMilliseconds)
    }

    /// `poll(2)` of `fds` for `events` (`POLLPRI` for a sysfs-style change), at most
    /// `timeoutMilliseconds` (-1: for ever); per descriptor, whether anything came.
    public static func wait(_ fds: [Int32], for events: Int16, timeoutMilliseconds: Int32) throws(SystemCallError) -> [Bool] {
        var entries = fds.map { pollfd(fd: $0, events: events, revents: 0) }
        try call("poll") { Glibc.poll(&entries, nfds_t(entries.count), timeoutMilliseconds) }
        return entries.map { $0.revents != 0 }
    }

    /// `pipe2(O_CLOEXEC)`: its read and write ends, close-on-exec from the start (no window
    /// in which another thread's fork and exec could inherit them).
    public static func pipe() throws(SystemCallError) -> (read: Int32, write: Int32) {
        var ends: [Int32] = [-1, -1]
        try call("pipe2") { clinux_pipe_cloexec(&ends) }
        return (ends[0], ends[1])
    }

    /// `shutdown(fd, how)`.
    public static func shutdown(_ fd: Int32, _ how: Int32) throws(SystemCallError) {
        try call("shutdown") { Glibc.shutdown(fd, how) }
    }

    /// `close(fd)`, once: on Linux the descriptor is released even when close reports EINTR,
    /// so it is never retried (a retry could close a descriptor another thread just got).
    public static func close(_ fd: Int32) {
        let result = Glibc.close(fd)
        precondition(result == 0 || Glibc.errno != EBADF, "close(\(fd)): EBADF, a bug in the caller")
    }
}

import Glibc
import SystemPackage

/// The one helper every system call of the project goes through, in the style of SwiftNIO's
/// `System.swift`: it reads errno at once (before anything else can change it), retries EINTR,
/// and throws a `SystemCallError` that names the call. An errno that can only mean a bug in
/// the caller (EBADF: a descriptor already closed or never opened; EFAULT: a bad pointer) is a
/// precondition failure, not an error to handle.
public enum Posix {
    /// Runs `body` until it returns something other than -1 with EINTR; returns what it
    /// returned, or throws with `call` and the errno.
    @discardableResult
    public static func call(_ call: @autoclosure () -> String, _ body: () -> Int32) throws(SystemCallError) -> Int32 {
        while true {
            let result = body()
            if result != -1 { return result }
            let code = Errno(rawValue: Glibc.errno)
            precondition(code != .badFileDescriptor && code != .badAddress, "\(call()) failed with \(code.name): a bug in the caller")
            if code != .interrupted { throw SystemCallError(call: call(), errno: code) }
        }
    }

    /// `call` for calls that return a count (`ssize_t`): the count, or the error.
    @discardableResult
    public static func count(_ call: @autoclosure () -> String, _ body: () -> Int) throws(SystemCallError) -> Int {
        var count = 0
        try Self.call(call()) {
            count = body()
            return count >= 0 ? 0 : -1
        }
        return count
    }
}

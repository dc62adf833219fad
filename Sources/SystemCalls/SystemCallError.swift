import SystemPackage

/// A system call that failed: what was called (and on what), and the errno it set. The one
/// error type of every wrapper in the project, so a failure prints the same way wherever it
/// comes from: `connect /run/foliod.sock: Connection refused`.
public struct SystemCallError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The call, e.g. `mmap`, or a sentence that names the path it was about.
    public var call: String
    /// The errno it set.
    public var errno: Errno

    public var description: String { "\(call): \(errno)" }

    public init(call: String, errno: Errno) {
        self.call = call
        self.errno = errno
    }
}

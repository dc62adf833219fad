import FolioProtocol
import SystemCalls
import SystemPackage

/// A request the daemon refused, or a connection that failed, with the errno either gave.
public struct FolioClientError: Error, CustomStringConvertible, Equatable {
    /// The errno: the daemon's answer or the failed call's.
    public var errno: Errno
    /// What failed.
    public var message: String
    /// The daemon said so in an error reply (not a reply this client could not read).
    public var isDaemonsAnswer = false

    public init(errno: Errno, message: String) {
        self.errno = errno
        self.message = message
    }

    public var description: String { "\(message): \(errno)" }

    /// The same errno and message, whoever said it.
    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.errno == rhs.errno && lhs.message == rhs.message
    }

    init(_ error: SystemCallError) {
        self.init(errno: error.errno, message: error.call)
    }
}

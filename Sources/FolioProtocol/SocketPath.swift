import Glibc
import SystemPackage

/// Checks a path before a daemon listens on it, so that nothing but a stale socket is ever
/// removed and every refusal says what is wrong with the path.
public enum SocketPath {
    /// The longest path `sockaddr_un` holds (108 bytes with its NUL).
    public static let maxBytes = 107

    /// What stands at a socket path.
    public enum Occupant: Equatable, Sendable {
        /// Nothing: the daemon may bind.
        case nothing
        /// A socket no one answers: a daemon died; it may be replaced.
        case staleSocket
    }

    /// Looks at `path` and says whether a daemon may listen there; throws why not: a path too
    /// long (ENAMETOOLONG), a directory that does not exist (ENOENT), a directory at the path
    /// (EISDIR), a file that is not a socket (EEXIST), a socket a daemon answers (EADDRINUSE).
    public static func inspect(_ path: String) throws(SocketError) -> Occupant {
        let length = path.utf8.count
        guard length <= maxBytes else {
            throw SocketError(call: "socket path \(path) is \(length) bytes; a Unix socket path holds at most \(maxBytes)", errno: .fileNameTooLong)
        }
        guard !path.isEmpty else { throw SocketError(call: "socket path is empty", errno: .invalidArgument) }
        var info = stat()
        guard lstat(path, &info) == 0 else {
            let code = Errno(rawValue: Glibc.errno)
            guard code == .noSuchFileOrDirectory else { throw SocketError(call: "socket path \(path)", errno: code) }
            let directory = parent(of: path)
            var parentInfo = stat()
            guard stat(directory, &parentInfo) == 0 else {
                throw SocketError(call: "socket path \(path): directory \(directory)", errno: Errno(rawValue: Glibc.errno))
            }
            guard parentInfo.st_mode & S_IFMT == S_IFDIR else { throw SocketError(call: "socket path \(path): \(directory) is not a directory", errno: .notDirectory) }
            return .nothing
        }
        switch info.st_mode & S_IFMT {
        case S_IFSOCK:
            do {
                let probe = try SeqpacketSocket.connect(path: path)
                probe.close()
            } catch where error.errno == .connectionRefused {
                return .staleSocket
            } catch {
                throw SocketError(call: "socket path \(path): probing the socket there", errno: error.errno)
            }
            throw SocketError(call: "socket path \(path): a daemon already answers there", errno: .addressInUse)
        case S_IFDIR:
            throw SocketError(call: "socket path \(path) is a directory", errno: .isDirectory)
        default:
            throw SocketError(call: "socket path \(path) is a file that is not a socket; not replacing it", errno: .fileExists)
        }
    }

    /// Removes a stale socket found by `inspect`.
    static func removeStale(_ path: String) throws(SocketError) {
        guard unlink(path) == 0 || Glibc.errno == ENOENT else {
            throw SocketError(call: "removing the stale socket \(path)", errno: Errno(rawValue: Glibc.errno))
        }
    }

    private static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}

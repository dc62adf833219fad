import SystemCalls
import SystemPackage

/// Checks a path before a daemon listens on it, so that nothing but a stale socket is ever
/// removed and every refusal says what is wrong with the path.
public enum SocketPath {
    /// The longest path `sockaddr_un` holds (108 bytes with its NUL).
    public static let maxBytes = Posix.maxUnixPathBytes

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
    public static func inspect(_ path: String) throws(SystemCallError) -> Occupant {
        let length = path.utf8.count
        guard length <= maxBytes else {
            throw SystemCallError(call: "socket path \(path) is \(length) bytes; a Unix socket path holds at most \(maxBytes)", errno: .fileNameTooLong)
        }
        guard !path.isEmpty else { throw SystemCallError(call: "socket path is empty", errno: .invalidArgument) }
        let kind: FileKind
        do {
            kind = try Posix.kind(ofLink: path)
        } catch where error.errno == .noSuchFileOrDirectory {
            let directory = parent(of: path)
            let parentKind: FileKind
            do { parentKind = try Posix.kind(of: directory) } catch {
                throw SystemCallError(call: "socket path \(path): directory \(directory)", errno: error.errno)
            }
            guard parentKind == .directory else { throw SystemCallError(call: "socket path \(path): \(directory) is not a directory", errno: .notDirectory) }
            return .nothing
        } catch {
            throw SystemCallError(call: "socket path \(path)", errno: error.errno)
        }
        switch kind {
        case .socket:
            do {
                let probe = try SeqpacketSocket.connect(path: path)
                probe.close()
            } catch where error.errno == .connectionRefused {
                return .staleSocket
            } catch {
                throw SystemCallError(call: "socket path \(path): probing the socket there", errno: error.errno)
            }
            throw SystemCallError(call: "socket path \(path): a daemon already answers there", errno: .addressInUse)
        case .directory:
            throw SystemCallError(call: "socket path \(path) is a directory", errno: .isDirectory)
        case .regular, .other:
            throw SystemCallError(call: "socket path \(path) is a file that is not a socket; not replacing it", errno: .fileExists)
        }
    }

    /// Removes a stale socket found by `inspect`.
    static func removeStale(_ path: String) throws(SystemCallError) {
        do { try Posix.unlink(path) } catch where error.errno == .noSuchFileOrDirectory {
            // Gone already: nothing to replace.
        } catch {
            throw SystemCallError(call: "removing the stale socket \(path)", errno: error.errno)
        }
    }

    private static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}

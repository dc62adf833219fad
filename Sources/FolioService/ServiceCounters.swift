import Synchronization
import SystemCalls
import SystemPackage

/// The socket server's own counts for the stats reply (`service.*`): sessions now, and the
/// connections and attaches refused, by errno.
///
/// Refused, by where the server says no: at admission (EACCES outside the policy, EUSERS past
/// a session limit, ESHUTDOWN while stopping, EAGAIN when no thread can be started), when the
/// fd table is full (EMFILE or ENFILE, the client shed with the reserve descriptor), a session
/// idle before it attaches (ETIMEDOUT), and an attach refused (EDQUOT past
/// `named_spaces_per_uid`, ENOSPC past `named_spaces`, EACCES for another uid's name, …).
public final class ServiceCounters: Sendable {
    /// The errnos always listed, zero or not, so that a monitor sees each from the start.
    public static let listed: [Errno] = [
        .permissionDenied, .tooManyUsers, .socketShutdown, .resourceTemporarilyUnavailable,
        .tooManyOpenFiles, .tooManyOpenFilesInSystem, .timedOut, .diskQuotaExceeded, .noSpace,
    ]

    private let sessionsNow = Atomic<Int>(0)
    private let refusals = Mutex<[(errno: Errno, count: UInt64)]>(ServiceCounters.listed.map { ($0, 0) })

    public init() {}

    /// Sessions being served now.
    public var sessions: Int { sessionsNow.load(ordering: .relaxed) }

    /// Each errno's refusals, the listed ones first, then any other in the order first seen.
    public var refused: [(errno: Errno, count: UInt64)] { refusals.withLock { $0 } }

    func sessionStarted() { sessionsNow.add(1, ordering: .relaxed) }
    func sessionEnded() { sessionsNow.subtract(1, ordering: .relaxed) }

    func refused(_ errno: Errno) {
        refusals.withLock { refusals in
            if let index = refusals.firstIndex(where: { $0.errno == errno }) {
                refusals[index].count += 1
            } else {
                refusals.append((errno, 1))
            }
        }
    }
}

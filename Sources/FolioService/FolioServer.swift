import FolioMemory
import FolioProtocol
import Foundation
import Migration
import Synchronization
import SystemPackage

/// How much the service gives out.
public struct ServiceLimits: Sendable {
    /// Sessions at once; one more is answered EUSERS and closed.
    public var sessions: Int
    /// What each address space may hold.
    public var space: SpaceLimits

    public init(sessions: Int = 256, space: SpaceLimits = SpaceLimits()) {
        self.sessions = sessions
        self.space = space
    }
}

/// The socket server: accepts clients on an OS thread and serves each session on its own,
/// so a slow or stuck client never holds up another.
public final class FolioServer: Sendable {
    /// The socket path.
    public let path: String
    private let listener: SeqpacketSocket
    private let registry: SpaceRegistry
    private let core: MigrationCore
    private let policy: AccessPolicy
    private let limits: ServiceLimits
    private let sessions = Mutex<[ObjectIdentifier: Session]>([:])
    private let acceptorDone = DispatchSemaphore(value: 0)

    /// Listens at `path` (mode 0660, group from `policy`). A stale socket file is replaced; a
    /// live daemon's is EADDRINUSE.
    public init(path: String, core: MigrationCore, tiers: [Tier], policy: AccessPolicy, limits: ServiceLimits = ServiceLimits()) throws(SocketError) {
        self.path = path
        self.core = core
        self.policy = policy
        self.limits = limits
        registry = SpaceRegistry(tiers: tiers, limits: limits.space)
        listener = try SeqpacketSocket.listen(path: path)
        do { try policy.secure(socketPath: path) } catch {
            throw SocketError(call: "\(error)", errno: .notPermitted)
        }
        let thread = Thread { [self] in
            acceptLoop()
            acceptorDone.signal()
        }
        thread.name = "foliod-accept"
        thread.start()
    }

    /// How long `stop()` lets the requests in flight finish.
    public static let drainTimeout = Duration.seconds(10)

    /// Stops accepting, lets each session answer the request it is serving (for at most
    /// `drainTimeout`), frees every space and removes the socket file.
    public func stop() {
        listener.shutdown()
        acceptorDone.wait()
        listener.close()
        unlink(path)
        for session in sessions.withLock({ Array($0.values) }) { session.stop() }
        let deadline = ContinuousClock.now + Self.drainTimeout
        while !sessions.withLock({ $0.isEmpty }) && ContinuousClock.now < deadline { usleep(1000) }
        // A session still inside a batch keeps its space mapped; the process exit frees it.
        if sessions.withLock({ $0.isEmpty }) { registry.destroyAll() }
    }

    private func acceptLoop() {
        while let connection = try? listener.accept() {
            guard let session = try? Session(socket: connection, registry: registry, core: core) else { continue }
            if let refusal = admit(session) {
                Thread { session.refuse(refusal) }.start()
                continue
            }
            let key = ObjectIdentifier(session)
            let thread = Thread { [self] in
                session.serve()
                _ = sessions.withLock { $0.removeValue(forKey: key) }
            }
            thread.name = "foliod-session"
            thread.start()
        }
    }

    /// Why `session` may not start (EACCES for a peer outside the policy, EUSERS past the
    /// session limit), or nil; an admitted session is counted at once.
    private func admit(_ session: Session) -> (Errno, String)? {
        guard policy.permits(uid: session.peer.uid, gid: session.peer.gid, groups: session.peerGroups) else { return (.permissionDenied, "not in the service's group") }
        return sessions.withLock { sessions in
            guard sessions.count < limits.sessions else { return (.tooManyUsers, "too many sessions (\(limits.sessions))") }
            sessions[ObjectIdentifier(session)] = session
            return nil
        }
    }
}

import FolioMemory
import FolioProtocol
import Foundation
import Migration
import Synchronization

/// The socket server: accepts clients on an OS thread and serves each session on its own,
/// so a slow or stuck client never holds up another.
public final class FolioServer: Sendable {
    /// The socket path.
    public let path: String
    private let listener: SeqpacketSocket
    private let registry: SpaceRegistry
    private let core: MigrationCore
    private let sessions = Mutex<[ObjectIdentifier: Session]>([:])
    private let acceptorDone = DispatchSemaphore(value: 0)

    /// Listens at `path` (mode 0660). A stale socket file is replaced; a live daemon's is
    /// EADDRINUSE.
    public init(path: String, core: MigrationCore, tiers: [Tier]) throws(SocketError) {
        self.path = path
        self.core = core
        registry = SpaceRegistry(tiers: tiers)
        listener = try SeqpacketSocket.listen(path: path)
        let thread = Thread { [self] in
            acceptLoop()
            acceptorDone.signal()
        }
        thread.name = "foliod-accept"
        thread.start()
    }

    /// Stops accepting, ends every session, frees every space and removes the socket file.
    public func stop() {
        listener.shutdown()
        acceptorDone.wait()
        listener.close()
        unlink(path)
        for session in sessions.withLock({ Array($0.values) }) { session.stop() }
        while !sessions.withLock({ $0.isEmpty }) { usleep(1000) }
        registry.destroyAll()
    }

    private func acceptLoop() {
        while let connection = try? listener.accept() {
            guard let session = try? Session(socket: connection, registry: registry, core: core) else { continue }
            let key = ObjectIdentifier(session)
            sessions.withLock { $0[key] = session }
            let thread = Thread { [self] in
                session.serve()
                _ = sessions.withLock { $0.removeValue(forKey: key) }
            }
            thread.name = "foliod-session"
            thread.start()
        }
    }
}

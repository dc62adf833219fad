import FolioMemory
import FolioProtocol
import Migration
import SystemPackage

/// One client connection: reads requests one at a time, answers each exactly once, and frees
/// its anonymous space when the client goes. A malformed message gets an error reply; nothing
/// a client sends can reach another session's space.
final class Session: @unchecked Sendable {
    private enum State {
        case connected
        case attached(AddressSpace)
        case closed
    }

    private let socket: SeqpacketSocket
    /// Who is at the other end (`SO_PEERCRED`).
    let peer: (pid: Int32, uid: UInt32, gid: UInt32)
    /// The peer process's supplementary groups.
    let peerGroups: [UInt32]
    private let registry: SpaceRegistry
    private let core: MigrationCore
    private var state = State.connected  // touched only by the session's own thread

    init(socket: SeqpacketSocket, registry: SpaceRegistry, core: MigrationCore) throws(SocketError) {
        self.socket = socket
        self.registry = registry
        self.core = core
        peer = try socket.peerCredentials()
        peerGroups = try socket.peerGroups()
    }

    /// Serves until the peer closes or `stop()` shuts the socket.
    func serve() {
        defer { close() }
        while true {
            let message: (bytes: [UInt8], fds: [Int32])?
            do { message = try socket.receive() } catch {
                // An oversized message was dropped; tell the client, keep serving.
                if error.errno == .messageTooLong { reply(.error(errno: Errno.messageTooLong.rawValue, message: "message too long"), to: 0); continue }
                return
            }
            guard let message else { return }
            // Clients have no reason to send fds; close any they did.
            for fd in message.fds { try? FileDescriptor(rawValue: fd).close() }
            handle(message.bytes)
        }
    }

    /// Answers the client's first request with `reason` and closes: the session never starts.
    /// (Waiting for that request first means the client reads the answer, not a reset.)
    func refuse(_ reason: (Errno, String)) {
        let request = (try? socket.receive()) ?? nil
        for fd in request?.fds ?? [] { try? FileDescriptor(rawValue: fd).close() }
        reply(.error(errno: reason.0.rawValue, message: reason.1), to: request.map { Self.requestID(of: $0.bytes) } ?? 0)
        close()
    }

    /// Wakes `serve()` so the session ends once the request in hand (if any) is answered.
    func stop() { socket.shutdown() }

    private func handle(_ bytes: [UInt8]) {
        let decoded: (requestID: UInt32, request: Request)
        do { decoded = try Request.decode(bytes) } catch {
            reply(.error(errno: error.rawValue, message: "malformed request"), to: Self.requestID(of: bytes))
            return
        }
        switch dispatch(decoded.request) {
        case .success(let (answer, fds)): reply(answer, to: decoded.requestID, fds: fds)
        case .failure(let error): reply(.error(errno: error.rawValue, message: decoded.request.name), to: decoded.requestID)
        }
    }

    private func dispatch(_ request: Request) -> Result<(Reply, [Int32]), Errno> {
        Result { () throws(Errno) -> (Reply, [Int32]) in
            if case .attach(let name) = request { return try attach(name: name) }
            guard case .attached(let space) = state else { throw .socketNotConnected }
            switch request {
            case .attach: throw .socketIsConnected
            case .allocate(let tier, let order, let count): return (try allocate(space, tier: tier, order: order, count: count), [])
            case .free(let handles):
                guard !handles.isEmpty else { throw .invalidArgument }
                return (.freed(status: space.free(handles.map(Int.init)).map { -($0?.rawValue ?? 0) }), [])
            case .migrate(let handles, let tier, let reason): return (try migrate(space, handles: handles, tier: tier, reason: reason), [])
            case .stats: return (.stats(text: StatsReport.text(core: core, tiers: registry.tiers)), [])
            case .destroy:
                registry.destroy(space)
                registry.detach(space)
                state = .connected
                return (.destroyed, [])
            }
        }
    }

    private func attach(name: String?) throws(Errno) -> (Reply, [Int32]) {
        guard case .connected = state else { throw .socketIsConnected }
        let space = try registry.attach(name: name, uid: peer.uid)
        state = .attached(space)
        let tiers = space.tiers.map { TierInfo(name: $0.spec.name, sizeBytes: UInt64($0.spec.sizeBytes)) }
        return (.attached(spaceID: UInt32(space.id), tiers: tiers), space.sharedFDs.map(\.rawValue))
    }

    private func allocate(_ space: AddressSpace, tier: UInt16, order: UInt8, count: UInt32) throws(Errno) -> Reply {
        guard count > 0, count <= UInt32(Request.maxHandles) else { throw .invalidArgument }
        return .allocated(handles: try space.allocate(tier: Int(tier), order: Int(order), count: Int(count)).map(UInt32.init))
    }

    private func migrate(_ space: AddressSpace, handles: [UInt32], tier: UInt16, reason: UInt8) throws(Errno) -> Reply {
        guard let reason = MigrationReason(rawValue: Int(reason)) else { throw .invalidArgument }
        let request = MigrationRequest(handles: handles.map(Int.init), targetTier: Int(tier), reason: reason)
        let result = try core.pipeline.migrate(request, in: space).get()
        return .migrated(MigrateReply(status: result.status, unmapNanos: result.unmapNanos, copyNanos: result.copyNanos, moveNanos: result.moveNanos, batches: UInt32(result.batches)))
    }

    private func reply(_ reply: Reply, to requestID: UInt32, fds: [Int32] = []) {
        // A client that vanished mid-request just does not get its answer.
        try? socket.send(reply.encode(requestID: requestID), fds: fds)
    }

    private func close() {
        if case .attached(let space) = state { registry.detach(space) }
        state = .closed
        socket.close()
    }

    /// The request id of a message too broken to decode, if its header got that far.
    private static func requestID(of bytes: [UInt8]) -> UInt32 {
        guard bytes.count >= 12 else { return 0 }
        return bytes[8..<12].reversed().reduce(0) { $0 << 8 | UInt32($1) }
    }
}

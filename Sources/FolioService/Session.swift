import FolioMemory
import FolioProtocol
import FolioSharedMemory
import Migration
import SystemCalls
import SystemPackage

/// One client connection: reads requests one at a time, answers each exactly once, and frees
/// its anonymous space (and drops its pins) when the client goes. A malformed message gets an
/// error reply and the session goes on; nothing a client sends can reach another session's
/// space.
final class Session: @unchecked Sendable {
    private enum State {
        case connected
        case attached(AddressSpace, PinTable)
        /// The runtime channel of a program space (PROTOCOL.md §10): it carries calls and
        /// answers, no requests.
        case channel(AddressSpace, PinTable, RuntimeChannel)
        case closed
    }

    private let socket: SeqpacketSocket
    /// Who is at the other end (`SO_PEERCRED`).
    let peer: (pid: Int32, uid: UInt32, gid: UInt32)
    /// The peer process's supplementary groups.
    let peerGroups: [UInt32]
    private let registry: SpaceRegistry
    private let core: MigrationCore
    private let limits: ServiceLimits
    private var state = State.connected  // touched only by the session's own thread
    private var undelivered: Errno?  // why the last reply could not be sent; the session's thread only

    /// Why a session ended other than by the client's close or `stop()`; the server logs it.
    enum Ending: Equatable {
        case idleBeforeAttach
        case replyUndelivered(Errno)
        case receiveFailed(Errno)
    }

    init(socket: SeqpacketSocket, registry: SpaceRegistry, core: MigrationCore, limits: ServiceLimits) throws(SystemCallError) {
        self.socket = socket
        self.registry = registry
        self.core = core
        self.limits = limits
        peer = try socket.peerCredentials()
        peerGroups = try socket.peerGroups()
    }

    /// Serves until the peer closes or `stop()` shuts the socket (nil), or until something
    /// else ends it: the client stays idle past the attach timeout before attaching, a reply
    /// cannot be sent (a client gone, a reply left unread past the reply timeout, a reply the
    /// socket refuses), or a receive fails.
    func serve() -> Ending? {
        defer { close() }
        do { try socket.setTimeouts(receive: limits.attachTimeout, send: limits.replyTimeout) } catch { return .receiveFailed(error.errno) }
        while true {
            let message: (bytes: [UInt8], fds: [Int32])?
            do { message = try socket.receive() } catch {
                switch error.errno {
                case .messageTooLong:
                    // An oversized message was dropped; tell the client, keep serving.
                    guard reply(.error(errno: Errno.messageTooLong.rawValue, message: "message too long"), to: 0) else { return undeliveredEnding }
                    continue
                case .resourceTemporarilyUnavailable:
                    _ = reply(.error(errno: Errno.timedOut.rawValue, message: "no attach within \(limits.attachTimeout)"), to: 0)
                    registry.counters.refused(.timedOut)
                    return .idleBeforeAttach
                case .connectionReset:
                    return nil
                default:
                    return .receiveFailed(error.errno)
                }
            }
            guard let message else { return nil }
            // Clients have no reason to send fds; close any they did.
            for fd in message.fds { try? FileDescriptor(rawValue: fd).close() }
            guard handle(message.bytes) else { return undeliveredEnding }
        }
    }

    /// A client that closed before reading its reply ended the session itself.
    private var undeliveredEnding: Ending? {
        guard let undelivered, undelivered != .brokenPipe, undelivered != .connectionReset else { return nil }
        return .replyUndelivered(undelivered)
    }

    /// Answers at once with `reason` and closes: the session never starts and costs nothing
    /// afterwards. The client reads the answer in place of its first reply.
    func refuse(_ reason: (Errno, String)) {
        _ = reply(.error(errno: reason.0.rawValue, message: reason.1), to: 0)
        close()
    }

    /// Wakes `serve()` so the session ends once the request in hand (if any) is answered.
    func stop() { socket.shutdown() }

    /// Answers one message; false when the answer could not be delivered.
    private func handle(_ bytes: [UInt8]) -> Bool {
        if case .channel(_, _, let channel) = state {
            channel.received(bytes)
            return true
        }
        let decoded: (requestID: UInt32, request: Request)
        do { decoded = try Request.decode(bytes) } catch {
            return reply(.error(errno: error.rawValue, message: "malformed request"), to: MessageHeader.requestID(ofMalformed: bytes))
        }
        switch dispatch(decoded.request) {
        case .success(let (answer, fds)):
            guard reply(answer, to: decoded.requestID, fds: fds) else { return false }
            // Calls may go out only once the runtime has its attached reply.
            if case .channel(let space, _, let channel) = state, (try? space.install(runtime: channel)) == nil { return false }
            return true
        case .failure(let error): return reply(.error(errno: error.rawValue, message: decoded.request.name), to: decoded.requestID)
        }
    }

    private func dispatch(_ request: Request) -> Result<(Reply, [Int32]), Errno> {
        Result { () throws(Errno) -> (Reply, [Int32]) in
            switch (request, state) {
            case (.attach(let name, let features), .connected) where features.contains(.runtimeChannel):
                return try attachChannel(name: name, features: features)
            case (.attach(let name, let features), .connected): return try attach(name: name, features: features)
            case (.attach, _): throw .socketIsConnected
            // The daemon's counters belong to no space: reading them attaches nothing.
            case (.stats, _): return (.stats(StatsReport.stats(core: core, registry: registry)), [])
            case (_, .connected), (_, .closed): throw .socketNotConnected
            case (_, .channel): throw .invalidArgument
            case (.allocate(let tier, let order, let count), .attached(let space, _)):
                return (try allocate(space, tier: tier, order: order, count: count), [])
            case (.free(let handles), .attached(let space, _)):
                guard !handles.isEmpty else { throw .invalidArgument }
                return (.freed(status: space.free(handles.map(Int.init))), [])
            case (.migrate(let handles, let tier, let reason), .attached(let space, _)):
                return (try migrate(space, handles: handles, tier: tier, reason: reason), [])
            // A program's space ends with the program: its name must not be taken meanwhile.
            case (.destroy, .attached(let space, _)) where space.isProgram: throw .resourceBusy
            case (.destroy, .attached(let space, _)):
                registry.destroy(space)
                detach()
                return (.destroyed, [])
            }
        }
    }

    private func attach(name: String?, features: AttachFeatures) throws(Errno) -> (Reply, [Int32]) {
        let space: AddressSpace
        do throws(Errno) { space = try registry.attach(name: name, uid: peer.uid, program: features.contains(.mapsUnpinned), pid: peer.pid) } catch {
            registry.counters.refused(error)
            throw error
        }
        let pins = try pinTable(in: space, marksWrites: features.contains(.marksWrites))
        state = .attached(space, pins)
        return attachedReply(space, pins)
    }

    /// A program's runtime channel (PROTOCOL.md §10), installed in its space once the
    /// attached reply is out.
    private func attachChannel(name: String?, features: AttachFeatures) throws(Errno) -> (Reply, [Int32]) {
        guard let name, !features.contains(.mapsUnpinned) else { throw .invalidArgument }
        let space = try registry.attachChannel(name: name, uid: peer.uid)
        guard space.runtime == nil else {
            registry.detach(space)
            throw .resourceBusy
        }
        let pins = try pinTable(in: space, marksWrites: false)
        let pipeline = core.pipeline
        state = .channel(space, pins, RuntimeChannel(socket: socket, timeout: { .milliseconds(pipeline.revokeTimeoutMilliseconds) }))
        return attachedReply(space, pins)
    }

    private func pinTable(in space: AddressSpace, marksWrites: Bool) throws(Errno) -> PinTable {
        do { return try space.attach(marksWrites: marksWrites) } catch {
            registry.detach(space)
            throw error.errno
        }
    }

    private func attachedReply(_ space: AddressSpace, _ pins: PinTable) -> (Reply, [Int32]) {
        // Attached: the client may now idle as long as it likes.
        try? socket.setTimeouts(receive: nil, send: limits.replyTimeout)
        let tiers = space.tiers.map { TierInfo(name: $0.spec.name, sizeBytes: UInt64($0.spec.sizeBytes)) }
        let fds = [space.tableFD, pins.fd].compactMap { $0 } + space.sharedFDs.dropFirst()
        return (.attached(spaceID: UInt32(space.id), tiers: tiers), fds.map(\.rawValue))
    }

    private func allocate(_ space: AddressSpace, tier: UInt16, order: UInt8, count: UInt32) throws(Errno) -> Reply {
        guard count > 0, count <= UInt32(Request.maxHandles) else { throw .invalidArgument }
        let handles: [Int]
        if let tiering = registry.tiering {
            handles = try tiering.allocate(in: space, tier: Int(tier), order: Int(order), count: Int(count))
        } else {
            handles = try space.allocate(tier: Int(tier), order: Int(order), count: Int(count))
        }
        return .allocated(handles: handles.map(UInt32.init))
    }

    private func migrate(_ space: AddressSpace, handles: [UInt32], tier: UInt16, reason: MigrationReason) throws(Errno) -> Reply {
        let request = MigrationRequest(handles: handles.map(Int.init), targetTier: Int(tier), reason: reason)
        return .migrated(try core.pipeline.migrate(request, in: space).get())
    }

    /// Sends one reply; false when the client is gone or left it unread past the reply timeout.
    private func reply(_ reply: Reply, to requestID: UInt32, fds: [Int32] = []) -> Bool {
        do { try socket.send(reply.encode(requestID: requestID), fds: fds) } catch {
            undelivered = error.errno
            return false
        }
        return true
    }

    /// Lets go of the attached space: its pins stop counting, and an anonymous one is freed.
    private func detach() {
        switch state {
        case .attached(let space, let pins):
            space.detach(pins)
            registry.detach(space)
        case .channel(let space, let pins, let channel):
            space.remove(runtime: channel)
            channel.end()
            space.detach(pins)
            registry.detach(space)
        case .connected, .closed: break
        }
        state = .connected
    }

    private func close() {
        detach()
        state = .closed
        socket.close()
    }
}
